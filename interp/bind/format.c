/* bind/format.c — the `lpact.Format` userdata: a parsed minifloat format
 * with its properties, rounding of numbers, tables and tensors, codes and
 * values; and the quantize micro-benchmark helpers (bench_*).
 *
 * A Format holds a copy of the core's lp_format plus a running counter for
 * stochastic rounding of numbers and tables (each element drawn takes the
 * next counter, so a script's results repeat run after run). */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bind/bind.h"
#include "core/parallel.h"

typedef struct {
  lp_format f;
  uint64_t ctr;          /* next stochastic-rounding counter */
} Format;

static Format *to_format(lua_State *L, int i) {
  return (Format *)luaL_checkudata(L, i, LP_FORMAT_MT);
}

void lp_push_format(lua_State *L, const lp_format *f) {
  Format *u = (Format *)lua_newuserdatauv(L, sizeof(Format), 0);
  u->f = *f;
  u->ctr = 0;
  luaL_setmetatable(L, LP_FORMAT_MT);
}

/* The C parser reads up to the first NUL: a spec with a NUL inside
 * ("e4m3\0junk") would quietly lose its tail, so it is refused. */
static const char *spec_nul = "format spec holds a NUL byte";
static int has_nul(lua_State *L, int i) {
  size_t n;
  const char *s = lua_tolstring(L, i, &n);
  return s != NULL && strlen(s) != n;
}

const lp_format *lp_check_format(lua_State *L, int i) {
  i = lua_absindex(L, i);
  Format *u = (Format *)luaL_testudata(L, i, LP_FORMAT_MT);
  if (u != NULL) return &u->f;
  if (lua_type(L, i) != LUA_TSTRING) {
    luaL_typeerror(L, i, "format or spec string");
    return NULL;
  }
  /* a bad spec is the user's mistake: one line, exit status 2 */
  if (has_nul(L, i)) lp_fail(L, "%s", spec_nul);
  lp_format f;
  char err[256];
  if (lp_format_parse(&f, lua_tostring(L, i), err, sizeof err) != LP_OK) lp_fail(L, "%s", err);
  lp_push_format(L, &f);
  lua_replace(L, i);   /* the Format now lives in the argument's slot */
  return &((Format *)lua_touserdata(L, i))->f;
}

/* lpact.format(spec | Format) -> Format. */
static int l_format(lua_State *L) {
  const lp_format *f = lp_check_format(L, 1);
  lp_push_format(L, f);
  return 1;
}

/* lpact.parse_format(spec) -> Format, or nil and the parser's message
 * (for command lines that report it as one line). */
static int l_parse_format(lua_State *L) {
  const char *spec = luaL_checkstring(L, 1);
  lp_format f;
  char err[256];
  if (has_nul(L, 1)) {
    luaL_pushfail(L);
    lua_pushstring(L, spec_nul);
    return 2;
  }
  if (lp_format_parse(&f, spec, err, sizeof err) != LP_OK) {
    luaL_pushfail(L);
    lua_pushstring(L, err);
    return 2;
  }
  lp_push_format(L, &f);
  return 1;
}

static Format *check_self(lua_State *L) { return to_format(L, 1); }

/* Counter for the next n stochastic draws: an explicit one (argument i,
 * when given) or the Format's running counter. */
static uint64_t take_ctr(lua_State *L, Format *u, int i, uint64_t n) {
  if (!lua_isnoneornil(L, i)) return (uint64_t)luaL_checkinteger(L, i);
  uint64_t c = u->ctr;
  u->ctr += n;
  return c;
}

/* Argument i as a tensor to read: itself when contiguous, else a
 * contiguous copy (made by its own :contiguous() method) that replaces it
 * on the stack. */
static lp_tensor *check_tensor_in(lua_State *L, int i) {
  lp_tensor *t = lp_check_tensor(L, i);
  if (lp_tensor_is_contiguous(t)) return t;
  lua_getfield(L, i, "contiguous");
  lua_pushvalue(L, i);
  lua_call(L, 1, 1);
  lua_replace(L, i);
  return lp_check_contiguous(L, i);
}

