/* safetensors.c — the safetensors reader: an 8-byte little-endian header
 * length, a JSON header, then the tensors' bytes.
 *
 * The JSON reader here knows the one schema this file has (an object of
 * tensor records and an optional "__metadata__" of strings), so every
 * departure — a missing or unknown field, a fraction in a shape, a name
 * given twice — is refused with one line. Offsets must tile the data
 * section exactly: sorted by start, each tensor begins where the previous
 * one ended, the first at 0 and the last ending at the end of the file
 * (what the reference implementation demands), which also rules out
 * overlap. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arrayfile.h"
#include "core/format.h"

#define ST_MAX_HEADER ((uint64_t)100 << 20)

typedef struct {
  const char *s;
  size_t n, p;
  char *err;
  size_t errlen;
} js;

static int jfail(js *j, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int jfail(js *j, int status, const char *fmt, ...) {
  if (j->err != NULL && j->errlen > 0) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(j->err, j->errlen, fmt, ap);
    va_end(ap);
  }
  return status;
}

static void ws(js *j) {
  while (j->p < j->n && (j->s[j->p] == ' ' || j->s[j->p] == '\n' || j->s[j->p] == '\r' || j->s[j->p] == '\t'))
    j->p++;
}

static int peek(js *j) { ws(j); return j->p < j->n ? (unsigned char)j->s[j->p] : -1; }

static int expect(js *j, char c, const char *where) {
  if (peek(j) != c) {
    if (j->p >= j->n) return jfail(j, LP_EPARSE, "header: ends early in %s ('%c' expected)", where, c);
    return jfail(j, LP_EPARSE, "header: '%c' expected in %s at byte %zu", c, where, j->p);
  }
  j->p++;
  return LP_OK;
}

static int hexval(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static int read_hex4(js *j, unsigned *u) {
  if (j->n - j->p < 4) return 0;
  *u = 0;
  for (int k = 0; k < 4; k++) {
    int h = hexval((unsigned char)j->s[j->p + (size_t)k]);
    if (h < 0) return 0;
    *u = *u * 16 + (unsigned)h;
  }
  j->p += 4;
  return 1;
}

/* A JSON string into a new malloc'd UTF-8 buffer (*out). */
static int jstring(js *j, char **out, const char *where) {
  *out = NULL;
  if (peek(j) != '"') return jfail(j, LP_EPARSE, "header: a string expected for %s at byte %zu", where, j->p);
  j->p++;
  size_t cap = 16, k = 0;
  char *b = malloc(cap);
  if (b == NULL) return jfail(j, LP_ENOMEM, "out of memory");
  for (;;) {
    if (j->p >= j->n) { free(b); return jfail(j, LP_EPARSE, "header: unterminated string in %s", where); }
    unsigned char c = (unsigned char)j->s[j->p++];
    char enc[4];
    size_t el = 1;
    if (c == '"') break;
    if (c < 32) { free(b); return jfail(j, LP_EPARSE, "header: control byte in a string in %s", where); }
    if (c == '\\') {
      if (j->p >= j->n) { free(b); return jfail(j, LP_EPARSE, "header: unterminated string in %s", where); }
      char e = j->s[j->p++];
      unsigned u;
      switch (e) {
        case '"': case '\\': case '/': enc[0] = e; break;
        case 'b': enc[0] = '\b'; break;
        case 'f': enc[0] = '\f'; break;
        case 'n': enc[0] = '\n'; break;
        case 'r': enc[0] = '\r'; break;
        case 't': enc[0] = '\t'; break;
        case 'u':
          if (!read_hex4(j, &u)) { free(b); return jfail(j, LP_EPARSE, "header: bad \\u escape in %s", where); }
          if (u >= 0xD800 && u <= 0xDBFF) {
            unsigned lo;
            if (j->n - j->p < 2 || j->s[j->p] != '\\' || j->s[j->p + 1] != 'u') {
              free(b);
              return jfail(j, LP_EPARSE, "header: lone surrogate in %s", where);
            }
            j->p += 2;
            if (!read_hex4(j, &lo) || lo < 0xDC00 || lo > 0xDFFF) {
              free(b);
              return jfail(j, LP_EPARSE, "header: lone surrogate in %s", where);
            }
            u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
          } else if (u >= 0xDC00 && u <= 0xDFFF) {
            free(b);
            return jfail(j, LP_EPARSE, "header: lone surrogate in %s", where);
          }
          if (u == 0) { free(b); return jfail(j, LP_EPARSE, "header: NUL character in %s", where); }
          if (u < 0x80) enc[0] = (char)u;
          else if (u < 0x800) { enc[0] = (char)(0xC0 | (u >> 6)); enc[1] = (char)(0x80 | (u & 63)); el = 2; }
          else if (u < 0x10000) {
            enc[0] = (char)(0xE0 | (u >> 12)); enc[1] = (char)(0x80 | ((u >> 6) & 63));
            enc[2] = (char)(0x80 | (u & 63)); el = 3;
          } else {
            enc[0] = (char)(0xF0 | (u >> 18)); enc[1] = (char)(0x80 | ((u >> 12) & 63));
            enc[2] = (char)(0x80 | ((u >> 6) & 63)); enc[3] = (char)(0x80 | (u & 63)); el = 4;
          }
          break;
        default: free(b); return jfail(j, LP_EPARSE, "header: bad escape '\\%c' in %s", e, where);
      }
    } else enc[0] = (char)c;
    if (k + el + 1 > cap) {
      cap = cap * 2 + el;
      char *nb = realloc(b, cap);
      if (nb == NULL) { free(b); return jfail(j, LP_ENOMEM, "out of memory"); }
      b = nb;
    }
    memcpy(b + k, enc, el);
    k += el;
  }
  b[k] = '\0';
  *out = b;
  return LP_OK;
}

