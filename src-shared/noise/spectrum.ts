/**
 * The noise power spectrum measured from the data: a blank-sky box of the observation, or a noise-only image.
 *
 * Welch's estimate: square tiles of T pixels a side (T = 32, or less where the box is smaller; half-overlapping),
 * each with its own mean subtracted and a 2-D Hann window w applied, periodogram |F(w·n)|²/Σw², averaged over the
 * tiles without a non-finite pixel. Its expectation is P convolved with the window's spectrum, i.e. in lags the
 * true autocovariance times the window's normalised autocorrelation (w⋆w)(d)/Σw²; so the spectrum is moved to the
 * data's grid through lags: the averaged periodogram's autocovariance (inverse FFT) is divided by that factor,
 * kept for |dy|, |dx| < L = 6 pixels (correlations longer than that are cut; and within half the data grid),
 * tapered to zero there (per axis 1 up to L/2, then a cosine down to 0 at L, so the spectrum stays smooth and the
 * estimate's noise, which every kept lag adds to every mode, stays small: 5–8 % rms per mode from a 192×192 box), wrapped onto the data's [my, mx] grid and transformed back. Values below a floor (the taper, the noise of the estimate: spectrumFloor) are raised to it,
 * and the whole is scaled so that its mean — the pixel variance, Σ's diagonal — is the measured variance: the mean
 * over tiles of each tile's variance about its own mean (unwindowed, with T²/(T² − 1)).
 * Everything float64, numpy fft2 layout.
 */
import { fft2d } from '../operators/fft.js';
import { NoiseInputError } from '../operators/errors.js';
import type { Shape2 } from '../operators/types.js';

