/* bind/lm_kernels.c — the language-model kernels for Lua, as the sub-table
 * lpact.lm_kernels: token and positional embeddings, LayerNorm, RMSNorm,
 * fused causal attention (core/embed.h, core/norm.h, core/attention.h),
 * and the text helpers of lpact.data.text. Thin wrappers: they check
 * shapes and ids, allocate their outputs as Tensors already on the stack,
 * and call the C kernel. Autograd ops over them live in
 * stdlib/lpact/transformer.lua.
 *
 * One userdata type, lpact.AttnQuant: the quantizer of the attention
 * probabilities (a format's exact code search, a mode and a scale); __gc
 * frees its tables. */
#include <math.h>
#include <string.h>

#include "bind/bind.h"
#include "core/attention.h"
#include "core/embed.h"
#include "core/format.h"
#include "core/norm.h"
#include "core/parallel.h"
#include "core/rng.h"

#define ATTNQ_MT "lpact.AttnQuant"

static const char *sh(lua_State *L, const lp_tensor *t) {
  char buf[256];
  lp_shape_str(buf, sizeof buf, t->ndim, t->shape);
  return lua_pushstring(L, buf);
}

static lp_tensor *opt_tensor(lua_State *L, int i) {
  return lua_isnoneornil(L, i) ? NULL : lp_check_contiguous(L, i);
}

static float *data_or_null(const lp_tensor *t) { return t ? lp_tensor_data(t) : NULL; }

/* ---- embeddings ---------------------------------------------------------- */

static void check_ids(lua_State *L, const lp_tensor *tok, int64_t V, const char *fn) {
  int64_t bad = lp_embed_check(lp_tensor_data(tok), lp_tensor_numel(tok), V);
  if (bad >= 0)
    luaL_error(L, "%s: token id %f at position %d is not in 0..%d", fn,
               (double)lp_tensor_data(tok)[bad], (int)bad + 1, (int)V - 1);
}

/* lm_kernels.embed(tok (B, T), wte (V, D), wpe (Tmax, D) or nil) -> (B, T, D) */
static int k_embed(lua_State *L) {
  lp_tensor *tok = lp_check_contiguous(L, 1), *wte = lp_check_contiguous(L, 2), *wpe = opt_tensor(L, 3);
  if (tok->ndim != 2 || wte->ndim != 2)
    return luaL_error(L, "embed: ids (B, T) and a table (V, D) expected, got %s and %s", sh(L, tok), sh(L, wte));
  int64_t B = tok->shape[0], T = tok->shape[1], V = wte->shape[0], D = wte->shape[1];
  if (wpe && (wpe->ndim != 2 || wpe->shape[1] != D || wpe->shape[0] < T))
    return luaL_error(L, "embed: positions of shape %s do not fit %d steps of width %d", sh(L, wpe), (int)T, (int)D);
  check_ids(L, tok, V, "embed");
  int64_t shape[3] = {B, T, D};
  lp_tensor *o = lp_push_tensor(L, 3, shape, 0);
  lp_embed_forward(lp_tensor_data(o), lp_tensor_data(tok), lp_tensor_data(wte), data_or_null(wpe), B, T, D);
  return 1;
}

/* lm_kernels.embed_backward(dout (B, T, D), tok (B, T), V, need_wte, npos) -> dwte (V, D), dwpe (npos, D)
 * (npos 0 or nil: no positional gradient) */
static int k_embed_backward(lua_State *L) {
  lp_tensor *d = lp_check_contiguous(L, 1), *tok = lp_check_contiguous(L, 2);
  lua_Integer V = luaL_checkinteger(L, 3), npos = luaL_optinteger(L, 5, 0);
  int nw = lua_toboolean(L, 4);
  if (tok->ndim != 2 || d->ndim != 3 || d->shape[0] != tok->shape[0] || d->shape[1] != tok->shape[1])
    return luaL_error(L, "embed_backward: gradient %s does not fit ids %s", sh(L, d), sh(L, tok));
  int64_t B = tok->shape[0], T = tok->shape[1], D = d->shape[2];
  luaL_argcheck(L, V >= 1, 3, "vocabulary size must be >= 1");
  luaL_argcheck(L, npos == 0 || npos >= T, 5, "fewer positions than steps");
  check_ids(L, tok, V, "embed_backward");
  lua_settop(L, 5);
  int64_t ws[2] = {V, D}, ps[2] = {npos, D};
  lp_tensor *dw = NULL, *dp = NULL;
  if (nw) dw = lp_push_tensor(L, 2, ws, 1);
  else lua_pushnil(L);
  if (npos > 0) dp = lp_push_tensor(L, 2, ps, 1);
  else lua_pushnil(L);
  lp_embed_backward(data_or_null(dw), data_or_null(dp), lp_tensor_data(d), lp_tensor_data(tok), B, T, V, D);
  return 2;
}

