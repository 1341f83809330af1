/* ops_conv.c — 2-D convolution (batched im2col + one sgemm for the whole
 * batch, col2im for the backward; the implicit kernels of conv_implicit.c
 * for "same" shapes), forward and backward side by side. Pooling is in
 * ops_pool.c. Loops are split across the thread pool; each output element
 * is owned by one thread, so results do not depend on the thread count. */
/* The kernels' loops are simple and hot: let gcc vectorise them as at -O3
 * (the build's -O2 uses a very cheap cost model). Same arithmetic, same
 * results: no fast-math. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3")
#endif
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <stdlib.h>

#include "core/conv_implicit.h"
#include "core/fmagemm.h"
#include "core/ops_conv.h"
#include "core/ops_nn.h"
#include "core/parallel.h"

/* Grains in elements (docs/performance.md, "Threads that never slow a
 * kernel down"): a call gets a second thread from 2 grains of work. Copies
 * are memory-bound and pay from about half a million elements on the
 * 2-core machine measured. A convolution's chunks go to two threads from about 6 million
 * floating-point operations (3 million multiply-adds). */
#define GRAIN_COPY ((int64_t)1 << 18)
#define GRAIN_COL2IM ((int64_t)1 << 15)
#define GRAIN_CONV_FLOPS 3e6

/* tasks of `per` elements each: a grain of `grain` elements */
static size_t grain_of(int64_t grain, int64_t per) {
  return (size_t)(grain / (per > 0 ? per : 1) + 1);
}

/* ---- im2col / col2im ---------------------------------------------------- */

typedef struct {
  float *col;
  const float *inp;
  float *dinp;
  const float *dcol;
  int64_t N, C, H, W, OH, OW;
  int kh, kw, stride, pad;
  int64_t ld, n0;  /* col's rows are ld apart and start at sample n0; ld 0: N*OH*OW */
} i2c_ctx;

/* The output positions o in [0, OUT) whose input index o * stride + off
 * lies in [0, IN): [*lo, *hi). */
static inline void valid_range(int64_t OUT, int64_t IN, int stride, int64_t off, int64_t *lo, int64_t *hi) {
  int64_t l = off >= 0 ? 0 : (-off + stride - 1) / stride;
  int64_t h = IN - off <= 0 ? 0 : (IN - off + stride - 1) / stride;
  if (h > OUT) h = OUT;
  if (l > h) l = h;
  *lo = l;
  *hi = h;
}

/* One task per (row r = (c, i, j) of col, sample n): OH*OW values. The
 * in-bounds run of each output row is copied without per-element tests. */
