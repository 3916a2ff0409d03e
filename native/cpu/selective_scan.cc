// Mamba-1 selective scan, fused; the math of selective_scan_ref in
// state-spaces/mamba, token-major ([batch, L, d] instead of [batch, d, L]):
//
//   Δ_t = delta_t + deltaBias          (softplus of it with deltaSoftplus)
//   h_t = exp(Δ_t·A) ⊙ h_{t−1} + Δ_t·u_t·B_t     per channel c, state entry s
//   y_t = Σ_s C_t[s]·h_t[s] + D·u_t, then y_t ·= silu(z_t)
//
// Lanes run across channels: one vector holds kLanes adjacent channels, and a
// channel's n state entries live in n vectors. B_t and C_t are shared by every
// channel of a group, so they are broadcasts and y_t is a plain sum of n
// vectors (no horizontal reduction, and n = 1 vectorises as well as n = 16).
//
// A task is a chunk of channels of one group in one batch row, walked through
// the whole sequence once. The chunk's state and A (n vectors per kLanes
// channels) stay in L1 for the whole walk; no [L, d, n] tensor ever exists.
// A chunk is a few hundred contiguous bytes of each token row, so every cache
// line of u, delta, z and y is touched by one thread in one pass even when the
// arrays are not 64-byte aligned (vector-wide tasks would share boundary lines
// and stream them from memory twice). The next rows are prefetched by hand:
// rows are d floats apart, a stride the hardware prefetchers do not follow.
//
// The decode step (L = 1 with a state) is the same walk of length one: the
// state is read once into the chunk layout and written back once, O(d·n).
#include <algorithm>
#include <cstdint>

#include "../core/arena.h"
#include "../core/threadpool.h"
#include "kernels.h"
#include "simd.h"

