/* dataset.c — IDX and CIFAR-10 readers, shuffling, augmentation and the
 * built-in synthetic image set (see dataset.h). Plain C11 over zlib. */
#include "core/dataset.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "core/rng.h"

/* Writes "path: message" into err (always NUL-terminated). */
static int fail(int status, char *err, size_t errlen, const char *path, const char *fmt, ...) {
  if (err && errlen) {
    int k = snprintf(err, errlen, "%s: ", path);
    if (k >= 0 && (size_t)k < errlen) {
      va_list ap;
      va_start(ap, fmt);
      vsnprintf(err + k, errlen - (size_t)k, fmt, ap);
      va_end(ap);
    }
  }
  return status;
}

/* "60000x28x28" */
static void dims_str(char *buf, size_t len, int ndim, const int64_t *dims) {
  size_t used = 0;
  buf[0] = '\0';
  for (int i = 0; i < ndim && used < len; i++) {
    int k = snprintf(buf + used, len - used, i ? "x%lld" : "%lld", (long long)dims[i]);
    if (k < 0) break;
    used += (size_t)k;
  }
}

/* Reads up to len bytes; returns the count read (short only at end of
 * data) or -1 on a gzip error, with the zlib message in *zmsg. A stream
 * that ends early counts as a short read, not an error. */
static int64_t gz_read_full(gzFile gz, void *buf, int64_t len, const char **zmsg) {
  int64_t got = 0;
  while (got < len) {
    int64_t want = len - got;
    unsigned chunk = want > (1 << 30) ? (1u << 30) : (unsigned)want;
    int k = gzread(gz, (char *)buf + got, chunk);
    if (k < 0) {
      int code;
      const char *m = gzerror(gz, &code);
      if (code == Z_BUF_ERROR) break;   /* truncated compressed stream */
      *zmsg = m;
      return -1;
    }
    if (k == 0) {
      int code;
      gzerror(gz, &code);
      if (code != Z_OK && code != Z_BUF_ERROR) { *zmsg = gzerror(gz, &code); return -1; }
      break;
    }
    got += k;
  }
  return got;
}

/* zlib's gzerror message starts with the path; ours already names it. */
static const char *zstrip(const char *zmsg, const char *path) {
  size_t n = strlen(path);
  if (zmsg && strncmp(zmsg, path, n) == 0 && zmsg[n] == ':' && zmsg[n + 1] == ' ') return zmsg + n + 2;
  return zmsg ? zmsg : "unknown error";
}

/* The element size of an IDX type byte; 0 for a byte that names no type
 * (input, refused by lp_idx_open). */
static int idx_elsize(int type) {
  switch (type) {
  case 0x08: case 0x09: return 1;
  case 0x0B: return 2;
  case 0x0C: case 0x0D: return 4;
  case 0x0E: return 8;
  default: return 0;
  }
}

void lp_idx_close(lp_idx_file *f) {
  if (f->gz) gzclose((gzFile)f->gz);
  f->gz = NULL;
}

