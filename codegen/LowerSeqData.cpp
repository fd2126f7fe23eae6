//===- codegen/LowerSeqData.cpp - Embedding, slicing, sequence constants ---===//
//
// slice, slice_grad and concat see each tensor as [outer, axis, inner] and
// copy contiguous runs of (extent along axis) * inner 32-bit words per outer
// index, so they serve f32 and i32 alike; outer and inner may involve N.
// embedding copies table rows; embedding_grad zeroes its [V,D] result and
// adds each dy row into the row of its id, positions in order (so the sum
// for a repeated id is always formed in the same order). Both never touch
// memory outside the table for an id outside [0, V): embedding writes a zero
// row, embedding_grad drops that row (reads and writes row 0 with +0). The
// driver rejects such ids before a step runs (tools/gradc/Labels.cpp); the
// interpreter reports them.
// causal_mask and positional_encoding are computed here, at compile time,
// into a constant global that the kernel copies out.
//
//===----------------------------------------------------------------------===//
#include "codegen/Gemm.h"
#include "codegen/KernelEmitter.h"
#include "codegen/ParallelFor.h"
#include "codegen/Lowering.h"
#include "ir/ShapeRules.h"

#include "llvm/IR/Constants.h"
#include "llvm/IR/GlobalVariable.h"
#include "llvm/IR/Module.h"

#include <cmath>

