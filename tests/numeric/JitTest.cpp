//===- tests/numeric/JitTest.cpp - JIT-compiled code vs the interpreter ----===//
//
// Every op of ir/Ops.def has a list of recipes here (a test fails when an op
// has none): small one-op graphs over random inputs, with the batch dimension
// N where it can appear, broadcasting, reductions over several axes with and
// without keepdims, every matmul transpose combination, softmax along first,
// middle and last axes. Each recipe is compiled once with codegen::compileGraph
// and run at batch 3, 5 and 0 (an empty batch must run and agree too); every
// result is compared with the reference interpreter, which computes in double
// and rounds once.
//
// Tolerances (|jit - ref| <= atol + rtol*|ref|), by what the JIT does:
//   - +, -, *, /, neg, relu, data movement: one correctly rounded f32
//     operation per element, the same result as the oracle: exact;
//   - chains of a few f32 operations (sigmoid_grad, mse_grad, ...) and
//     contract (fma) fusion: a few ulp, rtol 1e-6 / atol 1e-6;
//   - exp, log, tanh, sigmoid and the softmax family: rtol 1e-5 / atol 1e-6
//     (f32 polynomial or libm vs a double reference);
//   - sums in f32 (reassociated into vector lanes): the error grows with
//     the number of terms n and their magnitude, so atol is n * 2^-23 * max|x|
//     (here inputs are in [-1, 1]); matmul likewise with K terms.
//
// Then a whole MLP training step (autodiff + SGD from passes/) against the
// interpreter: loss, logits, every gradient and every updated param; the
// printed LLVM IR; documented behaviour on out-of-range labels; and special
// values (inf, NaN, 0, huge) through the transcendental functions.
//
//===----------------------------------------------------------------------===//
#include "tests/numeric/NumericUtil.h"

#include "codegen/Jit.h"
#include "ir/Vision.h"
#include "passes/Passes.h"

#include <cmath>
#include <limits>
#include <map>
#include <regex>
#include <tuple>

using namespace gradc;
using namespace gradc::test;
using ir::OpKind;

