/* pool2x2.c — 2x2, stride-2 max pooling in 16 AVX-512 lanes (pool2x2.h).
 *
 * The portable code (ops_conv.c) takes four SSE windows a step with a
 * separate pass for NaN and a memset and a scalar scatter for the
 * backward; at about 2 ns a window it cost more than the ReLU in front of
 * it. Here a row pair's windows go 16 at a time: the 32 inputs of each
 * row split into even and odd columns by two permutes, the max in the
 * portable code's operand order (maxps keeps its second operand on equal
 * values: the first of equal maxima, -0 and +0 included), the index of
 * the first input equal to it. NaN lanes are detected on the way and the
 * plane handed back. The backward writes each window's four gradients
 * directly (0 + dy where the index points, +0 elsewhere) after checking
 * every index lies in its own window. */
#include "core/pool2x2.h"
#include "core/format.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define LP_AVX512 __attribute__((target("avx512f")))

int lp_pool2x2_fast(void) {
  int l = lp_quantize_simd(-1);
  lp_quantize_simd(l);
  return l >= 2;
}

static inline __mmask16 first_lanes(int64_t n) {
  return n >= 16 ? (__mmask16)0xffff : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1);
}

LP_AVX512 int lp_pool2x2_forward_plane(const float *x, float *y, int32_t *ix, int64_t H, int64_t W) {
  const int64_t OH = H / 2, OW = W / 2;
  const __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
  const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
  const __m512i lane2 = _mm512_slli_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0), 1);
  const __m512i offW = _mm512_set1_epi32((int32_t)W), offW1 = _mm512_set1_epi32((int32_t)W + 1);
  const __m512i one = _mm512_set1_epi32(1);
  for (int64_t oh = 0; oh < OH; oh++) {
    const float *r0 = x + 2 * oh * W, *r1 = r0 + W;
    for (int64_t ow = 0; ow < OW; ow += 16) {
      int64_t n = OW - ow < 16 ? OW - ow : 16;
      __mmask16 m = first_lanes(n), mlo = first_lanes(2 * n), mhi = first_lanes(2 * n - 16);
      __m512 a0 = _mm512_maskz_loadu_ps(mlo, r0 + 2 * ow), a1 = _mm512_maskz_loadu_ps(mhi, r0 + 2 * ow + 16);
      __m512 b0 = _mm512_maskz_loadu_ps(mlo, r1 + 2 * ow), b1 = _mm512_maskz_loadu_ps(mhi, r1 + 2 * ow + 16);
      __m512 v0 = _mm512_permutex2var_ps(a0, even, a1), v1 = _mm512_permutex2var_ps(a0, odd, a1);
      __m512 v2 = _mm512_permutex2var_ps(b0, even, b1), v3 = _mm512_permutex2var_ps(b0, odd, b1);
      __mmask16 nan = _mm512_cmp_ps_mask(v0, v1, _CMP_UNORD_Q) | _mm512_cmp_ps_mask(v2, v3, _CMP_UNORD_Q);
      if (nan & m) return -1;
      __m512 best = _mm512_max_ps(_mm512_max_ps(v3, v2), _mm512_max_ps(v1, v0));
      __m512i off = offW1;
      off = _mm512_mask_mov_epi32(off, _mm512_cmp_ps_mask(v2, best, _CMP_EQ_OQ), offW);
      off = _mm512_mask_mov_epi32(off, _mm512_cmp_ps_mask(v1, best, _CMP_EQ_OQ), one);
      off = _mm512_maskz_mov_epi32(~_mm512_cmp_ps_mask(v0, best, _CMP_EQ_OQ), off);
      __m512i base = _mm512_add_epi32(_mm512_set1_epi32((int32_t)(2 * oh * W + 2 * ow)), lane2);
      _mm512_mask_storeu_ps(y + oh * OW + ow, m, best);
      _mm512_mask_storeu_epi32(ix + oh * OW + ow, m, _mm512_add_epi32(base, off));
    }
  }
  return 0;
}

/* Both backwards: dx = g at each window's index, +0 elsewhere, g = 0 + dy
 * (y NULL) or (0 + dy) * relu'(x) read from y = relu of the window's max. */
