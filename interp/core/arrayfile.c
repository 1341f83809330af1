/* arrayfile.c — element types shared by the array-file readers, the
 * float32 conversions, and the NumPy .npy reader and header writer.
 *
 * The .npy header is a Python dict literal; this reader accepts exactly
 * what NumPy writes ({'descr': '<f4', 'fortran_order': False, 'shape':
 * (2, 3), }) with free spacing, each key once, nothing else. Everything is
 * checked against the file's length before a byte of data is read. */
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arrayfile.h"
#include "core/format.h"

const lp_dtype_info lp_dtypes[LP_DT_COUNT] = {
  [LP_DT_F32] = {"float32", "<f4", "F32", 4},
  [LP_DT_F64] = {"float64", "<f8", "F64", 8},
  [LP_DT_I32] = {"int32", "<i4", "I32", 4},
  [LP_DT_I64] = {"int64", "<i8", "I64", 8},
  [LP_DT_U8] = {"uint8", "|u1", "U8", 1},
  [LP_DT_BOOL] = {"bool", "|b1", "BOOL", 1},
};

int lp_dtype_by_name(const char *name) {
  for (int i = 0; i < LP_DT_COUNT; i++)
    if (strcmp(lp_dtypes[i].name, name) == 0) return i;
  return -1;
}

static int fail(char *err, size_t errlen, int status, const char *fmt, ...)
  __attribute__((format(printf, 4, 5)));
static int fail(char *err, size_t errlen, int status, const char *fmt, ...) {
  if (err != NULL && errlen > 0) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
  }
  return status;
}

void lp_printable(char *dst, size_t cap, const char *name) {
  size_t k = 0;
  if (cap == 0) return;
  for (; name[k] != '\0' && k + 1 < cap; k++) {
    unsigned char c = (unsigned char)name[k];
    dst[k] = c < 32 || c == 127 ? '?' : (char)c;
  }
  dst[k] = '\0';
}

/* ---------------------------------------------------------- conversions */

static uint64_t le_u64(const unsigned char *p, int size) {
  uint64_t v = 0;
  for (int b = size - 1; b >= 0; b--) v = (v << 8) | p[b];
  return v;
}

static void put_le(unsigned char *p, uint64_t v, int size) {
  for (int b = 0; b < size; b++) p[b] = (unsigned char)(v >> (8 * b));
}

/* Source element of row-major index i for Fortran-ordered data. */
static int64_t fortran_index(int64_t i, int ndim, const int64_t *shape) {
  int64_t src = 0, mult = 1;
  int64_t rest = i;
  int64_t idx[LP_MAXDIM];
  for (int d = ndim - 1; d >= 0; d--) { idx[d] = rest % shape[d]; rest /= shape[d]; }
  for (int d = 0; d < ndim; d++) { src += idx[d] * mult; mult *= shape[d]; }
  return src;
}

int lp_array_to_f32(float *dst, const unsigned char *src, lp_dtype dt, int64_t n, int fortran,
                    int ndim, const int64_t *shape, char *err, size_t errlen) {
  int size = lp_dtypes[dt].size;
  for (int64_t i = 0; i < n; i++) {
    int64_t k = fortran ? fortran_index(i, ndim, shape) : i;
    uint64_t raw = le_u64(src + (size_t)k * (size_t)size, size);
    float v;
    switch (dt) {
      case LP_DT_F32: { uint32_t w = (uint32_t)raw; memcpy(&v, &w, 4); break; }
      case LP_DT_F64: {
        double d;
        memcpy(&d, &raw, 8);
        /* a finite value past float32's range would become an infinity:
         * refused (NaN and the infinities pass as they are) */
        if (isfinite(d) && fabs(d) >= 0x1.ffffffp127)
          return fail(err, errlen, LP_ERANGE, "float64 element %lld is %.17g, beyond float32's range (%.9g)",
                      (long long)i, d, (double)FLT_MAX);
        v = (float)d;
        break;
      }
      case LP_DT_I32: case LP_DT_I64: {
        int64_t x = dt == LP_DT_I32 ? (int64_t)(int32_t)(uint32_t)raw : (int64_t)raw;
        v = (float)x;
        /* (float)x may be 2^63, past int64: compare in double first */
        if ((double)v >= 9223372036854775808.0 || (int64_t)v != x)
          return fail(err, errlen, LP_ERANGE, "%s element %lld is %lld, which float32 cannot hold exactly",
                      lp_dtypes[dt].name, (long long)i, (long long)x);
        break;
      }
      case LP_DT_U8: v = (float)raw; break;
      case LP_DT_BOOL:
        if (raw > 1)
          return fail(err, errlen, LP_ERANGE, "bool element %lld holds byte %u (0 or 1 expected)",
                      (long long)i, (unsigned)raw);
        v = (float)raw;
        break;
      case LP_DT_COUNT: abort();   /* not a dtype: the caller's bug */
    }
    dst[i] = v;
  }
  return LP_OK;
}

