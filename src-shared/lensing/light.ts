import { pixelCentre } from '../operators/lens-model.js';
import type { PsfKernel } from '../operators/psf.js';
import { convolve, psfFootprint, qPhiFromEllipticity, type Grid } from './mass.js';

// The deflector's light: elliptical Sérsic profiles whose shapes are fitted and whose amplitudes are linear
// (solved with the source in one linear system, lensing/inversion.ts). Float64.

/**
 * One Sérsic component: centre (x0, y0) in arcsec on the image grid's axes, ellipticity (e1, e2) as for
 * the mass (e = (1 − q)/(1 + q), e1 = e cos 2φ, e2 = e sin 2φ), effective radius rEff (arcsec, on the
 * intermediate axis, as the SIE's θE) and index n. Unit amplitude: I(rEff) = 1.
 */
export interface SersicParams {
  x0: number;
  y0: number;
  e1: number;
  e2: number;
  rEff: number;
  n: number;
}

/**
 * The widths (σ, in pixels of the image) of the tied Gaussian core components (coreComponents), narrowest first.
 */
export const CORE_GAUSSIAN_SIGMAS = [0.5, 1, 2, 4] as const;

/** The most tied Gaussian core components a fit takes (CORE_GAUSSIAN_SIGMAS). */
export const MAX_CORE_GAUSSIANS = CORE_GAUSSIAN_SIGMAS.length;

/**
 * `count` Gaussian components tied to the Sérsic component `first`: its centre and ellipticity, σ of
 * CORE_GAUSSIAN_SIGMAS pixels on the intermediate axis, each a Sérsic of n = 0.5 (b(0.5) = ln 2 to 10⁻³: a Gaussian
 * with rEff = σ √(2 ln 2)). Their amplitudes are linear, of either sign, solved with the others' (a multi-Gaussian
 * correction of the profile and the PSF at the core: a real galaxy's nucleus is steeper than a Sérsic, and a
 * drizzled image's PSF core differs from a model PSF's); their shapes add no parameter.
 */
export function coreComponents(first: SersicParams, count: number, scale: number): SersicParams[] {
  if (!(Number.isInteger(count) && count >= 0 && count <= MAX_CORE_GAUSSIANS)) throw new RangeError(`the number of core Gaussians must be an integer in 0–${MAX_CORE_GAUSSIANS}, got ${count}`);
  const f = Math.sqrt(2 * Math.LN2) * scale;
  return CORE_GAUSSIAN_SIGMAS.slice(0, count).map((sg) => ({ x0: first.x0, y0: first.y0, e1: first.e1, e2: first.e2, rEff: sg * f, n: 0.5 }));
}

/** The fitted Sérsic components followed by the `core` Gaussians tied to the first (none without components). */
export function withCore(light: readonly SersicParams[], core: number, scale: number): SersicParams[] {
  return light.length && core > 0 ? [...light, ...coreComponents(light[0], core, scale)] : [...light];
}

/**
 * b(n) with ∫₀^rEff I 2πr dr = half the total: Ciotti & Bertin (1999)'s asymptotic series for n ≥ 0.36,
 * MacArthur, Courteau & Holtzman (2003)'s polynomial below.
 */
export function sersicB(n: number): number {
  if (n >= 0.36) return 2 * n - 1 / 3 + 4 / (405 * n) + 46 / (25515 * n * n) + 131 / (1148175 * n ** 3) - 2194697 / (30690717750 * n ** 4);
  return 0.01945 - 0.8902 * n + 10.95 * n * n - 19.67 * n ** 3 + 13.43 * n ** 4;
}

/**
 * The profile's floor: where I falls below PROFILE_FLOOR × I(0) it is 0 (sersicSupport). Far below a float64's
 * resolution of the profile's peak (2⁻⁵² ≈ 2·10⁻¹⁶), so no pixel near the peak changes; it gives the compact
 * components (the core Gaussians, small n) a finite support that the light's columns render and blur alone.
 */
export const PROFILE_FLOOR = 1e-18;

/**
 * The elliptical radius (arcsec, as rEff) beyond which the profile is below PROFILE_FLOOR of its central value:
 * exp(−b·(r/rEff)^{1/n}) < PROFILE_FLOOR for r > rEff·(ln(1/PROFILE_FLOOR)/b)^n. 7.7 rEff for a Gaussian (n = 0.5),
 * 25 rEff for n = 1, and beyond any cutout for n ≳ 2.
 */
