//===- interp/Kernels.cpp - Kernel table, index helpers, elementwise ops ----===//
//
// The reference kernels favour obviously correct over fast: every element is
// computed in double from the f32 inputs and rounded once when stored, and
// every sum is accumulated in double. For +, -, *, / that rounding gives
// exactly the correctly rounded f32 result, so the oracle is as precise as an
// f32 kernel can be.
//
// Broadcasting (numpy rules) reads each operand through strides that are 0
// along its broadcast axes (broadcastStrides); StridedWalk then visits the
// output in row-major order while keeping each operand's offset, so no kernel
// needs per-element index arithmetic.
//
// This file holds the table (generated from Ops.def: a missing kernel is a
// link error), the shared index helpers, matmul, and the elementwise and
// broadcasting ops with their elementwise gradient kernels. Reductions and the
// softmax family are in KernelsReduce.cpp, losses in KernelsLoss.cpp, data
// movement and constants in KernelsData.cpp.
//
//===----------------------------------------------------------------------===//
#include "interp/KernelUtil.h"

#include <cmath>

namespace gradc::interp {

// ---- Index helpers ------------------------------------------------------------

std::vector<int64_t> stridesOf(const Shape &s) {
  std::vector<int64_t> st(s.size());
  int64_t acc = 1;
  for (size_t i = s.size(); i-- > 0;) {
    st[i] = acc;
    acc *= s[i];
  }
  return st;
}

std::vector<int64_t> broadcastStrides(const Shape &in, const Shape &out) {
  assert(in.size() <= out.size() && "broadcast to a lower rank");
  std::vector<int64_t> own = stridesOf(in);
  std::vector<int64_t> st(out.size(), 0);
  size_t lead = out.size() - in.size();
  for (size_t i = 0; i < in.size(); ++i) {
    assert((in[i] == out[lead + i] || in[i] == 1) && "shapes do not broadcast");
    st[lead + i] = in[i] == 1 ? 0 : own[i];
  }
  return st;
}

StridedWalk::StridedWalk(const Shape &shape, std::vector<std::vector<int64_t>> strides)
    : shape_(shape), strides_(std::move(strides)), index_(shape.size(), 0),
      offsets_(strides_.size(), 0) {
  for ([[maybe_unused]] const auto &s : strides_)
    assert(s.size() == shape_.size() && "one stride per axis");
}

bool StridedWalk::next() {
  // Odometer: bump the last axis; on wrap-around rewind it and carry.
  for (size_t ax = shape_.size(); ax-- > 0;) {
    if (++index_[ax] < shape_[ax]) {
      for (size_t i = 0; i < offsets_.size(); ++i)
        offsets_[i] += strides_[i][ax];
      return true;
    }
    index_[ax] = 0;
    for (size_t i = 0; i < offsets_.size(); ++i)
      offsets_[i] -= strides_[i][ax] * (shape_[ax] - 1);
  }
  return false;
}

AxisSplit splitAround(const Shape &s, int64_t axis) {
  assert(axis >= 0 && axis < static_cast<int64_t>(s.size()) && "axis out of range");
  AxisSplit sp;
  for (int64_t i = 0; i < axis; ++i)
    sp.outer *= s[i];
  sp.size = s[axis];
  for (size_t i = axis + 1; i < s.size(); ++i)
    sp.inner *= s[i];
  return sp;
}

int64_t axisOf(const ir::Node &n, int64_t rank) {
  auto a = ir::normalizeAxis(n.attrs().getInt("axis", -1), rank);
  assert(a && "axis was validated by shape inference");
  if (!a) {
    llvm::consumeError(a.takeError());
    return 0;
  }
  return *a;
}

// ---- Linear algebra -------------------------------------------------------------

llvm::Error kernelMatMul(const ir::Node &n, TensorIns in, TensorOuts out) {
  const rt::Tensor &a = *in[0], &b = *in[1];
  rt::Tensor &c = *out[0];
  bool ta = n.attrs().getInt("transpose_a", 0) != 0;
  bool tb = n.attrs().getInt("transpose_b", 0) != 0;
  // Operands of rank > 2 are read as [prod(leading dims), last dim].
  auto rows = [](const Shape &s) {
    int64_t r = 1;
    for (size_t i = 0; i + 1 < s.size(); ++i)
      r *= s[i];
    return r;
  };
  int64_t aCols = a.shape().back(), bCols = b.shape().back();
  int64_t aRows = rows(a.shape()), bRows = rows(b.shape());
  int64_t m = ta ? aCols : aRows, nn = c.shape().back();
  int64_t k = ta ? aRows : aCols;
  assert(k == (tb ? bCols : bRows) && m * nn == c.numel() && "inner dimensions differ");
  // op(A)(i,p) and op(B)(p,j), reading the stored operand transposed if asked.
  auto A = [&](int64_t i, int64_t p) { return ta ? a.f32()[p * aCols + i] : a.f32()[i * aCols + p]; };
  auto B = [&](int64_t p, int64_t j) { return tb ? b.f32()[j * bCols + p] : b.f32()[p * bCols + j]; };
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < nn; ++j) {
      double acc = 0;
      for (int64_t p = 0; p < k; ++p)
        acc += double(A(i, p)) * double(B(p, j));
      c.f32()[i * nn + j] = static_cast<float>(acc);
    }
  return llvm::Error::success();
}

