//===- tests/unit/PerfMapTest.cpp - GRADC_PERF_MAP names JIT code ---------===//
#include "codegen/Jit.h"
#include "tests/numeric/NumericUtil.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <unistd.h>

namespace gradc {
namespace {

using ir::OpKind;

std::string mapPath() { return "/tmp/perf-" + std::to_string(::getpid()) + ".map"; }

/// A graph of two kernels: a matmul and a relu.
std::unique_ptr<rt::Executable> compileSmallGraph(test::GraphMaker &gm) {
  ir::Value *x = gm.input("x", test::f32Type({kBatch, 8}));
  ir::Value *w = gm.param("w", test::f32Type({8, 4}));
  ir::Value *y = gm.op(OpKind::Relu, {gm.op(OpKind::MatMul, {x, w})});
  gm.graph().outputs.push_back(y);
  codegen::CodegenOptions opts;
  return llvm::cantFail(codegen::compileGraph(gm.graph(), opts));
}

TEST(PerfMap, ListsTheStepAndEveryKernelWhenAsked) {
  std::remove(mapPath().c_str());
  ::setenv("GRADC_PERF_MAP", "1", 1);
  test::GraphMaker gm;
  auto exe = compileSmallGraph(gm);
  ::unsetenv("GRADC_PERF_MAP");
  std::ifstream in(mapPath());
  ASSERT_TRUE(in) << mapPath() << " was not written";
  std::string line;
  int kernels = 0, steps = 0;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string addr, size, name;
    fields >> addr >> size >> name;
    // "START SIZE NAME", both numbers hex, as perf expects.
    EXPECT_GT(std::stoull(addr, nullptr, 16), 0u) << line;
    EXPECT_GT(std::stoull(size, nullptr, 16), 0u) << line;
    steps += name == "gradc_step";
    kernels += name.rfind("gradc_k", 0) == 0;
  }
  EXPECT_EQ(steps, 1);
  EXPECT_GE(kernels, 1) << "no kernel function in the map";
  std::remove(mapPath().c_str());
}

TEST(PerfMap, WritesNothingByDefault) {
  std::remove(mapPath().c_str());
  ::unsetenv("GRADC_PERF_MAP");
  test::GraphMaker gm;
  auto exe = compileSmallGraph(gm);
  EXPECT_FALSE(std::ifstream(mapPath()).good());
}

} // namespace
} // namespace gradc
