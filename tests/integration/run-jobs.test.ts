/**
 * The app's jobs in the engine, end to end without a browser: a tiny prior trained by the training job into the
 * user's prior folder (then listed), posterior sampling on a real galaxy image through a PSF with progress events,
 * previews and products (FITS with the observation's header and provenance, report.json), the same seed giving
 * the same samples, Stop, one job at a time (a queue), and the size policy for priors (a U-Net of another size runs with a
 * note, one below its minimum size is refused).
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { jobHandlers, listPriors } from '../../src-main/engine/jobs.js';
import { initBackend } from '../../src-main/engine/backend.js';
import type { EngineContext } from '../../src-main/engine/handlers.js';
import type { EngineEvent, JobEvent, ReconstructParams, ReconstructProgress, TrainProgress } from '../../src-shared/protocol/index.js';
import { readFits, writeFits } from '../../src-shared/fits/index.js';
import { trainTinyPrior } from '../e2e/small-prior.js';
import { dataPath } from '../helpers/data.js';
import { backgroundReference } from '../../src-shared/diffusion/flux-reference.js';
import { jobEnd } from '../helpers/engine-events.js';

const CUBE = readFileSync(dataPath('train', 'galaxyzoo_kaggle2000_gray64.fits'));
/** The real cube (the observation is one of its planes). */
const cube = new Uint8Array(CUBE.buffer, CUBE.byteOffset, CUBE.byteLength);
/** Its first 64 galaxies as a smaller cube, for fast training. */
const small = (() => {
  const h = readFits(cube).hdus[0]!;
  const all = h.readImage().data;
  return writeFits([{ data: Uint8Array.from(all.subarray(0, 64 * 64 * 64)), shape: [64, 64, 64] }]);
})();
/** A mask on the 64×64 grid: a bad column and a box not observed. */
const maskFits = (() => {
  const m = new Uint8Array(64 * 64).fill(1);
  for (let i = 0; i < 64; i++) m[i * 64 + 10] = 0;
  for (let i = 40; i < 50; i++) for (let j = 40; j < 52; j++) m[i * 64 + j] = 0;
  return writeFits([{ data: m, shape: [64, 64] }]);
})();
let dir: string;
const events: EngineEvent[] = [];
const ctx: EngineContext = { emit: (ev) => void events.push(ev), backend: () => initBackend('wasm'), processKind: 'test' };

const waitFor = (jobId: string): Promise<JobEvent> => jobEnd(events, jobId);
const progressOf = (jobId: string) => events.filter((e): e is Extract<JobEvent, { event: 'job.progress' }> => e.event === 'job.progress' && e.data.jobId === jobId).map((e) => e.data);


async function tinyPrior(name: string, size: number) {
  await trainTinyPrior(path.join(dir, 'models', name), size, { name: 'galaxies.fits', bytes: small }, 'galaxyzoo_kaggle2000_gray64.fits (first 64)');
}

