/* quant.c — quantize float32 arrays to a format: lp_quantize and
 * lp_quantize_codes. Results equal lp_round element by element (the tests
 * check it); the common modes take fast paths. */
#include <math.h>
#include <string.h>

#include "core/format.h"
#include "core/parallel.h"

typedef struct {
  const lp_format *f;
  float *dst;
  uint32_t *codes;
  const float *src;
  float scale;
  uint64_t ctr0;
} qjob;

/* The exact path: any mode, one element at a time through lp_round. */
static void quantize_slow(const lp_format *f, float *dst, const float *src, size_t n,
                          float scale, uint64_t ctr0, int rescale) {
  for (size_t i = 0; i < n; i++) {
    float u = scale == 1.0f ? src[i] : src[i] / scale;
    float y = (float)lp_round(f, (double)u, ctr0 + i);
    dst[i] = scale == 1.0f || !rescale ? y : y * scale;
  }
}

static void quantize_range(void *ctx, size_t begin, size_t end) {
  qjob *j = ctx;
  quantize_slow(j->f, j->dst + begin, j->src + begin, end - begin, j->scale, j->ctr0 + begin, 1);
}

void lp_quantize(const lp_format *f, float *dst, const float *src, size_t n, float scale,
                 uint64_t ctr0) {
  if (f->identity && scale == 1.0f) {
    if (dst != src) memmove(dst, src, n * sizeof *dst);
    return;
  }
  qjob j = {f, dst, NULL, src, scale, ctr0};
  lp_parallel_for(n, 1 << 15, quantize_range, &j);
}

/* Code of a value of the format (or NaN/inf): the LUT path's encoder. */
static uint32_t code_of(const lp_format *f, float y) {
  uint32_t c;
  if (lp_encode(f, (double)y, &c) != LP_OK) c = 0;
  return c;
}

static void codes_range(void *ctx, size_t begin, size_t end) {
  qjob *j = ctx;
  float buf[256];
  for (size_t i = begin; i < end; i += 256) {
    size_t m = end - i < 256 ? end - i : 256;
    quantize_slow(j->f, buf, j->src + i, m, j->scale, j->ctr0 + i, 0);
    for (size_t k = 0; k < m; k++) j->codes[i + k] = code_of(j->f, buf[k]);
  }
}

void lp_quantize_codes(const lp_format *f, uint32_t *codes, const float *src, size_t n,
                       float scale, uint64_t ctr0) {
  qjob j = {f, NULL, codes, src, scale, ctr0};
  lp_parallel_for(n, 1 << 14, codes_range, &j);
}
