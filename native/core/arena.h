// Per-thread scratch memory. Kernels take temporary buffers (packed GEMM
// panels, chunk states) from the calling thread's arena inside a ScratchScope;
// leaving the scope hands the memory back for the next call. The arena only
// grows, to the high-water mark of what was asked of it, so steady-state hot
// loops never reach malloc.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace cr {

class Arena {
 public:
  static Arena& local();  // this thread's arena

  // 64-byte aligned, uninitialised.
  void* allocate(size_t bytes);
  template <typename T>
  T* allocate(size_t count) { return static_cast<T*>(allocate(count * sizeof(T))); }

  size_t mark() const { return used_; }
  void reset(size_t mark);
  size_t capacity() const { return capacity_; }

  ~Arena();

 private:
  Arena() = default;
  struct Block {
    char* data;
    size_t base;  // offset of this block's first byte in the arena's address space
    size_t size;
  };
  std::vector<Block> blocks_;
  size_t used_ = 0;  // arena-space offset of the next free byte
  size_t capacity_ = 0;
};

class ScratchScope {
 public:
  ScratchScope() : arena_(Arena::local()), mark_(arena_.mark()) {}
  ~ScratchScope() { arena_.reset(mark_); }
  template <typename T>
  T* allocate(size_t count) { return arena_.allocate<T>(count); }
  ScratchScope(const ScratchScope&) = delete;
  ScratchScope& operator=(const ScratchScope&) = delete;

 private:
  Arena& arena_;
  size_t mark_;
};

}  // namespace cr
