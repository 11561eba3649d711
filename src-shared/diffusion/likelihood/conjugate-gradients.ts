/**
 * Everything without a closed form — a non-separable PSF (only approximately circulant), a σ map or masked
 * pixels (which break the diagonal forms), lensing (no structure) — is solved by preconditioned conjugate
 * gradients on the unknown's grid, through the push-through identity
 *   Aᵀ (Σ + c A Aᵀ)⁻¹ r = (I + c AᵀWA)⁻¹ AᵀW r,   W = M Σ⁻¹ (0 on masked pixels).
 * This form, unlike the data-space system, keeps float32 accurate when c ≫ σ_n²: the data-space residual then
 * cancels between c A Aᵀ v and r and stalls near 10⁻² at large σ.
 *
 * Stopped at a relative residual ≤ `tol` (default 10⁻³; as I + c AᵀWA ≥ I it bounds the relative error of the
 * score) or after `maxIter` iterations (default 30), warm-started from the previous solution of the same chains.
 * The cap binds only at large σ (condition number 1 + c·λmax(AᵀWA) ~ 10⁵ there: hundreds of iterations to
 * converge), where the state is mostly injected noise and the annealing's later levels, which converge to `tol`
 * in a few iterations, set the target: the truncated Krylov solution is a stated approximation there, counted in
 * `stats` (solves that hit the cap, largest final residual) and reported. Measured: the 32×32 Gaussian-field
 * posterior with a non-separable PSF is reproduced within Monte Carlo error (tests/unit/samplers-cg).
 * Preconditioners: preconditioners.ts.
 *
 * Where the backend cannot read synchronously (../readback.ts), or when asked to (`onDevice`), the stopping
 * test stays on the device: fixed iterations with a per-chain freeze (cg-loop.ts), statistics read on settle().
 *
 * A lens model can give its normal matrix G = AᵀWA (normal-matrix.ts): one matrix product [B, N]·[N, N] in place
 * of the operator and its adjoint. It pays for batches of several chains (on the SLACS-like 64² source, 140² window,
 * wasm: 26 against 42 ms of CPU per product of 8 chains, 14 against 13 ms for 2, as u·G; 11.5 ms for 8 as (G uᵀ)ᵀ,
 * normalProduct) and costs about 7 s of CPU to form, so a solver forms it itself only after `normal.after` products
 * of at least `normal.minBatch` chains have run through the operator (about the formation's cost: a short run or a
 * few evaluations never form it), and then uses it for such batches only. The sampling pool's workers are given it
 * instead (`normal.formed`): formed once, with its eigenpairs, by the reconstruction's own thread in shared memory
 * where the workers' runs would form it (formShared), and used from their first solve. With G formed, the
 * right-hand side AᵀW r = AᵀW y′ − a G x is one more product with it (rightHandSide), not the operator and its
 * adjoint. The two agree to float32 rounding (tests/unit/normal-matrix.test.ts).
 *
 * Once G is formed, its top DEFLATION_PAIRS eigenpairs (Lanczos with full reorthogonalisation, ../../linalg/lanczos.ts,
 * through the backend's product with G) replace the preconditioner for every batch: the deflation preconditioner
 * (preconditioners.ts) takes the condition number from 1 + c λ₁ to 1 + c λ_{k+1}. G's spectrum on the SLACS-like
 * lens decays slowly (λ₁ 4.0·10⁴, λ₁₀₁ 2.5·10³, λ₂₀₁ 1.4·10³, λ₁₀₀₁ 96): 100 pairs (3.0 s of CPU, 200 steps) cut
 * the cold iterations about threefold, the 16 × 100 run's mean from 15.6 to 11.0 and its CPU by 7.5 %; 200 pairs
 * (10.4 s, then in each worker) saved more iterations but less CPU (measured in docs/lensing.md).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LinearOperator } from '../../operators/types.js';
import { syncReadable } from '../readback.js';
import { conjugateGradients, DeviceCgTally, DeviceStopping, HostStopping, type CgSystem } from './cg-loop.js';
import { DeflationPreconditioner, type Preconditioner } from './preconditioners.js';
import { lanczosTopEigenpairs, type EigenPairs } from '../../linalg/lanczos.js';
import { noCgStats, type CgWarmStart, type LikelihoodSolver } from './solver.js';
import { productEngine, rightProductModel, type CompiledProduct } from '../../linalg/product-engine.js';

export interface CgOptions {
  tol: number;
  maxIter: number;
  /** Run the stopping test on the device even where the backend reads synchronously (for tests). */
  onDevice: boolean;
}

