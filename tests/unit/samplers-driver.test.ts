/**
 * The sampling driver: a constant tensor count over a 1000-step run (and for every sampler and likelihood path),
 * reproducibility (the same samples for a seed whatever the batch size or worker split), progress events and
 * previews, cancellation, DPS, and bad input.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src-main/engine/backend.js';
import { GaussianFieldPrior, powerLawSpectrum } from '../../src-shared/diffusion/priors/gaussian-field.js';
import { PsfOperator, gaussianPsf, psfFromImage } from '../../src-shared/operators/psf.js';
import { scalarNoise } from '../../src-shared/operators/noise.js';
import { ConvolvedLikelihood } from '../../src-shared/diffusion/likelihood.js';
import { runSampling, SamplingCancelledError, type SamplingProgress } from '../../src-shared/diffusion/posterior.js';
import { posteriorProducts } from '../../src-shared/diffusion/products.js';
import { SAMPLERS } from '../../src-shared/diffusion/samplers/index.js';
import { ChainRandom } from '../../src-shared/diffusion/chain-rng.js';
import { UnetScoreModel, unetLayout } from '../../src-shared/diffusion/nn/unet.js';

const S = 16;
let prior: GaussianFieldPrior;

beforeAll(async () => {
  await initBackend('wasm');
  prior = new GaussianFieldPrior(powerLawSpectrum(S, S, 10, 3, 2), [S, S]);
});

function makeLik(psfKind: 'gaussian' | 'elliptic'): { lik: ConvolvedLikelihood; op: PsfOperator } {
  const kernel =
    psfKind === 'gaussian'
      ? gaussianPsf(2)
      : psfFromImage(
          Array.from({ length: 25 }, (_, i) => Math.exp(-0.5 * (((i % 5) - 2 + 0.5 * (Math.floor(i / 5) - 2)) ** 2 + (Math.floor(i / 5) - 2) ** 2 / 0.5))),
          [5, 5],
        );
  const op = new PsfOperator([S, S], kernel);
  const r = new ChainRandom(1, 0);
  const y = Float32Array.from({ length: S * S }, () => r.normal());
  return { lik: new ConvolvedLikelihood({ operator: op, data: y, dataShape: [S, S], noise: scalarNoise(0.1) }), op };
}

describe('memory', () => {
  it('the tensor count stays constant over a 1000-step pc posterior run', async () => {
    const { lik, op } = makeLik('gaussian');
    const before = tf.memory().numTensors;
    const counts: number[] = [];
    await runSampling(
      { prior, sde: prior.defaultSde(), shape: [S, S], likelihood: lik },
      { sampler: 'pc', steps: 1000, n: 2, seed: 1, onStep: (i) => counts.push(i.numTensors), onProgress: () => {}, progressIntervalMs: 0, previewIntervalMs: 50 },
    );
    expect(counts).toHaveLength(1000);
    expect(new Set(counts).size).toBe(1);
    expect(tf.memory().numTensors).toBe(before);
    lik.dispose();
    op.dispose();
  });

  for (const sampler of SAMPLERS) {
    for (const path of ['gaussian', 'elliptic'] as const) {
      it(`constant for ${sampler} (likelihood: ${path === 'gaussian' ? 'exact Kronecker' : 'conjugate gradients'})`, async () => {
        const { lik, op } = makeLik(path);
        expect(lik.method).toBe(path === 'gaussian' ? 'kronecker' : 'cg');
        const before = tf.memory().numTensors;
        const counts: number[] = [];
        const res = await runSampling(
          { prior, sde: prior.defaultSde(), shape: [S, S], likelihood: lik },
          // (ald needs levels × steps × snr² ≳ ln(σmax/σmin): a larger snr for a short run)
          { sampler, steps: 40, n: 3, seed: 2, batchSize: 2, onStep: (i) => counts.push(i.numTensors), samplerOptions: sampler === 'ald' ? { snr: 0.5 } : {} },
        );
        // two batches (2 + 1 chains): constant within each batch, nothing left afterwards
        expect(new Set(counts.slice(0, 40)).size).toBe(1);
        expect(new Set(counts.slice(40)).size).toBe(1);
        expect(tf.memory().numTensors).toBe(before);
        expect(res.samples.every(Number.isFinite)).toBe(true);
        lik.dispose();
        op.dispose();
      });
    }
  }
});

describe('reproducibility', () => {
  it('the same seed gives the same samples whatever the batch size or split between workers', async () => {
    const { lik, op } = makeLik('gaussian');
    const problem = { prior, sde: prior.defaultSde(), shape: [S, S], likelihood: lik };
    const a = await runSampling(problem, { sampler: 'pc', steps: 30, n: 6, seed: 42, batchSize: 6 });
    const b = await runSampling(problem, { sampler: 'pc', steps: 30, n: 6, seed: 42, batchSize: 4 });
    const w1 = await runSampling(problem, { sampler: 'pc', steps: 30, n: 2, seed: 42, chainOffset: 0 });
    const w2 = await runSampling(problem, { sampler: 'pc', steps: 30, n: 4, seed: 42, chainOffset: 2, batchSize: 1 });
    const c = await runSampling(problem, { sampler: 'pc', steps: 30, n: 6, seed: 43, batchSize: 6 });
    // the same arithmetic per chain up to float32 summation order in batched matMuls
    const maxDiff = (u: Float32Array, v: Float32Array) => u.reduce((m, x, i) => Math.max(m, Math.abs(x - v[i])), 0);
    expect(maxDiff(a.samples, b.samples)).toBeLessThan(1e-3);
    const split = new Float32Array(a.samples.length);
    split.set(w1.samples, 0);
    split.set(w2.samples, w1.samples.length);
    expect(maxDiff(a.samples, split)).toBeLessThan(1e-3);
    expect(maxDiff(a.samples, c.samples)).toBeGreaterThan(0.1);
    const again = await runSampling(problem, { sampler: 'pc', steps: 30, n: 6, seed: 42, batchSize: 6 });
    expect(Array.from(again.samples)).toEqual(Array.from(a.samples));
    lik.dispose();
    op.dispose();
  });
});

describe('progress, previews, cancellation', () => {
  it('reports step, σ, χ², ETA and previews consistent with the products', async () => {
    const { lik, op } = makeLik('gaussian');
    const events: SamplingProgress[] = [];
    const res = await runSampling(
      { prior, sde: prior.defaultSde(), shape: [S, S], likelihood: lik, affine: lik.affine },
      { sampler: 'pc', steps: 60, n: 5, seed: 3, batchSize: 3, onProgress: (p) => events.push(p), progressIntervalMs: 0, previewIntervalMs: 1, previewSamples: 2 },
    );
    expect(events.length).toBe(120);
    events.forEach((e, i) => {
      expect(e.step).toBe(i + 1);
      expect(e.steps).toBe(120);
      expect(e.chi2).not.toBeNull();
      expect(e.etaS).toBeGreaterThanOrEqual(0);
      expect(e.batches).toBe(2);
    });
    const sde = prior.defaultSde();
    expect(events[0].sigma).toBeLessThan(sde.sigmaMax);
    expect(events[59].sigma).toBeCloseTo(sde.sigmaMin, 10);
    expect(events[119].etaS).toBe(0);
    const last = events[119].preview!;
    expect(last.nSamples).toBe(2);
    expect(last.samples.length).toBe(2 * S * S);
    const prod = await posteriorProducts(res, lik.affine, lik);
    // the previews follow the draws; the products' mean is the chains' Rao–Blackwellised estimates' average
    const per = S * S;
    for (let i = 0; i < per; i++) {
      let draws = 0;
      let rb = 0;
      for (let c = 0; c < 5; c++) {
        draws += res.samples[c * per + i] / 5;
        rb += res.conditionalMeans![c * per + i] / 5;
      }
      expect(last.mean[i]).toBeCloseTo(draws, 4);
      expect(last.std[i]).toBeCloseTo(prod.std[i], 4);
      expect(prod.mean[i]).toBeCloseTo(rb, 4);
    }
    expect(events[119].chi2!).toBeGreaterThan(0);
    // two per level (predictor, corrector) and the final second-order Tweedie draw (1 + 2 × 8 probes)
    expect(res.scoreEvaluations).toBe(5 * 60 * 2 + 5 * 17);
    lik.dispose();
    op.dispose();
  });

  it('stops when cancelled, without leaking tensors', async () => {
    const { lik, op } = makeLik('gaussian');
    const before = tf.memory().numTensors;
    const ac = new AbortController();
    let steps = 0;
    await expect(
      runSampling(
        { prior, sde: prior.defaultSde(), shape: [S, S], likelihood: lik },
        {
          sampler: 'pc',
          steps: 500,
          n: 2,
          seed: 1,
          signal: ac.signal,
          onStep: () => {
            if (++steps === 5) ac.abort();
          },
        },
      ),
    ).rejects.toBeInstanceOf(SamplingCancelledError);
    expect(steps).toBe(5);
    expect(tf.memory().numTensors).toBe(before);
    lik.dispose();
    op.dispose();
  });
});

describe('dps and bad input', () => {
  it('dps backpropagates through the prior and fits the data (not a calibrated sampler)', async () => {
    const { lik, op } = makeLik('gaussian');
    // data from a prior draw, so that a good fit has χ² ≈ 1
    const z = tf.tensor3d(Float32Array.from({ length: S * S }, (_, i) => new ChainRandom(5, i).normal()), [1, S, S]);
    const truth = tf.tidy(() => prior.sampleFrom(z));
    const r = new ChainRandom(6, 0);
    const y = tf.tidy(() => tf.add(op.apply(truth), tf.mul(tf.tensor3d(Float32Array.from({ length: S * S }, () => r.normal()), [1, S, S]), 0.1)).dataSync()) as Float32Array;
    const lik2 = new ConvolvedLikelihood({ operator: op, data: y, dataShape: [S, S], noise: scalarNoise(0.1) });
    const res = await runSampling({ prior, sde: prior.defaultSde(), shape: [S, S], likelihood: lik2 }, { sampler: 'dps', steps: 200, n: 4, seed: 1 });
    const prod = await posteriorProducts(res, lik2.affine, lik2);
    // from pure noise (χ² ~ 10³ at σmax) to a fit of the data
    expect(prod.chi2PerPixel!).toBeLessThan(3);
    expect(res.samplerSettings.zeta).toBe(1);
    z.dispose();
    truth.dispose();
    lik.dispose();
    lik2.dispose();
    op.dispose();
  });

  it('dps differentiates through a U-Net prior on wasm (forward-op convolution gradients)', async () => {
    const arch = { nf: 8, chMult: [1, 2], numResBlocks: 1, attention: false, embeddingDim: 16, fourierScale: 16 };
    const net = new UnetScoreModel(arch, unetLayout(arch).initialise(3), [S, S]);
    const { lik, op } = makeLik('gaussian');
    // the network's lazily built constants exist after its first use
    tf.tidy(() => void net.score(tf.zeros([1, S, S]), tf.ones([1]) as tf.Tensor1D));
    tf.tidy(() => void tf.grad((x: tf.Tensor) => tf.sum(net.score(x, tf.ones([1]) as tf.Tensor1D)))(tf.zeros([1, S, S])));
    const before = tf.memory().numTensors;
    const counts: number[] = [];
    const res = await runSampling(
      { prior: net, sde: { sigmaMin: 0.01, sigmaMax: 10 }, shape: [S, S], likelihood: lik },
      { sampler: 'dps', steps: 4, n: 2, seed: 1, onStep: (i) => counts.push(i.numTensors) },
    );
    expect(res.samples.every(Number.isFinite)).toBe(true);
    expect(new Set(counts).size).toBe(1);
    expect(tf.memory().numTensors).toBe(before);
    net.dispose();
    lik.dispose();
    op.dispose();
  });

  it('refuses a prior of another size, an unknown sampler, no samples, dps without data', async () => {
    const { lik, op } = makeLik('gaussian');
    const other = new GaussianFieldPrior(powerLawSpectrum(8, 8, 1, 2, 2), [8, 8]);
    await expect(runSampling({ prior: other, sde: other.defaultSde(), shape: [S, S], likelihood: lik }, { sampler: 'pc', steps: 5, n: 1, seed: 0 })).rejects.toThrow(
      /prior \(gaussian-field\) cannot be evaluated on shape \[16, 16\]/,
    );
    await expect(runSampling({ prior, sde: prior.defaultSde(), shape: [S, S] }, { sampler: 'xyz', steps: 5, n: 1, seed: 0 })).rejects.toThrow(/unknown sampler 'xyz'/);
    await expect(runSampling({ prior, sde: prior.defaultSde(), shape: [S, S] }, { sampler: 'pc', steps: 5, n: 0, seed: 0 })).rejects.toThrow(/positive integer/);
    await expect(runSampling({ prior, sde: prior.defaultSde(), shape: [S, S] }, { sampler: 'dps', steps: 5, n: 1, seed: 0 })).rejects.toThrow(/dps samples a posterior/);
    await expect(runSampling({ prior, sde: prior.defaultSde(), shape: [S, S] }, { sampler: 'ald', steps: 100, n: 1, seed: 0 })).rejects.toThrow(
      /ald: 100 levels × 3 Langevin steps at snr 0.16 cannot bring the chains from σmax to σmin .* use at least \d+ levels/,
    );
    other.dispose();
    lik.dispose();
    op.dispose();
  });
});
