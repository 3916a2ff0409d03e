// Chooses the kernel table once, at load time, from what the CPU supports
// (or CROSSROAD_ISA). Compiled without ISA flags: it must run anywhere.
#include <atomic>
#include <string>

#include "../core/cpu_features.h"
#include "kernels.h"

namespace cr::cpu {

namespace scalar { extern const Kernels table; }
#if defined(__x86_64__) || defined(_M_X64)
namespace avx2 { extern const Kernels table; }
namespace avx512 { extern const Kernels table; }
#endif

namespace {
std::atomic<const Kernels*> current{nullptr};
}

const Kernels* kernelsFor(int isa) {
  switch (static_cast<Isa>(isa)) {
    case Isa::Scalar: return &scalar::table;
#if defined(__x86_64__) || defined(_M_X64)
    case Isa::Avx2: return &avx2::table;
    case Isa::Avx512: return &avx512::table;
#endif
    default: return nullptr;
  }
}

void selectKernels(int isa) {
  const Kernels* table = kernelsFor(isa);
  if (table != nullptr) current.store(table);
}

const Kernels& kernels() {
  const Kernels* table = current.load(std::memory_order_acquire);
  if (table == nullptr) {
    std::string ignored;
    table = kernelsFor(static_cast<int>(detectIsa(&ignored)));
    current.store(table);
  }
  return *table;
}

}  // namespace cr::cpu
