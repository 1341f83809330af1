/* bind/io.c — Lua binding of the data readers and the byte-level helpers that
 * stdlib/lpact/{data,checkpoint}.lua build on. Everything is exported
 * under one table, lpact.io, to keep the global namespace tidy:
 *
 *   io.read_idx(path [, {div=, limit=}])      -> Tensor
 *   io.read_idx(path, {channel=true})         -> (N, 1, H, W) from (N, H, W)
 *   io.idx_dims(path)                         -> {dims}, type code
 *   io.read_cifar(path|{paths} [, {div=, limit=}]) -> x (n,3,32,32), y (n)
 *   io.range(t)                               -> min, max
 *   io.is_tensor(v)                           -> boolean
 *   io.listdir(path), io.mkdir(path), io.isdir(path)   folders (reports)
 *   io.term_size([fd])                        -> columns, rows of the terminal on fd (1), or nil
 *   io.threads()                              -> kernel thread count
 *   io.crc32(s [, crc])                       -> integer (zlib's CRC-32)
 *   io.tensor_bytes(t)                        -> string (float32, little-endian)
 *   io.fill_bytes(t, s [, pos])               -> next pos
 *   io.write_gz(path, s) / io.read_gz(path)   gzip files (tests, tools)
 *   io.permutation(n, seed, epoch)            -> Tensor of indices (float)
 *   io.gather(x, perm|nil, start, count)      -> Tensor (count, ...)
 *   io.augment(x, perm|nil, start, {pad=, flip=, seed=, epoch=})  in place
 *   io.builtin(n, seed, split)                -> x (n,1,28,28), y (n)
 *   io.from_list(list, shape)                 -> Tensor
 *   io.channel_stats(x)                       -> means, stds (tables)
 *   io.normalize(x, means, stds)              in place, per channel
 *   io.random(seed, stream, ctr)              -> float in [0, 1)
 *
 * Arguments are checked first; the only C resource held across a call
 * that can raise is an IDX reader, kept in a userdata whose __gc closes
 * it; all other memory is a Tensor already on the stack. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <zlib.h>

#include "bind/bind.h"
#include "core/dataset.h"
#include "core/parallel.h"
#include "core/rng.h"

#define IDX_MT "lpact.IdxReader"

static int little_endian(void) {
  const uint16_t one = 1;
  unsigned char b;
  memcpy(&b, &one, 1);
  return b == 1;
}

/* Reads options {div=, limit=} at index i (absent or nil: defaults). */
static void read_opts(lua_State *L, int i, float *div, int64_t *limit) {
  *div = 1.0f;
  *limit = -1;
  if (lua_isnoneornil(L, i)) return;
  luaL_checktype(L, i, LUA_TTABLE);
  luaL_checktype(L, i, LUA_TTABLE);
  if (lua_getfield(L, i, "div") != LUA_TNIL) {
    lua_Number d = luaL_checknumber(L, -1);
    luaL_argcheck(L, d > 0 && isfinite(d), i, "div must be a positive number");
    *div = (float)d;
  }
  lua_pop(L, 1);
  if (lua_getfield(L, i, "limit") != LUA_TNIL) {
    lua_Integer n = luaL_checkinteger(L, -1);
    luaL_argcheck(L, n >= 0, i, "limit must be >= 0");
    *limit = (int64_t)n;
  }
  lua_pop(L, 1);
}

static int idx_gc(lua_State *L) {
  lp_idx_file *f = luaL_checkudata(L, 1, IDX_MT);
  lp_idx_close(f);
  return 0;
}

/* io.read_idx(path [, opts]) -> Tensor with the file's dimensions (the
 * first one cut to opts.limit), values divided by opts.div. */
