/* parallel.h — a small persistent thread pool for the kernels.
 *
 * lp_parallel_for splits [0, n) into at most lp_threads() contiguous
 * chunks and runs fn(ctx, begin, end) on each, the calling thread taking
 * the first; it returns when all are done. Work below `grain` elements runs
 * on the calling thread alone. Chunk boundaries are a pure function of n
 * and the thread count. fn must not call lp_parallel_for itself. */
#ifndef LP_PARALLEL_H
#define LP_PARALLEL_H

#include <stddef.h>

typedef void (*lp_range_fn)(void *ctx, size_t begin, size_t end);

/* Sets the number of threads (>= 1; 0 means the number of cores). Also
 * sets OpenBLAS's thread count. Returns the count in force. */
int lp_set_threads(int n);
int lp_threads(void);
void lp_parallel_for(size_t n, size_t grain, lp_range_fn fn, void *ctx);

#endif
