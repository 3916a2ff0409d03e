// Runs ops off the JS thread. A few executor threads take jobs in arrival
// order; each job's kernels run on the shared compute pool (whose regions are
// serialised), so jobs in flight interleave instead of oversubscribing cores.
// Results come back through one thread-safe function that settles the
// promises on the JS thread, which also drops the references that kept the
// jobs' typed arrays alive.
#pragma once
#include <napi.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "../core/error.h"
#include "marshal.h"

namespace cr::napi {

struct Job {
  explicit Job(Napi::Env env) : deferred(Napi::Promise::Deferred::New(env)) {}
  std::string op;
  std::function<void()> work;                         // runs on an executor thread
  std::function<Napi::Value(Napi::Env)> result;       // builds the resolved value on the JS thread (optional)
  std::vector<Napi::ObjectReference> keepAlive;
  Napi::Promise::Deferred deferred;
  bool failed = false;
  ErrorKind errorKind = ErrorKind::Generic;
  std::string errorMessage;
};

class Executor {
 public:
  static Executor& forEnv(Napi::Env env);

  Napi::Promise submit(Napi::Env env, std::unique_ptr<Job> job);

  ~Executor();

 private:
  explicit Executor(Napi::Env env);
  static void callJs(napi_env env, napi_value, void* context, void*);
  static void cleanup(void* arg);
  void loop();
  void settleFinished(Napi::Env env);
  void shutdown();

  napi_env env_;
  napi_threadsafe_function tsfn_ = nullptr;
  std::vector<std::thread> threads_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::unique_ptr<Job>> queue_;
  std::vector<std::unique_ptr<Job>> finished_;
  bool stopping_ = false;
  size_t inFlight_ = 0;  // touched on the JS thread only
};

}  // namespace cr::napi
