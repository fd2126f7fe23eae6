//===- tests/unit/TextIRTest.cpp - Printer and parser of the text IR ------===//
//
// The text IR must round-trip: print(parse(print(g))) == print(g) for graphs
// that use every piece of syntax, and the parser must reject bad text with
// "<file>:<line>:<col>: ..." and never crash (truncation and mutation fuzz).
//
//===----------------------------------------------------------------------===//
#include "ir/Parser.h"
#include "ir/Printer.h"
#include "ir/Verifier.h"

#include "tests/TestUtil.h"

#include <cmath>
#include <limits>
#include <random>

using namespace gradc;
using namespace gradc::ir;
using gradc::test::errorText;
using gradc::test::expectOk;

namespace {

Attrs attrs(std::initializer_list<std::pair<const char *, AttrValue>> list) {
  Attrs a;
  for (auto &[k, v] : list)
    a.set(k, v);
  return a;
}

/// A small training graph that uses every piece of syntax the printer has:
/// hyper inputs, frozen params, each initializer form, int / float / int-list
/// attributes, locations with and without a pass, quoted names, unknown
/// types, non-finite floats, outputs, loss, gradients, updates, training.
std::unique_ptr<Graph> buildFullGraph() {
  auto g = std::make_unique<Graph>();
  g->name = "mlp";
  Value *x = g->addInput("x", TensorType(DType::F32, {kBatch, 4}));
  Value *y = g->addInput("y", TensorType(DType::I32, {kBatch}));
  g->addInput("lr", TensorType(DType::F32, {}), InputRole::Hyper);
  Initializer kaiming;
  kaiming.kind = "kaiming_normal";
  kaiming.gain = 1.5;
  Value *w = g->addParam("W", TensorType(DType::F32, {4, 3}), kaiming);
  Value *b = g->addParam("b", TensorType(DType::F32, {3}), Initializer(), /*trainable=*/false);
  Initializer normal;
  normal.kind = "normal";
  normal.std = 0.01;
  g->addParam("W2", TensorType(DType::F32, {3, 3}), normal);
  Initializer constant;
  constant.kind = "constant";
  constant.value = -2.5;
  g->addParam("c", TensorType(DType::F32, {3}), constant);

  Builder bld(*g, Location{"m.pbtxt", 12, "fc1", "", ""});
  Value *h = expectOk(bld.create(OpKind::MatMul, {x, w}, attrs({{"transpose_b", int64_t(0)}}),
                                 "h"));
  Value *hb = expectOk(bld.create(OpKind::Add, {h, b}, {}, "h.b"));
  bld.setLocation(Location{"m.pbtxt", 13, "act", "", ""});
  Value *r = expectOk(bld.create(OpKind::Relu, {hb}, {}, "a b")); // a quoted name
  Value *k = expectOk(bld.create(
      OpKind::Constant, {},
      attrs({{"value", 0.5}, {"shape", std::vector<int64_t>{kBatch, 3}}}), "k"));
  Value *inf = expectOk(bld.create(
      OpKind::Constant, {},
      attrs({{"value", std::numeric_limits<double>::infinity()},
             {"shape", std::vector<int64_t>{}}}),
      "inf"));
  (void)inf;
  Value *s = expectOk(bld.create(OpKind::Mul, {r, k}, {}, "s"));
  Value *logits = expectOk(bld.create(OpKind::Softmax, {s}, attrs({{"axis", int64_t(-1)}}),
                                      "logits"));
  Value *sum = expectOk(bld.create(
      OpKind::ReduceSum, {logits},
      attrs({{"axes", std::vector<int64_t>{1}}, {"keepdims", int64_t(1)}}), "sum"));
  (void)sum;
  bld.setLocation(Location{"m.pbtxt", 20, "loss", "", ""});
  Value *loss =
      expectOk(bld.create(OpKind::SoftmaxCrossEntropy, {logits, y}, {}, "loss"));

  // Made by a pass: the location names the pass and the value it came from.
  bld.setLocation(Location{"m.pbtxt", 13, "act", "autodiff", "a b"});
  Value *dr = expectOk(bld.create(OpKind::ReluGrad, {r, r}, {}, "d.a"));
  bld.setLocation(Location{"", 0, "", "autodiff", "W"});
  Value *dw = expectOk(
      bld.create(OpKind::MatMul, {x, dr}, attrs({{"transpose_a", int64_t(1)}}), "d.W"));
  bld.setLocation(Location{"", 0, "", "sgd", ""});
  Value *next = expectOk(bld.create(OpKind::Sub, {w, dw}, {}, "W.next"));

  // Not inferred yet, and only a model node / only a file as location.
  Node *u = g->addNode(OpKind::Tanh, {h}, {}, {"untyped"}, Location{"", 0, "fc9", "", ""});
  (void)u;
  g->addNode(OpKind::Exp, {h}, {}, {"e"}, Location{"other.pbtxt", 0, "", "", ""});

  g->outputs.push_back(logits);
  g->loss = loss;
  g->gradients.emplace_back(w, dw);
  g->updates.push_back({w, next});
  g->training.present = true;
  g->training.lr = 0.1;
  g->training.batchSize = 64;
  g->training.epochs = 10;
  g->training.seed = 7;
  g->training.features = "x";
  g->training.labels = "y";
  return g;
}

std::unique_ptr<Graph> parseOk(llvm::StringRef text) {
  return expectOk(parseGraph(text, "t.gir"));
}

std::string parseError(llvm::StringRef text) {
  auto g = parseGraph(text, "t.gir");
  if (g) {
    ADD_FAILURE() << "expected a parse error for:\n" << text.str();
    return "";
  }
  return llvm::toString(g.takeError());
}

} // namespace

