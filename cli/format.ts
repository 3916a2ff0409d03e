// Terminal output helpers for the command line: aligned tables, numbers, a
// progress bar on terminals (cli-progress) and plain lines elsewhere.

import cliProgress from 'cli-progress';

/** Raised for user errors: printed as one line, exit code 2, no stack trace. */
export class CliError extends Error {}

export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  return [line(headers), `|${widths.map((w, i) => (i === 0 ? ':' : '-') + '-'.repeat(w) + (i === 0 ? '-' : ':')).join('|')}|`, ...rows.map(line)].join('\n');
}

export function rate(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (x >= 1000) return `${Math.round(x).toLocaleString('en-US')}`;
  if (x >= 10) return x.toFixed(0);
  return x.toFixed(2);
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 2 ** 20) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 2 ** 30) return `${(n / 2 ** 20).toFixed(1)} MiB`;
  return `${(n / 2 ** 30).toFixed(2)} GiB`;
}

export interface Progress {
  tick(label: string): void;
  stop(): void;
}

/** A progress bar on a terminal; one plain line per step otherwise (CI logs, pipes). */
export function progress(total: number, title: string): Progress {
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      { format: `${title} [{bar}] {value}/{total} {label}`, stream: process.stderr, hideCursor: true, clearOnComplete: true },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0, { label: '' });
    return { tick: (label) => bar.increment(1, { label }), stop: () => bar.stop() };
  }
  let done = 0;
  return { tick: (label) => process.stderr.write(`${title} ${++done}/${total} ${label}\n`), stop: () => {} };
}

export function positiveInt(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new CliError(`${flag} must be a positive integer, got '${value}'`);
  return n;
}

export function intList(flag: string, value: string | undefined, fallback: number[]): number[] {
  if (value === undefined) return fallback;
  return value.split(',').map((v) => positiveInt(flag, v.trim(), 0));
}

/** Median wall time of `runs` calls, in seconds. */
export function median(fn: () => void, runs: number): number {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    fn();
    times.push((performance.now() - t0) / 1000);
  }
  times.sort((a, b) => a - b);
  return times[runs >> 1]!;
}
