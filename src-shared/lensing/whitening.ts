/**
 * Correlated noise in the lens fit (docs/lensing.md, *Correlated noise*): the noise's correlation measured from the
 * cutout's own blank sky, the decision whether it is significant, and the whitening filter that makes it white.
 *
 * The model: n = σ·m, σ the per-pixel map the user gives (1/√WHT, an ERR map or one σ) and m stationary with power
 * spectrum P (numpy fft2 layout; its mean is the variance of m per pixel, P(0) its large-scale variance). Drizzled
 * HST images have P(0) ≈ 1 (the weight map states the noise of a flux summed over many pixels) and mean P below 1
 * (the per-pixel scatter is smaller than 1/√WHT: neighbouring pixels share input pixels).
 *
 * The estimate (`estimateSkyCorrelation`): z = y/σ on sky pixels — valid, outside the fitted region (dilated), off
 * sources (a clip of the 5×5-smoothed z and of z itself, grown) — minus its local mean (the mean of the sky
 * pixels in a 31×31 box: the deflector's wings, a sky gradient; it lowers lag d by P(0)·γ(d)/31², γ(d) =
 * 2 − (1 − |dx|/31)(1 − |dy|/31), which is added back, P(0) solved for with it), then the autocovariance C(d) = Σ z_i z_{i+d} / pairs
 * over every pair of sky pixels at lag d, |dy|, |dx| < L = 6, tapered as spectrum.ts tapers its lags (flat to L/2,
 * a cosine to 0 at L) and carried to a spectrum on a grid; floored at spectrumFloor(sky pixels) of its mean, its mean
 * kept at C(0) (the variance ratio: measured per-pixel scatter over σ²).
 *
 * The decision: under white noise the neighbour correlation C(0, ±1)/C(0) has standard error 1/√pairs; the noise is
 * called correlated where either axis's exceeds CORRELATION_SIGNIFICANCE (5) standard errors and the sky holds at least
 * MIN_SKY_PIXELS pixels.
 *
 * The whitening (`whiteningKernel`, `whitenImage`): W = P^(−1/2) as a real-space kernel, truncated to the smallest
 * radius R (2..MAX_KERNEL_RADIUS) at which P |Ŵ_R|² = 1 within 0.02 at every mode (the low modes need more than the
 * energy suggests: a radius holding all but 5·10⁻⁴ of Σ w² left P |Ŵ|² 0.88 at k = 0). data' = σ · W∗(y/σ) has white noise of σ
 * exactly (if P is right); the model is W∗(PSF∗f) in place of σ · W∗((PSF∗f)/σ), exact where σ is constant over W's
 * support (the approximation, measured on the fitted model: `approximationError`). Pixels within R of an invalid
 * pixel (weight 0, NaN) or of the image's edge get no whitened value (their σ becomes NaN: out of the fit).
 */
import { fft2d } from '../operators/fft.js';
import type { PsfKernel } from '../operators/psf.js';
import type { Shape2 } from '../operators/types.js';
import { SeededRandom } from '../operators/random.js';
import { spectrumFloor, type PixelBox } from '../noise/spectrum.js';

/** Lags kept (per axis): as spectrum.ts's DEFAULT_MAX_LAG. */
export const CORRELATION_MAX_LAG = 6;
/** Standard errors of the neighbour correlation (white noise) above which the noise is called correlated. */
export const CORRELATION_SIGNIFICANCE = 5;
/** Sky pixels needed for an estimate. */
export const MIN_SKY_PIXELS = 2000;
/**
 * Above this ratio of the large-scale variance P(0) to the per-pixel variance C(0) the "sky" holds signal (a galaxy's
 * wings, scattered light), not noise. The ratio does not depend on how σ is scaled — σ = 1/√WHT states the
 * large-scale noise (P(0) ≈ 1, C(0) ≈ 1/R²), one σ measured from the sky's scatter the per-pixel rms (C(0) ≈ 1,
 * P(0) ≈ R²) —: drizzled noise has P(0)/C(0) = R², 2.25 for pixfrac = the output scale (Casertano et al. 2000),
 * measured 2.6–3.0 on the drizzle-like simulations of docs/lensing.md and 3.1 on SDSSJ0029−0055's sky, white noise 1;
 * the limit is 3 × 2.25, the earlier bound P(0) ≤ 3 for σ = 1/√WHT at pixfrac = scale. Wings read 10–40 (the
 * simulations' sky within 4–5″ of the deflector).
 */
