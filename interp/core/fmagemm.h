/* fmagemm.h — a matrix product for the convolutions' skinny shapes
 * (32 x 144 times 144 x a few hundred columns), written for the machine
 * rather than handed to sgemm.
 *
 * C (m x n) = A (m x k) B (k x n), B and C row-major with leading
 * dimensions ldb and ldc, read and written in place (no packing of B, no
 * pass over C before the product). Every element of C is one chain of
 * fused multiply-adds over k in increasing order, starting from +0:
 *   c = fma(a[i][k-1], b[k-1][j], ... fma(a[i][0], b[0][j], +0))
 * which is, bit for bit, what OpenBLAS's x86 sgemm kernels compute for
 * alpha = 1 and beta = 0 when k fits one of their blocks (a few hundred),
 * so switching between the two does not move a result; and it does not
 * depend on how the columns are cut into calls or threads. */
#ifndef LP_FMAGEMM_H
#define LP_FMAGEMM_H

#include <stdint.h>

/* A packed for lp_fmagemm: panels of LP_FMAGEMM_MR rows, each k x MR,
 * rows past m zero. lp_fmagemm_packed_size() floats. */
#define LP_FMAGEMM_MR 8
int64_t lp_fmagemm_packed_size(int64_t m, int64_t k);

/* Packs A (m x k, row-major, lda) or, with ta, A given as its transpose
 * At (k x m, lda): A[i][p] = At[p][i]. */
void lp_fmagemm_pack(float *Ap, int ta, int64_t m, int64_t k, const float *A, int64_t lda);

/* 1 when this machine runs the fast kernel (x86 with AVX-512F); else
 * lp_fmagemm runs the portable loop, same bits, slowly: callers use sgemm
 * instead. lp_fmagemm_use(0) turns the fast kernel off (tests). */
int lp_fmagemm_fast(void);
int lp_fmagemm_use(int on);
/* 1 when the CPU has AVX-512F, whatever lp_fmagemm_use says. */
int lp_fmagemm_cpu(void);

/* C (m x n, ldc) = A B with A packed by lp_fmagemm_pack; B (k x n, ldb). */
void lp_fmagemm(int64_t m, int64_t n, int64_t k, const float *Ap, const float *B, int64_t ldb,
                float *C, int64_t ldc);

#endif
