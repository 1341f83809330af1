/* fuzz_format.c — libFuzzer harness for the format-spec parser and the
 * rounding core. The input is a spec string (up to the first NUL or 120
 * bytes) followed by raw doubles to round. Assertions (a failed one
 * aborts, and libFuzzer keeps the input):
 *   - a parsed format's canonical spec parses again to the same format;
 *   - a refused spec leaves one non-empty error line;
 *   - every value of the format (first 4096 codes) rounds to itself,
 *     encodes, and decodes back to itself (signed zeros included);
 *   - NaN in gives NaN out; a finite result of rounding is a value of the
 *     format (it encodes) and is at most max in magnitude;
 *   - lp_quantize (the vector paths) gives, element for element, what
 *     lp_round gives for the same counter. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/format.h"

#define CHECK(c, ...)                                                   \
  do {                                                                  \
    if (!(c)) {                                                         \
      fprintf(stderr, "fuzz_format: %s: ", #c);                         \
      fprintf(stderr, __VA_ARGS__);                                     \
      fputc('\n', stderr);                                              \
      abort();                                                          \
    }                                                                   \
  } while (0)

static int same_value(double a, double b) {
  if (isnan(a) || isnan(b)) return isnan(a) && isnan(b);
  return a == b && signbit(a) == signbit(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char spec[128];
  size_t n = 0;
  while (n < size && n < 120 && data[n] != 0) n++;
  memcpy(spec, data, n);
  spec[n] = 0;
  size_t rest = n < size ? n + 1 : size;   /* skip the NUL */

  lp_format f, g;
  char err[256];
  err[0] = 0;
  if (lp_format_parse(&f, spec, err, sizeof err) != LP_OK) {
    CHECK(err[0] != 0 && strchr(err, '\n') == NULL && strlen(err) < sizeof err, "refusal of '%s' without one line", spec);
    return 0;
  }
  /* round trip of the canonical spec */
  CHECK(lp_format_parse(&g, f.spec, err, sizeof err) == LP_OK, "canonical spec '%s' of '%s' refused: %s", f.spec, spec, err);
  CHECK(f.is_signed == g.is_signed && f.ebits == g.ebits && f.mbits == g.mbits && f.bias == g.bias &&
            f.subnormals == g.subnormals && f.policy == g.policy && f.overflow == g.overflow &&
            f.mode == g.mode && f.identity == g.identity && same_value(f.maxval, g.maxval) &&
            (f.mode != LP_SR || (f.sr_bits == g.sr_bits && f.seed == g.seed)) && strcmp(f.spec, g.spec) == 0,
        "'%s' -> '%s' -> '%s' changes the format", spec, f.spec, g.spec);

  /* every value rounds to itself and encodes back */
  uint32_t nc = lp_format_ncodes(&f);
  uint32_t limit = (nc == 0 || nc > 4096) ? 4096 : nc;
  for (uint32_t c = 0; c < limit && !f.identity; c++) {
    double v = lp_decode(&f, c);
    if (isnan(v) || isinf(v)) continue;
    double r = lp_round(&f, v, c);
    CHECK(same_value(r, v), "%s: value %a (code %u) rounds to %a", f.spec, v, c, r);
    uint32_t code;
    CHECK(lp_encode(&f, v, &code) == 0, "%s: value %a (code %u) does not encode", f.spec, v, c);
    CHECK(same_value(lp_decode(&f, code), v), "%s: value %a encodes to %u, which decodes to %a", f.spec, v, code,
          lp_decode(&f, code));
  }

  /* rounding the doubles that follow */
  enum { MAXN = 64 };
  float src[MAXN], dst[MAXN];
  int k = 0;
  for (size_t i = rest; i + 8 <= size && k < MAXN; i += 8, k++) {
    double x;
    memcpy(&x, data + i, 8);
    double r = lp_round(&f, x, (uint64_t)k);
    if (isnan(x)) CHECK(isnan(r), "%s: NaN rounds to %a", f.spec, r);
    if (!isnan(r) && !isinf(r) && !f.identity) {
      uint32_t code;
      CHECK(fabs(r) <= f.maxval, "%s: %a rounds to %a, beyond max %a", f.spec, x, r, f.maxval);
      CHECK(lp_encode(&f, r, &code) == 0, "%s: %a rounds to %a, which is not a value of the format", f.spec, x, r);
    }
    src[k] = (float)x;
  }
  /* the vector paths against the scalar definition, counter by counter */
  lp_quantize(&f, dst, src, (size_t)k, 1.0f, 7);
  for (int i = 0; i < k; i++) {
    float want = (float)lp_round(&f, (double)src[i], 7 + (uint64_t)i);
    CHECK(same_value(dst[i], want) || (isnan(dst[i]) && isnan(want)), "%s: lp_quantize(%a) = %a, lp_round gives %a",
          f.spec, (double)src[i], (double)dst[i], (double)want);
  }
  return 0;
}