/* A non-negative JSON integer (no sign, fraction or exponent) below 2^53. */
static int juint(js *j, uint64_t *v, const char *where) {
  int c = peek(j);
  if (c < '0' || c > '9') return jfail(j, LP_EPARSE, "header: %s holds something other than a non-negative integer", where);
  *v = 0;
  size_t start = j->p;
  while (j->p < j->n && j->s[j->p] >= '0' && j->s[j->p] <= '9') {
    if (j->p - start >= 16) return jfail(j, LP_ERANGE, "header: %s holds an integer that is too large", where);
    *v = *v * 10 + (uint64_t)(j->s[j->p++] - '0');
  }
  if (j->s[start] == '0' && j->p - start > 1) return jfail(j, LP_EPARSE, "header: %s holds a number with a leading zero", where);
  if (j->p < j->n && (j->s[j->p] == '.' || j->s[j->p] == 'e' || j->s[j->p] == 'E'))
    return jfail(j, LP_EPARSE, "header: %s holds a number that is not an integer", where);
  return LP_OK;
}

/* [a, b, ...] of non-negative integers into v (at most max); *count set. */
static int juint_list(js *j, uint64_t *v, int max, int *count, const char *where) {
  int rc = expect(j, '[', where);
  if (rc) return rc;
  *count = 0;
  if (peek(j) == ']') { j->p++; return LP_OK; }
  for (;;) {
    if (*count == max) return jfail(j, LP_ERANGE, "header: %s has more than %d entries", where, max);
    rc = juint(j, &v[*count], where);
    if (rc) return rc;
    (*count)++;
    if (peek(j) == ',') { j->p++; continue; }
    return expect(j, ']', where);
  }
}

static void free_entry_names(lp_st_file *st) {
  for (int i = 0; i < st->n; i++) free(st->entries[i].name);
  for (int i = 0; i < st->nmeta; i++) { free(st->meta_keys[i]); free(st->meta_values[i]); }
}

void lp_st_free(lp_st_file *st) {
  if (st == NULL) return;
  free_entry_names(st);
  free(st->entries);
  free(st->meta_keys);
  free(st->meta_values);
  memset(st, 0, sizeof *st);
}

static int parse_metadata(js *j, lp_st_file *st) {
  int rc = expect(j, '{', "__metadata__");
  if (rc) return rc;
  if (peek(j) == '}') { j->p++; return LP_OK; }
  int cap = 0;
  for (;;) {
    char *k = NULL, *v = NULL;
    if ((rc = jstring(j, &k, "a __metadata__ key")) != LP_OK) return rc;
    for (int i = 0; i < st->nmeta; i++)
      if (strcmp(st->meta_keys[i], k) == 0) {
        char shown[64];
        lp_printable(shown, sizeof shown, k);
        rc = jfail(j, LP_EPARSE, "header: __metadata__ key '%s' given twice", shown);
        free(k);
        return rc;
      }
    if ((rc = expect(j, ':', "__metadata__")) != LP_OK || (rc = jstring(j, &v, "a __metadata__ value")) != LP_OK) {
      free(k);
      return rc;
    }
    if (st->nmeta == cap) {
      cap = cap ? cap * 2 : 8;
      char **nk = realloc(st->meta_keys, sizeof(char *) * (size_t)cap);
      if (nk) st->meta_keys = nk;
      char **nv = nk ? realloc(st->meta_values, sizeof(char *) * (size_t)cap) : NULL;
      if (nv) st->meta_values = nv;
      if (!nk || !nv) { free(k); free(v); return jfail(j, LP_ENOMEM, "out of memory"); }
    }
    st->meta_keys[st->nmeta] = k;
    st->meta_values[st->nmeta++] = v;
    if (peek(j) == ',') { j->p++; continue; }
    return expect(j, '}', "__metadata__");
  }
}

