/* quant_lanes.h — the branch-free lanes of lp_quantize, written once for
 * a lane count LW (8: baseline and AVX2 builds; 16: the AVX-512 build).
 *
 * quant.c includes this file once per lane count, with LW defined; every
 * name below then ends in the count: run_lanes_8, run_lanes_16,
 * encode_lanes_8, ... (the suffix is added by the defines at the top and
 * removed at the bottom). The arithmetic is the same at every width and
 * every lane decides from its own element and counter alone, so all
 * builds give the same bits. Included only from quant.c, after qplan. */

#define LN__(x, w) x##_##w
#define LN_(x, w) LN__(x, w)
#define LN(x) LN_(x, LW)

#define vf LN(vf)
#define vu LN(vu)
#define vi LN(vi)
#define vq LN(vq)
#define vplan LN(vplan)
#define venc LN(venc)
#define bcast_u LN(bcast_u)
#define bcast_f LN(bcast_f)
#define bcast_q LN(bcast_q)
#define make_vplan LN(make_vplan)
#define sr_words LN(sr_words)
#define round_lanes LN(round_lanes)
#define run_lanes_mode LN(run_lanes_mode)
#define make_venc LN(make_venc)
#define encode_group LN(encode_group)

typedef float vf __attribute__((vector_size(4 * LW)));
typedef uint32_t vu __attribute__((vector_size(4 * LW)));
typedef int32_t vi __attribute__((vector_size(4 * LW)));
typedef uint64_t vq __attribute__((vector_size(4 * LW)));

/* lanewise m ? a : b for a mask m of all-ones / all-zeros lanes (a macro:
 * no function takes a vector by value) */
#define sel(m, a, b) ((((vu)(m)) & (a)) | (~((vu)(m)) & (b)))

INLINE vu bcast_u(uint32_t x) {
  vu r;
  for (int j = 0; j < LW; j++) r[j] = x;
  return r;
}
INLINE vf bcast_f(float x) {
  vf r;
  for (int j = 0; j < LW; j++) r[j] = x;
  return r;
}
INLINE vq bcast_q(uint64_t x) {
  vq r;
  for (int j = 0; j < LW / 2; j++) r[j] = x;
  return r;
}

/* The plan's numbers as lane vectors, built once per call. */
typedef struct {
  vu halfm1, pflip, pbit, nmask, signmask, topmask, one, zero, lowmask, half, lsb, expinf, quiet;
  vf thr, s1, s2, q, maxv, ovpos, ovneg, infpos, infneg, magic, two_km1, two_32, halff, zerof;
  vu ovxor;
  vq steps, m1, m2;
  uint64_t key0;
  uint32_t D, rs, ls, gshift;
  int radd_on, unsign;
} vplan;

INLINE void make_vplan(vplan *v, const qplan *p) {
  v->halfm1 = bcast_u(p->halfm1);
  v->pflip = bcast_u(p->pflip);
  v->pbit = bcast_u(p->pbit);
  v->nmask = bcast_u(p->nmask);
  v->signmask = bcast_u(0x80000000u);
  v->topmask = bcast_u(p->topmask);
  v->one = bcast_u(1);
  v->zero = bcast_u(0);
  v->lowmask = ~v->nmask;
  v->half = bcast_u(p->D > 0 ? UINT32_C(1) << (p->D - 1) : 0);
  v->lsb = bcast_u(UINT32_C(1) << p->D);
  v->expinf = bcast_u(0x7f800000u);
  v->quiet = bcast_u(0x00400000u);
  v->infpos = bcast_f(p->infpos);
  v->infneg = bcast_f(p->infneg);
  v->halff = bcast_f(0.5f);
  v->zerof = bcast_f(0.0f);
  v->thr = bcast_f(p->thr);
  v->s1 = bcast_f(p->s1);
  v->s2 = bcast_f(p->s2);
  v->q = bcast_f(p->q);
  v->maxv = bcast_f(p->maxv);
  v->ovpos = bcast_f(p->ovpos);
  v->ovneg = bcast_f(p->ovneg);
  v->magic = bcast_f(8388608.0f);
  v->two_km1 = bcast_f(p->two_k * 0.5f);
  v->two_32 = bcast_f(4294967296.0f);
  v->ovxor = (vu)v->ovpos ^ (vu)v->ovneg;
  v->key0 = p->key;
  for (int j = 0; j < LW / 2; j++) v->steps[j] = (uint64_t)j * UINT64_C(0x9e3779b97f4a7c15);
  v->m1 = bcast_q(UINT64_C(0xbf58476d1ce4e5b9));
  v->m2 = bcast_q(UINT64_C(0x94d049bb133111eb));
  v->D = p->D;
  v->rs = p->rs;
  v->ls = p->ls;
  v->gshift = p->gshift;
  v->radd_on = (int)p->radd_on;
  v->unsign = p->unsign;
}

