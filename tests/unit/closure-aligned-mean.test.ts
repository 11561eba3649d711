/**
 * The aligned mean of closure draws (closure-likelihood.ts, alignedMean): closures fix no position, so draws of one
 * structure at different positions fit them each while their plain mean blurs; aligned to the first by
 * cross-correlation their mean is the structure again and fits as a draw does.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src-main/engine/backend.js';
import { alignedMean, ClosureLikelihood } from '../../src-shared/diffusion/closure-likelihood.js';
import { dftForward } from '../../src-shared/radio/dft.js';
import { selectVisibilities } from '../../src-shared/radio/uvfits.js';
import type { ImageGrid } from '../../src-shared/radio/grid.js';
import { normal, simulateVlbi, skyImage, uniforms, UAS, type Component } from '../helpers/vlbi-sim.js';

beforeAll(async () => {
  await initBackend('cpu');
});

/** A crescent: a 2 Jy ring of radius 25 µas (32 Gaussians of FWHM 10 µas), ±60 % brighter on one side. */
function crescent(): Component[] {
  const n = 32;
  return Array.from({ length: n }, (_, i) => {
    const a = (2 * Math.PI * i) / n;
    return { flux: (2 / n) * (1 + 0.6 * Math.cos(a - 1)), l: 25 * UAS * Math.cos(a), m: 25 * UAS * Math.sin(a), fwhm: 10 * UAS };
  });
}

/** img moved by (dx, dy) whole pixels, zero-filled. */
function moved(img: Float64Array, g: ImageGrid, dx: number, dy: number): Float64Array {
  const out = new Float64Array(img.length);
  for (let y = 0; y < g.ny; y++) for (let x = 0; x < g.nx; x++) {
    const xs = x - dx;
    const ys = y - dy;
    if (xs >= 0 && xs < g.nx && ys >= 0 && ys < g.ny) out[y * g.nx + x] = img[ys * g.nx + xs];
  }
  return out;
}

describe('closure likelihood: the aligned mean of draws', () => {
  it('undoes the draws’ shifts, and its mean fits the closures where the plain mean does not', () => {
    const grid: ImageGrid = { nx: 32, ny: 32, cell: 6 * UAS };
    const truth = skyImage(crescent(), grid);
    const base = selectVisibilities(simulateVlbi({ sky: crescent(), scans: 6, sigma: 0 }).uv);
    const m = dftForward(base.u, base.v, grid, truth);
    const r = uniforms(4);
    const vis = { ...base, re: Float64Array.from(m.re, (v) => v + 0.01 * normal(r)), im: Float64Array.from(m.im, (v) => v + 0.01 * normal(r)), weight: new Float64Array(base.n).fill(1 / 0.01 ** 2) };
    const lik = new ClosureLikelihood({ vis, grid, totalFlux: 2 });
    const chi = (x: Float64Array) => {
      const c = lik.chi2Parts(x);
      return (c.phase + c.logAmp) / lik.observed;
    };
    // three "draws": the crescent at three positions (each fits its closures: translation changes none)
    const shifts: [number, number][] = [[0, 0], [4, -3], [-5, 2]];
    const draws = shifts.map(([dx, dy]) => moved(truth, grid, dx, dy));
    const stack = new Float64Array(3 * truth.length);
    draws.forEach((d, k) => stack.set(d, k * truth.length));
    const plain = new Float64Array(truth.length);
    for (const d of draws) for (let p = 0; p < plain.length; p++) plain[p] += d[p] / 3;
    const a = alignedMean(stack, 3, grid);
    expect(a.shifts).toEqual([[0, 0], [-4, 3], [5, -2]]);
    for (let p = 0; p < truth.length; p++) expect(a.mean[p]).toBeCloseTo(truth[p], 12);
    const [c0, cPlain, cAligned] = [chi(draws[0]), chi(plain), chi(a.mean)];
    console.log(`χ² per closure: a draw ${c0.toFixed(3)}, plain mean ${cPlain.toFixed(2)}, aligned mean ${cAligned.toFixed(3)}`);
    expect(c0).toBeLessThan(1.5);
    expect(cPlain).toBeGreaterThan(10 * c0);
    expect(cAligned).toBeCloseTo(c0, 6);
  });
});
