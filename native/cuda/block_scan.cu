// The block-diagonal linear recurrence on the GPU, the math of native/cpu/block_scan.cc:
//   h[b,t,c,:] = A_c · h[b,t−1,c,:] + b[b,t,c,:],  A_c = a[c] (n×n, row-major, constant over time),
//   h[b,−1,c,:] = initialState[b,c,:] (zeros without one), lastState[b,c,:] = h[b,L−1,c,:].
//
// Parallel decomposition, by block size:
//  - n ≤ 4 (LinOSS: n = 2): a thread owns one (batch row, channel) and keeps A_c and the state
//    in registers; a warp covers 32 consecutive channels, whose n-float rows are contiguous, so
//    each step's loads and stores are coalesced. With too few sequences to fill the device, time
//    is cut into K chunks of T steps as in diagonal_scan.cu, the maps being h ↦ M h + v with
//    (M2, v2)∘(M1, v1) = (M2·M1, M2·v1 + v2): (1) each chunk but the last scans from zero to its
//    end state e_k — its map is (A^T, e_k); (2) one warp per sequence composes the maps: lane j
//    its own run of chunks, then a shuffle scan of the (M, v) pairs across the lanes, and the
//    lane walks its run from the composed entering state, writing the state entering each chunk;
//    (3) every chunk rescans from its entering state writing h.
//  - n > 4: a thread block per sequence, thread i computing row i of A·h_{t−1} from the previous
//    state in shared memory (double-buffered: one barrier per step). Aᵀ sits in shared memory
//    when it fits beside the state in 48 KB (n ≤ 109), else is read from a transposed copy in
//    global memory (L1/L2); either way the threads of a warp read consecutive entries of one row
//    of Aᵀ. Blocks of the same channel are adjacent in the grid, so the batch rows share A in
//    cache. No time chunks here (the CPU op chunks only n ≤ 8, and a chunk carry needs an n×n
//    matrix power).
#include <climits>
#include <cstdint>

#include "check.h"
#include "kernels.cuh"
#include "scans.cuh"