int lp_array_from_f32(unsigned char *dst, const float *src, lp_dtype dt, int64_t n, char *err,
                      size_t errlen) {
  int size = lp_dtypes[dt].size;
  double lo = 0, hi = 0;
  switch (dt) {
    case LP_DT_I32: lo = -2147483648.0; hi = 2147483647.0; break;
    case LP_DT_I64: lo = -9223372036854775808.0; hi = 9223372036854775807.0; break;
    case LP_DT_U8: lo = 0; hi = 255; break;
    case LP_DT_BOOL: lo = 0; hi = 1; break;
    case LP_DT_F32: case LP_DT_F64: break;    /* no range: written as they are below */
    case LP_DT_COUNT: abort();               /* not a dtype: the caller's bug */
  }
  for (int64_t i = 0; i < n; i++) {
    unsigned char *p = dst + (size_t)i * (size_t)size;
    float v = src[i];
    if (dt == LP_DT_F32) { uint32_t w; memcpy(&w, &v, 4); put_le(p, w, 4); continue; }
    if (dt == LP_DT_F64) { double d = v; uint64_t w; memcpy(&w, &d, 8); put_le(p, w, 8); continue; }
    /* float32 values >= 2^63 are out of int64's range: hi rounds up to 2^63 */
    if (!(v == floorf(v)) || !((double)v >= lo) || !((double)v <= hi) ||
        (dt == LP_DT_I64 && (double)v >= 9223372036854775808.0))
      return fail(err, errlen, LP_ERANGE, "element %lld is %.9g, not a %s value", (long long)i,
                  (double)v, lp_dtypes[dt].name);
    put_le(p, (uint64_t)(int64_t)v, size);
  }
  return LP_OK;
}

/* ------------------------------------------------------------------ npy */

typedef struct {
  const char *s;
  size_t n, p;
} scan;

static void skip_ws(scan *c) {
  while (c->p < c->n && (c->s[c->p] == ' ' || c->s[c->p] == '\t')) c->p++;
}

static int eat(scan *c, char ch) {
  skip_ws(c);
  if (c->p < c->n && c->s[c->p] == ch) { c->p++; return 1; }
  return 0;
}

/* A quoted Python string without escapes, into out (cap bytes). */
static int quoted(scan *c, char *out, size_t cap) {
  skip_ws(c);
  if (c->p >= c->n || (c->s[c->p] != '\'' && c->s[c->p] != '"')) return 0;
  char q = c->s[c->p++];
  size_t k = 0;
  while (c->p < c->n && c->s[c->p] != q) {
    char ch = c->s[c->p++];
    if (ch == '\\' || (unsigned char)ch < 32 || k + 1 >= cap) return 0;
    out[k++] = ch;
  }
  if (c->p >= c->n) return 0;
  c->p++;
  out[k] = '\0';
  return 1;
}

static int word(scan *c, const char *w) {
  skip_ws(c);
  size_t l = strlen(w);
  if (c->n - c->p >= l && memcmp(c->s + c->p, w, l) == 0) { c->p += l; return 1; }
  return 0;
}

/* Shape tuple: "()", "(3,)", "(2, 3)", "(2, 3,)"; sizes >= 0, at most
 * LP_MAXDIM dims, the product <= LP_ARRAY_MAX_NUMEL. */
