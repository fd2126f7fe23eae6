//===- ir/ShapeRulesLayers.cpp - Shape rules of the layer ops ---------------===//
//
// Layers are expanded into primitives before shape inference proper
// (passes/ExpandLayers.cpp), but their rules run first, on the layer node
// itself, so a bad layer is reported as what the user wrote ("lstm expects
// [N, T, features]") rather than as a primitive it expands into.
//   dense        x[..., in]   -> [..., units]
//   rnn/lstm/gru x[N, T, E]   -> [N, T, hidden_size]   (T, E fixed)
//   layer_norm   x            -> x                     (trailing `dims` fixed)
//   embed        ids i32[...] -> [..., dim]; positional needs ids [..., T]
//   multi_head_attention x[N, T, D] -> x's type; num_heads divides D
//   split        x -> one part per result along `axis` (`sizes`, or equal)
//   conv         x[N, C, H, W] -> [N, out_channels, OH, OW] (conv2d's sizes)
//   batchnorm    x[N, C] or [N, C, H, W] -> x
//   residual_block x[N, C, H, W] -> [N, channels, ceil(H/stride), ceil(W/stride)]
//
//===----------------------------------------------------------------------===//
#include "ir/ShapeRules.h"
#include "ir/Vision.h"

#include "llvm/Support/FormatVariadic.h"

namespace gradc::ir {

using Types = llvm::SmallVector<TensorType, 1>;
using llvm::formatv;

namespace {

llvm::Error err(const llvm::Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), msg);
}

llvm::Expected<int64_t> positiveAttr(const Node &n, const char *name) {
  int64_t v = n.attrs().getInt(name, 0);
  if (v <= 0)
    return err(formatv("{0} must be > 0, got {1}", name, v));
  return v;
}

llvm::Error expectF32(const Node &n) {
  if (n.input(0)->type().dtype != DType::F32)
    return err(formatv("input %{0} must be f32, got {1}", n.input(0)->name(),
                       n.input(0)->type().str()));
  return llvm::Error::success();
}

llvm::Expected<Types> recurrentRule(const Node &n) {
  if (auto e = expectF32(n))
    return e;
  auto h = positiveAttr(n, "hidden_size");
  if (!h)
    return h.takeError();
  const Shape &x = n.input(0)->type().shape;
  if (x.size() != 3 || x[1] == kBatch || x[2] == kBatch)
    return err(formatv("{0} expects input [N, T, features] with a fixed sequence length T, "
                       "got {1}",
                       opName(n.op()), n.input(0)->type().str()));
  return Types{TensorType(DType::F32, {x[0], x[1], *h})};
}

} // namespace

llvm::Expected<Types> shapeRuleDense(const Node &n) {
  if (auto e = expectF32(n))
    return e;
  auto units = positiveAttr(n, "units");
  if (!units)
    return units.takeError();
  Shape s = n.input(0)->type().shape;
  if (s.size() < 2 || s.back() == kBatch)
    return err(formatv("dense expects input [..., features] of rank >= 2, got {0}",
                       n.input(0)->type().str()));
  s.back() = *units;
  return Types{TensorType(DType::F32, s)};
}

llvm::Expected<Types> shapeRuleRnn(const Node &n) { return recurrentRule(n); }
llvm::Expected<Types> shapeRuleLstm(const Node &n) { return recurrentRule(n); }
llvm::Expected<Types> shapeRuleGru(const Node &n) { return recurrentRule(n); }

llvm::Expected<Types> shapeRuleLayerNorm(const Node &n) {
  if (auto e = expectF32(n))
    return e;
  if (auto row = layerNormRowShape(n); !row)
    return row.takeError();
  return Types{n.input(0)->type()};
}

llvm::Expected<Types> shapeRuleEmbed(const Node &n) {
  const TensorType &ids = n.input(0)->type();
  if (ids.dtype != DType::I32)
    return err(formatv("embed expects i32 ids, got {0}", ids.str()));
  auto vocab = positiveAttr(n, "vocab_size");
  if (!vocab)
    return vocab.takeError();
  auto dim = positiveAttr(n, "dim");
  if (!dim)
    return dim.takeError();
  if (n.attrs().getInt("positional", 0) && (ids.rank() < 1 || ids.shape.back() == kBatch))
    return err(formatv("embed with positional encoding expects ids [..., T] with a fixed "
                       "sequence length T, got {0}",
                       ids.str()));
  Shape s = ids.shape;
  s.push_back(*dim);
  return Types{TensorType(DType::F32, s)};
}

llvm::Expected<Types> shapeRuleMultiHeadAttention(const Node &n) {
  if (auto e = expectF32(n))
    return e;
  auto heads = positiveAttr(n, "num_heads");
  if (!heads)
    return heads.takeError();
  const Shape &x = n.input(0)->type().shape;
  if (x.size() != 3 || x[1] == kBatch || x[2] == kBatch)
    return err(formatv("multi_head_attention expects input [N, T, d_model] with fixed T and "
                       "d_model, got {0}",
                       n.input(0)->type().str()));
  if (x[2] % *heads != 0)
    return err(formatv("num_heads {0} does not divide d_model {1}", *heads, x[2]));
  return Types{n.input(0)->type()};
}

