//===- interp/KernelsVision.cpp - Convolution and pooling, naively --------===//
//
// Direct loops straight from the definitions, sums in double:
//   conv2d:  y[n,o,i,j] = b[o] + sum_{c in o's group, p, q}
//                         w[o,c,p,q] * x[n, g*Cg + c, i*sh - ph + p*dh, j*sw - pw + q*dw]
//            (taps outside the input read 0: zero padding)
//   conv2d_grad_input:  dx gets, for every tap of every output, w * dy
//   conv2d_grad_weight: dw[o,c,p,q] = sum over n,i,j of dy * x at the tap
//   max_pool2d: max over the window (padding never wins: it is -inf);
//     the gradient goes to the first maximum in row-major window order.
//   avg_pool2d: sum over the window / (KH*KW): padding counts as zeros
//     (PyTorch's count_include_pad=True default).
//
//===----------------------------------------------------------------------===//
#include "interp/KernelUtil.h"
#include "ir/Vision.h"

#include <cstring>
#include <limits>

namespace gradc::interp {

namespace {
ir::ConvGeom conv(const ir::Node &n) {
  return llvm::cantFail(ir::convGeom(n), "checked by shape inference");
}
ir::PoolGeom pool(const ir::Node &n) {
  return llvm::cantFail(ir::poolGeom(n), "checked by shape inference");
}

/// Calls f(n, o, i, j, xIndex, wIndex) for every in-bounds tap of every
/// output element of a convolution.
template <typename F>
void forEachTap(const ir::ConvGeom &g, int64_t batch, F f) {
  for (int64_t n = 0; n < batch; ++n)
    for (int64_t o = 0; o < g.o; ++o) {
      int64_t grp = o / g.og;
      for (int64_t i = 0; i < g.oh; ++i)
        for (int64_t j = 0; j < g.ow; ++j)
          for (int64_t c = 0; c < g.cg; ++c)
            for (int64_t p = 0; p < g.kh; ++p) {
              int64_t ih = i * g.sh - g.ph + p * g.dh;
              if (ih < 0 || ih >= g.h)
                continue;
              for (int64_t q = 0; q < g.kw; ++q) {
                int64_t iw = j * g.sw - g.pw + q * g.dw;
                if (iw < 0 || iw >= g.w)
                  continue;
                int64_t xi = ((n * g.c + grp * g.cg + c) * g.h + ih) * g.w + iw;
                int64_t wi = ((o * g.cg + c) * g.kh + p) * g.kw + q;
                f(n, o, i, j, xi, wi);
              }
            }
    }
}

int64_t outIndex(const ir::ConvGeom &g, int64_t n, int64_t o, int64_t i, int64_t j) {
  return ((n * g.o + o) * g.oh + i) * g.ow + j;
}

void toF32(const std::vector<double> &acc, rt::Tensor &t) {
  for (int64_t e = 0; e < t.numel(); ++e)
    t.f32()[e] = static_cast<float>(acc[e]);
}
} // namespace

llvm::Error kernelConv2d(const ir::Node &nd, TensorIns in, TensorOuts out) {
  ir::ConvGeom g = conv(nd);
  const float *x = in[0]->f32(), *w = in[1]->f32();
  std::vector<double> acc(out[0]->numel(), 0.0);
  int64_t batch = in[0]->shape()[0];
  forEachTap(g, batch, [&](int64_t n, int64_t o, int64_t i, int64_t j, int64_t xi, int64_t wi) {
    acc[outIndex(g, n, o, i, j)] += double(x[xi]) * double(w[wi]);
  });
  if (in.size() == 3)
    for (int64_t e = 0; e < out[0]->numel(); ++e)
      acc[e] += in[2]->f32()[(e / (g.oh * g.ow)) % g.o];
  toF32(acc, *out[0]);
  return llvm::Error::success();
}

llvm::Error kernelConv2dGradInput(const ir::Node &nd, TensorIns in, TensorOuts out) {
  ir::ConvGeom g = conv(nd);
  const float *dy = in[0]->f32(), *w = in[1]->f32();
  std::vector<double> acc(out[0]->numel(), 0.0);
  forEachTap(g, in[2]->shape()[0],
             [&](int64_t n, int64_t o, int64_t i, int64_t j, int64_t xi, int64_t wi) {
    acc[xi] += double(w[wi]) * double(dy[outIndex(g, n, o, i, j)]);
  });
  toF32(acc, *out[0]);
  return llvm::Error::success();
}

llvm::Error kernelConv2dGradWeight(const ir::Node &nd, TensorIns in, TensorOuts out) {
  ir::ConvGeom g = conv(nd);
  const float *x = in[0]->f32(), *dy = in[1]->f32();
  std::vector<double> acc(out[0]->numel(), 0.0);
  forEachTap(g, in[0]->shape()[0],
             [&](int64_t n, int64_t o, int64_t i, int64_t j, int64_t xi, int64_t wi) {
    acc[wi] += double(x[xi]) * double(dy[outIndex(g, n, o, i, j)]);
  });
  toF32(acc, *out[0]);
  return llvm::Error::success();
}

namespace {
/// Calls f(outIndex, window) for every output of a pool, where window is the
/// list of in-bounds input indices of its window in row-major order.
template <typename F>
void forEachWindow(const ir::PoolGeom &g, int64_t batch, F f) {
  std::vector<int64_t> window;
  int64_t planes = batch * g.c;
  for (int64_t pl = 0; pl < planes; ++pl)
    for (int64_t i = 0; i < g.oh; ++i)
      for (int64_t j = 0; j < g.ow; ++j) {
        window.clear();
        for (int64_t p = 0; p < g.kh; ++p)
          for (int64_t q = 0; q < g.kw; ++q) {
            int64_t ih = i * g.sh - g.ph + p, iw = j * g.sw - g.pw + q;
            if (ih >= 0 && ih < g.h && iw >= 0 && iw < g.w)
              window.push_back((pl * g.h + ih) * g.w + iw);
          }
        f((pl * g.oh + i) * g.ow + j, window);
      }
}

/// The first maximal element of a window (never empty: padding is at most
/// half the kernel, so every window overlaps the input).
int64_t argmaxOf(const float *x, const std::vector<int64_t> &window) {
  int64_t best = window.front();
  for (int64_t e : window)
    if (x[e] > x[best])
      best = e;
  return best;
}
} // namespace

llvm::Error kernelMaxPool2d(const ir::Node &nd, TensorIns in, TensorOuts out) {
  const float *x = in[0]->f32();
  float *y = out[0]->f32();
  forEachWindow(pool(nd), in[0]->shape()[0], [&](int64_t o, const std::vector<int64_t> &win) {
    y[o] = x[argmaxOf(x, win)];
  });
  return llvm::Error::success();
}

llvm::Error kernelMaxPool2dGrad(const ir::Node &nd, TensorIns in, TensorOuts out) {
  const float *x = in[0]->f32(), *dy = in[1]->f32();
  std::vector<double> acc(out[0]->numel(), 0.0);
  forEachWindow(pool(nd), in[0]->shape()[0], [&](int64_t o, const std::vector<int64_t> &win) {
    acc[argmaxOf(x, win)] += dy[o];
  });
  toF32(acc, *out[0]);
  return llvm::Error::success();
}

llvm::Error kernelAvgPool2d(const ir::Node &nd, TensorIns in, TensorOuts out) {
  ir::PoolGeom g = pool(nd);
  const float *x = in[0]->f32();
  float *y = out[0]->f32();
  double count = double(g.kh * g.kw);
  forEachWindow(g, in[0]->shape()[0], [&](int64_t o, const std::vector<int64_t> &win) {
    double s = 0;
    for (int64_t e : win)
      s += x[e];
    y[o] = static_cast<float>(s / count);
  });
  return llvm::Error::success();
}

llvm::Error kernelAvgPool2dGrad(const ir::Node &nd, TensorIns in, TensorOuts out) {
  ir::PoolGeom g = pool(nd);
  const float *dy = in[1]->f32();
  std::vector<double> acc(out[0]->numel(), 0.0);
  double count = double(g.kh * g.kw);
  forEachWindow(g, in[0]->shape()[0], [&](int64_t o, const std::vector<int64_t> &win) {
    for (int64_t e : win)
      acc[e] += dy[o] / count;
  });
  toF32(acc, *out[0]);
  return llvm::Error::success();
}

llvm::Error kernelGlobalAvgPool(const ir::Node &, TensorIns in, TensorOuts out) {
  const Shape &s = in[0]->shape();
  int64_t planes = s[0] * s[1], pixels = s[2] * s[3];
  for (int64_t pl = 0; pl < planes; ++pl) {
    double sum = 0;
    for (int64_t e = 0; e < pixels; ++e)
      sum += in[0]->f32()[pl * pixels + e];
    out[0]->f32()[pl] = static_cast<float>(sum / double(pixels));
  }
  return llvm::Error::success();
}

llvm::Error kernelFlatten(const ir::Node &, TensorIns in, TensorOuts out) {
  if (in[0]->bytes())
    std::memcpy(out[0]->data(), in[0]->data(), in[0]->bytes());
  return llvm::Error::success();
}

} // namespace gradc::interp
