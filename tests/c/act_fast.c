/* act_fast.c — GELU's float32 kernels (act.c computes exp and erf there
 * with vectorisable approximations) against the double versions (libm)
 * on a dense grid: value and derivative within 1e-6 (times |x| past 1),
 * the threaded kernel equal bit for bit to the scalar float function,
 * NaN in giving NaN out, and the infinities. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/act.h"
#include "tap.h"

int main(void) {
  const lp_act_info *g = lp_act_row(LP_ACT_GELU);
  double ev = 0, ed = 0;
  float wv = 0, wd = 0;
  for (float x = -12.0f; x <= 12.0f; x += 1.0f / 4096) {
    double s = fabs(x) > 1 ? fabs(x) : 1;
    double e1 = fabs((double)g->ff(x, 0) - g->f(x, 0)) / s, e2 = fabs((double)g->dff(x, 0) - g->df(x, 0)) / s;
    if (e1 > ev) ev = e1, wv = x;
    if (e2 > ed) ed = e2, wd = x;
  }
  tap_diag("gelu worst error %.3g at %g, gelu' %.3g at %g", ev, (double)wv, ed, (double)wd);
  tap_ok(ev < 1e-6, "gelu float vs double: worst %.3g at %g (tolerance 1e-6 x max(1, |x|))", ev, (double)wv);
  tap_ok(ed < 1e-6, "gelu' float vs double: worst %.3g at %g", ed, (double)wd);
  enum { N = 1000 };
  float *x = malloc(N * sizeof *x), *y = malloc(N * sizeof *y), *d = malloc(N * sizeof *d), *o = malloc(N * sizeof *o);
  if (!x || !y || !d || !o) return 1;
  for (int i = 0; i < N; i++) x[i] = -9.0f + 18.0f * (float)i / N, o[i] = 1.0f;
  x[7] = NAN, x[8] = INFINITY, x[9] = -100.0f, x[10] = 100.0f, x[11] = -0.0f;
  lp_act_forward(LP_ACT_GELU, y, x, N, 0);
  lp_act_backward(LP_ACT_GELU, d, o, x, N, 0, 0);
  int same = 1;
  for (int i = 0; i < N; i++) {
    float a = g->ff(x[i], 0), b = g->dff(x[i], 0);
    if (memcmp(&a, &y[i], sizeof a) != 0 || memcmp(&b, &d[i], sizeof b) != 0) same = 0;
  }
  tap_ok(same, "gelu kernels (vector lanes) equal the scalar float function bit for bit");
  tap_ok(isnan(y[7]) && isnan(d[7]), "gelu(NaN) and gelu'(NaN) are NaN");
  tap_ok(y[8] == INFINITY && isnan(d[8]) == isnan(g->df(INFINITY, 0)), "gelu(inf) = inf; gelu'(inf) as the double version (inf * 0)");
  tap_ok(y[9] == 0.0f && d[9] == 0.0f, "gelu(-100) = 0, gelu'(-100) = 0");
  tap_ok(y[10] == 100.0f && d[10] == 1.0f, "gelu(100) = 100, gelu'(100) = 1");
  tap_ok(y[11] == 0.0f && fabsf(d[11] - 0.5f) < 1e-6f, "gelu(-0) = 0, gelu'(0) = 1/2");
  free(x), free(y), free(d), free(o);
  return tap_done();
}
