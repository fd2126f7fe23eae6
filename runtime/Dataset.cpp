//===- runtime/Dataset.cpp - In-memory labelled data sets -----------------===//
//
// loadMnist pairs an image file with a label file and checks they agree
// (record counts, label range). BatchIterator keeps one permutation per
// epoch, a pure function of (seed, epoch), so a run can be repeated, or
// resumed at any epoch, batch for batch.
//
//===----------------------------------------------------------------------===//
#include "runtime/Dataset.h"

#include "runtime/Idx.h"
#include "runtime/Npy.h"
#include "runtime/Rng.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Path.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstring>
#include <numeric>

namespace gradc::rt {

static llvm::Error error(const llvm::Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), msg);
}

llvm::Error Dataset::validateLabels(int64_t numClasses) const {
  assert(numClasses >= 1 && "a classifier has at least one class");
  if (labels.dtype() != DType::I32)
    return error(source + ": labels must be i32");
  for (int64_t i = 0, n = labels.numel(); i < n; ++i) {
    int32_t l = labels.i32()[i];
    if (l < 0 || l >= numClasses)
      return error(llvm::formatv("{0}: label {1} at record {2} is out of range [0, {3})", source, l,
                                 i, numClasses));
  }
  return llvm::Error::success();
}

/// `dir/name.gz` if it exists, else `dir/name` if it exists.
static llvm::Expected<std::string> findFile(llvm::StringRef dir, llvm::StringRef name) {
  llvm::SmallString<256> gz(dir), plain(dir);
  llvm::sys::path::append(gz, name + ".gz");
  llvm::sys::path::append(plain, name);
  if (llvm::sys::fs::exists(gz))
    return std::string(gz);
  if (llvm::sys::fs::exists(plain))
    return std::string(plain);
  if (!llvm::sys::fs::is_directory(dir))
    return error("MNIST directory " + dir + " does not exist");
  return error("missing MNIST file " + gz + " (or " + name + ")");
}

llvm::Expected<Dataset> loadMnist(llvm::StringRef dir, llvm::StringRef split) {
  llvm::StringRef prefix;
  if (split == "train")
    prefix = "train";
  else if (split == "test")
    prefix = "t10k";
  else
    return error("unknown MNIST split '" + split + "' (expected train or test)");
  auto imagesPath = findFile(dir, (prefix + "-images-idx3-ubyte").str());
  if (!imagesPath)
    return imagesPath.takeError();
  auto labelsPath = findFile(dir, (prefix + "-labels-idx1-ubyte").str());
  if (!labelsPath)
    return labelsPath.takeError();

  Dataset d;
  auto images = readIdxImages(*imagesPath);
  if (!images)
    return images.takeError();
  auto labels = readIdxLabels(*labelsPath);
  if (!labels)
    return labels.takeError();
  d.features = std::move(*images);
  d.labels = std::move(*labels);
  d.source = *labelsPath;
  if (d.features.shape()[0] != d.count())
    return error(llvm::formatv("{0} holds {1} images but {2} holds {3} labels", *imagesPath,
                               d.features.shape()[0], *labelsPath, d.count()));
  if (d.count() == 0)
    return error(*imagesPath + ": holds no images");
  if (llvm::Error e = d.validateLabels(10))
    return e;
  return d;
}

llvm::Expected<Dataset> loadNpyPair(llvm::StringRef featuresPath, llvm::StringRef labelsPath) {
  auto x = readNpy(featuresPath);
  if (!x)
    return x.takeError();
  auto y = readNpy(labelsPath);
  if (!y)
    return y.takeError();
  if (x->dtype() != DType::F32)
    return error(featuresPath + ": features must be floating point (<f4 or <f8), got integers");
  if (x->shape().size() < 2)
    return error(llvm::formatv("{0}: features must be [count, ...] with at least 2 dims, got {1}",
                               featuresPath, shapeToString(x->shape())));
  if (y->dtype() != DType::I32)
    return error(labelsPath + ": labels must be integers, got floating point");
  if (y->shape().size() != 1)
    return error(llvm::formatv("{0}: labels must be 1-D [count], got {1}", labelsPath,
                               shapeToString(y->shape())));
  if (x->shape()[0] != y->shape()[0])
    return error(llvm::formatv("{0} holds {1} samples but {2} holds {3} labels", featuresPath,
                               x->shape()[0], labelsPath, y->shape()[0]));
  if (x->shape()[0] == 0)
    return error(featuresPath + ": holds no samples");
  Dataset d;
  d.features = std::move(*x);
  d.labels = std::move(*y);
  d.source = labelsPath.str();
  return d;
}

std::vector<int64_t> shuffledOrder(int64_t count, uint64_t seed, int64_t epoch) {
  std::vector<int64_t> order(count);
  std::iota(order.begin(), order.end(), 0);
  Rng rng(seed, kShuffleStream + static_cast<uint64_t>(epoch));
  for (int64_t i = count - 1; i > 0; --i)
    std::swap(order[i], order[rng.below(static_cast<uint64_t>(i) + 1)]);
  return order;
}

