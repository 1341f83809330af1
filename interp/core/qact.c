/* qact.c — quantized activation functions: the emulate/lut/ops forward
 * passes over exact codes (codes.c), STE backward rules, level gradients,
 * scales and telemetry. See qact.h for the contracts. */
#include "core/qact.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/parallel.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define GRAIN 16384

/* On x86 the small-format lookup also has an AVX2 loop, chosen at run
 * time (lp_qz_init records whether the machine has AVX2; the baseline
 * build stays SSE2); other machines use the scalar loops alone. Both give
 * the same bits. */
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define QACT_X86 1
#include <immintrin.h>
#else
#define QACT_X86 0
#endif

/* ---- tables ---------------------------------------------------------- */

/* f(v) in the layer's mode: emulate and lut compute f in double (lut
 * tables it), ops rounds every operation to the output format. */
static double act_value(lp_act fn, double v, double alpha, int mode, const lp_qz *qout) {
  switch ((lp_qmode)mode) {
  case LP_QMODE_EMULATE:
  case LP_QMODE_LUT: return lp_act_value(fn, v, alpha);
  case LP_QMODE_OPS: return lp_act_ops(fn, v, alpha, &qout->f);
  }
  abort();   /* not a mode: the caller's bug */
}

void lp_qact_table(float *T, uint32_t *ocode, const lp_qz *qin, const lp_qz *qout,
                   lp_act fn, double alpha, int mode, double s_i, double s_o,
                   const float *levels) {
  int has_codes = !qout->identity && !qout->wide;
  for (uint32_t c = 0; c <= qin->ncodes; c++) {
    double v = qin->val[c];
    double z = isnan(v) ? v : act_value(fn, s_i * v, alpha, mode, qout) / s_o;
    double y;
    if (has_codes) {
      uint32_t oc = lp_qz_code(qout, z, 0);
      if (ocode) ocode[c] = oc;
      y = oc >= qout->ncodes ? NAN : (levels ? (double)levels[oc] : qout->val[oc]);
    } else {
      y = lp_qz_round(qout, z, 0);
    }
    if (c < qin->ncodes) T[c] = (float)(s_o * y);
  }
}

/* ---- forward ---------------------------------------------------------- */

/* Codes are stored in 1, 2 or 4 bytes (lp_qact_code_width). */
static inline void put_code(void *codes, int cw, size_t i, uint32_t k) {
  if (cw == 1) ((uint8_t *)codes)[i] = (uint8_t)k;
  else if (cw == 2) ((uint16_t *)codes)[i] = (uint16_t)k;
  else ((uint32_t *)codes)[i] = k;
}

static inline size_t get_code(const void *codes, int cw, size_t i) {
  if (cw == 1) return ((const uint8_t *)codes)[i];
  if (cw == 2) return ((const uint16_t *)codes)[i];
  return ((const uint32_t *)codes)[i];
}

int lp_qact_code_width(uint32_t maxcode) {
  return maxcode <= 0xff ? 1 : maxcode <= 0xffff ? 2 : 4;
}

typedef struct {
  float *y;
  void *codes;
  int cw;
  const float *x;
  const lp_qz *qin, *qout;
  double s_i;
  const float *T;
  const uint32_t *map;
  uint64_t ctr0;
  lp_act fn, mode;
  double alpha;
  const lp_qgroups *groups;
  const double *si, *so;
  const float *levels;
} fwd_ctx;

#if QACT_X86
/* y[i] = ry[rank(x[i])] and cb[i] = rc[rank(x[i])] for i in [begin, end)
 * rounded down to whole groups of 8 (NaN: y = NaN, cb = nan_code), ranks
 * counted against q->sthr (see qact.h). Returns the first index not done. */
