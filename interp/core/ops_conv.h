/* ops_conv.h — convolution (im2col + sgemm) and pooling (ops_conv.c),
 * forward and backward side by side.
 *
 * llm.c conventions: outputs first, then inputs, then sizes; every pointer
 * carries its shape in a comment; gradients are named d<name>; a backward
 * ACCUMULATES (+=) into the input gradients unless it says "writes", and
 * zeroing is the caller's job. Kernels never allocate except where a
 * workspace argument is named, never fail, and know nothing of Lua. */
#ifndef LP_OPS_CONV_H
#define LP_OPS_CONV_H

#include <stdint.h>

#include "core/act.h"

/* ---- convolution and pooling ------------------------------- */

/* col (C*kh*kw, N*OH*OW) from inp (N, C, H, W) */
void lp_im2col(float *col, const float *inp, int64_t N, int64_t C, int64_t H, int64_t W,
               int kh, int kw, int stride, int pad, int64_t OH, int64_t OW);
/* dinp (N, C, H, W) += col2im(dcol (C*kh*kw, N*OH*OW)) */
void lp_col2im(float *dinp, const float *dcol, int64_t N, int64_t C, int64_t H, int64_t W,
               int kh, int kw, int stride, int pad, int64_t OH, int64_t OW);
/* Workspace floats conv2d needs: C*kh*kw*N*OH*OW + O*N*OH*OW. */
int64_t lp_conv2d_workspace(int64_t N, int64_t C, int64_t O, int kh, int kw, int64_t OH, int64_t OW);
/* out (N, O, OH, OW) = conv(inp (N, C, H, W), weight (O, C, kh, kw)) + bias (O);
 * leaves im2col(inp) at the start of work, for the backward. */
void lp_conv2d_forward(float *out, float *work, const float *inp, const float *weight,
                       const float *bias, int64_t N, int64_t C, int64_t H, int64_t W, int64_t O,
                       int kh, int kw, int stride, int pad);
/* dinp += ..., dweight += ..., dbias += ... (each may be NULL); with
 * !accumulate they are overwritten (and may be uninitialised). col_ready:
 * work still holds the forward's im2col of inp (it is then reused, not
 * recomputed); either way work is overwritten. */
void lp_conv2d_backward(float *dinp, float *dweight, float *dbias, float *work, const float *dout,
                        const float *inp, const float *weight, int64_t N, int64_t C, int64_t H,
                        int64_t W, int64_t O, int kh, int kw, int stride, int pad, int col_ready,
                        int accumulate);

/* The bias gradient's order (lp_conv2d_backward): l[q] += row[p] for the
 * positions p = q mod 16 of a plane of P, over the planes of a channel in
 * sample order from l = 0; then the lanes added pairwise (8 + 8, 4 + 4,
 * 2 + 2, 1 + 1), the sum returned. */
void lp_bias_lanes(float *l, const float *row, int64_t P);
float lp_bias_lanes_sum(float *l);

/* out (N, C, OH, OW) = max over k x k windows; idx (same shape) holds the
 * flat index (within the H*W plane) of the max, for the backward. */
void lp_maxpool2d_forward(float *out, int32_t *idx, const float *inp, int64_t N, int64_t C,
                          int64_t H, int64_t W, int k, int stride, int pad);
/* dinp (N, C, H, W) = zeros with dout added at idx: every element is
 * written, dinp need not be cleared. Returns 0, or -1 when an index lies
 * outside its plane (it is skipped; dinp is then not the gradient). */
int lp_maxpool2d_backward(float *dinp, const float *dout, const int32_t *idx, int64_t N, int64_t C,
                           int64_t H, int64_t W, int64_t OH, int64_t OW);
/* An activation then max pooling, fused: out and idx are those of
 * lp_maxpool2d_forward on f(inp) (f = a with parameter alpha), bit for
 * bit, without f(inp) written out. Planes of at most LP_ACT_POOL_PLANE
 * elements; returns -1 (nothing written) for larger ones, 0 otherwise. */
#define LP_ACT_POOL_PLANE 4096
int lp_act_maxpool2d_forward(lp_act a, float alpha, float *out, int32_t *idx, const float *inp,
                             int64_t N, int64_t C, int64_t H, int64_t W, int k, int stride, int pad);
/* Its backward: dinp = f'(inp) * (the pooling's gradient of dout), the bits
 * of lp_maxpool2d_backward then lp_act_backward; inp is the activation's
 * input (not f(inp)); any plane size. out, the forward's output, may be
 * NULL; with it and the forward's window k, stride, pad = 2, 2, 0 ReLU
 * need not read inp (pool2x2.h); other windows ignore out. dbias (C), if
 * not NULL, gets 0 + the sum of dinp over samples and positions, the bits
 * of lp_conv2d_backward's bias gradient from dinp. inp may be NULL when a
 * is ReLU on such windows and out is given: then -2 is returned (dinp and
 * dbias unfinished) if a plane needs inp after all (a NaN in a window, odd
 * planes, the portable path). Returns 0, or -1 when an index lies outside
 * its plane (as lp_maxpool2d_backward). */
int lp_act_maxpool2d_backward(lp_act a, float alpha, float *dinp, float *dbias, const float *dout,
                              const int32_t *idx, const float *inp, const float *out, int64_t N, int64_t C,
                              int64_t H, int64_t W, int64_t OH, int64_t OW, int k, int stride, int pad);
/* A convolution (lp_conv2d_forward: out, work) followed by the activation
 * a and max pooling of out (lp_act_maxpool2d_forward: pooled, idx), the
 * bits of the two calls; for "same" shapes on AVX-512 (conv_implicit.h)
 * each sample is pooled right after its convolution, while it is in
 * cache. With drop, those shapes leave out unwritten (the pooling reads
 * each sample from a buffer of the thread's): for a backward that does not
 * need it (ReLU's, lp_act_maxpool2d_backward with inp NULL). Returns 1
 * when out was not written, 0 when it was, -1 (nothing written) for
 * output planes larger than LP_ACT_POOL_PLANE. */
int lp_conv2d_act_maxpool2d_forward(float *out, float *work, float *pooled, int32_t *idx, const float *inp,
                                    const float *weight, const float *bias, int64_t N, int64_t C, int64_t H,
                                    int64_t W, int64_t O, int kh, int kw, int stride, int pad, lp_act a,
                                    float alpha, int k, int pstride, int ppad, int drop);
/* average over k x k windows (padding counts as zeros in the divisor k*k) */
void lp_avgpool2d_forward(float *out, const float *inp, int64_t N, int64_t C, int64_t H, int64_t W,
                          int k, int stride, int pad);
void lp_avgpool2d_backward(float *dinp, const float *dout, int64_t N, int64_t C, int64_t H, int64_t W,
                           int k, int stride, int pad);

#endif
