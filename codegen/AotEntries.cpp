//===- codegen/AotEntries.cpp - The C entry points of an AOT object -------===//
//
// Every entry point has the same shape: check the arguments (NULL pointers,
// alignment, batch and step ranges) and return a status code before touching
// memory; build the step's pointer table on the stack from the caller's
// buffers and AotLayout's offsets; copy inputs into the workspace (so the
// caller's arrays need only their natural alignment, and never alias what
// the kernels write); call the internal step; copy outputs out.
//
// Param initialization ports runtime/Rng (SplitMix64, counter-based) and
// runtime/Initializers to IR: param j of the param list draws from stream
// (seed, j); element i is float(a + b * x) in double, with a and b computed
// here by rt::initializerAffine, x the i-th uniform or Box-Muller normal.
// The operations and their order are the runtime's (no fast-math flags, the
// same libm log and cos), so the values are the runtime's bit for bit.
//
//===----------------------------------------------------------------------===//
#include "codegen/AotEntries.h"

#include "codegen/ParallelFor.h"
#include "runtime/Initializers.h"

#include "llvm/IR/Constants.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/Intrinsics.h"

#include <numbers>

namespace gradc::codegen {

using llvm::IRBuilder;
using llvm::Value;

namespace {

llvm::Error error(const llvm::Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), msg);
}

/// An exported function `name` of type `ret(params...)`, named arguments,
/// and a builder at its entry.
struct Entry {
  llvm::Function *fn;
  IRBuilder<> b;
  Entry(llvm::Module &m, const std::string &name, llvm::Type *ret,
        llvm::ArrayRef<llvm::Type *> params, llvm::ArrayRef<std::string> names)
      : fn(llvm::Function::Create(llvm::FunctionType::get(ret, params, false),
                                  llvm::Function::ExternalLinkage, name, m)),
        b(llvm::BasicBlock::Create(m.getContext(), "entry", fn)) {
    fn->addFnAttr(llvm::Attribute::NoUnwind);
    for (unsigned i = 0; i < names.size(); ++i)
      fn->getArg(i)->setName(names[i]);
  }
  /// Fills the existing, empty function `f`.
  explicit Entry(llvm::Function *f)
      : fn(f), b(llvm::BasicBlock::Create(f->getContext(), "entry", f)) {}
  Value *arg(unsigned i) { return fn->getArg(i); }

  /// if (cond) return;  (a void function)
  void failIfVoid(Value *cond) {
    llvm::LLVMContext &c = fn->getContext();
    auto *fail = llvm::BasicBlock::Create(c, "return", fn);
    auto *next = llvm::BasicBlock::Create(c, "ok", fn);
    b.CreateCondBr(cond, fail, next);
    b.SetInsertPoint(fail);
    b.CreateRetVoid();
    b.SetInsertPoint(next);
  }

  /// if (cond) return status;
  void failIf(Value *cond, int status) {
    llvm::LLVMContext &c = fn->getContext();
    auto *fail = llvm::BasicBlock::Create(c, "fail", fn);
    auto *next = llvm::BasicBlock::Create(c, "ok", fn);
    b.CreateCondBr(cond, fail, next);
    b.SetInsertPoint(fail);
    b.CreateRet(b.getInt32(status));
    b.SetInsertPoint(next);
  }
  Value *isNull(Value *p) { return b.CreateIsNull(p); }
  Value *misaligned(Value *p) {
    Value *low = b.CreateAnd(b.CreatePtrToInt(p, b.getInt64Ty()), kAotAlignment - 1);
    return b.CreateICmpNE(low, b.getInt64(0));
  }

  /// for (i = 0; i < n; ++i) body(i)
  void loop(Value *n, llvm::function_ref<void(Value *)> body) { loopFrom(b.getInt64(0), n, body); }

  /// for (i = first; i < n; ++i) body(i)
  void loopFrom(Value *first, Value *n, llvm::function_ref<void(Value *)> body) {
    llvm::LLVMContext &c = fn->getContext();
    llvm::BasicBlock *pre = b.GetInsertBlock();
    auto *head = llvm::BasicBlock::Create(c, "loop", fn);
    auto *exit = llvm::BasicBlock::Create(c, "loop.end", fn);
    b.CreateCondBr(b.CreateICmpSLT(first, n), head, exit);
    b.SetInsertPoint(head);
    llvm::PHINode *i = b.CreatePHI(b.getInt64Ty(), 2, "i");
    i->addIncoming(first, pre);
    body(i);
    Value *next = b.CreateAdd(i, b.getInt64(1), "", true, true);
    i->addIncoming(next, b.GetInsertBlock());
    b.CreateCondBr(b.CreateICmpSLT(next, n), head, exit);
    b.SetInsertPoint(exit);
  }
};

