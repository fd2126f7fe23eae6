//===- ir/Verifier.cpp - Structural and type checks of a graph ------------===//
//
// Two sweeps.
//
// The first collects every live value by pointer (graph inputs, params,
// results of nodes still in the graph) and checks that names are unique. It
// reads only what the graph owns, never what a node or list points to, so a
// use of an erased value is reported instead of followed.
//
// The second walks nodes in schedule order with the set of values defined so
// far. For each node: arity and attributes against the op's schema; each
// input must be defined already (live but not yet defined means a use before
// its definition, i.e. a cycle or a wrong order; not live at all means a
// dangling use); and when every input and result type is known, the op's
// shape rule run again must give exactly the recorded result types. Result
// types still `?` are accepted: that is a graph before infer-shapes.
//
// Last, the graph-level lists (outputs, loss, gradients, updates) must refer
// to live values, the loss must be an f32 scalar, and each gradient or update
// must be keyed by a param and have that param's type. A memory plan, when
// present, must put only node results that the caller never reads after the
// step, each in one slot, with disjoint lifetimes per slot (ir/Liveness.h).
// Fusion groups must be contiguous runs of elementwise maps of one shape.
//
//===----------------------------------------------------------------------===//
#include "ir/Verifier.h"

#include "ir/Fusion.h"
#include "ir/Liveness.h"

#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/FormatVariadic.h"

namespace gradc::ir {

namespace {

using llvm::formatv;

class Verifier {
public:
  explicit Verifier(const Graph &g) : g_(g) {}

  llvm::Error verify() {
    if (auto e = collectLiveValues())
      return e;
    for (const auto &n : g_.nodes())
      if (auto e = verifyNode(*n))
        return e;
    if (auto e = verifyFusionGroups())
      return e;
    return verifyGraphLists();
  }

private:
  /// "<model file>: <msg>" for problems that belong to no node.
  llvm::Error graphError(const llvm::Twine &msg) const {
    std::string text = g_.sourceFile.empty() ? std::string() : g_.sourceFile + ": ";
    return llvm::createStringError(llvm::inconvertibleErrorCode(), text + msg.str());
  }

  /// Errors about a value: at its defining node when it has one, so the
  /// message leads back to the model line.
  llvm::Error valueError(const Value &v, const llvm::Twine &msg) const {
    if (v.def())
      return nodeError(*v.def(), g_, msg);
    return graphError(msg);
  }

  static std::string ref(const Value &v) { return "%" + v.name(); }

  llvm::Error addLive(const Value *v) {
    live_.insert(v);
    auto [it, fresh] = names_.try_emplace(v->name(), v);
    if (!fresh && it->second != v)
      return valueError(*v, formatv("the name %{0} is defined twice", v->name()));
    return llvm::Error::success();
  }

  llvm::Error collectLiveValues() {
    // Graph inputs and params are defined before every node.
    for (const Value *v : g_.inputs()) {
      if (auto e = addLive(v))
        return e;
      defined_.insert(v);
    }
    for (const Value *v : g_.params()) {
      if (auto e = addLive(v))
        return e;
      defined_.insert(v);
    }
    for (const auto &n : g_.nodes())
      for (const Value *r : n->results()) {
        assert(r->def() == n.get() && "result not owned by its node");
        if (auto e = addLive(r))
          return e;
      }
    return llvm::Error::success();
  }

  llvm::Error verifyNode(const Node &n) {
    const OpInfo &info = n.info();
    if (!info.acceptsInputs(n.inputs().size()))
      return nodeError(n, g_, formatv("expects {0} input(s), got {1}", info.arityText(),
                                      n.inputs().size()));
    if (!info.acceptsResults(n.results().size()))
      return nodeError(n, g_, formatv("has {0} result(s), expected {1}", n.results().size(),
                                      info.resultsText()));
    if (llvm::Error e = checkAttrs(n))
      return nodeError(n, g_, llvm::toString(std::move(e)));

    bool inputsKnown = true;
    for (unsigned i = 0; i < n.inputs().size(); ++i) {
      const Value *in = n.input(i);
      if (!in)
        return nodeError(n, g_, formatv("input {0} is null", i));
      if (!live_.contains(in))
        return nodeError(n, g_, formatv("input {0} is a value that is no longer in the graph "
                                        "(its node was erased)",
                                        i));
      if (!defined_.contains(in))
        return nodeError(n, g_, formatv("input {0} (%{1}) is used before it is defined "
                                        "(a cycle or a wrong node order)",
                                        i, in->name()));
      inputsKnown &= in->type().known;
    }

    bool resultsKnown = llvm::all_of(n.results(), [](const Value *r) {
      return r->type().known;
    });
    if (inputsKnown && resultsKnown)
      if (auto e = verifyResultTypes(n))
        return e;

    for (const Value *r : n.results())
      defined_.insert(r);
    return llvm::Error::success();
  }

