/**
 * The dihedral symmetrisation of an image prior's score (src-shared/diffusion/dihedral.ts and the `symmetrise`
 * sampler option): the eight transforms, their inverses, equivariance, the per-level choice, and what it does
 * to sampling with an invariant and with a non-invariant Gaussian prior.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { DIHEDRAL_COUNT, dihedralApply, dihedralIndexFor, dihedralInverse, dihedralScore } from '../../src-shared/diffusion/dihedral.js';
import { runSampling, symmetryOf } from '../../src-shared/diffusion/posterior.js';
import { invarianceOf, type PriorMeta } from '../../src-shared/diffusion/nn/prior-meta.js';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from '../helpers/data.js';
import type { ScoreModel } from '../../src-shared/diffusion/types.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const arr = (t: tf.Tensor) => Array.from(t.dataSync());

describe('the eight flips and rotations', () => {
  it('are distinct permutations, undone by their inverses, on square and non-square images', () => {
    const sq = tf.tensor3d(Float32Array.from({ length: 16 }, (_, i) => i), [1, 4, 4]);
    const seen = new Set<string>();
    for (let k = 0; k < DIHEDRAL_COUNT; k++) {
      const y = dihedralApply(sq, k);
      expect(arr(y).sort((a, b) => a - b)).toEqual(arr(sq));
      seen.add(arr(y).join(','));
      expect(arr(dihedralInverse(y, k))).toEqual(arr(sq));
    }
    expect(seen.size).toBe(8);
    // explicit cases: k = 1 flips the rows, k = 2 the columns, k = 4 transposes ([b, y, x] → [b, x, y])
    const r = tf.tensor3d([1, 2, 3, 4, 5, 6], [1, 2, 3]);
    expect(arr(dihedralApply(r, 1))).toEqual([4, 5, 6, 1, 2, 3]);
    expect(arr(dihedralApply(r, 2))).toEqual([3, 2, 1, 6, 5, 4]);
    const t = dihedralApply(r, 4);
    expect(t.shape).toEqual([1, 3, 2]);
    expect(arr(t)).toEqual([1, 4, 2, 5, 3, 6]);
    for (let k = 0; k < DIHEDRAL_COUNT; k++) expect(arr(dihedralInverse(dihedralApply(r, k), k))).toEqual(arr(r));
  });

  it('leave an equivariant score unchanged; averaged over all eight, a non-equivariant one becomes its symmetrisation', () => {
    const x = tf.randomNormal([2, 4, 4], 0, 1, 'float32', 3);
    const iso = (y: tf.Tensor) => tf.mul(y, -2);
    for (let k = 0; k < DIHEDRAL_COUNT; k++) {
      const s = dihedralScore(iso, x, k);
      arr(s).forEach((v, i) => expect(v).toBeCloseTo(-2 * arr(x)[i]!, 6));
    }
    // s(x) = −(x − m) with an asymmetric m: the group average is −(x − m̄), m̄ = mean over g of g⁻¹ m
    const m = tf.tensor3d(Float32Array.from({ length: 16 }, (_, i) => (i * 7) % 5), [1, 4, 4]);
    const shifted = (y: tf.Tensor) => tf.neg(tf.sub(y, m));
    let avg = tf.zerosLike(x);
    let mbar = tf.zeros([1, 4, 4]);
    for (let k = 0; k < DIHEDRAL_COUNT; k++) {
      avg = tf.add(avg, tf.div(dihedralScore(shifted, x, k), DIHEDRAL_COUNT));
      mbar = tf.add(mbar, tf.div(dihedralInverse(m, k), DIHEDRAL_COUNT));
    }
    const want = tf.neg(tf.sub(x, mbar));
    arr(avg).forEach((v, i) => expect(v).toBeCloseTo(arr(want)[i]!, 5));
    // m̄ is invariant: every transform of it is itself
    for (let k = 0; k < DIHEDRAL_COUNT; k++) arr(dihedralApply(mbar, k)).forEach((v, i) => expect(v).toBeCloseTo(arr(mbar)[i]!, 5));
  });

  it('the transform of a level depends on σ alone and a geometric schedule visits all eight about equally', () => {
    expect(dihedralIndexFor(0.37)).toBe(dihedralIndexFor(0.37));
    const counts = new Array(8).fill(0);
    const levels = 500;
    for (let i = 0; i < levels; i++) counts[dihedralIndexFor(0.01 * (3000 ** (i / (levels - 1))))]++;
    // multinomial: each count 62.5 ± 4·√(500·(1/8)(7/8))
    for (const c of counts) expect(Math.abs(c - levels / 8)).toBeLessThan(4 * Math.sqrt(levels * (1 / 8) * (7 / 8)));
    // neighbouring levels are not tied to one transform (no long runs)
    let same = 0;
    for (let i = 1; i < levels; i++) if (dihedralIndexFor(0.01 * 3000 ** (i / 499)) === dihedralIndexFor(0.01 * 3000 ** ((i - 1) / 499))) same++;
    expect(same).toBeLessThan(levels / 8 + 4 * Math.sqrt(levels / 8));
  });
});

describe('which symmetry a prior has and a run uses', () => {
  it("model.json's augmentation: all eight for square training images, the four flips for rectangular, none without", () => {
    const shipped = JSON.parse(readFileSync(path.join(ROOT, 'models', 'galaxy-64', 'model.json'), 'utf8')) as PriorMeta;
    expect(invarianceOf(shipped)).toBe('dihedral');
    expect(invarianceOf({ ...shipped, imageShape: [32, 64] })).toBe('flips');
    expect(invarianceOf({ ...shipped, training: { ...shipped.training, augment: 'none' } })).toBeNull();
    expect(invarianceOf({ ...shipped, training: undefined })).toBeNull();
  });

  it('a run symmetrises only when asked, with the prior’s own group (all eight when it declares none), and never 2-D densities', () => {
    const prior = (invariance: 'dihedral' | 'flips' | null) => ({ kind: 'x', trainedShape: null, supportsShape: () => true, score: (x: tf.Tensor) => x, dispose: () => {}, invariance }) as ScoreModel;
    expect(symmetryOf(prior('flips'), [8, 8], { symmetrise: true })).toBe('flips');
    expect(symmetryOf(prior(null), [8, 8], { symmetrise: true })).toBe('dihedral');
    expect(symmetryOf(prior('dihedral'), [8, 8], { symmetrise: false })).toBeNull();
    expect(symmetryOf(prior('dihedral'), [2], { symmetrise: true })).toBeNull();
  });
});

/** p(x₀) = N(m, τ² I) on 8×8 images: score −(x − m)/(τ² + σ²). */
function gaussianPrior(m: Float32Array): ScoreModel {
  const mean = tf.keep(tf.tensor3d(m, [1, 8, 8]));
  return {
    kind: 'test-gaussian',
    trainedShape: [8, 8],
    supportsShape: (s) => s.length === 2 && s[0] === 8 && s[1] === 8,
    score: (x, sigma) => tf.tidy(() => tf.div(tf.neg(tf.sub(x, mean)), tf.reshape(tf.add(tf.square(sigma), 0.04), [-1, 1, 1]))),
    dispose: () => mean.dispose(),
  };
}

