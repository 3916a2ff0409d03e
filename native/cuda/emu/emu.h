// The CUDA execution model on the CPU (the emu build, CROSSROAD_CUDA=EMU): just enough of
// the CUDA runtime and device language for native/cuda/*.cu to compile with g++ and run.
//
// A launch runs its blocks one after another on the launching OS thread; the threads of a
// block are fibers on that thread (see emu.cc), so `__shared__` can be a function-static
// thread_local: exactly one copy per running block. Collectives (__syncthreads, warp
// shuffles/votes, __syncwarp, WMMA mma_sync) switch fibers and check that every thread
// that must take part does, at the same kind of collective; a violation, or a fault on a
// device buffer's guard page, becomes a cr::Error thrown from the launch naming the kernel,
// block, thread and source line. See README.md for what is and is not checked.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <tuple>
#include <utility>

// ---- language keywords --------------------------------------------------------------------
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline __attribute__((always_inline))
#define __launch_bounds__(...)
#define __shared__ static thread_local
#define __constant__ static
#define __align__(n) __attribute__((aligned(n)))
#define __CUDACC_EMU__ 1

// ---- vector types ---------------------------------------------------------------------------
struct __align__(8) float2 { float x, y; };
struct float3 { float x, y, z; };
struct __align__(16) float4 { float x, y, z, w; };
struct __align__(8) int2 { int x, y; };
struct int3 { int x, y, z; };
struct __align__(16) int4 { int x, y, z, w; };
struct __align__(8) uint2 { unsigned x, y; };
struct uint3 { unsigned x, y, z; };
struct __align__(16) uint4 { unsigned x, y, z, w; };
struct __align__(16) double2 { double x, y; };
struct dim3 {
  unsigned x, y, z;
  constexpr dim3(unsigned vx = 1, unsigned vy = 1, unsigned vz = 1) : x(vx), y(vy), z(vz) {}
  constexpr dim3(uint3 v) : x(v.x), y(v.y), z(v.z) {}
  constexpr operator uint3() const { return uint3{x, y, z}; }
};
inline float2 make_float2(float x, float y) { return float2{x, y}; }
inline float3 make_float3(float x, float y, float z) { return float3{x, y, z}; }
inline float4 make_float4(float x, float y, float z, float w) { return float4{x, y, z, w}; }
inline int2 make_int2(int x, int y) { return int2{x, y}; }
inline int4 make_int4(int x, int y, int z, int w) { return int4{x, y, z, w}; }
inline uint2 make_uint2(unsigned x, unsigned y) { return uint2{x, y}; }
inline uint3 make_uint3(unsigned x, unsigned y, unsigned z) { return uint3{x, y, z}; }
inline uint4 make_uint4(unsigned x, unsigned y, unsigned z, unsigned w) { return uint4{x, y, z, w}; }

// ---- runtime types ------------------------------------------------------------------------------
enum cudaError_t {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorMemoryAllocation = 2,
  cudaErrorInitializationError = 3,
  cudaErrorLaunchFailure = 4,
  cudaErrorInvalidConfiguration = 9,
  cudaErrorInvalidDevice = 101,
  cudaErrorInvalidResourceHandle = 400,
  cudaErrorNotReady = 600,
  cudaErrorIllegalAddress = 700,
  cudaErrorLaunchOutOfResources = 701,
  cudaErrorCooperativeLaunchTooLarge = 720,
  cudaErrorUnknown = 999,
};
typedef cudaError_t cudaError;
struct CUstream_st;
typedef CUstream_st* cudaStream_t;
struct CUevent_st;
typedef CUevent_st* cudaEvent_t;
enum cudaMemcpyKind {
  cudaMemcpyHostToHost = 0,
  cudaMemcpyHostToDevice = 1,
  cudaMemcpyDeviceToHost = 2,
  cudaMemcpyDeviceToDevice = 3,
  cudaMemcpyDefault = 4,
};
enum cudaFuncAttribute {
  cudaFuncAttributeMaxDynamicSharedMemorySize = 8,
  cudaFuncAttributePreferredSharedMemoryCarveout = 9,
};
enum cudaDeviceAttr {
  cudaDevAttrMaxThreadsPerBlock = 1,
  cudaDevAttrMaxSharedMemoryPerBlock = 8,
  cudaDevAttrWarpSize = 10,
  cudaDevAttrClockRate = 13,
  cudaDevAttrMultiProcessorCount = 16,
  cudaDevAttrMemoryClockRate = 36,
  cudaDevAttrGlobalMemoryBusWidth = 37,
  cudaDevAttrL2CacheSize = 38,
  cudaDevAttrMaxThreadsPerMultiProcessor = 39,
  cudaDevAttrComputeCapabilityMajor = 75,
  cudaDevAttrComputeCapabilityMinor = 76,
  cudaDevAttrMaxSharedMemoryPerMultiprocessor = 81,
  cudaDevAttrCooperativeLaunch = 95,
  cudaDevAttrMaxSharedMemoryPerBlockOptin = 97,
};
#define cudaStreamDefault 0x00
#define cudaStreamNonBlocking 0x01
#define cudaEventDefault 0x00
#define cudaEventBlockingSync 0x01
#define cudaEventDisableTiming 0x02
#define cudaHostAllocDefault 0x00
#define cudaHostAllocPortable 0x01
#define cudaHostAllocMapped 0x02
#define cudaHostAllocWriteCombined 0x04
#define CUDART_VERSION 13000
#define cudaStreamPerThread (reinterpret_cast<cudaStream_t>(0x2))
#define cudaStreamLegacy (reinterpret_cast<cudaStream_t>(0x1))

