//===- codegen/VecMath.cpp - Vectorizable exp, log, tanh, sigmoid ----------===//
//
// Transcendental functions emitted inline as straight-line f32 arithmetic
// (no calls, no branches), so the loop vectorizer widens them like any other
// arithmetic and an AOT object needs no libm or libmvec. They take a scalar
// or a vector value alike. The algorithms are the Cephes single-precision
// ones (S. Moshier), whose peak error is about 1-2 ulp over the float range:
//
// exp(x):  n = floor(x*log2(e) + 1/2);  r = x - n*ln2 (ln2 split in two
//          parts, the first exact in few bits, so r is nearly exact);
//          exp(r) by a degree-6 polynomial on |r| <= ln2/2; result
//          exp(r) * 2^n, with 2^n applied as two factors 2^(n/2) and
//          2^(n - n/2) built from exponent bits, so the results that are
//          subnormal (x down to -103.9) or overflow (x above 88.72) come out
//          right without branches. x is clamped to [-104, 89] first (beyond
//          that the result is 0 or inf anyway) so the float->int conversion
//          is always defined; NaN is passed through by a final select.
// log(x):  x = m * 2^e with m in [sqrt(1/2), sqrt(2)) from the exponent bits
//          (subnormal x scaled by 2^23 first); log(m) = f - f^2/2 + f^3 P(f)
//          with f = m - 1; plus e*ln2 in two parts. Selects give log(0) =
//          -inf, log(x<0) = NaN, log(inf) = inf, log(NaN) = NaN.
// tanh(x): |x| < 0.625: x + x^3 P(x^2) (no cancellation near 0);
//          otherwise sign(x) * (1 - 2 / (exp(2|x|) + 1)), which saturates to
//          +-1 once exp overflows.
// sigmoid(x): with e = exp(-|x|), 1 / (1 + e) for x >= 0 and e / (1 + e)
//          for x < 0, so it never overflows and keeps its (subnormal) value
//          for very negative x, where 1 / (1 + exp(-x)) would give 0.
//
// Both sides of each select are computed: a few wasted multiplies per
// element are far cheaper than branches that stop vectorization.
//
//===----------------------------------------------------------------------===//
#include "codegen/VecMath.h"

#include "llvm/IR/Intrinsics.h"

#include <limits>

namespace gradc::codegen {

using llvm::Value;

namespace {

/// Emits arithmetic on values of x's type (f32 or <n x f32>) and the
/// matching i32 type.
class Math {
public:
  Math(KernelCtx &k, Value *like) : b_(k.b()), fty_(like->getType()) {
    ity_ = b_.getInt32Ty();
    if (auto *v = llvm::dyn_cast<llvm::VectorType>(fty_))
      ity_ = llvm::VectorType::get(ity_, v->getElementCount());
  }

