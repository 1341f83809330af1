/* codes.c — exact rounding to codes: the switching points of a format's
 * rounding found by bisection, bucketed for one-load lookups (codes.h). */
#include "core/codes.h"

#include <math.h>
#include <stdlib.h>

/* On x86 the small-format lookup (qact.c) also has an AVX2 loop, chosen at
 * run time: lp_qz_init records whether the machine has it. */
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define CODES_X86 1
#else
#define CODES_X86 0
#endif

static int have_avx2(void) {
#if CODES_X86
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") ? 1 : 0;
#else
  return 0;
#endif
}


static inline double unkey(int64_t k) {
  double d;
  if (k < 0) k ^= INT64_MAX;
  memcpy(&d, &k, sizeof d);
  return d;
}

typedef struct { int64_t key; uint32_t code; } keycode;

static int cmp_keycode(const void *a, const void *b) {
  const keycode *x = a, *y = b;
  return x->key < y->key ? -1 : x->key > y->key ? 1 : (x->code < y->code ? -1 : x->code > y->code);
}




/* binary32 bit patterns as signed integers in the order of the values
 * (-0 = -1 just below +0 = 0; NaNs beyond the infinities) and back. */
static inline int32_t skey_of_bits(uint32_t bits) {
  return (int32_t)(bits ^ ((uint32_t)((int32_t)bits >> 31) & 0x7fffffffu));
}

static float float_of_skey(int32_t k) {
  uint32_t bits = (uint32_t)k;
  if (k < 0) bits ^= 0x7fffffffu;
  float f;
  memcpy(&f, &bits, sizeof f);
  return f;
}

static float float_of_ukey(uint32_t uk) {
  uint32_t k = uk ^ 0x80000000u;
  uint32_t bits = (k & 0x80000000u) ? k ^ 0x7fffffffu : k;
  float f;
  memcpy(&f, &bits, sizeof f);
  return f;
}

