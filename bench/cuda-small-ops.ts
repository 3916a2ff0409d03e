// CUDA small-op benchmark: rmsNorm, softmax, elementwise and rope at model sizes (rows 4096 ×
// d ∈ {768, 4096}) as GB/s of the bytes each op must move (every input read once, every output
// written once) against the memory bandwidth from the device's properties. These ops are
// memory-bound: the percentage is the figure of merit. Times are medians of the op on device
// tensors with the wait for the stream included.
//   npm run bench -- cuda-small-ops [--quick]

import { ops, Tensor } from '../lib/index.js';
import { cudaBenchSetup } from './cuda-gemm.js';
import { pct, printTable, timeSync, writeResults } from './harness.js';

export async function runCudaSmallOpsBench(args: string[]): Promise<void> {
  const setup = cudaBenchSetup(args);
  if (setup === null) return;
  const { quick, device, peak } = setup;
  const rows: (string | number)[][] = [];
  const results: Record<string, unknown>[] = [];
  const timing = { minRuns: 5, minSeconds: quick ? 0.2 : 1 };
  const record = (op: string, shape: string, seconds: number, bytes: number) => {
    const gbs = bytes / seconds / 1e9;
    rows.push([`${op} ${shape}`, (seconds * 1e3).toFixed(3), `${gbs.toFixed(0)} GB/s`, pct(gbs / peak.bandwidthGBs)]);
    results.push({ op, shape, ms: seconds * 1e3, gbs });
  };
  const R = 4096;
  for (const d of [768, 4096]) {
    const x = await Tensor.randn([R, d], { seed: 1 }).toDevice('cuda');
    const g = await Tensor.randn([R, d], { seed: 2 }).toDevice('cuda');
    const w = await Tensor.randn([d], { seed: 3 }).toDevice('cuda');
    const n = R * d;
    const y = Tensor.zeros([R, d], 'float32', { device: 'cuda' });
    let t = timeSync(() => ops.rmsNormSync({ x, weight: w, out: { y } }), timing);
    record('rmsNorm', `[${R}, ${d}]`, t.median, 4 * (2 * n + d));
    t = timeSync(() => ops.softmaxSync({ x, out: { y } }), timing);
    record('softmax', `[${R}, ${d}]`, t.median, 4 * 2 * n);
    t = timeSync(() => ops.elementwiseSync({ expr: 'silu(x) * g', inputs: { x, g }, out: { y } }), timing);
    record('elementwise silu(x)*g', `[${R}, ${d}]`, t.median, 4 * 3 * n);
    // rope on q laid out [1, T = 4096, heads, 64 or 128]
    const D = d === 768 ? 64 : 128;
    const q = x.reshape([1, R, d / D, D]);
    const yq = y.reshape([1, R, d / D, D]);
    t = timeSync(() => ops.ropeSync({ x: q, out: { y: yq } }), timing);
    record(`rope D=${D}`, `[1, ${R}, ${d / D}, ${D}]`, t.median, 4 * 2 * n);
  }
  console.log(`device: ${device.name}; memory ${peak.bandwidthGBs.toFixed(0)} GB/s`);
  const table = printTable(['case', 'ms (median)', 'rate', '% of bandwidth'], rows);
  console.log(`\nwrote ${writeResults('cuda-small-ops', { device, peak, results, table })}`);
}