/* ---- LayerNorm / RMSNorm -------------------------------------------------- */

/* x as (N, C) over its last dimension; weight / bias (C) or nil. */
static void norm_dims(lua_State *L, lp_tensor *x, int64_t *N, int64_t *C, const char *fn) {
  if (x->ndim < 1) luaL_error(L, "%s: expects at least one dimension, got shape %s", fn, sh(L, x));
  *C = x->shape[x->ndim - 1];
  *N = *C ? lp_tensor_numel(x) / *C : 0;
}

static void check_c(lua_State *L, lp_tensor *t, int64_t C, const char *fn, const char *what) {
  if (t && (t->ndim != 1 || t->shape[0] != C))
    luaL_error(L, "%s: %s of shape %s, expected (%d,)", fn, what, sh(L, t), (int)C);
}

static void check_rows(lua_State *L, lp_tensor *t, int64_t N, const char *fn, const char *what) {
  if (lp_tensor_numel(t) != N) luaL_error(L, "%s: %s of shape %s, expected %d values", fn, what, sh(L, t), (int)N);
}

/* lm_kernels.layernorm(x, weight, bias [, eps = 1e-5]) -> out, mean, rstd */
static int k_layernorm(lua_State *L) {
  lp_tensor *x = lp_check_contiguous(L, 1), *w = opt_tensor(L, 2), *b = opt_tensor(L, 3);
  double eps = luaL_optnumber(L, 4, 1e-5);
  luaL_argcheck(L, eps > 0, 4, "eps must be > 0");
  int64_t N, C;
  norm_dims(L, x, &N, &C, "layernorm");
  check_c(L, w, C, "layernorm", "weight");
  check_c(L, b, C, "layernorm", "bias");
  lua_settop(L, 4);
  int64_t ns[1] = {N};
  lp_tensor *o = lp_push_tensor_like(L, x, 0);
  lp_tensor *mean = lp_push_tensor(L, 1, ns, 0), *rstd = lp_push_tensor(L, 1, ns, 0);
  lp_layernorm_forward(lp_tensor_data(o), lp_tensor_data(mean), lp_tensor_data(rstd), lp_tensor_data(x),
                       data_or_null(w), data_or_null(b), N, C, (float)eps);
  return 3;
}

/* lm_kernels.layernorm_backward(dout, x, weight, mean, rstd, need_dx, need_dw, need_db) -> dx, dw, db */
static int k_layernorm_backward(lua_State *L) {
  lp_tensor *d = lp_check_contiguous(L, 1), *x = lp_check_contiguous(L, 2), *w = opt_tensor(L, 3),
            *mean = lp_check_contiguous(L, 4), *rstd = lp_check_contiguous(L, 5);
  int nx = lua_toboolean(L, 6), nw = lua_toboolean(L, 7), nb = lua_toboolean(L, 8);
  int64_t N, C;
  norm_dims(L, x, &N, &C, "layernorm_backward");
  if (!lp_tensor_same_shape(d, x)) return luaL_error(L, "layernorm_backward: gradient %s vs input %s", sh(L, d), sh(L, x));
  check_c(L, w, C, "layernorm_backward", "weight");
  check_rows(L, mean, N, "layernorm_backward", "mean");
  check_rows(L, rstd, N, "layernorm_backward", "rstd");
  lua_settop(L, 8);
  int64_t cs[1] = {C};
  lp_tensor *dx = NULL, *dw = NULL, *db = NULL;
  if (nx) dx = lp_push_tensor_like(L, x, 1);
  else lua_pushnil(L);
  if (nw) dw = lp_push_tensor(L, 1, cs, 1);
  else lua_pushnil(L);
  if (nb) db = lp_push_tensor(L, 1, cs, 1);
  else lua_pushnil(L);
  lp_layernorm_backward(data_or_null(dx), data_or_null(dw), data_or_null(db), lp_tensor_data(d), lp_tensor_data(x),
                        data_or_null(w), lp_tensor_data(mean), lp_tensor_data(rstd), N, C);
  return 3;
}

