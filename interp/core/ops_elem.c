/* ops_elem.c — elementwise tensor arithmetic with NumPy broadcasting,
 * unary math functions, and reductions (whole tensor or along one dim).
 *
 * Every elementwise op walks up to three strided operands with one
 * iterator: dimensions that are contiguous for all operands are merged,
 * and the last merged dimension is the inner loop, specialised for the
 * common unit/zero strides so the compiler can vectorise it. Large fully
 * contiguous operations are split across the thread pool; each element is
 * computed the same way whatever the split, so results do not depend on
 * the thread count. */
/* The kernels' loops are simple and hot: let gcc vectorise them as at -O3
 * (the build's -O2 uses a very cheap cost model). Same arithmetic, same
 * results: no fast-math. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3")
#endif
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/act.h"
#include "core/ops_elem.h"
#include "core/parallel.h"

/* Grains: a call gets a second thread from 2 grains of work (measured on
 * the 2-core machine of docs/performance.md, "Threads that never slow a
 * kernel down"). One arithmetic operation per element is memory-bound and
 * a second core pays only from about a million elements; a library call
 * per element (exp, erf, ...) costs a few nanoseconds and pays from 16K
 * elements (about 60 us); the rest (selects, compares, strided elements) in
 * between. */
#define GRAIN_STREAM ((size_t)1 << 19)
#define GRAIN_MATH ((size_t)1 << 13)
#define GRAIN ((size_t)1 << 15)

static size_t grain2(lp_binop op) {
  switch (op) {
  case LP_ADD: case LP_SUB: case LP_MUL: case LP_DIV: case LP_RSUB: case LP_RDIV: return GRAIN_STREAM;
  case LP_POW: return GRAIN_MATH;
  case LP_MAX: case LP_MIN: case LP_EQ: case LP_NE: case LP_LT: case LP_LE: case LP_GT: case LP_GE:
    return GRAIN;
  }
  return GRAIN;
}

static size_t grain1(lp_unop op) {
  switch (op) {
  case LP_NEG: case LP_ABS: case LP_SQUARE: case LP_RELU: case LP_COPY: return GRAIN_STREAM;
  case LP_SQRT: case LP_RSQRT: case LP_EXP: case LP_LOG: case LP_LOG1P: case LP_EXPM1: case LP_TANH:
  case LP_SIGMOID: case LP_SIN: case LP_COS: case LP_ERF: return GRAIN_MATH;
  case LP_FLOOR: case LP_CEIL: case LP_ROUND: case LP_TRUNC: case LP_SIGN: case LP_RECIP:
  case LP_CLAMP: case LP_FILL: case LP_ISNAN: case LP_ISFINITE: return GRAIN;
  }
  return GRAIN;
}

/* ---- broadcasting ------------------------------------------------------- */

int lp_broadcast_shape(int *ndim, int64_t *shape, const lp_tensor *a, const lp_tensor *b) {
  int nd = a->ndim > b->ndim ? a->ndim : b->ndim;
  for (int d = 0; d < nd; d++) {
    int da = d - (nd - a->ndim), db = d - (nd - b->ndim);
    int64_t sa = da >= 0 ? a->shape[da] : 1, sb = db >= 0 ? b->shape[db] : 1;
    if (sa != sb && sa != 1 && sb != 1) return 0;
    shape[d] = sa == 1 ? sb : sa;
  }
  *ndim = nd;
  return 1;
}

/* Strides of t seen as a tensor of shape (nd, shape): 0 on broadcast dims. */
static void bcast_strides(int64_t *st, const lp_tensor *t, int nd, const int64_t *shape) {
  for (int d = 0; d < nd; d++) {
    int dt = d - (nd - t->ndim);
    st[d] = (dt >= 0 && t->shape[dt] == shape[d] && shape[d] != 1) ? t->stride[dt] : 0;
  }
}

typedef struct {
  int nd;
  int64_t shape[LP_MAXDIM];
  int64_t st[3][LP_MAXDIM];
} iter3;

