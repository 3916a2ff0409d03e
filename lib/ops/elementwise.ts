// elementwise: fused pointwise math written as an expression over named
// inputs, e.g. `ops.elementwise({ expr: 'x * sigmoid(g) + b', inputs: { x, g, b } })`.
// The expression is compiled once (cached by text and input names) to postfix
// bytecode for the native stack machine (native/cpu/elementwise.cc).
//
// Inputs broadcast by repetition: each input's shape must be a trailing part
// of the output's shape (e.g. [d] against [b, L, d]) or a single element; the
// output takes the shape of the largest input.

import { Tensor } from '../tensor.js';
import { checkArgs, describe, expectDType, expectTensor, shapeString } from '../validate.js';
import { defineOp } from './registry.js';

export interface ElementwiseArgs {
  /** e.g. 'silu(x) * y', 'exp(-softplus(a) * dt)', 'max(x, 0)' */
  expr: string;
  inputs: Record<string, Tensor>;
  out?: { y?: Tensor };
}

// Must match cr::cpu::EwOp in native/cpu/kernels.h.
const OP = {
  input: 0, const: 1, neg: 2, add: 3, sub: 4, mul: 5, div: 6, exp: 7, log: 8, sigmoid: 9, silu: 10, tanh: 11,
  softplus: 12, relu: 13, gelu: 14, gelu_tanh: 15, sqrt: 16, rsqrt: 17, abs: 18, min: 19, max: 20, square: 21,
  recip: 22, logsigmoid: 23, cos: 24, sin: 25,
} as const;

const UNARY = ['exp', 'log', 'sigmoid', 'silu', 'tanh', 'softplus', 'relu', 'gelu', 'gelu_tanh', 'sqrt', 'rsqrt', 'abs', 'square', 'recip', 'logsigmoid', 'cos', 'sin'] as const;
const BINARY = ['min', 'max'] as const;
export const ELEMENTWISE_FUNCTIONS: readonly string[] = [...UNARY, ...BINARY];
const MAX_INPUTS = 8;
const MAX_STACK = 8;

interface Compiled {
  program: Tensor;
  constants: Tensor;
  /** input names in the order the program numbers them */
  names: string[];
  /** program and constants on the cuda device, uploaded on the first device call, with the same program as text
   * (int32 pairs; the constants as float32 bit patterns) for the CUDA op to check and pass to its kernel by value */
  onDevice?: { program: Tensor; constants: Tensor; programCode: string; constantBits: string };
}

type Token = { kind: 'num'; value: number } | { kind: 'id'; name: string } | { kind: 'sym'; text: string };

function tokenize(expr: string): Token[] {
  const tokens: Token[] = [];
  const re = /\s*(?:(\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)|([A-Za-z_][A-Za-z0-9_]*)|([-+*/(),]))/y;
  let pos = 0;
  while (pos < expr.length) {
    if (/^\s*$/.test(expr.slice(pos))) break;
    re.lastIndex = pos;
    const m = re.exec(expr);
    if (!m) throw new RangeError(`elementwise: cannot read expr at position ${pos}: ${JSON.stringify(expr.slice(pos, pos + 12))}`);
    if (m[1] !== undefined) tokens.push({ kind: 'num', value: Number(m[1]) });
    else if (m[2] !== undefined) tokens.push({ kind: 'id', name: m[2] });
    else tokens.push({ kind: 'sym', text: m[3]! });
    pos = re.lastIndex;
  }
  return tokens;
}

/** Recursive-descent compiler: expr := term (±term)*, term := unary (×/÷ unary)*, unary := −unary | primary. */
function compile(expr: string, inputNames: readonly string[]): Compiled {
  const tokens = tokenize(expr);
  let i = 0;
  const code: number[] = [];
  const constants: number[] = [];
  const used: string[] = [];
  let depth = 0;
  let maxDepth = 0;
  const emit = (op: number, arg = 0, delta = 0) => {
    code.push(op, arg);
    depth += delta;
    maxDepth = Math.max(maxDepth, depth);
  };
  const peek = () => tokens[i];
  const expectSym = (text: string) => {
    const t = tokens[i];
    if (!t || t.kind !== 'sym' || t.text !== text) throw new RangeError(`elementwise: expected '${text}' in ${JSON.stringify(expr)}`);
    i++;
  };

  const primary = (): void => {
    const t = tokens[i++];
    if (!t) throw new RangeError(`elementwise: expression ${JSON.stringify(expr)} ends too early`);
    if (t.kind === 'num') {
      constants.push(t.value);
      emit(OP.const, constants.length - 1, +1);
      return;
    }
    if (t.kind === 'sym' && t.text === '(') {
      sum();
      expectSym(')');
      return;
    }
    if (t.kind === 'id') {
      const next = peek();
      if (next && next.kind === 'sym' && next.text === '(') {
        i++;
        if ((UNARY as readonly string[]).includes(t.name)) {
          sum();
          expectSym(')');
          emit(OP[t.name as (typeof UNARY)[number]]);
          return;
        }
        if ((BINARY as readonly string[]).includes(t.name)) {
          sum();
          expectSym(',');
          sum();
          expectSym(')');
          emit(OP[t.name as (typeof BINARY)[number]], 0, -1);
          return;
        }
        throw new RangeError(`elementwise: unknown function '${t.name}' (known: ${ELEMENTWISE_FUNCTIONS.join(', ')})`);
      }
      if (!inputNames.includes(t.name)) {
        throw new RangeError(`elementwise: expr uses '${t.name}', which is not among the inputs (${inputNames.join(', ') || 'none'})`);
      }
      let index = used.indexOf(t.name);
      if (index < 0) {
        used.push(t.name);
        index = used.length - 1;
      }
      emit(OP.input, index, +1);
      return;
    }
    throw new RangeError(`elementwise: unexpected '${t.text}' in ${JSON.stringify(expr)}`);
  };
  const unary = (): void => {
    const t = peek();
    if (t && t.kind === 'sym' && t.text === '-') {
      i++;
      unary();
      emit(OP.neg);
      return;
    }
    if (t && t.kind === 'sym' && t.text === '+') {
      i++;
      unary();
      return;
    }
    primary();
  };
  const term = (): void => {
    unary();
    for (let t = peek(); t && t.kind === 'sym' && (t.text === '*' || t.text === '/'); t = peek()) {
      i++;
      unary();
      emit(t.text === '*' ? OP.mul : OP.div, 0, -1);
    }
  };
  const sum = (): void => {
    term();
    for (let t = peek(); t && t.kind === 'sym' && (t.text === '+' || t.text === '-'); t = peek()) {
      i++;
      term();
      emit(t.text === '+' ? OP.add : OP.sub, 0, -1);
    }
  };

  if (tokens.length === 0) throw new RangeError('elementwise: expr is empty');
  sum();
  if (i !== tokens.length) throw new RangeError(`elementwise: unexpected text after position ${i} in ${JSON.stringify(expr)}`);
  if (maxDepth > MAX_STACK) throw new RangeError(`elementwise: expr nests too deeply (needs ${maxDepth} stack slots, at most ${MAX_STACK})`);
  if (used.length === 0) throw new RangeError('elementwise: expr uses no input');
  return {
    program: new Tensor(Int32Array.from(code), [code.length]),
    constants: new Tensor(Float32Array.from(constants.length ? constants : [0]), [Math.max(1, constants.length)]),
    names: used,
  };
}

