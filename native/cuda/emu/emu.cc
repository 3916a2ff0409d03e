// The CUDA emulator's runtime: fibers and the block scheduler, collectives, launches, device
// memory with guard pages, and the runtime API calls crossroad uses (see emu.h, README.md).
#include "emu.h"

#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "../../core/error.h"

#if !defined(__x86_64__)
#error "the CUDA emulator's fibers are written for x86-64"
#endif

// ---- context switch --------------------------------------------------------------------------------------
// cr_emu_switch(void** save, void* to): saves the callee-saved registers on the current stack,
// stores the stack pointer in *save, and resumes the context whose stack pointer is `to`. A new
// fiber's stack is laid out as if it had called cr_emu_switch, with fiberEntry as the return
// address. MXCSR and the x87 control word are not switched: every fiber of a launch runs with
// the launching thread's (kernels do not change them).
extern "C" void cr_emu_switch(void** save, void* to);
asm(R"(
.text
.p2align 4
.globl cr_emu_switch
.hidden cr_emu_switch
.type cr_emu_switch,@function
cr_emu_switch:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
.size cr_emu_switch, .-cr_emu_switch
)");

namespace cr::emu {

thread_local ThreadContext* current = nullptr;

namespace {

constexpr int kWarp = 32;
constexpr size_t kStackBytes = 256 * 1024;  // virtual; only touched pages are committed
constexpr size_t kDefaultDynamicShared = 48 * 1024;
constexpr size_t kMaxDynamicShared = 227 * 1024;
constexpr int kMultiprocessors = 132;

size_t pageSize() {
  static const size_t size = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  return size;
}

const char* opName(WarpOp op) {
  switch (op) {
    case WarpOp::Sync: return "__syncwarp";
    case WarpOp::ShflIdx: return "__shfl_sync";
    case WarpOp::ShflUp: return "__shfl_up_sync";
    case WarpOp::ShflDown: return "__shfl_down_sync";
    case WarpOp::ShflXor: return "__shfl_xor_sync";
    case WarpOp::Ballot: return "__ballot_sync";
    case WarpOp::Any: return "__any_sync";
    case WarpOp::All: return "__all_sync";
    case WarpOp::Wmma: return "wmma::mma_sync";
  }
  return "?";
}

std::string where(const char* file, int line) {
  if (file == nullptr) return "?";
  const char* slash = std::strrchr(file, '/');
  return concat(slash ? slash + 1 : file, ":", line);
}

std::string xyz(uint3 v) { return concat("(", v.x, ",", v.y, ",", v.z, ")"); }

struct Fiber {
  enum State : uint8_t { Ready, Barrier, Warp, Done };
  void* sp = nullptr;
  ThreadContext ctx{};
  State state = Ready;
  const char* file = nullptr;  // where it waits
  int line = 0;
  bool grid = false;           // the barrier is a grid sync
  WarpOp op = WarpOp::Sync;
  unsigned mask = 0;
  int arg = 0, width = 32;
  uint64_t value = 0, result = 0;
};

// The grid-wide barrier of a cooperative launch (blocks on separate OS threads).
struct GridState {
  std::mutex mutex;
  std::condition_variable cv;
  int blocks = 0;
  int arrived = 0;  // blocks waiting at the current grid sync
  int finished = 0;
  uint64_t generation = 0;
  bool failed = false;
  std::string error;  // the first block's error
  const char* file = nullptr;
  int line = 0;
};

// One per OS thread that launches kernels (and per block of a cooperative launch).
struct Runner {
  std::vector<char*> stacks;
  // Guard pages split a thread's stacks into two mappings each; a cooperative launch runs every block on its own
  // OS thread at once, and 128 blocks × 256 guarded stacks pass the kernel's vm.max_map_count. Those threads
  // take their stacks unguarded, from one mapping.
  bool guardStacks = true;
  std::vector<Fiber> fibers;
  void* schedulerSp = nullptr;
  int cur = -1;  // the running fiber, -1 in the scheduler
  int live = 0, atBarrier = 0;
  Body body{};
  const char* kernel = "";
  uint3 block{};
  bool inKernel = false;
  bool failed = false;
  std::string error;
  char* dynShared = nullptr;
  size_t dynCapacity = 0, dynBytes = 0;
  sigjmp_buf faultJump;
  void* faultAddress = nullptr;
  bool (*mmaCompute)(void*, void*) = nullptr;
  // Per warp: lanes waiting at a warp collective, and whether they all named one op and mask
  // (the common case, completed by counting; otherwise every arrival rescans the warp).
  struct WarpWait {
    int count = 0;
    unsigned mask = 0;
    WarpOp op = WarpOp::Sync;
    bool mixed = false;
  };
  std::vector<WarpWait> warps;
  GridState* grid = nullptr;  // set in a cooperative launch
  const void* kernelAddress = nullptr;
  // Static __shared__ variables each kernel has used on this thread, poisoned at block start.
  std::unordered_map<const void*, std::vector<std::pair<void*, size_t>>> shared;
};

thread_local Runner* runner = nullptr;
std::atomic<int> kernelsRunning{0};

Runner& thisRunner() {
  if (runner == nullptr) runner = new Runner();  // per thread, kept for the thread's life
  return *runner;
}

std::string describeThread(const Runner& r, int index) {
  const Fiber& f = r.fibers[index];
  return concat("thread ", xyz(f.ctx.thread), " (warp ", index / kWarp, " lane ", index % kWarp, ")");
}

std::string waitingAt(const Fiber& f) {
  switch (f.state) {
    case Fiber::Barrier: return concat(f.grid ? "this_grid().sync()" : "__syncthreads", " at ", where(f.file, f.line));
    case Fiber::Warp: return concat(opName(f.op), "(mask 0x", [&] { char b[16]; std::snprintf(b, sizeof b, "%08x", f.mask); return std::string(b); }(), ") at ", where(f.file, f.line));
    case Fiber::Done: return "exited";
    default: return "running";
  }
}

// Records the error and leaves the fiber for good (its stack is reused by the next block).
[[noreturn]] void fail(Runner& r, const std::string& message) {
  r.failed = true;
  r.error = concat("CUDA emulator: ", message, " (kernel ", r.kernel, ", block ", xyz(r.block),
                   r.cur >= 0 ? concat(", ", describeThread(r, r.cur)) : std::string(), ")");
  if (r.cur >= 0) {
    void* dead;
    cr_emu_switch(&dead, r.schedulerSp);
  }
  throwError(r.error);
}

void yield(Runner& r) { cr_emu_switch(&r.fibers[r.cur].sp, r.schedulerSp); }

// The whole block has reached a grid sync: wait for the other blocks (this OS thread is the
// block's own, so blocking it blocks nothing else).
void waitForGrid(Runner& r, const char* file, int line) {
  GridState& g = *r.grid;
  std::unique_lock<std::mutex> lock(g.mutex);
  std::string problem;
  if (g.failed) {
    problem = "abandoned: another block failed";
  } else if (g.finished > 0) {
    problem = concat(g.finished, " block(s) have exited and can never reach it (a deadlock on a GPU)");
  } else if (g.arrived > 0 && (g.line != line || std::strcmp(g.file, file) != 0)) {
    problem = concat("divergent: other blocks wait at ", where(g.file, g.line));
  }
  if (problem.empty()) {
    const uint64_t generation = g.generation;
    g.file = file;
    g.line = line;
    if (++g.arrived == g.blocks) {
      g.arrived = 0;
      ++g.generation;
      g.cv.notify_all();
      return;
    }
    g.cv.wait(lock, [&] { return g.generation != generation || g.failed; });
    if (g.generation != generation) return;
    problem = "abandoned: another block failed";
  }
  lock.unlock();
  fail(r, concat("this_grid().sync() at ", where(file, line), ": ", problem));
}

void releaseBarrier(Runner& r) {
  const Fiber* first = nullptr;
  for (size_t i = 0; i < r.fibers.size(); ++i) {
    Fiber& f = r.fibers[i];
    if (f.state != Fiber::Barrier) continue;
    if (first == nullptr) {
      first = &f;
    } else if (f.line != first->line || std::strcmp(f.file, first->file) != 0) {
      fail(r, concat("divergent barriers: ", describeThread(r, static_cast<int>(first - r.fibers.data())), " waits at ",
                     where(first->file, first->line), " but ", describeThread(r, static_cast<int>(i)), " at ",
                     where(f.file, f.line)));
    }
  }
  if (first != nullptr && first->grid) waitForGrid(r, first->file, first->line);
  if (first != nullptr && (first->value >> 32) != 0) {
    // __syncthreads_count/_and/_or (the call site is the same for all, so the kind is too).
    const uint64_t kind = (first->value >> 32) - 1;
    int count = 0, all = 1, any = 0;
    for (const Fiber& f : r.fibers) {
      if (f.state != Fiber::Barrier) continue;
      const int v = static_cast<int>(f.value & 0xffffffffu);
      count += v;
      all &= v;
      any |= v;
    }
    const int result = kind == 0 ? count : kind == 1 ? all : any;
    for (Fiber& f : r.fibers) {
      if (f.state == Fiber::Barrier) f.result = static_cast<uint64_t>(result);
    }
  }
  for (Fiber& f : r.fibers) {
    if (f.state == Fiber::Barrier) f.state = Fiber::Ready;
  }
  r.atBarrier = 0;
}

// Lanes of the running fiber's warp that wait at a warp collective naming `lane`.
void checkNoWarpWaitsFor(Runner& r, int index, const char* what) {
  const int base = index - index % kWarp;
  const int lane = index % kWarp;
  const int n = static_cast<int>(r.fibers.size());
  for (int i = base; i < base + kWarp && i < n; ++i) {
    const Fiber& f = r.fibers[i];
    if (i != index && f.state == Fiber::Warp && (f.mask >> lane & 1u)) {
      fail(r, concat(describeThread(r, i), " waits at ", waitingAt(f), " for lane ", lane, ", which ", what));
    }
  }
}

void resolveWarp(Runner& r, int base, unsigned mask, WarpOp op) {
  const int leader = base + __builtin_ctz(mask);
  if (op == WarpOp::Wmma) {
    void* leaderData = reinterpret_cast<void*>(r.fibers[leader].value);
    if (!r.mmaCompute(leaderData, leaderData)) fail(r, "wmma::mma_sync failed");
    for (int l = 0; l < kWarp; ++l) {
      const int i = base + l;
      if (!(mask >> l & 1u) || i == leader) continue;
      if (!r.mmaCompute(leaderData, reinterpret_cast<void*>(r.fibers[i].value))) {
        fail(r, concat("wmma::mma_sync at ", where(r.fibers[i].file, r.fibers[i].line), ": lane ", l,
                       " holds different fragments from lane ", leader - base,
                       " (WMMA loads need warp-uniform pointers and ldm)"));
      }
    }
  } else if (op == WarpOp::Ballot || op == WarpOp::Any || op == WarpOp::All) {
    unsigned bits = 0;
    for (int l = 0; l < kWarp; ++l) {
      if ((mask >> l & 1u) && r.fibers[base + l].value != 0) bits |= 1u << l;
    }
    const uint64_t result = op == WarpOp::Ballot ? bits : op == WarpOp::Any ? (bits != 0) : (bits == mask);
    for (int l = 0; l < kWarp; ++l) {
      if (mask >> l & 1u) r.fibers[base + l].result = result;
    }
  } else if (op != WarpOp::Sync) {
    for (int l = 0; l < kWarp; ++l) {
      if (!(mask >> l & 1u)) continue;
      Fiber& f = r.fibers[base + l];
      const int w = f.width;
      if (w <= 0 || w > kWarp || (w & (w - 1)) != 0) fail(r, concat(opName(op), ": width ", w, " is not a power of two ≤ 32"));
      const int segment = l & ~(w - 1);
      int src = -1;  // −1: the lane's own value
      switch (op) {
        case WarpOp::ShflIdx: src = segment + (f.arg & (w - 1)); break;
        case WarpOp::ShflUp: src = (l & (w - 1)) >= f.arg ? l - f.arg : -1; break;
        case WarpOp::ShflDown: src = (l & (w - 1)) + f.arg < w ? l + f.arg : -1; break;
        case WarpOp::ShflXor: {
          const int x = l ^ f.arg;
          src = (x & ~(w - 1)) == segment && x < kWarp ? x : -1;
          break;
        }
        default: break;
      }
      if (src >= 0 && !(mask >> src & 1u)) {
        fail(r, concat(opName(op), " at ", where(f.file, f.line), ": lane ", l, " reads lane ", src,
                       ", which is not in the mask (its value is undefined on a GPU)"));
      }
      f.result = src < 0 ? f.value : r.fibers[base + src].value;
    }
  }
  for (int l = 0; l < kWarp; ++l) {
    if (mask >> l & 1u) r.fibers[base + l].state = Fiber::Ready;
  }
}

void finishFiber(Runner& r) {
  Fiber& f = r.fibers[r.cur];
  f.state = Fiber::Done;
  --r.live;
  checkNoWarpWaitsFor(r, r.cur, "has exited");
  if (r.atBarrier > 0 && r.atBarrier == r.live) releaseBarrier(r);
}

[[noreturn]] void fiberEntry() {
  Runner& r = *runner;
  try {
    r.body.run(r.body.self);
  } catch (const std::exception& e) {
    fail(r, concat("exception in the kernel: ", e.what()));
  }
  finishFiber(r);
  void* dead;
  cr_emu_switch(&dead, r.schedulerSp);
  __builtin_unreachable();
}

void prepareFiber(Runner& r, int index) {
  char* top = r.stacks[index] + pageSize() + kStackBytes;
  auto* sp = reinterpret_cast<uint64_t*>(top);
  *--sp = 0;                                          // alignment: fiberEntry starts as if called
  *--sp = reinterpret_cast<uint64_t>(&fiberEntry);    // cr_emu_switch's return address
  for (int i = 0; i < 6; ++i) *--sp = 0;              // rbp rbx r12 r13 r14 r15
  r.fibers[index].sp = sp;
}

void ensureStacks(Runner& r, int count) {
  if (!r.guardStacks && static_cast<int>(r.stacks.size()) < count) {
    const size_t missing = static_cast<size_t>(count) - r.stacks.size(), each = pageSize() + kStackBytes;
    void* mem = mmap(nullptr, missing * each, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (mem == MAP_FAILED) throwError("CUDA emulator: cannot map fiber stacks");
    for (size_t i = 0; i < missing; ++i) r.stacks.push_back(static_cast<char*>(mem) + i * each);  // unmapped one by one
  }
  while (static_cast<int>(r.stacks.size()) < count) {
    // A PROT_NONE page below each stack: an overflow faults instead of corrupting a neighbour.
    void* mem = mmap(nullptr, pageSize() + kStackBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (mem == MAP_FAILED) throwError("CUDA emulator: cannot map a fiber stack");
    mprotect(mem, pageSize(), PROT_NONE);
    r.stacks.push_back(static_cast<char*>(mem));
  }
}

void runBlock(Runner& r, uint3 blockIdx_, dim3 grid, dim3 block) {
  const int n = static_cast<int>(block.x * block.y * block.z);
  r.block = blockIdx_;
  r.fibers.assign(n, Fiber{});
  r.warps.assign((n + kWarp - 1) / kWarp, Runner::WarpWait{});
  for (int i = 0; i < n; ++i) {
    Fiber& f = r.fibers[i];
    f.ctx.thread = uint3{static_cast<unsigned>(i) % block.x, static_cast<unsigned>(i) / block.x % block.y,
                            static_cast<unsigned>(i) / (block.x * block.y)};
    f.ctx.block = blockIdx_;
    f.ctx.blockDim_ = block;
    f.ctx.gridDim_ = grid;
    prepareFiber(r, i);
  }
  if (r.dynBytes > 0) std::memset(r.dynShared, 0xff, r.dynBytes);
  auto registered = r.shared.find(r.kernelAddress);
  if (registered != r.shared.end()) {
    for (auto& [address, bytes] : registered->second) std::memset(address, 0xff, bytes);
  }
  r.live = n;
  r.atBarrier = 0;
  for (;;) {
    bool ran = false;
    for (int i = 0; i < n; ++i) {
      if (r.fibers[i].state != Fiber::Ready) continue;
      r.cur = i;
      current = &r.fibers[i].ctx;
      cr_emu_switch(&r.schedulerSp, r.fibers[i].sp);
      r.cur = -1;
      current = nullptr;
      ran = true;
      if (r.failed) throwError(r.error);
    }
    if (r.live == 0) return;
    if (!ran) {
      // Everyone waits and nothing can release them: say where they are.
      std::string states;
      int shown = 0;
      for (int i = 0; i < n && shown < 4; ++i) {
        if (r.fibers[i].state == Fiber::Done) continue;
        states += concat(shown ? "; " : "", describeThread(r, i), " at ", waitingAt(r.fibers[i]));
        ++shown;
      }
      fail(r, concat("deadlock: ", states));
    }
  }
}

// ---- device memory ------------------------------------------------------------------------------------------

struct Allocation {
  char* base;       // the mapping
  size_t mapBytes;  // including the guard page
  size_t bytes;     // asked for
};
std::mutex memoryMutex;
std::map<uintptr_t, Allocation>& allocations() {
  static auto* map = new std::map<uintptr_t, Allocation>();
  return *map;
}

// The allocation holding [p, p + bytes), or nullptr.
const Allocation* findAllocation(const void* p, size_t bytes, uintptr_t* start) {
  auto& map = allocations();
  const uintptr_t a = reinterpret_cast<uintptr_t>(p);
  auto it = map.upper_bound(a);
  if (it == map.begin()) return nullptr;
  --it;
  const uintptr_t end = it->first + it->second.bytes;
  if (a < it->first || a + bytes > end || a + bytes < a) return nullptr;
  *start = it->first;
  return &it->second;
}

std::string describeAddress(const void* p) {
  std::lock_guard<std::mutex> lock(memoryMutex);
  const uintptr_t a = reinterpret_cast<uintptr_t>(p);
  auto& map = allocations();
  auto it = map.upper_bound(a);
  if (it != map.begin()) {
    --it;
    const uintptr_t end = it->first + it->second.bytes;
    if (a >= end && a < reinterpret_cast<uintptr_t>(it->second.base) + it->second.mapBytes) {
      return concat(a - end, " bytes past the end of a ", it->second.bytes, "-byte device allocation");
    }
  }
  return "not in any device allocation";
}

bool isDevice(const void* p, size_t bytes) {
  if (bytes == 0) return true;
  std::lock_guard<std::mutex> lock(memoryMutex);
  uintptr_t start;
  return findAllocation(p, bytes, &start) != nullptr;
}

// ---- out-of-bounds faults -----------------------------------------------------------------------------------

struct sigaction previousSegv;
std::once_flag handlerOnce;

void onSegv(int sig, siginfo_t* info, void* context) {
  if (kernelsRunning.load(std::memory_order_relaxed) > 0) {
    Runner* r = runner;
    if (r != nullptr && r->inKernel && r->cur >= 0) {
      r->faultAddress = info->si_addr;
      siglongjmp(r->faultJump, 1);
    }
  }
  // Not ours (V8 handles its own faults this way too): hand it on.
  if (previousSegv.sa_flags & SA_SIGINFO) {
    previousSegv.sa_sigaction(sig, info, context);
  } else if (previousSegv.sa_handler == SIG_DFL || previousSegv.sa_handler == SIG_IGN) {
    signal(sig, SIG_DFL);  // returning re-runs the access, which now kills the process as usual
  } else {
    previousSegv.sa_handler(sig);
  }
}

void installFaultHandler() {
  std::call_once(handlerOnce, [] {
    struct sigaction action {};
    action.sa_sigaction = &onSegv;
    action.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&action.sa_mask);
    sigaction(SIGSEGV, &action, &previousSegv);
  });
  // A fiber that overflows its stack faults on its guard page: the handler needs a stack.
  thread_local bool altStack = false;
  if (!altStack) {
    altStack = true;
    stack_t old{};
    if (sigaltstack(nullptr, &old) == 0 && (old.ss_flags & SS_DISABLE)) {
      stack_t ss{};
      ss.ss_size = 64 * 1024;
      ss.ss_sp = std::malloc(ss.ss_size);
      ss.ss_flags = 0;
      if (ss.ss_sp != nullptr) sigaltstack(&ss, nullptr);
    }
  }
}

// ---- launches --------------------------------------------------------------------------------------------------

std::mutex funcMutex;
std::unordered_map<const void*, int>& funcMaxDynamicShared() {
  static auto* map = new std::unordered_map<const void*, int>();
  return *map;
}

thread_local cudaError_t lastError = cudaSuccess;

cudaError_t setError(cudaError_t e) {
  if (e != cudaSuccess) lastError = e;
  return e;
}

}  // namespace

void* dynamicShared() {
  Runner* r = runner;
  return r != nullptr ? r->dynShared : nullptr;
}

void registerShared(void* address, size_t bytes) {
  Runner* r = runner;
  if (r == nullptr || !r->inKernel) return;  // a namespace-scope __shared__ initialised outside a kernel
  std::memset(address, 0xff, bytes);
  r->shared[r->kernelAddress].emplace_back(address, bytes);
}

void setFuncMaxDynamicShared(const void* kernel, int bytes) {
  std::lock_guard<std::mutex> lock(funcMutex);
  funcMaxDynamicShared()[kernel] = bytes;
}

namespace {
void arriveAtBarrier(const char* file, int line, bool grid, uint64_t value = 0) {
  Runner& r = *runner;
  Fiber& f = r.fibers[r.cur];
  f.value = value;
  if (grid && r.grid == nullptr) {
    fail(r, concat("this_grid().sync() at ", where(file, line), " in a kernel not launched with cudaLaunchCooperativeKernel"));
  }
  checkNoWarpWaitsFor(r, r.cur, concat("waits at ", grid ? "this_grid().sync()" : "__syncthreads", " at ", where(file, line), " instead").c_str());
  f.state = Fiber::Barrier;
  f.grid = grid;
  f.file = file;
  f.line = line;
  if (++r.atBarrier == r.live) {
    releaseBarrier(r);
    return;
  }
  yield(r);
}
}  // namespace

void syncThreads(const char* file, int line) { arriveAtBarrier(file, line, false); }

int syncThreadsReduce(int value, int kind, const char* file, int line) {
  arriveAtBarrier(file, line, false, static_cast<uint64_t>(value) | static_cast<uint64_t>(kind + 1) << 32);
  return static_cast<int>(runner->fibers[runner->cur].result);
}
void gridSync(const char* file, int line) { arriveAtBarrier(file, line, true); }

uint64_t warpCollective(WarpOp op, unsigned mask, uint64_t value, int arg, int width, const char* file, int line) {
  Runner& r = *runner;
  const int me = r.cur;
  const int lane = me % kWarp, base = me - lane;
  const int n = static_cast<int>(r.fibers.size());
  Fiber& f = r.fibers[me];
  f.state = Fiber::Warp;
  f.op = op;
  f.mask = mask;
  f.value = value;
  f.arg = arg;
  f.width = width;
  f.file = file;
  f.line = line;
  if (!(mask >> lane & 1u)) {
    fail(r, concat(opName(op), " at ", where(file, line), ": the mask 0x", [&] { char b[16]; std::snprintf(b, sizeof b, "%08x", mask); return std::string(b); }(),
                   " leaves out the calling lane ", lane));
  }
  if (base + kWarp > n && (mask >> (n - base)) != 0) {
    fail(r, concat(opName(op), " at ", where(file, line), ": the mask names lanes past the end of the block (",
                   n, " threads)"));
  }
  Runner::WarpWait& w = r.warps[me / kWarp];
  if (w.count == 0) {
    w.mask = mask;
    w.op = op;
  } else if (w.mask != mask || w.op != op) {
    w.mixed = true;
  }
  ++w.count;
  if (!w.mixed && w.count < __builtin_popcount(mask)) {
    yield(r);
    return r.fibers[me].result;
  }
  bool complete = true;
  for (int l = 0; l < kWarp; ++l) {
    if (!(mask >> l & 1u)) continue;
    const int i = base + l;
    if (i >= n) {
      fail(r, concat(opName(op), " at ", where(file, line), ": the mask names lane ", l, ", which does not exist (the block has ",
                     n, " threads)"));
    }
    const Fiber& g = r.fibers[i];
    if (g.state == Fiber::Done) {
      fail(r, concat(opName(op), " at ", where(file, line), ": lane ", l, " of the mask has exited"));
    } else if (g.state == Fiber::Barrier) {
      fail(r, concat(opName(op), " at ", where(file, line), " waits for lane ", l, ", which waits at __syncthreads at ",
                     where(g.file, g.line)));
    } else if (g.state != Fiber::Warp) {
      complete = false;
    } else if (g.op != op || g.mask != mask) {
      fail(r, concat("divergent warp collective: lane ", lane, " at ", waitingAt(f), " but lane ", l, " at ", waitingAt(g)));
    }
  }
  if (complete) {
    resolveWarp(r, base, mask, op);
    w.count -= __builtin_popcount(mask);
    if (w.count == 0) w.mixed = false;
    return f.result;
  }
  yield(r);
  return r.fibers[me].result;
}

void warpMma(void* data, bool (*compute)(void* leader, void* lane), const char* file, int line) {
  runner->mmaCompute = compute;
  warpCollective(WarpOp::Wmma, 0xffffffffu, reinterpret_cast<uint64_t>(data), 0, 32, file, line);
}

unsigned activeMask() {
  Runner& r = *runner;
  const int base = r.cur - r.cur % kWarp;
  unsigned mask = 0;
  for (int l = 0; l < kWarp && base + l < static_cast<int>(r.fibers.size()); ++l) {
    if (r.fibers[base + l].state != Fiber::Done) mask |= 1u << l;
  }
  return mask;
}

namespace {

// The checks a GPU makes before it runs anything; false (and the last error set) on failure.
bool checkConfiguration(const void* kernel, dim3 grid, dim3 block, size_t smem) {
  const uint64_t threads = uint64_t(block.x) * block.y * block.z;
  if (grid.x == 0 || grid.y == 0 || grid.z == 0 || threads == 0 || threads > 1024 || block.x > 1024 || block.y > 1024 ||
      block.z > 64 || grid.x > 0x7fffffffu || grid.y > 65535 || grid.z > 65535) {
    setError(cudaErrorInvalidConfiguration);
    return false;
  }
  if (smem > kDefaultDynamicShared) {
    int allowed = 0;
    {
      std::lock_guard<std::mutex> lock(funcMutex);
      auto it = funcMaxDynamicShared().find(kernel);
      if (it != funcMaxDynamicShared().end()) allowed = it->second;
    }
    if (smem > kMaxDynamicShared || smem > static_cast<size_t>(allowed)) {
      setError(cudaErrorInvalidValue);
      return false;
    }
  }
  return true;
}

// Runs blocks first, first + step, … of the grid (in x, y, z order) on this OS thread.
void runBlocks(Runner& r, const char* name, const void* kernel, dim3 grid, dim3 block, size_t smem, Body body, uint64_t first,
               uint64_t step) {
  const uint64_t threads = uint64_t(block.x) * block.y * block.z;
  ensureStacks(r, static_cast<int>(threads));
  if (smem > r.dynCapacity) {
    std::free(r.dynShared);
    r.dynShared = static_cast<char*>(std::aligned_alloc(128, (smem + 127) / 128 * 128));
    r.dynCapacity = smem;
  }
  r.dynBytes = smem;
  installFaultHandler();
  r.kernel = name;
  r.kernelAddress = kernel;
  r.body = body;
  r.failed = false;
  r.error.clear();
  r.cur = -1;
  kernelsRunning.fetch_add(1);
  r.inKernel = true;
  struct Leave {
    Runner& r;
    ~Leave() {
      r.inKernel = false;
      r.cur = -1;
      current = nullptr;
      kernelsRunning.fetch_sub(1);
    }
  } leave{r};
  if (sigsetjmp(r.faultJump, 1) != 0) {
    const int cur = r.cur;
    r.cur = -1;
    current = nullptr;
    throwError("CUDA emulator: invalid memory access at ", r.faultAddress, " (", describeAddress(r.faultAddress),
               ") in kernel ", r.kernel, ", block ", xyz(r.block), ", ", describeThread(r, cur),
               "; a fault just below a fiber stack is a stack overflow (kernel-local arrays over 256 KB)");
  }
  const uint64_t total = uint64_t(grid.x) * grid.y * grid.z;
  for (uint64_t i = first; i < total; i += step) {
    const unsigned x = static_cast<unsigned>(i % grid.x), y = static_cast<unsigned>(i / grid.x % grid.y),
                   z = static_cast<unsigned>(i / (uint64_t(grid.x) * grid.y));
    runBlock(r, uint3{x, y, z}, grid, block);
  }
}

void destroyRunner() {
  Runner* r = runner;
  if (r == nullptr) return;
  for (char* stack : r->stacks) munmap(stack, pageSize() + kStackBytes);
  std::free(r->dynShared);
  delete r;
  runner = nullptr;
}

}  // namespace

void launchKernel(const char* name, const void* kernel, dim3 grid, dim3 block, size_t smem, cudaStream_t, Body body) {
  if (!checkConfiguration(kernel, grid, block, smem)) return;
  Runner& r = thisRunner();
  if (r.inKernel) throwError("CUDA emulator: kernel ", name, " launched from inside kernel ", r.kernel, " (not supported)");
  runBlocks(r, name, kernel, grid, block, smem, body, 0, 1);
}

int maxActiveBlocksPerMultiprocessor(int blockSize, size_t smem) {
  // At most 2: each block of a cooperative launch is an OS thread here.
  if (blockSize <= 0 || blockSize > 1024) return 0;
  const int byThreads = 2048 / blockSize;
  const int bySmem = smem > 0 ? static_cast<int>((228 * 1024) / (smem + 1024)) : 2;
  return std::max(0, std::min({2, byThreads, bySmem}));
}

cudaError_t launchCooperative(const char* name, const void* kernel, dim3 grid, dim3 block, size_t smem, cudaStream_t,
                              Body body) {
  if (!checkConfiguration(kernel, grid, block, smem)) return lastError;
  const uint64_t blocks = uint64_t(grid.x) * grid.y * grid.z;
  const int perSM = maxActiveBlocksPerMultiprocessor(static_cast<int>(block.x * block.y * block.z), smem);
  if (blocks > static_cast<uint64_t>(perSM) * kMultiprocessors) return setError(cudaErrorCooperativeLaunchTooLarge);
  if (runner != nullptr && runner->inKernel) {
    throwError("CUDA emulator: kernel ", name, " launched from inside kernel ", runner->kernel, " (not supported)");
  }
  GridState state;
  state.blocks = static_cast<int>(blocks);
  std::vector<std::thread> threads;
  threads.reserve(blocks);
  for (uint64_t i = 0; i < blocks; ++i) {
    threads.emplace_back([&, i] {
      Runner& r = thisRunner();
      r.grid = &state;
      r.guardStacks = false;
      try {
        runBlocks(r, name, kernel, grid, block, smem, body, i, blocks);
      } catch (const std::exception& e) {
        std::lock_guard<std::mutex> lock(state.mutex);
        if (!state.failed) {
          state.failed = true;
          state.error = e.what();
        }
        state.cv.notify_all();
      }
      {
        std::lock_guard<std::mutex> lock(state.mutex);
        ++state.finished;
        if (state.arrived > 0 && !state.failed) {
          state.failed = true;
          state.error = concat("CUDA emulator: block ", xyz(r.block), " of kernel ", name,
                               " exited while other blocks wait at this_grid().sync() at ", where(state.file, state.line),
                               " (a deadlock on a GPU)");
          state.cv.notify_all();
        }
      }
      destroyRunner();
    });
  }
  for (std::thread& t : threads) t.join();
  if (state.failed) throwError(state.error);
  return cudaSuccess;
}

}  // namespace cr::emu

// ---- runtime API -------------------------------------------------------------------------------------------------

using namespace cr::emu;

struct CUstream_st {
  unsigned flags;
};
struct CUevent_st {
  unsigned flags;
};

namespace {
thread_local int currentDevice = 0;
constexpr size_t kTotalMemory = size_t(80) << 30;

bool validDevice(int device) { return device == 0; }
}  // namespace

cudaError_t cudaGetDeviceCount(int* count) {
  *count = 1;
  return cudaSuccess;
}

cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device) {
  if (!validDevice(device)) return setError(cudaErrorInvalidDevice);
  std::memset(prop, 0, sizeof(*prop));
  std::snprintf(prop->name, sizeof(prop->name), "crossroad CUDA emulator");
  prop->totalGlobalMem = kTotalMemory;
  prop->sharedMemPerBlock = 48 * 1024;
  prop->regsPerBlock = 65536;
  prop->warpSize = 32;
  prop->maxThreadsPerBlock = 1024;
  prop->maxThreadsDim[0] = 1024;
  prop->maxThreadsDim[1] = 1024;
  prop->maxThreadsDim[2] = 64;
  prop->maxGridSize[0] = 0x7fffffff;
  prop->maxGridSize[1] = 65535;
  prop->maxGridSize[2] = 65535;
  prop->totalConstMem = 65536;
  prop->major = 9;
  prop->minor = 0;
  prop->multiProcessorCount = 132;
  prop->maxThreadsPerMultiProcessor = 2048;
  prop->sharedMemPerMultiprocessor = 228 * 1024;
  prop->sharedMemPerBlockOptin = 227 * 1024;
  prop->l2CacheSize = 50 * 1024 * 1024;
  prop->memoryBusWidth = 5120;
  prop->cooperativeLaunch = 1;
  return cudaSuccess;
}

cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr attr, int device) {
  if (!validDevice(device)) return setError(cudaErrorInvalidDevice);
  switch (attr) {
    case cudaDevAttrMaxThreadsPerBlock: *value = 1024; break;
    case cudaDevAttrMaxSharedMemoryPerBlock: *value = 48 * 1024; break;
    case cudaDevAttrWarpSize: *value = 32; break;
    case cudaDevAttrClockRate: *value = 1980000; break;
    case cudaDevAttrMultiProcessorCount: *value = 132; break;
    case cudaDevAttrMemoryClockRate: *value = 2619000; break;
    case cudaDevAttrGlobalMemoryBusWidth: *value = 5120; break;
    case cudaDevAttrL2CacheSize: *value = 50 * 1024 * 1024; break;
    case cudaDevAttrMaxThreadsPerMultiProcessor: *value = 2048; break;
    case cudaDevAttrComputeCapabilityMajor: *value = 9; break;
    case cudaDevAttrComputeCapabilityMinor: *value = 0; break;
    case cudaDevAttrMaxSharedMemoryPerMultiprocessor: *value = 228 * 1024; break;
    case cudaDevAttrCooperativeLaunch: *value = 1; break;
    case cudaDevAttrMaxSharedMemoryPerBlockOptin: *value = 227 * 1024; break;
    default: return setError(cudaErrorInvalidValue);
  }
  return cudaSuccess;
}