static int d_read_idx(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  float div;
  int64_t limit;
  read_opts(L, 2, &div, &limit);
  lp_idx_file *f = lua_newuserdatauv(L, sizeof *f, 0);
  memset(f, 0, sizeof *f);
  luaL_setmetatable(L, IDX_MT);
  char err[768];
  if (lp_idx_open(f, path, err, sizeof err) != LP_OK) return luaL_error(L, "%s", err);
  int64_t shape[LP_MAXDIM];
  memcpy(shape, f->dims, sizeof shape);
  if (limit >= 0 && limit < shape[0]) shape[0] = limit;
  int64_t count = 1;
  for (int i = 0; i < f->ndim; i++) count *= shape[i];
  int ndim = f->ndim;
  int channel = 0;
  if (lua_istable(L, 2)) {
    lua_getfield(L, 2, "channel");
    channel = lua_toboolean(L, -1);
    lua_pop(L, 1);
  }
  if (channel && ndim < LP_MAXDIM) {   /* (N, H, W) -> (N, 1, H, W) */
    memmove(shape + 2, shape + 1, (size_t)(ndim - 1) * sizeof *shape);
    shape[1] = 1;
    ndim++;
  }
  lp_tensor *t = lp_push_tensor(L, ndim, shape, 0);
  if (lp_idx_read(f, lp_tensor_data(t), count, div, err, sizeof err) != LP_OK) {
    lp_idx_close(f);
    return luaL_error(L, "%s", err);
  }
  lp_idx_close(f);
  return 1;
}

/* io.idx_dims(path) -> {d1, d2, ...}, type code: the header only. */
static int d_idx_dims(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  lp_idx_file *f = lua_newuserdatauv(L, sizeof *f, 0);
  memset(f, 0, sizeof *f);
  luaL_setmetatable(L, IDX_MT);
  char err[768];
  if (lp_idx_open(f, path, err, sizeof err) != LP_OK) return luaL_error(L, "%s", err);
  lua_createtable(L, f->ndim, 0);
  for (int i = 0; i < f->ndim; i++) {
    lua_pushinteger(L, (lua_Integer)f->dims[i]);
    lua_rawseti(L, -2, i + 1);
  }
  lua_pushinteger(L, f->type);
  lp_idx_close(f);
  return 2;
}

/* io.read_cifar(path | {paths} [, opts]) -> x (n, 3, 32, 32), y (n): the
 * records of the files in order, the first opts.limit of them. */
static int d_read_cifar(lua_State *L) {
  int list = lua_istable(L, 1);
  if (!list) luaL_checkstring(L, 1);
  float div;
  int64_t limit;
  read_opts(L, 2, &div, &limit);
  int nfiles = list ? (int)lua_rawlen(L, 1) : 1;
  luaL_argcheck(L, nfiles >= 1 && nfiles <= 1000, 1, "one to 1000 files expected");
  for (int i = 1; list && i <= nfiles; i++) {
    luaL_argcheck(L, lua_rawgeti(L, 1, i) == LUA_TSTRING, 1, "list of file names expected");
    lua_pop(L, 1);
  }
  char err[768];
  int64_t total = 0, counts[1000];
  for (int i = 0; i < nfiles; i++) {
    if (list) lua_rawgeti(L, 1, i + 1); else lua_pushvalue(L, 1);
    const char *path = lua_tostring(L, -1);
    if (lp_cifar_count(path, &counts[i], err, sizeof err) != LP_OK) return luaL_error(L, "%s", err);
    lua_pop(L, 1);
    total += counts[i];
  }
  if (limit >= 0 && limit < total) total = limit;
  int64_t xs[4] = {total, 3, 32, 32}, ys[1] = {total};
  lp_tensor *x = lp_push_tensor(L, 4, xs, 0);
  lp_tensor *y = lp_push_tensor(L, 1, ys, 0);
  int64_t done = 0;
  for (int i = 0; i < nfiles && done < total; i++) {
    int64_t n = counts[i] < total - done ? counts[i] : total - done;
    if (list) lua_rawgeti(L, 1, i + 1); else lua_pushvalue(L, 1);
    const char *path = lua_tostring(L, -1);
    if (lp_cifar_read(path, n, lp_tensor_data(x) + done * 3072, lp_tensor_data(y) + done, div, err, sizeof err) != LP_OK)
      return luaL_error(L, "%s", err);
    lua_pop(L, 1);
    done += n;
  }
  return 2;
}

