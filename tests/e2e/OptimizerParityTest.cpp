//===- tests/e2e/OptimizerParityTest.cpp - Compiled optimizers vs torch.optim -===//
//
// For each optimizer configuration, a tiny MLP (x[8,4] -> W1[4,5] + b1 ->
// tanh -> W2[5,3] + b2 -> mse against y) is compiled with the JIT and run
// for 5 steps on one fixed batch, the hyper inputs fed per step as the
// trainer feeds them (runtime/Hyper.h). The initial params, the batch and
// the final params go to a temporary directory as .npy; torch_optim_ref.py
// replays the 5 steps with torch.optim from the same start and compares
// every param: max |gradc - torch| / max |torch| must be <= 1e-6. The script
// prints the measured error per param; the test echoes it.
//
//===----------------------------------------------------------------------===//
#include "tests/TestUtil.h"

#include "codegen/Jit.h"
#include "frontend/ModelLoader.h"
#include "passes/PassManager.h"
#include "runtime/Hyper.h"
#include "runtime/Npy.h"
#include "runtime/ParamIO.h"
#include "runtime/Session.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <cstdio>
#include <cstring>

using namespace gradc;

namespace {

constexpr int64_t kBatchSize = 8;
constexpr int kSteps = 5;

const char *kModel = R"(
name: "parity"
input { name: "x" type { shape { sym: "N" } shape { size: 4 } } }
input { name: "y" type { shape { sym: "N" } shape { size: 3 } } }
param { name: "W1" type { shape { size: 4 } shape { size: 5 } } init { kind: "xavier_uniform" } }
param { name: "b1" type { shape { size: 5 } } init { kind: "uniform" low: -0.5 high: 0.5 } }
param { name: "W2" type { shape { size: 5 } shape { size: 3 } } init { kind: "xavier_uniform" } }
param { name: "b2" type { shape { size: 3 } } init { kind: "uniform" low: -0.5 high: 0.5 } }
node { name: "fc1" op: "matmul" inputs: "x" inputs: "W1" outputs: "h1" }
node { name: "bias1" op: "add" inputs: "h1" inputs: "b1" outputs: "a1" }
node { name: "act" op: "tanh" inputs: "a1" outputs: "z1" }
node { name: "fc2" op: "matmul" inputs: "z1" inputs: "W2" outputs: "h2" }
node { name: "bias2" op: "add" inputs: "h2" inputs: "b2" outputs: "out" }
node { name: "loss" op: "mse" inputs: "out" inputs: "y" outputs: "loss" }
output: "out"
loss: "loss"
)";

struct Config {
  const char *name;
  const char *optimizer; // the body of training { optimizer { ... } }
  double lr;
};

const Config kConfigs[] = {
    {"sgd", "kind: \"sgd\"", 0.1},
    {"sgd_momentum", "kind: \"sgd\" momentum: 0.9", 0.1},
    {"sgd_nesterov", "kind: \"sgd\" momentum: 0.9 nesterov: true", 0.1},
    {"sgd_weight_decay", "kind: \"sgd\" momentum: 0.5 weight_decay: 0.1", 0.1},
    {"rmsprop", "kind: \"rmsprop\"", 0.01},
    {"rmsprop_momentum", "kind: \"rmsprop\" momentum: 0.9 alpha: 0.9", 0.01},
    {"adam", "kind: \"adam\"", 0.01},
    {"adam_weight_decay", "kind: \"adam\" weight_decay: 0.1 beta1: 0.8 beta2: 0.99", 0.01},
    {"adamw", "kind: \"adamw\" weight_decay: 0.1", 0.01},
    // A norm far below the gradients' so that every step clips.
    {"sgd_momentum_clip", "kind: \"sgd\" momentum: 0.9 clip_norm: 0.05", 0.1},
};

std::string join(llvm::StringRef dir, llvm::StringRef name) {
  llvm::SmallString<256> p(dir);
  llvm::sys::path::append(p, name);
  return std::string(p);
}

/// Exact text of a double, for the model text and the script's flags.
std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

