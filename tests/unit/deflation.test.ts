/**
 * The deflation preconditioner of the conjugate gradients (src-shared/diffusion/likelihood/preconditioners.ts) and
 * the Lanczos eigenpairs it is built from (src-shared/linalg/lanczos.ts), on a dense ill-conditioned G = Q Λ Qᵀ
 * with a known spectrum (power-law decay over four decades, like the lens's AᵀWA): the eigenpairs' residuals and
 * values; the preconditioner with every pair equal to (I + cG)⁻¹; the preconditioned solve against the exact
 * (Cholesky) solve; and fewer iterations than plain conjugate gradients.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src-main/engine/backend.js';
import { denseMatVec, lanczosTopEigenpairs } from '../../src-shared/linalg/lanczos.js';
import { cholesky, choleskySolveRows } from '../../src-shared/linalg/cholesky.js';
import { DeflationPreconditioner } from '../../src-shared/diffusion/likelihood/preconditioners.js';
import { conjugateGradients, HostStopping, type CgSystem } from '../../src-shared/diffusion/likelihood/cg-loop.js';
import { noCgStats } from '../../src-shared/diffusion/likelihood/solver.js';
import { randn } from './operators-ref.js';

beforeAll(async () => {
  await initBackend('wasm');
});

const SHAPE: [number, number] = [12, 12];
const N = SHAPE[0] * SHAPE[1];

/** G = Q diag(λ) Qᵀ, λ_i = 10⁴ (i + 1)^(−1.6) (largest first), Q a random orthonormal basis (Gram–Schmidt). */
function testMatrix(): { G: Float64Array; lambda: Float64Array } {
  const z = randn(N * N, 7);
  const Q = new Float64Array(N * N); // rows: the basis vectors
  for (let i = 0; i < N; i++) {
    const v = Float64Array.from(z.subarray(i * N, (i + 1) * N));
    for (let pass = 0; pass < 2; pass++) {
      for (let j = 0; j < i; j++) {
        let s = 0;
        for (let l = 0; l < N; l++) s += v[l] * Q[j * N + l];
        for (let l = 0; l < N; l++) v[l] -= s * Q[j * N + l];
      }
    }
    const nv = Math.hypot(...v);
    for (let l = 0; l < N; l++) Q[i * N + l] = v[l] / nv;
  }
  const lambda = Float64Array.from({ length: N }, (_, i) => 1e4 * (i + 1) ** -1.6);
  const G = new Float64Array(N * N);
  for (let k = 0; k < N; k++) {
    for (let i = 0; i < N; i++) {
      const a = lambda[k] * Q[k * N + i];
      for (let j = 0; j < N; j++) G[i * N + j] += a * Q[k * N + j];
    }
  }
  return { G, lambda };
}

/** (I + cG)⁻¹ b by Cholesky, float64. */
function exactSolve(G: Float64Array, c: number, b: ArrayLike<number>): Float64Array {
  const M = Float64Array.from(G, (v) => c * v);
  for (let i = 0; i < N; i++) M[i * N + i] += 1;
  const L = cholesky(M, N);
  if (!L) throw new Error('not positive definite');
  return choleskySolveRows(L, N, b);
}

/** CG on (I + cG) u = b with `precondition`; the solution and the iterations. */
function cgSolve(G: Float64Array, c: number, b: Float32Array, precondition: (u: tf.Tensor) => tf.Tensor, tol: number, maxIter = 2000): { u: Float32Array; iterations: number } {
  const Gt = tf.tensor2d(Float32Array.from(G), [N, N]);
  const system: CgSystem = {
    apply: (u) => tf.add(u, tf.mul(tf.reshape(tf.matMul(tf.reshape(u, [1, N]), Gt), u.shape), c)),
    precondition,
  };
  const stats = noCgStats();
  const bt = tf.tensor3d(b, [1, ...SHAPE]);
  const u = tf.tidy(() => conjugateGradients(system, bt, new HostStopping(bt, tol, maxIter, stats)));
  const out = u.dataSync() as Float32Array;
  tf.dispose([Gt, bt, u]);
  return { u: Float32Array.from(out), iterations: stats.iterations };
}

const maxAbs = (a: ArrayLike<number>) => Array.from(a).reduce((m, v) => Math.max(m, Math.abs(v)), 0);
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

describe('Lanczos with full reorthogonalisation', () => {
  it("gives G's top eigenpairs: residuals and values", () => {
    const { G, lambda } = testMatrix();
    const k = 20;
    const { values, vectors, k: got } = lanczosTopEigenpairs(denseMatVec(G, N), N, k, 2 * k);
    expect(got).toBe(k);
    const y = new Float64Array(N);
    for (let c = 0; c < k; c++) {
      const v = Float64Array.from({ length: N }, (_, i) => vectors[i * k + c]);
      denseMatVec(G, N)(v, y);
      const res = Math.hypot(...y.map((yi, i) => yi - values[c] * v[i]));
      expect(res).toBeLessThan(1e-6 * lambda[0]);
      expect(Math.abs(values[c] - lambda[c])).toBeLessThan(1e-8 * lambda[0]);
      expect(Math.abs(Math.hypot(...v) - 1)).toBeLessThan(1e-10);
    }
    // orthonormal
    for (const [a, b] of [[0, 1], [3, 17], [5, 19]]) {
      let s = 0;
      for (let i = 0; i < N; i++) s += vectors[i * k + a] * vectors[i * k + b];
      expect(Math.abs(s)).toBeLessThan(1e-10);
    }
  });
});

describe('the deflation preconditioner', () => {
  it('is (I + cG)⁻¹ when it holds every eigenpair', () => {
    const { G } = testMatrix();
    const { values, vectors, k } = lanczosTopEigenpairs(denseMatVec(G, N), N, N - 1, N);
    expect(k).toBe(N - 1);
    const P = new DeflationPreconditioner(values, vectors, k, SHAPE);
    const b = Float32Array.from(randn(N, 3));
    for (const c of [0.01, 1, 30]) {
      const x = exactSolve(G, c, b);
      const out = tf.tidy(() => P.apply(tf.tensor3d(b, [1, ...SHAPE]), c).dataSync());
      expect(maxDiff(out, x)).toBeLessThan(1e-4 * maxAbs(x));
    }
    P.dispose();
  });

  it('solves (I + cG) u = b as the exact solve does, in fewer iterations than plain CG', () => {
    const { G } = testMatrix();
    const k = 24;
    const { values, vectors } = lanczosTopEigenpairs(denseMatVec(G, N), N, k, 2 * k);
    const P = new DeflationPreconditioner(values, vectors, k, SHAPE);
    const b = Float32Array.from(randn(N, 5));
    for (const c of [1, 30]) {
      // condition number 1 + c·10⁴ → 1 + c λ₂₅ (≈ 60 times smaller)
      const x = exactSolve(G, c, b);
      const deflated = cgSolve(G, c, b, (u) => P.apply(u, c), 1e-6);
      expect(maxDiff(deflated.u, x)).toBeLessThan(1e-4 * maxAbs(x));
      const d3 = cgSolve(G, c, b, (u) => P.apply(u, c), 1e-3);
      const plain = cgSolve(G, c, b, (u) => tf.clone(u), 1e-3);
      expect(maxDiff(plain.u, x)).toBeLessThan(3e-3 * maxAbs(x));
      expect(d3.iterations).toBeLessThan(0.6 * plain.iterations);
    }
    P.dispose();
  });
});
