/* quant.c — quantize float32 arrays to a format: lp_quantize and
 * lp_quantize_codes.
 *
 * Results equal lp_round element by element (tests/c/format_exact.c checks
 * it against a separate reference). Every mode runs branch-free over 8
 * lanes (GCC/clang vector extensions, built for AVX2 when the CPU has it,
 * else for the baseline), with every per-format number computed once in a
 * plan:
 *   - |x| >= 2^emin (the format's normal range): integer rounding of the
 *     binary32 bit pattern at a fixed position (23 - M bits dropped);
 *   - |x| <  2^emin: t = |x| / q in units of the subnormal gap q is exact
 *     (a power-of-two scale), its integer and fractional parts are exact
 *     floats, and the rounding is decided on those.
 * Formats whose normal range reaches into binary32 subnormals (bias > 127)
 * go through lp_round one element at a time. */
#include <math.h>
#include <string.h>

#include "core/format.h"
#include "core/parallel.h"
#include "core/rng.h"

double lp_format_overflow_value(const lp_format *f, int neg);   /* format.c */

/* The 32-byte vectors below never cross a call boundary (every function
 * taking or returning one is always_inline), so the ABI note about them
 * does not apply. */
#pragma GCC diagnostic ignored "-Wpsabi"

typedef float vf __attribute__((vector_size(32)));
typedef uint32_t vu __attribute__((vector_size(32)));
typedef int32_t vi __attribute__((vector_size(32)));
typedef uint64_t vq __attribute__((vector_size(32)));

/* Per-format constants of the fast path. */
typedef struct {
  int fast;                 /* 1: rne or sr through the lanes */
  int sr;
  int sr_skip;              /* sr: use SR_SKIP (few elements below thr) */
  uint32_t D, nmask, halfm1, pflip, pbit;   /* normal range, bit pattern */
  float thr;                /* 2^emin: below it, the fixed-gap range */
  float s1, s2, q;          /* t = |x| * s1 * s2 = |x| / q */
  float maxv, ovpos, ovneg; /* overflow results, signed */
  float infpos, infneg;     /* results for +-inf inputs */
  int mode;
  int unsign;
  uint32_t rs, ls, radd_on; /* sr, normal range: add (W >> rs) << ls */
  uint32_t gshift, topmask; /* sr, fixed-gap range */
  float two_k;              /* 2^k */
  uint64_t key;
  /* encoding */
  float es1, es2;           /* 1 / quantum, split */
  uint32_t signbit, nancode, infcode;
  int emin, mbits;
} qplan;

static float pow2f(int e) { return (float)ldexp(1.0, e); }

static void make_plan(qplan *p, const lp_format *f) {
  memset(p, 0, sizeof *p);
  int M = f->mbits;
  p->sr = f->mode == LP_SR;
  p->mode = (int)f->mode;
  /* fnuz and e8m0 (no -0; no zero) take the exact path */
  p->fast = f->emin >= -126 && f->policy <= LP_FIN;
  p->D = (uint32_t)(23 - M);
  p->nmask = ~((UINT32_C(1) << p->D) - 1);
  p->halfm1 = p->D > 0 ? (UINT32_C(1) << (p->D - 1)) - 1 : 0;
  p->pbit = p->D > 0 ? 1 : 0;
  /* For M = 0 the code's last bit is the exponent field's; the binary32
   * exponent field (e + 127) and the code (e - emin + 1) differ in parity
   * when emin is odd. */
  p->pflip = (M == 0 && (f->emin & 1)) ? 1 : 0;
  p->thr = f->emin <= 127 ? pow2f(f->emin) : INFINITY;
  double q = f->subnormals ? f->quantum : f->minnorm;
  int qe;
  frexp(q, &qe);
  qe -= 1;                                   /* q = 2^qe */
  p->s1 = pow2f(-qe / 2);
  p->s2 = pow2f(-qe - (-qe / 2));
  p->q = (float)q;
  p->maxv = (float)f->maxval;
  p->ovpos = (float)lp_format_overflow_value(f, 0);
  p->ovneg = (float)lp_format_overflow_value(f, 1);
  {
    float big = f->overflow == LP_SAT ? (float)f->maxval : f->policy == LP_FN ? NAN : INFINITY;
    p->infpos = big;
    p->infneg = -big;
  }
  p->unsign = !f->is_signed;
  int k = f->sr_bits >= 1 && f->sr_bits <= 32 ? f->sr_bits : 32;
  uint32_t kk = (uint32_t)k < p->D ? (uint32_t)k : p->D;
  p->radd_on = kk > 0;
  p->rs = kk > 0 ? 32 - kk : 0;
  p->ls = p->D - kk;
  p->gshift = (uint32_t)(32 - k);
  p->topmask = k == 32 ? UINT32_MAX : ~((UINT32_C(1) << (32 - k)) - 1);
  p->two_k = pow2f(k);
  p->key = lp_rng_key(f->seed, 0);
  int ee = -(f->emin - M);
  p->es1 = pow2f(ee / 2);
  p->es2 = pow2f(ee - ee / 2);
  p->signbit = f->is_signed ? UINT32_C(1) << (f->ebits + M) : 0;
  uint32_t emask = (UINT32_C(1) << f->ebits) - 1;
  if (f->policy == LP_FN) p->nancode = (UINT32_C(1) << (f->ebits + M)) - 1;
  else if (f->policy == LP_IEEE && M > 0) p->nancode = (emask << M) | (UINT32_C(1) << (M - 1));
  else p->nancode = 0;
  p->infcode = f->policy == LP_IEEE ? emask << M : 0;
  p->emin = f->emin;
  p->mbits = M;
}

