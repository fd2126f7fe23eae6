//===- frontend/ModelLoader.cpp - .pbtxt / .pb models into a Graph --------===//
//
// Loading runs in three steps, each reporting the first error it finds, in
// file order, as one line "<file>:<line>: <what>" (line omitted for binary
// models, which have none):
//
//  1. Parse. Text goes through protobuf's TextFormat::Parser with an
//     ErrorCollector (syntax errors keep protobuf's message and get 1-based
//     line:column) and a ParseInfoTree, from which we take the line of every
//     input, param, node, output, loss and training block.
//  2. Check the model record by record, before building anything: types
//     (dims are positive sizes or the batch symbol N; params have no N),
//     initializers, each node on its own (known op, arity, result count,
//     attribute schema via ir::checkAttrs), then the name space (inputs,
//     params and node outputs share one; each name is defined once, every use
//     is defined somewhere), outputs, loss and the training block.
//  3. Order the nodes: the file may list them in any order. Kahn's algorithm
//     with a min-heap on the file index gives the topological order closest to
//     the file's (exactly the file order when that is already topological).
//     Nodes left over lie on or behind a cycle; walking producers backwards
//     from the first of them must revisit a node, and that loop is reported.
//
// Then the Graph is built: inputs, params, nodes in the sorted order with
// Location{file, line, node name}, outputs, loss and TrainingConfig. Result
// types stay unknown: infer-shapes reports shape errors with each node's
// location.
//
// Decisions the format leaves open:
//   - A param without an `init` block is zero-filled; an `init` block must
//     name its kind.
//   - Training fields left at 0 (lr, batch_size, epochs) or empty (optimizer
//     kind) keep TrainingConfig's defaults; negative values are errors.
//     Optimizer constants (momentum, betas, ...) are `optional`: unset keeps
//     PyTorch's default, so an explicit 0 is honoured.
//   - An unnamed node is called "node #<k>" (1-based position in the file).
//
//===----------------------------------------------------------------------===//
#include "frontend/ModelLoader.h"

#include "ir/gradc.pb.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <queue>

namespace gradc::frontend {

namespace pb = gradc::pb;
using google::protobuf::TextFormat;
using llvm::Error;
using llvm::Expected;
using llvm::StringRef;
using llvm::Twine;

namespace {

/// Model files hold no weights, so anything this large is not a model.
constexpr uint64_t kMaxModelFileBytes = uint64_t(64) << 20;
/// Largest element count of a declared tensor (excluding N); matches the
/// runtime's 16 GiB tensor limit at 4 bytes per element.
constexpr int64_t kMaxStaticElements = int64_t(1) << 32;

/// Initializer kinds the runtime implements (runtime/Initializers.cpp). The
/// frontend keeps its own list so that it does not depend on the runtime.
constexpr const char *kInitKinds[] = {"zeros",         "constant",       "normal",
                                      "uniform",       "kaiming_normal", "kaiming_uniform",
                                      "xavier_uniform"};

Error makeError(const Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), msg);
}

/// `s` with non-printable characters escaped, for one-line messages.
std::string printable(StringRef s) {
  std::string out;
  llvm::raw_string_ostream os(out);
  llvm::printEscapedString(s, os);
  return out;
}

/// The shortest text that reads back as `v`: "0.5", "-1", "inf".
std::string num(double v) {
  char buf[32];
  for (int prec = 1; prec <= 17; ++prec) {
    std::snprintf(buf, sizeof buf, "%.*g", prec, v);
    if (std::strtod(buf, nullptr) == v || std::isnan(v))
      break;
  }
  return buf;
}

/// " (did you mean 'x'?)" for the closest candidate within edit distance 2,
/// and less than the name's length (no 'W' for 'q').
std::string suggest(StringRef name, llvm::ArrayRef<StringRef> candidates) {
  std::string best;
  unsigned bestDist = std::min<size_t>(3, name.size());
  for (StringRef cand : candidates) {
    unsigned d = name.edit_distance(cand, /*AllowReplacements=*/true, bestDist);
    if (d < bestDist) {
      bestDist = d;
      best = cand.str();
    }
  }
  return best.empty() ? "" : " (did you mean '" + best + "'?)";
}

