//===- runtime/Initializers.cpp - Seeded param initializers ---------------===//
//
// Each kind reduces to "every element = a + b * draw()" with draw() a uniform
// in [0, 1), a standard normal, or nothing (constants); the formulas for a
// and b are in Initializers.h. Elements are drawn in order from one stream,
// so a param's values depend only on (seed, stream) and its shape.
//
//===----------------------------------------------------------------------===//
#include "runtime/Initializers.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/FormatVariadic.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace gradc::rt {

namespace {

constexpr llvm::StringLiteral kKinds[] = {"zeros",         "constant",       "normal",
                                          "uniform",       "kaiming_normal", "kaiming_uniform",
                                          "xavier_uniform"};

llvm::Error error(const std::string &what, const llvm::Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), what + ": " + msg);
}

/// "%g" text of a number for messages: "-1", "0.5".
std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

struct Fans {
  double in = 1, out = 1;
};

/// Fan-in and fan-out by the conventions of Initializers.h.
Fans fansOf(const Shape &s) {
  Fans f;
  if (s.size() == 1) {
    f.in = f.out = double(s[0]);
  } else if (s.size() == 2) {
    f.in = double(s[0]);
    f.out = double(s[1]);
  } else if (s.size() >= 3) {
    double receptive = 1;
    for (size_t i = 2; i < s.size(); ++i)
      receptive *= double(s[i]);
    f.in = double(s[1]) * receptive;
    f.out = double(s[0]) * receptive;
  }
  return f;
}

} // namespace

bool isKnownInitializer(const std::string &kind) { return llvm::is_contained(kKinds, kind); }

llvm::Expected<InitAffine> initializerAffine(const InitSpec &spec, const Shape &shape,
                                             DType dtype, const std::string &what) {
  if (!isKnownInitializer(spec.kind))
    return error(what, "unknown initializer '" + spec.kind + "'");
  for (double v : {spec.value, spec.mean, spec.std, spec.low, spec.high, spec.gain})
    if (!std::isfinite(v))
      return error(what, "initializer " + spec.kind + " has a non-finite parameter");
  if (spec.std < 0)
    return error(what, llvm::formatv("normal std must be >= 0, got {0}", num(spec.std)));
  if (spec.low > spec.high)
    return error(what, llvm::formatv("uniform low {0} is greater than high {1}", num(spec.low),
                                     num(spec.high)));
  if (spec.gain < 0)
    return error(what, llvm::formatv("gain must be >= 0, got {0}", num(spec.gain)));

  // Every element is a + b * draw().
  InitAffine r;
  double &a = r.a, &b = r.b;
  InitDraw &draw = r.draw;
  Fans fans = fansOf(shape);
  auto gainOr = [&](double dflt) { return spec.gain > 0 ? spec.gain : dflt; };
  llvm::StringRef kind = spec.kind;
  if (kind == "zeros") {
    a = 0;
  } else if (kind == "constant") {
    a = spec.value;
  } else if (kind == "normal") {
    a = spec.mean, b = spec.std, draw = InitDraw::Normal;
  } else if (kind == "uniform") {
    a = spec.low, b = spec.high - spec.low, draw = InitDraw::Uniform;
  } else if (kind == "kaiming_normal") {
    b = gainOr(std::sqrt(2.0)) / std::sqrt(fans.in), draw = InitDraw::Normal;
  } else if (kind == "kaiming_uniform") {
    double bound = gainOr(std::sqrt(2.0)) * std::sqrt(3.0 / fans.in);
    a = -bound, b = 2 * bound, draw = InitDraw::Uniform;
  } else {
    assert(kind == "xavier_uniform" && "kinds are listed in kKinds");
    double bound = gainOr(1.0) * std::sqrt(6.0 / (fans.in + fans.out));
    a = -bound, b = 2 * bound, draw = InitDraw::Uniform;
  }

  if (dtype == DType::I32) {
    // Integer params (rare: e.g. a fixed index table) take exact constants only.
    if (draw != InitDraw::None || a != std::trunc(a) || std::fabs(a) > 2147483647.0)
      return error(what, "initializer " + spec.kind + " cannot fill an i32 param");
    return r;
  }
  if (!std::isfinite(static_cast<float>(a)) || !std::isfinite(static_cast<float>(b)))
    return error(what, "initializer " + spec.kind + " parameters are out of f32 range");
  return r;
}

llvm::Error initializeTensor(Tensor &t, const InitSpec &spec, Rng &rng, const std::string &what) {
  auto affine = initializerAffine(spec, t.shape(), t.dtype(), what);
  if (!affine)
    return affine.takeError();
  if (t.numel() == 0)
    return llvm::Error::success();
  auto [a, b, draw] = *affine;
  if (t.dtype() == DType::I32) {
    std::fill_n(t.i32(), t.numel(), static_cast<int32_t>(a));
    return llvm::Error::success();
  }
  float *p = t.f32();
  for (int64_t i = 0, n = t.numel(); i < n; ++i) {
    double x = draw == InitDraw::Normal    ? rng.normal()
               : draw == InitDraw::Uniform ? rng.uniform()
                                           : 0;
    p[i] = static_cast<float>(a + b * x);
  }
  return llvm::Error::success();
}

} // namespace gradc::rt