/**
 * G and its top eigenpairs, formed once (formNormalMatrix): by the solver itself, or elsewhere and given to it — the
 * sampling pool forms them in its own thread, in shared memory, for all its workers (src-main/sampling/pool.ts).
 */
export interface FormedNormalMatrix {
  /** G = AᵀWA, row-major [N, N] */
  matrix: Float32Array;
  /** G's top eigenpairs (lanczosTopEigenpairs: at least k + 1 values, the vectors n × k), or null: no deflation */
  pairs: EigenPairs | null;
}

/** The normal matrix's use: how to form it, and when (defaults NORMAL_MIN_BATCH, NORMAL_AFTER). */
export interface NormalMatrixUse {
  /** G = AᵀWA row-major [N, N], or null where the operator has none */
  form: () => Float32Array | null;
  /** G and its pairs formed already: used from the first product of ≥ minBatch chains (`form` and `after` unused) */
  formed?: FormedNormalMatrix;
  /** batches of at least this many chains use G (default 4) */
  minBatch?: number;
  /** G is formed after this many products of such batches through the operator (default 256) */
  after?: number;
  /** deflate with G's top this many eigenpairs (default DEFLATION_PAIRS; 0: no deflation) */
  deflate?: number;
}

export const NORMAL_MIN_BATCH = 4;
export const NORMAL_AFTER = 256;
/** G's top eigenpairs the deflation preconditioner uses, from twice as many Lanczos steps. */
export const DEFLATION_PAIRS = 100;

/**
 * u G for the rows u [B, N] and a symmetric G [N, N], as (G uᵀ)ᵀ. The wasm backend's matrix product (XNNPACK's
 * fully connected operator) packs its right factor as weights and streams the left one: with G on the left the
 * 64 MB matrix is streamed once per product through a kernel that tiles its 4096 rows, not packed and run with
 * the few chains as rows. Measured on the SLACS-like 64² source (one thread, `process.cpuUsage`): 11.5 against
 * 24.4 ms of CPU for 8 chains, 21 against 49 for 16, 12.6 against 12.5 for 4, the transposes included; the same
 * float32 sums in the same order (identical results in that measurement). One chain (the Lanczos steps) stays
 * u G (8.9 against 13 ms). The transposed product (matMul's transposeB) takes the backend's slow loop: not used.
 */
export function normalProduct(G: tf.Tensor2D, u: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.transpose(tf.matMul(G, tf.transpose(u))));
}

/**
 * A solver's products with its G: on the registered product engine (../../linalg/product-engine.ts) as one graph
 * u·G with G its initializer, built once when G is taken up (no tfjs copy of G is made then: 64 MB fewer on the
 * SLACS-like lens), else as a tfjs tensor through normalProduct. The engine is the one registered when G is taken up.
 */
export class NormalMatrixProducts {
  private constructor(
    readonly n: number,
    private readonly tensor: tf.Tensor2D | null,
    private readonly compiled: CompiledProduct | null,
  ) {}

  static of(matrix: Float32Array, n: number): NormalMatrixProducts {
    const engine = productEngine();
    if (engine) {
      try {
        return new NormalMatrixProducts(n, null, engine.compile(rightProductModel(matrix, n)));
      } catch {
        // the engine cannot build it: tfjs
      }
    }
    // kept: formed while a solve runs, inside the caller's tidy
    return new NormalMatrixProducts(n, tf.keep(tf.tensor2d(matrix, [n, n])), null);
  }

