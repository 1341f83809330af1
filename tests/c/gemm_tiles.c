/* gemm_tiles.c — how lp_gemm cuts a product into column tiles changes
 * only the speed. Products with few, long columns (cnn_small's fully
 * connected forward, 128 x 1568 times 1568 x 128) run in wider tiles than
 * the 8 of the other products; their bits, with 1 and with 2 threads,
 * must be those of one sgemm call per 16 columns (the narrowest cut
 * lp_gemm has ever made of them) and of one call for the whole product.
 * Shapes whose 16-column calls go to OpenBLAS's small-matrix kernels (a
 * different summation order for some shapes) or that end in a partial
 * group keep their tiles: the widths are checked against values worked
 * out by hand from the rule in ops_nn.c, and the values against a sum in
 * double. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/ops_nn.h"
#include "core/parallel.h"
#include "tap.h"

static float *randv(size_t n, unsigned *s) {
  float *v = malloc(n * sizeof *v);
  for (size_t i = 0; i < n; i++) {
    *s = *s * 1103515245u + 12345u;
    v[i] = (float)((*s >> 8) & 0xffff) / 32768.0f - 1.0f;
  }
  return v;
}

typedef struct {
  int tb;
  int64_t m, n, k;
  float beta;
  int64_t tile;   /* lp_gemm_col_tile for (m, n, k), by hand */
} shape;

/* C = A op(B) + beta C0 in sgemm calls of `w` columns (one call: w = n) */
static void by_calls(float *C, const float *C0, const shape *s, const float *A, const float *B, int64_t w) {
  memcpy(C, C0, (size_t)(s->m * s->n) * sizeof *C);
  for (int64_t j = 0; j < s->n; j += w) {
    int64_t nb = s->n - j < w ? s->n - j : w;
    lp_sgemm1(0, s->tb, s->m, nb, s->k, 1.0f, A, s->k, s->tb ? B + j * s->k : B + j,
              s->tb ? s->k : s->n, s->beta, C + j, s->n);
  }
}

int main(void) {
  static const shape shapes[] = {
      {1, 128, 128, 1568, 1.0f, 64},   /* cnn_small's fc forward, bias first: 2 tiles */
      {0, 128, 128, 1568, 0.0f, 64},
      {1, 128, 256, 784, 1.0f, 64},    /* the MLP's 784 -> 256 forward: 4 tiles (was 8 of 32) */
      {1, 128, 192, 1568, 0.0f, 96},   /* 3 tiles of 64 would load one thread twice: 2 of 96 */
      {0, 128, 320, 600, 1.0f, 80},    /* 5 tiles of 64 -> 4 of 80 */
      {1, 64, 128, 256, 1.0f, 16},     /* 64 x 16 x 256 calls are small-matrix ones: kept */
      {1, 100, 120, 1568, 0.0f, 16},   /* a partial group: kept */
      {0, 16, 25088, 144, 0.0f, 3136}, /* a convolution's product: 8 tiles as before */
  };
  unsigned seed = 7;
  lp_blas_one_thread();
  for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
    const shape *s = &shapes[i];
    tap_diag("%s, beta %g", s->tb ? "A B^T" : "A B", s->beta);
    int64_t tile = lp_gemm_col_tile(s->m, s->n, s->k);
    tap_ok(tile == s->tile, "m=%ld n=%ld k=%ld: column tiles of %ld (want %ld)", (long)s->m,
           (long)s->n, (long)s->k, (long)tile, (long)s->tile);
    size_t mn = (size_t)(s->m * s->n);
    float *A = randv((size_t)(s->m * s->k), &seed), *B = randv((size_t)(s->n * s->k), &seed);
    float *C0 = randv(mn, &seed), *C = malloc(mn * sizeof *C);
    float *R16 = malloc(mn * sizeof *R16), *R1 = malloc(mn * sizeof *R1);
    by_calls(R16, C0, s, A, B, 16);
    by_calls(R1, C0, s, A, B, s->n);
    if (s->n <= 448) {   /* the whole product in double, once */
      double worst = 0;
      for (int64_t r = 0; r < s->m; r++)
        for (int64_t c = 0; c < s->n; c++) {
          double acc = s->beta * (double)C0[r * s->n + c];
          for (int64_t q = 0; q < s->k; q++)
            acc += (double)A[r * s->k + q] * (s->tb ? B[c * s->k + q] : B[q * s->n + c]);
          worst = fmax(worst, fabs(acc - R16[r * s->n + c]));
        }
      tap_ok(worst < 1e-3, "  16-column calls match the sum in double (max err %.2g)", worst);
    }
    for (int t = 1; t <= 2; t++) {
      lp_set_threads(t);
      lp_blas_one_thread();
      memcpy(C, C0, mn * sizeof *C);
      lp_gemm(0, s->tb, s->m, s->n, s->k, 1.0f, A, s->k, B, s->tb ? s->k : s->n, s->beta, C, s->n);
      tap_ok(!memcmp(C, R16, mn * sizeof *C), "  %d thread(s): the bits of one sgemm call per 16 columns", t);
      /* a whole call ends in the same partial group only when n is one */
      if (s->n % 16 == 0 && (double)s->m * 16.0 * (double)s->k > 1e6)
        tap_ok(!memcmp(C, R1, mn * sizeof *C), "  %d thread(s): the bits of one call", t);
    }
    free(A); free(B); free(C0); free(C); free(R16); free(R1);
  }
  lp_set_threads(1);
  return tap_done();
}
