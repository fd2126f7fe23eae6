//===- tests/unit/VerifierTest.cpp - One test per verifier check ----------===//
//
// Each test builds a graph that breaks exactly one rule and checks that the
// verifier names the problem (and the node, where there is one).
//
// Not tested: duplicate names. Graph hands out unique names by construction
// (addInput/addParam/addNode rename clashes), so no API can build such a
// graph; the verifier still checks, against future ways of renaming.
//
//===----------------------------------------------------------------------===//
#include "ir/Verifier.h"

#include "tests/TestUtil.h"

using namespace gradc;
using namespace gradc::ir;
using gradc::test::errorText;
using gradc::test::expectOk;

namespace {

/// x: f32[N,4], W: f32[4,3], h = matmul(x, W), r = relu(h), loss = mse(r, r).
struct SmallGraph {
  Graph g;
  Value *x, *w, *h, *r, *loss;

  SmallGraph() {
    g.sourceFile = "m.pbtxt";
    x = g.addInput("x", TensorType(DType::F32, {kBatch, 4}));
    w = g.addParam("W", TensorType(DType::F32, {4, 3}), Initializer());
    Builder b(g, Location{"m.pbtxt", 12, "fc1", "", ""});
    h = expectOk(b.create(OpKind::MatMul, {x, w}, {}, "h"));
    b.setLocation(Location{"m.pbtxt", 13, "act", "", ""});
    r = expectOk(b.create(OpKind::Relu, {h}, {}, "r"));
    b.setLocation(Location{"m.pbtxt", 14, "loss", "", ""});
    loss = expectOk(b.create(OpKind::Mse, {r, r}, {}, "loss"));
    g.outputs.push_back(r);
    g.loss = loss;
  }

  Node *add(OpKind op, llvm::ArrayRef<Value *> in, Attrs attrs = {}, std::string name = "n") {
    return g.addNode(op, in, std::move(attrs), {name}, Location{"m.pbtxt", 30, "bad", "", ""});
  }
};

std::string verifyError(const Graph &g) { return errorText(verifyGraph(g)); }

#define EXPECT_CONTAINS(haystack, needle)                                      \
  EXPECT_NE((haystack).find(needle), std::string::npos) << (haystack)

} // namespace

TEST(Verifier, AcceptsAValidGraph) {
  SmallGraph s;
  expectOk(verifyGraph(s.g));
}

TEST(Verifier, AcceptsUnknownResultTypes) {
  // A graph before infer-shapes: results are `?`.
  SmallGraph s;
  s.add(OpKind::Tanh, {s.r});
  s.add(OpKind::Exp, {s.g.lookup("n")}, {}, "m");
  expectOk(verifyGraph(s.g));
}

TEST(Verifier, Arity) {
  SmallGraph s;
  s.add(OpKind::Relu, {s.h, s.h});
  EXPECT_EQ(verifyError(s.g), "m.pbtxt:30: node 'bad' (relu): expects 1 input(s), got 2");
}

TEST(Verifier, UnknownAttribute) {
  SmallGraph s;
  Attrs a;
  a.set("alpha", 0.5);
  s.add(OpKind::Relu, {s.h}, a);
  EXPECT_CONTAINS(verifyError(s.g), "node 'bad' (relu): unknown attribute 'alpha'");
}

TEST(Verifier, WrongAttributeKind) {
  SmallGraph s;
  Attrs a;
  a.set("transpose_b", std::string("yes"));
  s.add(OpKind::MatMul, {s.x, s.w}, a);
  EXPECT_CONTAINS(verifyError(s.g), "attribute 'transpose_b' must be int, got string");
}

TEST(Verifier, MissingRequiredAttribute) {
  SmallGraph s;
  s.add(OpKind::Reshape, {s.h});
  EXPECT_CONTAINS(verifyError(s.g), "(reshape): missing required attribute 'shape'");
}

TEST(Verifier, NullInput) {
  SmallGraph s;
  Node *n = s.add(OpKind::Relu, {s.h});
  n->setInput(0, nullptr);
  EXPECT_CONTAINS(verifyError(s.g), "(relu): input 0 is null");
}

TEST(Verifier, UseBeforeDefinition) {
  // h = matmul(x, W) now reads r, which is defined after it: a cycle.
  SmallGraph s;
  s.h->def()->setInput(0, s.r);
  EXPECT_EQ(verifyError(s.g), "m.pbtxt:12: node 'fc1' (matmul): input 0 (%r) is used before "
                              "it is defined (a cycle or a wrong node order)");
}

TEST(Verifier, WrongOrderAfterReorder) {
  SmallGraph s;
  std::vector<Node *> order;
  for (auto &n : s.g.nodes())
    order.push_back(n.get());
  std::swap(order[0], order[1]); // relu before the matmul that defines its input
  s.g.reorder(order);
  EXPECT_CONTAINS(verifyError(s.g), "node 'act' (relu): input 0 (%h) is used before it is "
                                    "defined");
}

