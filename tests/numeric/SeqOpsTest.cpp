//===- tests/numeric/SeqOpsTest.cpp - Sequence ops on known values ---------===//
//
// What the random JIT-vs-interpreter and finite-difference tables do not pin
// down: embedding with repeated ids (its gradient must sum the rows of every
// use), ids out of range (an error in the interpreter, a zero row and no
// stray access in the JIT), the exact values of causal_mask and
// positional_encoding, per-timestep cross-entropy over [N,T,V], and the
// activations at hand-computed points, on both executors.
//
//===----------------------------------------------------------------------===//
#include "tests/numeric/NumericUtil.h"

#include "codegen/Jit.h"

#include <cmath>

using namespace gradc;
using namespace gradc::test;
using ir::OpKind;

namespace {

ExecutableFactory jitFactory() {
  return [](const ir::Graph &g) -> llvm::Expected<std::unique_ptr<rt::Executable>> {
    return codegen::compileGraph(g, {});
  };
}

std::vector<std::pair<const char *, ExecutableFactory>> executors() {
  return {{"interpreter", interpreterFactory()}, {"jit", jitFactory()}};
}

TEST(SeqOps, EmbeddingGradientSumsRepeatedIds) {
  // ids [[2, 0, 2], [2, 1, 0]]: row 2 is used three times, row 0 twice,
  // row 1 once, row 3 never.
  rt::Tensor ids = labelsOf({2, 3}, {2, 0, 2, 2, 1, 0});
  std::vector<float> dyv;
  for (int i = 0; i < 12; ++i)
    dyv.push_back(float(i + 1));
  rt::Tensor dy = tensorOf({2, 3, 2}, dyv); // rows (1,2) (3,4) (5,6) (7,8) (9,10) (11,12)
  rt::Tensor expect = tensorOf({4, 2}, {3 + 11, 4 + 12, 9, 10, 1 + 5 + 7, 2 + 6 + 8, 0, 0});
  for (auto &[name, make] : executors()) {
    SCOPED_TRACE(name);
    auto g = runOneOp(OpKind::EmbeddingGrad, {operand(ids), operand(dy)},
                      attrs({{"rows", int64_t(4)}}), 1, make);
    ASSERT_TRUE(bool(g)) << llvm::toString(g.takeError());
    EXPECT_TRUE(allClose(*g, expect, 0, 0));
  }
}

TEST(SeqOps, EmbeddingGathersRows) {
  rt::Tensor table = tensorOf({3, 2}, {0, 1, 10, 11, 20, 21});
  rt::Tensor ids = labelsOf({1, 4}, {2, 2, 0, 1});
  for (auto &[name, make] : executors()) {
    SCOPED_TRACE(name);
    auto y = runOneOp(OpKind::Embedding, {operand(ids), operand(table)}, {}, 1, make);
    ASSERT_TRUE(bool(y)) << llvm::toString(y.takeError());
    EXPECT_TRUE(allClose(*y, tensorOf({1, 4, 2}, {20, 21, 20, 21, 0, 1, 10, 11}), 0, 0));
  }
}

TEST(SeqOps, EmbeddingIdOutOfRange) {
  rt::Tensor table = tensorOf({3, 2}, {0, 1, 10, 11, 20, 21});
  rt::Tensor ids = labelsOf({1, 3}, {1, 3, -7});
  auto y = runOneOp(OpKind::Embedding, {operand(ids), operand(table)});
  ASSERT_FALSE(bool(y));
  EXPECT_EQ(llvm::toString(y.takeError()),
            "node %y (embedding): embedding id 3 at position 1 is out of range for a table "
            "of 3 rows");
  // Generated code: a defined zero row, no access outside the table.
  auto j = runOneOp(OpKind::Embedding, {operand(ids), operand(table)}, {}, 1, jitFactory());
  ASSERT_TRUE(bool(j)) << llvm::toString(j.takeError());
  EXPECT_TRUE(allClose(*j, tensorOf({1, 3, 2}, {10, 11, 0, 0, 0, 0}), 0, 0));
}

TEST(SeqOps, CausalMaskAndPositionalEncoding) {
  for (auto &[name, make] : executors()) {
    SCOPED_TRACE(name);
    auto m = runOneOp(OpKind::CausalMask, {}, attrs({{"size", int64_t(3)}}), 1, make);
    ASSERT_TRUE(bool(m)) << llvm::toString(m.takeError());
    EXPECT_TRUE(allClose(*m, tensorOf({3, 3}, {1, 0, 0, 1, 1, 0, 1, 1, 1}), 0, 0));
    auto pe = runOneOp(OpKind::PositionalEncoding, {},
                       attrs({{"length", int64_t(3)}, {"dim", int64_t(4)}}), 1, make);
    ASSERT_TRUE(bool(pe)) << llvm::toString(pe.takeError());
    // PE[t, 2i] = sin(t / 10000^(2i/4)), PE[t, 2i+1] = cos(same).
    std::vector<float> want;
    for (int t = 0; t < 3; ++t)
      for (double w : {1.0, 0.01}) {
        want.push_back(float(std::sin(t * w)));
        want.push_back(float(std::cos(t * w)));
      }
    EXPECT_TRUE(allClose(*pe, tensorOf({3, 4}, want), 1e-6, 1e-7));
  }
}

TEST(SeqOps, ActivationsAtKnownPoints) {
  rt::Tensor x = tensorOf({4}, {-2, -0.5f, 0.5f, 3});
  struct Case {
    OpKind op;
    ir::Attrs a;
    std::vector<double> want;
  };
  auto gelu = [](double v) { return 0.5 * v * (1 + std::erf(v / std::sqrt(2.0))); };
  auto softplus = [](double v) { return std::log1p(std::exp(v)); };
  std::vector<Case> cases = {
      {OpKind::LeakyRelu, attrs({{"alpha", 0.1}}), {-0.2, -0.05, 0.5, 3}},
      {OpKind::Gelu, {}, {gelu(-2), gelu(-0.5), gelu(0.5), gelu(3)}},
      {OpKind::Gaussian, {}, {std::exp(-2.0), std::exp(-0.125), std::exp(-0.125), std::exp(-4.5)}},
      {OpKind::Elu, {}, {std::expm1(-2.0), std::expm1(-0.5), 0.5, 3}},
      {OpKind::Softplus, {}, {softplus(-2), softplus(-0.5), softplus(0.5), softplus(3)}},
      {OpKind::Step, {}, {0, 0, 1, 1}},
      {OpKind::Pow, attrs({{"exponent", 2.0}}), {4, 0.25, 0.25, 9}},
  };
  for (auto &[name, make] : executors())
    for (const Case &c : cases) {
      SCOPED_TRACE(std::string(name) + " " + ir::opName(c.op).str());
      auto y = runOneOp(c.op, {operand(x)}, c.a, 1, make);
      ASSERT_TRUE(bool(y)) << llvm::toString(y.takeError());
      std::vector<float> w(c.want.begin(), c.want.end());
      EXPECT_TRUE(allClose(*y, tensorOf({4}, w), 1e-5, 1e-6));
    }
}

TEST(SeqOps, PerTimestepCrossEntropyIsTheMeanOverPositions) {
  // logits [1, 2, 3] with labels [1, 2]: mean over both positions of
  // logsumexp(row) - row[label].
  rt::Tensor logits = tensorOf({1, 2, 3}, {0, 1, 2, 1, 1, 1});
  rt::Tensor labels = labelsOf({1, 2}, {1, 2});
  double lse0 = std::log(std::exp(0.0) + std::exp(1.0) + std::exp(2.0));
  double want = ((lse0 - 1) + std::log(3.0)) / 2;
  for (auto &[name, make] : executors()) {
    SCOPED_TRACE(name);
    auto y = runOneOp(OpKind::SoftmaxCrossEntropy, {operand(logits), operand(labels)}, {}, 1,
                      make);
    ASSERT_TRUE(bool(y)) << llvm::toString(y.takeError());
    EXPECT_NEAR(y->f32()[0], want, 1e-6);
  }
}

} // namespace
