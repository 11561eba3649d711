/**
 * The likelihood's solve methods one by one (src-shared/diffusion/likelihood/): each solver's
 * Aᵀ (Σ + c A Aᵀ)⁻¹ r against the dense float64 definition, the choice of method on representative operators,
 * and the conjugate-gradient loop's two stopping tests (host: read back and stop early, on the worst chain or per chain; device: fixed
 * iterations, converged chains frozen, statistics read on settle).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src-main/engine/backend.js';
import { PsfOperator, gaussianPsf, psfFromImage } from '../../src-shared/operators/psf.js';
import { MaskOperator } from '../../src-shared/operators/mask.js';
import { UvSamplingOperator } from '../../src-shared/operators/uv.js';
import { IdentityOperator, compose } from '../../src-shared/operators/compose.js';
import { LensOperator, DEFAULT_LENS } from '../../src-shared/operators/lens.js';
import type { LinearOperator } from '../../src-shared/operators/types.js';
import { ChainRandom } from '../../src-shared/diffusion/chain-rng.js';
import { chooseSolveMethod, findPsf, type SolveSituation } from '../../src-shared/diffusion/likelihood/choose.js';
import { PixelDiagonalSolver } from '../../src-shared/diffusion/likelihood/pixel-diagonal.js';
import { FourierSolver } from '../../src-shared/diffusion/likelihood/fourier.js';
import { KroneckerSolver } from '../../src-shared/diffusion/likelihood/kronecker.js';
import { ConjugateGradientSolver } from '../../src-shared/diffusion/likelihood/conjugate-gradients.js';
import { choosePreconditioner } from '../../src-shared/diffusion/likelihood/preconditioners.js';
import { conjugateGradients, DeviceCgTally, DeviceStopping, HostStopping, type CgSystem } from '../../src-shared/diffusion/likelihood/cg-loop.js';
import { CgWarmStart, noCgStats, type LikelihoodSolver } from '../../src-shared/diffusion/likelihood/solver.js';
import { cholesky, forwardSubstituteInPlace } from '../helpers/gaussian-posterior.js';
import { ellipticalKernel } from '../helpers/psf-kernels.js';

beforeAll(async () => {
  await initBackend('wasm');
});

function randn(n: number, seed: number, scale = 1): Float64Array {
  const r = new ChainRandom(seed, 0);
  return Float64Array.from({ length: n }, () => scale * r.normal());
}

/** The operator as a dense float64 matrix (nOut × nIn), by applying it to the basis. */
function denseOf(op: LinearOperator): Float64Array {
  const [ny, nx] = op.inShape;
  const nIn = ny * nx;
  const nOut = op.outShape[0] * op.outShape[1];
  const cols = tf.tidy(() => op.apply(tf.reshape(tf.eye(nIn), [nIn, ny, nx])).dataSync());
  const a = new Float64Array(nOut * nIn);
  for (let j = 0; j < nIn; j++) for (let i = 0; i < nOut; i++) a[i * nIn + j] = cols[j * nOut + i];
  return a;
}

/** Aᵀ_o (Σ_o + c A_o A_oᵀ)⁻¹ r_o per batch element, o the observed rows (mask 1): the definition, in float64. */
function referenceSolve(a: Float64Array, nIn: number, nOut: number, mask: ArrayLike<number>, variance: ArrayLike<number>, c: number, r: ArrayLike<number>, batch: number): Float64Array {
  const obs: number[] = [];
  for (let i = 0; i < nOut; i++) if (mask[i]) obs.push(i);
  const m = obs.length;
  const k = new Float64Array(m * m);
  for (let p = 0; p < m; p++) {
    for (let q = 0; q < m; q++) {
      let s = 0;
      for (let j = 0; j < nIn; j++) s += a[obs[p] * nIn + j] * a[obs[q] * nIn + j];
      k[p * m + q] = c * s + (p === q ? variance[obs[p]] : 0);
    }
  }
  const l = cholesky(k, m);
  const out = new Float64Array(batch * nIn);
  for (let b = 0; b < batch; b++) {
    const v = Float64Array.from(obs, (i) => r[b * nOut + i]);
    forwardSubstituteInPlace(l, v, m, 1);
    for (let i = m - 1; i >= 0; i--) {
      let s = v[i];
      for (let q = i + 1; q < m; q++) s -= l[q * m + i] * v[q];
      v[i] = s / l[i * m + i];
    }
    for (let j = 0; j < nIn; j++) {
      let s = 0;
      for (let p = 0; p < m; p++) s += a[obs[p] * nIn + j] * v[p];
      out[b * nIn + j] = s;
    }
  }
  return out;
}

