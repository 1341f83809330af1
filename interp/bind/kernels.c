/* bind/kernels.c — the neural-network kernels for Lua, as lpact.kernels.*:
 * thin wrappers over core/ops_*.h and core/act.h that check shapes, allocate their outputs
 * as Tensors (already on the stack, so an error frees them) and call the
 * C kernel. Backward wrappers return fresh gradient tensors (nil for the
 * ones not asked for). Autograd (stdlib/lpact/autograd.lua) is built on
 * these. All tensor arguments must be contiguous. */
#include <math.h>
#include <string.h>

#include "bind/bind.h"
#include "core/act.h"
#include "core/conv_implicit.h"
#include "core/conv_winograd.h"
#include "core/ops_conv.h"
#include "core/ops_elem.h"
#include "core/ops_nn.h"
#include "core/rng.h"

static const char *sh(lua_State *L, const lp_tensor *t) {
  char buf[256];
  lp_shape_str(buf, sizeof buf, t->ndim, t->shape);
  return lua_pushstring(L, buf);
}

static lp_tensor *opt_tensor(lua_State *L, int i) {
  return lua_isnoneornil(L, i) ? NULL : lp_check_contiguous(L, i);
}

static float *data_or_null(const lp_tensor *t) { return t ? lp_tensor_data(t) : NULL; }

/* Pushes a zeroed tensor of the shape of argument i (or nil when !want). */
static lp_tensor *push_grad(lua_State *L, int want, int i) {
  if (!want) {
    lua_pushnil(L);
    return NULL;
  }
  return lp_push_tensor_like(L, lp_check_tensor(L, i), 1);
}

/* ---- linear ------------------------------------------------------------- */

/* kernels.linear(x (N, K), w (O, K), b (O) or nil) -> (N, O) */
static int k_linear(lua_State *L) {
  lp_tensor *x = lp_check_contiguous(L, 1), *w = lp_check_contiguous(L, 2), *b = opt_tensor(L, 3);
  if (x->ndim != 2 || w->ndim != 2 || x->shape[1] != w->shape[1])
    return luaL_error(L, "linear: input of shape %s does not fit weight of shape %s (expected (N, %d))",
                      sh(L, x), sh(L, w), w->ndim == 2 ? (int)w->shape[1] : -1);
  if (b && (b->ndim != 1 || b->shape[0] != w->shape[0]))
    return luaL_error(L, "linear: bias of shape %s does not fit weight of shape %s", sh(L, b), sh(L, w));
  int64_t N = x->shape[0], K = x->shape[1], O = w->shape[0], shape[2] = {N, O};
  lp_tensor *o = lp_push_tensor(L, 2, shape, 0);
  lp_linear_forward(lp_tensor_data(o), lp_tensor_data(x), lp_tensor_data(w), data_or_null(b), N, K, O);
  return 1;
}

/* kernels.linear_backward(dout, x, w, need_dx, need_dw, need_db) -> dx, dw, db */
static int k_linear_backward(lua_State *L) {
  lp_tensor *d = lp_check_contiguous(L, 1), *x = lp_check_contiguous(L, 2), *w = lp_check_contiguous(L, 3);
  int nx = lua_toboolean(L, 4), nw = lua_toboolean(L, 5), nb = lua_toboolean(L, 6);
  if (x->ndim != 2 || w->ndim != 2 || d->ndim != 2 || x->shape[1] != w->shape[1] ||
      d->shape[0] != x->shape[0] || d->shape[1] != w->shape[0])
    return luaL_error(L, "linear_backward: shapes %s, %s, %s do not fit", sh(L, d), sh(L, x), sh(L, w));
  int64_t N = x->shape[0], K = x->shape[1], O = w->shape[0], bs[1] = {O};
  lua_settop(L, 6);
  /* written, not accumulated: no need to zero them first */
  lp_tensor *dx = NULL, *dw = NULL, *db = NULL;
  if (nx) dx = lp_push_tensor_like(L, lp_check_tensor(L, 2), 0);
  else lua_pushnil(L);
  if (nw) dw = lp_push_tensor_like(L, lp_check_tensor(L, 3), 0);
  else lua_pushnil(L);
  if (nb) db = lp_push_tensor(L, 1, bs, 0);
  else lua_pushnil(L);
  lp_linear_backward(data_or_null(dx), data_or_null(dw), data_or_null(db), lp_tensor_data(lp_check_tensor(L, 1)),
                     lp_tensor_data(lp_check_tensor(L, 2)), lp_tensor_data(lp_check_tensor(L, 3)), N, K, O, 0);
  return 3;
}

/* ---- conv2d ------------------------------------------------------------- */

typedef struct { int64_t N, C, H, W, O, OH, OW; int kh, kw, stride, pad; } conv_dims;

#define CONV_WORK_BUDGET ((int64_t)6 << 20)   /* floats: 24 MB */

static conv_dims conv_check(lua_State *L, lp_tensor *x, lp_tensor *w, int si, int pi, const char *fn) {
  conv_dims c;
  lua_Integer stride = luaL_optinteger(L, si, 1), pad = luaL_optinteger(L, pi, 0);
  luaL_argcheck(L, stride >= 1 && stride <= 1024, si, "stride must be >= 1");
  luaL_argcheck(L, pad >= 0 && pad <= 1024, pi, "padding must be >= 0");
  if (x->ndim != 4 || w->ndim != 4 || x->shape[1] != w->shape[1])
    luaL_error(L, "%s: input of shape %s does not fit weight of shape %s (expected (N, %d, H, W))",
               fn, sh(L, x), sh(L, w), w->ndim == 4 ? (int)w->shape[1] : -1);
  c.N = x->shape[0]; c.C = x->shape[1]; c.H = x->shape[2]; c.W = x->shape[3];
  c.O = w->shape[0]; c.kh = (int)w->shape[2]; c.kw = (int)w->shape[3];
  c.stride = (int)stride; c.pad = (int)pad;
  if (c.H + 2 * pad < c.kh || c.W + 2 * pad < c.kw)
    luaL_error(L, "%s: kernel %dx%d larger than padded input of shape %s", fn, c.kh, c.kw, sh(L, x));
  c.OH = (c.H + 2 * pad - c.kh) / stride + 1;
  c.OW = (c.W + 2 * pad - c.kw) / stride + 1;
  return c;
}

