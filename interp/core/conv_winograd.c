/* conv_winograd.c — F(2x2, 3x3) convolutions (conv_winograd.h): per
 * sample, the input moved to channels-last and transformed in 16-channel
 * vectors, 16 small products (tiles x C times C x O) in AVX-512
 * accumulators, the outputs transformed back in 16-channel vectors and
 * moved to the planes. The samples are split over the threads; each
 * thread works in a set of buffers taken from a pool made per call. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3")
#endif
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/conv_winograd.h"
#include "core/fmagemm.h"
#include "core/parallel.h"

/* a second thread from about this many multiply-adds' worth of work (the
 * direct kernels' grain, conv_implicit.c) */
#define GRAIN_FLOPS 3e6

/* on unless the environment says LPACT_WINOGRAD=0; -1: not read yet */
static int use = -1;

static int winograd_on(void) {
  if (use < 0) {
    const char *e = getenv("LPACT_WINOGRAD");
    use = !(e && strcmp(e, "0") == 0);
  }
  return use;
}

int lp_conv_winograd_use(int on) {
  int old = winograd_on();
  use = on ? 1 : 0;
  return old;
}

int lp_conv_winograd_on(void) { return winograd_on(); }

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#include "core/fma_tile.h"
#define LP_AVX512 __attribute__((target("avx512f")))

int lp_conv_winograd_ok(int64_t C, int64_t H, int64_t W, int64_t O, int kh, int kw, int stride,
                        int pad) {
  return winograd_on() && lp_fmagemm_fast() && kh == 3 && kw == 3 && stride == 1 && pad == 1 &&
         C >= LP_WINOGRAD_MIN_C && C <= 4096 && O > 0 && O <= 4096 && H > 0 && W > 0 &&
         H * W <= ((int64_t)1 << 24) &&
         16 * ((W + 1) / 2) * ((C + 15) / 16 * 16 + (O + 15) / 16 * 16) <= LP_WINOGRAD_ROW_FLOATS;
}

/* ---- the three 1-D transforms (conv_winograd.h), on 16 lanes ---------- */

/* weights: (g0, g1, g2) -> (g0, (g0 + g1 + g2) / 2, (g0 - g1 + g2) / 2, g2) */
static void wt1(const float g[3], float w[4]) {
  w[0] = g[0];
  w[1] = ((g[0] + g[1]) + g[2]) * 0.5f;
  w[2] = ((g[0] - g[1]) + g[2]) * 0.5f;
  w[3] = g[2];
}
/* inputs: (d0, d1, d2, d3) -> (d0 - d2, d1 + d2, d2 - d1, d1 - d3) */
#define IT1(d0, d1, d2, d3, e0, e1, e2, e3) \
  do {                                      \
    e0 = _mm512_sub_ps(d0, d2);             \
    e1 = _mm512_add_ps(d1, d2);             \
    e2 = _mm512_sub_ps(d2, d1);             \
    e3 = _mm512_sub_ps(d1, d3);             \
  } while (0)
/* outputs: (m0, m1, m2, m3) -> (m0 + m1 + m2, m1 - m2 - m3) */
#define OT1(m0, m1, m2, m3, r0, r1)                            \
  do {                                                         \
    r0 = _mm512_add_ps(_mm512_add_ps(m0, m1), m2);             \
    r1 = _mm512_sub_ps(_mm512_sub_ps(m1, m2), m3);             \
  } while (0)

typedef struct {
  float *out;
  const float *inp, *bias, *U;   /* U: 16 x C x Op */
  int64_t C, H, W, O, Cp, Op;    /* Cp, Op: C and O rounded up to 16 */
  int64_t th, tw, band;          /* tiles down and across; tile rows a band */
  int add;
  void (*after)(void *, int64_t, const float *);
  void *after_arg;
  int scratch;
  int nbuf;                      /* the buffer sets, one per thread at most */
  float **buf;
  atomic_int *busy;
} wctx;

/* one set of buffers: the band's input (channels last, with its +0
 * border), V, M, the band's outputs (channels last) and a sample's outputs
 * (for scratch) */
typedef struct {
  float *xb, *V, *M, *yb, *ys;
} wbuf;

