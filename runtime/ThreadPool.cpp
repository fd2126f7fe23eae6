//===- runtime/ThreadPool.cpp - Parallel loops for compiled kernels -------===//
//
// One job at a time (steps are sequential): the caller publishes the job,
// wakes the workers, runs chunk 0 itself, and waits until every worker has
// reported its chunk done. Worker i always gets chunk i, which keeps the
// assignment deterministic.
//
//===----------------------------------------------------------------------===//
#include "runtime/ThreadPool.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace gradc::rt {
namespace {

class Pool {
public:
  explicit Pool(unsigned threads) : threads_(std::max(1u, threads)) {
    for (unsigned i = 1; i < threads_; ++i)
      workers_.emplace_back([this, i] { work(i); });
  }
  ~Pool() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
      ++generation_;
    }
    cv_.notify_all();
    for (auto &t : workers_)
      t.join();
  }
  unsigned threads() const { return threads_; }

  void run(gradc_loop_body body, void *ctx, int64_t n, int64_t grain) {
    int64_t chunks = std::min<int64_t>(threads_, std::max<int64_t>(1, n / std::max<int64_t>(1, grain)));
    if (chunks <= 1) {
      body(ctx, 0, n);
      return;
    }
    std::unique_lock<std::mutex> lock(mu_);
    body_ = body;
    ctx_ = ctx;
    n_ = n;
    chunks_ = chunks;
    pending_ = chunks - 1;
    ++generation_;
    lock.unlock();
    cv_.notify_all();
    runChunk(0);
    lock.lock();
    done_.wait(lock, [&] { return pending_ == 0; });
  }

private:
  void runChunk(int64_t c) {
    int64_t begin = n_ * c / chunks_, end = n_ * (c + 1) / chunks_;
    if (begin < end)
      body_(ctx_, begin, end);
  }

  void work(unsigned index) {
    uint64_t seen = 0;
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      cv_.wait(lock, [&] { return generation_ != seen; });
      seen = generation_;
      if (stop_)
        return;
      if (index >= chunks_)
        continue;
      lock.unlock();
      runChunk(index);
      lock.lock();
      if (--pending_ == 0)
        done_.notify_one();
    }
  }

  unsigned threads_;
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable cv_, done_;
  uint64_t generation_ = 0;
  bool stop_ = false;
  gradc_loop_body body_ = nullptr;
  void *ctx_ = nullptr;
  int64_t n_ = 0, chunks_ = 0, pending_ = 0;
};

std::mutex poolMu;
std::unique_ptr<Pool> pool;

Pool &getPool() {
  std::lock_guard<std::mutex> lock(poolMu);
  if (!pool)
    pool = std::make_unique<Pool>(1);
  return *pool;
}

} // namespace

void setNumThreads(unsigned n) {
  if (n == 0)
    n = std::max(1u, std::thread::hardware_concurrency());
  std::lock_guard<std::mutex> lock(poolMu);
  if (!pool || pool->threads() != n)
    pool = std::make_unique<Pool>(n);
}

unsigned numThreads() { return getPool().threads(); }

} // namespace gradc::rt

extern "C" void gradc_parallel_for(gradc_loop_body body, void *ctx, int64_t n, int64_t grain) {
  if (n <= 0)
    return;
  gradc::rt::getPool().run(body, ctx, n, grain);
}
