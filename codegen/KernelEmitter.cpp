//===- codegen/KernelEmitter.cpp - Loop nests and indexing over IRBuilder -===//
//
// Loops are emitted top-tested (header: induction phi + exit test, then the
// body, then a latch that increments by one with nuw/nsw) so that a zero trip
// count needs no special case; loop rotation turns them into the canonical
// bottom-tested form the vectorizer and unroller work on. The exit block is
// created after the body so that the printed IR reads in program order.
//
//===----------------------------------------------------------------------===//
#include "codegen/KernelEmitter.h"

#include "llvm/IR/Intrinsics.h"
#include "llvm/IR/Module.h"

namespace gradc::codegen {

using llvm::Value;

KernelCtx::KernelCtx(llvm::Function *fn, const ir::Node &node, const TargetInfo &target)
    : KernelCtx(fn, node, target, node.inputs().size(), node.results().size()) {}

KernelCtx::KernelCtx(llvm::Function *fn, const ir::Node &node, const TargetInfo &target,
                     unsigned numIns, unsigned numOuts, unsigned numTrailing)
    : fn_(fn), node_(node), target_(target), b_(fn->getContext()), numIns_(numIns),
      numOuts_(numOuts) {
  llvm::FastMathFlags fmf;
  fmf.setAllowContract(true);
  b_.setFastMathFlags(fmf);
  bind(fn, numTrailing);
}

void KernelCtx::bind(llvm::Function *fn, unsigned numTrailing) {
  const size_t nin = numIns_, nout = numOuts_;
  assert(fn->arg_size() == nin + nout + 1 + numTrailing &&
         "kernel signature does not match the node");
  fn_ = fn;
  b_.SetInsertPoint(llvm::BasicBlock::Create(fn->getContext(), "entry", fn));
  ins_.clear();
  outs_.clear();
  trailing_.clear();
  for (llvm::Argument &a : fn->args()) {
    unsigned i = a.getArgNo();
    if (i < nin)
      ins_.push_back(&a);
    else if (i < nin + nout)
      outs_.push_back(&a);
    else if (i == nin + nout)
      batch_ = &a;
    else
      trailing_.push_back(&a);
  }
  applySharing();
}

void KernelCtx::shareArgs(llvm::ArrayRef<unsigned> canon) {
  assert(canon.size() == numIns_ + numOuts_ && "one entry per pointer argument");
  canon_.assign(canon.begin(), canon.end());
  applySharing();
}

void KernelCtx::applySharing() {
  if (canon_.empty())
    return;
  auto arg = [&](unsigned a) -> llvm::Value * { return a < numIns_ ? ins_[a] : outs_[a - numIns_]; };
  for (unsigned a = 0; a < canon_.size(); ++a) {
    assert(canon_[a] <= a && "the canonical argument comes first");
    llvm::Value *to = arg(canon_[a]);
    (a < numIns_ ? ins_[a] : outs_[a - numIns_]) = to;
  }
}

KernelCtx::EmitState KernelCtx::retarget(llvm::Function *fn, unsigned numTrailing) {
  EmitState old{fn_, ins_, outs_, batch_, trailing_, b_.saveIP()};
  bind(fn, numTrailing);
  return old;
}

void KernelCtx::restore(EmitState s) {
  fn_ = s.fn;
  ins_ = std::move(s.ins);
  outs_ = std::move(s.outs);
  batch_ = s.batch;
  trailing_ = std::move(s.trailing);
  b_.restoreIP(s.ip);
}

Value *KernelCtx::f32c(double v) {
  return llvm::ConstantFP::get(f32(), v);
}

Value *KernelCtx::dim(int64_t d) {
  assert((d >= 0 || d == kBatch) && "bad dimension");
  return d == kBatch ? batch_ : i64c(d);
}

Value *KernelCtx::product(llvm::ArrayRef<int64_t> dims) {
  int64_t fixed = 1;
  Value *dyn = nullptr;
  for (int64_t d : dims) {
    if (d == kBatch)
      dyn = dyn ? mul(dyn, batch_) : batch_;
    else
      fixed *= d;
  }
  if (!dyn)
    return i64c(fixed);
  return fixed == 1 ? dyn : mul(dyn, i64c(fixed));
}

Value *KernelCtx::product(llvm::ArrayRef<Value *> sizes) {
  Value *p = i64c(1);
  for (Value *s : sizes)
    p = mul(p, s);
  return p;
}

Value *KernelCtx::mul(Value *a, Value *b) {
  return b_.CreateMul(a, b, "", /*HasNUW=*/true, /*HasNSW=*/true);
}

Value *KernelCtx::add(Value *a, Value *b) {
  return b_.CreateAdd(a, b, "", /*HasNUW=*/true, /*HasNSW=*/true);
}

Value *KernelCtx::elemPtr(Value *base, Value *idx, llvm::Type *elt) {
  return b_.CreateInBoundsGEP(elt ? elt : f32(), base, idx);
}

Value *KernelCtx::load(Value *base, Value *idx, llvm::Type *elt) {
  llvm::Type *t = elt ? elt : f32();
  return b_.CreateAlignedLoad(t, elemPtr(base, idx, t), llvm::Align(4));
}

void KernelCtx::store(Value *v, Value *base, Value *idx) {
  b_.CreateAlignedStore(v, elemPtr(base, idx, v->getType()), llvm::Align(4));
}

Value *KernelCtx::accumulate(Value *acc, Value *x) {
  llvm::IRBuilder<>::FastMathFlagGuard guard(b_);
  llvm::FastMathFlags fmf = b_.getFastMathFlags();
  fmf.setAllowReassoc(true);
  b_.setFastMathFlags(fmf);
  return b_.CreateFAdd(acc, x);
}

Value *KernelCtx::maxAccumulate(Value *acc, Value *x) {
  llvm::IRBuilder<>::FastMathFlagGuard guard(b_);
  llvm::FastMathFlags fmf = b_.getFastMathFlags();
  fmf.setAllowReassoc(true);
  b_.setFastMathFlags(fmf);
  return b_.CreateMaxNum(acc, x);
}

void KernelCtx::loop(Value *n, llvm::function_ref<void(Value *)> body,
                     const llvm::Twine &name) {
  loopCarried(
      n, {},
      [&](Value *i, llvm::ArrayRef<Value *>) {
        body(i);
        return LoopValues{};
      },
      name);
}

LoopValues KernelCtx::loopCarried(
    Value *n, llvm::ArrayRef<Value *> init,
    llvm::function_ref<LoopValues(Value *, llvm::ArrayRef<Value *>)> body,
    const llvm::Twine &name) {
  llvm::LLVMContext &c = ctx();
  std::string base = name.str();
  llvm::BasicBlock *pre = b_.GetInsertBlock();
  auto *header = llvm::BasicBlock::Create(c, base + ".header", fn_);
  auto *bodyBB = llvm::BasicBlock::Create(c, base + ".body", fn_);
  auto *exit = llvm::BasicBlock::Create(c, base + ".exit");
  b_.CreateBr(header);

  b_.SetInsertPoint(header);
  llvm::PHINode *iv = b_.CreatePHI(i64(), 2, base);
  iv->addIncoming(i64c(0), pre);
  llvm::SmallVector<llvm::PHINode *, 4> carried;
  for (Value *v : init) {
    llvm::PHINode *p = b_.CreatePHI(v->getType(), 2, base + ".acc");
    p->addIncoming(v, pre);
    carried.push_back(p);
  }
  b_.CreateCondBr(b_.CreateICmpSLT(iv, n), bodyBB, exit);

  b_.SetInsertPoint(bodyBB);
  LoopValues cur(carried.begin(), carried.end());
  LoopValues next = body(iv, cur);
  assert(next.size() == carried.size() && "loop body returned the wrong values");
  Value *ivNext = add(iv, i64c(1));
  llvm::BasicBlock *latch = b_.GetInsertBlock();
  lastLatch_ = b_.CreateBr(header);
  auto *constN = llvm::dyn_cast<llvm::ConstantInt>(n);
  if (!runtimeUnroll_)
    setLoopHint(lastLatch_, constN && constN->getSExtValue() >= kRolledTripCount
                                ? "llvm.loop.unroll.disable"
                                : "llvm.loop.unroll.runtime.disable");
  iv->addIncoming(ivNext, latch);
  for (size_t k = 0; k < carried.size(); ++k)
    carried[k]->addIncoming(next[k], latch);

  exit->insertInto(fn_);
  b_.SetInsertPoint(exit);
  return LoopValues(carried.begin(), carried.end());
}

void KernelCtx::setLoopHint(llvm::BranchInst *latch, llvm::StringRef hint) {
  llvm::LLVMContext &c = ctx();
  llvm::Metadata *h = llvm::MDNode::get(c, llvm::MDString::get(c, hint));
  llvm::MDNode *self = llvm::MDNode::getDistinct(c, {nullptr, h});
  self->replaceOperandWith(0, self);
  latch->setMetadata(llvm::LLVMContext::MD_loop, self);
}

void KernelCtx::keepLastLoopRolled() {
  assert(lastLatch_ && "no loop emitted yet");
  setLoopHint(lastLatch_, "llvm.loop.unroll.disable");
}

void KernelCtx::ifThen(Value *cond, llvm::function_ref<void()> then) {
  llvm::Function *fn = b_.GetInsertBlock()->getParent();
  auto *thenBB = llvm::BasicBlock::Create(ctx(), "then", fn);
  auto *done = llvm::BasicBlock::Create(ctx(), "endif", fn);
  b_.CreateCondBr(cond, thenBB, done);
  b_.SetInsertPoint(thenBB);
  then();
  b_.CreateBr(done);
  b_.SetInsertPoint(done);
}

Value *KernelCtx::ifThenValue(Value *cond, llvm::function_ref<Value *()> then,
                              Value *otherwise, const llvm::Twine &name) {
  std::string base = name.str();
  llvm::BasicBlock *from = b_.GetInsertBlock();
  auto *thenBB = llvm::BasicBlock::Create(ctx(), base + ".then", fn_);
  auto *done = llvm::BasicBlock::Create(ctx(), base + ".end");
  b_.CreateCondBr(cond, thenBB, done);
  b_.SetInsertPoint(thenBB);
  Value *v = then();
  llvm::BasicBlock *thenEnd = b_.GetInsertBlock();
  b_.CreateBr(done);
  done->insertInto(fn_);
  b_.SetInsertPoint(done);
  llvm::PHINode *phi = b_.CreatePHI(otherwise->getType(), 2, base);
  phi->addIncoming(v, thenEnd);
  phi->addIncoming(otherwise, from);
  return phi;
}

Value *KernelCtx::tileRows(Value *n0) {
  return b_.CreateUDiv(add(n0, i64c(kTransposeTile - 1)), i64c(kTransposeTile));
}

void KernelCtx::tiledNest2(Value *n0, Value *n1,
                           llvm::function_ref<void(Value *, Value *)> body,
                           std::pair<Value *, Value *> rowTiles) {
  Value *t = i64c(kTransposeTile);
  auto extent = [&](Value *n, Value *start) { // min(tile, n - start)
    Value *left = b_.CreateSub(n, start);
    return b_.CreateSelect(b_.CreateICmpULT(left, t), left, t);
  };
  Value *first = rowTiles.first ? rowTiles.first : i64c(0);
  Value *count = rowTiles.first ? b_.CreateSub(rowTiles.second, rowTiles.first) : tileRows(n0);
  loop(count, [&](Value *r) {
    Value *s0 = mul(add(first, r), t);
    Value *e0 = extent(n0, s0);
    loop(tileRows(n1), [&](Value *t1) {
      Value *s1 = mul(t1, t);
      Value *e1 = extent(n1, s1);
      loop(e0, [&](Value *i) {
        Value *ii = add(s0, i);
        loop(e1, [&](Value *j) { body(ii, add(s1, j)); }, "tj");
      }, "ti");
      keepLastLoopRolled();
    }, "t1");
    keepLastLoopRolled();
  }, "t0");
  keepLastLoopRolled();
}

/// Alignment of mallocScratch's buffers.
static constexpr int64_t kScratchAlign = 64;

Value *KernelCtx::mallocScratch(Value *numel) {
  llvm::Module &m = module();
  llvm::FunctionCallee mallocFn =
      m.getOrInsertFunction("malloc", b_.getPtrTy(), i64());
  // Aligned to a cache line (64 bytes): malloc's 16-byte alignment (large
  // blocks are mmap'ed pages + 16) made every 64-byte vector load of a
  // packed GEMM operand span two cache lines, which measured a conv's GEMM
  // at 67 us instead of 42 us. malloc gives 64 bytes more; the block starts
  // at the next multiple of 64 past malloc's pointer (at least 16 bytes
  // past it: malloc's pointers are 16-byte aligned), and the 8 bytes before
  // it keep malloc's pointer for freeScratch. (Only malloc and free: the
  // AOT objects' undefined symbols stay libc's, docs/AOT.md.)
  Value *bytes = add(mul(numel, i64c(4)), i64c(kScratchAlign));
  Value *raw = b_.CreateCall(mallocFn, {bytes}, "scratch.raw");
  Value *addr = b_.CreatePtrToInt(raw, i64());
  Value *offset = b_.CreateSub(i64c(kScratchAlign), b_.CreateAnd(addr, i64c(kScratchAlign - 1)));
  Value *p = b_.CreateGEP(b_.getInt8Ty(), raw, offset, "scratch");
  b_.CreateAlignedStore(raw, b_.CreateGEP(b_.getInt8Ty(), p, i64c(-8)), llvm::Align(8));
  return p;
}

void KernelCtx::freeScratch(Value *p) {
  llvm::FunctionCallee freeFn =
      module().getOrInsertFunction("free", b_.getVoidTy(), b_.getPtrTy());
  Value *raw = b_.CreateAlignedLoad(b_.getPtrTy(), b_.CreateGEP(b_.getInt8Ty(), p, i64c(-8)),
                                    llvm::Align(8));
  b_.CreateCall(freeFn, {raw});
}

} // namespace gradc::codegen
