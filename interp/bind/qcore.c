/* bind/qcore.c — the quantized-activation kernels for Lua, as the sub-table
 * lpact.qcore (the layer itself is Lua: stdlib/lpact/qact.lua).
 *
 * One userdata type, lpact.QactCore: an activation with its input and
 * output quantizers (exact code search tables built once) and the
 * output-code map of its current table. Everything it owns is freed by
 * __gc, so a Lua error at any point leaks nothing. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bind/bind.h"
#include "core/qact.h"

#define QACT_MT "lpact.QactCore"

typedef struct {
  lp_qz qin, qout;
  lp_act fn;
  int mode, ready;
  double alpha;
  uint32_t *map;        /* (qin.ncodes + 1) output code per input code   */
  int map_valid;
} qcore;

static qcore *check_qcore(lua_State *L, int i) {
  qcore *q = luaL_checkudata(L, i, QACT_MT);
  if (!q->ready) luaL_argerror(L, i, "freed quantizer");
  return q;
}

static int has_codes(const lp_qz *q) { return !q->identity && !q->wide; }

static int check_mode(lua_State *L, int i) {
  static const char *const modes[] = { "emulate", "lut", "ops", NULL };
  return luaL_checkoption(L, i, NULL, modes);
}

/* qk.new(fn, in_fmt, out_fmt, mode [, alpha]) -> QactCore */
static int l_new(lua_State *L) {
  lp_act fn = lp_check_act(L, 1);
  const lp_format *fi = lp_check_format(L, 2);
  const lp_format *fo = lp_check_format(L, 3);
  int mode = check_mode(L, 4);
  double alpha = lp_opt_alpha(L, 5, fn);
  qcore *q = lua_newuserdatauv(L, sizeof *q, 0);
  memset(q, 0, sizeof *q);
  luaL_setmetatable(L, QACT_MT);
  q->fn = fn, q->mode = mode, q->alpha = alpha;
  q->ready = 1;   /* both lp_qz are zeroed: freeing them is safe */
  if (lp_qz_init(&q->qin, fi) != LP_OK || lp_qz_init(&q->qout, fo) != LP_OK)
    return luaL_error(L, "not enough memory");
  if (has_codes(&q->qin)) {
    q->map = malloc((q->qin.ncodes + 1) * sizeof *q->map);
    if (!q->map) return luaL_error(L, "not enough memory");
  }
  return 1;
}

static int m_gc(lua_State *L) {
  qcore *q = luaL_checkudata(L, 1, QACT_MT);
  if (q->ready) {
    lp_qz_free(&q->qin);
    lp_qz_free(&q->qout);
    free(q->map);
    q->map = NULL;
    q->ready = 0;
  }
  return 0;
}

static void push_values(lua_State *L, const lp_qz *z) {
  lua_createtable(L, (int)z->ncodes, 0);
  for (uint32_t c = 0; c < z->ncodes; c++) {
    lua_pushnumber(L, z->val[c]);
    lua_rawseti(L, -2, (lua_Integer)c + 1);
  }
}

/* q:info() -> {in_codes=, out_codes=, in_lo=, in_hi=, out_lo=, out_hi=,
 * in_values={...} (by code, 1-based), out_values={...}, fast_in=} */
static int m_info(lua_State *L) {
  qcore *q = check_qcore(L, 1);
  lua_newtable(L);
  lua_pushinteger(L, has_codes(&q->qin) ? q->qin.ncodes : 0);
  lua_setfield(L, -2, "in_codes");
  lua_pushinteger(L, has_codes(&q->qout) ? q->qout.ncodes : 0);
  lua_setfield(L, -2, "out_codes");
  lua_pushnumber(L, q->qin.lo), lua_setfield(L, -2, "in_lo");
  lua_pushnumber(L, q->qin.hi), lua_setfield(L, -2, "in_hi");
  lua_pushnumber(L, q->qout.lo), lua_setfield(L, -2, "out_lo");
  lua_pushnumber(L, q->qout.hi), lua_setfield(L, -2, "out_hi");
  lua_pushboolean(L, q->qin.fast), lua_setfield(L, -2, "fast_in");
  if (has_codes(&q->qin)) push_values(L, &q->qin), lua_setfield(L, -2, "in_values");
  if (has_codes(&q->qout)) push_values(L, &q->qout), lua_setfield(L, -2, "out_values");
  lua_pushstring(L, lp_act_name(q->fn)), lua_setfield(L, -2, "fn");
  lua_pushnumber(L, q->alpha), lua_setfield(L, -2, "alpha");
  return 1;
}

