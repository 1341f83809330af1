/* act.c — the activation registry (see act.h): each function and its
 * derivative written once, compiled in double and in float, the rounded
 * operation sequences, the table every other part reads, and the plain
 * float32 kernels. */
/* The kernel loops are simple and hot: let gcc vectorise them as at -O3
 * (the build's -O2 uses a very cheap cost model). Same arithmetic, same
 * results: no fast-math. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3")
#endif
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif
#include "core/act.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <tgmath.h>

#include "core/parallel.h"
#include "core/xmath.h"

/* Grains (docs/performance.md, "Threads that never slow a kernel down"):
 * piecewise-linear activations are a compare and a select per element,
 * memory-bound, and a second core pays only from about a million
 * elements; the ones with exp, tanh or erf from 16K (about 60 us). */
#define GRAIN_STREAM ((size_t)1 << 19)
#define GRAIN_MATH ((size_t)1 << 13)

static size_t act_grain(lp_act a) {
  switch (a) {
  case LP_ACT_RELU: case LP_ACT_LEAKY_RELU: case LP_ACT_RELU6: case LP_ACT_HARDTANH:
  case LP_ACT_HARDSIGMOID: case LP_ACT_HARDSWISH: case LP_ACT_SOFTSIGN: case LP_ACT_IDENTITY:
    return GRAIN_STREAM;
  case LP_ACT_ELU: case LP_ACT_GELU: case LP_ACT_SILU: case LP_ACT_SOFTPLUS: case LP_ACT_MISH:
  case LP_ACT_SIGMOID: case LP_ACT_TANH:
    return GRAIN_MATH;
  case LP_ACT_COUNT: break;
  }
  return GRAIN_MATH;
}

/* ---- the functions, each written once ----------------------------------- */

/* ACT_FN(name, statements) defines name_d (double) and name_f (float) of
 * (x, a), a the parameter, from one body: T is the type, K(c) a constant
 * of that type, and <tgmath.h> makes exp, erf, ... the float versions in
 * name_f. CALL(fn, v) calls fn_d or fn_f to match v's type. A NaN x must
 * come out NaN: a piecewise body ends in x itself or in `x != x ? x : d`.
 * Piecewise bodies are written as one select per statement: gcc turns
 * those into vector blends, a nested ?: it leaves as branches. */
#define ACT_FN(name, ...)                                                  \
  static inline double name##_d(double x, double a) {                     \
    typedef double T;                                                      \
    (void)sizeof(T), (void)a;                                              \
    __VA_ARGS__                                                            \
  }                                                                        \
  static inline float name##_f(float x, float a) {                         \
    typedef float T;                                                       \
    (void)sizeof(T), (void)a;                                              \
    __VA_ARGS__                                                            \
  }
#define K(c) ((T)(c))
#define CALL(fn, v) _Generic((v), double: fn##_d, float: fn##_f)((v), a)

/* relu and relu6 of a negative x are -0: a zero result keeps the input's
 * sign, as rounding does; equal to +0 in value, but a quantized layer with
 * learnable levels can tell "negative" from "small positive". */
ACT_FN(relu, return x <= 0 ? copysign(K(0), x) : x;)
ACT_FN(relu_grad, T d = x > 0 ? K(1) : K(0);
                   return x != x ? x : d;)

ACT_FN(leaky_relu, return x > 0 ? x : a * x;)
ACT_FN(leaky_relu_grad, T d = x > 0 ? K(1) : a;
                         return x != x ? x : d;)

ACT_FN(relu6, T y = x <= 0 ? copysign(K(0), x) : x;
              return x > 6 ? K(6) : y;)
ACT_FN(relu6_grad, T d = x > 0 && x < 6 ? K(1) : K(0);
                   return x != x ? x : d;)

ACT_FN(elu, return x > 0 ? x : a * expm1(x);)
ACT_FN(elu_grad, return x > 0 ? K(1) : a * exp(x);)

/* exp and erf for the float kernels of GELU, written so that gcc
 * vectorises the loops that call them (glibc's expf and erff are scalar
 * calls, and GELU's forward and backward were most of a small
 * transformer's step). Plain float arithmetic without FMA, the same bits
 * in vector lanes and in the scalar tail; NaN in gives NaN out.
 *   xexp_f: lp_xexpf (core/xmath.h);
 *   xerf_f: erfc(|x|) = t exp(-x^2 + P(t)), t = 1 / (1 + |x| / 2), P the
 *           degree-9 polynomial of Numerical Recipes (fractional error
 *           below 1.2e-7), erf = 1 - erfc with the sign of x; absolute
 *           error below 4e-7 (both measured on dense grids when written;
 *           tests/c/act_fast.c holds GELU and its derivative to the
 *           double versions).
 * The double versions are libm's. */
