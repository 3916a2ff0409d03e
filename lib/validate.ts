// Argument checks shared by every op and layer. Messages follow one pattern:
// "<op>: <argument> must <expectation>, got <what came>".

import { Tensor } from './tensor.js';
import type { DType } from './dtype.js';

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return `an Array of length ${value.length}`;
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name} of length ${(value as unknown as { length: number }).length}`;
  if (typeof value === 'object') return `an object (${(value as object).constructor?.name ?? 'Object'})`;
  if (typeof value === 'string') return `the string ${JSON.stringify(value)}`;
  return `${typeof value} ${String(value)}`;
}

export function shapeString(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/**
 * Rejects anything but a plain object of arguments, and names unknown keys
 * (typos). `out` (caller-provided outputs) is allowed everywhere.
 */
export function checkArgs(op: string, args: unknown, allowed: readonly string[]): Record<string, unknown> {
  if (typeof args !== 'object' || args === null || Array.isArray(args) || ArrayBuffer.isView(args) || args instanceof Tensor) {
    throw new TypeError(`${op}: expected one arguments object { ${allowed.join(', ')} }, got ${describe(args)}`);
  }
  for (const key of Object.keys(args)) {
    if (key !== 'out' && !allowed.includes(key) && (args as Record<string, unknown>)[key] !== undefined) {
      throw new TypeError(`${op}: unknown argument '${key}' (expected some of: ${allowed.join(', ')})`);
    }
  }
  return args as Record<string, unknown>;
}

export function expectTensor(op: string, name: string, value: unknown): Tensor {
  if (value instanceof Tensor) return value;
  if (ArrayBuffer.isView(value) || Array.isArray(value)) {
    throw new TypeError(`${op}: ${name} must be a Tensor, got ${describe(value)} (wrap it: new Tensor(data, shape))`);
  }
  throw new TypeError(`${op}: ${name} must be a Tensor, got ${describe(value)}`);
}

export function optionalTensor(op: string, name: string, value: unknown): Tensor | undefined {
  return value === undefined || value === null ? undefined : expectTensor(op, name, value);
}

export function expectDType(op: string, name: string, t: Tensor, allowed: readonly DType[]): void {
  if (!allowed.includes(t.dtype)) {
    throw new TypeError(`${op}: ${name} must be ${allowed.join(' or ')}, got ${t.dtype}`);
  }
}

export function expectRank(op: string, name: string, t: Tensor, rank: number, layout?: string): void {
  if (t.shape.length !== rank) {
    throw new RangeError(`${op}: ${name} must have rank ${rank}${layout ? ` (${layout})` : ''}, got shape ${shapeString(t.shape)}`);
  }
}

export function expectMinRank(op: string, name: string, t: Tensor, rank: number, layout?: string): void {
  if (t.shape.length < rank) {
    throw new RangeError(`${op}: ${name} must have rank ≥ ${rank}${layout ? ` (${layout})` : ''}, got shape ${shapeString(t.shape)}`);
  }
}

/** Every dimension ≥ 1: ops take no empty tensors. */
export function expectNonEmpty(op: string, name: string, t: Tensor): void {
  const i = t.shape.findIndex((d) => d === 0);
  if (i >= 0) {
    throw new RangeError(`${op}: ${name} has an empty dimension ${i} (shape ${shapeString(t.shape)}); every dimension must be ≥ 1`);
  }
}

/** Exact shape; `null` entries match anything. Names the expected layout in the message. */
export function expectShape(op: string, name: string, t: Tensor, shape: readonly (number | null)[], layout?: string): void {
  const ok = t.shape.length === shape.length && shape.every((d, i) => d === null || d === t.shape[i]);
  if (!ok) {
    const want = `[${shape.map((d) => (d === null ? '*' : String(d))).join(', ')}]`;
    throw new RangeError(`${op}: ${name} must have shape ${want}${layout ? ` (${layout})` : ''}, got ${shapeString(t.shape)}`);
  }
}

export function optionalBoolean(op: string, name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new TypeError(`${op}: ${name} must be a boolean, got ${describe(value)}`);
  return value;
}

export function optionalNumber(
  op: string,
  name: string,
  value: unknown,
  fallback: number,
  range: { min?: number; max?: number; integer?: boolean; exclusiveMin?: boolean } = {},
): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || Number.isNaN(value)) throw new TypeError(`${op}: ${name} must be a number, got ${describe(value)}`);
  if (range.integer && !Number.isInteger(value)) throw new RangeError(`${op}: ${name} must be an integer, got ${value}`);
  if (range.min !== undefined && (range.exclusiveMin ? value <= range.min : value < range.min)) {
    throw new RangeError(`${op}: ${name} must be ${range.exclusiveMin ? '>' : '≥'} ${range.min}, got ${value}`);
  }
  if (range.max !== undefined && value > range.max) throw new RangeError(`${op}: ${name} must be ≤ ${range.max}, got ${value}`);
  return value;
}

export function optionalString<T extends string>(op: string, name: string, value: unknown, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new RangeError(`${op}: ${name} must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${describe(value)}`);
  }
  return value as T;
}