/// Collects protobuf's first syntax error with a 1-based line and column.
class FirstErrorCollector : public google::protobuf::io::ErrorCollector {
public:
  void AddError(int line, google::protobuf::io::ColumnNumber column,
                const std::string &message) override {
    if (!message_.empty())
      return;
    line_ = line + 1;
    column_ = column + 1;
    message_ = message;
  }
  void AddWarning(int, google::protobuf::io::ColumnNumber, const std::string &) override {}

  bool hasError() const { return !message_.empty(); }
  Error takeError(StringRef file) const {
    if (line_ < 1) // not tied to a position
      return makeError(file + ": " + message_);
    return makeError(llvm::formatv("{0}:{1}:{2}: {3}", file, line_, column_, message_));
  }

private:
  int line_ = 0, column_ = 0;
  std::string message_;
};

/// 1-based lines of the model's records; 0 where unknown (binary models).
struct LineTable {
  std::vector<unsigned> inputs, params, nodes, outputs;
  unsigned loss = 0, training = 0;

  static unsigned lineOf(const TextFormat::ParseInfoTree &tree, StringRef field, int index) {
    const auto *fd = pb::Model::descriptor()->FindFieldByName(std::string(field));
    assert(fd && "field of gradc.pb.Model");
    int line = tree.GetLocation(fd, index).line;
    return line < 0 ? 0 : static_cast<unsigned>(line) + 1;
  }

  /// Sized to the model; every line 0.
  explicit LineTable(const pb::Model &m)
      : inputs(m.input_size()), params(m.param_size()), nodes(m.node_size()),
        outputs(m.output_size()) {}

  void fill(const TextFormat::ParseInfoTree &tree) {
    for (size_t i = 0; i < inputs.size(); ++i)
      inputs[i] = lineOf(tree, "input", i);
    for (size_t i = 0; i < params.size(); ++i)
      params[i] = lineOf(tree, "param", i);
    for (size_t i = 0; i < nodes.size(); ++i)
      nodes[i] = lineOf(tree, "node", i);
    for (size_t i = 0; i < outputs.size(); ++i)
      outputs[i] = lineOf(tree, "output", i);
    loss = lineOf(tree, "loss", -1);
    training = lineOf(tree, "training", -1);
  }
};

/// Where a name is defined, for "already defined by ..." messages.
struct Definition {
  std::string who; // "input 'x'", "node 'fc1' (matmul)"
  unsigned line = 0;
  int node = -1; // index of the defining node, or -1
};

/// Checks a model record by record and builds the Graph (steps 2 and 3).
class GraphBuilder {
public:
  GraphBuilder(const pb::Model &m, StringRef file, const LineTable &lines)
      : m_(m), file_(file.str()), lines_(lines) {}

  Expected<std::unique_ptr<ir::Graph>> build();

private:
  /// "<file>:<line>: " (or "<file>: " when the line is unknown).
  std::string at(unsigned line) const {
    return line ? file_ + ":" + std::to_string(line) + ": " : file_ + ": ";
  }
  Error errorAt(unsigned line, const Twine &msg) const { return makeError(at(line) + msg); }

  Error checkName(const std::string &name, const std::string &who, unsigned line) const;
  Expected<TensorType> convertType(const pb::TensorType &t, bool isParam, const std::string &who,
                                   unsigned line) const;
  Expected<ir::Initializer> convertInit(const pb::Param &p, unsigned line) const;
  Error checkNode(int i);
  Expected<ir::Attrs> convertAttrs(int i) const;
  Error define(const std::string &name, Definition def);
  Error checkUses() const;
  Expected<std::vector<int>> sortNodes() const;
  Error bindOutputsAndLoss(ir::Graph &g) const;
  Error readTraining(ir::Graph &g) const;

