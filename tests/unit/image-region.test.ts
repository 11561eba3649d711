/** Region statistics (src-shared/image/region.ts): which pixels a box or circle holds, and their statistics. */
import { describe, expect, it } from 'vitest';
import { regionIndices, regionStats } from '../../src-shared/image/region.js';

describe('regions', () => {
  // 6 × 5 image, v = 10·row + column
  const shape: [number, number] = [6, 5];
  const img = Float32Array.from({ length: 30 }, (_, i) => 10 * Math.floor(i / 5) + (i % 5));

  it('a box holds whole pixels inclusive, clipped to the image; corners in any order', () => {
    expect(regionIndices({ kind: 'box', x0: 3.2, y0: 1.6, x1: 1, y1: 2.4 }, shape)).toEqual([11, 12, 13]);
    expect(regionIndices({ kind: 'box', x0: -4, y0: 4, x1: 0, y1: 40 }, shape)).toEqual([20, 25]);
    expect(regionIndices({ kind: 'box', x0: 9, y0: 9, x1: 12, y1: 12 }, shape)).toEqual([]);
  });

  it('a circle holds the pixels whose centres are within r', () => {
    expect(regionIndices({ kind: 'circle', cx: 2, cy: 2, r: 1 }, shape).sort((a, b) => a - b)).toEqual([7, 11, 12, 13, 17]);
    expect(regionIndices({ kind: 'circle', cx: 2, cy: 2, r: 0.99 }, shape)).toEqual([12]);
    // r = √2 takes the 3 × 3 block
    expect(regionIndices({ kind: 'circle', cx: 2, cy: 2, r: Math.SQRT2 + 1e-12 }, shape)).toHaveLength(9);
  });

  it('statistics of a box: sum, mean, sample std, median, MAD, extremes; NaN pixels counted apart', () => {
    const data = img.slice();
    data[7] = NaN;
    // box x 1–3, y 1–2: 11 12 13 21 22 23 with 12 blank → 11 13 21 22 23
    const s = regionStats(data, shape, { kind: 'box', x0: 1, y0: 1, x1: 3, y1: 2 });
    expect(s.pixels).toBe(6);
    expect(s.finite).toBe(5);
    expect(s.sum).toBe(90);
    expect(s.mean).toBe(18);
    // deviations −7 −5 3 4 5: Σd² = 124, /4
    expect(s.std).toBeCloseTo(Math.sqrt(31), 12);
    expect(s.median).toBe(21);
    // |v − 21| = 10 8 0 1 2 → median 2
    expect(s.mad).toBe(2);
    expect([s.min, s.max]).toEqual([11, 23]);
    const none = regionStats(new Float32Array(30).fill(NaN), shape, { kind: 'circle', cx: 1, cy: 1, r: 1 });
    expect(none.finite).toBe(0);
    expect(Number.isNaN(none.mean)).toBe(true);
  });

  it('1.4826 MAD estimates σ of Gaussian noise (Monte Carlo, within five standard errors)', () => {
    const n = 200 * 200;
    let seed = 99;
    const uniform = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) + 0.5) / 2147483648;
    const data = Float32Array.from({ length: n }, () => 3 + 0.7 * Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform()));
    const s = regionStats(data, [200, 200], { kind: 'circle', cx: 99.5, cy: 99.5, r: 90 });
    // the MAD estimator of σ has a relative standard error ≈ 1.166/√n; the sample std 1/√(2n)
    expect(Math.abs((1.4826 * s.mad) / 0.7 - 1)).toBeLessThan((5 * 1.166) / Math.sqrt(s.finite));
    expect(Math.abs(s.std / 0.7 - 1)).toBeLessThan(5 / Math.sqrt(2 * s.finite));
    expect(Math.abs(s.mean - 3)).toBeLessThan((5 * 0.7) / Math.sqrt(s.finite));
    expect(s.finite).toBe(s.pixels);
    // a circle of r = 90 holds ≈ π·90² pixels
    expect(Math.abs(s.pixels / (Math.PI * 90 * 90) - 1)).toBeLessThan(0.01);
  });
});
