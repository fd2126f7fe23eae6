//===- passes/GradRulesSeq.cpp - Gradients of activations, selection, losses ===//
//
//   leaky_relu, gelu, gaussian, elu, softplus:
//       dx = activation_grad(x, dy) {op = the forward op, its attributes}
//   pow (x^p, p an attribute):   dx = dy * p * x^(p-1)
//   maximum(a, b): da = extremum_grad(a, b, dy) (dy where a wins, dy/2 on a
//       tie, as torch.maximum), db = dy - da; minimum likewise.
//   where(m, a, b):  da = where(m, dy, 0), db = where(m, 0, dy); no gradient
//       flows to the mask.
//   bce_with_logits(x, t) = mean(max(x,0) - x t + log(1 + exp(-|x|))):
//       dx = (sigmoid(x) - t) * dy / numel,  dt = -x * dy / numel
//   nll(logp, labels) = -mean(logp[label]):  dlogp = nll_grad(logp, labels, dy)
//   embedding(ids, table):  dtable = embedding_grad(ids, dy) {rows}: rows of
//       dy scatter-added, so an id used several times gets the sum
//   slice {axis, start, end}:  dx = slice_grad(dy) {axis, start, size}
//   concat {axis}:  d operand i = slice of dy at that operand's extent
//   bmm: matmul's four transpose cases, per batch (C = A B: dA = dC B^T,
//       dB = A^T dC, ...), each one bmm with transpose flags
//
// The driver un-broadcasts (maximum, minimum, where) and accumulates.
//
//===----------------------------------------------------------------------===//
#include "passes/GradRulesSeq.h"

#include "ir/ShapeRules.h"

