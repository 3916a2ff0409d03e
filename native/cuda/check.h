// CR_CUDA_CHECK: turns a failed CUDA runtime call into the project's error
// type (cr::Error), which the N-API layer maps onto a JS error like every op
// error. Out-of-memory becomes a RangeError, everything else an Error.
#pragma once
#include <cuda_runtime.h>

#include "../core/error.h"

namespace cr::cuda {

[[noreturn]] inline void throwCudaError(cudaError_t status, const char* what, const char* file, int line) {
  cudaGetLastError();  // clear a non-sticky error so the thread's next call starts clean
  if (status == cudaErrorMemoryAllocation) {
    throwRange("CUDA: out of device memory (", what, ")");
  }
  throwError("CUDA error ", cudaGetErrorName(status), ": ", cudaGetErrorString(status), " (", what, " at ", file, ":",
             line, ")");
}

}  // namespace cr::cuda

#define CR_CUDA_CHECK(expr)                                                            \
  do {                                                                                 \
    const cudaError_t cr_cuda_status_ = (expr);                                        \
    if (cr_cuda_status_ != cudaSuccess) {                                              \
      ::cr::cuda::throwCudaError(cr_cuda_status_, #expr, __FILE__, __LINE__);          \
    }                                                                                  \
  } while (0)
