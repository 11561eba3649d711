import * as tf from '@tensorflow/tfjs-core';
import type { Tensor, Tensor3D } from '@tensorflow/tfjs-core';
import type { GramDescription, OperatorStructure, Shape2, StructuredOperator } from './types.js';
import { OperatorInputError } from './errors.js';

export function shapeStr(s: readonly number[]): string {
  return `[${s.join(', ')}]`;
}

/**
 * Common frame of every operator: shape checks, an optional unbatched [ny, nx] form, and gradients.
 * apply and adjoint are registered with tf.customGrad so that autodiff through them (DPS) uses the
 * exact adjoint as the vector–Jacobian product, whatever ops the implementation uses internally.
 */
export abstract class BaseOperator implements StructuredOperator {
  abstract readonly name: string;
  readonly structure?: OperatorStructure;
  private disposed = false;
  private readonly applyFn: (x: Tensor) => Tensor;
  private readonly adjointFn: (y: Tensor) => Tensor;

  constructor(
    readonly inShape: Shape2,
    readonly outShape: Shape2,
  ) {
    const fwd = (x: Tensor) => ({
      value: this.forward(x as Tensor3D) as Tensor,
      gradFunc: (dy: Tensor) => this.backward(dy as Tensor3D) as Tensor,
    });
    const bwd = (y: Tensor) => ({
      value: this.backward(y as Tensor3D) as Tensor,
      gradFunc: (dx: Tensor) => this.forward(dx as Tensor3D) as Tensor,
    });
    this.applyFn = tf.customGrad(fwd as unknown as Parameters<typeof tf.customGrad>[0]) as (x: Tensor) => Tensor;
    this.adjointFn = tf.customGrad(bwd as unknown as Parameters<typeof tf.customGrad>[0]) as (y: Tensor) => Tensor;
  }

  /** [B, ...inShape] → [B, ...outShape] (float32). */
  protected abstract forward(x: Tensor3D): Tensor3D;
  /** [B, ...outShape] → [B, ...inShape]: the exact transpose of forward. */
  protected abstract backward(y: Tensor3D): Tensor3D;
  abstract gram(): GramDescription;
  protected abstract release(): void;

  gramDiagonal(): Float32Array | undefined {
    return undefined;
  }

  /** The output pixels A reaches (StructuredOperator.outputSupport): by default the non-zero pattern of gramDiagonal. */
  outputSupport(): Uint8Array | undefined {
    const d = this.gramDiagonal();
    return d ? Uint8Array.from(d, (v) => (v !== 0 ? 1 : 0)) : undefined;
  }

  apply(x: Tensor): Tensor {
    return this.run(x, this.inShape, 'apply', this.applyFn);
  }

  adjoint(y: Tensor): Tensor {
    return this.run(y, this.outShape, 'adjoint', this.adjointFn);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.release();
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  private run(t: Tensor, expect: Shape2, what: string, fn: (x: Tensor) => Tensor): Tensor {
    if (this.disposed) throw new Error(`${this.name}: ${what} called after dispose()`);
    const s = t.shape;
    const ok =
      (s.length === 3 && s[1] === expect[0] && s[2] === expect[1]) ||
      (s.length === 2 && s[0] === expect[0] && s[1] === expect[1]);
    if (!ok) {
      throw new OperatorInputError(`${this.name}: ${what} expects [B, ${expect[0]}, ${expect[1]}], got ${shapeStr(s)}`);
    }
    if (t.dtype !== 'float32') throw new OperatorInputError(`${this.name}: ${what} expects float32, got ${t.dtype}`);
    if (s.length === 2) {
      return tf.tidy(() => {
        const r = fn(tf.reshape(t, [1, s[0], s[1]]));
        return tf.reshape(r, r.shape.slice(1));
      });
    }
    return fn(t);
  }
}
