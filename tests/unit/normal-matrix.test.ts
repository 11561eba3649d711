/**
 * The normal matrix of a lens model (src-shared/diffusion/likelihood/normal-matrix.ts): its explicit rows against the
 * operator (lens → psf → mask) both ways, with the adjoint identity ⟨Bx, y⟩ = ⟨x, Bᵀy⟩; G = AᵀWA against the
 * operator's own products and the float64 sums; and the likelihood's score through G against the score through the
 * operator at every iteration, solved to a tight tolerance.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src-main/engine/backend.js';
import { LensOperator } from '../../src-shared/operators/lens.js';
import { PsfOperator, psfFromImage, type PsfMethod } from '../../src-shared/operators/psf.js';
import { MaskOperator } from '../../src-shared/operators/mask.js';
import { compose } from '../../src-shared/operators/compose.js';
import type { LinearOperator } from '../../src-shared/operators/types.js';
import { lensModelRows, lensNormalMatrix } from '../../src-shared/diffusion/likelihood/normal-matrix.js';
import { ConvolvedLikelihood } from '../../src-shared/diffusion/likelihood.js';
import { ConjugateGradientSolver, normalProduct } from '../../src-shared/diffusion/likelihood/conjugate-gradients.js';
import { choosePreconditioner } from '../../src-shared/diffusion/likelihood/preconditioners.js';
import { ellipticalKernel } from '../helpers/psf-kernels.js';
import { randn, randomSymmetric } from './operators-ref.js';

beforeAll(async () => {
  await initBackend('wasm');
});

const SRC: [number, number] = [16, 16];
const IMG: [number, number] = [40, 44];

/** An SIE with shear onto a 40 × 44 grid, an elongated 7 × 7 PSF off its axes, a disc mask off the centre. */
function lensModel(psfMethod: PsfMethod): { op: LinearOperator; mask: Float32Array } {
  const lens = new LensOperator(
    { thetaE: 0.5, q: 0.75, phi: 0.4, x0: 0.05, y0: -0.03, gamma1: 0.02, gamma2: -0.01 },
    { sourceShape: SRC, sourcePixelScale: 0.04, imageShape: IMG, imagePixelScale: 0.05, supersample: 2 },
  );
  const kernel = psfFromImage(ellipticalKernel(7, 1.6, 0.9, 0.5), [7, 7]);
  const mask = new Float32Array(IMG[0] * IMG[1]);
  for (let i = 0; i < IMG[0]; i++) for (let j = 0; j < IMG[1]; j++) if ((i - 19) ** 2 + (j - 23) ** 2 <= 17 * 17) mask[i * IMG[1] + j] = 1;
  return { op: compose(lens, new PsfOperator(IMG, kernel, { method: psfMethod }), new MaskOperator(IMG, mask)), mask };
}

/** 1/σ² at the mask's pixels (σ varying), 0 elsewhere. */
function weights(mask: Float32Array): Float32Array {
  const z = randn(mask.length, 11);
  return Float32Array.from(mask, (m, i) => (m ? 1 / (0.02 * (1 + 0.3 * Math.abs(z[i]))) ** 2 : 0));
}

function applyOp(op: LinearOperator, x: Float32Array, adjoint = false): Float32Array {
  const shape = adjoint ? op.outShape : op.inShape;
  const t = tf.tensor3d(x, [1, shape[0], shape[1]]);
  const r = adjoint ? op.adjoint(t) : op.apply(t);
  const out = r.dataSync() as Float32Array;
  tf.dispose([t, r]);
  return Float32Array.from(out);
}

const maxAbs = (a: ArrayLike<number>) => Array.from(a).reduce((m, v) => Math.max(m, Math.abs(v)), 0);
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

