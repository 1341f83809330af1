/* format.c — minifloat formats: the spec parser, properties, exact
 * rounding of a double in one step, encode and decode.
 *
 * Rounding works on the double's integer significand: |x| = S * 2^k with
 * S < 2^53, the format's gap at x is 2^Q, and |x| / 2^Q = n + frac with the
 * integer n and the remainder obtained by shifts, so every mode (ties,
 * round to odd, stochastic) decides from exact integers. The fast float32
 * kernels live in quant.c and must agree with lp_round bit for bit. */
#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "core/format.h"
#include "core/rng.h"

/* ---------------------------------------------------------------- names */

static const char *const policy_names[] = {"ieee", "fn", "fin", "fnuz", "e8m0"};
_Static_assert(sizeof policy_names / sizeof policy_names[0] == LP_NPOLICIES, "one name per policy");
static const char *const overflow_names[] = {"sat", "inf"};
_Static_assert(sizeof overflow_names / sizeof overflow_names[0] == LP_NOVERFLOWS, "one name per overflow rule");
static const char *const mode_names[] = {"rne", "rna", "rtz", "rup", "rdn", "rno", "sr"};
_Static_assert(sizeof mode_names / sizeof mode_names[0] == LP_NMODES, "one name per rounding mode");

static const char *name_of(const char *const *names, int n, int id) {
  if (id < 0 || id >= n) abort();   /* not a member: the caller's bug */
  return names[id];
}

static int id_of(const char *const *names, int n, const char *w, size_t len) {
  for (int i = 0; i < n; i++)
    if (strlen(names[i]) == len && memcmp(w, names[i], len) == 0) return i;
  return -1;
}

const char *lp_policy_name(lp_policy p) { return name_of(policy_names, LP_NPOLICIES, (int)p); }
const char *lp_overflow_name(lp_overflow o) { return name_of(overflow_names, LP_NOVERFLOWS, (int)o); }
const char *lp_rmode_name(lp_rmode m) { return name_of(mode_names, LP_NMODES, (int)m); }
int lp_policy_from_name(const char *w, size_t len) { return id_of(policy_names, LP_NPOLICIES, w, len); }
int lp_overflow_from_name(const char *w, size_t len) { return id_of(overflow_names, LP_NOVERFLOWS, w, len); }
int lp_rmode_from_name(const char *w, size_t len) { return id_of(mode_names, LP_NMODES, w, len); }

/* "a b c" (sep " ") or "a/b/c": the names of a list, for messages. */
static const char *names_text(char *buf, size_t size, const char *const *names, int n,
                              const char *sep) {
  size_t at = 0;
  buf[0] = '\0';
  for (int i = 0; i < n && at < size; i++)
    at += (size_t)snprintf(buf + at, size - at, "%s%s", i ? sep : "", names[i]);
  return buf;
}

/* A named format: the presets first, then the names other tools use for
 * the same formats (aliases). overflow -1: the policy's default. */
typedef struct {
  const char *name;
  int is_signed, ebits, mbits, bias;
  lp_policy policy;
  int overflow;
  int alias;
} preset;

#define P(n, E, M, b, pol) {n, 1, E, M, b, pol, -1, 0}
/* ml_dtypes and PyTorch convert without saturating (a value past max
 * becomes inf or NaN): their names carry :inf. OCP leaves saturation to
 * the implementation: its names keep lpact's default. */
