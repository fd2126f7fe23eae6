//===- codegen/VisionLoops.h - Shared pieces of the NCHW lowerings -*- C++ -*-===//
//
// Internal to codegen/: the few emit helpers LowerConv.cpp and LowerPool.cpp
// share (zero-filling, signed index arithmetic for
// window taps that may fall into the padding).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "codegen/KernelEmitter.h"

namespace gradc::codegen::vision {

/// Sets `numel` f32 at base[offset] to +0.0.
void zeroFill(KernelCtx &k, llvm::Value *base, llvm::Value *offset, llvm::Value *numel);

/// a * s + c (plain signed arithmetic: the result may be negative).
llvm::Value *affine(KernelCtx &k, llvm::Value *a, int64_t s, int64_t c);

/// 0 <= i < n, for a signed i.
llvm::Value *inRange(KernelCtx &k, llvm::Value *i, int64_t n);

} // namespace gradc::codegen::vision