cudaError_t cudaSetDevice(int device) {
  if (!validDevice(device)) return setError(cudaErrorInvalidDevice);
  currentDevice = device;
  return cudaSuccess;
}
cudaError_t cudaGetDevice(int* device) {
  *device = currentDevice;
  return cudaSuccess;
}
cudaError_t cudaDeviceSynchronize() { return cudaSuccess; }
cudaError_t cudaDriverGetVersion(int* version) {
  *version = CUDART_VERSION;
  return cudaSuccess;
}
cudaError_t cudaRuntimeGetVersion(int* version) {
  *version = CUDART_VERSION;
  return cudaSuccess;
}
cudaError_t cudaGetLastError() {
  const cudaError_t e = lastError;
  lastError = cudaSuccess;
  return e;
}
cudaError_t cudaPeekAtLastError() { return lastError; }

const char* cudaGetErrorName(cudaError_t error) {
  switch (error) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorInitializationError: return "cudaErrorInitializationError";
    case cudaErrorLaunchFailure: return "cudaErrorLaunchFailure";
    case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
    case cudaErrorInvalidDevice: return "cudaErrorInvalidDevice";
    case cudaErrorInvalidResourceHandle: return "cudaErrorInvalidResourceHandle";
    case cudaErrorNotReady: return "cudaErrorNotReady";
    case cudaErrorIllegalAddress: return "cudaErrorIllegalAddress";
    case cudaErrorLaunchOutOfResources: return "cudaErrorLaunchOutOfResources";
    case cudaErrorCooperativeLaunchTooLarge: return "cudaErrorCooperativeLaunchTooLarge";
    default: return "cudaErrorUnknown";
  }
}