  /// "node 'fc1'" or "node #3"; with " (matmul)" once the op is known.
  std::string nodeWho(int i) const {
    const std::string &name = m_.node(i).name();
    std::string who = name.empty() ? "node #" + std::to_string(i + 1) : "node '" + name + "'";
    if (ops_.size() > size_t(i) && ops_[i])
      who += " (" + std::string(ir::opName(*ops_[i])) + ")";
    return who;
  }

  const pb::Model &m_;
  std::string file_;
  const LineTable &lines_;
  std::vector<std::optional<ir::OpKind>> ops_; // per node, once checked
  std::vector<ir::Attrs> attrs_;               // per node, once checked
  llvm::StringMap<Definition> defs_;
};

Error GraphBuilder::checkName(const std::string &name, const std::string &who,
                              unsigned line) const {
  if (name.empty())
    return errorAt(line, who + " has an empty name");
  for (unsigned char c : name)
    if (c < 0x20 || c == 0x7f)
      return errorAt(line, who + ": name '" + printable(name) + "' contains a control character");
  return Error::success();
}

Expected<TensorType> GraphBuilder::convertType(const pb::TensorType &t, bool isParam,
                                               const std::string &who, unsigned line) const {
  if (!pb::DType_IsValid(t.dtype()))
    return errorAt(line, llvm::formatv("{0}: unknown dtype {1}", who, int(t.dtype())));
  Shape shape;
  int64_t elements = 1;
  for (int i = 0; i < t.shape_size(); ++i) {
    const pb::Dim &d = t.shape(i);
    switch (d.kind_case()) {
    case pb::Dim::kSize:
      if (d.size() <= 0)
        return errorAt(line, llvm::formatv("{0}: dimension {1} has size {2}; sizes must be "
                                           "positive",
                                           who, i, d.size()));
      if (__builtin_mul_overflow(elements, d.size(), &elements) || elements > kMaxStaticElements)
        return errorAt(line, llvm::formatv("{0}: shape is too large (more than {1} "
                                           "elements)",
                                           who, kMaxStaticElements));
      shape.push_back(d.size());
      break;
    case pb::Dim::kSym:
      if (d.sym() != "N")
        return errorAt(line, llvm::formatv("{0}: dimension {1} has unknown symbol '{2}' "
                                           "(only 'N', the batch, is allowed)",
                                           who, i, printable(d.sym())));
      if (isParam)
        return errorAt(line, llvm::formatv("{0}: dimension {1} is the batch 'N'; params "
                                           "have fixed shapes",
                                           who, i));
      shape.push_back(kBatch);
      break;
    case pb::Dim::KIND_NOT_SET:
      return errorAt(line, llvm::formatv("{0}: dimension {1} has neither size nor sym", who, i));
    }
  }
  return TensorType(t.dtype() == pb::I32 ? DType::I32 : DType::F32, std::move(shape));
}

Expected<ir::Initializer> GraphBuilder::convertInit(const pb::Param &p, unsigned line) const {
  ir::Initializer init; // zeros
  if (!p.has_init())
    return init;
  const pb::Initializer &in = p.init();
  std::string who = "param '" + p.name() + "'";
  llvm::SmallVector<StringRef, 8> kinds(std::begin(kInitKinds), std::end(kInitKinds));
  if (in.kind().empty())
    return errorAt(line, who + ": init has no kind (one of: " + llvm::join(kinds, ", ") + ")");
  if (!llvm::is_contained(kinds, StringRef(in.kind())))
    return errorAt(line, who + ": unknown initializer '" + in.kind() + "'" +
                             suggest(in.kind(), kinds) + " (known: " + llvm::join(kinds, ", ") +
                             ")");
  for (auto [field, v] : {std::pair<const char *, double>{"value", in.value()},
                          {"mean", in.mean()},
                          {"std", in.std()},
                          {"low", in.low()},
                          {"high", in.high()},
                          {"gain", in.gain()}})
    if (!std::isfinite(v))
      return errorAt(line, llvm::formatv("{0}: init {1} is {2}", who, field, num(v)));
  if (in.std() < 0)
    return errorAt(line, llvm::formatv("{0}: init std must be >= 0, got {1}", who, num(in.std())));
  if (in.low() > in.high())
    return errorAt(line, llvm::formatv("{0}: init low {1} is greater than high {2}", who,
                                       num(in.low()), num(in.high())));
  if (in.gain() < 0)
    return errorAt(line,
                   llvm::formatv("{0}: init gain must be >= 0, got {1}", who, num(in.gain())));
  init.kind = in.kind();
  init.value = in.value();
  init.mean = in.mean();
  init.std = in.std();
  init.low = in.low();
  init.high = in.high();
  init.gain = in.gain();
  return init;
}

