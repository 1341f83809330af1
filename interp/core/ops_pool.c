/* ops_pool.c — max and average pooling, forward and backward, and max
 * pooling fused with the activation before it (and with the convolution
 * before that): loops over planes split across the thread pool, each
 * output element owned by one thread, so results do not depend on the
 * thread count. 2x2 stride-2 windows take the AVX-512 code of pool2x2.c
 * where it runs (the same bits). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3")
#endif
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "core/act.h"
#include "core/conv_implicit.h"
#include "core/ops_conv.h"
#include "core/parallel.h"
#include "core/pool2x2.h"

/* Grains in elements (docs/performance.md, "Threads that never slow a
 * kernel down"): a call gets a second thread from 2 grains of work. 2x2
 * max pooling is memory-bound and pays from about half a million elements
 * on the 2-core machine measured; average pooling from 32K. */
#define GRAIN_MAXPOOL ((int64_t)1 << 18)
#define GRAIN_MAXPOOL_BWD ((int64_t)1 << 18)
#define GRAIN_AVGPOOL ((int64_t)1 << 14)
#define GRAIN_AVGPOOL_BWD ((int64_t)1 << 15)

/* tasks of `per` elements each: a grain of `grain` elements */
static size_t grain_of(int64_t grain, int64_t per) {
  return (size_t)(grain / (per > 0 ? per : 1) + 1);
}

/* ---- pooling ------------------------------------------------------------ */

typedef struct {
  float *out, *dinp;
  int32_t *idx;
  const int32_t *cidx;
  const float *inp, *dout;
  int64_t N, C, H, W, OH, OW;  /* C: planes a sample (the fused convolution) */
  float *dbias;                /* the bias gradient summed on the way (or NULL) */
  float *lanes;                /* its 16 lanes per channel */
  int k, stride, pad;
  int fast;                /* 2x2 stride-2 windows in AVX-512 (pool2x2.c) */
  int bad;                 /* set when an index lies outside its plane */
  int need_inp;            /* set when a plane needs inp and it is NULL */
  int relu;                /* ReLU's gradient from the pooled output (pool2x2.h) */
  const float *pooled;
  lp_act_fwd_fn act;       /* the fused activation, if any */
  lp_act_bwd_fn act_grad;
  float alpha;
} pool_ctx;

