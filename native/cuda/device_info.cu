#include <cuda_runtime.h>

#include "device_info.h"

namespace cr::cuda {

std::vector<DeviceInfo> listDevices(std::string* error) {
  std::vector<DeviceInfo> out;
  int count = 0;
  cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) {
    *error = cudaGetErrorString(status);
    cudaGetLastError();  // clear the sticky error so later calls start clean
    return out;
  }
  for (int i = 0; i < count; ++i) {
    cudaDeviceProp prop;
    status = cudaGetDeviceProperties(&prop, i);
    if (status != cudaSuccess) {
      *error = cudaGetErrorString(status);
      continue;
    }
    DeviceInfo info;
    info.index = i;
    info.name = prop.name;
    info.major = prop.major;
    info.minor = prop.minor;
    info.totalMemory = prop.totalGlobalMem;
    info.multiprocessors = prop.multiProcessorCount;
    // Attributes, not cudaDeviceProp fields: CUDA 13 dropped the clock fields from the struct.
    if (cudaDeviceGetAttribute(&info.clockRateKHz, cudaDevAttrClockRate, i) != cudaSuccess ||
        cudaDeviceGetAttribute(&info.memoryClockRateKHz, cudaDevAttrMemoryClockRate, i) != cudaSuccess ||
        cudaDeviceGetAttribute(&info.memoryBusWidth, cudaDevAttrGlobalMemoryBusWidth, i) != cudaSuccess) {
      cudaGetLastError();
    }
    out.push_back(info);
  }
  return out;
}

int runtimeVersion() { return CUDART_VERSION; }

}  // namespace cr::cuda