/* A kept workspace holds im2col(x) for the x, kernel size, stride and pad
 * of the conv2d that made it; the backward trusts it only for those. The
 * registry's table (weak keys) maps the workspace to {x, kh, kw, stride,
 * pad}; conv2d_backward removes the entry (it overwrites the workspace),
 * and recomputes im2col for a workspace without a matching entry. */
static const char WORK_TAGS = 0;

static void work_tags(lua_State *L) {
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, &WORK_TAGS) != LUA_TNIL) return;
  lua_pop(L, 1);
  lua_newtable(L);
  lua_newtable(L);
  lua_pushliteral(L, "k");
  lua_setfield(L, -2, "__mode");
  lua_setmetatable(L, -2);
  lua_pushvalue(L, -1);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &WORK_TAGS);
}

/* Tags the workspace at index wi as made from the x at index xi. */
static void work_tag(lua_State *L, int wi, int xi, const conv_dims *c) {
  work_tags(L);
  lua_pushvalue(L, wi);
  lua_createtable(L, 5, 0);
  lua_pushvalue(L, xi);
  lua_rawseti(L, -2, 1);
  lua_Integer v[4] = {c->kh, c->kw, c->stride, c->pad};
  for (int i = 0; i < 4; i++) {
    lua_pushinteger(L, v[i]);
    lua_rawseti(L, -2, i + 2);
  }
  lua_rawset(L, -3);
  lua_pop(L, 1);
}

/* 1 when the workspace at wi was made by conv2d from the x at xi with c's
 * kernel, stride and pad; the tag is removed either way. */
static int work_untag(lua_State *L, int wi, int xi, const conv_dims *c) {
  work_tags(L);
  lua_pushvalue(L, wi);
  int ok = lua_rawget(L, -2) == LUA_TTABLE;
  if (ok) {
    lua_Integer v[4] = {c->kh, c->kw, c->stride, c->pad};
    lua_rawgeti(L, -1, 1);
    ok = lua_rawequal(L, -1, xi);
    lua_pop(L, 1);
    for (int i = 0; ok && i < 4; i++) {
      lua_rawgeti(L, -1, i + 2);
      ok = lua_tointeger(L, -1) == v[i];
      lua_pop(L, 1);
    }
  }
  lua_pop(L, 1);
  lua_pushvalue(L, wi);
  lua_pushnil(L);
  lua_rawset(L, -3);
  lua_pop(L, 1);
  return ok;
}

/* kernels.conv2d(x (N,C,H,W), w (O,C,kh,kw), b (O) or nil, stride, pad [, keep])
 * -> (N,O,OH,OW) [, work]: with keep, also the workspace, to hand to
 * conv2d_backward: it holds im2col(x) where the forward made one, so the
 * backward need not recompute it ("same" shapes on AVX-512 make none:
 * core/conv_implicit.h). */
static int k_conv2d(lua_State *L) {
  lp_tensor *x = lp_check_contiguous(L, 1), *w = lp_check_contiguous(L, 2), *b = opt_tensor(L, 3);
  conv_dims c = conv_check(L, x, w, 4, 5, "conv2d");
  int keep = lua_toboolean(L, 6);
  if (b && (b->ndim != 1 || b->shape[0] != c.O))
    return luaL_error(L, "conv2d: bias of shape %s does not fit weight of shape %s", sh(L, b), sh(L, w));
  int64_t shape[4] = {c.N, c.O, c.OH, c.OW};
  int64_t ws[1] = {lp_conv2d_workspace(c.N, c.C, c.O, c.kh, c.kw, c.OH, c.OW)};
  /* Without keep (no backward to feed), big batches go through in chunks
   * of samples so the workspace stays small enough for the storage cache
   * (evaluation with batches of 1000 would otherwise map fresh memory). */
  int64_t per = lp_conv2d_workspace(1, c.C, c.O, c.kh, c.kw, c.OH, c.OW), chunk = c.N;
  if (!keep && ws[0] > CONV_WORK_BUDGET) {
    chunk = per > 0 ? CONV_WORK_BUDGET / per : c.N;
    if (chunk < 1) chunk = 1;
    ws[0] = per * chunk;
  }
  lua_settop(L, 6);
  lp_tensor *o = lp_push_tensor(L, 4, shape, 0);
  lp_tensor *work = lp_push_tensor(L, 1, ws, 0);
  for (int64_t n0 = 0; n0 < c.N; n0 += chunk) {
    int64_t nb = c.N - n0 < chunk ? c.N - n0 : chunk;
    lp_conv2d_forward(lp_tensor_data(o) + n0 * c.O * c.OH * c.OW, lp_tensor_data(work),
                      lp_tensor_data(lp_check_tensor(L, 1)) + n0 * c.C * c.H * c.W,
                      lp_tensor_data(lp_check_tensor(L, 2)), b ? lp_tensor_data(lp_check_tensor(L, 3)) : NULL,
                      nb, c.C, c.H, c.W, c.O, c.kh, c.kw, c.stride, c.pad);
  }
  if (keep) {
    work_tag(L, 8, 1, &c);
    return 2;
  }
  lp_tensor_free(work);   /* back to the cache at once */
  lua_pop(L, 1);
  return 1;
}

/* kernels.conv2d_backward(dout, x, w, stride, pad, need_dx, need_dw, need_db [, work])
 * -> dx, dw, db. work: the second result of conv2d(..., true) for this x
 * and w (reused, then overwritten); without it a workspace is made. A
 * workspace of the right size from another conv2d, or one a backward has
 * used already, is only scratch: im2col is made again. */