/* f:round(x [, ctr]): a number, a table of numbers or a Tensor. */
static int m_round(lua_State *L) {
  Format *u = check_self(L);
  int t = lua_type(L, 2);
  if (t == LUA_TNUMBER) {
    double x = luaL_checknumber(L, 2);
    uint64_t c = take_ctr(L, u, 3, 1);
    lua_pushnumber(L, lp_round(&u->f, x, c));
    return 1;
  }
  if (t == LUA_TTABLE) {
    lua_Integer n = luaL_len(L, 2);
    luaL_argcheck(L, n >= 0 && n <= INT_MAX, 2, "table length out of range");
    for (lua_Integer k = 1; k <= n; k++)
      if (lua_geti(L, 2, k) != LUA_TNUMBER) {
        return luaL_error(L, "bad argument #1 to 'round' (number expected at index %d, got %s)",
                          (int)k, luaL_typename(L, -1));
      } else lua_pop(L, 1);
    uint64_t c = take_ctr(L, u, 3, (uint64_t)n);
    lua_createtable(L, (int)n, 0);
    for (lua_Integer k = 1; k <= n; k++) {
      lua_geti(L, 2, k);
      double x = lua_tonumber(L, -1);
      lua_pop(L, 1);
      lua_pushnumber(L, lp_round(&u->f, x, c + (uint64_t)(k - 1)));
      lua_seti(L, -2, k);
    }
    return 1;
  }
  if (luaL_testudata(L, 2, LP_TENSOR_MT) != NULL) {
    lp_tensor *src = check_tensor_in(L, 2);
    size_t n = (size_t)lp_tensor_numel(src);
    uint64_t c = take_ctr(L, u, 3, n);
    lp_tensor *dst = lp_push_tensor_like(L, src, 0);
    lp_quantize(&u->f, lp_tensor_data(dst), lp_tensor_data(src), n, 1.0f, c);
    return 1;
  }
  return luaL_typeerror(L, 2, "number, table or tensor");
}

/* f:round_(tensor [, ctr]) rounds in place; returns the tensor. */
static int m_round_(lua_State *L) {
  Format *u = check_self(L);
  lp_tensor *t = lp_check_contiguous(L, 2);
  size_t n = (size_t)lp_tensor_numel(t);
  uint64_t c = take_ctr(L, u, 3, n);
  lp_quantize(&u->f, lp_tensor_data(t), lp_tensor_data(t), n, 1.0f, c);
  lua_settop(L, 2);
  return 1;
}

/* f:quantize(tensor [, {scale=, ctr=}]) -> new tensor scale*Q(t/scale). */
static int m_quantize(lua_State *L) {
  Format *u = check_self(L);
  lp_tensor *src = check_tensor_in(L, 2);
  double scale = 1.0;
  int has_ctr = 0;
  lua_Integer ctr = 0;
  if (!lua_isnoneornil(L, 3)) {
    luaL_checktype(L, 3, LUA_TTABLE);
    if (lua_getfield(L, 3, "scale") != LUA_TNIL) {
      if (!lua_isnumber(L, -1)) return luaL_argerror(L, 3, "scale must be a number");
      scale = lua_tonumber(L, -1);
    }
    if (lua_getfield(L, 3, "ctr") != LUA_TNIL) {
      if (!lua_isinteger(L, -1)) return luaL_argerror(L, 3, "ctr must be an integer");
      ctr = lua_tointeger(L, -1);
      has_ctr = 1;
    }
    lua_pop(L, 2);
  }
  if (!(scale > 0) || isinf(scale) || (float)scale == 0.0f || isinf((float)scale))
    return luaL_argerror(L, 3, "scale must be a positive finite binary32 number");
  size_t n = (size_t)lp_tensor_numel(src);
  uint64_t c = has_ctr ? (uint64_t)ctr : u->ctr;
  if (!has_ctr) u->ctr += n;
  lp_tensor *dst = lp_push_tensor_like(L, src, 0);
  lp_quantize(&u->f, lp_tensor_data(dst), lp_tensor_data(src), n, (float)scale, c);
  return 1;
}

static uint32_t check_code(lua_State *L, const lp_format *f, int i);

/* f:encode(t) for a Tensor: a new tensor of the codes (small integers held
 * exactly in float32; formats up to 24 bits). Every element must be a
 * value of the format: the first that is not is reported (nil, message). */
