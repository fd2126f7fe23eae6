//===- codegen/LowerMatMul.cpp - matmul with transpose flags ---------------===//
//
// C[M,Nn] = op(A)[M,K] * op(B)[K,Nn], op = optional transpose (rank 2; any of
// M, K, Nn may be the batch N).
//
// Algorithm: a register-blocked kernel over explicit vectors of V = f32Lanes
// floats (16 with AVX-512). C is cut into tiles of MR rows x NR vectors; a
// tile's MR*NR accumulators live in registers for the whole k loop:
//   for k in [0, K):
//     b[r]    = B[k, j0 + r*V .. +V)                  (NR vector loads)
//     a       = splat A(i0 + m, k)                    (MR scalar loads)
//     acc[m][r] = fmuladd(a, b[r], acc[m][r])         (MR*NR FMAs)
//   C tile = acc                                      (stored once)
// so each loaded vector feeds MR FMAs and each splat NR, instead of one load
// and one store of C per FMA in a plain i-k-j loop. Tiles are walked
// panel by panel (a panel = NR*V columns of B, reused from L2 by every row
// block). Edges: rows that do not fill MR are done one row at a time (MR=1);
// columns that do not fill a panel are done one vector at a time with a lane
// mask (masked loads/stores), so nothing is read or written out of bounds.
//
// Operands: A is read as scalars through strides, A(i,k) = A[i*sAi + k*sAk],
// so op(A) = A^T needs no copy (and reads MR consecutive floats per k).
// B must be row-major [K,Nn] for the vector loads: a transposed B is first
// packed into a heap scratch copy, O(K*Nn) against O(M*K*Nn) for the product.
//
// Tile shape: MR=4 rows; NR=4 vectors with 32 vector registers (AVX-512:
// 16 accumulators + 4 B vectors + 1 splat), NR=2 with 16.
// Register/cache blocking beyond this (packing A, K blocking for L1,
// threads) is future work.
//
//===----------------------------------------------------------------------===//
#include "codegen/KernelEmitter.h"
#include "codegen/Lowering.h"

#include "llvm/IR/Intrinsics.h"

