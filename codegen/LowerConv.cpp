//===- codegen/LowerConv.cpp - conv2d and its gradients via im2col + GEMM ---===//
//
// Every conv kernel works one sample and one group at a time through the
// register-blocked GEMM of Gemm.cpp, with the image unfolded into a column
// matrix (im2col). For a group: K = Cg*KH*KW rows of taps, P = OH*OW output
// pixels, Og output channels.
//   conv2d:             col[K,P] = im2col(x[n]);  y[n,g] = W_g[Og,K] * col
//                       (+ bias per output channel)
//   conv2d_grad_input:  col[K,P] = W_g^T * dy[n,g]  (W_g read through
//                       strides), then col2im adds every tap back into dx[n]
//   conv2d_grad_weight: colT[P,K] = im2col(x[n])^T; dW_g += dy[n,g] * colT,
//                       over n in order
// The forward and input-gradient kernels split the batch across the thread
// pool (each sample is computed the same way on any thread, so results are
// bitwise identical for any thread count; each chunk has its own scratch).
// The weight gradient sums over the batch: it splits the batch into chunks
// of a fixed size, sums each chunk into its own partial in parallel, and
// adds the partials in order, so its sum order too is independent of the
// thread count.
//
// im2col reads taps in the padding as 0 through a clamped index and a
// select, so its inner loop (over output columns) has no branch.
//
//===----------------------------------------------------------------------===//
#include "codegen/Gemm.h"
#include "codegen/Lowering.h"
#include "codegen/ParallelFor.h"
#include "codegen/VisionLoops.h"
#include "ir/Vision.h"

