//===- codegen/ParallelFor.h - Kernel loops on the runtime thread pool -*- C++ -*-===//
//
// emitParallelFor outlines one loop of a kernel into a function the runtime
// thread pool (runtime/ThreadPool.h) calls on disjoint sub-ranges. The body
// is emitted through the kernel's own KernelCtx, retargeted to the new
// function whose arguments are the node's pointers and the batch again, so
// a lowering writes it exactly as it would write the loop inline.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "codegen/KernelEmitter.h"

namespace gradc::codegen {

/// The C entry of the runtime thread pool that generated code calls.
inline constexpr const char *kParallelForName = "gradc_parallel_for";

/// What a parallel body is given: `part`, which is the kernel's own
/// KernelCtx retargeted to the body's function (so lambdas that captured
/// the kernel's context emit there too; in(), out(), batch() and dim() are
/// the body's), the `extra` pointers as values of the body, and its range
/// [begin, end). The body must not use other values of the kernel (sizes
/// computed there, say): recompute them, or map the kernel's arguments with
/// kernelValueInBody.
using ParallelBody =
    llvm::function_ref<void(KernelCtx &part, llvm::ArrayRef<llvm::Value *> extra,
                            llvm::Value *begin, llvm::Value *end)>;

/// Emits at k's insertion point: gradc_parallel_for over [0, n) in chunks of
/// at least `grain` iterations, each chunk running `body` (emitted once, into
/// a new internal function). Returns after every iteration has run. When n
/// and grain are constants with n < 2 * grain (never split), the body is
/// emitted inline instead, over [0, n), with `part` = k itself.
///
/// The body must write disjoint outputs for disjoint ranges and compute each
/// output the same way whatever range it is given: then results are bitwise
/// identical for any thread count. `extra` pointers (e.g. a packed copy made
/// by the kernel) must not alias the node's buffers; the body sees them as
/// noalias, like the node's pointers.
void emitParallelFor(KernelCtx &k, llvm::Value *n, llvm::Value *grain,
                     llvm::ArrayRef<llvm::Value *> extra, ParallelBody body);

/// Work below which a chunk is not worth handing to another thread: FLOPs
/// of compute-bound loops (GEMM), elements of memory-bound maps. Handing a
/// chunk to a spinning worker costs about a microsecond, and a sleeping
/// worker costs the caller little more (it takes back chunks nobody has
/// claimed). Measured on the 2-core dev VM, 1 -> 2 threads: [64,64]x[64,64]
/// (0.5 MFLOP) 4.5 -> 3.0 us and [64,256]x[256,10] 4.6 -> 3.1 us with 32K,
/// no split (no gain) with 1M; the MNIST step the same within noise for a
/// map threshold of 4K or 32K elements.
inline constexpr int64_t kMinParallelFlops = 1 << 15;
inline constexpr int64_t kMinParallelElements = 1 << 15;

/// A grain for a loop whose iterations cost `flopsPerIteration` each: enough
/// iterations that a chunk holds kMinParallelFlops. At least 1.
llvm::Value *grainForFlops(KernelCtx &k, llvm::Value *flopsPerIteration);
/// Likewise for iterations of `elementsPerIteration` map elements.
llvm::Value *grainForElements(KernelCtx &k, llvm::Value *elementsPerIteration);

/// Inside a parallel body: the body's value for `v`, an argument of the
/// kernel (its argument of the same number) or a constant (itself). A value
/// of the function `part` emits into already is returned as is.
llvm::Value *kernelValueInBody(KernelCtx &part, llvm::Value *v);

} // namespace gradc::codegen
