/* attention.c — fused causal multi-head self-attention, forward and
 * backward (attention.h). Each (batch, head) is one task: its score block
 * is one single-threaded sgemm on strided views of qkv, the causal softmax
 * runs row by row in place, and the weighted sum is a second sgemm. Tasks
 * go to the pool in fixed groups, one workspace slot per group; every
 * task's arithmetic is the same whichever slot runs it, so the results do
 * not depend on the thread count. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3")
#endif
#include <math.h>
#include <string.h>

#include <cblas.h>

#include "core/attention.h"
#include "core/parallel.h"
#include "core/rng.h"

/* Blocks of T x T floats per workspace slot: probabilities, their rounded
 * copy, their gradient, the codes of the rounded copy. */
#define BLOCKS 4

int lp_attention_slots(int64_t BH) {
  int t = lp_threads();
  return BH < t ? (int)(BH > 0 ? BH : 1) : t;
}

int64_t lp_attention_workspace(int64_t T, int slots) {
  return (int64_t)BLOCKS * T * T * slots;
}

static void sgemm(int ta, int tb, int64_t m, int64_t n, int64_t k, float alpha, const float *A,
                  int64_t lda, const float *B, int64_t ldb, float *C, int64_t ldc) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
              (blasint)m, (blasint)n, (blasint)k, alpha, A, (blasint)lda, B, (blasint)ldb, 0.0f, C,
              (blasint)ldc);
}

typedef struct {
  float *out, *stats, *work, *dqkv;
  double *dpart;
  const float *qkv, *dout, *cstats;
  int64_t B, T, H, hd, BH;
  int slots;
  const lp_attn_q *q;
  const lp_attn_drop *drop;
} attn_ctx;

/* U = A * mask (the dropout of head bh; U may be A): rows i, j <= i. */
static void drop_block(float *U, const float *A, const lp_attn_drop *d, int64_t bh, int64_t T) {
  const float scale = 1.0f / (1.0f - d->p);
  for (int64_t i = 0; i < T; i++) {
    uint64_t base = d->ctr0 + ((uint64_t)bh * (uint64_t)T + (uint64_t)i) * (uint64_t)T;
    for (int64_t j = 0; j <= i; j++)
      U[i * T + j] = lp_rand_unit(d->key, base + (uint64_t)j) >= d->p ? A[i * T + j] * scale : 0.0f;
    for (int64_t j = i + 1; j < T; j++) U[i * T + j] = 0.0f;
  }
}

/* s Q(u / s) with levels, as a float; the code goes to *code (ncodes for NaN). */
static inline float qround(const lp_attn_q *q, double u, uint64_t ctr, uint32_t *code) {
  uint32_t k = lp_qz_code(q->qz, u / q->scale, ctr);
  *code = k;
  if (k >= q->qz->ncodes) return NAN;
  double v = q->levels ? (double)q->levels[k] : q->qz->val[k];
  return (float)(q->scale * v);
}

/* Row i of one head: the scores s[0..i] (in place) become the
 * probabilities p[0..i] and p[i+1..T) zeros; pq / codes (quantized)
 * receive the rounded copy. With st_in the row's statistics are read
 * (backward: the same bits as the forward), else written to st. */
static void softmax_row(float *p, float *pq, uint32_t *codes, float *st, const float *st_in,
                        int64_t i, int64_t T, const lp_attn_q *q, uint64_t ctr) {
  float m, l;
  if (st_in) {
    m = st_in[0];
    l = st_in[1];
  } else {
    m = -INFINITY;
    for (int64_t j = 0; j <= i; j++) if (p[j] > m) m = p[j];
    l = 0.0f;
    for (int64_t j = 0; j <= i; j++) l += expf(p[j] - m);
    st[0] = m;
    st[1] = l;
    st[2] = l;
  }
  if (q && q->mode == LP_ATTN_OPS) {
    /* e = s Q(exp(x - max) / s), summed in float32; then s Q((e / sum) / s) */
    float ls = 0.0f;
    for (int64_t j = 0; j <= i; j++) {
      pq[j] = qround(q, exp((double)p[j] - (double)m), ctr + 2 * (uint64_t)j, &codes[j]);
      ls += pq[j];
    }
    if (!st_in) st[2] = ls;
    else ls = st_in[2];
    for (int64_t j = 0; j <= i; j++)
      pq[j] = qround(q, (double)pq[j] / (double)ls, ctr + 2 * (uint64_t)j + 1, &codes[j]);
  }
  for (int64_t j = 0; j <= i; j++) p[j] = expf(p[j] - m) / l;
  for (int64_t j = i + 1; j < T; j++) p[j] = 0.0f;
  if (q && q->mode == LP_ATTN_EMULATE)
    for (int64_t j = 0; j <= i; j++) pq[j] = qround(q, (double)p[j], ctr + (uint64_t)j, &codes[j]);
  if (q)
    for (int64_t j = i + 1; j < T; j++) pq[j] = 0.0f;
}

