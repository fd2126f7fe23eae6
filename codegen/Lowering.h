//===- codegen/Lowering.h - The per-op lowering table -----------*- C++ -*-===//
//
// A lowering fills one kernel function (see KernelCtx in KernelEmitter.h)
// with the loops that compute its node. There is one lowering per op of
// ir/Ops.def, named lower<Enum> and defined in codegen/Lower*.cpp by op
// class; loweringFor() is generated from the same list, so an op without a
// lowering fails to link.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/OpInfo.h"

#include "llvm/Support/Error.h"

namespace gradc::ir {
class Node;
}

namespace gradc::codegen {

class KernelCtx;

/// Emits the body of `n`'s kernel at the builder's insertion point (the
/// caller adds the return). Errors are for nodes codegen cannot handle; they
/// name the cause only, the caller adds the node.
using LowerFn = llvm::Error (*)(KernelCtx &, const ir::Node &);

#define OP(Enum, Name, NumInputs, Class, Flags)                                \
  llvm::Error lower##Enum(KernelCtx &k, const ir::Node &n);
#include "ir/Ops.def"

/// The lowering of `op` (never null).
LowerFn loweringFor(ir::OpKind op);

} // namespace gradc::codegen
