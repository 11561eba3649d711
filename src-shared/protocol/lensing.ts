/**
 * The protocol of the lens fit in the app: `job.lensFit` fits a strong lens to the observation as
 * `skyscore lens-fit` does (the same code, src-main/reconstruct/lens-fit-run.ts), as a job with progress and
 * cancellation; `lens.products` gives a finished fit's products (lens.json, model.json, the FITS images, the
 * critical curves), the command line's bytes. Composed into `Methods` / `methodParams` in ./index.ts.
 */
import { ProtocolError, obj, num, str, bool, literal, nullable, optional, type Validator } from './validate.js';
import { LIMITS } from './limits.js';
import { MAX_CORE_GAUSSIANS } from '../lensing/light.js';
import { FILE_NAME, JOB_ID, files, obsInput, type NamedFile, type ObsInput } from './jobs.js';

/**
 * σ per pixel: one number, a σ map (the command line's --noise-map), or an inverse-variance weight map, σ = 1/√w
 * (--weight-map: drizzle's WHT with final_wht_type=IVM; pixels of weight 0 left out). A map is an HDU of a file
 * among `files`, or, with no `file`, an HDU of the observation's own file (`FILE.fits[ERR]`, `FILE.fits[WHT]`).
 */
export type LensFitNoise = (
  | { kind: 'sigma'; sigma: number }
  | { kind: 'map'; file?: string; hdu: number }
  | { kind: 'weights'; file?: string; hdu: number; weightType?: 'ivm' | 'exp' }
  /** σ_sky measured from the observation's blank sky (`--noise-map estimate`) */
  | { kind: 'estimate' }
) &
  LensFitPoisson &
  LensFitCorrelation &
  LensFitSkyLevel;
/**
 * The constant sky level (the command line's --sky): absent or 'none', the data's sky taken as subtracted; 'fit',
 * fitted with the deflector's light and subtracted before everything else; a number, that level (data units).
 */
export interface LensFitSkyLevel {
  sky?: 'none' | 'fit' | number;
}
/**
 * The sources' Poisson noise added to σ (the command line's --poisson, --exposure-time; docs/lensing.md): absent,
 * 'auto' with the exposure time from the observation's header, added to a weight map's σ and to a σ map's only
 * where an exposure time is given. `weightType` 'exp': the weight map is drizzle's EXP (seconds per pixel).
 */
export interface LensFitPoisson {
  poisson?: 'auto' | 'none';
  /** seconds; replaces the header's EXPTIME; 'estimate': measured from the data by photon transfer (`--exposure-time estimate`) */
  exposureTime?: number | 'estimate';
}
/**
 * The noise's correlation (the command line's --noise-correlation, --noise-region; docs/lensing.md *Correlated
 * noise*): absent or 'auto', measured on the blank sky outside the fitted region (or on `region`) and whitened where
 * significant; 'none', the noise taken as white. `region`: the blank-sky box x0, y0, x1, y1 (0-based pixels, x1 and
 * y1 exclusive), also the sky EXP weights take their scale from; only with 'auto'.
 */
export interface LensFitCorrelation {
  correlation?: 'auto' | 'none';
  region?: { x0: number; y0: number; x1: number; y1: number };
}
/** The PSF: an image among `files` (cropped to `size`, renormalised) or a Gaussian (FWHM in pixels). */
export type LensFitPsfInput = { kind: 'fits'; file: string; hdu: number; size: number } | { kind: 'gaussian'; fwhmPx: number; size: number };
/**
 * The fitted pixels: every valid pixel, a 0/1 mask among `files`, an annulus (arcsec from the image centre), or the
 * command line's default (no --mask or --annulus: the 3″ disc where the image reaches beyond it, else every pixel).
 */
export type LensFitMaskInput =
  | { kind: 'all' }
  | { kind: 'default' }
  /** `convention`: how the file marks the fitted pixels (absent: 'auto'; `skyscore lens-fit --mask-convention`) */
  | { kind: 'file'; file: string; hdu: number; convention?: (typeof LENS_FIT_MASK_CONVENTIONS)[number] }
  | { kind: 'annulus'; r1: number; r2: number };
/** A mask file's convention: auto (detected), fit (1 = fitted), exclude (1 = left out: PyAutoLens's Mask2D). */
export const LENS_FIT_MASK_CONVENTIONS = ['auto', 'fit', 'exclude'] as const;

