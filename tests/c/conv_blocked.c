/* conv_blocked.c — the blocked convolution (im2col and col2im a chunk of
 * samples at a time, next to the sgemm calls that use them) gives the
 * bits of the whole-batch method it replaced: im2col of the batch, one
 * lp_gemm, then the permute to (N, O, OH, OW) (and for the backward data
 * pass, one lp_gemm into the columns, then col2im), with 1 and 2 threads,
 * on shapes with partial 16-column groups, strides, paddings, 1x1 and
 * non-square kernels, and the shapes lp_gemm makes one call of or splits
 * by rows. Both are also checked against a direct convolution summed in
 * double (a shared mistake would pass the first check).
 *
 * On a machine with AVX-512F the forward and backward-data products go
 * through lp_fmagemm (fmagemm.h), whose bits are defined as one fmaf chain
 * per element over k in order, and "same" shapes (stride 1, output as
 * large as the input) through the implicit kernels (conv_implicit.h),
 * whose forward has those bits too: there the whole-batch reference makes
 * its product by that definition, written out here (and the implicit
 * backward data pass by its own: the forward of dout with the weights
 * flipped and transposed). The shapes run three
 * times: implicit kernels on, off (im2col + lp_fmagemm), and lp_fmagemm off
 * too (im2col + sgemm, against the whole-batch lp_gemm). Winograd's 3x3
 * kernels (conv_winograd.h), which the implicit path would take for
 * cnn_small's second layer, are off here: tests/c/conv_winograd.c checks
 * them against their own definition. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/conv_implicit.h"
#include "core/conv_winograd.h"
#include "core/fmagemm.h"
#include "core/ops_conv.h"
#include "core/ops_nn.h"
#include "core/parallel.h"
#include "tap.h"

typedef struct {
  int64_t N, C, H, W, O;
  int kh, kw, stride, pad;
} shape;

static float *randv(size_t n, unsigned *s) {
  float *v = malloc(n * sizeof *v);
  for (size_t i = 0; i < n; i++) {
    *s = *s * 1103515245u + 12345u;
    v[i] = (float)((*s >> 8) & 0xffff) / 32768.0f - 1.0f;
  }
  return v;
}

static int fma_defined;   /* the library's products are fmaf chains (lp_fmagemm) */

/* C (m x n) = op(A) B over the whole batch: lp_gemm, or the fmaf chains
 * that define lp_fmagemm */
static void ref_gemm(int ta, int64_t m, int64_t n, int64_t k, const float *A, int64_t lda,
                     const float *B, int64_t ldb, float *C, int64_t ldc) {
  if (!fma_defined) {
    lp_gemm(ta, 0, m, n, k, 1.0f, A, lda, B, ldb, 0.0f, C, ldc);
    return;
  }
  for (int64_t i = 0; i < m; i++)
    for (int64_t j = 0; j < n; j++) {
      float c = 0.0f;
      for (int64_t q = 0; q < k; q++) c = fmaf(ta ? A[q * lda + i] : A[i * lda + q], B[q * ldb + j], c);
      C[i * ldc + j] = c;
    }
}

/* the whole-batch forward: im2col, one product, permute + bias */
static void ref_forward(float *out, float *work, const float *x, const float *w, const float *b,
                        shape s, int64_t OH, int64_t OW) {
  int64_t P = OH * OW, CK = s.C * s.kh * s.kw, NP = s.N * P;
  float *col = work, *tmp = work + CK * NP;
  lp_im2col(col, x, s.N, s.C, s.H, s.W, s.kh, s.kw, s.stride, s.pad, OH, OW);
  ref_gemm(0, s.O, NP, CK, w, CK, col, NP, tmp, NP);
  for (int64_t n = 0; n < s.N; n++)
    for (int64_t o = 0; o < s.O; o++)
      for (int64_t p = 0; p < P; p++) out[(n * s.O + o) * P + p] = tmp[o * NP + n * P + p] + b[o];
}

/* the whole-batch backward data pass: permute, one lp_gemm, col2im */
static void ref_backward_data(float *dx, float *work, const float *dout, const float *w, shape s,
                              int64_t OH, int64_t OW) {
  int64_t P = OH * OW, CK = s.C * s.kh * s.kw, NP = s.N * P;
  float *col = work, *tmp = work + CK * NP;
  for (int64_t n = 0; n < s.N; n++)
    for (int64_t o = 0; o < s.O; o++)
      memcpy(tmp + o * NP + n * P, dout + (n * s.O + o) * P, (size_t)P * sizeof(float));
  ref_gemm(1, CK, NP, s.O, w, CK, tmp, NP, col, NP);
  memset(dx, 0, (size_t)(s.N * s.C * s.H * s.W) * sizeof(float));
  lp_col2im(dx, col, s.N, s.C, s.H, s.W, s.kh, s.kw, s.stride, s.pad, OH, OW);
}

/* the implicit kernels' backward data pass, by its definition: the
 * forward of dout with the weights flipped and transposed, one fmaf chain
 * per input element over (o, i, j) in order, added to dx = 0 */
