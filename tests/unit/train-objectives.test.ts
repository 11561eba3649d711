/**
 * Score-matching objectives where the answer is known:
 *  - Hyvärinen and (variance-reduced) sliced score matching with a linear score s(x) = xW + b on a sample from a
 *    2-D Gaussian: the minimiser for that sample is known in closed form (W = −Σ̂⁻¹ and W = −Σ̂⁻¹V̂, b = −μ̂W) and
 *    so is Hyvärinen's minimum value (−½ tr Σ̂⁻¹).
 *  - Denoising score matching with a small σ-conditioned MLP on a 2-D Gaussian mixture: annealed Langevin samples
 *    from the learned score match the mixture convolved with the last noise level (energy distance within the
 *    spread of energy distances between two exact samples of the same size; component weights within 4 binomial
 *    standard errors).
 */
import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src-main/engine/backend.js';
import { MlpScoreModel } from '../../src-shared/diffusion/nn/mlp.js';
import { Rng } from '../../src-shared/diffusion/nn/rng.js';
import { Adam } from '../../src-shared/diffusion/train/optim.js';
import { dsmLoss, hyvarinenLoss, slicedLoss } from '../../src-shared/diffusion/train/objectives.js';

type M2 = [[number, number], [number, number]];
const inv2 = (a: M2): M2 => {
  const det = a[0][0] * a[1][1] - a[0][1] * a[1][0];
  return [
    [a[1][1] / det, -a[0][1] / det],
    [-a[1][0] / det, a[0][0] / det],
  ];
};
const mul2 = (a: M2, b: M2): M2 => [
  [a[0][0] * b[0][0] + a[0][1] * b[1][0], a[0][0] * b[0][1] + a[0][1] * b[1][1]],
  [a[1][0] * b[0][0] + a[1][1] * b[1][0], a[1][0] * b[0][1] + a[1][1] * b[1][1]],
];

/** n points from N(mu, L Lᵀ), row-major [n, 2]. */
function gaussian(rng: Rng, n: number, mu: [number, number], L: M2): Float32Array {
  const out = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) {
    const a = rng.normal();
    const b = rng.normal();
    out[2 * i] = mu[0] + L[0][0] * a + L[0][1] * b;
    out[2 * i + 1] = mu[1] + L[1][0] * a + L[1][1] * b;
  }
  return out;
}

function moments(x: Float32Array): { mu: [number, number]; cov: M2 } {
  const n = x.length / 2;
  let m0 = 0;
  let m1 = 0;
  for (let i = 0; i < n; i++) {
    m0 += x[2 * i];
    m1 += x[2 * i + 1];
  }
  m0 /= n;
  m1 /= n;
  let c00 = 0;
  let c01 = 0;
  let c11 = 0;
  for (let i = 0; i < n; i++) {
    const a = x[2 * i] - m0;
    const b = x[2 * i + 1] - m1;
    c00 += a * a;
    c01 += a * b;
    c11 += b * b;
  }
  return { mu: [m0, m1], cov: [[c00 / n, c01 / n], [c01 / n, c11 / n]] };
}

/** Full-batch Adam on a linear score model until the objective stops moving. */
function fitLinear(model: MlpScoreModel, loss: () => tf.Scalar, steps: number, lr: number): number {
  const adam = new Adam(model.params.layout.size, { lr });
  const p = model.params.flat();
  let last = NaN;
  for (let t = 0; t < steps; t++) {
    const { value, grads } = tf.variableGrads(loss, model.params.trainable());
    last = value.dataSync()[0];
    const g = model.params.flattenGrads(grads);
    tf.dispose([value, ...Object.values(grads)]);
    adam.step(p, g, lr * (t < steps / 2 ? 1 : 0.1));
    model.params.assign(p);
  }
  return last;
}

const linearArch = { dim: 2, hidden: [], activation: 'silu' as const, sigmaConditioned: false, embeddingDim: 2, fourierScale: 1 };

