// The op table: every op once, exposed as ops.NAME (Promise) and ops.NAMESync.

import type { Op } from './registry.js';
import { linear, matmul } from './matmul.js';

const table = {
  matmul,
  linear,
};

type Table = typeof table;
type ArgsOf<T> = T extends Op<infer A, unknown> ? A : never;
type ResultOf<T> = T extends Op<unknown, infer R> ? R : never;

export type Ops = { [K in keyof Table]: (args: ArgsOf<Table[K]>) => Promise<ResultOf<Table[K]>> } & {
  [K in keyof Table as `${K}Sync`]: (args: ArgsOf<Table[K]>) => ResultOf<Table[K]>;
};

function build(): Ops {
  const out: Record<string, unknown> = {};
  for (const [name, op] of Object.entries(table) as [string, Op<unknown, unknown>][]) {
    out[name] = (args: unknown) => op.run(args);
    out[`${name}Sync`] = (args: unknown) => op.runSync(args);
  }
  return Object.freeze(out) as Ops;
}

export const ops: Ops = build();
/** Names of the ops in the table (each also has a `Sync` form). */
export const opNames: readonly string[] = Object.freeze(Object.keys(table));

export type { MatmulArgs, LinearArgs } from './matmul.js';
