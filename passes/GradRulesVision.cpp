//===- passes/GradRulesVision.cpp - Gradient rules of the NCHW ops -------===//
//
// conv2d: dx and dw are kernels of their own (conv2d_grad_input, the
// transposed convolution, and conv2d_grad_weight, the correlation of x with
// dy), each taking the forward operand whose shape it produces; db sums dy
// over N, H and W. Pools have one gradient kernel each (max routes dy to the
// first maximum of each window, as PyTorch does; avg spreads dy / window
// size). global_avg_pool and flatten need only existing ops. The table
// entries are in GradRules.cpp ("Vision ops").
//
//===----------------------------------------------------------------------===//
#include "passes/GradRulesVision.h"

namespace gradc::passes {

using ir::Attrs;
using ir::Builder;
using ir::Node;
using ir::OpKind;
using ir::Value;
using Grads = llvm::SmallVector<Value *, 3>;
using GradsOrErr = llvm::Expected<Grads>;

namespace {
std::string dName(const Node &n, unsigned i) { return "d." + n.input(i)->name(); }

/// Builds nodes, keeping the first error (see Emitter in GradRules.cpp).
struct Chain {
  Builder &b;
  llvm::Error err = llvm::Error::success();
  Value *op(OpKind k, llvm::ArrayRef<Value *> ins, Attrs a, const std::string &name) {
    if (err)
      return nullptr;
    for (Value *v : ins)
      if (!v)
        return nullptr;
    auto v = b.create(k, ins, std::move(a), name);
    if (!v) {
      err = v.takeError();
      return nullptr;
    }
    return *v;
  }
  GradsOrErr done(Grads g) {
    if (err)
      return std::move(err);
    return g;
  }
};
} // namespace

GradsOrErr gradRuleConv2d(Builder &b, const Node &n, Value *dy) {
  Chain c{b};
  Value *dx = c.op(OpKind::Conv2dGradInput, {dy, n.input(1), n.input(0)}, n.attrs(),
                   dName(n, 0));
  Value *dw = c.op(OpKind::Conv2dGradWeight, {n.input(0), dy, n.input(1)}, n.attrs(),
                   dName(n, 1));
  Grads g{dx, dw};
  if (n.inputs().size() == 3) {
    Attrs a;
    a.set("axes", std::vector<int64_t>{0, 2, 3});
    a.set("keepdims", int64_t(0));
    g.push_back(c.op(OpKind::ReduceSum, {dy}, std::move(a), dName(n, 2)));
  }
  return c.done(std::move(g));
}

GradsOrErr gradRuleMaxPool2d(Builder &b, const Node &n, Value *dy) {
  Chain c{b};
  return c.done({c.op(OpKind::MaxPool2dGrad, {n.input(0), dy}, n.attrs(), dName(n, 0))});
}

GradsOrErr gradRuleAvgPool2d(Builder &b, const Node &n, Value *dy) {
  Chain c{b};
  return c.done({c.op(OpKind::AvgPool2dGrad, {n.input(0), dy}, n.attrs(), dName(n, 0))});
}

GradsOrErr gradRuleGlobalAvgPool(Builder &b, const Node &n, Value *dy) {
  // dx[n,c,h,w] = dy[n,c] / (H*W).
  const Shape &s = n.input(0)->type().shape;
  Chain c{b};
  Attrs r;
  r.set("shape", std::vector<int64_t>{s[0], s[1], 1, 1});
  Value *kept = c.op(OpKind::Reshape, {dy}, std::move(r), dName(n, 0) + ".t");
  Attrs bt;
  bt.set("shape", std::vector<int64_t>(s.begin(), s.end()));
  Value *spread = c.op(OpKind::BroadcastTo, {kept}, std::move(bt), dName(n, 0) + ".t");
  Attrs k;
  k.set("value", double(s[2] * s[3]));
  Value *count = c.op(OpKind::Constant, {}, std::move(k), n.input(0)->name() + ".pixels");
  return c.done({c.op(OpKind::Div, {spread, count}, {}, dName(n, 0))});
}

GradsOrErr gradRuleFlatten(Builder &b, const Node &n, Value *dy) {
  const Shape &s = n.input(0)->type().shape;
  Chain c{b};
  Attrs r;
  r.set("shape", std::vector<int64_t>(s.begin(), s.end()));
  return c.done({c.op(OpKind::Reshape, {dy}, std::move(r), dName(n, 0))});
}


llvm::Expected<llvm::SmallVector<ir::Value *, 3>>
gradRuleBatchNormTrain(ir::Builder &b, const ir::Node &n, ir::Value *dy) {
  // dgamma = sum(dy*xhat) and dbeta = sum(dy) per channel, then dx through
  // the batch statistics too, from those two sums (one pass each). The
  // statistics (input 3, batch_stats of x) get no gradient of their own.
  Chain c{b};
  ir::Attrs eps;
  eps.set("eps", n.attrs().getFloat("eps", 1e-5));
  Value *x = n.input(0), *stats = n.input(3);
  if (!stats->def() || stats->def()->op() != OpKind::BatchStats || stats->def()->input(0) != x)
    return ir::nodeError(n, b.graph(), "cannot differentiate batch_norm_train: its statistics %" +
                                           stats->name() + " must be batch_stats(%" + x->name() +
                                           ")");
  Value *dg = c.op(OpKind::BatchNormGradGamma, {x, dy, stats}, eps, dName(n, 1));
  // dbeta: the sum over the channel axes that autodiff's unbroadcast builds
  // for a broadcast beta.
  auto db = unbroadcast(b, dy, x->type().rank() == 4 ? Shape{n.input(2)->type().shape[0], 1, 1}
                                                     : n.input(2)->type().shape,
                        dName(n, 2) + ".t");
  if (!db)
    return db.takeError();
  ir::Attrs r;
  r.set("shape", std::vector<int64_t>{n.input(2)->type().shape[0]});
  Value *dbeta = (*db)->type().shape == n.input(2)->type().shape
                     ? *db
                     : c.op(OpKind::Reshape, {*db}, std::move(r), dName(n, 2));
  Value *dx = c.op(OpKind::BatchNormTrainGrad, {x, n.input(1), dy, stats, dg, dbeta}, eps,
                   dName(n, 0));
  return c.done({dx, dg, dbeta, nullptr});
}

} // namespace gradc::passes

namespace gradc::passes {

llvm::Expected<llvm::SmallVector<ir::Value *, 3>> gradRuleDropout(ir::Builder &, const ir::Node &,
                                                                 ir::Value *dy) {
  return llvm::SmallVector<ir::Value *, 3>{dy}; // eval form: the identity
}

llvm::Expected<llvm::SmallVector<ir::Value *, 3>>
gradRuleDropoutTrain(ir::Builder &b, const ir::Node &n, ir::Value *dy) {
  // The same mask (same seed, step and indices) scales dy; the step gets none.
  auto dx = b.create(ir::OpKind::DropoutTrain, {dy, n.input(1)}, n.attrs(),
                     "d." + n.input(0)->name());
  if (!dx)
    return dx.takeError();
  return llvm::SmallVector<ir::Value *, 3>{*dx, nullptr};
}

} // namespace gradc::passes
