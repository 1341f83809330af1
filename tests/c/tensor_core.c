/* tensor_core.c — the tensor core and kernels from C, without Lua:
 * storage reference counts, views, broadcasting, sum_to, the tiled gemm
 * against a naive loop, and im2col/col2im as adjoint maps. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/format.h"
#include "core/ops_conv.h"
#include "core/ops_elem.h"
#include "core/ops_nn.h"
#include "core/parallel.h"
#include "core/rng.h"
#include "tap.h"

static void fill_rand(float *p, int64_t n, uint64_t seed) {
  uint64_t key = lp_rng_key(seed, 0);
  for (int64_t i = 0; i < n; i++) p[i] = (float)(2.0 * lp_rand_unit(key, (uint64_t)i) - 1.0);
}

int main(void) {
  /* storage and views */
  lp_tensor a = {0}, v = {0};
  int64_t shape[2] = {2, 3};
  tap_ok(lp_tensor_init(&a, 2, shape, 1) == LP_OK, "init a (2, 3) tensor");
  tap_ok(a.st->refs == 1 && lp_tensor_numel(&a) == 6 && lp_tensor_is_contiguous(&a), "one reference, 6 elements, contiguous");
  tap_ok(lp_tensor_data(&a)[5] == 0.0f, "zeroed");
  lp_tensor_view(&v, &a);
  tap_ok(a.st->refs == 2 && v.st == a.st, "a view shares the storage and holds a reference");
  v.shape[0] = 3; v.shape[1] = 2; v.stride[0] = 1; v.stride[1] = 3;   /* transpose */
  tap_ok(!lp_tensor_is_contiguous(&v), "the transpose is not contiguous");
  for (int i = 0; i < 6; i++) lp_tensor_data(&a)[i] = (float)i;
  tap_ok(lp_tensor_data(&v)[lp_tensor_offset_of(&v, 1)] == 3.0f, "v[0][1] = a[1][0]");
  {
    /* overlap: worked out on the 6-element storage by hand */
    lp_tensor w = a, x = a;            /* headers only: no reference taken */
    tap_ok(!lp_tensor_overlaps(&a, &a), "the very same view does not overlap itself (elementwise safe)");
    tap_ok(lp_tensor_overlaps(&a, &v), "a and its transpose overlap");
    w.ndim = 1; w.shape[0] = 3; w.stride[0] = 1; w.offset = 0;   /* elements 0..2 */
    x.ndim = 1; x.shape[0] = 3; x.stride[0] = 1; x.offset = 3;   /* elements 3..5 */
    tap_ok(!lp_tensor_overlaps(&w, &x), "disjoint halves do not overlap");
    x.offset = 2;                                                   /* 2..4 */
    tap_ok(lp_tensor_overlaps(&w, &x) && lp_tensor_overlaps(&x, &w), "halves sharing element 2 overlap (both ways)");
    x.shape[0] = 0;
    tap_ok(!lp_tensor_overlaps(&w, &x), "an empty view overlaps nothing");
    x.shape[0] = 1; x.stride[0] = 0; x.offset = 1;                  /* a broadcast element inside w */
    tap_ok(lp_tensor_overlaps(&w, &x), "a single element inside the range overlaps");
  }
  lp_storage *st = a.st;
  lp_tensor_free(&a);
  tap_ok(a.st == NULL && st->refs == 1, "freeing the base leaves the view's reference");
  lp_tensor c = {0};
  int64_t s6[1] = {6};
  lp_tensor_init(&c, 1, s6, 0);
  lp_tensor_copy(&c, &v);
  float want[6] = {0, 3, 1, 4, 2, 5};
  tap_ok(memcmp(lp_tensor_data(&c), want, sizeof want) == 0, "copy walks a strided view in logical order");
  lp_tensor_free(&v);
  lp_tensor_free(&c);
  lp_tensor_free(&c);
  tap_ok(1, "freeing an empty tensor is harmless");

  /* broadcasting and sum_to */
  lp_tensor x = {0}, y = {0}, o = {0}, r = {0};
  int64_t sx[2] = {2, 1}, sy[1] = {3}, so[2];
  int nd;
  lp_tensor_init(&x, 2, sx, 0);
  lp_tensor_init(&y, 1, sy, 0);
  lp_tensor_data(&x)[0] = 10; lp_tensor_data(&x)[1] = 20;
  for (int i = 0; i < 3; i++) lp_tensor_data(&y)[i] = (float)i;
  tap_ok(lp_broadcast_shape(&nd, so, &x, &y) && nd == 2 && so[0] == 2 && so[1] == 3, "(2,1) with (3,) -> (2,3)");
  lp_tensor_init(&o, nd, so, 0);
  lp_binary(LP_ADD, &o, &x, &y);
  float want2[6] = {10, 11, 12, 20, 21, 22};
  tap_ok(memcmp(lp_tensor_data(&o), want2, sizeof want2) == 0, "outer sum");
  lp_tensor_init(&r, 1, sy, 0);
  lp_sum_to(&r, &o);
  tap_ok(lp_tensor_data(&r)[0] == 30 && lp_tensor_data(&r)[2] == 34, "sum_to (2,3) -> (3,)");
  int64_t bad[1] = {4};
  lp_tensor z = {0};
  lp_tensor_init(&z, 1, bad, 0);
  tap_ok(!lp_broadcast_shape(&nd, so, &z, &y), "(4,) and (3,) do not broadcast");
  lp_tensor_free(&x); lp_tensor_free(&y); lp_tensor_free(&o); lp_tensor_free(&r); lp_tensor_free(&z);

  /* tiled gemm against a naive loop, every transpose combination */
  int64_t M = 70, N = 300, K = 129;
  float *A = malloc(sizeof(float) * M * K), *B = malloc(sizeof(float) * K * N);
  float *C = malloc(sizeof(float) * M * N), *R = malloc(sizeof(float) * M * N);
  fill_rand(A, M * K, 1);
  fill_rand(B, K * N, 2);
  for (int ta = 0; ta < 2; ta++)
    for (int tb = 0; tb < 2; tb++) {
      /* A is read as (M, K) row-major, or as the transpose of a (K, M) buffer */
      for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < N; j++) {
          double s = 0;
          for (int64_t k = 0; k < K; k++)
            s += (double)(ta ? A[k * M + i] : A[i * K + k]) * (tb ? B[j * K + k] : B[k * N + j]);
          R[i * N + j] = (float)s;
        }
      lp_gemm(ta, tb, M, N, K, 1.0f, A, ta ? M : K, B, tb ? K : N, 0.0f, C, N);
      double worst = 0;
      for (int64_t i = 0; i < M * N; i++) worst = fmax(worst, fabs(C[i] - R[i]));
      tap_ok(worst < 1e-4, "gemm ta=%d tb=%d matches the double loop (max err %.2g)", ta, tb, worst);
    }
  free(A); free(B); free(C); free(R);

  /* im2col and col2im are adjoint: <im2col(x), y> = <x, col2im(y)> */
  int64_t Nn = 2, Cc = 3, H = 7, W = 6;
  int kh = 3, kw = 2, stride = 2, pad = 1;
  int64_t OH = (H + 2 * pad - kh) / stride + 1, OW = (W + 2 * pad - kw) / stride + 1;
  int64_t ncol = Cc * kh * kw * Nn * OH * OW, nx = Nn * Cc * H * W;
  float *xi = malloc(sizeof(float) * nx), *col = malloc(sizeof(float) * ncol);
  float *yc = malloc(sizeof(float) * ncol), *dx = calloc((size_t)nx, sizeof(float));
  fill_rand(xi, nx, 3);
  fill_rand(yc, ncol, 4);
  lp_im2col(col, xi, Nn, Cc, H, W, kh, kw, stride, pad, OH, OW);
  lp_col2im(dx, yc, Nn, Cc, H, W, kh, kw, stride, pad, OH, OW);
  double l = 0, rr = 0;
  for (int64_t i = 0; i < ncol; i++) l += (double)col[i] * yc[i];
  for (int64_t i = 0; i < nx; i++) rr += (double)xi[i] * dx[i];
  tap_ok(fabs(l - rr) < 1e-4 * fabs(l) + 1e-5, "im2col and col2im are adjoint (%.9g vs %.9g)", l, rr);
  free(xi); free(col); free(yc); free(dx);

  /* the storage cache hands back a freed buffer of the same size */
  lp_storage *s1 = lp_storage_new(1000, 0);
  float *p1 = s1->data;
  lp_storage_release(s1);
  lp_storage *s2 = lp_storage_new(1000, 1);
  tap_ok(s2->data == p1 && s2->data[999] == 0.0f, "a same-size buffer comes from the cache, zeroed on request");
  lp_storage_release(s2);
  size_t live, peak, cached;
  lp_storage_stats(&live, &peak, &cached);
  tap_ok(live == 0 && cached > 0, "nothing live at the end; the cache holds the buffers");
  lp_storage_trim();
  lp_storage_stats(&live, &peak, &cached);
  tap_ok(cached == 0, "trim empties the cache");
  tap_diag("storage peak %zu bytes", peak);
  return tap_done();
}