__attribute__((target("avx2"), always_inline))
static inline size_t lookup_small_nt(const lp_qz *q, const float *ry, const uint8_t *rc,
                                     uint8_t nan_code, float *y, uint8_t *cb, const float *x,
                                     size_t begin, size_t end, const int nt) {
  /* nt (a constant: the loop unrolls) thresholds, those past the format's
   * own INT32_MAX: no key is above it */
  __m256i thr[LP_QZ_SMALL];
  for (int j = 0; j < nt; j++)   /* s >= t: s > t - 1 */
    thr[j] = _mm256_set1_epi32(j < q->nsmall - 1 ? q->sthr[j] - 1 : INT32_MAX);
  const __m256 ylo = _mm256_loadu_ps(ry), yhi = _mm256_loadu_ps(ry + 8);
  const __m128i rcv = _mm_loadu_si128((const __m128i *)rc);
  const __m128i nanc = _mm_set1_epi8((char)nan_code);
  const __m256i mag = _mm256_set1_epi32(0x7fffffff), inf = _mm256_set1_epi32(0x7f800000);
  const __m256i seven = _mm256_set1_epi32(7);
  const __m256 qnan = _mm256_set1_ps(NAN);
  size_t i = begin;
  for (; i + 8 <= end; i += 8) {
    __m256i b = _mm256_loadu_si256((const __m256i *)(x + i));
    __m256i sk = _mm256_xor_si256(b, _mm256_and_si256(_mm256_srai_epi32(b, 31), mag));
    __m256i isnan = _mm256_cmpgt_epi32(_mm256_and_si256(b, mag), inf);
    /* rank = -(sum of the masks), in two chains */
    __m256i r0 = _mm256_setzero_si256(), r1 = _mm256_setzero_si256();
#pragma GCC unroll 16
    for (int j = 0; j < nt; j++) {
      if (j & 1) r1 = _mm256_add_epi32(r1, _mm256_cmpgt_epi32(sk, thr[j]));
      else r0 = _mm256_add_epi32(r0, _mm256_cmpgt_epi32(sk, thr[j]));
    }
    __m256i r = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_add_epi32(r0, r1));
    __m256 v = _mm256_blendv_ps(_mm256_permutevar8x32_ps(ylo, r), _mm256_permutevar8x32_ps(yhi, r),
                                _mm256_castsi256_ps(_mm256_cmpgt_epi32(r, seven)));
    _mm256_storeu_ps(y + i, _mm256_blendv_ps(v, qnan, _mm256_castsi256_ps(isnan)));
    /* ranks to bytes (NaN lanes -1: pshufb gives 0 there), then codes */
    __m256i rn = _mm256_or_si256(r, isnan);
    __m128i r16 = _mm_packs_epi32(_mm256_castsi256_si128(rn), _mm256_extracti128_si256(rn, 1));
    __m128i r8 = _mm_packs_epi16(r16, r16);
    __m128i n16 = _mm_packs_epi32(_mm256_castsi256_si128(isnan), _mm256_extracti128_si256(isnan, 1));
    __m128i n8 = _mm_packs_epi16(n16, n16);
    __m128i c8 = _mm_or_si128(_mm_shuffle_epi8(rcv, r8), _mm_and_si128(n8, nanc));
    _mm_storel_epi64((__m128i *)(cb + i), c8);
  }
  return i;
}

__attribute__((target("avx2")))
static size_t lookup_small_avx2(const lp_qz *q, const float *ry, const uint8_t *rc,
                                uint8_t nan_code, float *y, uint8_t *cb, const float *x,
                                size_t begin, size_t end) {
  if (q->nsmall <= 4) return lookup_small_nt(q, ry, rc, nan_code, y, cb, x, begin, end, 3);
  if (q->nsmall <= 8) return lookup_small_nt(q, ry, rc, nan_code, y, cb, x, begin, end, 7);
  return lookup_small_nt(q, ry, rc, nan_code, y, cb, x, begin, end, LP_QZ_SMALL - 1);
}
#endif

