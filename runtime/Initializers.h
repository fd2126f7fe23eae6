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

/// Fills `t` (f32) according to `spec`, drawing from `rng`. Unknown kinds and
/// invalid parameters (std < 0, low > high) are errors naming `what`.
llvm::Error initializeTensor(Tensor &t, const InitSpec &spec, Rng &rng,
                             const std::string &what);

/// The initializer kinds initializeTensor understands.
bool isKnownInitializer(const std::string &kind);

} // namespace gradc::rt
