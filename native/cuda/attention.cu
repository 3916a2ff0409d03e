// Softmax attention on the GPU, FlashAttention-2 style, the math of native/cpu/attention.cc:
//   o[b,t,h] = Σ_s softmax_s(cap(scale·q[b,t,h] · k[b,s,g])) · v[b,s,g],   g = h / (H / Hkv),
// cap(x) = softcap·tanh(x / softcap) when softcap > 0, over the keys query t sees: with
// kvLen = kvLengths[b] (or Tk) query t sits at position p = kvLen − Tq + t (bottom-right
// alignment); always s < kvLen; causal: s ≤ p, and with window w > 0 also s > p − w (the
// window only applies with causal, as on the CPU). A query that sees no key gets zeros.
//
// Parallel decomposition. A block is (query tile of kRows = kWarps·R rows, head h, batch b)
// (× a key split, below); warp w owns R consecutive query rows. Per tile of kKeys = 32 keys the
// block stages K (row stride padded so 128-bit reads are bank-conflict free) and V into shared
// memory, then each warp
//   * scores: lane j takes key j of the tile and computes its R scores s[r] = q_r·k_j, reading
//     k_j as float4 (its own row) and the warp's pre-scaled q rows as float4 broadcasts, so every
//     K element read feeds R FMAs;
//   * softmax: per row the tile max is one warp reduction; the running max m, the rescale
//     exp(m_old − m_new) and p = exp(s − m_new) are per lane; each lane keeps its own partial
//     row sum l, reduced over the warp once at the end (the rescale factor is warp-uniform);
//   * P·V: the R × 32 probabilities go through shared memory (one float4 broadcast read per
//     4 keys and row); lane j owns the head dims j, j + 32, … of every row's accumulator o,
//     kept unnormalised in registers (R · ⌈D/32⌉ floats).
// So the [Tq, Tk] score matrix never exists. Only key tiles that some row of the block can see
// are visited; keys outside a row's range score −∞ (exp gives 0; a row whose max is still −∞
// contributes nothing).
// Decoding (Tq ≤ 4 with Tk ≥ 1024) has too few rows to fill the GPU: the block's key range is cut
// into `splits` whole-tile ranges on separate blocks, each writes its partial (m, l, o) to
// scratch, and mergeKernel combines them: o = Σ_i e^{m_i − M} o_i / Σ_i e^{m_i − M} l_i
// (flash-decoding).
#include <cfloat>
#include <climits>
#include <cmath>

#include "check.h"
#include "kernels.cuh"

