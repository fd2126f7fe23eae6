//===- runtime/Hyper.cpp - Values of hyper inputs per step ----------------===//
//
// Mirrors torch.optim (1.13) Adam/AdamW: bias_correction1 = 1 - beta1**t,
// bias_correction2 = 1 - beta2**t, step_size = lr / bias_correction1, and the
// denominator divides sqrt(v) by sqrt(bias_correction2), all in double.
//
//===----------------------------------------------------------------------===//
#include "runtime/Hyper.h"

#include <cassert>
#include <cmath>

namespace gradc::rt {

double hyperValue(HyperKind kind, const OptimizerSettings &opt, double lr, int64_t step) {
  assert(step >= 1 && "steps count from 1");
  double t = static_cast<double>(step);
  switch (kind) {
  case HyperKind::LearningRate:
    return lr;
  case HyperKind::AdamStepSize:
    return lr / (1 - std::pow(opt.beta1, t));
  case HyperKind::AdamBiasCorrection2Sqrt:
    return std::sqrt(1 - std::pow(opt.beta2, t));
  case HyperKind::AdamWDecay:
    return 1 - lr * opt.weightDecay;
  case HyperKind::Step: // exact in f32 up to 2^24 steps
    return t;
  }
  return lr;
}

llvm::Error feedHyperInputs(Session &s, double lr, int64_t step) {
  const std::vector<BufferDesc> &bufs = s.buffers();
  for (size_t i = 0; i < bufs.size(); ++i) {
    const BufferDesc &b = bufs[i];
    if (b.role != BufferRole::HyperInput)
      continue;
    Tensor &t = s.buffer(i);
    if (t.dtype() != DType::F32 || t.numel() != 1)
      return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                     "hyper input '" + b.name + "' must be an f32 scalar");
    t.f32()[0] = static_cast<float>(hyperValue(b.hyper, b.optimizer, lr, step));
  }
  return llvm::Error::success();
}

} // namespace gradc::rt
