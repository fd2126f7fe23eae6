//===- passes/Autodiff.cpp - Reverse-mode automatic differentiation -------===//
//
// Appends the backward graph to the forward one, so later passes fuse and
// schedule both together. Runs only when building the training step.
//
//   1. The path: nodes forward-reachable from a trainable param AND
//      backward-reachable from the loss. Only they need a gradient.
//   2. Every path node whose op has no rule (GradRules.cpp) is collected and
//      reported in one error, so the user sees all of them at once.
//   3. The adjoint of the loss is seeded with the constant 1.0 : f32[].
//   4. Path nodes are visited in reverse schedule order. For each, the
//      adjoint of its result (the sum of all contributions, complete because
//      every user comes later in the schedule) is passed to the op's rule,
//      and each returned input gradient that matters (the input is a path
//      value or a trainable param) is summed back to the input's shape when
//      the op broadcast it, then accumulated with `add` (fan-out). Both are
//      done here, once, for every op. When the contributions are all
//      slice_grads along one axis whose ranges tile the value (an LSTM's
//      gates cut from one projection, its time steps cut from the
//      sequence), the adjoint is instead the concat of the slices'
//      gradients (concatSlices): one copy, where each slice_grad would
//      fill a full-size tensor with zeros and the adds would sum them.
//   5. graph.gradients gets one entry per trainable param, in declaration
//      order. A trainable param that does not reach the loss gets a constant
//      zero gradient: the map stays total, so the optimizer and the runtime
//      treat every trainable param alike, and SGD leaves such a param as is.
//   6. Rules build gradients for every input; those that flow to no param
//      gradient (e.g. d(x) of the data input) are erased before returning.
//
// Every node made here has the Location of the forward node it
// differentiates, with pass "autodiff" and `of` = that node's result. The
// walk follows the schedule and declaration order only, so the output is
// deterministic.
//
//===----------------------------------------------------------------------===//
#include "passes/GradRules.h"
#include "passes/Passes.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"

namespace gradc::passes {

using ir::Graph;
using ir::Location;
using ir::Node;
using ir::OpKind;
using ir::Value;

namespace {

llvm::Error error(const Graph &g, const llvm::Twine &msg) {
  std::string prefix = g.sourceFile.empty() ? "" : g.sourceFile + ": ";
  return llvm::createStringError(llvm::inconvertibleErrorCode(), prefix + msg.str());
}

/// The location given to every node made while differentiating `n`.
Location backwardLoc(const Node &n) {
  Location loc = n.loc;
  loc.pass = "autodiff";
  loc.of = n.result()->name();
  return loc;
}

class Autodiff {
public:
  explicit Autodiff(Graph &g) : g_(g), b_(g, Location{}) {}
  llvm::Error run();

private:
  void findPath();
  llvm::Error checkRules() const;
  llvm::Error differentiate(const Node &n);
  llvm::Error accumulate(Value *input, Value *grad);
  Value *finalAdjoint(const Value *v);
  Value *concatSlices(const Value *v, Value *adj);
  llvm::Error recordGradients();
  void eraseUnused();
  void noteNewNodes(size_t before);

