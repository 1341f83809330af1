/* format_exact.c — lp_round and lp_quantize against a slow reference.
 *
 * The reference below knows nothing of the kernels: it lists a format's
 * magnitudes by code (the definition of the code → value map, continued
 * one step past max, as an unbounded exponent range would),
 * finds the bracket lo <= |x| < hi by binary search with exact double
 * comparisons, and decides each mode from exact differences (lo, hi and
 * x are doubles whose sums and differences here are exact). Inputs: every
 * value, every tie between neighbours with its double and binary32
 * neighbours, random points in each bracket, the regions around max,
 * overflow, the smallest subnormal and half of it, ±0, ±inf, NaN; for the
 * presets and a spread of eXmY in every mode. Then lp_quantize (float32
 * path, scales, 1 vs 2 threads) against lp_round. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/format.h"
#include "core/parallel.h"
#include "core/rng.h"
#include "tap.h"

/* ------------------------------------------------------------ reference */

typedef struct {
  const lp_format *f;
  uint64_t nvalid;      /* valid magnitude codes 0..maxcode, plus one past max */
} ref;

/* j-th valid magnitude code (nosub skips 1 .. 2^M - 1). */
static uint64_t ref_code(const ref *r, uint64_t j) {
  const lp_format *f = r->f;
  if (f->subnormals || j == 0) return j;
  return (UINT64_C(1) << f->mbits) + j - 1;
}

/* The value of magnitude code c by the definition of the encoding; codes
 * past maxcode continue the same pattern (unbounded exponent). */
static double ref_value(const lp_format *f, uint64_t c) {
  if (f->policy == LP_E8M0) return ldexp(1.0, (int)c - f->bias);   /* OCP MX E8M0: 2^(c - bias) */
  int M = f->mbits;
  uint64_t m1 = UINT64_C(1) << M;
  if (f->ebits == 0 || c < m1) return ldexp((double)c, 1 - f->bias - M);
  uint64_t e = c >> M, m = c & (m1 - 1);
  return ldexp((double)(m1 + m), (int)e - f->bias - M);
}

static double ref_overflow(const lp_format *f, lp_rmode mode, int neg) {
  double big = f->policy == LP_IEEE ? INFINITY : NAN, r;   /* no inf: NaN */
  if (f->overflow == LP_SAT) r = f->maxval;
  else if (mode == LP_RTZ || mode == LP_RNO) r = f->maxval;
  else if (mode == LP_RUP) r = neg ? f->maxval : big;
  else if (mode == LP_RDN) r = neg ? big : f->maxval;
  else r = big;
  return neg ? -r : r;
}

static uint32_t ref_word(const lp_format *f, uint64_t ctr) {
  uint64_t r = lp_rand64(lp_rng_key(f->seed, 0), ctr >> 1);
  return (ctr & 1) ? (uint32_t)(r >> 32) : (uint32_t)r;
}

