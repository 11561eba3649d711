/**
 * The lens fit's inputs as survey products give them: the pixel scale from the image's celestial WCS, σ from an
 * inverse-variance weight map (drizzle's WHT, final_wht_type=IVM). Pure functions of the header's values and the
 * arrays (docs/lensing.md, *A SLACS-like ACS cutout*).
 */
import { UserInputError } from '../errors.js';
import type { FitsHeader } from '../fits/index.js';
import { celestialWcs, WcsInputError, type CelestialWcs } from '../wcs/index.js';

export class LensInputError extends UserInputError {
  override name = 'LensInputError';
}

/** Pixels whose two axes' scales differ by more than this fraction are refused (the fit's pixels are square). */
export const SQUARE_PIXEL_TOLERANCE = 0.01;

/**
 * The image's pixel scale in arcsec per pixel from its celestial WCS: the linear transformation as the WCS module
 * reads it (CD, PC × CDELT, CDELT with CROTA; wcs/index.ts), each world axis in the unit of its CUNITi (deg by
 * default; arcsec, arcmin, mas, rad). The scale of each pixel axis is the length of its column of the matrix (a
 * rotation changes nothing). Returns null where the header has no celestial WCS or no scale cards (CDi_j or
 * CDELTi); throws where the pixels are not square within SQUARE_PIXEL_TOLERANCE or the WCS cannot be read.
 */
export function pixelScaleFromWcs(h: FitsHeader): { scale: number; source: string } | null {
  let w: CelestialWcs | null;
  try {
    w = celestialWcs(h);
  } catch (e) {
    if (e instanceof WcsInputError) throw new LensInputError(`${e.message}: give --pixel-scale`);
    throw e;
  }
  if (!w) return null;
  const hasCd = h.cards.some((c) => /^CD\d+_\d+$/.test(c.key));
  const hasCdelt = h.has(`CDELT${w.lonAxis + 1}`) && h.has(`CDELT${w.latAxis + 1}`);
  if (!hasCd && !hasCdelt) return null;
  const hasPc = h.cards.some((c) => /^PC0*\d+_0*\d+$/.test(c.key));
  const source = hasCd && !hasPc ? 'the CD matrix' : hasPc ? 'PCi_j × CDELTi' : 'CDELTi';
  const unit = (axis: number): number => {
    const v = h.get(`CUNIT${axis + 1}`);
    const u = (typeof v === 'string' ? v : 'deg').trim().toLowerCase();
    const f: Record<string, number> = { deg: 3600, '': 3600, degree: 3600, degrees: 3600, arcmin: 60, arcsec: 1, mas: 1e-3, rad: (180 / Math.PI) * 3600 };
    if (!(u in f)) throw new LensInputError(`the WCS's CUNIT${axis + 1} '${u}' is not an angle unit this fit reads (deg, arcmin, arcsec, mas, rad): give --pixel-scale`);
    return f[u];
  };
  // rows: world axes (lon, lat) in arcsec; columns: the pixel axes' steps
  const [ul, ub] = [unit(w.lonAxis), unit(w.latAxis)];
  const a = [w.cd[0][0] * ul, w.cd[0][1] * ul, w.cd[1][0] * ub, w.cd[1][1] * ub];
  const sx = Math.hypot(a[0], a[2]);
  const sy = Math.hypot(a[1], a[3]);
  if (Math.abs(sx - sy) > SQUARE_PIXEL_TOLERANCE * Math.max(sx, sy)) {
    throw new LensInputError(`the WCS's pixels are not square (${sx.toPrecision(5)}″ × ${sy.toPrecision(5)}″, ${source}): the fit needs square pixels; resample the image, or give --pixel-scale to use one scale`);
  }
  return { scale: Math.sqrt(Math.abs(a[0] * a[3] - a[1] * a[2])), source };
}