static void ref_backward_data_implicit(float *dx, const float *dout, const float *w, shape s) {
  int64_t P = s.H * s.W;
  for (int64_t n = 0; n < s.N; n++)
    for (int64_t c = 0; c < s.C; c++)
      for (int64_t p = 0; p < P; p++) {
        float acc = 0.0f;
        for (int64_t o = 0; o < s.O; o++)
          for (int i = 0; i < s.kh; i++)
            for (int j = 0; j < s.kw; j++) {
              int64_t y = p / s.W + i - s.pad, x = p % s.W + j - s.pad;
              float g = y < 0 || y >= s.H || x < 0 || x >= s.W ? 0.0f : dout[((n * s.O + o) * s.H + y) * s.W + x];
              acc = fmaf(w[((o * s.C + c) * s.kh + (s.kh - 1 - i)) * s.kw + (s.kw - 1 - j)], g, acc);
            }
        dx[(n * s.C + c) * P + p] = 0.0f + acc;
      }
}

/* largest |a - direct| / (1 + |direct|) over the outputs, the direct
 * convolution summed in double */
static double direct_err(const float *out, const float *x, const float *w, const float *b, shape s,
                         int64_t OH, int64_t OW) {
  double worst = 0;
  for (int64_t n = 0; n < s.N; n++)
    for (int64_t o = 0; o < s.O; o++)
      for (int64_t oh = 0; oh < OH; oh++)
        for (int64_t ow = 0; ow < OW; ow++) {
          double acc = b[o];
          for (int64_t c = 0; c < s.C; c++)
            for (int i = 0; i < s.kh; i++)
              for (int j = 0; j < s.kw; j++) {
                int64_t ih = oh * s.stride - s.pad + i, iw = ow * s.stride - s.pad + j;
                if (ih < 0 || ih >= s.H || iw < 0 || iw >= s.W) continue;
                acc += (double)x[((n * s.C + c) * s.H + ih) * s.W + iw] *
                       (double)w[((o * s.C + c) * s.kh + i) * s.kw + j];
              }
          double got = out[((n * s.O + o) * OH + oh) * OW + ow];
          double e = fabs(got - acc) / (1 + fabs(acc));
          if (e > worst) worst = e;
        }
  return worst;
}

/* the direct backward data pass, in double */
static double direct_dx_err(const float *dx, const float *dout, const float *w, shape s, int64_t OH,
                            int64_t OW) {
  size_t nx = (size_t)(s.N * s.C * s.H * s.W);
  double *ref = calloc(nx, sizeof *ref), worst = 0;
  for (int64_t n = 0; n < s.N; n++)
    for (int64_t o = 0; o < s.O; o++)
      for (int64_t oh = 0; oh < OH; oh++)
        for (int64_t ow = 0; ow < OW; ow++) {
          double g = dout[((n * s.O + o) * OH + oh) * OW + ow];
          for (int64_t c = 0; c < s.C; c++)
            for (int i = 0; i < s.kh; i++)
              for (int j = 0; j < s.kw; j++) {
                int64_t ih = oh * s.stride - s.pad + i, iw = ow * s.stride - s.pad + j;
                if (ih < 0 || ih >= s.H || iw < 0 || iw >= s.W) continue;
                ref[((n * s.C + c) * s.H + ih) * s.W + iw] += g * (double)w[((o * s.C + c) * s.kh + i) * s.kw + j];
              }
        }
  for (size_t i = 0; i < nx; i++) {
    double e = fabs(dx[i] - ref[i]) / (1 + fabs(ref[i]));
    if (e > worst) worst = e;
  }
  free(ref);
  return worst;
}

