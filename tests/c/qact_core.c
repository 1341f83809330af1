/* qact_core.c — the quantized-activation kernels against independent slow
 * references: rounding to codes for every preset (values, midpoints and
 * their neighbours), every table entry Q_out(f(value)) for every preset and
 * code, the ops-mode step sequences for all inputs of small formats, the
 * level gradient (hand sum and finite differences), the STE rules, MX block
 * scales (worked examples) and telemetry counts on a hand-made input. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/format.h"
#include "core/qact.h"
#include "tap.h"

/* ---- an independent reference format: values from E, M, bias --------- */

enum { R_FIN, R_FN, R_IEEE };
typedef struct {
  const char *spec;
  int E, M, bias, policy, inf_overflow;
  int n;               /* nonnegative finite magnitudes, increasing */
  double *mag;
  int *odd;            /* magnitude code parity (the tie rule)       */
  double max, ulpmax;
} rfmt;

static void rfmt_build(rfmt *r) {
  int nm = 1 << (r->E + r->M);
  r->mag = malloc(nm * sizeof *r->mag);
  r->odd = malloc(nm * sizeof *r->odd);
  r->n = 0;
  for (int c = 0; c < nm; c++) {
    int e = c >> r->M, m = c & ((1 << r->M) - 1);
    int top = e == (1 << r->E) - 1;
    if (r->policy == R_IEEE && top) continue;
    if (r->policy == R_FN && c == nm - 1) continue;
    double v = e == 0 ? ldexp((double)m, 1 - r->bias - r->M)
                      : ldexp((double)((1 << r->M) + m), e - r->bias - r->M);
    r->mag[r->n] = v, r->odd[r->n] = c & 1, r->n++;
  }
  r->max = r->mag[r->n - 1];
  int emax;
  frexp(r->max, &emax);
  r->ulpmax = ldexp(1.0, emax - 1 - r->M);
}

/* Round to nearest, ties to the even code; sat or IEEE overflow. */
static double rround(const rfmt *r, double x) {
  if (isnan(x)) return x;
  double a = fabs(x), m;
  if (a >= r->max) {
    if (r->inf_overflow && a >= r->max + r->ulpmax / 2)
      m = r->policy == R_IEEE ? INFINITY : NAN;
    else m = r->max;
  } else {
    int lo = 0, hi = r->n - 1;        /* mag[lo] <= a < mag[hi] */
    while (hi - lo > 1) {
      int mid = (lo + hi) / 2;
      if (r->mag[mid] <= a) lo = mid;
      else hi = mid;
    }
    double mid = (r->mag[lo] + r->mag[hi]) / 2;
    if (a < mid) m = r->mag[lo];
    else if (a > mid) m = r->mag[hi];
    else m = r->odd[lo] ? r->mag[hi] : r->mag[lo];
  }
  return copysign(m, x);
}

static double ref_f(int fn, double x) {
  switch (fn) {
  case LP_ACT_RELU:   /* a negative x gives -0: the zero keeps the input's sign */
    if (isnan(x) || x > 0) return x;
    return signbit(x) ? -0.0 : 0.0;
  case LP_ACT_SIGMOID: return x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x));
  case LP_ACT_TANH: return tanh(x);
  case LP_ACT_GELU: return 0.5 * x * (1 + erf(x / sqrt(2.0)));
  default: return NAN;
  }
}

static int same(double a, double b) {
  return (isnan(a) && isnan(b)) || (a == b && signbit(a) == signbit(b));
}

static rfmt presets[] = {
  { "fp8", 4, 3, 7, R_FN, 0, 0, 0, 0, 0, 0 },
  { "e5m2", 5, 2, 15, R_IEEE, 1, 0, 0, 0, 0, 0 },
  { "fp6", 3, 2, 3, R_FIN, 0, 0, 0, 0, 0, 0 },
  { "e2m3", 2, 3, 1, R_FIN, 0, 0, 0, 0, 0, 0 },
  { "fp4", 2, 1, 1, R_FIN, 0, 0, 0, 0, 0, 0 },
  { "fp3", 1, 1, 0, R_FIN, 0, 0, 0, 0, 0, 0 },
  { "fp2", 1, 0, 0, R_FIN, 0, 0, 0, 0, 0, 0 },
  { "bf16", 8, 7, 127, R_IEEE, 1, 0, 0, 0, 0, 0 },
  { "fp16", 5, 10, 15, R_IEEE, 1, 0, 0, 0, 0, 0 },
};
#define NPRESETS (sizeof presets / sizeof *presets)

