//===- codegen/ModuleBuilder.cpp - A graph as one LLVM module --------------===//
//
// Algorithm: for node i (schedule order) declare an internal function
//   void gradc_k<i>_<op>(ptr in..., ptr out..., i64 batch)
// and let the op's lowering (Lowering.h) fill it. Kernels stay separate
// functions (noinline): the printed IR reads kernel by kernel, and each
// kernel's loops are vectorized on their own. Nodes with the same
// kernelKey (KernelKey.h: op, attributes, types, in-place pairs) share the
// function of the first of them, named after it: the unrolled steps of an
// RNN then cost LLVM one set of kernels, not T. An elementwise map of
// contiguous operands is lowered from a rank-1 stand-in (flatMapNode) and
// called with its element count as `batch`, so maps of any shape share. Then the external entry
//   void gradc_step(ptr buffers, i64 batch)
// loads each node's buffer pointers from the table and calls its kernel, in
// order, and finally copies every graph.updates `next` buffer into its param
// buffer (after all nodes: a kernel late in the step may still read the old
// param).
//
// Pointer arguments are noalias and align 64: no two values live at the same
// node share memory (a memory slot of plan-memory holds values whose
// lifetimes are disjoint, ir/Liveness.h), except an elementwise result
// computed in place of one of its inputs, whose two pointers are then
// neither noalias nor readonly. The runtime places every buffer 64-byte
// aligned. A node may read one value twice (mul(%x, %x));
// noalias still holds then, since inputs are only read. Results are never
// inputs (SSA).
//
//===----------------------------------------------------------------------===//
#include "codegen/ModuleBuilder.h"

#include "codegen/KernelEmitter.h"
#include "codegen/KernelKey.h"
#include "codegen/Lowering.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/Verifier.h"
#include "llvm/Support/raw_ostream.h"

namespace gradc::codegen {

namespace {

/// Where a value lives: its buffer, or its memory slot (shared with others).
int64_t memoryOf(const ir::BufferLayout &layout, const ir::Value *v) {
  unsigned i = layout.index.lookup(v);
  int32_t slot = layout.buffers[i].slot;
  return slot >= 0 ? -1 - static_cast<int64_t>(slot) : static_cast<int64_t>(i);
}

llvm::Function *declareKernel(llvm::Module &m, const ir::Node &n, size_t index,
                              const ir::BufferLayout &layout) {
  llvm::LLVMContext &ctx = m.getContext();
  llvm::Type *ptr = llvm::PointerType::getUnqual(ctx);
  size_t nptrs = n.inputs().size() + n.results().size();
  llvm::SmallVector<llvm::Type *, 5> params(nptrs, ptr);
  params.push_back(llvm::Type::getInt64Ty(ctx));
  auto *fty = llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), params, false);
  std::string name = "gradc_k" + std::to_string(index) + "_" + n.info().name;
  auto *f = llvm::Function::Create(fty, llvm::Function::InternalLinkage, name, m);
  f->addFnAttr(llvm::Attribute::NoInline);
  f->addFnAttr(llvm::Attribute::NoUnwind);
  // An input and a result in the same memory: the result is computed in place
  // (plan-memory), so neither pointer is noalias and the input is written.
  llvm::SmallVector<bool, 5> shared(nptrs, false);
  for (unsigned i = 0; i < n.inputs().size(); ++i)
    for (unsigned r = 0; r < n.results().size(); ++r)
      if (memoryOf(layout, n.input(i)) == memoryOf(layout, n.result(r)))
        shared[i] = shared[n.inputs().size() + r] = true;
  for (unsigned i = 0; i < nptrs; ++i) {
    if (!shared[i])
      f->addParamAttr(i, llvm::Attribute::NoAlias);
    f->addParamAttr(i, llvm::Attribute::NoCapture);
    f->addParamAttr(i, llvm::Attribute::NoUndef);
    f->addParamAttr(i, llvm::Attribute::getWithAlignment(ctx, llvm::Align(64)));
    if (i < n.inputs().size() && !shared[i])
      f->addParamAttr(i, llvm::Attribute::ReadOnly);
  }
  f->addParamAttr(nptrs, llvm::Attribute::NoUndef);
  unsigned a = 0;
  for (const ir::Value *v : n.inputs())
    f->getArg(a++)->setName(v->name());
  for (const ir::Value *v : n.results())
    f->getArg(a++)->setName(v->name());
  f->getArg(a)->setName("batch");
  return f;
}

} // namespace