struct cudaDeviceProp {
  char name[256];
  size_t totalGlobalMem;
  size_t sharedMemPerBlock;
  int regsPerBlock;
  int warpSize;
  int maxThreadsPerBlock;
  int maxThreadsDim[3];
  int maxGridSize[3];
  size_t totalConstMem;
  int major;
  int minor;
  int multiProcessorCount;
  int maxThreadsPerMultiProcessor;
  size_t sharedMemPerMultiprocessor;
  size_t sharedMemPerBlockOptin;
  int l2CacheSize;
  int memoryBusWidth;
  int cooperativeLaunch;
};

// ---- runtime API (emu.cc) ---------------------------------------------------------------------------
cudaError_t cudaGetDeviceCount(int* count);
cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device);
cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr attr, int device);
cudaError_t cudaSetDevice(int device);
cudaError_t cudaGetDevice(int* device);
cudaError_t cudaDeviceSynchronize();
cudaError_t cudaDriverGetVersion(int* version);
cudaError_t cudaRuntimeGetVersion(int* version);
cudaError_t cudaGetLastError();
cudaError_t cudaPeekAtLastError();
const char* cudaGetErrorString(cudaError_t error);
const char* cudaGetErrorName(cudaError_t error);
cudaError_t cudaMalloc(void** ptr, size_t bytes);
cudaError_t cudaFree(void* ptr);
cudaError_t cudaMallocHost(void** ptr, size_t bytes);
cudaError_t cudaHostAlloc(void** ptr, size_t bytes, unsigned flags);
cudaError_t cudaFreeHost(void* ptr);
cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind);
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind, cudaStream_t stream = nullptr);
cudaError_t cudaMemset(void* dst, int value, size_t bytes);
cudaError_t cudaMemsetAsync(void* dst, int value, size_t bytes, cudaStream_t stream = nullptr);
cudaError_t cudaStreamCreate(cudaStream_t* stream);
cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned flags);
cudaError_t cudaStreamDestroy(cudaStream_t stream);
cudaError_t cudaStreamSynchronize(cudaStream_t stream);
cudaError_t cudaStreamQuery(cudaStream_t stream);
cudaError_t cudaStreamWaitEvent(cudaStream_t stream, cudaEvent_t event, unsigned flags = 0);
cudaError_t cudaEventCreate(cudaEvent_t* event);
cudaError_t cudaEventCreateWithFlags(cudaEvent_t* event, unsigned flags);
cudaError_t cudaEventDestroy(cudaEvent_t event);
cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream = nullptr);
cudaError_t cudaEventSynchronize(cudaEvent_t event);
cudaError_t cudaEventQuery(cudaEvent_t event);
cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t start, cudaEvent_t end);

