/* tensor.c — float32 N-dimensional tensors: reference-counted storage,
 * views, strided copies and the storage cache.
 *
 * Storage buffers are 64-byte aligned. Freed buffers go to a small cache
 * keyed by exact size (training asks for the same sizes every batch), so
 * a step does not page-fault fresh memory from the kernel each time. The
 * cache is guarded by a mutex: storage may be made or released from any
 * thread, although the bindings only do it from the Lua thread. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/format.h"
#include "core/tensor.h"

/* ---- storage cache ------------------------------------------------------ */

#define CACHE_SLOTS 64
#define CACHE_MAX_BYTES ((size_t)96 << 20)   /* all cached buffers      */
#define CACHE_MAX_ONE ((size_t)32 << 20)     /* one buffer: larger ones are freed */

static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;
static struct { float *data; size_t cap; } cache[CACHE_SLOTS];
static int cache_n = 0;
static size_t cache_bytes = 0;
static size_t live_bytes = 0, peak_bytes = 0;

/* Capacity in elements actually allocated for n (rounded to 64 bytes). */
static size_t cap_for(size_t n) {
  size_t c = (n + 15) & ~(size_t)15;
  return c ? c : 16;
}

static float *cache_take(size_t cap) {
  float *p = NULL;
  pthread_mutex_lock(&cache_mu);
  for (int i = cache_n - 1; i >= 0; i--) {
    if (cache[i].cap == cap) {
      p = cache[i].data;
      cache_bytes -= cap * sizeof(float);
      cache[i] = cache[--cache_n];
      break;
    }
  }
  live_bytes += cap * sizeof(float);   /* counted now; undone on failure */
  if (live_bytes > peak_bytes) peak_bytes = live_bytes;
  pthread_mutex_unlock(&cache_mu);
  return p;
}

static void cache_give(float *p, size_t cap) {
  size_t bytes = cap * sizeof(float);
  pthread_mutex_lock(&cache_mu);
  live_bytes -= bytes;
  if (bytes > CACHE_MAX_ONE) {
    pthread_mutex_unlock(&cache_mu);
    free(p);
    return;
  }
  /* Evict the oldest entries until the new one fits. */
  while (cache_n > 0 && (cache_n == CACHE_SLOTS || cache_bytes + bytes > CACHE_MAX_BYTES)) {
    free(cache[0].data);
    cache_bytes -= cache[0].cap * sizeof(float);
    memmove(cache, cache + 1, (size_t)(cache_n - 1) * sizeof cache[0]);
    cache_n--;
  }
  if (bytes <= CACHE_MAX_BYTES) {
    cache[cache_n].data = p;
    cache[cache_n].cap = cap;
    cache_n++;
    cache_bytes += bytes;
    p = NULL;
  }
  pthread_mutex_unlock(&cache_mu);
  free(p);
}

void lp_storage_trim(void) {
  pthread_mutex_lock(&cache_mu);
  for (int i = 0; i < cache_n; i++) free(cache[i].data);
  cache_n = 0;
  cache_bytes = 0;
  pthread_mutex_unlock(&cache_mu);
}

void lp_storage_stats(size_t *live, size_t *peak, size_t *cached) {
  pthread_mutex_lock(&cache_mu);
  if (live) *live = live_bytes;
  if (peak) *peak = peak_bytes;
  if (cached) *cached = cache_bytes;
  pthread_mutex_unlock(&cache_mu);
}

/* ---- storage ------------------------------------------------------------ */

lp_storage *lp_storage_new(size_t n, int zero) {
  lp_storage *s = malloc(sizeof *s);
  if (s == NULL) return NULL;
  size_t cap = cap_for(n);
  if (cap > SIZE_MAX / sizeof(float)) { free(s); return NULL; }
  float *p = cache_take(cap);
  if (p == NULL) {
    p = aligned_alloc(64, cap * sizeof(float));
    if (p == NULL) {
      pthread_mutex_lock(&cache_mu);
      live_bytes -= cap * sizeof(float);
      pthread_mutex_unlock(&cache_mu);
      free(s);
      return NULL;
    }
  }
  if (zero) memset(p, 0, n * sizeof(float));
  s->data = p;
  s->size = n;
  s->refs = 1;
  return s;
}

void lp_storage_retain(lp_storage *s) {
  if (s) s->refs++;
}

void lp_storage_release(lp_storage *s) {
  if (s == NULL || --s->refs > 0) return;
  cache_give(s->data, cap_for(s->size));
  free(s);
}

/* ---- tensors ------------------------------------------------------------ */

void lp_tensor_set_contiguous_strides(lp_tensor *t) {
  int64_t st = 1;
  for (int d = t->ndim - 1; d >= 0; d--) {
    t->stride[d] = st;
    st *= t->shape[d];
  }
}

int lp_tensor_init(lp_tensor *t, int ndim, const int64_t *shape, int zero) {
  int64_t n = 1;
  if (ndim < 0 || ndim > LP_MAXDIM) return LP_EINVAL;
  for (int d = 0; d < ndim; d++) {
    if (shape[d] < 0) return LP_EINVAL;
    if (shape[d] > 0 && n > INT64_MAX / shape[d]) return LP_ENOMEM;
    n *= shape[d];
  }
  lp_storage *s = lp_storage_new((size_t)n, zero);
  if (s == NULL) return LP_ENOMEM;
  t->st = s;
  t->offset = 0;
  t->ndim = ndim;
  for (int d = 0; d < ndim; d++) t->shape[d] = shape[d];
  lp_tensor_set_contiguous_strides(t);
  return LP_OK;
}