export const LENS_FIT_REGULARISATIONS = ['gradient', 'curvature', 'identity'] as const;
/** The fitted mass profile: the SIE, or the elliptical power law with its slope fitted too (`--mass`). */
export const LENS_FIT_MASS_PROFILES = ['sie', 'epl'] as const;

/** The fit's settings: `skyscore lens-fit`'s flags. */
export interface LensFitJobSettings {
  sourceSize: number;
  /** arcsec per pixel of the final source grid; null: the default grid */
  sourceScale: number | null;
  fitSourceSize: number;
  starts: number;
  /** Sérsic components of the deflector's light: 0, 1 or 2, or 'auto' (the evidence chooses one or two, as the command line's default) */
  light: number | 'auto';
  /**
   * Gaussian core components tied to the first Sérsic component (--light-core; 0–MAX_CORE_GAUSSIANS, absent: 0):
   * a steeper nucleus or a narrower PSF core than the model's
   */
  lightCore?: number;
  supersample: number;
  regularisation: (typeof LENS_FIT_REGULARISATIONS)[number];
  /** the errors (false: the command line's --no-errors) */
  errors: boolean;
  /** the mass profile (absent: the SIE) */
  mass?: (typeof LENS_FIT_MASS_PROFILES)[number];
  /** keep the pixels sharper than the PSF (--keep-sharp; by default they are left out: lens.json outliers) */
  keepSharp?: boolean;
}

export interface LensFitParams {
  obs: ObsInput;
  /** the σ map, the PSF image and the mask, by name */
  files: NamedFile[];
  noise: LensFitNoise;
  psf: LensFitPsfInput;
  /** arcsec per pixel of the observation; null: from its celestial WCS (the command line without --pixel-scale) */
  pixelScale: number | null;
  mask: LensFitMaskInput;
  settings: LensFitJobSettings;
}

export interface LensFitStarted {
  jobId: string;
  queued: number;
  /** [ny, nx] of the observation */
  shape: [number, number];
  /** the command line that gives the same products (the files as the request names them) */
  command: string;
  /** the pixel scale the fit uses (arcsec) and where it comes from ('given', or the WCS matrix read) */
  pixelScale: { value: number; source: string };
  /** the command line's notes on its defaults: the scale from the WCS, σ from the weights, the default disc */
  notes: string[];
}

/** A lens fit's progress: the fit's stage, its log evidence where it has one, and the command line's progress line. */
export interface LensFitJobProgress {
  jobId: string;
  kind: 'lensFit';
  stage: 'light' | 'mass' | 'joint' | 'errors' | 'source' | 'done';
  /** the start (0-based) in the mass stage */
  start: number | null;
  evaluations: number;
  logEvidence: number | null;
  line: string;
  elapsedS: number;
}

export interface LensFitProductsResult {
  /** lens.json, model.json, psf.fits, mask.fits, lens-light.fits, light-subtracted.fits, model-image.fits, normalised-residual.fits, source-inversion.fits, critical-curves.json, sigma.fits */
  files: NamedFile[];
  /** the one-line summary `skyscore lens-fit` prints */
  summary: string;
}

export interface LensingMethods {
  'job.lensFit': { params: LensFitParams; result: LensFitStarted };
  'lens.products': { params: { jobId: string }; result: LensFitProductsResult };
}

const fileRef = str({ max: 200, pattern: FILE_NAME });
const hdu = num({ integer: true, min: 0, max: 9999 });
/** Reads `kind` first, so that a message names the variant it expected. */
const variant =
  <T>(cases: Record<string, Validator<T>>): Validator<T> =>
  (v, p) => {
    const kind = (v as { kind?: unknown } | null)?.kind;
    const c = typeof kind === 'string' && Object.prototype.hasOwnProperty.call(cases, kind) ? cases[kind] : undefined;
    if (!c) throw new ProtocolError(`${p}.kind: expected ${Object.keys(cases).map((k) => `'${k}'`).join(', ')}`);
    return c(v, p);
  };

const pixel = num({ integer: true, min: 0, max: 1e6 });
const noiseFields = {
  poisson: optional(literal('auto', 'none')),
  exposureTime: optional<number | 'estimate'>((v, p) => (v === 'estimate' ? 'estimate' : num({ min: Number.MIN_VALUE, max: 1e9 })(v, p))),
  sky: optional<'none' | 'fit' | number>((v, p) => (v === 'none' || v === 'fit' ? v : num({ min: -1e30, max: 1e30 })(v, p))),
  correlation: optional(literal('auto', 'none')),
  region: optional(obj({ x0: pixel, y0: pixel, x1: pixel, y1: pixel })),
};

