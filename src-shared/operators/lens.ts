import * as tf from '@tensorflow/tfjs-core';
import type { Tensor3D } from '@tensorflow/tfjs-core';
import { BaseOperator } from './base.js';
import { transposeCsr, SparseTensorMatrix, type CsrMatrix, type SparseStrategy } from './sparse.js';
import type { GramDescription, Shape2 } from './types.js';
import { lensMatrix, type LensGeometry, type LensParams } from './lens-model.js';

export { DEFAULT_LENS, deflection, deflector, sourcePosition, pixelCentre, lensMatrix, type LensParams, type LensGeometry } from './lens-model.js';

/** Strong lensing of a source grid (the unknown) onto the image plane, as a sparse product built once. */
export class LensOperator extends BaseOperator {
  readonly name = 'lens';
  readonly params: LensParams;
  readonly geometry: LensGeometry;
  readonly matrix: CsrMatrix;
  private readonly fwd: SparseTensorMatrix;
  private readonly adj: SparseTensorMatrix;

  constructor(params: LensParams, geometry: LensGeometry, opts: { strategy?: SparseStrategy } = {}) {
    super(geometry.sourceShape, geometry.imageShape);
    this.params = { ...params };
    this.geometry = { ...geometry };
    this.matrix = lensMatrix(params, geometry);
    this.fwd = new SparseTensorMatrix(this.matrix, opts.strategy);
    this.adj = new SparseTensorMatrix(transposeCsr(this.matrix), opts.strategy);
  }

  get strategy(): SparseStrategy {
    return this.fwd.strategy;
  }

  protected forward(x: Tensor3D): Tensor3D {
    return this.product(x, this.fwd, this.outShape);
  }

  protected backward(y: Tensor3D): Tensor3D {
    return this.product(y, this.adj, this.inShape);
  }

  private product(t: Tensor3D, m: SparseTensorMatrix, out: Shape2): Tensor3D {
    return tf.tidy(() => {
      const b = t.shape[0];
      const n = t.shape[1] * t.shape[2];
      const cols = b === 1 ? tf.reshape(t, [n, 1]) : tf.transpose(tf.reshape(t, [b, n]));
      const r = m.multiply(cols as tf.Tensor2D);
      const rows = b === 1 ? r : tf.transpose(r);
      return tf.reshape(rows, [b, out[0], out[1]]);
    });
  }

  /** No usable structure: A Aᵀ of a lens is neither pixel- nor Fourier-diagonal. */
  gram(): GramDescription {
    return { kind: 'none' };
  }

  /** Exact diagonal of A Aᵀ: Σ_j A_ij² per image pixel. */
  override gramDiagonal(): Float32Array {
    const m = this.matrix;
    const out = new Float32Array(m.nRows);
    for (let r = 0; r < m.nRows; r++) {
      let s = 0;
      for (let p = m.rowPtr[r]; p < m.rowPtr[r + 1]; p++) s += m.values[p] * m.values[p];
      out[r] = s;
    }
    return out;
  }

  protected release(): void {
    this.fwd.dispose();
    this.adj.dispose();
  }
}