static inline float xexp_f(float x) { return lp_xexpf(x); }
static inline double xexp_d(double x) { return exp(x); }

static inline float xerf_f(float x) {
  float z = fabs(x);
  float t = 1.0f / (1.0f + 0.5f * z);
  float p = -1.26551223f + t * (1.00002368f + t * (0.37409196f + t * (0.09678418f +
            t * (-0.18628806f + t * (0.27886807f + t * (-1.13520398f + t * (1.48851587f +
            t * (-0.82215223f + t * 0.17087277f))))))));
  float e = 1.0f - t * xexp_f(-z * z + p);
  uint32_t eb, xb;
  memcpy(&eb, &e, sizeof eb);
  memcpy(&xb, &x, sizeof xb);
  uint32_t nan = -(uint32_t)(x != x);
  eb = ((eb | (xb & 0x80000000u)) & ~nan) | (xb & nan);   /* erf(-x) = -erf(x); NaN stays */
  memcpy(&e, &eb, sizeof e);
  return e;
}
static inline double xerf_d(double x) { return erf(x); }

#define XERF(v) _Generic((v), double: xerf_d, float: xerf_f)(v)
#define XEXP(v) _Generic((v), double: xexp_d, float: xexp_f)(v)

ACT_FN(gelu, return K(0.5) * x * (K(1) + XERF(x * K(0.70710678118654752440)));)
ACT_FN(gelu_grad, return K(0.5) * (K(1) + XERF(x * K(0.70710678118654752440))) +
                         x * XEXP(K(-0.5) * x * x) * K(0.39894228040143267794);)

/* both branches avoid exp of a large positive number */
ACT_FN(sigmoid, if (x >= 0) return K(1) / (K(1) + exp(-x));
                T e = exp(x);
                return e / (K(1) + e);)
ACT_FN(sigmoid_grad, T s = CALL(sigmoid, x);
                     return s * (K(1) - s);)

ACT_FN(silu, return x * CALL(sigmoid, x);)
ACT_FN(silu_grad, T s = CALL(sigmoid, x);
                  return s * (K(1) + x * (K(1) - s));)

ACT_FN(softplus, return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x));)
ACT_FN(softplus_grad, return CALL(sigmoid, x);)

ACT_FN(mish, return x * tanh(CALL(softplus, x));)
ACT_FN(mish_grad, T t = tanh(CALL(softplus, x));
                  return t + x * (K(1) - t * t) * CALL(sigmoid, x);)

ACT_FN(tanh, return tanh(x);)
ACT_FN(tanh_grad, T t = tanh(x);
                  return K(1) - t * t;)

ACT_FN(hardtanh, T y = x > 1 ? K(1) : x;
                 return x < -1 ? K(-1) : y;)
ACT_FN(hardtanh_grad, T d = x > -1 && x < 1 ? K(1) : K(0);
                      return x != x ? x : d;)

ACT_FN(hardsigmoid, T y = x / K(6) + K(0.5);
                    y = x >= 3 ? K(1) : y;
                    return x <= -3 ? K(0) : y;)
ACT_FN(hardsigmoid_grad, T d = x > -3 && x < 3 ? K(1) / K(6) : K(0);
                         return x != x ? x : d;)

ACT_FN(hardswish, T y = x * (x + K(3)) / K(6);
                  y = x >= 3 ? x : y;
                  return x <= -3 ? copysign(K(0), x) : y;)
ACT_FN(hardswish_grad, T d = (K(2) * x + K(3)) / K(6);
                       d = x >= 3 ? K(1) : d;
                       d = x <= -3 ? K(0) : d;
                       return x != x ? x : d;)

ACT_FN(softsign, return isinf(x) ? copysign(K(1), x) : x / (K(1) + fabs(x));)
ACT_FN(softsign_grad, T d = K(1) + fabs(x);
                      return K(1) / (d * d);)

ACT_FN(identity, return x;)
ACT_FN(identity_grad, return x == x ? K(1) : x;)

/* ---- rounded operation sequences (lp_act_ops) ----------------------------- */

static double R(const lp_format *r, double v) { return lp_round(r, v, 0); }

