/**
 * The Rao–Blackwellised posterior mean (src-shared/diffusion/rao-blackwell.ts): its window σ² A Aᵀ ≼ Σ from the
 * largest eigenvalue of a² AᵀWA (against a dense float64 eigendecomposition), the per-chain accumulator, which
 * samplers and runs make it, and that it leaves the chains alone. Its statistics on the exact Gaussian posterior
 * are checked in samplers-gaussian-pc.test.ts.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src-main/engine/backend.js';
import { ConvolvedLikelihood } from '../../src-shared/diffusion/likelihood.js';
import { ConditionalMeanAccumulator, conditionalMeanWindow } from '../../src-shared/diffusion/rao-blackwell.js';
import { runSampling } from '../../src-shared/diffusion/posterior.js';
import { posteriorProducts } from '../../src-shared/diffusion/products.js';
import { GaussianFieldPrior, powerLawSpectrum } from '../../src-shared/diffusion/priors/gaussian-field.js';
import { symmetricEigen } from '../../src-shared/linalg/dense.js';
import { PsfOperator, gaussianPsf, psfFromImage } from '../../src-shared/operators/psf.js';
import { UvSamplingOperator } from '../../src-shared/operators/uv.js';
import { noiseMap, scalarNoise } from '../../src-shared/operators/noise.js';
import type { LinearOperator } from '../../src-shared/operators/types.js';
import { ChainRandom } from '../../src-shared/diffusion/chain-rng.js';

beforeAll(async () => {
  await initBackend('wasm');
});

/** λmax of a² Aᵀ W A, densely: A's columns from the operator, W from the likelihood's σ and mask. */
function denseLambdaMax(op: LinearOperator, lik: ConvolvedLikelihood): number {
  const [ny, nx] = op.inShape;
  const n = ny * nx;
  const m = op.outShape[0] * op.outShape[1];
  const cols = tf.tidy(() => op.apply(tf.reshape(tf.eye(n), [n, ny, nx]) as tf.Tensor3D).dataSync() as Float32Array);
  const a2 = lik.affine.scale ** 2;
  const g = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      let s = 0;
      for (let k = 0; k < m; k++) if (lik.mask[k]) s += (cols[i * m + k]! * cols[j * m + k]!) / lik.sigma[k]! ** 2;
      g[i * n + j] = g[j * n + i] = a2 * s;
    }
  }
  return Math.max(...symmetricEigen(g, n).values);
}

