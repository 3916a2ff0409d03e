// Embedding lookup on the GPU, the math of native/cpu/embedding.cc: y[i, :] = table[ids[i], :]
// widened to float32 (the table float32, bfloat16 or float16).
// Ids are data, and the op must fail without writing anything when one is outside [0, vocab):
// a first kernel (one thread per id) records the lowest bad index with atomicMin into an error
// word; the gather kernel reads that word and does nothing when it is set; the op reads it back
// after the stream is done and raises the CPU op's RangeError. No host copy of the ids.
// Gather: a block per row of the output, threads across the row (coalesced both ways), float4
// for float32 tables whose rows are 16-byte aligned.
#include <cuda_fp16.h>

#include <cstdint>

#include "check.h"
#include "small_ops.cuh"

namespace cr::cuda {
namespace {

constexpr unsigned long long kNoneBad = ~0ull;

__global__ void checkIdsKernel(const int32_t* ids, int64_t count, int64_t vocab, unsigned long long* firstBad) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int32_t id = ids[i];
    if (id < 0 || id >= vocab) atomicMin(firstBad, static_cast<unsigned long long>(i));
  }
}

__device__ __forceinline__ float widen(uint16_t bits, DType type) {
  if (type == DType::BF16) return __uint_as_float(static_cast<uint32_t>(bits) << 16);
  return __half2float(__ushort_as_half(bits));
}

template <bool VEC4>
__global__ void gatherKernel(cpu::EmbeddingArgs g, const unsigned long long* firstBad) {
  if (*firstBad != kNoneBad) return;
  for (int64_t i = blockIdx.x; i < g.count; i += gridDim.x) {
    const int64_t row = g.ids[i];
    float* y = g.y + i * g.dim;
    if (g.tableType == DType::F32) {
      const float* src = static_cast<const float*>(g.table) + row * g.dim;
      if constexpr (VEC4) {
        for (int64_t j = threadIdx.x; j < g.dim / 4; j += blockDim.x) {
          reinterpret_cast<float4*>(y)[j] = reinterpret_cast<const float4*>(src)[j];
        }
      } else {
        for (int64_t j = threadIdx.x; j < g.dim; j += blockDim.x) y[j] = src[j];
      }
    } else {
      const uint16_t* src = static_cast<const uint16_t*>(g.table) + row * g.dim;
      for (int64_t j = threadIdx.x; j < g.dim; j += blockDim.x) y[j] = widen(src[j], g.tableType);
    }
  }
}

}  // namespace

void embedding(const cpu::EmbeddingArgs& g, unsigned long long* firstBad, cudaStream_t stream) {
  CR_CUDA_CHECK(cudaMemsetAsync(firstBad, 0xff, sizeof(unsigned long long), stream));
  if (g.count == 0) return;
  constexpr int64_t kMaxBlocks = 65535 * 16;
  const int64_t checkBlocks = (g.count + 255) / 256;
  checkIdsKernel<<<static_cast<unsigned>(checkBlocks < kMaxBlocks ? checkBlocks : kMaxBlocks), 256, 0, stream>>>(
      g.ids, g.count, g.vocab, firstBad);
  if (g.dim == 0) return;
  int threads = 32;
  while (threads < 256 && threads < g.dim) threads *= 2;
  const unsigned blocks = static_cast<unsigned>(g.count < kMaxBlocks ? g.count : kMaxBlocks);
  const bool vec4 = g.tableType == DType::F32 && g.dim % 4 == 0 && (reinterpret_cast<uintptr_t>(g.table) & 15) == 0 &&
                    (reinterpret_cast<uintptr_t>(g.y) & 15) == 0;
  if (vec4) gatherKernel<true><<<blocks, threads, 0, stream>>>(g, firstBad);
  else gatherKernel<false><<<blocks, threads, 0, stream>>>(g, firstBad);
}

}  // namespace cr::cuda
