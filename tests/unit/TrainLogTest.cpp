//===- tests/unit/TrainLogTest.cpp - CSV log, SVG plot, dev split ---------===//
#include "runtime/Dataset.h"
#include "runtime/TrainLog.h"

#include "tests/TestUtil.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace gradc;
using namespace gradc::rt;
using gradc::test::errorText;
using gradc::test::expectOk;

namespace {
std::vector<EpochRecord> history() {
  return {{1, 10, 0.9, 0.6, 0.8, 0.65, 0.1, 1.25},
          {2, 20, 0.5, 0.8, 0.55, 0.78, 0.05, 1.0},
          {3, 30, 0.3, 0.9, 0.5, 0.8, 0.01, 1.0}};
}
size_t count(const std::string &s, const std::string &what) {
  size_t n = 0;
  for (size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + 1))
    ++n;
  return n;
}
} // namespace

TEST(TrainLog, CsvHasOneFullPrecisionRowPerEpoch) {
  std::vector<EpochRecord> h = history();
  h[0].trainLoss = 0.1 + 0.2; // needs 17 digits to round-trip
  h[2].devLoss = h[2].devAcc = NAN;
  std::string csv = renderCsv(h);
  EXPECT_EQ(csv.substr(0, csv.find('\n')),
            "epoch,step,train_loss,train_acc,dev_loss,dev_acc,lr,seconds");
  EXPECT_EQ(count(csv, "\n"), 4u);
  EXPECT_NE(csv.find("1,10,0.30000000000000004,0.59999999999999998,"), std::string::npos) << csv;
  EXPECT_NE(csv.find("3,30,0.29999999999999999,0.90000000000000002,,,0.01,1.000\n"),
            std::string::npos)
      << csv;
}

TEST(TrainLog, PlotHasAxesTicksLabelsLegendAndCurves) {
  std::string svg = renderPlot(history(), "m<1>");
  EXPECT_EQ(svg.rfind("<svg ", 0), 0u);
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
  EXPECT_NE(svg.find("m&lt;1&gt;: training curves"), std::string::npos) << "title escaped";
  EXPECT_EQ(count(svg, "<polyline"), 4u) << "train/dev loss, train/dev accuracy";
  EXPECT_EQ(count(svg, ">epoch</text>"), 2u);
  EXPECT_NE(svg.find(">accuracy (%)</text>"), std::string::npos);
  for (const char *legend : {">train loss<", ">dev loss<", ">train acc<", ">dev acc<"})
    EXPECT_NE(svg.find(legend), std::string::npos) << legend;
  EXPECT_EQ(count(svg, "<circle"), 12u) << "a dot per epoch per curve";
  // Without a dev set only the train curves are drawn.
  std::vector<EpochRecord> h = history();
  for (EpochRecord &r : h)
    r.devLoss = r.devAcc = NAN;
  EXPECT_EQ(count(renderPlot(h, "m"), "<polyline"), 2u);
  EXPECT_NE(renderPlot({}, "m").find("no epochs yet"), std::string::npos);
}

TEST(DevSplit, DeterministicBySeedAndDisjoint) {
  Dataset set;
  set.features = Tensor(DType::F32, {20, 2});
  set.labels = Tensor(DType::I32, {20});
  set.source = "s";
  for (int i = 0; i < 20; ++i) {
    set.features.f32()[2 * i] = static_cast<float>(i);
    set.features.f32()[2 * i + 1] = -static_cast<float>(i);
    set.labels.i32()[i] = i;
  }
  auto [train, dev] = expectOk(splitDataset(set, 0.25, 7));
  EXPECT_EQ(train.count(), 15);
  EXPECT_EQ(dev.count(), 5);
  std::vector<int> seen(20, 0);
  for (const Dataset *d : {&train, &dev})
    for (int64_t i = 0; i < d->count(); ++i) {
      int label = d->labels.i32()[i];
      ++seen[label];
      EXPECT_EQ(d->features.f32()[2 * i], static_cast<float>(label)) << "rows stay paired";
    }
  for (int n : seen)
    EXPECT_EQ(n, 1);
  auto again = expectOk(splitDataset(set, 0.25, 7));
  auto other = expectOk(splitDataset(set, 0.25, 8));
  bool sameAsAgain = true, sameAsOther = true;
  for (int64_t i = 0; i < 5; ++i) {
    sameAsAgain &= again.second.labels.i32()[i] == dev.labels.i32()[i];
    sameAsOther &= other.second.labels.i32()[i] == dev.labels.i32()[i];
  }
  EXPECT_TRUE(sameAsAgain);
  EXPECT_FALSE(sameAsOther);
  EXPECT_EQ(errorText(splitDataset(set, 1.0, 1).takeError()),
            "the dev fraction must be in (0, 1), got 1.00");
}