llvm::Expected<llvm::Function *> addStepFunction(const ir::Graph &g, const ir::BufferLayout &layout,
                                                 const TargetInfo &target, llvm::Module &m,
                                                 llvm::StringRef name,
                                                 llvm::GlobalValue::LinkageTypes linkage) {
  llvm::LLVMContext &ctx = m.getContext();
  llvm::Type *ptr = llvm::PointerType::getUnqual(ctx);
  llvm::Type *i64 = llvm::Type::getInt64Ty(ctx);

  auto *stepTy = llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), {ptr, i64}, false);
  auto *step = llvm::Function::Create(stepTy, linkage, name, m);
  step->addFnAttr(llvm::Attribute::NoUnwind);
  llvm::Argument *table = step->getArg(0);
  llvm::Argument *batch = step->getArg(1);
  table->setName("buffers");
  batch->setName("batch");
  llvm::IRBuilder<> b(llvm::BasicBlock::Create(ctx, "entry", step));

  auto bufferPtr = [&](const ir::Value *v) -> llvm::Value * {
    auto it = layout.index.find(v);
    assert(it != layout.index.end() && "value without a buffer");
    llvm::Value *slot = b.CreateConstInBoundsGEP1_64(ptr, table, it->second);
    return b.CreateAlignedLoad(ptr, slot, llvm::Align(8), v->name());
  };

  auto numel = [&](const TensorType &t) {
    llvm::Value *count = b.getInt64(1);
    for (int64_t d : t.shape)
      count = b.CreateMul(count, d == kBatch ? static_cast<llvm::Value *>(batch)
                                             : b.getInt64(d));
    return count;
  };

  llvm::StringMap<llvm::Function *> kernels; // kernelKey -> its one function
  size_t index = 0;
  for (const auto &node : g.nodes()) {
    const ir::Node &n = *node;
    // A flat map's kernel is lowered from its stand-in and takes the
    // element count in place of the batch.
    std::optional<FlatMap> flat = flatMapNode(n);
    const ir::Node &kn = flat ? *flat->node : n;
    auto sameMemory = [&](unsigned i, unsigned r) {
      return memoryOf(layout, n.input(i)) == memoryOf(layout, n.result(r));
    };
    llvm::Function *&kernel = kernels[kernelKey(kn, sameMemory)];
    ++index;
    if (!kernel) {
      kernel = declareKernel(m, n, index - 1, layout);
      KernelCtx k(kernel, kn, target);
      if (llvm::Error e = loweringFor(kn.op())(k, kn))
        return ir::nodeError(n, g, "cannot generate code: " + llvm::toString(std::move(e)));
      k.b().CreateRetVoid();
    }

    llvm::SmallVector<llvm::Value *, 5> args;
    for (const ir::Value *v : n.inputs())
      args.push_back(bufferPtr(v));
    for (const ir::Value *v : n.results())
      args.push_back(bufferPtr(v));
    args.push_back(flat ? numel(n.result()->type()) : batch);
    b.CreateCall(kernel, args);
  }

  for (const ir::ParamUpdate &u : g.updates) {
    if (layout.index.lookup(u.param) == layout.index.lookup(u.next))
      continue; // computed in place (plan-memory)
    const TensorType &t = u.param->type();
    llvm::Value *bytes = b.CreateMul(numel(t), b.getInt64(sizeOf(t.dtype)));
    b.CreateMemCpy(bufferPtr(u.param), llvm::Align(64), bufferPtr(u.next), llvm::Align(64),
                   bytes);
  }
  b.CreateRetVoid();
  return step;
}

llvm::Error verifyStepModule(const llvm::Module &m) {
  std::string msg;
  llvm::raw_string_ostream os(msg);
  if (llvm::verifyModule(m, &os))
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "internal error: codegen produced invalid LLVM IR: " +
                                       os.str());
  return llvm::Error::success();
}

llvm::Expected<std::unique_ptr<llvm::Module>>
buildStepModule(const ir::Graph &g, const ir::BufferLayout &layout, const TargetInfo &target,
                llvm::LLVMContext &ctx) {
  auto m = std::make_unique<llvm::Module>(g.name.empty() ? "gradc" : g.name, ctx);
  auto step = addStepFunction(g, layout, target, *m, kStepFunctionName,
                              llvm::Function::ExternalLinkage);
  if (!step)
    return step.takeError();
  if (llvm::Error e = verifyStepModule(*m))
    return e;
  return m;
}

} // namespace gradc::codegen