Expected<ir::Attrs> GraphBuilder::convertAttrs(int i) const {
  const pb::Node &n = m_.node(i);
  unsigned line = lines_.nodes[i];
  const ir::OpInfo &info = ir::opInfo(*ops_[i]);
  ir::Attrs attrs;
  for (const pb::Attr &a : n.attr()) {
    if (a.name().empty())
      return errorAt(line, nodeWho(i) + ": an attribute has no name");
    if (attrs.has(a.name()))
      return errorAt(line, nodeWho(i) + ": attribute '" + a.name() + "' is given twice");
    // Store numbers as the schema's kind: `f: 1` is often written `i: 1`.
    const ir::AttrSpec *spec = info.findAttr(a.name());
    bool wantFloat = spec && spec->kind == ir::AttrKind::Float;
    bool wantFloats = spec && spec->kind == ir::AttrKind::Floats;
    switch (a.value_case()) {
    case pb::Attr::kI:
      if (wantFloat)
        attrs.set(a.name(), static_cast<double>(a.i()));
      else
        attrs.set(a.name(), a.i());
      break;
    case pb::Attr::kF:
      attrs.set(a.name(), a.f());
      break;
    case pb::Attr::kS:
      attrs.set(a.name(), a.s());
      break;
    case pb::Attr::kInts:
      if (wantFloats)
        attrs.set(a.name(), std::vector<double>(a.ints().v().begin(), a.ints().v().end()));
      else
        attrs.set(a.name(), std::vector<int64_t>(a.ints().v().begin(), a.ints().v().end()));
      break;
    case pb::Attr::kFloats:
      attrs.set(a.name(), std::vector<double>(a.floats().v().begin(), a.floats().v().end()));
      break;
    case pb::Attr::VALUE_NOT_SET:
      return errorAt(line, nodeWho(i) + ": attribute '" + a.name() +
                               "' has no value (set one of i, f, s, ints, floats)");
    }
  }
  return attrs;
}

/// Checks node `i` on its own: op, arity, results, names, attributes.
Error GraphBuilder::checkNode(int i) {
  const pb::Node &n = m_.node(i);
  unsigned line = lines_.nodes[i];
  if (!n.name().empty())
    if (Error e = checkName(n.name(), nodeWho(i), line))
      return e;
  if (n.op().empty())
    return errorAt(line, nodeWho(i) + " has no op");
  std::optional<ir::OpKind> op = ir::lookupOp(n.op());
  if (!op) {
    std::vector<StringRef> names;
    for (unsigned k = 0; k < ir::kNumOps; ++k)
      names.push_back(ir::opName(static_cast<ir::OpKind>(k)));
    return errorAt(line, nodeWho(i) + ": unknown op '" + printable(n.op()) + "'" +
                             suggest(n.op(), names));
  }
  ops_[i] = op;
  const ir::OpInfo &info = ir::opInfo(*op);
  if (!info.acceptsInputs(unsigned(n.inputs_size())))
    return errorAt(line,
                   llvm::formatv("{0} expects {1} input{2}, got {3}", nodeWho(i), info.arityText(),
                                 info.numInputs == 1 ? "" : "s", n.inputs_size()));
  if (!info.acceptsResults(unsigned(n.outputs_size())))
    return errorAt(line,
                   llvm::formatv("{0} defines {1} output{2}, but {3} has {4} result{5}", nodeWho(i),
                                 n.outputs_size(), n.outputs_size() == 1 ? "" : "s", info.name,
                                 info.resultsText(), info.resultsText() == "1" ? "" : "s"));
  for (int k = 0; k < n.inputs_size(); ++k)
    if (n.inputs(k).empty())
      return errorAt(line, llvm::formatv("{0}: input {1} is an empty name", nodeWho(i), k));
  for (int k = 0; k < n.outputs_size(); ++k)
    if (Error e = checkName(n.outputs(k), llvm::formatv("{0}: output {1}", nodeWho(i), k), line))
      return e;

  auto attrs = convertAttrs(i);
  if (!attrs)
    return attrs.takeError();
  // ir::checkAttrs looks at a Node; a scratch graph holds one without inputs.
  ir::Graph scratch;
  ir::Node *probe = scratch.addNode(*op, {}, *attrs);
  if (Error e = ir::checkAttrs(*probe))
    return errorAt(line, nodeWho(i) + ": " + llvm::toString(std::move(e)));
  attrs_[i] = std::move(*attrs);
  return Error::success();
}

