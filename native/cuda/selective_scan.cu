// The fused Mamba-1 selective scan on the GPU, the math of native/cpu/selective_scan.cc
// (selective_scan_ref), token-major: per (batch b, channel c) and state s < n,
//   Δ_t = softplus(delta[b,t,c] + deltaBias[c])  (without deltaSoftplus: the sum as is)
//   h_t[s] = exp(Δ_t·A[c,s])·h_{t−1}[s] + Δ_t·u[b,t,c]·B[b,t,g,s],   g = c / (d / groups)
//   y[b,t,c] = Σ_s C[b,t,g,s]·h_t[s] + D[c]·u[b,t,c],  times silu(z[b,t,c]) when z is given;
//   h_{−1} = initialState[b,c,:] (zeros without one), lastState[b,c,:] = h_{L−1}.
//
// Parallel decomposition. A channel's n states are spread over P lanes of one warp
// (P = the power of two ≥ n, at most 32; lane j of the channel holds states j, j + P, …,
// S = ⌈n / P⌉ of them, in registers for the whole sequence), so a warp runs 32 / P channels
// side by side (two at Mamba's n = 16) and no lane idles. A step's y is a P-lane shuffle
// reduction (xor offsets < P stay inside the channel's lanes). A block of kWarps warps owns
// CB = kWarps · 32 / P consecutive channels of one batch row and walks the sequence once, in
// chunks of T steps: the block first stages the chunk's per-channel values (Δ after bias and
// softplus, u, silu(z)) and the B and C rows of the groups its channels read into shared
// memory — all loads of a chunk in flight at once, coalesced along the channels / states —
// then runs the T recurrence steps out of shared memory, collects y in shared memory and
// writes it back coalesced. So the serial loop never waits on global memory, and Δ, silu(z)
// are computed once per (t, c) instead of once per lane. Parallelism: batch · d · P threads.
#include <cstdint>

#include "check.h"
#include "kernels.cuh"