export const MAX_LARGE_SCALE_RATIO = 6.75;

/** Whether an estimate's "sky" holds signal: P(0)/C(0) above MAX_LARGE_SCALE_RATIO. */
export function skyNotBlank(est: Pick<SkyCorrelation, 'largeScaleRatio' | 'varianceRatio'>): boolean {
  return est.largeScaleRatio > MAX_LARGE_SCALE_RATIO * est.varianceRatio;
}
/** The whitening kernel's largest radius (pixels). */
export const MAX_KERNEL_RADIUS = 10;
/** The truncated whitening filter's largest departure from whiteness over the modes, |P |Ŵ|² − 1|. */
export const KERNEL_WHITENESS_TOLERANCE = 0.02;
/** The grid the spectrum is made on for the kernel (a power of two, well beyond the lags and the kernel). */
const KERNEL_GRID = 64;
/** The local mean's box (pixels). */
const LOCAL_BOX = 31;

export type NoiseCorrelationMode = 'auto' | 'none';

export interface SkyCorrelation {
  /** where the sky came from: the automatic selection, or the box given */
  source: 'auto' | PixelBox;
  skyPixels: number;
  /** C(d)/σ² for |dy|, |dx| < L, row-major (2L − 1)², centre at (L − 1, L − 1) */
  lags: Float64Array;
  maxLag: number;
  /** C(0): measured per-pixel variance of y/σ (1 where σ is the per-pixel rms) */
  varianceRatio: number;
  /** neighbour correlations C(0, 1)/C(0) (along x) and C(1, 0)/C(0) (along y), and their white-noise standard errors */
  lag1: { x: number; y: number };
  lag1Error: { x: number; y: number };
  /** P on KERNEL_GRID² (fft2 layout, mean = varianceRatio), in units of σ² */
  spectrum: Float64Array;
  spectrumShape: Shape2;
  /** Σ_d C(d) with the taper: P(0), the large-scale variance of y/σ (1 where σ states the noise of summed flux) */
  largeScaleRatio: number;
}

export interface CorrelationDecision {
  mode: NoiseCorrelationMode;
  /** whiten or not */
  whiten: boolean;
  estimate: SkyCorrelation | null;
  /** one line for stderr, lens.json and the app's notes */
  text: string;
  /** the sky pixels found ('auto' and a box; also where too few for an estimate) */
  skyPixels?: number;
  /**
   * the automatic sky's growth of the fitted region (the lens fit's): the growth used, its default (the region's own
   * radius) and the sky pixels that default left; a smaller growth where those were too few; whether it was measured
   * on the data minus the deflector's light alone (that sky held its wings)
   */
  sky?: { growthArcsec: number; ownGrowthArcsec: number; skyPixelsAtOwnGrowth: number; lightSubtracted: boolean };
}

const finitePositive = (v: number) => Number.isFinite(v) && v > 0;

function boxSum(src: Float64Array, ny: number, nx: number, r: number): Float64Array {
  // separable running sums, zero outside
  const tmp = new Float64Array(ny * nx);
  for (let i = 0; i < ny; i++) {
    let s = 0;
    for (let j = -r; j < nx + r; j++) {
      if (j + r < nx && j + r >= 0) s += src[i * nx + j + r];
      if (j - r - 1 >= 0 && j - r - 1 < nx) s -= src[i * nx + j - r - 1];
      if (j >= 0 && j < nx) tmp[i * nx + j] = s;
    }
  }
  const out = new Float64Array(ny * nx);
  for (let j = 0; j < nx; j++) {
    let s = 0;
    for (let i = -r; i < ny + r; i++) {
      if (i + r < ny && i + r >= 0) s += tmp[(i + r) * nx + j];
      if (i - r - 1 >= 0 && i - r - 1 < ny) s -= tmp[(i - r - 1) * nx + j];
      if (i >= 0 && i < ny) out[i * nx + j] = s;
    }
  }
  return out;
}

