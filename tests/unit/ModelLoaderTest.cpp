//===- tests/unit/ModelLoaderTest.cpp - .pbtxt / .pb models into a Graph ---===//
//
// Models are given as text (loadModelText, file name "m.pbtxt") so that each
// test shows the model and the exact line its error must point at; files on
// disk cover loadModelFile (text, binary, missing).
//
//===----------------------------------------------------------------------===//
#include "frontend/ModelLoader.h"
#include "ir/gradc.pb.h"
#include "tests/TestUtil.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include <fstream>

using namespace gradc;
using gradc::test::errorText;
using gradc::test::expectOk;
using gradc::test::sourcePath;

namespace {

/// The error of loading `text` as m.pbtxt (empty when it loads).
std::string loadError(const std::string &text) {
  auto g = frontend::loadModelText(text, "m.pbtxt");
  if (g)
    return "";
  return llvm::toString(g.takeError());
}

std::vector<std::string> nodeNames(const ir::Graph &g) {
  std::vector<std::string> out;
  for (const auto &n : g.nodes())
    out.push_back(n->loc.modelNode);
  return out;
}

// Inputs and params shared by the error tests; lines 1-4.
const std::string kHead = R"(input { name: "x" type { shape { sym: "N" } shape { size: 4 } } }
param { name: "W" type { shape { size: 4 } shape { size: 3 } } init { kind: "xavier_uniform" } }
param { name: "b" type { shape { size: 3 } } }
input { name: "y" type { dtype: I32 shape { sym: "N" } } }
)";

TEST(ModelLoader, LoadsTheMnistExample) {
  auto g = expectOk(frontend::loadModelFile(sourcePath("examples/mlp_mnist.pbtxt")));
  EXPECT_EQ(g->name, "mlp_mnist");
  EXPECT_EQ(g->sourceFile, sourcePath("examples/mlp_mnist.pbtxt"));
  ASSERT_EQ(g->inputs().size(), 2u);
  EXPECT_EQ(g->inputs()[0]->name(), "x");
  EXPECT_EQ(g->inputs()[0]->type(), TensorType(DType::F32, {kBatch, 784}));
  EXPECT_EQ(g->inputs()[1]->type(), TensorType(DType::I32, {kBatch}));
  ASSERT_EQ(g->params().size(), 4u);
  EXPECT_EQ(g->params()[0]->name(), "W1");
  EXPECT_EQ(g->params()[0]->type(), TensorType(DType::F32, {784, 256}));
  EXPECT_EQ(g->params()[0]->init.kind, "kaiming_normal");
  EXPECT_TRUE(g->params()[0]->trainable);
  EXPECT_EQ(g->params()[1]->init.kind, "zeros");
  EXPECT_EQ(g->params()[2]->init.kind, "xavier_uniform");

  EXPECT_EQ(nodeNames(*g),
            (std::vector<std::string>{"fc1", "bias1", "act1", "fc2", "bias2", "xent"}));
  const ir::Node &fc1 = *g->nodes()[0];
  EXPECT_EQ(fc1.op(), ir::OpKind::MatMul);
  EXPECT_EQ(fc1.loc.file, sourcePath("examples/mlp_mnist.pbtxt"));
  EXPECT_EQ(fc1.loc.line, 16u);
  EXPECT_EQ(g->nodes()[5]->loc.line, 21u);
  EXPECT_EQ(fc1.input(0), g->inputs()[0]);
  EXPECT_EQ(fc1.input(1), g->params()[0]);
  EXPECT_EQ(fc1.result()->name(), "h1");
  EXPECT_FALSE(fc1.result()->type().known) << "types are left to infer-shapes";

  ASSERT_EQ(g->outputs.size(), 1u);
  EXPECT_EQ(g->outputs[0]->name(), "logits");
  ASSERT_NE(g->loss, nullptr);
  EXPECT_EQ(g->loss->name(), "loss");

  const ir::TrainingConfig &t = g->training;
  EXPECT_TRUE(t.present);
  EXPECT_EQ(t.optimizer, "sgd");
  EXPECT_EQ(t.lr, 0.1);
  EXPECT_EQ(t.batchSize, 64);
  EXPECT_EQ(t.epochs, 10);
  EXPECT_EQ(t.seed, 1u);
  EXPECT_EQ(t.features, "x");
  EXPECT_EQ(t.labels, "y");
}

