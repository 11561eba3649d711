/**
 * The bundled example's request (`example.get`): params and answer validation, the engine's handler against the
 * real assets/demo files and shipped priors, the default-prior rule, and a damaged example folder.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { mkdtempSync, readFileSync, writeFileSync, copyFileSync } from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { validateRequest, ProtocolError, exampleResult, type ExampleInfo, type PriorInfo } from '../../src-shared/protocol/index.js';
import { encodeFrame, decodeFrame } from '../../src-shared/protocol/codec.js';
import { createEngine } from '../../src-main/engine/handlers.js';
import { listPriors } from '../../src-main/engine/jobs.js';
import { DEMO_DIR, loadExample, pickDemoPrior, DEMO_SAMPLES, DEMO_STEPS } from '../../src-main/demo-example.js';
import { defaultPrior } from '../../src-main/evaluation.js';
import { readFitsImage } from '../../src-shared/fits/index.js';
import { ROOT } from '../helpers/data.js';
import { readFlag, writeFlag, WELCOME_DISMISSED } from '../../src-renderer/src/store/persisted.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const demoJson = JSON.parse(readFileSync(path.join(ROOT, 'assets', 'demo', 'demo.json'), 'utf8')) as Record<string, unknown>;

function wellFormed(): ExampleInfo {
  return {
    headline: 'reconstruct a galaxy blurred by a 4-px PSF with noise',
    description: 'a galaxy',
    observation: { name: 'observation.fits', bytes: new Uint8Array([1, 2, 3]) },
    truth: { name: 'truth.fits', bytes: new Uint8Array([4]) },
    model: { name: 'model.json', text: '{"shape":[64,64],"operators":[]}' },
    noise: 0.02,
    prior: { spec: '/x/models/galaxy-64', name: 'galaxy-64', description: 'a U-Net', fallback: false },
    settings: { sampler: 'pc', n: 8, steps: 500, seed: 7, fluxScale: 1 },
    fluxSource: 'unit data',
  };
}

describe('example.get: request and answer validation', () => {
  it('takes no parameters', () => {
    expect(validateRequest({ id: 1, method: 'example.get', params: {} })).toEqual({ id: 1, method: 'example.get', params: {} });
    expect(validateRequest({ id: 2, method: 'example.get' }).params).toEqual({});
    expect(() => validateRequest({ id: 3, method: 'example.get', params: { dir: '/etc' } })).toThrow(/unexpected field 'dir'/);
    expect(() => validateRequest({ id: 4, method: 'example.get', params: [] })).toThrow(ProtocolError);
  });

  it('accepts a well-formed answer, with or without truth and prior', () => {
    const ok = wellFormed();
    expect(exampleResult(ok, 'example')).toEqual(ok);
    const bare = { ...ok, truth: null, prior: null, settings: { ...ok.settings, fluxScale: null } };
    expect(exampleResult(bare, 'example')).toEqual(bare);
  });

  const bad: [string, (e: Record<string, unknown>) => void, RegExp][] = [
    ['a missing observation', (e) => delete e.observation, /example\.observation: expected an object/],
    ['an empty observation', (e) => (e.observation = { name: 'o.fits', bytes: new Uint8Array(0) }), /example\.observation\.bytes: the file is empty/],
    ['observation bytes as a number array', (e) => (e.observation = { name: 'o.fits', bytes: [1, 2] }), /binary data/],
    ['a file name with a folder', (e) => (e.observation = { name: '../o.fits', bytes: new Uint8Array(1) }), /example\.observation\.name/],
    ['σ = 0', (e) => (e.noise = 0), /example\.noise/],
    ['σ not finite', (e) => (e.noise = Infinity), /example\.noise: expected a finite number/],
    ['a prior without its spec', (e) => (e.prior = { name: 'x', description: '', fallback: false }), /example\.prior\.spec/],
    ['a prior field too many', (e) => (e.prior = { ...(e.prior as object), path: '/' }), /unexpected field 'path'/],
    ['a fractional sample count', (e) => (e.settings = { ...(e.settings as object), n: 1.5 }), /example\.settings\.n: expected an integer/],
    ['a negative flux scale', (e) => (e.settings = { ...(e.settings as object), fluxScale: -1 }), /example\.settings\.fluxScale/],
    ['an unexpected field', (e) => (e.script = 'x'), /unexpected field 'script'/],
    ['M.json not text', (e) => (e.model = { name: 'model.json', text: { shape: [1, 1] } }), /example\.model\.text: expected a string/],
  ];
  for (const [what, spoil, re] of bad) {
    it(`refuses ${what}`, () => {
      const e = wellFormed() as unknown as Record<string, unknown>;
      spoil(e);
      expect(() => exampleResult(e, 'example')).toThrow(ProtocolError);
      expect(() => exampleResult(e, 'example')).toThrow(re);
    });
  }
});

const prior = (name: string, source: PriorInfo['source'], kind = 'unet'): PriorInfo => ({
  spec: `/models/${name}`,
  name,
  kind,
  source,
  imageShape: [64, 64],
  sigmaMin: null,
  sigmaMax: null,
  card: '',
  facts: {},
});

describe('the default prior of the example', () => {
  it('is the learned galaxy-64 when listed, else the Gaussian-field stand-in; never a user prior of that name', () => {
    const gauss = prior('galaxy-gaussian-64', 'shipped', 'gaussian-field');
    const unet = prior('galaxy-64', 'shipped');
    expect(pickDemoPrior([gauss, unet])).toEqual({ prior: unet, fallback: false });
    expect(pickDemoPrior([gauss, prior('galaxy-64', 'user')])).toEqual({ prior: gauss, fallback: true });
    expect(pickDemoPrior([prior('other', 'shipped')])).toBeNull();
    expect(pickDemoPrior([])).toBeNull();
  });
});

describe('the engine answers example.get with the bundled files', () => {
  it('observation, truth and M.json byte for byte, σ and seed from demo.json, the default prior from the list', async () => {
    const events: unknown[] = [];
    const engine = createEngine({ emit: (ev) => events.push(ev), backend: 'cpu', processKind: 'test' });
    const raw = await engine.handle({ id: 1, method: 'example.get', params: {} });
    // what crosses the WebSocket: binary frame out and back, then the renderer's check
    const ex = exampleResult(decodeFrame(encodeFrame(raw)), 'example');
    expect(ex.observation.name).toBe(demoJson.observation);
    expect(Buffer.from(ex.observation.bytes).equals(readFileSync(path.join(DEMO_DIR, String(demoJson.observation))))).toBe(true);
    expect(Buffer.from(ex.truth!.bytes).equals(readFileSync(path.join(DEMO_DIR, String(demoJson.truth))))).toBe(true);
    expect(ex.model.text).toBe(readFileSync(path.join(DEMO_DIR, String(demoJson.model)), 'utf8'));
    expect(ex.noise).toBe(demoJson.noise);
    // the observation is the model's output grid and the PSF width is the one the headline names
    const obs = readFitsImage(ex.observation.bytes);
    const model = JSON.parse(ex.model.text) as { shape: [number, number]; operators: { type: string; fwhmPx?: number }[] };
    expect([obs.shape[1], obs.shape[0]]).toEqual(model.shape);
    const fwhm = model.operators.find((o) => o.type === 'psf')!.fwhmPx!;
    expect(ex.headline).toBe(`reconstruct a galaxy blurred by a ${fwhm}-px PSF with noise`);
    expect(ex.description).toContain(`σ = ${+(demoJson.noise as number).toPrecision(4)}`);
    // the default prior: the picker's entry, by the same rule as the CLI demo's defaultPrior()
    const { priors } = await listPriors();
    const def = defaultPrior();
    expect(ex.prior).not.toBeNull();
    expect(priors.map((p) => p.spec)).toContain(ex.prior!.spec);
    expect(ex.prior!.fallback).toBe(def.fallback);
    expect(ex.prior!.name).toBe(def.fallback ? 'galaxy-gaussian-64' : 'galaxy-64');
    expect(ex.prior!.description.length).toBeGreaterThan(0);
    expect(ex.prior!.description).not.toMatch(new RegExp(`^${ex.prior!.name}\\s*[—–:-]`));
    // the demo's settings; a Gaussian field is in data units (F = 1)
    expect(ex.settings).toMatchObject({ sampler: 'pc', n: DEMO_SAMPLES, steps: DEMO_STEPS, seed: demoJson.seed });
    if (def.fallback) expect(ex.settings.fluxScale).toBe(1);
    expect(ex.settings.fluxScale).toBeGreaterThan(0);
    expect(events).toEqual([]);
  });

  it('with no prior installed, says so (prior null) and still gives the files', async () => {
    const ex = await loadExample([]);
    expect(ex.prior).toBeNull();
    expect(ex.observation.bytes.byteLength).toBeGreaterThan(2880);
  });

  it('a damaged example folder is an input error naming the file', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'skyscore-example-'));
    writeFileSync(path.join(dir, 'demo.json'), '{ not json');
    await expect(loadExample([], dir)).rejects.toMatchObject({ name: 'DemoInputError', message: expect.stringMatching(/demo\.json: the bundled example cannot be read/) });
    writeFileSync(path.join(dir, 'demo.json'), JSON.stringify({ ...demoJson, observation: '../../etc/passwd' }));
    await expect(loadExample([], dir)).rejects.toThrow(/"observation" must name a file beside demo\.json/);
    writeFileSync(path.join(dir, 'demo.json'), JSON.stringify({ ...demoJson, noise: 0 }));
    await expect(loadExample([], dir)).rejects.toThrow(/"noise" must be a positive number/);
    writeFileSync(path.join(dir, 'demo.json'), JSON.stringify(demoJson));
    copyFileSync(path.join(DEMO_DIR, String(demoJson.observation)), path.join(dir, String(demoJson.observation)));
    await expect(loadExample([], dir)).rejects.toMatchObject({ name: 'DemoInputError', message: expect.stringMatching(/truth\.fits: the bundled example is incomplete/) });
  });
});

describe('the dismissal flag of the welcome card (renderer localStorage)', () => {
  const g = globalThis as { localStorage?: unknown };
  it('is remembered, forgotten on request, and harmless where storage is missing or blocked', () => {
    const saved = g.localStorage;
    try {
      const m = new Map<string, string>();
      g.localStorage = { getItem: (k: string) => m.get(k) ?? null, setItem: (k: string, v: string) => void m.set(k, v), removeItem: (k: string) => void m.delete(k) };
      expect(readFlag(WELCOME_DISMISSED)).toBe(false);
      writeFlag(WELCOME_DISMISSED, true);
      expect(readFlag(WELCOME_DISMISSED)).toBe(true);
      expect([...m.keys()]).toEqual(['skyscore.welcome.dismissed']);
      writeFlag(WELCOME_DISMISSED, false);
      expect(readFlag(WELCOME_DISMISSED)).toBe(false);
      const blocked = () => {
        throw new Error('SecurityError');
      };
      g.localStorage = { getItem: blocked, setItem: blocked, removeItem: blocked };
      expect(() => writeFlag(WELCOME_DISMISSED, true)).not.toThrow();
      expect(readFlag(WELCOME_DISMISSED)).toBe(false);
      g.localStorage = undefined;
      expect(readFlag(WELCOME_DISMISSED)).toBe(false);
    } finally {
      g.localStorage = saved;
    }
  });
});