/** A 0/1 mask grown by r pixels in a (2r + 1)² square (clipped at the edges). */
export function dilate(m: Uint8Array, ny: number, nx: number, r: number): Uint8Array {
  if (r <= 0) return m;
  const s = boxSum(Float64Array.from(m), ny, nx, r);
  return Uint8Array.from(s, (v) => (v > 0.5 ? 1 : 0));
}

function robust(values: number[]): { median: number; sd: number } {
  if (!values.length) return { median: 0, sd: 0 };
  const v = Float64Array.from(values).sort();
  const med = v[Math.floor(v.length / 2)];
  const dev = Float64Array.from(v, (x) => Math.abs(x - med)).sort();
  return { median: med, sd: 1.4826 * dev[Math.floor(dev.length / 2)] };
}

/**
 * The sky pixels of an image for the noise estimate: valid (finite data, finite positive σ), not in `exclude` and,
 * where `box` is given, inside it; off sources: a pixel is dropped where its 5×5 mean of z = y/σ lies more than 4
 * robust standard deviations of that mean above the median, or z itself more than 6 from it (hot pixels, either
 * sign), both grown by 8 pixels. (A two-sided clip of the smoothed field took pure noise's largest low-frequency
 * excursions, both signs, and biased the large-scale variance low by 20 % on the unit tests' field.)
 */
export function skyPixels(data: ArrayLike<number>, sigma: ArrayLike<number>, shape: Shape2, exclude: Uint8Array | null, box?: PixelBox, opts: { clip?: number; grow?: number } = {}): Uint8Array {
  const [ny, nx] = shape;
  const n = ny * nx;
  const cand = new Uint8Array(n);
  const z = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    const i = Math.floor(k / nx);
    const j = k - i * nx;
    if (box && (j < box.x0 || j >= box.x1 || i < box.y0 || i >= box.y1)) continue;
    if (exclude && exclude[k]) continue;
    const s = sigma[k];
    const y = data[k];
    if (!finitePositive(s) || !Number.isFinite(y)) continue;
    cand[k] = 1;
    z[k] = y / s;
  }
  const vals: number[] = [];
  for (let k = 0; k < n; k++) if (cand[k]) vals.push(z[k]);
  const zr = robust(vals);
  const sum5 = boxSum(z, ny, nx, 2);
  const cnt5 = boxSum(Float64Array.from(cand), ny, nx, 2);
  const mean5 = new Float64Array(n);
  const m5: number[] = [];
  for (let k = 0; k < n; k++) {
    if (!cand[k] || cnt5[k] < 1) continue;
    mean5[k] = sum5[k] / cnt5[k];
    m5.push(mean5[k]);
  }
  const mr = robust(m5);
  const src = new Uint8Array(n);
  for (let k = 0; k < n; k++) {
    if (!cand[k]) continue;
    if (mean5[k] - mr.median > (opts.clip ?? 4) * mr.sd || Math.abs(z[k] - zr.median) > 6 * zr.sd) src[k] = 1;
  }
  const grown = dilate(src, ny, nx, opts.grow ?? 8);
  const out = new Uint8Array(n);
  for (let k = 0; k < n; k++) out[k] = cand[k] && !grown[k] ? 1 : 0;
  return out;
}

/** The tapered lags (as spectrum.ts's), carried to a spectrum on an [my, mx] grid (fft2 layout), floored, mean kept. */
export function spectrumFromLags(lags: Float64Array, maxLag: number, grid: Shape2, floor: number): Float64Array {
  const [my, mx] = grid;
  const L = maxLag;
  const side = 2 * L - 1;
  const half = L;
  const taper = (d: number) => (d <= half / 2 ? 1 : 0.5 * (1 + Math.cos((Math.PI * (d - half / 2)) / (half / 2))));
  const re = new Float64Array(my * mx);
  for (let dy = -L + 1; dy < L; dy++) {
    for (let dx = -L + 1; dx < L; dx++) {
      const c = lags[(dy + L - 1) * side + dx + L - 1] * taper(Math.abs(dy)) * taper(Math.abs(dx));
      re[(((dy % my) + my) % my) * mx + (((dx % mx) + mx) % mx)] += c;
    }
  }
  const c0 = lags[(L - 1) * side + L - 1];
  const im = new Float64Array(my * mx);
  fft2d(re, im, my, mx);
  let mean = 0;
  for (let k = 0; k < re.length; k++) mean += re[k];
  mean /= re.length;
  let sum = 0;
  for (let k = 0; k < re.length; k++) sum += re[k] = Math.max(re[k], floor * mean);
  const scale = c0 / (sum / re.length);
  for (let k = 0; k < re.length; k++) re[k] *= scale;
  return re;
}

