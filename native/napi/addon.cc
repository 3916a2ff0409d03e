// The module's entry points. Kept thin: argument reading, error mapping and
// the sync/async split live here; the math lives in native/cpu and native/ops.
#include <napi.h>

#include <memory>
#include <string>
#include <vector>

#include "../core/cpu_features.h"
#include "../core/threadpool.h"
#include "../cpu/kernels.h"
#include "../ops/op_table.h"
#include "../ops/probe.h"
#include "device_buffer.h"
#include "executor.h"
#include "mapped_file.h"
#include "marshal.h"

#ifdef CR_WITH_CUDA
#include "../cuda/device_info.h"
#include "../cuda/runtime.h"
#endif
#ifdef CR_CUDA_EMU
#include "../cuda/emu/selftest.h"
#endif

namespace cr::napi {

namespace {

const OpEntry& lookupOp(Napi::Env env, Napi::Value name) {
  if (!name.IsString()) throw Napi::TypeError::New(env, "crossroad: op name must be a string");
  const std::string op = name.As<Napi::String>().Utf8Value();
  const OpEntry* entry = findOp(op);
  if (entry == nullptr) throw Napi::TypeError::New(env, "crossroad: unknown op '" + op + "'");
  return *entry;
}

// Runs the op where its tensors live: all on the host → the CPU op; all on the
// device → the op's CUDA implementation; a mix → a TypeError naming two of them.
void runPlaced(const OpEntry& entry, const OpCall& call) {
  if (call.device() == TensorView::kHost) {
    entry.run(call);
    return;
  }
#ifdef CR_WITH_CUDA
  OpFn run = cuda::findOp(entry.name);
  if (run == nullptr) {
    throwType(entry.name, ": has no CUDA implementation yet; move its tensors to the cpu with toHost()");
  }
  run(call);
#else
  throwType(entry.name, ": device tensors need a build with CUDA support");
#endif
}

// runSync(op, tensors, attrs): runs on the calling (JS) thread.
Napi::Value RunSync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const OpEntry& entry = lookupOp(env, info[0]);
  if (!info[1].IsObject()) throw Napi::TypeError::New(env, std::string(entry.name) + ": tensors must be an object");
  try {
    OpCall call = marshalCall(env, entry.name, info[1].As<Napi::Object>(), info[2], nullptr);
    runPlaced(entry, call);
  } catch (...) {
    rethrowAsJs(env, entry.name);
  }
  return env.Undefined();
}

// runAsync(op, tensors, attrs) → Promise<void>: runs on an executor thread.
Napi::Value RunAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const OpEntry& entry = lookupOp(env, info[0]);
  if (!info[1].IsObject()) throw Napi::TypeError::New(env, std::string(entry.name) + ": tensors must be an object");
  auto job = std::make_unique<Job>(env);
  job->op = entry.name;
  try {
    auto call = std::make_shared<OpCall>(marshalCall(env, entry.name, info[1].As<Napi::Object>(), info[2], &job->keepAlive));
    const OpEntry* placed = &entry;  // entries live in a static table
    job->work = [call, placed] { runPlaced(*placed, *call); };
  } catch (...) {
    rethrowAsJs(env, entry.name);
  }
  return Executor::forEnv(env).submit(env, std::move(job));
}

// A batch is an array of [op, tensors, attrs] run in order as one job: a layer's
// whole forward pass makes one trip to the executor instead of one per op.
// Later calls may read what earlier calls wrote (the order is kept).
struct BatchCall {
  const OpEntry* entry;
  std::shared_ptr<OpCall> call;
};

std::vector<BatchCall> marshalBatch(Napi::Env env, Napi::Value value, std::vector<Napi::ObjectReference>* keepAlive) {
  if (!value.IsArray()) throw Napi::TypeError::New(env, "crossroad: a batch must be an array of [op, tensors, attrs]");
  Napi::Array calls = value.As<Napi::Array>();
  std::vector<BatchCall> out;
  out.reserve(calls.Length());
  for (uint32_t i = 0; i < calls.Length(); ++i) {
    Napi::Value item = calls.Get(i);
    if (!item.IsArray() || item.As<Napi::Array>().Length() < 2) {
      throw Napi::TypeError::New(env, "crossroad: batch entry " + std::to_string(i) + " must be [op, tensors, attrs]");
    }
    Napi::Array entryArgs = item.As<Napi::Array>();
    const OpEntry& entry = lookupOp(env, entryArgs.Get(0u));
    Napi::Value tensors = entryArgs.Get(1u);
    if (!tensors.IsObject()) throw Napi::TypeError::New(env, std::string(entry.name) + ": tensors must be an object");
    try {
      auto call = std::make_shared<OpCall>(marshalCall(env, entry.name, tensors.As<Napi::Object>(), entryArgs.Get(2u), keepAlive));
      out.push_back({&entry, call});
    } catch (...) {
      rethrowAsJs(env, entry.name);
    }
  }
  return out;
}