export function sersicSupport(p: SersicParams): number {
  return p.rEff * Math.pow(Math.log(1 / PROFILE_FLOOR) / sersicB(p.n), p.n);
}

/**
 * The profile I = exp(−b(n)·((r/rEff)^{1/n} − 1)) at (x, y), with the elliptical radius
 * r = √(q x'² + y'²/q), x' = c dx + s dy, y' = −s dx + c dy (the SIE's convention: rEff on the intermediate axis);
 * 0 beyond sersicSupport.
 */
export function sersicProfile(p: SersicParams): (x: number, y: number) => number {
  const { q, phi } = qPhiFromEllipticity(p.e1, p.e2);
  const c = Math.cos(phi);
  const s = Math.sin(phi);
  const b = sersicB(p.n);
  const inv = 1 / p.n;
  const rMax = sersicSupport(p) / p.rEff;
  return (x, y) => {
    const dx = x - p.x0;
    const dy = y - p.y0;
    const xp = c * dx + s * dy;
    const yp = -s * dx + c * dy;
    const r = Math.sqrt(q * xp * xp + (yp * yp) / q) / p.rEff;
    return r > rMax ? 0 : Math.exp(-b * (Math.pow(r, inv) - 1));
  };
}

/**
 * The rows [i0, i1] and columns [j0, j1] (inclusive, on the grid) outside which the component's pixel means are 0:
 * the pixels that reach within sersicSupport of its centre (the ellipse r ≤ R lies within R/√q of the centre along
 * either axis), a pixel's margin added; null where none is on the grid.
 */
export function supportBox(p: SersicParams, grid: Grid): [number, number, number, number] | null {
  const [ny, nx] = grid.shape;
  const s = grid.scale;
  const { q } = qPhiFromEllipticity(p.e1, p.e2);
  const h = sersicSupport(p) / Math.sqrt(q);
  if (!Number.isFinite(h)) return [0, ny - 1, 0, nx - 1];
  const lo = (c: number, n: number) => Math.max(0, Math.floor((c - h) / s + (n - 1) / 2 - 1));
  const hi = (c: number, n: number) => Math.min(n - 1, Math.ceil((c + h) / s + (n - 1) / 2 + 1));
  const box: [number, number, number, number] = [lo(p.y0, ny), hi(p.y0, ny), lo(p.x0, nx), hi(p.x0, nx)];
  return box[0] > box[1] || box[2] > box[3] ? null : box;
}

/**
 * The profile averaged over each pixel of `grid` (ss² sub-pixels at the ray-shooting offsets; pixels within
 * two pixels of the centre, where the profile is steepest, with 4·ss per side).
 */
export function sersicImage(p: SersicParams, grid: Grid, ss = 3): Float64Array {
  const [ny, nx] = grid.shape;
  const f = sersicProfile(p);
  const out = new Float64Array(ny * nx);
  const box = supportBox(p, grid);
  if (!box) return out;
  const [i0, i1, j0, j1] = box;
  for (let i = i0; i <= i1; i++) for (let j = j0; j <= j1; j++) out[i * nx + j] = pixelMean(f, p, grid, i, j, ss);
  return out;
}

/** The profile `f` of component `p` averaged over pixel (i, j) of the grid, as sersicImage averages it. */
function pixelMean(f: (x: number, y: number) => number, p: SersicParams, grid: Grid, i: number, j: number, ss: number): number {
  const [ny, nx] = grid.shape;
  const s = grid.scale;
  const yc = pixelCentre(i, ny, s);
  const xc = pixelCentre(j, nx, s);
  const near = Math.abs(xc - p.x0) <= 2 * s && Math.abs(yc - p.y0) <= 2 * s;
  const m = near ? 4 * ss : ss;
  let sum = 0;
  for (let a = 0; a < m; a++) {
    const y = yc + ((a + 0.5) / m - 0.5) * s;
    for (let b = 0; b < m; b++) sum += f(xc + ((b + 0.5) / m - 0.5) * s, y);
  }
  return sum / (m * m);
}

