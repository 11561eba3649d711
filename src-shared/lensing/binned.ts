import type { PsfKernel } from '../operators/psf.js';
import type { Grid } from './mass.js';

// The observation binned k × k: the lens fit's starts search the mass on it (fit.ts), where an evidence evaluation
// costs a fraction of the full image's (k² fewer rows, a PSF of ~1/k² the taps), before the full image refines it.

/** The binned observation, in the layout of LensFitData. */
export interface BinnedImage {
  data: Float64Array;
  sigma: Float64Array;
  image: Grid;
  psf: PsfKernel | null;
  /**
   * x_binned = x + shift[0], y_binned = y + shift[1] (arcsec): the binned grid's centre is the centre of the image's
   * first ⌊n/k⌋·k pixels (the last n mod k rows and columns are left out), half a pixel from the image's when n is odd
   */
  shift: [number, number];
}

/**
 * The image binned k × k: the mean of each block's data, σ = √(Σσ²)/k²; a block is fitted (finite data and σ) only
 * where all its k² pixels are among `pixels`, NaN elsewhere. The PSF as the binned model needs it (binnedPsf).
 */
export function binImage(data: ArrayLike<number>, sigma: ArrayLike<number>, image: Grid, pixels: ArrayLike<number>, psf: PsfKernel | null, k: number): BinnedImage {
  const [ny, nx] = image.shape;
  const by = Math.floor(ny / k);
  const bx = Math.floor(nx / k);
  const fitted = new Uint8Array(ny * nx);
  for (let r = 0; r < pixels.length; r++) fitted[pixels[r]] = 1;
  const bd = new Float64Array(by * bx).fill(NaN);
  const bs = new Float64Array(by * bx).fill(NaN);
  for (let I = 0; I < by; I++) {
    for (let J = 0; J < bx; J++) {
      let all = true;
      let sd = 0;
      let ss = 0;
      for (let u = 0; u < k && all; u++) {
        for (let v = 0; v < k; v++) {
          const p = (k * I + u) * nx + k * J + v;
          if (!fitted[p]) {
            all = false;
            break;
          }
          sd += data[p];
          ss += sigma[p] * sigma[p];
        }
      }
      if (!all) continue;
      bd[I * bx + J] = sd / (k * k);
      bs[I * bx + J] = Math.sqrt(ss) / (k * k);
    }
  }
  return {
    data: bd,
    sigma: bs,
    image: { shape: [by, bx], scale: k * image.scale },
    psf: psf ? binnedPsf(psf, k) : null,
    shift: [((nx - bx * k) * image.scale) / 2, ((ny - by * k) * image.scale) / 2],
  };
}

/**
 * The PSF on the k × k binned grid for an image uniform within each block: the binned blurred image is then exactly
 * the binned image convolved with h_b[A, B] = Σ_δ Σ_ε (k − |δ|)(k − |ε|)/k² · h[cy + kA + δ, cx + kB + ε]
 * (|δ|, |ε| < k: each pair of pixels of two blocks at offset (A, B) once), of unit sum.
 */
export function binnedPsf(psf: PsfKernel, k: number): PsfKernel {
  const [kh, kw] = psf.shape;
  const [cy, cx] = psf.center;
  const ry = Math.ceil((Math.max(cy, kh - 1 - cy) + k - 1) / k);
  const rx = Math.ceil((Math.max(cx, kw - 1 - cx) + k - 1) / k);
  const h = 2 * ry + 1;
  const w = 2 * rx + 1;
  const out = new Float64Array(h * w);
  for (let A = -ry; A <= ry; A++) {
    for (let B = -rx; B <= rx; B++) {
      let s = 0;
      for (let dl = 1 - k; dl < k; dl++) {
        const a = cy + k * A + dl;
        if (a < 0 || a >= kh) continue;
        for (let e = 1 - k; e < k; e++) {
          const b = cx + k * B + e;
          if (b < 0 || b >= kw) continue;
          s += (k - Math.abs(dl)) * (k - Math.abs(e)) * psf.data[a * kw + b];
        }
      }
      out[(A + ry) * w + B + rx] = s / (k * k);
    }
  }
  // the weights sum to the PSF's own sum (1 for a normalised PSF); normalised again against rounding
  let sum = 0;
  for (const v of out) sum += v;
  for (let t = 0; t < out.length; t++) out[t] /= sum;
  return { data: out, shape: [h, w], center: [ry, rx] };
}
