/* winograd_ref.h — the F(2x2, 3x3) convolutions of conv_winograd.h
 * written from the header's formulas one tile and one output at a time in
 * scalar code (no vectors, no bands, no channels-last buffers), the
 * convolution summed in double, and a seeded generator: shared by
 * tests/c/conv_winograd.c and tests/c/conv_winograd_random.c. */
#ifndef LP_WINOGRAD_REF_H
#define LP_WINOGRAD_REF_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  int64_t N, C, H, W, O;
} shape;

static unsigned seed = 777;
static inline float *randv(int64_t n) {
  float *v = malloc((size_t)(n > 0 ? n : 1) * sizeof *v);
  for (int64_t i = 0; i < n; i++) {
    seed = seed * 1103515245u + 12345u;
    v[i] = (float)((seed >> 8) & 0xffff) / 32768.0f - 1.0f;
  }
  return v;
}

/* the three 1-D transforms of conv_winograd.h */
static inline void g1(float g0, float g1_, float g2, float w[4]) {
  w[0] = g0;
  w[1] = ((g0 + g1_) + g2) * 0.5f;
  w[2] = ((g0 - g1_) + g2) * 0.5f;
  w[3] = g2;
}
static inline void b1(float d0, float d1, float d2, float d3, float e[4]) {
  e[0] = d0 - d2;
  e[1] = d1 + d2;
  e[2] = d2 - d1;
  e[3] = d1 - d3;
}
static inline void a1(float m0, float m1, float m2, float m3, float r[2]) {
  r[0] = (m0 + m1) + m2;
  r[1] = (m1 - m2) - m3;
}

/* V[c][xi] = B^T d B of tile (ti, tj) of sample n, for every channel c
 * (d: the tile's 4x4 inputs from row 2 ti - 1 and column 2 tj - 1, +0
 * outside the plane; down the columns, then along the rows) */
static inline void ref_tile_v(float *V, const float *x, shape s, int64_t n, int64_t ti, int64_t tj) {
  const int64_t P = s.H * s.W;
  for (int64_t c = 0; c < s.C; c++) {
    float d[4][4], e[4][4], r[4];
    for (int a = 0; a < 4; a++)
      for (int b = 0; b < 4; b++) {
        int64_t i = 2 * ti - 1 + a, j = 2 * tj - 1 + b;
        d[a][b] = i >= 0 && i < s.H && j >= 0 && j < s.W ? x[(n * s.C + c) * P + i * s.W + j] : 0.0f;
      }
    for (int b = 0; b < 4; b++) {
      b1(d[0][b], d[1][b], d[2][b], d[3][b], r);
      for (int a = 0; a < 4; a++) e[a][b] = r[a];
    }
    for (int a = 0; a < 4; a++) {
      b1(e[a][0], e[a][1], e[a][2], e[a][3], r);
      for (int b = 0; b < 4; b++) V[c * 16 + 4 * a + b] = r[b];
    }
  }
}

