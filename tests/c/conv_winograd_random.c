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
 *     most pieces (lp_set_grain_scale(0)): the same bits. */
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
  lp_set_threads(0);
  return tap_done();
}
