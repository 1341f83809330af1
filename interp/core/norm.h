/* norm.h — LayerNorm and RMSNorm over the last dimension, forward and
 * backward side by side (norm.c). Plain C11, no Lua; llm.c conventions
 * (ops_nn.h): a backward accumulates (+=) into the gradients it is given. */
#ifndef LP_NORM_H
#define LP_NORM_H

#include <stdint.h>

/* out (N, C) = (inp - mean) * rstd * weight + bias per row, mean and the
 * biased variance in double; saves mean (N) and rstd (N) = 1/sqrt(var +
 * eps) for the backward. weight / bias may be NULL (1 and 0). */
void lp_layernorm_forward(float *out, float *mean, float *rstd, const float *inp,
                          const float *weight, const float *bias, int64_t N, int64_t C, float eps);
/* dinp (N, C) += ..., dweight (C) += sum dout * xhat, dbias (C) += sum
 * dout (any may be NULL). */
void lp_layernorm_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                           const float *inp, const float *weight, const float *mean,
                           const float *rstd, int64_t N, int64_t C);
/* out (N, C) = inp * rstd * weight, rstd (N) = 1/sqrt(mean(inp^2) + eps). */
void lp_rmsnorm_forward(float *out, float *rstd, const float *inp, const float *weight,
                        int64_t N, int64_t C, float eps);
void lp_rmsnorm_backward(float *dinp, float *dweight, const float *dout, const float *inp,
                         const float *weight, const float *rstd, int64_t N, int64_t C);

#endif
