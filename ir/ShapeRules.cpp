//===- ir/ShapeRules.cpp - Result types of every op -------------*- C++ -*-===//
//
// Each rule reads its node's input types and attributes and returns result
// types, or an error that names the cause (the caller adds the node). Rules
// assume arity and attribute kinds were checked (checkAttrs in OpInfo.cpp).
//
//===----------------------------------------------------------------------===//
#include "ir/ShapeRules.h"

#include "llvm/Support/FormatVariadic.h"

#include <algorithm>

namespace gradc::ir {

using Types = llvm::SmallVector<TensorType, 1>;
using llvm::formatv;

llvm::Error shapeRuleError(const llvm::Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), msg);
}

static llvm::Error err(const llvm::Twine &msg) { return shapeRuleError(msg); }

static std::string dimText(int64_t d) { return d == kBatch ? "N" : std::to_string(d); }

llvm::Error expectF32Input(const Node &n, unsigned i) {
  const TensorType &t = n.input(i)->type();
  if (t.dtype != DType::F32)
    return err(formatv("input {0} (%{1}) must be f32, got {2}", i, n.input(i)->name(),
                       t.str()));
  return llvm::Error::success();
}

llvm::Error expectValueType(const Value *v, const TensorType &t, const char *what) {
  if (v->type() != t)
    return err(formatv("{0} %{1} must be {2}, got {3}", what, v->name(), t.str(),
                       v->type().str()));
  return llvm::Error::success();
}

static llvm::Error expectF32(const Node &n, unsigned i) { return expectF32Input(n, i); }

llvm::Expected<Shape> broadcastShapes(const Shape &a, const Shape &b) {
  size_t rank = std::max(a.size(), b.size());
  Shape out(rank);
  for (size_t i = 0; i < rank; ++i) {
    int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da == db || db == 1)
      out[i] = da;
    else if (da == 1)
      out[i] = db;
    else
      return err(formatv("shapes {0} and {1} do not broadcast (dimension {2}: {3} vs {4})",
                         shapeToString(a), shapeToString(b), i, dimText(da), dimText(db)));
  }
  return out;
}

llvm::Expected<int64_t> normalizeAxis(int64_t axis, int64_t rank) {
  int64_t a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank)
    return err(formatv("axis {0} is out of range for rank {1}", axis, rank));
  return a;
}

llvm::Expected<std::vector<int64_t>> normalizeAxes(const std::vector<int64_t> &axes,
                                                   int64_t rank) {
  std::vector<int64_t> out;
  if (axes.empty()) {
    for (int64_t i = 0; i < rank; ++i)
      out.push_back(i);
    return out;
  }
  for (int64_t a : axes) {
    auto n = normalizeAxis(a, rank);
    if (!n)
      return n.takeError();
    out.push_back(*n);
  }
  std::sort(out.begin(), out.end());
  if (std::adjacent_find(out.begin(), out.end()) != out.end())
    return err("axes contain a duplicate");
  return out;
}

Shape reducedShape(const Shape &in, const std::vector<int64_t> &axes, bool keepdims) {
  Shape out;
  for (int64_t i = 0; i < static_cast<int64_t>(in.size()); ++i) {
    bool reduced = std::find(axes.begin(), axes.end(), i) != axes.end();
    if (!reduced)
      out.push_back(in[i]);
    else if (keepdims)
      out.push_back(1);
  }
  return out;
}

llvm::Expected<Shape> resolveReshape(const Shape &in, const std::vector<int64_t> &target) {
  int inferAt = -1;
  int64_t known = 1;
  for (size_t i = 0; i < target.size(); ++i) {
    if (target[i] == -1) {
      if (inferAt >= 0)
        return err("reshape target has more than one -1");
      inferAt = static_cast<int>(i);
    } else if (target[i] <= 0) {
      return err(formatv("reshape target dimension {0} is {1}; expected > 0 or -1", i,
                         target[i]));
    } else {
      known *= target[i];
    }
  }
  int64_t inStatic = staticNumel(in);
  Shape out(target.begin(), target.end());
  if (hasBatch(in)) {
    if (inferAt < 0 || inStatic != known)
      return err(formatv("cannot reshape {0} to {1}: the batch dimension N must stay a "
                         "dimension of its own (write -1 for it)",
                         shapeToString(in), shapeToString(Shape(target.begin(), target.end()))));
    out[inferAt] = kBatch;
    return out;
  }
  if (inferAt >= 0) {
    if (known == 0 || inStatic % known != 0)
      return err(formatv("cannot reshape {0} ({1} elements) to {2}", shapeToString(in),
                         inStatic, shapeToString(out)));
    out[inferAt] = inStatic / known;
  } else if (known != inStatic) {
    return err(formatv("cannot reshape {0} ({1} elements) to {2} ({3} elements)",
                       shapeToString(in), inStatic, shapeToString(out), known));
  }
  return out;
}

