//===- runtime/Schedule.cpp - Learning-rate schedules ---------------------===//
#include "runtime/Schedule.h"

#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/FormatVariadic.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numbers>
#include <optional>

namespace gradc::rt {

static llvm::Error err(const llvm::Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), msg);
}

/// Shortest readable form: "0.5", "1e-05".
static std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

std::optional<Schedule::Kind> parseScheduleKind(llvm::StringRef s) {
  return llvm::StringSwitch<std::optional<Schedule::Kind>>(s)
      .Case("constant", Schedule::Kind::Constant)
      .Case("step", Schedule::Kind::Step)
      .Case("exponential", Schedule::Kind::Exponential)
      .Case("cosine", Schedule::Kind::Cosine)
      .Default(std::nullopt);
}

const char *scheduleKindName(Schedule::Kind k) {
  switch (k) {
  case Schedule::Kind::Constant:
    return "constant";
  case Schedule::Kind::Step:
    return "step";
  case Schedule::Kind::Exponential:
    return "exponential";
  case Schedule::Kind::Cosine:
    return "cosine";
  }
  return "constant";
}

llvm::Error Schedule::check(double baseLr) const {
  if (warmup < 0)
    return err(llvm::formatv("warmup must be a non-negative step count, got {0}", warmup));
  if (kind == Kind::Step && stepSize < 1)
    return err(llvm::formatv("step-size must be at least 1, got {0}", stepSize));
  if ((kind == Kind::Step || kind == Kind::Exponential) &&
      (!std::isfinite(gamma) || gamma <= 0 || gamma > 1))
    return err(llvm::formatv("gamma must be in (0, 1], got {0}", num(gamma)));
  if (kind == Kind::Cosine && (!std::isfinite(etaMin) || etaMin < 0 || etaMin > baseLr))
    return err(llvm::formatv("eta-min must be in [0, lr], got {0}", num(etaMin)));
  return llvm::Error::success();
}

std::string Schedule::describe() const {
  std::string s = scheduleKindName(kind);
  const char *unit = perEpoch ? "epoch" : "step";
  if (kind == Kind::Step)
    s += llvm::formatv(" (gamma {0} every {1} {2}s)", num(gamma), stepSize, unit).str();
  else if (kind == Kind::Exponential)
    s += llvm::formatv(" (gamma {0} per {1})", num(gamma), unit).str();
  else if (kind == Kind::Cosine)
    s += llvm::formatv(" (eta_min {0})", num(etaMin)).str();
  if (warmup > 0)
    s += llvm::formatv(" + warmup {0}", warmup).str();
  return s;
}

double scheduledLr(const Schedule &s, double baseLr, int64_t t, int64_t stepsPerEpoch,
                   int64_t totalSteps) {
  if (t < s.warmup)
    return baseLr * static_cast<double>(t + 1) / static_cast<double>(s.warmup);
  int64_t u = t - s.warmup;
  int64_t k = s.perEpoch ? u / std::max<int64_t>(stepsPerEpoch, 1) : u;
  switch (s.kind) {
  case Schedule::Kind::Constant:
    return baseLr;
  case Schedule::Kind::Step:
    return baseLr * std::pow(s.gamma, static_cast<double>(k / s.stepSize));
  case Schedule::Kind::Exponential:
    return baseLr * std::pow(s.gamma, static_cast<double>(k));
  case Schedule::Kind::Cosine: {
    int64_t horizon = totalSteps - s.warmup;
    if (horizon <= 0)
      return s.etaMin;
    double x = static_cast<double>(std::min(u, horizon)) / static_cast<double>(horizon);
    return s.etaMin + (baseLr - s.etaMin) * (1 + std::cos(std::numbers::pi * x)) / 2;
  }
  }
  return baseLr;
}

} // namespace gradc::rt