namespace cr::cuda {
namespace {

constexpr int kLanes = 32;
constexpr int kWarps = 4;
constexpr int kThreads = kWarps * kLanes;
constexpr int kR = 4;                      // query rows per warp
constexpr int kRows = kWarps * kR;         // query rows per block
constexpr int kKeys = kLanes;              // keys per tile (one per lane in the score step)
constexpr int kMaxD = 256;

struct Shape {
  int dPad;      // D rounded up to 4 (q rows in shared memory)
  int kStride;   // K row stride in shared memory: ≥ dPad, ≡ 4 (mod 8) floats → conflict-free float4 reads
  int splits;
};

// The keys row t of batch row b can see: [lo, hi], empty when hi < lo.
__device__ inline void visibleKeys(const cpu::AttentionArgs& a, long long kvLen, long long t, long long* lo,
                                   long long* hi) {
  *lo = 0;
  *hi = kvLen - 1;
  if (a.causal) {
    const long long pos = kvLen - a.Tq + t;
    if (pos < *hi) *hi = pos;
    if (a.window > 0 && pos - a.window + 1 > 0) *lo = pos - a.window + 1;
  }
}

// DPL: head dims per lane in the P·V step (⌈D / 32⌉ rounded up to a power of two).
template <int DPL>
__global__ void __launch_bounds__(kThreads) attentionKernel(cpu::AttentionArgs a, Shape shape, float* pm, float* pl,
                                                            float* po) {
  extern __shared__ float4 smem4[];
  float* smem = reinterpret_cast<float*>(smem4);
  const int D = static_cast<int>(a.D);
  const int dPad = shape.dPad, kStride = shape.kStride, splits = shape.splits;
  float* ks = smem;                                // [kKeys][kStride]
  float* vs = ks + kKeys * kStride;                // [kKeys][D]
  float* qs = vs + kKeys * D + (kKeys * D) % 4;    // [kRows][dPad], 16-byte aligned
  float* ps = qs + kRows * dPad;                   // [kRows][kKeys]

  const int split = static_cast<int>(blockIdx.x % splits);
  const long long t0 = static_cast<long long>(blockIdx.x / splits) * kRows;
  const long long h = blockIdx.y;
  const long long b = blockIdx.z;
  const long long H = a.heads, Tq = a.Tq, Tk = a.Tk, Hkv = a.kvHeads;
  const long long g = h / (H / Hkv);
  const long long kvLen = a.kvLengths ? a.kvLengths[b] : Tk;
  const int tid = static_cast<int>(threadIdx.x);
  const int warp = tid / kLanes;
  const int lane = tid % kLanes;

  // The block's key range: the union of its rows' ranges (each thread works it out alike).
  long long blockLo = LLONG_MAX, blockHi = -1;
  for (int r = 0; r < kRows; ++r) {
    const long long t = t0 + r;
    if (t >= Tq) break;
    long long lo, hi;
    visibleKeys(a, kvLen, t, &lo, &hi);
    if (hi >= lo) {
      blockLo = lo < blockLo ? lo : blockLo;
      blockHi = hi > blockHi ? hi : blockHi;
    }
  }
  // This split's share, in whole tiles.
  long long from = 0, to = -1;
  if (blockHi >= blockLo) {
    const long long tiles = (blockHi - blockLo + kKeys) / kKeys;
    const long long per = (tiles + splits - 1) / splits;
    from = blockLo + split * per * kKeys;
    to = from + per * kKeys - 1 < blockHi ? from + per * kKeys - 1 : blockHi;
  }

  // This warp's rows: pre-scaled q into shared memory (zeros past D and past Tq), key ranges.
  long long rowLo[kR], rowHi[kR];
  bool anyRow = false;
#pragma unroll
  for (int r = 0; r < kR; ++r) {
    const long long t = t0 + warp * kR + r;
    rowLo[r] = 0;
    rowHi[r] = -1;
    if (t < Tq) visibleKeys(a, kvLen, t, &rowLo[r], &rowHi[r]);
    anyRow = anyRow || t < Tq;
    float* dst = qs + (warp * kR + r) * dPad;
    for (int d = lane; d < dPad; d += kLanes) dst[d] = t < Tq && d < D ? a.q[((b * Tq + t) * H + h) * D + d] * a.scale : 0.0f;
  }

  float o[kR][DPL];
  float m[kR], l[kR];
#pragma unroll
  for (int r = 0; r < kR; ++r) {
    m[r] = -INFINITY;
    l[r] = 0.0f;
#pragma unroll
    for (int i = 0; i < DPL; ++i) o[r][i] = 0.0f;
  }
  const float invCap = a.softcap > 0.0f ? 1.0f / a.softcap : 0.0f;

  for (long long k0 = from; k0 <= to; k0 += kKeys) {
    __syncthreads();  // the previous tile is no longer read (and, the first time, q is written)
    const int n = static_cast<int>(to - k0 + 1 < kKeys ? to - k0 + 1 : kKeys);
    for (int idx = tid; idx < kKeys * kStride; idx += kThreads) {
      const int kk = idx / kStride, d = idx % kStride;
      ks[idx] = kk < n && d < D ? a.k[((b * Tk + k0 + kk) * Hkv + g) * D + d] : 0.0f;
    }
    for (int idx = tid; idx < kKeys * D; idx += kThreads) {
      const int kk = idx / D, d = idx % D;
      vs[idx] = kk < n ? a.v[((b * Tk + k0 + kk) * Hkv + g) * D + d] : 0.0f;
    }
    __syncthreads();
    if (!anyRow) continue;  // warp-uniform

    // Scores: lane = key.
    float s[kR];
#pragma unroll
    for (int r = 0; r < kR; ++r) s[r] = 0.0f;
    const float4* kRow = reinterpret_cast<const float4*>(ks + lane * kStride);
    const float4* qRows = reinterpret_cast<const float4*>(qs + warp * kR * dPad);
    for (int d4 = 0; d4 < dPad / 4; ++d4) {
      const float4 kv = kRow[d4];
#pragma unroll
      for (int r = 0; r < kR; ++r) {
        const float4 qv = qRows[r * (dPad / 4) + d4];
        s[r] = fmaf(qv.x, kv.x, s[r]);
        s[r] = fmaf(qv.y, kv.y, s[r]);
        s[r] = fmaf(qv.z, kv.z, s[r]);
        s[r] = fmaf(qv.w, kv.w, s[r]);
      }
    }
    const long long key = k0 + lane;
    float* pRows = ps + warp * kR * kKeys;
#pragma unroll
    for (int r = 0; r < kR; ++r) {
      float x = s[r];
      if (a.softcap > 0.0f) x = a.softcap * tanhf(x * invCap);
      if (lane >= n || key < rowLo[r] || key > rowHi[r]) x = -INFINITY;
      float tileMax = x;
#pragma unroll
      for (int offset = kLanes / 2; offset > 0; offset /= 2) tileMax = fmaxf(tileMax, __shfl_xor_sync(0xffffffffu, tileMax, offset));
      const float mNew = fmaxf(m[r], tileMax);
      // Nothing visible yet (mNew = −∞): p = 0 and nothing to rescale.
      const float shift = mNew == -INFINITY ? 0.0f : mNew;
      const float p = expf(x - shift);               // 0 for masked keys
      const float correction = expf(m[r] - shift);   // 0 when m was −∞ (o, l are 0 then)
      l[r] = fmaf(l[r], correction, p);
#pragma unroll
      for (int i = 0; i < DPL; ++i) o[r][i] *= correction;
      m[r] = mNew;
      pRows[r * kKeys + lane] = p;
    }
    __syncwarp();
    // P·V: lane = head dims lane, lane + 32, …
    for (int k4 = 0; k4 < kKeys / 4; ++k4) {
      float4 pv[kR];
#pragma unroll
      for (int r = 0; r < kR; ++r) pv[r] = reinterpret_cast<const float4*>(pRows + r * kKeys)[k4];
#pragma unroll
      for (int i = 0; i < DPL; ++i) {
        const int d = lane + i * kLanes;
        if (d < D) {
          const float v0 = vs[(4 * k4 + 0) * D + d], v1 = vs[(4 * k4 + 1) * D + d];
          const float v2 = vs[(4 * k4 + 2) * D + d], v3 = vs[(4 * k4 + 3) * D + d];
#pragma unroll
          for (int r = 0; r < kR; ++r) {
            o[r][i] = fmaf(pv[r].x, v0, o[r][i]);
            o[r][i] = fmaf(pv[r].y, v1, o[r][i]);
            o[r][i] = fmaf(pv[r].z, v2, o[r][i]);
            o[r][i] = fmaf(pv[r].w, v3, o[r][i]);
          }
        }
      }
    }
    __syncwarp();  // pRows is rewritten by the next tile
  }

#pragma unroll
  for (int r = 0; r < kR; ++r) {
    const long long t = t0 + warp * kR + r;
#pragma unroll
    for (int offset = kLanes / 2; offset > 0; offset /= 2) l[r] += __shfl_xor_sync(0xffffffffu, l[r], offset);
    if (t >= Tq) continue;
    if (splits == 1) {
      const float inv = l[r] > 0.0f ? 1.0f / l[r] : 0.0f;
      float* dst = a.o + ((b * Tq + t) * H + h) * D;
#pragma unroll
      for (int i = 0; i < DPL; ++i) {
        const int d = lane + i * kLanes;
        if (d < D) dst[d] = o[r][i] * inv;
      }
    } else {
      const long long row = ((static_cast<long long>(split) * a.batch + b) * Tq + t) * H + h;
      if (lane == 0) {
        pm[row] = m[r];
        pl[row] = l[r];
      }
#pragma unroll
      for (int i = 0; i < DPL; ++i) {
        const int d = lane + i * kLanes;
        if (d < D) po[row * D + d] = o[r][i];
      }
    }
  }
}

// Merges the splits' partial softmax states of one (b, t, h) row: thread d owns output dim d.
__global__ void mergeKernel(cpu::AttentionArgs a, int splits, const float* pm, const float* pl, const float* po) {
  const long long row = blockIdx.x;  // (b·Tq + t)·H + h
  const long long rows = a.batch * a.Tq * a.heads;
  float mMax = -INFINITY;
  for (int s = 0; s < splits; ++s) {
    if (pl[s * rows + row] > 0.0f) mMax = fmaxf(mMax, pm[s * rows + row]);
  }
  for (long long d = threadIdx.x; d < a.D; d += blockDim.x) {
    float l = 0.0f, acc = 0.0f;
    for (int s = 0; s < splits; ++s) {
      const float ls = pl[s * rows + row];
      if (!(ls > 0.0f)) continue;  // a split that saw no key
      const float w = expf(pm[s * rows + row] - mMax);
      l = fmaf(ls, w, l);
      acc = fmaf(po[(s * rows + row) * a.D + d], w, acc);
    }
    a.o[row * a.D + d] = l > 0.0f ? acc / l : 0.0f;
  }
}

template <int DPL>
void launch(const cpu::AttentionArgs& a, const Shape& shape, dim3 grid, float* pm, float* pl, float* po,
            cudaStream_t stream) {
  const size_t floats = static_cast<size_t>(kKeys) * shape.kStride + static_cast<size_t>(kKeys * a.D + (kKeys * a.D) % 4) +
                        static_cast<size_t>(kRows) * shape.dPad + static_cast<size_t>(kRows) * kKeys;
  const size_t bytes = floats * sizeof(float);
  if (bytes > 48 * 1024) {
    // Above the default 48 KB a kernel must opt in (sm_80: up to 163 KB, sm_90: 227 KB); D = 256 needs ~84 KB.
    CR_CUDA_CHECK(cudaFuncSetAttribute(attentionKernel<DPL>, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes)));
  }
  attentionKernel<DPL><<<grid, kThreads, bytes, stream>>>(a, shape, pm, pl, po);
}

}  // namespace

