/**
 * The range of χ² per observed pixel that the data's noise explains, and the warning a run outside it gets
 * (report.json `warnings`, the CLI, the app). Pure: no tensors, so the renderer may use it.
 *
 * For a linear model y = A x + n with Gaussian noise of the stated σ, a draw x_s of the posterior has
 * E[‖y − A x_s‖²_Σ] = N exactly (N observed pixels): the posterior mean's residual, N − p, plus the draws'
 * spread around it in data space, p (p = tr(Σ⁻¹ A Cov A ᵀ), the data's effective number of measured
 * parameters). So the draws' χ² per pixel is 1 with a standard deviation of about √(2/N) from the noise. The posterior mean
 * fits part of the noise: its χ² per pixel is 1 − p/N, anywhere from 0 to 1, so only its upper side is checked.
 * The range is 1 ± k·√(2/N) (k = 3), widened by a factor f = 1.5 on either side — [(1 − k√(2/N))/f, (1 + k√(2/N))·f] —
 * for what the noise alone does not cover: a learned prior's own error, a noise σ known to ±20 %, a forward
 * model that is not exactly the instrument's.
 */

/** Standard deviations of the noise's own scatter, √(2/N), that the range allows. */
export const CHI2_RANGE_SIGMAS = 3;
/** The factor that widens the range for model error (multiplies the upper bound, divides the lower one). */
export const CHI2_MODEL_ERROR_FACTOR = 1.5;

export interface Chi2Range {
  /** Observed pixels N. */
  n: number;
  /** The expectation for posterior draws (1) and the noise's standard deviation √(2/N). */
  expected: number;
  std: number;
  lo: number;
  hi: number;
}

/** The expected range of χ² per pixel for N observed pixels. */
export function chi2Range(observedPixels: number, sigmas = CHI2_RANGE_SIGMAS, factor = CHI2_MODEL_ERROR_FACTOR): Chi2Range {
  const n = Math.max(1, observedPixels);
  const std = Math.sqrt(2 / n);
  return { n, expected: 1, std, lo: Math.max(0, 1 - sigmas * std) / factor, hi: (1 + sigmas * std) * factor };
}

function fmt(v: number): string {
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
}

/**
 * Warnings for a run's χ² per observed pixel: the posterior draws' mean χ² (`draws`) outside the range, or the
 * posterior mean's (`mean`) above it. Empty when both are in range, or without data (null values).
 */
export function chi2RangeWarnings(values: { mean: number | null; draws: number | null; observedPixels: number }): string[] {
  const r = chi2Range(values.observedPixels);
  const range = `${fmt(r.lo)}–${fmt(r.hi)} expected for ${r.n} observed pixels (1 ± ${CHI2_RANGE_SIGMAS}·√(2/N), widened ×${CHI2_MODEL_ERROR_FACTOR} for model error)`;
  const tooHigh =
    'the reconstruction does not fit the data to their noise: check the noise σ (too small?), the forward model, the flux scale, or use more steps';
  const out: string[] = [];
  const { mean, draws } = values;
  if (draws !== null && Number.isFinite(draws)) {
    if (draws > r.hi) out.push(`χ² per pixel of the posterior samples ${fmt(draws)} is above the range ${range}: ${tooHigh}`);
    else if (draws < r.lo) out.push(`χ² per pixel of the posterior samples ${fmt(draws)} is below the range ${range}: the noise σ is probably overestimated (the posterior is then too wide)`);
  }
  if (mean !== null && Number.isFinite(mean) && mean > r.hi) {
    out.push(`χ² per pixel of the posterior mean ${fmt(mean)} is above the range ${range}: ${tooHigh}`);
  }
  return out;
}
