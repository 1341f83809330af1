/* ops_nn.c — matrix products (OpenBLAS sgemm), linear layers,
 * softmax / cross-entropy, dropout, batchnorm and fused
 * optimizer steps: forward and backward side by side. */
/* The kernels' loops are simple and hot: let gcc vectorise them as at -O3
 * (the build's -O2 uses a very cheap cost model). Same arithmetic, same
 * results: no fast-math. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3")
#endif
#include <math.h>
#include <string.h>

#include <cblas.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "core/ops_nn.h"
#include "core/parallel.h"
#include "core/rng.h"

#define GRAIN 32768        /* dropout: a second thread from 64K elements */
#define GRAIN_STEP 16384   /* adam, sgd: from 32K parameters (docs/performance.md) */
#define GRAIN_BN 16384     /* batchnorm: from 16K values, two 16x28x28 samples (docs/performance.md) */

/* Matrix products are split into tiles whose boundaries depend only on
 * the shapes, and each tile is one single-threaded sgemm; the pool runs
 * the tiles. So every element is computed by the same call whatever the
 * thread count, and results are bit-identical with 1 or 2 threads
 * (OpenBLAS's own threading is not: its splits follow the thread count). */
#define GEMM_TILES 8
#define GEMM_MIN_FLOPS 2000000.0

typedef struct {
  int ta, tb;
  int64_t m, n, k, lda, ldb, ldc, step;
  int split_rows;
  float alpha, beta;
  const float *A, *B;
  float *C;
} gemm_ctx;

static void sgemm1(int ta, int tb, int64_t m, int64_t n, int64_t k, float alpha, const float *A,
                   int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
              (blasint)m, (blasint)n, (blasint)k, alpha, A, (blasint)lda, B, (blasint)ldb, beta, C,
              (blasint)ldc);
}

static void gemm_tiles(void *vc, size_t lo, size_t hi) {
  const gemm_ctx *g = vc;
  for (size_t t = lo; t < hi; t++) {
    int64_t b0 = (int64_t)t * g->step;
    if (g->split_rows) {
      int64_t mb = g->m - b0 < g->step ? g->m - b0 : g->step;
      if (mb <= 0) continue;
      sgemm1(g->ta, g->tb, mb, g->n, g->k, g->alpha, g->ta ? g->A + b0 : g->A + b0 * g->lda, g->lda,
             g->B, g->ldb, g->beta, g->C + b0 * g->ldc, g->ldc);
    } else {
      int64_t nb = g->n - b0 < g->step ? g->n - b0 : g->step;
      if (nb <= 0) continue;
      sgemm1(g->ta, g->tb, g->m, nb, g->k, g->alpha, g->A, g->lda,
             g->tb ? g->B + b0 * g->ldb : g->B + b0, g->ldb, g->beta, g->C + b0, g->ldc);
    }
  }
}

/* 1: one sgemm call; else the tiles split rows (m > n) or columns */
static int gemm_one_call(int64_t m, int64_t n, int64_t k) {
  return (double)m * (double)n * (double)k < GEMM_MIN_FLOPS || (m < 32 && n < 32);
}

static int64_t gemm_step(int64_t dim) {
  return ((dim + GEMM_TILES - 1) / GEMM_TILES + 15) & ~(int64_t)15;   /* multiple of 16 */
}

/* The width of the column tiles. Each tile is an sgemm call that packs
 * all of op(A) again, so narrow tiles of a long product cost more in
 * packing than they gain in balance: below 8 tiles of 64 columns, the
 * tiles are at least 64 columns wide and an even number (two threads
 * finish together). cnn_small's fully connected forward (128 x 1568
 * times 1568 x 128), median of 101 calls: 8 tiles of 16 took 0.70 ms,
 * 2 tiles of 64 0.60 at 1 thread; 0.62-0.63 against 0.53 at 2 threads
 * (docs/performance.md). The wider tiles have the same bits only where
 * every call, old and new, is above OpenBLAS's small-matrix size
 * (M*N*K <= 1e6; its kernels sum in another order for some shapes) and
 * all are whole groups of 16 columns (ops_nn.h): elsewhere the tiles
 * stay as they were. */
static int64_t gemm_col_step(int64_t m, int64_t n, int64_t k) {
  int64_t step = gemm_step(n);
  if (step >= 64 || n % 16 != 0 || (double)m * 16.0 * (double)k <= 1e6) return step;
  int64_t tiles = n / 64 / 2 * 2;
  if (tiles < 2) tiles = 2;
  return ((n + tiles - 1) / tiles + 15) & ~(int64_t)15;
}

