//===- tests/numeric/InterpreterTest.cpp - The reference interpreter ------===//
//
// Every op of the interpreter on small examples whose results are computed by
// hand (or by a one-line formula), including the internal gradient kernels,
// the symbolic batch dimension, and error paths; then the Executable contract:
// the buffer layout, every node result written, updates applied after the
// step, and errors that name the node.
//
//===----------------------------------------------------------------------===//
#include "tests/numeric/NumericUtil.h"

#include "ir/BufferLayout.h"

#include <cmath>

using namespace gradc;
using namespace gradc::test;
using ir::OpKind;

namespace {

/// runOneOp on the interpreter, failing the test on an error.
rt::Tensor run(OpKind op, std::vector<Operand> operands, ir::Attrs a = {},
               int64_t batch = 1) {
  return expectOk(runOneOp(op, std::move(operands), std::move(a), batch));
}

// ---- matmul ---------------------------------------------------------------------

TEST(InterpreterOps, MatMulAllTransposeCombinations) {
  // A = [[1,2,3],[4,5,6]], B = [[7,8],[9,10],[11,12]]; AB = [[58,64],[139,154]].
  rt::Tensor a = tensorOf({2, 3}, {1, 2, 3, 4, 5, 6});
  rt::Tensor at = tensorOf({3, 2}, {1, 4, 2, 5, 3, 6});
  rt::Tensor b = tensorOf({3, 2}, {7, 8, 9, 10, 11, 12});
  rt::Tensor bt = tensorOf({2, 3}, {7, 9, 11, 8, 10, 12});
  const std::vector<float> ab = {58, 64, 139, 154};
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb) {
      SCOPED_TRACE(testing::Message() << "transpose_a=" << ta << " transpose_b=" << tb);
      rt::Tensor c = run(OpKind::MatMul, {operand(ta ? at : a), operand(tb ? bt : b)},
                         attrs({{"transpose_a", int64_t(ta)}, {"transpose_b", int64_t(tb)}}));
      EXPECT_EQ(c.shape(), (Shape{2, 2}));
      EXPECT_TRUE(allClose(c, ab, 0, 0));
    }
}

TEST(InterpreterOps, MatMulWithBatchRows) {
  // x[N,2] x W[2,3] with N = 3: each row of x times W.
  rt::Tensor x = tensorOf({3, 2}, {1, 0, 0, 1, 1, 1});
  rt::Tensor w = tensorOf({2, 3}, {1, 2, 3, 4, 5, 6});
  rt::Tensor y = run(OpKind::MatMul, {operand({kBatch, 2}, x), operand(w)}, {}, 3);
  EXPECT_EQ(y.shape(), (Shape{3, 3}));
  EXPECT_TRUE(allClose(y, {1, 2, 3, 4, 5, 6, 5, 7, 9}, 0, 0));
}

// ---- broadcasting binary ops ------------------------------------------------------

TEST(InterpreterOps, AddBroadcastsTrailingVector) {
  rt::Tensor y = run(OpKind::Add, {operand(tensorOf({2, 3}, {1, 2, 3, 4, 5, 6})),
                                   operand(tensorOf({3}, {10, 20, 30}))});
  EXPECT_EQ(y.shape(), (Shape{2, 3}));
  EXPECT_TRUE(allClose(y, {11, 22, 33, 14, 25, 36}, 0, 0));
}

TEST(InterpreterOps, AddBroadcastsColumnWithRow) {
  rt::Tensor y = run(OpKind::Add, {operand(tensorOf({2, 1}, {1, 2})),
                                   operand(tensorOf({1, 3}, {10, 20, 30}))});
  EXPECT_EQ(y.shape(), (Shape{2, 3}));
  EXPECT_TRUE(allClose(y, {11, 21, 31, 12, 22, 32}, 0, 0));
}

