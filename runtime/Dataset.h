//===- runtime/Dataset.h - In-memory labelled data sets -----------*- C++ -*-===//
//
// A Dataset holds every sample in memory: features f32 [count, ...] and
// labels i32 [count]. loadMnist reads the four IDX files of an MNIST-style
// directory (data/README.md describes the bundled one). A BatchIterator cuts
// a seeded shuffle of the samples into minibatches and copies each batch
// into caller tensors (a Session's input buffers).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Tensor.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <string>
#include <vector>

namespace gradc::rt {

struct Dataset {
  Tensor features;    // f32 [count, ...]
  Tensor labels;      // i32 [count]
  std::string source; // names the data in errors (the labels file for MNIST)

  int64_t count() const { return labels.empty() ? 0 : labels.shape()[0]; }
  /// Values per sample (product of the feature dims after the first).
  int64_t sampleSize() const { return count() ? features.numel() / count() : 0; }

  /// Checks every label is in [0, numClasses); the error names the first bad
  /// record: "<source>: label 12 at record 57 is out of range [0, 10)".
  llvm::Error validateLabels(int64_t numClasses) const;
};

/// Reads split "train" (train-images-idx3-ubyte, train-labels-idx1-ubyte) or
/// "test" (t10k-*) from `dir`, each file gzipped (`.gz`, tried first) or
/// plain. Images become f32 [count, 28, 28] in [0, 1], labels i32 [count]
/// checked to be digits 0..9.
llvm::Expected<Dataset> loadMnist(llvm::StringRef dir, llvm::StringRef split);

/// Reads a features file (f32 [count, ...]; f64 is converted) and a labels
/// file (integers [count]) in NumPy's .npy format (runtime/Npy.h). Errors
/// name the file: wrong dtype or rank, a count mismatch, no samples.
llvm::Expected<Dataset> loadNpyPair(llvm::StringRef featuresPath, llvm::StringRef labelsPath);

/// The order in which epoch `epoch` visits `count` samples: Fisher-Yates
/// (from the back, j = below(i + 1)) drawn from Rng(seed, kShuffleStream +
/// epoch).
std::vector<int64_t> shuffledOrder(int64_t count, uint64_t seed, int64_t epoch);
/// Stream base of the shuffles ("SHUFF").
inline constexpr uint64_t kShuffleStream = 0x5348554646ull;

/// Splits `set` into (train, dev): round(fraction * count) samples, at
/// least 1, drawn by a seeded shuffle (Rng(seed, kDevSplitStream)) go to
/// dev; both keep the samples' original order. `fraction` in (0, 1); the
/// train part must keep at least one sample.
llvm::Expected<std::pair<Dataset, Dataset>> splitDataset(const Dataset &set, double fraction,
                                                        uint64_t seed);
/// Stream of the dev split ("DEVSPL").
inline constexpr uint64_t kDevSplitStream = 0x44455653504cull;

/// Minibatches over a Dataset, one seeded permutation per epoch.
class BatchIterator {
public:
  /// `batchSize` >= 1; the data set must outlive the iterator.
  BatchIterator(const Dataset &data, int64_t batchSize, uint64_t seed, bool shuffle = true);

  /// Draws the permutation of epoch `epoch` (0-based); identity when not
  /// shuffling. The constructor starts epoch 0.
  void startEpoch(int64_t epoch);
  int64_t epoch() const { return epoch_; }

  /// Number of batches per epoch: full batches only when `dropLast`, else
  /// one more for a partial last batch (if any).
  int64_t numBatches(bool dropLast) const;
  /// Samples in batch `b`: batchSize, or less for the partial last batch.
  int64_t batchLength(int64_t b) const;
  int64_t batchSize() const { return batchSize_; }

  /// Copies batch `b`'s samples into `features` (f32 [B, ...], B >= its
  /// length, same values per sample as the data set) and `labels` (i32 [B],
  /// or f32 [B] / [B, 1]: binary targets, the labels as floats).
  /// Rows past the batch's length are zeroed.
  llvm::Error fill(int64_t b, Tensor &features, Tensor &labels) const;

  /// Sample indices of the current epoch, in visiting order.
  const std::vector<int64_t> &order() const { return order_; }

private:
  const Dataset &data_;
  int64_t batchSize_;
  uint64_t seed_;
  bool shuffle_;
  int64_t epoch_ = 0;
  std::vector<int64_t> order_;
};

} // namespace gradc::rt
