//===- codegen/LowerConv.cpp - conv2d and its gradients via im2col + GEMM ---===//
//
// Every conv kernel works one sample and one group at a time through the
// register-blocked GEMMs of Gemm.cpp, with the image unfolded into a column
// matrix (im2col). For a group: K = Cg*KH*KW rows of taps, P = OH*OW output
// pixels, Og output channels.
//   conv2d:             col[K,P] = im2col(x[n]);  y[n,g] = W_g[Og,K] * col
//                       (+ bias per output channel). A 1x1, stride-1,
//                       unpadded conv uses x[n,g] itself as col. A
//                       stride-1, undilated, ungrouped conv whose output
//                       rows are 1, 2 or 4 vectors skips col: it copies
//                       x[n] into zero-padded planes and loads each B
//                       vector of the product from there (DirectConv).
//   conv2d_grad_input:  stride 1: a stride-1 conv of dy (the "full"
//                       convolution, gradInputIsConv):
//                         dx[n,g] = Wf_g[Cg, Og*KH*KW] * im2col'(dy[n,g])
//                       with Wf the weight flipped and its channels swapped,
//                       padding d*(k-1) - pad. Otherwise:
//                       col[K,P] = W_g^T * dy[n,g] (W_g read through
//                       strides), then col2im adds every tap into dx[n].
//   conv2d_grad_weight: dW_g += dy[n,g][Og,P] * col[K,P]^T through the
//                       dot-product GEMM (B transposed), over n in order;
//                       small images put up to 4 samples side by side in
//                       one GEMM (depth S*P) to make it deeper. A direct
//                       conv's weight gradient reads the padded planes
//                       instead of col (dot tiles, emitDirectConvGradWeightSample).
// The forward and input-gradient kernels split the batch across the thread
// pool (each sample is computed the same way on any thread, so results are
// bitwise identical for any thread count; each chunk has its own scratch).
// The weight gradient sums over the batch: it splits the batch into chunks
// of a fixed size, sums each chunk into its own partial in parallel, and
// adds the partials in order, so its sum order too is independent of the
// thread count (the samples per GEMM depend on the shape only).
//
// im2col / col2im with stride 1 along the width (the common case): an
// output row of a column row is a shifted input row, so im2col copies it a
// vector at a time with masked loads whose mask zeroes the padding (for
// output rows of at least a vector; narrower ones go scalar), and
// col2im sums each dx vector's taps in registers from shifted masked loads
// of the column rows and stores it once. Other strides go an element at a
// time (im2col through a clamped index and a select).
//
// Why (BM_Conv2d, 1 thread, AVX-512 Zen 4, GFLOP/s before -> after; the
// GEMM alone reaches ~110 on these shapes):
//   resnet [32,16,32,32]*[16,16,3,3] pad 1: fwd 28-38 -> 86-92, dx
//     61-65 -> 76-95, dw 22-24 -> 82-85;  lenet [64,6,14,14]*[16,6,5,5]:
//     fwd 85 -> 84, dx 76 -> 73-75, dw 40-52 -> 77 (a shared 2-core VM:
//     ranges of repeated runs). Direct convs then took resnet's fwd and dx
//     from 1.77-1.92 ms (79-85 GFLOP/s, im2col ~15% of it) to 1.41-1.49 ms
//     (101-107), and dw from 1.84-1.88 to 1.48-1.49 ms (102), alternating
//     old and new binaries; the resnet step from ~27.5 to ~24.8 ms.
// - Hoisting im2col's lane masks out of its row loop (32-bit lanes, masks
//   per column row) changed nothing measurable: im2col's cost is the
//   column matrix's traffic, not its instructions.
// - The scalar im2col (a select per element, not vectorized) cost as much
//   as the GEMM; the weight gradient's transposed im2col wrote with a
//   stride of K floats per element.
// - The full-conv input gradient replaces a depth-Og (16) GEMM + col2im by
//   a depth-144 GEMM straight into dx. For padded small images it multiplies
//   the products by H*W / (OH*OW) (lenet: 196/100), and measured 22 against
//   74 there, so it is taken only when that ratio is at most 5/4.
// - Adding col rows into dx row by row (vectorized) read back vectors just
//   stored one element off: a store-forwarding stall each, 29 GFLOP/s on
//   lenet's dx; summing in registers fixed it.
// - The column matrix is a 64-byte-aligned scratch (KernelCtx::mallocScratch):
//   at malloc's 16-byte alignment every vector load of B spanned two cache
//   lines (the resnet conv's GEMM: 67 instead of 42 us per sample).
// - Tried and dropped (no gain beyond the noise of a shared 2-core VM):
//   im2col and GEMM a panel of output rows at a time (col in L2, 128 to
//   512 columns); 2 instead of 1 samples per weight-gradient GEMM at resnet
//   sizes.
//
//===----------------------------------------------------------------------===//
#include "codegen/Gemm.h"
#include "codegen/Lowering.h"
#include "codegen/ParallelFor.h"
#include "codegen/VisionLoops.h"
#include "ir/Vision.h"

#include <optional>

