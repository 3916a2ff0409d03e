// Tiled softmax attention with an online softmax (FlashAttention-2's loop
// order, on the CPU): for each block of query rows, walk the visible key tiles
// keeping a running max m and sum l per row, and rescale the output
// accumulator by exp(m_old − m_new) whenever the max grows. The [Tq, Tk] score
// matrix never exists; a task's memory is its Q, O and one score tile.
//
// Tasks are (batch row, kv head, block of query tokens). A task's rows are all
// (token, query head) pairs of its block whose head reads that kv head, so the
// G = heads / kvHeads query heads of a group share every K/V tile while it is in
// L1 (grouped-query and multi-query attention). Key tiles above the causal
// diagonal or left of the window are never visited; only the tiles that cross
// a mask boundary are masked element by element.
//
// Two layouts of a task's rows:
//  * rows in lanes (prefill, or ≥ kLanes/2 rows): scores are kept transposed,
//    Sᵀ[key][row], one SIMD lane per query row. Q·Kᵀ and P·V are then both
//    register-blocked outer products that broadcast K and V elements straight
//    from the caller's memory (K and V are never packed or transposed), and the
//    online softmax is vertical: no horizontal reductions anywhere. Q is
//    transposed (and scaled) once per task, O transposed back once at the end.
//  * rows over D (decode: a few rows against many keys): each row's scores
//    are dot products over D, and P·V runs along D, so lanes are not wasted
//    on absent rows.
// When there are too few tasks to fill the threads (decode of one sequence),
// the keys of each task are split into ranges whose partial (m, l, O) are
// merged afterwards (flash-decoding).
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>

#include "../core/arena.h"
#include "../core/threadpool.h"
#include "kernels.h"
#include "simd.h"