namespace cr::cpu::CR_ISA {

namespace {

// Floats of state plus A per chunk: 2 · 4096 · 4 B = 32 KB would fill L1, so half that.
constexpr int64_t kChunkStateFloats = 2048;
// Rows ahead to prefetch. One row of a chunk costs n·(chunk/kLanes) exponentials,
// hundreds of ns, so two rows ahead covers the memory latency.
constexpr int64_t kPrefetchRows = 2;

struct Layout {
  int64_t channelsPerGroup = 0;
  int64_t chunk = 0;           // channels per task (a multiple of kLanes, or the whole group)
  int64_t chunksPerGroup = 0;
  int64_t tasks = 0;
};

static Layout planChunks(const SelectiveScanArgs& g) {
  Layout p;
  p.channelsPerGroup = g.d / g.groups;
  const int threads = ThreadPool::inRegion() ? 1 : ThreadPool::instance().numThreads();
  // State and A of a chunk fit the L1 budget...
  int64_t chunk = std::max<int64_t>(kLanes, kChunkStateFloats / g.n / kLanes * kLanes);
  // ...and there are about four chunks per thread, so the last ones to finish do not
  // leave threads idle, as long as a chunk stays at least a cache line of each row.
  const int64_t rowsOfChannels = g.batch * g.d;
  const int64_t balanced = (rowsOfChannels + 4 * threads - 1) / (4 * threads);
  const int64_t lineChannels = std::max<int64_t>(kLanes, 16);
  chunk = std::min(chunk, std::max(lineChannels, (balanced + kLanes - 1) / kLanes * kLanes));
  p.chunk = std::min(chunk, p.channelsPerGroup);
  p.chunksPerGroup = (p.channelsPerGroup + p.chunk - 1) / p.chunk;
  p.tasks = g.batch * g.groups * p.chunksPerGroup;
  return p;
}

static inline void prefetchRow(const float* row, int64_t count) {
  for (int64_t i = 0; i < count; i += 16) __builtin_prefetch(row + i);
  __builtin_prefetch(row + count - 1);
}

// Runs channels [c0, c1) of `group` in batch row b through the sequence. aT and h
// are L1 scratch of (c1 − c0 rounded up to kLanes) · n floats each, laid out
// [vector][s][lane]. kN is n when fixed at compile time (so the state loop
// unrolls), 0 for any n.
template <int kN>
static void scanChunk(const SelectiveScanArgs& g, int64_t b, int64_t group, int64_t c0, int64_t c1, float* aT,
                      float* h) {
  const int64_t n = kN > 0 ? kN : g.n;
  const int64_t L = g.L, d = g.d;
  const int64_t width = c1 - c0;
  const int64_t vectors = (width + kLanes - 1) / kLanes;
  const int64_t paddedWidth = vectors * kLanes;

  // A and the starting state, transposed from [c][s] to [vector][s][lane]; padding
  // lanes get zeros, which keep them finite (h stays 0) and are never stored.
  const float* state0 = g.initialState ? g.initialState + (b * d + c0) * n : nullptr;
  for (int64_t c = 0; c < paddedWidth; ++c) {
    const int64_t base = (c / kLanes) * n * kLanes + c % kLanes;
    for (int64_t s = 0; s < n; ++s) {
      aT[base + s * kLanes] = c < width ? g.A[(c0 + c) * n + s] : 0.0f;
      h[base + s * kLanes] = c < width && state0 ? state0[c * n + s] : 0.0f;
    }
  }

  const int64_t groups = g.groups;
  for (int64_t t = 0; t < L; ++t) {
    const int64_t row = (b * L + t) * d;
    const float* Bt = g.B + ((b * L + t) * groups + group) * n;
    const float* Ct = g.C + ((b * L + t) * groups + group) * n;
    if (t + kPrefetchRows < L) {
      const int64_t ahead = row + kPrefetchRows * d + c0;
      prefetchRow(g.u + ahead, width);
      prefetchRow(g.delta + ahead, width);
      if (g.z) prefetchRow(g.z + ahead, width);
    }
    for (int64_t v = 0; v < vectors; ++v) {
      const int64_t c = c0 + v * kLanes;
      const int lanes = static_cast<int>(std::min<int64_t>(kLanes, c1 - c));
      const bool full = lanes == kLanes;
      auto load = [&](const float* p) { return full ? vload(p) : vloadPartial(p, lanes); };

      Vec dt = load(g.delta + row + c);
      if (g.deltaBias) dt += load(g.deltaBias + c);
      if (g.deltaSoftplus) dt = vsoftplus(dt);
      const Vec x = load(g.u + row + c);
      const Vec dtx = dt * x;

      float* hv = h + v * n * kLanes;
      const float* av = aT + v * n * kLanes;
      Vec out = vzero();
#pragma GCC unroll 16
      for (int64_t s = 0; s < n; ++s) {
        const Vec decay = vexp(dt * vload(av + s * kLanes));
        const Vec hs = vfma(decay, vload(hv + s * kLanes), dtx * vset(Bt[s]));
        vstore(hv + s * kLanes, hs);
        out = vfma(hs, vset(Ct[s]), out);
      }
      if (g.D) out = vfma(load(g.D + c), x, out);
      if (g.z) out = out * vsilu(load(g.z + row + c));
      if (full) vstore(g.y + row + c, out);
      else vstorePartial(g.y + row + c, out, lanes);
    }
  }

  if (g.lastState) {
    float* state1 = g.lastState + (b * d + c0) * n;
    for (int64_t c = 0; c < width; ++c) {
      const int64_t base = (c / kLanes) * n * kLanes + c % kLanes;
      for (int64_t s = 0; s < n; ++s) state1[c * n + s] = h[base + s * kLanes];
    }
  }
}

}  // namespace

void selectiveScan(const SelectiveScanArgs& g) {
  const Layout p = planChunks(g);
  const int64_t scratchFloats = (p.chunk + kLanes - 1) / kLanes * kLanes * g.n;
  // Below ~32K state updates in all, waking threads costs more than the scan (decode steps).
  const int64_t updatesPerTask = g.L * p.chunk * g.n;
  const int64_t grain = std::max<int64_t>(1, (int64_t(1) << 15) / std::max<int64_t>(1, updatesPerTask));
  parallelFor(p.tasks, grain, [&](int64_t task0, int64_t task1) {
    ScratchScope scratch;
    float* aT = scratch.allocate<float>(static_cast<size_t>(scratchFloats));
    float* h = scratch.allocate<float>(static_cast<size_t>(scratchFloats));
    for (int64_t task = task0; task < task1; ++task) {
      const int64_t chunkIndex = task % p.chunksPerGroup;
      const int64_t group = task / p.chunksPerGroup % g.groups;
      const int64_t b = task / (p.chunksPerGroup * g.groups);
      const int64_t c0 = group * p.channelsPerGroup + chunkIndex * p.chunk;
      const int64_t c1 = std::min(c0 + p.chunk, (group + 1) * p.channelsPerGroup);
      if (g.n == 16) scanChunk<16>(g, b, group, c0, c1, aT, h);
      else scanChunk<0>(g, b, group, c0, c1, aT, h);
    }
  });
}

}  // namespace cr::cpu::CR_ISA
