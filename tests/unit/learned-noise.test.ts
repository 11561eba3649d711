/**
 * The learned noise prior (tests/fixtures/noise-mixture, made by scripts/make-noise-fixture.ts): its network recovers
 * the score of the known noise density (a two-component Gaussian mixture per pixel) convolved with N(0, σ²), and the
 * likelihood wires it with the right units and sign (A = identity: exactly −s_Q).
 */
import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src-main/engine/backend.js';
import { learnedNoiseFrom, type NoisePriorSummary } from '../../src-shared/noise/learned.js';
import { correlatedNoise, learnedNoiseModel, scalarNoise, type LearnedNoise } from '../../src-shared/operators/noise.js';
import { Spectral2D } from '../../src-shared/diffusion/spectral.js';
import { drizzleCorrelation } from '../helpers/noise-spectra.js';
import { buildNoise } from '../../src-shared/noise/model.js';
import { cholesky, forwardSubstituteInPlace } from '../helpers/gaussian-posterior.js';
import type { ScoreModel } from '../../src-shared/diffusion/types.js';
import { createUnetFromWeights } from '../../src-shared/diffusion/nn/prior-meta.js';
import { ConvolvedLikelihood } from '../../src-shared/diffusion/likelihood.js';
import { MaskOperator } from '../../src-shared/operators/mask.js';
import { PsfOperator } from '../../src-shared/operators/psf.js';
import { learnedNoiseLevel } from '../../src-shared/diffusion/likelihood/learned-noise.js';
import { Rng } from '../../src-shared/diffusion/nn/rng.js';
import type { UnetScoreModel } from '../../src-shared/diffusion/nn/unet.js';
import { runSampling } from '../../src-shared/diffusion/posterior.js';
import { noiseStatistics } from '../../src-shared/diffusion/train/noise-data.js';
import { MIXTURE_NOISE, drawMixtureNoise, mixtureExcessKurtosis, mixtureScore, mixtureVariance } from '../helpers/mixture-noise.js';

const DIR = path.resolve(__dirname, '../fixtures/noise-mixture');

function loadFixture(): { learned: LearnedNoise; summary: NoisePriorSummary } {
  const meta = JSON.parse(readFileSync(path.join(DIR, 'model.json'), 'utf8'));
  const w = readFileSync(path.join(DIR, 'weights.bin'));
  return learnedNoiseFrom(meta, new Uint8Array(w.buffer, w.byteOffset, w.byteLength), 'noise-mixture');
}

let fx: { learned: LearnedNoise; summary: NoisePriorSummary };
let net: UnetScoreModel;

beforeAll(async () => {
  await initBackend('wasm');
  fx = loadFixture();
  net = createUnetFromWeights(fx.learned.network.meta, fx.learned.network.weights);
});
afterAll(() => net.dispose());

/** The network's score of the noise in data units at data-unit level σ, for a field n [ny, nx]. */
function netScore(n: Float32Array, shape: [number, number], sigmaData: number): Float32Array {
  const L = fx.learned;
  return tf.tidy(() => {
    const u = tf.div(tf.sub(tf.tensor3d(n, [1, ...shape]), L.offset), L.scale);
    return tf.div(net.score(u, tf.tensor1d([Math.max(sigmaData / L.scale, L.sigmaMin)])), L.scale).dataSync() as Float32Array;
  });
}

describe('learned noise prior: the fixture', () => {
  it('records what it was trained on: the noise’s σ and kurtosis match the mixture’s', () => {
    const s = fx.summary;
    const sd = Math.sqrt(mixtureVariance(MIXTURE_NOISE));
    // 58 880 training pixels: the sample σ within a few % and the (heavy-tailed) kurtosis within 15 %
    expect(Math.abs(s.sigma / sd - 1)).toBeLessThan(0.03);
    expect(Math.abs(s.excessKurtosis / mixtureExcessKurtosis(MIXTURE_NOISE) - 1)).toBeLessThan(0.15);
    expect(Math.abs(s.lag1.x)).toBeLessThan(0.03);
    expect(fx.learned.network.meta.training?.augment).toBe('none');
    expect(fx.learned.variance).toBeCloseTo(1, 6);
  });
});

