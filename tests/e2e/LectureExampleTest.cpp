//===- tests/e2e/LectureExampleTest.cpp - Compiled vs hand-derived grads --===//
//
// examples/two_layer.pbtxt is the lecture's two-layer network
//   z = x W1, a = sigmoid(z), y = a W2, L = mean((y - t)^2).
// Its gradients, derived by hand (see the model's comment), are computed here
// in plain double-precision loops and compared with the JIT-compiled backward
// pass on the same params and batch.
//
//===----------------------------------------------------------------------===//
#include "tests/TestUtil.h"

#include "codegen/Jit.h"
#include "frontend/ModelLoader.h"
#include "passes/PassManager.h"
#include "runtime/Session.h"

#include "llvm/Support/raw_ostream.h"

#include <cmath>

using namespace gradc;

namespace {

TEST(LectureExample, CompiledGradientsEqualHandDerivedOnes) {
  auto g = test::expectOk(frontend::loadModelFile(test::sourcePath("examples/two_layer.pbtxt")));
  passes::PassManager pm({}, llvm::nulls(), llvm::errs());
  test::expectOk(pm.setPipeline({"infer-shapes", "autodiff", "dce"}));
  passes::PassContext ctx;
  ctx.training = true;
  test::expectOk(pm.run(*g, ctx));
  auto exe = test::expectOk(codegen::compileGraph(*g));

  constexpr int B = 5, I = 3, H = 4, O = 2;
  rt::ParamStore params;
  test::expectOk(params.initialize(exe->buffers(), 7));
  rt::Session s(*exe, params);
  test::expectOk(s.setBatch(B));
  float *x = s.find("x")->f32(), *t = s.find("t")->f32();
  for (int i = 0; i < B * I; ++i)
    x[i] = std::sin(0.7f * i + 0.1f);
  for (int i = 0; i < B * O; ++i)
    t[i] = std::cos(0.3f * i);
  test::expectOk(s.run());

  const float *W1 = params.find("W1")->f32(), *W2 = params.find("W2")->f32();
  // Forward, by hand.
  double z[B][H], a[B][H], y[B][O], loss = 0;
  for (int b = 0; b < B; ++b)
    for (int h = 0; h < H; ++h) {
      z[b][h] = 0;
      for (int i = 0; i < I; ++i)
        z[b][h] += x[b * I + i] * W1[i * H + h];
      a[b][h] = 1 / (1 + std::exp(-z[b][h]));
    }
  for (int b = 0; b < B; ++b)
    for (int o = 0; o < O; ++o) {
      y[b][o] = 0;
      for (int h = 0; h < H; ++h)
        y[b][o] += a[b][h] * W2[h * O + o];
      loss += (y[b][o] - t[b * O + o]) * (y[b][o] - t[b * O + o]) / (B * O);
    }
  // Backward, by hand: dy = 2e/n, dW2 = a^T dy, da = dy W2^T, dz = da a(1-a), dW1 = x^T dz.
  double dy[B][O], dz[B][H], dW1[I][H] = {}, dW2[H][O] = {};
  for (int b = 0; b < B; ++b)
    for (int o = 0; o < O; ++o)
      dy[b][o] = 2 * (y[b][o] - t[b * O + o]) / (B * O);
  for (int b = 0; b < B; ++b)
    for (int h = 0; h < H; ++h) {
      double da = 0;
      for (int o = 0; o < O; ++o) {
        dW2[h][o] += a[b][h] * dy[b][o];
        da += dy[b][o] * W2[h * O + o];
      }
      dz[b][h] = da * a[b][h] * (1 - a[b][h]);
      for (int i = 0; i < I; ++i)
        dW1[i][h] += x[b * I + i] * dz[b][h];
    }

  EXPECT_NEAR(s.findRole(rt::BufferRole::Loss)->f32()[0], loss, 1e-6 * std::max(1.0, loss));
  const rt::Tensor *gW1 = nullptr, *gW2 = nullptr;
  for (size_t i = 0; i < s.buffers().size(); ++i) {
    const rt::BufferDesc &d = s.buffers()[i];
    if (d.role == rt::BufferRole::Gradient && d.param == "W1")
      gW1 = &s.buffer(i);
    if (d.role == rt::BufferRole::Gradient && d.param == "W2")
      gW2 = &s.buffer(i);
  }
  ASSERT_TRUE(gW1 && gW2) << "both params need a gradient buffer";
  for (int i = 0; i < I; ++i)
    for (int h = 0; h < H; ++h)
      EXPECT_NEAR(gW1->f32()[i * H + h], dW1[i][h], 1e-6) << "dW1[" << i << "][" << h << "]";
  for (int h = 0; h < H; ++h)
    for (int o = 0; o < O; ++o)
      EXPECT_NEAR(gW2->f32()[h * O + o], dW2[h][o], 1e-6) << "dW2[" << h << "][" << o << "]";
}

} // namespace
