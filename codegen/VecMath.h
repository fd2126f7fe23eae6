//===- codegen/VecMath.h - Transcendental functions for kernels --*- C++ -*-===//
#pragma once

#include "codegen/KernelEmitter.h"

namespace gradc::codegen {

/// exp(x) for an f32 (or f32 vector) value.
llvm::Value *emitExp(KernelCtx &k, llvm::Value *x);
/// log(x): -inf at 0, NaN below 0.
llvm::Value *emitLog(KernelCtx &k, llvm::Value *x);
/// tanh(x).
llvm::Value *emitTanh(KernelCtx &k, llvm::Value *x);
/// 1 / (1 + exp(-x)).
llvm::Value *emitSigmoid(KernelCtx &k, llvm::Value *x);
/// erf(x): Abramowitz & Stegun 7.1.26 (absolute error <= 1.5e-7), odd in x.
llvm::Value *emitErf(KernelCtx &k, llvm::Value *x);
/// erf(x) given expNegX2 = exp(-x*x), which the formula uses: a caller that
/// needs that exponential too (GELU's gradient: the normal density) computes
/// it once.
llvm::Value *emitErfGivenExp(KernelCtx &k, llvm::Value *x, llvm::Value *expNegX2);

} // namespace gradc::codegen
