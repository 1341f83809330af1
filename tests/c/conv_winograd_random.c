/* conv_winograd_random.c — the F(2x2, 3x3) kernels (conv_winograd.h) at
 * random shapes, through the entries the library uses (conv_implicit.h),
 * against the scalar definition (winograd_ref.h) bit for bit and against
 * the convolution summed in double:
 *   - N 1..20, C 8..70, O 1..70, planes 1..40 on a side (1, 2, odd), wide
 *     ones (up to 300 columns) and tall ones, so that bands of tile rows
 *     are one row, several rows with a short last band, or the whole
 *     plane (the test reports which it met);
 *   - forward with and without bias and added to out, input gradient
 *     (added or not), weight gradient added to dweight;
 *   - 1, 2 and 3 threads (more threads than the machine's cores: more
 *     buffer sets than running threads) and every call split into the
 *     most pieces (lp_set_grain_scale(0)): the same bits;
 *   - the buffers the kernels keep from call to call filled with NaN (a
 *     call on the same shape with every input NaN) before each shape;
 * and what the header says of accuracy and of values near FLT_MAX:
 *   - an output's error is bounded by the largest input magnitude in its
 *     3x3 window times the weights' magnitudes, not by its own terms'
 *     magnitudes as the direct sum's is: a case worked out by hand, and
 *     inputs and weights spread over 2^-20 .. 2^20;
 *   - finite inputs above FLT_MAX / 4 can overflow in the transforms:
 *     NaN or inf where the direct sum is finite, never a finite number;
 * and planes too wide for a row of tiles in 8 MB go to the direct kernels. */
#include <float.h>

#include "core/conv_implicit.h"
#include "core/conv_winograd.h"
#include "core/fmagemm.h"
#include "core/parallel.h"
#include "tap.h"
#include "winograd_ref.h"

static uint64_t rs = 0x9e3779b97f4a7c15ull;
static int64_t pick(int64_t lo, int64_t hi) {   /* uniform in [lo, hi] */
  rs ^= rs << 13, rs ^= rs >> 7, rs ^= rs << 17;
  return lo + (int64_t)(rs % (uint64_t)(hi - lo + 1));
}

/* a plane side: 1, 2, small odd or even, up to 40 */
static int64_t side(void) {
  switch (pick(0, 4)) {
    case 0: return pick(1, 2);
    case 1: return 2 * pick(1, 10) + 1;
    default: return pick(1, 40);
  }
}

/* the band of tile rows the kernels use (conv_winograd.c) */
static int64_t band_of(shape s) {
  int64_t tw = (s.W + 1) / 2, th = (s.H + 1) / 2, Cp = (s.C + 15) / 16 * 16, Op = (s.O + 15) / 16 * 16;
  int64_t b = (512 << 10) / (16 * tw * (Cp + Op) * 4);
  return b < 1 ? 1 : b > th ? th : b;
}

