//===- runtime/Trainer.cpp - The training loop ----------------------------===//
#include "runtime/Trainer.h"

#include "runtime/Hyper.h"
#include "runtime/Rng.h"

#include "llvm/Support/FormatVariadic.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>

namespace gradc::rt {

static llvm::Error err(const llvm::Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), msg);
}

Trainer::Trainer(Executable &step, Executable &eval, ParamStore &params, TrainerConfig cfg)
    : stepExe_(step), eval_(eval), params_(params), cfg_(std::move(cfg)) {}

static const BufferDesc *findBuffer(const Executable &exe, const std::string &name) {
  for (const BufferDesc &b : exe.buffers())
    if (b.name == name)
      return &b;
  return nullptr;
}

llvm::Error Trainer::check(const Dataset &set) const {
  const BufferDesc *x = findBuffer(stepExe_, cfg_.features);
  const BufferDesc *y = findBuffer(stepExe_, cfg_.labels);
  if (!x || x->role != BufferRole::Input)
    return err("the model has no input '" + cfg_.features + "' to feed features to");
  if (!y || y->role != BufferRole::Input)
    return err("the model has no input '" + cfg_.labels + "' to feed labels to");
  if (x->shape.empty() || x->shape[0] != kBatch || x->dtype != DType::F32)
    return err("input '" + x->name + "' must be f32 with the batch dimension N first to "
               "take training samples");
  bool binary = y->dtype == DType::F32 &&
                (y->shape == Shape{kBatch} || y->shape == Shape{kBatch, 1});
  if (!binary && (y->shape != Shape{kBatch} || y->dtype != DType::I32))
    return err("input '" + y->name + "' must be i32[N] to take class labels (or f32[N] or "
               "f32[N, 1] to take binary targets)");
  if (binary)
    if (auto e = set.validateLabels(2))
      return e;
  if (set.count() == 0)
    return err(set.source + ": the data set is empty");
  int64_t sample = set.sampleSize();
  if (sample != staticNumel(x->shape))
    return err(llvm::formatv("{0}: samples have {1} values but input '{2}' takes {3} ({4})",
                             set.source, sample, x->name, staticNumel(x->shape),
                             shapeToString(x->shape)));
  if (set.labels.dtype() != DType::I32 || set.labels.numel() != set.count())
    return err(set.source + ": expected one i32 label per sample");
  return llvm::Error::success();
}

namespace {
/// Index of the first output shaped [N, C], or -1.
int classifierOutput(const Session &s) {
  const auto &bufs = s.buffers();
  for (size_t i = 0; i < bufs.size(); ++i)
    if (bufs[i].role == BufferRole::Output && bufs[i].shape.size() == 2 &&
        bufs[i].shape[0] == kBatch)
      return static_cast<int>(i);
  return -1;
}

/// Classes an [N, C] output tells apart: C, or 2 for one score per sample.
int64_t outputClasses(const Tensor &out) { return std::max<int64_t>(out.shape()[1], 2); }

/// Counts the rows of `logits` whose prediction is the label; with `confusion`
/// (classes x classes), also tallies (label, prediction) pairs of labels in
/// range. The prediction of an [N, C] output is its argmax; of an [N, 1]
/// output (binary), 1 when the score is above `threshold`. Labels are i32
/// classes or f32 binary targets.
int64_t countCorrect(const Tensor &logits, const Tensor &labels, int64_t n, float threshold,
                     std::vector<int64_t> *confusion = nullptr) {
  int64_t width = logits.shape()[1], classes = outputClasses(logits), correct = 0;
  for (int64_t i = 0; i < n; ++i) {
    const float *row = logits.f32() + i * width;
    int64_t best = 0;
    if (width == 1)
      best = row[0] > threshold;
    for (int64_t c = 1; c < width; ++c)
      if (row[c] > row[best])
        best = c;
    int32_t label = labels.dtype() == DType::F32 ? static_cast<int32_t>(labels.f32()[i])
                                                 : labels.i32()[i];
    correct += best == label;
    if (confusion && label >= 0 && label < classes)
      (*confusion)[label * classes + best] += 1;
  }
  return correct;
}

} // namespace

bool hasClassifierOutput(const Executable &exe) {
  for (const BufferDesc &b : exe.buffers())
    if (b.role == BufferRole::Output && b.shape.size() == 2 && b.shape[0] == kBatch)
      return true;
  return false;
}

double Trainer::lrAt(int64_t t, int64_t stepsPerEpoch) const {
  return scheduledLr(cfg_.schedule, cfg_.lr, t, stepsPerEpoch,
                     cfg_.totalSteps > 0 ? cfg_.totalSteps : t + 1);
}