/**
 * σ = 1/√w from an inverse-variance weight map; a pixel with w ≤ 0 or a non-finite w (no data, drizzle's 0
 * weight) gets σ = NaN, which leaves it out of the fit. `excluded` counts those pixels.
 */
export function sigmaFromWeights(w: ArrayLike<number>): { sigma: Float64Array; excluded: number } {
  const sigma = new Float64Array(w.length);
  let excluded = 0;
  for (let k = 0; k < w.length; k++) {
    const v = w[k];
    if (Number.isFinite(v) && v > 0) sigma[k] = 1 / Math.sqrt(v);
    else {
      sigma[k] = NaN;
      excluded++;
    }
  }
  return { sigma, excluded };
}

/**
 * The disc fitted where no mask is given, arcsec from the image centre: a galaxy-scale lens's arcs lie within
 * 2″ of it (SLACS: θE 0.8–1.8″), and a survey cutout's other sources further out (a companion, stars) would
 * otherwise be fitted as the deflector's light, at the cost of every pixel of a 300–400 px cutout.
 */
export const DEFAULT_FIT_RADIUS = 3;

/** DEFAULT_FIT_RADIUS where the image reaches beyond it (its half-diagonal), else null: every valid pixel. */
export function defaultFitRadius(shape: [number, number], scale: number): number | null {
  const halfDiagonal = (Math.hypot(shape[0], shape[1]) * scale) / 2;
  return halfDiagonal > DEFAULT_FIT_RADIUS ? DEFAULT_FIT_RADIUS : null;
}

/**
 * A note where a fitted galaxy-scale lens lies outside what such lenses show (SLACS's SIE fits: q ≳ 0.4, external
 * shear ≲ 0.15): there the mass is more likely taking up what the light model leaves (a real galaxy's light is no
 * Sérsic profile) than describing the lens. Null where the lens is plausible.
 */
export function implausibleLensNote(p: { q: number; gamma1: number; gamma2: number }): string | null {
  const shear = Math.hypot(p.gamma1, p.gamma2);
  const why: string[] = [];
  if (p.q < 0.4) why.push(`q ${p.q.toFixed(3)} < 0.4`);
  if (shear > 0.15) why.push(`external shear ${shear.toFixed(3)} > 0.15`);
  if (!why.length) return null;
  return `the fitted lens has ${why.join(' and ')}, outside galaxy-scale lenses' range: the mass may be fitting what the light model leaves (see normalised-residual.fits); try --light 2, or a mask of the deflector's centre (--annulus R1,R2 with R1 > 0)`;
}

/**
 * How a 0/1 mask file marks the fitted pixels: `fit` 1 = fitted, 0 = left out (SkyScore's own masks, the forward
 * model's mask operator); `exclude` 1 = left out, 0 = fitted (PyAutoLens's Mask2D, whose True marks a masked
 * pixel); `auto` (the default) reads 1 as fitted unless the mask is clearly of the other convention
 * (detectExcludeMask).
 */
export const MASK_CONVENTIONS = ['auto', 'fit', 'exclude'] as const;
export type MaskConvention = (typeof MASK_CONVENTIONS)[number];

/**
 * The equivalent radius (arcsec, √(area/π)) from which the 0-pixels around the image centre of a mask whose border
 * is all 1 are read as the fitted region of an `exclude` mask: a galaxy-scale lens's arcs need at least this much
 * (SLACS: θE 0.8–1.8″), and a mask that leaves out only the deflector's core or a companion leaves out less.
 */
export const EXCLUDE_MASK_MIN_RADIUS = 1;

export interface MaskConventionReading {
  /** true: 1 marks the pixels to leave out */
  exclude: boolean;
  /** the equivalent radius (arcsec) of the 0-pixels around the centre, where the border is all 1 and there are such pixels; else null */
  radius: number | null;
  /** why, in words */
  reason: string;
}

