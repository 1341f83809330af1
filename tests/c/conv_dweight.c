/* conv_dweight.c — the convolution's weight gradient (lp_conv2d_backward's
 * dweight), on cnn_small's two layers and on shapes with partial tiles of
 * output channels (O % 4) and of im2col rows (C*kh*kw % 6), planes whose
 * size is no multiple of 16, 5x5 and 1x1 kernels, a 1x1 plane inside its
 * padding, and NaN and infinity in the inputs:
 *   - where the implicit kernels take the shape (conv_implicit.h), bit for
 *     bit their definition, written out here: 16 lanes, lane l a fmaf chain
 *     over the samples in order and the positions p = l mod 16 of each,
 *     padding taps contributing dout * +0; the lanes added pairwise; the sum
 *     added to dweight;
 *   - the same bits with 1 thread, 2 threads and 2 threads on every call;
 *   - within 1e-6 of the gradient summed in double, relative to the sum of
 *     the terms' magnitudes, with the implicit kernels on and off;
 *   - accumulate adds to what dweight held, in float, exactly;
 *   - a NaN or an infinity of the input reaches exactly the weights whose
 *     taps see it (NaN, or inf with the sign of the product) and no other;
 *   - the bias gradient is its definition (16 lanes of plain adds over the
 *     samples' positions p = l mod 16, added pairwise), and with accumulate
 *     the bias and input gradients add to what they held. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/conv_implicit.h"
#include "core/conv_winograd.h"
#include "core/ops_conv.h"
#include "core/parallel.h"
#include "tap.h"

typedef struct {
  int64_t N, C, H, W, O;
  int k, pad;
} shape;

static unsigned seed = 777;
static float *randv(size_t n) {
  float *v = malloc(n * sizeof *v);
  for (size_t i = 0; i < n; i++) {
    seed = seed * 1103515245u + 12345u;
    v[i] = (float)((seed >> 8) & 0xffff) / 32768.0f - 1.0f;
  }
  return v;
}

/* im2col's value: x at row r = (c, i, j) and position p, or +0 */
static float colv(const float *x, shape s, int64_t n, int64_t r, int64_t p) {
  int64_t c = r / (s.k * s.k), i = (r / s.k) % s.k, j = r % s.k;
  int64_t ih = p / s.W + i - s.pad, iw = p % s.W + j - s.pad;
  if (ih < 0 || ih >= s.H || iw < 0 || iw >= s.W) return 0.0f;
  return x[((n * s.C + c) * s.H + ih) * s.W + iw];
}

static int same(float a, float b) {
  return (isnan(a) && isnan(b)) || memcmp(&a, &b, sizeof a) == 0;
}

static float *grad(const float *dout, const float *x, const float *w, shape s, int threads, int grain0,
                   const float *start) {
  int64_t CK = s.C * s.k * s.k, nws = lp_conv2d_workspace(s.N, s.C, s.O, s.k, s.k, s.H, s.W);
  float *dw = malloc((size_t)(s.O * CK) * sizeof *dw), *work = malloc((size_t)nws * sizeof *work);
  if (start) memcpy(dw, start, (size_t)(s.O * CK) * sizeof *dw);
  lp_set_threads(threads);
  lp_set_grain_scale(grain0 ? 0 : 1);
  lp_conv2d_backward(NULL, dw, NULL, work, dout, x, w, s.N, s.C, s.H, s.W, s.O, s.k, s.k, 1, s.pad,
                     0, start != NULL);
  lp_set_grain_scale(1);
  free(work);
  return dw;
}

