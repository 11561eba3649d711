/**
 * The Noise step's 'learned' choice: the request it builds (a noise block naming the noise prior by its registry
 * id), what is missing while none is chosen, the M.json block and back, the protocol's check of the id (never a
 * path), and the priors.list entry of a noise-prior folder as the engine reads it.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, cpSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { noiseBlockOf, noiseSettingsOf, noiseSpecOf } from '../../src-renderer/src/model/noise.js';
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
    expect(noiseSettingsOf(doc.noise!)).toEqual({ patch: { mode: 'learned', noisePrior: 'user/noise-irac' }, dropped: [] });
    expect(noiseBlockOf(learned(null))).toBeNull();
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
