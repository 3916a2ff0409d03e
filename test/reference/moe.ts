// Float64 mixture-of-experts reference, token by token.
import { sigmoid } from './elementwise.js';

export function moeRef(
  x: ArrayLike<number>, router: ArrayLike<number>, gate: ArrayLike<number>, up: ArrayLike<number>, down: ArrayLike<number>,
  d: number, ffn: number, experts: number, topK: number, normalize: boolean,
): { y: Float64Array; chosen: number[] } {
  const tokens = x.length / d;
  const y = new Float64Array(x.length);
  const chosen: number[] = [];
  for (let t = 0; t < tokens; t++) {
    const logits = Array.from({ length: experts }, (_, e) => {
      let s = 0;
      for (let j = 0; j < d; j++) s += router[e * d + j]! * x[t * d + j]!;
      return s;
    });
    const max = Math.max(...logits);
    const z = logits.reduce((a, l) => a + Math.exp(l - max), 0);
    const p = logits.map((l) => Math.exp(l - max) / z);
    const order = p.map((v, e) => [v, e] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]).slice(0, topK);
    const total = order.reduce((a, [v]) => a + v, 0);
    for (const [pe, e] of order) {
      chosen.push(e);
      const w = normalize ? pe / total : pe;
      const act = new Float64Array(ffn);
      for (let f = 0; f < ffn; f++) {
        let g = 0;
        let u = 0;
        for (let j = 0; j < d; j++) {
          g += gate[(e * ffn + f) * d + j]! * x[t * d + j]!;
          u += up[(e * ffn + f) * d + j]! * x[t * d + j]!;
        }
        act[f] = g * sigmoid(g) * u;
      }
      for (let j = 0; j < d; j++) {
        let s = 0;
        for (let f = 0; f < ffn; f++) s += down[(e * d + j) * ffn + f]! * act[f]!;
        y[t * d + j] += w * s;
      }
    }
  }
  return { y, chosen };
}
