//===- codegen/KernelKey.h - When two nodes can share one kernel -*- C++ -*-===//
//
// A kernel is a function of what its lowering reads of the node: the op,
// the attributes, the dtype and shape of every input and result, and which
// inputs share memory with a result (computed in place: those pointers lose
// noalias). Two nodes with the same key get bitwise the same function, so
// ModuleBuilder emits it once and calls it from each. The unrolled time
// steps of an RNN and the repeated blocks of a transformer are mostly such
// repeats; sharing their kernels divides the IR that LLVM optimizes and
// compiles.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Graph.h"

#include "llvm/ADT/STLFunctionalExtras.h"

#include <string>

namespace gradc::codegen {

/// The structural key of `n`'s kernel (see above). `sameMemory(in, result)`
/// says whether an input and a result of `n` live in the same memory. Keys
/// are exact: float attributes enter bit for bit.
std::string kernelKey(const ir::Node &n,
                      llvm::function_ref<bool(const ir::Value *, const ir::Value *)> sameMemory);

} // namespace gradc::codegen
