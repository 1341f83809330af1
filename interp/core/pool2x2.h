/* pool2x2.h — max pooling over 2x2 windows with stride 2 and no padding
 * (the pooling of every CNN lpact ships), one plane at a time in 16-lane
 * AVX-512 code: 16 windows a step, the even and odd columns of two input
 * rows split by permutes. The bits of the portable code in ops_conv.c (the
 * first of equal maxima wins, value and index); that code stays the
 * definition and the path of other CPUs and of planes these decline.
 * Plain C11, no Lua. */
#ifndef LP_POOL2X2_H
#define LP_POOL2X2_H

#include <stdint.h>

/* Whether the 16-lane code runs: the CPU has AVX-512 and the lane level
 * (lp_quantize_simd) in force allows it. Read on the calling thread. */
int lp_pool2x2_fast(void);

/* One plane x (H, W) into y and ix (OH, OW), OH = H / 2, OW = W / 2.
 * Returns 0, or -1 when a window holds a NaN: then the caller runs the
 * portable code over the plane (y and ix may be partly written). */
int lp_pool2x2_forward_plane(const float *x, float *y, int32_t *ix, int64_t H, int64_t W);

/* The gradient of one plane: dx (H, W) = 0 + dy at each window's ix, +0
 * elsewhere, every element written. Returns 0, or -1 when an index does
 * not lie in its own window (indices made by hand): then the caller clears
 * dx and adds dy at ix the portable way. */
int lp_pool2x2_backward_plane(float *dx, const float *dy, const int32_t *ix, int64_t H, int64_t W);

/* ReLU then the pooling, backward, from the pooling's output y = relu of
 * each window's max instead of the ReLU's input: relu'(x) at a window's
 * maximum is 1 exactly where y > 0, and everywhere else in the window it
 * multiplies +0. dx = (0 + dy) * (y > 0 ? 1 : 0) at ix, +0 elsewhere: the
 * bits of the scatter then ReLU's backward. Returns -1 (the caller reads
 * x the ordinary way) for odd H or W (the unread row or column's x
 * decides whether its gradient is NaN), a NaN y (a NaN in the window) or
 * an index outside its window. */
int lp_pool2x2_relu_backward_plane(float *dx, const float *dy, const float *y, const int32_t *ix,
                                   int64_t H, int64_t W);

#endif
