// Float64 reference for selectiveScan: selective_scan_ref of state-spaces/mamba
// (mamba_ssm/ops/selective_scan_interface.py) in token-major layout, written as
// the recurrence itself, one channel and one state entry at a time.

export interface SelectiveScanRefArgs {
  b: number;
  L: number;
  d: number;
  n: number;
  g: number;
  u: ArrayLike<number>; // [b, L, d]
  delta: ArrayLike<number>; // [b, L, d]
  A: ArrayLike<number>; // [d, n]
  B: ArrayLike<number>; // [b, L, g, n]
  C: ArrayLike<number>; // [b, L, g, n]
  D?: ArrayLike<number>; // [d]
  z?: ArrayLike<number>; // [b, L, d]
  deltaBias?: ArrayLike<number>; // [d]
  initialState?: ArrayLike<number>; // [b, d, n]
  deltaSoftplus?: boolean;
}

// ln(1 + e^x) without overflow. PyTorch's F.softplus returns x itself above 20;
// the two differ by less than 2.1e-9 there, far below float32 resolution.
export function softplus(x: number): number {
  return Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
}

export function silu(x: number): number {
  return x / (1 + Math.exp(-x));
}

export function selectiveScanRef(a: SelectiveScanRefArgs): { y: Float64Array; lastState: Float64Array } {
  const { b, L, d, n, g } = a;
  const channelsPerGroup = d / g;
  const y = new Float64Array(b * L * d);
  const lastState = new Float64Array(b * d * n);
  for (let bi = 0; bi < b; bi++) {
    for (let c = 0; c < d; c++) {
      const group = Math.floor(c / channelsPerGroup);
      const h = new Float64Array(n);
      for (let s = 0; s < n; s++) h[s] = a.initialState ? a.initialState[(bi * d + c) * n + s]! : 0;
      for (let t = 0; t < L; t++) {
        const i = (bi * L + t) * d + c;
        let dt = a.delta[i]! + (a.deltaBias ? a.deltaBias[c]! : 0);
        if (a.deltaSoftplus) dt = softplus(dt);
        const bc = ((bi * L + t) * g + group) * n;
        let out = 0;
        for (let s = 0; s < n; s++) {
          h[s] = Math.exp(dt * a.A[c * n + s]!) * h[s]! + dt * a.B[bc + s]! * a.u[i]!;
          out += a.C[bc + s]! * h[s]!;
        }
        if (a.D) out += a.D[c]! * a.u[i]!;
        if (a.z) out *= silu(a.z[i]!);
        y[i] = out;
      }
      for (let s = 0; s < n; s++) lastState[(bi * d + c) * n + s] = h[s]!;
    }
  }
  return { y, lastState };
}