namespace cr::emu {

// ---- the running thread's context -------------------------------------------------------------------
struct ThreadContext {
  uint3 thread;
  uint3 block;
  dim3 blockDim_;
  dim3 gridDim_;
};
extern thread_local ThreadContext* current;

// Per-block dynamic shared memory of the running block (poisoned with 0xff bytes: NaN floats).
void* dynamicShared();

// A static __shared__ variable of the running kernel (the rewrite script declares one after
// each): filled with 0xff bytes now (its first use on this OS thread) and at every later block
// start of the same kernel on this thread.
void registerShared(void* address, size_t bytes);
struct SharedPoison {
  SharedPoison(void* address, size_t bytes) { registerShared(address, bytes); }
};

// Collectives (emu.cc). A warp op's value travels as 8 raw bytes.
enum class WarpOp { Sync, ShflIdx, ShflUp, ShflDown, ShflXor, Ballot, Any, All, Wmma };
uint64_t warpCollective(WarpOp op, unsigned mask, uint64_t value, int arg, int width, const char* file, int line);
void syncThreads(const char* file, int line);
// __syncthreads_count/_and/_or: a barrier that also reduces one int per thread (kind 0 count, 1 and, 2 or).
int syncThreadsReduce(int value, int kind, const char* file, int line);
unsigned activeMask();
// A WMMA mma_sync: the warp meets, then `compute(leaderData, laneData)` runs for the leader
// (the lowest lane) and then for every other lane, on the last lane to arrive, so the product
// is computed once; it returns false when a lane's operands differ from the leader's.
void warpMma(void* data, bool (*compute)(void* leader, void* lane), const char* file, int line);

// ---- launches -------------------------------------------------------------------------------------------
struct Body {
  void (*run)(void* self);
  void* self;
};
void launchKernel(const char* name, const void* kernel, dim3 grid, dim3 block, size_t smem, cudaStream_t stream,
                  Body body);
void setFuncMaxDynamicShared(const void* kernel, int bytes);

// Cooperative launches: every block on its own OS thread, all at once (grid-wide barriers).
cudaError_t launchCooperative(const char* name, const void* kernel, dim3 grid, dim3 block, size_t smem, cudaStream_t stream,
                              Body body);
int maxActiveBlocksPerMultiprocessor(int blockSize, size_t smem);
void gridSync(const char* file, int line);

// A kernel with its arguments converted to its parameter types once, at the launch, as CUDA
// copies them into the parameter buffer; each thread then calls it with its own copies.
template <typename... P>
struct BoundKernel {
  void (*kernel)(P...);
  std::tuple<std::decay_t<P>...> params;
  static void run(void* self) {
    auto* b = static_cast<BoundKernel*>(self);
    std::apply([b](auto&... p) { b->kernel(p...); }, b->params);
  }
};

template <typename... P>
class Launcher {
 public:
  Launcher(void (*kernel)(P...), const char* name, dim3 grid, dim3 block, size_t smem = 0, cudaStream_t stream = nullptr)
      : kernel_(kernel), name_(name), grid_(grid), block_(block), smem_(smem), stream_(stream) {}
  template <typename... A>
  void operator()(A&&... args) {
    BoundKernel<P...> bound{kernel_, std::tuple<std::decay_t<P>...>(std::forward<A>(args)...)};
    launchKernel(name_, reinterpret_cast<const void*>(kernel_), grid_, block_, smem_, stream_, Body{&BoundKernel<P...>::run, &bound});
  }

