//===- interp/KernelsLoss.cpp - Losses and their gradients ------------------===//
//
// softmax_cross_entropy(logits[..., C], labels i32[...]) is the mean over the
// P label positions of -log_softmax(logits)[label], computed per position as
// logsumexp(row) - row[label] with the row maximum subtracted first (stable
// for large logits). Its gradient is dloss * (softmax(row) - onehot(label)) / P.
// Labels come from user data, so every label is checked against [0, C) before
// anything is read: a bad one is an error naming the label and its position.
//
// mse(a, b) = mean((a - b)^2); its gradient with respect to a is
// dloss * 2 * (a - b) / numel(a). Sums in double; a mean over zero elements
// is NaN (0/0), as in numpy.
//
//===----------------------------------------------------------------------===//
#include "interp/KernelUtil.h"

#include <cmath>
#include <limits>

namespace gradc::interp {

namespace {

/// The logits seen as P rows of C classes, with the labels validated.
struct CrossEntropyRows {
  int64_t positions = 0, classes = 0;
};

llvm::Expected<CrossEntropyRows> checkLabels(const rt::Tensor &logits,
                                             const rt::Tensor &labels) {
  CrossEntropyRows r;
  r.classes = logits.shape().back();
  r.positions = labels.numel();
  assert(r.positions * r.classes == logits.numel() && "labels do not match the logits");
  for (int64_t p = 0; p < r.positions; ++p) {
    int32_t l = labels.i32()[p];
    if (l < 0 || l >= r.classes)
      return kernelError(llvm::formatv("label {0} at position {1} is out of range for {2} "
                                       "classes",
                                       l, p, r.classes));
  }
  return r;
}

/// max and log(sum(exp(row - max))) of one row of logits.
std::pair<double, double> rowMaxAndLogSumExp(const float *row, int64_t classes) {
  double mx = -std::numeric_limits<double>::infinity();
  for (int64_t c = 0; c < classes; ++c)
    mx = std::max(mx, double(row[c]));
  double sum = 0;
  for (int64_t c = 0; c < classes; ++c)
    sum += std::exp(double(row[c]) - mx);
  return {mx, std::log(sum)};
}

} // namespace

llvm::Error kernelSoftmaxCrossEntropy(const ir::Node &, TensorIns in, TensorOuts out) {
  auto rows = checkLabels(*in[0], *in[1]);
  if (!rows)
    return rows.takeError();
  double total = 0;
  for (int64_t p = 0; p < rows->positions; ++p) {
    const float *row = in[0]->f32() + p * rows->classes;
    auto [mx, lse] = rowMaxAndLogSumExp(row, rows->classes);
    total += lse - (double(row[in[1]->i32()[p]]) - mx);
  }
  out[0]->f32()[0] = static_cast<float>(total / double(rows->positions));
  return llvm::Error::success();
}

llvm::Error kernelSoftmaxCrossEntropyGrad(const ir::Node &, TensorIns in, TensorOuts out) {
  auto rows = checkLabels(*in[0], *in[1]);
  if (!rows)
    return rows.takeError();
  double scale = double(in[2]->f32()[0]) / double(rows->positions);
  for (int64_t p = 0; p < rows->positions; ++p) {
    const float *row = in[0]->f32() + p * rows->classes;
    float *drow = out[0]->f32() + p * rows->classes;
    auto [mx, lse] = rowMaxAndLogSumExp(row, rows->classes);
    int32_t label = in[1]->i32()[p];
    for (int64_t c = 0; c < rows->classes; ++c) {
      double prob = std::exp(double(row[c]) - mx - lse);
      drow[c] = static_cast<float>(scale * (prob - (c == label ? 1.0 : 0.0)));
    }
  }
  return llvm::Error::success();
}

llvm::Error kernelMse(const ir::Node &, TensorIns in, TensorOuts out) {
  const rt::Tensor &a = *in[0], &b = *in[1];
  assert(a.numel() == b.numel() && "mse operands differ in size");
  double sum = 0;
  for (int64_t e = 0; e < a.numel(); ++e) {
    double d = double(a.f32()[e]) - double(b.f32()[e]);
    sum += d * d;
  }
  out[0]->f32()[0] = static_cast<float>(sum / double(a.numel()));
  return llvm::Error::success();
}

llvm::Error kernelMseGrad(const ir::Node &, TensorIns in, TensorOuts out) {
  const rt::Tensor &a = *in[0], &b = *in[1];
  assert(a.numel() == b.numel() && a.numel() == out[0]->numel() && "shapes differ");
  double scale = 2.0 * double(in[2]->f32()[0]) / double(a.numel());
  for (int64_t e = 0; e < a.numel(); ++e)
    out[0]->f32()[e] =
        static_cast<float>(scale * (double(a.f32()[e]) - double(b.f32()[e])));
  return llvm::Error::success();
}

} // namespace gradc::interp