// ---- Linear algebra ---------------------------------------------------------

llvm::Expected<Types> shapeRuleMatMul(const Node &n) {
  // Rank-2 operands, or operands of higher rank read as their 2-D views
  // [prod(leading dims), last dim]. Without transpose_a the leading dims of
  // a stay in the result (a dense layer at every position: [N,T,E] x [E,H]
  // -> [N,T,H]) and b must be rank 2; with transpose_a the leading dims are
  // contracted, so b (not transposed) must have the same leading dims
  // ([N,T,E]^T x [N,T,H] -> [E,H], that layer's weight gradient).
  for (unsigned i = 0; i < 2; ++i)
    if (auto e = expectF32(n, i))
      return e;
  const Shape &a = n.input(0)->type().shape;
  const Shape &b = n.input(1)->type().shape;
  bool ta = n.attrs().getInt("transpose_a", 0), tb = n.attrs().getInt("transpose_b", 0);
  if (a.size() < 2 || b.size() < 2)
    return err(formatv("matmul expects operands of rank >= 2, got {0} and {1}",
                       shapeToString(a), shapeToString(b)));
  Shape lead(a.begin(), a.end() - 1);
  if (b.size() > 2 && !(a.size() > 2 && ta && !tb && Shape(b.begin(), b.end() - 1) == lead))
    return err(formatv("matmul: {0} x {1}: the second operand may have rank > 2 only when "
                       "transpose_a contracts the same leading dimensions",
                       shapeToString(a), shapeToString(b)));
  if (a.size() > 2 && ta && b.size() == 2)
    return err(formatv("matmul: transpose_a of rank-{0} {1} contracts its leading "
                       "dimensions, so the second operand must have them too, got {2}",
                       a.size(), shapeToString(a), shapeToString(b)));
  if (b.size() > 2) // [..., K]^T x [..., Nn] -> [K, Nn]
    return Types{TensorType(DType::F32, {a.back(), b.back()})};
  int64_t ka = ta ? a[0] : a.back();
  int64_t kb = tb ? b[1] : b[0], nn = tb ? b[0] : b[1];
  if (ka != kb)
    return err(formatv("inner dimensions do not match: {0}{1} x {2}{3} ({4} vs {5})",
                       shapeToString(a), ta ? "^T" : "", shapeToString(b), tb ? "^T" : "",
                       dimText(ka), dimText(kb)));
  Shape out = ta ? Shape{a[1]} : lead;
  out.push_back(nn);
  return Types{TensorType(DType::F32, out)};
}

// ---- Elementwise ------------------------------------------------------------

static llvm::Expected<Types> broadcastRule(const Node &n) {
  for (unsigned i = 0; i < 2; ++i)
    if (auto e = expectF32(n, i))
      return e;
  auto s = broadcastShapes(n.input(0)->type().shape, n.input(1)->type().shape);
  if (!s)
    return s.takeError();
  return Types{TensorType(DType::F32, *s)};
}
llvm::Expected<Types> shapeRuleAdd(const Node &n) { return broadcastRule(n); }
llvm::Expected<Types> shapeRuleSub(const Node &n) { return broadcastRule(n); }
llvm::Expected<Types> shapeRuleMul(const Node &n) { return broadcastRule(n); }
llvm::Expected<Types> shapeRuleDiv(const Node &n) { return broadcastRule(n); }