function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let e = 0;
  let n = 0;
  for (let i = 0; i < b.length; i++) {
    e += (a[i] - b[i]) ** 2;
    n += b[i] ** 2;
  }
  return Math.sqrt(e / n);
}

function uvOperator(): UvSamplingOperator {
  const [ny, nx] = [8, 10];
  const w = new Float64Array(ny * nx);
  for (let l = 0; l < ny; l++) for (let k = 0; k < nx; k++) w[l * nx + k] = ((Math.min(l, ny - l) + 2 * Math.min(k, nx - k)) % 3) / 2;
  return new UvSamplingOperator([ny, nx], w);
}

const LENS_GEOMETRY = { sourceShape: [8, 8] as [number, number], sourcePixelScale: 0.1, imageShape: [10, 10] as [number, number], imagePixelScale: 0.1, supersample: 2 };

interface SolverCase {
  name: string;
  op: () => LinearOperator;
  /** σ per data pixel, row-major */
  sigma: (n: number) => Float64Array;
  /** data pixels masked beyond what the operator masks itself */
  masked?: number[];
  make: (op: LinearOperator, variance: Float32Array, weight: tf.Tensor3D, meanVariance: number, meanWeight: number) => LikelihoodSolver;
  method: string;
  description: RegExp;
  tol: number;
}

const white = (s: number) => (n: number) => new Float64Array(n).fill(s);
const sigmaMap = (n: number) => Float64Array.from({ length: n }, (_, i) => 0.05 + 0.02 * (i % 3));
const cgOptions = (onDevice: boolean) => ({ tol: 1e-6, maxIter: onDevice ? 300 : 2000, onDevice });
const cg = (onDevice: boolean) => (op: LinearOperator, _v: Float32Array, weight: tf.Tensor3D, _mv: number, meanWeight: number) =>
  new ConjugateGradientSolver(op, 'test', weight, meanWeight, choosePreconditioner(op, op.gram(), findPsf(op)), cgOptions(onDevice));

const SOLVER_CASES: SolverCase[] = [
  {
    name: 'pixel-diagonal: a mask, a σ map and masked data',
    op: () => new MaskOperator([9, 7], Array.from({ length: 63 }, (_, i) => (i % 5 === 2 ? 0 : 1))),
    sigma: sigmaMap,
    masked: [3, 40],
    make: (op, variance) => new PixelDiagonalSolver(op, 'A Aᵀ is diagonal in pixels', (op.gram() as { diag: Float32Array }).diag, variance),
    method: 'pixel-diagonal',
    description: /^exact: A Aᵀ is diagonal in pixels$/,
    tol: 1e-5,
  },
  {
    name: 'Fourier: uv sampling, white noise',
    op: uvOperator,
    sigma: white(0.08),
    make: (op, _v, _w, meanVariance) => new FourierSolver(op, 'uv', (op.gram() as { diag: Float32Array }).diag, meanVariance),
    method: 'fourier-diagonal',
    description: /^exact: uv$/,
    tol: 1e-4,
  },
  {
    name: 'Kronecker: a Gaussian PSF, white noise',
    op: () => new PsfOperator([12, 10], gaussianPsf(2.2)),
    sigma: white(0.08),
    make: (op, _v, _w, meanVariance) => new KroneckerSolver((op as PsfOperator).kernel, [12, 10], 'separable', meanVariance),
    method: 'kronecker',
    description: /^exact: separable$/,
    tol: 1e-4,
  },
  ...[false, true].flatMap((onDevice): SolverCase[] => {
    const where = onDevice ? ', stopping test on the device' : '';
    return [
      {
        name: `conjugate gradients, Kronecker rank-1 preconditioner: a non-separable PSF, a σ map${where}`,
        op: () => new PsfOperator([12, 10], psfFromImage(ellipticalKernel(7, 2.0, 0.9, 0.6), [7, 7])),
        sigma: sigmaMap,
        make: cg(onDevice),
        method: 'cg',
        description: /^conjugate gradients \(test\): relative residual ≤ 0.000001, ≤ \d+ iterations, warm-started; preconditioner: Kronecker form of the PSF's rank-1 part \(kernel rank-1 error 3.6e-1\)$/,
        tol: 1e-4,
      },
      {
        name: `conjugate gradients, circulant preconditioner: uv sampling, masked data${where}`,
        op: uvOperator,
        sigma: white(0.08),
        masked: [5, 17],
        make: cg(onDevice),
        method: 'cg',
        description: /warm-started; preconditioner: circulant approximation of AᵀA$/,
        tol: 1e-4,
      },
      {
        name: `conjugate gradients, no preconditioner: lensing${where}`,
        op: () => new LensOperator(DEFAULT_LENS, LENS_GEOMETRY),
        sigma: sigmaMap,
        make: cg(onDevice),
        method: 'cg',
        description: /warm-started; no preconditioner$/,
        tol: 1e-4,
      },
    ];
  }),
];

