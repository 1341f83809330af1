/* act.h — the activation registry: every activation function lpact knows,
 * one row each (name, f and f' in double and float, default parameter,
 * monotonicity and extremum, the rounded-operations sequence), and the
 * plain float32 kernels over them. The FP32 layers (ops), the quantized
 * layers (qact.c) and Lua (lpact.activations()) all read this one table.
 * Plain C11, no Lua.
 *
 * Adding an activation: a row in LP_ACT_LIST below, its definition in
 * act.c (f and f' once each, over a type T; see ACT_FN there), a row in
 * docs/qact.md's table (and "Modes" for an ops sequence) and an oracle
 * row in tests/28-activations.lua.
 *
 * NaN policy: f(NaN) and f'(NaN) are NaN for every function, in double and
 * in float, so a NaN input never leaves a kernel as a number. At a kink f'
 * takes the value of its flat side (relu'(0) = 0, hardtanh'(1) = 0). */
#ifndef LP_ACT_H
#define LP_ACT_H

#include <stddef.h>
#include <stdint.h>

#include "core/format.h"

/* X(ID, name): one line per activation, in the order Lua lists them. */
#define LP_ACT_LIST(X)         \
  X(RELU, relu)                \
  X(LEAKY_RELU, leaky_relu)    \
  X(RELU6, relu6)              \
  X(ELU, elu)                  \
  X(GELU, gelu)                \
  X(SILU, silu)                \
  X(SOFTPLUS, softplus)        \
  X(MISH, mish)                \
  X(SIGMOID, sigmoid)          \
  X(TANH, tanh)                \
  X(HARDTANH, hardtanh)        \
  X(HARDSIGMOID, hardsigmoid)  \
  X(HARDSWISH, hardswish)      \
  X(SOFTSIGN, softsign)        \
  X(IDENTITY, identity)

typedef enum {
#define LP_ACT_ENUM_(ID, name) LP_ACT_##ID,
  LP_ACT_LIST(LP_ACT_ENUM_)
#undef LP_ACT_ENUM_
  LP_ACT_COUNT
} lp_act;

typedef struct lp_act_info {
  const char *name;
  /* f, f' (alpha: the parameter, ignored by functions without one) */
  double (*f)(double x, double alpha);
  double (*df)(double x, double alpha);
  float (*ff)(float x, float alpha);
  float (*dff)(float x, float alpha);
  /* f with every elementary operation rounded to r, NULL when the function
   * has no sequence of its own (lp_act_ops then gives R(f(x))) */
  double (*ops)(double x, double alpha, const lp_format *r);
  /* out (n) = f(x (n)); dinp (n) = (or += when acc) dout * f'(x), one
   * thread, loops the compiler vectorises */
  void (*forward)(float *out, const float *x, size_t n, float alpha);
  void (*backward)(float *dinp, const float *dout, const float *x, size_t n, float alpha, int acc);
  int has_alpha;        /* the function takes a parameter                 */
  double alpha;         /* its default (0 when it takes none)             */
  const char *param;    /* what the parameter is, for help ("" if none)  */
  int monotone;         /* f is non-decreasing on the whole real line    */
  /* non-monotone f: an interval holding f's one interior minimum, with
   * f' < 0 at its left end and f' > 0 at its right end (0, 0 if monotone) */
  double min_lo, min_hi;
  const char *formula;  /* f in one line of text                          */
} lp_act_info;

/* The row of a; a must be a valid lp_act (anything else aborts: it is a
 * programming error, not a user's). */
const lp_act_info *lp_act_row(lp_act a);
/* The id by name ("relu", "gelu", ...), or -1. */
int lp_act_from_name(const char *name);
const char *lp_act_name(lp_act a);
/* Default parameter (0.01 for leaky_relu, 1 for elu, 0 otherwise). */
double lp_act_default_alpha(lp_act a);

/* Scalar f(x) and f'(x) in double. */
double lp_act_value(lp_act a, double x, double alpha);
double lp_act_deriv(lp_act a, double x, double alpha);
/* max |f(x)| over x in [lo, hi] (lo <= hi), exactly: the largest of |f| at
 * the ends, at 0 and, for a non-monotone f, at its one minimum (found by
 * bisection of f' in double inside [min_lo, min_hi]) when inside the
 * interval. NaN if lo or hi is NaN or lo > hi. */
double lp_act_absmax(lp_act a, double alpha, double lo, double hi);
/* 1 if the row defines an op sequence. */
int lp_act_has_ops(lp_act a);
/* f(x) with every elementary operation rounded to r (R = lp_round(r, ., 0)):
 * the row's sequence (each is written out above its function in act.c and
 * in docs/qact.md, "Modes"); constants (1, 2, 3, 6, 0.5, 1/sqrt 2, alpha)
 * are exact operands, as immediates of fused hardware ops, and each
 * operation's exact result is rounded once. Functions without a sequence
 * give R(f(x)). NaN gives NaN. */
double lp_act_ops(lp_act a, double x, double alpha, const lp_format *r);

/* out (n) = f(inp (n)); threaded when large. out may equal inp. */
void lp_act_forward(lp_act a, float *out, const float *inp, int64_t n, float alpha);
/* The one-thread loops (the row's forward and backward) built for the lane
 * level lp_quantize_simd has in force (AVX2, AVX-512 or the baseline; the
 * same bits): read on the calling thread, then handed to workers. Either
 * pointer may be NULL. */
typedef void (*lp_act_fwd_fn)(float *out, const float *x, size_t n, float alpha);
typedef void (*lp_act_bwd_fn)(float *dinp, const float *dout, const float *x, size_t n, float alpha,
                              int acc);
void lp_act_spans(lp_act a, lp_act_fwd_fn *forward, lp_act_bwd_fn *backward);
/* dinp (n) += dout * f'(inp) (accumulate) or = (!accumulate: dinp may
 * then be uninitialised); inp is the forward's input. Threaded. */
void lp_act_backward(lp_act a, float *dinp, const float *dout, const float *inp, int64_t n,
                     float alpha, int accumulate);

#endif
