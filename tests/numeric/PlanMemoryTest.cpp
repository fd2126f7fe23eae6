//===- tests/numeric/PlanMemoryTest.cpp - Steps over a planned arena ------===//
//
// The plan-memory pass lets results share memory; these tests run the same
// training steps with and without the plan (through rt::Session, which lays
// slots out in one arena) and require identical results, bit for bit.
//
//===----------------------------------------------------------------------===//
#include "codegen/Jit.h"
#include "frontend/ModelLoader.h"
#include "interp/Interpreter.h"
#include "passes/PassManager.h"
#include "runtime/Hyper.h"
#include "runtime/Session.h"
#include "tests/TestUtil.h"

#include "llvm/Support/raw_ostream.h"

#include <gtest/gtest.h>

#include <cstring>

namespace gradc {
namespace {

using test::expectOk;

std::unique_ptr<ir::Graph> trainingStep(const std::string &model, bool plan) {
  auto g = expectOk(frontend::loadModelFile(test::sourcePath(model)));
  passes::PassManager pm({}, llvm::nulls(), llvm::errs());
  std::vector<std::string> pipeline = passes::defaultPipeline(true);
  if (!plan)
    pipeline.pop_back();
  EXPECT_EQ(pipeline.back(), plan ? "plan-memory" : "fuse");
  expectOk(pm.setPipeline(pipeline));
  passes::PassContext ctx;
  ctx.training = true;
  expectOk(pm.run(*g, ctx));
  return g;
}

/// Runs `steps` training steps at `batch` on seeded inputs; returns the loss
/// after each step followed by every param's values at the end.
std::vector<float> train(rt::Executable &exe, int64_t batch, int steps, int64_t *arena) {
  rt::ParamStore params;
  expectOk(params.initialize(exe.buffers(), 3));
  rt::Session s(exe, params);
  expectOk(s.setBatch(batch));
  *arena = static_cast<int64_t>(s.arenaBytes());
  std::vector<float> out;
  for (int step = 1; step <= steps; ++step) {
    for (size_t i = 0; i < s.buffers().size(); ++i) {
      const rt::BufferDesc &d = s.buffers()[i];
      rt::Tensor &t = s.buffer(i);
      if (d.role == rt::BufferRole::Input && d.dtype == DType::F32)
        for (int64_t k = 0; k < t.numel(); ++k)
          t.f32()[k] = static_cast<float>((k * 7919 + step * 131) % 1000) / 1000.0f;
      else if (d.role == rt::BufferRole::Input)
        for (int64_t k = 0; k < t.numel(); ++k)
          t.i32()[k] = static_cast<int32_t>((k + step) % 10);
    }
    expectOk(rt::feedHyperInputs(s, 0.1, step));
    expectOk(s.run());
    out.push_back(s.findRole(rt::BufferRole::Loss)->f32()[0]);
  }
  for (const auto &[name, t] : params.all())
    out.insert(out.end(), t.f32(), t.f32() + t.numel());
  return out;
}

bool bitwiseEqual(const std::vector<float> &a, const std::vector<float> &b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * 4) == 0;
}

TEST(PlanMemory, PlannedTrainingStepsMatchUnplannedBitForBit) {
  for (const char *model : {"examples/mlp_mnist.pbtxt", "examples/mlp3.pbtxt"}) {
    SCOPED_TRACE(model);
    auto planned = trainingStep(model, true), naive = trainingStep(model, false);
    ASSERT_FALSE(planned->memorySlots.empty());
    ASSERT_TRUE(naive->memorySlots.empty());
    auto a = expectOk(codegen::compileGraph(*planned));
    auto b = expectOk(codegen::compileGraph(*naive));
    for (int64_t batch : {64, 5}) {
      SCOPED_TRACE("batch " + std::to_string(batch));
      int64_t arenaA = 0, arenaB = 0;
      std::vector<float> ra = train(*a, batch, 4, &arenaA), rb = train(*b, batch, 4, &arenaB);
      EXPECT_GT(arenaA, 0);
      EXPECT_EQ(arenaB, 0);
      EXPECT_TRUE(bitwiseEqual(ra, rb)) << "losses " << ra[0] << " vs " << rb[0];
    }
  }
}

TEST(PlanMemory, InterpreterRunsThePlannedLayoutToo) {
  auto g = trainingStep("examples/mlp_mnist.pbtxt", true);
  auto jit = expectOk(codegen::compileGraph(*g));
  auto ref = interp::makeInterpreter(*g);
  int64_t arenaA = 0, arenaB = 0;
  std::vector<float> ra = train(*jit, 16, 3, &arenaA), rb = train(*ref, 16, 3, &arenaB);
  ASSERT_EQ(ra.size(), rb.size());
  EXPECT_EQ(arenaA, arenaB);
  for (size_t i = 0; i < ra.size(); ++i)
    ASSERT_NEAR(ra[i], rb[i], 1e-4f) << "element " << i;
}

TEST(PlanMemory, ArenaIsSmallerThanTheBuffersItHolds) {
  // The MLP training step at batch 64: the slot members' own buffers would
  // take their summed bytes; the arena takes at most the largest per slot.
  auto g = trainingStep("examples/mlp_mnist.pbtxt", true);
  auto exe = expectOk(codegen::compileGraph(*g));
  rt::ParamStore params;
  expectOk(params.initialize(exe->buffers(), 1));
  rt::Session s(*exe, params);
  expectOk(s.setBatch(64));
  uint64_t naive = 0;
  for (const rt::BufferDesc &d : exe->buffers())
    if (d.slot >= 0)
      naive += static_cast<uint64_t>(*numelFor(d.shape, 64)) * sizeOf(d.dtype);
  EXPECT_GT(naive, 0u);
  EXPECT_LT(s.arenaBytes(), naive);
  // The gradient of W1 (784x256) is an intermediate of the update.
  bool gradInSlot = false;
  for (const rt::BufferDesc &d : exe->buffers())
    gradInSlot |= d.name == "d.W1" && d.slot >= 0 && d.role == rt::BufferRole::Temp;
  EXPECT_TRUE(gradInSlot);
}

} // namespace
} // namespace gradc
