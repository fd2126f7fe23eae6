//===- ir/Graph.h - The SSA graph: values, nodes, builder --------*- C++ -*-===//
//
// A Graph is a straight-line SSA program over tensors. Values are defined once:
// by the graph (inputs, params) or by a node (results). Nodes are kept in
// schedule order, which is always a topological order: a node only uses values
// defined before it. Training adds three graph-level lists:
//   - gradients: param -> value holding d(loss)/d(param)   (autodiff)
//   - updates:   param -> value holding the param's next state (optimizer)
//   - hyper inputs (e.g. the learning rate), fed by the runtime every step.
//
// Every node carries a Location: where in the model it came from and which
// pass made it, so diagnostics and IR dumps lead back to the model's line.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Attrs.h"
#include "ir/OpInfo.h"
#include "ir/Types.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace gradc::ir {

class Node;

/// Where a node came from. `file:line` and `modelNode` point at the model;
/// `pass` and `of` say which pass derived it from which value
/// (e.g. pass "autodiff", of "h1").
struct Location {
  std::string file;
  unsigned line = 0;
  std::string modelNode;
  std::string pass;
  std::string of;

  bool empty() const { return file.empty() && modelNode.empty() && pass.empty(); }
  bool operator==(const Location &o) const {
    return file == o.file && line == o.line && modelNode == o.modelNode &&
           pass == o.pass && of == o.of;
  }
  /// "mlp.pbtxt:12: node 'fc1'" (prefix for diagnostics), or "" when unknown.
  std::string describe() const;
};

struct Initializer {
  std::string kind = "zeros"; // see gradc.proto
  double value = 0, mean = 0, std = 0, low = 0, high = 0, gain = 0;
  bool operator==(const Initializer &o) const {
    return kind == o.kind && value == o.value && mean == o.mean && std == o.std &&
           low == o.low && high == o.high && gain == o.gain;
  }
};

enum class ValueKind : uint8_t { Input, Param, Result };
enum class InputRole : uint8_t { Data, Hyper };

class Value {
public:
  const std::string &name() const { return name_; }
  const TensorType &type() const { return type_; }
  void setType(TensorType t) { type_ = std::move(t); }
  ValueKind kind() const { return kind_; }
  bool isInput() const { return kind_ == ValueKind::Input; }
  bool isParam() const { return kind_ == ValueKind::Param; }
  /// The defining node, or null for inputs and params.
  Node *def() const { return def_; }
  unsigned resultIndex() const { return resultIndex_; }

  // Inputs.
  InputRole role = InputRole::Data;
  HyperKind hyper = HyperKind::LearningRate; // what the runtime feeds a Hyper input
  // Params.
  Initializer init;
  bool trainable = true;
  /// Optimizer state (momentum buffers, Adam moments): persistent and updated
  /// like a param, but not part of the model (never saved with the params).
  bool optimizerState = false;

private:
  friend class Graph;
  std::string name_;
  TensorType type_;
  ValueKind kind_ = ValueKind::Result;
  Node *def_ = nullptr;
  unsigned resultIndex_ = 0;
};

class Node {
public:
  OpKind op() const { return op_; }
  const OpInfo &info() const { return opInfo(op_); }
  llvm::ArrayRef<Value *> inputs() const { return inputs_; }
  Value *input(unsigned i) const { return inputs_[i]; }
  void setInput(unsigned i, Value *v) { inputs_[i] = v; }
  llvm::ArrayRef<Value *> results() const { return results_; }
  Value *result(unsigned i = 0) const { return results_[i]; }
  Attrs &attrs() { return attrs_; }
  const Attrs &attrs() const { return attrs_; }
  Location loc;
  /// The fusion group this node belongs to (pass `fuse`, text IR `fused g3`),
  /// or kNoGroup. Members of one group run as one loop nest (ir/Fusion.h).
  int32_t group = kNoGroup;
  static constexpr int32_t kNoGroup = -1;

  /// "node 'fc1' (matmul)" or "node %h (matmul)": how diagnostics name it.
  std::string describe() const;

private:
  friend class Graph;
  OpKind op_;
  llvm::SmallVector<Value *, 3> inputs_;
  llvm::SmallVector<Value *, 1> results_;
  Attrs attrs_;
};

/// Optimizer settings from the model's training config, overridable by flags.
/// Defaults are PyTorch's (torch.optim.SGD / RMSprop / Adam / AdamW).
/// A learning-rate schedule as the model declares it (runtime/Schedule.h
/// evaluates it; it never reaches the compiled step or the text IR).
struct ScheduleConfig {
  std::string kind = "constant"; // constant | step | exponential | cosine
  int64_t stepSize = 1;
  double gamma = 0.1;
  double etaMin = 0;
  int64_t warmup = 0;
  std::string unit = "epoch"; // epoch | step
  bool operator==(const ScheduleConfig &o) const = default;
};

