/* ops_nn.c — matrix products (OpenBLAS sgemm), linear layers,
 * activations, softmax / cross-entropy, dropout, batchnorm and fused
 * optimizer steps: forward and backward side by side. */
#include <math.h>
#include <string.h>

#include <cblas.h>

#include "core/ops.h"
#include "core/parallel.h"
#include "core/rng.h"

#define GRAIN 32768

void lp_gemm(int ta, int tb, int64_t m, int64_t n, int64_t k, float alpha,
             const float *A, int64_t lda, const float *B, int64_t ldb,
             float beta, float *C, int64_t ldc) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
              (blasint)m, (blasint)n, (blasint)k, alpha, A, (blasint)lda, B, (blasint)ldb, beta, C,
              (blasint)ldc);
}
