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
// Query rows per kv head (tokens × group) up to this many are a decode: one
// task per batch row covers all heads.
constexpr int64_t kDecodeRows = kRowVecs * kLanes;
// Fewer rows than this per kv head take the rows-over-D layout.
constexpr int64_t kMinLaneRows = kLanes / 4 > 1 ? kLanes / 4 : 1;
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
  int64_t group;           // query heads per kv head
  bool decode;             // few query rows per head: one task per batch row covers every head
  bool rowsInLanes;        // the layout of each head's rows
  int64_t tokensPerTask;
  int64_t tokenBlocks;
  int64_t headsPerTask;    // kv heads per task
  int64_t tasks;
  int64_t rowsPerHead;     // tokensPerTask · group
  int64_t rowsPerTask;     // rowsPerHead · headsPerTask
  int64_t splits;          // key ranges per task
  // With splits > 1, each (task, split) leaves its unnormalised O, m and l here.
  float* partialO = nullptr;  // [tasks · splits, rowsPerTask, D]
  float* partialM = nullptr;  // [tasks · splits, rowsPerTask]
  float* partialL = nullptr;
};

// One task: query tokens [t0, t1) of batch row b, for the query heads of kv
// heads [kvHead0, kvHead0 + heads).
struct Task {
  int64_t b, kvHead0, heads, t0, t1;
  int64_t kvLength;
  int64_t keyBegin, keyEnd;  // the keys any row of the task can see
  int64_t tokens() const { return t1 - t0; }
  int64_t position(int64_t token, const AttentionArgs& a) const { return kvLength - a.Tq + token; }
};

