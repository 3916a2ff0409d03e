// The CUDA FFT-convolution family: host launch functions of native/cuda/fft_conv.cu
// and ssm_kernel.cu (registered for CUDA by native/cuda/fft_dispatch.cc). Like the
// kernels in kernels.cuh, each takes the CPU kernel's Args struct with DEVICE
// pointers, launches asynchronously on `stream` and returns.
#pragma once
#include <cuda_runtime.h>

#include "../cpu/kernels.h"

namespace cr::cuda {

void fftConv(const cpu::FftConvArgs& args, cudaStream_t stream);      // native/cuda/fft_conv.cu
void ssmKernel(const cpu::SsmKernelArgs& args, cudaStream_t stream);  // native/cuda/ssm_kernel.cu

}  // namespace cr::cuda