/* e = R(exp(-x)); d = R(1 + e); y = R(1 / d) */
static double sigmoid_ops(double x, double a, const lp_format *r) {
  (void)a;
  double e = R(r, exp(-x));
  double d = R(r, 1.0 + e);
  return R(r, 1.0 / d);
}

/* t = R(-2x); e = R(exp(t)); n = R(1 - e); d = R(1 + e); y = R(n / d) */
static double tanh_ops(double x, double a, const lp_format *r) {
  (void)a;
  double t = R(r, -2.0 * x);
  double e = R(r, exp(t));
  double n = R(r, 1.0 - e);
  double d = R(r, 1.0 + e);
  return R(r, n / d);
}

/* e = R(exp(x)); d = R(1 + e); y = R(log(d)) */
static double softplus_ops(double x, double a, const lp_format *r) {
  (void)a;
  double e = R(r, exp(x));
  double d = R(r, 1.0 + e);
  return R(r, log(d));
}

/* x > 0: y = R(x); else e = R(exp(x)); m = R(e - 1); y = R(alpha m) */
static double elu_ops(double x, double a, const lp_format *r) {
  if (x > 0) return R(r, x);
  double e = R(r, exp(x));
  double m = R(r, e - 1.0);
  return R(r, a * m);
}

/* s = sigmoid_ops(x); y = R(x s) */
static double silu_ops(double x, double a, const lp_format *r) {
  return R(r, x * sigmoid_ops(x, a, r));
}

/* t = R(x 0.70710678118654752); e = R(erf(t)); b = R(1 + e); h = R(x b);
 * y = R(0.5 h) */
static double gelu_ops(double x, double a, const lp_format *r) {
  (void)a;
  double t = R(r, x * 0.70710678118654752440);
  double e = R(r, erf(t));
  double b = R(r, 1.0 + e);
  double h = R(r, x * b);
  return R(r, 0.5 * h);
}

/* p = softplus_ops(x); t = tanh_ops(p); y = R(x t) */
static double mish_ops(double x, double a, const lp_format *r) {
  double p = softplus_ops(x, a, r);
  double t = tanh_ops(p, a, r);
  return R(r, x * t);
}

/* t = R(x + 3); c = min(max(t, 0), 6) (exact); p = R(x c); y = R(p / 6) */
static double hardswish_ops(double x, double a, const lp_format *r) {
  (void)a;
  double c = fmin(fmax(R(r, x + 3.0), 0.0), 6.0);
  return R(r, R(r, x * c) / 6.0);
}

/* d = R(1 + |x|); y = R(x / d) */
static double softsign_ops(double x, double a, const lp_format *r) {
  (void)a;
  return R(r, x / R(r, 1.0 + fabs(x)));
}

/* ---- the plain kernels of each function, one thread ----------------------- */

/* Per function: name_forward and name_backward over n contiguous floats.
 * g[i] and x[i] are loaded unconditionally and f' is a select, so the
 * loops vectorise; the vector lanes and the scalar tail compute the same
 * expression, so they give the same bits. Each is built for the baseline
 * CPU (the table's) and, on x86, for AVX2 and AVX-512 (wide_spans below,
 * chosen by the lane level lp_quantize_simd sets): the same arithmetic in
 * wider registers, the same bits. */
#if defined(__x86_64__) || defined(__i386__)
#define ACT_X86 1
#define ACT_AVX2 __attribute__((target("avx2")))
#define ACT_AVX512 __attribute__((target("avx512f,avx512vl,avx512dq,avx512bw")))
#else
#define ACT_X86 0
#endif
#define ACT_SPAN_FNS(name, sfx, attr)                                                   \
  attr static void name##_forward##sfx(float *out, const float *x, size_t n, float a) { \
    for (size_t i = 0; i < n; i++) out[i] = name##_f(x[i], a);                           \
  }                                                                                    \
  attr static void name##_backward##sfx(float *d, const float *g, const float *x, size_t n, \
                                       float a, int acc) {                             \
    if (acc)                                                                           \
      for (size_t i = 0; i < n; i++) d[i] += g[i] * name##_grad_f(x[i], a);              \
    else                                                                               \
      for (size_t i = 0; i < n; i++) d[i] = g[i] * name##_grad_f(x[i], a);               \
  }
#if ACT_X86
#define ACT_SPANS(ID, name)                 \
  ACT_SPAN_FNS(name, , )                    \
  ACT_SPAN_FNS(name, _avx2, ACT_AVX2)       \
  ACT_SPAN_FNS(name, _avx512, ACT_AVX512)
