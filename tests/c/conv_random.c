/* conv_random.c — 60 random "same" convolutions (batch 1-4, 1-9 input and
 * 1-13 output channels, planes from 1x1 to 23x19, kernels 1, 3, 5 and 7
 * with pad (k-1)/2, so kernels larger than the plane too), forward and
 * backward, run with the implicit kernels on and off:
 *   - the forward has the same bits both ways (both are the fmaf chain
 *     over im2col's rows in order: conv_implicit.h, fmagemm.h; without
 *     AVX-512F both ways are the same im2col path), except for the 3x3
 *     shapes with 8 or 9 input channels, which the implicit path computes
 *     by Winograd's F(2x2, 3x3) (conv_winograd.h, tests/c/conv_winograd.c);
 *   - every output and gradient is within 1e-5 of the convolution summed
 *     in double, relative to the sum of its terms' magnitudes.
 * For 12 of them, a forward by the implicit kernels then a backward with
 * lp_fmagemm turned off and col_ready: the backward makes its own im2col.
 * Under AddressSanitizer this also checks that the masked loads of the
 * implicit kernels touch no byte outside the tensors. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/conv_implicit.h"
#include "core/conv_winograd.h"
#include "core/fmagemm.h"
#include "core/ops_conv.h"
#include "core/parallel.h"
#include "tap.h"

static unsigned seed = 4242;
static unsigned next(void) {
  seed = seed * 1103515245u + 12345u;
  return seed >> 8;
}
static float *randv(int64_t n) {
  float *v = malloc((size_t)(n > 0 ? n : 1) * sizeof *v);   /* exact sizes: ASan sees overruns */
  for (int64_t i = 0; i < n; i++) v[i] = (float)(next() & 0xffff) / 32768.0f - 1.0f;
  return v;
}

typedef struct {
  int64_t N, C, H, W, O;
  int k, pad;
} shape;

/* worst |got - sum| / sum|terms| of forward, dx, dw, db against double */
static double check(shape s, const float *x, const float *w, const float *b, const float *dy,
                    const float *y, const float *dx, const float *dw, const float *db) {
  int64_t P = s.H * s.W, K = s.k;
  double worst = 0;
  double *rdx = calloc((size_t)(s.N * s.C * P), sizeof *rdx), *mdx = calloc((size_t)(s.N * s.C * P), sizeof *mdx);
  double *rdw = calloc((size_t)(s.O * s.C * K * K), sizeof *rdw), *mdw = calloc((size_t)(s.O * s.C * K * K), sizeof *mdw);
  for (int64_t n = 0; n < s.N; n++)
    for (int64_t o = 0; o < s.O; o++)
      for (int64_t p = 0; p < P; p++) {
        double acc = b[o], mag = fabs(b[o]);
        double g = dy[(n * s.O + o) * P + p];
        for (int64_t c = 0; c < s.C; c++)
          for (int64_t i = 0; i < K; i++)
            for (int64_t j = 0; j < K; j++) {
              int64_t ih = p / s.W + i - s.pad, iw = p % s.W + j - s.pad;
              if (ih < 0 || ih >= s.H || iw < 0 || iw >= s.W) continue;
              int64_t xi = (n * s.C + c) * P + ih * s.W + iw, wi = ((o * s.C + c) * K + i) * K + j;
              acc += (double)x[xi] * w[wi];
              mag += fabs((double)x[xi] * w[wi]);
              rdx[xi] += g * w[wi];
              mdx[xi] += fabs(g * w[wi]);
              rdw[wi] += g * x[xi];
              mdw[wi] += fabs(g * x[xi]);
            }
        double e = fabs(y[(n * s.O + o) * P + p] - acc) / (mag + 1e-30);
        if (e > worst) worst = e;
      }
  for (int64_t i = 0; i < s.N * s.C * P; i++) {
    double e = fabs(dx[i] - rdx[i]) / (mdx[i] + 1e-30);
    if (mdx[i] > 0 && e > worst) worst = e;
    if (mdx[i] == 0 && dx[i] != 0) worst = 1;
  }
  for (int64_t i = 0; i < s.O * s.C * K * K; i++) {
    double e = fabs(dw[i] - rdw[i]) / (mdw[i] + 1e-30);
    if (mdw[i] > 0 && e > worst) worst = e;
    if (mdw[i] == 0 && dw[i] != 0) worst = 1;
  }
  for (int64_t o = 0; o < s.O; o++) {
    double sum = 0, mag = 0;
    for (int64_t n = 0; n < s.N; n++)
      for (int64_t p = 0; p < P; p++) sum += dy[(n * s.O + o) * P + p], mag += fabs(dy[(n * s.O + o) * P + p]);
    double e = fabs(db[o] - sum) / (mag + 1e-30);
    if (e > worst) worst = e;
  }
  free(rdx), free(mdx), free(rdw), free(mdw);
  return worst;
}

