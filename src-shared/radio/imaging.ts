/**
 * Dirty image, dirty beam, the image-plane Gram operator and the default image geometry.
 *
 * With imaging weights w_k: dirty image I_D = Re(Aᴴ (w ⊙ V)) / Σw (Jy/beam: a point source of S Jy at a pixel
 * centre peaks at S), dirty beam B = Re(Aᴴ w) / Σw (peak 1 at the phase centre pixel (⌊ny/2⌋, ⌊nx/2⌋)).
 * Re(Aᴴ W A) x = (Σw · B₂) ⊛ x exactly, with B₂ the beam on a grid twice the image's size: the Toeplitz
 * structure a visibility likelihood can use instead of two NUFFTs per product.
 */
import { fft2 as fft2d } from './fft2.js';
import { UserInputError } from '../errors.js';
import { chooseMeasurement, type ChooseOptions, type Measurement } from './measurement.js';
import { checkGrid, type ImageGrid } from './grid.js';

/** Re(Aᴴ (w ⊙ V)) / Σw. */
export function dirtyImage(A: Measurement, re: Float64Array, im: Float64Array, w: Float64Array): Float64Array {
  let sw = 0;
  const yr = new Float64Array(w.length);
  const yi = new Float64Array(w.length);
  for (let k = 0; k < w.length; k++) {
    sw += w[k];
    yr[k] = w[k] * re[k];
    yi[k] = w[k] * im[k];
  }
  if (!(sw > 0)) throw new UserInputError('the imaging weights sum to zero: no visibility to image');
  const x = A.adjoint(yr, yi).re;
  for (let i = 0; i < x.length; i++) x[i] /= sw;
  return x;
}

/** The dirty beam on `grid`, peak 1 at (⌊ny/2⌋, ⌊nx/2⌋). */
export function dirtyBeam(u: Float64Array, v: Float64Array, w: Float64Array, grid: ImageGrid, opts: ChooseOptions = {}): Float64Array {
  return dirtyImage(chooseMeasurement(u, v, grid, opts), Float64Array.from(w, () => 1), new Float64Array(w.length), w);
}

/** The beam on the grid twice the image's size (centre (ny, nx)): what CLEAN subtracts anywhere in the image. */
export function doubleGrid(grid: ImageGrid): ImageGrid {
  return { nx: 2 * grid.nx, ny: 2 * grid.ny, cell: grid.cell };
}

/** The central ny × nx crop of a beam on the double grid, the centres aligned. */
export function cropBeam(big: Float64Array, grid: ImageGrid): Float64Array {
  const { nx, ny } = grid;
  const ox = nx - Math.floor(nx / 2);
  const oy = ny - Math.floor(ny / 2);
  const out = new Float64Array(nx * ny);
  for (let y = 0; y < ny; y++) for (let x = 0; x < nx; x++) out[y * nx + x] = big[(y + oy) * 2 * nx + x + ox];
  return out;
}

/**
 * x ↦ Re(Aᴴ W A) x for real images, by FFT convolution with the beam on the double grid (exact up to the
 * measurement's own accuracy): the Gram operator of a weighted visibility likelihood.
 */
export function makeGramOperator(u: Float64Array, v: Float64Array, w: Float64Array, grid: ImageGrid, opts: ChooseOptions = {}): (x: Float64Array) => Float64Array {
  checkGrid(grid);
  const { nx, ny } = grid;
  const Nx = 2 * nx;
  const Ny = 2 * ny;
  let sw = 0;
  for (const x of w) sw += x;
  const big = dirtyBeam(u, v, w, doubleGrid(grid), opts);
  // kernel in FFT layout: displacement (dy, dx) at ((dy mod Ny), (dx mod Nx)); big's centre is (ny, nx)
  const kr = new Float64Array(Nx * Ny);
  const ki = new Float64Array(Nx * Ny);
  for (let y = 0; y < Ny; y++) {
    for (let x = 0; x < Nx; x++) {
      const dy = (((y - ny) % Ny) + Ny) % Ny;
      const dx = (((x - nx) % Nx) + Nx) % Nx;
      kr[dy * Nx + dx] = big[y * Nx + x] * sw;
    }
  }
  fft2d(kr, ki, Ny, Nx, false);
  return (img: Float64Array) => {
    const ar = new Float64Array(Nx * Ny);
    const ai = new Float64Array(Nx * Ny);
    for (let y = 0; y < ny; y++) for (let x = 0; x < nx; x++) ar[y * Nx + x] = img[y * nx + x];
    fft2d(ar, ai, Ny, Nx, false);
    for (let i = 0; i < Nx * Ny; i++) {
      const r = ar[i] * kr[i] - ai[i] * ki[i];
      ai[i] = ar[i] * ki[i] + ai[i] * kr[i];
      ar[i] = r;
    }
    fft2d(ar, ai, Ny, Nx, true);
    const out = new Float64Array(nx * ny);
    for (let y = 0; y < ny; y++) for (let x = 0; x < nx; x++) out[y * nx + x] = ar[y * Nx + x];
    return out;
  };
}

export interface GeometryChoice {
  cell: number;
  size: number;
  /** How each was chosen, for the user. */
  notes: string[];
}

/** The longest and shortest uv distances (wavelengths, u = v = 0 left out). */
export function uvRange(u: Float64Array, v: Float64Array): { umax: number; umin: number } {
  let umax = 0;
  let umin = Infinity;
  for (let k = 0; k < u.length; k++) {
    const r = Math.hypot(u[k], v[k]);
    if (r > umax) umax = r;
    if (r > 0 && r < umin) umin = r;
  }
  return { umax, umin };
}

/**
 * Default image geometry. Cell: 1/(6·u_max) — three pixels across 1/(2·u_max), about the beam's FWHM, so the
 * longest baseline is sampled well within Nyquist. Size: the primary beam's FWHM 1.13·λ_max/D where the dish
 * diameter D is known, else 2/u_min (twice the largest scale the shortest baseline measures); made even and
 * held within 64…1024 pixels.
 */
export function defaultGeometry(
  u: Float64Array,
  v: Float64Array,
  opts: { freqMin: number; dishDiameter?: number; cell?: number; size?: number },
): GeometryChoice {
  const { umax, umin } = uvRange(u, v);
  if (!(umax > 0)) throw new UserInputError('every visibility has u = v = 0: no image geometry can be derived');
  const notes: string[] = [];
  const cell = opts.cell ?? 1 / (6 * umax);
  if (opts.cell === undefined) notes.push(`cell 1/(6·u_max) with u_max = ${umax.toPrecision(5)} λ`);
  let size = opts.size;
  if (size === undefined) {
    let field: number;
    if (opts.dishDiameter) {
      field = (1.13 * (299792458 / opts.freqMin)) / opts.dishDiameter;
      notes.push(`size from the primary beam FWHM 1.13·λ/D, D = ${opts.dishDiameter} m`);
    } else {
      field = 2 / umin;
      notes.push(`size 2/u_min with u_min = ${umin.toPrecision(5)} λ (no dish diameter in the AN table)`);
    }
    const n = Math.ceil(field / cell);
    size = Math.min(1024, Math.max(64, n + (n % 2)));
    if (n > 1024) notes.push(`the field needs ${n} pixels: held at 1024 (give --size to change)`);
  }
  return { cell, size, notes };
}