static int64_t xb_size(const wctx *w) { return (2 * w->band + 2) * (2 * w->tw + 2) * w->Cp; }
static int64_t v_size(const wctx *w) { return 16 * w->band * w->tw * w->Cp; }
static int64_t m_size(const wctx *w) { return 16 * w->band * w->tw * w->Op; }
static int64_t yb_size(const wctx *w) { return 2 * w->band * w->W * w->Op; }
static int64_t ys_size(const wctx *w) { return w->scratch ? w->O * w->H * w->W : 0; }
static int64_t set_size(const wctx *w) {
  return xb_size(w) + v_size(w) + m_size(w) + yb_size(w) + ys_size(w) + 16 * 5;
}

static wbuf carve(const wctx *w, float *p) {
  wbuf b;
  /* each part starts on a 64-byte line (p itself is aligned) */
#define NEXT(field, n) \
  b.field = p;         \
  p += ((n) + 15) / 16 * 16
  NEXT(xb, xb_size(w));
  NEXT(V, v_size(w));
  NEXT(M, m_size(w));
  NEXT(yb, yb_size(w));
  NEXT(ys, ys_size(w));
#undef NEXT
  return b;
}

/* Buffers kept from one call to the next: allocating and freeing a few
 * hundred KB a call let glibc hand the pages back and fault them in again
 * (150-250 us a call at 2 threads, more than the work of 16 samples). One
 * call at a time holds them (a concurrent call allocates its own), and
 * they hold at most CACHE_BUDGET bytes in all: a buffer that would pass
 * it is allocated for the call and freed after it. Slots 0 .. 63: the
 * threads' buffer sets; 64: U; 65: the weight gradient's partial sums. */
#define CACHE_BUDGET ((size_t)32 << 20)
#define NCACHE 66
static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;
static float *cache_p[NCACHE];
static size_t cache_n[NCACHE], cache_total;

static size_t round64(size_t bytes) { return (bytes + 63) / 64 * 64; }

/* a buffer of at least `bytes` (64-byte aligned): slot's kept one while
 * the cache is held (held) and the budget allows, else a fresh one (NULL:
 * no memory) */
static float *ws_get(int held, int slot, size_t bytes) {
  bytes = round64(bytes);
  if (!held) return aligned_alloc(64, bytes);
  if (cache_n[slot] >= bytes) return cache_p[slot];
  if (cache_total - cache_n[slot] + bytes > CACHE_BUDGET) return aligned_alloc(64, bytes);
  free(cache_p[slot]);
  cache_total -= cache_n[slot];
  cache_p[slot] = aligned_alloc(64, bytes);
  cache_n[slot] = cache_p[slot] ? bytes : 0;
  cache_total += cache_n[slot];
  return cache_p[slot];
}

/* gives back what ws_get(held, slot, ...) returned */
static void ws_put(int held, int slot, float *p) {
  if (!held || p != cache_p[slot]) free(p);
}

/* ---- the products: M (rows x Op) = V (rows x C) U (C x Op) ------------- */

/* rows [0, rows) of a block of RB2 (rows <= RB2; the rest read the last
 * row and are not stored), columns o0 .. o0 + 31 */
#define RB2 7
LP_AVX512 static void gemm32(const float *V, int64_t ldv, const float *U, int64_t ldu, float *M,
                             int64_t ldm, int64_t C, int rows) {
  const float *v[RB2];
  for (int i = 0; i < RB2; i++) v[i] = V + (i < rows ? i : rows - 1) * ldv;
  __m512 s0[RB2], s1[RB2];
#pragma GCC unroll 16
  for (int i = 0; i < RB2; i++) s0[i] = s1[i] = _mm512_setzero_ps();
  for (int64_t c = 0; c < C; c++) {
    __m512 u0 = _mm512_loadu_ps(U + c * ldu), u1 = _mm512_loadu_ps(U + c * ldu + 16);
#pragma GCC unroll 16
    for (int i = 0; i < RB2; i++) {
      __m512 b = _mm512_set1_ps(v[i][c]);
      s0[i] = _mm512_fmadd_ps(b, u0, s0[i]);
      s1[i] = _mm512_fmadd_ps(b, u1, s1[i]);
    }
  }
#pragma GCC unroll 16
  for (int i = 0; i < RB2; i++)
    if (i < rows) {
      _mm512_storeu_ps(M + i * ldm, s0[i]);
      _mm512_storeu_ps(M + i * ldm + 16, s1[i]);
    }
}