static int k_conv2d_backward(lua_State *L) {
  lp_tensor *d = lp_check_contiguous(L, 1), *x = lp_check_contiguous(L, 2), *w = lp_check_contiguous(L, 3);
  conv_dims c = conv_check(L, x, w, 4, 5, "conv2d_backward");
  int nx = lua_toboolean(L, 6), nw = lua_toboolean(L, 7), nb = lua_toboolean(L, 8);
  lp_tensor *given = opt_tensor(L, 9);
  if (d->ndim != 4 || d->shape[0] != c.N || d->shape[1] != c.O || d->shape[2] != c.OH || d->shape[3] != c.OW)
    return luaL_error(L, "conv2d_backward: gradient of shape %s, expected (%d, %d, %d, %d)", sh(L, d),
                      (int)c.N, (int)c.O, (int)c.OH, (int)c.OW);
  int64_t bs[1] = {c.O}, ws[1] = {lp_conv2d_workspace(c.N, c.C, c.O, c.kh, c.kw, c.OH, c.OW)};
  if (given && lp_tensor_numel(given) != ws[0])
    return luaL_error(L, "conv2d_backward: workspace of %d floats, expected %d (from conv2d with the same x and w)",
                      (int)lp_tensor_numel(given), (int)ws[0]);
  lua_settop(L, 9);
  int col_ready = given && work_untag(L, 9, 2, &c);
  lp_tensor *dx = NULL, *dw = NULL, *db = NULL;   /* overwritten: not zeroed here */
  if (nx) dx = lp_push_tensor_like(L, lp_check_tensor(L, 2), 0);
  else lua_pushnil(L);
  if (nw) dw = lp_push_tensor_like(L, lp_check_tensor(L, 3), 0);
  else lua_pushnil(L);
  if (nb) db = lp_push_tensor(L, 1, bs, 0);
  else lua_pushnil(L);
  lp_tensor *work = given ? lp_check_tensor(L, 9) : lp_push_tensor(L, 1, ws, 0);
  lp_conv2d_backward(data_or_null(dx), data_or_null(dw), data_or_null(db), lp_tensor_data(work),
                     lp_tensor_data(lp_check_tensor(L, 1)), lp_tensor_data(lp_check_tensor(L, 2)),
                     lp_tensor_data(lp_check_tensor(L, 3)), c.N, c.C, c.H, c.W, c.O,
                     c.kh, c.kw, c.stride, c.pad, col_ready, 0);
  if (!given) {
    lp_tensor_free(work);
    lua_pop(L, 1);
  }
  return 3;
}

/* ---- pooling ------------------------------------------------------------ */

/* A pooling's window, stride and padding from arguments ki, ki + 1 and
 * ki + 2 (stride defaults to the window, padding to 0) over planes H x W
 * (dims 2 and 3 of x); its output size in OH, OW. */
static void pool_args_at(lua_State *L, int ki, lp_tensor *x, int *k, int *s, int *p, int64_t *OH, int64_t *OW,
                         const char *fn) {
  lua_Integer kk = luaL_checkinteger(L, ki), ss = luaL_optinteger(L, ki + 1, kk), pp = luaL_optinteger(L, ki + 2, 0);
  luaL_argcheck(L, kk >= 1 && kk <= 1024, ki, "window size must be >= 1");
  luaL_argcheck(L, ss >= 1 && ss <= 1024, ki + 1, "stride must be >= 1");
  luaL_argcheck(L, pp >= 0 && pp * 2 <= kk, ki + 2, "padding must be between 0 and half the window");
  if (x->ndim != 4) luaL_error(L, "%s: expects (N, C, H, W), got shape %s", fn, sh(L, x));
  if (x->shape[2] + 2 * pp < kk || x->shape[3] + 2 * pp < kk)
    luaL_error(L, "%s: window %d larger than input of shape %s", fn, (int)kk, sh(L, x));
  *k = (int)kk; *s = (int)ss; *p = (int)pp;
  *OH = (x->shape[2] + 2 * pp - kk) / ss + 1;
  *OW = (x->shape[3] + 2 * pp - kk) / ss + 1;
}
#define pool_args(L, x, k, s, p, OH, OW, fn) pool_args_at(L, 2, x, k, s, p, OH, OW, fn)

/* kernels.maxpool2d(x, k [, stride=k, pad=0]) -> out, idx (argmax per window, for the backward) */
static int k_maxpool2d(lua_State *L) {
  lp_tensor *x = lp_check_contiguous(L, 1);
  int k, s, p;
  int64_t OH, OW;
  pool_args(L, x, &k, &s, &p, &OH, &OW, "maxpool2d");
  int64_t shape[4] = {x->shape[0], x->shape[1], OH, OW};
  lp_tensor *o = lp_push_tensor(L, 4, shape, 0);
  lp_tensor *idx = lp_push_tensor(L, 4, shape, 0);
  x = lp_check_contiguous(L, 1);
  lp_maxpool2d_forward(lp_tensor_data(o), (int32_t *)lp_tensor_data(idx), lp_tensor_data(x),
                       x->shape[0], x->shape[1], x->shape[2], x->shape[3], k, s, p);
  return 2;
}

/* dout and idx (N, C, OH, OW) fit x (N, C, H, W); raises otherwise */
static void pool_shapes_ok(lua_State *L, lp_tensor *d, lp_tensor *idx, lp_tensor *x, const char *fn) {
  if (!lp_tensor_same_shape(d, idx) || d->ndim != 4 || x->ndim != 4 || d->shape[0] != x->shape[0] ||
      d->shape[1] != x->shape[1])
    luaL_error(L, "%s: shapes %s, %s, %s do not fit", fn, sh(L, d), sh(L, idx), sh(L, x));
}

/* The kernels skip and report an index outside its plane (they would write
 * dx there); this names the first one. */
static int pool_bad_index(lua_State *L, lp_tensor *idx, lp_tensor *x, const char *fn) {
  const int32_t *ix = (const int32_t *)lp_tensor_data(idx);
  int64_t plane = x->shape[2] * x->shape[3], nidx = lp_tensor_numel(idx), i = 0;
  while (i < nidx && ix[i] >= 0 && ix[i] < plane) i++;
  return luaL_error(L, "%s: index %d at position %d is outside an input plane of %d "
                    "(idx must come from the pooling of this x)", fn, i < nidx ? (int)ix[i] : -1, (int)i + 1,
                    (int)plane);
}

/* kernels.maxpool2d_backward(dout, idx, x) -> dx */
static int k_maxpool2d_backward(lua_State *L) {
  lp_tensor *d = lp_check_contiguous(L, 1), *idx = lp_check_contiguous(L, 2), *x = lp_check_contiguous(L, 3);
  pool_shapes_ok(L, d, idx, x, "maxpool2d_backward");
  lp_tensor *dx = lp_push_tensor_like(L, x, 0);   /* the kernel clears it plane by plane */
  if (lp_maxpool2d_backward(lp_tensor_data(dx), lp_tensor_data(d), (const int32_t *)lp_tensor_data(idx),
                            dx->shape[0], dx->shape[1], dx->shape[2], dx->shape[3], d->shape[2], d->shape[3]))
    return pool_bad_index(L, idx, x, "maxpool2d_backward");
  return 1;
}

static lp_act check_act(lua_State *L, int i, float *alpha, int ai);

/* Planes too large for the fused pass: f(x) in full, then the pooling
 * into o and ix (the same bits); the temporary is freed at once. */
