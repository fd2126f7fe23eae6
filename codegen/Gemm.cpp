//===- codegen/Gemm.cpp - Register-blocked matrix product kernels ---------===//
//
// Both kernels use explicit vectors of V = f32Lanes floats (16 with AVX-512)
// and cut C into tiles whose accumulators stay in registers for the whole
// k loop, so every loaded vector feeds several FMAs and C is stored once.
//
// Outer product (emitGemmOuter), C = A * B with B row-major [K,Nn]: a tile
// is MR rows x NR vectors of columns:
//   for k:  b[r] = B[k, j0 + r*V .. +V);  a = splat A(i0+m, k);
//           acc[m][r] = fmuladd(a, b[r], acc[m][r])
// Tiles go panel by panel (a panel = NR*V columns of B, kept in L2 while
// every row block uses it). A is read as scalars through strides, so a
// transposed A costs nothing (its MR values per k are even adjacent).
// Edges: leftover rows one at a time (MR=1); leftover columns as one tile
// of as many vectors as they need, the last with a lane mask (masked
// loads/stores: nothing out of bounds), or, when Nn is known only at run
// time, one masked vector at a time.
//
// Dot product (emitGemmDot), C = A * B^T with A [M,K] and B [Nn,K] both
// row-major: a tile is MR rows of A x NR rows of B, each accumulator a
// vector of partial sums along k:
//   for kc:  a[m] = A[i0+m, kc*V .. +V);  b[n] = B[j0+n, kc*V .. +V);
//            acc[m][n] = fmuladd(a[m], b[n], acc[m][n])
// then one masked step for the K % V leftover lanes, and each accumulator
// is summed across its lanes (reassociated) into C[i0+m, j0+n]. This
// needs no transposed copy of B: packing B^T element by element costs a
// third of the product itself at MNIST sizes.
//
// Tile shapes: MR=4 and NR=4 with 32 vector registers (AVX-512: 16
// accumulators + 4 + 1 or 4 + 4 operand vectors), NR=2 with 16. On an
// AVX-512 Zen 4 core the outer-product kernel measured at the FMA peak
// (16 f32 FMA/cycle) for [64,784]x[784,256]; 6x4, 8x2, 8x3, 4x6 were no
// better. Packing: when B's rows are 1024 floats or more apart and C has
// 64 rows or more (checked at run time when M holds the batch), each panel
// of B is first copied into a contiguous K x NR*V buffer that the panel's
// row tiles then stream (Outer::ldb, bCol): with B read in place every k
// step of a panel touches another 4 KB page and the same few L1 sets, and
// 1024^3 ran at ~50 GFLOP/s; packed, ~107. Cache blocking over K is
// future work.
//
// Shared micro-kernels: the k loop of a tile and the stores of its
// accumulators are one internal function per tile kind, e.g.
//   void gradc_gemm_outer_4x4_v16(ptr A, ptr B, ptr C, i64 K,
//                                 i64 sAi, i64 sAk, i64 Nn, i64 i0, i64 j0)
// (outer: MRxNR, 1xNR, MRx1 and 1x1 masked; dot: MRxNR, 1xNR, MRx1, 1x1),
// emitted the first time a module needs it and called for every tile of
// every GEMM of the module (matmul, conv, bmm) with the sizes, strides and
// tile position as arguments. Only the blocking loops around the calls stay
// specialized to each kernel's constant shapes. Inline, every matmul and
// conv kernel carried four specialized copies of the k loop, which was
// most of lenet's compile time; a call per tile (K iterations of MR x NR
// FMAs) costs nothing measurable (BLIS is built the same way).
//
// Unrolling: the k loops are marked rolled (KernelCtx::keepLastLoopRolled):
// their bodies are already MR x NR FMAs, and LLVM fully unrolled the ones
// of constant K (a conv's 25 taps), multiplying the code for no speed. The
// tile loops follow the default policy (no runtime unrolling): with the
// micro-kernels inline, their runtime unrolling measured ~15% faster on the
// MNIST MLP's step; now that a tile is a call, it only copied the calls
// (no step time difference measured, docs/ARCHITECTURE.md "Compile time").
//
// Epilogues (fusion, KernelCtx::TileEpilogue): after a tile's stores the
// kernel hands the tile's rows and columns to the epilogue, which reads them
// back while they are in L1 and applies the fused bias / activation /
// residual maps.
//
// Threads: both kernels compute a range [begin, end) of tile numbers (see
// Gemm.h), so LowerMatMul can hand ranges to the thread pool. A tile's
// number fixes its position and its kind (full, leftover rows, leftover
// columns, or both), hence the instructions that compute it; the range
// only decides which tiles run. Along each dimension units [0, blocks) are
// full blocks and the rest are edges; forEachUnit visits the part of a
// range that falls in each, so the loop nest is the single-threaded one
// with clipped bounds. Nothing is split along K.
//
//===----------------------------------------------------------------------===//
#include "codegen/Gemm.h"
#include "codegen/ParallelFor.h"

