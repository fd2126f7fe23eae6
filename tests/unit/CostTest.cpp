//===- tests/unit/CostTest.cpp - FLOP counts of ir/Cost.h -----------------===//
#include "ir/Cost.h"
#include "tests/numeric/NumericUtil.h"

#include <gtest/gtest.h>

namespace gradc {
namespace {

using ir::OpKind;

TEST(Cost, MatMulCountsTwoFlopsPerTermWithTheBatchBound) {
  test::GraphMaker gm;
  ir::Value *x = gm.input("x", test::f32Type({kBatch, 784}));
  ir::Value *w = gm.param("w", test::f32Type({784, 256}));
  ir::Value *h = gm.op(OpKind::MatMul, {x, w});
  ASSERT_NE(h, nullptr);
  EXPECT_EQ(ir::nodeFlops(*h->def(), 64), 2.0 * 64 * 784 * 256);
  EXPECT_EQ(ir::nodeFlops(*h->def(), 1), 2.0 * 784 * 256);
}

TEST(Cost, TransposedMatMulReadsKFromTheRightAxis) {
  // x^T [784, N] x dh [N, 256]: the weight gradient sums over the batch.
  test::GraphMaker gm;
  ir::Value *x = gm.input("x", test::f32Type({kBatch, 784}));
  ir::Value *dh = gm.input("dh", test::f32Type({kBatch, 256}));
  ir::Attrs a;
  a.set("transpose_a", int64_t{1});
  ir::Value *dw = gm.op(OpKind::MatMul, {x, dh}, a);
  ASSERT_NE(dw, nullptr);
  EXPECT_EQ(ir::nodeFlops(*dw->def(), 32), 2.0 * 784 * 256 * 32);
}

TEST(Cost, OtherNodesCountTheirLargestOperandAndGraphsSum) {
  test::GraphMaker gm;
  ir::Value *x = gm.input("x", test::f32Type({kBatch, 10}));
  ir::Value *b = gm.param("b", test::f32Type({10}));
  ir::Value *y = gm.op(OpKind::Add, {x, b});
  ir::Value *s = gm.op(OpKind::ReduceSum, {y});
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(ir::nodeFlops(*y->def(), 8), 80.0);
  EXPECT_EQ(ir::nodeFlops(*s->def(), 8), 80.0);
  EXPECT_EQ(ir::graphFlops(gm.graph(), 8), 160.0);
}

} // namespace
} // namespace gradc