Napi::Value RunBatchSync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::vector<BatchCall> calls = marshalBatch(env, info[0], nullptr);
#ifdef CR_WITH_CUDA
  cuda::BatchScope deferred;  // device ops wait once, at the end (see runtime.h)
#endif
  for (const BatchCall& c : calls) {
    try {
#ifdef CR_WITH_CUDA
      deferred.nextOp(c.entry->name);
#endif
      runPlaced(*c.entry, *c.call);
    } catch (...) {
      rethrowAsJs(env, c.call->op());
    }
  }
#ifdef CR_WITH_CUDA
  try {
    deferred.finish();
  } catch (...) {
    rethrowAsJs(env, "batch");
  }
#endif
  return env.Undefined();
}

Napi::Value RunBatchAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto job = std::make_unique<Job>(env);
  job->op = "batch";
  auto calls = std::make_shared<std::vector<BatchCall>>(marshalBatch(env, info[0], &job->keepAlive));
  job->work = [calls] {
#ifdef CR_WITH_CUDA
    cuda::BatchScope deferred;  // device ops wait once, at the end (see runtime.h)
#endif
    for (const BatchCall& c : *calls) {
#ifdef CR_WITH_CUDA
      deferred.nextOp(c.entry->name);
#endif
      runPlaced(*c.entry, *c.call);
    }
#ifdef CR_WITH_CUDA
    deferred.finish();
#endif
  };
  return Executor::forEnv(env).submit(env, std::move(job));
}

Napi::Value OpNames(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array out = Napi::Array::New(env);
  uint32_t i = 0;
  for (const OpEntry* e = allOps(); e->name != nullptr; ++e) out.Set(i++, Napi::String::New(env, e->name));
  return out;
}

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  out.Set("isa", Napi::String::New(env, cpu::kernels().isa));
  Napi::Array isas = Napi::Array::New(env);
  uint32_t i = 0;
  for (Isa isa : availableIsas()) isas.Set(i++, Napi::String::New(env, isaName(isa)));
  out.Set("isas", isas);
  out.Set("threads", Napi::Number::New(env, ThreadPool::instance().numThreads()));
  out.Set("physicalCores", Napi::Number::New(env, physicalCoreCount()));
  out.Set("logicalCpus", Napi::Number::New(env, logicalCpuCount()));
#ifdef CR_BUILD_SYSTEM
  out.Set("build", Napi::String::New(env, CR_BUILD_SYSTEM));
#endif
  out.Set("compiler", Napi::String::New(env, __VERSION__));

  Napi::Object cuda = Napi::Object::New(env);
#ifdef CR_WITH_CUDA
  std::string error;
  std::vector<cuda::DeviceInfo> devices = cuda::listDevices(&error);
  cuda.Set("built", Napi::Boolean::New(env, true));
#ifdef CR_CUDA_EMU
  cuda.Set("emulated", Napi::Boolean::New(env, true));  // kernels run on the CPU emulator (native/cuda/emu)
#endif
  cuda.Set("runtimeVersion", Napi::Number::New(env, cuda::runtimeVersion()));
  cuda.Set("available", Napi::Boolean::New(env, !devices.empty()));
  Napi::Array list = Napi::Array::New(env);
  for (size_t d = 0; d < devices.size(); ++d) {
    Napi::Object dev = Napi::Object::New(env);
    dev.Set("index", Napi::Number::New(env, devices[d].index));
    dev.Set("name", Napi::String::New(env, devices[d].name));
    dev.Set("computeCapability", Napi::String::New(env, std::to_string(devices[d].major) + "." + std::to_string(devices[d].minor)));
    dev.Set("totalMemory", Napi::Number::New(env, static_cast<double>(devices[d].totalMemory)));
    dev.Set("multiprocessors", Napi::Number::New(env, devices[d].multiprocessors));
    dev.Set("clockRateKHz", Napi::Number::New(env, devices[d].clockRateKHz));
    // Double data rate: two transfers per memory clock over the whole bus.
    dev.Set("memoryBandwidth", Napi::Number::New(env, 2.0 * devices[d].memoryClockRateKHz * 1e3 * devices[d].memoryBusWidth / 8));
    list.Set(static_cast<uint32_t>(d), dev);
  }
  cuda.Set("devices", list);
  if (!error.empty()) cuda.Set("reason", Napi::String::New(env, error));