namespace {

// ---- Recipes ------------------------------------------------------------------

enum class Gen { Uniform, AwayFromZero, Labels, Mask };

/// How one operand is declared and filled.
struct In {
  Shape shape; // may contain kBatch
  Gen gen = Gen::Uniform;
  float lo = -1, hi = 1; // Uniform: [lo, hi); AwayFromZero: |x| in [lo, hi)
  int32_t classes = 0;   // Labels
};
In uni(Shape s, float lo = -1, float hi = 1) { return {std::move(s), Gen::Uniform, lo, hi}; }
In away(Shape s, float lo, float hi) { return {std::move(s), Gen::AwayFromZero, lo, hi}; }
In labels(Shape s, int32_t classes) { return {std::move(s), Gen::Labels, 0, 0, classes}; }
/// f32 elements that are 0 or 1 (a where mask).
In mask(Shape s) { return {std::move(s), Gen::Mask}; }

struct Tol {
  double rtol, atol;
};
constexpr Tol kExact{0, 0};
constexpr Tol kFewUlp{1e-6, 1e-6};
constexpr Tol kTranscendental{1e-5, 1e-6};
/// A sum of `n` f32 terms of magnitude <= `mag`.
Tol sumOf(double n, double mag = 1) { return {1e-6, n * mag * 0x1p-23 + 1e-6}; }

struct Recipe {
  std::string what;
  std::vector<In> ins;
  ir::Attrs attrs;
  Tol tol;
};

constexpr int64_t N = kBatch;

ir::Attrs mm(int ta, int tb) {
  return attrs({{"transpose_a", int64_t(ta)}, {"transpose_b", int64_t(tb)}});
}
ir::Attrs reduce(Ints axes, int keep) {
  ir::Attrs a;
  if (!axes.empty())
    a.set("axes", axes);
  a.set("keepdims", int64_t(keep));
  return a;
}
ir::Attrs axis(int64_t ax) { return attrs({{"axis", ax}}); }

std::map<OpKind, std::vector<Recipe>> recipes() {
  std::map<OpKind, std::vector<Recipe>> r;
  r[OpKind::MatMul] = {
      {"[N,7]x[7,5]", {uni({N, 7}), uni({7, 5})}, mm(0, 0), sumOf(7)},
      {"[7,N]^T x[7,5]", {uni({7, N}), uni({7, 5})}, mm(1, 0), sumOf(7)},
      {"[N,7]x[5,7]^T", {uni({N, 7}), uni({5, 7})}, mm(0, 1), sumOf(7)},
      {"[7,N]^T x[5,7]^T", {uni({7, N}), uni({5, 7})}, mm(1, 1), sumOf(7)},
      {"weight grad [N,9]^T x[N,6]", {uni({N, 9}), uni({N, 6})}, mm(1, 0), sumOf(5)},
      {"[33,70]x[70,45]", {uni({33, 70}), uni({70, 45})}, mm(0, 0), sumOf(70)},
      // Leftover columns (Nn % 64) as one tile of 2 or 3 vectors, unmasked
      // (32, 64 + 48), and one masked vector at a time when Nn is the batch.
      {"[N,20]x[20,32]", {uni({N, 20}), uni({20, 32})}, mm(0, 0), sumOf(20)},
      {"[9,20]x[20,112]", {uni({9, 20}), uni({20, 112})}, mm(0, 0), sumOf(20)},
      {"[5,7]x[7,N]", {uni({5, 7}), uni({7, N})}, mm(0, 0), sumOf(7)},
      {"[70,33]^T x[45,70]^T", {uni({70, 33}), uni({45, 70})}, mm(1, 1), sumOf(70)},
      {"[N,40]x[37,40]^T", {uni({N, 40}), uni({37, 40})}, mm(0, 1), sumOf(40)},
      // Long K takes the dot-product kernel (with a masked K % V step).
      {"[N,150]x[37,150]^T", {uni({N, 150}), uni({37, 150})}, mm(0, 1), sumOf(150)},
      {"[9,N]x[6,N]^T", {uni({9, N}), uni({6, N})}, mm(0, 1), sumOf(5)},
      {"[N,9]^T x[6,N]^T", {uni({N, 9}), uni({6, N})}, mm(1, 1), sumOf(5)},
      // Rank 3: a dense layer at every position, and its two gradients.
      {"[N,3,7]x[7,5]", {uni({N, 3, 7}), uni({7, 5})}, mm(0, 0), sumOf(7)},
      {"[N,3,40]x[6,40]^T", {uni({N, 3, 40}), uni({6, 40})}, mm(0, 1), sumOf(40)},
      {"[N,3,7]^T x[N,3,5]", {uni({N, 3, 7}), uni({N, 3, 5})}, mm(1, 0), sumOf(15)},
      // B rows 1024+ floats apart: panels of B packed when C has 64+ rows
      // (constant here), decided at run time for a batch of rows (3 and 5:
      // not packed); 1040 columns end in a masked edge.
      {"[66,N]^T x[N,1040] packed panels", {uni({N, 66}), uni({N, 1040})}, mm(1, 0), sumOf(5)},
      {"[N,6]x[6,1040] wide B, few rows", {uni({N, 6}), uni({6, 1040})}, mm(0, 0), sumOf(6)},
  };
  auto binary = [](Gen rhs) {
    auto b = [&](Shape s) {
      return rhs == Gen::AwayFromZero ? away(std::move(s), 0.5f, 2) : uni(std::move(s));
    };
    return std::vector<Recipe>{
        {"same shape [N,4,3]", {uni({N, 4, 3}), b({N, 4, 3})}, {}, kExact},
        {"[N,4,3] with [3]", {uni({N, 4, 3}), b({3})}, {}, kExact},
        {"[N,1,3] with [4,1]", {uni({N, 1, 3}), b({4, 1})}, {}, kExact},
        {"[] with [N,2]", {uni({}), b({N, 2})}, {}, kExact},
        {"[4,1] with [1,N]", {uni({4, 1}), b({1, N})}, {}, kExact},
        {"[N,17] with [N,1]", {uni({N, 17}), b({N, 1})}, {}, kExact},
    };
  };
  r[OpKind::Add] = binary(Gen::Uniform);
  r[OpKind::Sub] = binary(Gen::Uniform);
  r[OpKind::Mul] = binary(Gen::Uniform);
  r[OpKind::Div] = binary(Gen::AwayFromZero);

  r[OpKind::Neg] = {{"[N,37]", {uni({N, 37})}, {}, kExact}};
  r[OpKind::Relu] = {{"[N,37]", {away({N, 37}, 0.01f, 3)}, {}, kExact},
                     {"[2,3,5]", {uni({2, 3, 5})}, {}, kExact}};
  r[OpKind::Sigmoid] = {{"[N,37]", {uni({N, 37}, -12, 12)}, {}, kTranscendental}};
  r[OpKind::Tanh] = {{"[N,37]", {uni({N, 37}, -6, 6)}, {}, kTranscendental},
                     {"small [N,33]", {uni({N, 33}, -0.01f, 0.01f)}, {}, kTranscendental}};
  r[OpKind::Exp] = {{"[N,37]", {uni({N, 37}, -20, 20)}, {}, kTranscendental}};
  r[OpKind::Log] = {{"[N,37]", {uni({N, 37}, 1e-3f, 100)}, {}, kTranscendental},
                    {"near 1 [N,19]", {uni({N, 19}, 0.9f, 1.1f)}, {}, kTranscendental}};
  // llvm.sqrt and the interpreter's double sqrt rounded to f32 are both
  // correctly rounded, so they agree exactly.
  r[OpKind::Sqrt] = {{"[N,37]", {uni({N, 37}, 0, 100)}, {}, kExact},
                     {"tiny [N,5]", {uni({N, 5}, 0, 1e-6f)}, {}, kExact}};

  r[OpKind::Softmax] = {
      {"[N,10] axis -1", {uni({N, 10}, -5, 5)}, axis(-1), kTranscendental},
      {"[N,6] axis 0", {uni({N, 6}, -5, 5)}, axis(0), kTranscendental},
      {"[4,N,3] axis 1", {uni({4, N, 3}, -5, 5)}, axis(1), kTranscendental},
      {"[3,40] default axis", {uni({3, 40}, -5, 5)}, {}, kTranscendental},
  };
  r[OpKind::LogSoftmax] = {
      {"[N,10] axis -1", {uni({N, 10}, -5, 5)}, axis(-1), kTranscendental},
      {"[N,6] axis 0", {uni({N, 6}, -5, 5)}, axis(0), kTranscendental},
      {"[4,N,3] axis 1", {uni({4, N, 3}, -5, 5)}, axis(1), kTranscendental},
  };
  r[OpKind::SoftmaxGrad] = {
      {"[N,10] axis -1", {uni({N, 10}, 0, 1), uni({N, 10})}, axis(-1), sumOf(10)},
      {"[N,6] axis 0", {uni({N, 6}, 0, 1), uni({N, 6})}, axis(0), sumOf(5)},
  };
  r[OpKind::LogSoftmaxGrad] = {
      {"[N,10] axis -1", {uni({N, 10}, -4, 0), uni({N, 10})}, axis(-1), sumOf(10)},
      {"[4,N,3] axis 1", {uni({4, N, 3}, -4, 0), uni({4, N, 3})}, axis(1), sumOf(5)},
  };
  r[OpKind::SoftmaxCrossEntropy] = {
      {"[N,10]", {uni({N, 10}, -5, 5), labels({N}, 10)}, {}, kTranscendental},
      {"[N,2,4]", {uni({N, 2, 4}, -5, 5), labels({N, 2}, 4)}, {}, kTranscendental},
  };
  r[OpKind::SoftmaxCrossEntropyGrad] = {
      {"[N,10]", {uni({N, 10}, -5, 5), labels({N}, 10), uni({}, 0.5f, 2)}, {},
       kTranscendental},
      {"[N,2,4]", {uni({N, 2, 4}, -5, 5), labels({N, 2}, 4), uni({}, 0.5f, 2)}, {},
       kTranscendental},
  };
  r[OpKind::Mse] = {{"[N,6]", {uni({N, 6}), uni({N, 6})}, {}, kFewUlp},
                    {"[3,50]", {uni({3, 50}), uni({3, 50})}, {}, kFewUlp}};
  r[OpKind::MseGrad] = {
      {"[N,6]", {uni({N, 6}), uni({N, 6}), uni({}, 0.5f, 2)}, {}, kFewUlp}};

  auto reductions = [] {
    return std::vector<Recipe>{
        {"all of [N,4,5]", {uni({N, 4, 5})}, reduce({}, 0), sumOf(100)},
        {"all of [N,4,5] keepdims", {uni({N, 4, 5})}, reduce({}, 1), sumOf(100)},
        {"axis 0 of [N,17]", {uni({N, 17})}, reduce({0}, 0), sumOf(5)},
        {"axis 1 of [N,4,5] keepdims", {uni({N, 4, 5})}, reduce({1}, 1), sumOf(4)},
        {"axes 0,2 of [N,4,5] keepdims", {uni({N, 4, 5})}, reduce({0, 2}, 1), sumOf(25)},
        {"axes 0,2 of [N,4,5]", {uni({N, 4, 5})}, reduce({0, 2}, 0), sumOf(25)},
        {"axis -1 of [N,37]", {uni({N, 37})}, reduce({-1}, 0), sumOf(37)},
        {"axis 2 of [N,1,5]", {uni({N, 1, 5})}, reduce({2}, 0), sumOf(5)},
        {"axes 1,3 of [2,3,N,4]", {uni({2, 3, N, 4})}, reduce({1, 3}, 0), sumOf(12)},
    };
  };
  r[OpKind::ReduceSum] = reductions();
  r[OpKind::ReduceMean] = reductions();

  r[OpKind::Reshape] = {
      {"[N,4,3] to [-1,12]", {uni({N, 4, 3})}, attrs({{"shape", Ints{-1, 12}}}), kExact},
      {"[6,4] to [2,12]", {uni({6, 4})}, attrs({{"shape", Ints{2, 12}}}), kExact},
      {"i32 [N,4] to [-1,2,2]", {labels({N, 4}, 100)}, attrs({{"shape", Ints{-1, 2, 2}}}),
       kExact},
  };
  r[OpKind::Transpose] = {
      {"[N,4,3] reversed", {uni({N, 4, 3})}, {}, kExact},
      {"[N,4,3] perm 1,0,2", {uni({N, 4, 3})}, attrs({{"perm", Ints{1, 0, 2}}}), kExact},
      {"[2,N,1,3] perm 0,2,1,3", {uni({2, N, 1, 3})}, attrs({{"perm", Ints{0, 2, 1, 3}}}),
       kExact},
      {"[5,6,7] perm 2,0,1", {uni({5, 6, 7})}, attrs({{"perm", Ints{2, 0, 1}}}), kExact},
      {"i32 [3,N]", {labels({3, N}, 100)}, {}, kExact},
  };
  r[OpKind::BroadcastTo] = {
      {"[4,1] to [N,4,3]", {uni({4, 1})}, attrs({{"shape", Ints{-1, 4, 3}}}), kExact},
      {"[] to [2,N]", {uni({})}, attrs({{"shape", Ints{2, -1}}}), kExact},
      {"[N,1] to [N,5]", {uni({N, 1})}, attrs({{"shape", Ints{-1, 5}}}), kExact},
  };
  r[OpKind::Constant] = {
      {"2.5 of [N,3]", {}, attrs({{"value", 2.5}, {"shape", Ints{-1, 3}}}), kExact},
      {"scalar default", {}, {}, kExact},
      {"-1 of [4,5]", {}, attrs({{"value", -1.0}, {"shape", Ints{4, 5}}}), kExact},
  };
  r[OpKind::Numel] = {
      {"axes 0,2 of [N,4,3]", {uni({N, 4, 3})}, attrs({{"axes", Ints{0, 2}}}), kExact},
      {"all of [N,4,3]", {uni({N, 4, 3})}, {}, kExact},
      {"axis 1 of [N,4,3]", {uni({N, 4, 3})}, attrs({{"axes", Ints{1}}}), kExact},
  };
  r[OpKind::ReluGrad] = {{"[N,37]", {away({N, 37}, 0.01f, 3), uni({N, 37})}, {}, kExact}};
  r[OpKind::SigmoidGrad] = {{"[N,37]", {uni({N, 37}, 0, 1), uni({N, 37})}, {}, kFewUlp}};
  r[OpKind::TanhGrad] = {{"[N,37]", {uni({N, 37}), uni({N, 37})}, {}, kFewUlp}};

  // Vision ops. Conv sums K = Cg*KH*KW products per output (the weight
  // gradient N*OH*OW: at most 5*25 here); pools with overlapping windows
  // (kernel 3 stride 2) add several dy into one dx element.
  auto conv = [](Ints stride, Ints pad, Ints dil, int64_t groups) {
    return attrs({{"stride", stride}, {"padding", pad}, {"dilation", dil},
                  {"groups", groups}});
  };
  r[OpKind::Conv2d] = {
      {"3x3 pad 1", {uni({N, 3, 8, 8}), uni({4, 3, 3, 3})}, conv({1, 1}, {1, 1}, {1, 1}, 1),
       sumOf(27)},
      {"stride 2, padding [1,2], bias", {uni({N, 4, 9, 7}), uni({6, 4, 3, 3}), uni({6})},
       conv({2, 2}, {1, 2}, {1, 1}, 1), sumOf(37)},
      {"dilation 2", {uni({N, 2, 9, 9}), uni({3, 2, 3, 3})}, conv({1, 1}, {0, 0}, {2, 2}, 1),
       sumOf(18)},
      {"groups 2, bias", {uni({N, 4, 6, 6}), uni({6, 2, 3, 3}), uni({6})},
       conv({1, 1}, {1, 1}, {1, 1}, 2), sumOf(19)},
      {"lenet conv1 5x5 pad 2 (one int attrs)", {uni({N, 1, 28, 28}), uni({6, 1, 5, 5})},
       attrs({{"padding", int64_t(2)}}), sumOf(25)},
      {"depthwise stride [2,1]", {uni({N, 3, 7, 6}), uni({3, 1, 3, 2})},
       conv({2, 1}, {0, 1}, {1, 1}, 3), sumOf(6)},
      {"1x1 groups 2, bias (the input is the column matrix)",
       {uni({N, 4, 5, 6}), uni({6, 2, 1, 1}), uni({6})}, conv({1, 1}, {0, 0}, {1, 1}, 2), sumOf(3)},
      {"stride [1,3] (scalar im2col)", {uni({N, 2, 6, 20}), uni({3, 2, 3, 3})},
       conv({1, 3}, {1, 1}, {1, 1}, 1), sumOf(18)},
      // Direct (no im2col): output rows of 1, 2 or 4 vectors; 6 output
      // channels leave 2 for single-channel tiles; a 2x3 kernel with
      // padding [0,1].
      {"direct 3x3 pad 1 rows of 16, bias", {uni({N, 3, 16, 16}), uni({6, 3, 3, 3}), uni({6})},
       conv({1, 1}, {1, 1}, {1, 1}, 1), sumOf(28)},
      {"direct rows of 32", {uni({N, 2, 6, 32}), uni({5, 2, 3, 3})},
       conv({1, 1}, {1, 1}, {1, 1}, 1), sumOf(18)},
      {"direct 2x3 kernel rows of 64", {uni({N, 2, 3, 64}), uni({4, 2, 2, 3})},
       conv({1, 1}, {0, 1}, {1, 1}, 1), sumOf(12)},
  };
  // (dy, w, x) and (x, dy, w): dy has the conv's output shape.
  r[OpKind::Conv2dGradInput] = {
      {"3x3 pad 1", {uni({N, 4, 8, 8}), uni({4, 3, 3, 3}), uni({N, 3, 8, 8})},
       conv({1, 1}, {1, 1}, {1, 1}, 1), sumOf(36)},
      {"stride 2 padding [1,2] dilation 2 groups 2",
       {uni({N, 6, 4, 4}), uni({6, 2, 3, 3}), uni({N, 4, 9, 7})},
       conv({2, 2}, {1, 2}, {2, 2}, 2), sumOf(27)},
      // Stride 1 is a conv of dy (padding d*(k-1) - pad >= 0); otherwise,
      // with stride 1 along the width, a vectorized col2im.
      {"3x3 pad 1 rows of 16 (a direct conv of dy)",
       {uni({N, 5, 16, 16}), uni({5, 3, 3, 3}), uni({N, 3, 16, 16})},
       conv({1, 1}, {1, 1}, {1, 1}, 1), sumOf(45)},
      {"5x5 pad 2 rows of 21 (a full conv of dy)",
       {uni({N, 3, 6, 21}), uni({3, 2, 5, 5}), uni({N, 2, 6, 21})},
       conv({1, 1}, {2, 2}, {1, 1}, 1), sumOf(75)},
      {"1x1 pad 1 groups 2 (padding past the kernel: col2im)",
       {uni({N, 4, 7, 21}), uni({4, 1, 1, 1}), uni({N, 2, 5, 19})},
       conv({1, 1}, {1, 1}, {1, 1}, 2), sumOf(2)},
      {"stride [2,1] dilation [1,2] (col2im by vectors)",
       {uni({N, 4, 5, 18}), uni({4, 3, 3, 3}), uni({N, 3, 9, 20})},
       conv({2, 1}, {1, 1}, {1, 2}, 1), sumOf(36)},
  };
  r[OpKind::Conv2dGradWeight] = {
      {"3x3 pad 1", {uni({N, 3, 6, 6}), uni({N, 4, 6, 6}), uni({4, 3, 3, 3})},
       conv({1, 1}, {1, 1}, {1, 1}, 1), sumOf(5 * 36)},
      {"stride 2 padding [1,2] dilation 2 groups 2",
       {uni({N, 4, 9, 7}), uni({N, 6, 4, 4}), uni({6, 2, 3, 3})},
       conv({2, 2}, {1, 2}, {2, 2}, 2), sumOf(5 * 16)},
      {"5x5 pad 2 rows of 21", {uni({N, 2, 6, 21}), uni({N, 3, 6, 21}), uni({3, 2, 5, 5})},
       conv({1, 1}, {2, 2}, {1, 1}, 1), sumOf(5 * 126)},
      // Direct: 27 taps (6 tiles of 4 and 3 single ones) x 5 channels.
      {"direct 3x3 pad 1 rows of 16", {uni({N, 3, 16, 16}), uni({N, 5, 16, 16}), uni({5, 3, 3, 3})},
       conv({1, 1}, {1, 1}, {1, 1}, 1), sumOf(5 * 256)},
      {"1x1 stride [2,1]", {uni({N, 4, 5, 6}), uni({N, 3, 3, 6}), uni({3, 4, 1, 1})},
       conv({2, 1}, {0, 0}, {1, 1}, 1), sumOf(5 * 18)},
      // Columns of more than 2^17 floats: one sample per GEMM.
      {"64x64 image (one sample per GEMM)",
       {uni({N, 4, 64, 64}), uni({N, 2, 64, 64}), uni({2, 4, 3, 3})},
       conv({1, 1}, {1, 1}, {1, 1}, 1), sumOf(5 * 4096)},
  };
  auto pool = [](Ints kernel, Ints stride, Ints pad) {
    return attrs({{"kernel", kernel}, {"stride", stride}, {"padding", pad}});
  };
  const std::vector<std::pair<std::string, ir::Attrs>> pools = {
      {"kernel 2 [N,3,8,8]", attrs({{"kernel", int64_t(2)}})},
      {"kernel 3 stride 2 [N,2,9,9]", pool({3, 3}, {2, 2}, {0, 0})},
      {"kernel 3 stride 2 padding 1 [N,2,9,9]", pool({3, 3}, {2, 2}, {1, 1})},
      {"kernel [2,3] stride [1,2] padding [1,0]", pool({2, 3}, {1, 2}, {1, 0})},
  };
  auto poolIn = [](const std::string &what) {
    return what.find("[N,3,8,8]") != std::string::npos ? Shape{N, 3, 8, 8} : Shape{N, 2, 9, 9};
  };
  for (const auto &[what, a] : pools) {
    Shape x = poolIn(what);
    // Output shape of this pool for its dy operand.
    auto k = ir::pairAttr(a, "kernel", {1, 1});
    auto st = ir::pairAttr(a, "stride", k);
    auto p = ir::pairAttr(a, "padding", {0, 0});
    Shape y{N, x[1], (x[2] + 2 * p[0] - k[0]) / st[0] + 1, (x[3] + 2 * p[1] - k[1]) / st[1] + 1};
    r[OpKind::MaxPool2d].push_back({what, {uni(x)}, a, kExact});
    r[OpKind::AvgPool2d].push_back({what, {uni(x)}, a, sumOf(9)});
    r[OpKind::MaxPool2dGrad].push_back({what, {uni(x), uni(y)}, a, kFewUlp});
    r[OpKind::AvgPool2dGrad].push_back({what, {uni(x), uni(y)}, a, sumOf(9)});
  }
  r[OpKind::GlobalAvgPool] = {{"[N,3,5,4]", {uni({N, 3, 5, 4})}, {}, sumOf(20)}};
  r[OpKind::Flatten] = {{"[N,2,3,4]", {uni({N, 2, 3, 4})}, {}, kExact},
                        {"i32 [N,3,2]", {labels({N, 3, 2}, 100)}, {}, kExact}};
  // Eval forms: batch_norm with running statistics (PyTorch's alpha/shift
  // form in the JIT: a few roundings), dropout as the identity; the training
  // form dropout_train must draw bitwise the interpreter's mask.
  r[OpKind::BatchNorm] = {
      {"[N,3,4,5]", {uni({N, 3, 4, 5}, -3, 3), uni({3}), uni({3}), uni({3}), uni({3}, 0.2f, 2)},
       attrs({{"eps", 1e-3}}), {1e-5, 1e-5}},
      {"[N,7]", {uni({N, 7}, -3, 3), uni({7}), uni({7}), uni({7}), uni({7}, 0.2f, 2)}, {},
       {1e-5, 1e-5}},
  };
  // Training batch norm kernels: double sums over a channel's N*H*W values,
  // an f32 apply (tests/numeric/BatchNormTest.cpp has data with a large
  // offset). The kernels that take batch_stats' [4, C] get any statistics:
  // rows K, mean - K, var, unbiased var all in [0.5, 2).
  for (Shape xs : {Shape{N, 3, 4, 5}, Shape{N, 7}, Shape{N, 16, 32, 32}}) {
    std::string what = shapeToString(xs);
    Shape c{xs[1]}, st{4, xs[1]};
    Tol tol = sumOf(5 * 20, 3);
    r[OpKind::BatchStats].push_back({what, {uni(xs, -2, 3)}, {}, tol});
    r[OpKind::BatchNormTrain].push_back(
        {what, {uni(xs, -2, 3), uni(c), uni(c), uni(st, 0.5f, 2)}, attrs({{"eps", 1e-3}}), tol});
    r[OpKind::BatchNormTrainGrad].push_back(
        {what, {uni(xs, -2, 3), uni(c), uni(xs), uni(st, 0.5f, 2), uni(c), uni(c)}, {}, tol});
    r[OpKind::BatchNormGradGamma].push_back(
        {what, {uni(xs, -2, 3), uni(xs), uni(st, 0.5f, 2)}, {}, tol});
  }
  r[OpKind::BatchMean].push_back({"[4,7]", {uni({4, 7}, -2, 3)}, {}, kExact});
  r[OpKind::BatchVar].push_back({"[4,7]", {uni({4, 7}, 0.5f, 2)}, {}, kExact});
  r[OpKind::Dropout] = {{"[N,37] p 0.5", {uni({N, 37})}, attrs({{"p", 0.5}}), kExact}};
  r[OpKind::DropoutTrain] = {
      {"[N,37] p 0.5 seed 3", {uni({N, 37}), uni({}, 1, 5000)},
       attrs({{"p", 0.5}, {"seed", int64_t(3)}}), kExact},
      {"[N,3,4,5] p 0.1", {uni({N, 3, 4, 5}), uni({}, 1, 5000)}, attrs({{"p", 0.1}}), kExact},
  };
  // ---- Activations, selection, losses (sequence-model family) ----
  // erf (gelu) is a polynomial with 1.5e-7 absolute error.
  r[OpKind::LeakyRelu] = {{"[N,37]", {away({N, 37}, 0.01f, 3)}, {}, kFewUlp},
                          {"alpha 0.2", {uni({N, 9}, -3, 3)}, attrs({{"alpha", 0.2}}), kFewUlp}};
  r[OpKind::Gelu] = {{"exact [N,37]", {uni({N, 37}, -6, 6)}, {}, kTranscendental},
                     {"tanh [N,37]", {uni({N, 37}, -6, 6)},
                      attrs({{"approximate", std::string("tanh")}}), kTranscendental}};
  r[OpKind::Gaussian] = {{"[N,37]", {uni({N, 37}, -5, 5)}, {}, kTranscendental}};
  r[OpKind::Elu] = {{"[N,37]", {uni({N, 37}, -5, 5)}, {}, kTranscendental},
                    {"alpha 0.5", {uni({N, 9}, -5, 5)}, attrs({{"alpha", 0.5}}), kTranscendental}};
  r[OpKind::Softplus] = {{"[N,37]", {uni({N, 37}, -30, 30)}, {}, kTranscendental}};
  r[OpKind::Step] = {{"[N,37]", {uni({N, 37})}, {}, kExact}};
  r[OpKind::Pow] = {
      {"x^3 [N,13]", {uni({N, 13}, -2, 2)}, attrs({{"exponent", 3.0}}), kFewUlp},
      {"x^-2 [N,13]", {away({N, 13}, 0.5f, 2)}, attrs({{"exponent", -2.0}}), kFewUlp},
      {"x^0.5 [N,13]", {uni({N, 13}, 0, 4)}, attrs({{"exponent", 0.5}}), kExact},
      {"x^1.7 [N,13]", {uni({N, 13}, 0.1f, 4)}, attrs({{"exponent", 1.7}}), kTranscendental}};
  r[OpKind::Maximum] = {{"[N,4,3] with [3]", {uni({N, 4, 3}), uni({3})}, {}, kExact},
                        {"same [N,17]", {uni({N, 17}), uni({N, 17})}, {}, kExact}};
  r[OpKind::Minimum] = r[OpKind::Maximum];
  r[OpKind::Where] = {
      {"[N,4,3] mask [4,1]", {mask({4, 1}), uni({N, 4, 3}), uni({3})}, {}, kExact},
      {"same [N,17]", {mask({N, 17}), uni({N, 17}), uni({N, 17})}, {}, kExact}};
  r[OpKind::ActivationGrad] = {
      {"leaky_relu", {away({N, 13}, 0.01f, 3), uni({N, 13})},
       attrs({{"op", std::string("leaky_relu")}}), kFewUlp},
      {"gelu", {uni({N, 13}, -6, 6), uni({N, 13})}, attrs({{"op", std::string("gelu")}}),
       kTranscendental},
      {"gelu tanh", {uni({N, 13}, -6, 6), uni({N, 13})},
       attrs({{"op", std::string("gelu")}, {"approximate", std::string("tanh")}}),
       kTranscendental},
      {"gaussian", {uni({N, 13}, -4, 4), uni({N, 13})},
       attrs({{"op", std::string("gaussian")}}), kTranscendental},
      {"elu", {uni({N, 13}, -4, 4), uni({N, 13})}, attrs({{"op", std::string("elu")}}),
       kTranscendental},
      {"softplus", {uni({N, 13}, -10, 10), uni({N, 13})},
       attrs({{"op", std::string("softplus")}}), kTranscendental}};
  r[OpKind::ExtremumGrad] = {
      {"maximum", {uni({N, 4, 3}), uni({3}), uni({N, 4, 3})},
       attrs({{"op", std::string("maximum")}}), kExact},
      {"minimum", {uni({N, 5}), uni({N, 5}), uni({N, 5})},
       attrs({{"op", std::string("minimum")}}), kExact}};
  r[OpKind::BceWithLogits] = {{"[N,7]", {uni({N, 7}, -8, 8), uni({N, 7}, 0, 1)}, {},
                               kTranscendental}};
  r[OpKind::Nll] = {{"[N,10]", {uni({N, 10}, -5, 0), labels({N}, 10)}, {}, sumOf(5, 5)},
                    {"[N,3,4]", {uni({N, 3, 4}, -5, 0), labels({N, 3}, 4)}, {}, sumOf(15, 5)}};
  r[OpKind::NllGrad] = {{"[N,3,4]", {uni({N, 3, 4}, -5, 0), labels({N, 3}, 4), uni({}, 0.5f, 2)},
                         {}, kFewUlp}};

  // ---- Embedding, slicing, sequence constants ----
  ir::Attrs sl = attrs({{"axis", int64_t(1)}, {"start", int64_t(2)}, {"end", int64_t(5)}});
  r[OpKind::Embedding] = {{"[N,7] ids of 11 rows", {labels({N, 7}, 11), uni({11, 5})}, {}, kExact}};
  r[OpKind::EmbeddingGrad] = {
      {"[N,7] ids of 4 rows", {labels({N, 7}, 4), uni({N, 7, 5})}, attrs({{"rows", int64_t(4)}}),
       sumOf(21)}};
  r[OpKind::Slice] = {{"[N,6,3] axis 1", {uni({N, 6, 3})}, sl, kExact},
                      {"i32 [3,N] axis 0", {labels({3, N}, 9)},
                       attrs({{"axis", int64_t(0)}, {"start", int64_t(1)}, {"end", int64_t(2)}}),
                       kExact}};
  r[OpKind::SliceGrad] = {{"[N,3,3] into 6", {uni({N, 3, 3})},
                           attrs({{"axis", int64_t(1)}, {"start", int64_t(2)}, {"size", int64_t(6)}}),
                           kExact}};
  r[OpKind::Concat] = {{"[N,2,3],[N,1,3],[N,4,3] axis 1",
                        {uni({N, 2, 3}), uni({N, 1, 3}), uni({N, 4, 3})},
                        attrs({{"axis", int64_t(1)}}), kExact},
                       {"i32 [N,2],[N,3] axis -1", {labels({N, 2}, 9), labels({N, 3}, 9)},
                        attrs({{"axis", int64_t(-1)}}), kExact}};
  r[OpKind::Bmm] = {
      {"[N,2,3,4]x[N,2,4,5]", {uni({N, 2, 3, 4}), uni({N, 2, 4, 5})}, mm(0, 0), sumOf(4)},
      {"[N,3,4]^T x[N,3,5]", {uni({N, 3, 4}), uni({N, 3, 5})}, mm(1, 0), sumOf(3)},
      {"[N,2,6,40]x[N,2,6,40]^T", {uni({N, 2, 6, 40}), uni({N, 2, 6, 40})}, mm(0, 1), sumOf(40)},
      {"[2,N,4,3]^T x[2,N,5,4]^T", {uni({2, N, 4, 3}), uni({2, N, 5, 4})}, mm(1, 1), sumOf(4)},
      // Broadcast leading dims: a missing dim, a size-1 dim, both operands.
      {"[N,2,3,4]x[4,5]", {uni({N, 2, 3, 4}), uni({4, 5})}, mm(0, 0), sumOf(4)},
      {"[N,1,3,4]x[2,5,4]^T", {uni({N, 1, 3, 4}), uni({2, 5, 4})}, mm(0, 1), sumOf(4)},
      {"[3,4]^T x[N,2,3,5]", {uni({3, 4}), uni({N, 2, 3, 5})}, mm(1, 0), sumOf(3)}};
  // layer_norm_rows and its gradients: rows of 7 (scalar tail), of 2x5
  // (dims 2), of 130 (vectors and a tail) and gpt's [N,16,128]. Row sums
  // are f32 in a different order than the interpreter's double sums.
  for (auto [xs, ws, dims] : {std::tuple{Shape{N, 7}, Shape{7}, int64_t(1)},
                              std::tuple{Shape{N, 3, 2, 5}, Shape{2, 5}, int64_t(2)},
                              std::tuple{Shape{N, 130}, Shape{130}, int64_t(1)},
                              std::tuple{Shape{N, 16, 128}, Shape{128}, int64_t(1)}}) {
    std::string what = shapeToString(xs) + " dims " + std::to_string(dims);
    ir::Attrs a = attrs({{"dims", dims}, {"eps", 1e-5}});
    Tol tol = sumOf(2 * ws.back(), 3);
    r[OpKind::LayerNormRows].push_back({what, {uni(xs, -2, 3), uni(ws), uni(ws)}, a, tol});
    r[OpKind::LayerNormRowsGrad].push_back({what, {uni(xs, -2, 3), uni(ws), uni(xs)}, a, tol});
    r[OpKind::LayerNormRowsGradWeight].push_back({what, {uni(xs, -2, 3), uni(xs)}, a, tol});
  }
  r[OpKind::CausalMask] = {{"5", {}, attrs({{"size", int64_t(5)}}), kExact}};
  // sin/cos of the same angle, computed in double two different ways.
  r[OpKind::PositionalEncoding] = {
      {"[9,6]", {}, attrs({{"length", int64_t(9)}, {"dim", int64_t(6)}}), kFewUlp},
      {"odd dim [4,5]", {}, attrs({{"length", int64_t(4)}, {"dim", int64_t(5)}}), kFewUlp}};
  return r;
}

/// Every op codegen lowers: all but the layers, which expand-layers turns
/// into these (tests/lit/expand-layers and the torch parity tests cover them).
std::vector<OpKind> allOps() {
  std::vector<OpKind> ops;
#define OP(Enum, Name, NumInputs, Class, Flags)                                \
  if (!ir::opInfo(OpKind::Enum).isLayer())                                     \
    ops.push_back(OpKind::Enum);
#include "ir/Ops.def"
  return ops;
}

rt::Tensor fill(TensorRng &rng, const In &in, int64_t batch) {
  Shape s = bindBatch(in.shape, batch);
  switch (in.gen) {
  case Gen::Uniform:
    return rng.uniform(s, in.lo, in.hi);
  case Gen::AwayFromZero:
    return rng.awayFromZero(s, in.lo, in.hi);
  case Gen::Labels:
    return rng.labels(s, in.classes);
  case Gen::Mask: {
    rt::Tensor m = rng.labels(s, 2);
    rt::Tensor f(DType::F32, s);
    for (int64_t i = 0; i < m.numel(); ++i)
      f.f32()[i] = static_cast<float>(m.i32()[i]);
    return f;
  }
  }
  return {};
}

::testing::AssertionResult sameTensor(const rt::Tensor &a, const rt::Tensor &e, Tol tol) {
  if (a.dtype() == DType::F32)
    return allClose(a, e, tol.rtol, tol.atol);
  if (a.shape() != e.shape() || std::memcmp(a.data(), e.data(), a.bytes()) != 0)
    return ::testing::AssertionFailure() << "i32 tensors differ";
  return ::testing::AssertionSuccess();
}

std::unique_ptr<rt::Executable> jit(const ir::Graph &g, codegen::CodegenOptions o = {}) {
  return expectOk(codegen::compileGraph(g, o));
}

/// Builds the recipe's graph, compiles it, and compares every buffer the
/// node writes with the interpreter at batch 3, 5 and 0.
void checkRecipe(OpKind op, const Recipe &r, uint64_t seed,
                 const codegen::CodegenOptions &opts = {}) {
  SCOPED_TRACE(std::string(ir::opName(op)) + " " + r.what);
  GraphMaker gm;
  std::vector<ir::Value *> ins;
  for (size_t i = 0; i < r.ins.size(); ++i) {
    DType dt = r.ins[i].gen == Gen::Labels ? DType::I32 : DType::F32;
    ins.push_back(gm.input("x" + std::to_string(i), TensorType(dt, r.ins[i].shape)));
  }
  ir::Value *y = gm.op(op, ins, r.attrs, "y");
  ASSERT_NE(y, nullptr);
  gm.graph().outputs.push_back(y);
  auto exe = jit(gm.graph(), opts);
  auto ref = interp::makeInterpreter(gm.graph());
  for (int64_t batch : {3, 5, 0}) {
    SCOPED_TRACE("batch " + std::to_string(batch));
    TensorRng rng(seed + batch);
    BoundBuffers a(*exe, batch), e(*ref, batch);
    for (size_t i = 0; i < r.ins.size(); ++i) {
      rt::Tensor t = fill(rng, r.ins[i], batch);
      a.set("x" + std::to_string(i), t);
      e.set("x" + std::to_string(i), t);
    }
    expectOk(a.run());
    expectOk(e.run());
    EXPECT_TRUE(sameTensor(a.get("y"), e.get("y"), r.tol));
  }
}

// ---- Every op against the interpreter ------------------------------------------

TEST(JitOps, EveryOpHasARecipe) {
  auto all = recipes();
  for (OpKind op : allOps())
    EXPECT_FALSE(all[op].empty()) << "no JIT test recipe for op " << ir::opName(op).str();
}

class JitOpTest : public ::testing::TestWithParam<OpKind> {};

TEST_P(JitOpTest, MatchesInterpreter) {
  auto all = recipes();
  auto it = all.find(GetParam());
  ASSERT_TRUE(it != all.end() && !it->second.empty())
      << "no recipe for " << ir::opName(GetParam()).str();
  uint64_t seed = 1000 * static_cast<uint64_t>(GetParam());
  for (const Recipe &r : it->second)
    checkRecipe(GetParam(), r, seed++);
}

INSTANTIATE_TEST_SUITE_P(AllOps, JitOpTest, ::testing::ValuesIn(allOps()),
                         [](const ::testing::TestParamInfo<OpKind> &info) {
                           std::string name = ir::opName(info.param).str();
                           for (char &c : name)
                             if (c == '_')
                               c = 'X';
                           return name;
                         });

// ---- Older CPUs: the AVX2 and SSE2 code paths ------------------------------------

TEST(JitTargets, FallbackCpusAgreeWithInterpreter) {
  // The host has AVX-512; code generated for an older x86 CPU runs on it
  // too. Ops whose code depends on the vector width (explicit-vector GEMM
  // tiles, vectorized math, batch norm's double sums, direct convs) are
  // checked, and the IR must show that width.
  const std::pair<const char *, const char *> cpus[] = {{"haswell", "<8 x float>"},
                                                        {"x86-64", "<4 x float>"}};
  const OpKind ops[] = {OpKind::MatMul,  OpKind::Exp,       OpKind::Log,
                        OpKind::Tanh,    OpKind::Sigmoid,   OpKind::Softmax,
                        OpKind::ReduceSum, OpKind::SoftmaxCrossEntropyGrad,
                        OpKind::BatchStats, OpKind::BatchNormGradGamma,
                        // Direct convs: rows of 16 and 32 are 2 and 4
                        // vectors of 8, or 4 and 8 (im2col) vectors of 4.
                        OpKind::Conv2d, OpKind::Conv2dGradInput, OpKind::Conv2dGradWeight};
  auto all = recipes();
  for (auto [cpu, vec] : cpus) {
    SCOPED_TRACE(cpu);
    codegen::CodegenOptions o;
    o.cpu = cpu;
    uint64_t seed = 77;
    for (OpKind op : ops)
      for (const Recipe &r : all[op])
        checkRecipe(op, r, seed++, o);

    GraphMaker gm;
    ir::Value *a = gm.input("a", f32Type({N, 40}));
    ir::Value *b = gm.input("b", f32Type({40, 24}));
    gm.graph().outputs = {gm.op(OpKind::MatMul, {a, b}, {}, "c")};
    std::string ir;
    o.llvmIROut = &ir;
    auto exe = jit(gm.graph(), o);
    EXPECT_NE(ir.find(vec), std::string::npos);
    EXPECT_EQ(ir.find("<16 x float>"), std::string::npos);
  }
}

// ---- Transcendentals on special values -------------------------------------------

TEST(JitOps, TranscendentalsOnSpecialValues) {
  const float inf = std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> xs = {0.0f,  -0.0f, 1e-30f, -1e-30f, 1e-40f, 0.5f,   -0.5f, 1.0f,
                           88.0f, 88.7f, 89.0f,  -87.0f,  -100.f, -104.f, -200.f, 1e30f,
                           -1e30f, inf,  -inf,   nan,     20.0f,  -20.0f, 1e-5f, 3.4e38f};
  const int64_t n = static_cast<int64_t>(xs.size());
  struct Fn {
    OpKind op;
    double (*ref)(double);
  };
  const Fn fns[] = {
      {OpKind::Exp, [](double x) { return std::exp(x); }},
      {OpKind::Log, [](double x) { return std::log(x); }},
      {OpKind::Tanh, [](double x) { return std::tanh(x); }},
      {OpKind::Sigmoid, [](double x) { return 1.0 / (1.0 + std::exp(-x)); }},
  };
  auto jitFactory = [](const ir::Graph &g) { return codegen::compileGraph(g); };
  for (const Fn &f : fns) {
    SCOPED_TRACE(ir::opName(f.op).str());
    rt::Tensor y =
        expectOk(runOneOp(f.op, {operand(tensorOf({n}, xs))}, {}, 1, jitFactory));
    std::vector<float> want;
    for (float x : xs)
      want.push_back(static_cast<float>(f.ref(x)));
    // Results below the smallest normal f32 may flush or round differently.
    EXPECT_TRUE(allClose(y, tensorOf({n}, want), 2e-6, 1e-37));
  }
}

// ---- Labels out of range -------------------------------------------------------

TEST(JitOps, OutOfRangeLabelsContributeNothing) {
  // Documented in codegen/LowerLoss.cpp: the runtime validates labels; the
  // generated code never reads out of bounds and gives such a position zero
  // loss and a zero gradient row, still counting it in the mean.
  GraphMaker gm;
  ir::Value *x = gm.input("x", f32Type({2, 3}));
  ir::Value *l = gm.input("l", i32Type({2}));
  ir::Value *dl = gm.input("dl", f32Type({}));
  ir::Value *loss = gm.op(OpKind::SoftmaxCrossEntropy, {x, l}, {}, "loss");
  ir::Value *grad = gm.op(OpKind::SoftmaxCrossEntropyGrad, {x, l, dl}, {}, "grad");
  gm.graph().outputs = {loss, grad};
  auto exe = jit(gm.graph());
  for (int32_t bad : {3, -1, 1 << 30}) {
    SCOPED_TRACE(bad);
    BoundBuffers b(*exe, 1);
    b.set("x", tensorOf({2, 3}, {1, 2, 3, 0.5f, 0.25f, -1}));
    b.set("l", labelsOf({2}, {2, bad}));
    b.set("dl", tensorOf({}, {1}));
    expectOk(b.run());
    double lse = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0));
    EXPECT_NEAR(b.get("loss").f32()[0], (lse - 3.0) / 2.0, 1e-6);
    const float *g = b.get("grad").f32();
    EXPECT_NEAR(g[0], std::exp(1.0 - lse) / 2, 1e-6);
    EXPECT_NEAR(g[2], (std::exp(3.0 - lse) - 1) / 2, 1e-6);
    for (int c = 3; c < 6; ++c)
      EXPECT_EQ(g[c], 0.0f);
  }
}