describe('learned noise prior: score recovery', () => {
  const shape: [number, number] = [64, 64];
  const levels = [0, 0.01, 0.02, 0.05, 0.1];
  it.each(levels)('at σ = %s (data units) the network’s score matches the exact score of Q ∗ N(0, σ²)', (sigma) => {
    const rng = new Rng(97 + Math.round(sigma * 1000));
    const n = drawMixtureNoise(rng, shape[0] * shape[1], MIXTURE_NOISE);
    const z = rng.fillNormal(new Float32Array(n.length));
    // the noise level the network is evaluated at (its σmin below it): a draw of Q ∗ N(0, s²)
    const s = Math.max(sigma, fx.learned.sigmaMin * fx.learned.scale);
    const r = Float32Array.from(n, (v, i) => v + s * z[i]);
    const got = netScore(r, shape, s);
    const v = mixtureVariance(MIXTURE_NOISE) + s * s;
    let err = 0;
    let errGauss = 0;
    let ref = 0;
    for (let i = 0; i < r.length; i++) {
      const t = mixtureScore(MIXTURE_NOISE, r[i], s);
      err += (got[i] - t) ** 2;
      errGauss += (-r[i] / v - t) ** 2;
      ref += t * t;
    }
    const rel = Math.sqrt(err / ref);
    const relGauss = Math.sqrt(errGauss / ref);
    console.log(`σ ${s.toFixed(4)}: relative score error, network ${rel.toFixed(3)}, the Gaussian of the same variance ${relGauss.toFixed(3)}`);
    // measured (1200 steps): 0.38 at σmin (0.0043), 0.18, 0.14, 0.08, 0.045 at 0.01, 0.02, 0.05, 0.1; the Gaussian of
    // the noise's variance is off by 0.85 … 0.12 of the score's norm: the network must be at least twice as close
    expect(rel).toBeLessThan(sigma === 0 ? 0.5 : 0.25);
    expect(rel).toBeLessThan(relGauss / 2);
  });
});

describe('learned noise prior: its draws have the noise’s statistics', () => {
  it('pc draws from the noise network: σ, MAD σ, the tail beyond 0.1, kurtosis and no correlation as the mixture’s', async () => {
    const L = fx.learned;
    // 4 chains of 32×32 pixels, 200 levels from 10 down to σmin (0.1 of the noise's σ: the draws are of Q ∗ N(0, σmin²),
    // 1 % more variance than Q)
    const res = await runSampling({ prior: net, sde: { sigmaMin: L.sigmaMin, sigmaMax: L.sigmaMax }, shape: [32, 32] }, { sampler: 'pc', steps: 200, n: 4, seed: 1, batchSize: 4 });
    const n = Float32Array.from(res.samples, (u) => u * L.scale + L.offset);
    const m = n.length;
    const st = noiseStatistics([{ img: n, ny: 128, nx: 32 }]);
    const sd = Math.sqrt(mixtureVariance(MIXTURE_NOISE));
    const kappa = mixtureExcessKurtosis(MIXTURE_NOISE);
    // P(|n| > 0.1) = 0.9·P(|z| > 5) + 0.1·P(|z| > 0.833) = 0.0405
    const tailTrue = 0.1 * 0.40487 + 0.9 * 5.7e-7;
    let tail = 0;
    for (const v of n) if (Math.abs(v) > 0.1) tail++;
    const tailFrac = tail / m;
    console.log(`draws: σ ${st.std.toFixed(4)} (true ${sd.toFixed(4)}), MAD σ ${st.madSigma.toFixed(4)} (true ${fx.summary.madSigma.toFixed(4)}), P(|n| > 0.1) ${tailFrac.toFixed(4)} (true ${tailTrue.toFixed(4)}), excess kurtosis ${st.excessKurtosis.toFixed(1)} (true ${kappa.toFixed(1)}), neighbour correlation ${st.lag1.x.toFixed(3)} / ${st.lag1.y.toFixed(3)}`);
    // tolerances: 4 standard errors of each statistic for m independent draws (σ's: √((κ + 2)/(4m)) relative)
    expect(Math.abs(st.std / sd - 1)).toBeLessThan(4 * Math.sqrt((kappa + 2) / (4 * m)));
    expect(Math.abs(st.madSigma / fx.summary.madSigma - 1)).toBeLessThan(0.1);
    expect(Math.abs(tailFrac - tailTrue)).toBeLessThan(4 * Math.sqrt((tailTrue * (1 - tailTrue)) / m));
    // a Gaussian of the same σ has kurtosis 0 and P(|n| > 0.1) = 0.019
    expect(st.excessKurtosis).toBeGreaterThan(8);
    expect(Math.abs(st.lag1.x)).toBeLessThan(4 / Math.sqrt(m));
    expect(Math.abs(st.lag1.y)).toBeLessThan(4 / Math.sqrt(m));
  });
});

