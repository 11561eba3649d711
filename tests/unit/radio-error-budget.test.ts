import { describe, expect, it } from 'vitest';
import { errorBudget } from '../../src-shared/radio/error-budget.js';

const N = 32;
/** A Gaussian source of peak 1 at the centre (σ 1.5 px). */
function source(): Float64Array {
  const t = new Float64Array(N * N);
  for (let y = 0; y < N; y++) for (let x = 0; x < N; x++) t[y * N + x] = Math.exp(-((x - 16) ** 2 + (y - 16) ** 2) / (2 * 1.5 ** 2));
  return t;
}

describe('errorBudget', () => {
  it('splits the squared error by frequency band exactly (Parseval) and puts pure tones in their band', () => {
    const t = source();
    const tone = (f: number) => Float64Array.from(t, (v, i) => v + 0.01 * Math.cos(2 * Math.PI * f * (i % N)));
    // a constant offset: all below the shortest baseline
    const off = errorBudget(Float64Array.from(t, (v) => v + 0.02), t, N, N, 0.02, 1 / 6);
    expect(off.band.hole / off.sse).toBeCloseTo(1, 12);
    expect(off.sse).toBeCloseTo(N * N * 0.02 ** 2, 12);
    // a tone at 4/32 = 0.125 cycles per pixel: inside [0.02, 1/6]
    const mid = errorBudget(tone(4 / N), t, N, N, 0.02, 1 / 6);
    expect(mid.band.measured / mid.sse).toBeCloseTo(1, 12);
    // 8/32 = 0.25: beyond the longest baseline
    const hi = errorBudget(tone(8 / N), t, N, N, 0.02, 1 / 6);
    expect(hi.band.beyond / hi.sse).toBeCloseTo(1, 12);
    // an arbitrary error: the three bands add up to the sum of squares
    const r = Float64Array.from(t, (v, i) => v + Math.sin(i * 12.9898) * 0.05);
    const b = errorBudget(r, t, N, N, 0.02, 1 / 6);
    expect(b.band.hole + b.band.measured + b.band.beyond).toBeCloseTo(b.sse, 10);
    expect(b.band.hole).toBeGreaterThan(0);
    expect(b.band.measured).toBeGreaterThan(0);
    expect(b.band.beyond).toBeGreaterThan(0);
  });

  it('splits it by region of the truth, and finds the flux and the best scale', () => {
    const t = source();
    const x = Float64Array.from(t);
    x[16 * N + 16] += 0.3; // the peak: bright
    x[16 * N + 20] += 0.2; // exp(-16/4.5) = 0.029 of the peak: wings
    x[0] -= 0.1; // empty sky
    const b = errorBudget(x, t, N, N, 0.02, 1 / 6);
    expect(b.region.bright).toBeCloseTo(0.09, 12);
    expect(b.region.wings).toBeCloseTo(0.04, 12);
    expect(b.region.empty).toBeCloseTo(0.01, 12);
    expect(b.region.bright + b.region.wings + b.region.empty).toBeCloseTo(b.sse, 12);
    expect(b.pixels.bright + b.pixels.wings + b.pixels.empty).toBe(N * N);
    expect(b.emptyMeanError).toBeCloseTo(-0.1 / b.pixels.empty, 15);
    let tf = 0;
    for (const v of t) tf += v;
    expect(b.truthFlux).toBeCloseTo(tf, 12);
    expect(b.flux).toBeCloseTo(tf + 0.4, 12);
    // twice the truth: the best scale is 1/2 and leaves no error
    const d = errorBudget(Float64Array.from(t, (v) => 2 * v), t, N, N, 0.02, 1 / 6);
    expect(d.bestScale).toBeCloseTo(0.5, 14);
    expect(d.sseBestScale).toBeLessThan(1e-20);
    expect(() => errorBudget(new Float64Array(3), t, N, N, 0.02, 1 / 6)).toThrow(RangeError);
  });
});
