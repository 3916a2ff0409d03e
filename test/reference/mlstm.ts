// Float64 reference for mlstm: the stabilised recurrent step of NX-AI's
// mlstm_kernels (mlstm_recurrent_step__native_fw), one token at a time, per
// batch row and head, from C = 0, n = 0, m = 0 unless a state is given:
//   m_t = max(log σ(f_t) + m_{t−1}, i_t),  f' = exp(log σ(f_t) + m_{t−1} − m_t),  i' = exp(i_t − m_t)
//   C_t = f' C_{t−1} + i' k_tᵀ v_t,  n_t = f' n_{t−1} + i' k_t
//   h_t = (q̃ C_t) / (max(|q̃ · n_t|, exp(−m_t)) + eps),  q̃ = scale · q

export interface MlstmRefInput {
  b: number;
  T: number;
  h: number;
  K: number;
  V: number;
  q: ArrayLike<number>; // [b, T, h, K]
  k: ArrayLike<number>; // [b, T, h, K]
  v: ArrayLike<number>; // [b, T, h, V]
  i: ArrayLike<number>; // [b, T, h]
  f: ArrayLike<number>; // [b, T, h]
  initialC?: ArrayLike<number>; // [b, h, K, V]
  initialN?: ArrayLike<number>; // [b, h, K]
  initialM?: ArrayLike<number>; // [b, h]
  scale?: number;
  eps?: number;
}

/** log σ(x) without overflow for large |x|. */
export function logSigmoid(x: number): number {
  return x >= 0 ? -Math.log1p(Math.exp(-x)) : x - Math.log1p(Math.exp(x));
}

export function mlstmRef(x: MlstmRefInput): { h: Float64Array; finalC: Float64Array; finalN: Float64Array; finalM: Float64Array } {
  const { b: B, T, h: H, K, V } = x;
  const scale = x.scale ?? K ** -0.5;
  const eps = x.eps ?? 1e-6;
  const out = new Float64Array(B * T * H * V);
  const finalC = new Float64Array(B * H * K * V);
  const finalN = new Float64Array(B * H * K);
  const finalM = new Float64Array(B * H);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const seq = b * H + h;
      const C = new Float64Array(K * V);
      const n = new Float64Array(K);
      let m = 0;
      if (x.initialC) for (let j = 0; j < K * V; j++) C[j] = x.initialC[seq * K * V + j]!;
      if (x.initialN) for (let j = 0; j < K; j++) n[j] = x.initialN[seq * K + j]!;
      if (x.initialM) m = x.initialM[seq]!;
      for (let t = 0; t < T; t++) {
        const row = (b * T + t) * H + h;
        const logF = logSigmoid(x.f[row]!);
        const logI = x.i[row]!;
        const mNew = Math.max(logF + m, logI);
        const fAct = Math.exp(logF + m - mNew);
        const iAct = Math.exp(logI - mNew);
        m = mNew;
        for (let a = 0; a < K; a++) {
          const ka = x.k[row * K + a]!;
          n[a] = fAct * n[a]! + iAct * ka;
          for (let j = 0; j < V; j++) C[a * V + j] = fAct * C[a * V + j]! + iAct * ka * x.v[row * V + j]!;
        }
        let qn = 0;
        for (let a = 0; a < K; a++) qn += scale * x.q[row * K + a]! * n[a]!;
        const denominator = Math.max(Math.abs(qn), Math.exp(-m)) + eps;
        for (let j = 0; j < V; j++) {
          let num = 0;
          for (let a = 0; a < K; a++) num += scale * x.q[row * K + a]! * C[a * V + j]!;
          out[row * V + j] = num / denominator;
        }
      }
      finalC.set(C, seq * K * V);
      finalN.set(n, seq * K);
      finalM[seq] = m;
    }
  }
  return { h: out, finalC, finalN, finalM };
}
