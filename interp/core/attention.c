/* attention.c — fused causal multi-head self-attention, forward and
 * backward (attention.h), written out by hand. Each (batch, head) is one
 * task and walks its query rows in order: row i computes only its i + 1
 * unmasked scores (keys packed by column, so the score loop runs over
 * keys in vector lanes), its softmax, and its weighted sum of values; the
 * backward recomputes the row and accumulates the keys' and values'
 * gradients in the slot's workspace. Every sum has a fixed order — a dot
 * product over the head dimension in index order, a weighted sum over
 * positions in position order, a row sum in 16 fixed partial sums — so
 * vector lanes of any width, the scalar tail and any thread count give
 * the same bits, and a position's output depends on the positions it
 * attends to and on no other (a NaN in a later value vector cannot reach
 * it through 0 x NaN). The loops are built three times (baseline, AVX2,
 * AVX-512, the lane level lp_quantize_simd chooses), with the same
 * arithmetic: no FMA contraction. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3")
#endif
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif
#include <math.h>
#include <string.h>

#include "core/attention.h"
#include "core/codes.h"
#include "core/format.h"
#include "core/parallel.h"
#include "core/rng.h"
#include "core/xmath.h"

/* Rows of T per workspace slot: probabilities, their rounded copy, the
 * copy the weighted sum uses (dropout), their gradient, the codes. */
#define ROWS 5
/* Columns per register block of the score loop, and the width of the
 * fixed partial sums. */
#define JB 16
/* Query rows i0 .. i0 + R - 1 go together: each load of a key or value
 * serves R rows, and the R sums are independent chains. Row r of a block
 * has n0 + r unmasked positions (n0 = i0 + 1); the rows of a last short
 * block past T repeat one of its rows and their results are dropped. */
#define R 4
/* Everything the lane builds run is inlined into them. */
#define INLINE static inline __attribute__((always_inline))

int lp_attention_slots(int64_t BH) {
  int t = lp_threads();
  return BH < t ? (int)(BH > 0 ? BH : 1) : t;
}

int64_t lp_attention_workspace(int64_t T, int64_t hd, int slots) {
  return (4 * hd * T + ROWS * R * T) * slots;
}

/* Emulate mode at the unit scale with a deterministic format of at most
 * LP_QZ_SMALL values (codes.h): the code of p is found by counting the
 * switching points at or below its signed key, as qact.c does, in a loop
 * that vectorises; the same codes as lp_qz_code. */
typedef struct {
  int32_t sthr[LP_QZ_SMALL - 1];   /* switching points; INT32_MAX past the last */
  float val[LP_QZ_SMALL];          /* rank -> s levels[code] (or s value[code]) */
  uint32_t code[LP_QZ_SMALL];      /* rank -> code                              */
} small_q;

typedef struct {
  float *out, *stats, *work, *dqkv;
  double *dpart;
  const float *qkv, *dout, *cstats;
  int64_t B, T, H, hd, BH;
  int slots;
  const lp_attn_q *q;
  const small_q *sq;               /* NULL: qround element by element */
  const lp_attn_drop *drop;
} attn_ctx;

/* JB floats as one value: GNU C vector arithmetic is element by element,
 * so each build (SSE, AVX2, AVX-512) computes the same bits with its own
 * registers. Loads and stores go through memcpy (no alignment). */
typedef float vf __attribute__((vector_size(JB * sizeof(float))));
#define VLOAD(v, p) memcpy(&(v), (p), sizeof(vf))
#define VSTORE(p, v) memcpy((p), &(v), sizeof(vf))

/* a[0] + ... + a[JB-1] pairwise (a[k + w] into a[k], w = JB/2 ... 1). */
INLINE float lanes_total(float *a) {
  for (int w = JB / 2; w > 0; w /= 2)
    for (int k = 0; k < w; k++) a[k] += a[k + w];
  return a[0];
}

/* x[0] + ... + x[n-1] in JB partial sums (element j into sum j mod JB),
 * then lanes_total. */