#include "llvm/IR/Intrinsics.h"
#include "llvm/IR/Module.h"

namespace gradc::codegen {

using llvm::Value;

namespace {

struct Tiling {
  unsigned lanes, mr, nr;
  llvm::FixedVectorType *vec;
};

Tiling tilingFor(KernelCtx &k) {
  Tiling t;
  t.lanes = k.target().f32Lanes;
  t.mr = 4;
  t.nr = k.target().vectorRegisters >= 32 ? 4 : 2;
  t.vec = llvm::FixedVectorType::get(k.f32(), t.lanes);
  return t;
}

/// <lanes x i1>: lane l set when l < left.
Value *laneMask(KernelCtx &k, unsigned lanes, Value *left) {
  llvm::SmallVector<llvm::Constant *, 16> lane;
  for (unsigned l = 0; l < lanes; ++l)
    lane.push_back(llvm::ConstantInt::get(k.i64(), l));
  return k.b().CreateICmpULT(llvm::ConstantVector::get(lane),
                             k.b().CreateVectorSplat(lanes, left), "mask");
}

Value *loadVec(KernelCtx &k, const Tiling &t, Value *p, Value *mask) {
  llvm::Align align(4);
  if (!mask)
    return k.b().CreateAlignedLoad(t.vec, p, align);
  return k.b().CreateMaskedLoad(t.vec, p, align, mask, llvm::Constant::getNullValue(t.vec));
}

Value *fma(KernelCtx &k, const Tiling &t, Value *a, Value *b, Value *c) {
  return k.b().CreateIntrinsic(llvm::Intrinsic::fmuladd, {t.vec}, {a, b, c});
}

Value *umin(KernelCtx &k, Value *a, Value *b) {
  return k.b().CreateBinaryIntrinsic(llvm::Intrinsic::umin, a, b);
}
Value *umax(KernelCtx &k, Value *a, Value *b) {
  return k.b().CreateBinaryIntrinsic(llvm::Intrinsic::umax, a, b);
}

/// Units [0, blocks) of one dimension are full blocks, the units after them
/// edges. Calls full(b) for every block b and edge(e) for every edge e
/// (counted from the first edge) whose unit lies in [lo, hi), in order.
void forEachUnit(KernelCtx &k, Value *blocks, Value *lo, Value *hi,
                 llvm::function_ref<void(Value *)> full, llvm::function_ref<void(Value *)> edge,
                 const llvm::Twine &name) {
  auto &b = k.b();
  Value *fLo = umin(k, lo, blocks), *fHi = umin(k, hi, blocks);
  k.loop(b.CreateSub(fHi, fLo), [&](Value *i) { full(k.add(fLo, i)); }, name + "b");
  Value *eLo = umax(k, lo, blocks), *eHi = umax(k, hi, blocks);
  k.loop(b.CreateSub(eHi, eLo), [&](Value *i) { edge(b.CreateSub(k.add(eLo, i), blocks)); },
         name + "e");
}

/// Units of one dimension of `extent` elements: blocks of `width`, then the
/// leftover elements in edges of `edgeWidth` (the last one partial).
struct Units {
  Value *blocks, *count;
};
Units unitsOf(KernelCtx &k, Value *extent, unsigned width, unsigned edgeWidth) {
  auto &b = k.b();
  Value *blocks = b.CreateUDiv(extent, k.i64c(width));
  Value *left = b.CreateSub(extent, k.mul(blocks, k.i64c(width)));
  Value *edges = b.CreateUDiv(k.add(left, k.i64c(edgeWidth - 1)), k.i64c(edgeWidth));
  return {blocks, k.add(blocks, edges)};
}

/// Tiles are numbered column unit by column unit, the row units of each in
/// order: tile t is row unit t % R of column unit t / R. Calls
/// column(c, edge, rLo, rHi) for every column unit c that [begin, end)
/// touches (edge: c is an edge unit), with its row units [rLo, rHi) in the
/// range.
void forEachColumnInRange(KernelCtx &k, Value *rowUnits, Units cols, Value *begin, Value *end,
                          llvm::function_ref<void(Value *c, bool edge, Value *rLo, Value *rHi)>
                              column) {
  auto &b = k.b();
  // The pool never hands out an empty range, so R >= 1 here; the umax keeps
  // the divisions defined regardless.
  Value *R = umax(k, rowUnits, k.i64c(1));
  Value *cLo = b.CreateUDiv(begin, R);
  Value *cHi = umin(k, b.CreateUDiv(k.add(end, b.CreateSub(R, k.i64c(1))), R), cols.count);
  auto rows = [&](Value *c, bool edge) {
    Value *base = k.mul(c, R);
    Value *rLo = b.CreateBinaryIntrinsic(llvm::Intrinsic::smax, b.CreateSub(begin, base),
                                         k.i64c(0));
    Value *rHi = b.CreateBinaryIntrinsic(llvm::Intrinsic::smin, b.CreateSub(end, base), R);
    column(c, edge, rLo, rHi);
  };
  forEachUnit(
      k, cols.blocks, cLo, cHi, [&](Value *c) { rows(c, false); },
      [&](Value *e) { rows(k.add(cols.blocks, e), true); }, "j");
}

/// Calls tile(i0, mr) for the row units [rLo, rHi): blocks of `mr` rows,
/// then leftover rows one at a time.
void forEachRowTile(KernelCtx &k, Value *M, unsigned mr, Value *rLo, Value *rHi,
                    llvm::function_ref<void(Value *i0, unsigned mr)> tile) {
  Value *blocks = k.b().CreateUDiv(M, k.i64c(mr));
  Value *done = k.mul(blocks, k.i64c(mr));
  forEachUnit(
      k, blocks, rLo, rHi, [&](Value *bi) { tile(k.mul(bi, k.i64c(mr)), mr); },
      [&](Value *r) { tile(k.add(done, r), 1); }, "i");
}

// ---- Shared micro-kernels ---------------------------------------------------

/// The module's function `name`, emitted by `body` the first time:
///   void name(ptr noalias readonly A, ptr noalias readonly B, ptr noalias C,
///             i64 K, i64 trailing...)
/// body sees A, B as in(0), in(1), C as out(0), K as batch() and the rest
/// as trailing(i). One function per tile shape serves every GEMM of the
/// module (matmul, conv, bmm): LLVM optimizes and compiles the register-
/// blocked k loop once, not once per tile kind of every kernel.
llvm::Function *microKernel(KernelCtx &k, const std::string &name, unsigned numTrailing,
                            llvm::function_ref<void(KernelCtx &)> body) {
  llvm::Module &m = k.module();
  if (llvm::Function *f = m.getFunction(name))
    return f;
  llvm::LLVMContext &ctx = m.getContext();
  llvm::Type *ptr = llvm::PointerType::getUnqual(ctx);
  llvm::SmallVector<llvm::Type *, 10> params{ptr, ptr, ptr};
  params.append(1 + numTrailing, llvm::Type::getInt64Ty(ctx));
  auto *fty = llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), params, false);
  auto *f = llvm::Function::Create(fty, llvm::Function::InternalLinkage, name, m);
  f->addFnAttr(llvm::Attribute::NoInline);
  f->addFnAttr(llvm::Attribute::NoUnwind);
  for (unsigned i = 0; i < 3; ++i) {
    f->addParamAttr(i, llvm::Attribute::NoAlias);
    f->addParamAttr(i, llvm::Attribute::NoCapture);
    if (i < 2)
      f->addParamAttr(i, llvm::Attribute::ReadOnly);
  }
  const char *names[] = {"A", "B", "C", "K"};
  for (unsigned i = 0; i < 4; ++i)
    f->getArg(i)->setName(names[i]);
  KernelCtx mk(f, k.node(), k.target(), 2, 1, numTrailing);
  body(mk);
  mk.b().CreateRetVoid();
  return f;
}