describe('each solve method against the dense definition Aᵀ (Σ + c A Aᵀ)⁻¹ r', () => {
  for (const sc of SOLVER_CASES) {
    it(sc.name, async () => {
      const op = sc.op();
      const [ny, nx] = op.inShape;
      const [my, mx] = op.outShape;
      const nIn = ny * nx;
      const nOut = my * mx;
      const a = denseOf(op);
      // observed: reached by the operator and not masked
      const mask = new Float32Array(nOut);
      for (let i = 0; i < nOut; i++) {
        let reach = 0;
        for (let j = 0; j < nIn; j++) reach += a[i * nIn + j] ** 2;
        mask[i] = reach > 0 && !sc.masked?.includes(i) ? 1 : 0;
      }
      const sig = sc.sigma(nOut);
      const variance = Float32Array.from(sig, (s, i) => (mask[i] ? s * s : 1));
      const inv = Float32Array.from(variance, (v, i) => (mask[i] ? 1 / v : 0));
      const observed = mask.reduce((s, v) => s + v, 0);
      const meanVariance = variance.reduce((s, v, i) => s + (mask[i] ? v : 0), 0) / observed;
      const meanWeight = inv.reduce((s, v) => s + v, 0) / nOut;
      const weight = tf.tensor3d(inv, [1, my, mx]);
      const tensorsBefore = tf.memory().numTensors;
      const solver = sc.make(op, variance, weight, meanVariance, meanWeight);
      expect(solver.method).toBe(sc.method);
      expect(solver.description).toMatch(sc.description);
      // the forward map: the operator itself, or (Kronecker) the same map in factored form
      const x = Float32Array.from(randn(2 * nIn, 3));
      const [ax, axRef] = tf.tidy(() => {
        const xt = tf.tensor3d(x, [2, ny, nx]);
        return [solver.forward.apply(xt).dataSync(), op.apply(xt).dataSync()];
      });
      expect(relErr(ax, axRef)).toBeLessThan(1e-5);
      const batch = 3;
      const r = Float32Array.from(randn(batch * nOut, 7), (v, i) => v * mask[i % nOut]);
      const warm = new CgWarmStart();
      for (const c of [0.02, 0.5, 3]) {
        const got = tf.tidy(() => solver.solve(tf.tensor3d(r, [batch, my, mx]), c, warm).dataSync());
        await solver.settle();
        const ref = referenceSolve(a, nIn, nOut, mask, variance, c, r, batch);
        expect(relErr(got, ref), `c = ${c}`).toBeLessThan(sc.tol);
      }
      if (sc.method === 'cg') {
        expect(solver.stats.solves).toBe(3);
        expect(solver.stats.capped).toBe(0);
        expect(solver.stats.maxRelResidual).toBeLessThanOrEqual(1e-6);
      } else {
        expect(solver.stats).toEqual(noCgStats());
      }
      warm.reset();
      solver.dispose();
      // what the solver made is freed; what it was lent (the weights) is not
      expect(tf.memory().numTensors).toBe(tensorsBefore);
      expect(weight.isDisposed).toBe(false);
      weight.dispose();
      op.dispose();
    });
  }
});

