//===- codegen/LowerNorm.cpp - batch_norm (eval) and dropout ----------------===//
//
// batch_norm (eval): per (sample, channel) the kernel computes
//   alpha = gamma / sqrt(running_var + eps), shift = beta - running_mean * alpha
// (as PyTorch's CPU inference kernel does) and then y = x * alpha + shift
// over the H*W pixels, a vectorizable loop.
//
// dropout_train: the mask is recomputed from (seed, step, element index)
// with the same 64-bit hash as the interpreter (ir/Vision.h): integer
// multiplies and shifts only, so the loop vectorizes and the mask is
// bitwise the interpreter's. dropout (eval) is a copy.
//
//===----------------------------------------------------------------------===//
#include "codegen/Lowering.h"
#include "codegen/ParallelFor.h"
#include "ir/Vision.h"

namespace gradc::codegen {

using llvm::Value;

llvm::Error lowerBatchNorm(KernelCtx &k, const ir::Node &n) {
  const Shape &s = k.inShape(0);
  int64_t channels = s[1], inner = s.size() == 4 ? s[2] * s[3] : 1;
  double eps = n.attrs().getFloat("eps", 1e-5);
  Value *planes = k.product({s[0], channels});
  emitParallelFor(k, planes, grainForElements(k, k.i64c(inner)), {},
                  [&](KernelCtx &p, llvm::ArrayRef<Value *>, Value *begin, Value *end) {
    llvm::IRBuilder<> &b = p.b();
    p.loop(b.CreateSub(end, begin), [&](Value *t) {
      Value *plane = p.add(begin, t);
      Value *c = b.CreateURem(plane, p.i64c(channels));
      Value *var = b.CreateFAdd(p.load(p.in(4), c), p.f32c(eps));
      Value *sd = b.CreateUnaryIntrinsic(llvm::Intrinsic::sqrt, var);
      Value *alpha = b.CreateFDiv(p.load(p.in(1), c), sd);
      Value *shift = b.CreateFSub(p.load(p.in(2), c), b.CreateFMul(p.load(p.in(3), c), alpha));
      Value *base = p.mul(plane, p.i64c(inner));
      p.loop(p.i64c(inner), [&](Value *e) {
        Value *at = p.add(base, e);
        p.store(b.CreateFAdd(b.CreateFMul(p.load(p.in(0), at), alpha), shift), p.out(), at);
      }, "e");
    }, "plane");
  });
  return llvm::Error::success();
}

llvm::Error lowerDropout(KernelCtx &k, const ir::Node &n) { return lowerReshape(k, n); }

llvm::Error lowerDropoutTrain(KernelCtx &k, const ir::Node &n) {
  double p = n.attrs().getFloat("p", 0.5);
  uint64_t seed = static_cast<uint64_t>(n.attrs().getInt("seed", 0));
  Value *count = k.numel(k.inShape(0));
  emitParallelFor(k, count, grainForElements(k, k.i64c(1)), {},
                  [&](KernelCtx &q, llvm::ArrayRef<Value *>, Value *begin, Value *end) {
    llvm::IRBuilder<> &b = q.b();
    Value *step = b.CreateFPToUI(q.load(q.in(1), q.i64c(0)), q.i64());
    Value *key0 = b.CreateAdd(q.i64c(int64_t(seed * 0x9E3779B97F4A7C15ull)),
                              b.CreateMul(step, q.i64c(int64_t(0xD1B54A32D192ED03ull))));
    Value *scale = q.f32c(ir::dropoutScale(p));
    q.loop(b.CreateSub(end, begin), [&](Value *t) {
      Value *e = q.add(begin, t);
      Value *z = b.CreateAdd(key0, e);
      z = b.CreateMul(b.CreateXor(z, b.CreateLShr(z, 30)), q.i64c(int64_t(0xBF58476D1CE4E5B9ull)));
      z = b.CreateMul(b.CreateXor(z, b.CreateLShr(z, 27)), q.i64c(int64_t(0x94D049BB133111EBull)));
      z = b.CreateXor(z, b.CreateLShr(z, 31));
      Value *keep = b.CreateICmpUGE(b.CreateLShr(z, 40),
                                    q.i64c(int64_t(ir::dropoutThreshold(p))));
      Value *y = b.CreateFMul(q.load(q.in(0), e), scale);
      q.store(b.CreateSelect(keep, y, q.f32c(0)), q.out(), e);
    }, "e");
  });
  return llvm::Error::success();
}

} // namespace gradc::codegen

// ---- Training batch norm ----------------------------------------------------------
//
// One parallel job per channel (channels are independent; every sum of a
// channel runs on one thread in one order, so results do not depend on the
// thread count). A channel's M = N * H * W values are read with the sample
// loop outside and the pixel loop inside (contiguous, vectorized partial
// sums). Statistics are two-pass (mean, then the mean of squared deviations)
// and recomputed by each kernel that needs them, which costs a read of x but
// keeps every kernel a single op of the table.

