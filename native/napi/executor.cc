#include "executor.h"

#include <new>

namespace cr::napi {

namespace {
constexpr int kExecutorThreads = 4;
}

Executor& Executor::forEnv(Napi::Env env) {
  void* existing = nullptr;
  napi_get_instance_data(env, &existing);
  if (existing != nullptr) return *static_cast<Executor*>(existing);
  Executor* created = new Executor(env);
  // No finaliser: the env cleanup hook deletes it, after joining its threads.
  napi_set_instance_data(env, created, nullptr, nullptr);
  return *created;
}

Executor::Executor(Napi::Env env) : env_(env) {
  napi_value name;
  napi_create_string_utf8(env, "crossroad-executor", NAPI_AUTO_LENGTH, &name);
  napi_status status = napi_create_threadsafe_function(env, nullptr, nullptr, name, 0, 1, nullptr, nullptr, this,
                                                      &Executor::callJs, &tsfn_);
  if (status != napi_ok) throw Napi::Error::New(env, "crossroad: could not create the executor's thread-safe function");
  // Idle executors must not keep the process alive.
  napi_unref_threadsafe_function(env, tsfn_);
  napi_add_env_cleanup_hook(env, &Executor::cleanup, this);
  for (int i = 0; i < kExecutorThreads; ++i) threads_.emplace_back([this] { loop(); });
}

Executor::~Executor() { shutdown(); }

void Executor::shutdown() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& t : threads_) t.join();
  threads_.clear();
  if (tsfn_ != nullptr) {
    napi_release_threadsafe_function(tsfn_, napi_tsfn_abort);
    tsfn_ = nullptr;
  }
}

void Executor::cleanup(void* arg) {
  Executor* self = static_cast<Executor*>(arg);
  self->shutdown();
  // Jobs that never ran or were never settled: their references die with the environment.
  self->queue_.clear();
  self->finished_.clear();
  delete self;
}

Napi::Promise Executor::submit(Napi::Env env, std::unique_ptr<Job> job) {
  Napi::Promise promise = job->deferred.Promise();
  if (inFlight_++ == 0) napi_ref_threadsafe_function(env, tsfn_);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    queue_.push_back(std::move(job));
  }
  wake_.notify_one();
  return promise;
}

void Executor::loop() {
  for (;;) {
    std::unique_ptr<Job> job;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    try {
      job->work();
    } catch (const Error& e) {
      job->failed = true;
      job->errorKind = e.kind();
      job->errorMessage = e.what();
    } catch (const std::bad_alloc&) {
      job->failed = true;
      job->errorKind = ErrorKind::Range;
      job->errorMessage = job->op + ": out of memory";
    } catch (const std::exception& e) {
      job->failed = true;
      job->errorMessage = job->op + ": " + e.what();
    } catch (...) {
      job->failed = true;
      job->errorMessage = job->op + ": unknown native error";
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      finished_.push_back(std::move(job));
    }
    napi_call_threadsafe_function(tsfn_, nullptr, napi_tsfn_nonblocking);
  }
}

void Executor::callJs(napi_env env, napi_value, void* context, void*) {
  if (env == nullptr) return;  // the environment is being torn down
  static_cast<Executor*>(context)->settleFinished(Napi::Env(env));
}

void Executor::settleFinished(Napi::Env env) {
  std::vector<std::unique_ptr<Job>> done;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    done.swap(finished_);
  }
  for (auto& job : done) {
    Napi::HandleScope scope(env);
    if (job->failed) {
      job->deferred.Reject(toJsError(env, job->errorKind, job->errorMessage).Value());
    } else {
      try {
        job->deferred.Resolve(job->result ? job->result(env) : env.Undefined());
      } catch (const Napi::Error& e) {
        job->deferred.Reject(e.Value());
      }
    }
    job.reset();  // drops the typed-array references on the JS thread
    if (--inFlight_ == 0) napi_unref_threadsafe_function(env, tsfn_);
  }
}

}  // namespace cr::napi
