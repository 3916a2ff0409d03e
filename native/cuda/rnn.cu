// LSTM, GRU and Elman RNN on the GPU, the math of native/cpu/rnn.cc (torch.nn
// semantics, batch-first, one layer, one direction). Per step t and batch row:
//
//   pre = W_ih·x_t + b_ih  (+)  W_hh·h_{t−1} + b_hh        (G gate blocks of H)
//   LSTM: i, f, g, o = σ, σ, tanh, σ of pre;  c_t = f·c_{t−1} + i·g;  h_t = o·tanh(c_t)
//   GRU:  r, z = σ(pre_r), σ(pre_z);  n = tanh(W_in·x + b_in + r·(W_hn·h + b_hn));  h_t = (1−z)·n + z·h_{t−1}
//   RNN:  h_t = tanh(pre) or relu(pre)
//
// 1. The input half for every step is one GEMM (cr::cuda::gemm) into scratch,
//    xProj[b, t, G·H], with every bias but GRU's b_hn folded into it (b_hn is
//    scaled by r, so it stays with the hidden half). bfloat16/float16 W_ih is
//    widened to float32 first: the device GEMM would otherwise round x to the
//    weights' type on the tensor cores, and the CPU op keeps x in float32.
//    Longer sequences than kMaxProjectionFloats allows are projected and run
//    in time chunks.
// 2. The recurrence. Block β owns hidden units [β·U, β·U + U) with all G gates
//    of each (G·U rows of W_hh), so the gate nonlinearities and the cell
//    update need nothing from other blocks; h_t goes to y[b, t] (where step
//    t + 1 reads h_{t−1} from) and c_t to c, which is the running cell state.
//    Within a block, a step is: stage h_{t−1} of up to Bc batch rows and the
//    step's input projections of the block's rows (one memory latency for both), then
//    warps take (row, batch tile of BT rows, k split) tasks — lanes stride k,
//    each W_hh value read once per BT batch rows, a shuffle reduction per row —
//    into partial sums in shared memory, then threads take (batch row, unit)
//    pairs and apply the cell.
//    - Persistent path: one cooperative launch for all steps; each block
//      keeps its G·U rows of W_hh in shared memory (float32) for the whole
//      sequence and a grid-wide barrier (cooperative_groups grid.sync) per
//      step hands h_t to everyone. U = ⌈H / SMs⌉ so the grid is one block per
//      SM at most and all blocks are resident (checked with the occupancy API).
//      h_{t−1} written by other SMs is read with __ldcg (L2, never a stale L1 line).
//    - Step path: when W_hh does not fit in the grid's shared memory, the
//      device has no cooperative launch, L = 1 (staging W_hh costs as much as
//      the step), or CROSSROAD_CUDA_RNN=step: one launch per step, W_hh read
//      in its own dtype from global memory (L2-resident when it fits there).
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>
#include <cstdint>

#include "check.h"
#include "kernels.cuh"
#include "rnn.cuh"

// The CUDA emulator (native/cuda/emu) may lack cooperative groups; its builds
// then run every recurrence on the step path.
#if !defined(CR_CUDA_EMU) || __has_include(<cooperative_groups.h>)
#include <cooperative_groups.h>
#define CR_RNN_COOPERATIVE 1
#else
#define CR_RNN_COOPERATIVE 0
#endif

namespace cr::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int kWarps = kThreads / 32;
// Bound on the projection buffer (floats); longer sequences go in time chunks.
constexpr int64_t kMaxProjectionFloats = int64_t(16) << 20;
// h rows staged per pass on the persistent path: 16 KB of shared memory.
constexpr int64_t kStageFloats = 4096;
// Batch rows per pass on the step path (only the partial sums live in shared memory).
constexpr int64_t kStepBatchChunk = 32;

constexpr int gateCount(cpu::RnnCell cell) {
  return cell == cpu::RnnCell::Lstm ? 4 : cell == cpu::RnnCell::Gru ? 3 : 1;
}

