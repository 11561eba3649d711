/** Weighting on a hand-computed case, the thermal-weight check, dirty image and beam against a direct imager. */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { dataPath } from '../helpers/data.js';
import { readUvfits, selectVisibilities } from '../../src-shared/radio/uvfits.js';
import { cellDensity, imagingWeights, thermalCheck } from '../../src-shared/radio/weighting.js';
import { cropBeam, defaultGeometry, dirtyBeam, dirtyImage, doubleGrid, makeGramOperator } from '../../src-shared/radio/imaging.js';
import { makeDft, makeNufftMeasurement } from '../../src-shared/radio/measurement.js';
import { ARCSEC, lOf, mOf, type ImageGrid } from '../../src-shared/radio/grid.js';

const vis = (f: string) => selectVisibilities(readUvfits(new Uint8Array(readFileSync(dataPath('uvfits', f))), f));

/** Seeded standard normals. */
function randn(n: number, seed: number): Float64Array {
  let s = seed >>> 0 || 1;
  const next = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s + 0.5) / 4294967296;
  };
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.sqrt(-2 * Math.log(next())) * Math.cos(2 * Math.PI * next());
  return out;
}

describe('imaging weights', () => {
  // grid 4×4 of cell 0.25 rad: Δu = Δv = 1 λ. Visibilities: two in cell (1,0), one in (−1,0)'s conjugate cell… by hand
  const grid: ImageGrid = { nx: 4, ny: 4, cell: 0.25 };
  const u = Float64Array.from([1.1, 0.9, -1.0, 2.0]);
  const v = Float64Array.from([0.1, -0.2, 0.0, 1.0]);
  const w = Float64Array.from([1, 2, 3, 4]);
  // cells: (1,0) gets 1 + 2 and, from the conjugate of vis 3 at (1,0), 3 → 6; (−1,0) gets 3 + conjugates of 1, 2 → 6;
  // (2,1) gets 4, (−2,−1) gets 4. Σ_c W_c² = 36 + 36 + 16 + 16 = 104; Σ w over gridded points = 2·10 = 20
  it('cell densities include each visibility\'s conjugate', () => {
    const d = cellDensity(u, v, w, grid);
    expect(Array.from(d.density)).toEqual([6, 6, 6, 4]);
    expect(d.sumW2).toBe(104);
    expect(d.sumW).toBe(20);
  });
  it('natural, uniform and Briggs by the formulas', () => {
    expect(Array.from(imagingWeights(u, v, w, grid, { scheme: 'natural' }))).toEqual([1, 2, 3, 4]);
    expect(Array.from(imagingWeights(u, v, w, grid, { scheme: 'uniform' }))).toEqual([1 / 6, 2 / 6, 3 / 6, 1]);
    for (const R of [-2, -0.5, 0, 1, 2]) {
      const f2 = (5 * 10 ** -R) ** 2 / (104 / 20);
      const b = imagingWeights(u, v, w, grid, { scheme: 'briggs', robust: R });
      [1, 2, 3, 4].forEach((wk, k) => expect(b[k]).toBeCloseTo(wk / (1 + [6, 6, 6, 4][k] * f2), 12));
    }
    expect(() => imagingWeights(u, v, w, grid, { scheme: 'briggs', robust: 3 })).toThrow(/−2…2/);
  });
  it('Briggs goes from nearly uniform (R = −2) to nearly natural (R = 2) on real VLBA tracks', () => {
    const x = vis('vlba43_BLLAC_2013may30.uvfits');
    const g: ImageGrid = { nx: 256, ny: 256, cell: 0.00003 * ARCSEC };
    const nat = imagingWeights(x.u, x.v, x.weight, g, { scheme: 'natural' });
    const uni = imagingWeights(x.u, x.v, x.weight, g, { scheme: 'uniform' });
    const corr = (a: Float64Array, b: Float64Array) => {
      let ab = 0;
      let aa = 0;
      let bb = 0;
      for (let k = 0; k < a.length; k++) {
        ab += a[k] * b[k];
        aa += a[k] * a[k];
        bb += b[k] * b[k];
      }
      return ab / Math.sqrt(aa * bb);
    };
    const lo = imagingWeights(x.u, x.v, x.weight, g, { scheme: 'briggs', robust: -2 });
    const hi = imagingWeights(x.u, x.v, x.weight, g, { scheme: 'briggs', robust: 2 });
    expect(corr(lo, uni)).toBeGreaterThan(0.99);
    expect(corr(hi, nat)).toBeGreaterThan(0.99);
    expect(corr(lo, nat)).toBeLessThan(corr(hi, nat));
  });
});

