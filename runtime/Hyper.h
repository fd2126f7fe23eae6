//===- runtime/Hyper.h - Values of hyper inputs per step ---------*- C++ -*-===//
//
// The compiled training step reads a few scalars that change from step to
// step: the learning rate (schedules change it without recompiling) and the
// Adam factors that depend on the step count. They are computed here, on the
// host in double, exactly as torch.optim does, and only then rounded to the
// f32 the step reads.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Executable.h"
#include "runtime/Session.h"

#include "llvm/Support/Error.h"

namespace gradc::rt {

/// The value of a hyper input of `kind` for the 1-based `step`:
///   LearningRate             lr
///   AdamStepSize             lr / (1 - beta1^step)
///   AdamBiasCorrection2Sqrt  sqrt(1 - beta2^step)
///   AdamWDecay               1 - lr * weight_decay
///   Step                     step (seeds dropout masks)
double hyperValue(HyperKind kind, const OptimizerSettings &opt, double lr, int64_t step);

/// Writes every HyperInput buffer of `s` (bound by setBatch) for `step`.
llvm::Error feedHyperInputs(Session &s, double lr, int64_t step);

} // namespace gradc::rt
