// A non-owning view of a tensor that lives in caller memory (a JS typed array
// or, later, device memory). Row-major, last dimension contiguous.
#pragma once
#include <cstdint>

#include "dtype.h"

namespace cr {

constexpr int kMaxRank = 8;

struct TensorView {
  void* data = nullptr;
  DType dtype = DType::F32;
  int rank = 0;
  int64_t shape[kMaxRank] = {0};
  int device = kHost;  // kHost, or the CUDA device whose memory `data` points into

  static constexpr int kHost = -1;
  bool onDevice() const { return device != kHost; }

  int64_t size() const {
    int64_t n = 1;
    for (int i = 0; i < rank; ++i) n *= shape[i];
    return n;
  }
  int64_t dim(int i) const { return shape[i < 0 ? rank + i : i]; }
  // Product of the dimensions before `axis` (all leading dims folded together).
  int64_t rows(int axis) const {
    int64_t n = 1;
    for (int i = 0; i < axis; ++i) n *= shape[i];
    return n;
  }
  template <typename T>
  T* as() const { return static_cast<T*>(data); }
};

}  // namespace cr