TEST(TextIR, PrintsTheDocumentedSyntax) {
  std::string text = graphToString(*buildFullGraph());
  for (const char *line : {
           "graph @mlp {\n",
           "  input %x : f32[N,4]\n",
           "  input %y : i32[N]\n",
           "  input %lr : f32[] hyper\n",
           "  param %W : f32[4,3] init=kaiming_normal(gain=1.5)\n",
           "  param %b : f32[3] init=zeros frozen\n",
           "  param %W2 : f32[3,3] init=normal(mean=0.0, std=0.01)\n",
           "  param %c : f32[3] init=constant(value=-2.5)\n",
           "  %h = matmul(%x, %W) {transpose_b=0} : f32[N,3] loc(\"m.pbtxt\":12 \"fc1\")\n",
           "  %h.b = add(%h, %b) : f32[N,3] loc(\"m.pbtxt\":12 \"fc1\")\n",
           "  %\"a b\" = relu(%h.b) : f32[N,3] loc(\"m.pbtxt\":13 \"act\")\n",
           "  %k = constant() {shape=[-1,3], value=0.5} : f32[N,3]",
           "  %inf = constant() {shape=[], value=inf} : f32[]",
           "  %sum = reduce_sum(%logits) {axes=[1], keepdims=1} : f32[N,1]",
           "  %d.a = relu_grad(%\"a b\", %\"a b\") : f32[N,3] "
           "loc(\"m.pbtxt\":13 \"act\" autodiff of %\"a b\")\n",
           "  %d.W = matmul(%x, %d.a) {transpose_a=1} : f32[4,3] loc(autodiff of %W)\n",
           "  %W.next = sub(%W, %d.W) : f32[4,3] loc(sgd)\n",
           "  %untyped = tanh(%h) : ? loc(\"fc9\")\n",
           "  %e = exp(%h) : ? loc(\"other.pbtxt\":0)\n",
           "  output %logits\n",
           "  loss %loss\n",
           "  grad %W = %d.W\n",
           "  update %W = %W.next\n",
           "  train optimizer=\"sgd\" lr=0.1 batch=64 epochs=10 seed=7 features=%x "
           "labels=%y\n",
           "}\n",
       })
    EXPECT_NE(text.find(line), std::string::npos) << "missing: " << line << "\nin:\n"
                                                   << text;
}

