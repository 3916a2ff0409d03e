// The diagonal linear recurrence on the GPU, the math of native/cpu/diagonal_scan.cc:
//   h[b,t,c] = a[b,t,c] ⊙ h[b,t−1,c] + b[b,t,c],  h[b,−1,c] = initialState[b,c] (zeros without one),
//   lastState[b,c] = h[b,L−1,c]; real, or complex with (re, im) pairs and ⊙ complex multiplication.
// Without an initial state h_0 = b_0 exactly, as the CPU op copies it.
//
// Parallel decomposition. A thread owns one channel of one batch row and walks a run of time
// steps; a warp covers 32 consecutive channels, so every step's loads and stores are coalesced
// (complex channels as float2 when the tensors are 8-byte aligned). Loads of kUnroll steps are
// issued before the recurrence consumes them, so each thread keeps several in flight.
//
// With enough (batch, channel) sequences to fill the device, each thread scans its whole
// sequence in one pass. Otherwise (b = 1 with a few channels and a long L) time is cut into K
// chunks of T steps too, h_t = a_t h_{t−1} + b_t being an associative scan on the affine maps
// (a, b) with (a2, b2)∘(a1, b1) = (a2·a1, a2·b1 + b2):
//   1. reduce: each chunk k < K − 1, from a zero state, gives its map (Π a, end state);
//   2. carry: one warp per sequence scans those maps over the chunks — lane j composes its own
//      run of ⌈(K − 1)/32⌉ chunks, a shuffle scan over the lanes gives each lane the map of all
//      chunks before its run, applied to the initial state, and the lane walks its run writing
//      the true state entering every chunk;
//   3. rescan: each chunk rescans from its entering state, writing h (the last chunk lastState),
//      so every h_t comes from the same sequential recurrence as a one-pass scan from that state.
// Passes 1 and 3 read a and b (16 bytes per real element) and pass 3 writes h (4): 20 bytes per
// element against the single pass's 12, paid only when the single pass would leave the device idle.
#include <climits>
#include <cstdint>

#include "check.h"
#include "kernels.cuh"
#include "scans.cuh"

namespace cr::cuda {
namespace {

constexpr int kMaxThreads = 128;           // channels per block
constexpr int kUnroll = 8;                 // steps whose loads are issued together
constexpr int64_t kMinChunkSteps = 64;     // shorter chunks cost more in passes 1–2 than they gain
constexpr int64_t kMaxChunks = 32 * 64;    // the carry pass: at most 64 chunks per lane
constexpr unsigned kFull = 0xffffffffu;

// One channel's element: a real float, or a complex number loaded as float2 (aligned) or as
// two floats. `at` counts elements (complex: pairs).
struct Real {
  using T = float;
  static __device__ T zero() { return 0.0f; }
  static __device__ T one() { return 1.0f; }
  static __device__ T load(const float* p, int64_t at) { return p[at]; }
  static __device__ void store(float* p, int64_t at, T v) { p[at] = v; }
  static __device__ T fma(T a, T h, T b) { return fmaf(a, h, b); }
  static __device__ T mul(T x, T y) { return x * y; }
  static __device__ T shflUp(T v, int d) { return __shfl_up_sync(kFull, v, d); }
};

struct ComplexBase {
  using T = float2;
  static __device__ T zero() { return make_float2(0.0f, 0.0f); }
  static __device__ T one() { return make_float2(1.0f, 0.0f); }
  // a·h + b in the CPU op's order (native/cpu/diagonal_scan.cc cfma).
  static __device__ T fma(T a, T h, T b) {
    return make_float2(fmaf(a.x, h.x, fmaf(-a.y, h.y, b.x)), fmaf(a.x, h.y, fmaf(a.y, h.x, b.y)));
  }
  static __device__ T mul(T x, T y) { return make_float2(fmaf(-x.y, y.y, x.x * y.x), fmaf(x.x, y.y, x.y * y.x)); }
  static __device__ T shflUp(T v, int d) { return make_float2(__shfl_up_sync(kFull, v.x, d), __shfl_up_sync(kFull, v.y, d)); }
};

struct Complex : ComplexBase {
  static __device__ T load(const float* p, int64_t at) { return reinterpret_cast<const float2*>(p)[at]; }
  static __device__ void store(float* p, int64_t at, T v) { reinterpret_cast<float2*>(p)[at] = v; }
};

// A view that is not 8-byte aligned (a complex tensor cut from a flat one at an odd offset).
struct ComplexUnaligned : ComplexBase {
  static __device__ T load(const float* p, int64_t at) { return make_float2(p[2 * at], p[2 * at + 1]); }
  static __device__ void store(float* p, int64_t at, T v) {
    p[2 * at] = v.x;
    p[2 * at + 1] = v.y;
  }
};

struct Plan {
  int64_t chunks;  // K
  int64_t steps;   // T: every chunk but the last has T steps
  int64_t tiles;   // ⌈c / blockDim.x⌉
  // Chunk maps and entering states, [batch][K][c] elements each (only when K > 1).
  float* prod;
  float* end;
  float* carry;
};

// Runs steps [t0, t1) of one channel from h (fromZero: from nothing, so h_{t0} = b_{t0}). With
// kReduce it only tracks the state and Π a; otherwise it writes every h_t.
template <class E, bool kReduce>
__device__ void runSteps(const cpu::DiagonalScanArgs& g, int64_t at, int64_t t0, int64_t t1, bool fromZero, typename E::T& h,
                         typename E::T& prod) {
  const int64_t stride = g.channels;  // elements between consecutive steps of a channel
  int64_t t = t0;
  if (fromZero) {
    h = E::load(g.b, at + t * stride);
    if (kReduce) prod = E::load(g.a, at + t * stride);
    else E::store(g.h, at + t * stride, h);
    ++t;
  }
  for (; t + kUnroll <= t1; t += kUnroll) {
    typename E::T av[kUnroll], bv[kUnroll];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      av[u] = E::load(g.a, at + (t + u) * stride);
      bv[u] = E::load(g.b, at + (t + u) * stride);
    }
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      h = E::fma(av[u], h, bv[u]);
      if (kReduce) prod = E::mul(prod, av[u]);
      else E::store(g.h, at + (t + u) * stride, h);
    }
  }
  for (; t < t1; ++t) {
    const typename E::T av = E::load(g.a, at + t * stride);
    h = E::fma(av, h, E::load(g.b, at + t * stride));
    if (kReduce) prod = E::mul(prod, av);
    else E::store(g.h, at + t * stride, h);
  }
}

