//===- codegen/LowerSoftmax.cpp - softmax, log_softmax and their gradients ===//
//
// Algorithm: view the input as [outer, L, inner] around the normalized axis
// (L = the axis length, inner = the product of the dimensions after it). For
// every (outer, inner) pair, a few passes along the axis, with stride
// `inner` (1 for the last axis, the common case, where the passes are
// contiguous and vectorize):
//   softmax:          m = max x;  out = exp(x - m), s = sum out;  out /= s
//   log_softmax:      m = max x;  s = sum exp(x - m);  out = (x - m) - log s
//   softmax_grad:     d = sum dy*y;  out = y * (dy - d)
//   log_softmax_grad: s = sum dy;    out = dy - exp(y) * s
// Subtracting the max keeps exp from overflowing. Sums are f32, reassociated.
// The outer rows are split across the thread pool (a row's result does not
// depend on which thread computes it).
//
//===----------------------------------------------------------------------===//
#include "codegen/KernelEmitter.h"
#include "codegen/Lowering.h"
#include "codegen/ParallelFor.h"
#include "codegen/VecMath.h"

#include "ir/ShapeRules.h"

#include <array>
#include <limits>

namespace gradc::codegen {

using llvm::Value;

namespace {

/// Calls body(at) for every (outer, inner) pair, where at(a) is the flat
/// index of axis element a of that row.
using AxisIndex = std::function<Value *(Value *)>;

llvm::Error forEachRow(KernelCtx &k, const ir::Node &n,
                       llvm::function_ref<void(Value *len, const AxisIndex &at)> body) {
  const Shape &s = k.inShape(0);
  auto axis = ir::normalizeAxis(n.attrs().getInt("axis", -1), static_cast<int64_t>(s.size()));
  if (!axis)
    return axis.takeError();
  // The outer rows split across the thread pool: each row is computed by
  // the same instructions on any thread, so results do not depend on the
  // thread count. Sizes are materialized in the function that uses them.
  auto sizes = [&](KernelCtx &c) {
    return std::array<Value *, 3>{c.product(llvm::ArrayRef<int64_t>(s).take_front(*axis)),
                                  c.dim(s[*axis]),
                                  c.product(llvm::ArrayRef<int64_t>(s).drop_front(*axis + 1))};
  };
  auto [outer, len0, inner0] = sizes(k);
  Value *perRow = k.mul(k.mul(len0, inner0), k.i64c(8)); // a few passes, exp: ~8 per element
  emitParallelFor(k, outer, grainForFlops(k, perRow), {},
                  [&](KernelCtx &p, llvm::ArrayRef<Value *>, Value *begin, Value *end) {
    auto [outerP, len, inner] = sizes(p);
    (void)outerP;
    Value *rowStride = p.mul(len, inner);
    p.loop(p.b().CreateSub(end, begin), [&](Value *t) {
      Value *o = p.add(begin, t);
      p.loop(inner, [&](Value *i) {
        Value *base = p.add(p.mul(o, rowStride), i);
        AxisIndex at = [&, base](Value *a) { return p.add(base, p.mul(a, inner)); };
        body(len, at);
      }, "j");
    }, "o");
  });
  return llvm::Error::success();
}

Value *rowMax(KernelCtx &k, Value *x, Value *len, const AxisIndex &at) {
  Value *minusInf = k.f32c(-std::numeric_limits<double>::infinity());
  return k.loopCarried(len, {minusInf}, [&](Value *a, llvm::ArrayRef<Value *> acc) {
    return LoopValues{k.maxAccumulate(acc[0], k.load(x, at(a)))};
  }, "max")[0];
}

} // namespace

llvm::Error lowerSoftmax(KernelCtx &k, const ir::Node &n) {
  auto &b = k.b();
  return forEachRow(k, n, [&](Value *len, const AxisIndex &at) {
    Value *m = rowMax(k, k.in(0), len, at);
    Value *s = k.loopCarried(len, {k.f32c(0.0)}, [&](Value *a, llvm::ArrayRef<Value *> acc) {
      Value *e = emitExp(k, b.CreateFSub(k.load(k.in(0), at(a)), m));
      k.store(e, k.out(), at(a));
      return LoopValues{k.accumulate(acc[0], e)};
    }, "sum")[0];
    k.loop(len, [&](Value *a) {
      k.store(b.CreateFDiv(k.load(k.out(), at(a)), s), k.out(), at(a));
    }, "a");
  });
}

llvm::Error lowerLogSoftmax(KernelCtx &k, const ir::Node &n) {
  auto &b = k.b();
  return forEachRow(k, n, [&](Value *len, const AxisIndex &at) {
    Value *m = rowMax(k, k.in(0), len, at);
    Value *s = k.loopCarried(len, {k.f32c(0.0)}, [&](Value *a, llvm::ArrayRef<Value *> acc) {
      Value *e = emitExp(k, b.CreateFSub(k.load(k.in(0), at(a)), m));
      return LoopValues{k.accumulate(acc[0], e)};
    }, "sum")[0];
    Value *logS = emitLog(k, s);
    k.loop(len, [&](Value *a) {
      Value *x = k.load(k.in(0), at(a));
      k.store(b.CreateFSub(b.CreateFSub(x, m), logS), k.out(), at(a));
    }, "a");
  });
}

llvm::Error lowerSoftmaxGrad(KernelCtx &k, const ir::Node &n) {
  auto &b = k.b();
  return forEachRow(k, n, [&](Value *len, const AxisIndex &at) {
    Value *y = k.in(0), *dy = k.in(1); // of the function the row loop is in
    Value *d = k.loopCarried(len, {k.f32c(0.0)}, [&](Value *a, llvm::ArrayRef<Value *> acc) {
      return LoopValues{
          k.accumulate(acc[0], b.CreateFMul(k.load(dy, at(a)), k.load(y, at(a))))};
    }, "dot")[0];
    k.loop(len, [&](Value *a) {
      Value *ya = k.load(y, at(a));
      k.store(b.CreateFMul(ya, b.CreateFSub(k.load(dy, at(a)), d)), k.out(), at(a));
    }, "a");
  });
}

llvm::Error lowerLogSoftmaxGrad(KernelCtx &k, const ir::Node &n) {
  auto &b = k.b();
  return forEachRow(k, n, [&](Value *len, const AxisIndex &at) {
    Value *y = k.in(0), *dy = k.in(1); // of the function the row loop is in
    Value *s = k.loopCarried(len, {k.f32c(0.0)}, [&](Value *a, llvm::ArrayRef<Value *> acc) {
      return LoopValues{k.accumulate(acc[0], k.load(dy, at(a)))};
    }, "sum")[0];
    k.loop(len, [&](Value *a) {
      Value *e = emitExp(k, k.load(y, at(a)));
      k.store(b.CreateFSub(k.load(dy, at(a)), b.CreateFMul(e, s)), k.out(), at(a));
    }, "a");
  });
}

} // namespace gradc::codegen
