/* conv_winograd_nomem.c — the F(2x2, 3x3) kernels (conv_winograd.h) when
 * memory is not to be had: each of their allocations failed in turn (this
 * program's aligned_alloc stands in for the C library's), the kernel
 * returns 0 with nothing written, and the library's entries
 * (conv_implicit.h) fall back to the direct kernels, whose bits they then
 * give; under ASan nothing leaks. The kernels keep their buffers from one
 * call to the next and allocate only when a call needs larger ones, so
 * every call here is on a shape with more input channels than the last. */
#include <stdlib.h>
#include <string.h>

#include "core/conv_implicit.h"
#include "core/conv_winograd.h"
#include "core/fmagemm.h"
#include "core/parallel.h"
#include "tap.h"
#include "winograd_ref.h"

static int calls = 0, fail_at = 0;   /* fail_at: the call (from 1) to fail; 0: none, -1: count */

void *aligned_alloc(size_t alignment, size_t size) {
  if (fail_at && ++calls == fail_at) return NULL;
  void *p = NULL;
  return posix_memalign(&p, alignment < sizeof(void *) ? sizeof(void *) : alignment, size) ? NULL : p;
}

static int64_t C = 24;   /* grows by 16 a call: every buffer larger than the last */

/* kind 0: lp_conv_winograd_forward, 1: lp_conv_winograd_dweight, 2, 3, 4:
 * lp_conv_implicit_forward, _dweight, _dinput, on a fresh larger shape with
 * the k-th aligned allocation failed (k 0: none, the calls counted; k
 * past the calls: none fails).
 * Returns 1 when kinds 0, 1 return 0 with nothing written and kinds 2-4
 * give the direct kernels' bits. */
static int trial(int kind, int k) {
  shape s = {17, C, 5, 6, 20};   /* 17 samples: 3 chunks of the weight gradient, 2 buffer sets */
  C += 16;
  const int64_t P = s.H * s.W, ny = s.N * s.O * P, nx = s.N * s.C * P, nw = s.O * s.C * 9;
  float *x = randv(nx), *w = randv(nw), *b = randv(s.O), *dy = randv(ny), *out = randv(ny), *dw = randv(nw);
  float *dx = randv(nx), *ref = malloc((size_t)(nx + ny + nw) * sizeof *ref);
  float *rout = ref, *rdw = ref + ny, *rdx = ref + ny + nw;
  memcpy(rout, out, (size_t)ny * sizeof *ref), memcpy(rdw, dw, (size_t)nw * sizeof *ref);
  memcpy(rdx, dx, (size_t)nx * sizeof *ref);
  if (kind >= 2) {   /* the direct kernels (they allocate with malloc, not counted) */
    lp_conv_winograd_use(0);
    lp_conv_implicit_forward(rout, x, w, b, s.N, s.C, s.H, s.W, s.O, 3, 3, 1);
    lp_conv_implicit_dweight(rdw, dy, x, s.N, s.C, s.H, s.W, s.O, 3, 3, 1);
    lp_conv_implicit_dinput(rdx, dy, w, s.N, s.C, s.H, s.W, s.O, 3, 3, 1, 0);
    lp_conv_winograd_use(1);
  }
  calls = 0, fail_at = k == 0 ? -1 : k;
  int r = 0;
  switch (kind) {
    case 0: r = lp_conv_winograd_forward(out, x, w, b, 0, s.N, s.C, s.H, s.W, s.O, NULL, NULL, 0) == 0; break;
    case 1: r = lp_conv_winograd_dweight(dw, dy, x, s.N, s.C, s.H, s.W, s.O) == 0; break;
    case 2: r = lp_conv_implicit_forward(out, x, w, b, s.N, s.C, s.H, s.W, s.O, 3, 3, 1); break;
    case 3: r = lp_conv_implicit_dweight(dw, dy, x, s.N, s.C, s.H, s.W, s.O, 3, 3, 1); break;
    case 4: r = lp_conv_implicit_dinput(dx, dy, w, s.N, s.C, s.H, s.W, s.O, 3, 3, 1, 0); break;
  }
  int got = calls;
  fail_at = 0;
  /* kinds 0, 1: nothing written; 2, 3, 4: the direct bits where written */
  int fwd_ok = same_bits(out, rout, ny), dw_ok = same_bits(dw, rdw, nw), dx_ok = same_bits(dx, rdx, nx);
  r = r && (kind == 4 ? dx_ok : kind == 1 || kind == 3 ? dw_ok : fwd_ok);
  free(x), free(w), free(b), free(dy), free(out), free(dw), free(dx), free(ref);
  return k == 0 ? got : r;
}

int main(void) {
  if (!lp_fmagemm_cpu()) {
    printf("1..0 # SKIP no AVX-512F on this machine: the Winograd kernels are not built for it\n");
    return 0;
  }
  lp_set_threads(2);
  lp_set_grain_scale(0);   /* a buffer set per thread: two */
  int nf = trial(0, 0), nd = trial(1, 0), ok[5] = {1, 1, 1, 1, 1};
  tap_diag("failing each allocation in turn");
  tap_ok(nf == 3 && nd == 3,
         "on a larger shape the forward allocates %d buffers (U, two sets), the weight gradient %d (sums, two sets)", nf, nd);
  /* the input gradient first: its buffers (O = 20 in, C out) are larger
   * than the counting calls' but not than later forwards' */
  const int order[5] = {4, 2, 3, 0, 1};
  for (int q = 0; q < 5; q++)
    for (int k = 1, kind = order[q]; k <= (kind == 1 || kind == 3 ? nd : nf); k++) ok[kind] &= trial(kind, k);
  tap_ok(ok[0], "forward, each allocation failed in turn: returns 0, out untouched");
  tap_ok(ok[1], "weight gradient, each failed in turn: returns 0, dweight untouched");
  tap_ok(ok[2], "lp_conv_implicit_forward then gives the direct kernels' bits");
  tap_ok(ok[3], "lp_conv_implicit_dweight then adds the direct kernels' sums");
  tap_ok(ok[4], "lp_conv_implicit_dinput then gives the direct kernels' bits");
  /* with memory, a larger shape: the Winograd bits, not the direct ones */
  tap_ok(!trial(2, 1000), "with memory the Winograd kernels run (other bits than the direct ones)");
  lp_set_grain_scale(1);
  return tap_done();
}
