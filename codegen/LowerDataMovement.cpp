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
// i32 tensors alike.
// broadcast_to is the identity map of emitBroadcastMap; constant a fill loop.
//
//===----------------------------------------------------------------------===//
#include "codegen/BroadcastLoops.h"
#include "codegen/Lowering.h"

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

  // Row-major strides of the input.
  llvm::SmallVector<Value *, 6> inStride(rank);
  Value *s = k.i64c(1);
  for (int64_t d = rank; d-- > 0;) {
    inStride[d] = s;
    s = k.mul(s, k.dim(in[d]));
  }

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

  llvm::SmallVector<Value *, 6> sizes;
  for (const Loop &l : loops)
    sizes.push_back(k.product(l.dims));
  llvm::Type *word = k.i32();
  auto copy = [&](Value *io, Value *oo) { k.store(k.load(k.in(0), io, word), k.out(), oo); };
  auto outStride = [&](size_t g) {
    return k.product(llvm::ArrayRef<Value *>(sizes).drop_front(g + 1));
  };
  auto inStep = [&](size_t g) { return inStride[loops[g].lastInDim]; };
  // The last two loops go tile by tile when the innermost reads with a
  // stride (the output is written in order). When it reads contiguously
  // too (the last input dim stays last: [N,T,H,D] -> [N,H,T,D], a head
  // split), rows are copied as they are and the copy vectorizes.
  const bool innerContiguous = !loops.empty() && loops.back().lastInDim == rank - 1;
  const size_t tiled = loops.size() >= 2 && !innerContiguous ? 2 : 0;
  std::function<void(size_t, Value *, Value *)> level = [&](size_t g, Value *io,
                                                            Value *oo) {
    if (g + tiled == loops.size()) {
      if (!tiled)
        return copy(io, oo);
      k.tiledNest2(sizes[g], sizes[g + 1], [&](Value *i, Value *j) {
        copy(k.add(io, k.add(k.mul(i, inStep(g)), k.mul(j, inStep(g + 1)))),
             k.add(oo, k.add(k.mul(i, outStride(g)), j)));
      });
      return;
    }
    k.loop(sizes[g], [&](Value *i) {
      level(g + 1, k.add(io, k.mul(i, inStep(g))), k.add(oo, k.mul(i, outStride(g))));
    }, "d" + std::to_string(g));
  };
  level(0, k.i64c(0), k.i64c(0));
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
