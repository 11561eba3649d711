import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../src-shared/operators/random.js';
import { pixelCentre, type LensParams } from '../../src-shared/operators/lens-model.js';
import { lensLogConditional, lensLogLikelihood, randomWalkMetropolis, type LensConditionalData } from '../../src-shared/lensing/lens-mcmc.js';
import { cholesky } from '../../src-shared/linalg/cholesky.js';
import { massAllowed, massFromLensParams, massOf, massVector } from '../../src-shared/lensing/mass.js';

// The lens half of the lens–source Gibbs sampler (src-shared/lensing/lens-mcmc.ts): random-walk Metropolis on the
// lens parameters' conditional given a fixed source, against conditionals known in closed form.

/** Mean and variance of the final states of independent chains, with their Monte Carlo standard errors. */
function moments(v: number[]): { mean: number; variance: number } {
  const n = v.length;
  const mean = v.reduce((s, x) => s + x, 0) / n;
  const variance = v.reduce((s, x) => s + (x - mean) ** 2, 0) / (n - 1);
  return { mean, variance };
}

describe('lens-parameter Metropolis', () => {
  it('samples the exact conditional of θE given a source (a 1-parameter Gaussian case through the lens matrix)', () => {
    // An SIS and a source linear in β on its grid, s(β) = a + c βx: bilinear sampling reproduces a linear function
    // exactly, and β = θ − θE θ/|θ|, so the lensed image is m0 + θE m1 with m0 = a + c θx, m1 = −c θx/|θ|, exactly,
    // wherever a ray lands inside the source grid. With Gaussian noise and a flat prior the conditional of θE is
    // Gaussian: precision Σ w m1², mean Σ w m1 (y − m0) / precision.
    const image = { shape: [20, 20] as [number, number], scale: 0.1 };
    const source = { shape: [100, 100] as [number, number], scale: 0.05 };
    const [a, c, sigma, thetaTrue] = [1, 0.8, 0.05, 0.5];
    const src = new Float64Array(100 * 100);
    for (let i = 0; i < 100; i++) for (let j = 0; j < 100; j++) src[i * 100 + j] = a + c * pixelCentre(j, 100, 0.05);
    const pixels: number[] = [];
    const m0: number[] = [];
    const m1: number[] = [];
    for (let i = 0; i < 20; i++) {
      for (let j = 0; j < 20; j++) {
        const x = pixelCentre(j, 20, 0.1);
        const y = pixelCentre(i, 20, 0.1);
        const r = Math.hypot(x, y);
        if (r < 0.2) continue;
        pixels.push(i * 20 + j);
        m0.push(a + c * x);
        m1.push((-c * x) / r);
      }
    }
    const rng = new SeededRandom(7);
    const y = Float64Array.from(m0, (v, k) => v + thetaTrue * m1[k] + sigma * rng.normal());
    const w = new Float64Array(y.length).fill(1 / (sigma * sigma));
    const d: LensConditionalData = { y, w, pixels: Int32Array.from(pixels), image, source, supersample: 1, psf: null };
    const sis = (thetaE: number): LensParams => ({ thetaE, q: 1, phi: 0, x0: 0, y0: 0, gamma1: 0, gamma2: 0 });
    let prec = 0;
    let b = 0;
    for (let k = 0; k < y.length; k++) {
      prec += w[k] * m1[k] * m1[k];
      b += w[k] * m1[k] * (y[k] - m0[k]);
    }
    const mu = b / prec;
    const sd = 1 / Math.sqrt(prec);
    // the lens code's likelihood is this quadratic, exactly (the constant aside)
    const quad = (t: number) => -0.5 * y.reduce((s, v, k) => s + w[k] * (v - m0[k] - t * m1[k]) ** 2, 0);
    for (const t of [mu - 3 * sd, mu, mu + 5 * sd]) expect(lensLogLikelihood(d, sis(t), src)).toBeCloseTo(quad(t), 6);

    // independent chains from an over-dispersed start, proposal covariance the conditional's variance (as the
    // Laplace covariance would give it), 40 steps each; their final states are draws of the conditional
    const logp = (v: Float64Array) => (v[0] > 0 ? lensLogLikelihood(d, sis(v[0]), src) : -Infinity);
    const finals: number[] = [];
    let acc = 0;
    const N = 400;
    for (let ch = 0; ch < N; ch++) {
      const x0 = Float64Array.of(mu + 3 * sd * rng.normal());
      const r = randomWalkMetropolis(logp, { x: x0, logp: logp(x0) }, [sd * sd], { steps: 40, rng });
      finals.push(r.state.x[0]);
      acc += r.accepted / N;
    }
    const m = moments(finals);
    // Monte Carlo standard errors of N independent draws: sd/√N for the mean, var·√(2/(N−1)) for the variance
    expect(Math.abs(m.mean - mu)).toBeLessThan((4 * sd) / Math.sqrt(N));
    expect(Math.abs(m.variance - sd * sd)).toBeLessThan(4 * sd * sd * Math.sqrt(2 / (N - 1)));
    // a one-dimensional Gaussian target at scale 2.38: about 44 % of proposals accepted
    expect(acc).toBeGreaterThan(0.3);
    expect(acc).toBeLessThan(0.6);
  });

  it('samples a correlated 2-D Gaussian with its covariance as the proposal (mean and covariance within MC error)', () => {
    const C = [0.04, 0.018, 0.018, 0.01];
    const L = cholesky(C, 2)!;
    const det = C[0] * C[3] - C[1] * C[2];
    const P = [C[3] / det, -C[1] / det, -C[2] / det, C[0] / det];
    const mean = [1.2, -0.3];
    const logp = (v: Float64Array) => {
      const dx = v[0] - mean[0];
      const dy = v[1] - mean[1];
      return -0.5 * (P[0] * dx * dx + 2 * P[1] * dx * dy + P[3] * dy * dy);
    };
    const rng = new SeededRandom(3);
    const N = 600;
    const xs: number[] = [];
    const ys: number[] = [];
    for (let ch = 0; ch < N; ch++) {
      const z = [rng.normal() * 2, rng.normal() * 2];
      const x0 = Float64Array.of(mean[0] + L[0] * z[0], mean[1] + L[2] * z[0] + L[3] * z[1]);
      const r = randomWalkMetropolis(logp, { x: x0, logp: logp(x0) }, C, { steps: 60, rng });
      xs.push(r.state.x[0]);
      ys.push(r.state.x[1]);
    }
    const mx = moments(xs);
    const my = moments(ys);
    expect(Math.abs(mx.mean - mean[0])).toBeLessThan(4 * Math.sqrt(C[0] / N));
    expect(Math.abs(my.mean - mean[1])).toBeLessThan(4 * Math.sqrt(C[3] / N));
    expect(Math.abs(mx.variance - C[0])).toBeLessThan(4 * C[0] * Math.sqrt(2 / (N - 1)));
    expect(Math.abs(my.variance - C[3])).toBeLessThan(4 * C[3] * Math.sqrt(2 / (N - 1)));
    let cxy = 0;
    for (let k = 0; k < N; k++) cxy += ((xs[k] - mx.mean) * (ys[k] - my.mean)) / (N - 1);
    const rho = cxy / Math.sqrt(mx.variance * my.variance);
    // the correlation 0.9: its standard error (1 − ρ²)/√N
    expect(Math.abs(rho - 0.9)).toBeLessThan((4 * (1 - 0.81)) / Math.sqrt(N));
  });

  it('the conditional is the likelihood inside the lens fit’s bounds and −∞ outside; mass vectors round-trip', () => {
    const lens: LensParams = { thetaE: 0.5, q: 0.8, phi: 0.3, x0: 0.01, y0: -0.02, gamma1: 0.02, gamma2: 0.01, gamma: 2.1 };
    const m = massFromLensParams(lens);
    const v = massVector(m);
    expect(v.length).toBe(8);
    expect(massOf(v)).toEqual(m);
    expect(massVector({ ...m, gamma: undefined }).length).toBe(7);
    expect(massAllowed(m)).toBe(true);
    expect(massAllowed({ ...m, gamma: 2.9 })).toBe(false);
    expect(massAllowed({ ...m, thetaE: -0.1 })).toBe(false);
    expect(massAllowed({ ...m, gamma1: 0.5 })).toBe(false);
    const image = { shape: [8, 8] as [number, number], scale: 0.1 };
    const source = { shape: [10, 10] as [number, number], scale: 0.08 };
    const d: LensConditionalData = { y: new Float64Array(64).fill(0.1), w: new Float64Array(64).fill(4), pixels: Int32Array.from({ length: 64 }, (_, k) => k), image, source, supersample: 2, psf: null };
    const src = Float64Array.from({ length: 100 }, (_, k) => (k % 7) / 7);
    const f = lensLogConditional(d, src);
    expect(f(v)).toBeCloseTo(lensLogLikelihood(d, lens, src), 10);
    expect(f(Float64Array.from(v, (x, i) => (i === 7 ? 3 : x)))).toBe(-Infinity);
  });
});

