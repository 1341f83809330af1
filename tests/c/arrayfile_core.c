/* arrayfile_core.c — the .npy, safetensors and zip readers on good files
 * and on many damaged copies: every prefix and thousands of seeded byte
 * mutations must be either refused with one line or accepted with an
 * index that lies inside the buffer (run under ASan/UBSan by `make asan`,
 * this is where an out-of-bounds read would show). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/arrayfile.h"
#include "core/format.h"
#include "tap.h"

static uint64_t rs = 0x9E3779B97F4A7C15ULL;
static uint64_t xrand(void) {
  rs ^= rs << 13;
  rs ^= rs >> 7;
  rs ^= rs << 17;
  return rs;
}

static int one_line(const char *err) { return err[0] != '\0' && strchr(err, '\n') == NULL; }

/* Checks a parse of buf: refused with one line, or accepted inside len. */
static int check_npy(const unsigned char *buf, size_t len) {
  lp_npy_info info;
  char err[256] = "";
  if (lp_npy_parse(buf, len, &info, err, sizeof err) != LP_OK) return one_line(err);
  size_t need = (size_t)info.numel * (size_t)lp_dtypes[info.dtype].size;
  if (info.data_offset > len || len - info.data_offset != need) return 0;
  float *out = malloc(sizeof(float) * (info.numel ? (size_t)info.numel : 1));
  int rc = lp_array_to_f32(out, buf + info.data_offset, info.dtype, info.numel, info.fortran, info.ndim,
                           info.shape, err, sizeof err);
  free(out);
  return rc == LP_OK || one_line(err);
}

static int check_st(const unsigned char *buf, size_t len) {
  lp_st_file st;
  char err[256] = "";
  if (lp_st_parse(buf, len, &st, err, sizeof err) != LP_OK) return one_line(err) && st.entries == NULL;
  int ok = st.data_offset <= len;
  for (int i = 0; i < st.n && ok; i++) {
    const lp_st_entry *e = &st.entries[i];
    ok = e->begin <= e->end && st.data_offset + e->end <= len &&
         e->end - e->begin == (uint64_t)e->numel * (uint64_t)lp_dtypes[e->dtype].size;
  }
  lp_st_free(&st);
  return ok;
}

static int check_zip(const unsigned char *buf, size_t len) {
  static lp_zip_entry z[64];
  int n;
  char err[256] = "";
  if (lp_zip_index(buf, len, z, 64, &n, err, sizeof err) != LP_OK) return one_line(err) && n == 0;
  for (int i = 0; i < n; i++) {
    if (z[i].data_offset + z[i].csize > len) return 0;
    unsigned char *out = malloc(z[i].usize ? (size_t)z[i].usize : 1);
    err[0] = '\0';
    int rc = lp_zip_extract(buf, len, &z[i], out, err, sizeof err);
    free(out);
    if (rc != LP_OK && !one_line(err)) return 0;
  }
  return 1;
}

typedef int (*checker)(const unsigned char *, size_t);

/* Every prefix, then `rounds` mutated copies (1..4 random bytes set to
 * random values, sometimes a length field's bytes). */
static void torture(const char *name, checker chk, const unsigned char *good, size_t len, int rounds,
                    int want_prefix_refused) {
  int bad = 0;
  for (size_t n = 0; n < len; n++) {
    unsigned char *p = malloc(n ? n : 1);   /* exact size: ASan sees any overread */
    memcpy(p, good, n);
    if (!chk(p, n)) bad++;
    free(p);
  }
  tap_ok(bad == 0, "%s: every prefix handled (refused with one line or indexed inside the bytes)", name);
  if (bad) tap_diag("%d prefixes mishandled", bad);
  (void)want_prefix_refused;
  bad = 0;
  unsigned char *p = malloc(len);
  for (int r = 0; r < rounds; r++) {
    memcpy(p, good, len);
    int k = 1 + (int)(xrand() % 4);
    for (int j = 0; j < k; j++) p[xrand() % len] = (unsigned char)xrand();
    int ok = chk(p, len);
    if (!ok) bad++;
  }
  free(p);
  tap_ok(bad == 0, "%s: %d mutated copies handled", name, rounds);
}