int main(void) {
  lp_conv_winograd_use(0);   /* the direct kernels' definition; Winograd's: tests/c/conv_winograd.c */
  const shape shapes[] = {
    {128, 16, 14, 14, 32, 3, 1},   /* cnn_small's second layer */
    {96, 1, 28, 28, 16, 3, 1},     /* its first */
    {5, 3, 7, 9, 7, 3, 1},         /* 63 positions, 7 output channels, 27 rows */
    {3, 5, 6, 5, 6, 5, 2},         /* 5x5: 125 rows */
    {4, 7, 5, 5, 9, 1, 0},         /* 1x1 */
    {6, 2, 1, 1, 3, 3, 1},         /* a 1x1 plane: eight of nine taps are padding */
    {2, 4, 4, 4, 5, 3, 1},         /* NaN and infinity in x (below) */
  };
  const int nshapes = (int)(sizeof shapes / sizeof shapes[0]);
  for (int q = 0; q < nshapes; q++) {
    shape s = shapes[q];
    int64_t P = s.H * s.W, CK = s.C * s.k * s.k, nx = s.N * s.C * P, ny = s.N * s.O * P;
    float *x = randv((size_t)nx), *dout = randv((size_t)ny), *w = randv((size_t)(s.O * CK));
    int special = q == nshapes - 1;
    if (special) {
      x[1 * s.C * P + 2 * P + 5] = NAN;          /* sample 1, channel 2, (1, 1) */
      x[0 * s.C * P + 0 * P + 15] = INFINITY;    /* sample 0, channel 0, (3, 3) */
    }
    int implicit = lp_conv_implicit_ok(s.C, s.H, s.W, s.O, s.k, s.k, 1, s.pad);
    float *g1 = grad(dout, x, w, s, 1, 0, NULL);
    if (implicit) {
      int64_t bad = 0;
      for (int64_t o = 0; o < s.O; o++)
        for (int64_t r = 0; r < CK; r++) {
          float l[16] = {0};
          for (int64_t n = 0; n < s.N; n++)
            for (int64_t p = 0; p < P; p++)
              l[p % 16] = fmaf(dout[(n * s.O + o) * P + p], colv(x, s, n, r, p), l[p % 16]);
          for (int wdt = 8; wdt >= 1; wdt /= 2)
            for (int a = 0; a < wdt; a++) l[a] = l[a] + l[a + wdt];
          bad += !same(g1[o * CK + r], 0.0f + l[0]);
        }
      if (!tap_ok(bad == 0, "shape %d: the weight gradient is its 16-lane definition bit for bit", q))
        tap_diag("%ld of %ld differ", (long)bad, (long)(s.O * CK));
    } else {
      tap_count++;
      printf("ok %d # skip shape %d: not taken by the implicit kernels on this machine\n", tap_count, q);
    }
    float *g2 = grad(dout, x, w, s, 2, 0, NULL), *g3 = grad(dout, x, w, s, 2, 1, NULL);
    tap_ok(memcmp(g1, g2, (size_t)(s.O * CK) * sizeof *g1) == 0 &&
               memcmp(g1, g3, (size_t)(s.O * CK) * sizeof *g1) == 0,
           "shape %d: the same bits with 1 thread, 2 threads, 2 threads on every call", q);
    for (int on = 1; on >= 0; on--) {
      lp_conv_implicit_use(on);
      float *g = grad(dout, x, w, s, 2, 0, NULL);
      double worst = 0;
      int64_t wrong_nan = 0;
      for (int64_t o = 0; o < s.O; o++)
        for (int64_t r = 0; r < CK; r++) {
          double sum = 0, mag = 0;
          for (int64_t n = 0; n < s.N; n++)
            for (int64_t p = 0; p < P; p++) {
              double t = (double)dout[(n * s.O + o) * P + p] * (double)colv(x, s, n, r, p);
              sum += t;
              mag += fabs(t);
            }
          double got = g[o * CK + r];
          if (isnan(sum) || isinf(sum)) {
            wrong_nan += !(isnan(sum) ? isnan(got) : got == sum);
            continue;
          }
          wrong_nan += !isfinite(got);
          double e = fabs(got - sum) / (mag + 1e-30);
          if (e > worst) worst = e;
        }
      if (!tap_ok(worst < 1e-6 && wrong_nan == 0,
                  "shape %d, implicit kernels %s: within 1e-6 of the double sum%s", q, on ? "on" : "off",
                  special ? ", NaN and inf where the taps see them and nowhere else" : ""))
        tap_diag("relative error %g, %ld wrong NaN/inf", worst, (long)wrong_nan);
      free(g);
    }
    lp_conv_implicit_use(1);
    float *start = randv((size_t)(s.O * CK));
    float *ga = grad(dout, x, w, s, 2, 0, start);
    int64_t bad = 0;
    for (int64_t i = 0; i < s.O * CK; i++) bad += !same(ga[i], start[i] + g1[i]);
    tap_ok(bad == 0, "shape %d: accumulate adds the gradient to dweight in float", q);
    {
      int64_t nws = lp_conv2d_workspace(s.N, s.C, s.O, s.k, s.k, s.H, s.W);
      float *work = malloc((size_t)nws * sizeof *work), *db = malloc((size_t)s.O * sizeof *db);
      float *dx0 = malloc((size_t)nx * sizeof *dx0), *dx1 = randv((size_t)nx);
      float *dxs = malloc((size_t)nx * sizeof *dxs), *db1 = randv((size_t)s.O);
      float *dbs = malloc((size_t)s.O * sizeof *dbs);
      memcpy(dxs, dx1, (size_t)nx * sizeof *dxs);
      memcpy(dbs, db1, (size_t)s.O * sizeof *dbs);
      lp_set_threads(2);
      lp_conv2d_backward(dx0, NULL, db, work, dout, x, w, s.N, s.C, s.H, s.W, s.O, s.k, s.k, 1, s.pad, 0, 0);
      lp_conv2d_backward(dx1, NULL, db1, work, dout, x, w, s.N, s.C, s.H, s.W, s.O, s.k, s.k, 1, s.pad, 0, 1);
      int64_t badb = 0, bada = 0;
      for (int64_t o = 0; o < s.O; o++) {
        float l[16] = {0};
        for (int64_t n = 0; n < s.N; n++)
          for (int64_t p = 0; p < P; p++) l[p % 16] += dout[(n * s.O + o) * P + p];
        for (int wdt = 8; wdt >= 1; wdt /= 2)
          for (int a = 0; a < wdt; a++) l[a] = l[a] + l[a + wdt];
        badb += !same(db[o], 0.0f + l[0]);
        bada += !same(db1[o], dbs[o] + l[0]);
      }
      /* (col2im, off the implicit path, adds tap by tap into what was there) */
      if (implicit)
        for (int64_t i = 0; i < nx; i++) bada += !same(dx1[i], dxs[i] + dx0[i]);
      tap_ok(badb == 0, "shape %d: the bias gradient is its 16-lane definition bit for bit", q);
      tap_ok(bada == 0, "shape %d: accumulate adds the bias and input gradients in float", q);
      free(work), free(db), free(dx0), free(dx1), free(dxs), free(db1), free(dbs);
    }
    free(x), free(dout), free(w), free(g1), free(g2), free(g3), free(start), free(ga);
  }
  return tap_done();
}
