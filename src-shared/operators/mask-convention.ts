/**
 * A mask stage's convention (docs/forward-models.md, *mask*): whether its file's 1 marks the observed pixels
 * (`fit`, SkyScore's masks and the default) or the missing ones (`exclude`, PyAutoLens's Mask2D), and `auto`, which
 * decides by lens-fit's rule — detectExcludeMask of src-shared/lensing/inputs.ts, the one function both use.
 */
import { detectExcludeMask, EXCLUDE_MASK_MIN_RADIUS } from '../lensing/inputs.js';
import type { FitsHeader } from '../fits/index.js';
import { imagePixelScale, type PixelScale } from './psf-sampling.js';
import type { ForwardModelSpec, MaskStageConvention, Shape2 } from './forward-model-spec.js';

/**
 * The pixel scale (arcsec) of the grid stage `i` of a model is applied on: the image plane of the nearest lens stage
 * before it (its imagePixelScale) or the grid of the nearest uv-sampling stage (pixelScaleArcsec); with neither
 * before it, the unknown's grid, which the nearest lens stage after it states (sourcePixelScale) or a uv-sampling
 * stage after it; in a chain of psf and mask stages only, the mask file's WCS, else the observation's (every grid of
 * such a chain is the observation's). null where none states one.
 */
export function maskGridScale(spec: ForwardModelSpec, i: number, maskHeader: FitsHeader | undefined, observation?: { header: FitsHeader; name: string }): PixelScale | null {
  const ops = spec.operators;
  for (let j = i - 1; j >= 0; j--) {
    const s = ops[j]!;
    if (s.type === 'lens') return { scale: s.imagePixelScale, source: `operators[${j}] imagePixelScale` };
    if (s.type === 'uv-sampling') return { scale: s.pixelScaleArcsec, source: `operators[${j}] pixelScaleArcsec` };
  }
  for (let j = i + 1; j < ops.length; j++) {
    const s = ops[j]!;
    if (s.type === 'lens') return { scale: s.sourcePixelScale, source: `operators[${j}] sourcePixelScale` };
    if (s.type === 'uv-sampling') return { scale: s.pixelScaleArcsec, source: `operators[${j}] pixelScaleArcsec` };
  }
  const own = maskHeader ? imagePixelScale(maskHeader) : null;
  if (own) return { scale: own.scale, source: `the mask's ${own.source.replace(/^its /, '')}` };
  const obs = observation ? imagePixelScale(observation.header) : null;
  return obs ? { scale: obs.scale, source: `${observation!.name}'s ${obs.source.replace(/^its /, '')}` } : null;
}

export interface MaskConventionRead {
  /** true: the file's 1 marks the missing pixels, and the mask used is 1 − file */
  invert: boolean;
  /** a note for the model's notes (stderr and report.json's warnings), or null */
  note: string | null;
  /** an input error's message (the stage's prefix added by the caller), or null */
  error: string | null;
}

const fmt = (v: number) => String(Number(v.toPrecision(4)));

/**
 * Reads a 0/1 mask file (checked: only 0 and 1) in a stage's convention. `auto` applies detectExcludeMask at the
 * grid's pixel scale; where no scale is known and the mask's shape alone does not settle it (its border all 1 and
 * 0-pixels around the centre), `final` (the observation is known) makes that an error, else (the editor's check,
 * before the observation) a note and 1 read as observed. The default (`convention` absent) reads 1 as observed and
 * warns where the rule reads the mask as PyAutoLens's — or, with no scale known, where the mask has its shape.
 */
export function readMaskConvention(
  data: ArrayLike<number>,
  shape: Shape2,
  name: string,
  convention: MaskStageConvention | undefined,
  scale: PixelScale | null,
  final = true,
): MaskConventionRead {
  if (convention === 'fit') return { invert: false, note: null, error: null };
  if (convention === 'exclude') return { invert: true, note: null, error: null };
  const r = detectExcludeMask(data, shape, scale?.scale ?? 1);
  const at = scale ? ` (${fmt(scale.scale)}″ per pixel from ${scale.source})` : '';
  if (!scale) {
    // the shape of an exclude mask without a scale to measure it in: the 0-pixels' equivalent radius in pixels
    if (r.radius === null) return { invert: false, note: null, error: null };
    const what = `its border is all 1 and the 0-pixels around the centre span an equivalent radius of ${fmt(r.radius)} pixels, but no pixel scale is known to compare with the rule's ${EXCLUDE_MASK_MIN_RADIUS}″ (no lens or uv-sampling stage, no WCS in '${name}'${final ? ' or the observation' : ''})`;
    if (convention === 'auto') {
      if (final) return { invert: false, note: null, error: `convention "auto": ${what}; give "convention": "fit" (1 = observed) or "exclude" (1 = missing, PyAutoLens's)` };
      return { invert: false, note: `'${name}' read as 1 = observed for now: ${what}; the run decides with the observation's WCS`, error: null };
    }
    return { invert: false, note: `'${name}' may be a PyAutoLens mask (1 = missing): ${what}; it is read as 1 = observed (the default): give "convention": "exclude" to read 1 as missing, or "fit" to keep this reading without this warning`, error: null };
  }
  if (convention === 'auto') {
    if (r.exclude) return { invert: true, note: `'${name}' read as 1 = missing, 0 = observed, PyAutoLens's convention: ${r.reason}${at}; "convention": "fit" reads 1 as observed`, error: null };
    const note = r.radius !== null ? `'${name}' read as 1 = observed, 0 = missing (${r.reason}${at}); "convention": "exclude" reads 1 as missing (PyAutoLens's convention)` : null;
    return { invert: false, note, error: null };
  }
  if (!r.exclude) return { invert: false, note: null, error: null };
  return {
    invert: false,
    note: `'${name}' looks like a PyAutoLens mask (1 = missing): ${r.reason}${at}; it is read as 1 = observed (the default), which observes everything but that region: give "convention": "exclude" (or "auto") to read 1 as missing, or "fit" to keep this reading without this warning`,
    error: null,
  };
}