/* io.range(t) -> min, max of a contiguous tensor (nil, nil when empty;
 * NaN makes both NaN). */
static int d_range(lua_State *L) {
  lp_tensor *t = lp_check_contiguous(L, 1);
  int64_t n = lp_tensor_numel(t);
  if (n == 0) { lua_pushnil(L); lua_pushnil(L); return 2; }
  const float *d = lp_tensor_data(t);
  float lo = d[0], hi = d[0];
  int nan = 0;
  for (int64_t i = 0; i < n; i++) {
    if (d[i] != d[i]) nan = 1;
    else { if (d[i] < lo || lo != lo) lo = d[i]; if (d[i] > hi || hi != hi) hi = d[i]; }
  }
  lua_pushnumber(L, nan ? (lua_Number)NAN : lo);
  lua_pushnumber(L, nan ? (lua_Number)NAN : hi);
  return 2;
}

/* io.crc32(s [, crc]) -> the CRC-32 of s, continuing from crc. */
static int d_crc32(lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  lua_Integer c0 = luaL_optinteger(L, 2, 0);
  luaL_argcheck(L, c0 >= 0 && c0 <= 0xffffffffLL, 2, "CRC out of range");
  uLong c = (uLong)c0;
  while (len > 0) {
    uInt chunk = len > (1u << 30) ? (1u << 30) : (uInt)len;
    c = crc32(c, (const Bytef *)s, chunk);
    s += chunk;
    len -= chunk;
  }
  lua_pushinteger(L, (lua_Integer)c);
  return 1;
}

static void swap4(unsigned char *p, size_t n) {
  for (size_t i = 0; i < n; i += 4) {
    unsigned char a = p[i], b = p[i + 1];
    p[i] = p[i + 3];
    p[i + 1] = p[i + 2];
    p[i + 2] = b;
    p[i + 3] = a;
  }
}

/* io.tensor_bytes(t) -> string: the elements as little-endian float32. */
static int d_tensor_bytes(lua_State *L) {
  lp_tensor *t = lp_check_contiguous(L, 1);
  size_t n = (size_t)lp_tensor_numel(t) * 4;
  luaL_Buffer b;
  char *p = luaL_buffinitsize(L, &b, n);
  if (n) memcpy(p, lp_tensor_data(t), n);
  if (!little_endian()) swap4((unsigned char *)p, n);
  luaL_pushresultsize(&b, n);
  return 1;
}

/* io.fill_bytes(t, s [, pos]) -> pos after: fills contiguous t from the
 * little-endian float32 bytes of s starting at pos (1-based). */
static int d_fill_bytes(lua_State *L) {
  lp_tensor *t = lp_check_contiguous(L, 1);
  size_t len;
  const char *s = luaL_checklstring(L, 2, &len);
  lua_Integer pos = luaL_optinteger(L, 3, 1);
  size_t n = (size_t)lp_tensor_numel(t) * 4;
  luaL_argcheck(L, pos >= 1 && (size_t)pos - 1 <= len, 3, "position out of range");
  if (len - ((size_t)pos - 1) < n)
    return luaL_error(L, "%I bytes needed at position %I, only %I left", (lua_Integer)n, pos,
                      (lua_Integer)(len - ((size_t)pos - 1)));
  float *d = lp_tensor_data(t);
  if (n) memcpy(d, s + pos - 1, n);
  if (!little_endian()) swap4((unsigned char *)d, n);
  lua_pushinteger(L, pos + (lua_Integer)n);
  return 1;
}

/* io.write_gz(path, s): writes s gzip-compressed. */
static int d_write_gz(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  size_t len;
  const char *s = luaL_checklstring(L, 2, &len);
  gzFile gz = gzopen(path, "wb");
  if (!gz) return luaL_error(L, "%s: cannot open for writing: %s", path, strerror(errno));
  size_t done = 0;
  while (done < len) {
    unsigned chunk = len - done > (1u << 30) ? (1u << 30) : (unsigned)(len - done);
    int k = gzwrite(gz, s + done, chunk);
    if (k <= 0) {
      gzclose(gz);
      return luaL_error(L, "%s: write error", path);
    }
    done += (size_t)k;
  }
  if (gzclose(gz) != Z_OK) return luaL_error(L, "%s: write error", path);
  return 0;
}

