/* pool_paths.c — 2x2, stride-2 max pooling (pool2x2.c in AVX-512 and the
 * portable code of ops_conv.c) against a direct scan written here, at
 * every lane level this CPU runs:
 *   - forward: 400 random planes from 2x2 to 37x37 (odd sizes leave a
 *     row or column no window reads), values drawn from a small set so
 *     that ties are common, with -0, +0, +-inf, and NaN inside a window,
 *     or only in the unread row/column: the same value bits and index as
 *     a scan that keeps the first strict maximum (a NaN wins over numbers,
 *     the first NaN over later ones);
 *   - backward: dx = 0 + dy at each index, +0 elsewhere, bit for bit (so
 *     -0 gradients come out +0, as the scatter onto zeros gives them),
 *     with indices from the forward and with indices made by hand that
 *     leave their window or repeat (the portable scatter-add then);
 *   - the fused ReLU + pooling (lp_act_maxpool2d_*) equal to ReLU, then
 *     the scan, then ReLU's derivative.
 * Under AddressSanitizer this also checks that the masked loads and
 * stores stay inside each plane. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/act.h"
#include "core/format.h"
#include "core/ops_conv.h"
#include "core/pool2x2.h"
#include "tap.h"

static unsigned seed = 777;
static unsigned next(void) {
  seed = seed * 1103515245u + 12345u;
  return seed >> 8;
}

static float pick(void) {
  static const float vals[] = { -3.0f, -1.5f, -0.0f, 0.0f, 0.5f, 1.0f, 2.0f, 2.0f, 7.0f };
  unsigned r = next() % 100;
  if (r == 0) return INFINITY;
  if (r == 1) return -INFINITY;
  return vals[next() % (sizeof vals / sizeof vals[0])];
}

static uint32_t bits(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  return u;
}

/* the first strict maximum of each window in row-major order; a NaN
 * beats any number, and the first NaN stays */
static void scan(const float *x, float *y, int32_t *ix, int64_t H, int64_t W) {
  int64_t OH = H / 2, OW = W / 2;
  for (int64_t oh = 0; oh < OH; oh++)
    for (int64_t ow = 0; ow < OW; ow++) {
      int64_t bi = -1;
      float best = 0;
      for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++) {
          int64_t at = (2 * oh + i) * W + 2 * ow + j;
          float v = x[at];
          if (bi < 0 || v > best || (isnan(v) && !isnan(best))) best = v, bi = at;
        }
      y[oh * OW + ow] = best;
      ix[oh * OW + ow] = (int32_t)bi;
    }
}

