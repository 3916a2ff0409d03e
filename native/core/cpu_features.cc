#include "cpu_features.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>

#if defined(__x86_64__) || defined(_M_X64)
#include <cpuid.h>
#define CR_X86 1
#endif
#if defined(__linux__)
#include <sched.h>
#include <unistd.h>
#endif

namespace cr {

const char* isaName(Isa isa) {
  switch (isa) {
    case Isa::Scalar: return "scalar";
    case Isa::Avx2: return "avx2";
    case Isa::Avx512: return "avx512";
  }
  return "unknown";
}

bool parseIsa(const std::string& name, Isa* out) {
  if (name == "scalar") *out = Isa::Scalar;
  else if (name == "avx2") *out = Isa::Avx2;
  else if (name == "avx512") *out = Isa::Avx512;
  else return false;
  return true;
}

namespace {

#ifdef CR_X86
uint64_t readXcr0() {
  uint32_t eax, edx;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<uint64_t>(edx) << 32) | eax;
}

bool cpuSupports(Isa isa) {
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return false;
  const bool osxsave = c & (1u << 27);
  const bool fma = c & (1u << 12);
  const bool f16c = c & (1u << 29);
  const bool avx = c & (1u << 28);
  if (!osxsave || !avx) return isa == Isa::Scalar;
  const uint64_t xcr0 = readXcr0();
  const bool ymmState = (xcr0 & 0x6) == 0x6;
  const bool zmmState = (xcr0 & 0xe6) == 0xe6;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return isa == Isa::Scalar;
  const bool avx2 = b & (1u << 5);
  const bool avx512f = b & (1u << 16);
  const bool avx512dq = b & (1u << 17);
  const bool avx512bw = b & (1u << 30);
  const bool avx512vl = b & (1u << 31);
  switch (isa) {
    case Isa::Scalar: return true;
    case Isa::Avx2: return ymmState && avx2 && fma && f16c;
    case Isa::Avx512: return zmmState && avx512f && avx512dq && avx512bw && avx512vl && fma && f16c;
  }
  return false;
}
#else
bool cpuSupports(Isa isa) { return isa == Isa::Scalar; }
#endif

bool compiledIn(Isa isa) {
  switch (isa) {
    case Isa::Scalar: return true;
#ifdef CR_X86
    case Isa::Avx2: return true;
    case Isa::Avx512: return true;
#else
    default: return false;
#endif
  }
  return false;
}

}  // namespace

std::vector<Isa> availableIsas() {
  std::vector<Isa> out;
  for (Isa isa : {Isa::Scalar, Isa::Avx2, Isa::Avx512}) {
    if (compiledIn(isa) && cpuSupports(isa)) out.push_back(isa);
  }
  return out;
}

Isa detectIsa(std::string* error) {
  std::vector<Isa> available = availableIsas();
  Isa best = available.back();
  const char* forced = std::getenv("CROSSROAD_ISA");
  if (forced == nullptr || *forced == '\0' || std::strcmp(forced, "auto") == 0) return best;
  Isa wanted;
  if (!parseIsa(forced, &wanted)) {
    *error = std::string("CROSSROAD_ISA must be one of 'scalar', 'avx2', 'avx512' or 'auto'; got '") + forced + "'";
    return best;
  }
  for (Isa isa : available) {
    if (isa == wanted) return wanted;
  }
  *error = std::string("CROSSROAD_ISA='") + forced + "' is not supported by this machine or build";
  return best;
}

int logicalCpuCount() {
#if defined(__linux__)
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
#endif
  unsigned n = std::thread::hardware_concurrency();
  return n > 0 ? static_cast<int>(n) : 1;
}

int physicalCoreCount() {
  const int logical = logicalCpuCount();
#if defined(__linux__)
  // Count distinct (package, core) pairs among the CPUs this process may run on:
  // SMT siblings share an FMA pipeline, so one worker per core is the useful maximum.
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    std::set<std::pair<int, int>> cores;
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
      if (!CPU_ISSET(cpu, &set)) continue;
      std::string base = "/sys/devices/system/cpu/cpu" + std::to_string(cpu) + "/topology/";
      std::ifstream coreFile(base + "core_id"), packageFile(base + "physical_package_id");
      int coreId = -1, packageId = -1;
      if (!(coreFile >> coreId) || !(packageFile >> packageId)) return logical;
      cores.insert({packageId, coreId});
    }
    if (!cores.empty()) return static_cast<int>(cores.size());
  }
#endif
  return logical;
}

}  // namespace cr
