//===- codegen/LowerLoss.cpp - Losses and their gradients ------------------===//
//
// softmax_cross_entropy(logits[..., C], labels i32[...]): P = the number of
// label positions (numel of the labels, known at run time). Per position p,
// with row x = logits[p, :]:
//   lse = m + log(sum exp(x - m)),  m = max x;   loss_p = lse - x[label_p]
// and the result is (sum_p loss_p) / P.
// softmax_cross_entropy_grad(logits, labels, dloss[]):
//   out[p, c] = dloss / P * (softmax(x)[c] - (c == label_p))
// mse(a, b) = sum (a - b)^2 / numel(a);   mse_grad = dloss * 2 (a - b) / numel(a).
//
// Labels are validated by the runtime before a step. The generated code does
// not trust them anyway and never reads out of bounds: a label outside
// [0, C) makes its position contribute nothing -- loss_p = 0, and its
// gradient row is 0 -- while P still counts it (so the result is the mean
// over all positions, as if that position had zero loss).
//
// The scalar losses accumulate in f64: they are what the user watches, and
// the extra cost is a conversion per element on a small tensor. The
// per-row sums inside (exp sums) are f32, reassociated.
//
// Threads split the rows of softmax_cross_entropy (each row's loss_p goes
// to a scratch vector, which one thread then sums in order) and of its
// gradient; a row is computed the same way on any thread.
//
//===----------------------------------------------------------------------===//
#include "codegen/KernelEmitter.h"
#include "codegen/Lowering.h"
#include "codegen/ParallelFor.h"
#include "codegen/VecMath.h"

#include <limits>

