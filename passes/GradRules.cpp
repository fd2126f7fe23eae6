//===- passes/GradRules.cpp - Gradient rule of every op -----------*- C++ -*-===//
//
// One rule per op without the NoGrad flag, side by side, each a few lines:
// given dy = d(loss)/d(result) it builds d(loss)/d(input) for every input with
// ordinary graph ops (Builder::create, so every new value is typed at once).
// Rules build a gradient for *every* input; the autodiff driver keeps the ones
// that flow to a trainable param and erases the rest. Rules of broadcasting
// ops return gradients with the result's shape; the driver sums them back to
// each input's shape (unbroadcast below) and accumulates fan-out, so no rule
// deals with either.
//
// Naming: the gradient returned for input %x is named `d.x`; intermediate
// values are `d.x.t`, `d.x.t.1`, ... so the backward graph reads like the
// forward one.
//
// The table gradRule(OpKind) is generated from Ops.def: a NoGrad op maps to
// null, every other op to its rule, and a static_assert per op stops the
// build when a differentiable op lacks a rule.
//
//===----------------------------------------------------------------------===//
#include "passes/GradRules.h"
#include "passes/GradRulesVision.h"
#include "passes/GradEmitter.h"
#include "passes/GradRulesSeq.h"

#include "ir/ShapeRules.h"