static void im2col_range(void *vc, size_t lo, size_t hi) {
  const i2c_ctx *c = vc;
  const int64_t N = c->N, C = c->C, H = c->H, W = c->W, OH = c->OH, OW = c->OW, P = OH * OW;
  const int kh = c->kh, kw = c->kw, stride = c->stride, pad = c->pad;
  const float *inp = c->inp;
  float *colp = c->col;
  (void)C;
  for (size_t task = lo; task < hi; task++) {
    int64_t r = (int64_t)task / N, n = (int64_t)task % N;
    int j = (int)(r % kw), i = (int)((r / kw) % kh);
    int64_t ch = r / ((int64_t)kw * kh);
    const float *x = inp + (n * C + ch) * H * W;
    float *dst = colp + r * (c->ld ? c->ld : N * P) + (n - c->n0) * P;
    int64_t ow_lo, ow_hi, off = j - pad;
    valid_range(OW, W, stride, off, &ow_lo, &ow_hi);
    if (stride == 1 && OW == W && ow_lo < ow_hi) {
      /* Output rows as wide as input rows: the row r of a sample is the
       * plane shifted by (i - pad) rows and off columns, so one copy of
       * the in-bounds rows, then zeros over the |off| columns per row that
       * wrapped to the next or previous row, and over the rows outside. */
      int64_t oh_lo, oh_hi;
      valid_range(OH, H, 1, (int64_t)i - pad, &oh_lo, &oh_hi);
      if (oh_lo > 0) memset(dst, 0, (size_t)(oh_lo * OW) * sizeof *dst);
      if (oh_hi < OH) memset(dst + oh_hi * OW, 0, (size_t)((OH - oh_hi) * OW) * sizeof *dst);
      if (oh_lo < oh_hi) {
        /* elements [a, z) of the run: the first (off < 0) or last (off > 0)
         * would read outside the plane and is a wrapped column anyway */
        int64_t a = oh_lo * OW + (off < 0 ? -off : 0), z = oh_hi * OW - (off > 0 ? off : 0);
        memcpy(dst + a, x + (a + (i - pad) * W + off), (size_t)(z - a) * sizeof *dst);
        for (int64_t oh = oh_lo; oh < oh_hi; oh++) {
          float *d = dst + oh * OW;
          for (int64_t ow = 0; ow < ow_lo; ow++) d[ow] = 0.0f;
          for (int64_t ow = ow_hi; ow < OW; ow++) d[ow] = 0.0f;
        }
      }
      continue;
    }
    for (int64_t oh = 0; oh < OH; oh++) {
      int64_t ih = oh * stride - pad + i;
      float *d = dst + oh * OW;
      if (ih < 0 || ih >= H || ow_lo >= ow_hi) {
        memset(d, 0, (size_t)OW * sizeof *d);
        continue;
      }
      const float *row = x + ih * W + off;   /* row[ow * stride] is the input */
      for (int64_t ow = 0; ow < ow_lo; ow++) d[ow] = 0.0f;
      if (stride == 1) memcpy(d + ow_lo, row + ow_lo, (size_t)(ow_hi - ow_lo) * sizeof *d);
      else
        for (int64_t ow = ow_lo; ow < ow_hi; ow++) d[ow] = row[ow * stride];
      for (int64_t ow = ow_hi; ow < OW; ow++) d[ow] = 0.0f;
    }
  }
}

void lp_im2col(float *col, const float *inp, int64_t N, int64_t C, int64_t H, int64_t W,
               int kh, int kw, int stride, int pad, int64_t OH, int64_t OW) {
  // col (C*kh*kw, N*OH*OW), inp (N, C, H, W)
  i2c_ctx c = {col, inp, NULL, NULL, N, C, H, W, OH, OW, kh, kw, stride, pad, 0, 0};
  size_t tasks = (size_t)(C * kh * kw * N);
  lp_parallel_for(tasks, grain_of(GRAIN_COPY, OH * OW), im2col_range, &c);
}

/* One task per (n, c) plane of dinp. */
static void col2im_range(void *vc, size_t lo, size_t hi) {
  const i2c_ctx *c = vc;
  const int64_t N = c->N, C = c->C, H = c->H, W = c->W, OH = c->OH, OW = c->OW, P = OH * OW;
  const int kh = c->kh, kw = c->kw, stride = c->stride, pad = c->pad;
  float *dinp = c->dinp;
  const float *dcol = c->dcol;
  for (size_t task = lo; task < hi; task++) {
    int64_t n = (int64_t)task / C, ch = (int64_t)task % C;
    float *dx = dinp + (n * C + ch) * H * W;
    for (int i = 0; i < kh; i++)
      for (int j = 0; j < kw; j++) {
        int64_t r = (ch * kh + i) * kw + j, off = j - pad, ow_lo, ow_hi;
        valid_range(OW, W, stride, off, &ow_lo, &ow_hi);
        const float *src = dcol + r * (c->ld ? c->ld : N * P) + (n - c->n0) * P;
        for (int64_t oh = 0; oh < OH; oh++) {
          int64_t ih = oh * stride - pad + i;
          if (ih < 0 || ih >= H) continue;
          float *row = dx + ih * W + off;     /* row[ow * stride] is the input */
          const float *sp = src + oh * OW;
          if (stride == 1)
            for (int64_t ow = ow_lo; ow < ow_hi; ow++) row[ow] += sp[ow];
          else
            for (int64_t ow = ow_lo; ow < ow_hi; ow++) row[ow * stride] += sp[ow];
        }
      }
  }
}

