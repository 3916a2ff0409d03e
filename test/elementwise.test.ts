// elementwise (native/cpu/elementwise.cc, lib/ops/elementwise.ts) against
// float64 evaluations of the same formulas, on every ISA.

import test from 'ava';
import { ops, Tensor } from '../lib/index.js';
import { UNARY_REFERENCE, sigmoid, softplus } from './reference/elementwise.js';
import { forEachIsa, relError, sameBytes, snapshot } from './helpers.js';

// Inputs in each function's domain, spread wide enough to hit every branch
// (tanh's polynomial and exponential halves, softplus's tails, sincos quadrants).
function domainInput(fn: string, n: number, seed: number): Tensor {
  const t = Tensor.rand([n], { seed, low: -12, high: 12 });
  const d = t.data as Float32Array;
  if (fn === 'log' || fn === 'sqrt' || fn === 'rsqrt' || fn === 'recip') for (let i = 0; i < n; i++) d[i] = Math.abs(d[i]!) * 50 + 1e-3;
  if (fn === 'exp') for (let i = 0; i < n; i++) d[i] = d[i]! * 7;
  if (fn === 'cos' || fn === 'sin') for (let i = 0; i < n; i++) d[i] = d[i]! * 40;
  return t;
}

for (const fn of Object.keys(UNARY_REFERENCE)) {
  test(`elementwise ${fn}(x) matches float64 on every ISA`, (t) => {
    for (const n of [1, 7, 33, 1000, 4097]) {
      const x = domainInput(fn, n, n);
      const ref = Array.from(x.data as Float32Array, UNARY_REFERENCE[fn]!);
      forEachIsa((isa) => {
        const { y } = ops.elementwiseSync({ expr: `${fn}(x)`, inputs: { x } });
        const err = relError(y.data as Float32Array, ref);
        t.true(err < 2e-6, `${isa} n=${n}: relative error ${err}`);
      });
    }
  });
}

test('small arguments keep relative accuracy (tanh, softplus tail, logsigmoid tail)', (t) => {
  const x = Tensor.from([1e-6, -3e-5, 2e-3, -0.1]);
  forEachIsa((isa) => {
    const tanh = ops.elementwiseSync({ expr: 'tanh(x)', inputs: { x } }).y.data as Float32Array;
    for (let i = 0; i < 4; i++) t.true(Math.abs(tanh[i]! / Math.tanh(x.data[i] as number) - 1) < 1e-6, `${isa} tanh`);
    const neg = Tensor.from([-30, -50, -80]);
    const sp = ops.elementwiseSync({ expr: 'softplus(x)', inputs: { x: neg } }).y.data as Float32Array;
    for (let i = 0; i < 3; i++) t.true(Math.abs(sp[i]! / softplus(neg.data[i] as number) - 1) < 1e-5, `${isa} softplus ${sp[i]}`);
  });
});

test('expressions with broadcasting, constants, precedence and binary functions', (t) => {
  const x = Tensor.randn([3, 5, 7], { seed: 1 });
  const w = Tensor.randn([7], { seed: 2 });
  const m = Tensor.randn([5, 7], { seed: 3 });
  const s = Tensor.from([0.25], [1]);
  const xs = x.data as Float32Array;
  const ref = Array.from(xs, (v, i) => {
    const wi = w.data[i % 7] as number;
    const mi = m.data[i % 35] as number;
    return (-v * sigmoid(wi) + 2.5e-1 / (1 + mi * mi)) * (s.data[0] as number) - Math.max(v, mi) + Math.min(wi, 0.5);
  });
  forEachIsa((isa) => {
    const { y } = ops.elementwiseSync({ expr: '(-x * sigmoid(w) + 2.5e-1 / (1 + m * m)) * s - max(x, m) + min(w, .5)', inputs: { x, w, m, s } });
    t.deepEqual(y.shape, [3, 5, 7]);
    t.true(relError(y.data as Float32Array, ref) < 1e-6, isa);
  });
});

test('unused inputs are ignored; the output takes the largest input\'s shape', (t) => {
  const a = Tensor.randn([4], { seed: 1 });
  const b = Tensor.randn([2, 4], { seed: 2 });
  const { y } = ops.elementwiseSync({ expr: 'a + b', inputs: { a, b, unused: Tensor.zeros([9]) } });
  t.deepEqual(y.shape, [2, 4]);
  t.true(relError(y.data as Float32Array, Array.from(b.data as Float32Array, (v, i) => v + (a.data[i % 4] as number))) < 1e-7);
});

