//===- runtime/Augment.h - Seeded image augmentation --------------*- C++ -*-===//
//
// `--augment crop:4,flip,noise:0.05` transforms each training sample before
// its step, in this order:
//   crop:P     pad the image with P zero pixels on every side and cut a
//              random H x W window (a shift by dy, dx in [-P, P], zeros
//              shifted in), as torchvision's RandomCrop(size, padding=P)
//   flip       mirror left-right with probability 1/2 (RandomHorizontalFlip)
//   noise:S    add gaussian noise with standard deviation S to every value
// Samples must be images: [H, W] or [C, H, W] (all channels get the same
// crop and flip). The random numbers of sample i of 0-based step t come from
// Rng(seed, kAugmentStream + t * batch + i): a pure function of the seed and
// the position, so runs repeat and resumed runs continue exactly.
// Dev and test evaluation never augment.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Rng.h"
#include "runtime/Tensor.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <string>
#include <vector>

namespace gradc::rt {

struct Augment {
  int64_t cropPad = 0; // 0: no crop
  bool flip = false;
  double noise = 0; // 0: no noise
  bool any() const { return cropPad > 0 || flip || noise > 0; }
  /// The canonical spec ("crop:4,flip,noise:0.05"), "none" when empty.
  std::string describe() const;
};

/// Parses "crop:P,flip,noise:S" (any subset, any order); errors name the item.
llvm::Expected<Augment> parseAugment(llvm::StringRef spec);

/// Checks that samples shaped `sampleShape` ([H, W] or [C, H, W]) can be
/// augmented; `source` names the data in errors.
llvm::Error checkAugmentable(const Augment &a, const Shape &sampleShape, llvm::StringRef source);

/// Transforms one sample in place (see the file comment); `scratch` is reused.
void augmentSample(const Augment &a, float *sample, const Shape &sampleShape, Rng &rng,
                   std::vector<float> &scratch);

/// Copies `in` (C x H x W) shifted by (dy, dx) into `out`, zeros where the
/// source is outside: out[c][y][x] = in[c][y + dy][x + dx].
void shiftImage(const float *in, float *out, int64_t c, int64_t h, int64_t w, int64_t dy,
                int64_t dx);

/// Stream base of augmentation ("AUGMNT").
inline constexpr uint64_t kAugmentStream = 0x4155474d4e54ull;

} // namespace gradc::rt
