// Tiny kernels that break the CUDA rules on purpose, so test/cuda-emu.test.ts can check that
// the emulator reports each violation as an Error (built only by `npm run build:emu`).
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
    int host[67];
    CR_CUDA_CHECK(cudaMemcpyAsync(host, out, sizeof(host), cudaMemcpyDeviceToHost, stream));
    CR_CUDA_CHECK(cudaStreamSynchronize(stream));
    result.clear();
    for (int i = 0; i < 67; ++i) result += (i ? "," : "") + std::to_string(host[i]);
  } else {
    throwRange("cudaEmuSelfTest: no self-test named '", name, "'");
  }
  scope.finish();
  return result;
}

}  // namespace cr::emu
