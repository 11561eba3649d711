import * as tf from '@tensorflow/tfjs-core';
import type { Tensor2D, Tensor3D } from '@tensorflow/tfjs-core';
import { BaseOperator } from './base.js';
import type { GramDescription, OperatorStructure, Shape2 } from './types.js';

/**
 * Pixel mask: y = m ⊙ x with m ∈ {0, 1} (1 = observed). The output keeps the shape, zeros where missing.
 * A = Aᵀ = diag(m), A Aᵀ = diag(m²) = diag(m), exactly.
 */
export class MaskOperator extends BaseOperator {
  readonly name = 'mask';
  override readonly structure: OperatorStructure = { kind: 'pixel-diagonal', exact: true };
  readonly mask: Float32Array;
  readonly observed: number;
  private readonly m: Tensor2D;

  constructor(shape: Shape2, mask: ArrayLike<number>) {
    super(shape, shape);
    if (mask.length !== shape[0] * shape[1]) throw new RangeError(`MaskOperator: ${mask.length} values for shape [${shape.join(', ')}]`);
    this.mask = Float32Array.from(mask);
    let n = 0;
    for (const v of this.mask) {
      if (v !== 0 && v !== 1) throw new RangeError(`MaskOperator: mask values must be 0 or 1, got ${v}`);
      n += v;
    }
    this.observed = n;
    this.m = tf.tensor2d(this.mask, shape);
  }

  protected forward(x: Tensor3D): Tensor3D {
    return tf.mul(x, this.m);
  }

  protected backward(y: Tensor3D): Tensor3D {
    return tf.mul(y, this.m);
  }

  gram(): GramDescription {
    return { kind: 'pixel-diagonal', diag: this.mask.slice(), exact: true };
  }

  override gramDiagonal(): Float32Array {
    return this.mask.slice();
  }

  protected release(): void {
    this.m.dispose();
  }
}
