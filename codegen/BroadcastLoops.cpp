//===- codegen/BroadcastLoops.cpp - Elementwise maps with broadcasting ----===//
//
// Algorithm: align every operand's shape to the output's rank (leading 1s),
// drop output dimensions of static size 1 (they index nothing), and classify
// each remaining dimension per operand as `full` (the operand has it) or
// `broadcast` (the operand has size 1 there: stride 0). Adjacent dimensions
// with the same classification for every operand are merged, since each
// operand walks them as one contiguous run. The result is a nest with as few
// loops as the broadcasting pattern allows; the innermost loop reads every
// operand with stride 1 or 0, which the loop vectorizer handles (a stride-0
// load is hoisted and splatted). Same-shape operands collapse to one loop.
//
// Strides are values: a dimension may be N, so a stride may be a product
// involving the batch argument; the IRBuilder folds the constant ones.
//
// Large maps (at least 2 * kMinParallelElements elements, or any size that
// depends on N) run on the thread pool: the outermost loop is outlined and
// split (ParallelFor.h). The split falls between rows of a nest, or between
// blocks of kMapBlock elements of a flat loop, so each element is computed
// by the same instructions (the vector body or the remainder, never one or
// the other depending on the split) for any thread count.
//
//===----------------------------------------------------------------------===//
#include "codegen/BroadcastLoops.h"

#include "codegen/ParallelFor.h"

#include "llvm/IR/Intrinsics.h"

