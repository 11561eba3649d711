/**
 * Imaging weights on the uv grid of an image, and the check of the data weights' thermal scale.
 *
 * The uv grid of an nx × ny image of cell Δ has cells Δu = 1/(nx·Δ), Δv = 1/(ny·Δ); a visibility falls in cell
 * (round(u/Δu), round(v/Δv)). The sky is real, so each visibility is gridded with its conjugate at (−u, −v) as
 * well: the density W_c of a cell sums the data weights w_k of both.
 * - natural: w'_k = w_k;
 * - uniform: w'_k = w_k / W_c(k);
 * - Briggs (robust R in −2…2): w'_k = w_k / (1 + W_c(k)·f²), f² = (5·10^−R)² / (Σ_c W_c² / Σ_k w_k), the sums over
 *   every gridded point (conjugates included). R = −2 is close to uniform, R = 2 to natural.
 */
import { UserInputError } from '../errors.js';
import type { ImageGrid } from './grid.js';

export type WeightingScheme = 'natural' | 'uniform' | 'briggs';

export interface WeightingOptions {
  scheme: WeightingScheme;
  /** Briggs robustness, −2…2 (default 0). */
  robust?: number;
}

/** The density W_c(k) of each visibility's uv cell (conjugates included) and the sums Briggs needs. */
export function cellDensity(u: Float64Array, v: Float64Array, w: Float64Array, grid: ImageGrid): { density: Float64Array; sumW: number; sumW2: number } {
  const du = 1 / (grid.nx * grid.cell);
  const dv = 1 / (grid.ny * grid.cell);
  const cells = new Map<string, number>();
  const keys: string[] = new Array<string>(2 * u.length);
  for (let k = 0; k < u.length; k++) {
    const iu = Math.round(u[k] / du);
    const iv = Math.round(v[k] / dv);
    const a = `${iu},${iv}`;
    const b = `${-iu},${-iv}`;
    keys[2 * k] = a;
    keys[2 * k + 1] = b;
    cells.set(a, (cells.get(a) ?? 0) + w[k]);
    cells.set(b, (cells.get(b) ?? 0) + w[k]);
  }
  const density = new Float64Array(u.length);
  for (let k = 0; k < u.length; k++) density[k] = cells.get(keys[2 * k])!;
  let sumW2 = 0;
  for (const c of cells.values()) sumW2 += c * c;
  let sumW = 0;
  for (let k = 0; k < u.length; k++) sumW += 2 * w[k];
  return { density, sumW, sumW2 };
}

/**
 * The image noise the data weights predict for imaging weights w'_k (Jy/beam per part): σ_I = √(Σ w'_k² / w_k) / Σ w'_k,
 * 1/√Σw for natural weighting.
 */
export function imageNoise(imaging: Float64Array, data: Float64Array): number {
  let sw = 0;
  let s2 = 0;
  for (let k = 0; k < imaging.length; k++) {
    sw += imaging[k];
    s2 += (imaging[k] * imaging[k]) / data[k];
  }
  return Math.sqrt(s2) / sw;
}

/** Imaging weights w'_k for data weights w_k. */
export function imagingWeights(u: Float64Array, v: Float64Array, w: Float64Array, grid: ImageGrid, opts: WeightingOptions): Float64Array {
  if (opts.scheme === 'natural') return Float64Array.from(w);
  const { density, sumW, sumW2 } = cellDensity(u, v, w, grid);
  const out = new Float64Array(w.length);
  if (opts.scheme === 'uniform') {
    for (let k = 0; k < w.length; k++) out[k] = density[k] > 0 ? w[k] / density[k] : 0;
    return out;
  }
  if (opts.scheme !== 'briggs') throw new UserInputError(`weighting must be natural, uniform or briggs, got '${String(opts.scheme)}'`);
  const R = opts.robust ?? 0;
  if (!(R >= -2 && R <= 2)) throw new UserInputError(`the Briggs robustness must lie in −2…2, got ${R}`);
  const f2 = (5 * 10 ** -R) ** 2 / (sumW2 / sumW);
  for (let k = 0; k < w.length; k++) out[k] = w[k] / (1 + density[k] * f2);
  return out;
}

export interface ThermalCheck {
  /** Pairs of successive visibilities used. */
  pairs: number;
  /** √(mean z²), z² = |V₂ − V₁|² / (2·(1/w₁ + 1/w₂)): 1 when the weights are 1/σ² per real and imaginary part. */
  ratio: number;
  /** The same from the median (z² ~ χ²₂/2 has median ln 2): robust to source changes and outliers. */
  robustRatio: number;
}

