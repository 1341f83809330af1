/* ops.h — the tensor kernels: elementwise arithmetic and reductions
 * (ops_elem.c), matrix products and the neural-network layers
 * (ops_nn.c, ops_conv.c), forward and backward side by side.
 *
 * llm.c conventions: outputs first, then inputs, then sizes; every pointer
 * carries its shape in a comment; gradients are named d<name>; a backward
 * ACCUMULATES (+=) into the input gradients unless it says "writes", and
 * zeroing is the caller's job. Kernels never allocate except where a
 * workspace argument is named, never fail, and know nothing of Lua. */
#ifndef LP_OPS_H
#define LP_OPS_H

#include <stdint.h>

#include "core/act.h"
#include "core/tensor.h"

/* ---- elementwise (ops_elem.c) ------------------------------------------- */

typedef enum {
  LP_ADD, LP_SUB, LP_MUL, LP_DIV, LP_POW, LP_MAX, LP_MIN,
  LP_EQ, LP_NE, LP_LT, LP_LE, LP_GT, LP_GE,
  LP_RSUB, LP_RDIV          /* b - a, b / a (a scalar on the left) */
} lp_binop;

typedef enum {
  LP_NEG, LP_ABS, LP_SQRT, LP_RSQRT, LP_EXP, LP_LOG, LP_LOG1P, LP_EXPM1,
  LP_TANH, LP_SIGMOID, LP_SIN, LP_COS, LP_FLOOR, LP_CEIL, LP_ROUND, LP_TRUNC,
  LP_SIGN, LP_SQUARE, LP_RECIP, LP_RELU, LP_ERF,
  LP_CLAMP,                 /* p = lo, q = hi */
  LP_COPY, LP_FILL,         /* FILL writes p */
  LP_ISNAN, LP_ISFINITE
} lp_unop;

typedef enum { LP_RSUM, LP_RMEAN, LP_RMAX, LP_RMIN, LP_RARGMAX, LP_RARGMIN } lp_redop;

/* NumPy broadcasting: the shape of a op b; 0 if incompatible. */
int lp_broadcast_shape(int *ndim, int64_t *shape, const lp_tensor *a, const lp_tensor *b);
/* out = a op b; out has the broadcast shape (any strides; may be a itself
 * for in-place ops). */
void lp_binary(lp_binop op, lp_tensor *out, const lp_tensor *a, const lp_tensor *b);
void lp_binary_scalar(lp_binop op, lp_tensor *out, const lp_tensor *a, float s);
/* out = f(a) elementwise; a is broadcast to out's shape. */
void lp_unary(lp_unop op, lp_tensor *out, const lp_tensor *a, float p, float q);
/* out = a summed down to out's shape (out broadcasts to a); writes. */
void lp_sum_to(lp_tensor *out, const lp_tensor *a);

/* In-place helpers over contiguous buffers of n elements. */
void lp_axpy(float *t, const float *u, float alpha, int64_t n);               /* t += alpha u   */
void lp_addcmul(float *t, const float *a, const float *b, float v, int64_t n); /* t += v a b     */
void lp_addcdiv(float *t, const float *a, const float *b, float v, int64_t n); /* t += v a / b   */

/* Whole contiguous buffer; arg (may be NULL) gets the arg index. */
double lp_reduce_all(lp_redop op, const float *a, int64_t n, int64_t *arg);
/* out (outer, inner) = op over the middle dim of a (outer, d, inner). */
void lp_reduce_dim(lp_redop op, float *out, const float *a, int64_t outer, int64_t d, int64_t inner);

/* ---- matrix products (ops_nn.c) ----------------------------------------- */

/* C (m, n) = alpha * op(A) op(B) + beta * C, row-major, op = transpose if
 * ta/tb; A is (m, k) or (k, m) when transposed, B (k, n) or (n, k). */
void lp_gemm(int ta, int tb, int64_t m, int64_t n, int64_t k, float alpha,
             const float *A, int64_t lda, const float *B, int64_t ldb,
             float beta, float *C, int64_t ldc);

/* linear: out (N, O) = inp (N, K) weight^T (K, O) + bias (O) (bias may be NULL) */
void lp_linear_forward(float *out, const float *inp, const float *weight, const float *bias,
                       int64_t N, int64_t K, int64_t O);
/* dinp (N, K) += dout W; dweight (O, K) += dout^T inp; dbias (O) += sum dout
 * (or = instead of += when !accumulate: the outputs may then be
 * uninitialised). Any of dinp, dweight, dbias may be NULL. */
void lp_linear_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                        const float *inp, const float *weight, int64_t N, int64_t K, int64_t O,
                        int accumulate);

/* ---- softmax and cross-entropy (ops_nn.c) ------------------------------- */

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

/* ---- dropout, batchnorm (ops_nn.c) -------------------------------------- */

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

/* ---- convolution and pooling (ops_conv.c) ------------------------------- */

/* col (C*kh*kw, N*OH*OW) from inp (N, C, H, W) */
void lp_im2col(float *col, const float *inp, int64_t N, int64_t C, int64_t H, int64_t W,
               int kh, int kw, int stride, int pad, int64_t OH, int64_t OW);
/* dinp (N, C, H, W) += col2im(dcol (C*kh*kw, N*OH*OW)) */
void lp_col2im(float *dinp, const float *dcol, int64_t N, int64_t C, int64_t H, int64_t W,
               int kh, int kw, int stride, int pad, int64_t OH, int64_t OW);
/* Workspace floats conv2d needs: C*kh*kw*N*OH*OW + O*N*OH*OW. */
int64_t lp_conv2d_workspace(int64_t N, int64_t C, int64_t O, int kh, int kw, int64_t OH, int64_t OW);
/* out (N, O, OH, OW) = conv(inp (N, C, H, W), weight (O, C, kh, kw)) + bias (O);
 * leaves im2col(inp) at the start of work, for the backward. */
void lp_conv2d_forward(float *out, float *work, const float *inp, const float *weight,
                       const float *bias, int64_t N, int64_t C, int64_t H, int64_t W, int64_t O,
                       int kh, int kw, int stride, int pad);
/* dinp += ..., dweight += ..., dbias += ... (each may be NULL); with
 * !accumulate they are overwritten (and may be uninitialised). col_ready:
 * work still holds the forward's im2col of inp (it is then reused, not
 * recomputed); either way work is overwritten. */
void lp_conv2d_backward(float *dinp, float *dweight, float *dbias, float *work, const float *dout,
                        const float *inp, const float *weight, int64_t N, int64_t C, int64_t H,
                        int64_t W, int64_t O, int kh, int kw, int stride, int pad, int col_ready,
                        int accumulate);

/* out (N, C, OH, OW) = max over k x k windows; idx (same shape) holds the
 * flat index (within the H*W plane) of the max, for the backward. */
void lp_maxpool2d_forward(float *out, int32_t *idx, const float *inp, int64_t N, int64_t C,
                          int64_t H, int64_t W, int k, int stride, int pad);
void lp_maxpool2d_backward(float *dinp, const float *dout, const int32_t *idx, int64_t N, int64_t C,
                           int64_t H, int64_t W, int64_t OH, int64_t OW);
/* average over k x k windows (padding counts as zeros in the divisor k*k) */
void lp_avgpool2d_forward(float *out, const float *inp, int64_t N, int64_t C, int64_t H, int64_t W,
                          int k, int stride, int pad);
void lp_avgpool2d_backward(float *dinp, const float *dout, int64_t N, int64_t C, int64_t H, int64_t W,
                           int k, int stride, int pad);

/* ---- optimizer steps (ops_nn.c) ----------------------------------------- */

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
