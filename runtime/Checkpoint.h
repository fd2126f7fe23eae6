//===- runtime/Checkpoint.h - Training checkpoints ----------------*- C++ -*-===//
//
// A checkpoint is one file holding everything a run needs to continue as if
// it had never stopped: params and optimizer state, the TrainPosition (step,
// epoch, next batch, the epoch's running sums), early-stopping state, the
// epoch history, the model's fingerprint and the settings that must not
// change on resume. Random streams are counter-based and keyed by (seed,
// epoch, batch) (runtime/Rng.h), so the position and the seed in the
// settings are the whole RNG state; the learning rate is a pure function of
// the step (runtime/Schedule.h), so the step is the schedule's position.
//
// Format (little-endian), version 1:
//   "GRADCKPT"  u32 version  u32 0  u64 payload_bytes  u64 xxh3_64(payload)
//   payload = sections, each  u32 name_len  name  u64 data_len  data
//     "fingerprint"  the model's fingerprint (text)
//     "settings"     "key=value" lines (text)
//     "position"     i64 step epoch batch correct samples bad_epochs
//                    best_epoch, f64 loss_sum best_dev_loss
//     "history"      u64 n, then n records of i64 epoch step and
//                    f64 train_loss train_acc dev_loss dev_acc lr seconds
//     "param:NAME" / "state:NAME"   u8 dtype  u8 rank  i64 dims[rank]  data
// Reading checks the magic, the version, the payload size against the file
// size (before allocating anything), the checksum, every section's bounds
// and every tensor's byte count; errors start with the file's path.
//
// Files are named ckpt-<step, 10 digits>.gradc in a checkpoint directory and
// written atomically (runtime/AtomicFile.h).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Tensor.h"
#include "runtime/Trainer.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cmath>
#include <map>
#include <string>
#include <vector>

namespace gradc::rt {

inline constexpr uint32_t kCheckpointVersion = 1;

struct CheckpointState {
  std::string fingerprint;
  std::string settings;
  TrainPosition pos;
  double bestDevLoss = INFINITY;
  int64_t badEpochs = 0; // epochs since the dev loss last improved
  int64_t bestEpoch = 0;
  std::vector<EpochRecord> history;
  std::map<std::string, Tensor> params; // model params
  std::map<std::string, Tensor> state;  // optimizer state
};

std::string encodeCheckpoint(const CheckpointState &c);
/// Parses checkpoint bytes; `path` names them in errors.
llvm::Expected<CheckpointState> decodeCheckpoint(llvm::StringRef bytes, llvm::StringRef path);
llvm::Expected<CheckpointState> readCheckpoint(llvm::StringRef path);
/// Writes `c` atomically to `path` (pausable by the AtomicFile test hook).
llvm::Error writeCheckpoint(llvm::StringRef path, const CheckpointState &c);

/// "DIR/ckpt-0000000250.gradc".
std::string checkpointPath(llvm::StringRef dir, int64_t step);
/// The checkpoint files of `dir`, oldest (smallest step) first. A missing
/// directory has none.
llvm::Expected<std::vector<std::string>> listCheckpoints(llvm::StringRef dir);
/// Deletes all but the newest `keep` checkpoints of `dir` (keep >= 1), and
/// temporary files that interrupted saves left behind.
llvm::Error pruneCheckpoints(llvm::StringRef dir, int64_t keep);

} // namespace gradc::rt
