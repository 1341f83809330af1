/* qact.h — quantized activation functions: an activation f computed with
 * its input and output rounded to minifloat formats, forward and backward
 * side by side. Plain C11, no Lua.
 *
 * The modes (docs/qact.md, "Modes"):
 *   emulate  y = s_o * Q_out(f(s_i * Q_in(x / s_i)) / s_o), f in double,
 *            one rounding from double for Q_out;
 *   lut      y = T[code(Q_in(x / s_i))], T a table over the input codes;
 *   ops      every elementary operation of f rounded to the output format
 *            (lp_act_ops in act.h documents the sequence of each function).
 * With a finite input format (at most 16 bits) every mode is a table over
 * the input codes, so the hot loop is: round x to a code (a branch-free
 * search over precomputed thresholds, exact), then look the code up.
 *
 * Rounding to codes is the format side's (codes.h). */
#ifndef LP_QACT_H
#define LP_QACT_H

#include <stddef.h>
#include <stdint.h>

#include "core/act.h"
#include "core/codes.h"
#include "core/format.h"

/* ---- tables ---------------------------------------------------------- */

typedef enum { LP_QMODE_EMULATE = 0, LP_QMODE_LUT = 1, LP_QMODE_OPS = 2 } lp_qmode;

/* The initial table of a layer over the input codes (qin must have codes):
 * T[c] = Q_out(f(s_i * v_c) / s_o) * s_o in emulate and lut modes, or
 * f_ops(s_i * v_c) rounded step by step to qout's format in ops mode;
 * T has qin->ncodes entries (NaN codes give NaN). If ocode is not NULL it
 * receives the output code of each entry, qin->ncodes + 1 of them (the last
 * for the NaN-input sentinel; qout must have codes), and
 * `levels` (qout->ncodes floats, or NULL for the format's own values)
 * replaces Q_out's value: T[c] = s_o * levels[ocode[c]]. */
void lp_qact_table(float *T, uint32_t *ocode, const lp_qz *qin, const lp_qz *qout,
                   lp_act fn, double alpha, int mode, double s_i, double s_o,
                   const float *levels);

/* ---- forward ---------------------------------------------------------- */

/* Codes per element are stored in cw = 1, 2 or 4 bytes (uint8/16/32):
 * the width that holds codes up to maxcode (the NaN sentinel included). */
int lp_qact_code_width(uint32_t maxcode);

/* Table path: y[i] = T[c_i] with c_i = code(Q_in(x[i] / s_i)); codes[i]
 * (NULL to skip; cw bytes each) receives c_i (the NaN sentinel ncodes
 * gives y = NaN). If map is not NULL codes[i] receives map[c_i] instead
 * (an output code), the index the backward pass scatters to. Stochastic
 * counters ctr0 + i. */
void lp_qact_lookup(float *y, void *codes, int cw, const float *x, size_t n,
                    const lp_qz *qin, double s_i, const float *T,
                    const uint32_t *map, uint64_t ctr0);

/* Groups of elements sharing one scale (per-channel or MX blocks) for a
 * contiguous tensor viewed as (outer, A, inner) around the chosen axis:
 * block = 0 means per-channel (group = index along A, A groups);
 * block = B means MX blocks of B along A (group = (o, a / B, i),
 * outer * ceil(A / B) * inner groups). */
typedef struct lp_qgroups {
  size_t outer, A, inner, block;
} lp_qgroups;
size_t lp_qgroups_count(const lp_qgroups *g);
size_t lp_qgroups_of(const lp_qgroups *g, size_t i);

/* General path, any formats: for each element, with s_i = si[grp(i)] and
 * s_o = so[grp(i)] (a NULL groups means si[0], so[0] for all):
 * v = s_i * Q_in(x / s_i) (x itself for identity), z = f(v) (ops mode:
 * f_ops(v) rounded to qout, then z / s_o), y = s_o * Q_out(z / s_o), and
 * with levels (qout with codes) y = s_o * levels[code]. codes, if not
 * NULL, receives the output code (qout with codes), cw bytes each. */
void lp_qact_direct(float *y, void *codes, int cw, const float *x, size_t n,
                    const lp_qz *qin, const lp_qz *qout, lp_act fn, double alpha,
                    int mode, const lp_qgroups *groups, const double *si,
                    const double *so, const float *levels, uint64_t ctr0);

/* ---- backward --------------------------------------------------------- */

typedef enum { LP_STE_FPRIME = 0, LP_STE_IDENTITY = 1, LP_STE_CLIPPED = 2, LP_STE_STAIRCASE = 3 } lp_ste;