/* The max pooling of one plane x (H, W) into y and ix (OH, OW). */
static void maxpool_plane(const pool_ctx *c, const float *x, float *y, int32_t *ix) {
  const int64_t H = c->H, W = c->W, OH = c->OH, OW = c->OW;
  const int k = c->k, stride = c->stride, pad = c->pad;
  if (c->fast && lp_pool2x2_forward_plane(x, y, ix, H, W) == 0) return;
  {
    int has_nan = 0;
    if (k == 2 && stride == 2 && pad == 0) {
      for (int64_t i = 0; i < H * W; i++) has_nan |= x[i] != x[i];
    }
    if (k == 2 && stride == 2 && pad == 0 && !has_nan) {
      /* the common case: four candidates, no bounds and no NaN to test;
       * plain compares and selects (the first of equal values wins) */
      for (int64_t oh = 0; oh < OH; oh++) {
        const float *r0 = x + 2 * oh * W, *r1 = r0 + W;
        float *yo = y + oh * OW;
        int32_t *io = ix + oh * OW;
        int64_t ow = 0;
#if defined(__SSE2__)
        /* four windows at a time: split even and odd columns, the max by
         * maxps in the scalar code's order, then the first position that
         * holds it through compare masks */
        const __m128i lane = _mm_set_epi32(6, 4, 2, 0), one = _mm_set1_epi32(1);
        const __m128i wp1 = _mm_set1_epi32((int32_t)W + 1);
        for (;;) {
          if (ow + 4 > OW || 2 * ow + 8 > W) {
            /* the last 1-3 windows: the four that end at OW once more
             * (their inputs lie in the row: 2 * OW <= W); the windows
             * done twice get the same values. The scalar tail below cost
             * more than the vector part (14x14 planes, 7 windows a row). */
            if (ow == OW || OW < 4 || 2 * OW > W) break;
            ow = OW - 4;
          }
          __m128 a0 = _mm_loadu_ps(r0 + 2 * ow), a1 = _mm_loadu_ps(r0 + 2 * ow + 4);
          __m128 c0 = _mm_loadu_ps(r1 + 2 * ow), c1 = _mm_loadu_ps(r1 + 2 * ow + 4);
          __m128 v0 = _mm_shuffle_ps(a0, a1, _MM_SHUFFLE(2, 0, 2, 0));
          __m128 v1 = _mm_shuffle_ps(a0, a1, _MM_SHUFFLE(3, 1, 3, 1));
          __m128 v2 = _mm_shuffle_ps(c0, c1, _MM_SHUFFLE(2, 0, 2, 0));
          __m128 v3 = _mm_shuffle_ps(c0, c1, _MM_SHUFFLE(3, 1, 3, 1));
          __m128 best = _mm_max_ps(_mm_max_ps(v3, v2), _mm_max_ps(v1, v0));
          __m128i e0 = _mm_castps_si128(_mm_cmpeq_ps(v0, best));
          __m128i e1 = _mm_castps_si128(_mm_cmpeq_ps(v1, best));
          __m128i e2 = _mm_castps_si128(_mm_cmpeq_ps(v2, best));
          __m128i off = _mm_add_epi32(wp1, e2);                      /* W or W + 1 */
          off = _mm_or_si128(_mm_and_si128(e1, one), _mm_andnot_si128(e1, off));
          off = _mm_andnot_si128(e0, off);
          __m128i base = _mm_add_epi32(_mm_set1_epi32((int32_t)(2 * oh * W + 2 * ow)), lane);
          _mm_storeu_ps(yo + ow, best);
          _mm_storeu_si128((__m128i *)(void *)(io + ow), _mm_add_epi32(base, off));
          ow += 4;
        }
#endif
        for (; ow < OW; ow++) {
          int64_t b0 = 2 * oh * W + 2 * ow;
          float v0 = r0[2 * ow], v1 = r0[2 * ow + 1], v2 = r1[2 * ow], v3 = r1[2 * ow + 1];
          /* the max by selects, then the first position holding it: the
           * same winner as a strict '>' scan */
          float m01 = v1 > v0 ? v1 : v0, m23 = v3 > v2 ? v3 : v2;
          float best = m23 > m01 ? m23 : m01;
          int64_t bi = v2 == best ? b0 + W : b0 + W + 1;
          bi = v1 == best ? b0 + 1 : bi;
          bi = v0 == best ? b0 : bi;
          yo[ow] = best;
          io[ow] = (int32_t)bi;
        }
      }
      return;
    }
    for (int64_t oh = 0; oh < OH; oh++)
      for (int64_t ow = 0; ow < OW; ow++) {
        float best = 0;
        int64_t bi = -1;
        for (int i = 0; i < k; i++) {
          int64_t ih = oh * stride - pad + i;
          if (ih < 0 || ih >= H) continue;
          for (int j = 0; j < k; j++) {
            int64_t iw = ow * stride - pad + j;
            if (iw < 0 || iw >= W) continue;
            float v = x[ih * W + iw];
            if (bi < 0 || v > best || (v != v && best == best)) { best = v; bi = ih * W + iw; }
          }
        }
        y[oh * OW + ow] = bi < 0 ? 0.0f : best;
        ix[oh * OW + ow] = (int32_t)(bi < 0 ? 0 : bi);
      }
  }
}

static void maxpool_range(void *vc, size_t lo, size_t hi) {
  const pool_ctx *c = vc;
  for (size_t pl = lo; pl < hi; pl++)
    maxpool_plane(c, c->inp + (int64_t)pl * c->H * c->W, c->out + (int64_t)pl * c->OH * c->OW,
                  c->idx + (int64_t)pl * c->OH * c->OW);
}

void lp_maxpool2d_forward(float *out, int32_t *idx, const float *inp, int64_t N, int64_t C,
                          int64_t H, int64_t W, int k, int stride, int pad) {
  // out (N, C, OH, OW), idx (N, C, OH, OW), inp (N, C, H, W)
  pool_ctx c = {0};
  c.out = out; c.idx = idx; c.inp = inp; c.H = H; c.W = W; c.k = k; c.stride = stride; c.pad = pad;
  c.OH = (H + 2 * pad - k) / stride + 1;
  c.OW = (W + 2 * pad - k) / stride + 1;
  c.fast = k == 2 && stride == 2 && pad == 0 && lp_pool2x2_fast();
  lp_parallel_for((size_t)(N * C), grain_of(GRAIN_MAXPOOL, H * W), maxpool_range, &c);
}

/* The gradient of one plane: dx = 0 + dy at ix, +0 elsewhere. An index
 * outside the plane is skipped and reported in c->bad. */
