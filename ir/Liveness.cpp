//===- ir/Liveness.cpp - Lifetimes of node results over the schedule ------===//
#include "ir/Liveness.h"

#include "ir/Fusion.h"

namespace gradc::ir {

std::vector<size_t> schedulePositions(const Graph &g) {
  std::vector<size_t> pos(g.nodes().size());
  for (size_t i = 0; i < pos.size(); ++i) {
    int32_t grp = g.nodes()[i]->group;
    pos[i] = i > 0 && grp != Node::kNoGroup && g.nodes()[i - 1]->group == grp ? pos[i - 1] : i;
  }
  return pos;
}

Liveness computeLiveness(const Graph &g) {
  Liveness l;
  l.end = g.nodes().size();
  std::vector<size_t> pos = schedulePositions(g);
  for (size_t i = 0; i < g.nodes().size(); ++i) {
    const Node &n = *g.nodes()[i];
    for (const Value *in : n.inputs()) {
      auto it = l.of.find(in);
      if (it != l.of.end())
        it->second.last = pos[i];
    }
    for (const Value *r : n.results())
      l.of[r] = Lifetime{pos[i], pos[i]};
  }
  for (const auto &n : g.nodes())
    if (n->group != Node::kNoGroup && !l.epilogueHeads.count(n->group) &&
        isEpilogueHead(n->op()))
      l.epilogueHeads[n->group] = n.get();
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
  if (!n || !a->type().known)
    return false;
  // A reshape's bytes are its input's, in the same order.
  if (n->op() == OpKind::Reshape)
    return n->input(0) == a && b->type().known && a->type().dtype == b->type().dtype;
  if (a->type() != b->type())
    return false;
  OpClass c = n->info().opClass;
  return (c == OpClass::Elementwise || c == OpClass::Broadcast) &&
         (n->group != Node::kNoGroup || llvm::is_contained(n->inputs(), a));
}

bool Liveness::mayShareInPlace(const Value *a, const Value *b) const {
  if (!canShareInPlace(a, b))
    return false;
  const Node *head = epilogueHeads.lookup(b->def()->group);
  return !head || !llvm::is_contained(head->inputs(), a);
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
  // The position of next's kernel: its node, or the last member of its group
  // (the group's loop reads each element of the param before writing it).
  int64_t pos = -1;
  for (size_t i = 0; i < g.nodes().size(); ++i)
    if (g.nodes()[i].get() == n ||
        (pos >= 0 && n->group != Node::kNoGroup && g.nodes()[i]->group == n->group))
      pos = static_cast<int64_t>(i);
  // In an epilogue group the param must not be an operand of the GEMM.
  for (const auto &m : g.nodes())
    if (m->group == n->group && n->group != Node::kNoGroup && isEpilogueHead(m->op()) &&
        llvm::is_contained(m->inputs(), param))
      return false;
  return lastReader(g, param) <= pos;
}

} // namespace gradc::ir