static void test_codes_and_tables(void) {
  const int fns[] = { LP_ACT_RELU, LP_ACT_SIGMOID, LP_ACT_TANH, LP_ACT_GELU };
  for (size_t p = 0; p < NPRESETS; p++) {
    rfmt *r = &presets[p];
    rfmt_build(r);
    lp_format f;
    char err[128];
    if (!tap_ok(lp_format_parse(&f, r->spec, err, sizeof err) == LP_OK, "%s parses", r->spec)) continue;
    lp_qz q;
    tap_ok(lp_qz_init(&q, &f) == LP_OK && q.fast, "%s: fast code search", r->spec);
    /* rounding: every value, every midpoint and its two neighbours, both signs */
    int bad = 0;
    for (int s = 0; s < 2; s++)
      for (int i = 0; i < r->n; i++) {
        double v = s ? -r->mag[i] : r->mag[i];
        double probes[5] = { v, v, v, v, v };
        if (i + 1 < r->n) {
          double mid = (r->mag[i] + r->mag[i + 1]) / 2 * (s ? -1 : 1);
          probes[1] = mid, probes[2] = nextafter(mid, INFINITY), probes[3] = nextafter(mid, -INFINITY);
        }
        probes[4] = (s ? -1 : 1) * (r->mag[i] * 1.0000001 + 1e-300);
        for (int k = 0; k < 5; k++) {
          uint32_t c = lp_qz_code(&q, probes[k], 0);
          double got = q.val[c], want = rround(r, probes[k]);
          if (!same(got, want)) {
            if (bad++ < 3) tap_diag("%s: Q(%.17g) = %.17g, want %.17g", r->spec, probes[k], got, want);
          }
        }
      }
    double big[] = { 1e30, -1e30, INFINITY, -INFINITY, r->max + r->ulpmax / 2, -(r->max + r->ulpmax / 4) };
    for (size_t k = 0; k < sizeof big / sizeof *big; k++)
      if (!same(q.val[lp_qz_code(&q, big[k], 0)], rround(r, big[k]))) {
        if (bad++ < 3) tap_diag("%s: Q(%g) wrong", r->spec, big[k]);
      }
    tap_ok(bad == 0, "%s: codes of values, midpoints, neighbours and overflow (%d values)", r->spec, r->n);
    tap_ok(q.val[lp_qz_code(&q, NAN, 0)] != q.val[lp_qz_code(&q, NAN, 0)], "%s: NaN in, NaN out", r->spec);

    /* binary32 inputs (the lookup's one-load path) agree with the double
     * path: values, midpoints and their float neighbours, specials */
    {
      size_t m = 0, cap = (size_t)r->n * 12 + 16;
      float *xf = malloc(cap * sizeof *xf), *yf = malloc(cap * sizeof *yf), *Tz = malloc(q.ncodes * sizeof *Tz);
      uint32_t *cf = malloc(cap * sizeof *cf);
      for (int sg = 0; sg < 2; sg++)
        for (int i = 0; i < r->n; i++) {
          float v = (float)(sg ? -r->mag[i] : r->mag[i]);
          xf[m++] = v, xf[m++] = nextafterf(v, INFINITY), xf[m++] = nextafterf(v, -INFINITY);
          if (i + 1 < r->n) {
            float mid = (float)((r->mag[i] + r->mag[i + 1]) / 2 * (sg ? -1 : 1));
            xf[m++] = mid, xf[m++] = nextafterf(mid, INFINITY), xf[m++] = nextafterf(mid, -INFINITY);
          }
        }
      const float sp[] = { 0.0f, -0.0f, INFINITY, -INFINITY, NAN, 1e-45f, -1e-45f, 3e38f, -3e38f, 1e-20f };
      for (size_t k = 0; k < sizeof sp / sizeof *sp; k++) xf[m++] = sp[k];
      for (uint32_t c = 0; c < q.ncodes; c++) Tz[c] = (float)c;
      lp_qact_lookup(yf, cf, 4, xf, m, &q, 1.0, Tz, NULL, 0);
      int fb_bad = 0;
      for (size_t i = 0; i < m; i++)
        if (cf[i] != lp_qz_code(&q, (double)xf[i], 0) && fb_bad++ < 3)
          tap_diag("%s: float path code of %.9g is %u, double path %u", r->spec, xf[i], cf[i],
                   lp_qz_code(&q, (double)xf[i], 0));
      tap_ok(fb_bad == 0, "%s: the binary32 lookup path agrees with the double path (%zu inputs)", r->spec, m);
      if (q.ncodes < 255) {   /* the one-byte hot loop */
        uint8_t *c8 = malloc(m);
        lp_qact_lookup(yf, c8, 1, xf, m, &q, 1.0, Tz, NULL, 0);
        int b8 = 0;
        for (size_t i = 0; i < m; i++) b8 += c8[i] != lp_qz_code(&q, (double)xf[i], 0);
        tap_ok(b8 == 0, "%s: the one-byte lookup loop agrees too", r->spec);
        free(c8);
      }
      free(xf), free(yf), free(Tz), free(cf);
    }

    /* every table entry equals Q_out(f(value)) */
    float *T = malloc(q.ncodes * sizeof *T);
    for (size_t k = 0; k < sizeof fns / sizeof *fns; k++) {
      lp_qact_table(T, NULL, &q, &q, fns[k], 0, LP_QMODE_LUT, 1, 1, NULL);
      int tb = 0;
      for (uint32_t c = 0; c < q.ncodes; c++) {
        double v = lp_decode(&f, c);
        double want = isnan(v) ? NAN : rround(r, ref_f(fns[k], v));
        if (!same(T[c], want) && tb++ < 3)
          tap_diag("%s %s code %u (%g): T = %.9g, want %.9g", r->spec, lp_act_name(fns[k]), c, v, T[c], want);
      }
      tap_ok(tb == 0, "%s %s: all %u table entries equal Q(f(value))", r->spec, lp_act_name(fns[k]), q.ncodes);
    }
    free(T);
    lp_qz_free(&q);
  }
}

