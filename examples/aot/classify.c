/* examples/aot/classify.c - classify MNIST digits with a compiled model.
 *
 * Links mlp_mnist.o written by `gradc compile` (see README.md). If the object
 * was compiled with --embed-params, the trained params are inside it;
 * otherwise they are read from the .npy directory that
 * `gradc train --save-params DIR` writes.
 *
 *   classify IMAGES.f32 LABELS.i32 [PARAMS_DIR]
 *
 * IMAGES.f32: raw float32 [n, 784] (pixels / 255), LABELS.i32: raw int32 [n]
 * (mnist_to_raw.py writes both). Prints the first predictions and the
 * accuracy. Plain C99 + POSIX; needs only libc and libm.
 */
#define _POSIX_C_SOURCE 200112L
#include "mlp_mnist.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void die(const char *msg, const char *what) {
  fprintf(stderr, "classify: %s%s%s\n", msg, what ? ": " : "", what ? what : "");
  exit(1);
}

static void *aligned(size_t bytes) {
  void *p = NULL;
  if (posix_memalign(&p, MLP_MNIST_ALIGNMENT, bytes ? bytes : 1) != 0)
    die("out of memory", NULL);
  return p;
}

/* Reads a whole file; *bytes receives its size. */
static void *slurp(const char *path, size_t *bytes) {
  FILE *f = fopen(path, "rb");
  long n;
  void *data;
  if (!f || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
    die("cannot read", path);
  data = malloc((size_t)n + 1);
  if (!data || fread(data, 1, (size_t)n, f) != (size_t)n)
    die("cannot read", path);
  ((char *)data)[n] = 0;
  fclose(f);
  *bytes = (size_t)n;
  return data;
}

#ifndef MLP_MNIST_HAS_EMBEDDED_PARAMS
/* Reads DIR/NAME.npy (float32, little-endian, C order, `numel` elements)
 * into dst: the format of https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html */
static void load_npy(const char *dir, const char *name, float *dst, size_t numel) {
  char path[4096];
  size_t bytes, header;
  unsigned char *data, saved;
  int ok;
  snprintf(path, sizeof path, "%s/%s.npy", dir, name);
  data = slurp(path, &bytes);
  if (bytes < 10 || memcmp(data, "\x93NUMPY", 6) != 0)
    die("not an .npy file", path);
  header = data[6] == 1 ? 10u + (data[8] | (size_t)data[9] << 8)
                        : 12u + (data[8] | (size_t)data[9] << 8 | (size_t)data[10] << 16);
  if (header > bytes || bytes - header != numel * sizeof(float))
    die("wrong number of elements", path);
  saved = data[header]; /* search the header text only */
  data[header] = 0;
  ok = strstr((char *)data + 10, "'descr': '<f4'") &&
       !strstr((char *)data + 10, "'fortran_order': True");
  data[header] = saved;
  if (!ok)
    die("expected float32 in C order", path);
  memcpy(dst, data + header, numel * sizeof(float));
  free(data);
}

/* The params buffer from `gradc train --save-params` output. */
static void load_params(const char *dir, unsigned char *params) {
  memset(params, 0, MLP_MNIST_PARAMS_SIZE);
  load_npy(dir, "W1", (float *)(params + MLP_MNIST_PARAM_W1_OFFSET), MLP_MNIST_PARAM_W1_NUMEL);
  load_npy(dir, "b1", (float *)(params + MLP_MNIST_PARAM_B1_OFFSET), MLP_MNIST_PARAM_B1_NUMEL);
  load_npy(dir, "W2", (float *)(params + MLP_MNIST_PARAM_W2_OFFSET), MLP_MNIST_PARAM_W2_NUMEL);
  load_npy(dir, "b2", (float *)(params + MLP_MNIST_PARAM_B2_OFFSET), MLP_MNIST_PARAM_B2_NUMEL);
}
#endif

int main(int argc, char **argv) {
  size_t image_bytes, label_bytes;
  float *images, *logits;
  int32_t *labels;
  const void *params;
  void *workspace;
  int64_t n, i, correct = 0;
  int status;

#ifdef MLP_MNIST_HAS_EMBEDDED_PARAMS
  if (argc != 3)
    die("usage: classify IMAGES.f32 LABELS.i32 (params are embedded in the object)", NULL);
  params = mlp_mnist_embedded_params();
  printf("params: embedded in the object\n");
#else
  unsigned char *loaded;
  if (argc != 4)
    die("usage: classify IMAGES.f32 LABELS.i32 PARAMS_DIR", NULL);
  loaded = aligned(MLP_MNIST_PARAMS_SIZE);
  load_params(argv[3], loaded);
  params = loaded;
  printf("params: loaded from %s\n", argv[3]);
#endif
  if (mlp_mnist_abi_version() != MLP_MNIST_ABI_VERSION)
    die("the object and the header have different ABI versions", NULL);

  images = slurp(argv[1], &image_bytes);
  labels = slurp(argv[2], &label_bytes);
  n = (int64_t)(label_bytes / sizeof(int32_t));
  if (n < 1 || image_bytes != MLP_MNIST_X_NUMEL(n) * sizeof(float))
    die("IMAGES.f32 must hold 784 floats per label in LABELS.i32", argv[1]);

  /* One call classifies the whole batch. */
  workspace = aligned(MLP_MNIST_INFER_WORKSPACE_SIZE(n));
  logits = malloc(MLP_MNIST_LOGITS_NUMEL(n) * sizeof(float));
  if (!logits)
    die("out of memory", NULL);
  status = mlp_mnist_infer(params, workspace, n, images, logits);
  if (status != MLP_MNIST_OK) {
    fprintf(stderr, "classify: mlp_mnist_infer failed with status %d\n", status);
    return 1;
  }
  for (i = 0; i < n; ++i) {
    const float *row = logits + i * 10;
    int best = 0, k;
    for (k = 1; k < 10; ++k)
      if (row[k] > row[best])
        best = k;
    correct += best == labels[i];
    if (i < 10)
      printf("digit %2d: predicted %d, label %d%s\n", (int)i, best, (int)labels[i],
             best == labels[i] ? "" : "  <- wrong");
  }
  printf("accuracy: %.2f%% (%lld of %lld digits)\n", 100.0 * (double)correct / (double)n,
         (long long)correct, (long long)n);
  return 0;
}
