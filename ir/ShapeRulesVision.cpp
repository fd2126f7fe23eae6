//===- ir/ShapeRulesVision.cpp - Geometry and shapes of the NCHW ops ----===//
//
// conv2d, pooling, global_avg_pool and flatten. Images are NCHW: the batch
// (usually N) first, then channels and a static height and width. Every
// rule that involves a window goes through convGeom / poolGeom (Vision.h),
// which also carry the checks a bad model trips: a channel count that does
// not match the weight or is not divisible by groups, a window larger than
// the padded input, a zero stride.
//
//===----------------------------------------------------------------------===//
#include "ir/ShapeRules.h"
#include "ir/Vision.h"

#include "llvm/Support/FormatVariadic.h"

namespace gradc::ir {

using Types = llvm::SmallVector<TensorType, 1>;
using llvm::formatv;

static llvm::Error err(const llvm::Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), msg);
}

std::array<int64_t, 2> pairAttr(const Attrs &a, const std::string &name,
                                std::array<int64_t, 2> dflt) {
  const AttrValue *v = a.get(name);
  if (!v)
    return dflt;
  if (auto *i = std::get_if<int64_t>(v))
    return {*i, *i};
  if (auto *l = std::get_if<std::vector<int64_t>>(v)) {
    if (l->size() == 1)
      return {(*l)[0], (*l)[0]};
    if (l->size() == 2)
      return {(*l)[0], (*l)[1]};
  }
  return {-1, -1}; // rejected by checkPairs
}

/// Attributes that must be [h, w] pairs (or one int) with entries >= `min`.
static llvm::Error checkPair(const Node &n, const char *name, int64_t min) {
  const AttrValue *v = n.attrs().get(name);
  if (!v)
    return llvm::Error::success();
  if (auto *l = std::get_if<std::vector<int64_t>>(v))
    if (l->empty() || l->size() > 2)
      return err(formatv("attribute '{0}' must be one int or [h, w], got {1} values", name,
                         l->size()));
  auto p = pairAttr(n.attrs(), name, {0, 0});
  if (p[0] < min || p[1] < min)
    return err(formatv("attribute '{0}' must be >= {1}, got [{2}, {3}]", name, min, p[0],
                       p[1]));
  return llvm::Error::success();
}

/// x must be f32 [N or n, C, H, W] with static C, H, W.
static llvm::Error checkImage(const Value *x, const char *what) {
  const TensorType &t = x->type();
  if (t.dtype != DType::F32 || t.rank() != 4)
    return err(formatv("{0} %{1} must be an f32 NCHW image [N,C,H,W], got {2}", what,
                       x->name(), t.str()));
  for (int i = 1; i < 4; ++i)
    if (t.shape[i] == kBatch)
      return err(formatv("{0} %{1}: only the first dimension may be N, got {2}", what,
                         x->name(), t.str()));
  return llvm::Error::success();
}

/// out = floor((in + 2p - d(k-1) - 1) / s) + 1, or an error when the
/// (dilated) window does not fit the padded input.
static llvm::Expected<int64_t> outSize(const char *axis, int64_t in, int64_t k, int64_t s,
                                       int64_t p, int64_t d) {
  int64_t extent = d * (k - 1) + 1;
  if (extent > in + 2 * p)
    return err(formatv("kernel {0} {1}{2} is larger than the padded input {0} {3} "
                       "({4} + 2 * padding {5})",
                       axis, k, d > 1 ? formatv(" (dilated: {0})", extent).str() : "",
                       in + 2 * p, in, p));
  return (in + 2 * p - extent) / s + 1;
}

llvm::Expected<ConvGeom> convGeom(const Node &n) {
  const Value *x, *w;
  switch (n.op()) {
  case OpKind::Conv2dGradInput: // (dy, w, x)
    x = n.input(2), w = n.input(1);
    break;
  case OpKind::Conv2dGradWeight: // (x, dy, w)
    x = n.input(0), w = n.input(2);
    break;
  default: // conv2d (x, w[, b])
    x = n.input(0), w = n.input(1);
  }
  if (auto e = checkImage(x, "input"))
    return std::move(e);
  const TensorType &wt = w->type();
  if (wt.dtype != DType::F32 || wt.rank() != 4 || hasBatch(wt.shape))
    return err(formatv("weight %{0} must be f32 [O, C/groups, KH, KW], got {1}", w->name(),
                       wt.str()));
  const Shape &ws = wt.shape;
  return convGeomOf(n, x->type().shape, ws[0], ws[2], ws[3], "the output channels",
                    [&](const ConvGeom &g) -> llvm::Error {
    if (ws[1] != g.cg)
      return err(formatv("channel mismatch: input %{0} has {1} channels, so weight %{2} "
                         "{3} needs {4} (= {1} / groups {5}) in dimension 1",
                         x->name(), g.c, w->name(), wt.str(), g.cg, g.groups));
    return llvm::Error::success();
  });
}