static int encode_tensor(lua_State *L, const lp_format *f) {
  if (f->bits > 24) return luaL_error(L, "encode: %s codes have %d bits; tensors hold codes up to 24 bits", f->name, f->bits);
  lp_tensor *src = check_tensor_in(L, 2);
  lp_tensor *dst = lp_push_tensor_like(L, src, 0);
  const float *x = lp_tensor_data(src);
  float *c = lp_tensor_data(dst);
  int64_t n = lp_tensor_numel(src);
  for (int64_t i = 0; i < n; i++) {
    uint32_t code;
    if (lp_encode(f, x[i], &code) != LP_OK) {
      luaL_pushfail(L);
      lua_pushfstring(L, "element %I (%f) is not a value of %s (round it first)", (lua_Integer)i + 1,
                      (lua_Number)x[i], f->name);
      return 2;
    }
    c[i] = (float)code;
  }
  return 1;
}

/* f:decode(t) for a Tensor of codes: a new tensor of the values. */
static int decode_tensor(lua_State *L, const lp_format *f) {
  lp_tensor *src = check_tensor_in(L, 2);
  uint64_t nc = f->bits >= 32 ? (UINT64_C(1) << 32) : (UINT64_C(1) << f->bits);
  const float *c = lp_tensor_data(src);
  int64_t n = lp_tensor_numel(src);
  for (int64_t i = 0; i < n; i++)
    if (!(c[i] >= 0 && (double)c[i] < (double)nc && c[i] == floorf(c[i])))
      return luaL_error(L, "decode: element %I (%f) is not a code of %s (0..%I)", (lua_Integer)i + 1,
                        (lua_Number)c[i], f->name, (lua_Integer)nc - 1);
  lp_tensor *dst = lp_push_tensor_like(L, src, 0);
  float *v = lp_tensor_data(dst);
  for (int64_t i = 0; i < n; i++) v[i] = (float)lp_decode(f, (uint32_t)c[i]);
  return 1;
}

/* f:encode(x) -> code: x must be a value of the format (round it first);
 * returns nil and a message otherwise. A Tensor gives a Tensor of codes. */
static int m_encode(lua_State *L) {
  Format *u = check_self(L);
  if (luaL_testudata(L, 2, LP_TENSOR_MT) != NULL) return encode_tensor(L, &u->f);
  double x = luaL_checknumber(L, 2);
  uint32_t code;
  if (lp_encode(&u->f, x, &code) != LP_OK) {
    luaL_pushfail(L);
    lua_pushfstring(L, "%s is not a value of %s (round it first)", lua_tostring(L, 2), u->f.name);
    return 2;
  }
  lua_pushinteger(L, (lua_Integer)code);
  return 1;
}

static uint32_t check_code(lua_State *L, const lp_format *f, int i) {
  lua_Integer c = luaL_checkinteger(L, i);
  uint64_t nc = f->bits >= 32 ? (UINT64_C(1) << 32) : (UINT64_C(1) << f->bits);
  luaL_argcheck(L, c >= 0 && (uint64_t)c < nc, i, "code out of range");
  return (uint32_t)c;
}

/* f:decode(code) -> value (inf and NaN as floats); a Tensor of codes gives
 * a Tensor of values. */
static int m_decode(lua_State *L) {
  Format *u = check_self(L);
  if (luaL_testudata(L, 2, LP_TENSOR_MT) != NULL) return decode_tensor(L, &u->f);
  lua_pushnumber(L, lp_decode(&u->f, check_code(L, &u->f, 2)));
  return 1;
}

static const char *const kind_names[] = {"zero", "subnormal", "normal", "inf", "nan", "unused"};

