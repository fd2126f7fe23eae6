//===- codegen/LowerLayers.cpp - Layers have no lowerings --------------------===//
//
// Layer ops are expanded into primitives by expand-layers before codegen;
// one that reaches codegen is an error naming the missing pass.
//
//===----------------------------------------------------------------------===//
#include "codegen/Lowering.h"
#include "ir/Graph.h"

namespace gradc::codegen {

static llvm::Error notExpanded(const ir::Node &n) {
  return llvm::createStringError(
      llvm::inconvertibleErrorCode(),
      "layer op " + std::string(n.info().name) +
          " was not expanded; run the expand-layers pass first");
}

llvm::Error lowerDense(KernelCtx &, const ir::Node &n) { return notExpanded(n); }
llvm::Error lowerRnn(KernelCtx &, const ir::Node &n) { return notExpanded(n); }
llvm::Error lowerLstm(KernelCtx &, const ir::Node &n) { return notExpanded(n); }
llvm::Error lowerGru(KernelCtx &, const ir::Node &n) { return notExpanded(n); }
llvm::Error lowerLayerNorm(KernelCtx &, const ir::Node &n) { return notExpanded(n); }
llvm::Error lowerEmbed(KernelCtx &, const ir::Node &n) { return notExpanded(n); }

llvm::Error lowerMultiHeadAttention(KernelCtx &, const ir::Node &n) { return notExpanded(n); }

llvm::Error lowerTransformerBlock(KernelCtx &, const ir::Node &n) { return notExpanded(n); }
llvm::Error lowerSplit(KernelCtx &, const ir::Node &n) { return notExpanded(n); }
llvm::Error lowerConv(KernelCtx &, const ir::Node &n) { return notExpanded(n); }
llvm::Error lowerBatchNormLayer(KernelCtx &, const ir::Node &n) { return notExpanded(n); }
llvm::Error lowerResidualBlock(KernelCtx &, const ir::Node &n) { return notExpanded(n); }

} // namespace gradc::codegen
