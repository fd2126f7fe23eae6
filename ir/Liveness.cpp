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
  if (g.updates.empty())
    for (const auto &[param, grad] : g.gradients)
      keep(grad);
  return l;
}

} // namespace gradc::ir
