//===- tests/unit/ScheduleTest.cpp - Learning-rate schedules --------------===//
//
// scheduledLr against closed forms and against the rates torch.optim's
// schedulers produce (1.13; the values below come from
// tests/unit/schedule_ref.py: the lr each step used, schedulers stepped per
// step or per epoch as the comment says).
//
//===----------------------------------------------------------------------===//
#include "runtime/Schedule.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <vector>

using namespace gradc::rt;

namespace {
void expectRates(const Schedule &s, int64_t perEpoch, int64_t total,
                 const std::vector<double> &want) {
  for (size_t t = 0; t < want.size(); ++t)
    EXPECT_NEAR(scheduledLr(s, 0.1, static_cast<int64_t>(t), perEpoch, total), want[t],
                1e-12 * want[t])
        << "step " << t;
}
} // namespace

TEST(Schedule, ConstantIsTheBaseRate) {
  Schedule s;
  for (int64_t t : {0, 1, 100, 12345})
    EXPECT_EQ(scheduledLr(s, 0.25, t, 10, 100), 0.25);
}

TEST(Schedule, CosineMatchesTorchCosineAnnealingLR) {
  // CosineAnnealingLR(T_max=20, eta_min=0.001), stepped every step.
  Schedule s;
  s.kind = Schedule::Kind::Cosine;
  s.etaMin = 0.001;
  expectRates(s, 7, 20,
              {0.1, 0.09939057285945932, 0.09757729755661011, 0.09460482294732421,
               0.09054634122155991, 0.0855017856687341, 0.07959536998847742,
               0.07297252973710756, 0.0657963412215599, 0.05824350601949144, 0.0505,
               0.04275649398050859, 0.03520365877844011, 0.02802747026289244,
               0.02140463001152259, 0.015498214331265903, 0.010453658778440109,
               0.006395177052675795, 0.0034227024433899004, 0.001609427140540686, 0.001});
  // Past the horizon (--max-steps beyond the plan cannot happen, but stay put).
  EXPECT_DOUBLE_EQ(scheduledLr(s, 0.1, 50, 7, 20), 0.001);
}

TEST(Schedule, StepDecayPerEpochMatchesTorchStepLR) {
  // StepLR(step_size=2, gamma=0.5) stepped once per 3-step epoch.
  Schedule s;
  s.kind = Schedule::Kind::Step;
  s.stepSize = 2;
  s.gamma = 0.5;
  expectRates(s, 3, 100,
              {0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.025, 0.025,
               0.025});
}

TEST(Schedule, StepDecayPerStep) {
  Schedule s;
  s.kind = Schedule::Kind::Step;
  s.stepSize = 3;
  s.gamma = 0.1;
  s.perEpoch = false;
  for (int64_t t = 0; t < 12; ++t)
    EXPECT_DOUBLE_EQ(scheduledLr(s, 1.0, t, 1000, 100), std::pow(0.1, t / 3)) << t;
}

TEST(Schedule, ExponentialPerStepMatchesTorchExponentialLR) {
  Schedule s;
  s.kind = Schedule::Kind::Exponential;
  s.gamma = 0.9;
  s.perEpoch = false;
  expectRates(s, 5, 100,
              {0.1, 0.09000000000000001, 0.08100000000000002, 0.07290000000000002,
               0.06561000000000002, 0.05904900000000002, 0.05314410000000002,
               0.04782969000000002, 0.043046721000000024, 0.03874204890000002});
}

TEST(Schedule, ExponentialPerEpoch) {
  Schedule s;
  s.kind = Schedule::Kind::Exponential;
  s.gamma = 0.5;
  for (int64_t t = 0; t < 20; ++t)
    EXPECT_DOUBLE_EQ(scheduledLr(s, 1.0, t, 4, 100), std::pow(0.5, t / 4)) << t;
}

TEST(Schedule, WarmupThenCosineMatchesTorchSequentialLR) {
  // SequentialLR([LinearLR(start_factor=1/5, total_iters=4),
  //               CosineAnnealingLR(T_max=15)], milestones=[5]), 20 steps.
  Schedule s;
  s.kind = Schedule::Kind::Cosine;
  s.warmup = 5;
  expectRates(s, 4, 20,
              {0.020000000000000004, 0.04000000000000001, 0.06000000000000001,
               0.08000000000000002, 0.10000000000000002, 0.1, 0.09890738003669029,
               0.09567727288213004, 0.09045084971874738, 0.08345653031794292,
               0.07500000000000001, 0.06545084971874739, 0.05522642316338269,
               0.04477357683661735, 0.03454915028125265, 0.02500000000000002,
               0.01654346968205711, 0.009549150281252635, 0.004322727117869953,
               0.001092619963309716});
}

TEST(Schedule, WarmupDelaysStepDecay) {
  Schedule s;
  s.kind = Schedule::Kind::Step;
  s.stepSize = 1;
  s.gamma = 0.5;
  s.perEpoch = false;
  s.warmup = 2;
  EXPECT_DOUBLE_EQ(scheduledLr(s, 1.0, 0, 10, 10), 0.5);
  EXPECT_DOUBLE_EQ(scheduledLr(s, 1.0, 1, 10, 10), 1.0);
  EXPECT_DOUBLE_EQ(scheduledLr(s, 1.0, 2, 10, 10), 1.0);
  EXPECT_DOUBLE_EQ(scheduledLr(s, 1.0, 3, 10, 10), 0.5);
}

TEST(Schedule, CheckNamesTheField) {
  Schedule s;
  s.kind = Schedule::Kind::Step;
  s.stepSize = 0;
  EXPECT_EQ(llvm::toString(s.check(0.1)), "step-size must be at least 1, got 0");
  s.stepSize = 1;
  s.gamma = 1.5;
  EXPECT_EQ(llvm::toString(s.check(0.1)), "gamma must be in (0, 1], got 1.5");
  s = Schedule{};
  s.kind = Schedule::Kind::Cosine;
  s.etaMin = 0.5;
  EXPECT_EQ(llvm::toString(s.check(0.1)), "eta-min must be in [0, lr], got 0.5");
  s.etaMin = 0;
  s.warmup = -1;
  EXPECT_EQ(llvm::toString(s.check(0.1)), "warmup must be a non-negative step count, got -1");
  EXPECT_FALSE(parseScheduleKind("linear"));
  EXPECT_EQ(*parseScheduleKind("cosine"), Schedule::Kind::Cosine);
}