/* Drops size-1 dims and merges neighbours contiguous for all operands. */
static void iter_coalesce(iter3 *it, int nops) {
  int k = 0;
  for (int d = 0; d < it->nd; d++) {
    if (it->shape[d] == 1) continue;
    if (k > 0) {
      int ok = 1;
      for (int o = 0; o < nops; o++)
        if (it->st[o][k - 1] != it->st[o][d] * it->shape[d]) ok = 0;
      if (ok) {
        it->shape[k - 1] *= it->shape[d];
        for (int o = 0; o < nops; o++) it->st[o][k - 1] = it->st[o][d];
        continue;
      }
    }
    it->shape[k] = it->shape[d];
    for (int o = 0; o < nops; o++) it->st[o][k] = it->st[o][d];
    k++;
  }
  if (k == 0) {
    it->shape[0] = 1;
    for (int o = 0; o < nops; o++) it->st[o][0] = 0;
    k = 1;
  }
  it->nd = k;
}

/* ---- binary ------------------------------------------------------------- */

static inline float apply2(lp_binop op, float x, float y) {
  switch (op) {
  case LP_ADD: return x + y;
  case LP_SUB: return x - y;
  case LP_MUL: return x * y;
  case LP_DIV: return x / y;
  case LP_POW: return powf(x, y);
  case LP_MAX: return (x > y || x != x) ? x : y;
  case LP_MIN: return (x < y || x != x) ? x : y;
  case LP_EQ: return x == y;
  case LP_NE: return x != y;
  case LP_LT: return x < y;
  case LP_LE: return x <= y;
  case LP_GT: return x > y;
  case LP_GE: return x >= y;
  case LP_RSUB: return y - x;
  case LP_RDIV: return y / x;
  }
  abort();   /* not an op: the caller's bug (every op is listed above) */
}

/* The inner loop; written per op so each one vectorises. */
#define INNER(EXPR)                                                        \
  do {                                                                     \
    if (so == 1 && sa == 1 && sb == 1)                                     \
      for (int64_t i = 0; i < n; i++) { float x = a[i], y = b[i]; o[i] = (EXPR); } \
    else if (so == 1 && sa == 1 && sb == 0) {                              \
      float y = b[0];                                                      \
      for (int64_t i = 0; i < n; i++) { float x = a[i]; o[i] = (EXPR); }   \
    } else if (so == 1 && sa == 0 && sb == 1) {                            \
      float x = a[0];                                                      \
      for (int64_t i = 0; i < n; i++) { float y = b[i]; o[i] = (EXPR); }   \
    } else                                                                 \
      for (int64_t i = 0; i < n; i++) { float x = a[i * sa], y = b[i * sb]; o[i * so] = (EXPR); } \
  } while (0)

static void inner2(lp_binop op, float *o, int64_t so, const float *a, int64_t sa,
                   const float *b, int64_t sb, int64_t n) {
  switch (op) {
  case LP_ADD: INNER(x + y); break;
  case LP_SUB: INNER(x - y); break;
  case LP_MUL: INNER(x * y); break;
  case LP_DIV: INNER(x / y); break;
  case LP_RSUB: INNER(y - x); break;
  case LP_RDIV: INNER(y / x); break;
  /* the rest go through apply2 one element at a time; every op is named
   * (no default), so -Wswitch makes a new op choose its loop here */
  case LP_POW: case LP_MAX: case LP_MIN:
  case LP_EQ: case LP_NE: case LP_LT: case LP_LE: case LP_GT: case LP_GE:
    for (int64_t i = 0; i < n; i++) o[i * so] = apply2(op, a[i * sa], b[i * sb]);
    break;
  }
}
#undef INNER

typedef struct {
  lp_binop op;
  float *o;
  const float *a, *b;
  int64_t so, sa, sb;
} flat2_ctx;

static void flat2_range(void *vc, size_t lo, size_t hi) {
  flat2_ctx *c = vc;
  inner2(c->op, c->o + (int64_t)lo * c->so, c->so, c->a + (int64_t)lo * c->sa, c->sa,
         c->b + (int64_t)lo * c->sb, c->sb, (int64_t)(hi - lo));
}