describe('adaptive proposal scale', () => {
  it('a proposal 10× too wide adapts towards 23 % acceptance; the fixed chain after it samples the target', () => {
    const logp = (v: Float64Array) => -0.5 * ((v[0] - 2) / 0.1) ** 2;
    const rng = new SeededRandom(5);
    const N = 300;
    const finals: number[] = [];
    let acc = 0;
    let scaleSum = 0;
    for (let ch = 0; ch < N; ch++) {
      const x0 = Float64Array.of(2 + 0.3 * rng.normal());
      // burn-in with adaptation from a proposal σ of 1 (the target's: 0.1), then fixed
      const b = randomWalkMetropolis(logp, { x: x0, logp: logp(x0) }, [1], { steps: 60, rng, scale: 2.38, adapt: { count: 0 } });
      const r = randomWalkMetropolis(logp, b.state, [1], { steps: 30, rng, scale: b.scale });
      finals.push(r.state.x[0]);
      acc += r.accepted / N;
      scaleSum += b.scale / N;
    }
    // the adapted proposal σ: 23 % acceptance in 1-D is a proposal σ of 5.2 target σ ((2/π) atan(2/5.2) = 0.234),
    // 0.52 here, far below the starting 2.38
    expect(scaleSum).toBeGreaterThan(0.3);
    expect(scaleSum).toBeLessThan(1);
    expect(acc).toBeGreaterThan(0.15);
    expect(acc).toBeLessThan(0.4);
    const m = moments(finals);
    expect(Math.abs(m.mean - 2)).toBeLessThan((4 * 0.1) / Math.sqrt(N));
    expect(Math.abs(m.variance - 0.01)).toBeLessThan(4 * 0.01 * Math.sqrt(2 / (N - 1)));
  });
});
