//===- runtime/ThreadPool.cpp - Parallel loops for compiled kernels -------===//
//
// One job at a time. The caller of gradc_parallel_for cuts [0, n) into
// `chunks` contiguous chunks (up to kChunksPerThread per thread, none below
// `grain`), publishes the job and takes part itself. Participant p (the
// caller is 0, worker i is i) first claims the chunks of its own contiguous
// block, about chunks/threads of them, then any chunk still unclaimed, from
// the last one down. The caller returns once `remaining_` (chunks not yet
// finished) is zero. Which thread runs which chunk does not affect results:
// kernels compute each output the same way whatever the chunk.
//
// Own blocks keep the split the same from step to step (a thread's part of
// a kernel's data stays in its cache); claiming the rest keeps a worker that
// was descheduled, or shares its core, from stalling the step: whoever runs
// takes what it has not started. Measured on the 2-core dev VM, MNIST MLP
// training step at batch 64 (an ad-hoc harness timing Session::run): fixed
// chunk per thread (the first version) ~380 us, claims in any order with 4
// chunks per thread ~405-445 us, own blocks first ~355-385 us; 1 thread
// ~550 us.
//
// Publishing and waking. job_ holds (generation << 16 | chunks). The caller
// writes the job's fields and remaining_, then stores a new job_ (release)
// under mu_ and notifies as many sleeping workers as there are chunks to
// share. A worker waits for job_ to change by spinning for kSpin (a step's
// kernels follow each other within microseconds, and waking a sleeping
// thread costs tens of them: the step above took ~490 us with no spinning),
// then by sleeping on wake_. Both the store and a sleeper's last check of
// job_ happen under mu_, so no wake-up is lost. The caller waits for
// remaining_ the same way; the worker that finishes the last chunk notifies
// done_ under mu_.
//
// Claims. Slot c holds the generation of the last job that claimed chunk c,
// and a participant claims chunk c for the job it saw by raising the slot
// from below that generation to it (CAS). A worker that saw a job late
// therefore cannot claim anything (every chunk of a finished job was
// claimed at its generation or later), and a successful claim means the job
// is still running: the caller cannot return, let alone write the next
// job's fields, until that chunk is counted in remaining_. The fields were
// published by the release store of job_, which the claimer loaded with
// acquire. After its decrement of remaining_ a worker touches only the
// pool's own synchronization, never the job.
//
// Reentrancy: a call made while a job runs (from a chunk body, or from a
// second thread running a step of its own) runs its loop inline on the
// calling thread; `busy_` tells.
//
// Lifetime: the process-wide pool is held by shared_ptr and
// gradc_parallel_for keeps its own reference for the call, so setNumThreads
// replacing the pool meanwhile cannot free it under a running job (the old
// pool finishes the job and is destroyed by its last user). The destructor
// stops and joins idle workers.
//
//===----------------------------------------------------------------------===//
#include "runtime/ThreadPool.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace gradc::rt {
namespace {

/// How long an idle thread spins before it sleeps (see above).
constexpr auto kSpin = std::chrono::microseconds(100);
/// Chunks per thread: more than one lets the threads that run balance the
/// load when one is slow (preempted, or sharing its core); each chunk is
/// still at least `grain` iterations. chunks must fit job_'s low 16 bits.
constexpr int64_t kChunksPerThread = 4;
static_assert(kMaxThreads * kChunksPerThread < (1 << 16), "chunks overflow job_");

void cpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#else
  std::this_thread::yield();
#endif
}

/// Spins (pausing, and yielding between rounds) until done() holds or
/// kSpin has passed; returns done().
template <typename Pred> bool spinUntil(Pred done) {
  auto deadline = std::chrono::steady_clock::now() + kSpin;
  for (;;) {
    for (int i = 0; i < 64; ++i) {
      if (done())
        return true;
      cpuRelax();
    }
    if (std::chrono::steady_clock::now() >= deadline)
      return done();
    // A spinner sharing its core with runnable threads (more threads than
    // cores, or a busy machine) lets them run: with --threads 4 on 2 cores
    // the MNIST step ran at ~98K samples/s without this, ~155K with it.
    std::this_thread::yield();
  }
}

class Pool {
public:
  explicit Pool(unsigned threads)
      : threads_(std::max(1u, threads)), slots_(threads_ * kChunksPerThread) {
    for (unsigned i = 1; i < threads_; ++i)
      workers_.emplace_back([this, i] { work(i); });
  }

