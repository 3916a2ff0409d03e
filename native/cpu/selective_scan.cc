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
// Short sequences (the decode step: L = 1 with a state) take a second path,
// with lanes across the n state entries of one channel instead: that is the
// layout of A and of the state in memory, so the per-call cost is the update
// itself, O(d·n), with no transposition of A and the state (which costs more
// than ten tokens of the channel-lane path), at the price of one horizontal sum
// per channel per token.
#include <algorithm>
#include <cstdint>

#include "../core/arena.h"
#include "../core/threadpool.h"
#include "kernels.h"
#include "simd.h"

namespace cr::cpu::CR_ISA {

namespace {

// Floats of state per chunk (and as many of A): 2 · 2048 · 4 B = 16 KB, half of a
// 32 KB L1 data cache, leaving the rest to the streamed rows and the stack.
constexpr int64_t kChunkStateFloats = 2048;
// Rows ahead to prefetch. One row of a chunk costs n·(chunk/kLanes) exponentials,
// hundreds of ns, so two rows ahead covers the memory latency.
constexpr int64_t kPrefetchRows = 2;
constexpr float kLog2e = 1.44269504088896341f;

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

// 2^x, for the decay factors exp(Δ·A) = 2^(Δ·A·log2 e) with A stored pre-scaled.
// One exponential per state entry per token is most of the scan's arithmetic, so
// this is leaner than vexp (no argument split, one scaling): 2^x = 2^k · 2^r with
// k = round(x), r in [−½, ½], and a degree-5 fit of 2^r to within 1.9e-7
// relative in float32 whose constant term is exactly 1, so decays near 1 (small
// Δ), which the state multiplies by many times in a row, are not biased.
// Below 2^−127 it returns 0 and above 2^127 it saturates (vexp would give inf,
// but a state growing that fast has overflowed the reference long before).
static inline Vec exp2Decay(Vec x) {
  x = vmax(vset(-127.0f), vmin(vset(127.0f), x));  // this operand order lets NaN through
  const Vec k = vround(x);
  const Vec r = x - k;
  Vec p = vset(1.326472731307149e-3f);
  p = vfma(p, r, vset(9.671512991189957e-3f));
  p = vfma(p, r, vset(5.550733581185341e-2f));
  p = vfma(p, r, vset(2.402224242687225e-1f));
  p = vfma(p, r, vset(6.931470036506653e-1f));
  p = vfma(p, r, vset(1.0f));
  return p * vpow2i(k);  // 2^−127 comes out as exactly 0 (a zero exponent field)
}

static inline void prefetchRow(const float* row, int64_t count) {
  for (int64_t i = 0; i < count; i += 16) __builtin_prefetch(row + i);
  __builtin_prefetch(row + count - 1);
}

// Up to this many tokens, a call takes the state-lane path (see the top). Its
// horizontal sums make each token dearer than on the channel-lane path, but the
// transposes it saves (A and the state, in and out, one scalar move per entry)
// cost more than ten tokens of the channel-lane scan. It needs n to fill a vector.
constexpr int64_t kShortSequence = 8;

// L1 scratch of one chunk, for `paddedWidth` = (channels rounded up to kLanes) lanes.
struct ChunkScratch {
  float* aT;    // A · log2 e, [vector][s][lane] (channel-lane path)
  float* h;     // the state: [vector][s][lane], or [channel][s] on the state-lane path
  float* dt;    // this token's Δ, [paddedWidth]
  float* dtx;   // Δ·u
  float* skip;  // D·u (0 without D)
  float* gate;  // silu(z)
  float* ySum;  // Σ_s C[s]·h[s] per channel (state-lane path)
};

// The per-channel part of token row `row` for channels [c0, c1): Δ, Δ·u, D·u and
// silu(z), vectorised across channels. Done for the whole chunk before its state
// loops: softplus and silu are long dependency chains, and started at the head
// of each vector's state loop they would stall it; here they overlap.
static void prepareToken(const SelectiveScanArgs& g, int64_t row, int64_t c0, int64_t c1, const ChunkScratch& w) {
  for (int64_t c = c0, i = 0; c < c1; c += kLanes, i += kLanes) {
    const int lanes = static_cast<int>(std::min<int64_t>(kLanes, c1 - c));
    const bool full = lanes == kLanes;
    auto load = [&](const float* p) { return full ? vload(p) : vloadPartial(p, lanes); };
    Vec dt = load(g.delta + row + c);
    if (g.deltaBias) dt += load(g.deltaBias + c);
    if (g.deltaSoftplus) dt = vsoftplus(dt);
    const Vec x = load(g.u + row + c);
    vstore(w.dt + i, dt);
    vstore(w.dtx + i, dt * x);
    vstore(w.skip + i, g.D ? load(g.D + c) * x : vzero());
    if (g.z) vstore(w.gate + i, vsilu(load(g.z + row + c)));
  }
}

// Channel-lane path: runs channels [c0, c1) of `group` in batch row b through the
// sequence. kN is n when fixed at compile time (so the state loop unrolls), 0 for any n.
template <int kN>
static void scanChunk(const SelectiveScanArgs& g, int64_t b, int64_t group, int64_t c0, int64_t c1,
                      const ChunkScratch& w) {
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
      w.aT[base + s * kLanes] = c < width ? g.A[(c0 + c) * n + s] * kLog2e : 0.0f;
      w.h[base + s * kLanes] = c < width && state0 ? state0[c * n + s] : 0.0f;
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
    prepareToken(g, row, c0, c1, w);
    for (int64_t v = 0; v < vectors; ++v) {
      const Vec dt = vload(w.dt + v * kLanes);
      const Vec dtx = vload(w.dtx + v * kLanes);
      float* hv = w.h + v * n * kLanes;
      const float* av = w.aT + v * n * kLanes;
      Vec out = vload(w.skip + v * kLanes);
#pragma GCC unroll 16
      for (int64_t s = 0; s < n; ++s) {
        const Vec decay = exp2Decay(dt * vload(av + s * kLanes));
        const Vec hs = vfma(decay, vload(hv + s * kLanes), dtx * vset(Bt[s]));
        vstore(hv + s * kLanes, hs);
        out = vfma(hs, vset(Ct[s]), out);
      }
      if (g.z) out = out * vload(w.gate + v * kLanes);
      const int64_t c = c0 + v * kLanes;
      const int lanes = static_cast<int>(std::min<int64_t>(kLanes, c1 - c));
      if (lanes == kLanes) vstore(g.y + row + c, out);
      else vstorePartial(g.y + row + c, out, lanes);
    }
  }