static void act_then_maxpool(lua_State *L, lp_act a, float alpha, lp_tensor *x, lp_tensor *o, int32_t *ix, int k,
                             int s, int p) {
  lp_tensor *f = lp_push_tensor_like(L, x, 0);
  lp_act_forward(a, lp_tensor_data(f), lp_tensor_data(x), lp_tensor_numel(x), alpha);
  lp_maxpool2d_forward(lp_tensor_data(o), ix, lp_tensor_data(f), x->shape[0], x->shape[1], x->shape[2],
                       x->shape[3], k, s, p);
  lp_tensor_free(f);
  lua_pop(L, 1);
}

/* kernels.act_maxpool2d(x, k, stride, pad, name [, alpha]) -> out, idx:
 * maxpool2d(act(name, x, alpha), k, stride, pad) without act's output
 * written out (the same bits) */
static int k_act_maxpool2d(lua_State *L) {
  lp_tensor *x = lp_check_contiguous(L, 1);
  int k, s, p;
  int64_t OH, OW;
  pool_args(L, x, &k, &s, &p, &OH, &OW, "act_maxpool2d");
  float alpha;
  lp_act a = check_act(L, 5, &alpha, 6);
  int64_t shape[4] = {x->shape[0], x->shape[1], OH, OW};
  lp_tensor *o = lp_push_tensor(L, 4, shape, 0);
  lp_tensor *idx = lp_push_tensor(L, 4, shape, 0);
  x = lp_check_contiguous(L, 1);
  int32_t *ix = (int32_t *)lp_tensor_data(idx);
  if (lp_act_maxpool2d_forward(a, alpha, lp_tensor_data(o), ix, lp_tensor_data(x), x->shape[0], x->shape[1],
                               x->shape[2], x->shape[3], k, s, p) == 0)
    return 2;
  act_then_maxpool(L, a, alpha, lp_check_contiguous(L, 1), o, ix, k, s, p);
  return 2;
}

/* kernels.conv2d_act_maxpool2d(x, w, b, stride, pad, name, alpha, k [, pstride=k, ppad=0 [, drop]])
 * -> y, work, out, idx: y, work = conv2d(x, w, b, stride, pad, true) and out, idx = act_maxpool2d(y,
 * k, pstride, ppad, name, alpha), the same bits, each sample pooled while its convolution is in
 * cache. drop: y may be left unmade (false in its place) where the kernels pool without it */
static int k_conv2d_act_maxpool2d(lua_State *L) {
  lp_tensor *x = lp_check_contiguous(L, 1), *w = lp_check_contiguous(L, 2), *b = opt_tensor(L, 3);
  conv_dims c = conv_check(L, x, w, 4, 5, "conv2d_act_maxpool2d");
  if (b && (b->ndim != 1 || b->shape[0] != c.O))
    return luaL_error(L, "conv2d_act_maxpool2d: bias of shape %s does not fit weight of shape %s", sh(L, b),
                      sh(L, w));
  float alpha;
  lp_act a = check_act(L, 6, &alpha, 7);
  int kk, ss, pp;
  int64_t POH, POW, shape[4] = {c.N, c.O, c.OH, c.OW};
  lp_tensor yshape = {.ndim = 4, .shape = {c.N, c.O, c.OH, c.OW}};   /* the convolution's output, for the checks */
  pool_args_at(L, 8, &yshape, &kk, &ss, &pp, &POH, &POW, "conv2d_act_maxpool2d");
  int64_t pshape[4] = {c.N, c.O, POH, POW};
  int64_t ws[1] = {lp_conv2d_workspace(c.N, c.C, c.O, c.kh, c.kw, c.OH, c.OW)};
  int drop = lua_toboolean(L, 11);
  lua_settop(L, 10);
  lp_tensor *y = lp_push_tensor(L, 4, shape, 0);
  lp_tensor *work = lp_push_tensor(L, 1, ws, 0);
  lp_tensor *o = lp_push_tensor(L, 4, pshape, 0);
  lp_tensor *idx = lp_push_tensor(L, 4, pshape, 0);
  const float *xd = lp_tensor_data(lp_check_tensor(L, 1)), *wd = lp_tensor_data(lp_check_tensor(L, 2));
  const float *bd = b ? lp_tensor_data(lp_check_tensor(L, 3)) : NULL;
  int32_t *ix = (int32_t *)lp_tensor_data(idx);
  int r = lp_conv2d_act_maxpool2d_forward(lp_tensor_data(y), lp_tensor_data(work), lp_tensor_data(o), ix, xd, wd,
                                          bd, c.N, c.C, c.H, c.W, c.O, c.kh, c.kw, c.stride, c.pad, a, alpha, kk,
                                          ss, pp, drop);
  if (r == 1) {   /* y not made */
    lp_tensor_free(y);
    lua_pushboolean(L, 0);
    lua_replace(L, 11);
  } else if (r != 0) {
    /* output planes too large to pool fused: the three passes */
    lp_conv2d_forward(lp_tensor_data(y), lp_tensor_data(work), xd, wd, bd, c.N, c.C, c.H, c.W, c.O, c.kh, c.kw,
                      c.stride, c.pad);
    act_then_maxpool(L, a, alpha, y, o, ix, kk, ss, pp);
  }
  work_tag(L, 12, 1, &c);
  return 4;
}

/* kernels.conv2d_implicit(x, w, stride, pad) -> true when this machine runs this convolution with the
 * implicit kernels (conv_implicit.h: no im2col workspace is touched, and conv2d_act_maxpool2d pools
 * each sample as it is made) */
static int k_conv2d_implicit(lua_State *L) {
  lp_tensor *x = lp_check_contiguous(L, 1), *w = lp_check_contiguous(L, 2);
  conv_dims c = conv_check(L, x, w, 3, 4, "conv2d_implicit");
  lua_pushboolean(L, lp_conv_implicit_ok(c.C, c.H, c.W, c.O, c.kh, c.kw, c.stride, c.pad));
  return 1;
}

/* kernels.conv2d_winograd(x, w, stride, pad) -> true when this machine runs this convolution's forward
 * and weight gradient by Winograd's F(2x2, 3x3) (conv_winograd.h): other bits than the direct sum,
 * another accuracy on inputs of many scales, and fewer multiplications than a rate counted from the
 * direct sum's supposes. The input gradient is the forward of the flipped weights (O input channels):
 * by Winograd when w has 8 or more output channels, whatever this says. */