static void maxpool_bwd_plane(pool_ctx *c, float *dx, const float *dy, const int32_t *ix) {
  if (c->fast && lp_pool2x2_backward_plane(dx, dy, ix, c->H, c->W) == 0) return;
  const int64_t P = c->OH * c->OW, HW = c->H * c->W;
  memset(dx, 0, (size_t)HW * sizeof *dx);   /* cleared here, in parallel, while it is in cache */
  int bad = 0;
  for (int64_t p = 0; p < P; p++) {
    int32_t i = ix[p];
    if (i < 0 || i >= HW) bad = 1;
    else dx[i] += dy[p];
  }
  if (bad) __atomic_store_n(&c->bad, 1, __ATOMIC_RELAXED);
}

static void maxpool_bwd_range(void *vc, size_t lo, size_t hi) {
  pool_ctx *c = vc;
  int64_t P = c->OH * c->OW;
  for (size_t pl = lo; pl < hi; pl++)
    maxpool_bwd_plane(c, c->dinp + (int64_t)pl * c->H * c->W, c->dout + (int64_t)pl * P, c->cidx + (int64_t)pl * P);
}

/* backward of a 2x2, stride-2 pooling: its windows tile the plane */
static int pool2x2_shape(int64_t H, int64_t W, int64_t OH, int64_t OW) {
  return OH == H / 2 && OW == W / 2 && OH >= 1 && OW >= 1;
}

int lp_maxpool2d_backward(float *dinp, const float *dout, const int32_t *idx, int64_t N, int64_t C,
                          int64_t H, int64_t W, int64_t OH, int64_t OW) {
  pool_ctx c = {0};
  c.dinp = dinp; c.dout = dout; c.cidx = idx; c.H = H; c.W = W; c.OH = OH; c.OW = OW;
  c.fast = pool2x2_shape(H, W, OH, OW) && lp_pool2x2_fast();
  lp_parallel_for((size_t)(N * C), grain_of(GRAIN_MAXPOOL_BWD, H * W), maxpool_bwd_range, &c);
  return c.bad ? -1 : 0;
}

/* ---- an activation and max pooling in one pass ---------------------------- */

/* f(x) of a plane goes to a buffer on the stack (in L1) and is pooled from
 * there: the bits of lp_act_forward then lp_maxpool2d_forward, without
 * writing f(x) to memory and reading it back. */
/* planes pl .. pl + count of the output from `count` input planes at x */
static void act_maxpool_planes(const pool_ctx *c, const float *x, size_t pl, size_t count) {
  float buf[LP_ACT_POOL_PLANE];
  const int64_t HW = c->H * c->W, P = c->OH * c->OW;
  for (size_t i = 0; i < count; i++, pl++) {
    c->act(buf, x + (int64_t)i * HW, (size_t)HW, c->alpha);
    maxpool_plane(c, buf, c->out + (int64_t)pl * P, c->idx + (int64_t)pl * P);
  }
}

static void act_maxpool_range(void *vc, size_t lo, size_t hi) {
  const pool_ctx *c = vc;
  act_maxpool_planes(c, c->inp + (int64_t)lo * c->H * c->W, lo, hi - lo);
}

int lp_act_maxpool2d_forward(lp_act a, float alpha, float *out, int32_t *idx, const float *inp,
                             int64_t N, int64_t C, int64_t H, int64_t W, int k, int stride, int pad) {
  if (H * W > LP_ACT_POOL_PLANE) return -1;
  pool_ctx c = {0};
  c.out = out; c.idx = idx; c.inp = inp; c.H = H; c.W = W; c.k = k; c.stride = stride; c.pad = pad;
  c.OH = (H + 2 * pad - k) / stride + 1;
  c.OW = (W + 2 * pad - k) / stride + 1;
  c.fast = k == 2 && stride == 2 && pad == 0 && lp_pool2x2_fast();
  c.alpha = alpha;
  lp_act_spans(a, &c.act, NULL);
  lp_parallel_for((size_t)(N * C), grain_of(GRAIN_MAXPOOL, H * W), act_maxpool_range, &c);
  return 0;
}

/* A convolution, the activation and the max pooling: each sample's planes
 * y pooled by the thread that computed them, right after (conv_implicit.h). */
static void act_maxpool_sample(void *vc, int64_t n, const float *y) {
  const pool_ctx *c = vc;
  act_maxpool_planes(c, y, (size_t)(n * c->C), (size_t)c->C);
}

