// CUDA linear-recurrence scans: diagonalScan (real and complex) and blockScan, as GB/s of the
// bytes each call must move (read a and b, write h and lastState; blockScan reads A once)
// against the memory bandwidth from the device's properties. The shapes cover both device
// schedules: b = 1 with 16 channels and a long L (time-chunked) and many channels (one pass).
// Times are medians of the op on device tensors, the wait for the stream included.
//   npm run bench -- cuda-scans [--quick]

import { ops, Rng, Tensor } from '../lib/index.js';
import { cudaBenchSetup } from './cuda-gemm.js';
import { pct, printTable, timeSync, writeResults } from './harness.js';

/** Decays of magnitude in [0.9, 0.999] (complex: random phases), so the scan neither explodes nor vanishes. */
function decays(size: number, seed: number): Tensor {
  const rng = new Rng(seed);
  const data = new Float32Array(size);
  for (let i = 0; i < size; i++) data[i] = (0.9 + 0.099 * rng.uniform()) * (rng.uniform() < 0.5 ? -1 : 1) / (i % 2 === 1 ? 10 : 1);
  return new Tensor(data, [size]);
}

export async function runCudaScansBench(args: string[]): Promise<void> {
  const setup = cudaBenchSetup(args);
  if (setup === null) return;
  const { quick, device, peak } = setup;
  const timing = { minRuns: 5, minSeconds: quick ? 0.2 : 1 };
  const rows: (string | number)[][] = [];
  const results: Record<string, unknown>[] = [];
  const record = (label: string, entry: Record<string, unknown>, bytes: number, seconds: number) => {
    const gbs = bytes / seconds / 1e9;
    rows.push([label, (seconds * 1e3).toFixed(3), `${gbs.toFixed(0)} GB/s`, pct(gbs / peak.bandwidthGBs)]);
    results.push({ ...entry, ms: seconds * 1e3, gbs });
  };

  const diagonalShapes: [number, number, number][] = quick
    ? [[1, 65536, 16], [8, 4096, 1024]]
    : [[1, 65536, 16], [1, 1 << 20, 4], [4, 16384, 256], [8, 4096, 1024], [1, 2048, 8192]];
  for (const complex of [false, true]) {
    for (const [batch, L, c] of diagonalShapes) {
      const width = complex ? 2 : 1;
      const shape = complex ? [batch, L, c, 2] : [batch, L, c];
      const a = await decays(batch * L * c * width, 1).reshape(shape).toDevice('cuda');
      const b = await Tensor.randn(shape, { seed: 2 }).toDevice('cuda');
      const initialState = await Tensor.randn(complex ? [batch, c, 2] : [batch, c], { seed: 3 }).toDevice('cuda');
      const t = timeSync(() => ops.diagonalScanSync({ a, b, initialState, complex }), timing);
      const bytes = 4 * width * (3 * batch * L * c + 2 * batch * c);
      record(`diagonalScan ${complex ? 'complex' : 'real'} b=${batch} L=${L} c=${c}`, { op: 'diagonalScan', complex, batch, L, c }, bytes, t.median);
    }
  }

  const blockShapes: [number, number, number, number][] = quick
    ? [[1, 65536, 16, 2], [8, 4096, 512, 2]]
    : [[1, 65536, 16, 2], [8, 4096, 512, 2], [4, 4096, 256, 4], [4, 1024, 64, 16], [1, 256, 8, 128]];
  for (const [batch, L, c, n] of blockShapes) {
    const blocks = Tensor.randn([c, n, n], { seed: 4, std: 0.5 / n });
    const a = await blocks.toDevice('cuda');
    const b = await Tensor.randn([batch, L, c, n], { seed: 5 }).toDevice('cuda');
    const initialState = await Tensor.randn([batch, c, n], { seed: 6 }).toDevice('cuda');
    const t = timeSync(() => ops.blockScanSync({ a, b, initialState }), timing);
    const bytes = 4 * (2 * batch * L * c * n + c * n * n + 2 * batch * c * n);
    record(`blockScan n=${n} b=${batch} L=${L} c=${c}`, { op: 'blockScan', n, batch, L, c }, bytes, t.median);
  }
  console.log(`device: ${device.name}; memory ${peak.bandwidthGBs.toFixed(0)} GB/s`);
  const table = printTable(['case', 'ms (median)', 'rate', '% of bandwidth'], rows);
  console.log(`\nwrote ${writeResults('cuda-scans', { device, peak, results, table })}`);
}