/* Optional levels tensor at i with n entries (or nil). */
static const float *opt_levels(lua_State *L, int i, uint32_t n) {
  if (lua_isnoneornil(L, i)) return NULL;
  lp_tensor *t = lp_check_contiguous(L, i);
  if ((uint64_t)lp_tensor_numel(t) != n)
    luaL_argerror(L, i, lua_pushfstring(L, "levels: %d entries expected", (int)n));
  return lp_tensor_data(t);
}

/* q:table([s_i [, s_o [, levels]]]) -> T (a new tensor over the input
 * codes); also stores the output-code map used by q:lookup(x, T, s, true). */
static int m_table(lua_State *L) {
  qcore *q = check_qcore(L, 1);
  double si = luaL_optnumber(L, 2, 1.0), so = luaL_optnumber(L, 3, 1.0);
  if (!has_codes(&q->qin)) return luaL_error(L, "table: the input format has no codes (fp32 or wider than 16 bits)");
  const float *lev = NULL;
  if (!lua_isnoneornil(L, 4)) {
    if (!has_codes(&q->qout)) return luaL_argerror(L, 4, "levels need an output format with codes");
    lev = opt_levels(L, 4, q->qout.ncodes);
  }
  int64_t shape[1] = { q->qin.ncodes };
  lp_tensor *T = lp_push_tensor(L, 1, shape, 0);
  lp_qact_table(lp_tensor_data(T), has_codes(&q->qout) ? q->map : NULL, &q->qin, &q->qout,
                q->fn, q->alpha, q->mode, si, so, lev);
  q->map_valid = has_codes(&q->qout);
  return 1;
}

/* Pushes a codes buffer for n codes of cw bytes: a 1-D Tensor of
 * ceil(n cw / 4) floats used as raw bytes (only the kernels read it). */
static void *push_codes(lua_State *L, size_t n, int cw) {
  int64_t shape[1] = { (int64_t)((n * (size_t)cw + 3) / 4) };
  if (shape[0] == 0) shape[0] = 1;
  return lp_tensor_data(lp_push_tensor(L, 1, shape, 0));
}

/* Argument i as a codes buffer holding n codes of cw bytes. */
static const void *check_codes(lua_State *L, int i, size_t n, int cw) {
  lp_tensor *t = lp_check_contiguous(L, i);
  if (cw != 1 && cw != 2 && cw != 4) luaL_error(L, "code width must be 1, 2 or 4");
  if ((size_t)lp_tensor_numel(t) * 4 < n * (size_t)cw)
    luaL_argerror(L, i, "codes buffer too small for the gradient");
  return lp_tensor_data(t);
}

/* q:lookup(x, T [, s_i [, use_map [, ctr0 [, map]]]]) -> y, codes, width.
 * use_map: record output codes through the map of the last q:table (or
 * through `map`, a tensor of in_codes + 1 output codes). */