static int k_conv2d_winograd(lua_State *L) {
  lp_tensor *x = lp_check_contiguous(L, 1), *w = lp_check_contiguous(L, 2);
  conv_dims c = conv_check(L, x, w, 3, 4, "conv2d_winograd");
  lua_pushboolean(L, lp_conv_implicit_ok(c.C, c.H, c.W, c.O, c.kh, c.kw, c.stride, c.pad) &&
                         lp_conv_winograd_ok(c.C, c.H, c.W, c.O, c.kh, c.kw, c.stride, c.pad));
  return 1;
}

/* kernels.winograd([on]) -> whether 3x3 convolutions with 8 or more input channels may run by
 * Winograd's F(2x2, 3x3) (before the call); a boolean on sets it for the process (starts true, false
 * under LPACT_WINOGRAD=0). Off, they run by the direct sums: other bits, recorded in sweep ids. */
static int k_winograd(lua_State *L) {
  int old = lp_conv_winograd_on();
  if (!lua_isnoneornil(L, 1)) {
    luaL_checktype(L, 1, LUA_TBOOLEAN);
    lp_conv_winograd_use(lua_toboolean(L, 1));
  }
  lua_pushboolean(L, old);
  return 1;
}

/* kernels.act_maxpool2d_backward(dout, idx, x, name [, alpha [, out [, with_db [, k [, stride=k, pad=0]]]]])
 * -> dx [, db]: dx = act_backward(name, maxpool2d_backward(dout, idx, x), x, alpha), x the activation's
 * input; out, act_maxpool2d's first result, with the window k, stride, pad it was pooled with, lets ReLU's
 * 2x2 stride-2 windows skip reading x (the same bits); with_db: also db (C), the bias gradient
 * conv2d_backward would make from dx (the same bits). x may be x's shape {N, C, H, W} instead, for
 * ReLU with out: then nil is returned when a plane needs x after all (the caller makes x and calls
 * again). */
static int k_act_maxpool2d_backward(lua_State *L) {
  float alpha;
  lp_act a = check_act(L, 4, &alpha, 5);
  lp_tensor *d = lp_check_contiguous(L, 1), *idx = lp_check_contiguous(L, 2), *x = NULL;
  lp_tensor xs = {.ndim = 4};   /* x's shape only, when x is not given */
  if (lua_istable(L, 3)) {
    for (int i = 0; i < 4; i++) {
      lua_rawgeti(L, 3, i + 1);
      lua_Integer v = lua_tointeger(L, -1);
      if (!lua_isinteger(L, -1) || v < 1 || v > ((lua_Integer)1 << 40))
        return luaL_error(L, "act_maxpool2d_backward: shape {N, C, H, W} of positive integers expected");
      xs.shape[i] = v;
      lua_pop(L, 1);
    }
  } else {
    x = lp_check_contiguous(L, 3);
  }
  lp_tensor *out = lua_isnoneornil(L, 6) ? NULL : lp_check_contiguous(L, 6);
  int with_db = lua_toboolean(L, 7);
  lp_tensor *xt = x ? x : &xs;
  pool_shapes_ok(L, d, idx, xt, "act_maxpool2d_backward");
  int k = 0, s = 0, p = 0;
  if (out) {
    int64_t OH, OW;
    if (!lp_tensor_same_shape(out, idx))
      return luaL_error(L, "act_maxpool2d_backward: output of shape %s, indices %s", sh(L, out), sh(L, idx));
    pool_args_at(L, 8, xt, &k, &s, &p, &OH, &OW, "act_maxpool2d_backward");
    if (OH != d->shape[2] || OW != d->shape[3])
      return luaL_error(L, "act_maxpool2d_backward: window %d, stride %d, pad %d over %s gives %dx%d planes, "
                        "the gradient has shape %s", k, s, p, sh(L, xt), (int)OH, (int)OW, sh(L, d));
  }
  lua_settop(L, 10);
  lp_tensor *dx = lp_push_tensor(L, 4, xt->shape, 0);
  lp_tensor *db = with_db ? lp_push_tensor(L, 1, &xt->shape[1], 0) : NULL;
  int r = lp_act_maxpool2d_backward(a, alpha, lp_tensor_data(dx), db ? lp_tensor_data(db) : NULL,
                                    lp_tensor_data(d), (const int32_t *)lp_tensor_data(idx),
                                    x ? lp_tensor_data(x) : NULL, out ? lp_tensor_data(out) : NULL, dx->shape[0],
                                    dx->shape[1], dx->shape[2], dx->shape[3], d->shape[2], d->shape[3], k, s, p);
  if (r == -2) {
    lua_pushnil(L);
    return 1;
  }
  if (r) return pool_bad_index(L, idx, dx, "act_maxpool2d_backward");
  return with_db ? 2 : 1;
}

/* kernels.avgpool2d(x, k [, stride=k, pad=0]) -> out */
static int k_avgpool2d(lua_State *L) {
  lp_tensor *x = lp_check_contiguous(L, 1);
  int k, s, p;
  int64_t OH, OW;
  pool_args(L, x, &k, &s, &p, &OH, &OW, "avgpool2d");
  int64_t shape[4] = {x->shape[0], x->shape[1], OH, OW};
  lp_tensor *o = lp_push_tensor(L, 4, shape, 0);
  x = lp_check_contiguous(L, 1);
  lp_avgpool2d_forward(lp_tensor_data(o), lp_tensor_data(x), x->shape[0], x->shape[1], x->shape[2],
                       x->shape[3], k, s, p);
  return 1;
}

/* kernels.avgpool2d_backward(dout, k, stride, pad, x) -> dx */
static int k_avgpool2d_backward(lua_State *L) {
  lp_tensor *d = lp_check_contiguous(L, 1), *x = lp_check_contiguous(L, 5);
  int k, s, p;
  int64_t OH, OW;
  pool_args(L, x, &k, &s, &p, &OH, &OW, "avgpool2d_backward");
  if (d->ndim != 4 || d->shape[0] != x->shape[0] || d->shape[1] != x->shape[1] || d->shape[2] != OH ||
      d->shape[3] != OW)
    return luaL_error(L, "avgpool2d_backward: gradient of shape %s does not fit input %s", sh(L, d), sh(L, x));
  lp_tensor *dx = lp_push_tensor_like(L, x, 1);
  lp_avgpool2d_backward(lp_tensor_data(dx), lp_tensor_data(d), dx->shape[0], dx->shape[1], dx->shape[2],
                        dx->shape[3], k, s, p);
  return 1;
}