int lp_idx_open(lp_idx_file *f, const char *path, char *err, size_t errlen) {
  memset(f, 0, sizeof *f);
  snprintf(f->path, sizeof f->path, "%s", path);
  struct stat sb;
  if (stat(path, &sb) != 0) return fail(LP_EIO, err, errlen, path, "cannot open: %s", strerror(errno));
  if (S_ISDIR(sb.st_mode)) return fail(LP_EIO, err, errlen, path, "is a directory, not an IDX file");
  gzFile gz = gzopen(path, "rb");
  if (!gz) return fail(LP_EIO, err, errlen, path, "cannot open: %s", errno ? strerror(errno) : "out of memory");
  gzbuffer(gz, 1 << 17);
  f->gz = gz;

  unsigned char h[4];
  const char *zmsg = NULL;
  int64_t got = gz_read_full(gz, h, 4, &zmsg);
  if (got < 0) {   /* format first: zmsg belongs to the open stream */
    int st = fail(LP_EINVAL, err, errlen, path, "corrupt gzip data (%s)", zstrip(zmsg, path));
    lp_idx_close(f);
    return st;
  }
  if (got < 4) {
    lp_idx_close(f);
    return fail(LP_EINVAL, err, errlen, path, "truncated: an IDX header needs 4 bytes of magic number, the file has %lld", (long long)got);
  }
  uint32_t magic = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
  f->type = h[2];
  f->elsize = idx_elsize(h[2]);
  f->ndim = h[3];
  if (h[0] != 0 || h[1] != 0 || f->elsize == 0 || f->ndim < 1 || f->ndim > LP_MAXDIM) {
    lp_idx_close(f);
    return fail(LP_EINVAL, err, errlen, path,
                "wrong magic number 0x%08x (an IDX file starts with 00 00, a type code 08, 09, 0B, 0C, 0D or 0E, and 1 to %d dimensions)",
                magic, LP_MAXDIM);
  }
  unsigned char d[4 * LP_MAXDIM];
  got = gz_read_full(gz, d, 4 * f->ndim, &zmsg);
  if (got < 0) {   /* format first: zmsg belongs to the open stream */
    int st = fail(LP_EINVAL, err, errlen, path, "corrupt gzip data (%s)", zstrip(zmsg, path));
    lp_idx_close(f);
    return st;
  }
  if (got < 4 * f->ndim) {
    lp_idx_close(f);
    return fail(LP_EINVAL, err, errlen, path, "truncated: the header ends after %lld of %d dimension sizes",
                (long long)(got / 4), f->ndim);
  }
  f->numel = 1;
  for (int i = 0; i < f->ndim; i++) {
    const unsigned char *p = d + 4 * i;
    f->dims[i] = (int64_t)((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]);
    if (f->dims[i] > ((int64_t)1 << 31) || (f->dims[i] && f->numel > (((int64_t)1 << 36) / f->dims[i]))) {
      lp_idx_close(f);
      return fail(LP_EINVAL, err, errlen, path, "wrong size: dimension %d is %lld, more data than an IDX file can plausibly hold",
                  i + 1, (long long)f->dims[i]);
    }
    f->numel *= f->dims[i];
  }
  /* Check the declared size against the file before anyone allocates for
   * it: exactly for a plain file, by deflate's best ratio (1032:1) for a
   * compressed one. */
  int64_t head = 4 + 4 * (int64_t)f->ndim, bytes = f->numel * f->elsize;
  char dims[128];
  dims_str(dims, sizeof dims, f->ndim, f->dims);
  if (gzdirect(gz)) {
    int64_t have = (int64_t)sb.st_size - head;
    if (have != bytes) {
      lp_idx_close(f);
      if (have < bytes)
        return fail(LP_EINVAL, err, errlen, path, "truncated: the header declares %s = %lld bytes of data, the file holds %lld",
                    dims, (long long)bytes, (long long)have);
      return fail(LP_EINVAL, err, errlen, path, "wrong size: %lld bytes follow the %s = %lld bytes of data that the header declares",
                  (long long)(have - bytes), dims, (long long)bytes);
    }
  } else if (bytes > 1032 * (int64_t)sb.st_size + 4096) {
    lp_idx_close(f);
    return fail(LP_EINVAL, err, errlen, path,
                "truncated: the header declares %s = %lld bytes of data, more than %lld compressed bytes can hold",
                dims, (long long)bytes, (long long)sb.st_size);
  }
  return LP_OK;
}

/* Decodes one big-endian element of the file's type. */
static double idx_value(int type, const unsigned char *p) {
  switch (type) {
  case 0x08: return p[0];
  case 0x09: return (int8_t)p[0];
  case 0x0B: return (int16_t)(uint16_t)((unsigned)p[0] << 8 | p[1]);
  case 0x0C: return (int32_t)((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]);
  case 0x0D: {
    uint32_t u = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    float v;
    memcpy(&v, &u, 4);
    return v;
  }
  case 0x0E: {
    uint64_t u = 0;
    for (int i = 0; i < 8; i++) u = u << 8 | p[i];
    double v;
    memcpy(&v, &u, 8);
    return v;
  }
  }
  abort();   /* lp_idx_open accepts only the types idx_elsize knows */
}

