//===- ir/Fusion.h - Fusion groups: which nodes run as one loop nest -*- C++ -*-===//
//
// The `fuse` pass (passes/Fuse.cpp) marks nodes with a group id
// (Node::group, text IR `fused g3`). A group is a contiguous run of the
// schedule whose members are elementwise maps (isFusibleMap) with one result
// shape, its iteration space. Codegen emits one kernel per group: one loop
// nest over that shape that reads the group's external inputs, computes
// every member in registers, and stores only the group's outputs. A member's
// result is an output when something outside the group reads it: a node of
// another group or none, or the caller after the step (an output, the loss,
// a gradient, an update). Every other member result is internal: it has no
// buffer at all (ir/BufferLayout, plan-memory).
//
// A group may also start with a matmul (its *head*): its maps then run as
// the GEMM's epilogue, on each tile of the product right after it is stored
// (bias add, activation, residual add, even an optimizer update of the
// product's shape). Their other operands must be of the group's shape, a row
// broadcast along the last dimension (a bias), or a scalar (epilogueRead).
// A conv2d or conv2d_grad_input may head a group too: its maps run on each
// sample's result once the sample is complete, while it is in cache (the
// ReLU after a convolution, relu_grad after an input gradient). So may a
// batch_norm_train: its apply pass hands each normalized element to the
// maps (the ReLU after it, a residual add), so its result is stored only
// when something outside the group reads it. After these heads the maps'
// other operands must be of the group's shape or scalars.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Graph.h"

#include "llvm/ADT/DenseSet.h"

#include <optional>

namespace gradc::ir {

/// True for ops whose kernel is a pure map: one f32 result element from the
/// input elements at the same (broadcast) index, with no index-dependent
/// state (dropout_train's mask is, so it is not). Only these fuse.
bool isFusibleMap(OpKind op);

/// True for ops that may head a fusion group (its first member, with
/// maps after it as the epilogue of its kernel): matmul, whose GEMM runs the
/// epilogue on every tile of its result while the tile is in cache;
/// conv2d and conv2d_grad_input, which run it on each sample's result; and
/// batch_norm_train, whose apply runs it on every element it computes.
bool isEpilogueHead(OpKind op);
/// True when a head always stores its result (the GEMM stores each tile, a
/// conv each sample, and the epilogue reads it back); otherwise (batch
/// norm) the result is one of the group's outputs only when read outside
/// the group, like a map's.
bool headStoresResult(OpKind head);

/// How an epilogue reads an operand of a group whose shape S = [..., Nn] is
/// viewed as C[M, Nn]: the whole shape S (element (i, j)), a row broadcast
/// along every dimension but the last ([Nn], [1, Nn]: element j), or one
/// scalar. Other broadcasts have no epilogue form; only a matmul head's
/// epilogue reads rows.
enum class EpilogueRead { Full, Row, Scalar };
std::optional<EpilogueRead> epilogueRead(const Shape &operand, const Shape &group, OpKind head);

struct FusionGroup {
  int32_t id = Node::kNoGroup;
  /// Members in schedule order (a contiguous run of it).
  std::vector<const Node *> members;
  /// Values the members read that no member defines, in first-read order.
  std::vector<const Value *> inputs;
  /// Member results read outside the group, in schedule order; with a
  /// head that stores its result (headStoresResult: a GEMM's tiles, a
  /// conv's samples, which the epilogue reads back), that result first.
  std::vector<const Value *> outputs;
  /// The epilogue head (isEpilogueHead) when the first member is not a map.
  const Node *head = nullptr;
  /// The iteration space: every member's result shape.
  const Shape &shape() const { return members.front()->result()->type().shape; }
};

/// The groups of `g`, ordered by their first member. Assumes a verified graph.
std::vector<FusionGroup> collectFusionGroups(const Graph &g);

/// True when `v` is read after the step (an output, the loss, a gradient or
/// the next value of an update): it must be materialized.
bool readAfterStep(const Graph &g, const Value *v);

/// Member results read only inside their group: they get no buffer.
llvm::DenseSet<const Value *> groupInternalValues(const Graph &g);

} // namespace gradc::ir