/// runtime/Rng.h's Rng::mix (SplitMix64's finalizer).
Value *mix(IRBuilder<> &b, Value *z) {
  z = b.CreateAdd(z, b.getInt64(0x9E3779B97F4A7C15ull));
  z = b.CreateMul(b.CreateXor(z, b.CreateLShr(z, 30)), b.getInt64(0xBF58476D1CE4E5B9ull));
  z = b.CreateMul(b.CreateXor(z, b.CreateLShr(z, 27)), b.getInt64(0x94D049BB133111EBull));
  return b.CreateXor(z, b.CreateLShr(z, 31));
}

/// Rng::uniform() of the `counter`-th number of the stream with `key`.
Value *uniform(IRBuilder<> &b, Value *key, Value *counter) {
  Value *bits = b.CreateLShr(mix(b, b.CreateAdd(key, mix(b, counter))), 11);
  return b.CreateFMul(b.CreateUIToFP(bits, b.getDoubleTy()),
                      llvm::ConstantFP::get(b.getDoubleTy(), 0x1.0p-53));
}

llvm::FunctionCallee libm(llvm::Module &m, const char *name) {
  llvm::Type *d = llvm::Type::getDoubleTy(m.getContext());
  llvm::FunctionCallee f = m.getOrInsertFunction(name, d, d);
  llvm::cast<llvm::Function>(f.getCallee())->addFnAttr(llvm::Attribute::NoUnwind);
  return f;
}

/// Rng::normal() drawing numbers 2i and 2i+1 of the stream.
Value *normal(IRBuilder<> &b, llvm::Module &m, Value *key, Value *i) {
  Value *two = b.CreateShl(i, 1);
  llvm::Type *d = b.getDoubleTy();
  Value *u1 = b.CreateFSub(llvm::ConstantFP::get(d, 1.0), uniform(b, key, two));
  Value *u2 = uniform(b, key, b.CreateOr(two, 1));
  Value *r = b.CreateUnaryIntrinsic(
      llvm::Intrinsic::sqrt,
      b.CreateFMul(llvm::ConstantFP::get(d, -2.0), b.CreateCall(libm(m, "log"), {u1})));
  Value *angle = b.CreateFMul(llvm::ConstantFP::get(d, 2.0 * std::numbers::pi), u2);
  return b.CreateFMul(r, b.CreateCall(libm(m, "cos"), {angle}));
}

/// Pointer to a step buffer placed by `s`.
Value *slotPointer(IRBuilder<> &b, const AotSlot &s, const AotLayout &l, Value *params,
                   Value *optState, Value *workspace, Value *batch) {
  switch (s.kind) {
  case AotSlot::Param:
    return b.CreateInBoundsGEP(b.getInt8Ty(), params, b.getInt64(l.params[s.tensor].offset));
  case AotSlot::OptState:
    return b.CreateInBoundsGEP(b.getInt8Ty(), optState, b.getInt64(l.optState[s.tensor].offset));
  case AotSlot::Workspace:
    break;
  }
  Value *off = b.CreateAdd(b.getInt64(s.fixed), b.CreateMul(b.getInt64(s.perSample), batch));
  return b.CreateInBoundsGEP(b.getInt8Ty(), workspace, off);
}

/// Bytes of an input or output array for `batch`.
Value *arrayBytes(IRBuilder<> &b, const AotArray &a, Value *batch) {
  Value *n = b.getInt64(sizeOf(a.dtype));
  for (int64_t d : a.shape)
    n = b.CreateMul(n, d == kBatch ? batch : b.getInt64(d));
  return n;
}