/* Runs the iterator: o = a op b over it's shape. */
static void run2(lp_binop op, iter3 *it, float *o, const float *a, const float *b) {
  iter_coalesce(it, 3);
  int nd = it->nd;
  int64_t n = it->shape[nd - 1];
  int64_t so = it->st[0][nd - 1], sa = it->st[1][nd - 1], sb = it->st[2][nd - 1];
  if (nd == 1) {
    flat2_ctx c = {op, o, a, b, so, sa, sb};
    /* An output with stride 0 is an accumulation: keep it on one thread. */
    if (so == 0) flat2_range(&c, 0, (size_t)n);
    else lp_parallel_for((size_t)n, sa == 1 && (sb == 1 || sb == 0) && so == 1 ? grain2(op) : GRAIN,
                         flat2_range, &c);
    return;
  }
  int64_t idx[LP_MAXDIM] = {0}, outer = 1;
  for (int d = 0; d < nd - 1; d++) outer *= it->shape[d];
  for (int64_t r = 0; r < outer; r++) {
    int64_t oo = 0, oa = 0, ob = 0;
    for (int d = 0; d < nd - 1; d++) {
      oo += idx[d] * it->st[0][d];
      oa += idx[d] * it->st[1][d];
      ob += idx[d] * it->st[2][d];
    }
    inner2(op, o + oo, so, a + oa, sa, b + ob, sb, n);
    for (int d = nd - 2; d >= 0; d--) {
      if (++idx[d] < it->shape[d]) break;
      idx[d] = 0;
    }
  }
}

void lp_binary(lp_binop op, lp_tensor *out, const lp_tensor *a, const lp_tensor *b) {
  iter3 it;
  it.nd = out->ndim;
  memcpy(it.shape, out->shape, sizeof it.shape);
  bcast_strides(it.st[0], out, it.nd, it.shape);
  bcast_strides(it.st[1], a, it.nd, it.shape);
  bcast_strides(it.st[2], b, it.nd, it.shape);
  if (lp_tensor_numel(out) == 0) return;
  run2(op, &it, lp_tensor_data(out), lp_tensor_data(a), lp_tensor_data(b));
}

void lp_binary_scalar(lp_binop op, lp_tensor *out, const lp_tensor *a, float s) {
  iter3 it;
  it.nd = out->ndim;
  memcpy(it.shape, out->shape, sizeof it.shape);
  bcast_strides(it.st[0], out, it.nd, it.shape);
  bcast_strides(it.st[1], a, it.nd, it.shape);
  memset(it.st[2], 0, sizeof it.st[2]);
  if (lp_tensor_numel(out) == 0) return;
  run2(op, &it, lp_tensor_data(out), lp_tensor_data(a), &s);
}

/* out (zeroed here) = a summed over the dims where out is broadcast. */
void lp_sum_to(lp_tensor *out, const lp_tensor *a) {
  int64_t n = lp_tensor_numel(out);
  float *o = lp_tensor_data(out);
  for (int64_t i = 0; i < n; i++) o[lp_tensor_offset_of(out, i)] = 0;
  iter3 it;
  it.nd = a->ndim;
  memcpy(it.shape, a->shape, sizeof it.shape);
  bcast_strides(it.st[0], out, it.nd, it.shape);
  bcast_strides(it.st[1], out, it.nd, it.shape);
  bcast_strides(it.st[2], a, it.nd, it.shape);
  if (lp_tensor_numel(a) == 0) return;
  run2(LP_ADD, &it, o, o, lp_tensor_data(a));
}

/* ---- unary -------------------------------------------------------------- */

static inline float apply1(lp_unop op, float x, float p, float q) {
  switch (op) {
  case LP_NEG: return -x;
  case LP_ABS: return fabsf(x);
  case LP_SQRT: return sqrtf(x);
  case LP_RSQRT: return 1.0f / sqrtf(x);
  case LP_EXP: return expf(x);
  case LP_LOG: return logf(x);
  case LP_LOG1P: return log1pf(x);
  case LP_EXPM1: return expm1f(x);
  case LP_TANH: return lp_act_row(LP_ACT_TANH)->ff(x, 0);        /* the registry's */
  case LP_SIGMOID: return lp_act_row(LP_ACT_SIGMOID)->ff(x, 0);
  case LP_SIN: return sinf(x);
  case LP_COS: return cosf(x);
  case LP_FLOOR: return floorf(x);
  case LP_CEIL: return ceilf(x);
  case LP_ROUND: return nearbyintf(x);
  case LP_TRUNC: return truncf(x);
  case LP_SIGN: return x > 0 ? 1.0f : x < 0 ? -1.0f : x;
  case LP_SQUARE: return x * x;
  case LP_RECIP: return 1.0f / x;
  case LP_RELU: return lp_act_row(LP_ACT_RELU)->ff(x, 0);
  case LP_ERF: return erff(x);
  case LP_CLAMP: return x < p ? p : x > q ? q : x;
  case LP_COPY: return x;
  case LP_FILL: return p;
  case LP_ISNAN: return x != x;
  case LP_ISFINITE: return isfinite(x) ? 1.0f : 0.0f;
  }
  abort();   /* not an op: the caller's bug (every op is listed above) */
}

