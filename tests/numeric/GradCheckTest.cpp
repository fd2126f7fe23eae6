//===- tests/numeric/GradCheckTest.cpp - Gradients vs finite differences ---===//
//
// Every differentiable op (no NoGrad flag in ir/Ops.def) is checked against
// central finite differences, on one or more recipes: operand shapes (with
// the batch dimension N where it makes sense, run with N = 3), value ranges
// and attributes. For a recipe the test builds
//
//   params p0, p1, ... (trainable, the op's f32 operands), labels (i32 input)
//   y    = op(p0, p1, ...)
//   loss = y                          when y is a scalar
//        = reduce_sum(mul(y, R))      otherwise, R a frozen random param
//
// twice: once as is (the forward graph) and once through infer-shapes and
// autodiff (the training graph). An operand with N in its shape is a param
// too: a model cannot declare one, but autodiff and the interpreter treat it
// like any buffer (N bound to the batch), so batch-shaped operands get
// checked element by element. The interpreter runs the training graph once
// for the analytical gradients, and the forward graph twice per param element
// for the central difference (L(x + e) - L(x - e)) / (2e). A random R makes
// every element of y matter with a different weight, so a gradient that is
// wrong in one element, transposed, or summed over the wrong axis shows up.
//
// The op table drives the coverage: EveryDifferentiableOpHasARecipe fails
// when an op without NoGrad has no recipe here, so a new op cannot skip its
// gradient check. Composite graphs (fan-out, a small MLP) and the SGD update
// the interpreter applies are checked at the end.
//
//===----------------------------------------------------------------------===//
#include "tests/numeric/NumericUtil.h"

#include "passes/Passes.h"

#include <algorithm>
#include <map>
#include <numeric>
#include <set>

using namespace gradc;
using namespace gradc::test;
using ir::OpKind;
using ir::Value;

namespace {

/// The batch size every check runs with.
constexpr int64_t kCheckBatch = 3;

// Finite-difference step and tolerance, for f32 evaluation.
//
// Step: the central difference has truncation error e^2/6 * |f'''| per
// element. Operands are kept where |f'''| is small (|x| <= 1 for exp, tanh,
// sigmoid; x >= 0.8 for log and divisors, where |d^3(a/b)/db^3| = 6|a|/b^4
// <= 15), so with e = 1e-2 it is at most ~2.5e-4, summed over the batch
// where an operand is broadcast. Rounding: the loss is an f32 sum of at most
// ~40 terms of size <= ~2, and one perturbation changes only the rounding of
// the terms it touches and of the total (a few ulps of |L| <= ~20, ~4e-6);
// divided by 2e that is ~2e-4. A smaller e trades truncation for rounding.
// Measured: the worst |analytic - numeric| over all recipes is 1.4e-4 (the
// divisor of div broadcast over N = 3 rows); most are below 2e-5.
//
// Tolerance: |analytic - numeric| <= kAtol + kRtol * |numeric| with
// kAtol = 1e-3 (7x the worst measured error, 4x the bound above) and
// kRtol = 5e-3 for the largest gradients. Real gradient bugs (wrong sign,
// a missing 1/count, a transposed or mis-reduced gradient) are off by
// O(|gradient|) ~ 0.1..1, far above this: replacing softmax_grad's
// sum(dy*y) by sum(dy), dropping 1/P from softmax_cross_entropy_grad, or
// counting every axis in numel makes 14 recipes here fail.
constexpr float kEps = 1e-2f;
constexpr double kAtol = 1e-3;
constexpr double kRtol = 5e-3;

/// How the values of a param or input are drawn.
enum class Range {
  Any,          // uniform in [-1, 1)
  AwayFromZero, // |x| in [0.2, 1), random sign: off relu's kink by > kEps
  Positive,     // uniform in [0.8, 2): log and divisors, off the pole at 0
  Distinct,     // a random order of values spaced >= 6/numel apart in [-3, 3):
                // no two within 2*kEps, so a max pool's choice never flips
};

struct Fill {
  Range range = Range::Any;
  int32_t classes = 0; // > 0: i32 class labels in [0, classes)
};

/// A GraphMaker that also records how to fill each value it declares.
class CheckBuilder : public GraphMaker {
public:
  Value *param(const std::string &name, Shape s, Range r = Range::Any,
               bool trainable = true) {
    fills_.push_back({name, Fill{r, 0}});
    return GraphMaker::param(name, f32Type(std::move(s)), trainable);
  }
  Value *data(const std::string &name, Shape s, Range r = Range::Any) {
    fills_.push_back({name, Fill{r, 0}});
    return GraphMaker::input(name, f32Type(std::move(s)));
  }
  Value *labels(const std::string &name, Shape s, int32_t classes) {
    fills_.push_back({name, Fill{Range::Any, classes}});
    return GraphMaker::input(name, i32Type(std::move(s)));
  }
  /// Sets the loss: `y` itself when scalar, else reduce_sum(mul(y, R)) with R
  /// a frozen random param of y's shape.
  void lossOf(Value *y) {
    if (!y)
      return;
    if (y->type().isScalar()) {
      graph().loss = y;
      return;
    }
    Value *r = param("R", y->type().shape, Range::Any, /*trainable=*/false);
    Value *weighted = op(OpKind::Mul, {y, r}, {}, "weighted");
    graph().loss = op(OpKind::ReduceSum, {weighted}, {}, "loss");
  }
  const std::vector<std::pair<std::string, Fill>> &fills() const { return fills_; }

private:
  std::vector<std::pair<std::string, Fill>> fills_;
};

using BuildFn = std::function<void(CheckBuilder &)>;

rt::Tensor drawValue(const Fill &f, const Shape &shape, TensorRng &rng) {
  if (f.classes > 0)
    return rng.labels(shape, f.classes);
  switch (f.range) {
  case Range::Any:
    return rng.uniform(shape, -1, 1);
  case Range::AwayFromZero:
    return rng.awayFromZero(shape, 0.2f, 1);
  case Range::Positive:
    return rng.uniform(shape, 0.8f, 2);
  case Range::Distinct: {
    rt::Tensor t = rng.uniform(shape, -1, 1);
    std::vector<int64_t> order(t.numel());
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(),
              [&](int64_t a, int64_t b) { return t.f32()[a] < t.f32()[b]; });
    for (int64_t r = 0; r < t.numel(); ++r)
      t.f32()[order[r]] = -3.0f + 6.0f * float(r) / float(t.numel());
    return t;
  }
  }
  return {};
}

