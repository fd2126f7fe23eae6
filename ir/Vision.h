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

/// max_pool2d / avg_pool2d (and their gradients) over x[N,C,H,W].
struct PoolGeom {
  int64_t c, h, w;
  int64_t kh, kw, sh, sw, ph, pw;
  int64_t oh, ow;
};
llvm::Expected<PoolGeom> poolGeom(const Node &n);

} // namespace gradc::ir
