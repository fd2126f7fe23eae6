//===- tests/unit/AutodiffTest.cpp - The backward graph autodiff builds ----===//
//
// Structure of the backward graph (gradients exist with the right types,
// fan-out is accumulated, broadcasting is summed back, frozen params get
// nothing, missing rules are all reported), one sweep over every gradient
// rule, and determinism. Numeric checks against finite differences live with
// the interpreter's tests; here the lecture's two-layer example is checked
// against gradients derived by hand, through the reference interpreter.
//
//===----------------------------------------------------------------------===//
#include "interp/Interpreter.h"
#include "ir/Graph.h"
#include "ir/Printer.h"
#include "passes/GradRules.h"
#include "passes/Passes.h"
#include "tests/TestUtil.h"

#include <cmath>
#include <functional>
#include <map>
#include <set>

using namespace gradc;
using namespace gradc::ir;
using namespace gradc::passes;
using gradc::test::errorText;
using gradc::test::expectOk;
using gradc::test::f32;
using gradc::test::i32;

namespace {


/// Builds typed graphs tersely.
struct G {
  Graph g;
  G() { g.name = "t"; }
  Value *input(const char *n, TensorType t) { return g.addInput(n, std::move(t)); }
  Value *param(const char *n, TensorType t, bool trainable = true) {
    return g.addParam(n, std::move(t), {}, trainable);
  }
  Value *op(OpKind k, std::vector<Value *> ins, const char *name, Attrs a = {}) {
    Node *n = g.addNode(k, ins, std::move(a), {name}, Location{"t.pbtxt", line++, name, "", ""});
    expectOk(inferNodeShape(*n, g));
    return n->result();
  }
  unsigned line = 1;
};

Attrs ints(const char *name, std::vector<int64_t> v) {
  Attrs a;
  a.set(name, std::move(v));
  return a;
}
Attrs intAttr(const char *name, int64_t v) {
  Attrs a;
  a.set(name, v);
  return a;
}

llvm::Expected<bool> autodiff(Graph &g, bool training = true) {
  PassContext ctx;
  ctx.training = training;
  return createAutodiffPass()->run(g, ctx);
}

/// x[N,3] -> W1[3,4] -> +b1 -> tanh -> W2[4,2] -> +b2 -> sce(y); b2 frozen.
struct Mlp : G {
  Value *x, *y, *W1, *b1, *W2, *b2, *h, *a, *t, *z, *logits, *loss;
  Mlp() {
    x = input("x", f32({kBatch, 3}));
    y = input("y", i32({kBatch}));
    W1 = param("W1", f32({3, 4}));
    b1 = param("b1", f32({4}));
    W2 = param("W2", f32({4, 2}));
    b2 = param("b2", f32({2}), /*trainable=*/false);
    h = op(OpKind::MatMul, {x, W1}, "h");
    a = op(OpKind::Add, {h, b1}, "a");
    t = op(OpKind::Tanh, {a}, "t");
    z = op(OpKind::MatMul, {t, W2}, "z");
    logits = op(OpKind::Add, {z, b2}, "logits");
    loss = op(OpKind::SoftmaxCrossEntropy, {logits, y}, "loss");
    g.outputs.push_back(logits);
    g.loss = loss;
  }
};

/// Every value `v` depends on, through any chain of nodes.
bool dependsOn(const Value *v, const Value *on) {
  if (v == on)
    return true;
  if (!v->def())
    return false;
  for (const Value *in : v->def()->inputs())
    if (dependsOn(in, on))
      return true;
  return false;
}

TEST(Autodiff, GradientForEveryTrainableParam) {
  Mlp m;
  size_t forward = m.g.nodes().size();
  EXPECT_TRUE(expectOk(autodiff(m.g)));

  ASSERT_EQ(m.g.gradients.size(), 3u);
  const Value *want[] = {m.W1, m.b1, m.W2};
  for (size_t i = 0; i < 3; ++i) {
    auto [p, grad] = m.g.gradients[i];
    EXPECT_EQ(p, want[i]);
    EXPECT_EQ(grad->type(), p->type()) << p->name();
    EXPECT_EQ(grad->name(), "d." + p->name());
    ASSERT_NE(grad->def(), nullptr);
    EXPECT_EQ(grad->def()->loc.pass, "autodiff");
  }
  // The frozen bias gets no gradient.
  EXPECT_EQ(m.g.gradientOf(m.b2), nullptr);

  // Weight gradients are transposed matmuls: dW1 = x^T dh, dW2 = t^T dz.
  Node *dW1 = m.g.gradientOf(m.W1)->def();
  ASSERT_EQ(dW1->op(), OpKind::MatMul);
  EXPECT_EQ(dW1->input(0), m.x);
  EXPECT_EQ(dW1->attrs().getInt("transpose_a", 0), 1);
  EXPECT_EQ(dW1->loc.of, "h");
  EXPECT_EQ(dW1->loc.modelNode, "h"); // copied from the forward node
  EXPECT_EQ(dW1->loc.file, "t.pbtxt");
  Node *dW2 = m.g.gradientOf(m.W2)->def();
  ASSERT_EQ(dW2->op(), OpKind::MatMul);
  EXPECT_EQ(dW2->input(0), m.t);
  EXPECT_EQ(dW2->attrs().getInt("transpose_a", 0), 1);

  // The bias gradient sums dy over the batch.
  Node *db1 = m.g.gradientOf(m.b1)->def();
  ASSERT_EQ(db1->op(), OpKind::ReduceSum);
  EXPECT_EQ(db1->attrs().getInts("axes"), std::vector<int64_t>{0});
  EXPECT_EQ(db1->attrs().getInt("keepdims", 1), 0);

  // The key nodes of the backward pass exist; nothing computes d(x) (the data
  // input needs no gradient), and backward nodes come after forward ones.
  bool sawSeed = false, sawSce = false, sawTanh = false;
  for (size_t i = 0; i < m.g.nodes().size(); ++i) {
    const Node &n = *m.g.nodes()[i];
    EXPECT_EQ(i >= forward, n.loc.pass == "autodiff") << n.describe();
    sawSeed |= n.op() == OpKind::Constant && n.attrs().getFloat("value", 0) == 1.0;
    sawSce |= n.op() == OpKind::SoftmaxCrossEntropyGrad;
    sawTanh |= n.op() == OpKind::TanhGrad && n.input(0) == m.t;
    EXPECT_NE(n.result()->name(), "d.x");
  }
  EXPECT_TRUE(sawSeed && sawSce && sawTanh);
  EXPECT_TRUE(dependsOn(m.g.gradientOf(m.W1), m.W2)); // through dz W2^T
}

TEST(Autodiff, OnlyWhenTrainingAndOnce) {
  Mlp m;
  size_t n = m.g.nodes().size();
  EXPECT_FALSE(expectOk(autodiff(m.g, /*training=*/false)));
  EXPECT_EQ(m.g.nodes().size(), n);
  EXPECT_TRUE(expectOk(autodiff(m.g)));
  size_t after = m.g.nodes().size();
  EXPECT_FALSE(expectOk(autodiff(m.g)));
  EXPECT_EQ(m.g.nodes().size(), after);
}

TEST(Autodiff, NeedsALoss) {
  Mlp m;
  m.g.loss = nullptr;
  m.g.sourceFile = "mlp.pbtxt";
  EXPECT_EQ(errorText(autodiff(m.g).takeError()),
            "mlp.pbtxt: training needs a loss; the model declares none");
}

TEST(Autodiff, ReportsEveryNodeWithoutARule) {
  G t;
  Value *x = t.input("x", f32({kBatch, 2}));
  Value *y = t.input("y", f32({kBatch, 1}));
  Value *W = t.param("W", f32({2, 1}));
  Value *h = t.op(OpKind::MatMul, {x, W}, "h");
  Value *g1 = t.op(OpKind::ReluGrad, {h, h}, "g1");
  Value *cnt = t.op(OpKind::Numel, {h}, "cnt");
  Value *s = t.op(OpKind::Div, {g1, cnt}, "s");
  t.g.loss = t.op(OpKind::Mse, {s, y}, "loss");
  std::string msg = errorText(autodiff(t.g).takeError());
  EXPECT_NE(msg.find("cannot differentiate loss %loss"), std::string::npos) << msg;
  EXPECT_NE(msg.find("2 node(s)"), std::string::npos) << msg;
  EXPECT_NE(msg.find("node 'g1' (relu_grad) at t.pbtxt:2"), std::string::npos) << msg;
  EXPECT_NE(msg.find("node 'cnt' (numel) at t.pbtxt:3"), std::string::npos) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << "one line";
  EXPECT_TRUE(t.g.gradients.empty());
}

TEST(Autodiff, NoRuleOffThePathIsFine) {
  // numel of the data input does not lie between a param and the loss.
  G t;
  Value *x = t.input("x", f32({kBatch, 2}));
  Value *W = t.param("W", f32({2, 2}));
  Value *h = t.op(OpKind::MatMul, {x, W}, "h");
  Value *cnt = t.op(OpKind::Numel, {x}, "cnt");
  Value *s = t.op(OpKind::ReduceSum, {h}, "s");
  t.g.loss = t.op(OpKind::Div, {s, cnt}, "loss");
  EXPECT_TRUE(expectOk(autodiff(t.g)));
  EXPECT_EQ(t.g.gradientOf(W)->type(), f32({2, 2}));
}

TEST(Autodiff, FanOutIsAccumulated) {
  // loss = sum(W * W): both operands of mul are W, so dW = add of two terms.
  G t;
  Value *W = t.param("W", f32({3}));
  Value *sq = t.op(OpKind::Mul, {W, W}, "sq");
  t.g.loss = t.op(OpKind::ReduceSum, {sq}, "loss");
  ASSERT_TRUE(expectOk(autodiff(t.g)));
  Node *acc = t.g.gradientOf(W)->def();
  ASSERT_EQ(acc->op(), OpKind::Add);
  EXPECT_EQ(acc->result()->type(), f32({3}));
  for (Value *term : acc->inputs()) {
    ASSERT_EQ(term->def()->op(), OpKind::Mul);
    EXPECT_EQ(term->def()->input(1), W);
  }
  EXPECT_NE(acc->input(0), acc->input(1));
}

TEST(Autodiff, FanOutAcrossNodes) {
  // e = exp(W) feeds mul(e, e) and add(., e): three contributions to d(e).
  G t;
  Value *W = t.param("W", f32({3}));
  Value *e = t.op(OpKind::Exp, {W}, "e");
  Value *b = t.op(OpKind::Mul, {e, e}, "b");
  Value *c = t.op(OpKind::Add, {b, e}, "c");
  t.g.loss = t.op(OpKind::ReduceSum, {c}, "loss");
  ASSERT_TRUE(expectOk(autodiff(t.g)));
  // dW = mul(d(e), e), d(e) an add tree with three leaves.
  Node *dW = t.g.gradientOf(W)->def();
  ASSERT_EQ(dW->op(), OpKind::Mul);
  EXPECT_EQ(dW->input(1), e);
  std::vector<const Node *> leaves;
  std::function<void(const Value *)> collect = [&](const Value *v) {
    if (v->def()->op() == OpKind::Add && v->def()->loc.pass == "autodiff") {
      collect(v->def()->input(0));
      collect(v->def()->input(1));
    } else {
      leaves.push_back(v->def());
    }
  };
  collect(dW->input(0));
  ASSERT_EQ(leaves.size(), 3u);
  int muls = 0, direct = 0;
  for (const Node *l : leaves) {
    muls += l->op() == OpKind::Mul && l->input(1) == e;
    direct += l->op() == OpKind::BroadcastTo; // d(c) passed through add
  }
  EXPECT_EQ(muls, 2);
  EXPECT_EQ(direct, 1);
}

TEST(Autodiff, BiasBroadcastIsSummedBack) {
  G t;
  Value *x = t.input("x", f32({kBatch, 4}));
  Value *b = t.param("b", f32({4}));
  Value *s = t.op(OpKind::Add, {x, b}, "s");
  t.g.loss = t.op(OpKind::ReduceMean, {s}, "loss");
  ASSERT_TRUE(expectOk(autodiff(t.g)));
  Value *db = t.g.gradientOf(b);
  EXPECT_EQ(db->type(), f32({4}));
  ASSERT_EQ(db->def()->op(), OpKind::ReduceSum);
  EXPECT_EQ(db->def()->input(0)->type(), f32({kBatch, 4}));
}

TEST(Autodiff, InnerOnesAreSummedWithKeepdimsThenReshaped) {
  // [N,2,4] + [1,4]: sum over axes 0 (leading) and 1 (size 1 in b).
  G t;
  Value *x = t.input("x", f32({kBatch, 2, 4}));
  Value *b = t.param("b", f32({1, 4}));
  Value *c = t.param("c", f32({2, 1}));
  Value *s = t.op(OpKind::Add, {x, b}, "s");
  Value *u = t.op(OpKind::Mul, {s, c}, "u");
  t.g.loss = t.op(OpKind::ReduceSum, {u}, "loss");
  ASSERT_TRUE(expectOk(autodiff(t.g)));
  Value *db = t.g.gradientOf(b);
  EXPECT_EQ(db->type(), f32({1, 4}));
  ASSERT_EQ(db->def()->op(), OpKind::Reshape);
  Node *sum = db->def()->input(0)->def();
  ASSERT_EQ(sum->op(), OpKind::ReduceSum);
  EXPECT_EQ(sum->attrs().getInts("axes"), (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(sum->attrs().getInt("keepdims", 0), 1);
  Value *dc = t.g.gradientOf(c);
  EXPECT_EQ(dc->type(), f32({2, 1}));
}

TEST(Autodiff, UnconnectedParamGetsZero) {
  G t;
  Value *x = t.input("x", f32({kBatch, 2}));
  Value *W = t.param("W", f32({2, 2}));
  Value *V = t.param("V", f32({5, 3}));
  Value *h = t.op(OpKind::MatMul, {x, W}, "h");
  t.op(OpKind::Exp, {V}, "unused");
  t.g.loss = t.op(OpKind::ReduceSum, {h}, "loss");
  ASSERT_TRUE(expectOk(autodiff(t.g)));
  Value *dV = t.g.gradientOf(V);
  ASSERT_NE(dV, nullptr);
  EXPECT_EQ(dV->type(), f32({5, 3}));
  ASSERT_EQ(dV->def()->op(), OpKind::Constant);
  EXPECT_EQ(dV->def()->attrs().getFloat("value", 1), 0.0);
  EXPECT_EQ(t.g.gradients[0].first, W);
  EXPECT_EQ(t.g.gradients[1].first, V);
}

TEST(Autodiff, SharedAdjointIsCopiedPerParam) {
  G t;
  Value *a = t.param("a", f32({3}));
  Value *b = t.param("b", f32({3}));
  Value *s = t.op(OpKind::Add, {a, b}, "s");
  t.g.loss = t.op(OpKind::ReduceSum, {s}, "loss");
  ASSERT_TRUE(expectOk(autodiff(t.g)));
  EXPECT_NE(t.g.gradientOf(a), t.g.gradientOf(b));
  EXPECT_EQ(t.g.gradientOf(b)->type(), f32({3}));
}

TEST(Autodiff, Deterministic) {
  Mlp m1, m2;
  ASSERT_TRUE(expectOk(autodiff(m1.g)));
  ASSERT_TRUE(expectOk(autodiff(m2.g)));
  EXPECT_EQ(graphToString(m1.g), graphToString(m2.g));
}

// ---- One case per gradient rule ---------------------------------------------

/// A one-op graph whose inputs are params (except integer labels); the loss
/// is the op itself when it is a loss, else the sum of its result.
struct RuleCase {
  const char *label;
  OpKind op;
  std::vector<TensorType> inputs;
  Attrs attrs;
  unsigned dataInputs = 0; // bit i: f32 input i is data (e.g. a mask), not a param
};

std::vector<RuleCase> ruleCases() {
  auto tf = [](Shape s) { return f32(std::move(s)); };
  std::vector<RuleCase> c;
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb) {
      Attrs a;
      if (ta)
        a.set("transpose_a", int64_t(1));
      if (tb)
        a.set("transpose_b", int64_t(1));
      c.push_back({"matmul", OpKind::MatMul,
                   {tf(ta ? Shape{3, 2} : Shape{2, 3}), tf(tb ? Shape{4, 3} : Shape{3, 4})},
                   a});
    }
  for (OpKind k : {OpKind::Add, OpKind::Sub, OpKind::Mul, OpKind::Div})
    c.push_back({"binary", k, {tf({2, 1, 4}), tf({3, 1})}, {}});
  for (OpKind k : {OpKind::Neg, OpKind::Relu, OpKind::Sigmoid, OpKind::Tanh, OpKind::Exp,
                   OpKind::Log, OpKind::Sqrt})
    c.push_back({"unary", k, {tf({2, 3})}, {}});
  c.push_back({"softmax", OpKind::Softmax, {tf({2, 3})}, intAttr("axis", 0)});
  c.push_back({"log_softmax", OpKind::LogSoftmax, {tf({2, 3})}, {}});
  c.push_back({"sce", OpKind::SoftmaxCrossEntropy, {tf({2, 5}), i32({2})}, {}});
  c.push_back({"mse", OpKind::Mse, {tf({2, 3}), tf({2, 3})}, {}});
  c.push_back({"sum", OpKind::ReduceSum, {tf({2, 3, 4})}, ints("axes", {1})});
  c.push_back({"sum-all", OpKind::ReduceSum, {tf({2, 3})}, {}});
  Attrs keep = ints("axes", {0, -1});
  keep.set("keepdims", int64_t(1));
  c.push_back({"sum-keep", OpKind::ReduceSum, {tf({2, 3, 4})}, keep});
  c.push_back({"mean", OpKind::ReduceMean, {tf({2, 3, 4})}, ints("axes", {2})});
  c.push_back({"reshape", OpKind::Reshape, {tf({2, 6})}, ints("shape", {3, -1})});
  c.push_back({"transpose", OpKind::Transpose, {tf({2, 3, 4})}, ints("perm", {1, 2, 0})});
  c.push_back({"transpose-default", OpKind::Transpose, {tf({2, 3})}, {}});
  c.push_back({"broadcast_to", OpKind::BroadcastTo, {tf({3, 1})}, ints("shape", {2, 3, 4})});
  // Vision ops.
  Attrs conv = ints("stride", {2, 1});
  conv.set("groups", int64_t(2));
  c.push_back({"conv2d", OpKind::Conv2d, {tf({2, 4, 5, 5}), tf({6, 2, 3, 3}), tf({6})}, conv});
  c.push_back({"conv2d-nobias", OpKind::Conv2d, {tf({2, 1, 5, 5}), tf({3, 1, 2, 2})}, {}});
  c.push_back({"max_pool2d", OpKind::MaxPool2d, {tf({2, 3, 4, 4})}, ints("kernel", {2, 2})});
  c.push_back({"avg_pool2d", OpKind::AvgPool2d, {tf({2, 3, 5, 5})}, ints("kernel", {3, 3})});
  c.push_back({"global_avg_pool", OpKind::GlobalAvgPool, {tf({2, 3, 4, 4})}, {}});
  c.push_back({"flatten", OpKind::Flatten, {tf({2, 3, 4})}, {}});
  c.push_back({"dropout", OpKind::Dropout, {tf({2, 3})}, {}});
  // (x, gamma, beta); the test adds batch_stats(x) as the fourth input.
  c.push_back({"batch_norm_train", OpKind::BatchNormTrain, {tf({4, 2, 2, 3}), tf({2}), tf({2})},
               {}});
  c.push_back({"dropout_train", OpKind::DropoutTrain, {tf({2, 3}), tf({})}, {}});
  // Sequence-model family.
  auto ti = [](Shape s) { return TensorType(DType::I32, std::move(s)); };
  for (OpKind k : {OpKind::LeakyRelu, OpKind::Gelu, OpKind::Gaussian, OpKind::Elu,
                   OpKind::Softplus})
    c.push_back({"activation", k, {tf({2, 3})}, {}});
  Attrs expo;
  expo.set("exponent", 2.5);
  c.push_back({"pow", OpKind::Pow, {tf({2, 3})}, expo});
  c.push_back({"maximum", OpKind::Maximum, {tf({2, 3}), tf({3})}, {}});
  c.push_back({"minimum", OpKind::Minimum, {tf({2, 1}), tf({1, 3})}, {}});
  c.push_back({"where", OpKind::Where, {tf({2, 1}), tf({2, 3}), tf({3})}, {}, 1});
  c.push_back({"bce", OpKind::BceWithLogits, {tf({2, 3}), tf({2, 3})}, {}});
  c.push_back({"nll", OpKind::Nll, {tf({2, 3, 5}), ti({2, 3})}, {}});
  c.push_back({"embedding", OpKind::Embedding, {ti({2, 3}), tf({5, 4})}, {}});
  Attrs sl;
  sl.set("axis", int64_t(1));
  sl.set("start", int64_t(1));
  sl.set("end", int64_t(3));
  c.push_back({"slice", OpKind::Slice, {tf({2, 4, 3})}, sl});
  Attrs cat;
  cat.set("axis", int64_t(-1));
  Attrs bt;
  bt.set("transpose_b", int64_t(1));
  c.push_back({"bmm", OpKind::Bmm, {tf({2, 3, 4}), tf({2, 5, 4})}, bt});
  c.push_back({"layer_norm_rows", OpKind::LayerNormRows, {tf({2, 3, 4}), tf({4}), tf({4})}, {}});
  c.push_back({"concat", OpKind::Concat, {tf({2, 1}), tf({2, 3}), tf({2, 2})}, cat});
  return c;
}

/// Float operands are trainable params, except dropout_train's step (a
/// count the runtime feeds, with no gradient).
bool isParamOperand(const RuleCase &rc, size_t i) {
  return rc.inputs[i].dtype == DType::F32 && !(rc.op == OpKind::DropoutTrain && i == 1);
}

TEST(GradRules, BatchNormTrainNeedsTheStatisticsOfItsInput) {
  // The rule differentiates through the statistics as functions of x, so
  // statistics of another value (or fed from outside) are refused, and no
  // gradient flows into them.
  for (bool ofOther : {false, true}) {
    G t;
    Value *x = t.g.addParam("x", TensorType(DType::F32, {4, 2, 3, 3}), {});
    Value *other = t.g.addInput("other", TensorType(DType::F32, {4, 2, 3, 3}));
    Value *gamma = t.g.addParam("gamma", TensorType(DType::F32, {2}), {});
    Value *beta = t.g.addParam("beta", TensorType(DType::F32, {2}), {});
    Value *stats = t.op(OpKind::BatchStats, {ofOther ? other : x}, "stats");
    Value *y = t.op(OpKind::BatchNormTrain, {x, gamma, beta, stats}, "y");
    t.g.loss = t.op(OpKind::ReduceSum, {y}, "loss");
    auto e = autodiff(t.g);
    if (!ofOther) {
      ASSERT_TRUE(expectOk(std::move(e)));
      EXPECT_EQ(t.g.gradientOf(x)->def()->op(), OpKind::BatchNormTrainGrad);
      continue;
    }
    ASSERT_FALSE(bool(e));
    std::string msg = llvm::toString(e.takeError());
    EXPECT_NE(msg.find("statistics %stats must be batch_stats(%x)"), std::string::npos) << msg;
  }
}

TEST(GradRules, EveryRuleGivesInputShapedGradients) {
  std::set<OpKind> covered;
  for (const RuleCase &rc : ruleCases()) {
    SCOPED_TRACE(std::string(rc.label) + " " + opName(rc.op).str());
    G t;
    std::vector<Value *> ins;
    for (size_t i = 0; i < rc.inputs.size(); ++i) {
      std::string name = "p" + std::to_string(i);
      ins.push_back(isParamOperand(rc, i) && !(rc.dataInputs >> i & 1)
                        ? t.g.addParam(name, rc.inputs[i], {})
                        : t.g.addInput(name, rc.inputs[i]));
    }
    std::vector<Value *> opIns = ins;
    if (rc.op == OpKind::BatchNormTrain) // its statistics, derived from x
      opIns.push_back(t.op(OpKind::BatchStats, {ins[0]}, "stats"));
    Value *r = t.op(rc.op, opIns, "r", rc.attrs);
    t.g.loss = r->type().isScalar() ? r : t.op(OpKind::ReduceSum, {r}, "loss");
    ASSERT_TRUE(expectOk(autodiff(t.g)));
    size_t numParams = 0;
    for (Value *in : ins)
      if (in->isParam()) {
        ++numParams;
        Value *grad = t.g.gradientOf(in);
        ASSERT_NE(grad, nullptr);
        EXPECT_EQ(grad->type(), in->type());
        // A real gradient, not a zero: it depends on the loss seed.
        EXPECT_NE(grad->def()->op(), OpKind::Constant);
      }
    EXPECT_EQ(t.g.gradients.size(), numParams);
    for (const auto &n : t.g.nodes())
      expectOk(inferNodeShape(*n, t.g)); // every backward node is well typed
    covered.insert(rc.op);
  }
  // The sweep covers every op that has a rule; NoGrad ops have none.
  for (unsigned k = 0; k < kNumOps; ++k) {
    OpKind op = static_cast<OpKind>(k);
    EXPECT_EQ(gradRule(op) != nullptr, opInfo(op).hasGrad()) << opName(op).str();
    if (gradRule(op)) {
      EXPECT_TRUE(covered.count(op)) << "no case for " << opName(op).str();
    }
  }
}

TEST(GradRules, MatmulCasesUseTransposeFlagsOnly) {
  for (const RuleCase &rc : ruleCases()) {
    if (rc.op != OpKind::MatMul)
      continue;
    G t;
    Value *a = t.g.addParam("A", rc.inputs[0], {});
    Value *b = t.g.addParam("B", rc.inputs[1], {});
    Value *r = t.op(OpKind::MatMul, {a, b}, "r", rc.attrs);
    t.g.loss = t.op(OpKind::ReduceSum, {r}, "loss");
    ASSERT_TRUE(expectOk(autodiff(t.g)));
    for (const auto &n : t.g.nodes())
      EXPECT_NE(n->op(), OpKind::Transpose);
    EXPECT_EQ(t.g.gradientOf(a)->def()->op(), OpKind::MatMul);
    EXPECT_EQ(t.g.gradientOf(b)->def()->op(), OpKind::MatMul);
  }
}

// ---- Numbers: the lecture's two-layer example -----------------------------

/// Runs one step of `g` with the reference interpreter. `feed` gives the
/// contents of inputs and params by name; returns every buffer by name.
/// Integer buffers (labels) are fed with the values converted.
std::map<std::string, std::vector<float>>
runStep(const Graph &g, int64_t batch, const std::map<std::string, std::vector<float>> &feed) {
  auto exe = interp::makeInterpreter(g);
  std::vector<rt::Tensor> bufs;
  std::vector<void *> ptrs;
  for (const rt::BufferDesc &d : exe->buffers()) {
    bufs.emplace_back(d.dtype, bindBatch(d.shape, batch));
    auto it = feed.find(d.name);
    if (it == feed.end())
      continue;
    rt::Tensor &t = bufs.back();
    EXPECT_EQ(static_cast<int64_t>(it->second.size()), t.numel()) << d.name;
    for (int64_t i = 0; i < t.numel(); ++i)
      if (d.dtype == DType::F32)
        t.f32()[i] = it->second[i];
      else
        t.i32()[i] = static_cast<int32_t>(it->second[i]);
  }
  for (rt::Tensor &t : bufs)
    ptrs.push_back(t.data());
  expectOk(exe->run(ptrs.data(), batch));
  std::map<std::string, std::vector<float>> out;
  for (size_t i = 0; i < bufs.size(); ++i)
    if (bufs[i].dtype() == DType::F32)
      out[exe->buffers()[i].name].assign(bufs[i].f32(), bufs[i].f32() + bufs[i].numel());
  return out;
}

TEST(AutodiffNumeric, EveryRuleMatchesFiniteDifferences) {
  // Each rule case of the sweep above: autodiff's gradient against central
  // differences of the loss, in f32 through the interpreter. Values are
  // +-[0.5, 1.5] (positive where log or a divisor needs it), away from relu's
  // kink; eps = 1e-2 keeps f32 rounding (~1e-4 relative on the loss) small
  // against the step, so a tolerance of 2e-2 still catches any wrong rule,
  // whose error is O(1).
  for (const RuleCase &rc : ruleCases()) {
    SCOPED_TRACE(std::string(rc.label) + " " + opName(rc.op).str());
    G t;
    std::vector<Value *> ins;
    std::map<std::string, std::vector<float>> feed;
    unsigned seed = 1;
    for (size_t i = 0; i < rc.inputs.size(); ++i) {
      std::string name = "p" + std::to_string(i);
      std::vector<float> vals(staticNumel(rc.inputs[i].shape));
      bool positive = rc.op == OpKind::Log || rc.op == OpKind::Sqrt ||
                      rc.op == OpKind::Pow || (rc.op == OpKind::Div && i == 1) ||
                          !isParamOperand(rc, i);
      for (size_t k = 0; k < vals.size(); ++k) {
        seed = seed * 1103515245u + 12345u;
        float mag = 0.5f + float((seed >> 16) % 1000) / 1000.0f;
        vals[k] = rc.inputs[i].dtype == DType::I32 ? float(k % 5)
                  : (positive || (seed >> 8) % 2) ? mag
                                                  : -mag;
      }
      feed[name] = vals;
      ins.push_back(isParamOperand(rc, i) && !(rc.dataInputs >> i & 1)
                        ? t.g.addParam(name, rc.inputs[i], {})
                        : t.g.addInput(name, rc.inputs[i]));
    }
    std::vector<Value *> opIns = ins;
    if (rc.op == OpKind::BatchNormTrain) // its statistics, derived from x
      opIns.push_back(t.op(OpKind::BatchStats, {ins[0]}, "stats"));
    Value *r = t.op(rc.op, opIns, "r", rc.attrs);
    t.g.loss = r->type().isScalar() ? r : t.op(OpKind::ReduceSum, {r}, "loss");
    ASSERT_TRUE(expectOk(autodiff(t.g)));
    auto base = runStep(t.g, 1, feed);
    const std::string lossName = t.g.loss->name();
    for (Value *in : ins) {
      if (!in->isParam())
        continue;
      const std::vector<float> &grad = base[t.g.gradientOf(in)->name()];
      const float eps = 1e-2f;
      for (size_t k = 0; k < grad.size(); ++k) {
        auto plus = feed, minus = feed;
        plus[in->name()][k] += eps;
        minus[in->name()][k] -= eps;
        double fd = (double(runStep(t.g, 1, plus)[lossName][0]) -
                     double(runStep(t.g, 1, minus)[lossName][0])) /
                    (2 * eps);
        EXPECT_NEAR(grad[k], fd, 2e-2 * std::max(1.0, std::fabs(fd)))
            << in->name() << "[" << k << "]";
      }
    }
  }
}

TEST(AutodiffNumeric, LectureTwoLayerExample) {
  // x[N,2] -> W1[2,3] -> sigmoid -> W2[3,1] -> mse(., y), then one SGD step.
  G t;
  Value *x = t.input("x", f32({kBatch, 2}));
  Value *y = t.input("y", f32({kBatch, 1}));
  Value *W1 = t.param("W1", f32({2, 3}));
  Value *W2 = t.param("W2", f32({3, 1}));
  Value *h = t.op(OpKind::MatMul, {x, W1}, "h");
  Value *a = t.op(OpKind::Sigmoid, {h}, "a");
  Value *p = t.op(OpKind::MatMul, {a, W2}, "p");
  t.g.loss = t.op(OpKind::Mse, {p, y}, "loss");
  t.g.outputs.push_back(p);
  PassContext ctx;
  ctx.training = true;
  ASSERT_TRUE(expectOk(createAutodiffPass()->run(t.g, ctx)));
  ASSERT_TRUE(expectOk(createOptimizerPass()->run(t.g, ctx)));

  const int64_t N = 4;
  std::vector<float> xs = {0.5f, -1.0f, 1.5f, 0.25f, -0.75f, 2.0f, 0.0f, -0.5f};
  std::vector<float> ys = {1.0f, -0.5f, 0.25f, 2.0f};
  std::vector<float> w1 = {0.1f, -0.2f, 0.3f, 0.4f, 0.5f, -0.6f};
  std::vector<float> w2 = {0.7f, -0.8f, 0.9f};
  const float lr = 0.1f;
  auto out = runStep(t.g, N, {{"x", xs}, {"y", ys}, {"W1", w1}, {"W2", w2}, {"lr", {lr}}});

  // By hand: h = x W1, a = sigmoid(h), p = a W2, loss = mean((p - y)^2);
  // dp = 2 (p - y) / N, dW2 = a^T dp, da = dp W2^T, dh = da a (1 - a),
  // dW1 = x^T dh.
  double A[N][3], P[N], dP[N], dH[N][3], loss = 0;
  double dW1[2][3] = {}, dW2[3] = {};
  for (int n = 0; n < N; ++n) {
    P[n] = 0;
    for (int j = 0; j < 3; ++j) {
      double hj = xs[n * 2] * w1[j] + xs[n * 2 + 1] * w1[3 + j];
      A[n][j] = 1 / (1 + std::exp(-hj));
      P[n] += A[n][j] * w2[j];
    }
    loss += (P[n] - ys[n]) * (P[n] - ys[n]) / N;
    dP[n] = 2 * (P[n] - ys[n]) / N;
  }
  for (int n = 0; n < N; ++n)
    for (int j = 0; j < 3; ++j) {
      dW2[j] += A[n][j] * dP[n];
      dH[n][j] = dP[n] * w2[j] * A[n][j] * (1 - A[n][j]);
      for (int i = 0; i < 2; ++i)
        dW1[i][j] += xs[n * 2 + i] * dH[n][j];
    }

  const double tol = 1e-5;
  EXPECT_NEAR(out["loss"][0], loss, tol);
  for (int n = 0; n < N; ++n)
    EXPECT_NEAR(out["p"][n], P[n], tol);
  const std::string gW1 = t.g.gradientOf(W1)->name(), gW2 = t.g.gradientOf(W2)->name();
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j) {
      EXPECT_NEAR(out[gW1][i * 3 + j], dW1[i][j], tol) << "dW1[" << i << "][" << j << "]";
      // The interpreter wrote the SGD update into the param buffer.
      EXPECT_NEAR(out["W1"][i * 3 + j], w1[i * 3 + j] - lr * dW1[i][j], tol);
    }
  for (int j = 0; j < 3; ++j) {
    EXPECT_NEAR(out[gW2][j], dW2[j], tol) << "dW2[" << j << "]";
    EXPECT_NEAR(out["W2"][j], w2[j] - lr * dW2[j], tol);
  }
  // The gradients are not trivially zero.
  EXPECT_GT(std::fabs(dW1[0][0]) + std::fabs(dW2[0]), 1e-3);
}

} // namespace
