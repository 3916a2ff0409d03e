// Device memory as JS sees it: a DeviceBuffer is a plain JS object (fields
// `bytes`, `device`) that wraps one allocation from the CUDA caching
// allocator; its finaliser gives the memory back. A type tag proves an object
// really is one, so a forged `deviceBuffer` can never reach native code.
// In the build without CUDA the functions exist and throw.
#pragma once
#include <napi.h>

#include <vector>

#include "../core/tensor_view.h"

namespace cr::napi {

// Reads a device tensor ({ deviceBuffer, deviceOffset, shape, dtype }) into
// `view` (data, device); shape and dtype are read by the caller. Checks that
// the view's bytes lie inside the buffer. `keepAlive` gets the buffer object.
void readDeviceTensor(Napi::Env env, const std::string& op, const std::string& name, Napi::Object tensor,
                      Napi::Value buffer, size_t bytes, TensorView* view, std::vector<Napi::ObjectReference>* keepAlive);

// Names of the ops with a CUDA implementation (empty without CUDA).
Napi::Value CudaOpNames(const Napi::CallbackInfo& info);
// cudaAlloc(bytes, fill: 'zero' | 'poison' | 'none') → DeviceBuffer
Napi::Value CudaAlloc(const Napi::CallbackInfo& info);
// cudaUpload(buffer, byteOffset, typedArray[, async]) → undefined | Promise<void>
Napi::Value CudaUpload(const Napi::CallbackInfo& info);
// cudaDownload(buffer, byteOffset, typedArray[, async]) → undefined | Promise<void>
Napi::Value CudaDownload(const Napi::CallbackInfo& info);
// cudaCopy(dst, dstOffset, src, srcOffset, bytes) → undefined
Napi::Value CudaCopy(const Napi::CallbackInfo& info);
// cudaMemory() → { inUse, cached }
Napi::Value CudaMemory(const Napi::CallbackInfo& info);

}  // namespace cr::napi
