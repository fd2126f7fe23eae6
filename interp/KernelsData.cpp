//===- interp/KernelsData.cpp - Data movement and constants ------------------===//
//
// Reshape copies the data unchanged (row-major order is the same). Transpose
// walks the output in row-major order and reads the input through its strides
// permuted by `perm` (output axis j reads input axis perm[j]); it moves 4-byte
// elements of either dtype. broadcast_to reads its input through broadcast
// strides. constant fills its result with the attribute `value`.
//
//===----------------------------------------------------------------------===//
#include "interp/KernelUtil.h"

#include <cstring>

namespace gradc::interp {

llvm::Error kernelReshape(const ir::Node &, TensorIns in, TensorOuts out) {
  assert(in[0]->bytes() == out[0]->bytes() && "reshape changes the size");
  if (in[0]->bytes())
    std::memcpy(out[0]->data(), in[0]->data(), in[0]->bytes());
  return llvm::Error::success();
}

llvm::Error kernelTranspose(const ir::Node &n, TensorIns in, TensorOuts out) {
  const Shape &s = in[0]->shape();
  int64_t rank = static_cast<int64_t>(s.size());
  std::vector<int64_t> perm = n.attrs().getInts("perm");
  if (perm.empty()) // default: reverse the axes
    for (int64_t i = rank - 1; i >= 0; --i)
      perm.push_back(i);
  assert(static_cast<int64_t>(perm.size()) == rank && "perm was validated");
  std::vector<int64_t> own = stridesOf(s), permuted(rank);
  for (int64_t j = 0; j < rank; ++j)
    permuted[j] = own[perm[j]];
  static_assert(sizeof(float) == sizeof(int32_t), "every dtype is 4 bytes");
  const auto *src = static_cast<const uint32_t *>(in[0]->data());
  auto *dst = static_cast<uint32_t *>(out[0]->data());
  StridedWalk w(out[0]->shape(), {permuted});
  for (int64_t e = 0; e < out[0]->numel(); ++e, w.next())
    dst[e] = src[w.offset(0)];
  return llvm::Error::success();
}

llvm::Error kernelBroadcastTo(const ir::Node &, TensorIns in, TensorOuts out) {
  rt::Tensor &y = *out[0];
  StridedWalk w(y.shape(), {broadcastStrides(in[0]->shape(), y.shape())});
  for (int64_t e = 0; e < y.numel(); ++e, w.next())
    y.f32()[e] = in[0]->f32()[w.offset(0)];
  return llvm::Error::success();
}

llvm::Error kernelConstant(const ir::Node &n, TensorIns, TensorOuts out) {
  float v = static_cast<float>(n.attrs().getFloat("value", 0.0));
  for (int64_t e = 0; e < out[0]->numel(); ++e)
    out[0]->f32()[e] = v;
  return llvm::Error::success();
}

} // namespace gradc::interp
