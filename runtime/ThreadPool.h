//===- runtime/ThreadPool.h - Parallel loops for compiled kernels -*- C++ -*-===//
//
// A fixed pool of worker threads that compiled code calls through one C entry
// point, gradc_parallel_for. The range [0, n) is cut into a few contiguous
// chunks per thread, each at least `grain` iterations; the caller and the
// workers claim chunks until none is left, each running body(ctx, begin,
// end). Kernels split only loops whose iterations write disjoint outputs and
// compute each output the same way regardless of the split, so results are
// bitwise identical for any thread count.
//
// The pool is process-wide (setNumThreads); the caller blocks until every
// chunk is done. Idle workers spin briefly (kernels of a step follow each
// other closely), then sleep on a condition variable.
//
// Threading contract:
//   - One job runs at a time. A gradc_parallel_for made while another runs
//     (from inside a body, or from a second thread) runs its whole range on
//     its own thread: correct, just not parallel.
//   - setNumThreads is meant to be called between steps, not while one runs
//     on another thread. It is memory-safe then (the running job finishes on
//     the pool it started on), but which thread count that step uses is
//     unspecified.
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

/// The most threads setNumThreads gives a pool; larger requests are clamped
/// (a thread count is user input, and threads are not free).
inline constexpr unsigned kMaxThreads = 256;

/// Sets the number of threads kernels use, the caller included (1 = run on
/// the caller only). 0 means the machine's hardware concurrency. Replacing
/// the pool joins the old workers.
void setNumThreads(unsigned n);
unsigned numThreads();

} // namespace gradc::rt
