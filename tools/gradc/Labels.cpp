//===- tools/gradc/Labels.cpp - Label range checks before a step ----------===//
//
// Generated code never reads out of bounds for a bad label, but a bad label
// is a user error: it is reported here, naming the file and record, before
// any step runs.
//
//===----------------------------------------------------------------------===//
#include "tools/gradc/Driver.h"

#include "llvm/Support/FormatVariadic.h"

namespace gradc::driver {

int64_t labelClasses(const ir::Graph &g, llvm::StringRef inputName) {
  for (const auto &n : g.nodes()) {
    bool isXent = n->op() == ir::OpKind::SoftmaxCrossEntropy ||
                  n->op() == ir::OpKind::SoftmaxCrossEntropyGrad;
    bool isNll = n->op() == ir::OpKind::Nll || n->op() == ir::OpKind::NllGrad;
    if ((isXent || isNll) && n->input(1)->isInput() && n->input(1)->name() == inputName)
      return n->input(0)->type().shape.back();
    // Embedding ids index the table's rows: the same check, before any step.
    bool isEmbedding =
        n->op() == ir::OpKind::Embedding || n->op() == ir::OpKind::EmbeddingGrad;
    if (isEmbedding && n->input(0)->isInput() && n->input(0)->name() == inputName)
      return n->op() == ir::OpKind::Embedding ? n->input(1)->type().shape[0]
                                              : n->attrs().getInt("rows", 0);
  }
  return 0;
}

/// Picks the features and labels inputs: the training config's, else the
/// first f32 and the first i32 data input.
llvm::Error pickDataInputs(const ir::Graph &g, std::string &features, std::string &labels) {
  features = g.training.features;
  labels = g.training.labels;
  for (const ir::Value *in : g.inputs()) {
    if (in->role != ir::InputRole::Data)
      continue;
    if (features.empty() && in->type().dtype == DType::F32)
      features = in->name();
    if (labels.empty() && in->type().dtype == DType::I32)
      labels = in->name();
  }
  if (features.empty() || labels.empty())
    return error("cannot tell which inputs take the features and the labels; set "
                 "training { data { features: \"x\" labels: \"y\" } } in the model");
  return llvm::Error::success();
}

float binaryThreshold(const ir::Graph &g) {
  if (g.outputs.empty())
    return 0.5f;
  for (const auto &n : g.nodes())
    if (n->op() == ir::OpKind::BceWithLogits && n->input(0) == g.outputs[0])
      return 0.0f;
  return 0.5f;
}

bool feedsEmbedding(const ir::Graph &g, llvm::StringRef inputName) {
  for (const auto &n : g.nodes())
    if (n->op() == ir::OpKind::Embedding && n->input(0)->isInput() &&
        n->input(0)->name() == inputName)
      return true;
  return false;
}

llvm::Error checkLabels(const rt::Tensor &labels, int64_t classes, const std::string &where,
                        const char *what) {
  if (labels.dtype() != DType::I32)
    return error(where + ": " + what + "s must be i32");
  const int32_t *l = labels.i32();
  for (int64_t i = 0; i < labels.numel(); ++i)
    if (l[i] < 0 || l[i] >= classes)
      return error(llvm::formatv("{0}: {1} {2} at record {3} is out of range [0, {4})", where,
                                 what, l[i], i, classes));
  return llvm::Error::success();
}

} // namespace gradc::driver