int lp_idx_read(lp_idx_file *f, float *out, int64_t count, float div, char *err, size_t errlen) {
  if (!f->gz) return fail(LP_EINVAL, err, errlen, f->path, "file is closed");
  if (count < 0 || count > f->numel) count = f->numel;
  gzFile gz = (gzFile)f->gz;
  unsigned char buf[1 << 16];
  int64_t per = (int64_t)sizeof buf / f->elsize, done = 0;
  const char *zmsg = NULL;
  char dims[128];
  while (done < count) {
    int64_t want = count - done < per ? count - done : per;
    int64_t got = gz_read_full(gz, buf, want * f->elsize, &zmsg);
    if (got < 0) return fail(LP_EINVAL, err, errlen, f->path, "corrupt gzip data (%s)", zstrip(zmsg, f->path));
    int64_t whole = got / f->elsize;
    if (f->type == 0x08) {
      for (int64_t i = 0; i < whole; i++) out[done + i] = (float)buf[i] / div;
    } else {
      for (int64_t i = 0; i < whole; i++) out[done + i] = (float)idx_value(f->type, buf + i * f->elsize) / div;
    }
    done += whole;
    if (got < want * f->elsize) {
      dims_str(dims, sizeof dims, f->ndim, f->dims);
      return fail(LP_EINVAL, err, errlen, f->path,
                  "truncated: the header declares %s = %lld bytes of data, the file holds %lld",
                  dims, (long long)(f->numel * f->elsize), (long long)(done * f->elsize + got % f->elsize));
    }
  }
  if (count == f->numel) {
    /* Nothing may follow the data, and a compressed stream must end with
     * its trailer: only reading up to the end makes zlib check the CRC-32
     * and the length, so a cut trailer is refused here. The extra data are
     * counted up to a bound (1 MiB), so a small file that expands without
     * end is not decompressed to the end. */
    int64_t extra = 0;
    for (;;) {
      int k = gzread(gz, buf, sizeof buf);
      int code = Z_OK;
      if (k < 0 || (k == 0 && (gzerror(gz, &code), code != Z_OK))) {
        if (k < 0) gzerror(gz, &code);
        if (code == Z_BUF_ERROR)
          return fail(LP_EINVAL, err, errlen, f->path,
                      "truncated gzip stream: it ends without its trailer, so its CRC-32 cannot be checked");
        return fail(LP_EINVAL, err, errlen, f->path, "corrupt gzip data (%s)", zstrip(gzerror(gz, &code), f->path));
      }
      if (k == 0) break;
      extra += k;
      if (extra > ((int64_t)1 << 20)) break;
    }
    if (extra) {
      dims_str(dims, sizeof dims, f->ndim, f->dims);
      return fail(LP_EINVAL, err, errlen, f->path,
                  "wrong size: %s%lld bytes follow the %s = %lld bytes of data that the header declares",
                  extra > ((int64_t)1 << 20) ? "more than " : "", (long long)(extra > ((int64_t)1 << 20) ? (1 << 20) : extra),
                  dims, (long long)(f->numel * f->elsize));
    }
  }
  return LP_OK;
}

int lp_cifar_count(const char *path, int64_t *n, char *err, size_t errlen) {
  struct stat sb;
  *n = 0;
  if (stat(path, &sb) != 0) return fail(LP_EIO, err, errlen, path, "cannot open: %s", strerror(errno));
  if (!S_ISREG(sb.st_mode)) return fail(LP_EIO, err, errlen, path, "not a regular file");
  if (sb.st_size == 0) return fail(LP_EINVAL, err, errlen, path, "wrong size: the file is empty");
  if (sb.st_size % LP_CIFAR_RECORD != 0)
    return fail(LP_EINVAL, err, errlen, path,
                "wrong size: %lld bytes is not a whole number of %d-byte records (1 label byte + 3072 pixel bytes); truncated or not a CIFAR-10 batch",
                (long long)sb.st_size, LP_CIFAR_RECORD);
  *n = (int64_t)sb.st_size / LP_CIFAR_RECORD;
  return LP_OK;
}

