/* dataset_core.c — the data readers and batching arithmetic of
 * core/dataset.c, without Lua: IDX parsing and its refusals, CIFAR-10
 * record counting, permutations, augmentation, the built-in images. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/dataset.h"
#include "tap.h"

static char dir[] = "/tmp/lpact-dataset-XXXXXX";

static const char *write_file(const char *name, const unsigned char *b, size_t n) {
  static char path[256];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  if (!f) return NULL;
  fwrite(b, 1, n, f);
  fclose(f);
  return path;
}

int main(void) {
  if (!mkdtemp(dir)) { printf("1..0 # SKIP no temporary folder\n"); return 0; }
  char err[512];

  /* A 2 x 3 u8 file: 00 00 08 02, dims 2 and 3, bytes 0 10 20 30 40 250. */
  unsigned char idx[4 + 8 + 6] = {0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 3, 0, 10, 20, 30, 40, 250};
  const char *p = write_file("a.idx", idx, sizeof idx);
  lp_idx_file f;
  int st = lp_idx_open(&f, p, err, sizeof err);
  tap_ok(st == LP_OK && f.ndim == 2 && f.dims[0] == 2 && f.dims[1] == 3 && f.numel == 6, "header: 2 x 3 u8");
  float out[6];
  st = lp_idx_read(&f, out, 6, 255.0f, err, sizeof err);
  tap_ok(st == LP_OK && out[0] == 0.0f && out[1] == 10.0f / 255.0f && out[5] == 250.0f / 255.0f,
         "values divided by 255 in float");
  lp_idx_close(&f);
  tap_ok(f.gz == NULL, "closed");

  idx[2] = 7;
  p = write_file("b.idx", idx, sizeof idx);
  st = lp_idx_open(&f, p, err, sizeof err);
  tap_ok(st == LP_EINVAL && strstr(err, "b.idx: wrong magic number 0x00000702") != NULL, "type 07 refused: %s", err);
  tap_ok(f.gz == NULL, "a refused file is left closed");
  idx[2] = 8;
  p = write_file("c.idx", idx, sizeof idx - 1);
  st = lp_idx_open(&f, p, err, sizeof err);
  tap_ok(st == LP_EINVAL && strstr(err, "truncated: the header declares 2x3 = 6 bytes of data, the file holds 5"),
         "cut file refused at open: %s", err);
  st = lp_idx_open(&f, "/nonexistent/x.idx", err, sizeof err);
  tap_ok(st == LP_EIO && strstr(err, "/nonexistent/x.idx: cannot open") == err, "missing file: %s", err);

  /* CIFAR: sizes that are not whole records. */
  unsigned char rec[LP_CIFAR_RECORD * 2] = {0};
  rec[0] = 3;
  rec[LP_CIFAR_RECORD] = 9;
  int64_t n = 0;
  p = write_file("c.bin", rec, sizeof rec);
  tap_ok(lp_cifar_count(p, &n, err, sizeof err) == LP_OK && n == 2, "two CIFAR records");
  float x[2 * 3072], y[2];
  tap_ok(lp_cifar_read(p, 2, x, y, 1.0f, err, sizeof err) == LP_OK && y[0] == 3 && y[1] == 9, "labels 3 and 9");
  p = write_file("d.bin", rec, sizeof rec - 1);
  tap_ok(lp_cifar_count(p, &n, err, sizeof err) == LP_EINVAL && strstr(err, "6145 bytes is not a whole number"), "cut CIFAR file: %s", err);

  /* Permutations: each n from 0 to 200 gives every index exactly once. */
  int all = 1;
  for (int64_t m = 0; m <= 200; m++) {
    int64_t perm[200];
    char seen[200] = {0};
    lp_permutation(perm, m, 42, (uint64_t)m);
    for (int64_t i = 0; i < m; i++) {
      if (perm[i] < 0 || perm[i] >= m || seen[perm[i]]) all = 0;
      else seen[perm[i]] = 1;
    }
  }
  tap_ok(all, "permutations of 0..200 elements are permutations");
  int64_t p1[50], p2[50];
  lp_permutation(p1, 50, 7, 3);
  lp_permutation(p2, 50, 7, 3);
  tap_ok(memcmp(p1, p2, sizeof p1) == 0, "same seed and epoch: same permutation");
  lp_permutation(p2, 50, 7, 4);
  tap_ok(memcmp(p1, p2, sizeof p1) != 0, "another epoch: another permutation");

  /* Augmentation with pad 0 and no flip is the identity; with a flip
   * decided for each image, a flipped image is the mirror. */
  float img[2 * 1 * 3 * 4], ref[2 * 1 * 3 * 4];
  for (int i = 0; i < 24; i++) img[i] = ref[i] = (float)(i + 1);
  int64_t ids[2] = {0, 1};
  lp_augment_crop_flip(img, 2, 1, 3, 4, 0, 0, 1, 1, ids);
  tap_ok(memcmp(img, ref, sizeof img) == 0, "pad 0, no flip: identity");
  int mirrored = 1, flips = 0;
  for (uint64_t seed = 0; seed < 20; seed++) {
    memcpy(img, ref, sizeof img);
    lp_augment_crop_flip(img, 2, 1, 3, 4, 0, 1, seed, 0, ids);
    for (int k = 0; k < 2; k++) {
      int same = memcmp(img + 12 * k, ref + 12 * k, 12 * sizeof(float)) == 0;
      if (!same) {
        flips++;
        for (int r = 0; r < 3; r++)
          for (int c = 0; c < 4; c++)
            if (img[12 * k + 4 * r + c] != ref[12 * k + 4 * r + 3 - c]) mirrored = 0;
      }
    }
  }
  tap_ok(mirrored && flips > 5 && flips < 35, "pad 0 with flip: images are kept or mirrored (%d of 40 mirrored)", flips);

  /* The built-in images: deterministic, in range, ten classes. */
  float *bx = malloc(sizeof(float) * 200 * 784), *by = malloc(sizeof(float) * 200);
  float *bx2 = malloc(sizeof(float) * 200 * 784), *by2 = malloc(sizeof(float) * 200);
  lp_builtin_images(bx, by, 200, 5, 0);
  lp_builtin_images(bx2, by2, 200, 5, 0);
  int range = 1, classes[10] = {0};
  for (int i = 0; i < 200 * 784; i++) if (!(bx[i] >= 0.0f && bx[i] <= 1.0f)) range = 0;
  for (int i = 0; i < 200; i++) {
    if (by[i] >= 0 && by[i] <= 9) classes[(int)by[i]]++;
    else range = 0;
  }
  int present = 1;
  for (int k = 0; k < 10; k++) if (classes[k] == 0) present = 0;
  tap_ok(range && present, "pixels in [0, 1], labels 0..9, every class present");
  tap_ok(memcmp(bx, bx2, sizeof(float) * 200 * 784) == 0 && memcmp(by, by2, sizeof(float) * 200) == 0,
         "deterministic");
  free(bx); free(by); free(bx2); free(by2);

  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0) tap_diag("could not remove %s", dir);
  return tap_done();
}