/* Pushes {code=, value=, sign=, exponent=, mantissa=, kind=, bits=}. */
static void push_code(lua_State *L, const lp_format *f, uint32_t code) {
  int sign;
  uint32_t e, m;
  lp_code_kind k = lp_code_fields(f, code, &sign, &e, &m);
  lua_createtable(L, 0, 7);
  lua_pushinteger(L, code);
  lua_setfield(L, -2, "code");
  lua_pushnumber(L, lp_decode(f, code));
  lua_setfield(L, -2, "value");
  lua_pushinteger(L, sign);
  lua_setfield(L, -2, "sign");
  lua_pushinteger(L, e);
  lua_setfield(L, -2, "exponent");
  lua_pushinteger(L, m);
  lua_setfield(L, -2, "mantissa");
  lua_pushstring(L, kind_names[k]);
  lua_setfield(L, -2, "kind");
  /* "s eeee mmm" with fields separated by spaces */
  char bits[48];
  int p = 0;
  if (f->is_signed) { bits[p++] = (char)('0' + sign); bits[p++] = ' '; }
  for (int b = f->ebits - 1; b >= 0; b--) bits[p++] = (char)('0' + ((e >> b) & 1));
  if (f->ebits > 0 && f->mbits > 0) bits[p++] = ' ';
  for (int b = f->mbits - 1; b >= 0; b--) bits[p++] = (char)('0' + ((m >> b) & 1));
  bits[p] = '\0';
  lua_pushstring(L, bits);
  lua_setfield(L, -2, "bits");
}

#define LIST_MAX_BITS 16

/* f:codes() -> every code in order, as {code=, value=, sign=, exponent=,
 * mantissa=, kind=, bits=} (formats up to 16 bits). */
static int m_codes(lua_State *L) {
  Format *u = check_self(L);
  if (u->f.bits > LIST_MAX_BITS)
    return luaL_error(L, "codes: %s has 2^%d codes; listing stops at %d bits", u->f.name,
                      u->f.bits, LIST_MAX_BITS);
  uint32_t n = lp_format_ncodes(&u->f);
  lua_createtable(L, (int)n, 0);
  for (uint32_t c = 0; c < n; c++) {
    push_code(L, &u->f, c);
    lua_seti(L, -2, (lua_Integer)c + 1);
  }
  return 1;
}

/* f:code(c) -> the table codes() holds for one code (any size of format). */
static int m_code(lua_State *L) {
  Format *u = check_self(L);
  push_code(L, &u->f, check_code(L, &u->f, 2));
  return 1;
}

/* f:values() -> the distinct finite values, ascending (formats up to 16 bits). */
static int m_values(lua_State *L) {
  Format *u = check_self(L);
  const lp_format *f = &u->f;
  if (f->bits > LIST_MAX_BITS)
    return luaL_error(L, "values: %s has 2^%d codes; listing stops at %d bits", f->name, f->bits,
                      LIST_MAX_BITS);
  /* magnitudes in code order are ascending; skip unused (nosub) codes */
  uint32_t npos = 0;
  lua_createtable(L, (int)lp_format_nvalues(f), 0);
  double *mags = (double *)lua_newuserdatauv(L, sizeof(double) * (f->maxcode + 1), 0);
  int has_zero = f->policy != LP_E8M0;   /* e8m0's code 0 is 2^-bias */
  for (uint32_t c = has_zero ? 1 : 0; c <= f->maxcode; c++) {
    lp_code_kind k = lp_code_fields(f, c, NULL, NULL, NULL);
    if (k == LP_KIND_NORMAL || k == LP_KIND_SUBNORMAL) mags[npos++] = lp_decode(f, c);
  }
  lua_Integer idx = 1;
  if (f->is_signed)
    for (uint32_t k = npos; k > 0; k--) { lua_pushnumber(L, -mags[k - 1]); lua_seti(L, -3, idx++); }
  if (has_zero) {
    lua_pushnumber(L, 0.0);
    lua_seti(L, -3, idx++);
  }
  for (uint32_t k = 0; k < npos; k++) { lua_pushnumber(L, mags[k]); lua_seti(L, -3, idx++); }
  lua_pop(L, 1);
  return 1;
}