// ---- Outer product ----------------------------------------------------------

struct Outer {
  GemmShape s;
  Value *A, *sAi, *sAk, *B, *C;
  Tiling t;
  /// B's row stride and the column of B where tile column j0 starts: Nn
  /// and j0 for B itself; the panel's width and 0 for a packed panel.
  Value *ldb = nullptr, *bCol = nullptr;
};

/// The k loop of one mr x nr tile at (i0, j0) and the stores of its
/// accumulators to C. With `mask`, only the lanes set in it are loaded
/// from B and stored to C in the tile's last vector of columns.
void outerTileBody(KernelCtx &k, const Outer &g, Value *i0, Value *j0, Value *bCol,
                   unsigned mr, unsigned nr, Value *mask) {
  auto &b = k.b();
  const Tiling &t = g.t;
  auto maskOf = [&](unsigned r) { return r + 1 == nr ? mask : nullptr; };
  llvm::SmallVector<Value *, 16> init(mr * nr, llvm::Constant::getNullValue(t.vec));
  llvm::SmallVector<Value *, 4> aRow(mr);
  for (unsigned m = 0; m < mr; ++m)
    aRow[m] = k.mul(k.add(i0, k.i64c(m)), g.sAi);

  LoopValues acc = k.loopCarried(g.s.K, init, [&](Value *kk, llvm::ArrayRef<Value *> cur) {
    Value *bRow = k.add(k.mul(kk, g.ldb), bCol);
    llvm::SmallVector<Value *, 4> bv(nr);
    for (unsigned r = 0; r < nr; ++r)
      bv[r] = loadVec(k, t, k.elemPtr(g.B, k.add(bRow, k.i64c(r * t.lanes))), maskOf(r));
    Value *kOff = k.mul(kk, g.sAk);
    LoopValues next(cur.begin(), cur.end());
    for (unsigned m = 0; m < mr; ++m) {
      Value *a = b.CreateVectorSplat(t.lanes, k.load(g.A, k.add(aRow[m], kOff)));
      for (unsigned r = 0; r < nr; ++r)
        next[m * nr + r] = fma(k, t, a, bv[r], cur[m * nr + r]);
    }
    return next;
  }, "k");
  k.keepLastLoopRolled();

  for (unsigned m = 0; m < mr; ++m) {
    Value *cRow = k.add(k.mul(k.add(i0, k.i64c(m)), g.s.Nn), j0);
    for (unsigned r = 0; r < nr; ++r) {
      Value *p = k.elemPtr(g.C, k.add(cRow, k.i64c(r * t.lanes)));
      if (maskOf(r))
        b.CreateMaskedStore(acc[m * nr + r], p, llvm::Align(4), mask);
      else
        b.CreateAlignedStore(acc[m * nr + r], p, llvm::Align(4));
    }
  }
}

