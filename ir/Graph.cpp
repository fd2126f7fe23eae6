#include "ir/Graph.h"

#include "llvm/ADT/DenseSet.h"
#include "llvm/Support/FormatVariadic.h"

#include <algorithm>
#include <cmath>

namespace gradc::ir {

std::string Location::describe() const {
  std::string out;
  if (!file.empty()) {
    out = file;
    if (line)
      out += ":" + std::to_string(line);
  }
  if (!modelNode.empty()) {
    if (!out.empty())
      out += ": ";
    out += "node '" + modelNode + "'";
  }
  return out;
}

std::string Node::describe() const {
  std::string who;
  if (!loc.modelNode.empty() && loc.pass.empty())
    who = "node '" + loc.modelNode + "'";
  else if (!results_.empty())
    who = "node %" + results_[0]->name();
  else
    who = "node";
  return who + " (" + std::string(info().name) + ")";
}

Value *Graph::newValue(const std::string &name, ValueKind kind) {
  auto v = std::make_unique<Value>();
  v->name_ = uniqueName(name.empty() ? "v" : name);
  v->kind_ = kind;
  Value *raw = v.get();
  byName_[raw->name_] = raw;
  values_.push_back(std::move(v));
  return raw;
}

Value *Graph::addInput(const std::string &name, TensorType type, InputRole role) {
  Value *v = newValue(name, ValueKind::Input);
  v->type_ = std::move(type);
  v->role = role;
  inputs_.push_back(v);
  return v;
}

Value *Graph::addParam(const std::string &name, TensorType type, Initializer init,
                       bool trainable) {
  Value *v = newValue(name, ValueKind::Param);
  v->type_ = std::move(type);
  v->init = std::move(init);
  v->trainable = trainable;
  params_.push_back(v);
  return v;
}

Node *Graph::addNode(OpKind op, llvm::ArrayRef<Value *> inputs, Attrs attrs,
                     llvm::ArrayRef<std::string> resultNames, Location loc,
                     Node *before) {
  auto n = std::make_unique<Node>();
  n->op_ = op;
  n->inputs_.assign(inputs.begin(), inputs.end());
  n->attrs_ = std::move(attrs);
  n->loc = std::move(loc);
  const OpInfo &info = opInfo(op);
  unsigned numResults = info.flags & VariadicResults
                            ? std::max<unsigned>(1, unsigned(resultNames.size()))
                            : info.numResults;
  for (unsigned i = 0; i < numResults; ++i) {
    std::string hint = i < resultNames.size() ? resultNames[i] : std::string();
    Value *r = newValue(hint, ValueKind::Result);
    r->def_ = n.get();
    r->resultIndex_ = i;
    n->results_.push_back(r);
  }
  Node *raw = n.get();
  if (!before) {
    nodes_.push_back(std::move(n));
  } else {
    auto it = std::find_if(nodes_.begin(), nodes_.end(),
                           [&](const auto &p) { return p.get() == before; });
    nodes_.insert(it, std::move(n));
  }
  return raw;
}

Value *Graph::lookup(llvm::StringRef name) const {
  auto it = byName_.find(name);
  return it == byName_.end() ? nullptr : it->second;
}

std::string Graph::uniqueName(llvm::StringRef base) const {
  if (!byName_.count(base))
    return base.str();
  for (unsigned i = 1;; ++i) {
    std::string cand = (base + "." + llvm::Twine(i)).str();
    if (!byName_.count(cand))
      return cand;
  }
}

Value *Graph::gradientOf(const Value *param) const {
  for (auto &[p, g] : gradients)
    if (p == param)
      return g;
  return nullptr;
}

void Graph::eraseNodes(const std::function<bool(const Node &)> &dead) {
  llvm::DenseSet<const Value *> gone;
  for (auto &n : nodes_)
    if (dead(*n))
      for (Value *r : n->results())
        gone.insert(r);
  nodes_.erase(std::remove_if(nodes_.begin(), nodes_.end(),
                              [&](const auto &n) { return dead(*n); }),
               nodes_.end());
  for (const Value *v : gone)
    byName_.erase(v->name());
  for (auto &slot : memorySlots)
    slot.erase(std::remove_if(slot.begin(), slot.end(),
                              [&](const Value *v) { return gone.count(v); }),
               slot.end());
  memorySlots.erase(std::remove_if(memorySlots.begin(), memorySlots.end(),
                                   [](const auto &slot) { return slot.empty(); }),
                    memorySlots.end());
  values_.erase(std::remove_if(values_.begin(), values_.end(),
                               [&](const auto &v) { return gone.count(v.get()); }),
                values_.end());
}

void Graph::eraseInput(Value *input) {
  assert(input->isInput() && users(input).empty() && "erasing a used input");
  inputs_.erase(std::remove(inputs_.begin(), inputs_.end(), input), inputs_.end());
  byName_.erase(input->name());
  values_.erase(std::remove_if(values_.begin(), values_.end(),
                               [&](const auto &v) { return v.get() == input; }),
                values_.end());
}

void Graph::renameValue(Value *v, const std::string &name) {
  assert(v->kind_ == ValueKind::Result && "inputs and params keep the model's names");
  assert(!byName_.count(name) && "renaming onto a used name");
  byName_.erase(v->name_);
  v->name_ = name;
  byName_[name] = v;
}

void Graph::reorder(std::vector<Node *> order) {
  assert(order.size() == nodes_.size() && "reorder needs a permutation");
  memorySlots.clear();
  llvm::DenseMap<Node *, size_t> pos;
  for (size_t i = 0; i < order.size(); ++i)
    pos[order[i]] = i;
  std::vector<std::unique_ptr<Node>> out(nodes_.size());
  for (auto &n : nodes_) {
    auto it = pos.find(n.get());
    assert(it != pos.end() && "reorder lost a node");
    out[it->second] = std::move(n);
  }
  nodes_ = std::move(out);
}

void Graph::replaceAllUses(Value *from, Value *to) {
  memorySlots.clear();
  for (auto &n : nodes_)
    for (auto &in : n->inputs_)
      if (in == from)
        in = to;
  for (auto &o : outputs)
    if (o == from)
      o = to;
  if (loss == from)
    loss = to;
  for (auto &[p, g] : gradients)
    if (g == from)
      g = to;
  for (auto &u : updates)
    if (u.next == from)
      u.next = to;
}

std::vector<Node *> Graph::users(const Value *v) const {
  std::vector<Node *> out;
  for (auto &n : nodes_)
    if (llvm::is_contained(n->inputs(), v))
      out.push_back(n.get());
  return out;
}

llvm::Error checkOptimizerConfig(const TrainingConfig &t) {
  auto fail = [](const llvm::Twine &msg) {
    return llvm::createStringError(llvm::inconvertibleErrorCode(), msg);
  };
  llvm::StringRef kind = t.optimizer;
  if (kind != "sgd" && kind != "rmsprop" && kind != "adam" && kind != "adamw")
    return fail("unknown optimizer '" + kind + "' (expected " + kOptimizerKinds + ")");
  auto text = [](double v) { return attrValueToString(AttrValue(v)); };
  const std::pair<const char *, double> nonNegative[] = {
      {"lr", t.lr},   {"momentum", t.momentum},        {"eps", t.eps},
      {"weight_decay", t.weightDecay}, {"clip_norm", t.clipNorm}};
  for (auto [name, v] : nonNegative)
    if (!std::isfinite(v) || v < 0)
      return fail(llvm::Twine(name) + " must be a non-negative number, got " + text(v));
  const std::pair<const char *, double> unitInterval[] = {
      {"alpha", t.alpha}, {"beta1", t.beta1}, {"beta2", t.beta2}};
  for (auto [name, v] : unitInterval)
    if (!(v >= 0 && v < 1))
      return fail(llvm::Twine(name) + " must be in [0, 1), got " + text(v));
  if (t.nesterov && (kind != "sgd" || t.momentum <= 0))
    return fail("nesterov needs the sgd optimizer with momentum > 0");
  return llvm::Error::success();
}

llvm::Error nodeError(const Node &n, const Graph &g, const llvm::Twine &msg) {
  std::string where = n.loc.file.empty() ? g.sourceFile : n.loc.file;
  if (!where.empty() && n.loc.line)
    where += ":" + std::to_string(n.loc.line);
  std::string text;
  if (!where.empty())
    text = where + ": ";
  text += n.describe();
  if (!n.loc.pass.empty()) {
    text += " [made by " + n.loc.pass;
    if (!n.loc.of.empty())
      text += " from %" + n.loc.of;
    if (!n.loc.modelNode.empty())
      text += " of node '" + n.loc.modelNode + "'";
    text += "]";
  }
  text += ": " + msg.str();
  return llvm::createStringError(llvm::inconvertibleErrorCode(), text);
}

llvm::Error inferNodeShape(Node &n, const Graph &g) {
  const OpInfo &info = n.info();
  if (!info.acceptsInputs(n.inputs().size()))
    return nodeError(n, g,
                     llvm::formatv("expects {0} input(s), got {1}", info.arityText(),
                                   n.inputs().size()));
  for (Value *in : n.inputs())
    if (!in->type().known)
      return nodeError(n, g, "input %" + in->name() + " has no type yet");
  if (llvm::Error e = checkAttrs(n))
    return nodeError(n, g, llvm::toString(std::move(e)));
  auto types = info.inferShape(n);
  if (!types)
    return nodeError(n, g, llvm::toString(types.takeError()));
  assert(types->size() == n.results().size() && "shape rule result count");
  for (size_t i = 0; i < types->size(); ++i)
    n.result(i)->setType((*types)[i]);
  return llvm::Error::success();
}

llvm::Expected<Value *> Builder::create(OpKind op, llvm::ArrayRef<Value *> inputs,
                                        Attrs attrs, llvm::StringRef nameHint) {
  std::string hint = nameHint.str();
  Node *n = g_.addNode(op, inputs, std::move(attrs),
                       hint.empty() ? llvm::ArrayRef<std::string>{}
                                    : llvm::ArrayRef<std::string>(hint),
                       loc_, before_);
  if (llvm::Error e = inferNodeShape(*n, g_))
    return e;
  return n->result();
}

} // namespace gradc::ir