namespace cr::cuda {
namespace {

constexpr int kThreads = 128;
constexpr int kUnroll = 4;  // steps whose loads are issued together
constexpr unsigned kFull = 0xffffffffu;
constexpr int64_t kSmemLimit = 48 * 1024;

unsigned gridFor(int64_t work) { return static_cast<unsigned>(work < INT_MAX ? work : INT_MAX); }

// ---- n ≤ 4: registers ---------------------------------------------------------------------------

template <int N>
struct Vec {
  float v[N];
};
template <int N>
struct Mat {
  float m[N][N];
};

template <int N>
__device__ inline Vec<N> matvecAdd(const Mat<N>& A, const Vec<N>& x, const Vec<N>& add) {
  Vec<N> y;
#pragma unroll
  for (int i = 0; i < N; ++i) {
    float acc = add.v[i];
#pragma unroll
    for (int j = 0; j < N; ++j) acc = fmaf(A.m[i][j], x.v[j], acc);
    y.v[i] = acc;
  }
  return y;
}

template <int N>
__device__ inline Mat<N> matmul(const Mat<N>& X, const Mat<N>& Y) {
  Mat<N> Z;
#pragma unroll
  for (int i = 0; i < N; ++i)
#pragma unroll
    for (int j = 0; j < N; ++j) {
      float acc = 0.0f;
#pragma unroll
      for (int k = 0; k < N; ++k) acc = fmaf(X.m[i][k], Y.m[k][j], acc);
      Z.m[i][j] = acc;
    }
  return Z;
}

template <int N>
__device__ inline Mat<N> identity() {
  Mat<N> I;
#pragma unroll
  for (int i = 0; i < N; ++i)
#pragma unroll
    for (int j = 0; j < N; ++j) I.m[i][j] = i == j ? 1.0f : 0.0f;
  return I;
}

template <int N>
__device__ inline Vec<N> loadVec(const float* p) {
  Vec<N> x;
#pragma unroll
  for (int i = 0; i < N; ++i) x.v[i] = p[i];
  return x;
}

template <int N>
__device__ inline void storeVec(float* p, const Vec<N>& x) {
#pragma unroll
  for (int i = 0; i < N; ++i) p[i] = x.v[i];
}

template <int N>
__device__ inline Mat<N> loadMat(const float* p) {
  Mat<N> A;
#pragma unroll
  for (int i = 0; i < N; ++i)
#pragma unroll
    for (int j = 0; j < N; ++j) A.m[i][j] = p[i * N + j];
  return A;
}

struct Plan {
  int64_t chunks;  // K
  int64_t steps;   // T: every chunk but the last has T steps
  float* end;      // [batch][K][c][n]: chunk k's end state from zero (k < K − 1)
  float* carry;    // [batch][K][c][n]: the state entering chunk k (k ≥ 1)
};

// Passes 1 (kReduce: chunks 0…K−2, from zero, end state only) and 3 (every chunk; with K = 1
// the whole scan). One thread per (batch row, chunk, channel), channels fastest.
template <int N, bool kReduce>
__global__ void __launch_bounds__(kThreads) smallKernel(cpu::BlockScanArgs g, Plan p) {
  const int64_t C = g.channels;
  const int64_t chunks = kReduce ? p.chunks - 1 : p.chunks;
  const int64_t work = g.batch * chunks * C;
  for (int64_t w = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; w < work;
       w += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t c = w % C;
    const int64_t k = (w / C) % chunks;
    const int64_t bi = w / (C * chunks);
    const Mat<N> A = loadMat<N>(g.a + c * N * N);
    const int64_t t0 = k * p.steps;
    const int64_t t1 = t0 + p.steps < g.L ? t0 + p.steps : g.L;
    const int64_t slot = ((bi * p.chunks + k) * C + c) * N;
    Vec<N> h{};
    if (!kReduce) {
      if (k > 0) h = loadVec<N>(p.carry + slot);
      else if (g.initialState != nullptr) h = loadVec<N>(g.initialState + (bi * C + c) * N);
    }
    const int64_t stride = C * N;  // floats between consecutive steps of a sequence
    const float* b = g.b + bi * g.L * stride + c * N;
    float* out = g.h + bi * g.L * stride + c * N;
    int64_t t = t0;
    for (; t + kUnroll <= t1; t += kUnroll) {
      Vec<N> bv[kUnroll];
#pragma unroll
      for (int u = 0; u < kUnroll; ++u) bv[u] = loadVec<N>(b + (t + u) * stride);
#pragma unroll
      for (int u = 0; u < kUnroll; ++u) {
        h = matvecAdd<N>(A, h, bv[u]);
        if (!kReduce) storeVec<N>(out + (t + u) * stride, h);
      }
    }
    for (; t < t1; ++t) {
      h = matvecAdd<N>(A, h, loadVec<N>(b + t * stride));
      if (!kReduce) storeVec<N>(out + t * stride, h);
    }
    if (kReduce) storeVec<N>(p.end + slot, h);
    else if (k == p.chunks - 1) storeVec<N>(g.lastState + (bi * C + c) * N, h);
  }
}

template <int N>
__device__ inline Vec<N> shflUp(const Vec<N>& x, int d) {
  Vec<N> y;
#pragma unroll
  for (int i = 0; i < N; ++i) y.v[i] = __shfl_up_sync(kFull, x.v[i], d);
  return y;
}

template <int N>
__device__ inline Mat<N> shflUp(const Mat<N>& X, int d) {
  Mat<N> Y;
#pragma unroll
  for (int i = 0; i < N; ++i)
#pragma unroll
    for (int j = 0; j < N; ++j) Y.m[i][j] = __shfl_up_sync(kFull, X.m[i][j], d);
  return Y;
}

// Pass 2: one warp per (batch row, channel). Every full chunk's map has the matrix P = A^T.
template <int N>
__global__ void smallCarryKernel(cpu::BlockScanArgs g, Plan p) {
  const int64_t C = g.channels;
  const int lane = static_cast<int>(threadIdx.x % 32);
  const int64_t warpsPerBlock = blockDim.x / 32;
  const int64_t reduced = p.chunks - 1;
  const int64_t per = (reduced + 31) / 32;
  const int64_t k0 = lane * per < reduced ? lane * per : reduced;
  const int64_t k1 = k0 + per < reduced ? k0 + per : reduced;
  // Every lane of a warp takes the same trip count, so the shuffles see the whole warp.
  for (int64_t s = blockIdx.x * warpsPerBlock + threadIdx.x / 32; s < g.batch * C; s += gridDim.x * warpsPerBlock) {
    const int64_t bi = s / C, c = s % C;
    // P = A^T by squaring.
    Mat<N> P = identity<N>(), power = loadMat<N>(g.a + c * N * N);
    for (int64_t e = p.steps; e > 0; e >>= 1) {
      if (e & 1) P = matmul<N>(power, P);
      power = matmul<N>(power, power);
    }
    const int64_t base = (bi * p.chunks * C + c) * N;  // (bi, 0, c)
    const int64_t chunkStride = C * N;
    Mat<N> M = identity<N>();
    Vec<N> v{};
#pragma unroll 4
    for (int64_t k = k0; k < k1; ++k) {
      v = matvecAdd<N>(P, v, loadVec<N>(p.end + base + k * chunkStride));
      M = matmul<N>(P, M);
    }
    for (int d = 1; d < 32; d *= 2) {
      const Mat<N> Me = shflUp<N>(M, d);
      const Vec<N> ve = shflUp<N>(v, d);
      if (lane >= d) {
        v = matvecAdd<N>(M, ve, v);
        M = matmul<N>(M, Me);
      }
    }
    Mat<N> Mx = shflUp<N>(M, 1);
    Vec<N> h = shflUp<N>(v, 1);
    if (lane == 0) {
      Mx = identity<N>();
      h = Vec<N>{};
    }
    if (g.initialState != nullptr) h = matvecAdd<N>(Mx, loadVec<N>(g.initialState + s * N), h);
#pragma unroll 4
    for (int64_t k = k0; k < k1; ++k) {
      h = matvecAdd<N>(P, h, loadVec<N>(p.end + base + k * chunkStride));
      storeVec<N>(p.carry + base + (k + 1) * chunkStride, h);
    }
  }
}

template <int N>
void launchSmall(const cpu::BlockScanArgs& g, cudaStream_t stream) {
  const int64_t C = g.channels;
  Plan p{};
  p.chunks = scanChunkCount(g.batch * C, g.L);
  p.steps = (g.L + p.chunks - 1) / p.chunks;
  if (p.chunks > 1) {
    const size_t bytes = static_cast<size_t>(g.batch * p.chunks * C * N) * sizeof(float);
    p.end = static_cast<float*>(scratch(bytes, stream));
    p.carry = static_cast<float*>(scratch(bytes, stream));
    smallKernel<N, true><<<gridFor((g.batch * (p.chunks - 1) * C + kThreads - 1) / kThreads), kThreads, 0, stream>>>(g, p);
    smallCarryKernel<N><<<gridFor((g.batch * C + kThreads / 32 - 1) / (kThreads / 32)), kThreads, 0, stream>>>(g, p);
  }
  smallKernel<N, false><<<gridFor((g.batch * p.chunks * C + kThreads - 1) / kThreads), kThreads, 0, stream>>>(g, p);
}

// ---- n > 4: a thread block per sequence ----------------------------------------------------------

// at[(c·n + j)·n + i] = a[(c·n + i)·n + j]
__global__ void transposeKernel(const float* a, float* at, int64_t C, int64_t n) {
  const int64_t total = C * n * n;
  for (int64_t w = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; w < total;
       w += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t i = w % n, j = (w / n) % n, c = w / (n * n);
    at[w] = a[(c * n + i) * n + j];
  }
}

// `at`: Aᵀ of every channel in global memory, used when !kSharedA.
template <bool kSharedA>
__global__ void rowKernel(cpu::BlockScanArgs g, const float* at) {
  extern __shared__ float smem[];
  const int64_t n = g.n, C = g.channels, L = g.L;
  const int i = static_cast<int>(threadIdx.x);
  const bool row = i < n;
  float* hs = smem;           // [2][n]: h_{t−1} and h_t
  float* As = smem + 2 * n;   // [n][n] Aᵀ (kSharedA)
  const int64_t stride = C * n;
  for (int64_t s = blockIdx.x; s < g.batch * C; s += gridDim.x) {
    const int64_t c = s / g.batch, bi = s % g.batch;  // a channel's batch rows run side by side
    const float* At;
    if (kSharedA) {
      // Loaded row-major from a (coalesced), stored transposed.
      for (int64_t w = i; w < n * n; w += blockDim.x) As[(w % n) * n + w / n] = g.a[c * n * n + w];
      At = As;
    } else {
      At = at + c * n * n;
    }
    if (row) hs[i] = g.initialState != nullptr ? g.initialState[(bi * C + c) * n + i] : 0.0f;
    const float* b = g.b + bi * L * stride + c * n;
    float* out = g.h + bi * L * stride + c * n;
    float bNext = row && L > 0 ? b[i] : 0.0f;
    __syncthreads();
    for (int64_t t = 0; t < L; ++t) {
      const float* prev = hs + (t & 1) * n;
      float* next = hs + ((t + 1) & 1) * n;
      const float bt = bNext;
      if (row && t + 1 < L) bNext = b[(t + 1) * stride + i];  // in flight during this step
      if (row) {
        float acc = bt;
        for (int64_t j = 0; j < n; ++j) acc = fmaf(At[j * n + i], prev[j], acc);
        next[i] = acc;
        out[t * stride + i] = acc;
      }
      __syncthreads();
    }
    if (row) g.lastState[(bi * C + c) * n + i] = hs[(L & 1) * n + i];
    __syncthreads();  // the next sequence overwrites hs and As
  }
}

void launchRows(const cpu::BlockScanArgs& g, cudaStream_t stream) {
  const int64_t n = g.n;
  const int threads = static_cast<int>((n + 31) / 32 * 32);
  const int64_t sequences = g.batch * g.channels;
  const size_t sharedA = static_cast<size_t>(2 * n + n * n) * sizeof(float);
  if (static_cast<int64_t>(sharedA) <= kSmemLimit) {
    rowKernel<true><<<gridFor(sequences), threads, sharedA, stream>>>(g, nullptr);
    return;
  }
  float* at = static_cast<float*>(scratch(static_cast<size_t>(g.channels * n * n) * sizeof(float), stream));
  const int64_t total = g.channels * n * n;
  transposeKernel<<<gridFor((total + 255) / 256), 256, 0, stream>>>(g.a, at, g.channels, n);
  rowKernel<false><<<gridFor(sequences), threads, static_cast<size_t>(2 * n) * sizeof(float), stream>>>(g, at);
}

}  // namespace

void blockScan(const cpu::BlockScanArgs& g, cudaStream_t stream) {
  if (g.batch == 0 || g.channels == 0 || g.n == 0) return;
  if (g.L == 0) {
    // No steps: the last state is the initial one.
    const size_t bytes = static_cast<size_t>(g.batch * g.channels * g.n) * sizeof(float);
    if (g.initialState != nullptr) CR_CUDA_CHECK(cudaMemcpyAsync(g.lastState, g.initialState, bytes, cudaMemcpyDeviceToDevice, stream));
    else CR_CUDA_CHECK(cudaMemsetAsync(g.lastState, 0, bytes, stream));
    return;
  }
  switch (g.n) {
    case 1: return launchSmall<1>(g, stream);
    case 2: return launchSmall<2>(g, stream);
    case 3: return launchSmall<3>(g, stream);
    case 4: return launchSmall<4>(g, stream);
    default: return launchRows(g, stream);
  }
}

}  // namespace cr::cuda
