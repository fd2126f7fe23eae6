//===- passes/ExpandLayers.cpp - Layers into primitive ops -----------------===//
//
// First pass of every pipeline. Walks the schedule in order, inferring each
// node's type as it goes (a layer needs its input's shape to size its
// params), and replaces every layer node by primitive ops inserted where it
// stood; the layer's result name moves to the value that now computes it,
// so outputs, the loss and later nodes are unchanged. Every node made gets
// the layer's location with pass "expand-layers", so dumps and diagnostics
// lead back to the model's line.
//
// Params. A layer named P (the model node's `name`, else its output's name)
// uses params P.<name> with PyTorch's names, layouts and default
// initializers, creating those the model does not declare; a declared one
// (to choose its initializer, or freeze it) must have the expected type.
//   dense       P.weight [units, in], P.bias [units]: U(-1/sqrt(in), 1/sqrt(in))
//               y = x W^T + b  (nn.Linear; any leading dims)
//   rnn         P.weight_ih [H, E], P.weight_hh [H, H], P.bias_ih [H],
//               P.bias_hh [H]: U(-1/sqrt(H), 1/sqrt(H))
//               h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)
//   lstm        the same with 4H rows, gates in PyTorch's order i, f, g, o:
//               c_t = f * c_{t-1} + i * g,  h_t = o * tanh(c_t)
//   gru         3H rows, gates r, z, n (nn.GRU):
//               n = tanh(x W_in^T + b_in + r * (h W_hn^T + b_hn))
//               h_t = (1 - z) * n + z * h_{t-1} = n + z * (h_{t-1} - n)
//   layer_norm  P.weight (ones), P.bias (zeros) over the trailing `dims` axes:
//               (x - mean) / sqrt(var + eps) * weight + bias  (biased var),
//               one layer_norm_rows op (codegen/LowerLayerNorm.cpp)
//   embed       P.weight [vocab, dim] ~ N(0, 1) (nn.Embedding); with
//               positional=1 adds the sinusoidal encoding [T, dim]
//   multi_head_attention  P.{q,k,v,out}_proj.{weight [D, D], bias [D]}:
//               U(-1/sqrt(D), 1/sqrt(D)); x [N, T, D], h heads of d = D/h:
//               q, k, v = x W^T + b, each viewed [N, h, T, d];
//               softmax(q k^T / sqrt(d)) v (bmm), where causal=1 first sets
//               the scores above the diagonal to -1e9 (exp underflows to 0
//               exactly, as with -inf); heads joined back to [N, T, D],
//               then the out projection
//   transformer_block  pre-LayerNorm: y1 = x + attention(ln1(x)),
//               y = y1 + ffn2(gelu(ffn1(ln2(y1)))) (exact GELU), params
//               under P.ln1, P.attn, P.ln2, P.ffn1 [ffn_dim, D], P.ffn2
//   split       (no params) one slice per result along `axis`: the parts of
//               `sizes` in order, or equal parts
//   conv        P.weight [O, C/groups, KH, KW], P.bias [O] (bias=1):
//               U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = C/groups*KH*KW
//               (nn.Conv2d); one conv2d with the layer's stride, padding,
//               dilation, groups
//   batchnorm   P.weight (ones), P.bias (zeros), frozen P.running_mean
//               (zeros) and P.running_var (ones) (nn.BatchNorm1d/2d); one
//               batch_norm (train-mode makes it use batch statistics)
//   residual_block  x [N, C, H, W] -> C' = channels (default C), stride s:
//               y = relu(bn2(conv2(relu(bn1(conv1(x))))) + skip(x)), 3x3
//               convolutions with padding 1 (conv1 has the stride); skip is
//               x, or when s > 1 or C' != C the projection
//               proj_bn(proj(x)), a 1x1 convolution with stride s and no
//               bias; params under P.conv1, P.bn1, P.conv2, P.bn2, P.proj,
//               P.proj_bn
// Recurrent layers take x [N, T, E] (batch first) and return every hidden
// state [N, T, H], starting from h_0 = c_0 = 0 like torch's default. They are
// unrolled over the static T: the input projection of all steps is one
// matmul ([N,T,E] x W_ih^T), each step slices its [N, 4H] row block, and the
// step outputs are joined by one concat. Backprop through time is then just
// autodiff of the unrolled graph.
//
//===----------------------------------------------------------------------===//
#include "passes/GradEmitter.h"
#include "passes/Passes.h"