/// One mr x nr tile at (i0, j0): a call of the module's shared outer-product
/// micro-kernel of that shape, then the epilogue. With `left` (the columns
/// left from j0, more than (nr - 1) vectors), the last vector is masked.
void outerTile(KernelCtx &k, const Outer &g, Value *i0, Value *j0, unsigned mr, unsigned nr,
               Value *left) {
  auto &b = k.b();
  const Tiling &t = g.t;
  std::string name = "gradc_gemm_outer_" + std::to_string(mr) + "x" + std::to_string(nr) +
                     (left ? "_masked" : "") + "_v" + std::to_string(t.lanes);
  // Arguments: A, B, C, K, then sAi, sAk, Nn, i0, j0, ldb, bCol [, left].
  llvm::Function *f = microKernel(k, name, left ? 8 : 7, [&](KernelCtx &mk) {
    Outer in{GemmShape{nullptr, mk.batch(), mk.trailing(2)}, mk.in(0), mk.trailing(0),
             mk.trailing(1), mk.in(1), mk.out(0), tilingFor(mk), mk.trailing(5)};
    Value *mask = nullptr;
    if (left) // lanes of the last vector: left - (nr - 1) * lanes
      mask = laneMask(mk, t.lanes, mk.b().CreateSub(mk.trailing(7), mk.i64c((nr - 1) * t.lanes)));
    outerTileBody(mk, in, mk.trailing(3), mk.trailing(4), mk.trailing(6), mr, nr, mask);
  });
  Value *ldb = g.ldb ? g.ldb : g.s.Nn;
  Value *bCol = g.bCol ? g.bCol : j0;
  llvm::SmallVector<Value *, 12> args{g.A, g.B, g.C, g.s.K, g.sAi, g.sAk, g.s.Nn, i0, j0, ldb, bCol};
  if (left)
    args.push_back(left);
  b.CreateCall(f, args);
  if (const KernelCtx::TileEpilogue *epilogue = k.tileEpilogue()) {
    Value *cols = left ? umin(k, k.i64c(nr * t.lanes), left) : k.i64c(nr * t.lanes);
    (*epilogue)(k, i0, k.i64c(mr), j0, cols, g.s.Nn);
  }
}

