//===- passes/GradRules.h - Per-op gradient rules ----------------*- C++ -*-===//
//
// A gradient rule builds, with `b`, the gradient of the loss with respect to
// each input of `n`, given `dy`, the gradient with respect to n's result. It
// returns one value per input (null: no gradient flows to that input, e.g.
// integer labels). A returned gradient may have the shape of n's *result*
// where the op broadcasts; the autodiff driver sums it back to the input's
// shape (un-broadcasting), and accumulates fan-out, once for all ops.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Graph.h"

namespace gradc::passes {

using GradRule = llvm::Expected<llvm::SmallVector<ir::Value *, 3>> (*)(
    ir::Builder &b, const ir::Node &n, ir::Value *dy);

/// The rule for `op`, or null when the op has none (flag NoGrad).
GradRule gradRule(ir::OpKind op);

/// Sums `grad` (the shape of a broadcast result) back to `to`, the shape of
/// the operand that was broadcast: reduce_sum over the leading extra axes and
/// over the axes where `to` has 1, then reshape if the rank differs. Returns
/// `grad` itself when the shapes already agree. The last node made is named
/// `name`. Shared by the autodiff driver and the broadcast_to rule.
llvm::Expected<ir::Value *> unbroadcast(ir::Builder &b, ir::Value *grad,
                                        const Shape &to, llvm::StringRef name);

} // namespace gradc::passes