static void lookup_range(void *vctx, size_t begin, size_t end) {
  const fwd_ctx *c = vctx;
  const lp_qz *q = c->qin;
  const uint32_t nc = q->ncodes;
  const int unit = c->s_i == 1.0, fast = q->fast;
  const double s_i = c->s_i;
  const float *restrict x = c->x, *restrict T = c->T;
  float *restrict y = c->y;
  void *codes = c->codes;
  const int cw = c->cw;
  const uint32_t *restrict map = c->map;
  const uint64_t ctr0 = c->ctr0;
#if QACT_X86
  if (unit && q->nsmall > 0 && cw == 1 && codes && end - begin >= 8 && q->avx2) {
    /* the table and the stored code of every rank */
    float ry[LP_QZ_SMALL] = { 0 };
    uint8_t rc[LP_QZ_SMALL] = { 0 };
    for (int r = 0; r < q->nsmall; r++) {
      uint32_t k = q->rcode[r];
      ry[r] = T[k];
      rc[r] = (uint8_t)(map ? map[k] : k);
    }
    begin = lookup_small_avx2(q, ry, rc, (uint8_t)(map ? map[nc] : nc), y, codes, x, begin, end);
  }
#endif
  if (unit && q->fbucket && cw == 1 && codes && !map) {   /* the hot loop of lut and fixed tables */
    const uint64_t *restrict fb = q->fbucket;
    uint8_t *restrict cb = codes;
    for (size_t i = begin; i < end; i++) {
      uint32_t bits;
      memcpy(&bits, &x[i], sizeof bits);
      uint32_t uk = lp_ukey_of_bits(bits);
      uint64_t e = fb[uk >> 19];
      uint32_t k = uk >= (uint32_t)e ? (uint32_t)(e >> 48) : (uint32_t)(e >> 32) & 0xffffu;
      if (k < nc) {
        y[i] = T[k];
      } else {   /* a bucket the double path decides (0xffff), NaN, infinities */
        k = lp_qz_code(q, (double)x[i], ctr0 + i);
        y[i] = k < nc ? T[k] : NAN;
      }
      cb[i] = (uint8_t)k;
    }
    return;
  }
  if (unit && q->fbucket) {   /* binary32 inputs at scale 1: one load per code */
    const uint64_t *restrict fb = q->fbucket;
    uint8_t *restrict cb = cw == 1 ? codes : NULL;
    for (size_t i = begin; i < end; i++) {
      uint32_t bits;
      memcpy(&bits, &x[i], sizeof bits);
      uint32_t uk = lp_ukey_of_bits(bits);
      uint64_t e = fb[uk >> 19];
      uint32_t k = uk >= (uint32_t)e ? (uint32_t)(e >> 48) : (uint32_t)(e >> 32) & 0xffffu;
      if (k == 0xffffu) k = lp_qz_code(q, (double)x[i], ctr0 + i);
      y[i] = k < nc ? T[k] : NAN;
      if (cb) cb[i] = (uint8_t)(map ? map[k] : k);
      else if (codes) put_code(codes, cw, i, map ? map[k] : k);
    }
    return;
  }
  for (size_t i = begin; i < end; i++) {
    double u = unit ? (double)x[i] : (double)x[i] / s_i;
    uint32_t k = (fast && !isnan(u)) ? lp_qz_code_fast(q, u) : lp_qz_code(q, u, ctr0 + i);
    y[i] = k < nc ? T[k] : NAN;
    if (codes) put_code(codes, cw, i, map ? map[k] : k);
  }
}

void lp_qact_lookup(float *y, void *codes, int cw, const float *x, size_t n,
                    const lp_qz *qin, double s_i, const float *T,
                    const uint32_t *map, uint64_t ctr0) {
  fwd_ctx c = { .y = y, .codes = codes, .cw = cw, .x = x, .qin = qin, .s_i = s_i, .T = T,
                .map = map, .ctr0 = ctr0 };
  lp_parallel_for(n, GRAIN, lookup_range, &c);
}

size_t lp_qgroups_count(const lp_qgroups *g) {
  if (g->block == 0) return g->A;
  return g->outer * ((g->A + g->block - 1) / g->block) * g->inner;
}

size_t lp_qgroups_of(const lp_qgroups *g, size_t i) {
  size_t a = (i / g->inner) % g->A;
  if (g->block == 0) return a;
  size_t o = i / (g->inner * g->A), in = i % g->inner;
  size_t nb = (g->A + g->block - 1) / g->block;
  return (o * nb + a / g->block) * g->inner + in;
}

