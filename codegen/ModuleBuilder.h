//===- codegen/ModuleBuilder.h - A graph as one LLVM module ------*- C++ -*-===//
#pragma once

#include "codegen/KernelEmitter.h"
#include "ir/BufferLayout.h"
#include "ir/Graph.h"

#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/Error.h"

#include <memory>

namespace gradc::codegen {

/// The name of the module's entry: void gradc_step(void **buffers, i64 batch).
inline constexpr const char *kStepFunctionName = "gradc_step";

/// Builds the unoptimized module of `g` (every value's type inferred) over
/// the buffer order of `layout`: one internal kernel function per node
/// (nodes of equal kernelKey share one, KernelKey.h), called in schedule
/// order from the entry, which then copies each param
/// update into its param buffer. `target` tunes the explicit-vector kernels.
/// Errors name the node codegen cannot lower.
/// Adds the step of `g` to `m` as the function `name` (linkage `linkage`),
/// with `g`'s kernels as internal functions beside it; the other parts of
/// buildStepModule. AOT objects hold two steps (inference and training) in
/// one module this way. Does not verify the module.
llvm::Expected<llvm::Function *> addStepFunction(const ir::Graph &g, const ir::BufferLayout &layout,
                                                 const TargetInfo &target, llvm::Module &m,
                                                 llvm::StringRef name,
                                                 llvm::GlobalValue::LinkageTypes linkage);

/// Checks `m` with LLVM's verifier; an error names what is broken.
llvm::Error verifyStepModule(const llvm::Module &m);

llvm::Expected<std::unique_ptr<llvm::Module>>
buildStepModule(const ir::Graph &g, const ir::BufferLayout &layout, const TargetInfo &target,
                llvm::LLVMContext &ctx);

} // namespace gradc::codegen
