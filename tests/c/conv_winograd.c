/* conv_winograd.c — the F(2x2, 3x3) convolutions (conv_winograd.h)
 * against their definition, written here from the header's formulas one
 * tile and one output at a time in scalar code (no vectors, no bands, no
 * channels-last buffers), bit for bit:
 *   - 13 shapes: cnn_small's second layer and its input gradient, odd
 *     planes (a last tile half outside), 1x1 and 2x29 planes, channel
 *     counts that are not multiples of 16, planes cut into bands of tile
 *     rows (64 channels on 40x40) and into bands of one row (130 wide),
 *     batches of 17 and 20 (several chunks of the weight gradient);
 *     with and without bias, added to what out holds (add), 1 and 2
 *     threads; the same through lp_conv2d_forward (the library's entry)
 *     and the input gradient through lp_conv2d_backward;
 *   - each output within 1e-5 of the convolution summed in double,
 *     relative to the sum of its terms' magnitudes (a mistake shared by
 *     the kernel and the definition here would pass the first check);
 *   - a NaN input makes NaN of exactly the outputs whose 3x3 window holds
 *     it, an infinite one makes those outputs non-finite, the others keep
 *     their bits;
 *   - the weight gradient (lp_conv2d_backward, added to dweight) against
 *     its definition (8-sample chunks), 1 and 2 threads, and the
 *     definition against double; NaN in x's channel c or dout's channel o
 *     reaching exactly dweight[:, c] or dweight[o];
 *   - after/scratch: the callback sees each sample's outputs, out is not
 *     written;
 *   - with the kernels off (lp_conv_winograd_use(0)) the shape goes to
 *     the direct kernels. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/conv_implicit.h"
#include "core/conv_winograd.h"
#include "core/fmagemm.h"
#include "core/ops_conv.h"
#include "core/parallel.h"
#include "tap.h"
#include "winograd_ref.h"

/* for after/scratch: each sample's outputs copied out by the callback */
typedef struct {
  float *seen;
  int64_t per;
} catcher;
static void catch_sample(void *arg, int64_t n, const float *y) {
  catcher *k = arg;
  memcpy(k->seen + n * k->per, y, (size_t)k->per * sizeof *y);
}

