// LSTM, GRU and Elman RNN over a sequence, with torch.nn.LSTM / GRU / RNN
// semantics (reference: test/reference/rnn.ts). Per step t and batch row:
//
//   pre = W_ih·x_t + b_ih  (+)  W_hh·h_{t−1} + b_hh        (G gate blocks of H)
//   LSTM: i, f, g, o = σ, σ, tanh, σ of pre;  c_t = f·c_{t−1} + i·g;  h_t = o·tanh(c_t)
//   GRU:  r, z = σ(pre_r), σ(pre_z);  n = tanh(W_in·x + b_in + r·(W_hn·h + b_hn));  h_t = (1−z)·n + z·h_{t−1}
//   RNN:  h_t = tanh(pre) or relu(pre)
//
// The input half does not depend on the recurrence, so all steps' W_ih·x_t
// are one GEMM up front (in time chunks when that buffer would be huge). The
// hidden half is a chain of small products: per step, each thread takes its
// own blocks of hidden units and computes all G gates of those units at once,
// from W_hh packed so a block's gates for one input k are adjacent
// ([block][k][gate][unit]), keeps them in registers, applies the cell and
// writes h_t (straight into y, which is where the next step reads h_{t−1}
// from) and c_t. The threads own their unit blocks for the whole sequence,
// so each one's slice of W_hh stays in its own cache; one barrier per step
// hands h_t to everyone, inside one thread-pool region per time chunk.
//
// A call with L = 1 (the decode step) skips the packing, which would cost as
// much as the step itself: both products run on the streaming GEMV path and
// the cell is one pointwise pass.
#include <algorithm>
#include <cstdint>
#include <cstring>

#include "../core/arena.h"
#include "../core/threadpool.h"
#include "gemm.h"