/* ---- batchnorm ---------------------------------------------------------- */

static void bn_dims(lua_State *L, lp_tensor *x, int64_t *N, int64_t *C, int64_t *S, const char *fn) {
  if (x->ndim != 2 && x->ndim != 4)
    luaL_error(L, "%s: expects (N, C) or (N, C, H, W), got shape %s", fn, sh(L, x));
  *N = x->shape[0];
  *C = x->shape[1];
  *S = x->ndim == 4 ? x->shape[2] * x->shape[3] : 1;
}

static void check_c(lua_State *L, lp_tensor *t, int64_t C, const char *what) {
  if (t && (t->ndim != 1 || t->shape[0] != C))
    luaL_error(L, "batchnorm: %s of shape %s, expected (%d,)", what, sh(L, t), (int)C);
}

/* kernels.batchnorm(x, gamma, beta, running_mean, running_var, training, momentum, eps)
 * -> out, mean, invstd (each of gamma..running_var may be nil) */
static int k_batchnorm(lua_State *L) {
  lp_tensor *x = lp_check_contiguous(L, 1), *g = opt_tensor(L, 2), *b = opt_tensor(L, 3),
            *rm = opt_tensor(L, 4), *rv = opt_tensor(L, 5);
  int training = lua_toboolean(L, 6);
  float mom = (float)luaL_optnumber(L, 7, 0.1), eps = (float)luaL_optnumber(L, 8, 1e-5);
  luaL_argcheck(L, mom >= 0 && mom <= 1, 7, "momentum must be in [0, 1]");
  luaL_argcheck(L, eps > 0 && isfinite(eps), 8, "eps must be > 0");
  int64_t N, C, S;
  bn_dims(L, x, &N, &C, &S, "batchnorm");
  check_c(L, g, C, "gamma");
  check_c(L, b, C, "beta");
  check_c(L, rm, C, "running_mean");
  check_c(L, rv, C, "running_var");
  if (training && N * S < 1) return luaL_error(L, "batchnorm: empty batch in training mode");
  int64_t cs[1] = {C};
  lp_tensor *o = lp_push_tensor_like(L, x, 0);
  lp_tensor *mean = lp_push_tensor(L, 1, cs, 0), *invstd = lp_push_tensor(L, 1, cs, 0);
  lp_batchnorm_forward(lp_tensor_data(o), lp_tensor_data(mean), lp_tensor_data(invstd),
                       lp_tensor_data(lp_check_tensor(L, 1)), data_or_null(g), data_or_null(b),
                       data_or_null(rm), data_or_null(rv), N, C, S, training, mom, eps);
  return 3;
}

/* kernels.batchnorm_backward(dout, x, mean, invstd, gamma, training, need_dx, need_dgamma, need_dbeta)
 * -> dx, dgamma, dbeta */
static int k_batchnorm_backward(lua_State *L) {
  lp_tensor *d = lp_check_contiguous(L, 1), *x = lp_check_contiguous(L, 2), *mean = lp_check_contiguous(L, 3),
            *invstd = lp_check_contiguous(L, 4), *g = opt_tensor(L, 5);
  int training = lua_toboolean(L, 6), nx = lua_toboolean(L, 7), ng = lua_toboolean(L, 8),
      nb = lua_toboolean(L, 9);
  int64_t N, C, S;
  bn_dims(L, x, &N, &C, &S, "batchnorm_backward");
  if (!lp_tensor_same_shape(d, x)) return luaL_error(L, "batchnorm_backward: gradient %s vs input %s", sh(L, d), sh(L, x));
  check_c(L, mean, C, "mean");
  check_c(L, invstd, C, "invstd");
  check_c(L, g, C, "gamma");
  lua_settop(L, 9);
  int64_t cs[1] = {C};
  lp_tensor *dx = push_grad(L, nx, 2);
  lp_tensor *dg = NULL, *db = NULL;
  if (ng) dg = lp_push_tensor(L, 1, cs, 1);
  else lua_pushnil(L);
  if (nb) db = lp_push_tensor(L, 1, cs, 1);
  else lua_pushnil(L);
  lp_batchnorm_backward(data_or_null(dx), data_or_null(dg), data_or_null(db), lp_tensor_data(d),
                        lp_tensor_data(x), lp_tensor_data(mean), lp_tensor_data(invstd), data_or_null(g),
                        N, C, S, training);
  return 3;
}

/* ---- dropout ------------------------------------------------------------ */

/* kernels.dropout(x, p, seed, ctr) -> out, mask; element i kept when the
 * uniform from lp_rand64(lp_rng_key(seed, 3), ctr + i) is >= p. */
static int k_dropout(lua_State *L) {
  lp_tensor *x = lp_check_contiguous(L, 1);
  double p = luaL_checknumber(L, 2);
  uint64_t seed = (uint64_t)luaL_checkinteger(L, 3), ctr = (uint64_t)luaL_optinteger(L, 4, 0);
  luaL_argcheck(L, p >= 0 && p <= 1, 2, "probability must be in [0, 1]");
  lp_tensor *o = lp_push_tensor_like(L, x, 0);
  lp_tensor *m = lp_push_tensor_like(L, lp_check_tensor(L, 1), 0);
  lp_dropout_forward(lp_tensor_data(o), lp_tensor_data(m), lp_tensor_data(lp_check_tensor(L, 1)),
                     lp_tensor_numel(o), (float)p, lp_rng_key(seed, 3), ctr);
  return 2;
}

/* ---- activations -------------------------------------------------------- */

static lp_act check_act_d(lua_State *L, int i, double *alpha, int ai) {
  lp_act a = lp_check_act(L, i);
  *alpha = lp_opt_alpha(L, ai, a);
  return a;
}

static lp_act check_act(lua_State *L, int i, float *alpha, int ai) {
  double al;
  lp_act a = check_act_d(L, i, &al, ai);
  *alpha = (float)al;
  return a;
}

/* kernels.act(name, x [, alpha]) -> f(x) */
static int k_act(lua_State *L) {
  float alpha;
  lp_act a = check_act(L, 1, &alpha, 3);
  lp_tensor *x = lp_check_contiguous(L, 2);
  lp_tensor *o = lp_push_tensor_like(L, x, 0);
  lp_act_forward(a, lp_tensor_data(o), lp_tensor_data(lp_check_tensor(L, 2)), lp_tensor_numel(o), alpha);
  return 1;
}