namespace gradc::codegen {

using llvm::Value;
using namespace vision;

// ---- Shared helpers (VisionLoops.h) --------------------------------------------

void vision::zeroFill(KernelCtx &k, Value *base, Value *offset, Value *numel) {
  k.b().CreateMemSet(k.elemPtr(base, offset), k.b().getInt8(0), k.mul(numel, k.i64c(4)),
                     llvm::Align(4));
}

Value *vision::affine(KernelCtx &k, Value *a, int64_t s, int64_t c) {
  return k.b().CreateAdd(k.b().CreateMul(a, k.i64c(s)), k.i64c(c));
}

Value *vision::inRange(KernelCtx &k, Value *i, int64_t n) {
  return k.b().CreateICmpULT(i, k.i64c(n)); // negative i is a huge unsigned
}

namespace {

ir::ConvGeom geomOf(const ir::Node &n) {
  return llvm::cantFail(ir::convGeom(n), "checked by shape inference");
}

/// Where row `r` of a column matrix (channel c, tap (p, q) of group `grp`)
/// reads sample `n`: the input plane's first element, and the row and
/// column offsets  tap * dilation - padding  of the tap.
struct ColumnRow {
  Value *planeBase, *hOff, *wOff;
};
ColumnRow columnRow(KernelCtx &k, const ir::ConvGeom &g, Value *n, Value *grp, Value *r) {
  llvm::IRBuilder<> &b = k.b();
  int64_t taps = g.kh * g.kw;
  Value *plane0 = k.add(k.mul(n, k.i64c(g.c)), k.mul(grp, k.i64c(g.cg)));
  Value *c = b.CreateUDiv(r, k.i64c(taps));
  Value *t = b.CreateURem(r, k.i64c(taps));
  Value *p = b.CreateUDiv(t, k.i64c(g.kw)), *q = b.CreateURem(t, k.i64c(g.kw));
  return {k.mul(k.add(plane0, c), k.i64c(g.h * g.w)), affine(k, p, g.dh, -g.ph),
          affine(k, q, g.dw, -g.pw)};
}

/// The column matrix of a 1x1, stride 1, unpadded conv is the input itself.
bool unfoldIsIdentity(const ir::ConvGeom &g) {
  return g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && g.ph == 0 && g.pw == 0;
}

/// Output rows of a column row, a vector of V columns at a time (stride 1
/// along the width): calls body(j0, mask, inCols) for j0 = 0, V, ..., where
/// lane l stands for output column j = j0 + l, which reads input column
/// iw = j + wOff. `mask`: lanes with j < OW, iw in [0, W) and `rowIn`;
/// `inCols`: lanes with j < OW, or null when OW is a multiple of V.
void forEachRowVector(KernelCtx &k, const ir::ConvGeom &g, Value *wOff, Value *rowIn,
                      llvm::function_ref<void(Value *j0, Value *mask, Value *inCols)> body) {
  llvm::IRBuilder<> &b = k.b();
  unsigned V = k.target().f32Lanes;
  llvm::SmallVector<llvm::Constant *, 16> lane;
  for (unsigned l = 0; l < V; ++l)
    lane.push_back(llvm::ConstantInt::get(k.i64(), l));
  Value *lanes = llvm::ConstantVector::get(lane);
  bool ragged = g.ow % V != 0;
  k.loop(k.i64c((g.ow + V - 1) / V), [&](Value *jc) {
    Value *j0 = k.mul(jc, k.i64c(V));
    Value *j = b.CreateAdd(b.CreateVectorSplat(V, j0), lanes);
    Value *inCols = ragged ? b.CreateICmpULT(j, b.CreateVectorSplat(V, k.i64c(g.ow))) : nullptr;
    Value *iw = b.CreateAdd(j, b.CreateVectorSplat(V, wOff));
    Value *mask = b.CreateAnd(b.CreateICmpULT(iw, b.CreateVectorSplat(V, k.i64c(g.w))),
                              b.CreateVectorSplat(V, rowIn));
    if (inCols)
      mask = b.CreateAnd(mask, inCols);
    body(j0, mask, inCols);
  }, "jc");
}

/// &base[idx] for an index that may point outside the buffer (only masked
/// lanes are accessed through it): no inbounds.
Value *rawPtr(KernelCtx &k, Value *base, Value *idx) {
  return k.b().CreateGEP(k.f32(), base, idx);
}

/// Unfolds group `grp` of sample `n` of x into col: row r = (c, p, q) of
/// the group's taps (at col + r * ldc), column = output pixel (i, j).
/// Stride 1 along the width and rows of at least a vector: an output row of
/// a column row is a shifted input row, copied a vector at a time with
/// masked loads (the mask zeroes the padding). Otherwise, one element at a
/// time through a clamped index and a select (for rows narrower than a
/// vector, lenet's 10, the masked copy measured ~6% slower: 84 -> 79
/// GFLOP/s forward).
void emitIm2col(KernelCtx &k, const ir::ConvGeom &g, Value *x, Value *n, Value *grp,
                Value *col, Value *ldc) {
  llvm::IRBuilder<> &b = k.b();
  auto *vt = llvm::FixedVectorType::get(k.f32(), k.target().f32Lanes);
  k.loop(k.i64c(g.colRows()), [&](Value *r) {
    auto [planeBase, hOff, wOff] = columnRow(k, g, n, grp, r);
    Value *rowOut = k.mul(r, ldc);
    k.loop(k.i64c(g.oh), [&](Value *i) {
      Value *ih = b.CreateAdd(b.CreateMul(i, k.i64c(g.sh)), hOff);
      Value *hIn = inRange(k, ih, g.h);
      Value *dst = k.add(rowOut, k.mul(i, k.i64c(g.ow)));
      if (g.sw == 1 && g.ow >= int64_t(k.target().f32Lanes)) {
        // x index of output column 0 (may lie outside the row or the buffer).
        Value *src = b.CreateAdd(b.CreateAdd(planeBase, b.CreateMul(ih, k.i64c(g.w))), wOff);
        forEachRowVector(k, g, wOff, hIn, [&](Value *j0, Value *mask, Value *inCols) {
          Value *v = b.CreateMaskedLoad(vt, rawPtr(k, x, b.CreateAdd(src, j0)), llvm::Align(4),
                                        mask, llvm::Constant::getNullValue(vt));
          Value *p = k.elemPtr(col, k.add(dst, j0));
          if (inCols)
            b.CreateMaskedStore(v, p, llvm::Align(4), inCols);
          else
            b.CreateAlignedStore(v, p, llvm::Align(4));
        });
        return;
      }
      Value *rowBase = b.CreateAdd(planeBase, b.CreateMul(ih, k.i64c(g.w)));
      k.loop(k.i64c(g.ow), [&](Value *j) {
        Value *iw = b.CreateAdd(b.CreateMul(j, k.i64c(g.sw)), wOff);
        Value *ok = b.CreateAnd(hIn, inRange(k, iw, g.w));
        Value *at = b.CreateSelect(ok, b.CreateAdd(rowBase, iw), k.i64c(0));
        Value *v = b.CreateSelect(ok, k.load(x, at), k.f32c(0));
        k.store(v, col, k.add(dst, j));
      }, "j");
    }, "i");
  }, "r");
}

/// The column matrix [K, P] of group `grp` of sample `n` of x: x itself
/// when the unfold is the identity, else `scratch` filled by im2col.
Value *columnsOf(KernelCtx &k, const ir::ConvGeom &g, Value *x, Value *n, Value *grp,
                 Value *scratch) {
  if (unfoldIsIdentity(g))
    return k.elemPtr(x, k.mul(k.add(k.mul(n, k.i64c(g.c)), k.mul(grp, k.i64c(g.cg))),
                              k.i64c(g.h * g.w)));
  emitIm2col(k, g, x, n, grp, scratch, k.i64c(g.outPixels()));
  return scratch;
}

/// Adds col[K,P] (taps x pixels of group `grp`) back into dx[n]: the
/// adjoint of emitIm2col. Taps in the padding are skipped. Every dx element
/// gets its taps in the order of r.
///
/// Stride 1 along the width: dx is visited a vector of V input columns at a
/// time, and each vector sums its taps (p, q) in registers, reading the
/// column row of tap (c, p, q) shifted by q * dw - pw (masked: lanes whose
/// output column lies outside [0, OW) read nothing), so dx is written once
/// and never read. (Adding col rows into dx row by row instead reads back
/// vectors just stored one element off, a store-forwarding stall each:
/// lenet's input gradient ran at 29 GFLOP/s that way.) The group's channels
/// of dx[n] are overwritten, so no zero fill is needed.
void emitCol2im(KernelCtx &k, const ir::ConvGeom &g, Value *col, Value *n, Value *grp,
                Value *dx) {
  llvm::IRBuilder<> &b = k.b();
  unsigned V = k.target().f32Lanes;
  auto *vt = llvm::FixedVectorType::get(k.f32(), V);
  int64_t K = g.colRows(), P = g.outPixels(), T = g.kh * g.kw;
  if (g.sw == 1) {
    llvm::SmallVector<llvm::Constant *, 16> lane;
    for (unsigned l = 0; l < V; ++l)
      lane.push_back(llvm::ConstantInt::get(k.i64(), l));
    Value *lanes = llvm::ConstantVector::get(lane);
    auto splat = [&](Value *v) { return b.CreateVectorSplat(V, v); };
    Value *zero = llvm::Constant::getNullValue(vt);
    Value *plane0 = k.add(k.mul(n, k.i64c(g.c)), k.mul(grp, k.i64c(g.cg)));
    k.loop(k.i64c(g.cg), [&](Value *c) {
      Value *plane = k.mul(k.add(plane0, c), k.i64c(g.h * g.w));
      k.loop(k.i64c(g.h), [&](Value *ih) {
        k.loop(k.i64c((g.w + V - 1) / V), [&](Value *wc) {
          Value *iw0 = k.mul(wc, k.i64c(V));
          Value *iw = b.CreateAdd(splat(iw0), lanes);
          Value *inRow = b.CreateICmpULT(iw, splat(k.i64c(g.w)));
          LoopValues acc = k.loopCarried(k.i64c(g.kh), {zero},
                                         [&](Value *p, llvm::ArrayRef<Value *> cur) {
            // Output row i = (ih + ph - p*dh) / sh, when that divides and
            // lies in [0, OH).
            Value *th = b.CreateSub(k.i64c(g.ph), b.CreateMul(p, k.i64c(g.dh)));
            th = b.CreateAdd(ih, th);
            Value *i = b.CreateSDiv(th, k.i64c(g.sh));
            Value *rowOk = b.CreateAnd(inRange(k, i, g.oh),
                                       b.CreateICmpEQ(b.CreateSRem(th, k.i64c(g.sh)), k.i64c(0)));
            rowOk = b.CreateAnd(rowOk, b.CreateICmpSGE(th, k.i64c(0)));
            Value *rowMask = b.CreateAnd(inRow, splat(rowOk));
            Value *tap0 = k.add(k.mul(c, k.i64c(T)), k.mul(p, k.i64c(g.kw)));
            return k.loopCarried(k.i64c(g.kw), {cur[0]},
                                 [&](Value *q, llvm::ArrayRef<Value *> cur2) {
              // Output column j = iw + pw - q*dw.
              Value *shift = b.CreateSub(k.i64c(g.pw), b.CreateMul(q, k.i64c(g.dw)));
              Value *j = b.CreateAdd(iw, splat(shift));
              Value *mask = b.CreateAnd(rowMask, b.CreateICmpULT(j, splat(k.i64c(g.ow))));
              Value *at = b.CreateAdd(b.CreateAdd(b.CreateMul(k.add(tap0, q), k.i64c(P)),
                                                  b.CreateMul(i, k.i64c(g.ow))),
                                      b.CreateAdd(iw0, shift));
              Value *v = b.CreateMaskedLoad(vt, rawPtr(k, col, at), llvm::Align(4), mask, zero);
              return LoopValues{b.CreateFAdd(cur2[0], v)};
            }, "q");
          }, "p");
          Value *dst = k.elemPtr(dx, k.add(k.add(plane, k.mul(ih, k.i64c(g.w))), iw0));
          if (g.w % V != 0)
            b.CreateMaskedStore(acc[0], dst, llvm::Align(4), inRow);
          else
            b.CreateAlignedStore(acc[0], dst, llvm::Align(4));
        }, "wc");
      }, "ih");
    }, "c");
    return;
  }
  k.loop(k.i64c(K), [&](Value *r) {
    auto [planeBase, hOff, wOff] = columnRow(k, g, n, grp, r);
    k.loop(k.i64c(g.oh), [&](Value *i) {
      Value *ih = b.CreateAdd(b.CreateMul(i, k.i64c(g.sh)), hOff);
      k.ifThen(inRange(k, ih, g.h), [&] {
        Value *rowBase = b.CreateAdd(planeBase, b.CreateMul(ih, k.i64c(g.w)));
        Value *colRow = k.add(k.mul(r, k.i64c(P)), k.mul(i, k.i64c(g.ow)));
        k.loop(k.i64c(g.ow), [&](Value *j) {
          Value *iw = b.CreateAdd(b.CreateMul(j, k.i64c(g.sw)), wOff);
          k.ifThen(inRange(k, iw, g.w), [&] {
            Value *at = b.CreateAdd(rowBase, iw);
            Value *v = k.load(col, k.add(colRow, j));
            k.store(b.CreateFAdd(k.load(dx, at), v), dx, at);
          });
        }, "j");
      });
    }, "i");
  }, "r");
}

/// A fusion group's element epilogue (KernelCtx::ElementEpilogue) over
/// sample n's result, the `perSample` floats from n * perSample, once the
/// sample is stored: the maps after the conv run while it is in cache.
void emitSampleEpilogue(KernelCtx &p, Value *n, int64_t perSample) {
  const KernelCtx::ElementEpilogue *epilogue = p.elementEpilogue();
  if (!epilogue)
    return;
  Value *base = p.mul(n, p.i64c(perSample));
  p.loop(p.i64c(perSample), [&](Value *e) {
    Value *at = p.add(base, e);
    (*epilogue)(p, at, p.load(p.out(), at));
  }, "epi");
}

/// C = A * B for one group through the outer-product GEMM, all tiles.
void emitGemm(KernelCtx &k, int64_t M, int64_t K, int64_t Nn, Value *A, int64_t sAi,
              int64_t sAk, Value *B, Value *C) {
  GemmShape s{k.i64c(M), k.i64c(K), k.i64c(Nn)};
  GemmTiles tiles = gemmOuterTiles(k, s);
  emitGemmOuter(k, s, A, k.i64c(sAi), k.i64c(sAk), B, C, k.i64c(0), tiles.count);
}

/// Runs body(part, extra, n, col) for every sample n, split across the
/// thread pool, with a scratch buffer of `scratch` floats per chunk (zeroed
/// once when `zeroScratch`).
void forEachSample(KernelCtx &k, int64_t flopsPerSample, int64_t scratch,
                   llvm::ArrayRef<Value *> extra, bool zeroScratch,
                   llvm::function_ref<void(KernelCtx &, llvm::ArrayRef<Value *> extra, Value *n,
                                           Value *col)> body) {
  Value *batch = k.dim(k.node().result()->type().shape[0]);
  emitParallelFor(k, batch, grainForFlops(k, k.i64c(flopsPerSample)), extra,
                  [&](KernelCtx &p, llvm::ArrayRef<Value *> ex, Value *begin, Value *end) {
    Value *col = p.mallocScratch(p.i64c(std::max<int64_t>(scratch, 1)));
    if (zeroScratch)
      zeroFill(p, col, p.i64c(0), p.i64c(scratch));
    p.loop(p.b().CreateSub(end, begin), [&](Value *t) { body(p, ex, p.add(begin, t), col); },
           "n");
    p.freeScratch(col);
  });
}

/// The input gradient of a stride-1 conv is itself a stride-1 conv of dy
/// (the "full" convolution): dx[c, h, w] = sum over (o, p, q) of
/// dy[o, h + ph - p*dh, w + pw - q*dw] * w[o, c, p, q], i.e. a conv of dy
/// with the kernel flipped and in/out channels swapped, padding
/// d*(k-1) - pad, same dilation and groups. It needs that padding to be
/// >= 0 (else the output would be cropped). It costs H*W / (OH*OW) times
/// the products of GEMM + col2im (the taps in dy's padding are products
/// with 0): taken only when that is at most 5/4 (same-size convs).
bool gradInputIsConv(const ir::ConvGeom &g) {
  return g.sh == 1 && g.sw == 1 && g.ph <= g.dh * (g.kh - 1) && g.pw <= g.dw * (g.kw - 1) &&
         4 * g.h * g.w <= 5 * g.oh * g.ow;
}
ir::ConvGeom gradInputGeom(const ir::ConvGeom &g) {
  ir::ConvGeom t = g;
  t.c = g.o, t.h = g.oh, t.w = g.ow;
  t.o = g.c, t.cg = g.og, t.og = g.cg;
  t.ph = g.dh * (g.kh - 1) - g.ph, t.pw = g.dw * (g.kw - 1) - g.pw;
  t.oh = g.h, t.ow = g.w;
  return t;
}

/// Samples whose column matrices the weight gradient puts side by side in
/// one GEMM (1, 2 or 4, a divisor of its chunk of 4): as many as keep
/// the columns within 1 MiB (an L2), so small images get a deep GEMM.
int64_t samplesPerGemm(int64_t K, int64_t P) {
  for (int64_t s : {4, 2})
    if (s * K * P <= (int64_t(1) << 18))
      return s;
  return 1;
}

/// Direct convolution (no column matrix) for stride-1, undilated,
/// ungrouped convs whose output rows are 1, 2 or 4 whole vectors: the
/// sample is first copied into a zero-padded plane per channel, after which
/// tap (p, q) of output pixel (i, j) reads padded (i + p, j + q), always in
/// bounds, so every B vector of the product is one unaligned load from the
/// padded copy. A tile is 4 output channels x 4 vectors of pixels (R output
/// rows of OW / V vectors); its k loop walks the channels, each with its
/// KH*KW taps unrolled, and feeds 4 weight broadcasts and 4 pixel vectors
/// to 16 FMAs per tap, as the GEMM's 4x4 tile does. The padded copy of a
/// channel is a few KB and stays in L1 across taps; im2col instead wrote
/// K*P floats per sample (resnet's 3x3 conv: 576 KB) for the GEMM to read
/// back.
struct DirectConv {
  int64_t rowVectors; // OW / V
  int64_t rows;       // output rows per tile: 4 / rowVectors
  int64_t pw, ph;     // padded width and height
  int64_t padFloats;  // the padded copy of a sample: C * PH * PW
};
/// The direct plan of a conv, or none (im2col; and a 1x1 unpadded conv,
/// whose column matrix is the input itself, keeps that).
std::optional<DirectConv> directConvOf(const ir::ConvGeom &g, unsigned V) {
  if (unfoldIsIdentity(g) || g.sh != 1 || g.sw != 1 || g.dh != 1 || g.dw != 1 ||
      g.groups != 1 || g.ow % V != 0)
    return std::nullopt;
  int64_t nv = g.ow / V;
  if (nv != 1 && nv != 2 && nv != 4)
    return std::nullopt;
  int64_t rows = 4 / nv;
  if (g.oh % rows != 0)
    return std::nullopt;
  // The padded plane covers every tap of every output pixel.
  int64_t pw = std::max(g.w + 2 * g.pw, g.ow + g.kw - 1);
  int64_t ph = std::max(g.h + 2 * g.ph, g.oh + g.kh - 1);
  return DirectConv{nv, rows, pw, ph, g.c * ph * pw};
}

/// The padded copy of sample n of x ([C, H, W] planes) into the interior of
/// pad ([C, PH, PW]), whose borders the caller zeroed once: no sample
/// writes them.
void emitPadSample(KernelCtx &k, const ir::ConvGeom &g, const DirectConv &d, Value *x, Value *n,
                   Value *pad) {
  llvm::IRBuilder<> &b = k.b();
  k.loop(k.i64c(g.c), [&](Value *c) {
    Value *src0 = k.mul(k.add(k.mul(n, k.i64c(g.c)), c), k.i64c(g.h * g.w));
    Value *dst0 = k.add(k.mul(c, k.i64c(d.ph * d.pw)), k.i64c(g.ph * d.pw + g.pw));
    k.loop(k.i64c(g.h), [&](Value *ih) {
      b.CreateMemCpy(k.elemPtr(pad, k.add(dst0, k.mul(ih, k.i64c(d.pw)))), llvm::Align(4),
                     k.elemPtr(x, k.add(src0, k.mul(ih, k.i64c(g.w)))), llvm::Align(4),
                     k.i64c(g.w * 4));
    }, "ih");
  }, "c");
}

/// y[n] (C = out, rows o of OH*OW pixels) = W[O, C*KH*KW] (*) pad, all
/// tiles of one sample (see DirectConv).
void emitDirectConvSample(KernelCtx &k, const ir::ConvGeom &g, const DirectConv &d, Value *W,
                          Value *pad, Value *y) {
  llvm::IRBuilder<> &b = k.b();
  const unsigned V = k.target().f32Lanes;
  auto *vt = llvm::FixedVectorType::get(k.f32(), V);
  const int64_t K = g.colRows(), T = g.kh * g.kw, P = g.outPixels();
  const int64_t nb = d.rows * d.rowVectors; // pixel vectors per tile (4)
  auto tile = [&](Value *o0, unsigned mr, Value *i0) {
    llvm::SmallVector<Value *, 16> init(mr * nb, llvm::Constant::getNullValue(vt));
    LoopValues acc = k.loopCarried(k.i64c(g.c), init, [&](Value *c, llvm::ArrayRef<Value *> cur) {
      LoopValues next(cur.begin(), cur.end());
      Value *plane = k.add(k.mul(c, k.i64c(d.ph * d.pw)), k.mul(i0, k.i64c(d.pw)));
      Value *wc = k.mul(c, k.i64c(T));
      for (int64_t p = 0; p < g.kh; ++p)
        for (int64_t q = 0; q < g.kw; ++q) {
          llvm::SmallVector<Value *, 4> bv;
          for (int64_t r = 0; r < d.rows; ++r)
            for (int64_t v = 0; v < d.rowVectors; ++v)
              bv.push_back(b.CreateAlignedLoad(
                  vt, k.elemPtr(pad, k.add(plane, k.i64c((r + p) * d.pw + q + v * V))),
                  llvm::Align(4)));
          for (unsigned m = 0; m < mr; ++m) {
            Value *wAt = k.add(k.add(k.mul(k.add(o0, k.i64c(m)), k.i64c(K)), wc),
                               k.i64c(p * g.kw + q));
            Value *a = b.CreateVectorSplat(V, k.load(W, wAt));
            for (int64_t j = 0; j < nb; ++j)
              next[m * nb + j] = b.CreateIntrinsic(llvm::Intrinsic::fmuladd, {vt},
                                                   {a, bv[j], next[m * nb + j]});
          }
        }
      return next;
    }, "c");
    k.keepLastLoopRolled();
    for (unsigned m = 0; m < mr; ++m)
      for (int64_t r = 0; r < d.rows; ++r)
        for (int64_t v = 0; v < d.rowVectors; ++v) {
          Value *at = k.add(k.add(k.mul(k.add(o0, k.i64c(m)), k.i64c(P)),
                                  k.mul(k.add(i0, k.i64c(r)), k.i64c(g.ow))),
                            k.i64c(v * V));
          b.CreateAlignedStore(acc[m * nb + r * d.rowVectors + v], k.elemPtr(y, at),
                               llvm::Align(4));
        }
  };
  k.loop(k.i64c(g.oh / d.rows), [&](Value *rb) {
    Value *i0 = k.mul(rb, k.i64c(d.rows));
    k.loop(k.i64c(g.o / 4), [&](Value *ob) { tile(k.mul(ob, k.i64c(4)), 4, i0); }, "ob");
    for (int64_t o = g.o / 4 * 4; o < g.o; ++o)
      tile(k.i64c(o), 1, i0);
  }, "rb");
}

/// dw[O, K] += dy[n] (*) pad for one sample, the weight gradient of a
/// DirectConv: dot-product tiles of 4 output channels x 4 taps k = (c, p,
/// q), each accumulator a vector of partial sums over the pixels (dy[n, o]
/// and pad shifted by tap k), summed across lanes at the end and added to
/// dw. As emitGemmDot, without the column matrix.
void emitDirectConvGradWeightSample(KernelCtx &k, const ir::ConvGeom &g, const DirectConv &d,
                                    Value *dy, Value *pad, Value *dw) {
  llvm::IRBuilder<> &b = k.b();
  const unsigned V = k.target().f32Lanes;
  auto *vt = llvm::FixedVectorType::get(k.f32(), V);
  const int64_t K = g.colRows(), T = g.kh * g.kw, P = g.outPixels();
  auto tile = [&](Value *o0, unsigned mr, Value *k0, unsigned nk) {
    llvm::SmallVector<Value *, 4> tapBase;
    for (unsigned t = 0; t < nk; ++t) {
      Value *kk = k.add(k0, k.i64c(t));
      Value *c = b.CreateUDiv(kk, k.i64c(T)), *tap = b.CreateURem(kk, k.i64c(T));
      Value *pp = b.CreateUDiv(tap, k.i64c(g.kw)), *q = b.CreateURem(tap, k.i64c(g.kw));
      tapBase.push_back(k.add(k.add(k.mul(c, k.i64c(d.ph * d.pw)), k.mul(pp, k.i64c(d.pw))), q));
    }
    llvm::SmallVector<Value *, 16> init(mr * nk, llvm::Constant::getNullValue(vt));
    LoopValues acc = k.loopCarried(k.i64c(g.oh), init, [&](Value *i, llvm::ArrayRef<Value *> cur) {
      LoopValues next(cur.begin(), cur.end());
      for (int64_t v = 0; v < d.rowVectors; ++v) {
        llvm::SmallVector<Value *, 4> dv, pv;
        for (unsigned m = 0; m < mr; ++m)
          dv.push_back(b.CreateAlignedLoad(
              vt, k.elemPtr(dy, k.add(k.add(k.mul(k.add(o0, k.i64c(m)), k.i64c(P)),
                                            k.mul(i, k.i64c(g.ow))),
                                      k.i64c(v * V))),
              llvm::Align(4)));
        for (unsigned t = 0; t < nk; ++t)
          pv.push_back(b.CreateAlignedLoad(
              vt, k.elemPtr(pad, k.add(k.add(tapBase[t], k.mul(i, k.i64c(d.pw))), k.i64c(v * V))),
              llvm::Align(4)));
        for (unsigned m = 0; m < mr; ++m)
          for (unsigned t = 0; t < nk; ++t)
            next[m * nk + t] = b.CreateIntrinsic(llvm::Intrinsic::fmuladd, {vt},
                                                 {dv[m], pv[t], next[m * nk + t]});
      }
      return next;
    }, "i");
    k.keepLastLoopRolled();
    llvm::IRBuilder<>::FastMathFlagGuard guard(b);
    llvm::FastMathFlags fmf = b.getFastMathFlags();
    fmf.setAllowReassoc(true);
    b.setFastMathFlags(fmf);
    for (unsigned m = 0; m < mr; ++m)
      for (unsigned t = 0; t < nk; ++t) {
        Value *at = k.add(k.mul(k.add(o0, k.i64c(m)), k.i64c(K)), k.add(k0, k.i64c(t)));
        Value *sum = b.CreateFAddReduce(k.f32c(-0.0), acc[m * nk + t]);
        k.store(b.CreateFAdd(k.load(dw, at), sum), dw, at);
      }
  };
  auto kTiles = [&](Value *o0, unsigned mr) {
    k.loop(k.i64c(K / 4), [&](Value *kb) { tile(o0, mr, k.mul(kb, k.i64c(4)), 4); }, "kb");
    for (int64_t kk = K / 4 * 4; kk < K; ++kk)
      tile(o0, mr, k.i64c(kk), 1);
  };
  k.loop(k.i64c(g.o / 4), [&](Value *ob) { kTiles(k.mul(ob, k.i64c(4)), 4); }, "ob");
  for (int64_t o = g.o / 4 * 4; o < g.o; ++o)
    kTiles(k.i64c(o), 1);
}

} // namespace

llvm::Error lowerConv2d(KernelCtx &k, const ir::Node &nd) {
  ir::ConvGeom g = geomOf(nd);
  int64_t K = g.colRows(), P = g.outPixels();
  bool bias = nd.inputs().size() == 3;
  std::optional<DirectConv> direct = directConvOf(g, k.target().f32Lanes);
  int64_t scratch = direct ? direct->padFloats : unfoldIsIdentity(g) ? 0 : K * P;
  forEachSample(k, 2 * g.o * K * P, scratch, {}, direct.has_value(),
                [&](KernelCtx &p, llvm::ArrayRef<Value *>, Value *n, Value *scratchCol) {
    if (direct) {
      emitPadSample(p, g, *direct, p.in(0), n, scratchCol);
      emitDirectConvSample(p, g, *direct, p.in(1), scratchCol,
                           p.elemPtr(p.out(), p.mul(n, p.i64c(g.o * P))));
    } else p.loop(p.i64c(g.groups), [&](Value *grp) {
      Value *col = columnsOf(p, g, p.in(0), n, grp, scratchCol);
      Value *A = p.elemPtr(p.in(1), p.mul(grp, p.i64c(g.og * K)));
      Value *yRow = p.add(p.mul(n, p.i64c(g.o)), p.mul(grp, p.i64c(g.og)));
      Value *C = p.elemPtr(p.out(), p.mul(yRow, p.i64c(P)));
      emitGemm(p, g.og, K, P, A, K, 1, col, C);
    }, "g");
    if (bias)
      p.loop(p.i64c(g.o), [&](Value *o) {
        Value *bo = p.load(p.in(2), o);
        Value *base = p.mul(p.add(p.mul(n, p.i64c(g.o)), o), p.i64c(P));
        p.loop(p.i64c(P), [&](Value *e) {
          Value *at = p.add(base, e);
          p.store(p.b().CreateFAdd(p.load(p.out(), at), bo), p.out(), at);
        }, "e");
      }, "o");
    emitSampleEpilogue(p, n, g.o * P);
  });
  return llvm::Error::success();
}

llvm::Error lowerConv2dGradInput(KernelCtx &k, const ir::Node &nd) {
  // (dy, w, x) -> dx
  ir::ConvGeom g = geomOf(nd);
  int64_t K = g.colRows(), P = g.outPixels();
  if (gradInputIsConv(g)) {
    // dx[n, grp] = wf_g[Cg, Og*T] * im2col'(dy[n, grp]), where wf is w
    // flipped and transposed per group: wf[grp][c][o][t] = w[grp*Og + o][c][T-1-t].
    ir::ConvGeom t = gradInputGeom(g);
    int64_t T = g.kh * g.kw, Kt = t.colRows(), Pt = t.outPixels();
    llvm::IRBuilder<> &b = k.b();
    Value *wf = k.mallocScratch(k.i64c(g.o * g.cg * T));
    k.loop(k.i64c(g.o * g.cg * T), [&](Value *e) {
      Value *tap = b.CreateURem(e, k.i64c(T));
      Value *o = b.CreateURem(b.CreateUDiv(e, k.i64c(T)), k.i64c(g.og));
      Value *c = b.CreateURem(b.CreateUDiv(e, k.i64c(T * g.og)), k.i64c(g.cg));
      Value *grp = b.CreateUDiv(e, k.i64c(T * g.og * g.cg));
      Value *oc = k.add(k.mul(k.add(k.mul(grp, k.i64c(g.og)), o), k.i64c(g.cg)), c);
      Value *at = k.add(k.mul(oc, k.i64c(T)), b.CreateSub(k.i64c(T - 1), tap));
      k.store(k.load(k.in(1), at), wf, e);
    }, "e");
    std::optional<DirectConv> direct = directConvOf(t, k.target().f32Lanes);
    int64_t scratch = direct ? direct->padFloats : unfoldIsIdentity(t) ? 0 : Kt * Pt;
    forEachSample(k, 2 * t.o * Kt * Pt, scratch, {wf}, direct.has_value(),
                  [&](KernelCtx &p, llvm::ArrayRef<Value *> ex, Value *n, Value *scratchCol) {
      if (direct) {
        emitPadSample(p, t, *direct, p.in(0), n, scratchCol);
        emitDirectConvSample(p, t, *direct, ex[0], scratchCol,
                             p.elemPtr(p.out(), p.mul(n, p.i64c(t.o * Pt))));
      } else p.loop(p.i64c(g.groups), [&](Value *grp) {
        Value *col = columnsOf(p, t, p.in(0), n, grp, scratchCol);
        Value *A = p.elemPtr(ex[0], p.mul(grp, p.i64c(t.og * Kt)));
        Value *dxRow = p.add(p.mul(n, p.i64c(t.o)), p.mul(grp, p.i64c(t.og)));
        Value *C = p.elemPtr(p.out(), p.mul(dxRow, p.i64c(Pt)));
        emitGemm(p, t.og, Kt, Pt, A, Kt, 1, col, C);
      }, "g");
      emitSampleEpilogue(p, n, t.o * Pt);
    });
    k.freeScratch(wf);
    return llvm::Error::success();
  }
  forEachSample(k, 2 * g.o * K * P, K * P, {}, false,
                [&](KernelCtx &p, llvm::ArrayRef<Value *>, Value *n, Value *col) {
    if (g.sw != 1) // else col2im overwrites dx[n]
      zeroFill(p, p.out(), p.mul(n, p.i64c(g.c * g.h * g.w)), p.i64c(g.c * g.h * g.w));
    p.loop(p.i64c(g.groups), [&](Value *grp) {
      // col[K,P] = W_g^T[K,Og] * dy[n,g][Og,P]; W_g^T(i,k) = W_g[k*K + i].
      Value *A = p.elemPtr(p.in(1), p.mul(grp, p.i64c(g.og * K)));
      Value *dyRow = p.add(p.mul(n, p.i64c(g.o)), p.mul(grp, p.i64c(g.og)));
      Value *B = p.elemPtr(p.in(0), p.mul(dyRow, p.i64c(P)));
      emitGemm(p, K, g.og, P, A, 1, K, B, col);
      emitCol2im(p, g, col, n, grp, p.out());
    }, "g");
    emitSampleEpilogue(p, n, g.c * g.h * g.w);
  });
  return llvm::Error::success();
}

llvm::Error lowerConv2dGradWeight(KernelCtx &k, const ir::Node &nd) {
  // (x, dy, w) -> dw[O, Cg, KH, KW] = per group [Og, K], groups stacked.
  // The batch is cut into fixed chunks of kSamplesPerChunk samples (a cut
  // that depends on N only, never on the thread count); chunks run on the
  // thread pool, each summing its samples in order into its own partial
  // dw, and the partials are then added in chunk order. Within a chunk,
  // runs of S = samplesPerGemm samples go through one GEMM:
  //   part[Og, K] = dy_S[Og, S*P] * col_S[K, S*P]^T
  // (col_S: the samples' column matrices side by side; dy_S: their dy rows
  // likewise, packed unless S = 1), then part is added into the partial.
  constexpr int64_t kSamplesPerChunk = 4;
  ir::ConvGeom g = geomOf(nd);
  int64_t K = g.colRows(), P = g.outPixels(), W = g.o * K;
  int64_t S = samplesPerGemm(K, P);
  llvm::IRBuilder<> &b = k.b();
  Value *batch = k.dim(k.inShape(0)[0]);
  Value *chunks = b.CreateUDiv(k.add(batch, k.i64c(kSamplesPerChunk - 1)), k.i64c(kSamplesPerChunk));
  Value *partials = k.mallocScratch(k.mul(chunks, k.i64c(W)));
  std::optional<DirectConv> direct = directConvOf(g, k.target().f32Lanes);
  if (direct) { // each sample's padded copy, its tiles added into the partial
    emitParallelFor(k, chunks, grainForFlops(k, k.i64c(2 * W * P * kSamplesPerChunk)), {partials},
                    [&](KernelCtx &p, llvm::ArrayRef<Value *> extra, Value *begin, Value *end) {
      llvm::IRBuilder<> &pb = p.b();
      Value *pad = p.mallocScratch(p.i64c(direct->padFloats));
      zeroFill(p, pad, p.i64c(0), p.i64c(direct->padFloats));
      Value *n = p.dim(p.inShape(0)[0]);
      p.loop(pb.CreateSub(end, begin), [&](Value *t) {
        Value *chunk = p.add(begin, t);
        Value *mine = p.elemPtr(extra[0], p.mul(chunk, p.i64c(W)));
        zeroFill(p, mine, p.i64c(0), p.i64c(W));
        Value *first = p.mul(chunk, p.i64c(kSamplesPerChunk));
        Value *last = pb.CreateBinaryIntrinsic(llvm::Intrinsic::umin,
                                               p.add(first, p.i64c(kSamplesPerChunk)), n);
        p.loop(pb.CreateSub(last, first), [&](Value *s) {
          Value *sample = p.add(first, s);
          emitPadSample(p, g, *direct, p.in(0), sample, pad);
          emitDirectConvGradWeightSample(p, g, *direct,
                                         p.elemPtr(p.in(1), p.mul(sample, p.i64c(g.o * P))), pad,
                                         mine);
        }, "s");
      }, "chunk");
      p.freeScratch(pad);
    });
  } else {
    emitParallelFor(k, chunks, grainForFlops(k, k.i64c(2 * W * P * kSamplesPerChunk)), {partials},
                    [&](KernelCtx &p, llvm::ArrayRef<Value *> extra, Value *begin, Value *end) {
      llvm::IRBuilder<> &pb = p.b();
      Value *col = p.mallocScratch(p.i64c(S * K * P));
      Value *dyS = S > 1 ? p.mallocScratch(p.i64c(S * g.og * P)) : nullptr;
      Value *part = p.mallocScratch(p.i64c(g.og * K));
      Value *n = p.dim(p.inShape(0)[0]);
      auto umin = [&](Value *x, Value *y) {
        return pb.CreateBinaryIntrinsic(llvm::Intrinsic::umin, x, y);
      };
      p.loop(pb.CreateSub(end, begin), [&](Value *t) {
        Value *chunk = p.add(begin, t);
        Value *mine = p.elemPtr(extra[0], p.mul(chunk, p.i64c(W)));
        zeroFill(p, mine, p.i64c(0), p.i64c(W));
        Value *first = p.mul(chunk, p.i64c(kSamplesPerChunk));
        Value *last = umin(p.add(first, p.i64c(kSamplesPerChunk)), n);
        Value *runs = pb.CreateUDiv(p.add(pb.CreateSub(last, first), p.i64c(S - 1)), p.i64c(S));
        p.loop(runs, [&](Value *run) {
          Value *s0 = p.add(first, p.mul(run, p.i64c(S)));
          Value *count = umin(pb.CreateSub(last, s0), p.i64c(S));
          Value *cols = p.mul(count, p.i64c(P));
          p.loop(p.i64c(g.groups), [&](Value *grp) {
            auto dyBlock = [&](Value *sample) {
              Value *dyRow = p.add(p.mul(sample, p.i64c(g.o)), p.mul(grp, p.i64c(g.og)));
              return p.elemPtr(p.in(1), p.mul(dyRow, p.i64c(P)));
            };
            Value *A, *B;
            if (S == 1) {
              A = dyBlock(s0);
              B = columnsOf(p, g, p.in(0), s0, grp, col);
            } else {
              p.loop(count, [&](Value *s) {
                emitIm2col(p, g, p.in(0), p.add(s0, s), grp, p.elemPtr(col, p.mul(s, p.i64c(P))),
                           cols);
                Value *src = dyBlock(p.add(s0, s));
                p.loop(p.i64c(g.og), [&](Value *o) {
                  Value *to = p.add(p.mul(o, cols), p.mul(s, p.i64c(P)));
                  pb.CreateMemCpy(p.elemPtr(dyS, to), llvm::Align(4),
                                  p.elemPtr(src, p.mul(o, p.i64c(P))), llvm::Align(4), P * 4);
                }, "o");
              }, "s");
              A = dyS;
              B = col;
            }
            GemmShape shape{p.i64c(g.og), cols, p.i64c(K)};
            emitGemmDot(p, shape, A, B, part, p.i64c(0), gemmDotTiles(p, shape).count);
            Value *base = p.mul(grp, p.i64c(g.og * K));
            p.loop(p.i64c(g.og * K), [&](Value *e) {
              Value *at = p.add(base, e);
              p.store(pb.CreateFAdd(p.load(mine, at), p.load(part, e)), mine, at);
            }, "e");
          }, "g");
        }, "run");
      }, "chunk");
      p.freeScratch(part);
      if (dyS)
        p.freeScratch(dyS);
      p.freeScratch(col);
    });
  }
  zeroFill(k, k.out(), k.i64c(0), k.i64c(W));
  k.loop(chunks, [&](Value *c) {
    Value *base = k.mul(c, k.i64c(W));
    k.loop(k.i64c(W), [&](Value *e) {
      k.store(b.CreateFAdd(k.load(k.out(), e), k.load(partials, k.add(base, e))), k.out(), e);
    }, "e");
  }, "c");
  k.freeScratch(partials);
  return llvm::Error::success();
}

} // namespace gradc::codegen
