/**
 * The reconstruction service on worker threads with a lens model: the lens's normal matrix AᵀWA and its deflation
 * eigenpairs are formed once in the service's thread (shared memory) where the workers' runs would form them —
 * batches of ≥ 4 chains, enough levels — and every worker solves through them; with fewer chains a worker, none.
 * (That the shared G and pairs are a worker's own, bit for bit: tests/unit/normal-matrix.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { FitsHeader } from '../../src-shared/fits/index.js';
import { prepareReconstruction, runReconstruction, type ModelInput } from '../../src-main/reconstruct/index.js';
import type { BackendInfo } from '../../src-shared/protocol/index.js';
import { randn } from './operators-ref.js';
import { writePowerSpectrumPrior } from '../helpers/power-spectrum-prior.js';

const NY = 40;
const NX = 40;
let dir = '';

beforeAll(async () => {
  await tf.setBackend('cpu');
  dir = mkdtempSync(path.join(tmpdir(), 'skyscore-shared-normal-'));
  writePowerSpectrumPrior(path.join(dir, 'pk16.fits'), 16, 1, 2, 2);
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const info: BackendInfo = { backend: 'cpu', requested: 'cpu', tfjsVersion: tf.version_core, gpuAdapter: { found: false, description: null, software: false }, cpuCores: 2, initMs: 0, skipped: [] };

/** An SIE onto 40 × 40 pixels through a 5 × 5 PSF, a disc mask: lens → psf → mask, what lens-fit writes. */
function model(): ModelInput {
  const mask = new Float32Array(NY * NX);
  for (let i = 0; i < NY; i++) for (let j = 0; j < NX; j++) if ((i - 19.5) ** 2 + (j - 19.5) ** 2 <= 16 * 16) mask[i * NX + j] = 1;
  const psf = Float32Array.from([1, 2, 3, 2, 1, 2, 4, 6, 4, 2, 3, 6, 9, 6, 3, 2, 4, 6, 4, 2, 1, 2, 3, 2, 1]);
  const images: Record<string, { data: Float32Array; shape: number[] }> = {
    'mask.fits': { data: mask, shape: [NY, NX] },
    'psf.fits': { data: psf, shape: [5, 5] },
  };
  const spec = {
    shape: [16, 16],
    operators: [
      { type: 'lens', imageShape: [NY, NX], imagePixelScale: 0.05, sourcePixelScale: 0.04, supersample: 2, lens: { model: 'SIE', thetaE: 0.5, q: 0.8, phi: 0.3, x0: 0.02, y0: -0.03 }, shear: { gamma1: 0.02 } },
      { type: 'psf', fits: 'psf.fits' },
      { type: 'mask', fits: 'mask.fits' },
    ],
  };
  return {
    json: JSON.stringify(spec),
    name: 'M.json',
    path: 'M.json',
    loader: { loadImage: async (rel) => images[rel]!, loadText: () => Promise.reject(new Error('no tables')) },
    filesRead: () => [],
  };
}

async function reconstruct(n: number, steps: number): Promise<{ notes: string[]; description: string; chi2: number; solves: number }> {
  const data = Float32Array.from(randn(NY * NX, 4), (v) => 0.05 + 0.02 * v);
  const sigma = Float32Array.from(randn(NY * NX, 5), (v) => 0.02 * (1 + 0.2 * Math.abs(v)));
  const prep = await prepareReconstruction({
    observation: { data, shape: [NY, NX], fitsShape: [NX, NY], header: new FitsHeader(), name: 'obs.fits', path: 'obs.fits', hdu: 0, plane: 0 },
    model: model(),
    noise: { kind: 'map', sigma, shape: [NY, NX], name: 'sigma.fits' },
    prior: `gaussian-field:${path.join(dir, 'pk16.fits')}`,
    settings: { sampler: 'pc', n, steps, seed: 3, fluxScale: 1, workers: 2, batch: null },
    backend: async () => info,
  });
  try {
    const notes: string[] = [];
    const run = await runReconstruction(prep, { convergenceCheck: false, onNote: (l) => notes.push(l) });
    const lik = run.report.likelihood as { description: string; cgSolves: number };
    return { notes, description: lik.description, chi2: run.products.chi2PerPixel!, solves: lik.cgSolves };
  } finally {
    prep.dispose();
  }
}

describe('reconstruct on workers with a lens model', () => {
  it('forms AᵀWA and its eigenpairs once for the workers where they hold ≥ 4 chains and the run is long enough; not otherwise', async () => {
    // 2 workers × 4 chains, 12 levels (12 × 31 ≥ 256 products possible): formed here, once
    const shared = await reconstruct(8, 12);
    expect(shared.notes).toEqual([expect.stringMatching(/^AᵀWA and its top 100 eigenpairs formed once for the 2 workers \(shared memory\) in [\d.]+ s$/)]);
    expect(shared.description).toContain('AᵀWA (256² matrix) formed once before the run, shared by the threads');
    expect(shared.solves).toBeGreaterThanOrEqual(8 * 2 * 12 / 4);
    expect(shared.chi2).toBeGreaterThan(0.3);
    expect(shared.chi2).toBeLessThan(3);
    // 2 chains a worker: below the normal matrix's batches
    const small = await reconstruct(4, 12);
    expect(small.notes).toEqual([]);
    expect(small.description).toContain('formed after 256 products');
    // 8 levels: at most 8 × 31 = 248 products a worker, fewer than the 256 after which a worker would form it
    const short = await reconstruct(8, 8);
    expect(short.notes).toEqual([]);
  }, 300_000);
});
