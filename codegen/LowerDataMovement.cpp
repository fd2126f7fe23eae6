//===- codegen/LowerDataMovement.cpp - reshape, transpose, broadcast_to, constant ===//
//
// reshape is a copy of the bytes (the layout is row-major either way), or
// nothing when plan-memory put the result in place of its input.
// transpose walks the output and gathers from the input:
// out[i0..ir) = in[sum_d i_d * inStride[perm[d]]]. Output dimensions of
// size 1 are skipped and runs of output dimensions that are also adjacent,
// in order, in the input are merged into one loop (so a transpose that only
// moves size-1 axes is a flat copy). The last two remaining loops are walked
// in 16x16 tiles: after merging, one of them reads the input with a stride,
// and a tile touches 16 cache lines on that side instead of one per element
// ([784,256]: 207 us untiled). Both copy 32-bit words, so they serve f32 and
// i32 tensors alike. Threads split the outermost loop (or its rows of tiles,
// when it is one of the two tiled loops); every element is a plain copy, so
// the thread count cannot change the result.
// broadcast_to is the identity map of emitBroadcastMap; constant a fill loop.
//
//===----------------------------------------------------------------------===//
#include "codegen/BroadcastLoops.h"
#include "codegen/Lowering.h"
#include "codegen/ParallelFor.h"

namespace gradc::codegen {

using llvm::Value;

llvm::Error lowerReshape(KernelCtx &k, const ir::Node &n) {
  if (k.in(0) == k.out()) // in place (plan-memory): the bytes are already there
    return llvm::Error::success();
  Value *bytes = k.mul(k.numel(k.inShape(0)), k.i64c(4));
  k.b().CreateMemCpy(k.out(), llvm::Align(64), k.in(0), llvm::Align(64), bytes);
  return llvm::Error::success();
}

llvm::Error lowerTranspose(KernelCtx &k, const ir::Node &n) {
  const Shape &in = k.inShape(0);
  const int64_t rank = static_cast<int64_t>(in.size());
  std::vector<int64_t> perm = n.attrs().getInts("perm");
  if (perm.empty())
    for (int64_t i = rank - 1; i >= 0; --i)
      perm.push_back(i);

  // Loops: (input dims merged, stride of the innermost of them), outer first.
  struct Loop {
    Shape dims;
    int64_t lastInDim;
  };
  llvm::SmallVector<Loop, 6> loops;
  for (int64_t d = 0; d < rank; ++d) {
    int64_t p = perm[d];
    if (in[p] == 1)
      continue;
    if (!loops.empty() && p > loops.back().lastInDim) {
      // Mergeable when only size-1 input dims lie between the two.
      bool adjacent = true;
      for (int64_t q = loops.back().lastInDim + 1; q < p; ++q)
        adjacent &= in[q] == 1;
      if (adjacent) {
        loops.back().dims.push_back(in[p]);
        loops.back().lastInDim = p;
        continue;
      }
    }
    loops.push_back(Loop{{in[p]}, p});
  }

  // The last two loops go tile by tile when the innermost reads with a
  // stride (the output is written in order). When it reads contiguously
  // too (the last input dim stays last: [N,T,H,D] -> [N,H,T,D], a head
  // split), rows are copied as they are and the copy vectorizes.
  const bool innerContiguous = !loops.empty() && loops.back().lastInDim == rank - 1;
  const size_t tiled = loops.size() >= 2 && !innerContiguous ? 2 : 0;
  if (loops.empty()) { // one element
    k.store(k.load(k.in(0), k.i64c(0), k.i32()), k.out(), k.i64c(0));
    return llvm::Error::success();
  }

  // Emits the nest into c's function over [begin, end) of the outermost
  // unit: iterations of the first loop, or rows of tiles when the first
  // loop is itself tiled.
  auto emitNest = [&](KernelCtx &c, Value *begin, Value *end) {
    llvm::SmallVector<Value *, 6> sizes, inStride(rank);
    for (const Loop &l : loops)
      sizes.push_back(c.product(l.dims));
    Value *st = c.i64c(1);
    for (int64_t d = rank; d-- > 0;) {
      inStride[d] = st;
      st = c.mul(st, c.dim(in[d]));
    }
    llvm::Type *word = c.i32();
    auto copy = [&](Value *io, Value *oo) { c.store(c.load(c.in(0), io, word), c.out(), oo); };
    auto outStride = [&](size_t g) {
      return c.product(llvm::ArrayRef<Value *>(sizes).drop_front(g + 1));
    };
    auto inStep = [&](size_t g) { return inStride[loops[g].lastInDim]; };
    std::function<void(size_t, Value *, Value *)> level = [&](size_t g, Value *io,
                                                              Value *oo) {
      if (g + tiled == loops.size()) {
        if (!tiled)
          return copy(io, oo);
        std::pair<Value *, Value *> rows;
        if (g == 0)
          rows = {begin, end};
        c.tiledNest2(sizes[g], sizes[g + 1], [&](Value *i, Value *j) {
          copy(c.add(io, c.add(c.mul(i, inStep(g)), c.mul(j, inStep(g + 1)))),
               c.add(oo, c.add(c.mul(i, outStride(g)), j)));
        }, rows);
        return;
      }
      Value *first = g == 0 ? begin : c.i64c(0);
      Value *count = g == 0 ? c.b().CreateSub(end, begin) : sizes[g];
      c.loop(count, [&](Value *r) {
        Value *i = c.add(first, r);
        level(g + 1, c.add(io, c.mul(i, inStep(g))), c.add(oo, c.mul(i, outStride(g))));
      }, "d" + std::to_string(g));
    };
    level(0, c.i64c(0), c.i64c(0));
  };

  // Units of the outermost loop, split across threads.
  Value *size0 = k.product(loops[0].dims);
  Value *rest = k.i64c(1);
  for (size_t g = 1; g < loops.size(); ++g)
    rest = k.mul(rest, k.product(loops[g].dims));
  const bool tileUnits = tiled && loops.size() == 2;
  Value *units = tileUnits ? k.tileRows(size0) : size0;
  Value *perUnit = tileUnits ? k.mul(rest, k.i64c(KernelCtx::kTransposeTile)) : rest;
  emitParallelFor(k, units, grainForElements(k, perUnit), {},
                  [&](KernelCtx &p, llvm::ArrayRef<Value *>, Value *begin, Value *end) {
    emitNest(p, begin, end);
  });
  return llvm::Error::success();
}

llvm::Error lowerBroadcastTo(KernelCtx &k, const ir::Node &n) {
  emitBroadcastMap(k, k.outShape(), k.out(), {MapOperand{k.in(0), k.inShape(0)}},
                   [](llvm::ArrayRef<Value *> v) { return v[0]; });
  return llvm::Error::success();
}

llvm::Error lowerConstant(KernelCtx &k, const ir::Node &n) {
  Value *v = k.f32c(n.attrs().getFloat("value", 0.0));
  k.loop(k.numel(k.outShape()), [&](Value *i) { k.store(v, k.out(), i); });
  return llvm::Error::success();
}

} // namespace gradc::codegen
