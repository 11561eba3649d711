/**
 * The measurement operator A: image (Jy/pixel, [ny, nx]) → visibilities (Jy), V_k = Σ I e^{−2πi(u_k l + v_k m)}
 * (grid.ts), and its exact adjoint Aᴴ: visibilities → complex image. A visibility likelihood uses `forward` and
 * `adjoint` (or, for Aᴴ W A, the dirty beam: imaging.ts `makeGramOperator`).
 */
import { dftAdjoint, dftForward } from './dft.js';
import { makeNufft, type NufftOptions } from './nufft.js';
import { checkGrid, type Complex, type ImageGrid } from './grid.js';

export type { Complex, ImageGrid } from './grid.js';

export interface Measurement {
  kind: 'dft' | 'nufft';
  grid: ImageGrid;
  nvis: number;
  /** A x for a real (xIm omitted) or complex image. */
  forward(xRe: Float64Array, xIm?: Float64Array): Complex;
  /** Aᴴ y: a complex image; its real part is the adjoint of A restricted to real images (real inner product). */
  adjoint(yRe: Float64Array, yIm: Float64Array): Complex;
}

export function makeDft(u: Float64Array, v: Float64Array, grid: ImageGrid): Measurement {
  checkGrid(grid);
  return {
    kind: 'dft',
    grid,
    nvis: u.length,
    forward: (xRe, xIm) => dftForward(u, v, grid, xRe, xIm),
    adjoint: (yRe, yIm) => dftAdjoint(u, v, grid, yRe, yIm),
  };
}

export function makeNufftMeasurement(u: Float64Array, v: Float64Array, grid: ImageGrid, opts: NufftOptions = {}): Measurement {
  const plan = makeNufft(u, v, grid, opts);
  return { kind: 'nufft', grid, nvis: u.length, forward: plan.forward, adjoint: plan.adjoint };
}

export interface ChooseOptions extends NufftOptions {
  /** Force one method. */
  method?: 'dft' | 'nufft' | 'auto';
  /**
   * The direct sum is chosen when M·N (visibilities × pixels) is below this (default 2·10⁶): below it the DFT
   * costs about as much as the NUFFT's FFT of the oversampled grid and has no approximation.
   */
  workThreshold?: number;
}

/** The DFT for small problems, the NUFFT otherwise. */
export function chooseMeasurement(u: Float64Array, v: Float64Array, grid: ImageGrid, opts: ChooseOptions = {}): Measurement {
  const method = opts.method ?? 'auto';
  const work = u.length * grid.nx * grid.ny;
  if (method === 'dft' || (method === 'auto' && work < (opts.workThreshold ?? 2e6))) return makeDft(u, v, grid);
  return makeNufftMeasurement(u, v, grid, opts);
}
