/* rng.h — the counter-based random generator behind every random choice
 * (stochastic rounding, initialisation, dropout, shuffling).
 *
 * lp_rand64(key, ctr) is a pure function of a key and a counter, so the
 * i-th random number of a stream is the same whichever thread computes it
 * and in whatever order: results do not depend on the thread count. It is
 * splitmix64's output function applied to key + ctr * golden ratio, with
 * the key itself mixed from the user's seed (lp_rng_key). */
#ifndef LP_RNG_H
#define LP_RNG_H

#include <stdint.h>

static inline uint64_t lp_mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
  return z ^ (z >> 31);
}

/* A key from a user seed and a stream number (e.g. one per layer). */
static inline uint64_t lp_rng_key(uint64_t seed, uint64_t stream) {
  return lp_mix64(lp_mix64(seed + UINT64_C(0x9e3779b97f4a7c15)) ^ (stream * UINT64_C(0xd1b54a32d192ed03)));
}

/* The ctr-th 64-bit random number of the stream with this key. */
static inline uint64_t lp_rand64(uint64_t key, uint64_t ctr) {
  return lp_mix64(key + (ctr + 1) * UINT64_C(0x9e3779b97f4a7c15));
}

/* Uniform in [0, 1) with 53 random bits. */
static inline double lp_rand_unit(uint64_t key, uint64_t ctr) {
  return (double)(lp_rand64(key, ctr) >> 11) * 0x1.0p-53;
}

#endif