struct TrainingConfig {
  std::string optimizer = "sgd"; // sgd | rmsprop | adam | adamw
  double lr = 0.01;
  double momentum = 0;     // sgd, rmsprop
  bool nesterov = false;   // sgd (needs momentum > 0)
  double alpha = 0.99;     // rmsprop: square-average decay
  double beta1 = 0.9;      // adam, adamw
  double beta2 = 0.999;    // adam, adamw
  double eps = 1e-8;       // rmsprop, adam, adamw
  double weightDecay = 0;  // L2 added to the gradient; decoupled for adamw
  double clipNorm = 0;     // > 0: clip the global gradient norm first
  ScheduleConfig schedule;
  int64_t batchSize = 32;
  int64_t epochs = 1;
  uint64_t seed = 0;
  std::string features; // input fed with data features ("" = the first f32 input)
  std::string labels;   // input fed with labels ("" = the first i32 input)
  bool present = false; // the model had a training block
  bool operator==(const TrainingConfig &o) const = default;
};

/// The optimizer kinds the `optimizer` pass implements, for messages.
inline constexpr const char *kOptimizerKinds = "sgd, rmsprop, adam, adamw";

/// Checks the optimizer fields of `t`: a known kind, finite non-negative
/// lr, momentum, eps, weight_decay and clip_norm, alpha and betas in [0, 1),
/// nesterov only with momentum. The message names the field
/// ("momentum must be a non-negative number, got -1").
llvm::Error checkOptimizerConfig(const TrainingConfig &t);

struct ParamUpdate {
  Value *param;
  Value *next;
};

class Graph {
public:
  Graph() = default;
  Graph(const Graph &) = delete;
  Graph &operator=(const Graph &) = delete;

  std::string name;
  std::string sourceFile; // the model file, for diagnostics
  TrainingConfig training;

  Value *addInput(const std::string &name, TensorType type,
                  InputRole role = InputRole::Data);
  Value *addParam(const std::string &name, TensorType type, Initializer init,
                  bool trainable = true);
  /// Appends a node (or inserts it before `before`) with `numResults` fresh
  /// results of unknown type (for a VariadicResults op, one per name),
  /// named from `resultNames` (made unique) or generated. Shape inference
  /// fills in the types.
  Node *addNode(OpKind op, llvm::ArrayRef<Value *> inputs, Attrs attrs,
                llvm::ArrayRef<std::string> resultNames = {}, Location loc = {},
                Node *before = nullptr);

  llvm::ArrayRef<Value *> inputs() const { return inputs_; }
  llvm::ArrayRef<Value *> params() const { return params_; }
  /// Nodes in schedule (topological) order.
  const std::vector<std::unique_ptr<Node>> &nodes() const { return nodes_; }

  std::vector<Value *> outputs;
  Value *loss = nullptr;
  std::vector<std::pair<Value *, Value *>> gradients; // param -> gradient
  std::vector<ParamUpdate> updates;                   // param -> next value
  /// The memory plan (plan-memory pass): node results that share one buffer
  /// because their lifetimes never overlap, one list per slot. Empty: every
  /// value has its own buffer. Erasing nodes drops their results from it;
  /// replaceAllUses and reorder discard it (lifetimes change).
  std::vector<std::vector<Value *>> memorySlots;

  /// The value with this name, or null.
  Value *lookup(llvm::StringRef name) const;
  /// `base` if unused, else `base.1`, `base.2`, ...
  std::string uniqueName(llvm::StringRef base) const;
  /// The gradient recorded for `param`, or null.
  Value *gradientOf(const Value *param) const;

  /// Removes every node for which `dead` is true. The caller guarantees no
  /// remaining node, output, gradient or update uses their results.
  void eraseNodes(const std::function<bool(const Node &)> &dead);
  /// Removes a graph input that nothing uses any more.
  void eraseInput(Value *input);
  /// Gives the node result `v` the name `name`, which must be unused.
  void renameValue(Value *v, const std::string &name);
  /// Moves nodes into the order given (a permutation of nodes()).
  void reorder(std::vector<Node *> order);
  /// Replaces every use of `from` (node inputs, outputs, loss, gradients,
  /// updates) with `to`.
  void replaceAllUses(Value *from, Value *to);
  /// Nodes that use `v`, in schedule order.
  std::vector<Node *> users(const Value *v) const;

private:
  Value *newValue(const std::string &name, ValueKind kind);
  std::vector<std::unique_ptr<Value>> values_;
  std::vector<Value *> inputs_;
  std::vector<Value *> params_;
  std::vector<std::unique_ptr<Node>> nodes_;
  llvm::StringMap<Value *> byName_;
};

/// Creates nodes at the end of a graph (or before a given node) and infers
/// their result types at once, so passes can rely on types immediately.
/// Every node it makes gets `loc`.
class Builder {
public:
  Builder(Graph &g, Location loc) : g_(g), loc_(std::move(loc)) {}
  void setLocation(Location loc) { loc_ = std::move(loc); }
  const Location &location() const { return loc_; }
  void setInsertBefore(Node *n) { before_ = n; }

  /// Creates a single-result node and infers its type.
  llvm::Expected<Value *> create(OpKind op, llvm::ArrayRef<Value *> inputs,
                                 Attrs attrs = {}, llvm::StringRef nameHint = "");
  Graph &graph() { return g_; }

private:
  Graph &g_;
  Location loc_;
  Node *before_ = nullptr;
};

/// Runs the op's shape rule on `n` and stores the result types. Errors are
/// prefixed with the node's location and description.
llvm::Error inferNodeShape(Node &n, const Graph &g);

/// An error "<file>:<line>: node 'x' (op): <msg>", the one format every
/// diagnostic about a node uses.
llvm::Error nodeError(const Node &n, const Graph &g, const llvm::Twine &msg);

} // namespace gradc::ir
