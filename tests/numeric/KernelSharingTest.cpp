//===- tests/numeric/KernelSharingTest.cpp - Equal nodes share one kernel -===//
//
// codegen/KernelKey.h: nodes with the same kernelKey, and fusion groups
// with the same groupKernelKey, call one kernel function. Each test counts
// kernel definitions and calls in the emitted LLVM IR and checks the
// results against the reference interpreter.
//
//===----------------------------------------------------------------------===//
#include "tests/numeric/NumericUtil.h"

#include "codegen/Jit.h"

#include <map>
#include <regex>

using namespace gradc;
using namespace gradc::test;
using ir::OpKind;

namespace {

constexpr int64_t N = kBatch;

/// A graph compiled with its optimized LLVM IR kept, for tests that count
/// kernel definitions and calls in it.
struct JitWithIR {
  std::string ir;
  std::unique_ptr<rt::Executable> exe;
  explicit JitWithIR(const ir::Graph &g) {
    codegen::CodegenOptions o;
    o.llvmIROut = &ir;
    exe = expectOk(codegen::compileGraph(g, o));
  }
  /// Matches of the regular expression `re` in the IR.
  long count(const std::string &re) const {
    std::regex r(re);
    return std::distance(std::sregex_iterator(ir.begin(), ir.end(), r), std::sregex_iterator());
  }
};

} // namespace

TEST(JitGraphs, NodesWithTheSameKeyShareOneKernel) {
  // codegen/KernelKey.h: same op, attributes and types -> one function,
  // called once per node; another attribute value -> its own. A map of
  // contiguous operands takes its element count at run time, so another
  // shape shares (y4), but a broadcasting one does not (y5, y6).
  GraphMaker gm;
  ir::Value *x = gm.input("x", f32Type({N, 8}));
  ir::Value *z = gm.input("z", f32Type({N, 4}));
  ir::Attrs a01, a02;
  a01.set("alpha", 0.1);
  a02.set("alpha", 0.2);
  ir::Value *y1 = gm.op(OpKind::LeakyRelu, {x}, a01, "y1");
  ir::Value *y2 = gm.op(OpKind::LeakyRelu, {y1}, a01, "y2");
  ir::Value *y3 = gm.op(OpKind::LeakyRelu, {y2}, a02, "y3");
  gm.op(OpKind::LeakyRelu, {z}, a01, "y4");
  ir::Value *b8 = gm.input("b8", f32Type({8}));
  ir::Value *b4 = gm.input("b4", f32Type({4}));
  gm.op(OpKind::Add, {y3, b8}, {}, "y5");
  gm.op(OpKind::Add, {z, b4}, {}, "y6");
  JitWithIR compiled(gm.graph());
  const std::string &ir = compiled.ir;
  auto &exe = compiled.exe;
  auto count = [&](const std::string &re) { return compiled.count(re); };
  EXPECT_EQ(count("\\ndefine internal [^@\\n]*@gradc_k[0-9]+_leaky_relu\\("), 2) << ir;
  EXPECT_EQ(count("call [^@\\n]*@gradc_k0_leaky_relu\\("), 3) << ir;
  EXPECT_EQ(count("\\ndefine internal [^@\\n]*@gradc_k[0-9]+_add\\("), 2) << ir;
  auto ref = interp::makeInterpreter(gm.graph());
  BoundBuffers a(*exe, 3), e(*ref, 3);
  TensorRng rng(7);
  rt::Tensor xs = rng.uniform({3, 8}, -1, 1), zs = rng.uniform({3, 4}, -1, 1);
  rt::Tensor b8s = rng.uniform({8}, -1, 1), b4s = rng.uniform({4}, -1, 1);
  for (BoundBuffers *b : {&a, &e}) {
    b->set("x", xs);
    b->set("z", zs);
    b->set("b8", b8s);
    b->set("b4", b4s);
  }
  expectOk(a.run());
  expectOk(e.run());
  for (const char *name : {"y1", "y2", "y3", "y4", "y5", "y6"})
    EXPECT_TRUE(allClose(a.get(name), e.get(name), 1e-6, 1e-6)) << name;
}