llvm::Expected<ConvGeom> convGeomOf(const Node &n, const Shape &xs, int64_t o, int64_t kh,
                                    int64_t kw, const char *outName,
                                    llvm::function_ref<llvm::Error(const ConvGeom &)> check) {
  for (const char *a : {"stride", "dilation"})
    if (auto e = checkPair(n, a, 1))
      return std::move(e);
  if (auto e = checkPair(n, "padding", 0))
    return std::move(e);
  ConvGeom g;
  g.c = xs[1], g.h = xs[2], g.w = xs[3];
  g.o = o, g.kh = kh, g.kw = kw;
  g.groups = n.attrs().getInt("groups", 1);
  if (g.groups < 1)
    return err(formatv("groups must be >= 1, got {0}", g.groups));
  if (g.c % g.groups || g.o % g.groups)
    return err(formatv("groups {0} must divide the input channels ({1}) and {2} ({3})",
                       g.groups, g.c, outName, g.o));
  g.cg = g.c / g.groups, g.og = g.o / g.groups;
  if (check)
    if (auto e = check(g))
      return std::move(e);
  auto s = pairAttr(n.attrs(), "stride", {1, 1});
  auto p = pairAttr(n.attrs(), "padding", {0, 0});
  auto d = pairAttr(n.attrs(), "dilation", {1, 1});
  g.sh = s[0], g.sw = s[1], g.ph = p[0], g.pw = p[1], g.dh = d[0], g.dw = d[1];
  auto oh = outSize("height", g.h, g.kh, g.sh, g.ph, g.dh);
  if (!oh)
    return oh.takeError();
  auto ow = outSize("width", g.w, g.kw, g.sw, g.pw, g.dw);
  if (!ow)
    return ow.takeError();
  g.oh = *oh, g.ow = *ow;
  return g;
}

llvm::Expected<PoolGeom> poolGeom(const Node &n) {
  const Value *x = n.input(0);
  if (auto e = checkImage(x, "input"))
    return std::move(e);
  if (auto e = checkPair(n, "kernel", 1))
    return std::move(e);
  if (auto e = checkPair(n, "stride", 1))
    return std::move(e);
  if (auto e = checkPair(n, "padding", 0))
    return std::move(e);
  PoolGeom g;
  const Shape &xs = x->type().shape;
  g.c = xs[1], g.h = xs[2], g.w = xs[3];
  auto k = pairAttr(n.attrs(), "kernel", {1, 1});
  auto s = pairAttr(n.attrs(), "stride", k); // PyTorch: stride defaults to kernel
  auto p = pairAttr(n.attrs(), "padding", {0, 0});
  g.kh = k[0], g.kw = k[1], g.sh = s[0], g.sw = s[1], g.ph = p[0], g.pw = p[1];
  if (2 * g.ph > g.kh || 2 * g.pw > g.kw)
    return err(formatv("padding [{0}, {1}] must be at most half the kernel [{2}, {3}]", g.ph,
                       g.pw, g.kh, g.kw));
  auto oh = outSize("height", g.h, g.kh, g.sh, g.ph, 1);
  if (!oh)
    return oh.takeError();
  auto ow = outSize("width", g.w, g.kw, g.sw, g.pw, 1);
  if (!ow)
    return ow.takeError();
  g.oh = *oh, g.ow = *ow;
  return g;
}

// ---- Shape rules ------------------------------------------------------------

llvm::Expected<Types> shapeRuleConv2d(const Node &n) {
  auto g = convGeom(n);
  if (!g)
    return g.takeError();
  if (n.inputs().size() == 3) {
    const TensorType &b = n.input(2)->type();
    if (b != TensorType(DType::F32, {g->o}))
      return err(formatv("bias %{0} must be f32[{1}] (one per output channel), got {2}",
                         n.input(2)->name(), g->o, b.str()));
  }
  int64_t batch = n.input(0)->type().shape[0];
  return Types{TensorType(DType::F32, {batch, g->o, g->oh, g->ow})};
}

/// dy of a conv2d must have the forward result's shape.
static llvm::Error checkConvDy(const Node &n, const Value *x, const Value *dy,
                               const ConvGeom &g) {
  Shape want{x->type().shape[0], g.o, g.oh, g.ow};
  if (dy->type() != TensorType(DType::F32, want))
    return err(formatv("gradient %{0} must be f32{1}, got {2}", dy->name(),
                       shapeToString(want), dy->type().str()));
  return llvm::Error::success();
}