namespace gradc::codegen {

using llvm::Value;

namespace {

struct Split {
  Value *outer, *inner;
};

Split splitAround(KernelCtx &k, const Shape &s, int64_t axis) {
  return {k.product(llvm::ArrayRef<int64_t>(s).take_front(axis)),
          k.product(llvm::ArrayRef<int64_t>(s).drop_front(axis + 1))};
}

int64_t axisAttr(const ir::Node &n, int64_t rank) {
  return llvm::cantFail(ir::normalizeAxis(n.attrs().getInt("axis", 0), rank));
}

/// Copies `len` words per outer index o: dst[o*dstRow + dstOff + j] =
/// src[o*srcRow + srcOff + j].
void copyRuns(KernelCtx &k, Value *outer, Value *len, Value *dst, Value *dstRow,
              Value *dstOff, Value *src, Value *srcRow, Value *srcOff) {
  k.loop(outer, [&](Value *o) {
    Value *d0 = k.add(k.mul(o, dstRow), dstOff), *s0 = k.add(k.mul(o, srcRow), srcOff);
    k.loop(len, [&](Value *j) {
      k.store(k.load(src, k.add(s0, j), k.i32()), dst, k.add(d0, j));
    }, "j");
  }, "o");
}

void fillZero(KernelCtx &k) {
  k.loop(k.numel(k.outShape()), [&](Value *i) { k.store(k.f32c(0.0), k.out(), i); });
}

/// Copies compile-time `values` into the node's result.
void emitTable(KernelCtx &k, const std::vector<float> &values) {
  auto *init = llvm::ConstantDataArray::get(k.ctx(), llvm::ArrayRef<float>(values));
  auto *gv = new llvm::GlobalVariable(k.module(), init->getType(), /*isConstant=*/true,
                                      llvm::GlobalValue::PrivateLinkage, init, "gradc.table");
  gv->setAlignment(llvm::Align(64));
  k.b().CreateMemCpy(k.out(), llvm::Align(64), gv, llvm::Align(64),
                     k.i64c(static_cast<int64_t>(values.size() * 4)));
}

} // namespace

llvm::Error lowerSlice(KernelCtx &k, const ir::Node &n) {
  int64_t axis = axisAttr(n, k.inShape(0).size());
  Split s = splitAround(k, k.inShape(0), axis);
  int64_t start = n.attrs().getInt("start", 0);
  Value *len = k.mul(k.i64c(k.outShape()[axis]), s.inner);
  copyRuns(k, s.outer, len, k.out(), len, k.i64c(0), k.in(0),
           k.mul(k.i64c(k.inShape(0)[axis]), s.inner), k.mul(k.i64c(start), s.inner));
  return llvm::Error::success();
}

llvm::Error lowerSliceGrad(KernelCtx &k, const ir::Node &n) {
  int64_t axis = axisAttr(n, k.inShape(0).size());
  Split s = splitAround(k, k.inShape(0), axis);
  int64_t start = n.attrs().getInt("start", 0);
  fillZero(k);
  Value *len = k.mul(k.i64c(k.inShape(0)[axis]), s.inner);
  copyRuns(k, s.outer, len, k.out(), k.mul(k.i64c(k.outShape()[axis]), s.inner),
           k.mul(k.i64c(start), s.inner), k.in(0), len, k.i64c(0));
  return llvm::Error::success();
}

llvm::Error lowerConcat(KernelCtx &k, const ir::Node &n) {
  int64_t axis = axisAttr(n, k.outShape().size());
  Split s = splitAround(k, k.outShape(), axis);
  Value *dstRow = k.mul(k.i64c(k.outShape()[axis]), s.inner);
  int64_t offset = 0;
  for (unsigned i = 0; i < n.inputs().size(); ++i) {
    int64_t size = k.inShape(i)[axis];
    Value *len = k.mul(k.i64c(size), s.inner);
    copyRuns(k, s.outer, len, k.out(), dstRow, k.mul(k.i64c(offset), s.inner), k.in(i), len,
             k.i64c(0));
    offset += size;
  }
  return llvm::Error::success();
}

llvm::Error lowerEmbedding(KernelCtx &k, const ir::Node &n) {
  auto &b = k.b();
  Value *positions = k.numel(k.inShape(0));
  int64_t rows = k.inShape(1)[0];
  Value *dim = k.i64c(k.inShape(1)[1]);
  k.loop(positions, [&](Value *p) {
    Value *id = b.CreateSExt(k.load(k.in(0), p, k.i32()), k.i64());
    Value *valid = b.CreateICmpULT(id, k.i64c(rows));
    Value *row = k.mul(b.CreateSelect(valid, id, k.i64c(0)), dim);
    Value *dst = k.mul(p, dim);
    k.loop(dim, [&](Value *d) {
      Value *v = b.CreateSelect(valid, k.load(k.in(1), k.add(row, d)), k.f32c(0.0));
      k.store(v, k.out(), k.add(dst, d));
    }, "d");
  }, "p");
  return llvm::Error::success();
}

llvm::Error lowerEmbeddingGrad(KernelCtx &k, const ir::Node &n) {
  auto &b = k.b();
  Value *positions = k.numel(k.inShape(0));
  int64_t rows = k.outShape()[0];
  Value *dim = k.i64c(k.outShape()[1]);
  fillZero(k);
  k.loop(positions, [&](Value *p) {
    Value *id = b.CreateSExt(k.load(k.in(0), p, k.i32()), k.i64());
    Value *valid = b.CreateICmpULT(id, k.i64c(rows));
    Value *row = k.mul(b.CreateSelect(valid, id, k.i64c(0)), dim);
    Value *src = k.mul(p, dim);
    k.loop(dim, [&](Value *d) {
      Value *at = k.add(row, d);
      Value *g = b.CreateSelect(valid, k.load(k.in(1), k.add(src, d)), k.f32c(0.0));
      k.store(b.CreateFAdd(k.load(k.out(), at), g), k.out(), at);
    }, "d");
  }, "p");
  return llvm::Error::success();
}

llvm::Error lowerBmm(KernelCtx &k, const ir::Node &n) {
  // One GEMM per batch matrix (Gemm.h's outer-product kernel, A read through
  // strides so transpose_a costs nothing), batches split across threads.
  // transpose_b: each batch's B is copied transposed into a scratch buffer
  // of its thread's chunk just before its GEMM (O(K*P) against O(M*K*P);
  // packing every B up front was serial, ~1% of gpt's step).
  // A batch is computed by the same instructions whichever thread runs it,
  // so C is bitwise the same for any thread count.
  bool ta = n.attrs().getInt("transpose_a", 0) != 0;
  bool tb = n.attrs().getInt("transpose_b", 0) != 0;
  const Shape as = k.inShape(0), bs = k.inShape(1), cs = k.outShape();
  size_t ra = as.size(), rb = bs.size(), rc = cs.size();
  int64_t aR = as[ra - 2], aC = as[ra - 1], bR = bs[rb - 2], bC = bs[rb - 1];
  int64_t m = cs[rc - 2], p = cs[rc - 1], kk = ta ? aR : aC;
  Shape lead(cs.begin(), cs.end() - 2);
  // Where an operand's leading dims are the output's, batch s starts at
  // s * its matrix size; where they broadcast, at sum(i_d * stride_d) of
  // s's index (i_0, ..., i_k) (only i_0 may be the symbolic N).
  auto start = [&](KernelCtx &c, const Shape &op, int64_t matrix, Value *s) -> Value * {
    if (Shape(op.begin(), op.end() - 2) == lead)
      return c.mul(s, c.i64c(matrix));
    std::vector<int64_t> strides = ir::bmmBatchStrides(op, lead);
    Value *off = c.i64c(0), *rest = s;
    for (size_t d = lead.size(); d-- > 0;) {
      Value *idx = d == 0 ? rest : c.b().CreateURem(rest, c.i64c(lead[d]));
      if (d > 0)
        rest = c.b().CreateUDiv(rest, c.i64c(lead[d]));
      if (strides[d])
        off = c.add(off, c.mul(idx, c.i64c(strides[d])));
    }
    return off;
  };
  Value *batches = k.product(lead);
  emitParallelFor(k, batches, grainForFlops(k, k.i64c(2 * m * p * kk)), {},
                  [&](KernelCtx &c, llvm::ArrayRef<Value *>, Value *begin, Value *end) {
    Value *packed = tb ? c.mallocScratch(c.i64c(bR * bC)) : nullptr;
    c.loop(c.b().CreateSub(end, begin), [&](Value *i) {
      Value *s = c.add(begin, i);
      Value *A = c.elemPtr(c.in(0), start(c, as, aR * aC, s));
      Value *B = c.elemPtr(c.in(1), start(c, bs, bR * bC, s));
      if (packed) { // this batch's B [P, K] -> [K, P]
        emitTransposeCopy(c, B, packed, c.i64c(bR), c.i64c(bC));
        B = packed;
      }
      Value *C = c.elemPtr(c.out(), c.mul(s, c.i64c(m * p)));
      GemmShape g{c.i64c(m), c.i64c(kk), c.i64c(p)};
      GemmTiles tiles = gemmOuterTiles(c, g);
      emitGemmOuter(c, g, A, ta ? c.i64c(1) : c.i64c(aC), ta ? c.i64c(aC) : c.i64c(1), B, C,
                    c.i64c(0), tiles.count);
    }, "s");
    if (packed)
      c.freeScratch(packed);
  });
  return llvm::Error::success();
}

llvm::Error lowerCausalMask(KernelCtx &k, const ir::Node &n) {
  int64_t t = k.outShape()[0];
  std::vector<float> v(static_cast<size_t>(t * t));
  for (int64_t q = 0; q < t; ++q)
    for (int64_t c = 0; c < t; ++c)
      v[q * t + c] = c <= q ? 1.0f : 0.0f;
  emitTable(k, v);
  return llvm::Error::success();
}

llvm::Error lowerPositionalEncoding(KernelCtx &k, const ir::Node &n) {
  int64_t len = k.outShape()[0], dim = k.outShape()[1];
  std::vector<float> v(static_cast<size_t>(len * dim));
  for (int64_t t = 0; t < len; ++t)
    for (int64_t i = 0; 2 * i < dim; ++i) {
      // 1 / 10000^(2i/D) = exp(-2i ln(10000) / D)
      double angle = double(t) * std::exp(-double(2 * i) * std::log(10000.0) / double(dim));
      v[t * dim + 2 * i] = static_cast<float>(std::sin(angle));
      if (2 * i + 1 < dim)
        v[t * dim + 2 * i + 1] = static_cast<float>(std::cos(angle));
    }
  emitTable(k, v);
  return llvm::Error::success();
}

} // namespace gradc::codegen
