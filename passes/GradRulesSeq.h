//===- passes/GradRulesSeq.h - Gradient rules of the sequence-model ops -*- C++ -*-===//
//
// Declared here, defined in GradRulesSeq.cpp, entered into the rule table in
// GradRules.cpp (which checks at compile time that every differentiable op
// has one).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "passes/GradEmitter.h"

namespace gradc::passes {

/// leaky_relu, gelu, gaussian, elu, softplus: activation_grad(x, dy).
GradsOrErr gradRuleActivation(ir::Builder &b, const ir::Node &n, ir::Value *dy);
GradsOrErr gradRulePow(ir::Builder &b, const ir::Node &n, ir::Value *dy);
/// maximum, minimum.
GradsOrErr gradRuleExtremum(ir::Builder &b, const ir::Node &n, ir::Value *dy);
GradsOrErr gradRuleWhere(ir::Builder &b, const ir::Node &n, ir::Value *dy);
GradsOrErr gradRuleBceWithLogits(ir::Builder &b, const ir::Node &n, ir::Value *dy);
GradsOrErr gradRuleNll(ir::Builder &b, const ir::Node &n, ir::Value *dy);
GradsOrErr gradRuleEmbedding(ir::Builder &b, const ir::Node &n, ir::Value *dy);
GradsOrErr gradRuleSlice(ir::Builder &b, const ir::Node &n, ir::Value *dy);
GradsOrErr gradRuleBmm(ir::Builder &b, const ir::Node &n, ir::Value *dy);
GradsOrErr gradRuleConcat(ir::Builder &b, const ir::Node &n, ir::Value *dy);
/// layer_norm_rows: layer_norm_rows_grad, layer_norm_rows_grad_weight, and
/// dy for the bias (autodiff sums it over the rows).
GradsOrErr gradRuleLayerNormRows(ir::Builder &b, const ir::Node &n, ir::Value *dy);

} // namespace gradc::passes