typedef struct { gzFile gz; } gzbox;

static int gzbox_gc(lua_State *L) {
  gzbox *g = luaL_checkudata(L, 1, "lpact.GzReader");
  if (g->gz) gzclose(g->gz);
  g->gz = NULL;
  return 0;
}

/* io.read_gz(path) -> string: the whole file, decompressed if gzip. */
static int d_read_gz(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  gzbox *g = lua_newuserdatauv(L, sizeof *g, 0);
  g->gz = NULL;
  luaL_setmetatable(L, "lpact.GzReader");
  g->gz = gzopen(path, "rb");
  if (!g->gz) return luaL_error(L, "%s: cannot open: %s", path, strerror(errno));
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  for (;;) {
    char *p = luaL_prepbuffsize(&b, 1 << 16);
    int k = gzread(g->gz, p, 1 << 16);
    if (k < 0) {
      int code;
      return luaL_error(L, "%s: %s", path, gzerror(g->gz, &code));
    }
    if (k == 0) break;
    luaL_addsize(&b, (size_t)k);
  }
  gzclose(g->gz);
  g->gz = NULL;
  luaL_pushresult(&b);
  return 1;
}

/* Checks an integer seed/epoch argument (any integer; used as 64 bits). */
static uint64_t check_u64(lua_State *L, int i) {
  return (uint64_t)luaL_checkinteger(L, i);
}

/* io.permutation(n, seed, epoch) -> Tensor (n) holding a permutation of
 * 0..n-1 (as floats, exact below 2^24) that depends on (seed, epoch) only. */
static int d_permutation(lua_State *L) {
  lua_Integer n = luaL_checkinteger(L, 1);
  luaL_argcheck(L, n >= 0 && n <= (1 << 24), 1, "size must be in 0..2^24");
  uint64_t seed = check_u64(L, 2), epoch = check_u64(L, 3);
  int64_t shape[1] = {n};
  lp_tensor *t = lp_push_tensor(L, 1, shape, 0);
  /* int64 scratch in a userdata (collected with it; nothing to free). */
  int64_t *idx = lua_newuserdatauv(L, (size_t)(n ? n : 1) * sizeof *idx, 0);
  lp_permutation(idx, n, seed, epoch);
  float *d = lp_tensor_data(t);
  for (lua_Integer i = 0; i < n; i++) d[i] = (float)idx[i];
  lua_pop(L, 1);
  return 1;
}

/* Reads indices start..start+count-1 (0-based) of perm (or the identity
 * when perm is nil) into a scratch userdata pushed on the stack, each
 * checked to be < rows. */
static int64_t *index_block(lua_State *L, int permi, int64_t start, int64_t count, int64_t rows) {
  const float *p = NULL;
  if (!lua_isnil(L, permi)) {
    lp_tensor *perm = lp_check_contiguous(L, permi);
    luaL_argcheck(L, perm->ndim == 1, permi, "permutation must be 1-D");
    luaL_argcheck(L, start <= perm->shape[0] && count <= perm->shape[0] - start, permi,
                  "range beyond the permutation");
    p = lp_tensor_data(perm);
  } else if (start > INT64_MAX - count) {
    luaL_error(L, "index range %I + %I beyond the largest integer", (lua_Integer)start, (lua_Integer)count);
  }
  int64_t *idx = lua_newuserdatauv(L, (size_t)(count ? count : 1) * sizeof *idx, 0);
  for (int64_t i = 0; i < count; i++) {
    double v = p ? p[start + i] : (double)(start + i);
    if (!(v >= 0 && v < (double)rows) || v != floor(v))
      luaL_error(L, "index %f out of range 0..%I", (lua_Number)v, (lua_Integer)(rows - 1));
    idx[i] = (int64_t)v;
  }
  return idx;
}

