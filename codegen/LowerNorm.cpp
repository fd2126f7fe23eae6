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

#include <algorithm>

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
// Channels are split across threads; a channel's M = N * H * W values are
// N runs of H*W contiguous floats, C runs apart. Each thread walks its
// channels in memory order (sample by sample, the runs of its channels one
// after the other) and keeps every channel's running sums in a scratch
// slot. Each channel's sums are added in one fixed order (its runs by
// sample, each run in fixed vector blocks) whatever the split, so results
// do not depend on the thread count. Walking channel by channel instead
// (4 KB runs 64 KB apart in resnet) made the kernels 1.4-1.7x slower in
// the resnet training step, where the activations come from L3 or memory
// (though within 15% in a loop over one warm tensor, bench/KernelBench.cpp):
// most likely the prefetchers start over at every run.
//
// Statistics take one pass, with shifted sums in double. K, the channel's
// first element x[0, c, 0], is subtracted from every x in double; the
// difference d of two f32 within a factor 2^29 of each other is exact, and
// so is d^2 (at most 2 x 26 significant bits), and
//   S1 = sum(d), S2 = sum(d^2), mean = K + S1/M,
//   var = (S2 - S1 * S1/M) / M   (clamped at 0).
// Shifting by a value of the channel keeps S1*S1/M of the order of S2, so
// the subtraction loses nothing to a large common offset, unlike the
// unshifted sum(x^2)/M - mean^2 (tests/numeric/BatchNormTest.cpp: with
// x = 1000 + noise of 0.01 that formula's variance is off by 1e-4
// relative even in double). batch_stats stores K, mean - K and the
// variances as f32 (mean - K is small, so its rounding costs little).
// batch_norm_grad_gamma takes K from there and sums dy and dy * d in one
// pass (dy * d is exact too):
//   sum(dy * (x - mean)) = sum(dy * d) - (mean - K) * sum(dy).
// So each layer reads x once for its statistics, once for the apply, once
// for grad_gamma and once for the input gradient, whose kernel takes
// dgamma and dbeta (= sum(dy), a reduce_sum) as inputs. When every kernel
// recomputed the sums it needed (batch_mean, batch_var, batch_norm_train
// and batch_norm_train_grad each one more pass), the resnet step had ~1 ms
// more of batch norm (13.5% of the step against 9.6%).
//
// The sums use explicit vectors of doubles (half the f32 lanes: one
// register) and up to 4 independent accumulators per sum, so the loop is
// bound by the adds' throughput, not by the latency of one chain; the
// accumulators are added in a fixed order at the end.
//
// The per-element apply runs in f32 with per-channel coefficients computed
// in double: x - mean is taken as (x - K) - (mean - K), which stays
// accurate when the channel's mean is large against its spread. Each
// result is computed independently, so its error is a few f32 roundings of
// the terms it adds (docs/PERFORMANCE.md, "Batch norm", has the measured
// error; a double apply was 20% slower for a 4x smaller error).

namespace gradc::codegen {

namespace {

struct ChannelShape {
  int64_t n, c, inner;
};
ChannelShape channelShape(const Shape &s) {
  return {s[0], s[1], s.size() == 4 ? s[2] * s[3] : 1};
}

/// How a thread's channels keep their sums in its scratch buffer: per
/// channel a slot of numSums * U vectors of L doubles (sum s, chain u at
/// vector s*U + u), then numSums doubles for the elements past the last
/// vector of each run (H*W % L).
struct SumLayout {
  unsigned numSums, L, U;
  SumLayout(const KernelCtx &p, unsigned numSums)
      : numSums(numSums), L(std::max(2u, p.target().f32Lanes / 2)),
        // 4 chains hide the add latency; leave registers for the loads and terms.
        U(std::clamp((p.target().vectorRegisters - 4) / numSums, 1u, 4u)) {}
  int64_t slotDoubles() const { return int64_t(numSums) * (U * L + 1); }
  int64_t vectorAt(unsigned s, unsigned u) const { return int64_t(s * U + u) * L; }
  int64_t scalarAt(unsigned s) const { return int64_t(numSums) * U * L + s; }
};

/// `count` consecutive elements starting at `idx` (a vector of them, or a
/// scalar when count is 1), as the terms of the sums see them.
struct Lanes {
  KernelCtx &p;
  Value *idx;
  unsigned count;

