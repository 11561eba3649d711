/**
 * Where the squared error of an image reconstruction against a known truth lies (scripts/radio-error-budget.ts):
 * by region of the truth (its bright part, its wings, the empty sky) and by spatial frequency (below the shortest
 * baseline, the band the baselines reach, beyond the longest), with the best single scale factor on the image.
 */

export interface ErrorBudget {
  /** Sum of squared errors over all pixels. */
  sse: number;
  /** Sums of squared errors by region of the truth: bright (≥ brightFraction of its peak), wings (≥ emptyFraction), empty. */
  region: { bright: number; wings: number; empty: number };
  /** Pixels per region. */
  pixels: { bright: number; wings: number; empty: number };
  /** Mean error (image − truth) over the empty pixels. */
  emptyMeanError: number;
  /** Sums of squared errors by band of |f| (cycles per pixel): [0, fMin), [fMin, fMax], (fMax, …]; they add up to sse. */
  band: { hole: number; measured: number; beyond: number };
  /** Sums of the image and of the truth. */
  flux: number;
  truthFlux: number;
  /** a minimising ‖a·image − truth‖², and the sum of squared errors at it. */
  bestScale: number;
  sseBestScale: number;
}

/**
 * The error budget of `image` against `truth` (both ny × nx, row-major). Regions by the truth relative to its peak:
 * bright ≥ `brightFraction` (default 0.1), wings ≥ `emptyFraction` (default 1e-3), else empty. Bands by the
 * radius |f| of the error's discrete Fourier frequencies (cycles per pixel); by Parseval the three add up to sse.
 */
export function errorBudget(
  image: ArrayLike<number>,
  truth: ArrayLike<number>,
  ny: number,
  nx: number,
  fMin: number,
  fMax: number,
  brightFraction = 0.1,
  emptyFraction = 1e-3,
): ErrorBudget {
  const n = ny * nx;
  if (image.length !== n || truth.length !== n) throw new RangeError(`errorBudget: images of ${n} pixels needed (got ${image.length} and ${truth.length})`);
  let peak = 0;
  for (let i = 0; i < n; i++) peak = Math.max(peak, truth[i]);
  const e = new Float64Array(n);
  const region = { bright: 0, wings: 0, empty: 0 };
  const pixels = { bright: 0, wings: 0, empty: 0 };
  let sse = 0;
  let emptySum = 0;
  let flux = 0;
  let truthFlux = 0;
  let xt = 0;
  let xx = 0;
  for (let i = 0; i < n; i++) {
    e[i] = image[i] - truth[i];
    sse += e[i] * e[i];
    flux += image[i];
    truthFlux += truth[i];
    xt += image[i] * truth[i];
    xx += image[i] * image[i];
    const t = peak > 0 ? truth[i] / peak : 0;
    const r = t >= brightFraction ? 'bright' : t >= emptyFraction ? 'wings' : 'empty';
    region[r] += e[i] * e[i];
    pixels[r]++;
    if (r === 'empty') emptySum += e[i];
  }
  const bestScale = xx > 0 ? xt / xx : 0;
  let sseBestScale = 0;
  for (let i = 0; i < n; i++) sseBestScale += (bestScale * image[i] - truth[i]) ** 2;

  // the error's 2-D DFT by rows then columns (direct sums: meant for images of a few thousand pixels)
  const re = new Float64Array(n);
  const im = new Float64Array(n);
  for (let y = 0; y < ny; y++) {
    for (let kx = 0; kx < nx; kx++) {
      let sr = 0;
      let si = 0;
      for (let x = 0; x < nx; x++) {
        const a = (-2 * Math.PI * kx * x) / nx;
        sr += e[y * nx + x] * Math.cos(a);
        si += e[y * nx + x] * Math.sin(a);
      }
      re[y * nx + kx] = sr;
      im[y * nx + kx] = si;
    }
  }
  const band = { hole: 0, measured: 0, beyond: 0 };
  for (let kx = 0; kx < nx; kx++) {
    const fx = (kx <= nx / 2 ? kx : kx - nx) / nx;
    for (let ky = 0; ky < ny; ky++) {
      let sr = 0;
      let si = 0;
      for (let y = 0; y < ny; y++) {
        const a = (-2 * Math.PI * ky * y) / ny;
        const c = Math.cos(a);
        const s = Math.sin(a);
        sr += re[y * nx + kx] * c - im[y * nx + kx] * s;
        si += re[y * nx + kx] * s + im[y * nx + kx] * c;
      }
      const fy = (ky <= ny / 2 ? ky : ky - ny) / ny;
      const f = Math.hypot(fx, fy);
      const p = (sr * sr + si * si) / n;
      if (f < fMin) band.hole += p;
      else if (f <= fMax) band.measured += p;
      else band.beyond += p;
    }
  }
  return { sse, region, pixels, emptyMeanError: pixels.empty ? emptySum / pixels.empty : 0, band, flux, truthFlux, bestScale, sseBestScale };
}
