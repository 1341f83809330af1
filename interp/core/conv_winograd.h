/* conv_winograd.h — 3x3 "same" convolutions (stride 1, pad 1) by
 * Winograd's minimal filtering F(2x2, 3x3), on machines with AVX-512F:
 * each 2x2 block of outputs from a 4x4 block of inputs with 16 products
 * per (input, output) channel pair instead of 36.
 *
 * Per sample, for tile t (outputs rows 2 ti .. 2 ti + 1, columns
 * 2 tj .. 2 tj + 1; inputs from row 2 ti - 1 and column 2 tj - 1, +0
 * outside the plane) and the 16 points xi = (a, b) of a 4x4 block:
 *   U[xi][c][o] = (G g G^T)[a][b], g = weight[o][c] (3x3),
 *   V[xi][t][c] = (B^T d B)[a][b],  d = the tile's 4x4 inputs of channel c,
 *   M[xi][t][o] = the fused multiply-add chain over c in order from +0 of
 *                 V[xi][t][c] U[xi][c][o],
 *   y[o][tile]  = A^T M A, then + bias[o] (or + 0), or added to out (add),
 * with G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1],
 * B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1], A^T = [1 1 1 0; 0 1 -1 -1],
 * each transform as one 1-D pass over the rows, then one over the columns,
 * every 1-D step in the order the definitions in conv_winograd.c write
 * (tests/c/conv_winograd.c computes the same bits independently). The bits
 * differ from the direct convolution's (the products are summed in another
 * basis) and do not depend on the thread count.
 *
 * Accuracy: an output's error is at most (36 C + 360) u B, u = 2^-24,
 * B = the sum over the input channels of (the largest |input| of the
 * output's 3x3 window) times (the sum of the channel's nine |weights|);
 * the direct sum's is at most about 9 C u times the sum of its own
 * terms' magnitudes. Where a window's inputs span many binades and the
 * large ones meet small weights, an output can be far less accurate than
 * the direct sum's: weights (0 0 0; 0 0 1; 0 0 0) over a row (2^24, 1)
 * give 1/2 where the exact value is 1. The weight gradient likewise, per
 * tile, with the tile's largest |dout| times its largest |input|: a
 * weight whose own terms are small can be wrong by u times the tile's
 * magnitudes (tests/c/conv_winograd_random.c; docs/performance.md).
 *
 * Non-finite values: a NaN input reaches exactly the outputs whose 3x3
 * window holds it (as in the direct sum); an infinite input gives NaN
 * where the direct sum gives +-inf (the transforms subtract it from
 * itself): non-finite either way, which is what training checks.
 * Finite inputs above about FLT_MAX / 4 can overflow in the transforms
 * (which add up to four of them): inf or NaN where the direct sum is
 * finite, never a finite number. */
#ifndef LP_CONV_WINOGRAD_H
#define LP_CONV_WINOGRAD_H

#include <stdint.h>

/* 1 when these kernels take the shape (3x3, stride 1, pad 1, at least
 * LP_WINOGRAD_MIN_C input channels) on this machine (and are on), and
 * one row of tiles' V and M (16 points x (W + 1) / 2 tiles x (C + O),
 * each rounded up to 16) within LP_WINOGRAD_ROW_FLOATS floats (8 MB): a
 * band is at least one row of tiles, so wider planes would take buffers
 * far larger than their data (a 1 x 10^6 plane of 8 channels: 1.4 GB and
 * 3 s where the direct kernels need none); those go to the direct
 * kernels. */
#define LP_WINOGRAD_MIN_C 8
#define LP_WINOGRAD_ROW_FLOATS ((int64_t)2 << 20)
int lp_conv_winograd_ok(int64_t C, int64_t H, int64_t W, int64_t O, int kh, int kw, int stride,
                        int pad);

/* lp_conv_winograd_use(0) sends every shape to the direct kernels;
 * returns the previous setting. The setting starts on, or off when the
 * environment holds LPACT_WINOGRAD=0. lp_conv_winograd_on() reads it. */
int lp_conv_winograd_use(int on);
int lp_conv_winograd_on(void);

/* out (N, O, H, W) = conv(inp (N, C, H, W), weight (O, C, 3, 3)) + bias
 * (O, or NULL), or, with add, out += conv (bias unused). after and scratch
 * as for lp_conv_implicit_forward_then (conv_implicit.h). Returns 0
 * (nothing written) when memory for the transformed weights or the
 * threads' buffers is not to be had. */
int lp_conv_winograd_forward(float *out, const float *inp, const float *weight, const float *bias,
                             int add, int64_t N, int64_t C, int64_t H, int64_t W, int64_t O,
                             void (*after)(void *, int64_t, const float *), void *arg, int scratch);

/* dweight (O, C, 3, 3) += the weight gradient from dout (N, O, H, W) and
 * inp (N, C, H, W): per point xi, the fused multiply-add chain of
 * Dy[xi][t][o] V[xi][t][c] over the tiles t of DW_CHUNK (8) samples at a
 * time in order from +0, with Dy = A dy A^T (dy the tile's 2x2 of dout,
 * +0 outside the plane; A's 1-D transform (y0, y1) -> (y0, y0 + y1,
 * y0 - y1, -y1)); the chunks' sums added in order; then G^T M G (the 1-D
 * (m0, m1, m2, m3) -> (m0 + (m1 + m2) / 2, (m1 - m2) / 2,
 * (m1 + m2) / 2 + m3), down the columns, then along the rows) added to
 * dweight. A NaN or infinite input or output gradient makes all nine
 * weights of every (o, c) pair whose sums it enters non-finite (the direct
 * sum: only the taps that see it). Returns 0 (nothing written) when memory
 * is not to be had. */
int lp_conv_winograd_dweight(float *dweight, const float *dout, const float *inp, int64_t N,
                             int64_t C, int64_t H, int64_t W, int64_t O);

#endif
