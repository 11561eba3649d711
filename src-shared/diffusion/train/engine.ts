/**
 * Gradient engines: what the training loop asks for each step (the DSM loss and its gradient for a batch at the
 * current parameters). The local engine runs tfjs in this thread; the Node host also has a pool of worker threads
 * (one per core) that each run a local engine on part of the batch.
 */
import * as tf from '@tensorflow/tfjs-core';
import { UnetScoreModel, type UnetArch } from '../nn/unet.js';
import { dsmLoss } from './objectives.js';
import type { Batch } from './data.js';

export interface GradResult {
  /** Mean DSM loss over the batch (per pixel). */
  loss: number;
  /** Mean gradient over the batch, laid out like the parameter vector. */
  grads: Float32Array;
}

export interface GradientEngine {
  /** Number of parallel workers behind it (1 for the local engine). */
  readonly workers: number;
  setParams(values: Float32Array): Promise<void>;
  gradient(batch: Batch): Promise<GradResult>;
  /** Mean DSM loss of a batch at the current parameters (no gradient). */
  loss(batch: Batch): Promise<number>;
  dispose(): Promise<void>;
}

/** Splits a batch into pieces of at most `max` images (contiguous). */
export function splitBatch(b: Batch, max: number): Batch[] {
  if (b.n <= max) return [b];
  const p = b.ny * b.nx;
  const out: Batch[] = [];
  for (let s = 0; s < b.n; s += max) {
    const n = Math.min(max, b.n - s);
    out.push({ n, ny: b.ny, nx: b.nx, x: b.x.subarray(s * p, (s + n) * p), noise: b.noise.subarray(s * p, (s + n) * p), sigma: b.sigma.subarray(s, s + n) });
  }
  return out;
}

/** Splits a batch into `k` nearly equal contiguous parts (for k workers); empty parts are dropped. */
export function partitionBatch(b: Batch, k: number): Batch[] {
  const p = b.ny * b.nx;
  const out: Batch[] = [];
  let s = 0;
  for (let i = 0; i < k; i++) {
    const n = Math.floor(b.n / k) + (i < b.n % k ? 1 : 0);
    if (n === 0) continue;
    out.push({ n, ny: b.ny, nx: b.nx, x: b.x.subarray(s * p, (s + n) * p), noise: b.noise.subarray(s * p, (s + n) * p), sigma: b.sigma.subarray(s, s + n) });
    s += n;
  }
  return out;
}

/**
 * DSM gradients of a U-Net in this thread. Batches larger than `microBatch` are processed in pieces whose
 * gradients are accumulated (bounded memory: the wasm heap is limited to 4 GB).
 */
export class LocalUnetEngine implements GradientEngine {
  readonly workers = 1;
  readonly model: UnetScoreModel;
  private readonly microBatch: number;

  constructor(arch: UnetArch, values: Float32Array, imageShape: [number, number], microBatch = 8) {
    this.model = new UnetScoreModel(arch, values, imageShape);
    this.microBatch = Math.max(1, microBatch);
  }

  async setParams(values: Float32Array): Promise<void> {
    this.model.params.assign(values);
  }

  /** Mean DSM loss of one piece of a batch (call inside a tidy). */
  private pieceLoss(piece: Batch): tf.Scalar {
    const x = tf.tensor3d(piece.x, [piece.n, piece.ny, piece.nx]);
    const z = tf.tensor3d(piece.noise, [piece.n, piece.ny, piece.nx]);
    const s = tf.tensor1d(piece.sigma);
    return dsmLoss((xt, sg) => this.model.forward(xt as tf.Tensor3D, sg), x, z, s);
  }

  async gradient(batch: Batch): Promise<GradResult> {
    const vars = this.model.params.trainable();
    let acc: tf.Tensor1D | null = null;
    let lossAcc: tf.Scalar | null = null;
    try {
      for (const piece of splitBatch(batch, this.microBatch)) {
        const w = piece.n / batch.n;
        const next = tf.tidy(() => {
          const { value, grads } = tf.variableGrads(() => this.pieceLoss(piece), vars);
          const g = tf.mul(this.model.params.gradsToFlat(grads), w) as tf.Tensor1D;
          const l = tf.mul(value, w) as tf.Scalar;
          return { g: acc ? (tf.add(acc, g) as tf.Tensor1D) : g, l: lossAcc ? (tf.add(lossAcc, l) as tf.Scalar) : l };
        });
        acc?.dispose();
        lossAcc?.dispose();
        acc = next.g;
        lossAcc = next.l;
      }
      // one asynchronous read-back per batch (GPU backends cannot read synchronously)
      const [grads, loss] = await Promise.all([acc!.data() as Promise<Float32Array>, lossAcc!.data()]);
      return { loss: loss[0], grads };
    } finally {
      acc?.dispose();
      lossAcc?.dispose();
    }
  }

  async loss(batch: Batch): Promise<number> {
    let sum = 0;
    for (const piece of splitBatch(batch, this.microBatch)) {
      const v = tf.tidy(() => this.pieceLoss(piece));
      sum += (await v.data())[0] * piece.n;
      v.dispose();
    }
    return sum / batch.n;
  }

  async dispose(): Promise<void> {
    this.model.dispose();
  }
}
