//===- codegen/LowerMatMul.cpp - matmul with transpose flags ---------------===//
//
// C[M,Nn] = op(A)[M,K] * op(B)[K,Nn], op = optional transpose (any of M, K,
// Nn may be the batch N). An operand of rank > 2 is its 2-D view
// [prod(leading dims), last dim]: dense at every position of a sequence. Each transpose case goes to the Gemm.cpp
// kernel that reads its operands in their stored layout:
//   A   * B     outer product, A by rows                (forward)
//   A^T * B     outer product, A read through strides   (weight gradients)
//   A   * B^T   few rows (M < 128) and K >= 128 or K = N: dot product over
//               contiguous rows of both (the MLP's input gradients);
//               otherwise B^T packed into a row-major copy, then the outer
//               product. The dot kernel ends in one horizontal sum per
//               element of C, which a short K does not amortize
//               ([64,10]x[256,10]^T: 21 us dot, 4 us packed), and the copy
//               is O(K*Nn) against O(M*K*Nn) for the product, so many rows
//               amortize it: [512,128]x[512,128]^T (a transformer's linear
//               layer over 8 x 64 tokens) ran at 74 GFLOP/s dot, 110
//               packed; [64,256]x[784,256]^T at 91 dot, 81 packed. M with
//               the batch N in it counts N as 2 (seq x N rows: a sequence
//               model's tokens; N rows alone: an MLP's batch).
//   A^T * B^T   B^T packed, then the outer product with A through strides
//               (rare: the gradient of the same)
//
// Threads: the kernel hands ranges of C's tiles (Gemm.h) to the thread pool
// (ParallelFor.h), with a grain that keeps small products on one thread.
// Packing B^T comes first, split across threads on its own (every thread
// of the product reads the whole packed copy): it is O(K*Nn), but serial it
// was ~3% of gpt's 2-thread step. Tiles split only C, never
// K, so C is bitwise the same for any number of threads.
//
//===----------------------------------------------------------------------===//
#include "codegen/Gemm.h"
#include "codegen/Lowering.h"
#include "codegen/ParallelFor.h"

namespace gradc::codegen {

using llvm::Value;

llvm::Error lowerMatMul(KernelCtx &k, const ir::Node &n) {
  bool ta = n.attrs().getInt("transpose_a", 0) != 0;
  bool tb = n.attrs().getInt("transpose_b", 0) != 0;
  // Sizes are materialized in each function that needs them: the kernel and
  // its parallel body.
  // Operands of rank > 2 are their row-major 2-D views [prod(leading), last]
  // (see shapeRuleMatMul).
  auto shapeIn = [&](KernelCtx &c) {
    const Shape &as = c.inShape(0), &bs = c.inShape(1);
    Value *aRows = c.product(llvm::ArrayRef<int64_t>(as).drop_back());
    Value *bRows = c.product(llvm::ArrayRef<int64_t>(bs).drop_back());
    Value *aCols = c.dim(as.back()), *bCols = c.dim(bs.back());
    return GemmShape{ta ? aCols : aRows, ta ? aRows : aCols, tb ? bRows : bCols};
  };
  GemmShape s = shapeIn(k);

  auto *constK = llvm::dyn_cast<llvm::ConstantInt>(s.K);
  // M of the dot case (A not transposed: its leading dims), the batch
  // counted as 2 (see above).
  int64_t rowsEstimate = 1;
  for (int64_t d : llvm::ArrayRef<int64_t>(k.inShape(0)).drop_back())
    rowsEstimate *= d == kBatch ? 2 : d;
  bool fewRows = rowsEstimate < 128;
  if (tb && !ta && fewRows && (!constK || constK->getSExtValue() >= 128)) {
    GemmTiles tiles = gemmDotTiles(k, s);
    emitParallelFor(k, tiles.count, grainForFlops(k, tiles.flopsPerTile), {},
                    [&](KernelCtx &p, llvm::ArrayRef<Value *>, Value *begin, Value *end) {
      emitGemmDot(p, shapeIn(p), p.in(0), p.in(1), p.out(), begin, end);
    });
    return llvm::Error::success();
  }

  Value *packed = nullptr;
  if (tb)
    packed = emitPackTransposed(k, 1);
  GemmTiles tiles = gemmOuterTiles(k, s);
  llvm::SmallVector<Value *, 1> extra;
  if (packed)
    extra.push_back(packed);
  emitParallelFor(k, tiles.count, grainForFlops(k, tiles.flopsPerTile), extra,
                  [&](KernelCtx &p, llvm::ArrayRef<Value *> pExtra, Value *begin, Value *end) {
    GemmShape ps = shapeIn(p);
    Value *sAi = ta ? p.i64c(1) : ps.K;
    Value *sAk = ta ? ps.M : p.i64c(1);
    emitGemmOuter(p, ps, p.in(0), sAi, sAk, packed ? pExtra[0] : p.in(1), p.out(), begin, end);
  });
  if (packed)
    k.freeScratch(packed);
  return llvm::Error::success();
}

} // namespace gradc::codegen
