// Plain index-arithmetic references for the layout ops.

function strides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let n = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = n;
    n *= shape[i]!;
  }
  return s;
}

function unravel(index: number, shape: readonly number[]): number[] {
  const out = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    out[d] = index % shape[d]!;
    index = Math.floor(index / shape[d]!);
  }
  return out;
}

export function expandRef(x: ArrayLike<number>, xShape: number[], shape: number[]): number[] {
  const size = shape.reduce((a, b) => a * b, 1);
  const xs = strides(xShape);
  const lead = shape.length - xShape.length;
  return Array.from({ length: size }, (_, i) => {
    const idx = unravel(i, shape);
    let off = 0;
    xShape.forEach((d, j) => (off += (d === 1 ? 0 : idx[lead + j]!) * xs[j]!));
    return x[off]!;
  });
}

export function permuteRef(x: ArrayLike<number>, xShape: number[], dims: number[]): number[] {
  const yShape = dims.map((d) => xShape[d]!);
  const xs = strides(xShape);
  const size = yShape.reduce((a, b) => a * b, 1);
  return Array.from({ length: size }, (_, i) => {
    const idx = unravel(i, yShape);
    return x[dims.reduce((off, d, j) => off + idx[j]! * xs[d]!, 0)]!;
  });
}

export function sliceRef(x: ArrayLike<number>, xShape: number[], axis: number, start: number, end: number, step: number): number[] {
  const yShape = [...xShape];
  yShape[axis] = Math.ceil((end - start) / step);
  const xs = strides(xShape);
  const size = yShape.reduce((a, b) => a * b, 1);
  return Array.from({ length: size }, (_, i) => {
    const idx = unravel(i, yShape);
    idx[axis] = start + idx[axis]! * step;
    return x[idx.reduce((off, v, j) => off + v * xs[j]!, 0)]!;
  });
}

export function concatRef(parts: { data: ArrayLike<number>; shape: number[] }[], axis: number): number[] {
  const shape = [...parts[0]!.shape];
  shape[axis] = parts.reduce((n, p) => n + p.shape[axis]!, 0);
  const size = shape.reduce((a, b) => a * b, 1);
  return Array.from({ length: size }, (_, i) => {
    const idx = unravel(i, shape);
    let k = idx[axis]!;
    let p = 0;
    while (k >= parts[p]!.shape[axis]!) k -= parts[p++]!.shape[axis]!;
    const local = [...idx];
    local[axis] = k;
    const ps = strides(parts[p]!.shape);
    return parts[p]!.data[local.reduce((off, v, j) => off + v * ps[j]!, 0)]!;
  });
}
