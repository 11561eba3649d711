/**
 * Pixels sharper than the PSF: cosmic-ray residuals and hot pixels that a survey's weight map does not flag
 * (docs/lensing.md, *A SLACS-like ACS cutout*). Anything on the sky has passed through the PSF, so its brightest
 * pixel's eight neighbours carry at least about the PSF's own share of it; a pixel well above its neighbours'
 * median — further than the PSF allows — and significantly above the model can only be a detector artefact.
 */
import type { PsfKernel } from '../operators/psf.js';

/** The PSF's peak pixel's neighbours: the median of the eight over the peak (a point source's sharpness). */
export function psfNeighbourRatio(psf: PsfKernel | null): number {
  if (!psf) return 0;
  const [ky, kx] = psf.shape;
  let peak = 0;
  for (let k = 1; k < psf.data.length; k++) if (psf.data[k] > psf.data[peak]) peak = k;
  const pi = Math.floor(peak / kx);
  const pj = peak - pi * kx;
  const nb: number[] = [];
  for (let di = -1; di <= 1; di++) {
    for (let dj = -1; dj <= 1; dj++) {
      if (!di && !dj) continue;
      const i = pi + di;
      const j = pj + dj;
      nb.push(i >= 0 && i < ky && j >= 0 && j < kx ? psf.data[i * kx + j] : 0);
    }
  }
  nb.sort((a, b) => a - b);
  return (nb[3] + nb[4]) / 2 / psf.data[peak];
}

export interface SharpOutlierOptions {
  /** the residual's minimum significance, in σ (default 5) */
  nSigma?: number;
  /**
   * a pixel is sharper than the PSF where its neighbours' median (of the residual) is below this fraction of the
   * PSF's own neighbour ratio times the pixel's residual (default 0.5)
   */
  sharpness?: number;
}

/**
 * The fitted pixels (flat indices, [ny, nx] image) whose residual r = data − model is above nSigma·σ and whose
 * eight neighbours' median residual is below sharpness × psfNeighbourRatio × r (neighbours off the image or with
 * non-finite data count as 0). Returns them in increasing order. `model` may be null (the data themselves).
 */
export function sharpOutliers(
  data: ArrayLike<number>,
  sigma: ArrayLike<number>,
  model: ArrayLike<number> | null,
  shape: [number, number],
  pixels: ArrayLike<number>,
  psf: PsfKernel | null,
  opts: SharpOutlierOptions = {},
): Int32Array {
  const [ny, nx] = shape;
  const nSigma = opts.nSigma ?? 5;
  const limit = (opts.sharpness ?? 0.5) * psfNeighbourRatio(psf);
  const res = (k: number): number => {
    const v = data[k] - (model ? model[k] : 0);
    return Number.isFinite(v) ? v : 0;
  };
  const out: number[] = [];
  const nb = new Float64Array(8);
  for (let t = 0; t < pixels.length; t++) {
    const p = pixels[t];
    const r = res(p);
    if (!(r > nSigma * sigma[p])) continue;
    const i = Math.floor(p / nx);
    const j = p - i * nx;
    let c = 0;
    for (let di = -1; di <= 1; di++) {
      for (let dj = -1; dj <= 1; dj++) {
        if (!di && !dj) continue;
        const ii = i + di;
        const jj = j + dj;
        nb[c++] = ii >= 0 && ii < ny && jj >= 0 && jj < nx ? res(ii * nx + jj) : 0;
      }
    }
    nb.sort();
    const med = (nb[3] + nb[4]) / 2;
    if (med < limit * r) out.push(p);
  }
  return Int32Array.from(out);
}