/** The noise input, with the command line's refusals of flags that contradict each other. */
const noiseInput: Validator<LensFitNoise> = (v, p) => {
  const r = variant<LensFitNoise>({
    sigma: obj({ kind: literal('sigma'), sigma: num({ min: Number.MIN_VALUE }), ...noiseFields }),
    map: obj({ kind: literal('map'), file: optional(fileRef), hdu, ...noiseFields }),
    weights: obj({ kind: literal('weights'), file: optional(fileRef), hdu, weightType: optional(literal('ivm', 'exp')), ...noiseFields }),
    estimate: obj({ kind: literal('estimate'), ...noiseFields }),
  })(v, p);
  if (r.exposureTime !== undefined && r.poisson === 'none') throw new ProtocolError(`${p}: the exposure time gives the sources' Poisson noise: not with poisson 'none'`);
  if (r.exposureTime !== undefined && r.kind === 'weights' && r.weightType === 'exp') throw new ProtocolError(`${p}: EXP weights give the exposure time per pixel: not with exposureTime`);
  if (r.region !== undefined && r.correlation === 'none') throw new ProtocolError(`${p}.region: the blank-sky box measures the noise's correlation: not with correlation 'none'`);
  if (r.region !== undefined && !(r.region.x1 > r.region.x0 && r.region.y1 > r.region.y0)) throw new ProtocolError(`${p}.region: expected x1 > x0 and y1 > y0, got ${r.region.x0},${r.region.y0},${r.region.x1},${r.region.y1}`);
  return r;
};

const psfSize = num({ integer: true, min: 1, max: 255 });
const psfInput: Validator<LensFitPsfInput> = (v, p) => {
  const r = variant<LensFitPsfInput>({
    fits: obj({ kind: literal('fits'), file: fileRef, hdu, size: psfSize }),
    gaussian: obj({ kind: literal('gaussian'), fwhmPx: num({ min: Number.MIN_VALUE, max: 100 }), size: psfSize }),
  })(v, p);
  if (r.size % 2 === 0) throw new ProtocolError(`${p}.size: the PSF's crop must be an odd number of pixels, got ${r.size}`);
  return r;
};

const maskInput: Validator<LensFitMaskInput> = (v, p) => {
  const r = variant<LensFitMaskInput>({
    all: obj({ kind: literal('all') }),
    default: obj({ kind: literal('default') }),
    file: obj({ kind: literal('file'), file: fileRef, hdu, convention: optional(literal(...LENS_FIT_MASK_CONVENTIONS)) }),
    annulus: obj({ kind: literal('annulus'), r1: num({ min: 0, max: 3600 }), r2: num({ min: Number.MIN_VALUE, max: 3600 }) }),
  })(v, p);
  if (r.kind === 'annulus' && !(r.r2 > r.r1)) throw new ProtocolError(`${p}: the annulus needs r1 < r2 (arcsec), got r1 = ${r.r1}, r2 = ${r.r2}`);
  return r;
};

const settings: Validator<LensFitJobSettings> = obj({
  sourceSize: num({ integer: true, min: 4, max: LIMITS.lensFitSourceSide }),
  sourceScale: nullable(num({ min: Number.MIN_VALUE, max: 3600 })),
  fitSourceSize: num({ integer: true, min: 4, max: LIMITS.lensFitFitSourceSide }),
  starts: num({ integer: true, min: 1, max: LIMITS.lensFitStarts }),
  light: (v, p) => (v === 'auto' ? 'auto' : num({ integer: true, min: 0, max: 2 })(v, p)),
  lightCore: optional(num({ integer: true, min: 0, max: MAX_CORE_GAUSSIANS })),
  supersample: num({ integer: true, min: 1, max: 8 }),
  regularisation: literal(...LENS_FIT_REGULARISATIONS),
  errors: bool,
  mass: optional(literal(...LENS_FIT_MASS_PROFILES)),
  keepSharp: optional(bool),
});

export const lensingMethodParams: { [M in keyof LensingMethods]: Validator<LensingMethods[M]['params']> } = {
  'job.lensFit': obj({
    obs: obsInput,
    files,
    noise: noiseInput,
    psf: psfInput,
    pixelScale: nullable(num({ min: Number.MIN_VALUE, max: 3600 })),
    mask: maskInput,
    settings,
  }),
  'lens.products': obj({ jobId: str({ max: 40, pattern: JOB_ID }) }),
};