TEST(TextIR, RoundTripsEverything) {
  auto g = buildFullGraph();
  std::string first = graphToString(*g);
  auto parsed = expectOk(parseGraph(first, "full.gir"));
  EXPECT_EQ(graphToString(*parsed), first);

  // Not only the same text: the same graph.
  EXPECT_EQ(parsed->name, "mlp");
  ASSERT_EQ(parsed->inputs().size(), 3u);
  EXPECT_EQ(parsed->inputs()[2]->role, InputRole::Hyper);
  EXPECT_EQ(parsed->inputs()[0]->type(), TensorType(DType::F32, {kBatch, 4}));
  ASSERT_EQ(parsed->params().size(), 4u);
  EXPECT_FALSE(parsed->params()[1]->trainable);
  EXPECT_TRUE(parsed->params()[0]->trainable);
  for (size_t i = 0; i < g->params().size(); ++i)
    EXPECT_TRUE(parsed->params()[i]->init == g->params()[i]->init) << i;
  ASSERT_EQ(parsed->nodes().size(), g->nodes().size());
  for (size_t i = 0; i < g->nodes().size(); ++i) {
    const Node &a = *g->nodes()[i], &b = *parsed->nodes()[i];
    EXPECT_EQ(a.op(), b.op()) << i;
    EXPECT_TRUE(a.loc == b.loc) << i;
    EXPECT_EQ(a.result()->name(), b.result()->name()) << i;
    EXPECT_EQ(a.result()->type(), b.result()->type()) << i;
    EXPECT_TRUE(a.attrs() == b.attrs()) << i; // int stays int, float stays float
  }
  EXPECT_TRUE(std::holds_alternative<int64_t>(
      *parsed->lookup("h")->def()->attrs().get("transpose_b")));
  EXPECT_TRUE(std::holds_alternative<double>(
      *parsed->lookup("k")->def()->attrs().get("value")));
  EXPECT_TRUE(std::isinf(parsed->lookup("inf")->def()->attrs().getFloat("value", 0)));
  EXPECT_FALSE(parsed->lookup("untyped")->type().known);
  EXPECT_EQ(parsed->loss, parsed->lookup("loss"));
  ASSERT_EQ(parsed->gradients.size(), 1u);
  EXPECT_EQ(parsed->gradients[0].first, parsed->lookup("W"));
  EXPECT_EQ(parsed->gradients[0].second, parsed->lookup("d.W"));
  ASSERT_EQ(parsed->updates.size(), 1u);
  EXPECT_EQ(parsed->updates[0].next, parsed->lookup("W.next"));
  EXPECT_TRUE(parsed->training == g->training);
  expectOk(verifyGraph(*parsed));
}

TEST(TextIR, RoundTripsOddNamesNumbersAndLocations) {
  const char *text = R"(// a leading comment
graph @"my graph" {
  input %"x-1" : f32[2,3]
  param %p : f32[3] init="my init"(value=1e+20, low=-inf, high=nan, gain=2.0) // comment
  %"q\"uote" = constant() {shape=[2,3], value=-0.0} : f32[2,3] loc("dir/a b.pbtxt":4294967295)
  %r = add(%"x-1", %"q\"uote") : f32[2,3] loc("":7 "n\\ode" of of %"x-1")
  %s = relu(%r) : f32[2,3] loc(of)
  %t = neg(%s) : f32[2,3] loc(expand-layers)
  output %t
  output %r
}
)";
  auto g = parseOk(text);
  EXPECT_EQ(g->name, "my graph");
  EXPECT_EQ(g->params()[0]->init.kind, "my init");
  EXPECT_EQ(g->params()[0]->init.value, 1e20);
  EXPECT_TRUE(std::isinf(g->params()[0]->init.low) && g->params()[0]->init.low < 0);
  EXPECT_TRUE(std::isnan(g->params()[0]->init.high));
  const Node &q = *g->nodes()[0];
  EXPECT_EQ(q.result()->name(), "q\"uote");
  EXPECT_EQ(q.loc.file, "dir/a b.pbtxt");
  EXPECT_EQ(q.loc.line, 4294967295u);
  const Node &r = *g->nodes()[1];
  EXPECT_EQ(r.loc.line, 7u);
  EXPECT_EQ(r.loc.modelNode, "n\\ode");
  EXPECT_EQ(r.loc.pass, "of"); // a pass may be called "of"
  EXPECT_EQ(r.loc.of, "x-1");
  EXPECT_EQ(g->nodes()[2]->loc.pass, "of");
  EXPECT_EQ(g->nodes()[3]->loc.pass, "expand-layers");
  ASSERT_EQ(g->outputs.size(), 2u);
  std::string printed = graphToString(*g);
  EXPECT_EQ(graphToString(*parseOk(printed)), printed);
  EXPECT_NE(printed.find("value=-0.0"), std::string::npos) << printed;
}

TEST(TextIR, NoLocationsOption) {
  PrintOptions opts;
  opts.locations = false;
  std::string text = graphToString(*buildFullGraph(), opts);
  EXPECT_EQ(text.find("loc("), std::string::npos);
  EXPECT_NE(text.find("  %h = matmul(%x, %W) {transpose_b=0} : f32[N,3]\n"), std::string::npos);
}

TEST(TextIR, MinimalGraph) {
  auto g = parseOk("graph @g {\n}\n");
  EXPECT_EQ(graphToString(*g), "graph @g {\n}\n");
  Graph unnamed;
  EXPECT_EQ(graphToString(*parseOk(graphToString(unnamed))), "graph @\"\" {\n}\n");
}