// ---- Dot product ------------------------------------------------------------

struct Dot {
  GemmShape s;
  Value *A, *B, *C;
  Tiling t;
};

/// The k loop of one mr x nr tile at (i0, j0), its horizontal sums and
/// the stores to C.
void dotTileBody(KernelCtx &k, const Dot &g, Value *i0, Value *j0, unsigned mr, unsigned nr) {
  auto &b = k.b();
  const Tiling &t = g.t;
  llvm::SmallVector<Value *, 4> aRow(mr), bRow(nr);
  for (unsigned m = 0; m < mr; ++m)
    aRow[m] = k.mul(k.add(i0, k.i64c(m)), g.s.K);
  for (unsigned n = 0; n < nr; ++n)
    bRow[n] = k.mul(k.add(j0, k.i64c(n)), g.s.K);

  auto step = [&](Value *k0, llvm::ArrayRef<Value *> cur, Value *mask) {
    llvm::SmallVector<Value *, 4> av(mr), bv(nr);
    for (unsigned m = 0; m < mr; ++m)
      av[m] = loadVec(k, t, k.elemPtr(g.A, k.add(aRow[m], k0)), mask);
    for (unsigned n = 0; n < nr; ++n)
      bv[n] = loadVec(k, t, k.elemPtr(g.B, k.add(bRow[n], k0)), mask);
    LoopValues next(cur.begin(), cur.end());
    for (unsigned m = 0; m < mr; ++m)
      for (unsigned n = 0; n < nr; ++n)
        next[m * nr + n] = fma(k, t, av[m], bv[n], cur[m * nr + n]);
    return next;
  };

  llvm::SmallVector<Value *, 16> init(mr * nr, llvm::Constant::getNullValue(t.vec));
  Value *chunks = b.CreateUDiv(g.s.K, k.i64c(t.lanes));
  LoopValues acc = k.loopCarried(chunks, init, [&](Value *kc, llvm::ArrayRef<Value *> cur) {
    return step(k.mul(kc, k.i64c(t.lanes)), cur, nullptr);
  }, "kc");
  k.keepLastLoopRolled();
  // The leftover K % V lanes (an all-false mask when there are none).
  Value *k0 = k.mul(chunks, k.i64c(t.lanes));
  acc = step(k0, acc, laneMask(k, t.lanes, b.CreateSub(g.s.K, k0)));

  {
    llvm::IRBuilder<>::FastMathFlagGuard guard(b);
    llvm::FastMathFlags fmf = b.getFastMathFlags();
    fmf.setAllowReassoc(true);
    b.setFastMathFlags(fmf);
    for (unsigned m = 0; m < mr; ++m) {
      Value *cRow = k.add(k.mul(k.add(i0, k.i64c(m)), g.s.Nn), j0);
      for (unsigned n = 0; n < nr; ++n)
        k.store(b.CreateFAddReduce(k.f32c(-0.0), acc[m * nr + n]), g.C,
                k.add(cRow, k.i64c(n)));
    }
  }
}