  llvm::Error verifyResultTypes(const Node &n) {
    auto inferred = n.info().inferShape(n);
    if (!inferred)
      return nodeError(n, g_, llvm::toString(inferred.takeError()));
    assert(inferred->size() == n.results().size() && "shape rule result count");
    for (unsigned i = 0; i < inferred->size(); ++i) {
      const TensorType &have = n.result(i)->type();
      if (have != (*inferred)[i])
        return nodeError(n, g_, formatv("result type {0} does not match inferred {1}{2}",
                                        have.str(), (*inferred)[i].str(),
                                        n.results().size() > 1
                                            ? formatv(" (result {0})", i).str()
                                            : std::string()));
    }
    return llvm::Error::success();
  }

  /// Checks one entry of `gradients` or `updates`: `what` is "gradient" or
  /// "update".
  llvm::Error verifyParamEntry(llvm::StringRef what, unsigned index, const Value *param,
                               const Value *v, llvm::DenseSet<const Value *> &seen) {
    if (!param || !live_.contains(param))
      return graphError(formatv("{0} entry {1} is keyed by a value that is not in the graph",
                                what, index));
    if (!param->isParam())
      return valueError(*param, formatv("{0} entry {1} is keyed by {2}, which is not a param",
                                        what, index, ref(*param)));
    if (!seen.insert(param).second)
      return graphError(formatv("param {0} has more than one {1}", ref(*param), what));
    if (!v || !live_.contains(v))
      return graphError(formatv("the {0} of param {1} is a value that is not in the graph",
                                what, ref(*param)));
    if (v->type().known && param->type().known && v->type() != param->type())
      return valueError(*v, formatv("{0} {1} of param {2} has type {3}, expected {4} (the "
                                    "param's type)",
                                    what, ref(*v), ref(*param), v->type().str(),
                                    param->type().str()));
    return llvm::Error::success();
  }

  llvm::Error verifyGraphLists() {
    for (unsigned i = 0; i < g_.outputs.size(); ++i)
      if (!g_.outputs[i] || !live_.contains(g_.outputs[i]))
        return graphError(formatv("output {0} is a value that is not in the graph", i));
    if (g_.loss) {
      if (!live_.contains(g_.loss))
        return graphError("the loss is a value that is not in the graph");
      const TensorType &t = g_.loss->type();
      if (t.known && t != TensorType(DType::F32, {}))
        return valueError(*g_.loss, formatv("the loss {0} must be an f32 scalar (f32[]), "
                                            "got {1}",
                                            ref(*g_.loss), t.str()));
    }
    llvm::DenseSet<const Value *> seen;
    for (unsigned i = 0; i < g_.gradients.size(); ++i)
      if (auto e = verifyParamEntry("gradient", i, g_.gradients[i].first,
                                    g_.gradients[i].second, seen))
        return e;
    seen.clear();
    for (unsigned i = 0; i < g_.updates.size(); ++i)
      if (auto e = verifyParamEntry("update", i, g_.updates[i].param, g_.updates[i].next,
                                    seen))
        return e;
    return verifyMemoryPlan();
  }

  /// Every slot member is a live node result in one slot only, not read
  /// after the step, and the lifetimes within a slot are disjoint or the
  /// pair may share in place. A slot that starts with a param holds exactly
  /// that param and the next value of its update, computed in place.
  llvm::Error verifyMemoryPlan() {
    if (g_.memorySlots.empty())
      return llvm::Error::success();
    Liveness live = computeLiveness(g_);
    llvm::DenseSet<const Value *> internal = groupInternalValues(g_);
    llvm::DenseSet<const Value *> placed;
    for (unsigned s = 0; s < g_.memorySlots.size(); ++s) {
      const auto &slot = g_.memorySlots[s];
      for (const Value *v : slot) {
        if (!v || !live_.contains(v) || !(v->def() || v->isParam()))
          return graphError(formatv("memory slot {0} holds a value that is not a node "
                                    "result or param in the graph",
                                    s));
        if (internal.contains(v))
          return valueError(*v, formatv("{0} is internal to fusion group g{1} and has no "
                                        "memory, but is in memory slot {2}",
                                        ref(*v), v->def()->group, s));
        if (!placed.insert(v).second)
          return valueError(*v, formatv("{0} is in more than one memory slot", ref(*v)));
      }
      if (slot.front()->isParam()) {
        if (auto e = verifyInPlaceUpdate(s, slot))
          return e;
        continue;
      }
      for (unsigned i = 0; i < slot.size(); ++i) {
        const Value *v = slot[i];
        if (v->isParam())
          return valueError(*v, formatv("param {0} must come first in memory slot {1}",
                                        ref(*v), s));
        if (live.keptToEnd(v))
          return valueError(*v, formatv("{0} is read after the step (an output, the loss, "
                                        "an update or a gradient) and cannot share memory "
                                        "(memory slot {1})",
                                        ref(*v), s));
        for (unsigned j = 0; j < i; ++j) {
          Lifetime a = live.of.lookup(slot[j]), b = live.of.lookup(v);
          bool inPlace = (a.last == b.def && live.mayShareInPlace(slot[j], v)) ||
                         (b.last == a.def && live.mayShareInPlace(v, slot[j]));
          if (!Liveness::disjoint(a, b) && !inPlace)
            return valueError(*v, formatv("{0} and {1} are live at the same time but share "
                                          "memory slot {2}",
                                          ref(*v), ref(*slot[j]), s));
        }
      }
    }
    return llvm::Error::success();
  }

