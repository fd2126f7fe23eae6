//===- runtime/Schedule.h - Learning-rate schedules ---------------*- C++ -*-===//
//
// The learning rate of every training step, a pure function of the 0-based
// global step t (so a resumed run needs only the step count). A schedule is
// an optional linear warmup over the first W steps followed by a main
// schedule evaluated at u = t - W, the steps since warmup ended:
//
//   warmup (t < W)  lr = base * (t + 1) / W
//                   (torch LinearLR(start_factor=1/W, total_iters=W-1))
//   constant        lr = base
//   step            lr = base * gamma^floor(k / step_size)          (StepLR)
//   exponential     lr = base * gamma^k                        (ExponentialLR)
//   cosine          lr = eta_min + (base - eta_min) * (1 + cos(pi * u / T)) / 2
//                   with T = total_steps - W, u clamped to T (CosineAnnealingLR,
//                   T_max = T, stepped once per step)
//
// For step and exponential, k counts epochs (unit "epoch", the default:
// k = floor(u / steps_per_epoch), the scheduler stepped once per epoch) or
// steps (unit "step": k = u). With warmup this is torch's
// SequentialLR([LinearLR, main], milestones=[W]). Computed in double.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <optional>
#include <string>

namespace gradc::rt {

struct Schedule {
  enum class Kind { Constant, Step, Exponential, Cosine };
  Kind kind = Kind::Constant;
  int64_t stepSize = 1; // step: decay every stepSize epochs (or steps)
  double gamma = 0.1;   // step, exponential: decay factor
  double etaMin = 0;    // cosine: the final rate
  int64_t warmup = 0;   // linear warmup steps
  bool perEpoch = true; // step, exponential: k counts epochs (else steps)

  /// Checks the fields (step_size >= 1, gamma in (0, 1], eta_min >= 0 and
  /// below `baseLr`, warmup >= 0); the message names the field.
  llvm::Error check(double baseLr) const;
  /// "cosine (eta_min 0) + warmup 100", for the run's header line.
  std::string describe() const;
};

/// "constant", "step", "exponential", "cosine" -> kind; nullopt otherwise.
std::optional<Schedule::Kind> parseScheduleKind(llvm::StringRef s);
const char *scheduleKindName(Schedule::Kind k);

/// The learning rate of 0-based step `t` (see the file comment).
/// `stepsPerEpoch` >= 1; `totalSteps` is the run's planned step count
/// (cosine's horizon; epochs * stepsPerEpoch, or --max-steps).
double scheduledLr(const Schedule &s, double baseLr, int64_t t, int64_t stepsPerEpoch,
                   int64_t totalSteps);

} // namespace gradc::rt