typedef struct {
  lp_unop op;
  float p, q;
  float *o;
  const float *a;
  int64_t so, sa;
} flat1_ctx;

static void inner1(const flat1_ctx *c, float *o, const float *a, int64_t n) {
  int64_t so = c->so, sa = c->sa;
  if (so == 1 && sa == 1) {
    switch (c->op) {
    case LP_NEG: for (int64_t i = 0; i < n; i++) o[i] = -a[i]; return;
    case LP_ABS: for (int64_t i = 0; i < n; i++) o[i] = fabsf(a[i]); return;
    case LP_SQUARE: for (int64_t i = 0; i < n; i++) o[i] = a[i] * a[i]; return;
    case LP_SQRT: for (int64_t i = 0; i < n; i++) o[i] = sqrtf(a[i]); return;
    case LP_RELU: lp_act_row(LP_ACT_RELU)->forward(o, a, (size_t)n, 0); return;
    case LP_COPY: memmove(o, a, (size_t)n * sizeof *o); return;
    /* the rest take the strided loop below; every op is named (no
     * default), so -Wswitch makes a new op choose its loop here */
    case LP_RSQRT: case LP_EXP: case LP_LOG: case LP_LOG1P: case LP_EXPM1:
    case LP_TANH: case LP_SIGMOID: case LP_SIN: case LP_COS: case LP_FLOOR:
    case LP_CEIL: case LP_ROUND: case LP_TRUNC: case LP_SIGN: case LP_RECIP:
    case LP_ERF: case LP_CLAMP: case LP_FILL: case LP_ISNAN: case LP_ISFINITE:
      break;
    }
  }
  for (int64_t i = 0; i < n; i++) o[i * so] = apply1(c->op, a[i * sa], c->p, c->q);
}

static void flat1_range(void *vc, size_t lo, size_t hi) {
  flat1_ctx *c = vc;
  inner1(c, c->o + (int64_t)lo * c->so, c->a + (int64_t)lo * c->sa, (int64_t)(hi - lo));
}

void lp_unary(lp_unop op, lp_tensor *out, const lp_tensor *a, float p, float q) {
  iter3 it;
  if (lp_tensor_numel(out) == 0) return;
  it.nd = out->ndim;
  memcpy(it.shape, out->shape, sizeof it.shape);
  bcast_strides(it.st[0], out, it.nd, it.shape);
  bcast_strides(it.st[1], a, it.nd, it.shape);
  iter_coalesce(&it, 2);
  int nd = it.nd;
  float *o = lp_tensor_data(out);
  const float *x = lp_tensor_data(a);
  flat1_ctx c = {op, p, q, o, x, it.st[0][nd - 1], it.st[1][nd - 1]};
  int64_t n = it.shape[nd - 1];
  if (nd == 1) {
    lp_parallel_for((size_t)n, c.so == 1 && c.sa == 1 ? grain1(op) : GRAIN, flat1_range, &c);
    return;
  }
  int64_t idx[LP_MAXDIM] = {0}, outer = 1;
  for (int d = 0; d < nd - 1; d++) outer *= it.shape[d];
  for (int64_t r = 0; r < outer; r++) {
    int64_t oo = 0, oa = 0;
    for (int d = 0; d < nd - 1; d++) {
      oo += idx[d] * it.st[0][d];
      oa += idx[d] * it.st[1][d];
    }
    inner1(&c, o + oo, x + oa, n);
    for (int d = nd - 2; d >= 0; d--) {
      if (++idx[d] < it.shape[d]) break;
      idx[d] = 0;
    }
  }
}

/* ---- fused in-place updates for optimizers ------------------------------ */