static void direct_range(void *vctx, size_t begin, size_t end) {
  const fwd_ctx *c = vctx;
  const lp_qz *qi = c->qin, *qo = c->qout;
  int ocodes = !qo->identity && !qo->wide;
  for (size_t i = begin; i < end; i++) {
    size_t g = c->groups ? lp_qgroups_of(c->groups, i) : 0;
    double s_i = c->si[g], s_o = c->so[g];
    double x = c->x[i], v;
    if (qi->identity) v = x;
    else v = s_i * lp_qz_round(qi, x / s_i, c->ctr0 + i);
    double z = isnan(v) ? v : act_value(c->fn, v, c->alpha, c->mode, qo) / s_o;
    uint64_t octr = (c->ctr0 ^ UINT64_C(0x8000000000000000)) + i;
    if (ocodes) {
      uint32_t k = lp_qz_code(qo, z, octr);
      double y = k >= qo->ncodes ? NAN : (c->levels ? (double)c->levels[k] : qo->val[k]);
      c->y[i] = (float)(s_o * y);
      if (c->codes) put_code(c->codes, c->cw, i, k);
    } else {
      c->y[i] = (float)(s_o * lp_qz_round(qo, z, octr));
      if (c->codes) put_code(c->codes, c->cw, i, 0);
    }
  }
}

void lp_qact_direct(float *y, void *codes, int cw, const float *x, size_t n,
                    const lp_qz *qin, const lp_qz *qout, lp_act fn, double alpha,
                    int mode, const lp_qgroups *groups, const double *si,
                    const double *so, const float *levels, uint64_t ctr0) {
  fwd_ctx c = { .y = y, .codes = codes, .cw = cw, .x = x, .qin = qin, .qout = qout, .fn = fn,
                .alpha = alpha, .mode = mode, .groups = groups, .si = si, .so = so,
                .levels = levels, .ctr0 = ctr0 };
  lp_parallel_for(n, GRAIN / 4, direct_range, &c);
}

/* ---- backward --------------------------------------------------------- */

typedef struct {
  float *dx;
  const float *g, *x;
  int rule, np;
  lp_act fn;
  double alpha, lo, hi;
  const double *px, *py;
  /* the level gradient (part NULL: none): fixed chunks, 4 partial rows each */
  double *part;
  size_t nT, n, nchunks;
  const void *codes;
  int cw;
  lp_act_bwd_fn fprime;   /* the registry's backward loop for the lane level in force */
} bwd_ctx;

static double stair_slope(const bwd_ctx *c, double x) {
  if (c->np < 2 || !(x >= c->px[0] && x <= c->px[c->np - 1])) return 0.0;
  int lo = 0, hi = c->np - 1;   /* find k with px[k] <= x <= px[k+1] */
  while (hi - lo > 1) {
    int mid = (lo + hi) / 2;
    if (c->px[mid] <= x) lo = mid;
    else hi = mid;
  }
  return (c->py[hi] - c->py[lo]) / (c->px[hi] - c->px[lo]);
}

/* dx over [begin, end) by the STE rule, dx = g * d(x) in float
 * arithmetic; a NaN x gives a NaN d whatever the rule. fprime is the
 * registry's own backward loop (vectorised, the same bits in every lane). */
static void ste_span(const bwd_ctx *c, size_t begin, size_t end) {
  const float *restrict x = c->x, *restrict g = c->g;
  float *restrict dx = c->dx;
  if (!dx) return;
  const lp_act_info *row = lp_act_row(c->fn);
  const float alpha = (float)c->alpha;
  switch ((lp_ste)c->rule) {
  case LP_STE_FPRIME:
    c->fprime(dx + begin, g + begin, x + begin, end - begin, alpha, 0);
    return;
  case LP_STE_IDENTITY:
    for (size_t i = begin; i < end; i++) dx[i] = g[i] * (x[i] == x[i] ? 1.0f : x[i]);
    return;
  case LP_STE_CLIPPED:
    for (size_t i = begin; i < end; i++) {
      float xi = x[i];
      float d = (xi >= c->lo && xi <= c->hi) ? row->dff(xi, alpha) : xi == xi ? 0.0f : xi;
      dx[i] = g[i] * d;
    }
    return;
  case LP_STE_STAIRCASE:
    for (size_t i = begin; i < end; i++) {
      float xi = x[i];
      dx[i] = g[i] * (xi == xi ? (float)stair_slope(c, xi) : xi);
    }
    return;
  }
  abort();   /* not a rule: the caller's bug */
}

