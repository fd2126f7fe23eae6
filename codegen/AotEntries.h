//===- codegen/AotEntries.h - The C entry points of an AOT object -*- C++ -*-===//
//
// The exported functions of an object written by gradc compile, all named
// <prefix>_...: see docs/AOT.md for the C API and AotHeader.cpp for the
// header that declares them. They wrap the internal step functions of
// ModuleBuilder (which take one pointer per buffer) with argument checks,
// the buffer placement of AotLayout, copies of inputs and outputs, and hyper
// inputs computed from (lr, step) as runtime/Hyper.cpp computes them.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "codegen/AotLayout.h"
#include "runtime/Session.h"

#include "llvm/IR/Module.h"
#include "llvm/Support/Error.h"

namespace gradc::codegen {

/// The ABI version an object and its header carry. Bump it when the C API
/// of generated objects changes incompatibly.
inline constexpr int kAotAbiVersion = 1;

/// Status codes of the entry points (the header's <PREFIX>_OK, ...).
enum AotStatus : int {
  kAotOk = 0,
  kAotNullPointer = 1, // a required pointer argument is NULL
  kAotMisaligned = 2,  // params, opt_state or workspace not kAotAlignment-aligned
  kAotBadBatch = 3,    // batch < 1 or > <PREFIX>_MAX_BATCH
  kAotBadStep = 4,     // training step counter < 1
};

/// Defines gradc_parallel_for in `m` (internal linkage). threads <= 1: a
/// serial loop, body(ctx, 0, n) when n > 0. threads > 1: [0, n) is cut into
/// at most `threads` contiguous chunks of at least `grain` iterations; the
/// caller runs the first, a new pthread each of the others (a chunk whose
/// thread cannot be created runs on the caller), and all are joined before
/// it returns. Kernels compute every output the same way for any split of
/// the range, so results equal the JIT's at any thread count.
void defineParallelFor(llvm::Module &m, unsigned threads);

/// Adds the exported entry points to `m`: <prefix>_abi_version,
/// <prefix>_init_params, <prefix>_infer (if inferStep), <prefix>_train_step
/// (if trainStep), and <prefix>_embedded_params with the params of
/// `embedded` as constant data (if non-null). Errors: an embedded param
/// that is missing or has another type, a loss that is not an f32 scalar,
/// an initializer generated code cannot reproduce.
llvm::Error addAotEntries(llvm::Module &m, const AotLayout &l, const std::string &prefix,
                          llvm::Function *inferStep, llvm::Function *trainStep,
                          const rt::ParamStore *embedded);

} // namespace gradc::codegen
