//===- tests/numeric/FusionParityTest.cpp - Fused vs unfused steps --------===//
//
// Every example model (examples/*.pbtxt) is compiled with and without the
// `fuse` pass; both run from the same seeded params on the same inputs:
//   - the gradient step (gradc grad): the loss and every param's gradient;
//   - the training step, two steps: the loss of each, then every param and
//     optimizer state;
//   - the inference step: every output.
// Each tensor must agree to 1e-5 relative: |fused - unfused| <= 1e-5 *
// max(1, max |unfused|). Not bit for bit: a fused loop may contract a
// multiply and an add of two former kernels into one fma.
//
// (Also here, for its seeded runs: CompileThreads, the same step compiled
// as one module and split into parts for parallel code generation.)
//
// One exception, for a reason of arithmetic rather than fusion: a param
// whose gradient is rounding noise (max |g| < 1e-6; gpt's attention key
// biases and resnet's conv biases before a BatchNorm, whose exact gradient
// is zero since softmax and BatchNorm ignore a shift) has its gradient
// compared, but not its values after Adam steps:
// Adam divides the noise by its own magnitude (m / (sqrt(v) + eps)), so any
// change of rounding becomes a change of O(lr) in the step.
//
//===----------------------------------------------------------------------===//
#include "codegen/Jit.h"
#include "frontend/ModelLoader.h"
#include "interp/Interpreter.h"
#include "ir/Parser.h"
#include "ir/Fusion.h"
#include "passes/PassManager.h"
#include "runtime/Hyper.h"
#include "runtime/Session.h"
#include "tests/TestUtil.h"
#include "tests/numeric/NumericUtil.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <iostream>
#include <set>