/* The level gradient of [begin, end) into four interleaved partial rows
 * p[0..4 nT) (four rows break the dependency of repeated codes); codes
 * at or above nT (the NaN sentinel) are skipped. */
static void scatter_span(const bwd_ctx *c, double *restrict p, size_t begin, size_t end) {
  const size_t nT = c->nT;
  const float *restrict g = c->g;
  const void *codes = c->codes;
  const int cw = c->cw;
  size_t i = begin;
  if (cw == 1) {
    const uint8_t *restrict cb = codes;
    for (; i + 4 <= end; i += 4) {
      size_t a0 = cb[i], a1 = cb[i + 1], a2 = cb[i + 2], a3 = cb[i + 3];
      if (a0 < nT) p[a0] += g[i];
      if (a1 < nT) p[nT + a1] += g[i + 1];
      if (a2 < nT) p[2 * nT + a2] += g[i + 2];
      if (a3 < nT) p[3 * nT + a3] += g[i + 3];
    }
  }
  for (; i < end; i++) {
    size_t a = get_code(codes, cw, i);
    if (a < nT) p[a] += g[i];
  }
}

static void bwd_chunks(void *vctx, size_t begin, size_t end) {
  const bwd_ctx *c = vctx;
  for (size_t k = begin; k < end; k++) {
    size_t i0 = c->n * k / c->nchunks, i1 = c->n * (k + 1) / c->nchunks;
    ste_span(c, i0, i1);
    if (c->part) scatter_span(c, c->part + k * 4 * c->nT, i0, i1);
  }
}

/* Chunks: a function of n and nT only, so sums do not depend on threads. */
static size_t chunk_count(size_t n, size_t nT) {
  size_t nchunks = n / 65536 + 1;
  if (nchunks > 64) nchunks = 64;
  while (nchunks > 1 && nchunks * nT > (size_t)1 << 20) nchunks /= 2;
  return nchunks;
}

void lp_qact_backward(float *dx, float *dT, size_t nT, double mult, const float *g,
                      const float *x, const void *codes, int cw, size_t n, int rule,
                      lp_act fn, double alpha, double lo, double hi,
                      const double *px, const double *py, int np) {
  bwd_ctx c = { .dx = dx, .g = g, .x = x, .rule = rule, .fn = fn, .alpha = alpha,
                .lo = lo, .hi = hi, .px = px, .py = py, .np = np,
                .nT = nT, .n = n, .codes = codes, .cw = cw };
  lp_act_spans(fn, NULL, &c.fprime);
  c.nchunks = chunk_count(n, nT);
  int sum = dT && codes && nT > 0;
  if (sum) c.part = calloc(c.nchunks * 4 * nT, sizeof *c.part);
  if (sum && !c.part) {         /* out of memory: a serial float sum */
    for (size_t i = 0; i < n; i++) {
      size_t a = get_code(codes, cw, i);
      if (a < nT) dT[a] += (float)(mult * g[i]);
    }
  }
  lp_parallel_for(c.nchunks, 1, bwd_chunks, &c);
  if (c.part) {
    for (size_t t = 0; t < nT; t++) {
      double s = 0;
      for (size_t k = 0; k < c.nchunks * 4; k++) s += c.part[k * nT + t];
      dT[t] += (float)(mult * s);
    }
    free(c.part);
  }
}

void lp_qact_ste(float *dx, const float *g, const float *x, size_t n, int rule,
                 lp_act fn, double alpha, double lo, double hi,
                 const double *px, const double *py, int np) {
  lp_qact_backward(dx, NULL, 0, 1.0, g, x, NULL, 1, n, rule, fn, alpha, lo, hi, px, py, np);
}

void lp_qact_scatter(float *dT, size_t nT, const float *g, const void *codes, int cw,
                     size_t n, double mult) {
  lp_qact_backward(NULL, dT, nT, mult, g, NULL, codes, cw, n, LP_STE_IDENTITY, 0, 0, 0, 0,
                   NULL, NULL, 0);
}

/* ---- scales and telemetry --------------------------------------------- */