static llvm::Expected<Types> unaryRule(const Node &n) {
  if (auto e = expectF32(n, 0))
    return e;
  return Types{n.input(0)->type()};
}
llvm::Expected<Types> shapeRuleNeg(const Node &n) { return unaryRule(n); }
llvm::Expected<Types> shapeRuleRelu(const Node &n) { return unaryRule(n); }
llvm::Expected<Types> shapeRuleSigmoid(const Node &n) { return unaryRule(n); }
llvm::Expected<Types> shapeRuleTanh(const Node &n) { return unaryRule(n); }
llvm::Expected<Types> shapeRuleExp(const Node &n) { return unaryRule(n); }
llvm::Expected<Types> shapeRuleLog(const Node &n) { return unaryRule(n); }
llvm::Expected<Types> shapeRuleSqrt(const Node &n) { return unaryRule(n); }

/// (value, dy) pairs of the same f32 type: the elementwise gradient kernels.
static llvm::Expected<Types> sameTypePairRule(const Node &n) {
  for (unsigned i = 0; i < 2; ++i)
    if (auto e = expectF32(n, i))
      return e;
  if (n.input(0)->type().shape != n.input(1)->type().shape)
    return err(formatv("operands must have the same shape, got {0} and {1}",
                       n.input(0)->type().str(), n.input(1)->type().str()));
  return Types{n.input(0)->type()};
}
llvm::Expected<Types> shapeRuleReluGrad(const Node &n) { return sameTypePairRule(n); }
llvm::Expected<Types> shapeRuleSigmoidGrad(const Node &n) { return sameTypePairRule(n); }
llvm::Expected<Types> shapeRuleTanhGrad(const Node &n) { return sameTypePairRule(n); }

// ---- Softmax family ---------------------------------------------------------

static llvm::Error checkAxis(const Node &n) {
  auto a = normalizeAxis(n.attrs().getInt("axis", -1), n.input(0)->type().rank());
  return a ? llvm::Error::success() : a.takeError();
}

llvm::Expected<Types> shapeRuleSoftmax(const Node &n) {
  if (auto e = expectF32(n, 0))
    return e;
  if (auto e = checkAxis(n))
    return e;
  return Types{n.input(0)->type()};
}
llvm::Expected<Types> shapeRuleLogSoftmax(const Node &n) { return shapeRuleSoftmax(n); }

llvm::Expected<Types> shapeRuleSoftmaxGrad(const Node &n) {
  auto t = sameTypePairRule(n);
  if (!t)
    return t.takeError();
  if (auto e = checkAxis(n))
    return e;
  return t;
}
llvm::Expected<Types> shapeRuleLogSoftmaxGrad(const Node &n) {
  return shapeRuleSoftmaxGrad(n);
}

// ---- Losses -----------------------------------------------------------------

llvm::Error checkClassOperands(const Node &n, llvm::StringRef what) {
  if (auto e = expectF32(n, 0))
    return e;
  const TensorType &x = n.input(0)->type();
  const TensorType &labels = n.input(1)->type();
  if (labels.dtype != DType::I32)
    return err(formatv("labels (%{0}) must be i32 class indices, got {1}",
                       n.input(1)->name(), labels.str()));
  if (x.rank() < 1)
    return err(formatv("{0} must have a class axis (rank >= 1)", what));
  Shape expect(x.shape.begin(), x.shape.end() - 1);
  if (labels.shape != expect)
    return err(formatv("labels shape {0} does not match {1} {2} without the class "
                       "axis (expected {3})",
                       shapeToString(labels.shape), what, shapeToString(x.shape),
                       shapeToString(expect)));
  return llvm::Error::success();
}

llvm::Expected<Types> shapeRuleSoftmaxCrossEntropy(const Node &n) {
  if (auto e = checkClassOperands(n, "logits"))
    return e;
  return Types{TensorType(DType::F32, {})};
}

llvm::Expected<Types> shapeRuleSoftmaxCrossEntropyGrad(const Node &n) {
  if (auto e = checkClassOperands(n, "logits"))
    return e;
  if (n.input(2)->type() != TensorType(DType::F32, {}))
    return err("the incoming gradient must be an f32 scalar");
  return Types{n.input(0)->type()};
}

