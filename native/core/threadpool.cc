#include "threadpool.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "cpu_features.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#define CR_PAUSE() _mm_pause()
#elif defined(__aarch64__)
#define CR_PAUSE() __asm__ __volatile__("yield")
#else
#define CR_PAUSE() ((void)0)
#endif

namespace cr {

namespace {

// After a region ends, workers keep polling this long before they sleep, so
// back-to-back regions (a decode step is a chain of small ops) skip the
// futex wake-up. Short enough that an idle pool costs nothing measurable.
constexpr auto kSpinBeforeSleep = std::chrono::microseconds(200);
// Waits in barriers and region joins yield the core after this long, which
// keeps an oversubscribed machine (other processes on our cores) progressing.
constexpr auto kSpinBeforeYield = std::chrono::microseconds(50);

struct Region {
  const FunctionRef<void(int, int)>* body = nullptr;
  int nth = 1;
  std::atomic<int> barrierCount{0};
  std::atomic<uint64_t> barrierPhase{0};
};

thread_local Region* tlsRegion = nullptr;
thread_local bool tlsInRegion = false;

template <typename Done>
void spinWait(Done done) {
  auto start = std::chrono::steady_clock::now();
  for (int i = 0;; ++i) {
    if (done()) return;
    CR_PAUSE();
    if ((i & 63) == 63 && std::chrono::steady_clock::now() - start > kSpinBeforeYield) {
      while (!done()) std::this_thread::yield();
      return;
    }
  }
}

int initialThreadCount() {
  if (const char* env = std::getenv("CROSSROAD_NUM_THREADS")) {
    int n = std::atoi(env);
    if (n >= 1 && n <= 1024) return n;
  }
  return physicalCoreCount();
}

}  // namespace

struct ThreadPool::Impl {
  // Fair admission: regions run in ticket order.
  std::mutex admitMutex;
  std::condition_variable admitCv;
  uint64_t nextTicket = 0;
  uint64_t serving = 0;

  int size = 1;  // compute threads, the caller included
  std::vector<std::thread> workers;

  // Each worker polls its own slot, so a region wakes only the threads it uses
  // and a worker can never mistake a later region for the one it was given.
  struct alignas(64) Slot {
    std::atomic<uint64_t> ticket{0};
  };
  std::unique_ptr<Slot[]> slots;
  uint64_t generation = 0;
  std::atomic<bool> stop{false};
  std::atomic<int> sleepers{0};
  std::mutex wakeMutex;
  std::condition_variable wakeCv;

  Region region;
  std::atomic<int> remaining{0};
  std::mutex errorMutex;
  std::exception_ptr error;

  void admit() {
    std::unique_lock<std::mutex> lock(admitMutex);
    const uint64_t ticket = nextTicket++;
    admitCv.wait(lock, [&] { return serving == ticket; });
  }
  void release() {
    {
      std::lock_guard<std::mutex> lock(admitMutex);
      ++serving;
    }
    admitCv.notify_all();
  }

  void runBody(int tid) {
    tlsInRegion = true;
    tlsRegion = &region;
    try {
      (*region.body)(tid, region.nth);
    } catch (...) {
      std::lock_guard<std::mutex> lock(errorMutex);
      if (!error) error = std::current_exception();
    }
    tlsRegion = nullptr;
    tlsInRegion = false;
  }

  void workerLoop(int index) {
    std::atomic<uint64_t>& ticket = slots[index].ticket;
    // Slots start at 0 and tickets are never 0: a region handed out before
    // this thread got going is still seen as new.
    uint64_t seen = 0;
    for (;;) {
      auto start = std::chrono::steady_clock::now();
      for (int i = 0; ticket.load(std::memory_order_acquire) == seen && !stop.load(std::memory_order_relaxed); ++i) {
        CR_PAUSE();
        if ((i & 255) == 255 && std::chrono::steady_clock::now() - start > kSpinBeforeSleep) {
          std::unique_lock<std::mutex> lock(wakeMutex);
          sleepers.fetch_add(1);
          wakeCv.wait(lock, [&] { return ticket.load() != seen || stop.load(); });
          sleepers.fetch_sub(1);
          break;
        }
      }
      if (stop.load()) return;
      seen = ticket.load(std::memory_order_acquire);
      runBody(index);
      remaining.fetch_sub(1, std::memory_order_release);
    }
  }

