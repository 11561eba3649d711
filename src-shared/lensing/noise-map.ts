/**
 * The lens fit's σ with the sources' Poisson noise (docs/lensing.md, *The sources' Poisson noise*). Survey weight
 * maps do not state it: drizzle's IVM weights hold the sky, the read noise and the dark only, and its EXP weights are
 * exposure times (seconds), not inverse variances at all. A lens's deflector is many times the sky at its core, so
 * σ from the weights alone leaves that noise out and χ² there is far above 1.
 *
 *   σ² = σ_w² + max(s, 0) / e,
 *
 * σ_w the sky's σ (1/√WHT for IVM weights; c/√t_pix for EXP weights, c from the blank sky's measured scatter), s a
 * noise-free estimate of the signal in data units, e the electrons per data unit (the effective exposure time for
 * data in e⁻/s; × the gain for counts). s is the data smoothed by the 3 × 3 binomial kernel ([1 2 1]/4 per axis,
 * over the valid pixels): it is fixed before the fit (σ does not depend on the fitted model, so the evidence is that
 * of one Gaussian likelihood), its noise is 0.375 of the pixel's (so σ hardly follows the noise it weighs), and on
 * the blank sky, where s ≈ 0, the term is max(0.375 σ_w g, 0)/e: a fraction 0.15/(σ_w e) of σ_w² on average (0.6 %
 * for an ACS sky of 600 e⁻). The smoothing lowers a peak's centre pixel by the kernel's ½-pixel² variance over the
 * peak's own (about 20 % for the ACS PSF's core): a few pixels whose σ stays slightly low.
 *
 * Pure functions of the arrays and the header's values; the command line and the app's job read the files
 * (src-main/lens-fit/inputs.ts, src-main/cli/commands/lens-fit.ts).
 */
import type { FitsHeader } from '../fits/index.js';
import type { Shape2 } from '../operators/types.js';
import type { PixelBox } from '../noise/spectrum.js';
import { LensInputError } from './inputs.js';
import { quantileSorted } from '../image/stats.js';
import { correlationSignificant, estimateSkyCorrelation, skyPixels, MIN_SKY_PIXELS } from './whitening.js';

/** The start of the note that σ holds the sources' Poisson variance (the app reads the job's notes for it). */
export const POISSON_ADDED_NOTE = "the sources' Poisson noise added to σ";
export const WEIGHT_TYPES = ['ivm', 'exp'] as const;
export type WeightType = (typeof WEIGHT_TYPES)[number];
export const POISSON_MODES = ['auto', 'none'] as const;
export type PoissonMode = (typeof POISSON_MODES)[number];

/** The data's unit as BUNIT names it: a rate or a total, in electrons or in counts (DN); null: not one of these. */
export type DataUnit = { quantity: 'electrons' | 'counts'; perSecond: boolean };

/** BUNIT → the data's unit (ELECTRONS/S, ELECTRONS, COUNTS/S, COUNTS, DN/S, DN, e-/s…); null where it is none of these. */
export function dataUnitFromBunit(bunit: string): DataUnit | null {
  const u = bunit.trim().toUpperCase().replace(/\s+/g, '');
  const m = /^(ELECTRONS?|E-?|COUNTS?|DN|ADU)(\/(S|SEC|SECOND|S-1))?$/.exec(u) ?? /^(ELECTRONS?|E-?|COUNTS?|DN|ADU)(\*?S\*\*-1)$/.exec(u);
  if (!m) return null;
  return { quantity: /^E/.test(m[1]) ? 'electrons' : 'counts', perSecond: m[2] !== undefined };
}

/** A header value as a finite positive number, else null. */
function positive(headers: readonly FitsHeader[], key: string): { value: number; key: string } | null {
  for (const h of headers) {
    const v = h.get(key);
    const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
    if (Number.isFinite(n) && n > 0) return { value: n, key };
  }
  return null;
}

