/* conv_winograd_nomem.c — the F(2x2, 3x3) kernels (conv_winograd.h) when
 * memory is not to be had: each of their allocations failed in turn (this
 * program's aligned_alloc stands in for the C library's), the kernel
 * returns 0 with nothing written, and the library's entries
 * (conv_implicit.h) fall back to the direct kernels, whose bits they then
 * give; under ASan nothing leaks. */
#include <stdlib.h>
#include <string.h>

#include "core/conv_implicit.h"
#include "core/conv_winograd.h"
#include "core/fmagemm.h"
#include "core/parallel.h"
#include "tap.h"
#include "winograd_ref.h"

static int calls = 0, fail_at = 0;   /* fail_at: the call (from 1) to fail, 0 none */

void *aligned_alloc(size_t alignment, size_t size) {
  if (fail_at && ++calls == fail_at) return NULL;
  void *p = NULL;
  return posix_memalign(&p, alignment < sizeof(void *) ? sizeof(void *) : alignment, size) ? NULL : p;
}

/* the aligned allocations of f(), counted */
static int count_calls(void (*f)(void)) {
  fail_at = -1, calls = 0;   /* never reached: counts only */
  f();
  fail_at = 0;
  return calls;
}

static const shape s = {17, 24, 9, 11, 20};   /* 3 chunks of samples */
static float *x, *w, *b, *dy, *out, *dw, *dws;
static void fwd(void) { lp_conv_winograd_forward(out, x, w, b, 0, s.N, s.C, s.H, s.W, s.O, NULL, NULL, 0); }
static void dwt(void) { lp_conv_winograd_dweight(dws, dy, x, s.N, s.C, s.H, s.W, s.O); }

int main(void) {
  if (!lp_fmagemm_cpu()) {
    printf("1..0 # SKIP no AVX-512F on this machine: the Winograd kernels are not built for it\n");
    return 0;
  }
  const int64_t P = s.H * s.W, ny = s.N * s.O * P, nx = s.N * s.C * P, nw = s.O * s.C * 9;
  x = randv(nx), w = randv(nw), b = randv(s.O), dy = randv(ny), out = randv(ny), dw = randv(nw);
  dws = randv(nw);
  float *keep = malloc((size_t)ny * sizeof *keep), *direct = malloc((size_t)ny * sizeof *direct);
  float *wkeep = malloc((size_t)nw * sizeof *wkeep), *wdirect = malloc((size_t)nw * sizeof *wdirect);
  float *dx = malloc((size_t)nx * sizeof *dx), *dxdirect = malloc((size_t)nx * sizeof *dxdirect);
  lp_set_threads(2);
  lp_set_grain_scale(0);   /* a buffer set per thread: two */
  /* the direct kernels' bits */
  lp_conv_winograd_use(0);
  lp_conv_implicit_forward(direct, x, w, b, s.N, s.C, s.H, s.W, s.O, 3, 3, 1);
  memcpy(wdirect, dw, (size_t)nw * sizeof *wdirect);
  lp_conv_implicit_dweight(wdirect, dy, x, s.N, s.C, s.H, s.W, s.O, 3, 3, 1);
  lp_conv_implicit_dinput(dxdirect, dy, w, s.N, s.C, s.H, s.W, s.O, 3, 3, 1, 0);
  lp_conv_winograd_use(1);
  int nf = count_calls(fwd), nd = count_calls(dwt);
  tap_diag("failing each of them in turn");
  tap_ok(nf >= 3 && nd >= 3, "the forward makes %d aligned allocations, the weight gradient %d", nf, nd);
  int zero_ok = 1, untouched = 1, fallback = 1, dx_fallback = 1;
  for (int k = 1; k <= nf; k++) {
    memcpy(keep, out, (size_t)ny * sizeof *keep);
    fail_at = k, calls = 0;
    zero_ok &= lp_conv_winograd_forward(out, x, w, b, 0, s.N, s.C, s.H, s.W, s.O, NULL, NULL, 0) == 0;
    untouched &= same_bits(out, keep, ny);
    fail_at = k, calls = 0;
    fallback &= lp_conv_implicit_forward(out, x, w, b, s.N, s.C, s.H, s.W, s.O, 3, 3, 1) && same_bits(out, direct, ny);
    /* the input gradient: the forward of the flipped weights */
    fail_at = k, calls = 0;
    dx_fallback &= lp_conv_implicit_dinput(dx, dy, w, s.N, s.C, s.H, s.W, s.O, 3, 3, 1, 0) && same_bits(dx, dxdirect, nx);
    fail_at = 0;
  }
  tap_ok(zero_ok && untouched, "forward, each of its %d allocations failed in turn: returns 0, out untouched", nf);
  tap_ok(fallback, "lp_conv_implicit_forward then gives the direct kernels' bits");
  tap_ok(dx_fallback, "lp_conv_implicit_dinput then gives the direct kernels' bits");
  int dzero = 1, duntouched = 1, dfallback = 1;
  for (int k = 1; k <= nd; k++) {
    memcpy(wkeep, dw, (size_t)nw * sizeof *wkeep);
    fail_at = k, calls = 0;
    dzero &= lp_conv_winograd_dweight(dw, dy, x, s.N, s.C, s.H, s.W, s.O) == 0;
    duntouched &= same_bits(dw, wkeep, nw);
    fail_at = k, calls = 0;
    dfallback &= lp_conv_implicit_dweight(dw, dy, x, s.N, s.C, s.H, s.W, s.O, 3, 3, 1) && same_bits(dw, wdirect, nw);
    memcpy(dw, wkeep, (size_t)nw * sizeof *dw);
    fail_at = 0;
  }
  tap_ok(dzero && duntouched, "weight gradient, each of its %d allocations failed in turn: returns 0, dweight untouched", nd);
  tap_ok(dfallback, "lp_conv_implicit_dweight then adds the direct kernels' sums");
  /* and with memory again, the Winograd bits (not the direct ones) */
  fwd();
  tap_ok(!same_bits(out, direct, ny), "with memory again the Winograd kernels run (other bits than the direct ones)");
  lp_set_grain_scale(1);
  free(x), free(w), free(b), free(dy), free(out), free(dw), free(keep), free(direct), free(wkeep), free(wdirect);
  free(dx), free(dxdirect), free(dws);
  return tap_done();
}
