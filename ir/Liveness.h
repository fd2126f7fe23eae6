//===- ir/Liveness.h - Lifetimes of node results over the schedule -*- C++ -*-===//
//
// A node result lives from the node that defines it to the last node that
// reads it (positions in schedule order). Results the caller reads after the
// step (outputs, the loss, the next values of param updates, and gradients
// when the graph has no updates, as `gradc grad` builds it) live to the end:
// position nodes().size(). In a training step gradients are read only by the
// optimizer's nodes, so they are ordinary intermediates.
//
// Two results may share memory exactly when their lifetimes are disjoint:
// one ends strictly before the other begins (a node never reads and writes
// the same memory, so codegen may mark kernel pointers noalias).
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
};

Liveness computeLiveness(const Graph &g);

} // namespace gradc::ir
