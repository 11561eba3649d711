import { describe, expect, it } from 'vitest';
import { addNoise, noiseMap, sanitize, scalarNoise, sigmaArray, validityMask } from '../../src-shared/operators/noise.js';
import { NoiseInputError } from '../../src-shared/operators/errors.js';
import { SeededRandom } from '../../src-shared/operators/random.js';

describe('noise models', () => {
  it('scalar σ must be positive and finite', () => {
    expect(scalarNoise(0.5)).toEqual({ kind: 'scalar', sigma: 0.5 });
    for (const bad of [0, -1, NaN, Infinity]) {
      expect(() => scalarNoise(bad)).toThrow(NoiseInputError);
      expect(() => scalarNoise(bad)).toThrow(/noise σ must be a positive number/);
    }
  });

  it('a σ map refuses zero or negative σ naming the first pixel; NaN σ masks the pixel', () => {
    expect(() => noiseMap([1, 2, 0, -3], [2, 2], 'sigma.fits')).toThrow(/sigma\.fits: σ must be positive; 2 pixels are ≤ 0 \(first at row 1, column 0: 0\)/);
    expect(() => noiseMap([1, 2, 3], [2, 2])).toThrow(/3 values for shape \[2, 2\]/);
    const m = noiseMap([1, NaN, 2, 3], [2, 2]);
    const v = validityMask([5, 6, 7, 8], [2, 2], m);
    expect(Array.from(v.mask)).toEqual([1, 0, 1, 1]);
    expect(v.nonFiniteSigma).toBe(1);
    expect(v.message).toBe('1 pixel with NaN/infinite σ masked (1 of 4)');
    expect(() => sigmaArray(m, [4, 1])).toThrow(/does not match the data shape/);
  });

  it('NaN and infinite data pixels are masked and reported, never propagated', () => {
    const data = [1, NaN, 3, Infinity, -Infinity, 6];
    const v = validityMask(data, [2, 3], scalarNoise(1), 'y.fits');
    expect(Array.from(v.mask)).toEqual([1, 0, 1, 0, 0, 1]);
    expect(v.nonFiniteData).toBe(3);
    expect(v.masked).toBe(3);
    expect(v.message).toBe('3 NaN/infinite pixels in y.fits masked (3 of 6)');
    const clean = sanitize(data, v.mask);
    expect(Array.from(clean)).toEqual([1, 0, 3, 0, 0, 6]);
    expect(validityMask([1, 2], [1, 2]).message).toBe('');
  });

  it('addNoise: y + σ·N(0, 1) with the right moments (tolerances from the Monte Carlo error), reproducible by seed', () => {
    const n = 200_000;
    const y = new Float32Array(n).fill(3);
    const sigma = 0.7;
    const out = addNoise(y, scalarNoise(sigma), [400, 500], () => rng.normal());
    let m = 0;
    for (const v of out) m += v;
    m /= n;
    let s2 = 0;
    let m4 = 0;
    for (const v of out) {
      s2 += (v - m) ** 2;
      m4 += (v - m) ** 4;
    }
    s2 /= n - 1;
    m4 /= n;
    // mean ~ N(3, σ²/n); sample variance ~ N(σ², 2σ⁴/n); kurtosis 3 ± √(24/n): 5 standard errors each
    expect(Math.abs(m - 3)).toBeLessThan((5 * sigma) / Math.sqrt(n));
    expect(Math.abs(s2 - sigma ** 2)).toBeLessThan(5 * sigma ** 2 * Math.sqrt(2 / n));
    expect(Math.abs(m4 / s2 ** 2 - 3)).toBeLessThan(5 * Math.sqrt(24 / n));
    // a σ map scales each pixel's noise
    const r1 = new SeededRandom(42);
    const r2 = new SeededRandom(42);
    const map = noiseMap(Float32Array.from({ length: 6 }, (_, i) => i + 1), [2, 3]);
    const a = addNoise(new Float32Array(6), map, [2, 3], () => r1.normal());
    const z = Array.from({ length: 6 }, () => r2.normal());
    for (let i = 0; i < 6; i++) expect(a[i]).toBeCloseTo((i + 1) * z[i], 5);
  });
});

const rng = new SeededRandom(7);

describe('SeededRandom', () => {
  it('is reproducible, seed-dependent, and its uniforms and normals have the right moments', () => {
    const a = new SeededRandom(123);
    const b = new SeededRandom(123);
    const c = new SeededRandom(124);
    const sa = Array.from({ length: 10 }, () => a.uniform());
    expect(Array.from({ length: 10 }, () => b.uniform())).toEqual(sa);
    expect(Array.from({ length: 10 }, () => c.uniform())).not.toEqual(sa);
    expect(new SeededRandom(2 ** 40 + 5).uniform()).not.toBe(new SeededRandom(5).uniform());
    expect(() => new SeededRandom(-1)).toThrow(/non-negative integer/);
    const n = 100_000;
    const r = new SeededRandom(9);
    let mu = 0;
    let mu2 = 0;
    let inside = 0;
    for (let i = 0; i < n; i++) {
      const u = r.uniform();
      expect(u >= 0 && u < 1).toBe(true);
      mu += u;
      mu2 += u * u;
      const z = r.normal();
      if (Math.abs(z) < 1) inside++;
    }
    // uniform mean 1/2 ± √(1/12n), E[u²] = 1/3 ± √(4/45n); P(|z| < 1) = 0.6827 ± √(p(1−p)/n): 5 standard errors
    expect(Math.abs(mu / n - 0.5)).toBeLessThan(5 * Math.sqrt(1 / 12 / n));
    expect(Math.abs(mu2 / n - 1 / 3)).toBeLessThan(5 * Math.sqrt(4 / 45 / n));
    const p = 0.6826894921370859;
    expect(Math.abs(inside / n - p)).toBeLessThan(5 * Math.sqrt((p * (1 - p)) / n));
  });
});
