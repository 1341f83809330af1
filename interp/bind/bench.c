/* bench.c — lpact.bench_pool(n, threads, reps): the thread pool's
 * break-even, measured. Times c[i] = a[i] + b[i] over n floats (a
 * memory-bound kernel like the elementwise ops) through lp_parallel_for
 * with grain 1, so the work is split whatever its size; `lpact bench
 * threads` compares 1 and 2 threads over a range of n to find the size
 * from which a second thread pays (the grains of the kernels,
 * docs/performance.md). */
#include <math.h>
#include <stdlib.h>
#include <time.h>

#include <lauxlib.h>
#include <lua.h>

#include "core/parallel.h"

typedef struct {
  float *a, *b, *c;
} add_ctx;

static void add_range(void *vc, size_t lo, size_t hi) {
  add_ctx *x = vc;
  for (size_t i = lo; i < hi; i++) x->c[i] = x->a[i] + x->b[i];
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* bench_pool(n, threads, reps) -> best wall seconds of one split add. */
static int l_bench_pool(lua_State *L) {
  lua_Integer n = luaL_checkinteger(L, 1), threads = luaL_checkinteger(L, 2),
              reps = luaL_optinteger(L, 3, 100);
  luaL_argcheck(L, n >= 1 && n <= ((lua_Integer)1 << 28), 1, "size out of range");
  luaL_argcheck(L, threads >= 1 && threads <= 64, 2, "threads out of range");
  luaL_argcheck(L, reps >= 1 && reps <= 1000000, 3, "repetitions out of range");
  size_t m = (size_t)n;
  add_ctx c = {malloc(m * sizeof(float)), malloc(m * sizeof(float)), malloc(m * sizeof(float))};
  if (c.a == NULL || c.b == NULL || c.c == NULL) {
    free(c.a);
    free(c.b);
    free(c.c);
    return luaL_error(L, "not enough memory");
  }
  for (size_t i = 0; i < m; i++) {
    c.a[i] = (float)i;
    c.b[i] = 1.0f;
    c.c[i] = 0.0f;
  }
  int old = lp_threads();
  lp_set_threads((int)threads);
  double best = INFINITY;
  for (lua_Integer r = 0; r < reps; r++) {
    double t0 = now();
    lp_parallel_for(m, 1, add_range, &c);
    double t = now() - t0;
    if (t < best) best = t;
  }
  lp_set_threads(old);
  free(c.a);
  free(c.b);
  free(c.c);
  lua_pushnumber(L, best);
  return 1;
}

/* bench_grain(scale): every kernel's grain times scale from now on (0:
 * every call split across all threads; 1: the kernels' own grains). */
static int l_bench_grain(lua_State *L) {
  lua_Number s = luaL_checknumber(L, 1);
  luaL_argcheck(L, s >= 0 && s <= 1e6, 1, "scale must be in [0, 1e6]");
  lp_set_grain_scale((double)s);
  return 0;
}

int luaopen_lpact_bench(lua_State *L) {
  static const luaL_Reg fns[] = {{"bench_pool", l_bench_pool}, {"bench_grain", l_bench_grain},
                                 {NULL, NULL}};
  luaL_newlib(L, fns);
  return 1;
}
