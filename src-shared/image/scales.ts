/**
 * Display scales (stretches): maps of the normalised value t = (v − lo)/(hi − lo), clipped to [0, 1], onto
 * [0, 1]. The forms are the normalised ones (every scale maps 0 → 0 and 1 → 1):
 *   linear  y = t
 *   sqrt    y = √t
 *   log     y = log(a·t + 1) / log(a + 1)           (a: the log exponent, default 1000 as DS9)
 *   power   y = (a^t − 1) / (a − 1)                 (DS9's "pow"; a default 1000)
 *   asinh   y = asinh(β·t) / asinh(β)               (β default 10, as DS9's asinh(10 t)/3)
 *   histeq  y = F(v), the fraction of pixels in [lo, v] (histogram equalisation over the limits)
 * The same formulas run in the WebGL shader (src-renderer/src/viewer/gl.ts); these are the reference.
 */

export const SCALE_NAMES = ['linear', 'log', 'sqrt', 'asinh', 'power', 'histeq'] as const;
export type ScaleName = (typeof SCALE_NAMES)[number];

/** Numeric codes of the scales for the shader (index in SCALE_NAMES). */
export const scaleCode = (s: ScaleName): number => SCALE_NAMES.indexOf(s);

/** The default parameter of each scale (a for log/power, β for asinh; unused by the others). */
export const DEFAULT_SCALE_PARAM: Record<ScaleName, number> = { linear: 0, log: 1000, sqrt: 0, asinh: 10, power: 1000, histeq: 0 };

export const SCALE_LABELS: Record<ScaleName, string> = {
  linear: 'linear',
  log: 'log',
  sqrt: 'square root',
  asinh: 'asinh',
  power: 'power (aˣ)',
  histeq: 'histogram equalisation',
};

/** Number of entries of a histogram-equalisation table (uniform in t over [lo, hi]). */
export const HISTEQ_SIZE = 4096;

function clamp01(t: number): number {
  return t < 0 ? 0 : t > 1 ? 1 : t;
}

/**
 * The stretch of a normalised value t ∈ [0, 1] (clipped). For 'histeq' pass the table from histEqTable.
 */
export function stretch(scale: ScaleName, t: number, param = DEFAULT_SCALE_PARAM[scale], histeq?: Float32Array): number {
  const x = clamp01(t);
  switch (scale) {
    case 'linear':
      return x;
    case 'sqrt':
      return Math.sqrt(x);
    case 'log':
      return Math.log(param * x + 1) / Math.log(param + 1);
    case 'power':
      return (Math.pow(param, x) - 1) / (param - 1);
    case 'asinh':
      return Math.asinh(param * x) / Math.asinh(param);
    case 'histeq': {
      if (!histeq || histeq.length < 2) return x;
      const r = x * (histeq.length - 1);
      const i = Math.min(Math.floor(r), histeq.length - 2);
      const f = r - i;
      return histeq[i] * (1 - f) + histeq[i + 1] * f;
    }
  }
}

/** The inverse stretch: the t whose stretch is y (used by colour-bar ticks). Monotone scales only. */
export function inverseStretch(scale: ScaleName, y: number, param = DEFAULT_SCALE_PARAM[scale], histeq?: Float32Array): number {
  const u = clamp01(y);
  switch (scale) {
    case 'linear':
      return u;
    case 'sqrt':
      return u * u;
    case 'log':
      return (Math.pow(param + 1, u) - 1) / param;
    case 'power':
      return Math.log(u * (param - 1) + 1) / Math.log(param);
    case 'asinh':
      return Math.sinh(u * Math.asinh(param)) / param;
    case 'histeq': {
      if (!histeq || histeq.length < 2) return u;
      // the table is non-decreasing: binary search then interpolate
      let a = 0;
      let b = histeq.length - 1;
      if (u <= histeq[0]) return 0;
      if (u >= histeq[b]) return 1;
      while (b - a > 1) {
        const m = (a + b) >> 1;
        if (histeq[m] <= u) a = m;
        else b = m;
      }
      const d = histeq[b] - histeq[a];
      const f = d > 0 ? (u - histeq[a]) / d : 0;
      return (a + f) / (histeq.length - 1);
    }
  }
}

/**
 * Histogram-equalisation table: entry k is the fraction of finite pixels within [lo, hi] whose value is
 * ≤ lo + k/(size−1)·(hi − lo) — the empirical CDF sampled on a uniform grid (0 at lo, 1 at hi).
 */
export function histEqTable(data: ArrayLike<number>, lo: number, hi: number, size = HISTEQ_SIZE): Float32Array {
  const table = new Float32Array(size);
  const w = hi - lo;
  if (!(w > 0)) {
    for (let k = 0; k < size; k++) table[k] = k / (size - 1);
    return table;
  }
  // counts[k] = pixels with value in ((k−1)/(size−1), k/(size−1)] of the range, counts[0] = those at lo
  const counts = new Float64Array(size);
  let n = 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (!(v >= lo && v <= hi)) continue;
    const k = Math.ceil(((v - lo) / w) * (size - 1));
    counts[Math.min(k, size - 1)]++;
    n++;
  }
  if (n === 0) {
    for (let k = 0; k < size; k++) table[k] = k / (size - 1);
    return table;
  }
  let c = 0;
  for (let k = 0; k < size; k++) {
    c += counts[k];
    table[k] = c / n;
  }
  return table;
}