TEST(JitGraphs, StructurallyEqualGroupsShareOneKernel) {
  // codegen/KernelKey.h groupKernelKey: fusion groups with the same members
  // (op, attributes, types), the same wiring and the same outputs share one
  // kernel function, called once per group. g1 repeats g0 on other inputs;
  // g2 differs in one member's op and g5 in its wiring (sub reads the other
  // input), so each has its own. g3 and g4 read only operands of their own
  // shape: flat groups, one kernel for both shapes ([N,8] and [4,6]).
  GraphMaker gm;
  ir::Value *x1 = gm.input("x1", f32Type({N, 8}));
  ir::Value *x2 = gm.input("x2", f32Type({N, 8}));
  ir::Value *x3 = gm.input("x3", f32Type({N, 8}));
  ir::Value *b8 = gm.input("b8", f32Type({8}));
  ir::Value *p = gm.input("p", f32Type({4, 6}));
  ir::Value *q = gm.input("q", f32Type({4, 6}));
  auto grouped = [&](ir::Value *v, int32_t group) {
    v->def()->group = group;
    return v;
  };
  std::vector<ir::Value *> outs;
  outs.push_back(grouped(gm.op(OpKind::Relu, {grouped(gm.op(OpKind::Add, {x1, b8}), 0)}, {}, "y0"), 0));
  outs.push_back(grouped(gm.op(OpKind::Relu, {grouped(gm.op(OpKind::Add, {x2, b8}), 1)}, {}, "y1"), 1));
  outs.push_back(grouped(gm.op(OpKind::Tanh, {grouped(gm.op(OpKind::Add, {x3, b8}), 2)}, {}, "y2"), 2));
  ir::Value *m3 = grouped(gm.op(OpKind::Mul, {x1, x2}), 3);
  outs.push_back(grouped(gm.op(OpKind::Sub, {m3, x1}, {}, "y3"), 3));
  ir::Value *m4 = grouped(gm.op(OpKind::Mul, {p, q}), 4);
  outs.push_back(grouped(gm.op(OpKind::Sub, {m4, p}, {}, "y4"), 4));
  ir::Value *m5 = grouped(gm.op(OpKind::Mul, {x1, x2}), 5);
  outs.push_back(grouped(gm.op(OpKind::Sub, {m5, x2}, {}, "y5"), 5));
  for (ir::Value *v : outs)
    gm.graph().outputs.push_back(v);
  JitWithIR compiled(gm.graph());
  const std::string &ir = compiled.ir;
  auto &exe = compiled.exe;
  auto count = [&](const std::string &re) { return compiled.count(re); };
  EXPECT_EQ(count("\\ndefine internal [^@\\n]*@gradc_k[0-9]+_fused_g[0-9]+\\("), 4) << ir;
  EXPECT_EQ(count("call [^@\\n]*@gradc_k0_fused_g0\\("), 2) << ir;
  EXPECT_EQ(count("call [^@\\n]*@gradc_k2_fused_g2\\("), 1) << ir;
  EXPECT_EQ(count("call [^@\\n]*@gradc_k3_fused_g3\\("), 2) << ir;
  EXPECT_EQ(count("call [^@\\n]*@gradc_k5_fused_g5\\("), 1) << ir;
  auto ref = interp::makeInterpreter(gm.graph());
  BoundBuffers a(*exe, 3), e(*ref, 3);
  TensorRng rng(11);
  std::map<std::string, rt::Tensor> feeds;
  feeds.emplace("x1", rng.uniform({3, 8}, -1, 1));
  feeds.emplace("x2", rng.uniform({3, 8}, -1, 1));
  feeds.emplace("x3", rng.uniform({3, 8}, -1, 1));
  feeds.emplace("b8", rng.uniform({8}, -1, 1));
  feeds.emplace("p", rng.uniform({4, 6}, -1, 1));
  feeds.emplace("q", rng.uniform({4, 6}, -1, 1));
  for (BoundBuffers *b : {&a, &e})
    for (const auto &[name, t] : feeds)
      b->set(name, t);
  expectOk(a.run());
  expectOk(e.run());
  for (const char *name : {"y0", "y1", "y2", "y3", "y4", "y5"})
    EXPECT_TRUE(allClose(a.get(name), e.get(name), 1e-6, 1e-6)) << name;
}
