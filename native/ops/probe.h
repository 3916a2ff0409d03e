// Machine-limit probes for the benchmarks: FMA peak and memory bandwidth,
// measured on `threads` threads of the pool at once.
#pragma once
#include <string>

namespace cr {

struct ProbeReport {
  double rate = 0;     // GFLOP/s for "fma", GB/s for "triad" and "read"
  double seconds = 0;  // wall time of the timed part
  int threads = 1;
};

// kind: "fma" | "triad" | "read". megabytes: working set of the bandwidth probes.
ProbeReport runProbe(const std::string& kind, int threads, double megabytes);

}  // namespace cr
