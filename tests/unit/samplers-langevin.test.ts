/**
 * Langevin dynamics and the analytic 2-D densities:
 *  - the integrator reproduces Brownian motion, ⟨|x − x₀|²⟩ = 2 d D t (zero score), with the mean displacement 0;
 *  - ula on the seed lecture's ring potential samples its exact density (binned χ² against the density
 *    integrated over each bin);
 *  - the ring's σ-perturbed score (quadrature) against a brute-force Cartesian quadrature, the mixture's exact
 *    score against finite differences of its log-density;
 *  - annealed sampling (pc) of the mixture and of the ring matches the exact distributions.
 * Monte Carlo tolerances: each statistic within 4 of its standard errors (derived in each test).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src-main/engine/backend.js';
import { langevinStep } from '../../src-shared/diffusion/samplers/langevin.js';
import { ChainNoise, ChainRandom } from '../../src-shared/diffusion/chain-rng.js';
import { runSampling } from '../../src-shared/diffusion/posterior.js';
import { RingDensity, defaultMixture, gaussHermite, ringPotential } from '../../src-shared/diffusion/priors/analytic2d.js';
import type { ScoreModel } from '../../src-shared/diffusion/types.js';

beforeAll(async () => {
  await initBackend('wasm');
});

/** ∇ log p ≡ 0: Brownian motion. */
class ZeroScore implements ScoreModel {
  readonly kind = 'analytic';
  readonly trainedShape = null;
  readonly supportsZeroSigma = true;
  supportsShape(shape: number[]): boolean {
    return shape.length === 1;
  }
  score(x: tf.Tensor): tf.Tensor {
    return tf.zerosLike(x);
  }
  dispose(): void {}
}

/**
 * Binned χ² of N samples against probabilities p_b (bins with expected count ≥ 5; the rest pooled): for exact
 * samples χ² has mean k − 1 and standard deviation √(2(k − 1)).
 */
function binnedChi2(counts: number[], probs: number[], n: number): { chi2: number; dof: number } {
  let chi2 = 0;
  let k = 0;
  let restO = 0;
  let restE = 0;
  counts.forEach((o, b) => {
    const e = n * probs[b];
    if (e >= 5) {
      chi2 += (o - e) ** 2 / e;
      k++;
    } else {
      restO += o;
      restE += e;
    }
  });
  if (restE > 0) {
    chi2 += (restO - restE) ** 2 / restE;
    k++;
  }
  return { chi2, dof: k - 1 };
}

/** Ring-density probabilities of a B×B grid of bins on [−L, L]², by a midpoint rule with 12×12 points per bin. */
function ringBinProbs(bins: number, half: number): number[] {
  const w = (2 * half) / bins;
  const sub = 12;
  const probs: number[] = [];
  let total = 0;
  for (let i = 0; i < bins; i++) {
    for (let j = 0; j < bins; j++) {
      let s = 0;
      for (let a = 0; a < sub; a++) {
        for (let b = 0; b < sub; b++) {
          const x1 = -half + (j + (b + 0.5) / sub) * w;
          const x2 = -half + (i + (a + 0.5) / sub) * w;
          s += Math.exp(-ringPotential(x1, x2));
        }
      }
      probs.push(s);
      total += s;
    }
  }
  // mass outside [−L, L]² is below e⁻³⁰ of the total for L = 3.6 (|x| ≥ 3.6 ⇒ ((r − 2)/0.4)² ≥ 16, lobes ≤ 1)
  return probs.map((p) => p / total);
}

function binCounts(samples: Float32Array, bins: number, half: number): number[] {
  const counts = new Array(bins * bins).fill(0);
  const w = (2 * half) / bins;
  for (let k = 0; k < samples.length / 2; k++) {
    const j = Math.floor((samples[2 * k] + half) / w);
    const i = Math.floor((samples[2 * k + 1] + half) / w);
    if (i >= 0 && i < bins && j >= 0 && j < bins) counts[i * bins + j]++;
    else counts[0] += 0; // outside: no bin (probability below 1e-13)
  }
  return counts;
}

