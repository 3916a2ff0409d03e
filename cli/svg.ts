// Small dependency-free SVG line charts (log–log or log–linear), one series
// per model, for the bench command's scaling plots.

export interface Series {
  name: string;
  points: [number, number][];
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22'];

function escape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Log-axis ticks: powers of ten, and 2× and 5× them when the range spans fewer than three decades. */
function ticks(lo: number, hi: number): number[] {
  const out: number[] = [];
  const steps = Math.log10(hi / lo) < 3 ? [1, 2, 5] : [1];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) for (const m of steps) out.push(m * 10 ** e);
  return out;
}

function label(v: number): string {
  const trim = (x: number) => String(Number(x.toPrecision(3)));
  if (v >= 1e9) return `${trim(v / 1e9)}G`;
  if (v >= 1e6) return `${trim(v / 1e6)}M`;
  if (v >= 1e3) return `${trim(v / 1e3)}k`;
  return trim(v);
}

/** A log–log line chart. */
export function lineChart(title: string, xLabel: string, yLabel: string, series: Series[]): string {
  const [W, H, left, right, top, bottom] = [720, 440, 80, 170, 40, 60];
  const xs = series.flatMap((s) => s.points.map((p) => p[0])).filter((v) => v > 0);
  const ys = series.flatMap((s) => s.points.map((p) => p[1])).filter((v) => v > 0);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  const [y0, y1] = [Math.min(...ys) / 1.5, Math.max(...ys) * 1.5];
  const lx = (v: number) => left + ((Math.log(v) - Math.log(x0)) / (Math.log(x1) - Math.log(x0) || 1)) * (W - left - right);
  const ly = (v: number) => H - bottom - ((Math.log(v) - Math.log(y0)) / (Math.log(y1) - Math.log(y0) || 1)) * (H - top - bottom);
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  parts.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  parts.push(`<text x="${W / 2}" y="22" text-anchor="middle" font-size="15">${escape(title)}</text>`);
  for (const t of ticks(y0, y1).filter((t) => t >= y0 && t <= y1)) {
    parts.push(`<line x1="${left}" x2="${W - right}" y1="${ly(t).toFixed(1)}" y2="${ly(t).toFixed(1)}" stroke="#ddd"/>`);
    parts.push(`<text x="${left - 6}" y="${(ly(t) + 4).toFixed(1)}" text-anchor="end">${label(t)}</text>`);
  }
  for (const t of [...new Set(xs)].sort((a, b) => a - b)) {
    parts.push(`<line x1="${lx(t).toFixed(1)}" x2="${lx(t).toFixed(1)}" y1="${top}" y2="${H - bottom}" stroke="#eee"/>`);
    parts.push(`<text x="${lx(t).toFixed(1)}" y="${H - bottom + 16}" text-anchor="middle">${label(t)}</text>`);
  }
  parts.push(`<rect x="${left}" y="${top}" width="${W - left - right}" height="${H - top - bottom}" fill="none" stroke="#333"/>`);
  parts.push(`<text x="${(left + W - right) / 2}" y="${H - 18}" text-anchor="middle">${escape(xLabel)}</text>`);
  parts.push(`<text transform="translate(18 ${(top + H - bottom) / 2}) rotate(-90)" text-anchor="middle">${escape(yLabel)}</text>`);
  series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length]!;
    const pts = s.points.filter((p) => p[0] > 0 && p[1] > 0);
    if (pts.length) {
      parts.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts.map((p) => `${lx(p[0]).toFixed(1)},${ly(p[1]).toFixed(1)}`).join(' ')}"/>`);
      for (const p of pts) parts.push(`<circle cx="${lx(p[0]).toFixed(1)}" cy="${ly(p[1]).toFixed(1)}" r="3" fill="${color}"/>`);
    }
    const y = top + 14 + i * 18;
    parts.push(`<line x1="${W - right + 12}" x2="${W - right + 32}" y1="${y - 4}" y2="${y - 4}" stroke="${color}" stroke-width="2"/>`);
    parts.push(`<text x="${W - right + 38}" y="${y}">${escape(s.name)}</text>`);
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
