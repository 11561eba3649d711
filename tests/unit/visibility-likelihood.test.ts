/**
 * The visibility likelihood (src-shared/diffusion/visibility-likelihood.ts) against dense float64 closed forms on
 * a small problem: a 12×12 image, 72 visibilities at random (u, v) (cycles per pixel, inside the grid's band) with
 * weights 2…8, so that the data's 144 real degrees of freedom equal the pixels and the dense reference of
 * tests/helpers/gaussian-posterior.ts applies to the stacked real system ([Re; Im] rows, whitened by √w).
 *  - χ² from the normal equations equals Σ w |y − A x|²;
 *  - the convolved score equals a Ãᵀ(I + a²σ² ÃÃᵀ)⁻¹(ỹ − Ã(a x_p + b)) computed densely in data space;
 *  - the embedded circulant preconditioner equals P (I + cC₊)⁻¹ Pᵀ formed densely, and with it, the circulant one or
 *    K's eigendecomposition (Jacobi in float64) conjugate gradients reach the dense score;
 *  - the default sampler with a Gaussian-field prior reproduces the exact posterior (mean and variance within
 *    Monte Carlo error; tolerances as in samplers-gaussian-pc.test.ts).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src-main/engine/backend.js';
import { GaussianFieldPrior, powerLawSpectrum } from '../../src-shared/diffusion/priors/gaussian-field.js';
import { VisibilityLikelihood, type VisibilityNormalEquations } from '../../src-shared/diffusion/visibility-likelihood.js';
import { runSampling } from '../../src-shared/diffusion/posterior.js';
import { ChainRandom } from '../../src-shared/diffusion/chain-rng.js';
import { CgWarmStart } from '../../src-shared/diffusion/likelihood/solver.js';
import { EmbeddedCirculantPreconditioner } from '../../src-shared/diffusion/likelihood/preconditioners.js';
import { symmetricEigen } from '../../src-shared/linalg/dense.js';
import { circulantCovariance, comparePosterior, expectedChi2OfSampleMean, gaussianDraws, gaussianPosterior, denseVisibilityChi2, type GaussianPosteriorReference, type SparseRows } from '../helpers/gaussian-posterior.js';

const SIDE = 12;
const N = SIDE * SIDE;
const M = N / 2;
const C0 = Math.floor(SIDE / 2);
let u: Float64Array, v: Float64Array, w: Float64Array;
let yRe: Float64Array, yIm: Float64Array;
let power: Float64Array;
let ref: GaussianPosteriorReference;
let rows: Float64Array; // Ã_w, 2M × N, row-major
let yw: Float64Array;
let eq: VisibilityNormalEquations;
let eqExact: VisibilityNormalEquations;

/** Phase of visibility k at pixel p: θ = 2π(u l + v m), l = −(j − c), m = (i − c) (pixels). */
const theta = (k: number, p: number) => 2 * Math.PI * (u[k] * -((p % SIDE) - C0) + v[k] * (Math.floor(p / SIDE) - C0));

/** Solves the dense n×n system a z = b (Gaussian elimination, partial pivoting). */
function solve(a: Float64Array, b: Float64Array, n: number): Float64Array {
  const m = Float64Array.from(a);
  const z = Float64Array.from(b);
  for (let c = 0; c < n; c++) {
    let piv = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r * n + c]) > Math.abs(m[piv * n + c])) piv = r;
    if (piv !== c) {
      for (let j = 0; j < n; j++) [m[c * n + j], m[piv * n + j]] = [m[piv * n + j], m[c * n + j]];
      [z[c], z[piv]] = [z[piv], z[c]];
    }
    for (let r = c + 1; r < n; r++) {
      const f = m[r * n + c] / m[c * n + c];
      if (f === 0) continue;
      for (let j = c; j < n; j++) m[r * n + j] -= f * m[c * n + j];
      z[r] -= f * z[c];
    }
  }
  for (let c = n - 1; c >= 0; c--) {
    let s = z[c];
    for (let j = c + 1; j < n; j++) s -= m[c * n + j] * z[j];
    z[c] = s / m[c * n + c];
  }
  return z;
}