/* t += alpha * u (same numel, both contiguous) */
void lp_axpy(float *t, const float *u, float alpha, int64_t n) {
  for (int64_t i = 0; i < n; i++) t[i] += alpha * u[i];
}

/* t += v * a * b and t += v * a / b */
void lp_addcmul(float *t, const float *a, const float *b, float v, int64_t n) {
  for (int64_t i = 0; i < n; i++) t[i] += v * a[i] * b[i];
}
void lp_addcdiv(float *t, const float *a, const float *b, float v, int64_t n) {
  for (int64_t i = 0; i < n; i++) t[i] += v * a[i] / b[i];
}

/* ---- reductions --------------------------------------------------------- */

/* Whole-tensor reductions over a contiguous buffer. Sums accumulate in
 * double in a fixed order (deterministic, and exact enough for tests). */
double lp_reduce_all(lp_redop op, const float *a, int64_t n, int64_t *arg) {
  double acc;
  int64_t best = 0;
  switch (op) {
  case LP_RSUM:
  case LP_RMEAN:
    acc = 0;
    for (int64_t i = 0; i < n; i++) acc += a[i];
    return op == LP_RMEAN ? (n ? acc / (double)n : NAN) : acc;
  case LP_RMAX:
  case LP_RARGMAX:
    if (n == 0) return NAN;
    for (int64_t i = 1; i < n; i++)
      if (a[i] > a[best] || (a[i] != a[i] && a[best] == a[best])) best = i;
    if (arg) *arg = best;
    return a[best];
  case LP_RMIN:
  case LP_RARGMIN:
    if (n == 0) return NAN;
    for (int64_t i = 1; i < n; i++)
      if (a[i] < a[best] || (a[i] != a[i] && a[best] == a[best])) best = i;
    if (arg) *arg = best;
    return a[best];
  }
  abort();   /* not an op: the caller's bug */
}

/* What a reduction keeps: 0 the sum, 1 the largest, -1 the smallest.
 * Every op is named (no default), so -Wswitch makes a new one choose. */
static int reduce_kind(lp_redop op) {
  switch (op) {
  case LP_RSUM: case LP_RMEAN: return 0;
  case LP_RMAX: case LP_RARGMAX: return 1;
  case LP_RMIN: case LP_RARGMIN: return -1;
  }
  abort();   /* not an op: the caller's bug */
}

/* out (outer, inner) = reduce of a (outer, d, inner) over the middle dim;
 * arg ops write the 0-based index as a float. */
void lp_reduce_dim(lp_redop op, float *out, const float *a, int64_t outer, int64_t d, int64_t inner) {
  const int kind = reduce_kind(op);
  for (int64_t r = 0; r < outer; r++) {
    const float *ar = a + r * d * inner;
    float *orow = out + r * inner;
    if (kind == 0) {
      for (int64_t j = 0; j < inner; j++) orow[j] = 0;
      if (inner == 1) {
        double acc = 0;
        for (int64_t k = 0; k < d; k++) acc += ar[k];
        orow[0] = (float)acc;
      } else {
        for (int64_t k = 0; k < d; k++)
          for (int64_t j = 0; j < inner; j++) orow[j] += ar[k * inner + j];
      }
      if (op == LP_RMEAN)
        for (int64_t j = 0; j < inner; j++) orow[j] = d ? orow[j] / (float)d : NAN;
      continue;
    }
    for (int64_t j = 0; j < inner; j++) {
      int64_t best = 0;
      float bv = d ? ar[j] : NAN;
      for (int64_t k = 1; k < d; k++) {
        float v = ar[k * inner + j];
        int better = kind > 0 ? v > bv : v < bv;
        if (better || (v != v && bv == bv)) { bv = v; best = k; }
      }
      orow[j] = (op == LP_RARGMAX || op == LP_RARGMIN) ? (float)best : bv;
    }
  }
}

int lp_all_finite(const float *a, int64_t n) {
  uint32_t bad = 0;
  for (int64_t i = 0; i < n; i++) {
    uint32_t u;
    memcpy(&u, a + i, sizeof u);
    bad |= (u & 0x7f800000u) == 0x7f800000u;   /* exponent all ones: inf or NaN */
  }
  return !bad;
}