/* out = conv(x, w) + bias by the definition (add: out += conv) */
static inline void ref_forward(float *out, const float *x, const float *w, const float *bias, int add, shape s) {
  const int64_t P = s.H * s.W, th = (s.H + 1) / 2, tw = (s.W + 1) / 2;
  float *U = malloc((size_t)(16 * s.C * s.O) * sizeof *U);   /* U[o][c][xi] */
  for (int64_t o = 0; o < s.O; o++)
    for (int64_t c = 0; c < s.C; c++) {
      const float *g = w + (o * s.C + c) * 9;
      float t[4][3], r[4];
      for (int j = 0; j < 3; j++) {   /* down the columns */
        g1(g[j], g[3 + j], g[6 + j], r);
        for (int a = 0; a < 4; a++) t[a][j] = r[a];
      }
      for (int a = 0; a < 4; a++) {   /* along the rows */
        g1(t[a][0], t[a][1], t[a][2], r);
        for (int b = 0; b < 4; b++) U[(o * s.C + c) * 16 + 4 * a + b] = r[b];
      }
    }
  float *V = malloc((size_t)(16 * s.C) * sizeof *V);   /* one tile's V[c][xi] */
  for (int64_t n = 0; n < s.N; n++)
    for (int64_t ti = 0; ti < th; ti++)
      for (int64_t tj = 0; tj < tw; tj++) {
        ref_tile_v(V, x, s, n, ti, tj);
        for (int64_t o = 0; o < s.O; o++) {
          float M[16], sm[2][4], y[2][2], r[2];
          for (int xi = 0; xi < 16; xi++) {
            float m = 0.0f;
            for (int64_t c = 0; c < s.C; c++) m = fmaf(V[c * 16 + xi], U[(o * s.C + c) * 16 + xi], m);
            M[xi] = m;
          }
          for (int j = 0; j < 4; j++) {
            a1(M[j], M[4 + j], M[8 + j], M[12 + j], r);
            sm[0][j] = r[0], sm[1][j] = r[1];
          }
          for (int a = 0; a < 2; a++) a1(sm[a][0], sm[a][1], sm[a][2], sm[a][3], y[a]);
          for (int a = 0; a < 2; a++)
            for (int b = 0; b < 2; b++) {
              int64_t i = 2 * ti + a, j = 2 * tj + b;
              if (i >= s.H || j >= s.W) continue;
              float *yo = out + (n * s.O + o) * P + i * s.W + j;
              *yo = add ? *yo + y[a][b] : (bias ? bias[o] : 0.0f) + y[a][b];
            }
        }
      }
  free(U), free(V);
}

/* dweight += the weight gradient by the definition (conv_winograd.h):
 * per point xi, fma chains over the tiles of 8 samples at a time, the
 * chunks added in order, then G^T M G */
static inline void ref_dweight(float *dw, const float *dy, const float *x, shape s) {
  const int64_t P = s.H * s.W, th = (s.H + 1) / 2, tw = (s.W + 1) / 2;
  const int64_t chunks = (s.N + 7) / 8;
  float *part = calloc((size_t)(chunks * 16 * s.O * s.C), sizeof *part);   /* [q][o][c][xi] */
  float *Vt = malloc((size_t)(s.C * 16) * sizeof *Vt), *Dt = malloc((size_t)(s.O * 16) * sizeof *Dt);
  for (int64_t n = 0; n < s.N; n++)
    for (int64_t ti = 0; ti < th; ti++)
      for (int64_t tj = 0; tj < tw; tj++) {
        ref_tile_v(Vt, x, s, n, ti, tj);
        for (int64_t o = 0; o < s.O; o++) {
          float g[2][2], e[4][2];
          for (int a = 0; a < 2; a++)
            for (int b = 0; b < 2; b++) {
              int64_t i = 2 * ti + a, j = 2 * tj + b;
              g[a][b] = i < s.H && j < s.W ? dy[(n * s.O + o) * P + i * s.W + j] : 0.0f;
            }
          for (int b = 0; b < 2; b++) {   /* (y0, y1) -> (y0, y0 + y1, y0 - y1, -y1), columns */
            e[0][b] = g[0][b], e[1][b] = g[0][b] + g[1][b], e[2][b] = g[0][b] - g[1][b], e[3][b] = -g[1][b];
          }
          for (int a = 0; a < 4; a++) {   /* then rows */
            float *dt = Dt + o * 16 + 4 * a;
            dt[0] = e[a][0], dt[1] = e[a][0] + e[a][1], dt[2] = e[a][0] - e[a][1], dt[3] = -e[a][1];
          }
        }
        float *pq = part + (n / 8) * 16 * s.O * s.C;
        for (int64_t o = 0; o < s.O; o++)
          for (int64_t c = 0; c < s.C; c++)
            for (int xi = 0; xi < 16; xi++) {
              float *acc = pq + (o * s.C + c) * 16 + xi;
              *acc = fmaf(Dt[o * 16 + xi], Vt[c * 16 + xi], *acc);
            }
      }
  for (int64_t q = 1; q < chunks; q++)
    for (int64_t e = 0; e < 16 * s.O * s.C; e++) part[e] = part[e] + part[q * 16 * s.O * s.C + e];
  for (int64_t o = 0; o < s.O; o++)
    for (int64_t c = 0; c < s.C; c++) {
      const float *m = part + (o * s.C + c) * 16;
      float r[3][4];
      for (int j = 0; j < 4; j++) {
        float m1 = m[4 + j], m2 = m[8 + j];
        r[0][j] = m[j] + (m1 + m2) * 0.5f, r[1][j] = (m1 - m2) * 0.5f, r[2][j] = (m1 + m2) * 0.5f + m[12 + j];
      }
      for (int i = 0; i < 3; i++) {
        float *wd = dw + (o * s.C + c) * 9 + 3 * i;
        float m1 = r[i][1], m2 = r[i][2];
        wd[0] += r[i][0] + (m1 + m2) * 0.5f;
        wd[1] += (m1 - m2) * 0.5f;
        wd[2] += (m1 + m2) * 0.5f + r[i][3];
      }
    }
  free(part), free(Vt), free(Dt);
}

