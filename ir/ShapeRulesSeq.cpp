//===- ir/ShapeRulesSeq.cpp - Shape rules and attributes of sequence-model ops ===//
//
// Activations (leaky_relu, gelu, gaussian, elu, softplus, step, pow) keep
// their input's type. maximum, minimum and where broadcast numpy-style
// (where over all three operands; its mask is f32, nonzero = take a). The
// losses bce_with_logits and nll reduce to an f32 scalar mean. The internal
// derivative kernels take the forward operands plus dy.
//
//===----------------------------------------------------------------------===//
#include "ir/OpInfoSeq.h"
#include "ir/ShapeRules.h"

#include "llvm/Support/FormatVariadic.h"

namespace gradc::ir {

using Types = llvm::SmallVector<TensorType, 1>;
using llvm::formatv;

namespace {

constexpr AttrSpec kNone[] = {{"", AttrKind::Int, false}};
constexpr AttrSpec kAlphaAttrs[] = {{"alpha", AttrKind::Float, false}};
constexpr AttrSpec kGeluAttrs[] = {{"approximate", AttrKind::String, false}};
constexpr AttrSpec kPowAttrs[] = {{"exponent", AttrKind::Float, true}};
constexpr AttrSpec kActivationGradAttrs[] = {{"op", AttrKind::String, true},
                                             {"alpha", AttrKind::Float, false},
                                             {"approximate", AttrKind::String, false}};
constexpr AttrSpec kDenseAttrs[] = {{"units", AttrKind::Int, true},
                                    {"bias", AttrKind::Int, false}};
constexpr AttrSpec kConvLayerAttrs[] = {{"out_channels", AttrKind::Int, true},
                                        {"kernel_size", AttrKind::Ints, true, true},
                                        {"stride", AttrKind::Ints, false, true},
                                        {"padding", AttrKind::Ints, false, true},
                                        {"dilation", AttrKind::Ints, false, true},
                                        {"groups", AttrKind::Int, false},
                                        {"bias", AttrKind::Int, false}};
constexpr AttrSpec kBatchNormLayerAttrs[] = {{"eps", AttrKind::Float, false},
                                             {"momentum", AttrKind::Float, false}};
constexpr AttrSpec kResidualAttrs[] = {{"channels", AttrKind::Int, false},
                                       {"stride", AttrKind::Int, false}};
constexpr AttrSpec kSplitAttrs[] = {{"axis", AttrKind::Int, true},
                                    {"sizes", AttrKind::Ints, false}};
constexpr AttrSpec kRecurrentAttrs[] = {{"hidden_size", AttrKind::Int, true}};
constexpr AttrSpec kLayerNormAttrs[] = {{"dims", AttrKind::Int, false},
                                        {"eps", AttrKind::Float, false}};
constexpr AttrSpec kEmbedAttrs[] = {{"vocab_size", AttrKind::Int, true},
                                    {"dim", AttrKind::Int, true},
                                    {"positional", AttrKind::Int, false}};
constexpr AttrSpec kAttentionAttrs[] = {{"num_heads", AttrKind::Int, true},
                                        {"causal", AttrKind::Int, false}};
constexpr AttrSpec kTransformerAttrs[] = {{"num_heads", AttrKind::Int, true},
                                          {"ffn_dim", AttrKind::Int, true},
                                          {"causal", AttrKind::Int, false}};
constexpr AttrSpec kExtremumGradAttrs[] = {{"op", AttrKind::String, true}};
constexpr AttrSpec kSliceAttrs[] = {{"axis", AttrKind::Int, true},
                                    {"start", AttrKind::Int, true},
                                    {"end", AttrKind::Int, true}};
constexpr AttrSpec kSliceGradAttrs[] = {{"axis", AttrKind::Int, true},
                                        {"start", AttrKind::Int, true},
                                        {"size", AttrKind::Int, true}};
constexpr AttrSpec kBmmAttrs[] = {{"transpose_a", AttrKind::Int, false},
                                  {"transpose_b", AttrKind::Int, false}};
constexpr AttrSpec kConcatAttrs[] = {{"axis", AttrKind::Int, true}};
constexpr AttrSpec kEmbeddingGradAttrs[] = {{"rows", AttrKind::Int, true}};
constexpr AttrSpec kCausalMaskAttrs[] = {{"size", AttrKind::Int, true}};
constexpr AttrSpec kPositionalAttrs[] = {{"length", AttrKind::Int, true},
                                         {"dim", AttrKind::Int, true}};

llvm::Error err(const llvm::Twine &msg) { return shapeRuleError(msg); }
llvm::Error expectF32(const Node &n, unsigned i) { return expectF32Input(n, i); }

llvm::Error checkGeluMode(const Node &n) {
  std::string mode = n.attrs().getString("approximate", "none");
  if (mode != "none" && mode != "tanh")
    return err(formatv("gelu approximate must be \"none\" or \"tanh\", got \"{0}\"", mode));
  return llvm::Error::success();
}

llvm::Expected<Types> activationRule(const Node &n) {
  if (auto e = expectF32(n, 0))
    return e;
  return Types{n.input(0)->type()};
}

llvm::Expected<Types> broadcastAll(const Node &n, unsigned count) {
  Shape s;
  for (unsigned i = 0; i < count; ++i) {
    if (auto e = expectF32(n, i))
      return e;
    auto b = broadcastShapes(s, n.input(i)->type().shape);
    if (!b)
      return b.takeError();
    s = *b;
  }
  return Types{TensorType(DType::F32, s)};
}


llvm::Error expectScalarGrad(const Node &n, unsigned i) {
  if (n.input(i)->type() != TensorType(DType::F32, {}))
    return err("the incoming gradient must be an f32 scalar");
  return llvm::Error::success();
}

} // namespace

std::optional<llvm::ArrayRef<AttrSpec>> seqOpAttrs(OpKind k) {
  switch (k) {
  case OpKind::LeakyRelu:
  case OpKind::Elu:
    return llvm::ArrayRef<AttrSpec>(kAlphaAttrs);
  case OpKind::Gelu:
    return llvm::ArrayRef<AttrSpec>(kGeluAttrs);
  case OpKind::Pow:
    return llvm::ArrayRef<AttrSpec>(kPowAttrs);
  case OpKind::ActivationGrad:
    return llvm::ArrayRef<AttrSpec>(kActivationGradAttrs);
  case OpKind::ExtremumGrad:
    return llvm::ArrayRef<AttrSpec>(kExtremumGradAttrs);
  case OpKind::Dense:
    return llvm::ArrayRef<AttrSpec>(kDenseAttrs);
  case OpKind::Conv:
    return llvm::ArrayRef<AttrSpec>(kConvLayerAttrs);
  case OpKind::Split:
    return llvm::ArrayRef<AttrSpec>(kSplitAttrs);
  case OpKind::BatchNormLayer:
    return llvm::ArrayRef<AttrSpec>(kBatchNormLayerAttrs);
  case OpKind::ResidualBlock:
    return llvm::ArrayRef<AttrSpec>(kResidualAttrs);
  case OpKind::Rnn:
  case OpKind::Lstm:
  case OpKind::Gru:
    return llvm::ArrayRef<AttrSpec>(kRecurrentAttrs);
  case OpKind::LayerNorm:
  case OpKind::LayerNormRows:
  case OpKind::LayerNormRowsGrad:
  case OpKind::LayerNormRowsGradWeight:
    return llvm::ArrayRef<AttrSpec>(kLayerNormAttrs);
  case OpKind::Embed:
    return llvm::ArrayRef<AttrSpec>(kEmbedAttrs);
  case OpKind::MultiHeadAttention:
    return llvm::ArrayRef<AttrSpec>(kAttentionAttrs);
  case OpKind::TransformerBlock:
    return llvm::ArrayRef<AttrSpec>(kTransformerAttrs);
  case OpKind::Slice:
    return llvm::ArrayRef<AttrSpec>(kSliceAttrs);
  case OpKind::SliceGrad:
    return llvm::ArrayRef<AttrSpec>(kSliceGradAttrs);
  case OpKind::Concat:
    return llvm::ArrayRef<AttrSpec>(kConcatAttrs);
  case OpKind::EmbeddingGrad:
    return llvm::ArrayRef<AttrSpec>(kEmbeddingGradAttrs);
  case OpKind::CausalMask:
    return llvm::ArrayRef<AttrSpec>(kCausalMaskAttrs);
  case OpKind::PositionalEncoding:
    return llvm::ArrayRef<AttrSpec>(kPositionalAttrs);
  case OpKind::Bmm:
    return llvm::ArrayRef<AttrSpec>(kBmmAttrs);
  case OpKind::Embedding:
  case OpKind::Gaussian:
  case OpKind::Softplus:
  case OpKind::Step:
  case OpKind::Maximum:
  case OpKind::Minimum:
  case OpKind::Where:
  case OpKind::BceWithLogits:
  case OpKind::Nll:
  case OpKind::NllGrad:
    return llvm::ArrayRef<AttrSpec>(kNone).drop_front();
  default:
    return std::nullopt;
  }
}

std::optional<OpKind> activationByName(llvm::StringRef name) {
  for (OpKind k : {OpKind::LeakyRelu, OpKind::Gelu, OpKind::Gaussian, OpKind::Elu,
                   OpKind::Softplus})
    if (name == opName(k))
      return k;
  return std::nullopt;
}

// ---- Activations ------------------------------------------------------------

llvm::Expected<Types> shapeRuleLeakyRelu(const Node &n) { return activationRule(n); }
llvm::Expected<Types> shapeRuleGelu(const Node &n) {
  if (auto e = checkGeluMode(n))
    return e;
  return activationRule(n);
}
llvm::Expected<Types> shapeRuleGaussian(const Node &n) { return activationRule(n); }
llvm::Expected<Types> shapeRuleElu(const Node &n) { return activationRule(n); }
llvm::Expected<Types> shapeRuleSoftplus(const Node &n) { return activationRule(n); }
llvm::Expected<Types> shapeRuleStep(const Node &n) { return activationRule(n); }
llvm::Expected<Types> shapeRulePow(const Node &n) { return activationRule(n); }

llvm::Expected<Types> shapeRuleActivationGrad(const Node &n) {
  std::string of = n.attrs().getString("op", "");
  if (!activationByName(of))
    return err(formatv("activation_grad op must be leaky_relu, gelu, gaussian, elu or "
                       "softplus, got \"{0}\"",
                       of));
  if (auto e = checkGeluMode(n))
    return e;
  for (unsigned i = 0; i < 2; ++i)
    if (auto e = expectF32(n, i))
      return e;
  if (n.input(0)->type().shape != n.input(1)->type().shape)
    return err(formatv("operands must have the same shape, got {0} and {1}",
                       n.input(0)->type().str(), n.input(1)->type().str()));
  return Types{n.input(0)->type()};
}

// ---- Selection ----------------------------------------------------------------

llvm::Expected<Types> shapeRuleMaximum(const Node &n) { return broadcastAll(n, 2); }
llvm::Expected<Types> shapeRuleMinimum(const Node &n) { return broadcastAll(n, 2); }
llvm::Expected<Types> shapeRuleWhere(const Node &n) { return broadcastAll(n, 3); }

llvm::Expected<Types> shapeRuleExtremumGrad(const Node &n) {
  std::string of = n.attrs().getString("op", "");
  if (of != "maximum" && of != "minimum")
    return err(formatv("extremum_grad op must be maximum or minimum, got \"{0}\"", of));
  auto t = broadcastAll(n, 2);
  if (!t)
    return t.takeError();
  if (n.input(2)->type() != (*t)[0])
    return err(formatv("dy must have the broadcast shape {0}, got {1}", (*t)[0].str(),
                       n.input(2)->type().str()));
  return t;
}

// ---- Losses -------------------------------------------------------------------

llvm::Expected<Types> shapeRuleBceWithLogits(const Node &n) {
  for (unsigned i = 0; i < 2; ++i)
    if (auto e = expectF32(n, i))
      return e;
  if (n.input(0)->type().shape != n.input(1)->type().shape)
    return err(formatv("logits {0} and targets {1} must have the same shape",
                       n.input(0)->type().str(), n.input(1)->type().str()));
  return Types{TensorType(DType::F32, {})};
}

llvm::Expected<Types> shapeRuleNll(const Node &n) {
  if (auto e = checkClassOperands(n, "log-probabilities"))
    return e;
  return Types{TensorType(DType::F32, {})};
}

llvm::Expected<Types> shapeRuleNllGrad(const Node &n) {
  if (auto e = checkClassOperands(n, "log-probabilities"))
    return e;
  if (auto e = expectScalarGrad(n, 2))
    return e;
  return Types{n.input(0)->type()};
}

// ---- Embedding, slicing, constants -------------------------------------------

/// A fixed-size axis of operand `i` for slice / concat: normalized, not N.
static llvm::Expected<int64_t> fixedAxis(const Node &n, unsigned i) {
  const Shape &s = n.input(i)->type().shape;
  auto axis = normalizeAxis(n.attrs().getInt("axis", 0), static_cast<int64_t>(s.size()));
  if (!axis)
    return axis.takeError();
  if (s[*axis] == kBatch)
    return err(formatv("axis {0} is the batch dimension N, which cannot be {1}", *axis,
                       n.op() == OpKind::Concat ? "joined" : "sliced"));
  return *axis;
}

llvm::Expected<Types> shapeRuleEmbedding(const Node &n) {
  const TensorType &ids = n.input(0)->type();
  const TensorType &table = n.input(1)->type();
  if (ids.dtype != DType::I32)
    return err(formatv("ids (%{0}) must be i32, got {1}", n.input(0)->name(), ids.str()));
  if (table.dtype != DType::F32 || table.rank() != 2 || hasBatch(table.shape))
    return err(formatv("the table (%{0}) must be f32[rows, dim], got {1}",
                       n.input(1)->name(), table.str()));
  Shape out = ids.shape;
  out.push_back(table.shape[1]);
  return Types{TensorType(DType::F32, out)};
}

llvm::Expected<Types> shapeRuleEmbeddingGrad(const Node &n) {
  const TensorType &ids = n.input(0)->type();
  const TensorType &dy = n.input(1)->type();
  int64_t rows = n.attrs().getInt("rows", 0);
  if (rows <= 0)
    return err("embedding_grad rows must be > 0");
  if (ids.dtype != DType::I32 || dy.dtype != DType::F32 || dy.rank() != ids.rank() + 1 ||
      !std::equal(ids.shape.begin(), ids.shape.end(), dy.shape.begin()))
    return err(formatv("expects i32 ids [...] and f32 dy [..., D], got {0} and {1}",
                       ids.str(), dy.str()));
  return Types{TensorType(DType::F32, {rows, dy.shape.back()})};
}

llvm::Expected<Types> shapeRuleSlice(const Node &n) {
  auto axis = fixedAxis(n, 0);
  if (!axis)
    return axis.takeError();
  Shape s = n.input(0)->type().shape;
  int64_t start = n.attrs().getInt("start", 0), end = n.attrs().getInt("end", 0);
  if (start < 0 || end <= start || end > s[*axis])
    return err(formatv("slice [{0}, {1}) is not a non-empty range within axis {2} of "
                       "size {3}",
                       start, end, *axis, s[*axis]));
  s[*axis] = end - start;
  return Types{TensorType(n.input(0)->type().dtype, s)};
}

llvm::Expected<Types> shapeRuleSliceGrad(const Node &n) {
  if (auto e = expectF32(n, 0))
    return e;
  auto axis = fixedAxis(n, 0);
  if (!axis)
    return axis.takeError();
  Shape s = n.input(0)->type().shape;
  int64_t start = n.attrs().getInt("start", 0), size = n.attrs().getInt("size", 0);
  if (start < 0 || start + s[*axis] > size)
    return err(formatv("slice_grad: [{0}, {1}) does not fit in size {2}", start,
                       start + s[*axis], size));
  s[*axis] = size;
  return Types{TensorType(DType::F32, s)};
}

llvm::Expected<Types> shapeRuleConcat(const Node &n) {
  auto axis = fixedAxis(n, 0);
  if (!axis)
    return axis.takeError();
  TensorType out = n.input(0)->type();
  for (unsigned i = 1; i < n.inputs().size(); ++i) {
    const TensorType &t = n.input(i)->type();
    Shape a = out.shape, b = t.shape;
    if (t.dtype != out.dtype || a.size() != b.size())
      return err(formatv("operand {0} ({1}) does not match operand 0 ({2}) in dtype and rank",
                         i, t.str(), n.input(0)->type().str()));
    a[*axis] = b[*axis] = 0;
    if (a != b)
      return err(formatv("operand {0} ({1}) differs from operand 0 ({2}) outside axis {3}",
                         i, t.str(), n.input(0)->type().str(), *axis));
    out.shape[*axis] += t.shape[*axis];
  }
  return Types{out};
}

llvm::Expected<Types> shapeRuleCausalMask(const Node &n) {
  int64_t t = n.attrs().getInt("size", 0);
  if (t <= 0)
    return err(formatv("causal_mask size must be > 0, got {0}", t));
  return Types{TensorType(DType::F32, {t, t})};
}

llvm::Expected<Types> shapeRulePositionalEncoding(const Node &n) {
  int64_t t = n.attrs().getInt("length", 0), d = n.attrs().getInt("dim", 0);
  if (t <= 0 || d <= 0)
    return err(formatv("positional_encoding length and dim must be > 0, got {0} and {1}", t,
                       d));
  return Types{TensorType(DType::F32, {t, d})};
}

llvm::Expected<Types> shapeRuleBmm(const Node &n) {
  for (unsigned i = 0; i < 2; ++i)
    if (auto e = expectF32(n, i))
      return e;
  const Shape &a = n.input(0)->type().shape, &b = n.input(1)->type().shape;
  if (a.size() < 2 || b.size() < 2 || std::max(a.size(), b.size()) < 3)
    return err(formatv("bmm expects operands [..., M, K] and [..., K, P] of rank >= 2 (one of "
                       "rank >= 3), got {0} and {1}",
                       shapeToString(a), shapeToString(b)));
  auto lead = broadcastShapes(Shape(a.begin(), a.end() - 2), Shape(b.begin(), b.end() - 2));
  if (!lead)
    return err(formatv("bmm: the leading dimensions of {0} and {1} do not broadcast",
                       shapeToString(a), shapeToString(b)));
  bool ta = n.attrs().getInt("transpose_a", 0), tb = n.attrs().getInt("transpose_b", 0);
  size_t ra = a.size(), rb = b.size();
  int64_t m = ta ? a[ra - 1] : a[ra - 2], ka = ta ? a[ra - 2] : a[ra - 1];
  int64_t kb = tb ? b[rb - 1] : b[rb - 2], p = tb ? b[rb - 2] : b[rb - 1];
  for (int64_t d : {m, ka, kb, p})
    if (d == kBatch)
      return err("bmm: the batch dimension N may only be a leading dimension");
  bool broadcasts = Shape(a.begin(), a.end() - 2) != *lead || Shape(b.begin(), b.end() - 2) != *lead;
  for (size_t i = 1; i < lead->size() && broadcasts; ++i)
    if ((*lead)[i] == kBatch)
      return err("bmm: when the leading dimensions broadcast, the batch dimension N may only "
                 "be the first");
  if (ka != kb)
    return err(formatv("bmm inner dimensions do not match: {0} vs {1}", ka, kb));
  Shape out = *lead;
  out.push_back(m);
  out.push_back(p);
  return Types{TensorType(DType::F32, out)};
}

llvm::Expected<Shape> layerNormRowShape(const Node &n) {
  if (auto e = expectF32(n, 0))
    return e;
  const TensorType &x = n.input(0)->type();
  int64_t dims = n.attrs().getInt("dims", 1);
  if (dims < 1 || dims > x.rank())
    return err(formatv("{0} dims must be in [1, {1}] for {2}, got {3}", n.info().name,
                       x.rank(), x.str(), dims));
  Shape row(x.shape.end() - dims, x.shape.end());
  for (int64_t d : row)
    if (d == kBatch)
      return err(formatv("{0} cannot normalize over the batch dimension N", n.info().name));
  if (n.attrs().getFloat("eps", 1e-5) <= 0)
    return err(formatv("{0} eps must be > 0", n.info().name));
  return row;
}

llvm::Expected<Types> shapeRuleLayerNormRows(const Node &n) {
  auto row = layerNormRowShape(n);
  if (!row)
    return row.takeError();
  for (unsigned i : {1u, 2u})
    if (auto e = expectValueType(n.input(i), TensorType(DType::F32, *row),
                              i == 1 ? "weight" : "bias"))
      return e;
  return Types{n.input(0)->type()};
}

llvm::Expected<Types> shapeRuleLayerNormRowsGrad(const Node &n) {
  auto row = layerNormRowShape(n);
  if (!row)
    return row.takeError();
  if (auto e = expectValueType(n.input(1), TensorType(DType::F32, *row), "weight"))
    return e;
  if (auto e = expectValueType(n.input(2), n.input(0)->type(), "gradient"))
    return e;
  return Types{n.input(0)->type()};
}

llvm::Expected<Types> shapeRuleLayerNormRowsGradWeight(const Node &n) {
  auto row = layerNormRowShape(n);
  if (!row)
    return row.takeError();
  if (auto e = expectValueType(n.input(1), n.input(0)->type(), "gradient"))
    return e;
  return Types{TensorType(DType::F32, *row)};
}

std::vector<int64_t> bmmBatchStrides(const Shape &operand, const Shape &outLead) {
  size_t r = operand.size(), lead = r - 2, k = outLead.size();
  std::vector<int64_t> strides(k, 0);
  int64_t stride = operand[r - 2] * operand[r - 1];
  for (size_t i = 0; i < lead; ++i) {
    size_t d = lead - 1 - i;  // operand dim, from the last leading one
    size_t o = k - 1 - i;     // the output dim it aligns with
    if (operand[d] == outLead[o] && !(operand[d] == 1 && outLead[o] != 1))
      strides[o] = stride;
    stride *= operand[d] == kBatch ? 1 : operand[d]; // N is first: nothing after it
  }
  return strides;
}

} // namespace gradc::ir
