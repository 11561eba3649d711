/**
 * CLEAN deconvolution and the restoring beam.
 *
 * Högbom: minor cycles in the image plane — find the residual's largest |value| (inside the mask), add gain × it
 * to the model at that pixel, subtract gain × it × the dirty beam centred there (the beam on the double grid, so
 * every pixel can be reached). Cotton–Schwab: the same minor cycles down to a cycle threshold, then a major
 * cycle — the model's visibilities (through the measurement operator) are subtracted from the data and the
 * residual image is made afresh — until `niter` or `threshold` is met.
 *
 * The restoring beam is an elliptical Gaussian fitted to the dirty beam's main lobe (pixels above 0.35 connected
 * to the centre; ln B fitted by least squares with the peak held at 1), reported as FITS and CASA write it:
 * BMAJ, BMIN as FWHM in degrees, BPA in degrees East of North (−90…90].
 */
import { fft2 as fft2d } from './fft2.js';
import { UserInputError } from '../errors.js';
import { dirtyImage } from './imaging.js';
import type { Measurement } from './measurement.js';
import type { ImageGrid } from './grid.js';

export type CleanMethod = 'hogbom' | 'cotton-schwab';

export interface CleanOptions {
  method: CleanMethod;
  /** Most minor-cycle iterations in all. */
  niter: number;
  /** Loop gain, 0 < g ≤ 1 (default 0.1). */
  gain?: number;
  /** Stop when the residual's peak |value| falls below this (Jy/beam; default 0). */
  threshold?: number;
  /** Pixels CLEAN may place components on (non-zero); default every pixel. */
  mask?: Uint8Array;
  /** Cotton–Schwab: a minor cycle stops at max(threshold, cycleFactor · max sidelobe · the cycle's first peak) (default 1.5). */
  cycleFactor?: number;
  /** Cotton–Schwab: most major cycles (default 50). */
  maxMajor?: number;
  /** Called after each major cycle (and once for Högbom). */
  onCycle?: (info: { major: number; iterations: number; peak: number }) => void;
}

export interface CleanResult {
  /** Jy/pixel, [ny, nx]. */
  model: Float64Array;
  /** Jy/beam, [ny, nx]. */
  residual: Float64Array;
  iterations: number;
  majorCycles: number;
  /** The residual's peak |value| at the end. */
  peak: number;
  stoppedBy: 'niter' | 'threshold' | 'major-cycles';
  /** Flux in the model (Jy). */
  modelFlux: number;
}

/** The largest |value| of an image inside the mask: [index, value]. */
function findPeak(img: Float64Array, mask?: Uint8Array): [number, number] {
  let best = -1;
  let bv = 0;
  for (let i = 0; i < img.length; i++) {
    if (mask && !mask[i]) continue;
    const a = Math.abs(img[i]);
    if (a > bv || best < 0) {
      bv = a;
      best = i;
    }
  }
  return [best, best < 0 ? 0 : img[best]];
}

/** The largest |beam| outside its main lobe (the region of positive values connected to the centre). */
export function maxSidelobe(psfBig: Float64Array, grid: ImageGrid): number {
  const Nx = 2 * grid.nx;
  const Ny = 2 * grid.ny;
  const lobe = mainLobe(psfBig, Nx, Ny, 0);
  let m = 0;
  for (let i = 0; i < psfBig.length; i++) if (!lobe[i]) m = Math.max(m, Math.abs(psfBig[i]));
  return m;
}

/**
 * Högbom minor cycles on `residual` (changed in place), adding to `model`. Stops after `maxIter` iterations or
 * when the peak |residual| falls to `stopAt`. Returns the iterations done and the peak left.
 */
export function hogbomMinor(
  residual: Float64Array,
  model: Float64Array,
  psfBig: Float64Array,
  grid: ImageGrid,
  opts: { gain: number; maxIter: number; stopAt: number; mask?: Uint8Array },
): { iterations: number; peak: number } {
  const { nx, ny } = grid;
  const Nx = 2 * nx;
  let it = 0;
  for (;;) {
    const [p, val] = findPeak(residual, opts.mask);
    if (p < 0 || Math.abs(val) <= opts.stopAt || it >= opts.maxIter) return { iterations: it, peak: Math.abs(val) };
    const py = Math.floor(p / nx);
    const px = p - py * nx;
    const amp = opts.gain * val;
    model[p] += amp;
    // beam centre (ny, nx) of the double grid goes to (py, px)
    const oy = ny - py;
    const ox = nx - px;
    for (let y = 0; y < ny; y++) {
      const b = (y + oy) * Nx + ox;
      const r = y * nx;
      for (let x = 0; x < nx; x++) residual[r + x] -= amp * psfBig[b + x];
    }
    it++;
  }
}