describe('the window: λmax(a² AᵀWA) by power iteration', () => {
  const cases: { name: string; op: () => LinearOperator; noise: (s: [number, number]) => ReturnType<typeof scalarNoise>; scale: number; nan?: number[] }[] = [
    { name: 'Gaussian PSF, white noise (≈ 1/σ_n² for a kernel of unit sum)', op: () => new PsfOperator([12, 10], gaussianPsf(2.2)), noise: () => scalarNoise(0.1), scale: 1 },
    {
      name: 'elliptical PSF, a σ map, masked pixels, a flux scale',
      op: () =>
        new PsfOperator(
          [10, 12],
          psfFromImage(
            Array.from({ length: 25 }, (_, i) => Math.exp(-0.5 * (((i % 5) - 2 + 0.5 * (Math.floor(i / 5) - 2)) ** 2 + (Math.floor(i / 5) - 2) ** 2 / 0.5))),
            [5, 5],
          ),
        ),
      noise: (s) => noiseMap(Float32Array.from({ length: s[0] * s[1] }, (_, i) => 0.05 + 0.01 * (i % 7)), s),
      scale: 2.5,
      nan: [3, 40, 77],
    },
    {
      name: 'uv sampling',
      op: () => {
        const [ny, nx] = [8, 10];
        const w = new Float64Array(ny * nx);
        for (let l = 0; l < ny; l++) for (let k = 0; k < nx; k++) w[l * nx + k] = ((Math.min(l, ny - l) + 2 * Math.min(k, nx - k)) % 3) / 2;
        return new UvSamplingOperator([ny, nx], w);
      },
      noise: () => scalarNoise(0.3),
      scale: 0.7,
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const op = c.op();
      const [my, mx] = op.outShape;
      const r = new ChainRandom(3, 0);
      const y = Float32Array.from({ length: my * mx }, () => r.normal());
      for (const k of c.nan ?? []) y[k] = NaN;
      const lik = new ConvolvedLikelihood({ operator: op, data: y, dataShape: [my, mx], noise: c.noise([my, mx]), affine: { scale: c.scale, offset: 0 } });
      const before = tf.memory().numTensors;
      const lam = await lik.normalMaxEigenvalue();
      expect(tf.memory().numTensors).toBe(before);
      const dense = denseLambdaMax(op, lik);
      expect(Math.abs(lam / dense - 1)).toBeLessThan(2e-3);
      // σ_n = 0.1 and a kernel of unit sum: 1/σ_n² = 100, a little less on a small zero-padded image (the
      // kernel's flux that falls off its edges)
      if (c.scale === 1 && !c.nan) {
        expect(lam).toBeLessThan(100);
        expect(lam).toBeGreaterThan(80);
      }
      lik.dispose();
      op.dispose();
    });
  }

  it('σ_RB = 1/√λ, never below σmin; σmin where the data carry no information', () => {
    expect(conditionalMeanWindow(100, 0.01)).toBeCloseTo(0.1, 12);
    expect(conditionalMeanWindow(1e8, 0.01)).toBe(0.01);
    expect(conditionalMeanWindow(0, 0.01)).toBe(0.01);
    expect(conditionalMeanWindow(NaN, 0.01)).toBe(0.01);
  });
});

describe('ConditionalMeanAccumulator', () => {
  it('averages x + σ² s per chain over the evaluations in its window, and holds one tensor throughout', async () => {
    const before = tf.memory().numTensors;
    const acc = new ConditionalMeanAccumulator(0.1, [2, 1, 2]);
    expect(tf.memory().numTensors).toBe(before + 1);
    expect(await acc.result()).toBeNull();
    const x = tf.tensor3d([1, 2, 3, 4], [2, 1, 2]);
    const s = tf.tensor3d([10, -10, 0, 100], [2, 1, 2]);
    acc.add(x, s, 0.5); // outside the window: ignored
    tf.tidy(() => acc.add(x, s, 0.1)); // x + 0.01 s, inside a tidy as in the driver
    const x3 = tf.mul(x, 3);
    const zero = tf.zerosLike(s);
    acc.add(x3, zero, 0.1 * (1 + 1e-12)); // the window's edge up to rounding counts
    expect(acc.count).toBe(2);
    expect(tf.memory().numTensors).toBe(before + 1 + 4); // the accumulator's sum and the four inputs
    const r = Array.from((await acc.result())!);
    const want = [(1.1 + 3) / 2, (1.9 + 6) / 2, (3 + 9) / 2, (5 + 12) / 2];
    r.forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 5));
    acc.dispose();
    tf.dispose([x, s, x3, zero]);
    expect(tf.memory().numTensors).toBe(before);
    expect(() => acc.add(x, s, 0.1)).toThrow(/after dispose/);
  });
});

