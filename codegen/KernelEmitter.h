//===- codegen/KernelEmitter.h - Loop nests and indexing over IRBuilder -*- C++ -*-===//
//
// KernelCtx is what a lowering sees while it fills one kernel function
//   void gradc_k<i>_<op>(ptr noalias align 64 in..., ptr noalias align 64 out...,
//                        i64 batch)
// It holds the IRBuilder positioned in the kernel's body, the argument
// pointers, and the runtime batch, plus the few helpers every lowering needs:
// dimensions as values (a constant, or `batch` for N), canonical counted loops
// (with or without loop-carried accumulators), element addressing, and the
// fast-math policy.
//
// Fast-math policy: every FP instruction a kernel emits carries `contract`
// (a*b+c may become one fma; GEMM and VecMath ask for llvm.fmuladd); the adds that accumulate a reduction also carry
// `reassoc`, so the loop vectorizer may split them into per-lane partial sums.
// Both only change rounding, which the tests bound against the reference
// interpreter. nnan/ninf are never set: a loss may legitimately be inf or NaN
// and must come out so.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Graph.h"

#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/IR/IRBuilder.h"

#include <utility>
#include <functional>

namespace gradc::codegen {

/// What lowerings may know of the machine they generate code for.
struct TargetInfo {
  /// f32 lanes of the vectors explicit-vector kernels use: 16 with AVX-512,
  /// 8 with AVX, 4 otherwise (any width is correct everywhere; LLVM splits
  /// vectors wider than the machine's).
  unsigned f32Lanes = 4;
  /// Vector registers of that width (32 with AVX-512, 16 otherwise).
  unsigned vectorRegisters = 16;
};

/// Values a loop body hands to the next iteration (and, after the loop,
/// to the code that follows it).
using LoopValues = llvm::SmallVector<llvm::Value *, 4>;

/// Constant trip counts from which KernelCtx loops stay rolled.
inline constexpr int64_t kRolledTripCount = 256;

class KernelCtx {
public:
  /// `fn` is the (empty) kernel function; its arguments are the node's input
  /// pointers, then its result pointers, then the i64 batch.
  KernelCtx(llvm::Function *fn, const ir::Node &node, const TargetInfo &target);
  /// A kernel whose pointer arguments are not `node`'s own (a fusion group's
  /// kernel: its external inputs, then its materialized results); `node` is
  /// the group's first member.
  /// With `numTrailing` > 0: a helper function of a kernel (the GEMM's
  /// shared micro-kernels, Gemm.cpp) whose arguments are numIns pointers,
  /// numOuts pointers, one i64 as batch() and numTrailing more.
  KernelCtx(llvm::Function *fn, const ir::Node &node, const TargetInfo &target,
            unsigned numIns, unsigned numOuts, unsigned numTrailing = 0);

  /// Where the context emits: the function, its arguments as in()/out()/
  /// batch()/trailing() see them, and the insertion point.
  struct EmitState {
    llvm::Function *fn;
    llvm::SmallVector<llvm::Value *, 3> ins;
    llvm::SmallVector<llvm::Value *, 1> outs;
    llvm::Value *batch;
    llvm::SmallVector<llvm::Value *, 3> trailing;
    llvm::IRBuilderBase::InsertPoint ip;
  };
  /// Starts emitting into `fn` (empty; the kernel's arguments, then
  /// `numTrailing` more): in(), out() and batch() become fn's arguments.
  /// emitParallelFor uses this for outlined loop bodies, so code that
  /// captured this context emits there too. Returns the state to restore().
  EmitState retarget(llvm::Function *fn, unsigned numTrailing);
  void restore(EmitState s);

  llvm::IRBuilder<> &b() { return b_; }
  llvm::LLVMContext &ctx() { return fn_->getContext(); }
  llvm::Module &module() { return *fn_->getParent(); }
  llvm::Function *function() { return fn_; }
  const ir::Node &node() const { return node_; }
  const TargetInfo &target() const { return target_; }
  llvm::Value *batch() const { return batch_; }
  /// Argument `i` after the batch (0 <= i < numTrailing of retarget()).
  llvm::Value *trailing(unsigned i) const { return trailing_[i]; }

  /// Pointer arguments of the kernel: inputs, then results.
  unsigned numIns() const { return numIns_; }
  unsigned numOuts() const { return numOuts_; }

  /// Element mode (fusion): while set, emitNodeMap emits no loop but applies
  /// the node's element function to `ins` and leaves the value in `result`,
  /// so a fused kernel runs each member's lowering inside its own loop body.
  struct ElementScope {
    llvm::ArrayRef<llvm::Value *> ins;
    llvm::Value *result = nullptr;
  };
  void setElementScope(ElementScope *s) { elementScope_ = s; }
  ElementScope *elementScope() const { return elementScope_; }