/** Where a CLEAN stands: after each chunk of minor iterations and after each major cycle. */
export interface CleanProgress {
  iterations: number;
  majorCycles: number;
  /** The residual's peak |value| as last measured (Jy/beam). */
  peak: number;
}

/** Minor iterations between two progress reports of `cleanSteps` (the result does not depend on it). */
export const CLEAN_CHUNK = 200;

/**
 * CLEAN of weighted visibilities: A the measurement operator on `grid`, (re, im) the data, w the imaging weights,
 * psfBig the dirty beam on the double grid (imaging.ts dirtyBeam(…, doubleGrid(grid))).
 */
export function clean(
  A: Measurement,
  re: Float64Array,
  im: Float64Array,
  w: Float64Array,
  psfBig: Float64Array,
  opts: CleanOptions,
): CleanResult {
  const it = cleanSteps(A, re, im, w, psfBig, opts);
  for (;;) {
    const r = it.next();
    if (r.done) return r.value;
  }
}

/**
 * CLEAN as a generator: the same arithmetic as `clean`, pausing after every CLEAN_CHUNK minor iterations and after
 * every major cycle with where it stands, so that a caller can report progress and stop between steps. Högbom
 * minor cycles run in chunks that continue one another exactly (each iteration depends only on the residual).
 */
export function* cleanSteps(
  A: Measurement,
  re: Float64Array,
  im: Float64Array,
  w: Float64Array,
  psfBig: Float64Array,
  opts: CleanOptions,
): Generator<CleanProgress, CleanResult, void> {
  const grid = A.grid;
  const gain = opts.gain ?? 0.1;
  const threshold = opts.threshold ?? 0;
  if (!(gain > 0 && gain <= 1)) throw new UserInputError(`the CLEAN gain must lie in (0, 1], got ${gain}`);
  if (!Number.isInteger(opts.niter) || opts.niter < 0) throw new UserInputError(`niter must be a whole number ≥ 0, got ${opts.niter}`);
  if (!(threshold >= 0)) throw new UserInputError(`the CLEAN threshold must be ≥ 0 Jy, got ${threshold}`);
  if (opts.mask && opts.mask.length !== grid.nx * grid.ny) throw new UserInputError(`the mask has ${opts.mask.length} pixels, the image ${grid.nx * grid.ny}`);
  const model = new Float64Array(grid.nx * grid.ny);
  let residual = dirtyImage(A, re, im, w);
  let iterations = 0;
  let major = 0;
  let peak = findPeak(residual, opts.mask)[1];
  peak = Math.abs(peak);
  let stoppedBy: CleanResult['stoppedBy'];
  // Högbom minor cycles down to stopAt, at most maxIter, in chunks with a report after each full one
  function* minor(maxIter: number, stopAt: number): Generator<CleanProgress, { iterations: number; peak: number }, void> {
    let done = 0;
    for (;;) {
      const chunk = Math.min(CLEAN_CHUNK, maxIter - done);
      const r = hogbomMinor(residual, model, psfBig, grid, { gain, maxIter: chunk, stopAt, mask: opts.mask });
      done += r.iterations;
      if (r.iterations < chunk || done >= maxIter) return { iterations: done, peak: r.peak };
      yield { iterations: iterations + done, majorCycles: major, peak: r.peak };
    }
  }
  if (opts.method === 'hogbom') {
    const r = yield* minor(opts.niter, threshold);
    iterations = r.iterations;
    peak = r.peak;
    stoppedBy = peak <= threshold ? 'threshold' : 'niter';
    opts.onCycle?.({ major: 0, iterations, peak });
  } else {
    const side = Math.min(0.95, (opts.cycleFactor ?? 1.5) * maxSidelobe(psfBig, grid));
    const maxMajor = opts.maxMajor ?? 50;
    for (;;) {
      if (peak <= threshold) {
        stoppedBy = 'threshold';
        break;
      }
      if (iterations >= opts.niter) {
        stoppedBy = 'niter';
        break;
      }
      if (major >= maxMajor) {
        stoppedBy = 'major-cycles';
        break;
      }
      const stopAt = Math.max(threshold, side * peak);
      const r = yield* minor(opts.niter - iterations, stopAt);
      iterations += r.iterations;
      // major cycle: residual visibilities through the measurement operator
      const mv = A.forward(model);
      const rr = Float64Array.from(re, (x, k) => x - mv.re[k]);
      const ri = Float64Array.from(im, (x, k) => x - mv.im[k]);
      residual = dirtyImage(A, rr, ri, w);
      major++;
      peak = Math.abs(findPeak(residual, opts.mask)[1]);
      opts.onCycle?.({ major, iterations, peak });
      yield { iterations, majorCycles: major, peak };
      if (r.iterations === 0) {
        stoppedBy = peak <= threshold ? 'threshold' : 'niter';
        break;
      }
    }
  }
  let modelFlux = 0;
  for (const x of model) modelFlux += x;
  return { model, residual, iterations, majorCycles: major, peak, stoppedBy, modelFlux };
}