static int m_lookup(lua_State *L) {
  qcore *q = check_qcore(L, 1);
  lp_tensor *x = lp_check_contiguous(L, 2);
  lp_tensor *T = lp_check_contiguous(L, 3);
  double si = luaL_optnumber(L, 4, 1.0);
  int use_map = lua_toboolean(L, 5);
  lua_Integer ctr = luaL_optinteger(L, 6, 0);
  if (!has_codes(&q->qin)) return luaL_error(L, "lookup: the input format has no codes");
  if ((uint64_t)lp_tensor_numel(T) != q->qin.ncodes)
    return luaL_argerror(L, 3, lua_pushfstring(L, "table of %d entries expected", (int)q->qin.ncodes));
  const uint32_t *map = NULL;
  uint32_t maxcode = q->qin.ncodes;
  if (use_map && !lua_isnoneornil(L, 7)) {
    lp_tensor *mt = lp_check_contiguous(L, 7);
    if ((uint64_t)lp_tensor_numel(mt) != (uint64_t)q->qin.ncodes + 1)
      return luaL_argerror(L, 7, "map of in_codes + 1 entries expected");
    uint32_t *m = lua_newuserdatauv(L, (q->qin.ncodes + 1) * sizeof *m, 0);
    const float *md = lp_tensor_data(mt);
    maxcode = 0;
    for (uint32_t c = 0; c <= q->qin.ncodes; c++) {
      float v = md[c];
      m[c] = (v >= 0 && v < 4294967295.0f) ? (uint32_t)v : 0xffffffffu;
      if (m[c] > maxcode) maxcode = m[c];
    }
    map = m;
  } else if (use_map) {
    if (!q->map_valid) return luaL_error(L, "lookup: no output-code map (call table first)");
    map = q->map;
    maxcode = q->qout.ncodes;
  }
  size_t n = (size_t)lp_tensor_numel(x);
  int cw = lp_qact_code_width(maxcode);
  lp_tensor *y = lp_push_tensor_like(L, x, 0);
  void *codes = push_codes(L, n, cw);
  lp_qact_lookup(lp_tensor_data(y), codes, cw, lp_tensor_data(x), n, &q->qin, si,
                 lp_tensor_data(T), map, (uint64_t)ctr);
  lua_pushinteger(L, cw);
  return 3;
}

/* Reads a group description {axis=, block=} for tensor x at index i into g;
 * returns the group count. */
static size_t check_groups(lua_State *L, int i, const lp_tensor *x, lp_qgroups *g) {
  luaL_checktype(L, i, LUA_TTABLE);
  lua_getfield(L, i, "axis");
  lua_Integer axis = luaL_checkinteger(L, -1);
  lua_getfield(L, i, "block");
  lua_Integer block = luaL_optinteger(L, -1, 0);
  lua_pop(L, 2);
  if (axis < 1 || axis > x->ndim) luaL_argerror(L, i, "axis out of range");
  if (block < 0) luaL_argerror(L, i, "negative block");
  g->outer = 1, g->inner = 1;
  for (int d = 0; d < axis - 1; d++) g->outer *= (size_t)x->shape[d];
  g->A = (size_t)x->shape[axis - 1];
  for (int d = (int)axis; d < x->ndim; d++) g->inner *= (size_t)x->shape[d];
  g->block = (size_t)block;
  if (g->A == 0) g->A = 1;
  return lp_qgroups_count(g);
}

/* Scales at i: a number (one for all) or a tensor of ng entries; writes
 * into buf (ng doubles, owned by a userdata on the stack). */
static void read_scales(lua_State *L, int i, double *buf, size_t ng) {
  if (lua_type(L, i) == LUA_TNUMBER) {
    double s = lua_tonumber(L, i);
    for (size_t k = 0; k < ng; k++) buf[k] = s;
    return;
  }
  lp_tensor *t = lp_check_contiguous(L, i);
  if ((size_t)lp_tensor_numel(t) != ng)
    luaL_argerror(L, i, lua_pushfstring(L, "%d scales expected", (int)ng));
  const float *d = lp_tensor_data(t);
  for (size_t k = 0; k < ng; k++) buf[k] = d[k];
}

/* q:direct(x, s_i, s_o [, levels [, groups [, ctr0]]]) -> y, codes, width
 * s_i and s_o: numbers or tensors with one scale per group. */
static int m_direct(lua_State *L) {
  qcore *q = check_qcore(L, 1);
  lp_tensor *x = lp_check_contiguous(L, 2);
  const float *lev = NULL;
  if (!lua_isnoneornil(L, 5)) {
    if (!has_codes(&q->qout)) return luaL_argerror(L, 5, "levels need an output format with codes");
    lev = opt_levels(L, 5, q->qout.ncodes);
  }
  lp_qgroups g;
  size_t ng = 1;
  int grouped = !lua_isnoneornil(L, 6);
  if (grouped) ng = check_groups(L, 6, x, &g);
  lua_Integer ctr = luaL_optinteger(L, 7, 0);
  if (lua_type(L, 3) != LUA_TNUMBER) lp_check_contiguous(L, 3);
  if (lua_type(L, 4) != LUA_TNUMBER) lp_check_contiguous(L, 4);
  double *buf = lua_newuserdatauv(L, 2 * ng * sizeof *buf, 0);  /* collected by the GC */
  read_scales(L, 3, buf, ng);
  read_scales(L, 4, buf + ng, ng);
  size_t n = (size_t)lp_tensor_numel(x);
  int cw = lp_qact_code_width(has_codes(&q->qout) ? q->qout.ncodes : 0);
  lp_tensor *y = lp_push_tensor_like(L, x, 0);
  void *codes = push_codes(L, n, cw);
  lp_qact_direct(lp_tensor_data(y), codes, cw, lp_tensor_data(x), n, &q->qin, &q->qout,
                 q->fn, q->alpha, q->mode, grouped ? &g : NULL, buf, buf + ng, lev, (uint64_t)ctr);
  lua_pushinteger(L, cw);
  return 3;
}