  /** Whether the products run on the product engine. */
  get onEngine(): boolean {
    return this.compiled !== null;
  }

  /** u G for the rows u [B, n]. */
  product(u: tf.Tensor2D): tf.Tensor2D {
    if (this.compiled) {
      const run = this.compiled;
      return tf.tidy(() => tf.tensor2d(run.run(u.dataSync() as Float32Array, u.shape), u.shape));
    }
    return normalProduct(this.tensor!, u);
  }

  dispose(): void {
    this.tensor?.dispose();
    this.compiled?.dispose();
  }
}

/**
 * G by `form` and its top `pairs` eigenpairs (Lanczos, 2·pairs steps, through the backend's float32 product with G,
 * or the product engine's where one is registered — its graph then serves this thread's solver, which adopts G;
 * 0: none); null where `form` gives no matrix. `shared`: G and the eigenvectors in SharedArrayBuffers (cloned into
 * a worker, shared, not copied). The same inputs give the same result bit for bit on a given backend (and product engine), wherever formed.
 */
export function formNormalMatrix(form: () => Float32Array | null, n: number, pairs: number, shared = false): FormedNormalMatrix | null {
  const formed = form();
  if (!formed) return null;
  if (formed.length !== n * n) throw new RangeError(`formNormalMatrix: a normal matrix of ${formed.length} values for ${n} unknowns`);
  let matrix = formed;
  if (shared) {
    matrix = new Float32Array(new SharedArrayBuffer(formed.byteLength));
    matrix.set(formed);
  }
  if (pairs <= 0) return { matrix, pairs: null };
  // on the product engine where one is registered: its graph is then kept for this thread's solver (adopt)
  const engineProducts = productEngine() ? NormalMatrixProducts.of(matrix, n) : null;
  if (engineProducts && !engineProducts.onEngine) {
    engineProducts.dispose();
  } else if (engineProducts) {
    builtProducts.set(matrix, engineProducts);
  }
  const onEngine = engineProducts?.onEngine ? engineProducts : null;
  const Gt = onEngine ? null : tf.tensor2d(matrix, [n, n]);
  try {
    // y ← G x through the backend's (or the engine's) matrix product (float32, G symmetric: xᵀG = (Gx)ᵀ)
    const matVec = (x: Float64Array, y: Float64Array) => {
      const t = tf.tidy(() => {
        const u = tf.tensor2d(Float32Array.from(x), [1, n]);
        return onEngine ? onEngine.product(u) : tf.matMul(u, Gt!);
      });
      y.set(t.dataSync());
      t.dispose();
    };
    const k = Math.min(pairs, n - 1);
    const got = lanczosTopEigenpairs(matVec, n, k, 2 * k);
    if (shared) {
      const vectors = new Float64Array(new SharedArrayBuffer(got.vectors.byteLength));
      vectors.set(got.vectors);
      got.vectors = vectors;
    }
    return { matrix, pairs: got };
  } finally {
    Gt?.dispose();
  }
}

/** Engine graphs of G built by formNormalMatrix in this thread, taken over by the solver that adopts that G. */
const builtProducts = new WeakMap<Float32Array, NormalMatrixProducts>();

export class ConjugateGradientSolver implements LikelihoodSolver {
  readonly method = 'cg';
  description: string;
  readonly stats = noCgStats();
  private readonly tally = new DeviceCgTally();
  private normalProducts: NormalMatrixProducts | null = null;
  /** products of batches of ≥ minBatch chains through the operator so far (while G is not formed) */
  private bigProducts = 0;
  private readonly minBatch: number;
  private readonly after: number;
  private readonly deflatePairs: number;
  private deflation: DeflationPreconditioner | null = null;