/* The stochastic-rounding counter of row i of task bh (ops mode uses two
 * per element). */
static inline uint64_t row_ctr(const lp_attn_q *q, int64_t bh, int64_t i, int64_t T) {
  uint64_t base = ((uint64_t)bh * (uint64_t)T + (uint64_t)i) * (uint64_t)T;
  return q->ctr0 + (q->mode == LP_ATTN_OPS ? 2 * base : base);
}

static void head_forward(const attn_ctx *c, int64_t bh, float *P, float *Pq, uint32_t *codes) {
  const int64_t T = c->T, H = c->H, hd = c->hd, D = H * hd, b = bh / H, h = bh % H;
  const float *qp = c->qkv + b * T * 3 * D + h * hd, *kp = qp + D, *vp = qp + 2 * D;
  const float alpha = 1.0f / sqrtf((float)hd);
  sgemm(0, 1, T, T, hd, alpha, qp, 3 * D, kp, 3 * D, P, T);   // S (T, T) = alpha q k^T
  for (int64_t i = 0; i < T; i++)
    softmax_row(P + i * T, c->q ? Pq + i * T : NULL, codes + i * T, c->stats + (bh * T + i) * 3, NULL,
                i, T, c->q, c->q ? row_ctr(c->q, bh, i, T) : 0);
  float *U = c->q ? Pq : P;   /* the probabilities the weighted sum uses */
  if (c->drop) drop_block(U, U, c->drop, bh, T);
  sgemm(0, 0, T, hd, T, 1.0f, U, T, vp, 3 * D, c->out + b * T * D + h * hd, D);
}

static void head_backward(const attn_ctx *c, int64_t bh, float *P, float *Pq, float *dP,
                          uint32_t *codes) {
  const int64_t T = c->T, H = c->H, hd = c->hd, D = H * hd, b = bh / H, h = bh % H;
  const float *qp = c->qkv + b * T * 3 * D + h * hd, *kp = qp + D, *vp = qp + 2 * D;
  const float *dop = c->dout + b * T * D + h * hd;
  float *dq = c->dqkv + b * T * 3 * D + h * hd, *dk = dq + D, *dv = dq + 2 * D;
  const float alpha = 1.0f / sqrtf((float)hd);
  const lp_attn_q *q = c->q;
  sgemm(0, 1, T, T, hd, alpha, qp, 3 * D, kp, 3 * D, P, T);
  for (int64_t i = 0; i < T; i++)
    softmax_row(P + i * T, q ? Pq + i * T : NULL, codes + i * T, NULL, c->cstats + (bh * T + i) * 3,
                i, T, q, q ? row_ctr(q, bh, i, T) : 0);
  float *U = q ? Pq : P;   /* with dropout: U = p~ mask (in Pq, free without q) */
  if (c->drop) {
    drop_block(Pq, U, c->drop, bh, T);
    U = Pq;
  }
  sgemm(1, 0, T, hd, T, 1.0f, U, T, dop, D, dv, 3 * D);           // dv = U^T dout
  sgemm(0, 1, T, T, hd, 1.0f, dop, D, vp, 3 * D, dP, T);          // dU = dout v^T
  if (c->drop) drop_block(dP, dP, c->drop, bh, T);                // dp~ = dU mask
  if (q && c->dpart) {
    double *part = c->dpart + bh * (int64_t)q->qz->ncodes;
    for (int64_t i = 0; i < T; i++)
      for (int64_t j = 0; j <= i; j++) {
        uint32_t k = codes[i * T + j];
        if (k < q->qz->ncodes) part[k] += q->scale * (double)dP[i * T + j];
      }
  }
  for (int64_t i = 0; i < T; i++) {   // ds = p (dp - sum_j p dp), the softmax Jacobian at p
    float *pr = P + i * T, *dr = dP + i * T, s = 0.0f;
    for (int64_t j = 0; j <= i; j++) s += pr[j] * dr[j];
    for (int64_t j = 0; j <= i; j++) dr[j] = pr[j] * (dr[j] - s);
    for (int64_t j = i + 1; j < T; j++) dr[j] = 0.0f;
  }
  sgemm(0, 0, T, hd, T, alpha, dP, T, kp, 3 * D, dq, 3 * D);   // dq = alpha ds k
  sgemm(1, 0, T, hd, T, alpha, dP, T, qp, 3 * D, dk, 3 * D);   // dk = alpha ds^T q
}