describe('Hyvärinen and sliced score matching on a 2-D Gaussian', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  const rng = new Rng(11);
  const mu: [number, number] = [1, -0.5];
  const L: M2 = [
    [1.2, 0],
    [0.5, 0.6],
  ];
  const n = 400;
  const data = gaussian(rng, n, mu, L);
  const { mu: muHat, cov } = moments(data);
  const P = inv2(cov);

  it('Hyvärinen: the linear score converges to −(x − μ̂)Σ̂⁻¹ and the objective to −½ tr Σ̂⁻¹', () => {
    const model = new MlpScoreModel(linearArch);
    const x = tf.tensor2d(data, [n, 2]);
    const final = fitLinear(model, () => hyvarinenLoss((xx) => model.score(xx, tf.zeros([xx.shape[0]])) as tf.Tensor2D, x), 400, 0.05);
    const W = model.params.get('l0.w').arraySync() as number[][];
    const b = model.params.get('l0.b').arraySync() as number[];
    for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++) expect(W[i][j]).toBeCloseTo(-P[i][j], 2);
    // b = −μ̂ W = μ̂ Σ̂⁻¹ (row vectors)
    for (let j = 0; j < 2; j++) expect(b[j]).toBeCloseTo(muHat[0] * P[0][j] + muHat[1] * P[1][j], 2);
    expect(final).toBeCloseTo(-0.5 * (P[0][0] + P[1][1]), 3);
    x.dispose();
    model.dispose();
  });

  it('sliced (variance-reduced, fixed projections): W converges to −Σ̂⁻¹V̂ with V̂ the projections’ second moment', () => {
    const m = 3;
    const vData = rng.fillNormal(new Float32Array(m * n * 2));
    let v00 = 0;
    let v01 = 0;
    let v11 = 0;
    for (let i = 0; i < m * n; i++) {
      v00 += vData[2 * i] ** 2;
      v01 += vData[2 * i] * vData[2 * i + 1];
      v11 += vData[2 * i + 1] ** 2;
    }
    const V: M2 = [
      [v00 / (m * n), v01 / (m * n)],
      [v01 / (m * n), v11 / (m * n)],
    ];
    const Wopt = mul2(P, V).map((r) => r.map((e) => -e)) as M2;
    const model = new MlpScoreModel(linearArch);
    const x = tf.tensor2d(data, [n, 2]);
    const v = tf.tensor3d(vData, [m, n, 2]);
    fitLinear(model, () => slicedLoss((xx) => model.score(xx, tf.zeros([xx.shape[0]])) as tf.Tensor2D, x, v, true), 400, 0.05);
    const W = model.params.get('l0.w').arraySync() as number[][];
    for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++) expect(W[i][j]).toBeCloseTo(Wopt[i][j], 2);
    // and V̂ → I as the projections grow in number, so W is near the Hyvärinen optimum −Σ̂⁻¹
    for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++) expect(Math.abs(W[i][j] + P[i][j])).toBeLessThan(0.25 * Math.abs(P[0][0]));
    tf.dispose([x, v]);
    model.dispose();
  });
});

// ---- DSM on a 2-D mixture --------------------------------------------------------------------------------

const COMPONENTS = [
  { w: 0.5, mu: [-2, 0] as [number, number], s: 0.35 },
  { w: 0.3, mu: [2, 0.5] as [number, number], s: 0.5 },
  { w: 0.2, mu: [0, 2.5] as [number, number], s: 0.3 },
];

function mixture(rng: Rng, n: number): Float32Array {
  const out = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) {
    const u = rng.uniform();
    const c = u < COMPONENTS[0].w ? COMPONENTS[0] : u < COMPONENTS[0].w + COMPONENTS[1].w ? COMPONENTS[1] : COMPONENTS[2];
    out[2 * i] = c.mu[0] + c.s * rng.normal();
    out[2 * i + 1] = c.mu[1] + c.s * rng.normal();
  }
  return out;
}

/** Energy distance 2E|X−Y| − E|X−X'| − E|Y−Y'| (V-statistic). */
function energyDistance(a: Float32Array, b: Float32Array): number {
  const mean = (p: Float32Array, q: Float32Array) => {
    let s = 0;
    const np = p.length / 2;
    const nq = q.length / 2;
    for (let i = 0; i < np; i++) for (let j = 0; j < nq; j++) s += Math.hypot(p[2 * i] - q[2 * j], p[2 * i + 1] - q[2 * j + 1]);
    return s / (np * nq);
  };
  return 2 * mean(a, b) - mean(a, a) - mean(b, b);
}

function componentOf(x: number, y: number): number {
  let best = 0;
  let bd = Infinity;
  COMPONENTS.forEach((c, k) => {
    const d = Math.hypot(x - c.mu[0], y - c.mu[1]);
    if (d < bd) {
      bd = d;
      best = k;
    }
  });
  return best;
}

