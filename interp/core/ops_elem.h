/* ops_elem.h — elementwise arithmetic, broadcasting and reductions over
 * tensors (ops_elem.c).
 *
 * llm.c conventions: outputs first, then inputs, then sizes; every pointer
 * carries its shape in a comment; gradients are named d<name>; a backward
 * ACCUMULATES (+=) into the input gradients unless it says "writes", and
 * zeroing is the caller's job. Kernels never allocate except where a
 * workspace argument is named, never fail, and know nothing of Lua. */
#ifndef LP_OPS_ELEM_H
#define LP_OPS_ELEM_H

#include <stdint.h>

#include "core/tensor.h"

/* ---- elementwise ------------------------------------------- */

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
/* 1 when none of a[0 .. n) is NaN or infinite: an exponent test per
 * element, no early exit (it vectorises). */
int lp_all_finite(const float *a, int64_t n);

#endif