/* io.gather(x, perm|nil, start, count) -> Tensor (count, ...): the rows
 * x[perm[start + i]] (0-based start), or the rows start.. without perm. */
static int d_gather(lua_State *L) {
  lp_tensor *x = lp_check_contiguous(L, 1);
  if (!lua_isnil(L, 2)) lp_check_contiguous(L, 2);
  lua_Integer start = luaL_checkinteger(L, 3), count = luaL_checkinteger(L, 4);
  luaL_argcheck(L, x->ndim >= 1, 1, "tensor with at least one dimension expected");
  luaL_argcheck(L, start >= 0, 3, "start must be >= 0");
  luaL_argcheck(L, count >= 0, 4, "count must be >= 0");
  if (lua_isnil(L, 2))
    luaL_argcheck(L, start <= x->shape[0] && count <= x->shape[0] - start, 4,
                  "range beyond the tensor's first dimension");
  int64_t row = 1;
  for (int i = 1; i < x->ndim; i++) row *= x->shape[i];
  int64_t *idx = index_block(L, 2, start, count, x->shape[0]);
  int64_t shape[LP_MAXDIM];
  memcpy(shape, x->shape, sizeof shape);
  shape[0] = count;
  lp_tensor *out = lp_push_tensor(L, x->ndim, shape, 0);
  lp_gather_rows(lp_tensor_data(out), lp_tensor_data(x), row, idx, count);
  return 1;
}

static lua_Integer opt_int_field(lua_State *L, int t, const char *k, lua_Integer dflt) {
  lua_Integer v = dflt;
  if (lua_getfield(L, t, k) != LUA_TNIL) {
    if (!lua_isinteger(L, -1)) luaL_error(L, "option '%s' must be an integer", k);
    v = lua_tointeger(L, -1);
  }
  lua_pop(L, 1);
  return v;
}

/* io.augment(x, perm|nil, start, {pad=4, flip=true, seed=0, epoch=0}):
 * random crop with zero padding and horizontal flip of a batch x
 * (n, c, h, w), in place; example i of the batch is example perm[start+i]
 * of the data set, whose index keys its random choices. */
static int d_augment(lua_State *L) {
  lp_tensor *x = lp_check_contiguous(L, 1);
  if (!lua_isnil(L, 2)) lp_check_contiguous(L, 2);
  lua_Integer start = luaL_checkinteger(L, 3);
  luaL_checktype(L, 4, LUA_TTABLE);
  luaL_argcheck(L, x->ndim == 4, 1, "batch (N, C, H, W) expected");
  luaL_argcheck(L, x->shape[3] <= 4096, 1, "image wider than 4096");
  luaL_argcheck(L, start >= 0, 3, "start must be >= 0");
  lua_Integer pad = opt_int_field(L, 4, "pad", 4);
  luaL_argcheck(L, pad >= 0 && pad <= 1024, 4, "pad must be in 0..1024");
  lua_getfield(L, 4, "flip");
  int flip = lua_isnil(L, -1) ? 1 : lua_toboolean(L, -1);
  lua_pop(L, 1);
  uint64_t seed = (uint64_t)opt_int_field(L, 4, "seed", 0);
  uint64_t epoch = (uint64_t)opt_int_field(L, 4, "epoch", 0);
  int64_t *id = index_block(L, 2, start, x->shape[0], INT64_MAX);
  lp_augment_crop_flip(lp_tensor_data(x), x->shape[0], x->shape[1], x->shape[2], x->shape[3],
                       (int)pad, flip, seed, epoch, id);
  lua_pushvalue(L, 1);
  return 1;
}

/* io.builtin(n, seed, split) -> x (n, 1, 28, 28), y (n). */
static int d_builtin(lua_State *L) {
  lua_Integer n = luaL_checkinteger(L, 1);
  luaL_argcheck(L, n >= 0 && n <= 10000000, 1, "size must be in 0..10^7");
  uint64_t seed = check_u64(L, 2);
  lua_Integer split = luaL_checkinteger(L, 3);
  luaL_argcheck(L, split == 0 || split == 1, 3, "split must be 0 (train) or 1 (test)");
  int64_t xs[4] = {n, 1, 28, 28}, ys[1] = {n};
  lp_tensor *x = lp_push_tensor(L, 4, xs, 0);
  lp_tensor *y = lp_push_tensor(L, 1, ys, 0);
  lp_builtin_images(lp_tensor_data(x), lp_tensor_data(y), n, seed, (int)split);
  return 2;
}

