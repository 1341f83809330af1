/* fmagemm.c — lp_fmagemm against its definition (fmagemm.h): each C
 * element one fmaf chain over k in order from +0, written here
 * independently of the library, compared bit for bit (NaN as NaN) on
 * shapes with partial row panels and column tiles, k = 0, leading
 * dimensions wider than the matrices, transposed and plain A, and values
 * that make the order visible: cancellation, subnormals, signed zeros,
 * infinities, NaN. Elements of C outside the product stay untouched. The
 * fast kernel runs when the machine has AVX-512F; the portable loop
 * always. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/fmagemm.h"
#include "tap.h"

static unsigned seed = 2026;
static float rnd(int special) {
  seed = seed * 1103515245u + 12345u;
  unsigned r = seed >> 8;
  if (special && r % 17 == 0) {
    static const float odd[] = {0.0f, -0.0f, 1e-40f, -3e-39f, 1e30f, -1e30f, INFINITY, -INFINITY, NAN};
    return odd[(r / 17) % 9];
  }
  /* wide magnitudes so that sums cancel and round */
  float v = (float)(r & 0xffff) / 32768.0f - 1.0f;
  return v * ldexpf(1.0f, (int)((r >> 16) % 24) - 12);
}

static int same(float a, float b) {
  return (isnan(a) && isnan(b)) || memcmp(&a, &b, sizeof a) == 0;
}

/* returns the number of differing elements (C inside) plus touched guards */
static int64_t check(int ta, int64_t m, int64_t n, int64_t k, int64_t lda, int64_t ldb, int64_t ldc,
                     int special) {
  int64_t arows = ta ? k : m, acols = ta ? m : k;
  float *A = malloc((size_t)(arows * lda + 1) * sizeof *A);
  float *B = malloc((size_t)(k * ldb + 1) * sizeof *B);
  float *C = malloc((size_t)(m * ldc + 1) * sizeof *C);
  float *Ap = malloc((size_t)(lp_fmagemm_packed_size(m, k) + 1) * sizeof *Ap);
  for (int64_t i = 0; i < arows * lda; i++) A[i] = rnd(special);
  for (int64_t i = 0; i < k * ldb; i++) B[i] = rnd(special);
  const float guard = -12345.5f;
  for (int64_t i = 0; i < m * ldc; i++) C[i] = guard;
  (void)acols;
  lp_fmagemm_pack(Ap, ta, m, k, A, lda);
  lp_fmagemm(m, n, k, Ap, B, ldb, C, ldc);
  int64_t bad = 0;
  for (int64_t i = 0; i < m; i++)
    for (int64_t j = 0; j < ldc; j++) {
      float got = C[i * ldc + j];
      if (j >= n) {
        bad += got != guard;
        continue;
      }
      float want = 0.0f;
      for (int64_t q = 0; q < k; q++) want = fmaf(ta ? A[q * lda + i] : A[i * lda + q], B[q * ldb + j], want);
      bad += !same(got, want);
    }
  free(A), free(B), free(C), free(Ap);
  return bad;
}

static void run(const char *path) {
  static const int64_t ms[] = {1, 7, 8, 9, 32, 144, 13};
  static const int64_t ns[] = {1, 15, 16, 17, 47, 48, 49, 196, 100};
  static const int64_t ks[] = {0, 1, 9, 32, 144, 300};
  int64_t bad = 0, cases = 0;
  for (int special = 0; special <= 1; special++)
    for (int ta = 0; ta <= 1; ta++)
      for (size_t a = 0; a < sizeof ms / sizeof *ms; a++)
        for (size_t b = 0; b < sizeof ns / sizeof *ns; b++)
          for (size_t c = 0; c < sizeof ks / sizeof *ks; c++) {
            int64_t m = ms[a], n = ns[b], k = ks[c];
            if (m * n * k > 2000000) continue;
            int64_t lda = (ta ? m : k) + (int64_t)(c % 3), ldb = n + (int64_t)(b % 2) * 5, ldc = n + 3;
            if (lda < 1) lda = 1;
            int64_t d = check(ta, m, n, k, lda, ldb, ldc, special);
            if (d) tap_diag("%s: ta %d m %ld n %ld k %ld special %d: %ld differ", path, ta, (long)m,
                            (long)n, (long)k, special, (long)d);
            bad += d;
            cases++;
          }
  tap_ok(bad == 0, "%s: %ld products equal the fmaf chain of their definition bit for bit, C outside untouched",
         path, (long)cases);
}

int main(void) {
  int fast = lp_fmagemm_fast();
  lp_fmagemm_use(0);
  tap_ok(!lp_fmagemm_fast(), "lp_fmagemm_use(0) turns the fast kernel off");
  run("portable");
  lp_fmagemm_use(1);
  if (fast) {
    run("AVX-512");
  } else {
    tap_count++;
    printf("ok %d # skip this machine has no AVX-512F: the fast kernel is not built to run here\n", tap_count);
  }
  return tap_done();
}
