/* bind/arrayfile.c — Lua binding of the array-file readers (core/arrayfile.h):
 * NumPy .npy and safetensors headers, and the conversions between float32
 * tensors and the element types those files hold. Exported as
 * lpact.arrayfile; stdlib/lpact/interop.lua builds the user's functions
 * (save_npy, load_npy, safetensors) on top and does the file I/O.
 *
 *   arrayfile.npy_info(bytes)                  -> info | nil, message
 *   arrayfile.npy_header(dtype, shape)         -> header bytes (version 1.0, C order)
 *   arrayfile.decode(bytes, pos, dtype, shape [, fortran]) -> Tensor | nil, message
 *   arrayfile.encode(t, dtype)                 -> bytes | nil, message
 *   arrayfile.st_parse(bytes)                  -> {entries}, {metadata}, data pos | nil, message
 *   arrayfile.zip_index(bytes)                 -> {{name=, index=}} | nil, message
 *   arrayfile.zip_extract(bytes, index)        -> member bytes | nil, message
 *   arrayfile.dtypes                           -> {"float32", ...}
 *
 * Refusals of the data are returned (nil and one line) for the caller to
 * prefix with the file's name; wrong argument types raise as usual. */
#include <string.h>

#include "bind/bind.h"
#include "core/arrayfile.h"

#define ST_MT "lpact.SafetensorsHeader"

static lp_dtype check_dtype(lua_State *L, int i) {
  const char *name = luaL_checkstring(L, i);
  int d = lp_dtype_by_name(name);
  if (d < 0) luaL_argerror(L, i, lua_pushfstring(L, "unknown dtype '%s' (float32, float64, int32, int64, uint8, bool)", name));
  return (lp_dtype)d;
}

static void push_shape(lua_State *L, int ndim, const int64_t *shape) {
  lua_createtable(L, ndim, 0);
  for (int d = 0; d < ndim; d++) {
    lua_pushinteger(L, (lua_Integer)shape[d]);
    lua_seti(L, -2, d + 1);
  }
}

/* npy_info(bytes) -> {dtype=, fortran=, shape=, pos=, version=}: pos is the
 * 1-based position of the data in bytes. */
static int a_npy_info(lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  lp_npy_info info;
  char err[256];
  if (lp_npy_parse((const unsigned char *)s, len, &info, err, sizeof err) != LP_OK) {
    luaL_pushfail(L);
    lua_pushstring(L, err);
    return 2;
  }
  lua_createtable(L, 0, 5);
  lua_pushstring(L, lp_dtypes[info.dtype].name);
  lua_setfield(L, -2, "dtype");
  lua_pushboolean(L, info.fortran);
  lua_setfield(L, -2, "fortran");
  push_shape(L, info.ndim, info.shape);
  lua_setfield(L, -2, "shape");
  lua_pushinteger(L, (lua_Integer)info.data_offset + 1);
  lua_setfield(L, -2, "pos");
  lua_pushfstring(L, "%d.%d", info.major, info.minor);
  lua_setfield(L, -2, "version");
  return 1;
}

/* Reads a shape list at index i into shape; returns ndim. */
static int check_shape(lua_State *L, int i, int64_t *shape, int64_t *numel) {
  luaL_checktype(L, i, LUA_TTABLE);
  lua_Integer n = luaL_len(L, i);
  luaL_argcheck(L, n >= 0 && n <= LP_MAXDIM, i, "shape has too many dimensions");
  *numel = 1;
  for (int d = 0; d < (int)n; d++) {
    lua_geti(L, i, d + 1);
    int ok;
    lua_Integer v = lua_tointegerx(L, -1, &ok);
    lua_pop(L, 1);
    luaL_argcheck(L, ok && v >= 0, i, "shape sizes must be non-negative integers");
    shape[d] = (int64_t)v;
    int64_t prod;
    if (__builtin_mul_overflow(*numel, (int64_t)v, &prod) || prod > LP_ARRAY_MAX_NUMEL)
      luaL_argerror(L, i, "shape's element count overflows");
    *numel = prod;
  }
  return (int)n;
}

static int a_npy_header(lua_State *L) {
  lp_dtype dt = check_dtype(L, 1);
  int64_t shape[LP_MAXDIM], numel;
  int ndim = check_shape(L, 2, shape, &numel);
  char buf[1024];
  size_t n = lp_npy_header(buf, sizeof buf, dt, ndim, shape);
  if (n == 0) return luaL_error(L, "npy header too long");
  lua_pushlstring(L, buf, n);
  return 1;
}

/* decode(bytes, pos, dtype, shape [, fortran]) -> a new float32 Tensor. */
static int a_decode(lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  lua_Integer pos = luaL_checkinteger(L, 2);
  lp_dtype dt = check_dtype(L, 3);
  int64_t shape[LP_MAXDIM], numel;
  int ndim = check_shape(L, 4, shape, &numel);
  int fortran = lua_toboolean(L, 5);
  luaL_argcheck(L, pos >= 1 && (size_t)(pos - 1) <= len, 2, "position out of range");
  uint64_t need = (uint64_t)numel * (uint64_t)lp_dtypes[dt].size;
  if (need > len - (size_t)(pos - 1)) {
    luaL_pushfail(L);
    lua_pushfstring(L, "truncated: %I bytes of data needed, %I left", (lua_Integer)need,
                    (lua_Integer)(len - (size_t)(pos - 1)));
    return 2;
  }
  lp_tensor *t = lp_push_tensor(L, ndim, shape, 0);
  char err[256];
  if (lp_array_to_f32(lp_tensor_data(t), (const unsigned char *)s + pos - 1, dt, numel, fortran, ndim, shape,
                      err, sizeof err) != LP_OK) {
    luaL_pushfail(L);
    lua_pushstring(L, err);
    return 2;
  }
  return 1;
}

