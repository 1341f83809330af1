/* quant_paths.c — every lane build of lp_quantize (portable, AVX2,
 * AVX-512: each one this CPU runs) gives the same bits as lp_round, on two
 * corpora of binary32 bit patterns:
 *   - exhaustive in the top 16 bits: every sign, exponent and top 7
 *     mantissa bits, each with the low 16 bits 0, 1, 0x7fff, 0x8000 and
 *     0xffff (every binade, ties and near-ties of every format up to M = 7,
 *     zeros, binary32 subnormals, infinities, quiet and signalling NaNs
 *     with payloads);
 *   - 100,000 uniformly random 32-bit patterns.
 * Compared bit for bit, NaN included: the NaN policy is that a NaN input
 * comes out as the same NaN made quiet (sign and payload kept) in every
 * format and mode, fin formats too (their values live in float32, which
 * has NaN; docs/formats.md). Also 1 vs 2 threads, a power-of-two scale,
 * and lp_quantize_codes: every build the same codes, and a NaN without a
 * NaN code gets LP_CODE_NONE. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/format.h"
#include "core/parallel.h"
#include "tap.h"

static uint64_t rs = UINT64_C(0x2545f4914f6cdd1d);
static uint32_t xrand32(void) {
  rs ^= rs << 13;
  rs ^= rs >> 7;
  rs ^= rs << 17;
  return (uint32_t)(rs >> 16);
}

static float from_bits(uint32_t b) {
  float f;
  memcpy(&f, &b, sizeof f);
  return f;
}

static uint32_t bits_of(float f) {
  uint32_t b;
  memcpy(&b, &f, sizeof b);
  return b;
}

static const char *const specs[] = {
  "fp8", "e5m2", "fp6", "e2m3", "fp4", "fp3", "fp2", "bf16", "fp16",
  "e4m3:fn", "e5m2:ieee:sat", "e3m2:nosub", "ue4m3", "ue2m1:ieee:inf", "e4m0:ieee:inf", "e2m5:fin", "e8m1:bias=130",
  NULL};
static const char *const modes[] = {"rne", "rna", "rtz", "rup", "rdn", "rno", "sr", "sr=5", NULL};

int main(void) {
  char err[256];
  const uint32_t lows[] = {0, 1, 0x7fff, 0x8000, 0xffff};
  size_t nx = 65536 * 5, nr = 100000, n = nx + nr;
  float *src = malloc(n * sizeof *src), *want = malloc(n * sizeof *want), *got = malloc(n * sizeof *got);
  float *best = malloc(n * sizeof *best);
  uint32_t *codes = malloc(n * sizeof *codes), *codes0 = malloc(n * sizeof *codes0);
  size_t k = 0;
  for (uint32_t hi = 0; hi < 65536; hi++)
    for (int l = 0; l < 5; l++) src[k++] = from_bits(hi << 16 | lows[l]);
  for (size_t i = 0; i < nr; i++) src[k++] = from_bits(xrand32());
  int maxlevel = lp_quantize_simd_max();
  tap_diag("lane builds run here: %d (best: %s)", maxlevel + 1, lp_quantize_simd_name(maxlevel));
  for (int s = 0; specs[s] != NULL; s++)
    for (int m = 0; modes[m] != NULL; m++) {
      lp_format base, f;
      if (lp_format_parse(&base, specs[s], err, sizeof err) != LP_OK ||
          lp_format_with(&f, &base, modes[m], err, sizeof err) != LP_OK) {
        tap_ok(0, "%s:%s parses", specs[s], modes[m]);
        tap_diag("%s", err);
        continue;
      }
      f.seed = 99;
      const float scales[] = {1.0f, 4.0f};
      for (int sc = 0; sc < 2; sc++) {
        float scale = scales[sc];
        uint64_t ctr0 = 12345 + (uint64_t)sc;     /* an odd and an even first counter */
        for (size_t i = 0; i < n; i++) {
          if (isnan(src[i])) want[i] = from_bits(bits_of(src[i]) | 0x00400000u);
          else {
            float u = scale == 1.0f ? src[i] : src[i] / scale;
            float y = (float)lp_round(&f, (double)u, ctr0 + i);
            want[i] = scale == 1.0f ? y : y * scale;
          }
        }
        lp_set_threads(1);
        for (int level = maxlevel; level >= 0; level--) {
          lp_quantize_simd(level);
          lp_quantize(&f, got, src, n, scale, ctr0);
          size_t bad = 0;
          for (size_t i = 0; i < n; i++)
            if (bits_of(got[i]) != bits_of(want[i]) && bad++ < 3)
              tap_diag("%s:%s %s scale %g x=0x%08x: got 0x%08x want 0x%08x", specs[s], modes[m],
                       lp_quantize_simd_name(level), scale, bits_of(src[i]), bits_of(got[i]), bits_of(want[i]));
          tap_ok(bad == 0, "%s:%s scale %g: %s lanes == lp_round bit for bit (NaN made quiet) on %zu patterns",
                 specs[s], modes[m], scale, lp_quantize_simd_name(level), n);
        }
        lp_quantize_simd(-1);
        lp_quantize(&f, best, src, n, scale, ctr0);
        lp_set_threads(2);
        lp_quantize(&f, got, src, n, scale, ctr0);
        tap_ok(memcmp(got, best, n * sizeof *got) == 0, "%s:%s scale %g: 2 threads == 1 thread bit for bit",
               specs[s], modes[m], scale);
      }
      if (f.bits > 16) continue;
      /* codes: every build the same; NaN -> the NaN code or LP_CODE_NONE */
      lp_set_threads(1);
      uint32_t nancode;
      int has_nan_code = lp_encode(&f, NAN, &nancode) == LP_OK;
      for (int level = maxlevel; level >= 0; level--) {
        lp_quantize_simd(level);
        lp_quantize_codes(&f, level == maxlevel ? codes0 : codes, src, n, 1.0f, 7);
        if (level == maxlevel) continue;
        tap_ok(memcmp(codes, codes0, n * sizeof *codes) == 0, "%s:%s codes: %s lanes == %s lanes", specs[s], modes[m],
               lp_quantize_simd_name(level), lp_quantize_simd_name(maxlevel));
      }
      lp_quantize_simd(-1);
      size_t bad = 0, nans = 0;
      for (size_t i = 0; i < n; i++) {
        if (!isnan(src[i])) continue;
        nans++;
        uint32_t w = has_nan_code ? nancode : LP_CODE_NONE;
        if (codes0[i] != w && bad++ < 3)
          tap_diag("%s:%s x=0x%08x: code 0x%x want 0x%x", specs[s], modes[m], bits_of(src[i]), codes0[i], w);
      }
      tap_ok(bad == 0 && nans > 1000, "%s:%s codes: %zu NaN inputs get %s", specs[s], modes[m], nans,
             has_nan_code ? "the NaN code" : "LP_CODE_NONE");
    }
  free(src);
  free(want);
  free(got);
  free(best);
  free(codes);
  free(codes0);
  return tap_done();
}