TEST(ModelLoader, AttributesInitializersAndFrozenParams) {
  auto g = expectOk(frontend::loadModelText(kHead + R"(
param { name: "c" type { } init { kind: "normal" mean: 1 std: 0.5 } frozen: true }
node { name: "mm" op: "matmul" inputs: "x" inputs: "W" outputs: "h" attr { name: "transpose_b" i: 0 } }
node { name: "k" op: "constant" outputs: "k1" attr { name: "value" i: 2 } attr { name: "shape" ints { v: -1 v: 3 } } }
node { name: "sm" op: "softmax" inputs: "h" outputs: "p" attr { name: "axis" i: -1 } }
)",
                                            "m.pbtxt"));
  EXPECT_EQ(g->name, "m") << "an unnamed model takes the file's stem";
  EXPECT_FALSE(g->training.present);
  EXPECT_EQ(g->training, ir::TrainingConfig()) << "no training block: defaults";
  const ir::Value *c = g->lookup("c");
  ASSERT_NE(c, nullptr);
  EXPECT_FALSE(c->trainable);
  EXPECT_EQ(c->type(), TensorType(DType::F32, {}));
  EXPECT_EQ(c->init.kind, "normal");
  EXPECT_EQ(c->init.mean, 1.0);
  EXPECT_EQ(c->init.std, 0.5);
  EXPECT_EQ(g->lookup("b")->init.kind, "zeros") << "a param without init is zero-filled";

  const ir::Node &k = *g->lookup("k1")->def();
  // `i: 2` for the float attribute `value` is stored as the schema's kind.
  ASSERT_TRUE(std::holds_alternative<double>(*k.attrs().get("value")));
  EXPECT_EQ(k.attrs().getFloat("value", 0), 2.0);
  EXPECT_EQ(k.attrs().getInts("shape"), (std::vector<int64_t>{-1, 3}));
  EXPECT_EQ(g->lookup("h")->def()->attrs().getInt("transpose_b", 7), 0);
  EXPECT_EQ(g->lookup("p")->def()->loc.line, 9u);
}

TEST(ModelLoader, SortsNodesGivenInAnyOrder) {
  // File order: relu (uses h), matmul (defines h), add (uses r and h),
  // constant (uses nothing). Sorted: the earliest ready node in file order
  // first, so matmul, then relu, then add; the constant is ready at once.
  auto g = expectOk(frontend::loadModelText(kHead + R"(
node { name: "act" op: "relu" inputs: "h" outputs: "r" }
node { name: "mm" op: "matmul" inputs: "x" inputs: "W" outputs: "h" }
node { name: "sum" op: "add" inputs: "r" inputs: "h" outputs: "s" }
node { name: "k" op: "constant" outputs: "c" }
)",
                                            "m.pbtxt"));
  EXPECT_EQ(nodeNames(*g), (std::vector<std::string>{"mm", "act", "sum", "k"}));
  EXPECT_EQ(g->lookup("r")->def()->loc.line, 6u) << "locations follow the node, not its slot";

  // Already topological: file order is kept exactly.
  auto g2 = expectOk(frontend::loadModelText(kHead + R"(
node { name: "k" op: "constant" outputs: "c" }
node { name: "mm" op: "matmul" inputs: "x" inputs: "W" outputs: "h" }
node { name: "act" op: "relu" inputs: "h" outputs: "r" }
)",
                                             "m.pbtxt"));
  EXPECT_EQ(nodeNames(*g2), (std::vector<std::string>{"k", "mm", "act"}));
}