/* The random words W(base + lane) for an even base (see format.h): lane
 * pair (2j, 2j+1) holds the low and high halves of lp_rand64(key,
 * base/2 + j). */
INLINE vu sr_words(const vplan *v, uint64_t base) {
  /* lp_rand64(key, c + j) mixes key + (c + j + 1) * golden */
  uint64_t z0 = v->key0 + ((base >> 1) + 1) * UINT64_C(0x9e3779b97f4a7c15);
  vq z = bcast_q(z0) + v->steps;
  z = (z ^ (z >> 30)) * v->m1;
  z = (z ^ (z >> 27)) * v->m2;
  z = z ^ (z >> 31);
  return (vu)z;
}

/* Rounds LW lanes (already divided by the scale) by `mode` (a constant
 * after inlining, so each mode gets its own loop). base: counter of lane
 * 0 (even; used by sr only). A NaN comes out as the same NaN made quiet
 * (sign and payload kept), whatever the format. */
INLINE vf round_lanes(const vplan *v, const vf *xp, uint64_t base, const int mode) {
  vf x = *xp;
  vu u = (vu)x;
  vu sg = u & v->signmask;
  vu au = u ^ sg;
  vf a = (vf)au;
  vi neg = (vi)u >> 31;
  vi lt = a < v->thr;
  /* lanes outside the fixed-gap range (and NaN) enter it as 0, so t stays
   * in [0, 2^M) and every conversion below is in range */
  vf t = (vf)((vu)lt & au) * v->s1 * v->s2;
  vu nu, ys;
  if (mode == LP_RNE) {
    nu = (au + v->halfm1 + (((au >> v->D) ^ v->pflip) & v->pbit)) & v->nmask;
    vf r = (t + v->magic) - v->magic;       /* the FPU's own ties-to-even */
    ys = (vu)(r * v->q);
  } else if (mode == LP_SR || mode == SR_SKIP) {
    vu w = sr_words(v, base);
    vu radd = v->radd_on ? (w >> v->rs) << v->ls : v->zero;
    nu = (au + radd) & v->nmask;
    vq lanes = (vq)lt;
    uint64_t any = 0;
    for (int j = 0; j < LW / 2; j++) any |= lanes[j];
    if (mode == SR_SKIP && any == 0) ys = nu;
    else {
      vi ni = __builtin_convertvector(t, vi);
      vf nf = __builtin_convertvector(ni, vf);
      /* Gs = floor(frac 2^k) 2^(32-k), the top k bits of floor(frac 2^32) */
#if LW == 16
      /* AVX-512 converts to uint32 in one step; frac 2^32 is exact (24
       * significant bits) and below 2^32 */
      vu Gs = __builtin_convertvector((t - nf) * v->two_32, vu) & v->topmask;
#else
      /* G = floor(frac 2^k) = 2 floor(h) + [frac(h) >= 1/2] with the exact
       * h = frac 2^(k-1) < 2^31, which converts to int32 */
      vf h = (t - nf) * v->two_km1;
      vi hi = __builtin_convertvector(h, vi);
      vi odd = (h - __builtin_convertvector(hi, vf)) >= v->halff;
      vu G = ((vu)hi << 1) - (vu)odd;
      vu Gs = G << v->gshift;
#endif
      vu sum = Gs + (w & v->topmask);
      vi up = sum < Gs;                     /* carry: floor(frac 2^k) + R >= 2^k */
      ys = (vu)(__builtin_convertvector(ni - up, vf) * v->q);
    }
  } else {
    /* directed modes, rna and rno: the bit pattern above the fixed-gap
     * range, integer and fraction of t below it */
    vu tr = au & v->nmask;
    vi inexact = (vi)((au & v->lowmask) != v->zero);
    vi ni = __builtin_convertvector(t, vi);
    vf nf = __builtin_convertvector(ni, vf);
    vf fr = t - nf;
    /* inexact below thr: a fraction, or a t so small that it underflowed */
    vi sub_inexact = (fr > v->zerof) | ((t == v->zerof) & (vi)(au != v->zero));
    vi up;
    if (mode == LP_RNA) {
      nu = (au + v->half) & v->nmask;
      up = fr >= v->halff;
    } else if (mode == LP_RTZ) {
      nu = tr;
      up = (vi)v->zero;
    } else if (mode == LP_RUP || mode == LP_RDN) {
      vi away = mode == LP_RUP ? ~neg : neg;
      nu = (au + ((vu)away & v->lowmask)) & v->nmask;
      up = sub_inexact & away;
    } else {                                  /* rno: an inexact result goes to the odd code */
      _Static_assert(LP_NMODES == 7, "a new rounding mode needs its branch in round_lanes");
      vi even = (vi)((((tr >> v->D) ^ v->pflip) & v->one) == v->zero);
      nu = tr + ((vu)(inexact & even) & v->lsb);
      up = sub_inexact & (vi)(((vu)ni & v->one) == v->zero);
    }
    ys = (vu)(__builtin_convertvector(ni - up, vf) * v->q);   /* up is 0 or -1 */
  }
  vu y = sel(lt, ys, nu);
  vi ov = (vf)y > v->maxv;
  vu ovv = (vu)v->ovpos ^ ((vu)neg & v->ovxor);
  vu res = sel(ov, ovv, y | sg);
  if (mode != LP_RNE && mode != LP_SR && mode != SR_SKIP) {   /* an infinite input is exact */
    vi isinf = (vi)(au == v->expinf);
    res = sel(isinf, sel(neg, (vu)v->infneg, (vu)v->infpos), res);
  }
  vi nan = x != x;
  res = sel(nan, u | v->quiet, res);
  if (v->unsign) res = sel(neg & ~nan, v->zero, res);
  return (vf)res;
}

