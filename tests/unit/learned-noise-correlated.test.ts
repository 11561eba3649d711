/**
 * A learned noise prior of correlated, heavy-tailed noise (tests/fixtures/noise-mixture-corr, made by
 * `scripts/make-noise-fixture.ts --correlated`: the Gaussian mixture m filtered along x, n_ij = m_ij + ½ m_i,j+1):
 * draws from the network have the noise's neighbour correlation (0.4 along x, none along y), and its posterior mean
 * beats both the white model and the correlated Gaussian model measured from a noise image of the same noise.
 */
import { describe, expect, it, beforeAll } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { initBackend } from '../../src-main/engine/backend.js';
import { learnedNoiseFrom, type NoisePriorSummary } from '../../src-shared/noise/learned.js';
import { correlatedNoise, learnedNoiseModel, scalarNoise, type LearnedNoise, type NoiseModel } from '../../src-shared/operators/noise.js';
import { estimateNoiseSpectrum } from '../../src-shared/noise/spectrum.js';
import { ConvolvedLikelihood } from '../../src-shared/diffusion/likelihood.js';
import { MaskOperator } from '../../src-shared/operators/mask.js';
import { GaussianFieldPrior, powerLawSpectrum } from '../../src-shared/diffusion/priors/gaussian-field.js';
import { createUnetFromWeights } from '../../src-shared/diffusion/nn/prior-meta.js';
import { runSampling } from '../../src-shared/diffusion/posterior.js';
import { noiseStatistics } from '../../src-shared/diffusion/train/noise-data.js';
import { ChainRandom } from '../../src-shared/diffusion/chain-rng.js';
import { Rng } from '../../src-shared/diffusion/nn/rng.js';
import { psnr } from '../../src-shared/eval/metrics.js';
import { circulantCovariance, gaussianDraws } from '../helpers/gaussian-posterior.js';
import { MIXTURE_NOISE, drawMixtureNoise } from '../helpers/mixture-noise.js';

const DIR = path.resolve(__dirname, '../fixtures/noise-mixture-corr');
const SIDE = 32;
const N = SIDE * SIDE;

/** The fixture's noise: the mixture filtered by [1, ½] along x. */
function correlatedMixture(rng: Rng, ny: number, nx: number): Float32Array {
  const m = drawMixtureNoise(rng, ny * (nx + 1), MIXTURE_NOISE);
  const out = new Float32Array(ny * nx);
  for (let i = 0; i < ny; i++) for (let j = 0; j < nx; j++) out[i * nx + j] = m[i * (nx + 1) + j]! + 0.5 * m[i * (nx + 1) + j + 1]!;
  return out;
}

let fx: { learned: LearnedNoise; summary: NoisePriorSummary };

beforeAll(async () => {
  await initBackend('wasm');
  const w = readFileSync(path.join(DIR, 'weights.bin'));
  fx = learnedNoiseFrom(JSON.parse(readFileSync(path.join(DIR, 'model.json'), 'utf8')), new Uint8Array(w.buffer, w.byteOffset, w.byteLength), 'noise-mixture-corr');
});