TEST(InterpreterOps, SubMulDivBroadcast) {
  rt::Tensor m = tensorOf({2, 3}, {1, 2, 3, 4, 5, 6});
  rt::Tensor col = tensorOf({2, 1}, {1, 2});
  EXPECT_TRUE(allClose(run(OpKind::Sub, {operand(m), operand(col)}), {0, 1, 2, 2, 3, 4}, 0, 0));
  EXPECT_TRUE(allClose(run(OpKind::Sub, {operand(col), operand(m)}),
                       {0, -1, -2, -2, -3, -4}, 0, 0));
  EXPECT_TRUE(allClose(run(OpKind::Mul, {operand(m), operand(col)}), {1, 2, 3, 8, 10, 12}, 0, 0));
  EXPECT_TRUE(allClose(run(OpKind::Div, {operand(m), operand(col)}),
                       {1, 2, 3, 2, 2.5f, 3}, 0, 0));
  // A scalar broadcasts against everything.
  EXPECT_TRUE(allClose(run(OpKind::Div, {operand(tensorOf({}, {1})), operand(col)}),
                       {1, 0.5f}, 0, 0));
}

TEST(InterpreterOps, BroadcastWithBatchDimension) {
  // [N,1,3] + [2,1] -> [N,2,3] with N = 2.
  rt::Tensor a = tensorOf({2, 1, 3}, {1, 2, 3, 4, 5, 6});
  rt::Tensor b = tensorOf({2, 1}, {100, 200});
  rt::Tensor y = run(OpKind::Add, {operand({kBatch, 1, 3}, a), operand(b)}, {}, 2);
  EXPECT_EQ(y.shape(), (Shape{2, 2, 3}));
  EXPECT_TRUE(allClose(y, {101, 102, 103, 201, 202, 203, 104, 105, 106, 204, 205, 206}, 0, 0));
}

// ---- elementwise unary ops --------------------------------------------------------

TEST(InterpreterOps, UnaryOps) {
  rt::Tensor x = tensorOf({4}, {-1, 0, 0.5f, 2});
  EXPECT_TRUE(allClose(run(OpKind::Neg, {operand(x)}), {1, 0, -0.5f, -2}, 0, 0));
  EXPECT_TRUE(allClose(run(OpKind::Relu, {operand(x)}), {0, 0, 0.5f, 2}, 0, 0));
  EXPECT_TRUE(allClose(run(OpKind::Sigmoid, {operand(x)}),
                       {0.26894142f, 0.5f, 0.62245933f, 0.88079708f}));
  EXPECT_TRUE(allClose(run(OpKind::Tanh, {operand(x)}),
                       {-0.76159416f, 0, 0.46211716f, 0.96402758f}));
  EXPECT_TRUE(allClose(run(OpKind::Exp, {operand(x)}),
                       {0.36787944f, 1, 1.64872127f, 7.3890561f}));
  rt::Tensor pos = tensorOf({3}, {1, 2.7182817f, 0.5f});
  EXPECT_TRUE(allClose(run(OpKind::Log, {operand(pos)}), {0, 1, -0.69314718f}));
}

TEST(InterpreterOps, SigmoidSaturatesWithoutNaN) {
  rt::Tensor y = run(OpKind::Sigmoid, {operand(tensorOf({2}, {-1000, 1000}))});
  EXPECT_TRUE(allClose(y, {0, 1}, 0, 0));
}

// ---- softmax family ---------------------------------------------------------------

TEST(InterpreterOps, SoftmaxOfKnownRow) {
  rt::Tensor y = run(OpKind::Softmax, {operand(tensorOf({1, 3}, {1, 2, 3}))});
  EXPECT_TRUE(allClose(y, {0.09003057f, 0.24472847f, 0.66524096f}));
  rt::Tensor ly = run(OpKind::LogSoftmax, {operand(tensorOf({1, 3}, {1, 2, 3}))});
  EXPECT_TRUE(allClose(ly, {-2.40760596f, -1.40760596f, -0.40760596f}));
}

TEST(InterpreterOps, SoftmaxRowsSumToOneAlongEitherAxis) {
  TensorRng rng(7);
  rt::Tensor x = rng.uniform({3, 4, 5}, -3, 3);
  for (int64_t axis : {0, 1, 2, -1}) {
    SCOPED_TRACE(testing::Message() << "axis " << axis);
    rt::Tensor y = run(OpKind::Softmax, {operand(x)}, attrs({{"axis", axis}}));
    rt::Tensor sums = run(OpKind::ReduceSum, {operand(y)}, attrs({{"axes", Ints{axis}}}));
    for (float s : valuesOf(sums))
      EXPECT_NEAR(s, 1.0, 1e-6);
    // log_softmax is the log of softmax along the same axis.
    rt::Tensor ly = run(OpKind::LogSoftmax, {operand(x)}, attrs({{"axis", axis}}));
    rt::Tensor logY = run(OpKind::Log, {operand(y)});
    EXPECT_TRUE(allClose(ly, logY, 1e-5, 1e-6));
  }
  // Axis 0 of a matrix normalizes columns: [[0,0],[ln3,0]] -> [[.25,.5],[.75,.5]].
  rt::Tensor cols = run(OpKind::Softmax, {operand(tensorOf({2, 2}, {0, 0, std::log(3.f), 0}))},
                        attrs({{"axis", int64_t(0)}}));
  EXPECT_TRUE(allClose(cols, {0.25f, 0.5f, 0.75f, 0.5f}));
}

