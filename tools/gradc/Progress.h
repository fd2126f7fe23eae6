//===- tools/gradc/Progress.h - Training progress on the console --*- C++ -*-===//
//
// On a terminal (stdout isatty), a live bar per epoch redrawn in place with
// '\r' at most ten times a second: step/total, ETA, samples/s and the running
// loss; it is replaced by the epoch's summary line when the epoch ends. When
// stdout is not a terminal, only the one summary line per epoch. --quiet
// prints neither.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Trainer.h"

#include "llvm/Support/raw_ostream.h"

#include <chrono>

namespace gradc::driver {

class Progress {
public:
  Progress(llvm::raw_ostream &os, bool live, bool quiet, int64_t epochs)
      : os_(os), live_(live && !quiet), quiet_(quiet), epochs_(epochs) {}

  /// Starts timing epoch `epoch` (0-based) at batch `firstBatch` of `batches`.
  void startEpoch(int64_t epoch, int64_t firstBatch, int64_t batches, int64_t batchSize);
  /// After each step: redraws the live bar when it is due.
  void step(const rt::TrainPosition &pos);
  /// What the summary line of an epoch shows besides its EpochRecord.
  struct EpochExtras {
    double samplesPerSecond = 0; // training throughput (dev and test evaluation excluded)
    bool hasTest = false;        // the held-out test set, evaluated in eval mode
    double testLoss = 0, testAcc = 0;
  };
  /// The summary line of a finished (or stopped) epoch.
  void endEpoch(const rt::EpochRecord &r, bool hasDev, const EpochExtras &x);
  /// A line of its own (clears a live bar first).
  void note(llvm::StringRef line);

private:
  void clearBar();
  llvm::raw_ostream &os_;
  bool live_, quiet_;
  int64_t epochs_;
  int64_t epoch_ = 0, firstBatch_ = 0, batches_ = 0, batchSize_ = 0;
  std::chrono::steady_clock::time_point start_, lastDraw_;
  bool barShown_ = false;
};

} // namespace gradc::driver