/* dx[i] = g[i] * d(x[i]) (overwrites dx) where d is the STE rule, in
 * float arithmetic (gradients are float32):
 *   fprime     f'(x)
 *   identity   1
 *   clipped    f'(x) if lo <= x <= hi, else 0 (the quantizer saturates
 *              outside the input format's range [lo, hi], scaled)
 *   staircase  slope of the piecewise-linear interpolation through the
 *              points (px[k], py[k]) (k < np, px increasing) at x; 0
 *              outside [px[0], px[np-1]].
 * A NaN x gives d = NaN under every rule (so dx is NaN). */
void lp_qact_ste(float *dx, const float *g, const float *x, size_t n, int rule,
                 lp_act fn, double alpha, double lo, double hi,
                 const double *px, const double *py, int np);

/* Learnable levels: dT[codes[i]] += mult * g[i] (codes cw bytes each;
 * entries >= nT, the NaN sentinel, are skipped). Summed in double in fixed
 * chunks (a function of n and nT), so the result does not depend on the
 * thread count. */
void lp_qact_scatter(float *dT, size_t nT, const float *g, const void *codes, int cw,
                     size_t n, double mult);

/* Both in one pass over g: dx by the STE rule (lp_qact_ste; dx NULL to
 * skip) and, if dT is not NULL, the level gradient (lp_qact_scatter). */
void lp_qact_backward(float *dx, float *dT, size_t nT, double mult, const float *g,
                      const float *x, const void *codes, int cw, size_t n, int rule,
                      lp_act fn, double alpha, double lo, double hi,
                      const double *px, const double *py, int np);

/* ---- scales and telemetry --------------------------------------------- */

/* max |x[i]| over non-NaN elements (0 for n = 0); *nan counts NaNs if not NULL. */
double lp_qact_amax(const float *x, size_t n, size_t *nan);
/* Per-group amax: amax[g] for every group (NaN if the group has a NaN). */
void lp_qact_group_amax(double *amax, const float *x, size_t n, const lp_qgroups *g);
/* The OCP MX shared scale X = 2^e for a block with this amax, for an
 * element format with largest finite value maxval (emax_elem = its
 * exponent): floor rule (OCP MX v1.0 section 6.3) e = floor(log2 amax) -
 * emax_elem; ceil rule e = ceil(log2(amax / maxval)) (never clips). e is
 * clamped to E8M0's [-127, 127]; amax = 0 gives 2^-127; a NaN or negative
 * amax, or a maxval that is not finite and positive, gives NaN. */
enum { LP_MX_FLOOR = 0, LP_MX_CEIL = 1 };
double lp_mx_scale(double amax, double maxval, int rule);

/* Scales of every group from its amax: s_i from the input amax (MX:
 * lp_mx_scale with the input format's max; per-channel: amax / in_hi), s_o
 * from m = lp_act_absmax(fn, alpha, -amax, amax) (the exact max of |f| over
 * [-amax, amax]) the same way against out_hi. A side that is
 * not scaled (use_in / use_out = 0) gets 1, as does a zero amax
 * (per-channel); MX follows lp_mx_scale (2^-127 for a zero block). */
void lp_qact_group_scales(double *si, double *so, const double *amax, size_t ng,
                          lp_act fn, double alpha, double in_hi, double out_hi,
                          int mx, int rule, int use_in, int use_out);

/* Gradient of a learnable scale s, summed over the elements (in double):
 *   LSQ  (Esser et al. 2020), with y = s * Q(z / s), z = f(x) (the scale
 *        on both sides): dy/ds = Q(z/s) - z/s inside [lo, hi], Q(z/s)
 *        (the clamped bound) outside; y is the forward output, so
 *        Q(z/s) = y / s;
 *   PACT (Choi et al. 2018), s the clipping level alpha: dy/dalpha = 1
 *        where x >= alpha, 0 elsewhere.
 * Returns sum_i g[i] * dy_i/ds. */
enum { LP_SCALE_LSQ = 0, LP_SCALE_PACT = 1 };
double lp_qact_scale_grad(const float *g, const float *x, const float *y, size_t n,
                          int kind, lp_act fn, double alpha, double s, double lo, double hi);

typedef struct lp_qstats {
  uint64_t n;           /* elements seen                                 */
  uint64_t sat;         /* |x / s| beyond the format's range (clamped)    */
  uint64_t under;       /* nonzero inputs rounded to zero                */
  uint64_t nan;         /* NaN inputs                                    */
} lp_qstats;

/* Adds the counts of one forward pass to st and usage (q->ncodes + 1
 * counters, the last for NaN inputs; NULL to skip): the inputs x rounded
 * by q at per-tensor scale s with counters ctr0 + i, as the forward did.
 * For a q without codes only n and nan are counted. */
void lp_qact_telemetry(lp_qstats *st, uint64_t *usage, const float *x, size_t n,
                       const lp_qz *q, double s, uint64_t ctr0);

#endif