/* encode(t, dtype) -> the elements as little-endian bytes of dtype. */
static int a_encode(lua_State *L) {
  lp_tensor *t = lp_check_contiguous(L, 1);
  lp_dtype dt = check_dtype(L, 2);
  int64_t n = lp_tensor_numel(t);
  size_t bytes = (size_t)n * (size_t)lp_dtypes[dt].size;
  luaL_Buffer b;
  unsigned char *p = (unsigned char *)luaL_buffinitsize(L, &b, bytes);
  char err[256];
  if (lp_array_from_f32(p, lp_tensor_data(t), dt, n, err, sizeof err) != LP_OK) {
    luaL_pushresultsize(&b, 0);
    luaL_pushfail(L);
    lua_pushstring(L, err);
    return 2;
  }
  luaL_pushresultsize(&b, bytes);
  return 1;
}

static int st_gc(lua_State *L) {
  lp_st_free((lp_st_file *)luaL_checkudata(L, 1, ST_MT));
  return 0;
}

/* st_parse(bytes) -> entries, metadata, data pos: entries in header order
 * as {name=, dtype=, shape=, pos=} (pos 1-based in bytes); metadata a
 * table of strings. */
static int a_st_parse(lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  lp_st_file *st = (lp_st_file *)lua_newuserdatauv(L, sizeof *st, 0);
  memset(st, 0, sizeof *st);
  luaL_setmetatable(L, ST_MT);
  char err[256];
  if (lp_st_parse((const unsigned char *)s, len, st, err, sizeof err) != LP_OK) {
    luaL_pushfail(L);
    lua_pushstring(L, err);
    return 2;
  }
  lua_createtable(L, st->n, 0);
  for (int i = 0; i < st->n; i++) {
    const lp_st_entry *e = &st->entries[i];
    lua_createtable(L, 0, 4);
    lua_pushstring(L, e->name);
    lua_setfield(L, -2, "name");
    lua_pushstring(L, lp_dtypes[e->dtype].name);
    lua_setfield(L, -2, "dtype");
    push_shape(L, e->ndim, e->shape);
    lua_setfield(L, -2, "shape");
    lua_pushinteger(L, (lua_Integer)(st->data_offset + e->begin) + 1);
    lua_setfield(L, -2, "pos");
    lua_seti(L, -2, i + 1);
  }
  lua_createtable(L, 0, st->nmeta);
  for (int i = 0; i < st->nmeta; i++) {
    lua_pushstring(L, st->meta_values[i]);
    lua_setfield(L, -2, st->meta_keys[i]);
  }
  lua_pushinteger(L, (lua_Integer)st->data_offset + 1);
  lp_st_free(st);
  return 3;
}

#define ZIP_MAX 4096

/* zip_index(bytes) -> {{name=, index=}, ...} in archive order. */
static int a_zip_index(lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  lp_zip_entry *z = (lp_zip_entry *)lua_newuserdatauv(L, sizeof *z * ZIP_MAX, 0);
  int n;
  char err[256];
  if (lp_zip_index((const unsigned char *)s, len, z, ZIP_MAX, &n, err, sizeof err) != LP_OK) {
    luaL_pushfail(L);
    lua_pushstring(L, err);
    return 2;
  }
  lua_createtable(L, n, 0);
  for (int i = 0; i < n; i++) {
    lua_createtable(L, 0, 2);
    lua_pushstring(L, z[i].name);
    lua_setfield(L, -2, "name");
    lua_pushinteger(L, i + 1);
    lua_setfield(L, -2, "index");
    lua_seti(L, -2, i + 1);
  }
  return 1;
}

/* zip_extract(bytes, index) -> the member's bytes (checked size and CRC). */
static int a_zip_extract(lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  lua_Integer ix = luaL_checkinteger(L, 2);
  lp_zip_entry *z = (lp_zip_entry *)lua_newuserdatauv(L, sizeof *z * ZIP_MAX, 0);
  int n;
  char err[256];
  if (lp_zip_index((const unsigned char *)s, len, z, ZIP_MAX, &n, err, sizeof err) != LP_OK) {
    luaL_pushfail(L);
    lua_pushstring(L, err);
    return 2;
  }
  luaL_argcheck(L, ix >= 1 && ix <= n, 2, "no such member");
  const lp_zip_entry *e = &z[ix - 1];
  luaL_Buffer b;
  unsigned char *out = (unsigned char *)luaL_buffinitsize(L, &b, (size_t)e->usize);
  if (lp_zip_extract((const unsigned char *)s, len, e, out, err, sizeof err) != LP_OK) {
    luaL_pushresultsize(&b, 0);
    luaL_pushfail(L);
    lua_pushstring(L, err);
    return 2;
  }
  luaL_pushresultsize(&b, (size_t)e->usize);
  return 1;
}

int luaopen_lpact_arrayfile(lua_State *L) {
  if (luaL_newmetatable(L, ST_MT)) {
    lua_pushcfunction(L, st_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_pop(L, 1);
  static const luaL_Reg fns[] = {
    {"npy_info", a_npy_info}, {"npy_header", a_npy_header}, {"decode", a_decode},
    {"encode", a_encode}, {"st_parse", a_st_parse}, {"zip_index", a_zip_index},
    {"zip_extract", a_zip_extract}, {NULL, NULL}};
  lua_newtable(L);
  luaL_newlib(L, fns);
  lua_createtable(L, LP_DT_COUNT, 0);
  for (int i = 0; i < LP_DT_COUNT; i++) {
    lua_pushstring(L, lp_dtypes[i].name);
    lua_seti(L, -2, i + 1);
  }
  lua_setfield(L, -2, "dtypes");
  lua_setfield(L, -2, "arrayfile");
  return 1;
}