/// One mr x nr tile at (i0, j0): a call of the module's shared dot-product
/// micro-kernel of that shape, then the epilogue.
void dotTile(KernelCtx &k, const Dot &g, Value *i0, Value *j0, unsigned mr, unsigned nr) {
  std::string name = "gradc_gemm_dot_" + std::to_string(mr) + "x" + std::to_string(nr) + "_v" +
                     std::to_string(g.t.lanes);
  // Arguments: A, B, C, K, then Nn, i0, j0.
  llvm::Function *f = microKernel(k, name, 3, [&](KernelCtx &mk) {
    Dot in{GemmShape{nullptr, mk.batch(), mk.trailing(0)}, mk.in(0), mk.in(1), mk.out(0),
           tilingFor(mk)};
    dotTileBody(mk, in, mk.trailing(1), mk.trailing(2), mr, nr);
  });
  k.b().CreateCall(f, {g.A, g.B, g.C, g.s.K, g.s.Nn, i0, j0});
  if (const KernelCtx::TileEpilogue *epilogue = k.tileEpilogue())
    (*epilogue)(k, i0, k.i64c(mr), j0, k.i64c(nr), g.s.Nn);
}

} // namespace

/// 2*M*K*Nn / tiles: edge tiles can be most of a narrow product (Nn = 10
/// is one masked vector wide), so a full tile's FLOPs would overstate it.
static Value *averageTileFlops(KernelCtx &k, const GemmShape &s, Value *tiles) {
  Value *flops = k.mul(k.mul(k.mul(s.M, s.K), s.Nn), k.i64c(2));
  return k.b().CreateUDiv(flops, umax(k, tiles, k.i64c(1)));
}

namespace {

/// Column units of the outer product: panels of NR vectors, then the
/// leftover columns. With Nn a constant they are one edge unit `edgeVectors`
/// wide, so a product 32 columns wide (attention's) runs 4x2 tiles and not
/// two 4x1 masked ones: per k step 4 broadcasts then feed 8 FMAs, not 4.
/// Otherwise one masked vector per unit. Edge tiles always take the masked
/// micro-kernel (the mask is full when the edge is whole vectors), and
/// leftover rows in a wide edge go one masked vector at a time: every
/// micro-kernel variant is a function LLVM compiles, and unmasked and
/// 1-row variants of each width added ~5% to lenet's compile time.
struct OuterColumns {
  Units units;
  unsigned edgeVectors = 1; // 0: the edge width is known at run time only
};
OuterColumns outerColumns(KernelCtx &k, const Tiling &t, Value *Nn) {
  const int64_t panelWidth = t.nr * t.lanes;
  auto *c = llvm::dyn_cast<llvm::ConstantInt>(Nn);
  if (!c)
    return {unitsOf(k, Nn, panelWidth, t.lanes), 0};
  int64_t n = c->getSExtValue(), left = n % panelWidth;
  OuterColumns oc{unitsOf(k, Nn, panelWidth, panelWidth)};
  oc.edgeVectors = static_cast<unsigned>((left + t.lanes - 1) / t.lanes);
  return oc;
}

} // namespace

