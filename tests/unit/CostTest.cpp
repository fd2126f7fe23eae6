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

TEST(Cost, BmmCountsEveryBatchMatrix) {
  // [B, 4, 64, 32] x [B, 4, 64, 32]^T: B*4 products of 64x32 by 32x64.
  test::GraphMaker gm;
  ir::Value *q = gm.input("q", test::f32Type({kBatch, 4, 64, 32}));
  ir::Value *k = gm.input("k", test::f32Type({kBatch, 4, 64, 32}));
  ir::Attrs a;
  a.set("transpose_b", int64_t{1});
  ir::Value *s = gm.op(OpKind::Bmm, {q, k}, a);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(ir::nodeFlops(*s->def(), 8), 2.0 * 8 * 4 * 64 * 64 * 32);
  // transpose_a: the depth is the second-to-last axis of a.
  ir::Attrs ta;
  ta.set("transpose_a", int64_t{1});
  ir::Value *t = gm.op(OpKind::Bmm, {q, s}, ta);
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(ir::nodeFlops(*t->def(), 8), 2.0 * 8 * 4 * 32 * 64 * 64);
}

TEST(Cost, ConvAndItsGradientsCountTheSameProducts) {
  // x[N,16,32,32] * w[16,16,3,3], padding 1: N*16*32*32 sums of 16*9 products.
  test::GraphMaker gm;
  ir::Value *x = gm.input("x", test::f32Type({kBatch, 16, 32, 32}));
  ir::Value *w = gm.param("w", test::f32Type({16, 16, 3, 3}));
  ir::Attrs a;
  a.set("padding", int64_t{1});
  ir::Value *y = gm.op(OpKind::Conv2d, {x, w}, a);
  ASSERT_NE(y, nullptr);
  double expected = 2.0 * 32 * 16 * 32 * 32 * 16 * 9;
  EXPECT_EQ(ir::nodeFlops(*y->def(), 32), expected);
  ir::Value *dx = gm.op(OpKind::Conv2dGradInput, {y, w, x}, a);
  ir::Value *dw = gm.op(OpKind::Conv2dGradWeight, {x, y, w}, a);
  ASSERT_NE(dx, nullptr);
  ASSERT_NE(dw, nullptr);
  EXPECT_EQ(ir::nodeFlops(*dx->def(), 32), expected);
  EXPECT_EQ(ir::nodeFlops(*dw->def(), 32), expected);
  // Two groups halve the products of each sum.
  ir::Attrs g2 = a;
  g2.set("groups", int64_t{2});
  ir::Value *wg = gm.param("wg", test::f32Type({16, 8, 3, 3}));
  ir::Value *yg = gm.op(OpKind::Conv2d, {x, wg}, g2);
  ASSERT_NE(yg, nullptr);
  EXPECT_EQ(ir::nodeFlops(*yg->def(), 32), expected / 2);
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
