/* embed.h — token and learned positional embeddings, forward and backward
 * side by side (embed.c). Plain C11, no Lua; llm.c conventions (ops_nn.h). */
#ifndef LP_EMBED_H
#define LP_EMBED_H

#include <stdint.h>

/* out (B, T, D) = wte[tok[b, t]] + wpe[t] (wpe may be NULL: no positions).
 * tok (B, T) holds token ids as floats, each an integer in [0, V): the
 * caller checks them (lp_embed_check). wte (V, D), wpe (>= T, D). */
void lp_embed_forward(float *out, const float *tok, const float *wte, const float *wpe,
                      int64_t B, int64_t T, int64_t D);
/* dwte (V, D) += scatter-add of dout (B, T, D) at the rows tok names;
 * dwpe (>= T, D) += dout summed over B (either may be NULL). The sums run
 * over tokens in order for each column, columns split between threads:
 * the same bits whatever the thread count. */
void lp_embed_backward(float *dwte, float *dwpe, const float *dout, const float *tok,
                       int64_t B, int64_t T, int64_t V, int64_t D);
/* The index of the first id of tok (n) that is not an integer in [0, V),
 * or -1 when all are (NaN is never one). */
int64_t lp_embed_check(const float *tok, int64_t n, int64_t V);

#endif