INLINE float lanesum(const float *x, int64_t n) {
  vf acc = {0}, v;
  int64_t j = 0;
  for (; j + JB <= n; j += JB) {
    VLOAD(v, x + j);
    acc += v;
  }
  float a[JB];
  VSTORE(a, acc);
  for (int k = 0; j + k < n; k++) a[k] += x[j + k];
  return lanes_total(a);
}

/* The same for sum x[j] y[j]. */
INLINE float lanedot(const float *x, const float *y, int64_t n) {
  vf acc = {0}, v, w;
  int64_t j = 0;
  for (; j + JB <= n; j += JB) {
    VLOAD(v, x + j);
    VLOAD(w, y + j);
    acc += v * w;
  }
  float a[JB];
  VSTORE(a, acc);
  for (int k = 0; j + k < n; k++) a[k] += x[j + k] * y[j + k];
  return lanes_total(a);
}


/* S_r[j] = alpha (x_r . m_j) for j < n0 + r, the sum over d in index
 * order; x_r = x + r ldx (rows past `rows` repeat the last), Mt (hd, T)
 * holds the vectors m_j by column, S_r = S + r T. A block of JB columns
 * stays in registers over d; a last partial block computes whole when Mt
 * has the columns (the extra values land past n and are never read). */
INLINE void dots(float *S, const float *x, int64_t ldx, int rows, const float *Mt, int64_t n0,
                 int64_t T, int64_t hd, float alpha) {
  const float *xr[R];
  for (int r = 0; r < R; r++) xr[r] = x + (r < rows ? r : rows - 1) * ldx;
  const int64_t n = n0 + rows - 1;
  int64_t j0 = 0;
  for (; j0 < n && j0 + JB <= T; j0 += JB) {
    vf acc[R] = {{0}}, m;
    for (int64_t d = 0; d < hd; d++) {
      VLOAD(m, Mt + d * T + j0);
      for (int r = 0; r < R; r++) acc[r] += xr[r][d] * m;
    }
    for (int r = 0; r < R; r++) {
      acc[r] *= alpha;
      VSTORE(S + r * T + j0, acc[r]);
    }
  }
  for (int r = 0; r < rows; r++)
    for (int64_t j = j0; j < n0 + r; j++) {
      float a = 0.0f;
      for (int64_t d = 0; d < hd; d++) a += xr[r][d] * Mt[d * T + j];
      S[r * T + j] = a * alpha;
    }
}

/* o_r[d] = alpha sum_{j < n0 + r} W_r[j] v_j[d] for r < rows, the sum over j
 * in position order; v_j = v + j ld, o_r = o + r ldo, W_r = W + r wt.
 * Blocks of JB dimensions stay in registers over j. */
INLINE void wsum(float *o, int64_t ldo, int rows, const float *W, int64_t wt, const float *v,
                 int64_t ld, int64_t n0, int64_t hd, float alpha) {
  const float *w[R];
  for (int r = 0; r < R; r++) w[r] = W + (r < rows ? r : 0) * wt;
  int64_t d0 = 0;
  for (; d0 + JB <= hd; d0 += JB) {
    vf acc[R] = {{0}}, m;
    for (int64_t j = 0; j < n0; j++) {
      VLOAD(m, v + j * ld + d0);
      for (int r = 0; r < R; r++) acc[r] += w[r][j] * m;
    }
    for (int r = 1; r < rows; r++)
      for (int64_t j = n0; j < n0 + r; j++) {
        VLOAD(m, v + j * ld + d0);
        acc[r] += w[r][j] * m;
      }
    for (int r = 0; r < rows; r++) {
      acc[r] *= alpha;
      VSTORE(o + r * ldo + d0, acc[r]);
    }
  }
  for (int r = 0; r < rows; r++)
    for (int64_t d = d0; d < hd; d++) {
      float a = 0.0f;
      for (int64_t j = 0; j < n0 + r; j++) a += w[r][j] * v[j * ld + d];
      o[r * ldo + d] = a * alpha;
    }
}