void attention(const cpu::AttentionArgs& a, cudaStream_t stream) {
  if (a.D > kMaxD) throwRange("attention: the CUDA kernel takes head dims up to ", kMaxD, ", got ", a.D);
  if (a.heads > 65535 || a.batch > 65535) throwRange("attention: the CUDA kernel takes at most 65535 heads and batch rows");
  if (a.batch == 0 || a.Tq == 0 || a.heads == 0 || a.D == 0) return;
  if (a.kvHeads < 1 || a.heads % a.kvHeads != 0) throwRange("attention: heads (", a.heads, ") must be a multiple of kvHeads (", a.kvHeads, ")");
  const long long qBlocks = (a.Tq + kRows - 1) / kRows;
  Shape shape;
  shape.dPad = static_cast<int>((a.D + 3) / 4 * 4);
  shape.kStride = shape.dPad % 8 == 4 ? shape.dPad : shape.dPad + 4;
  // Decoding: a handful of query rows per (b, h) — split the keys (≥ 256 keys each) until there
  // are about 4 blocks per SM of a large GPU.
  shape.splits = 1;
  if (a.Tq <= 4 && a.Tk >= 1024) {
    const long long blocks = qBlocks * a.heads * a.batch;
    long long wanted = (512 + blocks - 1) / blocks;
    const long long byKeys = a.Tk / 256;
    wanted = wanted < byKeys ? wanted : byKeys;
    shape.splits = static_cast<int>(wanted < 1 ? 1 : wanted > 64 ? 64 : wanted);
  }
  if (qBlocks * shape.splits > 0x7fffffffLL) throwRange("attention: too many query rows for one CUDA launch");
  float* pm = nullptr;
  float* pl = nullptr;
  float* po = nullptr;
  if (shape.splits > 1) {
    const size_t rows = static_cast<size_t>(shape.splits) * a.batch * a.Tq * a.heads;
    pm = static_cast<float*>(scratch(rows * sizeof(float), stream));
    pl = static_cast<float*>(scratch(rows * sizeof(float), stream));
    po = static_cast<float*>(scratch(rows * a.D * sizeof(float), stream));
  }
  const dim3 grid(static_cast<unsigned>(qBlocks * shape.splits), static_cast<unsigned>(a.heads), static_cast<unsigned>(a.batch));
  if (a.D <= 32) launch<1>(a, shape, grid, pm, pl, po, stream);
  else if (a.D <= 64) launch<2>(a, shape, grid, pm, pl, po, stream);
  else if (a.D <= 128) launch<4>(a, shape, grid, pm, pl, po, stream);
  else launch<8>(a, shape, grid, pm, pl, po, stream);
  if (shape.splits > 1) {
    const int threads = a.D <= 128 ? 128 : 256;
    mergeKernel<<<static_cast<unsigned>(a.batch * a.Tq * a.heads), threads, 0, stream>>>(a, shape.splits, pm, pl, po);
  }
}

}  // namespace cr::cuda