namespace cr::cpu::CR_ISA {

namespace {

constexpr int gateCount(RnnCell cell) { return cell == RnnCell::Lstm ? 4 : cell == RnnCell::Gru ? 3 : 1; }

// Register tile of the step: V vectors of hidden units per block (U = V·kLanes
// units) by R batch rows, G·V·R accumulators. With one row, two accumulator
// sets over even and odd k keep enough FMAs in flight.
constexpr int vecsPerBlock(RnnCell cell) { return gateCount(cell) == 1 ? 2 : 1; }
#if defined(CR_ISA_AVX512)
constexpr int rowsPerTile(RnnCell) { return 4; }  // ≤ 16 of the 32 zmm registers accumulate
#elif defined(CR_ISA_AVX2)
constexpr int rowsPerTile(RnnCell cell) { return cell == RnnCell::Lstm ? 2 : cell == RnnCell::Gru ? 3 : 4; }  // 16 ymm registers
#else
constexpr int rowsPerTile(RnnCell) { return 2; }
#endif
constexpr int unitsPerBlock(RnnCell cell) { return vecsPerBlock(cell) * kLanes; }

// Below this many multiply-adds per step (batch·G·H·H), the per-step barrier
// costs more than a second thread saves.
constexpr int64_t kMinParallelStepWork = 32768;
// Bound on the buffer of input projections (floats); longer sequences are projected in time chunks.
constexpr int64_t kMaxProjectionFloats = int64_t(8) << 20;

static inline Vec loadUnits(const float* p, int n) { return n == kLanes ? vload(p) : vloadPartial(p, n); }
static inline void storeUnits(float* p, Vec v, int n) {
  if (n == kLanes) vstore(p, v);
  else vstorePartial(p, v, n);
}

// One cell update for kLanes units. xp: the input half of each gate's
// pre-activation, hh: the hidden half, with the biases wherever the caller put
// them (only GRU's n gate cares which half b_hn is in: it is scaled by r).
template <RnnCell C>
static inline Vec cellUpdate(const Vec* xp, const Vec* hh, Vec hPrev, Vec* c) {
  if constexpr (C == RnnCell::Lstm) {
    const Vec i = vsigmoid(xp[0] + hh[0]);
    const Vec f = vsigmoid(xp[1] + hh[1]);
    const Vec g = vtanh(xp[2] + hh[2]);
    const Vec o = vsigmoid(xp[3] + hh[3]);
    *c = vfma(f, *c, i * g);
    return o * vtanh(*c);
  } else if constexpr (C == RnnCell::Gru) {
    const Vec r = vsigmoid(xp[0] + hh[0]);
    const Vec z = vsigmoid(xp[1] + hh[1]);
    const Vec n = vtanh(vfma(r, hh[2], xp[2]));
    return vfma(z, hPrev - n, n);  // (1 − z)·n + z·h
  } else if constexpr (C == RnnCell::RnnTanh) {
    return vtanh(xp[0] + hh[0]);
  } else {
    return vmax(xp[0] + hh[0], vzero());
  }
}

// Row `row` of a float32 / bfloat16 / float16 matrix, widened into out[0, n).
static void widenRow(const void* base, DType type, int64_t row, int64_t n, float* out) {
  for (int64_t i = 0; i < n; i += kLanes) {
    const int m = static_cast<int>(std::min<int64_t>(kLanes, n - i));
    const int64_t at = row * n + i;
    Vec v;
    if (type == DType::BF16) {
      const uint16_t* p = static_cast<const uint16_t*>(base) + at;
      v = m == kLanes ? vloadBf16(p) : vloadBf16Partial(p, m);
    } else if (type == DType::F16) {
      const uint16_t* p = static_cast<const uint16_t*>(base) + at;
      v = m == kLanes ? vloadF16(p) : vloadF16Partial(p, m);
    } else {
      v = loadUnits(static_cast<const float*>(base) + at, m);
    }
    storeUnits(out + i, v, m);
  }
}

// packed[k][g][u] = W_hh[g·H + block·U + u][k], zero for units past H, so the
// step reads one block's weights as a single contiguous stream.
template <RnnCell C>
static void packBlock(const RnnArgs& a, int64_t block, float* packed, float* rowBuffer) {
  constexpr int G = gateCount(C), U = unitsPerBlock(C);
  const int64_t H = a.hiddenSize;
  for (int g = 0; g < G; ++g) {
    for (int u = 0; u < U; ++u) {
      const int64_t unit = block * U + u;
      float* out = packed + g * U + u;
      if (unit >= H) {
        for (int64_t k = 0; k < H; ++k) out[k * G * U] = 0.0f;
        continue;
      }
      widenRow(a.weightHH, a.weightHHType, g * H + unit, H, rowBuffer);
      for (int64_t k = 0; k < H; ++k) out[k * G * U] = rowBuffer[k];
    }
  }
}

// What every step of the fused recurrence reads and writes.
struct Recurrence {
  int64_t H = 0, seqLen = 0;
  const float* packed = nullptr;  // [blocks][H][G][U]
  const float* xProj = nullptr;   // [batch][chunkLen][G·H]: W_ih·x + biases for steps t0 … t0 + chunkLen − 1
  int64_t t0 = 0, chunkLen = 0;
  const float* hnBias = nullptr;  // GRU: b_hn [H] (the other hidden biases are folded into xProj), or null
  const float* h0 = nullptr;      // [batch, H] or null
  const float* zeros = nullptr;   // [H]: h_{−1} when there is no h0
  float* y = nullptr;             // [batch, seqLen, H]
  float* c = nullptr;             // [batch, H]: the running cell state (LSTM)
};

// Step t for units of `block` and batch rows row0 … row0 + R − 1.
template <RnnCell C, int R>
static void stepTile(const Recurrence& s, int64_t t, int64_t block, int64_t row0) {
  constexpr int G = gateCount(C), V = vecsPerBlock(C), U = V * kLanes;
  constexpr int S = R == 1 ? 2 : 1;
  const int64_t H = s.H;
  const float* hPrev[R];
  for (int r = 0; r < R; ++r) {
    const int64_t row = row0 + r;
    hPrev[r] = t > 0 ? s.y + (row * s.seqLen + t - 1) * H : s.h0 ? s.h0 + row * H : s.zeros;
  }
  Vec acc[S][R][G][V];
#pragma GCC unroll 2
  for (int p = 0; p < S; ++p) {
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
#pragma GCC unroll 4
      for (int g = 0; g < G; ++g) {
#pragma GCC unroll 4
        for (int v = 0; v < V; ++v) acc[p][r][g][v] = vzero();
      }
    }
  }
  const float* w = s.packed + block * H * G * U;
  int64_t k = 0;
  for (; k + S <= H; k += S) {
#pragma GCC unroll 2
    for (int p = 0; p < S; ++p) {
      const float* wk = w + (k + p) * G * U;
      Vec wv[G][V];
#pragma GCC unroll 4
      for (int g = 0; g < G; ++g) {
#pragma GCC unroll 4
        for (int v = 0; v < V; ++v) wv[g][v] = vload(wk + g * U + v * kLanes);
      }
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) {
        const Vec h = vset(hPrev[r][k + p]);
#pragma GCC unroll 4
        for (int g = 0; g < G; ++g) {
#pragma GCC unroll 4
          for (int v = 0; v < V; ++v) acc[p][r][g][v] = vfma(h, wv[g][v], acc[p][r][g][v]);
        }
      }
    }
  }
  if (k < H) {  // odd H with two accumulator sets
    const float* wk = w + k * G * U;
    for (int r = 0; r < R; ++r) {
      const Vec h = vset(hPrev[r][k]);
      for (int g = 0; g < G; ++g) {
        for (int v = 0; v < V; ++v) acc[0][r][g][v] = vfma(h, vload(wk + g * U + v * kLanes), acc[0][r][g][v]);
      }
    }
  }
  if constexpr (S == 2) {
    for (int r = 0; r < R; ++r) {
      for (int g = 0; g < G; ++g) {
        for (int v = 0; v < V; ++v) acc[0][r][g][v] += acc[1][r][g][v];
      }
    }
  }

