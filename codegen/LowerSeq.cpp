//===- codegen/LowerSeq.cpp - Activations, selection and losses ------------===//
//
// The sequence-model family's elementwise ops are maps (emitBroadcastMap):
// each says only what it computes per element, with the formulas of
// interp/KernelsSeq.cpp evaluated in f32 through VecMath (exp, log, tanh,
// erf), so every loop vectorizes. Notes:
//   - softplus is max(x, 0) + log(1 + exp(-|x|)): never overflows;
//   - pow with an integer exponent |p| <= 16 is repeated squaring (exact
//     signs for negative x, as std::pow), 1/x^|p| for negative p; p = 0.5 is
//     llvm.sqrt; any other p is exp(p log x) (NaN for x < 0, as std::pow);
//   - maximum / minimum are llvm.maximum / llvm.minimum, which propagate NaN
//     like torch.maximum;
//   - where tests mask != 0 (unordered: a NaN mask takes a).
// bce_with_logits and nll accumulate their means in f64 like the other
// losses; nll and nll_grad, like softmax_cross_entropy, never read out of
// bounds for a label outside [0, C): that position contributes nothing.
//
//===----------------------------------------------------------------------===//
#include "codegen/BroadcastLoops.h"
#include "codegen/Lowering.h"
#include "codegen/VecMath.h"
#include "ir/OpInfoSeq.h"

#include "llvm/IR/Intrinsics.h"

#include <cmath>

