/**
 * The image grid of the radio modules and its sky convention.
 *
 * An image is [ny, nx] row-major (x = column = NAXIS1 fastest, y = row = NAXIS2). Pixel (y, x) sits at the
 * direction cosines l = −(x − ⌊nx/2⌋)·cell (l grows to the East: RA increases to the LEFT) and
 * m = (y − ⌊ny/2⌋)·cell (North up); the phase centre is pixel (⌊ny/2⌋, ⌊nx/2⌋). A visibility is
 * V(u, v) = Σ_pixels I(l, m) exp(−2πi (u l + v m)), u, v in wavelengths (the w-term is neglected: a small field).
 */
import { UserInputError } from '../errors.js';

export interface ImageGrid {
  nx: number;
  ny: number;
  /** Pixel size (radians), the same on both axes. */
  cell: number;
}

export const ARCSEC = Math.PI / (180 * 3600);

/** Complex vectors as two float64 arrays. */
export interface Complex {
  re: Float64Array;
  im: Float64Array;
}

export function checkGrid(g: ImageGrid): void {
  if (!Number.isInteger(g.nx) || !Number.isInteger(g.ny) || g.nx < 1 || g.ny < 1) {
    throw new UserInputError(`image size must be whole numbers of pixels ≥ 1, got ${g.nx} × ${g.ny}`);
  }
  if (!(g.cell > 0) || !Number.isFinite(g.cell)) throw new UserInputError(`the cell size must be positive, got ${g.cell / ARCSEC} arcsec`);
}

/** l of column x and m of row y (radians). */
export function lOf(g: ImageGrid, x: number): number {
  return -(x - Math.floor(g.nx / 2)) * g.cell;
}

export function mOf(g: ImageGrid, y: number): number {
  return (y - Math.floor(g.ny / 2)) * g.cell;
}