struct Recurrence {
  cpu::RnnCell cell;
  int G;
  int64_t B, L, H;
  const float* xProj;  // [B][chunkLen][G·H], biases folded in
  int64_t chunkLen, t0;
  const void* whh;     // [G·H, H]
  DType whhType;
  const float* hnBias; // GRU: b_hn [H], or null
  const float* h0;     // [B, H] or null
  const float* zeros;  // [H]: h_{−1} without h0
  float* y;            // [B, L, H]
  float* h;            // [B, H]
  float* c;            // [B, H] running cell state (LSTM)
  int units;           // U: hidden units per block
  int batchChunk;      // Bc: batch rows per pass
  int kSplits;         // KS: k ranges per dot product
};

struct F32W {
  using S = float;
  static __device__ __forceinline__ float widen(float x) { return x; }
};
struct BF16W {
  using S = uint16_t;
  static __device__ __forceinline__ float widen(uint16_t b) { return __uint_as_float(static_cast<uint32_t>(b) << 16); }
};
struct F16W {
  using S = uint16_t;
  static __device__ __forceinline__ float widen(uint16_t b) { return __half2float(__ushort_as_half(b)); }
};

template <typename T>
struct WeightRow {
  const typename T::S* p;
  __device__ __forceinline__ float operator[](int64_t k) const { return T::widen(p[k]); }
};

__device__ __forceinline__ float widenAny(const void* w, DType type, int64_t i) {
  if (type == DType::BF16) return BF16W::widen(static_cast<const uint16_t*>(w)[i]);
  if (type == DType::F16) return F16W::widen(static_cast<const uint16_t*>(w)[i]);
  return static_cast<const float*>(w)[i];
}

// h_{t−1} of batch row b.
__device__ __forceinline__ const float* prevRow(const Recurrence& p, int64_t b, int64_t t) {
  if (t > 0) return p.y + (b * p.L + t - 1) * p.H;
  return p.h0 != nullptr ? p.h0 + b * p.H : p.zeros;
}

// h_{t−1} written by another SM in this launch: read through L2, never a stale
// L1 line. (The emulator's device memory is plain coherent host memory.)
__device__ __forceinline__ float loadCoherent(const float* p) {
#if defined(CR_CUDA_EMU)
  return *p;
#else
  return __ldcg(p);
#endif
}

__device__ __forceinline__ float sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }

__device__ __forceinline__ int64_t splitLength(const Recurrence& p) {
  return ((p.H + p.kSplits - 1) / p.kSplits + 31) / 32 * 32;
}

// part[(ks·Bc + j)·G·U + r] = Σ_{k in split ks} W_r[k] · h_j[k] for the block's
// rows r = g·U + i (i < unitsHere) and batch rows j < nb of this pass.
template <int BT, typename WRowOf, typename HRowOf>
__device__ void gateDots(const Recurrence& p, int unitsHere, int nb, WRowOf wRow, HRowOf hRow, float* part) {
  const int GU = p.G * p.units;
  const int tiles = (nb + BT - 1) / BT;
  const int64_t kLen = splitLength(p);
  const int tasks = GU * tiles * p.kSplits;
  const int warp = static_cast<int>(threadIdx.x) / 32, lane = static_cast<int>(threadIdx.x) % 32;
  for (int task = warp; task < tasks; task += kWarps) {
    const int r = task % GU;
    const int tile = (task / GU) % tiles;
    const int ks = task / GU / tiles;
    if (r % p.units >= unitsHere) continue;  // the same for the whole warp
    const int64_t k0 = ks * kLen;
    const int64_t k1 = min(p.H, k0 + kLen);
    const auto w = wRow(r);
    const float* hp[BT];
#pragma unroll
    for (int j = 0; j < BT; ++j) hp[j] = hRow(min(tile * BT + j, nb - 1));
    float acc[BT];
#pragma unroll
    for (int j = 0; j < BT; ++j) acc[j] = 0.0f;
    for (int64_t k = k0 + lane; k < k1; k += 32) {
      const float wk = w[k];
#pragma unroll
      for (int j = 0; j < BT; ++j) acc[j] = fmaf(wk, hp[j][k], acc[j]);
    }
#pragma unroll
    for (int j = 0; j < BT; ++j) {
#pragma unroll
      for (int off = 16; off > 0; off /= 2) acc[j] += __shfl_xor_sync(0xffffffffu, acc[j], off);
    }
    if (lane == 0) {
#pragma unroll
      for (int j = 0; j < BT; ++j) {
        if (tile * BT + j < nb) part[(static_cast<int64_t>(ks) * p.batchChunk + tile * BT + j) * GU + r] = acc[j];
      }
    }
  }
}