/** Pixels connected (4-neighbours) to the centre of a [Ny, Nx] beam whose value exceeds `level`. */
function mainLobe(beam: Float64Array, Nx: number, Ny: number, level: number): Uint8Array {
  const inLobe = new Uint8Array(Nx * Ny);
  const c = Math.floor(Ny / 2) * Nx + Math.floor(Nx / 2);
  const stack = [c];
  inLobe[c] = 1;
  while (stack.length) {
    const p = stack.pop()!;
    const y = Math.floor(p / Nx);
    const x = p - y * Nx;
    const nb = [x > 0 ? p - 1 : -1, x < Nx - 1 ? p + 1 : -1, y > 0 ? p - Nx : -1, y < Ny - 1 ? p + Nx : -1];
    for (const q of nb) {
      if (q >= 0 && !inLobe[q] && beam[q] > level) {
        inLobe[q] = 1;
        stack.push(q);
      }
    }
  }
  return inLobe;
}

export interface RestoringBeam {
  /** FWHM of the major and minor axes (degrees), position angle of the major axis East of North (degrees). */
  bmaj: number;
  bmin: number;
  bpa: number;
  /** The Gaussian in pixels: exp(−½(a·dx² + 2b·dx·dy + c·dy²)), dx along x (columns), dy along y (rows). */
  a: number;
  b: number;
  c: number;
  /**
   * Set by `fitBeam` when the main lobe reaches the image's edge: the uv coverage does not resolve the sky along
   * the major axis within the image (e.g. every baseline of nearly the same length and orientation), and BMAJ is
   * the fit's extrapolation, not a measured width.
   */
  lobeAtEdge?: boolean;
}

const FWHM = 2 * Math.sqrt(2 * Math.LN2);

/** The pixel quadratic form of a beam given as BMAJ, BMIN (degrees, FWHM) and BPA (degrees East of North). */
export function beamFromAxes(bmaj: number, bmin: number, bpa: number, cell: number): RestoringBeam {
  const deg = Math.PI / 180;
  const smaj = (bmaj * deg) / cell / FWHM;
  const smin = (bmin * deg) / cell / FWHM;
  // major axis: sky (E, N) = (sin PA, cos PA); pixels (x, y) = (−E, N)
  const ex = -Math.sin(bpa * deg);
  const ey = Math.cos(bpa * deg);
  const fx = ey; // minor axis ⟂
  const fy = -ex;
  const p = 1 / (smaj * smaj);
  const q = 1 / (smin * smin);
  return { bmaj, bmin, bpa, a: p * ex * ex + q * fx * fx, b: p * ex * ey + q * fx * fy, c: p * ey * ey + q * fy * fy };
}

/** Fits the restoring beam to a dirty beam of [ny, nx] with its peak at (⌊ny/2⌋, ⌊nx/2⌋). */
export function fitBeam(psf: Float64Array, grid: ImageGrid): RestoringBeam {
  const { nx, ny, cell } = grid;
  const lobe = mainLobe(psf, nx, ny, 0.35);
  const cx = Math.floor(nx / 2);
  const cy = Math.floor(ny / 2);
  // least squares for ln B = −½(a dx² + 2b dx dy + c dy²): normal equations in (a, b, c)
  const M = [0, 0, 0, 0, 0, 0, 0, 0, 0];
  const r = [0, 0, 0];
  let n = 0;
  for (let i = 0; i < psf.length; i++) {
    if (!lobe[i]) continue;
    const y = Math.floor(i / nx) - cy;
    const x = (i % nx) - cx;
    if (x === 0 && y === 0) continue;
    const f = [-0.5 * x * x, -x * y, -0.5 * y * y];
    const t = Math.log(psf[i]);
    for (let j = 0; j < 3; j++) {
      r[j] += f[j] * t;
      for (let k = 0; k < 3; k++) M[3 * j + k] += f[j] * f[k];
    }
    n++;
  }
  if (n < 3) throw new UserInputError(`the dirty beam's main lobe spans ${n + 1} pixel(s): the cell is too large to fit a restoring beam (choose a smaller --cell)`);
  const sol = solve3(M, r);
  let [a, b, c] = sol;
  if (!sol.every(Number.isFinite) || a <= 0 || c <= 0 || a * c - b * b <= 0) {
    // a lobe one pixel wide along an axis: fall back to the lobe's second moments
    let sxx = 0;
    let sxy = 0;
    let syy = 0;
    let sw = 0;
    for (let i = 0; i < psf.length; i++) {
      if (!lobe[i]) continue;
      const y = Math.floor(i / nx) - cy;
      const x = (i % nx) - cx;
      sxx += psf[i] * x * x;
      sxy += psf[i] * x * y;
      syy += psf[i] * y * y;
      sw += psf[i];
    }
    const det = (sxx / sw + 0.25) * (syy / sw + 0.25) - (sxy / sw) ** 2;
    a = (syy / sw + 0.25) / det;
    b = -(sxy / sw) / det;
    c = (sxx / sw + 0.25) / det;
  }
  // eigen-decomposition of [[a, b], [b, c]]: the smaller eigenvalue belongs to the major axis
  const tr = a + c;
  const disc = Math.sqrt(Math.max(0, ((a - c) / 2) ** 2 + b * b));
  const lmin = tr / 2 - disc;
  const lmax = tr / 2 + disc;
  let ex: number;
  let ey: number;
  if (Math.abs(b) > 1e-15 * tr) {
    ex = b;
    ey = lmin - a;
  } else if (a <= c) {
    ex = 1;
    ey = 0;
  } else {
    ex = 0;
    ey = 1;
  }
  const deg = 180 / Math.PI;
  let bpa = Math.atan2(-ex, ey) * deg; // East = −x, North = +y
  while (bpa <= -90) bpa += 180;
  while (bpa > 90) bpa -= 180;
  const bmaj = (FWHM / Math.sqrt(lmin)) * cell * deg;
  const bmin = (FWHM / Math.sqrt(lmax)) * cell * deg;
  let edge = false;
  for (let x = 0; x < nx && !edge; x++) edge = lobe[x] === 1 || lobe[(ny - 1) * nx + x] === 1;
  for (let y = 0; y < ny && !edge; y++) edge = lobe[y * nx] === 1 || lobe[y * nx + nx - 1] === 1;
  return edge ? { bmaj, bmin, bpa, a, b, c, lobeAtEdge: true } : { bmaj, bmin, bpa, a, b, c };
}