namespace gradc::codegen {

namespace {

struct ChannelShape {
  int64_t n, c, inner;
};
ChannelShape channelShape(const Shape &s) {
  return {s[0], s[1], s.size() == 4 ? s[2] * s[3] : 1};
}

/// Runs body(part, channel) for every channel, split across threads.
void forEachChannel(KernelCtx &k, const ChannelShape &cs,
                    llvm::function_ref<void(KernelCtx &, Value *)> body) {
  Value *perChannel = k.mul(k.dim(cs.n), k.i64c(cs.inner));
  emitParallelFor(k, k.i64c(cs.c), grainForElements(k, perChannel), {},
                  [&](KernelCtx &p, llvm::ArrayRef<Value *>, Value *begin, Value *end) {
    p.loop(p.b().CreateSub(end, begin), [&](Value *t) { body(p, p.add(begin, t)); }, "ch");
  });
}

/// Calls f(index) for each of the channel's elements, in order.
void channelLoop(KernelCtx &p, const ChannelShape &cs, Value *ch,
                 llvm::function_ref<void(Value *)> f) {
  p.loop(p.dim(cs.n), [&](Value *n) {
    Value *base = p.mul(p.add(p.mul(n, p.i64c(cs.c)), ch), p.i64c(cs.inner));
    p.loop(p.i64c(cs.inner), [&](Value *e) { f(p.add(base, e)); }, "e");
  }, "n");
}

/// The sum of f(index) (f32 terms) over the channel's elements, accumulated
/// in double: a channel has N*H*W terms (32K in the resnet example), and
/// the gradient subtracts sums that nearly cancel. As a double.
Value *channelSum(KernelCtx &p, const ChannelShape &cs, Value *ch,
                  llvm::function_ref<Value *(Value *)> f) {
  llvm::IRBuilder<> &b = p.b();
  Value *zero = llvm::ConstantFP::get(b.getDoubleTy(), 0.0);
  return p.loopCarried(p.dim(cs.n), {zero}, [&](Value *n, llvm::ArrayRef<Value *> acc) {
    Value *base = p.mul(p.add(p.mul(n, p.i64c(cs.c)), ch), p.i64c(cs.inner));
    return p.loopCarried(p.i64c(cs.inner), {acc[0]},
                         [&](Value *e, llvm::ArrayRef<Value *> a) {
      return LoopValues{p.accumulate(a[0], b.CreateFPExt(f(p.add(base, e)), b.getDoubleTy()))};
    }, "e");
  }, "n")[0];
}

Value *toF32(KernelCtx &p, Value *d) { return p.b().CreateFPTrunc(d, p.f32()); }

/// M, the number of values per channel, as a double.
Value *channelCount(KernelCtx &p, const ChannelShape &cs) {
  return p.b().CreateUIToFP(p.mul(p.dim(cs.n), p.i64c(cs.inner)), p.b().getDoubleTy());
}

/// Mean and biased variance of channel `ch` of x (two passes), as f32.
std::pair<Value *, Value *> channelStats(KernelCtx &p, const ChannelShape &cs, Value *x,
                                         Value *ch) {
  llvm::IRBuilder<> &b = p.b();
  Value *M = channelCount(p, cs);
  Value *mean = toF32(p, b.CreateFDiv(channelSum(p, cs, ch, [&](Value *i) { return p.load(x, i); }), M));
  Value *sq = channelSum(p, cs, ch, [&](Value *i) {
    Value *d = b.CreateFSub(p.load(x, i), mean);
    return b.CreateFMul(d, d);
  });
  return {mean, toF32(p, b.CreateFDiv(sq, M))};
}

Value *invStd(KernelCtx &p, Value *var, double eps) {
  llvm::IRBuilder<> &b = p.b();
  Value *sd = b.CreateUnaryIntrinsic(llvm::Intrinsic::sqrt, b.CreateFAdd(var, p.f32c(eps)));
  return b.CreateFDiv(p.f32c(1), sd);
}

} // namespace

llvm::Error lowerBatchNormTrain(KernelCtx &k, const ir::Node &n) {
  ChannelShape cs = channelShape(k.inShape(0));
  double eps = n.attrs().getFloat("eps", 1e-5);
  forEachChannel(k, cs, [&](KernelCtx &p, Value *ch) {
    llvm::IRBuilder<> &b = p.b();
    auto [mean, var] = channelStats(p, cs, p.in(0), ch);
    Value *scale = b.CreateFMul(invStd(p, var, eps), p.load(p.in(1), ch));
    Value *shift = p.load(p.in(2), ch);
    channelLoop(p, cs, ch, [&](Value *i) {
      Value *d = b.CreateFSub(p.load(p.in(0), i), mean);
      p.store(b.CreateFAdd(b.CreateFMul(d, scale), shift), p.out(), i);
    });
  });
  return llvm::Error::success();
}

llvm::Error lowerBatchNormTrainGrad(KernelCtx &k, const ir::Node &n) {
  // (x, gamma, dy) -> dx = gamma*invstd * (dy - sum(dy)/M - xhat*sum(dy*xhat)/M).
  // dx nearly cancels (it has zero mean per channel), so the per-element
  // arithmetic is in double as well as the sums; it costs little next to
  // the convolutions around it.
  ChannelShape cs = channelShape(k.inShape(0));
  double eps = n.attrs().getFloat("eps", 1e-5);
  forEachChannel(k, cs, [&](KernelCtx &p, Value *ch) {
    llvm::IRBuilder<> &b = p.b();
    llvm::Type *f64 = b.getDoubleTy();
    auto ext = [&](Value *v) { return b.CreateFPExt(v, f64); };
    Value *M = channelCount(p, cs);
    Value *meanD = b.CreateFDiv(channelSum(p, cs, ch, [&](Value *i) { return p.load(p.in(0), i); }), M);
    Value *mean = toF32(p, meanD);
    Value *var = toF32(p, b.CreateFDiv(channelSum(p, cs, ch, [&](Value *i) {
      Value *d = b.CreateFSub(p.load(p.in(0), i), mean);
      return b.CreateFMul(d, d);
    }), M));
    Value *istd = ext(invStd(p, var, eps));
    Value *sdy = channelSum(p, cs, ch, [&](Value *i) { return p.load(p.in(2), i); });
    Value *sdyxc = channelSum(p, cs, ch, [&](Value *i) {
      return b.CreateFMul(p.load(p.in(2), i), b.CreateFSub(p.load(p.in(0), i), mean));
    });
    Value *meanDy = b.CreateFDiv(sdy, M);
    // xhat * sum(dy*xhat)/M = (x - mean) * istd^2 * sum(dy*(x-mean)) / M
    Value *k2 = b.CreateFDiv(b.CreateFMul(b.CreateFMul(istd, istd), sdyxc), M);
    Value *scale = b.CreateFMul(ext(p.load(p.in(1), ch)), istd);
    Value *meanX = ext(mean);
    channelLoop(p, cs, ch, [&](Value *i) {
      Value *xc = b.CreateFSub(ext(p.load(p.in(0), i)), meanX);
      Value *inner = b.CreateFSub(b.CreateFSub(ext(p.load(p.in(2), i)), meanDy), b.CreateFMul(xc, k2));
      p.store(toF32(p, b.CreateFMul(scale, inner)), p.out(), i);
    });
  });
  return llvm::Error::success();
}

llvm::Error lowerBatchNormGradGamma(KernelCtx &k, const ir::Node &n) {
  // (x, dy) -> sum(dy * xhat) per channel
  ChannelShape cs = channelShape(k.inShape(0));
  double eps = n.attrs().getFloat("eps", 1e-5);
  forEachChannel(k, cs, [&](KernelCtx &p, Value *ch) {
    llvm::IRBuilder<> &b = p.b();
    auto [mean, var] = channelStats(p, cs, p.in(0), ch);
    Value *s = toF32(p, channelSum(p, cs, ch, [&](Value *i) {
      return b.CreateFMul(p.load(p.in(1), i), b.CreateFSub(p.load(p.in(0), i), mean));
    }));
    p.store(b.CreateFMul(s, invStd(p, var, eps)), p.out(), ch);
  });
  return llvm::Error::success();
}

llvm::Error lowerBatchMean(KernelCtx &k, const ir::Node &) {
  ChannelShape cs = channelShape(k.inShape(0));
  forEachChannel(k, cs, [&](KernelCtx &p, Value *ch) {
    p.store(channelStats(p, cs, p.in(0), ch).first, p.out(), ch);
  });
  return llvm::Error::success();
}

llvm::Error lowerBatchVar(KernelCtx &k, const ir::Node &) {
  // Unbiased: var * M / (M - 1), as the running variance uses.
  ChannelShape cs = channelShape(k.inShape(0));
  forEachChannel(k, cs, [&](KernelCtx &p, Value *ch) {
    llvm::IRBuilder<> &b = p.b();
    Value *var = channelStats(p, cs, p.in(0), ch).second;
    Value *M = toF32(p, channelCount(p, cs));
    p.store(b.CreateFDiv(b.CreateFMul(var, M), b.CreateFSub(M, p.f32c(1))), p.out(), ch);
  });
  return llvm::Error::success();
}

} // namespace gradc::codegen
