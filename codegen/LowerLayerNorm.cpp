//===- codegen/LowerLayerNorm.cpp - layer_norm_rows and its gradients ------===//
//
// x is viewed as [rows, D], D the product of the trailing `dims` axes. Each
// row is D contiguous floats that stay in L1 while a kernel makes a few
// passes over them (f32, sums reassociated so they vectorize):
//   statistics: mean = sum x / D; var = sum (x - mean)^2 / D (two passes:
//               no cancellation when the mean is large against the spread);
//               istd = 1 / sqrt(var + eps); xhat = (x - mean) * istd
//   layer_norm_rows:        y = xhat * w + b
//   layer_norm_rows_grad:   g = dy * w; s1 = sum g; s2 = sum g * xhat;
//                           dx = istd * (g - s1/D - xhat * s2/D)
//   layer_norm_rows_grad_weight: sum over rows of dy * xhat
// So the forward is one kernel, statistics and application together, where
// the expansion into reduce_mean, sub, mul, ... made ten kernels and as many
// row-sized intermediates (and twice that in the backward).
//
// Rows split across the thread pool; a row is computed by the same
// instructions on any thread. The weight gradient sums over rows: rows go
// in fixed chunks of kRowsPerChunk, each chunk's sums into its own partial
// row, and the partials are added in chunk order, so the result does not
// depend on the thread count either.
//
//===----------------------------------------------------------------------===//
#include "codegen/KernelEmitter.h"
#include "codegen/Lowering.h"
#include "codegen/ParallelFor.h"

