//===- ir/Liveness.h - Lifetimes of node results over the schedule -*- C++ -*-===//
//
// A node result lives from the node that defines it to the last node that
// reads it (positions in schedule order). Results the caller reads after the
// step (outputs, the loss, the next values of param updates, and the
// gradient of every param without an update, as `gradc grad` builds them)
// live to the end: position nodes().size(). In a training step a param's
// gradient is read only by its update's nodes, so it is an ordinary
// intermediate.
//
// Two results may share memory when their lifetimes are disjoint: one ends
// strictly before the other begins. They may also share *in place*: `b`'s
// node is elementwise (OpClass Elementwise or Broadcast), reads `a` as its
// last use, and `b` has exactly `a`'s type, so the kernel reads each element
// of `a` before it writes the same element of `b`. A reshape's result may
// take its input's memory too (same bytes, same order: its kernel then has
// nothing to copy). Codegen drops noalias between such a pair. A param and the next value of its update share in
// place the same way, when no node after the update's node reads the param.
//
// Fusion groups (ir/Fusion.h) run as one kernel, so every member of a group
// has the position of its first member: all the group's inputs are read and
// all its results defined there. A group's result may then take in place the
// memory of a value of its type whose last reader is in the group: the
// group's loop reads every input element at an index before it stores any
// result element at that index. In a group headed by a matmul (an epilogue)
// that holds only for values the GEMM itself does not read.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Graph.h"

#include "llvm/ADT/DenseMap.h"

namespace gradc::ir {

struct Lifetime {
  size_t def = 0;  // position of the defining node
  size_t last = 0; // position of the last reader (def if none; end if kept)
};

struct Liveness {
  llvm::DenseMap<const Value *, Lifetime> of; // every node result
  size_t end = 0;                             // nodes().size()
  /// Kept to the end: the caller reads it after the step.
  bool keptToEnd(const Value *v) const { return of.lookup(v).last == end; }
  static bool disjoint(const Lifetime &a, const Lifetime &b) {
    return a.last < b.def || b.last < a.def;
  }
  /// Heads of epilogue groups (ir/Fusion.h), by group id.
  llvm::DenseMap<int32_t, const Node *> epilogueHeads;
  /// canShareInPlace, and not across an epilogue's GEMM: in an epilogue
  /// group `a` may not be an operand of the head (the GEMM reads its
  /// operands across tiles while the epilogue writes). The head's result
  /// may be taken: the epilogue reads each element of a stored tile before
  /// it writes the same element.
  bool mayShareInPlace(const Value *a, const Value *b) const;
};

Liveness computeLiveness(const Graph &g);
/// Per node (schedule order) its position for lifetimes: its index, or the
/// index of its fusion group's first member.
std::vector<size_t> schedulePositions(const Graph &g);

/// True when `b` may take `a`'s memory in place (see above): b's node is
/// elementwise, reads `a` (or is in a fusion group: then the caller's
/// lifetime check, a's last reader at b's position, says the group reads
/// `a`), and b has a's type; or b is a reshape of a. Lifetimes are the
/// caller's.
bool canShareInPlace(const Value *a, const Value *b);

/// Position of the last node that reads `v` (any value), or -1 if none does.
int64_t lastReader(const Graph &g, const Value *v);

/// True when the update `param <- next` may be computed in place: next's node
/// is elementwise with next of param's type, no later node reads the param,
/// and the param is not an output.
bool canUpdateInPlace(const Graph &g, const Value *param, const Value *next);

} // namespace gradc::ir
