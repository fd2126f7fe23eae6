//===- tests/unit/OpTableTest.cpp - Every op has every hook it needs ------===//
//
// Walks ir/Ops.def and checks each op against every per-op table: a shape
// rule and attribute schema (ir/), a gradient rule unless flagged NoGrad
// (passes/), an interpreter kernel (interp/), a lowering (codegen/). Adding an
// op without one of them fails here (or earlier, at link time).
//
//===----------------------------------------------------------------------===//
#include "tests/TestUtil.h"

#include "codegen/KernelEmitter.h"
#include "codegen/Lowering.h"

#include "llvm/IR/Module.h"
#include "interp/Interpreter.h"
#include "ir/Fusion.h"
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

namespace {

/// Every op `fuse` may put in a group (ir::isFusibleMap) is an elementwise
/// or broadcast map, and its lowering has an element function: in element
/// mode (KernelCtx::ElementScope) it yields one f32 value and emits no loop.
TEST(OpTable, FusibleOpsAreMapsWithAnElementFunction) {
  llvm::LLVMContext ctx;
  llvm::Module m("fusible", ctx);
  unsigned fusible = 0;
  for (ir::OpKind op : allOps()) {
    if (!ir::isFusibleMap(op))
      continue;
    ++fusible;
    const ir::OpInfo &info = ir::opInfo(op);
    SCOPED_TRACE(info.name);
    EXPECT_TRUE(info.opClass == ir::OpClass::Elementwise || info.opClass == ir::OpClass::Broadcast);
    ir::Graph g;
    std::vector<ir::Value *> ins;
    for (unsigned i = 0; i < info.minInputs(); ++i)
      ins.push_back(g.addInput("x" + std::to_string(i), test::f32({4})));
    ir::Attrs attrs;
    if (op == ir::OpKind::ActivationGrad)
      attrs.set("op", std::string("gelu"));
    if (op == ir::OpKind::ExtremumGrad)
      attrs.set("op", std::string("maximum"));
    ir::Node *n = g.addNode(op, ins, attrs);
    n->result()->setType(test::f32({4}));

    llvm::Type *ptr = llvm::PointerType::getUnqual(ctx);
    llvm::SmallVector<llvm::Type *, 4> params(ins.size(), ptr);
    params.push_back(llvm::Type::getInt64Ty(ctx));
    auto *fn = llvm::Function::Create(
        llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), params, false),
        llvm::Function::InternalLinkage, std::string("k_") + info.name, m);
    codegen::KernelCtx k(fn, *n, codegen::TargetInfo{}, ins.size(), 0);
    llvm::SmallVector<llvm::Value *, 3> elems(ins.size(), k.f32c(0.5));
    codegen::KernelCtx::ElementScope scope{elems};
    k.setElementScope(&scope);
    test::expectOk(codegen::loweringFor(op)(k, *n));
    ASSERT_NE(scope.result, nullptr) << "no element function";
    EXPECT_TRUE(scope.result->getType()->isFloatTy());
    EXPECT_EQ(fn->size(), 1u) << "element mode emitted a loop";
  }
  EXPECT_GT(fusible, 20u);
}

} // namespace
