/* fmagemm.c — the convolutions' matrix product (fmagemm.h): tiles of 8
 * rows by 48 columns held in 24 AVX-512 registers, B read where it lies.
 *
 * Why not sgemm: for these shapes OpenBLAS spends about as long packing
 * B and zeroing C (beta = 0) as multiplying (perf, docs/performance.md);
 * A is a few KB and the column block of B is in the cache, so the kernel
 * reads B in place, broadcasts A from a packed copy and writes C once.
 * One 512-bit FMA a cycle is this machine's peak; 24 independent
 * accumulators cover the FMA latency. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3")
#endif
#include <math.h>
#include <string.h>

#include "core/fmagemm.h"

#if defined(__x86_64__) || defined(__i386__)
#define LP_X86 1
#include <immintrin.h>

#include "core/fma_tile.h"
#define LP_AVX512 __attribute__((target("avx512f")))
#else
#define LP_X86 0
#endif

#define MR LP_FMAGEMM_MR
#define NR 48

int64_t lp_fmagemm_packed_size(int64_t m, int64_t k) {
  return (m + MR - 1) / MR * MR * k;
}

void lp_fmagemm_pack(float *Ap, int ta, int64_t m, int64_t k, const float *A, int64_t lda) {
  for (int64_t p0 = 0; p0 < m; p0 += MR) {
    float *panel = Ap + p0 * k;        /* k x MR */
    for (int64_t q = 0; q < k; q++)
      for (int64_t i = 0; i < MR; i++) {
        int64_t r = p0 + i;
        panel[q * MR + i] = r >= m ? 0.0f : ta ? A[q * lda + r] : A[r * lda + q];
      }
  }
}

/* The definition: one fmaf chain per element. */
static void fmagemm_portable(int64_t m, int64_t n, int64_t k, const float *Ap, const float *B,
                             int64_t ldb, float *C, int64_t ldc) {
  for (int64_t i = 0; i < m; i++) {
    const float *panel = Ap + i / MR * MR * k;
    int64_t r = i % MR;
    for (int64_t j = 0; j < n; j++) {
      float c = 0.0f;
      for (int64_t q = 0; q < k; q++) c = fmaf(panel[q * MR + r], B[q * ldb + j], c);
      C[i * ldc + j] = c;
    }
  }
}

#if LP_X86
#define STORE(i)                                                 \
  do {                                                           \
    if (i < mr) {                                                \
      float *cr = C + (i) * ldc;                                 \
      _mm512_mask_storeu_ps(cr, k0, c##i##0);                    \
      _mm512_mask_storeu_ps(cr + 16, k1, c##i##1);               \
      _mm512_mask_storeu_ps(cr + 32, k2, c##i##2);               \
    }                                                            \
  } while (0)

/* C rows [0, mr) x columns [0, 48) masked by k0..k2, from a panel of A. */
LP_AVX512 static inline void tile(int64_t k, const float *ap, const float *B, int64_t ldb, float *C,
                                  int64_t ldc, int64_t mr, __mmask16 k0, __mmask16 k1,
                                  __mmask16 k2) {
  LP_TILE_ACC8;
  for (int64_t q = 0; q < k; q++) {
    const float *b = B + q * ldb, *a8 = ap + q * MR;
    __m512 b0 = _mm512_maskz_loadu_ps(k0, b);
    __m512 b1 = _mm512_maskz_loadu_ps(k1, b + 16);
    __m512 b2 = _mm512_maskz_loadu_ps(k2, b + 32);
    LP_TILE_ROW8;
  }
  STORE(0); STORE(1); STORE(2); STORE(3); STORE(4); STORE(5); STORE(6); STORE(7);
}

LP_AVX512 static void fmagemm_avx512(int64_t m, int64_t n, int64_t k, const float *Ap,
                                     const float *B, int64_t ldb, float *C, int64_t ldc) {
  for (int64_t j = 0; j < n; j += NR) {
    int64_t left = n - j;
    __mmask16 k0 = lp_first_lanes(left), k1 = lp_first_lanes(left - 16);
    __mmask16 k2 = lp_first_lanes(left - 32);
    for (int64_t p0 = 0; p0 < m; p0 += MR)
      tile(k, Ap + p0 * k, B + j, ldb, C + p0 * ldc + j, ldc, m - p0 < MR ? m - p0 : MR, k0, k1,
           k2);
  }
}
#endif

static int use = 1;

/* __builtin_cpu_supports reads what the runtime filled in before main: no
 * state of ours, so workers may ask too */
int lp_fmagemm_cpu(void) {
#if LP_X86
  return __builtin_cpu_supports("avx512f");
#else
  return 0;
#endif
}

int lp_fmagemm_fast(void) {
  return use && lp_fmagemm_cpu();
}

int lp_fmagemm_use(int on) {
  int old = use;
  use = on;
  return old;
}

void lp_fmagemm(int64_t m, int64_t n, int64_t k, const float *Ap, const float *B, int64_t ldb,
                float *C, int64_t ldc) {
  if (m <= 0 || n <= 0) return;
#if LP_X86
  if (lp_fmagemm_fast()) {
    fmagemm_avx512(m, n, k, Ap, B, ldb, C, ldc);
    return;
  }
#endif
  fmagemm_portable(m, n, k, Ap, B, ldb, C, ldc);
}
