/* format.h — minifloat formats: a format is data (this struct), one code
 * path serves every format. Plain C11, no Lua.
 *
 * Semantics (docs/formats.md, "Rounding, exactly"): values live in
 * float32 ("emulation"); rounding is IEEE 754 applied to the small format,
 * in one step from the input (a double is rounded directly, never through
 * float32). */
#ifndef LP_FORMAT_H
#define LP_FORMAT_H

#include <stddef.h>
#include <stdint.h>

/* Special values. fnuz: no infinity and no -0, the code of -0 is the one
 * NaN (ml_dtypes' *_fnuz types); e8m0: unsigned exponent-only with no
 * zero, every exponent field a power of two and the all-ones code NaN
 * (the OCP MX scale E8M0). */
typedef enum { LP_IEEE, LP_FN, LP_FIN, LP_FNUZ, LP_E8M0, LP_NPOLICIES } lp_policy;
typedef enum { LP_SAT, LP_INF } lp_overflow;              /* overflow rule  */
typedef enum { LP_RNE, LP_RNA, LP_RTZ, LP_RUP, LP_RDN, LP_RNO, LP_SR } lp_rmode;
/* Counts (kept out of the enums, so a switch over one lists members only);
 * format.c checks each name table against its count at compile time. */
#define LP_NOVERFLOWS ((int)LP_INF + 1)
#define LP_NMODES ((int)LP_SR + 1)

typedef struct lp_format {
  /* what the spec says */
  int is_signed;        /* 1: a sign bit; 0: unsigned (`u` prefix)        */
  int ebits, mbits;     /* 0..8 and 0..23 (fp32 preset: identity)         */
  int bias;
  int subnormals;       /* 1: subnormals exist (default)                 */
  lp_policy policy;
  lp_overflow overflow;
  lp_rmode mode;
  int sr_bits;          /* random bits for LP_SR, 1..32 (plain `sr`: 32)  */
  uint64_t seed;        /* for LP_SR                                      */
  int identity;         /* fp32: values pass unchanged (doubles round to binary32) */
  /* derived by the parser */
  int bits;             /* total bits: is_signed + ebits + mbits          */
  int emin;             /* exponent of the smallest normal: 1 - bias      */
  int emax;             /* exponent of the largest finite value           */
  double maxval;        /* largest finite value                           */
  double minnorm;       /* smallest normal value                          */
  double minsub;        /* smallest positive value (minnorm if nosub)     */
  uint32_t maxcode;     /* magnitude code (no sign bit) of the largest finite value */
  double quantum;       /* spacing of the subnormal binade: 2^(emin - mbits) */
  char spec[96];        /* canonical spec string, e.g. "e2m1:fin:sat:rne" */
  char name[32];        /* preset name or spec head, e.g. "fp4"          */
} lp_format;

/* Status codes of the core (never exits, never prints). */
enum { LP_OK = 0, LP_EPARSE = 1, LP_ERANGE = 2, LP_ENOMEM = 3, LP_EINVAL = 4 };

/* Parses a spec string (a preset or [u]eXmY, then :options) into *f.
 * On error returns LP_EPARSE/LP_ERANGE and writes one line into err, e.g.
 * "e4m9q: unexpected 'q' at column 5, expected ':' or end". */
int lp_format_parse(lp_format *f, const char *spec, char *err, size_t errlen);

/* Applies options ("rtz:seed=3", a leading ':' allowed) on top of a
 * parsed format; later options override the base (a policy change without
 * an overflow option takes that policy's default overflow rule). Same
 * errors as lp_format_parse, columns counted in opts. */
int lp_format_with(lp_format *f, const lp_format *base, const char *opts,
                   char *err, size_t errlen);

/* Rounds x to the format by its mode, exactly (docs/formats.md, "Rounding,
 * exactly"; an unsigned format sends every negative input to +0). ctr is
 * the element's counter for stochastic rounding (ignored by the other
 * modes). The random word of
 * counter c is W(c) = 32 bits of lp_rand64(lp_rng_key(f->seed, 0), c >> 1):
 * the low half for even c, the high half for odd c. With k = sr_bits and
 * R = W >> (32 - k), |x| goes up from its lower neighbour iff
 * floor(frac * 2^k) + R >= 2^k, frac the distance to the lower neighbour
 * in units of the gap (so P(up) = frac truncated to k bits). */