TEST(ModelLoader, UnnamedNodesAreNamedByPosition) {
  EXPECT_EQ(loadError(kHead + R"(node { op: "matmul" inputs: "x" outputs: "h" })"),
            "m.pbtxt:5: node #1 (matmul) expects 2 inputs, got 1");
  auto g = expectOk(frontend::loadModelText(
      kHead + R"(node { op: "relu" inputs: "x" outputs: "r" })", "m.pbtxt"));
  EXPECT_EQ(g->nodes()[0]->loc.modelNode, "");
  EXPECT_EQ(g->nodes()[0]->loc.line, 5u);
}

TEST(ModelLoader, MalformedTextHasLineAndColumn) {
  // Protobuf's own message, with 1-based line:column.
  std::string err = loadError("name: \"m\"\ninput { name: \"x\" typo: 3 }\n");
  EXPECT_EQ(err.rfind("m.pbtxt:2:23: ", 0), 0u) << err;
  EXPECT_NE(err.find("typo"), std::string::npos) << err;
  EXPECT_EQ(err.find('\n'), std::string::npos) << "one line";

  err = loadError("name: \"m\"\n\nnode { op: \"relu\" \n");
  EXPECT_EQ(err.rfind("m.pbtxt:4:", 0), 0u) << err;
  err = loadError("input { type { dtype: F64 } }");
  EXPECT_EQ(err.rfind("m.pbtxt:1:27: ", 0), 0u) << err;
}

TEST(ModelLoader, UnknownOpSuggestsTheClosest) {
  EXPECT_EQ(loadError(kHead + R"(node { name: "act" op: "relue" inputs: "x" outputs: "r" })"),
            "m.pbtxt:5: node 'act': unknown op 'relue' (did you mean 'relu'?)");
  EXPECT_EQ(loadError(kHead + R"(node { name: "a" op: "frobnicate" inputs: "x" outputs: "r" })"),
            "m.pbtxt:5: node 'a': unknown op 'frobnicate'");
  EXPECT_EQ(loadError(kHead + R"(node { name: "a" inputs: "x" outputs: "r" })"),
            "m.pbtxt:5: node 'a' has no op");
}

TEST(ModelLoader, ArityAndResultCount) {
  EXPECT_EQ(
      loadError(
          kHead + "\n\n" +
          R"(node { name: "fc1" op: "matmul" inputs: "x" inputs: "W" inputs: "b" outputs: "h" })"),
      "m.pbtxt:7: node 'fc1' (matmul) expects 2 inputs, got 3");
  EXPECT_EQ(loadError(kHead + R"(node { name: "r" op: "relu" outputs: "h" })"),
            "m.pbtxt:5: node 'r' (relu) expects 1 input, got 0");
  EXPECT_EQ(
      loadError(kHead + R"(node { name: "r" op: "relu" inputs: "x" outputs: "h" outputs: "g" })"),
      "m.pbtxt:5: node 'r' (relu) defines 2 outputs, but relu has 1 result");
  EXPECT_EQ(loadError(kHead + R"(node { name: "r" op: "relu" inputs: "x" })"),
            "m.pbtxt:5: node 'r' (relu) defines 0 outputs, but relu has 1 result");
}

TEST(ModelLoader, AttributeErrors) {
  EXPECT_EQ(loadError(kHead + R"(node { name: "mm" op: "matmul" inputs: "x" inputs: "W" outputs: "h"
  attr { name: "transpose_c" i: 1 } })"),
            "m.pbtxt:5: node 'mm' (matmul): unknown attribute 'transpose_c' for op matmul "
            "(known: transpose_a, transpose_b)");
  EXPECT_EQ(
      loadError(
          kHead +
          R"(node { name: "mm" op: "matmul" inputs: "x" inputs: "W" outputs: "h" attr { name: "transpose_b" f: 1 } })"),
      "m.pbtxt:5: node 'mm' (matmul): attribute 'transpose_b' must be int, got float");
  EXPECT_EQ(loadError(kHead + R"(node { name: "rs" op: "reshape" inputs: "x" outputs: "h" })"),
            "m.pbtxt:5: node 'rs' (reshape): missing required attribute 'shape'");
  EXPECT_EQ(
      loadError(
          kHead +
          R"(node { name: "mm" op: "matmul" inputs: "x" inputs: "W" outputs: "h" attr { name: "transpose_b" } })"),
      "m.pbtxt:5: node 'mm' (matmul): attribute 'transpose_b' has no value (set one of "
      "i, f, s, ints, floats)");
  EXPECT_EQ(
      loadError(
          kHead +
          R"(node { name: "mm" op: "matmul" inputs: "x" inputs: "W" outputs: "h" attr { name: "transpose_b" i: 0 } attr { name: "transpose_b" i: 1 } })"),
      "m.pbtxt:5: node 'mm' (matmul): attribute 'transpose_b' is given twice");
}