describe('the explicit rows of lens → psf → mask', () => {
  for (const method of ['direct', 'fourier'] as const) {
    it(`equal the operator both ways (${method} PSF), and the adjoint identity holds`, () => {
      const { op, mask } = lensModel(method);
      const w = weights(mask);
      const e = lensModelRows(op, w)!;
      expect(e).not.toBeNull();
      // the rows are the observed pixels, ascending, with their weights
      expect(e.pixels.length).toBe(mask.reduce((a, v) => a + v, 0));
      for (let k = 0; k < e.pixels.length; k++) expect(e.w[k]).toBe(w[e.pixels[k]]);
      const B = e.rows;
      const x = randn(SRC[0] * SRC[1], 3);
      const Ax = applyOp(op, x);
      const Bx = new Float64Array(B.nRows);
      for (let r = 0; r < B.nRows; r++) for (let p = B.rowPtr[r]; p < B.rowPtr[r + 1]; p++) Bx[r] += B.values[p] * x[B.colIdx[p]];
      const AxAt = Float64Array.from(e.pixels, (i) => Ax[i]);
      expect(maxDiff(Bx, AxAt)).toBeLessThan(2e-6 * maxAbs(Bx));
      // outside the mask the operator gives 0
      for (let i = 0; i < Ax.length; i++) if (!mask[i]) expect(Ax[i] === 0).toBe(true);
      // Bᵀ y against the operator's adjoint of y scattered onto the grid
      const y = randn(B.nRows, 5);
      const Bty = new Float64Array(B.nCols);
      for (let r = 0; r < B.nRows; r++) for (let p = B.rowPtr[r]; p < B.rowPtr[r + 1]; p++) Bty[B.colIdx[p]] += B.values[p] * y[r];
      const yGrid = new Float32Array(IMG[0] * IMG[1]);
      e.pixels.forEach((i, k) => (yGrid[i] = y[k]));
      expect(maxDiff(Bty, applyOp(op, yGrid, true))).toBeLessThan(2e-6 * maxAbs(Bty));
      // ⟨Bx, y⟩ = ⟨x, Bᵀy⟩ in float64
      let lhs = 0;
      let rhs = 0;
      for (let r = 0; r < B.nRows; r++) lhs += Bx[r] * y[r];
      for (let c = 0; c < B.nCols; c++) rhs += x[c] * Bty[c];
      expect(Math.abs(lhs - rhs)).toBeLessThan(1e-12 * (Math.abs(lhs) + 1));
      op.dispose();
    });
  }

  it('only for a lens first, then at most one PSF, then masks', () => {
    const kernel = psfFromImage(ellipticalKernel(5, 1.2, 0.8, 0.3), [5, 5]);
    const psf = new PsfOperator(IMG, kernel);
    const w = new Float32Array(IMG[0] * IMG[1]).fill(1);
    expect(lensModelRows(psf, w)).toBeNull();
    const lens = () => new LensOperator({ thetaE: 0.5, q: 0.8, phi: 0, x0: 0, y0: 0, gamma1: 0, gamma2: 0 }, { sourceShape: SRC, sourcePixelScale: 0.04, imageShape: IMG, imagePixelScale: 0.05, supersample: 1 });
    const two = compose(lens(), new PsfOperator(IMG, kernel), new PsfOperator(IMG, kernel));
    expect(lensNormalMatrix(two, w)).toBeNull();
    // a lens alone: its own rows
    const alone = lens();
    const e = lensModelRows(alone, w)!;
    expect(e.rows.rowPtr[e.rows.nRows]).toBe(alone.matrix.rowPtr[alone.matrix.nRows]);
    // too many unknowns for the limit
    expect(lensNormalMatrix(alone, w, SRC[0] * SRC[1] - 1)).toBeNull();
    for (const o of [psf, two, alone]) o.dispose();
  });
});

