/**
 * Is the noise model right? Checks of a reconstruction's data residual r = y − A·mean against what the noise
 * model expects of it, each with one scalar statistic:
 *  - the spectrum: the azimuthally averaged power of u = r/σ (σ per pixel, 0 where masked) beside the model's ρ
 *    (1 for white noise), and the ratio of the mean power of the whitened residual z = F⁻¹ ρ^{-1/2} F u at high
 *    spatial frequencies (|k| > 0.25 cycles/pixel) to that at low ones (0 < |k| ≤ 0.25): 1 for the right model,
 *    below 1 when the noise is redder (more correlated) than the model, above when it is bluer. Its standard error
 *    from the number of independent modes in each band, √(1/m_low + 1/m_high) in ln;
 *  - the histogram: the whitened residual at the observed pixels against N(0, 1), with the Kolmogorov–Smirnov
 *    distance D, and χ²/pixel of z.
 * A warning is raised when the model is clearly wrong: the ratio outside [1/1.5, 1.5] and more than 5 standard
 * errors from 1, or D above max(0.02, 1.95/√n) (p ≈ 0.001 for independent pixels).
 * Caveats: a posterior mean absorbs part of the noise where the data constrain the image (mostly at low
 * frequencies), which raises the ratio a little for the right model; with masked pixels the whitening filter is
 * applied to the residual with zeros in them (an approximation near masked regions).
 */
import { fft2d } from '../operators/fft.js';
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
 * The diagnostics of a normalised residual u = (y − A·mean)/σ ([my, mx] row-major, NaN where masked) under a noise
 * model with normalised power spectrum `correlation` (numpy fft2 layout, mean 1; null: white).
 */
export function noiseDiagnostics(normalisedResidual: ArrayLike<number>, shape: Shape2, correlation: ArrayLike<number> | null, model: string): NoiseDiagnostics {
  const [my, mx] = shape;
  const n = my * mx;
  const re = new Float64Array(n);
  const im = new Float64Array(n);
  const observed: number[] = [];
  for (let i = 0; i < n; i++) {
    const v = normalisedResidual[i]!;
    if (Number.isFinite(v)) {
      re[i] = v;
      observed.push(i);
    }
  }
  const m = observed.length;
  const warnings: string[] = [];
  if (m < 16) {
    return { model, pixels: m, whitenedChi2PerPixel: NaN, spectrum: { k: [], residual: [], expected: [] }, spectralRatio: NaN, spectralRatioLnSe: NaN,
      histogram: { edges: [], counts: [], expected: [] }, ksDistance: NaN, ksThreshold: NaN, warnings: ['too few observed pixels for noise diagnostics'] };
  }
  fft2d(re, im, my, mx);
  const power = new Float64Array(n);
  for (let k = 0; k < n; k++) power[k] = (re[k]! * re[k]! + im[k]! * im[k]!) / m;
  const rho = correlation ?? new Float64Array(n).fill(1);
  const resAz = azimuthalAverage(power, shape);
  const expAz = azimuthalAverage(rho, shape);
  // whitening: z = F⁻¹ ρ^{-1/2} F u
  for (let k = 0; k < n; k++) {
    const s = 1 / Math.sqrt(rho[k]!);
    re[k]! *= s;
    im[k]! *= s;
  }
  let lo = 0;
  let hi = 0;
  let nLo = 0;
  let nHi = 0;
  for (let l = 0; l < my; l++) {
    const fy = (l <= my / 2 ? l : l - my) / my;
    for (let k = 0; k < mx; k++) {
      if (l === 0 && k === 0) continue;
      const fx = (k <= mx / 2 ? k : k - mx) / mx;
      const p = (re[l * mx + k]! ** 2 + im[l * mx + k]! ** 2) / m;
      if (Math.hypot(fx, fy) <= 0.25) {
        lo += p;
        nLo++;
      } else {
        hi += p;
        nHi++;
      }
    }
  }
  // a real image's modes come in ±k pairs: half the count are independent
  const spectralRatio = nLo && nHi ? hi / nHi / (lo / nLo) : NaN;
  const spectralRatioLnSe = Math.sqrt(2 / Math.max(nLo, 1) + 2 / Math.max(nHi, 1));
  fft2d(re, im, my, mx, true);
  const z = Float64Array.from(observed, (i) => re[i]!);
  let chi2 = 0;
  for (const v of z) chi2 += v * v;
  const ksDistance = ksNormal(z);
  const ksThreshold = Math.max(0.02, 1.95 / Math.sqrt(m));
  const edges: number[] = [];
  for (let e = -5; e <= 5 + 1e-9; e += 0.5) edges.push(e);
  const counts = new Array<number>(edges.length - 1).fill(0);
  for (const v of z) {
    const b = Math.floor((v + 5) / 0.5);
    if (b >= 0 && b < counts.length) counts[b]!++;
  }
  const expected = counts.map((_, b) => m * (normalCdf(edges[b + 1]!) - normalCdf(edges[b]!)));
  const ratioText = spectralRatio.toPrecision(3);
  if (Math.abs(Math.log(spectralRatio)) > Math.max(Math.log(1.5), 5 * spectralRatioLnSe)) {
    warnings.push(
      spectralRatio < 1
        ? `noise model '${model}' looks wrong: the whitened residual has ${ratioText}× the power at high spatial frequencies that it has at low ones (1 expected): the noise is more correlated than the model; measure its spectrum (--noise-model correlated with --noise-region or --noise-image)`
        : `noise model '${model}' looks wrong: the whitened residual has ${ratioText}× the power at high spatial frequencies that it has at low ones (1 expected): the noise is less correlated than the model`,
    );
  }
  if (ksDistance > ksThreshold) {
    warnings.push(
      `noise model '${model}' looks wrong: the whitened residual departs from N(0, 1) (Kolmogorov–Smirnov distance ${ksDistance.toPrecision(3)} > ${ksThreshold.toPrecision(2)}, χ²/pixel ${(chi2 / m).toPrecision(3)}): σ is off or varies with the signal (counts: --noise-model poisson-gaussian)`,
    );
  }
  const round = (a: number[]) => a.map((v) => Number(v.toPrecision(5)));
  return {
    model,
    pixels: m,
    whitenedChi2PerPixel: chi2 / m,
    spectrum: { k: round(resAz.k), residual: round(resAz.power), expected: round(expAz.power) },
    spectralRatio,
    spectralRatioLnSe,
    histogram: { edges, counts, expected: round(expected) },
    ksDistance,
    ksThreshold,
    warnings,
  };
}