namespace gradc::codegen {

using llvm::ArrayRef;
using llvm::Value;

namespace {

using ElemFn = llvm::function_ref<Value *(ArrayRef<Value *>)>;

llvm::Error map(KernelCtx &k, const ir::Node &n, ElemFn f) { return emitNodeMap(k, n, f); }

constexpr double kSqrt2OverPi = 0.7978845608028654;
constexpr double kInvSqrt2Pi = 0.3989422804014327;

Value *positive(KernelCtx &k, Value *x) { return k.b().CreateFCmpOGT(x, k.f32c(0.0)); }

Value *gelu(KernelCtx &k, Value *x, bool tanhForm) {
  auto &b = k.b();
  Value *half = b.CreateFMul(k.f32c(0.5), x);
  Value *inner;
  if (tanhForm) {
    Value *x3 = b.CreateFMul(b.CreateFMul(x, x), x);
    Value *u = b.CreateFMul(k.f32c(kSqrt2OverPi), b.CreateFAdd(x, b.CreateFMul(k.f32c(0.044715), x3)));
    inner = emitTanh(k, u);
  } else {
    inner = emitErf(k, b.CreateFMul(x, k.f32c(M_SQRT1_2)));
  }
  return b.CreateFMul(half, b.CreateFAdd(k.f32c(1.0), inner));
}

Value *geluDerivative(KernelCtx &k, Value *x, bool tanhForm) {
  auto &b = k.b();
  Value *x2 = b.CreateFMul(x, x);
  if (tanhForm) {
    Value *u = b.CreateFMul(k.f32c(kSqrt2OverPi),
                            b.CreateFAdd(x, b.CreateFMul(k.f32c(0.044715), b.CreateFMul(x2, x))));
    Value *t = emitTanh(k, u);
    Value *du = b.CreateFMul(k.f32c(kSqrt2OverPi),
                             b.CreateFAdd(k.f32c(1.0), b.CreateFMul(k.f32c(3 * 0.044715), x2)));
    Value *left = b.CreateFMul(k.f32c(0.5), b.CreateFAdd(k.f32c(1.0), t));
    Value *sech2 = b.CreateFSub(k.f32c(1.0), b.CreateFMul(t, t));
    return b.CreateFAdd(left, b.CreateFMul(b.CreateFMul(b.CreateFMul(k.f32c(0.5), x), sech2), du));
  }
  // Phi(x) = (1 + erf(x/sqrt2)) / 2 and phi(x) = exp(-x^2/2) / sqrt(2 pi):
  // erf(u) needs exp(-u^2), the same exponential.
  Value *e = emitExp(k, b.CreateFMul(k.f32c(-0.5), x2));
  Value *cdf = b.CreateFMul(
      k.f32c(0.5),
      b.CreateFAdd(k.f32c(1.0), emitErfGivenExp(k, b.CreateFMul(x, k.f32c(M_SQRT1_2)), e)));
  Value *pdf = b.CreateFMul(k.f32c(kInvSqrt2Pi), e);
  return b.CreateFAdd(cdf, b.CreateFMul(x, pdf));
}

Value *softplus(KernelCtx &k, Value *x) {
  auto &b = k.b();
  Value *ax = b.CreateUnaryIntrinsic(llvm::Intrinsic::fabs, x);
  Value *l = emitLog(k, b.CreateFAdd(k.f32c(1.0), emitExp(k, b.CreateFNeg(ax))));
  return b.CreateFAdd(b.CreateMaxNum(x, k.f32c(0.0)), l);
}

Value *powInt(KernelCtx &k, Value *x, int64_t p) {
  auto &b = k.b();
  uint64_t e = static_cast<uint64_t>(p < 0 ? -p : p);
  Value *result = k.f32c(1.0), *base = x;
  for (; e; e >>= 1) {
    if (e & 1)
      result = b.CreateFMul(result, base);
    if (e > 1)
      base = b.CreateFMul(base, base);
  }
  return p < 0 ? b.CreateFDiv(k.f32c(1.0), result) : result;
}

} // namespace

// ---- Activations ------------------------------------------------------------

llvm::Error lowerLeakyRelu(KernelCtx &k, const ir::Node &n) {
  Value *alpha = k.f32c(n.attrs().getFloat("alpha", 0.01));
  return map(k, n, [&](ArrayRef<Value *> v) {
    return k.b().CreateSelect(positive(k, v[0]), v[0], k.b().CreateFMul(alpha, v[0]));
  });
}
llvm::Error lowerGelu(KernelCtx &k, const ir::Node &n) {
  bool t = n.attrs().getString("approximate", "none") == "tanh";
  return map(k, n, [&](ArrayRef<Value *> v) { return gelu(k, v[0], t); });
}
llvm::Error lowerGaussian(KernelCtx &k, const ir::Node &n) {
  return map(k, n, [&](ArrayRef<Value *> v) {
    auto &b = k.b();
    return emitExp(k, b.CreateFMul(k.f32c(-0.5), b.CreateFMul(v[0], v[0])));
  });
}
llvm::Error lowerElu(KernelCtx &k, const ir::Node &n) {
  Value *alpha = k.f32c(n.attrs().getFloat("alpha", 1.0));
  return map(k, n, [&](ArrayRef<Value *> v) {
    auto &b = k.b();
    Value *neg = b.CreateFMul(alpha, b.CreateFSub(emitExp(k, v[0]), k.f32c(1.0)));
    return b.CreateSelect(positive(k, v[0]), v[0], neg);
  });
}
llvm::Error lowerSoftplus(KernelCtx &k, const ir::Node &n) {
  return map(k, n, [&](ArrayRef<Value *> v) { return softplus(k, v[0]); });
}
llvm::Error lowerStep(KernelCtx &k, const ir::Node &n) {
  return map(k, n, [&](ArrayRef<Value *> v) {
    return k.b().CreateSelect(positive(k, v[0]), k.f32c(1.0), k.f32c(0.0));
  });
}
llvm::Error lowerPow(KernelCtx &k, const ir::Node &n) {
  double p = n.attrs().getFloat("exponent", 1.0);
  return map(k, n, [&](ArrayRef<Value *> v) -> Value * {
    auto &b = k.b();
    if (p == std::floor(p) && std::fabs(p) <= 16)
      return powInt(k, v[0], static_cast<int64_t>(p));
    if (p == 0.5)
      return b.CreateUnaryIntrinsic(llvm::Intrinsic::sqrt, v[0]);
    return emitExp(k, b.CreateFMul(k.f32c(p), emitLog(k, v[0])));
  });
}

llvm::Error lowerActivationGrad(KernelCtx &k, const ir::Node &n) {
  auto op = ir::activationByName(n.attrs().getString("op", ""));
  if (!op)
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "activation_grad of an unknown op");
  double alphaV = n.attrs().getFloat("alpha", *op == ir::OpKind::Elu ? 1.0 : 0.01);
  bool t = n.attrs().getString("approximate", "none") == "tanh";
  return map(k, n, [&](ArrayRef<Value *> v) {
    auto &b = k.b();
    Value *x = v[0], *d = nullptr;
    switch (*op) {
    case ir::OpKind::LeakyRelu:
      d = b.CreateSelect(positive(k, x), k.f32c(1.0), k.f32c(alphaV));
      break;
    case ir::OpKind::Gelu:
      d = geluDerivative(k, x, t);
      break;
    case ir::OpKind::Gaussian:
      d = b.CreateFMul(b.CreateFNeg(x), emitExp(k, b.CreateFMul(k.f32c(-0.5), b.CreateFMul(x, x))));
      break;
    case ir::OpKind::Elu:
      d = b.CreateSelect(positive(k, x), k.f32c(1.0), b.CreateFMul(k.f32c(alphaV), emitExp(k, x)));
      break;
    default: // softplus
      d = emitSigmoid(k, x);
      break;
    }
    return b.CreateFMul(d, v[1]);
  });
}

