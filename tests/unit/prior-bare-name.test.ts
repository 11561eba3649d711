/**
 * A prior given by its bare name on the command line (`--prior radio-64`): a folder of that name in the working
 * directory wins; else the shipped priors' folder, else the user's (where `skyscore train` writes). Paths and
 * other specs pass through unchanged.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { priorSpecOf, shippedModelsDir } from '../../src-main/priors.js';

let dir = '';
const env: Record<string, string | undefined> = {};

const folder = (p: string, file: string): void => {
  mkdirSync(p, { recursive: true });
  writeFileSync(path.join(p, file), '{}');
};

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'skyscore-bare-'));
  folder(path.join(dir, 'shipped', 'unet-a'), 'model.json');
  folder(path.join(dir, 'shipped', 'both'), 'model.json');
  folder(path.join(dir, 'user', 'models', 'both'), 'model.json');
  folder(path.join(dir, 'user', 'models', 'field-b'), 'power-spectrum.fits');
  folder(path.join(dir, 'cwd', 'unet-a'), 'model.json');
  mkdirSync(path.join(dir, 'elsewhere'));
  for (const k of ['SKYSCORE_USER_DIR', 'SKYSCORE_MODELS_DIR']) env[k] = process.env[k];
  process.env.SKYSCORE_USER_DIR = path.join(dir, 'user');
  process.env.SKYSCORE_MODELS_DIR = path.join(dir, 'shipped');
});

afterAll(() => {
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('a prior named by its bare name', () => {
  it('finds the shipped prior, the shipped one before the user one of the same name', () => {
    const cwd = path.join(dir, 'elsewhere');
    expect(priorSpecOf('unet-a', cwd)).toBe(path.join(dir, 'shipped', 'unet-a'));
    expect(priorSpecOf('both', cwd)).toBe(path.join(dir, 'shipped', 'both'));
  });

  it("finds the user's prior, a Gaussian-field folder as its power spectrum", () => {
    expect(priorSpecOf('field-b', path.join(dir, 'elsewhere'))).toBe(`gaussian-field:${path.join(dir, 'user', 'models', 'field-b', 'power-spectrum.fits')}`);
  });

  it('leaves a folder of the working directory, a path, an unknown name and the other specs as they are', () => {
    expect(priorSpecOf('unet-a', path.join(dir, 'cwd'))).toBe('unet-a');
    expect(priorSpecOf('models/unet-a', path.join(dir, 'elsewhere'))).toBe('models/unet-a');
    expect(priorSpecOf('nowhere-64', path.join(dir, 'elsewhere'))).toBe('nowhere-64');
    expect(priorSpecOf('gaussian-field:pk.fits', dir)).toBe('gaussian-field:pk.fits');
    expect(priorSpecOf('analytic:ring', dir)).toBe('analytic:ring');
  });

  it("defaults the shipped folder to the application's models/", () => {
    const saved = process.env.SKYSCORE_MODELS_DIR;
    delete process.env.SKYSCORE_MODELS_DIR;
    try {
      expect(shippedModelsDir()).toBe(path.resolve(__dirname, '../../models'));
      expect(priorSpecOf('radio-64', path.join(dir, 'elsewhere'))).toBe(path.resolve(__dirname, '../../models/radio-64'));
    } finally {
      process.env.SKYSCORE_MODELS_DIR = saved;
    }
  });
});