void runPass(std::unique_ptr<passes::Pass> p, ir::Graph &g, bool training) {
  passes::PassContext ctx;
  ctx.training = training;
  auto changed = p->run(g, ctx);
  if (!changed)
    ADD_FAILURE() << "pass " << p->name().str() << ": " << llvm::toString(changed.takeError());
}

/// The loss the forward graph computes with the values now in `bufs`.
double lossNow(BoundBuffers &bufs, const std::string &lossName) {
  expectOk(bufs.run());
  return bufs.get(lossName).f32()[0];
}

/// Checks every gradient autodiff builds for the graph `build` makes against
/// central finite differences of its forward graph.
void checkGradients(const BuildFn &build, uint64_t seed, bool trainMode = false) {
  CheckBuilder fwd, train;
  build(fwd);
  build(train);
  ASSERT_FALSE(::testing::Test::HasFailure()) << "the graph under test did not build";
  ASSERT_NE(fwd.graph().loss, nullptr);
  // Layers (composite recipes) become primitives first.
  runPass(passes::createExpandLayersPass(), fwd.graph(), /*training=*/false);
  runPass(passes::createExpandLayersPass(), train.graph(), /*training=*/true);
  runPass(passes::createInferShapesPass(), fwd.graph(), /*training=*/false);
  runPass(passes::createInferShapesPass(), train.graph(), /*training=*/true);
  if (trainMode) {
    runPass(passes::createTrainModePass(), fwd.graph(), /*training=*/false);
    runPass(passes::createTrainModePass(), train.graph(), /*training=*/true);
  }
  runPass(passes::createAutodiffPass(), train.graph(), /*training=*/true);
  ASSERT_FALSE(::testing::Test::HasFailure());

  // One set of values for both graphs.
  TensorRng rng(seed);
  std::map<std::string, rt::Tensor> values;
  for (const auto &[name, fill] : fwd.fills()) {
    Value *v = fwd.graph().lookup(name);
    values[name] = drawValue(fill, bindBatch(v->type().shape, kCheckBatch), rng);
  }

  auto trainExe = interp::makeInterpreter(train.graph());
  BoundBuffers trainBufs(*trainExe, kCheckBatch);
  for (const auto &[name, value] : values)
    trainBufs.set(name, value);
  expectOk(trainBufs.run());

  auto fwdExe = interp::makeInterpreter(fwd.graph());
  BoundBuffers fwdBufs(*fwdExe, kCheckBatch);
  for (const auto &[name, value] : values)
    fwdBufs.set(name, value);
  const std::string lossName = fwd.graph().loss->name();
  // Both graphs compute the same loss.
  EXPECT_NEAR(lossNow(fwdBufs, lossName),
              trainBufs.get(train.graph().loss->name()).f32()[0], 1e-6);

  unsigned trainable = 0;
  for (const Value *p : fwd.graph().params())
    trainable += p->trainable;
  ASSERT_EQ(train.graph().gradients.size(), trainable) << "one gradient per trainable param";

  for (const auto &[param, grad] : train.graph().gradients) {
    SCOPED_TRACE("d loss / d %" + param->name());
    const rt::Tensor &analytic = trainBufs.get(grad->name());
    rt::Tensor &x = fwdBufs.get(param->name());
    rt::Tensor numeric(DType::F32, x.shape());
    for (int64_t i = 0; i < x.numel(); ++i) {
      float orig = x.f32()[i];
      float hi = orig + kEps, lo = orig - kEps;
      x.f32()[i] = hi;
      double lossHi = lossNow(fwdBufs, lossName);
      x.f32()[i] = lo;
      double lossLo = lossNow(fwdBufs, lossName);
      x.f32()[i] = orig;
      // Divide by the step actually taken after rounding to f32.
      numeric.f32()[i] = static_cast<float>((lossHi - lossLo) / (double(hi) - double(lo)));
    }
    EXPECT_TRUE(allClose(analytic, numeric, kRtol, kAtol))
        << "analytic " << ::testing::PrintToString(valuesOf(analytic)) << "\nnumeric  "
        << ::testing::PrintToString(valuesOf(numeric));
    // A recipe whose gradient is all zero would check nothing.
    EXPECT_GT(maxAbsDiff(numeric, rt::Tensor(DType::F32, numeric.shape())), 1e-2)
        << "the numeric gradient is ~0: the recipe does not exercise the op";
  }
}

