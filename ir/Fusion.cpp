//===- ir/Fusion.cpp - Fusion groups: which nodes run as one loop nest ----===//
#include "ir/Fusion.h"

#include "llvm/ADT/DenseMap.h"

namespace gradc::ir {

bool isFusibleMap(OpKind op) {
  switch (op) {
  case OpKind::Add:
  case OpKind::Sub:
  case OpKind::Mul:
  case OpKind::Div:
  case OpKind::Neg:
  case OpKind::Relu:
  case OpKind::Sigmoid:
  case OpKind::Tanh:
  case OpKind::Exp:
  case OpKind::Log:
  case OpKind::Sqrt:
  case OpKind::ReluGrad:
  case OpKind::SigmoidGrad:
  case OpKind::TanhGrad:
  case OpKind::LeakyRelu:
  case OpKind::Gelu:
  case OpKind::Gaussian:
  case OpKind::Elu:
  case OpKind::Softplus:
  case OpKind::Step:
  case OpKind::Pow:
  case OpKind::Maximum:
  case OpKind::Minimum:
  case OpKind::Where:
  case OpKind::ActivationGrad:
  case OpKind::ExtremumGrad:
    return true;
  default:
    return false;
  }
}

bool isEpilogueHead(OpKind op) {
  switch (op) {
  case OpKind::MatMul:
  case OpKind::Conv2d:
  case OpKind::Conv2dGradInput:
  case OpKind::BatchNormTrain:
    return true;
  default:
    return false;
  }
}

bool headStoresResult(OpKind head) { return head != OpKind::BatchNormTrain; }

std::optional<EpilogueRead> epilogueRead(const Shape &operand, const Shape &group, OpKind head) {
  if (operand == group)
    return EpilogueRead::Full;
  if (llvm::all_of(operand, [](int64_t d) { return d == 1; }))
    return EpilogueRead::Scalar;
  if (head == OpKind::MatMul && !operand.empty() && !group.empty() &&
      operand.back() == group.back() &&
      operand.size() <= group.size() &&
      llvm::all_of(llvm::ArrayRef<int64_t>(operand).drop_back(),
                   [](int64_t d) { return d == 1; }))
    return EpilogueRead::Row;
  return std::nullopt;
}

bool readAfterStep(const Graph &g, const Value *v) {
  if (llvm::is_contained(g.outputs, v) || g.loss == v)
    return true;
  for (const auto &[param, grad] : g.gradients)
    if (grad == v)
      return true;
  for (const ParamUpdate &u : g.updates)
    if (u.next == v)
      return true;
  return false;
}

std::vector<FusionGroup> collectFusionGroups(const Graph &g) {
  std::vector<FusionGroup> groups;
  llvm::DenseMap<int32_t, size_t> index;
  // The groups of every value's readers (kNoGroup for an ungrouped one).
  llvm::DenseMap<const Value *, llvm::SmallVector<int32_t, 2>> readers;
  for (const auto &n : g.nodes())
    for (const Value *in : n->inputs())
      readers[in].push_back(n->group);
  for (const auto &n : g.nodes()) {
    if (n->group == Node::kNoGroup)
      continue;
    auto [it, fresh] = index.try_emplace(n->group, groups.size());
    if (fresh) {
      groups.emplace_back();
      groups.back().id = n->group;
    }
    groups[it->second].members.push_back(n.get());
  }
  for (FusionGroup &grp : groups) {
    if (!isFusibleMap(grp.members.front()->op())) {
      grp.head = grp.members.front();
      if (headStoresResult(grp.head->op()))
        grp.outputs.push_back(grp.head->result());
    }
    llvm::DenseSet<const Value *> defined, seen;
    for (const Node *m : grp.members)
      for (const Value *r : m->results())
        defined.insert(r);
    for (const Node *m : grp.members)
      for (const Value *in : m->inputs())
        if (!defined.contains(in) && seen.insert(in).second)
          grp.inputs.push_back(in);
    for (const Node *m : grp.members)
      for (const Value *r : m->results()) {
        if (m == grp.head && headStoresResult(m->op()))
          continue; // already first
        bool outside = readAfterStep(g, r);
        for (int32_t reader : readers.lookup(r))
          outside |= reader != grp.id;
        if (outside)
          grp.outputs.push_back(r);
      }
  }
  return groups;
}

llvm::DenseSet<const Value *> groupInternalValues(const Graph &g) {
  llvm::DenseSet<const Value *> internal;
  for (const auto &n : g.nodes()) {
    if (n->group == Node::kNoGroup)
      continue;
    for (const Value *r : n->results())
      internal.insert(r);
  }
  for (const FusionGroup &grp : collectFusionGroups(g))
    for (const Value *o : grp.outputs)
      internal.erase(o);
  return internal;
}

} // namespace gradc::ir