/* lm_kernels.rmsnorm(x, weight [, eps = 1e-5]) -> out, rstd */
static int k_rmsnorm(lua_State *L) {
  lp_tensor *x = lp_check_contiguous(L, 1), *w = opt_tensor(L, 2);
  double eps = luaL_optnumber(L, 3, 1e-5);
  luaL_argcheck(L, eps > 0, 3, "eps must be > 0");
  int64_t N, C;
  norm_dims(L, x, &N, &C, "rmsnorm");
  check_c(L, w, C, "rmsnorm", "weight");
  lua_settop(L, 3);
  int64_t ns[1] = {N};
  lp_tensor *o = lp_push_tensor_like(L, x, 0);
  lp_tensor *rstd = lp_push_tensor(L, 1, ns, 0);
  lp_rmsnorm_forward(lp_tensor_data(o), lp_tensor_data(rstd), lp_tensor_data(x), data_or_null(w), N, C, (float)eps);
  return 2;
}

/* lm_kernels.rmsnorm_backward(dout, x, weight, rstd, need_dx, need_dw) -> dx, dw */
static int k_rmsnorm_backward(lua_State *L) {
  lp_tensor *d = lp_check_contiguous(L, 1), *x = lp_check_contiguous(L, 2), *w = opt_tensor(L, 3),
            *rstd = lp_check_contiguous(L, 4);
  int nx = lua_toboolean(L, 5), nw = lua_toboolean(L, 6);
  int64_t N, C;
  norm_dims(L, x, &N, &C, "rmsnorm_backward");
  if (!lp_tensor_same_shape(d, x)) return luaL_error(L, "rmsnorm_backward: gradient %s vs input %s", sh(L, d), sh(L, x));
  check_c(L, w, C, "rmsnorm_backward", "weight");
  check_rows(L, rstd, N, "rmsnorm_backward", "rstd");
  lua_settop(L, 6);
  int64_t cs[1] = {C};
  lp_tensor *dx = NULL, *dw = NULL;
  if (nx) dx = lp_push_tensor_like(L, x, 1);
  else lua_pushnil(L);
  if (nw) dw = lp_push_tensor(L, 1, cs, 1);
  else lua_pushnil(L);
  lp_rmsnorm_backward(data_or_null(dx), data_or_null(dw), lp_tensor_data(d), lp_tensor_data(x), data_or_null(w),
                      lp_tensor_data(rstd), N, C);
  return 2;
}

/* ---- the attention quantizer ---------------------------------------------- */

typedef struct {
  lp_qz qz;
  int mode, ready;
  double scale;
} attnq;

static attnq *check_attnq(lua_State *L, int i) {
  attnq *a = luaL_checkudata(L, i, ATTNQ_MT);
  if (!a->ready) luaL_argerror(L, i, "freed quantizer");
  return a;
}

/* lm_kernels.attn_quant(fmt, mode ("emulate" | "ops"), scale) -> AttnQuant */
static int k_attn_quant(lua_State *L) {
  static const char *const modes[] = {"emulate", "ops", NULL};
  const lp_format *f = lp_check_format(L, 1);
  int mode = luaL_checkoption(L, 2, NULL, modes);
  double s = luaL_checknumber(L, 3);
  luaL_argcheck(L, s > 0 && isfinite(s), 3, "scale must be a positive number");
  if (f->identity || f->bits > LP_QZ_MAXBITS)
    return luaL_argerror(L, 1, lua_pushfstring(L, "attention probabilities need a format of at most %d bits, got '%s'",
                                               LP_QZ_MAXBITS, f->spec));
  attnq *a = lua_newuserdatauv(L, sizeof *a, 0);
  memset(a, 0, sizeof *a);
  luaL_setmetatable(L, ATTNQ_MT);
  a->ready = 1;   /* the zeroed lp_qz is safe to free */
  a->mode = mode, a->scale = s;
  if (lp_qz_init(&a->qz, f) != LP_OK) return luaL_error(L, "not enough memory");
  return 1;
}

