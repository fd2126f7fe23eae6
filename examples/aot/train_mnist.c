/* examples/aot/train_mnist.c - train the MNIST MLP from scratch in plain C.
 *
 * Links mlp_mnist.o written by `gradc compile` with the training entry
 * (see README.md): the params come from the model's seeded initializers
 * (mlp_mnist_init_params, the values `gradc train` starts from), every step
 * (forward, backward, SGD update) is one call of mlp_mnist_train_step.
 *
 *   train_mnist DATA_DIR [EPOCHS] [SEED]
 *
 * DATA_DIR holds the raw files mnist_to_raw.py writes. Prints the mean loss
 * every 25 steps and the test accuracy after every epoch. Batches are taken
 * in order (no shuffling), batch 64, learning rate 0.1, as in the model.
 */
#define _POSIX_C_SOURCE 200112L
#include "mlp_mnist.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { kBatch = 64, kReportEvery = 25 };
static const double kLearningRate = 0.1;

static void die(const char *msg, const char *what) {
  fprintf(stderr, "train_mnist: %s%s%s\n", msg, what ? ": " : "", what ? what : "");
  exit(1);
}

static void *aligned(size_t bytes) {
  void *p = NULL;
  if (posix_memalign(&p, MLP_MNIST_ALIGNMENT, bytes ? bytes : 1) != 0)
    die("out of memory", NULL);
  return p;
}

/* Reads DIR/NAME into a new buffer; returns its size in bytes. */
static size_t slurp(const char *dir, const char *name, void **out) {
  char path[4096];
  FILE *f;
  long n;
  snprintf(path, sizeof path, "%s/%s", dir, name);
  f = fopen(path, "rb");
  if (!f || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
    die("cannot read", path);
  *out = malloc((size_t)n + 1);
  if (!*out || fread(*out, 1, (size_t)n, f) != (size_t)n)
    die("cannot read", path);
  fclose(f);
  return (size_t)n;
}

/* Fraction of the test digits the current params classify correctly. */
static double accuracy(const void *params, const float *images, const int32_t *labels,
                       int64_t n) {
  void *workspace = aligned(MLP_MNIST_INFER_WORKSPACE_SIZE(n));
  float *logits = malloc(MLP_MNIST_LOGITS_NUMEL(n) * sizeof(float));
  int64_t i, correct = 0;
  if (!logits)
    die("out of memory", NULL);
  if (mlp_mnist_infer(params, workspace, n, images, logits) != MLP_MNIST_OK)
    die("mlp_mnist_infer failed", NULL);
  for (i = 0; i < n; ++i) {
    int best = 0, k;
    for (k = 1; k < 10; ++k)
      if (logits[i * 10 + k] > logits[i * 10 + best])
        best = k;
    correct += best == labels[i];
  }
  free(logits);
  free(workspace);
  return (double)correct / (double)n;
}

int main(int argc, char **argv) {
  void *train_x, *train_y, *test_x, *test_y, *params, *opt_state, *workspace;
  int64_t n_train, n_test, steps_per_epoch, step = 0;
  int epochs, epoch;
  unsigned long long seed;
  double loss_sum = 0;

  if (argc < 2 || argc > 4)
    die("usage: train_mnist DATA_DIR [EPOCHS] [SEED]", NULL);
  epochs = argc > 2 ? atoi(argv[2]) : 1;
  seed = argc > 3 ? strtoull(argv[3], NULL, 10) : 1;
  n_train = (int64_t)(slurp(argv[1], "train-labels.i32", &train_y) / sizeof(int32_t));
  n_test = (int64_t)(slurp(argv[1], "test-labels.i32", &test_y) / sizeof(int32_t));
  if (slurp(argv[1], "train-images.f32", &train_x) != MLP_MNIST_X_NUMEL(n_train) * sizeof(float) ||
      slurp(argv[1], "test-images.f32", &test_x) != MLP_MNIST_X_NUMEL(n_test) * sizeof(float))
    die("image and label files do not match", argv[1]);
  steps_per_epoch = n_train / kBatch; /* the last partial batch is dropped */
  if (steps_per_epoch < 1 || n_test < 1)
    die("not enough digits", argv[1]);

  /* All state in our buffers: params, optimizer state, one workspace. */
  params = aligned(MLP_MNIST_PARAMS_SIZE);
  opt_state = aligned(MLP_MNIST_OPT_STATE_SIZE);
  memset(opt_state, 0, MLP_MNIST_OPT_STATE_SIZE);
  workspace = aligned(MLP_MNIST_TRAIN_WORKSPACE_SIZE(kBatch));
  if (mlp_mnist_init_params(params, seed) != MLP_MNIST_OK)
    die("mlp_mnist_init_params failed", NULL);
  printf("training on %lld digits, %lld steps per epoch, batch %d, lr %g, seed %llu\n",
         (long long)n_train, (long long)steps_per_epoch, kBatch, kLearningRate, seed);
  printf("before training: test accuracy %.2f%%\n",
         100 * accuracy(params, test_x, test_y, n_test));

  for (epoch = 1; epoch <= epochs; ++epoch) {
    int64_t b;
    for (b = 0; b < steps_per_epoch; ++b) {
      const float *x = (const float *)train_x + MLP_MNIST_X_NUMEL(b * kBatch);
      const int32_t *y = (const int32_t *)train_y + b * kBatch;
      float loss;
      int status = mlp_mnist_train_step(params, opt_state, workspace, kBatch, x, y,
                                        kLearningRate, ++step, &loss);
      if (status != MLP_MNIST_OK) {
        fprintf(stderr, "train_mnist: mlp_mnist_train_step failed with status %d\n", status);
        return 1;
      }
      loss_sum += loss;
      if (step % kReportEvery == 0) {
        printf("epoch %d step %4lld  mean loss %.4f\n", epoch, (long long)step,
               loss_sum / kReportEvery);
        loss_sum = 0;
      }
    }
    printf("epoch %d done: test accuracy %.2f%%\n", epoch,
           100 * accuracy(params, test_x, test_y, n_test));
  }
  return 0;
}