  /**
   * `weight`: W = M/σ² on the data grid, [1, my, mx] (lent: the caller disposes it); `meanWeight`: its mean
   * over all pixels, the preconditioner's stand-in for W. The preconditioner is taken over. `normal`: the normal
   * matrix's formation, where the operator has one (see above).
   */
  constructor(
    readonly forward: LinearOperator,
    reason: string,
    private readonly weight: tf.Tensor,
    private readonly meanWeight: number,
    private readonly preconditioner: Preconditioner,
    private readonly options: CgOptions,
    private normal: NormalMatrixUse | null = null,
  ) {
    const { tol, maxIter } = options;
    this.minBatch = normal?.minBatch ?? NORMAL_MIN_BATCH;
    this.after = normal?.after ?? NORMAL_AFTER;
    this.deflatePairs = normal?.deflate ?? DEFLATION_PAIRS;
    const n = forward.inShape[0] * forward.inShape[1];
    const deflated = this.deflatePairs > 0 ? `, and its top ${this.deflatePairs} eigenpairs (Lanczos, ${2 * this.deflatePairs} steps) deflate the system from then on` : '';
    const when = normal?.formed ? 'formed once before the run, shared by the threads, used for the products' : `formed after ${this.after} products`;
    const products = normal ? `; AᵀWA (${n}² matrix) ${when} of ≥ ${this.minBatch} chains, then their products${deflated}` : '';
    this.description = `conjugate gradients (${reason}): relative residual ≤ ${tol}, ≤ ${maxIter} iterations, warm-started; ${preconditioner.description}${products}`;
    // formed already: taken up now, so that the first solve's right-hand side goes through G too (rightHandSide)
    if (normal?.formed) {
      this.normal = null;
      this.adopt(normal.formed, n);
    }
  }

  /** Whether the normal matrix has been formed (and is used for batches of ≥ minBatch chains). */
  get normalFormed(): boolean {
    return this.normalProducts !== null;
  }

  /** Whether G's products run on the registered product engine (once formed). */
  get normalOnEngine(): boolean {
    return this.normalProducts?.onEngine ?? false;
  }

  /** The deflation preconditioner, once G is formed (null before, or with `deflate: 0`). */
  get deflationPreconditioner(): DeflationPreconditioner | null {
    return this.deflation;
  }

  /** G for a batch of `batch` chains: formed once the operator's products have cost about its formation; else null. */
  private normalFor(batch: number): NormalMatrixProducts | null {
    if (batch < this.minBatch) return null;
    // (a G given formed was taken up by the constructor)
    if (!this.normalProducts && this.normal && this.bigProducts >= this.after) {
      const n = this.forward.inShape[0] * this.forward.inShape[1];
      const use = this.normal;
      this.normal = null;
      const formed = formNormalMatrix(use.form, n, this.deflatePairs);
      if (formed) this.adopt(formed, n);
    }
    return this.normalProducts;
  }

  /** Takes G and its pairs into this solver's tensors (G kept for the products, the pairs as the preconditioner). */
  private adopt(formed: FormedNormalMatrix, n: number): void {
    if (formed.matrix.length !== n * n) throw new RangeError(`ConjugateGradientSolver: a normal matrix of ${formed.matrix.length} values for ${n} unknowns`);
    const built = builtProducts.get(formed.matrix);
    builtProducts.delete(formed.matrix);
    this.normalProducts = built ?? NormalMatrixProducts.of(formed.matrix, n);
    const p = formed.pairs;
    if (this.deflatePairs > 0 && p && p.k > 0 && p.values.length > p.k) {
      this.deflation = new DeflationPreconditioner(p.values, p.vectors, p.k, [this.forward.inShape[0], this.forward.inShape[1]]);
    }
  }

