//===- passes/GradRulesVision.h - Gradient rules of the NCHW ops -*- C++ -*-===//
#pragma once

#include "passes/GradRules.h"

namespace gradc::passes {

using VisionGrads = llvm::Expected<llvm::SmallVector<ir::Value *, 3>>;
VisionGrads gradRuleConv2d(ir::Builder &b, const ir::Node &n, ir::Value *dy);
VisionGrads gradRuleMaxPool2d(ir::Builder &b, const ir::Node &n, ir::Value *dy);
VisionGrads gradRuleAvgPool2d(ir::Builder &b, const ir::Node &n, ir::Value *dy);
VisionGrads gradRuleGlobalAvgPool(ir::Builder &b, const ir::Node &n, ir::Value *dy);
VisionGrads gradRuleFlatten(ir::Builder &b, const ir::Node &n, ir::Value *dy);
VisionGrads gradRuleDropout(ir::Builder &b, const ir::Node &n, ir::Value *dy);
VisionGrads gradRuleBatchNormTrain(ir::Builder &b, const ir::Node &n, ir::Value *dy);
VisionGrads gradRuleDropoutTrain(ir::Builder &b, const ir::Node &n, ir::Value *dy);

} // namespace gradc::passes
