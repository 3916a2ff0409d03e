// Softmax attention on the GPU, FlashAttention-2 style, the math of native/cpu/attention.cc:
//   o[b,t,h] = Σ_s softmax_s(cap(scale · q[b,t,h]·k[b,s,g])) · v[b,s,g],   g = h / (H / Hkv)
// over the keys query t sees: with kvLen = kvLengths[b] (or Tk), query t sits at position
// p = kvLen − Tq + t (bottom-right alignment); causal: s ≤ p; window w: s > p − w; always s < kvLen.
// A query that sees no key gets zeros. cap(x) = softcap·tanh(x/softcap) when softcap > 0.
//
// A block handles kRows consecutive query rows of one (b, h), one warp per row; the lanes split
// the head dimension (q and the output accumulator in registers). Key/value tiles of kTile keys
// are staged in shared memory once per block and read by all its warps; each warp keeps an
// online softmax (running max m, running sum l, unnormalised o), so the [Tq, Tk] score matrix
// never exists. Decoding (Tq ≤ 4, long Tk) has too few rows to fill the GPU: the key range is
// split over blocks, each writes its partial (m, l, o) to scratch, and a second kernel merges
// them (flash-decoding).
#include <cfloat>
#include <climits>

#include "check.h"
#include "kernels.cuh"