  Graph &g_;
  ir::Builder b_;
  std::vector<const Node *> path_; // schedule order
  llvm::DenseSet<const Value *> onPath_;
  llvm::DenseMap<const Value *, Value *> adjoint_;
  llvm::DenseSet<const Node *> made_;
  /// Gradient values made for one forward value (contributions, partial
  /// sums): the one that ends up its adjoint is renamed `d.<value>`.
  llvm::DenseMap<const Value *, const Value *> owner_;
  /// Partial sums made by accumulate.
  llvm::DenseSet<const Value *> sums_;
};

bool isTrainable(const Value *v) { return v->isParam() && v->trainable; }

void Autodiff::findPath() {
  // Forward from trainable params.
  llvm::DenseSet<const Value *> fwd;
  for (const Value *p : g_.params())
    if (p->trainable)
      fwd.insert(p);
  for (const auto &n : g_.nodes())
    if (llvm::any_of(n->inputs(), [&](const Value *v) { return fwd.count(v); }))
      for (const Value *r : n->results())
        fwd.insert(r);
  // Backward from the loss.
  llvm::DenseSet<const Value *> bwd{g_.loss};
  std::vector<const Node *> rev;
  for (auto it = g_.nodes().rbegin(); it != g_.nodes().rend(); ++it) {
    const Node &n = **it;
    if (!llvm::any_of(n.results(), [&](const Value *r) { return bwd.count(r); }))
      continue;
    const ir::OpInfo &info = ir::opInfo(n.op());
    for (unsigned i = 0; i < n.inputs().size(); ++i)
      if (info.gradFlowsTo(i, n.inputs().size()))
        bwd.insert(n.input(i));
    if (fwd.count(n.result()))
      rev.push_back(&n);
  }
  path_.assign(rev.rbegin(), rev.rend());
  for (const Node *n : path_)
    for (const Value *r : n->results())
      onPath_.insert(r);
}

llvm::Error Autodiff::checkRules() const {
  std::string missing;
  unsigned count = 0;
  for (const Node *n : path_) {
    if (gradRule(n->op()))
      continue;
    ++count;
    missing += missing.empty() ? "" : ", ";
    missing += n->describe();
    std::string where = n->loc.file.empty() ? g_.sourceFile : n->loc.file;
    if (!where.empty() && n->loc.line)
      missing += " at " + where + ":" + std::to_string(n->loc.line);
  }
  if (!count)
    return llvm::Error::success();
  return error(g_, llvm::Twine("cannot differentiate loss %") + g_.loss->name() + ": " +
                       llvm::Twine(count) + " node(s) between the trainable params and "
                       "the loss have no gradient rule: " + missing);
}

llvm::Error Autodiff::differentiate(const Node &n) {
  assert(n.results().size() == 1 && "gradient rules take one result gradient");
  Value *dy = finalAdjoint(n.result());
  if (!dy) // every use of the result is through inputs that get no gradient
    return llvm::Error::success();
  b_.setLocation(backwardLoc(n));
  size_t before = g_.nodes().size();
  auto grads = gradRule(n.op())(b_, n, dy);
  if (!grads)
    return grads.takeError();
  assert(grads->size() == n.inputs().size() && "a rule returns one gradient per input");
  for (unsigned i = 0; i < n.inputs().size(); ++i) {
    Value *in = n.input(i);
    Value *grad = (*grads)[i];
    if (!grad || !(onPath_.count(in) || isTrainable(in)))
      continue;
    bool madeHere = false;
    for (size_t k = before; k < g_.nodes().size() && !madeHere; ++k)
      madeHere = g_.nodes()[k]->result() == grad;
    if (madeHere)
      owner_.try_emplace(grad, in);
    auto fitted = unbroadcast(b_, grad, in->type().shape, "d." + in->name());
    if (!fitted)
      return fitted.takeError();
    if (*fitted != grad)
      owner_.try_emplace(*fitted, in);
    if (auto e = accumulate(in, *fitted))
      return e;
  }
  return llvm::Error::success();
}

llvm::Error Autodiff::accumulate(Value *input, Value *grad) {
  assert(grad->type() == TensorType(DType::F32, input->type().shape) &&
         "a gradient has its input's shape");
  Value *&acc = adjoint_[input];
  if (!acc) {
    acc = grad;
    return llvm::Error::success();
  }
  auto sum = b_.create(OpKind::Add, {acc, grad}, {}, "d." + input->name());
  if (!sum)
    return sum.takeError();
  acc = *sum;
  owner_[acc] = input;
  sums_.insert(acc);
  return llvm::Error::success();
}

Value *Autodiff::concatSlices(const Value *v, Value *adj) {
  // The leaves of the sum: contributions that are not partial sums.
  llvm::SmallVector<Value *, 8> leaves, stack{adj};
  while (!stack.empty()) {
    Value *x = stack.pop_back_val();
    if (sums_.count(x)) {
      stack.push_back(x->def()->input(1));
      stack.push_back(x->def()->input(0));
    } else {
      leaves.push_back(x);
    }
  }
  if (leaves.size() < 2)
    return adj;
  struct Piece {
    int64_t start;
    Value *dy;
  };
  llvm::SmallVector<Piece, 8> pieces;
  int64_t axis = -1;
  for (Value *leaf : leaves) {
    const Node *d = leaf->def();
    if (!d || d->op() != OpKind::SliceGrad || owner_.lookup(leaf) != v)
      return adj;
    int64_t a = d->attrs().getInt("axis", 0);
    if (axis >= 0 && a != axis)
      return adj;
    axis = a;
    pieces.push_back({d->attrs().getInt("start", 0), d->input(0)});
  }
  llvm::sort(pieces, [](const Piece &x, const Piece &y) { return x.start < y.start; });
  int64_t next = 0;
  for (const Piece &p : pieces) {
    if (p.start != next)
      return adj; // a gap or an overlap: the sum stays
    next += p.dy->type().shape[axis];
  }
  if (next != v->type().shape[axis])
    return adj;
  llvm::SmallVector<Value *, 8> ins;
  for (const Piece &p : pieces)
    ins.push_back(p.dy);
  b_.setLocation(adj->def()->loc);
  ir::Attrs attrs;
  attrs.set("axis", axis);
  auto cat = b_.create(OpKind::Concat, ins, std::move(attrs), "d." + v->name());
  if (!cat) { // cannot happen: the pieces tile v
    llvm::consumeError(cat.takeError());
    return adj;
  }
  owner_[*cat] = v;
  adjoint_[v] = *cat;
  return *cat;
}

Value *Autodiff::finalAdjoint(const Value *v) {
  // Rules name each contribution `d.<input>` without knowing whether more
  // will come; the complete adjoint takes that name once it is known, and a
  // partial holding it moves to `d.<input>.0`. Names of values made for
  // other values (an adjoint passed through `add`) or by the model stay.
  Value *adj = adjoint_.lookup(v);
  if (adj && sums_.count(adj))
    adj = concatSlices(v, adj);
  std::string want = "d." + v->name();
  if (!adj || adj->name() == want || owner_.lookup(adj) != v)
    return adj;
  if (Value *holder = g_.lookup(want)) {
    if (owner_.lookup(holder) != v)
      return adj;
    g_.renameValue(holder, g_.uniqueName(want + ".0"));
  }
  g_.renameValue(adj, want);
  return adj;
}

llvm::Error Autodiff::recordGradients() {
  llvm::DenseSet<const Value *> taken;
  for (Value *p : g_.params()) {
    if (!p->trainable)
      continue;
    Value *grad = finalAdjoint(p);
    if (!grad) {
      // Not connected to the loss: a zero gradient (see the top comment).
      Location loc;
      loc.pass = "autodiff";
      loc.of = p->name();
      b_.setLocation(loc);
      ir::Attrs a;
      a.set("value", 0.0);
      a.set("shape", std::vector<int64_t>(p->type().shape.begin(), p->type().shape.end()));
      auto zero = b_.create(OpKind::Constant, {}, std::move(a), "d." + p->name());
      if (!zero)
        return zero.takeError();
      grad = *zero;
    } else if (taken.count(grad)) {
      // Two params share one adjoint (e.g. add(%b1, %b2)); give this one its
      // own buffer, since the runtime reads each gradient by its param.
      b_.setLocation(grad->def() ? backwardLoc(*grad->def()) : Location{});
      ir::Attrs a;
      a.set("shape", std::vector<int64_t>(p->type().shape.begin(), p->type().shape.end()));
      auto copy = b_.create(OpKind::Reshape, {grad}, std::move(a), "d." + p->name());
      if (!copy)
        return copy.takeError();
      grad = *copy;
    }
    taken.insert(grad);
    g_.gradients.push_back({p, grad});
  }
  return llvm::Error::success();
}

void Autodiff::noteNewNodes(size_t before) {
  for (size_t i = before; i < g_.nodes().size(); ++i)
    made_.insert(g_.nodes()[i].get());
}

void Autodiff::eraseUnused() {
  llvm::DenseSet<const Value *> live;
  for (auto &[p, grad] : g_.gradients)
    live.insert(grad);
  llvm::DenseSet<const Node *> dead;
  for (auto it = g_.nodes().rbegin(); it != g_.nodes().rend(); ++it) {
    const Node *n = it->get();
    if (!made_.count(n))
      break; // backward nodes are all after the forward ones
    if (!live.count(n->result())) {
      dead.insert(n);
      continue;
    }
    for (const Value *in : n->inputs())
      live.insert(in);
  }
  if (!dead.empty())
    g_.eraseNodes([&](const Node &n) { return dead.count(&n) != 0; });
}

llvm::Error Autodiff::run() {
  for (const Value *p : g_.params())
    if (p->trainable && p->type().dtype != DType::F32)
      return error(g_, "trainable param %" + p->name() + " must be f32, got " +
                           p->type().str() + " (mark it frozen)");
  const TensorType scalar(DType::F32, {});
  if (!g_.loss->type().known)
    return error(g_, "loss %" + g_.loss->name() + " has no type yet; run infer-shapes "
                     "before autodiff");
  if (g_.loss->type() != scalar)
    return error(g_, "loss %" + g_.loss->name() + " must be a scalar f32, got " +
                         g_.loss->type().str());

  findPath();
  if (auto e = checkRules())
    return e;

  size_t forwardEnd = g_.nodes().size();
  // The seed d(loss)/d(loss) = 1.
  Location seedLoc;
  if (const Node *def = g_.loss->def())
    seedLoc = backwardLoc(*def);
  else
    seedLoc = Location{"", 0, "", "autodiff", g_.loss->name()};
  b_.setLocation(seedLoc);
  ir::Attrs one;
  one.set("value", 1.0);
  auto seed = b_.create(OpKind::Constant, {}, std::move(one), "d." + g_.loss->name());
  if (!seed)
    return seed.takeError();
  adjoint_[g_.loss] = *seed;

  for (auto it = path_.rbegin(); it != path_.rend(); ++it)
    if (auto e = differentiate(**it))
      return e;
  if (auto e = recordGradients())
    return e;
  noteNewNodes(forwardEnd);
  eraseUnused();
  return llvm::Error::success();
}

class AutodiffPass : public Pass {
public:
  llvm::StringRef name() const override { return "autodiff"; }
  llvm::Expected<bool> run(Graph &g, PassContext &ctx) override {
    if (!ctx.training)
      return false;
    if (!g.loss)
      return error(g, "training needs a loss; the model declares none");
    if (!g.gradients.empty()) // already differentiated
      return false;
    if (auto e = Autodiff(g).run())
      return e;
    return true;
  }
};

} // namespace

std::unique_ptr<Pass> createAutodiffPass() { return std::make_unique<AutodiffPass>(); }

} // namespace gradc::passes
