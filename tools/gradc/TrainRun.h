//===- tools/gradc/TrainRun.h - One run of gradc train ------------*- C++ -*-===//
//
// TrainCommand.cpp sets a run up (graphs, compiled steps, data, params,
// settings, a resumed checkpoint); TrainLoop.cpp runs its epochs (dev
// evaluation, early stopping, --max-steps, progress, logs, checkpoints);
// TrainCheckpoint.cpp saves and restores it.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "tools/gradc/Driver.h"

#include "runtime/Checkpoint.h"
#include "runtime/Dataset.h"
#include "runtime/Session.h"
#include "runtime/Trainer.h"

#include <memory>
#include <optional>

namespace gradc::driver {

struct TrainRun {
  const TrainOptions &opts;
  std::string modelName;
  std::unique_ptr<rt::Executable> step, eval;
  rt::TrainerConfig cfg;
  int64_t epochs = 1;
  rt::Dataset train;
  std::optional<rt::Dataset> dev, test;
  rt::ParamStore params;
  std::string fingerprint; // of the compiled training graph
  std::string settings;    // what a resumed run must repeat
  // The run's state, saved in checkpoints.
  rt::TrainPosition pos;
  double bestDevLoss = INFINITY;
  int64_t badEpochs = 0, bestEpoch = 0;
  std::vector<rt::EpochRecord> history;

  explicit TrainRun(const TrainOptions &o) : opts(o) {}
};

/// Runs the epochs of `run` from its position; prints and logs as it goes.
llvm::Error trainLoop(TrainRun &run);

/// Saves `run` to its checkpoint directory as ckpt-<step>, then prunes to --keep.
llvm::Error saveCheckpoint(TrainRun &run);
/// --resume / --resume=FILE: restores `run` from a checkpoint; checks the
/// fingerprint, the settings and every tensor against the model.
llvm::Error resumeRun(TrainRun &run);
/// Refuses a fresh run in a checkpoint directory that already holds checkpoints.
llvm::Error checkFreshCheckpointDir(const TrainRun &run);

} // namespace gradc::driver
