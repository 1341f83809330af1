/* npz.c — the zip container of NumPy's .npz files: an index of the
 * members and their extraction (stored, or deflated through zlib).
 *
 * Everything the archive says is checked against the file: the end
 * record and the central directory lie inside it, every local header
 * matches its central entry, the members' bytes lie inside the file and
 * do not overlap, and an extracted member has the size and CRC-32 it
 * declares. ZIP64, encryption and multi-disk archives are refused. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/arrayfile.h"
#include "core/format.h"

static int zfail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int zfail(char *err, size_t errlen, const char *fmt, ...) {
  if (err != NULL && errlen > 0) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
  }
  return LP_EPARSE;
}

static uint32_t u16(const unsigned char *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static uint32_t u32(const unsigned char *p) { return u16(p) | u16(p + 2) << 16; }

typedef struct { uint64_t begin, end; int ix; } span;

static int by_begin(const void *a, const void *b) {
  const span *x = a, *y = b;
  return x->begin < y->begin ? -1 : x->begin > y->begin;
}

int lp_zip_index(const unsigned char *buf, size_t len, lp_zip_entry *entries, int cap, int *n,
                 char *err, size_t errlen) {
  *n = 0;
  if (len < 22) return zfail(err, errlen, "not a zip archive (%zu bytes, the end record alone has 22)", len);
  /* the end record: the last signature within 22 + 65535 bytes of the end */
  size_t eocd = (size_t)-1;
  size_t lo = len > 22 + 65535 ? len - 22 - 65535 : 0;
  for (size_t p = len - 22 + 1; p-- > lo;)
    if (u32(buf + p) == 0x06054b50 && p + 22 + u16(buf + p + 20) == len) { eocd = p; break; }
  if (eocd == (size_t)-1) return zfail(err, errlen, "not a zip archive (no end-of-central-directory record)");
  const unsigned char *e = buf + eocd;
  if (u16(e + 4) != 0 || u16(e + 6) != 0 || u16(e + 8) != u16(e + 10))
    return zfail(err, errlen, "multi-disk zip archives are not read");
  uint32_t count = u16(e + 10), cdsize = u32(e + 12), cdoff = u32(e + 16);
  if (count == 0xffff || cdsize == 0xffffffffu || cdoff == 0xffffffffu)
    return zfail(err, errlen, "ZIP64 archives are not read (save with numpy.savez for arrays under 4 GB)");
  if ((uint64_t)cdoff + cdsize > eocd)
    return zfail(err, errlen, "the central directory (%u bytes at %u) runs past the end record", cdsize, cdoff);
  if ((int)count > cap) return zfail(err, errlen, "%u members; at most %d are read", count, cap);
  size_t p = cdoff;
  span *spans = malloc(sizeof(span) * (count ? count : 1));
  if (spans == NULL) return zfail(err, errlen, "out of memory");
  int rc = LP_OK;
  for (uint32_t i = 0; i < count && rc == LP_OK; i++) {
    lp_zip_entry *z = &entries[i];
    if (p + 46 > (size_t)cdoff + cdsize || u32(buf + p) != 0x02014b50) {
      rc = zfail(err, errlen, "central directory entry %u is damaged", i);
      break;
    }
    const unsigned char *c = buf + p;
    uint32_t flags = u16(c + 8), method = u16(c + 10), crc = u32(c + 16), csize = u32(c + 20), usize = u32(c + 24);
    uint32_t nlen = u16(c + 28), xlen = u16(c + 30), clen = u16(c + 32), loff = u32(c + 42);
    if (p + 46 + nlen + xlen + clen > (size_t)cdoff + cdsize) { rc = zfail(err, errlen, "central directory entry %u runs past the directory", i); break; }
    if (nlen == 0 || nlen >= sizeof z->name) { rc = zfail(err, errlen, "member %u has a name of %u bytes", i, nlen); break; }
    memcpy(z->name, c + 46, nlen);
    z->name[nlen] = '\0';
    if (memchr(z->name, 0, nlen) != NULL) { rc = zfail(err, errlen, "member %u has a NUL in its name", i); break; }
    char shown[64];
    lp_printable(shown, sizeof shown, z->name);
    if (flags & 1) { rc = zfail(err, errlen, "member '%s' is encrypted", shown); break; }
    if (method != 0 && method != 8) { rc = zfail(err, errlen, "member '%s' uses compression method %u (stored and deflate are read)", shown, method); break; }
    if (csize == 0xffffffffu || usize == 0xffffffffu || loff == 0xffffffffu) { rc = zfail(err, errlen, "member '%s' needs ZIP64, which is not read", shown); break; }
    if (method == 0 && csize != usize) { rc = zfail(err, errlen, "stored member '%s' has sizes %u and %u", shown, csize, usize); break; }
    if (method == 8 && (uint64_t)usize > (uint64_t)csize * 1032 + 64) {
      rc = zfail(err, errlen, "member '%s' declares %u bytes from %u compressed, more than deflate can give", shown, usize, csize);
      break;
    }
    for (uint32_t k = 0; k < i; k++)
      if (strcmp(entries[k].name, shown) == 0) { rc = zfail(err, errlen, "member '%s' appears twice", shown); break; }
    if (rc != LP_OK) break;
    /* the local header */
    if ((uint64_t)loff + 30 > cdoff || u32(buf + loff) != 0x04034b50) { rc = zfail(err, errlen, "member '%s': local header missing or outside the archive", shown); break; }
    uint32_t lnlen = u16(buf + loff + 26), lxlen = u16(buf + loff + 28);
    if ((uint64_t)loff + 30 + lnlen + lxlen > cdoff || lnlen != nlen || memcmp(buf + loff + 30, c + 46, nlen) != 0) {
      rc = zfail(err, errlen, "member '%s': local header does not match the central directory", shown);
      break;
    }
    uint64_t data = (uint64_t)loff + 30 + lnlen + lxlen;
    if (data + csize > cdoff) { rc = zfail(err, errlen, "member '%s': %u bytes at %llu run past the members' area", shown, csize, (unsigned long long)data); break; }
    z->method = (int)method;
    z->crc = crc;
    z->data_offset = data;
    z->csize = csize;
    z->usize = usize;
    spans[i].begin = loff;
    spans[i].end = data + csize;
    spans[i].ix = (int)i;
    p += 46 + nlen + xlen + clen;
    (*n)++;
  }
  if (rc == LP_OK) {
    qsort(spans, count, sizeof *spans, by_begin);
    for (uint32_t i = 1; i < count && rc == LP_OK; i++)
      if (spans[i].begin < spans[i - 1].end)
      {
        char a[64], b[64];
        lp_printable(a, sizeof a, entries[spans[i - 1].ix].name);
        lp_printable(b, sizeof b, entries[spans[i].ix].name);
        rc = zfail(err, errlen, "members '%s' and '%s' overlap", a, b);
      }
  }
  free(spans);
  if (rc != LP_OK) *n = 0;
  return rc;
}