namespace cr::cpu::CR_ISA {

namespace {

// Micro-tile sizes: (2 row vectors) × kScoreKeys accumulators for Q·Kᵀ and
// kValueDims × (2 row vectors) for P·V, as many as the register file holds
// beside the operands.
#if defined(CR_ISA_AVX512)
constexpr int kScoreKeys = 8;
constexpr int kValueDims = 8;
#elif defined(CR_ISA_AVX2)
constexpr int kScoreKeys = 6;
constexpr int kValueDims = 6;
#else
constexpr int kScoreKeys = 4;
constexpr int kValueDims = 4;
#endif
constexpr int kRowVecs = 2;
constexpr int64_t kKeyTile = 64;   // keys per tile
constexpr int64_t kTaskRows = 64;  // rows per task aimed at in the lanes layout
// Fewer rows than this per (batch row, kv head) take the rows-over-D layout.
constexpr int64_t kMinLaneRows = kLanes / 2 > 1 ? kLanes / 2 : 1;
// Keys per split when a task's keys are spread over threads.
constexpr int64_t kMinSplitKeys = 512;

constexpr float kNegInf = -INFINITY;

static inline int64_t roundUp(int64_t n, int64_t m) { return (n + m - 1) / m * m; }

// A running max of −inf means the row has seen no visible key yet: subtract 0
// instead, so exp(−inf − max) is 0 and not NaN.
static inline Vec safeMax(Vec m) { return vselectLess(m, vset(-FLT_MAX), vzero(), m); }
static inline float safeMax(float m) { return m < -FLT_MAX ? 0.0f : m; }

static inline Vec softcapped(Vec s, float softcap) {
  return vset(softcap) * vtanh(s * vset(1.0f / softcap));
}

// The sizes of one call and how it is cut into work.
struct Plan {
  const AttentionArgs* args;
  int64_t group;          // query heads per kv head
  int64_t tokensPerTask;  // query tokens per task
  int64_t tokenBlocks;
  int64_t tasks;
  int64_t rowsPerTask;    // tokensPerTask · group
  int64_t splits;         // key ranges per task
  bool rowsInLanes;
  // With splits > 1, each (task, split) leaves its unnormalised O, m and l here.
  float* partialO = nullptr;  // [tasks · splits, rowsPerTask, D]
  float* partialM = nullptr;  // [tasks · splits, rowsPerTask]
  float* partialL = nullptr;
};

// One task: rows of query tokens [t0, t1) of batch row `b` whose heads read kv head `kvHead`.
struct Task {
  int64_t b, kvHead, t0, t1;
  int64_t kvLength;
  int64_t keyBegin, keyEnd;  // the keys any row of the task can see
  int64_t rows() const { return t1 - t0; }
};

// Heaviest tasks first (the last token blocks see the most keys under a causal
// mask), so the dynamic hand-out ends with short tasks and threads finish together.
static Task taskAt(const Plan& p, int64_t index) {
  const AttentionArgs& a = *p.args;
  Task t;
  const int64_t block = p.tokenBlocks - 1 - index / (a.batch * a.kvHeads);
  const int64_t rest = index % (a.batch * a.kvHeads);
  t.b = rest / a.kvHeads;
  t.kvHead = rest % a.kvHeads;
  t.t0 = block * p.tokensPerTask;
  t.t1 = std::min(a.Tq, t.t0 + p.tokensPerTask);
  t.kvLength = a.kvLengths ? a.kvLengths[t.b] : a.Tk;
  t.keyBegin = 0;
  t.keyEnd = t.kvLength;
  if (a.causal) {
    const int64_t firstPos = t.kvLength - a.Tq + t.t0, lastPos = t.kvLength - a.Tq + t.t1 - 1;
    t.keyEnd = std::max<int64_t>(0, std::min(t.kvLength, lastPos + 1));
    if (a.window > 0) t.keyBegin = std::max<int64_t>(0, firstPos - a.window + 1);
    t.keyBegin = std::min(t.keyBegin, t.keyEnd);
  }
  return t;
}

// Split `split` of the task's keys, in whole tiles.
static void splitRange(const Plan& p, const Task& t, int64_t split, int64_t* begin, int64_t* end) {
  const int64_t tiles = (t.keyEnd - t.keyBegin + kKeyTile - 1) / kKeyTile;
  *begin = std::min(t.keyEnd, t.keyBegin + tiles * split / p.splits * kKeyTile);
  *end = std::min(t.keyEnd, t.keyBegin + tiles * (split + 1) / p.splits * kKeyTile);
}

// Does any row of the task have a masked key in [j0, j1)? (Keys past
// kvLength and past the causal limit of the last row are outside the range.)
static bool tileNeedsMask(const AttentionArgs& a, const Task& t, int64_t j0, int64_t j1) {
  if (!a.causal) return false;
  const int64_t firstPos = t.kvLength - a.Tq + t.t0, lastPos = t.kvLength - a.Tq + t.t1 - 1;
  if (j1 - 1 > firstPos) return true;
  return a.window > 0 && j0 <= lastPos - a.window;
}

// Writes a finished row: o = acc / l (zeros for a row that saw no key), or
// hands the unnormalised state to the merge when the keys were split.
struct RowSink {
  const Plan* p;
  const Task* t;
  int64_t unit;  // task · splits + split
  // `read(d)` yields the accumulator of row r at head dim d.
  template <typename Read>
  void put(int64_t r, float m, float l, Read read) const {
    const AttentionArgs& a = *p->args;
    if (p->splits > 1) {
      const int64_t slot = unit * p->rowsPerTask + r;
      float* dst = p->partialO + slot * a.D;
      for (int64_t d = 0; d < a.D; ++d) dst[d] = read(d);
      p->partialM[slot] = m;
      p->partialL[slot] = l;
      return;
    }
    const int64_t token = t->t0 + r / p->group, head = t->kvHead * p->group + r % p->group;
    float* dst = a.o + ((t->b * a.Tq + token) * a.heads + head) * a.D;
    const float inv = l > 0.0f ? 1.0f / l : 0.0f;
    for (int64_t d = 0; d < a.D; ++d) dst[d] = read(d) * inv;
  }
};

// ---- rows in lanes ------------------------------------------------------------

// Sᵀ[j][r] = Σ_d K[j][d] · Qᵀ[d][r] for NK keys × NV row vectors.
template <int NV, int NK>
static inline void scoreMicroTile(const float* qT, int64_t ld, const float* k, int64_t kStride, int64_t D, float* sT) {
  Vec acc[NK][NV];
#pragma GCC unroll 8
  for (int j = 0; j < NK; ++j) {
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) acc[j][v] = vzero();
  }
  const float* keys[NK];
#pragma GCC unroll 8
  for (int j = 0; j < NK; ++j) keys[j] = k + j * kStride;
  for (int64_t d = 0; d < D; ++d) {
    Vec q[NV];
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) q[v] = vload(qT + d * ld + v * kLanes);
#pragma GCC unroll 8
    for (int j = 0; j < NK; ++j) {
      const Vec kb = vset(keys[j][d]);
#pragma GCC unroll 2
      for (int v = 0; v < NV; ++v) acc[j][v] = vfma(kb, q[v], acc[j][v]);
    }
  }
#pragma GCC unroll 8
  for (int j = 0; j < NK; ++j) {
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) vstore(sT + j * ld + v * kLanes, acc[j][v]);
  }
}