/**
 * The scale of the data weights against the scatter of the data: successive visibilities on the same baseline,
 * IF, channel (and product) differ by noise alone when the source and the gains change slowly, so
 * |V₂ − V₁|² / 2 estimates σ₁² + σ₂² per part. Pairs further apart in time than 2.5× the baseline's median
 * interval (a scan gap) are skipped. Null when no pair is found.
 */
export function thermalCheck(vis: {
  n: number;
  re: Float64Array;
  im: Float64Array;
  weight: Float64Array;
  time: Float64Array;
  ant1: Int32Array;
  ant2: Int32Array;
  ifIndex: Int32Array;
  chan: Int32Array;
}): ThermalCheck | null {
  // series (baseline, IF, channel) numbered in the order of their first visibility; the visibilities grouped by
  // series with a counting sort that keeps the file's order inside each (typed arrays, no per-visibility objects)
  const n = vis.n;
  const pairId = new Map<number, number>();
  let nIf = 1;
  let nChan = 1;
  for (let k = 0; k < n; k++) {
    if (vis.ifIndex[k] + 1 > nIf) nIf = vis.ifIndex[k] + 1;
    if (vis.chan[k] + 1 > nChan) nChan = vis.chan[k] + 1;
  }
  const seriesOf = new Int32Array(n).fill(-1);
  const firstSeen = new Map<number, number>();
  for (let k = 0; k < n; k++) {
    if (vis.ant1[k] === vis.ant2[k]) continue;
    const pk = vis.ant1[k] * 65536 + vis.ant2[k];
    let p = pairId.get(pk);
    if (p === undefined) pairId.set(pk, (p = pairId.size));
    const key = (p * nIf + vis.ifIndex[k]) * nChan + vis.chan[k];
    let sid = firstSeen.get(key);
    if (sid === undefined) firstSeen.set(key, (sid = firstSeen.size));
    seriesOf[k] = sid;
  }
  const nSeries = firstSeen.size;
  const start = new Int32Array(nSeries + 1);
  for (let k = 0; k < n; k++) if (seriesOf[k] >= 0) start[seriesOf[k] + 1]++;
  for (let i = 0; i < nSeries; i++) start[i + 1] += start[i];
  const order = new Int32Array(start[nSeries]);
  const fill = start.slice(0, nSeries);
  for (let k = 0; k < n; k++) if (seriesOf[k] >= 0) order[fill[seriesOf[k]]++] = k;
  const z2 = new Float64Array(order.length);
  let nz = 0;
  let mean = 0;
  for (let i = 0; i < nSeries; i++) {
    const a0 = start[i];
    const a1 = start[i + 1];
    if (a1 - a0 < 2) continue;
    // in time order (a stable sort where the file's order is not: ties keep it)
    let sorted = true;
    for (let j = a0 + 1; j < a1 && sorted; j++) if (vis.time[order[j]] < vis.time[order[j - 1]]) sorted = false;
    if (!sorted) {
      const s = Array.from(order.subarray(a0, a1)).sort((a, b) => vis.time[a] - vis.time[b]);
      order.set(s, a0);
    }
    const dts = new Float64Array(a1 - a0 - 1);
    let nd = 0;
    for (let j = a0 + 1; j < a1; j++) {
      const dt = vis.time[order[j]] - vis.time[order[j - 1]];
      if (dt > 0) dts[nd++] = dt;
    }
    if (!nd) continue;
    const sortedDt = dts.subarray(0, nd).sort();
    const gap = 2.5 * sortedDt[Math.floor(nd / 2)];
    for (let j = a0 + 1; j < a1; j++) {
      const a = order[j - 1];
      const b = order[j];
      const dt = vis.time[b] - vis.time[a];
      if (!(dt > 0) || dt > gap) continue;
      const dr = vis.re[b] - vis.re[a];
      const di = vis.im[b] - vis.im[a];
      z2[nz++] = (dr * dr + di * di) / (2 * (1 / vis.weight[a] + 1 / vis.weight[b]));
    }
  }
  if (!nz) return null;
  for (let i = 0; i < nz; i++) mean += z2[i];
  mean /= nz;
  const zs = z2.subarray(0, nz).sort();
  const med = nz % 2 ? zs[(nz - 1) / 2] : 0.5 * (zs[nz / 2 - 1] + zs[nz / 2]);
  return { pairs: nz, ratio: Math.sqrt(mean), robustRatio: Math.sqrt(med / Math.LN2) };
}