#else
  cuda.Set("built", Napi::Boolean::New(env, false));
  cuda.Set("available", Napi::Boolean::New(env, false));
  cuda.Set("devices", Napi::Array::New(env));
  cuda.Set("reason", Napi::String::New(env, "this build has no CUDA support (build with cmake-js where nvcc is installed)"));
#endif
  out.Set("cuda", cuda);
  return out;
}

Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  ThreadPool::instance().setNumThreads(info[0].As<Napi::Number>().Int32Value());
  return info.Env().Undefined();
}

Napi::Value SetIsa(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string name = info[0].As<Napi::String>().Utf8Value();
  Isa isa;
  if (!parseIsa(name, &isa)) throw Napi::RangeError::New(env, "setIsa: isa must be 'scalar', 'avx2' or 'avx512', got '" + name + "'");
  for (Isa available : availableIsas()) {
    if (available == isa) {
      cpu::selectKernels(static_cast<int>(isa));
      return env.Undefined();
    }
  }
  throw Napi::RangeError::New(env, "setIsa: '" + name + "' is not supported by this machine or build");
}

// probe(kind, threads, megabytes) → { rate, seconds, threads }
Napi::Value Probe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  try {
    ProbeReport r = runProbe(info[0].As<Napi::String>().Utf8Value(), info[1].As<Napi::Number>().Int32Value(),
                             info[2].IsNumber() ? info[2].As<Napi::Number>().DoubleValue() : 256.0);
    Napi::Object out = Napi::Object::New(env);
    out.Set("rate", r.rate);
    out.Set("seconds", r.seconds);
    out.Set("threads", r.threads);
    return out;
  } catch (...) {
    rethrowAsJs(env, "probe");
  }
}

#ifdef CR_CUDA_EMU
// cudaEmuSelfTest(name) → string: runs one of the emulator's self-test kernels.
Napi::Value CudaEmuSelfTest(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  try {
    return Napi::String::New(env, emu::selfTest(info[0].As<Napi::String>().Utf8Value()));
  } catch (...) {
    rethrowAsJs(env, "cudaEmuSelfTest");
  }
}
#endif

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  std::string isaError;
  const Isa isa = detectIsa(&isaError);
  if (!isaError.empty()) throw Napi::RangeError::New(env, "crossroad: " + isaError);
  cpu::selectKernels(static_cast<int>(isa));
  exports.Set("runSync", Napi::Function::New(env, RunSync, "runSync"));
  exports.Set("runAsync", Napi::Function::New(env, RunAsync, "runAsync"));
  exports.Set("runBatchSync", Napi::Function::New(env, RunBatchSync, "runBatchSync"));
  exports.Set("runBatchAsync", Napi::Function::New(env, RunBatchAsync, "runBatchAsync"));
  exports.Set("opNames", Napi::Function::New(env, OpNames, "opNames"));
  exports.Set("info", Napi::Function::New(env, Info, "info"));
  exports.Set("setNumThreads", Napi::Function::New(env, SetNumThreads, "setNumThreads"));
  exports.Set("setIsa", Napi::Function::New(env, SetIsa, "setIsa"));
  exports.Set("probe", Napi::Function::New(env, Probe, "probe"));
  exports.Set("mapFile", Napi::Function::New(env, MapFile, "mapFile"));
  exports.Set("cudaOpNames", Napi::Function::New(env, CudaOpNames, "cudaOpNames"));
  exports.Set("cudaAlloc", Napi::Function::New(env, CudaAlloc, "cudaAlloc"));
  exports.Set("cudaUpload", Napi::Function::New(env, CudaUpload, "cudaUpload"));
  exports.Set("cudaDownload", Napi::Function::New(env, CudaDownload, "cudaDownload"));
  exports.Set("cudaCopy", Napi::Function::New(env, CudaCopy, "cudaCopy"));
  exports.Set("cudaMemory", Napi::Function::New(env, CudaMemory, "cudaMemory"));
#ifdef CR_CUDA_EMU
  exports.Set("cudaEmuSelfTest", Napi::Function::New(env, CudaEmuSelfTest, "cudaEmuSelfTest"));
#endif
  return exports;
}

}  // namespace

}  // namespace cr::napi

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return cr::napi::Init(env, exports); }
NODE_API_MODULE(crossroad, InitModule)
