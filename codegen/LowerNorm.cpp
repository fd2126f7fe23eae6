//===- codegen/LowerNorm.cpp - batch_norm (eval) and dropout ----------------===//
//
// batch_norm (eval): per (sample, channel) the kernel computes
//   alpha = gamma / sqrt(running_var + eps), shift = beta - running_mean * alpha
// (as PyTorch's CPU inference kernel does) and then y = x * alpha + shift
// over the H*W pixels, a vectorizable loop.
//
// dropout_train: the mask is recomputed from (seed, step, element index)
// with the same 64-bit hash as the interpreter (ir/Vision.h): integer
// multiplies and shifts only, so the loop vectorizes and the mask is
// bitwise the interpreter's. dropout (eval) is a copy.
//
//===----------------------------------------------------------------------===//
#include "codegen/Lowering.h"
#include "codegen/ParallelFor.h"
#include "ir/Vision.h"

namespace gradc::codegen {

using llvm::Value;

llvm::Error lowerBatchNorm(KernelCtx &k, const ir::Node &n) {
  const Shape &s = k.inShape(0);
  int64_t channels = s[1], inner = s.size() == 4 ? s[2] * s[3] : 1;
  double eps = n.attrs().getFloat("eps", 1e-5);
  Value *planes = k.product({s[0], channels});
  emitParallelFor(k, planes, grainForElements(k, k.i64c(inner)), {},
                  [&](KernelCtx &p, llvm::ArrayRef<Value *>, Value *begin, Value *end) {
    llvm::IRBuilder<> &b = p.b();
    p.loop(b.CreateSub(end, begin), [&](Value *t) {
      Value *plane = p.add(begin, t);
      Value *c = b.CreateURem(plane, p.i64c(channels));
      Value *var = b.CreateFAdd(p.load(p.in(4), c), p.f32c(eps));
      Value *sd = b.CreateUnaryIntrinsic(llvm::Intrinsic::sqrt, var);
      Value *alpha = b.CreateFDiv(p.load(p.in(1), c), sd);
      Value *shift = b.CreateFSub(p.load(p.in(2), c), b.CreateFMul(p.load(p.in(3), c), alpha));
      Value *base = p.mul(plane, p.i64c(inner));
      p.loop(p.i64c(inner), [&](Value *e) {
        Value *at = p.add(base, e);
        p.store(b.CreateFAdd(b.CreateFMul(p.load(p.in(0), at), alpha), shift), p.out(), at);
      }, "e");
    }, "plane");
  });
  return llvm::Error::success();
}

llvm::Error lowerDropout(KernelCtx &k, const ir::Node &n) { return lowerReshape(k, n); }

llvm::Error lowerDropoutTrain(KernelCtx &k, const ir::Node &n) {
  double p = n.attrs().getFloat("p", 0.5);
  uint64_t seed = static_cast<uint64_t>(n.attrs().getInt("seed", 0));
  Value *count = k.numel(k.inShape(0));
  emitParallelFor(k, count, grainForElements(k, k.i64c(1)), {},
                  [&](KernelCtx &q, llvm::ArrayRef<Value *>, Value *begin, Value *end) {
    llvm::IRBuilder<> &b = q.b();
    Value *step = b.CreateFPToUI(q.load(q.in(1), q.i64c(0)), q.i64());
    Value *key0 = b.CreateAdd(q.i64c(int64_t(seed * 0x9E3779B97F4A7C15ull)),
                              b.CreateMul(step, q.i64c(int64_t(0xD1B54A32D192ED03ull))));
    Value *scale = q.f32c(ir::dropoutScale(p));
    q.loop(b.CreateSub(end, begin), [&](Value *t) {
      Value *e = q.add(begin, t);
      Value *z = b.CreateAdd(key0, e);
      z = b.CreateMul(b.CreateXor(z, b.CreateLShr(z, 30)), q.i64c(int64_t(0xBF58476D1CE4E5B9ull)));
      z = b.CreateMul(b.CreateXor(z, b.CreateLShr(z, 27)), q.i64c(int64_t(0x94D049BB133111EBull)));
      z = b.CreateXor(z, b.CreateLShr(z, 31));
      Value *keep = b.CreateICmpUGE(b.CreateLShr(z, 40),
                                    q.i64c(int64_t(ir::dropoutThreshold(p))));
      Value *y = b.CreateFMul(q.load(q.in(0), e), scale);
      q.store(b.CreateSelect(keep, y, q.f32c(0)), q.out(), e);
    }, "e");
  });
  return llvm::Error::success();
}

} // namespace gradc::codegen
