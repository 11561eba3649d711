/** CLEAN on simulated fields over real (u, v) tracks, the residual against the thermal noise, the beam fit. */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { dataPath } from '../helpers/data.js';
import { readUvfits, selectVisibilities } from '../../src-shared/radio/uvfits.js';
import { makeNufftMeasurement, makeDft } from '../../src-shared/radio/measurement.js';
import { cropBeam, dirtyBeam, doubleGrid } from '../../src-shared/radio/imaging.js';
import { beamFromAxes, beamImage, clean, fitBeam, restore, type CleanMethod } from '../../src-shared/radio/clean.js';
import { ARCSEC, type ImageGrid } from '../../src-shared/radio/grid.js';

const vis = (f: string) => selectVisibilities(readUvfits(new Uint8Array(readFileSync(dataPath('uvfits', f))), f));

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

const x = vis('vlba43_BLLAC_2013may30.uvfits');
const grid: ImageGrid = { nx: 64, ny: 64, cell: 0.06e-3 * ARCSEC };
const sources: [number, number, number][] = [
  // y, x, flux (Jy)
  [32, 32, 1.0],
  [40, 20, 0.5],
  [22, 45, 0.3],
];

function simulate(noise: Float64Array | null): { re: Float64Array; im: Float64Array } {
  const truth = new Float64Array(64 * 64);
  for (const [y, xx, f] of sources) truth[y * 64 + xx] = f;
  const V = makeDft(x.u, x.v, grid).forward(truth);
  if (noise) {
    for (let k = 0; k < x.n; k++) {
      V.re[k] += noise[2 * k];
      V.im[k] += noise[2 * k + 1];
    }
  }
  return V;
}

describe('CLEAN recovers a point-source field on real VLBA tracks', () => {
  const w = x.weight;
  const psfBig = dirtyBeam(x.u, x.v, w, doubleGrid(grid));
  for (const method of ['hogbom', 'cotton-schwab'] as CleanMethod[]) {
    it(`${method}: fluxes within 2 % and positions to the pixel (noiseless)`, () => {
      const V = simulate(null);
      const A = makeNufftMeasurement(x.u, x.v, grid);
      const r = clean(A, V.re, V.im, w, psfBig, { method, niter: 3000, gain: 0.1, threshold: 1e-3 });
      expect(r.stoppedBy).toBe('threshold');
      for (const [y, xx, f] of sources) {
        let box = 0;
        for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) box += r.model[(y + dy) * 64 + xx + dx];
        expect(Math.abs(box - f) / f).toBeLessThan(0.02);
        // the brightest component near the source is at the source
        let best = -1;
        let bv = -Infinity;
        for (let dy = -3; dy <= 3; dy++)
          for (let dx = -3; dx <= 3; dx++) {
            const v = r.model[(y + dy) * 64 + xx + dx];
            if (v > bv) {
              bv = v;
              best = (y + dy) * 64 + xx + dx;
            }
          }
        expect(best).toBe(y * 64 + xx);
      }
      expect(Math.abs(r.modelFlux - 1.8)).toBeLessThan(0.03);
      if (method === 'cotton-schwab') expect(r.majorCycles).toBeGreaterThan(1);
    });
  }

  it('a mask keeps components inside it', () => {
    const V = simulate(null);
    const A = makeNufftMeasurement(x.u, x.v, grid);
    const mask = new Uint8Array(64 * 64);
    for (let y = 28; y < 37; y++) for (let xx = 28; xx < 37; xx++) mask[y * 64 + xx] = 1;
    const r = clean(A, V.re, V.im, w, psfBig, { method: 'hogbom', niter: 200, mask });
    let outside = 0;
    for (let i = 0; i < mask.length; i++) if (!mask[i]) outside += Math.abs(r.model[i]);
    expect(outside).toBe(0);
    expect(r.modelFlux).toBeGreaterThan(0.8);
  });

  it('the residual reaches the thermal noise 1/√Σw (natural weights) with noise of known σ', () => {
    const sigma = Float64Array.from(x.weight, (wk) => 1 / Math.sqrt(wk));
    const z = randn(2 * x.n, 21);
    const noise = Float64Array.from(z, (v, i) => v * sigma[i >> 1] * 20); // 20× the file's noise
    const wk = Float64Array.from(sigma, (s) => 1 / (400 * s * s));
    const V = simulate(noise);
    let sw = 0;
    for (const q of wk) sw += q;
    const thermal = 1 / Math.sqrt(sw);
    const A = makeNufftMeasurement(x.u, x.v, grid);
    const big = dirtyBeam(x.u, x.v, wk, doubleGrid(grid));
    const r = clean(A, V.re, V.im, wk, big, { method: 'cotton-schwab', niter: 5000, threshold: 3 * thermal });
    let ss = 0;
    for (const q of r.residual) ss += q * q;
    const rms = Math.sqrt(ss / r.residual.length);
    expect(rms / thermal).toBeGreaterThan(0.75);
    expect(rms / thermal).toBeLessThan(1.25);
    // each source's flux is in its components plus what is left in the residual at its pixel (a point source's
    // dirty peak in Jy/beam is its flux), to the noise: |error| < 4σ
    for (const [y, xx, f] of sources) {
      let box = r.residual[y * 64 + xx];
      for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) box += r.model[(y + dy) * 64 + xx + dx];
      expect(Math.abs(box - f)).toBeLessThan(4 * thermal);
    }
    // without CLEAN the residual is far above the noise
    const r0 = clean(A, V.re, V.im, wk, big, { method: 'hogbom', niter: 0 });
    let s0 = 0;
    for (const q of r0.residual) s0 += q * q;
    expect(Math.sqrt(s0 / r0.residual.length) / thermal).toBeGreaterThan(3);
  });

  it('refuses a bad gain or niter', () => {
    const A = makeNufftMeasurement(x.u, x.v, grid);
    expect(() => clean(A, x.re, x.im, w, psfBig, { method: 'hogbom', niter: 10, gain: 0 })).toThrow(/gain/);
    expect(() => clean(A, x.re, x.im, w, psfBig, { method: 'hogbom', niter: -1 })).toThrow(/niter/);
  });
});

