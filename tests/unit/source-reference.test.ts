/**
 * The source plane's flux reference (src-shared/diffusion/source-reference.ts): the weighted normalised
 * back-projection Aᵀ W (y − b) / Aᵀ W 1 on the pixels the data reach, and the rule's choice of reference
 * (src-main/priors.ts): the given statistics in place of the data's, reported.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { backProjection } from '../../src-shared/diffusion/source-reference.js';
import { MaskOperator } from '../../src-shared/operators/mask.js';
import { LensOperator } from '../../src-shared/operators/lens.js';
import { noiseMap, scalarNoise } from '../../src-shared/operators/noise.js';
import { fluxReference } from '../../src-shared/diffusion/flux-reference.js';
import { automaticFluxScale, fluxScaleFromReference } from '../../src-main/priors.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('back-projection onto the unknown', () => {
  it('through a mask: y − b where observed, NaN where not; NaN data and σ left out', async () => {
    const mask = Float32Array.from({ length: 64 }, (_, i) => (i % 5 === 0 ? 0 : 1));
    const op = new MaskOperator([8, 8], mask);
    const y = Float32Array.from({ length: 64 }, (_, i) => 1 + 0.1 * i);
    y[7] = NaN;
    const b = Float64Array.from({ length: 64 }, (_, i) => 0.01 * i);
    const sigma = Float32Array.from({ length: 64 }, (_, i) => (i === 9 ? NaN : 0.5 + 0.01 * i));
    const bp = await backProjection(op, y, noiseMap(sigma, [8, 8]), b);
    for (let i = 0; i < 64; i++) {
      if (!mask[i] || i === 7 || i === 9) expect(bp.image[i]).toBeNaN();
      else expect(bp.image[i]).toBeCloseTo(y[i] - b[i], 5);
    }
    expect(bp.reached).toBe(64 - 13 - 2);
    expect(bp.flux).toBeCloseTo(fluxReference(bp.image), 12);
    op.dispose();
  });

  it('through a lens: a uniform source comes back uniform where the rays land inside the grid', async () => {
    const geometry = { sourceShape: [24, 24] as [number, number], sourcePixelScale: 0.04, imageShape: [40, 40] as [number, number], imagePixelScale: 0.05, supersample: 2 };
    const op = new LensOperator({ thetaE: 0.6, q: 0.8, phi: 0.3, x0: 0, y0: 0, gamma1: 0.01, gamma2: 0 }, geometry);
    const y = tf.tidy(() => op.apply(tf.fill([1, 24, 24], 0.7))).dataSync();
    const bp = await backProjection(op, y, scalarNoise(0.1));
    expect(bp.reached).toBeGreaterThan(200);
    const vals = Array.from(bp.image).filter(Number.isFinite).sort((a, b) => a - b);
    // rays near the grid's edge lose weight outside it: the median and the upper values are the source's
    expect(vals[vals.length >> 1]).toBeCloseTo(0.7, 5);
    expect(bp.flux).toBeCloseTo(0.7, 5);
    op.dispose();
  });

  it('the automatic rule on given statistics is the rule on data with those statistics, and says what it read', () => {
    const data = Float32Array.from({ length: 4096 }, (_, i) => (i % 97 === 0 ? 5 : 0.01 * ((i * 7919) % 13)));
    const fromData = automaticFluxScale(data, 0.58, 0.0235);
    const ref = fromData.reference!;
    expect(ref.of).toBe('data');
    const given = fluxScaleFromReference({ of: 'model fluxReference', flux: ref.flux, background: ref.background, what: "the unknown (M.json's fluxReference)" }, 0.58, 0.0235);
    expect(given.value).toBe(fromData.value);
    expect(given.background).toBe(fromData.background);
    expect(given.reference!.of).toBe('model fluxReference');
    expect(given.source).toMatch(/M\.json's fluxReference/);
  });
});
