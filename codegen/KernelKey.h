//===- codegen/KernelKey.h - When two nodes can share one kernel -*- C++ -*-===//
//
// A kernel is a function of what its lowering reads of the node: the op,
// the attributes, the dtype and shape of every input and result, and which
// inputs share memory with a result (computed in place: those pointers lose
// noalias). Two nodes with the same key get bitwise the same function, so
// ModuleBuilder emits it once and calls it from each. The unrolled time
// steps of an RNN and the repeated blocks of a transformer are mostly such
// repeats; sharing their kernels divides the IR that LLVM optimizes and
// compiles. Elementwise maps go further (flatMapNode): their kernels take
// the element count at run time, so the optimizer's updates of params of
// different shapes share one kernel per op.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Fusion.h"
#include "ir/Graph.h"

#include "llvm/ADT/STLFunctionalExtras.h"

#include <memory>
#include <optional>
#include <string>

namespace gradc::codegen {

/// The structural key of `n`'s kernel (see above). `sameMemory(i, r)` says
/// whether input i and result r of `n` live in the same memory. Keys are
/// exact: float attributes enter bit for bit.
std::string kernelKey(const ir::Node &n,
                      llvm::function_ref<bool(unsigned, unsigned)> sameMemory);

/// The structural key of the kernel of fusion group `grp` (ir/Fusion.h),
/// built from what its kernel reads: the kernel's input arguments `ins`
/// (grp.inputs, or a head group's argument list) with their types; every
/// member in order, by its node key and, for each operand, whether it is
/// an argument (which) or an earlier member's result (which); which member
/// results are the outputs; and the pairs of arguments (ins, then outputs)
/// that share memory (`sameMemory(a, b)`, a < b). `typeOf` is the type the
/// kernel sees of a value (its own, or a flat group's rank-1 stand-in).
/// Structurally equal groups (the same LSTM cell at every time step, the
/// same optimizer update for params of equal shape) thus get one key and
/// share one function; names and group ids do not enter.
std::string groupKernelKey(const ir::FusionGroup &grp, llvm::ArrayRef<const ir::Value *> ins,
                           llvm::function_ref<TensorType(const ir::Value *)> typeOf,
                           llvm::function_ref<bool(unsigned, unsigned)> sameMemory);

/// A stand-in for a node whose kernel depends on its element count only.
struct FlatMap {
  std::unique_ptr<ir::Graph> graph; // holds `node` and its values
  const ir::Node *node = nullptr;
};

/// For a map node (op class Elementwise or Broadcast, lowered by
/// emitNodeMap) whose every input has the result's shape or a single
/// element: the same op and attributes over rank-1 values [N] (the
/// single-element inputs as scalars []), so that such nodes of any shape
/// share one kernel; the caller passes the result's element count as the
/// kernel's batch argument. Element i of the result is computed from
/// elements i (or 0) of the inputs either way. Null for other nodes.
std::optional<FlatMap> flatMapNode(const ir::Node &n);

} // namespace gradc::codegen