// ---- A whole training step -----------------------------------------------------

/// x[N,in] -> matmul W1 -> + b1 -> relu -> matmul W2 -> + b2 -> softmax-CE,
/// then autodiff and the optimizer (SGD unless `training` says otherwise)
/// from passes/ (the backward ops as the compiler
/// makes them: transposed matmuls, relu_grad, reduce_sum for the biases).
std::unique_ptr<GraphMaker> mlpTrainingStep(int64_t in, int64_t hidden, int64_t classes,
                                            const ir::TrainingConfig &training = {}) {
  auto gm = std::make_unique<GraphMaker>();
  gm->graph().training = training;
  ir::Value *x = gm->input("x", f32Type({N, in}));
  ir::Value *y = gm->input("y", i32Type({N}));
  ir::Value *w1 = gm->param("W1", f32Type({in, hidden}));
  ir::Value *b1 = gm->param("b1", f32Type({hidden}));
  ir::Value *w2 = gm->param("W2", f32Type({hidden, classes}));
  ir::Value *b2 = gm->param("b2", f32Type({classes}));
  ir::Value *h1 = gm->op(OpKind::MatMul, {x, w1}, {}, "h1");
  ir::Value *z1 = gm->op(OpKind::Add, {h1, b1}, {}, "z1");
  ir::Value *a1 = gm->op(OpKind::Relu, {z1}, {}, "a1");
  ir::Value *h2 = gm->op(OpKind::MatMul, {a1, w2}, {}, "h2");
  ir::Value *logits = gm->op(OpKind::Add, {h2, b2}, {}, "logits");
  ir::Value *loss = gm->op(OpKind::SoftmaxCrossEntropy, {logits, y}, {}, "loss");
  ir::Graph &g = gm->graph();
  g.outputs = {logits};
  g.loss = loss;
  passes::PassContext ctx;
  ctx.training = true;
  for (auto make : {passes::createAutodiffPass, passes::createOptimizerPass}) {
    auto pass = make();
    EXPECT_TRUE(expectOk(pass->run(g, ctx))) << pass->name().str() << " changed nothing";
  }
  return gm;
}

