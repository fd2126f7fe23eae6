//===- tests/numeric/TrainModeTest.cpp - batch_norm and dropout by mode ---===//
//
// The train-mode pass (passes/TrainMode.cpp) against PyTorch's definitions,
// computed here in double:
//   - batch_norm in training: y normalized with the batch mean and biased
//     variance over (N, H, W); running_mean and running_var updated with
//     momentum, the variance unbiased (torch.nn.BatchNorm2d's rule), in the
//     JIT and the interpreter alike;
//   - dropout_train: about p of the elements are zero, the rest scaled by
//     1/(1-p), the mask a function of the step (it changes every step);
//   - the pipelines: only training has train-mode; the eval forms stay in
//     inference graphs, where dropout is the identity and batch_norm uses
//     the running statistics.
//
//===----------------------------------------------------------------------===//
#include "tests/numeric/NumericUtil.h"

#include "codegen/Jit.h"
#include "passes/PassManager.h"
#include "passes/Passes.h"

#include <algorithm>
#include <cmath>

using namespace gradc;
using namespace gradc::test;
using ir::OpKind;

namespace {

constexpr int64_t N = kBatch;

void trainMode(ir::Graph &g) {
  passes::PassContext ctx;
  ctx.training = true;
  auto changed = passes::createTrainModePass()->run(g, ctx);
  ASSERT_TRUE(bool(changed)) << llvm::toString(changed.takeError());
  EXPECT_TRUE(*changed);
  for (const auto &n : g.nodes()) {
    EXPECT_NE(n->op(), OpKind::BatchNorm) << "an eval form is left";
    EXPECT_NE(n->op(), OpKind::Dropout) << "an eval form is left";
  }
}

class BatchNormTrain : public ::testing::TestWithParam<bool> {};

TEST_P(BatchNormTrain, BatchStatisticsAndRunningUpdatesAsPyTorch) {
  const bool useJit = GetParam();
  const int64_t batch = 4, C = 3, H = 2, W = 5, M = batch * H * W;
  const double eps = 1e-5, momentum = 0.1;
  GraphMaker gm;
  ir::Value *x = gm.input("x", f32Type({N, C, H, W}));
  ir::Value *gamma = gm.param("gamma", f32Type({C}));
  ir::Value *beta = gm.param("beta", f32Type({C}));
  ir::Value *rm = gm.param("rm", f32Type({C}), /*trainable=*/false);
  ir::Value *rv = gm.param("rv", f32Type({C}), /*trainable=*/false);
  ir::Value *y = gm.op(OpKind::BatchNorm, {x, gamma, beta, rm, rv}, {}, "y");
  ASSERT_NE(y, nullptr);
  gm.graph().outputs.push_back(y);
  trainMode(gm.graph());
  ASSERT_EQ(gm.graph().updates.size(), 2u);

  auto exe = useJit ? expectOk(codegen::compileGraph(gm.graph()))
                    : interp::makeInterpreter(gm.graph());
  BoundBuffers bufs(*exe, batch);
  TensorRng rng(42);
  rt::Tensor xv = rng.uniform({batch, C, H, W}, -2, 3);
  rt::Tensor g0 = rng.uniform({C}, 0.5f, 2), b0 = rng.uniform({C}, -1, 1);
  rt::Tensor rm0 = rng.uniform({C}, -1, 1), rv0 = rng.uniform({C}, 0.5f, 2);
  bufs.set("x", xv);
  bufs.set("gamma", g0);
  bufs.set("beta", b0);
  bufs.set("rm", rm0);
  bufs.set("rv", rv0);
  expectOk(bufs.run());

  for (int64_t c = 0; c < C; ++c) {
    SCOPED_TRACE("channel " + std::to_string(c));
    double sum = 0, sq = 0;
    auto at = [&](int64_t n, int64_t e) { return (n * C + c) * H * W + e; };
    for (int64_t n = 0; n < batch; ++n)
      for (int64_t e = 0; e < H * W; ++e)
        sum += xv.f32()[at(n, e)];
    double mean = sum / M;
    for (int64_t n = 0; n < batch; ++n)
      for (int64_t e = 0; e < H * W; ++e)
        sq += std::pow(xv.f32()[at(n, e)] - mean, 2);
    double biased = sq / M, unbiased = sq / (M - 1);
    EXPECT_NEAR(bufs.get("rm").f32()[c], (1 - momentum) * rm0.f32()[c] + momentum * mean, 1e-6);
    EXPECT_NEAR(bufs.get("rv").f32()[c], (1 - momentum) * rv0.f32()[c] + momentum * unbiased,
                1e-6);
    for (int64_t n = 0; n < batch; ++n)
      for (int64_t e = 0; e < H * W; ++e) {
        double want = (xv.f32()[at(n, e)] - mean) / std::sqrt(biased + eps) * g0.f32()[c] +
                      b0.f32()[c];
        ASSERT_NEAR(bufs.get("y").f32()[at(n, e)], want, 1e-5);
      }
  }
}

INSTANTIATE_TEST_SUITE_P(Executables, BatchNormTrain, ::testing::Values(false, true),
                         [](const auto &info) { return info.param ? "Jit" : "Interpreter"; });

TEST(TrainMode, RunningStatisticsMustBeFrozenParams) {
  GraphMaker gm;
  ir::Value *x = gm.input("x", f32Type({N, 2}));
  ir::Value *g = gm.param("g", f32Type({2})), *b = gm.param("b", f32Type({2}));
  ir::Value *rm = gm.param("rm", f32Type({2})); // trainable: wrong
  ir::Value *rv = gm.param("rv", f32Type({2}), false);
  gm.graph().outputs.push_back(gm.op(OpKind::BatchNorm, {x, g, b, rm, rv}, {}, "y"));
  passes::PassContext ctx;
  auto r = passes::createTrainModePass()->run(gm.graph(), ctx);
  ASSERT_FALSE(bool(r));
  std::string msg = llvm::toString(r.takeError());
  EXPECT_NE(msg.find("running statistic %rm must be a frozen param"), std::string::npos) << msg;
}

TEST(TrainMode, DropoutMasksDependOnTheStepAndScaleByInverseKeep) {
  const double p = 0.25;
  GraphMaker gm;
  ir::Value *x = gm.input("x", f32Type({N, 1000}));
  gm.graph().outputs.push_back(gm.op(OpKind::Dropout, {x}, attrs({{"p", p}}), "y"));
  trainMode(gm.graph());
  ir::Value *step = gm.graph().lookup("step");
  ASSERT_NE(step, nullptr);
  EXPECT_EQ(step->role, ir::InputRole::Hyper);
  EXPECT_EQ(step->hyper, HyperKind::Step);

  auto exe = expectOk(codegen::compileGraph(gm.graph()));
  BoundBuffers bufs(*exe, 10);
  TensorRng rng(5);
  rt::Tensor xv = rng.uniform({10, 1000}, 1, 2); // never 0
  bufs.set("x", xv);
  std::vector<std::vector<bool>> masks;
  for (float s : {1.0f, 2.0f}) {
    bufs.set("step", tensorOf({}, {s}));
    expectOk(bufs.run());
    std::vector<bool> kept;
    for (int64_t e = 0; e < xv.numel(); ++e) {
      float v = bufs.get("y").f32()[e];
      kept.push_back(v != 0);
      if (v != 0)
        ASSERT_EQ(v, xv.f32()[e] * float(1 / (1 - p)));
    }
    double dropped = std::count(kept.begin(), kept.end(), false) / double(kept.size());
    // 10000 Bernoulli(0.25) draws: 3 standard deviations are 0.013.
    EXPECT_NEAR(dropped, p, 0.015);
    masks.push_back(kept);
  }
  EXPECT_NE(masks[0], masks[1]) << "the mask must change with the step";
}

TEST(TrainMode, OnlyTrainingPipelinesRewriteEvalForms) {
  auto has = [](const std::vector<std::string> &p) {
    return std::find(p.begin(), p.end(), "train-mode") != p.end();
  };
  EXPECT_TRUE(has(passes::defaultPipeline(true)));
  EXPECT_FALSE(has(passes::defaultPipeline(false)));
}

} // namespace
