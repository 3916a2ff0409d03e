// Float64 block recurrence h_t = A h_{t−1} + b_t, one sequence at a time.
export function blockScanRef(a: ArrayLike<number>, b: ArrayLike<number>, h0: ArrayLike<number> | undefined, batch: number, L: number, C: number, n: number) {
  const h = new Float64Array(batch * L * C * n);
  const last = new Float64Array(batch * C * n);
  for (let bi = 0; bi < batch; bi++) {
    for (let c = 0; c < C; c++) {
      let state = Array.from({ length: n }, (_, i) => (h0 ? h0[(bi * C + c) * n + i]! : 0));
      for (let t = 0; t < L; t++) {
        const next = new Array<number>(n).fill(0);
        for (let i = 0; i < n; i++) {
          let s = b[((bi * L + t) * C + c) * n + i]!;
          for (let j = 0; j < n; j++) s += a[(c * n + i) * n + j]! * state[j]!;
          next[i] = s;
        }
        state = next;
        for (let i = 0; i < n; i++) h[((bi * L + t) * C + c) * n + i] = state[i]!;
      }
      for (let i = 0; i < n; i++) last[(bi * C + c) * n + i] = state[i]!;
    }
  }
  return { h, last };
}