/* Rows j of A (n, hd) += sum over block rows r with j < n0 + r, in order
 * of r, of W_r[j] x_r (x_r = x + r ldx, W_r = W + r wt). */
INLINE void rank1(float *A, const float *W, int64_t wt, const float *x, int64_t ldx, int rows,
                  int64_t n0, int64_t hd) {
  int64_t d0 = 0;
  for (; d0 + JB <= hd; d0 += JB) {
    vf xv[R], a;
    for (int r = 0; r < R; r++) VLOAD(xv[r], x + (r < rows ? r : 0) * ldx + d0);
    for (int64_t j = 0; j < n0; j++) {
      VLOAD(a, A + j * hd + d0);
      for (int r = 0; r < rows; r++) a += W[r * wt + j] * xv[r];
      VSTORE(A + j * hd + d0, a);
    }
    for (int64_t j = n0; j < n0 + rows - 1; j++) {
      VLOAD(a, A + j * hd + d0);
      for (int r = (int)(j - n0) + 1; r < rows; r++) a += W[r * wt + j] * xv[r];
      VSTORE(A + j * hd + d0, a);
    }
  }
  for (int64_t d = d0; d < hd; d++)
    for (int64_t j = 0; j < n0 + rows - 1; j++) {
      float a = A[j * hd + d];
      for (int r = j < n0 ? 0 : (int)(j - n0) + 1; r < rows; r++) a += W[r * wt + j] * x[r * ldx + d];
      A[j * hd + d] = a;
    }
}

/* Mt (hd, T) = the hd-wide vectors at m + j ld, by column. */
INLINE void pack_columns(float *Mt, const float *m, int64_t ld, int64_t T, int64_t hd) {
  for (int64_t d = 0; d < hd; d++)
    for (int64_t j = 0; j < T; j++) Mt[d * T + j] = m[j * ld + d];
}

/* u[j] = a[j] m_j for j < n, m_j = 1 / (1 - p) or 0: the dropout mask of
 * row i of task bh (u may be a). */
INLINE void drop_row(float *u, const float *a, const lp_attn_drop *d, int64_t bh, int64_t i,
                     int64_t T, int64_t n) {
  const float scale = 1.0f / (1.0f - d->p);
  uint64_t base = d->ctr0 + ((uint64_t)bh * (uint64_t)T + (uint64_t)i) * (uint64_t)T;
  for (int64_t j = 0; j < n; j++)
    u[j] = lp_rand_unit(d->key, base + (uint64_t)j) >= d->p ? a[j] * scale : 0.0f;
}

/* s Q(u / s) with levels, as a float; the code goes to *code (ncodes for NaN). */
INLINE float qround(const lp_attn_q *q, double u, uint64_t ctr, uint32_t *code) {
  uint32_t k = lp_qz_code(q->qz, u / q->scale, ctr);
  *code = k;
  if (k >= q->qz->ncodes) return NAN;
  double v = q->levels ? (double)q->levels[k] : q->qz->val[k];
  return (float)(q->scale * v);
}

/* pq[j] = s Q(p[j]) and codes[j] through the switching points (NaN: NaN
 * and code ncodes). */