TEST(InterpreterOps, SoftmaxIsStableForLargeLogits) {
  rt::Tensor y = run(OpKind::Softmax, {operand(tensorOf({1, 2}, {1000, 1000}))});
  EXPECT_TRUE(allClose(y, {0.5f, 0.5f}));
  rt::Tensor ly = run(OpKind::LogSoftmax, {operand(tensorOf({1, 2}, {-1000, 1000}))});
  EXPECT_TRUE(allClose(ly, {-2000, 0}));
}

// ---- losses -----------------------------------------------------------------------

TEST(InterpreterOps, SoftmaxCrossEntropyOfKnownLogits) {
  // Row 0: log(e + e^2 + e^3) - 3 = 0.40760596; row 1: log 3 = 1.09861229.
  rt::Tensor loss = run(OpKind::SoftmaxCrossEntropy,
                        {operand({kBatch, 3}, tensorOf({2, 3}, {1, 2, 3, 1, 1, 1})),
                         operand({kBatch}, labelsOf({2}, {2, 0}))},
                        {}, 2);
  EXPECT_EQ(loss.shape(), Shape{});
  EXPECT_TRUE(allClose(loss, {0.75310913f}));
}

TEST(InterpreterOps, SoftmaxCrossEntropyOverSeveralLeadingAxes) {
  // Labels [2,2] over logits [2,2,2]: mean of four per-position losses.
  rt::Tensor logits = tensorOf({2, 2, 2}, {0, 0, 1, 0, 0, 1, 2, 2});
  rt::Tensor labels = labelsOf({2, 2}, {0, 1, 1, 0});
  double l1 = std::log(1 + std::exp(1.0)); // softplus(1)
  double l0 = std::log(2.0);
  double l2 = std::log(1 + std::exp(-1.0)); // logits [0,1], label 1
  double expect = (l0 + l1 + l2 + l0) / 4;
  rt::Tensor loss = run(OpKind::SoftmaxCrossEntropy, {operand(logits), operand(labels)});
  EXPECT_NEAR(loss.f32()[0], expect, 1e-6);
}

TEST(InterpreterOps, LabelOutOfRangeIsAnError) {
  rt::Tensor logits = tensorOf({4, 10}, std::vector<float>(40, 0.f));
  std::string msg = errorText(runOneOp(OpKind::SoftmaxCrossEntropy,
                                       {operand(logits), operand(labelsOf({4}, {0, 1, 9, 12}))})
                                  .takeError());
  EXPECT_NE(msg.find("label 12 at position 3 is out of range for 10 classes"), std::string::npos)
      << msg;
  EXPECT_NE(msg.find("softmax_cross_entropy"), std::string::npos) << msg;

  msg = errorText(runOneOp(OpKind::SoftmaxCrossEntropy,
                           {operand(logits), operand(labelsOf({4}, {-1, 0, 0, 0}))})
                      .takeError());
  EXPECT_NE(msg.find("label -1 at position 0 is out of range"), std::string::npos) << msg;

  // The gradient kernel checks too.
  msg = errorText(runOneOp(OpKind::SoftmaxCrossEntropyGrad,
                           {operand(logits), operand(labelsOf({4}, {0, 10, 0, 0})),
                            operand(tensorOf({}, {1}))})
                      .takeError());
  EXPECT_NE(msg.find("label 10 at position 1 is out of range for 10 classes"),
            std::string::npos)
      << msg;
}

TEST(InterpreterOps, Mse) {
  rt::Tensor l = run(OpKind::Mse, {operand(tensorOf({3}, {1, 2, 3})),
                                   operand(tensorOf({3}, {1, 0, 0}))});
  EXPECT_TRUE(allClose(l, {13.f / 3}));
}