/* kernels.act_backward(name, dout, x [, alpha]) -> dout * f'(x) */
static int k_act_backward(lua_State *L) {
  float alpha;
  lp_act a = check_act(L, 1, &alpha, 4);
  lp_tensor *d = lp_check_contiguous(L, 2), *x = lp_check_contiguous(L, 3);
  if (!lp_tensor_same_shape(d, x))
    return luaL_error(L, "act_backward: gradient of shape %s vs input %s", sh(L, d), sh(L, x));
  lp_tensor *dx = lp_push_tensor_like(L, x, 0);
  lp_act_backward(a, lp_tensor_data(dx), lp_tensor_data(d), lp_tensor_data(x), lp_tensor_numel(dx), alpha, 0);
  return 1;
}

/* kernels.act_value(name, x [, alpha]) / kernels.act_deriv(...): on numbers, in double. */
static int k_act_value(lua_State *L) {
  double alpha;
  lp_act a = check_act_d(L, 1, &alpha, 3);
  lua_pushnumber(L, lp_act_value(a, luaL_checknumber(L, 2), alpha));
  return 1;
}

static int k_act_deriv(lua_State *L) {
  double alpha;
  lp_act a = check_act_d(L, 1, &alpha, 3);
  lua_pushnumber(L, lp_act_deriv(a, luaL_checknumber(L, 2), alpha));
  return 1;
}

/* ---- softmax, cross-entropy --------------------------------------------- */

static void rows(lua_State *L, lp_tensor *x, int64_t *N, int64_t *K, const char *fn) {
  if (x->ndim != 2) luaL_error(L, "%s: expects (N, K), got shape %s", fn, sh(L, x));
  *N = x->shape[0];
  *K = x->shape[1];
}

/* kernels.softmax(x (N, K) [, log]) -> y */
static int k_softmax(lua_State *L) {
  lp_tensor *x = lp_check_contiguous(L, 1);
  int lg = lua_toboolean(L, 2);
  int64_t N, K;
  rows(L, x, &N, &K, lg ? "log_softmax" : "softmax");
  lp_tensor *o = lp_push_tensor_like(L, x, 0);
  lp_softmax_forward(lp_tensor_data(o), lp_tensor_data(lp_check_tensor(L, 1)), N, K, lg);
  return 1;
}

/* kernels.softmax_backward(dout, y [, log]) -> dx */
static int k_softmax_backward(lua_State *L) {
  lp_tensor *d = lp_check_contiguous(L, 1), *y = lp_check_contiguous(L, 2);
  int lg = lua_toboolean(L, 3);
  int64_t N, K;
  rows(L, y, &N, &K, "softmax_backward");
  if (!lp_tensor_same_shape(d, y)) return luaL_error(L, "softmax_backward: shapes %s and %s", sh(L, d), sh(L, y));
  lp_tensor *dx = lp_push_tensor_like(L, y, 1);
  lp_softmax_backward(lp_tensor_data(dx), lp_tensor_data(d), lp_tensor_data(y), N, K, lg);
  return 1;
}

static void check_labels(lua_State *L, lp_tensor *lab, int64_t N, int64_t K, const char *fn) {
  if (lab->ndim != 1 || lab->shape[0] != N)
    luaL_error(L, "%s: labels of shape %s, expected (%d,)", fn, sh(L, lab), (int)N);
  const float *l = lp_tensor_data(lab);
  for (int64_t i = 0; i < N; i++)
    if (!(l[i] >= 0 && l[i] < (float)K) || l[i] != floorf(l[i]))
      luaL_error(L, "%s: label %f at position %d is not a class index 0..%d", fn, (double)l[i],
                 (int)i + 1, (int)K - 1);
}

/* kernels.cross_entropy(logits (N, K), labels (N)) -> mean loss, probs (N, K) */
static int k_cross_entropy(lua_State *L) {
  lp_tensor *x = lp_check_contiguous(L, 1), *lab = lp_check_contiguous(L, 2);
  int64_t N, K;
  rows(L, x, &N, &K, "cross_entropy");
  check_labels(L, lab, N, K, "cross_entropy");
  lp_tensor *p = lp_push_tensor_like(L, x, 0);
  double loss = lp_cross_entropy_forward(lp_tensor_data(p), lp_tensor_data(lp_check_tensor(L, 1)),
                                         lp_tensor_data(lp_check_tensor(L, 2)), N, K);
  lua_pushnumber(L, loss);
  lua_insert(L, -2);
  return 2;
}

/* kernels.cross_entropy_backward(dloss, probs, labels) -> dlogits */
static int k_cross_entropy_backward(lua_State *L) {
  float dl = (float)luaL_checknumber(L, 1);
  lp_tensor *p = lp_check_contiguous(L, 2), *lab = lp_check_contiguous(L, 3);
  int64_t N, K;
  rows(L, p, &N, &K, "cross_entropy_backward");
  check_labels(L, lab, N, K, "cross_entropy_backward");
  lp_tensor *dx = lp_push_tensor_like(L, p, 1);
  lp_cross_entropy_backward(lp_tensor_data(dx), dl, lp_tensor_data(lp_check_tensor(L, 2)),
                            lp_tensor_data(lp_check_tensor(L, 3)), N, K);
  return 1;
}

/* ---- optimizer steps ---------------------------------------------------- */

static void same_numel(lua_State *L, lp_tensor *a, lp_tensor *b, const char *fn, const char *what) {
  if (lp_tensor_numel(a) != lp_tensor_numel(b))
    luaL_error(L, "%s: %s of shape %s does not match param of shape %s", fn, what, sh(L, b), sh(L, a));
}

/* The optimizer kernels write param and their state in one fused pass
 * while reading grad: any two of them sharing an element (the same tensor
 * passed twice, or overlapping views) would read values already updated.
 * n contiguous tensors (NULL: absent); raises naming the pair. */
static void distinct(lua_State *L, const char *fn, int n, lp_tensor *const *t, const char *const *name) {
  for (int i = 0; i < n; i++)
    for (int j = i + 1; j < n; j++) {
      if (!t[i] || !t[j] || !t[i]->st || t[i]->st != t[j]->st) continue;
      if (lp_tensor_numel(t[i]) == 0 || lp_tensor_numel(t[j]) == 0) continue;
      if (t[i]->offset == t[j]->offset || lp_tensor_overlaps(t[i], t[j]))
        luaL_error(L, "%s: %s and %s share memory (pass separate tensors)", fn, name[i], name[j]);
    }
}