describe('sampling with symmetrise', () => {
  const sde = { sigmaMin: 0.01, sigmaMax: 3 };
  const run = async (prior: ScoreModel, symmetrise: boolean) =>
    runSampling({ prior, sde, shape: [8, 8] }, { sampler: 'pc', steps: 120, n: 32, seed: 4, samplerOptions: { symmetrise }, previewIntervalMs: 0 });

  it('changes nothing for an invariant prior (same chains, same draws up to float rounding), and says so in the settings', async () => {
    const prior = gaussianPrior(new Float32Array(64).fill(0.5));
    const a = await run(prior, false);
    const b = await run(prior, true);
    let maxd = 0;
    for (let i = 0; i < a.samples.length; i++) maxd = Math.max(maxd, Math.abs(a.samples[i]! - b.samples[i]!));
    expect(maxd).toBeLessThan(1e-4);
    expect(b.samplerSettings.symmetry).toMatch(/^dihedral: .* one of its 8 flips/);
    expect(a.samplerSettings.symmetry).toBeUndefined();
    expect(b.scoreEvaluations).toBe(a.scoreEvaluations);
    prior.dispose();
  });

  it('pulls a non-invariant prior towards its symmetrisation: the draws centre on the group-averaged mean', async () => {
    // the mean is 1 on the left half and 0 on the right: its symmetrisation is 0.5 everywhere
    const m = Float32Array.from({ length: 64 }, (_, i) => (i % 8 < 4 ? 1 : 0));
    const prior = gaussianPrior(m);
    const plain = await run(prior, false);
    const sym = await run(prior, true);
    const leftMinusRight = (s: Float32Array) => {
      let d = 0;
      for (let i = 0; i < s.length; i++) d += (i % 8 < 4 ? 1 : -1) * s[i]!;
      return d / (s.length / 2);
    };
    // plain: the left half is brighter by 1; symmetrised: the halves agree up to the chains' spread and the last
    // levels' transforms (τ = 0.2 per pixel, 32 chains × 32 pixels per half)
    expect(leftMinusRight(plain.samples)).toBeCloseTo(1, 1);
    expect(Math.abs(leftMinusRight(sym.samples))).toBeLessThan(0.35);
    prior.dispose();
  });
});