Error GraphBuilder::define(const std::string &name, Definition def) {
  auto [it, inserted] = defs_.try_emplace(name, def);
  if (inserted)
    return Error::success();
  const Definition &first = it->second;
  std::string where = first.line ? " (line " + std::to_string(first.line) + ")" : "";
  return errorAt(def.line,
                 def.who + " defines '" + name + "', already defined by " + first.who + where);
}

Error GraphBuilder::checkUses() const {
  std::vector<StringRef> known;
  for (const auto &entry : defs_)
    known.push_back(entry.getKey());
  llvm::sort(known); // deterministic suggestions
  for (int i = 0; i < m_.node_size(); ++i)
    for (const std::string &in : m_.node(i).inputs())
      if (!defs_.count(in))
        return errorAt(lines_.nodes[i], nodeWho(i) + " uses '" + in +
                                            "', which no input, param or node defines" +
                                            suggest(in, known));
  return Error::success();
}

Expected<std::vector<int>> GraphBuilder::sortNodes() const {
  int n = m_.node_size();
  std::vector<std::vector<int>> users(n);
  std::vector<int> pending(n, 0); // producers not yet scheduled, per use
  for (int i = 0; i < n; ++i)
    for (const std::string &in : m_.node(i).inputs()) {
      int producer = defs_.lookup(in).node;
      if (producer >= 0) {
        users[producer].push_back(i);
        ++pending[i];
      }
    }

  std::priority_queue<int, std::vector<int>, std::greater<int>> ready;
  for (int i = 0; i < n; ++i)
    if (!pending[i])
      ready.push(i);
  std::vector<int> order;
  order.reserve(n);
  while (!ready.empty()) {
    int i = ready.top();
    ready.pop();
    order.push_back(i);
    for (int u : users[i])
      if (--pending[u] == 0)
        ready.push(u);
  }
  if (int(order.size()) == n)
    return order;

  // Every left-over node has an unscheduled producer; follow producers from
  // the first left-over node until one repeats.
  int start = 0;
  while (!pending[start])
    ++start;
  std::vector<int> path;
  std::vector<int> seenAt(n, -1);
  int cur = start;
  while (seenAt[cur] < 0) {
    seenAt[cur] = int(path.size());
    path.push_back(cur);
    int next = -1;
    for (const std::string &in : m_.node(cur).inputs()) {
      int producer = defs_.lookup(in).node;
      if (producer >= 0 && pending[producer]) {
        next = producer;
        break;
      }
    }
    assert(next >= 0 && "a left-over node has a left-over producer");
    cur = next;
  }
  // path[seenAt[cur]..] walks against the data flow; reverse it, and start at
  // the node that comes first in the file.
  std::vector<int> cycle(path.begin() + seenAt[cur], path.end());
  std::reverse(cycle.begin(), cycle.end());
  std::rotate(cycle.begin(), std::min_element(cycle.begin(), cycle.end()), cycle.end());

  auto label = [&](int i) {
    const std::string &name = m_.node(i).name();
    return name.empty() ? llvm::formatv("#{0}", i + 1).str() : "'" + name + "'";
  };
  if (cycle.size() == 1)
    return errorAt(lines_.nodes[cycle[0]], nodeWho(cycle[0]) + " uses its own output '" +
                                               m_.node(cycle[0]).outputs(0) + "'");
  std::string text;
  for (int i : cycle) {
    text += label(i);
    if (lines_.nodes[i])
      text += " (line " + std::to_string(lines_.nodes[i]) + ")";
    text += " -> ";
  }
  text += label(cycle[0]);
  return errorAt(lines_.nodes[cycle[0]], "nodes form a cycle (each feeds the next): " + text);
}

