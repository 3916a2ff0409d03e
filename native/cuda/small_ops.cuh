// Host launch functions of the small ops (elementwise, norms, softmax, rope,
// embedding, layout copies, mixture of experts). Each takes the CPU kernel's
// Args struct with DEVICE pointers, launches on `stream` and returns without
// waiting, like the functions in kernels.cuh.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "../cpu/kernels.h"

namespace cr::cuda {

// The program and constants are read from device memory (g.program,
// g.constants) into shared memory by every block; the op has checked a host
// copy of the program already.
// foldedProgram: null (the kernel reads g.program and g.constants from the device), or the checked program as host
// (opcode, argument) pairs with every Const's argument replaced by its float's bits, at most kInlineInstructions,
// passed to the kernel by value.
constexpr int kInlineInstructions = 256;
void elementwise(const cpu::ElementwiseArgs& g, const int32_t* foldedProgram, cudaStream_t stream);  // native/cuda/elementwise.cu
void norm(const cpu::NormArgs& g, cudaStream_t stream);                // native/cuda/norm.cu
void softmax(const cpu::SoftmaxArgs& g, cudaStream_t stream);          // native/cuda/softmax.cu
void rope(const cpu::RopeArgs& g, cudaStream_t stream);                // native/cuda/rope.cu
// Checks every id against [0, vocab) first; with a bad one nothing is written
// and *firstBad (device memory, set to INT64_MAX by this function) receives
// the lowest bad index. The caller reads it back once the stream is done.
void embedding(const cpu::EmbeddingArgs& g, unsigned long long* firstBad, cudaStream_t stream);  // native/cuda/embedding.cu
void copy(const cpu::CopyArgs& g, cudaStream_t stream);                // native/cuda/layout.cu
// Synchronises `stream` once (to size the per-expert GEMMs from the routing);
// everything else stays on the device.
void moe(const cpu::MoeArgs& g, cudaStream_t stream);                  // native/cuda/moe.cu

}  // namespace cr::cuda