  void startWorkers(int n) {
    size = n;
    stop.store(false);
    slots.reset(new Slot[n]);
    for (int i = 1; i < n; ++i) workers.emplace_back([this, i] { workerLoop(i); });
  }

  void stopWorkers() {
    {
      std::lock_guard<std::mutex> lock(wakeMutex);
      stop.store(true);
    }
    wakeCv.notify_all();
    for (auto& t : workers) t.join();
    workers.clear();
  }
};

ThreadPool& ThreadPool::instance() {
  // Never destroyed: worker threads must not be joined during static destruction
  // at process exit, when other threads may still be inside a region.
  static ThreadPool* pool = new ThreadPool();
  return *pool;
}

ThreadPool::ThreadPool() : impl_(new Impl()) { impl_->startWorkers(initialThreadCount()); }

ThreadPool::~ThreadPool() {
  impl_->stopWorkers();
  delete impl_;
}

int ThreadPool::numThreads() const { return impl_->size; }

void ThreadPool::setNumThreads(int n) {
  if (n < 1) n = 1;
  impl_->admit();
  if (n != impl_->size) {
    impl_->stopWorkers();
    impl_->startWorkers(n);
  }
  impl_->release();
}

bool ThreadPool::inRegion() { return tlsInRegion; }

void ThreadPool::run(int nth, FunctionRef<void(int, int)> body) {
  if (tlsInRegion) {  // nested: the enclosing region already owns the cores
    Region* outer = tlsRegion;
    tlsRegion = nullptr;
    body(0, 1);
    tlsRegion = outer;
    return;
  }
  Impl& s = *impl_;
  s.admit();
  nth = std::max(1, std::min(nth, s.size));
  s.region.body = &body;
  s.region.nth = nth;
  s.region.barrierCount.store(0, std::memory_order_relaxed);
  s.error = nullptr;
  if (nth > 1) {
    s.remaining.store(nth - 1, std::memory_order_relaxed);
    const uint64_t ticket = ++s.generation;
    for (int i = 1; i < nth; ++i) s.slots[i].ticket.store(ticket, std::memory_order_seq_cst);
    if (s.sleepers.load(std::memory_order_seq_cst) > 0) {
      { std::lock_guard<std::mutex> lock(s.wakeMutex); }
      s.wakeCv.notify_all();
    }
  }
  s.runBody(0);
  if (nth > 1) spinWait([&] { return s.remaining.load(std::memory_order_acquire) == 0; });
  std::exception_ptr error = s.error;
  s.error = nullptr;
  s.release();
  if (error) std::rethrow_exception(error);
}

void ThreadPool::barrier() {
  Region* r = tlsRegion;
  if (r == nullptr || r->nth <= 1) return;
  const uint64_t phase = r->barrierPhase.load(std::memory_order_acquire);
  if (r->barrierCount.fetch_add(1, std::memory_order_acq_rel) == r->nth - 1) {
    r->barrierCount.store(0, std::memory_order_relaxed);
    r->barrierPhase.fetch_add(1, std::memory_order_release);
  } else {
    spinWait([&] { return r->barrierPhase.load(std::memory_order_acquire) != phase; });
  }
}

void parallelTasks(int64_t count, FunctionRef<void(int64_t, int)> fn) {
  if (count <= 0) return;
  std::atomic<int64_t> next{0};
  ThreadPool& pool = ThreadPool::instance();
  const int nth = static_cast<int>(std::min<int64_t>(pool.numThreads(), count));
  pool.run(nth, [&](int tid, int) {
    for (int64_t task = next.fetch_add(1, std::memory_order_relaxed); task < count;
         task = next.fetch_add(1, std::memory_order_relaxed)) {
      fn(task, tid);
    }
  });
}

}  // namespace cr
