/* tests/aot/aot_driver.c - drives an object written by gradc compile.
 *
 * Built with cc -std=c99 against any model with one data input IN (f32),
 * one output OUT and, for training, a second input LAB of type LAB_T:
 *   cc -std=c99 -Wall -Wextra -pedantic -Werror -DM_HEADER='"m.h"' -DM=m -DMU=M \
 *      -DIN=X -DOUT=LOGITS -DLAB=Y -DLAB_T=int32_t aot_driver.c m.o -lm
 * Usage: aot_driver DIR BATCH SEED LR STEPS
 * Reads DIR/in.bin and DIR/lab.bin (raw arrays), writes DIR/params_init.bin,
 * DIR/out.bin (inference on the initial params), DIR/params_after.bin,
 * DIR/opt_after.bin and DIR/loss.bin (after training steps 1..STEPS on the
 * same batch; the loss is the last step's), and checks
 * the error codes of bad arguments. Prints "ok" and exits 0 when all went well.
 */
#define _POSIX_C_SOURCE 200112L
#include M_HEADER

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define FN(suffix) CAT(M, suffix)
#define MAC(suffix) CAT(MU, suffix)
#define NUMEL(name, batch) MAC(CAT(CAT(_, name), _NUMEL))(batch)

static const char *dir;

static void *alloc(size_t bytes) {
  void *p = NULL;
  if (posix_memalign(&p, MAC(_ALIGNMENT), bytes ? bytes : 1) != 0) {
    fprintf(stderr, "out of memory\n");
    exit(1);
  }
  return p;
}

static void io(const char *name, void *data, size_t bytes, int write) {
  char path[4096];
  FILE *f;
  snprintf(path, sizeof path, "%s/%s", dir, name);
  f = fopen(path, write ? "wb" : "rb");
  if (!f || (bytes && (write ? fwrite(data, 1, bytes, f) : fread(data, 1, bytes, f)) != bytes)) {
    fprintf(stderr, "cannot %s %s\n", write ? "write" : "read", path);
    exit(1);
  }
  fclose(f);
}

static void expect(int got, int want, const char *what) {
  if (got != want) {
    fprintf(stderr, "%s: status %d, expected %d\n", what, got, want);
    exit(1);
  }
}

int main(int argc, char **argv) {
  int64_t batch;
  unsigned long long seed;
  double lr;
  void *params, *opt, *ws;
  float *in, *out, loss = -1;
  LAB_T *lab;
  size_t ws_bytes;
  int64_t step, steps;
  if (argc != 6) {
    fprintf(stderr, "usage: aot_driver DIR BATCH SEED LR STEPS\n");
    return 2;
  }
  dir = argv[1];
  batch = atoll(argv[2]);
  seed = strtoull(argv[3], NULL, 10);
  lr = atof(argv[4]);
  steps = atoll(argv[5]);
  expect(FN(_abi_version)(), MAC(_ABI_VERSION), "abi version");

  params = alloc(MAC(_PARAMS_SIZE));
  opt = alloc(MAC(_OPT_STATE_SIZE));
  ws_bytes = MAC(_TRAIN_WORKSPACE_SIZE)(batch);
  if (MAC(_INFER_WORKSPACE_SIZE)(batch) > ws_bytes)
    ws_bytes = MAC(_INFER_WORKSPACE_SIZE)(batch);
  ws = alloc(ws_bytes + MAC(_ALIGNMENT));
  in = alloc(NUMEL(IN, batch) * sizeof *in);
  lab = alloc(NUMEL(LAB, batch) * sizeof *lab);
  out = alloc(NUMEL(OUT, batch) * sizeof *out);
  io("in.bin", in, NUMEL(IN, batch) * sizeof *in, 0);
  io("lab.bin", lab, NUMEL(LAB, batch) * sizeof *lab, 0);

  expect(FN(_init_params)(params, seed), MAC(_OK), "init_params");
  io("params_init.bin", params, MAC(_PARAMS_SIZE), 1);
  expect(FN(_infer)(params, ws, batch, in, out), MAC(_OK), "infer");
  io("out.bin", out, NUMEL(OUT, batch) * sizeof *out, 1);

  memset(opt, 0, MAC(_OPT_STATE_SIZE));
  for (step = 1; step <= steps; ++step)
    expect(FN(_train_step)(params, opt, ws, batch, in, lab, lr, step, &loss), MAC(_OK),
           "train_step");
  io("params_after.bin", params, MAC(_PARAMS_SIZE), 1);
  io("opt_after.bin", opt, MAC(_OPT_STATE_SIZE), 1);
  io("loss.bin", &loss, sizeof loss, 1);

  /* Bad arguments: an error code, and nothing written. */
  expect(FN(_infer)(params, ws, 0, in, out), MAC(_ERR_BATCH), "infer batch 0");
  expect(FN(_infer)(params, ws, MAC(_MAX_BATCH) + 1, in, out), MAC(_ERR_BATCH), "infer batch max+1");
  expect(FN(_infer)(NULL, ws, batch, in, out), MAC(_ERR_NULL_POINTER), "infer params NULL");
  expect(FN(_infer)(params, ws, batch, in, NULL), MAC(_ERR_NULL_POINTER), "infer output NULL");
  expect(FN(_infer)(params, (char *)ws + 4, batch, in, out), MAC(_ERR_ALIGNMENT),
         "infer misaligned workspace");
  expect(FN(_init_params)((char *)params + 4, seed), MAC(_ERR_ALIGNMENT), "init misaligned");
  expect(FN(_train_step)(params, opt, ws, batch, in, lab, lr, 0, &loss), MAC(_ERR_STEP),
         "train step 0");
  expect(FN(_train_step)(params, opt, ws, batch, in, NULL, lr, 1, &loss), MAC(_ERR_NULL_POINTER),
         "train labels NULL");
  expect(FN(_train_step)(params, opt, ws, -3, in, lab, lr, 1, &loss), MAC(_ERR_BATCH),
         "train batch -3");
  puts("ok");
  return 0;
}
