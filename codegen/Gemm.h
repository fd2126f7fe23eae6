//===- codegen/Gemm.h - Register-blocked matrix product kernels --*- C++ -*-===//
//
// The loop nests of matmul (LowerMatMul.cpp picks one per transpose case).
// Sizes are i64 values (constants, or products with the batch).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "codegen/KernelEmitter.h"

namespace gradc::codegen {

/// The operands of C[M,Nn] = A[M,K] * B, C row-major.
struct GemmShape {
  llvm::Value *M, *K, *Nn;
};

/// How a kernel's C is cut into tiles for threads. Tiles are numbered in
/// the kernel's own loop order (column blocks outer, row blocks inner), and
/// the emit functions below compute the tiles [begin, end) of that order:
/// any split of [0, count) into ranges gives bitwise the same C, since a
/// tile is computed by the same instructions whichever range holds it.
struct GemmTiles {
  llvm::Value *count;
  /// FLOPs per tile on average (2*M*K*Nn / count), for the parallel grain.
  llvm::Value *flopsPerTile;
};
GemmTiles gemmOuterTiles(KernelCtx &k, const GemmShape &s);
GemmTiles gemmDotTiles(KernelCtx &k, const GemmShape &s);

/// C = A * B with B row-major [K,Nn] and A read through strides:
/// A(i,k) = A[i*sAi + k*sAk] (so A may be a transposed view). Outer-product
/// micro-kernel: vectors along C's rows. Computes the tiles [begin, end) of
/// gemmOuterTiles.
void emitGemmOuter(KernelCtx &k, const GemmShape &s, llvm::Value *A, llvm::Value *sAi,
                   llvm::Value *sAk, llvm::Value *B, llvm::Value *C, llvm::Value *begin,
                   llvm::Value *end);

/// C = A * B^T with A row-major [M,K] and B row-major [Nn,K]: dot-product
/// micro-kernel, vectors along K. Computes the tiles [begin, end) of
/// gemmDotTiles.
void emitGemmDot(KernelCtx &k, const GemmShape &s, llvm::Value *A, llvm::Value *B,
                 llvm::Value *C, llvm::Value *begin, llvm::Value *end);

/// A malloc'ed [cols, rows] copy of input `input` of the node, viewed as
/// [rows = prod(leading dims), cols = last dim], transposed (free it with
/// KernelCtx::freeScratch). The copy is split across threads by rows of
/// tiles.
llvm::Value *emitPackTransposed(KernelCtx &k, unsigned input);

/// dst[cols, rows] = src[rows, cols] transposed, in square tiles
/// (KernelCtx::tiledNest2); only the given rows of tiles when `rowTiles` is
/// set.
void emitTransposeCopy(KernelCtx &k, llvm::Value *src, llvm::Value *dst, llvm::Value *rows,
                       llvm::Value *cols, std::pair<llvm::Value *, llvm::Value *> rowTiles = {});

} // namespace gradc::codegen
