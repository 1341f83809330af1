/* pool_bias.c — the bias gradient summed in the fused activation + max
 * pooling backward (lp_act_maxpool2d_backward with dbias) has the bits of
 * its definition (ops_conv.h, lp_bias_lanes): per channel, 16 lanes from
 * +0, lane q += dx[p] for the positions p = q mod 16 of each plane, the
 * planes in sample order, then the lanes added 8 + 8, 4 + 4, 2 + 2, 1 + 1,
 * and 0 + the sum. The definition is written out here, over the dx that
 * the same call without dbias returns. With 1, 2 and 3 threads, with the
 * kernels' grains and with every call split (grain scale 0), over shapes
 * with fewer channels than threads, channel counts that do not divide
 * evenly, 2x2 planes on the AVX-512 ReLU path and odd planes on the
 * portable one: the threads split the channels and hand each channel's
 * lanes from sample to sample, so any slip in that order or hand-over
 * shows here. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/act.h"
#include "core/ops_conv.h"
#include "core/parallel.h"
#include "core/pool2x2.h"
#include "tap.h"

static float *randv(size_t n, unsigned *s) {
  float *v = malloc(n * sizeof *v);
  for (size_t i = 0; i < n; i++) {
    *s = *s * 1103515245u + 12345u;
    v[i] = (float)((*s >> 8) & 0xffff) / 32768.0f - 1.0f;
  }
  return v;
}

int main(void) {
  static const int64_t shapes[][4] = {
      {1, 1, 28, 28}, {2, 3, 28, 28}, {7, 5, 14, 14}, {40, 16, 28, 28},
      {33, 32, 14, 14}, {9, 7, 9, 10}, {64, 2, 6, 6},
  };
  unsigned seed = 11;
  tap_diag("2x2 pooling in AVX-512 on this machine: %s", lp_pool2x2_fast() ? "yes" : "no");
  for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
    const int64_t N = shapes[si][0], C = shapes[si][1], H = shapes[si][2], W = shapes[si][3];
    const int64_t OH = H / 2, OW = W / 2, HW = H * W;
    size_t nx = (size_t)(N * C * HW), np = (size_t)(N * C * OH * OW);
    float *x = randv(nx, &seed), *dout = randv(np, &seed), *out = malloc(np * sizeof *out);
    int32_t *idx = malloc(np * sizeof *idx);
    float *dx_ref = malloc(nx * sizeof *dx_ref), *dx = malloc(nx * sizeof *dx);
    float *db_ref = malloc((size_t)C * sizeof *db_ref), *db = malloc((size_t)C * sizeof *db);
    lp_set_threads(1);
    lp_set_grain_scale(1);
    tap_ok(lp_act_maxpool2d_forward(LP_ACT_RELU, 0.0f, out, idx, x, N, C, H, W, 2, 2, 0) == 0 &&
               lp_act_maxpool2d_backward(LP_ACT_RELU, 0.0f, dx_ref, NULL, dout, idx, x, out, N, C, H, W, OH, OW,
                                         2, 2, 0) == 0,
           "%ldx%ldx%ldx%ld: forward and backward without the bias gradient", (long)N, (long)C, (long)H, (long)W);
    double worst = 0;
    for (int64_t o = 0; o < C; o++) {   /* the definition */
      float l[16] = {0};
      double sum = 0;
      for (int64_t n = 0; n < N; n++)
        for (int64_t p = 0; p < HW; p++) {
          float v = dx_ref[(n * C + o) * HW + p];
          l[p % 16] += v;
          sum += v;
        }
      for (int w = 8; w >= 1; w /= 2)
        for (int q = 0; q < w; q++) l[q] = l[q] + l[q + w];
      db_ref[o] = 0.0f + l[0];
      worst = fmax(worst, fabs(db_ref[o] - sum));
    }
    tap_ok(worst < 1e-3, "  the definition against a sum in double (max err %.2g)", worst);
    for (int t = 1; t <= 3; t++)
      for (int split = 0; split < 2; split++) {
        lp_set_threads(t);
        lp_set_grain_scale(split ? 0 : 1);
        memset(dx, 0xff, nx * sizeof *dx);
        memset(db, 0xff, (size_t)C * sizeof *db);
        int r = lp_act_maxpool2d_backward(LP_ACT_RELU, 0.0f, dx, db, dout, idx, x, out, N, C, H, W, OH, OW, 2, 2, 0);
        tap_ok(r == 0 && !memcmp(dx, dx_ref, nx * sizeof *dx) && !memcmp(db, db_ref, (size_t)C * sizeof *db),
               "  %d thread(s)%s: dx unchanged, db the bits of the definition", t,
               split ? ", every call split" : "");
      }
    free(x); free(dout); free(out); free(idx); free(dx_ref); free(dx); free(db_ref); free(db);
  }
  lp_set_threads(1);
  lp_set_grain_scale(1);
  return tap_done();
}