/* Pushes the property `k` of f; returns 0 if there is no such property. */
static int push_prop(lua_State *L, const lp_format *f, const char *k) {
  if (!strcmp(k, "name")) lua_pushstring(L, f->name);
  else if (!strcmp(k, "spec")) lua_pushstring(L, f->spec);
  else if (!strcmp(k, "bits")) lua_pushinteger(L, f->bits);
  else if (!strcmp(k, "ebits")) lua_pushinteger(L, f->ebits);
  else if (!strcmp(k, "mbits")) lua_pushinteger(L, f->mbits);
  else if (!strcmp(k, "bias")) lua_pushinteger(L, f->bias);
  else if (!strcmp(k, "signed")) lua_pushboolean(L, f->is_signed);
  else if (!strcmp(k, "subnormals")) lua_pushboolean(L, f->subnormals);
  else if (!strcmp(k, "policy")) lua_pushstring(L, lp_policy_name(f->policy));
  else if (!strcmp(k, "overflow")) lua_pushstring(L, lp_overflow_name(f->overflow));
  else if (!strcmp(k, "mode")) lua_pushstring(L, lp_rmode_name(f->mode));
  else if (!strcmp(k, "sr_bits")) lua_pushinteger(L, f->sr_bits);
  else if (!strcmp(k, "seed")) lua_pushinteger(L, (lua_Integer)f->seed);
  else if (!strcmp(k, "max")) lua_pushnumber(L, f->maxval);
  else if (!strcmp(k, "min_normal")) lua_pushnumber(L, f->minnorm);
  else if (!strcmp(k, "min_subnormal")) lua_pushnumber(L, f->minsub);
  else if (!strcmp(k, "epsilon")) lua_pushnumber(L, lp_format_epsilon(f));
  else if (!strcmp(k, "ncodes")) lua_pushinteger(L, f->bits >= 32 ? (lua_Integer)1 << 32 : (lua_Integer)lp_format_ncodes(f));
  else if (!strcmp(k, "nvalues")) lua_pushinteger(L, lp_format_nvalues(f));
  else if (!strcmp(k, "binades")) lua_pushnumber(L, lp_format_binades(f));
  else if (!strcmp(k, "emin")) lua_pushinteger(L, f->emin);
  else if (!strcmp(k, "emax")) lua_pushinteger(L, f->emax);
  else if (!strcmp(k, "has_inf")) lua_pushboolean(L, lp_format_has_inf(f));
  else if (!strcmp(k, "has_nan")) lua_pushboolean(L, lp_format_has_nan(f));
  else if (!strcmp(k, "identity")) lua_pushboolean(L, f->identity);
  else return 0;
  return 1;
}

static const char *const prop_names[] = {
  "name", "spec", "bits", "ebits", "mbits", "bias", "signed", "subnormals", "policy",
  "overflow", "mode", "sr_bits", "seed", "max", "min_normal", "min_subnormal", "epsilon",
  "ncodes", "nvalues", "binades", "emin", "emax", "has_inf", "has_nan", "identity", NULL};

/* f:info() -> a table of every property. */
static int m_info(lua_State *L) {
  Format *u = check_self(L);
  lua_createtable(L, 0, 26);
  for (int i = 0; prop_names[i] != NULL; i++) {
    push_prop(L, &u->f, prop_names[i]);
    lua_setfield(L, -2, prop_names[i]);
  }
  return 1;
}

/* The names of a list from the core (which: "mode", "policy" or
 * "overflow"): as a Lua list (as_list) or as one "a b c" string. */
static void push_list(lua_State *L, const char *which, int as_list) {
  int n = !strcmp(which, "mode") ? LP_NMODES : !strcmp(which, "policy") ? LP_NPOLICIES : LP_NOVERFLOWS;
  luaL_Buffer b;
  if (as_list) lua_createtable(L, n, 0);
  else luaL_buffinit(L, &b);
  for (int k = 0; k < n; k++) {
    const char *name = !strcmp(which, "mode")     ? lp_rmode_name((lp_rmode)k)
                       : !strcmp(which, "policy") ? lp_policy_name((lp_policy)k)
                                                  : lp_overflow_name((lp_overflow)k);
    if (as_list) {
      lua_pushstring(L, name);
      lua_rawseti(L, -2, k + 1);
    } else {
      if (k) luaL_addchar(&b, ' ');
      luaL_addstring(&b, name);
    }
  }
  if (!as_list) luaL_pushresult(&b);
}

static void push_names(lua_State *L, const char *which) { push_list(L, which, 0); }

/* lpact.format_names() -> {modes = {"rne", ...}, policies = {"ieee", ...},
 * overflow = {"sat", "inf"}}: the core's lists, in their enum order. */
