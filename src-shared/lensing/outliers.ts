/**
 * Pixels sharper than the PSF: cosmic-ray residuals and hot pixels that a survey's weight map does not flag
 * (docs/lensing.md, *A SLACS-like ACS cutout*). Anything on the sky has passed through the PSF, so its brightest
 * pixel's eight neighbours carry at least about the PSF's own share of it; a pixel well above its neighbours'
 * median — further than the PSF allows — and significantly above the model can only be a detector artefact.
 *
 * Save one: the deflector's nucleus. Against a smooth light model (Sérsic profiles through a model PSF) a real
 * galaxy's core leaves a residual that can be sharper than the PSF — a cusp steeper than the profiles, a PSF model
 * broader than the image's — and whitening the data (whitening.ts) sharpens that misfit further. A detector
 * artefact falls anywhere; the nucleus lies at the light's centre, where the data peak. So a sharp pixel within the
 * PSF's FWHM of the deflector light's fitted centre, where the data's brightest pixel about that centre lies within
 * the same radius (the fitted centre is the galaxy's peak), is taken for the nucleus and kept (`nucleus`). An
 * artefact that falls on the nucleus itself is kept with it: the price of the rule (a few pixels of the image);
 * one a pixel further out is cut (docs/lensing.md, *Measured on real SLACS lenses*).
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

/**
 * The PSF's full width at half maximum in pixels: the mean over the peak's four directions along the axes of the
 * distance at which the profile, interpolated linearly between pixels, falls to half the peak. 1 for no PSF.
 */
export function psfFwhmPixels(psf: PsfKernel | null): number {
  if (!psf) return 1;
  const [ky, kx] = psf.shape;
  let peak = 0;
  for (let k = 1; k < psf.data.length; k++) if (psf.data[k] > psf.data[peak]) peak = k;
  const pi = Math.floor(peak / kx);
  const pj = peak - pi * kx;
  const half = psf.data[peak] / 2;
  let sum = 0;
  for (const [di, dj] of [[0, 1], [0, -1], [1, 0], [-1, 0]]) {
    let prev = psf.data[peak];
    let s = 1;
    for (;; s++) {
      const i = pi + s * di;
      const j = pj + s * dj;
      const v = i >= 0 && i < ky && j >= 0 && j < kx ? psf.data[i * kx + j] : 0;
      if (v <= half) {
        sum += s - 1 + (prev - half) / (prev - v);
        break;
      }
      prev = v;
    }
  }
  return sum / 2;
}

/** The deflector's nucleus: its light's fitted centre in pixels (column, row) and the radius, in pixels, about it. */
export interface NucleusZone {
  /** the centre's column and row (fractional pixel indices) */
  x: number;
  y: number;
  /** pixels within this distance of the centre (default: the PSF's FWHM, psfFwhmPixels) */
  radius?: number;
}

/**
 * The nucleus's pixels: those within `radius` of the centre, where the data's brightest pixel within radius + 1 of
 * the centre lies within radius too (the fitted centre is on the galaxy's peak, not beside it); empty otherwise.
 */
export function nucleusPixels(data: ArrayLike<number>, shape: [number, number], zone: NucleusZone, psf: PsfKernel | null): Set<number> {
  const [ny, nx] = shape;
  const r = zone.radius ?? psfFwhmPixels(psf);
  const out = new Set<number>();
  if (!(r > 0) || !Number.isFinite(zone.x) || !Number.isFinite(zone.y)) return out;
  let best = -Infinity;
  let bestInside = false;
  const reach = Math.ceil(r + 1);
  for (let i = Math.max(0, Math.floor(zone.y) - reach); i <= Math.min(ny - 1, Math.ceil(zone.y) + reach); i++) {
    for (let j = Math.max(0, Math.floor(zone.x) - reach); j <= Math.min(nx - 1, Math.ceil(zone.x) + reach); j++) {
      const dist = Math.hypot(i - zone.y, j - zone.x);
      if (dist > r + 1) continue;
      const v = data[i * nx + j];
      if (dist <= r) out.add(i * nx + j);
      if (Number.isFinite(v) && v > best) {
        best = v;
        bestInside = dist <= r;
      }
    }
  }
  return bestInside ? out : new Set<number>();
}

export interface SharpOutlierOptions {
  /** the residual's minimum significance, in σ (default 5) */
  nSigma?: number;
  /**
   * a pixel is sharper than the PSF where its neighbours' median (of the residual) is below this fraction of the
   * PSF's own neighbour ratio times the pixel's residual (default 0.5)
   */
  sharpness?: number;
  /** the deflector's nucleus (nucleusPixels): its sharp pixels are kept */
  nucleus?: NucleusZone;
}

/**
 * The fitted pixels (flat indices, [ny, nx] image) whose residual r = data − model is above nSigma·σ and whose
 * eight neighbours' median residual is below sharpness × psfNeighbourRatio × r (neighbours off the image or with
 * non-finite data count as 0), less the nucleus's pixels where `opts.nucleus` is given. Returns them in increasing
 * order. `model` may be null (the data themselves).
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
  const keep = opts.nucleus ? nucleusPixels(data, shape, opts.nucleus, psf) : null;
  const out: number[] = [];
  const nb = new Float64Array(8);
  for (let t = 0; t < pixels.length; t++) {
    const p = pixels[t];
    const r = res(p);
    if (!(r > nSigma * sigma[p]) || keep?.has(p)) continue;
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
