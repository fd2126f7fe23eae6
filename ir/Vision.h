//===- ir/Vision.h - Geometry of convolution and pooling nodes ---*- C++ -*-===//
//
// Shape rules, gradient rules, interpreter kernels and lowerings of the NCHW
// vision ops all need the same numbers: channels, kernel, stride, padding,
// dilation and the output size. They read them here, from the node's input
// types and attributes, so every layer agrees on one definition:
//
//   out = floor((in + 2*pad - dilation*(kernel - 1) - 1) / stride) + 1
//
// (PyTorch's, ceil_mode=False). Two-int attributes (stride, padding,
// dilation, kernel) are an int list [h, w] or one int for both.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Graph.h"

#include "llvm/ADT/STLFunctionalExtras.h"

#include <array>

namespace gradc::ir {

/// An attribute given as [h, w] or as one int for both; `dflt` when absent.
std::array<int64_t, 2> pairAttr(const Attrs &a, const std::string &name,
                                std::array<int64_t, 2> dflt);

/// conv2d over x[N,C,H,W] with w[O,C/groups,KH,KW] -> y[N,O,OH,OW].
struct ConvGeom {
  int64_t c, h, w;     // input channels and size
  int64_t o, kh, kw;   // output channels, kernel size
  int64_t groups, cg, og; // groups, input / output channels per group
  int64_t sh, sw, ph, pw, dh, dw;
  int64_t oh, ow;      // output size
  /// Rows of a group's im2col matrix: cg * kh * kw.
  int64_t colRows() const { return cg * kh * kw; }
  int64_t outPixels() const { return oh * ow; }
};

/// The geometry of a conv2d node, or of its gradient kernels (the x and w
/// operands are found by op). Errors say what is inconsistent; shape
/// inference calls it first, so later callers may cantFail it.
llvm::Expected<ConvGeom> convGeom(const Node &n);

/// The part of convGeom after the operands' types: node `n`'s stride,
/// padding, dilation and groups applied to an image of shape `xs` [N, C, H,
/// W] and `o` output channels of KH x KW (the conv layer has no weight yet).
/// `outName` names the output channels in the groups error; `check`, when
/// given, runs once the groups are known (conv2d: the weight's channels).
llvm::Expected<ConvGeom>
convGeomOf(const Node &n, const Shape &xs, int64_t o, int64_t kh, int64_t kw,
           const char *outName,
           llvm::function_ref<llvm::Error(const ConvGeom &)> check = nullptr);

/// max_pool2d / avg_pool2d (and their gradients) over x[N,C,H,W].
struct PoolGeom {
  int64_t c, h, w;
  int64_t kh, kw, sh, sw, ph, pw;
  int64_t oh, ow;
};
llvm::Expected<PoolGeom> poolGeom(const Node &n);

} // namespace gradc::ir

namespace gradc::ir {

/// Dropout's counter-based random bits: splitmix64's finalizer of a key
/// made from the node's seed, the step and the element's index, so a mask
/// is a pure function of (seed, step, index): the same in the JIT and the
/// interpreter, different every step, and recomputed (not stored) by the
/// backward pass. Element `index` is kept when (hash >> 40) >= threshold.
inline uint64_t dropoutHash(uint64_t seed, uint64_t step, uint64_t index) {
  uint64_t z = seed * 0x9E3779B97F4A7C15ull + step * 0xD1B54A32D192ED03ull + index;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
/// 24-bit threshold for drop probability p: P(keep) = 1 - threshold / 2^24.
inline uint64_t dropoutThreshold(double p) {
  return static_cast<uint64_t>(p * 16777216.0 + 0.5);
}
/// The scale kept elements get: 1 / (1 - p), rounded to f32 once.
inline float dropoutScale(double p) { return p < 1 ? float(1.0 / (1.0 - p)) : 0.0f; }

} // namespace gradc::ir
