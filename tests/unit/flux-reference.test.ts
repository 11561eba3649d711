/**
 * The automatic flux scale's statistics (src-shared/diffusion/flux-reference.ts) — the 99.5th percentile against
 * numpy's np.percentile(…, 99.5) (linear interpolation) and np.median, the sky level (sigma-clipped median) — and
 * their use in reconstruct's rule, with and without the prior's recorded sky.
 */
import { describe, it, expect } from 'vitest';
import { backgroundReference, fluxReference, typicalBackgroundReference, typicalFluxReference } from '../../src-shared/diffusion/flux-reference.js';
import { ChainRandom } from '../../src-shared/diffusion/chain-rng.js';
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

  it('sky level: the sigma-clipped median finds the sky under a galaxy and noise, in any units', () => {
    // 64×64: sky 5 with noise σ = 1, and a bright centred galaxy (an exponential disc of 3 px scale length, above
    // the noise over ~12% of the pixels; its fainter wings still lift the clipped median a little)
    const r = new ChainRandom(11, 0);
    const img = new Float32Array(4096);
    for (let i = 0; i < 64; i++) for (let j = 0; j < 64; j++) img[i * 64 + j] = 5 + r.normal() + 200 * Math.exp(-Math.hypot(i - 31.5, j - 31.5) / 3);
    const sky = backgroundReference(img);
    expect(Math.abs(sky - 5)).toBeLessThan(0.25);
    // the plain median is pulled up by the galaxy (what the clipping is for)
    const sorted = Float32Array.from(img).sort();
    expect(Math.abs(sky - 5)).toBeLessThan((sorted[2047]! + sorted[2048]!) / 2 - 5 - 0.1);
    // linear: a·x + c → a·sky + c
    expect(backgroundReference(img.map((v) => 3 * v - 7))).toBeCloseTo(3 * sky - 7, 3);
    // NaN and infinities left out; a constant image is its own sky; nothing finite: NaN
    const withNan = Float32Array.from(img);
    withNan[5] = NaN;
    withNan[6] = Infinity;
    expect(Math.abs(backgroundReference(withNan) - sky)).toBeLessThan(0.05);
    expect(backgroundReference(new Float32Array(100).fill(2.5))).toBe(2.5);
    expect(backgroundReference([NaN])).toBeNaN();
    // typical value over a stack: the median of the images' skies
    const stack = new Float32Array(3 * 4096);
    [1, 3, 2].forEach((c, k) => stack.set(img.map((v) => v + c), k * 4096));
    expect(typicalBackgroundReference(stack, 3, 4096)).toBeCloseTo(backgroundReference(img.map((v) => v + 2)), 5);
  });

  it('with the prior’s sky recorded, the rule matches sky to sky and 99.5th percentile to peak: F and an offset', () => {
    // "data" = F·x + B for a prior-unit image x whose own sky is about b = 0.0235 and peak 0.58
    const r = new ChainRandom(12, 0);
    const x = new Float32Array(4096);
    for (let i = 0; i < 64; i++) for (let j = 0; j < 64; j++) x[i * 64 + j] = 0.0235 + 0.002 * r.normal() + 0.9 * Math.exp(-Math.hypot(i - 31.5, j - 31.5) / 5);
    const peak = fluxReference(x);
    const b = backgroundReference(x);
    const [F, B] = [250, -3];
    const y = x.map((v) => F * v + B);
    const a = automaticFluxScale(y, peak, b);
    expect(a.value).toBeCloseTo(F, 3);
    // the offset makes F·x_prior + offset the data: the data's sky (F·b + B) minus F·b
    expect(a.background!).toBeCloseTo(B, 2);
    expect(a.source).toMatch(/^auto, sky darker than the prior's: \(99\.5th percentile .* − sky .* of the data\) \/ \(the prior's .*\); offset /);
    // background-subtracted data (sky 0): the same F, and the offset takes the prior's sky away
    const sub = y.map((v) => v - (F * b + B));
    const s = automaticFluxScale(sub, peak, b);
    expect(s.value).toBeCloseTo(F, 3);
    expect(s.background!).toBeCloseTo(-F * b, 2);
    // units: ×1000 scales F and the offset; data no brighter than their sky are refused
    const k = automaticFluxScale(y.map((v) => 1000 * v), peak, b);
    expect(k.value / a.value).toBeCloseTo(1000, 4);
    expect(k.background! / a.background!).toBeCloseTo(1000, 4);
    expect(() => automaticFluxScale(new Float32Array(100).fill(-1), peak, b)).toThrow(/brighter than their sky/);
    // a sky at or above the prior's typical one (B ≥ 0 here) is left to the prior: the basic rule, no offset
    const bright = automaticFluxScale(x.map((v) => F * v + 3), peak, b);
    expect(bright.background).toBe(0);
    expect(bright.value).toBeCloseTo(fluxReference(x.map((v) => F * v + 3)) / peak, 10);
    expect(bright.source).toMatch(/at or above the prior's typical one at this scale: no offset$/);
    // continuous where the two rules meet (B = F·b at the basic scale): a sky just below gives F and offset ≈ the basic rule's
    const q0 = fluxReference(x);
    const edge = x.map((v) => v - backgroundReference(x) + (q0 / peak) * b * (1 - 1e-4));
    const e = automaticFluxScale(edge, peak, b);
    expect(Math.abs(e.background!)).toBeLessThan(1e-4);
    expect(e.value).toBeCloseTo(fluxReference(edge) / peak, 3);
    // without a recorded sky: no offset (the rule of priors trained before it was recorded)
    expect(automaticFluxScale(y, peak).background).toBe(0);
  });
});