function text(headers: readonly FitsHeader[], key: string): string | null {
  for (const h of headers) {
    const v = h.get(key);
    if (typeof v === 'string' && v.trim() !== '') return v.trim();
  }
  return null;
}

/** How many electrons one data unit is, per pixel (or one number), and what was read to say so. */
export interface ElectronScale {
  /** electrons per data unit: one number (EXPTIME × gain) or per pixel (an EXP weight map's seconds × gain) */
  electronsPerUnit: number | Float64Array;
  /** the data's unit as taken */
  unit: DataUnit;
  /** what was read: the header cards and flags, for lens.json */
  read: Record<string, number | string>;
  /** one line for the notes */
  text: string;
}

/**
 * The electrons per data unit from the exposure time (`exposureTime`, else EXPTIME, else TEXPTIME of the headers in
 * order: the image's HDU, then the primary) or, for EXP weights, the weight map's seconds per pixel; the unit from
 * BUNIT (absent: e⁻/s, drizzle's default); counts are made electrons by the gain (`gain`, else CCDGAIN, else
 * ATODGAIN). Returns a reason (a string) where the scale cannot be known: no exposure time, an unknown BUNIT, counts
 * without a gain.
 */
export function electronScale(headers: readonly FitsHeader[], opts: { exposureTime?: number; exposureMap?: ArrayLike<number>; gain?: number } = {}): ElectronScale | string {
  const read: Record<string, number | string> = {};
  const bunit = text(headers, 'BUNIT');
  let unit: DataUnit;
  if (bunit === null) unit = { quantity: 'electrons', perSecond: true };
  else {
    const u = dataUnitFromBunit(bunit);
    if (!u) return `BUNIT '${bunit}' is neither electrons nor counts (per second or not)`;
    unit = u;
    read.BUNIT = bunit;
  }
  const unitText = `${unit.quantity === 'electrons' ? 'e⁻' : 'counts'}${unit.perSecond ? '/s' : ''}${bunit === null ? ' (no BUNIT: taken as e⁻/s)' : ` (BUNIT ${bunit})`}`;
  let gain = 1;
  let gainText = '';
  if (unit.quantity === 'counts') {
    const g = opts.gain !== undefined ? { value: opts.gain, key: 'given' } : positive(headers, 'CCDGAIN') ?? positive(headers, 'ATODGAIN');
    if (!g) return `the data are in counts (BUNIT ${bunit}) and no gain is known (CCDGAIN, ATODGAIN)`;
    gain = g.value;
    read[g.key === 'given' ? 'gain' : g.key] = g.value;
    gainText = ` × gain ${g.value} e⁻/count (${g.key === 'given' ? 'given' : g.key})`;
  }
  if (!unit.perSecond) {
    // totals: the exposure time does not enter (an EXP map's seconds neither)
    return { electronsPerUnit: gain, unit, read, text: `data in ${unitText}: ${gain} e⁻ per unit${gainText}` };
  }
  if (opts.exposureMap) {
    const m = opts.exposureMap;
    const e = new Float64Array(m.length);
    for (let k = 0; k < m.length; k++) e[k] = Number.isFinite(m[k]) && m[k] > 0 ? m[k] * gain : NaN;
    read.exposure = 'the EXP weight map (seconds per pixel)';
    return { electronsPerUnit: e, unit, read, text: `data in ${unitText}, the exposure time per pixel from the EXP weight map${gainText}` };
  }
  let t: { value: number; key: string } | null;
  if (opts.exposureTime !== undefined) t = { value: opts.exposureTime, key: '--exposure-time' };
  else t = positive(headers, 'EXPTIME') ?? positive(headers, 'TEXPTIME');
  if (!t) return 'no exposure time (EXPTIME or TEXPTIME in the header)';
  read[t.key === '--exposure-time' ? 'exposureTime' : t.key] = t.value;
  return { electronsPerUnit: t.value * gain, unit, read, text: `data in ${unitText}, effective exposure ${t.value} s (${t.key})${gainText}: ${(t.value * gain).toPrecision(6)} e⁻ per unit` };
}