namespace gradc::passes {

using ir::Attrs;
using ir::Builder;
using ir::Node;
using ir::OpKind;
using ir::Value;

namespace {

Attrs axisAttr(const Node &n) {
  Attrs a;
  a.set("axis", n.attrs().getInt("axis", -1));
  return a;
}

/// The normalized reduction axes of a reduce node (empty attr = all axes).
/// The forward node passed shape inference, so the attribute is valid.
std::vector<int64_t> reduceAxes(const Node &n) {
  return llvm::cantFail(
      ir::normalizeAxes(n.attrs().getInts("axes"), n.input(0)->type().rank()),
      "reduce axes were checked by shape inference");
}

/// dy of a reduction spread back over the input: reshape to the keepdims
/// shape (when the reduced axes were dropped), then broadcast_to the input.
/// Dropped leading axes need no reshape: broadcasting adds them back.
Value *spreadReduced(Emitter &e, const Node &n, Value *dy, const std::string &name) {
  const Shape &in = n.input(0)->type().shape;
  std::vector<int64_t> axes = reduceAxes(n);
  bool leading = true;
  for (size_t i = 0; i < axes.size(); ++i)
    leading &= axes[i] == static_cast<int64_t>(i);
  Value *kept = leading ? dy
                        : e.reshape(dy, ir::reducedShape(in, axes, /*keepdims=*/true),
                                    tName(n, 0));
  Attrs a;
  a.set("shape", std::vector<int64_t>(in.begin(), in.end()));
  return e.op(OpKind::BroadcastTo, {kept}, std::move(a), name);
}

} // namespace

llvm::Expected<Value *> unbroadcast(Builder &b, Value *grad, const Shape &to,
                                    llvm::StringRef name) {
  const Shape &from = grad->type().shape;
  assert(from.size() >= to.size() && "unbroadcast to a higher rank");
  size_t lead = from.size() - to.size();
  std::vector<int64_t> axes;
  bool onlyLeading = true;
  for (size_t i = 0; i < from.size(); ++i) {
    if (i < lead) {
      axes.push_back(static_cast<int64_t>(i));
    } else if (to[i - lead] == 1 && from[i] != 1) {
      axes.push_back(static_cast<int64_t>(i));
      onlyLeading = false;
    } else {
      assert(to[i - lead] == from[i] && "gradient does not broadcast from the input");
    }
  }
  if (axes.empty())
    return grad;
  // Leading axes alone: drop them in the reduction itself. Otherwise keep
  // every reduced axis (size 1 in `to`) and drop the leading ones by reshape.
  Attrs a;
  a.set("axes", axes);
  if (onlyLeading) {
    a.set("keepdims", int64_t(0));
    return b.create(OpKind::ReduceSum, {grad}, std::move(a), name);
  }
  a.set("keepdims", int64_t(1));
  std::string last = name.str();
  auto sum = b.create(OpKind::ReduceSum, {grad}, std::move(a), lead ? last + ".t" : last);
  if (!sum || !lead)
    return sum;
  Attrs r;
  r.set("shape", std::vector<int64_t>(to.begin(), to.end()));
  return b.create(OpKind::Reshape, {*sum}, std::move(r), last);
}

// ---- The rules --------------------------------------------------------------

static GradsOrErr gradRuleMatMul(Builder &b, const Node &n, Value *dy) {
  // C = op(A) op(B), op = optional transpose. Each case writes dA and dB as one
  // matmul with transpose flags, so no transpose node is ever materialized.
  Emitter e(b);
  Value *a = n.input(0), *bb = n.input(1);
  bool ta = n.attrs().getInt("transpose_a", 0), tb = n.attrs().getInt("transpose_b", 0);
  Value *da, *db;
  if (!ta && !tb) { // C = A B:      dA = dC B^T,     dB = A^T dC
    da = e.matmul(dy, bb, false, true, dName(n, 0));
    db = e.matmul(a, dy, true, false, dName(n, 1));
  } else if (!ta && tb) { // C = A B^T:  dA = dC B,       dB = dC^T A
    da = e.matmul(dy, bb, false, false, dName(n, 0));
    db = e.matmul(dy, a, true, false, dName(n, 1));
  } else if (ta && !tb) { // C = A^T B:  dA = B dC^T,     dB = A dC
    da = e.matmul(bb, dy, false, true, dName(n, 0));
    db = e.matmul(a, dy, false, false, dName(n, 1));
  } else { // C = A^T B^T: dA = B^T dC^T,   dB = dC^T A^T
    da = e.matmul(bb, dy, true, true, dName(n, 0));
    db = e.matmul(dy, a, true, true, dName(n, 1));
  }
  return e.done({da, db});
}

static GradsOrErr gradRuleAdd(Builder &b, const Node &n, Value *dy) {
  return Grads{dy, dy};
}

static GradsOrErr gradRuleSub(Builder &b, const Node &n, Value *dy) {
  Emitter e(b);
  return e.done({dy, e.op(OpKind::Neg, {dy}, {}, dName(n, 1))});
}

static GradsOrErr gradRuleMul(Builder &b, const Node &n, Value *dy) {
  Emitter e(b);
  Value *da = e.op(OpKind::Mul, {dy, n.input(1)}, {}, dName(n, 0));
  Value *db = e.op(OpKind::Mul, {dy, n.input(0)}, {}, dName(n, 1));
  return e.done({da, db});
}

static GradsOrErr gradRuleDiv(Builder &b, const Node &n, Value *dy) {
  // y = a/b:  da = dy/b,  db = -dy*a/b^2 = -(da*y), reusing da and the result.
  Emitter e(b);
  Value *da = e.op(OpKind::Div, {dy, n.input(1)}, {}, dName(n, 0));
  Value *t = e.op(OpKind::Mul, {da, n.result()}, {}, tName(n, 1));
  return e.done({da, e.op(OpKind::Neg, {t}, {}, dName(n, 1))});
}

static GradsOrErr gradRuleNeg(Builder &b, const Node &n, Value *dy) {
  Emitter e(b);
  return e.done({e.op(OpKind::Neg, {dy}, {}, dName(n, 0))});
}

static GradsOrErr gradRuleRelu(Builder &b, const Node &n, Value *dy) {
  // relu_grad(y, dy) = dy * (y > 0) with y = relu(x): y > 0 exactly when
  // x > 0. Reading the result rather than x lets x die at the relu, so x
  // needs no memory when it is computed in the relu's fusion group (the
  // bias add before it, batch norm's apply).
  Emitter e(b);
  return e.done({e.op(OpKind::ReluGrad, {n.result(), dy}, {}, dName(n, 0))});
}

static GradsOrErr gradRuleSigmoid(Builder &b, const Node &n, Value *dy) {
  Emitter e(b);
  return e.done({e.op(OpKind::SigmoidGrad, {n.result(), dy}, {}, dName(n, 0))});
}

static GradsOrErr gradRuleTanh(Builder &b, const Node &n, Value *dy) {
  Emitter e(b);
  return e.done({e.op(OpKind::TanhGrad, {n.result(), dy}, {}, dName(n, 0))});
}

static GradsOrErr gradRuleExp(Builder &b, const Node &n, Value *dy) {
  Emitter e(b);
  return e.done({e.op(OpKind::Mul, {dy, n.result()}, {}, dName(n, 0))});
}

static GradsOrErr gradRuleLog(Builder &b, const Node &n, Value *dy) {
  Emitter e(b);
  return e.done({e.op(OpKind::Div, {dy, n.input(0)}, {}, dName(n, 0))});
}

static GradsOrErr gradRuleSqrt(Builder &b, const Node &n, Value *dy) {
  // dy / (2 sqrt(x)), reusing y = sqrt(x) rather than computing it again.
  Emitter e(b);
  Value *twoY = e.op(OpKind::Add, {n.result(), n.result()});
  return e.done({e.op(OpKind::Div, {dy, twoY}, {}, dName(n, 0))});
}

static GradsOrErr gradRuleSoftmax(Builder &b, const Node &n, Value *dy) {
  Emitter e(b);
  return e.done(
      {e.op(OpKind::SoftmaxGrad, {n.result(), dy}, axisAttr(n), dName(n, 0))});
}

static GradsOrErr gradRuleLogSoftmax(Builder &b, const Node &n, Value *dy) {
  Emitter e(b);
  return e.done(
      {e.op(OpKind::LogSoftmaxGrad, {n.result(), dy}, axisAttr(n), dName(n, 0))});
}

static GradsOrErr gradRuleSoftmaxCrossEntropy(Builder &b, const Node &n, Value *dy) {
  // Integer labels get no gradient.
  Emitter e(b);
  return e.done({e.op(OpKind::SoftmaxCrossEntropyGrad, {n.input(0), n.input(1), dy}, {},
                      dName(n, 0)),
                 nullptr});
}

static GradsOrErr gradRuleMse(Builder &b, const Node &n, Value *dy) {
  // mse is symmetric up to sign: d/db = -d/da.
  Emitter e(b);
  Value *da = e.op(OpKind::MseGrad, {n.input(0), n.input(1), dy}, {}, dName(n, 0));
  return e.done({da, e.op(OpKind::Neg, {da}, {}, dName(n, 1))});
}

static GradsOrErr gradRuleReduceSum(Builder &b, const Node &n, Value *dy) {
  Emitter e(b);
  return e.done({spreadReduced(e, n, dy, dName(n, 0))});
}

static GradsOrErr gradRuleReduceMean(Builder &b, const Node &n, Value *dy) {
  // The count is numel(x) over the axes, a node because N is known only at
  // run time.
  Emitter e(b);
  Value *spread = spreadReduced(e, n, dy, tName(n, 0));
  Attrs a;
  a.set("axes", reduceAxes(n));
  Value *count = e.op(OpKind::Numel, {n.input(0)}, std::move(a), n.input(0)->name() + ".numel");
  return e.done({e.op(OpKind::Div, {spread, count}, {}, dName(n, 0))});
}

static GradsOrErr gradRuleReshape(Builder &b, const Node &n, Value *dy) {
  Emitter e(b);
  return e.done({e.reshape(dy, n.input(0)->type().shape, dName(n, 0))});
}

static GradsOrErr gradRuleTranspose(Builder &b, const Node &n, Value *dy) {
  int64_t rank = n.input(0)->type().rank();
  std::vector<int64_t> perm = n.attrs().getInts("perm");
  if (perm.empty()) // default: reverse the axes
    for (int64_t i = rank - 1; i >= 0; --i)
      perm.push_back(i);
  std::vector<int64_t> inverse(perm.size());
  for (size_t i = 0; i < perm.size(); ++i)
    inverse[perm[i]] = static_cast<int64_t>(i);
  Emitter e(b);
  Attrs a;
  a.set("perm", inverse);
  return e.done({e.op(OpKind::Transpose, {dy}, std::move(a), dName(n, 0))});
}

static GradsOrErr gradRuleBroadcastTo(Builder &b, const Node &n, Value *dy) {
  Emitter e(b);
  return e.done({e.unbroadcast(dy, n.input(0)->type().shape, dName(n, 0))});
}

// ---- The table --------------------------------------------------------------

// The rule of each op; null unless specialized below.
template <OpKind K> constexpr GradRule kRule = nullptr;
template <> constexpr GradRule kRule<OpKind::MatMul> = &gradRuleMatMul;
template <> constexpr GradRule kRule<OpKind::Add> = &gradRuleAdd;
template <> constexpr GradRule kRule<OpKind::Sub> = &gradRuleSub;
template <> constexpr GradRule kRule<OpKind::Mul> = &gradRuleMul;
template <> constexpr GradRule kRule<OpKind::Div> = &gradRuleDiv;
template <> constexpr GradRule kRule<OpKind::Neg> = &gradRuleNeg;
template <> constexpr GradRule kRule<OpKind::Relu> = &gradRuleRelu;
template <> constexpr GradRule kRule<OpKind::Sigmoid> = &gradRuleSigmoid;
template <> constexpr GradRule kRule<OpKind::Tanh> = &gradRuleTanh;
template <> constexpr GradRule kRule<OpKind::Exp> = &gradRuleExp;
template <> constexpr GradRule kRule<OpKind::Log> = &gradRuleLog;
template <> constexpr GradRule kRule<OpKind::Sqrt> = &gradRuleSqrt;
template <> constexpr GradRule kRule<OpKind::Softmax> = &gradRuleSoftmax;
template <> constexpr GradRule kRule<OpKind::LogSoftmax> = &gradRuleLogSoftmax;
template <>
constexpr GradRule kRule<OpKind::SoftmaxCrossEntropy> = &gradRuleSoftmaxCrossEntropy;
template <> constexpr GradRule kRule<OpKind::Mse> = &gradRuleMse;
template <> constexpr GradRule kRule<OpKind::ReduceSum> = &gradRuleReduceSum;
template <> constexpr GradRule kRule<OpKind::ReduceMean> = &gradRuleReduceMean;
template <> constexpr GradRule kRule<OpKind::Reshape> = &gradRuleReshape;
template <> constexpr GradRule kRule<OpKind::Transpose> = &gradRuleTranspose;
template <> constexpr GradRule kRule<OpKind::BroadcastTo> = &gradRuleBroadcastTo;
// Vision ops (GradRulesVision.cpp).
template <> constexpr GradRule kRule<OpKind::Conv2d> = &gradRuleConv2d;
template <> constexpr GradRule kRule<OpKind::MaxPool2d> = &gradRuleMaxPool2d;
template <> constexpr GradRule kRule<OpKind::AvgPool2d> = &gradRuleAvgPool2d;
template <> constexpr GradRule kRule<OpKind::GlobalAvgPool> = &gradRuleGlobalAvgPool;
template <> constexpr GradRule kRule<OpKind::Flatten> = &gradRuleFlatten;
template <> constexpr GradRule kRule<OpKind::Dropout> = &gradRuleDropout;
template <> constexpr GradRule kRule<OpKind::DropoutTrain> = &gradRuleDropoutTrain;
template <> constexpr GradRule kRule<OpKind::BatchNormTrain> = &gradRuleBatchNormTrain;

// Activations, selection and losses of the sequence-model family
// (passes/GradRulesSeq.cpp).
template <> constexpr GradRule kRule<OpKind::LeakyRelu> = &gradRuleActivation;
template <> constexpr GradRule kRule<OpKind::Gelu> = &gradRuleActivation;
template <> constexpr GradRule kRule<OpKind::Gaussian> = &gradRuleActivation;
template <> constexpr GradRule kRule<OpKind::Elu> = &gradRuleActivation;
template <> constexpr GradRule kRule<OpKind::Softplus> = &gradRuleActivation;
template <> constexpr GradRule kRule<OpKind::Pow> = &gradRulePow;
template <> constexpr GradRule kRule<OpKind::Maximum> = &gradRuleExtremum;
template <> constexpr GradRule kRule<OpKind::Minimum> = &gradRuleExtremum;
template <> constexpr GradRule kRule<OpKind::Where> = &gradRuleWhere;
template <> constexpr GradRule kRule<OpKind::BceWithLogits> = &gradRuleBceWithLogits;
template <> constexpr GradRule kRule<OpKind::Nll> = &gradRuleNll;
template <> constexpr GradRule kRule<OpKind::Embedding> = &gradRuleEmbedding;
template <> constexpr GradRule kRule<OpKind::Slice> = &gradRuleSlice;
template <> constexpr GradRule kRule<OpKind::Concat> = &gradRuleConcat;
template <> constexpr GradRule kRule<OpKind::Bmm> = &gradRuleBmm;
template <> constexpr GradRule kRule<OpKind::LayerNormRows> = &gradRuleLayerNormRows;

// Every op has a rule exactly when it lacks the NoGrad flag: a new
// differentiable op without a rule (or a NoGrad op given one) stops the build.
using ir::Internal; // the flag names Ops.def uses
using ir::Layer;
using ir::VariadicResults;
using ir::NoGrad;
using ir::OptionalLastInput;
using ir::NoGradLastInput;
#define OP(Enum, Name, NumInputs, Class, Flags)                                \
  static_assert((kRule<OpKind::Enum> != nullptr) == !((Flags) & NoGrad),   \
                "gradient rule of op '" Name "' missing or not allowed (NoGrad)");
#include "ir/Ops.def"

GradRule gradRule(OpKind op) {
  static constexpr GradRule table[] = {
#define OP(Enum, Name, NumInputs, Class, Flags) kRule<OpKind::Enum>,
#include "ir/Ops.def"
  };
  return table[static_cast<size_t>(op)];
}

} // namespace gradc::passes