/**
 * The blurred image's value at pixel `p`: Σ h[a, b] · img[i − (a − cy), j − (b − cx)] over the kernel in
 * `convolve`'s order (rows a, then columns b, zero taps and taps off the image left out), so the same sum bit for bit.
 */
function blurAt(psf: PsfKernel | null, ny: number, nx: number, img: Float64Array, p: number): number {
  if (!psf) return img[p];
  const [kh, kw] = psf.shape;
  const [cy, cx] = psf.center;
  const hk = psf.data;
  const i = Math.floor(p / nx);
  const j = p - i * nx;
  let v = 0;
  for (let a = 0; a < kh; a++) {
    const si = i - (a - cy);
    if (si < 0 || si >= ny) continue;
    const row = si * nx + j + cx;
    const b0 = Math.max(0, j + cx - nx + 1);
    const b1 = Math.min(kw, j + cx + 1);
    for (let b = b0; b < b1; b++) {
      const h = hk[a * kw + b];
      if (h !== 0) v += h * img[row - b];
    }
  }
  return v;
}

/**
 * blurAt for an image that is 0 outside the rows [i0, i1] and columns [j0, j1] of `box`: only the taps that read
 * the box, in `convolve`'s order (those left out add exact zeros), so the same sum bit for bit; `img` is read
 * within the box alone.
 */
function blurFromBox(psf: PsfKernel | null, nx: number, img: Float64Array, p: number, box: [number, number, number, number]): number {
  const [i0, i1, j0, j1] = box;
  const i = Math.floor(p / nx);
  const j = p - i * nx;
  if (!psf) return i >= i0 && i <= i1 && j >= j0 && j <= j1 ? img[p] : 0;
  const [kh, kw] = psf.shape;
  const [cy, cx] = psf.center;
  const hk = psf.data;
  // source row si = i − (a − cy) within [i0, i1], source column sj = j − (b − cx) within [j0, j1]
  const a0 = Math.max(0, i + cy - i1);
  const a1 = Math.min(kh - 1, i + cy - i0);
  const b0 = Math.max(0, j + cx - j1);
  const b1 = Math.min(kw - 1, j + cx - j0);
  let v = 0;
  for (let a = a0; a <= a1; a++) {
    const row = (i - (a - cy)) * nx + j + cx;
    for (let b = b0; b <= b1; b++) {
      const h = hk[a * kw + b];
      if (h !== 0) v += h * img[row - b];
    }
  }
  return v;
}