/// The value of a hyper input, as rt::hyperValue computes it, in double.
Value *hyperValue(IRBuilder<> &b, const rt::BufferDesc &d, Value *lr, Value *step) {
  llvm::Type *dt = b.getDoubleTy();
  auto c = [&](double v) { return llvm::ConstantFP::get(dt, v); };
  Value *t = b.CreateSIToFP(step, dt);
  auto pow = [&](double base) { return b.CreateBinaryIntrinsic(llvm::Intrinsic::pow, c(base), t); };
  switch (d.hyper) {
  case HyperKind::LearningRate:
    return lr;
  case HyperKind::AdamStepSize:
    return b.CreateFDiv(lr, b.CreateFSub(c(1), pow(d.optimizer.beta1)));
  case HyperKind::AdamBiasCorrection2Sqrt:
    return b.CreateUnaryIntrinsic(llvm::Intrinsic::sqrt,
                                  b.CreateFSub(c(1), pow(d.optimizer.beta2)));
  case HyperKind::AdamWDecay:
    return b.CreateFSub(c(1), b.CreateFMul(lr, c(d.optimizer.weightDecay)));
  case HyperKind::Step: // dropout's mask counter
    return t;
  }
  return lr;
}

/// Builds the pointer table of `e` on the stack, copies the inputs in, and
/// calls `step`. `inputs[k]` is the caller's pointer for e.inputs[k].
Value *runStep(Entry &x, const AotEntry &e, const AotLayout &l, llvm::Function *step, Value *params,
               Value *optState, Value *workspace, Value *batch, llvm::ArrayRef<Value *> inputs) {
  IRBuilder<> &b = x.b;
  llvm::Type *ptr = b.getPtrTy();
  auto *tableTy = llvm::ArrayType::get(ptr, e.slots.size());
  Value *table = b.CreateAlloca(tableTy, nullptr, "buffers");
  std::vector<Value *> ptrs;
  for (unsigned i = 0; i < e.slots.size(); ++i) {
    ptrs.push_back(slotPointer(b, e.slots[i], l, params, optState, workspace, batch));
    b.CreateStore(ptrs.back(), b.CreateConstInBoundsGEP2_64(tableTy, table, 0, i));
  }
  for (unsigned k = 0; k < e.inputs.size(); ++k)
    b.CreateMemCpy(ptrs[e.inputs[k].buffer], llvm::Align(kAotAlignment), inputs[k],
                   llvm::Align(sizeOf(e.inputs[k].dtype)), arrayBytes(b, e.inputs[k], batch));
  b.CreateCall(step, {table, batch});
  return table;
}

/// Pointer to buffer `i` of a table runStep built.
Value *tableEntry(IRBuilder<> &b, Value *table, size_t n, unsigned i) {
  auto *tableTy = llvm::ArrayType::get(b.getPtrTy(), n);
  return b.CreateLoad(b.getPtrTy(), b.CreateConstInBoundsGEP2_64(tableTy, table, 0, i));
}

void addInfer(llvm::Module &m, const AotLayout &l, const std::string &prefix,
              llvm::Function *step) {
  const AotEntry &e = *l.infer;
  llvm::LLVMContext &c = m.getContext();
  llvm::Type *ptr = llvm::PointerType::getUnqual(c);
  llvm::Type *i64 = llvm::Type::getInt64Ty(c);
  std::vector<llvm::Type *> types = {ptr, ptr, i64};
  std::vector<std::string> names = {"params", "workspace", "batch"};
  for (const auto *list : {&e.inputs, &e.outputs})
    for (const AotArray &a : *list) {
      types.push_back(ptr);
      names.push_back(a.cName);
    }
  Entry x(m, prefix + "_infer", llvm::Type::getInt32Ty(c), types, names);
  IRBuilder<> &b = x.b;
  Value *anyNull = b.CreateOr(x.isNull(x.arg(0)), x.isNull(x.arg(1)));
  for (unsigned i = 3; i < types.size(); ++i)
    anyNull = b.CreateOr(anyNull, x.isNull(x.arg(i)));
  x.failIf(anyNull, kAotNullPointer);
  x.failIf(b.CreateOr(x.misaligned(x.arg(0)), x.misaligned(x.arg(1))), kAotMisaligned);
  Value *batch = x.arg(2);
  x.failIf(b.CreateOr(b.CreateICmpSLT(batch, b.getInt64(1)),
                      b.CreateICmpSGT(batch, b.getInt64(e.maxBatch))),
           kAotBadBatch);
  std::vector<Value *> inputs;
  for (unsigned k = 0; k < e.inputs.size(); ++k)
    inputs.push_back(x.arg(3 + k));
  Value *table = runStep(x, e, l, step, x.arg(0), llvm::ConstantPointerNull::get(b.getPtrTy()),
                         x.arg(1), batch, inputs);
  for (unsigned k = 0; k < e.outputs.size(); ++k) {
    const AotArray &a = e.outputs[k];
    b.CreateMemCpy(x.arg(3 + e.inputs.size() + k), llvm::Align(sizeOf(a.dtype)),
                   tableEntry(b, table, e.slots.size(), a.buffer), llvm::Align(kAotAlignment),
                   arrayBytes(b, a, batch));
  }
  b.CreateRet(b.getInt32(kAotOk));
}