GemmTiles gemmOuterTiles(KernelCtx &k, const GemmShape &s) {
  Tiling t = tilingFor(k);
  Value *rows = unitsOf(k, s.M, t.mr, 1).count;
  Value *cols = outerColumns(k, t, s.Nn).units.count;
  return {k.mul(rows, cols), averageTileFlops(k, s, k.mul(rows, cols))};
}

GemmTiles gemmDotTiles(KernelCtx &k, const GemmShape &s) {
  Tiling t = tilingFor(k);
  Value *rows = unitsOf(k, s.M, t.mr, 1).count;
  Value *cols = unitsOf(k, s.Nn, t.nr, 1).count;
  return {k.mul(rows, cols), averageTileFlops(k, s, k.mul(rows, cols))};
}

void emitGemmOuter(KernelCtx &k, const GemmShape &s, Value *A, Value *sAi, Value *sAk,
                   Value *B, Value *C, Value *begin, Value *end) {
  auto &b = k.b();
  Outer g{s, A, sAi, sAk, B, C, tilingFor(k)};
  const int64_t panelWidth = g.t.nr * g.t.lanes;
  // Rows of B far apart (kPackRowStride floats or more) put every k step of
  // a panel in another page and in the same few L1 sets: the hardware
  // prefetcher does not follow, and the panel does not stay in L1. Such
  // panels are copied to a contiguous buffer first, when enough row tiles
  // reuse the copy (kPackMinRows rows of C). 1024^3: 50 -> 100+ GFLOP/s.
  constexpr int64_t kPackRowStride = 1024, kPackMinRows = 64;
  auto *cNn = llvm::dyn_cast<llvm::ConstantInt>(s.Nn);
  Value *panel = nullptr, *pack = nullptr;
  if (cNn && cNn->getSExtValue() >= kPackRowStride) {
    pack = b.CreateICmpUGE(s.M, k.i64c(kPackMinRows)); // folds when M is constant
    panel = k.mallocScratch(k.mul(s.K, k.i64c(panelWidth)));
  }
  // Column units: panels of NR vectors, then the edge (outerColumns).
  OuterColumns oc = outerColumns(k, g.t, s.Nn);
  Units cols = oc.units;
  Value *tailStart = k.mul(cols.blocks, k.i64c(panelWidth));
  forEachColumnInRange(k, unitsOf(k, s.M, g.t.mr, 1).count, cols, begin, end,
                       [&](Value *c, bool edge, Value *rLo, Value *rHi) {
    if (!edge) {
      Value *j0 = k.mul(c, k.i64c(panelWidth));
      if (!panel) {
        forEachRowTile(k, s.M, g.t.mr, rLo, rHi, [&](Value *i0, unsigned mr) {
          outerTile(k, g, i0, j0, mr, g.t.nr, nullptr);
        });
        return;
      }
      // Pack the panel B[:, j0 .. j0 + panelWidth) contiguously, then run
      // this range's row tiles over the copy (or over B when M is small at
      // run time: the micro-kernel takes B's stride as an argument).
      k.ifThen(pack, [&] {
        k.loop(s.K, [&](Value *kk) {
          b.CreateMemCpy(k.elemPtr(panel, k.mul(kk, k.i64c(panelWidth))), llvm::Align(4),
                         k.elemPtr(B, k.add(k.mul(kk, s.Nn), j0)), llvm::Align(4),
                         k.i64c(panelWidth * 4));
        }, "pk");
      });
      Outer over = g;
      over.B = b.CreateSelect(pack, panel, B);
      over.ldb = b.CreateSelect(pack, k.i64c(panelWidth), s.Nn);
      over.bCol = b.CreateSelect(pack, k.i64c(0), j0);
      forEachRowTile(k, s.M, g.t.mr, rLo, rHi, [&](Value *i0, unsigned mr) {
        outerTile(k, over, i0, j0, mr, g.t.nr, nullptr);
      });
      return;
    }
    if (oc.edgeVectors) { // the one edge unit, its width known
      forEachRowTile(k, s.M, g.t.mr, rLo, rHi, [&](Value *i0, unsigned mr) {
        if (mr > 1) {
          outerTile(k, g, i0, tailStart, mr, oc.edgeVectors, b.CreateSub(s.Nn, tailStart));
          return;
        }
        for (unsigned v = 0; v < oc.edgeVectors; ++v) { // a leftover row
          Value *j0 = k.add(tailStart, k.i64c(v * g.t.lanes));
          outerTile(k, g, i0, j0, 1, 1, b.CreateSub(s.Nn, j0));
        }
      });
      return;
    }
    Value *j0 = k.add(tailStart, k.mul(b.CreateSub(c, cols.blocks), k.i64c(g.t.lanes)));
    Value *left = b.CreateSub(s.Nn, j0);
    forEachRowTile(k, s.M, g.t.mr, rLo, rHi, [&](Value *i0, unsigned mr) {
      outerTile(k, g, i0, j0, mr, 1, left);
    });
  });
  if (panel)
    k.freeScratch(panel);
}