describe('Langevin integrator', () => {
  it('reproduces Brownian motion: ⟨|x − x₀|²⟩ = 2 d D t, ⟨x − x₀⟩ = 0', () => {
    const n = 20000;
    const d = 2;
    const D = 0.5; // the lecture's example
    const dt = 0.01;
    const noise = new ChainNoise(3, 0, n);
    const x0 = tf.tensor2d(noise.normals(d), [n, d]);
    let x: tf.Tensor = tf.clone(x0);
    const checks = [50, 100, 200];
    for (let k = 1; k <= 200; k++) {
      const next = tf.tidy(() => langevinStep(x, tf.zerosLike(x), dt, noise.tensor([d]), D));
      x.dispose();
      x = next;
      if (checks.includes(k)) {
        const t = k * dt;
        const disp = tf.tidy(() => tf.sub(x, x0).dataSync());
        let msd = 0;
        let mean = 0;
        for (let i = 0; i < disp.length; i++) {
          msd += disp[i] * disp[i];
          mean += disp[i];
        }
        msd /= n;
        mean /= n * d;
        // |Δx|²/(2Dt) ~ χ²_d: mean d, variance 2d → the average over n has sd 2Dt √(2d/n)
        const sd = 2 * D * t * Math.sqrt((2 * d) / n);
        expect(Math.abs(msd - 2 * d * D * t), `t = ${t}`).toBeLessThan(4 * sd);
        expect(Math.abs(mean)).toBeLessThan(4 * Math.sqrt((2 * D * t) / (n * d)));
      }
    }
    x.dispose();
    x0.dispose();
  });

  it('through the driver: ula with a zero score is Brownian motion with D = 1', async () => {
    const n = 4000;
    const res = await runSampling(
      { prior: new ZeroScore(), sde: { sigmaMin: 0.01, sigmaMax: 1 }, shape: [3] },
      { sampler: 'ula', steps: 100, n, seed: 9, batchSize: 1000, samplerOptions: { stepSize: 0.02, initScale: 1e-9 } },
    );
    let msd = 0;
    for (const v of res.samples) msd += v * v;
    msd /= n;
    const t = 100 * 0.02;
    expect(Math.abs(msd - 2 * 3 * t)).toBeLessThan(4 * 2 * t * Math.sqrt(6 / n));
  });
});

describe('analytic 2-D densities', () => {
  it('Gauss–Hermite rule integrates polynomials exactly', () => {
    const { nodes, weights } = gaussHermite(20);
    // ∫ u^{2k} e^{−u²} du = Γ(k + ½)
    const gammaHalf = [Math.sqrt(Math.PI), Math.sqrt(Math.PI) / 2, (3 * Math.sqrt(Math.PI)) / 4, (15 * Math.sqrt(Math.PI)) / 8, (105 * Math.sqrt(Math.PI)) / 16];
    for (let k = 0; k < 5; k++) {
      let s = 0;
      for (let i = 0; i < nodes.length; i++) s += weights[i] * nodes[i] ** (2 * k);
      expect(s / gammaHalf[k]).toBeCloseTo(1, 12);
    }
  });

  it("the ring's perturbed score matches a brute-force quadrature of ∇ log (p ∗ N(0, σ²))", () => {
    const ring = new RingDensity();
    const pts = [
      [2.1, 0.3],
      [-1.2, 1.5],
      [0.2, -2.4],
      [0.05, 0.1],
      [3.0, 2.0],
    ];
    for (const sigma of [0, 0.02, 0.09, 0.1, 0.3, 1, 3]) {
      const got = tf.tidy(() => ring.score(tf.tensor2d(pts.flat(), [pts.length, 2]), tf.fill([pts.length], sigma) as tf.Tensor1D).dataSync());
      pts.forEach(([a, b], k) => {
        let ref: [number, number];
        if (sigma === 0) {
          const h = 1e-5;
          ref = [-(ringPotential(a + h, b) - ringPotential(a - h, b)) / (2 * h), -(ringPotential(a, b + h) - ringPotential(a, b - h)) / (2 * h)];
        } else {
          // (E[x₀ | x] − x)/σ² on a Cartesian grid fine against both σ and the ring's width
          const hgrid = Math.min(0.01, sigma / 8);
          const lim = 4.4;
          let w0 = 0;
          let w1 = 0;
          let w2 = 0;
          let maxLog = -Infinity;
          const terms: number[][] = [];
          for (let u = -lim; u <= lim; u += hgrid) {
            for (let v = -lim; v <= lim; v += hgrid) {
              const d2 = (a - u) ** 2 + (b - v) ** 2;
              if (d2 > 64 * sigma * sigma) continue;
              const lg = -ringPotential(u, v) - d2 / (2 * sigma * sigma);
              terms.push([lg, u, v]);
              maxLog = Math.max(maxLog, lg);
            }
          }
          for (const [lg, u, v] of terms) {
            const w = Math.exp(lg - maxLog);
            w0 += w;
            w1 += w * u;
            w2 += w * v;
          }
          ref = [(w1 / w0 - a) / sigma ** 2, (w2 / w0 - b) / sigma ** 2];
        }
        const err = Math.hypot(got[2 * k] - ref[0], got[2 * k + 1] - ref[1]);
        const scale = Math.max(Math.hypot(ref[0], ref[1]), 1 / sigma || 1);
        expect(err / scale, `σ = ${sigma}, x = (${a}, ${b})`).toBeLessThan(2e-3);
      });
    }
    ring.dispose();
  });

  it("the mixture's score is the gradient of its log-density at every σ", () => {
    const mix = defaultMixture();
    const pts = [
      [-2, 0.2],
      [1.5, 1.0],
      [0.3, -1.7],
      [4, 4],
    ];
    for (const sigma of [0, 0.5, 2]) {
      const got = tf.tidy(() => mix.score(tf.tensor2d(pts.flat(), [pts.length, 2]), tf.fill([pts.length], sigma) as tf.Tensor1D).dataSync());
      pts.forEach(([a, b], k) => {
        const h = 1e-5;
        const g1 = (mix.logDensity(a + h, b, sigma) - mix.logDensity(a - h, b, sigma)) / (2 * h);
        const g2 = (mix.logDensity(a, b + h, sigma) - mix.logDensity(a, b - h, sigma)) / (2 * h);
        expect(Math.hypot(got[2 * k] - g1, got[2 * k + 1] - g2) / Math.max(1, Math.hypot(g1, g2))).toBeLessThan(1e-4);
      });
    }
  });
});

