//===- codegen/LowerPool.cpp - Pooling, global average pool, flatten ------===//
//
// Pools loop over planes (sample x channel, split across the thread pool:
// planes are disjoint in both x and y), output rows and output columns; the
// window's taps are unrolled at compile time (kernels are small and
// static). A tap in the padding is skipped: max pools read it as -inf,
// average pools as 0, with the divisor always KH*KW (PyTorch's
// count_include_pad=True). Without padding no tap is ever out of bounds and
// no check is emitted.
//
// Max pooling keeps the first maximum in row-major window order (a later
// tap wins only when strictly greater), so the gradient kernel, which finds
// the same tap again and adds dy there, routes dy exactly as the forward
// picked -- and as PyTorch does.
//
//===----------------------------------------------------------------------===//
#include "codegen/Lowering.h"
#include "codegen/ParallelFor.h"
#include "codegen/VisionLoops.h"
#include "ir/Vision.h"

#include <limits>

namespace gradc::codegen {

using llvm::Value;
using namespace vision;

namespace {

ir::PoolGeom geomOf(const ir::Node &n) {
  return llvm::cantFail(ir::poolGeom(n), "checked by shape inference");
}

/// For every output (plane, i, j) of the pool, split across threads by
/// plane: body(part, plane, outIndex, taps) where taps(p, q) gives the
/// input index of tap (p, q) and whether it is inside the input.
using TapFn = llvm::function_ref<std::pair<Value *, Value *>(unsigned, unsigned)>;
void forEachOutput(KernelCtx &k, const ir::PoolGeom &g,
                   llvm::function_ref<void(KernelCtx &, Value *plane, Value *out, TapFn)> body) {
  Value *planes = k.product({k.inShape(0)[0], g.c});
  Value *grain = grainForElements(k, k.i64c(g.oh * g.ow * g.kh * g.kw));
  emitParallelFor(k, planes, grain, {},
                  [&](KernelCtx &p, llvm::ArrayRef<Value *>, Value *begin, Value *end) {
    llvm::IRBuilder<> &b = p.b();
    p.loop(b.CreateSub(end, begin), [&](Value *t) {
      Value *plane = p.add(begin, t);
      Value *inBase = p.mul(plane, p.i64c(g.h * g.w));
      Value *outBase = p.mul(plane, p.i64c(g.oh * g.ow));
      p.loop(p.i64c(g.oh), [&](Value *i) {
        Value *ih0 = affine(p, i, g.sh, -g.ph);
        p.loop(p.i64c(g.ow), [&](Value *j) {
          Value *iw0 = affine(p, j, g.sw, -g.pw);
          auto tap = [&](unsigned dp, unsigned dq) -> std::pair<Value *, Value *> {
            Value *ih = b.CreateAdd(ih0, p.i64c(dp)), *iw = b.CreateAdd(iw0, p.i64c(dq));
            Value *ok = b.getTrue();
            if (g.ph || g.pw)
              ok = b.CreateAnd(inRange(p, ih, g.h), inRange(p, iw, g.w));
            Value *at = b.CreateAdd(inBase, b.CreateAdd(b.CreateMul(ih, p.i64c(g.w)), iw));
            if (g.ph || g.pw)
              at = b.CreateSelect(ok, at, inBase);
            return {at, ok};
          };
          body(p, plane, p.add(outBase, p.add(p.mul(i, p.i64c(g.ow)), j)), tap);
        }, "j");
      }, "i");
    }, "plane");
  });
}

/// The first maximal tap of a window: (value, input index).
std::pair<Value *, Value *> windowMax(KernelCtx &p, const ir::PoolGeom &g, TapFn tap) {
  llvm::IRBuilder<> &b = p.b();
  Value *best = p.f32c(-std::numeric_limits<double>::infinity());
  Value *bestAt = nullptr, *found = b.getFalse();
  for (unsigned dp = 0; dp < g.kh; ++dp)
    for (unsigned dq = 0; dq < g.kw; ++dq) {
      auto [at, ok] = tap(dp, dq);
      Value *v = p.load(p.in(0), at);
      // The first tap inside the input starts the maximum; later ones
      // replace it only when strictly greater.
      Value *better = b.CreateAnd(ok, b.CreateOr(b.CreateNot(found), b.CreateFCmpOGT(v, best)));
      found = b.CreateOr(found, ok);
      best = b.CreateSelect(better, v, best);
      bestAt = bestAt ? b.CreateSelect(better, at, bestAt) : at;
    }
  return {best, bestAt};
}

} // namespace

llvm::Error lowerMaxPool2d(KernelCtx &k, const ir::Node &nd) {
  ir::PoolGeom g = geomOf(nd);
  forEachOutput(k, g, [&](KernelCtx &p, Value *, Value *o, TapFn tap) {
    p.store(windowMax(p, g, tap).first, p.out(), o);
  });
  return llvm::Error::success();
}

llvm::Error lowerMaxPool2dGrad(KernelCtx &k, const ir::Node &nd) {
  // (x, dy) -> dx
  ir::PoolGeom g = geomOf(nd);
  zeroFill(k, k.out(), k.i64c(0), k.numel(k.inShape(0)));
  forEachOutput(k, g, [&](KernelCtx &p, Value *, Value *o, TapFn tap) {
    Value *at = windowMax(p, g, tap).second;
    p.store(p.b().CreateFAdd(p.load(p.out(), at), p.load(p.in(1), o)), p.out(), at);
  });
  return llvm::Error::success();
}

llvm::Error lowerAvgPool2d(KernelCtx &k, const ir::Node &nd) {
  ir::PoolGeom g = geomOf(nd);
  forEachOutput(k, g, [&](KernelCtx &p, Value *, Value *o, TapFn tap) {
    llvm::IRBuilder<> &b = p.b();
    Value *sum = p.f32c(0);
    for (unsigned dp = 0; dp < g.kh; ++dp)
      for (unsigned dq = 0; dq < g.kw; ++dq) {
        auto [at, ok] = tap(dp, dq);
        sum = b.CreateFAdd(sum, b.CreateSelect(ok, p.load(p.in(0), at), p.f32c(0)));
      }
    p.store(b.CreateFDiv(sum, p.f32c(double(g.kh * g.kw))), p.out(), o);
  });
  return llvm::Error::success();
}

llvm::Error lowerAvgPool2dGrad(KernelCtx &k, const ir::Node &nd) {
  // (x, dy) -> dx
  ir::PoolGeom g = geomOf(nd);
  zeroFill(k, k.out(), k.i64c(0), k.numel(k.inShape(0)));
  forEachOutput(k, g, [&](KernelCtx &p, Value *, Value *o, TapFn tap) {
    llvm::IRBuilder<> &b = p.b();
    Value *share = b.CreateFDiv(p.load(p.in(1), o), p.f32c(double(g.kh * g.kw)));
    for (unsigned dp = 0; dp < g.kh; ++dp)
      for (unsigned dq = 0; dq < g.kw; ++dq) {
        auto [at, ok] = tap(dp, dq);
        Value *add = b.CreateSelect(ok, share, p.f32c(0));
        p.store(b.CreateFAdd(p.load(p.out(), at), add), p.out(), at);
      }
  });
  return llvm::Error::success();
}

llvm::Error lowerGlobalAvgPool(KernelCtx &k, const ir::Node &nd) {
  const Shape &s = k.inShape(0);
  int64_t pixels = s[2] * s[3];
  Value *planes = k.product({s[0], s[1]});
  emitParallelFor(k, planes, grainForElements(k, k.i64c(pixels)), {},
                  [&](KernelCtx &p, llvm::ArrayRef<Value *>, Value *begin, Value *end) {
    p.loop(p.b().CreateSub(end, begin), [&](Value *t) {
      Value *plane = p.add(begin, t);
      Value *base = p.mul(plane, p.i64c(pixels));
      Value *sum = p.loopCarried(p.i64c(pixels), {p.f32c(0)},
                                 [&](Value *e, llvm::ArrayRef<Value *> acc) {
        return LoopValues{p.accumulate(acc[0], p.load(p.in(0), p.add(base, e)))};
      }, "e")[0];
      p.store(p.b().CreateFDiv(sum, p.f32c(double(pixels))), p.out(), plane);
    }, "plane");
  });
  return llvm::Error::success();
}

llvm::Error lowerFlatten(KernelCtx &k, const ir::Node &n) {
  // Row-major order is unchanged: a copy, as for reshape.
  return lowerReshape(k, n);
}

} // namespace gradc::codegen