  /// An epilogue (fusion): GEMM kernels call it after storing each tile of
  /// C, rows [i0, i0 + rows) x columns [j0, j0 + cols) of the row-major
  /// C[., Nn], while the tile is still in cache.
  using TileEpilogue = std::function<void(KernelCtx &k, llvm::Value *i0, llvm::Value *rows,
                                          llvm::Value *j0, llvm::Value *cols,
                                          llvm::Value *Nn)>;
  void setTileEpilogue(const TileEpilogue *e) { tileEpilogue_ = e; }
  const TileEpilogue *tileEpilogue() const { return tileEpilogue_; }

  /// An element epilogue (fusion): a kernel calls it with each result y at
  /// flat index idx: batch_norm_train's apply with each value it computes,
  /// in place of storing it; a conv with each element of a sample's
  /// result, loaded back once the sample is stored. The epilogue stores the
  /// group's outputs (not the head's result when the head stores it).
  using ElementEpilogue =
      std::function<void(KernelCtx &k, llvm::Value *idx, llvm::Value *y)>;
  void setElementEpilogue(const ElementEpilogue *e) { elementEpilogue_ = e; }
  const ElementEpilogue *elementEpilogue() const { return elementEpilogue_; }

  /// Marks pointer arguments that always hold the same address: a result
  /// computed in place of an input (plan-memory), or an epilogue's output in
  /// place of the product. `canon[a]` is the first pointer argument (inputs,
  /// then results) whose memory argument `a` shares, a itself if none.
  /// in()/out() then return that one argument for all of them, here and in
  /// outlined loop bodies, so LLVM sees a load and a store through one
  /// pointer: an in-place loop vectorizes without the run-time overlap check
  /// that two distinct pointers need (and that fails when they are equal,
  /// sending every iteration to the scalar loop).
  void shareArgs(llvm::ArrayRef<unsigned> canon);

  /// Pointer to input `i` / result `i` of the node.
  llvm::Value *in(unsigned i) const { return ins_[i]; }
  llvm::Value *out(unsigned i = 0) const { return outs_[i]; }
  /// Shapes of input `i` / result `i` (may contain kBatch).
  const Shape &inShape(unsigned i) const { return node_.input(i)->type().shape; }
  const Shape &outShape(unsigned i = 0) const { return node_.result(i)->type().shape; }

  // ---- Types and constants ------------------------------------------------
  llvm::Type *f32() { return b_.getFloatTy(); }
  llvm::Type *i32() { return b_.getInt32Ty(); }
  llvm::Type *i64() { return b_.getInt64Ty(); }
  llvm::Value *i64c(int64_t v) { return b_.getInt64(static_cast<uint64_t>(v)); }
  llvm::Value *f32c(double v);

  // ---- Sizes --------------------------------------------------------------
  /// One dimension: a constant, or the batch argument for kBatch.
  llvm::Value *dim(int64_t d);
  /// Product of dims (1 for none); folded to a constant when there is no N.
  llvm::Value *product(llvm::ArrayRef<int64_t> dims);
  /// Product of already materialized sizes.
  llvm::Value *product(llvm::ArrayRef<llvm::Value *> sizes);
  llvm::Value *numel(const Shape &s) { return product(s); }
  /// nuw nsw multiply/add of sizes and indices (they never overflow: the
  /// runtime checked every buffer's size before allocating it).
  llvm::Value *mul(llvm::Value *a, llvm::Value *b);
  llvm::Value *add(llvm::Value *a, llvm::Value *b);

  // ---- Memory -------------------------------------------------------------
  /// &base[idx] for elements of type `elt` (f32 by default).
  llvm::Value *elemPtr(llvm::Value *base, llvm::Value *idx, llvm::Type *elt = nullptr);
  llvm::Value *load(llvm::Value *base, llvm::Value *idx, llvm::Type *elt = nullptr);
  void store(llvm::Value *v, llvm::Value *base, llvm::Value *idx);

  // ---- Arithmetic ---------------------------------------------------------
  /// fadd that accumulates a reduction: carries `reassoc` (see the policy above).
  llvm::Value *accumulate(llvm::Value *acc, llvm::Value *x);
  /// llvm.maxnum, reassociable for vectorized max-reductions.
  llvm::Value *maxAccumulate(llvm::Value *acc, llvm::Value *x);

