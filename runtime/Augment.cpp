//===- runtime/Augment.cpp - Seeded image augmentation --------------------===//
#include "runtime/Augment.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/Support/FormatVariadic.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace gradc::rt {

static llvm::Error error(const llvm::Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), msg);
}

std::string Augment::describe() const {
  std::string s;
  auto add = [&](const std::string &item) { s += (s.empty() ? "" : ",") + item; };
  if (cropPad > 0)
    add("crop:" + std::to_string(cropPad));
  if (flip)
    add("flip");
  if (noise > 0) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "noise:%g", noise);
    add(buf);
  }
  return s.empty() ? "none" : s;
}

llvm::Expected<Augment> parseAugment(llvm::StringRef spec) {
  Augment a;
  llvm::SmallVector<llvm::StringRef, 4> items;
  spec.split(items, ',');
  for (llvm::StringRef item : items) {
    auto [name, value] = item.trim().split(':');
    if (name == "flip" && value.empty()) {
      a.flip = true;
    } else if (name == "crop") {
      if (value.getAsInteger(10, a.cropPad) || a.cropPad < 1 || a.cropPad > 1024)
        return error("--augment: crop needs a padding in pixels, 1 to 1024 (crop:4), got '" +
                     item + "'");
    } else if (name == "noise") {
      std::string v = value.str();
      char *end = nullptr;
      a.noise = v.empty() ? NAN : std::strtod(v.c_str(), &end);
      if (v.empty() || end != v.c_str() + v.size() || !std::isfinite(a.noise) || a.noise <= 0)
        return error("--augment: noise needs a positive standard deviation (noise:0.05), got '" +
                     item + "'");
    } else {
      return error("--augment: unknown item '" + item + "' (expected crop:P, flip, noise:S)");
    }
  }
  return a;
}

llvm::Error checkAugmentable(const Augment &a, const Shape &sampleShape, llvm::StringRef source) {
  if (!a.any())
    return llvm::Error::success();
  if (sampleShape.size() != 2 && sampleShape.size() != 3)
    return error(llvm::formatv("--augment needs image samples ([H, W] or [C, H, W]); {0} has "
                               "samples shaped {1}",
                               source, shapeToString(sampleShape)));
  return llvm::Error::success();
}

void shiftImage(const float *in, float *out, int64_t c, int64_t h, int64_t w, int64_t dy,
                int64_t dx) {
  for (int64_t k = 0; k < c; ++k)
    for (int64_t y = 0; y < h; ++y) {
      float *row = out + (k * h + y) * w;
      int64_t sy = y + dy;
      if (sy < 0 || sy >= h) {
        std::memset(row, 0, w * sizeof(float));
        continue;
      }
      const float *src = in + (k * h + sy) * w;
      for (int64_t x = 0; x < w; ++x) {
        int64_t sx = x + dx;
        row[x] = sx >= 0 && sx < w ? src[sx] : 0.0f;
      }
    }
}

void augmentSample(const Augment &a, float *sample, const Shape &shape, Rng &rng,
                   std::vector<float> &scratch) {
  int64_t c = shape.size() == 3 ? shape[0] : 1;
  int64_t h = shape[shape.size() - 2], w = shape[shape.size() - 1];
  int64_t n = c * h * w;
  if (a.cropPad > 0) {
    int64_t span = 2 * a.cropPad + 1;
    int64_t dy = static_cast<int64_t>(rng.below(span)) - a.cropPad;
    int64_t dx = static_cast<int64_t>(rng.below(span)) - a.cropPad;
    scratch.resize(n);
    shiftImage(sample, scratch.data(), c, h, w, dy, dx);
    std::memcpy(sample, scratch.data(), n * sizeof(float));
  }
  if (a.flip && (rng.next() & 1))
    for (int64_t r = 0; r < c * h; ++r) {
      float *row = sample + r * w;
      for (int64_t x = 0; x < w / 2; ++x)
        std::swap(row[x], row[w - 1 - x]);
    }
  if (a.noise > 0)
    for (int64_t i = 0; i < n; ++i)
      sample[i] += static_cast<float>(a.noise * rng.normal());
}

} // namespace gradc::rt