/* the same for columns o0 .. o0 + 15, RB1 rows a block */
#define RB1 14
LP_AVX512 static void gemm16(const float *V, int64_t ldv, const float *U, int64_t ldu, float *M,
                             int64_t ldm, int64_t C, int rows) {
  const float *v[RB1];
  for (int i = 0; i < RB1; i++) v[i] = V + (i < rows ? i : rows - 1) * ldv;
  __m512 s0[RB1];
#pragma GCC unroll 16
  for (int i = 0; i < RB1; i++) s0[i] = _mm512_setzero_ps();
  for (int64_t c = 0; c < C; c++) {
    __m512 u0 = _mm512_loadu_ps(U + c * ldu);
#pragma GCC unroll 16
    for (int i = 0; i < RB1; i++) s0[i] = _mm512_fmadd_ps(_mm512_set1_ps(v[i][c]), u0, s0[i]);
  }
#pragma GCC unroll 16
  for (int i = 0; i < RB1; i++)
    if (i < rows) _mm512_storeu_ps(M + i * ldm, s0[i]);
}

/* v[j][i] = v[i][j] for a 16 x 16 block held in 16 registers: pairs of
 * rows interleaved, then pairs of pairs, then 128-bit quarters twice */
LP_AVX512 static inline void transpose16(__m512 v[16]) {
  __m512 t[16], u[16];
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_ps(v[i], v[i + 1]);
    t[i + 1] = _mm512_unpackhi_ps(v[i], v[i + 1]);
  }
  for (int b = 0; b < 16; b += 4) {
    __m512d t0 = _mm512_castps_pd(t[b]), t1 = _mm512_castps_pd(t[b + 1]);
    __m512d t2 = _mm512_castps_pd(t[b + 2]), t3 = _mm512_castps_pd(t[b + 3]);
    u[b] = _mm512_castpd_ps(_mm512_unpacklo_pd(t0, t2));
    u[b + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(t0, t2));
    u[b + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(t1, t3));
    u[b + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(t1, t3));
  }
  /* u[4 b + k], quarter L: column 4 L + k, rows 4 b .. 4 b + 3 */
  for (int k = 0; k < 4; k++) {
    __m512 v0 = _mm512_shuffle_f32x4(u[k], u[4 + k], 0x44), v1 = _mm512_shuffle_f32x4(u[k], u[4 + k], 0xee);
    __m512 v2 = _mm512_shuffle_f32x4(u[8 + k], u[12 + k], 0x44);
    __m512 v3 = _mm512_shuffle_f32x4(u[8 + k], u[12 + k], 0xee);
    v[k] = _mm512_shuffle_f32x4(v0, v2, 0x88);
    v[4 + k] = _mm512_shuffle_f32x4(v0, v2, 0xdd);
    v[8 + k] = _mm512_shuffle_f32x4(v1, v3, 0x88);
    v[12 + k] = _mm512_shuffle_f32x4(v1, v3, 0xdd);
  }
}

/* ---- one band of tile rows [ti0, ti0 + nb) of one sample --------------- */

/* steps 1 and 2 of a band: b->V[xi][t][c] = B^T d B of sample x's tiles
 * in tile rows [ti0, ti0 + nb) */
