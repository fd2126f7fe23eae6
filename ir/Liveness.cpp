//===- ir/Liveness.cpp - Lifetimes of node results over the schedule ------===//
#include "ir/Liveness.h"

namespace gradc::ir {

Liveness computeLiveness(const Graph &g) {
  Liveness l;
  l.end = g.nodes().size();
  for (size_t i = 0; i < g.nodes().size(); ++i) {
    const Node &n = *g.nodes()[i];
    for (const Value *in : n.inputs()) {
      auto it = l.of.find(in);
      if (it != l.of.end())
        it->second.last = i;
    }
    for (const Value *r : n.results())
      l.of[r] = Lifetime{i, i};
  }
  auto keep = [&](const Value *v) {
    auto it = l.of.find(v);
    if (it != l.of.end())
      it->second.last = l.end;
  };
  for (const Value *o : g.outputs)
    keep(o);
  if (g.loss)
    keep(g.loss);
  for (const ParamUpdate &u : g.updates)
    keep(u.next);
  for (const auto &[param, grad] : g.gradients)
    if (llvm::none_of(g.updates, [&](const ParamUpdate &u) { return u.param == param; }))
      keep(grad);
  return l;
}

bool canShareInPlace(const Value *a, const Value *b) {
  const Node *n = b->def();
  if (!n || !a->type().known || a->type() != b->type())
    return false;
  OpClass c = n->info().opClass;
  return (c == OpClass::Elementwise || c == OpClass::Broadcast) &&
         llvm::is_contained(n->inputs(), a);
}

int64_t lastReader(const Graph &g, const Value *v) {
  int64_t last = -1;
  for (size_t i = 0; i < g.nodes().size(); ++i)
    if (llvm::is_contained(g.nodes()[i]->inputs(), v))
      last = static_cast<int64_t>(i);
  return last;
}

bool canUpdateInPlace(const Graph &g, const Value *param, const Value *next) {
  const Node *n = next->def();
  if (!n || !param->type().known || param->type() != next->type() ||
      llvm::is_contained(g.outputs, param) || g.loss == param)
    return false;
  OpClass c = n->info().opClass;
  if (c != OpClass::Elementwise && c != OpClass::Broadcast)
    return false;
  int64_t pos = -1;
  for (size_t i = 0; i < g.nodes().size(); ++i)
    if (g.nodes()[i].get() == n)
      pos = static_cast<int64_t>(i);
  return lastReader(g, param) <= pos;
}

} // namespace gradc::ir