static double ref_round(const ref *r, double x, uint64_t ctr) {
  const lp_format *f = r->f;
  lp_rmode mode = f->mode;
  if (isnan(x)) return x;
  int neg = signbit(x) != 0;
  int fnuz = f->policy == LP_FNUZ;
  if (f->policy == LP_E8M0) {                      /* no zero, no sign */
    if (neg || x == 0) return NAN;
    if (x < ref_value(f, 0)) return ref_value(f, 0);
  }
  if (neg && !f->is_signed) return 0.0;
  double a = fabs(x);
  if (isinf(a)) {
    if (f->overflow == LP_SAT) return neg ? -f->maxval : f->maxval;
    return neg ? -(f->policy == LP_IEEE ? INFINITY : NAN) : (f->policy == LP_IEEE ? INFINITY : NAN);
  }
  if (a == 0) return fnuz ? 0.0 : x;               /* fnuz: no -0 */
  uint64_t top = r->nvalid - 1;                    /* index of the value past max */
  if (a >= ref_value(f, ref_code(r, top))) return ref_overflow(f, mode, neg);
  uint64_t lo = 0, hi = top;                       /* value(lo) <= a < value(hi) */
  while (hi - lo > 1) {
    uint64_t mid = lo + (hi - lo) / 2;
    if (ref_value(f, ref_code(r, mid)) <= a) lo = mid; else hi = mid;
  }
  uint64_t clo = ref_code(r, lo), chi = ref_code(r, hi);
  double vlo = ref_value(f, clo), vhi = ref_value(f, chi), res;
  if (a == vlo) res = vlo;
  else {
    double twice = 2 * a, sum = vlo + vhi;       /* exact */
    int lo_odd = (int)(clo & 1), hi_odd = (int)(chi & 1);
    switch (mode) {
      case LP_RNE:
        if (twice < sum) res = vlo;
        else if (twice > sum) res = vhi;
        else res = (!lo_odd) ? vlo : vhi;          /* both even: the lower (0) */
        break;
      case LP_RNA: res = twice < sum ? vlo : vhi; break;
      case LP_RTZ: res = vlo; break;
      case LP_RUP: res = neg ? vlo : vhi; break;
      case LP_RDN: res = neg ? vhi : vlo; break;
      case LP_RNO: res = lo_odd ? vlo : vhi; (void)hi_odd; break;
      default: {                                    /* sr */
        int k = f->sr_bits;
        double frac = (a - vlo) / (vhi - vlo);     /* exact: power-of-two gap */
        double fk = floor(ldexp(frac, k));
        uint64_t R = ref_word(f, ctr) >> (32 - k);
        res = (fk + (double)R >= ldexp(1.0, k)) ? vhi : vlo;
      }
    }
  }
  if (res > f->maxval) return ref_overflow(f, mode, neg);
  if (res == 0 && fnuz) return 0.0;
  return neg ? -res : res;
}

/* --------------------------------------------------------------- inputs */

typedef struct {
  double *v;
  size_t n, cap;
} list;

static void add(list *l, double x) {
  if (l->n == l->cap) {
    l->cap = l->cap ? 2 * l->cap : 1024;
    l->v = realloc(l->v, l->cap * sizeof(double));
    if (l->v == NULL) abort();
  }
  l->v[l->n++] = x;
}

static void add_around(list *l, double x) {
  add(l, x);
  add(l, nextafter(x, INFINITY));
  add(l, nextafter(x, -INFINITY));
  float xf = (float)x;
  if (isfinite(xf)) {
    add(l, nextafterf(xf, INFINITY));
    add(l, nextafterf(xf, -INFINITY));
  }
}

static uint64_t rs = 88172645463325252ULL;
static uint64_t xrand(void) {
  rs ^= rs << 13;
  rs ^= rs >> 7;
  rs ^= rs << 17;
  return rs;
}

/* Test inputs for f: both signs of every kind of point. Formats with many
 * codes get every bracket at both ends of the range and a random sample. */
static void make_inputs(const ref *r, list *l) {
  const lp_format *f = r->f;
  uint64_t nv = r->nvalid;
  size_t before = l->n;
  uint64_t nb = nv - 1;                          /* brackets */
  uint64_t count = nb > 4096 ? 1536 : nb;
  for (uint64_t i = 0; i < count; i++) {
    uint64_t j = i;
    if (nb > 4096) j = i < 512 ? i : i < 1024 ? nb - 1 - (i - 512) : 512 + xrand() % (nb - 1024);
    double lo = ref_value(f, ref_code(r, j)), hi = ref_value(f, ref_code(r, j + 1));
    add_around(l, lo);
    add_around(l, (lo + hi) / 2);
    add(l, lo + (hi - lo) * 0.25);
    add(l, lo + (hi - lo) * ((double)(xrand() >> 11) * 0x1p-53));
    add(l, (float)(lo + (hi - lo) * ((double)(xrand() >> 40) * 0x1p-24)));
  }
  double ext = ref_value(f, ref_code(r, nv - 1));
  add_around(l, ext);
  add_around(l, 2 * ext);
  add_around(l, f->maxval * 1.5);
  add(l, FLT_MAX);
  add(l, DBL_MAX);
  add(l, INFINITY);
  add(l, NAN);
  add(l, 0.0);
  add_around(l, f->minsub);
  add_around(l, f->minsub / 2);
  add_around(l, f->minsub / 4);
  add_around(l, f->minsub * 0.75);
  add_around(l, f->minnorm / 2);
  add(l, 1e-300);
  add(l, 5e-324);
  add(l, 0x1p-149);
  add(l, 0x1p-126);
  size_t after = l->n;
  for (size_t i = before; i < after; i++) add(l, -l->v[i]);
}