int lp_conv2d_act_maxpool2d_forward(float *out, float *work, float *pooled, int32_t *idx, const float *inp,
                                    const float *weight, const float *bias, int64_t N, int64_t C, int64_t H,
                                    int64_t W, int64_t O, int kh, int kw, int stride, int pad, lp_act a,
                                    float alpha, int k, int pstride, int ppad, int drop) {
  int64_t OH = (H + 2 * pad - kh) / stride + 1, OW = (W + 2 * pad - kw) / stride + 1;
  if (OH * OW > LP_ACT_POOL_PLANE) return -1;
  pool_ctx c = {0};
  c.out = pooled; c.idx = idx; c.inp = out; c.C = O; c.H = OH; c.W = OW; c.k = k; c.stride = pstride;
  c.pad = ppad;
  c.OH = (OH + 2 * ppad - k) / pstride + 1;
  c.OW = (OW + 2 * ppad - k) / pstride + 1;
  c.fast = k == 2 && pstride == 2 && ppad == 0 && lp_pool2x2_fast();
  c.alpha = alpha;
  lp_act_spans(a, &c.act, NULL);
  if (N * OH * OW > 0 && O > 0 && lp_conv_implicit_ok(C, H, W, O, kh, kw, stride, pad) &&
      lp_conv_implicit_forward_then(out, inp, weight, bias, N, C, H, W, O, kh, kw, pad, act_maxpool_sample, &c,
                                    drop))
    return drop ? 1 : 0;
  lp_conv2d_forward(out, work, inp, weight, bias, N, C, H, W, O, kh, kw, stride, pad);
  return lp_act_maxpool2d_forward(a, alpha, pooled, idx, out, N, O, OH, OW, k, pstride, ppad);
}

/* The pooling's gradient of a plane into a buffer on the stack, then
 * f'(x) times it into dinp: the bits of lp_maxpool2d_backward then
 * lp_act_backward, with one pass over memory. A plane larger than the
 * buffer is done in place in dinp (the same bits). */
static void act_maxpool_bwd_plane(pool_ctx *c, size_t pl, float *buf) {
  const int64_t P = c->OH * c->OW, HW = c->H * c->W;
  float *dx = c->dinp + (int64_t)pl * HW, *g = HW <= LP_ACT_POOL_PLANE ? buf : dx;
  if (c->relu && lp_pool2x2_relu_backward_plane(dx, c->dout + (int64_t)pl * P, c->pooled + (int64_t)pl * P,
                                                c->cidx + (int64_t)pl * P, c->H, c->W) == 0)
    return;
  if (!c->inp) {   /* this plane needs the activation's input, which was not given */
    __atomic_store_n(&c->need_inp, 1, __ATOMIC_RELAXED);
    return;
  }
  maxpool_bwd_plane(c, g, c->dout + (int64_t)pl * P, c->cidx + (int64_t)pl * P);
  c->act_grad(dx, g, c->inp + (int64_t)pl * HW, (size_t)HW, c->alpha, 0);
}

static void act_maxpool_bwd_range(void *vc, size_t lo, size_t hi) {
  float buf[LP_ACT_POOL_PLANE];
  for (size_t pl = lo; pl < hi; pl++) act_maxpool_bwd_plane(vc, pl, buf);
}

/* The backward with the bias gradient: the planes in memory order, sample
 * after sample, each summed into its channel's 16 lanes right after it is
 * written (a channel's planes in sample order, lp_bias_lanes: the order of
 * the convolution's own bias gradient, so the same bits).
 *
 * A channel's lanes are one chain over the samples, so threads split the
 * channels, into one group a thread. A task is the next sample of a group:
 * a thread claims a group that no other thread holds, does its next
 * sample and lets it go, trying the groups in turn from the one after the
 * group it just did. So the chains keep their order whatever the thread
 * count, the threads walk through memory together, sample by sample, a
 * thread left alone (the other one not scheduled) does the samples in
 * memory order as on 1 thread, and a thread waits only when every group
 * left is held by another. An earlier split, one task per channel over all
 * samples, had each thread jump from plane to plane across the tensor and
 * ran 1.2-1.9 times slower on 2 threads than on 1 (docs/performance.md). */
typedef struct {
  _Alignas(64) atomic_int held;   /* 1 while a thread does a sample of the group */
  atomic_long next;               /* the group's next sample (changed while held) */
} bias_chain;

typedef struct {
  pool_ctx *c;
  int64_t groups;
  bias_chain *chain;  /* one a group, a cache line each */
} bias_ctx;

