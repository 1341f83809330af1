/* embed.c — token and positional embeddings: a row gather forward, a
 * scatter-add backward (embed.h). */
#include <math.h>
#include <string.h>

#include "core/embed.h"
#include "core/parallel.h"

#define GRAIN 16384

int64_t lp_embed_check(const float *tok, int64_t n, int64_t V) {
  for (int64_t i = 0; i < n; i++) {
    float t = tok[i];
    if (!(t >= 0 && t < (float)V) || t != floorf(t)) return i;
  }
  return -1;
}

typedef struct {
  float *out, *dwte, *dwpe;
  const float *tok, *wte, *wpe, *dout;
  int64_t B, T, D;
} embed_ctx;

static void fwd_rows(void *vc, size_t lo, size_t hi) {
  const embed_ctx *c = vc;
  const int64_t D = c->D;
  for (size_t n = lo; n < hi; n++) {
    float *o = c->out + (int64_t)n * D;
    const float *w = c->wte + (int64_t)c->tok[n] * D;
    if (c->wpe) {
      const float *p = c->wpe + ((int64_t)n % c->T) * D;
      for (int64_t d = 0; d < D; d++) o[d] = w[d] + p[d];
    } else {
      memcpy(o, w, (size_t)D * sizeof *o);
    }
  }
}

void lp_embed_forward(float *out, const float *tok, const float *wte, const float *wpe,
                      int64_t B, int64_t T, int64_t D) {
  // out (B, T, D), tok (B, T), wte (V, D), wpe (T, D)
  embed_ctx c = {.out = out, .tok = tok, .wte = wte, .wpe = wpe, .B = B, .T = T, .D = D};
  size_t rows = (size_t)(B * T);
  lp_parallel_for(rows, D > 0 ? (size_t)(GRAIN / D + 1) : rows + 1, fwd_rows, &c);
}

/* Columns [lo, hi) of every gradient: each column's sum runs over the
 * tokens in order, so the split does not change the bits. */
static void bwd_cols(void *vc, size_t lo, size_t hi) {
  const embed_ctx *c = vc;
  const int64_t D = c->D, N = c->B * c->T;
  for (int64_t n = 0; n < N; n++) {
    const float *g = c->dout + n * D;
    if (c->dwte) {
      float *w = c->dwte + (int64_t)c->tok[n] * D;
      for (size_t d = lo; d < hi; d++) w[d] += g[d];
    }
    if (c->dwpe) {
      float *p = c->dwpe + (n % c->T) * D;
      for (size_t d = lo; d < hi; d++) p[d] += g[d];
    }
  }
}

void lp_embed_backward(float *dwte, float *dwpe, const float *dout, const float *tok,
                       int64_t B, int64_t T, int64_t V, int64_t D) {
  // dwte (V, D), dwpe (T, D), dout (B, T, D), tok (B, T)
  (void)V;
  embed_ctx c = {.dwte = dwte, .dwpe = dwpe, .dout = dout, .tok = tok, .B = B, .T = T, .D = D};
  /* a column range per thread when there is enough work, else one pass */
  size_t grain = B * T * D >= GRAIN ? 8 : (size_t)D + 1;
  lp_parallel_for((size_t)D, grain, bwd_cols, &c);
}