/* ---------------------------------------------------------- the lanes */

#define INLINE static inline __attribute__((always_inline))

/* sr when few elements fall below thr: a group whose lanes all lie above
 * it skips the fixed-gap arithmetic (a branch that pays only when it is
 * rarely taken; lp_quantize picks it from a sample of the input). */
#define SR_SKIP 100

/* On x86 the lanes are also built for AVX2 and chosen at run time; other
 * machines use the baseline build alone. */
#if defined(__x86_64__) || defined(__i386__)
#define LP_X86 1
#define LP_AVX2 __attribute__((target("avx2")))
#else
#define LP_X86 0
#define LP_AVX2
#endif

/* lanewise m ? a : b for a mask m of all-ones / all-zeros lanes (a macro:
 * no function takes a vector by value) */
#define sel(m, a, b) ((((vu)(m)) & (a)) | (~((vu)(m)) & (b)))

INLINE vu bcast_u(uint32_t x) { return (vu){x, x, x, x, x, x, x, x}; }
INLINE vf bcast_f(float x) { return (vf){x, x, x, x, x, x, x, x}; }

/* The plan's numbers as lane vectors, built once per call. */
typedef struct {
  vu halfm1, pflip, pbit, nmask, signmask, topmask, one, zero, lowmask, half, lsb, expinf;
  vf thr, s1, s2, q, maxv, ovpos, ovneg, infpos, infneg, magic, two_km1, halff, zerof;
  vu ovxor;
  vq steps, m1, m2;
  uint64_t key0;
  uint32_t D, rs, ls, gshift;
  int radd_on, unsign;
} vplan;

INLINE void make_vplan(vplan *v, const qplan *p) {
  v->halfm1 = bcast_u(p->halfm1);
  v->pflip = bcast_u(p->pflip);
  v->pbit = bcast_u(p->pbit);
  v->nmask = bcast_u(p->nmask);
  v->signmask = bcast_u(0x80000000u);
  v->topmask = bcast_u(p->topmask);
  v->one = bcast_u(1);
  v->zero = bcast_u(0);
  v->lowmask = ~v->nmask;
  v->half = bcast_u(p->D > 0 ? UINT32_C(1) << (p->D - 1) : 0);
  v->lsb = bcast_u(UINT32_C(1) << p->D);
  v->expinf = bcast_u(0x7f800000u);
  v->infpos = bcast_f(p->infpos);
  v->infneg = bcast_f(p->infneg);
  v->halff = bcast_f(0.5f);
  v->zerof = bcast_f(0.0f);
  v->thr = bcast_f(p->thr);
  v->s1 = bcast_f(p->s1);
  v->s2 = bcast_f(p->s2);
  v->q = bcast_f(p->q);
  v->maxv = bcast_f(p->maxv);
  v->ovpos = bcast_f(p->ovpos);
  v->ovneg = bcast_f(p->ovneg);
  v->magic = bcast_f(8388608.0f);
  v->two_km1 = bcast_f(p->two_k * 0.5f);
  v->ovxor = (vu)v->ovpos ^ (vu)v->ovneg;
  v->key0 = p->key;
  const uint64_t g = UINT64_C(0x9e3779b97f4a7c15), m1 = UINT64_C(0xbf58476d1ce4e5b9),
                 m2 = UINT64_C(0x94d049bb133111eb);
  v->steps = (vq){0, g, 2 * g, 3 * g};
  v->m1 = (vq){m1, m1, m1, m1};
  v->m2 = (vq){m2, m2, m2, m2};
  v->D = p->D;
  v->rs = p->rs;
  v->ls = p->ls;
  v->gshift = p->gshift;
  v->radd_on = (int)p->radd_on;
  v->unsign = p->unsign;
}

