/**
 * The posterior from visibilities on the worker pool, and "stop and keep", on real data (the VLBA 43 GHz BL Lac
 * file, a 16² grid, a Gaussian-field prior):
 *  - the chains over 2 worker threads (the normal equations made once here and shared with them) are the chains
 *    of one thread, to the bit, whether each chain is solved alone (--batch 1) or with others (each chain's
 *    conjugate gradients stop at its own tolerance);
 *  - a run stopped with 'keep' writes its products from every chain's latest state, and says so in report.json
 *    (`stopped`: where, how many chains), its warnings and the FITS headers (SKYSTOP, SKYNSAMP), on one thread and
 *    on two; a plain stop has no products.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { initBackend } from '../../src-main/engine/backend.js';
import { readUvfits } from '../../src-shared/radio/uvfits.js';
import { readFitsImage } from '../../src-shared/fits/index.js';
import { reconstructUvfits, type VisibilityReconstruction, type VisibilityRunHooks } from '../../src-main/reconstruct/visibilities.js';
import { SamplingCancelledError } from '../../src-shared/diffusion/posterior.js';
import { DATA_DIR } from '../helpers/data.js';
import { writePowerLawPrior } from '../helpers/vlbi-sim.js';

const FILE = path.join(DATA_DIR, 'uvfits', 'vlba43_BLLAC_2013may30.uvfits');
const N = 16;
let dir = '';
let prior = '';

beforeAll(async () => {
  await initBackend('wasm');
  dir = mkdtempSync(path.join(tmpdir(), 'skyscore-visw-'));
  prior = writePowerLawPrior(dir, N);
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const uv = () => readUvfits(new Uint8Array(readFileSync(FILE)), 'bllac.uvfits');

function run(workers: number, batch: number | null, hooks: VisibilityRunHooks = {}, n = 4, steps = 30): Promise<VisibilityReconstruction> {
  return reconstructUvfits(
    uv(),
    {
      name: 'bllac.uvfits',
      file: 'bllac.uvfits',
      size: N,
      cellArcsec: 0.05e-3,
      prior,
      settings: { sampler: 'pc', n, steps, seed: 7, fluxScale: null, workers, batch },
      backend: () => initBackend('wasm'),
      command: 'reconstruct --vis bllac.uvfits',
      reweight: true,
    },
    hooks,
  );
}

const fits = (r: VisibilityReconstruction, name: string) => readFitsImage(r.files.find((f) => f.name === name)!.bytes);
const report = (r: VisibilityReconstruction) => JSON.parse(new TextDecoder().decode(r.files.find((f) => f.name === 'report.json')!.bytes));

describe('reconstruct --vis on the worker pool', () => {
  it('gives one thread\'s samples on two, the same bytes, whatever the batch', async () => {
    const one = await run(1, 1);
    const two = await run(2, 1);
    expect(report(one).workers).toBe(1);
    expect(report(two).workers).toBe(2);
    expect(two.workers).toBe(2);
    // the FITS products (HISTORY without the worker count, as an image run's) are the same bytes
    for (const f of ['posterior-samples.fits', 'posterior-mean.fits', 'posterior-std.fits', 'residual.fits']) {
      expect(Buffer.from(two.files.find((x) => x.name === f)!.bytes).equals(Buffer.from(one.files.find((x) => x.name === f)!.bytes)), f).toBe(true);
    }
    expect(report(two).likelihood.cgSolves).toBe(report(one).likelihood.cgSolves);
    expect(report(two).scoreEvaluations).toBe(report(one).scoreEvaluations);

    // the four chains solved together (one worker) or two by two: each chain's conjugate gradients stop at its own
    // tolerance, so the chains are the same bytes again
    const together = await run(1, null);
    const pairs = await run(2, null);
    for (const f of ['posterior-samples.fits', 'posterior-mean.fits', 'posterior-std.fits', 'residual.fits']) {
      expect(Buffer.from(pairs.files.find((x) => x.name === f)!.bytes).equals(Buffer.from(together.files.find((x) => x.name === f)!.bytes)), f).toBe(true);
    }
    const a = fits(together, 'posterior-samples.fits').data;
    const std = fits(together, 'posterior-std.fits').data;
    let scale = 0;
    for (const v of std) scale = Math.max(scale, v);
    // a different seed is a different draw: the comparison can fail
    const other = await reconstructUvfits(uv(), {
      name: 'bllac.uvfits', file: 'bllac.uvfits', size: N, cellArcsec: 0.05e-3, prior,
      settings: { sampler: 'pc', n: 4, steps: 30, seed: 8, fluxScale: null, workers: 2, batch: null },
      backend: () => initBackend('wasm'), command: 'x', reweight: true,
    });
    const c = fits(other, 'posterior-samples.fits').data;
    let dac = 0;
    for (let i = 0; i < a.length; i++) dac = Math.max(dac, Math.abs(a[i] - c[i]));
    expect(dac / scale).toBeGreaterThan(0.5);
  }, 240_000);
});

describe('stop and keep', () => {
  for (const workers of [1, 2]) {
    it(`writes products from every chain's latest state, and says so (${workers} worker${workers > 1 ? 's' : ''})`, async () => {
      const ctl = new AbortController();
      let previews = 0;
      const r = await run(
        workers,
        null,
        {
          signal: ctl.signal,
          previewIntervalMs: 1,
          previewSamples: 3,
          onProgress: (p) => {
            if (p.preview && p.step >= 6 && ++previews === 1) ctl.abort('keep');
          },
        },
        3,
        400,
      );
      expect(r.stopped).not.toBeNull();
      expect(r.stopped!.chains).toBe(3);
      expect(r.stopped!.of).toBe(3);
      expect(r.stopped!.step).toBeGreaterThanOrEqual(6);
      expect(r.stopped!.step).toBeLessThan(400);
      const rep = report(r);
      expect(rep.stopped).toMatchObject({ chains: 3, of: 3, steps: 400 });
      expect(rep.n).toBe(3);
      expect(rep.workers).toBe(workers);
      expect(rep.warnings[0]).toMatch(/^stopped at step \d+\/400, sigma .*: the products are the 3 chains' states then/);
      expect(rep.chi2PerVisibility.samples).toHaveLength(3);
      const samples = fits(r, 'posterior-samples.fits');
      expect(samples.shape.slice(0, 3)).toEqual([N, N, 3]);
      expect(samples.data.every(Number.isFinite)).toBe(true);
      expect(samples.header.getNumber('SKYNSAMP')).toBe(3);
      expect(samples.header.getString('SKYSTOP')).toMatch(/^step \d+\/400/);
      // the mean is the chains' mean (their states then), and the std their spread
      const mean = fits(r, 'posterior-mean.fits').data;
      const per = N * N;
      let err = 0;
      let big = 0;
      for (let i = 0; i < per; i++) {
        const m = (samples.data[i] + samples.data[per + i] + samples.data[2 * per + i]) / 3;
        err = Math.max(err, Math.abs(mean[i] - m));
        big = Math.max(big, Math.abs(m));
      }
      expect(err / big).toBeLessThan(1e-5);
    }, 240_000);
  }

  it('a plain stop keeps nothing', async () => {
    const ctl = new AbortController();
    await expect(
      run(1, null, { signal: ctl.signal, previewIntervalMs: 1, previewSamples: 2, onProgress: (p) => p.step >= 3 && ctl.abort() }, 2, 400),
    ).rejects.toBeInstanceOf(SamplingCancelledError);
  }, 120_000);
});