/* One tensor record {"dtype": ..., "shape": [...], "data_offsets": [b, e]}. */
static int parse_record(js *j, lp_st_entry *e) {
  char nm[64];
  lp_printable(nm, sizeof nm, e->name);
  char where[96];
  snprintf(where, sizeof where, "tensor '%s'", nm);
  int rc = expect(j, '{', where);
  if (rc) return rc;
  int got_dtype = 0, got_shape = 0, got_off = 0;
  if (peek(j) != '}') for (;;) {
    char *key = NULL;
    if ((rc = jstring(j, &key, where)) != LP_OK) return rc;
    if ((rc = expect(j, ':', where)) != LP_OK) { free(key); return rc; }
    if (strcmp(key, "dtype") == 0 && !got_dtype) {
      got_dtype = 1;
      char *d = NULL;
      if ((rc = jstring(j, &d, where)) != LP_OK) { free(key); return rc; }
      int found = -1;
      for (int i = 0; i < LP_DT_COUNT; i++) if (strcmp(lp_dtypes[i].st, d) == 0) found = i;
      if (found < 0) {
        char shown[24];
        lp_printable(shown, sizeof shown, d);
        rc = jfail(j, LP_EINVAL, "%s: dtype '%s' is not supported (F32, F64, I32, I64, U8, BOOL)", where, shown);
        free(d);
        free(key);
        return rc;
      }
      free(d);
      e->dtype = (lp_dtype)found;
    } else if (strcmp(key, "shape") == 0 && !got_shape) {
      got_shape = 1;
      uint64_t v[LP_MAXDIM + 1];
      int cnt;
      if ((rc = juint_list(j, v, LP_MAXDIM, &cnt, where)) != LP_OK) { free(key); return rc; }
      e->ndim = cnt;
      e->numel = 1;
      int over = 0, zero = 0;
      for (int d = 0; d < cnt; d++) {
        e->shape[d] = (int64_t)v[d];
        int64_t prod;
        if (v[d] == 0) zero = 1;
        if (over || __builtin_mul_overflow(e->numel, (int64_t)v[d], &prod) || prod > LP_ARRAY_MAX_NUMEL) over = 1;
        else e->numel = prod;
      }
      if (zero) e->numel = 0;
      else if (over) {
        free(key);
        return jfail(j, LP_ERANGE, "%s: the shape's element count overflows (more than 2^40 elements)", where);
      }
    } else if (strcmp(key, "data_offsets") == 0 && !got_off) {
      got_off = 1;
      uint64_t v[3];
      int cnt;
      if ((rc = juint_list(j, v, 2, &cnt, where)) != LP_OK) { free(key); return rc; }
      if (cnt != 2) { free(key); return jfail(j, LP_EPARSE, "%s: data_offsets must be [begin, end]", where); }
      e->begin = v[0];
      e->end = v[1];
    } else {
      int twice = !strcmp(key, "dtype") || !strcmp(key, "shape") || !strcmp(key, "data_offsets");
      char shown[32];
      lp_printable(shown, sizeof shown, key);
      rc = jfail(j, LP_EPARSE, "%s: %s '%s'%s", where, twice ? "field" : "unknown field", shown,
                 twice ? " given twice" : " (dtype, shape, data_offsets)");
      free(key);
      return rc;
    }
    free(key);
    if (peek(j) == ',') { j->p++; continue; }
    if ((rc = expect(j, '}', where)) != LP_OK) return rc;
    break;
  } else j->p++;
  if (!got_dtype || !got_shape || !got_off)
    return jfail(j, LP_EPARSE, "%s: '%s' is missing", where, !got_dtype ? "dtype" : !got_shape ? "shape" : "data_offsets");
  if (e->begin > e->end) return jfail(j, LP_EPARSE, "%s: data_offsets [%llu, %llu] run backwards", where,
                                      (unsigned long long)e->begin, (unsigned long long)e->end);
  uint64_t need = (uint64_t)e->numel * (uint64_t)lp_dtypes[e->dtype].size;
  if (e->end - e->begin != need)
    return jfail(j, LP_EPARSE, "%s: shape and dtype need %llu bytes, data_offsets span %llu", where,
                 (unsigned long long)need, (unsigned long long)(e->end - e->begin));
  return LP_OK;
}

static int by_begin(const void *a, const void *b) {
  const lp_st_entry *x = *(const lp_st_entry *const *)a, *y = *(const lp_st_entry *const *)b;
  if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
  return x->end < y->end ? -1 : x->end > y->end;
}

