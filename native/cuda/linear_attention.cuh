// Host launch functions of the linear-attention family (linearAttention, mlstm). Like
// kernels.cuh: the CPU kernel's Args struct with DEVICE pointers, launched asynchronously on
// `stream`; device scratch from cr::cuda::scratch.
#pragma once
#include <cuda_runtime.h>

#include "../cpu/kernels.h"

namespace cr::cuda {

void linearAttention(const cpu::LinearAttentionArgs& args, cudaStream_t stream);  // native/cuda/linear_attention.cu
void mlstm(const cpu::MlstmArgs& args, cudaStream_t stream);                      // native/cuda/mlstm.cu

}  // namespace cr::cuda
