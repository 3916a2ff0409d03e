#include "probe.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <vector>

#include "../core/error.h"
#include "../core/threadpool.h"
#include "../cpu/kernels.h"

namespace cr {

namespace {
double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

struct FreeDeleter {
  void operator()(float* p) const { std::free(p); }
};
using Buffer = std::unique_ptr<float, FreeDeleter>;

Buffer allocate(int64_t n) {
  float* p = static_cast<float*>(std::aligned_alloc(64, static_cast<size_t>((n * 4 + 63) / 64 * 64)));
  if (p == nullptr) throwRange("probe: could not allocate ", n * 4, " bytes");
  return Buffer(p);
}
}  // namespace

ProbeReport runProbe(const std::string& kind, int threads, double megabytes) {
  ThreadPool& pool = ThreadPool::instance();
  threads = std::max(1, std::min(threads, pool.numThreads()));
  const cpu::Kernels& k = cpu::kernels();
  ProbeReport report;
  report.threads = threads;

  if (kind == "fma") {
    // Grow the iteration count until one run lasts long enough to time well.
    int64_t iterations = 1 << 16;
    for (;;) {
      std::vector<double> flops(threads, 0.0);
      const double start = now();
      pool.run(threads, [&](int tid, int) { flops[tid] = k.probeFma(iterations).work; });
      const double seconds = now() - start;
      if (seconds > 0.05 || iterations > (int64_t(1) << 34)) {
        double total = 0;
        for (double f : flops) total += f;
        report.seconds = seconds;
        report.rate = total / seconds / 1e9;
        return report;
      }
      iterations *= 4;
    }
  }

  if (kind != "triad" && kind != "read") throwRange("probe: kind must be 'fma', 'triad' or 'read', got '", kind, "'");
  if (!(megabytes >= 1 && megabytes <= 8192)) throwRange("probe: megabytes must be in [1, 8192], got ", megabytes);
  const int arrays = kind == "triad" ? 3 : 1;
  const int64_t n = static_cast<int64_t>(megabytes * 1e6 / (4.0 * arrays)) / 64 * 64;
  Buffer a = allocate(n), b = allocate(arrays == 3 ? n : 1), c = allocate(arrays == 3 ? n : 1);
  // First touch by the threads that will stream each slice.
  pool.run(threads, [&](int tid, int nth) {
    const int64_t lo = n * tid / nth, hi = n * (tid + 1) / nth;
    for (int64_t i = lo; i < hi; ++i) a.get()[i] = 1.0f;
    if (arrays == 3) {
      for (int64_t i = lo; i < hi; ++i) b.get()[i] = 2.0f, c.get()[i] = 0.5f;
    }
  });
  double best = 1e30;
  for (int rep = 0; rep < 5; ++rep) {
    const double start = now();
    pool.run(threads, [&](int tid, int nth) {
      const int64_t lo = n * tid / nth / 64 * 64, hi = tid + 1 == nth ? n : n * (tid + 1) / nth / 64 * 64;
      if (arrays == 3) k.probeTriad(a.get() + lo, b.get() + lo, c.get() + lo, hi - lo, 1);
      else k.probeRead(a.get() + lo, hi - lo, 1);
    });
    best = std::min(best, now() - start);
  }
  report.seconds = best;
  report.rate = (arrays == 3 ? 12.0 : 4.0) * static_cast<double>(n) / best / 1e9;
  return report;
}

}  // namespace cr
