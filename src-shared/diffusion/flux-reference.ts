/**
 * The brightness statistic that ties a learned prior's units to an observation's (the automatic flux scale,
 * docs/sampling.md "Units and the flux scale"): the 99.5th percentile of an image's finite pixels. A trainer
 * records its median over the training images (prior units) in model.json `data.peakPrior`; a reconstruction
 * divides the same statistic of the observed data by it, so that the data's bright range lands where the
 * prior's training images had theirs. The 99.5th percentile rather than the maximum: robust to hot pixels and
 * cosmic rays, and, on a 64×64 image, still the galaxy's core (its ~20 brightest pixels).
 *
 * The sky level is the second statistic (`backgroundReference`, model.json `data.backgroundPrior`): where the
 * data's sky is darker than the training images' typical one, the automatic scale maps it there as well, through
 * the affine offset (src-main/priors.ts), so that background-subtracted data (sky 0, as HST cutouts come) meet a
 * prior trained on images with a sky pedestal (Galaxy Zoo's SDSS cutouts: about 6/255) at the prior's own sky.
 */
import { quantileSorted } from '../image/stats.js';

export const FLUX_QUANTILE = 0.995;

/** The 99.5th percentile (numpy's linear interpolation) of the finite values; NaN when there are none. */
export function fluxReference(data: ArrayLike<number>): number {
  const v: number[] = [];
  for (let i = 0; i < data.length; i++) if (Number.isFinite(data[i])) v.push(data[i]);
  v.sort((a, b) => a - b);
  return quantileSorted(v, FLUX_QUANTILE);
}

/**
 * The sky level: the sigma-clipped median of the finite values (clipped at 3 σ about the median, σ from the
 * median absolute deviation × 1.4826, until nothing more is clipped or 20 rounds), as astronomers estimate a
 * background. Robust to the galaxy (clipped as outliers) and to zero-mean noise (the median of what remains);
 * NaN when there are no finite values.
 */
export function backgroundReference(data: ArrayLike<number>): number {
  let v: number[] = [];
  // at most ~2²⁰ values (a regular subsample of a large image): the median does not need more
  const stride = Math.max(1, Math.floor(data.length / 2 ** 20));
  for (let i = 0; i < data.length; i += stride) if (Number.isFinite(data[i])) v.push(data[i]);
  if (!v.length) return NaN;
  v.sort((a, b) => a - b);
  for (let round = 0; round < 20; round++) {
    const m = quantileSorted(v, 0.5);
    const dev = v.map((x) => Math.abs(x - m)).sort((a, b) => a - b);
    const s = 1.4826 * quantileSorted(dev, 0.5);
    if (!(s > 0)) return m;
    const kept = v.filter((x) => Math.abs(x - m) <= 3 * s);
    if (kept.length === v.length) return m;
    v = kept;
  }
  return quantileSorted(v, 0.5);
}

/** The median over the images of a stack (n images of `npix` pixels) of a per-image statistic. */
function typicalOf(stat: (image: Float32Array) => number, what: string, data: Float32Array, n: number, npix: number): number {
  if (!(n > 0) || data.length < n * npix) throw new RangeError(`${what}: ${n} images of ${npix} pixels need ${n * npix} values, got ${data.length}`);
  const refs: number[] = [];
  for (let k = 0; k < n; k++) {
    const r = stat(data.subarray(k * npix, (k + 1) * npix));
    if (Number.isFinite(r)) refs.push(r);
  }
  refs.sort((a, b) => a - b);
  return quantileSorted(refs, 0.5);
}

/** The median over the images of a stack (n images of `npix` pixels) of their fluxReference. */
export function typicalFluxReference(data: Float32Array, n: number, npix: number): number {
  return typicalOf(fluxReference, 'typicalFluxReference', data, n, npix);
}

/** The median over the images of a stack of their backgroundReference (model.json `data.backgroundPrior`). */
export function typicalBackgroundReference(data: Float32Array, n: number, npix: number): number {
  return typicalOf(backgroundReference, 'typicalBackgroundReference', data, n, npix);
}