int main(void) {
  lp_conv_winograd_use(0);
  const shape shapes[] = {
    {128, 16, 14, 14, 32, 3, 3, 1, 1},   /* cnn_small's second layer, batch 128 */
    {96, 1, 28, 28, 16, 3, 3, 1, 1},     /* its first layer, the last batch of an epoch */
    {24, 3, 13, 13, 40, 3, 3, 1, 0},     /* 2904 columns: a partial group of 8, in a
                                            last tile OpenBLAS sends to its small kernel */
    {7, 16, 13, 13, 32, 3, 3, 1, 1},     /* 1183 columns: the last tile (63, a partial
                                            group of 15) goes to the small kernel */
    {10, 16, 10, 10, 32, 3, 3, 1, 1},    /* 1000 columns: the last tile (104, a partial
                                            group of 8) goes to the small kernel */
    {41, 4, 23, 19, 48, 5, 3, 2, 1},     /* stride 2, 5x3 kernel, 4510 columns */
    {53, 40, 7, 7, 36, 1, 1, 1, 0},      /* 1x1, 2597 columns */
    {37, 6, 16, 16, 40, 3, 3, 3, 1},     /* stride 3, 1332 columns */
    {40, 9, 9, 9, 64, 2, 2, 1, 0},       /* 2x2 kernel, 2560 columns */
    {2, 3, 4, 4, 200, 3, 3, 1, 1},       /* more rows than columns: lp_gemm splits rows */
    {1, 2, 5, 5, 3, 3, 3, 1, 1},         /* tiny: one sgemm call */
  };
  const int nshapes = (int)(sizeof shapes / sizeof shapes[0]);
  const char *const modes[] = {"1 thread", "2 threads", "2 threads on every call"};
  int fast = lp_fmagemm_fast();
  for (int pass = fast ? 0 : 2; pass <= 2; pass++) {
    lp_fmagemm_use(pass < 2);
    lp_conv_implicit_use(pass == 0);
    fma_defined = pass < 2;
    const char *how = pass == 0 ? "implicit" : pass == 1 ? "lp_fmagemm" : "sgemm";
    unsigned seed = 12345;
    for (int k = 0; k < nshapes; k++) {
      shape s = shapes[k];
      int64_t OH = (s.H + 2 * s.pad - s.kh) / s.stride + 1, OW = (s.W + 2 * s.pad - s.kw) / s.stride + 1;
      int64_t nx = s.N * s.C * s.H * s.W, nw = s.O * s.C * s.kh * s.kw, ny = s.N * s.O * OH * OW;
      int64_t nws = lp_conv2d_workspace(s.N, s.C, s.O, s.kh, s.kw, OH, OW);
      float *x = randv((size_t)nx, &seed), *w = randv((size_t)nw, &seed), *b = randv((size_t)s.O, &seed);
      float *dout = randv((size_t)ny, &seed);
      float *ref = malloc((size_t)ny * sizeof(float)), *got = malloc((size_t)ny * sizeof(float));
      float *rdx = malloc((size_t)nx * sizeof(float)), *gdx = malloc((size_t)nx * sizeof(float));
      float *rwork = malloc((size_t)nws * sizeof(float)), *gwork = malloc((size_t)nws * sizeof(float));
      lp_set_threads(1);
      ref_forward(ref, rwork, x, w, b, s, OH, OW);
      int64_t ncol = s.C * s.kh * s.kw * s.N * OH * OW;
      /* t = 3: 2 threads on every call, whatever its size */
      for (int t = 1; t <= 3; t++) {
        lp_set_threads(t < 3 ? t : 2);
        lp_set_grain_scale(t < 3 ? 1 : 0);
        memset(got, 0xff, (size_t)ny * sizeof(float));
        lp_conv2d_forward(got, gwork, x, w, b, s.N, s.C, s.H, s.W, s.O, s.kh, s.kw, s.stride, s.pad);
        tap_ok(memcmp(got, ref, (size_t)ny * sizeof(float)) == 0,
               "%s, shape %d, %s: forward bit for bit the whole-batch im2col + product", how, k,
               modes[t - 1]);
        if (!lp_conv_implicit_ok(s.C, s.H, s.W, s.O, s.kh, s.kw, s.stride, s.pad))
          tap_ok(memcmp(gwork, rwork, (size_t)ncol * sizeof(float)) == 0,
                 "%s, shape %d, %s: the workspace holds im2col(x) for the backward", how, k,
                 modes[t - 1]);
      }
      lp_set_grain_scale(1);
      double e = direct_err(got, x, w, b, s, OH, OW);
      if (!tap_ok(e < 1e-5, "%s, shape %d: forward within 1e-5 of the direct convolution in double", how, k))
        tap_diag("relative error %g", e);
      lp_set_threads(1);
      if (lp_conv_implicit_ok(s.C, s.H, s.W, s.O, s.kh, s.kw, s.stride, s.pad))
        ref_backward_data_implicit(rdx, dout, w, s);
      else
        ref_backward_data(rdx, rwork, dout, w, s, OH, OW);
      for (int t = 1; t <= 3; t++) {
        lp_set_threads(t < 3 ? t : 2);
        lp_set_grain_scale(t < 3 ? 1 : 0);
        memset(gdx, 0xff, (size_t)nx * sizeof(float));
        lp_conv2d_backward(gdx, NULL, NULL, gwork, dout, x, w, s.N, s.C, s.H, s.W, s.O, s.kh, s.kw,
                           s.stride, s.pad, 0, 0);
        tap_ok(memcmp(gdx, rdx, (size_t)nx * sizeof(float)) == 0,
               "%s, shape %d, %s: backward data bit for bit the product + col2im", how, k,
               modes[t - 1]);
      }
      lp_set_grain_scale(1);
      e = direct_dx_err(gdx, dout, w, s, OH, OW);
      if (!tap_ok(e < 1e-5, "%s, shape %d: backward data within 1e-5 of the direct sum in double", how, k))
        tap_diag("relative error %g", e);
      free(x), free(w), free(b), free(dout), free(ref), free(got), free(rdx), free(gdx);
      free(rwork), free(gwork);
    }
  }
  if (!fast) {
    tap_count++;
    printf("ok %d # skip no AVX-512F here: the convolutions use sgemm only\n", tap_count);
  }
  lp_fmagemm_use(1);
  lp_conv_implicit_use(1);
  return tap_done();
}