Error GraphBuilder::bindOutputsAndLoss(ir::Graph &g) const {
  for (int i = 0; i < m_.output_size(); ++i) {
    const std::string &name = m_.output(i);
    unsigned line = lines_.outputs[i];
    if (name.empty())
      return errorAt(line, "an output has an empty name");
    ir::Value *v = g.lookup(name);
    if (!v)
      return errorAt(line, "output '" + name +
                               "' names nothing: no input, param or node "
                               "defines it");
    if (llvm::is_contained(g.outputs, v))
      return errorAt(line, "output '" + name + "' is listed twice");
    g.outputs.push_back(v);
  }
  if (!m_.loss().empty()) {
    g.loss = g.lookup(m_.loss());
    if (!g.loss)
      return errorAt(lines_.loss,
                     "loss '" + m_.loss() + "' names nothing: no input, param or node defines it");
  }
  return Error::success();
}

Error GraphBuilder::readTraining(ir::Graph &g) const {
  if (!m_.has_training())
    return Error::success();
  const pb::TrainingConfig &t = m_.training();
  unsigned line = lines_.training;
  ir::TrainingConfig &cfg = g.training;
  cfg.present = true;
  if (!t.optimizer().kind().empty())
    cfg.optimizer = t.optimizer().kind();
  double lr = t.optimizer().lr();
  if (!std::isfinite(lr) || lr < 0)
    return errorAt(line, llvm::formatv("training: lr must be a positive number, got {0}", num(lr)));
  if (lr > 0)
    cfg.lr = lr;
  const pb::Optimizer &o = t.optimizer();
  if (o.has_momentum())
    cfg.momentum = o.momentum();
  cfg.nesterov = o.nesterov();
  if (o.has_alpha())
    cfg.alpha = o.alpha();
  if (o.has_beta1())
    cfg.beta1 = o.beta1();
  if (o.has_beta2())
    cfg.beta2 = o.beta2();
  if (o.has_eps())
    cfg.eps = o.eps();
  if (o.has_weight_decay())
    cfg.weightDecay = o.weight_decay();
  else if (cfg.optimizer == "adamw")
    cfg.weightDecay = 0.01; // torch.optim.AdamW's default
  if (o.has_clip_norm())
    cfg.clipNorm = o.clip_norm();
  if (Error e = ir::checkOptimizerConfig(cfg))
    return errorAt(line, "training: optimizer: " + llvm::toString(std::move(e)));
  if (o.has_schedule()) {
    const pb::Schedule &s = o.schedule();
    ir::ScheduleConfig &sc = cfg.schedule;
    if (!s.kind().empty())
      sc.kind = s.kind();
    if (sc.kind != "constant" && sc.kind != "step" && sc.kind != "exponential" &&
        sc.kind != "cosine")
      return errorAt(line, "training: schedule: unknown kind '" + sc.kind +
                               "' (expected constant, step, exponential, cosine)");
    if (s.step_size() != 0)
      sc.stepSize = s.step_size();
    if (s.has_gamma())
      sc.gamma = s.gamma();
    sc.etaMin = s.eta_min();
    sc.warmup = s.warmup();
    if (s.step_size() < 0 || s.warmup() < 0)
      return errorAt(line, "training: schedule: step_size and warmup must not be negative");
    if (!(sc.gamma > 0 && sc.gamma <= 1))
      return errorAt(line, llvm::formatv("training: schedule: gamma must be in (0, 1], got {0}",
                                         num(sc.gamma)));
    if (!std::isfinite(sc.etaMin) || sc.etaMin < 0)
      return errorAt(line, llvm::formatv("training: schedule: eta_min must be a non-negative "
                                         "number, got {0}",
                                         num(sc.etaMin)));
    if (!s.unit().empty())
      sc.unit = s.unit();
    if (sc.unit != "epoch" && sc.unit != "step")
      return errorAt(line,
                     "training: schedule: unit must be \"epoch\" or \"step\", got '" + sc.unit + "'");
  }
  if (t.batch_size() < 0)
    return errorAt(line,
                   llvm::formatv("training: batch_size must be positive, got {0}", t.batch_size()));
  if (t.batch_size() > 0)
    cfg.batchSize = t.batch_size();
  if (t.epochs() < 0)
    return errorAt(line, llvm::formatv("training: epochs must be positive, got {0}", t.epochs()));
  if (t.epochs() > 0)
    cfg.epochs = t.epochs();
  cfg.seed = t.seed();
  auto bindInput = [&](const char *field, const std::string &name, std::string &dst) -> Error {
    ir::Value *v = name.empty() ? nullptr : g.lookup(name);
    if (!name.empty() && (!v || !v->isInput()))
      return errorAt(line, "training: data " + std::string(field) + " '" + name +
                               "' is not an input of the model");
    dst = name;
    return Error::success();
  };
  if (Error e = bindInput("features", t.data().features(), cfg.features))
    return e;
  return bindInput("labels", t.data().labels(), cfg.labels);
}