/* The random words W(base + lane) for an even base (see format.h). */
INLINE vu sr_words(const vplan *v, uint64_t base) {
  /* lp_rand64(key, c + j) mixes key + (c + j + 1) * golden, j = 0..3 */
  uint64_t z0 = v->key0 + ((base >> 1) + 1) * UINT64_C(0x9e3779b97f4a7c15);
  vq z = (vq){z0, z0, z0, z0} + v->steps;
  z = (z ^ (z >> 30)) * v->m1;
  z = (z ^ (z >> 27)) * v->m2;
  z = z ^ (z >> 31);
  return (vu)z;
}

/* Rounds 8 lanes (already divided by the scale) by `mode` (a constant
 * after inlining, so each mode gets its own loop). base: counter of lane
 * 0 (even; used by sr only). */
INLINE vf round8(const vplan *v, const vf *xp, uint64_t base, const int mode) {
  vf x = *xp;
  vu u = (vu)x;
  vu sg = u & v->signmask;
  vu au = u ^ sg;
  vf a = (vf)au;
  vi neg = (vi)u >> 31;
  vi lt = a < v->thr;
  /* lanes outside the fixed-gap range (and NaN) enter it as 0, so t stays
   * in [0, 2^M) and every conversion below is in range */
  vf t = (vf)((vu)lt & au) * v->s1 * v->s2;
  vu nu, ys;
  if (mode == LP_RNE) {
    nu = (au + v->halfm1 + (((au >> v->D) ^ v->pflip) & v->pbit)) & v->nmask;
    vf r = (t + v->magic) - v->magic;       /* the FPU's own ties-to-even */
    ys = (vu)(r * v->q);
  } else if (mode == LP_SR || mode == SR_SKIP) {
    vu w = sr_words(v, base);
    vu radd = v->radd_on ? (w >> v->rs) << v->ls : v->zero;
    nu = (au + radd) & v->nmask;
    vq any = (vq)lt;
    if (mode == SR_SKIP && (any[0] | any[1] | any[2] | any[3]) == 0) ys = nu;
    else {
      vi ni = __builtin_convertvector(t, vi);
      vf nf = __builtin_convertvector(ni, vf);
      /* G = floor(frac 2^k) = 2 floor(h) + [frac(h) >= 1/2] with the exact
       * h = frac 2^(k-1) < 2^31, which converts to int32 */
      vf h = (t - nf) * v->two_km1;
      vi hi = __builtin_convertvector(h, vi);
      vi odd = (h - __builtin_convertvector(hi, vf)) >= v->halff;
      vu G = ((vu)hi << 1) - (vu)odd;
      vu Gs = G << v->gshift;
      vu sum = Gs + (w & v->topmask);
      vi up = sum < Gs;                     /* carry: floor(frac 2^k) + R >= 2^k */
      ys = (vu)(__builtin_convertvector(ni - up, vf) * v->q);
    }
  } else {
    /* directed modes, rna and rno: the bit pattern above the fixed-gap
     * range, integer and fraction of t below it */
    vu tr = au & v->nmask;
    vi inexact = (vi)((au & v->lowmask) != v->zero);
    vi ni = __builtin_convertvector(t, vi);
    vf nf = __builtin_convertvector(ni, vf);
    vf fr = t - nf;
    /* inexact below thr: a fraction, or a t so small that it underflowed */
    vi sub_inexact = (fr > v->zerof) | ((t == v->zerof) & (vi)(au != v->zero));
    vi up;
    if (mode == LP_RNA) {
      nu = (au + v->half) & v->nmask;
      up = fr >= v->halff;
    } else if (mode == LP_RTZ) {
      nu = tr;
      up = (vi)v->zero;
    } else if (mode == LP_RUP || mode == LP_RDN) {
      vi away = mode == LP_RUP ? ~neg : neg;
      nu = (au + ((vu)away & v->lowmask)) & v->nmask;
      up = sub_inexact & away;
    } else {                                  /* rno: an inexact result goes to the odd code */
      vi even = (vi)((((tr >> v->D) ^ v->pflip) & v->one) == v->zero);
      nu = tr + ((vu)(inexact & even) & v->lsb);
      up = sub_inexact & (vi)(((vu)ni & v->one) == v->zero);
    }
    ys = (vu)(__builtin_convertvector(ni - up, vf) * v->q);   /* up is 0 or -1 */
    (void)nf;
  }
  vu y = sel(lt, ys, nu);
  vi ov = (vf)y > v->maxv;
  vu ovv = (vu)v->ovpos ^ ((vu)neg & v->ovxor);
  vu res = sel(ov, ovv, y | sg);
  if (mode != LP_RNE && mode != LP_SR && mode != SR_SKIP) {   /* an infinite input is exact */
    vi isinf = (vi)(au == v->expinf);
    res = sel(isinf, sel(neg, (vu)v->infneg, (vu)v->infpos), res);
  }
  vi nan = x != x;
  res = sel(nan, u, res);
  if (v->unsign) res = sel(neg & ~nan, v->zero, res);
  return (vf)res;
}

