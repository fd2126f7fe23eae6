//===- interp/KernelsSeq.cpp - Activations, selection and losses ------------===//
//
// Reference kernels of the sequence-model family, in double:
//   leaky_relu  x > 0 ? x : alpha x                          (alpha 0.01)
//   gelu        x Phi(x) = x/2 (1 + erf(x/sqrt 2))           (approximate none)
//               x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) (approximate tanh)
//   gaussian    exp(-x^2 / 2)
//   elu         x > 0 ? x : alpha (exp(x) - 1)                (alpha 1)
//   softplus    log(1 + exp(x)), as max(x, 0) + log1p(exp(-|x|))
//   step        x > 0 ? 1 : 0
//   pow         x^exponent (std::pow: NaN for x < 0 and a non-integer exponent)
//   maximum / minimum (NaN propagates, as torch), where(m, a, b) = m != 0 ? a : b
//   bce_with_logits  mean(max(x, 0) - x t + log1p(exp(-|x|)))
//   nll         -mean over positions of logp[label]
// and their derivative kernels activation_grad, extremum_grad, nll_grad.
// Labels are checked against [0, C) before anything is read.
//
//===----------------------------------------------------------------------===//
#include "interp/KernelUtil.h"
#include "ir/OpInfoSeq.h"

#include <cmath>
#include <vector>

namespace gradc::interp {

namespace {

constexpr double kSqrt2OverPi = 0.7978845608028654; // sqrt(2/pi)
constexpr double kInvSqrt2Pi = 0.3989422804014327;  // 1/sqrt(2 pi)

template <typename F> llvm::Error unary(TensorIns in, TensorOuts out, F f) {
  for (int64_t e = 0; e < out[0]->numel(); ++e)
    out[0]->f32()[e] = static_cast<float>(f(double(in[0]->f32()[e])));
  return llvm::Error::success();
}

/// out = f(operand values) over the broadcast result shape.
template <typename F> llvm::Error broadcastMap(TensorIns in, TensorOuts out, F f) {
  rt::Tensor &y = *out[0];
  std::vector<std::vector<int64_t>> strides;
  for (const rt::Tensor *t : in)
    strides.push_back(broadcastStrides(t->shape(), y.shape()));
  StridedWalk w(y.shape(), strides);
  double v[3];
  for (int64_t e = 0; e < y.numel(); ++e, w.next()) {
    for (size_t i = 0; i < in.size(); ++i)
      v[i] = double(in[i]->f32()[w.offset(i)]);
    y.f32()[e] = static_cast<float>(f(v));
  }
  return llvm::Error::success();
}

bool geluTanh(const ir::Node &n) { return n.attrs().getString("approximate", "none") == "tanh"; }

double gelu(double x, bool tanhForm) {
  if (tanhForm)
    return 0.5 * x * (1 + std::tanh(kSqrt2OverPi * (x + 0.044715 * x * x * x)));
  return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0)));
}

double geluDerivative(double x, bool tanhForm) {
  if (tanhForm) {
    double u = kSqrt2OverPi * (x + 0.044715 * x * x * x);
    double t = std::tanh(u);
    double du = kSqrt2OverPi * (1 + 3 * 0.044715 * x * x);
    return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * du;
  }
  return 0.5 * (1 + std::erf(x / std::sqrt(2.0))) + x * kInvSqrt2Pi * std::exp(-0.5 * x * x);
}

double softplus(double x) { return std::max(x, 0.0) + std::log1p(std::exp(-std::fabs(x))); }

llvm::Error checkLabels(const rt::Tensor &x, const rt::Tensor &labels, int64_t &classes) {
  classes = x.shape().back();
  for (int64_t p = 0; p < labels.numel(); ++p) {
    int32_t l = labels.i32()[p];
    if (l < 0 || l >= classes)
      return kernelError(llvm::formatv(
          "label {0} at position {1} is out of range for {2} classes", l, p, classes));
  }
  return llvm::Error::success();
}

} // namespace

// ---- Activations ------------------------------------------------------------

