/* ops_conv.c — 2-D convolution (batched im2col + one sgemm for the whole
 * batch, col2im for the backward) and max / average pooling, forward and
 * backward side by side. Loops over planes are split across the thread
 * pool; each output element is owned by one thread, so results do not
 * depend on the thread count. */
#include <string.h>

#include "core/ops.h"
#include "core/parallel.h"

/* ---- im2col / col2im ---------------------------------------------------- */

typedef struct {
  float *col;
  const float *inp;
  float *dinp;
  const float *dcol;
  int64_t N, C, H, W, OH, OW;
  int kh, kw, stride, pad;
} i2c_ctx;

/* One task per (row r = (c, i, j) of col, sample n): OH*OW values. */
static void im2col_range(void *vc, size_t lo, size_t hi) {
  const i2c_ctx *c = vc;
  int64_t P = c->OH * c->OW;
  for (size_t task = lo; task < hi; task++) {
    int64_t r = (int64_t)task / c->N, n = (int64_t)task % c->N;
    int j = (int)(r % c->kw), i = (int)((r / c->kw) % c->kh);
    int64_t ch = r / ((int64_t)c->kw * c->kh);
    const float *x = c->inp + (n * c->C + ch) * c->H * c->W;
    float *dst = c->col + r * (c->N * P) + n * P;
    for (int64_t oh = 0; oh < c->OH; oh++) {
      int64_t ih = oh * c->stride - c->pad + i;
      float *d = dst + oh * c->OW;
      if (ih < 0 || ih >= c->H) {
        memset(d, 0, (size_t)c->OW * sizeof *d);
        continue;
      }
      const float *row = x + ih * c->W;
      if (c->stride == 1) {
        int64_t off = j - c->pad;     /* iw = ow + off */
        for (int64_t ow = 0; ow < c->OW; ow++) {
          int64_t iw = ow + off;
          d[ow] = (iw >= 0 && iw < c->W) ? row[iw] : 0.0f;
        }
      } else {
        for (int64_t ow = 0; ow < c->OW; ow++) {
          int64_t iw = ow * c->stride - c->pad + j;
          d[ow] = (iw >= 0 && iw < c->W) ? row[iw] : 0.0f;
        }
      }
    }
  }
}

void lp_im2col(float *col, const float *inp, int64_t N, int64_t C, int64_t H, int64_t W,
               int kh, int kw, int stride, int pad, int64_t OH, int64_t OW) {
  // col (C*kh*kw, N*OH*OW), inp (N, C, H, W)
  i2c_ctx c = {col, inp, NULL, NULL, N, C, H, W, OH, OW, kh, kw, stride, pad};
  size_t tasks = (size_t)(C * kh * kw * N);
  lp_parallel_for(tasks, (size_t)(32768 / (OH * OW + 1) + 1), im2col_range, &c);
}

/* One task per (n, c) plane of dinp. */
static void col2im_range(void *vc, size_t lo, size_t hi) {
  const i2c_ctx *c = vc;
  int64_t P = c->OH * c->OW;
  for (size_t task = lo; task < hi; task++) {
    int64_t n = (int64_t)task / c->C, ch = (int64_t)task % c->C;
    float *dx = c->dinp + (n * c->C + ch) * c->H * c->W;
    for (int i = 0; i < c->kh; i++)
      for (int j = 0; j < c->kw; j++) {
        int64_t r = (ch * c->kh + i) * c->kw + j;
        const float *src = c->dcol + r * (c->N * P) + n * P;
        for (int64_t oh = 0; oh < c->OH; oh++) {
          int64_t ih = oh * c->stride - c->pad + i;
          if (ih < 0 || ih >= c->H) continue;
          float *row = dx + ih * c->W;
          const float *s = src + oh * c->OW;
          for (int64_t ow = 0; ow < c->OW; ow++) {
            int64_t iw = ow * c->stride - c->pad + j;
            if (iw >= 0 && iw < c->W) row[iw] += s[ow];
          }
        }
      }
  }
}

