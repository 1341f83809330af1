/* bind/tensor.c — the lpact.Tensor userdata: float32 N-d tensors for Lua.
 *
 * A Tensor userdata holds an lp_tensor header inline; its storage is
 * reference counted in the core, so views (reshape, narrow, transpose)
 * share it and __gc / __close / t:free() release one reference each.
 * Every function checks all its arguments before it allocates, and every
 * allocation lands in a userdata already on the stack: a Lua error can
 * never leak or double-free C memory. A freed tensor raises on use. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bind/bind.h"
#include "core/ops_elem.h"
#include "core/ops_nn.h"
#include "core/parallel.h"
#include "core/rng.h"

/* ---- the userdata ------------------------------------------------------- */

/* Pushes an empty (storage-less) Tensor userdata: safe to collect. */
static lp_tensor *push_empty(lua_State *L) {
  lp_tensor *t = lua_newuserdatauv(L, sizeof *t, 0);
  memset(t, 0, sizeof *t);
  luaL_setmetatable(L, LP_TENSOR_MT);
  return t;
}

/* Lets the collector know about storage it cannot see: a step worth the
 * bytes just allocated, so garbage tensors are reclaimed at the pace they
 * are made (the storage cache then hands their buffers out again). */
static void gc_pressure(lua_State *L, int64_t n) {
  int kb = (int)((n * 4) >> 10);
  if (kb > 0 && lua_gc(L, LUA_GCISRUNNING)) lua_gc(L, LUA_GCSTEP, kb);
}

/* The most elements one tensor may hold: as many floats as the machine
 * has memory. A bigger shape can only come from a wrong number; refusing
 * it here keeps absurd requests away from the allocator. */
static int64_t max_numel(void) {
  static int64_t max = 0;
  if (max == 0) {
    long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
    max = pages > 0 && size > 0 ? (int64_t)pages * size / 4 : (int64_t)1 << 32;
    if (max > (int64_t)1 << 38) max = (int64_t)1 << 38;
  }
  return max;
}

static void check_shape(lua_State *L, int ndim, const int64_t *shape) {
  int64_t n = 1, max = max_numel();
  if (ndim > LP_MAXDIM) luaL_error(L, "too many dimensions (%d > %d)", ndim, LP_MAXDIM);
  for (int d = 0; d < ndim; d++) {
    if (shape[d] < 0) luaL_error(L, "negative size %d in dimension %d", (int)shape[d], d + 1);
    if (shape[d] > 0 && n > max / shape[d])
      luaL_error(L, "tensor too large (more elements than fit in this machine's memory)");
    n *= shape[d];
  }
}

lp_tensor *lp_push_tensor(lua_State *L, int ndim, const int64_t *shape, int zero) {
  check_shape(L, ndim, shape);
  gc_pressure(L, 0);
  lp_tensor *t = push_empty(L);
  if (lp_tensor_init(t, ndim, shape, zero) != LP_OK) luaL_error(L, "not enough memory");
  gc_pressure(L, lp_tensor_numel(t));
  return t;
}

lp_tensor *lp_push_tensor_like(lua_State *L, const lp_tensor *t, int zero) {
  int64_t shape[LP_MAXDIM];
  int nd = t->ndim;
  memcpy(shape, t->shape, sizeof shape);   /* t may move if it is collected */
  return lp_push_tensor(L, nd, shape, zero);
}

lp_tensor *lp_check_tensor(lua_State *L, int i) {
  lp_tensor *t = luaL_checkudata(L, i, LP_TENSOR_MT);
  if (t->st == NULL) luaL_argerror(L, i, "tensor has been freed");
  return t;
}

lp_tensor *lp_check_contiguous(lua_State *L, int i) {
  lp_tensor *t = lp_check_tensor(L, i);
  if (!lp_tensor_is_contiguous(t)) luaL_argerror(L, i, "contiguous tensor expected");
  return t;
}

static lp_tensor *test_tensor(lua_State *L, int i) {
  lp_tensor *t = luaL_testudata(L, i, LP_TENSOR_MT);
  if (t != NULL && t->st == NULL) luaL_argerror(L, i, "tensor has been freed");
  return t;
}

static const char *shape_s(lua_State *L, const lp_tensor *t) {
  char buf[256];
  lp_shape_str(buf, sizeof buf, t->ndim, t->shape);
  return lua_pushstring(L, buf);
}

/* Reads a shape from argument i: a table {d1, d2, ...} or integers i..top. */
static int get_shape(lua_State *L, int i, int64_t *shape) {
  int nd;
  if (lua_istable(L, i)) {
    lua_Integer len = luaL_len(L, i);   /* a __len may answer anything */
    if (len < 0) luaL_argerror(L, i, "shape table of negative length");
    if (len > LP_MAXDIM) luaL_argerror(L, i, "too many dimensions");
    nd = (int)len;
    for (int d = 0; d < nd; d++) {
      lua_geti(L, i, d + 1);
      int isint;
      lua_Integer v = lua_tointegerx(L, -1, &isint);
      if (!isint || v < 0) luaL_argerror(L, i, "shape must hold non-negative integers");
      shape[d] = v;
      lua_pop(L, 1);
    }
  } else {
    int top = lua_gettop(L);
    nd = top - i + 1;
    if (nd < 0) nd = 0;
    if (nd > LP_MAXDIM) luaL_argerror(L, i, "too many dimensions");
    for (int d = 0; d < nd; d++) {
      lua_Integer v = luaL_checkinteger(L, i + d);
      if (v < 0) luaL_argerror(L, i + d, "size must be non-negative");
      shape[d] = v;
    }
  }
  check_shape(L, nd, shape);
  return nd;
}

/* ---- constructors ------------------------------------------------------- */

/* Infers the shape of nested tables by following first elements. */
static int nested_shape(lua_State *L, int i, int64_t *shape) {
  int nd = 0;
  lua_pushvalue(L, i);
  while (lua_istable(L, -1)) {
    if (nd == LP_MAXDIM) luaL_argerror(L, i, "too many dimensions");
    shape[nd++] = (int64_t)luaL_len(L, -1);
    if (shape[nd - 1] == 0) break;
    lua_geti(L, -1, 1);
    lua_remove(L, -2);
  }
  lua_pop(L, 1);
  return nd;
}

/* Fills dst from nested table at stack index idx, depth d; checks shape. */
static void fill_nested(lua_State *L, int argi, int idx, int d, int nd, const int64_t *shape,
                        float **dst) {
  if (d == nd) {
    int isnum;
    lua_Number v = lua_tonumberx(L, idx, &isnum);
    if (!isnum) luaL_argerror(L, argi, lua_pushfstring(L, "number expected in tensor data, got %s",
                                                        luaL_typename(L, idx)));
    *(*dst)++ = (float)v;
    return;
  }
  if (!lua_istable(L, idx) || (int64_t)luaL_len(L, idx) != shape[d])
    luaL_argerror(L, argi, "ragged nested table (rows of different lengths)");
  luaL_checkstack(L, 4, NULL);
  for (int64_t k = 1; k <= shape[d]; k++) {
    lua_geti(L, idx, k);
    fill_nested(L, argi, lua_gettop(L), d + 1, nd, shape, dst);
    lua_pop(L, 1);
  }
}