llvm::Error kernelLeakyRelu(const ir::Node &n, TensorIns in, TensorOuts out) {
  double alpha = n.attrs().getFloat("alpha", 0.01);
  return unary(in, out, [&](double x) { return x > 0 ? x : alpha * x; });
}
llvm::Error kernelGelu(const ir::Node &n, TensorIns in, TensorOuts out) {
  bool t = geluTanh(n);
  return unary(in, out, [&](double x) { return gelu(x, t); });
}
llvm::Error kernelGaussian(const ir::Node &, TensorIns in, TensorOuts out) {
  return unary(in, out, [](double x) { return std::exp(-0.5 * x * x); });
}
llvm::Error kernelElu(const ir::Node &n, TensorIns in, TensorOuts out) {
  double alpha = n.attrs().getFloat("alpha", 1.0);
  return unary(in, out, [&](double x) { return x > 0 ? x : alpha * std::expm1(x); });
}
llvm::Error kernelSoftplus(const ir::Node &, TensorIns in, TensorOuts out) {
  return unary(in, out, softplus);
}
llvm::Error kernelStep(const ir::Node &, TensorIns in, TensorOuts out) {
  return unary(in, out, [](double x) { return x > 0 ? 1.0 : 0.0; });
}
llvm::Error kernelPow(const ir::Node &n, TensorIns in, TensorOuts out) {
  double p = n.attrs().getFloat("exponent", 1.0);
  return unary(in, out, [&](double x) { return std::pow(x, p); });
}

llvm::Error kernelActivationGrad(const ir::Node &n, TensorIns in, TensorOuts out) {
  auto op = ir::activationByName(n.attrs().getString("op", ""));
  assert(op && "activation_grad op was validated");
  double alpha = n.attrs().getFloat("alpha", *op == ir::OpKind::Elu ? 1.0 : 0.01);
  bool t = geluTanh(n);
  auto derivative = [&](double x) -> double {
    switch (*op) {
    case ir::OpKind::LeakyRelu:
      return x > 0 ? 1.0 : alpha;
    case ir::OpKind::Gelu:
      return geluDerivative(x, t);
    case ir::OpKind::Gaussian:
      return -x * std::exp(-0.5 * x * x);
    case ir::OpKind::Elu:
      return x > 0 ? 1.0 : alpha * std::exp(x);
    default: // softplus
      return 1.0 / (1.0 + std::exp(-x));
    }
  };
  for (int64_t e = 0; e < out[0]->numel(); ++e)
    out[0]->f32()[e] =
        static_cast<float>(derivative(double(in[0]->f32()[e])) * double(in[1]->f32()[e]));
  return llvm::Error::success();
}

// ---- Selection ----------------------------------------------------------------

llvm::Error kernelMaximum(const ir::Node &, TensorIns in, TensorOuts out) {
  return broadcastMap(in, out, [](const double *v) {
    return std::isnan(v[0]) || std::isnan(v[1]) ? NAN : std::max(v[0], v[1]);
  });
}
llvm::Error kernelMinimum(const ir::Node &, TensorIns in, TensorOuts out) {
  return broadcastMap(in, out, [](const double *v) {
    return std::isnan(v[0]) || std::isnan(v[1]) ? NAN : std::min(v[0], v[1]);
  });
}
llvm::Error kernelWhere(const ir::Node &, TensorIns in, TensorOuts out) {
  return broadcastMap(in, out, [](const double *v) { return v[0] != 0 ? v[1] : v[2]; });
}
llvm::Error kernelExtremumGrad(const ir::Node &n, TensorIns in, TensorOuts out) {
  bool isMax = n.attrs().getString("op", "") == "maximum";
  return broadcastMap(in, out, [&](const double *v) {
    if (v[0] == v[1])
      return 0.5 * v[2];
    return (isMax ? v[0] > v[1] : v[0] < v[1]) ? v[2] : 0.0;
  });
}

// ---- Layer norm over rows ---------------------------------------------------------
// x as [rows, D] (D = the trailing `dims` axes); per row, in double:
//   mean, var (biased), istd = 1/sqrt(var + eps), xhat = (x - mean) * istd
//   layer_norm_rows:             y = xhat * w + b
//   layer_norm_rows_grad:        g = dy * w; dx = istd * (g - mean(g) - xhat * mean(g * xhat))
//   layer_norm_rows_grad_weight: sum over rows of dy * xhat

namespace {
struct RowStats {
  double mean, istd;
};
RowStats rowStats(const float *x, int64_t D, double eps) {
  double mean = 0, var = 0;
  for (int64_t j = 0; j < D; ++j)
    mean += x[j];
  mean /= double(D);
  for (int64_t j = 0; j < D; ++j)
    var += (x[j] - mean) * (x[j] - mean);
  return {mean, 1 / std::sqrt(var / double(D) + eps)};
}
/// D, the values per row, from the weight's (or dweight's) element count.
int64_t rowLength(const rt::Tensor &rowShaped) { return rowShaped.numel(); }
} // namespace

