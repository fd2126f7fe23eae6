//===- tests/unit/ThreadPoolTest.cpp - gradc_parallel_for -----------------===//
#include "tests/TestUtil.h"

#include "runtime/ThreadPool.h"

#include <atomic>
#include <vector>

namespace {

struct Coverage {
  std::vector<std::atomic<int>> hits;
  explicit Coverage(int64_t n) : hits(n) {}
};

void mark(void *ctx, int64_t begin, int64_t end) {
  auto *c = static_cast<Coverage *>(ctx);
  for (int64_t i = begin; i < end; ++i)
    c->hits[i].fetch_add(1);
}

TEST(ThreadPool, EveryIndexRunsExactlyOnce) {
  for (unsigned threads : {1u, 2u, 3u, 5u}) {
    gradc::rt::setNumThreads(threads);
    EXPECT_EQ(gradc::rt::numThreads(), threads);
    for (int64_t n : {0, 1, 2, 3, 7, 64, 1000})
      for (int64_t grain : {1, 4, 100}) {
        Coverage c(n);
        gradc_parallel_for(&mark, &c, n, grain);
        for (int64_t i = 0; i < n; ++i)
          ASSERT_EQ(c.hits[i].load(), 1)
              << "threads " << threads << " n " << n << " grain " << grain << " index " << i;
      }
  }
}

TEST(ThreadPool, ManySmallJobsFinish) {
  gradc::rt::setNumThreads(2);
  Coverage c(2);
  for (int i = 0; i < 10000; ++i)
    gradc_parallel_for(&mark, &c, 2, 1);
  EXPECT_EQ(c.hits[0].load(), 10000);
  EXPECT_EQ(c.hits[1].load(), 10000);
  gradc::rt::setNumThreads(1);
}

} // namespace
