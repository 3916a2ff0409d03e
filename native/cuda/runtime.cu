// The CUDA runtime: the caching device allocator, per-thread streams, pinned
// staging for host copies, and per-stream scratch arenas (see runtime.h for
// the ordering rules everything here relies on).
#include <cuda_runtime.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "check.h"
#include "kernels.cuh"
#include "launch.h"
#include "runtime.h"

namespace cr::cuda {

namespace {

constexpr int kDevice = 0;

// ---- availability ------------------------------------------------------------

struct Availability {
  bool ok = false;
  std::string why;
};

const Availability& availability() {
  static const Availability state = [] {
    Availability a;
    int count = 0;
    const cudaError_t status = cudaGetDeviceCount(&count);
    if (status != cudaSuccess) {
      a.why = std::string("no usable CUDA device (") + cudaGetErrorString(status) + ")";
      cudaGetLastError();
    } else if (count == 0) {
      a.why = "no CUDA device found";
    } else {
      a.ok = true;
    }
    return a;
  }();
  return state;
}

void requireDevice() {
  const Availability& a = availability();
  if (!a.ok) throwError("CUDA: ", a.why);
  // The runtime's current device is per thread; executor threads start on
  // device 0 anyway, but say so once per thread.
  thread_local bool selected = false;
  if (!selected) {
    CR_CUDA_CHECK(cudaSetDevice(kDevice));
    selected = true;
  }
}

// ---- caching allocator ---------------------------------------------------------
//
// Blocks are rounded to a size class and kept in a free list when released,
// so steady-state inference (the same shapes every step) never calls
// cudaMalloc/cudaFree, both of which synchronise the device.

size_t roundSize(size_t bytes) {
  constexpr size_t kSmall = 512, kLarge = size_t(2) << 20;
  if (bytes <= (size_t(1) << 20)) return (bytes + kSmall - 1) / kSmall * kSmall;
  return (bytes + kLarge - 1) / kLarge * kLarge;
}

class CachingAllocator {
 public:
  void* alloc(size_t bytes) {
    if (bytes == 0) return nullptr;
    requireDevice();
    const size_t size = roundSize(bytes);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      // A cached block at most 1/8 larger than asked for: reuse without much waste.
      auto it = free_.lower_bound(size);
      if (it != free_.end() && it->first <= size + size / 8) {
        void* ptr = it->second;
        cached_ -= it->first;
        inUse_ += it->first;
        live_[ptr] = it->first;
        free_.erase(it);
        return ptr;
      }
    }
    void* ptr = nullptr;
    cudaError_t status = cudaMalloc(&ptr, size);
    if (status == cudaErrorMemoryAllocation) {
      cudaGetLastError();
      releaseCached();
      status = cudaMalloc(&ptr, size);
    }
    if (status != cudaSuccess) {
      cudaGetLastError();
      if (status == cudaErrorMemoryAllocation) {
        throwRange("CUDA: out of device memory allocating ", bytes, " bytes (", inUse_, " bytes in use)");
      }
      CR_CUDA_CHECK(status);
    }
    std::lock_guard<std::mutex> lock(mutex_);
    live_[ptr] = size;
    inUse_ += size;
    return ptr;
  }

  void release(void* ptr) {
    if (ptr == nullptr) return;
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = live_.find(ptr);
    if (it == live_.end()) return;  // not ours: never free what we did not allocate
    free_.emplace(it->second, ptr);
    cached_ += it->second;
    inUse_ -= it->second;
    live_.erase(it);
  }

  void releaseCached() {
    std::multimap<size_t, void*> blocks;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      blocks.swap(free_);
      cached_ = 0;
    }
    for (auto& [size, ptr] : blocks) cudaFree(ptr);
    cudaGetLastError();
  }

  size_t inUse() {
    std::lock_guard<std::mutex> lock(mutex_);
    return inUse_;
  }
  size_t cached() {
    std::lock_guard<std::mutex> lock(mutex_);
    return cached_;
  }

 private:
  std::mutex mutex_;
  std::multimap<size_t, void*> free_;
  std::unordered_map<void*, size_t> live_;
  size_t inUse_ = 0, cached_ = 0;
};

// Never destroyed: finalisers of device tensors may run during teardown.
CachingAllocator& allocator() {
  static CachingAllocator* instance = new CachingAllocator();
  return *instance;
}

// ---- per-thread stream and pinned staging -----------------------------------------

constexpr size_t kStagingBytes = size_t(4) << 20;  // per buffer; two per thread

struct ThreadState {
  cudaStream_t stream = nullptr;
  void* staging[2] = {nullptr, nullptr};
  cudaEvent_t staged[2] = {nullptr, nullptr};  // when the copy out of/into staging[i] is done
  ~ThreadState() {
    // Errors are ignored: at process exit the runtime may already be shutting down.
    if (stream != nullptr) cudaStreamSynchronize(stream);
    for (int i = 0; i < 2; ++i) {
      if (staged[i] != nullptr) cudaEventDestroy(staged[i]);
      if (staging[i] != nullptr) cudaFreeHost(staging[i]);
    }
    if (stream != nullptr) cudaStreamDestroy(stream);
    cudaGetLastError();
  }
};

