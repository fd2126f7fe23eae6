//===- runtime/Rng.h - Counter-based random numbers --------------*- C++ -*-===//
//
// A counter-based generator: the n-th number of stream (seed, stream) is a
// pure function of (seed, stream, n), so results never depend on thread
// scheduling or on how many numbers other streams drew. The mixing function
// is SplitMix64 applied to a combined key and counter.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>

namespace gradc::rt {

class Rng {
public:
  Rng(uint64_t seed, uint64_t stream) : key_(mix(seed ^ mix(stream + 0x9E3779B97F4A7C15ull))) {}

  /// The counter-th 64-bit value of this stream.
  uint64_t at(uint64_t counter) const { return mix(key_ + mix(counter)); }
  uint64_t next() { return at(counter_++); }
  /// Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  /// Uniform integer in [0, n), n > 0 (Lemire's multiply-shift, unbiased enough for n < 2^32).
  uint64_t below(uint64_t n) {
    return static_cast<uint64_t>((static_cast<unsigned __int128>(next()) * n) >> 64);
  }
  /// Standard normal (Box-Muller; draws two uniforms).
  double normal();

  uint64_t counter() const { return counter_; }
  void setCounter(uint64_t c) { counter_ = c; }

  static uint64_t mix(uint64_t z) {
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }

private:
  uint64_t key_;
  uint64_t counter_ = 0;
};

} // namespace gradc::rt
