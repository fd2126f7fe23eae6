//===- passes/Optimizer.cpp - The optimizer step as graph nodes -----------===//
//
// Appends the optimizer step to the training graph so that it is compiled
// (and fused) with the rest of the step. The rules are torch.optim's (1.13),
// written op for op in the same order so that results agree to f32 rounding:
//
//   clip_norm > 0 (torch.nn.utils.clip_grad_norm_, before any kind):
//     total = sqrt(sum_i norm(g_i)^2);  c = clip_norm / (total + 1e-6)
//     g_i *= min(1, c)          with min(1, c) = c - relu(c - 1), which is
//                               exact for c < 2^24 (c - 1 is representable)
//   weight decay (sgd, rmsprop, adam):  g = g + wd * p
//   sgd:      buf = momentum * buf + g                 (momentum > 0)
//             d = nesterov ? g + momentum * buf : buf   (else d = g)
//             p = p - lr * d
//   rmsprop:  sq = alpha * sq + (1 - alpha) * g * g;  avg = sqrt(sq) + eps
//             buf = momentum * buf + g / avg;  p = p - lr * buf   (momentum > 0)
//             p = p - lr * (g / avg)                               (else)
//   adam(w):  adamw: p = p * (1 - lr * wd)   (decoupled decay, first)
//             m = beta1 * m + (1 - beta1) * g;  v = beta2 * v + (1 - beta2) * g * g
//             p = p - step_size * (m / (sqrt(v) / sqrt(bc2) + eps))
//
// Optimizer state (W.momentum, W.square_avg, W.m, W.v) becomes params that are
// not trainable, marked optimizerState, zero-initialized and updated through
// graph.updates like the params. Zero state reproduces torch's first step,
// which clones g into the momentum buffer: 0 * momentum + g == g exactly.
//
// Everything that changes per step or with the learning rate is a hyper
// input fed by the runtime (runtime/Hyper.h): lr, and for Adam the step size
// lr / (1 - beta1^t) and sqrt(1 - beta2^t), which torch computes in double
// (1 - 0.999^t in f32 would be off by ~1e-4 relative), and AdamW's 1 - lr*wd.
// Constants (beta1, 1 - beta1, ...) are computed in double and rounded to
// f32 once, as torch rounds its Python scalars.
//
// Runs only when building the training step, after autodiff.
//
//===----------------------------------------------------------------------===//
#include "passes/Passes.h"

#include "llvm/ADT/StringMap.h"

#include <optional>

namespace gradc::passes {

using ir::Graph;
using ir::OpKind;
using ir::TrainingConfig;
using ir::Value;

namespace {

llvm::Error graphError(const Graph &g, const llvm::Twine &msg) {
  std::string prefix = g.sourceFile.empty() ? "" : g.sourceFile + ": ";
  return llvm::createStringError(llvm::inconvertibleErrorCode(), prefix + msg.str());
}

/// Builds the update nodes and keeps the first error, so the rules above
/// read as straight-line math: after an error every call returns null.
class UpdateEmitter {
public:
  UpdateEmitter(Graph &g) : g_(g), b_(g, location("")) {}

  /// Nodes made next are attributed to `param` (or to no value when empty).
  void setParam(const std::string &param) { b_.setLocation(location(param)); }

  Value *op(OpKind k, llvm::ArrayRef<Value *> ins, const std::string &name = "") {
    if (err_)
      return nullptr;
    auto v = b_.create(k, ins, {}, name);
    if (!v) {
      err_ = v.takeError();
      return nullptr;
    }
    return *v;
  }
  Value *add(Value *a, Value *b, const std::string &name = "") {
    return op(OpKind::Add, {a, b}, name);
  }
  Value *sub(Value *a, Value *b, const std::string &name = "") {
    return op(OpKind::Sub, {a, b}, name);
  }
  Value *mul(Value *a, Value *b, const std::string &name = "") {
    return op(OpKind::Mul, {a, b}, name);
  }
  Value *div(Value *a, Value *b, const std::string &name = "") {
    return op(OpKind::Div, {a, b}, name);
  }

  /// An f32 scalar constant, made once per name.
  Value *constant(const std::string &name, double value) {
    if (Value *v = constants_.lookup(name))
      return v;
    if (err_)
      return nullptr;
    ir::Location saved = b_.location();
    b_.setLocation(location(""));
    ir::Attrs a;
    a.set("value", value);
    auto v = b_.create(OpKind::Constant, {}, std::move(a), name);
    b_.setLocation(std::move(saved));
    if (!v) {
      err_ = v.takeError();
      return nullptr;
    }
    constants_[name] = *v;
    return *v;
  }