/* lpact.tensor(data [, shape]): from nested tables (or a number: 0-dim);
 * with shape, data is a flat table (or nested) of that many numbers. */
static int l_tensor(lua_State *L) {
  int64_t shape[LP_MAXDIM];
  if (lua_isnumber(L, 1)) {
    lua_Number v = lua_tonumber(L, 1);
    lp_tensor *t = lp_push_tensor(L, 0, shape, 0);
    lp_tensor_data(t)[0] = (float)v;
    return 1;
  }
  if (test_tensor(L, 1)) {
    lp_tensor *src = lp_check_tensor(L, 1);
    lp_tensor *t = lp_push_tensor_like(L, src, 0);
    lp_tensor_copy(t, lp_check_tensor(L, 1));
    return 1;
  }
  luaL_checktype(L, 1, LUA_TTABLE);
  int nd = nested_shape(L, 1, shape);
  if (!lua_isnoneornil(L, 2)) {
    int64_t want[LP_MAXDIM];
    int wnd = get_shape(L, 2, want);
    int64_t n = 1, have = 1;
    for (int d = 0; d < wnd; d++) n *= want[d];
    for (int d = 0; d < nd; d++) have *= shape[d];
    if (n != have)
      return luaL_error(L, "tensor: data has %d numbers but shape needs %d", (int)have, (int)n);
    lp_tensor *t = lp_push_tensor(L, nd, shape, 0);
    float *p = lp_tensor_data(t);
    fill_nested(L, 1, 1, 0, nd, shape, &p);
    t->ndim = wnd;
    memcpy(t->shape, want, sizeof want);
    lp_tensor_set_contiguous_strides(t);
    return 1;
  }
  lp_tensor *t = lp_push_tensor(L, nd, shape, 0);
  float *p = lp_tensor_data(t);
  fill_nested(L, 1, 1, 0, nd, shape, &p);
  return 1;
}

static int fill_new(lua_State *L, float v, int shape_arg, int top) {
  int64_t shape[LP_MAXDIM];
  lua_settop(L, top);
  int nd = get_shape(L, shape_arg, shape);
  lp_tensor *t = lp_push_tensor(L, nd, shape, v == 0.0f && !signbit(v));
  if (v != 0.0f || signbit(v)) lp_unary(LP_FILL, t, t, v, 0);
  return 1;
}

static int l_zeros(lua_State *L) { return fill_new(L, 0.0f, 1, lua_gettop(L)); }
static int l_ones(lua_State *L) { return fill_new(L, 1.0f, 1, lua_gettop(L)); }
static int l_full(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  float v = (float)luaL_checknumber(L, 2);
  return fill_new(L, v, 1, 1);
}

static int l_arange(lua_State *L) {
  lua_Integer n = luaL_checkinteger(L, 1);
  luaL_argcheck(L, n >= 0, 1, "non-negative count expected");
  /* one count only: arange(0, 1e15) would otherwise be a quiet empty tensor */
  luaL_argcheck(L, lua_isnone(L, 2), 2, "arange takes one count n (values 0..n-1)");
  /* float32 holds every integer only up to 2^24: above, values would repeat */
  luaL_argcheck(L, n <= (1 << 24), 1, "count above 2^24 (float32 cannot hold every value 0..n-1)");
  int64_t shape[1] = {n};
  lp_tensor *t = lp_push_tensor(L, 1, shape, 0);
  float *p = lp_tensor_data(t);
  for (lua_Integer i = 0; i < n; i++) p[i] = (float)i;
  return 1;
}

/* lpact.rand(shape, seed [, lo, hi]): uniform in [lo, hi) (default [0, 1)),
 * element i from lp_rand64(lp_rng_key(seed, 1), i). */
static int l_rand(lua_State *L) {
  int64_t shape[LP_MAXDIM];
  luaL_checktype(L, 1, LUA_TTABLE);
  uint64_t seed = (uint64_t)luaL_optinteger(L, 2, 0);
  double lo = luaL_optnumber(L, 3, 0.0), hi = luaL_optnumber(L, 4, 1.0);
  int nd = get_shape(L, 1, shape);
  lp_tensor *t = lp_push_tensor(L, nd, shape, 0);
  float *p = lp_tensor_data(t);
  int64_t n = lp_tensor_numel(t);
  uint64_t key = lp_rng_key(seed, 1);
  for (int64_t i = 0; i < n; i++) {
    float v = (float)(lo + (hi - lo) * lp_rand_unit(key, (uint64_t)i));
    p[i] = v < (float)hi || hi <= lo ? v : nextafterf((float)hi, -INFINITY);
  }
  return 1;
}

/* lpact.randn(shape, seed [, mean, std]): normal by Box-Muller from the
 * counters 2i and 2i + 1 of lp_rng_key(seed, 2). */
