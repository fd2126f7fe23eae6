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
//===----------------------------------------------------------------------===//
#include "codegen/BroadcastLoops.h"

namespace gradc::codegen {

using llvm::Value;

namespace {

struct Group {
  llvm::SmallVector<int64_t, 4> dims;     // output dims merged into this loop
  llvm::SmallVector<bool, 3> full;        // per operand
};

} // namespace

void emitBroadcastMap(KernelCtx &k, const Shape &outShape, Value *out,
                      llvm::ArrayRef<MapOperand> operands,
                      llvm::function_ref<Value *(llvm::ArrayRef<Value *>)> combine) {
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

  // Loop sizes and per-operand strides (product of the later groups the
  // operand has in full). The output has every group in full.
  const size_t ng = groups.size();
  llvm::SmallVector<Value *, 6> sizes(ng);
  for (size_t g = 0; g < ng; ++g)
    sizes[g] = k.product(groups[g].dims);
  std::vector<llvm::SmallVector<Value *, 6>> strides(nops + 1,
                                                     llvm::SmallVector<Value *, 6>(ng));
  for (size_t op = 0; op <= nops; ++op) {
    Value *s = k.i64c(1);
    for (size_t g = ng; g-- > 0;) {
      bool full = op == nops || groups[g].full[op];
      strides[op][g] = full ? s : k.i64c(0);
      if (full)
        s = k.mul(s, sizes[g]);
    }
  }

  // The nest carries one running offset per operand (and the output).
  std::function<void(size_t, llvm::ArrayRef<Value *>)> level =
      [&](size_t g, llvm::ArrayRef<Value *> offsets) {
        if (g == ng) {
          llvm::SmallVector<Value *, 3> vals;
          for (size_t op = 0; op < nops; ++op)
            vals.push_back(k.load(operands[op].ptr, offsets[op]));
          k.store(combine(vals), out, offsets[nops]);
          return;
        }
        k.loop(
            sizes[g],
            [&](Value *i) {
              llvm::SmallVector<Value *, 4> inner;
              for (size_t op = 0; op <= nops; ++op) {
                auto *c = llvm::dyn_cast<llvm::ConstantInt>(strides[op][g]);
                inner.push_back(c && c->isZero()
                                    ? offsets[op]
                                    : k.add(offsets[op], k.mul(i, strides[op][g])));
              }
              level(g + 1, inner);
            },
            "d" + std::to_string(g));
      };
  llvm::SmallVector<Value *, 4> zero(nops + 1, k.i64c(0));
  level(0, zero);
}

} // namespace gradc::codegen
