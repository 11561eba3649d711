/**
 * Preconditioned conjugate gradients for a batch of independent symmetric positive-definite systems
 * M u_b = b_b (one per chain, each with its own step lengths), written once for both ways of deciding when to
 * stop:
 *  - on the host (`HostStopping`): the residual norms are read back before every iteration, and the loop ends as
 *    soon as every chain's relative residual is ≤ tol (or after maxIter iterations);
 *  - on the device (`DeviceStopping`), where a synchronous read is not possible (tfjs-webgpu in Node,
 *    ../readback.ts): it always runs maxIter iterations, and a chain whose residual has reached tol of its ‖b‖
 *    stops moving (step length 0, direction and ⟨r, z⟩ kept), so every chain ends within the same tolerance as
 *    on the host, at the price of the iterations a converged batch would have skipped. The statistics stay on the device
 *    (`DeviceCgTally`) until settle().
 */
import * as tf from '@tensorflow/tfjs-core';
import { readAndDispose } from '../readback.js';
import type { CgStats, CgWarmStart } from './solver.js';

/** The system to solve: M (symmetric positive definite) and P ≈ M⁻¹; pure tensor functions on [B, ny, nx]. */
export interface CgSystem {
  apply(u: tf.Tensor): tf.Tensor;
  precondition(u: tf.Tensor): tf.Tensor;
}

/** How a solve decides when to stop, and what it records. */
export interface StoppingTest {
  /**
   * Before iteration `it` (0: before the first), given the current residual: 'stop', or which chains move in
   * this iteration — 'all', or those where a [B, 1, 1] boolean tensor (which the loop disposes) is true.
   */
  before(r: tf.Tensor, it: number): 'stop' | 'all' | tf.Tensor;
  /** After the last iteration (`iterations` done): record the solve; frees what the test holds. */
  finish(r: tf.Tensor, iterations: number): void;
}

const dot = (p: tf.Tensor, q: tf.Tensor): tf.Tensor => tf.sum(tf.mul(p, q), [1, 2], true);
const norm = (v: tf.Tensor): tf.Tensor => tf.sqrt(tf.sum(tf.square(v), [1, 2], true));

/**
 * Solves M u = b for b [B, ny, nx], starting from `warm`'s previous solution of the same chains (else 0) and
 * leaving the new one there. Returns u; everything else it made is freed.
 */
export function conjugateGradients(system: CgSystem, b: tf.Tensor, test: StoppingTest, warm?: CgWarmStart): tf.Tensor {
  const batch = b.shape[0];
  let u = warm?.v && warm.v.shape[0] === batch ? tf.clone(warm.v) : tf.zerosLike(b);
  let r = tf.tidy(() => tf.sub(b, system.apply(u)));
  let p = tf.tidy(() => system.precondition(r));
  let rz = tf.tidy(() => dot(r, p));
  let it = 0;
  for (;;) {
    const moving = test.before(r, it);
    if (moving === 'stop') break;
    const active = moving === 'all' ? null : moving;
    const next = tf.tidy(() => {
      const q = system.apply(p);
      const pq = dot(p, q);
      const steps = active ? tf.logicalAnd(active, tf.greater(pq, 0)) : tf.greater(pq, 0);
      const alpha = tf.where(steps, tf.div(rz, tf.maximum(pq, 1e-30)), tf.zerosLike(pq));
      const u2 = tf.add(u, tf.mul(alpha, p));
      const r2 = tf.sub(r, tf.mul(alpha, q));
      const z2 = system.precondition(r2);
      const rzNew = dot(r2, z2);
      const beta = tf.where(tf.greater(rz, 0), tf.div(rzNew, tf.maximum(rz, 1e-30)), tf.zerosLike(rz));
      const pNew = tf.add(z2, tf.mul(beta, p));
      if (!active) return { u2, r2, p2: pNew, rz2: rzNew };
      // a frozen chain keeps its direction and ⟨r, z⟩ (its residual no longer changes: α = 0)
      return { u2, r2, p2: tf.where(tf.broadcastTo(active, p.shape), pNew, p), rz2: tf.where(active, rzNew, rz) };
    });
    active?.dispose();
    for (const t of [u, r, p, rz]) t.dispose();
    ({ u2: u, r2: r, p2: p, rz2: rz } = next);
    it++;
  }
  test.finish(r, it);
  for (const t of [r, p, rz]) t.dispose();
  if (warm) {
    warm.v?.dispose();
    warm.v = tf.keep(tf.clone(u));
  }
  return u;
}

/**
 * Reads each chain's ‖r‖ back before every iteration; stops when the largest ‖r‖/‖b‖ is ≤ tol or after maxIter
 * iterations, and counts the solve into `stats`. With `perChain`, a chain whose own ‖r‖/‖b‖ is ≤ tol stops
 * moving while the others go on (as on the device): each chain then takes the iterations it would take alone, so
 * its solution does not depend on which chains share its batch (a seed's samples, whatever --batch and --workers).
 */
