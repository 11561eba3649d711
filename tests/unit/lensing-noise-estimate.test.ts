/**
 * The lens fit's noise from the data (src-shared/lensing/noise-estimate.ts): σ_sky from the blank sky and the
 * electrons per data unit (the effective exposure time) by photon transfer, on simulated cutouts of known σ and T —
 * white noise and drizzle-like correlated noise, whose per-pixel T is T/Σk² — with a sky pedestal, and the refusals.
 */
import { describe, expect, it } from 'vitest';
import { estimatePhotonTransfer, estimateSkySigma, quadraticCentreWeights, quadraticHighPass, robustSigma, type PhotonTransfer } from '../../src-shared/lensing/noise-estimate.js';
import { SeededRandom } from '../../src-shared/operators/random.js';

const N = 240;
const SCALE = 0.05;
const shape: [number, number] = [N, N];
const radius = (k: number) => Math.hypot(Math.floor(k / N) - (N - 1) / 2, (k % N) - (N - 1) / 2) * SCALE;
/** a smooth deflector (e⁻/s): 1.5 exp(−r/0.8″), plus an off-centre arc-like blob */
const truth = Float64Array.from({ length: N * N }, (_, k) => {
  const i = Math.floor(k / N);
  const j = k % N;
  const r = radius(k);
  const arc = 0.4 * Math.exp(-0.5 * ((Math.hypot((i - 120) * SCALE, (j - 150) * SCALE) / 0.15) ** 2));
  return 1.5 * Math.exp(-r / 0.8) + arc;
});
const skyMask = Uint8Array.from({ length: N * N }, (_, k) => (radius(k) > 5 ? 1 : 0));
const inner = Uint8Array.from({ length: N * N }, (_, k) => (radius(k) < 2.5 ? 1 : 0));

/** data = truth + pedestal + noise of variance σ_w² + truth/T, the white noise filtered by `taps` (per axis, unit sum) */
function simulate(seed: number, sigmaW: number, T: number, pedestal: number, taps: number[] = [1]): Float64Array {
  const rng = new SeededRandom(seed);
  const w = Float64Array.from(truth, (v) => rng.normal() * Math.sqrt(sigmaW ** 2 + v / T));
  const r = (taps.length - 1) / 2;
  const conv = (src: Float64Array, along: 'x' | 'y') => {
    const out = new Float64Array(N * N);
    for (let i = 0; i < N; i++)
      for (let j = 0; j < N; j++) {
        let s = 0;
        for (let t = -r; t <= r; t++) {
          const ii = along === 'y' ? Math.min(N - 1, Math.max(0, i + t)) : i;
          const jj = along === 'x' ? Math.min(N - 1, Math.max(0, j + t)) : j;
          s += taps[t + r] * src[ii * N + jj];
        }
        out[i * N + j] = s;
      }
    return out;
  };
  const n = conv(conv(w, 'x'), 'y');
  return Float64Array.from(truth, (v, k) => v + pedestal + n[k]);
}

function estimate(data: Float64Array, skyLevel?: number, sigmaRef?: number) {
  const sky = estimateSkySigma(data, shape, skyMask, 2000);
  if (!sky) throw new Error('no sky');
  const pt = estimatePhotonTransfer(data, shape, { sky: sky.keep, region: inner, skyLevel: skyLevel ?? sky.skyMedian, sigmaSky: sky.sigma, sigmaRef: sigmaRef ?? sky.sigma });
  return { sky, pt };
}
const ok = (pt: PhotonTransfer | string): PhotonTransfer => {
  if (typeof pt === 'string') throw new Error(pt);
  return pt;
};