/**
 * Whether a 0/1 mask is clearly one whose 1 marks the pixels to leave out (PyAutoLens's convention): every border
 * pixel is 1, the image centre is not in the region of 1s connected to the border (it lies in a 0-region, or in
 * a 1-island enclosed by 0s: an annular mask's core), and the 0-pixels of the region around the centre — the
 * pixels not connected to the border through 1s, 4-connected — have an equivalent radius √(n/π)·scale of at least
 * EXCLUDE_MASK_MIN_RADIUS. A mask read as 1 = fitted never needs its border all 1 and a ≥ 1″ hole at its centre:
 * such a mask would fit everything but the lens's arcs.
 */
export function detectExcludeMask(mask: ArrayLike<number>, shape: [number, number], scale: number): MaskConventionReading {
  const [ny, nx] = shape;
  const no = (reason: string, radius: number | null = null): MaskConventionReading => ({ exclude: false, radius, reason });
  for (let j = 0; j < nx; j++) if (!mask[j] || !mask[(ny - 1) * nx + j]) return no('a border pixel is 0');
  for (let i = 0; i < ny; i++) if (!mask[i * nx] || !mask[i * nx + nx - 1]) return no('a border pixel is 0');
  // the 1s connected to the border (4-connected)
  const outside = new Uint8Array(ny * nx);
  const stack: number[] = [];
  const push = (k: number) => {
    if (!outside[k] && mask[k]) {
      outside[k] = 1;
      stack.push(k);
    }
  };
  for (let j = 0; j < nx; j++) {
    push(j);
    push((ny - 1) * nx + j);
  }
  for (let i = 0; i < ny; i++) {
    push(i * nx);
    push(i * nx + nx - 1);
  }
  const neighbours = (k: number, f: (q: number) => void) => {
    const i = Math.floor(k / nx);
    const j = k - i * nx;
    if (i > 0) f(k - nx);
    if (i < ny - 1) f(k + nx);
    if (j > 0) f(k - 1);
    if (j < nx - 1) f(k + 1);
  };
  while (stack.length) neighbours(stack.pop()!, push);
  // the centre: the middle pixel, or the 2 × 2 (2 × 1) middle pixels of an even side
  const rows = ny % 2 ? [(ny - 1) / 2] : [ny / 2 - 1, ny / 2];
  const cols = nx % 2 ? [(nx - 1) / 2] : [nx / 2 - 1, nx / 2];
  let start = -1;
  for (const i of rows) for (const j of cols) if (start < 0 && !outside[i * nx + j]) start = i * nx + j;
  if (start < 0) return no('the image centre is 1, connected to the border through 1s');
  // the region around the centre: the pixels not in `outside`, 4-connected to it; its 0-pixels counted
  const seen = new Uint8Array(ny * nx);
  seen[start] = 1;
  stack.push(start);
  let zeros = 0;
  while (stack.length) {
    const k = stack.pop()!;
    if (!mask[k]) zeros++;
    neighbours(k, (q) => {
      if (!seen[q] && !outside[q]) {
        seen[q] = 1;
        stack.push(q);
      }
    });
  }
  const radius = Math.sqrt(zeros / Math.PI) * scale;
  if (radius < EXCLUDE_MASK_MIN_RADIUS) return no(`its border is all 1 and the ${zeros} 0-pixels around the centre span an equivalent radius of ${radius.toPrecision(3)}″, under the ${EXCLUDE_MASK_MIN_RADIUS}″ a lens's arcs need`, radius);
  return { exclude: true, radius, reason: `its border is all 1 and the ${zeros} 0-pixels around the centre span an equivalent radius of ${radius.toPrecision(3)}″ (≥ ${EXCLUDE_MASK_MIN_RADIUS}″: a lens's arcs)` };
}

/**
 * σ above this many times the map's median σ marks a pixel to leave out: PyAutoLens and other pipelines set σ to a
 * huge value (1e8) where a pixel is to be ignored. Such a pixel's weight, 1/σ², is under 1e-8 of a typical pixel's,
 * so leaving it out changes no fitted value; it keeps it out of the pixel count of χ²/pixel, of the sky the noise's
 * correlation is measured on and of the sharp-pixel test.
 */