int main(void) {
  /* a good .npy: (3, 5) float32 */
  unsigned char npy[1024];
  int64_t shape[2] = {3, 5};
  size_t h = lp_npy_header((char *)npy, sizeof npy, LP_DT_F32, 2, shape);
  tap_ok(h == 128, "npy header of a (3, 5) float32 is 128 bytes (64-byte aligned)");
  for (int i = 0; i < 15; i++) {
    float v = (float)i - 7.5f;
    memcpy(npy + h + 4 * i, &v, 4);
  }
  size_t nlen = h + 60;
  lp_npy_info info;
  char err[256];
  tap_ok(lp_npy_parse(npy, nlen, &info, err, sizeof err) == LP_OK && info.numel == 15 && info.ndim == 2 &&
         info.data_offset == 128, "the good .npy parses");
  torture(".npy", check_npy, npy, nlen, 20000, 1);

  /* a good safetensors file: two tensors */
  const char *hj = "{\"b\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[0,16]},"
                   "\"a\":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[16,24]},"
                   "\"__metadata__\":{\"k\":\"v\"}}";
  unsigned char st[512];
  uint64_t hl = strlen(hj);
  for (int b = 0; b < 8; b++) st[b] = (unsigned char)(hl >> (8 * b));
  memcpy(st + 8, hj, hl);
  memset(st + 8 + hl, 7, 24);
  size_t slen = 8 + hl + 24;
  lp_st_file sf;
  tap_ok(lp_st_parse(st, slen, &sf, err, sizeof err) == LP_OK && sf.n == 2 && sf.nmeta == 1 &&
         strcmp(sf.entries[1].name, "a") == 0 && sf.entries[1].begin == 16, "the good safetensors file parses");
  lp_st_free(&sf);
  torture("safetensors", check_st, st, slen, 20000, 1);

  /* a good zip with one stored and one deflated member */
  unsigned char zip[2048];
  size_t zp = 0, cdp;
  unsigned char cd[512];
  size_t cdl = 0;
  const char *names[2] = {"x.npy", "y.npy"};
  for (int m = 0; m < 2; m++) {
    const unsigned char *data = npy;
    uLong usize = (uLong)nlen;
    unsigned char comp[1024];
    uLongf csize = sizeof comp;
    int method = m == 0 ? 0 : 8;
    if (method == 8) {
      z_stream zs;
      memset(&zs, 0, sizeof zs);
      deflateInit2(&zs, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
      zs.next_in = (Bytef *)data;
      zs.avail_in = (uInt)usize;
      zs.next_out = comp;
      zs.avail_out = sizeof comp;
      deflate(&zs, Z_FINISH);
      csize = zs.total_out;
      deflateEnd(&zs);
    } else {
      memcpy(comp, data, usize);
      csize = usize;
    }
    uint32_t crc = (uint32_t)crc32(crc32(0L, Z_NULL, 0), data, (uInt)usize);
    size_t nl = strlen(names[m]);
    unsigned char fields[26];
    size_t f = 0;
#define P16(v) do { fields[f++] = (unsigned char)((v) & 255); fields[f++] = (unsigned char)(((v) >> 8) & 255); } while (0)
#define P32(v) do { P16((v) & 0xffff); P16(((uint32_t)(v)) >> 16); } while (0)
    P16(20); P16(0); P16(method); P16(0); P16(0x21); P32(crc); P32((uint32_t)csize); P32((uint32_t)usize);
    P16(nl); P16(0);
    memcpy(zip + zp, "PK\3\4", 4);
    memcpy(zip + zp + 4, fields, 26);
    memcpy(zip + zp + 30, names[m], nl);
    memcpy(zip + zp + 30 + nl, comp, csize);
    memcpy(cd + cdl, "PK\1\2\24\0", 6);
    memcpy(cd + cdl + 6, fields, 26);
    memset(cd + cdl + 32, 0, 10);
    for (int b = 0; b < 4; b++) cd[cdl + 42 + b] = (unsigned char)(zp >> (8 * b));
    memcpy(cd + cdl + 46, names[m], nl);
    cdl += 46 + nl;
    zp += 30 + nl + csize;
  }
  cdp = zp;
  memcpy(zip + zp, cd, cdl);
  zp += cdl;
  unsigned char eocd[22] = {'P', 'K', 5, 6, 0, 0, 0, 0, 2, 0, 2, 0};
  for (int b = 0; b < 4; b++) {
    eocd[12 + b] = (unsigned char)(cdl >> (8 * b));
    eocd[16 + b] = (unsigned char)(cdp >> (8 * b));
  }
  memcpy(zip + zp, eocd, 22);
  zp += 22;
  lp_zip_entry ze[4];
  int zn;
  int zok = lp_zip_index(zip, zp, ze, 4, &zn, err, sizeof err) == LP_OK && zn == 2 && ze[1].method == 8;
  unsigned char out[1024];
  zok = zok && lp_zip_extract(zip, zp, &ze[1], out, err, sizeof err) == LP_OK && memcmp(out, npy, nlen) == 0;
  tap_ok(zok, "the good zip indexes and its deflated member extracts to the original bytes");
  torture("zip", check_zip, zip, zp, 20000, 1);

  /* conversions on arbitrary bytes: refusals are one line */
  {
    unsigned char raw[64];
    float outf[8];
    int bad = 0;
    for (int r = 0; r < 2000; r++) {
      for (int i = 0; i < 64; i++) raw[i] = (unsigned char)xrand();
      for (int d = 0; d < LP_DT_COUNT; d++) {
        err[0] = '\0';
        int64_t n = 64 / lp_dtypes[d].size;
        if (n > 8) n = 8;
        if (lp_array_to_f32(outf, raw, (lp_dtype)d, n, 0, 1, &n, err, sizeof err) != LP_OK && !one_line(err)) bad++;
      }
    }
    tap_ok(bad == 0, "conversions of random bytes: accepted or refused with one line");
  }
  return tap_done();
}
