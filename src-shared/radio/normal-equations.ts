/**
 * The normal equations of a visibility data set on an image grid — what the visibility likelihood
 * (src-shared/diffusion/visibility-likelihood.ts) needs: the weighted dirty image d = Re(Aᴴ W y), the unnormalised
 * dirty beam k = Re(Aᴴ W 1) at every pixel offset within the image (from the beam on the double grid), yᴴWy,
 * and exact float64 χ² and residual images through the measurement operator A itself.
 */
import type { VisibilityNormalEquations } from '../diffusion/visibility-likelihood.js';
import { chooseMeasurement, type ChooseOptions, type Measurement } from './measurement.js';
import { doubleGrid } from './imaging.js';
import type { ImageGrid } from './grid.js';
import { UserInputError } from '../errors.js';

export interface WeightedVisibilities {
  u: Float64Array;
  v: Float64Array;
  re: Float64Array;
  im: Float64Array;
  /** 1/σ² of each of the real and imaginary parts. */
  weight: Float64Array;
}

/** The visibilities with a positive weight. */
export function usedOnly(v: WeightedVisibilities): WeightedVisibilities {
  const keep: number[] = [];
  for (let k = 0; k < v.u.length; k++) if (v.weight[k] > 0) keep.push(k);
  if (keep.length === v.u.length) return v;
  const pick = (a: Float64Array) => Float64Array.from(keep, (k) => a[k]);
  return { u: pick(v.u), v: pick(v.v), re: pick(v.re), im: pick(v.im), weight: pick(v.weight) };
}

/**
 * A total-flux constraint as a pseudo-visibility at zero spacing: y₀ = flux + 0i at (u, v) = (0, 0) with weight
 * 1/sigma² — the zero-baseline flux of VLBI imagers (difmap's and eht-imaging's total flux). There A x = Σ x, so it
 * adds (flux − Σ x)²/sigma² to χ² (its imaginary part, 0 − 0, adds nothing), w₀ = 1/sigma² to every offset of the
 * beam (K + w₀ 11ᵀ), w₀·flux to every pixel of the dirty image and w₀·flux² to yᴴWy: the likelihood, its noise draws
 * and the exact evaluations take it as any other visibility.
 */
export interface ZeroSpacing {
  /** Jy. */
  flux: number;
  /** Jy: the constraint's standard deviation. */
  sigma: number;
}

/** The visibilities with a positive weight and the zero-spacing pseudo-visibility last. */
export function withZeroSpacing(all: WeightedVisibilities, z: ZeroSpacing): WeightedVisibilities {
  if (!Number.isFinite(z.flux) || !(z.sigma > 0) || !Number.isFinite(z.sigma)) throw new UserInputError(`the total flux constraint needs a finite flux and a positive σ, got ${z.flux} ± ${z.sigma} Jy`);
  const vis = usedOnly(all);
  const m = vis.u.length;
  const add = (a: Float64Array, x: number) => {
    const b = new Float64Array(m + 1);
    b.set(a);
    b[m] = x;
    return b;
  };
  return { u: add(vis.u, 0), v: add(vis.v, 0), re: add(vis.re, z.flux), im: add(vis.im, 0), weight: add(vis.weight, 1 / (z.sigma * z.sigma)) };
}

/**
 * `measurement`, when given, is A on `grid` for the visibilities with a positive weight (a caller that has made it
 * already): the same operator chooseMeasurement would make, so that a file of millions of visibilities is not
 * planned twice.
 */
export function visibilityNormalEquations(all: WeightedVisibilities, grid: ImageGrid, opts: ChooseOptions & { measurement?: Measurement } = {}): VisibilityNormalEquations {
  const vis = usedOnly(all);
  const m = vis.u.length;
  const { nx, ny } = grid;
  const w = vis.weight;
  let used = 0;
  let yWy = 0;
  const yr = new Float64Array(m);
  const yi = new Float64Array(m);
  for (let k = 0; k < m; k++) {
    if (!(w[k] > 0)) continue;
    used++;
    yr[k] = w[k] * vis.re[k];
    yi[k] = w[k] * vis.im[k];
    yWy += w[k] * (vis.re[k] * vis.re[k] + vis.im[k] * vis.im[k]);
  }
  if (used === 0) throw new UserInputError('no visibility with a positive weight');
  const given = opts.measurement;
  if (given && (given.nvis !== m || given.grid.nx !== nx || given.grid.ny !== ny || given.grid.cell !== grid.cell)) {
    throw new Error('visibilityNormalEquations: the measurement given is not A of these visibilities on this grid');
  }
  const A = given ?? chooseMeasurement(vis.u, vis.v, grid, opts);
  const dirty = A.adjoint(yr, yi).re;
  // Re(Aᴴ W 1) on the double grid (centre (ny, nx)), then the offsets −(n−1)…(n−1) about it
  const big = chooseMeasurement(vis.u, vis.v, doubleGrid(grid), opts).adjoint(Float64Array.from(w, (x) => (x > 0 ? x : 0)), new Float64Array(m)).re;
  const bw = 2 * nx - 1;
  const beam = new Float64Array((2 * ny - 1) * bw);
  for (let i = 0; i < 2 * ny - 1; i++) {
    const row = (i + 1) * 2 * nx; // big row ny + (i − (ny − 1))
    for (let j = 0; j < bw; j++) beam[i * bw + j] = big[row + j + 1];
  }
  return { shape: [ny, nx], dirty, beam, yWy, visibilities: used, exact: exactEvaluations(vis, A) };
}

/**
 * What the visibility likelihood needs besides the normal equations, and can only have from the visibilities
 * themselves: exact float64 χ², residual images and the data's noise draws through the measurement operator A of
 * the image grid. A worker thread that is handed the normal equations builds these from the visibilities and A
 * (A's plan is cheap; the dirty image and the beam are not remade).
 */
export function exactEvaluations(all: WeightedVisibilities, A: Measurement): NonNullable<VisibilityNormalEquations['exact']> {
  const vis = usedOnly(all);
  const m = vis.u.length;
  if (A.nvis !== m) throw new Error(`exactEvaluations: the measurement has ${A.nvis} visibilities, the data ${m} with a positive weight`);
  const wPos = Float64Array.from(vis.weight, (x) => (x > 0 ? x : 0));
  const residual = (x: Float32Array) => {
    const ax = A.forward(Float64Array.from(x));
    const rr = new Float64Array(m);
    const ri = new Float64Array(m);
    for (let k = 0; k < m; k++) {
      rr[k] = vis.re[k] - ax.re[k];
      ri[k] = vis.im[k] - ax.im[k];
    }
    return { rr, ri };
  };
  const sqrtW = Float64Array.from(wPos, Math.sqrt);
  return {
    chi2(x) {
      const { rr, ri } = residual(x);
      let s = 0;
      for (let k = 0; k < m; k++) s += wPos[k] * (rr[k] * rr[k] + ri[k] * ri[k]);
      return s;
    },
    noiseImage(zRe, zIm) {
      const yr2 = Float64Array.from(zRe, (z, k) => z * sqrtW[k]);
      const yi2 = Float64Array.from(zIm, (z, k) => z * sqrtW[k]);
      return A.adjoint(yr2, yi2).re;
    },
    residualImage(x) {
      const { rr, ri } = residual(x);
      for (let k = 0; k < m; k++) {
        rr[k] *= wPos[k];
        ri[k] *= wPos[k];
      }
      return A.adjoint(rr, ri).re;
    },
  };
}