// ---- reductions -------------------------------------------------------------------

TEST(InterpreterOps, ReduceSumAxesAndKeepdims) {
  rt::Tensor x = tensorOf({2, 3}, {1, 2, 3, 4, 5, 6});
  rt::Tensor rows = run(OpKind::ReduceSum, {operand(x)},
                        attrs({{"axes", Ints{1}}, {"keepdims", int64_t(1)}}));
  EXPECT_EQ(rows.shape(), (Shape{2, 1}));
  EXPECT_TRUE(allClose(rows, {6, 15}, 0, 0));
  rt::Tensor cols = run(OpKind::ReduceSum, {operand(x)}, attrs({{"axes", Ints{0}}}));
  EXPECT_EQ(cols.shape(), (Shape{3}));
  EXPECT_TRUE(allClose(cols, {5, 7, 9}, 0, 0));
  rt::Tensor neg = run(OpKind::ReduceSum, {operand(x)}, attrs({{"axes", Ints{-1}}}));
  EXPECT_TRUE(allClose(neg, {6, 15}, 0, 0));
  rt::Tensor all = run(OpKind::ReduceSum, {operand(x)});
  EXPECT_EQ(all.shape(), Shape{});
  EXPECT_TRUE(allClose(all, {21}, 0, 0));
  rt::Tensor allKept = run(OpKind::ReduceSum, {operand(x)}, attrs({{"keepdims", int64_t(1)}}));
  EXPECT_EQ(allKept.shape(), (Shape{1, 1}));
  EXPECT_TRUE(allClose(allKept, {21}, 0, 0));
}

TEST(InterpreterOps, ReduceMeanOverNonAdjacentAxes) {
  // x[i][j][k] = 4i + 2j + k; mean over i and k leaves j: (0+1+4+5)/4 = 2.5, 4.5.
  rt::Tensor x = tensorOf({2, 2, 2}, {0, 1, 2, 3, 4, 5, 6, 7});
  rt::Tensor y = run(OpKind::ReduceMean, {operand(x)}, attrs({{"axes", Ints{0, 2}}}));
  EXPECT_EQ(y.shape(), (Shape{2}));
  EXPECT_TRUE(allClose(y, {2.5f, 4.5f}, 0, 0));
  rt::Tensor kept = run(OpKind::ReduceMean, {operand(x)},
                        attrs({{"axes", Ints{2, 0}}, {"keepdims", int64_t(1)}}));
  EXPECT_EQ(kept.shape(), (Shape{1, 2, 1}));
  EXPECT_TRUE(allClose(kept, {2.5f, 4.5f}, 0, 0));
}

TEST(InterpreterOps, ReduceOverBatchUsesTheRuntimeBatch) {
  rt::Tensor x = tensorOf({4, 2}, {1, 2, 3, 4, 5, 6, 7, 8});
  rt::Tensor mean = run(OpKind::ReduceMean, {operand({kBatch, 2}, x)},
                        attrs({{"axes", Ints{0}}}), 4);
  EXPECT_TRUE(allClose(mean, {4, 5}, 0, 0));
}

TEST(InterpreterOps, NumelWithBatchFive) {
  rt::Tensor x(DType::F32, {5, 4});
  auto numel = [&](Ints axes) {
    return run(OpKind::Numel, {operand({kBatch, 4}, x)}, attrs({{"axes", axes}}), 5).f32()[0];
  };
  EXPECT_EQ(numel({}), 20);
  EXPECT_EQ(numel({0}), 5);
  EXPECT_EQ(numel({1}), 4);
  EXPECT_EQ(numel({-1, 0}), 20);
}

// ---- data movement and constants --------------------------------------------------

TEST(InterpreterOps, ReshapeWithBatchKeepsTheData) {
  TensorRng rng(3);
  rt::Tensor x = rng.uniform({2, 6}, -1, 1);
  rt::Tensor y = run(OpKind::Reshape, {operand({kBatch, 6}, x)},
                     attrs({{"shape", Ints{-1, 2, 3}}}), 2);
  EXPECT_EQ(y.shape(), (Shape{2, 2, 3}));
  EXPECT_EQ(valuesOf(y), valuesOf(x));
}