/// Fills the inputs and params of a training step (same values for every
/// BoundBuffers given) and sets the learning rate.
void fillStep(const ir::Graph &g, uint64_t seed, int64_t batch,
              std::initializer_list<BoundBuffers *> bufs) {
  TensorRng rng(seed);
  auto setAll = [&](const std::string &name, const rt::Tensor &t) {
    for (BoundBuffers *b : bufs)
      b->set(name, t);
  };
  for (const ir::Value *v : g.inputs()) {
    Shape s = bindBatch(v->type().shape, batch);
    if (v->role == ir::InputRole::Hyper)
      setAll(v->name(), tensorOf({}, {0.1f}));
    else if (v->type().dtype == DType::I32)
      setAll(v->name(), rng.labels(s, static_cast<int32_t>(
                                          g.lookup("logits")->type().shape.back())));
    else
      setAll(v->name(), rng.uniform(s, -1, 1));
  }
  for (const ir::Value *p : g.params())
    setAll(p->name(), rng.uniform(p->type().shape, -0.5f, 0.5f));
}

TEST(JitGraphs, MlpTrainingStepMatchesInterpreter) {
  auto gm = mlpTrainingStep(20, 16, 5);
  const ir::Graph &g = gm->graph();
  ASSERT_EQ(g.updates.size(), 4u);
  auto exe = jit(g);
  auto ref = interp::makeInterpreter(g);
  for (int64_t batch : {8, 3}) {
    SCOPED_TRACE("batch " + std::to_string(batch));
    BoundBuffers a(*exe, batch), e(*ref, batch);
    fillStep(g, 7 + batch, batch, {&a, &e});
    rt::Tensor w1Before = a.get("W1");
    expectOk(a.run());
    expectOk(e.run());
    // Every buffer: the loss, logits, each gradient, each updated param and
    // every intermediate. Sums run over at most 20 terms of magnitude < 2.
    int compared = 0;
    for (size_t i = 0; i < a.descs().size(); ++i) {
      const rt::BufferDesc &d = a.descs()[i];
      if (d.role == rt::BufferRole::Input || d.role == rt::BufferRole::HyperInput)
        continue;
      SCOPED_TRACE(d.name);
      EXPECT_TRUE(sameTensor(a.tensors()[i], e.tensors()[i], {1e-5, 1e-5}));
      ++compared;
    }
    EXPECT_GT(compared, 15);
    EXPECT_GT(maxAbsDiff(a.get("W1"), w1Before), 1e-4) << "W1 was not updated";
    EXPECT_GT(a.get("loss").f32()[0], 0.5f);
  }
}