static inline void spin_pause(int spins) {
  if (spins % 256 == 0) {
    sched_yield();   /* the thread it waits for may need this core */
    return;
  }
#if defined(__SSE2__)
  _mm_pause();
#endif
}

/* Sample n of the channels o0 .. o1. */
static void bias_sample(pool_ctx *c, int64_t n, int64_t o0, int64_t o1, float *buf) {
  const int64_t HW = c->H * c->W;
  float *l = c->lanes;
  if (n == 0) memset(l + o0 * 16, 0, (size_t)(o1 - o0) * 16 * sizeof *l);
  for (int64_t o = o0; o < o1; o++) {
    size_t pl = (size_t)(n * c->C + o);
    act_maxpool_bwd_plane(c, pl, buf);
    lp_bias_lanes(l + o * 16, c->dinp + (int64_t)pl * HW, HW);
  }
  if (n == c->N - 1)
    for (int64_t o = o0; o < o1; o++) c->dbias[o] = 0.0f + lp_bias_lanes_sum(l + o * 16);
}

static void act_maxpool_bwd_bias_tasks(void *vc, size_t lo, size_t hi) {
  (void)hi;   /* one call a thread, lo = 0, 1, ...: the group it starts with */
  bias_ctx *h = vc;
  pool_ctx *c = h->c;
  float buf[LP_ACT_POOL_PLANE];
  const int64_t C = c->C, N = c->N, G = h->groups;
  int64_t g = (int64_t)lo % G;
  for (int spins = 1;; spins++) {
    int did = 0, left = 0;
    for (int64_t k = 0; k < G && !did; k++) {
      int64_t gg = (g + k) % G;
      bias_chain *ch = &h->chain[gg];
      if (atomic_load_explicit(&ch->next, memory_order_relaxed) >= N) continue;   /* finished */
      left = 1;
      int free_ = 0;
      if (atomic_load_explicit(&ch->held, memory_order_relaxed) ||
          !atomic_compare_exchange_strong_explicit(&ch->held, &free_, 1, memory_order_acquire,
                                                   memory_order_relaxed))
        continue;
      int64_t n = atomic_load_explicit(&ch->next, memory_order_relaxed);
      if (n < N) {
        bias_sample(c, n, gg * C / G, (gg + 1) * C / G, buf);
        atomic_store_explicit(&ch->next, n + 1, memory_order_relaxed);
        did = 1;
        g = gg + 1;
      }
      atomic_store_explicit(&ch->held, 0, memory_order_release);
    }
    if (did) {
      spins = 0;
      continue;
    }
    if (!left) return;
    spin_pause(spins);
  }
}

/* Without memory for the lanes: one channel at a time, its planes strided
 * apart (the same bits). */
static void act_maxpool_bwd_bias_range(void *vc, size_t lo, size_t hi) {
  pool_ctx *c = vc;
  float buf[LP_ACT_POOL_PLANE];
  const int64_t HW = c->H * c->W;
  for (size_t o = lo; o < hi; o++) {
    float l[16] = {0};
    for (int64_t n = 0; n < c->N; n++) {
      size_t pl = (size_t)(n * c->C) + o;
      act_maxpool_bwd_plane(c, pl, buf);
      lp_bias_lanes(l, c->dinp + (int64_t)pl * HW, HW);
    }
    c->dbias[o] = 0.0f + lp_bias_lanes_sum(l);
  }
}