LP_AVX512 static void input_v(const wctx *w, const wbuf *b, const float *x, int64_t ti0, int64_t nb) {
  const int64_t C = w->C, H = w->H, W = w->W, Cp = w->Cp, P = H * W;
  const int64_t tw = w->tw, Wp = 2 * tw + 2, T = nb * tw, r0 = 2 * ti0 - 1;
  /* 1. rows r0 .. r0 + 2 nb + 1 of x, channels last, from column 1 of xb
   * (16 channels by 16 positions at a time, transposed in registers); rows
   * outside the plane +0 (the border columns are +0 from the start) */
  for (int64_t r = 0; r < 2 * nb + 2; r++)
    if (r0 + r < 0 || r0 + r >= H) memset(b->xb + r * Wp * Cp, 0, (size_t)(Wp * Cp) * sizeof *b->xb);
  {
    int64_t pa = (r0 < 0 ? 0 : r0) * W, pb = (r0 + 2 * nb + 2 < H ? r0 + 2 * nb + 2 : H) * W;
    for (int64_t c0 = 0; c0 < C; c0 += 16) {
      int cn = C - c0 < 16 ? (int)(C - c0) : 16;
      for (int64_t p = pa; p < pb; p += 16) {
        __mmask16 m = lp_first_lanes(pb - p);
        __m512 v[16];
        for (int k = 0; k < 16; k++)
          v[k] = k < cn ? _mm512_maskz_loadu_ps(m, x + (c0 + k) * P + p) : _mm512_setzero_ps();
        transpose16(v);
        int64_t i = p / W, j = p - i * W;
        for (int k = 0; k < 16 && p + k < pb; k++) {
          _mm512_storeu_ps(b->xb + ((i - r0) * Wp + j + 1) * Cp + c0, v[k]);
          if (++j == W) j = 0, i++;
        }
      }
    }
  }
  /* 2. V[xi][t][c] = B^T d B, 16 channels at a time */
  const int64_t vs = T * Cp;   /* V's stride between points xi */
  for (int64_t ti = 0; ti < nb; ti++)
    for (int64_t tj = 0; tj < tw; tj++) {
      const float *d = b->xb + (2 * ti * Wp + 2 * tj) * Cp;
      float *v = b->V + (ti * tw + tj) * Cp;
      for (int64_t c = 0; c < Cp; c += 16) {
        __m512 e[4][4];
        for (int j = 0; j < 4; j++) {   /* down each column */
          const float *dc = d + j * Cp + c;
          __m512 d0 = _mm512_loadu_ps(dc), d1 = _mm512_loadu_ps(dc + Wp * Cp);
          __m512 d2 = _mm512_loadu_ps(dc + 2 * Wp * Cp), d3 = _mm512_loadu_ps(dc + 3 * Wp * Cp);
          IT1(d0, d1, d2, d3, e[0][j], e[1][j], e[2][j], e[3][j]);
        }
        for (int a = 0; a < 4; a++) {   /* then along each row */
          __m512 v0, v1, v2, v3;
          IT1(e[a][0], e[a][1], e[a][2], e[a][3], v0, v1, v2, v3);
          _mm512_storeu_ps(v + (4 * a + 0) * vs + c, v0);
          _mm512_storeu_ps(v + (4 * a + 1) * vs + c, v1);
          _mm512_storeu_ps(v + (4 * a + 2) * vs + c, v2);
          _mm512_storeu_ps(v + (4 * a + 3) * vs + c, v3);
        }
      }
    }
}

LP_AVX512 static void band(const wctx *w, const wbuf *b, const float *x, float *y, int64_t ti0,
                           int64_t nb) {
  const int64_t C = w->C, H = w->H, W = w->W, O = w->O, Cp = w->Cp, Op = w->Op, P = H * W;
  const int64_t tw = w->tw, T = nb * tw, vs = T * Cp;
  input_v(w, b, x, ti0, nb);
  /* 3. M[xi] = V[xi] U[xi] */
  const int64_t ms = T * Op;
  for (int xi = 0; xi < 16; xi++) {
    const float *Vx = b->V + xi * vs, *Ux = w->U + xi * C * Op;
    float *Mx = b->M + xi * ms;
    int64_t o = 0;
    for (; o + 32 <= Op; o += 32)
      for (int64_t t = 0; t < T; t += RB2)
        gemm32(Vx + t * Cp, Cp, Ux + o, Op, Mx + t * Op + o, Op, C, (int)(T - t < RB2 ? T - t : RB2));
    for (; o < Op; o += 16)
      for (int64_t t = 0; t < T; t += RB1)
        gemm16(Vx + t * Cp, Cp, Ux + o, Op, Mx + t * Op + o, Op, C, (int)(T - t < RB1 ? T - t : RB1));
  }
  /* 4. the band's outputs A^T M A, channels last, rows 2 ti0 .. */
  for (int64_t ti = 0; ti < nb; ti++)
    for (int64_t tj = 0; tj < tw; tj++) {
      const float *m = b->M + (ti * tw + tj) * Op;
      int64_t oh = 2 * ti, ow = 2 * tj;
      int down = 2 * (ti0 + ti) + 1 < H, right = ow + 1 < W;
      float *yr = b->yb + (oh * W + ow) * Op;
      for (int64_t o = 0; o < Op; o += 16) {
        __m512 s[2][4];
        for (int j = 0; j < 4; j++) {   /* down each column */
          __m512 m0 = _mm512_loadu_ps(m + (0 + j) * ms + o), m1 = _mm512_loadu_ps(m + (4 + j) * ms + o);
          __m512 m2 = _mm512_loadu_ps(m + (8 + j) * ms + o), m3 = _mm512_loadu_ps(m + (12 + j) * ms + o);
          OT1(m0, m1, m2, m3, s[0][j], s[1][j]);
        }
        __m512 y00, y01, y10, y11;   /* then along each row */
        OT1(s[0][0], s[0][1], s[0][2], s[0][3], y00, y01);
        OT1(s[1][0], s[1][1], s[1][2], s[1][3], y10, y11);
        _mm512_storeu_ps(yr + o, y00);
        if (right) _mm512_storeu_ps(yr + Op + o, y01);
        if (down) {
          _mm512_storeu_ps(yr + W * Op + o, y10);
          if (right) _mm512_storeu_ps(yr + (W + 1) * Op + o, y11);
        }
      }
    }
  /* 5. into the planes (16 positions by 16 channels at a time, transposed
   * in registers): + bias (or + 0), or added to y */
  int64_t rows = 2 * nb < H - 2 * ti0 ? 2 * nb : H - 2 * ti0, n = rows * W;
  float *yband = y + 2 * ti0 * W;
  for (int64_t o0 = 0; o0 < O; o0 += 16) {
    int on = O - o0 < 16 ? (int)(O - o0) : 16;
    for (int64_t q = 0; q < n; q += 16) {
      __mmask16 m = lp_first_lanes(n - q);
      __m512 v[16];
      for (int k = 0; k < 16; k++)
        v[k] = q + k < n ? _mm512_loadu_ps(b->yb + (q + k) * Op + o0) : _mm512_setzero_ps();
      transpose16(v);
      for (int k = 0; k < on; k++) {
        float *yo = yband + (o0 + k) * P + q;
        __m512 base = w->add ? _mm512_maskz_loadu_ps(m, yo)
                             : _mm512_set1_ps(w->bias ? w->bias[o0 + k] : 0.0f);
        _mm512_mask_storeu_ps(yo, m, _mm512_add_ps(base, v[k]));
      }
    }
  }
}

