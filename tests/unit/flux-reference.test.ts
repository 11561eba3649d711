/**
 * The automatic flux scale's statistic (src-shared/diffusion/flux-reference.ts) against numpy's
 * np.percentile(…, 99.5) (linear interpolation) and np.median, and its use in reconstruct's rule.
 */
import { describe, it, expect } from 'vitest';
import { fluxReference, typicalFluxReference } from '../../src-shared/diffusion/flux-reference.js';
import { automaticFluxScale } from '../../src-main/priors.js';

describe('flux reference', () => {
  it('is numpy’s 99.5th percentile of the finite values', () => {
    // np.percentile(np.arange(10.), 99.5) = 8.955
    expect(fluxReference(Float32Array.from({ length: 10 }, (_, i) => 9 - i))).toBeCloseTo(8.955, 12);
    // NaN and infinities are left out: the percentile of [1, 2, 3]
    expect(fluxReference([3, NaN, 1, Infinity, 2, -Infinity])).toBeCloseTo(1 + 0.995 * 2, 12);
    expect(fluxReference([NaN])).toBeNaN();
    // one hot pixel in a 64×64 image does not move it; a 1% bright patch does
    const img = new Float32Array(4096).fill(1);
    img[7] = 1e6;
    expect(fluxReference(img)).toBe(1);
    for (let i = 0; i < 41; i++) img[100 + i] = 5;
    expect(fluxReference(img)).toBe(5);
  });

  it('typical value: the median over a stack of the images’ percentiles', () => {
    const npix = 200;
    const levels = [4, 1, 3, 2, 100];
    const stack = new Float32Array(levels.length * npix);
    levels.forEach((v, k) => stack.fill(v, k * npix, (k + 1) * npix));
    expect(typicalFluxReference(stack, 5, npix)).toBe(3);
    expect(typicalFluxReference(stack, 4, npix)).toBe(2.5);
    expect(() => typicalFluxReference(stack, 6, npix)).toThrow(/need 1200 values/);
  });

  it('reconstruct’s automatic flux scale divides the data’s statistic by the prior’s, in any units', () => {
    const y = Float32Array.from({ length: 1000 }, (_, i) => (i % 97) * 0.01);
    const a = automaticFluxScale(y, 0.58);
    expect(a.value).toBeCloseTo(fluxReference(y) / 0.58, 12);
    expect(a.source).toMatch(/^auto: 99\.5th percentile of the data \(\S+\) \/ the prior's 0\.5800$/);
    const y1000 = y.map((v) => v * 1000);
    expect(automaticFluxScale(y1000, 0.58).value / a.value).toBeCloseTo(1000, 3);
    expect(() => automaticFluxScale(y.map((v) => -v - 1), 0.58)).toThrow(/needs positive data/);
    expect(() => automaticFluxScale([NaN, NaN], 0.58)).toThrow(/no finite data pixel/);
  });
});