/** The PSF-blurred image of each component, restricted to the listed pixels: the light's columns of the linear model. */
export function lightColumns(components: readonly SersicParams[], grid: Grid, psf: PsfKernel | null, pixels: ArrayLike<number>, ss = 3): Float64Array[] {
  // the profile only where the listed pixels' PSF footprints reach and the convolution only at the listed pixels:
  // the values of convolve(sersicImage(…)) at them, bit for bit (tested)
  const fp = psfFootprint(grid.shape, psf, pixels);
  const [ny, nx] = grid.shape;
  const img = new Float64Array(ny * nx);
  const taps = psf ? kernelTaps(psf, nx) : null;
  // the rows whose pixel has every tap on the image (the flat taps) and the others (blurAt), the same for every component
  const inner = new Int32Array(pixels.length);
  const border = new Int32Array(pixels.length);
  let nIn = 0;
  let nBorder = 0;
  if (psf) {
    const [kh, kw] = psf.shape;
    const [cy, cx] = psf.center;
    const iLo = kh - 1 - cy;
    const iHi = ny - 1 - cy;
    const jLo = kw - 1 - cx;
    const jHi = nx - 1 - cx;
    for (let r = 0; r < pixels.length; r++) {
      const p = pixels[r];
      const i = Math.floor(p / nx);
      const j = p - i * nx;
      if (i < iLo || i > iHi || j < jLo || j > jHi) border[nBorder++] = r;
      else inner[nIn++] = r;
    }
  }
  return components.map((c) => {
    const f = sersicProfile(c);
    const col = new Float64Array(pixels.length);
    const box = supportBox(c, grid);
    if (!box) return col;
    const [i0, i1, j0, j1] = box;
    if (i0 > 0 || j0 > 0 || i1 < ny - 1 || j1 < nx - 1) {
      // a compact component (a core Gaussian): rendered within its support box, blurred from it alone
      for (const k of fp.pixels) {
        const i = Math.floor(k / nx);
        const j = k - i * nx;
        if (i >= i0 && i <= i1 && j >= j0 && j <= j1) img[k] = pixelMean(f, c, grid, i, j, ss);
      }
      for (let r = 0; r < pixels.length; r++) col[r] = blurFromBox(psf, nx, img, pixels[r], box);
      return col;
    }
    for (const k of fp.pixels) {
      const i = Math.floor(k / nx);
      img[k] = pixelMean(f, c, grid, i, k - i * nx, ss);
    }
    if (!psf || !taps) {
      for (let r = 0; r < pixels.length; r++) col[r] = blurAt(psf, ny, nx, img, pixels[r]);
      return col;
    }
    const { offset, weight, count } = taps;
    for (let b = 0; b < nBorder; b++) col[border[b]] = blurAt(psf, ny, nx, img, pixels[border[b]]);
    // pixels whose every tap lies on the image take the flat taps, in convolve's order (the same sum bit for bit),
    // eight pixels at a time: eight independent sums, each in its own order (one sum alone waits on each addition)
    let q = 0;
    for (; q + 7 < nIn; q += 8) {
      const p0 = pixels[inner[q]];
      const p1 = pixels[inner[q + 1]];
      const p2 = pixels[inner[q + 2]];
      const p3 = pixels[inner[q + 3]];
      const p4 = pixels[inner[q + 4]];
      const p5 = pixels[inner[q + 5]];
      const p6 = pixels[inner[q + 6]];
      const p7 = pixels[inner[q + 7]];
      let v0 = 0;
      let v1 = 0;
      let v2 = 0;
      let v3 = 0;
      let v4 = 0;
      let v5 = 0;
      let v6 = 0;
      let v7 = 0;
      for (let t = 0; t < count; t++) {
        const h = weight[t];
        const o = offset[t];
        v0 += h * img[p0 + o];
        v1 += h * img[p1 + o];
        v2 += h * img[p2 + o];
        v3 += h * img[p3 + o];
        v4 += h * img[p4 + o];
        v5 += h * img[p5 + o];
        v6 += h * img[p6 + o];
        v7 += h * img[p7 + o];
      }
      col[inner[q]] = v0;
      col[inner[q + 1]] = v1;
      col[inner[q + 2]] = v2;
      col[inner[q + 3]] = v3;
      col[inner[q + 4]] = v4;
      col[inner[q + 5]] = v5;
      col[inner[q + 6]] = v6;
      col[inner[q + 7]] = v7;
    }
    for (; q < nIn; q++) {
      const p = pixels[inner[q]];
      let v = 0;
      for (let t = 0; t < count; t++) v += weight[t] * img[p + offset[t]];
      col[inner[q]] = v;
    }
    return col;
  });
}

/**
 * The PSF's non-zero taps in `convolve`'s order (rows a, then columns b) as flat offsets on an image `nx` wide: tap
 * (a, b) of pixel p reads p + (cy − a)·nx + (cx − b), for a pixel whose every tap lies on the image.
 */
function kernelTaps(psf: PsfKernel, nx: number): { offset: Int32Array; weight: Float64Array; count: number } {
  const [kh, kw] = psf.shape;
  const [cy, cx] = psf.center;
  const offset = new Int32Array(kh * kw);
  const weight = new Float64Array(kh * kw);
  let count = 0;
  for (let a = 0; a < kh; a++) {
    for (let b = 0; b < kw; b++) {
      const h = psf.data[a * kw + b];
      if (h === 0) continue;
      offset[count] = (cy - a) * nx + (cx - b);
      weight[count++] = h;
    }
  }
  return { offset, weight, count };
}

/** The full blurred image Σ aₖ · (P Iₖ) of the components with amplitudes `amps`. */
export function lightImage(components: readonly SersicParams[], amps: ArrayLike<number>, grid: Grid, psf: PsfKernel | null, ss = 3): Float64Array {
  const [ny, nx] = grid.shape;
  const sum = new Float64Array(ny * nx);
  components.forEach((c, k) => {
    const img = sersicImage(c, grid, ss);
    for (let t = 0; t < img.length; t++) sum[t] += amps[k] * img[t];
  });
  return convolve(sum, grid.shape, psf);
}