/* q:grouped(x, {axis=, block=}, mx, rule, use_in, use_out [, levels [, ctr0]])
 * -> y, codes, width: per-group amax, scales (lp_qact_group_scales) and the
 * per-element forward in one call; block 0 means per-channel. */
static int m_grouped(lua_State *L) {
  static const char *const rules[] = { "floor", "ceil", NULL };
  qcore *q = check_qcore(L, 1);
  lp_tensor *x = lp_check_contiguous(L, 2);
  lp_qgroups g;
  size_t ng = check_groups(L, 3, x, &g);
  int mx = lua_toboolean(L, 4);
  int rule = luaL_checkoption(L, 5, "floor", rules);
  int use_in = lua_toboolean(L, 6), use_out = lua_toboolean(L, 7);
  const float *lev = NULL;
  if (!lua_isnoneornil(L, 8)) {
    if (!has_codes(&q->qout)) return luaL_argerror(L, 8, "levels need an output format with codes");
    lev = opt_levels(L, 8, q->qout.ncodes);
  }
  lua_Integer ctr = luaL_optinteger(L, 9, 0);
  double *buf = lua_newuserdatauv(L, 3 * ng * sizeof *buf, 0);  /* collected by the GC */
  size_t n = (size_t)lp_tensor_numel(x);
  lp_qact_group_amax(buf, lp_tensor_data(x), n, &g);
  lp_qact_group_scales(buf + ng, buf + 2 * ng, buf, ng, q->fn, q->alpha,
                       has_codes(&q->qin) ? q->qin.hi : INFINITY,
                       has_codes(&q->qout) || q->qout.wide ? q->qout.hi : INFINITY,
                       mx, rule, use_in, use_out);
  int cw = lp_qact_code_width(has_codes(&q->qout) ? q->qout.ncodes : 0);
  lp_tensor *y = lp_push_tensor_like(L, x, 0);
  void *codes = push_codes(L, n, cw);
  lp_qact_direct(lp_tensor_data(y), codes, cw, lp_tensor_data(x), n, &q->qin, &q->qout,
                 q->fn, q->alpha, q->mode, &g, buf + ng, buf + 2 * ng, lev, (uint64_t)ctr);
  lua_pushinteger(L, cw);
  return 3;
}

/* q:telemetry(x [, s [, ctr0 [, usage]]]) -> sat, under, nan, n; adds
 * to the usage tensor (in_codes + 1 entries) if given. Counts the input
 * quantizer (the output quantizer if the input is fp32). */
static int m_telemetry(lua_State *L) {
  qcore *q = check_qcore(L, 1);
  lp_tensor *x = lp_check_contiguous(L, 2);
  double s = luaL_optnumber(L, 3, 1.0);
  lua_Integer ctr = luaL_optinteger(L, 4, 0);
  const lp_qz *z = has_codes(&q->qin) || !has_codes(&q->qout) ? &q->qin : &q->qout;
  lp_tensor *u = NULL;
  if (!lua_isnoneornil(L, 5)) {
    u = lp_check_contiguous(L, 5);
    if (!has_codes(z) || (uint64_t)lp_tensor_numel(u) != z->ncodes + 1)
      return luaL_argerror(L, 5, "usage tensor of codes + 1 entries expected");
  }
  size_t n = (size_t)lp_tensor_numel(x);
  lp_qstats st = { 0, 0, 0, 0 };
  uint64_t *cnt = NULL;
  if (u) {
    cnt = lua_newuserdatauv(L, (z->ncodes + 1) * sizeof *cnt, 0);
    memset(cnt, 0, (z->ncodes + 1) * sizeof *cnt);
  }
  lp_qact_telemetry(&st, cnt, lp_tensor_data(x), n, z, s, (uint64_t)ctr);
  if (u) {
    float *ud = lp_tensor_data(u);
    for (uint32_t c = 0; c <= z->ncodes; c++) ud[c] += (float)cnt[c];
  }
  lua_pushinteger(L, (lua_Integer)st.sat);
  lua_pushinteger(L, (lua_Integer)st.under);
  lua_pushinteger(L, (lua_Integer)st.nan);
  lua_pushinteger(L, (lua_Integer)st.n);
  return 4;
}