void emitGemmDot(KernelCtx &k, const GemmShape &s, Value *A, Value *B, Value *C, Value *begin,
                 Value *end) {
  Dot g{s, A, B, C, tilingFor(k)};
  const unsigned nr = g.t.nr;
  // Column units: blocks of nr rows of B (outer: they stay in L1 while the
  // rows of A stream by), then the leftover columns one at a time.
  Units cols = unitsOf(k, s.Nn, nr, 1);
  Value *done = k.mul(cols.blocks, k.i64c(nr));
  forEachColumnInRange(k, unitsOf(k, s.M, g.t.mr, 1).count, cols, begin, end,
                       [&](Value *c, bool edge, Value *rLo, Value *rHi) {
    Value *j0 = edge ? k.add(done, k.b().CreateSub(c, cols.blocks)) : k.mul(c, k.i64c(nr));
    unsigned n = edge ? 1 : nr;
    forEachRowTile(k, s.M, g.t.mr, rLo, rHi,
                   [&](Value *i0, unsigned mr) { dotTile(k, g, i0, j0, mr, n); });
  });
}

Value *emitPackTransposed(KernelCtx &k, unsigned input) {
  auto dims = [input](KernelCtx &c) {
    const Shape &s = c.inShape(input);
    return std::pair{c.product(llvm::ArrayRef<int64_t>(s).drop_back()), c.dim(s.back())};
  };
  auto [rows, cols] = dims(k);
  Value *dst = k.mallocScratch(k.mul(rows, cols));
  emitParallelFor(k, k.tileRows(rows), grainForElements(k, k.mul(cols, k.i64c(KernelCtx::kTransposeTile))),
                  {dst}, [&](KernelCtx &p, llvm::ArrayRef<Value *> extra, Value *begin, Value *end) {
    auto [r, c] = dims(p);
    emitTransposeCopy(p, p.in(input), extra[0], r, c, {begin, end});
  });
  return dst;
}

void emitTransposeCopy(KernelCtx &k, Value *src, Value *dst, Value *rows, Value *cols,
                       std::pair<Value *, Value *> rowTiles) {
  k.tiledNest2(rows, cols, [&](Value *r, Value *c) {
    k.store(k.load(src, k.add(k.mul(r, cols), c)), dst, k.add(k.mul(c, rows), r));
  }, rowTiles);
}

} // namespace gradc::codegen