llvm::Expected<Types> shapeRuleTransformerBlock(const Node &n) {
  auto ffn = positiveAttr(n, "ffn_dim");
  if (!ffn)
    return ffn.takeError();
  return shapeRuleMultiHeadAttention(n);
}

namespace {

/// x must be an f32 image [N, C, H, W] with fixed C, H, W.
llvm::Error expectImage(const Node &n) {
  const TensorType &x = n.input(0)->type();
  if (x.dtype != DType::F32 || x.rank() != 4 || x.shape[1] == kBatch || x.shape[2] == kBatch ||
      x.shape[3] == kBatch)
    return err(formatv("{0} expects an f32 image [N, C, H, W], got {1}", opName(n.op()),
                       x.str()));
  return llvm::Error::success();
}

} // namespace

llvm::Expected<Types> shapeRuleConv(const Node &n) {
  if (auto e = expectImage(n))
    return e;
  auto out = positiveAttr(n, "out_channels");
  if (!out)
    return out.takeError();
  const Shape &x = n.input(0)->type().shape;
  auto k = pairAttr(n.attrs(), "kernel_size", {0, 0});
  if (k[0] < 1 || k[1] < 1)
    return err(formatv("conv kernel_size must be >= 1, got [{0}, {1}]", k[0], k[1]));
  auto g = convGeomOf(n, x, *out, k[0], k[1], "out_channels");
  if (!g)
    return g.takeError();
  return Types{TensorType(DType::F32, {x[0], *out, g->oh, g->ow})};
}

llvm::Expected<Types> shapeRuleBatchNormLayer(const Node &n) {
  const TensorType &x = n.input(0)->type();
  if (x.dtype != DType::F32 || (x.rank() != 2 && x.rank() != 4) || x.shape[1] == kBatch)
    return err(formatv("batchnorm expects f32 [N, C] or [N, C, H, W], got {0}", x.str()));
  if (n.attrs().getFloat("eps", 1e-5) <= 0)
    return err("batchnorm eps must be > 0");
  return Types{x};
}

llvm::Expected<Types> shapeRuleResidualBlock(const Node &n) {
  if (auto e = expectImage(n))
    return e;
  const Shape &x = n.input(0)->type().shape;
  int64_t c = n.attrs().getInt("channels", x[1]), stride = n.attrs().getInt("stride", 1);
  if (c < 1 || stride < 1)
    return err(formatv("residual_block needs channels >= 1 and stride >= 1, got {0} and {1}",
                       c, stride));
  // 3x3 convolutions with padding 1: (H + 2 - 3) / stride + 1 = ceil(H / stride).
  return Types{TensorType(DType::F32, {x[0], c, (x[2] - 1) / stride + 1,
                                       (x[3] - 1) / stride + 1})};
}

llvm::Expected<std::vector<int64_t>> splitSizes(const Node &n) {
  const Shape &x = n.input(0)->type().shape;
  int64_t rank = static_cast<int64_t>(x.size()), axis = n.attrs().getInt("axis", 0);
  if (axis < -rank || axis >= rank)
    return err(formatv("split axis {0} is out of range for {1}", axis,
                       n.input(0)->type().str()));
  if (axis < 0)
    axis += rank;
  int64_t extent = x[axis], parts = static_cast<int64_t>(n.results().size());
  if (extent == kBatch)
    return err("split cannot split the batch dimension N");
  std::vector<int64_t> sizes = n.attrs().getInts("sizes");
  if (sizes.empty()) {
    if (extent % parts)
      return err(formatv("split into {0} equal parts: axis {1} has {2} elements, not a "
                         "multiple of {0} (give sizes)",
                         parts, axis, extent));
    sizes.assign(parts, extent / parts);
  }
  if (static_cast<int64_t>(sizes.size()) != parts)
    return err(formatv("split has {0} outputs but {1} sizes", parts, sizes.size()));
  int64_t total = 0;
  for (int64_t s : sizes) {
    if (s < 1)
      return err(formatv("split sizes must be >= 1, got {0}", s));
    total += s;
  }
  if (total != extent)
    return err(formatv("split sizes add up to {0}, but axis {1} of {2} has {3} elements", total,
                       axis, n.input(0)->type().str(), extent));
  return sizes;
}

llvm::Expected<Types> shapeRuleSplit(const Node &n) {
  auto sizes = splitSizes(n);
  if (!sizes)
    return sizes.takeError();
  const TensorType &x = n.input(0)->type();
  int64_t axis = n.attrs().getInt("axis", 0);
  if (axis < 0)
    axis += x.rank();
  Types out;
  for (int64_t s : *sizes) {
    TensorType t = x;
    t.shape[axis] = s;
    out.push_back(t);
  }
  return out;
}

} // namespace gradc::ir
