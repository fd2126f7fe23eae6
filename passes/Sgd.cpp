//===- passes/Sgd.cpp - Plain stochastic gradient descent updates ----------===//
//
// Appends the optimizer step to the training graph so that it is compiled
// (and fused) with the rest of the step:
//
//   input %lr : f32[] hyper                       (fed by the runtime each step)
//   %W.step = mul(%lr, %d.W)
//   %W.next = sub(%W, %W.step)                    update %W = %W.next
//
// one pair per entry of graph.gradients, in that order. The learning rate is
// a hyper input rather than a constant so that schedules change it without
// recompiling. Runs only when building the training step, after autodiff.
//
//===----------------------------------------------------------------------===//
#include "passes/Passes.h"

namespace gradc::passes {

using ir::Graph;
using ir::OpKind;
using ir::Value;

namespace {

llvm::Error graphError(const Graph &g, const llvm::Twine &msg) {
  std::string prefix = g.sourceFile.empty() ? "" : g.sourceFile + ": ";
  return llvm::createStringError(llvm::inconvertibleErrorCode(), prefix + msg.str());
}

class SgdPass : public Pass {
public:
  llvm::StringRef name() const override { return "sgd"; }

  llvm::Expected<bool> run(Graph &g, PassContext &ctx) override {
    if (!ctx.training)
      return false;
    if (g.training.optimizer != "sgd")
      return graphError(g, "optimizer '" + g.training.optimizer +
                               "' is not supported yet (supported: sgd)");
    if (!g.updates.empty()) // the step already has its updates
      return false;
    if (g.gradients.empty()) {
      for (const Value *p : g.params())
        if (p->trainable)
          return graphError(g, "sgd needs the gradient of param %" + p->name() +
                                   "; run autodiff first");
      return false; // nothing to train
    }

    Value *lr = g.addInput(g.uniqueName("lr"), TensorType(DType::F32, {}),
                           ir::InputRole::Hyper);
    for (auto &[param, grad] : g.gradients) {
      ir::Location loc;
      loc.pass = "sgd";
      loc.of = param->name();
      ir::Builder b(g, loc);
      auto step = b.create(OpKind::Mul, {lr, grad}, {}, param->name() + ".step");
      if (!step)
        return step.takeError();
      auto next = b.create(OpKind::Sub, {param, *step}, {}, param->name() + ".next");
      if (!next)
        return next.takeError();
      g.updates.push_back({param, *next});
    }
    return true;
  }
};

} // namespace

std::unique_ptr<Pass> createSgdPass() { return std::make_unique<SgdPass>(); }

} // namespace gradc::passes