describe('restoring beam', () => {
  const g: ImageGrid = { nx: 64, ny: 64, cell: 0.1 * ARCSEC };
  for (const [bmajAs, bminAs, bpa] of [
    [1.2, 0.7, 30],
    [0.9, 0.5, -60],
    [1.0, 1.0, 0],
    [1.5, 0.6, 90],
  ]) {
    it(`recovers a ${bmajAs}″ × ${bminAs}″ Gaussian at PA ${bpa}°`, () => {
      const want = beamFromAxes(bmajAs / 3600, bminAs / 3600, bpa, g.cell);
      const img = beamImage(want, g);
      const fit = fitBeam(img, g);
      expect(fit.bmaj * 3600).toBeCloseTo(bmajAs, 8);
      expect(fit.bmin * 3600).toBeCloseTo(bminAs, 8);
      if (bmajAs !== bminAs) {
        const d = (((fit.bpa - bpa) % 180) + 180) % 180;
        expect(Math.min(d, 180 - d)).toBeLessThan(1e-6);
      }
    });
  }

  it('the PA is East of North: a beam elongated along the image diagonal up-left has PA +45°', () => {
    // a beam written by hand: long along the pixel direction (−1, +1), i.e. towards East (left) and North (up)
    const img = new Float64Array(64 * 64);
    for (let y = 0; y < 64; y++)
      for (let xx = 0; xx < 64; xx++) {
        const dx = xx - 32;
        const dy = y - 32;
        const along = (-dx + dy) / Math.SQRT2;
        const across = (dx + dy) / Math.SQRT2;
        img[y * 64 + xx] = Math.exp(-0.5 * ((along / 4) ** 2 + (across / 2) ** 2));
      }
    const fit = fitBeam(img, g);
    expect(fit.bpa).toBeCloseTo(45, 8);
    expect((fit.bmaj * 3600) / 0.1).toBeCloseTo(4 * 2.354820045, 6);
  });

  it('restores a model as model ⊛ beam + residual (a lone component becomes the beam, flux in Jy/beam)', () => {
    const b = beamFromAxes(0.8 / 3600, 0.4 / 3600, 20, g.cell);
    const model = new Float64Array(64 * 64);
    model[32 * 64 + 32] = 2;
    const res = Float64Array.from({ length: 64 * 64 }, (_, i) => (i === 5 ? 0.1 : 0));
    const img = restore(model, res, b, g);
    const want = beamImage(b, g);
    for (let i = 0; i < img.length; i++) expect(img[i]).toBeCloseTo(2 * want[i] + res[i], 10);
  });

  it('fits the real VLBA dirty beam: BMAJ ≥ BMIN, near the 1/(2 u_max) scale', () => {
    const gg: ImageGrid = { nx: 128, ny: 128, cell: 0.03e-3 * ARCSEC };
    const psf = cropBeam(dirtyBeam(x.u, x.v, x.weight, doubleGrid(gg)), gg);
    const fit = fitBeam(psf, gg);
    let umax = 0;
    for (let k = 0; k < x.n; k++) umax = Math.max(umax, Math.hypot(x.u[k], x.v[k]));
    const scaleDeg = (1 / (2 * umax)) * (180 / Math.PI);
    expect(fit.bmaj).toBeGreaterThanOrEqual(fit.bmin);
    expect(fit.bmin).toBeGreaterThan(0.3 * scaleDeg);
    expect(fit.bmaj).toBeLessThan(10 * scaleDeg);
  });
});

describe('a dirty beam whose main lobe reaches the image edge (PAPER-like redundant baselines)', () => {
  it('is marked lobeAtEdge where every baseline has one length and direction; a 2-D coverage is not', () => {
    const g: ImageGrid = { nx: 64, ny: 64, cell: (1 / (6 * 15)) };
    // 40 visibilities on east–west baselines of 14.6…15.7 λ with a little north–south spread: a fringe, not a beam
    const n = 40;
    const u = Float64Array.from({ length: n }, (_, k) => 14.6 + (1.1 * k) / (n - 1));
    const v = Float64Array.from({ length: n }, (_, k) => 0.3 * Math.sin(k));
    const w = new Float64Array(n).fill(1);
    const stripe = fitBeam(cropBeam(dirtyBeam(u, v, w, doubleGrid(g)), g), g);
    expect(stripe.lobeAtEdge).toBe(true);
    expect(stripe.bmaj).toBeGreaterThan((64 * g.cell * 180) / Math.PI);
    // the same lengths turned through 180° of position angle: a round beam well inside the image
    const ang = Float64Array.from({ length: n }, (_, k) => (Math.PI * k) / n);
    const u2 = Float64Array.from(ang, (a, k) => u[k] * Math.cos(a));
    const v2 = Float64Array.from(ang, (a, k) => u[k] * Math.sin(a));
    const round = fitBeam(cropBeam(dirtyBeam(u2, v2, w, doubleGrid(g)), g), g);
    expect(round.lobeAtEdge).toBeUndefined();
    expect(round.bmaj).toBeLessThan((16 * g.cell * 180) / Math.PI);
  });
});