static void run_slots(void *vc, size_t lo, size_t hi) {
  const attn_ctx *c = vc;
  const int64_t TT = c->T * c->T;
  for (size_t s = lo; s < hi; s++) {
    float *P = c->work + (int64_t)s * BLOCKS * TT, *Pq = P + TT, *dP = P + 2 * TT;
    uint32_t *codes = (uint32_t *)(P + 3 * TT);
    int64_t t0 = c->BH * (int64_t)s / c->slots, t1 = c->BH * ((int64_t)s + 1) / c->slots;
    for (int64_t bh = t0; bh < t1; bh++) {
      if (c->dqkv) head_backward(c, bh, P, Pq, dP, codes);
      else head_forward(c, bh, P, Pq, codes);
    }
  }
}

void lp_attention_forward(float *out, float *stats, float *work, const float *qkv,
                          int64_t B, int64_t T, int64_t H, int64_t hd, const lp_attn_q *q,
                          const lp_attn_drop *drop) {
  // out (B, T, H*hd), stats (B, H, T, 3), qkv (B, T, 3*H*hd)
  if (B * H * T == 0) return;
  if (openblas_get_num_threads() != 1) openblas_set_num_threads(1);
  attn_ctx c = {.out = out, .stats = stats, .work = work, .qkv = qkv, .B = B, .T = T, .H = H,
                .hd = hd, .BH = B * H, .slots = lp_attention_slots(B * H), .q = q,
                .drop = drop && drop->p > 0 ? drop : NULL};
  lp_parallel_for((size_t)c.slots, 1, run_slots, &c);
}

void lp_attention_backward(float *dqkv, float *dlevels, double *dpart, float *work,
                           const float *dout, const float *qkv, const float *stats,
                           int64_t B, int64_t T, int64_t H, int64_t hd, const lp_attn_q *q,
                           const lp_attn_drop *drop) {
  // dqkv (B, T, 3*H*hd), dlevels (ncodes), dpart (B*H, ncodes), dout (B, T, H*hd)
  if (B * H * T == 0) return;
  if (openblas_get_num_threads() != 1) openblas_set_num_threads(1);
  const int64_t BH = B * H;
  const int64_t nc = q ? (int64_t)q->qz->ncodes : 0;
  if (q && dlevels && dpart) memset(dpart, 0, (size_t)(BH * nc) * sizeof *dpart);
  attn_ctx c = {.dqkv = dqkv, .dpart = q && dlevels ? dpart : NULL, .work = work, .dout = dout,
                .qkv = qkv, .cstats = stats, .B = B, .T = T, .H = H, .hd = hd, .BH = BH,
                .slots = lp_attention_slots(BH), .q = q, .drop = drop && drop->p > 0 ? drop : NULL};
  lp_parallel_for((size_t)c.slots, 1, run_slots, &c);
  if (c.dpart)
    for (int64_t k = 0; k < nc; k++) {
      double s = 0;
      for (int64_t bh = 0; bh < BH; bh++) s += dpart[bh * nc + k];
      dlevels[k] += (float)s;
    }
}
