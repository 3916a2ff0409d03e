// The CUDA kernels, one host function per kernel. Each takes the CPU kernel's
// Args struct (native/cpu/kernels.h) whose pointers are DEVICE pointers, and
// the stream to launch on; it launches asynchronously and returns (launch
// errors are picked up by the caller's CR_CUDA_CHECK(cudaGetLastError())).
#pragma once
#include <cuda_runtime.h>

#include <cstddef>

#include "../cpu/kernels.h"

namespace cr::cuda {

void gemm(const cpu::GemmArgs& args, cudaStream_t stream);                    // native/cuda/gemm.cu
void attention(const cpu::AttentionArgs& args, cudaStream_t stream);          // native/cuda/attention.cu
void selectiveScan(const cpu::SelectiveScanArgs& args, cudaStream_t stream);  // native/cuda/selective_scan.cu
void causalConv1d(const cpu::CausalConv1dArgs& args, cudaStream_t stream);    // native/cuda/causal_conv1d.cu

// Device scratch for a kernel launched on `stream`: valid until the op that
// asked for it has finished (the dispatcher resets it after the stream is
// synchronised). Calls within one op return distinct regions, 256-byte aligned.
void* scratch(size_t bytes, cudaStream_t stream);

}  // namespace cr::cuda