/* kernels.adam_step(param, grad, m, v, lr, b1, b2, eps, wd, step, decoupled)
 * updates param, m, v in place (PyTorch's Adam / AdamW). */
static int k_adam_step(lua_State *L) {
  lp_tensor *p = lp_check_contiguous(L, 1), *g = lp_check_contiguous(L, 2), *m = lp_check_contiguous(L, 3),
            *v = lp_check_contiguous(L, 4);
  float lr = (float)luaL_checknumber(L, 5), b1 = (float)luaL_checknumber(L, 6),
        b2 = (float)luaL_checknumber(L, 7), eps = (float)luaL_checknumber(L, 8),
        wd = (float)luaL_optnumber(L, 9, 0);
  lua_Integer step = luaL_checkinteger(L, 10);
  int dec = lua_toboolean(L, 11);
  luaL_argcheck(L, step >= 1, 10, "step counts from 1");
  same_numel(L, p, g, "adam_step", "grad");
  same_numel(L, p, m, "adam_step", "m");
  same_numel(L, p, v, "adam_step", "v");
  distinct(L, "adam_step", 4, (lp_tensor *const[]){p, g, m, v}, (const char *const[]){"param", "grad", "m", "v"});
  lp_adam_step(lp_tensor_data(p), lp_tensor_data(g), lp_tensor_data(m), lp_tensor_data(v),
               lp_tensor_numel(p), lr, b1, b2, eps, wd, step, dec);
  return 0;
}

/* kernels.sgd_step(param, grad, buf or nil, lr, momentum, dampening, wd, nesterov, first) */
static int k_sgd_step(lua_State *L) {
  lp_tensor *p = lp_check_contiguous(L, 1), *g = lp_check_contiguous(L, 2), *b = opt_tensor(L, 3);
  float lr = (float)luaL_checknumber(L, 4), mom = (float)luaL_optnumber(L, 5, 0),
        damp = (float)luaL_optnumber(L, 6, 0), wd = (float)luaL_optnumber(L, 7, 0);
  int nest = lua_toboolean(L, 8), first = lua_toboolean(L, 9);
  same_numel(L, p, g, "sgd_step", "grad");
  if (b) same_numel(L, p, b, "sgd_step", "momentum buffer");
  distinct(L, "sgd_step", 3, (lp_tensor *const[]){p, g, b}, (const char *const[]){"param", "grad", "momentum buffer"});
  lp_sgd_step(lp_tensor_data(p), lp_tensor_data(g), data_or_null(b), lp_tensor_numel(p), lr, mom, damp,
              wd, nest, first);
  return 0;
}

/* ---- broadcasting helper ------------------------------------------------ */

/* kernels.sum_to(t, shape) -> t summed down to shape (t must broadcast from shape) */
static int k_sum_to(lua_State *L) {
  lp_tensor *t = lp_check_tensor(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  int64_t shape[LP_MAXDIM];
  lua_Integer len = luaL_len(L, 2);   /* a __len may answer anything */
  luaL_argcheck(L, len >= 0 && len <= LP_MAXDIM, 2, "too many dimensions");
  int nd = (int)len;
  for (int d = 0; d < nd; d++) {
    lua_geti(L, 2, d + 1);
    shape[d] = luaL_checkinteger(L, -1);
    lua_pop(L, 1);
  }
  lp_tensor probe = {0};
  probe.ndim = nd;
  memcpy(probe.shape, shape, sizeof shape);
  int bnd;
  int64_t bs[LP_MAXDIM];
  if (!lp_broadcast_shape(&bnd, bs, &probe, t) || bnd != t->ndim ||
      memcmp(bs, t->shape, (size_t)bnd * sizeof *bs) != 0) {
    char want[256];
    lp_shape_str(want, sizeof want, nd, shape);
    return luaL_error(L, "sum_to: shape %s does not broadcast to %s", want, sh(L, t));
  }
  if (nd == t->ndim && memcmp(shape, t->shape, (size_t)nd * sizeof *shape) == 0) {
    lua_settop(L, 1);
    return 1;
  }
  lp_tensor *o = lp_push_tensor(L, nd, shape, 0);
  lp_sum_to(o, lp_check_tensor(L, 1));
  return 1;
}

/* kernels.add_into(acc, g): acc += g (same shape; for gradient accumulation) */
static int k_add_into(lua_State *L) {
  lp_tensor *a = lp_check_contiguous(L, 1), *g = lp_check_tensor(L, 2);
  if (!lp_tensor_same_shape(a, g))
    return luaL_error(L, "add_into: shapes %s and %s differ", sh(L, a), sh(L, g));
  if (lp_tensor_is_contiguous(g)) lp_axpy(lp_tensor_data(a), lp_tensor_data(g), 1.0f, lp_tensor_numel(a));
  else lp_binary(LP_ADD, a, a, g);
  return 0;
}

static const luaL_Reg kernels[] = {
  {"linear", k_linear}, {"linear_backward", k_linear_backward},
  {"conv2d", k_conv2d}, {"conv2d_backward", k_conv2d_backward},
  {"maxpool2d", k_maxpool2d}, {"maxpool2d_backward", k_maxpool2d_backward},
  {"act_maxpool2d", k_act_maxpool2d}, {"act_maxpool2d_backward", k_act_maxpool2d_backward},
  {"conv2d_act_maxpool2d", k_conv2d_act_maxpool2d}, {"conv2d_implicit", k_conv2d_implicit},
  {"conv2d_winograd", k_conv2d_winograd},
  {"winograd", k_winograd},
  {"avgpool2d", k_avgpool2d}, {"avgpool2d_backward", k_avgpool2d_backward},
  {"batchnorm", k_batchnorm}, {"batchnorm_backward", k_batchnorm_backward},
  {"dropout", k_dropout},
  {"act", k_act}, {"act_backward", k_act_backward}, {"act_value", k_act_value},
  {"act_deriv", k_act_deriv},
  {"softmax", k_softmax}, {"softmax_backward", k_softmax_backward},
  {"cross_entropy", k_cross_entropy}, {"cross_entropy_backward", k_cross_entropy_backward},
  {"adam_step", k_adam_step}, {"sgd_step", k_sgd_step},
  {"sum_to", k_sum_to}, {"add_into", k_add_into},
  {NULL, NULL}};

int luaopen_lpact_kernels(lua_State *L) {
  lua_createtable(L, 0, 1);
  luaL_newlib(L, kernels);
  lua_setfield(L, -2, "kernels");
  return 1;
}