 private:
  void (*kernel_)(P...);
  const char* name_;
  dim3 grid_, block_;
  size_t smem_;
  cudaStream_t stream_;
};

template <typename... P, typename G, typename B, typename... Rest>
Launcher<P...> launch(void (*kernel)(P...), const char* name, G grid, B block, Rest... rest) {
  return Launcher<P...>(kernel, name, dim3(grid), dim3(block), rest...);
}

template <typename... P, size_t... I>
cudaError_t cooperative(const char* name, void (*kernel)(P...), dim3 grid, dim3 block, void** args, size_t smem,
                        cudaStream_t stream, std::index_sequence<I...>) {
  BoundKernel<P...> bound{kernel, std::tuple<std::decay_t<P>...>(*static_cast<std::decay_t<P>*>(args[I])...)};
  return launchCooperative(name, reinterpret_cast<const void*>(kernel), grid, block, smem, stream,
                           Body{&BoundKernel<P...>::run, &bound});
}
template <typename... P>
cudaError_t cooperative(const char* name, void (*kernel)(P...), dim3 grid, dim3 block, void** args, size_t smem = 0,
                        cudaStream_t stream = nullptr) {
  return cooperative(name, kernel, grid, block, args, smem, stream, std::index_sequence_for<P...>{});
}

template <typename T>
inline uint64_t toBits(T v) {
  static_assert(sizeof(T) <= 8 && std::is_trivially_copyable<T>::value, "warp exchange of at most 8 bytes");
  uint64_t bits = 0;
  std::memcpy(&bits, &v, sizeof(T));
  return bits;
}
template <typename T>
inline T fromBits(uint64_t bits) {
  T v;
  std::memcpy(&v, &bits, sizeof(T));
  return v;
}

}  // namespace cr::emu

#include <tuple>

#define threadIdx (::cr::emu::current->thread)
#define blockIdx (::cr::emu::current->block)
#define blockDim (::cr::emu::current->blockDim_)
#define gridDim (::cr::emu::current->gridDim_)
constexpr int warpSize = 32;

template <typename F>
cudaError_t cudaFuncSetAttribute(F* func, cudaFuncAttribute attr, int value) {
  if (attr == cudaFuncAttributeMaxDynamicSharedMemorySize) {
    if (value < 0 || value > 227 * 1024) return cudaErrorInvalidValue;
    ::cr::emu::setFuncMaxDynamicShared(reinterpret_cast<const void*>(func), value);
  }
  return cudaSuccess;
}

// The kernel must be named as itself (not cast to void*): its signature unpacks `args`.
#define cudaLaunchCooperativeKernel(kernel, ...) ::cr::emu::cooperative(#kernel, kernel, __VA_ARGS__)
template <typename F>
cudaError_t cudaOccupancyMaxActiveBlocksPerMultiprocessor(int* blocks, F*, int blockSize, size_t smem) {
  *blocks = ::cr::emu::maxActiveBlocksPerMultiprocessor(blockSize, smem);
  return cudaSuccess;
}

// ---- collectives -------------------------------------------------------------------------------------------
#define __syncthreads() ::cr::emu::syncThreads(__FILE__, __LINE__)
#define __syncwarp(...) ::cr::emu::SyncWarpSite{__FILE__, __LINE__}(__VA_ARGS__)
#define __shfl_sync(...) ::cr::emu::shfl(::cr::emu::WarpOp::ShflIdx, __FILE__, __LINE__, __VA_ARGS__)
#define __shfl_up_sync(...) ::cr::emu::shfl(::cr::emu::WarpOp::ShflUp, __FILE__, __LINE__, __VA_ARGS__)
#define __shfl_down_sync(...) ::cr::emu::shfl(::cr::emu::WarpOp::ShflDown, __FILE__, __LINE__, __VA_ARGS__)
#define __shfl_xor_sync(...) ::cr::emu::shfl(::cr::emu::WarpOp::ShflXor, __FILE__, __LINE__, __VA_ARGS__)
#define __ballot_sync(mask, pred) \
  static_cast<unsigned>(::cr::emu::warpCollective(::cr::emu::WarpOp::Ballot, (mask), (pred) ? 1 : 0, 0, 32, __FILE__, __LINE__))
#define __any_sync(mask, pred) \
  static_cast<int>(::cr::emu::warpCollective(::cr::emu::WarpOp::Any, (mask), (pred) ? 1 : 0, 0, 32, __FILE__, __LINE__))
#define __all_sync(mask, pred) \
  static_cast<int>(::cr::emu::warpCollective(::cr::emu::WarpOp::All, (mask), (pred) ? 1 : 0, 0, 32, __FILE__, __LINE__))
#define __activemask() ::cr::emu::activeMask()
#define __syncthreads_count(pred) ::cr::emu::syncThreadsReduce((pred) ? 1 : 0, 0, __FILE__, __LINE__)
#define __syncthreads_and(pred) ::cr::emu::syncThreadsReduce((pred) ? 1 : 0, 1, __FILE__, __LINE__)
#define __syncthreads_or(pred) ::cr::emu::syncThreadsReduce((pred) ? 1 : 0, 2, __FILE__, __LINE__)

