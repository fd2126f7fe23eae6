//===- codegen/LowerMatMul.cpp - matmul with transpose flags ---------------===//
//
// C[M,Nn] = op(A)[M,K] * op(B)[K,Nn], op = optional transpose (rank 2; any of
// M, K, Nn may be the batch N). Each transpose case goes to the Gemm.cpp
// kernel that reads its operands in their stored layout:
//   A   * B     outer product, A by rows                (forward)
//   A^T * B     outer product, A read through strides   (weight gradients)
//   A   * B^T   K >= 128 or K = N: dot product over contiguous rows of both
//               (input gradients); small K: B^T packed into a row-major
//               copy, then the outer product. The dot kernel ends in one
//               horizontal sum per element of C, which a short K does not
//               amortize ([64,10]x[256,10]^T: 21 us dot, 4 us packed), and
//               the copy is O(K*Nn) against O(M*K*Nn) for the product.
//   A^T * B^T   B^T packed, then the outer product with A through strides
//               (rare: the gradient of the same)
//
//===----------------------------------------------------------------------===//
#include "codegen/Gemm.h"
#include "codegen/Lowering.h"

namespace gradc::codegen {

using llvm::Value;

llvm::Error lowerMatMul(KernelCtx &k, const ir::Node &n) {
  bool ta = n.attrs().getInt("transpose_a", 0) != 0;
  bool tb = n.attrs().getInt("transpose_b", 0) != 0;
  const Shape &as = k.inShape(0), &bs = k.inShape(1);
  Value *a0 = k.dim(as[0]), *a1 = k.dim(as[1]);
  Value *b0 = k.dim(bs[0]), *b1 = k.dim(bs[1]);
  GemmShape s{ta ? a1 : a0, ta ? a0 : a1, tb ? b0 : b1};

  auto *constK = llvm::dyn_cast<llvm::ConstantInt>(s.K);
  if (tb && !ta && (!constK || constK->getSExtValue() >= 128)) {
    emitGemmDot(k, s, k.in(0), k.in(1), k.out());
    return llvm::Error::success();
  }
  Value *sAi = ta ? k.i64c(1) : s.K;
  Value *sAk = ta ? s.M : k.i64c(1);
  Value *B = tb ? emitPackTransposed(k, k.in(1), b0, b1) : k.in(1);
  emitGemmOuter(k, s, k.in(0), sAi, sAk, B, k.out());
  if (tb)
    k.freeScratch(B);
  return llvm::Error::success();
}

} // namespace gradc::codegen