template <int NV, int NK>
static inline void scoreTail(int n, const float* qT, int64_t ld, const float* k, int64_t kStride, int64_t D, float* sT) {
  if constexpr (NK > 0) {
    if (n == NK) scoreMicroTile<NV, NK>(qT, ld, k, kStride, D, sT);
    else scoreTail<NV, NK - 1>(n, qT, ld, k, kStride, D, sT);
  }
}

template <int NV>
static void scoreRowBlock(const float* qT, int64_t ld, const float* k, int64_t kStride, int64_t D, int64_t nk, float* sT) {
  int64_t j = 0;
  for (; j + kScoreKeys <= nk; j += kScoreKeys) {
    scoreMicroTile<NV, kScoreKeys>(qT, ld, k + j * kStride, kStride, D, sT + j * ld);
  }
  if (j < nk) scoreTail<NV, kScoreKeys - 1>(static_cast<int>(nk - j), qT, ld, k + j * kStride, kStride, D, sT + j * ld);
}

// O ᵀ[d][r] = alpha[r] · Oᵀ[d][r] + Σ_j V[j][d] · Pᵀ[j][r] for ND dims × NV row vectors.
template <int NV, int ND>
static inline void valueMicroTile(const float* pT, int64_t ld, int64_t nk, const float* v, int64_t vStride, float* oT,
                                  const float* alpha) {
  Vec acc[ND][NV];
  Vec scale[NV];
#pragma GCC unroll 2
  for (int r = 0; r < NV; ++r) scale[r] = vload(alpha + r * kLanes);
#pragma GCC unroll 8
  for (int d = 0; d < ND; ++d) {
#pragma GCC unroll 2
    for (int r = 0; r < NV; ++r) acc[d][r] = vload(oT + d * ld + r * kLanes) * scale[r];
  }
  for (int64_t j = 0; j < nk; ++j) {
    Vec p[NV];
#pragma GCC unroll 2
    for (int r = 0; r < NV; ++r) p[r] = vload(pT + j * ld + r * kLanes);
    const float* row = v + j * vStride;
#pragma GCC unroll 8
    for (int d = 0; d < ND; ++d) {
      const Vec vb = vset(row[d]);
#pragma GCC unroll 2
      for (int r = 0; r < NV; ++r) acc[d][r] = vfma(vb, p[r], acc[d][r]);
    }
  }
#pragma GCC unroll 8
  for (int d = 0; d < ND; ++d) {
#pragma GCC unroll 2
    for (int r = 0; r < NV; ++r) vstore(oT + d * ld + r * kLanes, acc[d][r]);
  }
}

template <int NV, int ND>
static inline void valueTail(int n, const float* pT, int64_t ld, int64_t nk, const float* v, int64_t vStride, float* oT,
                             const float* alpha) {
  if constexpr (ND > 0) {
    if (n == ND) valueMicroTile<NV, ND>(pT, ld, nk, v, vStride, oT, alpha);
    else valueTail<NV, ND - 1>(n, pT, ld, nk, v, vStride, oT, alpha);
  }
}