namespace gradc::codegen {

using llvm::Value;

namespace {

constexpr int64_t kRowsPerChunk = 16;

/// D, the values per row: the product of the trailing `dims` axes.
int64_t rowLength(KernelCtx &k, const ir::Node &n) {
  const Shape &s = k.inShape(0);
  int64_t dims = n.attrs().getInt("dims", 1), D = 1;
  for (size_t i = s.size() - size_t(dims); i < s.size(); ++i)
    D *= s[i];
  return D;
}

/// The number of rows: the product of the leading axes (N among them).
Value *rowCount(KernelCtx &k, const ir::Node &n) {
  const Shape &s = k.inShape(0);
  int64_t dims = n.attrs().getInt("dims", 1);
  return k.product(llvm::ArrayRef<int64_t>(s).drop_back(size_t(dims)));
}

/// A row's mean and 1 / sqrt(var + eps), from the D floats of x at base.
struct RowStats {
  Value *mean, *istd;
};
RowStats rowStats(KernelCtx &p, Value *x, Value *base, int64_t D, double eps) {
  llvm::IRBuilder<> &b = p.b();
  Value *len = p.i64c(D);
  Value *sum = p.loopCarried(len, {p.f32c(0.0)}, [&](Value *j, llvm::ArrayRef<Value *> acc) {
    return LoopValues{p.accumulate(acc[0], p.load(x, p.add(base, j)))};
  }, "sum")[0];
  Value *mean = b.CreateFDiv(sum, p.f32c(double(D)));
  Value *ss = p.loopCarried(len, {p.f32c(0.0)}, [&](Value *j, llvm::ArrayRef<Value *> acc) {
    Value *d = b.CreateFSub(p.load(x, p.add(base, j)), mean);
    return LoopValues{p.accumulate(acc[0], b.CreateFMul(d, d))};
  }, "var")[0];
  Value *var = b.CreateFDiv(ss, p.f32c(double(D)));
  Value *sd = b.CreateUnaryIntrinsic(llvm::Intrinsic::sqrt, b.CreateFAdd(var, p.f32c(eps)));
  return {mean, b.CreateFDiv(p.f32c(1.0), sd)};
}

/// Calls body(p, base) for every row (base: its first element), rows split
/// across the thread pool.
void forEachRow(KernelCtx &k, const ir::Node &n, int64_t D,
                llvm::function_ref<void(KernelCtx &, Value *)> body) {
  emitParallelFor(k, rowCount(k, n), grainForElements(k, k.i64c(D * 4)), {},
                  [&](KernelCtx &p, llvm::ArrayRef<Value *>, Value *begin, Value *end) {
    p.loop(p.b().CreateSub(end, begin), [&](Value *t) {
      body(p, p.mul(p.add(begin, t), p.i64c(D)));
    }, "row");
  });
}

} // namespace

llvm::Error lowerLayerNormRows(KernelCtx &k, const ir::Node &n) {
  int64_t D = rowLength(k, n);
  double eps = n.attrs().getFloat("eps", 1e-5);
  forEachRow(k, n, D, [&](KernelCtx &p, Value *base) {
    llvm::IRBuilder<> &b = p.b();
    RowStats st = rowStats(p, p.in(0), base, D, eps);
    p.loop(p.i64c(D), [&](Value *j) {
      Value *at = p.add(base, j);
      Value *xhat = b.CreateFMul(b.CreateFSub(p.load(p.in(0), at), st.mean), st.istd);
      p.store(b.CreateFAdd(b.CreateFMul(xhat, p.load(p.in(1), j)), p.load(p.in(2), j)), p.out(),
              at);
    }, "j");
  });
  return llvm::Error::success();
}

llvm::Error lowerLayerNormRowsGrad(KernelCtx &k, const ir::Node &n) {
  // (x, w, dy) -> dx
  int64_t D = rowLength(k, n);
  double eps = n.attrs().getFloat("eps", 1e-5);
  forEachRow(k, n, D, [&](KernelCtx &p, Value *base) {
    llvm::IRBuilder<> &b = p.b();
    Value *x = p.in(0), *w = p.in(1), *dy = p.in(2);
    RowStats st = rowStats(p, x, base, D, eps);
    auto g = [&](Value *j) { return b.CreateFMul(p.load(dy, p.add(base, j)), p.load(w, j)); };
    auto xhat = [&](Value *j) {
      return b.CreateFMul(b.CreateFSub(p.load(x, p.add(base, j)), st.mean), st.istd);
    };
    LoopValues s = p.loopCarried(p.i64c(D), {p.f32c(0.0), p.f32c(0.0)},
                                 [&](Value *j, llvm::ArrayRef<Value *> acc) {
      Value *gj = g(j);
      return LoopValues{p.accumulate(acc[0], gj), p.accumulate(acc[1], b.CreateFMul(gj, xhat(j)))};
    }, "sums");
    Value *mg = b.CreateFDiv(s[0], p.f32c(double(D)));
    Value *mgx = b.CreateFDiv(s[1], p.f32c(double(D)));
    p.loop(p.i64c(D), [&](Value *j) {
      Value *v = b.CreateFSub(b.CreateFSub(g(j), mg), b.CreateFMul(xhat(j), mgx));
      p.store(b.CreateFMul(st.istd, v), p.out(), p.add(base, j));
    }, "j");
  });
  return llvm::Error::success();
}

llvm::Error lowerLayerNormRowsGradWeight(KernelCtx &k, const ir::Node &n) {
  // (x, dy) -> dw[D] = sum over rows of dy * xhat, by fixed chunks of rows.
  int64_t D = rowLength(k, n);
  double eps = n.attrs().getFloat("eps", 1e-5);
  llvm::IRBuilder<> &b = k.b();
  Value *rows = rowCount(k, n);
  Value *chunks = b.CreateUDiv(k.add(rows, k.i64c(kRowsPerChunk - 1)), k.i64c(kRowsPerChunk));
  Value *partials = k.mallocScratch(k.mul(chunks, k.i64c(D)));
  emitParallelFor(k, chunks, grainForElements(k, k.i64c(D * kRowsPerChunk * 4)), {partials},
                  [&](KernelCtx &p, llvm::ArrayRef<Value *> extra, Value *begin, Value *end) {
    llvm::IRBuilder<> &pb = p.b();
    Value *x = p.in(0), *dy = p.in(1), *rowsP = rowCount(p, n);
    p.loop(pb.CreateSub(end, begin), [&](Value *t) {
      Value *chunk = p.add(begin, t);
      Value *mine = p.elemPtr(extra[0], p.mul(chunk, p.i64c(D)));
      p.loop(p.i64c(D), [&](Value *j) { p.store(p.f32c(0.0), mine, j); }, "zero");
      Value *first = p.mul(chunk, p.i64c(kRowsPerChunk));
      Value *last = pb.CreateBinaryIntrinsic(llvm::Intrinsic::umin,
                                             p.add(first, p.i64c(kRowsPerChunk)), rowsP);
      p.loop(pb.CreateSub(last, first), [&](Value *r) {
        Value *base = p.mul(p.add(first, r), p.i64c(D));
        RowStats st = rowStats(p, x, base, D, eps);
        p.loop(p.i64c(D), [&](Value *j) {
          Value *at = p.add(base, j);
          Value *xhat = pb.CreateFMul(pb.CreateFSub(p.load(x, at), st.mean), st.istd);
          p.store(pb.CreateFAdd(p.load(mine, j), pb.CreateFMul(p.load(dy, at), xhat)), mine, j);
        }, "j");
      }, "r");
    }, "chunk");
  });
  // The partials in chunk order (zero rows: no chunk, dw = 0).
  k.loop(k.i64c(D), [&](Value *j) {
    Value *sum = k.loopCarried(chunks, {k.f32c(0.0)}, [&](Value *c, llvm::ArrayRef<Value *> acc) {
      return LoopValues{b.CreateFAdd(acc[0], k.load(partials, k.add(k.mul(c, k.i64c(D)), j)))};
    }, "c")[0];
    k.store(sum, k.out(), j);
  }, "j");
  k.freeScratch(partials);
  return llvm::Error::success();
}

} // namespace gradc::codegen