llvm::Expected<std::pair<Dataset, Dataset>> splitDataset(const Dataset &set, double fraction,
                                                        uint64_t seed) {
  if (!(fraction > 0 && fraction < 1))
    return error(llvm::formatv("the dev fraction must be in (0, 1), got {0}", fraction));
  int64_t count = set.count();
  int64_t devCount = std::max<int64_t>(1, std::llround(fraction * static_cast<double>(count)));
  if (devCount >= count)
    return error(llvm::formatv("{0}: {1} samples are too few to split off a dev set of {2}",
                               set.source, count, devCount));
  std::vector<int64_t> order(count);
  std::iota(order.begin(), order.end(), 0);
  Rng rng(seed, kDevSplitStream);
  for (int64_t i = count - 1; i > 0; --i)
    std::swap(order[i], order[rng.below(static_cast<uint64_t>(i) + 1)]);
  std::vector<bool> isDev(count, false);
  for (int64_t i = 0; i < devCount; ++i)
    isDev[order[i]] = true;
  int64_t sample = set.sampleSize();
  Shape shape = set.features.shape();
  auto part = [&](bool dev, int64_t n, const char *tag) {
    Dataset d;
    shape[0] = n;
    d.features = Tensor(DType::F32, shape);
    d.labels = Tensor(DType::I32, {n});
    d.source = set.source + " (" + tag + ")";
    int64_t k = 0;
    for (int64_t i = 0; i < count; ++i) {
      if (isDev[i] != dev)
        continue;
      std::memcpy(d.features.f32() + k * sample, set.features.f32() + i * sample,
                  sample * sizeof(float));
      d.labels.i32()[k++] = set.labels.i32()[i];
    }
    return d;
  };
  return std::make_pair(part(false, count - devCount, "train part"),
                        part(true, devCount, "dev part"));
}

BatchIterator::BatchIterator(const Dataset &data, int64_t batchSize, uint64_t seed, bool shuffle)
    : data_(data), batchSize_(batchSize), seed_(seed), shuffle_(shuffle) {
  assert(batchSize >= 1 && "batch size is checked by the caller");
  startEpoch(0);
}

void BatchIterator::startEpoch(int64_t epoch) {
  epoch_ = epoch;
  if (shuffle_) {
    order_ = shuffledOrder(data_.count(), seed_, epoch);
  } else {
    order_.resize(data_.count());
    std::iota(order_.begin(), order_.end(), 0);
  }
}

int64_t BatchIterator::numBatches(bool dropLast) const {
  int64_t n = data_.count();
  return dropLast ? n / batchSize_ : (n + batchSize_ - 1) / batchSize_;
}

int64_t BatchIterator::batchLength(int64_t b) const {
  assert(b >= 0 && b < numBatches(false) && "batch index out of range");
  return std::min(batchSize_, data_.count() - b * batchSize_);
}

llvm::Error BatchIterator::fill(int64_t b, Tensor &features, Tensor &labels) const {
  if (b < 0 || b >= numBatches(false))
    return error(llvm::formatv("{0}: batch {1} is out of range (the epoch has {2})", data_.source,
                               b, numBatches(false)));
  int64_t n = batchLength(b);
  int64_t sample = data_.sampleSize();
  if (features.dtype() != DType::F32 || features.shape().empty() || features.shape()[0] < n ||
      features.numel() != features.shape()[0] * sample)
    return error(llvm::formatv("{0}: a batch of {1} samples of {2} values does not fit in "
                               "a {3}{4} features tensor",
                               data_.source, n, sample, dtypeName(features.dtype()),
                               shapeToString(features.shape())));
  int64_t rows = features.shape()[0];
  bool binary = labels.dtype() == DType::F32 &&
                (labels.shape() == Shape{rows} || labels.shape() == Shape{rows, 1});
  if (!binary && (labels.dtype() != DType::I32 || labels.shape() != Shape{rows}))
    return error(llvm::formatv("{0}: labels of a batch of {1} need i32[{1}] (or f32[{1}] or "
                               "f32[{1}, 1] targets), got {2}{3}",
                               data_.source, rows, dtypeName(labels.dtype()),
                               shapeToString(labels.shape())));
  const float *src = data_.features.f32();
  float *dst = features.f32();
  const int64_t *idx = order_.data() + b * batchSize_;
  for (int64_t i = 0; i < n; ++i) {
    std::memcpy(dst + i * sample, src + idx[i] * sample, sample * sizeof(float));
    int32_t label = data_.labels.i32()[idx[i]];
    if (binary)
      labels.f32()[i] = static_cast<float>(label);
    else
      labels.i32()[i] = label;
  }
  std::memset(dst + n * sample, 0, (rows - n) * sample * sizeof(float));
  std::memset(static_cast<char *>(labels.data()) + n * 4, 0, (rows - n) * 4);
  return llvm::Error::success();
}

} // namespace gradc::rt
