/**
 * The lens fit's inputs as survey products give them: the pixel scale from the image's celestial WCS, σ from an
 * inverse-variance weight map (drizzle's WHT, final_wht_type=IVM). Pure functions of the header's values and the
 * arrays (docs/lensing.md, *A SLACS-like ACS cutout*).
 */
import { UserInputError } from '../errors.js';

/** What the pixel scale is read from: a header's numeric cards. */
export interface HeaderNumbers {
  getNumber(key: string): number | undefined;
  getString(key: string): string | undefined;
}

export class LensInputError extends UserInputError {
  override name = 'LensInputError';
}

/** Pixels whose two axes' scales differ by more than this fraction are refused (the fit's pixels are square). */
export const SQUARE_PIXEL_TOLERANCE = 0.01;

/**
 * The image's pixel scale in arcsec per pixel from its celestial WCS: the CD matrix (CDi_j), else PCi_j × CDELTi,
 * else CDELTi alone; the axes' units from CUNITi (deg by default for celestial axes, arcsec, arcmin, mas, rad).
 * The scale of each pixel axis is the length of its column of the matrix (a rotation changes nothing). Returns
 * null where the header has no celestial WCS (no CTYPE1/2 of a celestial kind, or no scale cards); throws where
 * the pixels are not square within SQUARE_PIXEL_TOLERANCE or the matrix is singular.
 */
export function pixelScaleFromWcs(h: HeaderNumbers): { scale: number; source: string } | null {
  const t1 = (h.getString('CTYPE1') ?? '').toUpperCase();
  const t2 = (h.getString('CTYPE2') ?? '').toUpperCase();
  const celestial = (t: string) => /^(RA|DEC|GLON|GLAT|ELON|ELAT|SLON|SLAT|HPLN|HPLT)/.test(t);
  if (!celestial(t1) || !celestial(t2)) return null;
  const unit = (i: number): number => {
    const u = (h.getString(`CUNIT${i}`) ?? 'deg').trim().toLowerCase();
    const f: Record<string, number> = { deg: 3600, '': 3600, degree: 3600, degrees: 3600, arcmin: 60, arcsec: 1, mas: 1e-3, rad: (180 / Math.PI) * 3600 };
    if (!(u in f)) throw new LensInputError(`the WCS's CUNIT${i} '${u}' is not an angle unit this fit reads (deg, arcmin, arcsec, mas, rad): give --pixel-scale`);
    return f[u];
  };
  let m: [number, number, number, number];
  let source: string;
  const cd = [h.getNumber('CD1_1'), h.getNumber('CD1_2'), h.getNumber('CD2_1'), h.getNumber('CD2_2')];
  const cdelt = [h.getNumber('CDELT1'), h.getNumber('CDELT2')];
  if (cd.some((v) => v !== undefined)) {
    m = [cd[0] ?? 0, cd[1] ?? 0, cd[2] ?? 0, cd[3] ?? 0];
    source = 'the CD matrix';
  } else if (cdelt[0] !== undefined && cdelt[1] !== undefined) {
    const pc = [h.getNumber('PC1_1') ?? 1, h.getNumber('PC1_2') ?? 0, h.getNumber('PC2_1') ?? 0, h.getNumber('PC2_2') ?? 1];
    m = [cdelt[0] * pc[0], cdelt[0] * pc[1], cdelt[1] * pc[2], cdelt[1] * pc[3]];
    source = h.getNumber('PC1_1') !== undefined || h.getNumber('PC1_2') !== undefined ? 'PCi_j × CDELTi' : 'CDELTi';
  } else {
    return null;
  }
  const [u1, u2] = [unit(1), unit(2)];
  // row i of the matrix is world axis i: scale each row by its unit, then the columns are the pixel axes' steps
  const a = [m[0] * u1, m[1] * u1, m[2] * u2, m[3] * u2];
  const sx = Math.hypot(a[0], a[2]);
  const sy = Math.hypot(a[1], a[3]);
  const det = Math.abs(a[0] * a[3] - a[1] * a[2]);
  if (!(det > 0) || !Number.isFinite(det)) throw new LensInputError(`the WCS's matrix (${source}) is singular: give --pixel-scale`);
  if (Math.abs(sx - sy) > SQUARE_PIXEL_TOLERANCE * Math.max(sx, sy)) {
    throw new LensInputError(`the WCS's pixels are not square (${sx.toPrecision(5)}″ × ${sy.toPrecision(5)}″, ${source}): the fit needs square pixels; resample the image, or give --pixel-scale to use one scale`);
  }
  return { scale: Math.sqrt(det), source };
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