static int same(double a, double b) {
  if (isnan(a) || isnan(b)) return isnan(a) && isnan(b);
  return a == b && signbit(a) == signbit(b);
}

/* ---------------------------------------------------------------- tests */

static const char *const specs[] = {
  "fp32", "bf16", "fp16", "fp8", "e5m2", "fp6", "e2m3", "fp4", "fp3", "fp2",
  "e4m3:ieee", "e4m3:fn:inf", "e4m3:nosub", "e5m2:sat", "e5m2:fn", "e3m2:ieee:inf",
  "e2m1:nosub", "e2m1:bias=0", "e2m1:bias=3", "e3m2:bias=-2", "e2m2:bias=5:nosub",
  "e1m0", "e1m1:nosub", "e1m2", "e1m3:fn", "e1m3:fn:inf", "e2m0", "e2m0:ieee", "e3m0:fn",
  "e3m0:nosub", "e4m0:ieee:inf", "e5m0:bias=4",
  "ue2m1", "ue3m2:ieee:inf", "ue4m3:fn", "ue1m0", "ue4m4:nosub",
  "e0m1", "e0m3", "e0m4:bias=-3", "ue0m5", "ue0m2:bias=-126",
  "e8m0:bias=128", "ue8m0:fn", "e8m1:bias=130", "e8m3:bias=140:nosub", "e6m9:nosub", "e7m16", "e3m23", "e1m23",
  "e8m22:ieee", "e8m23:nosub:ieee", "e8m7:fin:bias=128", "e8m1:fn:bias=128", "e4m3:bias=-8", "e3m4:bias=5:nosub:ieee:sat",
  /* fnuz (ml_dtypes) and e8m0 (OCP MX) */
  "float8_e4m3fnuz", "float8_e5m2fnuz", "float8_e4m3b11fnuz", "e4m3:fnuz:sat", "e2m1:fnuz", "e3m2:fnuz:nosub",
  "e1m1:fnuz:inf", "e5m10:fnuz", "ue1m0:fin", "E8M0", "float8_e8m0fnu", "ue4m0:e8m0", "ue3m0:e8m0:bias=1",
  "ue2m0:e8m0:inf", "ue5m0:e8m0:bias=20",
  NULL};

static const char *const modes[] = {"rne", "rna", "rtz", "rup", "rdn", "rno", "sr", "sr=1",
                                    "sr=4", "sr=13", NULL};