llvm::Expected<Types> shapeRuleConv2dGradInput(const Node &n) {
  auto g = convGeom(n);
  if (!g)
    return g.takeError();
  if (auto e = checkConvDy(n, n.input(2), n.input(0), *g))
    return std::move(e);
  return Types{n.input(2)->type()};
}

llvm::Expected<Types> shapeRuleConv2dGradWeight(const Node &n) {
  auto g = convGeom(n);
  if (!g)
    return g.takeError();
  if (auto e = checkConvDy(n, n.input(0), n.input(1), *g))
    return std::move(e);
  return Types{n.input(2)->type()};
}

static llvm::Expected<Types> poolRule(const Node &n) {
  auto g = poolGeom(n);
  if (!g)
    return g.takeError();
  int64_t batch = n.input(0)->type().shape[0];
  return Types{TensorType(DType::F32, {batch, g->c, g->oh, g->ow})};
}
llvm::Expected<Types> shapeRuleMaxPool2d(const Node &n) { return poolRule(n); }
llvm::Expected<Types> shapeRuleAvgPool2d(const Node &n) { return poolRule(n); }

/// (x, dy) -> dx: dy must have the pooled shape.
static llvm::Expected<Types> poolGradRule(const Node &n) {
  auto y = poolRule(n);
  if (!y)
    return y.takeError();
  if (n.input(1)->type() != (*y)[0])
    return err(formatv("gradient %{0} must be {1}, got {2}", n.input(1)->name(),
                       (*y)[0].str(), n.input(1)->type().str()));
  return Types{n.input(0)->type()};
}
llvm::Expected<Types> shapeRuleMaxPool2dGrad(const Node &n) { return poolGradRule(n); }
llvm::Expected<Types> shapeRuleAvgPool2dGrad(const Node &n) { return poolGradRule(n); }

llvm::Expected<Types> shapeRuleGlobalAvgPool(const Node &n) {
  if (auto e = checkImage(n.input(0), "input"))
    return std::move(e);
  const Shape &s = n.input(0)->type().shape;
  return Types{TensorType(DType::F32, {s[0], s[1]})};
}

llvm::Expected<Types> shapeRuleFlatten(const Node &n) {
  const TensorType &t = n.input(0)->type();
  if (t.rank() < 2)
    return err(formatv("flatten needs rank >= 2 ([N, ...]), got {0}", t.str()));
  Shape rest(t.shape.begin() + 1, t.shape.end());
  if (hasBatch(rest))
    return err(formatv("flatten: only the first dimension may be N, got {0}", t.str()));
  return Types{TensorType(t.dtype, {t.shape[0], staticNumel(rest)})};
}

} // namespace gradc::ir

namespace gradc::ir {

// ---- Train/eval ops -----------------------------------------------------------

llvm::Expected<llvm::SmallVector<TensorType, 1>> shapeRuleBatchNorm(const Node &n) {
  const TensorType &x = n.input(0)->type();
  if (x.dtype != DType::F32 || (x.rank() != 2 && x.rank() != 4))
    return err(formatv("batch_norm input %{0} must be f32 [N,C] or [N,C,H,W], got {1}",
                       n.input(0)->name(), x.str()));
  if (x.shape[1] == kBatch || (x.rank() == 4 && hasBatch(Shape(x.shape.begin() + 2, x.shape.end()))))
    return err(formatv("batch_norm: only the first dimension may be N, got {0}", x.str()));
  const char *what[] = {"", "scale (gamma)", "shift (beta)", "running_mean", "running_var"};
  for (unsigned i = 1; i < 5; ++i)
    if (n.input(i)->type() != TensorType(DType::F32, {x.shape[1]}))
      return err(formatv("batch_norm {0} %{1} must be f32[{2}] (one per channel), got {3}",
                         what[i], n.input(i)->name(), x.shape[1], n.input(i)->type().str()));
  double eps = n.attrs().getFloat("eps", 1e-5), m = n.attrs().getFloat("momentum", 0.1);
  if (!(eps > 0))
    return err(formatv("batch_norm eps must be > 0, got {0}", eps));
  if (!(m >= 0 && m <= 1))
    return err(formatv("batch_norm momentum must be in [0, 1], got {0}", m));
  return Types{x};
}

static llvm::Error checkDropoutP(const Node &n) {
  double p = n.attrs().getFloat("p", 0.5);
  if (!(p >= 0 && p < 1))
    return err(formatv("dropout p must be in [0, 1), got {0}", p));
  return llvm::Error::success();
}

llvm::Expected<llvm::SmallVector<TensorType, 1>> shapeRuleDropout(const Node &n) {
  if (n.input(0)->type().dtype != DType::F32)
    return err("dropout input must be f32");
  if (auto e = checkDropoutP(n))
    return std::move(e);
  return Types{n.input(0)->type()};
}

llvm::Expected<llvm::SmallVector<TensorType, 1>> shapeRuleDropoutTrain(const Node &n) {
  if (n.input(1)->type() != TensorType(DType::F32, {}))
    return err("dropout_train's second input must be the f32 scalar step");
  return shapeRuleDropout(n);
}

} // namespace gradc::ir

