//===- interp/KernelsNorm.cpp - batch_norm (eval) and dropout, naively -----===//
//
//   batch_norm: y = (x - running_mean[c]) / sqrt(running_var[c] + eps)
//                   * gamma[c] + beta[c], c the axis-1 index (eval form; the
//               training form is made of other ops by the train-mode pass)
//   dropout:    y = x (eval form)
//   dropout_train(x, step): y = x * 1/(1-p) where the element is kept, else
//               0; kept iff (dropoutHash(seed, step, index) >> 40) >=
//               dropoutThreshold(p) (ir/Vision.h)
//
//===----------------------------------------------------------------------===//
#include "interp/KernelUtil.h"
#include "ir/Vision.h"

#include <cmath>
#include <cstring>

namespace gradc::interp {

llvm::Error kernelBatchNorm(const ir::Node &n, TensorIns in, TensorOuts out) {
  const Shape &s = in[0]->shape();
  int64_t channels = s[1], inner = s.size() == 4 ? s[2] * s[3] : 1;
  double eps = n.attrs().getFloat("eps", 1e-5);
  const float *x = in[0]->f32(), *gamma = in[1]->f32(), *beta = in[2]->f32();
  const float *mean = in[3]->f32(), *var = in[4]->f32();
  float *y = out[0]->f32();
  for (int64_t e = 0; e < out[0]->numel(); ++e) {
    int64_t c = (e / inner) % channels;
    double xhat = (double(x[e]) - mean[c]) / std::sqrt(double(var[c]) + eps);
    y[e] = static_cast<float>(xhat * gamma[c] + beta[c]);
  }
  return llvm::Error::success();
}

llvm::Error kernelDropout(const ir::Node &, TensorIns in, TensorOuts out) {
  if (in[0]->bytes())
    std::memcpy(out[0]->data(), in[0]->data(), in[0]->bytes());
  return llvm::Error::success();
}

llvm::Error kernelDropoutTrain(const ir::Node &n, TensorIns in, TensorOuts out) {
  double p = n.attrs().getFloat("p", 0.5);
  uint64_t seed = static_cast<uint64_t>(n.attrs().getInt("seed", 0));
  float stepF = in[1]->f32()[0];
  if (!(stepF >= 0 && stepF < 1.8e19f))
    return kernelError("dropout_train: the step must be a non-negative count");
  uint64_t step = static_cast<uint64_t>(stepF);
  uint64_t threshold = ir::dropoutThreshold(p);
  float scale = ir::dropoutScale(p);
  for (int64_t e = 0; e < out[0]->numel(); ++e) {
    bool keep = (ir::dropoutHash(seed, step, uint64_t(e)) >> 40) >= threshold;
    out[0]->f32()[e] = keep ? static_cast<float>(double(in[0]->f32()[e]) * scale) : 0.0f;
  }
  return llvm::Error::success();
}

} // namespace gradc::interp

// ---- Training batch norm: per-channel statistics over every axis but 1 ------------
//   batch_stats: per channel c (M values) the shift K = x[0, c, 0], mean - K,
//                var (biased) and var * M / (M - 1), computed in double
//   batch_norm_train:      y = (x - mean) / sqrt(var + eps) * gamma + beta
//   batch_norm_train_grad: dx = gamma / sqrt(var + eps) *
//                               (dy - dbeta/M - xhat * dgamma/M)
//                          (the full derivative, through mean and var too,
//                          given dgamma = sum(dy * xhat) and dbeta = sum(dy))
//   batch_norm_grad_gamma: sum(dy * xhat)
//   batch_mean / batch_var: K + (mean - K) / the unbiased variance
// where x - mean = (x - K) - (mean - K), as the compiled kernels take it.

