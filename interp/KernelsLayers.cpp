//===- interp/KernelsLayers.cpp - Layers have no kernels ---------------------===//
//
// Layer ops are expanded into primitives by expand-layers; reaching one here
// means the pipeline skipped that pass, which is reported, not run.
//
//===----------------------------------------------------------------------===//
#include "interp/KernelUtil.h"

namespace gradc::interp {

static llvm::Error notExpanded(const ir::Node &n) {
  return kernelError(llvm::formatv(
      "layer op {0} was not expanded; run the expand-layers pass first", n.info().name));
}

llvm::Error kernelDense(const ir::Node &n, TensorIns, TensorOuts) { return notExpanded(n); }
llvm::Error kernelRnn(const ir::Node &n, TensorIns, TensorOuts) { return notExpanded(n); }
llvm::Error kernelLstm(const ir::Node &n, TensorIns, TensorOuts) { return notExpanded(n); }
llvm::Error kernelGru(const ir::Node &n, TensorIns, TensorOuts) { return notExpanded(n); }
llvm::Error kernelLayerNorm(const ir::Node &n, TensorIns, TensorOuts) { return notExpanded(n); }
llvm::Error kernelEmbed(const ir::Node &n, TensorIns, TensorOuts) { return notExpanded(n); }

llvm::Error kernelMultiHeadAttention(const ir::Node &n, TensorIns, TensorOuts) {
  return notExpanded(n);
}

llvm::Error kernelTransformerBlock(const ir::Node &n, TensorIns, TensorOuts) {
  return notExpanded(n);
}

llvm::Error kernelSplit(const ir::Node &n, TensorIns, TensorOuts) { return notExpanded(n); }
llvm::Error kernelConv(const ir::Node &n, TensorIns, TensorOuts) { return notExpanded(n); }
llvm::Error kernelBatchNormLayer(const ir::Node &n, TensorIns, TensorOuts) {
  return notExpanded(n);
}
llvm::Error kernelResidualBlock(const ir::Node &n, TensorIns, TensorOuts) {
  return notExpanded(n);
}

} // namespace gradc::interp
