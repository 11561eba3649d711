/**
 * The lens fit's noise measured from the image itself (docs/lensing.md, *Noise from the data*): for a cutout that
 * comes without a noise map or an exposure time (the public SLACS cutouts: no ERR, no WHT, no EXPTIME).
 *
 * σ_sky (`estimateSkySigma`): the per-pixel rms of the blank sky. The candidate sky pixels are the lens fit's own
 * blank sky (valid, outside the fitted region grown, sources clipped: whitening.ts skyPixels, chosen by the caller);
 * each less the mean of the sky pixels in its 31 × 31 box (the deflector's wings, a sky gradient), then clipped at 3
 * robust σ about the median, six passes (faint sources the first clip left), and σ_sky = 1.4826 × MAD of what is
 * kept. Its spread: the same σ in each quadrant of the image about its centre (a gradient in the noise or a part of
 * the sky still holding light shows there), the standard error of their mean.
 *
 * The electrons per data unit e (`estimatePhotonTransfer`; the effective exposure time T for data in e⁻/s): photon
 * transfer. Each pixel's residual h about the least-squares quadratic surface of its 5 × 5 neighbourhood (a linear
 * high-pass filter: it removes a smooth profile, keeps most of the noise) has, where the smooth flux s above the sky
 * is s, the variance var(h·n) = (σ_sky² + s/e)·Σ(h∗k)², k the drizzle's (unknown) correlation kernel; on the blank
 * sky, σ_sky²·Σ(h∗k)². Their ratio, 1 + s/(e σ_sky²), does not depend on the correlation: the sources' photons are
 * drizzled as the sky's are. Measured in bins of s (robust variances, 1.4826 MAD), the ratio's excess over 1 against
 * s is a line through the origin of slope k = 1/(e σ_sky²), fitted by weighted least squares (weights n/ratio²: a
 * robust variance's relative error goes as 1/√n). The bins: five, geometric in s, over the fluxes at which the
 * Poisson variance is PT_EXCESS_RANGE (0.5–6.5) times the sky's — below, the excess is small against the sky's
 * scatter; above, the pixels are the deflector's core, where a quadratic does not follow the profile and the residual
 * holds its structure —, found by iteration from a first pass in quantiles of s; a bin needs PT_MIN_BIN_PIXELS
 * pixels. e then goes with σ_sky as measured (the per-pixel σ); for σ of another scale (a σ map, 1/√WHT) the same k
 * gives e = 1/(k σ²) with σ that map's sky level, so that the Poisson term keeps its measured ratio to the sky's.
 *
 * Pure functions of the arrays; the command line and the app's job choose the sky and the pixels
 * (src-main/lens-fit/inputs.ts).
 */
import type { Shape2 } from '../operators/types.js';

/** The local mean's box (pixels), as the noise correlation's estimate. */
export const SKY_LOCAL_BOX = 31;
/** Clip passes and their threshold (robust σ) of the sky's σ. */
export const SKY_CLIP_PASSES = 6;
export const SKY_CLIP_SIGMA = 3;
/** The range of the Poisson variance over the sky's (s·k) the photon transfer's bins cover. */
export const PT_EXCESS_RANGE: readonly [number, number] = [0.5, 6.5];
export const PT_BINS = 5;
export const PT_MIN_BIN_PIXELS = 40;
/** n × the relative variance of a variance estimated as (1.4826 MAD)² from n Gaussian values (2/n over its 37 % efficiency). */
const MAD_VARIANCE_FACTOR = 5.4;
/** Sky pixels a quadrant needs for its own σ. */
const QUADRANT_MIN_PIXELS = 200;