static int shape_tuple(scan *c, lp_npy_info *info, char *err, size_t errlen) {
  if (!eat(c, '(')) return fail(err, errlen, LP_EPARSE, "header: shape is not a tuple");
  info->ndim = 0;
  info->numel = 1;
  int over = 0;
  for (;;) {
    if (eat(c, ')')) break;
    skip_ws(c);
    if (c->p >= c->n || c->s[c->p] < '0' || c->s[c->p] > '9')
      return fail(err, errlen, LP_EPARSE, "header: shape holds something other than sizes");
    uint64_t v = 0;
    int digits = 0;
    while (c->p < c->n && c->s[c->p] >= '0' && c->s[c->p] <= '9') {
      v = v * 10 + (uint64_t)(c->s[c->p++] - '0');
      if (++digits > 18) return fail(err, errlen, LP_ERANGE, "header: a dimension of the shape is too large");
    }
    if (c->p < c->n && c->s[c->p] == 'L') c->p++;   /* Python 2 longs */
    if (info->ndim == LP_MAXDIM)
      return fail(err, errlen, LP_ERANGE, "header: more than %d dimensions", LP_MAXDIM);
    info->shape[info->ndim++] = (int64_t)v;
    int64_t prod;
    if (over || __builtin_mul_overflow(info->numel, (int64_t)v, &prod) || prod > LP_ARRAY_MAX_NUMEL) over = 1;
    else info->numel = prod;
    if (eat(c, ',')) continue;
    if (eat(c, ')')) break;
    return fail(err, errlen, LP_EPARSE, "header: shape tuple is malformed");
  }
  /* (3) is the integer 3 in Python, not a tuple: NumPy writes (3,) */
  if (over) {
    for (int d = 0; d < info->ndim; d++)
      if (info->shape[d] == 0) { info->numel = 0; return LP_OK; }
    return fail(err, errlen, LP_ERANGE, "header: the shape's element count overflows (more than 2^40 elements)");
  }
  return LP_OK;
}

static int descr_dtype(const char *d, lp_dtype *dt, char *err, size_t errlen) {
  for (int i = 0; i < LP_DT_COUNT; i++) {
    const char *want = lp_dtypes[i].npy;
    /* one-byte types may carry any byte-order mark */
    if (strcmp(d, want) == 0 ||
        (lp_dtypes[i].size == 1 && (d[0] == '<' || d[0] == '>' || d[0] == '=') && strcmp(d + 1, want + 1) == 0)) {
      *dt = (lp_dtype)i;
      return LP_OK;
    }
  }
  if (d[0] == '>' && d[1] != '\0')
    return fail(err, errlen, LP_EINVAL, "dtype '%s' is big-endian; lpact reads little-endian float32, float64, int32, int64, uint8, bool", d);
  return fail(err, errlen, LP_EINVAL, "dtype '%s' is not supported (float32, float64, int32, int64, uint8, bool)", d);
}