describe('thermal-weight check', () => {
  it('finds ratio 1 on pure noise drawn with σ = 1/√w, and 3 when the weights are 9× too large', () => {
    const n = 4000;
    const base = vis('vlba43_BLLAC_2013may30.uvfits');
    const m = Math.min(n, base.n);
    const w = Float64Array.from({ length: m }, (_, k) => 0.5 + (k % 7));
    const nr = randn(m, 3);
    const ni = randn(m, 4);
    const mk = (scale: number) => ({
      n: m,
      re: Float64Array.from(nr, (z, k) => 0.7 + z / Math.sqrt(w[k])),
      im: Float64Array.from(ni, (z, k) => -0.2 + z / Math.sqrt(w[k])),
      weight: Float64Array.from(w, (x) => x * scale),
      time: base.time.subarray(0, m),
      ant1: base.ant1.subarray(0, m),
      ant2: base.ant2.subarray(0, m),
      ifIndex: base.ifIndex.subarray(0, m),
      chan: base.chan.subarray(0, m),
    });
    const a = thermalCheck(mk(1))!;
    expect(a.pairs).toBeGreaterThan(1000);
    // √(mean z²) of ~2000 χ²₂/2 draws: relative sd of the mean ≈ 1/√pairs, of its root half that
    expect(Math.abs(a.ratio - 1)).toBeLessThan(3 / Math.sqrt(a.pairs));
    expect(Math.abs(a.robustRatio - 1)).toBeLessThan(0.1);
    const b = thermalCheck(mk(1 / 9))!;
    expect(b.ratio / a.ratio).toBeCloseTo(1 / 3, 10);
  });

  it('pairs successive visibilities in time within each baseline, IF and channel whatever the file\'s order; scan gaps skipped', () => {
    // two baselines × two channels, 40 integrations of 10 s with a gap of an hour after the 20th; the values a ramp
    // in time plus a known step per pair, so each z² is known: |Δ|² / (2·(1/w + 1/w)) with w = 2 → |Δ|²/2
    const rows: { t: number; a1: number; a2: number; c: number; re: number; im: number }[] = [];
    for (let i = 0; i < 40; i++) {
      const t = 2460000.5 + (i * 10 + (i >= 20 ? 3600 : 0)) / 86400;
      for (const [a1, a2] of [[1, 2], [2, 3]])
        for (const c of [0, 1]) rows.push({ t, a1, a2, c, re: 0.1 * i * (a2 + c), im: (i % 2) * 0.2 });
    }
    const check = (r: typeof rows) =>
      thermalCheck({
        n: r.length,
        re: Float64Array.from(r, (x) => x.re),
        im: Float64Array.from(r, (x) => x.im),
        weight: new Float64Array(r.length).fill(2),
        time: Float64Array.from(r, (x) => x.t),
        ant1: Int32Array.from(r, (x) => x.a1),
        ant2: Int32Array.from(r, (x) => x.a2),
        ifIndex: new Int32Array(r.length),
        chan: Int32Array.from(r, (x) => x.c),
      })!;
    const inOrder = check(rows);
    // 4 series × (19 + 19) pairs: the pair across the gap is skipped
    expect(inOrder.pairs).toBe(4 * 38);
    let sum = 0;
    const all: number[] = [];
    for (const [a2, c] of [[2, 0], [2, 1], [3, 0], [3, 1]]) {
      const d = 0.1 * (a2 + c);
      const z = (d * d + 0.04) / 2;
      for (let k = 0; k < 38; k++) all.push(z);
      sum += 38 * z;
    }
    expect(inOrder.ratio).toBeCloseTo(Math.sqrt(sum / all.length), 12);
    // the same visibilities in a scrambled order give the same pairs
    const shuffled = rows.map((r, k) => ({ r, key: (k * 7919) % 163 })).sort((a, b) => a.key - b.key).map((x) => x.r);
    const s = check(shuffled);
    expect(s.pairs).toBe(inOrder.pairs);
    expect(s.ratio).toBeCloseTo(inOrder.ratio, 12);
    expect(s.robustRatio).toBeCloseTo(inOrder.robustRatio, 12);
  });
});