/**
 * The correlation of y/σ on the sky pixels `sky` (skyPixels): the local mean removed, the autocovariance over pairs
 * of sky pixels, the neighbour correlations with their white-noise standard errors, the spectrum. Null where the sky
 * holds fewer than MIN_SKY_PIXELS pixels.
 */
export function estimateSkyCorrelation(data: ArrayLike<number>, sigma: ArrayLike<number>, shape: Shape2, sky: Uint8Array, source: 'auto' | PixelBox, maxLag = CORRELATION_MAX_LAG, localBox = LOCAL_BOX): SkyCorrelation | null {
  const [ny, nx] = shape;
  const n = ny * nx;
  let count = 0;
  const z = new Float64Array(n);
  const skyF = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    if (!sky[k]) continue;
    z[k] = data[k] / sigma[k];
    skyF[k] = 1;
    count++;
  }
  if (count < MIN_SKY_PIXELS) return null;
  const r = (localBox - 1) / 2;
  const s = boxSum(z, ny, nx, r);
  const c = boxSum(skyF, ny, nx, r);
  for (let k = 0; k < n; k++) if (sky[k]) z[k] -= s[k] / c[k];
  const L = maxLag;
  const side = 2 * L - 1;
  const lags = new Float64Array(side * side);
  const pairs = new Float64Array(side * side);
  // C(d) = C(−d): the half-plane, mirrored
  for (let dy = 0; dy < L; dy++) {
    for (let dx = -L + 1; dx < L; dx++) {
      if (dy === 0 && dx < 0) continue;
      let acc = 0;
      let np = 0;
      for (let i = 0; i + dy < ny; i++) {
        const j0 = Math.max(0, -dx);
        const j1 = Math.min(nx, nx - dx);
        const row = i * nx;
        const row2 = (i + dy) * nx + dx;
        for (let j = j0; j < j1; j++) {
          if (sky[row + j] && sky[row2 + j]) {
            acc += z[row + j] * z[row2 + j];
            np++;
          }
        }
      }
      const v = np ? acc / np : 0;
      lags[(dy + L - 1) * side + dx + L - 1] = v;
      lags[(-dy + L - 1) * side - dx + L - 1] = v;
      pairs[(dy + L - 1) * side + dx + L - 1] = np;
      pairs[(-dy + L - 1) * side - dx + L - 1] = np;
    }
  }
  const ci = (dy: number, dx: number) => (dy + L - 1) * side + dx + L - 1;
  // the local mean's bias: E Ĉ(d) = C(d) − S·γ(d)/B², S = P(0) = Σ C; with the lags' taper t(d), Σ t Ĉ = S (1 − G)
  const B = 2 * r + 1;
  const half = L;
  const taper = (d: number) => (d <= half / 2 ? 1 : 0.5 * (1 + Math.cos((Math.PI * (d - half / 2)) / (half / 2))));
  const gamma = (dy: number, dx: number) => 2 - (1 - Math.abs(dx) / B) * (1 - Math.abs(dy) / B);
  let sMeas = 0;
  let G = 0;
  for (let dy = -L + 1; dy < L; dy++) {
    for (let dx = -L + 1; dx < L; dx++) {
      const t = taper(Math.abs(dy)) * taper(Math.abs(dx));
      sMeas += t * lags[ci(dy, dx)];
      G += (t * gamma(dy, dx)) / (B * B);
    }
  }
  const S = sMeas / (1 - G);
  for (let dy = -L + 1; dy < L; dy++) for (let dx = -L + 1; dx < L; dx++) lags[ci(dy, dx)] += (S * gamma(dy, dx)) / (B * B);
  const c0 = lags[ci(0, 0)];
  const spectrum = spectrumFromLags(lags, L, [KERNEL_GRID, KERNEL_GRID], spectrumFloor(count));
  return {
    source,
    skyPixels: count,
    lags,
    maxLag: L,
    varianceRatio: c0,
    lag1: { x: lags[ci(0, 1)] / c0, y: lags[ci(1, 0)] / c0 },
    lag1Error: { x: 1 / Math.sqrt(Math.max(1, pairs[ci(0, 1)])), y: 1 / Math.sqrt(Math.max(1, pairs[ci(1, 0)])) },
    spectrum,
    spectrumShape: [KERNEL_GRID, KERNEL_GRID],
    largeScaleRatio: spectrum[0],
  };
}

