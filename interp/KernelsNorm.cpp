//===- interp/KernelsNorm.cpp - batch_norm (eval) and dropout, naively -----===//
//
//   batch_norm: y = (x - running_mean[c]) / sqrt(running_var[c] + eps)
//                   * gamma[c] + beta[c], c the axis-1 index (eval form; the
//               training form is made of other ops by the train-mode pass)
//   dropout:    y = x (eval form)
//   dropout_train(x, step): y = x * 1/(1-p) where the element is kept, else
//               0; kept iff (dropoutHash(seed, step, index) >> 40) >=
//               dropoutThreshold(p) (ir/Vision.h)
//
//===----------------------------------------------------------------------===//
#include "interp/KernelUtil.h"
#include "ir/Vision.h"

#include <cmath>
#include <cstring>

namespace gradc::interp {

llvm::Error kernelBatchNorm(const ir::Node &n, TensorIns in, TensorOuts out) {
  const Shape &s = in[0]->shape();
  int64_t channels = s[1], inner = s.size() == 4 ? s[2] * s[3] : 1;
  double eps = n.attrs().getFloat("eps", 1e-5);
  const float *x = in[0]->f32(), *gamma = in[1]->f32(), *beta = in[2]->f32();
  const float *mean = in[3]->f32(), *var = in[4]->f32();
  float *y = out[0]->f32();
  for (int64_t e = 0; e < out[0]->numel(); ++e) {
    int64_t c = (e / inner) % channels;
    double xhat = (double(x[e]) - mean[c]) / std::sqrt(double(var[c]) + eps);
    y[e] = static_cast<float>(xhat * gamma[c] + beta[c]);
  }
  return llvm::Error::success();
}

llvm::Error kernelDropout(const ir::Node &, TensorIns in, TensorOuts out) {
  if (in[0]->bytes())
    std::memcpy(out[0]->data(), in[0]->data(), in[0]->bytes());
  return llvm::Error::success();
}

llvm::Error kernelDropoutTrain(const ir::Node &n, TensorIns in, TensorOuts out) {
  double p = n.attrs().getFloat("p", 0.5);
  uint64_t seed = static_cast<uint64_t>(n.attrs().getInt("seed", 0));
  float stepF = in[1]->f32()[0];
  if (!(stepF >= 0 && stepF < 1.8e19f))
    return kernelError("dropout_train: the step must be a non-negative count");
  uint64_t step = static_cast<uint64_t>(stepF);
  uint64_t threshold = ir::dropoutThreshold(p);
  float scale = ir::dropoutScale(p);
  for (int64_t e = 0; e < out[0]->numel(); ++e) {
    bool keep = (ir::dropoutHash(seed, step, uint64_t(e)) >> 40) >= threshold;
    out[0]->f32()[e] = keep ? static_cast<float>(double(in[0]->f32()[e]) * scale) : 0.0f;
  }
  return llvm::Error::success();
}

} // namespace gradc::interp