// ---- Recipes ----------------------------------------------------------------------

/// One operand of a single-op recipe.
struct OperandSpec {
  Shape shape;
  Range range = Range::Any;
  int32_t classes = 0; // > 0: an i32 labels input instead of a trainable param
};

struct Recipe {
  OpKind op;
  std::string description; // "matmul(f32[N,4], f32[4,3]) {transpose_b=1}"
  BuildFn build;
  uint64_t seed = 0;
  bool trainMode = false; // run the train-mode pass after infer-shapes
};

std::string describe(OpKind op, const std::vector<OperandSpec> &ops, const ir::Attrs &a) {
  std::string s = ir::opName(op).str() + "(";
  for (size_t i = 0; i < ops.size(); ++i)
    s += (i ? ", " : "") + std::string(ops[i].classes ? "i32" : "f32") +
         shapeToString(ops[i].shape);
  s += ")";
  if (!a.empty()) {
    s += " {";
    bool first = true;
    for (const auto &[name, value] : a.all()) {
      s += (first ? "" : ", ") + name + "=" + ir::attrValueToString(value);
      first = false;
    }
    s += "}";
  }
  return s;
}

/// y = op(operands) with float operands trainable params p0, p1, ...
Recipe oneOp(OpKind op, std::vector<OperandSpec> operands, ir::Attrs a = {}) {
  Recipe r;
  r.op = op;
  r.description = describe(op, operands, a);
  r.build = [op, operands, a](CheckBuilder &b) {
    std::vector<Value *> ins;
    for (size_t i = 0; i < operands.size(); ++i) {
      const OperandSpec &s = operands[i];
      std::string name = (s.classes ? "labels" : "p") + std::to_string(i);
      ins.push_back(s.classes ? b.labels(name, s.shape, s.classes)
                              : b.param(name, s.shape, s.range));
    }
    b.lossOf(b.op(op, ins, a, "y"));
  };
  return r;
}

constexpr int64_t N = kBatch;