namespace gradc::codegen {

using llvm::Value;
using namespace vision;

// ---- Shared helpers (VisionLoops.h) --------------------------------------------

void vision::ifThen(KernelCtx &k, Value *cond, llvm::function_ref<void()> then) {
  llvm::IRBuilder<> &b = k.b();
  llvm::Function *fn = b.GetInsertBlock()->getParent();
  auto *thenBB = llvm::BasicBlock::Create(k.ctx(), "then", fn);
  auto *done = llvm::BasicBlock::Create(k.ctx(), "endif", fn);
  b.CreateCondBr(cond, thenBB, done);
  b.SetInsertPoint(thenBB);
  then();
  b.CreateBr(done);
  b.SetInsertPoint(done);
}

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

/// Unfolds group `grp` of sample `n` of x into col: row r = (c, p, q) of
/// the group's taps, column = output pixel (i, j). Transposed: col is
/// [P, K] instead of [K, P].
void emitIm2col(KernelCtx &k, const ir::ConvGeom &g, Value *x, Value *n, Value *grp,
                Value *col, bool transposed) {
  llvm::IRBuilder<> &b = k.b();
  int64_t K = g.colRows(), P = g.outPixels();
  k.loop(k.i64c(K), [&](Value *r) {
    auto [planeBase, hOff, wOff] = columnRow(k, g, n, grp, r);
    k.loop(k.i64c(g.oh), [&](Value *i) {
      Value *ih = b.CreateAdd(b.CreateMul(i, k.i64c(g.sh)), hOff);
      Value *hIn = inRange(k, ih, g.h);
      Value *rowBase = b.CreateAdd(planeBase, b.CreateMul(ih, k.i64c(g.w)));
      k.loop(k.i64c(g.ow), [&](Value *j) {
        Value *iw = b.CreateAdd(b.CreateMul(j, k.i64c(g.sw)), wOff);
        Value *ok = b.CreateAnd(hIn, inRange(k, iw, g.w));
        Value *at = b.CreateSelect(ok, b.CreateAdd(rowBase, iw), k.i64c(0));
        Value *v = b.CreateSelect(ok, k.load(x, at), k.f32c(0));
        Value *pix = k.add(k.mul(i, k.i64c(g.ow)), j);
        k.store(v, col, transposed ? k.add(k.mul(pix, k.i64c(K)), r)
                                   : k.add(k.mul(r, k.i64c(P)), pix));
      }, "j");
    }, "i");
  }, "r");
}

/// Adds col[K,P] (taps x pixels of group `grp`) back into dx[n]: the
/// adjoint of emitIm2col. Taps in the padding are skipped.
void emitCol2im(KernelCtx &k, const ir::ConvGeom &g, Value *col, Value *n, Value *grp,
                Value *dx) {
  llvm::IRBuilder<> &b = k.b();
  int64_t K = g.colRows(), P = g.outPixels();
  k.loop(k.i64c(K), [&](Value *r) {
    auto [planeBase, hOff, wOff] = columnRow(k, g, n, grp, r);
    k.loop(k.i64c(g.oh), [&](Value *i) {
      Value *ih = b.CreateAdd(b.CreateMul(i, k.i64c(g.sh)), hOff);
      ifThen(k, inRange(k, ih, g.h), [&] {
        Value *rowBase = b.CreateAdd(planeBase, b.CreateMul(ih, k.i64c(g.w)));
        k.loop(k.i64c(g.ow), [&](Value *j) {
          Value *iw = b.CreateAdd(b.CreateMul(j, k.i64c(g.sw)), wOff);
          ifThen(k, inRange(k, iw, g.w), [&] {
            Value *at = b.CreateAdd(rowBase, iw);
            Value *v = k.load(col, k.add(k.mul(r, k.i64c(P)), k.add(k.mul(i, k.i64c(g.ow)), j)));
            k.store(b.CreateFAdd(k.load(dx, at), v), dx, at);
          });
        }, "j");
      });
    }, "i");
  }, "r");
}

/// C = A * B for one group through the outer-product GEMM, all tiles.
void emitGemm(KernelCtx &k, int64_t M, int64_t K, int64_t Nn, Value *A, int64_t sAi,
              int64_t sAk, Value *B, Value *C) {
  GemmShape s{k.i64c(M), k.i64c(K), k.i64c(Nn)};
  GemmTiles tiles = gemmOuterTiles(k, s);
  emitGemmOuter(k, s, A, k.i64c(sAi), k.i64c(sAk), B, C, k.i64c(0), tiles.count);
}

/// Runs body(part, n) for every sample n, split across the thread pool, with
/// a scratch buffer of `scratch` floats per chunk.
void forEachSample(KernelCtx &k, int64_t flopsPerSample, int64_t scratch,
                   llvm::function_ref<void(KernelCtx &, Value *n, Value *col)> body) {
  Value *batch = k.dim(k.node().result()->type().shape[0]);
  emitParallelFor(k, batch, grainForFlops(k, k.i64c(flopsPerSample)), {},
                  [&](KernelCtx &p, llvm::ArrayRef<Value *>, Value *begin, Value *end) {
    Value *col = p.mallocScratch(p.i64c(scratch));
    p.loop(p.b().CreateSub(end, begin), [&](Value *t) { body(p, p.add(begin, t), col); },
           "n");
    p.freeScratch(col);
  });
}

} // namespace

llvm::Error lowerConv2d(KernelCtx &k, const ir::Node &nd) {
  ir::ConvGeom g = geomOf(nd);
  int64_t K = g.colRows(), P = g.outPixels();
  bool bias = nd.inputs().size() == 3;
  forEachSample(k, 2 * g.o * K * P, K * P, [&](KernelCtx &p, Value *n, Value *col) {
    p.loop(p.i64c(g.groups), [&](Value *grp) {
      emitIm2col(p, g, p.in(0), n, grp, col, /*transposed=*/false);
      Value *A = p.elemPtr(p.in(1), p.mul(grp, p.i64c(g.og * K)));
      Value *yRow = p.add(p.mul(n, p.i64c(g.o)), p.mul(grp, p.i64c(g.og)));
      Value *C = p.elemPtr(p.out(), p.mul(yRow, p.i64c(P)));
      emitGemm(p, g.og, K, P, A, K, 1, col, C);
    }, "g");
    if (!bias)
      return;
    p.loop(p.i64c(g.o), [&](Value *o) {
      Value *bo = p.load(p.in(2), o);
      Value *base = p.mul(p.add(p.mul(n, p.i64c(g.o)), o), p.i64c(P));
      p.loop(p.i64c(P), [&](Value *e) {
        Value *at = p.add(base, e);
        p.store(p.b().CreateFAdd(p.load(p.out(), at), bo), p.out(), at);
      }, "e");
    }, "o");
  });
  return llvm::Error::success();
}