/** A box of pixels, 0-based, x1 and y1 exclusive (numpy's data[y0:y1, x0:x1]). */
export interface PixelBox {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

export interface NoiseSpectrumEstimate {
  /** P on the data grid (numpy fft2 layout, [my, mx], data units²); its mean is `variance`. */
  power: Float64Array;
  shape: Shape2;
  /** The measured pixel variance (data units²). */
  variance: number;
  /** The tile side and the tiles averaged. */
  tile: number;
  tiles: number;
  /** The box the estimate comes from. */
  box: PixelBox;
  /** Correlation coefficients of neighbouring pixels (lag 1 along x and along y). */
  lag1: { x: number; y: number };
}

export const DEFAULT_TILE = 32;
/**
 * Measured spectra are floored at 40/(pixels in the box) of their mean, kept between 10⁻³ and 0.05. The estimate
 * carries an additive error at every mode that shrinks with the area it comes from, so where the true spectrum nearly
 * vanishes (resampled, drizzled noise) a lower value is noise, and the likelihood would trust those modes far too
 * much. Measured, whitening one half of a 64×64 patch of drizzle-like resampled IRAC noise with the spectrum of the
 * other half (2048 pixels): whitened χ²/pixel 3.9 with a floor of 10⁻³, 1.35 with 0.01, 1.13 with 0.02; on a 96×96
 * field of [¼, ½, ¼]²-filtered noise (spectral zeros at Nyquist; 9216 pixels): 1.16 / 0.90 / 0.84 / 0.77 with
 * 10⁻³ / 0.003 / 0.005 / 0.01.
 */
export function spectrumFloor(pixels: number): number {
  return Math.min(0.05, Math.max(1e-3, 40 / pixels));
}
/** Lags kept (per axis, in pixels): the measured correlation up to 3 px, tapered to 0 at 6. */
export const DEFAULT_MAX_LAG = 6;
const MIN_TILE = 8;

/** Parses "x0,y0,x1,y1" (0-based pixels, x1 and y1 exclusive). */
export function parsePixelBox(text: string, what = 'noise region'): PixelBox {
  const parts = text.split(',').map((s) => s.trim());
  const v = parts.map(Number);
  if (parts.length !== 4 || !v.every((x) => Number.isInteger(x) && x >= 0)) {
    throw new NoiseInputError(`${what} must be four non-negative integers x0,y0,x1,y1 (0-based pixels, x1 and y1 exclusive), got '${text}'`);
  }
  return { x0: v[0]!, y0: v[1]!, x1: v[2]!, y1: v[3]! };
}

function checkBox(box: PixelBox, shape: Shape2, what: string): void {
  const [ny, nx] = shape;
  const { x0, y0, x1, y1 } = box;
  if (!(x1 > x0 && y1 > y0)) throw new NoiseInputError(`${what}: x1 must exceed x0 and y1 exceed y0, got ${x0},${y0},${x1},${y1}`);
  if (x1 > nx || y1 > ny) throw new NoiseInputError(`${what}: ${x0},${y0},${x1},${y1} reaches outside the ${nx}×${ny} (x × y) image`);
  if (x1 - x0 < MIN_TILE || y1 - y0 < MIN_TILE) {
    throw new NoiseInputError(`${what}: the box is ${x1 - x0}×${y1 - y0} pixels; at least ${MIN_TILE}×${MIN_TILE} are needed to measure a noise spectrum`);
  }
}

function hann(t: number): Float64Array {
  // the periodic Hann window (its DFT has three non-zero taps; no zero at both ends)
  return Float64Array.from({ length: t }, (_, i) => 0.5 - 0.5 * Math.cos((2 * Math.PI * (i + 0.5)) / t));
}

/** Linear autocorrelation of a 1-D window at lag d: Σ_i w_i w_{i+|d|}. */
function windowLag(w: Float64Array, d: number): number {
  let s = 0;
  for (let i = 0; i + Math.abs(d) < w.length; i++) s += w[i]! * w[i + Math.abs(d)]!;
  return s;
}

/**
 * The noise power spectrum on the data grid `target` from the pixels of `box` in `image` ([ny, nx] row-major;
 * by default the whole image: a noise-only image). Throws a NoiseInputError naming the problem (a box outside the
 * image or too small, no tile without a non-finite pixel, constant pixels).
 */
export function estimateNoiseSpectrum(
  image: ArrayLike<number>,
  shape: Shape2,
  target: Shape2,
  opts: { box?: PixelBox; tile?: number; maxLag?: number; floor?: number; what?: string } = {},
): NoiseSpectrumEstimate {
  const what = opts.what ?? 'noise region';
  const [ny, nx] = shape;
  if (opts.maxLag !== undefined && !(opts.maxLag >= 1 && opts.maxLag <= DEFAULT_TILE)) throw new RangeError(`maxLag must be in 1..${DEFAULT_TILE}`);
  if (image.length !== ny * nx) throw new NoiseInputError(`${what}: ${image.length} values for [${ny}, ${nx}]`);
  const box = opts.box ?? { x0: 0, y0: 0, x1: nx, y1: ny };
  checkBox(box, shape, what);
  const [my, mx] = target;
  const t = Math.max(MIN_TILE, Math.min(opts.tile ?? DEFAULT_TILE, box.x1 - box.x0, box.y1 - box.y0));
  const w1 = hann(t);
  const w = new Float64Array(t * t);
  let w2 = 0;
  for (let i = 0; i < t; i++) for (let j = 0; j < t; j++) w2 += (w[i * t + j] = w1[i]! * w1[j]!) ** 2;
  const step = Math.max(1, Math.floor(t / 2));
  const pt = new Float64Array(t * t);
  let tiles = 0;
  let varSum = 0;
  const re = new Float64Array(t * t);
  const im = new Float64Array(t * t);
  for (let y = box.y0; y + t <= box.y1; y += step) {
    for (let x = box.x0; x + t <= box.x1; x += step) {
      let mean = 0;
      let finite = true;
      for (let i = 0; i < t && finite; i++) {
        for (let j = 0; j < t; j++) {
          const v = image[(y + i) * nx + x + j]!;
          if (!Number.isFinite(v)) {
            finite = false;
            break;
          }
          mean += v;
        }
      }
      if (!finite) continue;
      mean /= t * t;
      let v2 = 0;
      for (let i = 0; i < t; i++) {
        for (let j = 0; j < t; j++) {
          const d = image[(y + i) * nx + x + j]! - mean;
          v2 += d * d;
          re[i * t + j] = d * w[i * t + j]!;
          im[i * t + j] = 0;
        }
      }
      varSum += v2 / (t * t - 1);
      fft2d(re, im, t, t);
      for (let k = 0; k < t * t; k++) pt[k] += (re[k]! * re[k]! + im[k]! * im[k]!) / w2;
      tiles++;
    }
  }
  if (tiles === 0) throw new NoiseInputError(`${what}: every ${t}×${t} tile of the box holds a NaN or infinite pixel`);
  const variance = varSum / tiles;
  if (!(variance > 0)) throw new NoiseInputError(`${what}: the pixels are constant; no noise to measure`);
  for (let k = 0; k < pt.length; k++) pt[k] /= tiles;
  // lags: the periodogram's autocovariance over the window's normalised autocorrelation
  const acov = Float64Array.from(pt);
  const zero = new Float64Array(t * t);
  fft2d(acov, zero, t, t, true);
  const half = opts.maxLag ?? Math.min(DEFAULT_MAX_LAG, t / 2);
  const out = new Float64Array(my * mx);
  // flat to L/2, then a cosine down to 0 at L (a Tukey taper): the short lags that carry the correlation are kept as measured
  const taper = (d: number) => (d <= half / 2 ? 1 : 0.5 * (1 + Math.cos((Math.PI * (d - half / 2)) / (half / 2))));
  for (let dy = -Math.ceil(half) + 1; dy < half; dy++) {
    if (Math.abs(dy) > (my - 1) / 2) continue;
    for (let dx = -Math.ceil(half) + 1; dx < half; dx++) {
      if (Math.abs(dx) > (mx - 1) / 2) continue;
      const src = (((dy % t) + t) % t) * t + (((dx % t) + t) % t);
      const c = acov[src]! / ((windowLag(w1, dy) * windowLag(w1, dx)) / w2);
      out[(((dy % my) + my) % my) * mx + (((dx % mx) + mx) % mx)] += c * taper(Math.abs(dy)) * taper(Math.abs(dx));
    }
  }
  const c0 = out[0]!;
  const lag1 = { x: mx > 2 ? out[1]! / c0 : 0, y: my > 2 ? out[mx]! / c0 : 0 };
  const floor = opts.floor ?? spectrumFloor((box.x1 - box.x0) * (box.y1 - box.y0));
  const outIm = new Float64Array(my * mx);
  fft2d(out, outIm, my, mx);
  let mean = 0;
  for (let k = 0; k < out.length; k++) mean += out[k]!;
  mean /= out.length;
  let sum = 0;
  for (let k = 0; k < out.length; k++) sum += out[k] = Math.max(out[k]!, floor * mean);
  const scale = variance / (sum / out.length);
  for (let k = 0; k < out.length; k++) out[k]! *= scale;
  return { power: out, shape: [my, mx], variance, tile: t, tiles, box, lag1 };
}

/**
 * Azimuthal average of a spectrum in numpy fft2 layout over rings of |k| (cycles per pixel, √(fx² + fy²), bins
 * of width 1/min(ny, nx) up to the Nyquist frequency 0.5; DC left out). Returns the bins' centres, means and mode counts.
 */
export function azimuthalAverage(p: ArrayLike<number>, shape: Shape2, bins?: number): { k: number[]; power: number[]; modes: number[] } {
  const [ny, nx] = shape;
  const nb = bins ?? Math.max(1, Math.floor(Math.min(ny, nx) / 2));
  const sum = new Float64Array(nb);
  const cnt = new Float64Array(nb);
  for (let l = 0; l < ny; l++) {
    const fy = (l <= ny / 2 ? l : l - ny) / ny;
    for (let k = 0; k < nx; k++) {
      if (l === 0 && k === 0) continue;
      const fx = (k <= nx / 2 ? k : k - nx) / nx;
      const r = Math.sqrt(fx * fx + fy * fy);
      const b = Math.min(nb - 1, Math.floor((r / 0.5) * nb));
      sum[b] += p[l * nx + k]!;
      cnt[b]++;
    }
  }
  const k: number[] = [];
  const power: number[] = [];
  const modes: number[] = [];
  for (let b = 0; b < nb; b++) {
    if (!cnt[b]) continue;
    k.push(((b + 0.5) / nb) * 0.5);
    power.push(sum[b]! / cnt[b]!);
    modes.push(cnt[b]!);
  }
  return { k, power, modes };
}