// Passes 1 (kReduce, chunks 0…K−2) and 3 (every chunk; with K = 1 the whole scan). A block
// takes a tile of channels of one (batch row, chunk); blocks loop over those work items.
template <class E, bool kReduce>
__global__ void chunkKernel(cpu::DiagonalScanArgs g, Plan p) {
  const int64_t c = g.channels;
  const int64_t chunks = kReduce ? p.chunks - 1 : p.chunks;
  const int64_t work = g.batch * chunks * p.tiles;
  for (int64_t w = blockIdx.x; w < work; w += gridDim.x) {
    const int64_t ch = (w % p.tiles) * blockDim.x + threadIdx.x;
    const int64_t k = (w / p.tiles) % chunks;
    const int64_t bi = w / (p.tiles * chunks);
    if (ch >= c) continue;
    const int64_t t0 = k * p.steps;
    const int64_t t1 = t0 + p.steps < g.L ? t0 + p.steps : g.L;
    const int64_t at = bi * g.L * c + ch;      // element (bi, 0, ch)
    const int64_t slot = (bi * p.chunks + k) * c + ch;  // (bi, k, ch) in the chunk tables
    typename E::T h = E::zero(), prod = E::one();
    bool fromZero = true;
    if (!kReduce) {
      if (k > 0) {
        h = E::load(p.carry, slot);
        fromZero = false;
      } else if (g.initialState != nullptr) {
        h = E::load(g.initialState, bi * c + ch);
        fromZero = false;
      }
    }
    runSteps<E, kReduce>(g, at, t0, t1, fromZero, h, prod);
    if (kReduce) {
      E::store(p.prod, slot, prod);
      E::store(p.end, slot, h);
    } else if (k == p.chunks - 1) {
      E::store(g.lastState, bi * c + ch, h);
    }
  }
}