Expected<std::unique_ptr<ir::Graph>> GraphBuilder::build() {
  // Inputs and params: names and types.
  std::vector<TensorType> inputTypes, paramTypes;
  std::vector<ir::Initializer> inits;
  for (int i = 0; i < m_.input_size(); ++i) {
    const pb::Input &in = m_.input(i);
    unsigned line = lines_.inputs[i];
    std::string who = "input '" + in.name() + "'";
    if (Error e =
            checkName(in.name(), in.name().empty() ? "input #" + std::to_string(i + 1) : who, line))
      return e;
    auto type = convertType(in.type(), /*isParam=*/false, who, line);
    if (!type)
      return type.takeError();
    inputTypes.push_back(std::move(*type));
    if (Error e = define(in.name(), {who, line}))
      return e;
  }
  for (int i = 0; i < m_.param_size(); ++i) {
    const pb::Param &p = m_.param(i);
    unsigned line = lines_.params[i];
    std::string who = "param '" + p.name() + "'";
    if (Error e =
            checkName(p.name(), p.name().empty() ? "param #" + std::to_string(i + 1) : who, line))
      return e;
    auto type = convertType(p.type(), /*isParam=*/true, who, line);
    if (!type)
      return type.takeError();
    paramTypes.push_back(std::move(*type));
    auto init = convertInit(p, line);
    if (!init)
      return init.takeError();
    inits.push_back(std::move(*init));
    if (Error e = define(p.name(), {who, line}))
      return e;
  }

  // Nodes, each on its own, then the names they define.
  ops_.assign(m_.node_size(), std::nullopt);
  attrs_.assign(m_.node_size(), ir::Attrs());
  llvm::StringMap<int> nodeNames;
  for (int i = 0; i < m_.node_size(); ++i) {
    if (Error e = checkNode(i))
      return e;
    const std::string &name = m_.node(i).name();
    if (!name.empty()) {
      auto [it, inserted] = nodeNames.try_emplace(name, i);
      if (!inserted) {
        unsigned first = lines_.nodes[it->second];
        return errorAt(lines_.nodes[i],
                       "node name '" + name + "' is used twice" +
                           (first ? " (first at line " + std::to_string(first) + ")" : ""));
      }
    }
    for (const std::string &out : m_.node(i).outputs())
      if (Error e = define(out, {nodeWho(i), lines_.nodes[i], i}))
        return e;
  }
  if (Error e = checkUses())
    return e;
  auto order = sortNodes();
  if (!order)
    return order.takeError();

  auto g = std::make_unique<ir::Graph>();
  g->sourceFile = file_;
  g->name = m_.name().empty() ? llvm::sys::path::stem(file_).str() : m_.name();
  for (int i = 0; i < m_.input_size(); ++i)
    g->addInput(m_.input(i).name(), inputTypes[i]);
  for (int i = 0; i < m_.param_size(); ++i)
    g->addParam(m_.param(i).name(), paramTypes[i], inits[i], !m_.param(i).frozen());
  for (int i : *order) {
    const pb::Node &n = m_.node(i);
    llvm::SmallVector<ir::Value *, 3> inputs;
    for (const std::string &in : n.inputs()) {
      inputs.push_back(g->lookup(in));
      assert(inputs.back() && "uses are defined and sorted");
    }
    std::vector<std::string> outs(n.outputs().begin(), n.outputs().end());
    ir::Node *node = g->addNode(*ops_[i], inputs, std::move(attrs_[i]), outs,
                                ir::Location{file_, lines_.nodes[i], n.name(), "", ""});
    assert(node->result()->name() == outs[0] && "names were checked unique");
    (void)node;
  }
  if (Error e = bindOutputsAndLoss(*g))
    return e;
  if (Error e = readTraining(*g))
    return e;
  return g;
}

} // namespace

