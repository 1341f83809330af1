/* conv_implicit.c — "same" convolutions read straight from the input
 * (conv_implicit.h): the forward in tiles of 8 output channels by 48
 * positions, the weight gradient in tiles of 4 output channels by 6 rows of
 * im2col, both in 24 AVX-512 accumulators, with per-tap lane masks
 * standing in for im2col's padding zeros. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3")
#endif
#include <stdlib.h>
#include <string.h>

#include "core/conv_implicit.h"
#include "core/conv_winograd.h"
#include "core/fmagemm.h"
#include "core/parallel.h"

/* a second thread from about this many floating-point operations (as the
 * im2col path: docs/performance.md); the weight gradient's tasks pay from
 * less (`lpact bench threads conv_bwd`: 1.31x forced at batch 2) */
#define GRAIN_FLOPS 3e6
#define GRAIN_FLOPS_DW 1e6

static int use = 1;

int lp_conv_implicit_use(int on) {
  int old = use;
  use = on;
  return old;
}

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#include "core/fma_tile.h"
#define LP_AVX512 __attribute__((target("avx512f")))

int lp_conv_implicit_ok(int64_t C, int64_t H, int64_t W, int64_t O, int kh, int kw, int stride,
                        int pad) {
  return use && lp_fmagemm_fast() && stride == 1 && kh % 2 == 1 && kw % 2 == 1 &&
         pad == (kh - 1) / 2 && pad == (kw - 1) / 2 && C > 0 && O > 0 && H > 0 && W > 0 &&
         H * W <= ((int64_t)1 << 24) && C * kh * kw <= 4096;
}

/* The lane masks: for tap (i, j) and step s (positions 16 s .. 16 s + 15
 * of a plane), the lanes whose position is in the plane and whose input
 * (oh + i - pad, ow + j - pad) is too. steps of them per tap. */
typedef struct {
  uint16_t *m;
  int64_t *off;    /* per tap: (i - pad) * W + (j - pad) */
  int64_t steps;
} lane_masks;

static int masks_make(lane_masks *lm, int64_t H, int64_t W, int kh, int kw, int pad,
                      int64_t steps) {
  int taps = kh * kw;
  int64_t P = H * W;
  lm->steps = steps;
  lm->m = malloc((size_t)(taps * steps) * sizeof *lm->m);
  lm->off = malloc((size_t)taps * sizeof *lm->off);
  if (!lm->m || !lm->off) {
    free(lm->m), free(lm->off);
    return 0;
  }
  for (int i = 0; i < kh; i++)
    for (int j = 0; j < kw; j++) {
      int tap = i * kw + j;
      lm->off[tap] = (int64_t)(i - pad) * W + (j - pad);
      for (int64_t s = 0; s < steps; s++) {
        unsigned bits = 0;
        for (int l = 0; l < 16; l++) {
          int64_t p = 16 * s + l, ih = p / W + i - pad, iw = p % W + j - pad;
          if (p < P && ih >= 0 && ih < H && iw >= 0 && iw < W) bits |= 1u << l;
        }
        lm->m[tap * steps + s] = (uint16_t)bits;
      }
    }
  return 1;
}

static void masks_free(lane_masks *lm) {
  free(lm->m), free(lm->off);
}

/* ---- forward ------------------------------------------------------------ */

typedef struct {
  float *out;
  const float *inp, *ap, *bias;
  int64_t C, H, W, O, CK, tiles;
  int taps;
  int add;         /* out += the sums (no bias), else out = the sums + bias */
  lane_masks lm;
  void (*after)(void *, int64_t, const float *);   /* called with each sample and its output */
  void *after_arg;
  int scratch;     /* outputs to a buffer of the thread's, for `after` only (out untouched) */
} fwd_ctx;

/* 16 sums to y's lanes s: added to what y holds (f->add), else to bias b */
LP_AVX512 static inline void store16(const fwd_ctx *f, float *y, __mmask16 s, __m512 sums, float b) {
  __m512 base = f->add ? _mm512_maskz_loadu_ps(s, y) : _mm512_set1_ps(b);
  _mm512_mask_storeu_ps(y, s, _mm512_add_ps(base, sums));
}

