// xLSTM's mLSTM cell on the GPU, the math of native/cpu/mlstm.cc (NX-AI's stabilised step), per (b, h):
//   m_t = max(log σ(f_t) + m_{t−1}, i_t),  f' = e^{log σ(f_t) + m_{t−1} − m_t},  i' = e^{i_t − m_t}
//   C_t = f' C_{t−1} + i' k_tᵀ v_t,  n_t = f' n_{t−1} + i' k_t
//   h_t = (q̃_t C_t) / (max(|q̃_t · n_t|, e^{−m_t}) + eps),  q̃ = scale · q
//
// Prefill: the stabiliser is a scan with a closed form. With b_t = Σ_{u≤t} log σ(f_u) (from the
// sequence start), m_t = b_t + max(m_{−1}, max_{s≤t} (i_s − b_s)): a prefix sum and a prefix max,
// which gateScanKernel runs in double, one warp per (b, h), 32 steps per shuffle scan. The rest is
// the chunked form of linear_attention_chunk.cuh (n as state column V, the normaliser from A's row
// sums), whose exponents are exactly the CPU's chunked ones, formed in double from b, i and m.
//
// Decoding (and mode 'recurrent'): as linearAttention's recurrent kernel, a block per (b, h, 32
// columns of V) updating C in place; the scalar gates are computed by every thread (in double, as
// on the CPU), n by the block (its own copy in scratch, since every column block needs it), and
// q̃ · n is a block reduction in the same synchronisation as the 8 warps' partial outputs.
#include <climits>
#include <cmath>
#include <cstdint>

#include "../core/error.h"
#include "check.h"
#include "kernels.cuh"
#include "linear_attention.cuh"
#include "linear_attention_chunk.cuh"