template <int NV>
static void valueRowBlock(const float* pT, int64_t ld, int64_t nk, const float* v, int64_t vStride, int64_t D, float* oT,
                          const float* alpha) {
  int64_t d = 0;
  for (; d + kValueDims <= D; d += kValueDims) valueMicroTile<NV, kValueDims>(pT, ld, nk, v + d, vStride, oT + d * ld, alpha);
  if (d < D) valueTail<NV, kValueDims - 1>(static_cast<int>(D - d), pT, ld, nk, v + d, vStride, oT + d * ld, alpha);
}

// The online-softmax step for one tile of nk keys starting at key j0: updates
// the running max and sum, turns Sᵀ into Pᵀ = exp(S − m_new) and leaves
// exp(m_old − m_new) in `alpha` for the accumulator.
static void softmaxStepLanes(const AttentionArgs& a, float* sT, int64_t ld, int64_t nk, int64_t j0, bool mask, const float* pos,
                             float* rowMax, float* rowSum, float* alpha) {
  const bool cap = a.softcap > 0.0f;
  for (int64_t r = 0; r < ld; r += kLanes) {
    const Vec position = vload(pos + r);
    Vec tileMax = vset(kNegInf);
    if (cap || mask) {
      for (int64_t j = 0; j < nk; ++j) {
        float* cell = sT + j * ld + r;
        Vec s = vload(cell);
        if (cap) s = softcapped(s, a.softcap);
        if (mask) {
          const float key = static_cast<float>(j0 + j);
          s = vselectLess(position, vset(key), vset(kNegInf), s);  // key after the query
          if (a.window > 0) s = vselectLess(vset(key + static_cast<float>(a.window - 1)), position, vset(kNegInf), s);
        }
        vstore(cell, s);
        tileMax = vmax(tileMax, s);
      }
    } else {
      for (int64_t j = 0; j < nk; ++j) tileMax = vmax(tileMax, vload(sT + j * ld + r));
    }
    const Vec oldMax = vload(rowMax + r);
    const Vec newMax = vmax(oldMax, tileMax);
    const Vec shift = safeMax(newMax);
    Vec sum = vzero();
    for (int64_t j = 0; j < nk; ++j) {
      float* cell = sT + j * ld + r;
      const Vec e = vexp(vload(cell) - shift);
      vstore(cell, e);
      sum += e;
    }
    const Vec rescale = vexp(oldMax - shift);
    vstore(alpha + r, rescale);
    vstore(rowSum + r, vfma(vload(rowSum + r), rescale, sum));
    vstore(rowMax + r, newMax);
  }
}