/* ---- ops mode: a step-by-step reference ------------------------------- */

static const rfmt *OR;
static double Rr(double v) { return rround(OR, v); }
static double ref_sig(double x) { return Rr(1 / Rr(1 + Rr(exp(-x)))); }
static double ref_tanh(double x) {
  double e = Rr(exp(Rr(-2 * x)));
  return Rr(Rr(1 - e) / Rr(1 + e));
}
static double ref_sp(double x) { return Rr(log(Rr(1 + Rr(exp(x))))); }
static double ref_ops(int fn, double x) {
  switch (fn) {
  case LP_ACT_SIGMOID: return ref_sig(x);
  case LP_ACT_TANH: return ref_tanh(x);
  case LP_ACT_SOFTPLUS: return ref_sp(x);
  case LP_ACT_SILU: return Rr(x * ref_sig(x));
  case LP_ACT_ELU: return x > 0 ? Rr(x) : Rr(1.0 * Rr(Rr(exp(x)) - 1));
  case LP_ACT_GELU: return Rr(0.5 * Rr(x * Rr(1 + Rr(erf(Rr(x * 0.70710678118654752440))))));
  case LP_ACT_MISH: return Rr(x * ref_tanh(ref_sp(x)));
  default: return NAN;
  }
}

static void test_ops(void) {
  const int fns[] = { LP_ACT_SIGMOID, LP_ACT_TANH, LP_ACT_GELU, LP_ACT_SILU,
                      LP_ACT_SOFTPLUS, LP_ACT_ELU, LP_ACT_MISH };
  const int which[] = { 0, 2, 3, 4, 5, 6 };  /* fp8 fp6 e2m3 fp4 fp3 fp2 */
  for (size_t w = 0; w < sizeof which / sizeof *which; w++) {
    rfmt *r = &presets[which[w]];
    OR = r;
    lp_format f;
    char err[128];
    lp_format_parse(&f, r->spec, err, sizeof err);
    lp_qz q;
    lp_qz_init(&q, &f);
    float *T = malloc(q.ncodes * sizeof *T);
    for (size_t k = 0; k < sizeof fns / sizeof *fns; k++) {
      lp_qact_table(T, NULL, &q, &q, fns[k], lp_act_default_alpha(fns[k]), LP_QMODE_OPS, 1, 1, NULL);
      int bad = 0;
      for (uint32_t c = 0; c < q.ncodes; c++) {
        double v = lp_decode(&f, c);
        double want = isnan(v) ? NAN : ref_ops(fns[k], v);
        if (!same(T[c], want) && bad++ < 3)
          tap_diag("ops %s %s at %g: %.9g, want %.9g", r->spec, lp_act_name(fns[k]), v, T[c], want);
      }
      tap_ok(bad == 0, "ops %s %s: all %u inputs match the step-by-step reference", r->spec,
             lp_act_name(fns[k]), q.ncodes);
    }
    free(T);
    lp_qz_free(&q);
  }
  /* a hand-worked case: sigmoid(1) in fp4: exp(-1) = 0.3679 -> 0.5,
   * 1 + 0.5 = 1.5, 1 / 1.5 = 0.667 -> 0.5 (emulate gives R(0.731) = 0.5 too);
   * sigmoid(-2) in fp4: exp(2) = 7.39 -> 6, 1 + 6 = 7 -> 6, 1/6 -> 0 */
  lp_format f;
  char err[64];
  lp_format_parse(&f, "fp4", err, sizeof err);
  tap_ok(lp_act_ops(LP_ACT_SIGMOID, 1.0, 0, &f) == 0.5, "ops fp4 sigmoid(1) = 0.5 by hand");
  tap_ok(lp_act_ops(LP_ACT_SIGMOID, -2.0, 0, &f) == 0.0, "ops fp4 sigmoid(-2) = 0 by hand (emulate: 0)");
  tap_ok(lp_act_ops(LP_ACT_SIGMOID, 0.0, 0, &f) == 0.5, "ops fp4 sigmoid(0) = 1/R(2) = 0.5");
}

