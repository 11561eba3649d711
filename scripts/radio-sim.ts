/**
 * The simulated radio observations of the radio evaluation (scripts/radio-eval.ts, scripts/radio-core-diagnosis.ts):
 * a known 64×64 truth (peak 1 Jy/pixel) observed on real (u, v) tracks with complex Gaussian noise.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { readImage2d } from '../src-main/forward-model-files.js';
import { readUvfits, selectVisibilities } from '../src-shared/radio/uvfits.js';
import { chooseMeasurement } from '../src-shared/radio/measurement.js';
import { cropBeam, dirtyBeam, doubleGrid } from '../src-shared/radio/imaging.js';
import { fitBeam } from '../src-shared/radio/clean.js';
import { ChainRandom } from '../src-shared/diffusion/chain-rng.js';
import type { ImageGrid } from '../src-shared/radio/grid.js';
import { Rng } from '../src-shared/diffusion/nn/rng.js';
import { synthRadioImages } from '../src-shared/radio/synth-sources.js';

export const DATA = path.resolve(import.meta.dirname, '..', '..', 'shared', 'data');
export const SIDE = 64;
export const DEFAULT_TRUTH = path.join(DATA, 'radio', 'purify_M31.fits');
export const DEFAULT_TRACKS = path.join(DATA, 'uvfits', 'vlba43_BLLAC_2013may30.uvfits');

function boxAverage(data: Float32Array | Float64Array, [ny, nx]: [number, number], side: number): Float64Array {
  const fy = Math.floor(ny / side);
  const fx = Math.floor(nx / side);
  const oy = Math.floor((ny - fy * side) / 2);
  const ox = Math.floor((nx - fx * side) / 2);
  const out = new Float64Array(side * side);
  for (let i = 0; i < side; i++) {
    for (let j = 0; j < side; j++) {
      let s = 0;
      for (let a = 0; a < fy; a++) for (let b = 0; b < fx; b++) s += data[(oy + i * fy + a) * nx + ox + j * fx + b] || 0;
      out[i * side + j] = s / (fy * fx);
    }
  }
  return out;
}

/**
 * The truth: a radio image file box-averaged to 64×64, or `synth:SEED:K`, the K-th (from 0) non-empty image that
 * src-shared/radio/synth-sources.ts draws from seed SEED; scaled to a peak of 1 Jy/pixel.
 */
export async function loadTruth(spec: string): Promise<{ truth: Float64Array; morphology: string | null }> {
  let truth: Float64Array | null = null;
  let morphology: string | null = null;
  if (spec.startsWith('synth:')) {
    const [, seedText, kText] = spec.split(':');
    const r = new Rng(Number(seedText));
    let k = Number(kText);
    while (truth === null) {
      const d = synthRadioImages(r, 1, SIDE);
      if (d.morphologies[0] === 'empty') continue;
      if (k-- === 0) {
        truth = Float64Array.from(d.images);
        morphology = d.morphologies[0];
      }
    }
  } else {
    const img = await readImage2d(spec);
    truth = boxAverage(img.data, img.shape, SIDE);
  }
  let peak = 0;
  for (const v of truth) peak = Math.max(peak, v);
  for (let i = 0; i < truth.length; i++) truth[i] /= peak;
  return { truth, morphology };
}

/**
 * The truth observed on the tracks' (u, v) (Stokes I), cell 1/(6 u_max), plus complex Gaussian noise whose σ per part
 * makes the natural-weighted dirty image's noise 1/snr of its peak (noise stream ChainRandom(2026, 0)).
 */
export function simulateObservation(truth: Float64Array, tracksFile: string, snr: number) {
  const vis = selectVisibilities(readUvfits(new Uint8Array(readFileSync(tracksFile)), tracksFile), 'I', tracksFile);
  let umax = 0;
  for (let k = 0; k < vis.n; k++) umax = Math.max(umax, Math.hypot(vis.u[k], vis.v[k]));
  const grid: ImageGrid = { nx: SIDE, ny: SIDE, cell: 1 / (6 * umax) };
  const A = chooseMeasurement(vis.u, vis.v, grid);
  const model = A.forward(truth);
  // σ per part so that the natural-weighted dirty image's noise, σ/√M, is 1/S of the dirty image's peak
  const dirtyPeak = Math.max(...A.adjoint(model.re, model.im).re) / vis.n;
  const sigma = (dirtyPeak / snr) * Math.sqrt(vis.n);
  const r = new ChainRandom(2026, 0);
  const re = Float64Array.from(model.re, (v) => v + sigma * r.normal());
  const im = Float64Array.from(model.im, (v) => v + sigma * r.normal());
  const weight = new Float64Array(vis.n).fill(1 / (sigma * sigma));
  const data = { ...vis, re, im, weight };
  const big = dirtyBeam(vis.u, vis.v, weight, doubleGrid(grid));
  const beam = fitBeam(cropBeam(big, grid), grid);
  const chi2Of = (x: ArrayLike<number>) => {
    const m = A.forward(Float64Array.from(x));
    let c2 = 0;
    for (let k = 0; k < vis.n; k++) c2 += weight[k] * ((re[k] - m.re[k]) ** 2 + (im[k] - m.im[k]) ** 2);
    return c2 / (2 * vis.n);
  };
  return { vis, grid, A, sigma, re, im, weight, data, big, beam, chi2Of };
}
