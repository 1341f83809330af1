/* norm.c — LayerNorm and RMSNorm over rows (norm.h). Rows go to threads;
 * the parameter gradients are a second pass over column ranges, each
 * column summed over the rows in order, so results do not depend on the
 * thread count. NaN in a row makes that row's outputs NaN. */
#include <math.h>

#include "core/norm.h"
#include "core/parallel.h"

#define GRAIN 8192   /* elements: a second thread from 2 grains (docs/performance.md) */

typedef struct {
  float *out, *mean, *rstd, *dinp, *dweight, *dbias;
  const float *inp, *weight, *bias, *dout, *cmean, *crstd;
  int64_t N, C;
  float eps;
  int rms;
} norm_ctx;

static size_t row_grain(int64_t N, int64_t C) {
  return N * C >= GRAIN ? (size_t)(GRAIN / (C > 0 ? C : 1) + 1) : (size_t)N + 1;
}

static void fwd_rows(void *vc, size_t lo, size_t hi) {
  const norm_ctx *c = vc;
  const int64_t C = c->C;
  for (size_t n = lo; n < hi; n++) {
    const float *x = c->inp + (int64_t)n * C;
    float *y = c->out + (int64_t)n * C;
    double m = 0, v = 0;
    if (!c->rms) {
      for (int64_t i = 0; i < C; i++) m += x[i];
      m = C ? m / (double)C : 0.0;
    }
    for (int64_t i = 0; i < C; i++) { double d = x[i] - m; v += d * d; }
    v = C ? v / (double)C : 0.0;
    float rs = (float)(1.0 / sqrt(v + c->eps)), mf = (float)m;
    if (c->mean) c->mean[n] = mf;
    c->rstd[n] = rs;
    for (int64_t i = 0; i < C; i++) {
      float h = (x[i] - mf) * rs;
      if (c->weight) h *= c->weight[i];
      if (c->bias) h += c->bias[i];
      y[i] = h;
    }
  }
}

/* dinp for rows [lo, hi): with xhat = (x - mean) rstd and g = dout w,
 *   layernorm  dx = rstd (g - mean(g) - xhat mean(g xhat))
 *   rmsnorm    dx = rstd (g - xhat mean(g xhat))                       */
static void bwd_rows(void *vc, size_t lo, size_t hi) {
  const norm_ctx *c = vc;
  const int64_t C = c->C;
  for (size_t n = lo; n < hi; n++) {
    const float *x = c->inp + (int64_t)n * C, *dy = c->dout + (int64_t)n * C;
    float *dx = c->dinp + (int64_t)n * C;
    float m = c->cmean ? c->cmean[n] : 0.0f, rs = c->crstd[n];
    double sg = 0, sgx = 0;
    for (int64_t i = 0; i < C; i++) {
      float g = c->weight ? dy[i] * c->weight[i] : dy[i];
      sg += g;
      sgx += (double)g * ((x[i] - m) * rs);
    }
    float a = c->rms || !C ? 0.0f : (float)(sg / (double)C), b = C ? (float)(sgx / (double)C) : 0.0f;
    for (int64_t i = 0; i < C; i++) {
      float g = c->weight ? dy[i] * c->weight[i] : dy[i];
      dx[i] += rs * (g - a - (x[i] - m) * rs * b);
    }
  }
}

static void bwd_cols(void *vc, size_t lo, size_t hi) {
  const norm_ctx *c = vc;
  const int64_t C = c->C;
  for (int64_t n = 0; n < c->N; n++) {
    const float *x = c->inp + n * C, *dy = c->dout + n * C;
    float m = c->cmean ? c->cmean[n] : 0.0f, rs = c->crstd[n];
    if (c->dweight)
      for (size_t i = lo; i < hi; i++) c->dweight[i] += dy[i] * ((x[i] - m) * rs);
    if (c->dbias)
      for (size_t i = lo; i < hi; i++) c->dbias[i] += dy[i];
  }
}

static void backward(norm_ctx *c) {
  if (c->dinp) lp_parallel_for((size_t)c->N, row_grain(c->N, c->C), bwd_rows, c);
  if (c->dweight || c->dbias)
    lp_parallel_for((size_t)c->C, c->N * c->C >= GRAIN ? 8 : (size_t)c->C + 1, bwd_cols, c);
}

void lp_layernorm_forward(float *out, float *mean, float *rstd, const float *inp,
                          const float *weight, const float *bias, int64_t N, int64_t C, float eps) {
  // out (N, C), mean (N), rstd (N), inp (N, C), weight (C), bias (C)
  norm_ctx c = {.out = out, .mean = mean, .rstd = rstd, .inp = inp, .weight = weight, .bias = bias,
                .N = N, .C = C, .eps = eps, .rms = 0};
  lp_parallel_for((size_t)N, row_grain(N, C), fwd_rows, &c);
}

void lp_layernorm_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                           const float *inp, const float *weight, const float *mean,
                           const float *rstd, int64_t N, int64_t C) {
  norm_ctx c = {.dinp = dinp, .dweight = dweight, .dbias = dbias, .dout = dout, .inp = inp,
                .weight = weight, .cmean = mean, .crstd = rstd, .N = N, .C = C, .rms = 0};
  backward(&c);
}

void lp_rmsnorm_forward(float *out, float *rstd, const float *inp, const float *weight,
                        int64_t N, int64_t C, float eps) {
  // out (N, C), rstd (N), inp (N, C), weight (C)
  norm_ctx c = {.out = out, .rstd = rstd, .inp = inp, .weight = weight, .N = N, .C = C,
                .eps = eps, .rms = 1};
  lp_parallel_for((size_t)N, row_grain(N, C), fwd_rows, &c);
}

void lp_rmsnorm_backward(float *dinp, float *dweight, const float *dout, const float *inp,
                         const float *weight, const float *rstd, int64_t N, int64_t C) {
  norm_ctx c = {.dinp = dinp, .dweight = dweight, .dout = dout, .inp = inp, .weight = weight,
                .crstd = rstd, .N = N, .C = C, .rms = 1};
  backward(&c);
}