  // ---- Loops --------------------------------------------------------------
  /// for (i64 i = 0; i < n; ++i) body(i): a counted loop in the shape LLVM's
  /// loop passes expect (preheader, header with the induction phi, latch).
  void loop(llvm::Value *n, llvm::function_ref<void(llvm::Value *)> body,
            const llvm::Twine &name = "i");
  /// Like loop(), with loop-carried values: they start as `init`, body(i, cur)
  /// returns their next values, and the values after the last iteration are
  /// returned (`init` when n <= 0).
  LoopValues loopCarried(
      llvm::Value *n, llvm::ArrayRef<llvm::Value *> init,
      llvm::function_ref<LoopValues(llvm::Value *, llvm::ArrayRef<llvm::Value *>)> body,
      const llvm::Twine &name = "i");
  /// Unrolling policy (docs/ARCHITECTURE.md, "Compile time"). Loops are
  /// emitted with llvm.loop.unroll.runtime.disable: LLVM's runtime
  /// unrolling (a copy of the body per factor, plus a remainder loop, for
  /// every loop of unknown trip count) doubled the IR of small kernels for
  /// no measured speed. Loops of a constant trip count of at least
  /// kRolledTripCount are not unrolled at all (llvm.loop.unroll.disable;
  /// the vectorizer still widens and interleaves them): fully unrolled
  /// after vectorization they made basic blocks of thousands of
  /// instructions, on which the machine schedulers are quadratic (a
  /// resnet conv's bias loop cost ~1 s). Shorter constant loops (windows,
  /// taps) may still be unrolled. allowRuntimeUnroll(true) lifts both for
  /// the loops emitted until it is called with false; returns the previous
  /// setting. (The GEMM's tile loops used it while its micro-kernels were
  /// inline; since they are shared functions, nothing does.)
  bool allowRuntimeUnroll(bool allow) {
    std::swap(runtimeUnroll_, allow);
    return allow;
  }
  /// Asks LLVM to keep the loop emitted last rolled (no full, partial or
  /// runtime unrolling): for loops whose body is already register-blocked
  /// by hand, where unrolling only multiplies the code LLVM compiles.
  void keepLastLoopRolled();
  /// if (cond) then(): then() may emit loops of its own.
  void ifThen(llvm::Value *cond, llvm::function_ref<void()> then);
  /// cond ? then() : otherwise, where then() runs only when cond holds (for
  /// a load that would be out of bounds otherwise).
  llvm::Value *ifThenValue(llvm::Value *cond, llvm::function_ref<llvm::Value *()> then,
                           llvm::Value *otherwise, const llvm::Twine &name = "if");

  /// for (i < n0) for (j < n1) body(i, j), visited in square tiles of
  /// `tile` x `tile`: for copies that read along one dimension and write
  /// along the other (transposes), so the strided side touches only `tile`
  /// cache lines at a time instead of one per element.
  /// Only the innermost loop may be unrolled: copies of whole tiles (for
  /// constant sizes) multiplied the code of every transpose for no speed.
  /// With `rowTiles` = [begin, end), only those rows of tiles (i from
  /// begin * tile): a parallel body's share (kTransposeTile rows each).
  void tiledNest2(llvm::Value *n0, llvm::Value *n1,
                  llvm::function_ref<void(llvm::Value *, llvm::Value *)> body,
                  std::pair<llvm::Value *, llvm::Value *> rowTiles = {});
  /// The square tile of tiledNest2.
  static constexpr int64_t kTransposeTile = 16;
  /// Rows of tiles of tiledNest2 over n0 rows.
  llvm::Value *tileRows(llvm::Value *n0);

  /// A scratch buffer of `numel` f32 from malloc, for packing. Pair with
  /// freeScratch(). Heap rather than stack: sizes reach megabytes and may
  /// depend on the batch.
  llvm::Value *mallocScratch(llvm::Value *numel);
  void freeScratch(llvm::Value *p);

private:
  /// Adds fn's entry block, points the builder there, and binds the
  /// argument lists.
  void bind(llvm::Function *fn, unsigned numTrailing);

  llvm::Function *fn_;
  const ir::Node &node_;
  TargetInfo target_;
  llvm::IRBuilder<> b_;
  llvm::SmallVector<llvm::Value *, 3> ins_;
  llvm::SmallVector<llvm::Value *, 1> outs_;
  llvm::Value *batch_ = nullptr;
  llvm::SmallVector<llvm::Value *, 3> trailing_;
  llvm::BranchInst *lastLatch_ = nullptr; // the back edge of the last loop
  bool runtimeUnroll_ = false;

  /// Sets the loop metadata {hint} on the back edge `latch`.
  void setLoopHint(llvm::BranchInst *latch, llvm::StringRef hint);
  unsigned numIns_ = 0, numOuts_ = 0;
  llvm::SmallVector<unsigned, 5> canon_; // see shareArgs; empty: all distinct
  /// Points ins_/outs_ of shared arguments at their canonical one.
  void applySharing();
  ElementScope *elementScope_ = nullptr;
  const TileEpilogue *tileEpilogue_ = nullptr;
  const ElementEpilogue *elementEpilogue_ = nullptr;
};

} // namespace gradc::codegen
