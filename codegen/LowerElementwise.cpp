//===- codegen/LowerElementwise.cpp - Elementwise and broadcasting ops -----===//
//
// Every op here is a map: one output element from the input elements at the
// same (broadcast) index. All of them go through emitBroadcastMap, which
// gives same-shape operands one flat loop and broadcasting operands a nest
// with stride-0 dimensions; this file only says what each op computes per
// element.
//
// relu and relu_grad use compare+select rather than max/multiply: relu keeps
// a NaN input NaN (x < 0 is false for NaN), and relu_grad passes dy exactly
// where x > 0 and writes 0 elsewhere (never inf*0 = NaN).
//
//===----------------------------------------------------------------------===//
#include "codegen/BroadcastLoops.h"
#include "codegen/Lowering.h"
#include "codegen/VecMath.h"

#include "llvm/IR/Intrinsics.h"

namespace gradc::codegen {

using llvm::ArrayRef;
using llvm::Value;

namespace {

using ElemFn = llvm::function_ref<Value *(ArrayRef<Value *>)>;

llvm::Error map(KernelCtx &k, const ir::Node &n, ElemFn f) { return emitNodeMap(k, n, f); }

} // namespace

// ---- Binary, with broadcasting ---------------------------------------------

llvm::Error lowerAdd(KernelCtx &k, const ir::Node &n) {
  return map(k, n, [&](ArrayRef<Value *> v) { return k.b().CreateFAdd(v[0], v[1]); });
}
llvm::Error lowerSub(KernelCtx &k, const ir::Node &n) {
  return map(k, n, [&](ArrayRef<Value *> v) { return k.b().CreateFSub(v[0], v[1]); });
}
llvm::Error lowerMul(KernelCtx &k, const ir::Node &n) {
  return map(k, n, [&](ArrayRef<Value *> v) { return k.b().CreateFMul(v[0], v[1]); });
}
llvm::Error lowerDiv(KernelCtx &k, const ir::Node &n) {
  return map(k, n, [&](ArrayRef<Value *> v) { return k.b().CreateFDiv(v[0], v[1]); });
}

// ---- Unary ------------------------------------------------------------------

llvm::Error lowerNeg(KernelCtx &k, const ir::Node &n) {
  return map(k, n, [&](ArrayRef<Value *> v) { return k.b().CreateFNeg(v[0]); });
}
llvm::Error lowerRelu(KernelCtx &k, const ir::Node &n) {
  return map(k, n, [&](ArrayRef<Value *> v) {
    auto &b = k.b();
    return b.CreateSelect(b.CreateFCmpOLT(v[0], k.f32c(0.0)), k.f32c(0.0), v[0]);
  });
}
llvm::Error lowerSigmoid(KernelCtx &k, const ir::Node &n) {
  return map(k, n, [&](ArrayRef<Value *> v) { return emitSigmoid(k, v[0]); });
}
llvm::Error lowerTanh(KernelCtx &k, const ir::Node &n) {
  return map(k, n, [&](ArrayRef<Value *> v) { return emitTanh(k, v[0]); });
}
llvm::Error lowerExp(KernelCtx &k, const ir::Node &n) {
  return map(k, n, [&](ArrayRef<Value *> v) { return emitExp(k, v[0]); });
}
llvm::Error lowerLog(KernelCtx &k, const ir::Node &n) {
  return map(k, n, [&](ArrayRef<Value *> v) { return emitLog(k, v[0]); });
}
llvm::Error lowerSqrt(KernelCtx &k, const ir::Node &n) {
  // llvm.sqrt is correctly rounded and vectorizes to the hardware sqrt.
  return map(k, n, [&](ArrayRef<Value *> v) {
    return k.b().CreateUnaryIntrinsic(llvm::Intrinsic::sqrt, v[0]);
  });
}

// ---- Elementwise gradients (value, dy) ---------------------------------------

llvm::Error lowerReluGrad(KernelCtx &k, const ir::Node &n) {
  return map(k, n, [&](ArrayRef<Value *> v) {
    auto &b = k.b();
    return b.CreateSelect(b.CreateFCmpOGT(v[0], k.f32c(0.0)), v[1], k.f32c(0.0));
  });
}
llvm::Error lowerSigmoidGrad(KernelCtx &k, const ir::Node &n) {
  // dy * y * (1 - y), y = sigmoid(x).
  return map(k, n, [&](ArrayRef<Value *> v) {
    auto &b = k.b();
    return b.CreateFMul(b.CreateFMul(v[1], v[0]), b.CreateFSub(k.f32c(1.0), v[0]));
  });
}
llvm::Error lowerTanhGrad(KernelCtx &k, const ir::Node &n) {
  // dy * (1 - y^2), y = tanh(x).
  return map(k, n, [&](ArrayRef<Value *> v) {
    auto &b = k.b();
    return b.CreateFMul(v[1], b.CreateFSub(k.f32c(1.0), b.CreateFMul(v[0], v[0])));
  });
}

} // namespace gradc::codegen