namespace cr::cuda {
namespace {

constexpr int kLanes = 32;
constexpr int kWarps = 4;
constexpr int kThreads = kWarps * kLanes;
constexpr int64_t kMaxStates = 8 * kLanes;  // S ≤ 8 states per lane
constexpr int64_t kMaxChunk = 64;           // steps staged at once
constexpr int64_t kSmemFloats = 8192;       // 32 KB of shared memory per block at most

__device__ inline float softplusf(float x) { return fmaxf(x, 0.0f) + log1pf(expf(-fabsf(x))); }

struct Plan {
  int lanesPerChannel;  // P
  int channelsPerBlock; // CB
  int groupSpan;        // the most groups a block's channels read (GS)
  int chunk;            // T
  int64_t blocksPerRow; // ⌈d / CB⌉
};

// S: states per lane (a power of two ≥ ⌈n / P⌉).
template <int S>
__global__ void __launch_bounds__(kThreads) scanKernel(cpu::SelectiveScanArgs a, Plan p) {
  extern __shared__ float smem[];
  const int P = p.lanesPerChannel;
  const int CB = p.channelsPerBlock;
  const int T = p.chunk;
  const int64_t n = a.n, d = a.d, L = a.L;
  const int64_t perGroup = d / a.groups;
  float* sDt = smem;                     // [T][CB]
  float* sU = sDt + T * CB;              // [T][CB]
  float* sGate = sU + T * CB;            // [T][CB]
  float* sY = sGate + T * CB;            // [T][CB]
  float* sB = sY + T * CB;               // [T][GS · n]
  float* sC = sB + static_cast<int64_t>(T) * p.groupSpan * n;

  const int64_t b = blockIdx.x / p.blocksPerRow;
  const int64_t c0 = (blockIdx.x % p.blocksPerRow) * CB;
  const int64_t cEnd = c0 + CB < d ? c0 + CB : d;
  const int64_t g0 = c0 / perGroup;
  const int64_t groupCount = (cEnd - 1) / perGroup - g0 + 1;  // ≤ GS
  const int64_t rowFloats = groupCount * n;                    // staged floats of B (or C) per step

  const int tid = static_cast<int>(threadIdx.x);
  const int lane = tid % kLanes;
  const int cc = (tid / kLanes) * (kLanes / P) + lane / P;  // the channel within the block
  const int j = lane % P;                                     // the lane within the channel
  const int64_t c = c0 + cc;
  const bool active = c < d;
  const int64_t gi = active ? c / perGroup - g0 : 0;

  float A[S], h[S];
#pragma unroll
  for (int i = 0; i < S; ++i) {
    const int64_t s = j + static_cast<int64_t>(i) * P;
    const bool mine = active && s < n;
    A[i] = mine ? a.A[c * n + s] : 0.0f;
    h[i] = mine && a.initialState ? a.initialState[(b * d + c) * n + s] : 0.0f;
  }
  const float skip = active && a.D ? a.D[c] : 0.0f;

  for (int64_t t0 = 0; t0 < L; t0 += T) {
    const int Tc = static_cast<int>(L - t0 < T ? L - t0 : T);
    // Stage the chunk (the previous chunk's compute is done: the sync after it).
    for (int idx = tid; idx < Tc * CB; idx += kThreads) {
      const int tt = idx / CB, k = idx % CB;
      const int64_t ch = c0 + k;
      float dt = 0.0f, u = 0.0f, gate = 1.0f;
      if (ch < d) {
        const int64_t at = (b * L + t0 + tt) * d + ch;
        u = a.u[at];
        dt = a.delta[at] + (a.deltaBias ? a.deltaBias[ch] : 0.0f);
        if (a.deltaSoftplus) dt = softplusf(dt);
        if (a.z) {
          const float z = a.z[at];
          gate = z / (1.0f + expf(-z));
        }
      }
      sDt[idx] = dt;
      sU[idx] = u;
      sGate[idx] = gate;
    }
    for (int64_t idx = tid; idx < Tc * rowFloats; idx += kThreads) {
      const int64_t tt = idx / rowFloats, r = idx % rowFloats;
      // Rows of B and C are [groups][n] per token: the block's groups are contiguous.
      const int64_t at = ((b * L + t0 + tt) * a.groups + g0) * n + r;
      sB[tt * rowFloats + r] = a.B[at];
      sC[tt * rowFloats + r] = a.C[at];
    }
    __syncthreads();
    for (int tt = 0; tt < Tc; ++tt) {
      const float dt = sDt[tt * CB + cc];
      const float u = sU[tt * CB + cc];
      const float dtu = dt * u;
      const float* Bt = sB + tt * rowFloats + gi * n;
      const float* Ct = sC + tt * rowFloats + gi * n;
      float acc = 0.0f;
#pragma unroll
      for (int i = 0; i < S; ++i) {
        const int64_t s = j + static_cast<int64_t>(i) * P;
        if (active && s < n) {
          h[i] = fmaf(expf(dt * A[i]), h[i], dtu * Bt[s]);
          acc = fmaf(Ct[s], h[i], acc);
        }
      }
      for (int offset = P / 2; offset > 0; offset /= 2) acc += __shfl_xor_sync(0xffffffffu, acc, offset);
      if (j == 0) sY[tt * CB + cc] = fmaf(skip, u, acc) * sGate[tt * CB + cc];
    }
    __syncthreads();
    for (int idx = tid; idx < Tc * CB; idx += kThreads) {
      const int tt = idx / CB, k = idx % CB;
      const int64_t ch = c0 + k;
      if (ch < d) a.y[(b * L + t0 + tt) * d + ch] = sY[idx];
    }
    // The next chunk's staging does not touch sY, and its compute (which writes sY)
    // starts after the next __syncthreads, by which time this write-out is done.
  }
  if (a.lastState && active) {
#pragma unroll
    for (int i = 0; i < S; ++i) {
      const int64_t s = j + static_cast<int64_t>(i) * P;
      if (s < n) a.lastState[(b * d + c) * n + s] = h[i];
    }
  }
}

}  // namespace

void selectiveScan(const cpu::SelectiveScanArgs& a, cudaStream_t stream) {
  if (a.n > kMaxStates) {
    throwRange("selectiveScan: the CUDA kernel keeps up to ", kMaxStates, " states per channel in registers, got n = ", a.n);
  }
  if (a.groups < 1 || a.d % a.groups != 0) throwRange("selectiveScan: groups (", a.groups, ") must divide d (", a.d, ")");
  if (a.batch == 0 || a.d == 0) return;
  Plan p;
  int P = 1;
  while (P < a.n && P < kLanes) P *= 2;
  const int64_t perLane = (a.n + P - 1) / P;
  int S = 1;
  while (S < perLane) S *= 2;
  p.lanesPerChannel = P;
  p.channelsPerBlock = kWarps * (kLanes / P);
  const int64_t perGroup = a.d / a.groups;
  const int64_t span = (p.channelsPerBlock - 1 + perGroup - 1) / perGroup + 1;
  p.groupSpan = static_cast<int>(span < a.groups ? span : a.groups);
  const int64_t perStep = 4 * static_cast<int64_t>(p.channelsPerBlock) + 2 * p.groupSpan * a.n;
  int64_t chunk = kSmemFloats / perStep;
  chunk = chunk < 1 ? 1 : chunk > kMaxChunk ? kMaxChunk : chunk;
  p.chunk = static_cast<int>(chunk);
  p.blocksPerRow = (a.d + p.channelsPerBlock - 1) / p.channelsPerBlock;
  const int64_t blocks = a.batch * p.blocksPerRow;
  if (blocks > 0x7fffffff) throwRange("selectiveScan: batch · d is too large for one CUDA launch");
  const size_t smem = static_cast<size_t>(chunk * perStep) * sizeof(float);  // ≤ 48 KB (n ≤ 256: perStep ≤ 2064)
  const unsigned grid = static_cast<unsigned>(blocks);
  switch (S) {
    case 1: scanKernel<1><<<grid, kThreads, smem, stream>>>(a, p); break;
    case 2: scanKernel<2><<<grid, kThreads, smem, stream>>>(a, p); break;
    case 4: scanKernel<4><<<grid, kThreads, smem, stream>>>(a, p); break;
    default: scanKernel<8><<<grid, kThreads, smem, stream>>>(a, p); break;
  }
}

}  // namespace cr::cuda