llvm::Expected<bool>
Trainer::runEpoch(const Dataset &set, TrainPosition &pos,
                  llvm::function_ref<llvm::Expected<bool>(const TrainPosition &)> afterStep) {
  if (auto e = check(set))
    return e;
  int64_t count = set.count(), batch = cfg_.batch;
  if (batch < 1)
    return err("batch size must be at least 1");
  if (batch > count)
    return err(llvm::formatv("{0}: batch size {1} is larger than the data set ({2} samples)",
                             set.source, batch, count));
  Session s(stepExe_, params_);
  if (auto e = s.setBatch(batch))
    return e;
  Tensor *x = s.find(cfg_.features), *y = s.find(cfg_.labels);
  Tensor *loss = s.findRole(BufferRole::Loss);
  if (!loss)
    return err("the training step has no loss buffer");
  if (!s.findRole(BufferRole::HyperInput))
    return err("the training step has no learning-rate input");
  int out = classifierOutput(s);

  BatchIterator batches(set, batch, cfg_.seed);
  batches.startEpoch(pos.epoch);
  int64_t perEpoch = batches.numBatches(/*dropLast=*/true);
  Shape sampleShape(set.features.shape().begin() + 1, set.features.shape().end());
  if (auto e = checkAugmentable(cfg_.augment, sampleShape, set.source))
    return e;
  int64_t sampleSize = set.sampleSize();
  std::vector<float> scratch;
  while (pos.batch < perEpoch) {
    if (auto e = batches.fill(pos.batch, *x, *y))
      return e;
    if (cfg_.augment.any())
      for (int64_t i = 0; i < batch; ++i) {
        Rng rng(cfg_.seed, kAugmentStream + static_cast<uint64_t>(pos.step * batch + i));
        augmentSample(cfg_.augment, x->f32() + i * sampleSize, sampleShape, rng, scratch);
      }
    // The step count runs on across epochs: Adam's bias corrections use it.
    if (auto e = feedHyperInputs(s, lrAt(pos.step, perEpoch), pos.step + 1))
      return e;
    if (auto e = s.run())
      return e;
    ++pos.step;
    ++pos.batch;
    pos.lossSum += loss->f32()[0];
    if (out >= 0)
      pos.correct += countCorrect(s.buffer(out), *y, batch, cfg_.binaryThreshold);
    pos.samples += batch;
    step_ = pos.step;
    if (afterStep) {
      auto stop = afterStep(pos);
      if (!stop)
        return stop.takeError();
      if (*stop)
        return pos.batch == perEpoch;
    }
  }
  return true;
}

llvm::Expected<EpochStats> Trainer::trainEpoch(const Dataset &set, int64_t epoch) {
  TrainPosition pos;
  pos.step = step_;
  pos.epoch = epoch;
  auto start = std::chrono::steady_clock::now();
  auto done = runEpoch(set, pos);
  if (!done)
    return done.takeError();
  EpochStats st;
  st.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  st.steps = pos.batch;
  st.samples = pos.samples;
  st.loss = pos.lossSum / static_cast<double>(st.steps);
  st.accuracy = pos.samples && hasClassifierOutput(stepExe_)
                    ? static_cast<double>(pos.correct) / pos.samples
                    : NAN;
  return st;
}

llvm::Expected<EvalStats> Trainer::evaluate(const Dataset &set, bool confusion) {
  if (auto e = check(set))
    return e;
  int64_t count = set.count();
  BatchIterator chunks(set, cfg_.evalChunk, cfg_.seed, /*shuffle=*/false);
  Session s(eval_, params_);
  EvalStats st;
  int64_t correct = 0, current = 0;
  int out = -1;
  for (int64_t b = 0; b < chunks.numBatches(/*dropLast=*/false); ++b) {
    int64_t n = chunks.batchLength(b);
    if (n != current) {
      if (auto e = s.setBatch(n))
        return e;
      current = n;
      out = classifierOutput(s);
    }
    Tensor *x = s.find(cfg_.features), *y = s.find(cfg_.labels);
    Tensor *loss = s.findRole(BufferRole::Loss);
    if (!x || !y || !loss)
      return err("the eval step must read '" + cfg_.features + "' and '" + cfg_.labels +
                 "' and compute the loss");
    if (auto e = chunks.fill(b, *x, *y))
      return e;
    if (auto e = s.run())
      return e;
    st.loss += static_cast<double>(loss->f32()[0]) * n; // the loss is a batch mean
    if (out >= 0) {
      int64_t classes = outputClasses(s.buffer(out));
      if (confusion && st.confusion.empty()) {
        st.classes = classes;
        st.confusion.assign(classes * classes, 0);
      }
      correct += countCorrect(s.buffer(out), *y, n, cfg_.binaryThreshold,
                              confusion ? &st.confusion : nullptr);
    }
  }
  st.samples = count;
  st.loss /= static_cast<double>(count);
  st.accuracy = out >= 0 ? static_cast<double>(correct) / count : NAN;
  return st;
}

} // namespace gradc::rt