int lp_npy_parse(const unsigned char *buf, size_t len, lp_npy_info *info, char *err, size_t errlen) {
  memset(info, 0, sizeof *info);
  static const unsigned char magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
  if (len < 6 || memcmp(buf, magic, 6) != 0) {
    if (len < 6 && memcmp(buf, magic, len) == 0)
      return fail(err, errlen, LP_EPARSE, "truncated: %zu bytes, not even the magic string", len);
    return fail(err, errlen, LP_EPARSE, "not a .npy file (no \\x93NUMPY magic string)");
  }
  if (len < 10) return fail(err, errlen, LP_EPARSE, "truncated: %zu bytes, the preamble has 10", len);
  info->major = buf[6];
  info->minor = buf[7];
  size_t hlen, hstart;
  if (info->major == 1) { hlen = (size_t)buf[8] | (size_t)buf[9] << 8; hstart = 10; }
  else if (info->major == 2 || info->major == 3) {
    if (len < 12) return fail(err, errlen, LP_EPARSE, "truncated: %zu bytes, the version %d preamble has 12", len, info->major);
    hlen = (size_t)le_u64(buf + 8, 4);
    hstart = 12;
  } else return fail(err, errlen, LP_EPARSE, "unknown .npy version %d.%d (1.0, 2.0, 3.0 are read)", info->major, info->minor);
  if (hlen > len - hstart)
    return fail(err, errlen, LP_EPARSE, "truncated: the header declares %zu bytes, the file has %zu after the preamble",
                hlen, len - hstart);
  if (hlen > 1 << 20) return fail(err, errlen, LP_ERANGE, "header of %zu bytes is longer than 1 MiB", hlen);
  scan c = {(const char *)buf + hstart, hlen, 0};
  for (size_t i = 0; i < hlen; i++)
    if (buf[hstart + i] == 0 || buf[hstart + i] >= 128)
      return fail(err, errlen, LP_EPARSE, "header: byte %zu is not printable ASCII", i);
  if (!eat(&c, '{')) return fail(err, errlen, LP_EPARSE, "header is not a dict");
  int seen_descr = 0, seen_order = 0, seen_shape = 0;
  for (;;) {
    if (eat(&c, '}')) break;
    char key[32], d[64];
    if (!quoted(&c, key, sizeof key)) return fail(err, errlen, LP_EPARSE, "header: a key is not a quoted name");
    if (!eat(&c, ':')) return fail(err, errlen, LP_EPARSE, "header: ':' expected after '%s'", key);
    if (strcmp(key, "descr") == 0) {
      if (seen_descr++) return fail(err, errlen, LP_EPARSE, "header: 'descr' given twice");
      skip_ws(&c);
      if (c.p < c.n && c.s[c.p] == '[') return fail(err, errlen, LP_EINVAL, "dtype is a structured record; only plain numeric arrays are read");
      if (!quoted(&c, d, sizeof d)) return fail(err, errlen, LP_EPARSE, "header: descr is not a dtype string");
      int rc = descr_dtype(d, &info->dtype, err, errlen);
      if (rc != LP_OK) return rc;
    } else if (strcmp(key, "fortran_order") == 0) {
      if (seen_order++) return fail(err, errlen, LP_EPARSE, "header: 'fortran_order' given twice");
      if (word(&c, "True")) info->fortran = 1;
      else if (word(&c, "False")) info->fortran = 0;
      else return fail(err, errlen, LP_EPARSE, "header: fortran_order is neither True nor False");
    } else if (strcmp(key, "shape") == 0) {
      if (seen_shape++) return fail(err, errlen, LP_EPARSE, "header: 'shape' given twice");
      int rc = shape_tuple(&c, info, err, errlen);
      if (rc != LP_OK) return rc;
    } else return fail(err, errlen, LP_EPARSE, "header: unknown key '%s' (descr, fortran_order, shape)", key);
    if (eat(&c, ',')) continue;
    if (eat(&c, '}')) break;
    return fail(err, errlen, LP_EPARSE, "header: ',' or '}' expected after '%s'", key);
  }
  if (!seen_descr || !seen_order || !seen_shape)
    return fail(err, errlen, LP_EPARSE, "header: '%s' is missing",
                !seen_descr ? "descr" : !seen_order ? "fortran_order" : "shape");
  while (c.p < c.n && (c.s[c.p] == ' ' || c.s[c.p] == '\n' || c.s[c.p] == '\t')) c.p++;
  if (c.p != c.n) return fail(err, errlen, LP_EPARSE, "header: unexpected text after the dict");
  info->data_offset = hstart + hlen;
  uint64_t need = (uint64_t)info->numel * (uint64_t)lp_dtypes[info->dtype].size;
  uint64_t have = len - info->data_offset;
  if (have < need)
    return fail(err, errlen, LP_EPARSE, "truncated: the shape needs %llu bytes of data, the file has %llu",
                (unsigned long long)need, (unsigned long long)have);
  if (have > need)
    return fail(err, errlen, LP_EPARSE, "%llu bytes after the data that the shape does not explain",
                (unsigned long long)(have - need));
  return LP_OK;
}

size_t lp_npy_header(char *out, size_t cap, lp_dtype dt, int ndim, const int64_t *shape) {
  char dict[512];
  int n = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (", lp_dtypes[dt].npy);
  for (int d = 0; d < ndim; d++)
    n += snprintf(dict + n, sizeof dict - (size_t)n, "%lld,%s", (long long)shape[d], d + 1 < ndim ? " " : "");
  n += snprintf(dict + n, sizeof dict - (size_t)n, "), }");
  size_t total = 10 + (size_t)n + 1;
  total = (total + 63) / 64 * 64;
  if (total > cap || total - 10 > 65535) return 0;
  size_t hlen = total - 10;
  memcpy(out, "\x93NUMPY\x01\x00", 8);
  out[8] = (char)(hlen & 0xff);
  out[9] = (char)(hlen >> 8);
  memcpy(out + 10, dict, (size_t)n);
  memset(out + 10 + n, ' ', hlen - (size_t)n - 1);
  out[total - 1] = '\n';
  return total;
}