/* Rounds n elements with counters ctr, ctr+1, ...; the LW-lane groups
 * start at even counters so that W pairs line up. */
INLINE void run_lanes_mode(const qplan *plan, float *dst, const float *src, size_t n, float scale,
                           int rescale, uint64_t ctr, const int mode) {
  vplan V;                    /* a local: stores to dst cannot alias it */
  make_vplan(&V, plan);
  const vplan *p = &V;
  const vf vs = bcast_f(scale);
  const int scaled = scale != 1.0f;
  size_t i = 0;
  /* partial groups (an odd first counter, the tail) through a buffer */
#define PARTIAL()                                                        \
  do {                                                                   \
    uint64_t c = ctr + i;                                                \
    size_t off = (size_t)(c & 1);                                        \
    size_t m = n - i < LW - off ? n - i : LW - off;                      \
    float buf[LW] = {0};                                                 \
    vf x, y;                                                             \
    memcpy(buf + off, src + i, m * sizeof(float));                       \
    memcpy(&x, buf, sizeof x);                                           \
    if (scaled) x = x / vs;                                              \
    y = round_lanes(p, &x, c - off, mode);                               \
    if (scaled && rescale) y = y * vs;                                   \
    memcpy(buf, &y, sizeof y);                                           \
    memcpy(dst + i, buf + off, m * sizeof(float));                       \
    i += m;                                                              \
  } while (0)
  if (n > 0 && ((ctr & 1) || n < LW)) PARTIAL();
  if (scaled)
    for (; i + LW <= n; i += LW) {
      vf x;
      memcpy(&x, src + i, sizeof x);
      x = x / vs;
      vf y = round_lanes(p, &x, ctr + i, mode);
      if (rescale) y = y * vs;
      memcpy(dst + i, &y, sizeof y);
    }
  else {
    for (; i + 2 * LW <= n; i += 2 * LW) {      /* two independent groups */
      vf x0, x1;
      memcpy(&x0, src + i, sizeof x0);
      memcpy(&x1, src + i + LW, sizeof x1);
      vf y0 = round_lanes(p, &x0, ctr + i, mode);
      vf y1 = round_lanes(p, &x1, ctr + i + LW, mode);
      memcpy(dst + i, &y0, sizeof y0);
      memcpy(dst + i + LW, &y1, sizeof y1);
    }
    for (; i + LW <= n; i += LW) {
      vf x;
      memcpy(&x, src + i, sizeof x);
      vf y = round_lanes(p, &x, ctr + i, mode);
      memcpy(dst + i, &y, sizeof y);
    }
  }
  while (i < n) PARTIAL();
#undef PARTIAL
}

