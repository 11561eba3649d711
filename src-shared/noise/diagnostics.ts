/**
 * Is the noise model right? Checks of a reconstruction's data residuals r = y − A·x_s (x_s its posterior samples:
 * noiseReport) against what the noise model expects of them, each with one scalar statistic:
 *  - the spectrum: the azimuthally averaged power of u = r/σ (σ per pixel, 0 where masked) beside the model's ρ
 *    (1 for white noise), and the ratio of the mean power of the whitened residual z = F⁻¹ ρ^{-1/2} F u at high
 *    spatial frequencies (|k| > 0.25 cycles/pixel) to that at low ones (0 < |k| ≤ 0.25): 1 for the right model,
 *    below 1 when the noise is redder (more correlated) than the model, above when it is bluer. Its standard error
 *    from the number of independent modes in each band, √(1/m_low + 1/m_high) in ln;
 *  - the histogram: the whitened residual at the observed pixels against N(0, 1), with the Kolmogorov–Smirnov
 *    distance D, and χ²/pixel of z.
 * A warning is raised when the model is clearly wrong: the ratio outside [1/1.5, 1.5] and more than 5 standard
 * errors from 1, or D above max(0.03, 1.95/√n) (p ≈ 0.001 for independent pixels; at least 0.03 so that a measured
 * spectrum's own error, a few per cent in the whitened variance, is not taken for a wrong model).
 * Caveats: where the prior is wrong the samples' residuals carry its errors too (mostly at low frequencies, which
 * raises the ratio); with masked pixels the whitening filter is applied to the residual with zeros in them (an
 * approximation near masked regions).
 */
import { fft2d } from '../operators/fft.js';
import { noiseCorrelation, noiseModelName, type NoiseModel } from '../operators/noise.js';
import type { ConvolvedLikelihood } from '../diffusion/likelihood.js';
import type { Shape2 } from '../operators/types.js';
import { azimuthalAverage } from './spectrum.js';

export interface NoiseDiagnostics {
  /** The noise model the residual was normalised with. */
  model: string;
  /** Observed pixels used. */
  pixels: number;
  /** χ² per pixel of the whitened residual (1 expected). */
  whitenedChi2PerPixel: number;
  /** Azimuthal averages over |k| (cycles per pixel) of |F(r/σ)|²/n against the model's ρ. */
  spectrum: { k: number[]; residual: number[]; expected: number[] };
  /** High-k over low-k mean power of the whitened residual (1 expected), its standard error in ln. */
  spectralRatio: number;
  spectralRatioLnSe: number;
  /** Histogram of the whitened residual (bin edges, counts) and the counts N(0, 1) expects. */
  histogram: { edges: number[]; counts: number[]; expected: number[] };
  /** Kolmogorov–Smirnov distance of the whitened residual from N(0, 1), and the warning threshold. */
  ksDistance: number;
  ksThreshold: number;
  /** Empty when nothing looks wrong. */
  warnings: string[];
}

