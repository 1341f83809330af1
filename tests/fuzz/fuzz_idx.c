/* fuzz_idx.c — libFuzzer harness for the IDX reader (plain and gzip, with
 * zlib underneath) and the CIFAR-10 batch reader. The input is written to
 * a file and read as both. Assertions: every refusal is one non-empty
 * line that names the file; an accepted IDX file's element count agrees
 * with its header; a read never runs past what the header declares; the
 * CIFAR reader's labels are 0..9 and pixels in [0, 1]. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/dataset.h"

#define CHECK(c, ...)                                                   \
  do {                                                                  \
    if (!(c)) {                                                         \
      fprintf(stderr, "fuzz_idx: %s: ", #c);                            \
      fprintf(stderr, __VA_ARGS__);                                     \
      fputc('\n', stderr);                                              \
      abort();                                                          \
    }                                                                   \
  } while (0)

static char path[64];
static void remove_file(void) { unlink(path); }

static void one_line(const char *err) {
  CHECK(err[0] != 0 && strchr(err, '\n') == NULL, "refusal is not one line: '%s'", err);
  CHECK(strncmp(err, path, strlen(path)) == 0, "refusal does not name the file: '%s'", err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!path[0]) {
    snprintf(path, sizeof path, "/tmp/lpact-fuzz-idx-%d", (int)getpid());
    atexit(remove_file);   /* no file left behind in /tmp */
  }
  FILE *fp = fopen(path, "wb");
  if (!fp) return 0;
  fwrite(data, 1, size, fp);
  fclose(fp);

  char err[768];
  lp_idx_file f;
  if (lp_idx_open(&f, path, err, sizeof err) != LP_OK) {
    one_line(err);
  } else {
    int64_t numel = 1;
    for (int i = 0; i < f.ndim; i++) numel *= f.dims[i];
    CHECK(numel == f.numel, "numel %lld, the dimensions multiply to %lld", (long long)f.numel, (long long)numel);
    /* the whole file when small (checks the trailer and trailing bytes),
     * else the first 4096 elements */
    int64_t count = f.numel <= 65536 ? f.numel : 4096;
    float *out = malloc((size_t)(count + 1) * sizeof *out);
    if (out) {
      out[count] = 12345.0f;   /* a guard: nothing is written past count */
      if (lp_idx_read(&f, out, count, 1.0f, err, sizeof err) != LP_OK) one_line(err);
      CHECK(out[count] == 12345.0f, "the reader wrote past %lld elements", (long long)count);
      free(out);
    }
    lp_idx_close(&f);
  }

  int64_t n = 0;
  if (lp_cifar_count(path, &n, err, sizeof err) != LP_OK) {
    one_line(err);
  } else {
    CHECK(n >= 0 && n * LP_CIFAR_RECORD == (int64_t)size, "%lld records in %zu bytes", (long long)n, size);
    if (n > 4) n = 4;
    float *x = malloc((size_t)(n * 3072 + 1) * sizeof *x), y[4];
    if (x && lp_cifar_read(path, n, x, y, 255.0f, err, sizeof err) == LP_OK) {
      for (int64_t i = 0; i < n; i++) CHECK(y[i] >= 0 && y[i] <= 9 && y[i] == (int)y[i], "label %g", (double)y[i]);
      for (int64_t i = 0; i < n * 3072; i++) CHECK(x[i] >= 0 && x[i] <= 1, "pixel %g", (double)x[i]);
    } else if (x) {
      one_line(err);
    }
    free(x);
  }
  return 0;
}