/* q:round(v [, which]) -> the number v rounded by the input ("in") or
 * output ("out") quantizer; q:code(v [, which]) -> its code (or nil). */
static const lp_qz *which_qz(lua_State *L, qcore *q, int i) {
  static const char *const w[] = { "in", "out", NULL };
  return luaL_checkoption(L, i, "in", w) == 0 ? &q->qin : &q->qout;
}

static int m_round(lua_State *L) {
  qcore *q = check_qcore(L, 1);
  double v = luaL_checknumber(L, 2);
  lua_pushnumber(L, lp_qz_round(which_qz(L, q, 3), v, 0));
  return 1;
}

static int m_code(lua_State *L) {
  qcore *q = check_qcore(L, 1);
  double v = luaL_checknumber(L, 2);
  const lp_qz *z = which_qz(L, q, 3);
  if (!has_codes(z)) return 0;
  uint32_t c = lp_qz_code(z, v, 0);
  if (c >= z->ncodes) return 0;
  lua_pushinteger(L, c);
  return 1;
}

/* q:eval(v) -> the layer's scalar result in its mode (no scaling):
 * Q_out(f(Q_in(v))) or the ops sequence. */
static int m_eval(lua_State *L) {
  qcore *q = check_qcore(L, 1);
  double v = lp_qz_round(&q->qin, luaL_checknumber(L, 2), 0);
  if (q->qin.identity) v = luaL_checknumber(L, 2);
  double z = q->mode == LP_QMODE_OPS ? lp_act_ops(q->fn, v, q->alpha, &q->qout.f)
                                     : lp_act_value(q->fn, v, q->alpha);
  lua_pushnumber(L, lp_qz_round(&q->qout, z, 0));
  return 1;
}

static int ste_rule(lua_State *L, int i) {
  static const char *const r[] = { "fprime", "identity", "clipped", "staircase", NULL };
  return luaL_checkoption(L, i, "fprime", r);
}

/* Reads staircase points from the tables at i and i + 1 into a userdata
 * pushed on the stack; returns the count (0 if the rule needs none). */
static int read_points(lua_State *L, int i, int rule, double **pts) {
  int np = 0;
  if (rule == LP_STE_STAIRCASE) {
    luaL_checktype(L, i, LUA_TTABLE);
    luaL_checktype(L, i + 1, LUA_TTABLE);
    size_t len = lua_rawlen(L, i);   /* read raw, as the points are */
    luaL_argcheck(L, len <= (1 << 20), i, "too many points");
    if (lua_rawlen(L, i + 1) != len) luaL_argerror(L, i + 1, "as many points as px expected");
    np = (int)len;
  }
  double *p = lua_newuserdatauv(L, 2 * (size_t)(np > 0 ? np : 1) * sizeof *p, 0);
  for (int k = 0; k < np; k++) {
    lua_rawgeti(L, i, k + 1);
    lua_rawgeti(L, i + 1, k + 1);
    p[k] = luaL_checknumber(L, -2);
    p[np + k] = luaL_checknumber(L, -1);
    lua_pop(L, 2);
    if (k > 0 && !(p[k] > p[k - 1])) luaL_argerror(L, i, "px must increase");
  }
  *pts = p;
  return np;
}

