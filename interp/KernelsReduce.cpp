//===- interp/KernelsReduce.cpp - Reductions and the softmax family --------===//
//
// reduce_sum / reduce_mean: the input is walked once in row-major order with
// a second offset into the output that uses the keepdims shape read through
// broadcast strides (0 along reduced axes), so each input element lands in
// its output slot; the keepdims and dropped layouts are the same in memory.
// Sums are accumulated in double and rounded once.
//
// softmax, log_softmax and their gradients work on one 1-d slice at a time:
// the tensor is seen as [outer, axis, inner] (splitAround) and each
// (outer, inner) pair is a slice along the axis. Softmax subtracts the slice
// maximum before exp, so large logits neither overflow nor lose the result.
//
//===----------------------------------------------------------------------===//
#include "interp/KernelUtil.h"

#include <cmath>
#include <limits>

namespace gradc::interp {

// ---- reduce_sum, reduce_mean, numel ----------------------------------------------

/// Reduced axes of `n` for an input of `rank` (validated by shape inference).
static std::vector<int64_t> reduceAxes(const ir::Node &n, int64_t rank) {
  auto axes = ir::normalizeAxes(n.attrs().getInts("axes"), rank);
  assert(axes && "axes were validated by shape inference");
  if (!axes) {
    llvm::consumeError(axes.takeError());
    return {};
  }
  return *axes;
}

/// Sums `x` over `axes` into `acc` (one double per output element); returns
/// the number of input elements that fall into each output element.
static int64_t sumOver(const rt::Tensor &x, const std::vector<int64_t> &axes,
                       std::vector<double> &acc) {
  const Shape &in = x.shape();
  Shape kept = ir::reducedShape(in, axes, /*keepdims=*/true);
  int64_t count = 1;
  for (int64_t a : axes)
    count *= in[a];
  acc.assign(staticNumel(kept), 0.0);
  StridedWalk w(in, {stridesOf(in), broadcastStrides(kept, in)});
  for (int64_t e = 0; e < x.numel(); ++e, w.next())
    acc[w.offset(1)] += double(x.f32()[w.offset(0)]);
  return count;
}

llvm::Error kernelReduceSum(const ir::Node &n, TensorIns in, TensorOuts out) {
  std::vector<double> acc;
  sumOver(*in[0], reduceAxes(n, in[0]->shape().size()), acc);
  assert(static_cast<int64_t>(acc.size()) == out[0]->numel() && "reduced shape differs");
  for (size_t i = 0; i < acc.size(); ++i)
    out[0]->f32()[i] = static_cast<float>(acc[i]);
  return llvm::Error::success();
}

llvm::Error kernelReduceMean(const ir::Node &n, TensorIns in, TensorOuts out) {
  std::vector<double> acc;
  // A mean over zero elements is 0/0 = NaN, as in numpy.
  double count = double(sumOver(*in[0], reduceAxes(n, in[0]->shape().size()), acc));
  assert(static_cast<int64_t>(acc.size()) == out[0]->numel() && "reduced shape differs");
  for (size_t i = 0; i < acc.size(); ++i)
    out[0]->f32()[i] = static_cast<float>(acc[i] / count);
  return llvm::Error::success();
}

llvm::Error kernelNumel(const ir::Node &n, TensorIns in, TensorOuts out) {
  // The actual dims of this run: the batch dimension is bound by now.
  double count = 1;
  for (int64_t a : reduceAxes(n, in[0]->shape().size()))
    count *= double(in[0]->shape()[a]);
  out[0]->f32()[0] = static_cast<float>(count);
  return llvm::Error::success();
}

// ---- softmax, log_softmax and their gradients ------------------------------------

/// Calls f(slice) for each 1-d slice along the node's axis of a tensor of
/// shape `s`; `slice(a)` is the flat index of element a of that slice.
template <typename F> static void forEachSlice(const ir::Node &n, const Shape &s, F f) {
  AxisSplit sp = splitAround(s, axisOf(n, s.size()));
  for (int64_t o = 0; o < sp.outer; ++o)
    for (int64_t i = 0; i < sp.inner; ++i)
      f(sp.size, [&](int64_t a) { return sp.at(o, a, i); });
}

/// max and log(sum(exp(x - max))) of one slice.
template <typename Index>
static std::pair<double, double> maxAndLogSumExp(const float *x, int64_t size, Index at) {
  double mx = -std::numeric_limits<double>::infinity();
  for (int64_t a = 0; a < size; ++a)
    mx = std::max(mx, double(x[at(a)]));
  double sum = 0;
  for (int64_t a = 0; a < size; ++a)
    sum += std::exp(double(x[at(a)]) - mx);
  return {mx, std::log(sum)};
}

llvm::Error kernelSoftmax(const ir::Node &n, TensorIns in, TensorOuts out) {
  const float *x = in[0]->f32();
  float *y = out[0]->f32();
  forEachSlice(n, in[0]->shape(), [&](int64_t size, auto at) {
    auto [mx, lse] = maxAndLogSumExp(x, size, at);
    for (int64_t a = 0; a < size; ++a)
      y[at(a)] = static_cast<float>(std::exp(double(x[at(a)]) - mx - lse));
  });
  return llvm::Error::success();
}

llvm::Error kernelLogSoftmax(const ir::Node &n, TensorIns in, TensorOuts out) {
  const float *x = in[0]->f32();
  float *y = out[0]->f32();
  forEachSlice(n, in[0]->shape(), [&](int64_t size, auto at) {
    auto [mx, lse] = maxAndLogSumExp(x, size, at);
    for (int64_t a = 0; a < size; ++a)
      y[at(a)] = static_cast<float>(double(x[at(a)]) - mx - lse);
  });
  return llvm::Error::success();
}

llvm::Error kernelSoftmaxGrad(const ir::Node &n, TensorIns in, TensorOuts out) {
  // dx = y * (dy - sum(dy * y)) along the axis; y is the softmax output.
  const float *y = in[0]->f32(), *dy = in[1]->f32();
  float *dx = out[0]->f32();
  forEachSlice(n, in[0]->shape(), [&](int64_t size, auto at) {
    double dot = 0;
    for (int64_t a = 0; a < size; ++a)
      dot += double(dy[at(a)]) * double(y[at(a)]);
    for (int64_t a = 0; a < size; ++a)
      dx[at(a)] = static_cast<float>(double(y[at(a)]) * (double(dy[at(a)]) - dot));
  });
  return llvm::Error::success();
}

llvm::Error kernelLogSoftmaxGrad(const ir::Node &n, TensorIns in, TensorOuts out) {
  // dx = dy - exp(y) * sum(dy) along the axis; y is the log_softmax output.
  const float *y = in[0]->f32(), *dy = in[1]->f32();
  float *dx = out[0]->f32();
  forEachSlice(n, in[0]->shape(), [&](int64_t size, auto at) {
    double sum = 0;
    for (int64_t a = 0; a < size; ++a)
      sum += double(dy[at(a)]);
    for (int64_t a = 0; a < size; ++a)
      dx[at(a)] = static_cast<float>(double(dy[at(a)]) - std::exp(double(y[at(a)])) * sum);
  });
  return llvm::Error::success();
}

} // namespace gradc::interp