describe('dirty image and beam', () => {
  it('agree with a direct plain-loop imager to 1e-4 of the peak on the real VLBA file (uniform weights)', () => {
    const x = vis('vlba43_BLLAC_2013may30.uvfits');
    const grid: ImageGrid = { nx: 40, ny: 36, cell: 0.05e-3 * ARCSEC };
    const w = imagingWeights(x.u, x.v, x.weight, grid, { scheme: 'uniform' });
    const img = dirtyImage(makeNufftMeasurement(x.u, x.v, grid), x.re, x.im, w);
    const beam = dirtyBeam(x.u, x.v, w, grid, { method: 'nufft' });
    let sw = 0;
    for (const z of w) sw += z;
    let peak = 0;
    let bpeak = 0;
    let err = 0;
    let berr = 0;
    for (let y = 0; y < grid.ny; y += 1) {
      for (let xx = 0; xx < grid.nx; xx += 1) {
        const l = lOf(grid, xx);
        const m = mOf(grid, y);
        let s = 0;
        let b = 0;
        for (let k = 0; k < x.n; k++) {
          const ph = 2 * Math.PI * (x.u[k] * l + x.v[k] * m);
          s += w[k] * (x.re[k] * Math.cos(ph) - x.im[k] * Math.sin(ph));
          b += w[k] * Math.cos(ph);
        }
        s /= sw;
        b /= sw;
        peak = Math.max(peak, Math.abs(s));
        bpeak = Math.max(bpeak, Math.abs(b));
        err = Math.max(err, Math.abs(s - img[y * grid.nx + xx]));
        berr = Math.max(berr, Math.abs(b - beam[y * grid.nx + xx]));
      }
    }
    expect(err / peak).toBeLessThan(1e-4);
    expect(berr).toBeLessThan(1e-4);
    expect(bpeak).toBeCloseTo(1, 12);
    expect(beam[Math.floor(grid.ny / 2) * grid.nx + Math.floor(grid.nx / 2)]).toBeCloseTo(1, 6);
    expect(peak).toBeGreaterThan(0.5); // BL Lac is a bright compact source: the test is not about an empty image
  });

  it('a point source at a pixel centre peaks at its flux there (Jy/beam)', () => {
    const x = vis('ehtim_sample_SYNTHETIC_sgra.uvfits');
    const grid: ImageGrid = { nx: 32, ny: 32, cell: 5e-6 * ARCSEC };
    const A = makeDft(x.u, x.v, grid);
    const truth = new Float64Array(32 * 32);
    truth[20 * 32 + 11] = 2;
    const V = A.forward(truth);
    const d = dirtyImage(A, V.re, V.im, x.weight);
    expect(d[20 * 32 + 11]).toBeCloseTo(2, 10);
  });

  it('the Gram operator by the double-grid beam equals Re(Aᴴ W A) x', () => {
    const x = vis('vlba43_BLLAC_2013may30.uvfits');
    const grid: ImageGrid = { nx: 24, ny: 20, cell: 0.06e-3 * ARCSEC };
    const w = x.weight;
    const A = makeDft(x.u, x.v, grid);
    const img = randn(24 * 20, 9);
    const ax = A.forward(img);
    const want = A.adjoint(Float64Array.from(ax.re, (r, k) => r * w[k]), Float64Array.from(ax.im, (r, k) => r * w[k])).re;
    const got = makeGramOperator(x.u, x.v, w, grid, { method: 'dft' })(img);
    let num = 0;
    let den = 0;
    for (let i = 0; i < want.length; i++) {
      num += (got[i] - want[i]) ** 2;
      den += want[i] ** 2;
    }
    expect(Math.sqrt(num / den)).toBeLessThan(1e-10);
    // the crop of the double-grid beam is the image-grid beam
    const big = dirtyBeam(x.u, x.v, w, doubleGrid(grid), { method: 'dft' });
    const small = dirtyBeam(x.u, x.v, w, grid, { method: 'dft' });
    const c = cropBeam(big, grid);
    for (let i = 0; i < c.length; i++) expect(c[i]).toBeCloseTo(small[i], 10);
  });

  it('default geometry: cell 1/(6 u_max), size from the dish or 2/u_min, even and within 64…1024', () => {
    const x = vis('vlba43_BLLAC_2013may30.uvfits');
    const g = defaultGeometry(x.u, x.v, { freqMin: 43e9 });
    let umax = 0;
    for (let k = 0; k < x.n; k++) umax = Math.max(umax, Math.hypot(x.u[k], x.v[k]));
    expect(g.cell).toBeCloseTo(1 / (6 * umax), 20);
    expect(g.size % 2).toBe(0);
    expect(g.size).toBeGreaterThanOrEqual(64);
    const dish = defaultGeometry(x.u, x.v, { freqMin: 43e9, dishDiameter: 25 });
    expect(dish.size).toBe(1024);
    expect(dish.notes.join(' ')).toMatch(/held at 1024/);
  });
});