/* qk.ste(x, g, rule, fn, alpha, lo, hi [, px_table, py_table]) -> dx */
static int l_ste(lua_State *L) {
  lp_tensor *x = lp_check_contiguous(L, 1);
  lp_tensor *g = lp_check_contiguous(L, 2);
  int rule = ste_rule(L, 3);
  lp_act fn = lp_check_act(L, 4);
  double alpha = lp_opt_alpha(L, 5, fn);
  double lo = luaL_optnumber(L, 6, -INFINITY), hi = luaL_optnumber(L, 7, INFINITY);
  if (lp_tensor_numel(x) != lp_tensor_numel(g)) return luaL_argerror(L, 2, "size differs from x");
  double *pts;
  int np = read_points(L, 8, rule, &pts);
  lp_tensor *dx = lp_push_tensor_like(L, x, 0);
  lp_qact_ste(lp_tensor_data(dx), lp_tensor_data(g), lp_tensor_data(x), (size_t)lp_tensor_numel(x),
              rule, fn, alpha, lo, hi, pts, pts + np, np);
  return 1;
}

/* qk.scatter(dT, g, codes, width [, mult]): dT[codes[i]] += mult * g[i]. */
static int l_scatter(lua_State *L) {
  lp_tensor *dT = lp_check_contiguous(L, 1);
  lp_tensor *g = lp_check_contiguous(L, 2);
  int cw = (int)luaL_checkinteger(L, 4);
  size_t n = (size_t)lp_tensor_numel(g);
  const void *codes = check_codes(L, 3, n, cw);
  double mult = luaL_optnumber(L, 5, 1.0);
  lp_qact_scatter(lp_tensor_data(dT), (size_t)lp_tensor_numel(dT), lp_tensor_data(g), codes, cw, n, mult);
  return 0;
}

/* qk.backward(g, x, rule, fn, alpha, lo, hi, px, py, dT, codes, width, mult)
 * -> dx: the STE gradient, and (dT not nil) the level gradient added to
 * dT, in one pass over g. */
static int l_backward(lua_State *L) {
  lp_tensor *g = lp_check_contiguous(L, 1);
  lp_tensor *x = lp_check_contiguous(L, 2);
  int rule = ste_rule(L, 3);
  lp_act fn = lp_check_act(L, 4);
  double alpha = lp_opt_alpha(L, 5, fn);
  double lo = luaL_optnumber(L, 6, -INFINITY), hi = luaL_optnumber(L, 7, INFINITY);
  size_t n = (size_t)lp_tensor_numel(x);
  if ((size_t)lp_tensor_numel(g) != n) return luaL_argerror(L, 1, "size differs from x");
  lp_tensor *dT = NULL;
  const void *codes = NULL;
  int cw = 1;
  double mult = 1.0;
  if (!lua_isnoneornil(L, 10)) {
    dT = lp_check_contiguous(L, 10);
    cw = (int)luaL_checkinteger(L, 12);
    codes = check_codes(L, 11, n, cw);
    mult = luaL_optnumber(L, 13, 1.0);
  }
  double *pts;
  int np = read_points(L, 8, rule, &pts);
  lp_tensor *dx = lp_push_tensor_like(L, x, 0);
  lp_qact_backward(lp_tensor_data(dx), dT ? lp_tensor_data(dT) : NULL,
                   dT ? (size_t)lp_tensor_numel(dT) : 0, mult, lp_tensor_data(g), lp_tensor_data(x),
                   codes, cw, n, rule, fn, alpha, lo, hi, pts, pts + np, np);
  return 1;
}

/* qk.scale_grad(g, x, y, "lsq"|"pact", fn, alpha, s, lo, hi) -> number */
static int l_scale_grad(lua_State *L) {
  static const char *const kinds[] = { "lsq", "pact", NULL };
  lp_tensor *g = lp_check_contiguous(L, 1);
  lp_tensor *x = lp_check_contiguous(L, 2);
  lp_tensor *y = lp_check_contiguous(L, 3);
  int kind = luaL_checkoption(L, 4, NULL, kinds);
  lp_act fn = lp_check_act(L, 5);
  double alpha = lp_opt_alpha(L, 6, fn);
  double s = luaL_checknumber(L, 7), lo = luaL_checknumber(L, 8), hi = luaL_checknumber(L, 9);
  if (lp_tensor_numel(g) != lp_tensor_numel(x) || lp_tensor_numel(y) != lp_tensor_numel(x))
    return luaL_error(L, "scale_grad: g, x and y must have the same size");
  lua_pushnumber(L, lp_qact_scale_grad(lp_tensor_data(g), lp_tensor_data(x), lp_tensor_data(y),
                                       (size_t)lp_tensor_numel(x), kind, fn, alpha, s, lo, hi));
  return 1;
}