/* io.from_list(list, shape) -> Tensor: a flat Lua list of numbers in
 * row-major order. */
static int d_from_list(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_Integer nd = (lua_Integer)lua_rawlen(L, 2);
  luaL_argcheck(L, nd >= 1 && nd <= LP_MAXDIM, 2, "1 to 8 dimensions expected");
  int64_t shape[LP_MAXDIM], numel = 1;
  for (int i = 0; i < nd; i++) {
    lua_rawgeti(L, 2, i + 1);
    lua_Integer d = lua_tointeger(L, -1);
    luaL_argcheck(L, lua_isinteger(L, -1) && d >= 0 && d <= ((lua_Integer)1 << 32), 2, "dimensions must be integers >= 0");
    lua_pop(L, 1);
    shape[i] = d;
    luaL_argcheck(L, d == 0 || numel <= ((int64_t)1 << 32) / d, 2, "too many elements");
    numel *= d;
  }
  luaL_argcheck(L, (int64_t)lua_rawlen(L, 1) == numel, 1, "list length does not match the shape");
  lp_tensor *t = lp_push_tensor(L, (int)nd, shape, 0);
  float *d = lp_tensor_data(t);
  for (int64_t i = 0; i < numel; i++) {
    lua_rawgeti(L, 1, i + 1);
    int isnum;
    lua_Number v = lua_tonumberx(L, -1, &isnum);
    if (!isnum) return luaL_error(L, "bad argument #1 to 'from_list' (element %I is not a number)", (lua_Integer)(i + 1));
    d[i] = (float)v;
    lua_pop(L, 1);
  }
  return 1;
}

/* Channel layout of x: (N, C) or (N, C, ...): c channels of `inner`
 * consecutive floats each, repeated `outer` times. */
static void channel_layout(lua_State *L, lp_tensor *x, int64_t *outer, int64_t *c, int64_t *inner) {
  luaL_argcheck(L, x->ndim >= 2, 1, "tensor (N, C, ...) expected");
  *outer = x->shape[0];
  *c = x->shape[1];
  *inner = 1;
  for (int i = 2; i < x->ndim; i++) *inner *= x->shape[i];
}

/* io.channel_stats(x) -> means, stds: per channel (dimension 2), over all
 * other dimensions, in double precision; std is the population std. */
static int d_channel_stats(lua_State *L) {
  lp_tensor *x = lp_check_contiguous(L, 1);
  int64_t outer, c, inner;
  channel_layout(L, x, &outer, &c, &inner);
  luaL_argcheck(L, c <= 4096, 1, "more than 4096 channels");
  double sum[4096] = {0}, sq[4096] = {0};
  const float *d = lp_tensor_data(x);
  for (int64_t o = 0; o < outer; o++)
    for (int64_t k = 0; k < c; k++) {
      const float *p = d + (o * c + k) * inner;
      double s = 0;
      for (int64_t i = 0; i < inner; i++) s += p[i];
      sum[k] += s;
    }
  double cnt = (double)(outer * inner);
  for (int64_t o = 0; o < outer; o++)
    for (int64_t k = 0; k < c; k++) {
      const float *p = d + (o * c + k) * inner;
      double m = cnt > 0 ? sum[k] / cnt : 0, s = 0;
      for (int64_t i = 0; i < inner; i++) s += (p[i] - m) * (p[i] - m);
      sq[k] += s;
    }
  lua_createtable(L, (int)c, 0);
  lua_createtable(L, (int)c, 0);
  for (int64_t k = 0; k < c; k++) {
    lua_pushnumber(L, cnt > 0 ? sum[k] / cnt : 0);
    lua_rawseti(L, -3, k + 1);
    lua_pushnumber(L, cnt > 0 ? sqrt(sq[k] / cnt) : 0);
    lua_rawseti(L, -2, k + 1);
  }
  return 2;
}