static int l_randn(lua_State *L) {
  int64_t shape[LP_MAXDIM];
  luaL_checktype(L, 1, LUA_TTABLE);
  uint64_t seed = (uint64_t)luaL_optinteger(L, 2, 0);
  double mean = luaL_optnumber(L, 3, 0.0), sd = luaL_optnumber(L, 4, 1.0);
  int nd = get_shape(L, 1, shape);
  lp_tensor *t = lp_push_tensor(L, nd, shape, 0);
  float *p = lp_tensor_data(t);
  int64_t n = lp_tensor_numel(t);
  uint64_t key = lp_rng_key(seed, 2);
  for (int64_t i = 0; i < n; i++) {
    double u1 = 1.0 - lp_rand_unit(key, 2 * (uint64_t)i);   /* (0, 1] */
    double u2 = lp_rand_unit(key, 2 * (uint64_t)i + 1);
    p[i] = (float)(mean + sd * sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
  }
  return 1;
}

static int l_is_tensor(lua_State *L) {
  lp_tensor *t = luaL_testudata(L, 1, LP_TENSOR_MT);
  lua_pushboolean(L, t != NULL);
  return 1;
}

/* lpact.tensor_memory() -> live, peak, cached bytes of tensor storage. */
static int l_memory(lua_State *L) {
  size_t live, peak, cached;
  if (lua_toboolean(L, 1)) lp_storage_trim();
  lp_storage_stats(&live, &peak, &cached);
  lua_pushinteger(L, (lua_Integer)live);
  lua_pushinteger(L, (lua_Integer)peak);
  lua_pushinteger(L, (lua_Integer)cached);
  return 3;
}

/* lpact.threads([n]) -> the thread count in force (sets it first when n
 * is given; 0 means one per core). Kernels give the same bits whatever the
 * count, except where docs/tensors.md says otherwise. */
static int l_threads(lua_State *L) {
  if (!lua_isnoneornil(L, 1)) {
    lua_Integer n = luaL_checkinteger(L, 1);
    luaL_argcheck(L, n >= 0 && n <= 64, 1, "thread count must be 0..64");
    lp_set_threads((int)n);
  }
  lua_pushinteger(L, lp_threads());
  return 1;
}

/* ---- shape and elements ------------------------------------------------- */

static int m_shape(lua_State *L) {
  lp_tensor *t = lp_check_tensor(L, 1);
  lua_createtable(L, t->ndim, 0);
  for (int d = 0; d < t->ndim; d++) {
    lua_pushinteger(L, t->shape[d]);
    lua_rawseti(L, -2, d + 1);
  }
  return 1;
}

static int m_dim(lua_State *L) {
  lua_pushinteger(L, lp_check_tensor(L, 1)->ndim);
  return 1;
}

static int m_numel(lua_State *L) {
  lua_pushinteger(L, lp_tensor_numel(lp_check_tensor(L, 1)));
  return 1;
}

static int m_len(lua_State *L) {
  lp_tensor *t = lp_check_tensor(L, 1);
  lua_pushinteger(L, t->ndim ? t->shape[0] : 1);
  return 1;
}

static int m_size(lua_State *L) {
  lp_tensor *t = lp_check_tensor(L, 1);
  lua_Integer d = luaL_checkinteger(L, 2);
  if (d < 0) d += t->ndim + 1;
  luaL_argcheck(L, d >= 1 && d <= t->ndim, 2, "dimension out of range");
  lua_pushinteger(L, t->shape[d - 1]);
  return 1;
}

static int m_is_contiguous(lua_State *L) {
  lua_pushboolean(L, lp_tensor_is_contiguous(lp_check_tensor(L, 1)));
  return 1;
}

/* Pointer to element (i1, ..., in) given at stack 2..; checks bounds. */
static float *elem_at(lua_State *L, lp_tensor *t, int nidx, const char *fn) {
  if (nidx != t->ndim)
    luaL_error(L, "%s: %d indices given for a %d-D tensor", fn, nidx, t->ndim);
  int64_t off = 0;
  for (int d = 0; d < t->ndim; d++) {
    lua_Integer i = luaL_checkinteger(L, d + 2);
    if (i < 1 || i > t->shape[d])
      luaL_error(L, "%s: index %d out of range 1..%d in dimension %d", fn, (int)i,
                 (int)t->shape[d], d + 1);
    off += (i - 1) * t->stride[d];
  }
  return lp_tensor_data(t) + off;
}

static int m_get(lua_State *L) {
  lp_tensor *t = lp_check_tensor(L, 1);
  lua_pushnumber(L, *elem_at(L, t, lua_gettop(L) - 1, "get"));
  return 1;
}

static int m_set(lua_State *L) {
  lp_tensor *t = lp_check_tensor(L, 1);
  int top = lua_gettop(L);
  float v = (float)luaL_checknumber(L, top);
  *elem_at(L, t, top - 2, "set") = v;
  lua_settop(L, 1);
  return 1;
}

static void push_nested(lua_State *L, const lp_tensor *t, int d, const float *p) {
  if (d == t->ndim) {
    lua_pushnumber(L, *p);
    return;
  }
  luaL_checkstack(L, 3, NULL);
  lua_createtable(L, (int)t->shape[d], 0);
  for (int64_t i = 0; i < t->shape[d]; i++) {
    push_nested(L, t, d + 1, p + i * t->stride[d]);
    lua_rawseti(L, -2, i + 1);
  }
}

/* t:totable() -> nested tables (a number for a 0-D tensor). */
static int m_totable(lua_State *L) {
  lp_tensor *t = lp_check_tensor(L, 1);
  push_nested(L, t, 0, lp_tensor_data(t));
  return 1;
}

/* t:item() -> the single value of a one-element tensor. */
static int m_item(lua_State *L) {
  lp_tensor *t = lp_check_tensor(L, 1);
  if (lp_tensor_numel(t) != 1)
    return luaL_error(L, "item: tensor of shape %s has %d elements, not 1", shape_s(L, t),
                      (int)lp_tensor_numel(t));
  lua_pushnumber(L, lp_tensor_data(t)[0]);
  return 1;
}

/* t:hash() -> a 64-bit FNV-1a hash of the float32 bit patterns in logical
 * order (with the shape): equal hashes mean bit-identical tensors. */
static int m_hash(lua_State *L) {
  lp_tensor *t = lp_check_tensor(L, 1);
  uint64_t h = UINT64_C(0xcbf29ce484222325);
  int64_t n = lp_tensor_numel(t);
  const float *x = lp_tensor_data(t);
  for (int d = 0; d < t->ndim; d++) h = (h ^ (uint64_t)t->shape[d]) * UINT64_C(0x100000001b3);
  int contig = lp_tensor_is_contiguous(t);
  for (int64_t i = 0; i < n; i++) {
    uint32_t b;
    memcpy(&b, x + (contig ? i : lp_tensor_offset_of(t, i)), 4);
    h = (h ^ b) * UINT64_C(0x100000001b3);
  }
  lua_pushinteger(L, (lua_Integer)h);
  return 1;
}

/* ---- copies and views --------------------------------------------------- */

static int m_clone(lua_State *L) {
  lp_tensor *t = lp_check_tensor(L, 1);
  lp_tensor *c = lp_push_tensor_like(L, t, 0);
  lp_tensor_copy(c, lp_check_tensor(L, 1));
  return 1;
}

static int m_contiguous(lua_State *L) {
  lp_tensor *t = lp_check_tensor(L, 1);
  if (lp_tensor_is_contiguous(t)) {
    lua_settop(L, 1);
    return 1;
  }
  return m_clone(L);
}

/* A new header viewing t's storage (retains it). */
static lp_tensor *push_view(lua_State *L, int i) {
  lp_tensor *v = push_empty(L);
  lp_tensor_view(v, lp_check_tensor(L, i));
  return v;
}

static int reshape_impl(lua_State *L, int must_view, const char *fn) {
  int64_t shape[LP_MAXDIM];
  lp_tensor *t = lp_check_tensor(L, 1);
  int nd = get_shape(L, 2, shape), infer = -1;
  int64_t n = lp_tensor_numel(t), have = 1;
  for (int d = 0; d < nd; d++) {
    if (lua_istable(L, 2)) {
      lua_geti(L, 2, d + 1);
      if (lua_tointeger(L, -1) == -1) infer = d;
      lua_pop(L, 1);
    }
    if (d != infer) have *= shape[d];
  }
  (void)infer;
  if (have != n) {
    char want[256];
    lp_shape_str(want, sizeof want, nd, shape);
    return luaL_error(L, "%s: cannot reshape tensor of shape %s (%d elements) to %s", fn,
                      shape_s(L, t), (int)n, want);
  }
  if (!lp_tensor_is_contiguous(t)) {
    if (must_view)
      return luaL_error(L, "%s: tensor of shape %s is not contiguous (use reshape or contiguous)",
                        fn, shape_s(L, t));
    lp_tensor *c = lp_push_tensor(L, nd, shape, 0);
    lp_tensor_copy(c, lp_check_tensor(L, 1));
    return 1;
  }
  lp_tensor *v = push_view(L, 1);
  v->ndim = nd;
  memcpy(v->shape, shape, sizeof shape);
  lp_tensor_set_contiguous_strides(v);
  return 1;
}

/* get_shape refuses -1; reshape accepts one -1 (inferred) in a table. */
static int shape_with_infer(lua_State *L, int fnarg) {
  if (!lua_istable(L, 2)) return 0;
  lp_tensor *t = lp_check_tensor(L, 1);
  lua_Integer len = luaL_len(L, 2);
  if (len < 1 || len > LP_MAXDIM) return 0;   /* get_shape reports it */
  int nd = (int)len, infer = 0;
  int64_t rest = 1;
  for (int d = 1; d <= nd; d++) {
    lua_geti(L, 2, d);
    lua_Integer v = lua_tointeger(L, -1);
    lua_pop(L, 1);
    if (v == -1) infer = d;
    else rest *= v;
  }
  if (!infer) return 0;
  if (rest <= 0 || lp_tensor_numel(t) % rest != 0)
    return luaL_error(L, "%s: cannot infer -1 for %d elements", fnarg ? "view" : "reshape",
                      (int)lp_tensor_numel(t));
  lua_createtable(L, nd, 0);
  for (int d = 1; d <= nd; d++) {
    lua_geti(L, 2, d);
    if (d == infer) {
      lua_pop(L, 1);
      lua_pushinteger(L, lp_tensor_numel(t) / rest);
    }
    lua_rawseti(L, -2, d);
  }
  lua_replace(L, 2);
  return 0;
}

static int m_reshape(lua_State *L) {
  lua_settop(L, lua_istable(L, 2) ? 2 : lua_gettop(L));
  shape_with_infer(L, 0);
  return reshape_impl(L, 0, "reshape");
}

static int m_view(lua_State *L) {
  lua_settop(L, lua_istable(L, 2) ? 2 : lua_gettop(L));
  shape_with_infer(L, 1);
  return reshape_impl(L, 1, "view");
}

/* t:narrow(dim, start, len): a view of len slices from start (1-based). */
static int m_narrow(lua_State *L) {
  lp_tensor *t = lp_check_tensor(L, 1);
  lua_Integer d = luaL_checkinteger(L, 2), s = luaL_checkinteger(L, 3), n = luaL_checkinteger(L, 4);
  luaL_argcheck(L, d >= 1 && d <= t->ndim, 2, "dimension out of range");
  if (s < 1 || n < 0 || s - 1 > t->shape[d - 1] || n > t->shape[d - 1] - (s - 1))
    return luaL_error(L, "narrow: slice %I..%I out of range 1..%I in dimension %I", s,
                      (lua_Integer)((lua_Unsigned)s + (lua_Unsigned)n - 1u), (lua_Integer)t->shape[d - 1], d);
  lp_tensor *v = push_view(L, 1);
  v->offset += (size_t)((s - 1) * v->stride[d - 1]);
  v->shape[d - 1] = n;
  return 1;
}

/* t:select(dim, i): a view with dimension dim removed, at index i. */
static int m_select(lua_State *L) {
  lp_tensor *t = lp_check_tensor(L, 1);
  lua_Integer d = luaL_checkinteger(L, 2), i = luaL_checkinteger(L, 3);
  luaL_argcheck(L, d >= 1 && d <= t->ndim, 2, "dimension out of range");
  luaL_argcheck(L, i >= 1 && i <= t->shape[d - 1], 3, "index out of range");
  lp_tensor *v = push_view(L, 1);
  v->offset += (size_t)((i - 1) * v->stride[d - 1]);
  for (int k = (int)d - 1; k < v->ndim - 1; k++) {
    v->shape[k] = v->shape[k + 1];
    v->stride[k] = v->stride[k + 1];
  }
  v->ndim--;
  return 1;
}

/* t:transpose(d1, d2) (default 1, 2 for t:t()): a view. */
static int m_transpose(lua_State *L) {
  lp_tensor *t = lp_check_tensor(L, 1);
  lua_Integer a = luaL_optinteger(L, 2, 1), b = luaL_optinteger(L, 3, 2);
  if (lua_isnone(L, 2) && t->ndim != 2)
    return luaL_error(L, "t: expects a 2-D tensor, got shape %s", shape_s(L, t));
  luaL_argcheck(L, a >= 1 && a <= t->ndim, 2, "dimension out of range");
  luaL_argcheck(L, b >= 1 && b <= t->ndim, 3, "dimension out of range");
  lp_tensor *v = push_view(L, 1);
  int64_t s = v->shape[a - 1], st = v->stride[a - 1];
  v->shape[a - 1] = v->shape[b - 1];
  v->stride[a - 1] = v->stride[b - 1];
  v->shape[b - 1] = s;
  v->stride[b - 1] = st;
  return 1;
}

/* t:permute{...} or t:permute(d1, d2, ...): a view with dims reordered. */
static int m_permute(lua_State *L) {
  int64_t perm[LP_MAXDIM];
  lp_tensor *t = lp_check_tensor(L, 1);
  int nd = get_shape(L, 2, perm), seen[LP_MAXDIM] = {0};
  if (nd != t->ndim) return luaL_error(L, "permute: %d dims given for a %d-D tensor", nd, t->ndim);
  for (int d = 0; d < nd; d++) {
    if (perm[d] < 1 || perm[d] > nd || seen[perm[d] - 1]++)
      return luaL_error(L, "permute: not a permutation of 1..%d", nd);
  }
  lp_tensor *v = push_view(L, 1);
  lp_tensor *src = lp_check_tensor(L, 1);
  for (int d = 0; d < nd; d++) {
    v->shape[d] = src->shape[perm[d] - 1];
    v->stride[d] = src->stride[perm[d] - 1];
  }
  return 1;
}

/* t:unsqueeze(d) / t:squeeze([d]): views adding / removing size-1 dims. */
static int m_unsqueeze(lua_State *L) {
  lp_tensor *t = lp_check_tensor(L, 1);
  lua_Integer d = luaL_checkinteger(L, 2);
  luaL_argcheck(L, d >= 1 && d <= t->ndim + 1 && t->ndim < LP_MAXDIM, 2, "dimension out of range");
  lp_tensor *v = push_view(L, 1);
  for (int k = v->ndim; k > d - 1; k--) {
    v->shape[k] = v->shape[k - 1];
    v->stride[k] = v->stride[k - 1];
  }
  v->shape[d - 1] = 1;
  v->stride[d - 1] = d <= t->ndim ? t->stride[d - 1] * t->shape[d - 1] : 1;
  v->ndim++;
  return 1;
}

static int m_squeeze(lua_State *L) {
  lp_tensor *t = lp_check_tensor(L, 1);
  lua_Integer only = luaL_optinteger(L, 2, 0);
  luaL_argcheck(L, only >= 0 && only <= t->ndim, 2, "dimension out of range");
  lp_tensor *v = push_view(L, 1);
  int k = 0;
  for (int d = 0; d < t->ndim; d++) {
    if (t->shape[d] == 1 && (only == 0 || only == d + 1)) continue;
    v->shape[k] = t->shape[d];
    v->stride[k] = t->stride[d];
    k++;
  }
  v->ndim = k;
  return 1;
}

/* t:free(): releases the storage now (the tensor becomes unusable). */
static int m_free(lua_State *L) {
  lp_tensor *t = luaL_checkudata(L, 1, LP_TENSOR_MT);
  lp_tensor_free(t);
  return 0;
}

static int m_gc(lua_State *L) {
  lp_tensor *t = luaL_checkudata(L, 1, LP_TENSOR_MT);
  lp_tensor_free(t);
  return 0;
}

/* t:shares(u): true when both view the same storage. */
static int m_shares(lua_State *L) {
  lp_tensor *a = lp_check_tensor(L, 1), *b = lp_check_tensor(L, 2);
  lua_pushboolean(L, a->st == b->st);
  return 1;
}

/* ---- filling and copying in place --------------------------------------- */

static int m_fill(lua_State *L) {
  lp_tensor *t = lp_check_tensor(L, 1);
  float v = (float)luaL_checknumber(L, 2);
  lp_unary(LP_FILL, t, t, v, 0);
  lua_settop(L, 1);
  return 1;
}

static int m_zero(lua_State *L) {
  lp_tensor *t = lp_check_tensor(L, 1);
  if (lp_tensor_is_contiguous(t)) memset(lp_tensor_data(t), 0, (size_t)lp_tensor_numel(t) * 4);
  else lp_unary(LP_FILL, t, t, 0, 0);
  lua_settop(L, 1);
  return 1;
}

/* Argument i, read by an in-place write into the tensor at argument 1:
 * itself, or, when the two share elements without being the very same
 * view (a:copy(a:t()), a:add_(a:narrow(...))), a contiguous copy that
 * replaces it on the stack: reading it while the destination is written
 * would read values already overwritten. Returns the (new) argument i. */
static lp_tensor *read_source(lua_State *L, int i) {
  lp_tensor *s = lp_check_tensor(L, i);
  if (!lp_tensor_overlaps(lp_check_tensor(L, 1), s)) return s;
  lp_tensor *tmp = lp_push_tensor_like(L, s, 0);
  lp_tensor_copy(tmp, lp_check_tensor(L, i));
  lua_replace(L, i);
  return lp_check_tensor(L, i);
}

/* t:copy(src): src broadcasts to t's shape, or has the same numel. */
static int m_copy(lua_State *L) {
  lp_tensor *t = lp_check_tensor(L, 1), *s = read_source(L, 2);
  int nd;
  int64_t shape[LP_MAXDIM];
  if (lp_broadcast_shape(&nd, shape, t, s) && nd == t->ndim &&
      memcmp(shape, t->shape, (size_t)nd * sizeof *shape) == 0) {
    lp_unary(LP_COPY, t, s, 0, 0);
  } else if (lp_tensor_numel(t) == lp_tensor_numel(s)) {
    lp_tensor_copy(t, s);
  } else {
    char a[128];
    lp_shape_str(a, sizeof a, t->ndim, t->shape);
    return luaL_error(L, "copy: cannot copy shape %s into shape %s", shape_s(L, s), a);
  }
  lua_settop(L, 1);
  return 1;
}

/* ---- elementwise arithmetic --------------------------------------------- */

static void shape_error(lua_State *L, const char *op, const lp_tensor *a, const lp_tensor *b) {
  char sa[128], sb[128];
  lp_shape_str(sa, sizeof sa, a->ndim, a->shape);
  lp_shape_str(sb, sizeof sb, b->ndim, b->shape);
  luaL_error(L, "%s: shapes %s and %s cannot be broadcast together", op, sa, sb);
}

/* a op b where either may be a number (not both); pushes a new tensor. */
static int binop(lua_State *L, lp_binop op, const char *name) {
  lp_tensor *a = test_tensor(L, 1), *b = test_tensor(L, 2);
  if (a && b) {
    int nd;
    int64_t shape[LP_MAXDIM];
    if (!lp_broadcast_shape(&nd, shape, a, b)) shape_error(L, name, a, b);
    lp_tensor *o = lp_push_tensor(L, nd, shape, 0);
    lp_binary(op, o, lp_check_tensor(L, 1), lp_check_tensor(L, 2));
    return 1;
  }
  if (a) {
    float s = (float)luaL_checknumber(L, 2);
    lp_tensor *o = lp_push_tensor_like(L, a, 0);
    lp_binary_scalar(op, o, lp_check_tensor(L, 1), s);
    return 1;
  }
  if (b) {
    float s = (float)luaL_checknumber(L, 1);
    static const lp_binop swap[] = {
      [LP_ADD] = LP_ADD, [LP_SUB] = LP_RSUB, [LP_MUL] = LP_MUL, [LP_DIV] = LP_RDIV,
      [LP_MAX] = LP_MAX, [LP_MIN] = LP_MIN, [LP_EQ] = LP_EQ, [LP_NE] = LP_NE,
      [LP_LT] = LP_GT, [LP_LE] = LP_GE, [LP_GT] = LP_LT, [LP_GE] = LP_LE,
      [LP_RSUB] = LP_SUB, [LP_RDIV] = LP_DIV};
    lp_tensor *o = lp_push_tensor_like(L, b, 0);
    if (op == LP_POW) {
      /* s ^ b: through a filled tensor */
      lp_tensor *base = lp_push_tensor_like(L, lp_check_tensor(L, 2), 0);
      lp_unary(LP_FILL, base, base, s, 0);
      lp_binary(LP_POW, o, base, lp_check_tensor(L, 2));
      lua_pop(L, 1);
    } else {
      lp_binary_scalar(swap[op], o, lp_check_tensor(L, 2), s);
    }
    return 1;
  }
  return luaL_typeerror(L, 1, "tensor");
}

static int m_add(lua_State *L) { return binop(L, LP_ADD, "add"); }
static int m_sub(lua_State *L) { return binop(L, LP_SUB, "sub"); }
static int m_mul(lua_State *L) { return binop(L, LP_MUL, "mul"); }
static int m_div(lua_State *L) { return binop(L, LP_DIV, "div"); }
static int m_pow(lua_State *L) { return binop(L, LP_POW, "pow"); }
static int m_maximum(lua_State *L) { return binop(L, LP_MAX, "maximum"); }
static int m_minimum(lua_State *L) { return binop(L, LP_MIN, "minimum"); }
static int m_eq(lua_State *L) { return binop(L, LP_EQ, "eq"); }
static int m_ne(lua_State *L) { return binop(L, LP_NE, "ne"); }
static int m_lt(lua_State *L) { return binop(L, LP_LT, "lt"); }
static int m_le(lua_State *L) { return binop(L, LP_LE, "le"); }
static int m_gt(lua_State *L) { return binop(L, LP_GT, "gt"); }
static int m_ge(lua_State *L) { return binop(L, LP_GE, "ge"); }

/* In place: t op= u (u broadcasts to t's shape) or t op= number. */
static int binop_(lua_State *L, lp_binop op, const char *name) {
  lp_tensor *t = lp_check_tensor(L, 1);
  lp_tensor *u = test_tensor(L, 2);
  if (u) {
    u = read_source(L, 2);
    int nd;
    int64_t shape[LP_MAXDIM];
    if (!lp_broadcast_shape(&nd, shape, t, u) || nd != t->ndim ||
        memcmp(shape, t->shape, (size_t)nd * sizeof *shape) != 0)
      shape_error(L, name, t, u);
    lp_binary(op, t, t, u);
  } else {
    lp_binary_scalar(op, t, t, (float)luaL_checknumber(L, 2));
  }
  lua_settop(L, 1);
  return 1;
}

/* t:add_(u [, alpha]): t += alpha * u (alpha defaults to 1). */
static int m_add_(lua_State *L) {
  if (!lua_isnoneornil(L, 3)) {
    lp_tensor *t = lp_check_tensor(L, 1), *u = read_source(L, 2);
    float alpha = (float)luaL_checknumber(L, 3);
    if (lp_tensor_same_shape(t, u) && lp_tensor_is_contiguous(t) && lp_tensor_is_contiguous(u)) {
      lp_axpy(lp_tensor_data(t), lp_tensor_data(u), alpha, lp_tensor_numel(t));
      lua_settop(L, 1);
      return 1;
    }
    lua_settop(L, 2);
    lua_pushcfunction(L, m_mul);
    lua_pushvalue(L, 2);
    lua_pushnumber(L, alpha);
    lua_call(L, 2, 1);
    lua_replace(L, 2);
  }
  return binop_(L, LP_ADD, "add_");
}
static int m_sub_(lua_State *L) { return binop_(L, LP_SUB, "sub_"); }
static int m_mul_(lua_State *L) { return binop_(L, LP_MUL, "mul_"); }
static int m_div_(lua_State *L) { return binop_(L, LP_DIV, "div_"); }

/* t:addcmul_(a, b [, v]) t += v a b;  t:addcdiv_(a, b [, v]) t += v a / b
 * (all the same shape, contiguous). */
static int addc(lua_State *L, int div) {
  lp_check_contiguous(L, 2);
  lp_check_contiguous(L, 3);
  lp_tensor *t = lp_check_contiguous(L, 1), *a = read_source(L, 2), *b = read_source(L, 3);
  float v = (float)luaL_optnumber(L, 4, 1.0);
  if (!lp_tensor_same_shape(t, a)) shape_error(L, div ? "addcdiv_" : "addcmul_", t, a);
  if (!lp_tensor_same_shape(t, b)) shape_error(L, div ? "addcdiv_" : "addcmul_", t, b);
  (div ? lp_addcdiv : lp_addcmul)(lp_tensor_data(t), lp_tensor_data(a), lp_tensor_data(b), v,
                                  lp_tensor_numel(t));
  lua_settop(L, 1);
  return 1;
}
static int m_addcmul_(lua_State *L) { return addc(L, 0); }
static int m_addcdiv_(lua_State *L) { return addc(L, 1); }

static int unop(lua_State *L, lp_unop op, float p, float q) {
  lp_tensor *t = lp_check_tensor(L, 1);
  lp_tensor *o = lp_push_tensor_like(L, t, 0);
  lp_unary(op, o, lp_check_tensor(L, 1), p, q);
  return 1;
}

#define UNARY(NAME, OP) \
  static int m_##NAME(lua_State *L) { return unop(L, OP, 0, 0); }
UNARY(neg, LP_NEG)
UNARY(abs, LP_ABS)
UNARY(sqrt, LP_SQRT)
UNARY(rsqrt, LP_RSQRT)
UNARY(exp, LP_EXP)
UNARY(log, LP_LOG)
UNARY(log1p, LP_LOG1P)
UNARY(expm1, LP_EXPM1)
UNARY(tanh, LP_TANH)
UNARY(sigmoid, LP_SIGMOID)
UNARY(sin, LP_SIN)
UNARY(cos, LP_COS)
UNARY(floor, LP_FLOOR)
UNARY(ceil, LP_CEIL)
UNARY(round, LP_ROUND)
UNARY(trunc, LP_TRUNC)
UNARY(sign, LP_SIGN)
UNARY(square, LP_SQUARE)
UNARY(reciprocal, LP_RECIP)
UNARY(relu, LP_RELU)
UNARY(erf, LP_ERF)
UNARY(isnan, LP_ISNAN)
UNARY(isfinite, LP_ISFINITE)
#undef UNARY

static int m_clamp(lua_State *L) {
  lp_check_tensor(L, 1);
  float lo = (float)luaL_optnumber(L, 2, -INFINITY), hi = (float)luaL_optnumber(L, 3, INFINITY);
  return unop(L, LP_CLAMP, lo, hi);
}

static int m_unm(lua_State *L) { return unop(L, LP_NEG, 0, 0); }

/* ---- reductions --------------------------------------------------------- */

/* Reduction over all (no dim: a number) or along dim (a tensor with that
 * dim kept as size 1 if keepdim, else removed). */
static int reduce(lua_State *L, lp_redop op) {
  lp_tensor *t = lp_check_tensor(L, 1);
  if (lua_isnoneornil(L, 2)) {
    int64_t n = lp_tensor_numel(t), arg = 0;
    if (n == 0 && op != LP_RSUM)
      return luaL_error(L, "cannot reduce an empty tensor of shape %s", shape_s(L, t));
    if (!lp_tensor_is_contiguous(t)) {
      lp_tensor *c = lp_push_tensor_like(L, t, 0);
      lp_tensor_copy(c, lp_check_tensor(L, 1));
      t = c;
    }
    double v = lp_reduce_all(op, lp_tensor_data(t), n, &arg);
    if (op == LP_RARGMAX || op == LP_RARGMIN) lua_pushinteger(L, arg + 1);
    else lua_pushnumber(L, v);
    return 1;
  }
  lua_Integer d = luaL_checkinteger(L, 2);
  int keep = lua_toboolean(L, 3);
  if (d < 0) d += t->ndim + 1;
  luaL_argcheck(L, d >= 1 && d <= t->ndim, 2, "dimension out of range");
  if (t->shape[d - 1] == 0 && op != LP_RSUM && op != LP_RMEAN)
    return luaL_error(L, "cannot reduce an empty dimension");
  int src = 1;
  if (!lp_tensor_is_contiguous(t)) {
    lp_tensor *c = lp_push_tensor_like(L, t, 0);
    lp_tensor_copy(c, lp_check_tensor(L, 1));
    src = lua_gettop(L);
  }
  int64_t shape[LP_MAXDIM], outer = 1, inner = 1, dd = t->shape[d - 1];
  int nd = 0;
  for (int k = 0; k < t->ndim; k++) {
    if (k < d - 1) outer *= t->shape[k];
    if (k > d - 1) inner *= t->shape[k];
    if (k == d - 1) {
      if (keep) shape[nd++] = 1;
    } else {
      shape[nd++] = t->shape[k];
    }
  }
  lp_tensor *o = lp_push_tensor(L, nd, shape, 0);
  lp_reduce_dim(op, lp_tensor_data(o), lp_tensor_data(lp_check_tensor(L, src)), outer, dd, inner);
  if (op == LP_RARGMAX || op == LP_RARGMIN) lp_binary_scalar(LP_ADD, o, o, 1.0f);
  return 1;
}

/* t:sumsq() -> the sum of squares (double accumulation), e.g. for
 * gradient-norm clipping. */
static int m_sumsq(lua_State *L) {
  lp_tensor *t = lp_check_tensor(L, 1);
  int64_t n = lp_tensor_numel(t);
  const float *x = lp_tensor_data(t);
  int contig = lp_tensor_is_contiguous(t);
  double s = 0;
  for (int64_t i = 0; i < n; i++) {
    double v = x[contig ? i : lp_tensor_offset_of(t, i)];
    s += v * v;
  }
  lua_pushnumber(L, s);
  return 1;
}

/* t:all_finite() -> true when no element is NaN or infinite (one
 * vectorised pass; the same answer as isfinite(t:sumsq())). */
static int m_all_finite(lua_State *L) {
  lp_tensor *t = lp_check_tensor(L, 1);
  int64_t n = lp_tensor_numel(t);
  if (lp_tensor_is_contiguous(t)) {
    lua_pushboolean(L, lp_all_finite(lp_tensor_data(t), n));
    return 1;
  }
  const float *x = lp_tensor_data(t);
  int ok = 1;
  for (int64_t i = 0; i < n && ok; i++) ok = isfinite(x[lp_tensor_offset_of(t, i)]);
  lua_pushboolean(L, ok);
  return 1;
}

/* lpact.count_correct(logits (N, K), labels (N)) -> how many rows have
 * their largest logit (the first, on ties) at the label (0-based class). */
static int l_count_correct(lua_State *L) {
  lp_tensor *x = lp_check_contiguous(L, 1), *y = lp_check_tensor(L, 2);
  if (x->ndim != 2 || y->ndim != 1 || y->shape[0] != x->shape[0]) {
    char a[128];
    lp_shape_str(a, sizeof a, x->ndim, x->shape);
    return luaL_error(L, "count_correct: logits of shape %s and labels of shape %s (expected (N, K) and (N,))",
                      a, shape_s(L, y));
  }
  int64_t N = x->shape[0], K = x->shape[1], hits = 0;
  const float *p = lp_tensor_data(x), *lab = lp_tensor_data(y);
  for (int64_t n = 0; n < N; n++) {
    int64_t best = 0;
    for (int64_t k = 1; k < K; k++)
      if (p[n * K + k] > p[n * K + best]) best = k;
    if ((float)best == lab[y->stride[0] * n]) hits++;
  }
  lua_pushinteger(L, hits);
  return 1;
}

static int m_sum(lua_State *L) { return reduce(L, LP_RSUM); }
static int m_mean(lua_State *L) { return reduce(L, LP_RMEAN); }
static int m_max(lua_State *L) { return reduce(L, LP_RMAX); }
static int m_min(lua_State *L) { return reduce(L, LP_RMIN); }
static int m_argmax(lua_State *L) { return reduce(L, LP_RARGMAX); }
static int m_argmin(lua_State *L) { return reduce(L, LP_RARGMIN); }

/* ---- matrix product ----------------------------------------------------- */

/* Argument i as a (rows, cols) matrix for sgemm: a 2-D tensor, or a 1-D
 * one as a row (row = 1) or a column. Unit stride on either axis goes to
 * sgemm as is (transposed if needed); otherwise a contiguous copy is
 * pushed. Sets *idx to the stack slot holding the data. */
static void as_matrix(lua_State *L, int i, int row, int *idx, int *trans, int64_t *ld) {
  lp_tensor *t = lp_check_tensor(L, i);
  int64_t r, c, rs, cs;
  if (t->ndim == 2) { r = t->shape[0]; c = t->shape[1]; rs = t->stride[0]; cs = t->stride[1]; }
  else if (row) { r = 1; c = t->shape[0]; rs = c; cs = t->stride[0]; }
  else { r = t->shape[0]; c = 1; rs = t->stride[0]; cs = 1; }
  *idx = i;
  if ((cs == 1 || c == 1) && (rs >= c || r == 1)) { *trans = 0; *ld = r == 1 ? c : rs; }
  else if ((rs == 1 || r == 1) && (cs >= r || c == 1)) { *trans = 1; *ld = c == 1 ? r : cs; }
  else {
    lp_tensor *cp = lp_push_tensor_like(L, t, 0);
    lp_tensor_copy(cp, lp_check_tensor(L, i));
    *idx = lua_gettop(L); *trans = 0; *ld = c;
  }
  if (*ld < 1) *ld = 1;
}

/* lpact.matmul(a, b): (m, k) x (k, n) -> (m, n); 1-D operands make
 * matrix-vector, vector-matrix and dot products. Transposed views (t:t())
 * go to sgemm without a copy. */
static int l_matmul(lua_State *L) {
  lp_tensor *a = lp_check_tensor(L, 1), *b = lp_check_tensor(L, 2);
  if (a->ndim < 1 || a->ndim > 2 || b->ndim < 1 || b->ndim > 2)
    return luaL_error(L, "matmul: expects 1-D or 2-D tensors, got shapes %s and %s", shape_s(L, a),
                      shape_s(L, b));
  int64_t m = a->ndim == 2 ? a->shape[0] : 1, k = a->shape[a->ndim - 1];
  int64_t kb = b->shape[0], n = b->ndim == 2 ? b->shape[1] : 1;
  if (k != kb)
    return luaL_error(L, "matmul: shapes %s and %s do not match (%d != %d)", shape_s(L, a),
                      shape_s(L, b), (int)k, (int)kb);
  int adim = a->ndim, bdim = b->ndim, ia, ib, ta, tb;
  int64_t lda, ldb, shape[2];
  lua_settop(L, 2);
  as_matrix(L, 1, 1, &ia, &ta, &lda);
  as_matrix(L, 2, 0, &ib, &tb, &ldb);
  int nd = 0;
  if (adim == 2) shape[nd++] = m;
  if (bdim == 2) shape[nd++] = n;
  lp_tensor *o = lp_push_tensor(L, nd, shape, 1);
  if (m > 0 && n > 0 && k > 0)
    lp_gemm(ta, tb, m, n, k, 1.0f, lp_tensor_data(lp_check_tensor(L, ia)), lda,
            lp_tensor_data(lp_check_tensor(L, ib)), ldb, 0.0f, lp_tensor_data(o), n);
  return 1;
}

/* ---- printing ----------------------------------------------------------- */

typedef struct {
  luaL_Buffer *b;
  const lp_tensor *t;
  int summarize, width, prec, intlike;
} printer;

static void fmt_num(const printer *p, float v, char *s, size_t n) {
  if (v != v) snprintf(s, n, "nan");
  else if (isinf(v)) snprintf(s, n, v > 0 ? "inf" : "-inf");
  else if (p->intlike) snprintf(s, n, "%.0f", (double)v);
  else snprintf(s, n, "%.*g", p->prec, (double)v);
}

static void print_rec(printer *p, int d, const float *x, int indent) {
  const lp_tensor *t = p->t;
  char s[64];
  if (t->ndim == 0) {
    fmt_num(p, *x, s, sizeof s);
    luaL_addstring(p->b, s);
    return;
  }
  luaL_addchar(p->b, '[');
  int64_t n = t->shape[d];
  for (int64_t i = 0; i < n; i++) {
    if (p->summarize && n > 6 && i == 3) {
      luaL_addstring(p->b, d == t->ndim - 1 ? "..., " : "...,\n");
      if (d != t->ndim - 1)
        for (int k = 0; k < indent + 1; k++) luaL_addchar(p->b, ' ');
      i = n - 3;
    }
    if (d == t->ndim - 1) {
      fmt_num(p, x[i * t->stride[d]], s, sizeof s);
      for (int k = (int)strlen(s); k < p->width; k++) luaL_addchar(p->b, ' ');
      luaL_addstring(p->b, s);
      if (i < n - 1) luaL_addstring(p->b, ", ");
    } else {
      print_rec(p, d + 1, x + i * t->stride[d], indent + 1);
      if (i < n - 1) {
        luaL_addchar(p->b, ',');
        for (int k = d; k < t->ndim - 1; k++) luaL_addchar(p->b, '\n');
        for (int k = 0; k < indent + 1; k++) luaL_addchar(p->b, ' ');
      }
    }
  }
  luaL_addchar(p->b, ']');
}

static int m_tostring(lua_State *L) {
  lp_tensor *t = luaL_checkudata(L, 1, LP_TENSOR_MT);
  char sh[256];
  if (t->st == NULL) {
    lua_pushliteral(L, "Tensor (freed)");
    return 1;
  }
  lp_shape_str(sh, sizeof sh, t->ndim, t->shape);
  int64_t n = lp_tensor_numel(t);
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  luaL_addstring(&b, "Tensor ");
  luaL_addstring(&b, sh);
  luaL_addchar(&b, '\n');
  printer p = {&b, t, n > 1000, 1, 4, 1};
  /* Widths over the elements that will be shown (all, if not summarizing). */
  const float *x = lp_tensor_data(t);
  float amax = 0;
  for (int64_t i = 0; i < n; i++) {
    float v = x[lp_tensor_offset_of(t, i)];
    if (isfinite(v)) {
      if (v != nearbyintf(v)) p.intlike = 0;
      if (fabsf(v) > amax) amax = fabsf(v);
    }
    if (p.summarize && i > 100000) break;
  }
  if (amax >= 1e7f) p.intlike = 0;
  for (int64_t i = 0; i < n; i++) {
    char s[64];
    fmt_num(&p, x[lp_tensor_offset_of(t, i)], s, sizeof s);
    if ((int)strlen(s) > p.width) p.width = (int)strlen(s);
    if (p.summarize && i > 100000) break;
  }
  if (n == 0) luaL_addstring(&b, "[]");
  else print_rec(&p, 0, x, 0);
  luaL_pushresult(&b);
  return 1;
}

/* ---- registration ------------------------------------------------------- */

static const luaL_Reg methods[] = {
  {"shape", m_shape}, {"dim", m_dim}, {"numel", m_numel}, {"size", m_size},
  {"is_contiguous", m_is_contiguous}, {"get", m_get}, {"set", m_set}, {"item", m_item},
  {"totable", m_totable}, {"hash", m_hash}, {"clone", m_clone}, {"contiguous", m_contiguous},
  {"reshape", m_reshape}, {"view", m_view}, {"narrow", m_narrow}, {"select", m_select},
  {"t", m_transpose}, {"transpose", m_transpose}, {"permute", m_permute},
  {"unsqueeze", m_unsqueeze}, {"squeeze", m_squeeze}, {"free", m_free}, {"shares", m_shares},
  {"fill", m_fill}, {"zero", m_zero}, {"copy", m_copy},
  {"add", m_add}, {"sub", m_sub}, {"mul", m_mul}, {"div", m_div}, {"pow", m_pow},
  {"maximum", m_maximum}, {"minimum", m_minimum},
  {"eq", m_eq}, {"ne", m_ne}, {"lt", m_lt}, {"le", m_le}, {"gt", m_gt}, {"ge", m_ge},
  {"add_", m_add_}, {"sub_", m_sub_}, {"mul_", m_mul_}, {"div_", m_div_},
  {"addcmul_", m_addcmul_}, {"addcdiv_", m_addcdiv_},
  {"neg", m_neg}, {"abs", m_abs}, {"sqrt", m_sqrt}, {"rsqrt", m_rsqrt}, {"exp", m_exp},
  {"log", m_log}, {"log1p", m_log1p}, {"expm1", m_expm1}, {"tanh", m_tanh},
  {"sigmoid", m_sigmoid}, {"sin", m_sin}, {"cos", m_cos}, {"floor", m_floor}, {"ceil", m_ceil},
  {"round", m_round}, {"trunc", m_trunc}, {"sign", m_sign}, {"square", m_square},
  {"reciprocal", m_reciprocal}, {"relu", m_relu}, {"erf", m_erf}, {"isnan", m_isnan},
  {"isfinite", m_isfinite}, {"clamp", m_clamp},
  {"sum", m_sum}, {"sumsq", m_sumsq}, {"all_finite", m_all_finite}, {"mean", m_mean}, {"max", m_max}, {"min", m_min}, {"argmax", m_argmax},
  {"argmin", m_argmin}, {"matmul", l_matmul},
  {NULL, NULL}};

static const luaL_Reg metamethods[] = {
  {"__add", m_add}, {"__sub", m_sub}, {"__mul", m_mul}, {"__div", m_div}, {"__pow", m_pow},
  {"__unm", m_unm}, {"__len", m_len}, {"__tostring", m_tostring}, {"__gc", m_gc},
  {"__close", m_gc}, {NULL, NULL}};

static const luaL_Reg functions[] = {
  {"tensor", l_tensor}, {"zeros", l_zeros}, {"ones", l_ones}, {"full", l_full},
  {"arange", l_arange}, {"rand", l_rand}, {"randn", l_randn}, {"matmul", l_matmul},
  {"is_tensor", l_is_tensor}, {"tensor_memory", l_memory}, {"threads", l_threads}, {"count_correct", l_count_correct}, {NULL, NULL}};

int luaopen_lpact_tensor(lua_State *L) {
  luaL_newmetatable(L, LP_TENSOR_MT);
  luaL_setfuncs(L, metamethods, 0);
  luaL_newlib(L, methods);
  lua_setfield(L, -2, "__index");
  lua_pushliteral(L, "Tensor");
  lua_setfield(L, -2, "__name");
  lua_pop(L, 1);
  luaL_newlib(L, functions);
  return 1;
}
