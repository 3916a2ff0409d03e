// Float64 Zamba forward from Hugging Face tensor names (ZambaForCausalLM, modeling_zamba.py):
// x = embeddings e; per layer, a Mamba layer is x += mamba(rmsnorm(x)); a hybrid layer first runs the shared
// transformer t = mlp(rmsnorm(attn(rmsnorm(concat(x, e))))) (attention over 2·d without positions, scores
// scaled by 1/√(head_dim/2); mlp = down(gelu(gate) ⊙ up), exact GELU), then x += mamba(rmsnorm(x + linear(t)))
// → final rmsnorm → head. The Mamba here is written from HF's slow_forward (interleaved in_proj rows, per-head
// x_proj/dt_proj/B/C), not from our mixer's layout. No PyTorch here: our reference of the published architecture.

import type { Tensor } from '../../../lib/tensor.js';
import type { Mixer } from '../../../lib/layers/mixer.js';
import { attentionReference } from '../layers/attention.js';
import { causalConv, erf, linear, rmsNorm, silu, softplus } from '../layers/common.js';
import { embed, tensorGetter } from './common.js';

export interface ZambaRefConfig {
  hidden: number;
  vocab: number;
  eps: number;
  blockTypes: string[];
  heads: number;
  kvHeads: number;
  ffn: number;
  mambaHeads: number;
  dState: number;
  dConv: number;
  expand: number;
  dtRank: number;
  tied: boolean;
}

const gelu = (v: number) => 0.5 * v * (1 + erf(v / Math.SQRT2));

export function zambaReference(c: ZambaRefConfig, tensors: Map<string, Tensor>, tokens: number[][]): Float64Array {
  const get = tensorGetter('zambaReference', tensors);
  const d = c.hidden;
  const batch = tokens.length;
  const L = tokens[0]!.length;
  const rows = batch * L;
  const emb = get('model.embed_tokens.weight');
  const e = embed(emb, d, tokens);
  let x = Float64Array.from(e);
  const [dI, N, R, H] = [c.expand * d, c.dState, c.dtRank, c.mambaHeads];
  const Ih = dI / H;

  const mamba = (u: Float64Array, p: string): Float64Array => {
    const proj = linear(u, rows, d, get(`${p}in_proj.weight`), 2 * dI);
    const xs = new Float64Array(rows * dI);
    const gate = new Float64Array(rows * dI);
    for (let r = 0; r < rows; r++) {
      for (let k = 0; k < dI; k++) {
        xs[r * dI + k] = proj[r * 2 * dI + 2 * k]!;
        gate[r * dI + k] = proj[r * 2 * dI + 2 * k + 1]!;
      }
    }
    const conv = causalConv(xs, batch, L, dI, get(`${p}conv1d.weight`), c.dConv, get(`${p}conv1d.bias`)).map(silu);
    const [xW, dtW, dtB, aLog, D] = ['x_proj_weight', 'dt_proj_weight', 'dt_proj_bias', 'A_log', 'D'].map((n) => get(`${p}${n}`)) as Float64Array[];
    const y = new Float64Array(rows * dI);
    for (let b = 0; b < batch; b++) {
      const h = new Float64Array(dI * N);
      for (let t = 0; t < L; t++) {
        const r = b * L + t;
        for (let g = 0; g < H; g++) {
          const xh = conv.subarray(r * dI + g * Ih, r * dI + (g + 1) * Ih);
          const ssm = linear(xh, 1, Ih, xW.subarray(g * (R + 2 * N) * Ih, (g + 1) * (R + 2 * N) * Ih), R + 2 * N);
          const dt = linear(ssm.subarray(0, R), 1, R, dtW.subarray(g * Ih * R, (g + 1) * Ih * R), Ih, dtB.subarray(g * Ih, (g + 1) * Ih));
          for (let ch = 0; ch < Ih; ch++) {
            const cc = g * Ih + ch;
            const delta = softplus(dt[ch]!);
            let out = D[cc]! * xh[ch]!;
            for (let j = 0; j < N; j++) {
              h[cc * N + j] = Math.exp(-Math.exp(aLog[cc * N + j]!) * delta) * h[cc * N + j]! + delta * ssm[R + j]! * xh[ch]!;
              out += ssm[R + N + j]! * h[cc * N + j]!;
            }
            y[r * dI + cc] = out * silu(gate[r * dI + cc]!);
          }
        }
      }
    }
    return linear(y, rows, dI, get(`${p}out_proj.weight`), d);
  };

  c.blockTypes.forEach((type, i) => {
    const p = `model.layers.${i}.`;
    let u = x;
    let prefix = p;
    if (type === 'hybrid') {
      const s = `${p}shared_transf.`;
      const cat = new Float64Array(rows * 2 * d);
      for (let r = 0; r < rows; r++) {
        cat.set(x.subarray(r * d, (r + 1) * d), r * 2 * d);
        cat.set(e.subarray(r * d, (r + 1) * d), r * 2 * d + d);
      }
      const parameters: Record<string, Tensor> = {};
      for (const n of ['q_proj', 'k_proj', 'v_proj', 'o_proj']) parameters[`${n}.weight`] = tensors.get(`${s}self_attn.${n}.weight`)!;
      const D = (2 * d) / c.heads;
      const config = { dModel: 2 * d, heads: c.heads, kvHeads: c.kvHeads, headDim: D, window: 0, softcap: 0, ropeBase: 10000, ropeFraction: 0, dOut: d, scale: 1 / Math.sqrt(D / 2) };
      const fake = { kind: 'attention', dModel: 2 * d, config, parameters } as unknown as Mixer;
      const a = attentionReference.forward(fake, rmsNorm(cat, rows, 2 * d, get(`${s}input_layernorm.weight`), c.eps), batch, L);
      const m = rmsNorm(a, rows, d, get(`${s}pre_ff_layernorm.weight`), c.eps);
      const gt = linear(m, rows, d, get(`${s}feed_forward.gate_proj.weight`), c.ffn);
      const up = linear(m, rows, d, get(`${s}feed_forward.up_proj.weight`), c.ffn);
      const t = linear(linear(gt.map((v, j) => gelu(v) * up[j]!), rows, c.ffn, get(`${s}feed_forward.down_proj.weight`), d), rows, d, get(`${p}linear.weight`), d);
      u = x.map((v, j) => v + t[j]!);
      prefix = `${p}mamba_decoder.`;
    }
    const o = mamba(rmsNorm(u, rows, d, get(`${prefix}input_layernorm.weight`), c.eps), `${prefix}mamba.`);
    x = x.map((v, j) => v + o[j]!);
  });
  const final = rmsNorm(x, rows, d, get('model.final_layernorm.weight'), c.eps);
  return linear(final, rows, d, c.tied ? emb : get('lm_head.weight'), c.vocab);
}
