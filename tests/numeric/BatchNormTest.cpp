//===- tests/numeric/BatchNormTest.cpp - training batch norm, JIT vs interpreter -===//
//
// The JIT's training batch-norm kernels (codegen/LowerNorm.cpp: one pass of
// shifted sums in double for batch_stats and batch_norm_grad_gamma, an f32
// apply) against the interpreter (interp/KernelsNorm.cpp: two passes,
// everything in double), on data whose channels have a large common
// offset: x = +-(1000 + 10c) + noise of std 0.01. There sum(x^2)/M - mean^2
// cancels 10^10-fold: the unshifted one-pass formula, even in double,
// misses the variance by up to 9e-5 relative and fails the BatchStats
// tests (checked by setting K = 0 in batch_stats); with the shifted sums
// the statistics and grad_gamma equal the reference's to the last f32
// bit. Every kernel after batch_stats gets the interpreter's statistics
// (and sums), so each is checked on its own. Shapes: resnet's activations
// [32, 16, 32, 32], and [5, 3, 7, 9], whose 63 pixels per run leave single
// vectors and scalars after the kernels' vector blocks.
//
// Tolerances (|jit - ref| <= atol + rtol * |ref|):
//   - batch_stats, batch_norm_grad_gamma: the sums are exact up to double
//     rounding, so the f32 result is the reference's to rtol 1e-6;
//     batch_mean and batch_var read the statistics: rtol 1e-7;
//   - batch_norm_train: y = ((x - K) - (mean - K)) * scale + beta in f32,
//     with |xhat| up to ~4.5: a few f32 roundings of terms of that size,
//     atol 1e-5 (measured 4.8e-7; 4e-3 with the unshifted formula);
//   - batch_norm_train_grad: dx = a * (dy - mean(dy)) - a*k2 * (x - mean)
//     in f32, where a = gamma / std is ~100 here: atol 1e-5 * max|dx|
//     (measured 1.5e-5 for max|dx| = 124, about 2 ulp of it).
//
//===----------------------------------------------------------------------===//
#include "tests/numeric/NumericUtil.h"

#include "codegen/Jit.h"

#include <cmath>

using namespace gradc;
using namespace gradc::test;
using ir::OpKind;

namespace {

constexpr int64_t N = kBatch;

/// x[n, c, ...] = sign * (1000 + 10c) + noise, the noise normal with std
/// 0.01 (Box-Muller over the test's deterministic uniform draws), the sign
/// alternating with c.
rt::Tensor offsetChannels(TensorRng &rng, const Shape &s) {
  rt::Tensor t(DType::F32, s);
  int64_t channels = s[1], inner = t.numel() / (s[0] * channels);
  for (int64_t i = 0; i < t.numel(); ++i) {
    int64_t c = (i / inner) % channels;
    double u1 = rng.uniform(0x1p-53, 1), u2 = rng.uniform(0, 1);
    double noise = 0.01 * std::sqrt(-2 * std::log(u1)) * std::cos(2 * M_PI * u2);
    t.f32()[i] = static_cast<float>((c % 2 ? -1 : 1) * (1000.0 + 10.0 * c) + noise);
  }
  return t;
}

double maxAbs(const rt::Tensor &t) {
  double m = 0;
  for (int64_t i = 0; i < t.numel(); ++i)
    m = std::max(m, double(std::fabs(t.f32()[i])));
  return m;
}

struct Case {
  Shape shape; // [N, C, H, W]
  int64_t batch;
};
void PrintTo(const Case &c, std::ostream *os) {
  *os << shapeToString(c.shape) << " at batch " << c.batch;
}

class BatchNormOffset : public ::testing::TestWithParam<Case> {
protected:
  /// Runs `op` on the JIT and the interpreter; inputs x (offset channels),
  /// then those `more` names: "gamma" (uniform [0.5, 1.5)), "beta" (uniform
  /// [-1, 1)), "dy" (uniform [-0.7, 1.3): its mean is not 0), "stats" (the
  /// interpreter's batch_stats of x), "dgamma" and "dbeta" (the
  /// interpreter's sum(dy * xhat) and sum(dy)). Both get the same
  /// statistics and sums, so each kernel is checked on its own.
  std::pair<rt::Tensor, rt::Tensor> run(OpKind op, const std::vector<std::string> &more,
                                        ir::Attrs attrs = {}) {
    const Case &c = GetParam();
    Shape xs = c.shape, cs{c.shape[1]};
    TensorRng rng(17);
    Operand x = operand(xs, offsetChannels(rng, bindBatch(xs, c.batch)));
    Operand dy = operand(xs, rng.uniform(bindBatch(xs, c.batch), -0.7f, 1.3f));
    Operand stats = operand(expectOk(runOneOp(OpKind::BatchStats, {x}, {}, c.batch)));
    std::vector<Operand> ops{x};
    for (const std::string &m : more) {
      if (m == "gamma")
        ops.push_back(operand(rng.uniform(cs, 0.5f, 1.5f)));
      else if (m == "beta")
        ops.push_back(operand(rng.uniform(cs, -1, 1)));
      else if (m == "dy")
        ops.push_back(dy);
      else if (m == "stats")
        ops.push_back(stats);
      else if (m == "dgamma")
        ops.push_back(
            operand(expectOk(runOneOp(OpKind::BatchNormGradGamma, {x, dy, stats}, {}, c.batch))));
      else if (m == "dbeta")
        ops.push_back(operand(channelSums(dy.value)));
      else
        ADD_FAILURE() << "no operand " << m;
    }
    ExecutableFactory jit = [](const ir::Graph &g) { return codegen::compileGraph(g); };
    rt::Tensor a = expectOk(runOneOp(op, ops, attrs, c.batch, jit));
    rt::Tensor e = expectOk(runOneOp(op, ops, attrs, c.batch));
    return {std::move(a), std::move(e)};
  }