std::vector<Recipe> allRecipes() {
  std::vector<Recipe> rs;
  auto add = [&](Recipe r) {
    r.seed = 1000 + rs.size();
    rs.push_back(std::move(r));
  };

  // matmul: every transpose combination, and a contraction over N.
  add(oneOp(OpKind::MatMul, {{{N, 4}}, {{4, 3}}}));
  add(oneOp(OpKind::MatMul, {{{4, N}}, {{4, 3}}}, attrs({{"transpose_a", int64_t(1)}})));
  add(oneOp(OpKind::MatMul, {{{N, 4}}, {{3, 4}}}, attrs({{"transpose_b", int64_t(1)}})));
  add(oneOp(OpKind::MatMul, {{{4, N}}, {{3, 4}}},
            attrs({{"transpose_a", int64_t(1)}, {"transpose_b", int64_t(1)}})));
  add(oneOp(OpKind::MatMul, {{{N, 4}}, {{N, 3}}}, attrs({{"transpose_a", int64_t(1)}})));
  // Rank 3: [N,T,E] x [E,H] and the weight-gradient form contracting N and T.
  add(oneOp(OpKind::MatMul, {{{N, 2, 4}}, {{4, 3}}}));
  add(oneOp(OpKind::MatMul, {{{N, 2, 4}}, {{3, 4}}}, attrs({{"transpose_b", int64_t(1)}})));
  add(oneOp(OpKind::MatMul, {{{N, 2, 4}}, {{N, 2, 3}}}, attrs({{"transpose_a", int64_t(1)}})));

  // Broadcasting binary ops: same shapes, a trailing vector, column x row,
  // the first operand broadcast, and a scalar.
  const std::vector<std::pair<Shape, Shape>> binaryShapes = {
      {{N, 4}, {N, 4}}, {{N, 4}, {4}}, {{N, 1}, {1, 4}}, {{4}, {N, 4}}, {{N, 3}, {}}};
  for (OpKind k : {OpKind::Add, OpKind::Sub, OpKind::Mul, OpKind::Div})
    for (const auto &[sa, sb] : binaryShapes) {
      // Divisors stay positive and away from 0 (see kEps); so does a
      // dividend that is broadcast, to keep it simple.
      Range rb = k == OpKind::Div ? Range::Positive : Range::Any;
      add(oneOp(k, {{sa, Range::Any}, {sb, rb}}));
    }

  // Elementwise unary ops.
  add(oneOp(OpKind::Neg, {{{N, 4}}}));
  add(oneOp(OpKind::Relu, {{{N, 4}, Range::AwayFromZero}}));
  add(oneOp(OpKind::Sigmoid, {{{N, 4}}}));
  add(oneOp(OpKind::Tanh, {{{N, 4}}}));
  add(oneOp(OpKind::Exp, {{{N, 4}}}));
  add(oneOp(OpKind::Log, {{{N, 4}, Range::Positive}}));
  add(oneOp(OpKind::Sqrt, {{{N, 4}, Range::Positive}}));

  // softmax / log_softmax along the last axis, axis 0 (over the batch), and a
  // middle axis.
  for (OpKind k : {OpKind::Softmax, OpKind::LogSoftmax}) {
    add(oneOp(k, {{{N, 5}}}));
    add(oneOp(k, {{{N, 5}}}, attrs({{"axis", int64_t(-1)}})));
    add(oneOp(k, {{{N, 5}}}, attrs({{"axis", int64_t(0)}})));
    add(oneOp(k, {{{N, 3, 4}}}, attrs({{"axis", int64_t(1)}})));
  }

  // Losses.
  add(oneOp(OpKind::SoftmaxCrossEntropy, {{{N, 5}}, {{N}, Range::Any, 5}}));
  add(oneOp(OpKind::SoftmaxCrossEntropy, {{{N, 2, 4}}, {{N, 2}, Range::Any, 4}}));
  add(oneOp(OpKind::Mse, {{{N, 4}}, {{N, 4}}}));
  add(oneOp(OpKind::Mse, {{{3, 2}}, {{3, 2}}}));

  // Reductions: several axes, each with and without keepdims.
  const std::vector<Ints> reduceAxes = {{}, {0}, {1}, {-1}, {0, 2}};
  for (OpKind k : {OpKind::ReduceSum, OpKind::ReduceMean})
    for (const Ints &axes : reduceAxes)
      for (int64_t keep : {0, 1}) {
        ir::Attrs a = attrs({{"keepdims", keep}});
        if (!axes.empty())
          a.set("axes", axes);
        add(oneOp(k, {{{N, 3, 4}}}, a));
      }

  // Data movement.
  add(oneOp(OpKind::Reshape, {{{N, 3, 4}}}, attrs({{"shape", Ints{-1, 12}}})));
  add(oneOp(OpKind::Reshape, {{{N, 12}}}, attrs({{"shape", Ints{-1, 3, 4}}})));
  add(oneOp(OpKind::Reshape, {{{3, 4}}}, attrs({{"shape", Ints{2, 6}}})));
  add(oneOp(OpKind::Transpose, {{{N, 3}}}));
  add(oneOp(OpKind::Transpose, {{{N, 3, 4}}}));
  add(oneOp(OpKind::Transpose, {{{N, 3, 4}}}, attrs({{"perm", Ints{1, 0, 2}}})));
  add(oneOp(OpKind::Transpose, {{{N, 3, 4}}}, attrs({{"perm", Ints{0, 2, 1}}})));
  add(oneOp(OpKind::BroadcastTo, {{{4}}}, attrs({{"shape", Ints{-1, 4}}})));
  add(oneOp(OpKind::BroadcastTo, {{{3, 1}}}, attrs({{"shape", Ints{-1, 3, 4}}})));
  add(oneOp(OpKind::BroadcastTo, {{{N, 1}}}, attrs({{"shape", Ints{-1, 4}}})));
  add(oneOp(OpKind::BroadcastTo, {{{}}}, attrs({{"shape", Ints{-1, 2}}})));

  // Vision ops: conv2d with stride 2, padding, dilation 2 and groups (w.r.t.
  // input, weight and bias); pools with overlapping windows and padding.
  auto conv = [](Ints stride, Ints pad, Ints dil, int64_t groups) {
    return attrs({{"stride", stride}, {"padding", pad}, {"dilation", dil},
                  {"groups", groups}});
  };
  add(oneOp(OpKind::Conv2d, {{{N, 2, 4, 4}}, {{3, 2, 3, 3}}, {{3}}},
            conv({1, 1}, {1, 1}, {1, 1}, 1)));
  add(oneOp(OpKind::Conv2d, {{{N, 2, 5, 5}}, {{2, 2, 3, 3}}}, conv({2, 2}, {1, 0}, {1, 1}, 1)));
  add(oneOp(OpKind::Conv2d, {{{N, 1, 6, 5}}, {{2, 1, 2, 2}}, {{2}}},
            conv({1, 1}, {1, 1}, {2, 2}, 1)));
  add(oneOp(OpKind::Conv2d, {{{N, 4, 4, 4}}, {{2, 2, 3, 3}}}, conv({1, 2}, {1, 1}, {1, 1}, 2)));
  // Max pools read Distinct values: kEps never changes a window's maximum.
  add(oneOp(OpKind::MaxPool2d, {{{N, 2, 4, 4}, Range::Distinct}},
            attrs({{"kernel", int64_t(2)}})));
  add(oneOp(OpKind::MaxPool2d, {{{N, 1, 5, 5}, Range::Distinct}},
            attrs({{"kernel", int64_t(3)}, {"stride", int64_t(2)}, {"padding", int64_t(1)}})));
  add(oneOp(OpKind::AvgPool2d, {{{N, 2, 4, 4}}}, attrs({{"kernel", int64_t(2)}})));
  add(oneOp(OpKind::AvgPool2d, {{{N, 1, 5, 5}}},
            attrs({{"kernel", int64_t(3)}, {"stride", int64_t(2)}, {"padding", int64_t(1)}})));
  add(oneOp(OpKind::GlobalAvgPool, {{{N, 3, 2, 3}}}));
  add(oneOp(OpKind::Flatten, {{{N, 2, 3, 2}}}));
  add(oneOp(OpKind::Dropout, {{{N, 4}}}, attrs({{"p", 0.5}})));
  // dropout_train's step is data (an integer count), not a param.
  Recipe drop;
  drop.op = OpKind::DropoutTrain;
  drop.description = "dropout_train(f32[N,6], step) {p=0.3, seed=7}";
  drop.build = [](CheckBuilder &b) {
    Value *x = b.param("p0", {N, 6});
    Value *step = b.data("step", {}, Range::Positive);
    b.lossOf(b.op(OpKind::DropoutTrain, {x, step},
                  attrs({{"p", 0.3}, {"seed", int64_t(7)}}), "y"));
  };
  add(drop);
  // batch_norm_train on the statistics of its x: the finite differences move
  // them with x, as the rule's dx accounts for.
  Recipe bnt;
  bnt.op = OpKind::BatchNormTrain;
  bnt.description = "batch_norm_train(f32[N,2,2,2], gamma, beta, batch_stats(x)) {eps=1e-3}";
  bnt.build = [](CheckBuilder &b) {
    Value *x = b.param("p0", {N, 2, 2, 2}, Range::Distinct);
    Value *gamma = b.param("gamma", {2}, Range::Positive);
    Value *beta = b.param("beta", {2});
    Value *stats = b.op(OpKind::BatchStats, {x}, {}, "stats");
    b.lossOf(b.op(OpKind::BatchNormTrain, {x, gamma, beta, stats}, attrs({{"eps", 1e-3}}), "y"));
  };
  add(bnt);
  // batch_norm in training mode (the train-mode pass rewrites it into batch
  // statistics before autodiff): gradients w.r.t. x, gamma and beta.
  for (Shape xs : {Shape{N, 3, 2, 2}, Shape{N, 4}}) {
    Recipe bn;
    bn.op = OpKind::BatchNorm;
    bn.trainMode = true;
    bn.description = "batch_norm train f32" + shapeToString(xs);
    bn.build = [xs](CheckBuilder &b) {
      int64_t c = xs[1];
      // Spread values: with 3 samples per channel ([N,4]) a small variance
      // would make the curvature, and so the central difference's error,
      // large.
      Value *x = b.param("p0", xs, Range::Distinct);
      Value *gamma = b.param("gamma", {c}, Range::Positive);
      Value *beta = b.param("beta", {c});
      Value *rm = b.param("rm", {c}, Range::Any, /*trainable=*/false);
      Value *rv = b.param("rv", {c}, Range::Positive, /*trainable=*/false);
      b.lossOf(b.op(OpKind::BatchNorm, {x, gamma, beta, rm, rv}, {}, "y"));
    };
    add(bn);
  }
  // Activations, selection, losses (sequence-model family).
  add(oneOp(OpKind::LeakyRelu, {{{N, 4}, Range::AwayFromZero}}, attrs({{"alpha", 0.2}})));
  add(oneOp(OpKind::Gelu, {{{N, 4}}}));
  add(oneOp(OpKind::Gelu, {{{N, 4}}}, attrs({{"approximate", std::string("tanh")}})));
  add(oneOp(OpKind::Gaussian, {{{N, 4}}}));
  add(oneOp(OpKind::Elu, {{{N, 4}, Range::AwayFromZero}}));
  add(oneOp(OpKind::Softplus, {{{N, 4}}}));
  add(oneOp(OpKind::Pow, {{{N, 4}, Range::Positive}}, attrs({{"exponent", 3.0}})));
  add(oneOp(OpKind::Pow, {{{N, 4}, Range::Positive}}, attrs({{"exponent", -1.5}})));
  // Operands drawn independently are never within kEps of a tie.
  add(oneOp(OpKind::Maximum, {{{N, 4}}, {{4}}}));
  add(oneOp(OpKind::Minimum, {{{N, 4}}, {{N, 4}}}));
  {
    // where(mask, a, b): the mask is a frozen 0/1 param (no gradient flows to it).
    Recipe r;
    r.op = OpKind::Where;
    r.description = "where(f32[N,4] mask, f32[N,4], f32[4])";
    r.build = [](CheckBuilder &b) {
      Value *m = b.param("mask", {N, 4}, Range::Any, /*trainable=*/false);
      Value *pos = b.op(OpKind::Step, {m}, {}, "m01");
      b.lossOf(b.op(OpKind::Where, {pos, b.param("a", {N, 4}), b.param("b", {4})}, {}, "y"));
    };
    add(std::move(r));
  }
  add(oneOp(OpKind::BceWithLogits, {{{N, 4}}, {{N, 4}}}));
  add(oneOp(OpKind::Nll, {{{N, 5}}, {{N}, Range::Any, 5}}));
  add(oneOp(OpKind::Nll, {{{N, 2, 4}}, {{N, 2}, Range::Any, 4}}));

  // Embedding (ids drawn from 5 rows: N = 3 x 4 positions repeat ids), slicing.
  add(oneOp(OpKind::Embedding, {{{N, 4}, Range::Any, 5}, {{5, 3}}}));
  add(oneOp(OpKind::Slice, {{{N, 5}}}, attrs({{"axis", int64_t(1)}, {"start", int64_t(1)},
                                              {"end", int64_t(4)}})));
  add(oneOp(OpKind::Slice, {{{4, N, 2}}}, attrs({{"axis", int64_t(0)}, {"start", int64_t(2)},
                                                 {"end", int64_t(4)}})));
  add(oneOp(OpKind::Concat, {{{N, 2}}, {{N, 3}}}, attrs({{"axis", int64_t(1)}})));
  // bmm: every transpose combination over batch dims [N, 2].
  for (int64_t ta : {0, 1})
    for (int64_t tb : {0, 1})
      add(oneOp(OpKind::Bmm, {{ta ? Shape{N, 2, 4, 3} : Shape{N, 2, 3, 4}},
                              {tb ? Shape{N, 2, 5, 4} : Shape{N, 2, 4, 5}}},
                attrs({{"transpose_a", ta}, {"transpose_b", tb}})));
  // bmm with broadcast leading dims: the gradient of the broadcast operand
  // sums over the dims it was repeated along.
  add(oneOp(OpKind::Bmm, {{{N, 2, 3, 4}}, {{4, 5}}}, attrs({})));
  add(oneOp(OpKind::Bmm, {{{N, 1, 3, 4}}, {{2, 5, 4}}}, attrs({{"transpose_b", int64_t(1)}})));
  add(oneOp(OpKind::Concat, {{{N, 1, 2}}, {{N, 2, 2}}, {{N, 1, 2}}},
            attrs({{"axis", int64_t(-2)}})));
  // layer_norm_rows over the last axis and over the last two: dx through
  // the row statistics, the weight's and the bias's sums over rows.
  add(oneOp(OpKind::LayerNormRows, {{{N, 3, 4}, Range::Distinct}, {{4}, Range::Positive}, {{4}}},
            attrs({{"dims", int64_t(1)}, {"eps", 1e-5}})));
  add(oneOp(OpKind::LayerNormRows,
            {{{N, 2, 3}, Range::Distinct}, {{2, 3}, Range::Positive}, {{2, 3}}},
            attrs({{"dims", int64_t(2)}, {"eps", 1e-5}})));
  // Added last so that the recipes above keep their seeds. conv2d's kernels
  // have fast paths for stride 1 along the width (vectorized im2col and
  // col2im) and for stride 1 (the input gradient as a conv of dy); these
  // reach the vectorized col2im: stride [2,1], and a 1x1 kernel with more
  // padding than the kernel covers.
  add(oneOp(OpKind::Conv2d, {{{N, 2, 5, 4}}, {{2, 2, 3, 3}}}, conv({2, 1}, {1, 1}, {1, 1}, 1)));
  add(oneOp(OpKind::Conv2d, {{{N, 2, 3, 4}}, {{2, 2, 1, 1}}, {{2}}},
            conv({1, 1}, {1, 1}, {1, 1}, 1)));
  return rs;
}