int main(void) {
  static const int ks[] = {1, 3, 5, 7};
  int same_fwd = 1, taken = 0, winograd = 0;
  double worst_on = 0, worst_off = 0, worst_toggle = 0;
  for (int t = 0; t < 60; t++) {
    shape s;
    s.N = 1 + next() % 4, s.C = 1 + next() % 9, s.O = 1 + next() % 13;
    s.H = 1 + next() % 23, s.W = 1 + next() % 19, s.k = ks[next() % 4], s.pad = (s.k - 1) / 2;
    int64_t P = s.H * s.W, nx = s.N * s.C * P, ny = s.N * s.O * P, nw = s.O * s.C * s.k * s.k;
    float *x = randv(nx), *w = randv(nw), *b = randv(s.O), *dy = randv(ny);
    float *y[2], *dx[2], *dw[2], *db[2];
    lp_set_threads(1 + t % 2);
    lp_conv_implicit_use(1);
    taken += lp_conv_implicit_ok(s.C, s.H, s.W, s.O, s.k, s.k, 1, s.pad);
    int wino = lp_conv_winograd_ok(s.C, s.H, s.W, s.O, s.k, s.k, 1, s.pad);
    winograd += wino;
    for (int on = 1; on >= 0; on--) {
      lp_conv_implicit_use(on);
      int64_t nws = lp_conv2d_workspace(s.N, s.C, s.O, s.k, s.k, s.H, s.W);
      float *work = randv(nws);
      y[on] = randv(ny), dx[on] = randv(nx), dw[on] = randv(nw), db[on] = randv(s.O);
      lp_conv2d_forward(y[on], work, x, w, b, s.N, s.C, s.H, s.W, s.O, s.k, s.k, 1, s.pad);
      lp_conv2d_backward(dx[on], dw[on], db[on], work, dy, x, w, s.N, s.C, s.H, s.W, s.O, s.k, s.k,
                         1, s.pad, 1, 0);
      double e = check(s, x, w, b, dy, y[on], dx[on], dw[on], db[on]);
      if (on && e > worst_on) worst_on = e;
      if (!on && e > worst_off) worst_off = e;
      if (e > 1e-5)
        tap_diag("N %ld C %ld H %ld W %ld O %ld k %d, implicit %s: relative error %g", (long)s.N,
                 (long)s.C, (long)s.H, (long)s.W, (long)s.O, s.k, on ? "on" : "off", e);
      free(work);
    }
    if (t < 12) {
      /* the forward by the implicit kernels (no im2col left in work), the
       * backward with lp_fmagemm turned off in between: col_ready must not
       * make it read work as im2col */
      int64_t nws = lp_conv2d_workspace(s.N, s.C, s.O, s.k, s.k, s.H, s.W);
      float *work = randv(nws), *yt = randv(ny), *dxt = randv(nx), *dwt = randv(nw), *dbt = randv(s.O);
      lp_conv_implicit_use(1);
      lp_conv2d_forward(yt, work, x, w, b, s.N, s.C, s.H, s.W, s.O, s.k, s.k, 1, s.pad);
      lp_fmagemm_use(0);
      lp_conv2d_backward(dxt, dwt, dbt, work, dy, x, w, s.N, s.C, s.H, s.W, s.O, s.k, s.k, 1, s.pad, 1, 0);
      lp_fmagemm_use(1);
      double e = check(s, x, w, b, dy, yt, dxt, dwt, dbt);
      if (e > worst_toggle) worst_toggle = e;
      free(work), free(yt), free(dxt), free(dwt), free(dbt);
    }
    if (!wino) same_fwd &= memcmp(y[0], y[1], (size_t)ny * sizeof(float)) == 0;
    for (int on = 0; on <= 1; on++) free(y[on]), free(dx[on]), free(dw[on]), free(db[on]);
    free(x), free(w), free(b), free(dy);
  }
  lp_conv_implicit_use(1);
  tap_diag("%d of 60 shapes taken by the implicit kernels on this machine, %d of them by Winograd's", taken, winograd);
  tap_ok(same_fwd, "60 random same convolutions: the forward has the same bits with and without the implicit kernels");
  tap_ok(worst_on < 1e-5, "implicit kernels on: forward and gradients within 1e-5 of double (worst %g)", worst_on);
  tap_ok(worst_off < 1e-5, "implicit kernels off: forward and gradients within 1e-5 of double (worst %g)", worst_off);
  tap_ok(worst_toggle < 1e-5, "lp_fmagemm turned off between forward and backward: gradients within 1e-5 of double (worst %g)",
         worst_toggle);
  return tap_done();
}