TEST(Verifier, DanglingUseOfErasedNode) {
  SmallGraph s;
  Node *t = s.add(OpKind::Tanh, {s.r}, {}, "t");
  s.add(OpKind::Exp, {t->result()}, {}, "u");
  s.g.eraseNodes([&](const Node &n) { return &n == t; });
  EXPECT_EQ(verifyError(s.g), "m.pbtxt:30: node 'bad' (exp): input 0 is a value that is no "
                              "longer in the graph (its node was erased)");
}

TEST(Verifier, ResultTypeMismatch) {
  SmallGraph s;
  s.r->setType(TensorType(DType::F32, {kBatch, 5}));
  EXPECT_EQ(verifyError(s.g), "m.pbtxt:13: node 'act' (relu): result type f32[N,5] does not "
                              "match inferred f32[N,3]");
}

TEST(Verifier, ResultDTypeMismatch) {
  SmallGraph s;
  s.h->setType(TensorType(DType::I32, {kBatch, 3}));
  EXPECT_CONTAINS(verifyError(s.g), "(matmul): result type i32[N,3] does not match inferred "
                                    "f32[N,3]");
}

TEST(Verifier, ShapeRuleRejectsKnownTypes) {
  // Types were recorded, but the inputs no longer fit the op.
  SmallGraph s;
  s.w->setType(TensorType(DType::F32, {5, 3}));
  EXPECT_CONTAINS(verifyError(s.g), "node 'fc1' (matmul): inner dimensions do not match");
}

TEST(Verifier, OutputErased) {
  SmallGraph s;
  Node *t = s.add(OpKind::Tanh, {s.r}, {}, "t");
  s.g.outputs.push_back(t->result());
  s.g.eraseNodes([&](const Node &n) { return &n == t; });
  EXPECT_EQ(verifyError(s.g), "m.pbtxt: output 1 is a value that is not in the graph");
}

TEST(Verifier, LossErased) {
  SmallGraph s;
  s.g.eraseNodes([&](const Node &n) { return n.op() == OpKind::Mse; });
  EXPECT_EQ(verifyError(s.g), "m.pbtxt: the loss is a value that is not in the graph");
}

TEST(Verifier, LossMustBeScalar) {
  SmallGraph s;
  s.g.loss = s.r;
  EXPECT_EQ(verifyError(s.g), "m.pbtxt:13: node 'act' (relu): the loss %r must be an f32 "
                              "scalar (f32[]), got f32[N,3]");
}

TEST(Verifier, GradientMustBeKeyedByParam) {
  SmallGraph s;
  s.g.gradients.emplace_back(s.x, s.h);
  EXPECT_EQ(verifyError(s.g), "m.pbtxt: gradient entry 0 is keyed by %x, which is not a param");
}

TEST(Verifier, GradientHasParamType) {
  SmallGraph s;
  s.g.gradients.emplace_back(s.w, s.r);
  EXPECT_EQ(verifyError(s.g), "m.pbtxt:13: node 'act' (relu): gradient %r of param %W has type "
                              "f32[N,3], expected f32[4,3] (the param's type)");
}

TEST(Verifier, GradientErased) {
  SmallGraph s;
  Node *t = s.add(OpKind::Neg, {s.w}, {}, "t");
  s.g.gradients.emplace_back(s.w, t->result());
  s.g.eraseNodes([&](const Node &n) { return &n == t; });
  EXPECT_EQ(verifyError(s.g), "m.pbtxt: the gradient of param %W is a value that is not in the "
                              "graph");
}

TEST(Verifier, OneGradientPerParam) {
  SmallGraph s;
  Builder b(s.g, Location{});
  Value *d = expectOk(b.create(OpKind::Neg, {s.w}, {}, "d"));
  s.g.gradients.emplace_back(s.w, d);
  s.g.gradients.emplace_back(s.w, d);
  EXPECT_EQ(verifyError(s.g), "m.pbtxt: param %W has more than one gradient");
}

TEST(Verifier, UpdateHasParamType) {
  SmallGraph s;
  Builder b(s.g, Location{"", 0, "", "sgd", "W"});
  Value *next = expectOk(b.create(OpKind::Neg, {s.w}, {}, "W.next"));
  s.g.updates.push_back({s.w, next});
  expectOk(verifyGraph(s.g));
  s.g.updates.back().next = s.h;
  EXPECT_EQ(verifyError(s.g), "m.pbtxt:12: node 'fc1' (matmul): update %h of param %W has type "
                              "f32[N,3], expected f32[4,3] (the param's type)");
}

TEST(Verifier, UpdateMustBeKeyedByParam) {
  SmallGraph s;
  s.g.updates.push_back({s.h, s.h});
  EXPECT_CONTAINS(verifyError(s.g), "update entry 0 is keyed by %h, which is not a param");
}

TEST(Verifier, NodeErrorsNameThePassThatMadeTheNode) {
  SmallGraph s;
  Builder b(s.g, Location{"m.pbtxt", 13, "act", "autodiff", "r"});
  Value *d = expectOk(b.create(OpKind::ReluGrad, {s.r, s.r}, {}, "d.r"));
  d->setType(TensorType(DType::F32, {kBatch, 2}));
  EXPECT_EQ(verifyError(s.g), "m.pbtxt:13: node %d.r (relu_grad) [made by autodiff from %r of "
                              "node 'act']: result type f32[N,2] does not match inferred "
                              "f32[N,3]");
}