namespace gradc::codegen {

using llvm::Value;

namespace {

/// Walks the P rows of C classes of a cross-entropy operand.
struct Rows {
  Value *count; // P
  Value *classes; // C
};

Rows rowsOf(KernelCtx &k) {
  const Shape &logits = k.inShape(0);
  return {k.numel(k.inShape(1)), k.dim(logits.back())};
}

/// label_p as i64 and whether it is a valid class index.
std::pair<Value *, Value *> labelAt(KernelCtx &k, Value *p, Value *classes) {
  auto &b = k.b();
  Value *label = b.CreateSExt(k.load(k.in(1), p, k.i32()), k.i64());
  // Unsigned compare: negative labels are out of range too.
  return {label, b.CreateICmpULT(label, classes)};
}

Value *rowMax(KernelCtx &k, Value *x, Value *base, Value *len) {
  Value *minusInf = k.f32c(-std::numeric_limits<double>::infinity());
  return k.loopCarried(len, {minusInf}, [&](Value *c, llvm::ArrayRef<Value *> acc) {
    return LoopValues{k.maxAccumulate(acc[0], k.load(x, k.add(base, c)))};
  }, "max")[0];
}

/// Grain for rows of C classes: a few passes and an exp per element.
Value *rowGrain(KernelCtx &k, Value *classes) {
  return grainForFlops(k, k.mul(classes, k.i64c(8)));
}

} // namespace

llvm::Error lowerSoftmaxCrossEntropy(KernelCtx &k, const ir::Node &n) {
  auto &b = k.b();
  Rows r = rowsOf(k);
  // Rows in parallel, each loss_p into a scratch vector; then one thread
  // sums the vector in order (the same sum for any thread count).
  Value *losses = k.mallocScratch(r.count);
  emitParallelFor(k, r.count, rowGrain(k, r.classes), {losses},
                  [&](KernelCtx &q, llvm::ArrayRef<Value *> extra, Value *begin, Value *end) {
    auto &qb = q.b();
    Value *x = q.in(0), *classes = rowsOf(q).classes;
    q.loop(qb.CreateSub(end, begin), [&](Value *t) {
      Value *p = q.add(begin, t);
      Value *base = q.mul(p, classes);
      Value *m = rowMax(q, x, base, classes);
      Value *s = q.loopCarried(classes, {q.f32c(0.0)},
                               [&](Value *c, llvm::ArrayRef<Value *> sacc) {
        Value *e = emitExp(q, qb.CreateFSub(q.load(x, q.add(base, c)), m));
        return LoopValues{q.accumulate(sacc[0], e)};
      }, "sum")[0];
      Value *lse = qb.CreateFAdd(m, emitLog(q, s));
      auto [label, valid] = labelAt(q, p, classes);
      Value *lossP = q.ifThenValue(valid, [&] {
        return qb.CreateFSub(lse, q.load(x, q.add(base, label)));
      }, q.f32c(0.0), "label");
      q.store(lossP, extra[0], p);
    }, "p");
  });
  Value *total = k.loopCarried(r.count, {llvm::ConstantFP::get(b.getDoubleTy(), 0.0)},
                               [&](Value *p, llvm::ArrayRef<Value *> acc) {
    return LoopValues{k.accumulate(acc[0], b.CreateFPExt(k.load(losses, p), b.getDoubleTy()))};
  }, "total")[0];
  k.freeScratch(losses);
  Value *mean = b.CreateFDiv(total, b.CreateSIToFP(r.count, b.getDoubleTy()));
  k.store(b.CreateFPTrunc(mean, k.f32()), k.out(), k.i64c(0));
  return llvm::Error::success();
}

llvm::Error lowerSoftmaxCrossEntropyGrad(KernelCtx &k, const ir::Node &n) {
  Rows r = rowsOf(k);
  emitParallelFor(k, r.count, rowGrain(k, r.classes), {},
                  [&](KernelCtx &q, llvm::ArrayRef<Value *>, Value *begin, Value *end) {
    auto &b = q.b();
    Value *x = q.in(0), *out = q.out();
    Rows rq = rowsOf(q);
    Value *dloss = q.load(q.in(2), q.i64c(0));
    Value *scale = b.CreateFDiv(dloss, b.CreateSIToFP(rq.count, q.f32()));
    q.loop(b.CreateSub(end, begin), [&](Value *t) {
      Value *p = q.add(begin, t);
      Value *base = q.mul(p, rq.classes);
      Value *m = rowMax(q, x, base, rq.classes);
      Value *s = q.loopCarried(rq.classes, {q.f32c(0.0)},
                               [&](Value *c, llvm::ArrayRef<Value *> acc) {
        Value *e = emitExp(q, b.CreateFSub(q.load(x, q.add(base, c)), m));
        q.store(e, out, q.add(base, c));
        return LoopValues{q.accumulate(acc[0], e)};
      }, "sum")[0];
      auto [label, valid] = labelAt(q, p, rq.classes);
      Value *rowScale = b.CreateSelect(valid, scale, q.f32c(0.0));
      q.loop(rq.classes, [&](Value *c) {
        Value *soft = b.CreateFDiv(q.load(out, q.add(base, c)), s);
        Value *hot = b.CreateSelect(b.CreateICmpEQ(c, label), q.f32c(1.0), q.f32c(0.0));
        q.store(b.CreateFMul(b.CreateFSub(soft, hot), rowScale), out, q.add(base, c));
      }, "c");
    }, "p");
  });
  return llvm::Error::success();
}

llvm::Error lowerMse(KernelCtx &k, const ir::Node &n) {
  auto &b = k.b();
  Value *count = k.numel(k.inShape(0));
  llvm::Type *f64 = b.getDoubleTy();
  Value *total = k.loopCarried(count, {llvm::ConstantFP::get(f64, 0.0)},
                               [&](Value *i, llvm::ArrayRef<Value *> acc) {
    Value *d = b.CreateFPExt(b.CreateFSub(k.load(k.in(0), i), k.load(k.in(1), i)), f64);
    return LoopValues{k.accumulate(acc[0], b.CreateFMul(d, d))};
  })[0];
  Value *mean = b.CreateFDiv(total, b.CreateSIToFP(count, f64));
  k.store(b.CreateFPTrunc(mean, k.f32()), k.out(), k.i64c(0));
  return llvm::Error::success();
}

llvm::Error lowerMseGrad(KernelCtx &k, const ir::Node &n) {
  auto &b = k.b();
  Value *count = k.numel(k.inShape(0));
  Value *dloss = k.load(k.in(2), k.i64c(0));
  Value *scale = b.CreateFDiv(b.CreateFMul(k.f32c(2.0), dloss),
                              b.CreateSIToFP(count, k.f32()));
  k.loop(count, [&](Value *i) {
    Value *d = b.CreateFSub(k.load(k.in(0), i), k.load(k.in(1), i));
    k.store(b.CreateFMul(d, scale), k.out(), i);
  });
  return llvm::Error::success();
}

} // namespace gradc::codegen
