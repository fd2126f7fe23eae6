//===- tests/unit/OpTableTest.cpp - Every op has every hook it needs ------===//
//
// Walks ir/Ops.def and checks each op against every per-op table: a shape
// rule and attribute schema (ir/), a gradient rule unless flagged NoGrad
// (passes/), an interpreter kernel (interp/), a lowering (codegen/). Adding an
// op without one of them fails here (or earlier, at link time).
//
//===----------------------------------------------------------------------===//
#include "tests/TestUtil.h"

#include "codegen/Lowering.h"
#include "interp/Interpreter.h"
#include "ir/OpInfo.h"
#include "passes/GradRules.h"

#include <set>

using namespace gradc;

namespace {

std::vector<ir::OpKind> allOps() {
  std::vector<ir::OpKind> ops;
#define OP(Enum, Name, NumInputs, Class, Flags) ops.push_back(ir::OpKind::Enum);
#include "ir/Ops.def"
  return ops;
}

TEST(OpTable, NamesAreUniqueAndLookUpBack) {
  std::set<std::string> names;
  for (ir::OpKind k : allOps()) {
    const ir::OpInfo &info = ir::opInfo(k);
    EXPECT_EQ(info.kind, k);
    EXPECT_TRUE(names.insert(info.name).second) << "duplicate op name " << info.name;
    auto back = ir::lookupOp(info.name);
    ASSERT_TRUE(back.has_value()) << info.name;
    EXPECT_EQ(*back, k);
  }
  EXPECT_EQ(names.size(), ir::kNumOps);
  EXPECT_FALSE(ir::lookupOp("no_such_op").has_value());
}

TEST(OpTable, EveryOpHasEveryHook) {
  for (ir::OpKind k : allOps()) {
    const ir::OpInfo &info = ir::opInfo(k);
    SCOPED_TRACE(info.name);
    EXPECT_NE(info.inferShape, nullptr) << "no shape rule";
    EXPECT_NE(interp::interpKernel(k), nullptr) << "no interpreter kernel";
    EXPECT_NE(codegen::loweringFor(k), nullptr) << "no lowering";
    if (info.hasGrad())
      EXPECT_NE(passes::gradRule(k), nullptr) << "no gradient rule (flag it NoGrad if none exists)";
    else
      EXPECT_EQ(passes::gradRule(k), nullptr) << "NoGrad op with a gradient rule";
    for (const ir::AttrSpec &a : info.attrs)
      EXPECT_EQ(info.findAttr(a.name), &a);
  }
}

} // namespace