  const int64_t GH = G * H;
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) {
    const int64_t row = row0 + r;
    const float* xp = s.xProj + (row * s.chunkLen + (t - s.t0)) * GH;
    float* yRow = s.y + (row * s.seqLen + t) * H;
#pragma GCC unroll 4
    for (int v = 0; v < V; ++v) {
      const int64_t j = block * U + v * kLanes;
      const int n = static_cast<int>(std::min<int64_t>(kLanes, H - j));
      if (n <= 0) break;
      Vec xpv[G], hh[G];
#pragma GCC unroll 4
      for (int g = 0; g < G; ++g) {
        xpv[g] = loadUnits(xp + g * H + j, n);
        hh[g] = acc[0][r][g][v];
      }
      Vec hp = vzero(), c = vzero();
      if constexpr (C == RnnCell::Gru) {
        if (s.hnBias) hh[2] += loadUnits(s.hnBias + j, n);
        hp = loadUnits(hPrev[r] + j, n);
      }
      if constexpr (C == RnnCell::Lstm) c = loadUnits(s.c + row * H + j, n);
      storeUnits(yRow + j, cellUpdate<C>(xpv, hh, hp, &c), n);
      if constexpr (C == RnnCell::Lstm) storeUnits(s.c + row * H + j, c, n);
    }
  }
}

// Step t for one block and batch rows [row0, row1): whole tiles, then the rest.
template <RnnCell C>
static void stepRows(const Recurrence& s, int64_t t, int64_t block, int64_t row0, int64_t row1) {
  constexpr int R = rowsPerTile(C);
  int64_t row = row0;
  for (; row + R <= row1; row += R) stepTile<C, R>(s, t, block, row);
  switch (row1 - row) {
    case 3:
      if constexpr (R > 3) stepTile<C, 3>(s, t, block, row);
      break;
    case 2:
      if constexpr (R > 2) stepTile<C, 2>(s, t, block, row);
      break;
    case 1:
      stepTile<C, 1>(s, t, block, row);
      break;
    default:
      break;
  }
}

// xProj[b][t − t0] = W_ih·x[b][t] + bias for t in [t0, t0 + steps), each
// sequence's rows `chunkLen` rows apart in xProj (steps < chunkLen in the last chunk).
static void projectInputs(const RnnArgs& a, int64_t GH, int64_t t0, int64_t steps, int64_t chunkLen, const float* bias,
                          float* xProj) {
  GemmArgs g;
  g.N = GH;
  g.K = a.inputSize;
  g.lda = a.inputSize;
  g.B = a.weightIH;
  g.bType = a.weightIHType;
  g.ldb = a.inputSize;
  g.transB = true;
  g.ldc = GH;
  g.bias = bias;
  if (steps == a.seqLen) {  // the whole sequence: [batch·L, in] rows in one product
    g.M = a.batch * a.seqLen;
    g.A = a.x;
    g.C = xProj;
    gemm(g);
    return;
  }
  if (chunkLen == 1) {  // one step of every sequence: rows L·in apart
    g.M = a.batch;
    g.A = a.x + t0 * a.inputSize;
    g.lda = a.seqLen * a.inputSize;
    g.C = xProj;
    gemm(g);
    return;
  }
  for (int64_t b = 0; b < a.batch; ++b) {
    g.M = steps;
    g.A = a.x + (b * a.seqLen + t0) * a.inputSize;
    g.C = xProj + b * chunkLen * GH;
    gemm(g);
  }
}