/**
 * s: the data smoothed by the 3 × 3 binomial kernel over the valid pixels (finite data where `valid` allows;
 * renormalised by the kernel's weight on them), clipped at 0; 0 where no valid pixel is near.
 */
export function signalEstimate(data: ArrayLike<number>, shape: Shape2, valid?: ArrayLike<number>): Float64Array {
  const [ny, nx] = shape;
  const w1 = [0.25, 0.5, 0.25];
  const out = new Float64Array(ny * nx);
  for (let i = 0; i < ny; i++) {
    for (let j = 0; j < nx; j++) {
      let s = 0;
      let wsum = 0;
      for (let u = -1; u <= 1; u++) {
        const ii = i + u;
        if (ii < 0 || ii >= ny) continue;
        for (let v = -1; v <= 1; v++) {
          const jj = j + v;
          if (jj < 0 || jj >= nx) continue;
          const k = ii * nx + jj;
          const y = data[k];
          if (!Number.isFinite(y) || (valid && !(valid[k] > 0))) continue;
          const w = w1[u + 1] * w1[v + 1];
          s += w * y;
          wsum += w;
        }
      }
      out[i * nx + j] = wsum > 0 ? Math.max(0, s / wsum) : 0;
    }
  }
  return out;
}

/** σ = √(σ_w² + s/e) per pixel; NaN where σ_w is not finite and positive (out of the fit), or where e is not. */
export function addPoissonVariance(skySigma: ArrayLike<number>, signal: ArrayLike<number>, electronsPerUnit: number | ArrayLike<number>): Float64Array {
  const out = new Float64Array(skySigma.length);
  for (let k = 0; k < out.length; k++) {
    const sw = skySigma[k];
    const e = typeof electronsPerUnit === 'number' ? electronsPerUnit : electronsPerUnit[k];
    if (!(Number.isFinite(sw) && sw > 0) || !(Number.isFinite(e) && e > 0)) {
      out[k] = NaN;
      continue;
    }
    const s = Math.max(0, signal[k]);
    out[k] = Math.sqrt(sw * sw + (Number.isFinite(s) ? s : 0) / e);
  }
  return out;
}

/**
 * The sky's σ from an EXP weight map (seconds per pixel): σ_w = c/√t_pix, c² the blank sky's variance of y·√t_pix
 * (its sky pixels as the noise-correlation estimate takes them: valid, outside `exclude` or inside `region`, sources
 * clipped): the large-scale variance where neighbouring pixels correlate significantly (what an IVM weight states
 * for drizzled data), else the per-pixel one. Throws where the sky holds fewer than MIN_SKY_PIXELS pixels.
 */
export function skySigmaFromExposure(data: ArrayLike<number>, exposure: ArrayLike<number>, shape: Shape2, exclude: Uint8Array | null, region?: PixelBox): { sigma: Float64Array; scale: number; basis: 'per-pixel' | 'large-scale'; skyPixels: number; excluded: number } {
  const rel = new Float64Array(exposure.length);
  let excluded = 0;
  for (let k = 0; k < rel.length; k++) {
    const t = exposure[k];
    if (Number.isFinite(t) && t > 0) rel[k] = 1 / Math.sqrt(t);
    else {
      rel[k] = NaN;
      excluded++;
    }
  }
  const sky = skyPixels(data, rel, shape, region ? null : exclude, region);
  const est = estimateSkyCorrelation(data, rel, shape, sky, region ?? 'auto');
  if (!est) {
    let c = 0;
    for (const v of sky) c += v;
    throw new LensInputError(`EXP weights: the sky's σ is measured from the blank sky, which holds ${c} pixels here (${MIN_SKY_PIXELS} needed): give an IVM weight map or a σ map, or a larger cutout`);
  }
  const large = correlationSignificant(est);
  const c2 = large ? est.largeScaleRatio : est.varianceRatio;
  const scale = Math.sqrt(c2);
  return { sigma: Float64Array.from(rel, (v) => v * scale), scale, basis: large ? 'large-scale' : 'per-pixel', skyPixels: est.skyPixels, excluded };
}

