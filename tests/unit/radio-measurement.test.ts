/**
 * The measurement operator: the direct DFT against an independent numpy DFT on real VLBA (u, v), the NUFFT
 * against the DFT, dot-product (adjoint) tests for both, and the sign convention on point sources.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { dataPath, ROOT } from '../helpers/data.js';
import { readUvfits, selectVisibilities, type Visibilities } from '../../src-shared/radio/uvfits.js';
import { chooseMeasurement, makeDft, makeNufftMeasurement, type Measurement } from '../../src-shared/radio/measurement.js';
import { ARCSEC, type ImageGrid } from '../../src-shared/radio/grid.js';
import { kernelWidth, makeNufft } from '../../src-shared/radio/nufft.js';

const vis = (f: string): Visibilities => selectVisibilities(readUvfits(new Uint8Array(readFileSync(dataPath('uvfits', f))), f));

/** Seeded standard normals (Box–Muller on a 32-bit LCG): deterministic test data. */
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

function relDiff(aRe: Float64Array, aIm: Float64Array, bRe: Float64Array, bIm: Float64Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < aRe.length; i++) {
    num += (aRe[i] - bRe[i]) ** 2 + (aIm[i] - bIm[i]) ** 2;
    den += bRe[i] ** 2 + bIm[i] ** 2;
  }
  return Math.sqrt(num / den);
}

function take(a: Float64Array, n: number, step = 1): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = a[i * step];
  return out;
}

/** Re⟨A x, y⟩ − Re⟨x, Aᴴ y⟩ relative to the terms' size, for complex x and y. */
function dotTest(A: Measurement, seed: number): number {
  const n = A.grid.nx * A.grid.ny;
  const xr = randn(n, seed);
  const xi = randn(n, seed + 1);
  const yr = randn(A.nvis, seed + 2);
  const yi = randn(A.nvis, seed + 3);
  const ax = A.forward(xr, xi);
  const ahy = A.adjoint(yr, yi);
  let lhs = 0;
  let rhs = 0;
  let scale = 0;
  for (let k = 0; k < A.nvis; k++) {
    lhs += ax.re[k] * yr[k] + ax.im[k] * yi[k];
    scale += Math.hypot(ax.re[k], ax.im[k]) * Math.hypot(yr[k], yi[k]);
  }
  for (let i = 0; i < n; i++) rhs += xr[i] * ahy.re[i] + xi[i] * ahy.im[i];
  return Math.abs(lhs - rhs) / scale;
}

describe('the direct DFT', () => {
  it('matches an independent numpy DFT on the first 300 real VLBA visibilities (sign and pixel convention)', () => {
    const e = JSON.parse(readFileSync(path.join(ROOT, 'tests/fixtures/radio/dft-expected.json'), 'utf8')) as {
      nx: number;
      ny: number;
      cellRad: number;
      n: number;
      re: number[];
      im: number[];
    };
    const v = vis('vlba43_BLLAC_2013may30.uvfits');
    const u = take(v.u, e.n);
    const vv = take(v.v, e.n);
    const grid: ImageGrid = { nx: e.nx, ny: e.ny, cell: e.cellRad };
    const img = new Float64Array(e.nx * e.ny);
    for (let y = 0; y < e.ny; y++) for (let x = 0; x < e.nx; x++) img[y * e.nx + x] = 0.1 * Math.exp(-((x - 28) ** 2 + (y - 22) ** 2) / (2 * 9));
    img[30 * e.nx + 40] += 1;
    img[12 * e.nx + 9] += 0.5;
    img[Math.floor(e.ny / 2) * e.nx + Math.floor(e.nx / 2)] += 0.25;
    const want = { re: Float64Array.from(e.re), im: Float64Array.from(e.im) };
    const d = makeDft(u, vv, grid).forward(img);
    expect(relDiff(d.re, d.im, want.re, want.im)).toBeLessThan(1e-10);
    const nu = makeNufftMeasurement(u, vv, grid).forward(img);
    expect(relDiff(nu.re, nu.im, want.re, want.im)).toBeLessThan(1e-6);
    // the conjugate convention would fail this by far
    expect(relDiff(d.re, Float64Array.from(d.im, (x) => -x), want.re, want.im)).toBeGreaterThan(0.1);
  });

  it('a point source at the phase centre gives constant visibilities; one pixel East gives the phase −2π u·cell', () => {
    const grid: ImageGrid = { nx: 16, ny: 15, cell: 0.1 * ARCSEC };
    const u = Float64Array.from([0, 1e5, -3e5, 7e5, 2e4]);
    const v = Float64Array.from([0, 2e5, 1e5, -4e5, 9e5]);
    for (const A of [makeDft(u, v, grid), makeNufftMeasurement(u, v, grid)]) {
      const img = new Float64Array(16 * 15);
      img[7 * 16 + 8] = 2.5; // (⌊ny/2⌋, ⌊nx/2⌋)
      const c = A.forward(img);
      for (let k = 0; k < 5; k++) {
        expect(c.re[k]).toBeCloseTo(2.5, 6);
        expect(c.im[k]).toBeCloseTo(0, 6);
      }
      // one pixel to the LEFT (x − 1) is one cell East: l = +cell; one row up (y + 1) is North: m = +cell
      const east = new Float64Array(16 * 15);
      east[7 * 16 + 7] = 1;
      const north = new Float64Array(16 * 15);
      north[8 * 16 + 8] = 1;
      const ve = A.forward(east);
      const vn = A.forward(north);
      for (let k = 0; k < 5; k++) {
        const pe = -2 * Math.PI * u[k] * grid.cell;
        const pn = -2 * Math.PI * v[k] * grid.cell;
        expect(ve.re[k]).toBeCloseTo(Math.cos(pe), 6);
        expect(ve.im[k]).toBeCloseTo(Math.sin(pe), 6);
        expect(vn.re[k]).toBeCloseTo(Math.cos(pn), 6);
        expect(vn.im[k]).toBeCloseTo(Math.sin(pn), 6);
      }
    }
  });
});

