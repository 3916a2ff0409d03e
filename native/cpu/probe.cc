// Measures this machine's limits for the benchmarks to compare against: the
// float32 FMA rate of one thread, and streaming memory bandwidth.
#include <chrono>
#include <cstdint>

#include "kernels.h"
#include "simd.h"

namespace cr::cpu::CR_ISA {

namespace {
double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }
}  // namespace

// 16 independent accumulator chains: more than FMA latency × issue width on
// any current core, so the loop runs at the FMA units' throughput. Kept free
// of calls so the chains stay in registers.
__attribute__((noinline)) static float fmaChains(int64_t iterations) {
  constexpr int kChains = 16;
  Vec acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = vset(0.001f * static_cast<float>(i));
  const Vec a = vset(0.9999999f), b = vset(1e-7f);
  for (int64_t it = 0; it < iterations; ++it) {
#pragma GCC unroll 16
    for (int i = 0; i < kChains; ++i) acc[i] = vfma(acc[i], a, b);
  }
  Vec sum = vzero();
  for (int i = 0; i < kChains; ++i) sum += acc[i];
  return vreduceAdd(sum);
}

ProbeResult probeFma(int64_t iterations) {
  const double start = now();
  volatile float sink = fmaChains(iterations);
  (void)sink;
  return {now() - start, 2.0 * kLanes * 16 * static_cast<double>(iterations)};
}

// a[i] = b[i] + s·c[i]: STREAM's triad, 12 bytes of traffic per element
// (not counting the write-allocate read of a).
ProbeResult probeTriad(float* a, const float* b, const float* c, int64_t n, int repeats) {
  const Vec s = vset(1.0001f);
  const int64_t full = n - n % kLanes;
  const double start = now();
  for (int r = 0; r < repeats; ++r) {
    for (int64_t i = 0; i < full; i += kLanes) vstore(a + i, vfma(s, vload(c + i), vload(b + i)));
    for (int64_t i = full; i < n; ++i) a[i] = b[i] + 1.0001f * c[i];
    __asm__ volatile("" ::: "memory");
  }
  return {now() - start, 12.0 * static_cast<double>(n) * repeats};
}

// Sum of a[i]: read-only streaming, the access pattern of a weight-bound GEMV.
ProbeResult probeRead(const float* a, int64_t n, int repeats) {
  const int64_t full = n - n % (4 * kLanes);
  Vec s0 = vzero(), s1 = vzero(), s2 = vzero(), s3 = vzero();
  const double start = now();
  for (int r = 0; r < repeats; ++r) {
    for (int64_t i = 0; i < full; i += 4 * kLanes) {
      s0 += vload(a + i);
      s1 += vload(a + i + kLanes);
      s2 += vload(a + i + 2 * kLanes);
      s3 += vload(a + i + 3 * kLanes);
    }
    __asm__ volatile("" ::: "memory");
  }
  const double seconds = now() - start;
  volatile float sink = vreduceAdd((s0 + s1) + (s2 + s3));
  (void)sink;
  return {seconds, 4.0 * static_cast<double>(full) * repeats};
}

}  // namespace cr::cpu::CR_ISA
