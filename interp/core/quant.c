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

/* The 32- and 64-byte vectors of quant_lanes.h never cross a call
 * boundary (every function taking or returning one is always_inline), so
 * the ABI note about them does not apply. */
#pragma GCC diagnostic ignored "-Wpsabi"

/* Per-format constants of the fast path. */
typedef struct {
  int fast;                 /* 1: rne or sr through the lanes */
  int sr;
  int sr_skip;              /* sr: use SR_SKIP (few elements below thr) */
  int level;                /* lane build: an index into levels[] */
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
  else p->nancode = LP_CODE_NONE;
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

#define LW 8
#include "core/quant_lanes.h"
#undef LW
#define LW 16
#include "core/quant_lanes.h"
#undef LW

/* On x86 the lanes are also built for AVX2 (8 lanes) and AVX-512 (16
 * lanes; F, VL, DQ and BW: DQ brings the 64-bit multiply of the sr words)
 * and chosen at run time; other machines use the baseline build alone. */
#if defined(__x86_64__) || defined(__i386__)
#define LP_X86 1
#define LP_AVX2 __attribute__((target("avx2")))
#define LP_AVX512 __attribute__((target("avx512f,avx512vl,avx512dq,avx512bw")))
#else
#define LP_X86 0
#define LP_AVX2
#define LP_AVX512
#endif

static void lanes_base(const qplan *p, float *dst, const float *src, size_t n, float scale,
                       int rescale, uint64_t ctr) {
  run_lanes_8(p, dst, src, n, scale, rescale, ctr);
}

static void encode_base(const qplan *p, uint32_t *codes, const float *y, size_t m) {
  encode_lanes_8(p, codes, y, m);
}

#if LP_X86
LP_AVX2 static void lanes_avx2(const qplan *p, float *dst, const float *src, size_t n,
                               float scale, int rescale, uint64_t ctr) {
  run_lanes_8(p, dst, src, n, scale, rescale, ctr);
}

LP_AVX2 static void encode_avx2(const qplan *p, uint32_t *codes, const float *y, size_t m) {
  encode_lanes_8(p, codes, y, m);
}

LP_AVX512 static void lanes_avx512(const qplan *p, float *dst, const float *src, size_t n,
                                   float scale, int rescale, uint64_t ctr) {
  run_lanes_16(p, dst, src, n, scale, rescale, ctr);
}

LP_AVX512 static void encode_avx512(const qplan *p, uint32_t *codes, const float *y, size_t m) {
  encode_lanes_16(p, codes, y, m);
}
#endif

/* The lane builds, by level; a level the CPU lacks falls to the best
 * below it. */
typedef void (*lanes_fn)(const qplan *, float *, const float *, size_t, float, int, uint64_t);
typedef void (*encode_fn)(const qplan *, uint32_t *, const float *, size_t);
static const struct {
  const char *name;
  lanes_fn lanes;
  encode_fn encode;
} levels[] = {
  {"portable", lanes_base, encode_base},
#if LP_X86
  {"avx2", lanes_avx2, encode_avx2},
  {"avx512", lanes_avx512, encode_avx512},
#endif
};
enum { NLEVELS = (int)(sizeof levels / sizeof levels[0]) };

static int cpu_level = -1;          /* the best level the CPU runs */
static int simd_level = -1;         /* the level in use; -1: the best */

int lp_quantize_simd_max(void) {
  if (cpu_level < 0) {
    int l = 0;
#if LP_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2")) l = 1;
    if (l == 1 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw"))
      l = 2;
#endif
    cpu_level = l;
  }
  return cpu_level;
}

int lp_quantize_simd(int level) {
  int old = simd_level < 0 ? lp_quantize_simd_max() : simd_level;
  int max = lp_quantize_simd_max();
  simd_level = level < 0 || level > max ? max : level;
  return old;
}

const char *lp_quantize_simd_name(int level) {
  return level >= 0 && level < NLEVELS ? levels[level].name : "none";
}

/* Read on the calling thread when a job is made, never by the workers. */
static int current_level(void) {
  if (simd_level < 0) lp_quantize_simd(-1);
  return simd_level;
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
  else levels[p->level].lanes(p, dst, src, n, scale, rescale, ctr0);
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
  j->plan.level = current_level();
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
  /* a second thread from 64K elements: 1.6x there with a free core, and
   * a call long enough (20-35 us) that the wake-up signal costs under 3%
   * when the other core is busy (docs/performance.md, "Threads that never
   * slow a kernel down") */
  lp_parallel_for(n, 1 << 15, quantize_range, &j);
}

static void codes_range(void *ctx, size_t begin, size_t end) {
  qjob *j = ctx;
  float buf[512];
  for (size_t i = begin; i < end; i += 512) {
    size_t m = end - i < 512 ? end - i : 512;
    quantize_block(j->f, &j->plan, buf, j->src + i, m, j->scale, j->ctr0 + i, 0);
    if (j->plan.fast) {
      levels[j->plan.level].encode(&j->plan, j->codes + i, buf, m);
    } else
      for (size_t k = 0; k < m; k++) {
        uint32_t c;
        j->codes[i + k] = lp_encode(j->f, (double)buf[k], &c) == LP_OK ? c : LP_CODE_NONE;
      }
  }
}

void lp_quantize_codes(const lp_format *f, uint32_t *codes, const float *src, size_t n,
                       float scale, uint64_t ctr0) {
  qjob j;
  make_job(&j, f, NULL, codes, src, n, scale, ctr0);
  lp_parallel_for(n, 1 << 14, codes_range, &j);
}
