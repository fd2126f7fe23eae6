//===- tools/gradc/Progress.cpp - Training progress on the console --------===//
#include "tools/gradc/Progress.h"

#include "llvm/Support/FormatVariadic.h"

#include <cmath>
#include <cstdio>

namespace gradc::driver {

using Clock = std::chrono::steady_clock;

static std::string percent(double fraction) {
  return std::isnan(fraction) ? std::string("n/a") : llvm::formatv("{0:F2}%", 100 * fraction).str();
}

static std::string clockTime(double seconds) {
  auto s = static_cast<int64_t>(std::max(0.0, seconds) + 0.5);
  if (s >= 3600)
    return llvm::formatv("{0}:{1:d2}:{2:d2}", s / 3600, s / 60 % 60, s % 60).str();
  return llvm::formatv("{0}:{1:d2}", s / 60, s % 60).str();
}

void Progress::startEpoch(int64_t epoch, int64_t firstBatch, int64_t batches, int64_t batchSize) {
  epoch_ = epoch;
  firstBatch_ = firstBatch;
  batches_ = batches;
  batchSize_ = batchSize;
  start_ = lastDraw_ = Clock::now();
}

void Progress::step(const rt::TrainPosition &pos) {
  if (!live_)
    return;
  auto now = Clock::now();
  if (pos.batch < batches_ && now - lastDraw_ < std::chrono::milliseconds(100))
    return;
  lastDraw_ = now;
  double elapsed = std::chrono::duration<double>(now - start_).count();
  int64_t done = pos.batch - firstBatch_;
  double perStep = done > 0 ? elapsed / static_cast<double>(done) : 0;
  double eta = perStep * static_cast<double>(batches_ - pos.batch);
  double rate = elapsed > 0 ? static_cast<double>(done * batchSize_) / elapsed : 0;
  constexpr int kWidth = 24;
  int filled = batches_ ? static_cast<int>(kWidth * pos.batch / batches_) : kWidth;
  std::string bar(filled, '=');
  if (filled < kWidth)
    bar += '>' + std::string(kWidth - filled - 1, ' ');
  double loss = pos.batch ? pos.lossSum / static_cast<double>(pos.batch) : 0;
  os_ << llvm::formatv("\repoch {0,3}/{1} [{2}] {3}/{4}  ETA {5}  {6:F0} samples/s  loss {7:F4} ",
                       epoch_ + 1, epochs_, bar, pos.batch, batches_, clockTime(eta), rate, loss);
  os_.flush();
  barShown_ = true;
}

void Progress::clearBar() {
  if (barShown_) {
    os_ << "\r\x1b[2K";
    barShown_ = false;
  }
}

void Progress::endEpoch(const rt::EpochRecord &r, bool hasDev, const EpochExtras &x) {
  if (quiet_)
    return;
  clearBar();
  os_ << llvm::formatv("epoch {0,3}/{1}  step {2}  loss {3:F4}  acc {4}", r.epoch, epochs_, r.step,
                       r.trainLoss, percent(r.trainAcc));
  if (hasDev)
    os_ << llvm::formatv("  dev loss {0:F4}  dev acc {1}", r.devLoss, percent(r.devAcc));
  if (x.hasTest)
    os_ << llvm::formatv("  test loss {0:F4}  test acc {1}", x.testLoss, percent(x.testAcc));
  char lr[32];
  std::snprintf(lr, sizeof lr, "%.4g", r.lr);
  os_ << "  lr " << lr
      << llvm::formatv("  {0:F0} samples/s  {1:F1} s\n", x.samplesPerSecond, r.seconds);
  os_.flush();
}

void Progress::note(llvm::StringRef line) {
  if (quiet_)
    return;
  clearBar();
  os_ << line << "\n";
  os_.flush();
}

} // namespace gradc::driver
