// Float64 references for lstm, gru and rnn: the recurrences exactly as
// torch.nn.LSTM / GRU / RNN document them, batch-first, one step at a time.

export type Cell = 'lstm' | 'gru' | 'rnn-tanh' | 'rnn-relu';

export interface RecurrentInputs {
  x: ArrayLike<number>; // [b, L, in]
  weightIH: ArrayLike<number>; // [G·H, in]
  weightHH: ArrayLike<number>; // [G·H, H]
  biasIH?: ArrayLike<number>; // [G·H]
  biasHH?: ArrayLike<number>; // [G·H]
  h0?: ArrayLike<number>; // [b, H]
  c0?: ArrayLike<number>; // [b, H]
  batch: number;
  seqLen: number;
  inputSize: number;
  hiddenSize: number;
}

export interface RecurrentOutputs {
  y: Float64Array; // [b, L, H]
  h: Float64Array; // [b, H]
  c: Float64Array; // [b, H] (LSTM; zeros otherwise)
}

export function gatesOf(cell: Cell): number {
  return cell === 'lstm' ? 4 : cell === 'gru' ? 3 : 1;
}

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

/** out[r] = W[r, :] · v + bias[r] for the rows r of W [rows, cols]. */
function affine(W: ArrayLike<number>, v: ArrayLike<number>, vOffset: number, bias: ArrayLike<number> | undefined, rows: number, cols: number): Float64Array {
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let sum = bias ? bias[r]! : 0;
    for (let k = 0; k < cols; k++) sum += W[r * cols + k]! * v[vOffset + k]!;
    out[r] = sum;
  }
  return out;
}

export function recurrentRef(cell: Cell, a: RecurrentInputs): RecurrentOutputs {
  const { batch: B, seqLen: L, inputSize: I, hiddenSize: H } = a;
  const G = gatesOf(cell);
  const y = new Float64Array(B * L * H);
  const hOut = new Float64Array(B * H);
  const cOut = new Float64Array(B * H);
  for (let b = 0; b < B; b++) {
    let h = new Float64Array(H);
    let c = new Float64Array(H);
    if (a.h0) for (let j = 0; j < H; j++) h[j] = a.h0[b * H + j]!;
    if (a.c0) for (let j = 0; j < H; j++) c[j] = a.c0[b * H + j]!;
    for (let t = 0; t < L; t++) {
      const gi = affine(a.weightIH, a.x, (b * L + t) * I, a.biasIH, G * H, I); // W_ih x + b_ih
      const gh = affine(a.weightHH, h, 0, a.biasHH, G * H, H); // W_hh h + b_hh
      const hNew = new Float64Array(H);
      const cNew = new Float64Array(H);
      for (let j = 0; j < H; j++) {
        if (cell === 'lstm') {
          const i = sigmoid(gi[j]! + gh[j]!);
          const f = sigmoid(gi[H + j]! + gh[H + j]!);
          const g = Math.tanh(gi[2 * H + j]! + gh[2 * H + j]!);
          const o = sigmoid(gi[3 * H + j]! + gh[3 * H + j]!);
          cNew[j] = f * c[j]! + i * g;
          hNew[j] = o * Math.tanh(cNew[j]!);
        } else if (cell === 'gru') {
          const r = sigmoid(gi[j]! + gh[j]!);
          const z = sigmoid(gi[H + j]! + gh[H + j]!);
          const n = Math.tanh(gi[2 * H + j]! + r * gh[2 * H + j]!);
          hNew[j] = (1 - z) * n + z * h[j]!;
        } else if (cell === 'rnn-tanh') {
          hNew[j] = Math.tanh(gi[j]! + gh[j]!);
        } else {
          hNew[j] = Math.max(0, gi[j]! + gh[j]!);
        }
      }
      h = hNew;
      c = cNew;
      y.set(h, (b * L + t) * H);
    }
    hOut.set(h, b * H);
    if (cell === 'lstm') cOut.set(c, b * H);
  }
  return { y, h: hOut, c: cOut };
}