double lp_round(const lp_format *f, double x, uint64_t ctr);

/* dst[i] = scale * Q(src[i] / scale) for i in [0, n), stochastic counters
 * ctr0 + i; dst may equal src. scale (positive, finite) = 1 means none;
 * otherwise the
 * division and the multiplication are binary32 operations (exact for a
 * power-of-two scale), so dst[i] == (float)(scale * lp_round(f,
 * (float)(src[i] / scale), ctr0 + i)). Threads across the pool for large
 * n; bit-identical whatever the thread count. */
void lp_quantize(const lp_format *f, float *dst, const float *src, size_t n,
                 float scale, uint64_t ctr0);

/* Which lanes lp_quantize and lp_quantize_codes use: 0 = the portable
 * 8-lane code built for the baseline CPU, 1 = the same 8 lanes built for
 * AVX2, 2 = 16 lanes built for AVX-512 (F, VL, DQ, BW). -1 (and any level
 * above lp_quantize_simd_max()) selects the best the CPU runs, the
 * default. Returns the level in force before. For tests and benchmarks:
 * every level gives the same bits. */
int lp_quantize_simd(int level);
int lp_quantize_simd_max(void);             /* the best level this CPU runs */
const char *lp_quantize_simd_name(int level);   /* "portable", "avx2", "avx512" */

/* Codes: an n-bit code is sign | exponent field | mantissa field. */
uint32_t lp_format_ncodes(const lp_format *f);          /* 2^bits (0 if bits = 32) */
double lp_decode(const lp_format *f, uint32_t code);     /* NaN/inf as float */
/* Code of a value already in the format (after lp_round); returns 0 on
 * success, LP_EINVAL if x is not representable. -0 has the sign bit set. */
int lp_encode(const lp_format *f, double x, uint32_t *code);
/* Round then encode, for n float32 inputs (the LUT path): codes[i] =
 * code(Q(src[i] / scale)). Every code is < lp_format_ncodes(f), except
 * that a NaN in a format without a NaN code (fin, or ieee with M = 0)
 * gets LP_CODE_NONE, which is no code of any format under 32 bits: a
 * table lookup must test for it, so a NaN never reads back as a number. */
#define LP_CODE_NONE UINT32_MAX
void lp_quantize_codes(const lp_format *f, uint32_t *codes, const float *src,
                       size_t n, float scale, uint64_t ctr0);

/* Properties. */
double lp_format_epsilon(const lp_format *f);            /* 2^-mbits */
uint32_t lp_format_nvalues(const lp_format *f);          /* distinct finite values (+0 and -0 count once) */
double lp_format_binades(const lp_format *f);            /* log2(max / minsub) */
int lp_format_has_inf(const lp_format *f);
int lp_format_has_nan(const lp_format *f);
/* Fields of a code: sign (0 for unsigned), exponent field, mantissa field,
 * and its kind. */
typedef enum { LP_KIND_ZERO, LP_KIND_SUBNORMAL, LP_KIND_NORMAL, LP_KIND_INF,
               LP_KIND_NAN, LP_KIND_UNUSED } lp_code_kind;
lp_code_kind lp_code_fields(const lp_format *f, uint32_t code, int *sign,
                            uint32_t *efield, uint32_t *mfield);
/* Names: "ieee", "sat", "rne", ...: the one list of each concept, indexed
 * by its enum (the spec parser, the bindings and Lua's
 * lpact.format_names() read these). An id out of range aborts (a bug). */
const char *lp_policy_name(lp_policy p);
const char *lp_overflow_name(lp_overflow o);
const char *lp_rmode_name(lp_rmode m);
/* The id of the name w[0, len) (not NUL-terminated), or -1. */
int lp_policy_from_name(const char *w, size_t len);
int lp_overflow_from_name(const char *w, size_t len);
int lp_rmode_from_name(const char *w, size_t len);
/* The presets, NULL-terminated, in docs/formats.md's order. */
extern const char *const lp_format_presets[];
/* The names other tools use (ml_dtypes, PyTorch, OCP), NULL-terminated,
 * and the canonical spec each stands for (lp_format_alias_spec). */
extern const char *const lp_format_aliases[];

#endif