static int l_format_names(lua_State *L) {
  lua_createtable(L, 0, 3);
  push_list(L, "mode", 1), lua_setfield(L, -2, "modes");
  push_list(L, "policy", 1), lua_setfield(L, -2, "policies");
  push_list(L, "overflow", 1), lua_setfield(L, -2, "overflow");
  return 1;
}

/* f:with"rtz:seed=3" or f:with{mode=, seed=, sr_bits=, bias=, subnormals=,
 * policy=, overflow=} -> a copy with these options changed. */
static int m_with(lua_State *L) {
  Format *u = check_self(L);
  char all[512];
  all[0] = '\0';
  if (lua_type(L, 2) == LUA_TTABLE) {
    static const char *const keys[] = {"mode", "seed", "sr_bits", "bias", "subnormals", "policy", "overflow", NULL};
    for (int i = 0; keys[i] != NULL; i++) {
      int t = lua_getfield(L, 2, keys[i]);
      if (t == LUA_TNIL) { lua_pop(L, 1); continue; }
      char opt[64];
      if (!strcmp(keys[i], "subnormals")) {
        snprintf(opt, sizeof opt, ":%s", lua_toboolean(L, -1) ? "sub" : "nosub");
      } else if (!strcmp(keys[i], "seed") || !strcmp(keys[i], "bias") || !strcmp(keys[i], "sr_bits")) {
        if (!lua_isinteger(L, -1)) return lp_fail(L, "%s must be an integer", keys[i]);
        lua_Integer v = lua_tointeger(L, -1);
        if (!strcmp(keys[i], "sr_bits")) snprintf(opt, sizeof opt, ":sr=%lld", (long long)v);
        else if (!strcmp(keys[i], "seed")) snprintf(opt, sizeof opt, ":seed=%llu", (unsigned long long)v);
        else snprintf(opt, sizeof opt, ":bias=%lld", (long long)v);
      } else {
        if (lua_type(L, -1) != LUA_TSTRING) return lp_fail(L, "%s must be a string", keys[i]);
        size_t vl;
        const char *v = lua_tolstring(L, -1, &vl);
        int ok = !strcmp(keys[i], "mode")     ? lp_rmode_from_name(v, vl) >= 0
                 : !strcmp(keys[i], "policy") ? lp_policy_from_name(v, vl) >= 0
                                              : lp_overflow_from_name(v, vl) >= 0;
        if (!ok) {
          push_names(L, keys[i]);
          return lp_fail(L, "%s '%s' is not one of %s", keys[i], v, lua_tostring(L, -1));
        }
        snprintf(opt, sizeof opt, ":%.40s", v);
      }
      lua_pop(L, 1);
      strncat(all, opt, sizeof all - strlen(all) - 1);
    }
    /* unknown keys are mistakes */
    lua_pushnil(L);
    while (lua_next(L, 2) != 0) {
      lua_pop(L, 1);
      int known = 0;
      if (lua_type(L, -1) == LUA_TSTRING)
        for (int i = 0; keys[i] != NULL; i++) known |= !strcmp(lua_tostring(L, -1), keys[i]);
      if (!known) {
        lua_pushfstring(L, "unknown option %s (expected mode, seed, sr_bits, bias, subnormals, policy, overflow)",
                        luaL_tolstring(L, -1, NULL));
        return lp_fail(L, "%s", lua_tostring(L, -1));
      }
    }
    lua_pushstring(L, all);
  } else {
    luaL_checkstring(L, 2);
    if (has_nul(L, 2)) return lp_fail(L, "%s", spec_nul);
    lua_pushvalue(L, 2);
  }
  lp_format g;
  char err[256];
  if (lp_format_with(&g, &u->f, lua_tostring(L, -1), err, sizeof err) != LP_OK)
    return lp_fail(L, "%s", err);
  lp_push_format(L, &g);
  return 1;
}

/* f:reset([ctr]) sets the running stochastic counter (default 0). */
static int m_reset(lua_State *L) {
  Format *u = check_self(L);
  u->ctr = (uint64_t)luaL_optinteger(L, 2, 0);
  lua_settop(L, 1);
  return 1;
}