INLINE void qround_small(float *restrict pq, uint32_t *restrict codes, const float *restrict p,
                         int64_t n, const small_q *t, uint32_t nan_code) {
  /* the switching points are increasing: walking them with selects (bit
   * masks, which vectorise) ends at the value and code of p's rank */
  int32_t thr[LP_QZ_SMALL - 1];
  uint32_t val[LP_QZ_SMALL], code[LP_QZ_SMALL];
  memcpy(thr, t->sthr, sizeof thr);
  memcpy(val, t->val, sizeof val);
  memcpy(code, t->code, sizeof code);
  for (int64_t j = 0; j < n; j++) {
    uint32_t b;
    memcpy(&b, p + j, sizeof b);
    const int32_t sk = (int32_t)(b ^ (-(b >> 31) & 0x7fffffffu));
    uint32_t v = val[0], c = code[0];
    for (int k = 0; k < LP_QZ_SMALL - 1; k++) {
      const uint32_t m = -(uint32_t)(sk >= thr[k]);
      v = (v & ~m) | (val[k + 1] & m);
      c = (c & ~m) | (code[k + 1] & m);
    }
    const uint32_t nan = -(uint32_t)((b & 0x7fffffffu) > 0x7f800000u);
    v = (v & ~nan) | (b & nan);
    c = (c & ~nan) | (nan_code & nan);
    memcpy(pq + j, &v, sizeof v);
    codes[j] = c;
  }
}

/* The rank of Q(p / s) among the format's values (its index in rcode), -1
 * if the code is not one of them. */
static int rank_of(const lp_attn_q *q, float p) {
  uint32_t c = lp_qz_code(q->qz, (double)p / q->scale, 0);
  for (int r = 0; r < q->qz->nsmall; r++)
    if (q->qz->rcode[r] == c) return r;
  return -1;
}

/* The small_q of q, or NULL when q does not qualify. Probabilities are
 * never negative, and p -> Q(p / s) is monotone for a deterministic format
 * (the division in double is monotone too), so the rank of p is the number
 * of switching points at or below its bit pattern: switching point r - 1 is
 * the smallest non-negative float whose rank is at least r, found by
 * bisection over the bit patterns of [+0, +inf] (lp_qz_code decides each
 * probe, so the codes are lp_qz_code's for every p). */
static const small_q *small_of(const lp_attn_q *q, small_q *t) {
  if (!q || q->mode != LP_ATTN_EMULATE || !q->qz->fast || q->qz->nsmall < 1) return NULL;
  const int nr = q->qz->nsmall;
  for (int k = 0; k < LP_QZ_SMALL - 1; k++) t->sthr[k] = INT32_MAX;
  for (int r = 1; r < nr; r++) {
    uint32_t lo = 0, hi = 0x7f800000u;   /* rank(hi) >= r unless no float reaches r */
    int rl = rank_of(q, 0.0f), rh;
    float fh;
    memcpy(&fh, &hi, sizeof fh);
    rh = rank_of(q, fh);
    if (rl < 0 || rh < 0) return NULL;
    if (rl >= r) { t->sthr[r - 1] = 0; continue; }
    if (rh < r) break;   /* the ranks past here stay INT32_MAX: never reached */
    while (hi - lo > 1) {   /* rank(lo) < r <= rank(hi) */
      uint32_t mid = lo + (hi - lo) / 2;
      float fm;
      memcpy(&fm, &mid, sizeof fm);
      int rm = rank_of(q, fm);
      if (rm < 0) return NULL;
      if (rm >= r) hi = mid;
      else lo = mid;
    }
    t->sthr[r - 1] = (int32_t)hi;
  }
  for (int r = 0; r < LP_QZ_SMALL; r++) {
    uint32_t c = q->qz->rcode[r < nr ? r : nr - 1];
    double v = q->levels ? (double)q->levels[c] : q->qz->val[c];
    t->code[r] = c;
    t->val[r] = (float)(q->scale * v);
  }
  return t;
}

/* One query row with n = i + 1 unmasked positions: the scores p[0..n)
 * become the probabilities (in place); pq / codes (quantized) receive the
 * rounded copy. With st_in the row's statistics are read (backward: the
 * same bits as the forward), else written to st. */