// ---- Broadcasting binary ops -----------------------------------------------------

template <typename F>
static llvm::Error binary(TensorIns in, TensorOuts out, F f) {
  const rt::Tensor &a = *in[0], &b = *in[1];
  rt::Tensor &y = *out[0];
  StridedWalk w(y.shape(), {broadcastStrides(a.shape(), y.shape()),
                            broadcastStrides(b.shape(), y.shape())});
  for (int64_t e = 0; e < y.numel(); ++e, w.next())
    y.f32()[e] = static_cast<float>(f(double(a.f32()[w.offset(0)]),
                                      double(b.f32()[w.offset(1)])));
  return llvm::Error::success();
}

llvm::Error kernelAdd(const ir::Node &, TensorIns in, TensorOuts out) {
  return binary(in, out, [](double a, double b) { return a + b; });
}
llvm::Error kernelSub(const ir::Node &, TensorIns in, TensorOuts out) {
  return binary(in, out, [](double a, double b) { return a - b; });
}
llvm::Error kernelMul(const ir::Node &, TensorIns in, TensorOuts out) {
  return binary(in, out, [](double a, double b) { return a * b; });
}
llvm::Error kernelDiv(const ir::Node &, TensorIns in, TensorOuts out) {
  return binary(in, out, [](double a, double b) { return a / b; });
}

// ---- Elementwise unary ops -------------------------------------------------------

template <typename F>
static llvm::Error unary(TensorIns in, TensorOuts out, F f) {
  const rt::Tensor &x = *in[0];
  rt::Tensor &y = *out[0];
  assert(x.numel() == y.numel() && "elementwise shapes differ");
  for (int64_t e = 0; e < y.numel(); ++e)
    y.f32()[e] = static_cast<float>(f(double(x.f32()[e])));
  return llvm::Error::success();
}

llvm::Error kernelNeg(const ir::Node &, TensorIns in, TensorOuts out) {
  return unary(in, out, [](double x) { return -x; });
}
llvm::Error kernelRelu(const ir::Node &, TensorIns in, TensorOuts out) {
  return unary(in, out, [](double x) { return x > 0 ? x : 0.0; });
}
llvm::Error kernelSigmoid(const ir::Node &, TensorIns in, TensorOuts out) {
  // exp(-x) overflows to inf for very negative x, giving the right limit 0.
  return unary(in, out, [](double x) { return 1.0 / (1.0 + std::exp(-x)); });
}
llvm::Error kernelTanh(const ir::Node &, TensorIns in, TensorOuts out) {
  return unary(in, out, [](double x) { return std::tanh(x); });
}
llvm::Error kernelExp(const ir::Node &, TensorIns in, TensorOuts out) {
  return unary(in, out, [](double x) { return std::exp(x); });
}
llvm::Error kernelLog(const ir::Node &, TensorIns in, TensorOuts out) {
  return unary(in, out, [](double x) { return std::log(x); });
}
llvm::Error kernelSqrt(const ir::Node &, TensorIns in, TensorOuts out) {
  return unary(in, out, [](double x) { return std::sqrt(x); });
}

// ---- Elementwise gradient kernels: (value, dy) of one shape ----------------------

template <typename F>
static llvm::Error pairwise(TensorIns in, TensorOuts out, F f) {
  const rt::Tensor &v = *in[0], &dy = *in[1];
  rt::Tensor &dx = *out[0];
  assert(v.numel() == dx.numel() && dy.numel() == dx.numel() && "shapes differ");
  for (int64_t e = 0; e < dx.numel(); ++e)
    dx.f32()[e] = static_cast<float>(f(double(v.f32()[e]), double(dy.f32()[e])));
  return llvm::Error::success();
}

llvm::Error kernelReluGrad(const ir::Node &, TensorIns in, TensorOuts out) {
  return pairwise(in, out, [](double x, double dy) { return x > 0 ? dy : 0.0; });
}
llvm::Error kernelSigmoidGrad(const ir::Node &, TensorIns in, TensorOuts out) {
  return pairwise(in, out, [](double y, double dy) { return dy * y * (1 - y); });
}
llvm::Error kernelTanhGrad(const ir::Node &, TensorIns in, TensorOuts out) {
  return pairwise(in, out, [](double y, double dy) { return dy * (1 - y * y); });
}

// ---- The table -------------------------------------------------------------------

Kernel interpKernel(ir::OpKind op) {
  static constexpr Kernel table[] = {
#define OP(Enum, Name, NumInputs, Class, Flags) &kernel##Enum,
#include "ir/Ops.def"
  };
  static_assert(sizeof(table) / sizeof(table[0]) == ir::kNumOps, "one kernel per op");
  return table[static_cast<size_t>(op)];
}

} // namespace gradc::interp