/* Rounds n elements with counters ctr, ctr+1, ...; the 8-lane groups
 * start at even counters so that W pairs line up. */
INLINE void run_lanes_mode(const qplan *plan, float *dst, const float *src, size_t n, float scale,
                           int rescale, uint64_t ctr, const int mode) {
  vplan V;                    /* a local: stores to dst cannot alias it */
  make_vplan(&V, plan);
  const vplan *p = &V;
  const vf vs = bcast_f(scale);
  const int scaled = scale != 1.0f;
  size_t i = 0;
  /* partial groups (an odd first counter, the tail) through a buffer */
#define PARTIAL()                                                        \
  do {                                                                   \
    uint64_t c = ctr + i;                                                \
    size_t off = (size_t)(c & 1);                                        \
    size_t m = n - i < 8 - off ? n - i : 8 - off;                        \
    float buf[8] = {0};                                                  \
    vf x, y;                                                             \
    memcpy(buf + off, src + i, m * sizeof(float));                       \
    memcpy(&x, buf, sizeof x);                                           \
    if (scaled) x = x / vs;                                              \
    y = round8(p, &x, c - off, mode);                                      \
    if (scaled && rescale) y = y * vs;                                   \
    memcpy(buf, &y, sizeof y);                                           \
    memcpy(dst + i, buf + off, m * sizeof(float));                       \
    i += m;                                                              \
  } while (0)
  if (n > 0 && ((ctr & 1) || n < 8)) PARTIAL();
  if (scaled)
    for (; i + 8 <= n; i += 8) {
      vf x;
      memcpy(&x, src + i, sizeof x);
      x = x / vs;
      vf y = round8(p, &x, ctr + i, mode);
      if (rescale) y = y * vs;
      memcpy(dst + i, &y, sizeof y);
    }
  else {
    for (; i + 16 <= n; i += 16) {              /* two independent groups */
      vf x0, x1;
      memcpy(&x0, src + i, sizeof x0);
      memcpy(&x1, src + i + 8, sizeof x1);
      vf y0 = round8(p, &x0, ctr + i, mode);
      vf y1 = round8(p, &x1, ctr + i + 8, mode);
      memcpy(dst + i, &y0, sizeof y0);
      memcpy(dst + i + 8, &y1, sizeof y1);
    }
    for (; i + 8 <= n; i += 8) {
      vf x;
      memcpy(&x, src + i, sizeof x);
      vf y = round8(p, &x, ctr + i, mode);
      memcpy(dst + i, &y, sizeof y);
    }
  }
  while (i < n) PARTIAL();
#undef PARTIAL
}