static void samples(void *vc, size_t lo, size_t hi) {
  const wctx *w = vc;
  int slot = 0;
  for (;; slot = (slot + 1) % w->nbuf)
    if (atomic_exchange(&w->busy[slot], 1) == 0) break;
  wbuf b = carve(w, w->buf[slot]);
  const int64_t P = w->H * w->W;
  for (size_t n = lo; n < hi; n++) {
    const float *x = w->inp + (int64_t)n * w->C * P;
    float *y = w->scratch ? b.ys : w->out + (int64_t)n * w->O * P;
    for (int64_t ti = 0; ti < w->th; ti += w->band)
      band(w, &b, x, y, ti, w->th - ti < w->band ? w->th - ti : w->band);
    if (w->after) w->after(w->after_arg, (int64_t)n, y);
  }
  atomic_store(&w->busy[slot], 0);
}

int lp_conv_winograd_forward(float *out, const float *inp, const float *weight, const float *bias,
                             int add, int64_t N, int64_t C, int64_t H, int64_t W, int64_t O,
                             void (*after)(void *, int64_t, const float *), void *arg, int scratch) {
  wctx w = {out, inp, bias, NULL, C, H, W, O, (C + 15) / 16 * 16, (O + 15) / 16 * 16,
            (H + 1) / 2, (W + 1) / 2, 1, add, after, arg, scratch, 0, NULL, NULL};
  /* bands of tile rows: V and M of a band within about 512 KB (L2) */
  int64_t per_row = 16 * w.tw * (w.Cp + w.Op) * (int64_t)sizeof(float);
  w.band = (512 << 10) / per_row;
  if (w.band < 1) w.band = 1;
  if (w.band > w.th) w.band = w.th;
  double flops = 2.0 * 9.0 * (double)C * (double)O * (double)(H * W);
  size_t grain = (size_t)(GRAIN_FLOPS / flops) + 1;
  w.nbuf = lp_threads_for((size_t)N, grain);
  int held = pthread_mutex_trylock(&cache_mu) == 0;
  size_t u_bytes = (size_t)(16 * C * w.Op) * sizeof(float), set_bytes = (size_t)set_size(&w) * sizeof(float);
  float *U = ws_get(held, 64, u_bytes);
  float **buf = calloc((size_t)w.nbuf, sizeof *buf);
  atomic_int *busy = calloc((size_t)w.nbuf, sizeof *busy);
  int ok = U && buf && busy;
  for (int i = 0; ok && i < w.nbuf; i++) ok = (buf[i] = ws_get(held, i, set_bytes)) != NULL;
  if (ok) {
    /* U[xi][c][o] = G g G^T: down the columns of g, then along the rows;
     * columns past O are +0 */
    memset(U, 0, (size_t)(16 * C * w.Op) * sizeof *U);
    for (int64_t o = 0; o < O; o++)
      for (int64_t c = 0; c < C; c++) {
        const float *g = weight + (o * C + c) * 9;
        float t[4][3], u[4];
        for (int j = 0; j < 3; j++) {
          float col[3] = {g[j], g[3 + j], g[6 + j]}, r[4];
          wt1(col, r);
          for (int a = 0; a < 4; a++) t[a][j] = r[a];
        }
        for (int a = 0; a < 4; a++) {
          wt1(t[a], u);
          for (int bb = 0; bb < 4; bb++) U[((4 * a + bb) * C + c) * w.Op + o] = u[bb];
        }
      }
    /* the border columns of each band's input stay +0 (every other part
     * of a set is written before it is read) */
    for (int i = 0; i < w.nbuf; i++) memset(buf[i], 0, (size_t)xb_size(&w) * sizeof(float));
    w.U = U, w.buf = buf, w.busy = busy;
    lp_parallel_for((size_t)N, grain, samples, &w);
  }
  for (int i = 0; buf && i < w.nbuf; i++)
    if (buf[i]) ws_put(held, i, buf[i]);
  if (U) ws_put(held, 64, U);
  free(buf), free(busy);
  if (held) pthread_mutex_unlock(&cache_mu);
  return ok;
}

