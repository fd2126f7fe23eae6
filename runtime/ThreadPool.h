//===- runtime/ThreadPool.h - Parallel loops for compiled kernels -*- C++ -*-===//
//
// A fixed pool of worker threads that compiled code calls through one C entry
// point, gradc_parallel_for. The range [0, n) is cut into one contiguous chunk
// per thread; each chunk runs fn(ctx, begin, end). Kernels split only loops
// whose iterations write disjoint outputs and compute each output the same way
// regardless of the split, so results are bitwise identical for any thread
// count.
//
// The pool is process-wide (setNumThreads); the caller of a step blocks until
// every chunk is done. Workers spin briefly, then sleep on a condition variable.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>

extern "C" {
/// The body of a parallel loop: handles iterations [begin, end).
typedef void (*gradc_loop_body)(void *ctx, int64_t begin, int64_t end);
/// Runs body over [0, n) on the pool; chunks smaller than `grain` iterations
/// are not split further. Returns when every iteration has run.
void gradc_parallel_for(gradc_loop_body body, void *ctx, int64_t n, int64_t grain);
}

namespace gradc::rt {

/// Sets the number of threads kernels use (1 = run on the caller only).
/// 0 means the machine's hardware concurrency.
void setNumThreads(unsigned n);
unsigned numThreads();

} // namespace gradc::rt