namespace gradc::codegen {

using llvm::Value;

namespace {

/// Flat maps are split between blocks of this many elements: a multiple of
/// any vector body's width times its interleave (at most 16 x 4 here).
constexpr int64_t kMapBlock = 1024;

struct Group {
  llvm::SmallVector<int64_t, 4> dims;     // output dims merged into this loop
  llvm::SmallVector<bool, 3> full;        // per operand
};

} // namespace

void emitBroadcastMapMulti(KernelCtx &k, const Shape &outShape, llvm::ArrayRef<Value *> outs,
                           llvm::ArrayRef<MapOperand> operands,
                           llvm::function_ref<LoopValues(llvm::ArrayRef<Value *>)> combine) {
  assert(!outs.empty() && "a map writes at least one result");
  const size_t rank = outShape.size();
  const size_t nops = operands.size();

  // Per operand, its dimension aligned to output dim d (1 when absent).
  auto alignedDim = [&](size_t op, size_t d) -> int64_t {
    const Shape &s = operands[op].shape;
    assert(s.size() <= rank && "operand has a higher rank than the output");
    size_t lead = rank - s.size();
    return d < lead ? 1 : s[d - lead];
  };

  llvm::SmallVector<Group, 6> groups;
  for (size_t d = 0; d < rank; ++d) {
    if (outShape[d] == 1)
      continue;
    llvm::SmallVector<bool, 3> full;
    for (size_t op = 0; op < nops; ++op) {
      int64_t a = alignedDim(op, d);
      assert((a == outShape[d] || a == 1) && "operand does not broadcast to the output");
      full.push_back(a == outShape[d]);
    }
    if (!groups.empty() && groups.back().full == full)
      groups.back().dims.push_back(outShape[d]);
    else
      groups.push_back(Group{{outShape[d]}, full});
  }

  if (groups.empty()) { // a single element
    llvm::SmallVector<Value *, 3> vals;
    for (const MapOperand &op : operands)
      vals.push_back(k.load(op.ptr, k.i64c(0)));
    LoopValues res = combine(vals);
    assert(res.size() == outs.size() && "one value per result");
    for (size_t r = 0; r < outs.size(); ++r)
      k.store(res[r], outs[r], k.i64c(0));
    return;
  }
  const size_t ng = groups.size();

  // Loop sizes and per-operand strides (product of the later groups the
  // operand has in full; the output has every group in full), as values of
  // the function being emitted: the kernel, or its parallel body.
  struct Layout {
    llvm::SmallVector<Value *, 6> sizes;
    std::vector<llvm::SmallVector<Value *, 6>> strides; // [operand (then out)][group]
  };
  auto layout = [&] {
    Layout l;
    for (size_t g = 0; g < ng; ++g)
      l.sizes.push_back(k.product(groups[g].dims));
    l.strides.assign(nops + 1, llvm::SmallVector<Value *, 6>(ng));
    for (size_t op = 0; op <= nops; ++op) {
      Value *s = k.i64c(1);
      for (size_t g = ng; g-- > 0;) {
        bool full = op == nops || groups[g].full[op];
        l.strides[op][g] = full ? s : k.i64c(0);
        if (full)
          s = k.mul(s, l.sizes[g]);
      }
    }
    return l;
  };

  // The nest over outer indices [lo, hi), carrying one running offset per
  // operand (and the output).
  auto nest = [&](const Layout &l, llvm::ArrayRef<Value *> ptrs,
                  llvm::ArrayRef<Value *> outPtrs, Value *lo, Value *hi) {
    std::function<void(size_t, llvm::ArrayRef<Value *>)> level =
        [&](size_t g, llvm::ArrayRef<Value *> offsets) {
          if (g == ng) {
            llvm::SmallVector<Value *, 3> vals;
            for (size_t op = 0; op < nops; ++op)
              vals.push_back(k.load(ptrs[op], offsets[op]));
            LoopValues res = combine(vals);
            assert(res.size() == outPtrs.size() && "one value per result");
            for (size_t r = 0; r < outPtrs.size(); ++r)
              k.store(res[r], outPtrs[r], offsets[nops]);
            return;
          }
          auto *c0 = llvm::dyn_cast<llvm::ConstantInt>(lo);
          bool fromZero = g > 0 || (c0 && c0->isZero());
          Value *trips = g > 0 ? l.sizes[g] : fromZero ? hi : k.b().CreateSub(hi, lo);
          k.loop(
              trips,
              [&](Value *i) {
                Value *idx = fromZero ? i : k.add(lo, i);
                llvm::SmallVector<Value *, 4> inner;
                for (size_t op = 0; op <= nops; ++op) {
                  auto *c = llvm::dyn_cast<llvm::ConstantInt>(l.strides[op][g]);
                  inner.push_back(c && c->isZero()
                                      ? offsets[op]
                                      : k.add(offsets[op], k.mul(idx, l.strides[op][g])));
                }
                level(g + 1, inner);
              },
              "d" + std::to_string(g));
        };
    llvm::SmallVector<Value *, 4> zero(nops + 1, k.i64c(0));
    level(0, zero);
  };

  llvm::SmallVector<Value *, 3> ptrs;
  for (const MapOperand &op : operands)
    ptrs.push_back(op.ptr);
  Layout l = layout();
  Value *total = k.product(l.sizes);
  auto *constTotal = llvm::dyn_cast<llvm::ConstantInt>(total);
  // The body can only reach the kernel's own pointers (kernelValueInBody).
  auto isArg = [](Value *p) { return llvm::isa<llvm::Argument>(p); };
  bool argsOnly = llvm::all_of(outs, isArg) && llvm::all_of(ptrs, isArg);
  if (!argsOnly || (constTotal && constTotal->getSExtValue() < 2 * kMinParallelElements)) {
    nest(l, ptrs, outs, k.i64c(0), l.sizes[0]);
    return;
  }

  // Threads split the outer loop: whole rows of a nest, or blocks of
  // kMapBlock elements of a flat loop, so every chunk but the last covers
  // whole vector iterations and each element takes the same code path
  // (vector body or remainder) for any split.
  const int64_t block = ng == 1 ? kMapBlock : 1;
  auto &b = k.b();
  Value *units = b.CreateUDiv(k.add(l.sizes[0], k.i64c(block - 1)), k.i64c(block));
  Value *perUnit = b.CreateUDiv(total, b.CreateBinaryIntrinsic(llvm::Intrinsic::umax,
                                                               units, k.i64c(1)));
  emitParallelFor(k, units, grainForElements(k, perUnit), {},
                  [&](KernelCtx &p, llvm::ArrayRef<Value *>, Value *begin, Value *end) {
    Layout pl = layout();
    llvm::SmallVector<Value *, 3> partPtrs;
    for (Value *v : ptrs)
      partPtrs.push_back(kernelValueInBody(p, v));
    Value *lo = p.mul(begin, p.i64c(block));
    Value *hi = p.b().CreateBinaryIntrinsic(llvm::Intrinsic::umin,
                                            p.mul(end, p.i64c(block)), pl.sizes[0]);
    llvm::SmallVector<Value *, 2> partOuts;
    for (Value *v : outs)
      partOuts.push_back(kernelValueInBody(p, v));
    nest(pl, partPtrs, partOuts, lo, hi);
  });
}

void emitBroadcastMap(KernelCtx &k, const Shape &outShape, Value *out,
                      llvm::ArrayRef<MapOperand> operands,
                      llvm::function_ref<Value *(llvm::ArrayRef<Value *>)> combine) {
  emitBroadcastMapMulti(k, outShape, {out}, operands,
                        [&](llvm::ArrayRef<Value *> v) { return LoopValues{combine(v)}; });
}

llvm::Error emitNodeMap(KernelCtx &k, const ir::Node &n,
                        llvm::function_ref<Value *(llvm::ArrayRef<Value *>)> combine) {
  if (KernelCtx::ElementScope *scope = k.elementScope()) {
    assert(scope->ins.size() == n.inputs().size() && "one element per input");
    scope->result = combine(scope->ins);
    return llvm::Error::success();
  }
  llvm::SmallVector<MapOperand, 3> ops;
  for (unsigned i = 0; i < n.inputs().size(); ++i)
    ops.push_back({k.in(i), k.inShape(i)});
  emitBroadcastMap(k, k.outShape(), k.out(), ops, combine);
  return llvm::Error::success();
}

} // namespace gradc::codegen