/* ---- learnable levels: the gradient ----------------------------------- */

static double loss(const float *y, const float *w, size_t n) {
  double s = 0;
  for (size_t i = 0; i < n; i++) s += (double)w[i] * y[i];
  return s;
}

static void test_level_grad(void) {
  lp_format f;
  char err[64];
  lp_format_parse(&f, "fp4", err, sizeof err);
  lp_qz q;
  lp_qz_init(&q, &f);
  /* fp4 codes: 0->0 1->0.5 2->1 3->1.5 4->2 5->3 6->4 7->6, +8 negative */
  const float x[] = { 0.9f, 1.9f, 1.1f, -0.5f, 5.5f, 1.4f, NAN, 0.2f };
  const float w[] = { 0.5f, 1.0f, 0.25f, -1.0f, 2.0f, 0.125f, 3.0f, 4.0f };
  size_t n = 8;
  float T[16], y[8], dT[16] = { 0 };
  uint8_t codes[8];
  tap_ok(lp_qact_code_width(16) == 1 && lp_qact_code_width(256) == 2 && lp_qact_code_width(65536) == 4,
         "code widths: 1 byte up to 255, 2 up to 65535, else 4");
  lp_qact_table(T, NULL, &q, &q, LP_ACT_RELU, 0, LP_QMODE_LUT, 1, 1, NULL);
  lp_qact_lookup(y, codes, 1, x, n, &q, 1, T, NULL, 0);
  const uint8_t want_codes[] = { 2, 4, 2, 9, 7, 3, 16, 0 };
  int ok = 1;
  for (size_t i = 0; i < n; i++) ok &= codes[i] == want_codes[i];
  tap_ok(ok, "codes of 0.9 1.9 1.1 -0.5 5.5 1.4 NaN 0.2 are 2 4 2 9 7 3 16(NaN) 0");
  tap_ok(y[0] == 1 && y[1] == 2 && y[3] == 0 && y[4] == 6 && isnan(y[6]), "relu lut outputs");
  lp_qact_scatter(dT, 16, w, codes, 1, n, 1.0);
  float want[16] = { 0 };
  want[2] = 0.75f, want[4] = 1.0f, want[9] = -1.0f, want[7] = 2.0f, want[3] = 0.125f, want[0] = 4.0f;
  ok = 1;
  for (int k = 0; k < 16; k++) ok &= dT[k] == want[k];
  tap_ok(ok, "dT is the hand-computed sum of upstream grads per entry (NaN skipped)");
  /* finite differences of L = sum w_i y_i (NaN element dropped) */
  float w2[8];
  memcpy(w2, w, sizeof w2);
  w2[6] = 0;
  float dT2[16] = { 0 };
  lp_qact_scatter(dT2, 16, w2, codes, 1, n, 1.0);
  int fd_ok = 1;
  for (int k = 0; k < 16; k++) {
    float Tp[16], Tm[16], yp[8], ym[8];
    memcpy(Tp, T, sizeof T), memcpy(Tm, T, sizeof T);
    Tp[k] += 0.25f, Tm[k] -= 0.25f;
    lp_qact_lookup(yp, NULL, 1, x, n, &q, 1, Tp, NULL, 0);
    lp_qact_lookup(ym, NULL, 1, x, n, &q, 1, Tm, NULL, 0);
    yp[6] = ym[6] = 0;
    double fd = (loss(yp, w2, n) - loss(ym, w2, n)) / 0.5;
    if (fabs(fd - dT2[k]) > 1e-6) fd_ok = 0;
  }
  tap_ok(fd_ok, "dT matches central finite differences of the loss for all 16 entries");
  /* mult: emulate's levels scale by s_o */
  float dT3[16] = { 0 };
  lp_qact_scatter(dT3, 16, w, codes, 1, n, 0.5);
  tap_ok(dT3[2] == 0.375f, "scatter multiplies by s_o");
  /* a large input: chunked sums equal the serial sum, for every width, and
   * the fused backward gives the same dT and the STE's dx in one pass */
  size_t big = 300000;
  float *gx = malloc(big * sizeof *gx), *xx = malloc(big * sizeof *xx), *dxx = malloc(big * sizeof *dxx);
  uint8_t *c1 = malloc(big);
  uint16_t *c2 = malloc(big * 2);
  uint32_t *c4 = malloc(big * 4);
  double serial[16] = { 0 };
  for (size_t i = 0; i < big; i++) {
    gx[i] = (float)((i % 7) * 0.125 - 0.25), c1[i] = (uint8_t)(i % 13), c2[i] = c1[i], c4[i] = c1[i];
    xx[i] = (float)((double)(i % 11) - 5.0);
    serial[i % 13] += gx[i];
  }
  float dTb[16] = { 0 }, dTc[16] = { 0 }, dTd[16] = { 0 }, dTe[16] = { 0 };
  lp_qact_scatter(dTb, 16, gx, c1, 1, big, 1.0);
  lp_qact_scatter(dTc, 16, gx, c2, 2, big, 1.0);
  lp_qact_scatter(dTd, 16, gx, c4, 4, big, 1.0);
  lp_qact_backward(dxx, dTe, 16, 1.0, gx, xx, c1, 1, big, LP_STE_FPRIME, LP_ACT_RELU, 0, -6, 6, NULL, NULL, 0);
  ok = 1;
  for (int k = 0; k < 16; k++) ok &= dTb[k] == (float)serial[k] && dTc[k] == dTb[k] && dTd[k] == dTb[k] && dTe[k] == dTb[k];
  tap_ok(ok, "chunked level sums over 300000 elements equal the serial sum (widths 1, 2, 4; fused)");
  int dok = 1;
  for (size_t i = 0; i < big; i++) dok &= dxx[i] == (xx[i] > 0 ? gx[i] : 0.0f);
  tap_ok(dok, "fused backward: dx = g * relu'(x)");
  free(gx), free(xx), free(dxx), free(c1), free(c2), free(c4);
  lp_qz_free(&q);
}