#include "ir/ShapeRules.h"
#include "ir/Vision.h"

#include "llvm/Support/FormatVariadic.h"

#include <array>
#include <cmath>

namespace gradc::passes {

using ir::Attrs;
using ir::Graph;
using ir::Node;
using ir::OpKind;
using ir::Value;

namespace {

llvm::Error layerError(const Node &n, const Graph &g, const llvm::Twine &msg) {
  return ir::nodeError(n, g, msg);
}

class Expander {
public:
  Expander(Graph &g, Node &layer)
      : g_(g), n_(layer), b_(g, expandLoc(layer)), e_(b_), prefix_(prefixOf(layer)) {
    b_.setInsertBefore(&layer);
  }

  /// Builds the primitives; returns the value that replaces the layer's result.
  llvm::Expected<Value *> run();
  /// split: the values that replace its results, in order.
  llvm::Expected<std::vector<Value *>> split();

private:
  static ir::Location expandLoc(const Node &n) {
    ir::Location loc = n.loc;
    loc.pass = "expand-layers";
    loc.of = n.result()->name();
    return loc;
  }
  static std::string prefixOf(const Node &n) {
    return n.loc.modelNode.empty() ? n.result()->name() : n.loc.modelNode;
  }

  /// The param prefix.name of `shape`: the declared one, or a new one
  /// (trainable, or frozen: a buffer such as a running statistic).
  Value *param(const std::string &name, Shape shape, ir::Initializer init,
               bool trainable = true) {
    if (err_)
      return nullptr;
    std::string full = prefix_ + "." + name;
    TensorType want(DType::F32, shape);
    if (Value *v = g_.lookup(full)) {
      if (!v->isParam() || v->type() != want) {
        err_ = layerError(n_, g_,
                          llvm::formatv("{0} needs param '{1}' of type {2}, but the model "
                                        "declares {3} {4}",
                                        opName(n_.op()), full, want.str(),
                                        v->isParam() ? "a param of type" : "a non-param",
                                        v->type().known ? v->type().str() : "?"));
        return nullptr;
      }
      return v;
    }
    return g_.addParam(full, want, init, trainable);
  }
  static ir::Initializer uniform(double bound) {
    ir::Initializer i;
    i.kind = "uniform";
    i.low = -bound;
    i.high = bound;
    return i;
  }
  static ir::Initializer constant(double v) {
    ir::Initializer i;
    i.kind = "constant";
    i.value = v;
    return i;
  }
  std::string name(const std::string &what) { return prefix_ + "." + what; }

  Value *op(OpKind k, llvm::ArrayRef<Value *> ins, Attrs a = {}, const std::string &nm = "") {
    return err_ ? nullptr : e_.op(k, ins, std::move(a), nm.empty() ? "" : name(nm));
  }
  Value *linearT(Value *x, Value *w, const std::string &nm) { // x W^T
    return err_ ? nullptr : e_.matmul(x, w, false, true, name(nm));
  }
  Value *slice(Value *x, int64_t axis, int64_t start, int64_t end, const std::string &nm) {
    Attrs a;
    a.set("axis", axis);
    a.set("start", start);
    a.set("end", end);
    return op(OpKind::Slice, {x}, std::move(a), nm);
  }
  Value *reshape(Value *x, std::vector<int64_t> shape, const std::string &nm) {
    Attrs a;
    a.set("shape", std::move(shape));
    return op(OpKind::Reshape, {x}, std::move(a), nm);
  }

  llvm::Expected<Value *> dense();
  struct ConvSpec {
    int64_t out;
    std::array<int64_t, 2> kernel, stride, padding, dilation;
    int64_t groups = 1;
    bool bias = true;
  };
  Value *convOf(Value *x, const ConvSpec &c, const std::string &out);
  Value *batchNormOf(Value *x, double eps, double momentum, const std::string &out);
  llvm::Expected<Value *> conv();
  llvm::Expected<Value *> batchNorm();
  llvm::Expected<Value *> residualBlock();
  Value *denseOf(Value *x, int64_t units, bool bias, const std::string &out);
  Value *layerNormOf(Value *x, int64_t dims, double eps);
  Value *attentionOf(Value *x, int64_t h, bool causal);
  llvm::Expected<Value *> transformerBlock();
  llvm::Expected<Value *> recurrent();
  llvm::Expected<Value *> layerNorm();
  llvm::Expected<Value *> embed();
  llvm::Expected<Value *> attention();
  llvm::Expected<Value *> finish(Value *v) {
    if (auto e = e_.done({}).takeError())
      return std::move(e);
    if (err_)
      return std::move(err_);
    return v;
  }