INLINE void run_lanes(const qplan *p, float *dst, const float *src, size_t n, float scale,
                      int rescale, uint64_t ctr) {
  switch (p->mode) {
    case LP_RNE: run_lanes_mode(p, dst, src, n, scale, rescale, ctr, LP_RNE); break;
    case LP_RNA: run_lanes_mode(p, dst, src, n, scale, rescale, ctr, LP_RNA); break;
    case LP_RTZ: run_lanes_mode(p, dst, src, n, scale, rescale, ctr, LP_RTZ); break;
    case LP_RUP: run_lanes_mode(p, dst, src, n, scale, rescale, ctr, LP_RUP); break;
    case LP_RDN: run_lanes_mode(p, dst, src, n, scale, rescale, ctr, LP_RDN); break;
    case LP_RNO: run_lanes_mode(p, dst, src, n, scale, rescale, ctr, LP_RNO); break;
    default:
      if (p->sr_skip) run_lanes_mode(p, dst, src, n, scale, rescale, ctr, SR_SKIP);
      else run_lanes_mode(p, dst, src, n, scale, rescale, ctr, LP_SR);
      break;
  }
}

LP_AVX2 static void lanes_avx2(const qplan *p, float *dst, const float *src,
                                                       size_t n, float scale, int rescale, uint64_t ctr) {
  run_lanes(p, dst, src, n, scale, rescale, ctr);
}

static void lanes_base(const qplan *p, float *dst, const float *src, size_t n, float scale,
                       int rescale, uint64_t ctr) {
  run_lanes(p, dst, src, n, scale, rescale, ctr);
}

static int simd_level = 1;

int lp_quantize_simd(int level) {
  int old = simd_level;
  simd_level = level ? 1 : 0;
  return old;
}

static int have_avx2(void) {
#if LP_X86
  static int cached = -1;
  if (cached < 0) {
    __builtin_cpu_init();
    cached = __builtin_cpu_supports("avx2") ? 1 : 0;
  }
  return cached && simd_level;
#else
  return 0;
#endif
}

/* Codes of 8 values of the format (the output of round8): the bit
 * pattern's exponent and top mantissa bits in the normal range, the
 * value in units of the subnormal gap below it; inf and NaN by table. */
typedef struct {
  vf thr, es1, es2;
  vu nbase, signbit, nancode, infcode, expinf, mantmask, absmask;
  uint32_t M, D;
} venc;

INLINE void make_venc(venc *e, const qplan *p) {
  e->thr = bcast_f(p->thr);
  e->es1 = bcast_f(p->es1);
  e->es2 = bcast_f(p->es2);
  e->nbase = bcast_u((uint32_t)(127 + p->emin - 1));
  e->signbit = bcast_u(p->signbit);
  e->nancode = bcast_u(p->nancode);
  e->infcode = bcast_u(p->infcode);
  e->expinf = bcast_u(0x7f800000u);
  e->mantmask = bcast_u(0x7fffffu);
  e->absmask = bcast_u(0x7fffffffu);
  e->M = (uint32_t)p->mbits;
  e->D = p->D;
}

INLINE vu encode8(const venc *e, const vf *yp) {
  vu u = (vu)*yp;
  vu au = u & e->absmask;
  vf a = (vf)au;
  vi lt = a < e->thr;
  vf t = (vf)((vu)lt & au) * e->es1 * e->es2;          /* exact integer below thr */
  vu msub = (vu)__builtin_convertvector(t, vi);
  vu mnorm = (((au >> 23) - e->nbase) << e->M) + ((au & e->mantmask) >> e->D);
  vu mag = sel(lt, msub, mnorm);
  mag = sel((vi)(au == e->expinf), e->infcode, mag);
  vu code = mag | ((vu)((vi)u >> 31) & e->signbit);
  return sel((vi)au > (vi)e->expinf, e->nancode, code);
}

INLINE void encode_lanes(const qplan *plan, uint32_t *codes, const float *y, size_t m) {
  venc E;
  make_venc(&E, plan);
  size_t i = 0;
  for (; i + 8 <= m; i += 8) {
    vf v;
    memcpy(&v, y + i, sizeof v);
    vu c = encode8(&E, &v);
    memcpy(codes + i, &c, sizeof c);
  }
  if (i < m) {
    float buf[8] = {0};
    uint32_t out[8];
    memcpy(buf, y + i, (m - i) * sizeof(float));
    vf v;
    memcpy(&v, buf, sizeof v);
    vu c = encode8(&E, &v);
    memcpy(out, &c, sizeof c);
    memcpy(codes + i, out, (m - i) * sizeof(uint32_t));
  }
}