ThreadState& rawThreadState() {
  thread_local ThreadState state;
  return state;
}

ThreadState& threadState() {
  ThreadState& state = rawThreadState();
  if (state.stream == nullptr) {
    requireDevice();
    CR_CUDA_CHECK(cudaStreamCreateWithFlags(&state.stream, cudaStreamNonBlocking));
  }
  return state;
}

void ensureStaging(ThreadState& s) {
  if (s.staging[0] != nullptr) return;
  for (int i = 0; i < 2; ++i) {
    CR_CUDA_CHECK(cudaHostAlloc(&s.staging[i], kStagingBytes, cudaHostAllocDefault));
    CR_CUDA_CHECK(cudaEventCreateWithFlags(&s.staged[i], cudaEventDisableTiming));
  }
}

// ---- scratch --------------------------------------------------------------------------

constexpr size_t kScratchAlign = 256;

struct ScratchArena {
  std::vector<std::pair<void*, size_t>> chunks;  // the last one is being bumped
  size_t used = 0;                               // bytes used in the last chunk
  size_t wanted = 0;                             // total the previous op needed
};

std::mutex scratchMutex;
std::unordered_map<cudaStream_t, ScratchArena>& scratchArenas() {
  static auto* arenas = new std::unordered_map<cudaStream_t, ScratchArena>();
  return *arenas;
}

thread_local int batchDepth = 0;
thread_local bool opDeferrable = false;
// Set when an op of the current batch left its wait to the batch. A batch without one (every CPU batch) never
// touches the CUDA runtime at its end: on a machine without a driver any CUDA call fails.
thread_local bool waitPending = false;

// Ops whose CUDA implementation never reads device memory on the host after launching without waiting for the
// stream itself: they may leave the wait to the batch. Any other op (embedding reads its bad-id report back and
// relies on its scope's wait; an op added later is unknown) waits as it does alone.
bool deferrable(const char* op) {
  static const char* const names[] = {"matmul", "linear", "bmm", "elementwise", "rmsNorm", "layerNorm", "softmax",
                                      "rope", "expand", "permute", "concat", "slice", "causalConv1d",
                                      "selectiveScan", "diagonalScan", "blockScan", "linearAttention", "mlstm",
                                      "attention"};
  for (const char* name : names) {
    if (std::strcmp(name, op) == 0) return true;
  }
  return false;
}

// End of a batch: wait for this thread's stream (if it ever made one), then recycle its scratch.
cudaError_t drainThreadStream() {
  cudaStream_t stream = rawThreadState().stream;
  if (stream == nullptr) return cudaSuccess;
  const cudaError_t ran = cudaStreamSynchronize(stream);
  resetScratch(stream);
  return ran;
}

}  // namespace

// ---- runtime.h ---------------------------------------------------------------------------

bool deviceAvailable(std::string* why) {
  const Availability& a = availability();
  if (!a.ok && why != nullptr) *why = a.why;
  return a.ok;
}

void* deviceAlloc(size_t bytes) { return allocator().alloc(bytes); }
void deviceFree(void* ptr) { allocator().release(ptr); }
size_t deviceBytesInUse() { return allocator().inUse(); }
size_t deviceBytesCached() { return allocator().cached(); }
void releaseCachedMemory() { allocator().releaseCached(); }

cudaStream_t threadStream() { return threadState().stream; }

void fillBytes(void* dst, int byte, size_t bytes) {
  if (bytes == 0) return;
  ThreadState& s = threadState();
  CR_CUDA_CHECK(cudaMemsetAsync(dst, byte, bytes, s.stream));
  CR_CUDA_CHECK(cudaStreamSynchronize(s.stream));
}

// Host memory of a typed array is pageable: a direct cudaMemcpy would stage it
// through the driver's own small pinned buffer anyway. Two reused pinned
// buffers let the memcpy into one overlap the DMA out of the other.
void copyToDevice(void* dst, const void* hostSrc, size_t bytes) {
  if (bytes == 0) return;
  ThreadState& s = threadState();
  ensureStaging(s);
  const char* src = static_cast<const char*>(hostSrc);
  char* out = static_cast<char*>(dst);
  bool pending[2] = {false, false};
  for (size_t offset = 0, i = 0; offset < bytes; offset += kStagingBytes, ++i) {
    const int b = static_cast<int>(i & 1);
    const size_t n = std::min(kStagingBytes, bytes - offset);
    if (pending[b]) CR_CUDA_CHECK(cudaEventSynchronize(s.staged[b]));
    std::memcpy(s.staging[b], src + offset, n);
    CR_CUDA_CHECK(cudaMemcpyAsync(out + offset, s.staging[b], n, cudaMemcpyHostToDevice, s.stream));
    CR_CUDA_CHECK(cudaEventRecord(s.staged[b], s.stream));
    pending[b] = true;
  }
  CR_CUDA_CHECK(cudaStreamSynchronize(s.stream));
}