// Pass 2: one warp per (batch row, channel); see the header comment.
template <class E>
__global__ void carryKernel(cpu::DiagonalScanArgs g, Plan p) {
  const int64_t c = g.channels;
  const int lane = static_cast<int>(threadIdx.x % 32);
  const int64_t warpsPerBlock = blockDim.x / 32;
  const int64_t reduced = p.chunks - 1;  // chunks with a map: 0…K−2
  const int64_t per = (reduced + 31) / 32;
  const int64_t k0 = lane * per < reduced ? lane * per : reduced;
  const int64_t k1 = k0 + per < reduced ? k0 + per : reduced;
  // Every lane of a warp takes the same trip count, so the shuffles see the whole warp.
  for (int64_t s = blockIdx.x * warpsPerBlock + threadIdx.x / 32; s < g.batch * c; s += gridDim.x * warpsPerBlock) {
    const int64_t bi = s / c, ch = s % c;
    const int64_t base = bi * p.chunks * c + ch;  // (bi, 0, ch)
    typename E::T M = E::one(), v = E::zero();
#pragma unroll 4
    for (int64_t k = k0; k < k1; ++k) {
      const typename E::T a = E::load(p.prod, base + k * c);
      v = E::fma(a, v, E::load(p.end, base + k * c));
      M = E::mul(a, M);
    }
    for (int d = 1; d < 32; d *= 2) {
      const typename E::T Me = E::shflUp(M, d), ve = E::shflUp(v, d);
      if (lane >= d) {
        v = E::fma(M, ve, v);
        M = E::mul(M, Me);
      }
    }
    typename E::T Mx = E::shflUp(M, 1), vx = E::shflUp(v, 1);
    if (lane == 0) {
      Mx = E::one();
      vx = E::zero();
    }
    typename E::T h = g.initialState != nullptr ? E::fma(Mx, E::load(g.initialState, s), vx) : vx;
#pragma unroll 4
    for (int64_t k = k0; k < k1; ++k) {
      h = E::fma(E::load(p.prod, base + k * c), h, E::load(p.end, base + k * c));
      E::store(p.carry, base + (k + 1) * c, h);
    }
  }
}

int multiprocessors() {
  static const int count = [] {
    int device = 0, sms = 0;
    if (cudaGetDevice(&device) != cudaSuccess || cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device) != cudaSuccess) {
      cudaGetLastError();
      return 108;
    }
    return sms;
  }();
  return count;
}

unsigned gridFor(int64_t work) { return static_cast<unsigned>(work < INT_MAX ? work : INT_MAX); }

template <class E>
void launch(const cpu::DiagonalScanArgs& g, cudaStream_t stream) {
  const int64_t c = g.channels;
  const int threads = static_cast<int>(c >= kMaxThreads ? kMaxThreads : (c + 31) / 32 * 32);
  Plan p{};
  p.chunks = scanChunkCount(g.batch * c, g.L);
  p.steps = (g.L + p.chunks - 1) / p.chunks;
  p.tiles = (c + threads - 1) / threads;
  if (p.chunks > 1) {
    const size_t bytes = static_cast<size_t>(g.batch * p.chunks * c) * sizeof(typename E::T);
    p.prod = static_cast<float*>(scratch(bytes, stream));
    p.end = static_cast<float*>(scratch(bytes, stream));
    p.carry = static_cast<float*>(scratch(bytes, stream));
    chunkKernel<E, true><<<gridFor(g.batch * (p.chunks - 1) * p.tiles), threads, 0, stream>>>(g, p);
    constexpr int kCarryWarps = 4;
    carryKernel<E><<<gridFor((g.batch * c + kCarryWarps - 1) / kCarryWarps), 32 * kCarryWarps, 0, stream>>>(g, p);
  }
  chunkKernel<E, false><<<gridFor(g.batch * p.chunks * p.tiles), threads, 0, stream>>>(g, p);
}

bool aligned8(const void* p) { return reinterpret_cast<uintptr_t>(p) % 8 == 0; }

}  // namespace

int64_t scanChunkCount(int64_t sequences, int64_t L) {
  // Threads the device holds at once (2048 per SM): below a quarter of that, one pass leaves
  // most of the memory system idle and the 20/12 traffic of the chunked scan pays.
  const int64_t resident = 2048 * static_cast<int64_t>(multiprocessors());
  if (sequences * 4 >= resident) return 1;
  int64_t chunks = (resident + sequences - 1) / sequences;
  if (chunks > L / kMinChunkSteps) chunks = L / kMinChunkSteps;
  if (chunks > kMaxChunks) chunks = kMaxChunks;
  if (chunks < 2) return 1;
  const int64_t steps = (L + chunks - 1) / chunks;
  return (L + steps - 1) / steps;
}

void diagonalScan(const cpu::DiagonalScanArgs& g, cudaStream_t stream) {
  if (g.batch == 0 || g.L == 0 || g.channels == 0) return;
  if (!g.complex) return launch<Real>(g, stream);
  const bool vector = aligned8(g.a) && aligned8(g.b) && aligned8(g.h) && aligned8(g.lastState) &&
                      (g.initialState == nullptr || aligned8(g.initialState));
  if (vector) launch<Complex>(g, stream);
  else launch<ComplexUnaligned>(g, stream);
}

}  // namespace cr::cuda
