//===- passes/Fuse.cpp - Elementwise chains into fusion groups -------------===//
//
// Policy (by op class, ir/Fusion.h): only elementwise maps fuse
// (ir::isFusibleMap: the Elementwise and Broadcast ops whose kernel computes
// one f32 element from the inputs at the same broadcast index). A group has
// one iteration space: every member's result has the same shape. Heavy ops
// (matmul, conv, reductions, losses, data movement) are never members: they
// stay kernels of their own, and a chain of maps between two of them becomes
// one loop nest.
//
// Algorithm: one walk over the schedule. Every fusible node starts a group
// of its own, then merges with the group of each of its inputs' producers
// that is fusible and has the node's result shape, when the two may merge:
// no path between them through a node of neither (else the merged group
// could not run as one kernel, since that node would have to run both after
// and before it). The check walks operands backwards, stopping at nodes
// scheduled before the source group's first member, which cannot depend on
// it. So chains, and trees of maps meeting at a node (m = b1*m + b2*g), fuse;
// siblings that share only an input (two consumers of one value) do not.
// Nor does a merge that would make a group wait for a heavy node scheduled
// after it (delays(): that would stretch the lifetimes of its inputs).
// Groups left with one member are no groups.
//
// Epilogues: a matmul, a conv2d, a conv2d_grad_input or a batch_norm_train
// may head a group (ir/Fusion.h). It starts a group of its own like a map but never joins
// its operands' groups; maps of its result's shape merge into it as above,
// when the merged group keeps one head, the head reads nothing the group
// computes, and every other operand of the maps has a form the epilogue
// reads (the group's shape, a row broadcast such as a bias after a
// matmul, a scalar). A head with no map after it is no group.
//
// Then the schedule is reordered so that each group is one contiguous run:
// a topological sort of groups and single nodes (the merge check keeps that
// graph acyclic) that always takes the ready unit whose first node came
// first; within a group its head comes first. Groups are numbered g0, g1,
// ... in that order.
//
// Each group becomes one kernel (codegen/ModuleBuilder.cpp); a member result
// read only inside the group needs no memory (plan-memory, ir/BufferLayout).
//
//===----------------------------------------------------------------------===//
#include "passes/Passes.h"

#include "ir/Fusion.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"

#include <queue>

namespace gradc::passes {

using ir::Graph;
using ir::Node;
using ir::Value;

namespace {

class FusePass : public Pass {
public:
  llvm::StringRef name() const override { return "fuse"; }

  llvm::Expected<bool> run(Graph &g, PassContext &) override {
    const size_t n = g.nodes().size();
    pos_.clear();
    groupOf_.clear();
    groups_.clear();
    first_.clear();
    head_.clear();
    for (size_t i = 0; i < n; ++i)
      pos_[g.nodes()[i].get()] = i;

    for (size_t i = 0; i < n; ++i) {
      Node *node = g.nodes()[i].get();
      bool map = fusible(*node), head = canHead(*node);
      if (!map && !head)
        continue;
      size_t mine = groups_.size();
      groups_.push_back({node});
      first_.push_back(i);
      head_.push_back(head ? node : nullptr);
      groupOf_[node] = mine;
      if (!map)
        continue; // a head never joins its operands' groups
      for (Value *in : node->inputs()) {
        Node *p = in->def();
        if (!p || !(fusible(*p) || canHead(*p)) ||
            p->result()->type().shape != node->result()->type().shape)
          continue;
        size_t theirs = groupOf_.lookup(p);
        if (theirs != mine && epilogueAllows(theirs, mine) && !delays(theirs, mine) &&
            !delays(mine, theirs) && !reaches(mine, theirs) && !reaches(theirs, mine))
          mine = merge(theirs, mine);
      }
    }

    std::vector<Node *> order = schedule(g);
    // Number groups in schedule order; compare with what the graph had.
    llvm::DenseMap<size_t, int32_t> ids;
    bool changed = false;
    for (Node *node : order) {
      int32_t id = Node::kNoGroup;
      auto it = groupOf_.find(node);
      if (it != groupOf_.end() && groups_[it->second].size() > 1)
        id = ids.try_emplace(it->second, static_cast<int32_t>(ids.size())).first->second;
      changed |= node->group != id;
      node->group = id;
    }
    for (size_t i = 0; i < n; ++i)
      changed |= order[i] != g.nodes()[i].get();
    if (changed)
      g.reorder(std::move(order));
    return changed;
  }

private:
  /// A matmul, conv or batch_norm_train whose result may take an epilogue.
  static bool canHead(const Node &n) {
    if (!ir::isEpilogueHead(n.op()) || n.results().size() != 1)
      return false;
    const TensorType &t = n.result()->type();
    return t.known && t.dtype == DType::F32;
  }

  /// True when groups `a` and `b` together have at most one head, the head
  /// reads nothing they compute, and every other operand of their maps has
  /// a form the epilogue reads (ir::epilogueRead).
  bool epilogueAllows(size_t a, size_t b) const {
    if (head_[a] && head_[b])
      return false;
    const Node *head = head_[a] ? head_[a] : head_[b];
    if (!head)
      return true;
    auto inside = [&](const Value *v) {
      auto it = v->def() ? groupOf_.find(v->def()) : groupOf_.end();
      return it != groupOf_.end() && (it->second == a || it->second == b);
    };
    const Shape &shape = head->result()->type().shape;
    for (size_t grp : {a, b})
      for (const Node *m : groups_[grp])
        for (const Value *in : m->inputs()) {
          if (m == head ? inside(in)
                        : !inside(in) && !ir::epilogueRead(in->type().shape, shape, head->op()))
            return false;
        }
    return true;
  }

