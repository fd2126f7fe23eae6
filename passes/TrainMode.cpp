//===- passes/TrainMode.cpp - Training forms of batch_norm and dropout ----===//
//
// A model states its eval forms: batch_norm normalizes with the running
// statistics and dropout is the identity; `gradc run` and evaluation compile
// them as they are. The training and gradient pipelines run this pass (after
// infer-shapes, before autodiff), which rewrites them in place:
//
//   batch_norm(x, gamma, beta, rm, rv), statistics per channel over every
//   axis but 1 (N, H, W; M values, M known at run time):
//     stats = batch_stats(x)   (one pass: mean, biased and unbiased var)
//     y = batch_norm_train(x, gamma, beta, stats) = (x - mean) / sqrt(var + eps)
//         * gamma + beta, mean and biased var of the batch
//   and records two param updates (graph.updates), PyTorch's rule:
//     rm <- (1 - momentum) * rm + momentum * batch_mean(stats)
//     rv <- (1 - momentum) * rv + momentum * batch_var(stats)   (unbiased: M-1)
//   batch_norm_train's gradient rule gives dx through the batch statistics
//   in one kernel, from the statistics and the sums that dgamma and dbeta
//   are. (A first version wrote the statistics as reduce_mean,
//   sub, mul, ... and let autodiff differentiate them: the same numbers,
//   but ~40 broadcast kernels per batch_norm that took LLVM minutes to
//   compile for the resnet example; a second recomputed the statistics in
//   every kernel that needed them, two to three more passes over x per
//   layer.) rm and rv must be frozen params (`frozen: true`): buffers the
//   step updates and --save-params writes (eval needs them), unlike
//   optimizer state.
//
//   dropout(x) {p, seed} -> dropout_train(x, step) {p, seed}, where `step`
//   is a hyper input (HyperKind::Step) the runtime feeds every step, so the
//   mask changes per step without recompiling.
//
// A mode is thus a pipeline choice, not a flag every kernel reads: after
// this pass no eval-form op is left in a training graph.
//
//===----------------------------------------------------------------------===//
#include "passes/Passes.h"

#include "llvm/ADT/DenseSet.h"
#include "llvm/Support/FormatVariadic.h"

namespace gradc::passes {

using ir::Attrs;
using ir::Graph;
using ir::Node;
using ir::OpKind;
using ir::Value;

namespace {

/// Builds nodes before one node, keeping the first error.
class Rewriter {
public:
  Rewriter(Graph &g, Node &at) : b_(g, locOf(at)) { b_.setInsertBefore(&at); }

  Value *op(OpKind k, llvm::ArrayRef<Value *> ins, Attrs a = {}, const std::string &name = "") {
    if (err_)
      return nullptr;
    for (Value *v : ins)
      if (!v)
        return nullptr;
    auto v = b_.create(k, ins, std::move(a), name);
    if (!v) {
      err_ = v.takeError();
      return nullptr;
    }
    return *v;
  }
  Value *scalar(double v, const std::string &name) {
    Attrs a;
    a.set("value", v);
    return op(OpKind::Constant, {}, std::move(a), name);
  }
  llvm::Error takeError() { return std::move(err_); }

private:
  static ir::Location locOf(const Node &n) {
    ir::Location l = n.loc;
    l.pass = "train-mode";
    l.of = n.result()->name();
    return l;
  }
  ir::Builder b_;
  llvm::Error err_ = llvm::Error::success();
};

class TrainModePass : public Pass {
public:
  llvm::StringRef name() const override { return "train-mode"; }

  llvm::Expected<bool> run(Graph &g, PassContext &) override {
    std::vector<Node *> todo;
    for (const auto &n : g.nodes())
      if (n->op() == OpKind::BatchNorm || n->op() == OpKind::Dropout)
        todo.push_back(n.get());
    if (todo.empty())
      return false;
    llvm::DenseSet<const Value *> updated;
    for (const ir::ParamUpdate &u : g.updates)
      updated.insert(u.param);
    for (Node *n : todo) {
      auto y = n->op() == OpKind::BatchNorm ? batchNorm(g, *n, updated) : dropout(g, *n);
      if (!y)
        return y.takeError();
      // The training form takes over the eval form's uses and name.
      std::string name = n->result()->name();
      g.replaceAllUses(n->result(), *y);
      g.eraseNodes([&](const Node &m) { return &m == n; });
      g.renameValue(*y, name);
    }
    return true;
  }

private:
  llvm::Expected<Value *> batchNorm(Graph &g, Node &n, llvm::DenseSet<const Value *> &updated) {
    Value *x = n.input(0), *gamma = n.input(1), *beta = n.input(2);
    Value *rm = n.input(3), *rv = n.input(4);
    for (Value *s : {rm, rv}) {
      if (!s->isParam() || s->trainable || s->optimizerState)
        return ir::nodeError(n, g, "running statistic %" + s->name() +
                                       " must be a frozen param (frozen: true): the training "
                                       "step updates it, the optimizer must not");
      if (!updated.insert(s).second)
        return ir::nodeError(n, g, "running statistic %" + s->name() +
                                       " is updated twice (by two batch_norm nodes?)");
    }
    double eps = n.attrs().getFloat("eps", 1e-5), m = n.attrs().getFloat("momentum", 0.1);
    const std::string base = n.result()->name();
    Rewriter r(g, n);
    Attrs a;
    a.set("eps", eps);
    Value *stats = r.op(OpKind::BatchStats, {x}, {}, base + ".stats");
    Value *y = r.op(OpKind::BatchNormTrain, {x, gamma, beta, stats}, std::move(a), base + ".train");
    // Running statistics, PyTorch's update (unbiased variance).
    Value *mean = r.op(OpKind::BatchMean, {stats}, {}, base + ".batch_mean");
    Value *var = r.op(OpKind::BatchVar, {stats}, {}, base + ".batch_var");
    Value *keep = r.scalar(1 - m, base + ".keep"), *mom = r.scalar(m, base + ".momentum");
    Value *rmNext = r.op(OpKind::Add, {r.op(OpKind::Mul, {rm, keep}), r.op(OpKind::Mul, {mean, mom})},
                         {}, rm->name() + ".next");
    Value *rvNext = r.op(OpKind::Add, {r.op(OpKind::Mul, {rv, keep}), r.op(OpKind::Mul, {var, mom})},
                         {}, rv->name() + ".next");
    if (llvm::Error e = r.takeError())
      return std::move(e);
    g.updates.push_back({rm, rmNext});
    g.updates.push_back({rv, rvNext});
    return y;
  }

  llvm::Expected<Value *> dropout(Graph &g, Node &n) {
    Value *step = nullptr;
    for (Value *in : g.inputs())
      if (in->role == ir::InputRole::Hyper && in->hyper == HyperKind::Step)
        step = in;
    if (!step) {
      step = g.addInput(g.uniqueName("step"), TensorType(DType::F32, {}), ir::InputRole::Hyper);
      step->hyper = HyperKind::Step;
    }
    Rewriter r(g, n);
    Value *y = r.op(OpKind::DropoutTrain, {n.input(0), step}, n.attrs(),
                    n.result()->name() + ".train");
    if (llvm::Error e = r.takeError())
      return std::move(e);
    return y;
  }
};

} // namespace

std::unique_ptr<Pass> createTrainModePass() { return std::make_unique<TrainModePass>(); }

} // namespace gradc::passes