static int aq_gc(lua_State *L) {
  attnq *a = luaL_checkudata(L, 1, ATTNQ_MT);
  if (a->ready) {
    lp_qz_free(&a->qz);
    a->ready = 0;
  }
  return 0;
}

/* q:info() -> {ncodes =, values = {by code}, scale =, mode =} */
static int aq_info(lua_State *L) {
  attnq *a = check_attnq(L, 1);
  lua_createtable(L, 0, 4);
  lua_pushinteger(L, a->qz.ncodes);
  lua_setfield(L, -2, "ncodes");
  lua_createtable(L, (int)a->qz.ncodes, 0);
  for (uint32_t c = 0; c < a->qz.ncodes; c++) {
    lua_pushnumber(L, a->qz.val[c]);
    lua_rawseti(L, -2, (lua_Integer)c + 1);
  }
  lua_setfield(L, -2, "values");
  lua_pushnumber(L, a->scale);
  lua_setfield(L, -2, "scale");
  lua_pushstring(L, a->mode == LP_ATTN_OPS ? "ops" : "emulate");
  lua_setfield(L, -2, "mode");
  return 1;
}

/* ---- attention -------------------------------------------------------------- */

typedef struct { int64_t B, T, H, hd; } attn_dims;

static attn_dims attn_check(lua_State *L, lp_tensor *qkv, int hi, const char *fn) {
  attn_dims a;
  lua_Integer H = luaL_checkinteger(L, hi);
  if (qkv->ndim != 3 || qkv->shape[2] % 3 != 0)
    luaL_error(L, "%s: qkv (B, T, 3D) expected, got shape %s", fn, sh(L, qkv));
  int64_t D = qkv->shape[2] / 3;
  if (H < 1 || D % H != 0 || D == 0)
    luaL_error(L, "%s: %d heads do not divide the width %d", fn, (int)H, (int)D);
  a.B = qkv->shape[0], a.T = qkv->shape[1], a.H = H, a.hd = D / H;
  return a;
}

/* The optional quantizer at argument qi, its levels at qi + 1 (a tensor of
 * ncodes values or nil) and the counter at qi + 2. */
static int attn_q(lua_State *L, int qi, lp_attn_q *q) {
  if (lua_isnoneornil(L, qi)) return 0;
  attnq *a = check_attnq(L, qi);
  lp_tensor *lv = opt_tensor(L, qi + 1);
  if (lv && lp_tensor_numel(lv) != (int64_t)a->qz.ncodes)
    luaL_error(L, "attention: %d levels for a format of %d codes", (int)lp_tensor_numel(lv), (int)a->qz.ncodes);
  lua_Integer ctr = luaL_optinteger(L, qi + 2, 0);
  q->qz = &a->qz, q->mode = a->mode, q->scale = a->scale;
  q->levels = data_or_null(lv), q->ctr0 = (uint64_t)ctr;
  return 1;
}

/* Dropout at argument di (probability), di + 1 (seed) and di + 2 (counter
 * base): element e is kept when lp_rand_unit(lp_rng_key(seed, 5), ctr + e)
 * >= p, i.e. lpact.io.random(seed, 5, ctr + e) >= p. 0 if p is nil or 0. */
static int attn_drop(lua_State *L, int di, lp_attn_drop *d) {
  double p = luaL_optnumber(L, di, 0);
  luaL_argcheck(L, p >= 0 && p < 1, di, "dropout probability must be in [0, 1)");
  if (p == 0) return 0;
  lua_Integer seed = luaL_checkinteger(L, di + 1), ctr = luaL_optinteger(L, di + 2, 0);
  d->p = (float)p, d->key = lp_rng_key((uint64_t)seed, 5), d->ctr0 = (uint64_t)ctr;
  return 1;
}

/* lm_kernels.attention(qkv (B, T, 3D), H [, quant, levels, ctr [, p_drop, seed, drop_ctr]])
 * -> out (B, T, D), stats (B, H, T, 3) */