const char* cudaGetErrorString(cudaError_t error) {
  switch (error) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInitializationError: return "initialization error";
    case cudaErrorLaunchFailure: return "unspecified launch failure";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorInvalidDevice: return "invalid device ordinal";
    case cudaErrorInvalidResourceHandle: return "invalid resource handle";
    case cudaErrorNotReady: return "device not ready";
    case cudaErrorIllegalAddress: return "an illegal memory access was encountered";
    case cudaErrorLaunchOutOfResources: return "too many resources requested for launch";
    case cudaErrorCooperativeLaunchTooLarge: return "too many blocks in cooperative launch";
    default: return "unknown error";
  }
}

// Each allocation is its own mapping, ending on a PROT_NONE guard page right after the
// 256-byte-rounded end, so a read or write past it faults (and becomes a cr::Error when it
// happens inside a kernel). Fresh memory is filled with 0xff bytes (NaN floats), as device
// memory is not zeroed either.
cudaError_t cudaMalloc(void** ptr, size_t bytes) {
  *ptr = nullptr;
  if (bytes == 0) return cudaSuccess;
  if (bytes > kTotalMemory) return setError(cudaErrorMemoryAllocation);
  const size_t page = cr::emu::pageSize();
  const size_t rounded = (bytes + 255) / 256 * 256;
  const size_t data = (rounded + page - 1) / page * page;
  const size_t total = data + page;
  void* mem = mmap(nullptr, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (mem == MAP_FAILED) return setError(cudaErrorMemoryAllocation);
  char* base = static_cast<char*>(mem);
  mprotect(base + data, page, PROT_NONE);
  char* user = base + (data - rounded);
  std::memset(user, 0xff, rounded);
  {
    std::lock_guard<std::mutex> lock(memoryMutex);
    allocations()[reinterpret_cast<uintptr_t>(user)] = Allocation{base, total, rounded};
  }
  *ptr = user;
  return cudaSuccess;
}

cudaError_t cudaFree(void* ptr) {
  if (ptr == nullptr) return cudaSuccess;
  Allocation a;
  {
    std::lock_guard<std::mutex> lock(memoryMutex);
    auto it = allocations().find(reinterpret_cast<uintptr_t>(ptr));
    if (it == allocations().end()) return setError(cudaErrorInvalidValue);
    a = it->second;
    allocations().erase(it);
  }
  munmap(a.base, a.mapBytes);
  return cudaSuccess;
}

cudaError_t cudaMallocHost(void** ptr, size_t bytes) { return cudaHostAlloc(ptr, bytes, 0); }
cudaError_t cudaHostAlloc(void** ptr, size_t bytes, unsigned) {
  *ptr = std::aligned_alloc(4096, (std::max<size_t>(bytes, 1) + 4095) / 4096 * 4096);
  return *ptr ? cudaSuccess : setError(cudaErrorMemoryAllocation);
}
cudaError_t cudaFreeHost(void* ptr) {
  std::free(ptr);
  return cudaSuccess;
}

cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind) {
  // A copy that names device memory must stay inside one allocation, as the driver checks.
  const bool dstDevice = kind == cudaMemcpyHostToDevice || kind == cudaMemcpyDeviceToDevice;
  const bool srcDevice = kind == cudaMemcpyDeviceToHost || kind == cudaMemcpyDeviceToDevice;
  if (kind < cudaMemcpyHostToHost || kind > cudaMemcpyDefault) return setError(cudaErrorInvalidValue);
  if ((dstDevice && !isDevice(dst, bytes)) || (srcDevice && !isDevice(src, bytes))) return setError(cudaErrorInvalidValue);
  if (bytes > 0) std::memmove(dst, src, bytes);
  return cudaSuccess;
}
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind, cudaStream_t) {
  return cudaMemcpy(dst, src, bytes, kind);
}
cudaError_t cudaMemset(void* dst, int value, size_t bytes) {
  if (!isDevice(dst, bytes)) return setError(cudaErrorInvalidValue);
  if (bytes > 0) std::memset(dst, value, bytes);
  return cudaSuccess;
}
cudaError_t cudaMemsetAsync(void* dst, int value, size_t bytes, cudaStream_t) { return cudaMemset(dst, value, bytes); }