void lp_col2im(float *dinp, const float *dcol, int64_t N, int64_t C, int64_t H, int64_t W,
               int kh, int kw, int stride, int pad, int64_t OH, int64_t OW) {
  // dinp (N, C, H, W) +=, dcol (C*kh*kw, N*OH*OW)
  i2c_ctx c = {NULL, NULL, dinp, dcol, N, C, H, W, OH, OW, kh, kw, stride, pad};
  lp_parallel_for((size_t)(N * C), (size_t)(32768 / (H * W * kh * kw + 1) + 1), col2im_range, &c);
}

/* ---- conv2d ------------------------------------------------------------- */

int64_t lp_conv2d_workspace(int64_t N, int64_t C, int64_t O, int kh, int kw, int64_t OH, int64_t OW) {
  return C * kh * kw * N * OH * OW + O * N * OH * OW;
}

typedef struct {
  float *out;
  const float *tmp, *bias;
  int64_t N, O, P;
} perm_ctx;

/* out (N, O, P) = tmp (O, N*P) permuted, + bias (O); one task per (n, o). */
static void unpermute_range(void *vc, size_t lo, size_t hi) {
  const perm_ctx *c = vc;
  for (size_t t = lo; t < hi; t++) {
    int64_t n = (int64_t)t / c->O, o = (int64_t)t % c->O;
    const float *s = c->tmp + o * c->N * c->P + n * c->P;
    float *d = c->out + (n * c->O + o) * c->P;
    float b = c->bias ? c->bias[o] : 0.0f;
    for (int64_t p = 0; p < c->P; p++) d[p] = s[p] + b;
  }
}

/* tmp (O, N*P) = dout (N, O, P) permuted; one task per (n, o). */
static void permute_range(void *vc, size_t lo, size_t hi) {
  const perm_ctx *c = vc;
  for (size_t t = lo; t < hi; t++) {
    int64_t n = (int64_t)t / c->O, o = (int64_t)t % c->O;
    memcpy((float *)c->tmp + o * c->N * c->P + n * c->P, c->out + (n * c->O + o) * c->P,
           (size_t)c->P * sizeof(float));
  }
}

void lp_conv2d_forward(float *out, float *work, const float *inp, const float *weight,
                       const float *bias, int64_t N, int64_t C, int64_t H, int64_t W, int64_t O,
                       int kh, int kw, int stride, int pad) {
  // out (N, O, OH, OW), work (lp_conv2d_workspace floats), inp (N, C, H, W),
  // weight (O, C, kh, kw), bias (O) or NULL
  int64_t OH = (H + 2 * pad - kh) / stride + 1, OW = (W + 2 * pad - kw) / stride + 1;
  int64_t P = OH * OW, CK = C * kh * kw;
  float *col = work, *tmp = work + CK * N * P;  // col (CK, N*P), tmp (O, N*P)
  if (N * P == 0 || O == 0) return;
  lp_im2col(col, inp, N, C, H, W, kh, kw, stride, pad, OH, OW);
  lp_gemm(0, 0, O, N * P, CK, 1.0f, weight, CK, col, N * P, 0.0f, tmp, N * P);
  perm_ctx pc = {out, tmp, bias, N, O, P};
  lp_parallel_for((size_t)(N * O), (size_t)(32768 / (P + 1) + 1), unpermute_range, &pc);
}