template <RnnCell C>
static void runSequence(const RnnArgs& a) {
  constexpr int G = gateCount(C), U = unitsPerBlock(C);
  const int64_t B = a.batch, L = a.seqLen, H = a.hiddenSize, GH = G * H;
  const int64_t blocks = (H + U - 1) / U;
  ScratchScope scratch;

  // Every bias but GRU's b_hn is a constant term of its gate: fold it into the input projection.
  float* bias = nullptr;
  if (a.biasIH || a.biasHH) {
    bias = scratch.allocate<float>(static_cast<size_t>(GH));
    const int64_t foldHH = C == RnnCell::Gru ? 2 * H : GH;
    for (int64_t i = 0; i < GH; ++i) {
      bias[i] = (a.biasIH ? a.biasIH[i] : 0.0f) + (a.biasHH && i < foldHH ? a.biasHH[i] : 0.0f);
    }
  }
  const int64_t chunkLen = std::max<int64_t>(1, std::min<int64_t>(L, kMaxProjectionFloats / (B * GH)));
  float* xProj = scratch.allocate<float>(static_cast<size_t>(B * chunkLen * GH));
  float* packed = scratch.allocate<float>(static_cast<size_t>(blocks * H * G * U));
  float* zeros = scratch.allocate<float>(static_cast<size_t>(H));
  std::memset(zeros, 0, static_cast<size_t>(H) * sizeof(float));
  if constexpr (C == RnnCell::Lstm) {
    if (a.c0) std::memcpy(a.c, a.c0, static_cast<size_t>(B * H) * sizeof(float));
    else std::memset(a.c, 0, static_cast<size_t>(B * H) * sizeof(float));
  }

  Recurrence s;
  s.H = H;
  s.seqLen = L;
  s.packed = packed;
  s.xProj = xProj;
  s.chunkLen = chunkLen;
  s.hnBias = C == RnnCell::Gru && a.biasHH ? a.biasHH + 2 * H : nullptr;
  s.h0 = a.h0;
  s.zeros = zeros;
  s.y = a.y;
  s.c = a.c;

  // Threads split the unit blocks (each keeps its blocks' weights for the
  // whole sequence), and the batch where there are fewer blocks than threads.
  // Batch parts are whole row tiles, so every row is computed by the same
  // tile shape (and rounds the same) whatever the thread count.
  ThreadPool& pool = ThreadPool::instance();
  constexpr int R = rowsPerTile(C);
  const int64_t rowTiles = (B + R - 1) / R;
  const int64_t stepWork = B * GH * H;
  const int nth = stepWork < kMinParallelStepWork ? 1 : static_cast<int>(std::min<int64_t>(pool.numThreads(), blocks * rowTiles));

  for (int64_t t0 = 0; t0 < L; t0 += chunkLen) {
    const int64_t tEnd = std::min(L, t0 + chunkLen);
    s.t0 = t0;
    projectInputs(a, GH, t0, tEnd - t0, chunkLen, bias, xProj);
    pool.run(nth, [&](int tid, int nthreads) {
      const int64_t unitParts = std::min<int64_t>(nthreads, blocks);
      const int64_t batchParts = std::min<int64_t>(rowTiles, nthreads / unitParts);
      const bool active = tid < unitParts * batchParts;
      const int64_t unitPart = tid % unitParts, batchPart = tid / unitParts;
      const int64_t block0 = blocks * unitPart / unitParts, block1 = blocks * (unitPart + 1) / unitParts;
      const int64_t row0 = std::min(B, rowTiles * batchPart / batchParts * R);
      const int64_t row1 = std::min(B, rowTiles * (batchPart + 1) / batchParts * R);
      if (t0 == 0) {
        if (active && batchPart == 0) {
          ScratchScope local;
          float* rowBuffer = local.allocate<float>(static_cast<size_t>(H));
          for (int64_t block = block0; block < block1; ++block) packBlock<C>(a, block, packed + block * H * G * U, rowBuffer);
        }
        ThreadPool::barrier();
      }
      for (int64_t t = t0; t < tEnd; ++t) {
        if (active) {
          // Alternate the direction each step: the blocks used last are still
          // in cache, so a slice of W_hh larger than the cache is only partly
          // re-read from the next level (a cyclic sweep under LRU misses on every block).
          if (t % 2 == 0) {
            for (int64_t block = block0; block < block1; ++block) stepRows<C>(s, t, block, row0, row1);
          } else {
            for (int64_t block = block1 - 1; block >= block0; --block) stepRows<C>(s, t, block, row0, row1);
          }
        }
        if (t + 1 < tEnd) ThreadPool::barrier();  // h_t is complete before anyone reads it
      }
    });
  }
  for (int64_t b = 0; b < B; ++b) std::memcpy(a.h + b * H, a.y + (b * L + L - 1) * H, static_cast<size_t>(H) * sizeof(float));
}

