/* arrayfile.h — the array files other tools write: NumPy .npy and
 * safetensors. Readers take the whole file as bytes and check it strictly
 * (header bounds, schema, dtype, shape products, offsets inside the data
 * and tiling it without overlap) before anything is converted; every
 * refusal is one line in err. Plain C11, no Lua, nothing allocated by the
 * .npy reader; the safetensors reader allocates its entry list (free it
 * with lp_st_free). Both are safe on arbitrary bytes (fuzz targets). */
#ifndef LP_ARRAYFILE_H
#define LP_ARRAYFILE_H

#include <stddef.h>
#include <stdint.h>

#include "core/tensor.h"

/* One row per element type the readers accept. */
typedef enum { LP_DT_F32, LP_DT_F64, LP_DT_I32, LP_DT_I64, LP_DT_U8, LP_DT_BOOL, LP_DT_COUNT } lp_dtype;

typedef struct {
  const char *name;      /* "float32": the NumPy name, used in messages and options */
  const char *npy;       /* descr as NumPy writes it: "<f4", "|u1"            */
  const char *st;        /* safetensors dtype: "F32", "U8", "BOOL"            */
  int size;              /* bytes per element                                 */
} lp_dtype_info;

extern const lp_dtype_info lp_dtypes[LP_DT_COUNT];
/* The dtype named `name` (NumPy name), or -1. */
int lp_dtype_by_name(const char *name);

/* Elements in a tensor lpact can hold: the product of the dimensions,
 * refused past this bound (and on any multiplication overflow). */
#define LP_ARRAY_MAX_NUMEL ((int64_t)1 << 40)

/* Converts n elements of dtype dt (little-endian bytes at src) to float32.
 * Refuses (LP_ERANGE, one line in err naming the flat index) an integer
 * that float32 cannot hold exactly and a bool byte other than 0 or 1;
 * float64 rounds to nearest (NaN stays NaN). `strides` non-NULL: element
 * i of the row-major result comes from src element src_index(i) given by
 * Fortran order over shape (ndim dims). */
int lp_array_to_f32(float *dst, const unsigned char *src, lp_dtype dt, int64_t n,
                    int fortran, int ndim, const int64_t *shape, char *err, size_t errlen);
/* Writes n float32 values as dtype dt (little-endian) to dst. Refuses
 * (LP_ERANGE, naming the flat index and value) NaN, infinities, fractions
 * or out-of-range values for the integer types and values other than 0/1
 * for bool. */
int lp_array_from_f32(unsigned char *dst, const float *src, lp_dtype dt, int64_t n, char *err,
                      size_t errlen);

/* A copy of name for a one-line message: control bytes become '?',
 * at most cap - 1 bytes. */
void lp_printable(char *dst, size_t cap, const char *name);

/* ---------------------------------------------------------------- .npy */

typedef struct {
  int major, minor;      /* file format version (1.0, 2.0, 3.0)            */
  lp_dtype dtype;
  int fortran;           /* 1: column-major data                           */
  int ndim;
  int64_t shape[LP_MAXDIM];
  int64_t numel;
  size_t data_offset;    /* bytes from the start of the file to the data    */
} lp_npy_info;

/* Parses and checks a whole .npy file of len bytes: magic, version, header
 * length inside the file, the header dict (exactly the keys descr,
 * fortran_order, shape), a supported little-endian dtype, the shape's
 * product, and that the data is exactly numel * itemsize bytes. */
int lp_npy_parse(const unsigned char *buf, size_t len, lp_npy_info *info, char *err, size_t errlen);

/* Writes the .npy header (version 1.0, padded with spaces to a multiple of
 * 64 bytes, ending in '\n') for C-order data into out (cap bytes); returns
 * its length, or 0 if cap is too small. */
size_t lp_npy_header(char *out, size_t cap, lp_dtype dt, int ndim, const int64_t *shape);

/* --------------------------------------------------------- safetensors */

typedef struct {
  char *name;            /* UTF-8, owned                                   */
  lp_dtype dtype;
  int ndim;
  int64_t shape[LP_MAXDIM];
  int64_t numel;
  uint64_t begin, end;   /* byte offsets into the data section             */
} lp_st_entry;

typedef struct {
  lp_st_entry *entries;  /* in header order                                */
  int n;
  char **meta_keys, **meta_values;   /* __metadata__ (string to string)    */
  int nmeta;
  size_t data_offset;    /* 8 + header length                              */
} lp_st_file;

/* Parses and checks a whole safetensors file: the 8-byte header length
 * (inside the file, at most 100 MB), the JSON header (an object; each
 * tensor {"dtype", "shape", "data_offsets"} and nothing else; names
 * unique; an optional "__metadata__" of strings), a supported dtype, the
 * shape's product against the byte count, and offsets that tile the data
 * section from 0 to its end without overlap or gap. On success *st owns
 * memory (lp_st_free); on failure nothing is left allocated. */
int lp_st_parse(const unsigned char *buf, size_t len, lp_st_file *st, char *err, size_t errlen);
void lp_st_free(lp_st_file *st);

/* ------------------------------------------------------ .npz (zip) */

typedef struct {
  char name[256];        /* the member's file name (NUL-free, < 256 bytes)  */
  int method;            /* 0 stored, 8 deflated                           */
  uint32_t crc;          /* CRC-32 of the uncompressed bytes               */
  uint64_t data_offset;  /* where the (compressed) bytes start             */
  uint64_t csize, usize; /* compressed and uncompressed sizes              */
} lp_zip_entry;

/* Indexes a zip archive (what numpy.savez and savez_compressed write):
 * the end-of-central-directory record, every central-directory entry and
 * its local header, all inside the file; members stored or deflated, not
 * encrypted, no ZIP64, names unique, member data not overlapping, sizes a
 * deflate stream can reach. Fills up to cap entries; *n is the count. */
int lp_zip_index(const unsigned char *buf, size_t len, lp_zip_entry *entries, int cap, int *n,
                 char *err, size_t errlen);
/* Extracts entry e into out (e->usize bytes) and checks its size and CRC. */
int lp_zip_extract(const unsigned char *buf, size_t len, const lp_zip_entry *e, unsigned char *out,
                   char *err, size_t errlen);

#endif