void lp_conv2d_backward(float *dinp, float *dweight, float *dbias, float *work, const float *dout,
                        const float *inp, const float *weight, int64_t N, int64_t C, int64_t H,
                        int64_t W, int64_t O, int kh, int kw, int stride, int pad) {
  // dinp (N, C, H, W), dweight (O, C, kh, kw), dbias (O), dout (N, O, OH, OW)
  int64_t OH = (H + 2 * pad - kh) / stride + 1, OW = (W + 2 * pad - kw) / stride + 1;
  int64_t P = OH * OW, CK = C * kh * kw;
  float *col = work, *tmp = work + CK * N * P;  // col (CK, N*P), tmp (O, N*P)
  if (N * P == 0 || O == 0) return;
  perm_ctx pc = {(float *)dout, tmp, NULL, N, O, P};
  lp_parallel_for((size_t)(N * O), (size_t)(32768 / (P + 1) + 1), permute_range, &pc);
  if (dbias)
    for (int64_t o = 0; o < O; o++) {
      const float *s = tmp + o * N * P;
      float acc = 0;
      for (int64_t i = 0; i < N * P; i++) acc += s[i];
      dbias[o] += acc;
    }
  if (dweight) {
    lp_im2col(col, inp, N, C, H, W, kh, kw, stride, pad, OH, OW);
    lp_gemm(0, 1, O, CK, N * P, 1.0f, tmp, N * P, col, N * P, 1.0f, dweight, CK);
  }
  if (dinp) {
    lp_gemm(1, 0, CK, N * P, O, 1.0f, weight, CK, tmp, N * P, 0.0f, col, N * P);
    lp_col2im(dinp, col, N, C, H, W, kh, kw, stride, pad, OH, OW);
  }
}

/* ---- pooling ------------------------------------------------------------ */

typedef struct {
  float *out, *dinp;
  int32_t *idx;
  const int32_t *cidx;
  const float *inp, *dout;
  int64_t H, W, OH, OW;
  int k, stride, pad;
} pool_ctx;

static void maxpool_range(void *vc, size_t lo, size_t hi) {
  const pool_ctx *c = vc;
  for (size_t pl = lo; pl < hi; pl++) {
    const float *x = c->inp + (int64_t)pl * c->H * c->W;
    float *y = c->out + (int64_t)pl * c->OH * c->OW;
    int32_t *ix = c->idx + (int64_t)pl * c->OH * c->OW;
    for (int64_t oh = 0; oh < c->OH; oh++)
      for (int64_t ow = 0; ow < c->OW; ow++) {
        float best = 0;
        int64_t bi = -1;
        for (int i = 0; i < c->k; i++) {
          int64_t ih = oh * c->stride - c->pad + i;
          if (ih < 0 || ih >= c->H) continue;
          for (int j = 0; j < c->k; j++) {
            int64_t iw = ow * c->stride - c->pad + j;
            if (iw < 0 || iw >= c->W) continue;
            float v = x[ih * c->W + iw];
            if (bi < 0 || v > best || (v != v && best == best)) { best = v; bi = ih * c->W + iw; }
          }
        }
        y[oh * c->OW + ow] = bi < 0 ? 0.0f : best;
        ix[oh * c->OW + ow] = (int32_t)(bi < 0 ? 0 : bi);
      }
  }
}

void lp_maxpool2d_forward(float *out, int32_t *idx, const float *inp, int64_t N, int64_t C,
                          int64_t H, int64_t W, int k, int stride, int pad) {
  // out (N, C, OH, OW), idx (N, C, OH, OW), inp (N, C, H, W)
  pool_ctx c = {0};
  c.out = out; c.idx = idx; c.inp = inp; c.H = H; c.W = W; c.k = k; c.stride = stride; c.pad = pad;
  c.OH = (H + 2 * pad - k) / stride + 1;
  c.OW = (W + 2 * pad - k) / stride + 1;
  lp_parallel_for((size_t)(N * C), (size_t)(32768 / (H * W + 1) + 1), maxpool_range, &c);
}

static void maxpool_bwd_range(void *vc, size_t lo, size_t hi) {
  const pool_ctx *c = vc;
  int64_t P = c->OH * c->OW;
  for (size_t pl = lo; pl < hi; pl++) {
    float *dx = c->dinp + (int64_t)pl * c->H * c->W;
    const float *dy = c->dout + (int64_t)pl * P;
    const int32_t *ix = c->cidx + (int64_t)pl * P;
    for (int64_t p = 0; p < P; p++) dx[ix[p]] += dy[p];
  }
}

