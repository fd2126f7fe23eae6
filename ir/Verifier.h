//===- ir/Verifier.h - Structural and type checks of a graph -----*- C++ -*-===//
#pragma once

#include "ir/Graph.h"

#include "llvm/Support/Error.h"

namespace gradc::ir {

/// Checks: arity and attributes of every node against its op's schema; every
/// input is a graph input, a param, or a result of an earlier node (SSA
/// dominance: this also rules out cycles); names are unique; when every type
/// is known, each node's result types equal what its shape rule infers;
/// outputs, loss, gradients and updates refer to live values of the right
/// types (loss: f32 scalar; gradient and update: the param's type).
/// Reports the first problem, naming the node and its location.
llvm::Error verifyGraph(const Graph &g);

} // namespace gradc::ir
