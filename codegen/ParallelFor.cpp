//===- codegen/ParallelFor.cpp - Kernel loops on the runtime thread pool --===//
//
// For a kernel  void K(ptr noalias in..., ptr noalias out..., i64 batch)
// emitParallelFor makes two internal functions:
//
//   void K.part(ptr noalias in..., ptr noalias out..., i64 batch,
//               ptr noalias extra..., i64 begin, i64 end)     the body
//   void K.par(ptr ctx, i64 begin, i64 end)                   what the pool calls
//
// and replaces the loop in K by
//
//   ctx = alloca { ptr in..., ptr out..., ptr extra..., i64 batch }
//   store the pointers and the batch into ctx
//   gradc_parallel_for(K.par, ctx, n, grain)
//
// K.par loads the fields back and calls K.part, which the inliner folds into
// it (its only caller). The detour through K.part's argument list keeps the
// body's noalias and alignment facts: the inliner turns noalias arguments
// into alias scopes, whereas pointers loaded from memory would carry none.
// ctx lives on K's stack across the call, and gradc_parallel_for returns
// only when every chunk is done, so no chunk outlives it.
//
// A loop whose size and grain are constants that never split (a tiny
// matmul) skips all this: its body is emitted inline over the whole range.
//
//===----------------------------------------------------------------------===//
#include "codegen/ParallelFor.h"

#include "llvm/IR/Intrinsics.h"
#include "llvm/IR/Module.h"