namespace cr::cuda {
namespace {

constexpr int kRecWarps = 8;
constexpr int kLanes = 32;
constexpr unsigned kFull = 0xffffffffu;

__device__ inline double logSigmoid(double x) { return x >= 0 ? -log1p(exp(-x)) : x - log1p(exp(x)); }

__global__ void __launch_bounds__(kRecWarps * kLanes) gateScanKernel(cpu::MlstmArgs a, double* cum, double* m) {
  const int lane = static_cast<int>(threadIdx.x % kLanes);
  const int64_t seq = static_cast<int64_t>(blockIdx.x) * kRecWarps + threadIdx.x / kLanes;
  if (seq >= a.batch * a.heads) return;  // a whole warp: the shuffles below stay complete
  const int64_t b = seq / a.heads, h = seq % a.heads;
  double carrySum = 0.0;
  double carryMax = a.initialM ? static_cast<double>(a.initialM[seq]) : 0.0;
  for (int64_t t0 = 0; t0 < a.T; t0 += kLanes) {
    const int64_t t = t0 + lane;
    const bool valid = t < a.T;
    const int64_t row = (b * a.T + t) * a.heads + h;
    double sum = valid ? logSigmoid(static_cast<double>(a.forgetGate[row])) : 0.0;
    for (int offset = 1; offset < kLanes; offset *= 2) {
      const double up = __shfl_up_sync(kFull, sum, offset);
      if (lane >= offset) sum += up;
    }
    const double c = carrySum + sum;
    double best = valid ? static_cast<double>(a.inputGate[row]) - c : -INFINITY;
    for (int offset = 1; offset < kLanes; offset *= 2) {
      const double up = __shfl_up_sync(kFull, best, offset);
      if (lane >= offset) best = fmax(best, up);
    }
    best = fmax(best, carryMax);
    if (valid) {
      cum[seq * a.T + t] = c;
      m[seq * a.T + t] = c + best;
      if (t == a.T - 1 && a.finalM) a.finalM[seq] = static_cast<float>(c + best);
    }
    carrySum = __shfl_sync(kFull, c, kLanes - 1);
    carryMax = __shfl_sync(kFull, best, kLanes - 1);
  }
}

__global__ void __launch_bounds__(kRecWarps * kLanes) recurrentKernel(cpu::MlstmArgs a, float* state, float* nCopies,
                                                                       int64_t vTiles) {
  __shared__ float sRed[kRecWarps][kLanes];
  __shared__ float sQn[kRecWarps * kLanes];
  const int tid = static_cast<int>(threadIdx.x);
  const int w = tid / kLanes, lane = tid % kLanes;
  const int64_t seq = blockIdx.x / vTiles;
  const int64_t vt = blockIdx.x % vTiles;
  const int64_t col = vt * kLanes + lane;
  const int64_t b = seq / a.heads, h = seq % a.heads;
  const int64_t K = a.K, V = a.V;
  const bool active = col < V;
  float* C = state + seq * K * V;
  const float* initial = a.initialC ? a.initialC + seq * K * V : nullptr;
  float* n = nCopies + static_cast<int64_t>(blockIdx.x) * K;
  for (int64_t x = tid; x < K; x += kRecWarps * kLanes) n[x] = a.initialN ? a.initialN[seq * K + x] : 0.0f;
  double m = a.initialM ? static_cast<double>(a.initialM[seq]) : 0.0;
  for (int64_t t = 0; t < a.T; ++t) {
    const int64_t row = (b * a.T + t) * a.heads + h;
    const double logF = logSigmoid(static_cast<double>(a.forgetGate[row]));
    const double logI = a.inputGate[row];
    const double mNew = fmax(logF + m, logI);
    const float f = static_cast<float>(exp(logF + m - mNew));
    const float i = static_cast<float>(exp(logI - mNew));
    m = mNew;
    const float* q = a.q + row * K;
    const float* k = a.k + row * K;
    float qnPart = 0.0f;
    for (int64_t x = tid; x < K; x += kRecWarps * kLanes) {
      const float nx = fmaf(i, k[x], f * n[x]);
      n[x] = nx;
      qnPart = fmaf(q[x], nx, qnPart);
    }
    float acc = 0.0f;
    if (active) {
      const float vj = a.v[row * V + col];
      for (int64_t x = w; x < K; x += kRecWarps) {
        const float old = t > 0 ? C[x * V + col] : initial ? initial[x * V + col] : 0.0f;
        const float s = fmaf(k[x] * i, vj, old * f);
        C[x * V + col] = s;
        acc = fmaf(q[x], s, acc);
      }
    }
    sRed[w][lane] = acc;
    sQn[tid] = qnPart;
    __syncthreads();
    if (w == 0) {
      float part = 0.0f;
#pragma unroll
      for (int r = 0; r < kRecWarps; ++r) part += sQn[lane + kLanes * r];
      for (int offset = kLanes / 2; offset > 0; offset /= 2) part += __shfl_xor_sync(kFull, part, offset);
      const double qn = static_cast<double>(a.scale) * part;
      const float outScale =
          static_cast<float>(a.scale / (fmax(fabs(qn), exp(-m)) + static_cast<double>(a.eps)));
      if (active) {
        float sum = 0.0f;
#pragma unroll
        for (int r = 0; r < kRecWarps; ++r) sum += sRed[r][lane];
        a.h[row * V + col] = sum * outScale;
      }
    }
    __syncthreads();  // sRed and sQn are rewritten by the next step
  }
  if (vt == 0) {
    if (a.finalN) {
      for (int64_t x = tid; x < K; x += kRecWarps * kLanes) a.finalN[seq * K + x] = n[x];
    }
    if (a.finalM && tid == 0) a.finalM[seq] = static_cast<float>(m);
  }
}

}  // namespace

void mlstm(const cpu::MlstmArgs& a, cudaStream_t stream) {
  const int64_t BH = a.batch * a.heads;
  const bool recurrent = cpu::useRecurrentForm(a.mode, a.T, a.chunkSize);
  if (recurrent) {
    float* state = a.finalC;
    if (state == nullptr) state = static_cast<float*>(scratch(static_cast<size_t>(BH * a.K * a.V) * sizeof(float), stream));
    const int64_t vTiles = (a.V + kLanes - 1) / kLanes;
    if (BH * vTiles > INT_MAX) throwRange("mlstm: batch · heads · V is too large for one CUDA launch");
    float* nCopies = static_cast<float*>(scratch(static_cast<size_t>(BH * vTiles * a.K) * sizeof(float), stream));
    recurrentKernel<<<static_cast<unsigned>(BH * vTiles), kRecWarps * kLanes, 0, stream>>>(a, state, nCopies, vTiles);
    return;
  }
  ChunkParams p;
  p.batch = a.batch;
  p.T = a.T;
  p.heads = a.heads;
  p.K = a.K;
  p.V = a.V;
  p.Vs = a.V + 1;
  p.C = gpuChunk(a.chunkSize);
  p.chunks = (a.T + p.C - 1) / p.C;
  p.q = a.q;
  p.k = a.k;
  p.v = a.v;
  p.inputGate = a.inputGate;
  p.initialM = a.initialM;
  p.initialState = a.initialC;
  p.initialN = a.initialN;
  p.finalState = a.finalC;
  p.finalN = a.finalN;
  p.o = a.h;
  p.scale = a.scale;
  p.eps = a.eps;
  double* cum = static_cast<double*>(scratch(static_cast<size_t>(BH * a.T) * sizeof(double), stream));
  double* m = static_cast<double*>(scratch(static_cast<size_t>(BH * a.T) * sizeof(double), stream));
  p.cum = cum;
  p.m = m;
  p.states = static_cast<float*>(scratch(static_cast<size_t>(BH * p.chunks * a.K * p.Vs) * sizeof(float), stream));
  const int64_t scanBlocks = (BH + kRecWarps - 1) / kRecWarps;
  if (scanBlocks > INT_MAX) throwRange("mlstm: batch · heads is too large for one CUDA launch");
  gateScanKernel<<<static_cast<unsigned>(scanBlocks), kRecWarps * kLanes, 0, stream>>>(a, cum, m);
  const ChunkGrids grids = chunkGrids("mlstm", p);
  chunkStateKernel<ChunkKind::Mlstm><<<grids.stateBlocks, kChunkThreads, 0, stream>>>(p);
  chunkOutputKernel<ChunkKind::Mlstm><<<grids.output, kChunkThreads, 0, stream>>>(p);
}

}  // namespace cr::cuda