namespace gradc::codegen {

using llvm::Value;

namespace {

struct Gemm {
  Value *A, *sAi, *sAk; // A(i,k) = A[i*sAi + k*sAk]
  Value *B;             // row-major [K, Nn]
  Value *C;             // row-major [M, Nn]
  Value *M, *K, *Nn;
  unsigned lanes;
  llvm::FixedVectorType *vec;
};

/// Packs src[rows, cols] (row-major) transposed into a new [cols, rows]
/// scratch buffer and returns it. Walks src in order (reads contiguous).
Value *packTransposed(KernelCtx &k, Value *src, Value *rows, Value *cols) {
  Value *dst = k.mallocScratch(k.mul(rows, cols));
  k.loop(rows, [&](Value *r) {
    k.loop(cols, [&](Value *c) {
      k.store(k.load(src, k.add(k.mul(r, cols), c)), dst, k.add(k.mul(c, rows), r));
    }, "pc");
  }, "pr");
  return dst;
}

/// One MR x NR tile at (i0, j0). With `mask`, NR must be 1 and only the
/// lanes set in the mask are loaded from B and stored to C.
void emitTile(KernelCtx &k, const Gemm &g, Value *i0, Value *j0, unsigned mr, unsigned nr,
              Value *mask) {
  auto &b = k.b();
  assert((!mask || nr == 1) && "masked tiles are one vector wide");
  llvm::Align align(4);
  Value *zero = llvm::Constant::getNullValue(g.vec);
  llvm::SmallVector<Value *, 16> init(mr * nr, zero);
  llvm::SmallVector<Value *, 4> aRow(mr);
  for (unsigned m = 0; m < mr; ++m)
    aRow[m] = k.mul(k.add(i0, k.i64c(m)), g.sAi);

  LoopValues acc = k.loopCarried(g.K, init, [&](Value *kk, llvm::ArrayRef<Value *> cur) {
    Value *bRow = k.add(k.mul(kk, g.Nn), j0);
    llvm::SmallVector<Value *, 4> bv(nr);
    for (unsigned r = 0; r < nr; ++r) {
      Value *p = k.elemPtr(g.B, k.add(bRow, k.i64c(r * g.lanes)));
      bv[r] = mask ? static_cast<Value *>(b.CreateMaskedLoad(g.vec, p, align, mask, zero))
                   : b.CreateAlignedLoad(g.vec, p, align);
    }
    Value *kOff = k.mul(kk, g.sAk);
    LoopValues next(cur.begin(), cur.end());
    for (unsigned m = 0; m < mr; ++m) {
      Value *a = b.CreateVectorSplat(g.lanes, k.load(g.A, k.add(aRow[m], kOff)));
      for (unsigned r = 0; r < nr; ++r)
        next[m * nr + r] = b.CreateIntrinsic(llvm::Intrinsic::fmuladd, {g.vec},
                                             {a, bv[r], cur[m * nr + r]});
    }
    return next;
  }, "k");

  for (unsigned m = 0; m < mr; ++m) {
    Value *cRow = k.add(k.mul(k.add(i0, k.i64c(m)), g.Nn), j0);
    for (unsigned r = 0; r < nr; ++r) {
      Value *p = k.elemPtr(g.C, k.add(cRow, k.i64c(r * g.lanes)));
      if (mask)
        b.CreateMaskedStore(acc[m * nr + r], p, align, mask);
      else
        b.CreateAlignedStore(acc[m * nr + r], p, align);
    }
  }
}

/// Every row of C for the columns [j0, j0 + nr*lanes): row blocks of MR,
/// then the leftover rows one at a time.
void emitPanel(KernelCtx &k, const Gemm &g, Value *j0, unsigned mr, unsigned nr,
               Value *mask) {
  auto &b = k.b();
  Value *blocks = b.CreateUDiv(g.M, k.i64c(mr));
  k.loop(blocks, [&](Value *bi) { emitTile(k, g, k.mul(bi, k.i64c(mr)), j0, mr, nr, mask); },
         "ib");
  Value *done = k.mul(blocks, k.i64c(mr));
  k.loop(b.CreateSub(g.M, done), [&](Value *r) {
    emitTile(k, g, k.add(done, r), j0, 1, nr, mask);
  }, "ir");
}

} // namespace

llvm::Error lowerMatMul(KernelCtx &k, const ir::Node &n) {
  auto &b = k.b();
  bool ta = n.attrs().getInt("transpose_a", 0) != 0;
  bool tb = n.attrs().getInt("transpose_b", 0) != 0;
  const Shape &as = k.inShape(0), &bs = k.inShape(1);
  Value *a0 = k.dim(as[0]), *a1 = k.dim(as[1]);
  Value *b0 = k.dim(bs[0]), *b1 = k.dim(bs[1]);

  Gemm g;
  g.M = ta ? a1 : a0;
  g.K = ta ? a0 : a1;
  g.Nn = tb ? b0 : b1;
  g.A = k.in(0);
  g.sAi = ta ? k.i64c(1) : g.K;
  g.sAk = ta ? g.M : k.i64c(1);
  g.B = tb ? packTransposed(k, k.in(1), b0, b1) : k.in(1);
  g.C = k.out();
  g.lanes = k.target().f32Lanes;
  g.vec = llvm::FixedVectorType::get(k.f32(), g.lanes);

  const unsigned mr = 4;
  const unsigned nr = k.target().vectorRegisters >= 32 ? 4 : 2;
  const int64_t panelWidth = nr * g.lanes;

  // Full panels.
  Value *panels = b.CreateUDiv(g.Nn, k.i64c(panelWidth));
  k.loop(panels, [&](Value *p) {
    emitPanel(k, g, k.mul(p, k.i64c(panelWidth)), mr, nr, nullptr);
  }, "jp");

  // Leftover columns, one masked vector at a time.
  Value *tailStart = k.mul(panels, k.i64c(panelWidth));
  Value *tailCols = b.CreateSub(g.Nn, tailStart);
  Value *tailVecs = b.CreateUDiv(k.add(tailCols, k.i64c(g.lanes - 1)), k.i64c(g.lanes));
  k.loop(tailVecs, [&](Value *t) {
    Value *j0 = k.add(tailStart, k.mul(t, k.i64c(g.lanes)));
    Value *left = b.CreateSub(g.Nn, j0);
    llvm::SmallVector<llvm::Constant *, 16> lane;
    for (unsigned l = 0; l < g.lanes; ++l)
      lane.push_back(llvm::ConstantInt::get(k.i64(), l));
    Value *mask = b.CreateICmpULT(llvm::ConstantVector::get(lane),
                                  b.CreateVectorSplat(g.lanes, left), "mask");
    emitPanel(k, g, j0, mr, 1, mask);
  }, "jt");

  if (tb)
    k.freeScratch(g.B);
  return llvm::Error::success();
}

} // namespace gradc::codegen