// xs[j·G·U + g·U + i] = xProj of step t, batch row b0 + j, gate g, unit u0 + i:
// loaded before the products so its latency overlaps theirs.
__device__ void stageInputs(const Recurrence& p, int64_t t, int64_t b0, int nb, int64_t u0, int unitsHere, float* xs) {
  const int GU = p.G * p.units;
  const int64_t GH = p.G * p.H;
  for (int e = static_cast<int>(threadIdx.x); e < nb * GU; e += static_cast<int>(blockDim.x)) {
    const int j = e / GU, r = e % GU;
    const int g = r / p.units, i = r % p.units;
    if (i < unitsHere) xs[e] = p.xProj[((b0 + j) * p.chunkLen + (t - p.t0)) * GH + g * p.H + u0 + i];
  }
}

// The cell update of step t for batch rows b0 … b0 + nb − 1 and the block's
// units u0 … u0 + unitsHere − 1; hPrev(j, u) is h_{t−1}[b0 + j, u].
template <typename HPrev>
__device__ void cellPhase(const Recurrence& p, int64_t t, int64_t b0, int nb, int64_t u0, int unitsHere,
                          const float* part, const float* xs, HPrev hPrev) {
  const int GU = p.G * p.units;
  for (int idx = static_cast<int>(threadIdx.x); idx < nb * unitsHere; idx += static_cast<int>(blockDim.x)) {
    const int j = idx / unitsHere, i = idx % unitsHere;
    const int64_t b = b0 + j, u = u0 + i;
    float pre[4] = {}, hh[4] = {};
#pragma unroll
    for (int g = 0; g < 4; ++g) {  // unrolled (g < G inside) so pre and hh stay in registers
      if (g >= p.G) break;
      float s = 0.0f;
      for (int ks = 0; ks < p.kSplits; ++ks) s += part[(static_cast<int64_t>(ks) * p.batchChunk + j) * GU + g * p.units + i];
      hh[g] = s;
      pre[g] = xs[j * GU + g * p.units + i];
    }
    float hNew;
    switch (p.cell) {
      case cpu::RnnCell::Lstm: {
        const float ig = sigmoid(pre[0] + hh[0]);
        const float fg = sigmoid(pre[1] + hh[1]);
        const float gg = tanhf(pre[2] + hh[2]);
        const float og = sigmoid(pre[3] + hh[3]);
        float* c = p.c + b * p.H + u;
        const float cNew = fmaf(fg, *c, ig * gg);
        *c = cNew;
        hNew = og * tanhf(cNew);
        break;
      }
      case cpu::RnnCell::Gru: {
        const float r = sigmoid(pre[0] + hh[0]);
        const float z = sigmoid(pre[1] + hh[1]);
        const float hn = hh[2] + (p.hnBias != nullptr ? p.hnBias[u] : 0.0f);
        const float n = tanhf(fmaf(r, hn, pre[2]));
        hNew = fmaf(z, hPrev(j, u) - n, n);
        break;
      }
      case cpu::RnnCell::RnnTanh:
        hNew = tanhf(pre[0] + hh[0]);
        break;
      default:
        hNew = fmaxf(pre[0] + hh[0], 0.0f);
        break;
    }
    p.y[(b * p.L + t) * p.H + u] = hNew;
    if (t == p.L - 1) p.h[b * p.H + u] = hNew;
  }
}

