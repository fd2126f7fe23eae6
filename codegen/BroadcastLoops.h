//===- codegen/BroadcastLoops.h - Elementwise maps with broadcasting -*- C++ -*-===//
#pragma once

#include "codegen/KernelEmitter.h"

namespace gradc::codegen {

/// An f32 tensor a map reads: its pointer and (unbroadcast) shape.
struct MapOperand {
  llvm::Value *ptr;
  Shape shape;
};

/// Emits out[idx] = combine(operand values at idx) for every index of
/// `outShape`, each operand broadcast to it numpy-style (the shape rules have
/// checked that it broadcasts). Same-shape operands give one flat loop.
void emitBroadcastMap(KernelCtx &k, const Shape &outShape, llvm::Value *out,
                      llvm::ArrayRef<MapOperand> operands,
                      llvm::function_ref<llvm::Value *(llvm::ArrayRef<llvm::Value *>)> combine);

/// emitBroadcastMap with several results of `outShape` (a fusion group's
/// materialized values): `combine` returns one value per pointer of `outs`,
/// stored at the same index.
void emitBroadcastMapMulti(KernelCtx &k, const Shape &outShape, llvm::ArrayRef<llvm::Value *> outs,
                           llvm::ArrayRef<MapOperand> operands,
                           llvm::function_ref<LoopValues(llvm::ArrayRef<llvm::Value *>)> combine);

/// The map of node `n`'s kernel: its result from its inputs, each broadcast
/// to the result's shape (emitBroadcastMap over in(i), out()). In element
/// mode (KernelCtx::elementScope, a fused kernel's loop body) it emits only
/// `combine` of the scope's inputs and leaves the value in the scope.
llvm::Error emitNodeMap(KernelCtx &k, const ir::Node &n,
                        llvm::function_ref<llvm::Value *(llvm::ArrayRef<llvm::Value *>)> combine);

} // namespace gradc::codegen