TEST(JitGraphs, OptimizerStepsMatchInterpreter) {
  // The update rules with state (RMSprop with momentum, Adam with clipping,
  // AdamW): JIT and interpreter agree on the params and the state after a
  // step from the same nonzero state.
  ir::TrainingConfig rms, adam, adamw;
  rms.optimizer = "rmsprop";
  rms.momentum = 0.9;
  adam.optimizer = "adam";
  adam.clipNorm = 0.5;
  adam.weightDecay = 0.01;
  adamw.optimizer = "adamw";
  adamw.weightDecay = 0.1;
  for (const ir::TrainingConfig &t : {rms, adam, adamw}) {
    SCOPED_TRACE(t.optimizer);
    auto gm = mlpTrainingStep(12, 8, 4, t);
    const ir::Graph &g = gm->graph();
    auto exe = jit(g);
    auto ref = interp::makeInterpreter(g);
    BoundBuffers a(*exe, 6), e(*ref, 6);
    fillStep(g, 11, 6, {&a, &e});
    // Square averages must be non-negative; momentum and m may be anything.
    TensorRng rng(99);
    int states = 0;
    for (const ir::Value *p : g.params())
      if (p->optimizerState) {
        rt::Tensor v = rng.uniform(p->type().shape, 0.0f, 0.5f);
        a.set(p->name(), v);
        e.set(p->name(), v);
        ++states;
      }
    EXPECT_GE(states, 8) << "two state tensors per param";
    rt::Tensor w1Before = a.get("W1");
    expectOk(a.run());
    expectOk(e.run());
    for (const ir::ParamUpdate &u : g.updates) {
      SCOPED_TRACE(u.param->name());
      EXPECT_TRUE(sameTensor(a.get(u.param->name()), e.get(u.param->name()), {1e-5, 1e-5}));
    }
    EXPECT_GT(maxAbsDiff(a.get("W1"), w1Before), 1e-4) << "W1 was not updated";
  }
}