describe('G = AᵀWA', () => {
  it('is symmetric, the float64 sums rounded once, and the operator’s Aᵀ W A u to float32', () => {
    const { op, mask } = lensModel('fourier');
    const w = weights(mask);
    const G = lensNormalMatrix(op, w)!;
    const N = SRC[0] * SRC[1];
    expect(G.length).toBe(N * N);
    for (let i = 0; i < N; i++) for (let j = 0; j < i; j++) expect(G[i * N + j]).toBe(G[j * N + i]);
    // entries against Σ_r w_r B_ri B_rj in float64
    const { rows: B, w: wr } = lensModelRows(op, w)!;
    const dense = new Float64Array(B.nRows * N);
    for (let r = 0; r < B.nRows; r++) for (let p = B.rowPtr[r]; p < B.rowPtr[r + 1]; p++) dense[r * N + B.colIdx[p]] = B.values[p];
    for (const [i, j] of [[0, 0], [120, 121], [136, 136], [40, 200], [255, 17]]) {
      let s = 0;
      for (let r = 0; r < B.nRows; r++) s += wr[r] * dense[r * N + i] * dense[r * N + j];
      expect(G[i * N + j]).toBe(Math.fround(s));
    }
    // G u against the operator's products on a batch of three
    const u = randn(3 * N, 8);
    const ut = tf.tensor3d(u, [3, SRC[0], SRC[1]]);
    const wt = tf.tensor3d(w, [1, IMG[0], IMG[1]]);
    const viaOp = tf.tidy(() => op.adjoint(tf.mul(op.apply(ut), wt)));
    const a = viaOp.dataSync();
    const Gt = tf.tensor2d(G, [N, N]);
    const viaG = tf.tidy(() => tf.matMul(tf.reshape(ut, [3, N]), Gt));
    const b = viaG.dataSync();
    expect(maxDiff(a, b)).toBeLessThan(1e-5 * maxAbs(a));
    tf.dispose([ut, wt, viaOp, Gt, viaG]);
    op.dispose();
  });
});

describe('the product with G', () => {
  it('(G uᵀ)ᵀ is u G for a symmetric G, for one chain and for batches', () => {
    const N = 300;
    const G = randomSymmetric(N, 41);
    const Gt = tf.tensor2d(G, [N, N]);
    for (const B of [1, 2, 5, 8, 16]) {
      const u = randn(B * N, 42 + B);
      const ut = tf.tensor2d(u, [B, N]);
      const got = normalProduct(Gt, ut);
      expect(got.shape).toEqual([B, N]);
      const g = got.dataSync();
      // against float64 sums, row by row
      const want = new Float64Array(B * N);
      for (let b = 0; b < B; b++) for (let j = 0; j < N; j++) for (let i = 0; i < N; i++) want[b * N + j] += u[b * N + i] * G[i * N + j];
      expect(maxDiff(g, want)).toBeLessThan(1e-5 * maxAbs(want));
      tf.dispose([ut, got]);
    }
    Gt.dispose();
  });
});

