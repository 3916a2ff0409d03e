// The process-wide compute pool. Every kernel runs inside a "region": a body
// executed by `nth` threads at once, the calling thread being thread 0.
//
// Regions from different callers (several async ops in flight, or a sync op on
// the main thread) run one after another in arrival order, so the number of
// threads computing never exceeds the pool size: concurrent ops share the
// cores instead of oversubscribing them. A region started from inside a
// region runs inline on the calling thread.
#pragma once
#include <algorithm>
#include <cstdint>

#include "function_ref.h"

namespace cr {

class ThreadPool {
 public:
  static ThreadPool& instance();

  // Compute threads available to a region, the caller included.
  int numThreads() const;
  // Resizes the pool (n >= 1). Waits for regions in flight to finish first.
  void setNumThreads(int n);

  // Runs body(tid, nth) on min(nth, numThreads()) threads; returns when all are done.
  // Exceptions must not escape `body`: kernels report errors before entering a region.
  void run(int nth, FunctionRef<void(int, int)> body);

  // Waits until every thread of the current region has reached it.
  // Only valid inside a region body; a no-op in an inline (single-thread) region.
  static void barrier();

  // True when called from inside a region body.
  static bool inRegion();

  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

 private:
  ThreadPool();
  struct Impl;
  Impl* impl_;
};

// Splits [0, n) into contiguous chunks of at least `grain` items over the pool
// and calls fn(begin, end) once per thread that has work.
template <typename F>
void parallelFor(int64_t n, int64_t grain, F&& fn) {
  if (n <= 0) return;
  grain = std::max<int64_t>(grain, 1);
  ThreadPool& pool = ThreadPool::instance();
  const int64_t maxThreads = std::max<int64_t>(1, std::min<int64_t>(pool.numThreads(), (n + grain - 1) / grain));
  pool.run(static_cast<int>(maxThreads), [&](int tid, int nth) {
    const int64_t begin = n * tid / nth;
    const int64_t end = n * (tid + 1) / nth;
    if (begin < end) fn(begin, end);
  });
}

// Like parallelFor, but hands out `count` independent tasks dynamically, for
// work items of uneven cost. fn(task, tid).
void parallelTasks(int64_t count, FunctionRef<void(int64_t, int)> fn);

}  // namespace cr
