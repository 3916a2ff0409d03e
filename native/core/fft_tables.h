// Twiddle factors and index tables for the power-of-two FFTs in
// native/cpu/fft_conv.cc. They are computed in double precision (then rounded
// once to float), the first time a size is asked for, and kept for the life of
// the process: every later transform of that size reuses them. Safe to call
// from any thread. The tables are plain data, the same for every instruction
// set, so they live here rather than in the per-ISA kernel objects.
#pragma once
#include <cstdint>

namespace cr::fft {

// Largest transform these tables serve: 2^kMaxLog2 points.
constexpr int kMaxLog2 = 26;

// For one radix-4 decimation-in-frequency pass over M = 2^log2M complex
// points (2 ≤ log2M ≤ kMaxLog2): for j < M/4, six floats
//   W^j, W^2j, W^3j  (each as re, im),  W = e^{−2πi/M}.
const float* radix4Twiddles(int log2M);

// W_N^k = e^{−2πik/N} for k ≤ N/4 (re, im pairs), N = 2^log2N (2 ≤ log2N ≤ kMaxLog2 + 1):
// the twiddles that split an N/2-point complex FFT of packed real data into
// the spectrum of the N real points.
const float* realTwiddles(int log2N);

// The bit reversal of every index below M = 2^log2M (0 ≤ log2M ≤ kMaxLog2).
const uint32_t* bitReversal(int log2M);

}  // namespace cr::fft