#define STORE(i)                                                                       \
  do {                                                                                 \
    if (i < mr) {                                                                      \
      float *yr = y + (i) * P, b_ = bias ? bias[i] : 0.0f;                             \
      store16(f, yr, s0, c##i##0, b_);                                                 \
      store16(f, yr + 16, s1, c##i##1, b_);                                            \
      store16(f, yr + 32, s2, c##i##2, b_);                                            \
    }                                                                                  \
  } while (0)

/* y rows [0, mr) (P apart), positions [48 t, 48 t + 48) of one sample */
LP_AVX512 static void fwd_tile(const fwd_ctx *f, const float *ap, const float *x, int64_t t,
                               float *y, int64_t mr, const float *bias) {
  const int64_t C = f->C, HW = f->H * f->W, P = HW, steps = f->lm.steps;
  const int taps = f->taps;
  LP_TILE_ACC8;
  const float *a8 = ap;
  for (int64_t c = 0; c < C; c++) {
    const float *xc = x + c * HW + 48 * t;
    for (int tap = 0; tap < taps; tap++, a8 += LP_FMAGEMM_MR) {
      const uint16_t *mk = f->lm.m + tap * steps + 3 * t;
      const float *b = xc + f->lm.off[tap];
      __m512 b0 = _mm512_maskz_loadu_ps(mk[0], b);
      __m512 b1 = _mm512_maskz_loadu_ps(mk[1], b + 16);
      __m512 b2 = _mm512_maskz_loadu_ps(mk[2], b + 32);
      LP_TILE_ROW8;
    }
  }
  y += 48 * t;
  __mmask16 s0 = lp_first_lanes(P - 48 * t), s1 = lp_first_lanes(P - 48 * t - 16),
            s2 = lp_first_lanes(P - 48 * t - 32);
  STORE(0); STORE(1); STORE(2); STORE(3); STORE(4); STORE(5); STORE(6); STORE(7);
}

/* the same for a last tile of at most 16 positions: one register a row */
#define ACC1(i) __m512 c##i##0 = _mm512_setzero_ps()
#define ROW1(i) c##i##0 = _mm512_fmadd_ps(_mm512_set1_ps(a8[i]), b0, c##i##0)
#define STORE1(i)                                                                      \
  do {                                                                                 \
    if (i < mr) store16(f, y + (i) * P, s0, c##i##0, bias ? bias[i] : 0.0f);          \
  } while (0)

LP_AVX512 static void fwd_tile1(const fwd_ctx *f, const float *ap, const float *x, int64_t t,
                                float *y, int64_t mr, const float *bias) {
  const int64_t C = f->C, HW = f->H * f->W, P = HW, steps = f->lm.steps;
  const int taps = f->taps;
  ACC1(0); ACC1(1); ACC1(2); ACC1(3); ACC1(4); ACC1(5); ACC1(6); ACC1(7);
  const float *a8 = ap;
  for (int64_t c = 0; c < C; c++) {
    const float *xc = x + c * HW + 48 * t;
    for (int tap = 0; tap < taps; tap++, a8 += LP_FMAGEMM_MR) {
      __m512 b0 = _mm512_maskz_loadu_ps(f->lm.m[tap * steps + 3 * t], xc + f->lm.off[tap]);
      ROW1(0); ROW1(1); ROW1(2); ROW1(3); ROW1(4); ROW1(5); ROW1(6); ROW1(7);
    }
  }
  y += 48 * t;
  __mmask16 s0 = lp_first_lanes(P - 48 * t);
  STORE1(0); STORE1(1); STORE1(2); STORE1(3); STORE1(4); STORE1(5); STORE1(6); STORE1(7);
}

/* one task per sample; a last tile of 16 positions or fewer in the
 * one-register tiles (cnn_small: 196 = 4 x 48 + 4, 784 = 16 x 48 + 16) */
LP_AVX512 static void fwd_samples(void *vc, size_t lo, size_t hi) {
  const fwd_ctx *f = vc;
  const int64_t P = f->H * f->W, O = f->O;
  float *tmp = f->scratch ? malloc((size_t)(O * P) * sizeof *tmp) : NULL;   /* none: into out after all */
  for (size_t n = lo; n < hi; n++) {
    const float *x = f->inp + (int64_t)n * f->C * P;
    float *y = tmp ? tmp : f->out + (int64_t)n * O * P;
    for (int64_t t = 0; t < f->tiles; t++)
      for (int64_t o = 0; o < O; o += LP_FMAGEMM_MR) {
        int64_t mr = O - o < LP_FMAGEMM_MR ? O - o : LP_FMAGEMM_MR;
        const float *b = f->bias ? f->bias + o : NULL;
        if (P - 48 * t <= 16) fwd_tile1(f, f->ap + o * f->CK, x, t, y + o * P, mr, b);
        else fwd_tile(f, f->ap + o * f->CK, x, t, y + o * P, mr, b);
      }
    if (f->after) f->after(f->after_arg, (int64_t)n, y);   /* while the sample's output is in cache */
  }
  free(tmp);
}

static int forward(float *out, const float *inp, const float *weight, const float *bias, int add,
                   int64_t N, int64_t C, int64_t H, int64_t W, int64_t O, int kh, int kw, int pad,
                   void (*after)(void *, int64_t, const float *), void *after_arg, int scratch) {
  /* 3x3 with enough channels: Winograd's F(2x2, 3x3) (conv_winograd.h) */
  if (lp_conv_winograd_ok(C, H, W, O, kh, kw, 1, pad) &&
      lp_conv_winograd_forward(out, inp, weight, bias, add, N, C, H, W, O, after, after_arg, scratch))
    return 1;
  fwd_ctx f = {out, inp, NULL, bias, C, H, W, O, C * kh * kw, 0, kh * kw, add, {0}, after, after_arg, scratch};
  int64_t P = H * W;
  f.tiles = (P + 47) / 48;
  float *ap = malloc((size_t)lp_fmagemm_packed_size(O, f.CK) * sizeof *ap);
  if (!ap || !masks_make(&f.lm, H, W, kh, kw, pad, 3 * f.tiles)) {
    free(ap);
    return 0;
  }
  lp_fmagemm_pack(ap, 0, O, f.CK, weight, f.CK);
  f.ap = ap;
  double flops = 2.0 * (double)O * (double)f.CK * (double)P;
  lp_parallel_for((size_t)N, (size_t)(GRAIN_FLOPS / flops) + 1, fwd_samples, &f);
  masks_free(&f.lm);
  free(ap);
  return 1;
}

int lp_conv_implicit_forward(float *out, const float *inp, const float *weight, const float *bias,
                             int64_t N, int64_t C, int64_t H, int64_t W, int64_t O, int kh, int kw,
                             int pad) {
  return forward(out, inp, weight, bias, 0, N, C, H, W, O, kh, kw, pad, NULL, NULL, 0);
}

int lp_conv_implicit_forward_then(float *out, const float *inp, const float *weight, const float *bias,
                                  int64_t N, int64_t C, int64_t H, int64_t W, int64_t O, int kh, int kw,
                                  int pad, void (*after)(void *, int64_t, const float *), void *arg,
                                  int scratch) {
  return forward(out, inp, weight, bias, 0, N, C, H, W, O, kh, kw, pad, after, arg, scratch);
}

int lp_conv_implicit_dinput(float *dinp, const float *dout, const float *weight, int64_t N,
                            int64_t C, int64_t H, int64_t W, int64_t O, int kh, int kw, int pad, int add) {
  int64_t taps = (int64_t)kh * kw;
  float *wt = malloc((size_t)(C * O * taps) * sizeof *wt);   /* (C, O, kh, kw) */
  if (!wt) return 0;
  for (int64_t o = 0; o < O; o++)
    for (int64_t c = 0; c < C; c++)
      for (int64_t t = 0; t < taps; t++) wt[(c * O + o) * taps + t] = weight[(o * C + c) * taps + taps - 1 - t];
  /* a "same" shape's flipped padding is its padding: kh - 1 - pad = pad */
  int ok = forward(dinp, dout, wt, NULL, add, N, O, H, W, C, kh, kw, pad, NULL, NULL, 0);
  free(wt);
  return ok;
}

/* ---- weight gradient ------------------------------------------------------ */

#define OT 4   /* output channels a tile */
#define RT 6   /* rows of im2col a tile */

typedef struct {
  float *dweight;
  const float *dout, *inp;
  int64_t N, C, H, W, O, CK;
  int taps;
  lane_masks lm;
  float *acc;      /* per tile of output channels: rtiles x OT x RT x 16 lanes */
  int64_t *xoff;   /* per row r = (c, i, j) of im2col: its offset in a sample of inp */
  const uint16_t **mrow;   /* and its lane masks */
  const uint16_t *zero;    /* a mask row of zeros */
} dw_ctx;

/* samples a tile's sums stay in registers for (their rows of inp and dout
 * stay in L2) */
#define NBLOCK 16

/* acc (OT x RT x 16 lanes) += the products of sample n's dout rows
 * o0 .. o0 + OT and im2col rows r0 .. r0 + RT over the plane's steps.
 * Named registers (not arrays, which compilers leave in memory): 24 sums,
 * 4 rows of dout and one of x at a time. */
#define DLOAD(a, b) __m512 v##a##b = _mm512_loadu_ps(acc + ((a) * RT + (b)) * 16)
#define DLOADS(a) DLOAD(a, 0); DLOAD(a, 1); DLOAD(a, 2); DLOAD(a, 3); DLOAD(a, 4); DLOAD(a, 5)
#define DSAVE(a, b) _mm512_storeu_ps(acc + ((a) * RT + (b)) * 16, v##a##b)
#define DSAVES(a) DSAVE(a, 0); DSAVE(a, 1); DSAVE(a, 2); DSAVE(a, 3); DSAVE(a, 4); DSAVE(a, 5)
#define DCOL(b)                                                                   \
  do {                                                                            \
    __m512 xv = _mm512_maskz_loadu_ps((__mmask16)mk[b][s], xr[b] + xe);                \
    v0##b = _mm512_fmadd_ps(g0, xv, v0##b);                                       \
    v1##b = _mm512_fmadd_ps(g1, xv, v1##b);                                       \
    v2##b = _mm512_fmadd_ps(g2, xv, v2##b);                                       \
    v3##b = _mm512_fmadd_ps(g3, xv, v3##b);                                       \
  } while (0)

LP_AVX512 static void dw_tile(const dw_ctx *d, float *acc, int64_t n0, int64_t n1, int64_t o0,
                              int64_t r0) {
  const int64_t P = d->H * d->W, steps = d->lm.steps, xs = d->C * P, ds = d->O * P;
  const float *xr[RT];
  const uint16_t *mk[RT];
  /* rows past O read row 0 under an empty mask; rows past CK read the last
   * row under the all-zero mask row */
  const float *d0 = d->dout + (o0 < d->O ? o0 : 0) * P, *d1 = d->dout + (o0 + 1 < d->O ? o0 + 1 : 0) * P;
  const float *d2 = d->dout + (o0 + 2 < d->O ? o0 + 2 : 0) * P;
  const float *d3 = d->dout + (o0 + 3 < d->O ? o0 + 3 : 0) * P;
  __mmask16 k1 = o0 + 1 < d->O ? 0xffff : 0, k2 = o0 + 2 < d->O ? 0xffff : 0;
  __mmask16 k3 = o0 + 3 < d->O ? 0xffff : 0;
  for (int b = 0; b < RT; b++) {
    int64_t r = r0 + b < d->CK ? r0 + b : d->CK - 1;
    xr[b] = d->inp + d->xoff[r];
    mk[b] = r0 + b < d->CK ? d->mrow[r] : d->zero;
  }
  DLOADS(0); DLOADS(1); DLOADS(2); DLOADS(3);
  for (int64_t n = n0; n < n1; n++) {
    const int64_t dn = n * ds, xn = n * xs;
    for (int64_t s = 0; s < steps; s++) {
      __mmask16 pm = lp_first_lanes(P - 16 * s);
      const int64_t e = dn + 16 * s, xe = xn + 16 * s;
      __m512 g0 = _mm512_maskz_loadu_ps(pm, d0 + e), g1 = _mm512_maskz_loadu_ps(pm & k1, d1 + e);
      __m512 g2 = _mm512_maskz_loadu_ps(pm & k2, d2 + e), g3 = _mm512_maskz_loadu_ps(pm & k3, d3 + e);
      DCOL(0); DCOL(1); DCOL(2); DCOL(3); DCOL(4); DCOL(5);
    }
  }
  DSAVES(0); DSAVES(1); DSAVES(2); DSAVES(3);
}

/* one task per tile of OT output channels: every sample in order */
static void dw_otiles(void *vc, size_t lo, size_t hi) {
  const dw_ctx *d = vc;
  const int64_t CK = d->CK, rtiles = (CK + RT - 1) / RT;
  for (size_t ot = lo; ot < hi; ot++) {
    int64_t o0 = (int64_t)ot * OT;
    float *acc = d->acc + (int64_t)ot * rtiles * OT * RT * 16;
    memset(acc, 0, (size_t)(rtiles * OT * RT * 16) * sizeof *acc);
    for (int64_t n = 0; n < d->N; n += NBLOCK)
      for (int64_t rt = 0; rt < rtiles; rt++)
        dw_tile(d, acc + rt * OT * RT * 16, n, n + NBLOCK < d->N ? n + NBLOCK : d->N, o0, rt * RT);
    /* the lanes pairwise, then into dweight */
    for (int64_t rt = 0; rt < rtiles; rt++)
      for (int a = 0; a < OT; a++)
        for (int b = 0; b < RT; b++) {
          int64_t o = o0 + a, r = rt * RT + b;
          if (o >= d->O || r >= CK) continue;
          float l[16];
          memcpy(l, acc + (rt * OT * RT + a * RT + b) * 16, sizeof l);
          for (int w = 8; w >= 1; w /= 2)
            for (int q = 0; q < w; q++) l[q] = l[q] + l[q + w];
          d->dweight[o * CK + r] += l[0];
        }
  }
}

int lp_conv_implicit_dweight(float *dweight, const float *dout, const float *inp, int64_t N,
                             int64_t C, int64_t H, int64_t W, int64_t O, int kh, int kw, int pad) {
  if (lp_conv_winograd_ok(C, H, W, O, kh, kw, 1, pad) &&
      lp_conv_winograd_dweight(dweight, dout, inp, N, C, H, W, O))
    return 1;
  dw_ctx d = {dweight, dout, inp, N, C, H, W, O, C * kh * kw, kh * kw, {0}, NULL, NULL, NULL, NULL};
  int64_t P = H * W, otiles = (O + OT - 1) / OT, rtiles = (d.CK + RT - 1) / RT;
  uint16_t *zero = calloc((size_t)((P + 15) / 16), sizeof *zero);
  d.acc = malloc((size_t)(otiles * rtiles * OT * RT * 16) * sizeof *d.acc);
  d.xoff = malloc((size_t)d.CK * sizeof *d.xoff);
  d.mrow = malloc((size_t)d.CK * sizeof *d.mrow);
  d.zero = zero;
  if (!zero || !d.acc || !d.xoff || !d.mrow || !masks_make(&d.lm, H, W, kh, kw, pad, (P + 15) / 16)) {
    free(zero), free(d.acc), free(d.xoff), free(d.mrow);
    return 0;
  }
  for (int64_t r = 0; r < d.CK; r++) {
    int tap = (int)(r % d.taps);
    d.xoff[r] = r / d.taps * P + d.lm.off[tap];
    d.mrow[r] = d.lm.m + tap * d.lm.steps;
  }
  double flops = 2.0 * OT * (double)d.CK * (double)N * (double)P;
  lp_parallel_for((size_t)otiles, (size_t)(GRAIN_FLOPS_DW / flops) + 1, dw_otiles, &d);
  masks_free(&d.lm);
  free(zero), free(d.acc), free(d.xoff), free(d.mrow);
  return 1;
}

#else

int lp_conv_implicit_ok(int64_t C, int64_t H, int64_t W, int64_t O, int kh, int kw, int stride,
                        int pad) {
  (void)C, (void)H, (void)W, (void)O, (void)kh, (void)kw, (void)stride, (void)pad;
  return 0;
}

int lp_conv_implicit_forward(float *out, const float *inp, const float *weight, const float *bias,
                             int64_t N, int64_t C, int64_t H, int64_t W, int64_t O, int kh, int kw,
                             int pad) {
  (void)out, (void)inp, (void)weight, (void)bias, (void)N, (void)C, (void)H, (void)W, (void)O;
  (void)kh, (void)kw, (void)pad;
  return 0;
}

int lp_conv_implicit_forward_then(float *out, const float *inp, const float *weight, const float *bias,
                                  int64_t N, int64_t C, int64_t H, int64_t W, int64_t O, int kh, int kw,
                                  int pad, void (*after)(void *, int64_t, const float *), void *arg,
                                  int scratch) {
  (void)after, (void)arg, (void)scratch;
  return lp_conv_implicit_forward(out, inp, weight, bias, N, C, H, W, O, kh, kw, pad);
}

int lp_conv_implicit_dinput(float *dinp, const float *dout, const float *weight, int64_t N,
                            int64_t C, int64_t H, int64_t W, int64_t O, int kh, int kw, int pad, int add) {
  (void)add, (void)dinp, (void)dout, (void)weight, (void)N, (void)C, (void)H, (void)W, (void)O;
  (void)kh, (void)kw, (void)pad;
  return 0;
}

int lp_conv_implicit_dweight(float *dweight, const float *dout, const float *inp, int64_t N,
                             int64_t C, int64_t H, int64_t W, int64_t O, int kh, int kw, int pad) {
  (void)dweight, (void)dout, (void)inp, (void)N, (void)C, (void)H, (void)W, (void)O;
  (void)kh, (void)kw, (void)pad;
  return 0;
}

#endif