describe('the NUFFT', () => {
  const cases: [string, number, number, number, number][] = [
    // file, nx, ny, cell (arcsec), stride through the visibilities
    ['vlba43_BLLAC_2013may30.uvfits', 64, 64, 0.00004, 1],
    ['vlba43_BLLAC_2013may30.uvfits', 33, 40, 0.00007, 1],
    ['hera_sim_fewant_randsrc100.uvfits', 48, 47, 1500, 7],
    ['ehtim_sample_SYNTHETIC_sgra.uvfits', 50, 64, 0.000004, 1],
  ];
  for (const [file, nx, ny, cellAs, step] of cases) {
    it(`matches the direct DFT to ≤ 1e-6 (relative) on ${file} tracks, ${nx}×${ny} random images, real and complex`, () => {
      const v = vis(file);
      const m = Math.floor(v.n / step);
      const u = take(v.u, m, step);
      const vv = take(v.v, m, step);
      const grid: ImageGrid = { nx, ny, cell: cellAs * ARCSEC };
      const D = makeDft(u, vv, grid);
      const N = makeNufftMeasurement(u, vv, grid);
      const xr = randn(nx * ny, 11);
      const xi = randn(nx * ny, 12);
      const a = N.forward(xr);
      const b = D.forward(xr);
      expect(relDiff(a.re, a.im, b.re, b.im)).toBeLessThan(1e-6);
      const c = N.forward(xr, xi);
      const d = D.forward(xr, xi);
      expect(relDiff(c.re, c.im, d.re, d.im)).toBeLessThan(1e-6);
      const yr = randn(m, 13);
      const yi = randn(m, 14);
      const e = N.adjoint(yr, yi);
      const f = D.adjoint(yr, yi);
      expect(relDiff(e.re, e.im, f.re, f.im)).toBeLessThan(1e-6);
    });
  }

  it('is less accurate with a narrower kernel (the tolerance is real), and the width follows the tolerance', () => {
    expect(kernelWidth(1e-7)).toBe(8);
    expect(kernelWidth(1e-3)).toBe(4);
    const v = vis('vlba43_BLLAC_2013may30.uvfits');
    const grid: ImageGrid = { nx: 32, ny: 32, cell: 0.00005 * ARCSEC };
    const x = randn(32 * 32, 5);
    const b = makeDft(v.u, v.v, grid).forward(x);
    const loose = makeNufftMeasurement(v.u, v.v, grid, { tol: 1e-3 }).forward(x);
    const err = relDiff(loose.re, loose.im, b.re, b.im);
    expect(err).toBeGreaterThan(1e-6);
    expect(err).toBeLessThan(1e-2);
  });
});

