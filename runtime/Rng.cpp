//===- runtime/Rng.cpp - Normal deviates for the counter-based RNG --------===//
//
// Box-Muller: from two uniforms u1 in (0, 1] and u2 in [0, 1),
// z = sqrt(-2 ln u1) * cos(2 pi u2) is standard normal. We keep only the
// cosine branch (the sine branch would be a second, independent deviate) so
// that every call draws exactly two numbers: the n-th normal of a stream is a
// pure function of (seed, stream, counter), like everything else in Rng.
//
//===----------------------------------------------------------------------===//
#include "runtime/Rng.h"

#include <cmath>
#include <numbers>

namespace gradc::rt {

double Rng::normal() {
  // 1 - [0, 1) is (0, 1]: log never sees 0.
  double u1 = 1.0 - uniform();
  double u2 = uniform();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

} // namespace gradc::rt
