/**
 * The sampling of a PSF image against the image it is applied to. A PSF file states its own pixel scale in one of
 * several keywords (TinyTim PIXSCALE, the Spitzer IRAC PRFs' SECPIX, WebbPSF/poppy PIXELSCL, PIXSCAL1/2, Spitzer's
 * PXSCAL1/2) or a celestial WCS; a PSF sampled finer or coarser than the image is as much narrower or wider there
 * than the instrument's, with no error raised anywhere. Pure functions of header values: the host that pairs the
 * PSF with an observation (the reconstruction service, the lens fit) compares the two.
 */
import type { FitsHeader } from '../fits/index.js';
import { pixelScaleFromWcs } from '../lensing/inputs.js';
import type { PreparedForwardModel } from './forward-model.js';

/** A pixel scale in arcsec per pixel and where it was read ("PIXSCALE = 0.0495", "the CD matrix"). */
export interface PixelScale {
  scale: number;
  source: string;
}

/**
 * Scales that differ by more than this fraction are warned about. 5 %: a PSF 5 % too narrow or wide changes its
 * FWHM by as much, of the order of a PSF model's own error; the IRAC PRFs at 0.305″ on 1.22″ pixels (4×) and a PSF
 * for 0.05″ drizzled pixels on 0.1″ ones (2×) are far beyond it, and a TinyTim PSF at 0.0495″ on 0.05″ pixels (1 %)
 * within it.
 */
export const PSF_SAMPLING_TOLERANCE = 0.05;

/** Keywords that state a pixel scale in arcsec, one value for both axes, in the order they are looked for. */
const SINGLE_KEYS = ['PIXSCALE', 'SECPIX', 'PIXELSCL'] as const;
/** Per-axis pairs (either sign: Spitzer's PXSCAL1 is negative for an east-left image). */
const PAIR_KEYS = [['PIXSCAL1', 'PIXSCAL2'], ['PXSCAL1', 'PXSCAL2']] as const;

const plausible = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v !== 0 && Math.abs(v) < 3600;
const fmt = (v: number) => String(Number(v.toPrecision(6)));

/**
 * The pixel scale a PSF file's header states (arcsec per pixel), or null where it states none: PIXSCALE, SECPIX,
 * PIXELSCL, PIXSCAL1 (with PIXSCAL2: their geometric mean), PXSCAL1 (with PXSCAL2), else the celestial WCS's
 * (CD, PC × CDELT or CDELT, in CUNIT). A WCS that cannot be read or has pixels that are not square gives null.
 */
export function psfPixelScale(h: FitsHeader): PixelScale | null {
  for (const k of SINGLE_KEYS) {
    const v = h.get(k);
    if (plausible(v)) return { scale: Math.abs(v), source: `${k} = ${fmt(v)}` };
  }
  for (const [k1, k2] of PAIR_KEYS) {
    const a = h.get(k1);
    if (!plausible(a)) continue;
    const b = h.get(k2);
    if (!plausible(b)) return { scale: Math.abs(a), source: `${k1} = ${fmt(a)}` };
    return { scale: Math.sqrt(Math.abs(a * b)), source: `${k1}, ${k2} = ${fmt(a)}, ${fmt(b)}` };
  }
  return imagePixelScale(h);
}

/** An image's pixel scale from its celestial WCS (arcsec per pixel), or null where it has none or it cannot be read. */
export function imagePixelScale(h: FitsHeader): PixelScale | null {
  try {
    const w = pixelScaleFromWcs(h);
    return w ? { scale: w.scale, source: `its WCS: ${w.source}` } : null;
  } catch {
    return null; // unreadable, or pixels that are not square: no one scale to compare
  }
}

/**
 * A warning where a PSF's stated sampling differs from the pixel scale of the grid it is applied on by more than
 * PSF_SAMPLING_TOLERANCE, naming both scales and where each came from; else null.
 */
export function psfSamplingWarning(psf: PixelScale & { name: string }, grid: PixelScale & { name: string }): string | null {
  const ratio = psf.scale / grid.scale;
  if (!(Number.isFinite(ratio) && ratio > 0) || Math.abs(ratio - 1) <= PSF_SAMPLING_TOLERANCE) return null;
  const factor = (v: number) => String(Number(v.toPrecision(3)));
  const how = ratio < 1 ? `${factor(1 / ratio)}× finer` : `${factor(ratio)}× coarser`;
  return (
    `the PSF ${psf.name} is sampled at ${fmt(psf.scale)}″ per pixel (${psf.source}) but ${grid.name} has ${fmt(grid.scale)}″ pixels (${grid.source}): ` +
    `the PSF is ${how} than the image, so the model applies a PSF ${ratio < 1 ? 'narrower' : 'wider'} than the instrument's; ` +
    `resample the PSF to the image's pixels (${fmt(grid.scale)}″) before use`
  );
}

/**
 * The sampling warnings of a forward model's PSF files against the grid each is applied on: a lens stage's image
 * plane (its imagePixelScale) where one comes before the PSF, else the observation's pixels (its WCS) where only
 * PSF and mask stages, which keep the grid, lie between the unknown and the data. Stages whose grid's scale is not
 * known give none.
 */
export function forwardModelPsfWarnings(prepared: PreparedForwardModel, observation: { header: FitsHeader; name: string }): string[] {
  const ops = prepared.spec.operators;
  const warnings: string[] = [];
  let obsScale: PixelScale | null | undefined;
  for (let i = 0; i < ops.length; i++) {
    const r = prepared.resources[i];
    if (r?.type !== 'psf' || !r.sampling) continue;
    let grid: (PixelScale & { name: string }) | null = null;
    const lens = ops.slice(0, i).map((s, j) => ({ s, j })).reverse().find(({ s }) => s.type === 'lens');
    if (lens && lens.s.type === 'lens') {
      grid = { scale: lens.s.imagePixelScale, source: `operators[${lens.j}] imagePixelScale`, name: 'the lens\'s image plane' };
    } else if (ops.every((s) => s.type === 'psf' || s.type === 'mask')) {
      obsScale ??= imagePixelScale(observation.header);
      if (obsScale) grid = { ...obsScale, name: observation.name };
    }
    if (!grid) continue;
    const w = psfSamplingWarning({ ...r.sampling, name: r.sampling.file }, grid);
    if (w) warnings.push(`operators[${i}] (psf): ${w}`);
  }
  return warnings;
}