namespace gradc::interp {

namespace {
struct Channels {
  int64_t batch, c, inner;
  int64_t count() const { return batch * inner; }
  int64_t at(int64_t n, int64_t ch, int64_t e) const { return (n * c + ch) * inner + e; }
};
Channels channelsOf(const rt::Tensor &x) {
  const Shape &s = x.shape();
  return {s[0], s[1], s.size() == 4 ? s[2] * s[3] : 1};
}
template <typename F> double channelSum(const Channels &k, int64_t ch, F f) {
  double s = 0;
  for (int64_t n = 0; n < k.batch; ++n)
    for (int64_t e = 0; e < k.inner; ++e)
      s += f(k.at(n, ch, e));
  return s;
}
/// Channel `ch`'s row of batch_stats' result [4, C].
struct Stats {
  double K, meanK, var, unbiased;
  Stats(const rt::Tensor &stats, int64_t ch) {
    int64_t c = stats.shape()[1];
    const float *s = stats.f32();
    K = s[ch], meanK = s[c + ch], var = s[2 * c + ch], unbiased = s[3 * c + ch];
  }
  /// x - mean.
  double centered(float x) const { return (double(x) - K) - meanK; }
};
} // namespace

llvm::Error kernelBatchStats(const ir::Node &, TensorIns in, TensorOuts out) {
  Channels k = channelsOf(*in[0]);
  const float *x = in[0]->f32();
  float *s = out[0]->f32();
  double M = double(k.count());
  for (int64_t ch = 0; ch < k.c; ++ch) {
    double K = k.batch > 0 ? x[k.at(0, ch, 0)] : 0;
    double meanK = channelSum(k, ch, [&](int64_t i) { return x[i] - K; }) / M;
    double var = channelSum(k, ch, [&](int64_t i) {
                   double d = (x[i] - K) - meanK;
                   return d * d;
                 }) / M;
    s[ch] = float(K);
    s[k.c + ch] = float(meanK);
    s[2 * k.c + ch] = float(var);
    s[3 * k.c + ch] = float(var * M / (M - 1));
  }
  return llvm::Error::success();
}

llvm::Error kernelBatchNormTrain(const ir::Node &n, TensorIns in, TensorOuts out) {
  Channels k = channelsOf(*in[0]);
  double eps = n.attrs().getFloat("eps", 1e-5);
  const float *x = in[0]->f32();
  for (int64_t ch = 0; ch < k.c; ++ch) {
    Stats st(*in[3], ch);
    double invstd = 1 / std::sqrt(st.var + eps);
    for (int64_t b = 0; b < k.batch; ++b)
      for (int64_t e = 0; e < k.inner; ++e) {
        int64_t i = k.at(b, ch, e);
        out[0]->f32()[i] = static_cast<float>(st.centered(x[i]) * invstd * in[1]->f32()[ch] +
                                              in[2]->f32()[ch]);
      }
  }
  return llvm::Error::success();
}

llvm::Error kernelBatchNormTrainGrad(const ir::Node &n, TensorIns in, TensorOuts out) {
  Channels k = channelsOf(*in[0]);
  double eps = n.attrs().getFloat("eps", 1e-5);
  const float *x = in[0]->f32(), *dy = in[2]->f32();
  double M = double(k.count());
  for (int64_t ch = 0; ch < k.c; ++ch) {
    Stats st(*in[3], ch);
    double invstd = 1 / std::sqrt(st.var + eps);
    double sdyxhat = in[4]->f32()[ch], sdy = in[5]->f32()[ch];
    for (int64_t b = 0; b < k.batch; ++b)
      for (int64_t e = 0; e < k.inner; ++e) {
        int64_t i = k.at(b, ch, e);
        double xhat = st.centered(x[i]) * invstd;
        out[0]->f32()[i] = static_cast<float>(in[1]->f32()[ch] * invstd *
                                              (dy[i] - sdy / M - xhat * sdyxhat / M));
      }
  }
  return llvm::Error::success();
}

llvm::Error kernelBatchNormGradGamma(const ir::Node &n, TensorIns in, TensorOuts out) {
  Channels k = channelsOf(*in[0]);
  double eps = n.attrs().getFloat("eps", 1e-5);
  const float *x = in[0]->f32(), *dy = in[1]->f32();
  for (int64_t ch = 0; ch < k.c; ++ch) {
    Stats st(*in[2], ch);
    double invstd = 1 / std::sqrt(st.var + eps);
    out[0]->f32()[ch] = static_cast<float>(
        channelSum(k, ch, [&](int64_t i) { return dy[i] * st.centered(x[i]); }) * invstd);
  }
  return llvm::Error::success();
}

llvm::Error kernelBatchMean(const ir::Node &, TensorIns in, TensorOuts out) {
  int64_t c = in[0]->shape()[1];
  for (int64_t ch = 0; ch < c; ++ch) {
    Stats st(*in[0], ch);
    out[0]->f32()[ch] = static_cast<float>(st.K + st.meanK);
  }
  return llvm::Error::success();
}

llvm::Error kernelBatchVar(const ir::Node &, TensorIns in, TensorOuts out) {
  int64_t c = in[0]->shape()[1];
  for (int64_t ch = 0; ch < c; ++ch)
    out[0]->f32()[ch] = static_cast<float>(Stats(*in[0], ch).unbiased);
  return llvm::Error::success();
}

} // namespace gradc::interp
