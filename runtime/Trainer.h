//===- runtime/Trainer.h - The training loop ---------------------*- C++ -*-===//
//
// Drives a compiled training step over a labelled data set: one epoch is a
// seeded shuffle of the training samples (rt::BatchIterator) cut into full batches (the last
// partial batch is dropped so every step has the same batch size, as with
// PyTorch's drop_last=True), one step per batch with the hyper inputs (the
// learning rate, Adam's step-dependent factors: runtime/Hyper.h) fed for the
// 1-based step count, which runs on across epochs. Evaluation runs the eval
// step (forward + loss, no update) over every sample in chunks. Accuracy is the argmax of the first
// [N, C] output against the labels.
//
// The trainer sees only Executables and named buffers, never the graph.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Dataset.h"
#include "runtime/Executable.h"
#include "runtime/Session.h"
#include "runtime/Tensor.h"

#include "llvm/Support/Error.h"

#include <string>

namespace gradc::rt {

struct TrainerConfig {
  int64_t batch = 32;
  double lr = 0.01;
  uint64_t seed = 0;
  std::string features; // input buffer fed with samples
  std::string labels;   // input buffer fed with labels
  int64_t evalChunk = 1024;
};

struct EpochStats {
  double loss = 0;     // mean of the step losses
  double accuracy = 0; // fraction of samples classified right (NaN if no [N,C] output)
  int64_t samples = 0;
  int64_t steps = 0;
  double seconds = 0; // wall time of the steps
};

struct EvalStats {
  double loss = 0;
  double accuracy = 0;
  int64_t samples = 0;
};

class Trainer {
public:
  Trainer(Executable &step, Executable &eval, ParamStore &params, TrainerConfig cfg);

  /// Checks that `set` fits the model: sample size equals the features
  /// input's, labels are i32 with one per sample. Errors name the data's source.
  llvm::Error check(const Dataset &set) const;

  /// Trains one epoch (0-based `epoch` picks the shuffle).
  llvm::Expected<EpochStats> trainEpoch(const Dataset &set, int64_t epoch);
  /// Loss and accuracy over every sample of `set`, params unchanged.
  llvm::Expected<EvalStats> evaluate(const Dataset &set);
  /// Training steps run so far, over every epoch.
  int64_t steps() const { return step_; }

private:
  Executable &stepExe_, &eval_;
  ParamStore &params_;
  TrainerConfig cfg_;
  int64_t step_ = 0;
};

} // namespace gradc::rt