void lp_col2im(float *dinp, const float *dcol, int64_t N, int64_t C, int64_t H, int64_t W,
               int kh, int kw, int stride, int pad, int64_t OH, int64_t OW) {
  // dinp (N, C, H, W) +=, dcol (C*kh*kw, N*OH*OW)
  i2c_ctx c = {NULL, NULL, dinp, dcol, N, C, H, W, OH, OW, kh, kw, stride, pad, 0, 0};
  lp_parallel_for((size_t)(N * C), grain_of(GRAIN_COL2IM, H * W * kh * kw), col2im_range, &c);
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

/* ---- blocked products --------------------------------------------------
 *
 * The forward product tmp (O, N*P) = weight (O, CK) col (CK, N*P) and the
 * backward dcol (CK, N*P) = weight^T tmp run in column blocks small enough
 * that the block of col (written by im2col, or read by col2im) is still in
 * the cache when the sgemm uses it, instead of whole-batch passes that
 * stream col through memory twice. Chunks of whole samples go to the
 * threads; inside a chunk, im2col runs sample by sample just ahead of
 * sgemm calls of about `call` columns. The bits are those of one lp_gemm
 * over the batch (ops_nn.h, lp_gemm_col_tile): every call starts at a
 * multiple of 16 columns and lp_gemm's last tile is a call of its own, so
 * chunk and call widths, and the thread count, change only the speed
 * (tests/c/conv_blocked.c). */

typedef struct {
  float *out, *col, *tmp, *dinp;
  const float *inp, *weight, *bias;
  int64_t N, C, H, W, O, OH, OW, P, CK, NP;
  int kh, kw, stride, pad;
  int64_t chunk;   /* columns per chunk: whole samples, a multiple of 16 */
  int64_t last;    /* first column of lp_gemm's last tile */
  int64_t call;    /* about this many columns per sgemm call, a multiple of 16 */
  size_t nchunks;
  const float *ap; /* the product's A packed for lp_fmagemm, or NULL: sgemm */
  const float *dout;
} blk_ctx;

/* Columns [j0, j1) of chunk ci. */
static void chunk_cols(const blk_ctx *b, size_t ci, int64_t *j0, int64_t *j1) {
  *j0 = (int64_t)ci * b->chunk;
  *j1 = ci + 1 == b->nchunks ? b->NP : *j0 + b->chunk;
}

/* The end of the sgemm call that starts at column g of a chunk ending at
 * j1: lp_gemm's last tile whole, else about b->call columns, never
 * crossing b->last, ends at multiples of 16 (or j1). */
static int64_t call_end(const blk_ctx *b, int64_t g, int64_t j1) {
  if (g >= b->last) return b->NP;
  int64_t stop = j1 < b->last ? j1 : b->last, left = stop - g;
  int64_t calls = (left + b->call - 1) / b->call;
  int64_t w = ((left + calls - 1) / calls + 15) & ~(int64_t)15;
  return g + w < stop ? g + w : stop;
}

static void fwd_chunks(void *vc, size_t lo, size_t hi) {
  const blk_ctx *b = vc;
  const int64_t O = b->O, P = b->P, NP = b->NP, CK = b->CK;
  i2c_ctx ic = {b->col, b->inp, NULL, NULL, b->N, b->C, b->H, b->W, b->OH, b->OW,
                b->kh, b->kw, b->stride, b->pad, 0, 0};
  for (size_t ci = lo; ci < hi; ci++) {
    int64_t j0, j1;
    chunk_cols(b, ci, &j0, &j1);
    int64_t done = j0;   /* columns im2col has filled (whole samples) */
    for (int64_t g = j0; g < j1;) {
      int64_t e = call_end(b, g, j1);
      for (; done < e; done += P)
        for (int64_t r = 0; r < CK; r++) {
          size_t task = (size_t)(r * b->N + done / P);
          im2col_range(&ic, task, task + 1);
        }
      if (b->ap) lp_fmagemm(O, e - g, CK, b->ap, b->col + g, NP, b->tmp + g, NP);
      else lp_sgemm1(0, 0, O, e - g, CK, 1.0f, b->weight, CK, b->col + g, NP, 0.0f, b->tmp + g, NP);
      /* out (N, O, P) = tmp's columns [g, e) + bias, sample by sample */
      for (int64_t n = g / P; n * P < e; n++) {
        int64_t p0 = (g > n * P ? g : n * P) - n * P, p1 = (e < (n + 1) * P ? e : (n + 1) * P) - n * P;
        for (int64_t o = 0; o < O; o++) {
          const float *src = b->tmp + o * NP + n * P;
          float *d = b->out + (n * O + o) * P;
          float bo = b->bias ? b->bias[o] : 0.0f;
          for (int64_t p = p0; p < p1; p++) d[p] = src[p] + bo;
        }
      }
      g = e;
    }
  }
}

static void bwd_data_chunks(void *vc, size_t lo, size_t hi) {
  const blk_ctx *b = vc;
  const int64_t O = b->O, P = b->P, NP = b->NP, CK = b->CK;
  i2c_ctx ic = {NULL, NULL, b->dinp, b->col, b->N, b->C, b->H, b->W, b->OH, b->OW,
                b->kh, b->kw, b->stride, b->pad, 0, 0};
  for (size_t ci = lo; ci < hi; ci++) {
    int64_t j0, j1;
    chunk_cols(b, ci, &j0, &j1);
    for (int64_t g = j0; g < j1;) {
      int64_t e = call_end(b, g, j1);
      lp_sgemm1(1, 0, CK, e - g, O, 1.0f, b->weight, CK, b->tmp + g, NP, 0.0f, b->col + g, NP);
      g = e;
    }
    col2im_range(&ic, (size_t)(j0 / P * b->C), (size_t)((j1 + P - 1) / P * b->C));
  }
}

/* The same with lp_fmagemm, sample by sample: dcol of one sample
 * (CK x P) = weight^T dout[n] (O x P), read from dout where it lies,
 * into a scratch block that col2im reads while it is in the cache. One
 * task per sample; lp_fmagemm's bits do not depend on the cut. */
static void bwd_data_samples(void *vc, size_t lo, size_t hi) {
  const blk_ctx *b = vc;
  const int64_t O = b->O, P = b->P, CK = b->CK;
  float *scratch = malloc((size_t)(CK * P) * sizeof *scratch);
  for (size_t n = lo; n < hi; n++) {
    /* without the scratch block, the sample's own columns of col */
    float *s = scratch ? scratch : b->col + (int64_t)n * CK * P;
    i2c_ctx ic = {NULL, NULL, b->dinp, s, b->N, b->C, b->H, b->W, b->OH, b->OW,
                  b->kh, b->kw, b->stride, b->pad, P, (int64_t)n};
    lp_fmagemm(CK, P, O, b->ap, b->dout + (int64_t)n * O * P, P, s, P);
    col2im_range(&ic, n * (size_t)b->C, (n + 1) * (size_t)b->C);
  }
  free(scratch);
}

/* Sets up the blocks of a product over N*P columns with lp_gemm's tiles
 * for (m, N*P, k); 0 when lp_gemm would not split columns (one call, or
 * rows), and the whole-batch path is used. */
static int blocks(blk_ctx *b, int64_t m, int64_t k) {
  int64_t tile = lp_gemm_col_tile(m, b->NP, k);
  if (tile == 0) return 0;
  b->last = (b->NP - 1) / tile * tile;
  /* a chunk: whole samples and a multiple of 16 columns, about 1/8 of
   * the batch (two threads, four pieces each) */
  int64_t a = b->P, c16 = 16;
  while (c16 != 0) {   /* gcd(P, 16) */
    int64_t t = a % c16;
    a = c16;
    c16 = t;
  }
  int64_t unit = b->P / a * 16, per = b->NP / (8 * unit);
  b->chunk = unit * (per > 1 ? per : 1);
  int64_t before = b->last / b->chunk;   /* chunks that end at or before `last` */
  b->nchunks = (size_t)(before > 0 ? before : 0) + 1;
  /* about 384 KB of col per call, and above OpenBLAS's small-matrix
   * size (M*N*K <= 1e6), whose kernels are slower for these shapes */
  int64_t w = (98304 / (b->CK > 0 ? b->CK : 1)) & ~(int64_t)15;
  int64_t least = ((int64_t)(1e6 / ((double)m * (double)k)) + 16) & ~(int64_t)15;
  if (w < least) w = least;
  if (w < 16) w = 16;
  b->call = w;
  return 1;
}

/* A of a convolution's product packed for lp_fmagemm when the machine
 * runs its fast kernel, else NULL and the products go to sgemm. Freed by
 * the caller. */
static float *packed_a(int ta, int64_t m, int64_t k, const float *A, int64_t lda) {
  if (!lp_fmagemm_fast()) return NULL;
  float *ap = malloc((size_t)lp_fmagemm_packed_size(m, k) * sizeof *ap);
  if (ap) lp_fmagemm_pack(ap, ta, m, k, A, lda);
  return ap;
}

/* chunks per grain: about GRAIN_CONV_FLOPS floating-point operations */
static size_t chunk_grain(const blk_ctx *b, int64_t m, int64_t k) {
  double per = 2.0 * (double)m * (double)k * (double)b->chunk;
  return (size_t)(GRAIN_CONV_FLOPS / (per > 1 ? per : 1)) + 1;
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
  /* "same" shapes need no im2col (and leave none in work: the backward
   * knows, conv_implicit.h) */
  if (lp_conv_implicit_ok(C, H, W, O, kh, kw, stride, pad) &&
      lp_conv_implicit_forward(out, inp, weight, bias, N, C, H, W, O, kh, kw, pad))
    return;
  blk_ctx b = {out, col, tmp, NULL, inp, weight, bias, N, C, H, W, O, OH, OW, P, CK, N * P,
               kh, kw, stride, pad, 0, 0, 0, 0, NULL, NULL};
  if (CK > 0 && blocks(&b, O, CK)) {
    float *ap = packed_a(0, O, CK, weight, CK);
    b.ap = ap;
    if (!ap) lp_blas_one_thread();
    lp_parallel_for(b.nchunks, chunk_grain(&b, O, CK), fwd_chunks, &b);
    free(ap);
    return;
  }
  lp_im2col(col, inp, N, C, H, W, kh, kw, stride, pad, OH, OW);
  /* shapes too small to block (or with more rows than columns): one
   * product, by lp_fmagemm where it runs so that every forward has its bits */
  float *ap = CK > 0 ? packed_a(0, O, CK, weight, CK) : NULL;
  if (ap) lp_fmagemm(O, N * P, CK, ap, col, N * P, tmp, N * P);
  else lp_gemm(0, 0, O, N * P, CK, 1.0f, weight, CK, col, N * P, 0.0f, tmp, N * P);
  free(ap);
  perm_ctx pc = {out, tmp, bias, N, O, P};
  lp_parallel_for((size_t)(N * O), grain_of(GRAIN_COPY, P), unpermute_range, &pc);
}

/* dbias (O) += the sum of dout (N, O, P) over samples and positions, in 16
 * lanes (lane l: the positions p = l mod 16 of every sample in order),
 * added pairwise at the end: the order the weight gradient uses. One task
 * per output channel. */
typedef struct {
  float *dbias;
  const float *dout;
  int64_t N, O, P;
} bias_ctx;

/* Both kept out of line: the convolution's bias gradient and the fused
 * pooling's (ops_pool.c) then run the same machine code. Inlined, the
 * compiler orders the operands of each addition as it likes (addition
 * commutes), and when both are NaN x86 keeps the first one's sign: the
 * two would give NaNs of different signs. */
__attribute__((noinline)) void lp_bias_lanes(float *l, const float *row, int64_t P) {
  float a[16];   /* a local copy: the compiler keeps it in a register, l may alias row */
  memcpy(a, l, sizeof a);
  int64_t p = 0;
  for (; p + 16 <= P; p += 16)
    for (int q = 0; q < 16; q++) a[q] += row[p + q];
  for (; p < P; p++) a[p % 16] += row[p];
  memcpy(l, a, sizeof a);
}

__attribute__((noinline)) float lp_bias_lanes_sum(float *l) {
  for (int w = 8; w >= 1; w /= 2)
    for (int q = 0; q < w; q++) l[q] = l[q] + l[q + w];
  return l[0];
}

static void bias_range(void *vc, size_t lo, size_t hi) {
  const bias_ctx *c = vc;
  for (size_t oi = lo; oi < hi; oi++) {
    int64_t o = (int64_t)oi;
    float l[16] = {0};
    for (int64_t n = 0; n < c->N; n++) lp_bias_lanes(l, c->dout + (n * c->O + o) * c->P, c->P);
    c->dbias[o] += lp_bias_lanes_sum(l);
  }
}

static void bias_grad(float *dbias, const float *dout, int64_t N, int64_t O, int64_t P) {
  bias_ctx c = {dbias, dout, N, O, P};
  lp_parallel_for((size_t)O, grain_of(GRAIN_COPY, N * P), bias_range, &c);
}

void lp_conv2d_backward(float *dinp, float *dweight, float *dbias, float *work, const float *dout,
                        const float *inp, const float *weight, int64_t N, int64_t C, int64_t H,
                        int64_t W, int64_t O, int kh, int kw, int stride, int pad, int col_ready,
                        int accumulate) {
  // dinp (N, C, H, W), dweight (O, C, kh, kw), dbias (O), dout (N, O, OH, OW)
  int64_t OH = (H + 2 * pad - kh) / stride + 1, OW = (W + 2 * pad - kw) / stride + 1;
  int64_t P = OH * OW, CK = C * kh * kw;
  float *col = work, *tmp = work + CK * N * P;  // col (CK, N*P), tmp (O, N*P)
  int implicit = N * P > 0 && O > 0 && lp_conv_implicit_ok(C, H, W, O, kh, kw, stride, pad);
  if (!accumulate) {
    /* the implicit input gradient writes 0 + its sums: no clearing first */
    if (dinp && !implicit) memset(dinp, 0, (size_t)(N * C * H * W) * sizeof *dinp);
    if (dweight) memset(dweight, 0, (size_t)(O * CK) * sizeof *dweight);
    if (dbias) memset(dbias, 0, (size_t)O * sizeof *dbias);
  }
  if (N * P == 0 || O == 0) return;
  if (dbias) bias_grad(dbias, dout, N, O, P);
  int dw_done = !dweight || (implicit && lp_conv_implicit_dweight(dweight, dout, inp, N, C, H, W, O,
                                                                   kh, kw, pad));
  int dx_done = !dinp || (implicit && lp_conv_implicit_dinput(dinp, dout, weight, N, C, H, W, O, kh,
                                                               kw, pad, accumulate));
  if (!dx_done && implicit && !accumulate) memset(dinp, 0, (size_t)(N * C * H * W) * sizeof *dinp);
  float *ap = dx_done || CK == 0 ? NULL : packed_a(1, CK, O, weight, CK);
  if (dw_done && (dx_done || ap)) {
    /* no product left that reads dout permuted */
  } else {
    perm_ctx pc = {(float *)dout, tmp, NULL, N, O, P};
    lp_parallel_for((size_t)(N * O), grain_of(GRAIN_COPY, P), permute_range, &pc);
  }
  if (!dw_done) {
    /* the forward of a shape the implicit kernels take may have left no
     * im2col in work (even if they, or lp_fmagemm, are turned off since) */
    int implicit_shape = lp_fmagemm_cpu() && stride == 1 && OH == H && OW == W;
    if (!col_ready || implicit_shape) lp_im2col(col, inp, N, C, H, W, kh, kw, stride, pad, OH, OW);
    lp_gemm(0, 1, O, CK, N * P, 1.0f, tmp, N * P, col, N * P, 1.0f, dweight, CK);
  }
  if (!dx_done) {
    blk_ctx b = {NULL, col, tmp, dinp, inp, weight, NULL, N, C, H, W, O, OH, OW, P, CK, N * P,
                 kh, kw, stride, pad, 0, 0, 0, 0, NULL, NULL};
    if (ap) {
      b.ap = ap;
      b.dout = dout;
      double flops = 2.0 * (double)CK * (double)O * (double)P;
      lp_parallel_for((size_t)N, (size_t)(GRAIN_CONV_FLOPS / flops) + 1, bwd_data_samples, &b);
      free(ap);
      return;
    }
    if (CK > 0 && blocks(&b, CK, O)) {
      lp_blas_one_thread();
      lp_parallel_for(b.nchunks, chunk_grain(&b, CK, O), bwd_data_chunks, &b);
      return;
    }
    lp_gemm(1, 0, CK, N * P, O, 1.0f, weight, CK, tmp, N * P, 0.0f, col, N * P);
    lp_col2im(dinp, col, N, C, H, W, kh, kw, stride, pad, OH, OW);
  }
}