void addTrain(llvm::Module &m, const AotLayout &l, const std::string &prefix,
              llvm::Function *step) {
  const AotEntry &e = *l.train;
  llvm::LLVMContext &c = m.getContext();
  llvm::Type *ptr = llvm::PointerType::getUnqual(c);
  llvm::Type *i64 = llvm::Type::getInt64Ty(c);
  std::vector<llvm::Type *> types = {ptr, ptr, ptr, i64};
  std::vector<std::string> names = {"params", "opt_state", "workspace", "batch"};
  for (const AotArray &a : e.inputs) {
    types.push_back(ptr);
    names.push_back(a.cName);
  }
  const unsigned lrArg = types.size();
  types.insert(types.end(), {llvm::Type::getDoubleTy(c), i64, ptr});
  names.insert(names.end(), {"lr", "step", "loss"});
  Entry x(m, prefix + "_train_step", llvm::Type::getInt32Ty(c), types, names);
  IRBuilder<> &b = x.b;
  Value *params = x.arg(0), *optState = x.arg(1), *workspace = x.arg(2), *batch = x.arg(3);
  Value *anyNull = b.CreateOr(x.isNull(params), x.isNull(workspace));
  if (l.optStateBytes > 0)
    anyNull = b.CreateOr(anyNull, x.isNull(optState));
  for (unsigned k = 0; k < e.inputs.size(); ++k)
    anyNull = b.CreateOr(anyNull, x.isNull(x.arg(4 + k)));
  x.failIf(anyNull, kAotNullPointer);
  Value *bad = b.CreateOr(x.misaligned(params), x.misaligned(workspace));
  if (l.optStateBytes > 0)
    bad = b.CreateOr(bad, x.misaligned(optState));
  x.failIf(bad, kAotMisaligned);
  x.failIf(b.CreateOr(b.CreateICmpSLT(batch, b.getInt64(1)),
                      b.CreateICmpSGT(batch, b.getInt64(e.maxBatch))),
           kAotBadBatch);
  Value *lr = x.arg(lrArg), *stepNo = x.arg(lrArg + 1), *loss = x.arg(lrArg + 2);
  x.failIf(b.CreateICmpSLT(stepNo, b.getInt64(1)), kAotBadStep);

  // Hyper inputs are written before the step, like inputs.
  std::vector<Value *> inputs;
  for (unsigned k = 0; k < e.inputs.size(); ++k)
    inputs.push_back(x.arg(4 + k));
  for (unsigned i = 0; i < e.slots.size(); ++i) {
    const rt::BufferDesc &d = e.layout.buffers[i];
    if (d.role != rt::BufferRole::HyperInput)
      continue;
    Value *p = slotPointer(b, e.slots[i], l, params, optState, workspace, batch);
    b.CreateStore(b.CreateFPTrunc(hyperValue(b, d, lr, stepNo), b.getFloatTy()), p);
  }
  Value *table = runStep(x, e, l, step, params, optState, workspace, batch, inputs);
  if (e.lossBuffer >= 0) {
    auto *store = llvm::BasicBlock::Create(c, "store.loss", x.fn);
    auto *done = llvm::BasicBlock::Create(c, "done", x.fn);
    b.CreateCondBr(x.isNull(loss), done, store);
    b.SetInsertPoint(store);
    Value *v = b.CreateLoad(b.getFloatTy(), tableEntry(b, table, e.slots.size(), e.lossBuffer));
    b.CreateStore(v, loss);
    b.CreateBr(done);
    b.SetInsertPoint(done);
  }
  b.CreateRet(b.getInt32(kAotOk));
}

