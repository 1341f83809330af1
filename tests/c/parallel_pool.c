/* parallel_pool.c — lp_parallel_for: every index of [0, n) is run exactly
 * once whatever the thread count and grain, the thread count of a call
 * follows the work size (lp_threads_for), and many small jobs in a row
 * (workers waking late, after the caller has done the job alone) neither
 * lose nor repeat work; after a call with more threads, a call never runs
 * on more threads at once than lp_threads_for gave it. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/parallel.h"
#include "tap.h"

typedef struct {
  unsigned char *mark;
  size_t calls_lo, calls_hi;
} ctx_t;

static void mark_range(void *vc, size_t lo, size_t hi) {
  ctx_t *c = vc;
  for (size_t i = lo; i < hi; i++) c->mark[i]++;
}

/* the most threads inside fn at once */
static atomic_int inside, most;
static volatile double sink;
static void count_inside(void *vc, size_t lo, size_t hi) {
  (void)vc;
  int k = atomic_fetch_add(&inside, 1) + 1, m = atomic_load(&most);
  while (k > m && !atomic_compare_exchange_weak(&most, &m, k)) {
  }
  double s = 0;
  for (size_t i = lo; i < hi; i++)
    for (int j = 0; j < 2000; j++) s += j * 1e-3;
  sink = s;
  atomic_fetch_sub(&inside, 1);
}

int main(void) {
  const size_t sizes[] = {0, 1, 7, 100, 4096, 100003};
  const size_t grains[] = {1, 1000, 1 << 16};
  unsigned char *mark = malloc(100003);
  for (int t = 1; t <= 4; t++) {
    lp_set_threads(t);
    for (int s = 0; s < 6; s++)
      for (int g = 0; g < 3; g++) {
        size_t n = sizes[s];
        memset(mark, 0, 100003);
        ctx_t c = {mark, 0, 0};
        lp_parallel_for(n, grains[g], mark_range, &c);
        size_t bad = 0;
        for (size_t i = 0; i < n; i++) bad += mark[i] != 1;
        tap_ok(bad == 0, "%d threads, n %zu, grain %zu: every index exactly once", t, n, grains[g]);
      }
  }
  lp_set_threads(4);
  tap_ok(lp_threads_for(100, 1000) == 1, "under one grain of work: 1 thread");
  tap_ok(lp_threads_for(2500, 1000) == 2, "2.5 grains: 2 threads");
  tap_ok(lp_threads_for(5000, 1000) == 4, "5 grains, 4 threads set: 4");
  tap_ok(lp_threads_for(5000, 0) == 4, "grain 0: every element may go to a thread");
  lp_set_threads(2);
  tap_ok(lp_threads_for(1 << 20, 1000) == 2, "never more than lp_threads()");
  lp_set_grain_scale(0);
  tap_ok(lp_threads_for(3, 1000) == 2, "grain scale 0: 3 elements go to 2 threads");
  tap_ok(lp_threads_for(1, 1000) == 1, "grain scale 0: 1 element stays on 1");
  lp_set_grain_scale(0.5);
  tap_ok(lp_threads_for(1000, 1000) == 2, "grain scale 0.5: a 1000 grain splits from 1000 elements");
  lp_set_grain_scale(1);
  tap_ok(lp_threads_for(1000, 1000) == 1, "grain scale 1: the grain as given");
  /* many small jobs back to back */
  size_t bad = 0;
  for (int r = 0; r < 20000; r++) {
    size_t n = 8 + (size_t)(r % 57);
    memset(mark, 0, n);
    ctx_t c = {mark, 0, 0};
    lp_parallel_for(n, 1, mark_range, &c);
    for (size_t i = 0; i < n; i++) bad += mark[i] != 1;
  }
  if (!tap_ok(bad == 0, "20000 small 2-thread jobs in a row: every index exactly once")) tap_diag("%zu wrong", bad);
  /* workers left from a 4-thread call, still awake when the next 2-thread
   * call starts, must not join it as third and fourth threads */
  lp_set_threads(4);
  lp_parallel_for(64, 1, count_inside, NULL);
  lp_set_threads(2);
  int over = 0;
  for (int r = 0; r < 20000; r++) {
    atomic_store(&most, 0);
    lp_parallel_for(8, 1, count_inside, NULL);
    over += atomic_load(&most) > lp_threads_for(8, 1);
  }
  if (!tap_ok(over == 0, "after a 4-thread call, 20000 2-thread calls: never more than 2 threads inside at once"))
    tap_diag("%d calls ran on more", over);
  free(mark);
  return tap_done();
}
