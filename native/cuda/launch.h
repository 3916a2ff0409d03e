// What a CUDA op needs to launch its kernels: the calling thread's stream and
// a scope that, when the op returns or throws, waits for the stream, checks
// for errors and recycles the op's scratch memory.
#pragma once
#include <cuda_runtime.h>

#include "check.h"

namespace cr::cuda {

// This thread's stream (created on first use; non-blocking w.r.t. stream 0).
cudaStream_t threadStream();
// Called by OpScope: the op's scratch is free for the next op on `stream`.
void resetScratch(cudaStream_t stream);
// Inside a BatchScope (runtime.h): ops do not wait for their stream; the batch does, once.
bool opWaitsDeferred();
// The op's scratch may be reused by the next op on `stream` (stream order) though its kernels may still run.
void recycleScratchInFlight(cudaStream_t stream);

class OpScope {
 public:
  OpScope() : stream_(threadStream()) {}
  OpScope(const OpScope&) = delete;
  OpScope& operator=(const OpScope&) = delete;
  ~OpScope() {
    if (!finished_) {
      // Unwinding: still wait, so the scratch is not handed out while in use.
      cudaStreamSynchronize(stream_);
      cudaGetLastError();
      resetScratch(stream_);
    }
  }
  cudaStream_t stream() const { return stream_; }
  // Checks the launches, waits for the stream (or leaves that to the enclosing batch), and recycles the scratch.
  void finish() {
    finished_ = true;
    const cudaError_t launched = cudaGetLastError();
    if (opWaitsDeferred()) {
      recycleScratchInFlight(stream_);
      CR_CUDA_CHECK(launched);
      return;
    }
    const cudaError_t ran = cudaStreamSynchronize(stream_);
    resetScratch(stream_);
    CR_CUDA_CHECK(launched);
    CR_CUDA_CHECK(ran);
  }

 private:
  cudaStream_t stream_;
  bool finished_ = false;
};

}  // namespace cr::cuda