TEST(TextIR, ParserKeepsWrittenTypes) {
  // The parser does not infer: a wrong type is kept, and the verifier finds it.
  auto g = parseOk("graph @g {\n  input %x : f32[2]\n  %y = relu(%x) : f32[5]\n}\n");
  EXPECT_EQ(g->lookup("y")->type(), TensorType(DType::F32, {5}));
  EXPECT_NE(errorText(verifyGraph(*g)).find("does not match inferred f32[2]"),
            std::string::npos);
}

TEST(TextIR, Errors) {
  const char *head = "graph @g {\n  input %x : f32[N,4]\n";
  auto err = [&](const std::string &body) { return parseError(head + body + "}\n"); };
  EXPECT_EQ(err("  %y = relu(%z) : ?\n"), "t.gir:3:13: use of undefined value %z");
  EXPECT_EQ(err("  %y = relu(%y) : ?\n"), "t.gir:3:13: use of undefined value %y");
  EXPECT_EQ(err("  %x = relu(%x) : ?\n"),
            "t.gir:3:3: value %x is defined twice (first at line 2)");
  EXPECT_EQ(err("  input %x : f32[]\n"),
            "t.gir:3:9: value %x is defined twice (first at line 2)");
  EXPECT_EQ(err("  %y = relux(%x) : ?\n"),
            "t.gir:3:8: unknown op 'relux' (did you mean 'relu'?)");
  EXPECT_EQ(err("  %y = frobnicate(%x) : ?\n"), "t.gir:3:8: unknown op 'frobnicate'");
  EXPECT_EQ(err("  %y = matmul(%x) : ?\n"), "t.gir:3:8: op 'matmul' expects 2 input(s), got 1");
  EXPECT_EQ(err("  %y, %z = relu(%x) : ?, ?\n"),
            "t.gir:3:12: op 'relu' has 1 result(s), but 2 name(s) are defined");
  EXPECT_EQ(err("  %y = relu(%x) {alpha=0.5} : ?\n"),
            "t.gir:3:17: unknown attribute 'alpha' for op relu (known: none)");
  // Every attribute value kind lexes; the schema then rejects the wrong ones.
  EXPECT_EQ(err("  %y = matmul(%x, %x) {transpose_b=\"yes\"} : ?\n"),
            "t.gir:3:23: attribute 'transpose_b' must be int, got string");
  EXPECT_EQ(err("  %y = matmul(%x, %x) {transpose_b=f[1.0,2.5]} : ?\n"),
            "t.gir:3:23: attribute 'transpose_b' must be int, got float list");
  EXPECT_EQ(err("  %y = matmul(%x, %x) {transpose_b=1.5} : ?\n"),
            "t.gir:3:23: attribute 'transpose_b' must be int, got float");
  EXPECT_EQ(err("  %y = reshape(%x) : ?\n"), "t.gir:3:8: missing required attribute 'shape'");
  EXPECT_EQ(err("  %y = relu(%x) : f64[2]\n"),
            "t.gir:3:19: unknown dtype 'f64' (expected f32 or i32)");
  EXPECT_EQ(err("  %y = relu(%x) : f32[2,-3]\n"), "t.gir:3:25: dimension -3 is negative");
  EXPECT_EQ(err("  %y = relu(%x) : f32[2.5]\n"),
            "t.gir:3:23: expected a dimension (a size or N), got '2.5'");
  EXPECT_EQ(err("  %y = relu(%x)\n"), "t.gir:4:1: expected ':', got '}'");
  EXPECT_EQ(err("  %y = relu(%x : ?\n"), "t.gir:3:16: expected ',', got ':'");
  EXPECT_EQ(err("  %y = relu(%x) {axis=} : ?\n"),
            "t.gir:3:23: expected an attribute value (integer, float, string, [ints] or "
            "f[floats]), got '}'");
  EXPECT_EQ(err("  %y = relu(%x) {axis=99999999999999999999} : ?\n"),
            "t.gir:3:23: integer 99999999999999999999 is out of range");
  EXPECT_EQ(err("  %y = relu(%x) : ? loc(\"m.pbtxt\":12 \"fc\"\n"),
            "t.gir:4:1: expected ')', got '}'");
  EXPECT_EQ(err("  %y = relu(%x) : ? loc(\"unterminated)\n"),
            "t.gir:3:25: unterminated string");
  EXPECT_EQ(err("  blah\n"),
            "t.gir:3:3: expected 'input', 'param', 'output', 'loss', 'grad', 'update', "
            "'memory', 'train', a node '%name = op(...)' or '}', got 'blah'");
  EXPECT_EQ(err("  output %nope\n"), "t.gir:3:10: use of undefined value %nope");
  EXPECT_EQ(err("  loss %x\n  loss %x\n"), "t.gir:4:3: the loss is given twice");
  EXPECT_EQ(err("  param %p : f32[] init=normal(sigma=1.0)\n"),
            "t.gir:3:32: unknown initializer field 'sigma' (expected value, mean, std, low, "
            "high or gain)");
  EXPECT_EQ(err("  train lr=0.1 lr=0.2\n"), "t.gir:3:16: train field 'lr' is given twice");
  EXPECT_EQ(err("  train dampening=0.9\n"),
            "t.gir:3:9: unknown train field 'dampening' (expected optimizer, lr, momentum, "
            "nesterov, alpha, beta1, beta2, eps, weight_decay, clip_norm, batch, epochs, "
            "seed, features or labels)");
  EXPECT_EQ(err("  input %h : f32[] hyper(beta)\n"),
            "t.gir:3:26: unknown hyper input kind 'beta' (expected lr, adam_step_size, "
            "adam_bc2_sqrt or adamw_decay)");
  EXPECT_EQ(err("  train seed=-1\n"), "t.gir:3:14: expected a non-negative integer, got '-1'");
  EXPECT_EQ(err("  %y = relu(%x) : ? $\n"), "t.gir:3:21: unexpected character '$'");
  EXPECT_EQ(err("  %\"\" = relu(%x) : ?\n"), "t.gir:3:3: a value name may not be empty");
  // Names are shown as written; control bytes are escaped to keep one line.
  EXPECT_EQ(err("  %y = relu(%\"a\nb\") : ?\n"), "t.gir:3:13: use of undefined value %\"a\\nb\"");
  EXPECT_EQ(err("  %\"x\" = relu(%x) : ?\n"),
            "t.gir:3:3: value %\"x\" is defined twice (first at line 2)");
  EXPECT_EQ(parseError("graph @g {\n}\n}\n"),
            "t.gir:3:1: expected end of file after the graph's '}', got '}'");
  EXPECT_EQ(parseError(""), "t.gir:1:1: expected 'graph', got end of file");
  EXPECT_EQ(parseError("graph @g {\n  input %x : f32[N]\n"),
            "t.gir:3:1: expected 'input', 'param', 'output', 'loss', 'grad', 'update', "
            "'memory', 'train', a node '%name = op(...)' or '}', got end of file");
}