static int k_attention(lua_State *L) {
  lp_tensor *qkv = lp_check_contiguous(L, 1);
  attn_dims a = attn_check(L, qkv, 2, "attention");
  lp_attn_q q;
  int quant = attn_q(L, 3, &q);
  lp_attn_drop dr;
  int drop = attn_drop(L, 6, &dr);
  lua_settop(L, 8);
  int64_t os[3] = {a.B, a.T, a.H * a.hd}, ss[4] = {a.B, a.H, a.T, 3};
  int slots = lp_attention_slots(a.B * a.H);
  int64_t ws[1] = {lp_attention_workspace(a.T, a.hd, slots)};
  lp_tensor *o = lp_push_tensor(L, 3, os, 0);
  lp_tensor *st = lp_push_tensor(L, 4, ss, 0);
  lp_tensor *work = lp_push_tensor(L, 1, ws, 0);
  lp_attention_forward(lp_tensor_data(o), lp_tensor_data(st), lp_tensor_data(work), lp_tensor_data(qkv),
                       a.B, a.T, a.H, a.hd, quant ? &q : NULL, drop ? &dr : NULL);
  lp_tensor_free(work);
  lua_pop(L, 1);
  return 2;
}

/* lm_kernels.attention_backward(dout (B, T, D), qkv, stats, H [, quant, levels, ctr, need_dlevels
 * [, p_drop, seed, drop_ctr]]) (the forward's dropout arguments)
 * -> dqkv (B, T, 3D), dlevels (ncodes) or nil */
static int k_attention_backward(lua_State *L) {
  lp_tensor *d = lp_check_contiguous(L, 1), *qkv = lp_check_contiguous(L, 2), *st = lp_check_contiguous(L, 3);
  attn_dims a = attn_check(L, qkv, 4, "attention_backward");
  lp_attn_q q;
  int quant = attn_q(L, 5, &q);
  int nl = quant && lua_toboolean(L, 8);
  lp_attn_drop dr;
  int drop = attn_drop(L, 9, &dr);
  if (d->ndim != 3 || d->shape[0] != a.B || d->shape[1] != a.T || d->shape[2] != a.H * a.hd)
    return luaL_error(L, "attention_backward: gradient %s does not fit qkv %s", sh(L, d), sh(L, qkv));
  if (st->ndim != 4 || st->shape[0] != a.B || st->shape[1] != a.H || st->shape[2] != a.T || st->shape[3] != 3)
    return luaL_error(L, "attention_backward: statistics of shape %s do not fit qkv %s", sh(L, st), sh(L, qkv));
  lua_settop(L, 11);
  int slots = lp_attention_slots(a.B * a.H);
  int64_t nc = quant ? (int64_t)q.qz->ncodes : 0;
  int64_t ws[1] = {lp_attention_workspace(a.T, a.hd, slots) + (nl ? 2 * a.B * a.H * nc : 0)}, ls[1] = {nc};
  lp_tensor *dq = lp_push_tensor_like(L, qkv, 0);
  lp_tensor *dl = NULL;
  if (nl) dl = lp_push_tensor(L, 1, ls, 1);
  else lua_pushnil(L);
  lp_tensor *work = lp_push_tensor(L, 1, ws, 0);
  float *w = lp_tensor_data(work);
  double *dpart = nl ? (double *)(w + lp_attention_workspace(a.T, a.hd, slots)) : NULL;
  lp_attention_backward(lp_tensor_data(dq), data_or_null(dl), dpart, w, lp_tensor_data(d), lp_tensor_data(qkv),
                        lp_tensor_data(st), a.B, a.T, a.H, a.hd, quant ? &q : NULL, drop ? &dr : NULL);
  lp_tensor_free(work);
  lua_pop(L, 1);
  return 2;
}

/* ---- text --------------------------------------------------------------------- */

/* lm_kernels.encode(s, map) -> ids (#s), or nil, position (1-based) of the
 * first byte whose map entry is missing. map[b + 1] is the id of byte b. */