#define A(n, sg, E, M, b, pol, ov) {n, sg, E, M, b, pol, ov, 1}
static const preset presets[] = {
  P("fp32", 8, 23, 127, LP_IEEE), P("bf16", 8, 7, 127, LP_IEEE),
  P("fp16", 5, 10, 15, LP_IEEE),  P("fp8", 4, 3, 7, LP_FN),
  P("e4m3", 4, 3, 7, LP_FN),      P("e5m2", 5, 2, 15, LP_IEEE),
  P("fp6", 3, 2, 3, LP_FIN),      P("e3m2", 3, 2, 3, LP_FIN),
  P("e2m3", 2, 3, 1, LP_FIN),     P("fp4", 2, 1, 1, LP_FIN),
  P("e2m1", 2, 1, 1, LP_FIN),     P("fp3", 1, 1, 0, LP_FIN),
  P("fp2", 1, 0, 0, LP_FIN),
  /* ml_dtypes / PyTorch dtype names */
  A("float8_e4m3fn", 1, 4, 3, 7, LP_FN, LP_INF),
  A("float8_e5m2", 1, 5, 2, 15, LP_IEEE, LP_INF),
  A("float8_e4m3fnuz", 1, 4, 3, 8, LP_FNUZ, LP_INF),
  A("float8_e5m2fnuz", 1, 5, 2, 16, LP_FNUZ, LP_INF),
  A("float8_e4m3b11fnuz", 1, 4, 3, 11, LP_FNUZ, LP_INF),
  A("float6_e3m2fn", 1, 3, 2, 3, LP_FIN, LP_SAT),
  A("float6_e2m3fn", 1, 2, 3, 1, LP_FIN, LP_SAT),
  A("float4_e2m1fn", 1, 2, 1, 1, LP_FIN, LP_SAT),
  A("float8_e8m0fnu", 0, 8, 0, 127, LP_E8M0, LP_INF),
  A("bfloat16", 1, 8, 7, 127, LP_IEEE, LP_INF),
  A("float16", 1, 5, 10, 15, LP_IEEE, LP_INF),
  A("float32", 1, 8, 23, 127, LP_IEEE, LP_INF),
  /* short forms of the same */
  A("e4m3fn", 1, 4, 3, 7, LP_FN, LP_INF),
  A("e4m3fnuz", 1, 4, 3, 8, LP_FNUZ, LP_INF),
  A("e5m2fnuz", 1, 5, 2, 16, LP_FNUZ, LP_INF),
  A("e4m3b11fnuz", 1, 4, 3, 11, LP_FNUZ, LP_INF),
  A("e8m0fnu", 0, 8, 0, 127, LP_E8M0, LP_INF),
  /* OCP (MX specification) names */
  A("E4M3", 1, 4, 3, 7, LP_FN, -1),
  A("E5M2", 1, 5, 2, 15, LP_IEEE, -1),
  A("E3M2", 1, 3, 2, 3, LP_FIN, -1),
  A("E2M3", 1, 2, 3, 1, LP_FIN, -1),
  A("E2M1", 1, 2, 1, 1, LP_FIN, -1),
  A("E8M0", 0, 8, 0, 127, LP_E8M0, -1),
};
#undef P
#undef A
#define NPRESETS ((int)(sizeof presets / sizeof presets[0]))

const char *const lp_format_aliases[] = {
  "float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz", "float8_e5m2fnuz", "float8_e4m3b11fnuz",
  "float6_e3m2fn", "float6_e2m3fn", "float4_e2m1fn", "float8_e8m0fnu", "bfloat16", "float16",
  "float32", "e4m3fn", "e4m3fnuz", "e5m2fnuz", "e4m3b11fnuz", "e8m0fnu",
  "E4M3", "E5M2", "E3M2", "E2M3", "E2M1", "E8M0", NULL};

const char *const lp_format_presets[] = {
  "fp32", "bf16", "fp16", "fp8", "e4m3", "e5m2", "fp6", "e3m2", "e2m3",
  "fp4", "e2m1", "fp3", "fp2", NULL};

/* --------------------------------------------------------------- parser */

/* What the options of a spec set; `given` flags detect repeats. */
typedef struct {
  lp_format *f;
  const char *spec;       /* the whole string, for messages */
  int strict;             /* 1: an option given twice is an error */
  int g_bias, g_sub, g_policy, g_overflow, g_mode, g_seed;
} pstate;