  /// The f32 elements of `base`, widened to double.
  Value *loadDouble(Value *base) const {
    llvm::IRBuilder<> &b = p.b();
    if (count == 1)
      return b.CreateFPExt(p.load(base, idx), b.getDoubleTy());
    auto *vt = llvm::FixedVectorType::get(p.f32(), count);
    Value *v = b.CreateAlignedLoad(vt, p.elemPtr(base, idx), llvm::Align(4));
    return b.CreateFPExt(v, llvm::FixedVectorType::get(b.getDoubleTy(), count));
  }
  Value *splat(Value *scalar) const {
    return count == 1 ? scalar : p.b().CreateVectorSplat(count, scalar);
  }
};

/// Terms of the sums for some elements: one double value per sum.
using SumTerms = llvm::function_ref<LoopValues(const Lanes &)>;

Value *f64c(KernelCtx &p, double v) { return llvm::ConstantFP::get(p.b().getDoubleTy(), v); }
Value *toF32(KernelCtx &p, Value *d) { return p.b().CreateFPTrunc(d, p.f32()); }

/// &slot[at], slot an array of doubles.
Value *slotPtr(KernelCtx &p, Value *slot, int64_t at) {
  return p.elemPtr(slot, p.i64c(at), p.b().getDoubleTy());
}

/// Adds the terms of one run (the H*W elements from `base`) to the
/// accumulators in `slot`: blocks of U vectors, one chain each, then single
/// vectors on chains 0.., then scalars.
void accumulateRun(KernelCtx &p, const ChannelShape &cs, const SumLayout &l, Value *slot,
                   Value *base, SumTerms terms) {
  llvm::IRBuilder<> &b = p.b();
  auto *vt = llvm::FixedVectorType::get(b.getDoubleTy(), l.L);
  const int64_t block = int64_t(l.L) * l.U, blocks = cs.inner / block;
  const int64_t vectors = cs.inner % block / l.L, scalars = cs.inner % l.L;
  // Adds the terms of the L elements at idx to chain u.
  auto add = [&](LoopValues &a, unsigned u, Value *idx) {
    LoopValues t = terms(Lanes{p, idx, l.L});
    assert(t.size() == l.numSums && "one term per sum");
    for (unsigned s = 0; s < l.numSums; ++s)
      a[s * l.U + u] = b.CreateFAdd(a[s * l.U + u], t[s]);
  };
  if (blocks > 0 || vectors > 0) {
    LoopValues acc;
    for (unsigned s = 0; s < l.numSums; ++s)
      for (unsigned u = 0; u < l.U; ++u)
        acc.push_back(b.CreateAlignedLoad(vt, slotPtr(p, slot, l.vectorAt(s, u)), llvm::Align(8)));
    if (blocks > 0) {
      acc = p.loopCarried(p.i64c(blocks), acc, [&](Value *j, llvm::ArrayRef<Value *> cur) {
        LoopValues next(cur.begin(), cur.end());
        Value *at = p.add(base, p.mul(j, p.i64c(block)));
        for (unsigned u = 0; u < l.U; ++u)
          add(next, u, p.add(at, p.i64c(int64_t(u) * l.L)));
        return next;
      }, "blk");
      p.keepLastLoopRolled();
    }
    for (int64_t v = 0; v < vectors; ++v)
      add(acc, unsigned(v), p.add(base, p.i64c(blocks * block + v * l.L)));
    for (unsigned s = 0; s < l.numSums; ++s)
      for (unsigned u = 0; u < l.U; ++u)
        b.CreateAlignedStore(acc[s * l.U + u], slotPtr(p, slot, l.vectorAt(s, u)), llvm::Align(8));
  }
  if (scalars == 0)
    return;
  LoopValues sc;
  for (unsigned s = 0; s < l.numSums; ++s)
    sc.push_back(b.CreateAlignedLoad(b.getDoubleTy(), slotPtr(p, slot, l.scalarAt(s)), llvm::Align(8)));
  for (int64_t e = cs.inner - scalars; e < cs.inner; ++e) {
    LoopValues t = terms(Lanes{p, p.add(base, p.i64c(e)), 1});
    for (unsigned s = 0; s < l.numSums; ++s)
      sc[s] = b.CreateFAdd(sc[s], t[s]);
  }
  for (unsigned s = 0; s < l.numSums; ++s)
    b.CreateAlignedStore(sc[s], slotPtr(p, slot, l.scalarAt(s)), llvm::Align(8));
}

/// Each sum's total from a slot: the chains, then the lanes, then the
/// scalars, added in this fixed order.
LoopValues slotTotals(KernelCtx &p, const SumLayout &l, Value *slot) {
  llvm::IRBuilder<> &b = p.b();
  auto *vt = llvm::FixedVectorType::get(b.getDoubleTy(), l.L);
  LoopValues sums;
  for (unsigned s = 0; s < l.numSums; ++s) {
    Value *v = nullptr;
    for (unsigned u = 0; u < l.U; ++u) {
      Value *c = b.CreateAlignedLoad(vt, slotPtr(p, slot, l.vectorAt(s, u)), llvm::Align(8));
      v = v ? b.CreateFAdd(v, c) : c;
    }
    Value *total = b.CreateFAddReduce(f64c(p, 0), v); // ordered: no reassoc
    Value *sc = b.CreateAlignedLoad(b.getDoubleTy(), slotPtr(p, slot, l.scalarAt(s)), llvm::Align(8));
    sums.push_back(b.CreateFAdd(total, sc));
  }
  return sums;
}

/// A channel's statistics: from its shifted sums (batch_stats) or read from
/// batch_stats' result.
struct ChannelStats {
  Value *K;     ///< the shift, x[0, c, 0] (f32; 0 for an empty batch)
  Value *M;     ///< the number of values, as a double
  Value *meanK; ///< mean - K (double)
  Value *var;   ///< the biased variance (double)
  Value *sdy = nullptr, *sdyxc = nullptr; ///< sum(dy), sum(dy * (x - mean)) (Sums::Grad)
};

/// The sums a kernel's pass over x accumulates per channel.
enum class Sums {
  None,    ///< no pass: the statistics come from batch_stats
  MeanVar, ///< sum(x - K), sum((x - K)^2), K = x[0, c, 0] (batch_stats itself)
  Grad,    ///< sum(dy), sum(dy * (x - K)), K from batch_stats
};

/// Per-channel coefficients of an apply pass, kept as f32 at the start of
/// the channel's slot once its sums are read.
constexpr unsigned kMaxCoefficients = 8;

/// The common shape of the training batch-norm kernels. Channels are split
/// across threads; each thread walks its channels [begin, end) in memory
/// order (sample by sample, each channel's run of H*W values, so its reads
/// and writes are contiguous), first accumulating every channel's sums in
/// a scratch slot (unless `what` is None), then calling finish(ch, stats,
/// coef) per channel (coef: where it may leave up to kMaxCoefficients f32
/// for the apply), then, if given, apply(coef, base) for each run in memory
/// order again. `statsArg` is the argument holding batch_stats' result (-1
/// for batch_stats itself). Each channel's sums run in the same order
/// whatever the split.
void emitChannelKernel(
    KernelCtx &k, const ChannelShape &cs, unsigned xArg, int dyArg, int statsArg, Sums what,
    llvm::function_ref<void(KernelCtx &, Value *, const ChannelStats &, Value *)> finish,
    llvm::function_ref<void(KernelCtx &, Value *, Value *)> apply = nullptr) {
  assert((what == Sums::MeanVar) == (statsArg < 0) && "statistics: computed or read");
  Value *perChannel = k.mul(k.dim(cs.n), k.i64c(cs.inner));
  emitParallelFor(k, k.i64c(cs.c), grainForElements(k, perChannel), {},
                  [&](KernelCtx &p, llvm::ArrayRef<Value *>, Value *begin, Value *end) {
    llvm::IRBuilder<> &b = p.b();
    llvm::Type *f64 = b.getDoubleTy();
    Value *x = p.in(xArg), *dy = dyArg >= 0 ? p.in(unsigned(dyArg)) : nullptr;
    // Row `row` of batch_stats' [4, C] for channel ch.
    auto statAt = [&](unsigned row, Value *ch) {
      return p.load(p.in(unsigned(statsArg)), p.add(ch, p.i64c(int64_t(row) * cs.c)));
    };
    SumLayout l(p, 2);
    assert(l.slotDoubles() * 2 >= kMaxCoefficients && "coefficients do not fit a slot");
    Value *count = b.CreateSub(end, begin);
    Value *slots = p.mul(count, p.i64c(l.slotDoubles()));
    Value *scratch = p.mallocScratch(p.mul(slots, p.i64c(2)));
    if (what != Sums::None) // the sums start at 0; coefficients are written before use
      p.loop(slots, [&](Value *i) { p.store(f64c(p, 0), scratch, i); }, "zero");
    auto slotOf = [&](Value *ci) {
      return p.elemPtr(scratch, p.mul(ci, p.i64c(l.slotDoubles())), f64);
    };
    // Calls f(slot, channel, base) for each run of the thread's channels, in memory order.
    auto forEachRun = [&](llvm::function_ref<void(Value *, Value *, Value *)> f) {
      p.loop(p.dim(cs.n), [&](Value *n) {
        p.loop(count, [&](Value *ci) {
          Value *ch = p.add(begin, ci);
          f(slotOf(ci), ch, p.mul(p.add(p.mul(n, p.i64c(cs.c)), ch), p.i64c(cs.inner)));
        }, "ch");
      }, "n");
    };
    auto shiftAt = [&](Value *ch) { return p.mul(ch, p.i64c(cs.inner)); };

    if (what != Sums::None)
      forEachRun([&](Value *slot, Value *ch, Value *base) {
        // Inside the sample loop, so the batch is not empty.
        Value *Kd = b.CreateFPExt(what == Sums::MeanVar ? p.load(x, shiftAt(ch)) : statAt(0, ch),
                                  f64);
        accumulateRun(p, cs, l, slot, base, [&](const Lanes &e) {
          Value *d = b.CreateFSub(e.loadDouble(x), e.splat(Kd));
          if (what == Sums::MeanVar)
            return LoopValues{d, b.CreateFMul(d, d)};
          Value *g = e.loadDouble(dy);
          return LoopValues{g, b.CreateFMul(g, d)};
        });
      });

    p.loop(count, [&](Value *ci) {
      Value *ch = p.add(begin, ci), *slot = slotOf(ci);
      ChannelStats st;
      st.M = b.CreateUIToFP(p.mul(p.dim(cs.n), p.i64c(cs.inner)), f64);
      if (what == Sums::MeanVar) {
        LoopValues s = slotTotals(p, l, slot);
        st.K = cs.n != kBatch ? p.load(x, shiftAt(ch))
                              : p.ifThenValue(b.CreateICmpSGT(p.batch(), p.i64c(0)),
                                              [&] { return p.load(x, shiftAt(ch)); }, p.f32c(0),
                                              "shift");
        st.meanK = b.CreateFDiv(s[0], st.M);
        // S2 - S1 * S1/M, clamped at 0 (rounding may leave it just below);
        // a NaN stays NaN.
        Value *var = b.CreateFDiv(b.CreateFSub(s[1], b.CreateFMul(s[0], st.meanK)), st.M);
        st.var = b.CreateSelect(b.CreateFCmpOLT(var, f64c(p, 0)), f64c(p, 0), var);
      } else {
        st.K = statAt(0, ch);
        st.meanK = b.CreateFPExt(statAt(1, ch), f64);
        st.var = b.CreateFPExt(statAt(2, ch), f64);
      }
      if (what == Sums::Grad) {
        LoopValues s = slotTotals(p, l, slot);
        st.sdy = s[0];
        st.sdyxc = b.CreateFSub(s[1], b.CreateFMul(st.meanK, s[0]));
      }
      finish(p, ch, st, slot);
    }, "ch");

    if (apply)
      forEachRun([&](Value *slot, Value *, Value *base) { apply(p, slot, base); });
    p.freeScratch(scratch);
  });
}

/// Coefficient `i` of a channel's apply (f32).
Value *coefficient(KernelCtx &p, Value *coef, unsigned i) {
  assert(i < kMaxCoefficients && "too many coefficients");
  return p.load(coef, p.i64c(i));
}
void setCoefficient(KernelCtx &p, Value *coef, unsigned i, Value *v) {
  assert(i < kMaxCoefficients && "too many coefficients");
  p.store(v, coef, p.i64c(i));
}

/// 1 / sqrt(var + eps), in double.
Value *invStd(KernelCtx &p, Value *var, double eps) {
  llvm::IRBuilder<> &b = p.b();
  Value *sd = b.CreateUnaryIntrinsic(llvm::Intrinsic::sqrt, b.CreateFAdd(var, f64c(p, eps)));
  return b.CreateFDiv(f64c(p, 1), sd);
}

/// Applies f(index) to each element of a run of H*W values (a loop LLVM vectorizes).
void runLoop(KernelCtx &p, const ChannelShape &cs, Value *base,
             llvm::function_ref<void(Value *)> f) {
  p.loop(p.i64c(cs.inner), [&](Value *e) { f(p.add(base, e)); }, "e");
}

/// x - mean in f32, as (x - K) - (mean - K).
Value *centered(KernelCtx &p, Value *x, Value *K, Value *meanK) {
  llvm::IRBuilder<> &b = p.b();
  return b.CreateFSub(b.CreateFSub(x, K), meanK);
}

} // namespace

llvm::Error lowerBatchStats(KernelCtx &k, const ir::Node &) {
  // [4, C]: K, mean - K, the biased variance, the unbiased one (var * M / (M - 1),
  // as the running variance uses).
  ChannelShape cs = channelShape(k.inShape(0));
  emitChannelKernel(k, cs, 0, -1, -1, Sums::MeanVar,
                    [&](KernelCtx &p, Value *ch, const ChannelStats &st, Value *) {
    llvm::IRBuilder<> &b = p.b();
    Value *unbiased = b.CreateFDiv(b.CreateFMul(st.var, st.M), b.CreateFSub(st.M, f64c(p, 1)));
    Value *row[] = {st.K, toF32(p, st.meanK), toF32(p, st.var), toF32(p, unbiased)};
    for (int64_t r = 0; r < 4; ++r)
      p.store(row[r], p.out(), p.add(ch, p.i64c(r * cs.c)));
  });
  return llvm::Error::success();
}

llvm::Error lowerBatchNormTrain(KernelCtx &k, const ir::Node &n) {
  // (x, gamma, beta, stats) -> y = (x - mean) * (gamma * istd) + beta;
  // coefficients K, mean - K, scale, beta.
  ChannelShape cs = channelShape(k.inShape(0));
  double eps = n.attrs().getFloat("eps", 1e-5);
  emitChannelKernel(
      k, cs, 0, -1, 3, Sums::None,
      [&](KernelCtx &p, Value *ch, const ChannelStats &st, Value *coef) {
        llvm::IRBuilder<> &b = p.b();
        Value *gamma = b.CreateFPExt(p.load(p.in(1), ch), b.getDoubleTy());
        setCoefficient(p, coef, 0, st.K);
        setCoefficient(p, coef, 1, toF32(p, st.meanK));
        setCoefficient(p, coef, 2, toF32(p, b.CreateFMul(invStd(p, st.var, eps), gamma)));
        setCoefficient(p, coef, 3, p.load(p.in(2), ch));
      },
      [&](KernelCtx &p, Value *coef, Value *base) {
        llvm::IRBuilder<> &b = p.b();
        Value *K = coefficient(p, coef, 0), *meanK = coefficient(p, coef, 1);
        Value *scale = coefficient(p, coef, 2), *shift = coefficient(p, coef, 3);
        runLoop(p, cs, base, [&](Value *i) {
          Value *xc = centered(p, p.load(p.in(0), i), K, meanK);
          Value *y = b.CreateFAdd(b.CreateFMul(xc, scale), shift);
          if (const KernelCtx::ElementEpilogue *epilogue = p.elementEpilogue())
            (*epilogue)(p, i, y); // a fusion group's maps (a ReLU, a residual add)
          else
            p.store(y, p.out(), i);
        });
      });
  return llvm::Error::success();
}

llvm::Error lowerBatchNormTrainGrad(KernelCtx &k, const ir::Node &n) {
  // (x, gamma, dy, stats, dgamma, dbeta) ->
  //   dx = gamma*istd * (dy - dbeta/M - xhat * dgamma/M)
  //      = a * (dy - dbeta/M) - a*istd*dgamma/M * (x - mean),
  // a = gamma*istd, in double; coefficients K, mean - K, a, a*istd*dgamma/M, dbeta/M.
  ChannelShape cs = channelShape(k.inShape(0));
  double eps = n.attrs().getFloat("eps", 1e-5);
  emitChannelKernel(
      k, cs, 0, 2, 3, Sums::None,
      [&](KernelCtx &p, Value *ch, const ChannelStats &st, Value *coef) {
        llvm::IRBuilder<> &b = p.b();
        llvm::Type *f64 = b.getDoubleTy();
        Value *istd = invStd(p, st.var, eps);
        Value *a = b.CreateFMul(b.CreateFPExt(p.load(p.in(1), ch), f64), istd);
        Value *dgamma = b.CreateFPExt(p.load(p.in(4), ch), f64);
        Value *dbeta = b.CreateFPExt(p.load(p.in(5), ch), f64);
        setCoefficient(p, coef, 0, st.K);
        setCoefficient(p, coef, 1, toF32(p, st.meanK));
        setCoefficient(p, coef, 2, toF32(p, a));
        setCoefficient(p, coef, 3,
                       toF32(p, b.CreateFDiv(b.CreateFMul(b.CreateFMul(a, istd), dgamma), st.M)));
        setCoefficient(p, coef, 4, toF32(p, b.CreateFDiv(dbeta, st.M)));
      },
      [&](KernelCtx &p, Value *coef, Value *base) {
        llvm::IRBuilder<> &b = p.b();
        Value *K = coefficient(p, coef, 0), *meanK = coefficient(p, coef, 1);
        Value *a = coefficient(p, coef, 2), *ak2 = coefficient(p, coef, 3);
        Value *meanDy = coefficient(p, coef, 4);
        runLoop(p, cs, base, [&](Value *i) {
          Value *xc = centered(p, p.load(p.in(0), i), K, meanK);
          Value *g = b.CreateFMul(a, b.CreateFSub(p.load(p.in(2), i), meanDy));
          p.store(b.CreateFSub(g, b.CreateFMul(ak2, xc)), p.out(), i);
        });
      });
  return llvm::Error::success();
}

llvm::Error lowerBatchNormGradGamma(KernelCtx &k, const ir::Node &n) {
  // (x, dy, stats) -> sum(dy * xhat) = sum(dy * (x - mean)) * istd per channel
  ChannelShape cs = channelShape(k.inShape(0));
  double eps = n.attrs().getFloat("eps", 1e-5);
  emitChannelKernel(k, cs, 0, 1, 2, Sums::Grad,
                    [&](KernelCtx &p, Value *ch, const ChannelStats &st, Value *) {
    p.store(toF32(p, p.b().CreateFMul(st.sdyxc, invStd(p, st.var, eps))), p.out(), ch);
  });
  return llvm::Error::success();
}

/// Copies f(K, mean - K, var, unbiased var) of each channel of batch_stats' result.
static void emitStatsRow(KernelCtx &k, llvm::function_ref<Value *(llvm::ArrayRef<Value *>)> f) {
  int64_t c = k.inShape(0)[1];
  k.loop(k.i64c(c), [&](Value *ch) {
    Value *row[4];
    for (int64_t r = 0; r < 4; ++r)
      row[r] = k.load(k.in(0), k.add(ch, k.i64c(r * c)));
    k.store(f(row), k.out(), ch);
  }, "ch");
}

llvm::Error lowerBatchMean(KernelCtx &k, const ir::Node &) {
  // K + (mean - K), in double.
  emitStatsRow(k, [&](llvm::ArrayRef<Value *> row) {
    llvm::IRBuilder<> &b = k.b();
    return toF32(k, b.CreateFAdd(b.CreateFPExt(row[0], b.getDoubleTy()),
                                 b.CreateFPExt(row[1], b.getDoubleTy())));
  });
  return llvm::Error::success();
}

llvm::Error lowerBatchVar(KernelCtx &k, const ir::Node &) {
  emitStatsRow(k, [](llvm::ArrayRef<Value *> row) { return row[3]; });
  return llvm::Error::success();
}

} // namespace gradc::codegen
