/**
 * Where onnxruntime-node cannot be loaded (here: made to fail), a U-Net prior falls back to tfjs with a note in
 * its warnings and in the engine report; asking for ONNX Runtime explicitly is then an input error naming why, and
 * an ONNX prior cannot be loaded at all; the likelihood's dense products stay on tfjs.
 */
import { describe, it, expect, vi, beforeAll } from 'vitest';
import path from 'node:path';
import { initBackend } from '../../src-main/engine/backend.js';
import { resolvePrior } from '../../src-main/priors.js';
import { scoreEngineReport } from '../../src-main/onnx/priors.js';
import { probeScoreEngine } from '../../src-main/onnx/probe.js';
import { ROOT } from '../helpers/data.js';
import { useOrtProducts } from '../../src-main/onnx/products.js';
import { productEngine } from '../../src-shared/linalg/product-engine.js';

vi.mock('../../src-main/onnx/runtime.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src-main/onnx/runtime.js')>();
  return {
    ...real,
    loadOrt: () => {
      throw new real.OnnxRuntimeUnavailableError('onnxruntime-node cannot be loaded: (test) no native binary for this platform');
    },
  };
});

describe('without ONNX Runtime', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  it('evaluates a U-Net prior with tfjs and says why; --score-engine onnx and ONNX priors are input errors', async () => {
    const galaxy = path.join(ROOT, 'models', 'galaxy-64');
    const prior = await resolvePrior(galaxy);
    try {
      expect(prior.warnings.join('\n')).toMatch(/ONNX Runtime is not available \(onnxruntime-node cannot be loaded: \(test\).*\); the score is evaluated by tfjs/);
      const rep = scoreEngineReport(prior.model, 'wasm');
      expect(rep).toMatchObject({ engine: 'tfjs', backend: 'wasm' });
      expect(rep.note).toMatch(/not available/);
      expect(prior.model.kind).toBe('unet');
    } finally {
      prior.dispose();
    }
    await expect(resolvePrior(galaxy, undefined, { engine: 'onnx' })).rejects.toMatchObject({ name: 'ScoreEngineInputError', message: expect.stringMatching(/--score-engine onnx: onnxruntime-node cannot be loaded/) });
    await expect(resolvePrior(path.join(ROOT, 'tests', 'fixtures', 'onnx-prior'))).rejects.toThrow(/an ONNX prior needs ONNX Runtime/);
  });

  it('engine.info says so: tfjs with the reason, or unavailable where the environment asks for ONNX Runtime', async () => {
    const wasm = { backend: 'wasm' as const, gpuAdapter: { found: false, description: null, software: false } };
    expect(await probeScoreEngine(wasm, {})).toMatchObject({ engine: 'tfjs', provider: null, onnxruntime: null, note: expect.stringMatching(/^ONNX Runtime is not available \(onnxruntime-node cannot be loaded: \(test\)/) });
    expect(await probeScoreEngine(wasm, { SKYSCORE_SCORE_ENGINE: 'onnx' })).toMatchObject({ engine: 'unavailable', note: expect.stringMatching(/SKYSCORE_SCORE_ENGINE=onnx: onnxruntime-node cannot be loaded/) });
  });

  it('the likelihood’s dense products stay on tfjs, the reason in the engine report', () => {
    // as if the score were on ONNX Runtime's CPU provider: the products engine cannot be had
    const products = useOrtProducts({ engine: 'onnx', provider: 'cpu', threads: 1 });
    expect(products).toMatch(/^tfjs \(onnxruntime-node cannot be loaded: \(test\)/);
    expect(productEngine()).toBeNull();
  });
});
