import * as tf from '@tensorflow/tfjs-core';
import type { Tensor3D } from '@tensorflow/tfjs-core';
import { BaseOperator } from './base.js';
import { csrFromTriplets, transposeCsr, SparseTensorMatrix, type CsrMatrix, type SparseStrategy } from './sparse.js';
import type { GramDescription, Shape2 } from './types.js';

/** SIE + external shear, angles in arcsec, phi in radians counter-clockwise from +x (DESIGN.md). */
export interface LensParams {
  thetaE: number;
  q: number;
  phi: number;
  x0: number;
  y0: number;
  gamma1: number;
  gamma2: number;
}

export const DEFAULT_LENS: LensParams = { thetaE: 1, q: 1, phi: 0, x0: 0, y0: 0, gamma1: 0, gamma2: 0 };

/** Below this 1 − q the SIE formulas lose digits to cancellation; the SIS limit is used instead. */
const SIS_LIMIT = 1e-10;

/**
 * Deflection α(θ) at (x, y):
 *   x' = c(x−x0) + s(y−y0), y' = −s(x−x0) + c(y−y0), ω = √(q²x'² + y'²), f = √(1−q²),
 *   αx' = b√q/f · atan(f x'/ω), αy' = b√q/f · atanh(f y'/ω) (SIS: α = b (x', y')/r when q = 1),
 * rotated back; shear adds (γ1 dx + γ2 dy, γ2 dx − γ1 dy). α = 0 (plus shear) at the singular centre.
 */
export function deflection(p: LensParams, x: number, y: number, out: [number, number] = [0, 0]): [number, number] {
  const c = Math.cos(p.phi);
  const s = Math.sin(p.phi);
  const dx = x - p.x0;
  const dy = y - p.y0;
  const xp = c * dx + s * dy;
  const yp = -s * dx + c * dy;
  let axp = 0;
  let ayp = 0;
  if (1 - p.q < SIS_LIMIT) {
    const r = Math.sqrt(xp * xp + yp * yp);
    if (r > 0) {
      axp = (p.thetaE * xp) / r;
      ayp = (p.thetaE * yp) / r;
    }
  } else {
    const w = Math.sqrt(p.q * p.q * xp * xp + yp * yp);
    if (w > 0) {
      const f = Math.sqrt(1 - p.q * p.q);
      const pre = (p.thetaE * Math.sqrt(p.q)) / f;
      axp = pre * Math.atan((f * xp) / w);
      ayp = pre * Math.atanh((f * yp) / w);
    }
  }
  out[0] = c * axp - s * ayp + p.gamma1 * dx + p.gamma2 * dy;
  out[1] = s * axp + c * ayp + p.gamma2 * dx - p.gamma1 * dy;
  return out;
}

/** The lens equation β = θ − α(θ). */
export function sourcePosition(p: LensParams, x: number, y: number): [number, number] {
  const a = deflection(p, x, y);
  return [x - a[0], y - a[1]];
}

/** Centre of pixel index i on an axis of n pixels of scale s: (i − (n−1)/2)·s (DESIGN.md). */
export function pixelCentre(i: number, n: number, s: number): number {
  return (i - (n - 1) / 2) * s;
}

export interface LensGeometry {
  sourceShape: Shape2;
  sourcePixelScale: number;
  imageShape: Shape2;
  imagePixelScale: number;
  supersample: number;
}

/**
 * The lensing matrix (rows: image pixels, columns: source pixels). Each image pixel is split into ss²
 * sub-pixels with centres symmetric inside it (offsets ((a + ½)/ss − ½)·s); each sub-pixel's source
 * position samples the source grid bilinearly (neighbours outside the grid contribute zero); the
 * sub-pixels are averaged (weight 1/ss² each). Duplicate (row, column) pairs are summed.
 */
export function lensMatrix(p: LensParams, g: LensGeometry): CsrMatrix {
  const [sny, snx] = g.sourceShape;
  const [my, mx] = g.imageShape;
  const ss = g.supersample;
  const n = my * mx * ss * ss * 4;
  const rows = new Int32Array(n);
  const cols = new Int32Array(n);
  const vals = new Float64Array(n);
  let k = 0;
  const a: [number, number] = [0, 0];
  const wsub = 1 / (ss * ss);
  const off = new Float64Array(ss);
  for (let t = 0; t < ss; t++) off[t] = (t + 0.5) / ss - 0.5;
  for (let i = 0; i < my; i++) {
    for (let j = 0; j < mx; j++) {
      const row = i * mx + j;
      for (let si = 0; si < ss; si++) {
        const y = (i - (my - 1) / 2 + off[si]) * g.imagePixelScale;
        for (let sj = 0; sj < ss; sj++) {
          const x = (j - (mx - 1) / 2 + off[sj]) * g.imagePixelScale;
          deflection(p, x, y, a);
          const fx = (x - a[0]) / g.sourcePixelScale + (snx - 1) / 2;
          const fy = (y - a[1]) / g.sourcePixelScale + (sny - 1) / 2;
          if (!(fx > -1 && fx < snx && fy > -1 && fy < sny)) continue; // all four neighbours outside
          const j0 = Math.floor(fx);
          const i0 = Math.floor(fy);
          const tx = fx - j0;
          const ty = fy - i0;
          const corners: [number, number, number][] = [
            [i0, j0, (1 - ty) * (1 - tx)],
            [i0, j0 + 1, (1 - ty) * tx],
            [i0 + 1, j0, ty * (1 - tx)],
            [i0 + 1, j0 + 1, ty * tx],
          ];
          for (const [ci, cj, w] of corners) {
            if (ci < 0 || cj < 0 || ci >= sny || cj >= snx || w === 0) continue;
            rows[k] = row;
            cols[k] = ci * snx + cj;
            vals[k] = w * wsub;
            k++;
          }
        }
      }
    }
  }
  return csrFromTriplets(my * mx, sny * snx, rows, cols, vals, k);
}

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