// ---- persistent path -----------------------------------------------------------------

__host__ __device__ inline int64_t persistentSmemFloats(int64_t GU, int64_t H, int64_t Bc, int64_t KS) {
  return GU * H + Bc * H + (KS + 1) * Bc * GU;
}

#if CR_RNN_COOPERATIVE
template <int BT>
__global__ void __launch_bounds__(kThreads) persistentKernel(Recurrence p, int64_t t1) {
  extern __shared__ float smem[];
  const int GU = p.G * p.units;
  const int64_t H = p.H;
  float* ws = smem;                                // [G·U][H]
  float* hs = ws + GU * H;                         // [Bc][H]
  float* part = hs + static_cast<int64_t>(p.batchChunk) * H;  // [KS][Bc][G·U]
  float* xs = part + static_cast<int64_t>(p.kSplits) * p.batchChunk * GU;  // [Bc][G·U]
  const int64_t u0 = static_cast<int64_t>(blockIdx.x) * p.units;
  const int unitsHere = static_cast<int>(min(static_cast<int64_t>(p.units), H - u0));

  for (int64_t e = threadIdx.x; e < GU * H; e += blockDim.x) {
    const int r = static_cast<int>(e / H);
    const int64_t k = e % H;
    const int g = r / p.units, i = r % p.units;
    ws[e] = i < unitsHere ? widenAny(p.whh, p.whhType, (g * H + u0 + i) * H + k) : 0.0f;
  }
  // (the staging barrier below also orders these writes before the first dots)

  cooperative_groups::grid_group grid = cooperative_groups::this_grid();
  for (int64_t t = p.t0; t < t1; ++t) {
    for (int64_t b0 = 0; b0 < p.B; b0 += p.batchChunk) {
      const int nb = static_cast<int>(min(static_cast<int64_t>(p.batchChunk), p.B - b0));
      for (int64_t e = threadIdx.x; e < nb * H; e += blockDim.x) {
        hs[e] = loadCoherent(prevRow(p, b0 + e / H, t) + e % H);
      }
      stageInputs(p, t, b0, nb, u0, unitsHere, xs);
      __syncthreads();
      gateDots<BT>(
          p, unitsHere, nb, [&](int r) { return WeightRow<F32W>{ws + static_cast<int64_t>(r) * H}; },
          [&](int j) -> const float* { return hs + static_cast<int64_t>(j) * H; }, part);
      __syncthreads();
      cellPhase(p, t, b0, nb, u0, unitsHere, part, xs, [&](int j, int64_t u) { return hs[j * H + u]; });
      __syncthreads();  // hs and part are rewritten by the next pass
    }
    if (t + 1 < t1) grid.sync();
  }
}
#endif

// ---- step path -----------------------------------------------------------------------

template <typename T, int BT>
__global__ void __launch_bounds__(kThreads) stepKernel(Recurrence p, int64_t t) {
  extern __shared__ float smem[];
  const int64_t H = p.H;
  const int GU = p.G * p.units;
  float* part = smem;                                                      // [KS][Bc][G·U]
  float* xs = part + static_cast<int64_t>(p.kSplits) * p.batchChunk * GU;  // [Bc][G·U]
  const int64_t u0 = static_cast<int64_t>(blockIdx.x) * p.units;
  const int unitsHere = static_cast<int>(min(static_cast<int64_t>(p.units), H - u0));
  const auto* whh = static_cast<const typename T::S*>(p.whh);
  for (int64_t b0 = 0; b0 < p.B; b0 += p.batchChunk) {
    const int nb = static_cast<int>(min(static_cast<int64_t>(p.batchChunk), p.B - b0));
    stageInputs(p, t, b0, nb, u0, unitsHere, xs);
    gateDots<BT>(
        p, unitsHere, nb,
        [&](int r) {
          const int g = r / p.units, i = r % p.units;
          return WeightRow<T>{whh + (g * H + u0 + i) * H};
        },
        [&](int j) { return prevRow(p, b0 + j, t); }, part);
    __syncthreads();
    cellPhase(p, t, b0, nb, u0, unitsHere, part, xs, [&](int j, int64_t u) { return prevRow(p, b0 + j, t)[u]; });
    __syncthreads();
  }
}

