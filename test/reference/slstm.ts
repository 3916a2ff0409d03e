// Float64 sLSTM recurrence, straight from the xLSTM equations.
import { sigmoid } from './elementwise.js';

export function slstmRef(gates: ArrayLike<number>, R: ArrayLike<number>, bias: ArrayLike<number> | undefined,
  b: number, L: number, H: number, dh: number, init?: { y: ArrayLike<number>; c: ArrayLike<number>; n: ArrayLike<number>; m: ArrayLike<number> }) {
  const hidden = H * dh;
  const y = new Float64Array(b * L * hidden);
  const st = { y: new Float64Array(b * hidden), c: new Float64Array(b * hidden), n: new Float64Array(b * hidden), m: new Float64Array(b * hidden) };
  if (init) for (const k of ['y', 'c', 'n', 'm'] as const) st[k].set(Array.from(init[k]));
  for (let bi = 0; bi < b; bi++) {
    for (let t = 0; t < L; t++) {
      const prev = st.y.slice(bi * hidden, (bi + 1) * hidden);
      for (let h = 0; h < H; h++) {
        for (let j = 0; j < dh; j++) {
          const raw = [0, 1, 2, 3].map((g) => {
            let s = gates[(((bi * L + t) * 4 + g) * H + h) * dh + j]! + (bias ? bias[(h * 4 + g) * dh + j]! : 0);
            for (let k = 0; k < dh; k++) s += prev[h * dh + k]! * R[((h * dh + k) * 4 + g) * dh + j]!;
            return s;
          });
          const idx = bi * hidden + h * dh + j;
          const logF = Math.log(sigmoid(raw[1]!));
          const mNew = st.n[idx] === 0 ? raw[0]! : Math.max(raw[0]!, st.m[idx]! + logF);
          const i = Math.exp(raw[0]! - mNew);
          const f = Math.exp(st.m[idx]! + logF - mNew);
          st.c[idx] = f * st.c[idx]! + i * Math.tanh(raw[2]!);
          st.n[idx] = f * st.n[idx]! + i;
          st.m[idx] = mNew;
          st.y[idx] = sigmoid(raw[3]!) * st.c[idx]! / st.n[idx]!;
          y[(bi * L + t) * hidden + h * dh + j] = st.y[idx]!;
        }
      }
    }
  }
  return { out: y, ...st };
}