/* qk.amax(x) -> max |x| over non-NaN elements, NaN count */
static int l_amax(lua_State *L) {
  lp_tensor *x = lp_check_contiguous(L, 1);
  size_t nan = 0;
  lua_pushnumber(L, lp_qact_amax(lp_tensor_data(x), (size_t)lp_tensor_numel(x), &nan));
  lua_pushinteger(L, (lua_Integer)nan);
  return 2;
}

/* qk.group_amax(x, {axis=, block=}) -> tensor of per-group amax */
static int l_group_amax(lua_State *L) {
  lp_tensor *x = lp_check_contiguous(L, 1);
  lp_qgroups g;
  size_t ng = check_groups(L, 2, x, &g);
  double *buf = lua_newuserdatauv(L, ng * sizeof *buf, 0);
  lp_qact_group_amax(buf, lp_tensor_data(x), (size_t)lp_tensor_numel(x), &g);
  int64_t shape[1] = { (int64_t)ng };
  lp_tensor *t = lp_push_tensor(L, 1, shape, 0);
  float *d = lp_tensor_data(t);
  for (size_t k = 0; k < ng; k++) d[k] = (float)buf[k];
  return 1;
}

/* qk.mx_scale(amax, maxval [, "floor"|"ceil"]) -> 2^e */
static int l_mx_scale(lua_State *L) {
  static const char *const r[] = { "floor", "ceil", NULL };
  double amax = luaL_checknumber(L, 1), maxval = luaL_checknumber(L, 2);
  int rule = luaL_checkoption(L, 3, "floor", r);
  lua_pushnumber(L, lp_mx_scale(amax, maxval, rule));
  return 1;
}

/* qk.absmax(name, lo, hi [, alpha]) -> max |f| over [lo, hi], exactly */
static int l_absmax(lua_State *L) {
  lp_act fn = lp_check_act(L, 1);
  double lo = luaL_checknumber(L, 2), hi = luaL_checknumber(L, 3);
  luaL_argcheck(L, lo <= hi, 3, "the interval's upper end must not be below its lower end");
  lua_pushnumber(L, lp_act_absmax(fn, lp_opt_alpha(L, 4, fn), lo, hi));
  return 1;
}

/* qk.ops(name, x, fmt [, alpha]) -> f(x) with every operation rounded */
static int l_ops(lua_State *L) {
  lp_act fn = lp_check_act(L, 1);
  double x = luaL_checknumber(L, 2);
  const lp_format *f = lp_check_format(L, 3);
  lua_pushnumber(L, lp_act_ops(fn, x, lp_opt_alpha(L, 4, fn), f));
  return 1;
}

static const luaL_Reg methods[] = {
  { "info", m_info }, { "table", m_table }, { "lookup", m_lookup }, { "direct", m_direct }, { "grouped", m_grouped },
  { "telemetry", m_telemetry }, { "round", m_round }, { "code", m_code }, { "eval", m_eval },
  { NULL, NULL },
};

static const luaL_Reg funcs[] = {
  { "new", l_new }, { "ste", l_ste }, { "scatter", l_scatter }, { "amax", l_amax },
  { "group_amax", l_group_amax }, { "mx_scale", l_mx_scale },
  { "absmax", l_absmax }, { "ops", l_ops }, { "scale_grad", l_scale_grad }, { "backward", l_backward },
  { NULL, NULL },
};

int luaopen_lpact_qcore(lua_State *L) {
  if (luaL_newmetatable(L, QACT_MT)) {
    lua_pushcfunction(L, m_gc);
    lua_setfield(L, -2, "__gc");
    luaL_newlib(L, methods);
    lua_setfield(L, -2, "__index");
    lua_pushstring(L, QACT_MT);
    lua_setfield(L, -2, "__name");
  }
  lua_pop(L, 1);
  lua_newtable(L);          /* { qcore = {...} }: merged into lpact */
  luaL_newlib(L, funcs);
  lua_pushvalue(L, -1);
  lua_setfield(L, -3, "qk");          /* the former name, for older scripts */
  lua_setfield(L, -2, "qcore");
  return 1;
}