const std::vector<Recipe> &recipes() {
  static const std::vector<Recipe> rs = allRecipes();
  return rs;
}

// ---- The checks -------------------------------------------------------------------

TEST(GradCheck, EveryDifferentiableOpHasARecipe) {
  std::set<OpKind> covered;
  for (const Recipe &r : recipes())
    covered.insert(r.op);
#define OP(Enum, Name, NumInputs, Class, Flags)                                \
  if (ir::opInfo(OpKind::Enum).hasGrad()) {                                    \
    EXPECT_TRUE(covered.count(OpKind::Enum))                                   \
        << "op '" Name "' has a gradient rule but no gradient-check recipe in " \
           "tests/numeric/GradCheckTest.cpp";                                  \
  }
#include "ir/Ops.def"
}

class GradCheckOp : public ::testing::TestWithParam<size_t> {};

TEST_P(GradCheckOp, MatchesFiniteDifferences) {
  const Recipe &r = recipes()[GetParam()];
  SCOPED_TRACE(r.description);
  checkGradients(r.build, r.seed, r.trainMode);
}

INSTANTIATE_TEST_SUITE_P(
    Ops, GradCheckOp, ::testing::Range<size_t>(0, recipes().size()),
    [](const ::testing::TestParamInfo<size_t> &info) {
      // "matmul_3": the op and the recipe's index, unique and a valid name.
      return ir::opName(recipes()[info.param].op).str() + "_" + std::to_string(info.param);
    });

