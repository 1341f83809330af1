/* tensor.h — float32 N-dimensional tensors: a small header pointing to
 * reference-counted storage. Views (reshape, slices, transposes) share the
 * storage and hold a reference. Plain C11, no Lua. */
#ifndef LP_TENSOR_H
#define LP_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#define LP_MAXDIM 8

typedef struct lp_storage {
  float *data;          /* owned; 64-byte aligned                          */
  size_t size;          /* elements                                        */
  long refs;            /* headers (and other owners) holding it           */
} lp_storage;

typedef struct lp_tensor {
  lp_storage *st;       /* one reference owned by this header; NULL: empty */
  size_t offset;        /* elements into st->data                          */
  int ndim;             /* 0 .. LP_MAXDIM                                  */
  int64_t shape[LP_MAXDIM];
  int64_t stride[LP_MAXDIM];  /* in elements                               */
} lp_tensor;

/* Storage: lp_storage_new returns refs = 1 (NULL on out of memory). */
lp_storage *lp_storage_new(size_t n, int zero);
void lp_storage_retain(lp_storage *s);
void lp_storage_release(lp_storage *s);   /* frees at refs == 0; NULL ok */

/* Makes t a new contiguous tensor of this shape (status LP_OK/LP_ENOMEM).
 * t must be empty (st == NULL). */
int lp_tensor_init(lp_tensor *t, int ndim, const int64_t *shape, int zero);
/* Makes t a view of src (sharing and retaining its storage). */
void lp_tensor_view(lp_tensor *t, const lp_tensor *src);
void lp_tensor_free(lp_tensor *t);          /* releases; t becomes empty */

int64_t lp_tensor_numel(const lp_tensor *t);
int lp_tensor_is_contiguous(const lp_tensor *t);
/* Creation, copies and queries used by the kernels and the bindings. */
void lp_tensor_set_contiguous_strides(lp_tensor *t);
int lp_tensor_same_shape(const lp_tensor *a, const lp_tensor *b);
/* 1 when writing dst elementwise may change what src still has to be read
 * for: the same storage, intersecting element ranges, and not the very same
 * view (same offset, shape and strides). Conservative: two interleaved
 * slices that share no element but whose ranges cross count as overlapping. */
int lp_tensor_overlaps(const lp_tensor *dst, const lp_tensor *src);
/* Writes "(2, 3)" ("(5,)" for 1-D) into buf; returns the length. */
int lp_shape_str(char *buf, size_t n, int ndim, const int64_t *shape);
/* Offset from lp_tensor_data(t) of the flat row-major logical index i. */
int64_t lp_tensor_offset_of(const lp_tensor *t, int64_t i);
/* Copies src into dst (same numel) in logical order, any strides. */
void lp_tensor_copy(lp_tensor *dst, const lp_tensor *src);
/* The storage cache: frees the cached buffers; reports bytes. */
void lp_storage_trim(void);
void lp_storage_stats(size_t *live, size_t *peak, size_t *cached);

static inline float *lp_tensor_data(const lp_tensor *t) {
  return t->st ? t->st->data + t->offset : NULL;
}

#endif