namespace gradc::codegen {

using llvm::Value;

namespace {

llvm::Function *declareParallelFor(llvm::Module &m) {
  llvm::LLVMContext &c = m.getContext();
  llvm::Type *ptr = llvm::PointerType::getUnqual(c);
  llvm::Type *i64 = llvm::Type::getInt64Ty(c);
  auto *ty = llvm::FunctionType::get(llvm::Type::getVoidTy(c), {ptr, ptr, i64, i64}, false);
  auto *f = llvm::cast<llvm::Function>(m.getOrInsertFunction(kParallelForName, ty).getCallee());
  f->addFnAttr(llvm::Attribute::NoUnwind);
  return f;
}

} // namespace

void emitParallelFor(KernelCtx &k, Value *n, Value *grain, llvm::ArrayRef<Value *> extra,
                     ParallelBody body) {
  auto *constN = llvm::dyn_cast<llvm::ConstantInt>(n);
  auto *constGrain = llvm::dyn_cast<llvm::ConstantInt>(grain);
  if (constN && constGrain && constN->getSExtValue() < 2 * constGrain->getSExtValue()) {
    body(k, extra, k.i64c(0), n);
    return;
  }
  llvm::Function *kernel = k.function();
  llvm::Module &m = k.module();
  llvm::LLVMContext &c = k.ctx();
  llvm::Type *ptr = llvm::PointerType::getUnqual(c);
  llvm::Type *i64 = k.i64();
  const unsigned nptrs = k.numIns() + k.numOuts();

  // The body: the kernel's arguments, then extra..., begin, end.
  llvm::SmallVector<llvm::Type *, 8> partParams(nptrs, ptr);
  partParams.push_back(i64);
  partParams.append(extra.size(), ptr);
  partParams.append(2, i64);
  auto *partTy = llvm::FunctionType::get(llvm::Type::getVoidTy(c), partParams, false);
  auto *part = llvm::Function::Create(partTy, llvm::Function::InternalLinkage,
                                      kernel->getName() + ".part", m);
  part->addFnAttr(llvm::Attribute::NoUnwind);
  for (unsigned i = 0; i <= nptrs; ++i) {
    part->getArg(i)->setName(kernel->getArg(i)->getName());
    part->addParamAttrs(i, llvm::AttrBuilder(c, kernel->getAttributes().getParamAttrs(i)));
  }
  for (unsigned e = 0; e < extra.size(); ++e) {
    unsigned i = nptrs + 1 + e;
    part->getArg(i)->setName("extra" + llvm::Twine(e));
    part->addParamAttr(i, llvm::Attribute::NoAlias);
    part->addParamAttr(i, llvm::Attribute::NoCapture);
    part->addParamAttr(i, llvm::Attribute::NoUndef);
  }
  part->getArg(partTy->getNumParams() - 2)->setName("begin");
  part->getArg(partTy->getNumParams() - 1)->setName("end");
  {
    KernelCtx::EmitState kernelState = k.retarget(part, extra.size() + 2);
    llvm::SmallVector<Value *, 2> partExtra;
    for (unsigned e = 0; e < extra.size(); ++e)
      partExtra.push_back(k.trailing(e));
    body(k, partExtra, k.trailing(extra.size()), k.trailing(extra.size() + 1));
    k.b().CreateRetVoid();
    k.restore(std::move(kernelState));
  }

  // The context the pool hands to every chunk.
  llvm::SmallVector<llvm::Type *, 8> fields(nptrs + extra.size(), ptr);
  fields.push_back(i64);
  auto *ctxTy = llvm::StructType::get(c, fields);

  // The trampoline the pool calls.
  auto *parTy = llvm::FunctionType::get(llvm::Type::getVoidTy(c), {ptr, i64, i64}, false);
  auto *par = llvm::Function::Create(parTy, llvm::Function::InternalLinkage,
                                     kernel->getName() + ".par", m);
  par->addFnAttr(llvm::Attribute::NoUnwind);
  par->addParamAttr(0, llvm::Attribute::NoUndef);
  {
    llvm::IRBuilder<> b(llvm::BasicBlock::Create(c, "entry", par));
    llvm::Argument *ctx = par->getArg(0);
    ctx->setName("ctx");
    llvm::SmallVector<Value *, 8> args;
    for (unsigned i = 0; i < fields.size(); ++i)
      args.push_back(b.CreateLoad(fields[i], b.CreateStructGEP(ctxTy, ctx, i)));
    // Field order puts the batch last; the body takes it after the node's pointers.
    Value *batch = args.pop_back_val();
    args.insert(args.begin() + nptrs, batch);
    args.push_back(par->getArg(1));
    args.push_back(par->getArg(2));
    b.CreateCall(part, args);
    b.CreateRetVoid();
  }

  // In the kernel: fill the context (a static alloca in the entry block) and
  // hand the range to the pool.
  llvm::IRBuilder<> entry(&kernel->getEntryBlock(), kernel->getEntryBlock().begin());
  Value *ctx = entry.CreateAlloca(ctxTy, nullptr, "par.ctx");
  auto &b = k.b();
  unsigned f = 0;
  for (unsigned i = 0; i < k.numIns(); ++i)
    b.CreateStore(k.in(i), b.CreateStructGEP(ctxTy, ctx, f++));
  for (unsigned i = 0; i < k.numOuts(); ++i)
    b.CreateStore(k.out(i), b.CreateStructGEP(ctxTy, ctx, f++));
  for (Value *e : extra)
    b.CreateStore(e, b.CreateStructGEP(ctxTy, ctx, f++));
  b.CreateStore(k.batch(), b.CreateStructGEP(ctxTy, ctx, f++));
  b.CreateCall(declareParallelFor(m), {par, ctx, n, grain});
}

/// ceil(minWork / max(cost, 1)): iterations of `cost` each that hold minWork.
static Value *grainFor(KernelCtx &k, int64_t minWork, Value *cost) {
  Value *c = k.b().CreateBinaryIntrinsic(llvm::Intrinsic::umax, cost, k.i64c(1));
  return k.b().CreateUDiv(k.add(k.i64c(minWork - 1), c), c, "grain");
}

Value *grainForFlops(KernelCtx &k, Value *flopsPerIteration) {
  return grainFor(k, kMinParallelFlops, flopsPerIteration);
}

Value *grainForElements(KernelCtx &k, Value *elementsPerIteration) {
  return grainFor(k, kMinParallelElements, elementsPerIteration);
}

Value *kernelValueInBody(KernelCtx &part, Value *v) {
  if (llvm::isa<llvm::Constant>(v))
    return v;
  auto *arg = llvm::cast<llvm::Argument>(v);
  return arg->getParent() == part.function() ? arg
                                              : part.function()->getArg(arg->getArgNo());
}

} // namespace gradc::codegen