int main(void) {
  if (!lp_fmagemm_cpu()) {
    printf("1..0 # SKIP no AVX-512F on this machine: the Winograd kernels are not built for it\n");
    return 0;
  }
  const int nshapes = 36;
  const int threads[] = {1, 2, 3};
  int taken = 1, fwd_bits = 1, dx_bits = 1, dw_bits = 1, split_ok = 1;
  double worst = 0, worst_dx = 0, worst_dw = 0;
  int one_row = 0, short_last = 0, whole = 0;
  for (int k = 0; k < nshapes; k++) {
    shape s;
    /* every fourth a wide or a tall plane; the work bounded for the
     * double sums */
    s.H = side(), s.W = side();
    if (k % 4 == 1) s.W = pick(100, 300), s.H = pick(1, 6);
    if (k % 4 == 3) s.H = pick(60, 200), s.W = pick(1, 5);
    s.C = pick(8, 70), s.O = pick(1, 70), s.N = pick(1, 20);
    while (s.N * s.C * s.O * s.H * s.W > 3000000 && s.N > 1) s.N /= 2;
    while (s.N * s.C * s.O * s.H * s.W > 3000000) s.C = s.C > 8 ? s.C / 2 < 8 ? 8 : s.C / 2 : 8, s.O = s.O > 1 ? s.O / 2 : 1;
    int64_t th = (s.H + 1) / 2, band = band_of(s);
    if (band == 1 && th > 1) one_row++;
    else if (band < th && th % band) short_last++;
    else if (band == th) whole++;
    int64_t P = s.H * s.W, nx = s.N * s.C * P, ny = s.N * s.O * P, nw = s.O * s.C * 9;
    taken &= lp_conv_winograd_ok(s.C, s.H, s.W, s.O, 3, 3, 1, 1);
    float *x = randv(nx), *w = randv(nw), *b = randv(s.O), *y0 = randv(ny), *dy = randv(ny);
    float *ref = malloc((size_t)ny * sizeof *ref), *got = malloc((size_t)ny * sizeof *got);
    int mode = (int)pick(0, 2);   /* 0: bias, 1: no bias, 2: added to out */
    const float *bias = mode == 0 ? b : NULL;
    memcpy(ref, y0, (size_t)ny * sizeof *ref);
    ref_forward(ref, x, w, bias, mode == 2, s);
    if (mode != 2) {
      double e = err_double(ref, x, w, bias, s);
      if (!(e <= worst)) worst = e;
    }
    /* the input gradient: the forward of dy with the weights flipped */
    float *wt = malloc((size_t)nw * sizeof *wt);
    for (int64_t o = 0; o < s.O; o++)
      for (int64_t c = 0; c < s.C; c++)
        for (int q = 0; q < 9; q++) wt[(c * s.O + o) * 9 + q] = w[(o * s.C + c) * 9 + 8 - q];
    shape sd = {s.N, s.O, s.H, s.W, s.C};
    int dx_add = (int)pick(0, 1);
    float *dx0 = randv(nx), *dxref = malloc((size_t)nx * sizeof *dxref), *dxgot = malloc((size_t)nx * sizeof *dxgot);
    memcpy(dxref, dx0, (size_t)nx * sizeof *dxref);
    ref_forward(dxref, dy, wt, NULL, dx_add, sd);
    if (!dx_add) {
      double e = err_double(dxref, dy, wt, NULL, sd);
      if (!(e <= worst_dx)) worst_dx = e;
    }
    /* the weight gradient added to what dweight holds */
    float *dw0 = randv(nw), *dwref = malloc((size_t)nw * sizeof *dwref), *dwgot = malloc((size_t)nw * sizeof *dwgot);
    memcpy(dwref, dw0, (size_t)nw * sizeof *dwref);
    ref_dweight(dwref, dy, x, s);
    {
      double e = err_dweight(dwref, dw0, dy, x, s);
      if (!(e <= worst_dw)) worst_dw = e;
    }
    /* the kernels keep their buffers from call to call: fill them with
     * NaN first (the same shape, every input NaN), so a part of a buffer
     * read before it is written shows as NaN */
    {
      float *nx_ = malloc((size_t)(nx > ny ? nx : ny) * sizeof(float)), *nw_ = malloc((size_t)nw * sizeof(float));
      for (int64_t i = 0; i < (nx > ny ? nx : ny); i++) nx_[i] = NAN;
      for (int64_t i = 0; i < nw; i++) nw_[i] = NAN;
      lp_set_threads(3);
      lp_conv_winograd_forward(got, nx_, nw_, NULL, 0, s.N, s.C, s.H, s.W, s.O, NULL, NULL, 0);
      if (s.O >= LP_WINOGRAD_MIN_C) lp_conv_winograd_forward(dxgot, nx_, nw_, NULL, 0, s.N, s.O, s.H, s.W, s.C, NULL, NULL, 0);
      lp_conv_winograd_dweight(nw_, nx_, nx_, s.N, s.C, s.H, s.W, s.O);
      free(nx_), free(nw_);
    }
    for (int ti = 0; ti < 4; ti++) {
      int t = ti < 3 ? threads[ti] : 2;
      lp_set_threads(t);
      lp_set_grain_scale(ti == 3 ? 0.0 : 1.0);   /* last: every call split */
      memcpy(got, y0, (size_t)ny * sizeof *got);
      int r = mode == 2 ? lp_conv_winograd_forward(got, x, w, NULL, 1, s.N, s.C, s.H, s.W, s.O, NULL, NULL, 0)
                        : lp_conv_implicit_forward(got, x, w, bias, s.N, s.C, s.H, s.W, s.O, 3, 3, 1);
      int f = r && same_bits(got, ref, ny);
      memcpy(dxgot, dx0, (size_t)nx * sizeof *dxgot);
      r = lp_conv_implicit_dinput(dxgot, dy, w, s.N, s.C, s.H, s.W, s.O, 3, 3, 1, dx_add);
      /* O < 8: the direct kernels (other bits), held to double below */
      int d = r && (s.O < LP_WINOGRAD_MIN_C || same_bits(dxgot, dxref, nx));
      if (s.O < LP_WINOGRAD_MIN_C && !dx_add) {
        double e = err_double(dxgot, dy, wt, NULL, sd);
        if (!(e <= worst_dx)) worst_dx = e;
      }
      memcpy(dwgot, dw0, (size_t)nw * sizeof *dwgot);
      r = lp_conv_implicit_dweight(dwgot, dy, x, s.N, s.C, s.H, s.W, s.O, 3, 3, 1);
      int g = r && same_bits(dwgot, dwref, nw);
      if (ti < 3) fwd_bits &= f, dx_bits &= d, dw_bits &= g;
      else split_ok &= f && d && g;
      if (!(f && d && g))
        tap_diag("N %lld C %lld H %lld W %lld O %lld (band %lld), %d threads%s, mode %d, dx add %d: forward %d dinput %d dweight %d",
                 (long long)s.N, (long long)s.C, (long long)s.H, (long long)s.W, (long long)s.O, (long long)band, t,
                 ti == 3 ? " split" : "", mode, dx_add, f, d, g);
    }
    lp_set_grain_scale(1.0);
    free(x), free(w), free(b), free(y0), free(dy), free(ref), free(got), free(wt), free(dx0), free(dxref);
    free(dxgot), free(dw0), free(dwref), free(dwgot);
  }
  tap_diag("bands: %d shapes in bands of one tile row, %d with a short last band, %d in one band", one_row,
           short_last, whole);
  tap_ok(taken, "%d random shapes are taken by the Winograd kernels", nshapes);
  tap_ok(one_row > 0 && short_last > 0 && whole > 0, "the shapes meet bands of one tile row, short last bands and whole planes");
  tap_ok(fwd_bits, "forward (bias, no bias, added to out): the definition's bits at 1, 2 and 3 threads");
  tap_ok(dx_bits, "input gradient (added or not): the definition's bits at 1, 2 and 3 threads");
  tap_ok(dw_bits, "weight gradient added to dweight: the definition's bits at 1, 2 and 3 threads");
  tap_ok(split_ok, "every call split into the most pieces (grain scale 0): the same bits");
  tap_ok(worst < 1e-5, "forward within 1e-5 of double relative to its terms' magnitudes (worst %g)", worst);
  tap_ok(worst_dx < 1e-5, "input gradient within 1e-5 of double (worst %g)", worst_dx);
  tap_ok(worst_dw < 1e-5, "weight gradient within 1e-5 of double (worst %g)", worst_dw);

  /* By hand, one channel of weights (0 0 0; 0 0 1; 0 0 0): y[i][j] =
   * x[i][j + 1]. Row 0 of x = (2^24, 1, 0, 0), the rest 0. Output (0, 0)
   * is 1 exactly, and the direct sum gives 1 (0 * 2^24 + 1 * 1). Its
   * tile's columns d = (0, 2^24, 1, 0) (the +0 border first), and along
   * the rows the weight row (0, 0, 1) -> (0, 1/2, 1/2, 1) while the
   * inputs give d1 + d2 = 2^24 + 1 -> 2^24 (rounded to even) and
   * d2 - d1 = -(2^24 - 1): m1 = 2^23, m2 = -(2^23 - 1/2), and
   * y = m0 + m1 + m2 = 0 + 2^23 - (2^23 - 1/2) = 1/2. */
  {
    shape s = {1, 8, 4, 4, 1};
    float x[8 * 16] = {0}, w[8 * 9] = {0}, y[16], yd[16];
    w[1 * 3 + 2] = 1.0f;
    x[0] = 16777216.0f, x[1] = 1.0f;
    lp_set_threads(1);
    lp_conv_winograd_forward(y, x, w, NULL, 0, 1, s.C, s.H, s.W, s.O, NULL, NULL, 0);
    lp_conv_winograd_use(0);
    lp_conv_implicit_forward(yd, x, w, NULL, 1, s.C, s.H, s.W, s.O, 3, 3, 1);
    lp_conv_winograd_use(1);
    tap_ok(y[0] == 0.5f && yd[0] == 1.0f, "by hand: 1/2 where the exact value and the direct sum are 1 (got %g, direct %g)",
           y[0], yd[0]);
  }
  /* inputs and weights of magnitudes 2^-20 .. 2^20 (one in ten +0):
   * |y - exact| <= (36 C + 360) u B with u = 2^-24 and B = the sum over
   * the channels of (the largest |x| in the output's window) x (the sum
   * of the channel's nine |w|) (docs/performance.md derives the factor) */
  {
    double worst_b = 0, worst_t = 0;
    int within = 1;
    const double u = ldexp(1.0, -24);
    for (int k = 0; k < 60; k++) {
      shape s = {1, 8, 1, 1, 1};   /* one pick a statement: the same shapes whatever the compiler */
      s.C = pick(8, 40), s.H = pick(1, 9), s.W = pick(1, 9), s.O = pick(1, 8);
      int64_t P = s.H * s.W, nx = s.C * P, nw = s.O * s.C * 9, ny = s.O * P;
      float *x = malloc((size_t)nx * sizeof *x), *w = malloc((size_t)nw * sizeof *w);
      float *y = malloc((size_t)ny * sizeof *y), *ref = malloc((size_t)ny * sizeof *ref);
      for (int64_t i = 0; i < nx + nw; i++) {
        int zero = pick(0, 9) == 0, mant = (int)pick(0, 1023), e = (int)pick(-20, 20), neg = (int)pick(0, 1);
        float m = zero ? 0.0f : ldexpf(1.0f + (float)mant / 1024.0f, e);
        *(i < nx ? x + i : w + (i - nx)) = neg ? -m : m;
      }
      lp_conv_winograd_forward(y, x, w, NULL, 0, 1, s.C, s.H, s.W, s.O, NULL, NULL, 0);
      ref_forward(ref, x, w, NULL, 0, s);
      fwd_bits &= same_bits(y, ref, ny);
      for (int64_t o = 0; o < s.O; o++)
        for (int64_t i = 0; i < s.H; i++)
          for (int64_t j = 0; j < s.W; j++) {
            double sum = 0, mag = 0, B = 0;
            for (int64_t c = 0; c < s.C; c++) {
              double D = 0, S = 0;
              for (int a = 0; a < 3; a++)
                for (int bb = 0; bb < 3; bb++) {
                  int64_t ii = i + a - 1, jj = j + bb - 1;
                  double g = w[((o * s.C + c) * 3 + a) * 3 + bb];
                  S += fabs(g);
                  if (ii < 0 || ii >= s.H || jj < 0 || jj >= s.W) continue;
                  double xv = x[c * P + ii * s.W + jj];
                  D = fabs(xv) > D ? fabs(xv) : D;
                  sum += g * xv, mag += fabs(g * xv);
                }
              B += D * S;
            }
            double e = fabs(y[o * P + i * s.W + j] - sum);
            within &= e <= (36.0 * (double)s.C + 360.0) * u * B;
            if (B > 0 && e / (u * B) > worst_b) worst_b = e / (u * B);
            if (mag > 0 && e / (u * mag) > worst_t) worst_t = e / (u * mag);
          }
      free(x), free(w), free(y), free(ref);
    }
    tap_ok(within && fwd_bits, "magnitudes 2^-20 .. 2^20: within (36 C + 360) u B of double (worst %.3g u B; relative to the "
           "terms' magnitudes %.3g u)", worst_b, worst_t);
  }
  /* near FLT_MAX: x[0][1] = x[1][1] = 2e38 (finite), the centre tap 1:
   * the direct sum is 2e38 at (0, 1) and (1, 1) and 0 elsewhere; the
   * transforms add the two (d1 + d2 of the first tile row's columns) */
  {
    shape s = {1, 8, 4, 4, 1};
    float x[8 * 16] = {0}, w[8 * 9] = {0}, y[16], yd[16];
    w[4] = 1.0f;
    x[1] = x[4 + 1] = 2e38f;
    lp_conv_winograd_forward(y, x, w, NULL, 0, 1, s.C, s.H, s.W, s.O, NULL, NULL, 0);
    lp_conv_winograd_use(0);
    lp_conv_implicit_forward(yd, x, w, NULL, 1, s.C, s.H, s.W, s.O, 3, 3, 1);
    lp_conv_winograd_use(1);
    int nonfinite = 0, wrong_finite = 0, dfin = 1;
    for (int k = 0; k < 16; k++) {
      dfin &= isfinite(yd[k]);
      if (!isfinite(y[k])) nonfinite++;
      else wrong_finite += y[k] != yd[k];
    }
    tap_ok(dfin && nonfinite > 0 && wrong_finite == 0 && isinf(y[1]) && isnan(y[0]),
           "inputs of 2e38: %d outputs NaN or inf where the direct sum is finite (2e38 -> inf, 0 -> NaN), the others exact",
           nonfinite);
  }
  /* planes so wide that one row of tiles' V and M passes 2^21 floats
   * (8 MB) go to the direct kernels: 16 x 4096 tiles x (16 + 16) = 2^21 */
  {
    int ok8 = lp_conv_winograd_ok(8, 1, 8192, 8, 3, 3, 1, 1) && !lp_conv_winograd_ok(8, 1, 8193, 8, 3, 3, 1, 1) &&
              lp_conv_winograd_ok(64, 3, 2048, 64, 3, 3, 1, 1) && !lp_conv_winograd_ok(64, 3, 2049, 64, 3, 3, 1, 1) &&
              !lp_conv_winograd_ok(8, 1, 1000000, 8, 3, 3, 1, 1);
    shape s = {1, 8, 1, 8193, 8};
    int64_t ny = s.O * s.W;
    float *x = randv(s.C * s.W), *w = randv(s.O * s.C * 9), *y = malloc((size_t)ny * sizeof *y);
    float *yd = malloc((size_t)ny * sizeof *yd);
    lp_conv_implicit_forward(y, x, w, NULL, 1, s.C, s.H, s.W, s.O, 3, 3, 1);
    lp_conv_winograd_use(0);
    lp_conv_implicit_forward(yd, x, w, NULL, 1, s.C, s.H, s.W, s.O, 3, 3, 1);
    lp_conv_winograd_use(1);
    tap_ok(ok8 && same_bits(y, yd, ny),
           "a row of tiles' V and M over 8 MB (1 x 8193 at 8 -> 8, 3 x 2049 at 64 -> 64): the direct kernels' bits");
    free(x), free(w), free(y), free(yd);
  }
  lp_set_threads(0);
  return tap_done();
}
