//===- passes/InferShapes.cpp - Types of every value -----------------------===//
//
// Shape inference is one in-order walk over the schedule: the schedule is a
// topological order, so when a node is reached every input already has its
// type, and the op's shape rule (ir/ShapeRules.cpp, via ir::inferNodeShape)
// gives the result types. The symbolic batch dimension N is carried by the
// rules themselves. The first failing node stops the pass (later nodes would
// only repeat the error); inferNodeShape names the node and its location.
//
// After the walk the graph-level roles are checked: every output is a value,
// and the loss, if any, is an f32 scalar.
//
// Returns "changed" when any result type differs from what it was before, so a
// second run on an inferred graph is a no-op.
//
//===----------------------------------------------------------------------===//
#include "passes/Passes.h"

namespace gradc::passes {

using ir::Graph;

namespace {

llvm::Error graphError(const Graph &g, const llvm::Twine &msg) {
  std::string prefix = g.sourceFile.empty() ? "" : g.sourceFile + ": ";
  return llvm::createStringError(llvm::inconvertibleErrorCode(), prefix + msg.str());
}

class InferShapesPass : public Pass {
public:
  llvm::StringRef name() const override { return "infer-shapes"; }

  llvm::Expected<bool> run(Graph &g, PassContext &ctx) override {
    bool changed = false;
    for (const auto &n : g.nodes()) {
      llvm::SmallVector<TensorType, 1> before;
      for (const ir::Value *r : n->results())
        before.push_back(r->type());
      if (auto e = ir::inferNodeShape(*n, g))
        return e;
      for (size_t i = 0; i < before.size(); ++i)
        changed |= before[i] != n->result(i)->type();
    }

    for (size_t i = 0; i < g.outputs.size(); ++i)
      if (!g.outputs[i])
        return graphError(g, "output #" + llvm::Twine(i) + " is not a value");
    if (g.loss && g.loss->type() != TensorType(DType::F32, {}))
      return graphError(g, "loss %" + g.loss->name() + " must be a scalar f32, got " +
                               g.loss->type().str());
    return changed;
  }
};

} // namespace

std::unique_ptr<Pass> createInferShapesPass() {
  return std::make_unique<InferShapesPass>();
}

} // namespace gradc::passes