  if (g.lastState) {
    float* state1 = g.lastState + (b * d + c0) * n;
    for (int64_t c = 0; c < width; ++c) {
      const int64_t base = (c / kLanes) * n * kLanes + c % kLanes;
      for (int64_t s = 0; s < n; ++s) state1[c * n + s] = w.h[base + s * kLanes];
    }
  }
}

// State-lane path for short sequences: the same chunks, but each channel's n
// state entries are the lanes, read from initialState and written to lastState
// in place (the scratch state carries them between tokens).
static void scanChunkShort(const SelectiveScanArgs& g, int64_t b, int64_t group, int64_t c0, int64_t c1,
                           const ChunkScratch& w) {
  const int64_t n = g.n, L = g.L, d = g.d;
  const int64_t width = c1 - c0;
  const float* hIn = g.initialState ? g.initialState + (b * d + c0) * n : nullptr;  // null: zeros
  float* const state1 = g.lastState ? g.lastState + (b * d + c0) * n : nullptr;
  for (int64_t t = 0; t < L; ++t) {
    const int64_t row = (b * L + t) * d;
    const float* Bt = g.B + ((b * L + t) * g.groups + group) * n;
    const float* Ct = g.C + ((b * L + t) * g.groups + group) * n;
    float* hOut = t == L - 1 && state1 ? state1 : w.h;
    prepareToken(g, row, c0, c1, w);
    for (int64_t c = 0; c < width; ++c) {
      const Vec dt = vset(w.dt[c]);
      const Vec dtx = vset(w.dtx[c]);
      Vec sum = vzero();
      for (int64_t s = 0; s < n; s += kLanes) {
        const int lanes = static_cast<int>(std::min<int64_t>(kLanes, n - s));
        const bool full = lanes == kLanes;  // masked stores are slow on some CPUs: only for a tail
        auto load = [&](const float* p) { return full ? vload(p) : vloadPartial(p, lanes); };
        const int64_t at = c * n + s;
        const Vec a = load(g.A + c0 * n + at) * vset(kLog2e);  // rounded as on the other path
        const Vec hPrev = hIn ? load(hIn + at) : vzero();
        const Vec hs = vfma(exp2Decay(dt * a), hPrev, dtx * load(Bt + s));
        if (full) vstore(hOut + at, hs);
        else vstorePartial(hOut + at, hs, lanes);
        sum = vfma(hs, load(Ct + s), sum);
      }
      w.ySum[c] = vreduceAdd(sum);
    }
    hIn = hOut;
    for (int64_t c = c0, i = 0; c < c1; c += kLanes, i += kLanes) {
      const int lanes = static_cast<int>(std::min<int64_t>(kLanes, c1 - c));
      Vec out = vloadPartial(w.ySum + i, lanes) + vload(w.skip + i);
      if (g.z) out = out * vload(w.gate + i);
      vstorePartial(g.y + row + c, out, lanes);
    }
  }
}

}  // namespace