TEST(ModelLoader, UndefinedAndDuplicateNames) {
  EXPECT_EQ(
      loadError(kHead + R"(node { name: "fc1" op: "matmul" inputs: "x" inputs: "W" outputs: "h1" }
node { name: "fc2" op: "matmul" inputs: "h3" inputs: "W" outputs: "h2" })"),
      "m.pbtxt:6: node 'fc2' (matmul) uses 'h3', which no input, param or node defines "
      "(did you mean 'h1'?)");
  EXPECT_EQ(
      loadError(kHead + R"(node { name: "fc1" op: "matmul" inputs: "x" inputs: "W" outputs: "h1" }
node { name: "fc2" op: "relu" inputs: "x" outputs: "h1" })"),
      "m.pbtxt:6: node 'fc2' (relu) defines 'h1', already defined by node 'fc1' (matmul) "
      "(line 5)");
  EXPECT_EQ(loadError(kHead + R"(node { name: "r" op: "relu" inputs: "x" outputs: "W" })"),
            "m.pbtxt:5: node 'r' (relu) defines 'W', already defined by param 'W' (line 2)");
  EXPECT_EQ(loadError(kHead + R"(param { name: "x" type { shape { size: 1 } } })"),
            "m.pbtxt:5: param 'x' defines 'x', already defined by input 'x' (line 1)");
  EXPECT_EQ(loadError(kHead + R"(node { name: "a" op: "relu" inputs: "x" outputs: "r" }
node { name: "a" op: "relu" inputs: "r" outputs: "s" })"),
            "m.pbtxt:6: node name 'a' is used twice (first at line 5)");
}

TEST(ModelLoader, EmptyNames) {
  EXPECT_EQ(loadError(R"(input { type { shape { size: 1 } } })"),
            "m.pbtxt:1: input #1 has an empty name");
  EXPECT_EQ(loadError(kHead + R"(param { type { shape { size: 1 } } })"),
            "m.pbtxt:5: param #3 has an empty name");
  EXPECT_EQ(loadError(kHead + R"(node { name: "r" op: "relu" inputs: "" outputs: "h" })"),
            "m.pbtxt:5: node 'r' (relu): input 0 is an empty name");
  EXPECT_EQ(loadError(kHead + R"(node { name: "r" op: "relu" inputs: "x" outputs: "" })"),
            "m.pbtxt:5: node 'r' (relu): output 0 has an empty name");
  EXPECT_EQ(loadError(kHead + R"(node { name: "r" op: "relu" inputs: "x" outputs: "a\nb" })"),
            "m.pbtxt:5: node 'r' (relu): output 0: name 'a\\0Ab' contains a control character");
}

TEST(ModelLoader, Cycles) {
  // a -> b -> c -> a, listed out of order, plus an innocent node that uses
  // the cycle; the cycle is reported starting at its first node in the file.
  EXPECT_EQ(loadError(kHead + R"(node { name: "c" op: "relu" inputs: "hb" outputs: "hc" }
node { name: "user" op: "neg" inputs: "hc" outputs: "u" }
node { name: "a" op: "add" inputs: "x" inputs: "hc" outputs: "ha" }
node { name: "b" op: "relu" inputs: "ha" outputs: "hb" })"),
            "m.pbtxt:5: nodes form a cycle (each feeds the next): 'c' (line 5) -> 'a' (line 7) "
            "-> 'b' (line 8) -> 'c'");
  EXPECT_EQ(
      loadError(kHead + R"(node { name: "self" op: "add" inputs: "x" inputs: "s" outputs: "s" })"),
      "m.pbtxt:5: node 'self' (add) uses its own output 's'");
}

