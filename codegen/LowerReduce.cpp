//===- codegen/LowerReduce.cpp - reduce_sum, reduce_mean, numel ------------===//
//
// Algorithm (reduce_sum over any set of axes): drop input dimensions of
// static size 1, then merge adjacent dimensions that are both reduced or both
// kept. The input is walked once in memory order by a nest over the merged
// groups, carrying an input offset and an output offset (the output offset
// advances only on kept groups).
//   - innermost group reduced (e.g. [N,10] over axis 1): the innermost loop
//     sums a contiguous run into a register (reassoc: vectorized partial sums)
//     and adds it to the output element once;
//   - innermost group kept (e.g. [N,256] over axis 0, a bias gradient): the
//     innermost loop is out[j] += in[i, j], contiguous in both.
// The output is zeroed first. Accumulation is in f32 (reassociated); the
// tests bound the difference to the interpreter's f64 sums.
//
// reduce_mean divides by the number of reduced elements, computed at run time
// because it may include N. numel writes that kind of count as an f32 scalar.
//
//===----------------------------------------------------------------------===//
#include "codegen/KernelEmitter.h"
#include "codegen/Lowering.h"

#include "ir/ShapeRules.h"

namespace gradc::codegen {

using llvm::Value;

namespace {

struct Group {
  llvm::SmallVector<int64_t, 4> dims;
  bool reduced;
};

llvm::Expected<std::vector<int64_t>> axesOf(const ir::Node &n) {
  return ir::normalizeAxes(n.attrs().getInts("axes"), n.input(0)->type().rank());
}

bool contains(const std::vector<int64_t> &v, int64_t x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

/// Sums `in` over `axes` into `out` (already any shape with the kept
/// dimensions' element count). Returns the number of reduced elements.
Value *emitSum(KernelCtx &k, Value *in, const Shape &inShape,
               const std::vector<int64_t> &axes, Value *out) {
  llvm::SmallVector<Group, 6> groups;
  llvm::SmallVector<int64_t, 6> reducedDims, keptDims;
  for (int64_t d = 0; d < static_cast<int64_t>(inShape.size()); ++d) {
    bool red = contains(axes, d);
    (red ? reducedDims : keptDims).push_back(inShape[d]);
    if (inShape[d] == 1)
      continue;
    if (!groups.empty() && groups.back().reduced == red)
      groups.back().dims.push_back(inShape[d]);
    else
      groups.push_back(Group{{inShape[d]}, red});
  }

  // Zero the output.
  Value *outCount = k.product(keptDims);
  k.loop(outCount, [&](Value *i) { k.store(k.f32c(0.0), out, i); }, "z");

  const size_t ng = groups.size();
  llvm::SmallVector<Value *, 6> sizes(ng), inStride(ng), outStride(ng);
  Value *is = k.i64c(1), *os = k.i64c(1);
  for (size_t g = ng; g-- > 0;) {
    sizes[g] = k.product(groups[g].dims);
    inStride[g] = is;
    is = k.mul(is, sizes[g]);
    outStride[g] = groups[g].reduced ? k.i64c(0) : os;
    if (!groups[g].reduced)
      os = k.mul(os, sizes[g]);
  }

  std::function<void(size_t, Value *, Value *)> level = [&](size_t g, Value *io,
                                                            Value *oo) {
    if (g == ng) { // no groups left: a single element
      k.store(k.accumulate(k.load(out, oo), k.load(in, io)), out, oo);
      return;
    }
    if (g + 1 == ng && groups[g].reduced) {
      LoopValues sum = k.loopCarried(
          sizes[g], {k.f32c(0.0)},
          [&](Value *i, llvm::ArrayRef<Value *> acc) {
            return LoopValues{k.accumulate(acc[0], k.load(in, k.add(io, i)))};
          },
          "r");
      k.store(k.accumulate(k.load(out, oo), sum[0]), out, oo);
      return;
    }
    k.loop(
        sizes[g],
        [&](Value *i) {
          level(g + 1, k.add(io, k.mul(i, inStride[g])),
                groups[g].reduced ? oo : k.add(oo, k.mul(i, outStride[g])));
        },
        "d" + std::to_string(g));
  };
  level(0, k.i64c(0), k.i64c(0));
  return k.product(reducedDims);
}

} // namespace

llvm::Error lowerReduceSum(KernelCtx &k, const ir::Node &n) {
  auto axes = axesOf(n);
  if (!axes)
    return axes.takeError();
  emitSum(k, k.in(0), k.inShape(0), *axes, k.out());
  return llvm::Error::success();
}

llvm::Error lowerReduceMean(KernelCtx &k, const ir::Node &n) {
  auto axes = axesOf(n);
  if (!axes)
    return axes.takeError();
  Value *count = emitSum(k, k.in(0), k.inShape(0), *axes, k.out());
  auto &b = k.b();
  // An empty reduction (N = 0) divides 0 by 0: NaN, as a mean of nothing is.
  Value *c = b.CreateSIToFP(count, k.f32());
  k.loop(k.numel(k.outShape()), [&](Value *i) {
    k.store(b.CreateFDiv(k.load(k.out(), i), c), k.out(), i);
  });
  return llvm::Error::success();
}

llvm::Error lowerNumel(KernelCtx &k, const ir::Node &n) {
  auto axes = axesOf(n);
  if (!axes)
    return axes.takeError();
  Shape dims;
  for (int64_t a : *axes)
    dims.push_back(k.inShape(0)[a]);
  k.store(k.b().CreateSIToFP(k.product(dims), k.f32()), k.out(), k.i64c(0));
  return llvm::Error::success();
}

} // namespace gradc::codegen