export const FLAGGED_SIGMA_FACTOR = 1e4;

/**
 * A σ map as the lens fit reads it: NaN (left out) where σ is not finite, zero or negative (no data), or above
 * FLAGGED_SIGMA_FACTOR × the median of the positive finite σ; the counts of each and a note where any (null: none).
 */
export function flaggedSigma(values: ArrayLike<number>, name: string): { sigma: Float64Array; nonFinite: number; nonPositive: number; huge: number; limit: number; note: string | null } {
  const sigma = Float64Array.from(values);
  // the positive finite σ, sorted as numbers (a typed array's sort)
  const ok = sigma.filter((v) => Number.isFinite(v) && v > 0).sort();
  const median = ok.length ? (ok.length % 2 ? ok[(ok.length - 1) / 2] : (ok[ok.length / 2 - 1] + ok[ok.length / 2]) / 2) : NaN;
  const limit = FLAGGED_SIGMA_FACTOR * median;
  let nonFinite = 0;
  let nonPositive = 0;
  let huge = 0;
  for (let k = 0; k < sigma.length; k++) {
    const v = sigma[k];
    if (!Number.isFinite(v)) nonFinite++;
    else if (!(v > 0)) nonPositive++;
    else if (v > limit) huge++;
    else continue;
    sigma[k] = NaN;
  }
  const parts: string[] = [];
  if (huge) parts.push(`${huge} with σ above ${FLAGGED_SIGMA_FACTOR.toExponential(0)} × the median σ ${median.toPrecision(4)} (flagged to ignore, as PyAutoLens's σ of 1e8)`);
  if (nonPositive) parts.push(`${nonPositive} with σ 0 or negative (no data)`);
  if (nonFinite) parts.push(`${nonFinite} with σ NaN or infinite`);
  const note = parts.length ? `${name}: ${huge + nonPositive + nonFinite} pixel${huge + nonPositive + nonFinite > 1 ? 's' : ''} left out of the fit: ${parts.join(', ')}` : null;
  return { sigma, nonFinite, nonPositive, huge, limit, note };
}

/**
 * A drizzled image's fill where no exposure fell (a chip gap, the mosaic's edge, a cutout past the detector): blocks
 * of exactly 0 in data that are not counts. A pixel is fill where it is exactly 0 and lies in an all-zero 3 × 3 block
 * inside the image (the blocks' pixels and their zero neighbours). Integer-valued data (every finite value a whole
 * number: counts) hold zeros as measurements and give null, as does an image without fill. Such pixels are no data:
 * a weight map gives them weight 0, but a cutout without one (a number or an estimate for σ) would otherwise fit
 * them, and the noise estimates would read them as sky of no scatter.
 */
export function zeroFill(data: ArrayLike<number>, shape: readonly [number, number]): { mask: Uint8Array; count: number } | null {
  const [ny, nx] = shape;
  let integral = true;
  for (let k = 0; k < data.length && integral; k++) if (Number.isFinite(data[k]) && !Number.isInteger(data[k])) integral = false;
  if (integral) return null;
  const zero = (i: number, j: number) => data[i * nx + j] === 0;
  const mask = new Uint8Array(ny * nx);
  let count = 0;
  for (let i = 1; i < ny - 1; i++) {
    for (let j = 1; j < nx - 1; j++) {
      let all = true;
      for (let a = -1; a <= 1 && all; a++) for (let b = -1; b <= 1 && all; b++) all = zero(i + a, j + b);
      if (!all) continue;
      for (let a = -1; a <= 1; a++) {
        for (let b = -1; b <= 1; b++) {
          const k = (i + a) * nx + j + b;
          if (!mask[k]) {
            mask[k] = 1;
            count++;
          }
        }
      }
    }
  }
  return count ? { mask, count } : null;
}