describe('the NUFFT over its tap budget (float32 taps)', () => {
  it('keeps the taps in float32 with each axis\'s first cell: within 1e-7 of the float64 plan, forward and adjoint, and as accurate against the direct sum', () => {
    const v = vis('hera_sim_fewant_randsrc100.uvfits');
    const grid: ImageGrid = { nx: 48, ny: 40, cell: 1500 * ARCSEC };
    const kept = makeNufft(v.u, v.v, grid);
    const small = makeNufft(v.u, v.v, grid, { tapBytes: 0 });
    expect(kept.taps).toBe('float64');
    expect(small.taps).toBe('float32');
    // the budget is 24·W bytes a visibility: one byte short of it and the taps are float32
    expect(makeNufft(v.u, v.v, grid, { tapBytes: v.n * 8 * 24 }).taps).toBe('float64');
    expect(makeNufft(v.u, v.v, grid, { tapBytes: v.n * 8 * 24 - 1 }).taps).toBe('float32');
    const xr = randn(48 * 40, 21);
    const xi = randn(48 * 40, 22);
    const a = kept.forward(xr, xi);
    const b = small.forward(xr, xi);
    const dFwd = relDiff(b.re, b.im, a.re, a.im);
    expect(dFwd).toBeLessThan(1e-7);
    expect(dFwd).toBeGreaterThan(0); // float32 taps do move the result: the float32 path is the one measured
    const yr = randn(v.n, 23);
    const yi = randn(v.n, 24);
    const c = kept.adjoint(yr, yi);
    const d = small.adjoint(yr, yi);
    expect(relDiff(d.re, d.im, c.re, c.im)).toBeLessThan(1e-7);
    // a second call gives the same again (each visibility's taps unpacked afresh, not left from the last)
    expect(Array.from(small.forward(xr, xi).re)).toEqual(Array.from(b.re));
    const D = makeDft(v.u, v.v, grid).forward(xr, xi);
    expect(relDiff(b.re, b.im, D.re, D.im)).toBeLessThan(1e-6);
    // the adjoint is still the exact adjoint of the forward map as computed
    const lhs = b.re.reduce((s, x, k) => s + x * yr[k] + b.im[k] * yi[k], 0);
    let rhs = 0;
    for (let p = 0; p < xr.length; p++) rhs += xr[p] * d.re[p] + xi[p] * d.im[p];
    expect(Math.abs(lhs - rhs)).toBeLessThan(1e-10 * Math.abs(lhs));
  });
  it('wraps the taps across the grid\'s edge as the float64 plan does (u, v near 0 and near ±1/2 cycle per pixel)', () => {
    const grid: ImageGrid = { nx: 16, ny: 16, cell: 1 };
    // near the origin the kernel straddles the grid's last and first cells; near ±1/2 it reaches the middle
    const u = Float64Array.from([0.49, -0.49, 0.01, -0.003, 0]);
    const vv = Float64Array.from([-0.495, 0.3, 0.002, 0, 0.4999]);
    const x = randn(256, 31);
    const a = makeNufft(u, vv, grid).forward(x);
    const b = makeNufft(u, vv, grid, { tapBytes: 0 }).forward(x);
    expect(relDiff(b.re, b.im, a.re, a.im)).toBeLessThan(1e-7);
  });
});

describe('adjoints (dot-product test, real part of the complex inner product)', () => {
  const v = vis('vlba43_BLLAC_2013may30.uvfits');
  for (const [nx, ny] of [
    [32, 32],
    [27, 30],
  ]) {
    it(`DFT and NUFFT on ${nx}×${ny}`, () => {
      const grid: ImageGrid = { nx, ny, cell: 0.00005 * ARCSEC };
      expect(dotTest(makeDft(v.u, v.v, grid), 1)).toBeLessThan(1e-12);
      expect(dotTest(makeNufftMeasurement(v.u, v.v, grid), 2)).toBeLessThan(1e-12);
      expect(dotTest(makeNufftMeasurement(v.u, v.v, grid, { tol: 1e-3 }), 3)).toBeLessThan(1e-12);
    });
  }
});

describe('chooseMeasurement', () => {
  it('takes the DFT below the work threshold and the NUFFT above, or what it is told', () => {
    const u = new Float64Array(100);
    const v = new Float64Array(100);
    expect(chooseMeasurement(u, v, { nx: 16, ny: 16, cell: ARCSEC }).kind).toBe('dft');
    expect(chooseMeasurement(u, v, { nx: 256, ny: 256, cell: ARCSEC }).kind).toBe('nufft');
    expect(chooseMeasurement(u, v, { nx: 256, ny: 256, cell: ARCSEC }, { method: 'dft' }).kind).toBe('dft');
    expect(chooseMeasurement(u, v, { nx: 16, ny: 16, cell: ARCSEC }, { method: 'nufft' }).kind).toBe('nufft');
    expect(() => chooseMeasurement(u, v, { nx: 0, ny: 16, cell: ARCSEC })).toThrow(/whole numbers of pixels/);
  });
});

describe('fft2 (the radio grids\' FFT)', () => {
  it('equals the reference FFT forward and inverse, power-of-two and other sizes', async () => {
    const { fft2 } = await import('../../src-shared/radio/fft2.js');
    const { fft2d } = await import('../../src-shared/operators/fft.js');
    for (const [ny, nx] of [
      [8, 16],
      [64, 32],
      [1, 8],
      [12, 10],
    ]) {
      for (const inverse of [false, true]) {
        const re = randn(nx * ny, nx + ny);
        const im = randn(nx * ny, nx * ny);
        const a = Float64Array.from(re);
        const b = Float64Array.from(im);
        fft2(re, im, ny, nx, inverse);
        fft2d(a, b, ny, nx, inverse);
        expect(relDiff(re, im, a, b)).toBeLessThan(1e-13);
      }
    }
  });
});