LP_AVX2 static void encode_avx2(const qplan *p, uint32_t *codes, const float *y,
                                                        size_t m) {
  encode_lanes(p, codes, y, m);
}

static void encode_base(const qplan *p, uint32_t *codes, const float *y, size_t m) {
  encode_lanes(p, codes, y, m);
}

/* ------------------------------------------------------------ drivers */

/* The exact path: any mode, one element at a time through lp_round. */
static void quantize_slow(const lp_format *f, float *dst, const float *src, size_t n,
                          float scale, uint64_t ctr0, int rescale) {
  for (size_t i = 0; i < n; i++) {
    float u = scale == 1.0f ? src[i] : src[i] / scale;
    float y = (float)lp_round(f, (double)u, ctr0 + i);
    dst[i] = scale == 1.0f || !rescale ? y : y * scale;
  }
}

static void quantize_block(const lp_format *f, const qplan *p, float *dst, const float *src,
                           size_t n, float scale, uint64_t ctr0, int rescale) {
  if (!p->fast) quantize_slow(f, dst, src, n, scale, ctr0, rescale);
  else if (have_avx2()) lanes_avx2(p, dst, src, n, scale, rescale, ctr0);
  else lanes_base(p, dst, src, n, scale, rescale, ctr0);
}

/* For sr: samples up to 256 elements; below 4% under thr a group of 8
 * has all lanes above it most of the time, and skipping pays. Speed only:
 * both ways give the same bits. */
static void choose_sr_skip(qplan *p, const float *src, size_t n, float scale) {
  p->sr_skip = 0;
  if (!p->sr || n == 0) return;
  size_t step = n > 256 ? n / 256 : 1, seen = 0, below = 0;
  for (size_t i = 0; i < n && seen < 256; i += step, seen++) {
    float a = fabsf(scale == 1.0f ? src[i] : src[i] / scale);
    below += a < p->thr;
  }
  p->sr_skip = below * 25 < seen;
}

typedef struct {
  const lp_format *f;
  qplan plan;
  float *dst;
  uint32_t *codes;
  const float *src;
  float scale;
  uint64_t ctr0;
} qjob;

static void quantize_range(void *ctx, size_t begin, size_t end) {
  qjob *j = ctx;
  quantize_block(j->f, &j->plan, j->dst + begin, j->src + begin, end - begin, j->scale,
                 j->ctr0 + begin, 1);
}

/* A job over src[0, n): the format's plan (with the sr-skip choice made
 * from a sample of src) and where the values or the codes go. */
static void make_job(qjob *j, const lp_format *f, float *dst, uint32_t *codes, const float *src,
                     size_t n, float scale, uint64_t ctr0) {
  j->f = f;
  make_plan(&j->plan, f);
  choose_sr_skip(&j->plan, src, n, scale);
  j->dst = dst;
  j->codes = codes;
  j->src = src;
  j->scale = scale;
  j->ctr0 = ctr0;
}

void lp_quantize(const lp_format *f, float *dst, const float *src, size_t n, float scale,
                 uint64_t ctr0) {
  if (f->identity && scale == 1.0f) {
    if (dst != src) memmove(dst, src, n * sizeof *dst);
    return;
  }
  qjob j;
  make_job(&j, f, dst, NULL, src, n, scale, ctr0);
  lp_parallel_for(n, 1 << 16, quantize_range, &j);
}

static void codes_range(void *ctx, size_t begin, size_t end) {
  qjob *j = ctx;
  float buf[512];
  for (size_t i = begin; i < end; i += 512) {
    size_t m = end - i < 512 ? end - i : 512;
    quantize_block(j->f, &j->plan, buf, j->src + i, m, j->scale, j->ctr0 + i, 0);
    if (j->plan.fast) {
      if (have_avx2()) encode_avx2(&j->plan, j->codes + i, buf, m);
      else encode_base(&j->plan, j->codes + i, buf, m);
    } else
      for (size_t k = 0; k < m; k++) {
        uint32_t c;
        j->codes[i + k] = lp_encode(j->f, (double)buf[k], &c) == LP_OK ? c : 0;
      }
  }
}

void lp_quantize_codes(const lp_format *f, uint32_t *codes, const float *src, size_t n,
                       float scale, uint64_t ctr0) {
  qjob j;
  make_job(&j, f, NULL, codes, src, n, scale, ctr0);
  lp_parallel_for(n, 1 << 14, codes_range, &j);
}
