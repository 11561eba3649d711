/**
 * A window of an image grid (a crop): rows y0..y0+ny−1 and columns x0..x0+nx−1 of a grid of fullShape. A lens
 * model with a mask is evaluated on the mask's bounding box dilated by the PSF's reach (forward-model.ts,
 * cropForwardModel): inside the mask its model equals the whole grid's, at a fraction of the pixels.
 */
import type { Shape2 } from './types.js';

export interface ImageWindow {
  y0: number;
  x0: number;
  /** [ny, nx] of the window. */
  shape: Shape2;
  /** [ny, nx] of the grid it is cut from. */
  fullShape: Shape2;
}

/**
 * The bounding box of a mask's observed (non-zero) pixels, dilated by `margin` pixels on every side and clipped to
 * the grid; null when no pixel is observed.
 */
export function maskWindow(mask: ArrayLike<number>, shape: Shape2, margin: number): ImageWindow | null {
  const [ny, nx] = shape;
  let r0 = ny;
  let r1 = -1;
  let c0 = nx;
  let c1 = -1;
  for (let i = 0; i < ny; i++) {
    for (let j = 0; j < nx; j++) {
      if (mask[i * nx + j] === 0) continue;
      if (i < r0) r0 = i;
      if (i > r1) r1 = i;
      if (j < c0) c0 = j;
      if (j > c1) c1 = j;
    }
  }
  if (r1 < 0) return null;
  const y0 = Math.max(0, r0 - margin);
  const x0 = Math.max(0, c0 - margin);
  const y1 = Math.min(ny - 1, r1 + margin);
  const x1 = Math.min(nx - 1, c1 + margin);
  return { y0, x0, shape: [y1 - y0 + 1, x1 - x0 + 1], fullShape: [ny, nx] };
}

/** The window's pixels of an image of the full grid (row-major, the input's type). */
export function cropImage<T extends Float32Array | Float64Array>(data: T, w: ImageWindow): T {
  const [ny, nx] = w.shape;
  const fx = w.fullShape[1];
  if (data.length !== w.fullShape[0] * fx) throw new RangeError(`cropImage: ${data.length} values for shape [${w.fullShape.join(', ')}]`);
  const out = new (data.constructor as new (n: number) => T)(ny * nx);
  for (let i = 0; i < ny; i++) out.set(data.subarray((i + w.y0) * fx + w.x0, (i + w.y0) * fx + w.x0 + nx), i * nx);
  return out;
}

/** An image of the window placed on the full grid, `fill` elsewhere. */
export function uncropImage(data: ArrayLike<number>, w: ImageWindow, fill: number): Float32Array {
  const [ny, nx] = w.shape;
  const fx = w.fullShape[1];
  if (data.length !== ny * nx) throw new RangeError(`uncropImage: ${data.length} values for shape [${w.shape.join(', ')}]`);
  const out = new Float32Array(w.fullShape[0] * fx).fill(fill);
  for (let i = 0; i < ny; i++) for (let j = 0; j < nx; j++) out[(i + w.y0) * fx + w.x0 + j] = data[i * nx + j];
  return out;
}