static int fail(char *err, size_t errlen, int status, const char *spec,
                const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#include <stdarg.h>
static int fail(char *err, size_t errlen, int status, const char *spec,
                const char *fmt, ...) {
  if (err != NULL && errlen > 0) {
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(err, errlen, "%.80s: %s", spec, msg);
    /* the spec is echoed as given: a control byte in it (a newline, a
     * tab) would break the message's one line, so it shows as '?' */
    for (char *q = err; *q; q++)
      if ((unsigned char)*q < 32 || *q == 127) *q = '?';
  }
  return status;
}

/* "'q'" or "end" or "'\x01'" for messages. */
static void show_char(char *buf, size_t len, char c) {
  if (c == '\0') snprintf(buf, len, "end");
  else if ((unsigned char)c < 32 || (unsigned char)c >= 127)
    snprintf(buf, len, "'\\x%02x'", (unsigned char)c);
  else snprintf(buf, len, "'%c'", c);
}

static int unexpected(char *err, size_t errlen, const char *spec, const char *s,
                      size_t p, const char *expected) {
  char c[16];
  show_char(c, sizeof c, s[p]);
  return fail(err, errlen, LP_EPARSE, spec, "unexpected %s at column %zu, expected %s",
              c, p + 1, expected);
}

/* Reads decimal digits at s[*p] into *v; requires one. Returns -1 for no
 * digit, 1 when the number has more than max_digits significant digits or
 * does not fit in 64 bits, else 0. */
static int read_uint(const char *s, size_t *p, unsigned long long *v, int max_digits) {
  size_t start = *p, sig = 0;          /* significant digits (after leading zeros) */
  unsigned long long x = 0;
  int over = 0;
  while (s[*p] >= '0' && s[*p] <= '9') {
    unsigned d = (unsigned)(s[*p] - '0');
    if (x > (UINT64_MAX - d) / 10) over = 1;
    else x = x * 10 + d;
    if (x > 0) sig++;
    (*p)++;
  }
  if (*p == start) return -1;
  if (over || (int)sig > max_digits) return 1;
  *v = x;
  return 0;
}

/* "bias=N, sub, nosub, ieee, fn, ..., a rounding mode (rne rna ...) or sr=K" */
static const char *option_text(char *buf, size_t size) {
  char pol[64], ov[32], modes[64];
  names_text(pol, sizeof pol, policy_names, LP_NPOLICIES, ", ");
  names_text(ov, sizeof ov, overflow_names, LP_NOVERFLOWS, ", ");
  names_text(modes, sizeof modes, mode_names, LP_NMODES, " ");
  snprintf(buf, size, "bias=N, sub, nosub, %s, %s, seed=N, a rounding mode (%s) or sr=K", pol, ov, modes);
  return buf;
}

/* Parses the options from s[p] (at ':' or end) to the end of s. Columns
 * are 1-based positions in s. */
static int parse_options(pstate *st, const char *s, size_t p, int colon_first,
                         char *err, size_t errlen) {
  lp_format *f = st->f;
  char olist[256];   /* the option list of a message */
  int first = 1;
  while (s[p] != '\0') {
    if (!(first && !colon_first)) {            /* the first option of lp_format_with needs no ':' */
      if (s[p] != ':') return unexpected(err, errlen, st->spec, s, p, "':' or end");
      p++;
    }
    first = 0;
    size_t start = p, len = 0;
    while (s[p + len] != '\0' && s[p + len] != ':') len++;
    const char *w = s + start;
    size_t col = start + 1;
    if (len == 0)
      return fail(err, errlen, LP_EPARSE, st->spec,
                  "empty option at column %zu, expected %s", col, option_text(olist, sizeof olist));
#define IS(lit) (len == sizeof(lit) - 1 && memcmp(w, lit, len) == 0)
#define ONCE(flag, what)                                                     \
  do {                                                                       \
    if (st->strict && st->flag)                                              \
      return fail(err, errlen, LP_EPARSE, st->spec,                          \
                  "%s given twice (second at column %zu)", what, col);       \
    st->flag = 1;                                                            \
  } while (0)
    int m = lp_rmode_from_name(w, len), pol = lp_policy_from_name(w, len),
        ov = lp_overflow_from_name(w, len);
    if (m >= 0) {
      ONCE(g_mode, "rounding mode");
      f->mode = (lp_rmode)m;
      f->sr_bits = 32;
    } else if (len > 3 && memcmp(w, "sr=", 3) == 0) {
      unsigned long long k = 0;
      size_t q = start + 3;
      int r = read_uint(s, &q, &k, 3);
      if (r < 0) return unexpected(err, errlen, st->spec, s, q, "a digit");
      if (s[q] != '\0' && s[q] != ':') return unexpected(err, errlen, st->spec, s, q, "a digit, ':' or end");
      if (r > 0 || k < 1 || k > 32)
        return fail(err, errlen, LP_ERANGE, st->spec,
                    "random bits %.*s out of range at column %zu (sr=K with K in 1..32)",
                    (int)(q - start - 3), s + start + 3, start + 4);
      ONCE(g_mode, "rounding mode");
      f->mode = LP_SR;
      f->sr_bits = (int)k;
    } else if (IS("sub") || IS("nosub")) {
      ONCE(g_sub, "sub/nosub");
      f->subnormals = IS("sub");
    } else if (pol >= 0) {
      char what[80];
      snprintf(what, sizeof what, "policy (%s)", names_text(olist, sizeof olist, policy_names, LP_NPOLICIES, "/"));
      ONCE(g_policy, what);
      f->policy = (lp_policy)pol;
    } else if (ov >= 0) {
      char what[80];
      snprintf(what, sizeof what, "overflow rule (%s)", names_text(olist, sizeof olist, overflow_names, LP_NOVERFLOWS, "/"));
      ONCE(g_overflow, what);
      f->overflow = (lp_overflow)ov;
    } else if (len >= 5 && memcmp(w, "bias=", 5) == 0) {
      size_t q = start + 5;
      int neg = 0;
      if (s[q] == '-' || s[q] == '+') neg = s[q++] == '-';
      unsigned long long b = 0;
      int r = read_uint(s, &q, &b, 4);
      if (r < 0) return unexpected(err, errlen, st->spec, s, q, "a digit");
      if (s[q] != '\0' && s[q] != ':') return unexpected(err, errlen, st->spec, s, q, "a digit, ':' or end");
      if (r > 0)
        return fail(err, errlen, LP_ERANGE, st->spec, "bias at column %zu out of range", start + 6);
      ONCE(g_bias, "bias");
      f->bias = neg ? -(int)b : (int)b;
    } else if (len >= 5 && memcmp(w, "seed=", 5) == 0) {
      size_t q = start + 5;
      unsigned long long v = 0;
      int r = read_uint(s, &q, &v, 20);
      if (r < 0) return unexpected(err, errlen, st->spec, s, q, "a digit");
      if (s[q] != '\0' && s[q] != ':') return unexpected(err, errlen, st->spec, s, q, "a digit, ':' or end");
      if (r > 0)
        return fail(err, errlen, LP_ERANGE, st->spec,
                    "seed at column %zu out of range (0..18446744073709551615)", start + 6);
      ONCE(g_seed, "seed");
      f->seed = v;
    } else {
      return fail(err, errlen, LP_EPARSE, st->spec,
                  "unknown option '%.*s' at column %zu, expected %s", (int)(len > 24 ? 24 : len), w,
                  col, option_text(olist, sizeof olist));
    }
#undef IS
#undef ONCE
    p = start + len;
  }
  return LP_OK;
}

static int default_bias(int ebits) { return ebits >= 1 ? (1 << (ebits - 1)) - 1 : 0; }

/* Value of a magnitude code (no sign bit); specials not handled here. */
static double mag_value(const lp_format *f, uint32_t c) {
  if (f->policy == LP_E8M0) return ldexp(1.0, (int)c - f->bias);   /* no zero: field 0 is 2^-bias */
  uint32_t m1 = UINT32_C(1) << f->mbits;
  if (c < m1) return f->subnormals ? ldexp((double)c, f->emin - f->mbits) : 0.0;
  uint32_t e = c >> f->mbits, m = c & (m1 - 1);
  return ldexp((double)(m1 + m), (int)e - f->bias - f->mbits);
}

/* Checks the combination and fills the derived fields and the canonical
 * spec. `preset_ix` is the preset the spec started from (or -1). */
static int finish(lp_format *f, int preset_ix, const char *spec, char *err, size_t errlen) {
  int E = f->ebits, M = f->mbits;
  char head[16];
  snprintf(head, sizeof head, "%se%dm%d", f->is_signed ? "" : "u", E, M);
  if (f->policy == LP_IEEE && E < 2)
    return fail(err, errlen, LP_ERANGE, spec,
                "ieee needs at least 2 exponent bits (%s has %d: its only exponent would hold inf/NaN)", head, E);
  if (E == 0 && f->policy != LP_FIN)
    return fail(err, errlen, LP_ERANGE, spec, "%s has no exponent bits (fixed point): only the fin policy applies", head);
  if (E == 0 && !f->subnormals)
    return fail(err, errlen, LP_ERANGE, spec, "%s has no exponent bits (fixed point): nosub does not apply", head);
  if (f->policy == LP_FIN && f->overflow == LP_INF)
    return fail(err, errlen, LP_ERANGE, spec, "'inf' needs the ieee, fn, fnuz or e8m0 policy (fin has no infinity or NaN)");
  if (f->policy == LP_FNUZ && !f->is_signed)
    return fail(err, errlen, LP_ERANGE, spec, "fnuz needs a sign bit (its NaN is the code of -0; %s has none)", head);
  if (f->policy == LP_E8M0 && (f->is_signed || M != 0))
    return fail(err, errlen, LP_ERANGE, spec, "e8m0 is exponent-only and unsigned: it applies to ueXm0 (got %s)", head);
  if (f->policy == LP_E8M0) f->subnormals = 0;   /* every exponent field is a power of two */
  uint32_t mag_codes = UINT32_C(1) << (E + M);   /* E + M <= 31 */
  if (f->policy == LP_FIN || f->policy == LP_FNUZ) f->maxcode = mag_codes - 1;
  else if (f->policy == LP_FN || f->policy == LP_E8M0) f->maxcode = mag_codes - 2;
  else f->maxcode = (((UINT32_C(1) << E) - 1) << M) - 1;
  if (f->maxcode < 1 || (!f->subnormals && f->maxcode < (UINT32_C(1) << M)))
    return fail(err, errlen, LP_ERANGE, spec, "%s:%s%s has no nonzero finite value", head,
                lp_policy_name(f->policy), f->subnormals ? "" : ":nosub");
  /* Every value must be a binary32 value: the lowest bit of the lowest
   * binade >= 2^-149 and the largest value's exponent <= 127. */
  int topfield = E == 0 ? 0 : (int)(f->maxcode >> M);
  int bmax = f->policy == LP_E8M0 ? 149 : 150 - M, bmin = topfield - 127;
  if (bmin > bmax)
    return fail(err, errlen, LP_ERANGE, spec, "%s:%s does not fit in binary32 for any bias",
                head, lp_policy_name(f->policy));
  if (f->bias < bmin || f->bias > bmax)
    return fail(err, errlen, LP_ERANGE, spec, "bias %d out of range for %s (allowed %d..%d)",
                f->bias, head, bmin, bmax);
  f->bits = (f->is_signed ? 1 : 0) + E + M;
  f->emin = f->policy == LP_E8M0 ? -f->bias : 1 - f->bias;
  f->quantum = ldexp(1.0, f->emin - M);
  f->maxval = mag_value(f, f->maxcode);
  int ex;
  frexp(f->maxval, &ex);
  f->emax = ex - 1;
  f->minnorm = ldexp(1.0, f->emin);
  f->minsub = f->subnormals ? f->quantum : f->minnorm;
  if (E == 0) f->minnorm = f->quantum;   /* no normals: the smallest value */
  f->identity = f->is_signed && E == 8 && M == 23 && f->bias == 127 && f->subnormals &&
                f->policy == LP_IEEE && f->overflow == LP_INF;
  /* Canonical spec and name. */
  char mode[16];
  if (f->mode == LP_SR && f->sr_bits != 32) snprintf(mode, sizeof mode, "sr=%d", f->sr_bits);
  else snprintf(mode, sizeof mode, "%s", lp_rmode_name(f->mode));
  int n = snprintf(f->spec, sizeof f->spec, "%s:bias=%d%s:%s:%s:%s", head, f->bias,
                   f->subnormals || f->policy == LP_E8M0 ? "" : ":nosub", lp_policy_name(f->policy),
                   lp_overflow_name(f->overflow), mode);
  if (f->seed != 0)
    snprintf(f->spec + n, sizeof f->spec - (size_t)n, ":seed=%llu", (unsigned long long)f->seed);
  const preset *pr = preset_ix >= 0 ? &presets[preset_ix] : NULL;
  if (pr != NULL && f->is_signed == pr->is_signed && pr->ebits == E && pr->mbits == M && pr->bias == f->bias &&
      pr->policy == f->policy && (f->subnormals || f->policy == LP_E8M0))
    snprintf(f->name, sizeof f->name, "%s", pr->name);
  else snprintf(f->name, sizeof f->name, "%s", head);
  return LP_OK;
}

static int find_preset(const char *name) {
  for (int i = 0; i < NPRESETS; i++)
    if (strcmp(presets[i].name, name) == 0) return i;
  return -1;
}

int lp_format_parse(lp_format *f, const char *s, char *err, size_t errlen) {
  memset(f, 0, sizeof *f);
  if (err != NULL && errlen > 0) err[0] = '\0';
  if (s == NULL) return fail(err, errlen, LP_EINVAL, "(null)", "no spec given");
  size_t wl = 0;
  while ((s[wl] >= 'a' && s[wl] <= 'z') || (s[wl] >= 'A' && s[wl] <= 'Z') || (s[wl] >= '0' && s[wl] <= '9') ||
         s[wl] == '_')
    wl++;
  char word[32];
  snprintf(word, sizeof word, "%.*s", (int)(wl < 31 ? wl : 31), s);
  int pix = wl < 31 ? find_preset(word) : -1;
  size_t p = 0;
  f->is_signed = 1;
  f->subnormals = 1;
  f->mode = LP_RNE;
  f->sr_bits = 32;
  if (pix >= 0) {
    const preset *pr = &presets[pix];
    f->is_signed = pr->is_signed;
    f->ebits = pr->ebits;
    f->mbits = pr->mbits;
    f->bias = pr->bias;
    f->policy = pr->policy;
    p = wl;
  } else {
    if (s[0] == '\0')
      return fail(err, errlen, LP_EPARSE, "(empty)", "expected a preset (fp4, e4m3, ...) or [u]eXmY");
    if (s[p] == 'u') p++;
    if (s[p] != 'e') {
      if (wl > 0 && !(s[0] == 'u' && wl == 1))
        return fail(err, errlen, LP_EPARSE, s,
                    "unknown format '%.24s' at column 1, expected a preset (fp32 bf16 fp16 fp8 e4m3 "
                    "e5m2 fp6 e3m2 e2m3 fp4 e2m1 fp3 fp2) or [u]eXmY", word);
      return unexpected(err, errlen, s, s, p, p == 0 ? "a preset or [u]eXmY" : "'e'");
    }
    p++;
    unsigned long long E = 0, M = 0;
    int r = read_uint(s, &p, &E, 3);
    if (r < 0) return unexpected(err, errlen, s, s, p, "a digit");
    if (s[p] != 'm') return unexpected(err, errlen, s, s, p, "a digit or 'm'");
    p++;
    int r2 = read_uint(s, &p, &M, 3);
    if (r2 < 0) return unexpected(err, errlen, s, s, p, "a digit");
    if (s[p] != '\0' && s[p] != ':') return unexpected(err, errlen, s, s, p, "':' or end");
    if (r > 0 || E > 8)
      return fail(err, errlen, LP_ERANGE, s, "exponent bits E = %llu out of range (0..8)", r > 0 ? 999ULL : E);
    if (r2 > 0 || M > 23)
      return fail(err, errlen, LP_ERANGE, s, "mantissa bits M = %llu out of range (0..23)", r2 > 0 ? 999ULL : M);
    if (E + M == 0)
      return fail(err, errlen, LP_ERANGE, s, "a format needs at least one exponent or mantissa bit");
    f->is_signed = s[0] != 'u';
    f->ebits = (int)E;
    f->mbits = (int)M;
    f->bias = default_bias((int)E);
    f->policy = LP_FIN;
  }
  pstate st = {f, s, 1, 0, 0, 0, 0, 0, 0};
  lp_policy pol0 = f->policy;
  int rc = parse_options(&st, s, p, 1, err, errlen);
  if (rc != LP_OK) return rc;
  /* fnuz's bias is one larger than IEEE's (ml_dtypes): the default when
   * the policy comes from an option and no bias is given */
  if (f->policy == LP_FNUZ && pol0 != LP_FNUZ && !st.g_bias) f->bias = default_bias(f->ebits) + 1;
  if (!st.g_overflow) {
    if (pix >= 0 && presets[pix].overflow >= 0 && !st.g_policy) f->overflow = (lp_overflow)presets[pix].overflow;
    else f->overflow = f->policy == LP_IEEE ? LP_INF : LP_SAT;
  }
  return finish(f, pix, s, err, errlen);
}

int lp_format_with(lp_format *f, const lp_format *base, const char *opts, char *err, size_t errlen) {
  lp_format g = *base;
  if (err != NULL && errlen > 0) err[0] = '\0';
  if (opts == NULL) opts = "";
  pstate st = {&g, opts, 0, 0, 0, 0, 0, 0, 0};
  int rc = parse_options(&st, opts, 0, opts[0] == ':', err, errlen);
  if (rc != LP_OK) return rc;
  if (st.g_policy && !st.g_overflow) g.overflow = g.policy == LP_IEEE ? LP_INF : LP_SAT;
  if (st.g_policy && g.policy == LP_FNUZ && base->policy != LP_FNUZ && !st.g_bias) g.bias = default_bias(g.ebits) + 1;
  int pix = find_preset(base->name);
  rc = finish(&g, pix, opts, err, errlen);
  if (rc == LP_OK) *f = g;
  return rc;
}

/* ----------------------------------------------------------- properties */

uint32_t lp_format_ncodes(const lp_format *f) {
  return f->bits >= 32 ? 0 : UINT32_C(1) << f->bits;
}

double lp_format_epsilon(const lp_format *f) { return ldexp(1.0, -f->mbits); }

uint32_t lp_format_nvalues(const lp_format *f) {
  if (f->policy == LP_E8M0) return f->maxcode + 1;   /* no zero */
  uint32_t pos = f->maxcode - (f->subnormals ? 0 : (UINT32_C(1) << f->mbits) - 1);
  return f->is_signed ? 2 * pos + 1 : pos + 1;
}

double lp_format_binades(const lp_format *f) { return log2(f->maxval / f->minsub); }

int lp_format_has_inf(const lp_format *f) { return f->policy == LP_IEEE; }

int lp_format_has_nan(const lp_format *f) {
  return f->policy == LP_FN || f->policy == LP_FNUZ || f->policy == LP_E8M0 ||
         (f->policy == LP_IEEE && f->mbits > 0);
}

/* -------------------------------------------------------------- codes */

lp_code_kind lp_code_fields(const lp_format *f, uint32_t code, int *sign, uint32_t *efield,
                            uint32_t *mfield) {
  int E = f->ebits, M = f->mbits;
  uint32_t magmask = (E + M >= 32) ? UINT32_MAX : (UINT32_C(1) << (E + M)) - 1;
  uint32_t mag = code & magmask;
  uint32_t e = mag >> M, m = mag & ((UINT32_C(1) << M) - 1);
  if (sign) *sign = f->is_signed ? (int)((code >> (E + M)) & 1) : 0;
  if (efield) *efield = e;
  if (mfield) *mfield = m;
  if (f->policy == LP_IEEE && e == (UINT32_C(1) << E) - 1) return m == 0 ? LP_KIND_INF : LP_KIND_NAN;
  if ((f->policy == LP_FN || f->policy == LP_E8M0) && mag == magmask) return LP_KIND_NAN;
  if (f->policy == LP_E8M0) return LP_KIND_NORMAL;
  if (f->policy == LP_FNUZ && mag == 0 && (code >> (E + M)) & 1) return LP_KIND_NAN;
  if (mag == 0) return LP_KIND_ZERO;
  if (e == 0) return f->subnormals ? LP_KIND_SUBNORMAL : LP_KIND_UNUSED;
  return LP_KIND_NORMAL;
}

double lp_decode(const lp_format *f, uint32_t code) {
  int sign;
  uint32_t e, m;
  lp_code_kind k = lp_code_fields(f, code, &sign, &e, &m);
  double v;
  if (k == LP_KIND_NAN) return NAN;
  if (k == LP_KIND_INF) v = INFINITY;
  else v = mag_value(f, (e << f->mbits) | m);   /* unused codes read as zero */
  if (k == LP_KIND_UNUSED && f->policy == LP_FNUZ) return 0.0;   /* fnuz has no -0 */
  return sign ? -v : v;
}

int lp_encode(const lp_format *f, double x, uint32_t *code) {
  int E = f->ebits, M = f->mbits;
  uint32_t signbit = f->is_signed ? UINT32_C(1) << (E + M) : 0;
  uint32_t emask = (UINT32_C(1) << E) - 1;
  if (isnan(x)) {
    if (f->policy == LP_FN || f->policy == LP_E8M0) { *code = (UINT32_C(1) << (E + M)) - 1; return LP_OK; }
    if (f->policy == LP_FNUZ) { *code = signbit; return LP_OK; }
    if (f->policy == LP_IEEE && M > 0) { *code = (emask << M) | (UINT32_C(1) << (M - 1)); return LP_OK; }
    return LP_EINVAL;
  }
  int neg = (signbit(x) != 0);
  if (f->policy == LP_E8M0) {   /* 2^k exactly, k in [-bias, maxcode - bias] */
    int ex;
    if (!(x > 0) || isinf(x) || frexp(x, &ex) != 0.5 || ex - 1 + f->bias < 0 || ex - 1 + f->bias > (int)f->maxcode)
      return LP_EINVAL;
    *code = (uint32_t)(ex - 1 + f->bias);
    return LP_OK;
  }
  if (f->policy == LP_FNUZ && x == 0) { *code = 0; return LP_OK; }   /* no -0: its code is NaN */
  if (neg && !f->is_signed) {
    if (x == 0) { *code = 0; return LP_OK; }
    return LP_EINVAL;
  }
  double a = fabs(x);
  uint32_t mag;
  if (isinf(a)) {
    if (f->policy != LP_IEEE) return LP_EINVAL;
    mag = emask << M;
  } else if (a == 0) {
    mag = 0;
  } else if (a < f->minnorm || E == 0) {
    if (!f->subnormals) return LP_EINVAL;
    double t = ldexp(a, M - f->emin);
    if (t != floor(t) || t >= ldexp(1.0, M)) return LP_EINVAL;
    mag = (uint32_t)t;
  } else {
    int ex;
    double fr = frexp(a, &ex);   /* a = fr * 2^ex, fr in [0.5, 1) */
    double t = ldexp(fr, M + 1);   /* in [2^M, 2^(M+1)) */
    if (t != floor(t)) return LP_EINVAL;
    long long c = (long long)(ex - 1 - f->emin) * (1LL << M) + (long long)t;
    if (c > (long long)f->maxcode) return LP_EINVAL;
    mag = (uint32_t)c;
  }
  *code = mag | (neg ? signbit : 0);
  return LP_OK;
}

/* ------------------------------------------------------------ rounding */

/* 2^q for -1022 <= q <= 1023, from the bits. */
static inline double pow2(int q) {
  uint64_t b = (uint64_t)(q + 1023) << 52;
  double r;
  memcpy(&r, &b, sizeof r);
  return r;
}

/* The result of an overflow (the rounded magnitude exceeds max). */
static double overflow_value(const lp_format *f, int neg) {
  double big = lp_format_has_inf(f) ? INFINITY : NAN;   /* without inf, "inf" means NaN */
  double r = big;                           /* rne, rna, sr: past max is inf */
  if (f->overflow == LP_SAT) r = f->maxval;
  else switch (f->mode) {                   /* every mode listed */
    case LP_RTZ: case LP_RNO: r = f->maxval; break;
    case LP_RUP: r = neg ? f->maxval : big; break;
    case LP_RDN: r = neg ? big : f->maxval; break;
    case LP_RNE: case LP_RNA: case LP_SR: break;
  }
  return neg ? -r : r;
}

double lp_format_overflow_value(const lp_format *f, int neg);
double lp_format_overflow_value(const lp_format *f, int neg) { return overflow_value(f, neg); }

uint32_t lp_format_srword(const lp_format *f, uint64_t ctr);
uint32_t lp_format_srword(const lp_format *f, uint64_t ctr) {
  uint64_t r = lp_rand64(lp_rng_key(f->seed, 0), ctr >> 1);
  return (uint32_t)(r >> (32 * (ctr & 1)));
}

double lp_round(const lp_format *f, double x, uint64_t ctr) {
  if (isnan(x)) return x;
  int neg = (signbit(x) != 0);
  if (f->policy == LP_E8M0) {
    /* no zero and no sign: zero and negatives have no value (NaN); a
     * positive below the smallest value saturates to it in every mode */
    if (neg || x == 0) return NAN;
    if (x < f->minnorm) return f->minnorm;
  }
  if (neg && !f->is_signed) return 0.0;        /* unsigned: negatives clamp to +0 */
  double a = fabs(x);
  if (isinf(a)) {
    if (f->overflow == LP_SAT) return neg ? -f->maxval : f->maxval;
    double big = lp_format_has_inf(f) ? INFINITY : NAN;
    return neg ? -big : big;
  }
  if (a == 0) return f->policy == LP_FNUZ ? 0.0 : x;   /* fnuz has no -0 */
  /* a = S * 2^(ex - 53) with the integer S < 2^53, read from the bits;
   * e = floor(log2 a) */
  uint64_t bits;
  memcpy(&bits, &a, sizeof bits);
  int bexp = (int)(bits >> 52);
  uint64_t S = bits & ((UINT64_C(1) << 52) - 1);
  int ex, e;
  if (bexp == 0) {                             /* a double subnormal */
    ex = -1021;
    e = 63 - __builtin_clzll(S) - 1074;
  } else {
    S |= UINT64_C(1) << 52;
    ex = bexp - 1022;
    e = bexp - 1023;
  }
  if (e > f->emax) return overflow_value(f, neg);
  int M = f->mbits, Q;
  long long base;                              /* code of the grid point 0 of this bracket */
  if (f->ebits == 0) { Q = f->emin - M; base = 0; }
  else if (e < f->emin) {
    if (f->subnormals) { Q = f->emin - M; base = 0; }
    else { Q = f->emin; base = 0; }            /* bracket [0, minnorm]: lower code 0 */
  } else { Q = e - M; base = (long long)(e - f->emin) << M; }
  if (f->policy == LP_E8M0) base -= 1;         /* field e - emin, not e - emin + 1: parity of the code */
  int d = Q - (ex - 53);
  uint64_t n, r = 0, half = 0;
  int inexact;
  if (d <= 0) {                                /* on the grid: exact */
    return a > f->maxval ? overflow_value(f, neg) : x;
  }
  if (d >= 64) { n = 0; r = S; inexact = 1; }
  else { n = S >> d; r = S & ((UINT64_C(1) << d) - 1); half = UINT64_C(1) << (d - 1); inexact = r != 0; }
  if (!inexact) return a > f->maxval ? overflow_value(f, neg) : x;
  /* r vs half: for d >= 64, S < 2^53 < half. */
  int above = d < 64 && r > half, tie = d < 64 && r == half, below = !above && !tie;
  int odd = (int)((base + (long long)n) & 1);
  int up = 0;
  switch (f->mode) {
    case LP_RNE: up = above || (tie && odd); break;
    case LP_RNA: up = !below; break;
    case LP_RTZ: up = 0; break;
    case LP_RUP: up = !neg; break;
    case LP_RDN: up = neg; break;
    case LP_RNO: up = !odd; break;
    case LP_SR: {
      int k = f->sr_bits;
      uint64_t fk;                             /* floor(frac * 2^k) */
      if (d >= k) fk = (d - k >= 64) ? 0 : r >> (d - k);
      else fk = r << (k - d);
      uint64_t R = (uint64_t)(lp_format_srword(f, ctr) >> (32 - k));
      up = fk + R >= (UINT64_C(1) << k);
      break;
    }
  }
  double v = (double)(n + (uint64_t)up) * pow2(Q);   /* exact */
  if (v > f->maxval) return overflow_value(f, neg);
  if (v == 0 && f->policy == LP_FNUZ) return 0.0;
  return neg ? -v : v;
}