static int mm_tostring(lua_State *L) {
  Format *u = check_self(L);
  lua_pushfstring(L, "Format(%s: %s)", u->f.name, u->f.spec);
  return 1;
}

static int mm_eq(lua_State *L) {
  Format *a = (Format *)luaL_testudata(L, 1, LP_FORMAT_MT);
  Format *b = (Format *)luaL_testudata(L, 2, LP_FORMAT_MT);
  lua_pushboolean(L, a != NULL && b != NULL && strcmp(a->f.spec, b->f.spec) == 0);
  return 1;
}

static const luaL_Reg methods[] = {
  {"round", m_round}, {"round_", m_round_}, {"quantize", m_quantize},
  {"encode", m_encode}, {"decode", m_decode}, {"codes", m_codes}, {"code", m_code},
  {"values", m_values}, {"info", m_info}, {"with", m_with}, {"reset", m_reset},
  {NULL, NULL}};

/* __index: methods first, then properties. */
static int mm_index(lua_State *L) {
  Format *u = check_self(L);
  lua_pushvalue(L, 2);
  if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL) return 1;
  lua_pop(L, 1);
  if (lua_type(L, 2) == LUA_TSTRING && push_prop(L, &u->f, lua_tostring(L, 2))) return 1;
  return 0;
}

/* ------------------------------------------------------------- benches */

/* A pair of float buffers for the quantize benchmark, freed by __gc. */
typedef struct {
  float *src, *dst;
  size_t n;
} BenchBuf;

#define BENCH_MT "lpact.BenchBuffer"

static int bb_gc(lua_State *L) {
  BenchBuf *b = (BenchBuf *)luaL_checkudata(L, 1, BENCH_MT);
  free(b->src);
  free(b->dst);
  b->src = b->dst = NULL;
  return 0;
}