  Graph &g_;
  Node &n_;
  ir::Builder b_;
  Emitter e_;
  std::string prefix_;
  llvm::Error err_ = llvm::Error::success();
};

Value *Expander::denseOf(Value *x, int64_t units, bool bias, const std::string &out) {
  if (!x || err_)
    return nullptr;
  int64_t in = x->type().shape.back();
  double bound = 1.0 / std::sqrt(double(in));
  Value *w = param("weight", {units, in}, uniform(bound));
  Value *y = linearT(x, w, bias ? "xw" : out);
  if (bias)
    y = op(OpKind::Add, {y, param("bias", {units}, uniform(bound))}, {}, out);
  return y;
}

llvm::Expected<Value *> Expander::dense() {
  return finish(denseOf(n_.input(0), n_.attrs().getInt("units", 0),
                        n_.attrs().getInt("bias", 1) != 0, "y"));
}

Value *Expander::convOf(Value *x, const ConvSpec &c, const std::string &out) {
  if (!x || err_)
    return nullptr;
  int64_t cin = x->type().shape[1], cg = cin / c.groups;
  double bound = 1.0 / std::sqrt(double(cg * c.kernel[0] * c.kernel[1]));
  std::vector<Value *> ins{x, param("weight", {c.out, cg, c.kernel[0], c.kernel[1]},
                                    uniform(bound))};
  if (c.bias)
    ins.push_back(param("bias", {c.out}, uniform(bound)));
  Attrs a;
  a.set("stride", std::vector<int64_t>{c.stride[0], c.stride[1]});
  a.set("padding", std::vector<int64_t>{c.padding[0], c.padding[1]});
  a.set("dilation", std::vector<int64_t>{c.dilation[0], c.dilation[1]});
  a.set("groups", c.groups);
  return op(OpKind::Conv2d, ins, std::move(a), out);
}

llvm::Expected<Value *> Expander::conv() {
  const Attrs &a = n_.attrs();
  ConvSpec c{a.getInt("out_channels", 0), ir::pairAttr(a, "kernel_size", {1, 1}),
             ir::pairAttr(a, "stride", {1, 1}), ir::pairAttr(a, "padding", {0, 0}),
             ir::pairAttr(a, "dilation", {1, 1}), a.getInt("groups", 1),
             a.getInt("bias", 1) != 0};
  return finish(convOf(n_.input(0), c, "y"));
}

Value *Expander::batchNormOf(Value *x, double eps, double momentum, const std::string &out) {
  if (!x || err_)
    return nullptr;
  Shape c{x->type().shape[1]};
  Value *w = param("weight", c, constant(1.0));
  Value *b = param("bias", c, ir::Initializer{});
  Value *rm = param("running_mean", c, ir::Initializer{}, /*trainable=*/false);
  Value *rv = param("running_var", c, constant(1.0), /*trainable=*/false);
  Attrs a;
  a.set("eps", eps);
  a.set("momentum", momentum);
  return op(OpKind::BatchNorm, {x, w, b, rm, rv}, std::move(a), out);
}

llvm::Expected<Value *> Expander::batchNorm() {
  return finish(batchNormOf(n_.input(0), n_.attrs().getFloat("eps", 1e-5),
                            n_.attrs().getFloat("momentum", 0.1), "y"));
}

llvm::Expected<Value *> Expander::residualBlock() {
  Value *x = n_.input(0);
  const int64_t cin = x->type().shape[1];
  const int64_t c = n_.attrs().getInt("channels", cin), s = n_.attrs().getInt("stride", 1);
  const std::string base = prefix_;
  auto under = [&](const std::string &sub) { prefix_ = base + "." + sub; };
  auto conv3 = [&](int64_t stride) {
    return ConvSpec{c, {3, 3}, {stride, stride}, {1, 1}, {1, 1}, 1, true};
  };
  under("conv1");
  Value *h = convOf(x, conv3(s), "y");
  under("bn1");
  h = batchNormOf(h, 1e-5, 0.1, "y");
  prefix_ = base;
  h = op(OpKind::Relu, {h}, {}, "relu1");
  under("conv2");
  h = convOf(h, conv3(1), "y");
  under("bn2");
  h = batchNormOf(h, 1e-5, 0.1, "y");
  Value *skip = x;
  if (s != 1 || c != cin) {
    under("proj");
    skip = convOf(x, ConvSpec{c, {1, 1}, {s, s}, {0, 0}, {1, 1}, 1, false}, "y");
    under("proj_bn");
    skip = batchNormOf(skip, 1e-5, 0.1, "y");
  }
  prefix_ = base;
  return finish(op(OpKind::Relu, {op(OpKind::Add, {h, skip}, {}, "sum")}, {}, "y"));
}

llvm::Expected<std::vector<Value *>> Expander::split() {
  auto sizes = ir::splitSizes(n_);
  if (!sizes)
    return sizes.takeError();
  int64_t axis = n_.attrs().getInt("axis", 0), start = 0;
  std::vector<Value *> parts;
  for (size_t i = 0; i < sizes->size(); ++i) {
    parts.push_back(slice(n_.input(0), axis, start, start + (*sizes)[i],
                          "part" + std::to_string(i)));
    start += (*sizes)[i];
  }
  if (auto e = e_.done({}).takeError())
    return std::move(e);
  if (err_)
    return std::move(err_);
  return parts;
}

llvm::Expected<Value *> Expander::recurrent() {
  const OpKind kind = n_.op();
  const int64_t gates = kind == OpKind::Lstm ? 4 : kind == OpKind::Gru ? 3 : 1;
  Value *x = n_.input(0);
  const Shape &xs = x->type().shape;
  const int64_t T = xs[1], E = xs[2], H = n_.attrs().getInt("hidden_size", 0), G = gates * H;
  ir::Initializer init = uniform(1.0 / std::sqrt(double(H)));
  Value *wih = param("weight_ih", {G, E}, init);
  Value *whh = param("weight_hh", {G, H}, init);
  Value *bih = param("bias_ih", {G}, init);
  Value *bhh = param("bias_hh", {G}, init);
  // All steps' input projections at once: [N, T, G]. LSTM and RNN add both
  // biases here; GRU keeps b_hn inside r * (...), so only b_ih goes here.
  Value *xp = linearT(x, wih, "xproj");
  Value *bias = kind == OpKind::Gru ? bih : op(OpKind::Add, {bih, bhh}, {}, "bias");
  xp = op(OpKind::Add, {xp, bias}, {}, "xproj");
  auto gate = [&](Value *v, int64_t i, const std::string &nm) {
    return slice(v, -1, i * H, (i + 1) * H, nm);
  };
  Value *h = nullptr, *c = nullptr;
  std::vector<Value *> steps;
  for (int64_t t = 0; t < T && !err_; ++t) {
    std::string s = "t" + std::to_string(t) + ".";
    Value *xt = reshape(slice(xp, 1, t, t + 1, s + "x.3d"), {-1, G}, s + "x");
    if (kind == OpKind::Gru) {
      // hp = h W_hh^T + b_hh, or b_hh alone while h = 0.
      Value *hp = h ? op(OpKind::Add, {linearT(h, whh, s + "hh"), bhh}, {}, s + "hh") : bhh;
      Value *r = op(OpKind::Sigmoid,
                    {op(OpKind::Add, {gate(xt, 0, s + "xr"), gate(hp, 0, s + "hr")}, {}, s + "r.pre")},
                    {}, s + "r");
      Value *z = op(OpKind::Sigmoid,
                    {op(OpKind::Add, {gate(xt, 1, s + "xz"), gate(hp, 1, s + "hz")}, {}, s + "z.pre")},
                    {}, s + "z");
      Value *rn = op(OpKind::Mul, {r, gate(hp, 2, s + "hn")}, {}, s + "rn");
      Value *nn = op(OpKind::Tanh, {op(OpKind::Add, {gate(xt, 2, s + "xn"), rn}, {}, s + "n.pre")},
                     {}, s + "n");
      h = h ? op(OpKind::Add,
                 {nn, op(OpKind::Mul, {z, op(OpKind::Sub, {h, nn}, {}, s + "h_n")}, {}, s + "zh")},
                 {}, s + "h")
            : op(OpKind::Sub, {nn, op(OpKind::Mul, {z, nn}, {}, s + "zn")}, {}, s + "h");
    } else {
      Value *pre = h ? op(OpKind::Add, {xt, linearT(h, whh, s + "hh")}, {}, s + "gates") : xt;
      if (kind == OpKind::Rnn) {
        h = op(OpKind::Tanh, {pre}, {}, s + "h");
      } else {
        Value *i = op(OpKind::Sigmoid, {gate(pre, 0, s + "i.pre")}, {}, s + "i");
        Value *f = op(OpKind::Sigmoid, {gate(pre, 1, s + "f.pre")}, {}, s + "f");
        Value *gg = op(OpKind::Tanh, {gate(pre, 2, s + "g.pre")}, {}, s + "g");
        Value *o = op(OpKind::Sigmoid, {gate(pre, 3, s + "o.pre")}, {}, s + "o");
        Value *ig = op(OpKind::Mul, {i, gg}, {}, s + "ig");
        c = c ? op(OpKind::Add, {op(OpKind::Mul, {f, c}, {}, s + "fc"), ig}, {}, s + "c") : ig;
        h = op(OpKind::Mul, {o, op(OpKind::Tanh, {c}, {}, s + "tanh_c")}, {}, s + "h");
      }
    }
    steps.push_back(reshape(h, {-1, 1, H}, s + "out"));
  }
  if (err_)
    return std::move(err_);
  Attrs cat;
  cat.set("axis", int64_t(1));
  return finish(steps.size() == 1 ? steps[0] : op(OpKind::Concat, steps, std::move(cat), "y"));
}

llvm::Expected<Value *> Expander::layerNorm() {
  return finish(layerNormOf(n_.input(0), n_.attrs().getInt("dims", 1),
                            n_.attrs().getFloat("eps", 1e-5)));
}

Value *Expander::layerNormOf(Value *x, int64_t dims, double epsValue) {
  if (!x || err_)
    return nullptr;
  const Shape &s = x->type().shape;
  Shape normalized(s.end() - dims, s.end());
  Value *w = param("weight", normalized, constant(1.0));
  Value *b = param("bias", normalized, ir::Initializer{});
  Attrs a;
  a.set("dims", dims);
  a.set("eps", epsValue);
  return op(OpKind::LayerNormRows, {x, w, b}, std::move(a), "y");
}

llvm::Expected<Value *> Expander::embed() {
  Value *ids = n_.input(0);
  int64_t vocab = n_.attrs().getInt("vocab_size", 0), dim = n_.attrs().getInt("dim", 0);
  ir::Initializer normal;
  normal.kind = "normal";
  normal.std = 1.0;
  Value *table = param("weight", {vocab, dim}, normal);
  Value *y = op(OpKind::Embedding, {ids, table}, {}, "tokens");
  if (n_.attrs().getInt("positional", 0)) {
    Attrs pe;
    pe.set("length", ids->type().shape.back());
    pe.set("dim", dim);
    y = op(OpKind::Add, {y, op(OpKind::PositionalEncoding, {}, std::move(pe), "positions")},
           {}, "y");
  }
  return finish(y);
}

llvm::Expected<Value *> Expander::attention() {
  return finish(attentionOf(n_.input(0), n_.attrs().getInt("num_heads", 1),
                            n_.attrs().getInt("causal", 0) != 0));
}

Value *Expander::attentionOf(Value *x, int64_t h, bool causal) {
  if (!x || err_)
    return nullptr;
  const Shape &xs = x->type().shape;
  const int64_t T = xs[1], D = xs[2], d = D / h;
  ir::Initializer init = uniform(1.0 / std::sqrt(double(D)));
  auto project = [&](const std::string &which, Value *in) {
    Value *w = param(which + "_proj.weight", {D, D}, init);
    Value *b = param(which + "_proj.bias", {D}, init);
    return op(OpKind::Add, {linearT(in, w, which + ".xw"), b}, {}, which);
  };
  Attrs toHeads; // [N, T, h, d] -> [N, h, T, d], and back (its own inverse)
  toHeads.set("perm", std::vector<int64_t>{0, 2, 1, 3});
  auto heads = [&](Value *v, const std::string &which) {
    return op(OpKind::Transpose, {reshape(v, {-1, T, h, d}, which + ".split")}, toHeads,
              which + ".heads");
  };
  Value *q = heads(project("q", x), "q");
  Value *k = heads(project("k", x), "k");
  Value *v = heads(project("v", x), "v");
  Attrs tb;
  tb.set("transpose_b", int64_t(1));
  Value *scores = op(OpKind::Bmm, {q, k}, std::move(tb), "qk");
  scores = op(OpKind::Mul, {scores, e_.scalar(1.0 / std::sqrt(double(d)), name("scale"))}, {},
              "scores");
  if (causal) {
    Attrs m;
    m.set("size", T);
    Value *mask = op(OpKind::CausalMask, {}, std::move(m), "mask");
    scores = op(OpKind::Where, {mask, scores, e_.scalar(-1e9, name("masked"))}, {},
                "scores.causal");
  }
  Attrs last;
  last.set("axis", int64_t(-1));
  Value *probs = op(OpKind::Softmax, {scores}, std::move(last), "probs");
  Value *ctx = op(OpKind::Bmm, {probs, v}, {}, "context");
  ctx = reshape(op(OpKind::Transpose, {ctx}, toHeads, "context.t"), {-1, T, D}, "joined");
  return project("out", ctx);
}

llvm::Expected<Value *> Expander::transformerBlock() {
  // Pre-LayerNorm: y1 = x + attn(ln1(x));  y = y1 + ffn2(gelu(ffn1(ln2(y1)))).
  // Sub-layers use params under P.ln1, P.attn, P.ln2, P.ffn1, P.ffn2.
  Value *x = n_.input(0);
  const std::string base = prefix_;
  auto under = [&](const std::string &sub) { prefix_ = base + "." + sub; };
  under("ln1");
  Value *a = layerNormOf(x, 1, 1e-5);
  under("attn");
  a = attentionOf(a, n_.attrs().getInt("num_heads", 1), n_.attrs().getInt("causal", 0) != 0);
  prefix_ = base;
  Value *y1 = op(OpKind::Add, {x, a}, {}, "residual1");
  under("ln2");
  Value *f = layerNormOf(y1, 1, 1e-5);
  under("ffn1");
  f = denseOf(f, n_.attrs().getInt("ffn_dim", 0), true, "y");
  prefix_ = base;
  f = op(OpKind::Gelu, {f}, {}, "gelu");
  under("ffn2");
  f = denseOf(f, x->type().shape.back(), true, "y");
  prefix_ = base;
  return finish(op(OpKind::Add, {y1, f}, {}, "y"));
}

llvm::Expected<Value *> Expander::run() {
  switch (n_.op()) {
  case OpKind::Dense:
    return dense();
  case OpKind::Rnn:
  case OpKind::Lstm:
  case OpKind::Gru:
    return recurrent();
  case OpKind::LayerNorm:
    return layerNorm();
  case OpKind::Embed:
    return embed();
  case OpKind::MultiHeadAttention:
    return attention();
  case OpKind::TransformerBlock:
    return transformerBlock();
  case OpKind::Conv:
    return conv();
  case OpKind::BatchNormLayer:
    return batchNorm();
  case OpKind::ResidualBlock:
    return residualBlock();
  case OpKind::Split:
    llvm_unreachable("split has several results: Expander::split");
  default:
    llvm_unreachable("not a layer op");
  }
}

class ExpandLayersPass : public Pass {
public:
  llvm::StringRef name() const override { return "expand-layers"; }