int64_t lp_gemm_col_tile(int64_t m, int64_t n, int64_t k) {
  if (gemm_one_call(m, n, k) || m > n) return 0;
  return gemm_col_step(m, n, k);
}

void lp_gemm(int ta, int tb, int64_t m, int64_t n, int64_t k, float alpha,
             const float *A, int64_t lda, const float *B, int64_t ldb,
             float beta, float *C, int64_t ldc) {
  if (openblas_get_num_threads() != 1) openblas_set_num_threads(1);
  if (gemm_one_call(m, n, k)) {
    sgemm1(ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
    return;
  }
  gemm_ctx g = {ta, tb, m, n, k, lda, ldb, ldc, 0, m > n, alpha, beta, A, B, C};
  g.step = g.split_rows ? gemm_step(m) : gemm_col_step(m, n, k);
  size_t tiles = (size_t)(((g.split_rows ? m : n) + g.step - 1) / g.step);
  lp_parallel_for(tiles, 1, gemm_tiles, &g);
}

void lp_blas_one_thread(void) {
  if (openblas_get_num_threads() != 1) openblas_set_num_threads(1);
}

void lp_sgemm1(int ta, int tb, int64_t m, int64_t n, int64_t k, float alpha, const float *A,
               int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc) {
  sgemm1(ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
}

/* ---- linear ------------------------------------------------------------- */

void lp_linear_forward(float *out, const float *inp, const float *weight, const float *bias,
                       int64_t N, int64_t K, int64_t O) {
  // out (N, O), inp (N, K), weight (O, K), bias (O)
  if (bias)
    for (int64_t n = 0; n < N; n++) memcpy(out + n * O, bias, (size_t)O * sizeof *out);
  if (K == 0) {
    if (!bias) memset(out, 0, (size_t)(N * O) * sizeof *out);
    return;
  }
  lp_gemm(0, 1, N, O, K, 1.0f, inp, K, weight, K, bias ? 1.0f : 0.0f, out, O);
}

void lp_linear_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                        const float *inp, const float *weight, int64_t N, int64_t K, int64_t O,
                        int accumulate) {
  // dinp (N, K), dweight (O, K), dbias (O), dout (N, O)
  float beta = accumulate ? 1.0f : 0.0f;
  if (dinp) {
    if (K > 0 && O > 0) lp_gemm(0, 0, N, K, O, 1.0f, dout, O, weight, K, beta, dinp, K);
    else if (!accumulate) memset(dinp, 0, (size_t)(N * K) * sizeof *dinp);
  }
  if (dweight) {
    if (K > 0 && N > 0) lp_gemm(1, 0, O, K, N, 1.0f, dout, O, inp, K, beta, dweight, K);
    else if (!accumulate) memset(dweight, 0, (size_t)(O * K) * sizeof *dweight);
  }
  if (dbias) {
    if (!accumulate) memset(dbias, 0, (size_t)O * sizeof *dbias);
    for (int64_t n = 0; n < N; n++)
      for (int64_t o = 0; o < O; o++) dbias[o] += dout[n * O + o];
  }
}

/* ---- softmax and cross-entropy ------------------------------------------ */

void lp_softmax_forward(float *out, const float *inp, int64_t N, int64_t K, int logsm) {
  // out (N, K), inp (N, K)
  for (int64_t n = 0; n < N; n++) {
    const float *x = inp + n * K;
    float *y = out + n * K;
    float mx = -INFINITY;
    for (int64_t k = 0; k < K; k++) if (x[k] > mx) mx = x[k];
    double s = 0;
    for (int64_t k = 0; k < K; k++) s += exp((double)x[k] - mx);
    if (logsm) {
      float lse = (float)(mx + log(s));
      for (int64_t k = 0; k < K; k++) y[k] = x[k] - lse;
    } else {
      for (int64_t k = 0; k < K; k++) y[k] = (float)(exp((double)x[k] - mx) / s);
    }
  }
}

void lp_softmax_backward(float *dinp, const float *dout, const float *out, int64_t N, int64_t K, int logsm) {
  // dinp (N, K), dout (N, K), out (N, K): the forward's output
  for (int64_t n = 0; n < N; n++) {
    const float *g = dout + n * K, *y = out + n * K;
    float *d = dinp + n * K;
    double s = 0;
    if (logsm) {
      for (int64_t k = 0; k < K; k++) s += g[k];
      for (int64_t k = 0; k < K; k++) d[k] += g[k] - expf(y[k]) * (float)s;
    } else {
      for (int64_t k = 0; k < K; k++) s += (double)g[k] * y[k];
      for (int64_t k = 0; k < K; k++) d[k] += y[k] * (g[k] - (float)s);
    }
  }
}

#define CE_ROW 512   /* rows up to this many classes keep their exponentials on the stack */

double lp_cross_entropy_forward(float *probs, const float *logits, const float *labels, int64_t N, int64_t K) {
  // probs (N, K), logits (N, K), labels (N)
  double loss = 0;
  for (int64_t n = 0; n < N; n++) {
    const float *x = logits + n * K;
    float *p = probs + n * K;
    float lab = labels[n];
    if (!(lab >= 0 && lab < (float)K) || lab != floorf(lab)) return NAN;
    float mx = -INFINITY;
    for (int64_t k = 0; k < K; k++) if (x[k] > mx) mx = x[k];
    double s = 0;
    if (K <= CE_ROW) {   /* each exponential once (the same bits as computing it twice) */
      double e[CE_ROW];
      for (int64_t k = 0; k < K; k++) s += e[k] = exp((double)x[k] - mx);
      for (int64_t k = 0; k < K; k++) p[k] = (float)(e[k] / s);
    } else {
      for (int64_t k = 0; k < K; k++) s += exp((double)x[k] - mx);
      for (int64_t k = 0; k < K; k++) p[k] = (float)(exp((double)x[k] - mx) / s);
    }
    loss += (mx + log(s)) - x[(int64_t)lab];
  }
  return N ? loss / (double)N : 0.0;
}

void lp_cross_entropy_backward(float *dlogits, float dloss, const float *probs, const float *labels,
                               int64_t N, int64_t K) {
  float sc = N ? dloss / (float)N : 0.0f;
  for (int64_t n = 0; n < N; n++) {
    float *d = dlogits + n * K;
    const float *p = probs + n * K;
    for (int64_t k = 0; k < K; k++) d[k] += sc * p[k];
    d[(int64_t)labels[n]] -= sc;
  }
}

/* ---- dropout ------------------------------------------------------------ */

typedef struct {
  float *out, *mask;
  const float *inp;
  float p, scale;
  uint64_t key, ctr;
} drop_ctx;

static void drop_range(void *vc, size_t lo, size_t hi) {
  const drop_ctx *c = vc;
  /* keep when the 53-bit uniform is >= p */
  for (size_t i = lo; i < hi; i++) {
    float m = lp_rand_unit(c->key, c->ctr + i) >= c->p ? c->scale : 0.0f;
    c->mask[i] = m;
    c->out[i] = c->inp[i] * m;
  }
}

void lp_dropout_forward(float *out, float *mask, const float *inp, int64_t n, float p,
                        uint64_t key, uint64_t ctr) {
  // out (n), mask (n), inp (n)
  drop_ctx c = {out, mask, inp, p, p < 1 ? 1.0f / (1.0f - p) : 0.0f, key, ctr};
  lp_parallel_for((size_t)n, GRAIN, drop_range, &c);
}

/* ---- batchnorm ---------------------------------------------------------- */

typedef struct {
  float *out, *mean, *invstd, *rm, *rv;
  float *dinp, *dgamma, *dbeta;
  const float *inp, *gamma, *beta, *dout;
  const float *cmean, *cinvstd;
  int64_t N, C, S;
  int training;
  float momentum, eps;
} bn_ctx;

static void bn_fwd_range(void *vc, size_t lo, size_t hi) {
  const bn_ctx *b = vc;
  int64_t N = b->N, C = b->C, S = b->S, M = N * S;
  for (size_t c = lo; c < hi; c++) {
    double mean, invstd;
    if (b->training) {
      double s = 0, ss = 0;
      for (int64_t n = 0; n < N; n++) {
        const float *x = b->inp + (n * C + (int64_t)c) * S;
        for (int64_t i = 0; i < S; i++) s += x[i];
      }
      mean = M ? s / (double)M : 0.0;
      for (int64_t n = 0; n < N; n++) {
        const float *x = b->inp + (n * C + (int64_t)c) * S;
        for (int64_t i = 0; i < S; i++) { double d = x[i] - mean; ss += d * d; }
      }
      double var = M ? ss / (double)M : 0.0;
      invstd = 1.0 / sqrt(var + b->eps);
      if (b->rm) b->rm[c] = (float)((1.0 - b->momentum) * b->rm[c] + b->momentum * mean);
      if (b->rv)
        b->rv[c] = (float)((1.0 - b->momentum) * b->rv[c] +
                           b->momentum * (M > 1 ? ss / (double)(M - 1) : var));
    } else {
      mean = b->rm ? b->rm[c] : 0.0;
      invstd = 1.0 / sqrt((b->rv ? b->rv[c] : 1.0) + b->eps);
    }
    b->mean[c] = (float)mean;
    b->invstd[c] = (float)invstd;
    float g = b->gamma ? b->gamma[c] : 1.0f, be = b->beta ? b->beta[c] : 0.0f;
    float sc = (float)invstd * g, sh = be - (float)mean * sc;
    for (int64_t n = 0; n < N; n++) {
      const float *x = b->inp + (n * C + (int64_t)c) * S;
      float *y = b->out + (n * C + (int64_t)c) * S;
      for (int64_t i = 0; i < S; i++) y[i] = x[i] * sc + sh;
    }
  }
}

void lp_batchnorm_forward(float *out, float *mean, float *invstd, const float *inp,
                          const float *gamma, const float *beta, float *running_mean,
                          float *running_var, int64_t N, int64_t C, int64_t S,
                          int training, float momentum, float eps) {
  // out (N, C, S), mean (C), invstd (C), inp (N, C, S), gamma/beta/running (C)
  bn_ctx b = {0};
  b.out = out; b.mean = mean; b.invstd = invstd; b.rm = running_mean; b.rv = running_var;
  b.inp = inp; b.gamma = gamma; b.beta = beta;
  b.N = N; b.C = C; b.S = S; b.training = training; b.momentum = momentum; b.eps = eps;
  lp_parallel_for((size_t)C, N * S * C >= GRAIN_BN ? 1 : (size_t)C + 1, bn_fwd_range, &b);
}

static void bn_bwd_range(void *vc, size_t lo, size_t hi) {
  const bn_ctx *b = vc;
  int64_t N = b->N, C = b->C, S = b->S, M = N * S;
  for (size_t c = lo; c < hi; c++) {
    float mean = b->cmean[c], is = b->cinvstd[c], g = b->gamma ? b->gamma[c] : 1.0f;
    double sd = 0, sdx = 0;   /* sum dout, sum dout * xhat */
    for (int64_t n = 0; n < N; n++) {
      const float *x = b->inp + (n * C + (int64_t)c) * S, *dy = b->dout + (n * C + (int64_t)c) * S;
      for (int64_t i = 0; i < S; i++) {
        sd += dy[i];
        sdx += (double)dy[i] * ((x[i] - mean) * is);
      }
    }
    if (b->dgamma) b->dgamma[c] += (float)sdx;
    if (b->dbeta) b->dbeta[c] += (float)sd;
    if (!b->dinp) continue;
    float k = g * is;
    float a1 = b->training && M ? (float)(sd / (double)M) : 0.0f;
    float a2 = b->training && M ? (float)(sdx / (double)M) : 0.0f;
    for (int64_t n = 0; n < N; n++) {
      const float *x = b->inp + (n * C + (int64_t)c) * S, *dy = b->dout + (n * C + (int64_t)c) * S;
      float *dx = b->dinp + (n * C + (int64_t)c) * S;
      for (int64_t i = 0; i < S; i++) dx[i] += k * (dy[i] - a1 - (x[i] - mean) * is * a2);
    }
  }
}

void lp_batchnorm_backward(float *dinp, float *dgamma, float *dbeta, const float *dout,
                           const float *inp, const float *mean, const float *invstd,
                           const float *gamma, int64_t N, int64_t C, int64_t S, int training) {
  bn_ctx b = {0};
  b.dinp = dinp; b.dgamma = dgamma; b.dbeta = dbeta; b.dout = dout; b.inp = inp;
  b.cmean = mean; b.cinvstd = invstd; b.gamma = gamma;
  b.N = N; b.C = C; b.S = S; b.training = training;
  lp_parallel_for((size_t)C, N * S * C >= GRAIN_BN ? 1 : (size_t)C + 1, bn_bwd_range, &b);
}

/* ---- optimizer steps ---------------------------------------------------- */

typedef struct {
  float *p, *m, *v;
  const float *g;
  float lr, b1, b2, eps, wd, bc1, bc2s, momentum, dampening;
  int decoupled, nesterov, first;
} opt_ctx;

/* The Adam update over n elements. sqrtf can set errno, which keeps gcc
 * from vectorising the loop, so on SSE2 (every x86-64) four lanes are
 * written out with intrinsics; _mm_sqrt_ps is the correctly rounded IEEE
 * square root and the operations run in the scalar tail's order, so both
 * give the same bits. l2: coupled weight decay (0: none). */
static void adam_loop(float *restrict p, const float *restrict g, float *restrict m, float *restrict v,
                      size_t n, float b1, float b2, float eps, float bc2s, float step, float l2) {
  size_t i = 0;
#if defined(__SSE2__)
  const __m128 B1 = _mm_set1_ps(b1), B1c = _mm_set1_ps(1.0f - b1), B2 = _mm_set1_ps(b2),
               B2c = _mm_set1_ps(1.0f - b2), EPS = _mm_set1_ps(eps), BC2S = _mm_set1_ps(bc2s),
               STEP = _mm_set1_ps(step), L2 = _mm_set1_ps(l2);
  for (; i + 4 <= n; i += 4) {
    __m128 P = _mm_loadu_ps(p + i), G = _mm_loadu_ps(g + i);
    if (l2 != 0) G = _mm_add_ps(G, _mm_mul_ps(L2, P));
    __m128 M = _mm_add_ps(_mm_mul_ps(B1, _mm_loadu_ps(m + i)), _mm_mul_ps(B1c, G));
    __m128 V = _mm_add_ps(_mm_mul_ps(B2, _mm_loadu_ps(v + i)), _mm_mul_ps(_mm_mul_ps(B2c, G), G));
    _mm_storeu_ps(m + i, M);
    _mm_storeu_ps(v + i, V);
    __m128 D = _mm_add_ps(_mm_div_ps(_mm_sqrt_ps(V), BC2S), EPS);
    _mm_storeu_ps(p + i, _mm_sub_ps(P, _mm_div_ps(_mm_mul_ps(STEP, M), D)));
  }
#endif
  for (; i < n; i++) {
    float gi = l2 != 0 ? g[i] + l2 * p[i] : g[i];
    float mi = b1 * m[i] + (1.0f - b1) * gi, vi = b2 * v[i] + (1.0f - b2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    p[i] -= step * mi / (sqrtf(vi) / bc2s + eps);
  }
}

static void adam_range(void *vc, size_t lo, size_t hi) {
  const opt_ctx *c = vc;
  if (c->decoupled && c->wd != 0) {
    const float shrink = 1.0f - c->lr * c->wd;
    for (size_t i = lo; i < hi; i++) c->p[i] *= shrink;
  }
  adam_loop(c->p + lo, c->g + lo, c->m + lo, c->v + lo, hi - lo, c->b1, c->b2, c->eps, c->bc2s,
            c->lr / c->bc1, c->decoupled ? 0.0f : c->wd);
}

void lp_adam_step(float *param, const float *grad, float *m, float *v, int64_t n, float lr,
                  float b1, float b2, float eps, float wd, int64_t step, int decoupled) {
  // param, grad, m, v (n)
  opt_ctx c = {0};
  c.p = param; c.g = grad; c.m = m; c.v = v; c.lr = lr; c.b1 = b1; c.b2 = b2; c.eps = eps;
  c.wd = wd; c.decoupled = decoupled;
  c.bc1 = (float)(1.0 - pow(b1, (double)step));
  c.bc2s = (float)sqrt(1.0 - pow(b2, (double)step));
  lp_parallel_for((size_t)n, GRAIN_STEP, adam_range, &c);
}

static void sgd_range(void *vc, size_t lo, size_t hi) {
  const opt_ctx *c = vc;
  float *p = c->p, *buf = c->m;
  const float *g = c->g;
  for (size_t i = lo; i < hi; i++) {
    float d = g[i] + c->wd * p[i];
    if (c->momentum != 0) {
      buf[i] = c->first ? d : c->momentum * buf[i] + (1.0f - c->dampening) * d;
      d = c->nesterov ? d + c->momentum * buf[i] : buf[i];
    }
    p[i] -= c->lr * d;
  }
}

void lp_sgd_step(float *param, const float *grad, float *buf, int64_t n, float lr, float momentum,
                 float dampening, float wd, int nesterov, int first) {
  opt_ctx c = {0};
  c.p = param; c.g = grad; c.m = buf; c.lr = lr; c.momentum = buf ? momentum : 0.0f;
  c.dampening = dampening; c.wd = wd; c.nesterov = nesterov; c.first = first;
  lp_parallel_for((size_t)n, GRAIN_STEP, sgd_range, &c);
}