  /**
   * Forms G and its top eigenpairs now, in shared memory (SharedArrayBuffer), for other threads' solvers on the same
   * problem whose batches hold `batch` chains and which solve at least `solves` times each (their NormalMatrixUse's
   * `formed`): null where they would not form G themselves — no normal matrix, `batch` below minBatch, or too few
   * solves to reach `after` products through the operator even if every solve ran to the cap (a short run).
   * This solver takes them up too (its own solves, e.g. the run's convergence check, then use them).
   */
  formShared(batch: number, solves: number): FormedNormalMatrix | null {
    if (!this.normal || batch < this.minBatch || solves * (this.options.maxIter + 1) < this.after) return null;
    const n = this.forward.inShape[0] * this.forward.inShape[1];
    const formed = this.normal.formed ?? formNormalMatrix(this.normal.form, n, this.deflatePairs, true);
    this.normal = null;
    if (formed) {
      this.adopt(formed, n);
      this.description = this.description.replace(/formed after \d+ products/, 'formed once before the run, shared by the threads, used for the products');
    }
    return formed;
  }

  solve(r: tf.Tensor, c: number, warm?: CgWarmStart): tf.Tensor {
    return tf.tidy(() => this.solveNormal(this.forward.adjoint(tf.mul(r, this.weight)), c, warm));
  }

  /**
   * The right-hand side AᵀW r of r = M(y' − a A x) through G, AᵀW y' − a G x, where G is formed and used for a batch
   * of this size; else null (the caller takes the residual's way, solve). `atwy`: AᵀW y' [1, ny, nx]. One product
   * with G (11.5 ms of CPU for 8 chains on the SLACS-like lens) in place of the operator and its adjoint (about 69
   * ms there: the PSF's dense DFT filters at the 140² window); the same vector to float32 rounding amplified by
   * |AᵀW y'| / |AᵀW r| (measured in tests/unit/normal-matrix.test.ts and docs/lensing.md). `atwy` is asked for only
   * then (the caller makes and keeps it once: no tensor is made for the problems that never form G).
   */
  rightHandSide(x: tf.Tensor, a: number, atwy: () => tf.Tensor): tf.Tensor | null {
    const batch = x.shape[0]!;
    const G = batch >= this.minBatch ? this.normalProducts : null;
    if (!G) return null;
    return tf.tidy(() => tf.sub(atwy(), tf.mul(tf.reshape(G.product(tf.reshape(x, [batch, G.n])), x.shape), a)));
  }

  /** Solves (I + c AᵀWA) u = b for the right-hand side b = AᵀW r itself [B, ny, nx] (solve, rightHandSide). */
  solveNormal(b: tf.Tensor, c: number, warm?: CgWarmStart): tf.Tensor {
    const op = this.forward;
    const batch = b.shape[0]!;
    const G = this.normalFor(batch);
    const counted = batch >= this.minBatch && this.normal !== null;
    const system: CgSystem = {
      // the chains' rows u [B, N] times G as (G uᵀ)ᵀ (G symmetric): G the left factor (normalProduct)
      apply: G
        ? (u) => tf.add(u, tf.mul(tf.reshape(G.product(tf.reshape(u, [batch, G.n])), u.shape), c))
        : (u) => {
            if (counted) this.bigProducts++;
            return tf.add(u, tf.mul(op.adjoint(tf.mul(op.apply(u), this.weight)), c));
          },
      precondition: this.deflation ? (u) => this.deflation!.apply(u, c) : (u) => this.preconditioner.apply(u, c * this.meanWeight),
    };
    const { tol, maxIter, onDevice } = this.options;
    return tf.tidy(() => {
      const test = onDevice || !syncReadable() ? new DeviceStopping(b, tol, maxIter, this.tally) : new HostStopping(b, tol, maxIter, this.stats);
      return conjugateGradients(system, b, test, warm);
    });
  }

  settle(): Promise<void> {
    return this.tally.settle(this.stats);
  }

  dispose(): void {
    this.normalProducts?.dispose();
    this.normalProducts = null;
    this.deflation?.dispose();
    this.deflation = null;
    this.tally.dispose();
    this.preconditioner.dispose();
  }
}