// ---- helpers ---------------------------------------------------------------------------

__global__ void foldBiasKernel(const float* biasIH, const float* biasHH, int64_t GH, int64_t foldHH, float* out) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= GH) return;
  out[i] = (biasIH != nullptr ? biasIH[i] : 0.0f) + (biasHH != nullptr && i < foldHH ? biasHH[i] : 0.0f);
}

__global__ void widenKernel(const void* w, DType type, int64_t n, float* out) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    out[i] = widenAny(w, type, i);
  }
}

struct DeviceCaps {
  int sms = 0;
  int smemOptin = 0;
  bool cooperative = false;
};

const DeviceCaps& deviceCaps() {
  static const DeviceCaps caps = [] {
    DeviceCaps c;
    int device = 0, coop = 0;
    CR_CUDA_CHECK(cudaGetDevice(&device));
    CR_CUDA_CHECK(cudaDeviceGetAttribute(&c.sms, cudaDevAttrMultiProcessorCount, device));
    CR_CUDA_CHECK(cudaDeviceGetAttribute(&c.smemOptin, cudaDevAttrMaxSharedMemoryPerBlockOptin, device));
    CR_CUDA_CHECK(cudaDeviceGetAttribute(&coop, cudaDevAttrCooperativeLaunch, device));
    c.cooperative = coop != 0;
    return c;
  }();
  return caps;
}

// k ranges per dot product: enough tasks for every warp, each range ≥ 32.
int kSplitsFor(int64_t tasks, int64_t H) {
  const int64_t want = (kWarps + tasks - 1) / tasks;
  return static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(want, (H + 31) / 32)));
}

struct PersistentPlan {
  bool ok = false;
  const char* why = "";
  int blocks = 0;
  size_t smemBytes = 0;
};

template <int BT>
PersistentPlan planPersistent(Recurrence* p) {
  PersistentPlan plan;
#if !CR_RNN_COOPERATIVE
  (void)p;
  plan.why = "this (emulator) build has no cooperative groups";
  return plan;
#else
  const DeviceCaps& caps = deviceCaps();
  if (!caps.cooperative) {
    plan.why = "the device has no cooperative launch";
    return plan;
  }
  const int64_t H = p->H;
  const int64_t U = (H + caps.sms - 1) / caps.sms;
  const int64_t Bc = std::max<int64_t>(1, std::min<int64_t>(p->B, kStageFloats / H));
  const int64_t GU = p->G * U;
  const int64_t tiles = (Bc + BT - 1) / BT;
  const int KS = kSplitsFor(GU * tiles, H);
  const int64_t bytes = persistentSmemFloats(GU, H, Bc, KS) * static_cast<int64_t>(sizeof(float));
  if (bytes > caps.smemOptin) {
    plan.why = "W_hh does not fit in the shared memory of one block per SM";
    return plan;
  }
  CR_CUDA_CHECK(cudaFuncSetAttribute(persistentKernel<BT>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                     static_cast<int>(bytes)));
  int perSm = 0;
  CR_CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&perSm, persistentKernel<BT>, kThreads,
                                                              static_cast<size_t>(bytes)));
  const int64_t blocks = (H + U - 1) / U;
  if (static_cast<int64_t>(perSm) * caps.sms < blocks) {
    plan.why = "not every block of the grid can be resident";
    return plan;
  }
  p->units = static_cast<int>(U);
  p->batchChunk = static_cast<int>(Bc);
  p->kSplits = KS;
  plan.ok = true;
  plan.blocks = static_cast<int>(blocks);
  plan.smemBytes = static_cast<size_t>(bytes);
  return plan;
