// cooperative_groups for the emu build: this_thread_block() and this_grid() with sync(),
// thread_rank() and size(). A grid sync is legal only in a cooperative launch
// (cudaLaunchCooperativeKernel), where every block runs at once on its own OS thread.
// sync() records its call site through default arguments, for the divergence checks.
#pragma once
#include "emu.h"

namespace cooperative_groups {

class thread_block {
 public:
  void sync(const char* file = __builtin_FILE(), int line = __builtin_LINE()) const { ::cr::emu::syncThreads(file, line); }
  unsigned thread_rank() const { return (threadIdx.z * blockDim.y + threadIdx.y) * blockDim.x + threadIdx.x; }
  unsigned size() const { return blockDim.x * blockDim.y * blockDim.z; }
  unsigned num_threads() const { return size(); }
  dim3 group_index() const { return dim3(blockIdx.x, blockIdx.y, blockIdx.z); }
  dim3 thread_index() const { return dim3(threadIdx.x, threadIdx.y, threadIdx.z); }
  dim3 group_dim() const { return blockDim; }
  dim3 dim_threads() const { return blockDim; }
};

class grid_group {
 public:
  void sync(const char* file = __builtin_FILE(), int line = __builtin_LINE()) const { ::cr::emu::gridSync(file, line); }
  bool is_valid() const { return true; }
  unsigned long long block_rank() const {
    return (static_cast<unsigned long long>(blockIdx.z) * gridDim.y + blockIdx.y) * gridDim.x + blockIdx.x;
  }
  unsigned long long num_blocks() const { return static_cast<unsigned long long>(gridDim.x) * gridDim.y * gridDim.z; }
  unsigned long long thread_rank() const { return block_rank() * threadsPerBlock() + thread_block().thread_rank(); }
  unsigned long long size() const { return num_blocks() * threadsPerBlock(); }
  unsigned long long num_threads() const { return size(); }
  dim3 group_dim() const { return gridDim; }
  dim3 dim_blocks() const { return gridDim; }
  dim3 block_index() const { return dim3(blockIdx.x, blockIdx.y, blockIdx.z); }

 private:
  static unsigned long long threadsPerBlock() { return static_cast<unsigned long long>(blockDim.x) * blockDim.y * blockDim.z; }
};

inline thread_block this_thread_block() { return thread_block(); }
inline grid_group this_grid() { return grid_group(); }
template <typename Group>
inline void sync(const Group& g, const char* file = __builtin_FILE(), int line = __builtin_LINE()) { g.sync(file, line); }

}  // namespace cooperative_groups