  llvm::Expected<bool> run(Graph &g, PassContext &) override {
    std::vector<Node *> order;
    for (const auto &n : g.nodes())
      order.push_back(n.get());
    bool changed = false;
    for (Node *n : order) {
      // Types first: the layer's rule checks what the user wrote.
      if (auto e = ir::inferNodeShape(*n, g))
        return std::move(e);
      if (!n->info().isLayer())
        continue;
      if (n->op() == OpKind::Split) {
        auto parts = Expander(g, *n).split();
        if (!parts)
          return parts.takeError();
        std::vector<std::string> names;
        for (size_t i = 0; i < parts->size(); ++i) {
          names.push_back(n->result(i)->name());
          g.replaceAllUses(n->result(i), (*parts)[i]);
        }
        g.eraseNodes([&](const Node &m) { return &m == n; });
        for (size_t i = 0; i < parts->size(); ++i)
          g.renameValue((*parts)[i], names[i]);
        changed = true;
        continue;
      }
      auto v = Expander(g, *n).run();
      if (!v)
        return v.takeError();
      Value *old = n->result();
      std::string oldName = old->name();
      g.replaceAllUses(old, *v);
      g.eraseNodes([&](const Node &m) { return &m == n; });
      if ((*v)->def()) // a value made here: it takes the layer's name
        g.renameValue(*v, oldName);
      changed = true;
    }
    return changed;
  }
};

} // namespace

std::unique_ptr<Pass> createExpandLayersPass() { return std::make_unique<ExpandLayersPass>(); }

} // namespace gradc::passes