namespace cr::cuda {
namespace {

constexpr int kLanes = 32;
constexpr int kRows = 4;                // query rows (warps) per block
constexpr int kTile = 16;               // keys per shared-memory tile
constexpr int kMaxD = 256;
constexpr int kPer = kMaxD / kLanes;    // head-dim elements per lane

__global__ void attentionKernel(cpu::AttentionArgs a, int splits, float* pm, float* pl, float* po) {
  __shared__ float ks[kTile][kMaxD];
  __shared__ float vs[kTile][kMaxD];
  __shared__ long long rowLo[kRows], rowHi[kRows];
  const int split = static_cast<int>(blockIdx.x) % splits;
  const int64_t qBlock = blockIdx.x / splits;
  const int64_t h = blockIdx.y;
  const int64_t b = blockIdx.z;
  const int warp = static_cast<int>(threadIdx.x) / kLanes;
  const int lane = static_cast<int>(threadIdx.x) % kLanes;
  const int64_t D = a.D, H = a.heads, Hkv = a.kvHeads, Tq = a.Tq, Tk = a.Tk;
  const int64_t g = h / (H / Hkv);
  const int64_t kvLen = a.kvLengths ? a.kvLengths[b] : Tk;
  const int64_t t = qBlock * kRows + warp;
  const bool active = t < Tq;

  // This warp's visible keys [lo, hi] (empty when hi < lo).
  long long lo = 0, hi = -1;
  if (active) {
    const long long pos = kvLen - Tq + t;
    hi = a.causal ? (pos < kvLen - 1 ? pos : kvLen - 1) : kvLen - 1;
    lo = a.window > 0 ? (pos - a.window + 1 > 0 ? pos - a.window + 1 : 0) : 0;
  }
  if (lane == 0) {
    rowLo[warp] = active && hi >= lo ? lo : LLONG_MAX;
    rowHi[warp] = active && hi >= lo ? hi : -1;
  }
  __syncthreads();
  long long blockLo = LLONG_MAX, blockHi = -1;
  for (int w = 0; w < kRows; ++w) {
    blockLo = rowLo[w] < blockLo ? rowLo[w] : blockLo;
    blockHi = rowHi[w] > blockHi ? rowHi[w] : blockHi;
  }
  // This split's share of the block's key range.
  long long from = 0, to = -1;
  if (blockHi >= blockLo) {
    const long long span = blockHi - blockLo + 1;
    const long long per = (span + splits - 1) / splits;
    from = blockLo + split * per;
    to = from + per - 1 < blockHi ? from + per - 1 : blockHi;
  }

  float q[kPer];
  float o[kPer];
#pragma unroll
  for (int i = 0; i < kPer; ++i) {
    const int64_t d = lane + static_cast<int64_t>(i) * kLanes;
    q[i] = active && d < D ? a.q[((b * Tq + t) * H + h) * D + d] : 0.0f;
    o[i] = 0.0f;
  }
  float m = -FLT_MAX;
  float l = 0.0f;
  for (long long k0 = from; k0 <= to; k0 += kTile) {
    __syncthreads();  // the previous tile is no longer read
    for (int64_t idx = threadIdx.x; idx < static_cast<int64_t>(kTile) * D; idx += blockDim.x) {
      const int64_t kk = idx / D;
      const int64_t d = idx % D;
      const long long key = k0 + kk;
      if (key <= to) {
        const int64_t at = ((b * Tk + key) * Hkv + g) * D + d;
        ks[kk][d] = a.k[at];
        vs[kk][d] = a.v[at];
      }
    }
    __syncthreads();
    if (!active) continue;
    for (int kk = 0; kk < kTile; ++kk) {
      const long long key = k0 + kk;
      if (key > to) break;
      if (key < lo || key > hi) continue;  // uniform across the warp
      float s = 0.0f;
#pragma unroll
      for (int i = 0; i < kPer; ++i) {
        const int64_t d = lane + static_cast<int64_t>(i) * kLanes;
        if (d < D) s = fmaf(q[i], ks[kk][d], s);
      }
#pragma unroll
      for (int offset = kLanes / 2; offset > 0; offset /= 2) s += __shfl_xor_sync(0xffffffffu, s, offset);
      s *= a.scale;
      if (a.softcap > 0.0f) s = a.softcap * tanhf(s / a.softcap);
      const float mNew = s > m ? s : m;
      const float correction = expf(m - mNew);  // 0 on the first key (m = −FLT_MAX)
      const float p = expf(s - mNew);
      l = l * correction + p;
#pragma unroll
      for (int i = 0; i < kPer; ++i) {
        const int64_t d = lane + static_cast<int64_t>(i) * kLanes;
        if (d < D) o[i] = fmaf(p, vs[kk][d], o[i] * correction);
      }
      m = mNew;
    }
  }
  if (!active) return;
  if (splits == 1) {
    const float inv = l > 0.0f ? 1.0f / l : 0.0f;
#pragma unroll
    for (int i = 0; i < kPer; ++i) {
      const int64_t d = lane + static_cast<int64_t>(i) * kLanes;
      if (d < D) a.o[((b * Tq + t) * H + h) * D + d] = o[i] * inv;
    }
  } else {
    const int64_t row = ((static_cast<int64_t>(split) * a.batch + b) * Tq + t) * H + h;
    if (lane == 0) {
      pm[row] = l > 0.0f ? m : -FLT_MAX;
      pl[row] = l;
    }
#pragma unroll
    for (int i = 0; i < kPer; ++i) {
      const int64_t d = lane + static_cast<int64_t>(i) * kLanes;
      if (d < D) po[row * D + d] = o[i];
    }
  }
}

// Merges the splits' partial softmax states of one (b, t, h) row: thread d owns output channel d.
__global__ void mergeKernel(cpu::AttentionArgs a, int splits, const float* pm, const float* pl, const float* po) {
  const int64_t row = blockIdx.x;  // (b·Tq + t)·H + h
  const int64_t rows = a.batch * a.Tq * a.heads;
  const int64_t d = threadIdx.x;
  if (d >= a.D) return;
  float mMax = -FLT_MAX;
  for (int s = 0; s < splits; ++s) mMax = pm[s * rows + row] > mMax ? pm[s * rows + row] : mMax;
  float l = 0.0f, acc = 0.0f;
  for (int s = 0; s < splits; ++s) {
    const float ls = pl[s * rows + row];
    if (ls <= 0.0f) continue;
    const float w = expf(pm[s * rows + row] - mMax);
    l += ls * w;
    acc += po[(s * rows + row) * a.D + d] * w;
  }
  a.o[row * a.D + d] = l > 0.0f ? acc / l : 0.0f;
}

}  // namespace

void attention(const cpu::AttentionArgs& a, cudaStream_t stream) {
  if (a.D > kMaxD) throwRange("attention: the CUDA kernel takes head dims up to ", kMaxD, ", got ", a.D);
  if (a.heads > 65535 || a.batch > 65535) throwRange("attention: the CUDA kernel takes at most 65535 heads and batch rows");
  if (a.batch == 0 || a.Tq == 0 || a.heads == 0) return;
  const int64_t qBlocks = (a.Tq + kRows - 1) / kRows;
  // Decoding: a handful of query rows per (b, h); split the keys so the GPU has ≥ a few hundred blocks.
  int splits = 1;
  if (a.Tq <= kRows && a.Tk >= 1024) {
    const int64_t wanted = (a.Tk + 511) / 512;
    splits = static_cast<int>(wanted < 64 ? wanted : 64);
  }
  float* pm = nullptr;
  float* pl = nullptr;
  float* po = nullptr;
  if (splits > 1) {
    const int64_t rows = static_cast<int64_t>(splits) * a.batch * a.Tq * a.heads;
    pm = static_cast<float*>(scratch(static_cast<size_t>(rows) * sizeof(float), stream));
    pl = static_cast<float*>(scratch(static_cast<size_t>(rows) * sizeof(float), stream));
    po = static_cast<float*>(scratch(static_cast<size_t>(rows * a.D) * sizeof(float), stream));
  }
  const dim3 grid(static_cast<unsigned>(qBlocks * splits), static_cast<unsigned>(a.heads), static_cast<unsigned>(a.batch));
  attentionKernel<<<grid, kRows * kLanes, 0, stream>>>(a, splits, pm, pl, po);
  if (splits > 1) {
    const int threads = static_cast<int>((a.D + kLanes - 1) / kLanes * kLanes);
    mergeKernel<<<static_cast<unsigned>(a.batch * a.Tq * a.heads), threads, 0, stream>>>(a, splits, pm, pl, po);
  }
}

}  // namespace cr::cuda