INLINE void softmax_row(float *p, float *pq, uint32_t *codes, float *st, const float *st_in,
                        int64_t n, int64_t T, const lp_attn_q *q, const small_q *sq, uint64_t ctr) {
  /* element-wise loops run on to a whole number of JB (within the row):
   * no scalar tail; the values past n are never read */
  const int64_t nv = (n + JB - 1) / JB * JB < T ? (n + JB - 1) / JB * JB : T;
  float m, l = 0.0f;
  if (st_in) {
    m = st_in[0];
    l = st_in[1];
  } else {
    m = -INFINITY;
    for (int64_t j = 0; j < n; j++) if (p[j] > m) m = p[j];
  }
  if (q && q->mode == LP_ATTN_OPS) {
    /* e = s Q(exp(x - max) / s), summed in float32; then s Q((e / sum) / s) */
    float ls = 0.0f;
    for (int64_t j = 0; j < n; j++) {
      pq[j] = qround(q, exp((double)p[j] - (double)m), ctr + 2 * (uint64_t)j, &codes[j]);
      ls += pq[j];
    }
    if (!st_in) st[2] = ls;
    else ls = st_in[2];
    for (int64_t j = 0; j < n; j++)
      pq[j] = qround(q, (double)pq[j] / (double)ls, ctr + 2 * (uint64_t)j + 1, &codes[j]);
  }
  for (int64_t j = 0; j < nv; j++) p[j] = lp_xexpf(p[j] - m);
  if (!st_in) {
    l = lanesum(p, n);
    st[0] = m;
    st[1] = l;
    if (!(q && q->mode == LP_ATTN_OPS)) st[2] = l;
  }
  for (int64_t j = 0; j < nv; j++) p[j] = p[j] / l;
  if (sq) qround_small(pq, codes, p, nv, sq, q->qz->ncodes);
  else if (q && q->mode == LP_ATTN_EMULATE)
    for (int64_t j = 0; j < n; j++) pq[j] = qround(q, (double)p[j], ctr + (uint64_t)j, &codes[j]);
}

/* The stochastic-rounding counter of row i of task bh (ops mode uses two
 * per element). */
INLINE uint64_t row_ctr(const lp_attn_q *q, int64_t bh, int64_t i, int64_t T) {
  uint64_t base = ((uint64_t)bh * (uint64_t)T + (uint64_t)i) * (uint64_t)T;
  return q->ctr0 + (q->mode == LP_ATTN_OPS ? 2 * base : base);
}

INLINE void head_forward(const attn_ctx *c, int64_t bh, float *ws) {
  const int64_t T = c->T, H = c->H, hd = c->hd, D = H * hd, b = bh / H, h = bh % H;
  const float *qp = c->qkv + b * T * 3 * D + h * hd, *kp = qp + D, *vp = qp + 2 * D;
  const float alpha = 1.0f / sqrtf((float)hd);
  const lp_attn_q *q = c->q;
  // Kt (hd, T); P, PQ, U (R, T): a block's probabilities, rounded, after dropout
  float *Kt = ws, *P = Kt + 4 * hd * T, *PQ = P + R * T, *U = PQ + R * T;
  uint32_t *codes = (uint32_t *)(U + 2 * R * T);
  pack_columns(Kt, kp, 3 * D, T, hd);
  for (int64_t i0 = 0; i0 < T; i0 += R) {
    const int rows = T - i0 < R ? (int)(T - i0) : R;
    dots(P, qp + i0 * 3 * D, 3 * D, rows, Kt, i0 + 1, T, hd, alpha);
    const float *W = q ? PQ : P;   /* the probabilities the weighted sum uses */
    for (int r = 0; r < rows; r++) {
      const int64_t i = i0 + r;
      softmax_row(P + r * T, PQ + r * T, codes + r * T, c->stats + (bh * T + i) * 3, NULL, i + 1, T, q,
                  c->sq, q ? row_ctr(q, bh, i, T) : 0);
      if (c->drop) drop_row(U + r * T, W + r * T, c->drop, bh, i, T, i + 1);
    }
    if (c->drop) W = U;
    wsum(c->out + (b * T + i0) * D + h * hd, D, rows, W, T, vp, 3 * D, i0 + 1, hd, 1.0f);
  }
}