namespace cr::emu {
// __syncwarp() and __syncwarp(mask) through one macro, without a GNU comma extension.
struct SyncWarpSite {
  const char* file;
  int line;
  void operator()(unsigned mask = 0xffffffffu) const { warpCollective(WarpOp::Sync, mask, 0, 0, 32, file, line); }
};
template <typename T>
inline T shfl(WarpOp op, const char* file, int line, unsigned mask, T value, int arg, int width = 32) {
  return fromBits<T>(warpCollective(op, mask, toBits(value), arg, width, file, line));
}
}  // namespace cr::emu

inline void __threadfence() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
inline void __threadfence_block() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }

// No timing model: a cycle counter that only moves forward, and sleeps that return at once.
inline long long clock64() { return static_cast<long long>(__builtin_ia32_rdtsc()); }
inline void __nanosleep(unsigned) {}

// __constant__ / __device__ variables are ordinary (static) host variables here.
template <typename T>
cudaError_t cudaMemcpyToSymbol(T& symbol, const void* src, size_t bytes, size_t offset = 0,
                               cudaMemcpyKind = cudaMemcpyHostToDevice) {
  if (offset + bytes > sizeof(T)) return cudaErrorInvalidValue;
  std::memcpy(reinterpret_cast<char*>(&symbol) + offset, src, bytes);
  return cudaSuccess;
}
template <typename T>
cudaError_t cudaMemcpyToSymbolAsync(T& symbol, const void* src, size_t bytes, size_t offset = 0,
                                    cudaMemcpyKind kind = cudaMemcpyHostToDevice, cudaStream_t = nullptr) {
  return cudaMemcpyToSymbol(symbol, src, bytes, offset, kind);
}
template <typename T>
cudaError_t cudaMemcpyFromSymbol(void* dst, const T& symbol, size_t bytes, size_t offset = 0,
                                 cudaMemcpyKind = cudaMemcpyDeviceToHost) {
  if (offset + bytes > sizeof(T)) return cudaErrorInvalidValue;
  std::memcpy(dst, reinterpret_cast<const char*>(&symbol) + offset, bytes);
  return cudaSuccess;
}

// ---- memory access helpers ------------------------------------------------------------------------------------
template <typename T>
inline T __ldg(const T* p) { return *p; }
template <typename T>
inline T __ldcs(const T* p) { return *p; }
template <typename T>
inline void __stcs(T* p, T v) { *p = v; }