  Value *c(double v) { return llvm::ConstantFP::get(fty_, v); }
  Value *ci(int32_t v) { return llvm::ConstantInt::get(ity_, static_cast<uint64_t>(v), true); }
  Value *add(Value *a, Value *b) { return b_.CreateFAdd(a, b); }
  Value *sub(Value *a, Value *b) { return b_.CreateFSub(a, b); }
  Value *mul(Value *a, Value *b) { return b_.CreateFMul(a, b); }
  Value *div(Value *a, Value *b) { return b_.CreateFDiv(a, b); }
  /// a*b + c (may be fused).
  Value *fma(Value *a, Value *b, Value *c) {
    return b_.CreateIntrinsic(llvm::Intrinsic::fmuladd, {fty_}, {a, b, c});
  }
  /// Horner: ((c0*x + c1)*x + c2)...
  Value *poly(Value *x, std::initializer_list<double> coeffs) {
    Value *acc = nullptr;
    for (double cf : coeffs)
      acc = acc ? fma(acc, x, c(cf)) : c(cf);
    return acc;
  }
  Value *unary(llvm::Intrinsic::ID id, Value *x) { return b_.CreateUnaryIntrinsic(id, x); }
  Value *binary(llvm::Intrinsic::ID id, Value *x, Value *y) {
    return b_.CreateBinaryIntrinsic(id, x, y);
  }
  Value *select(Value *cond, Value *a, Value *b) { return b_.CreateSelect(cond, a, b); }
  Value *isNaN(Value *x) { return b_.CreateFCmpUNO(x, x); }
  Value *lt(Value *a, Value *b) { return b_.CreateFCmpOLT(a, b); }
  Value *eq(Value *a, Value *b) { return b_.CreateFCmpOEQ(a, b); }
  Value *toBits(Value *x) { return b_.CreateBitCast(x, ity_); }
  Value *fromBits(Value *i) { return b_.CreateBitCast(i, fty_); }
  /// 2^n for n in [-126, 127], from the exponent bits.
  Value *pow2(Value *n) { return fromBits(b_.CreateShl(b_.CreateAdd(n, ci(127)), ci(23))); }
  llvm::IRBuilder<> &b() { return b_; }
  llvm::Type *intType() { return ity_; }

private:
  llvm::IRBuilder<> &b_;
  llvm::Type *fty_;
  llvm::Type *ity_;
};

constexpr double kInf = std::numeric_limits<double>::infinity();

} // namespace

Value *emitExp(KernelCtx &k, Value *x) {
  Math m(k, x);
  Value *xc = m.binary(llvm::Intrinsic::minnum,
                       m.binary(llvm::Intrinsic::maxnum, x, m.c(-104.0)), m.c(89.0));
  Value *fx = m.unary(llvm::Intrinsic::floor, m.fma(xc, m.c(1.44269504088896341), m.c(0.5)));
  Value *r = m.fma(fx, m.c(-0.693359375), xc);
  r = m.fma(fx, m.c(2.12194440e-4), r);
  Value *r2 = m.mul(r, r);
  Value *p = m.poly(r, {1.9875691500E-4, 1.3981999507E-3, 8.3334519073E-3, 4.1665795894E-2,
                        1.6666665459E-1, 5.0000001201E-1});
  p = m.add(m.fma(p, r2, r), m.c(1.0));
  Value *n = m.b().CreateFPToSI(fx, m.intType());
  Value *n1 = m.b().CreateAShr(n, m.ci(1));
  Value *n2 = m.b().CreateSub(n, n1);
  Value *res = m.mul(m.mul(p, m.pow2(n1)), m.pow2(n2));
  return m.select(m.isNaN(x), x, res);
}

Value *emitLog(KernelCtx &k, Value *x) {
  Math m(k, x);
  auto &b = m.b();
  // Subnormal inputs: scale into the normal range, remember the exponent.
  Value *sub = m.lt(x, m.c(1.17549435e-38));
  Value *xs = m.select(sub, m.mul(x, m.c(8388608.0)), x);
  Value *bits = m.toBits(xs);
  Value *e = b.CreateSub(b.CreateAnd(b.CreateLShr(bits, m.ci(23)), m.ci(0xff)), m.ci(126));
  e = b.CreateSub(e, b.CreateSelect(sub, m.ci(23), m.ci(0)));
  Value *mant = m.fromBits(b.CreateOr(b.CreateAnd(bits, m.ci(0x007fffff)), m.ci(0x3f000000)));
  // mant in [0.5, 1): below sqrt(1/2) use 2*mant and one less in the exponent.
  Value *small = m.lt(mant, m.c(0.707106781186547524));
  e = b.CreateSub(e, b.CreateZExt(small, m.intType()));
  Value *f = m.select(small, m.sub(m.add(mant, mant), m.c(1.0)), m.sub(mant, m.c(1.0)));
  Value *fe = b.CreateSIToFP(e, x->getType());
  Value *z = m.mul(f, f);
  Value *y = m.poly(f, {7.0376836292E-2, -1.1514610310E-1, 1.1676998740E-1, -1.2420140846E-1,
                        1.4249322787E-1, -1.6668057665E-1, 2.0000714765E-1, -2.4999993993E-1,
                        3.3333331174E-1});
  y = m.mul(m.mul(y, f), z);
  y = m.fma(fe, m.c(-2.12194440e-4), y);
  y = m.fma(z, m.c(-0.5), y);
  Value *res = m.fma(fe, m.c(0.693359375), m.add(f, y));
  // Specials, in increasing priority.
  res = m.select(m.eq(x, m.c(kInf)), x, res);
  res = m.select(m.lt(x, m.c(0.0)), m.c(std::numeric_limits<double>::quiet_NaN()), res);
  res = m.select(m.eq(x, m.c(0.0)), m.c(-kInf), res);
  return m.select(m.isNaN(x), x, res);
}

Value *emitTanh(KernelCtx &k, Value *x) {
  Math m(k, x);
  Value *ax = m.unary(llvm::Intrinsic::fabs, x);
  // Small |x|: odd polynomial.
  Value *z = m.mul(x, x);
  Value *p = m.poly(z, {-5.70498872745E-3, 2.06390887954E-2, -5.37397155531E-2,
                        1.33314422036E-1, -3.33332819422E-1});
  Value *small = m.fma(m.mul(p, z), x, x);
  // Large |x|: from exp, with x's sign.
  Value *e = emitExp(k, m.add(ax, ax));
  Value *big = m.sub(m.c(1.0), m.div(m.c(2.0), m.add(e, m.c(1.0))));
  big = m.binary(llvm::Intrinsic::copysign, big, x);
  return m.select(m.lt(ax, m.c(0.625)), small, big);
}

Value *emitSigmoid(KernelCtx &k, Value *x) {
  Math m(k, x);
  Value *e = emitExp(k, k.b().CreateFNeg(m.unary(llvm::Intrinsic::fabs, x)));
  Value *num = m.select(m.lt(x, m.c(0.0)), e, m.c(1.0));
  return m.div(num, m.add(m.c(1.0), e));
}

Value *emitErf(KernelCtx &k, Value *x) {
  return emitErfGivenExp(k, x, emitExp(k, k.b().CreateFNeg(k.b().CreateFMul(x, x))));
}

Value *emitErfGivenExp(KernelCtx &k, Value *x, Value *e) {
  // erf(|x|) = 1 - t P(t) exp(-x^2), t = 1 / (1 + p |x|); sign restored last.
  Math m(k, x);
  Value *ax = m.unary(llvm::Intrinsic::fabs, x);
  Value *t = m.div(m.c(1.0), m.fma(ax, m.c(0.3275911), m.c(1.0)));
  Value *poly = m.mul(t, m.poly(t, {1.061405429, -1.453152027, 1.421413741, -0.284496736,
                                    0.254829592}));
  Value *r = m.sub(m.c(1.0), m.mul(poly, e));
  return m.binary(llvm::Intrinsic::copysign, r, x);
}

} // namespace gradc::codegen