// Composite graphs: what single ops do not exercise (fan-out accumulation,
// gradients flowing through several rules, data inputs that get none).

TEST(GradCheck, SameParamUsedTwice) {
  // y = p*p + p: the two uses of p must be summed (dy/dp = 2p + 1).
  checkGradients(
      [](CheckBuilder &b) {
        Value *p = b.param("p", {N, 3});
        Value *sq = b.op(OpKind::Mul, {p, p}, {}, "sq");
        b.lossOf(b.op(OpKind::Add, {sq, p}, {}, "y"));
      },
      7);
}

TEST(GradCheck, SlicesThatTileAValueAndSlicesWithAGap) {
  // Slices tiling z along its last axis (out of order) get z's gradient as
  // one concat; the slices of z2 leave a gap and keep slice_grad + add.
  checkGradients(
      [](CheckBuilder &b) {
        Value *p = b.param("p", {N, 6});
        Value *z = b.op(OpKind::Tanh, {p}, {}, "z");
        auto cut = [&](Value *v, int64_t start, int64_t end, const char *name) {
          return b.op(OpKind::Slice, {v}, attrs({{"axis", int64_t{-1}}, {"start", start}, {"end", end}}),
                      name);
        };
        Value *c = cut(z, 4, 6, "c"), *a = cut(z, 0, 2, "a"), *bb = cut(z, 2, 4, "b");
        Value *m = b.op(OpKind::Add, {b.op(OpKind::Mul, {b.op(OpKind::Sigmoid, {a}), bb}), c});
        Value *z2 = b.op(OpKind::Exp, {p}, {}, "z2");
        Value *q = b.op(OpKind::Mul, {cut(z2, 0, 2, "d"), cut(z2, 4, 6, "e")});
        b.lossOf(b.op(OpKind::Add, {m, q}, {}, "y"));
      },
      13);
}

