// The CUDA runtime as the rest of crossroad sees it: plain C++, no CUDA types,
// so the N-API layer can use it without CUDA headers. Only compiled in the
// cmake-js build with CR_WITH_CUDA. Everything here uses device 0.
//
// Ordering: every thread that touches the device (the JS thread, each executor
// thread) has its own non-blocking stream. Every copy and every op waits for
// its stream before it returns, so work never outlives the call that issued
// it: a buffer's memory can go back to the cache as soon as its JS object is
// collected (an async job keeps its buffers' objects alive until it settles).
#pragma once
#include <cstddef>
#include <string>
#include <vector>

#include "../ops/op_table.h"

namespace cr::cuda {

// True when a device can be used; otherwise says why in `why`.
bool deviceAvailable(std::string* why);

// Device memory from the caching allocator (never cudaMalloc per tensor).
// alloc(0) returns nullptr; free(nullptr) does nothing. Throws cr::Error.
void* deviceAlloc(size_t bytes);
void deviceFree(void* ptr);
// Bytes held by live allocations and by the cache (for tests and benchmarks).
size_t deviceBytesInUse();
size_t deviceBytesCached();
// Returns every cached (unused) block to the driver.
void releaseCachedMemory();

// Synchronous on the calling thread's stream (they return when the copy is done).
void fillBytes(void* dst, int byte, size_t bytes);
void copyToDevice(void* dst, const void* hostSrc, size_t bytes);  // through reused pinned staging buffers
void copyToHost(void* hostDst, const void* src, size_t bytes);    // the same, the other way
void copyOnDevice(void* dst, const void* src, size_t bytes);

// The CUDA op table: ops with a CUDA implementation, by name.
OpFn findOp(const std::string& name);  // nullptr when the op has none
std::vector<std::string> opNames();
// Adds an op (native/cuda/sequence_dispatch.cc registers its ops this way).
void registerOp(const char* name, OpFn run);

// A batch of ops on one thread (runBatchSync/runBatchAsync: a whole model forward) waits for its stream once, at
// finish(), instead of after every op: the ops of one thread share its stream, so they run in order anyway, and a
// decode step of a few hundred small ops is not a few hundred host round trips. Ops that read device memory on
// the host copy it on their stream and wait for it themselves (as attention's kvLengths and moe's routing do), so
// they see the earlier ops' results; only ops known to do so (a list in runtime.cu) skip their wait, any other op
// waits as it does alone. An op's kernel errors may then surface at the batch's end. Nested scopes are one.
class BatchScope {
 public:
  BatchScope();
  ~BatchScope();
  BatchScope(const BatchScope&) = delete;
  BatchScope& operator=(const BatchScope&) = delete;
  // Says which op runs next on this thread (whether it may skip its own wait).
  void nextOp(const char* op);
  // Waits for the stream and throws the first error of the batch's kernels.
  void finish();

 private:
  bool finished_ = false;
};

}  // namespace cr::cuda