describe('the likelihood with G', () => {
  it('solves the operator’s own system (a σ map, masked pixels, the Fourier PSF)', () => {
    const make = (normalMatrix: boolean) => {
      const { op, mask } = lensModel('fourier');
      const w = weights(mask);
      const sigma = Float32Array.from(w, (v) => (v > 0 ? 1 / Math.sqrt(v) : 0.02));
      const data = Float32Array.from(randn(IMG[0] * IMG[1], 21), (v) => 0.05 + 0.02 * v);
      // G from the first solve on (the default forms it after 256 products of ≥ 4 chains)
      const lik = new ConvolvedLikelihood({ operator: op, data, dataShape: IMG, noise: { kind: 'map', sigma, shape: IMG }, cgTol: 1e-6, cgMaxIter: 400, normalMatrix: normalMatrix && { minBatch: 1, after: 0 } });
      return { op, lik, w };
    };
    const withG = make(true);
    const without = make(false);
    expect(withG.lik.method).toBe('cg');
    expect(withG.lik.description).toContain('AᵀWA (256² matrix) formed after 0 products of ≥ 1 chains');
    expect(without.lik.description).not.toContain('AᵀWA');
    const x = tf.tensor3d(Float32Array.from(randn(2 * SRC[0] * SRC[1], 4), (v) => 0.3 * v), [2, SRC[0], SRC[1]]);
    // the exact system in float64 from the explicit rows: G = Σ_r w_r b_r b_rᵀ, AᵀW r = Σ_r w_r b_r r_r
    const { rows: B, pixels, w: wr } = lensModelRows(without.op, without.w)!;
    const N = SRC[0] * SRC[1];
    const G = new Float64Array(N * N);
    for (let r = 0; r < B.nRows; r++) {
      for (let p = B.rowPtr[r]; p < B.rowPtr[r + 1]; p++) {
        for (let q = B.rowPtr[r]; q < B.rowPtr[r + 1]; q++) G[B.colIdx[p] * N + B.colIdx[q]] += wr[r] * B.values[p] * B.values[q];
      }
    }
    const resid = without.lik.residual(x);
    const rv = resid.dataSync();
    resid.dispose();
    // ‖(I + cG) u − AᵀW r‖ / ‖AᵀW r‖ per chain in float64 (the score is u: flux scale 1)
    const relResidual = (u: ArrayLike<number>, c: number): number[] =>
      [0, 1].map((k) => {
        const b = new Float64Array(N);
        for (let r = 0; r < B.nRows; r++) for (let p = B.rowPtr[r]; p < B.rowPtr[r + 1]; p++) b[B.colIdx[p]] += wr[r] * B.values[p] * rv[k * IMG[0] * IMG[1] + pixels[r]];
        let num = 0;
        let den = 0;
        for (let i = 0; i < N; i++) {
          let s = u[k * N + i];
          for (let j = 0; j < N; j++) s += c * G[i * N + j] * u[k * N + j];
          num += (s - b[i]) ** 2;
          den += b[i] ** 2;
        }
        return Math.sqrt(num / den);
      });
    for (const sigma of [0.05, 1, 20]) {
      const a = withG.lik.score(x, sigma);
      const b = without.lik.score(x, sigma);
      const ra = relResidual(a.dataSync(), sigma * sigma);
      const rb = relResidual(b.dataSync(), sigma * sigma);
      // through G the solve meets its tolerance on the exact system to float32 rounding (≈ 10⁻⁶ at σ ≤ 1); at σ = 20
      // (a condition number of ~10⁶) float32 conjugate gradients drift from their recursive residual to a few 10⁻⁴
      // on either path (measured 5.2 and 2.1·10⁻⁴ through G, 6.1 and 2.2·10⁻⁴ through the operator): G's is no worse
      ra.forEach((v, k) => expect(v).toBeLessThan(Math.max(1e-5, 1.5 * rb[k]!)));
      if (sigma <= 1) for (const v of [...ra, ...rb]) expect(v).toBeLessThan(1e-5);
      // where the system is well conditioned the two scores agree closely
      if (sigma === 0.05) expect(maxDiff(a.dataSync(), b.dataSync())).toBeLessThan(2e-5 * maxAbs(b.dataSync()));
      tf.dispose([a, b]);
    }
    x.dispose();
    for (const m of [withG, without]) {
      m.lik.dispose();
      m.op.dispose();
    }
  });
});

describe('the right-hand side through G', () => {
  it('AᵀW y′ − G x is AᵀW (y′ − A x) where the data are near the model (cancellation), within a tenth of the solve’s tolerance', () => {
    const N = SRC[0] * SRC[1];
    const make = (normalMatrix: boolean) => {
      const { op, mask } = lensModel('fourier');
      const w = weights(mask);
      const sigma = Float32Array.from(w, (v) => (v > 0 ? 1 / Math.sqrt(v) : 0.02));
      return { op, mask, sigma, normalMatrix };
    };
    const withG = make(true);
    const without = make(false);
    // a smooth source of peak ~1 through the lens, S/N ~50 a pixel; the state a posterior draw near it
    const truth = Float32Array.from({ length: N }, (_, k) => Math.exp(-(((k % 16) - 7.5) ** 2 + (Math.floor(k / 16) - 8) ** 2) / 12));
    const { rows: B, pixels, w: wr } = lensModelRows(without.op, Float32Array.from(without.sigma, (v, i) => (without.mask[i] ? 1 / (v * v) : 0)))!;
    const z = randn(IMG[0] * IMG[1], 51);
    const data = new Float32Array(IMG[0] * IMG[1]);
    for (let r = 0; r < B.nRows; r++) {
      let m = 0;
      for (let p = B.rowPtr[r]; p < B.rowPtr[r + 1]; p++) m += B.values[p] * truth[B.colIdx[p]];
      data[pixels[r]] = m + without.sigma[pixels[r]] * z[pixels[r]];
    }
    const liks = [withG, without].map((m) => new ConvolvedLikelihood({ operator: m.op, data, dataShape: IMG, noise: { kind: 'map', sigma: m.sigma, shape: IMG }, normalMatrix: m.normalMatrix && { minBatch: 1, after: 0 } }));
    const xs = Float32Array.from(randn(4 * N, 52), (v, k) => truth[k % N] + 0.01 * v);
    const x = tf.tensor3d(xs, [4, SRC[0], SRC[1]]);
    // forms G (its first solve's right-hand side through the operator)
    tf.dispose(liks[0].score(x, 1));
    // at σ → 0 the solve is the identity: the score is the right-hand side itself (flux scale 1)
    const tiny = 1e-6;
    const viaG = liks[0].score(x, tiny).dataSync();
    const viaOp = liks[1].score(x, tiny).dataSync();
    // in float64 from the explicit rows
    const exact = new Float64Array(4 * N);
    let cancel = 0;
    for (let k = 0; k < 4; k++) {
      const aty = new Float64Array(N);
      for (let r = 0; r < B.nRows; r++) {
        let m = 0;
        for (let p = B.rowPtr[r]; p < B.rowPtr[r + 1]; p++) m += B.values[p] * xs[k * N + B.colIdx[p]];
        const res = data[pixels[r]] - m;
        for (let p = B.rowPtr[r]; p < B.rowPtr[r + 1]; p++) {
          exact[k * N + B.colIdx[p]] += wr[r] * B.values[p] * res;
          aty[B.colIdx[p]] += wr[r] * B.values[p] * data[pixels[r]];
        }
      }
      cancel = Math.max(cancel, maxAbs(aty) / maxAbs(exact.subarray(k * N, (k + 1) * N)));
    }
    // the data are near the model: AᵀW y′ is many times the right-hand side
    expect(cancel).toBeGreaterThan(20);
    const errG = maxDiff(viaG, exact) / maxAbs(exact);
    const errOp = maxDiff(viaOp, exact) / maxAbs(exact);
    expect(errG).toBeLessThan(1e-4);
    expect(errOp).toBeLessThan(1e-4);
    expect(liks[0].cgStats.solves).toBe(2);
    x.dispose();
    for (const l of liks) l.dispose();
    for (const m of [withG, without]) m.op.dispose();
  });
});