/// A deterministic batch in [-1, 1].
rt::Tensor wave(Shape shape, double phase) {
  rt::Tensor t(DType::F32, std::move(shape));
  for (int64_t i = 0; i < t.numel(); ++i)
    t.f32()[i] = static_cast<float>(std::sin(0.7 * static_cast<double>(i) + phase));
  return t;
}

class OptimizerParity : public ::testing::TestWithParam<Config> {};

TEST_P(OptimizerParity, FiveStepsMatchTorchOptim) {
  const Config &c = GetParam();
  std::string text = std::string(kModel) + "training { optimizer { " + c.optimizer +
                     " lr: " + num(c.lr) + " } }\n";
  auto g = test::expectOk(frontend::loadModelText(text, "parity.pbtxt"));
  passes::PassManager pm({}, llvm::nulls(), llvm::errs());
  test::expectOk(pm.setPipeline(passes::defaultPipeline(true)));
  passes::PassContext ctx;
  ctx.training = true;
  test::expectOk(pm.run(*g, ctx));
  auto exe = test::expectOk(codegen::compileGraph(*g));

  llvm::SmallString<256> dir;
  ASSERT_FALSE(llvm::sys::fs::createUniqueDirectory(std::string("gradc-parity-") + c.name, dir));
  rt::ParamStore params;
  test::expectOk(params.initialize(exe->buffers(), 3));
  test::expectOk(rt::saveParams(join(dir, "init"), params));

  rt::Session s(*exe, params);
  test::expectOk(s.setBatch(kBatchSize));
  // Copied in: the session's bound pointers must stay valid.
  rt::Tensor x = wave({kBatchSize, 4}, 0.3), y = wave({kBatchSize, 3}, 1.1);
  std::memcpy(s.find("x")->data(), x.data(), x.bytes());
  std::memcpy(s.find("y")->data(), y.data(), y.bytes());
  test::expectOk(rt::writeNpy(join(dir, "x.npy"), *s.find("x")));
  test::expectOk(rt::writeNpy(join(dir, "y.npy"), *s.find("y")));
  for (int64_t t = 1; t <= kSteps; ++t) {
    test::expectOk(rt::feedHyperInputs(s, c.lr, t));
    test::expectOk(s.run());
  }
  test::expectOk(rt::saveParams(join(dir, "final"), params));

  const ir::TrainingConfig &tc = g->training;
  std::string log = join(dir, "torch.log");
  std::vector<std::string> args = {
      "/usr/bin/python3",
      test::sourcePath("tests/e2e/torch_optim_ref.py"),
      "--dir", std::string(dir),
      "--steps", std::to_string(kSteps),
      "--optimizer", tc.optimizer,
      "--lr", num(c.lr),
      "--momentum", num(tc.momentum),
      "--alpha", num(tc.alpha),
      "--beta1", num(tc.beta1),
      "--beta2", num(tc.beta2),
      "--eps", num(tc.eps),
      "--weight-decay", num(tc.weightDecay),
      "--clip-norm", num(tc.clipNorm),
      "--tolerance", "1e-6"};
  if (tc.nesterov)
    args.push_back("--nesterov");
  std::vector<llvm::StringRef> argv(args.begin(), args.end());
  std::optional<llvm::StringRef> redirects[] = {std::nullopt, llvm::StringRef(log),
                                                llvm::StringRef(log)};
  std::string err;
  int rc = llvm::sys::ExecuteAndWait(args[0], argv, std::nullopt, redirects, 0, 0, &err);
  auto out = llvm::MemoryBuffer::getFile(log);
  std::string report = out ? (*out)->getBuffer().str() : "(no output)";
  llvm::outs() << c.name << ":\n" << report;
  llvm::outs().flush();
  EXPECT_EQ(rc, 0) << c.name << ": torch_optim_ref.py failed " << err << "\n" << report;
  llvm::sys::fs::remove_directories(dir);
}

INSTANTIATE_TEST_SUITE_P(Optimizers, OptimizerParity, ::testing::ValuesIn(kConfigs),
                         [](const ::testing::TestParamInfo<Config> &i) {
                           return std::string(i.param.name);
                         });

} // namespace