/* ---- weight gradient -------------------------------------------------- */

/* dout: (y0, y1) -> (y0, y0 + y1, y0 - y1, -y1) */
#define NEG(v) _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(v), _mm512_set1_epi32((int)0x80000000u)))
#define DT1(y0, y1, r0, r1, r2, r3) \
  do {                              \
    r0 = y0;                        \
    r1 = _mm512_add_ps(y0, y1);     \
    r2 = _mm512_sub_ps(y0, y1);     \
    r3 = NEG(y1);                   \
  } while (0)

/* b->M[xi][t][o] = A dy A^T of dout sample dy's tiles in tile rows
 * [ti0, ti0 + nb) (+0 outside the plane), through b->yb (channels last) */
LP_AVX512 static void dout_m(const wctx *w, const wbuf *b, const float *dy, int64_t ti0, int64_t nb) {
  const int64_t H = w->H, W = w->W, O = w->O, Op = w->Op, P = H * W, tw = w->tw, T = nb * tw;
  const int64_t rows = 2 * nb < H - 2 * ti0 ? 2 * nb : H - 2 * ti0, n = rows * W, ms = T * Op;
  const float *dband = dy + 2 * ti0 * W;
  for (int64_t o0 = 0; o0 < Op; o0 += 16) {
    int on = O - o0 < 16 ? (int)(O - o0) : 16;
    for (int64_t q = 0; q < n; q += 16) {
      __mmask16 m = lp_first_lanes(n - q);
      __m512 v[16];
      for (int k = 0; k < 16; k++)
        v[k] = k < on ? _mm512_maskz_loadu_ps(m, dband + (o0 + k) * P + q) : _mm512_setzero_ps();
      transpose16(v);
      for (int k = 0; k < 16 && q + k < n; k++) _mm512_storeu_ps(b->yb + (q + k) * Op + o0, v[k]);
    }
  }
  const __m512 zero = _mm512_setzero_ps();
  for (int64_t ti = 0; ti < nb; ti++)
    for (int64_t tj = 0; tj < tw; tj++) {
      int64_t oh = 2 * ti, ow = 2 * tj, t = ti * tw + tj;
      int down = 2 * (ti0 + ti) + 1 < H, right = ow + 1 < W;
      const float *yr = b->yb + (oh * W + ow) * Op;
      float *mt = b->M + t * Op;
      for (int64_t o = 0; o < Op; o += 16) {
        __m512 y00 = _mm512_loadu_ps(yr + o), y01 = right ? _mm512_loadu_ps(yr + Op + o) : zero;
        __m512 y10 = down ? _mm512_loadu_ps(yr + W * Op + o) : zero;
        __m512 y11 = down && right ? _mm512_loadu_ps(yr + (W + 1) * Op + o) : zero;
        __m512 e[4][2], r0, r1, r2, r3;
        DT1(y00, y10, e[0][0], e[1][0], e[2][0], e[3][0]);   /* down each column */
        DT1(y01, y11, e[0][1], e[1][1], e[2][1], e[3][1]);
        for (int a = 0; a < 4; a++) {                          /* then along each row */
          DT1(e[a][0], e[a][1], r0, r1, r2, r3);
          _mm512_storeu_ps(mt + (4 * a + 0) * ms + o, r0);
          _mm512_storeu_ps(mt + (4 * a + 1) * ms + o, r1);
          _mm512_storeu_ps(mt + (4 * a + 2) * ms + o, r2);
          _mm512_storeu_ps(mt + (4 * a + 3) * ms + o, r3);
        }
      }
    }
}

