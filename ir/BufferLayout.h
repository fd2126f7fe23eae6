//===- ir/BufferLayout.h - The graph's buffers as the runtime sees them ---===//
//
// One buffer per value: graph inputs, then params, then node results in
// schedule order, except results internal to a fusion group (ir/Fusion.h),
// which have none. Roles: inputs are Input (HyperInput for hyper inputs, with
// their HyperKind and the optimizer constants the runtime computes them
// from), params Param (OptState for optimizer state), the loss Loss,
// outputs Output, recorded gradients Gradient, everything else Temp. Members
// of a memory slot (graph.memorySlots) are Temp with that slot index; the
// runtime gives each slot one place in an arena. The next value of an update
// computed in place (a slot led by its param) maps to the param's buffer. Codegen and the interpreter
// both use this order, so the same bound buffers run on either.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Graph.h"
#include "runtime/Executable.h"

#include "llvm/ADT/DenseMap.h"

namespace gradc::ir {

struct BufferLayout {
  std::vector<rt::BufferDesc> buffers;
  llvm::DenseMap<const Value *, unsigned> index; // value -> buffer index
};

/// Requires every value's type to be known.
BufferLayout layoutBuffers(const Graph &g);

} // namespace gradc::ir