TEST(InterpreterOps, TransposeDefaultAndPerm) {
  rt::Tensor m = tensorOf({2, 3}, {1, 2, 3, 4, 5, 6});
  rt::Tensor t = run(OpKind::Transpose, {operand(m)});
  EXPECT_EQ(t.shape(), (Shape{3, 2}));
  EXPECT_TRUE(allClose(t, {1, 4, 2, 5, 3, 6}, 0, 0));

  // x[i][j][k] = 100i + 10j + k, shape [2,3,2]; perm [2,0,1] -> y[k][i][j].
  std::vector<float> vals;
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 2; ++k)
        vals.push_back(100 * i + 10 * j + k);
  rt::Tensor y = run(OpKind::Transpose, {operand(tensorOf({2, 3, 2}, vals))},
                     attrs({{"perm", Ints{2, 0, 1}}}));
  EXPECT_EQ(y.shape(), (Shape{2, 2, 3}));
  EXPECT_TRUE(allClose(y, {0, 10, 20, 100, 110, 120, 1, 11, 21, 101, 111, 121}, 0, 0));

  // Integer tensors move too.
  rt::Tensor li = run(OpKind::Transpose, {operand(labelsOf({2, 2}, {1, 2, 3, 4}))});
  EXPECT_EQ(std::vector<int32_t>(li.i32(), li.i32() + 4), (std::vector<int32_t>{1, 3, 2, 4}));
}

TEST(InterpreterOps, BroadcastTo) {
  rt::Tensor row = run(OpKind::BroadcastTo, {operand(tensorOf({3}, {1, 2, 3}))},
                       attrs({{"shape", Ints{-1, 3}}}), 2);
  EXPECT_EQ(row.shape(), (Shape{2, 3}));
  EXPECT_TRUE(allClose(row, {1, 2, 3, 1, 2, 3}, 0, 0));
  rt::Tensor col = run(OpKind::BroadcastTo, {operand(tensorOf({2, 1}, {1, 2}))},
                       attrs({{"shape", Ints{2, 3}}}));
  EXPECT_TRUE(allClose(col, {1, 1, 1, 2, 2, 2}, 0, 0));
}

TEST(InterpreterOps, ConstantFillsItsShape) {
  rt::Tensor c = run(OpKind::Constant, {},
                     attrs({{"value", 2.5}, {"shape", Ints{2, 2}}}));
  EXPECT_TRUE(allClose(c, {2.5f, 2.5f, 2.5f, 2.5f}, 0, 0));
  rt::Tensor batched = run(OpKind::Constant, {},
                           attrs({{"value", -1.0}, {"shape", Ints{-1, 3}}}), 4);
  EXPECT_EQ(batched.shape(), (Shape{4, 3}));
  EXPECT_TRUE(allClose(batched, std::vector<float>(12, -1.f), 0, 0));
  rt::Tensor zero = run(OpKind::Constant, {});
  EXPECT_EQ(zero.shape(), Shape{});
  EXPECT_TRUE(allClose(zero, {0}, 0, 0));
}

// ---- gradient kernels -------------------------------------------------------------

TEST(InterpreterOps, ElementwiseGradKernels) {
  rt::Tensor dy = tensorOf({3}, {2, 2, 2});
  EXPECT_TRUE(allClose(run(OpKind::ReluGrad, {operand(tensorOf({3}, {-1, 0, 3})), operand(dy)}),
                       {0, 0, 2}, 0, 0));
  // sigmoid_grad takes the sigmoid output y: dy*y*(1-y).
  EXPECT_TRUE(allClose(
      run(OpKind::SigmoidGrad, {operand(tensorOf({3}, {0.5f, 0.25f, 1})), operand(dy)}),
      {0.5f, 0.375f, 0}));
  // tanh_grad takes the tanh output y: dy*(1-y^2).
  EXPECT_TRUE(allClose(
      run(OpKind::TanhGrad, {operand(tensorOf({3}, {0.5f, 0, -1})), operand(dy)}),
      {1.5f, 2, 0}));
}