INLINE void LN(run_lanes)(const qplan *p, float *dst, const float *src, size_t n, float scale,
                          int rescale, uint64_t ctr) {
  switch ((lp_rmode)p->mode) {   /* every mode listed: -Wswitch names a new one */
    case LP_RNE: run_lanes_mode(p, dst, src, n, scale, rescale, ctr, LP_RNE); break;
    case LP_RNA: run_lanes_mode(p, dst, src, n, scale, rescale, ctr, LP_RNA); break;
    case LP_RTZ: run_lanes_mode(p, dst, src, n, scale, rescale, ctr, LP_RTZ); break;
    case LP_RUP: run_lanes_mode(p, dst, src, n, scale, rescale, ctr, LP_RUP); break;
    case LP_RDN: run_lanes_mode(p, dst, src, n, scale, rescale, ctr, LP_RDN); break;
    case LP_RNO: run_lanes_mode(p, dst, src, n, scale, rescale, ctr, LP_RNO); break;
    case LP_SR:
      if (p->sr_skip) run_lanes_mode(p, dst, src, n, scale, rescale, ctr, SR_SKIP);
      else run_lanes_mode(p, dst, src, n, scale, rescale, ctr, LP_SR);
      break;
  }
}

/* Codes of LW values of the format (the output of round_lanes): the bit
 * pattern's exponent and top mantissa bits in the normal range, the
 * value in units of the subnormal gap below it; inf and NaN by table. */
typedef struct {
  vf thr, es1, es2;
  vu nbase, signbit, nancode, infcode, expinf, mantmask, absmask;
  uint32_t M, D;
} venc;

INLINE void make_venc(venc *e, const qplan *p) {
  e->thr = bcast_f(p->thr);
  e->es1 = bcast_f(p->es1);
  e->es2 = bcast_f(p->es2);
  e->nbase = bcast_u((uint32_t)(127 + p->emin - 1));
  e->signbit = bcast_u(p->signbit);
  e->nancode = bcast_u(p->nancode);
  e->infcode = bcast_u(p->infcode);
  e->expinf = bcast_u(0x7f800000u);
  e->mantmask = bcast_u(0x7fffffu);
  e->absmask = bcast_u(0x7fffffffu);
  e->M = (uint32_t)p->mbits;
  e->D = p->D;
}

INLINE vu encode_group(const venc *e, const vf *yp) {
  vu u = (vu)*yp;
  vu au = u & e->absmask;
  vf a = (vf)au;
  vi lt = a < e->thr;
  vf t = (vf)((vu)lt & au) * e->es1 * e->es2;          /* exact integer below thr */
  vu msub = (vu)__builtin_convertvector(t, vi);
  vu mnorm = (((au >> 23) - e->nbase) << e->M) + ((au & e->mantmask) >> e->D);
  vu mag = sel(lt, msub, mnorm);
  mag = sel((vi)(au == e->expinf), e->infcode, mag);
  vu code = mag | ((vu)((vi)u >> 31) & e->signbit);
  return sel((vi)au > (vi)e->expinf, e->nancode, code);
}

INLINE void LN(encode_lanes)(const qplan *plan, uint32_t *codes, const float *y, size_t m) {
  venc E;
  make_venc(&E, plan);
  size_t i = 0;
  for (; i + LW <= m; i += LW) {
    vf v;
    memcpy(&v, y + i, sizeof v);
    vu c = encode_group(&E, &v);
    memcpy(codes + i, &c, sizeof c);
  }
  if (i < m) {
    float buf[LW] = {0};
    uint32_t out[LW];
    memcpy(buf, y + i, (m - i) * sizeof(float));
    vf v;
    memcpy(&v, buf, sizeof v);
    vu c = encode_group(&E, &v);
    memcpy(out, &c, sizeof c);
    memcpy(codes + i, out, (m - i) * sizeof(uint32_t));
  }
}

#undef sel
#undef vf
#undef vu
#undef vi
#undef vq
#undef vplan
#undef venc
#undef bcast_u
#undef bcast_f
#undef bcast_q
#undef make_vplan
#undef sr_words
#undef round_lanes
#undef run_lanes_mode
#undef make_venc
#undef encode_group
#undef LN
#undef LN_
#undef LN__