/** Whether the estimate's neighbour correlation is significant (CORRELATION_SIGNIFICANCE standard errors). */
export function correlationSignificant(e: SkyCorrelation): boolean {
  return Math.abs(e.lag1.x) > CORRELATION_SIGNIFICANCE * e.lag1Error.x || Math.abs(e.lag1.y) > CORRELATION_SIGNIFICANCE * e.lag1Error.y;
}

export interface WhiteningKernel {
  /** (2R + 1)², row-major, centre (R, R); symmetric */
  data: Float64Array;
  radius: number;
  /** the energy left out by the truncation (fraction of Σ w²) */
  truncatedEnergy: number;
  /** max over modes of |P |Ŵ|² − 1| for the truncated filter */
  whiteness: number;
  /** Σ w: the filter's gain on smooth signal, ≈ P(0)^(−1/2) */
  sum: number;
}

/** W = P^(−1/2) of a spectrum (fft2 layout, [my, mx]) as a real-space kernel, truncated (see the module's comment). */
export function whiteningKernel(spectrum: Float64Array, shape: Shape2): WhiteningKernel {
  const [my, mx] = shape;
  const re = Float64Array.from(spectrum, (p) => 1 / Math.sqrt(p));
  const im = new Float64Array(my * mx);
  fft2d(re, im, my, mx, true);
  let total = 0;
  for (let k = 0; k < re.length; k++) total += re[k] * re[k];
  const at = (dy: number, dx: number) => re[(((dy % my) + my) % my) * mx + (((dx % mx) + mx) % mx)];
  const maxR = Math.min(MAX_KERNEL_RADIUS, Math.floor((Math.min(my, mx) - 1) / 2));
  // the smallest radius whose truncated filter whitens every mode within KERNEL_WHITENESS_TOLERANCE (P |Ŵ_R|² = 1 ± it)
  let R = 2;
  let inside = 0;
  let worst = Infinity;
  for (; R <= maxR; R++) {
    inside = 0;
    const tr = new Float64Array(my * mx);
    const ti = new Float64Array(my * mx);
    for (let dy = -R; dy <= R; dy++) {
      for (let dx = -R; dx <= R; dx++) {
        const v = at(dy, dx);
        inside += v * v;
        tr[(((dy % my) + my) % my) * mx + (((dx % mx) + mx) % mx)] = v;
      }
    }
    fft2d(tr, ti, my, mx);
    worst = 0;
    for (let k = 0; k < tr.length; k++) worst = Math.max(worst, Math.abs(spectrum[k] * (tr[k] * tr[k] + ti[k] * ti[k]) - 1));
    if (worst <= KERNEL_WHITENESS_TOLERANCE) break;
  }
  R = Math.min(R, maxR);
  const w = 2 * R + 1;
  const data = new Float64Array(w * w);
  let sum = 0;
  for (let dy = -R; dy <= R; dy++) {
    for (let dx = -R; dx <= R; dx++) {
      // symmetrised against rounding
      sum += data[(dy + R) * w + dx + R] = 0.5 * (at(dy, dx) + at(-dy, -dx));
    }
  }
  return { data, radius: R, truncatedEnergy: Math.max(0, 1 - inside / total), whiteness: worst, sum };
}

