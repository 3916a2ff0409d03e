// Block-diagonal linear recurrence h_t = A h_{t−1} + b_t (A: n×n per channel,
// constant over time). Independent (batch, channel) sequences run in
// parallel. When there are too few of them to fill the threads (b=1 with a
// handful of channels, a long sequence), time is split into chunks as well:
//   1. each chunk scans from a zero state (in parallel),
//   2. the true state entering each chunk is carried across chunks
//      serially: carry_j = end_j + A^len · carry_{j−1} (A^len by squaring),
//   3. each chunk adds A^(t−s+1) · carry to its states (in parallel), the
//      powers applied incrementally, one matrix-vector product per step.
// That is the associative scan of the affine maps h ↦ A h + b, in the
// chunked form that does O(1) extra work per element.
#include <algorithm>
#include <cstdint>
#include <cstring>

#include "../core/arena.h"
#include "../core/threadpool.h"
#include "kernels.h"
#include "simd.h"

namespace cr::cpu::CR_ISA {

namespace {

constexpr int64_t kMaxN = 256;
constexpr int64_t kMaxChunkedN = 8;

// y = A x (+ add) for an n×n block; x and y may not alias.
static inline void matvec(const float* A, const float* x, const float* add, float* y, int64_t n) {
  if (n == 2) {
    const float x0 = x[0], x1 = x[1];
    y[0] = A[0] * x0 + A[1] * x1 + (add ? add[0] : 0.0f);
    y[1] = A[2] * x0 + A[3] * x1 + (add ? add[1] : 0.0f);
    return;
  }
  for (int64_t i = 0; i < n; ++i) {
    const float* row = A + i * n;
    Vec acc = vzero();
    int64_t j = 0;
    for (; j + kLanes <= n; j += kLanes) acc = vfma(vload(row + j), vload(x + j), acc);
    float s = vreduceAdd(acc);
    for (; j < n; ++j) s += row[j] * x[j];
    y[i] = s + (add ? add[i] : 0.0f);
  }
}

// Scans one (batch, channel) sequence over [t0, t1) starting from `state`
// (n floats, updated in place); states go to h with stride `step` floats per time step.
static void scanRange(const float* A, const float* b, float* h, int64_t step, int64_t n, int64_t t0, int64_t t1, float* state) {
  float next[kMaxN];
  for (int64_t t = t0; t < t1; ++t) {
    matvec(A, state, b + t * step, next, n);
    std::memcpy(state, next, static_cast<size_t>(n) * sizeof(float));
    std::memcpy(h + t * step, state, static_cast<size_t>(n) * sizeof(float));
  }
}

}  // namespace

void blockScan(const BlockScanArgs& g) {
  const int64_t n = g.n, C = g.channels;
  const int64_t step = C * n;  // floats between consecutive time steps of one sequence
  const int64_t sequences = g.batch * C;
  ThreadPool& pool = ThreadPool::instance();
  const int threads = pool.numThreads();
  // Time chunking pays only when sequences cannot fill the threads, and its
  // serial carry pass multiplies n×n blocks, so it is kept for small blocks.
  const bool chunked = sequences < 2 * threads && g.L >= 2048 && threads > 1 && n <= kMaxChunkedN;

  if (!chunked) {
    parallelFor(sequences, std::max<int64_t>(1, 4096 / std::max<int64_t>(1, g.L * n)), [&](int64_t s0, int64_t s1) {
      float state[kMaxN];
      for (int64_t s = s0; s < s1; ++s) {
        const int64_t bIdx = s / C, c = s % C;
        if (g.initialState) std::memcpy(state, g.initialState + s * n, static_cast<size_t>(n) * sizeof(float));
        else std::fill(state, state + n, 0.0f);
        const int64_t base = bIdx * g.L * step + c * n;
        scanRange(g.a + c * n * n, g.b + base, g.h + base, step, n, 0, g.L, state);
        std::memcpy(g.lastState + s * n, state, static_cast<size_t>(n) * sizeof(float));
      }
    });
    return;
  }

  const int64_t chunks = threads;
  ScratchScope scratch;
  // carries[(s · chunks + j) · n]: the true state at the end of chunk j of sequence s.
  float* carries = scratch.allocate<float>(static_cast<size_t>(sequences * chunks * n));
  pool.run(threads, [&](int tid, int nth) {
    const int64_t t0 = g.L * tid / nth, t1 = g.L * (tid + 1) / nth;
    float state[kMaxN];
    for (int64_t s = 0; s < sequences; ++s) {
      const int64_t bIdx = s / C, c = s % C;
      const int64_t base = bIdx * g.L * step + c * n;
      if (tid == 0 && g.initialState) std::memcpy(state, g.initialState + s * n, static_cast<size_t>(n) * sizeof(float));
      else std::fill(state, state + n, 0.0f);
      scanRange(g.a + c * n * n, g.b + base, g.h + base, step, n, t0, t1, state);
      std::memcpy(carries + (s * chunks + tid) * n, state, static_cast<size_t>(n) * sizeof(float));
    }
    ThreadPool::barrier();
    if (tid == 0) {
      // Serial pass over chunks: carry_j += A^len_j · carry_{j−1}.
      float power[kMaxChunkedN * kMaxChunkedN], tmp[kMaxChunkedN * kMaxChunkedN], result[kMaxChunkedN * kMaxChunkedN], v[kMaxChunkedN];
      for (int64_t s = 0; s < sequences; ++s) {
        const float* A = g.a + (s % C) * n * n;
        for (int64_t j = 1; j < chunks; ++j) {
          int64_t len = g.L * (j + 1) / nth - g.L * j / nth;
          // result = A^len by repeated squaring (n is small on this path).
          std::memcpy(power, A, static_cast<size_t>(n * n) * sizeof(float));
          for (int64_t i = 0; i < n * n; ++i) result[i] = i % (n + 1) == 0 ? 1.0f : 0.0f;
          while (len > 0) {
            if (len & 1) {
              for (int64_t r = 0; r < n; ++r)
                for (int64_t cc = 0; cc < n; ++cc) {
                  float acc = 0;
                  for (int64_t k = 0; k < n; ++k) acc += result[r * n + k] * power[k * n + cc];
                  tmp[r * n + cc] = acc;
                }
              std::memcpy(result, tmp, static_cast<size_t>(n * n) * sizeof(float));
            }
            for (int64_t r = 0; r < n; ++r)
              for (int64_t cc = 0; cc < n; ++cc) {
                float acc = 0;
                for (int64_t k = 0; k < n; ++k) acc += power[r * n + k] * power[k * n + cc];
                tmp[r * n + cc] = acc;
              }
            std::memcpy(power, tmp, static_cast<size_t>(n * n) * sizeof(float));
            len >>= 1;
          }
          matvec(result, carries + (s * chunks + j - 1) * n, carries + (s * chunks + j) * n, v, n);
          std::memcpy(carries + (s * chunks + j) * n, v, static_cast<size_t>(n) * sizeof(float));
        }
        std::memcpy(g.lastState + s * n, carries + (s * chunks + chunks - 1) * n, static_cast<size_t>(n) * sizeof(float));
      }
    }
    ThreadPool::barrier();
    if (tid == 0) return;  // chunk 0 already started from the true initial state
    float carry[kMaxN], next[kMaxN];
    for (int64_t s = 0; s < sequences; ++s) {
      const int64_t bIdx = s / C, c = s % C;
      const float* A = g.a + c * n * n;
      float* h = g.h + bIdx * g.L * step + c * n;
      std::memcpy(carry, carries + (s * chunks + tid - 1) * n, static_cast<size_t>(n) * sizeof(float));
      for (int64_t t = t0; t < t1; ++t) {
        matvec(A, carry, nullptr, next, n);
        std::memcpy(carry, next, static_cast<size_t>(n) * sizeof(float));
        for (int64_t i = 0; i < n; ++i) h[t * step + i] += carry[i];
      }
    }
  });
}

}  // namespace cr::cpu::CR_ISA