llvm::Error lowerConv2dGradInput(KernelCtx &k, const ir::Node &nd) {
  // (dy, w, x) -> dx
  ir::ConvGeom g = geomOf(nd);
  int64_t K = g.colRows(), P = g.outPixels();
  forEachSample(k, 2 * g.o * K * P, K * P, [&](KernelCtx &p, Value *n, Value *col) {
    zeroFill(p, p.out(), p.mul(n, p.i64c(g.c * g.h * g.w)), p.i64c(g.c * g.h * g.w));
    p.loop(p.i64c(g.groups), [&](Value *grp) {
      // col[K,P] = W_g^T[K,Og] * dy[n,g][Og,P]; W_g^T(i,k) = W_g[k*K + i].
      Value *A = p.elemPtr(p.in(1), p.mul(grp, p.i64c(g.og * K)));
      Value *dyRow = p.add(p.mul(n, p.i64c(g.o)), p.mul(grp, p.i64c(g.og)));
      Value *B = p.elemPtr(p.in(0), p.mul(dyRow, p.i64c(P)));
      emitGemm(p, K, g.og, P, A, 1, K, B, col);
      emitCol2im(p, g, col, n, grp, p.out());
    }, "g");
  });
  return llvm::Error::success();
}

llvm::Error lowerConv2dGradWeight(KernelCtx &k, const ir::Node &nd) {
  // (x, dy, w) -> dw[O, Cg, KH, KW] = per group [Og, K], groups stacked.
  // The batch is cut into fixed chunks of kSamplesPerChunk samples (a cut
  // that depends on N only, never on the thread count); chunks run on the
  // thread pool, each summing its samples in order into its own partial
  // dw, and the partials are then added in chunk order.
  constexpr int64_t kSamplesPerChunk = 4;
  ir::ConvGeom g = geomOf(nd);
  int64_t K = g.colRows(), P = g.outPixels(), W = g.o * K;
  llvm::IRBuilder<> &b = k.b();
  Value *batch = k.dim(k.inShape(0)[0]);
  Value *chunks = b.CreateUDiv(k.add(batch, k.i64c(kSamplesPerChunk - 1)), k.i64c(kSamplesPerChunk));
  Value *partials = k.mallocScratch(k.mul(chunks, k.i64c(W)));
  emitParallelFor(k, chunks, grainForFlops(k, k.i64c(2 * W * P * kSamplesPerChunk)), {partials},
                  [&](KernelCtx &p, llvm::ArrayRef<Value *> extra, Value *begin, Value *end) {
    llvm::IRBuilder<> &pb = p.b();
    Value *colT = p.mallocScratch(p.i64c(P * K));
    Value *part = p.mallocScratch(p.i64c(g.og * K));
    Value *n = p.dim(p.inShape(0)[0]);
    p.loop(pb.CreateSub(end, begin), [&](Value *t) {
      Value *chunk = p.add(begin, t);
      Value *mine = p.elemPtr(extra[0], p.mul(chunk, p.i64c(W)));
      zeroFill(p, mine, p.i64c(0), p.i64c(W));
      Value *first = p.mul(chunk, p.i64c(kSamplesPerChunk));
      Value *last = pb.CreateSelect(pb.CreateICmpULT(p.add(first, p.i64c(kSamplesPerChunk)), n),
                                    p.add(first, p.i64c(kSamplesPerChunk)), n);
      p.loop(pb.CreateSub(last, first), [&](Value *s) {
        Value *sample = p.add(first, s);
        p.loop(p.i64c(g.groups), [&](Value *grp) {
          emitIm2col(p, g, p.in(0), sample, grp, colT, /*transposed=*/true);
          Value *dyRow = p.add(p.mul(sample, p.i64c(g.o)), p.mul(grp, p.i64c(g.og)));
          Value *A = p.elemPtr(p.in(1), p.mul(dyRow, p.i64c(P)));
          emitGemm(p, g.og, P, K, A, P, 1, colT, part);
          Value *base = p.mul(grp, p.i64c(g.og * K));
          p.loop(p.i64c(g.og * K), [&](Value *e) {
            Value *at = p.add(base, e);
            p.store(pb.CreateFAdd(p.load(mine, at), p.load(part, e)), mine, at);
          }, "e");
        }, "g");
      }, "s");
    }, "chunk");
    p.freeScratch(part);
    p.freeScratch(colT);
  });
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
