//===- runtime/Trainer.h - The training loop ---------------------*- C++ -*-===//
//
// Drives a compiled training step over a labelled data set: one epoch is a
// seeded shuffle of the training samples (rt::BatchIterator) cut into full batches (the last
// partial batch is dropped so every step has the same batch size, as with
// PyTorch's drop_last=True), one step per batch with the hyper inputs (the
// learning rate from the schedule (runtime/Schedule.h), Adam's
// step-dependent factors: runtime/Hyper.h) fed for the step count, which
// runs on across epochs. Where training stands is a TrainPosition (epoch,
// next batch, the epoch's running sums): with the params and optimizer state
// it is all a checkpoint needs, because the shuffle of an epoch is a pure
// function of (seed, epoch), so an epoch can be continued at any batch. Evaluation runs the eval
// step (forward + loss, no update) over every sample in chunks. Accuracy is the argmax of the first
// [N, C] output against the labels; for an [N, 1] output (binary targets:
// an f32 labels input takes the labels 0/1 as floats) the score against a
// threshold.
//
// The trainer sees only Executables and named buffers, never the graph.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Augment.h"
#include "runtime/Dataset.h"
#include "runtime/Executable.h"
#include "runtime/Schedule.h"
#include "runtime/Session.h"
#include "runtime/Tensor.h"

#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/Support/Error.h"

#include <string>
#include <vector>

namespace gradc::rt {

struct TrainerConfig {
  int64_t batch = 32;
  double lr = 0.01;      // the base rate of the schedule
  Schedule schedule;     // constant by default
  Augment augment;       // training samples only
  int64_t totalSteps = 0; // the run's planned steps (cosine's horizon)
  uint64_t seed = 0;
  std::string features; // input buffer fed with samples
  std::string labels;   // input buffer fed with labels
  int64_t evalChunk = 1024;
  /// An [N, 1] output predicts class 1 when above this: 0.5 for a
  /// probability or a 0/1 step, 0 for logits.
  float binaryThreshold = 0.5f;
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
  /// confusion[t * classes + p]: samples of true class t predicted p (filled
  /// when evaluate() is asked for it and the model is a classifier).
  std::vector<int64_t> confusion;
  int64_t classes = 0;
};

/// One epoch of a run's history (a row of --log-csv, a point of --plot).
/// Accuracies and dev values are NaN when there is none.
struct EpochRecord {
  int64_t epoch = 0; // 1-based
  int64_t step = 0;  // steps done at the epoch's end
  double trainLoss = 0, trainAcc = 0, devLoss = 0, devAcc = 0;
  double lr = 0;      // the rate of the epoch's last step
  double seconds = 0; // wall time of the epoch (training and dev evaluation)
};

/// Where training stands: the next step to run and the running sums of the
/// current epoch. Counters only, so resuming from a saved position replays
/// the same batches with the same rates.
struct TrainPosition {
  int64_t step = 0;    // steps done, over every epoch
  int64_t epoch = 0;   // the current epoch (0-based)
  int64_t batch = 0;   // the next batch of the current epoch
  double lossSum = 0;  // sum of this epoch's step losses
  int64_t correct = 0; // this epoch's correctly classified samples
  int64_t samples = 0; // this epoch's samples
  bool operator==(const TrainPosition &) const = default;
};

/// True when `exe` has an output shaped [N, C] (a classifier's scores).
bool hasClassifierOutput(const Executable &exe);

class Trainer {
public:
  Trainer(Executable &step, Executable &eval, ParamStore &params, TrainerConfig cfg);

  /// Checks that `set` fits the model: sample size equals the features
  /// input's, labels are i32 with one per sample. Errors name the data's source.
  llvm::Error check(const Dataset &set) const;

  /// Full batches per epoch of `set` (the partial last batch is dropped).
  int64_t stepsPerEpoch(const Dataset &set) const { return set.count() / cfg_.batch; }
  /// The learning rate of 0-based step `t` under the schedule.
  double lrAt(int64_t t, int64_t stepsPerEpoch) const;

  /// Runs the steps of epoch `pos.epoch` from batch `pos.batch` on, updating
  /// `pos` after each; `afterStep` (may be null) is called after every step
  /// and stops the epoch early by returning true. Returns true when the
  /// epoch ran to its end (then `pos` is left at its last batch: the caller
  /// reads the epoch's sums, then starts the next epoch).
  llvm::Expected<bool>
  runEpoch(const Dataset &set, TrainPosition &pos,
           llvm::function_ref<llvm::Expected<bool>(const TrainPosition &)> afterStep = nullptr);

  /// Trains one whole epoch (0-based `epoch` picks the shuffle).
  llvm::Expected<EpochStats> trainEpoch(const Dataset &set, int64_t epoch);
  /// Loss and accuracy over every sample of `set`, params unchanged; with
  /// `confusion`, also the confusion matrix of a classifier.
  llvm::Expected<EvalStats> evaluate(const Dataset &set, bool confusion = false);
  /// Training steps run so far, over every epoch.
  int64_t steps() const { return step_; }

private:
  Executable &stepExe_, &eval_;
  ParamStore &params_;
  TrainerConfig cfg_;
  int64_t step_ = 0;
};

} // namespace gradc::rt
