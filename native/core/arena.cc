#include "arena.h"

#include <algorithm>
#include <cstdlib>
#include <new>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace cr {

namespace {
constexpr size_t kAlign = 64;
constexpr size_t kMinBlock = size_t(1) << 20;
size_t alignUp(size_t n) { return (n + kAlign - 1) & ~(kAlign - 1); }

struct LocalArenaHolder {
  Arena* arena = nullptr;
  ~LocalArenaHolder() { delete arena; }
};
// Blocks of 2 MB and more are aligned to 2 MB and offered to the kernel as
// huge pages: packed GEMM panels are walked with large strides, and 4 KB
// pages would cost a TLB miss every few rows.
constexpr size_t kHugePage = size_t(2) << 20;
void* allocateBlock(size_t size) {
  const bool huge = size >= kHugePage;
  const size_t rounded = huge ? (size + kHugePage - 1) & ~(kHugePage - 1) : size;
  void* data = std::aligned_alloc(huge ? kHugePage : kAlign, rounded);
  if (data == nullptr) throw std::bad_alloc();
#ifdef MADV_HUGEPAGE
  if (huge) madvise(data, rounded, MADV_HUGEPAGE);
#endif
  return data;
}
}  // namespace

Arena& Arena::local() {
  thread_local LocalArenaHolder holder;
  if (holder.arena == nullptr) holder.arena = new Arena();
  return *holder.arena;
}

Arena::~Arena() {
  for (Block& b : blocks_) std::free(b.data);
}

void* Arena::allocate(size_t bytes) {
  bytes = alignUp(bytes == 0 ? 1 : bytes);
  // Blocks are laid end to end in one offset space; find the block holding
  // `used_`, moving on to the next block when the rest of this one is too small.
  for (Block& b : blocks_) {
    if (used_ < b.base || used_ >= b.base + b.size) continue;
    if (used_ + bytes <= b.base + b.size) {
      void* out = b.data + (used_ - b.base);
      used_ += bytes;
      return out;
    }
    used_ = b.base + b.size;  // the tail of this block is too small: skip it
  }
  const size_t size = std::max(alignUp(bytes), std::max(kMinBlock, capacity_));
  void* data = allocateBlock(size);
  const size_t base = blocks_.empty() ? 0 : blocks_.back().base + blocks_.back().size;
  blocks_.push_back({static_cast<char*>(data), base, size});
  capacity_ += size;
  used_ = base + bytes;
  return data;
}

void Arena::reset(size_t mark) {
  used_ = mark;
  // Back to empty with several blocks: merge them into one, so steady state is
  // a single block large enough for the high-water mark.
  if (mark == 0 && blocks_.size() > 1) {
    for (Block& b : blocks_) std::free(b.data);
    blocks_.clear();
    const size_t size = capacity_;
    capacity_ = 0;
    void* data = nullptr;
    try {
      data = allocateBlock(size);
    } catch (const std::bad_alloc&) {
      return;  // stays empty; the next allocate grows again
    }
    blocks_.push_back({static_cast<char*>(data), 0, size});
    capacity_ = size;
  }
}

}  // namespace cr