/** Φ(x), the standard normal CDF (erfc by a rational approximation, |error| < 1.2·10⁻⁷). */
export function normalCdf(x: number): number {
  const z = Math.abs(x) / Math.SQRT2;
  const t = 1 / (1 + 0.5 * z);
  const erfc =
    t *
    Math.exp(
      -z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? 1 - erfc / 2 : erfc / 2;
}

/** Kolmogorov–Smirnov distance of the values from N(0, 1). */
export function ksNormal(values: ArrayLike<number>): number {
  const v = Float64Array.from(values).sort();
  const n = v.length;
  let d = 0;
  for (let i = 0; i < n; i++) {
    const f = normalCdf(v[i]!);
    d = Math.max(d, (i + 1) / n - f, f - i / n);
  }
  return d;
}

/**
 * The diagnostics of normalised residuals u = (y − A·x)/σ ([my, mx] row-major, NaN where masked), one image per
 * posterior sample, under a noise model with normalised power spectrum `correlation` (numpy fft2 layout, mean 1;
 * null: white). The periodograms are averaged over the images and the whitened values pooled; the thresholds use one
 * image's pixel and mode counts (the samples share the data's noise, so they are not independent).
 */
export function noiseDiagnostics(
  residuals: ArrayLike<number> | ArrayLike<number>[],
  shape: Shape2,
  correlation: ArrayLike<number> | null,
  model: string,
  /** false for a noise model that is not Gaussian (a learned noise prior): the KS distance to N(0, 1) is reported but raises no warning. */
  gaussian = true,
): NoiseDiagnostics {
  const images = isList(residuals) ? residuals : [residuals];
  const [my, mx] = shape;
  const n = my * mx;
  const rho = correlation ?? new Float64Array(n).fill(1);
  const observed: number[] = [];
  for (let i = 0; i < n; i++) if (Number.isFinite(images[0]![i]!)) observed.push(i);
  const m = observed.length;
  if (m < 16) {
    return { model, pixels: m, whitenedChi2PerPixel: NaN, spectrum: { k: [], residual: [], expected: [] }, spectralRatio: NaN, spectralRatioLnSe: NaN,
      histogram: { edges: [], counts: [], expected: [] }, ksDistance: NaN, ksThreshold: NaN, warnings: ['too few observed pixels for noise diagnostics'] };
  }
  const power = new Float64Array(n);
  const white = new Float64Array(n);
  const z: number[] = [];
  for (const u of images) {
    const re = new Float64Array(n);
    const im = new Float64Array(n);
    for (const i of observed) re[i] = Number.isFinite(u[i]!) ? u[i]! : 0;
    fft2d(re, im, my, mx);
    // whitening: z = F⁻¹ ρ^{-1/2} F u
    for (let k = 0; k < n; k++) {
      power[k] += (re[k]! * re[k]! + im[k]! * im[k]!) / m / images.length;
      const s = 1 / Math.sqrt(rho[k]!);
      re[k]! *= s;
      im[k]! *= s;
      white[k] += (re[k]! * re[k]! + im[k]! * im[k]!) / m / images.length;
    }
    fft2d(re, im, my, mx, true);
    for (const i of observed) z.push(re[i]!);
  }
  const resAz = azimuthalAverage(power, shape);
  const expAz = azimuthalAverage(rho, shape);
  let lo = 0;
  let hi = 0;
  let nLo = 0;
  let nHi = 0;
  for (let l = 0; l < my; l++) {
    const fy = (l <= my / 2 ? l : l - my) / my;
    for (let k = 0; k < mx; k++) {
      if (l === 0 && k === 0) continue;
      const fx = (k <= mx / 2 ? k : k - mx) / mx;
      if (Math.hypot(fx, fy) <= 0.25) {
        lo += white[l * mx + k]!;
        nLo++;
      } else {
        hi += white[l * mx + k]!;
        nHi++;
      }
    }
  }
  // a real image's modes come in ±k pairs: half the count are independent
  const spectralRatio = nLo && nHi ? hi / nHi / (lo / nLo) : NaN;
  const spectralRatioLnSe = Math.sqrt(2 / Math.max(nLo, 1) + 2 / Math.max(nHi, 1));
  let chi2 = 0;
  for (const v of z) chi2 += v * v;
  chi2 /= z.length;
  const ksDistance = ksNormal(z);
  const ksThreshold = Math.max(0.03, 1.95 / Math.sqrt(m));
  const edges: number[] = [];
  for (let e = -5; e <= 5 + 1e-9; e += 0.5) edges.push(e);
  const counts = new Array<number>(edges.length - 1).fill(0);
  for (const v of z) {
    const b = Math.floor((v + 5) / 0.5);
    if (b >= 0 && b < counts.length) counts[b]!++;
  }
  const expected = counts.map((_, b) => z.length * (normalCdf(edges[b + 1]!) - normalCdf(edges[b]!)));
  const warnings: string[] = [];
  const ratioText = spectralRatio.toPrecision(3);
  if (Math.abs(Math.log(spectralRatio)) > Math.max(Math.log(1.5), 5 * spectralRatioLnSe)) {
    warnings.push(
      spectralRatio < 1
        ? `noise model '${model}' looks wrong: the whitened residual has ${ratioText}× the power at high spatial frequencies that it has at low ones (1 expected): the noise is more correlated than the model; measure its spectrum (--noise-model correlated with --noise-region or --noise-image)`
        : `noise model '${model}' looks wrong: the whitened residual has ${ratioText}× the power at high spatial frequencies that it has at low ones (1 expected): the noise is less correlated than the model`,
    );
  }
  if (ksDistance > ksThreshold && gaussian) {
    warnings.push(
      `noise model '${model}' looks wrong: the whitened residual departs from N(0, 1) (Kolmogorov–Smirnov distance ${ksDistance.toPrecision(3)} > ${ksThreshold.toPrecision(2)}, χ²/pixel ${chi2.toPrecision(3)}): σ is off or varies with the signal (counts: --noise-model poisson-gaussian)`,
    );
  }
  const round = (a: number[]) => a.map((v) => Number(v.toPrecision(5)));
  return {
    model,
    pixels: m,
    whitenedChi2PerPixel: chi2,
    spectrum: { k: round(resAz.k), residual: round(resAz.power), expected: round(expAz.power) },
    spectralRatio,
    spectralRatioLnSe,
    histogram: { edges, counts, expected: round(expected) },
    ksDistance,
    ksThreshold,
    warnings,
  };
}

function isList(v: ArrayLike<number> | ArrayLike<number>[]): v is ArrayLike<number>[] {
  return Array.isArray(v) && (v.length === 0 || typeof v[0] !== 'number');
}

/**
 * report.json's `noiseModel` (the details given, else the model's name) and `noiseDiagnostics`, computed on the
 * residuals of the posterior samples y − A x_s (at most 8): under the right model these are distributed as the noise
 * itself — for a Gaussian prior exactly N(0, Σ) over data and draws, since Σ S⁻¹ Σ + A Cov_post Aᵀ = Σ with
 * S = Σ + A C Aᵀ — whereas the posterior mean's residual is not (it has absorbed the part of the noise the data
 * cannot tell from signal: χ² per pixel below 1, reddened spectrum).
 */
export async function noiseReport(
  noise: NoiseModel,
  details: Record<string, unknown> | undefined,
  likelihood: Pick<ConvolvedLikelihood, 'normalisedResidual' | 'dataShape' | 'inShape'> | null,
  samples: Float32Array | null,
  n: number,
): Promise<{ noiseModel: Record<string, unknown>; noiseDiagnostics?: NoiseDiagnostics }> {
  const name = noiseModelName(noise);
  const noiseModel = details ?? { model: name };
  const label = typeof noiseModel.model === 'string' ? noiseModel.model : name;
  if (!likelihood || !samples || n < 1) return { noiseModel };
  const per = likelihood.inShape[0] * likelihood.inShape[1];
  const residuals: Float32Array[] = [];
  for (let k = 0; k < Math.min(n, 8); k++) residuals.push(await likelihood.normalisedResidual(samples.subarray(k * per, (k + 1) * per)));
  // a learned noise prior's residuals follow its own density, not N(0, 1): only the spectrum can flag it, against
  // its Gaussian part's measured spectrum where it has one (else white)
  const rho = noise.kind === 'learned' ? (noise.correlation ?? null) : noiseCorrelation(noise);
  return { noiseModel, noiseDiagnostics: noiseDiagnostics(residuals, likelihood.dataShape, rho, label, noise.kind !== 'learned') };
}
