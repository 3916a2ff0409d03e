// Tiny kernels that break the CUDA rules on purpose, so test/cuda-emu.test.ts can check that
// the emulator reports each violation as an Error (built only by `npm run build:emu`).
#include <cooperative_groups.h>
#include <cuda_runtime.h>

#include <string>

#include "../check.h"
#include "../launch.h"
#include "../runtime.h"
#include "selftest.h"

namespace cr::emu {
namespace {

__global__ void divergentBarrierKernel(float* out) {
  if (threadIdx.x < 16) {
    __syncthreads();
  } else {
    __syncthreads();
  }
  out[threadIdx.x] = 1.0f;
}

__global__ void readPastEndKernel(const float* in, float* out, int n) {
  // Reads one whole page past the end: lands on the guard page.
  out[threadIdx.x] = in[n + 1024 + threadIdx.x];
}

__global__ void shuffleAfterExitKernel(float* out) {
  if (threadIdx.x % 32 == 5) return;
  out[threadIdx.x] = __shfl_xor_sync(0xffffffffu, 1.0f, 1);
}

__global__ void divergentShuffleKernel(float* out) {
  float v = static_cast<float>(threadIdx.x);
  if (threadIdx.x % 2 == 0) v = __shfl_xor_sync(0xffffffffu, v, 1);
  else v = static_cast<float>(__ballot_sync(0xffffffffu, v > 3.0f));
  out[threadIdx.x] = v;
}

// Half a warp shuffles (full mask) while the other half waits at the block barrier.
__global__ void barrierInWarpKernel(float* out) {
  if (threadIdx.x < 16) {
    out[threadIdx.x] = __shfl_down_sync(0xffffffffu, 1.0f, 1);
  } else {
    __syncthreads();
  }
}

// Collectives that are right: sums by shuffles, ballots, a block barrier; 1 thread per 4 bytes.
__global__ void collectivesKernel(int* out) {
  __shared__ int partial[8];
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  int v = threadIdx.x;
  for (int offset = 16; offset > 0; offset /= 2) v += __shfl_down_sync(0xffffffffu, v, offset);
  const unsigned odd = __ballot_sync(0xffffffffu, lane % 2 == 1);
  const int up = __shfl_up_sync(0xffffffffu, lane, 3);
  const int idx = __shfl_sync(0xffffffffu, lane * 10, (lane + 1) % 32, 16);
  if (lane == 0) partial[warp] = v;
  __syncthreads();
  if (threadIdx.x == 0) {
    int total = 0;
    for (int w = 0; w < static_cast<int>(blockDim.x / 32); ++w) total += partial[w];
    out[0] = total;
    out[1] = static_cast<int>(odd);
    out[2] = __all_sync(0x1u, true);
  }
  if (warp == 0) {
    out[3 + lane] = up;
    out[35 + lane] = idx;
  }
  const int count = __syncthreads_count(threadIdx.x % 3 == 0);
  const int all = __syncthreads_and(threadIdx.x < 1000);
  const int any = __syncthreads_or(threadIdx.x == 77);
  if (threadIdx.x == 5) {
    out[67] = count;
    out[68] = all;
    out[69] = any;
  }
}

// A cooperative kernel: `steps` rounds in which every thread reads another block's value from
// the previous round (ping-pong buffers), separated by grid syncs. out[i] ends as steps·(1 + …).
__global__ void gridRoundsKernel(int* buffers, int steps) {
  namespace cg = cooperative_groups;
  cg::grid_group grid = cg::this_grid();
  const unsigned long long n = grid.size(), i = grid.thread_rank();
  for (int t = 0; t < steps; ++t) {
    const int* from = buffers + (t % 2) * n;
    int* to = buffers + ((t + 1) % 2) * n;
    to[i] = from[(i + blockDim.x) % n] + 1;
    grid.sync();
  }
}

__global__ void gridExitKernel(int* buffers, int) {
  if (blockIdx.x == 1) return;
  cooperative_groups::this_grid().sync();
  buffers[threadIdx.x] = 1;
}

// Reads shared memory it never wrote (static and dynamic): the emulator's 0xff poison, not zeros.
__global__ void unwrittenSharedKernel(unsigned* out) {
  __shared__ unsigned fixed[64];
  extern __shared__ unsigned dynamic[];
  out[threadIdx.x] = fixed[threadIdx.x];
  out[64 + threadIdx.x] = dynamic[threadIdx.x];
  __syncthreads();
  fixed[threadIdx.x] = 0;  // the next block (and launch) must see the poison again
  dynamic[threadIdx.x] = 0;
}

void* deviceBuffer(size_t bytes) { return cuda::deviceAlloc(bytes); }

}  // namespace

std::string selfTest(const std::string& name) {
  cuda::OpScope scope;
  cudaStream_t stream = scope.stream();
  float* out = static_cast<float*>(deviceBuffer(1024 * sizeof(float)));
  struct Free {
    void* p;
    ~Free() { cuda::deviceFree(p); }
  } freeOut{out};
  std::string result = "ok";
  if (name == "divergentBarrier") {
    divergentBarrierKernel<<<1, 64, 0, stream>>>(out);
  } else if (name == "outOfBounds") {
    void* in = nullptr;
    CR_CUDA_CHECK(cudaMalloc(&in, 100 * sizeof(float)));
    struct FreeIn {
      void* p;
      ~FreeIn() { cudaFree(p); }
    } freeIn{in};
    readPastEndKernel<<<2, 32, 0, stream>>>(static_cast<const float*>(in), out, 100);
  } else if (name == "shuffleAfterExit") {
    shuffleAfterExitKernel<<<1, 32, 0, stream>>>(out);
  } else if (name == "divergentShuffle") {
    divergentShuffleKernel<<<1, 32, 0, stream>>>(out);
  } else if (name == "barrierInWarp") {
    barrierInWarpKernel<<<1, 32, 0, stream>>>(out);
  } else if (name == "tooManyThreads") {
    divergentBarrierKernel<<<1, 1025, 0, stream>>>(out);
  } else if (name == "zeroGrid") {
    divergentBarrierKernel<<<0, 32, 0, stream>>>(out);
  } else if (name == "gridYTooLarge") {
    divergentBarrierKernel<<<dim3(1, 65536), 32, 0, stream>>>(out);
  } else if (name == "sharedWithoutOptIn") {
    divergentBarrierKernel<<<1, 32, 64 * 1024, stream>>>(out);
  } else if (name == "collectives") {
    collectivesKernel<<<1, 256, 0, stream>>>(reinterpret_cast<int*>(out));
    int host[70];
    CR_CUDA_CHECK(cudaMemcpyAsync(host, out, sizeof(host), cudaMemcpyDeviceToHost, stream));
    CR_CUDA_CHECK(cudaStreamSynchronize(stream));
    result.clear();
    for (int i = 0; i < 70; ++i) result += (i ? "," : "") + std::to_string(host[i]);
  } else if (name == "unwrittenShared") {
    unsigned* u = reinterpret_cast<unsigned*>(out);
    unsigned host[128];
    int poisoned = 0;
    for (int launch = 0; launch < 2; ++launch) {
      unwrittenSharedKernel<<<3, 64, 64 * sizeof(unsigned), stream>>>(u);
      CR_CUDA_CHECK(cudaMemcpyAsync(host, u, sizeof(host), cudaMemcpyDeviceToHost, stream));
      CR_CUDA_CHECK(cudaStreamSynchronize(stream));
      for (unsigned v : host) poisoned += v == 0xffffffffu;
    }
    result = std::to_string(poisoned);
  } else if (name == "gridRounds" || name == "gridExit" || name == "gridTooLarge" || name == "gridSyncNotCooperative") {
    int perSM = 0;
    CR_CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&perSM, gridRoundsKernel, 64, 0));
    int* buffers = reinterpret_cast<int*>(out);  // 2 × 4 blocks × 64 threads ≤ 1024 ints
    CR_CUDA_CHECK(cudaMemsetAsync(buffers, 0, 2 * 4 * 64 * sizeof(int), stream));
    int steps = 9;
    void* args[] = {&buffers, &steps};
    if (name == "gridRounds") {
      CR_CUDA_CHECK(cudaLaunchCooperativeKernel(gridRoundsKernel, dim3(4), dim3(64), args, 0, stream));
      int host[4 * 64];
      CR_CUDA_CHECK(cudaMemcpyAsync(host, buffers + 4 * 64, sizeof(host), cudaMemcpyDeviceToHost, stream));
      CR_CUDA_CHECK(cudaStreamSynchronize(stream));
      bool same = true;
      for (int v : host) same = same && v == steps;
      result = same ? "occupancy " + std::to_string(perSM) + ", all " + std::to_string(steps) : "wrong";
    } else if (name == "gridExit") {
      CR_CUDA_CHECK(cudaLaunchCooperativeKernel(gridExitKernel, dim3(4), dim3(32), args, 0, stream));
    } else if (name == "gridTooLarge") {
      CR_CUDA_CHECK(cudaLaunchCooperativeKernel(gridRoundsKernel, dim3(perSM * 132 + 1), dim3(64), args, 0, stream));
    } else {
      gridRoundsKernel<<<4, 64, 0, stream>>>(buffers, steps);
    }
  } else {
    throwRange("cudaEmuSelfTest: no self-test named '", name, "'");
  }
  scope.finish();
  return result;
}

}  // namespace cr::emu