TEST(ModelLoader, TypeErrors) {
  EXPECT_EQ(loadError(R"(input { name: "x" type { shape { sym: "M" } } })"),
            "m.pbtxt:1: input 'x': dimension 0 has unknown symbol 'M' (only 'N', the batch, "
            "is allowed)");
  EXPECT_EQ(loadError(R"(input { name: "x" type { shape { size: 3 } shape { size: 0 } } })"),
            "m.pbtxt:1: input 'x': dimension 1 has size 0; sizes must be positive");
  EXPECT_EQ(loadError(R"(input { name: "x" type { shape { } } })"),
            "m.pbtxt:1: input 'x': dimension 0 has neither size nor sym");
  EXPECT_EQ(loadError("\n"
                      R"(param { name: "W" type { shape { size: -4 } } })"),
            "m.pbtxt:2: param 'W': dimension 0 has size -4; sizes must be positive");
  EXPECT_EQ(loadError(R"(param { name: "W" type { shape { sym: "N" } } })"),
            "m.pbtxt:1: param 'W': dimension 0 is the batch 'N'; params have fixed shapes");
  EXPECT_EQ(
      loadError(
          R"(param { name: "W" type { shape { size: 4294967296 } shape { size: 4294967296 } } })"),
      "m.pbtxt:1: param 'W': shape is too large (more than 4294967296 elements)");
}

TEST(ModelLoader, InitializerErrors) {
  EXPECT_EQ(loadError(R"(param { name: "W" type { shape { size: 4 } } init { kind: "kaiming" } })"),
            "m.pbtxt:1: param 'W': unknown initializer 'kaiming' (known: zeros, constant, "
            "normal, uniform, kaiming_normal, kaiming_uniform, xavier_uniform)");
  EXPECT_EQ(
      loadError(
          R"(param { name: "W" type { shape { size: 4 } } init { kind: "xavier_unifrom" } })"),
      "m.pbtxt:1: param 'W': unknown initializer 'xavier_unifrom' (did you mean "
      "'xavier_uniform'?) (known: zeros, constant, normal, uniform, kaiming_normal, "
      "kaiming_uniform, xavier_uniform)");
  EXPECT_EQ(loadError(R"(param { name: "W" type { shape { size: 4 } } init { std: 1 } })"),
            "m.pbtxt:1: param 'W': init has no kind (one of: zeros, constant, normal, uniform, "
            "kaiming_normal, kaiming_uniform, xavier_uniform)");
  EXPECT_EQ(
      loadError(
          R"(param { name: "W" type { shape { size: 4 } } init { kind: "normal" std: -1 } })"),
      "m.pbtxt:1: param 'W': init std must be >= 0, got -1");
  EXPECT_EQ(
      loadError(
          R"(param { name: "W" type { shape { size: 4 } } init { kind: "uniform" low: 1 high: 0 } })"),
      "m.pbtxt:1: param 'W': init low 1 is greater than high 0");
  EXPECT_EQ(
      loadError(
          R"(param { name: "W" type { shape { size: 4 } } init { kind: "constant" value: inf } })"),
      "m.pbtxt:1: param 'W': init value is inf");
}