// Atomics: device memory is host memory, so the GCC builtins are exactly right (blocks of a
// cooperative launch run on several OS threads).
template <typename T>
inline T atomicAdd(T* address, T value) {
  static_assert(std::is_integral<T>::value, "atomicAdd: integral, float or double");
  return __atomic_fetch_add(address, value, __ATOMIC_RELAXED);
}
inline float atomicAdd(float* address, float value) {
  float old = *address;
  for (;;) {
    float next = old + value;
    if (__atomic_compare_exchange(address, &old, &next, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) return old;
  }
}
inline double atomicAdd(double* address, double value) {
  double old = *address;
  for (;;) {
    double next = old + value;
    if (__atomic_compare_exchange(address, &old, &next, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) return old;
  }
}
template <typename T>
inline T atomicSub(T* address, T value) { return __atomic_fetch_sub(address, value, __ATOMIC_RELAXED); }
template <typename T>
inline T atomicMax(T* address, T value) {
  T old = __atomic_load_n(address, __ATOMIC_RELAXED);
  while (old < value && !__atomic_compare_exchange_n(address, &old, value, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
  }
  return old;
}
template <typename T>
inline T atomicMin(T* address, T value) {
  T old = __atomic_load_n(address, __ATOMIC_RELAXED);
  while (old > value && !__atomic_compare_exchange_n(address, &old, value, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
  }
  return old;
}
template <typename T>
inline T atomicCAS(T* address, T compare, T value) {
  __atomic_compare_exchange_n(address, &compare, value, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
  return compare;
}
template <typename T>
inline T atomicExch(T* address, T value) {
  T old;
  __atomic_exchange(address, &value, &old, __ATOMIC_RELAXED);
  return old;
}
template <typename T>
inline T atomicOr(T* address, T value) { return __atomic_fetch_or(address, value, __ATOMIC_RELAXED); }
template <typename T>
inline T atomicAnd(T* address, T value) { return __atomic_fetch_and(address, value, __ATOMIC_RELAXED); }

// ---- math --------------------------------------------------------------------------------------------------------
inline float __expf(float x) { return expf(x); }
inline float __logf(float x) { return logf(x); }
inline float __log2f(float x) { return log2f(x); }
inline float __sinf(float x) { return sinf(x); }
inline float __cosf(float x) { return cosf(x); }
inline float __tanf(float x) { return tanf(x); }
inline float __powf(float x, float y) { return powf(x, y); }
inline float __fdividef(float x, float y) { return x / y; }
inline float __frcp_rn(float x) { return 1.0f / x; }
inline float __fsqrt_rn(float x) { return sqrtf(x); }
inline float __fmul_rn(float x, float y) { return x * y; }
inline float __fadd_rn(float x, float y) { return x + y; }
inline float __fmaf_rn(float x, float y, float z) { return fmaf(x, y, z); }
inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }
inline double rsqrt(double x) { return 1.0 / sqrt(x); }
inline float __saturatef(float x) { return x != x ? 0.0f : x < 0.0f ? 0.0f : x > 1.0f ? 1.0f : x; }
inline void __sincosf(float x, float* s, float* c) { *s = sinf(x); *c = cosf(x); }
inline float exp10f(float x) { return powf(10.0f, x); }
inline int __float_as_int(float x) { int i; std::memcpy(&i, &x, 4); return i; }
inline unsigned __float_as_uint(float x) { unsigned i; std::memcpy(&i, &x, 4); return i; }
inline float __int_as_float(int i) { float x; std::memcpy(&x, &i, 4); return x; }
inline float __uint_as_float(unsigned i) { float x; std::memcpy(&x, &i, 4); return x; }
inline long long __double_as_longlong(double x) { long long i; std::memcpy(&i, &x, 8); return i; }
inline double __longlong_as_double(long long i) { double x; std::memcpy(&x, &i, 8); return x; }
inline int __popc(unsigned x) { return __builtin_popcount(x); }
inline int __popcll(unsigned long long x) { return __builtin_popcountll(x); }
inline int __clz(int x) { return x == 0 ? 32 : __builtin_clz(static_cast<unsigned>(x)); }
inline int __clzll(long long x) { return x == 0 ? 64 : __builtin_clzll(static_cast<unsigned long long>(x)); }
inline int __ffs(int x) { return __builtin_ffs(x); }
inline int __ffsll(long long x) { return __builtin_ffsll(x); }
inline unsigned __brev(unsigned x) {
  x = ((x >> 1) & 0x55555555u) | ((x & 0x55555555u) << 1);
  x = ((x >> 2) & 0x33333333u) | ((x & 0x33333333u) << 2);
  x = ((x >> 4) & 0x0f0f0f0fu) | ((x & 0x0f0f0f0fu) << 4);
  return __builtin_bswap32(x);
}
inline int __mul24(int a, int b) { return a * b; }
inline int __mulhi(int a, int b) { return static_cast<int>((static_cast<long long>(a) * b) >> 32); }
inline unsigned __umulhi(unsigned a, unsigned b) { return static_cast<unsigned>((static_cast<unsigned long long>(a) * b) >> 32); }

// CUDA's global min/max overloads (host code uses std::min/std::max; these match the device ones).
#define CR_EMU_MINMAX(T)                                  \
  inline T min(T a, T b) { return b < a ? b : a; }        \
  inline T max(T a, T b) { return a < b ? b : a; }
CR_EMU_MINMAX(int)
CR_EMU_MINMAX(unsigned)
CR_EMU_MINMAX(long)
CR_EMU_MINMAX(unsigned long)
CR_EMU_MINMAX(long long)
CR_EMU_MINMAX(unsigned long long)
#undef CR_EMU_MINMAX
inline float min(float a, float b) { return fminf(a, b); }
inline float max(float a, float b) { return fmaxf(a, b); }
inline double min(double a, double b) { return fmin(a, b); }
inline double max(double a, double b) { return fmax(a, b); }