/* io.normalize(x, means, stds): x = (x - mean[c]) / std[c] in place (float
 * arithmetic, mean and std rounded to float once). */
static int d_normalize(lua_State *L) {
  lp_tensor *x = lp_check_contiguous(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  luaL_checktype(L, 3, LUA_TTABLE);
  int64_t outer, c, inner;
  channel_layout(L, x, &outer, &c, &inner);
  luaL_argcheck(L, c <= 4096, 1, "more than 4096 channels");
  luaL_argcheck(L, (int64_t)lua_rawlen(L, 2) == c, 2, "one mean per channel expected");
  luaL_argcheck(L, (int64_t)lua_rawlen(L, 3) == c, 3, "one std per channel expected");
  float mean[4096], sd[4096];
  for (int64_t k = 0; k < c; k++) {
    lua_rawgeti(L, 2, k + 1);
    lua_rawgeti(L, 3, k + 1);
    int ok1, ok2;
    lua_Number m = lua_tonumberx(L, -2, &ok1), s = lua_tonumberx(L, -1, &ok2);
    luaL_argcheck(L, ok1, 2, "means must be numbers");
    luaL_argcheck(L, ok2 && s > 0, 3, "stds must be positive numbers");
    mean[k] = (float)m;
    sd[k] = (float)s;
    lua_pop(L, 2);
  }
  float *d = lp_tensor_data(x);
  for (int64_t o = 0; o < outer; o++)
    for (int64_t k = 0; k < c; k++) {
      float *p = d + (o * c + k) * inner;
      for (int64_t i = 0; i < inner; i++) p[i] = (p[i] - mean[k]) / sd[k];
    }
  lua_pushvalue(L, 1);
  return 1;
}

/* io.random(seed, stream, ctr) -> float in [0, 1): the counter-based
 * generator of core/rng.h, for synthetic data written in Lua. */
static int d_random(lua_State *L) {
  uint64_t seed = check_u64(L, 1), stream = check_u64(L, 2), ctr = check_u64(L, 3);
  lua_pushnumber(L, lp_rand_unit(lp_rng_key(seed, stream), ctr));
  return 1;
}

typedef struct { DIR *d; } dirbox;

static int dirbox_gc(lua_State *L) {
  dirbox *b = luaL_checkudata(L, 1, "lpact.DirReader");
  if (b->d) closedir(b->d);
  b->d = NULL;
  return 0;
}

/* io.listdir(path) -> sorted list of the entry names (without . and ..),
 * or nil, message when the folder cannot be read. */
static int d_listdir(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  dirbox *b = lua_newuserdatauv(L, sizeof *b, 0);
  b->d = NULL;
  luaL_setmetatable(L, "lpact.DirReader");
  b->d = opendir(path);
  if (!b->d) {
    luaL_pushfail(L);
    lua_pushfstring(L, "%s: %s", path, strerror(errno));
    return 2;
  }
  lua_newtable(L);
  int n = 0;
  struct dirent *e;
  while ((e = readdir(b->d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    lua_pushstring(L, e->d_name);
    lua_rawseti(L, -2, ++n);
  }
  closedir(b->d);
  b->d = NULL;
  /* Sort with table.sort (byte order, as strcmp). */
  lua_getglobal(L, "table");
  lua_getfield(L, -1, "sort");
  lua_pushvalue(L, -3);
  lua_call(L, 1, 0);
  lua_pop(L, 1);
  return 1;
}

/* Creates one folder; an existing folder is fine. Returns 0 or -1 (errno). */
static int mkdir_one(const char *path) {
  struct stat sb;
  if (mkdir(path, 0777) == 0) return 0;
  if (errno == EEXIST && stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) return 0;
  if (errno == EEXIST) errno = ENOTDIR;
  return -1;
}

/* io.mkdir(path) -> true, or nil, message. Creates missing parents too
 * (like mkdir -p); an existing folder is fine. The path is copied into a
 * Lua buffer, so an error leaves no C memory behind. */
static int d_mkdir(lua_State *L) {
  size_t len;
  const char *path = luaL_checklstring(L, 1, &len);
  luaL_argcheck(L, len > 0 && strlen(path) == len, 1, "non-empty path without NUL expected");
  char *buf = lua_newuserdatauv(L, len + 1, 0);
  memcpy(buf, path, len + 1);
  for (size_t i = 1; i < len; i++) {
    if (buf[i] != '/' || buf[i - 1] == '/') continue;
    buf[i] = '\0';
    int bad = mkdir_one(buf);
    buf[i] = '/';
    if (bad) goto fail;
  }
  if (mkdir_one(buf) == 0) {
    lua_pushboolean(L, 1);
    return 1;
  }
fail:
  luaL_pushfail(L);
  lua_pushfstring(L, "%s: %s", path, strerror(errno));
  return 2;
}

/* io.isdir(path) -> boolean */
static int d_isdir(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  struct stat sb;
  lua_pushboolean(L, stat(path, &sb) == 0 && S_ISDIR(sb.st_mode));
  return 1;
}

/* io.term_size([fd]) -> columns, rows of the terminal on fd (default 1,
 * stdout), or nil when fd is not a terminal or reports no size (ioctl
 * TIOCGWINSZ: what `stty size` asks, without a shell). */
static int d_term_size(lua_State *L) {
  lua_Integer fd = luaL_optinteger(L, 1, 1);
  luaL_argcheck(L, fd >= 0 && fd <= 1024, 1, "bad file descriptor");
  struct winsize ws;
  if (ioctl((int)fd, TIOCGWINSZ, &ws) != 0 || ws.ws_col == 0) {
    luaL_pushfail(L);
    return 1;
  }
  lua_pushinteger(L, ws.ws_col);
  lua_pushinteger(L, ws.ws_row);
  return 2;
}

/* io.threads() -> the number of threads the kernels use (for results). */
static int d_threads(lua_State *L) {
  lua_pushinteger(L, lp_threads());
  return 1;
}

/* io.is_tensor(v) -> boolean: v is an lpact.Tensor. */
static int d_is_tensor(lua_State *L) {
  lua_pushboolean(L, luaL_testudata(L, 1, LP_TENSOR_MT) != NULL);
  return 1;
}

int luaopen_lpact_io(lua_State *L) {
  static const luaL_Reg idx_meta[] = {{"__gc", idx_gc}, {"__close", idx_gc}, {NULL, NULL}};
  luaL_newmetatable(L, IDX_MT);
  luaL_setfuncs(L, idx_meta, 0);
  lua_pop(L, 1);
  luaL_newmetatable(L, "lpact.DirReader");
  lua_pushcfunction(L, dirbox_gc);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);
  luaL_newmetatable(L, "lpact.GzReader");
  lua_pushcfunction(L, gzbox_gc);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);

  static const luaL_Reg fns[] = {
    {"read_idx", d_read_idx}, {"idx_dims", d_idx_dims}, {"read_cifar", d_read_cifar},
    {"crc32", d_crc32}, {"tensor_bytes", d_tensor_bytes}, {"fill_bytes", d_fill_bytes},
    {"write_gz", d_write_gz}, {"read_gz", d_read_gz}, {"permutation", d_permutation},
    {"gather", d_gather}, {"augment", d_augment}, {"builtin", d_builtin},
    {"from_list", d_from_list}, {"channel_stats", d_channel_stats},
    {"normalize", d_normalize}, {"random", d_random}, {"range", d_range},
    {"is_tensor", d_is_tensor}, {"listdir", d_listdir}, {"mkdir", d_mkdir}, {"term_size", d_term_size},
    {"isdir", d_isdir}, {"threads", d_threads}, {NULL, NULL}};
  lua_createtable(L, 0, 1);
  luaL_newlib(L, fns);
  lua_setfield(L, -2, "io");
  return 1;
}