function median(v: Float64Array): number {
  const s = Float64Array.from(v).sort();
  const n = s.length;
  if (!n) return NaN;
  return n % 2 ? s[(n - 1) / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
}

/** 1.4826 × the median absolute deviation: the σ of a Gaussian, robust to outliers. */
export function robustSigma(v: Float64Array): number {
  const m = median(v);
  return 1.4826 * median(Float64Array.from(v, (x) => Math.abs(x - m)));
}

function pick(a: ArrayLike<number>, m: ArrayLike<number>): Float64Array {
  const out: number[] = [];
  for (let k = 0; k < m.length; k++) if (m[k] && Number.isFinite(a[k])) out.push(a[k]);
  return Float64Array.from(out);
}

/** The mean of `a` over the pixels of `m` in the (2r + 1)² box about each pixel (0 where none). */
function boxMean(a: ArrayLike<number>, m: ArrayLike<number>, shape: Shape2, r: number): Float64Array {
  const [ny, nx] = shape;
  // summed-area tables of a·m and m
  const W = nx + 1;
  const sa = new Float64Array((ny + 1) * W);
  const sm = new Float64Array((ny + 1) * W);
  for (let i = 0; i < ny; i++) {
    let ra = 0;
    let rm = 0;
    for (let j = 0; j < nx; j++) {
      const k = i * nx + j;
      if (m[k]) {
        ra += a[k];
        rm += 1;
      }
      sa[(i + 1) * W + j + 1] = sa[i * W + j + 1] + ra;
      sm[(i + 1) * W + j + 1] = sm[i * W + j + 1] + rm;
    }
  }
  const out = new Float64Array(ny * nx);
  for (let i = 0; i < ny; i++) {
    const i0 = Math.max(0, i - r);
    const i1 = Math.min(ny, i + r + 1);
    for (let j = 0; j < nx; j++) {
      const j0 = Math.max(0, j - r);
      const j1 = Math.min(nx, j + r + 1);
      const rect = (t: Float64Array) => t[i1 * W + j1] - t[i0 * W + j1] - t[i1 * W + j0] + t[i0 * W + j0];
      const c = rect(sm);
      out[i * nx + j] = c > 0 ? rect(sa) / c : 0;
    }
  }
  return out;
}

export interface SkySigmaEstimate {
  /** the blank sky's per-pixel rms (data units) */
  sigma: number;
  /** the sky pixels offered and those kept after the clip */
  candidatePixels: number;
  skyPixels: number;
  /**
   * the median of the data on the outer half of the kept sky pixels (those farther from the image centre than their
   * median distance; data units): the sky's level as the cutout holds it, with as little of a centred deflector's
   * wings as the sky allows
   */
  skyMedian: number;
  /** σ in each quadrant about the image centre (x < centre, y < centre first; null: under 200 sky pixels there) */
  quadrants: (number | null)[];
  /** the standard error of σ from the quadrants' spread (null: fewer than two quadrants) */
  standardError: number | null;
  /** the kept sky pixels (1), for the photon transfer's sky variance */
  keep: Uint8Array;
}

/**
 * σ_sky from the candidate sky pixels `sky` (1 = blank sky): the 31 × 31 local mean off, six 3σ clips, 1.4826 MAD.
 * Null where fewer than `minPixels` candidates are offered.
 */
export function estimateSkySigma(data: ArrayLike<number>, shape: Shape2, sky: Uint8Array, minPixels: number): SkySigmaEstimate | null {
  const [ny, nx] = shape;
  const n = ny * nx;
  let candidates = 0;
  const cand = new Uint8Array(n);
  for (let k = 0; k < n; k++) {
    if (sky[k] && Number.isFinite(data[k])) {
      cand[k] = 1;
      candidates++;
    }
  }
  if (candidates < minPixels) return null;
  const local = boxMean(data, cand, shape, (SKY_LOCAL_BOX - 1) / 2);
  const z = Float64Array.from(data, (v, k) => (cand[k] ? v - local[k] : NaN));
  let keep = cand;
  for (let pass = 0; pass < SKY_CLIP_PASSES; pass++) {
    const v = pick(z, keep);
    const m = median(v);
    const s = robustSigma(v);
    const next = new Uint8Array(n);
    for (let k = 0; k < n; k++) if (cand[k] && Math.abs(z[k] - m) < SKY_CLIP_SIGMA * s) next[k] = 1;
    keep = next;
  }
  const sigma = robustSigma(pick(z, keep));
  const quadrants: (number | null)[] = [];
  for (const [qy, qx] of [
    [0, 0],
    [0, 1],
    [1, 0],
    [1, 1],
  ]) {
    const m = new Uint8Array(n);
    let c = 0;
    for (let i = 0; i < ny; i++) {
      if ((i >= ny / 2 ? 1 : 0) !== qy) continue;
      for (let j = 0; j < nx; j++) {
        if ((j >= nx / 2 ? 1 : 0) !== qx) continue;
        if (keep[i * nx + j]) {
          m[i * nx + j] = 1;
          c++;
        }
      }
    }
    quadrants.push(c >= QUADRANT_MIN_PIXELS ? robustSigma(pick(z, m)) : null);
  }
  const q = quadrants.filter((v): v is number => v !== null);
  let standardError: number | null = null;
  if (q.length >= 2) {
    const mean = q.reduce((a, b) => a + b, 0) / q.length;
    const sd = Math.sqrt(q.reduce((a, b) => a + (b - mean) ** 2, 0) / (q.length - 1));
    standardError = sd / Math.sqrt(q.length);
  }
  let kept = 0;
  for (const v of keep) kept += v;
  const dist = Float64Array.from({ length: n }, (_, k) => Math.hypot(Math.floor(k / nx) - (ny - 1) / 2, (k % nx) - (nx - 1) / 2));
  const dMid = median(pick(dist, keep));
  const outer = Uint8Array.from(keep, (v, k) => (v && dist[k] >= dMid ? 1 : 0));
  return { sigma, candidatePixels: candidates, skyPixels: kept, skyMedian: median(pick(data, outer)), quadrants, standardError, keep };
}

/**
 * The weights of the least-squares quadratic surface a + bx + cy + dx² + ey² + fxy over the 5 × 5 offsets, evaluated
 * at the centre: the first row of (AᵀA)⁻¹Aᵀ, 25 values row-major (dy, dx from −2 to 2).
 */
export function quadraticCentreWeights(): Float64Array {
  const rows: number[][] = [];
  for (let dy = -2; dy <= 2; dy++) for (let dx = -2; dx <= 2; dx++) rows.push([1, dx, dy, dx * dx, dy * dy, dx * dy]);
  const m = 6;
  // AᵀA and its inverse by Gauss–Jordan (well conditioned: the offsets' moments)
  const ata = Array.from({ length: m }, (_, a) => Array.from({ length: m }, (_, b) => rows.reduce((s, r) => s + r[a] * r[b], 0)));
  const inv = Array.from({ length: m }, (_, a) => Array.from({ length: m }, (_, b) => (a === b ? 1 : 0)));
  for (let c = 0; c < m; c++) {
    let p = c;
    for (let r = c + 1; r < m; r++) if (Math.abs(ata[r][c]) > Math.abs(ata[p][c])) p = r;
    [ata[c], ata[p]] = [ata[p], ata[c]];
    [inv[c], inv[p]] = [inv[p], inv[c]];
    const d = ata[c][c];
    for (let b = 0; b < m; b++) {
      ata[c][b] /= d;
      inv[c][b] /= d;
    }
    for (let r = 0; r < m; r++) {
      if (r === c) continue;
      const f = ata[r][c];
      if (!f) continue;
      for (let b = 0; b < m; b++) {
        ata[r][b] -= f * ata[c][b];
        inv[r][b] -= f * inv[c][b];
      }
    }
  }
  return Float64Array.from(rows, (r) => r.reduce((s, v, b) => s + inv[0][b] * v, 0));
}

/**
 * Each pixel's residual about the quadratic surface of its 5 × 5 neighbourhood (`residual`) and that surface's value
 * at it (`smooth`); NaN within 2 pixels of the edge and where any of the 25 pixels is not finite.
 */
export function quadraticHighPass(data: ArrayLike<number>, shape: Shape2): { residual: Float64Array; smooth: Float64Array } {
  const [ny, nx] = shape;
  const w = quadraticCentreWeights();
  const residual = new Float64Array(ny * nx).fill(NaN);
  const smooth = new Float64Array(ny * nx).fill(NaN);
  for (let i = 2; i < ny - 2; i++) {
    for (let j = 2; j < nx - 2; j++) {
      let s = 0;
      let t = 0;
      for (let u = -2; u <= 2; u++) {
        const row = (i + u) * nx + j;
        for (let v = -2; v <= 2; v++) s += w[t++] * data[row + v];
      }
      if (!Number.isFinite(s)) continue;
      smooth[i * nx + j] = s;
      residual[i * nx + j] = data[i * nx + j] - s;
    }
  }
  return { residual, smooth };
}

export interface PhotonTransferBin {
  /** the bin's edges in s (data units above the sky) and its median s */
  from: number;
  to: number;
  flux: number;
  /** var(h·y) in the bin over var(h·y) on the blank sky */
  varianceRatio: number;
  pixels: number;
  /** e from this bin alone, 1/((ratio − 1)/s · σ²) (Infinity where the ratio is not above 1) */
  electronsPerUnit: number;
}

export interface PhotonTransfer {
  /** electrons per data unit for σ of `sigmaRef` (the effective exposure time, seconds, for data in e⁻/s) */
  electronsPerUnit: number;
  /** its standard error from the bins' scatter about the line */
  standardError: number;
  /** the line's slope: the Poisson variance per unit of s in units of the sky's per-pixel variance (1/(e σ_sky²)) */
  slope: number;
  bins: PhotonTransferBin[];
  /** the robust variance of h on the blank sky (data units²) */
  skyHighPassVariance: number;
  skyHighPassPixels: number;
  /** the level taken off the smooth flux (data units) */
  skyLevel: number;
  iterations: number;
}

/**
 * e by photon transfer: h and s of `data` (quadraticHighPass; s less `skyLevel`), var(h) on the blank sky `sky`
 * (estimateSkySigma's kept pixels), then the bins of s over the pixels of `region` (the fitted pixels: the lens and its
 * arcs) and the line through the origin. `sigmaSky`: the sky's per-pixel σ the bins are placed by (s·k in
 * PT_EXCESS_RANGE); `sigmaRef`: the σ the fit takes for the sky, e = 1/(k σ_ref²). Returns a string (why) where it
 * cannot: too few pixels with signal, or no excess of variance with flux.
 */
export function estimatePhotonTransfer(
  data: ArrayLike<number>,
  shape: Shape2,
  opts: { sky: Uint8Array; region: ArrayLike<number> | null; skyLevel: number; sigmaSky: number; sigmaRef: number },
): PhotonTransfer | string {
  const n = shape[0] * shape[1];
  const { residual, smooth } = quadraticHighPass(data, shape);
  const skyH = pick(residual, opts.sky);
  if (skyH.length < 100) return `the blank sky holds ${skyH.length} pixels away from the image's edge (photon transfer needs its high-pass variance)`;
  const skyVar = robustSigma(skyH) ** 2;
  if (!(skyVar > 0)) return 'the blank sky has no scatter (a constant image?)';
  // the pixels to bin: in the region, s finite
  const idx: number[] = [];
  for (let k = 0; k < n; k++) if ((!opts.region || opts.region[k]) && Number.isFinite(residual[k])) idx.push(k);
  const s = Float64Array.from(idx, (k) => smooth[k] - opts.skyLevel);
  const h = Float64Array.from(idx, (k) => residual[k]);
  const measure = (edges: number[]): PhotonTransferBin[] => {
    const bins: PhotonTransferBin[] = [];
    for (let b = 0; b + 1 < edges.length; b++) {
      const hs: number[] = [];
      const ss: number[] = [];
      for (let t = 0; t < s.length; t++) {
        if (s[t] >= edges[b] && s[t] < edges[b + 1]) {
          hs.push(h[t]);
          ss.push(s[t]);
        }
      }
      if (hs.length < PT_MIN_BIN_PIXELS) continue;
      const ratio = robustSigma(Float64Array.from(hs)) ** 2 / skyVar;
      const flux = median(Float64Array.from(ss));
      bins.push({ from: edges[b], to: edges[b + 1], flux, varianceRatio: ratio, pixels: hs.length, electronsPerUnit: ratio > 1 ? flux / ((ratio - 1) * opts.sigmaRef ** 2) : Infinity });
    }
    return bins;
  };
  const line = (bins: PhotonTransferBin[]) => {
    let sxy = 0;
    let sxx = 0;
    for (const b of bins) {
      const w = b.pixels / Math.max(b.varianceRatio, 1) ** 2;
      sxy += w * b.flux * (b.varianceRatio - 1);
      sxx += w * b.flux * b.flux;
    }
    const slope = sxy / sxx;
    let rss = 0;
    for (const b of bins) rss += (b.pixels / Math.max(b.varianceRatio, 1) ** 2) * (b.varianceRatio - 1 - slope * b.flux) ** 2;
    // the larger of the bins' scatter about the line (few bins: itself uncertain) and the robust variances' own
    // error (1.4826 MAD of n Gaussian values: a variance's relative variance about 5.4/n; more where pixels correlate)
    const scatter = bins.length > 1 ? Math.sqrt(rss / (bins.length - 1) / sxx) : Infinity;
    const se = Math.max(scatter, Math.sqrt(MAD_VARIANCE_FACTOR / sxx));
    return { slope, se };
  };
  const geometric = (lo: number, hi: number) => Array.from({ length: PT_BINS + 1 }, (_, b) => lo * (hi / lo) ** (b / PT_BINS));
  // first pass: quantiles of s over the pixels whose smooth flux is above 5 σ_sky (the core's top 2 % left out)
  const bright = Float64Array.from(s.filter((v) => v > 5 * opts.sigmaSky)).sort();
  const tooFew = (what: string) =>
    `too little signal for photon transfer: ${what} (${PT_BINS} bins of the smooth flux, at least 2 of ${PT_MIN_BIN_PIXELS} pixels each, are needed; give the exposure time instead)`;
  if (bright.length < 2 * PT_MIN_BIN_PIXELS) return tooFew(`${bright.length} pixels of the fitted region are brighter than 5 σ_sky`);
  const top = bright[Math.floor(0.98 * (bright.length - 1))];
  let bins = measure(Array.from({ length: PT_BINS + 1 }, (_, b) => (b === PT_BINS ? top : bright[Math.floor((b / PT_BINS) * (bright.length - 1))])));
  if (bins.length < 2) return tooFew(`${bins.length} bin${bins.length === 1 ? '' : 's'} in the first pass`);
  let { slope, se } = line(bins);
  let iterations = 1;
  // then the bins where the Poisson variance is PT_EXCESS_RANGE times the sky's, until the slope settles; the edges
  // follow the geometric mean of the last two slopes (a bin's edge crossing a few pixels can make the plain iteration
  // alternate between two bin sets)
  let place = slope;
  for (; iterations < 30 && slope > 0; iterations++) {
    // the slope: the Poisson variance per unit of s in units of the sky's, so s·slope is their ratio
    const next = measure(geometric(PT_EXCESS_RANGE[0] / place, PT_EXCESS_RANGE[1] / place));
    if (next.length < 2) return tooFew(`${next.length} bin${next.length === 1 ? '' : 's'} where the Poisson variance would be ${PT_EXCESS_RANGE[0]}–${PT_EXCESS_RANGE[1]}× the sky's`);
    const l = line(next);
    bins = next;
    slope = l.slope;
    se = l.se;
    if (!(slope > 0)) break;
    const moved = Math.abs(slope / place - 1);
    place = Math.sqrt(place * slope);
    if (moved < 0.005) break;
  }
  if (!(slope > 0)) return 'no excess of variance with flux measured (the residual about the local quadratic does not grow with the smooth flux): the data hold no Poisson noise of the sources, or σ_sky is wrong';
  const e = 1 / (slope * opts.sigmaRef ** 2);
  return { electronsPerUnit: e, standardError: (e * se) / slope, slope, bins, skyHighPassVariance: skyVar, skyHighPassPixels: skyH.length, skyLevel: opts.skyLevel, iterations };
}
