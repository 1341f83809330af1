/* attention.h — causal multi-head self-attention as one fused kernel:
 * scores, causal mask, softmax, the weighted sum of values, and its
 * backward, one (batch, head) at a time (attention.c). Plain C11, no Lua.
 *
 * Layout (GPT-2's): qkv (B, T, 3, H, hd) — the output of one linear layer
 * of width 3D, D = H hd, queries first, then keys, then values; out
 * (B, T, H, hd) = (B, T, D), ready for the output projection.
 *
 * Nothing of size T x T is kept or built: the forward saves three numbers
 * per query row (stats), and the backward recomputes each row's scores.
 * Row i computes its i + 1 unmasked scores only. While a head is computed
 * the kernel holds its keys and values by column and their gradients in a
 * per-thread workspace (4 hd T floats) and a few rows of T (20 T).
 *
 * Every sum is taken in a fixed order, so the results are the same bits
 * for any thread count and any vector width, and output row i depends on
 * the queries, keys and values of positions 0..i alone: a NaN or infinity
 * at position j reaches the outputs of positions j and later, never an
 * earlier one.
 *
 * The attention probabilities can be computed in a small format (the
 * study's question asked of softmax): with a quantizer q,
 *   emulate  p~ = s Q(p / s), p the float32 softmax;
 *   ops      e = s Q(exp(x - max) / s), the row sum of e in float32 (in
 *            order), p~ = s Q((e / sum) / s): exp and the division each
 *            rounded once;
 * and with levels (ncodes floats) s levels[code] replaces s Q's value.
 * Masked positions are exact zeros, never rounded. The backward treats
 * the rounding as the identity (straight-through): dp = dp~, and the
 * softmax Jacobian is taken at the unrounded p. The levels' gradient is
 * dlevels[code] += s dp~ over the unmasked positions.
 *
 * Dropout (training) multiplies the probabilities used in the weighted
 * sum, rounded or not, by m = 1 / (1 - p) or 0: element (bh, i, j) is kept
 * when lp_rand_unit(key, ctr0 + (bh T + i) T + j) >= p, so the backward
 * recomputes the same mask and a run repeats bit for bit. */
#ifndef LP_ATTENTION_H
#define LP_ATTENTION_H

#include <stdint.h>

#include "core/qact.h"

enum { LP_ATTN_EMULATE = 0, LP_ATTN_OPS = 1 };

typedef struct lp_attn_q {
  const lp_qz *qz;        /* the format, with codes (at most 16 bits)     */
  int mode;               /* LP_ATTN_EMULATE or LP_ATTN_OPS               */
  double scale;           /* s > 0                                       */
  const float *levels;    /* NULL, or qz->ncodes values                   */
  uint64_t ctr0;          /* stochastic rounding: element counter base    */
} lp_attn_q;

typedef struct lp_attn_drop {
  float p;                /* drop probability, 0 <= p < 1                */
  uint64_t key, ctr0;     /* lp_rand_unit(key, ctr0 + element)            */
} lp_attn_drop;

/* Floats of workspace the kernels need for slots = lp_attention_slots(B * H)
 * slots: 4 hd T + 20 T each. */
int lp_attention_slots(int64_t BH);
int64_t lp_attention_workspace(int64_t T, int64_t hd, int slots);

/* out (B, T, D) from qkv (B, T, 3D); stats (B, H, T, 3) receives per query
 * row the max score, the float32 sum of exp(score - max) and (ops mode) the
 * sum of the rounded exponentials. q may be NULL (float32 softmax), drop
 * NULL (no dropout; the backward must get the same). Scores are scaled by
 * 1/sqrt(hd). */
void lp_attention_forward(float *out, float *stats, float *work, const float *qkv,
                          int64_t B, int64_t T, int64_t H, int64_t hd, const lp_attn_q *q,
                          const lp_attn_drop *drop);
/* dqkv (B, T, 3D) = the gradient of qkv (written, not accumulated);
 * dlevels (qz->ncodes, or NULL) += the levels' gradient; dpart: NULL, or
 * when dlevels is given B*H*ncodes doubles (per-head partial sums, added
 * in head order: the same bits whatever the thread count). */
void lp_attention_backward(float *dqkv, float *dlevels, double *dpart, float *work,
                           const float *dout, const float *qkv, const float *stats,
                           int64_t B, int64_t T, int64_t H, int64_t hd, const lp_attn_q *q,
                           const lp_attn_drop *drop);

#endif