/** The σ the fit uses and how it was made (lens.json's `noise`). */
export interface LensSigma {
  /** σ for the fit: the sky's σ with the Poisson term where it is on */
  sigma: Float64Array;
  /** the sky's σ alone (the noise-correlation estimate reads it: unchanged by the Poisson term) */
  skySigma: Float64Array;
  poisson: boolean;
  /** lens.json's noise block */
  json: Record<string, unknown>;
  /** lines for the notes (stderr, the app) */
  notes: string[];
}

/**
 * The fit's σ from the sky's σ: the Poisson term added where `mode` is auto and the electrons per unit are known
 * (`scale`, an ElectronScale; a string: why not) and `wanted` (a weight map, or an exposure time given with a σ map).
 */
export function lensSigma(data: ArrayLike<number>, shape: Shape2, skySigma: Float64Array, opts: { mode: PoissonMode; wanted: boolean; scale: ElectronScale | string; source: string }): LensSigma {
  // the sky's σ in numbers: its median over the pixels it holds (the app and lens.json show it)
  const finite = Float64Array.from(skySigma).filter((v) => Number.isFinite(v) && v > 0).sort();
  const base = { sky: opts.source, ...(finite.length > 0 && { skySigmaMedian: quantileSorted(finite, 0.5) }) };
  if (opts.mode === 'none') {
    return { sigma: skySigma, skySigma, poisson: false, json: { ...base, poisson: 'none (--poisson none)' }, notes: [`the sources' Poisson noise: not added (--poisson none): σ is ${opts.source}`] };
  }
  if (!opts.wanted) {
    return { sigma: skySigma, skySigma, poisson: false, json: { ...base, poisson: 'none (a σ map is taken as complete; --exposure-time adds the term)' }, notes: [] };
  }
  if (typeof opts.scale === 'string') {
    return {
      sigma: skySigma,
      skySigma,
      poisson: false,
      json: { ...base, poisson: `none (${opts.scale})` },
      notes: [`the sources' Poisson noise: not added (${opts.scale}): σ is ${opts.source} alone, which a drizzled weight map leaves without the sources' noise; give --exposure-time T (seconds; data in e⁻/s)`],
    };
  }
  const s = signalEstimate(data, shape, skySigma);
  const sigma = addPoissonVariance(skySigma, s, opts.scale.electronsPerUnit);
  // how much it changes: the largest σ ratio and the pixels whose variance grew by more than 10 %
  let maxRatio = 1;
  let grown = 0;
  for (let k = 0; k < sigma.length; k++) {
    if (!Number.isFinite(sigma[k])) continue;
    const r = sigma[k] / skySigma[k];
    if (r > maxRatio) maxRatio = r;
    if (r * r > 1.1) grown++;
  }
  const e = opts.scale.electronsPerUnit;
  return {
    sigma,
    skySigma,
    poisson: true,
    json: {
      ...base,
      poisson: 'σ² = σ_sky² + max(s, 0)/e, s the data smoothed by the 3×3 binomial kernel',
      electronsPerUnit: typeof e === 'number' ? e : 'per pixel (EXP weights × gain)',
      read: opts.scale.read,
      maxSigmaRatio: maxRatio,
      pixelsVarianceAbove110Percent: grown,
    },
    notes: [`${POISSON_ADDED_NOTE}: σ² = σ_sky² + max(s, 0)/e, s the data smoothed (3×3 binomial); ${opts.scale.text}; σ up to ${maxRatio.toFixed(2)}× the sky's, variance +10 % or more at ${grown} pixels (--poisson none leaves it out)`],
  };
}