int lp_act_maxpool2d_backward(lp_act a, float alpha, float *dinp, float *dbias, const float *dout,
                              const int32_t *idx, const float *inp, const float *out, int64_t N, int64_t C,
                              int64_t H, int64_t W, int64_t OH, int64_t OW, int k, int stride, int pad) {
  pool_ctx c = {0};
  c.dinp = dinp; c.dout = dout; c.cidx = idx; c.inp = inp; c.H = H; c.W = W; c.OH = OH; c.OW = OW;
  c.N = N; c.C = C; c.dbias = dbias;
  c.fast = pool2x2_shape(H, W, OH, OW) && lp_pool2x2_fast();
  /* ReLU's gradient from the pooled output needs windows that read every
   * element (a NaN anywhere shows in out): 2x2 with stride 2. Other
   * windows can give the same output size (1x1 with stride 2) and leave
   * elements unread, whose NaN only x shows. */
  c.relu = c.fast && a == LP_ACT_RELU && out != NULL && k == 2 && stride == 2 && pad == 0;
  c.pooled = out;
  c.alpha = alpha;
  if (!inp && !c.relu) return -2;
  lp_act_spans(a, NULL, &c.act_grad);
  if (dbias) {
    int groups = lp_threads_for((size_t)C, grain_of(GRAIN_MAXPOOL_BWD, N * H * W));
    /* the lanes (a cache line a channel), then a line per group */
    void *mem = aligned_alloc(64, (size_t)(C + groups) * 64);
    if (!mem) {
      lp_parallel_for((size_t)C, grain_of(GRAIN_MAXPOOL_BWD, N * H * W), act_maxpool_bwd_bias_range, &c);
    } else if (N > 0 && C > 0) {
      bias_ctx h = {&c, groups, (bias_chain *)((char *)mem + (size_t)C * 64)};
      c.lanes = mem;
      for (int g = 0; g < groups; g++) {
        atomic_init(&h.chain[g].held, 0);
        atomic_init(&h.chain[g].next, 0);
      }
      lp_parallel_for((size_t)groups, 1, act_maxpool_bwd_bias_tasks, &h);
    } else {
      for (int64_t o = 0; o < C; o++) dbias[o] = 0.0f;
    }
    free(mem);
  } else
    lp_parallel_for((size_t)(N * C), grain_of(GRAIN_MAXPOOL_BWD, H * W), act_maxpool_bwd_range, &c);
  return c.need_inp ? -2 : c.bad ? -1 : 0;
}

static void avgpool_range(void *vc, size_t lo, size_t hi) {
  const pool_ctx *c = vc;
  float inv = 1.0f / (float)(c->k * c->k);
  for (size_t pl = lo; pl < hi; pl++) {
    const float *x = c->inp + (int64_t)pl * c->H * c->W;
    float *y = c->out + (int64_t)pl * c->OH * c->OW;
    for (int64_t oh = 0; oh < c->OH; oh++)
      for (int64_t ow = 0; ow < c->OW; ow++) {
        float s = 0;
        for (int i = 0; i < c->k; i++) {
          int64_t ih = oh * c->stride - c->pad + i;
          if (ih < 0 || ih >= c->H) continue;
          for (int j = 0; j < c->k; j++) {
            int64_t iw = ow * c->stride - c->pad + j;
            if (iw >= 0 && iw < c->W) s += x[ih * c->W + iw];
          }
        }
        y[oh * c->OW + ow] = s * inv;
      }
  }
}

void lp_avgpool2d_forward(float *out, const float *inp, int64_t N, int64_t C, int64_t H, int64_t W,
                          int k, int stride, int pad) {
  // out (N, C, OH, OW), inp (N, C, H, W)
  pool_ctx c = {0};
  c.out = out; c.inp = inp; c.H = H; c.W = W; c.k = k; c.stride = stride; c.pad = pad;
  c.OH = (H + 2 * pad - k) / stride + 1;
  c.OW = (W + 2 * pad - k) / stride + 1;
  lp_parallel_for((size_t)(N * C), grain_of(GRAIN_AVGPOOL, H * W), avgpool_range, &c);
}

static void avgpool_bwd_range(void *vc, size_t lo, size_t hi) {
  const pool_ctx *c = vc;
  float inv = 1.0f / (float)(c->k * c->k);
  for (size_t pl = lo; pl < hi; pl++) {
    float *dx = c->dinp + (int64_t)pl * c->H * c->W;
    const float *dy = c->dout + (int64_t)pl * c->OH * c->OW;
    for (int64_t oh = 0; oh < c->OH; oh++)
      for (int64_t ow = 0; ow < c->OW; ow++) {
        float g = dy[oh * c->OW + ow] * inv;
        for (int i = 0; i < c->k; i++) {
          int64_t ih = oh * c->stride - c->pad + i;
          if (ih < 0 || ih >= c->H) continue;
          for (int j = 0; j < c->k; j++) {
            int64_t iw = ow * c->stride - c->pad + j;
            if (iw >= 0 && iw < c->W) dx[ih * c->W + iw] += g;
          }
        }
      }
  }
}

void lp_avgpool2d_backward(float *dinp, const float *dout, int64_t N, int64_t C, int64_t H, int64_t W,
                           int k, int stride, int pad) {
  pool_ctx c = {0};
  c.dinp = dinp; c.dout = dout; c.H = H; c.W = W; c.k = k; c.stride = stride; c.pad = pad;
  c.OH = (H + 2 * pad - k) / stride + 1;
  c.OW = (W + 2 * pad - k) / stride + 1;
  lp_parallel_for((size_t)(N * C), grain_of(GRAIN_AVGPOOL_BWD, H * W), avgpool_bwd_range, &c);
}
