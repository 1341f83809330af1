/* parallel.h — a small persistent thread pool for the kernels.
 *
 * lp_parallel_for runs fn(ctx, begin, end) over contiguous pieces of
 * [0, n) and returns when all are done. The number of threads is chosen
 * per call from the work size: lp_threads_for(n, grain) = at most
 * lp_threads(), and at most one thread per `grain` elements, so work below
 * 2 * grain runs on the calling thread alone (grain is each kernel's
 * measured break-even size, docs/performance.md). With two or more
 * threads the work is cut into 4 pieces per thread, claimed one at a time
 * by the caller and the workers that are awake: a thread the system has
 * not scheduled never holds the call up. Piece boundaries are a pure
 * function of n, grain and the thread count, and each piece must be
 * computed the same whichever thread runs it. fn must not call
 * lp_parallel_for itself. */
#ifndef LP_PARALLEL_H
#define LP_PARALLEL_H

#include <stddef.h>

typedef void (*lp_range_fn)(void *ctx, size_t begin, size_t end);

/* Sets the number of threads (>= 1; 0 means the number of cores). Also
 * sets OpenBLAS's thread count. Returns the count in force. */
int lp_set_threads(int n);
int lp_threads(void);
/* The threads lp_parallel_for(n, grain, ...) uses: 1..lp_threads(); never
 * more run fn at once (kernels size per-thread buffers by it), even when
 * the pool holds more workers from an earlier, larger thread count. */
int lp_threads_for(size_t n, size_t grain);
void lp_parallel_for(size_t n, size_t grain, lp_range_fn fn, void *ctx);
/* Multiplies every call's grain by s (0: every call with n >= 2 is split
 * across all threads); 1 is the default. For `lpact bench threads`,
 * which finds each kernel's break-even: a kernel must give the same
 * results whatever its grain, so this changes speed only. */
void lp_set_grain_scale(double s);

#endif