void lp_tensor_view(lp_tensor *t, const lp_tensor *src) {
  lp_storage_retain(src->st);
  *t = *src;
}

void lp_tensor_free(lp_tensor *t) {
  lp_storage *s = t->st;
  t->st = NULL;
  t->offset = 0;
  lp_storage_release(s);
}

int64_t lp_tensor_numel(const lp_tensor *t) {
  int64_t n = 1;
  for (int d = 0; d < t->ndim; d++) n *= t->shape[d];
  return n;
}

int lp_tensor_is_contiguous(const lp_tensor *t) {
  int64_t st = 1;
  for (int d = t->ndim - 1; d >= 0; d--) {
    if (t->shape[d] != 1 && t->stride[d] != st) return 0;
    st *= t->shape[d];
  }
  return 1;
}

int lp_tensor_same_shape(const lp_tensor *a, const lp_tensor *b) {
  if (a->ndim != b->ndim) return 0;
  for (int d = 0; d < a->ndim; d++)
    if (a->shape[d] != b->shape[d]) return 0;
  return 1;
}

/* The first and last element (offsets into the storage) that t can reach. */
static void element_span(const lp_tensor *t, int64_t *lo, int64_t *hi) {
  int64_t a = (int64_t)t->offset, b = (int64_t)t->offset;
  for (int d = 0; d < t->ndim; d++) {
    int64_t reach = t->stride[d] * (t->shape[d] - 1);
    if (reach < 0) a += reach;
    else b += reach;
  }
  *lo = a;
  *hi = b;
}

int lp_tensor_overlaps(const lp_tensor *dst, const lp_tensor *src) {
  if (dst->st == NULL || dst->st != src->st) return 0;
  if (lp_tensor_numel(dst) == 0 || lp_tensor_numel(src) == 0) return 0;
  /* the very same view: element i is read where it is written, so an
   * elementwise op is safe (a:add_(a)) */
  if (dst->offset == src->offset && lp_tensor_same_shape(dst, src) &&
      memcmp(dst->stride, src->stride, (size_t)dst->ndim * sizeof *dst->stride) == 0)
    return 0;
  int64_t dlo, dhi, slo, shi;
  element_span(dst, &dlo, &dhi);
  element_span(src, &slo, &shi);
  return dlo <= shi && slo <= dhi;
}

int lp_shape_str(char *buf, size_t n, int ndim, const int64_t *shape) {
  size_t k = 0;
  int w = snprintf(buf, n, "(");
  k += (size_t)(w > 0 ? w : 0);
  for (int d = 0; d < ndim && k < n; d++) {
    w = snprintf(buf + k, n - k, d ? ", %lld" : "%lld", (long long)shape[d]);
    k += (size_t)(w > 0 ? w : 0);
  }
  if (k < n) {
    w = snprintf(buf + k, n - k, ndim == 1 ? ",)" : ")");
    k += (size_t)(w > 0 ? w : 0);
  }
  return (int)k;
}

/* Element offset (from the tensor's data pointer) of the flat, row-major
 * logical index i. */
int64_t lp_tensor_offset_of(const lp_tensor *t, int64_t i) {
  int64_t off = 0;
  for (int d = t->ndim - 1; d >= 0; d--) {
    int64_t sz = t->shape[d];
    if (sz == 0) return 0;
    off += (i % sz) * t->stride[d];
    i /= sz;
  }
  return off;
}

/* dst and src have the same number of elements; copies in logical
 * (row-major) order whatever the strides. */
void lp_tensor_copy(lp_tensor *dst, const lp_tensor *src) {
  int64_t n = lp_tensor_numel(src);
  float *o = lp_tensor_data(dst);
  const float *a = lp_tensor_data(src);
  if (n == 0) return;
  if (lp_tensor_is_contiguous(dst) && lp_tensor_is_contiguous(src)) {
    memmove(o, a, (size_t)n * sizeof(float));
    return;
  }
  if (lp_tensor_is_contiguous(dst)) {
    /* Walk src with an index counter; the last dimension is the inner loop. */
    int nd = src->ndim;
    int64_t idx[LP_MAXDIM] = {0};
    int64_t inner = nd ? src->shape[nd - 1] : 1, is = nd ? src->stride[nd - 1] : 1;
    int64_t outer = n / inner, k = 0;
    for (int64_t r = 0; r < outer; r++) {
      int64_t off = 0;
      for (int d = 0; d < nd - 1; d++) off += idx[d] * src->stride[d];
      for (int64_t j = 0; j < inner; j++) o[k++] = a[off + j * is];
      for (int d = nd - 2; d >= 0; d--) {
        if (++idx[d] < src->shape[d]) break;
        idx[d] = 0;
      }
    }
    return;
  }
  for (int64_t i = 0; i < n; i++)
    o[lp_tensor_offset_of(dst, i)] = a[lp_tensor_offset_of(src, i)];
}
