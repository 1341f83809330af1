/* dataset.h — readers for the data sets' file formats, and the per-example
 * arithmetic of batching (shuffling, augmentation), in plain C: no Lua.
 *
 * Every reader validates strictly and, on a problem, returns a status code
 * and writes one line into err that names the file and the problem
 * ("train.idx: wrong magic number 0x00000802 …"). Nothing here exits or
 * allocates memory that outlives a call, except an open reader, which its
 * owner closes (a binding keeps it in a userdata with __gc). */
#ifndef LP_DATASET_H
#define LP_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "core/format.h"   /* LP_OK, LP_EINVAL, LP_ENOMEM */
#include "core/tensor.h"   /* LP_MAXDIM */

enum { LP_EIO = 5 };   /* the file cannot be opened or read */

/* An IDX file (LeCun's MNIST format), plain or gzip-compressed. */
typedef struct lp_idx_file {
  void *gz;               /* gzFile; NULL when closed                       */
  char path[512];         /* for messages                                   */
  int type;               /* 0x08 u8, 0x09 i8, 0x0B i16, 0x0C i32, 0x0D f32, 0x0E f64 */
  int elsize;             /* bytes per element                              */
  int ndim;
  int64_t dims[LP_MAXDIM];
  int64_t numel;          /* product of dims                                */
} lp_idx_file;

/* Opens path and reads and checks the header (magic, type, dimensions).
 * On success f is open (close it with lp_idx_close); on error f is closed. */
int lp_idx_open(lp_idx_file *f, const char *path, char *err, size_t errlen);

/* Reads the first `count` elements (count <= f->numel) into out as floats,
 * each divided by `div` in float arithmetic ((float)v / div, as PyTorch's
 * ToTensor does for div = 255). When count == f->numel it also checks that
 * nothing follows the data. A short read is reported as truncation, a
 * corrupt gzip stream as such. */
int lp_idx_read(lp_idx_file *f, float *out, int64_t count, float div, char *err, size_t errlen);

void lp_idx_close(lp_idx_file *f);

/* CIFAR-10 binary batches: records of 1 label byte + 3072 pixel bytes
 * (1024 red, 1024 green, 1024 blue, each 32x32 row-major). */
#define LP_CIFAR_RECORD 3073

/* The number of records in a CIFAR-10 batch file (its size must be a
 * whole number of records). */
int lp_cifar_count(const char *path, int64_t *n, char *err, size_t errlen);

/* Reads the first n records of path: x (n, 3, 32, 32) pixels / div,
 * y (n) labels, each checked to be in 0..9. */
int lp_cifar_read(const char *path, int64_t n, float *x, float *y, float div,
                  char *err, size_t errlen);

/* The shuffling order of epoch `epoch`: a permutation of 0..n-1 that
 * depends only on (seed, epoch) (Fisher–Yates over lp_rand64). */
void lp_permutation(int64_t *out, int64_t n, uint64_t seed, uint64_t epoch);

/* Copies rows idx[0..count-1] of src (rows of `row` floats) into dst. */
void lp_gather_rows(float *dst, const float *src, int64_t row, const int64_t *idx, int64_t count);

/* CIFAR-style augmentation of a batch x (n, c, h, w), in place: each image
 * is padded with `pad` zero pixels on every side, cropped back to h x w at
 * a random offset, and flipped horizontally with probability 1/2 when flip
 * is set. The random choices for an image depend only on (seed, epoch,
 * id[i]) where id[i] is the example's index in the data set, so they do
 * not depend on the batch size or the thread count. */
int lp_augment_crop_flip(float *x, int64_t n, int64_t c, int64_t h, int64_t w,
                         int pad, int flip, uint64_t seed, uint64_t epoch, const int64_t *id);

/* A synthetic stand-in for Fashion-MNIST: n images (n, 1, 28, 28) in [0, 1]
 * and labels (n) in 0..9. Each class is a fixed pattern of strokes and
 * blobs (from seed), each image that pattern shifted by up to 3 pixels,
 * scaled in brightness and noised; split selects an independent stream
 * (0 train, 1 test). */
void lp_builtin_images(float *x, float *y, int64_t n, uint64_t seed, int split);

#endif
