/**
 * The brightness statistic that ties a learned prior's units to an observation's (the automatic flux scale,
 * docs/sampling.md "Units and the flux scale"): the 99.5th percentile of an image's finite pixels. A trainer
 * records its median over the training images (prior units) in model.json `data.peakPrior`; a reconstruction
 * divides the same statistic of the observed data by it, so that the data's bright range lands where the
 * prior's training images had theirs. The 99.5th percentile rather than the maximum: robust to hot pixels and
 * cosmic rays, and, on a 64×64 image, still the galaxy's core (its ~20 brightest pixels).
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

/** The median over the images of a stack (n images of `npix` pixels) of their fluxReference. */
export function typicalFluxReference(data: Float32Array, n: number, npix: number): number {
  if (!(n > 0) || data.length < n * npix) throw new RangeError(`typicalFluxReference: ${n} images of ${npix} pixels need ${n * npix} values, got ${data.length}`);
  const refs: number[] = [];
  for (let k = 0; k < n; k++) {
    const r = fluxReference(data.subarray(k * npix, (k + 1) * npix));
    if (Number.isFinite(r)) refs.push(r);
  }
  refs.sort((a, b) => a - b);
  return quantileSorted(refs, 0.5);
}