namespace gradc {
namespace {

using test::expectOk;

constexpr double kTolerance = 1e-5;
constexpr int64_t kBatch = 3;

enum class Kind { Infer, Grad, Train };

std::unique_ptr<ir::Graph> step(const std::string &model, Kind kind, bool fuse) {
  auto g = expectOk(frontend::loadModelFile(test::sourcePath("examples/" + model + ".pbtxt")));
  passes::PassManager pm({}, llvm::nulls(), llvm::errs());
  bool train = kind != Kind::Infer;
  std::vector<std::string> pipeline = passes::defaultPipeline(train);
  if (kind == Kind::Grad) // gradc grad's pipeline (tools/gradc/Pipeline.cpp)
    pipeline = {"expand-layers", "infer-shapes", "train-mode", "autodiff",
                "dce",           "fuse",         "plan-memory"};
  if (!fuse)
    std::erase(pipeline, "fuse");
  expectOk(pm.setPipeline(pipeline));
  passes::PassContext ctx;
  ctx.training = train;
  expectOk(pm.run(*g, ctx));
  return g;
}

/// Fills every data input: f32 from a fixed pseudo-random sequence in
/// [-1, 1), i32 (labels, token ids) in [0, 2), valid for every example.
void feedInputs(rt::Session &s, int step) {
  for (size_t i = 0; i < s.buffers().size(); ++i) {
    const rt::BufferDesc &d = s.buffers()[i];
    if (d.role != rt::BufferRole::Input)
      continue;
    rt::Tensor &t = s.buffer(i);
    if (d.dtype == DType::F32)
      for (int64_t k = 0; k < t.numel(); ++k)
        t.f32()[k] = static_cast<float>((k * 7919 + step * 131 + i * 17) % 2000) / 1000.0f - 1;
    else
      for (int64_t k = 0; k < t.numel(); ++k)
        t.i32()[k] = static_cast<int32_t>((k + step) % 2);
  }
}

void expectClose(const std::string &what, const float *fused, const float *unfused, int64_t n) {
  double scale = 1, worst = 0;
  for (int64_t i = 0; i < n; ++i)
    scale = std::max(scale, std::fabs(double(unfused[i])));
  for (int64_t i = 0; i < n; ++i) {
    double diff = std::fabs(double(fused[i]) - double(unfused[i]));
    worst = std::max(worst, std::isnan(diff) && !(std::isnan(fused[i]) && std::isnan(unfused[i]))
                                ? INFINITY
                                : (std::isnan(diff) ? 0.0 : diff / scale));
  }
  EXPECT_LE(worst, kTolerance) << what << ": max relative difference " << worst;
}

/// Named f32 tensors a run produced, for comparison.
using Results = std::vector<std::pair<std::string, std::vector<float>>>;

/// The executable with params initialized from seed 7 at batch kBatch.
struct SeededRun {
  rt::ParamStore params;
  std::unique_ptr<rt::Session> session;
  explicit SeededRun(rt::Executable &exe) {
    expectOk(params.initialize(exe.buffers(), 7));
    session = std::make_unique<rt::Session>(exe, params);
    expectOk(session->setBatch(kBatch));
  }
  /// Step `stepNo`: its inputs, its hyper inputs (lr 0.01), one run.
  void step(int stepNo) {
    feedInputs(*session, stepNo);
    expectOk(rt::feedHyperInputs(*session, 0.01, stepNo));
    expectOk(session->run());
  }
  float loss() const { return session->findRole(rt::BufferRole::Loss)->f32()[0]; }
  /// Every buffer of `role`, named by its param (gradients) or its own name.
  void collect(rt::BufferRole role, Results &out) const {
    const std::vector<rt::BufferDesc> &descs = session->buffers();
    for (size_t i = 0; i < descs.size(); ++i)
      if (descs[i].role == role) {
        const rt::Tensor &t = session->buffer(i);
        out.push_back({role == rt::BufferRole::Gradient ? descs[i].param : descs[i].name,
                       std::vector<float>(t.f32(), t.f32() + t.numel())});
      }
  }
};

Results runGradient(rt::Executable &exe) {
  SeededRun r(exe);
  r.step(1);
  Results out{{"loss", {r.loss()}}};
  r.collect(rt::BufferRole::Gradient, out);
  return out;
}

Results runTraining(rt::Executable &exe) {
  SeededRun r(exe);
  Results out;
  for (int stepNo = 1; stepNo <= 2; ++stepNo) {
    r.step(stepNo);
    out.push_back({"loss after step " + std::to_string(stepNo), {r.loss()}});
  }
  for (const auto &[name, t] : r.params.all())
    if (t.dtype() == DType::F32)
      out.push_back({name, std::vector<float>(t.f32(), t.f32() + t.numel())});
  return out;
}

Results runInference(rt::Executable &exe) {
  SeededRun r(exe);
  r.step(1);
  Results out;
  r.collect(rt::BufferRole::Output, out);
  return out;
}

void compare(const Results &fused, const Results &unfused,
             const std::set<std::string> &skip = {}) {
  ASSERT_EQ(fused.size(), unfused.size());
  ASSERT_FALSE(fused.empty());
  for (size_t i = 0; i < fused.size(); ++i) {
    ASSERT_EQ(fused[i].first, unfused[i].first);
    if (skip.count(fused[i].first))
      continue;
    ASSERT_EQ(fused[i].second.size(), unfused[i].second.size()) << fused[i].first;
    expectClose(fused[i].first, fused[i].second.data(), unfused[i].second.data(),
                static_cast<int64_t>(fused[i].second.size()));
  }
}

size_t groupCount(const ir::Graph &g) { return ir::collectFusionGroups(g).size(); }

class FusionParity : public ::testing::TestWithParam<const char *> {};

TEST_P(FusionParity, GradientAndTrainingStepsMatchUnfused) {
  // Gradients first; params whose gradient is rounding noise (see the file
  // comment) are left out of the comparison after Adam steps.
  auto gradFused = step(GetParam(), Kind::Grad, true);
  auto gradUnfused = step(GetParam(), Kind::Grad, false);
  EXPECT_EQ(groupCount(*gradUnfused), 0u);
  Results ga = runGradient(*expectOk(codegen::compileGraph(*gradFused)));
  Results gb = runGradient(*expectOk(codegen::compileGraph(*gradUnfused)));
  compare(ga, gb);
  std::set<std::string> noise;
  for (const auto &[name, values] : gb) {
    float most = 0;
    for (float v : values)
      most = std::max(most, std::fabs(v));
    if (name != "loss" && most < 1e-6f)
      noise.insert(name), noise.insert(name + ".m"), noise.insert(name + ".v");
  }

  for (const std::string &name : noise)
    if (!llvm::StringRef(name).ends_with(".m") && !llvm::StringRef(name).ends_with(".v"))
      std::cerr << "  gradient of " << name << " is rounding noise: its values after the "
                << "training steps are not compared\n";

  auto fused = step(GetParam(), Kind::Train, true);
  auto unfused = step(GetParam(), Kind::Train, false);
  EXPECT_GT(groupCount(*fused), 0u) << "the training step has elementwise chains to fuse";
  EXPECT_EQ(groupCount(*unfused), 0u);
  auto a = expectOk(codegen::compileGraph(*fused));
  auto b = expectOk(codegen::compileGraph(*unfused));
  compare(runTraining(*a), runTraining(*b), noise);
}

TEST_P(FusionParity, InferenceStepMatchesUnfused) {
  auto fused = step(GetParam(), Kind::Infer, true);
  auto unfused = step(GetParam(), Kind::Infer, false);
  auto a = expectOk(codegen::compileGraph(*fused));
  auto b = expectOk(codegen::compileGraph(*unfused));
  compare(runInference(*a), runInference(*b));
}

INSTANTIATE_TEST_SUITE_P(Examples, FusionParity,
                         ::testing::Values("mlp_mnist", "mlp3", "two_layer", "xor", "iris",
                                           "perceptron_and", "lenet", "resnet", "lstm_lm",
                                           "gru_lm", "gpt"),
                         [](const auto &info) { return std::string(info.param); });

TEST(FusionParity, EveryExampleIsCovered) {
  // A new examples/*.pbtxt must be added to the list above.
  std::error_code ec;
  std::vector<std::string> found;
  for (llvm::sys::fs::directory_iterator it(test::sourcePath("examples"), ec), end;
       it != end && !ec; it.increment(ec)) {
    llvm::StringRef path = it->path();
    if (path.ends_with(".pbtxt"))
      found.push_back(llvm::sys::path::stem(path).str());
  }
  std::sort(found.begin(), found.end());
  std::vector<std::string> listed = {"gpt",       "gru_lm",         "iris",   "lenet",
                                     "lstm_lm",   "mlp3",           "mlp_mnist", "perceptron_and",
                                     "resnet",    "two_layer",      "xor"};
  std::sort(listed.begin(), listed.end());
  EXPECT_EQ(found, listed);
}

TEST(CompileThreads, ModuleSplitIntoPartsRunsBitwiseTheSame) {
  // codegen/Jit.cpp splits the optimized module into parts, one per compile
  // thread. Each function's machine code does not depend on its part, so
  // the training steps of lenet (convolutions, GEMM micro-kernels shared
  // by many kernels, epilogues) agree bit for bit whatever the split.
  auto g = step("lenet", Kind::Train, true);
  Results expected;
  for (unsigned parts : {1u, 2u, 3u, 7u}) {
    SCOPED_TRACE(std::to_string(parts) + " part(s)");
    codegen::CodegenOptions opts;
    codegen::CompileTimes times;
    opts.compileThreads = parts;
    opts.times = &times;
    Results got = runTraining(*expectOk(codegen::compileGraph(*g, opts)));
    EXPECT_EQ(times.objects, parts); // lenet's step has far more functions than parts
    if (parts == 1) {
      expected = std::move(got);
      continue;
    }
    ASSERT_EQ(got.size(), expected.size());
    for (size_t i = 0; i < got.size(); ++i)
      EXPECT_EQ(got[i].second, expected[i].second) << got[i].first;
  }
}

/// Runs the graph of tests/lit/fuse/`file` after infer-shapes, fuse and
/// plan-memory on the JIT and on the interpreter, at batch 1 and 6, with
/// the same uniform inputs and params; checks that `groups` groups formed
/// and that the `outputs` agree. Through rt::Session, which lays the
/// planned memory out (an epilogue's result in place of the conv's).
void expectHeadGroupsMatchInterpreter(const std::string &file, size_t groups,
                                      const std::vector<std::string> &outputs) {
  auto buffer = llvm::MemoryBuffer::getFile(test::sourcePath("tests/lit/fuse/" + file));
  ASSERT_TRUE(bool(buffer)) << file;
  auto g = expectOk(ir::parseGraph((*buffer)->getBuffer(), file));
  passes::PassManager pm({}, llvm::nulls(), llvm::errs());
  expectOk(pm.setPipeline({"infer-shapes", "fuse", "plan-memory"}));
  passes::PassContext ctx;
  expectOk(pm.run(*g, ctx));
  ASSERT_EQ(ir::collectFusionGroups(*g).size(), groups);
  auto jit = expectOk(codegen::compileGraph(*g));
  auto ref = interp::makeInterpreter(*g);
  for (int64_t batch : {1, 6}) {
    SCOPED_TRACE(file + " at batch " + std::to_string(batch));
    rt::ParamStore pa, pe;
    expectOk(pa.initialize(jit->buffers(), 7));
    expectOk(pe.initialize(ref->buffers(), 7));
    rt::Session a(*jit, pa), e(*ref, pe);
    expectOk(a.setBatch(batch));
    expectOk(e.setBatch(batch));
    test::TensorRng rng(5);
    for (size_t i = 0; i < a.buffers().size(); ++i) {
      const rt::BufferDesc &d = a.buffers()[i];
      if (d.role != rt::BufferRole::Input && d.role != rt::BufferRole::Param)
        continue;
      rt::Tensor v = rng.uniform(a.buffer(i).shape(), d.name == "g" ? 0.5f : -2, 2);
      std::memcpy(a.buffer(i).data(), v.data(), v.bytes());
      std::memcpy(e.buffer(i).data(), v.data(), v.bytes());
    }
    expectOk(a.run());
    expectOk(e.run());
    size_t compared = 0;
    for (size_t i = 0; i < a.buffers().size(); ++i)
      if (llvm::is_contained(outputs, a.buffers()[i].name)) {
        ++compared;
        EXPECT_TRUE(test::allClose(a.buffer(i), e.buffer(i), 1e-5, 1e-5))
            << a.buffers()[i].name;
      }
    EXPECT_EQ(compared, outputs.size());
  }
}

TEST(FusionParity, BatchNormHeadsMatchTheInterpreter) {
  // batch_norm_train heading groups: a ReLU; a residual add, a ReLU and a
  // scaling; and a result that is also read outside its group, so stored.
  expectHeadGroupsMatchInterpreter("batch-norm.gir", 2, {"z", "u"});
}

TEST(FusionParity, ConvHeadsMatchTheInterpreter) {
  // conv2d with its bias, a ReLU and a residual add (the sum in place of
  // the conv's result); conv2d_grad_input with relu_grad and a scaling, its
  // result also read outside the group; a direct conv with a ReLU.
  expectHeadGroupsMatchInterpreter("conv.gir", 3, {"t", "h", "v", "r2"});
}

} // namespace
} // namespace gradc