llvm::Error addInitParams(llvm::Module &m, const AotLayout &l, const std::string &prefix) {
  llvm::LLVMContext &c = m.getContext();
  llvm::Type *ptr = llvm::PointerType::getUnqual(c);
  llvm::Type *i64 = llvm::Type::getInt64Ty(c);
  Entry x(m, prefix + "_init_params", llvm::Type::getInt32Ty(c), {ptr, i64}, {"params", "seed"});
  IRBuilder<> &b = x.b;
  x.failIf(x.isNull(x.arg(0)), kAotNullPointer);
  x.failIf(x.misaligned(x.arg(0)), kAotMisaligned);
  for (unsigned j = 0; j < l.params.size(); ++j) {
    const AotTensor &t = l.params[j];
    auto affine = rt::initializerAffine(t.init, t.shape, t.dtype, "param '" + t.name + "'");
    if (!affine)
      return affine.takeError();
    auto [a, scale, draw] = *affine;
    Value *base = b.CreateInBoundsGEP(b.getInt8Ty(), x.arg(0), b.getInt64(t.offset));
    bool isInt = t.dtype == DType::I32;
    llvm::Type *elem = isInt ? b.getInt32Ty() : b.getFloatTy();
    // Rng(seed, stream): key = mix(seed ^ mix(stream + golden ratio)).
    Value *key = mix(b, b.CreateXor(x.arg(1), mix(b, b.getInt64(j + 0x9E3779B97F4A7C15ull))));
    x.loop(b.getInt64(t.numel), [&](Value *i) {
      Value *v;
      if (isInt) {
        v = b.getInt32(static_cast<int32_t>(a));
      } else if (draw == rt::InitDraw::None) {
        v = llvm::ConstantFP::get(b.getFloatTy(), static_cast<float>(a + scale * 0.0));
      } else {
        Value *d = draw == rt::InitDraw::Normal ? normal(b, m, key, i) : uniform(b, key, i);
        llvm::Type *dt = b.getDoubleTy();
        Value *sum = b.CreateFAdd(llvm::ConstantFP::get(dt, a),
                                  b.CreateFMul(llvm::ConstantFP::get(dt, scale), d));
        v = b.CreateFPTrunc(sum, b.getFloatTy());
      }
      b.CreateStore(v, b.CreateInBoundsGEP(elem, base, i));
    });
  }
  b.CreateRet(b.getInt32(kAotOk));
  return llvm::Error::success();
}

llvm::Error addEmbeddedParams(llvm::Module &m, const AotLayout &l, const std::string &prefix,
                              const rt::ParamStore &store) {
  std::vector<char> bytes(l.paramsBytes, 0);
  for (const AotTensor &t : l.params) {
    const rt::Tensor *v = store.find(t.name);
    if (!v)
      return error("no value for param '" + t.name + "' to embed");
    if (v->dtype() != t.dtype || v->shape() != t.shape)
      return error("param '" + t.name + "' holds " + dtypeName(v->dtype()) +
                   shapeToString(v->shape()) + " but the model declares " + dtypeName(t.dtype) +
                   shapeToString(t.shape));
    std::memcpy(bytes.data() + t.offset, v->data(), v->bytes());
  }
  llvm::LLVMContext &c = m.getContext();
  auto *data = llvm::ConstantDataArray::get(
      c, llvm::ArrayRef<uint8_t>(reinterpret_cast<uint8_t *>(bytes.data()), bytes.size()));
  auto *g =
      new llvm::GlobalVariable(m, data->getType(), /*isConstant=*/true,
                               llvm::GlobalValue::InternalLinkage, data, prefix + "_params_data");
  g->setAlignment(llvm::Align(kAotAlignment));
  g->setUnnamedAddr(llvm::GlobalValue::UnnamedAddr::Global);
  Entry x(m, prefix + "_embedded_params", llvm::PointerType::getUnqual(c), {}, {});
  x.b.CreateRet(g);
  return llvm::Error::success();
}

} // namespace

