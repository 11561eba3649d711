import * as tf from '@tensorflow/tfjs-core';
import type { Tensor3D } from '@tensorflow/tfjs-core';
import { BaseOperator, shapeStr } from './base.js';
import type { GramDescription, LinearOperator, OperatorStructure, Shape2, StructuredOperator } from './types.js';

/** The identity on a grid: the forward model of plain denoising (an empty operator list). */
export class IdentityOperator extends BaseOperator {
  readonly name = 'identity';
  override readonly structure: OperatorStructure = { kind: 'pixel-diagonal', exact: true };

  constructor(shape: Shape2) {
    super(shape, shape);
  }

  protected forward(x: Tensor3D): Tensor3D {
    return tf.clone(x);
  }

  protected backward(y: Tensor3D): Tensor3D {
    return tf.clone(y);
  }

  gram(): GramDescription {
    return { kind: 'pixel-diagonal', diag: new Float32Array(this.outShape[0] * this.outShape[1]).fill(1), exact: true };
  }

  override gramDiagonal(): Float32Array {
    return new Float32Array(this.outShape[0] * this.outShape[1]).fill(1);
  }

  protected release(): void {}
}

/**
 * A = A_n ∘ … ∘ A_1 (operators apply in the given order); Aᵀ = A_1ᵀ ∘ … ∘ A_nᵀ.
 * gram(): a single stage's own description; several stages that are all diagonal in the same basis on the
 * same grid (masks; uv samplings / PSFs) multiply their diagonals — exact when every stage is —
 * otherwise 'none'. The chain owns its stages: dispose() disposes them.
 */
export class ChainOperator extends BaseOperator {
  readonly name: string;
  readonly stages: readonly StructuredOperator[];
  declare readonly structure?: OperatorStructure;

  constructor(stages: StructuredOperator[]) {
    if (stages.length === 0) throw new RangeError('ChainOperator: no stages');
    for (let i = 1; i < stages.length; i++) {
      const a = stages[i - 1].outShape;
      const b = stages[i].inShape;
      if (a[0] !== b[0] || a[1] !== b[1]) {
        throw new RangeError(
          `ChainOperator: stage ${i} (${stages[i].name}) expects ${shapeStr(b)} but stage ${i - 1} (${stages[i - 1].name}) gives ${shapeStr(a)}`,
        );
      }
    }
    super(stages[0].inShape, stages[stages.length - 1].outShape);
    this.stages = stages;
    this.name = stages.map((s) => s.name).join('→');
    const kinds = new Set(stages.map((s) => s.structure?.kind));
    if (kinds.size === 1 && !kinds.has(undefined) && stages.every((s) => sameShape(s.inShape, s.outShape))) {
      this.structure = { kind: stages[0].structure!.kind, exact: stages.every((s) => s.structure!.exact) };
    }
  }

  protected forward(x: Tensor3D): Tensor3D {
    return tf.tidy(() => {
      let t: tf.Tensor = x;
      for (const s of this.stages) t = s.apply(t);
      return t as Tensor3D;
    });
  }

  protected backward(y: Tensor3D): Tensor3D {
    return tf.tidy(() => {
      let t: tf.Tensor = y;
      for (let i = this.stages.length - 1; i >= 0; i--) t = this.stages[i].adjoint(t);
      return t as Tensor3D;
    });
  }

  gram(): GramDescription {
    if (this.stages.length === 1) return this.stages[0].gram();
    if (!this.structure) return { kind: 'none' };
    // A = Π D_i in one basis: A Aᵀ = Π D_i D_iᵀ = Π gram_i (diagonals multiply)
    const grams = this.stages.map((s) => s.gram());
    if (grams.some((g) => g.kind !== this.structure!.kind)) return { kind: 'none' };
    const diag = (grams[0] as { diag: Float32Array }).diag.slice();
    for (const g of grams.slice(1)) {
      const d = (g as { diag: Float32Array }).diag;
      for (let i = 0; i < diag.length; i++) diag[i] *= d[i];
    }
    const exact = grams.every((g) => (g as { exact: boolean }).exact);
    if (this.structure.kind === 'pixel-diagonal') return exact ? { kind: 'pixel-diagonal', diag, exact: true } : { kind: 'none' };
    return { kind: 'fourier-diagonal', diag, exact };
  }

  /**
   * Exact diagonal of A Aᵀ where it follows from the parts: a single stage's, or a last-stage mask (or
   * identity) times the diagonal of the rest: diag(M B Bᵀ M) = m² ⊙ diag(B Bᵀ).
   */
  override gramDiagonal(): Float32Array | undefined {
    return new ChainOperatorView(this.stages).gramDiagonal();
  }

  /**
   * The output pixels the chain reaches: the non-zero pattern of its exact A Aᵀ diagonal where that is known;
   * else, for a chain ending in an exact pixel-diagonal stage (a mask), that stage's zeros (and the rest's, where
   * known): row i of M B is m_i times row i of B, zero where m_i is, whatever B is (lens → psf → mask).
   */
  override outputSupport(): Uint8Array | undefined {
    return new ChainOperatorView(this.stages).outputSupport();
  }

  protected release(): void {
    for (const s of this.stages) s.dispose();
  }
}

/** gramDiagonal of a sub-chain without owning or allocating tensors. */
class ChainOperatorView {
  constructor(private readonly stages: readonly StructuredOperator[]) {}
  gramDiagonal(): Float32Array | undefined {
    if (this.stages.length === 1) return this.stages[0].gramDiagonal?.();
    const last = this.stages[this.stages.length - 1];
    if (last.structure?.kind !== 'pixel-diagonal' || !last.structure.exact) return undefined;
    const g = last.gram();
    const rest = new ChainOperatorView(this.stages.slice(0, -1)).gramDiagonal();
    if (g.kind !== 'pixel-diagonal' || !rest) return undefined;
    return Float32Array.from(rest, (v, i) => v * g.diag[i] * g.diag[i]);
  }
  outputSupport(): Uint8Array | undefined {
    const d = this.gramDiagonal();
    if (d) return Uint8Array.from(d, (v) => (v !== 0 ? 1 : 0));
    if (this.stages.length === 1) return this.stages[0].outputSupport?.();
    const last = this.stages[this.stages.length - 1];
    if (last.structure?.kind !== 'pixel-diagonal' || !last.structure.exact) return undefined;
    const g = last.gram();
    if (g.kind !== 'pixel-diagonal') return undefined;
    const rest = new ChainOperatorView(this.stages.slice(0, -1)).outputSupport();
    return Uint8Array.from(g.diag, (v, i) => (v !== 0 && (!rest || rest[i] !== 0) ? 1 : 0));
  }
}

function sameShape(a: Shape2, b: Shape2): boolean {
  return a[0] === b[0] && a[1] === b[1];
}

/** Composes operators (applied in order). A single operator is returned as a one-stage chain. */
export function compose(...ops: LinearOperator[]): ChainOperator {
  return new ChainOperator(ops as StructuredOperator[]);
}