int lp_zip_extract(const unsigned char *buf, size_t len, const lp_zip_entry *e, unsigned char *out,
                   char *err, size_t errlen) {
  char name[64];
  lp_printable(name, sizeof name, e->name);
  if (e->data_offset + e->csize > len) return zfail(err, errlen, "member '%s' runs past the file", name);
  const unsigned char *src = buf + e->data_offset;
  if (e->method == 0) {
    if (e->usize) memcpy(out, src, (size_t)e->usize);
  } else {
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, -15) != Z_OK) return zfail(err, errlen, "member '%s': cannot start inflate", name);
    zs.next_in = (Bytef *)src;
    zs.avail_in = (uInt)e->csize;
    zs.next_out = out;
    zs.avail_out = (uInt)e->usize;
    int r = inflate(&zs, Z_FINISH);
    uint64_t got = zs.total_out;
    inflateEnd(&zs);
    if (r != Z_STREAM_END || got != e->usize)
      return zfail(err, errlen, "member '%s': the deflate stream is damaged or its size is not the declared %llu bytes",
                   name, (unsigned long long)e->usize);
  }
  uLong crc = crc32(0L, Z_NULL, 0);
  crc = crc32(crc, out, (uInt)e->usize);
  if ((uint32_t)crc != e->crc)
    return zfail(err, errlen, "member '%s': CRC-32 mismatch (stored 0x%08x, computed 0x%08x)", name, e->crc, (uint32_t)crc);
  return LP_OK;
}