describe('which runs make the Rao–Blackwellised mean', () => {
  const S = 16;
  const setup = () => {
    const prior = new GaussianFieldPrior(powerLawSpectrum(S, S, 10, 3, 2), [S, S]);
    const op = new PsfOperator([S, S], gaussianPsf(2));
    const r = new ChainRandom(1, 0);
    const y = Float32Array.from({ length: S * S }, () => r.normal());
    const lik = new ConvolvedLikelihood({ operator: op, data: y, dataShape: [S, S], noise: scalarNoise(0.1) });
    return { prior, op, lik, problem: { prior, sde: prior.defaultSde(), shape: [S, S], likelihood: lik } };
  };

  it('pc, em and ald with data: per-chain estimates, the chains themselves unchanged; off with raoBlackwell: false', async () => {
    const { op, lik, problem } = setup();
    for (const sampler of ['pc', 'em', 'ald'] as const) {
      const opts = { sampler, steps: 40, n: 3, seed: 6, batchSize: 2, samplerOptions: sampler === 'ald' ? { snr: 0.5 } : {} };
      const on = await runSampling(problem, opts);
      const off = await runSampling(problem, { ...opts, samplerOptions: { ...opts.samplerOptions, raoBlackwell: false } });
      expect(Array.from(on.samples)).toEqual(Array.from(off.samples));
      expect(off.conditionalMeans).toBeNull();
      expect(off.samplerSettings.meanEstimate).toBe('mean of the draws');
      expect(on.conditionalMeans).not.toBeNull();
      expect(on.conditionalMeans!.length).toBe(on.samples.length);
      expect(on.samplerSettings.raoBlackwellSigma).toBeCloseTo(1 / Math.sqrt(await lik.normalMaxEigenvalue()), 8);
      // the window holds the final levels; every evaluation there counts once per chain
      expect(on.samplerSettings.raoBlackwellTerms as number).toBeGreaterThanOrEqual(2);
      expect(on.samplerSettings.raoBlackwellTerms as number).toBeLessThan(on.scoreEvaluations / 3);
      // close to the draws (the same chains' last stretch), but not the draws
      let d = 0;
      for (let i = 0; i < on.samples.length; i++) d = Math.max(d, Math.abs(on.samples[i]! - on.conditionalMeans![i]!));
      expect(d).toBeGreaterThan(1e-3);
      expect(d).toBeLessThan(3);
      const prodOn = await posteriorProducts(on, lik.affine, lik);
      const prodOff = await posteriorProducts(off, lik.affine, lik);
      expect(Array.from(prodOn.std)).toEqual(Array.from(prodOff.std));
    }
    lik.dispose();
    op.dispose();
  });

  it("a second-order Tweedie ending (denoise: 'draw') changes the draws, not the mean: its probes are not draws", async () => {
    const { op, lik, problem } = setup();
    for (const sampler of ['pc', 'em', 'ald'] as const) {
      const opts = { sampler, steps: 40, n: 3, seed: 6, batchSize: 2 };
      const base = sampler === 'ald' ? { snr: 0.5 } : {};
      const mean = await runSampling(problem, { ...opts, samplerOptions: { ...base, denoise: 'mean' } });
      const draw = await runSampling(problem, { ...opts, samplerOptions: { ...base, denoise: 'draw' } });
      expect(draw.samplerSettings.raoBlackwellTerms).toBe(mean.samplerSettings.raoBlackwellTerms);
      let dm = 0;
      let ds = 0;
      for (let i = 0; i < mean.samples.length; i++) {
        dm = Math.max(dm, Math.abs(draw.conditionalMeans![i]! - mean.conditionalMeans![i]!));
        ds = Math.max(ds, Math.abs(draw.samples[i]! - mean.samples[i]!));
      }
      expect(dm, sampler).toBeLessThan(1e-5);
      expect(ds, sampler).toBeGreaterThan(1e-3);
    }
    lik.dispose();
    op.dispose();
  });

  it('not for ula or dps, nor without data', async () => {
    const { prior, op, lik, problem } = setup();
    for (const sampler of ['ula', 'dps'] as const) {
      const res = await runSampling(problem, { sampler, steps: 20, n: 2, seed: 1 });
      expect(res.conditionalMeans).toBeNull();
    }
    const unconditional = await runSampling({ prior, sde: prior.defaultSde(), shape: [S, S] }, { sampler: 'pc', steps: 20, n: 2, seed: 1 });
    expect(unconditional.conditionalMeans).toBeNull();
    lik.dispose();
    op.dispose();
  });
});
