//===- tests/unit/AugmentTest.cpp - Seeded image augmentation -------------===//
#include "runtime/Augment.h"

#include "tests/TestUtil.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

using namespace gradc;
using namespace gradc::rt;
using gradc::test::errorText;
using gradc::test::expectOk;

namespace {
std::vector<float> ramp(int64_t n) {
  std::vector<float> v(n);
  std::iota(v.begin(), v.end(), 1.0f);
  return v;
}
} // namespace

TEST(Augment, ParsesSpecsAndNamesBadItems) {
  Augment a = expectOk(parseAugment("crop:4,flip,noise:0.05"));
  EXPECT_EQ(a.cropPad, 4);
  EXPECT_TRUE(a.flip);
  EXPECT_DOUBLE_EQ(a.noise, 0.05);
  EXPECT_EQ(a.describe(), "crop:4,flip,noise:0.05");
  EXPECT_EQ(Augment{}.describe(), "none");
  EXPECT_EQ(errorText(parseAugment("rotate:10").takeError()),
            "--augment: unknown item 'rotate:10' (expected crop:P, flip, noise:S)");
  EXPECT_EQ(errorText(parseAugment("crop:x").takeError()),
            "--augment: crop needs a padding in pixels, 1 to 1024 (crop:4), got 'crop:x'");
  EXPECT_EQ(errorText(parseAugment("noise:-1").takeError()),
            "--augment: noise needs a positive standard deviation (noise:0.05), got 'noise:-1'");
  EXPECT_EQ(errorText(checkAugmentable(a, {4}, "iris.csv")),
            "--augment needs image samples ([H, W] or [C, H, W]); iris.csv has samples shaped [4]");
  expectOk(checkAugmentable(a, {28, 28}, "m"));
  expectOk(checkAugmentable(a, {3, 8, 8}, "m"));
}

TEST(Augment, ShiftFillsZeros) {
  // 1 channel, 3 x 4.
  std::vector<float> in = ramp(12), out(12);
  shiftImage(in.data(), out.data(), 1, 3, 4, 1, -2);
  // out[y][x] = in[y+1][x-2]
  std::vector<float> want = {0, 0, 5, 6, 0, 0, 9, 10, 0, 0, 0, 0};
  EXPECT_EQ(out, want);
  shiftImage(in.data(), out.data(), 1, 3, 4, 0, 0);
  EXPECT_EQ(out, in);
}

TEST(Augment, CropIsAShiftWithinThePadding) {
  Augment a;
  a.cropPad = 2;
  std::vector<float> scratch;
  int shifted = 0;
  for (uint64_t s = 0; s < 50; ++s) {
    std::vector<float> img = ramp(2 * 6 * 6);
    Rng rng(1, s);
    augmentSample(a, img.data(), {2, 6, 6}, rng, scratch);
    // Find the shift that explains the result; both channels share it.
    bool found = false;
    for (int dy = -2; dy <= 2 && !found; ++dy)
      for (int dx = -2; dx <= 2 && !found; ++dx) {
        std::vector<float> want(72), src = ramp(72);
        shiftImage(src.data(), want.data(), 2, 6, 6, dy, dx);
        if (want == img) {
          found = true;
          shifted += dy != 0 || dx != 0;
        }
      }
    EXPECT_TRUE(found) << "sample stream " << s;
  }
  EXPECT_GT(shifted, 30);
}

TEST(Augment, FlipMirrorsRowsAboutHalfTheTime) {
  Augment a;
  a.flip = true;
  std::vector<float> scratch, src = ramp(3 * 5), mirrored(15);
  for (int r = 0; r < 3; ++r)
    for (int x = 0; x < 5; ++x)
      mirrored[r * 5 + x] = src[r * 5 + 4 - x];
  int flips = 0;
  for (uint64_t s = 0; s < 200; ++s) {
    std::vector<float> img = src;
    Rng rng(9, s);
    augmentSample(a, img.data(), {3, 5}, rng, scratch);
    ASSERT_TRUE(img == src || img == mirrored);
    flips += img == mirrored;
  }
  EXPECT_GT(flips, 70);
  EXPECT_LT(flips, 130);
}

TEST(Augment, NoiseHasTheRequestedSpread) {
  Augment a;
  a.noise = 0.5;
  std::vector<float> scratch, img(100 * 100, 1.0f);
  Rng rng(3, 4);
  augmentSample(a, img.data(), {100, 100}, rng, scratch);
  double mean = 0, sq = 0;
  for (float v : img) {
    mean += v - 1;
    sq += (v - 1) * (v - 1);
  }
  mean /= img.size();
  double sd = std::sqrt(sq / img.size() - mean * mean);
  EXPECT_NEAR(mean, 0, 0.02);
  EXPECT_NEAR(sd, 0.5, 0.02);
}

TEST(Augment, DeterministicPerStream) {
  Augment a = expectOk(parseAugment("crop:3,flip,noise:0.1"));
  std::vector<float> scratch;
  auto run = [&](uint64_t seed, uint64_t stream) {
    std::vector<float> img = ramp(28 * 28);
    Rng rng(seed, stream);
    augmentSample(a, img.data(), {28, 28}, rng, scratch);
    return img;
  };
  EXPECT_EQ(run(1, kAugmentStream + 5), run(1, kAugmentStream + 5));
  EXPECT_NE(run(1, kAugmentStream + 5), run(1, kAugmentStream + 6));
  EXPECT_NE(run(1, kAugmentStream + 5), run(2, kAugmentStream + 5));
}