llvm::Expected<Types> shapeRuleMse(const Node &n) {
  if (auto e = sameTypePairRule(n).takeError())
    return e;
  return Types{TensorType(DType::F32, {})};
}

llvm::Expected<Types> shapeRuleMseGrad(const Node &n) {
  auto t = sameTypePairRule(n);
  if (!t)
    return t.takeError();
  if (n.input(2)->type() != TensorType(DType::F32, {}))
    return err("the incoming gradient must be an f32 scalar");
  return t;
}

// ---- Reductions -------------------------------------------------------------

static llvm::Expected<Types> reduceRule(const Node &n) {
  if (auto e = expectF32(n, 0))
    return e;
  const Shape &in = n.input(0)->type().shape;
  auto axes = normalizeAxes(n.attrs().getInts("axes"), static_cast<int64_t>(in.size()));
  if (!axes)
    return axes.takeError();
  return Types{TensorType(DType::F32,
                          reducedShape(in, *axes, n.attrs().getInt("keepdims", 0) != 0))};
}
llvm::Expected<Types> shapeRuleReduceSum(const Node &n) { return reduceRule(n); }
llvm::Expected<Types> shapeRuleReduceMean(const Node &n) { return reduceRule(n); }

llvm::Expected<Types> shapeRuleNumel(const Node &n) {
  auto axes = normalizeAxes(n.attrs().getInts("axes"), n.input(0)->type().rank());
  if (!axes)
    return axes.takeError();
  return Types{TensorType(DType::F32, {})};
}

// ---- Data movement ----------------------------------------------------------

llvm::Expected<Types> shapeRuleReshape(const Node &n) {
  if (!n.attrs().has("shape"))
    return err("reshape needs attribute 'shape'");
  auto s = resolveReshape(n.input(0)->type().shape, n.attrs().getInts("shape"));
  if (!s)
    return s.takeError();
  return Types{TensorType(n.input(0)->type().dtype, *s)};
}

llvm::Expected<Types> shapeRuleTranspose(const Node &n) {
  const Shape &in = n.input(0)->type().shape;
  int64_t rank = static_cast<int64_t>(in.size());
  std::vector<int64_t> perm = n.attrs().getInts("perm");
  if (perm.empty())
    for (int64_t i = rank - 1; i >= 0; --i)
      perm.push_back(i);
  if (static_cast<int64_t>(perm.size()) != rank)
    return err(formatv("perm has {0} entries for a rank-{1} input", perm.size(), rank));
  std::vector<bool> seen(rank, false);
  Shape out;
  for (int64_t p : perm) {
    if (p < 0 || p >= rank || seen[p])
      return err("perm must be a permutation of 0..rank-1");
    seen[p] = true;
    out.push_back(in[p]);
  }
  return Types{TensorType(n.input(0)->type().dtype, out)};
}

llvm::Expected<Types> shapeRuleBroadcastTo(const Node &n) {
  if (auto e = expectF32(n, 0))
    return e;
  if (!n.attrs().has("shape"))
    return err("broadcast_to needs attribute 'shape'");
  std::vector<int64_t> tgt = n.attrs().getInts("shape");
  Shape target(tgt.begin(), tgt.end());
  for (int64_t d : target)
    if (d <= 0 && d != kBatch)
      return err("broadcast_to shape entries must be > 0 or -1 (N)");
  auto s = broadcastShapes(n.input(0)->type().shape, target);
  if (!s)
    return s.takeError();
  if (*s != target)
    return err(formatv("cannot broadcast {0} to {1}", n.input(0)->type().str(),
                       shapeToString(target)));
  return Types{TensorType(DType::F32, target)};
}

llvm::Expected<Types> shapeRuleConstant(const Node &n) {
  std::vector<int64_t> dims = n.attrs().getInts("shape");
  int batchDims = 0;
  for (int64_t d : dims) {
    if (d == kBatch)
      ++batchDims;
    else if (d <= 0)
      return err("constant shape entries must be > 0 or -1 (N)");
  }
  if (batchDims > 1)
    return err("constant shape may name the batch dimension (-1) once");
  return Types{TensorType(DType::F32, Shape(dims.begin(), dims.end()))};
}

} // namespace gradc::ir