/* ---- STE rules --------------------------------------------------------- */

static void test_ste(void) {
  const float x[] = { -7.0f, -1.0f, 0.5f, 2.0f, 6.0f, 6.5f };
  const float g[] = { 1.0f, 2.0f, 4.0f, 1.0f, 1.0f, 1.0f };
  float dx[6];
  lp_qact_ste(dx, g, x, 6, LP_STE_IDENTITY, LP_ACT_SIGMOID, 0, -6, 6, NULL, NULL, 0);
  tap_ok(dx[0] == 1 && dx[1] == 2 && dx[2] == 4 && dx[5] == 1, "identity: dx = g");
  lp_qact_ste(dx, g, x, 6, LP_STE_FPRIME, LP_ACT_TANH, 0, -6, 6, NULL, NULL, 0);
  tap_ok(dx[1] == (float)(2 * (1 - tanh(1.0) * tanh(1.0))) && dx[2] == (float)(4 * (1 - tanh(0.5) * tanh(0.5))),
         "fprime: g * tanh'(x) at the unquantized x");
  lp_qact_ste(dx, g, x, 6, LP_STE_FPRIME, LP_ACT_RELU, 0, -6, 6, NULL, NULL, 0);
  tap_ok(dx[0] == 0 && dx[1] == 0 && dx[2] == 4 && dx[5] == 1, "fprime relu: 0 below 0, g above");
  lp_qact_ste(dx, g, x, 6, LP_STE_CLIPPED, LP_ACT_RELU, 0, -6, 6, NULL, NULL, 0);
  tap_ok(dx[0] == 0 && dx[2] == 4 && dx[4] == 1 && dx[5] == 0, "clipped: relu' inside [-6, 6], 0 outside");
  /* staircase through (0,0) (1,1) (2,4) (3,3): slopes 1, 3, -1 */
  const double px[] = { 0, 1, 2, 3 }, py[] = { 0, 1, 4, 3 };
  const float xs[] = { -0.5f, 0.5f, 1.0f, 1.5f, 2.5f, 3.0f, 3.5f, NAN };
  const float gs[] = { 1, 1, 1, 2, 1, 1, 1, 1 };
  float ds[8];
  lp_qact_ste(ds, gs, xs, 8, LP_STE_STAIRCASE, LP_ACT_RELU, 0, 0, 0, px, py, 4);
  tap_ok(ds[0] == 0 && ds[1] == 1 && ds[2] == 3 && ds[3] == 6 && ds[4] == -1 && ds[5] == -1 &&
         ds[6] == 0 && isnan(ds[7]),
         "staircase: slopes of the interpolation, 0 outside, NaN at NaN");
  /* a NaN input gives a NaN gradient under every rule and for every
   * function; a number keeps its gradient (the same bits in the vector
   * lanes and the scalar tail: 9 elements, NaN in a lane and in the tail) */
  const int rules[] = { LP_STE_FPRIME, LP_STE_IDENTITY, LP_STE_CLIPPED, LP_STE_STAIRCASE };
  float xn[9] = { 1, NAN, -1, 0.0f, -0.0f, 2, 0.5f, 3, NAN }, gn[9], dn[9];
  for (int k = 0; k < 9; k++) gn[k] = -1.5f;
  int nan_ok = 1;
  for (int r = 0; r < 4; r++)
    for (int fn = 0; fn < LP_ACT_COUNT; fn++) {
      lp_qact_ste(dn, gn, xn, 9, rules[r], fn, lp_act_default_alpha(fn), -6, 6, px, py, 4);
      if (!isnan(dn[1]) || !isnan(dn[8]) || isnan(dn[0]) || isnan(dn[2])) {
        nan_ok = 0;
        tap_diag("rule %d %s: dx = %g %g %g %g", rules[r], lp_act_name(fn), dn[0], dn[1], dn[2], dn[8]);
      }
    }
  tap_ok(nan_ok, "every rule, every function: NaN x gives NaN dx, numbers give numbers");
  /* relu' at +-0 is 0 in every lane: dx = g * 0 = -0 for g < 0, the same
   * whether the element falls in a vector lane (index 3, 4) or not */
  float xz[11], gz[11], dz[11];
  for (int k = 0; k < 11; k++) xz[k] = (k % 2) ? -0.0f : 0.0f, gz[k] = -2.0f;
  lp_qact_ste(dz, gz, xz, 11, LP_STE_FPRIME, LP_ACT_RELU, 0, -6, 6, NULL, NULL, 0);
  int z_ok = 1;
  for (int k = 0; k < 11; k++) z_ok &= dz[k] == 0 && signbit(dz[k]);
  tap_ok(z_ok, "relu STE at +-0: g * 0 = -0 for g = -2 in every position (lanes and tail)");
}

