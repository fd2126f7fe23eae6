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
// tests bound the difference to the interpreter's f64 sums. Threads split
// the outermost kept group (rows of a [N,T] mean; columns of a bias
// gradient); each output element is summed in the same order whatever the
// split, so results do not depend on the thread count.
//
// reduce_mean divides by the number of reduced elements, computed at run time
// because it may include N. numel writes that kind of count as an f32 scalar.
//
//===----------------------------------------------------------------------===//
#include "codegen/KernelEmitter.h"
#include "codegen/Lowering.h"
#include "codegen/ParallelFor.h"

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

/// Sums input 0 over `axes` into the output (any shape with the kept
/// dimensions' element count). Returns the number of reduced elements.
Value *emitSum(KernelCtx &k, const std::vector<int64_t> &axes) {
  const Shape &inShape = k.inShape(0);
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
  const size_t ng = groups.size();
  // Threads split the outermost kept group; the nest is otherwise the same,
  // so every output element sums its terms in the same order on any thread.
  size_t split = 0;
  while (split < ng && groups[split].reduced)
    ++split;

  // Zero the output.
  Value *outCount = k.product(keptDims);
  k.loop(outCount, [&](Value *i) { k.store(k.f32c(0.0), k.out(), i); }, "z");

  // The nest in c's function, the split group over [begin, end).
  auto emitNest = [&](KernelCtx &c, Value *begin, Value *end) {
    Value *in = c.in(0), *out = c.out();
    llvm::SmallVector<Value *, 6> sizes(ng), inStride(ng), outStride(ng);
    Value *is = c.i64c(1), *os = c.i64c(1);
    for (size_t g = ng; g-- > 0;) {
      sizes[g] = c.product(groups[g].dims);
      inStride[g] = is;
      is = c.mul(is, sizes[g]);
      outStride[g] = groups[g].reduced ? c.i64c(0) : os;
      if (!groups[g].reduced)
        os = c.mul(os, sizes[g]);
    }
    std::function<void(size_t, Value *, Value *)> level = [&](size_t g, Value *io,
                                                              Value *oo) {
      if (g == ng) { // no groups left: a single element
        c.store(c.accumulate(c.load(out, oo), c.load(in, io)), out, oo);
        return;
      }
      if (g + 1 == ng && groups[g].reduced) {
        LoopValues sum = c.loopCarried(
            sizes[g], {c.f32c(0.0)},
            [&](Value *i, llvm::ArrayRef<Value *> acc) {
              return LoopValues{c.accumulate(acc[0], c.load(in, c.add(io, i)))};
            },
            "r");
        c.store(c.accumulate(c.load(out, oo), sum[0]), out, oo);
        return;
      }
      Value *first = g == split ? begin : c.i64c(0);
      Value *count = g == split ? c.b().CreateSub(end, begin) : sizes[g];
      c.loop(
          count,
          [&](Value *r) {
            Value *i = c.add(first, r);
            level(g + 1, c.add(io, c.mul(i, inStride[g])),
                  groups[g].reduced ? oo : c.add(oo, c.mul(i, outStride[g])));
          },
          "d" + std::to_string(g));
    };
    level(0, c.i64c(0), c.i64c(0));
  };
  if (split == ng) { // nothing kept: one sum, on this thread
    emitNest(k, nullptr, nullptr);
  } else {
    Value *units = k.product(groups[split].dims);
    Value *perUnit = k.i64c(1);
    for (size_t g = 0; g < ng; ++g)
      if (g != split)
        perUnit = k.mul(perUnit, k.product(groups[g].dims));
    emitParallelFor(k, units, grainForElements(k, perUnit), {},
                    [&](KernelCtx &p, llvm::ArrayRef<Value *>, Value *begin, Value *end) {
      emitNest(p, begin, end);
    });
  }
  return k.product(reducedDims);
}

} // namespace

llvm::Error lowerReduceSum(KernelCtx &k, const ir::Node &n) {
  auto axes = axesOf(n);
  if (!axes)
    return axes.takeError();
  emitSum(k, *axes);
  return llvm::Error::success();
}

llvm::Error lowerReduceMean(KernelCtx &k, const ir::Node &n) {
  auto axes = axesOf(n);
  if (!axes)
    return axes.takeError();
  Value *count = emitSum(k, *axes);
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
