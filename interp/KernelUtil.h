//===- interp/KernelUtil.h - Shared pieces of the interpreter kernels -*- C++ -*-===//
//
// Internal to interp/: the declaration of every kernel (generated from Ops.def,
// so the table in Kernels.cpp fails to link when one is missing), and the few
// index helpers the kernels share: row-major strides, numpy broadcasting by
// zero strides, and the outer/axis/inner split used by everything that works
// along one axis.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "interp/Interpreter.h"
#include "ir/ShapeRules.h"

#include "llvm/Support/FormatVariadic.h"

#include <cassert>
#include <cstdint>
#include <vector>

namespace gradc::interp {

using TensorIns = llvm::ArrayRef<const rt::Tensor *>;
using TensorOuts = llvm::ArrayRef<rt::Tensor *>;

#define OP(Enum, Name, NumInputs, Class, Flags)                                \
  llvm::Error kernel##Enum(const ir::Node &n, TensorIns in, TensorOuts out);
#include "ir/Ops.def"

/// A one-line kernel error; the interpreter prefixes the node.
inline llvm::Error kernelError(const llvm::Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), msg);
}

/// Row-major strides (in elements) of a concrete shape.
std::vector<int64_t> stridesOf(const Shape &s);

/// Strides that read a tensor of shape `in` as if it were broadcast to `out`
/// (numpy rules, `in` aligned to the right): 0 along broadcast axes. `out`
/// has rank >= rank(in) and every dim of `in` is 1 or equal to out's.
std::vector<int64_t> broadcastStrides(const Shape &in, const Shape &out);

/// Walks every element of a tensor of shape `shape` in row-major order,
/// keeping one offset per operand (each with its own strides per axis), so
/// broadcasting and permuted reads cost no division per element.
class StridedWalk {
public:
  StridedWalk(const Shape &shape, std::vector<std::vector<int64_t>> strides);
  /// The offset of operand `i` at the current element.
  int64_t offset(size_t i) const { return offsets_[i]; }
  /// Moves to the next element (row-major); false once past the end.
  bool next();

private:
  Shape shape_;
  std::vector<std::vector<int64_t>> strides_;
  std::vector<int64_t> index_;
  std::vector<int64_t> offsets_;
};

/// A tensor seen as [outer, axis, inner] around one axis.
struct AxisSplit {
  int64_t outer = 1, size = 1, inner = 1;
  int64_t at(int64_t o, int64_t a, int64_t i) const { return (o * size + a) * inner + i; }
};
AxisSplit splitAround(const Shape &s, int64_t axis);

/// The node's `axis` attribute (default -1), normalized for `rank`. Shape
/// inference validated it, so a bad axis here is a broken invariant.
int64_t axisOf(const ir::Node &n, int64_t rank);

} // namespace gradc::interp