void lp_maxpool2d_backward(float *dinp, const float *dout, const int32_t *idx, int64_t N, int64_t C,
                           int64_t H, int64_t W, int64_t OH, int64_t OW) {
  pool_ctx c = {0};
  c.dinp = dinp; c.dout = dout; c.cidx = idx; c.H = H; c.W = W; c.OH = OH; c.OW = OW;
  lp_parallel_for((size_t)(N * C), (size_t)(32768 / (H * W + 1) + 1), maxpool_bwd_range, &c);
}

static void avgpool_range(void *vc, size_t lo, size_t hi) {
  const pool_ctx *c = vc;
  float inv = 1.0f / (float)(c->k * c->k);
  for (size_t pl = lo; pl < hi; pl++) {
    const float *x = c->inp + (int64_t)pl * c->H * c->W;
    float *y = c->out + (int64_t)pl * c->OH * c->OW;
    for (int64_t oh = 0; oh < c->OH; oh++)
      for (int64_t ow = 0; ow < c->OW; ow++) {
        float s = 0;
        for (int i = 0; i < c->k; i++) {
          int64_t ih = oh * c->stride - c->pad + i;
          if (ih < 0 || ih >= c->H) continue;
          for (int j = 0; j < c->k; j++) {
            int64_t iw = ow * c->stride - c->pad + j;
            if (iw >= 0 && iw < c->W) s += x[ih * c->W + iw];
          }
        }
        y[oh * c->OW + ow] = s * inv;
      }
  }
}

void lp_avgpool2d_forward(float *out, const float *inp, int64_t N, int64_t C, int64_t H, int64_t W,
                          int k, int stride, int pad) {
  // out (N, C, OH, OW), inp (N, C, H, W)
  pool_ctx c = {0};
  c.out = out; c.inp = inp; c.H = H; c.W = W; c.k = k; c.stride = stride; c.pad = pad;
  c.OH = (H + 2 * pad - k) / stride + 1;
  c.OW = (W + 2 * pad - k) / stride + 1;
  lp_parallel_for((size_t)(N * C), (size_t)(32768 / (H * W + 1) + 1), avgpool_range, &c);
}

static void avgpool_bwd_range(void *vc, size_t lo, size_t hi) {
  const pool_ctx *c = vc;
  float inv = 1.0f / (float)(c->k * c->k);
  for (size_t pl = lo; pl < hi; pl++) {
    float *dx = c->dinp + (int64_t)pl * c->H * c->W;
    const float *dy = c->dout + (int64_t)pl * c->OH * c->OW;
    for (int64_t oh = 0; oh < c->OH; oh++)
      for (int64_t ow = 0; ow < c->OW; ow++) {
        float g = dy[oh * c->OW + ow] * inv;
        for (int i = 0; i < c->k; i++) {
          int64_t ih = oh * c->stride - c->pad + i;
          if (ih < 0 || ih >= c->H) continue;
          for (int j = 0; j < c->k; j++) {
            int64_t iw = ow * c->stride - c->pad + j;
            if (iw >= 0 && iw < c->W) dx[ih * c->W + iw] += g;
          }
        }
      }
  }
}

void lp_avgpool2d_backward(float *dinp, const float *dout, int64_t N, int64_t C, int64_t H, int64_t W,
                           int k, int stride, int pad) {
  pool_ctx c = {0};
  c.dinp = dinp; c.dout = dout; c.H = H; c.W = W; c.k = k; c.stride = stride; c.pad = pad;
  c.OH = (H + 2 * pad - k) / stride + 1;
  c.OW = (W + 2 * pad - k) / stride + 1;
  lp_parallel_for((size_t)(N * C), (size_t)(32768 / (H * W + 1) + 1), avgpool_bwd_range, &c);
}
