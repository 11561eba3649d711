/**
 * The Noise step's 'learned' choice: the request it builds (a noise block naming the noise prior by its registry
 * id), what is missing while none is chosen, the M.json block and back, the protocol's check of the id (never a
 * path), and the priors.list entry of a noise-prior folder as the engine reads it.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, cpSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { noiseBlockOf, noiseFileNames, noiseSettingsOf, noiseSpecOf } from '../../src-renderer/src/model/noise.js';
import { describeNoise } from '../../src-main/engine/forward-model-requests.js';
import { buildNoiseModel, readNoisePriorFolder } from '../../src-main/reconstruct/noise.js';
import { randn } from './operators-ref.js';
import { noiseInputOf } from '../../src-renderer/src/run/actions.js';
import { DEFAULT_NOISE, type NoiseSettings } from '../../src-renderer/src/store/model.js';
import { noiseInput } from '../../src-shared/protocol/jobs.js';
import { parseForwardModel, toModelJson } from '../../src-shared/operators/forward-model-spec.js';
import { readPriorFolder } from '../../src-main/engine/jobs.js';
import { ROOT } from '../helpers/data.js';

const learned = (id: string | null): NoiseSettings => ({ ...DEFAULT_NOISE, mode: 'learned', noisePrior: id });

describe("the Noise step's learned noise prior", () => {
  it('builds the noise block the engine takes, naming the prior by its id', () => {
    expect(noiseSpecOf(learned('user/noise-irac'))).toEqual({ model: 'learned', prior: 'user/noise-irac' });
    expect(noiseInputOf(learned('user/noise-irac'))).toEqual({ kind: 'model', spec: { model: 'learned', prior: 'user/noise-irac' } });
    expect(noiseInputOf(learned(null))).toMatch(/choose a noise prior/);
    // the request passes the protocol's validator; a path does not
    expect(noiseInput({ kind: 'model', spec: { model: 'learned', prior: 'user/noise-irac' } }, 'noise')).toEqual({ kind: 'model', spec: { model: 'learned', prior: 'user/noise-irac' } });
    expect(() => noiseInput({ kind: 'model', spec: { model: 'learned', prior: '../models/x' } }, 'noise')).toThrow(/a noise prior by its id/);
    expect(() => noiseInput({ kind: 'model', spec: { model: 'learned' } }, 'noise')).toThrow(/needs prior/);
    expect(() => noiseInput({ kind: 'model', spec: { model: 'learned', prior: 'user/x', sigma: 0.1 } }, 'noise')).toThrow(/takes no sigma/);
  });

  it('saves as M.json’s noise block and reads back', () => {
    const block = noiseBlockOf(learned('user/noise-irac'))!;
    expect(block).toEqual({ model: 'learned', prior: 'user/noise-irac' });
    const doc = parseForwardModel(toModelJson({ shape: [8, 8], operators: [{ type: 'psf', fwhmPx: 2 }], noise: block }), 'M.json');
    expect(doc.noise).toEqual(block);
    expect(noiseSettingsOf(doc.noise!)).toEqual({ patch: { mode: 'learned', noisePrior: 'user/noise-irac', learnedSpectrum: false }, dropped: [] });
    expect(noiseBlockOf(learned(null))).toBeNull();
  });

  it('a measured spectrum as the Gaussian part: the correlated model\'s box or image travels in the learned block, and back', () => {
    const box = { x0: 2, y0: 3, x1: 34, y1: 35 };
    const withBox: NoiseSettings = { ...learned('user/noise-irac'), learnedSpectrum: true, corrSource: 'region', corrRegion: box };
    const spec = { model: 'learned', prior: 'user/noise-irac', region: [2, 3, 34, 35] };
    expect(noiseSpecOf(withBox)).toEqual(spec);
    expect(noiseInputOf(withBox)).toEqual({ kind: 'model', spec });
    // the protocol's validator takes it (the engine builds it as --noise-region beside --noise-prior)
    expect(noiseInput({ kind: 'model', spec }, 'noise')).toEqual({ kind: 'model', spec });
    expect(noiseFileNames(withBox)).toEqual([]);
    // unticked: the box stays in the state (the correlated model's) but the learned block is white's
    expect(noiseSpecOf({ ...withBox, learnedSpectrum: false })).toEqual({ model: 'learned', prior: 'user/noise-irac' });
    expect(noiseSpecOf({ ...withBox, corrRegion: null })).toMatch(/draw a blank-sky box on the observation for the Gaussian part/);
    const withImage: NoiseSettings = { ...withBox, corrSource: 'image', noiseImage: 'sky.fits' };
    expect(noiseSpecOf(withImage)).toEqual({ model: 'learned', prior: 'user/noise-irac', image: 'sky.fits' });
    expect(noiseFileNames(withImage)).toEqual(['sky.fits']);
    expect(noiseSpecOf({ ...withImage, noiseImage: null })).toMatch(/choose a noise-only FITS image for the Gaussian part/);
    // M.json's block and back to the step's settings
    for (const n of [withBox, withImage]) {
      const block = noiseBlockOf(n)!;
      const doc = parseForwardModel(toModelJson({ shape: [64, 64], operators: [{ type: 'psf', fwhmPx: 2 }], noise: block }), 'M.json');
      expect(doc.noise).toEqual(block);
      const back = { ...DEFAULT_NOISE, ...noiseSettingsOf(doc.noise!).patch };
      expect(noiseSpecOf(back)).toEqual(block);
      expect(back.learnedSpectrum).toBe(true);
    }
    expect(noiseSettingsOf({ model: 'learned', prior: 'p' }).patch.learnedSpectrum).toBe(false);
  });

  it("noise.describe of a learned model with a box: the box's spectrum and neighbour correlation, not the prior's training noise's", async () => {
    const prior = await readNoisePriorFolder(path.join(ROOT, 'tests', 'fixtures', 'noise-mixture'));
    // drizzle-like noise: white noise averaged over 2×2 pixels, its neighbour correlation ≈ 0.5 on each axis
    const n = 64;
    const w = randn(n * n, 5);
    const data = new Float32Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) data[i * n + j] = 0.02 * (w[i * n + j]! + w[i * n + ((j + 1) % n)]! + w[((i + 1) % n) * n + j]! + w[((i + 1) % n) * n + ((j + 1) % n)]!);
    const obs = { data, shape: [n, n] as [number, number], name: 'y.fits' };
    const read = async () => {
      throw new Error('no file');
    };
    const spec = { model: 'learned' as const, prior: 'noise-mixture', region: [0, 0, 64, 64] as [number, number, number, number] };
    const withBox = describeNoise(spec, await buildNoiseModel(spec, read, obs, async () => prior), obs.shape);
    expect(withBox.lag1!.x).toBeGreaterThan(0.4);
    expect(withBox.lag1!.y).toBeGreaterThan(0.4);
    expect(withBox.lag1!.x).not.toBeCloseTo(prior.summary.lag1.x, 1);
    expect(withBox.spectrum).toBeDefined();
    expect(withBox.whiteRatio!).toBeGreaterThan(2);
    expect(withBox.notes.join('\n')).toMatch(/the learned noise's Gaussian part: correlated, its spectrum measured from the region 0,0,64,64/);
    // without the box: no spectrum, no measured correlation (the Gaussian part is white)
    const white = { model: 'learned' as const, prior: 'noise-mixture' };
    const plain = describeNoise(white, await buildNoiseModel(white, read, obs, async () => prior), obs.shape);
    expect(plain.spectrum).toBeUndefined();
    expect(plain.lag1).toBeUndefined();
  });

  it('priors.list marks a noise-prior folder with what it was trained on', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'skyscore-noise-prior-'));
    try {
      cpSync(path.join(ROOT, 'tests', 'fixtures', 'noise-mixture'), path.join(dir, 'noise-mixture'), { recursive: true });
      const info = (await readPriorFolder(path.join(dir, 'noise-mixture'), 'user'))!;
      expect(info.spec).toBe('user/noise-mixture');
      expect(info.noise).toBeDefined();
      expect(info.noise!.sigma).toBeCloseTo(0.0425935, 6);
      expect(info.noise!.excessKurtosis).toBeCloseTo(16.377, 2);
      expect(info.noise!.patch).toBe(16);
      expect(info.noise!.patches).toBe(4096);
      expect(info.noise!.steps).toBe(1200);
      expect(info.noise!.source).toBe('mixture-noise.fits');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
