/* xmath.h — exp for float kernels whose loops must vectorise (glibc's
 * expf is a scalar call): GELU's kernels (act.c) and the attention
 * softmax (attention.c). Plain float arithmetic without FMA, so vector
 * lanes of any width and the scalar tail give the same bits; NaN in gives
 * NaN out. Plain C11, header only.
 *
 *   lp_xexpf: x = n ln2 + r, |r| <= ln2 / 2 (ln2 in two parts), exp(r) by
 *             its degree-6 Taylor polynomial, 2^n through the exponent
 *             bits; 0 below -87, inf above 88, relative error below 2.5e-7
 *             (4 ulp) in between (measured on a dense grid when written;
 *             tests/c/act_fast.c holds it to libm). */
#ifndef LP_XMATH_H
#define LP_XMATH_H

#include <stdint.h>
#include <string.h>

static inline float lp_xexpf(float x) {
  /* t's low mantissa bits hold n (1.5 * 2^23 makes its ulp 1): no float to
   * int conversion; out-of-range inputs are replaced after the arithmetic
   * (selects after arithmetic vectorise, clamps before it do not) */
  float t = x * 1.44269504088896341f + 12582912.0f;
  float n = t - 12582912.0f;
  float r = (x - n * 0.693145751953125f) - n * 1.428606765330187045e-06f;
  float p = 1.0f + r * (1.0f + r * (0.5f + r * (1.0f / 6 + r * (1.0f / 24 + r * (1.0f / 120 + r * (1.0f / 720))))));
  uint32_t tb, pb, xb;
  memcpy(&tb, &t, sizeof tb);
  memcpy(&pb, &p, sizeof pb);
  memcpy(&xb, &x, sizeof xb);
  pb += (tb - 0x4b400000u) << 23;
  /* the replacements as bit masks: gcc would move p's arithmetic into a
   * branch of a float select, and then not vectorise */
  uint32_t keep = -(uint32_t)(x >= -87.0f), big = -(uint32_t)(x > 88.0f), nan = -(uint32_t)(x != x);
  pb = (pb & keep & ~big) | (0x7f800000u & big);
  pb = (pb & ~nan) | (xb & nan);
  memcpy(&p, &pb, sizeof p);
  return p;
}

#endif
