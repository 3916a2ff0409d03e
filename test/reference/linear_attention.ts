// Float64 reference for linearAttention: the plain recurrence of
// flash-linear-attention's naive_recurrent_gla / naive_recurrent_simple_gla,
// one token at a time, per batch row and head:
//   S_t = diag(exp(gk_t)) · exp(g_t) · S_{t−1} + k_tᵀ v_t,   o_t = scale · q_t S_t

export interface LinearAttentionRefInput {
  b: number;
  T: number;
  h: number;
  K: number;
  V: number;
  q: ArrayLike<number>; // [b, T, h, K]
  k: ArrayLike<number>; // [b, T, h, K]
  v: ArrayLike<number>; // [b, T, h, V]
  g?: ArrayLike<number>; // [b, T, h]
  gk?: ArrayLike<number>; // [b, T, h, K]
  initialState?: ArrayLike<number>; // [b, h, K, V]
  scale?: number;
}

export function linearAttentionRef(x: LinearAttentionRefInput): { o: Float64Array; finalState: Float64Array } {
  const { b: B, T, h: H, K, V } = x;
  const scale = x.scale ?? K ** -0.5;
  const o = new Float64Array(B * T * H * V);
  const finalState = new Float64Array(B * H * K * V);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const S = new Float64Array(K * V);
      const base = (b * H + h) * K * V;
      if (x.initialState) for (let i = 0; i < K * V; i++) S[i] = x.initialState[base + i]!;
      for (let t = 0; t < T; t++) {
        const row = (b * T + t) * H + h;
        const g = x.g ? x.g[row]! : 0;
        for (let i = 0; i < K; i++) {
          const decay = Math.exp(g + (x.gk ? x.gk[row * K + i]! : 0));
          const ki = x.k[row * K + i]!;
          for (let j = 0; j < V; j++) S[i * V + j] = decay * S[i * V + j]! + ki * x.v[row * V + j]!;
        }
        for (let j = 0; j < V; j++) {
          let sum = 0;
          for (let i = 0; i < K; i++) sum += x.q[row * K + i]! * S[i * V + j]!;
          o[row * V + j] = scale * sum;
        }
      }
      finalState.set(S, base);
    }
  }
  return { o, finalState };
}
