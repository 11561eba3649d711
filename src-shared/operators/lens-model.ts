import { growCsrBuffers, type CsrMatrix } from './csr.js';
import type { Shape2 } from './types.js';
import { eplDeflectionLocal } from './epl.js';

// The lens model's arithmetic (deflection, ray shooting, the lensing matrix): float64, free of tfjs, so that
// the lens fit (src-shared/lensing/) and the UI can use it without a tensor backend. The operator is lens.ts.

/**
 * SIE (or EPL) + external shear, angles in arcsec, phi in radians counter-clockwise from +x
 * (docs/forward-models.md). `gamma` is the EPL's slope (convergence ∝ R^(1−γ)); absent (or 2): the SIE.
 */
export interface LensParams {
  thetaE: number;
  q: number;
  phi: number;
  x0: number;
  y0: number;
  gamma1: number;
  gamma2: number;
  gamma?: number;
}

/** Whether the parameters describe an EPL other than the SIE (a slope given and not 2). */
export const isEpl = (p: LensParams): boolean => p.gamma !== undefined && p.gamma !== 2;

export const DEFAULT_LENS: LensParams = { thetaE: 1, q: 1, phi: 0, x0: 0, y0: 0, gamma1: 0, gamma2: 0 };

/** Below this 1 − q the SIE formulas lose digits to cancellation; the SIS limit is used instead. */
const SIS_LIMIT = 1e-10;

/**
 * Deflection α(θ) at (x, y):
 *   x' = c(x−x0) + s(y−y0), y' = −s(x−x0) + c(y−y0), ω = √(q²x'² + y'²), f = √(1−q²),
 *   αx' = b√q/f · atan(f x'/ω), αy' = b√q/f · atanh(f y'/ω) (SIS: α = b (x', y')/r when q = 1),
 * rotated back; shear adds (γ1 dx + γ2 dy, γ2 dx − γ1 dy). α = 0 (plus shear) at the singular centre.
 * With a slope γ ≠ 2 the lens-frame deflection is the EPL's (epl.ts), with the same θE, q, φ, centre and shear.
 */
export function deflection(p: LensParams, x: number, y: number, out: [number, number] = [0, 0]): [number, number] {
  return deflector(p)(x, y, out);
}

/** deflection() with the lens constants precomputed: for evaluating many rays. */
export function deflector(p: LensParams): (x: number, y: number, out: [number, number]) => [number, number] {
  const c = Math.cos(p.phi);
  const s = Math.sin(p.phi);
  const { x0, y0, gamma1: g1, gamma2: g2, thetaE: b, q } = p;
  const epl = isEpl(p);
  const gamma = p.gamma ?? 2;
  const loc: [number, number] = [0, 0];
  const sis = 1 - q < SIS_LIMIT;
  const f = sis ? 0 : Math.sqrt(1 - q * q);
  const pre = sis ? 0 : (b * Math.sqrt(q)) / f;
  const q2 = q * q;
  return (x, y, out) => {
    const dx = x - x0;
    const dy = y - y0;
    const xp = c * dx + s * dy;
    const yp = -s * dx + c * dy;
    let axp = 0;
    let ayp = 0;
    if (epl) {
      eplDeflectionLocal(b, q, gamma, xp, yp, loc);
      axp = loc[0];
      ayp = loc[1];
    } else if (sis) {
      const r = Math.sqrt(xp * xp + yp * yp);
      if (r > 0) {
        axp = (b * xp) / r;
        ayp = (b * yp) / r;
      }
    } else {
      const w = Math.sqrt(q2 * xp * xp + yp * yp);
      if (w > 0) {
        axp = pre * Math.atan((f * xp) / w);
        ayp = pre * Math.atanh((f * yp) / w);
      }
    }
    out[0] = c * axp - s * ayp + g1 * dx + g2 * dy;
    out[1] = s * axp + c * ayp + g2 * dx - g1 * dy;
    return out;
  };
}

/** The lens equation β = θ − α(θ). */
export function sourcePosition(p: LensParams, x: number, y: number): [number, number] {
  const a = deflection(p, x, y);
  return [x - a[0], y - a[1]];
}

/** Centre of pixel index i on an axis of n pixels of scale s: (i − (n−1)/2)·s (docs/forward-models.md). */
export function pixelCentre(i: number, n: number, s: number): number {
  return (i - (n - 1) / 2) * s;
}