// L = 1: x·W_ihᵀ + b_ih and h0·W_hhᵀ + b_hh as two streaming products, then the cell.
template <RnnCell C>
static void runStep(const RnnArgs& a) {
  constexpr int G = gateCount(C);
  const int64_t B = a.batch, H = a.hiddenSize, GH = G * H;
  ScratchScope scratch;
  float* xProj = scratch.allocate<float>(static_cast<size_t>(B * GH));
  float* hidden = scratch.allocate<float>(static_cast<size_t>(B * GH));
  GemmArgs g;
  g.M = B;
  g.N = GH;
  g.K = a.inputSize;
  g.A = a.x;
  g.lda = a.inputSize;
  g.B = a.weightIH;
  g.bType = a.weightIHType;
  g.ldb = a.inputSize;
  g.transB = true;
  g.C = xProj;
  g.ldc = GH;
  g.bias = a.biasIH;
  gemm(g);
  if (a.h0) {
    g.K = H;
    g.A = a.h0;
    g.lda = H;
    g.B = a.weightHH;
    g.bType = a.weightHHType;
    g.ldb = H;
    g.C = hidden;
    g.bias = a.biasHH;
    gemm(g);
  } else {
    for (int64_t b = 0; b < B; ++b) {
      if (a.biasHH) std::memcpy(hidden + b * GH, a.biasHH, static_cast<size_t>(GH) * sizeof(float));
      else std::memset(hidden + b * GH, 0, static_cast<size_t>(GH) * sizeof(float));
    }
  }
  // Rows in parallel once there is enough pointwise work to pay for it.
  const int64_t grain = std::max<int64_t>(1, 16384 / (GH > 0 ? GH : 1));
  parallelFor(B, grain, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      const float* xp = xProj + b * GH;
      const float* hd = hidden + b * GH;
      for (int64_t j = 0; j < H; j += kLanes) {
        const int n = static_cast<int>(std::min<int64_t>(kLanes, H - j));
        Vec xpv[G], hh[G];
        for (int q = 0; q < G; ++q) {
          xpv[q] = loadUnits(xp + q * H + j, n);
          hh[q] = loadUnits(hd + q * H + j, n);
        }
        const Vec hp = a.h0 ? loadUnits(a.h0 + b * H + j, n) : vzero();
        Vec c = C == RnnCell::Lstm && a.c0 ? loadUnits(a.c0 + b * H + j, n) : vzero();
        const Vec h = cellUpdate<C>(xpv, hh, hp, &c);
        storeUnits(a.y + b * H + j, h, n);
        storeUnits(a.h + b * H + j, h, n);
        if constexpr (C == RnnCell::Lstm) storeUnits(a.c + b * H + j, c, n);
      }
    }
  });
}

template <RnnCell C>
static void runCell(const RnnArgs& a) {
  if (a.seqLen == 1) runStep<C>(a);
  else runSequence<C>(a);
}

}  // namespace

void rnn(const RnnArgs& a) {
  if (a.batch <= 0 || a.seqLen <= 0 || a.hiddenSize <= 0 || a.inputSize <= 0) return;
  switch (a.cell) {
    case RnnCell::Lstm: return runCell<RnnCell::Lstm>(a);
    case RnnCell::Gru: return runCell<RnnCell::Gru>(a);
    case RnnCell::RnnTanh: return runCell<RnnCell::RnnTanh>(a);
    case RnnCell::RnnRelu: return runCell<RnnCell::RnnRelu>(a);
  }
}

}  // namespace cr::cpu::CR_ISA