beforeAll(async () => {
  await initBackend('wasm');
  const r = new ChainRandom(99, 0);
  u = new Float64Array(M).map(() => (r.uniform() - 0.5) * 0.8);
  v = new Float64Array(M).map(() => (r.uniform() - 0.5) * 0.8);
  w = new Float64Array(M).map(() => 2 + 6 * r.uniform());
  power = powerLawSpectrum(SIDE, SIDE, 10, 4, 2);
  const c = circulantCovariance(power, SIDE, SIDE);
  const cInv = circulantCovariance(
    power.map((q) => 1 / q),
    SIDE,
    SIDE,
  );
  const truth = gaussianDraws(c, N, 1, () => r.normal());
  yRe = new Float64Array(M);
  yIm = new Float64Array(M);
  rows = new Float64Array(2 * M * N);
  for (let k = 0; k < M; k++) {
    const s = Math.sqrt(w[k]);
    for (let p = 0; p < N; p++) {
      const t = theta(k, p);
      yRe[k] += Math.cos(t) * truth[p];
      yIm[k] -= Math.sin(t) * truth[p];
      rows[2 * k * N + p] = s * Math.cos(t);
      rows[(2 * k + 1) * N + p] = -s * Math.sin(t);
    }
    yRe[k] += r.normal() / s;
    yIm[k] += r.normal() / s;
  }
  yw = new Float64Array(2 * M);
  for (let k = 0; k < M; k++) {
    yw[2 * k] = Math.sqrt(w[k]) * yRe[k];
    yw[2 * k + 1] = Math.sqrt(w[k]) * yIm[k];
  }
  const a: SparseRows = { n: N, cols: [], vals: [] };
  for (let q = 0; q < 2 * M; q++) {
    a.cols.push(Int32Array.from({ length: N }, (_, p) => p));
    a.vals.push(rows.slice(q * N, (q + 1) * N));
  }
  ref = gaussianPosterior(c, cInv, a, yw, 1);
  // the normal equations, straight from the definitions
  const dirty = new Float64Array(N);
  for (let p = 0; p < N; p++) for (let k = 0; k < M; k++) dirty[p] += w[k] * (Math.cos(theta(k, p)) * yRe[k] - Math.sin(theta(k, p)) * yIm[k]);
  const W = 2 * SIDE - 1;
  const beam = new Float64Array(W * W);
  for (let i = 0; i < W; i++) {
    for (let j = 0; j < W; j++) {
      const di = i - (SIDE - 1);
      const dj = j - (SIDE - 1);
      for (let k = 0; k < M; k++) beam[i * W + j] += w[k] * Math.cos(2 * Math.PI * (u[k] * -dj + v[k] * di));
    }
  }
  let yWy = 0;
  for (let k = 0; k < M; k++) yWy += w[k] * (yRe[k] ** 2 + yIm[k] ** 2);
  eq = { shape: [SIDE, SIDE], dirty, beam, yWy, visibilities: M };
  // the exact evaluations, densely (the samplers' ending draws the data's noise through noiseImage)
  const resid = (x: Float32Array) => {
    const rr = Float64Array.from(yRe);
    const ri = Float64Array.from(yIm);
    for (let k = 0; k < M; k++) {
      for (let p = 0; p < N; p++) {
        rr[k] -= Math.cos(theta(k, p)) * x[p];
        ri[k] += Math.sin(theta(k, p)) * x[p];
      }
    }
    return { rr, ri };
  };
  const adjointRe = (zr: Float64Array, zi: Float64Array) => Float64Array.from({ length: N }, (_, p) => {
    let s = 0;
    for (let k = 0; k < M; k++) s += zr[k] * Math.cos(theta(k, p)) - zi[k] * Math.sin(theta(k, p));
    return s;
  });
  eqExact = {
    ...eq,
    exact: {
      chi2: (x) => {
        const { rr, ri } = resid(x);
        let s = 0;
        for (let k = 0; k < M; k++) s += w[k] * (rr[k] ** 2 + ri[k] ** 2);
        return s;
      },
      residualImage: (x) => {
        const { rr, ri } = resid(x);
        return adjointRe(rr.map((q, k) => q * w[k]), ri.map((q, k) => q * w[k]));
      },
      noiseImage: (zr, zi) => adjointRe(zr.map((q, k) => q * Math.sqrt(w[k])), zi.map((q, k) => q * Math.sqrt(w[k]))),
    },
  };
}, 60_000);