Expected<std::unique_ptr<ir::Graph>> loadModelText(StringRef text, StringRef fileName) {
  if (text.size() > kMaxModelFileBytes)
    return makeError(llvm::formatv("{0}: model text is too large ({1} bytes; limit {2})", fileName,
                                   text.size(), kMaxModelFileBytes));
  pb::Model model;
  TextFormat::Parser parser;
  FirstErrorCollector errors;
  TextFormat::ParseInfoTree tree;
  parser.RecordErrorsTo(&errors);
  parser.WriteLocationsTo(&tree);
  std::string buffer = text.str();
  if (!parser.ParseFromString(buffer, &model)) {
    if (errors.hasError())
      return errors.takeError(fileName);
    return makeError(fileName + ": cannot parse the model text");
  }
  LineTable lines(model);
  lines.fill(tree);
  return GraphBuilder(model, fileName, lines).build();
}

Expected<std::unique_ptr<ir::Graph>> loadModelFile(StringRef path) {
  llvm::sys::fs::file_status st;
  if (std::error_code ec = llvm::sys::fs::status(path, st))
    return makeError("cannot read model " + path + ": " + ec.message());
  if (llvm::sys::fs::is_directory(st))
    return makeError("cannot read model " + path + ": it is a directory");
  if (st.getSize() > kMaxModelFileBytes)
    return makeError(llvm::formatv("{0}: model file is too large ({1} bytes; limit {2})", path,
                                   st.getSize(), kMaxModelFileBytes));
  auto buf = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                         /*RequiresNullTerminator=*/false);
  if (!buf)
    return makeError("cannot read model " + path + ": " + buf.getError().message());
  StringRef data = (*buf)->getBuffer();
  if (data.size() > kMaxModelFileBytes) // the file grew after status()
    return makeError(path + ": model file is too large");

  StringRef ext = llvm::sys::path::extension(path);
  if (ext == ".pbtxt" || ext == ".txt")
    return loadModelText(data, path);

  pb::Model model;
  if (!model.ParseFromArray(data.data(), static_cast<int>(data.size())))
    return makeError(path + ": not a valid binary model (gradc.pb.Model); text models "
                            "must end in .pbtxt or .txt");
  LineTable lines(model); // binary models have no lines
  return GraphBuilder(model, path, lines).build();
}

} // namespace gradc::frontend