TEST(InterpreterOps, SoftmaxGradKernels) {
  // softmax_grad: y*(dy - sum(dy*y)); y=[.2,.3,.5], dy=[1,0,0] -> [.16,-.06,-.1].
  rt::Tensor y = tensorOf({1, 3}, {0.2f, 0.3f, 0.5f});
  EXPECT_TRUE(allClose(run(OpKind::SoftmaxGrad, {operand(y), operand(tensorOf({1, 3}, {1, 0, 0}))}),
                       {0.16f, -0.06f, -0.1f}));
  // log_softmax_grad: dy - exp(y)*sum(dy); exp(y)=[.2,.3,.5], dy=[1,2,3].
  rt::Tensor ly = tensorOf({1, 3}, {std::log(0.2f), std::log(0.3f), std::log(0.5f)});
  EXPECT_TRUE(allClose(
      run(OpKind::LogSoftmaxGrad, {operand(ly), operand(tensorOf({1, 3}, {1, 2, 3}))}),
      {-0.2f, 0.2f, 0}, 1e-5, 1e-5));
  // Along axis 0 the same numbers sit in a column.
  rt::Tensor yc = tensorOf({3, 1}, {0.2f, 0.3f, 0.5f});
  EXPECT_TRUE(allClose(run(OpKind::SoftmaxGrad,
                           {operand(yc), operand(tensorOf({3, 1}, {1, 0, 0}))},
                           attrs({{"axis", int64_t(0)}})),
                       {0.16f, -0.06f, -0.1f}));
}

TEST(InterpreterOps, LossGradKernels) {
  // Two positions, dloss = 2: each row gets 2*(softmax - onehot)/2.
  rt::Tensor g = run(OpKind::SoftmaxCrossEntropyGrad,
                     {operand(tensorOf({2, 2}, {0, 0, 0, std::log(3.f)})),
                      operand(labelsOf({2}, {1, 0})), operand(tensorOf({}, {2}))});
  EXPECT_TRUE(allClose(g, {0.5f, -0.5f, 0.25f - 1, 0.75f}));
  // mse_grad: dloss*2*(a-b)/numel = 3*2*[1,-2,0,4]/4.
  rt::Tensor m = run(OpKind::MseGrad, {operand(tensorOf({2, 2}, {1, 0, 5, 4})),
                                       operand(tensorOf({2, 2}, {0, 2, 5, 0})),
                                       operand(tensorOf({}, {3}))});
  EXPECT_TRUE(allClose(m, {1.5f, -3, 0, 6}));
}

// ---- The Executable contract ------------------------------------------------------

TEST(Interpreter, BuffersFollowTheLayout) {
  GraphMaker gm;
  ir::Value *x = gm.input("x", f32Type({kBatch, 2}));
  ir::Value *w = gm.param("w", f32Type({2, 2}));
  ir::Value *h = gm.op(OpKind::MatMul, {x, w}, {}, "h");
  ir::Value *y = gm.op(OpKind::Tanh, {h}, {}, "y");
  gm.graph().outputs.push_back(y);
  auto exe = interp::makeInterpreter(gm.graph());
  ir::BufferLayout layout = ir::layoutBuffers(gm.graph());
  ASSERT_EQ(exe->buffers().size(), layout.buffers.size());
  for (size_t i = 0; i < layout.buffers.size(); ++i) {
    EXPECT_EQ(exe->buffers()[i].name, layout.buffers[i].name);
    EXPECT_EQ(exe->buffers()[i].role, layout.buffers[i].role);
    EXPECT_EQ(exe->buffers()[i].shape, layout.buffers[i].shape);
  }
}

TEST(Interpreter, WritesEveryNodeResult) {
  GraphMaker gm;
  ir::Value *x = gm.input("x", f32Type({kBatch, 2}));
  ir::Value *w = gm.param("w", f32Type({2, 2}));
  ir::Value *h = gm.op(OpKind::MatMul, {x, w}, {}, "h"); // a temp
  ir::Value *y = gm.op(OpKind::Neg, {h}, {}, "y");
  ir::Value *loss = gm.op(OpKind::ReduceSum, {y}, {}, "loss");
  gm.graph().outputs.push_back(y);
  gm.graph().loss = loss;
  auto exe = interp::makeInterpreter(gm.graph());
  BoundBuffers bufs(*exe, 2);
  bufs.set("x", tensorOf({2, 2}, {1, 2, 3, 4}));
  bufs.set("w", tensorOf({2, 2}, {1, 0, 0, 2}));
  expectOk(bufs.run());
  EXPECT_TRUE(allClose(bufs.get("h"), {1, 4, 3, 8}, 0, 0));
  EXPECT_TRUE(allClose(bufs.get("y"), {-1, -4, -3, -8}, 0, 0));
  EXPECT_TRUE(allClose(bufs.get("loss"), {-16}, 0, 0));
  // Inputs and params are read, not written.
  EXPECT_TRUE(allClose(bufs.get("x"), {1, 2, 3, 4}, 0, 0));
}