TEST(ModelLoader, OutputsLossAndTraining) {
  const std::string body =
      kHead + R"(node { name: "mm" op: "matmul" inputs: "x" inputs: "W" outputs: "h" }
)";
  EXPECT_EQ(loadError(body + "output: \"h\"\noutput: \"p\"\n"),
            "m.pbtxt:7: output 'p' names nothing: no input, param or node defines it");
  EXPECT_EQ(loadError(body + "output: \"h\"\noutput: \"h\"\n"),
            "m.pbtxt:7: output 'h' is listed twice");
  EXPECT_EQ(loadError(body + "\nloss: \"l\"\n"),
            "m.pbtxt:7: loss 'l' names nothing: no input, param or node defines it");
  EXPECT_EQ(loadError(body + "training { optimizer { lr: -0.5 } }"),
            "m.pbtxt:6: training: lr must be a positive number, got -0.5");
  EXPECT_EQ(loadError(body + "training { batch_size: -2 }"),
            "m.pbtxt:6: training: batch_size must be positive, got -2");
  EXPECT_EQ(loadError(body + "training { epochs: -1 }"),
            "m.pbtxt:6: training: epochs must be positive, got -1");
  EXPECT_EQ(loadError(body + "training { data { features: \"h\" } }"),
            "m.pbtxt:6: training: data features 'h' is not an input of the model");
  EXPECT_EQ(loadError(body + "training { data { labels: \"q\" } }"),
            "m.pbtxt:6: training: data labels 'q' is not an input of the model");

  // Zero fields keep the defaults; the block's presence is recorded.
  auto g = expectOk(frontend::loadModelText(body + "training { seed: 9 }", "m.pbtxt"));
  ir::TrainingConfig want;
  want.present = true;
  want.seed = 9;
  EXPECT_EQ(g->training, want);
}

TEST(ModelLoader, OptimizerSettings) {
  const std::string body =
      kHead + R"(node { name: "mm" op: "matmul" inputs: "x" inputs: "W" outputs: "h" }
)";
  auto g = expectOk(frontend::loadModelText(
      body + "training { optimizer { kind: \"sgd\" lr: 0.1 momentum: 0.9 nesterov: true "
             "weight_decay: 0.001 clip_norm: 5 } }",
      "m.pbtxt"));
  const ir::TrainingConfig &t = g->training;
  EXPECT_EQ(t.optimizer, "sgd");
  EXPECT_EQ(t.momentum, 0.9);
  EXPECT_TRUE(t.nesterov);
  EXPECT_EQ(t.weightDecay, 0.001);
  EXPECT_EQ(t.clipNorm, 5.0);

  // Unset constants keep PyTorch's defaults; AdamW's decay defaults to 0.01,
  // an explicit 0 is kept.
  auto adam = expectOk(frontend::loadModelText(
      body + "training { optimizer { kind: \"adam\" beta2: 0.99 } }", "m.pbtxt"));
  EXPECT_EQ(adam->training.beta1, 0.9);
  EXPECT_EQ(adam->training.beta2, 0.99);
  EXPECT_EQ(adam->training.eps, 1e-8);
  EXPECT_EQ(adam->training.weightDecay, 0.0);
  auto adamw = expectOk(
      frontend::loadModelText(body + "training { optimizer { kind: \"adamw\" } }", "m.pbtxt"));
  EXPECT_EQ(adamw->training.weightDecay, 0.01);
  auto noDecay = expectOk(frontend::loadModelText(
      body + "training { optimizer { kind: \"adamw\" weight_decay: 0 } }", "m.pbtxt"));
  EXPECT_EQ(noDecay->training.weightDecay, 0.0);
  auto rms = expectOk(
      frontend::loadModelText(body + "training { optimizer { kind: \"rmsprop\" } }", "m.pbtxt"));
  EXPECT_EQ(rms->training.alpha, 0.99);

  EXPECT_EQ(loadError(body + "training { optimizer { kind: \"adagrad\" } }"),
            "m.pbtxt:6: training: optimizer: unknown optimizer 'adagrad' (expected sgd, "
            "rmsprop, adam, adamw)");
  EXPECT_EQ(loadError(body + "training { optimizer { momentum: -0.5 } }"),
            "m.pbtxt:6: training: optimizer: momentum must be a non-negative number, got -0.5");
  EXPECT_EQ(loadError(body + "training { optimizer { kind: \"adam\" eps: -1 } }"),
            "m.pbtxt:6: training: optimizer: eps must be a non-negative number, got -1.0");
  EXPECT_EQ(loadError(body + "training { optimizer { weight_decay: -0.1 } }"),
            "m.pbtxt:6: training: optimizer: weight_decay must be a non-negative number, "
            "got -0.1");
  EXPECT_EQ(loadError(body + "training { optimizer { clip_norm: -1 } }"),
            "m.pbtxt:6: training: optimizer: clip_norm must be a non-negative number, got "
            "-1.0");
  EXPECT_EQ(loadError(body + "training { optimizer { kind: \"adam\" beta1: 1 } }"),
            "m.pbtxt:6: training: optimizer: beta1 must be in [0, 1), got 1.0");
  EXPECT_EQ(loadError(body + "training { optimizer { kind: \"rmsprop\" alpha: -0.1 } }"),
            "m.pbtxt:6: training: optimizer: alpha must be in [0, 1), got -0.1");
  EXPECT_EQ(loadError(body + "training { optimizer { nesterov: true } }"),
            "m.pbtxt:6: training: optimizer: nesterov needs the sgd optimizer with "
            "momentum > 0");
}