void copyToHost(void* hostDst, const void* src, size_t bytes) {
  if (bytes == 0) return;
  ThreadState& s = threadState();
  ensureStaging(s);
  const char* in = static_cast<const char*>(src);
  char* out = static_cast<char*>(hostDst);
  const size_t chunks = (bytes + kStagingBytes - 1) / kStagingBytes;
  auto issue = [&](size_t i) {
    const int b = static_cast<int>(i & 1);
    const size_t offset = i * kStagingBytes;
    const size_t n = std::min(kStagingBytes, bytes - offset);
    CR_CUDA_CHECK(cudaMemcpyAsync(s.staging[b], in + offset, n, cudaMemcpyDeviceToHost, s.stream));
    CR_CUDA_CHECK(cudaEventRecord(s.staged[b], s.stream));
  };
  issue(0);
  if (chunks > 1) issue(1);
  for (size_t i = 0; i < chunks; ++i) {
    const int b = static_cast<int>(i & 1);
    const size_t offset = i * kStagingBytes;
    const size_t n = std::min(kStagingBytes, bytes - offset);
    CR_CUDA_CHECK(cudaEventSynchronize(s.staged[b]));
    std::memcpy(out + offset, s.staging[b], n);
    if (i + 2 < chunks) issue(i + 2);
  }
}

void copyOnDevice(void* dst, const void* src, size_t bytes) {
  if (bytes == 0) return;
  ThreadState& s = threadState();
  CR_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, s.stream));
  CR_CUDA_CHECK(cudaStreamSynchronize(s.stream));
}

// ---- kernels.cuh: scratch ------------------------------------------------------------------

void* scratch(size_t bytes, cudaStream_t stream) {
  const size_t size = (std::max<size_t>(bytes, 1) + kScratchAlign - 1) / kScratchAlign * kScratchAlign;
  std::lock_guard<std::mutex> lock(scratchMutex);
  ScratchArena& arena = scratchArenas()[stream];
  if (!arena.chunks.empty() && arena.used + size <= arena.chunks.back().second) {
    char* ptr = static_cast<char*>(arena.chunks.back().first) + arena.used;
    arena.used += size;
    return ptr;
  }
  // A new chunk: at least what the previous op needed in all, so that a
  // repeated op settles on one chunk.
  const size_t chunk = std::max({size, arena.wanted, size_t(1) << 20});
  void* ptr = allocator().alloc(chunk);  // cudaMalloc memory is 256-byte aligned
  arena.chunks.emplace_back(ptr, chunk);
  arena.used = size;
  return ptr;
}

bool opWaitsDeferred() { return batchDepth > 0 && opDeferrable; }

void recycleScratchInFlight(cudaStream_t stream) {
  waitPending = true;
  std::lock_guard<std::mutex> lock(scratchMutex);
  auto it = scratchArenas().find(stream);
  if (it == scratchArenas().end()) return;
  // Only the bump pointer: the next op on this stream runs after the earlier kernels (stream order), so it may
  // reuse their scratch; the chunks stay held (not back in the shared cache) until the batch has drained.
  it->second.used = 0;
}

BatchScope::BatchScope() { ++batchDepth; }

void BatchScope::nextOp(const char* op) { opDeferrable = deferrable(op); }

BatchScope::~BatchScope() {
  if (finished_) return;
  // Unwinding (an op threw): still wait, so no kernel outlives the buffers the caller is about to drop.
  if (--batchDepth == 0 && waitPending) {
    waitPending = false;
    drainThreadStream();
    cudaGetLastError();
  }
}

void BatchScope::finish() {
  finished_ = true;
  if (--batchDepth > 0 || !waitPending) return;
  waitPending = false;
  const cudaError_t launched = cudaGetLastError();
  const cudaError_t ran = drainThreadStream();
  CR_CUDA_CHECK(launched);
  CR_CUDA_CHECK(ran);
}

void resetScratch(cudaStream_t stream) {
  std::lock_guard<std::mutex> lock(scratchMutex);
  auto it = scratchArenas().find(stream);
  if (it == scratchArenas().end()) return;
  ScratchArena& arena = it->second;
  if (arena.chunks.size() > 1) {
    size_t total = 0;
    for (auto& [ptr, size] : arena.chunks) {
      total += size;
      allocator().release(ptr);  // the stream is idle: nothing still uses them
    }
    arena.chunks.clear();
    arena.wanted = total;
  }
  arena.used = 0;
}

}  // namespace cr::cuda
