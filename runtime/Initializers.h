//===- runtime/Initializers.h - Seeded param initializers --------*- C++ -*-===//
//
// Fills a param tensor from its InitSpec. Fan-in/fan-out conventions:
//   rank 1 [n]:            fan_in = fan_out = n
//   rank 2 [in, out]:      matmul weights as gradc stores them (x @ W)
//   rank >= 3 [out, in, k...]: conv weights (OIHW): fan_in = in * prod(k),
//                          fan_out = out * prod(k)
// kaiming_* use gain sqrt(2) (ReLU) unless InitSpec::gain is set:
//   kaiming_normal:  N(0, gain / sqrt(fan_in))
//   kaiming_uniform: U(-b, b), b = gain * sqrt(3 / fan_in)
//   xavier_uniform:  U(-b, b), b = gain(1) * sqrt(6 / (fan_in + fan_out))
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Executable.h"
#include "runtime/Rng.h"
#include "runtime/Tensor.h"

#include "llvm/Support/Error.h"

namespace gradc::rt {

/// How an initializer draws element values.
enum class InitDraw { None, Uniform, Normal };

/// Every element of a param initialized by a spec is float(a + b * x), x
/// the next draw (Rng::uniform, Rng::normal, or 0 for None), computed in
/// double. Generated code (AOT param initialization) uses the same a and b.
struct InitAffine {
  double a = 0, b = 0;
  InitDraw draw = InitDraw::None;
};

/// The affine form of `spec` for a param of `shape` and `dtype`; the errors
/// of initializeTensor.
llvm::Expected<InitAffine> initializerAffine(const InitSpec &spec, const Shape &shape,
                                             DType dtype, const std::string &what);

/// Fills `t` (f32) according to `spec`, drawing from `rng`. Unknown kinds and
/// invalid parameters (std < 0, low > high) are errors naming `what`.
llvm::Error initializeTensor(Tensor &t, const InitSpec &spec, Rng &rng,
                             const std::string &what);

/// The initializer kinds initializeTensor understands.
bool isKnownInitializer(const std::string &kind);

} // namespace gradc::rt