// Every prefix of a valid file either parses (and then round-trips) or fails
// with a located message; none may crash or hang.
TEST(TextIR, TruncationFuzz) {
  std::string text = graphToString(*buildFullGraph());
  size_t parsed = 0;
  for (size_t len = 0; len <= text.size(); ++len) {
    auto g = parseGraph(llvm::StringRef(text).take_front(len), "fuzz.gir");
    if (g) {
      ++parsed;
      std::string printed = graphToString(**g);
      EXPECT_EQ(graphToString(*expectOk(parseGraph(printed, "again.gir"))), printed);
      continue;
    }
    std::string msg = llvm::toString(g.takeError());
    EXPECT_EQ(msg.rfind("fuzz.gir:", 0), 0u) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  }
  // Only the full text and the text without its final newline are complete.
  EXPECT_EQ(parsed, 2u);
}

// Random byte edits: the parser must fail cleanly or parse something that
// prints and parses back the same.
TEST(TextIR, MutationFuzz) {
  std::string text = graphToString(*buildFullGraph());
  const char interesting[] = "%@\"\\(){}[],=:?-.0123456789eNf \n/xinf";
  std::mt19937 rng(1234);
  for (int iter = 0; iter < 3000; ++iter) {
    std::string mutated = text;
    int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits; ++e) {
      size_t pos = rng() % mutated.size();
      switch (rng() % 3) {
      case 0:
        mutated[pos] = interesting[rng() % (sizeof(interesting) - 1)];
        break;
      case 1:
        mutated.erase(pos, 1 + rng() % 4);
        break;
      default:
        mutated.insert(pos, 1, static_cast<char>(rng() % 256));
      }
      if (mutated.empty())
        mutated = "x";
    }
    auto g = parseGraph(mutated, "mut.gir");
    if (!g) {
      std::string msg = llvm::toString(g.takeError());
      EXPECT_EQ(msg.rfind("mut.gir:", 0), 0u) << msg;
      EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
      continue;
    }
    std::string printed = graphToString(**g);
    auto again = parseGraph(printed, "again.gir");
    ASSERT_TRUE(!!again) << llvm::toString(again.takeError()) << "\n" << printed;
    EXPECT_EQ(graphToString(**again), printed);
    llvm::consumeError(verifyGraph(**g)); // must not crash either
  }
}