  /// Fusion groups (ir/Fusion.h): members are elementwise maps with one f32
  /// result shape, and each group is one contiguous run of the schedule.
  llvm::Error verifyFusionGroups() const {
    llvm::DenseMap<int32_t, const Node *> first;
    llvm::DenseSet<int32_t> closed;
    int32_t current = Node::kNoGroup;
    for (const auto &np : g_.nodes()) {
      const Node &n = *np;
      if (current != Node::kNoGroup && n.group != current)
        closed.insert(current);
      current = n.group;
      if (n.group == Node::kNoGroup)
        continue;
      if (n.group < 0)
        return nodeError(n, g_, formatv("fusion group id {0} is negative", n.group));
      bool firstMember = !first.count(n.group);
      if (!isFusibleMap(n.op()) && !(isEpilogueHead(n.op()) && firstMember))
        return nodeError(n, g_,
                         isEpilogueHead(n.op())
                             ? formatv("op '{0}' must be the first member of fusion group "
                                       "g{1}: only a group's head has an epilogue",
                                       n.info().name, n.group)
                             : formatv("op '{0}' cannot be in fusion group g{1}: only "
                                       "elementwise maps fuse (after a matmul, conv or batch_norm_train head)",
                                       n.info().name, n.group));
      if (closed.contains(n.group))
        return nodeError(n, g_, formatv("fusion group g{0} is not contiguous in the "
                                        "schedule: another node runs between its members",
                                        n.group));
      const TensorType &t = n.result()->type();
      if (t.known && t.dtype != DType::F32)
        return nodeError(n, g_, formatv("fusion group g{0} holds a {1} result; only f32 "
                                        "maps fuse",
                                        n.group, t.str()));
      auto [it, fresh] = first.try_emplace(n.group, &n);
      const TensorType &t0 = it->second->result()->type();
      if (!fresh && t.known && t0.known && t.shape != t0.shape)
        return nodeError(n, g_, formatv("fusion group g{0} mixes iteration spaces: {1} here, "
                                        "{2} at its first member {3}",
                                        n.group, t.str(), t0.str(),
                                        ref(*it->second->result())));
    }
    // Epilogues: the maps read other operands in a form the epilogue has.
    // (The head, first in its group, reads nothing the group computes.)
    for (const FusionGroup &grp : collectFusionGroups(g_)) {
      if (!grp.head || !grp.head->result()->type().known)
        continue;
      for (const Value *in : grp.inputs) {
        bool readByMap = llvm::any_of(grp.members, [&](const Node *m) {
          return m != grp.head && llvm::is_contained(m->inputs(), in);
        });
        if (readByMap && in->type().known &&
            !epilogueRead(in->type().shape, grp.shape(), grp.head->op()))
          return nodeError(*grp.head, g_,
                           formatv("fusion group g{0} reads {1} ({2}) in its epilogue, which "
                                   "needs the group's shape {3}{4} or a scalar",
                                   grp.id, ref(*in), in->type().str(),
                                   shapeToString(grp.shape()),
                                   grp.head->op() == OpKind::MatMul
                                       ? ", a row broadcast along the last dimension,"
                                       : ""));
      }
    }
    return llvm::Error::success();
  }

  llvm::Error verifyInPlaceUpdate(unsigned s, const std::vector<Value *> &slot) const {
    const Value *param = slot.front();
    const Value *next = nullptr;
    for (const ParamUpdate &u : g_.updates)
      if (u.param == param)
        next = u.next;
    if (slot.size() != 2 || slot[1] != next)
      return graphError(formatv("memory slot {0} starts with param {1}, so it must hold "
                                "exactly {1} and the next value of its update",
                                s, ref(*param)));
    if (!canUpdateInPlace(g_, param, next))
      return valueError(*next, formatv("{0} cannot be computed in place of {1} (memory slot "
                                       "{2}): it needs an elementwise node of {1}'s type "
                                       "after the last read of {1}",
                                       ref(*next), ref(*param), s));
    return llvm::Error::success();
  }

  const Graph &g_;
  llvm::DenseSet<const Value *> live_;
  llvm::DenseSet<const Value *> defined_;
  llvm::StringMap<const Value *> names_;
};

} // namespace

llvm::Error verifyGraph(const Graph &g) {
  return Verifier(g).verify();
}

} // namespace gradc::ir