describe('when the solver forms G', () => {
  it('after `after` products of batches of ≥ `minBatch` chains through the operator, once, then for such batches only', () => {
    const { op, mask } = lensModel('direct');
    const w = weights(mask);
    let formed = 0;
    const wt = tf.tensor3d(w, [1, IMG[0], IMG[1]]);
    const options = { tol: 1e-4, maxIter: 60, onDevice: false };
    const normal = { form: () => (formed++, lensNormalMatrix(op, w)), minBatch: 2, after: 40 };
    const solver = new ConjugateGradientSolver(op, 'test', wt, 1, choosePreconditioner(op, op.gram(), null), options, normal);
    const plain = new ConjugateGradientSolver(op, 'test', wt, 1, choosePreconditioner(op, op.gram(), null), options);
    const r1 = tf.tensor3d(randn(IMG[0] * IMG[1], 31), [1, IMG[0], IMG[1]]);
    const r2 = tf.tensor3d(randn(2 * IMG[0] * IMG[1], 32), [2, IMG[0], IMG[1]]);
    const solve = (s: ConjugateGradientSolver, r: tf.Tensor) => {
      const u = s.solve(r, 0.01);
      const v = Float32Array.from(u.dataSync());
      u.dispose();
      return v;
    };
    // single chains never count
    for (let k = 0; k < 4; k++) solve(solver, r1);
    expect(formed).toBe(0);
    // pairs through the operator until 40 products, then G, formed once
    let solves = 0;
    while (!solver.normalFormed && solves < 20) {
      expect(formed).toBe(0);
      solve(solver, r2);
      solves++;
    }
    expect(solver.normalFormed).toBe(true);
    expect(formed).toBe(1);
    const iterations = solver.stats.iterations;
    expect(iterations).toBeGreaterThanOrEqual(40 - 4 - 1);
    // through G and through the operator: the same solution to the tolerance
    const a = solve(solver, r2);
    const b = solve(plain, r2);
    expect(maxDiff(a, b)).toBeLessThan(1e-3 * maxAbs(b));
    solve(solver, r2);
    expect(formed).toBe(1);
    tf.dispose([wt, r1, r2]);
    solver.dispose();
    plain.dispose();
    op.dispose();
  });
});

