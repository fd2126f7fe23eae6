//===- tests/e2e/XorTest.cpp - A 2-2-1 tanh/sigmoid net learns XOR --------===//
//
// Compiles examples/xor.pbtxt's training step with the JIT and trains it on
// the four XOR cases (full batch, the model's seed and lr). All four
// predictions must end on the right side of 0.5, with margin.
//
//===----------------------------------------------------------------------===//
#include "tests/TestUtil.h"

#include "codegen/Jit.h"
#include "frontend/ModelLoader.h"
#include "passes/PassManager.h"
#include "runtime/Session.h"

#include "llvm/Support/raw_ostream.h"

using namespace gradc;

namespace {

std::unique_ptr<ir::Graph> buildTrainingGraph(const std::string &model) {
  auto g = test::expectOk(frontend::loadModelFile(test::sourcePath(model)));
  passes::PassManager pm({}, llvm::nulls(), llvm::errs());
  test::expectOk(pm.setPipeline(passes::defaultPipeline(true)));
  passes::PassContext ctx;
  ctx.training = true;
  test::expectOk(pm.run(*g, ctx));
  return g;
}

TEST(Xor, TwoTwoOneNetLearnsAllFourCases) {
  auto g = buildTrainingGraph("examples/xor.pbtxt");
  auto exe = test::expectOk(codegen::compileGraph(*g));
  rt::ParamStore params;
  test::expectOk(params.initialize(exe->buffers(), g->training.seed));
  rt::Session s(*exe, params);
  test::expectOk(s.setBatch(4));
  const float x[4][2] = {{0, 0}, {0, 1}, {1, 0}, {1, 1}};
  const float t[4] = {0, 1, 1, 0};
  std::memcpy(s.find("x")->data(), x, sizeof x);
  std::memcpy(s.find("t")->data(), t, sizeof t);
  s.find("lr")->f32()[0] = static_cast<float>(g->training.lr);

  float first = 0, last = 0;
  for (int64_t step = 0; step < g->training.epochs; ++step) {
    test::expectOk(s.run());
    last = s.findRole(rt::BufferRole::Loss)->f32()[0];
    if (step == 0)
      first = last;
  }
  // One more step reads the predictions of the trained params.
  test::expectOk(s.run());
  const float *p = s.find("p")->f32();
  for (int i = 0; i < 4; ++i) {
    if (t[i] > 0.5f)
      EXPECT_GT(p[i], 0.8f) << "case " << x[i][0] << " xor " << x[i][1];
    else
      EXPECT_LT(p[i], 0.2f) << "case " << x[i][0] << " xor " << x[i][1];
  }
  EXPECT_LT(last, 0.1f * first) << "loss fell from " << first << " to " << last;
}

} // namespace