/* samples a partial sum of the weight gradient holds (a fixed split, so
 * the bits do not depend on the thread count) */
#define DW_CHUNK 8

typedef struct {
  wctx w;
  const float *dout;
  float *part;   /* per chunk: 16 x Op x Cp */
  int64_t N;
} dwctx;

/* part[xi][o][c] += sum over the band's tiles t in order of
 * M[xi][t][o] V[xi][t][c], 16 rows o by 16 lanes c in registers */
LP_AVX512 static void dw_accumulate(const wctx *w, const wbuf *b, float *part, int64_t T) {
  const int64_t Cp = w->Cp, Op = w->Op, vs = T * Cp, ms = T * Op;
  for (int xi = 0; xi < 16; xi++)
    for (int64_t o0 = 0; o0 < Op; o0 += 16)
      for (int64_t c0 = 0; c0 < Cp; c0 += 16) {
        float *pr = part + (xi * Op + o0) * Cp + c0;
        const float *mx = b->M + xi * ms + o0, *vx = b->V + xi * vs + c0;
        __m512 s[16];
#pragma GCC unroll 16
        for (int i = 0; i < 16; i++) s[i] = _mm512_loadu_ps(pr + i * Cp);
        for (int64_t t = 0; t < T; t++) {
          __m512 xv = _mm512_loadu_ps(vx + t * Cp);
          const float *mr = mx + t * Op;
#pragma GCC unroll 16
          for (int i = 0; i < 16; i++) s[i] = _mm512_fmadd_ps(_mm512_set1_ps(mr[i]), xv, s[i]);
        }
#pragma GCC unroll 16
        for (int i = 0; i < 16; i++) _mm512_storeu_ps(pr + i * Cp, s[i]);
      }
}

static void dw_chunks(void *vc, size_t lo, size_t hi) {
  const dwctx *d = vc;
  const wctx *w = &d->w;
  int slot = 0;
  for (;; slot = (slot + 1) % w->nbuf)
    if (atomic_exchange(&w->busy[slot], 1) == 0) break;
  wbuf b = carve(w, w->buf[slot]);
  const int64_t P = w->H * w->W, psize = 16 * w->Op * w->Cp;
  for (size_t q = lo; q < hi; q++) {
    float *part = d->part + (int64_t)q * psize;
    memset(part, 0, (size_t)psize * sizeof *part);
    int64_t n1 = ((int64_t)q + 1) * DW_CHUNK < d->N ? ((int64_t)q + 1) * DW_CHUNK : d->N;
    for (int64_t n = (int64_t)q * DW_CHUNK; n < n1; n++)
      for (int64_t ti = 0; ti < w->th; ti += w->band) {
        int64_t nb = w->th - ti < w->band ? w->th - ti : w->band;
        input_v(w, &b, w->inp + n * w->C * P, ti, nb);
        dout_m(w, &b, d->dout + n * w->O * P, ti, nb);
        dw_accumulate(w, &b, part, nb * w->tw);
      }
  }
  atomic_store(&w->busy[slot], 0);
}

/* the weights' 1-D transform back: (m0, m1, m2, m3) ->
 * (m0 + (m1 + m2) / 2, (m1 - m2) / 2, (m1 + m2) / 2 + m3) */
static void gt1(float m0, float m1, float m2, float m3, float r[3]) {
  r[0] = m0 + (m1 + m2) * 0.5f;
  r[1] = (m1 - m2) * 0.5f;
  r[2] = (m1 + m2) * 0.5f + m3;
}