describe('G formed once for other threads (the sampling pool)', () => {
  const problem = (normalMatrix?: ConstructorParameters<typeof ConvolvedLikelihood>[0]['normalMatrix']) => {
    const { op, mask } = lensModel('direct');
    const w = weights(mask);
    const sigma = Float32Array.from(w, (v) => (v > 0 ? 1 / Math.sqrt(v) : 0.02));
    const data = Float32Array.from(randn(IMG[0] * IMG[1], 21), (v) => 0.05 + 0.02 * v);
    const lik = new ConvolvedLikelihood({ operator: op, data, dataShape: IMG, noise: { kind: 'map', sigma, shape: IMG }, ...(normalMatrix !== undefined ? { normalMatrix } : {}) });
    // the likelihood's weights: 1/σ² of the float32 variance at the mask's pixels
    const variance = Float32Array.from(sigma, (v) => v * v);
    const inv = Float32Array.from(variance, (v, i) => (w[i] > 0 ? 1 / v : 0));
    return { op, lik, inv };
  };

  it('is the G and the eigenpairs a worker forms itself, in shared memory, and gives its solves bit for bit', () => {
    const host = problem();
    const shared = host.lik.formSharedNormalMatrix(4, 100)!;
    expect(shared).not.toBeNull();
    expect(host.lik.description).toContain('formed once before the run, shared by the threads');
    const N = SRC[0] * SRC[1];
    // in SharedArrayBuffers: a structured clone (what a worker's workerData is) shares them
    expect(shared.matrix.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(shared.pairs!.vectors.buffer).toBeInstanceOf(SharedArrayBuffer);
    const clone = structuredClone(shared);
    const before = shared.matrix[5];
    clone.matrix[5] = 123;
    expect(shared.matrix[5]).toBe(123);
    shared.matrix[5] = before;
    // G: what the worker's own formation gives (the same float64 sums, rounded once), bit for bit
    const own = lensNormalMatrix(host.op, host.inv)!;
    expect(shared.matrix.length).toBe(N * N);
    expect(maxDiff(shared.matrix, own)).toBe(0);
    // the worker's own path: formed after 0 products of ≥ 1 chain, then deflated by its own Lanczos pairs
    const worker = problem({ minBatch: 1, after: 0 });
    const given = problem({ minBatch: 1, formed: clone });
    expect(given.lik.description).toContain('formed once before the run, shared by the threads');
    const x = tf.tensor3d(Float32Array.from(randn(4 * N, 4), (v) => 0.3 * v), [4, SRC[0], SRC[1]]);
    // the worker forms G in its first solve, whose right-hand side went through the operator (G was not formed yet)
    tf.dispose(worker.lik.score(x, 10));
    const warmUp = worker.lik.cgStats.iterations;
    for (const sigma of [5, 0.5, 0.05]) {
      const a = worker.lik.score(x, sigma);
      const b = given.lik.score(x, sigma);
      const c = host.lik.score(x, sigma);
      // the same G and the same deflation: the same iterates, bit for bit
      expect(maxDiff(a.dataSync(), b.dataSync())).toBe(0);
      expect(maxDiff(a.dataSync(), c.dataSync())).toBe(0);
      tf.dispose([a, b, c]);
    }
    expect(worker.lik.cgStats.iterations - warmUp).toBe(given.lik.cgStats.iterations);
    expect(given.lik.cgStats.solves).toBe(3);
    x.dispose();
    for (const m of [host, worker, given]) {
      m.lik.dispose();
      m.op.dispose();
    }
  });

  it('is not formed where the workers would not form it: batches below the minimum, runs too short to reach `after` products', () => {
    const host = problem();
    // defaults: batches of ≥ 4 chains, 256 products, ≤ 30 iterations a solve (31 products with the warm start's)
    expect(host.lik.formSharedNormalMatrix(3, 1000)).toBeNull();
    expect(host.lik.formSharedNormalMatrix(8, 8)).toBeNull();
    expect(host.lik.description).toContain('formed after 256 products');
    expect(host.lik.formSharedNormalMatrix(8, 9)).not.toBeNull();
    host.lik.dispose();
    host.op.dispose();
    // without the normal matrix, none
    const off = problem(false);
    expect(off.lik.formSharedNormalMatrix(8, 1000)).toBeNull();
    off.lik.dispose();
    off.op.dispose();
  });
});