static void runLanes(const Plan& p, const Task& t, int64_t keyBegin, int64_t keyEnd, const RowSink& sink) {
  const AttentionArgs& a = *p.args;
  const int64_t D = a.D, G = p.group;
  const int64_t rows = t.rows() * G;
  const int64_t ld = roundUp(rows, kLanes);
  ScratchScope scratch;
  float* qT = scratch.allocate<float>(static_cast<size_t>(D * ld));
  float* oT = scratch.allocate<float>(static_cast<size_t>(D * ld));
  float* sT = scratch.allocate<float>(static_cast<size_t>(kKeyTile * ld));
  float* pos = scratch.allocate<float>(static_cast<size_t>(ld));
  float* rowMax = scratch.allocate<float>(static_cast<size_t>(ld));
  float* rowSum = scratch.allocate<float>(static_cast<size_t>(ld));
  float* alpha = scratch.allocate<float>(static_cast<size_t>(ld));

  // Qᵀ, scaled; padding rows repeat the last row's position with q = 0, so
  // they widen no key range and stay finite.
  const float* qBase = a.q + (t.b * a.Tq * a.heads + t.kvHead * G) * D;
  for (int64_t r = 0; r < ld; ++r) {
    const int64_t row = std::min(r, rows - 1);
    const int64_t token = t.t0 + row / G;
    const float* src = qBase + (token * a.heads + row % G) * D;
    pos[r] = static_cast<float>(t.kvLength - a.Tq + token);
    for (int64_t d = 0; d < D; ++d) qT[d * ld + r] = r < rows ? src[d] * a.scale : 0.0f;
    rowMax[r] = kNegInf;
    rowSum[r] = 0.0f;
  }
  for (int64_t i = 0; i < D * ld; ++i) oT[i] = 0.0f;

  const int64_t kvStride = a.kvHeads * D;
  const float* kBase = a.k + (t.b * a.Tk * a.kvHeads + t.kvHead) * D;
  const float* vBase = a.v + (t.b * a.Tk * a.kvHeads + t.kvHead) * D;
  for (int64_t j0 = keyBegin; j0 < keyEnd; j0 += kKeyTile) {
    const int64_t nk = std::min(kKeyTile, keyEnd - j0);
    const float* k = kBase + j0 * kvStride;
    const float* v = vBase + j0 * kvStride;
    int64_t r = 0;
    for (; r + kRowVecs * kLanes <= ld; r += kRowVecs * kLanes) scoreRowBlock<kRowVecs>(qT + r, ld, k, kvStride, D, nk, sT + r);
    if (r < ld) scoreRowBlock<1>(qT + r, ld, k, kvStride, D, nk, sT + r);
    softmaxStepLanes(a, sT, ld, nk, j0, tileNeedsMask(a, t, j0, j0 + nk), pos, rowMax, rowSum, alpha);
    for (r = 0; r + kRowVecs * kLanes <= ld; r += kRowVecs * kLanes) {
      valueRowBlock<kRowVecs>(sT + r, ld, nk, v, kvStride, D, oT + r, alpha + r);
    }
    if (r < ld) valueRowBlock<1>(sT + r, ld, nk, v, kvStride, D, oT + r, alpha + r);
  }
  for (int64_t r = 0; r < rows; ++r) sink.put(r, rowMax[r], rowSum[r], [&](int64_t d) { return oT[d * ld + r]; });
}

// ---- rows over D (decode) ------------------------------------------------------

static inline Vec loadRow(const float* p, int64_t d, int64_t D) {
  return d + kLanes <= D ? vload(p + d) : vloadPartial(p + d, static_cast<int>(D - d));
}