#else
#define ACT_SPANS(ID, name) ACT_SPAN_FNS(name, , )
#endif
LP_ACT_LIST(ACT_SPANS)
#undef ACT_SPANS

typedef lp_act_fwd_fn act_fwd_fn;
typedef lp_act_bwd_fn act_bwd_fn;
#if ACT_X86
/* [function][0: AVX2, 1: AVX-512] */
static const struct {
  act_fwd_fn forward[2];
  act_bwd_fn backward[2];
} wide_spans[] = {
#define ACT_WIDE(ID, name)                                                   \
  [LP_ACT_##ID] = { { name##_forward_avx2, name##_forward_avx512 },          \
                    { name##_backward_avx2, name##_backward_avx512 } },
  LP_ACT_LIST(ACT_WIDE)
#undef ACT_WIDE
};
#endif

/* ---- the table ------------------------------------------------------------ */

#define FNS(fn)                                                                 \
  .name = #fn, .f = fn##_d, .df = fn##_grad_d, .ff = fn##_f, .dff = fn##_grad_f,       \
  .forward = fn##_forward, .backward = fn##_backward
#define NOPARAM .has_alpha = 0, .alpha = 0, .param = ""

static const lp_act_info rows[] = {
  [LP_ACT_RELU] = { FNS(relu), NOPARAM, .monotone = 1, .formula = "max(x, 0)" },
  [LP_ACT_LEAKY_RELU] = { FNS(leaky_relu), .has_alpha = 1, .alpha = 0.01,
                          .param = "slope for x < 0", .monotone = 1,
                          .formula = "x if x > 0, alpha x otherwise" },
  [LP_ACT_RELU6] = { FNS(relu6), NOPARAM, .monotone = 1, .formula = "min(max(x, 0), 6)" },
  [LP_ACT_ELU] = { FNS(elu), .has_alpha = 1, .alpha = 1.0, .param = "scale of exp(x) - 1 for x <= 0",
                   .monotone = 1, .ops = elu_ops,
                   .formula = "x if x > 0, alpha (exp(x) - 1) otherwise" },
  [LP_ACT_GELU] = { FNS(gelu), NOPARAM, .monotone = 0, .min_lo = -3, .min_hi = 0,
                    .ops = gelu_ops, .formula = "x (1 + erf(x / sqrt 2)) / 2" },
  [LP_ACT_SILU] = { FNS(silu), NOPARAM, .monotone = 0, .min_lo = -3, .min_hi = 0,
                    .ops = silu_ops, .formula = "x sigmoid(x)" },
  [LP_ACT_SOFTPLUS] = { FNS(softplus), NOPARAM, .monotone = 1, .ops = softplus_ops,
                        .formula = "log(1 + exp(x))" },
  [LP_ACT_MISH] = { FNS(mish), NOPARAM, .monotone = 0, .min_lo = -3, .min_hi = 0,
                    .ops = mish_ops, .formula = "x tanh(softplus(x))" },
  [LP_ACT_SIGMOID] = { FNS(sigmoid), NOPARAM, .monotone = 1, .ops = sigmoid_ops,
                       .formula = "1 / (1 + exp(-x))" },
  [LP_ACT_TANH] = { FNS(tanh), NOPARAM, .monotone = 1, .ops = tanh_ops, .formula = "tanh(x)" },
  [LP_ACT_HARDTANH] = { FNS(hardtanh), NOPARAM, .monotone = 1, .formula = "min(max(x, -1), 1)" },
  [LP_ACT_HARDSIGMOID] = { FNS(hardsigmoid), NOPARAM, .monotone = 1,
                           .formula = "min(max(x / 6 + 1/2, 0), 1)" },
  [LP_ACT_HARDSWISH] = { FNS(hardswish), NOPARAM, .monotone = 0, .min_lo = -3, .min_hi = 0,
                         .ops = hardswish_ops, .formula = "x min(max(x + 3, 0), 6) / 6" },
  [LP_ACT_SOFTSIGN] = { FNS(softsign), NOPARAM, .monotone = 1, .ops = softsign_ops,
                        .formula = "x / (1 + |x|)" },
  [LP_ACT_IDENTITY] = { FNS(identity), NOPARAM, .monotone = 1, .formula = "x" },
};
_Static_assert(sizeof rows / sizeof rows[0] == LP_ACT_COUNT, "one row per LP_ACT_LIST entry");

#undef FNS
#undef NOPARAM

/* ---- lookups and scalar functions ----------------------------------------- */

const lp_act_info *lp_act_row(lp_act a) {
  if ((unsigned)a >= LP_ACT_COUNT) abort();   /* a caller's bug: ids come from this file */
  return &rows[a];
}

int lp_act_from_name(const char *name) {
  for (int i = 0; i < LP_ACT_COUNT; i++)
    if (strcmp(name, rows[i].name) == 0) return i;
  return -1;
}

const char *lp_act_name(lp_act a) { return lp_act_row(a)->name; }

double lp_act_default_alpha(lp_act a) { return lp_act_row(a)->alpha; }

double lp_act_value(lp_act a, double x, double alpha) { return lp_act_row(a)->f(x, alpha); }

double lp_act_deriv(lp_act a, double x, double alpha) { return lp_act_row(a)->df(x, alpha); }

int lp_act_has_ops(lp_act a) { return lp_act_row(a)->ops != NULL; }

double lp_act_ops(lp_act a, double x, double alpha, const lp_format *r) {
  const lp_act_info *row = lp_act_row(a);
  if (isnan(x)) return x;
  return row->ops ? row->ops(x, alpha, r) : R(r, row->f(x, alpha));
}

/* The minimum of a non-monotone f: bisection of f' inside [min_lo, min_hi]
 * down to adjacent doubles (f is flat there, so f at the result is its
 * minimum to the last bit or two). */
static double argmin(const lp_act_info *row, double alpha) {
  double a = row->min_lo, b = row->min_hi;
  for (int i = 0; i < 200; i++) {
    double m = 0.5 * (a + b);
    if (m <= a || m >= b) break;
    if (row->df(m, alpha) < 0) a = m; else b = m;
  }
  return 0.5 * (a + b);
}

double lp_act_absmax(lp_act a, double alpha, double lo, double hi) {
  const lp_act_info *row = lp_act_row(a);
  if (isnan(lo) || isnan(hi) || lo > hi) return NAN;
  double m = fmax(fabs(row->f(lo, alpha)), fabs(row->f(hi, alpha)));
  if (lo <= 0 && hi >= 0) m = fmax(m, fabs(row->f(0, alpha)));
  if (!row->monotone) {
    double xm = argmin(row, alpha);
    if (lo <= xm && xm <= hi) m = fmax(m, fabs(row->f(xm, alpha)));
  }
  return m;
}

/* ---- threaded kernels ------------------------------------------------------ */

typedef struct {
  act_fwd_fn forward;
  act_bwd_fn backward;
  float alpha;
  float *out;
  const float *x, *dout;
  int acc;
} act_ctx;

static void fwd_range(void *vc, size_t lo, size_t hi) {
  const act_ctx *c = vc;
  c->forward(c->out + lo, c->x + lo, hi - lo, c->alpha);
}

static void bwd_range(void *vc, size_t lo, size_t hi) {
  const act_ctx *c = vc;
  c->backward(c->out + lo, c->dout + lo, c->x + lo, hi - lo, c->alpha, c->acc);
}

/* The build of a's loops for the lane level in force (read on the calling
 * thread). */
static act_ctx spans(lp_act a) {
  const lp_act_info *row = lp_act_row(a);
  act_ctx c = { row->forward, row->backward, 0, NULL, NULL, NULL, 0 };
#if ACT_X86
  int l = lp_quantize_simd(-1);
  lp_quantize_simd(l);
  if (l >= 1) {
    c.forward = wide_spans[a].forward[l >= 2];
    c.backward = wide_spans[a].backward[l >= 2];
  }
#endif
  return c;
}

void lp_act_spans(lp_act a, lp_act_fwd_fn *forward, lp_act_bwd_fn *backward) {
  act_ctx c = spans(a);
  if (forward) *forward = c.forward;
  if (backward) *backward = c.backward;
}

void lp_act_forward(lp_act a, float *out, const float *inp, int64_t n, float alpha) {
  act_ctx c = spans(a);
  c.alpha = alpha, c.out = out, c.x = inp;
  lp_parallel_for((size_t)n, act_grain(a), fwd_range, &c);
}

void lp_act_backward(lp_act a, float *dinp, const float *dout, const float *inp, int64_t n,
                     float alpha, int accumulate) {
  act_ctx c = spans(a);
  c.alpha = alpha, c.out = dinp, c.x = inp, c.dout = dout, c.acc = accumulate;
  lp_parallel_for((size_t)n, act_grain(a), bwd_range, &c);
}