static int parse_body(js *j, lp_st_file *st, uint64_t datalen) {
  int rc = expect(j, '{', "the header (an object)");
  if (rc) return rc;
  int cap = 0, seen_meta = 0;
  if (peek(j) == '}') j->p++;
  else for (;;) {
    char *name = NULL;
    if ((rc = jstring(j, &name, "a tensor name")) != LP_OK) return rc;
    if ((rc = expect(j, ':', "the header")) != LP_OK) { free(name); return rc; }
    if (strcmp(name, "__metadata__") == 0) {
      free(name);
      if (seen_meta++) return jfail(j, LP_EPARSE, "header: __metadata__ given twice");
      if ((rc = parse_metadata(j, st)) != LP_OK) return rc;
    } else {
      for (int i = 0; i < st->n; i++)
        if (strcmp(st->entries[i].name, name) == 0) {
          char shown[64];
          lp_printable(shown, sizeof shown, name);
          rc = jfail(j, LP_EPARSE, "header: tensor '%s' given twice", shown);
          free(name);
          return rc;
        }
      if (st->n == cap) {
        cap = cap ? cap * 2 : 16;
        lp_st_entry *ne = realloc(st->entries, sizeof *ne * (size_t)cap);
        if (ne == NULL) { free(name); return jfail(j, LP_ENOMEM, "out of memory"); }
        st->entries = ne;
      }
      lp_st_entry *e = &st->entries[st->n++];
      memset(e, 0, sizeof *e);
      e->name = name;
      if ((rc = parse_record(j, e)) != LP_OK) return rc;
    }
    if (peek(j) == ',') { j->p++; continue; }
    if ((rc = expect(j, '}', "the header")) != LP_OK) return rc;
    break;
  }
  ws(j);
  if (j->p != j->n) return jfail(j, LP_EPARSE, "header: unexpected bytes after the object at byte %zu", j->p);
  /* offsets tile [0, datalen) */
  if (st->n == 0) {
    if (datalen != 0) return jfail(j, LP_EPARSE, "%llu data bytes but no tensor", (unsigned long long)datalen);
    return LP_OK;
  }
  const lp_st_entry **order = malloc(sizeof *order * (size_t)st->n);
  if (order == NULL) return jfail(j, LP_ENOMEM, "out of memory");
  for (int i = 0; i < st->n; i++) order[i] = &st->entries[i];
  qsort(order, (size_t)st->n, sizeof *order, by_begin);
  uint64_t at = 0;
  rc = LP_OK;
  for (int i = 0; i < st->n && rc == LP_OK; i++) {
    const lp_st_entry *e = order[i];
    char nm[64], prev[64];
    lp_printable(nm, sizeof nm, e->name);
    lp_printable(prev, sizeof prev, i > 0 ? order[i - 1]->name : "");
    if (e->end > datalen)
      rc = jfail(j, LP_EPARSE, "tensor '%s': data_offsets [%llu, %llu] run past the data section (%llu bytes)",
                 nm, (unsigned long long)e->begin, (unsigned long long)e->end, (unsigned long long)datalen);
    else if (e->begin < at)
      rc = jfail(j, LP_EPARSE, "tensors '%s' and '%s' overlap (bytes %llu..%llu)", prev, nm,
                 (unsigned long long)e->begin, (unsigned long long)at);
    else if (e->begin > at)
      rc = jfail(j, LP_EPARSE, "a gap of %llu bytes before tensor '%s' (data_offsets must tile the data)",
                 (unsigned long long)(e->begin - at), nm);
    at = e->end;
  }
  if (rc == LP_OK && at != datalen)
    rc = jfail(j, LP_EPARSE, "%llu bytes after the last tensor that no tensor explains",
               (unsigned long long)(datalen - at));
  free(order);
  return rc;
}

int lp_st_parse(const unsigned char *buf, size_t len, lp_st_file *st, char *err, size_t errlen) {
  memset(st, 0, sizeof *st);
  js j = {NULL, 0, 0, err, errlen};
  if (len < 8) return jfail(&j, LP_EPARSE, "truncated: %zu bytes, the header length alone has 8", len);
  uint64_t hlen = 0;
  for (int b = 7; b >= 0; b--) hlen = (hlen << 8) | buf[b];
  if (hlen > ST_MAX_HEADER) return jfail(&j, LP_ERANGE, "header length %llu is over the 100 MB limit", (unsigned long long)hlen);
  if (hlen > len - 8)
    return jfail(&j, LP_EPARSE, "truncated: the header declares %llu bytes, the file has %zu after the length",
                 (unsigned long long)hlen, len - 8);
  if (hlen < 2 || buf[8] != '{') return jfail(&j, LP_EPARSE, "not a safetensors file (the header is not a JSON object)");
  j.s = (const char *)buf + 8;
  j.n = (size_t)hlen;
  st->data_offset = 8 + (size_t)hlen;
  int rc = parse_body(&j, st, (uint64_t)(len - st->data_offset));
  if (rc != LP_OK) lp_st_free(st);
  return rc;
}
