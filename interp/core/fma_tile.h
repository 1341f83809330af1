/* fma_tile.h — the register tile shared by lp_fmagemm (fmagemm.c) and the
 * implicit convolutions (conv_implicit.c): 8 rows of A broadcast against
 * 48 columns of B, 24 AVX-512 accumulators c<row><vector>. Include it only
 * in code built for AVX-512F (x86), after <immintrin.h>. Each user writes
 * its own store: what is added on the way out differs. */
#ifndef LP_FMA_TILE_H
#define LP_FMA_TILE_H

#include <stdint.h>

/* the first `left` of 16 lanes (none for left <= 0, all from 16) */
static inline __mmask16 lp_first_lanes(int64_t left) {
  return left >= 16 ? (__mmask16)0xffff : left <= 0 ? (__mmask16)0 : (__mmask16)((1u << left) - 1);
}

/* row i's three accumulators, zero */
#define LP_TILE_ACC(i) __m512 c##i##0 = _mm512_setzero_ps(), c##i##1 = c##i##0, c##i##2 = c##i##0
/* one step of k for row i: c += a8[i] * (b0, b1, b2), fused */
#define LP_TILE_ROW(i)                                           \
  do {                                                           \
    __m512 a = _mm512_set1_ps(a8[i]);                            \
    c##i##0 = _mm512_fmadd_ps(a, b0, c##i##0);                   \
    c##i##1 = _mm512_fmadd_ps(a, b1, c##i##1);                   \
    c##i##2 = _mm512_fmadd_ps(a, b2, c##i##2);                   \
  } while (0)

/* the whole tile: its 24 accumulators; one step of k over its 8 rows */
#define LP_TILE_ACC8                                                     \
  LP_TILE_ACC(0); LP_TILE_ACC(1); LP_TILE_ACC(2); LP_TILE_ACC(3);        \
  LP_TILE_ACC(4); LP_TILE_ACC(5); LP_TILE_ACC(6); LP_TILE_ACC(7)
#define LP_TILE_ROW8                                                     \
  do {                                                                   \
    LP_TILE_ROW(0); LP_TILE_ROW(1); LP_TILE_ROW(2); LP_TILE_ROW(3);      \
    LP_TILE_ROW(4); LP_TILE_ROW(5); LP_TILE_ROW(6); LP_TILE_ROW(7);      \
  } while (0)

#endif
