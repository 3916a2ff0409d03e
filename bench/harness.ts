// Shared benchmark machinery: timing by medians, the machine's measured
// limits, tables, and JSON results under bench/results/.

import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpus } from 'node:os';
import { info, probe } from '../lib/index.js';

export const resultsDir = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'results');

export interface Timing {
  median: number; // seconds
  min: number;
  max: number;
  runs: number;
}

function summarise(samples: number[]): Timing {
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, min: sorted[0]!, max: sorted[sorted.length - 1]!, runs: sorted.length };
}

export interface TimeOptions {
  /** at least this many timed runs */
  minRuns?: number;
  /** and keep going until this much time was spent (seconds) */
  minSeconds?: number;
  /** but never more runs than this */
  maxRuns?: number;
  warmup?: number;
}

/** Times a synchronous function; returns the median and spread over the runs. */
export function timeSync(fn: () => void, options: TimeOptions = {}): Timing {
  const { minRuns = 7, minSeconds = 0.5, maxRuns = 200, warmup = 2 } = options;
  for (let i = 0; i < warmup; i++) fn();
  const samples: number[] = [];
  const start = performance.now();
  while (samples.length < minRuns || (performance.now() - start < minSeconds * 1000 && samples.length < maxRuns)) {
    const t0 = performance.now();
    fn();
    samples.push((performance.now() - t0) / 1000);
  }
  return summarise(samples);
}

/** Times an async function, one call at a time. */
export async function timeAsync(fn: () => Promise<unknown>, options: TimeOptions = {}): Promise<Timing> {
  const { minRuns = 7, minSeconds = 0.5, maxRuns = 200, warmup = 2 } = options;
  for (let i = 0; i < warmup; i++) await fn();
  const samples: number[] = [];
  const start = performance.now();
  while (samples.length < minRuns || (performance.now() - start < minSeconds * 1000 && samples.length < maxRuns)) {
    const t0 = performance.now();
    await fn();
    samples.push((performance.now() - t0) / 1000);
  }
  return summarise(samples);
}

/**
 * Times several async contestants by alternating one run of each, so a
 * machine whose speed drifts (shared hosts) treats them alike.
 */
export async function timeInterleaved(fns: (() => unknown)[], options: TimeOptions = {}): Promise<Timing[]> {
  const { minRuns = 7, minSeconds = 0.5, maxRuns = 200, warmup = 2 } = options;
  for (let i = 0; i < warmup; i++) for (const fn of fns) await fn();
  const samples: number[][] = fns.map(() => []);
  const start = performance.now();
  let runs = 0;
  while (runs < minRuns || (performance.now() - start < minSeconds * 1000 * fns.length && runs < maxRuns)) {
    for (let j = 0; j < fns.length; j++) {
      const t0 = performance.now();
      await fns[j]!();
      samples[j]!.push((performance.now() - t0) / 1000);
    }
    runs++;
  }
  return samples.map(summarise);
}

export interface MachineLimits {
  /** float32 FMA GFLOP/s by thread count */
  fmaGflops: Record<number, number>;
  /** STREAM triad GB/s by thread count */
  triadGBs: Record<number, number>;
  /** read-only streaming GB/s by thread count */
  readGBs: Record<number, number>;
}

/** Measures the machine's limits on 1 … `maxThreads` threads (best of a few runs each). */
export function measureLimits(threadCounts: number[]): MachineLimits {
  const limits: MachineLimits = { fmaGflops: {}, triadGBs: {}, readGBs: {} };
  for (const t of threadCounts) {
    const best = (kind: 'fma' | 'triad' | 'read') => Math.max(...[0, 1, 2, 3, 4].map(() => probe(kind, t, 512).rate));
    limits.fmaGflops[t] = best('fma');
    limits.triadGBs[t] = best('triad');
    limits.readGBs[t] = best('read');
  }
  return limits;
}

export function machineDescription(): Record<string, unknown> {
  const i = info();
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    logicalCpus: i.logicalCpus,
    physicalCores: i.physicalCores,
    isa: i.isa,
    node: process.version,
    crossroad: i.version,
    build: i.build,
  };
}

export function writeResults(name: string, payload: unknown): string {
  mkdirSync(resultsDir, { recursive: true });
  const path = join(resultsDir, `${name}.json`);
  writeFileSync(path, `${JSON.stringify(payload, null, 2)}\n`);
  return path;
}

/** Prints rows as an aligned text table (also usable as Markdown). */
export function printTable(headers: string[], rows: (string | number)[][]): string {
  const cells = rows.map((r) => r.map((c) => (typeof c === 'number' ? formatNumber(c) : c)));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => String(r[i] ?? '').length)));
  const line = (r: string[]) => `| ${r.map((c, i) => String(c).padStart(widths[i]!)).join(' | ')} |`;
  const out = [line(headers), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...cells.map((r) => line(r.map(String)))].join('\n');
  console.log(out);
  return out;
}

export function formatNumber(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  if (a >= 100) return x.toFixed(0);
  if (a >= 10) return x.toFixed(1);
  if (a >= 1) return x.toFixed(2);
  return x.toPrecision(2);
}

export function pct(x: number): string {
  return `${(100 * x).toFixed(0)}%`;
}