  /// A scalar hyper input of `kind`, made once per kind.
  Value *hyper(HyperKind kind) {
    Value *&slot = hypers_[static_cast<unsigned>(kind)];
    if (!slot) {
      slot = g_.addInput(g_.uniqueName(hyperKindName(kind)), TensorType(DType::F32, {}),
                         ir::InputRole::Hyper);
      slot->hyper = kind;
    }
    return slot;
  }

  /// Zero-initialized optimizer state shaped like `param`, named param.what.
  Value *state(const Value *param, llvm::StringRef what) {
    Value *s = g_.addParam(g_.uniqueName(param->name() + "." + what.str()), param->type(),
                           ir::Initializer{}, /*trainable=*/false);
    s->optimizerState = true;
    return s;
  }

  llvm::Error takeError() { return err_ ? std::move(*err_) : llvm::Error::success(); }

private:
  static ir::Location location(const std::string &of) {
    ir::Location loc;
    loc.pass = "optimizer";
    loc.of = of;
    return loc;
  }

  Graph &g_;
  ir::Builder b_;
  std::optional<llvm::Error> err_;
  llvm::StringMap<Value *> constants_;
  Value *hypers_[4] = {};
};

/// Scales every gradient by min(1, clip / (global norm + 1e-6)) in place
/// (the gradients entries then name the clipped values).
void clipGradients(UpdateEmitter &e, std::vector<std::pair<Value *, Value *>> &grads,
                   double clipNorm) {
  e.setParam("");
  Value *sumSq = nullptr;
  for (auto &[param, grad] : grads) {
    // torch.norm of each gradient, then the norm of those norms.
    Value *gg = e.mul(grad, grad);
    Value *sq = e.op(OpKind::ReduceSum, {gg}, param->name() + ".sqnorm");
    Value *norm = e.op(OpKind::Sqrt, {sq}, param->name() + ".norm");
    Value *norm2 = e.mul(norm, norm);
    sumSq = sumSq ? e.add(sumSq, norm2) : norm2;
  }
  Value *total = e.op(OpKind::Sqrt, {sumSq}, "grad_norm");
  Value *clipEps = e.constant("clip_eps", 1e-6);
  Value *denom = e.add(total, clipEps);
  Value *coef = e.div(e.constant("clip_norm", clipNorm), denom, "clip_coef");
  Value *excess = e.sub(coef, e.constant("one", 1.0));
  Value *scale = e.sub(coef, e.op(OpKind::Relu, {excess}), "clip_scale");
  for (auto &[param, grad] : grads) {
    e.setParam(param->name());
    grad = e.mul(grad, scale, param->name() + ".clipped");
  }
}

/// Appends the update of one param; returns the param's next value. Operands
/// are built in named steps, never as nested call arguments, whose order of
/// evaluation C++ leaves open: the printed IR must not depend on the compiler.
Value *emitUpdate(UpdateEmitter &e, const TrainingConfig &t, Value *p, Value *grad,
                  std::vector<ir::ParamUpdate> &stateUpdates) {
  const std::string &name = p->name();
  e.setParam(name);
  llvm::StringRef kind = t.optimizer;
  if (t.weightDecay > 0 && kind != "adamw") {
    Value *wd = e.constant("weight_decay", t.weightDecay);
    Value *decay = e.mul(wd, p);
    grad = e.add(grad, decay, name + ".decayed");
  }

  if (kind == "sgd") {
    Value *d = grad;
    if (t.momentum > 0) {
      Value *mom = e.constant("momentum", t.momentum);
      Value *buf = e.state(p, "momentum");
      Value *kept = e.mul(buf, mom);
      Value *bufNext = e.add(kept, grad, buf->name() + ".next");
      stateUpdates.push_back({buf, bufNext});
      d = bufNext;
      if (t.nesterov) {
        Value *ahead = e.mul(mom, bufNext);
        d = e.add(grad, ahead, name + ".nesterov");
      }
    }
    Value *step = e.mul(e.hyper(HyperKind::LearningRate), d, name + ".step");
    return e.sub(p, step, name + ".next");
  }

  if (kind == "rmsprop") {
    Value *alpha = e.constant("alpha", t.alpha);
    Value *oneMinusAlpha = e.constant("one_minus_alpha", 1 - t.alpha);
    Value *eps = e.constant("eps", t.eps);
    Value *sq = e.state(p, "square_avg");
    Value *kept = e.mul(sq, alpha);
    Value *scaled = e.mul(oneMinusAlpha, grad); // torch's addcmul: (value * g) * g
    Value *fresh = e.mul(scaled, grad);
    Value *sqNext = e.add(kept, fresh, sq->name() + ".next");
    stateUpdates.push_back({sq, sqNext});
    Value *root = e.op(OpKind::Sqrt, {sqNext});
    Value *avg = e.add(root, eps, name + ".avg");
    Value *d = e.div(grad, avg);
    if (t.momentum > 0) {
      Value *mom = e.constant("momentum", t.momentum);
      Value *buf = e.state(p, "momentum");
      Value *keptBuf = e.mul(buf, mom);
      Value *bufNext = e.add(keptBuf, d, buf->name() + ".next");
      stateUpdates.push_back({buf, bufNext});
      d = bufNext;
    }
    Value *step = e.mul(e.hyper(HyperKind::LearningRate), d, name + ".step");
    return e.sub(p, step, name + ".next");
  }

  // adam, adamw
  Value *beta1 = e.constant("beta1", t.beta1);
  Value *oneMinusBeta1 = e.constant("one_minus_beta1", 1 - t.beta1);
  Value *beta2 = e.constant("beta2", t.beta2);
  Value *oneMinusBeta2 = e.constant("one_minus_beta2", 1 - t.beta2);
  Value *eps = e.constant("eps", t.eps);
  Value *base = p;
  if (kind == "adamw" && t.weightDecay > 0)
    base = e.mul(p, e.hyper(HyperKind::AdamWDecay), name + ".decayed");
  Value *m = e.state(p, "m");
  Value *v = e.state(p, "v");
  Value *keptM = e.mul(m, beta1);
  Value *freshM = e.mul(grad, oneMinusBeta1);
  Value *mNext = e.add(keptM, freshM, m->name() + ".next");
  Value *keptV = e.mul(v, beta2);
  Value *scaled = e.mul(oneMinusBeta2, grad); // torch's addcmul: (value * g) * g
  Value *freshV = e.mul(scaled, grad);
  Value *vNext = e.add(keptV, freshV, v->name() + ".next");
  stateUpdates.push_back({m, mNext});
  stateUpdates.push_back({v, vNext});
  Value *root = e.op(OpKind::Sqrt, {vNext});
  Value *corrected = e.div(root, e.hyper(HyperKind::AdamBiasCorrection2Sqrt));
  Value *denom = e.add(corrected, eps, name + ".denom");
  Value *ratio = e.div(mNext, denom);
  Value *step = e.mul(e.hyper(HyperKind::AdamStepSize), ratio, name + ".step");
  return e.sub(base, step, name + ".next");
}

class OptimizerPass : public Pass {
public:
  llvm::StringRef name() const override { return "optimizer"; }

