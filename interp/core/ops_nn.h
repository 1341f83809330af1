/* ops_nn.h — matrix products, linear layers, softmax and cross-entropy,
 * dropout, batchnorm and the fused optimizer steps (ops_nn.c), forward and
 * backward side by side.
 *
 * llm.c conventions: outputs first, then inputs, then sizes; every pointer
 * carries its shape in a comment; gradients are named d<name>; a backward
 * ACCUMULATES (+=) into the input gradients unless it says "writes", and
 * zeroing is the caller's job. Kernels never allocate except where a
 * workspace argument is named, never fail, and know nothing of Lua. */
#ifndef LP_OPS_NN_H
#define LP_OPS_NN_H

#include <stdint.h>

/* ---- matrix products ----------------------------------------- */

/* C (m, n) = alpha * op(A) op(B) + beta * C, row-major, op = transpose if
 * ta/tb; A is (m, k) or (k, m) when transposed, B (k, n) or (n, k). */
void lp_gemm(int ta, int tb, int64_t m, int64_t n, int64_t k, float alpha,
             const float *A, int64_t lda, const float *B, int64_t ldb,
             float beta, float *C, int64_t ldc);
/* How lp_gemm(0, 0, m, n, k, ...) cuts a product into sgemm calls: 0 when
 * it makes one call or splits rows; else the width of its column tiles
 * (a multiple of 16; the last tile holds what is left). A caller that
 * runs the same product in its own column blocks gets the same bits when
 * every block starts at a multiple of 16 and its last block is lp_gemm's
 * last tile: OpenBLAS computes each group of 16 columns alike wherever
 * it lies, and only the last, partial group depends on the call's shape. */
int64_t lp_gemm_col_tile(int64_t m, int64_t n, int64_t k);
/* One single-threaded sgemm call, as lp_gemm makes (same arguments), for
 * use inside lp_parallel_for pieces; the caller runs lp_blas_one_thread()
 * first, outside the pieces. */
void lp_sgemm1(int ta, int tb, int64_t m, int64_t n, int64_t k, float alpha, const float *A,
               int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc);
void lp_blas_one_thread(void);

/* linear: out (N, O) = inp (N, K) weight^T (K, O) + bias (O) (bias may be NULL) */
void lp_linear_forward(float *out, const float *inp, const float *weight, const float *bias,
                       int64_t N, int64_t K, int64_t O);
/* dinp (N, K) += dout W; dweight (O, K) += dout^T inp; dbias (O) += sum dout
 * (or = instead of += when !accumulate: the outputs may then be
 * uninitialised). Any of dinp, dweight, dbias may be NULL. */
void lp_linear_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                        const float *inp, const float *weight, int64_t N, int64_t K, int64_t O,
                        int accumulate);

/* ---- softmax and cross-entropy ------------------------------- */

/* out (N, K) = softmax / log_softmax of inp (N, K) along K. */
void lp_softmax_forward(float *out, const float *inp, int64_t N, int64_t K, int logsm);
/* dinp (N, K) += backward of softmax (y = out) or log_softmax (y = out). */
void lp_softmax_backward(float *dinp, const float *dout, const float *out, int64_t N, int64_t K, int logsm);
/* Mean cross-entropy of logits (N, K) against labels (N) (class index as
 * float); probs (N, K) receives softmax(logits) for the backward. Returns
 * the loss; returns NaN if a label is out of range (the binding checks). */
double lp_cross_entropy_forward(float *probs, const float *logits, const float *labels, int64_t N, int64_t K);
/* dlogits (N, K) += dloss * (probs - onehot) / N */
void lp_cross_entropy_backward(float *dlogits, float dloss, const float *probs, const float *labels,
                               int64_t N, int64_t K);

/* ---- dropout, batchnorm -------------------------------------- */

/* mask (n) = keep ? 1/(1-p) : 0 from lp_rand64(key, ctr + i); out = inp * mask */
void lp_dropout_forward(float *out, float *mask, const float *inp, int64_t n, float p,
                        uint64_t key, uint64_t ctr);

/* x (N, C, S) with S = H*W (S = 1 for (N, C)). Training: batch statistics,
 * saves mean (C) and invstd (C), updates running_mean/var (C) with momentum
 * (unbiased variance, as PyTorch). Eval: uses the running statistics.
 * gamma/beta may be NULL (1 and 0). */
void lp_batchnorm_forward(float *out, float *mean, float *invstd, const float *inp,
                          const float *gamma, const float *beta, float *running_mean,
                          float *running_var, int64_t N, int64_t C, int64_t S,
                          int training, float momentum, float eps);
/* Training-mode backward (uses the saved mean/invstd); eval-mode backward
 * is the same with training = 0 (a per-channel affine map). */
void lp_batchnorm_backward(float *dinp, float *dgamma, float *dbeta, const float *dout,
                           const float *inp, const float *mean, const float *invstd,
                           const float *gamma, int64_t N, int64_t C, int64_t S, int training);

/* ---- optimizer steps ----------------------------------------- */

/* Adam / AdamW on n contiguous elements; step counts from 1. decoupled: AdamW
 * weight decay (p -= lr wd p) instead of L2 added to the gradient. */
void lp_adam_step(float *param, const float *grad, float *m, float *v, int64_t n, float lr,
                  float b1, float b2, float eps, float wd, int64_t step, int decoupled);
/* SGD with momentum (buf may be NULL when momentum = 0), PyTorch semantics:
 * g += wd p; buf = momentum buf + (1 - dampening) g; g = nesterov ? g + momentum buf : buf;
 * p -= lr g. first: buf = g (the first step). */
void lp_sgd_step(float *param, const float *grad, float *buf, int64_t n, float lr, float momentum,
                 float dampening, float wd, int nesterov, int first);

#endif
