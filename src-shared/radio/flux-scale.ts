/**
 * The brightest-pixel bound of the image-plane flux scale of a posterior from visibilities.
 *
 * The automatic rule (src-main/priors.ts) maps the 99.5th percentile of the CLEAN image restored with the fitted
 * beam, per pixel, to the prior's typical one (`data.peakPrior`). For a compact source on an empty field that
 * percentile falls as the field grows (more empty pixels), and the restored image spreads the core over the beam:
 * the core of VLBA BL Lac landed at 27 prior units on a 128² × 0.08 mas grid (flux scale 0.016 Jy/pixel), and the
 * posterior mean held 1.6 of the data's 5.8 Jy, far outside the radio prior's training images, whose peaks are at
 * most 15 × their 99.5th percentile (at most 18 prior units; models/radio-64). So the scale is also bounded from
 * below by the brightest CLEAN component (Jy/pixel: an unresolved core's flux in its pixel, the brightness a
 * posterior at this cell must reach), which is to land at no more than PEAK_RATIO × the prior's typical 99.5th
 * percentile:
 *   F = max(F_percentile, brightest / (PEAK_RATIO · peakPrior)).
 * The bound does not depend on the field's size; it leaves extended sources, whose brightest component is within
 * PEAK_RATIO of their percentile, on the percentile rule.
 */

/** The largest ratio of peak to 99.5th percentile of the radio prior's training images (make-radio-training.ts). */
export const PEAK_RATIO = 15;

export interface BrightestBound {
  /** The flux scale after the bound (data units per prior unit). */
  value: number;
  /** Whether the bound raised it. */
  raised: boolean;
  /** The brightest component in prior units at the returned scale. */
  brightestPrior: number;
}

/**
 * F = max(percentileScale, brightest / (PEAK_RATIO · peakPrior)); `brightest` is the largest CLEAN component
 * (data units per pixel), `peakPrior` the prior's typical 99.5th percentile (prior units).
 */
export function boundByBrightest(percentileScale: number, brightest: number, peakPrior: number, ratio = PEAK_RATIO): BrightestBound {
  if (!(percentileScale > 0) || !(peakPrior > 0) || !(ratio > 0)) throw new RangeError(`boundByBrightest: positive scale, peak and ratio needed (got ${percentileScale}, ${peakPrior}, ${ratio})`);
  const floor = brightest > 0 ? brightest / (ratio * peakPrior) : 0;
  const value = Math.max(percentileScale, floor);
  return { value, raised: floor > percentileScale, brightestPrior: brightest > 0 ? brightest / value : 0 };
}

/** The largest value of an image (0 for an empty or all-negative one). */
export function brightest(model: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < model.length; i++) if (model[i] > m) m = model[i];
  return m;
}