/** Convolution with a (2R + 1)² kernel, zero outside the image, same shape. */
export function convolveSame(img: ArrayLike<number>, shape: Shape2, k: WhiteningKernel): Float64Array {
  const [ny, nx] = shape;
  const R = k.radius;
  const w = 2 * R + 1;
  const out = new Float64Array(ny * nx);
  for (let a = -R; a <= R; a++) {
    for (let b = -R; b <= R; b++) {
      const h = k.data[(a + R) * w + b + R];
      if (h === 0) continue;
      for (let i = Math.max(0, a); i < Math.min(ny, ny + a); i++) {
        const src = (i - a) * nx - b;
        const dst = i * nx;
        for (let j = Math.max(0, b); j < Math.min(nx, nx + b); j++) out[dst + j] += h * img[src + j];
      }
    }
  }
  return out;
}

export interface WhitenedImage {
  /** σ · W∗(y/σ), NaN where no whitened value */
  data: Float64Array;
  /** σ where the whitened value stands, NaN elsewhere */
  sigma: Float64Array;
  /** valid pixels that lost their value: within R of an invalid pixel or of the edge */
  dropped: number;
}

/** data' = σ · W∗(y/σ) (y/σ = 0 where invalid); pixels within R of an invalid pixel or of the edge get NaN. */
export function whitenImage(data: ArrayLike<number>, sigma: ArrayLike<number>, shape: Shape2, k: WhiteningKernel): WhitenedImage {
  const [ny, nx] = shape;
  const n = ny * nx;
  const z = new Float64Array(n);
  const bad = new Uint8Array(n);
  for (let p = 0; p < n; p++) {
    const s = sigma[p];
    const y = data[p];
    if (finitePositive(s) && Number.isFinite(y)) z[p] = y / s;
    else bad[p] = 1;
  }
  const zw = convolveSame(z, shape, k);
  const near = dilate(bad, ny, nx, k.radius);
  const R = k.radius;
  const outD = new Float64Array(n).fill(NaN);
  const outS = new Float64Array(n).fill(NaN);
  let dropped = 0;
  for (let p = 0; p < n; p++) {
    if (bad[p]) continue;
    const i = Math.floor(p / nx);
    const j = p - i * nx;
    if (near[p] || i < R || j < R || i >= ny - R || j >= nx - R) {
      dropped++;
      continue;
    }
    outD[p] = sigma[p] * zw[p];
    outS[p] = sigma[p];
  }
  return { data: outD, sigma: outS, dropped };
}

/** W∗PSF (full support: the PSF's shape + 2R), normalised to unit sum; `gain` is the sum before (the amplitudes' factor). */
export function whitenedPsf(psf: PsfKernel, k: WhiteningKernel): { psf: PsfKernel; gain: number } {
  const [ky, kx] = psf.shape;
  const R = k.radius;
  const w = 2 * R + 1;
  const oy = ky + 2 * R;
  const ox = kx + 2 * R;
  const out = new Float64Array(oy * ox);
  for (let a = 0; a < w; a++) {
    for (let b = 0; b < w; b++) {
      const h = k.data[a * w + b];
      for (let i = 0; i < ky; i++) for (let j = 0; j < kx; j++) out[(i + a) * ox + j + b] += h * psf.data[i * kx + j];
    }
  }
  let sum = 0;
  for (const v of out) sum += v;
  for (let t = 0; t < out.length; t++) out[t] /= sum;
  return { psf: { data: out, shape: [oy, ox], center: [psf.center[0] + R, psf.center[1] + R] }, gain: sum };
}

/**
 * The approximation's error on a model μ (data units) at the fitted pixels: σ · W∗(μ/σ) (what the data's whitening
 * does to the model) against W∗μ (what the fit's whitened PSF does), in units of σ: the largest and the rms.
 */
export function approximationError(model: ArrayLike<number>, sigma: ArrayLike<number>, shape: Shape2, k: WhiteningKernel, pixels: ArrayLike<number>): { max: number; rms: number } {
  const n = shape[0] * shape[1];
  const z = new Float64Array(n);
  for (let p = 0; p < n; p++) z[p] = finitePositive(sigma[p]) ? model[p] / sigma[p] : 0;
  const a = convolveSame(z, shape, k);
  const b = convolveSame(model, shape, k);
  let max = 0;
  let ss = 0;
  for (let t = 0; t < pixels.length; t++) {
    const p = pixels[t];
    const e = Math.abs(a[p] - b[p] / sigma[p]);
    if (e > max) max = e;
    ss += e * e;
  }
  return { max, rms: pixels.length ? Math.sqrt(ss / pixels.length) : 0 };
}