INLINE void head_backward(const attn_ctx *c, int64_t bh, float *ws) {
  const int64_t T = c->T, H = c->H, hd = c->hd, D = H * hd, b = bh / H, h = bh % H;
  const float *qp = c->qkv + b * T * 3 * D + h * hd, *kp = qp + D, *vp = qp + 2 * D;
  const float *dop = c->dout + b * T * D + h * hd;
  float *dq = c->dqkv + b * T * 3 * D + h * hd, *dk = dq + D, *dv = dq + 2 * D;
  const float alpha = 1.0f / sqrtf((float)hd);
  const lp_attn_q *q = c->q;
  // Kt, Vt (hd, T); dK, dV (T, hd): the keys' and values' gradients, summed over rows in order;
  // P, PQ, U, DP (R, T): a block's probabilities, rounded, after dropout, and their gradient
  float *Kt = ws, *Vt = Kt + hd * T, *dK = Vt + hd * T, *dV = dK + T * hd;
  float *P = dV + T * hd, *PQ = P + R * T, *U = PQ + R * T, *DP = U + R * T;
  uint32_t *codes = (uint32_t *)(DP + R * T);
  pack_columns(Kt, kp, 3 * D, T, hd);
  pack_columns(Vt, vp, 3 * D, T, hd);
  memset(dK, 0, (size_t)(2 * T * hd) * sizeof *dK);
  double *part = q && c->dpart ? c->dpart + bh * (int64_t)q->qz->ncodes : NULL;
  for (int64_t i0 = 0; i0 < T; i0 += R) {
    const int rows = T - i0 < R ? (int)(T - i0) : R;
    dots(P, qp + i0 * 3 * D, 3 * D, rows, Kt, i0 + 1, T, hd, alpha);
    const float *W = q ? PQ : P;
    for (int r = 0; r < rows; r++) {
      const int64_t i = i0 + r;
      softmax_row(P + r * T, PQ + r * T, codes + r * T, NULL, c->cstats + (bh * T + i) * 3, i + 1, T, q,
                  c->sq, q ? row_ctr(q, bh, i, T) : 0);
      if (c->drop) drop_row(U + r * T, W + r * T, c->drop, bh, i, T, i + 1);
    }
    if (c->drop) W = U;
    rank1(dV, W, T, dop + i0 * D, D, rows, i0 + 1, hd);             // dv_j += w_ij dout_i
    dots(DP, dop + i0 * D, D, rows, Vt, i0 + 1, T, hd, 1.0f);       // dw_ij = dout_i . v_j
    for (int r = 0; r < rows; r++) {
      const int64_t i = i0 + r, n = i + 1;
      float *p = P + r * T, *dp = DP + r * T;
      if (c->drop) drop_row(dp, dp, c->drop, bh, i, T, n);          // dp~ = dw mask
      if (part)
        for (int64_t j = 0; j < n; j++) {
          uint32_t k = codes[r * T + j];
          if (k < q->qz->ncodes) part[k] += q->scale * (double)dp[j];
        }
      const float s = lanedot(p, dp, n);   // ds = p (dp - sum_j p dp): the Jacobian at p
      const int64_t nv = (n + JB - 1) / JB * JB < T ? (n + JB - 1) / JB * JB : T;
      for (int64_t j = 0; j < nv; j++) dp[j] = p[j] * (dp[j] - s);
    }
    wsum(dq + i0 * 3 * D, 3 * D, rows, DP, T, kp, 3 * D, i0 + 1, hd, alpha);   // dq_i = alpha sum_j ds_ij k_j
    rank1(dK, DP, T, qp + i0 * 3 * D, 3 * D, rows, i0 + 1, hd);              // dk_j += ds_ij q_i (alpha below)
  }
  for (int64_t j = 0; j < T; j++)
    for (int64_t d = 0; d < hd; d++) {
      dk[j * 3 * D + d] = alpha * dK[j * hd + d];
      dv[j * 3 * D + d] = dV[j * hd + d];
    }
}

