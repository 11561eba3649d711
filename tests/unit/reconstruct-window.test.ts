/**
 * The reconstruction service on a lens model with a mask: the forward model runs on the mask's window of the
 * observation (prepare.ts, cropForwardModel), and the run is the whole grid's — the same χ², posterior and residual
 * on the mask —, with residual.fits on the observation's whole grid (NaN outside the window, as where masked).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { FitsHeader } from '../../src-shared/fits/index.js';
import { prepareReconstruction, runReconstruction, type ModelInput, type ReconstructionRun } from '../../src-main/reconstruct/index.js';
import type { BackendInfo } from '../../src-shared/protocol/index.js';
import { randn } from './operators-ref.js';
import { writePowerSpectrumPrior } from '../helpers/power-spectrum-prior.js';

const NY = 72;
const NX = 88;
let dir = '';

beforeAll(async () => {
  await tf.setBackend('cpu');
  dir = mkdtempSync(path.join(tmpdir(), 'skyscore-window-'));
  writePowerSpectrumPrior(path.join(dir, 'pk16.fits'), 16, 1, 2, 2);
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const info: BackendInfo = { backend: 'cpu', requested: 'cpu', tfjsVersion: tf.version_core, gpuAdapter: { found: false, description: null, software: false }, cpuCores: 1, initMs: 0, skipped: [] };

/** A disc of 14 px around (row 30, column 52) — off the grid's centre —, a 5 × 5 PSF, the lens light as the additive image. */
function model(): ModelInput {
  const mask = new Float32Array(NY * NX);
  for (let i = 0; i < NY; i++) for (let j = 0; j < NX; j++) if ((i - 30) ** 2 + (j - 52) ** 2 <= 14 * 14) mask[i * NX + j] = 1;
  const psf = Float32Array.from([1, 2, 3, 2, 1, 2, 4, 6, 4, 2, 3, 6, 9, 6, 3, 2, 4, 6, 4, 2, 1, 2, 3, 2, 1]);
  const light = Float32Array.from(randn(NY * NX, 3), (v) => 0.01 * v + 0.05);
  const images: Record<string, { data: Float32Array; shape: number[] }> = {
    'mask.fits': { data: mask, shape: [NY, NX] },
    'psf.fits': { data: psf, shape: [5, 5] },
    'light.fits': { data: light, shape: [NY, NX] },
  };
  const spec = {
    shape: [16, 16],
    operators: [
      { type: 'lens', imageShape: [NY, NX], imagePixelScale: 0.05, sourcePixelScale: 0.05, supersample: 2, lens: { model: 'SIE', thetaE: 0.45, q: 0.8, phi: 0.3, x0: 0.3, y0: -0.3 }, shear: { gamma1: 0.02 } },
      { type: 'psf', fits: 'psf.fits' },
      { type: 'mask', fits: 'mask.fits' },
    ],
    additive: { fits: 'light.fits' },
  };
  return {
    json: JSON.stringify(spec),
    name: 'M.json',
    path: 'M.json',
    loader: { loadImage: async (rel) => images[rel]!, loadText: () => Promise.reject(new Error('no tables')) },
    filesRead: () => [],
  };
}

async function reconstruct(crop: boolean): Promise<{ run: ReconstructionRun; window: unknown; dataShape: number[] }> {
  const data = Float32Array.from(randn(NY * NX, 4), (v) => 0.05 + 0.02 * v);
  const sigma = new Float32Array(NY * NX).fill(0.02);
  sigma[(30 - 10) * NX + 52] = Number.NaN; // a pixel without information, inside the mask
  const prep = await prepareReconstruction({
    observation: { data, shape: [NY, NX], fitsShape: [NX, NY], header: new FitsHeader(), name: 'obs.fits', path: 'obs.fits', hdu: 0, plane: 0 },
    model: model(),
    noise: { kind: 'map', sigma, shape: [NY, NX], name: 'sigma.fits' },
    prior: `gaussian-field:${path.join(dir, 'pk16.fits')}`,
    settings: { sampler: 'pc', n: 2, steps: 8, seed: 3, fluxScale: 1, workers: 1, batch: null },
    backend: async () => info,
    crop,
  });
  try {
    return { run: await runReconstruction(prep, { convergenceCheck: false }), window: prep.window, dataShape: prep.likelihood.dataShape.slice() };
  } finally {
    prep.dispose();
  }
}

describe('reconstruct on the window of a lens model’s mask', () => {
  it('runs on the window and gives the whole grid’s run: χ², posterior mean, residual on the mask; residual.fits on the whole grid, NaN outside', async () => {
    const a = await reconstruct(true);
    const b = await reconstruct(false);
    // the disc's rows 16..44, columns 38..66, dilated by the PSF's reach of 2
    expect(a.window).toEqual({ y0: 14, x0: 36, shape: [33, 33], fullShape: [NY, NX] });
    expect(a.dataShape).toEqual([33, 33]);
    expect(b.window).toBeNull();
    expect(b.dataShape).toEqual([NY, NX]);
    expect(a.run.report.modelWindow).toEqual({ x0: 36, y0: 14, nx: 33, ny: 33 });
    expect(b.run.report.modelWindow).toBeUndefined();
    const pa = a.run.products;
    const pb = b.run.products;
    expect(a.run.report.observedPixels).toBe(b.run.report.observedPixels);
    expect(a.run.report.observedPixels).toBeGreaterThan(500);
    expect(pa.chi2PerPixel!).toBeGreaterThan(0.1);
    expect(Math.abs(pa.chi2PerPixel! / pb.chi2PerPixel! - 1)).toBeLessThan(1e-4);
    let diff = 0;
    let peak = 0;
    for (let k = 0; k < pa.mean.length; k++) {
      diff = Math.max(diff, Math.abs(pa.mean[k] - pb.mean[k]));
      peak = Math.max(peak, Math.abs(pb.mean[k]));
    }
    expect(diff / peak).toBeLessThan(1e-4);
    expect(pa.dataShape).toEqual([NY, NX]);
    expect(pa.residual!.length).toBe(NY * NX);
    let finite = 0;
    for (let k = 0; k < NY * NX; k++) {
      const ra = pa.residual![k];
      const rb = pb.residual![k];
      if (Number.isFinite(rb)) {
        finite++;
        expect(Math.abs(ra - rb)).toBeLessThan(1e-3);
      } else expect(ra).toBeNaN();
    }
    expect(finite).toBeGreaterThan(500);
  }, 120_000);
});