llvm::Error kernelLayerNormRows(const ir::Node &n, TensorIns in, TensorOuts out) {
  double eps = n.attrs().getFloat("eps", 1e-5);
  int64_t D = rowLength(*in[1]), rows = D ? in[0]->numel() / D : 0;
  const float *w = in[1]->f32(), *b = in[2]->f32();
  for (int64_t r = 0; r < rows; ++r) {
    const float *x = in[0]->f32() + r * D;
    RowStats st = rowStats(x, D, eps);
    for (int64_t j = 0; j < D; ++j)
      out[0]->f32()[r * D + j] = static_cast<float>((x[j] - st.mean) * st.istd * w[j] + b[j]);
  }
  return llvm::Error::success();
}

llvm::Error kernelLayerNormRowsGrad(const ir::Node &n, TensorIns in, TensorOuts out) {
  double eps = n.attrs().getFloat("eps", 1e-5);
  int64_t D = rowLength(*in[1]), rows = D ? in[0]->numel() / D : 0;
  const float *w = in[1]->f32();
  for (int64_t r = 0; r < rows; ++r) {
    const float *x = in[0]->f32() + r * D, *dy = in[2]->f32() + r * D;
    RowStats st = rowStats(x, D, eps);
    double sg = 0, sgx = 0;
    for (int64_t j = 0; j < D; ++j) {
      double g = double(dy[j]) * w[j];
      sg += g;
      sgx += g * (x[j] - st.mean) * st.istd;
    }
    for (int64_t j = 0; j < D; ++j) {
      double g = double(dy[j]) * w[j], xhat = (x[j] - st.mean) * st.istd;
      out[0]->f32()[r * D + j] =
          static_cast<float>(st.istd * (g - sg / double(D) - xhat * sgx / double(D)));
    }
  }
  return llvm::Error::success();
}

llvm::Error kernelLayerNormRowsGradWeight(const ir::Node &n, TensorIns in, TensorOuts out) {
  double eps = n.attrs().getFloat("eps", 1e-5);
  int64_t D = rowLength(*out[0]), rows = D ? in[0]->numel() / D : 0;
  std::vector<double> sum(size_t(D), 0.0);
  for (int64_t r = 0; r < rows; ++r) {
    const float *x = in[0]->f32() + r * D, *dy = in[1]->f32() + r * D;
    RowStats st = rowStats(x, D, eps);
    for (int64_t j = 0; j < D; ++j)
      sum[size_t(j)] += double(dy[j]) * (x[j] - st.mean) * st.istd;
  }
  for (int64_t j = 0; j < D; ++j)
    out[0]->f32()[j] = static_cast<float>(sum[size_t(j)]);
  return llvm::Error::success();
}

// ---- Losses -------------------------------------------------------------------

llvm::Error kernelBceWithLogits(const ir::Node &, TensorIns in, TensorOuts out) {
  const rt::Tensor &x = *in[0], &t = *in[1];
  double sum = 0;
  for (int64_t e = 0; e < x.numel(); ++e) {
    double xv = x.f32()[e], tv = t.f32()[e];
    sum += std::max(xv, 0.0) - xv * tv + std::log1p(std::exp(-std::fabs(xv)));
  }
  out[0]->f32()[0] = static_cast<float>(sum / double(x.numel()));
  return llvm::Error::success();
}

llvm::Error kernelNll(const ir::Node &, TensorIns in, TensorOuts out) {
  int64_t classes;
  if (auto e = checkLabels(*in[0], *in[1], classes))
    return e;
  double sum = 0;
  int64_t positions = in[1]->numel();
  for (int64_t p = 0; p < positions; ++p)
    sum -= double(in[0]->f32()[p * classes + in[1]->i32()[p]]);
  out[0]->f32()[0] = static_cast<float>(sum / double(positions));
  return llvm::Error::success();
}

llvm::Error kernelNllGrad(const ir::Node &, TensorIns in, TensorOuts out) {
  int64_t classes;
  if (auto e = checkLabels(*in[0], *in[1], classes))
    return e;
  int64_t positions = in[1]->numel();
  float g = static_cast<float>(-double(in[2]->f32()[0]) / double(positions));
  std::fill(out[0]->f32(), out[0]->f32() + out[0]->numel(), 0.0f);
  for (int64_t p = 0; p < positions; ++p)
    out[0]->f32()[p * classes + in[1]->i32()[p]] = g;
  return llvm::Error::success();
}

} // namespace gradc::interp