/** ‖got − want‖ / ‖want‖ over the N pixels of `want`, `got` read from `offset`. */
function relError(got: ArrayLike<number>, want: ArrayLike<number>, offset = 0): number {
  let num = 0;
  let den = 0;
  for (let p = 0; p < N; p++) {
    num += (got[offset + p] - want[p]) ** 2;
    den += want[p] ** 2;
  }
  return Math.sqrt(num / den);
}

/** The convolved likelihood's score, dense in float64: a Ãᵀ (I + a²σ² ÃÃᵀ)⁻¹ (ỹ − Ã(a x_p + b)), all whitened. */
function denseScore(xp: Float64Array, a: number, b: number, sigma: number): Float64Array {
  const q = 2 * M;
  const resid = new Float64Array(q);
  for (let i = 0; i < q; i++) {
    let s = 0;
    for (let p = 0; p < N; p++) s += rows[i * N + p] * (a * xp[p] + b);
    resid[i] = yw[i] - s;
  }
  const mat = new Float64Array(q * q);
  for (let i = 0; i < q; i++) {
    for (let j = 0; j < q; j++) {
      let s = 0;
      for (let p = 0; p < N; p++) s += rows[i * N + p] * rows[j * N + p];
      mat[i * q + j] = (i === j ? 1 : 0) + a * a * sigma * sigma * s;
    }
  }
  const z = solve(mat, resid, q);
  const want = new Float64Array(N);
  for (let i = 0; i < q; i++) for (let p = 0; p < N; p++) want[p] += a * rows[i * N + p] * z[i];
  return want;
}

