//===- ir/Cost.h - Floating-point work of a graph ----------------*- C++ -*-===//
//
// FLOP counts for reporting achieved GFLOP/s (gradc bench). A matmul or bmm
// counts 2*M*N*K per matrix (one multiply and one add per term), a conv2d and
// both its gradients 2*N*O*OH*OW*(C/groups)*KH*KW; every other node counts one
// operation per element of its largest operand or result. The count is a
// property of the graph, not of the generated code: fused or vectorized
// kernels do the same work in fewer instructions.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Graph.h"

namespace gradc::ir {

/// Floating-point operations of one node when the batch dimension is `batch`.
double nodeFlops(const Node &n, int64_t batch);

/// The sum of nodeFlops over the graph.
double graphFlops(const Graph &g, int64_t batch);

} // namespace gradc::ir
