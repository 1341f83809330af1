/* format.h — minifloat formats: a format is data (this struct), one code
 * path serves every format. Plain C11, no Lua.
 *
 * Semantics are DESIGN.md's "Formats: the contract": values live in
 * float32 ("emulation"); rounding is IEEE 754 applied to the small format,
 * in one step from the input (a double is rounded directly, never through
 * float32). */
#ifndef LP_FORMAT_H
#define LP_FORMAT_H

#include <stddef.h>
#include <stdint.h>

typedef enum { LP_IEEE, LP_FN, LP_FIN } lp_policy;       /* special values */
typedef enum { LP_SAT, LP_INF } lp_overflow;              /* overflow rule  */
typedef enum { LP_RNE, LP_RNA, LP_RTZ, LP_RUP, LP_RDN, LP_RNO, LP_SR } lp_rmode;

typedef struct lp_format {
  /* what the spec says */
  int is_signed;        /* 1: a sign bit; 0: unsigned (`u` prefix)        */
  int ebits, mbits;     /* 0..8 and 0..23 (fp32 preset: identity)         */
  int bias;
  int subnormals;       /* 1: subnormals exist (default)                 */
  lp_policy policy;
  lp_overflow overflow;
  lp_rmode mode;
  int sr_bits;          /* random bits for LP_SR; 0 means exact (full)    */
  uint64_t seed;        /* for LP_SR                                      */
  int identity;         /* fp32: values pass unchanged (doubles round to binary32) */
  /* derived by the parser */
  int bits;             /* total bits: is_signed + ebits + mbits          */
  int emin;             /* exponent of the smallest normal: 1 - bias      */
  int emax;             /* exponent of the largest finite value           */
  double maxval;        /* largest finite value                           */
  double minnorm;       /* smallest normal value                          */
  double minsub;        /* smallest positive value (minnorm if nosub)     */
  char spec[96];        /* canonical spec string, e.g. "e2m1:fin:sat:rne" */
  char name[32];        /* preset name or spec head, e.g. "fp4"          */
} lp_format;

/* Status codes of the core (never exits, never prints). */
enum { LP_OK = 0, LP_EPARSE = 1, LP_ERANGE = 2, LP_ENOMEM = 3, LP_EINVAL = 4 };

/* Parses a spec string (a preset or [u]eXmY, then :options) into *f.
 * On error returns LP_EPARSE/LP_ERANGE and writes one line into err, e.g.
 * "e4m9q: unexpected 'q' at column 5, expected ':' or end". */
int lp_format_parse(lp_format *f, const char *spec, char *err, size_t errlen);

/* Rounds x to the format by its mode. ctr is the element's counter for
 * stochastic rounding (ignored by the other modes): the random bits are
 * lp_rand64(lp_rng_key(f->seed, 0), ctr). */
double lp_round(const lp_format *f, double x, uint64_t ctr);

/* dst[i] = scale * Q(src[i] / scale) for i in [0, n), stochastic counters
 * ctr0 + i; dst may equal src. scale = 1 means none. Threads across the
 * pool for large n; bit-identical whatever the thread count. */
void lp_quantize(const lp_format *f, float *dst, const float *src, size_t n,
                 float scale, uint64_t ctr0);

/* Codes: an n-bit code is sign | exponent field | mantissa field. */
uint32_t lp_format_ncodes(const lp_format *f);          /* 2^bits (0 if identity) */
double lp_decode(const lp_format *f, uint32_t code);     /* NaN/inf as float */
/* Code of a value already in the format (after lp_round); returns 0 on
 * success, LP_EINVAL if x is not representable. -0 has the sign bit set. */
int lp_encode(const lp_format *f, double x, uint32_t *code);
/* Round then encode, for n float32 inputs (the LUT path): codes[i] =
 * code(Q(src[i] / scale)). */
void lp_quantize_codes(const lp_format *f, uint32_t *codes, const float *src,
                       size_t n, float scale, uint64_t ctr0);

/* Properties. */
double lp_format_epsilon(const lp_format *f);            /* 2^-mbits */
uint32_t lp_format_nvalues(const lp_format *f);          /* distinct finite values (+0 and -0 count once) */
double lp_format_binades(const lp_format *f);            /* log2(max / minsub) */

#endif