describe('the choice of method', () => {
  const situation = (operator: LinearOperator, more: Partial<SolveSituation> = {}): SolveSituation => ({ operator, whiteNoise: true, allObserved: true, ...more });
  const ops: LinearOperator[] = [];
  const keep = <T extends LinearOperator>(op: T): T => {
    ops.push(op);
    return op;
  };
  const elliptical = () => psfFromImage(ellipticalKernel(7, 2.0, 0.9, 0.6), [7, 7]);

  it.each([
    // the exact methods, where they apply
    ['a mask', () => keep(new MaskOperator([6, 5], Array.from({ length: 30 }, (_, i) => i % 4 && 1))), {}, 'pixel-diagonal', 'A Aᵀ is diagonal in pixels'],
    ['a mask, a σ map and masked pixels', () => keep(new MaskOperator([6, 5], new Array(30).fill(1))), { whiteNoise: false, allObserved: false }, 'pixel-diagonal', 'A Aᵀ is diagonal in pixels'],
    ['the identity (denoising)', () => keep(new IdentityOperator([6, 5])), {}, 'pixel-diagonal', 'A Aᵀ is diagonal in pixels'],
    ['uv sampling, white noise', () => keep(uvOperator()), {}, 'fourier-diagonal', 'A Aᵀ is diagonal in Fourier modes and the noise is white'],
    ['a Gaussian PSF, white noise', () => keep(new PsfOperator([12, 10], gaussianPsf(2))), {}, 'kronecker', 'separable PSF kernel, A Aᵀ diagonalised as a Kronecker product; white noise'],
    // conjugate gradients, with the first reason that rules the exact methods out
    ['a Gaussian PSF, conjugate gradients requested', () => keep(new PsfOperator([12, 10], gaussianPsf(2))), { requested: 'cg' }, 'cg', 'requested'],
    ['a mask, conjugate gradients requested', () => keep(new MaskOperator([6, 5], new Array(30).fill(1))), { requested: 'cg' }, 'cg', 'requested'],
    ['uv sampling, a σ map', () => keep(uvOperator()), { whiteNoise: false }, 'cg', 'the noise differs between pixels'],
    ['uv sampling, masked pixels', () => keep(uvOperator()), { allObserved: false }, 'cg', 'pixels are masked'],
    ['a Gaussian PSF, a σ map', () => keep(new PsfOperator([12, 10], gaussianPsf(2))), { whiteNoise: false }, 'cg', 'the noise differs between pixels'],
    ['a Gaussian PSF, masked pixels', () => keep(new PsfOperator([12, 10], gaussianPsf(2))), { allObserved: false }, 'cg', 'pixels are masked'],
    ['a non-separable PSF, a σ map', () => keep(new PsfOperator([12, 10], elliptical())), { whiteNoise: false }, 'cg', 'the noise differs between pixels'],
    ['a non-separable PSF', () => keep(new PsfOperator([12, 10], elliptical())), {}, 'cg', 'the PSF kernel is not separable'],
    [
      'a Gaussian PSF followed by a mask that removes nothing',
      () => keep(compose(new PsfOperator([12, 10], gaussianPsf(2)), new MaskOperator([12, 10], new Array(120).fill(1)))),
      {},
      'cg',
      'masks follow the PSF',
    ],
    ['a Gaussian PSF on an image over 512 pixels wide', () => keep(new PsfOperator([4, 520], gaussianPsf(1.5))), {}, 'cg', 'the image is over 512 pixels a side, too large for the Kronecker decomposition'],
    ['a PSF then uv sampling (circulant only approximately)', () => keep(compose(new PsfOperator([8, 10], gaussianPsf(2)), uvOperator())), {}, 'cg', 'A Aᵀ is only approximately circulant'],
    ['lensing', () => keep(new LensOperator(DEFAULT_LENS, LENS_GEOMETRY)), {}, 'cg', 'A Aᵀ has no known diagonal form'],
  ] as [string, () => LinearOperator, Partial<SolveSituation>, string, string][])('%s', (_name, op, more, method, reason) => {
    const choice = chooseSolveMethod(situation(op(), more));
    expect(choice.method).toBe(method);
    expect(choice.reason).toBe(reason);
  });

  it('what each method is handed: the diagonal, the kernel, or what the preconditioner is chosen from', () => {
    const mask = keep(new MaskOperator([6, 5], Array.from({ length: 30 }, (_, i) => i % 4 && 1)));
    const m = chooseSolveMethod(situation(mask));
    expect(m.method === 'pixel-diagonal' && Array.from(m.diag)).toEqual(Array.from(mask.mask));
    const psf = keep(new PsfOperator([12, 10], gaussianPsf(2)));
    const k = chooseSolveMethod(situation(psf));
    expect(k.method === 'kronecker' && k.kernel).toBe(psf.kernel);
    const chain = keep(compose(new PsfOperator([12, 10], elliptical()), new MaskOperator([12, 10], new Array(120).fill(1))));
    const c = chooseSolveMethod(situation(chain, { allObserved: false }));
    expect(c.method).toBe('cg');
    if (c.method === 'cg') {
      expect(c.gram.kind).toBe('none');
      expect(c.psf?.masked).toBe(true);
      const pre = choosePreconditioner(chain, c.gram, c.psf);
      expect(pre.description).toMatch(/^preconditioner: Kronecker form of the PSF's rank-1 part/);
      pre.dispose();
    }
    for (const op of ops.splice(0)) op.dispose();
  });
});

describe('the conjugate-gradient loop: host and device stopping', () => {
  /** (I + K) u with K = GᵀG/n, a dense SPD matrix on a [ny, nx] grid, unpreconditioned. */
  function denseSystem(ny: number, nx: number, scale: number): { system: CgSystem; dispose: () => void } {
    const n = ny * nx;
    const g = randn(n * n, 21, Math.sqrt(scale / n));
    const k = new Float32Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let l = 0; l < n; l++) k[i * n + j] += g[l * n + i] * g[l * n + j];
    const kt = tf.tensor2d(k, [n, n]);
    return {
      system: {
        apply: (u) => tf.add(u, tf.reshape(tf.matMul(tf.reshape(u, [u.shape[0], n]), kt), u.shape)),
        precondition: (u) => tf.clone(u),
      },
      dispose: () => kt.dispose(),
    };
  }

  it('the same solution and iteration count; after convergence the device loop changes nothing', async () => {
    const [ny, nx] = [5, 6];
    const { system, dispose } = denseSystem(ny, nx, 40);
    const batch = 3;
    // chains of different difficulty: the right-hand sides differ in scale and direction
    const bData = Float32Array.from(randn(batch * ny * nx, 4), (v, i) => v * (1 + Math.floor(i / (ny * nx))));
    const b = tf.tensor3d(bData, [batch, ny, nx]);
    const tensorsBefore = tf.memory().numTensors;
    const tol = 1e-4;

    const hostStats = noCgStats();
    const uHost = conjugateGradients(system, b, new HostStopping(b, tol, 500, hostStats));
    const tally = new DeviceCgTally();
    const deviceStats = noCgStats();
    const solveOnDevice = (maxIter: number): Float32Array => {
      const u = conjugateGradients(system, b, new DeviceStopping(b, tol, maxIter, tally));
      const v = u.dataSync() as Float32Array;
      u.dispose();
      return v;
    };
    const uLong = solveOnDevice(500);
    await tally.settle(deviceStats);
    expect(hostStats.solves).toBe(1);
    expect(deviceStats.solves).toBe(1);
    expect(hostStats.capped + deviceStats.capped).toBe(0);
    // the device counts the iterations in which some chain still moved. A chain freezes the first time its
    // residual is within tol, while on the host it moves on until all are at once (a CG residual need not
    // decrease monotonically): never more iterations than the host's
    expect(deviceStats.iterations).toBeGreaterThan(3);
    expect(deviceStats.iterations).toBeLessThanOrEqual(hostStats.iterations);
    expect(hostStats.maxRelResidual).toBeLessThanOrEqual(tol);
    expect(deviceStats.maxRelResidual).toBeLessThanOrEqual(tol);
    expect(relErr(uLong, uHost.dataSync())).toBeLessThan(10 * tol);
    uHost.dispose();
    // once every chain is frozen the iterations leave everything as it was, to the bit
    const uExact = solveOnDevice(deviceStats.iterations);
    expect(Array.from(uExact)).toEqual(Array.from(uLong));
    // fewer iterations than needed: capped, and the solution differs
    const uShort = solveOnDevice(2);
    const shortStats = noCgStats();
    await tally.settle(shortStats);
    expect(shortStats).toMatchObject({ solves: 2, iterations: deviceStats.iterations + 2, capped: 1 });
    expect(shortStats.maxRelResidual).toBeGreaterThan(tol);
    expect(relErr(uShort, uLong)).toBeGreaterThan(tol);
    // settle with nothing pending adds nothing
    await tally.settle(shortStats);
    expect(shortStats.solves).toBe(2);
    tally.dispose();
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    b.dispose();
    dispose();
  });

  it('per-chain host stopping: a chain solved with others is the chain solved alone, to the bit', () => {
    const [ny, nx] = [16, 16];
    const n = ny * nx;
    // a diagonal system, eigenvalues 1…100: elementwise, so a chain's arithmetic is its own whatever the batch
    const d = tf.tensor3d(Float32Array.from({ length: n }, (_, i) => 1 + (99 * i) / (n - 1)), [1, ny, nx]);
    const system: CgSystem = { apply: (u) => tf.mul(u, d), precondition: (u) => tf.clone(u) };
    // chain 0 converges in fewer iterations than chain 1: its right-hand side lies on the eigenvalues 1…26 (64 of
    // them: more than the iterations it takes, so it is not solved exactly), chain 1's on all
    const r = randn(n, 32);
    const easy = Float32Array.from(r, (v, i) => (i < 64 ? v : 0));
    const hard = Float32Array.from(r);
    const solve = (rows: Float32Array[], perChain: boolean) => {
      const b = tf.tensor3d(Float32Array.from(rows.flatMap((r) => Array.from(r))), [rows.length, ny, nx]);
      const stats = noCgStats();
      const u = conjugateGradients(system, b, new HostStopping(b, 1e-5, 200, stats, perChain));
      const v = u.dataSync() as Float32Array;
      u.dispose();
      b.dispose();
      return { v, stats };
    };
    const alone = solve([easy], true);
    const both = solve([easy, hard], true);
    const hardAlone = solve([hard], true);
    expect(alone.stats.iterations).toBeLessThan(both.stats.iterations);
    expect(both.stats.iterations).toBe(hardAlone.stats.iterations);
    expect(Array.from(both.v.subarray(0, n))).toEqual(Array.from(alone.v));
    expect(Array.from(both.v.subarray(n))).toEqual(Array.from(hardAlone.v));
    expect(both.stats.maxRelResidual).toBeLessThanOrEqual(1e-5);
    // stopping on the worst chain, the easy one moves on with the hard one: it is not what it is alone
    const together = solve([easy, hard], false);
    expect(Array.from(together.v.subarray(0, n))).not.toEqual(Array.from(alone.v));
    d.dispose();
  });

  it('warm starts: the previous solution of the same chains is the start, a batch of another size starts from 0', () => {
    const { system, dispose } = denseSystem(4, 4, 20);
    const b = tf.tensor3d(Float32Array.from(randn(2 * 16, 9)), [2, 4, 4]);
    const warm = new CgWarmStart();
    const stats = noCgStats();
    conjugateGradients(system, b, new HostStopping(b, 1e-5, 100, stats), warm).dispose();
    const cold = stats.iterations;
    conjugateGradients(system, b, new HostStopping(b, 1e-5, 100, stats), warm).dispose();
    expect(stats.iterations - cold).toBeLessThanOrEqual(1);
    const b3 = tf.tensor3d(Float32Array.from(randn(3 * 16, 10)), [3, 4, 4]);
    const before = stats.iterations;
    conjugateGradients(system, b3, new HostStopping(b3, 1e-5, 100, stats), warm).dispose();
    expect(stats.iterations - before).toBeGreaterThan(1);
    expect(warm.v?.shape[0]).toBe(3);
    warm.reset();
    b.dispose();
    b3.dispose();
    dispose();
  });
});