TEST(JitGraphs, TrainingLowersTheLoss) {
  // 30 SGD steps on one fixed batch must reduce the JIT's loss: the updates
  // really land in the param buffers between steps.
  auto gm = mlpTrainingStep(12, 16, 4);
  auto exe = jit(gm->graph());
  BoundBuffers b(*exe, 16);
  fillStep(gm->graph(), 3, 16, {&b});
  expectOk(b.run());
  float first = b.get("loss").f32()[0];
  for (int i = 0; i < 30; ++i)
    expectOk(b.run());
  EXPECT_LT(b.get("loss").f32()[0], 0.7f * first);
}

TEST(JitGraphs, PrintsOptimizedVectorizedIR) {
  auto gm = mlpTrainingStep(64, 32, 10);
  std::string ir;
  codegen::CodegenOptions o;
  o.llvmIROut = &ir;
  auto exe = jit(gm->graph(), o);
  EXPECT_NE(ir.find("define void @gradc_step(ptr"), std::string::npos);
  // The matmul's loops are in its parallel body (codegen/ParallelFor.h).
  std::smatch m;
  ASSERT_TRUE(std::regex_search(ir, m, std::regex("\ndefine [^\n]*@gradc_k0_matmul\\.par\\(")))
      << "no parallel body gradc_k0_matmul.par";
  size_t def = static_cast<size_t>(m.position(0));
  std::string body = ir.substr(def, ir.find("\n}\n", def) - def);
  // Its tiles are calls of the module's shared GEMM micro-kernels
  // (codegen/Gemm.cpp), whose k loops are explicit vectors.
  EXPECT_TRUE(std::regex_search(body, std::regex("call [^\n]*@gradc_gemm_outer_")))
      << "the matmul does not call a shared micro-kernel:\n"
      << body;
  ASSERT_TRUE(std::regex_search(ir, m, std::regex("\ndefine [^\n]*@gradc_gemm_outer_[0-9a-z_]+\\(")))
      << "no shared micro-kernel";
  def = static_cast<size_t>(m.position(0));
  std::string kernel = ir.substr(def, ir.find("\n}\n", def) - def);
  EXPECT_TRUE(kernel.find("<16 x float>") != std::string::npos ||
              kernel.find("<8 x float>") != std::string::npos)
      << "the matmul micro-kernel is not vectorized:\n"
      << kernel;
  // The host CPU is named on the functions (the cost model and code
  // generator target it).
  EXPECT_NE(ir.find("\"target-cpu\"="), std::string::npos);
}

TEST(JitGraphs, OptLevelZeroAgreesWithO3) {
  auto gm = mlpTrainingStep(10, 8, 3);
  codegen::CodegenOptions o0;
  o0.optLevel = 0;
  auto fast = jit(gm->graph()), slow = jit(gm->graph(), o0);
  BoundBuffers a(*fast, 4), b(*slow, 4);
  fillStep(gm->graph(), 5, 4, {&a, &b});
  expectOk(a.run());
  expectOk(b.run());
  EXPECT_TRUE(allClose(a.get("loss"), b.get("loss"), 1e-5, 1e-6));
  EXPECT_TRUE(allClose(a.get("W1"), b.get("W1"), 1e-5, 1e-6));
}

TEST(JitGraphs, UncompilableGraphIsAnError) {
  GraphMaker gm;
  ir::Value *x = gm.input("x", f32Type({2}));
  ir::Node *n = gm.graph().addNode(OpKind::Relu, {x}, {}, {"y"});
  (void)n; // no shape inference: the result type is unknown
  std::string msg = errorText(codegen::compileGraph(gm.graph()).takeError());
  EXPECT_NE(msg.find("%y"), std::string::npos) << msg;
}

} // namespace