  /// sum(t) per channel (axis 1), in double.
  static rt::Tensor channelSums(const rt::Tensor &t) {
    const Shape &s = t.shape();
    int64_t channels = s[1], inner = t.numel() / (s[0] * channels);
    std::vector<double> sum(size_t(channels), 0.0);
    for (int64_t i = 0; i < t.numel(); ++i)
      sum[size_t((i / inner) % channels)] += t.f32()[i];
    rt::Tensor r(DType::F32, {channels});
    for (int64_t ch = 0; ch < channels; ++ch)
      r.f32()[ch] = static_cast<float>(sum[size_t(ch)]);
    return r;
  }
};

TEST_P(BatchNormOffset, BatchStats) {
  // K, mean - K, the biased and the unbiased variance.
  auto [a, e] = run(OpKind::BatchStats, {});
  EXPECT_TRUE(allClose(a, e, 1e-6, 0));
}

TEST_P(BatchNormOffset, BatchMeanAndVar) {
  // K + (mean - K) and the unbiased variance, from the same statistics.
  for (OpKind op : {OpKind::BatchMean, OpKind::BatchVar}) {
    const Case &c = GetParam();
    TensorRng rng(17);
    Operand x = operand(c.shape, offsetChannels(rng, bindBatch(c.shape, c.batch)));
    ExecutableFactory jit = [](const ir::Graph &g) { return codegen::compileGraph(g); };
    Operand stats = operand(expectOk(runOneOp(OpKind::BatchStats, {x}, {}, c.batch)));
    rt::Tensor a = expectOk(runOneOp(op, {stats}, {}, c.batch, jit));
    rt::Tensor e = expectOk(runOneOp(op, {stats}, {}, c.batch));
    EXPECT_TRUE(allClose(a, e, 1e-7, 0)) << ir::opName(op).str();
  }
}

TEST_P(BatchNormOffset, BatchNormTrain) {
  auto [a, e] = run(OpKind::BatchNormTrain, {"gamma", "beta", "stats"});
  EXPECT_TRUE(allClose(a, e, 0, 1e-5));
}

TEST_P(BatchNormOffset, BatchNormTrainGrad) {
  auto [a, e] = run(OpKind::BatchNormTrainGrad, {"gamma", "dy", "stats", "dgamma", "dbeta"});
  EXPECT_TRUE(allClose(a, e, 0, 1e-5 * maxAbs(e)));
}

TEST_P(BatchNormOffset, BatchNormGradGamma) {
  auto [a, e] = run(OpKind::BatchNormGradGamma, {"dy", "stats"});
  EXPECT_TRUE(allClose(a, e, 1e-6, 0));
}

INSTANTIATE_TEST_SUITE_P(Shapes, BatchNormOffset,
                         ::testing::Values(Case{{N, 16, 32, 32}, 32}, Case{{N, 3, 7, 9}, 5}),
                         [](const ::testing::TestParamInfo<Case> &info) {
                           return info.index == 0 ? std::string("Resnet") : std::string("Odd");
                         });

} // namespace
