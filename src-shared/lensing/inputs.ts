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