class ModelFileTest : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_FALSE(llvm::sys::fs::createUniqueDirectory("gradc-loader", dir_));
  }
  void TearDown() override { llvm::sys::fs::remove_directories(dir_); }
  std::string path(const std::string &name) {
    llvm::SmallString<256> p(dir_);
    llvm::sys::path::append(p, name);
    return std::string(p);
  }
  llvm::SmallString<256> dir_;
};

TEST_F(ModelFileTest, BinaryModelsLoadWithoutLines) {
  pb::Model m;
  m.set_name("bin");
  auto *in = m.add_input();
  in->set_name("x");
  in->mutable_type()->add_shape()->set_sym("N");
  in->mutable_type()->add_shape()->set_size(3);
  auto *n = m.add_node();
  n->set_name("act");
  n->set_op("relu");
  n->add_inputs("x");
  n->add_outputs("r");
  m.add_output("r");
  std::string file = path("model.pb");
  {
    std::ofstream os(file, std::ios::binary);
    ASSERT_TRUE(m.SerializeToOstream(&os));
  }
  auto g = expectOk(frontend::loadModelFile(file));
  EXPECT_EQ(g->name, "bin");
  ASSERT_EQ(g->nodes().size(), 1u);
  EXPECT_EQ(g->nodes()[0]->loc.line, 0u);
  EXPECT_EQ(g->nodes()[0]->loc.modelNode, "act");
  EXPECT_EQ(g->outputs[0]->name(), "r");

  n->set_op("rleu");
  {
    std::ofstream os(file, std::ios::binary | std::ios::trunc);
    ASSERT_TRUE(m.SerializeToOstream(&os));
  }
  EXPECT_EQ(errorText(frontend::loadModelFile(file).takeError()),
            file + ": node 'act': unknown op 'rleu' (did you mean 'relu'?)");

  std::ofstream(path("junk.pb")) << "\xff\xff\xff garbage";
  std::string err = errorText(frontend::loadModelFile(path("junk.pb")).takeError());
  EXPECT_EQ(err.rfind(path("junk.pb") + ": not a valid binary model", 0), 0u) << err;
}

TEST_F(ModelFileTest, MissingFilesAndDirectoriesAreNamed) {
  std::string err = errorText(frontend::loadModelFile(path("nope.pbtxt")).takeError());
  EXPECT_EQ(err.rfind("cannot read model " + path("nope.pbtxt") + ": ", 0), 0u) << err;
  err = errorText(frontend::loadModelFile(std::string(dir_)).takeError());
  EXPECT_EQ(err, "cannot read model " + std::string(dir_) + ": it is a directory");
}

TEST_F(ModelFileTest, TextFilesReportTheirPath) {
  std::string file = path("bad.pbtxt");
  std::ofstream(file) << kHead
                      << "node { name: \"r\" op: \"relu\" inputs: \"q\" outputs: \"h\" }\n";
  EXPECT_EQ(errorText(frontend::loadModelFile(file).takeError()),
            file + ":5: node 'r' (relu) uses 'q', which no input, param or node defines");
}

} // namespace
