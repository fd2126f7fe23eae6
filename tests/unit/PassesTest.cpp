//===- tests/unit/PassesTest.cpp - infer-shapes, optimizer and dce ---------===//
//
// Graphs are built by hand with the Graph API (no parser involved), the pass
// is run through its factory, and the resulting graph is inspected.
//
//===----------------------------------------------------------------------===//
#include "ir/Graph.h"
#include "passes/Passes.h"
#include "tests/TestUtil.h"

#include "llvm/ADT/StringRef.h"

using namespace gradc;
using namespace gradc::ir;
using namespace gradc::passes;
using gradc::test::errorText;
using gradc::test::expectOk;
using gradc::test::f32;
using gradc::test::i32;

namespace {


Attrs matmulAttrs(bool tb) {
  Attrs a;
  if (tb)
    a.set("transpose_b", int64_t(1));
  return a;
}

/// x[N,784] -> fc1 (matmul + bias) -> relu -> fc2 -> softmax_cross_entropy(y),
/// nodes added WITHOUT types (as the frontend does); `k1` is W1's first dim.
struct Mlp {
  Graph g;
  Value *x, *y, *W1, *b1, *W2, *b2, *h, *a, *r, *z, *logits, *loss;
  Node *fc1;

  explicit Mlp(int64_t k1 = 784) {
    g.name = "mlp";
    g.sourceFile = "mlp.pbtxt";
    x = g.addInput("x", f32({kBatch, 784}));
    y = g.addInput("y", i32({kBatch}));
    W1 = g.addParam("W1", f32({k1, 16}), {});
    b1 = g.addParam("b1", f32({16}), {});
    W2 = g.addParam("W2", f32({16, 10}), {});
    b2 = g.addParam("b2", f32({10}), {});
    fc1 = g.addNode(OpKind::MatMul, {x, W1}, {}, {"h"}, Location{"mlp.pbtxt", 12, "fc1", "", ""});
    h = fc1->result();
    a = g.addNode(OpKind::Add, {h, b1}, {}, {"a"})->result();
    r = g.addNode(OpKind::Relu, {a}, {}, {"r"})->result();
    z = g.addNode(OpKind::MatMul, {r, W2}, {}, {"z"})->result();
    logits = g.addNode(OpKind::Add, {z, b2}, {}, {"logits"})->result();
    loss = g.addNode(OpKind::SoftmaxCrossEntropy, {logits, y}, {}, {"loss"})->result();
    g.outputs.push_back(logits);
    g.loss = loss;
  }
};

bool run(Pass &p, Graph &g, bool training) {
  PassContext ctx;
  ctx.training = training;
  return expectOk(p.run(g, ctx));
}

bool hasNode(const Graph &g, OpKind op) {
  for (const auto &n : g.nodes())
    if (n->op() == op)
      return true;
  return false;
}

// ---- infer-shapes -------------------------------------------------------------

TEST(InferShapes, TypesTheMlpAndCarriesN) {
  Mlp m;
  EXPECT_FALSE(m.h->type().known);
  auto pass = createInferShapesPass();
  EXPECT_EQ(pass->name(), "infer-shapes");
  EXPECT_TRUE(run(*pass, m.g, false));
  EXPECT_EQ(m.h->type(), f32({kBatch, 16}));
  EXPECT_EQ(m.a->type(), f32({kBatch, 16}));
  EXPECT_EQ(m.r->type(), f32({kBatch, 16}));
  EXPECT_EQ(m.logits->type(), f32({kBatch, 10}));
  EXPECT_EQ(m.loss->type(), f32({}));
  EXPECT_EQ(m.logits->type().str(), "f32[N,10]");
  // Inferred already: nothing changes.
  EXPECT_FALSE(run(*pass, m.g, false));
}

TEST(InferShapes, TransposeFlagsAndReshapeWithN) {
  Graph g;
  Value *x = g.addInput("x", f32({kBatch, 6}));
  Value *W = g.addParam("W", f32({4, 6}), {});
  Value *h = g.addNode(OpKind::MatMul, {x, W}, matmulAttrs(true), {"h"})->result();
  Attrs rs;
  rs.set("shape", std::vector<int64_t>{2, -1, 2});
  Value *r = g.addNode(OpKind::Reshape, {h}, rs, {"r"})->result();
  Attrs red;
  red.set("axes", std::vector<int64_t>{0, 2});
  Value *s = g.addNode(OpKind::ReduceSum, {r}, red, {"s"})->result();
  g.outputs.push_back(s);
  auto pass = createInferShapesPass();
  EXPECT_TRUE(run(*pass, g, false));
  EXPECT_EQ(h->type(), f32({kBatch, 4}));
  EXPECT_EQ(r->type(), f32({2, kBatch, 2}));
  EXPECT_EQ(s->type(), f32({kBatch}));
}

TEST(InferShapes, MatmulMismatchNamesTheNode) {
  Mlp m(/*k1=*/700);
  PassContext ctx;
  std::string msg = errorText(createInferShapesPass()->run(m.g, ctx).takeError());
  EXPECT_NE(msg.find("mlp.pbtxt:12"), std::string::npos) << msg;
  EXPECT_NE(msg.find("node 'fc1' (matmul)"), std::string::npos) << msg;
  EXPECT_NE(msg.find("inner dimensions do not match"), std::string::npos) << msg;
  EXPECT_NE(msg.find("784 vs 700"), std::string::npos) << msg;
}

TEST(InferShapes, LossMustBeAScalar) {
  Mlp m;
  m.g.loss = m.logits;
  PassContext ctx;
  std::string msg = errorText(createInferShapesPass()->run(m.g, ctx).takeError());
  EXPECT_EQ(msg, "mlp.pbtxt: loss %logits must be a scalar f32, got f32[N,10]");
}

TEST(InferShapes, OutputMustBeAValue) {
  Mlp m;
  m.g.outputs.push_back(nullptr);
  PassContext ctx;
  std::string msg = errorText(createInferShapesPass()->run(m.g, ctx).takeError());
  EXPECT_EQ(msg, "mlp.pbtxt: output #1 is not a value");
}

// ---- dce --------------------------------------------------------------------

TEST(Dce, RemovesDeadNodesWhenTraining) {
  Mlp m;
  Value *unused = m.g.addNode(OpKind::Exp, {m.x}, {}, {"unused"})->result();
  m.g.addNode(OpKind::Neg, {unused}, {}, {"unused2"});
  ASSERT_TRUE(run(*createInferShapesPass(), m.g, true));
  size_t before = m.g.nodes().size();
  auto dce = createDcePass();
  EXPECT_TRUE(run(*dce, m.g, true));
  EXPECT_EQ(m.g.nodes().size(), before - 2);
  EXPECT_EQ(m.g.lookup("unused"), nullptr);
  EXPECT_EQ(m.g.lookup("unused2"), nullptr);
  // Training keeps the loss and every input.
  EXPECT_EQ(m.g.loss, m.loss);
  EXPECT_EQ(m.g.inputs().size(), 2u);
  EXPECT_FALSE(run(*dce, m.g, true));
}

TEST(Dce, InferenceDropsLossAndLabels) {
  Mlp m;
  ASSERT_TRUE(run(*createInferShapesPass(), m.g, false));
  auto dce = createDcePass();
  EXPECT_TRUE(run(*dce, m.g, false));
  EXPECT_EQ(m.g.loss, nullptr);
  EXPECT_FALSE(hasNode(m.g, OpKind::SoftmaxCrossEntropy));
  EXPECT_EQ(m.g.lookup("loss"), nullptr);
  ASSERT_EQ(m.g.inputs().size(), 1u);
  EXPECT_EQ(m.g.inputs()[0]->name(), "x");
  EXPECT_EQ(m.g.lookup("y"), nullptr);
  EXPECT_EQ(m.g.nodes().size(), 5u); // the forward pass to the logits
  EXPECT_FALSE(run(*dce, m.g, false));
}

TEST(Dce, KeepsGradientsAndUpdates) {
  Mlp m;
  ASSERT_TRUE(run(*createInferShapesPass(), m.g, true));
  ASSERT_TRUE(run(*createAutodiffPass(), m.g, true));
  ASSERT_TRUE(run(*createOptimizerPass(), m.g, true));
  size_t before = m.g.nodes().size();
  EXPECT_FALSE(run(*createDcePass(), m.g, true));
  EXPECT_EQ(m.g.nodes().size(), before);
}

// ---- optimizer ----------------------------------------------------------------

TEST(Optimizer, AddsLrInputAndUpdates) {
  Mlp m;
  m.g.lookup("b2")->trainable = false;
  ASSERT_TRUE(run(*createInferShapesPass(), m.g, true));
  ASSERT_TRUE(run(*createAutodiffPass(), m.g, true));
  ASSERT_EQ(m.g.gradients.size(), 3u);
  auto sgd = createOptimizerPass(); // the default kind is sgd
  EXPECT_TRUE(run(*sgd, m.g, true));

  Value *lr = m.g.lookup("lr");
  ASSERT_NE(lr, nullptr);
  EXPECT_TRUE(lr->isInput());
  EXPECT_EQ(lr->role, InputRole::Hyper);
  EXPECT_EQ(lr->type(), f32({}));

  ASSERT_EQ(m.g.updates.size(), 3u);
  const char *names[] = {"W1", "b1", "W2"};
  for (size_t i = 0; i < 3; ++i) {
    const ParamUpdate &u = m.g.updates[i];
    EXPECT_EQ(u.param->name(), names[i]);
    EXPECT_EQ(u.next->name(), std::string(names[i]) + ".next");
    EXPECT_EQ(u.next->type(), u.param->type());
    // next = sub(param, mul(lr, grad))
    Node *sub = u.next->def();
    ASSERT_EQ(sub->op(), OpKind::Sub);
    EXPECT_EQ(sub->input(0), u.param);
    Node *mul = sub->input(1)->def();
    ASSERT_NE(mul, nullptr);
    ASSERT_EQ(mul->op(), OpKind::Mul);
    EXPECT_EQ(mul->input(0), lr);
    EXPECT_EQ(mul->input(1), m.g.gradientOf(u.param));
    EXPECT_EQ(sub->loc.pass, "optimizer");
    EXPECT_EQ(sub->loc.of, names[i]);
    EXPECT_EQ(mul->loc.pass, "optimizer");
  }
  // Already has updates: a second run does nothing.
  EXPECT_FALSE(run(*sgd, m.g, true));
  EXPECT_EQ(m.g.inputs().size(), 3u);
}

TEST(Optimizer, LrNameIsMadeUnique) {
  Mlp m;
  m.g.addInput("lr", f32({}));
  ASSERT_TRUE(run(*createInferShapesPass(), m.g, true));
  ASSERT_TRUE(run(*createAutodiffPass(), m.g, true));
  ASSERT_TRUE(run(*createOptimizerPass(), m.g, true));
  Value *lr = m.g.lookup("lr.1");
  ASSERT_NE(lr, nullptr);
  EXPECT_EQ(lr->role, InputRole::Hyper);
  EXPECT_EQ(m.g.updates[0].next->def()->input(1)->def()->input(0), lr);
}

TEST(Optimizer, NothingWhenNotTraining) {
  Mlp m;
  ASSERT_TRUE(run(*createInferShapesPass(), m.g, false));
  EXPECT_FALSE(run(*createOptimizerPass(), m.g, false));
  EXPECT_EQ(m.g.lookup("lr"), nullptr);
  EXPECT_TRUE(m.g.updates.empty());
}

TEST(Optimizer, RejectsUnknownOptimizers) {
  Mlp m;
  m.g.training.optimizer = "adagrad";
  ASSERT_TRUE(run(*createInferShapesPass(), m.g, true));
  ASSERT_TRUE(run(*createAutodiffPass(), m.g, true));
  PassContext ctx;
  ctx.training = true;
  std::string msg = errorText(createOptimizerPass()->run(m.g, ctx).takeError());
  EXPECT_EQ(msg, "mlp.pbtxt: optimizer: unknown optimizer 'adagrad' (expected sgd, rmsprop, "
                 "adam, adamw)");
}

TEST(Optimizer, NeedsGradients) {
  Mlp m;
  ASSERT_TRUE(run(*createInferShapesPass(), m.g, true));
  PassContext ctx;
  ctx.training = true;
  std::string msg = errorText(createOptimizerPass()->run(m.g, ctx).takeError());
  EXPECT_NE(msg.find("run autodiff first"), std::string::npos) << msg;
}

TEST(Optimizer, AdamAddsStateAndStepHypers) {
  Mlp m;
  m.g.training.optimizer = "adam";
  ASSERT_TRUE(run(*createInferShapesPass(), m.g, true));
  ASSERT_TRUE(run(*createAutodiffPass(), m.g, true));
  ASSERT_TRUE(run(*createOptimizerPass(), m.g, true));
  // Adam reads the step size and sqrt(1 - beta2^t), not lr itself.
  EXPECT_EQ(m.g.lookup("lr"), nullptr);
  Value *stepSize = m.g.lookup("adam_step_size");
  Value *bc2 = m.g.lookup("adam_bc2_sqrt");
  ASSERT_NE(stepSize, nullptr);
  ASSERT_NE(bc2, nullptr);
  EXPECT_EQ(stepSize->hyper, HyperKind::AdamStepSize);
  EXPECT_EQ(bc2->hyper, HyperKind::AdamBiasCorrection2Sqrt);
  // Per param: m and v state, zero-initialized, untrainable, updated after
  // the params.
  size_t numParams = m.g.gradients.size();
  ASSERT_EQ(m.g.updates.size(), 3 * numParams);
  for (size_t i = 0; i < numParams; ++i) {
    const Value *p = m.g.gradients[i].first;
    EXPECT_EQ(m.g.updates[i].param, p);
    for (const char *what : {"m", "v"}) {
      Value *s = m.g.lookup(p->name() + "." + what);
      ASSERT_NE(s, nullptr) << p->name() << "." << what;
      EXPECT_TRUE(s->isParam());
      EXPECT_TRUE(s->optimizerState);
      EXPECT_FALSE(s->trainable);
      EXPECT_EQ(s->init.kind, "zeros");
      EXPECT_EQ(s->type(), p->type());
      bool updated = llvm::any_of(m.g.updates, [&](const ParamUpdate &u) {
        return u.param == s && u.next->name() == s->name() + ".next";
      });
      EXPECT_TRUE(updated) << s->name();
    }
  }
}

TEST(Optimizer, RejectsBadSettings) {
  Mlp m;
  m.g.training.momentum = -1;
  ASSERT_TRUE(run(*createInferShapesPass(), m.g, true));
  ASSERT_TRUE(run(*createAutodiffPass(), m.g, true));
  PassContext ctx;
  ctx.training = true;
  EXPECT_EQ(errorText(createOptimizerPass()->run(m.g, ctx).takeError()),
            "mlp.pbtxt: optimizer: momentum must be a non-negative number, got -1.0");
  m.g.training.momentum = 0;
  m.g.training.nesterov = true;
  EXPECT_EQ(errorText(createOptimizerPass()->run(m.g, ctx).takeError()),
            "mlp.pbtxt: optimizer: nesterov needs the sgd optimizer with momentum > 0");
}

} // namespace