namespace gradc::ir {

/// x of the training batch-norm kernels: f32 [N,C] or [N,C,H,W], static C, H, W.
static llvm::Expected<int64_t> bnChannels(const Value *x) {
  const TensorType &t = x->type();
  if (t.dtype != DType::F32 || (t.rank() != 2 && t.rank() != 4) ||
      hasBatch(Shape(t.shape.begin() + 1, t.shape.end())))
    return err(formatv("input %{0} must be f32 [N,C] or [N,C,H,W] (only N symbolic), got {1}",
                       x->name(), t.str()));
  return t.shape[1];
}

/// The channel count of batch_stats' result [4, C].
static llvm::Expected<int64_t> statsChannels(const Value *stats) {
  const TensorType &t = stats->type();
  if (t.dtype != DType::F32 || t.rank() != 2 || t.shape[0] != 4 || t.shape[1] < 0)
    return err(formatv("statistics %{0} must be f32 [4,C] (batch_stats), got {1}", stats->name(),
                       t.str()));
  return t.shape[1];
}

/// Checks that `stats` is [4, C] for C = the channels of `x`.
static llvm::Expected<int64_t> bnChannelsWithStats(const Value *x, const Value *stats) {
  auto c = bnChannels(x);
  if (!c)
    return c.takeError();
  if (auto e = expectValueType(stats, TensorType(DType::F32, {4, *c}), "statistics"))
    return std::move(e);
  return *c;
}

llvm::Expected<llvm::SmallVector<TensorType, 1>> shapeRuleBatchStats(const Node &n) {
  auto c = bnChannels(n.input(0));
  if (!c)
    return c.takeError();
  return Types{TensorType(DType::F32, {4, *c})};
}

llvm::Expected<llvm::SmallVector<TensorType, 1>> shapeRuleBatchNormTrain(const Node &n) {
  auto c = bnChannelsWithStats(n.input(0), n.input(3));
  if (!c)
    return c.takeError();
  for (unsigned i : {1u, 2u})
    if (auto e = expectValueType(n.input(i), TensorType(DType::F32, {*c}), "per-channel param"))
      return std::move(e);
  return Types{n.input(0)->type()};
}

llvm::Expected<llvm::SmallVector<TensorType, 1>> shapeRuleBatchNormTrainGrad(const Node &n) {
  auto c = bnChannelsWithStats(n.input(0), n.input(3));
  if (!c)
    return c.takeError();
  if (auto e = expectValueType(n.input(1), TensorType(DType::F32, {*c}), "gamma"))
    return std::move(e);
  if (auto e = expectValueType(n.input(2), n.input(0)->type(), "gradient"))
    return std::move(e);
  for (unsigned i : {4u, 5u})
    if (auto e = expectValueType(n.input(i), TensorType(DType::F32, {*c}), "per-channel sum"))
      return std::move(e);
  return Types{n.input(0)->type()};
}

llvm::Expected<llvm::SmallVector<TensorType, 1>> shapeRuleBatchNormGradGamma(const Node &n) {
  auto c = bnChannelsWithStats(n.input(0), n.input(2));
  if (!c)
    return c.takeError();
  if (auto e = expectValueType(n.input(1), n.input(0)->type(), "gradient"))
    return std::move(e);
  return Types{TensorType(DType::F32, {*c})};
}

llvm::Expected<llvm::SmallVector<TensorType, 1>> shapeRuleBatchMean(const Node &n) {
  auto c = statsChannels(n.input(0));
  if (!c)
    return c.takeError();
  return Types{TensorType(DType::F32, {*c})};
}

llvm::Expected<llvm::SmallVector<TensorType, 1>> shapeRuleBatchVar(const Node &n) {
  return shapeRuleBatchMean(n);
}

} // namespace gradc::ir