test('among equally large inputs the output takes the highest rank, whatever the input order', (t) => {
  const a = Tensor.randn([5, 3], { seed: 1 });
  const b = Tensor.randn([1, 5, 3], { seed: 2 });
  for (const inputs of [{ a, b }, { b, a }]) {
    const { y } = ops.elementwiseSync({ expr: 'a + b', inputs });
    t.deepEqual(y.shape, [1, 5, 3]);
  }
});

test('elementwise rejects bad expressions and inputs clearly', (t) => {
  const x = Tensor.randn([2, 3], { seed: 1 });
  const before = snapshot(x);
  t.throws(() => ops.elementwiseSync({ expr: 'foo(x)', inputs: { x } }), { instanceOf: RangeError, message: /unknown function 'foo'/ });
  t.throws(() => ops.elementwiseSync({ expr: 'x + y', inputs: { x } }), { instanceOf: RangeError, message: /uses 'y', which is not among the inputs \(x\)/ });
  t.throws(() => ops.elementwiseSync({ expr: 'x +', inputs: { x } }), { instanceOf: RangeError, message: /ends too early/ });
  t.throws(() => ops.elementwiseSync({ expr: 'x ) ', inputs: { x } }), { instanceOf: RangeError, message: /unexpected text/ });
  t.throws(() => ops.elementwiseSync({ expr: 'x $ 2', inputs: { x } }), { instanceOf: RangeError, message: /cannot read expr/ });
  t.throws(() => ops.elementwiseSync({ expr: '2 + 3', inputs: { x } }), { instanceOf: RangeError, message: /uses no input/ });
  t.throws(() => ops.elementwiseSync({ expr: 'x*(x*(x*(x*(x*(x*(x*(x*(x+x))))))))', inputs: { x } }), { instanceOf: RangeError, message: /nests too deeply/ });
  t.throws(() => ops.elementwiseSync({ expr: 'x + y', inputs: { x, y: Tensor.zeros([2]) } }), { instanceOf: RangeError, message: /inputs\.y \[2\] must match the trailing dimensions of \[2, 3\]/ });
  t.throws(() => ops.elementwiseSync({ expr: 'x', inputs: { x: x.toBFloat16() } }), { instanceOf: TypeError, message: /inputs\.x must be float32, got bfloat16/ });
  t.throws(() => ops.elementwiseSync({ expr: 3 as never, inputs: { x } }), { instanceOf: TypeError, message: /expr must be a string/ });
  t.throws(() => ops.elementwiseSync({ expr: 'x', inputs: x as never }), { instanceOf: TypeError, message: /inputs must be an object/ });
  t.throws(() => ops.elementwiseSync({ expr: 'exp', inputs: { exp: x } }), { instanceOf: RangeError, message: /input name 'exp'/ });
  t.true(sameBytes(x, before));
});

test('the native op re-checks a hand-made program', async (t) => {
  const { native } = await import('../lib/native.js');
  const y = Tensor.zeros([4]);
  const in0 = Tensor.randn([4], { seed: 1 });
  const program = (codes: number[]) => new Tensor(Int32Array.from(codes), [codes.length]);
  const constants = Tensor.from([1]);
  t.throws(() => native.runSync('elementwise', { in0, y, constants, program: program([0, 5]) }, {}), { instanceOf: RangeError, message: /reads input 5 of 1/ });
  t.throws(() => native.runSync('elementwise', { in0, y, constants, program: program([0, 0, 3, 0]) }, {}), { instanceOf: RangeError, message: /stack underflow/ });
  t.throws(() => native.runSync('elementwise', { in0, y, constants, program: program([0, 0, 0, 0]) }, {}), { instanceOf: RangeError, message: /leaves 2 values/ });
  t.throws(() => native.runSync('elementwise', { in0, y, constants, program: program([99, 0]) }, {}), { instanceOf: RangeError, message: /unknown opcode 99/ });
  t.throws(() => native.runSync('elementwise', { in0: Tensor.zeros([3]), y, constants, program: program([0, 0]) }, {}), { instanceOf: RangeError, message: /does not divide/ });
});

test('elementwise async form', async (t) => {
  const x = Tensor.randn([100], { seed: 4 });
  const { y } = await ops.elementwise({ expr: 'x * 2', inputs: { x } });
  t.is(y.data[5], (x.data[5] as number) * 2);
});