double lp_qact_amax(const float *x, size_t n, size_t *nan) {
  double m = 0;
  size_t nn = 0;
  for (size_t i = 0; i < n; i++) {
    double a = fabs((double)x[i]);
    if (isnan(a)) nn++;
    else if (a > m) m = a;
  }
  if (nan) *nan = nn;
  return m;
}

void lp_qact_group_amax(double *amax, const float *x, size_t n, const lp_qgroups *g) {
  size_t ng = lp_qgroups_count(g);
  for (size_t k = 0; k < ng; k++) amax[k] = 0;
  for (size_t i = 0; i < n; i++) {
    size_t k = lp_qgroups_of(g, i);
    double a = fabs((double)x[i]);
    if (isnan(a) || isnan(amax[k])) amax[k] = NAN;
    else if (a > amax[k]) amax[k] = a;
  }
}

double lp_mx_scale(double amax, double maxval, int rule) {
  /* the search below ends only for amax >= 0 and a finite maxval > 0 */
  if (!(amax >= 0) || !(maxval > 0) || isinf(maxval)) return NAN;
  if (amax == 0) return ldexp(1.0, -127);
  int e;
  if (isinf(amax)) e = 127;
  else if (rule == LP_MX_CEIL) {
    /* the smallest e with maxval * 2^e >= amax (exact comparisons) */
    int ea, em;
    frexp(amax, &ea);
    frexp(maxval, &em);
    e = ea - em - 1;
    while (ldexp(maxval, e) < amax) e++;
    while (ldexp(maxval, e - 1) >= amax) e--;
  } else {
    int ea, em;
    frexp(amax, &ea);      /* amax = m 2^ea, m in [0.5, 1): floor(log2) = ea - 1 */
    frexp(maxval, &em);
    e = (ea - 1) - (em - 1);
  }
  if (e < -127) e = -127;
  if (e > 127) e = 127;
  return ldexp(1.0, e);
}

void lp_qact_group_scales(double *si, double *so, const double *amax, size_t ng,
                          lp_act fn, double alpha, double in_hi, double out_hi,
                          int mx, int rule, int use_in, int use_out) {
  for (size_t g = 0; g < ng; g++) {
    double a = amax[g];
    si[g] = so[g] = 1.0;
    if (use_in && in_hi > 0 && !isinf(in_hi)) {
      if (mx) si[g] = lp_mx_scale(a, in_hi, rule);
      else if (a > 0 && !isinf(a)) si[g] = a / in_hi;
    }
    if (use_out && out_hi > 0 && !isinf(out_hi)) {
      double m = isnan(a) ? a : lp_act_absmax(fn, alpha, -a, a);
      if (mx) so[g] = lp_mx_scale(m, out_hi, rule);
      else if (m > 0 && !isinf(m)) so[g] = m / out_hi;
    }
  }
}

double lp_qact_scale_grad(const float *g, const float *x, const float *y, size_t n,
                          int kind, lp_act fn, double alpha, double s, double lo, double hi) {
  double sum = 0;
  for (size_t i = 0; i < n; i++) {
    double xi = x[i], d;
    if (isnan(xi) || isnan((double)y[i])) continue;
    if (kind == LP_SCALE_PACT) d = xi >= s ? 1.0 : 0.0;
    else {
      double q = (double)y[i] / s, z = lp_act_value(fn, xi, alpha) / s;
      d = (z >= lo && z <= hi) ? q - z : q;
    }
    sum += (double)g[i] * d;
  }
  return sum;
}

void lp_qact_telemetry(lp_qstats *st, uint64_t *usage, const float *x, size_t n,
                       const lp_qz *q, double s, uint64_t ctr0) {
  int codes = !q->identity && !q->wide;
  st->n += n;
  for (size_t i = 0; i < n; i++) {
    double u = (double)x[i] / s;
    if (isnan(u)) {
      st->nan++;
      if (usage && codes) usage[q->ncodes]++;
      continue;
    }
    if (!codes) continue;
    if (u > q->hi || u < q->lo) st->sat++;
    uint32_t k = lp_qz_code(q, u, ctr0 + i);
    if (k < q->ncodes && q->val[k] == 0 && u != 0) st->under++;
    if (usage) usage[k]++;
  }
}