function params(over: Partial<ReconstructParams['settings']> = {}, prior = 'tiny-64'): ReconstructParams {
  return {
    obs: { name: 'galaxies.fits', bytes: cube, hdu: 0, plane: 1500 },
    // a mask: the likelihood is exact and cheap (the PSF path, with conjugate gradients, is in the e2e test)
    model: { shape: [64, 64], operators: [{ type: 'mask', fits: 'mask.fits' }] },
    files: [{ name: 'mask.fits', bytes: maskFits }],
    noise: { kind: 'sigma', sigma: 4 },
    prior: `user/${prior}`,
    settings: { sampler: 'pc', n: 2, steps: 20, seed: 7, fluxScale: null, ...over },
    previewHz: 30,
  };
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'skyscore-jobs-'));
  process.env.SKYSCORE_USER_DIR = dir;
  process.env.SKYSCORE_MODELS_DIR = path.join(dir, 'no-shipped-models');
  await initBackend('wasm');
  await tinyPrior('tiny-64', 64);
  await tinyPrior('tiny-32', 32);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('jobs in the engine', () => {
  it('lists the priors of the user folder', async () => {
    const { priors } = await listPriors();
    expect(priors.map((p) => [p.name, p.imageShape, p.source])).toEqual([
      ['tiny-32', [32, 32], 'user'],
      ['tiny-64', [64, 64], 'user'],
    ]);
  });

  it('samples a posterior with progress, previews and products; the same seed gives the same samples', async () => {
    const started = await jobHandlers['job.reconstruct'](params(), ctx);
    expect(started).toMatchObject({ inShape: [64, 64], outShape: [64, 64], n: 2, steps: 20 });
    const end = await waitFor(started.jobId);
    expect(end.event, JSON.stringify(end.data)).toBe('job.done');
    const prog = progressOf(started.jobId) as ReconstructProgress[];
    expect(prog.length).toBeGreaterThanOrEqual(2);
    expect(prog.at(-1)!.step).toBe(20);
    expect(prog.every((p, i) => i === 0 || p.step >= prog[i - 1]!.step)).toBe(true);
    const withPreview = prog.filter((p) => p.preview);
    expect(withPreview.length).toBeGreaterThanOrEqual(1);
    const pv = withPreview.at(-1)!.preview!;
    expect(pv.shape).toEqual([64, 64]);
    expect(pv.nSamples).toBe(2);
    expect(pv.samples.length).toBe(2 * 64 * 64);
    expect(pv.residual.length).toBe(64 * 64);
    expect(prog.at(-1)!.chi2).toBeGreaterThan(0);

    const products = await jobHandlers['job.products']({ jobId: started.jobId }, ctx);
    expect(products.files.map((f) => f.name)).toEqual(['posterior-mean.fits', 'posterior-std.fits', 'posterior-samples.fits', 'residual.fits', 'report.json']);
    const get = (n: string) => readFits(products.files.find((f) => f.name === n)!.bytes).hdus[0]!;
    const mean = get('posterior-mean.fits');
    expect(mean.shape).toEqual([64, 64]);
    expect(mean.bitpix).toBe(-32);
    expect(get('posterior-samples.fits').shape).toEqual([64, 64, 2]);
    const h = get('posterior-std.fits').header;
    // the provenance cards of `skyscore reconstruct` (one reconstruction service: tests/integration/reconstruct-identity)
    expect(h.getString('SKYCMD')).toBe('reconstruct');
    expect(h.getNumber('SKYSEED')).toBe(7);
    expect(h.getNumber('SKYSTEPS')).toBe(20);
    expect(h.getNumber('SKYNSAMP')).toBe(2);
    expect(h.getString('SKYPRIOR')).toBe('tiny-64');
    expect(h.getString('SKYSAMP')).toBe('pc');
    expect(h.getString('SKYSCORE PRIOR SHA256')).toMatch(/^[0-9a-f]{32}$/);
    expect(h.getString('SKYMODEL')).toMatch(/^[0-9a-f]{64}$/);
    expect(h.getAll('HISTORY').join(' ')).toMatch(/plane 1501 \(1-based\) of HDU 0 of galaxies.fits/);
    expect(h.getAll('HISTORY').join(' ')).toMatch(/sampler pc, 20 steps, 2 samples, seed 7/);
    expect(h.get('CTYPE3')).toBeUndefined();
    const report = JSON.parse(new TextDecoder().decode(products.files.at(-1)!.bytes));
    // a learned prior on the wasm backend: the chains shared by worker threads (one per core, at most n)
    expect(report).toMatchObject({ n: 2, steps: 20, seed: 7, sampler: 'pc', backend: 'wasm', plane: 1500, workers: Math.min(2, os.cpus().length) });
    // automatic flux scale: the data's 99.5th percentile q (numpy's linear interpolation, rank 0.995·4095 =
    // 4074.525) over the prior's data.peakPrior (its training images' median 99.5th percentile, /255), with no
    // offset while the data's sky is at or above the prior's typical sky (data.backgroundPrior) at that scale;
    // below it, (q − sky)/(peakPrior − backgroundPrior) and an offset that maps the data's sky onto F × the prior's
    const plane = readFits(cube).hdus[0]!.readImage().data.subarray(1500 * 4096, 1501 * 4096);
    const sorted = Float32Array.from(plane).sort();
    const { peakPrior, backgroundPrior } = JSON.parse(readFileSync(path.join(dir, 'models', 'tiny-64', 'model.json'), 'utf8')).data as { peakPrior: number; backgroundPrior: number };
    expect(peakPrior).toBeGreaterThan(0.3);
    expect(peakPrior).toBeLessThan(1);
    expect(backgroundPrior).toBeGreaterThan(0);
    expect(backgroundPrior).toBeLessThan(0.1);
    const sky = backgroundReference(plane);
    const q = sorted[4074]! + 0.525 * (sorted[4075]! - sorted[4074]!);
    if (sky >= (q / peakPrior) * backgroundPrior) {
      expect(report.fluxScale.value).toBeCloseTo(q / peakPrior, 4);
      expect(report.fluxScale.background).toBe(0);
    } else {
      expect(report.fluxScale.value).toBeCloseTo((q - sky) / (peakPrior - backgroundPrior), 4);
      expect(report.fluxScale.background).toBeCloseTo(sky - report.fluxScale.value * backgroundPrior, 4);
    }
    expect(report.chi2PerPixel).toBeGreaterThan(0);
    expect(report.scoreEvaluations).toBeGreaterThan(0);
    // the mean product is the chains' Rao–Blackwellised estimate (rao-blackwell.ts; its arithmetic is tested in
    // tests/unit), said in report.json and in the mean's HISTORY, near the two samples' own mean
    expect(report.samplerSettings.meanEstimate).toMatch(/^rao-blackwellised/);
    expect(mean.header.getAll('HISTORY').join('')).toMatch(/mean Rao-Blackwellised: Tweedie/);
    // the draws end with the default second-order Tweedie draw, said in the samples' HISTORY
    expect(report.samplerSettings.denoise).toBe('tweedie-draw (8 probes)');
    expect(get('posterior-samples.fits').header.getAll('HISTORY').join('')).toMatch(/draws end with a second-order Tweedie draw/);
    const s = get('posterior-samples.fits').readImage().data;
    const m = mean.readImage().data;
    let far = 0;
    for (let i = 0; i < 4096; i++) far = Math.max(far, Math.abs(m[i]! - (s[i]! + s[4096 + i]!) / 2) / (Math.abs(s[i]! - s[4096 + i]!) + 0.05 * report.fluxScale.value));
    expect(Number.isFinite(far)).toBe(true);
    expect(far).toBeLessThan(3);
    // residual: (y − A·mean)/σ on the data grid in units of σ (no BUNIT); NaN exactly where the mask hides the data
    const res = get('residual.fits');
    expect(res.shape).toEqual([64, 64]);
    expect(res.header.get('BUNIT')).toBeUndefined();
    const rd = res.readImage().data;
    for (let i = 0; i < 64; i++) {
      for (let j = 0; j < 64; j++) {
        const hidden = j === 10 || (i >= 40 && i < 50 && j >= 40 && j < 52);
        expect(Number.isFinite(rd[i * 64 + j]), `residual (${i}, ${j})`).toBe(!hidden);
      }
    }
    expect(Array.from(rd).filter(Number.isFinite).length).toBe(64 * 64 - 64 - 10 * 12);

    const again = await jobHandlers['job.reconstruct'](params(), ctx);
    expect((await waitFor(again.jobId)).event).toBe('job.done');
    const m2 = readFits((await jobHandlers['job.products']({ jobId: again.jobId }, ctx)).files[0]!.bytes).hdus[0]!.readImage().data;
    expect(Array.from(m2)).toEqual(Array.from(m));
  });

  it('Stop ends a run as cancelled; one job at a time, the others queued; a U-Net of another size runs with a note; bad input is refused', async () => {
    const long = await jobHandlers['job.reconstruct'](params({ steps: 3000 }), ctx);
    expect(long.queued).toBe(0);
    // one job at a time: the next waits in the queue (its place told), and leaves it at once when stopped
    const waiting = await jobHandlers['job.reconstruct'](params(), ctx);
    expect(waiting.queued).toBe(1);
    expect(await jobHandlers['job.cancel']({ jobId: waiting.jobId }, ctx)).toEqual({ cancelled: true });
    expect(await waitFor(waiting.jobId)).toMatchObject({ event: 'job.error', data: { code: 'cancelled' } });
    await new Promise((r) => setTimeout(r, 300));
    expect(await jobHandlers['job.cancel']({ jobId: long.jobId }, ctx)).toEqual({ cancelled: true });
    const end = await waitFor(long.jobId);
    expect(end).toMatchObject({ event: 'job.error', data: { code: 'cancelled' } });
    await expect(jobHandlers['job.products']({ jobId: long.jobId }, ctx)).rejects.toThrow(/has not finished \(cancelled\)/);

    // the command line's size policy: a fully convolutional U-Net on another size, with a note; below its
    // down-sampling factor (2 for the tiny prior), an input error of the request
    const other = await jobHandlers['job.reconstruct'](params({ steps: 4 }, 'tiny-32'), ctx);
    expect(other.warnings.join(' ')).toMatch(/the prior tiny-32 was trained on 32×32 images and is used on 64×64/);
    expect((await waitFor(other.jobId)).event).toBe('job.done');
    const report = JSON.parse(new TextDecoder().decode((await jobHandlers['job.products']({ jobId: other.jobId }, ctx)).files.at(-1)!.bytes));
    expect(report.warnings.join(' ')).toMatch(/trained on 32×32 images and is used on 64×64/);
    const one = { name: 'one.fits', bytes: writeFits([{ data: new Float32Array([1]), shape: [1, 1] }]), hdu: 0, plane: 0 };
    await expect(jobHandlers['job.reconstruct']({ ...params(), obs: one, model: { shape: [1, 1], operators: [] }, files: [] }, ctx)).rejects.toThrow(
      /the prior tiny-64 is a U-Net that runs on images of at least 2×2 pixels .* but the forward model's unknown is 1×1/,
    );

    await expect(jobHandlers['job.reconstruct']({ ...params(), files: [] }, ctx)).rejects.toThrow(/mask.*not loaded/);
    await expect(jobHandlers['job.reconstruct']({ ...params(), obs: { name: 'x.fits', bytes: new TextEncoder().encode('hello'), hdu: 0, plane: 0 } }, ctx)).rejects.toThrow();
    await expect(jobHandlers['job.reconstruct']({ ...params(), model: { shape: [32, 32], operators: [] } }, ctx)).rejects.toThrow(
      /galaxies\.fits: the data are 64×64 .* but the forward model M\.json produces 32×32 .*output shape must match the data/,
    );
  });

  it('trains a prior in the user folder: progress with the loss, Stop keeps a checkpoint, Resume continues it, then it is listed', async () => {
    const data = [{ name: 'galaxies.fits', bytes: small }];
    const base = { data, name: 'mine', size: 32, batch: 4, scale: null, nf: 8 };
    const t = await jobHandlers['job.train']({ ...base, steps: 400, resume: false }, ctx);
    expect(t.out).toBe(path.join(dir, 'models', 'mine'));
    await expect.poll(() => progressOf(t.jobId).length, { timeout: 60_000 }).toBeGreaterThanOrEqual(2);
    await jobHandlers['job.cancel']({ jobId: t.jobId }, ctx);
    expect(await waitFor(t.jobId)).toMatchObject({ event: 'job.error', data: { code: 'cancelled' } });
    const stoppedAt = (progressOf(t.jobId) as TrainProgress[]).at(-1)!.step;
    expect(stoppedAt).toBeLessThan(400);
    await expect(jobHandlers['job.train']({ ...base, steps: 400, resume: false }, ctx)).rejects.toThrow(/already exists.*Resume/);

    const r = await jobHandlers['job.train']({ ...base, steps: stoppedAt + 2, resume: true }, ctx);
    const end = await waitFor(r.jobId);
    expect(end.event, JSON.stringify(end.data)).toBe('job.done');
    const steps = (progressOf(r.jobId) as TrainProgress[]).map((p) => p.step);
    expect(steps.at(-1)).toBe(stoppedAt + 2);
    expect(steps[0]).toBeGreaterThan(stoppedAt);
    for (const p of progressOf(r.jobId) as TrainProgress[]) expect(Number.isFinite(p.loss)).toBe(true);
    // the app's schedule: warm-up over the first 10 % of the steps, a linear decay over the last 10 %
    const trained = JSON.parse(readFileSync(path.join(dir, 'models', 'mine', 'model.json'), 'utf8'));
    // (the warm-up is pinned by the run as started, with 400 steps; the cooldown follows the resumed target)
    expect(trained.training).toMatchObject({ warmup: 40, cooldown: { steps: Math.round((stoppedAt + 2) / 10), endStep: stoppedAt + 2 } });
    expect(trained.data.peakPrior).toBeGreaterThan(0);
    const { priors } = await listPriors();
    expect(priors.find((p) => p.name === 'mine')).toMatchObject({ imageShape: [32, 32], source: 'user', kind: 'unet' });
  });
});