/* The tasks of slots [lo, hi), one build per lane level. */
#define RUN_SLOTS(name, attr)                                                              \
  attr static void name(void *vc, size_t lo, size_t hi) {                                  \
    const attn_ctx *c = vc;                                                                \
    const int64_t per = lp_attention_workspace(c->T, c->hd, 1);                            \
    for (size_t s = lo; s < hi; s++) {                                                     \
      float *ws = c->work + (int64_t)s * per;                                              \
      /* the rows' values past a row's end are computed on, never read: */                 \
      memset(ws + 4 * c->hd * c->T, 0, (size_t)(ROWS * R * c->T) * sizeof *ws);            \
      int64_t t0 = c->BH * (int64_t)s / c->slots, t1 = c->BH * ((int64_t)s + 1) / c->slots; \
      for (int64_t bh = t0; bh < t1; bh++) {                                               \
        if (c->dqkv) head_backward(c, bh, ws);                                             \
        else head_forward(c, bh, ws);                                                      \
      }                                                                                    \
    }                                                                                      \
  }

RUN_SLOTS(run_base, )
#if defined(__x86_64__) || defined(__i386__)
RUN_SLOTS(run_avx2, __attribute__((target("avx2"))))
RUN_SLOTS(run_avx512, __attribute__((target("avx512f,avx512vl,avx512dq,avx512bw"))))
#endif

/* The build for the lane level in force (read on the calling thread). */
static lp_range_fn run_slots(void) {
  int l = lp_quantize_simd(-1);
  lp_quantize_simd(l);
#if defined(__x86_64__) || defined(__i386__)
  if (l >= 2) return run_avx512;
  if (l == 1) return run_avx2;
#endif
  return run_base;
}

void lp_attention_forward(float *out, float *stats, float *work, const float *qkv,
                          int64_t B, int64_t T, int64_t H, int64_t hd, const lp_attn_q *q,
                          const lp_attn_drop *drop) {
  // out (B, T, H*hd), stats (B, H, T, 3), qkv (B, T, 3*H*hd)
  if (B * H * T == 0) return;
  attn_ctx c = {.out = out, .stats = stats, .work = work, .qkv = qkv, .B = B, .T = T, .H = H,
                .hd = hd, .BH = B * H, .slots = lp_attention_slots(B * H), .q = q,
                .drop = drop && drop->p > 0 ? drop : NULL};
  small_q sq;
  c.sq = small_of(q, &sq);
  lp_parallel_for((size_t)c.slots, 1, run_slots(), &c);
}

void lp_attention_backward(float *dqkv, float *dlevels, double *dpart, float *work,
                           const float *dout, const float *qkv, const float *stats,
                           int64_t B, int64_t T, int64_t H, int64_t hd, const lp_attn_q *q,
                           const lp_attn_drop *drop) {
  // dqkv (B, T, 3*H*hd), dlevels (ncodes), dpart (B*H, ncodes), dout (B, T, H*hd)
  if (B * H * T == 0) return;
  const int64_t BH = B * H;
  const int64_t nc = q ? (int64_t)q->qz->ncodes : 0;
  if (q && dlevels && dpart) memset(dpart, 0, (size_t)(BH * nc) * sizeof *dpart);
  attn_ctx c = {.dqkv = dqkv, .dpart = q && dlevels ? dpart : NULL, .work = work, .dout = dout,
                .qkv = qkv, .cstats = stats, .B = B, .T = T, .H = H, .hd = hd, .BH = BH,
                .slots = lp_attention_slots(BH), .q = q, .drop = drop && drop->p > 0 ? drop : NULL};
  small_q sq;
  c.sq = small_of(q, &sq);
  lp_parallel_for((size_t)c.slots, 1, run_slots(), &c);
  if (c.dpart)
    for (int64_t k = 0; k < nc; k++) {
      double s = 0;
      for (int64_t bh = 0; bh < BH; bh++) s += dpart[bh * nc + k];
      dlevels[k] += (float)s;
    }
}