const HIDDEN = 64;
const BATCH = 256;
const STEPS = 1500;

describe('denoising score matching with a small MLP on a 2-D Gaussian mixture', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  it('learns a score whose annealed Langevin samples match the mixture', () => {
    const rng = new Rng(2024);
    // σ range of training; sampling stops at σ_L = σmin, where the target is the mixture convolved with N(0, σ_L²)
    const sigmaMin = 0.1;
    const sigmaMax = 6;
    const model = new MlpScoreModel({ dim: 2, hidden: [HIDDEN, HIDDEN], activation: 'silu', sigmaConditioned: true, embeddingDim: 32, fourierScale: 1 }, undefined, 5);
    const adam = new Adam(model.params.layout.size, { lr: 3e-3 }, model.params.layout.trainableMask());
    const p = model.params.flat();
    const batch = BATCH;
    const steps = STEPS;
    const losses: number[] = [];
    for (let t = 0; t < steps; t++) {
      const x = mixture(rng, batch);
      const z = rng.fillNormal(new Float32Array(2 * batch));
      const sig = new Float32Array(batch).map(() => sigmaMin * (sigmaMax / sigmaMin) ** rng.uniform());
      const { value, grads } = tf.tidy(() =>
        tf.variableGrads(() => dsmLoss((xx, s) => model.forward(xx as tf.Tensor2D, s), tf.tensor2d(x, [batch, 2]), tf.tensor2d(z, [batch, 2]), tf.tensor1d(sig)), model.params.trainable()),
      );
      losses.push(value.dataSync()[0]);
      const g = model.params.flattenGrads(grads);
      tf.dispose([value, ...Object.values(grads)]);
      adam.step(p, g, t < steps * 0.7 ? 3e-3 : 6e-4);
      model.params.assign(p);
    }
    const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
    expect(mean(losses.slice(-200))).toBeLessThan(0.8 * mean(losses.slice(0, 50)));

    // annealed Langevin dynamics (Song & Ermon 2019): geometric σ levels from σmax to σ_L, at each level T steps
    // of ULA with step ε σ²/σ_L² targeting p_σ. At σ_L the step is ε = 1e-3 against a component variance ≥ 0.1:
    // the discretisation bias of ULA on the variance is ε/(2v) ≤ 0.5 %, and 100 steps relax it (time ≈ v/ε).
    const n = 1000;
    const levels = 20;
    const perLevel = 100;
    const eps = 1e-3;
    const sigmaL = sigmaMin;
    let x = tf.tensor2d(rng.fillNormal(new Float32Array(2 * n), sigmaMax), [n, 2]);
    for (let l = 0; l < levels; l++) {
      const sigma = sigmaMax * (sigmaL / sigmaMax) ** (l / (levels - 1));
      const step = (eps * sigma * sigma) / (sigmaL * sigmaL);
      const sig = tf.fill([n], sigma) as tf.Tensor1D;
      for (let k = 0; k < perLevel; k++) {
        const noise = rng.fillNormal(new Float32Array(2 * n), Math.sqrt(2 * step));
        const next = tf.tidy(() => tf.add(tf.add(x, tf.mul(model.score(x, sig), step)), tf.tensor2d(noise, [n, 2])));
        x.dispose();
        x = next as tf.Tensor2D;
      }
      sig.dispose();
    }
    const samples = x.dataSync() as Float32Array;
    x.dispose();
    model.dispose();

    // component weights within 4 binomial standard errors
    const counts = [0, 0, 0];
    for (let i = 0; i < n; i++) counts[componentOf(samples[2 * i], samples[2 * i + 1])]++;
    COMPONENTS.forEach((c, k) => {
      const se = Math.sqrt((c.w * (1 - c.w)) / n);
      expect(Math.abs(counts[k] / n - c.w), `component ${k}: ${counts[k]} of ${n}`).toBeLessThan(4 * se);
    });
    // energy distance to an exact sample of p_σL, against the largest of 8 energy distances between two exact
    // samples of the same size (a permutation-free Monte Carlo null: a correct sampler passes ~8 times in 9)
    const exact = () => {
      const m = mixture(rng, n);
      for (let i = 0; i < m.length; i++) m[i] += sigmaL * rng.normal();
      return m;
    };
    const ed = energyDistance(samples, exact());
    const nullEd = Array.from({ length: 8 }, () => energyDistance(exact(), exact()));
    expect(ed).toBeLessThan(Math.max(...nullEd));
  });
});