LP_AVX512 static int backward_plane(float *dx, const float *dy, const float *y, const int32_t *ix, int64_t H,
                                    int64_t W) {
  const int64_t OH = H / 2, OW = W / 2;
  const __m512i lo = _mm512_set_epi32(23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
  const __m512i hi = _mm512_add_epi32(lo, _mm512_set1_epi32(8));
  const __m512i lane2 = _mm512_slli_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0), 1);
  const __m512i offW = _mm512_set1_epi32((int32_t)W), offW1 = _mm512_set1_epi32((int32_t)W + 1);
  const __m512i zero = _mm512_setzero_si512(), one = _mm512_set1_epi32(1);
  const __m512 fzero = _mm512_setzero_ps(), fone = _mm512_set1_ps(1.0f);
  for (int64_t oh = 0; oh < OH; oh++) {
    float *r0 = dx + 2 * oh * W, *r1 = r0 + W;
    for (int64_t ow = 0; ow < OW; ow += 16) {
      int64_t n = OW - ow < 16 ? OW - ow : 16;
      __mmask16 m = first_lanes(n), mlo = first_lanes(2 * n), mhi = first_lanes(2 * n - 16);
      __m512i base = _mm512_add_epi32(_mm512_set1_epi32((int32_t)(2 * oh * W + 2 * ow)), lane2);
      __m512i off = _mm512_sub_epi32(_mm512_maskz_loadu_epi32(m, ix + oh * OW + ow), base);
      __mmask16 e0 = _mm512_cmpeq_epi32_mask(off, zero), e1 = _mm512_cmpeq_epi32_mask(off, one);
      __mmask16 e2 = _mm512_cmpeq_epi32_mask(off, offW), e3 = _mm512_cmpeq_epi32_mask(off, offW1);
      if ((__mmask16)((e0 | e1 | e2 | e3) & m) != m) return -1;
      /* 0 + dy, as the scatter onto zeros adds it: -0 becomes +0 */
      __m512 g = _mm512_add_ps(fzero, _mm512_maskz_loadu_ps(m, dy + oh * OW + ow));
      if (y) {   /* times relu'(x): 1 where y = relu(x) > 0, else 0 */
        __m512 yv = _mm512_maskz_loadu_ps(m, y + oh * OW + ow);
        if (_mm512_cmp_ps_mask(yv, yv, _CMP_UNORD_Q) & m) return -1;
        g = _mm512_mul_ps(g, _mm512_mask_mov_ps(fzero, _mm512_cmp_ps_mask(yv, fzero, _CMP_GT_OQ), fone));
      }
      __m512 d0 = _mm512_maskz_mov_ps(e0, g), d1 = _mm512_maskz_mov_ps(e1, g);
      __m512 d2 = _mm512_maskz_mov_ps(e2, g), d3 = _mm512_maskz_mov_ps(e3, g);
      _mm512_mask_storeu_ps(r0 + 2 * ow, mlo, _mm512_permutex2var_ps(d0, lo, d1));
      _mm512_mask_storeu_ps(r0 + 2 * ow + 16, mhi, _mm512_permutex2var_ps(d0, hi, d1));
      _mm512_mask_storeu_ps(r1 + 2 * ow, mlo, _mm512_permutex2var_ps(d2, lo, d3));
      _mm512_mask_storeu_ps(r1 + 2 * ow + 16, mhi, _mm512_permutex2var_ps(d2, hi, d3));
    }
    if (W > 2 * OW) r0[W - 1] = r1[W - 1] = 0.0f;   /* the column no window reads */
  }
  for (int64_t i = 2 * OH * W; i < H * W; i++) dx[i] = 0.0f;   /* the row no window reads */
  return 0;
}

int lp_pool2x2_backward_plane(float *dx, const float *dy, const int32_t *ix, int64_t H, int64_t W) {
  return backward_plane(dx, dy, NULL, ix, H, W);
}

int lp_pool2x2_relu_backward_plane(float *dx, const float *dy, const float *y, const int32_t *ix, int64_t H,
                                   int64_t W) {
  if ((H & 1) || (W & 1)) return -1;   /* an unread row or column: its x decides (NaN) */
  return backward_plane(dx, dy, y, ix, H, W);
}

#else

int lp_pool2x2_relu_backward_plane(float *dx, const float *dy, const float *y, const int32_t *ix, int64_t H,
                                   int64_t W) {
  (void)dx, (void)dy, (void)y, (void)ix, (void)H, (void)W;
  return -1;
}
int lp_pool2x2_fast(void) { return 0; }
int lp_pool2x2_forward_plane(const float *x, float *y, int32_t *ix, int64_t H, int64_t W) {
  (void)x, (void)y, (void)ix, (void)H, (void)W;
  return -1;
}
int lp_pool2x2_backward_plane(float *dx, const float *dy, const int32_t *ix, int64_t H, int64_t W) {
  (void)dx, (void)dy, (void)ix, (void)H, (void)W;
  return -1;
}

#endif