static int k_encode(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_Integer id[256];
  for (int b = 0; b < 256; b++) {
    lua_geti(L, 2, b + 1);
    id[b] = lua_isinteger(L, -1) ? lua_tointeger(L, -1) : -1;
    lua_pop(L, 1);
  }
  for (size_t i = 0; i < n; i++)
    if (id[(unsigned char)s[i]] < 0) {
      lua_pushnil(L);
      lua_pushinteger(L, (lua_Integer)i + 1);
      return 2;
    }
  int64_t shape[1] = {(int64_t)n};
  lp_tensor *t = lp_push_tensor(L, 1, shape, 0);
  float *o = lp_tensor_data(t);
  for (size_t i = 0; i < n; i++) o[i] = (float)id[(unsigned char)s[i]];
  return 1;
}

/* lm_kernels.windows(ids (N), starts (a list of 0-based offsets), T) -> x (B, T), y (B, T):
 * x[b] = ids[start_b .. start_b + T), y[b] the same shifted by one. */
static int k_windows(lua_State *L) {
  lp_tensor *ids = lp_check_contiguous(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_Integer T = luaL_checkinteger(L, 3);
  lua_Integer B = luaL_len(L, 2);
  int64_t n = lp_tensor_numel(ids);
  luaL_argcheck(L, T >= 1 && T < n, 3, "window length must be in 1 .. #ids - 1");
  luaL_argcheck(L, B >= 1 && B <= (1 << 24), 2, "between 1 and 2^24 windows expected");
  for (lua_Integer b = 1; b <= B; b++) {
    lua_geti(L, 2, b);
    lua_Integer s = lua_isinteger(L, -1) ? lua_tointeger(L, -1) : -1;
    lua_pop(L, 1);
    if (s < 0 || s + T + 1 > n) return luaL_error(L, "windows: start %d of window %d outside 0..%d", (int)s, (int)b, (int)(n - T - 1));
  }
  int64_t shape[2] = {B, T};
  lp_tensor *x = lp_push_tensor(L, 2, shape, 0);
  lp_tensor *y = lp_push_tensor(L, 2, shape, 0);
  const float *src = lp_tensor_data(ids);
  for (lua_Integer b = 0; b < B; b++) {
    lua_geti(L, 2, b + 1);
    int64_t s = lua_tointeger(L, -1);
    lua_pop(L, 1);
    memcpy(lp_tensor_data(x) + b * T, src + s, (size_t)T * sizeof(float));
    memcpy(lp_tensor_data(y) + b * T, src + s + 1, (size_t)T * sizeof(float));
  }
  return 2;
}

/* lm_kernels.lanes([level]) -> the lane level in force before, the best
 * this CPU runs: the build of the attention and activation loops
 * (lp_quantize_simd: 0 baseline, 1 AVX2, 2 AVX-512; nil or -1 the best;
 * every level gives the same bits). For tests and benchmarks. */
static int k_lanes(lua_State *L) {
  lua_Integer l = luaL_optinteger(L, 1, -1);
  luaL_argcheck(L, l >= -1 && l <= lp_quantize_simd_max(), 1, "lane level not run by this CPU");
  lua_pushinteger(L, lp_quantize_simd((int)l));
  lua_pushinteger(L, lp_quantize_simd_max());
  return 2;
}

static const luaL_Reg kernels[] = {
  {"lanes", k_lanes},
  {"embed", k_embed}, {"embed_backward", k_embed_backward},
  {"layernorm", k_layernorm}, {"layernorm_backward", k_layernorm_backward},
  {"rmsnorm", k_rmsnorm}, {"rmsnorm_backward", k_rmsnorm_backward},
  {"attn_quant", k_attn_quant}, {"attention", k_attention}, {"attention_backward", k_attention_backward},
  {"encode", k_encode}, {"windows", k_windows},
  {NULL, NULL}};

int luaopen_lpact_lm_kernels(lua_State *L) {
  static const luaL_Reg aq_methods[] = {{"info", aq_info}, {NULL, NULL}};
  luaL_newmetatable(L, ATTNQ_MT);
  lua_pushcfunction(L, aq_gc);
  lua_setfield(L, -2, "__gc");
  luaL_newlib(L, aq_methods);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
  lua_createtable(L, 0, 1);
  luaL_newlib(L, kernels);
  lua_setfield(L, -2, "lm_kernels");
  return 1;
}