function solve3(M: number[], r: number[]): number[] {
  const d = (m: number[]) => m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6]) + m[2] * (m[3] * m[7] - m[4] * m[6]);
  const D = d(M);
  const out: number[] = [];
  for (let j = 0; j < 3; j++) {
    const m = M.slice();
    for (let i = 0; i < 3; i++) m[3 * i + j] = r[i];
    out.push(d(m) / D);
  }
  return out;
}

/** The beam as an image of [ny, nx] with its peak 1 at (⌊ny/2⌋, ⌊nx/2⌋). */
export function beamImage(beam: RestoringBeam, grid: ImageGrid): Float64Array {
  const { nx, ny } = grid;
  const out = new Float64Array(nx * ny);
  const cx = Math.floor(nx / 2);
  const cy = Math.floor(ny / 2);
  for (let y = 0; y < ny; y++) {
    for (let x = 0; x < nx; x++) {
      const dx = x - cx;
      const dy = y - cy;
      out[y * nx + x] = Math.exp(-0.5 * (beam.a * dx * dx + 2 * beam.b * dx * dy + beam.c * dy * dy));
    }
  }
  return out;
}

/** model ⊛ beam (peak 1: Jy/pixel → Jy/beam) + residual, the convolution linear (zero-padded), not circular. */
export function restore(model: Float64Array, residual: Float64Array, beam: RestoringBeam, grid: ImageGrid): Float64Array {
  const { nx, ny } = grid;
  const Nx = 2 * nx;
  const Ny = 2 * ny;
  const kr = new Float64Array(Nx * Ny);
  const ki = new Float64Array(Nx * Ny);
  for (let y = 0; y < Ny; y++) {
    for (let x = 0; x < Nx; x++) {
      const dx = x < nx ? x : x - Nx;
      const dy = y < ny ? y : y - Ny;
      kr[y * Nx + x] = Math.exp(-0.5 * (beam.a * dx * dx + 2 * beam.b * dx * dy + beam.c * dy * dy));
    }
  }
  const mr = new Float64Array(Nx * Ny);
  const mi = new Float64Array(Nx * Ny);
  let any = false;
  for (let y = 0; y < ny; y++) {
    for (let x = 0; x < nx; x++) {
      mr[y * Nx + x] = model[y * nx + x];
      if (model[y * nx + x] !== 0) any = true;
    }
  }
  const out = Float64Array.from(residual);
  if (!any) return out;
  fft2d(kr, ki, Ny, Nx, false);
  fft2d(mr, mi, Ny, Nx, false);
  for (let i = 0; i < Nx * Ny; i++) {
    const r = mr[i] * kr[i] - mi[i] * ki[i];
    mi[i] = mr[i] * ki[i] + mi[i] * kr[i];
    mr[i] = r;
  }
  fft2d(mr, mi, Ny, Nx, true);
  for (let y = 0; y < ny; y++) for (let x = 0; x < nx; x++) out[y * nx + x] += mr[y * Nx + x];
  return out;
}