  llvm::Expected<bool> run(Graph &g, PassContext &ctx) override {
    if (!ctx.training)
      return false;
    if (llvm::Error e = ir::checkOptimizerConfig(g.training))
      return graphError(g, "optimizer: " + llvm::toString(std::move(e)));
    // The step already has its updates (running statistics recorded by
    // train-mode are not the optimizer's).
    for (const ir::ParamUpdate &u : g.updates)
      if (u.param->trainable || u.param->optimizerState)
        return false;
    if (g.gradients.empty()) {
      for (const Value *p : g.params())
        if (p->trainable)
          return graphError(g, "the optimizer needs the gradient of param %" + p->name() +
                                   "; run autodiff first");
      return false; // nothing to train
    }

    UpdateEmitter e(g);
    std::vector<std::pair<Value *, Value *>> grads = g.gradients;
    if (g.training.clipNorm > 0)
      clipGradients(e, grads, g.training.clipNorm);
    std::vector<ir::ParamUpdate> params, state;
    for (auto &[param, grad] : grads)
      params.push_back({param, emitUpdate(e, g.training, param, grad, state)});
    if (llvm::Error err = e.takeError())
      return err;
    // Params first, in gradient order, then their optimizer state (after
    // any updates already recorded).
    g.updates.insert(g.updates.end(), params.begin(), params.end());
    g.updates.insert(g.updates.end(), state.begin(), state.end());
    return true;
  }
};

} // namespace

std::unique_ptr<Pass> createOptimizerPass() { return std::make_unique<OptimizerPass>(); }

} // namespace gradc::passes