/* ---- MX block scales --------------------------------------------------- */

static void test_mx(void) {
  /* FP4 E2M1: max 6 = 1.5 * 2^2, emax_elem = 2 */
  tap_ok(lp_mx_scale(6, 6, LP_MX_FLOOR) == 1, "mx floor: amax 6 -> X = 2^(2-2) = 1");
  tap_ok(lp_mx_scale(4, 6, LP_MX_FLOOR) == 1, "mx floor: amax 4 (a power of two) -> X = 1");
  tap_ok(lp_mx_scale(7, 6, LP_MX_FLOOR) == 1, "mx floor: amax 7 -> X = 1 (7 clips to 6)");
  tap_ok(lp_mx_scale(8, 6, LP_MX_FLOOR) == 2, "mx floor: amax 8 -> X = 2");
  tap_ok(lp_mx_scale(0.1, 6, LP_MX_FLOOR) == 0.015625, "mx floor: amax 0.1 -> 2^(-4-2)");
  tap_ok(lp_mx_scale(7, 6, LP_MX_CEIL) == 2, "mx ceil: amax 7 -> X = 2 (no clipping)");
  tap_ok(lp_mx_scale(6, 6, LP_MX_CEIL) == 1, "mx ceil: amax 6 -> X = 1");
  tap_ok(lp_mx_scale(4, 6, LP_MX_CEIL) == 1, "mx ceil: amax 4 -> X = 1");
  tap_ok(lp_mx_scale(0, 6, LP_MX_FLOOR) == ldexp(1, -127), "mx: zero block -> smallest E8M0 2^-127");
  tap_ok(isnan(lp_mx_scale(NAN, 6, LP_MX_FLOOR)), "mx: NaN block -> NaN scale");
  tap_ok(lp_mx_scale(1e300, 6, LP_MX_FLOOR) == ldexp(1, 127), "mx: clamped to 2^127");
  /* FP8 E4M3: max 448 = 1.75 * 2^8 */
  tap_ok(lp_mx_scale(1, 448, LP_MX_FLOOR) == ldexp(1, -8), "mx e4m3: amax 1 -> 2^-8");
  /* a (2, 64) tensor in MX fp4 blocks of 32 along the last axis, identity f:
   * block 0 amax 8 -> X 2 (9/2 -> 4.5 -> 4 (tie to even) -> 8; 8/2 = 4);
   * block 1 all zero; blocks 2, 3 amax 1 -> X 2^-2 */
  lp_format f;
  char err[64];
  lp_format_parse(&f, "fp4", err, sizeof err);
  lp_qz q, qid;
  lp_qz_init(&q, &f);
  lp_format fid;
  lp_format_parse(&fid, "fp32", err, sizeof err);
  lp_qz_init(&qid, &fid);
  float x[128], y[128];
  for (int i = 0; i < 128; i++) x[i] = 0;
  x[0] = 8, x[1] = 3.1f, x[2] = -0.6f, x[3] = 5.1f;
  for (int i = 64; i < 128; i++) x[i] = (float)((i % 8) / 8.0);   /* 0 .. 0.875 */
  x[64 + 7] = 1.0f, x[96 + 7] = 1.0f;
  lp_qgroups gr = { 2, 64, 1, 32 };
  tap_ok(lp_qgroups_count(&gr) == 4 && lp_qgroups_of(&gr, 33) == 1 && lp_qgroups_of(&gr, 64) == 2,
         "mx groups: 4 blocks of 32");
  double amax[4], si[4], so[4];
  lp_qact_group_amax(amax, x, 128, &gr);
  for (int k = 0; k < 4; k++) si[k] = lp_mx_scale(amax[k], 6, LP_MX_FLOOR), so[k] = 1;
  tap_ok(si[0] == 2 && si[1] == ldexp(1, -127) && si[2] == 0.25 && si[3] == 0.25, "block scales 2, 2^-127, 1/4, 1/4");
  lp_qact_direct(y, NULL, 1, x, 128, &q, &qid, LP_ACT_IDENTITY, 0, LP_QMODE_EMULATE, &gr, si, so, NULL, 0);
  /* 3.1/2 = 1.55 -> 1.5 -> 3; -0.6/2 = -0.3 -> -0.5 -> -1; 5.1/2 = 2.55 -> 3 -> 6 */
  tap_ok(y[0] == 8 && y[1] == 3 && y[2] == -1 && y[3] == 6, "block 0: 8 3.1 -0.6 5.1 -> 8 3 -1 6");
  int zero = 1;
  for (int i = 32; i < 64; i++) zero &= y[i] == 0;
  tap_ok(zero, "zero block stays zero");
  /* block 2: values k/8 over X = 1/4 -> k/2: 0, .5, 1, 1.5, 2, 2.5->2, 3, (1.0 -> 4) */
  tap_ok(y[64] == 0 && y[65] == 0.125f && y[66] == 0.25f && y[69] == 0.5f && y[70] == 0.75f && y[71] == 1.0f,
         "block 2: k/8 -> 0 .125 .25 ... (0.625 -> 0.5 by ties-to-even) 1");
  lp_qz_free(&q);
  lp_qz_free(&qid);
}