describe('the photon transfer high-pass filter', () => {
  it('is the quadratic fit: a quadratic surface passes without residual, a single pixel keeps most of its value', () => {
    const w = quadraticCentreWeights();
    expect(w.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    const q = Float64Array.from({ length: 400 }, (_, k) => {
      const x = (k % 20) - 7;
      const y = Math.floor(k / 20) - 4;
      return 2 + 0.3 * x - 0.1 * y + 0.05 * x * x - 0.02 * y * y + 0.07 * x * y;
    });
    const { residual, smooth } = quadraticHighPass(q, [20, 20]);
    expect(Number.isNaN(residual[0])).toBe(true);
    for (let k = 0; k < 400; k++) if (Number.isFinite(residual[k])) expect(Math.abs(residual[k])).toBeLessThan(1e-10);
    expect(smooth[10 * 20 + 10]).toBeCloseTo(q[10 * 20 + 10], 10);
    // the centre weight is 1 − (the pixel's own part of the surface): h = 1 − w_centre
    expect(1 - w[12]).toBeGreaterThan(0.7);
  });
});

describe('σ_sky and T from the data', () => {
  const SIGMA = 0.0065;
  const T = 3800;

  it('white noise with a sky pedestal: σ_sky within 3 %, T within 10 % and its stated error, the pedestal as the sky level', () => {
    const data = simulate(1, SIGMA, T, 0.1);
    const { sky, pt } = estimate(data);
    expect(sky.sigma / SIGMA - 1).toBeGreaterThan(-0.03);
    expect(sky.sigma / SIGMA - 1).toBeLessThan(0.03);
    // the pedestal and the deflector's wings beyond 5″ (1.5 e^(−6.25) = 0.003 at 5″)
    expect(sky.skyMedian - 0.1).toBeGreaterThan(0);
    expect(sky.skyMedian - 0.1).toBeLessThan(0.003);
    expect(sky.quadrants.every((q) => q !== null && Math.abs(q / SIGMA - 1) < 0.05)).toBe(true);
    expect(sky.standardError!).toBeLessThan(0.02 * SIGMA);
    const p = ok(pt);
    expect(Math.abs(p.electronsPerUnit / T - 1)).toBeLessThan(0.1);
    expect(Math.abs(p.electronsPerUnit - T)).toBeLessThan(3 * p.standardError);
    expect(p.bins.length).toBeGreaterThanOrEqual(4);
    // the bins cover Poisson variances 0.5–6.5 times the sky's
    const k = 1 / (T * SIGMA ** 2);
    expect(p.bins[0].from * k).toBeGreaterThan(0.35);
    expect(p.bins[p.bins.length - 1].to * k).toBeLessThan(9);
    // the pedestal's photons are in σ_sky: left on s, it would read T far off
    const withPedestal = ok(estimate(data, 0).pt);
    expect(Math.abs(withPedestal.electronsPerUnit / T - 1)).toBeGreaterThan(0.25);
  });

  it('drizzle-like correlated noise: σ_sky the per-pixel rms and T the per-pixel T/Σk², unbiased over seeds', () => {
    const pulls: number[] = [];
    for (const taps of [
      [0.12, 0.76, 0.12],
      [0.25, 0.5, 0.25],
    ]) {
      const k2 = taps.reduce((a, b) => a + b * b, 0) ** 2; // Σk² of the separable 2-D kernel: 0.368, 0.141
      const sigmaW = SIGMA / Math.sqrt(k2);
      const T0 = 1400;
      const tPix = T0 / k2;
      const ratios: number[] = [];
      for (const seed of [2, 3, 4, 5]) {
        const { sky, pt } = estimate(simulate(seed, sigmaW, T0, 0.02, taps));
        expect(Math.abs(sky.sigma / SIGMA - 1)).toBeLessThan(0.03);
        const p = ok(pt);
        ratios.push(p.electronsPerUnit / tPix);
        expect(Math.abs(p.electronsPerUnit / tPix - 1)).toBeLessThan(0.2);
        pulls.push((p.electronsPerUnit - tPix) / p.standardError);
      }
      const mean = ratios.reduce((a, b) => a + b, 0) / ratios.length;
      expect(Math.abs(mean - 1)).toBeLessThan(0.07);
    }
    // the stated error is of the estimate's size (from five bins about a line: itself uncertain)
    expect(Math.sqrt(pulls.reduce((a, b) => a + b * b, 0) / pulls.length)).toBeLessThan(2);
    expect(Math.sqrt(pulls.reduce((a, b) => a + b * b, 0) / pulls.length)).toBeGreaterThan(0.3);
  });

  it('e for σ of another scale keeps the Poisson term\'s ratio to the sky: σ twice the per-pixel rms, e a quarter', () => {
    const data = simulate(5, SIGMA, T, 0);
    const a = ok(estimate(data).pt);
    const sky = estimateSkySigma(data, shape, skyMask, 2000)!;
    const b = ok(estimate(data, undefined, 2 * sky.sigma).pt);
    expect(b.electronsPerUnit / (a.electronsPerUnit / 4)).toBeCloseTo(1, 9);
    expect(b.slope).toBeCloseTo(a.slope, 12);
  });

  it('refuses: too little sky; no signal above the sky; a constant image', () => {
    expect(estimateSkySigma(simulate(6, SIGMA, T, 0), shape, Uint8Array.from({ length: N * N }, (_, k) => (radius(k) > 8 ? 1 : 0)), 2000)).toBeNull();
    const rng = new SeededRandom(7);
    const noise = Float64Array.from({ length: N * N }, () => SIGMA * rng.normal());
    const sky = estimateSkySigma(noise, shape, skyMask, 2000)!;
    expect(Math.abs(sky.sigma / SIGMA - 1)).toBeLessThan(0.03);
    const r = estimatePhotonTransfer(noise, shape, { sky: sky.keep, region: inner, skyLevel: 0, sigmaSky: sky.sigma, sigmaRef: sky.sigma });
    expect(r).toMatch(/too little signal for photon transfer/);
    const flat = new Float64Array(N * N).fill(1);
    expect(estimatePhotonTransfer(flat, shape, { sky: skyMask, region: inner, skyLevel: 0, sigmaSky: 1, sigmaRef: 1 })).toMatch(/no scatter/);
    expect(robustSigma(Float64Array.from([1, 1, 1, 5]))).toBe(0);
  });
});