static void runRowsOverD(const Plan& p, const Task& t, int64_t keyBegin, int64_t keyEnd, const RowSink& sink) {
  const AttentionArgs& a = *p.args;
  const int64_t D = a.D, G = p.group;
  const int64_t rows = t.rows() * G;
  const int64_t dPad = roundUp(D, kLanes);
  const int64_t tilePad = roundUp(kKeyTile, kLanes);
  ScratchScope scratch;
  float* q = scratch.allocate<float>(static_cast<size_t>(rows * dPad));
  float* acc = scratch.allocate<float>(static_cast<size_t>(rows * dPad));
  float* s = scratch.allocate<float>(static_cast<size_t>(rows * tilePad));
  float* rowMax = scratch.allocate<float>(static_cast<size_t>(rows));
  float* rowSum = scratch.allocate<float>(static_cast<size_t>(rows));
  int64_t* visibleBegin = scratch.allocate<int64_t>(static_cast<size_t>(rows));
  int64_t* visibleEnd = scratch.allocate<int64_t>(static_cast<size_t>(rows));

  const float* qBase = a.q + (t.b * a.Tq * a.heads + t.kvHead * G) * D;
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t token = t.t0 + r / G;
    const float* src = qBase + (token * a.heads + r % G) * D;
    for (int64_t d = 0; d < dPad; ++d) {
      q[r * dPad + d] = d < D ? src[d] * a.scale : 0.0f;
      acc[r * dPad + d] = 0.0f;
    }
    rowMax[r] = kNegInf;
    rowSum[r] = 0.0f;
    visibleBegin[r] = 0;
    visibleEnd[r] = t.kvLength;
    if (a.causal) {
      const int64_t position = t.kvLength - a.Tq + token;
      visibleEnd[r] = std::max<int64_t>(0, std::min(t.kvLength, position + 1));
      if (a.window > 0) visibleBegin[r] = std::max<int64_t>(0, position - a.window + 1);
    }
  }

  const int64_t kvStride = a.kvHeads * D;
  const float* kBase = a.k + (t.b * a.Tk * a.kvHeads + t.kvHead) * D;
  const float* vBase = a.v + (t.b * a.Tk * a.kvHeads + t.kvHead) * D;
  for (int64_t j0 = keyBegin; j0 < keyEnd; j0 += kKeyTile) {
    const int64_t nk = std::min(kKeyTile, keyEnd - j0);
    const float* k = kBase + j0 * kvStride;
    const float* v = vBase + j0 * kvStride;
    for (int64_t r = 0; r < rows; ++r) {
      const float* qr = q + r * dPad;
      float* sr = s + r * tilePad;
      int64_t j = 0;
      for (; j + 4 <= nk; j += 4) {  // four dot products in flight
        Vec d0 = vzero(), d1 = vzero(), d2 = vzero(), d3 = vzero();
        const float* k0 = k + j * kvStride;
        for (int64_t d = 0; d < D; d += kLanes) {
          const Vec qv = vload(qr + d);
          d0 = vfma(qv, loadRow(k0, d, D), d0);
          d1 = vfma(qv, loadRow(k0 + kvStride, d, D), d1);
          d2 = vfma(qv, loadRow(k0 + 2 * kvStride, d, D), d2);
          d3 = vfma(qv, loadRow(k0 + 3 * kvStride, d, D), d3);
        }
        sr[j] = vreduceAdd(d0);
        sr[j + 1] = vreduceAdd(d1);
        sr[j + 2] = vreduceAdd(d2);
        sr[j + 3] = vreduceAdd(d3);
      }
      for (; j < nk; ++j) {
        Vec dot = vzero();
        for (int64_t d = 0; d < D; d += kLanes) dot = vfma(vload(qr + d), loadRow(k + j * kvStride, d, D), dot);
        sr[j] = vreduceAdd(dot);
      }
      // Softcap, then mask: keys of the tile outside [visibleBegin, visibleEnd)
      // and the padding up to a whole vector become −inf.
      if (a.softcap > 0.0f) {
        for (j = 0; j < nk; j += kLanes) vstore(sr + j, softcapped(vload(sr + j), a.softcap));
      }
      const int64_t lo = std::clamp<int64_t>(visibleBegin[r] - j0, 0, nk);
      const int64_t hi = std::clamp<int64_t>(visibleEnd[r] - j0, lo, nk);
      for (j = 0; j < lo; ++j) sr[j] = kNegInf;
      for (j = hi; j < tilePad; ++j) sr[j] = kNegInf;
      Vec tileMax = vset(kNegInf);
      for (j = 0; j < nk; j += kLanes) tileMax = vmax(tileMax, vload(sr + j));
      const float newMax = std::max(rowMax[r], vreduceMax(tileMax));
      const float shift = safeMax(newMax);
      Vec sum = vzero();
      for (j = 0; j < nk; j += kLanes) {
        const Vec e = vexp(vload(sr + j) - vset(shift));
        vstore(sr + j, e);
        sum += e;
      }
      const float rescale = std::exp(rowMax[r] - shift);
      rowSum[r] = rowSum[r] * rescale + vreduceAdd(sum);
      rowMax[r] = newMax;
      float* ar = acc + r * dPad;
      for (int64_t d = 0; d < dPad; d += kLanes) vstore(ar + d, vload(ar + d) * vset(rescale));
    }
    for (int64_t j = 0; j < nk; ++j) {
      const float* vr = v + j * kvStride;
      for (int64_t d = 0; d < D; d += kLanes) {
        const Vec vv = loadRow(vr, d, D);
        for (int64_t r = 0; r < rows; ++r) {
          float* cell = acc + r * dPad + d;
          vstore(cell, vfma(vset(s[r * tilePad + j]), vv, vload(cell)));
        }
      }
    }
  }
  for (int64_t r = 0; r < rows; ++r) sink.put(r, rowMax[r], rowSum[r], [&](int64_t d) { return acc[r * dPad + d]; });
}