  ~Pool() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_.store(true, std::memory_order_relaxed);
      job_.store(((job_.load(std::memory_order_relaxed) >> 16) + 1) << 16,
                 std::memory_order_release);
    }
    wake_.notify_all();
    for (std::thread &t : workers_)
      t.join();
  }

  unsigned threads() const { return threads_; }

  void run(gradc_loop_body body, void *ctx, int64_t n, int64_t grain) {
    int64_t chunks = std::min<int64_t>(int64_t(threads_) * kChunksPerThread,
                                       n / std::max<int64_t>(1, grain));
    if (threads_ == 1 || chunks <= 1 || busy_.exchange(true, std::memory_order_acquire)) {
      body(ctx, 0, n);
      return;
    }
    body_ = body;
    ctx_ = ctx;
    n_ = n;
    remaining_.store(chunks, std::memory_order_relaxed);
    uint64_t word = (((job_.load(std::memory_order_relaxed) >> 16) + 1) << 16) | uint64_t(chunks);
    unsigned sleepers;
    {
      std::lock_guard<std::mutex> lock(mu_);
      job_.store(word, std::memory_order_release);
      sleepers = sleepers_;
    }
    for (int64_t i = 0, e = std::min<int64_t>(sleepers, chunks - 1); i < e; ++i)
      wake_.notify_one();

    participate(0, word);
    auto finished = [&] { return remaining_.load(std::memory_order_acquire) == 0; };
    if (!spinUntil(finished)) {
      std::unique_lock<std::mutex> lock(mu_);
      done_.wait(lock, finished);
    }
    busy_.store(false, std::memory_order_release);
  }

private:
  /// Runs the chunks of job `word` that participant `p` can claim: its own
  /// block first, then any not yet claimed.
  void participate(unsigned p, uint64_t word) {
    const uint64_t gen = word >> 16;
    const int64_t chunks = int64_t(word & 0xffff);
    auto tryRun = [&](int64_t c) {
      std::atomic<uint64_t> &slot = slots_[c].claimedBy;
      uint64_t last = slot.load(std::memory_order_relaxed);
      if (last >= gen || !slot.compare_exchange_strong(last, gen, std::memory_order_relaxed))
        return;
      // Chunk c of [0, n_) cut into `chunks` near-equal parts (no n * c
      // overflow).
      int64_t q = n_ / chunks, r = n_ % chunks;
      int64_t begin = c * q + std::min(c, r), end = begin + q + (c < r ? 1 : 0);
      body_(ctx_, begin, end);
      if (remaining_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        std::lock_guard<std::mutex> lock(mu_);
        done_.notify_one();
      }
    };
    // Participant p owns a contiguous block of about chunks / threads_;
    // the leftover is taken from the end, away from where owners work.
    int64_t own0 = chunks * p / threads_, own1 = chunks * (p + 1) / threads_;
    for (int64_t c = own0; c < own1; ++c)
      tryRun(c);
    for (int64_t c = chunks - 1; c >= 0; --c)
      tryRun(c);
  }

  void work(unsigned index) {
    uint64_t seen = 0;
    for (;;) {
      auto changed = [&] { return job_.load(std::memory_order_acquire) != seen; };
      if (!spinUntil(changed)) {
        std::unique_lock<std::mutex> lock(mu_);
        ++sleepers_;
        wake_.wait(lock, changed);
        --sleepers_;
      }
      seen = job_.load(std::memory_order_acquire);
      if (stop_.load(std::memory_order_relaxed))
        return;
      participate(index, seen);
    }
  }

  const unsigned threads_;
  std::vector<std::thread> workers_;

  // The job: written by the caller before job_ is published, read by
  // participants after they claimed a chunk of it.
  gradc_loop_body body_ = nullptr;
  void *ctx_ = nullptr;
  int64_t n_ = 0;
  /// Per chunk, the generation of the last job that claimed it.
  struct alignas(64) Slot {
    std::atomic<uint64_t> claimedBy{0};
  };
  std::vector<Slot> slots_;
  std::atomic<int64_t> remaining_{0}; ///< chunks not yet finished
  std::atomic<bool> busy_{false};     ///< a job is running

  /// generation << 16 | chunks of the current job; a new generation starts
  /// a job (or, with stop_, ends the workers).
  std::atomic<uint64_t> job_{0};
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::condition_variable wake_, done_;
  unsigned sleepers_ = 0; ///< workers blocked on wake_ (under mu_)
};

std::mutex poolMu;
std::shared_ptr<Pool> pool;

std::shared_ptr<Pool> getPool() {
  std::lock_guard<std::mutex> lock(poolMu);
  if (!pool)
    pool = std::make_shared<Pool>(1);
  return pool;
}

} // namespace

void setNumThreads(unsigned n) {
  if (n == 0)
    n = std::max(1u, std::thread::hardware_concurrency());
  n = std::min(n, kMaxThreads);
  std::shared_ptr<Pool> old;
  {
    std::lock_guard<std::mutex> lock(poolMu);
    if (pool && pool->threads() == n)
      return;
    old = std::move(pool);
    pool = std::make_shared<Pool>(n);
  }
  // `old` is joined here, outside poolMu, unless a running job still holds it.
}

unsigned numThreads() { return getPool()->threads(); }

} // namespace gradc::rt

extern "C" void gradc_parallel_for(gradc_loop_body body, void *ctx, int64_t n, int64_t grain) {
  if (n <= 0)
    return;
  gradc::rt::getPool()->run(body, ctx, n, grain);
}