export class HostStopping implements StoppingTest {
  private readonly bNorm: Float32Array;
  private rel = 0;

  constructor(
    b: tf.Tensor,
    private readonly tol: number,
    private readonly maxIter: number,
    private readonly stats: CgStats,
    private readonly perChain = false,
  ) {
    this.bNorm = readNorms(b);
  }

  before(r: tf.Tensor, it: number): 'stop' | 'all' | tf.Tensor {
    const rn = readNorms(r);
    let worst = 0;
    const rel = new Float32Array(rn.length);
    for (let i = 0; i < rn.length; i++) {
      rel[i] = this.bNorm[i] > 0 ? rn[i] / this.bNorm[i] : 0;
      worst = Math.max(worst, rel[i]);
    }
    this.rel = worst;
    if (!(worst > this.tol && it < this.maxIter)) return 'stop';
    if (!this.perChain || rel.every((v) => v > this.tol)) return 'all';
    return tf.tensor3d(Array.from(rel, (v) => v > this.tol), [rel.length, 1, 1], 'bool');
  }

  finish(_r: tf.Tensor, iterations: number): void {
    this.stats.solves++;
    this.stats.iterations += iterations;
    if (this.rel > this.tol) this.stats.capped++;
    this.stats.maxRelResidual = Math.max(this.stats.maxRelResidual, this.rel);
  }
}

function readNorms(v: tf.Tensor): Float32Array {
  const t = tf.tidy(() => tf.sqrt(tf.sum(tf.square(v), [1, 2])));
  const out = t.dataSync() as Float32Array;
  t.dispose();
  return out;
}

/**
 * Nothing read back: always maxIter iterations, each moving only the chains whose ‖r‖ is still above tol·‖b‖;
 * the solve's statistics go to `tally` on the device.
 */
export class DeviceStopping implements StoppingTest {
  private readonly bNorm: tf.Tensor; // [B, 1, 1]
  private readonly limit: tf.Tensor;
  /** Iterations in which some chain still moved. */
  private moved: tf.Tensor = tf.scalar(0);

  constructor(
    b: tf.Tensor,
    private readonly tol: number,
    private readonly maxIter: number,
    private readonly tally: DeviceCgTally,
  ) {
    this.bNorm = tf.tidy(() => norm(b));
    this.limit = tf.mul(this.bNorm, tol);
  }

  before(r: tf.Tensor, it: number): 'stop' | tf.Tensor {
    if (it >= this.maxIter) return 'stop';
    const active = tf.tidy(() => tf.greater(norm(r), this.limit));
    const moved = tf.tidy(() => tf.add(this.moved, tf.cast(tf.any(active), 'float32')));
    this.moved.dispose();
    this.moved = moved;
    return active;
  }

  finish(r: tf.Tensor): void {
    this.tally.add(
      tf.tidy(() => {
        const bNorm = this.bNorm;
        const rel = tf.max(tf.where(tf.greater(bNorm, 0), tf.div(norm(r), tf.maximum(bNorm, 1e-30)), tf.zerosLike(bNorm)));
        const capped = tf.cast(tf.greater(rel, this.tol), 'float32');
        return tf.stack([this.moved, capped, rel]) as tf.Tensor1D;
      }),
    );
    for (const t of [this.bNorm, this.limit, this.moved]) t.dispose();
  }
}

/** Device-side running statistics of the solves: [iterations, capped solves, largest relative residual]. */
export class DeviceCgTally {
  private pending: tf.Tensor1D | null = null;
  private solves = 0;

  /** Adds one solve's [iterations, capped, relative residual] (the tensor is taken over). */
  add(solve: tf.Tensor1D): void {
    const next = tf.tidy(() => {
      const prev = this.pending ?? tf.zeros([3]);
      // running sums of the first two entries, the running maximum of the third
      return tf.where(tf.tensor1d([true, true, false], 'bool'), tf.add(prev, solve), tf.maximum(prev, solve)) as tf.Tensor1D;
    });
    solve.dispose();
    this.pending?.dispose();
    this.pending = tf.keep(next);
    this.solves++;
  }

  /** Adds what has been counted since the last call to `stats`. */
  async settle(stats: CgStats): Promise<void> {
    const t = this.pending;
    if (!t) return;
    const solves = this.solves;
    this.pending = null;
    this.solves = 0;
    const [iterations, capped, rel] = await readAndDispose(t);
    stats.solves += solves;
    stats.iterations += Math.round(iterations!);
    stats.capped += Math.round(capped!);
    stats.maxRelResidual = Math.max(stats.maxRelResidual, rel!);
  }

  dispose(): void {
    this.pending?.dispose();
    this.pending = null;
  }
}