describe('learned noise likelihood: plumbing and sign', () => {
  it('A = identity: the likelihood score is exactly −a·s_Q(y − a x − offset) at the level aσ, σ = 0 at σmin', async () => {
    const shape: [number, number] = [16, 16];
    const rng = new Rng(5);
    const y = drawMixtureNoise(rng, 256, MIXTURE_NOISE).map((v, i) => v + 0.05 * Math.sin(i));
    const op = new MaskOperator(shape, new Float32Array(256).fill(1));
    const noise = learnedNoiseModel(fx.learned, shape);
    const affine = { scale: 0.5, offset: 0.01 };
    const lik = new ConvolvedLikelihood({ operator: op, data: y, dataShape: shape, noise, affine });
    try {
      expect(lik.method).toBe('learned-noise');
      const x = tf.tensor3d(Float32Array.from({ length: 512 }, (_, i) => 0.02 * Math.cos(i)), [2, 16, 16]);
      for (const sigma of [0, 0.01, 0.1, 1, 100]) {
        const got = tf.tidy(() => lik.score(x, sigma).dataSync());
        const level = learnedNoiseLevel(fx.learned, affine.scale ** 2 * sigma ** 2, 1);
        const expected = tf.tidy(() => {
          const r = tf.sub(tf.sub(tf.tensor3d(y, [1, 16, 16]), affine.offset), tf.mul(x, affine.scale));
          const u = tf.div(tf.sub(r, fx.learned.offset), fx.learned.scale);
          const s = level > fx.learned.sigmaMax ? tf.div(u, -(fx.learned.variance + level * level)) : net.score(u, tf.fill([2], level) as tf.Tensor1D);
          return tf.mul(s, -affine.scale / fx.learned.scale).dataSync();
        });
        if (sigma === 0) expect(level).toBe(fx.learned.sigmaMin);
        if (sigma === 100) expect(level).toBeGreaterThan(fx.learned.sigmaMax);
        let maxErr = 0;
        let maxRef = 0;
        for (let i = 0; i < got.length; i++) {
          maxErr = Math.max(maxErr, Math.abs(got[i] - expected[i]));
          maxRef = Math.max(maxRef, Math.abs(expected[i]));
        }
        expect(maxErr).toBeLessThanOrEqual(1e-5 * maxRef);
        // the sign: a data value above the model pulls x up (the score's sign follows the residual's at small σ)
        if (sigma <= 0.01) {
          const rr = tf.tidy(() => lik.residual(x).dataSync());
          let agree = 0;
          for (let i = 0; i < got.length; i++) if (Math.sign(got[i]) === Math.sign(rr[i])) agree++;
          expect(agree / got.length).toBeGreaterThan(0.95);
        }
      }
      x.dispose();
      // χ² uses the noise's empirical σ: (y − a·0 − offset)² / σ² averaged
      const zero = tf.zeros([1, 16, 16]);
      const chi2 = (await lik.chi2PerPixel(zero))[0];
      zero.dispose();
      let ex = 0;
      for (let i = 0; i < 256; i++) ex += ((y[i] - affine.offset) / fx.summary.sigma) ** 2;
      expect(chi2).toBeCloseTo(ex / 256, 4);
    } finally {
      lik.dispose();
      op.dispose();
    }
  });

  it('a PSF: the level is σ·a·√λmax(A Aᵀ); the score is Aᵀ of the network\'s departure from its Gaussian limit plus the exact white Gaussian Aᵀ(σ_n² + c A Aᵀ)⁻¹ r', () => {
    const shape: [number, number] = [16, 16];
    const k = [0.05, 0.1, 0.05, 0.1, 0.4, 0.1, 0.05, 0.1, 0.05];
    const op = new PsfOperator(shape, { data: Float64Array.from(k), shape: [3, 3], center: [1, 1] });
    const rng = new Rng(6);
    const y = drawMixtureNoise(rng, 256, MIXTURE_NOISE);
    const lik = new ConvolvedLikelihood({ operator: op, data: y, dataShape: shape, noise: learnedNoiseModel(fx.learned, shape), cgTol: 1e-6, cgMaxIter: 200 });
    try {
      expect(lik.method).toBe('learned-noise');
      // λmax of Aᵀ A from the dense zero-padded convolution matrix (float64 power iteration), independent of the operator
      const n = 16;
      const nn = n * n;
      const A = new Float64Array(nn * nn);
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let di = -1; di <= 1; di++) for (let dj = -1; dj <= 1; dj++) {
        const p = i - di;
        const q = j - dj;
        if (p >= 0 && p < n && q >= 0 && q < n) A[(i * n + j) * nn + p * n + q] = k[(di + 1) * 3 + dj + 1];
      }
      let v = new Float64Array(nn).fill(1);
      let dense = 0;
      for (let it = 0; it < 2000; it++) {
        const av = new Float64Array(nn);
        for (let r = 0; r < nn; r++) for (let c = 0; c < nn; c++) av[r] += A[r * nn + c] * v[c];
        const w = new Float64Array(nn);
        for (let r = 0; r < nn; r++) for (let c = 0; c < nn; c++) w[c] += A[r * nn + c] * av[r];
        const norm = Math.sqrt(w.reduce((a, x) => a + x * x, 0));
        dense = norm / Math.sqrt(v.reduce((a, x) => a + x * x, 0));
        v = w.map((x) => x / norm);
      }
      const m = /λmax = ([0-9.e+-]+)/.exec(lik.description);
      expect(m).not.toBeNull();
      expect(Math.abs(Number(m![1]) - dense)).toBeLessThanOrEqual(1e-3 * dense);
      // the level the solver uses, to full precision (the description rounds it)
      const lam = (lik as unknown as { solver: { gramMax: number } }).solver.gramMax;
      expect(Math.abs(lam - dense)).toBeLessThanOrEqual(1e-3 * dense);
      // far above the mean diagonal (Σk² = 0.22), which under-states the state's noise at the low frequencies
      expect(dense).toBeGreaterThan(0.8);
      const L = fx.learned;
      const varData = L.variance * L.scale * L.scale;
      // the exact white Gaussian part, dense float64: Aᵀ (σ_n² I + c A Aᵀ)⁻¹ (y − offset), by Cholesky
      const gaussDense = (c: number): Float64Array => {
        const S = new Float64Array(nn * nn);
        for (let r = 0; r < nn; r++) {
          for (let q = 0; q < nn; q++) {
            let acc = 0;
            for (let t = 0; t < nn; t++) acc += A[r * nn + t] * A[q * nn + t];
            S[r * nn + q] = c * acc + (r === q ? varData : 0);
          }
        }
        const Lc = cholesky(S, nn);
        const b = Float64Array.from(y, (yi) => yi - L.offset);
        forwardSubstituteInPlace(Lc, b, nn, 1);
        for (let i = nn - 1; i >= 0; i--) {
          let acc = b[i];
          for (let t = i + 1; t < nn; t++) acc -= Lc[t * nn + i] * b[t];
          b[i] = acc / Lc[i * nn + i];
        }
        const out = new Float64Array(nn);
        for (let r = 0; r < nn; r++) for (let q = 0; q < nn; q++) out[q] += A[r * nn + q] * b[r];
        return out;
      };
      const x = tf.zeros([1, 16, 16]);
      for (const sigma of [0.05, 0.2, 0]) {
        expect(learnedNoiseLevel(fx.learned, sigma * sigma, lam)).toBeLessThan(fx.learned.sigmaMax);
        const c = sigma * sigma;
        const level = learnedNoiseLevel(L, c, lam);
        const got = tf.tidy(() => lik.score(x, sigma).dataSync());
        const departure = tf.tidy(() => {
          const r = tf.tensor3d(y, [1, 16, 16]);
          const u = tf.div(tf.sub(r, L.offset), L.scale);
          const s = net.score(u, tf.tensor1d([level]));
          // −s_Q + s_G in data units, s_G = −(r − offset)/((v + ℓ²)·scale²)
          const d = tf.add(tf.mul(s, -1 / L.scale), tf.div(tf.sub(r, L.offset), -(L.variance + level * level) * L.scale * L.scale));
          return op.adjoint(d).dataSync();
        });
        const gauss = gaussDense(c);
        let maxErr = 0;
        let maxRef = 0;
        let depMax = 0;
        for (let i = 0; i < got.length; i++) {
          const e = departure[i] + gauss[i];
          maxErr = Math.max(maxErr, Math.abs(got[i] - e));
          maxRef = Math.max(maxRef, Math.abs(e));
          depMax = Math.max(depMax, Math.abs(departure[i]));
        }
        expect(maxErr, `σ = ${sigma}`).toBeLessThanOrEqual(1e-4 * maxRef);
        // the network's departure from the Gaussian is not negligible on this impulsive noise: the test tells the parts apart
        expect(depMax).toBeGreaterThan(0.05 * maxRef);
      }
      expect(learnedNoiseLevel(L, 0.05 * 0.05, lam)).toBeCloseTo((0.05 * Math.sqrt(lam)) / L.scale, 12);
      x.dispose();
    } finally {
      lik.dispose();
      op.dispose();
    }
  });

  it('a PSF and a Gaussian noise density: the Gaussian-corrected score is the white Gaussian likelihood\'s at every level', () => {
    const shape: [number, number] = [16, 16];
    const k = [0.05, 0.1, 0.05, 0.1, 0.4, 0.1, 0.05, 0.1, 0.05];
    const op = new PsfOperator(shape, { data: Float64Array.from(k), shape: [3, 3], center: [1, 1] });
    const L = fx.learned;
    const varData = L.variance * L.scale * L.scale;
    // the exact noise-conditional score of N(0, v) in model units, in place of the network
    const gaussScore = {
      kind: 'analytic',
      trainedShape: null,
      supportsShape: () => true,
      score: (u: tf.Tensor, s: tf.Tensor1D) => tf.tidy(() => tf.div(u, tf.reshape(tf.neg(tf.add(tf.square(s), L.variance)), [-1, 1, 1]))),
      dispose: () => {},
    } as ScoreModel;
    const rng = new Rng(8);
    const y = Float32Array.from({ length: 256 }, () => L.offset + Math.sqrt(varData) * rng.normal());
    const lik = new ConvolvedLikelihood({ operator: op, data: y, dataShape: shape, noise: learnedNoiseModel(L, shape), noiseScore: gaussScore, cgTol: 1e-6, cgMaxIter: 200 });
    const white = new ConvolvedLikelihood({
      operator: op, data: Float32Array.from(y, (v) => v - L.offset), dataShape: shape, noise: scalarNoise(Math.sqrt(varData)), solver: 'cg', cgTol: 1e-6, cgMaxIter: 200,
    });
    const x = tf.tidy(() => tf.mul(tf.randomNormal([2, 16, 16], 0, 1, 'float32', 3), 0.05));
    try {
      for (const sigma of [0, 0.01, 0.1, 1, 30]) {
        const got = tf.tidy(() => lik.score(x, sigma).dataSync());
        const ref = tf.tidy(() => white.score(x, sigma).dataSync());
        let maxErr = 0;
        let maxRef = 0;
        for (let i = 0; i < got.length; i++) {
          maxErr = Math.max(maxErr, Math.abs(got[i] - ref[i]));
          maxRef = Math.max(maxRef, Math.abs(ref[i]));
        }
        expect(maxErr, `σ = ${sigma}`).toBeLessThanOrEqual(1e-4 * maxRef);
      }
    } finally {
      x.dispose();
      lik.dispose();
      white.dispose();
      op.dispose();
    }
  });

  it('a PSF and a correlated Gaussian noise density with its measured spectrum: the score is the correlated Gaussian likelihood\'s at every level', () => {
    // a drizzle-like correlated Gaussian Q (neighbour correlation ≈ 0.5, as HST ACS drizzled noise) whose spectrum ρ
    // the noise model carries: with the white Gaussian part the score was the white likelihood's until the network's
    // level came down to the noise's, so the correlation was ignored through most of the annealing
    const shape: [number, number] = [16, 16];
    const k = [0.05, 0.1, 0.05, 0.1, 0.4, 0.1, 0.05, 0.1, 0.05];
    const op = new PsfOperator(shape, { data: Float64Array.from(k), shape: [3, 3], center: [1, 1] });
    const L = fx.learned;
    const varData = L.variance * L.scale * L.scale;
    const rho = (correlatedNoise(drizzleCorrelation(16, 0.01), shape) as { correlation: Float32Array }).correlation;
    const spectral = new Spectral2D(16, 16);
    const rhoT = spectral.multiplier(rho);
    // the exact noise-conditional score of N(0, v C) ∗ N(0, s²) in model units: −F⁻¹ diag(1/(v ρ + s²)) F u
    const corrScore = {
      kind: 'analytic',
      trainedShape: null,
      supportsShape: () => true,
      score: (u: tf.Tensor, s: tf.Tensor1D) => {
        const level = s.dataSync()[0]!;
        return tf.tidy(() => spectral.apply(u, tf.div(-1, tf.add(tf.mul(rhoT, L.variance), level * level))));
      },
      dispose: () => {},
    } as ScoreModel;
    // data: offset plus a draw of the correlated noise
    const rng = new Rng(9);
    const z = tf.tensor3d(Float32Array.from({ length: 256 }, () => rng.normal()), [1, 16, 16]);
    const sqrtRho = spectral.multiplier(Float32Array.from(rho, Math.sqrt));
    const noise = tf.tidy(() => spectral.apply(z, sqrtRho).dataSync() as Float32Array);
    const y = Float32Array.from(noise, (v) => L.offset + Math.sqrt(varData) * v);
    const lik = new ConvolvedLikelihood({ operator: op, data: y, dataShape: shape, noise: learnedNoiseModel(L, shape, rho), noiseScore: corrScore, cgTol: 1e-7, cgMaxIter: 400 });
    const ref = new ConvolvedLikelihood({
      operator: op, data: Float32Array.from(y, (v) => v - L.offset), dataShape: shape, noise: correlatedNoise(rho, shape, Math.sqrt(varData)), cgTol: 1e-7, cgMaxIter: 400,
    });
    expect(lik.method).toBe('learned-noise');
    expect(ref.method).toBe('correlated-cg');
    const x = tf.tidy(() => tf.mul(tf.randomNormal([2, 16, 16], 0, 1, 'float32', 3), 0.05));
    try {
      for (const sigma of [0, 0.01, 0.1, 1, 30]) {
        const got = tf.tidy(() => lik.score(x, sigma).dataSync());
        const want = tf.tidy(() => ref.score(x, sigma).dataSync());
        let maxErr = 0;
        let maxRef = 0;
        for (let i = 0; i < got.length; i++) {
          maxErr = Math.max(maxErr, Math.abs(got[i]! - want[i]!));
          maxRef = Math.max(maxRef, Math.abs(want[i]!));
        }
        expect(maxErr, `σ = ${sigma}`).toBeLessThanOrEqual(1e-3 * maxRef);
      }
    } finally {
      tf.dispose([x, z, rhoT, sqrtRho]);
      spectral.dispose();
      lik.dispose();
      ref.dispose();
      op.dispose();
    }
  });

  it('a noise region beside the noise prior: the learned model carries the region\'s measured spectrum (one region or image at most)', () => {
    // drizzle-like correlated noise (neighbour correlation ≈ 0.5) on 64×64, measured on its lower half
    const n = 64;
    const spectral = new Spectral2D(n, n);
    const rho = (correlatedNoise(drizzleCorrelation(n, 0.01), [n, n]) as { correlation: Float32Array }).correlation;
    const sqrtRho = spectral.multiplier(Float32Array.from(rho, Math.sqrt));
    const rng = new Rng(11);
    const z = tf.tensor3d(Float32Array.from({ length: n * n }, () => rng.normal()), [1, n, n]);
    const data = tf.tidy(() => spectral.apply(z, sqrtRho).dataSync() as Float32Array);
    tf.dispose([z, sqrtRho]);
    spectral.dispose();
    const obs = { data, shape: [n, n] as [number, number], name: 'obs.fits' };
    const withRegion = buildNoise({ model: 'learned', learned: fx, region: { x0: 0, y0: 0, x1: 64, y1: 32 } }, obs);
    expect(withRegion.noise.kind).toBe('learned');
    const corr = (withRegion.noise as { correlation?: Float32Array }).correlation!;
    expect(corr).toBeDefined();
    expect(corr.length).toBe(n * n);
    expect(corr.reduce((a, v) => a + v, 0) / corr.length).toBeCloseTo(1, 3);
    // the measured spectrum is the drizzle-like one: red (ρ at the lowest frequencies far above ρ at the highest)
    expect(corr[1]!).toBeGreaterThan(1.5);
    expect(corr[(n / 2) * n + n / 2]!).toBeLessThan(0.2);
    const lag = (withRegion.details as { gaussianPart: { lag1: { x: number; y: number } } }).gaussianPart.lag1;
    expect(lag.x).toBeGreaterThan(0.35);
    expect(lag.y).toBeGreaterThan(0.35);
    const plain = buildNoise({ model: 'learned', learned: fx }, obs);
    expect((plain.noise as { correlation?: Float32Array }).correlation).toBeUndefined();
    expect(() => buildNoise({ model: 'learned', learned: fx, region: { x0: 0, y0: 0, x1: 64, y1: 32 }, noiseImage: obs }, obs)).toThrow(/at most one/);
  });
});
