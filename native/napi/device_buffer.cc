#include "device_buffer.h"

#include <cmath>
#include <memory>
#include <string>

#include "executor.h"
#include "marshal.h"

#ifdef CR_WITH_CUDA
#include "../cuda/runtime.h"
#endif

namespace cr::napi {

#ifdef CR_WITH_CUDA

namespace {

// Marks the objects this file creates (napi_type_tag_object).
const napi_type_tag kDeviceBufferTag = {0x63726f7373726f61ULL, 0x6463756461627566ULL};

struct DeviceAllocation {
  void* ptr = nullptr;
  size_t bytes = 0;
};

void finalizeAllocation(napi_env env, void* data, void*) {
  auto* allocation = static_cast<DeviceAllocation*>(data);
  // Every op and copy waits for its stream before it settles, and a job keeps
  // the objects of its buffers alive until then: nothing can still use this.
  cuda::deviceFree(allocation->ptr);
  int64_t ignored = 0;
  napi_adjust_external_memory(env, -static_cast<int64_t>(allocation->bytes), &ignored);
  delete allocation;
}

DeviceAllocation* unwrapBuffer(Napi::Env env, Napi::Value value) {
  if (!value.IsObject()) return nullptr;
  bool tagged = false;
  if (napi_check_object_type_tag(env, value, &kDeviceBufferTag, &tagged) != napi_ok || !tagged) return nullptr;
  void* data = nullptr;
  if (napi_unwrap(env, value, &data) != napi_ok) return nullptr;
  return static_cast<DeviceAllocation*>(data);
}

DeviceAllocation& expectBuffer(Napi::Env env, const char* where, Napi::Value value) {
  DeviceAllocation* allocation = unwrapBuffer(env, value);
  if (allocation == nullptr) throwType(where, ": expected a DeviceBuffer");
  return *allocation;
}

size_t expectOffset(const char* where, Napi::Value value) {
  const double v = value.IsNumber() ? value.As<Napi::Number>().DoubleValue() : -1;
  if (!(v >= 0) || v != std::floor(v) || v > 9007199254740991.0) throwRange(where, ": byte offset must be a non-negative integer");
  return static_cast<size_t>(v);
}

void expectRange(const char* where, const DeviceAllocation& allocation, size_t offset, size_t bytes) {
  if (offset > allocation.bytes || bytes > allocation.bytes - offset) {
    throwRange(where, ": bytes [", offset, ", ", offset + bytes, ") are outside the device buffer of ", allocation.bytes, " bytes");
  }
}

Napi::Object newDeviceBuffer(Napi::Env env, size_t bytes) {
  auto allocation = std::make_unique<DeviceAllocation>();
  allocation->ptr = cuda::deviceAlloc(bytes);
  allocation->bytes = bytes;
  Napi::Object object = Napi::Object::New(env);
  object.DefineProperties({
      Napi::PropertyDescriptor::Value("bytes", Napi::Number::New(env, static_cast<double>(bytes)), napi_enumerable),
      Napi::PropertyDescriptor::Value("device", Napi::Number::New(env, 0), napi_enumerable),
  });
  if (napi_wrap(env, object, allocation.get(), finalizeAllocation, nullptr, nullptr) != napi_ok) {
    cuda::deviceFree(allocation->ptr);
    throw Napi::Error::New(env, "crossroad: could not wrap a device buffer");
  }
  DeviceAllocation* owned = allocation.release();
  napi_type_tag_object(env, object, &kDeviceBufferTag);
  int64_t ignored = 0;
  // Device memory is not on the JS heap, but a collection is what frees it:
  // let the garbage collector know how much hangs off these objects.
  napi_adjust_external_memory(env, static_cast<int64_t>(owned->bytes), &ignored);
  return object;
}

struct HostRange {
  void* data;
  size_t bytes;
};

HostRange hostRange(const char* where, Napi::Value value) {
  if (!value.IsTypedArray()) throwType(where, ": expected a typed array");
  Napi::TypedArray array = value.As<Napi::TypedArray>();
  Napi::ArrayBuffer buffer = array.ArrayBuffer();
  if (buffer.Data() == nullptr && array.ByteLength() > 0) throwType(where, ": the typed array is detached");
  return {static_cast<char*>(buffer.Data()) + array.ByteOffset(), array.ByteLength()};
}

// upload (toDevice) and download (toHost) share everything but the direction.
Napi::Value transfer(const Napi::CallbackInfo& info, bool toDevice) {
  Napi::Env env = info.Env();
  const char* where = toDevice ? "toDevice" : "toHost";
  const bool async = info.Length() > 3 && info[3].ToBoolean().Value();
  try {
    DeviceAllocation& allocation = expectBuffer(env, where, info[0]);
    const size_t offset = expectOffset(where, info[1]);
    const HostRange host = hostRange(where, info[2]);
    expectRange(where, allocation, offset, host.bytes);
    char* device = static_cast<char*>(allocation.ptr) + offset;
    auto run = [toDevice, device, host] {
      if (toDevice) cuda::copyToDevice(device, host.data, host.bytes);
      else cuda::copyToHost(host.data, device, host.bytes);
    };
    if (!async) {
      run();
      return env.Undefined();
    }
    auto job = std::make_unique<Job>(env);
    job->op = where;
    job->keepAlive.push_back(Napi::Persistent(info[0].As<Napi::Object>()));
    job->keepAlive.push_back(Napi::Persistent(info[2].As<Napi::Object>()));
    job->work = run;
    return Executor::forEnv(env).submit(env, std::move(job));
  } catch (...) {
    rethrowAsJs(env, where);
  }
}

}  // namespace

void readDeviceTensor(Napi::Env env, const std::string& op, const std::string& name, Napi::Object tensor,
                      Napi::Value buffer, size_t bytes, TensorView* view, std::vector<Napi::ObjectReference>* keepAlive) {
  DeviceAllocation* allocation = unwrapBuffer(env, buffer);
  if (allocation == nullptr) throwType(op, ": ", name, ".deviceBuffer is not a DeviceBuffer");
  Napi::Value offsetValue = tensor.Get("deviceOffset");
  const double offset = offsetValue.IsNumber() ? offsetValue.As<Napi::Number>().DoubleValue() : -1;
  if (!(offset >= 0) || offset != std::floor(offset) || offset > static_cast<double>(allocation->bytes) ||
      bytes > allocation->bytes - static_cast<size_t>(offset)) {
    throwRange(op, ": ", name, " (", bytes, " bytes at offset ", offset, ") does not fit its device buffer of ",
               allocation->bytes, " bytes");
  }
  if (static_cast<size_t>(offset) % dtypeSize(view->dtype) != 0) throwRange(op, ": ", name, " is not aligned to its element size");
  view->data = static_cast<char*>(allocation->ptr) + static_cast<size_t>(offset);
  view->device = 0;
  if (keepAlive != nullptr) keepAlive->push_back(Napi::Persistent(buffer.As<Napi::Object>()));
}

Napi::Value CudaOpNames(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array out = Napi::Array::New(env);
  uint32_t i = 0;
  for (const std::string& name : cuda::opNames()) out.Set(i++, Napi::String::New(env, name));
  return out;
}

Napi::Value CudaAlloc(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  try {
    const size_t bytes = expectOffset("cudaAlloc", info[0]);
    const std::string fill = info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "none";
    std::string why;
    if (!cuda::deviceAvailable(&why)) throwError("CUDA: ", why);
    Napi::Object buffer = newDeviceBuffer(env, bytes);
    DeviceAllocation* allocation = unwrapBuffer(env, buffer);
    // 0xff bytes are NaN in float32, bfloat16 and float16 (and -1 in int32).
    if (fill == "zero") cuda::fillBytes(allocation->ptr, 0, bytes);
    else if (fill == "poison") cuda::fillBytes(allocation->ptr, 0xff, bytes);
    return buffer;
  } catch (...) {
    rethrowAsJs(env, "cudaAlloc");
  }
}

Napi::Value CudaUpload(const Napi::CallbackInfo& info) { return transfer(info, true); }
Napi::Value CudaDownload(const Napi::CallbackInfo& info) { return transfer(info, false); }

Napi::Value CudaCopy(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  try {
    DeviceAllocation& dst = expectBuffer(env, "clone", info[0]);
    const size_t dstOffset = expectOffset("clone", info[1]);
    DeviceAllocation& src = expectBuffer(env, "clone", info[2]);
    const size_t srcOffset = expectOffset("clone", info[3]);
    const size_t bytes = expectOffset("clone", info[4]);
    expectRange("clone", dst, dstOffset, bytes);
    expectRange("clone", src, srcOffset, bytes);
    cuda::copyOnDevice(static_cast<char*>(dst.ptr) + dstOffset, static_cast<char*>(src.ptr) + srcOffset, bytes);
    return env.Undefined();
  } catch (...) {
    rethrowAsJs(env, "clone");
  }
}

Napi::Value CudaMemory(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  out.Set("inUse", Napi::Number::New(env, static_cast<double>(cuda::deviceBytesInUse())));
  out.Set("cached", Napi::Number::New(env, static_cast<double>(cuda::deviceBytesCached())));
  return out;
}

#else  // no CUDA in this build

namespace {
[[noreturn]] void noCuda(Napi::Env env) {
  throw Napi::Error::New(env, "crossroad: this build has no CUDA support (build with cmake-js where nvcc is installed)");
}
}  // namespace

void readDeviceTensor(Napi::Env env, const std::string& op, const std::string& name, Napi::Object, Napi::Value, size_t,
                      TensorView*, std::vector<Napi::ObjectReference>*) {
  (void)env;
  throwType(op, ": ", name, " is a device tensor, but this build has no CUDA support");
}

Napi::Value CudaOpNames(const Napi::CallbackInfo& info) { return Napi::Array::New(info.Env()); }
Napi::Value CudaAlloc(const Napi::CallbackInfo& info) { noCuda(info.Env()); }
Napi::Value CudaUpload(const Napi::CallbackInfo& info) { noCuda(info.Env()); }
Napi::Value CudaDownload(const Napi::CallbackInfo& info) { noCuda(info.Env()); }
Napi::Value CudaCopy(const Napi::CallbackInfo& info) { noCuda(info.Env()); }
Napi::Value CudaMemory(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  out.Set("inUse", Napi::Number::New(env, 0));
  out.Set("cached", Napi::Number::New(env, 0));
  return out;
}

#endif

}  // namespace cr::napi