describe('learned noise prior of correlated heavy-tailed noise', () => {
  it('its draws have the noise’s neighbour correlation and tails', async () => {
    expect(fx.summary.lag1.x).toBeGreaterThan(0.35);
    const L = fx.learned;
    const net = createUnetFromWeights(L.network.meta, L.network.weights);
    try {
      const res = await runSampling({ prior: net, sde: { sigmaMin: L.sigmaMin, sigmaMax: L.sigmaMax }, shape: [32, 32] }, { sampler: 'pc', steps: 200, n: 4, seed: 1, batchSize: 4 });
      const n = Float32Array.from(res.samples, (u) => u * L.scale + L.offset);
      const st = noiseStatistics([0, 1, 2, 3].map((k) => ({ img: n.subarray(k * N, (k + 1) * N), ny: 32, nx: 32 })));
      console.log(`draws: lag1 ${st.lag1.x.toFixed(3)} (x) / ${st.lag1.y.toFixed(3)} (y), σ ${st.std.toFixed(4)}, excess kurtosis ${st.excessKurtosis.toFixed(1)}; the noise: ${fx.summary.lag1.x.toFixed(3)} / ${fx.summary.lag1.y.toFixed(3)}, ${fx.summary.sigma.toFixed(4)}, ${fx.summary.excessKurtosis.toFixed(1)}`);
      // 4096 draws: a correlation's standard error ≈ 1/√4096 = 0.016
      expect(Math.abs(st.lag1.x - fx.summary.lag1.x)).toBeLessThan(0.08);
      expect(Math.abs(st.lag1.y)).toBeLessThan(0.08);
      expect(Math.abs(st.std / fx.summary.sigma - 1)).toBeLessThan(0.15);
      expect(st.excessKurtosis).toBeGreaterThan(4);
    } finally {
      net.dispose();
    }
  });

  it('its posterior mean beats the white and the correlated Gaussian models', { timeout: 300_000 }, async () => {
    const power = powerLawSpectrum(SIDE, SIDE, 0.02, 4, 2);
    const prior = new GaussianFieldPrior(power, [SIDE, SIDE]);
    const c = circulantCovariance(power, SIDE, SIDE);
    // the correlated Gaussian model: the spectrum measured from a 96×96 image of the same noise
    const est = estimateNoiseSpectrum(correlatedMixture(new Rng(77), 96, 96), [96, 96], [SIDE, SIDE]);
    const models: Record<string, NoiseModel> = {
      white: scalarNoise(fx.summary.sigma),
      correlated: correlatedNoise(est.power, [SIDE, SIDE]),
      learned: learnedNoiseModel(fx.learned, [SIDE, SIDE]),
    };
    const op = new MaskOperator([SIDE, SIDE], new Float32Array(N).fill(1));
    const gains: Record<string, number[]> = { white: [], correlated: [] };
    try {
      for (const seed of [1, 2, 3]) {
        const r = new ChainRandom(1000 + seed, 0);
        const truth = gaussianDraws(c, N, 1, () => r.normal());
        const noise = correlatedMixture(new Rng(6000 + seed), SIDE, SIDE);
        const y = Float32Array.from(truth, (v, i) => v + noise[i]!);
        const range = Math.max(...truth) - Math.min(...truth);
        const p: Record<string, number> = {};
        for (const [name, model] of Object.entries(models)) {
          const lik = new ConvolvedLikelihood({ operator: op, data: y, dataShape: [SIDE, SIDE], noise: model });
          try {
            const res = await runSampling({ prior, sde: prior.defaultSde(), shape: [SIDE, SIDE], likelihood: lik }, { sampler: 'pc', steps: 80, n: 4, seed, batchSize: 4 });
            const mean = new Float64Array(N);
            for (let k = 0; k < 4; k++) for (let i = 0; i < N; i++) mean[i] += res.conditionalMeans![k * N + i]! / 4;
            p[name] = psnr(truth, mean, range);
          } finally {
            lik.dispose();
          }
        }
        gains.white.push(p.learned! - p.white!);
        gains.correlated.push(p.learned! - p.correlated!);
        console.log(`seed ${seed}: PSNR white ${p.white!.toFixed(2)}, correlated ${p.correlated!.toFixed(2)}, learned ${p.learned!.toFixed(2)} dB`);
      }
    } finally {
      op.dispose();
      prior.dispose();
    }
    for (const [name, g] of Object.entries(gains)) {
      const m = g.reduce((a, b) => a + b, 0) / g.length;
      const sd = Math.sqrt(g.reduce((a, b) => a + (b - m) ** 2, 0) / (g.length - 1));
      console.log(`learned − ${name}: ${m.toFixed(2)} ± ${sd.toFixed(2)} dB`);
      for (const v of g) expect(v).toBeGreaterThan(0);
      expect(m).toBeGreaterThan(3 * sd);
    }
  });
});