int main(void) {
  int levels = lp_quantize_simd_max();
  /* nothing is written past a plane: each kernel on one plane followed by
   * sentinels (whole-vector stores spill only inside the plane) */
  int outside = 0, shapes = 0;
  if (lp_pool2x2_fast())
    for (int64_t H = 2; H <= 40; H++)
      for (int64_t W = 2; W <= 40; W++) {
        int64_t HW = H * W, P = (H / 2) * (W / 2);
        float *x = malloc((size_t)HW * sizeof *x), *y = malloc((size_t)(P + 64) * sizeof *y);
        float *dx = malloc((size_t)(HW + 64) * sizeof *dx), *dy = malloc((size_t)P * sizeof *dy);
        int32_t *ix = malloc((size_t)(P + 64) * sizeof *ix);
        for (int64_t i = 0; i < HW; i++) x[i] = pick() + 1.0f;   /* no NaN: the vector path runs to the end */
        for (int64_t i = 0; i < P; i++) dy[i] = pick();
        for (int i = 0; i < 64; i++) y[P + i] = 99.0f, ix[P + i] = -7, dx[HW + i] = 99.0f;
        lp_pool2x2_forward_plane(x, y, ix, H, W);
        lp_pool2x2_backward_plane(dx, dy, ix, H, W);
        for (int i = 0; i < 64; i++) outside += y[P + i] != 99.0f || ix[P + i] != -7 || dx[HW + i] != 99.0f;
        lp_act_forward(LP_ACT_RELU, y, y, P, 0);   /* a ReLU output for the ReLU backward */
        lp_pool2x2_relu_backward_plane(dx, dy, y, ix, H, W);
        for (int i = 0; i < 64; i++) outside += dx[HW + i] != 99.0f;
        shapes++;
        free(x), free(y), free(dx), free(dy), free(ix);
      }
  tap_ok(outside == 0, "AVX-512 pooling on %d plane shapes from 2x2 to 40x40: nothing written past a plane (%d)",
         shapes, outside);

  int fwd_bad[3] = { 0 }, bwd_bad[3] = { 0 }, hand_bad[3] = { 0 }, fused_bad[3] = { 0 };
  int nan_planes = 0, odd_planes = 0, planes = 0;
  for (int t = 0; t < 400; t++) {
    int64_t N = 1 + next() % 3, C = 1 + next() % 3, H = 2 + next() % 36, W = 2 + next() % 36;
    int64_t OH = H / 2, OW = W / 2, HW = H * W, P = OH * OW, n = N * C * HW, np = N * C * P;
    float *x = malloc((size_t)n * sizeof *x), *dy = malloc((size_t)np * sizeof *dy);
    float *ry = malloc((size_t)np * sizeof *ry), *y = malloc((size_t)np * sizeof *y);
    float *rdx = malloc((size_t)n * sizeof *rdx), *dx = malloc((size_t)n * sizeof *dx);
    float *fx = malloc((size_t)n * sizeof *fx);
    int32_t *rix = malloc((size_t)np * sizeof *rix), *ix = malloc((size_t)np * sizeof *ix);
    int32_t *hix = malloc((size_t)np * sizeof *hix);
    for (int64_t i = 0; i < n; i++) x[i] = pick();
    for (int64_t i = 0; i < np; i++) dy[i] = next() % 7 == 0 ? -0.0f : pick();
    if (t % 5 == 1) x[next() % n] = NAN, nan_planes++;                   /* anywhere */
    if (t % 7 == 2 && (W & 1)) x[(next() % (N * C)) * HW + W - 1] = NAN;  /* an unread column */
    if (t % 9 == 3 && (H & 1)) x[(next() % (N * C)) * HW + (H - 1) * W] = NAN;   /* an unread row */
    if (t % 11 == 4) dy[next() % np] = NAN;
    odd_planes += (H & 1) || (W & 1);
    planes += (int)(N * C);
    for (int64_t pl = 0; pl < N * C; pl++) scan(x + pl * HW, ry + pl * P, rix + pl * P, H, W);
    /* the backward's reference: zeros, then 0 + dy at each index (hand
     * indices: some moved elsewhere in the plane, some repeated) */
    memcpy(hix, rix, (size_t)np * sizeof *hix);
    for (int64_t i = 0; i < np; i += 3) hix[i] = (int32_t)(next() % HW);
    for (int level = levels; level >= 0; level--) {
      lp_quantize_simd(level);
      lp_maxpool2d_forward(y, ix, x, N, C, H, W, 2, 2, 0);
      for (int64_t i = 0; i < np; i++) fwd_bad[level] += bits(y[i]) != bits(ry[i]) || ix[i] != rix[i];
      for (int pass = 0; pass < 2; pass++) {
        const int32_t *use = pass ? hix : rix;
        memset(rdx, 0, (size_t)n * sizeof *rdx);
        for (int64_t pl = 0; pl < N * C; pl++)
          for (int64_t p = 0; p < P; p++) rdx[pl * HW + use[pl * P + p]] += dy[pl * P + p];
        for (int64_t i = 0; i < n; i++) dx[i] = 12345.0f;   /* every element must be written */
        if (lp_maxpool2d_backward(dx, dy, use, N, C, H, W, OH, OW)) (pass ? hand_bad : bwd_bad)[level]++;
        for (int64_t i = 0; i < n; i++) (pass ? hand_bad : bwd_bad)[level] += bits(dx[i]) != bits(rdx[i]);
      }
      /* fused ReLU: the scan of relu(x), and relu'(x) times the backward */
      lp_act_forward(LP_ACT_RELU, fx, x, n, 0);
      float *fy = malloc((size_t)np * sizeof *fy), *gy = malloc((size_t)np * sizeof *gy);
      int32_t *fix = malloc((size_t)np * sizeof *fix), *gix = malloc((size_t)np * sizeof *gix);
      for (int64_t pl = 0; pl < N * C; pl++) scan(fx + pl * HW, fy + pl * P, fix + pl * P, H, W);
      if (lp_act_maxpool2d_forward(LP_ACT_RELU, 0, gy, gix, x, N, C, H, W, 2, 2, 0) != 0) fused_bad[level]++;
      for (int64_t i = 0; i < np; i++) fused_bad[level] += bits(gy[i]) != bits(fy[i]) || gix[i] != fix[i];
      memset(rdx, 0, (size_t)n * sizeof *rdx);
      for (int64_t pl = 0; pl < N * C; pl++)
        for (int64_t p = 0; p < P; p++) rdx[pl * HW + fix[pl * P + p]] += dy[pl * P + p];
      lp_act_backward(LP_ACT_RELU, rdx, rdx, x, n, 0, 0);
      /* with and without the pooled output (ReLU's gradient read from it) */
      for (int pass_y = 0; pass_y < 2; pass_y++) {
        for (int64_t i = 0; i < n; i++) dx[i] = 12345.0f;
        if (lp_act_maxpool2d_backward(LP_ACT_RELU, 0, dx, NULL, dy, gix, x, pass_y ? gy : NULL, N, C, H, W, OH, OW,
                                      2, 2, 0))
          fused_bad[level]++;
        for (int64_t i = 0; i < n; i++) fused_bad[level] += bits(dx[i]) != bits(rdx[i]);
      }
      free(fy), free(gy), free(fix), free(gix);
    }
    lp_quantize_simd(-1);
    free(x), free(dy), free(ry), free(y), free(rdx), free(dx), free(fx), free(rix), free(ix), free(hix);
  }
  tap_diag("%d planes, %d tensors with a NaN input, %d with odd sizes; lane levels 0..%d", planes,
           nan_planes, odd_planes, levels);
  tap_ok(lp_pool2x2_fast() == (levels >= 2), "the AVX-512 pooling runs exactly when the lane level is AVX-512");
  for (int level = levels; level >= 0; level--) {
    const char *name = lp_quantize_simd_name(level);
    tap_ok(fwd_bad[level] == 0, "%s: forward values and indices equal the scan (%d differ)", name, fwd_bad[level]);
    tap_ok(bwd_bad[level] == 0, "%s: backward equals 0 + dy at the indices (%d differ)", name, bwd_bad[level]);
    tap_ok(hand_bad[level] == 0, "%s: indices out of their window or repeated: the scatter-add (%d differ)", name,
           hand_bad[level]);
    tap_ok(fused_bad[level] == 0, "%s: ReLU fused with the pooling equals ReLU, the scan, ReLU' (%d differ)", name,
           fused_bad[level]);
  }
  return tap_done();
}
