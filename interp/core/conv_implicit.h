/* conv_implicit.h — convolutions without an im2col matrix, for the
 * "same" shape of most CNN layers (stride 1, output as large as the input:
 * odd kh, kw with pad (kh-1)/2 == (kw-1)/2), on machines with AVX-512F.
 *
 * A row r = (c, i, j) of im2col(x) for one sample is the plane x[c] moved
 * by (i - pad) rows and (j - pad) columns, with zeros where it wrapped or
 * left the plane; the kernels load it straight from x under a lane mask
 * (masked lanes read as +0, exactly im2col's zeros). So the forward writes
 * and reads no column matrix (cnn_small's second layer: 14.5 MB a batch),
 * and the weight gradient needs none kept from the forward.
 *
 * Bits. The forward is, per output, the fused multiply-add chain over r in
 * order from +0, then + bias: the bits of im2col + lp_fmagemm (and of
 * OpenBLAS on cnn_small's layers). The weight gradient's sum over the
 * batch's positions runs in 16 lanes — lane l takes positions p = l mod 16
 * of every sample in order, one fused multiply-add chain each — and the
 * lanes are added pairwise (8 + 8, 4 + 4, 2 + 2, 1 + 1) and then added to
 * dweight. Neither depends on the thread count. 3x3 shapes with 8 or more
 * input channels go to Winograd's kernels instead (conv_winograd.h), with
 * their own bits, unless those are turned off. */
#ifndef LP_CONV_IMPLICIT_H
#define LP_CONV_IMPLICIT_H

#include <stdint.h>

/* 1 when these kernels take this shape on this machine (and are on). */
int lp_conv_implicit_ok(int64_t C, int64_t H, int64_t W, int64_t O, int kh, int kw, int stride,
                        int pad);

/* lp_conv_implicit_use(0) sends every shape to the im2col path (tests);
 * returns the previous setting. */
int lp_conv_implicit_use(int on);

/* out (N, O, H, W) = conv(inp (N, C, H, W), weight (O, C, kh, kw)) + bias
 * (O, or NULL: + 0). Returns 0 (nothing written) when memory for the
 * packed weights or the lane masks is not to be had. */
int lp_conv_implicit_forward(float *out, const float *inp, const float *weight, const float *bias,
                             int64_t N, int64_t C, int64_t H, int64_t W, int64_t O, int kh, int kw,
                             int pad);

/* The same, calling after(arg, n, y) on the thread that computed sample n
 * once its output y (O, H, W) is written (for work on it while it is in
 * cache). With scratch, y is a buffer of the thread's and out is not
 * written (unless that buffer cannot be had: then y is in out). */
int lp_conv_implicit_forward_then(float *out, const float *inp, const float *weight, const float *bias,
                                  int64_t N, int64_t C, int64_t H, int64_t W, int64_t O, int kh, int kw,
                                  int pad, void (*after)(void *, int64_t, const float *), void *arg,
                                  int scratch);

/* dinp (N, C, H, W) += the gradient from dout (N, O, H, W) (add), or =
 * 0 + it (!add: dinp need not be cleared, the same bits as clearing and
 * adding): the forward of dout with the weights flipped and transposed,
 * w'[c][o][i][j] = w[o][c][kh-1-i][kw-1-j] (one fused multiply-add chain
 * per input element over (o, i, j) in order, then added to dinp). Returns
 * 0 (nothing written) when memory is not to be had. */
int lp_conv_implicit_dinput(float *dinp, const float *dout, const float *weight, int64_t N,
                            int64_t C, int64_t H, int64_t W, int64_t O, int kh, int kw, int pad, int add);

/* dweight (O, C, kh, kw) += the gradient from dout (N, O, H, W) and inp.
 * Returns 0 (nothing written) when memory is not to be had. */
int lp_conv_implicit_dweight(float *dweight, const float *dout, const float *inp, int64_t N,
                             int64_t C, int64_t H, int64_t W, int64_t O, int kh, int kw, int pad);

#endif