int lp_cifar_read(const char *path, int64_t n, float *x, float *y, float div, char *err, size_t errlen) {
  FILE *fp = fopen(path, "rb");
  if (!fp) return fail(LP_EIO, err, errlen, path, "cannot open: %s", strerror(errno));
  unsigned char rec[LP_CIFAR_RECORD];
  for (int64_t i = 0; i < n; i++) {
    size_t got = fread(rec, 1, sizeof rec, fp);
    if (got < sizeof rec) {
      int bad = ferror(fp);
      fclose(fp);
      if (bad) return fail(LP_EIO, err, errlen, path, "read error in record %lld", (long long)i + 1);
      return fail(LP_EINVAL, err, errlen, path, "truncated: record %lld has %zu of %d bytes",
                  (long long)i + 1, got, LP_CIFAR_RECORD);
    }
    if (rec[0] > 9) {
      fclose(fp);
      return fail(LP_EINVAL, err, errlen, path, "record %lld has label %d (CIFAR-10 labels are 0..9)",
                  (long long)i + 1, rec[0]);
    }
    y[i] = rec[0];
    float *xi = x + i * 3072;
    for (int k = 0; k < 3072; k++) xi[k] = (float)rec[1 + k] / div;
  }
  fclose(fp);
  return LP_OK;
}

/* A uniform integer in 0..m-1 from 53 random bits (bias below 2^-40 for
 * the sizes of data sets). */
static int64_t below(uint64_t key, uint64_t ctr, int64_t m) {
  int64_t j = (int64_t)(lp_rand_unit(key, ctr) * (double)m);
  return j < m ? j : m - 1;
}

/* Streams of the generator used here, apart from other users of a seed. */
enum { STREAM_SHUFFLE = 0x5348, STREAM_AUGMENT = 0x4147, STREAM_BUILTIN = 0x4249 };

void lp_permutation(int64_t *out, int64_t n, uint64_t seed, uint64_t epoch) {
  uint64_t key = lp_rng_key(seed, STREAM_SHUFFLE * UINT64_C(0x100000000) + epoch);
  for (int64_t i = 0; i < n; i++) out[i] = i;
  for (int64_t i = n - 1; i > 0; i--) {
    int64_t j = below(key, (uint64_t)i, i + 1);
    int64_t t = out[i];
    out[i] = out[j];
    out[j] = t;
  }
}

void lp_gather_rows(float *dst, const float *src, int64_t row, const int64_t *idx, int64_t count) {
  for (int64_t i = 0; i < count; i++)
    memcpy(dst + i * row, src + idx[i] * row, (size_t)row * sizeof *dst);
}

int lp_augment_crop_flip(float *x, int64_t n, int64_t c, int64_t h, int64_t w,
                         int pad, int flip, uint64_t seed, uint64_t epoch, const int64_t *id) {
  if (pad < 0 || n < 0 || c < 1 || h < 1 || w < 1 || w > 4096) return LP_EINVAL;
  uint64_t key = lp_rng_key(seed, STREAM_AUGMENT * UINT64_C(0x100000000) + epoch);
  float tmp[4096];
  for (int64_t i = 0; i < n; i++) {
    uint64_t r = lp_rand64(key, (uint64_t)id[i]);
    /* Offsets dy, dx in -pad..pad and the flip bit, from one draw. */
    int64_t span = 2 * (int64_t)pad + 1;
    int64_t dy = (int64_t)((r & 0xffff) % (uint64_t)span) - pad;
    int64_t dx = (int64_t)(((r >> 16) & 0xffff) % (uint64_t)span) - pad;
    int fl = flip && ((r >> 32) & 1);
    for (int64_t ch = 0; ch < c; ch++) {
      float *img = x + (i * c + ch) * h * w;
      /* out[yy][xx] = in[yy + dy][xx + dx] (0 outside), then mirrored.
       * Rows are processed in the order that never reads a row already
       * overwritten: top-down when dy >= 0, bottom-up otherwise. */
      for (int64_t k = 0; k < h; k++) {
        int64_t yy = dy >= 0 ? k : h - 1 - k;
        int64_t sy = yy + dy;
        if (sy < 0 || sy >= h) {
          for (int64_t xx = 0; xx < w; xx++) tmp[xx] = 0.0f;
        } else {
          const float *src = img + sy * w;
          for (int64_t xx = 0; xx < w; xx++) {
            int64_t sx = xx + dx;
            tmp[xx] = (sx >= 0 && sx < w) ? src[sx] : 0.0f;
          }
        }
        float *dst = img + yy * w;
        if (fl) for (int64_t xx = 0; xx < w; xx++) dst[xx] = tmp[w - 1 - xx];
        else memcpy(dst, tmp, (size_t)w * sizeof *dst);
      }
    }
  }
  return LP_OK;
}