TEST(GradCheck, SmallMlp) {
  // tanh MLP with a cross-entropy loss plus an activation penalty on h, which
  // fans h out to the second layer and to the penalty.
  checkGradients(
      [](CheckBuilder &b) {
        Value *x = b.data("x", {N, 3});
        Value *labels = b.labels("labels", {N}, 2);
        Value *w1 = b.param("W1", {3, 4});
        Value *b1 = b.param("b1", {4});
        Value *w2 = b.param("W2", {4, 2});
        Value *b2 = b.param("b2", {2});
        Value *h = b.op(OpKind::Tanh,
                        {b.op(OpKind::Add, {b.op(OpKind::MatMul, {x, w1}), b1})}, {}, "h");
        Value *logits = b.op(OpKind::Add, {b.op(OpKind::MatMul, {h, w2}), b2}, {}, "logits");
        Value *ce = b.op(OpKind::SoftmaxCrossEntropy, {logits, labels}, {}, "ce");
        Value *penalty = b.op(OpKind::ReduceMean, {b.op(OpKind::Mul, {h, h})}, {}, "penalty");
        Value *scale = b.op(OpKind::Constant, {}, attrs({{"value", 0.5}}), "scale");
        b.graph().loss =
            b.op(OpKind::Add, {ce, b.op(OpKind::Mul, {penalty, scale})}, {}, "loss");
      },
      11);
}

TEST(GradCheck, CausalMultiHeadAttentionLayer) {
  // The expanded layer end to end: projections, bmm, scaling, causal where,
  // softmax, head split and join. Params declared so the check fills them.
  checkGradients(
      [](CheckBuilder &b) {
        Value *x = b.param("x", {N, 3, 4});
        // The key bias is frozen: its gradient is exactly 0 (it adds q.b_k,
        // the same for every key, to a row of scores, which softmax ignores).
        for (const char *p : {"q", "k", "v", "out"}) {
          b.param(std::string("y.") + p + "_proj.weight", {4, 4});
          b.param(std::string("y.") + p + "_proj.bias", {4}, Range::Any,
                  /*trainable=*/std::string(p) != "k");
        }
        b.lossOf(b.op(OpKind::MultiHeadAttention, {x},
                      attrs({{"num_heads", int64_t(2)}, {"causal", int64_t(1)}}), "y"));
      },
      13);
}

