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

/// C = A * B with B row-major [K,Nn] and A read through strides:
/// A(i,k) = A[i*sAi + k*sAk] (so A may be a transposed view). Outer-product
/// micro-kernel: vectors along C's rows.
void emitGemmOuter(KernelCtx &k, const GemmShape &s, llvm::Value *A, llvm::Value *sAi,
                   llvm::Value *sAk, llvm::Value *B, llvm::Value *C);

/// C = A * B^T with A row-major [M,K] and B row-major [Nn,K]: dot-product
/// micro-kernel, vectors along K.
void emitGemmDot(KernelCtx &k, const GemmShape &s, llvm::Value *A, llvm::Value *B,
                 llvm::Value *C);

/// A malloc'ed [cols, rows] copy of src[rows, cols] transposed (free it with
/// KernelCtx::freeScratch).
llvm::Value *emitPackTransposed(KernelCtx &k, llvm::Value *src, llvm::Value *rows,
                                llvm::Value *cols);

} // namespace gradc::codegen