/* the largest |dw - exact| / sum |terms| over the weights (dw0: what
 * dw held before) */
static inline double err_dweight(const float *dw, const float *dw0, const float *dy, const float *x, shape s) {
  const int64_t P = s.H * s.W;
  double worst = 0;
  for (int64_t o = 0; o < s.O; o++)
    for (int64_t c = 0; c < s.C; c++)
      for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++) {
          double sum = 0, mag = 0;
          for (int64_t n = 0; n < s.N; n++)
            for (int64_t i = 0; i < s.H; i++)
              for (int64_t j = 0; j < s.W; j++) {
                int64_t ii = i + a - 1, jj = j + b - 1;
                if (ii < 0 || ii >= s.H || jj < 0 || jj >= s.W) continue;
                double t = (double)dy[(n * s.O + o) * P + i * s.W + j] * x[(n * s.C + c) * P + ii * s.W + jj];
                sum += t, mag += fabs(t);
              }
          int64_t k = (o * s.C + c) * 9 + a * 3 + b;
          double e = fabs((double)dw[k] - dw0[k] - sum) / (mag > 0 ? mag : 1);
          if (!(e <= worst)) worst = e;
        }
  return worst;
}

/* the largest |y - exact| / sum |terms| (plus bias) over the outputs */
static inline double err_double(const float *y, const float *x, const float *w, const float *bias, shape s) {
  const int64_t P = s.H * s.W;
  double worst = 0;
  for (int64_t n = 0; n < s.N; n++)
    for (int64_t o = 0; o < s.O; o++)
      for (int64_t i = 0; i < s.H; i++)
        for (int64_t j = 0; j < s.W; j++) {
          double sum = bias ? bias[o] : 0, mag = bias ? fabs(bias[o]) : 0;
          for (int64_t c = 0; c < s.C; c++)
            for (int a = 0; a < 3; a++)
              for (int b = 0; b < 3; b++) {
                int64_t ii = i + a - 1, jj = j + b - 1;
                if (ii < 0 || ii >= s.H || jj < 0 || jj >= s.W) continue;
                double t = (double)w[((o * s.C + c) * 3 + a) * 3 + b] * x[(n * s.C + c) * P + ii * s.W + jj];
                sum += t, mag += fabs(t);
              }
          double e = fabs(y[(n * s.O + o) * P + i * s.W + j] - sum) / (mag > 0 ? mag : 1);
          if (!(e <= worst)) worst = e;
        }
  return worst;
}

static inline int same_bits(const float *a, const float *b, int64_t n) {
  return memcmp(a, b, (size_t)n * sizeof *a) == 0;
}

#endif