TEST(Interpreter, UpdatesApplyAfterTheWholeStep) {
  // next = p + 1 is scheduled before out = p * 2; out must still see the old p.
  GraphMaker gm;
  ir::Value *p = gm.param("p", f32Type({2}));
  ir::Value *one = gm.op(OpKind::Constant, {}, attrs({{"value", 1.0}}), "one");
  ir::Value *next = gm.op(OpKind::Add, {p, one}, {}, "next");
  ir::Value *two = gm.op(OpKind::Constant, {}, attrs({{"value", 2.0}}), "two");
  ir::Value *out = gm.op(OpKind::Mul, {p, two}, {}, "out");
  gm.graph().outputs.push_back(out);
  gm.graph().updates.push_back({p, next});
  auto exe = interp::makeInterpreter(gm.graph());
  BoundBuffers bufs(*exe, 1);
  bufs.set("p", tensorOf({2}, {3, 5}));
  expectOk(bufs.run());
  EXPECT_TRUE(allClose(bufs.get("out"), {6, 10}, 0, 0));
  EXPECT_TRUE(allClose(bufs.get("p"), {4, 6}, 0, 0));
  expectOk(bufs.run()); // a second step starts from the updated value
  EXPECT_TRUE(allClose(bufs.get("out"), {8, 12}, 0, 0));
  EXPECT_TRUE(allClose(bufs.get("p"), {5, 7}, 0, 0));
}

TEST(Interpreter, SameGraphRunsAtDifferentBatches) {
  GraphMaker gm;
  ir::Value *x = gm.input("x", f32Type({kBatch, 3}));
  ir::Value *s = gm.op(OpKind::ReduceMean, {x}, {}, "s");
  gm.graph().outputs.push_back(s);
  auto exe = interp::makeInterpreter(gm.graph());
  for (int64_t batch : {1, 2, 7}) {
    BoundBuffers bufs(*exe, batch);
    rt::Tensor x(DType::F32, {batch, 3});
    for (int64_t i = 0; i < x.numel(); ++i)
      x.f32()[i] = float(i);
    bufs.set("x", x);
    expectOk(bufs.run());
    EXPECT_FLOAT_EQ(bufs.get("s").f32()[0], (3 * batch - 1) / 2.0f) << "batch " << batch;
  }
}

TEST(Interpreter, ErrorsNameTheNode) {
  GraphMaker gm;
  ir::Value *logits = gm.input("logits", f32Type({kBatch, 3}));
  ir::Value *labels = gm.input("labels", i32Type({kBatch}));
  ir::Value *loss = gm.op(OpKind::SoftmaxCrossEntropy, {logits, labels}, {}, "loss");
  gm.graph().loss = loss;
  auto exe = interp::makeInterpreter(gm.graph());
  BoundBuffers bufs(*exe, 2);
  bufs.set("labels", labelsOf({2}, {0, 3}));
  std::string msg = errorText(bufs.run());
  EXPECT_NE(msg.find("node %loss (softmax_cross_entropy)"), std::string::npos) << msg;
  EXPECT_NE(msg.find("label 3 at position 1 is out of range for 3 classes"), std::string::npos)
      << msg;

  std::vector<void *> none(exe->buffers().size(), nullptr);
  msg = errorText(exe->run(none.data(), -2));
  EXPECT_NE(msg.find("batch size -2 is negative"), std::string::npos) << msg;
}

TEST(Interpreter, HugeBatchIsAnErrorNotACrash) {
  GraphMaker gm;
  ir::Value *x = gm.input("x", f32Type({kBatch, 1 << 20}));
  gm.graph().outputs.push_back(gm.op(OpKind::Neg, {x}, {}, "y"));
  auto exe = interp::makeInterpreter(gm.graph());
  std::vector<void *> none(exe->buffers().size(), nullptr);
  std::string msg = errorText(exe->run(none.data(), int64_t(1) << 45));
  EXPECT_NE(msg.find("too large"), std::string::npos) << msg;
}

} // namespace
