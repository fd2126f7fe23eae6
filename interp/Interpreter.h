//===- interp/Interpreter.h - The reference interpreter ----------*- C++ -*-===//
//
// Naive, obviously correct kernels for every op, run node by node in schedule
// order, in double precision accumulation where it matters. It is the oracle
// the JIT is tested against, and implements the same Executable contract
// (same buffer layout), so tests bind one set of buffers and run both.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/BufferLayout.h"
#include "ir/Graph.h"
#include "runtime/Executable.h"
#include "runtime/Tensor.h"

#include <memory>

namespace gradc::interp {

/// An interpreter kernel: reads the node's input tensors, writes its result
/// tensors (already allocated with the result shapes for this batch).
using Kernel = llvm::Error (*)(const ir::Node &n, llvm::ArrayRef<const rt::Tensor *> in,
                               llvm::ArrayRef<rt::Tensor *> out);

/// The kernel for `op` (never null once every op is implemented).
Kernel interpKernel(ir::OpKind op);

/// Runs `g` (types inferred) as an Executable. The graph must outlive it.
std::unique_ptr<rt::Executable> makeInterpreter(const ir::Graph &g);

} // namespace gradc::interp
