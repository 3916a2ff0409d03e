// What the CUDA runtime reports about the devices it sees. Only compiled in
// the cmake-js build when nvcc was found (CR_WITH_CUDA).
#pragma once
#include <cstddef>
#include <string>
#include <vector>

namespace cr::cuda {

struct DeviceInfo {
  int index = 0;
  std::string name;
  int major = 0, minor = 0;  // compute capability
  size_t totalMemory = 0;    // bytes
  int multiprocessors = 0;
  int clockRateKHz = 0;        // SM clock (the peak the benchmarks quote is computed from it)
  int memoryClockRateKHz = 0;
  int memoryBusWidth = 0;      // bits
};

// Devices visible to this process; on failure (no driver, no device) returns
// none and says why in `error`.
std::vector<DeviceInfo> listDevices(std::string* error);
// The CUDA runtime version this build was compiled against, e.g. 13000.
int runtimeVersion();

}  // namespace cr::cuda