/* ---- telemetry ----------------------------------------------------------- */

static void test_telemetry(void) {
  lp_format f;
  char err[64];
  lp_format_parse(&f, "fp4", err, sizeof err);
  lp_qz q;
  lp_qz_init(&q, &f);
  const float x[] = { 0.0f, 0.1f, 7.0f, -100.0f, NAN, 1.0f, 0.3f, -0.2f };
  lp_qstats st = { 0, 0, 0, 0 };
  uint64_t usage[17] = { 0 };
  lp_qact_telemetry(&st, usage, x, 8, &q, 1.0, 0);
  tap_ok(st.n == 8 && st.sat == 2 && st.under == 2 && st.nan == 1,
         "telemetry: n 8, saturations 2, underflows 2, NaNs 1 (got %llu %llu %llu %llu)",
         (unsigned long long)st.n, (unsigned long long)st.sat, (unsigned long long)st.under,
         (unsigned long long)st.nan);
  tap_ok(usage[0] == 2 && usage[8] == 1 && usage[7] == 1 && usage[15] == 1 && usage[16] == 1 &&
         usage[2] == 1 && usage[1] == 1,
         "usage: +0 twice, -0, 6, -6, NaN, 1, 0.5 once each");
  lp_qact_telemetry(&st, NULL, x, 8, &q, 1.0, 0);
  tap_ok(st.n == 16 && st.sat == 4, "telemetry accumulates");
  lp_qz_free(&q);
}

/* ---- functions and consistency ---------------------------------------- */

static void test_functions(void) {
  tap_ok(lp_act_from_name("gelu") == LP_ACT_GELU && lp_act_from_name("nope") == -1, "names");
  int ok = 1;
  for (int fn = 0; fn < LP_ACT_COUNT; fn++)
    for (double x = -4.05; x < 4; x += 0.3) {
      double a = lp_act_default_alpha(fn), h = 1e-6;
      double fd = (lp_act_value(fn, x + h, a) - lp_act_value(fn, x - h, a)) / (2 * h);
      if (fabs(fd - lp_act_deriv(fn, x, a)) > 1e-5) {
        ok = 0;
        tap_diag("%s'(%g): %g vs fd %g", lp_act_name(fn), x, lp_act_deriv(fn, x, a), fd);
      }
    }
  tap_ok(ok, "every f' matches finite differences away from kinks");
  tap_ok(lp_act_value(LP_ACT_HARDSIGMOID, 1.5, 0) == 0.75 && lp_act_value(LP_ACT_RELU6, 7, 0) == 6 &&
         lp_act_value(LP_ACT_LEAKY_RELU, -2, 0.01) == -0.02, "hardsigmoid, relu6, leaky_relu values");
  /* direct path equals the table path for a finite input format */
  lp_format f;
  char err[64];
  lp_format_parse(&f, "fp6", err, sizeof err);
  lp_qz q;
  lp_qz_init(&q, &f);
  float T[64], x[1000], y1[1000], y2[1000];
  uint8_t c1[1000], c2[1000];
  uint32_t map[65];
  for (int i = 0; i < 1000; i++) x[i] = (float)((i - 500) * 0.037);
  double one = 1;
  lp_qact_table(T, map, &q, &q, LP_ACT_GELU, 0, LP_QMODE_EMULATE, 1, 1, NULL);
  lp_qact_lookup(y1, c1, 1, x, 1000, &q, 1, T, map, 0);
  lp_qact_direct(y2, c2, 1, x, 1000, &q, &q, LP_ACT_GELU, 0, LP_QMODE_EMULATE, NULL, &one, &one, NULL, 0);
  ok = 1;
  for (int i = 0; i < 1000; i++) ok &= y1[i] == y2[i] && c1[i] == c2[i];
  tap_ok(ok, "emulate: the table path equals the per-element path (values and output codes)");
  lp_qz_free(&q);
}