int lp_qz_init(lp_qz *q, const lp_format *f) {
  memset(q, 0, sizeof *q);
  q->f = *f;
  if (f->identity) {
    q->identity = 1;
    q->lo = -INFINITY, q->hi = INFINITY;
    return LP_OK;
  }
  q->hi = f->maxval;
  q->lo = f->is_signed ? -f->maxval : 0.0;
  if (f->bits > LP_QZ_MAXBITS) {
    q->wide = 1;
    return LP_OK;
  }
  uint32_t nc = lp_format_ncodes(f);
  q->ncodes = nc;
  q->val = malloc((nc + 1) * sizeof *q->val);
  keycode *kc = malloc(nc * sizeof *kc);
  if (!q->val || !kc) {
    free(kc);
    lp_qz_free(q);
    return LP_ENOMEM;
  }
  for (uint32_t c = 0; c < nc; c++) q->val[c] = lp_decode(f, c);
  q->val[nc] = NAN;
  uint32_t code;
  q->code_zero = lp_encode(f, 0.0, &code) == 0 ? code : 0;
  q->code_negzero = f->is_signed && lp_encode(f, -0.0, &code) == 0 ? code : q->code_zero;
  /* the fast path needs a deterministic monotone rounding with no NaN
   * from finite or infinite input */
  q->fast = f->mode != LP_SR;
  const double probes[] = { -INFINITY, -1e300, -1.0, -0.0, 0.0, 1.0, 1e300, INFINITY };
  for (size_t i = 0; i < sizeof probes / sizeof *probes; i++)
    if (isnan(lp_round(f, probes[i], 0))) q->fast = 0;
  /* ranks: the values that rounding maps to themselves, in key order */
  int nr = 0;
  for (uint32_t c = 0; c < nc; c++) {
    double v = q->val[c];
    if (isnan(v)) continue;
    double r = lp_round(f, v, 0);
    if (lp_okey(r) != lp_okey(v)) continue;
    kc[nr].key = lp_okey(v), kc[nr].code = c, nr++;
  }
  qsort(kc, (size_t)nr, sizeof *kc, cmp_keycode);
  int m = 0;
  for (int i = 0; i < nr; i++)
    if (m == 0 || kc[i].key != kc[m - 1].key) kc[m++] = kc[i];
  nr = m;
  q->nranks = nr;
  q->rcode = malloc((size_t)(nr > 0 ? nr : 1) * sizeof *q->rcode);
  q->thr = malloc((size_t)(nr > 1 ? nr - 1 : 1) * sizeof *q->thr);
  if (!q->rcode || !q->thr) {
    free(kc);
    lp_qz_free(q);
    return LP_ENOMEM;
  }
  for (int i = 0; i < nr; i++) q->rcode[i] = kc[i].code;
  if (q->fast) {
    /* switching point between ranks r and r+1: the smallest key whose
     * rounding reaches rank r+1 (bisection keeps Q(lo) < v_{r+1} <= Q(hi)) */
    for (int r = 0; r + 1 < nr; r++) {
      int64_t lo = kc[r].key, hi = kc[r + 1].key;
      while (hi - lo > 1) {
        int64_t mid = lo + (hi - lo) / 2;
        if (lp_okey(lp_round(f, unkey(mid), 0)) >= kc[r + 1].key) hi = mid;
        else lo = mid;
      }
      q->thr[r] = hi;
    }
  }
  free(kc);
  if (q->fast && nr > 1) {
    size_t nb = (size_t)1 << LP_QZ_BUCKET_BITS;
    q->bucket = malloc(nb * sizeof *q->bucket);
    if (!q->bucket) {
      lp_qz_free(q);
      return LP_ENOMEM;
    }
    int shift = 64 - LP_QZ_BUCKET_BITS;
    for (size_t bk = 0; bk < nb; bk++) {
      int64_t klo = (int64_t)(((uint64_t)bk << shift) ^ UINT64_C(0x8000000000000000));
      int64_t khi = (int64_t)((((uint64_t)bk << shift) | ((UINT64_C(1) << shift) - 1)) ^ UINT64_C(0x8000000000000000));
      uint32_t lo = lp_count_le(q->thr, (size_t)nr - 1, klo), hi = lp_count_le(q->thr, (size_t)nr - 1, khi);
      q->bucket[bk] = lo == hi ? q->rcode[lo]
                               : (UINT64_C(1) << 63) | ((uint64_t)hi << 32) | lo;
    }
    if (f->bits <= 15) {
      q->fbucket = malloc(((size_t)1 << 13) * sizeof *q->fbucket);
      if (!q->fbucket) {
        lp_qz_free(q);
        return LP_ENOMEM;
      }
      const uint64_t slow = (UINT64_C(0xffff) << 48) | (UINT64_C(0xffff) << 32);
      for (uint32_t bk = 0; bk < (1u << 13); bk++) {
        uint32_t u0 = bk << 19, u1 = u0 | 0x7ffffu;
        float fl = float_of_ukey(u0), fh = float_of_ukey(u1);
        if (isnan(fl) || isnan(fh) || isinf(fl) || isinf(fh)) {
          q->fbucket[bk] = slow;
          continue;
        }
        uint32_t lo = lp_count_le(q->thr, (size_t)nr - 1, lp_okey((double)fl));
        uint32_t hi = lp_count_le(q->thr, (size_t)nr - 1, lp_okey((double)fh));
        if (lo == hi) {
          q->fbucket[bk] = ((uint64_t)q->rcode[lo] << 48) | ((uint64_t)q->rcode[lo] << 32);
        } else if (hi == lo + 1) {
          /* the first float of the bucket at or past the switching point */
          int64_t t = q->thr[lo];
          uint32_t a = u0, b = u1;          /* key(a) < t <= key(b) */
          if (lp_okey((double)float_of_ukey(a)) >= t) b = a;
          while (b - a > 1) {
            uint32_t mid = a + (b - a) / 2;
            if (lp_okey((double)float_of_ukey(mid)) >= t) b = mid;
            else a = mid;
          }
          q->fbucket[bk] = ((uint64_t)q->rcode[hi] << 48) | ((uint64_t)q->rcode[lo] << 32) | b;
        } else {
          q->fbucket[bk] = slow;
        }
      }
      if (nr <= LP_QZ_SMALL) {
        /* each switching point as the first binary32 signed key at or
         * past it (keys of -inf .. +inf; past +inf: +inf's key + 1) */
        const int64_t kmin = skey_of_bits(0xff800000u), kmax = skey_of_bits(0x7f800000u);
        for (int r = 0; r + 1 < nr; r++) {
          int64_t a = kmin - 1, b = kmax + 1;   /* key(a) < t <= key(b) */
          while (b - a > 1) {
            int64_t mid = a + (b - a) / 2;
            if (lp_okey((double)float_of_skey((int32_t)mid)) >= q->thr[r]) b = mid;
            else a = mid;
          }
          q->sthr[r] = (int32_t)b;
        }
        q->nsmall = nr;
        q->avx2 = have_avx2();
      }
    }
  }
  return LP_OK;
}

void lp_qz_free(lp_qz *q) {
  free(q->bucket);
  free(q->fbucket);
  q->bucket = NULL, q->fbucket = NULL;
  free(q->thr);
  free(q->rcode);
  free(q->val);
  q->thr = NULL, q->rcode = NULL, q->val = NULL;
}

uint32_t lp_qz_code(const lp_qz *q, double x, uint64_t ctr) {
  if (isnan(x)) return q->ncodes;
  if (q->fast) return lp_qz_code_fast(q, x);
  double r = lp_round(&q->f, x, ctr);
  uint32_t c;
  if (isnan(r) || lp_encode(&q->f, r, &c) != 0) return q->ncodes;
  return c;
}

double lp_qz_round(const lp_qz *q, double x, uint64_t ctr) {
  if (q->identity) return (double)(float)x;
  if (q->wide) return lp_round(&q->f, x, ctr);
  return q->val[lp_qz_code(q, x, ctr)];
}