// Prefill tasks go heaviest first (the last token blocks see the most keys
// under a causal mask), so the dynamic hand-out ends with short tasks and the
// threads finish together.
static Task taskAt(const Plan& p, int64_t index) {
  const AttentionArgs& a = *p.args;
  Task t;
  if (p.decode) {
    t.b = index;
    t.kvHead0 = 0;
    t.heads = a.kvHeads;
    t.t0 = 0;
    t.t1 = a.Tq;
  } else {
    const int64_t block = p.tokenBlocks - 1 - index / (a.batch * a.kvHeads);
    const int64_t rest = index % (a.batch * a.kvHeads);
    t.b = rest / a.kvHeads;
    t.kvHead0 = rest % a.kvHeads;
    t.heads = 1;
    t.t0 = block * p.tokensPerTask;
    t.t1 = std::min(a.Tq, t.t0 + p.tokensPerTask);
  }
  t.kvLength = a.kvLengths ? a.kvLengths[t.b] : a.Tk;
  t.keyBegin = 0;
  t.keyEnd = t.kvLength;
  if (a.causal) {
    t.keyEnd = std::max<int64_t>(0, std::min(t.kvLength, t.position(t.t1 - 1, a) + 1));
    if (a.window > 0) t.keyBegin = std::max<int64_t>(0, t.position(t.t0, a) - a.window + 1);
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
// kvLength and past the causal limit of the last row are outside its range.)
static bool tileNeedsMask(const AttentionArgs& a, const Task& t, int64_t j0, int64_t j1) {
  if (!a.causal) return false;
  if (j1 - 1 > t.position(t.t0, a)) return true;
  return a.window > 0 && j0 <= t.position(t.t1 - 1, a) - a.window;
}

// Where a finished row goes: o = acc / l (zeros for a row that saw no key),
// or, when the keys were split, the unnormalised state for the merge.
struct RowSink {
  const Plan* p;
  const Task* t;
  int64_t unit;  // task · splits + split
  // Row r of the task's head hk; `read(d)` yields its accumulator at head dim d.
  template <typename Read>
  void put(int64_t hk, int64_t r, float m, float l, Read read) const {
    const AttentionArgs& a = *p->args;
    if (p->splits > 1) {
      const int64_t slot = unit * p->rowsPerTask + hk * p->rowsPerHead + r;
      float* dst = p->partialO + slot * a.D;
      for (int64_t d = 0; d < a.D; ++d) dst[d] = read(d);
      p->partialM[slot] = m;
      p->partialL[slot] = l;
      return;
    }
    const int64_t token = t->t0 + r / p->group, head = (t->kvHead0 + hk) * p->group + r % p->group;
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

// Oᵀ[d][r] = alpha[r] · Oᵀ[d][r] + Σ_j V[j][d] · Pᵀ[j][r] for ND dims × NV row vectors.
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

// The rows of one kv head, one SIMD lane per row.
struct LaneHead {
  int64_t rows, ld;  // ld: rows rounded up to whole vectors
  float* qT;         // [D][ld], scaled
  float* oT;         // [D][ld]
  float* pos;        // [ld] query positions
  float* rowMax;
  float* rowSum;
  float* alpha;      // exp(m_old − m_new) of the last tile

  void init(ScratchScope& scratch, const AttentionArgs& a, const Task& t, int64_t kvHead, int64_t group) {
    const int64_t D = a.D;
    rows = t.tokens() * group;
    ld = roundUp(rows, kLanes);
    qT = scratch.allocate<float>(static_cast<size_t>(D * ld));
    oT = scratch.allocate<float>(static_cast<size_t>(D * ld));
    pos = scratch.allocate<float>(static_cast<size_t>(ld));
    rowMax = scratch.allocate<float>(static_cast<size_t>(ld));
    rowSum = scratch.allocate<float>(static_cast<size_t>(ld));
    alpha = scratch.allocate<float>(static_cast<size_t>(ld));
    // Padding rows repeat the last row's position with q = 0: they widen no
    // key range and stay finite.
    const float* qBase = a.q + (t.b * a.Tq * a.heads + kvHead * group) * D;
    for (int64_t r = 0; r < ld; ++r) {
      const int64_t row = std::min(r, rows - 1);
      const int64_t token = t.t0 + row / group;
      const float* src = qBase + (token * a.heads + row % group) * D;
      pos[r] = static_cast<float>(t.position(token, a));
      for (int64_t d = 0; d < D; ++d) qT[d * ld + r] = r < rows ? src[d] * a.scale : 0.0f;
      rowMax[r] = kNegInf;
      rowSum[r] = 0.0f;
    }
    for (int64_t i = 0; i < D * ld; ++i) oT[i] = 0.0f;
  }

  // One tile of nk keys from key j0; k and v hold the tile's rows at stride kvStride.
  void step(const AttentionArgs& a, float* sT, int64_t j0, int64_t nk, const float* k, const float* v, int64_t kvStride,
            bool mask) {
    const int64_t D = a.D;
    constexpr int64_t block = kRowVecs * kLanes;
    int64_t r = 0;
    for (; r + block <= ld; r += block) scoreRowBlock<kRowVecs>(qT + r, ld, k, kvStride, D, nk, sT + r);
    if (r < ld) scoreRowBlock<1>(qT + r, ld, k, kvStride, D, nk, sT + r);
    softmaxStep(a, sT, j0, nk, mask);
    for (r = 0; r + block <= ld; r += block) valueRowBlock<kRowVecs>(sT + r, ld, nk, v, kvStride, D, oT + r, alpha + r);
    if (r < ld) valueRowBlock<1>(sT + r, ld, nk, v, kvStride, D, oT + r, alpha + r);
  }

  // Updates the running max and sum, turns Sᵀ into Pᵀ = exp(S − m_new) and
  // leaves exp(m_old − m_new) in `alpha` for the accumulator.
  void softmaxStep(const AttentionArgs& a, float* sT, int64_t j0, int64_t nk, bool mask) {
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

  void finish(const RowSink& sink, int64_t hk) const {
    for (int64_t r = 0; r < rows; ++r) sink.put(hk, r, rowMax[r], rowSum[r], [&](int64_t d) { return oT[d * ld + r]; });
  }
};

// D floats of a row from d on, zero past the end.
static inline Vec loadRow(const float* p, int64_t d, int64_t D) {
  return d + kLanes <= D ? vload(p + d) : vloadPartial(p + d, static_cast<int>(D - d));
}

// Copies a tile of nk keys for `heads` kv heads out of rows laid out
// [key][kvHeads][D] into one dense tile per head, [head][key][dPad], zero-padded.
// The caller's rows of one head sit kvHeads·D floats apart: at such
// power-of-two strides a tile's rows fall into a few L1 sets and evict each
// other, and the micro-kernels read every row many times.
static void copyTile(const float* src, int64_t kvStride, int64_t nk, int64_t heads, int64_t D, int64_t dPad, float* dst) {
  for (int64_t j = 0; j < nk; ++j) {
    for (int64_t h = 0; h < heads; ++h) {
      const float* row = src + j * kvStride + h * D;
      float* out = dst + (h * kKeyTile + j) * dPad;
      for (int64_t d = 0; d < dPad; d += kLanes) vstore(out + d, loadRow(row, d, D));
    }
  }
}

// One (task, split) in the lanes layout: every head of the task walks the
// key range tile by tile.
static void runLaneUnit(const Plan& p, int64_t unit) {
  const AttentionArgs& a = *p.args;
  const Task t = taskAt(p, unit / p.splits);
  int64_t begin, end;
  splitRange(p, t, unit % p.splits, &begin, &end);
  ScratchScope scratch;
  LaneHead* heads = scratch.allocate<LaneHead>(static_cast<size_t>(t.heads));
  for (int64_t hk = 0; hk < t.heads; ++hk) heads[hk].init(scratch, a, t, t.kvHead0 + hk, p.group);
  float* sT = scratch.allocate<float>(static_cast<size_t>(kKeyTile * heads[0].ld));
  const int64_t dPad = roundUp(a.D, kLanes);
  float* kTiles = scratch.allocate<float>(static_cast<size_t>(t.heads * kKeyTile * dPad));
  float* vTiles = scratch.allocate<float>(static_cast<size_t>(t.heads * kKeyTile * dPad));
  const int64_t kvStride = a.kvHeads * a.D;
  const int64_t offset = t.b * a.Tk * kvStride + t.kvHead0 * a.D;
  for (int64_t j0 = begin; j0 < end; j0 += kKeyTile) {
    const int64_t nk = std::min(kKeyTile, end - j0);
    const bool mask = tileNeedsMask(a, t, j0, j0 + nk);
    copyTile(a.k + offset + j0 * kvStride, kvStride, nk, t.heads, a.D, dPad, kTiles);
    copyTile(a.v + offset + j0 * kvStride, kvStride, nk, t.heads, a.D, dPad, vTiles);
    for (int64_t hk = 0; hk < t.heads; ++hk) {
      const int64_t h = hk * kKeyTile * dPad;
      heads[hk].step(a, sT, j0, nk, kTiles + h, vTiles + h, dPad, mask);
    }
  }
  const RowSink sink{&p, &t, unit};
  for (int64_t hk = 0; hk < t.heads; ++hk) heads[hk].finish(sink, hk);
}

// ---- rows over D (decode) ------------------------------------------------------

// out[0..3] = the lane sums of a, b, c, d: one transposing reduction instead of four.
static inline void reduce4(Vec a, Vec b, Vec c, Vec d, float* out) {
#if defined(CR_ISA_AVX512)
  const auto fold = [](Vec x) { return _mm256_add_ps(_mm512_castps512_ps256(x.v), _mm512_extractf32x8_ps(x.v, 1)); };
  const __m256 h = _mm256_hadd_ps(_mm256_hadd_ps(fold(a), fold(b)), _mm256_hadd_ps(fold(c), fold(d)));
  _mm_storeu_ps(out, _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1)));
#elif defined(CR_ISA_AVX2)
  const __m256 h = _mm256_hadd_ps(_mm256_hadd_ps(a.v, b.v), _mm256_hadd_ps(c.v, d.v));
  _mm_storeu_ps(out, _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1)));
#else
  out[0] = vreduceAdd(a);
  out[1] = vreduceAdd(b);
  out[2] = vreduceAdd(c);
  out[3] = vreduceAdd(d);
#endif
}

// A few query rows per kv head against many keys: each row is a vector over
// D, scores are dot products, and K and V are read once, straight from the
// caller's memory, one key row (all heads of the task) after another — a
// single sequential stream, which is what a memory-bound decode needs.
static void runDimUnit(const Plan& p, int64_t unit) {
  const AttentionArgs& a = *p.args;
  const Task t = taskAt(p, unit / p.splits);
  int64_t begin, end;
  splitRange(p, t, unit % p.splits, &begin, &end);
  const int64_t D = a.D, G = p.group;
  const int64_t perHead = t.tokens() * G;
  const int64_t rows = perHead * t.heads;  // row = head · perHead + token · G + g
  const int64_t dPad = roundUp(D, kLanes), dFull = D - D % kLanes;
  constexpr int64_t tilePad = (kKeyTile + kLanes - 1) / kLanes * kLanes;
  static_assert(kKeyTile % 4 == 0, "score and value passes take keys four at a time");
  ScratchScope scratch;
  float* q = scratch.allocate<float>(static_cast<size_t>(rows * dPad));    // scaled, zero-padded
  float* acc = scratch.allocate<float>(static_cast<size_t>(rows * dPad));
  float* s = scratch.allocate<float>(static_cast<size_t>(rows * tilePad));
  float* rowMax = scratch.allocate<float>(static_cast<size_t>(rows));
  float* rowSum = scratch.allocate<float>(static_cast<size_t>(rows));
  int64_t* visibleBegin = scratch.allocate<int64_t>(static_cast<size_t>(rows));  // the keys each row may see
  int64_t* visibleEnd = scratch.allocate<int64_t>(static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t hk = r / perHead, token = t.t0 + r % perHead / G, head = (t.kvHead0 + hk) * G + r % G;
    const float* src = a.q + ((t.b * a.Tq + token) * a.heads + head) * D;
    for (int64_t d = 0; d < dPad; ++d) {
      q[r * dPad + d] = d < D ? src[d] * a.scale : 0.0f;
      acc[r * dPad + d] = 0.0f;
    }
    rowMax[r] = kNegInf;
    rowSum[r] = 0.0f;
    visibleBegin[r] = 0;
    visibleEnd[r] = t.kvLength;
    if (a.causal) {
      const int64_t position = t.position(token, a);
      visibleEnd[r] = std::max<int64_t>(0, std::min(t.kvLength, position + 1));
      if (a.window > 0) visibleBegin[r] = std::max<int64_t>(0, position - a.window + 1);
    }
  }

  const int64_t kvStride = a.kvHeads * D;
  const int64_t offset = t.b * a.Tk * kvStride + t.kvHead0 * D;
  for (int64_t j0 = begin; j0 < end; j0 += kKeyTile) {
    const int64_t nk = std::min(kKeyTile, end - j0);
    const float* k = a.k + offset + j0 * kvStride;
    const float* v = a.v + offset + j0 * kvStride;
    // Scores, four key rows at a time (rows past nk repeat the last one; their
    // scores land in the padding, which is masked below).
    int64_t j = 0;
    for (; j < nk; j += 4) {
      const float* k0 = k + j * kvStride;
      const float* k1 = k + std::min(j + 1, nk - 1) * kvStride;
      const float* k2 = k + std::min(j + 2, nk - 1) * kvStride;
      const float* k3 = k + std::min(j + 3, nk - 1) * kvStride;
      for (int64_t r = 0; r < rows; ++r) {
        const float* qr = q + r * dPad;
        const int64_t h = r / perHead * D;
        Vec d0 = vzero(), d1 = vzero(), d2 = vzero(), d3 = vzero();
        int64_t d = 0;
        for (; d < dFull; d += kLanes) {
          const Vec qv = vload(qr + d);
          d0 = vfma(qv, vload(k0 + h + d), d0);
          d1 = vfma(qv, vload(k1 + h + d), d1);
          d2 = vfma(qv, vload(k2 + h + d), d2);
          d3 = vfma(qv, vload(k3 + h + d), d3);
        }
        if (d < D) {
          const int tail = static_cast<int>(D - d);
          const Vec qv = vload(qr + d);
          d0 = vfma(qv, vloadPartial(k0 + h + d, tail), d0);
          d1 = vfma(qv, vloadPartial(k1 + h + d, tail), d1);
          d2 = vfma(qv, vloadPartial(k2 + h + d, tail), d2);
          d3 = vfma(qv, vloadPartial(k3 + h + d, tail), d3);
        }
        reduce4(d0, d1, d2, d3, s + r * tilePad + j);
      }
    }
    // Softcap, mask (keys outside [visibleBegin, visibleEnd) and the padding
    // up to a whole vector become −inf), then the online-softmax update.
    for (int64_t r = 0; r < rows; ++r) {
      float* sr = s + r * tilePad;
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
    // acc += P·V, four value rows per pass over the accumulators (rows past nk
    // repeat the last one with p = 0).
    for (j = 0; j < nk; j += 4) {
      for (int64_t hk = 0; hk < t.heads; ++hk) {
        const float* v0 = v + j * kvStride + hk * D;
        const float* v1 = v + std::min(j + 1, nk - 1) * kvStride + hk * D;
        const float* v2 = v + std::min(j + 2, nk - 1) * kvStride + hk * D;
        const float* v3 = v + std::min(j + 3, nk - 1) * kvStride + hk * D;
        for (int64_t r = hk * perHead; r < (hk + 1) * perHead; ++r) {
          const float* pr = s + r * tilePad + j;
          const Vec p0 = vset(pr[0]), p1 = vset(pr[1]), p2 = vset(pr[2]), p3 = vset(pr[3]);
          float* ar = acc + r * dPad;
          int64_t d = 0;
          for (; d < dFull; d += kLanes) {
            Vec sum = vfma(p0, vload(v0 + d), vload(ar + d));
            sum = vfma(p1, vload(v1 + d), sum);
            sum = vfma(p2, vload(v2 + d), sum);
            vstore(ar + d, vfma(p3, vload(v3 + d), sum));
          }
          if (d < D) {
            const int tail = static_cast<int>(D - d);
            Vec sum = vfma(p0, vloadPartial(v0 + d, tail), vload(ar + d));
            sum = vfma(p1, vloadPartial(v1 + d, tail), sum);
            sum = vfma(p2, vloadPartial(v2 + d, tail), sum);
            vstore(ar + d, vfma(p3, vloadPartial(v3 + d, tail), sum));
          }
        }
      }
    }
  }
  const RowSink sink{&p, &t, unit};
  for (int64_t r = 0; r < rows; ++r) {
    sink.put(r / perHead, r % perHead, rowMax[r], rowSum[r], [&](int64_t d) { return acc[r * dPad + d]; });
  }
}

// o = Σ_s e^{m_s − M} O_s / Σ_s e^{m_s − M} l_s with M = max_s m_s, per row.
static void mergeSplits(const Plan& p) {
  const AttentionArgs& a = *p.args;
  const int64_t rowsTotal = p.tasks * p.rowsPerTask;
  parallelFor(rowsTotal, std::max<int64_t>(1, 4096 / std::max<int64_t>(1, a.D * p.splits)), [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t taskIndex = i / p.rowsPerTask;
      const int64_t hk = i % p.rowsPerTask / p.rowsPerHead, r = i % p.rowsPerHead;
      const Task t = taskAt(p, taskIndex);
      if (r >= t.tokens() * p.group) continue;  // a short last token block
      float best = kNegInf;
      for (int64_t s = 0; s < p.splits; ++s) best = std::max(best, p.partialM[(taskIndex * p.splits + s) * p.rowsPerTask + i % p.rowsPerTask]);
      const float shift = safeMax(best);
      const int64_t token = t.t0 + r / p.group, head = (t.kvHead0 + hk) * p.group + r % p.group;
      float* dst = a.o + ((t.b * a.Tq + token) * a.heads + head) * a.D;
      float l = 0.0f;
      for (int64_t d = 0; d < a.D; ++d) dst[d] = 0.0f;
      for (int64_t s = 0; s < p.splits; ++s) {
        const int64_t slot = (taskIndex * p.splits + s) * p.rowsPerTask + i % p.rowsPerTask;
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
  const int64_t rowsPerHead = a.Tq * p.group;
  p.decode = rowsPerHead <= kDecodeRows;
  p.rowsInLanes = rowsPerHead >= kMinLaneRows;
  p.tokensPerTask = p.decode ? a.Tq : std::clamp<int64_t>(kTaskRows / p.group, 1, a.Tq);
  p.tokenBlocks = (a.Tq + p.tokensPerTask - 1) / p.tokensPerTask;
  p.headsPerTask = p.decode ? a.kvHeads : 1;
  p.tasks = p.decode ? a.batch : a.batch * a.kvHeads * p.tokenBlocks;
  p.rowsPerHead = p.tokensPerTask * p.group;
  p.rowsPerTask = p.rowsPerHead * p.headsPerTask;
  // Too few tasks to keep every thread busy: split each task's keys too.
  const int64_t threads = ThreadPool::inRegion() ? 1 : ThreadPool::instance().numThreads();
  p.splits = 1;
  if (threads > 1 && p.tasks < 2 * threads) {
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
    if (p.rowsInLanes) runLaneUnit(p, unit);
    else runDimUnit(p, unit);
  });
  if (p.splits > 1) mergeSplits(p);
}

}  // namespace cr::cpu::CR_ISA