#endif
}

// Steps [p.t0, t1) of the recurrence. Returns false (launching nothing) when
// the persistent path is not possible and `path` allows the step path.
template <int BT>
bool runPersistent(const char* op, Recurrence p, int64_t t1, RnnPath path, cudaStream_t stream) {
  const PersistentPlan plan = planPersistent<BT>(&p);
  if (!plan.ok) {
    if (path == RnnPath::Persistent) throwError(op, ": CROSSROAD_CUDA_RNN=persistent, but ", plan.why);
    return false;
  }
#if CR_RNN_COOPERATIVE
  void* args[] = {&p, &t1};
  const cudaError_t status =
      cudaLaunchCooperativeKernel(persistentKernel<BT>, dim3(plan.blocks), dim3(kThreads), args, plan.smemBytes, stream);
  if (status == cudaErrorCooperativeLaunchTooLarge && path != RnnPath::Persistent) {
    cudaGetLastError();
    return false;
  }
  CR_CUDA_CHECK(status);
  return true;
#else
  return false;
#endif
}

template <typename T, int BT>
void runSteps(Recurrence p, int64_t t1, cudaStream_t stream) {
  // About kWarps rows of W_hh per block (all gates of U units).
  p.units = std::max(1, kWarps / p.G);
  p.batchChunk = static_cast<int>(std::min<int64_t>(p.B, kStepBatchChunk));
  const int64_t GU = p.G * p.units;
  p.kSplits = kSplitsFor(GU * ((p.batchChunk + BT - 1) / BT), p.H);
  const int64_t blocks = (p.H + p.units - 1) / p.units;
  const size_t bytes = static_cast<size_t>(p.kSplits + 1) * p.batchChunk * GU * sizeof(float);
  for (int64_t t = p.t0; t < t1; ++t) {
    stepKernel<T, BT><<<static_cast<unsigned>(blocks), kThreads, bytes, stream>>>(p, t);
    CR_CUDA_CHECK(cudaGetLastError());
  }
}

template <int BT>
void runRecurrence(const char* op, const Recurrence& p, int64_t t1, RnnPath path, cudaStream_t stream) {
  // A single step reads W_hh once either way: staging it on chip buys nothing.
  const bool tryPersistent = path == RnnPath::Persistent || (path == RnnPath::Auto && t1 - p.t0 > 1);
  if (tryPersistent && runPersistent<BT>(op, p, t1, path, stream)) return;
  switch (p.whhType) {
    case DType::BF16: return runSteps<BF16W, BT>(p, t1, stream);
    case DType::F16: return runSteps<F16W, BT>(p, t1, stream);
    default: return runSteps<F32W, BT>(p, t1, stream);
  }
}

// xProj[b][t − t0] = W_ih·x[b][t] + bias for t ∈ [t0, t0 + steps).
void projectInputs(const cpu::RnnArgs& a, const float* wih, int64_t GH, int64_t t0, int64_t steps, int64_t chunkLen,
                   const float* bias, float* xProj, cudaStream_t stream) {
  cpu::GemmArgs g;
  g.N = GH;
  g.K = a.inputSize;
  g.lda = a.inputSize;
  g.B = wih;
  g.bType = DType::F32;
  g.ldb = a.inputSize;
  g.transB = true;
  g.ldc = GH;
  g.bias = bias;
  if (steps == a.seqLen) {  // the whole sequence: [batch·L, in] rows in one product
    g.M = a.batch * a.seqLen;
    g.A = a.x;
    g.C = xProj;
    gemm(g, stream);
    return;
  }
  if (chunkLen == 1) {  // one step of every sequence: rows L·in apart
    g.M = a.batch;
    g.A = a.x + t0 * a.inputSize;
    g.lda = a.seqLen * a.inputSize;
    g.C = xProj;
    gemm(g, stream);
    return;
  }
  for (int64_t b = 0; b < a.batch; ++b) {
    g.M = steps;
    g.A = a.x + (b * a.seqLen + t0) * a.inputSize;
    g.C = xProj + b * chunkLen * GH;
    gemm(g, stream);
  }
}

