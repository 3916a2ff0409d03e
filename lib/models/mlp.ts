// The position-wise part of a block: a GELU MLP (fc1 → gelu → fc2), a SwiGLU
// MLP (down(silu(gate·x) ⊙ up·x), Llama's), GeGLU (gelu_tanh gate, RecurrentGemma's; exact-GELU gate, Zamba's), or a sparse mixture of SwiGLU
// experts chosen per token by a router (Mixtral, Jamba).

import type { OpRunner } from '../ops/index.js';
import type { Tensor } from '../tensor.js';
import type { Init } from '../layers/init.js';
import type { MlpKind } from './config.js';

export function initMlp(kind: MlpKind, d: number, hidden: number, experts: number, init: Init, bias = false): Record<string, Tensor> {
  switch (kind) {
    case 'none':
      return {};
    case 'gelu':
      return {
        'fc1.weight': init.linear(hidden, d),
        'fc1.bias': init.linearBias(hidden, d),
        'fc2.weight': init.linear(d, hidden),
        'fc2.bias': init.linearBias(d, hidden),
      };
    case 'swiglu':
    case 'geglu':
    case 'geglu-exact': {
      const p: Record<string, Tensor> = { 'gate_proj.weight': init.linear(hidden, d), 'up_proj.weight': init.linear(hidden, d), 'down_proj.weight': init.linear(d, hidden) };
      if (bias) {
        p['gate_proj.bias'] = init.linearBias(hidden, d);
        p['up_proj.bias'] = init.linearBias(hidden, d);
        p['down_proj.bias'] = init.linearBias(d, hidden);
      }
      return p;
    }
    case 'moe':
      return {
        'router.weight': init.linear(experts, d),
        'experts.gate_proj': init.linear(experts * hidden, d).reshape([experts, hidden, d]),
        'experts.up_proj': init.linear(experts * hidden, d).reshape([experts, hidden, d]),
        'experts.down_proj': init.linear(experts * d, hidden).reshape([experts, d, hidden]),
      };
  }
}

export function runMlp(run: OpRunner, kind: MlpKind, p: Record<string, Tensor>, x: Tensor, topK: number): Tensor {
  switch (kind) {
    case 'none':
      return x;
    case 'gelu': {
      const h = run.linear({ x, weight: p['fc1.weight']!, bias: p['fc1.bias'] }).y;
      const a = run.elementwise({ expr: 'gelu(h)', inputs: { h } }).y;
      return run.linear({ x: a, weight: p['fc2.weight']!, bias: p['fc2.bias'] }).y;
    }
    case 'swiglu':
    case 'geglu':
    case 'geglu-exact': {
      const g = run.linear({ x, weight: p['gate_proj.weight']!, bias: p['gate_proj.bias'] }).y;
      const u = run.linear({ x, weight: p['up_proj.weight']!, bias: p['up_proj.bias'] }).y;
      const h = run.elementwise({ expr: kind === 'swiglu' ? 'silu(g) * u' : kind === 'geglu' ? 'gelu_tanh(g) * u' : 'gelu(g) * u', inputs: { g, u } }).y;
      return run.linear({ x: h, weight: p['down_proj.weight']!, bias: p['down_proj.bias'] }).y;
    }
    case 'moe': {
      const d = x.shape[x.rank - 1]!;
      const tokens = x.reshape([-1, d]);
      const { y } = run.moe({ x: tokens, router: p['router.weight']!, gate: p['experts.gate_proj']!, up: p['experts.up_proj']!, down: p['experts.down_proj']!, topK });
      return y.reshape(x.shape);
    }
  }
}