const cache = new Map<string, Compiled>();

function compiled(expr: string, inputNames: readonly string[]): Compiled {
  const key = `${expr}\u0000${inputNames.join(',')}`;
  let hit = cache.get(key);
  if (!hit) {
    hit = compile(expr, inputNames);
    if (cache.size > 1024) cache.clear();
    cache.set(key, hit);
  }
  return hit;
}

export const elementwise = defineOp<ElementwiseArgs, { y: Tensor }>({
  name: 'elementwise',
  prepare(args, output) {
    const op = 'elementwise';
    checkArgs(op, args, ['expr', 'inputs']);
    if (typeof args.expr !== 'string') throw new TypeError(`${op}: expr must be a string, got ${describe(args.expr)}`);
    if (typeof args.inputs !== 'object' || args.inputs === null || args.inputs instanceof Tensor) {
      throw new TypeError(`${op}: inputs must be an object of named tensors, got ${describe(args.inputs)}`);
    }
    const names = Object.keys(args.inputs).filter((n) => args.inputs[n] !== undefined);
    for (const n of names) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(n) || ELEMENTWISE_FUNCTIONS.includes(n)) {
        throw new RangeError(`${op}: input name '${n}' must be an identifier that is not a function name`);
      }
    }
    const program = compiled(args.expr, names);
    if (program.names.length > MAX_INPUTS) throw new RangeError(`${op}: at most ${MAX_INPUTS} inputs, expr uses ${program.names.length}`);
    const inputs = program.names.map((n) => {
      const t = expectTensor(op, `inputs.${n}`, args.inputs[n]);
      expectDType(op, `inputs.${n}`, t, ['float32']);
      if (t.size === 0) throw new RangeError(`${op}: inputs.${n} is empty (shape ${shapeString(t.shape)})`);
      return t;
    });
    // The output takes the largest input's shape; every other input must be a trailing part of it.
    // Among equally large inputs the highest rank wins: [L, c] against [1, L, c] gives [1, L, c].
    const largest = inputs.reduce((a, b) => (b.size > a.size || (b.size === a.size && b.rank > a.rank) ? b : a));
    const outShape = largest.shape;
    program.names.forEach((n, k) => {
      const t = inputs[k]!;
      if (t.size === 1) return;
      const dims = [...t.shape];
      while (dims.length > 1 && dims[0] === 1) dims.shift();
      const tail = outShape.slice(outShape.length - dims.length);
      if (dims.length > outShape.length || dims.some((d, j) => d !== tail[j])) {
        throw new RangeError(
          `${op}: inputs.${n} ${shapeString(t.shape)} must match the trailing dimensions of ${shapeString(outShape)} (or hold one element)`,
        );
      }
    });
    const y = output('y', outShape);
    // A device call takes every tensor from the device; the program is tiny and cached with its
    // compiled form, so it is uploaded once (the CUDA op re-checks a host copy of it).
    // On the device the CUDA op reads the program from its text (no read-back, so an op inside a batch does not
    // wait for the stream); the device tensors keep the call's placement and serve programs too long to inline.
    let code: { program: Tensor; constants: Tensor; programCode?: string; constantBits?: string } = program;
    if (y.device === 'cuda') {
      program.onDevice ??= {
        program: program.program.toDeviceSync('cuda'),
        constants: program.constants.toDeviceSync('cuda'),
        programCode: Array.from(program.program.data as Int32Array).join(','),
        constantBits: Array.from(new Int32Array((program.constants.data as Float32Array).slice().buffer)).join(','),
      };
      code = program.onDevice;
    }
    const tensors: Record<string, Tensor> = { program: code.program, constants: code.constants, y };
    inputs.forEach((t, k) => (tensors[`in${k}`] = t));
    return { tensors, attrs: { programCode: code.programCode, constantBits: code.constantBits }, result: { y } };
  },
});