unsigned blocksFor(int64_t n, int threads) {
  return static_cast<unsigned>(std::min<int64_t>((n + threads - 1) / threads, 65535));
}

}  // namespace

void rnn(const char* op, const cpu::RnnArgs& a, RnnPath path, cudaStream_t stream) {
  if (a.batch <= 0 || a.seqLen <= 0 || a.hiddenSize <= 0 || a.inputSize <= 0) return;
  const int G = gateCount(a.cell);
  const int64_t B = a.batch, L = a.seqLen, H = a.hiddenSize, GH = G * H;

  float* bias = nullptr;
  if (a.biasIH != nullptr || a.biasHH != nullptr) {
    bias = static_cast<float*>(scratch(static_cast<size_t>(GH) * sizeof(float), stream));
    const int64_t foldHH = a.cell == cpu::RnnCell::Gru ? 2 * H : GH;
    foldBiasKernel<<<blocksFor(GH, 256), 256, 0, stream>>>(a.biasIH, a.biasHH, GH, foldHH, bias);
    CR_CUDA_CHECK(cudaGetLastError());
  }
  const float* wih = static_cast<const float*>(a.weightIH);
  if (a.weightIHType != DType::F32) {
    const int64_t n = GH * a.inputSize;
    float* wide = static_cast<float*>(scratch(static_cast<size_t>(n) * sizeof(float), stream));
    widenKernel<<<blocksFor(n, 256), 256, 0, stream>>>(a.weightIH, a.weightIHType, n, wide);
    CR_CUDA_CHECK(cudaGetLastError());
    wih = wide;
  }
  const int64_t chunkLen = std::max<int64_t>(1, std::min<int64_t>(L, kMaxProjectionFloats / (B * GH)));
  float* xProj = static_cast<float*>(scratch(static_cast<size_t>(B * chunkLen * GH) * sizeof(float), stream));
  float* zeros = static_cast<float*>(scratch(static_cast<size_t>(H) * sizeof(float), stream));
  CR_CUDA_CHECK(cudaMemsetAsync(zeros, 0, static_cast<size_t>(H) * sizeof(float), stream));
  if (a.cell == cpu::RnnCell::Lstm) {
    const size_t bytes = static_cast<size_t>(B * H) * sizeof(float);
    if (a.c0 != nullptr) CR_CUDA_CHECK(cudaMemcpyAsync(a.c, a.c0, bytes, cudaMemcpyDeviceToDevice, stream));
    else CR_CUDA_CHECK(cudaMemsetAsync(a.c, 0, bytes, stream));
  }

  Recurrence p{};
  p.cell = a.cell;
  p.G = G;
  p.B = B;
  p.L = L;
  p.H = H;
  p.xProj = xProj;
  p.chunkLen = chunkLen;
  p.whh = a.weightHH;
  p.whhType = a.weightHHType;
  p.hnBias = a.cell == cpu::RnnCell::Gru && a.biasHH != nullptr ? a.biasHH + 2 * H : nullptr;
  p.h0 = a.h0;
  p.zeros = zeros;
  p.y = a.y;
  p.h = a.h;
  p.c = a.c;
  for (int64_t t0 = 0; t0 < L; t0 += chunkLen) {
    const int64_t t1 = std::min(L, t0 + chunkLen);
    p.t0 = t0;
    projectInputs(a, wih, GH, t0, t1 - t0, chunkLen, bias, xProj, stream);
    if (B == 1) runRecurrence<1>(op, p, t1, path, stream);
    else runRecurrence<4>(op, p, t1, path, stream);
  }
}

}  // namespace cr::cuda