namespace {

/// The pthread version of gradc_parallel_for's body (see the header).
void emitThreadedParallelFor(llvm::Function *f, unsigned threads) {
  llvm::Module &m = *f->getParent();
  llvm::LLVMContext &c = m.getContext();
  llvm::Type *ptr = llvm::PointerType::getUnqual(c);
  llvm::Type *i64 = llvm::Type::getInt64Ty(c);
  llvm::Type *i32 = llvm::Type::getInt32Ty(c);
  auto *bodyTy = llvm::FunctionType::get(llvm::Type::getVoidTy(c), {ptr, i64, i64}, false);
  // A chunk: { body, ctx, begin, end }, what a thread runs.
  auto *chunkTy = llvm::StructType::get(c, {ptr, ptr, i64, i64});

  // void *gradc_aot_chunk(void *chunk): the thread's start routine.
  auto *start = llvm::Function::Create(llvm::FunctionType::get(ptr, {ptr}, false),
                                       llvm::Function::InternalLinkage, "gradc_aot_chunk", m);
  start->addFnAttr(llvm::Attribute::NoUnwind);
  {
    IRBuilder<> b(llvm::BasicBlock::Create(c, "entry", start));
    Value *a = start->getArg(0);
    Value *fields[4];
    for (unsigned i = 0; i < 4; ++i)
      fields[i] = b.CreateLoad(chunkTy->getElementType(i), b.CreateStructGEP(chunkTy, a, i));
    b.CreateCall(bodyTy, fields[0], {fields[1], fields[2], fields[3]});
    b.CreateRet(llvm::ConstantPointerNull::get(llvm::PointerType::getUnqual(c)));
  }
  // int pthread_create(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
  // int pthread_join(pthread_t, void **);   pthread_t is an unsigned long on Linux.
  llvm::FunctionCallee create = m.getOrInsertFunction("pthread_create", i32, ptr, ptr, ptr, ptr);
  llvm::FunctionCallee join = m.getOrInsertFunction("pthread_join", i32, i64, ptr);

  Entry x{f};
  IRBuilder<> &b = x.b;
  Value *body = f->getArg(0), *ctx = f->getArg(1), *n = f->getArg(2), *grain = f->getArg(3);
  auto *chunksTy = llvm::ArrayType::get(chunkTy, threads);
  auto *idsTy = llvm::ArrayType::get(i64, threads);
  Value *chunks = b.CreateAlloca(chunksTy, nullptr, "chunks");
  Value *ids = b.CreateAlloca(idsTy, nullptr, "threads");
  Value *started = b.CreateAlloca(llvm::ArrayType::get(b.getInt8Ty(), threads), nullptr, "started");
  // parts = clamp(n / max(grain, 1), 1, threads); size = ceil(n / parts).
  Value *g = b.CreateBinaryIntrinsic(llvm::Intrinsic::smax, grain, b.getInt64(1));
  Value *parts =
      b.CreateBinaryIntrinsic(llvm::Intrinsic::smin, b.CreateSDiv(n, g), b.getInt64(threads));
  parts = b.CreateBinaryIntrinsic(llvm::Intrinsic::smax, parts, b.getInt64(1));
  Value *size = b.CreateSDiv(b.CreateAdd(n, b.CreateSub(parts, b.getInt64(1))), parts);
  x.failIfVoid(b.CreateICmpSLE(n, b.getInt64(0)));
  auto range = [&](Value *t) {
    Value *begin = b.CreateBinaryIntrinsic(llvm::Intrinsic::smin, b.CreateMul(t, size), n);
    Value *end = b.CreateBinaryIntrinsic(llvm::Intrinsic::smin, b.CreateAdd(begin, size), n);
    return std::make_pair(begin, end);
  };
  // Chunks 1..parts-1 on new threads.
  x.loopFrom(b.getInt64(1), parts, [&](Value *t) {
    auto [begin, end] = range(t);
    Value *chunk = b.CreateInBoundsGEP(chunksTy, chunks, {b.getInt64(0), t});
    Value *values[4] = {body, ctx, begin, end};
    for (unsigned i = 0; i < 4; ++i)
      b.CreateStore(values[i], b.CreateStructGEP(chunkTy, chunk, i));
    Value *id = b.CreateInBoundsGEP(idsTy, ids, {b.getInt64(0), t});
    Value *rc =
        b.CreateCall(create, {id, llvm::ConstantPointerNull::get(llvm::PointerType::getUnqual(c)),
                              start, chunk});
    Value *ok = b.CreateICmpEQ(rc, b.getInt32(0));
    b.CreateStore(b.CreateZExt(ok, b.getInt8Ty()), b.CreateInBoundsGEP(b.getInt8Ty(), started, t));
    // No thread: run the chunk here.
    auto *inl = llvm::BasicBlock::Create(c, "inline", f);
    auto *next = llvm::BasicBlock::Create(c, "next", f);
    b.CreateCondBr(ok, next, inl);
    b.SetInsertPoint(inl);
    b.CreateCall(bodyTy, body, {ctx, begin, end});
    b.CreateBr(next);
    b.SetInsertPoint(next);
  });
  auto [begin0, end0] = range(b.getInt64(0));
  b.CreateCall(bodyTy, body, {ctx, begin0, end0});
  x.loopFrom(b.getInt64(1), parts, [&](Value *t) {
    Value *was = b.CreateLoad(b.getInt8Ty(), b.CreateInBoundsGEP(b.getInt8Ty(), started, t));
    auto *doJoin = llvm::BasicBlock::Create(c, "join", f);
    auto *next = llvm::BasicBlock::Create(c, "joined", f);
    b.CreateCondBr(b.CreateICmpNE(was, b.getInt8(0)), doJoin, next);
    b.SetInsertPoint(doJoin);
    Value *id = b.CreateLoad(i64, b.CreateInBoundsGEP(idsTy, ids, {b.getInt64(0), t}));
    b.CreateCall(join, {id, llvm::ConstantPointerNull::get(llvm::PointerType::getUnqual(c))});
    b.CreateBr(next);
    b.SetInsertPoint(next);
  });
  b.CreateRetVoid();
}

} // namespace