describe('sampling the 2-D densities', () => {
  const BINS = 14;
  const HALF = 3.6;

  it('ula on the ring potential samples its exact density', async () => {
    const n = 4000;
    const ring = new RingDensity();
    const res = await runSampling({ prior: ring, sde: { sigmaMin: 0.01, sigmaMax: 6 }, shape: [2] }, { sampler: 'ula', steps: 2000, n, seed: 21, batchSize: n });
    expect(res.samplerSettings.targetSigma).toBe(0);
    const { chi2, dof } = binnedChi2(binCounts(res.samples, BINS, HALF), ringBinProbs(BINS, HALF), n);
    console.log(`ula ring: χ² ${chi2.toFixed(1)} for ${dof} dof, step ${Number(res.samplerSettings.stepSize).toExponential(2)}`);
    expect(chi2).toBeLessThan(dof + 4 * Math.sqrt(2 * dof));
    // a deliberately wrong target must fail the same test: the ring without its lobes
    const uniformRing = ringBinProbs(BINS, HALF).map(() => 0);
    let tot = 0;
    for (let i = 0; i < BINS; i++) {
      for (let j = 0; j < BINS; j++) {
        const x1 = -HALF + (j + 0.5) * ((2 * HALF) / BINS);
        const x2 = -HALF + (i + 0.5) * ((2 * HALF) / BINS);
        uniformRing[i * BINS + j] = Math.exp(-(((Math.hypot(x1, x2) - 2) / 0.4) ** 2));
        tot += uniformRing[i * BINS + j];
      }
    }
    const wrong = binnedChi2(binCounts(res.samples, BINS, HALF), uniformRing.map((p) => p / tot), n);
    expect(wrong.chi2).toBeGreaterThan(wrong.dof + 10 * Math.sqrt(2 * wrong.dof));
    ring.dispose();
  });

  it('pc (annealed, quadrature-perturbed scores) samples the ring', async () => {
    const n = 600;
    const ring = new RingDensity();
    const res = await runSampling({ prior: ring, sde: { sigmaMin: 0.01, sigmaMax: 6 }, shape: [2] }, { sampler: 'pc', steps: 100, n, seed: 4, batchSize: n });
    const { chi2, dof } = binnedChi2(binCounts(res.samples, BINS, HALF), ringBinProbs(BINS, HALF), n);
    console.log(`pc ring: χ² ${chi2.toFixed(1)} for ${dof} dof`);
    expect(chi2).toBeLessThan(dof + 4 * Math.sqrt(2 * dof));
    ring.dispose();
  });

  it('pc samples the Gaussian mixture (exact perturbed scores): moments and component weights', async () => {
    const n = 2000;
    const mix = defaultMixture();
    const res = await runSampling({ prior: mix, sde: { sigmaMin: 0.01, sigmaMax: 7 }, shape: [2] }, { sampler: 'pc', steps: 200, n, seed: 8, batchSize: n });
    // assign each sample to its most likely component; compare the counts with the same assignment of exact
    // draws (the components overlap slightly): multinomial χ²
    const assign = (pts: ArrayLike<number>, count: number): number[] => {
      const c = [0, 0, 0];
      for (let k = 0; k < count; k++) {
        const l = mix.componentLogDensities(pts[2 * k], pts[2 * k + 1]);
        c[l.indexOf(Math.max(...l))]++;
      }
      return c;
    };
    const nExact = 200000;
    const ref = assign(mix.sample(nExact, new ChainRandom(1, 1)), nExact);
    const { chi2, dof } = binnedChi2(assign(res.samples, n), ref.map((r) => r / nExact), n);
    expect(chi2).toBeLessThan(dof + 4 * Math.sqrt(2 * dof));
    // mean and covariance of all samples vs the mixture's (exact draws' estimates have negligible error)
    const mean = [0, 0];
    for (let k = 0; k < n; k++) {
      mean[0] += res.samples[2 * k] / n;
      mean[1] += res.samples[2 * k + 1] / n;
    }
    const exactMean = [0, 0];
    const exactVar = [0, 0];
    mix.components.forEach((c) => {
      exactMean[0] += c.weight * c.mean[0];
      exactMean[1] += c.weight * c.mean[1];
    });
    mix.components.forEach((c) => {
      exactVar[0] += c.weight * (c.cov[0][0] + (c.mean[0] - exactMean[0]) ** 2);
      exactVar[1] += c.weight * (c.cov[1][1] + (c.mean[1] - exactMean[1]) ** 2);
    });
    for (let a = 0; a < 2; a++) expect(Math.abs(mean[a] - exactMean[a])).toBeLessThan(4 * Math.sqrt(exactVar[a] / n));
    mix.dispose();
  });
});