int main(void) {
  if (!lp_fmagemm_cpu()) {
    printf("1..0 # SKIP no AVX-512F on this machine: the Winograd kernels are not built for it\n");
    return 0;
  }
  const shape shapes[] = {
    {3, 16, 14, 14, 32},   /* cnn_small's second layer */
    {2, 32, 14, 14, 16},   /* its input gradient (the forward of the flipped weights) */
    {2, 8, 1, 1, 1},       /* one tile, three quarters outside */
    {3, 13, 5, 7, 17},     /* odd planes, ragged channels */
    {1, 9, 15, 11, 48},
    {2, 40, 6, 3, 33},
    {1, 20, 2, 29, 5},
    {1, 64, 40, 40, 64},   /* bands of 3 tile rows */
    {1, 64, 5, 130, 64},   /* bands of one tile row */
    {2, 24, 28, 28, 16},
    {1, 17, 9, 9, 31},
    {20, 16, 7, 6, 24},    /* the weight gradient in three chunks of samples */
    {17, 8, 4, 4, 8},
  };
  const int ns = (int)(sizeof shapes / sizeof shapes[0]);
  int bits_ok = 1, add_ok = 1, thr_ok = 1, entry_ok = 1, dx_ok = 1, dwt_ok = 1, taken = 1;
  double worst = 0, worst_dw = 0;
  for (int k = 0; k < ns; k++) {
    shape s = shapes[k];
    int64_t P = s.H * s.W, nx = s.N * s.C * P, ny = s.N * s.O * P, nw = s.O * s.C * 9;
    float *x = randv(nx), *w = randv(nw), *b = randv(s.O), *y0 = randv(ny);
    float *ref = malloc((size_t)ny * sizeof *ref), *got = malloc((size_t)ny * sizeof *got);
    taken &= lp_conv_winograd_ok(s.C, s.H, s.W, s.O, 3, 3, 1, 1);
    for (int withb = 0; withb <= 1; withb++) {
      ref_forward(ref, x, w, withb ? b : NULL, 0, s);
      for (int t = 1; t <= 2; t++) {
        lp_set_threads(t);
        memcpy(got, y0, (size_t)ny * sizeof *got);   /* not cleared first */
        lp_conv_winograd_forward(got, x, w, withb ? b : NULL, 0, s.N, s.C, s.H, s.W, s.O, NULL, NULL, 0);
        if (!same_bits(got, ref, ny)) {
          bits_ok = 0;
          tap_diag("shape %d, bias %d, %d threads: other bits than the definition", k, withb, t);
        }
      }
      double e = err_double(ref, x, w, withb ? b : NULL, s);
      if (!(e <= worst)) worst = e;
    }
    /* add: out += conv */
    memcpy(ref, y0, (size_t)ny * sizeof *ref);
    ref_forward(ref, x, w, NULL, 1, s);
    memcpy(got, y0, (size_t)ny * sizeof *got);
    lp_set_threads(2);
    lp_conv_winograd_forward(got, x, w, b, 1, s.N, s.C, s.H, s.W, s.O, NULL, NULL, 0);
    add_ok &= same_bits(got, ref, ny);
    /* 1 and 2 threads through the library's entry, bias */
    ref_forward(ref, x, w, b, 0, s);
    float *work = randv(lp_conv2d_workspace(s.N, s.C, s.O, 3, 3, s.H, s.W));
    for (int t = 1; t <= 2; t++) {
      lp_set_threads(t);
      lp_conv2d_forward(got, work, x, w, b, s.N, s.C, s.H, s.W, s.O, 3, 3, 1, 1);
      entry_ok &= same_bits(got, ref, ny);
      if (t == 2) thr_ok &= same_bits(got, ref, ny);
    }
    /* the input gradient: the forward of dout with the weights flipped
     * and transposed (conv_implicit.h), by Winograd's kernels when the
     * shape's O is 8 or more */
    if (s.O >= LP_WINOGRAD_MIN_C) {
      float *dy = randv(ny), *wt = malloc((size_t)nw * sizeof *wt);
      float *dref = malloc((size_t)nx * sizeof *dref), *dgot = randv(nx);
      for (int64_t o = 0; o < s.O; o++)
        for (int64_t c = 0; c < s.C; c++)
          for (int q = 0; q < 9; q++) wt[(c * s.O + o) * 9 + q] = w[(o * s.C + c) * 9 + 8 - q];
      shape sd = {s.N, s.O, s.H, s.W, s.C};
      ref_forward(dref, dy, wt, NULL, 0, sd);
      lp_conv2d_backward(dgot, NULL, NULL, work, dy, x, w, s.N, s.C, s.H, s.W, s.O, 3, 3, 1, 1, 1, 0);
      dx_ok &= same_bits(dgot, dref, nx);
      free(dy), free(wt), free(dref), free(dgot);
    }
    /* the weight gradient, added to what dweight holds */
    {
      float *dy = randv(ny), *dw0 = randv(nw);
      float *dref = malloc((size_t)nw * sizeof *dref), *dgot = malloc((size_t)nw * sizeof *dgot);
      memcpy(dref, dw0, (size_t)nw * sizeof *dref);
      ref_dweight(dref, dy, x, s);
      for (int t = 1; t <= 2; t++) {
        lp_set_threads(t);
        memcpy(dgot, dw0, (size_t)nw * sizeof *dgot);
        lp_conv2d_backward(NULL, dgot, NULL, work, dy, x, w, s.N, s.C, s.H, s.W, s.O, 3, 3, 1, 1, 1, 1);
        dwt_ok &= same_bits(dgot, dref, nw);
      }
      if (s.N * s.H * s.W * s.C * s.O <= 2000000) {
        double e = err_dweight(dref, dw0, dy, x, s);
        if (!(e <= worst_dw)) worst_dw = e;
      }
      free(dy), free(dw0), free(dref), free(dgot);
    }
    free(work), free(x), free(w), free(b), free(y0), free(ref), free(got);
  }
  tap_ok(taken, "the %d shapes are taken by the Winograd kernels on this machine", ns);
  tap_ok(bits_ok, "%d shapes, with and without bias, 1 and 2 threads: the bits of the definition", ns);
  tap_ok(add_ok, "add: out += the convolution, the bits of the definition");
  tap_ok(entry_ok && thr_ok, "lp_conv2d_forward takes them: the definition's bits at 1 and 2 threads");
  tap_ok(dx_ok, "lp_conv2d_backward's input gradient: the definition with the weights flipped and transposed");
  tap_ok(dwt_ok, "lp_conv2d_backward's weight gradient (added to dweight): the definition's bits at 1 and 2 threads");
  tap_ok(worst_dw < 1e-5, "the weight gradient within 1e-5 of double, relative to its terms' magnitudes (worst %g)", worst_dw);
  tap_ok(worst < 1e-5, "within 1e-5 of the convolution in double, relative to its terms' magnitudes (worst %g)", worst);

  /* NaN and inf reach exactly the outputs whose window holds them */
  {
    shape s = {1, 16, 9, 10, 16};
    int64_t P = s.H * s.W, nx = s.C * P, ny = s.O * P;
    float *x = randv(nx), *w = randv(s.O * s.C * 9), *b = randv(s.O);
    float *clean = malloc((size_t)ny * sizeof *clean), *got = malloc((size_t)ny * sizeof *got);
    lp_conv_winograd_forward(clean, x, w, b, 0, 1, s.C, s.H, s.W, s.O, NULL, NULL, 0);
    const int spots[][3] = {{3, 0, 0}, {7, 4, 5}, {15, 8, 9}, {0, 2, 7}, {9, 8, 0}};
    int nan_ok = 1, inf_ok = 1;
    for (int q = 0; q < 5; q++)
      for (int kind = 0; kind < 2; kind++) {
        int c = spots[q][0], i = spots[q][1], j = spots[q][2];
        float keep = x[c * P + i * s.W + j];
        x[c * P + i * s.W + j] = kind ? INFINITY : NAN;
        lp_conv_winograd_forward(got, x, w, b, 0, 1, s.C, s.H, s.W, s.O, NULL, NULL, 0);
        x[c * P + i * s.W + j] = keep;
        for (int64_t o = 0; o < s.O; o++)
          for (int64_t oi = 0; oi < s.H; oi++)
            for (int64_t oj = 0; oj < s.W; oj++) {
              int64_t e = o * P + oi * s.W + oj;
              int in = labs(oi - i) <= 1 && labs(oj - j) <= 1;
              float v = got[e];
              if (kind == 0) nan_ok &= in ? isnan(v) : same_bits(&v, &clean[e], 1);
              else inf_ok &= in ? !isfinite(v) : same_bits(&v, &clean[e], 1);
            }
      }
    tap_ok(nan_ok, "a NaN input: NaN in exactly the outputs whose window holds it, the others' bits unchanged");
    tap_ok(inf_ok, "an infinite input: non-finite in exactly those outputs, the others' bits unchanged");

    /* the weight gradient: a NaN in x's channel c makes dweight[:, c]
     * NaN, one in dout's channel o dweight[o]; every other weight keeps
     * its bits */
    {
      float *dy = randv(ny), *dw_clean = calloc((size_t)(s.O * s.C * 9), sizeof(float));
      float *dw = malloc((size_t)(s.O * s.C * 9) * sizeof *dw);
      int dwnan_ok = 1;
      lp_conv_winograd_dweight(dw_clean, dy, x, 1, s.C, s.H, s.W, s.O);
      for (int q = 0; q < 5; q++)
        for (int which = 0; which < 2; which++) {
          int ch = spots[q][0], i = spots[q][1], j = spots[q][2];
          float *t = which ? dy : x, keep = t[ch * P + i * s.W + j];
          t[ch * P + i * s.W + j] = NAN;
          memset(dw, 0, (size_t)(s.O * s.C * 9) * sizeof *dw);
          lp_conv_winograd_dweight(dw, dy, x, 1, s.C, s.H, s.W, s.O);
          t[ch * P + i * s.W + j] = keep;
          for (int64_t o = 0; o < s.O; o++)
            for (int64_t c = 0; c < s.C; c++)
              for (int k = 0; k < 9; k++) {
                int64_t e = (o * s.C + c) * 9 + k;
                int hit = which ? o == ch : c == ch;
                dwnan_ok &= hit ? isnan(dw[e]) : same_bits(&dw[e], &dw_clean[e], 1);
              }
        }
      tap_ok(dwnan_ok, "weight gradient: a NaN in x's channel c makes NaN of exactly dweight[:, c], one in dout's channel o of dweight[o]");
      free(dy), free(dw_clean), free(dw);
    }

    /* after + scratch: each sample seen by the callback, out not written */
    shape s2 = {4, 16, 7, 6, 24};
    int64_t P2 = s2.H * s2.W, n2 = s2.N * s2.O * P2;
    float *x2 = randv(s2.N * s2.C * P2), *w2 = randv(s2.O * s2.C * 9), *b2 = randv(s2.O);
    float *ref2 = malloc((size_t)n2 * sizeof *ref2), *out2 = randv(n2), *keep2 = malloc((size_t)n2 * sizeof *keep2);
    memcpy(keep2, out2, (size_t)n2 * sizeof *keep2);
    ref_forward(ref2, x2, w2, b2, 0, s2);
    catcher kc = {malloc((size_t)n2 * sizeof(float)), s2.O * P2};
    lp_set_threads(2);
    lp_conv_implicit_forward_then(out2, x2, w2, b2, s2.N, s2.C, s2.H, s2.W, s2.O, 3, 3, 1, catch_sample, &kc, 1);
    tap_ok(same_bits(kc.seen, ref2, n2) && same_bits(out2, keep2, n2),
           "after + scratch: the callback sees every sample's outputs, out is not written");

    /* off: the direct kernels' bits (a sum in another order) */
    lp_conv_winograd_use(0);
    int off = !lp_conv_winograd_ok(s.C, s.H, s.W, s.O, 3, 3, 1, 1);
    float *work = randv(lp_conv2d_workspace(1, s.C, s.O, 3, 3, s.H, s.W));
    lp_conv2d_forward(got, work, x, w, b, 1, s.C, s.H, s.W, s.O, 3, 3, 1, 1);
    lp_conv_winograd_use(1);
    tap_ok(off && !same_bits(got, clean, ny) && err_double(got, x, w, b, s) < 1e-5,
           "lp_conv_winograd_use(0): the shape goes to the direct kernels (other bits, as close to double)");
    free(work), free(x), free(w), free(b), free(clean), free(got);
    free(x2), free(w2), free(b2), free(ref2), free(out2), free(keep2), free(kc.seen);
  }
  /* more threads than the kept buffers' budget holds (56 sets of about
   * 630 KB against 32 MB): the sets past it are allocated for the call;
   * the same bits as 1 thread, twice in a row */
  {
    shape s = {56, 64, 24, 24, 64};
    int64_t P = s.H * s.W, nx = s.N * s.C * P, ny = s.N * s.O * P, nw = s.O * s.C * 9;
    float *x = randv(nx), *w = randv(nw), *b = randv(s.O), *dy = randv(ny);
    float *y1 = malloc((size_t)ny * sizeof *y1), *yn = malloc((size_t)ny * sizeof *yn);
    float *dw1 = calloc((size_t)nw, sizeof *dw1), *dwn = calloc((size_t)nw, sizeof *dwn);
    lp_set_threads(1);
    lp_conv_winograd_forward(y1, x, w, b, 0, s.N, s.C, s.H, s.W, s.O, NULL, NULL, 0);
    lp_conv_winograd_dweight(dw1, dy, x, s.N, s.C, s.H, s.W, s.O);
    int ok = 1;
    lp_set_threads(56);
    for (int r = 0; r < 2; r++) {
      memset(dwn, 0, (size_t)nw * sizeof *dwn);
      lp_conv_winograd_forward(yn, x, w, b, 0, s.N, s.C, s.H, s.W, s.O, NULL, NULL, 0);
      lp_conv_winograd_dweight(dwn, dy, x, s.N, s.C, s.H, s.W, s.O);
      ok &= same_bits(yn, y1, ny) && same_bits(dwn, dw1, nw);
    }
    lp_set_threads(2);
    tap_ok(ok, "56 threads, past the kept buffers' budget: the bits of 1 thread, twice in a row");
    free(x), free(w), free(b), free(dy), free(y1), free(yn), free(dw1), free(dwn);
  }
  return tap_done();
}