// Launches run to completion before they return, so streams and events have nothing to wait for.
cudaError_t cudaStreamCreate(cudaStream_t* stream) { return cudaStreamCreateWithFlags(stream, 0); }
cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned flags) {
  *stream = new CUstream_st{flags};
  return cudaSuccess;
}
cudaError_t cudaStreamDestroy(cudaStream_t stream) {
  delete stream;
  return cudaSuccess;
}
cudaError_t cudaStreamSynchronize(cudaStream_t) { return cudaSuccess; }
cudaError_t cudaStreamQuery(cudaStream_t) { return cudaSuccess; }
cudaError_t cudaStreamWaitEvent(cudaStream_t, cudaEvent_t, unsigned) { return cudaSuccess; }
cudaError_t cudaEventCreate(cudaEvent_t* event) { return cudaEventCreateWithFlags(event, 0); }
cudaError_t cudaEventCreateWithFlags(cudaEvent_t* event, unsigned flags) {
  *event = new CUevent_st{flags};
  return cudaSuccess;
}
cudaError_t cudaEventDestroy(cudaEvent_t event) {
  delete event;
  return cudaSuccess;
}
cudaError_t cudaEventRecord(cudaEvent_t, cudaStream_t) { return cudaSuccess; }
cudaError_t cudaEventSynchronize(cudaEvent_t) { return cudaSuccess; }
cudaError_t cudaEventQuery(cudaEvent_t) { return cudaSuccess; }
cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t, cudaEvent_t) {
  *ms = 0.0f;
  return cudaSuccess;
}