int lp_conv_winograd_dweight(float *dweight, const float *dout, const float *inp, int64_t N,
                             int64_t C, int64_t H, int64_t W, int64_t O) {
  dwctx d = {{NULL, inp, NULL, NULL, C, H, W, O, (C + 15) / 16 * 16, (O + 15) / 16 * 16,
              (H + 1) / 2, (W + 1) / 2, 1, 0, NULL, NULL, 0, 0, NULL, NULL},
             dout, NULL, N};
  wctx *w = &d.w;
  int64_t per_row = 16 * w->tw * (w->Cp + w->Op) * (int64_t)sizeof(float);
  w->band = (512 << 10) / per_row;
  if (w->band < 1) w->band = 1;
  if (w->band > w->th) w->band = w->th;
  int64_t chunks = (N + DW_CHUNK - 1) / DW_CHUNK, psize = 16 * w->Op * w->Cp;
  double flops = 2.0 * 9.0 * (double)C * (double)O * (double)(H * W) * DW_CHUNK;
  size_t grain = (size_t)(GRAIN_FLOPS / flops) + 1;
  w->nbuf = lp_threads_for((size_t)chunks, grain);
  int held = pthread_mutex_trylock(&cache_mu) == 0;
  size_t part_bytes = (size_t)(chunks * psize) * sizeof(float), set_bytes = (size_t)set_size(w) * sizeof(float);
  d.part = ws_get(held, 65, part_bytes);
  float **buf = calloc((size_t)w->nbuf, sizeof *buf);
  atomic_int *busy = calloc((size_t)w->nbuf, sizeof *busy);
  int ok = d.part && buf && busy;
  for (int i = 0; ok && i < w->nbuf; i++) ok = (buf[i] = ws_get(held, i, set_bytes)) != NULL;
  if (ok) {
    for (int i = 0; i < w->nbuf; i++) memset(buf[i], 0, (size_t)xb_size(w) * sizeof(float));
    w->buf = buf, w->busy = busy;
    lp_parallel_for((size_t)chunks, grain, dw_chunks, &d);
    /* the chunks' sums in order, then dweight += G^T M G (down the
     * columns, then along the rows) */
    float *M = d.part;
    for (int64_t q = 1; q < chunks; q++)
      for (int64_t e = 0; e < psize; e++) M[e] = M[e] + d.part[q * psize + e];
    for (int64_t o = 0; o < O; o++)
      for (int64_t c = 0; c < C; c++) {
        float m[4][4], r[3][4], g[3];
        for (int xi = 0; xi < 16; xi++) m[xi / 4][xi % 4] = M[(xi * w->Op + o) * w->Cp + c];
        for (int j = 0; j < 4; j++) {
          gt1(m[0][j], m[1][j], m[2][j], m[3][j], g);
          for (int i = 0; i < 3; i++) r[i][j] = g[i];
        }
        float *dw = dweight + (o * C + c) * 9;
        for (int i = 0; i < 3; i++) {
          gt1(r[i][0], r[i][1], r[i][2], r[i][3], g);
          for (int j = 0; j < 3; j++) dw[3 * i + j] += g[j];
        }
      }
  }
  for (int i = 0; buf && i < w->nbuf; i++)
    if (buf[i]) ws_put(held, i, buf[i]);
  if (d.part) ws_put(held, 65, d.part);
  free(buf), free(busy);
  if (held) pthread_mutex_unlock(&cache_mu);
  return ok;
}

#else

int lp_conv_winograd_ok(int64_t C, int64_t H, int64_t W, int64_t O, int kh, int kw, int stride,
                        int pad) {
  (void)C, (void)H, (void)W, (void)O, (void)kh, (void)kw, (void)stride, (void)pad;
  return 0;
}

int lp_conv_winograd_dweight(float *dweight, const float *dout, const float *inp, int64_t N,
                             int64_t C, int64_t H, int64_t W, int64_t O) {
  (void)dweight, (void)dout, (void)inp, (void)N, (void)C, (void)H, (void)W, (void)O;
  return 0;
}

int lp_conv_winograd_forward(float *out, const float *inp, const float *weight, const float *bias,
                             int add, int64_t N, int64_t C, int64_t H, int64_t W, int64_t O,
                             void (*after)(void *, int64_t, const float *), void *arg, int scratch) {
  (void)out, (void)inp, (void)weight, (void)bias, (void)add, (void)N, (void)C, (void)H, (void)W;
  (void)O, (void)after, (void)arg, (void)scratch;
  return 0;
}

#endif
