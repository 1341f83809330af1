/* codes.h — exact rounding to the codes of a format, for the table
 * lookups of quantized activations (qact.c) and any kernel that needs
 * code(Q(x)) fast. Plain C11, no Lua.
 *
 * Rounding to codes (lp_qz): for every deterministic rounding mode the map
 * x -> Q(x) is monotone over the reals ordered with -0 < +0, so it is a step
 * function; lp_qz_init finds each step's switching point exactly by
 * bisection over the ordered bit patterns of doubles (calling lp_round),
 * once per layer. Stochastic rounding and non-monotone overflow rules
 * (fn:inf) fall back to lp_round + lp_encode per element. */
#ifndef LP_CODES_H
#define LP_CODES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/format.h"

#define LP_QZ_MAXBITS 16

typedef struct lp_qz {
  lp_format f;
  int identity;         /* fp32: no codes, values pass (as binary32)      */
  int wide;             /* more than LP_QZ_MAXBITS bits: no codes         */
  int fast;             /* threshold search valid (see file comment)      */
  uint32_t ncodes;      /* 2^bits; code ncodes is the NaN-input sentinel  */
  int nranks;           /* distinct non-NaN values, ordered with -0 < +0  */
  int64_t *thr;         /* (nranks - 1) switching points, ordered keys    */
  uint32_t *rcode;      /* (nranks) rank -> code                          */
  double *val;          /* (ncodes + 1) code -> value; [ncodes] is NaN    */
  double lo, hi;        /* smallest and largest finite value              */
  uint32_t code_zero, code_negzero;  /* codes of +0 and -0 (same if none) */
  /* buckets over the top LP_QZ_BUCKET_BITS bits of a double's ordered key
   * (sign, exponent, 3 mantissa bits): a bucket holding one rank stores its
   * code (top bit clear), so most inputs find their code with one load;
   * otherwise (top bit set) it stores the rank range [lo, hi) to search. */
  uint64_t *bucket;
  /* the same for binary32 inputs (formats of at most 15 bits), by their
   * top 13 bits (sign, exponent, 4 mantissa bits), each bucket holding at
   * most one switching point: bits 0-31 the ordered key where the code
   * changes, 32-47 the code below it, 48-63 the code from it on; 0xffff
   * (never a code) where the double path must decide (infinities, NaNs,
   * more than one switching point) */
  uint64_t *fbucket;
  /* formats of at most LP_QZ_SMALL ranks (FP4 and narrower), binary32
   * inputs: the rank of x is the number of sthr[j] (j < nranks - 1) at or
   * below its signed key (the bit pattern with the magnitude bits flipped
   * when negative: -0 just below +0), NaN apart; 0 ranks: no such path.
   * The lookup's vector loop counts them 8 elements at a time. */
  int nsmall;
  int32_t sthr[16];
  int avx2;             /* the machine runs AVX2 (that loop may be used)   */
} lp_qz;

#define LP_QZ_SMALL 16

#define LP_QZ_BUCKET_BITS 15

/* Prepares q for format f (copied). Returns LP_OK or LP_ENOMEM. q owns
 * its arrays until lp_qz_free. Cost: ~64 lp_round calls per code. */
int lp_qz_init(lp_qz *q, const lp_format *f);
void lp_qz_free(lp_qz *q);
/* Code of Q(x) (ctr: the stochastic-rounding counter); NaN gives ncodes.
 * Only for formats with codes (not identity, not wide). */
uint32_t lp_qz_code(const lp_qz *q, double x, uint64_t ctr);
/* Q(x) as a double, for every format (identity rounds to binary32). */
double lp_qz_round(const lp_qz *q, double x, uint64_t ctr);

/* ---- the search, inline for the lookup loops ------------------------------ */

/* Doubles ordered as integers, with -0 < +0 (NaNs beyond the infinities). */
static inline int64_t lp_okey(double d) {
  int64_t k;
  memcpy(&k, &d, sizeof k);
  return k < 0 ? k ^ INT64_MAX : k;
}

/* The number of thresholds <= key in a[0, n), branch-free (the loop keeps
 * every threshold before b at or below key, every one past the window above). */
static inline uint32_t lp_count_le(const int64_t *a, size_t n, int64_t k) {
  if (n == 0) return 0;
  const int64_t *b = a;
  while (n > 1) {
    size_t h = n / 2;
    b = (b[h - 1] <= k) ? b + h : b;
    n -= h;
  }
  return (uint32_t)((b - a) + (b[0] <= k));
}

static inline uint32_t lp_qz_code_fast(const lp_qz *q, double x) {
  int64_t k = lp_okey(x);
  if (q->bucket) {
    uint64_t e = q->bucket[((uint64_t)k ^ UINT64_C(0x8000000000000000)) >> (64 - LP_QZ_BUCKET_BITS)];
    if (!(e >> 63)) return (uint32_t)e;
    uint32_t lo = (uint32_t)e, hi = (uint32_t)(e >> 32) & 0x7fffffffu;
    return q->rcode[lo + lp_count_le(q->thr + lo, hi - lo, k)];
  }
  return q->rcode[lp_count_le(q->thr, (size_t)q->nranks - 1, k)];
}

/* binary32 bit patterns as unsigned integers in the order of the values
 * (-0 just below +0). */
static inline uint32_t lp_ukey_of_bits(uint32_t bits) {
  return (bits ^ ((uint32_t)((int32_t)bits >> 31) & 0x7fffffffu)) ^ 0x80000000u;
}

#endif