// ---- Selection ----------------------------------------------------------------

llvm::Error lowerMaximum(KernelCtx &k, const ir::Node &n) {
  return map(k, n, [&](ArrayRef<Value *> v) {
    return k.b().CreateBinaryIntrinsic(llvm::Intrinsic::maximum, v[0], v[1]);
  });
}
llvm::Error lowerMinimum(KernelCtx &k, const ir::Node &n) {
  return map(k, n, [&](ArrayRef<Value *> v) {
    return k.b().CreateBinaryIntrinsic(llvm::Intrinsic::minimum, v[0], v[1]);
  });
}
llvm::Error lowerWhere(KernelCtx &k, const ir::Node &n) {
  return map(k, n, [&](ArrayRef<Value *> v) {
    return k.b().CreateSelect(k.b().CreateFCmpUNE(v[0], k.f32c(0.0)), v[1], v[2]);
  });
}
llvm::Error lowerExtremumGrad(KernelCtx &k, const ir::Node &n) {
  bool isMax = n.attrs().getString("op", "") == "maximum";
  return map(k, n, [&](ArrayRef<Value *> v) {
    auto &b = k.b();
    Value *wins = isMax ? b.CreateFCmpOGT(v[0], v[1]) : b.CreateFCmpOLT(v[0], v[1]);
    Value *share = b.CreateSelect(wins, v[2], k.f32c(0.0));
    return b.CreateSelect(b.CreateFCmpOEQ(v[0], v[1]), b.CreateFMul(k.f32c(0.5), v[2]), share);
  });
}

// ---- Losses -------------------------------------------------------------------

llvm::Error lowerBceWithLogits(KernelCtx &k, const ir::Node &n) {
  auto &b = k.b();
  Value *count = k.numel(k.inShape(0));
  llvm::Type *f64 = b.getDoubleTy();
  Value *total = k.loopCarried(count, {llvm::ConstantFP::get(f64, 0.0)},
                               [&](Value *i, ArrayRef<Value *> acc) {
    Value *x = k.load(k.in(0), i), *t = k.load(k.in(1), i);
    Value *term = b.CreateFSub(softplus(k, x), b.CreateFMul(x, t));
    return LoopValues{k.accumulate(acc[0], b.CreateFPExt(term, f64))};
  })[0];
  Value *mean = b.CreateFDiv(total, b.CreateSIToFP(count, f64));
  k.store(b.CreateFPTrunc(mean, k.f32()), k.out(), k.i64c(0));
  return llvm::Error::success();
}

llvm::Error lowerNll(KernelCtx &k, const ir::Node &n) {
  auto &b = k.b();
  Value *positions = k.numel(k.inShape(1));
  Value *classes = k.dim(k.inShape(0).back());
  llvm::Type *f64 = b.getDoubleTy();
  Value *total = k.loopCarried(positions, {llvm::ConstantFP::get(f64, 0.0)},
                               [&](Value *p, ArrayRef<Value *> acc) {
    Value *label = b.CreateSExt(k.load(k.in(1), p, k.i32()), k.i64());
    Value *valid = b.CreateICmpULT(label, classes);
    Value *v = k.ifThenValue(valid, [&] {
      return k.load(k.in(0), k.add(k.mul(p, classes), label));
    }, k.f32c(0.0), "label");
    return LoopValues{k.accumulate(acc[0], b.CreateFPExt(v, f64))};
  }, "p")[0];
  Value *mean = b.CreateFNeg(b.CreateFDiv(total, b.CreateSIToFP(positions, f64)));
  k.store(b.CreateFPTrunc(mean, k.f32()), k.out(), k.i64c(0));
  return llvm::Error::success();
}

llvm::Error lowerNllGrad(KernelCtx &k, const ir::Node &n) {
  auto &b = k.b();
  Value *positions = k.numel(k.inShape(1));
  Value *classes = k.dim(k.inShape(0).back());
  Value *g = b.CreateFNeg(b.CreateFDiv(k.load(k.in(2), k.i64c(0)),
                                       b.CreateSIToFP(positions, k.f32())));
  k.loop(k.numel(k.outShape()), [&](Value *i) { k.store(k.f32c(0.0), k.out(), i); });
  k.loop(positions, [&](Value *p) {
    Value *label = b.CreateSExt(k.load(k.in(1), p, k.i32()), k.i64());
    Value *valid = b.CreateICmpULT(label, classes);
    Value *at = k.add(k.mul(p, classes), b.CreateSelect(valid, label, k.i64c(0)));
    Value *old = k.load(k.out(), at);
    k.store(b.CreateSelect(valid, g, old), k.out(), at);
  }, "p");
  return llvm::Error::success();
}

} // namespace gradc::codegen