/* ---- max |f| over an interval (the output-side scales) ----------------- */

static void test_absmax(void) {
  /* silu's minimum, by hand: silu'(x) = 0 <=> x = -(1 + e^x), and there
   * silu(x) = x * sigmoid(x) = x + 1 = -e^x; the fixed point by iteration */
  double xs = -1;
  for (int i = 0; i < 200; i++) xs = -1 - exp(xs);
  double want = exp(xs);   /* 0.27846454276107... */
  double got = lp_act_absmax(LP_ACT_SILU, 0, -2, -1);
  tap_ok(fabs(got - want) <= 1e-15, "silu: max |f| over [-2, -1] is its minimum's -e^x* = %.17g (got %.17g)", want, got);
  tap_ok(fabs(lp_act_absmax(LP_ACT_SILU, 0, -2, 2) - lp_act_value(LP_ACT_SILU, 2, 0)) == 0,
         "silu over [-2, 2]: the upper end");
  tap_ok(lp_act_absmax(LP_ACT_TANH, 0, -3, 1) == tanh(3.0), "tanh over [-3, 1]: |f(-3)|");
  tap_ok(lp_act_absmax(LP_ACT_RELU, 0, -3, -1) == 0 && lp_act_absmax(LP_ACT_SIGMOID, 0, -1, 1) == 1 / (1 + exp(-1.0)),
         "relu over [-3, -1] is 0; sigmoid over [-1, 1] is sigmoid(1)");
  tap_ok(isnan(lp_act_absmax(LP_ACT_GELU, 0, 1, -1)) && isnan(lp_act_absmax(LP_ACT_GELU, 0, NAN, 1)),
         "an empty or NaN interval gives NaN");
  /* every function over intervals that hold or miss the minima, against a
   * dense grid: never below the grid's max, and above it only by the grid's
   * own error at a flat minimum (h^2 f''/2, h = width / 10^5) */
  static const double iv[][2] = { { -0.1, 0.1 }, { -0.5, 0.5 }, { -1, 1 }, { -2, 2 }, { -5, 5 }, { -2, -0.5 },
                                  { -1.5, -1 }, { -1.3, -1.2 }, { 0.3, 2 }, { -5, -4 }, { -0.8, -0.7 } };
  int ok = 1;
  for (int fn = 0; fn < LP_ACT_COUNT; fn++) {
    double a = lp_act_default_alpha(fn);
    for (size_t k = 0; k < sizeof iv / sizeof iv[0]; k++) {
      double lo = iv[k][0], hi = iv[k][1], dense = 0;
      for (int i = 0; i <= 100000; i++) dense = fmax(dense, fabs(lp_act_value(fn, lo + (hi - lo) * i / 100000.0, a)));
      double m = lp_act_absmax(fn, a, lo, hi);
      if (!(m >= dense && m - dense <= 1e-9)) {
        ok = 0;
        tap_diag("%s over [%g, %g]: %.17g, dense grid %.17g", lp_act_name(fn), lo, hi, m, dense);
      }
    }
  }
  tap_ok(ok, "every function over 11 intervals: exact against a dense grid of 10^5 + 1 points");
  /* the grouped output scale of gelu uses it: amax 0.8 -> max |gelu| over
   * [-0.8, 0.8] is gelu(0.8) (the minimum, at -0.75, is smaller) */
  double am = 0.8, si, so;
  lp_qact_group_scales(&si, &so, &am, 1, LP_ACT_GELU, 0, 6, 6, 0, 0, 1, 1);
  tap_ok(so == lp_act_value(LP_ACT_GELU, 0.8, 0) / 6 && si == 0.8 / 6, "per-channel scales of gelu at amax 0.8");
}

int main(void) {
  test_functions();
  test_absmax();
  test_codes_and_tables();
  test_ops();
  test_level_grad();
  test_ste();
  test_mx();
  test_telemetry();
  for (size_t p = 0; p < NPRESETS; p++) free(presets[p].mag), free(presets[p].odd);
  return tap_done();
}