describe('the visibility likelihood against the dense closed form (12×12, 72 visibilities)', () => {
  it('χ² from the normal equations is Σ w |y − A x|²; the residual dirty image is Re Aᴴ W (y − A x) / √Σw', async () => {
    const lik = new VisibilityLikelihood({ equations: eq });
    try {
      const r = new ChainRandom(5, 1);
      const x = Float32Array.from({ length: N }, () => r.normal());
      const chi2 = denseVisibilityChi2(x, theta, { re: yRe, im: yIm, weight: w });
      expect(Math.abs((await lik.chi2OfImage(x)) * 2 * M - chi2) / chi2).toBeLessThan(1e-4);
      const withExact = new VisibilityLikelihood({ equations: eqExact });
      try {
        expect(Math.abs((await withExact.chi2OfImage(x)) * 2 * M - chi2) / chi2).toBeLessThan(1e-10);
        const r2 = await withExact.normalisedResidual(x);
        const r1 = await lik.normalisedResidual(x);
        for (const p of [0, 50, 143]) expect(r2[p]).toBeCloseTo(r1[p], 3);
      } finally {
        withExact.dispose();
      }
      const res = await lik.normalisedResidual(x);
      let sw = 0;
      for (let k = 0; k < M; k++) sw += w[k];
      for (const p of [0, 17, 77, 143]) {
        let g = 0;
        for (let k = 0; k < M; k++) {
          let re = yRe[k];
          let im = yIm[k];
          for (let q = 0; q < N; q++) {
            re -= Math.cos(theta(k, q)) * x[q];
            im += Math.sin(theta(k, q)) * x[q];
          }
          g += w[k] * (Math.cos(theta(k, p)) * re - Math.sin(theta(k, p)) * im);
        }
        expect(res[p]).toBeCloseTo(g / Math.sqrt(sw), 3);
      }
    } finally {
      lik.dispose();
    }
  });

  it('the convolved score equals the dense data-space formula (flux scale and offset included)', () => {
    const a = 1.7;
    const b = 0.3;
    const lik = new VisibilityLikelihood({ equations: eq, affine: { scale: a, offset: b }, cgTol: 1e-5, cgMaxIter: 300 });
    try {
      const r = new ChainRandom(6, 1);
      const xp = Float64Array.from({ length: N }, () => r.normal());
      for (const sigma of [0, 0.05, 0.5, 3]) {
        const want = denseScore(xp, a, b, sigma);
        const got = tf.tidy(() => lik.score(tf.tensor3d(Float32Array.from(xp), [1, SIDE, SIDE]), sigma).dataSync());
        // float32 conjugate gradients to a relative residual of 1e-5; at σ = 3 (condition number ~10⁵, where the
        // state is mostly injected noise) float32 stalls near 10⁻², as the image-plane solver's does
        expect(relError(got, want), `σ = ${sigma}`).toBeLessThan(sigma > 1 ? 2e-2 : 2e-3);
      }
    } finally {
      lik.dispose();
    }
  });

  it('solves without a warm start (the ending\'s) run to their own cap, warm-started ones stop at the loop\'s; either preconditioner reaches the dense answer', () => {
    const a = 1.7;
    const sigma = 0.5;
    const r = new ChainRandom(8, 1);
    const xp = Float64Array.from({ length: N }, () => r.normal());
    const want = denseScore(xp, a, 0, sigma);
    const error = (lik: VisibilityLikelihood, warm?: CgWarmStart) => {
      const got = tf.tidy(() => lik.score(tf.tensor3d(Float32Array.from(xp), [1, SIDE, SIDE]), sigma, warm).dataSync());
      return relError(got, want);
    };
    for (const preconditioner of ['none', 'circulant', 'embedded'] as const) {
      const lik = new VisibilityLikelihood({ equations: eq, affine: { scale: a, offset: 0 }, cgTol: 1e-5, cgMaxIter: 2, cgMaxIterCold: 300, preconditioner });
      const warm = new CgWarmStart();
      try {
        expect(error(lik), `${preconditioner}, cold`).toBeLessThan(2e-3);
        expect(lik.cgStats.capped).toBe(0);
        expect(error(lik, warm), `${preconditioner}, warm-started from nothing, 2 iterations`).toBeGreaterThan(1e-2);
        expect(lik.cgStats.capped).toBe(1);
        expect(lik.description).toMatch(preconditioner === 'none' ? /no preconditioner/ : /circulant/);
      } finally {
        warm.reset();
        lik.dispose();
      }
    }
  });

  it('the embedded circulant preconditioner is P (I + c C₊)⁻¹ Pᵀ, C the beam wrapped onto the (2n − 1)² grid (dense float64 reference)', () => {
    const P = 2 * SIDE - 1;
    // C's eigenvalues by the direct 2-D DFT of the beam wrapped onto P × P (offset Δ at index Δ mod P)
    const lam = new Float64Array(P * P);
    let negative = 0;
    for (let fy = 0; fy < P; fy++) {
      for (let fx = 0; fx < P; fx++) {
        let s = 0;
        for (let i = 0; i < P; i++) {
          for (let j = 0; j < P; j++) s += eq.beam[i * P + j] * Math.cos((2 * Math.PI * (fy * (i - (SIDE - 1)) + fx * (j - (SIDE - 1)))) / P);
        }
        if (s < 0) negative++;
        lam[fy * P + fx] = Math.max(0, s);
      }
    }
    // the clamp matters here: the beam truncated at the field's offsets has negative eigenvalues on this grid
    expect(negative).toBeGreaterThan(0);
    const c = 1.7 * 1.7 * 0.5 * 0.5;
    const dense = (x: Float64Array) => {
      // pad, DFT, divide by 1 + c λ₊, inverse DFT, crop
      const re = new Float64Array(P * P);
      const im = new Float64Array(P * P);
      for (let fy = 0; fy < P; fy++) {
        for (let fx = 0; fx < P; fx++) {
          let sr = 0;
          let si = 0;
          for (let i = 0; i < SIDE; i++) {
            for (let j = 0; j < SIDE; j++) {
              const ph = (-2 * Math.PI * (fy * i + fx * j)) / P;
              sr += x[i * SIDE + j] * Math.cos(ph);
              si += x[i * SIDE + j] * Math.sin(ph);
            }
          }
          const d = 1 + c * lam[fy * P + fx];
          re[fy * P + fx] = sr / d;
          im[fy * P + fx] = si / d;
        }
      }
      const out = new Float64Array(N);
      for (let i = 0; i < SIDE; i++) {
        for (let j = 0; j < SIDE; j++) {
          let s = 0;
          for (let f = 0; f < P * P; f++) {
            const ph = (2 * Math.PI * (Math.floor(f / P) * i + (f % P) * j)) / P;
            s += re[f] * Math.cos(ph) - im[f] * Math.sin(ph);
          }
          out[i * SIDE + j] = s / (P * P);
        }
      }
      return out;
    };
    const pre = new EmbeddedCirculantPreconditioner(eq.beam, [SIDE, SIDE]);
    try {
      const r = new ChainRandom(9, 1);
      const xs = [0, 1].map(() => Float64Array.from({ length: N }, () => r.normal()));
      const got = tf.tidy(() => pre.apply(tf.tensor3d(Float32Array.from([...xs[0]!, ...xs[1]!]), [2, SIDE, SIDE]), c).dataSync());
      for (let b = 0; b < 2; b++) {
        const want = dense(xs[b]!);
        expect(relError(got, want, b * N), `chain ${b}`).toBeLessThan(1e-5);
      }
    } finally {
      pre.dispose();
    }
  });

  it('with K\'s eigendecomposition as preconditioner, one or two iterations reach the dense answer', () => {
    // K from the beam at every pixel offset, decomposed in float64 (cyclic Jacobi: src-shared/linalg/dense.ts)
    const kd = new Float64Array(N * N);
    const bw = 2 * SIDE - 1;
    for (let p = 0; p < N; p++) {
      for (let q = 0; q < N; q++) {
        const di = Math.floor(p / SIDE) - Math.floor(q / SIDE) + SIDE - 1;
        const dj = (p % SIDE) - (q % SIDE) + SIDE - 1;
        kd[p * N + q] = eq.beam[di * bw + dj];
      }
    }
    const { values, vectors: vec } = symmetricEigen(kd, N);
    const a = 1.7;
    const r = new ChainRandom(10, 1);
    const xp = Float64Array.from({ length: N }, () => r.normal());
    for (const sigma of [0.05, 0.5, 3]) {
      const want = denseScore(xp, a, 0, sigma);
      const lik = new VisibilityLikelihood({ equations: eq, affine: { scale: a, offset: 0 }, cgTol: 1e-5, eigen: { values, vectors: Float32Array.from(vec) } });
      try {
        const got = tf.tidy(() => lik.score(tf.tensor3d(Float32Array.from(xp), [1, SIDE, SIDE]), sigma).dataSync());
        expect(relError(got, want), `σ = ${sigma}`).toBeLessThan(2e-3);
        expect(lik.cgStats.iterations, `σ = ${sigma}`).toBeLessThanOrEqual(2);
        expect(lik.description).toMatch(/eigendecomposition/);
      } finally {
        lik.dispose();
      }
    }
  });

  it('pc with a Gaussian-field prior samples the exact posterior', async () => {
    const prior = new GaussianFieldPrior(power, [SIDE, SIDE]);
    const lik = new VisibilityLikelihood({ equations: eqExact });
    const before = tf.memory().numTensors;
    try {
      const n = 64;
      const res = await runSampling({ prior, sde: prior.defaultSde(), shape: [SIDE, SIDE], likelihood: lik }, { sampler: 'pc', steps: 500, n, seed: 3, batchSize: n });
      const cmp = comparePosterior(res.samples, n, ref);
      const sd = Math.sqrt(2 / N);
      console.log(`visibilities, pc: whitened χ²/n ${cmp.whitenedChi2PerDof.toFixed(4)} (1 ± ${sd.toFixed(3)}), variance ratio ${cmp.varianceRatio.toFixed(4)} ± ${cmp.varianceRatioSe.toFixed(4)}; cg ${lik.cgStats.solves} solves, ${(lik.cgStats.iterations / Math.max(1, lik.cgStats.solves)).toFixed(1)} iterations each, ${lik.cgStats.capped} capped`);
      expect(Math.abs(cmp.whitenedChi2PerDof - 1)).toBeLessThan(4 * sd);
      expect(Math.abs(cmp.varianceRatio - 1)).toBeLessThan(Math.min(0.1, 4 * cmp.varianceRatioSe));
      const mean = new Float32Array(N);
      for (let c = 0; c < n; c++) for (let i = 0; i < N; i++) mean[i] += res.samples[c * N + i] / n;
      const e = expectedChi2OfSampleMean(ref, n);
      const chi2 = await lik.chi2OfImage(mean);
      console.log(`visibilities, pc: χ² per degree of freedom of the draws' mean ${chi2.toFixed(4)}, expected ${e.mean.toFixed(4)} ± ${e.sd.toFixed(4)}`);
      expect(Math.abs(chi2 - e.mean)).toBeLessThan(4 * e.sd);
      expect(tf.memory().numTensors).toBe(before);
    } finally {
      lik.dispose();
      prior.dispose();
    }
  }, 300_000);
});
