/**
 * A posterior sampled with the score evaluated by ONNX Runtime passes the exact-Gaussian checks that the tfjs
 * samplers pass (tests/unit/samplers-gaussian-pc.test.ts), through the whole CPU path a reconstruction takes: an
 * ONNX prior folder (model.json kind "onnx"), resolved by name in each worker of the sampling pool (two worker
 * threads, each with its own ONNX Runtime InferenceSession), the default sampler and steps, the convolved likelihood.
 *
 * The network: the 32×32 Gaussian field of tests/helpers/gaussian-problem.ts as an ONNX graph. Its noise
 * prediction at level σ is ε̂(x, σ) = σ H diag(1/(P + σ²)) H x, with H the orthonormal 2-D discrete Hartley
 * transform (H[(i,j),(k,l)] = cas(2π(ik/ny + jl/nx))/√(ny·nx), real, symmetric, H² = I), which diagonalises every
 * circulant covariance with P(k) = P(−k) exactly as the Fourier transform does. The graph is two dense
 * 1024×1024 MatMuls and elementwise ops on dynamic batches: the score comes out of ONNX Runtime's kernels, and the
 * model folder declares the output "epsilon", so the engine's output conversion is on the path as well.
 *
 * Tolerances as in the tfjs test (N = 64 chains, n = 1024 pixels, Σ the exact posterior covariance, float64):
 *  - mean: N (m − μ)ᵀ Σ⁻¹ (m − μ)/n = 1 ± √(2/n) for exact samples; within 4 standard deviations;
 *  - variance: the pixel-averaged ratio of sample to exact variance within 4 of its standard errors (and 10 %);
 *  - χ² per pixel of the draws' mean: its expectation for exact samples within 4 standard deviations;
 *  - calibration: the fraction of pixels whose true value lies between two order statistics of the samples (an
 *    interval of probability (b − a)/(N + 1) for exact draws) equals the fraction inside the exact posterior's
 *    central interval of the same probability, within 0.04.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src-main/engine/backend.js';
import { resolvePrior, type ResolvedPrior } from '../../src-main/priors.js';
import { runSamplingParallel } from '../../src-main/sampling/pool.js';
import { encodeModel, ONNX_FLOAT } from '../../src-shared/diffusion/nn/onnx-proto.js';
import { DEFAULT_SAMPLER, DEFAULT_STEPS } from '../../src-shared/diffusion/samplers/index.js';
import { ConvolvedLikelihood } from '../../src-shared/diffusion/likelihood.js';
import { gaussianPsf } from '../../src-shared/operators/psf.js';
import { scalarNoise } from '../../src-shared/operators/noise.js';
import { prepareForwardModel } from '../../src-shared/operators/forward-model.js';
import { comparePosterior, expectedChi2OfSampleMean } from '../helpers/gaussian-posterior.js';
import { gaussianProblem, type GaussianProblem } from '../helpers/gaussian-problem.js';

const N = 64;
const FWHM = 2.5;
let problem: GaussianProblem;
let dir = '';
let folder = '';
let onnx: ResolvedPrior;

/** Φ⁻¹(p) by bisection on Φ(x) = (1 + erf(x/√2))/2 (erf: Abramowitz & Stegun 7.1.26, |error| < 1.5e-7). */
function normalQuantile(p: number): number {
  const erf = (x: number) => {
    const t = 1 / (1 + 0.3275911 * Math.abs(x));
    const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
    return x >= 0 ? y : -y;
  };
  let lo = -10;
  let hi = 10;
  for (let k = 0; k < 100; k++) {
    const mid = (lo + hi) / 2;
    if ((1 + erf(mid / Math.SQRT2)) / 2 < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** The orthonormal 2-D discrete Hartley transform of an ny×nx image as a dense (ny·nx)² matrix, float32. */
function hartley(ny: number, nx: number): Float32Array {
  const n = ny * nx;
  const h = new Float32Array(n * n);
  const norm = 1 / Math.sqrt(n);
  for (let i = 0; i < ny; i++) {
    for (let j = 0; j < nx; j++) {
      for (let k = 0; k < ny; k++) {
        for (let l = 0; l < nx; l++) {
          const t = 2 * Math.PI * ((i * k) / ny + (j * l) / nx);
          h[(i * nx + j) * n + k * nx + l] = (Math.cos(t) + Math.sin(t)) * norm;
        }
      }
    }
  }
  return h;
}

/** A model folder holding the Gaussian field's noise predictor as an ONNX graph (x [B,1,ny,nx], σ [B] → ε̂). */
function writeGaussianFieldOnnx(target: string, power: Float64Array, shape: [number, number], sde: { sigmaMin: number; sigmaMax: number }): void {
  const [ny, nx] = shape;
  const n = ny * nx;
  const bytes = encodeModel({
    irVersion: 8,
    opset: 17,
    producer: { name: 'skyscore-test', version: '1' },
    graph: {
      name: 'gaussian-field-epsilon',
      nodes: [
        { op: 'Reshape', inputs: ['x', 'flat'], outputs: ['xf'] }, // [B, n]
        { op: 'MatMul', inputs: ['xf', 'H'], outputs: ['xh'] }, // H x (H symmetric)
        { op: 'Mul', inputs: ['sigma', 'sigma'], outputs: ['s2'] },
        { op: 'Reshape', inputs: ['s2', 'col'], outputs: ['s2c'] }, // [B, 1]
        { op: 'Add', inputs: ['P', 's2c'], outputs: ['ps'] }, // P + σ², [B, n]
        { op: 'Div', inputs: ['xh', 'ps'], outputs: ['w'] },
        { op: 'MatMul', inputs: ['w', 'H'], outputs: ['cx'] }, // (C + σ²)⁻¹ x
        { op: 'Reshape', inputs: ['sigma', 'col'], outputs: ['sc'] },
        { op: 'Mul', inputs: ['cx', 'sc'], outputs: ['eps'] }, // ε̂ = σ (C + σ²)⁻¹ x
        { op: 'Reshape', inputs: ['eps', 'image'], outputs: ['out'] },
      ],
      initializers: [
        { name: 'H', dims: [n, n], data: hartley(ny, nx) },
        { name: 'P', dims: [n], data: Float32Array.from(power) },
        { name: 'flat', dims: [2], data: { int64: [-1, n] } },
        { name: 'col', dims: [2], data: { int64: [-1, 1] } },
        { name: 'image', dims: [4], data: { int64: [-1, 1, ny, nx] } },
      ],
      inputs: [
        { name: 'x', elemType: ONNX_FLOAT, dims: ['batch', 1, ny, nx] },
        { name: 'sigma', elemType: ONNX_FLOAT, dims: ['batch'] },
      ],
      outputs: [{ name: 'out', elemType: ONNX_FLOAT, dims: ['batch', 1, ny, nx] }],
    },
  });
  writeFileSync(path.join(target, 'field.onnx'), bytes);
  const meta = {
    kind: 'onnx',
    file: 'field.onnx',
    output: 'epsilon',
    imageShape: [ny, nx],
    channels: 1,
    sizeMultiple: 1,
    sde: { type: 've', sigmaMin: sde.sigmaMin, sigmaMax: sde.sigmaMax },
    normalisation: { offset: 0, scale: 1 },
    data: { source: 'none: a stationary Gaussian field with a known power spectrum (test)', peakPrior: 1 },
    name: 'gaussian-field-onnx',
    description: 'The Gaussian field of the exact-posterior tests as an ONNX graph (Hartley transform).',
    license: 'BSD-3-Clause',
  };
  writeFileSync(path.join(target, 'model.json'), JSON.stringify(meta, null, 2));
}

beforeAll(async () => {
  await initBackend('wasm');
  problem = gaussianProblem({ psf: gaussianPsf(FWHM), sigmaN: 0.1, seed: 2024 });
  dir = mkdtempSync(path.join(tmpdir(), 'skyscore-onnx-posterior-'));
  folder = path.join(dir, 'gaussian-field-onnx');
  mkdirSync(folder);
  writeGaussianFieldOnnx(folder, problem.power, problem.shape, problem.prior.defaultSde());
  onnx = await resolvePrior(folder, dir, { engine: 'onnx', provider: 'cpu', threads: 1 });
}, 60_000);

afterAll(() => {
  onnx?.dispose();
  problem?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('a posterior sampled on ONNX Runtime (Gaussian field, 32×32, Gaussian PSF FWHM 2.5 px, σ_n = 0.1)', () => {
  it('the ONNX prior is evaluated by ONNX Runtime and gives the Gaussian field’s score at every noise level', () => {
    expect(onnx.kind).toBe('onnx');
    const report = (onnx.model as unknown as { engineReport(): { engine: string; provider?: string } }).engineReport();
    expect(report.engine).toBe('onnx');
    expect(report.provider).toBe('cpu');
    const { sigmaMin, sigmaMax } = problem.prior.defaultSde();
    const levels = [sigmaMin, 0.03, 0.3, 3, sigmaMax];
    tf.tidy(() => {
      const x = tf.randomNormal([levels.length, 32, 32], 0, 2, 'float32', 11) as tf.Tensor3D;
      const s = tf.tensor1d(levels);
      const a = onnx.model.score(x, s).arraySync() as number[][][];
      const b = problem.prior.score(x, s).arraySync() as number[][][];
      for (let k = 0; k < levels.length; k++) {
        let num = 0;
        let den = 0;
        for (let i = 0; i < 32; i++) {
          for (let j = 0; j < 32; j++) {
            num = Math.max(num, Math.abs(a[k][i][j] - b[k][i][j]));
            den = Math.max(den, Math.abs(b[k][i][j]));
          }
        }
        expect(num / den, `σ = ${levels[k]}`).toBeLessThan(1e-4);
      }
    });
  });

  it(`the default sampler (${DEFAULT_SAMPLER}, ${DEFAULT_STEPS[DEFAULT_SAMPLER]} steps) over two workers reproduces the exact posterior and is calibrated`, async () => {
    const model = await prepareForwardModel({ shape: problem.shape, operators: [{ type: 'psf', fwhmPx: FWHM }] }, {
      loadImage: () => Promise.reject(new Error('no files')),
      loadText: () => Promise.reject(new Error('no files')),
    });
    const steps = DEFAULT_STEPS[DEFAULT_SAMPLER];
    const res = await runSamplingParallel(
      {
        backend: 'wasm',
        prior: folder,
        cwd: dir,
        shape: problem.shape,
        model,
        data: problem.data,
        dataShape: problem.shape,
        noise: scalarNoise(problem.sigmaN),
        affine: { scale: 1, offset: 0 },
        sampler: DEFAULT_SAMPLER,
        steps,
        n: N,
        seed: 7,
        batchSize: N / 2,
        scoreEngine: { engine: 'onnx', provider: 'cpu', threads: 1 },
      },
      2,
    );
    expect(res.workers).toBe(2);
    expect(res.scoreEvaluations).toBe(N * steps * 2 + N * 17);
    const cmp = comparePosterior(res.samples, N, problem.ref);
    const sdChi = Math.sqrt(2 / problem.n);
    console.log(`onnx pc: whitened χ²/n ${cmp.whitenedChi2PerDof.toFixed(4)} (1 ± ${sdChi.toFixed(3)}), variance ratio ${cmp.varianceRatio.toFixed(4)} ± ${cmp.varianceRatioSe.toFixed(4)}`);
    expect(Math.abs(cmp.whitenedChi2PerDof - 1)).toBeLessThan(4 * sdChi);
    expect(Math.abs(cmp.varianceRatio - 1)).toBeLessThan(Math.min(0.1, 4 * cmp.varianceRatioSe));

    const per = problem.n;
    const drawsMean = new Float32Array(per);
    for (let c = 0; c < N; c++) for (let i = 0; i < per; i++) drawsMean[i] += res.samples[c * per + i] / N;
    const lik = new ConvolvedLikelihood({ operator: problem.operator, data: problem.data, dataShape: problem.shape, noise: scalarNoise(problem.sigmaN) });
    try {
      const chi2 = await lik.chi2OfImage(drawsMean);
      const e = expectedChi2OfSampleMean(problem.ref, N);
      console.log(`onnx pc: χ²/pixel of the draws' mean ${chi2.toFixed(4)}, expected ${e.mean.toFixed(4)} ± ${e.sd.toFixed(4)}`);
      expect(Math.abs(chi2 - e.mean)).toBeLessThan(4 * e.sd);
    } finally {
      lik.dispose();
    }

    // calibration: the truth inside the interval between two order statistics of the samples, whose coverage for
    // exact draws is (b − a)/(N + 1) (1-based ranks a < b), against the exact posterior's central interval of
    // that probability for the same truth
    const a = Math.round(0.16 * (N - 1));
    const b = Math.round(0.84 * (N - 1));
    const level = (b - a) / (N + 1);
    const z = normalQuantile((1 + level) / 2);
    let inSamples = 0;
    let inExact = 0;
    const col = new Float64Array(N);
    for (let i = 0; i < per; i++) {
      for (let c = 0; c < N; c++) col[c] = res.samples[c * per + i];
      col.sort();
      const t = problem.truth[i];
      if (t >= col[a] && t <= col[b]) inSamples++;
      if (Math.abs(t - problem.ref.mean[i]) <= z * Math.sqrt(problem.ref.cov[i * per + i])) inExact++;
    }
    console.log(`onnx pc: truth in the ${(100 * level).toFixed(1)} % interval: samples ${(inSamples / per).toFixed(3)}, exact posterior ${(inExact / per).toFixed(3)}`);
    // each pixel's interval ends are placed by 64 draws (±~4 % in probability each); averaged over 1024
    // correlated pixels the two fractions differ by ~0.01 for exact draws: 0.04 is four times that
    expect(Math.abs(inSamples - inExact) / per).toBeLessThan(0.04);
  }, 300_000);
});