/* Standard normal from two uniforms (Box–Muller). */
static double gauss(uint64_t key, uint64_t ctr) {
  double u1 = lp_rand_unit(key, 2 * ctr), u2 = lp_rand_unit(key, 2 * ctr + 1);
  if (u1 < 1e-300) u1 = 1e-300;
  return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

void lp_builtin_images(float *x, float *y, int64_t n, uint64_t seed, int split) {
  enum { K = 10, S = 28, P = S * S };
  float proto[K][P];   /* 31 KB on the stack: reentrant */
  /* Class patterns: two strokes and two blobs each, fixed by seed alone so
   * that train and test share them. */
  uint64_t pk = lp_rng_key(seed, STREAM_BUILTIN * UINT64_C(0x100000000));
  for (int k = 0; k < K; k++) {
    float *p = proto[k];
    for (int i = 0; i < P; i++) p[i] = 0.0f;
    uint64_t c = (uint64_t)k * 64;
    for (int s = 0; s < 2; s++) {   /* strokes: thick line segments */
      double x0 = 5 + 18 * lp_rand_unit(pk, c++), y0 = 5 + 18 * lp_rand_unit(pk, c++);
      double x1 = 5 + 18 * lp_rand_unit(pk, c++), y1 = 5 + 18 * lp_rand_unit(pk, c++);
      for (int t = 0; t <= 40; t++) {
        double px = x0 + (x1 - x0) * t / 40.0, py = y0 + (y1 - y0) * t / 40.0;
        for (int yy = 0; yy < S; yy++)
          for (int xx = 0; xx < S; xx++) {
            double d2 = (xx - px) * (xx - px) + (yy - py) * (yy - py);
            if (d2 < 2.25 && p[yy * S + xx] < 0.9f) p[yy * S + xx] = 0.9f;
          }
      }
    }
    for (int b = 0; b < 2; b++) {   /* blobs: soft discs */
      double cx = 6 + 16 * lp_rand_unit(pk, c++), cy = 6 + 16 * lp_rand_unit(pk, c++);
      double r = 2.5 + 3 * lp_rand_unit(pk, c++);
      for (int yy = 0; yy < S; yy++)
        for (int xx = 0; xx < S; xx++) {
          double d2 = (xx - cx) * (xx - cx) + (yy - cy) * (yy - cy);
          float v = (float)(0.7 * exp(-d2 / (2 * r * r)));
          if (p[yy * S + xx] < v) p[yy * S + xx] = v;
        }
    }
  }
  uint64_t key = lp_rng_key(seed, STREAM_BUILTIN * UINT64_C(0x100000000) + 1 + (uint64_t)split);
  uint64_t nkey = lp_rng_key(seed, STREAM_BUILTIN * UINT64_C(0x100000000) + 3 + (uint64_t)split);
  for (int64_t i = 0; i < n; i++) {
    uint64_t base = (uint64_t)i * 4;
    int k = (int)below(key, base, K);
    int dx = (int)below(key, base + 1, 7) - 3, dy = (int)below(key, base + 2, 7) - 3;
    double gain = 0.6 + 0.6 * lp_rand_unit(key, base + 3);
    float *img = x + i * P;
    for (int yy = 0; yy < S; yy++)
      for (int xx = 0; xx < S; xx++) {
        int sy = yy - dy, sx = xx - dx;
        double v = (sy >= 0 && sy < S && sx >= 0 && sx < S) ? proto[k][sy * S + sx] * gain : 0.0;
        v += 0.25 * gauss(nkey, (uint64_t)i * P + (uint64_t)(yy * S + xx));
        img[yy * S + xx] = (float)(v < 0 ? 0 : v > 1 ? 1 : v);
      }
    y[i] = (float)k;
  }
}