// o = Σ_s e^{m_s − M} O_s / Σ_s e^{m_s − M} l_s with M = max_s m_s, per row.
static void mergeSplits(const Plan& p) {
  const AttentionArgs& a = *p.args;
  const int64_t rowsTotal = p.tasks * p.rowsPerTask;
  parallelFor(rowsTotal, std::max<int64_t>(1, 4096 / std::max<int64_t>(1, a.D * p.splits)), [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t taskIndex = i / p.rowsPerTask, r = i % p.rowsPerTask;
      const Task t = taskAt(p, taskIndex);
      if (r >= t.rows() * p.group) continue;
      float best = kNegInf;
      for (int64_t s = 0; s < p.splits; ++s) best = std::max(best, p.partialM[(taskIndex * p.splits + s) * p.rowsPerTask + r]);
      const float shift = safeMax(best);
      const int64_t token = t.t0 + r / p.group, head = t.kvHead * p.group + r % p.group;
      float* dst = a.o + ((t.b * a.Tq + token) * a.heads + head) * a.D;
      float l = 0.0f;
      for (int64_t d = 0; d < a.D; ++d) dst[d] = 0.0f;
      for (int64_t s = 0; s < p.splits; ++s) {
        const int64_t slot = (taskIndex * p.splits + s) * p.rowsPerTask + r;
        if (p.partialL[slot] == 0.0f) continue;  // saw no key (and its O is zero)
        const float w = std::exp(p.partialM[slot] - shift);
        l += w * p.partialL[slot];
        const float* src = p.partialO + slot * a.D;
        for (int64_t d = 0; d < a.D; ++d) dst[d] += w * src[d];
      }
      const float inv = l > 0.0f ? 1.0f / l : 0.0f;
      for (int64_t d = 0; d < a.D; ++d) dst[d] *= inv;
    }
  });
}

}  // namespace

void attention(const AttentionArgs& a) {
  if (a.batch <= 0 || a.Tq <= 0 || a.heads <= 0 || a.D <= 0) return;
  Plan p;
  p.args = &a;
  p.group = a.heads / a.kvHeads;
  p.rowsInLanes = a.Tq * p.group >= kMinLaneRows;
  p.tokensPerTask = p.rowsInLanes ? std::clamp<int64_t>(kTaskRows / p.group, 1, a.Tq) : a.Tq;
  p.tokenBlocks = (a.Tq + p.tokensPerTask - 1) / p.tokensPerTask;
  p.tasks = a.batch * a.kvHeads * p.tokenBlocks;
  p.rowsPerTask = p.tokensPerTask * p.group;
  // Too few tasks to keep every thread busy: split each task's keys too.
  const int64_t threads = ThreadPool::inRegion() ? 1 : ThreadPool::instance().numThreads();
  p.splits = 1;
  if (p.tasks < 2 * threads) {
    const int64_t wanted = (2 * threads + p.tasks - 1) / p.tasks;
    p.splits = std::max<int64_t>(1, std::min(wanted, a.Tk / kMinSplitKeys));
  }
  ScratchScope scratch;  // the partial states, shared by all threads
  if (p.splits > 1) {
    const int64_t slots = p.tasks * p.splits * p.rowsPerTask;
    p.partialO = scratch.allocate<float>(static_cast<size_t>(slots * a.D));
    p.partialM = scratch.allocate<float>(static_cast<size_t>(slots));
    p.partialL = scratch.allocate<float>(static_cast<size_t>(slots));
  }
  parallelTasks(p.tasks * p.splits, [&](int64_t unit, int) {
    const Task t = taskAt(p, unit / p.splits);
    int64_t begin, end;
    splitRange(p, t, unit % p.splits, &begin, &end);
    const RowSink sink{&p, &t, unit};
    if (p.rowsInLanes) runLanes(p, t, begin, end, sink);
    else runRowsOverD(p, t, begin, end, sink);
  });
  if (p.splits > 1) mergeSplits(p);
}

}  // namespace cr::cpu::CR_ISA