const f3 = (v: number) => v.toFixed(3);

/**
 * The decision for the lens fit: 'none' keeps σ as given; 'auto' measures the sky (the box `region`, else the
 * automatic selection outside `exclude`) and whitens where the neighbour correlation is significant.
 */
export function decideNoiseCorrelation(
  data: ArrayLike<number>,
  sigma: ArrayLike<number>,
  shape: Shape2,
  mode: NoiseCorrelationMode,
  exclude: Uint8Array | null,
  region?: PixelBox,
  /** the automatic sky's description in the text (default: the blank sky outside the fitted region) */
  skyText?: string,
): CorrelationDecision {
  if (mode === 'none') return { mode, whiten: false, estimate: null, text: 'noise correlation: none (--noise-correlation none): σ as given, the noise taken as white' };
  const sky = skyPixels(data, sigma, shape, region ? null : exclude, region);
  const est = estimateSkyCorrelation(data, sigma, shape, sky, region ?? 'auto');
  const where = region ? `the noise region ${region.x0},${region.y0},${region.x1},${region.y1}` : (skyText ?? 'the blank sky outside the fitted region');
  if (!est) {
    let c = 0;
    for (const v of sky) c += v;
    return { mode, whiten: false, estimate: null, skyPixels: c, text: `noise correlation: not measured (${c} sky pixels in ${where}, ${MIN_SKY_PIXELS} needed): the noise taken as white` };
  }
  if (skyNotBlank(est)) {
    return {
      mode,
      whiten: false,
      estimate: est,
      skyPixels: est.skyPixels,
      text: `noise correlation: not used: ${where} is not blank (large-scale variance / σ² ${f3(est.largeScaleRatio)}, ${f3(est.largeScaleRatio / est.varianceRatio)}× the per-pixel variance, above ${MAX_LARGE_SCALE_RATIO}; neighbour correlation ${f3(est.lag1.x)} / ${f3(est.lag1.y)}): the noise taken as white; give a blank-sky box with --noise-region`,
    };
  }
  const whiten = correlationSignificant(est);
  const stats =
    `neighbour correlation ${f3(est.lag1.x)} (x) / ${f3(est.lag1.y)} (y) ± ${f3(Math.max(est.lag1Error.x, est.lag1Error.y))}, ` +
    `per-pixel variance / σ² ${f3(est.varianceRatio)}, large-scale ${f3(est.largeScaleRatio)}, from ${est.skyPixels} pixels of ${where}`;
  return {
    mode,
    whiten,
    estimate: est,
    skyPixels: est.skyPixels,
    text: whiten
      ? `noise correlation: correlated (${stats}): the data and the PSF whitened, χ² in the whitened space`
      : `noise correlation: not significant (${stats}; ${CORRELATION_SIGNIFICANCE} standard errors needed): the noise taken as white`,
  };
}

/** The realisation's side (REALISATION_SIZE²): 225 tiles of spectrum.ts's 32², a few per cent per mode on re-estimation. */
export const REALISATION_SIZE = 256;

/**
 * A seeded draw of the measured noise of y/σ on a size² grid (periodic: F⁻¹ √P F g, g white): a noise-only image
 * whose spectrum estimateNoiseSpectrum measures back (model.json's correlated noise block reads it as its `image`).
 */
export function noiseRealisation(e: SkyCorrelation, size = REALISATION_SIZE, seed = 1): Float64Array {
  const P = spectrumFromLags(e.lags, e.maxLag, [size, size], spectrumFloor(e.skyPixels));
  const rng = new SeededRandom(seed);
  const re = new Float64Array(size * size);
  const im = new Float64Array(size * size);
  for (let k = 0; k < re.length; k++) re[k] = rng.normal();
  fft2d(re, im, size, size);
  for (let k = 0; k < re.length; k++) {
    const a = Math.sqrt(P[k]);
    re[k] *= a;
    im[k] *= a;
  }
  fft2d(re, im, size, size, true);
  return re;
}