  static bool fusible(const Node &n) {
    if (!ir::isFusibleMap(n.op()) || n.results().size() != 1)
      return false;
    const TensorType &t = n.result()->type();
    return t.known && t.dtype == DType::F32;
  }

  /// True when a path leads from group `from` to group `to` through nodes
  /// of neither: the two could then not run as one kernel. Walks backwards
  /// from `to`'s operands, never past `from`'s first node.
  bool reaches(size_t from, size_t to) const {
    const size_t first = first_[from];
    llvm::DenseSet<const Node *> seen;
    std::vector<const Node *> work;
    auto groupOf = [&](const Node *m) {
      auto it = groupOf_.find(m);
      return it != groupOf_.end() ? it->second : groups_.size();
    };
    for (const Node *t : groups_[to])
      for (const Value *in : t->inputs())
        if (const Node *d = in->def(); d && groupOf(d) != from && groupOf(d) != to)
          work.push_back(d);
    while (!work.empty()) {
      const Node *m = work.back();
      work.pop_back();
      if (pos_.lookup(m) < first || !seen.insert(m).second)
        continue;
      for (const Value *in : m->inputs()) {
        const Node *d = in->def();
        if (!d)
          continue;
        if (groupOf(d) == from)
          return true;
        work.push_back(d);
      }
    }
    return false;
  }

  /// True when merging would make group `a` wait for a heavy node (not a
  /// map: a matmul, a reduction, ...) that `b` reads and that runs after
  /// `a`'s first node: `a`'s inputs would then live across that node. (A
  /// gradient summed over time steps, d = ((g0 + g1) + g2) + ..., would
  /// otherwise become one group after the last g_t, keeping every g_t
  /// alive; instead each sum joins the next g_t's GEMM as its epilogue.)
  bool delays(size_t a, size_t b) const {
    for (const Node *m : groups_[b])
      for (const Value *in : m->inputs()) {
        const Node *d = in->def();
        if (!d || fusible(*d))
          continue;
        auto it = groupOf_.find(d);
        if (it != groupOf_.end() && (it->second == a || it->second == b))
          continue;
        if (pos_.lookup(d) > first_[a])
          return true;
      }
    return false;
  }

  /// Moves group `b`'s members into group `a`; returns `a`.
  size_t merge(size_t a, size_t b) {
    for (Node *m : groups_[b]) {
      groupOf_[m] = a;
      groups_[a].push_back(m);
    }
    groups_[b].clear();
    first_[a] = std::min(first_[a], first_[b]);
    if (!head_[a])
      head_[a] = head_[b];
    return a;
  }

  /// Nodes in an order where every group is contiguous: a topological sort
  /// of units (groups, single nodes), earliest first node first.
  std::vector<Node *> schedule(const Graph &g) const {
    const size_t n = g.nodes().size();
    // Unit of each node: groups are 0..G-1, single nodes G + position.
    auto unitOf = [&](const Node *m) {
      auto it = groupOf_.find(m);
      return it != groupOf_.end() ? it->second : groups_.size() + pos_.lookup(m);
    };
    const size_t units = groups_.size() + n;
    std::vector<std::vector<Node *>> members(units);
    std::vector<size_t> key(units, n), pending(units, 0);
    std::vector<std::vector<size_t>> succ(units);
    for (size_t i = 0; i < n; ++i) {
      Node *m = g.nodes()[i].get();
      size_t u = unitOf(m);
      // A head runs first in its group: nothing in the group feeds it.
      if (u < groups_.size() && head_[u] == m)
        members[u].insert(members[u].begin(), m);
      else
        members[u].push_back(m);
      key[u] = std::min(key[u], i);
      llvm::DenseSet<size_t> deps;
      for (const Value *in : m->inputs())
        if (const Node *d = in->def(); d && unitOf(d) != u && deps.insert(unitOf(d)).second) {
          succ[unitOf(d)].push_back(u);
          ++pending[u];
        }
    }
    using Item = std::pair<size_t, size_t>; // (key, unit)
    std::priority_queue<Item, std::vector<Item>, std::greater<Item>> ready;
    for (size_t u = 0; u < units; ++u)
      if (!members[u].empty() && pending[u] == 0)
        ready.push({key[u], u});
    std::vector<Node *> order;
    order.reserve(n);
    while (!ready.empty()) {
      size_t u = ready.top().second;
      ready.pop();
      order.insert(order.end(), members[u].begin(), members[u].end());
      for (size_t s : succ[u])
        if (--pending[s] == 0)
          ready.push({key[s], s});
    }
    assert(order.size() == n && "fusion groups made the schedule cyclic");
    return order;
  }

  llvm::DenseMap<const Node *, size_t> pos_;
  llvm::DenseMap<const Node *, size_t> groupOf_; // every fusible node
  std::vector<std::vector<Node *>> groups_;      // emptied when merged away
  std::vector<size_t> first_;                    // per group, its first position
  std::vector<const Node *> head_;               // per group, its matmul head or null
};

} // namespace

std::unique_ptr<Pass> createFusePass() { return std::make_unique<FusePass>(); }

} // namespace gradc::passes