void selectiveScan(const SelectiveScanArgs& g) {
  const Layout p = planChunks(g);
  const bool shortPath = g.L <= kShortSequence && g.n >= kLanes;
  // Below ~32K state updates in all, waking threads costs more than the scan (decode steps).
  const int64_t updatesPerTask = g.L * p.chunk * g.n;
  const int64_t grain = std::max<int64_t>(1, (int64_t(1) << 15) / std::max<int64_t>(1, updatesPerTask));
  parallelFor(p.tasks, grain, [&](int64_t task0, int64_t task1) {
    ScratchScope scratch;
    const size_t paddedWidth = static_cast<size_t>((p.chunk + kLanes - 1) / kLanes * kLanes);
    const size_t stateFloats = paddedWidth * static_cast<size_t>(g.n);
    ChunkScratch w;
    w.aT = shortPath ? nullptr : scratch.allocate<float>(stateFloats);
    w.h = scratch.allocate<float>(stateFloats);
    w.dt = scratch.allocate<float>(paddedWidth);
    w.dtx = scratch.allocate<float>(paddedWidth);
    w.skip = scratch.allocate<float>(paddedWidth);
    w.gate = scratch.allocate<float>(paddedWidth);
    w.ySum = scratch.allocate<float>(paddedWidth);
    for (int64_t task = task0; task < task1; ++task) {
      const int64_t chunkIndex = task % p.chunksPerGroup;
      const int64_t group = task / p.chunksPerGroup % g.groups;
      const int64_t b = task / (p.chunksPerGroup * g.groups);
      const int64_t c0 = group * p.channelsPerGroup + chunkIndex * p.chunk;
      const int64_t c1 = std::min(c0 + p.chunk, (group + 1) * p.channelsPerGroup);
      if (shortPath) scanChunkShort(g, b, group, c0, c1, w);
      else if (g.n == 16) scanChunk<16>(g, b, group, c0, c1, w);
      else scanChunk<0>(g, b, group, c0, c1, w);
    }
  });
}

}  // namespace cr::cpu::CR_ISA