export interface LensGeometry {
  sourceShape: Shape2;
  sourcePixelScale: number;
  imageShape: Shape2;
  imagePixelScale: number;
  supersample: number;
  /** only these image pixels' rows (non-zero entries; length my·mx); the others are left empty (default: every row) */
  rows?: ArrayLike<number>;
  /**
   * The image grid is a window of a larger grid (a crop, window.ts): its pixel (i, j) is the larger grid's pixel
   * (i + y0, j + x0), with that grid's centres, so its rows equal the larger grid's rows (default: the whole grid).
   */
  window?: { y0: number; x0: number; fullShape: Shape2 };
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
  const per = ss * ss * 4;
  const nRows = my * mx;
  const rowPtr = new Int32Array(nRows + 1);
  let colIdx = new Int32Array(Math.min(nRows * per, 1 << 20));
  let values = new Float64Array(colIdx.length);
  let nnz = 0;
  const bc = new Int32Array(per);
  const bv = new Float64Array(per);
  const a: [number, number] = [0, 0];
  const wsub = 1 / (ss * ss);
  const off = new Float64Array(ss);
  for (let t = 0; t < ss; t++) off[t] = (t + 0.5) / ss - 0.5;
  const cx = (snx - 1) / 2;
  const cy = (sny - 1) / 2;
  const defl = deflector(p);
  const inv = 1 / g.sourcePixelScale;
  const wy = g.window?.y0 ?? 0;
  const wx = g.window?.x0 ?? 0;
  const [gy, gx] = g.window?.fullShape ?? g.imageShape;
  for (let i = 0; i < my; i++) {
    for (let j = 0; j < mx; j++) {
      if (g.rows && !g.rows[i * mx + j]) {
        rowPtr[i * mx + j + 1] = nnz;
        continue;
      }
      // the row's entries: ss² sub-pixels × 4 bilinear corners
      let k = 0;
      for (let si = 0; si < ss; si++) {
        const y = (i + wy - (gy - 1) / 2 + off[si]) * g.imagePixelScale;
        for (let sj = 0; sj < ss; sj++) {
          const x = (j + wx - (gx - 1) / 2 + off[sj]) * g.imagePixelScale;
          defl(x, y, a);
          const fx = (x - a[0]) * inv + cx;
          const fy = (y - a[1]) * inv + cy;
          if (!(fx > -1 && fx < snx && fy > -1 && fy < sny)) continue; // all four neighbours outside
          const j0 = Math.floor(fx);
          const i0 = Math.floor(fy);
          const tx = fx - j0;
          const ty = fy - i0;
          const base = i0 * snx + j0;
          const inX0 = j0 >= 0;
          const inX1 = j0 + 1 < snx;
          if (i0 >= 0) {
            if (inX0 && tx < 1 && ty < 1) {
              bc[k] = base;
              bv[k++] = (1 - ty) * (1 - tx) * wsub;
            }
            if (inX1 && tx > 0 && ty < 1) {
              bc[k] = base + 1;
              bv[k++] = (1 - ty) * tx * wsub;
            }
          }
          if (i0 + 1 < sny) {
            if (inX0 && tx < 1 && ty > 0) {
              bc[k] = base + snx;
              bv[k++] = ty * (1 - tx) * wsub;
            }
            if (inX1 && tx > 0 && ty > 0) {
              bc[k] = base + snx + 1;
              bv[k++] = ty * tx * wsub;
            }
          }
        }
      }
      // sort by column (insertion sort: k ≤ 4·ss²), merge duplicates
      for (let q = 1; q < k; q++) {
        const c = bc[q];
        const v = bv[q];
        let r = q - 1;
        while (r >= 0 && bc[r] > c) {
          bc[r + 1] = bc[r];
          bv[r + 1] = bv[r];
          r--;
        }
        bc[r + 1] = c;
        bv[r + 1] = v;
      }
      ({ colIdx, values } = growCsrBuffers(colIdx, values, nnz, nnz + k));
      const rowStart = nnz;
      for (let q = 0; q < k; q++) {
        if (nnz > rowStart && colIdx[nnz - 1] === bc[q]) values[nnz - 1] += bv[q];
        else {
          colIdx[nnz] = bc[q];
          values[nnz] = bv[q];
          nnz++;
        }
      }
      rowPtr[i * mx + j + 1] = nnz;
    }
  }
  return { nRows, nCols: sny * snx, rowPtr, colIdx: colIdx.slice(0, nnz), values: values.slice(0, nnz) };
}