int main(void) {
  char err[256];
  double tot_checked = 0;
  float *src = NULL, *dst = NULL, *dst2 = NULL;
  for (int s = 0; specs[s] != NULL; s++) {
    lp_format base;
    if (!tap_ok(lp_format_parse(&base, specs[s], err, sizeof err) == LP_OK, "parse %s", specs[s])) {
      tap_diag("%s", err);
      continue;
    }
    ref r0 = {&base, 0};
    uint64_t nvalid = (uint64_t)base.maxcode + 1 - (base.subnormals ? 0 : (UINT64_C(1) << base.mbits) - 1);
    r0.nvalid = nvalid + 1;
    /* the reference's value list agrees with decode and encode */
    {
      size_t bad = 0;
      uint64_t nc = UINT64_C(1) << base.bits;
      uint64_t step = nc > 70000 ? nc / 65536 + 1 : 1;
      for (uint64_t c = 0; c < nc; c += step) {
        int sign;
        uint32_t e, m;
        lp_code_kind k = lp_code_fields(&base, (uint32_t)c, &sign, &e, &m);
        double v = lp_decode(&base, (uint32_t)c);
        uint64_t mag = c & ((UINT64_C(1) << (base.ebits + base.mbits)) - 1);
        if (k == LP_KIND_NORMAL || k == LP_KIND_SUBNORMAL || k == LP_KIND_ZERO) {
          double want = ref_value(&base, mag);
          if (sign) want = -want;
          uint32_t back;
          if (!same(v, want) || lp_encode(&base, v, &back) != LP_OK || back != c) {
            if (bad++ == 0) tap_diag("code 0x%llx: decode %.17g want %.17g", (unsigned long long)c, v, want);
          }
        } else if (k == LP_KIND_UNUSED) {
          /* a nosub format's subnormal codes read as a zero of their sign,
             and as +0 where the format has no -0 (fnuz); that zero is a
             value of the format: it rounds to itself */
          double want = (sign && base.policy != LP_FNUZ) ? -0.0 : 0.0;
          if (!same(v, want) || !same(lp_round(&base, v, 0), v)) {
            if (bad++ == 0) tap_diag("unused code 0x%llx: decode %g want %g", (unsigned long long)c, v, want);
          }
        }
      }
      tap_ok(bad == 0, "%s: decode/encode of every code agree with the definition", specs[s]);
    }
    list in = {0};
    make_inputs(&r0, &in);
    for (int m = 0; modes[m] != NULL; m++) {
      lp_format f;
      if (lp_format_with(&f, &base, modes[m], err, sizeof err) != LP_OK) {
        tap_ok(0, "%s:%s", specs[s], modes[m]);
        tap_diag("%s", err);
        continue;
      }
      if (f.mode == LP_SR) f.seed = 12345;
      ref r = {&f, r0.nvalid};
      size_t bad = 0;
      for (size_t i = 0; i < in.n; i++) {
        uint64_t ctr = i * 7 + 3;
        double got = lp_round(&f, in.v[i], ctr), want = ref_round(&r, in.v[i], ctr);
        if (!same(got, want)) {
          if (bad++ < 3)
            tap_diag("%s:%s x=%.17g (%a): got %.17g want %.17g", specs[s], modes[m], in.v[i], in.v[i], got, want);
        }
      }
      tot_checked += (double)in.n;
      tap_ok(bad == 0, "%s:%s lp_round == reference on %zu inputs", specs[s], modes[m], in.n);
      /* the float32 path: inputs that are binary32 values */
      size_t nf = 0;
      src = realloc(src, (in.n + 1) * sizeof(float));
      dst = realloc(dst, (in.n + 1) * sizeof(float));
      dst2 = realloc(dst2, (in.n + 1) * sizeof(float));
      for (size_t i = 0; i < in.n; i++) {
        float x = (float)in.v[i];
        if ((double)x == in.v[i] || isnan(in.v[i])) src[nf++] = x;
      }
      const float scales[] = {1.0f, 4.0f, 0.375f};
      for (int sc = 0; sc < 3; sc++) {
        float scale = scales[sc];
        uint64_t ctr0 = 1001 + (uint64_t)sc;       /* odd and even starts */
        for (size_t i = 0; i < nf; i++) {
          float u = scale == 1.0f ? src[i] : src[i] / scale;
          float w = (float)ref_round(&r, (double)u, ctr0 + i);
          dst2[i] = scale != 1.0f ? w * scale : w;
        }
        for (int level = lp_quantize_simd_max(); level >= 0; level--) {   /* every lane build the CPU runs */
          lp_quantize_simd(level);
          lp_quantize(&f, dst, src, nf, scale, ctr0);
          size_t bad2 = 0;
          for (size_t i = 0; i < nf; i++)
            if (!same(dst[i], dst2[i])) {
              if (bad2++ < 3)
                tap_diag("%s:%s scale %g x=%a: quantize %a want %a", specs[s], modes[m], scale, src[i], dst[i], dst2[i]);
            }
          tap_ok(bad2 == 0, "%s:%s lp_quantize (scale %g, %s lanes) == reference on %zu floats", specs[s],
                 modes[m], scale, lp_quantize_simd_name(level), nf);
        }
        lp_quantize_simd(-1);
        /* codes: code(Q(x / scale)) */
        if (sc == 1 && f.bits <= 16) {
          uint32_t *codes = malloc((nf + 1) * sizeof(uint32_t));
          for (int level = lp_quantize_simd_max(); level >= 0; level--) {
            lp_quantize_simd(level);
            lp_quantize_codes(&f, codes, src, nf, scale, ctr0);
            size_t bad3 = 0;
            for (size_t i = 0; i < nf; i++) {
              double q = (double)(float)ref_round(&r, (double)(src[i] / scale), ctr0 + i);
              uint32_t want;
              if (lp_encode(&f, q, &want) != LP_OK) want = isnan(q) ? LP_CODE_NONE : UINT32_C(0xdeadbeef);
              if (codes[i] != want || (codes[i] >= (UINT32_C(1) << f.bits) && !isnan(q))) {
                if (bad3++ < 3) tap_diag("%s:%s x=%a: code %u want %u", specs[s], modes[m], src[i], codes[i], want);
              }
            }
            tap_ok(bad3 == 0, "%s:%s lp_quantize_codes (%s lanes) == encode(reference)", specs[s], modes[m],
                   lp_quantize_simd_name(level));
          }
          lp_quantize_simd(-1);
          free(codes);
        }
      }
    }
    free(in.v);
  }

  /* threads: a large array, 1 vs 2 threads, rne and sr, bit for bit */
  {
    size_t n = 300000;
    src = realloc(src, n * sizeof(float));
    dst = realloc(dst, n * sizeof(float));
    dst2 = realloc(dst2, n * sizeof(float));
    for (size_t i = 0; i < n; i++) src[i] = (float)(((double)(xrand() >> 11) * 0x1p-53 - 0.5) * 20.0);
    const char *tspecs[] = {"fp8:sr:seed=7", "fp4:sr=8:seed=1", "e5m2", "fp2:sr", "fp6:rna", NULL};
    for (int s = 0; tspecs[s] != NULL; s++) {
      lp_format f;
      lp_format_parse(&f, tspecs[s], err, sizeof err);
      lp_set_threads(1);
      lp_quantize(&f, dst, src, n, 1.0f, 77);
      lp_set_threads(2);
      lp_quantize(&f, dst2, src, n, 1.0f, 77);
      tap_ok(memcmp(dst, dst2, n * sizeof(float)) == 0, "%s: 1 and 2 threads agree bit for bit", tspecs[s]);
      size_t bad = 0;
      for (size_t i = 0; i < n; i++)
        if (!same(dst[i], (float)lp_round(&f, src[i], 77 + i))) bad++;
      tap_ok(bad == 0, "%s: threaded lp_quantize == lp_round on %zu floats", tspecs[s], n);
      lp_quantize(&f, dst2, src, n, 1.0f, 77);
      tap_ok(memcmp(dst, dst2, n * sizeof(float)) == 0, "%s: same seed, same bits on a second run", tspecs[s]);
    }
  }
  tap_diag("%.0f rounding checks", tot_checked);
  free(src);
  free(dst);
  free(dst2);
  return tap_done();
}