void defineParallelFor(llvm::Module &m, unsigned threads) {
  llvm::Function *f = m.getFunction(kParallelForName);
  if (!f || !f->isDeclaration())
    return; // no kernel splits a loop
  f->setLinkage(llvm::GlobalValue::InternalLinkage);
  if (threads > 1) {
    emitThreadedParallelFor(f, threads);
    return;
  }
  llvm::LLVMContext &c = m.getContext();
  IRBuilder<> b(llvm::BasicBlock::Create(c, "entry", f));
  auto *run = llvm::BasicBlock::Create(c, "run", f);
  auto *done = llvm::BasicBlock::Create(c, "done", f);
  Value *n = f->getArg(2);
  b.CreateCondBr(b.CreateICmpSGT(n, b.getInt64(0)), run, done);
  b.SetInsertPoint(run);
  llvm::Type *ptr = b.getPtrTy();
  auto *bodyTy =
      llvm::FunctionType::get(b.getVoidTy(), {ptr, b.getInt64Ty(), b.getInt64Ty()}, false);
  b.CreateCall(bodyTy, f->getArg(0), {f->getArg(1), b.getInt64(0), n});
  b.CreateBr(done);
  b.SetInsertPoint(done);
  b.CreateRetVoid();
}

llvm::Error addAotEntries(llvm::Module &m, const AotLayout &l, const std::string &prefix,
                          llvm::Function *inferStep, llvm::Function *trainStep,
                          const rt::ParamStore *embedded) {
  llvm::LLVMContext &c = m.getContext();
  Entry version(m, prefix + "_abi_version", llvm::Type::getInt32Ty(c), {}, {});
  version.b.CreateRet(version.b.getInt32(kAotAbiVersion));
  if (auto e = addInitParams(m, l, prefix))
    return e;
  if (inferStep)
    addInfer(m, l, prefix, inferStep);
  if (trainStep) {
    const AotEntry &e = *l.train;
    if (e.lossBuffer >= 0) {
      const rt::BufferDesc &d = e.layout.buffers[e.lossBuffer];
      if (d.dtype != DType::F32 || !d.shape.empty())
        return error("the loss '" + d.name + "' is " + dtypeName(d.dtype) + shapeToString(d.shape) +
                     "; gradc compile needs an f32 scalar loss");
    }
    addTrain(m, l, prefix, trainStep);
  }
  if (embedded)
    if (auto e = addEmbeddedParams(m, l, prefix, *embedded))
      return e;
  return llvm::Error::success();
}

} // namespace gradc::codegen