namespace gradc::passes {

using ir::Attrs;
using ir::Builder;
using ir::Node;
using ir::OpKind;
using ir::Value;

GradsOrErr gradRuleActivation(Builder &b, const Node &n, Value *dy) {
  Emitter e(b);
  Attrs a = n.attrs();
  a.set("op", ir::opName(n.op()).str());
  return e.done({e.op(OpKind::ActivationGrad, {n.input(0), dy}, std::move(a), dName(n, 0))});
}

GradsOrErr gradRulePow(Builder &b, const Node &n, Value *dy) {
  Emitter e(b);
  double p = n.attrs().getFloat("exponent", 1.0);
  Attrs lower;
  lower.set("exponent", p - 1);
  Value *xp = e.op(OpKind::Pow, {n.input(0)}, std::move(lower), tName(n, 0));
  Value *scaled = e.op(OpKind::Mul, {xp, e.scalar(p)}, {}, tName(n, 0));
  return e.done({e.op(OpKind::Mul, {dy, scaled}, {}, dName(n, 0))});
}

GradsOrErr gradRuleExtremum(Builder &b, const Node &n, Value *dy) {
  Emitter e(b);
  Attrs a;
  a.set("op", ir::opName(n.op()).str());
  Value *da = e.op(OpKind::ExtremumGrad, {n.input(0), n.input(1), dy}, std::move(a),
                   dName(n, 0));
  return e.done({da, e.op(OpKind::Sub, {dy, da}, {}, dName(n, 1))});
}

GradsOrErr gradRuleWhere(Builder &b, const Node &n, Value *dy) {
  Emitter e(b);
  Value *zero = e.scalar(0.0);
  Value *da = e.op(OpKind::Where, {n.input(0), dy, zero}, {}, dName(n, 1));
  Value *db = e.op(OpKind::Where, {n.input(0), zero, dy}, {}, dName(n, 2));
  return e.done({nullptr, da, db});
}

GradsOrErr gradRuleBceWithLogits(Builder &b, const Node &n, Value *dy) {
  Emitter e(b);
  Value *x = n.input(0), *t = n.input(1);
  Value *count = e.op(OpKind::Numel, {x}, {}, x->name() + ".numel");
  Value *scale = e.op(OpKind::Div, {dy, count}, {}, tName(n, 0));
  Value *diff = e.op(OpKind::Sub, {e.op(OpKind::Sigmoid, {x}), t}, {}, tName(n, 0));
  Value *dx = e.op(OpKind::Mul, {diff, scale}, {}, dName(n, 0));
  Value *dt = e.op(OpKind::Mul, {e.op(OpKind::Neg, {x}), scale}, {}, dName(n, 1));
  return e.done({dx, dt});
}

GradsOrErr gradRuleNll(Builder &b, const Node &n, Value *dy) {
  Emitter e(b);
  return e.done(
      {e.op(OpKind::NllGrad, {n.input(0), n.input(1), dy}, {}, dName(n, 0)), nullptr});
}

GradsOrErr gradRuleEmbedding(Builder &b, const Node &n, Value *dy) {
  Emitter e(b);
  Attrs a;
  a.set("rows", n.input(1)->type().shape[0]);
  return e.done(
      {nullptr, e.op(OpKind::EmbeddingGrad, {n.input(0), dy}, std::move(a), dName(n, 1))});
}

/// The slice/concat axis, normalized (shape inference checked it).
static int64_t axisOf(const Node &n) {
  return llvm::cantFail(
      ir::normalizeAxis(n.attrs().getInt("axis", 0), n.input(0)->type().rank()));
}

GradsOrErr gradRuleSlice(Builder &b, const Node &n, Value *dy) {
  Emitter e(b);
  int64_t axis = axisOf(n);
  Attrs a;
  a.set("axis", axis);
  a.set("start", n.attrs().getInt("start", 0));
  a.set("size", n.input(0)->type().shape[axis]);
  return e.done({e.op(OpKind::SliceGrad, {dy}, std::move(a), dName(n, 0))});
}

GradsOrErr gradRuleConcat(Builder &b, const Node &n, Value *dy) {
  Emitter e(b);
  int64_t axis = axisOf(n), start = 0;
  Grads grads;
  for (unsigned i = 0; i < n.inputs().size(); ++i) {
    int64_t size = n.input(i)->type().shape[axis];
    Attrs a;
    a.set("axis", axis);
    a.set("start", start);
    a.set("end", start + size);
    grads.push_back(e.op(OpKind::Slice, {dy}, std::move(a), dName(n, i)));
    start += size;
  }
  return e.done(std::move(grads));
}

GradsOrErr gradRuleBmm(Builder &b, const Node &n, Value *dy) {
  Emitter e(b);
  auto bmm = [&](Value *x, Value *y, bool tx, bool ty, const std::string &name) {
    Attrs a;
    if (tx)
      a.set("transpose_a", int64_t(1));
    if (ty)
      a.set("transpose_b", int64_t(1));
    return e.op(OpKind::Bmm, {x, y}, std::move(a), name);
  };
  Value *a = n.input(0), *bb = n.input(1);
  bool ta = n.attrs().getInt("transpose_a", 0), tb = n.attrs().getInt("transpose_b", 0);
  Value *da, *db;
  if (!ta && !tb) {
    da = bmm(dy, bb, false, true, dName(n, 0));
    db = bmm(a, dy, true, false, dName(n, 1));
  } else if (!ta && tb) {
    da = bmm(dy, bb, false, false, dName(n, 0));
    db = bmm(dy, a, true, false, dName(n, 1));
  } else if (ta && !tb) {
    da = bmm(bb, dy, false, true, dName(n, 0));
    db = bmm(a, dy, false, false, dName(n, 1));
  } else {
    da = bmm(bb, dy, true, true, dName(n, 0));
    db = bmm(dy, a, true, true, dName(n, 1));
  }
  return e.done({da, db});
}

GradsOrErr gradRuleLayerNormRows(Builder &b, const Node &n, Value *dy) {
  Emitter e(b);
  Value *x = n.input(0);
  Value *dx = e.op(OpKind::LayerNormRowsGrad, {x, n.input(1), dy}, n.attrs(), dName(n, 0));
  Value *dw = e.op(OpKind::LayerNormRowsGradWeight, {x, dy}, n.attrs(), dName(n, 1));
  return e.done({dx, dw, dy});
}

} // namespace gradc::passes
