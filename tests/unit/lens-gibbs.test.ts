import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { instantiateForwardModel, prepareForwardModel, type ForwardModelFileLoader } from '../../src-shared/operators/forward-model.js';
import { validateForwardModel } from '../../src-shared/operators/forward-model-spec.js';
import { lensLogLikelihood } from '../../src-shared/lensing/lens-mcmc.js';
import { ReconstructInputError, type PreparedReconstruction } from '../../src-main/reconstruct/prepare.js';
import { lensConditionalData } from '../../src-main/reconstruct/lens-gibbs.js';
import { randn, run } from './operators-ref.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

// The Gibbs sampler's lens step evaluates the likelihood in float64 from the model's stages (lens-gibbs.ts:
// lensConditionalData); it must be the model's own: the operator A built from M.json, the mask, the additive image,
// the σ map and the invalid pixels.
const N = 24;
const images: Record<string, { data: Float32Array; shape: number[] }> = {};
const loader: ForwardModelFileLoader = {
  loadImage: async (rel) => {
    if (!images[rel]) throw new Error('no such file');
    return images[rel];
  },
  loadText: async () => Promise.reject(new Error('no text files')),
};

describe('the lens step’s likelihood', () => {
  it('equals −½ Σ (y − b − A x)²/σ² with A the built model (lens → psf → mask), over the valid unmasked pixels', async () => {
    const mask = new Float32Array(N * N).fill(1);
    for (let k = 0; k < N * N; k += 7) mask[k] = 0;
    images['mask.fits'] = { data: mask, shape: [N, N] };
    const b = Float32Array.from(randn(N * N, 3), (v) => 0.1 * v);
    images['light.fits'] = { data: b, shape: [N, N] };
    const spec = validateForwardModel({
      shape: [16, 16],
      operators: [
        { type: 'lens', imageShape: [N, N], imagePixelScale: 0.05, sourcePixelScale: 0.05, supersample: 2, lens: { model: 'EPL', thetaE: 0.4, q: 0.8, phi: 0.2, x0: 0.01, y0: -0.02, gamma: 2.2 }, shear: { gamma1: 0.02, gamma2: -0.01 } },
        { type: 'psf', fwhmPx: 2 },
        { type: 'mask', fits: 'mask.fits' },
      ],
      additive: { fits: 'light.fits' },
    });
    const prepared = await prepareForwardModel(spec, loader);
    const built = instantiateForwardModel(prepared);
    const x = Float64Array.from(randn(256, 4), (v) => Math.abs(v));
    const Ax = run(built.operator, Float32Array.from(x));
    const data = Float32Array.from(randn(N * N, 5), (v, k) => Ax[k] + b[k] + 0.05 * v);
    data[50] = NaN;
    const sigma = Float32Array.from({ length: N * N }, (_, k) => 0.04 + 0.02 * ((k % 5) / 5));
    sigma[60] = Infinity;
    const prep = { model: { prepared }, noise: { kind: 'map', sigma, shape: [N, N] }, observation: { data, shape: [N, N], name: 'obs.fits' } } as unknown as PreparedReconstruction;
    const { data: cd, stage } = lensConditionalData(prep);
    expect(stage.lens.model).toBe('EPL');
    let want = 0;
    let count = 0;
    for (let k = 0; k < N * N; k++) {
      if (mask[k] !== 1 || !Number.isFinite(data[k]) || !Number.isFinite(sigma[k])) continue;
      want += ((data[k] - b[k] - Ax[k]) / sigma[k]) ** 2;
      count++;
    }
    expect(cd.pixels.length).toBe(count);
    const got = lensLogLikelihood(cd, { thetaE: 0.4, q: 0.8, phi: 0.2, x0: 0.01, y0: -0.02, gamma1: 0.02, gamma2: -0.01, gamma: 2.2 }, x);
    // A x in float32 on the tensors, float64 here
    expect(Math.abs(got + 0.5 * want) / (0.5 * want)).toBeLessThan(1e-4);
    built.operator.dispose();
  });

  it('refuses a model that is not lens [→ psf] [→ mask], and correlated noise', async () => {
    const psfFirst = validateForwardModel({ shape: [16, 16], operators: [{ type: 'psf', fwhmPx: 2 }, { type: 'lens', imageShape: [N, N], imagePixelScale: 0.05, sourcePixelScale: 0.05, lens: { thetaE: 0.4, q: 0.8 } }] });
    const prepared = await prepareForwardModel(psfFirst, loader);
    const prep = { model: { prepared }, noise: { kind: 'scalar', sigma: 1 }, observation: { data: new Float32Array(N * N), shape: [N, N], name: 'o' } } as unknown as PreparedReconstruction;
    expect(() => lensConditionalData(prep)).toThrow(ReconstructInputError);
    expect(() => lensConditionalData(prep)).toThrow(/needs a model lens \[→ psf\] \[→ mask\].*got psf → lens/);
    const lensOnly = await prepareForwardModel(validateForwardModel({ shape: [16, 16], operators: [{ type: 'lens', imageShape: [N, N], imagePixelScale: 0.05, sourcePixelScale: 0.05, lens: { thetaE: 0.4, q: 0.8 } }] }), loader);
    const corr = { ...prep, model: { prepared: lensOnly }, noise: { kind: 'correlated', sigma: new Float32Array(N * N).fill(1), shape: [N, N], correlation: new Float32Array(N * N), stationary: true } } as unknown as PreparedReconstruction;
    expect(() => lensConditionalData(corr)).toThrow(/white or σ-map noise/);
  });
});
