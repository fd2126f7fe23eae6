//===- passes/Dce.cpp - Dead code elimination ------------------------------===//
//
// Terms. A *root* is a value the step must produce: an output, and when
// training also the loss, every recorded gradient and every param update. A
// node is *live* when one of its results is a root or an input of a live node.
// Every other node is dead and removed.
//
// Liveness is one walk over the schedule in reverse: users come after their
// definitions, so a node's liveness is final when the walk reaches it.
//
// Inference (!ctx.training) has no loss: the step computes outputs only, so
// the loss is cleared first (its nodes then die), and graph inputs that no
// node uses any more (e.g. the labels, read only by the loss) are removed so
// that the runtime does not ask for them. Gradients and updates, empty in an
// inference graph, stay roots if present: DCE never drops what a pass
// recorded.
//
//===----------------------------------------------------------------------===//
#include "passes/Passes.h"

#include "llvm/ADT/DenseSet.h"

namespace gradc::passes {

using ir::Graph;
using ir::Node;
using ir::Value;

namespace {

class DcePass : public Pass {
public:
  llvm::StringRef name() const override { return "dce"; }

  llvm::Expected<bool> run(Graph &g, PassContext &ctx) override {
    bool changed = false;
    if (!ctx.training && g.loss) {
      g.loss = nullptr;
      changed = true;
    }

    llvm::DenseSet<const Value *> live;
    for (const Value *o : g.outputs)
      live.insert(o);
    if (g.loss)
      live.insert(g.loss);
    for (const auto &[param, grad] : g.gradients)
      live.insert(grad);
    for (const ir::ParamUpdate &u : g.updates)
      live.insert(u.next);

    llvm::DenseSet<const Node *> dead;
    for (auto it = g.nodes().rbegin(); it != g.nodes().rend(); ++it) {
      const Node &n = **it;
      if (llvm::none_of(n.results(), [&](const Value *r) { return live.count(r); })) {
        dead.insert(&n);
        continue;
      }
      for (const Value *in : n.inputs())
        live.insert(in);
    }
    if (!dead.empty()) {
      g.eraseNodes([&](const Node &n) { return dead.count(&n) != 0; });
      changed = true;
    }

    if (!ctx.training) {
      std::vector<Value *> unused;
      for (Value *in : g.inputs())
        if (!live.count(in))
          unused.push_back(in);
      for (Value *in : unused)
        g.eraseInput(in);
      changed |= !unused.empty();
    }
    return changed;
  }
};

} // namespace

std::unique_ptr<Pass> createDcePass() { return std::make_unique<DcePass>(); }

} // namespace gradc::passes