/* bench_buffer(n [, seed]) -> buffer of n floats, normal(0, 2)-ish values. */
static int l_bench_buffer(lua_State *L) {
  lua_Integer n = luaL_checkinteger(L, 1);
  luaL_argcheck(L, n > 0 && n <= ((lua_Integer)1 << 31), 1, "size out of range");
  uint64_t seed = (uint64_t)luaL_optinteger(L, 2, 1);
  BenchBuf *b = (BenchBuf *)lua_newuserdatauv(L, sizeof(BenchBuf), 0);
  b->src = b->dst = NULL;
  b->n = 0;
  luaL_setmetatable(L, BENCH_MT);
  b->src = (float *)aligned_alloc(64, ((size_t)n * 4 + 63) / 64 * 64);
  b->dst = (float *)aligned_alloc(64, ((size_t)n * 4 + 63) / 64 * 64);
  if (b->src == NULL || b->dst == NULL) return luaL_error(L, "not enough memory");
  b->n = (size_t)n;
  uint64_t s = seed * UINT64_C(0x9e3779b97f4a7c15) + 1;
  for (size_t i = 0; i < b->n; i++) {
    /* sum of uniforms: roughly normal, spread over a few binades */
    s ^= s << 13; s ^= s >> 7; s ^= s << 17;
    double u1 = (double)(s >> 40) / 16777216.0, u2 = (double)((s >> 16) & 0xffffff) / 16777216.0;
    b->src[i] = (float)((u1 + u2 - 1.0) * 4.0);
    b->dst[i] = 0.0f;
  }
  return 1;
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* CPU seconds of the whole process (all threads): on a busy machine the
 * wall clock also counts time spent waiting for a core. */
static double cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* bench_memcpy(buf, reps) -> best wall seconds, best CPU seconds of a
 * memcpy of the buffer. */
static int l_bench_memcpy(lua_State *L) {
  BenchBuf *b = (BenchBuf *)luaL_checkudata(L, 1, BENCH_MT);
  lua_Integer reps = luaL_optinteger(L, 2, 3);
  luaL_argcheck(L, reps >= 1 && reps <= 1000000, 2, "repetitions out of range");
  double best = INFINITY, best_cpu = INFINITY;
  for (int r = 0; r < reps; r++) {
    double t0 = now(), c0 = cpu_now();
    memcpy(b->dst, b->src, b->n * sizeof(float));
    double t = now() - t0, c = cpu_now() - c0;
    if (t < best) best = t;
    if (c < best_cpu) best_cpu = c;
  }
  lua_pushnumber(L, best);
  lua_pushnumber(L, best_cpu);
  return 2;
}

/* bench_quantize(buf, format, threads, reps [, lanes]) -> best wall
 * seconds, best CPU seconds (all threads) of lp_quantize over the buffer
 * (out of place) with that many threads; lanes is a level of
 * lp_quantize_simd (default: the best the CPU runs). */
static int l_bench_quantize(lua_State *L) {
  BenchBuf *b = (BenchBuf *)luaL_checkudata(L, 1, BENCH_MT);
  const lp_format *f = lp_check_format(L, 2);
  lua_Integer threads = luaL_optinteger(L, 3, 1), reps = luaL_optinteger(L, 4, 3);
  luaL_argcheck(L, threads >= 1 && threads <= 64, 3, "threads out of range");
  luaL_argcheck(L, reps >= 1 && reps <= 1000000, 4, "repetitions out of range");
  lua_Integer lanes = luaL_optinteger(L, 5, -1);
  luaL_argcheck(L, lanes >= -1 && lanes <= lp_quantize_simd_max(), 5, "lane level not run by this CPU");
  int old = lp_threads(), old_lanes = lp_quantize_simd((int)lanes);
  lp_set_threads((int)threads);
  double best = INFINITY, best_cpu = INFINITY;
  for (int r = 0; r < reps; r++) {
    double t0 = now(), c0 = cpu_now();
    lp_quantize(f, b->dst, b->src, b->n, 1.0f, (uint64_t)r * b->n);
    double t = now() - t0, c = cpu_now() - c0;
    if (t < best) best = t;
    if (c < best_cpu) best_cpu = c;
  }
  lp_set_threads(old);
  lp_quantize_simd(old_lanes);
  lua_pushnumber(L, best);
  lua_pushnumber(L, best_cpu);
  return 2;
}

/* bench_lanes() -> {"portable", "avx2", ...}: the lane builds of
 * lp_quantize this CPU runs, index i + 1 for level i. */
static int l_bench_lanes(lua_State *L) {
  int max = lp_quantize_simd_max();
  lua_createtable(L, max + 1, 0);
  for (int i = 0; i <= max; i++) {
    lua_pushstring(L, lp_quantize_simd_name(i));
    lua_seti(L, -2, i + 1);
  }
  return 1;
}

/* ------------------------------------------------------------- module */

int luaopen_lpact_format(lua_State *L) {
  if (luaL_newmetatable(L, LP_FORMAT_MT)) {
    luaL_newlib(L, methods);
    lua_pushcclosure(L, mm_index, 1);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, mm_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pushcfunction(L, mm_eq);
    lua_setfield(L, -2, "__eq");
  }
  lua_pop(L, 1);
  if (luaL_newmetatable(L, BENCH_MT)) {
    lua_pushcfunction(L, bb_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_pop(L, 1);
  lua_newtable(L);
  lua_pushcfunction(L, l_format);
  lua_setfield(L, -2, "format");
  lua_pushcfunction(L, l_parse_format);
  lua_setfield(L, -2, "parse_format");
  lua_pushcfunction(L, l_format_names);
  lua_setfield(L, -2, "format_names");
  lua_newtable(L);
  for (int i = 0; lp_format_presets[i] != NULL; i++) {
    lua_pushstring(L, lp_format_presets[i]);
    lua_seti(L, -2, i + 1);
  }
  lua_setfield(L, -2, "formats");
  lua_newtable(L);
  for (int i = 0; lp_format_aliases[i] != NULL; i++) {
    lua_pushstring(L, lp_format_aliases[i]);
    lua_seti(L, -2, i + 1);
  }
  lua_setfield(L, -2, "format_aliases");
  lua_pushcfunction(L, l_bench_buffer);
  lua_setfield(L, -2, "bench_buffer");
  lua_pushcfunction(L, l_bench_memcpy);
  lua_setfield(L, -2, "bench_memcpy");
  lua_pushcfunction(L, l_bench_quantize);
  lua_setfield(L, -2, "bench_quantize");
  lua_pushcfunction(L, l_bench_lanes);
  lua_setfield(L, -2, "bench_lanes");
  return 1;
}