TEST(GradCheck, TransformerBlockLayer) {
  // Pre-LN attention + GELU FFN with residuals; params declared (random
  // values, so the LayerNorm scales are not all 1), the key bias frozen.
  checkGradients(
      [](CheckBuilder &b) {
        Value *x = b.param("x", {N, 3, 4});
        for (const char *ln : {"y.ln1", "y.ln2"}) {
          b.param(std::string(ln) + ".weight", {4});
          b.param(std::string(ln) + ".bias", {4});
        }
        for (const char *p : {"q", "k", "v", "out"}) {
          b.param(std::string("y.attn.") + p + "_proj.weight", {4, 4});
          b.param(std::string("y.attn.") + p + "_proj.bias", {4}, Range::Any,
                  /*trainable=*/std::string(p) != "k");
        }
        b.param("y.ffn1.weight", {6, 4});
        b.param("y.ffn1.bias", {6});
        b.param("y.ffn2.weight", {4, 6});
        b.param("y.ffn2.bias", {4});
        b.lossOf(b.op(OpKind::TransformerBlock, {x},
                      attrs({{"num_heads", int64_t(2)}, {"ffn_dim", int64_t(6)},
                             {"causal", int64_t(1)}}),
                      "y"));
      },
      19);
}

TEST(GradCheck, LstmAndGruLayers) {
  for (OpKind cell : {OpKind::Lstm, OpKind::Gru}) {
    SCOPED_TRACE(ir::opName(cell).str());
    int64_t g = cell == OpKind::Lstm ? 4 : 3;
    checkGradients(
        [&](CheckBuilder &b) {
          Value *x = b.param("x", {N, 3, 2});
          b.param("y.weight_ih", {g * 2, 2});
          b.param("y.weight_hh", {g * 2, 2});
          b.param("y.bias_ih", {g * 2});
          b.param("y.bias_hh", {g * 2});
          b.lossOf(b.op(cell, {x}, attrs({{"hidden_size", int64_t(2)}}), "y"));
        },
        17);
  }
}

TEST(GradCheck, InterpreterAppliesSgdUpdates) {
  // infer-shapes, autodiff, sgd; one step: W_after == W_before - lr * dW.
  CheckBuilder b;
  Value *x = b.data("x", {N, 3});
  Value *w = b.param("W", {3, 2});
  Value *bias = b.param("bias", {2});
  Value *frozen = b.param("F", {2}, Range::Any, /*trainable=*/false);
  Value *y = b.op(OpKind::Add, {b.op(OpKind::MatMul, {x, w}), bias});
  b.lossOf(b.op(OpKind::Tanh, {b.op(OpKind::Mul, {y, frozen})}, {}, "t"));
  ir::Graph &g = b.graph();
  runPass(passes::createInferShapesPass(), g, true);
  runPass(passes::createAutodiffPass(), g, true);
  runPass(passes::createOptimizerPass(), g, true);
  ASSERT_FALSE(HasFailure());
  ASSERT_EQ(g.updates.size(), 2u);

  const rt::BufferDesc *lrDesc = nullptr;
  auto exe = interp::makeInterpreter(g);
  for (const rt::BufferDesc &d : exe->buffers())
    if (d.role == rt::BufferRole::HyperInput)
      lrDesc = &d;
  ASSERT_NE(lrDesc, nullptr) << "sgd adds a learning-rate hyper input";

  TensorRng rng(5);
  BoundBuffers bufs(*exe, kCheckBatch);
  for (const auto &[name, fill] : b.fills())
    bufs.set(name, drawValue(fill, bufs.get(name).shape(), rng));
  const float lr = 0.25f;
  bufs.set(lrDesc->name, tensorOf({}, {lr}));
  std::map<std::string, rt::Tensor> before;
  for (const Value *p : g.params())
    before[p->name()] = bufs.get(p->name());

  expectOk(bufs.run());
  for (const auto &[param, grad] : g.gradients) {
    SCOPED_TRACE("param %" + param->name());
    const rt::Tensor &dW = bufs.get(grad->name());
    const rt::Tensor &old = before[param->name()];
    rt::Tensor expect(DType::F32, old.shape());
    for (int64_t i = 0; i < old.numel(); ++i)
      expect.f32()[i] = old.f32()[i] - lr * dW.f32()[i];
    EXPECT_TRUE(allClose(bufs.get(param->name()), expect, 1e-6, 1e-7));
    EXPECT_GT(maxAbsDiff(bufs.get(param->name()), old), 1e-3) << "the param did not move";
  }
  // The frozen param and the data are untouched.
  EXPECT_TRUE(allClose(bufs.get("F"), before["F"], 0, 0));

  // A second step starts from the updated params: its gradient is evaluated
  // there, so the loss goes down for a small enough step.
  float loss1 = bufs.get(g.loss->name()).f32()[0];
  expectOk(bufs.run());
  float loss2 = bufs.get(g.loss->name()).f32()[0];
  EXPECT_LT(loss2, loss1);
}

} // namespace
