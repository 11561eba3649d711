/**
 * The lens fit's orchestration, one code path for `skyscore lens-fit` and the app's `job.lensFit`: the inputs
 * (the observation, σ per pixel, the PSF cropped as the command line crops it, the fitted pixels), the fit
 * (src-shared/lensing/fit.ts) with its progress as the command line's lines and a stop polled at every progress
 * call, and the products (lens.json, model.json, the FITS images on the observation's grid, the source
 * inversion, the critical curves). The same inputs give the same bytes whichever host runs it.
 */
import { createHash } from 'node:crypto';
import type { ImageFile } from '../forward-model-files.js';
import { resultHeader, shapeText } from './headers.js';
import { writeFits, type FitsHeader } from '../../src-shared/fits/index.js';
import { UserInputError } from '../../src-shared/errors.js';
import { psfFromImage, cropKernelToImage, gaussianPsf, type PsfKernel } from '../../src-shared/operators/psf.js';
import { psfPixelScale, psfSamplingWarning } from '../../src-shared/operators/psf-sampling.js';
import { lensCurves } from '../../src-shared/operators/lens-curves.js';
import { parseForwardModel } from '../../src-shared/operators/forward-model-spec.js';
import { openLensFitPool } from '../lens-fit/pool/pool.js';
import { annulusMask, fitLens, fitLightOnly, fitPixels, leastSquaresChi2, lightSubtracted, EPL_GAMMA_BOUNDS, type LensFitProgress, type LensFitResult, type LightCentres, type MassProfile } from '../../src-shared/lensing/fit.js';
import { detectExcludeMask, implausibleLensNote, type MaskConvention } from '../../src-shared/lensing/inputs.js';
import { fluxReference, backgroundReference } from '../../src-shared/diffusion/flux-reference.js';
import type { RegularisationKind } from '../../src-shared/lensing/inversion.js';
import type { Shape2 } from '../../src-shared/operators/types.js';
import type { PixelBox } from '../../src-shared/noise/spectrum.js';
import { CORE_GAUSSIAN_SIGMAS, lightColumns, lightImage } from '../../src-shared/lensing/light.js';
import { sharpCutMask, whitenedSharpOutliers, type WhitenedSharpResult } from '../../src-shared/lensing/sharp-whitened.js';
import { lensHeaderCards, lensSky, type LensSky } from '../../src-shared/lensing/sky-frame.js';
import { blurredLensMatrix } from '../../src-shared/lensing/mass.js';
import { csrMultiply } from '../../src-shared/operators/csr.js';
import {
  approximationError,
  decideNoiseCorrelation,
  dilate,
  MAX_LARGE_SCALE_RATIO,
  skyNotBlank,
  noiseRealisation,
  whitenedPsf,
  whitenImage,
  whiteningKernel,
  type CorrelationDecision,
  type NoiseCorrelationMode,
  type WhiteningKernel,
} from '../../src-shared/lensing/whitening.js';

/** The products, in the order they are written. */
export const LENS_FIT_PRODUCTS = [
  'lens.json',
  'model.json',
  'psf.fits',
  'mask.fits',
  'lens-light.fits',
  'light-subtracted.fits',
  'model-image.fits',
  'normalised-residual.fits',
  'source-inversion.fits',
  'critical-curves.json',
] as const;
/** Written besides where the noise was whitened: model.json's correlated noise block (σ per pixel, a noise-only draw). */
export const LENS_FIT_NOISE_PRODUCTS = ['noise-sigma.fits', 'noise-realisation.fits'] as const;

/** The fit's settings (the command line's flags) with their defaults. */
export interface LensFitSettings {
  sourceSize: number;
  /** arcsec per pixel of the final source grid; undefined: the default grid */
  sourceScale?: number;
  fitSourceSize: number;
  starts: number;
  /** Sérsic components of the deflector's light, or 'auto' (the evidence chooses one or two: fitLens) */
  light: number | 'auto';
  /**
   * Gaussian core components tied to the first Sérsic component (fitLens's lightCore; absent: LENS_FIT_LIGHT_CORE)
   */
  lightCore?: number;
  /** the Sérsic components' centres (fitLens's lightCentres; absent: free) */
  lightCentres?: LightCentres;
  supersample: number;
  regularisation: RegularisationKind;
  errors: boolean;
  /** the mass profile: 'sie' (absent: the default) or 'epl' (the slope fitted too) */
  mass?: MassProfile;
  /** false: keep the pixels sharper than the PSF (absent: left out, the default) */
  rejectSharpOutliers?: boolean;
  /**
   * false: the first θE is the ring's radius alone (absent: refined by the evidence's scan of round lenses within
   * ×1.25 of it, the default; fitLens's scanThetaE)
   */
  scanThetaE?: boolean;
}

/** The tied Gaussian core components of the deflector's light by default (--light-core; docs/lensing.md). */
export const LENS_FIT_LIGHT_CORE = 0;
export const LENS_FIT_DEFAULTS: LensFitSettings = { sourceSize: 64, fitSourceSize: 24, starts: 3, light: 'auto', supersample: 2, regularisation: 'gradient', errors: true };
/** The PSF's central crop (pixels, odd) by default. */
export const LENS_FIT_PSF_SIZE = 21;

/** The pixels to fit: a 0/1 mask of the image's shape, an annulus (arcsec from the image centre), or every valid pixel. */
export type LensFitMask =
  | { kind: 'mask'; mask: Uint8Array }
  /** `followThetaE`: the default disc (r1 = 0), widened with the first θE (fitLens's defaultDisc) */
  | { kind: 'annulus'; r1: number; r2: number; followThetaE?: boolean }
  | null;

export interface LensFitInputs {
  /** the observation (its header and FITS axes give the products' headers) */
  obs: ImageFile;
  /** σ per pixel, [ny, nx] */
  sigma: ArrayLike<number>;
  /** how σ was given (SKYNOISE card): the number, or the σ map's file name */
  noiseText: string;
  /** the PSF, cropped and normalised (lensFitPsf) */
  psf: PsfKernel;
  pixelScale: number;
  mask: LensFitMask;
  /** warnings about the inputs (lensFitPsfWarning): printed before the fit and kept in lens.json's warnings */
  warnings?: string[];
  /** the noise's correlation and the decision to whiten (lensFitNoiseCorrelation); absent: measured here ('auto') */
  correlation?: CorrelationDecision;
  /** how σ was made (the sky's σ, the sources' Poisson term: src-shared/lensing/noise-map.ts), lens.json's `noise` */
  noise?: Record<string, unknown>;
  /** notes on the inputs (the mask's convention, σ's flagged pixels): lens.json's `notes` */
  notes?: string[];
  /** how a mask file was read (lensFitMask): lens.json's `maskConvention` */
  maskConvention?: { given: MaskConvention; read: 'fit' | 'exclude' };
  /**
   * the constant sky level already subtracted from `obs` (lensFitSkyLevel, --sky): added back to the products that
   * model the observation as given (lens-light.fits, model.json's additive image, model-image.fits); lens.json `sky`
   */
  sky?: LensFitSky;
}

/** A constant sky level (data units) subtracted before the fit, and how it was found (lens.json `sky`). */
export interface LensFitSky {
  level: number;
  method: 'fitted' | 'given';
  /** fitted: the pixels of the joint fit (after the sources' clip) and the disc's radius (arcsec) */
  pixels?: number;
  radiusArcsec?: number;
}

/**
 * The image's constant sky level (data units): fitted jointly with the deflector's light — two Sérsic components
 * through the PSF and a constant, the amplitudes by linear least squares (fitLightOnly with its sky column), the
 * pixels more than 3σ above the first round's model (arcs, other sources) left out of the second — on the valid
 * pixels within SKY_FIT_RADIUS_FACTOR × the fitted region's outer radius of the image centre (at least
 * SKY_FIT_MIN_RADIUS_ARCSEC; the whole image without a mask). A cutout whose sky was not subtracted (a drizzled image
 * before MDRIZSKY's subtraction) otherwise leaves the constant to the Sérsic profiles' wings and the sources'
 * Poisson term, whose s then counts the sky's photons twice (σ_sky holds them already).
 */
export const SKY_FIT_RADIUS_FACTOR = 2;
export const SKY_FIT_MIN_RADIUS_ARCSEC = 6;
export function lensFitSkyLevel(obs: ImageFile, sigma: ArrayLike<number>, mask: LensFitMask, pixelScale: number, psf: PsfKernel): LensFitSky {
  const [ny, nx] = obs.shape;
  const image = { shape: obs.shape, scale: pixelScale };
  let outer = Infinity;
  if (mask?.kind === 'annulus') outer = mask.r2;
  else if (mask?.kind === 'mask') {
    outer = 0;
    for (let i = 0; i < ny; i++) for (let j = 0; j < nx; j++) if (mask.mask[i * nx + j]) outer = Math.max(outer, Math.hypot(i - (ny - 1) / 2, j - (nx - 1) / 2) * pixelScale);
  }
  const radius = Math.max(SKY_FIT_RADIUS_FACTOR * outer, SKY_FIT_MIN_RADIUS_ARCSEC);
  const d = { data: obs.data, sigma, image, mask: Number.isFinite(radius) ? annulusMask(image, 0, radius) : null, psf };
  const pixels = fitPixels(d);
  if (pixels.length < 50) throw new UserInputError(`the sky level: only ${pixels.length} valid pixels to fit it from`);
  const r = fitLightOnly(d, pixels, 2, 800, () => {}, true);
  return { level: r.sky, method: 'fitted', pixels: pixels.length, radiusArcsec: radius };
}

/**
 * The automatic sky selection leaves out the fitted region grown by its own radius (an annulus: the disc of twice its
 * outer radius; a mask: grown by its equivalent radius √(area/π)), at least by SKY_MARGIN_ARCSEC: the deflector's
 * wings fall off by then (on the 360² simulation of docs/lensing.md, the sky from 4″ out read P(0) 1.8 on white
 * noise, from 6″ out 0.9–1.0).
 */
export const SKY_MARGIN_ARCSEC = 1;

/**
 * The smaller growths (arcsec) the automatic sky selection falls back to, in turn, where the fitted region grown by
 * its own radius leaves fewer than MIN_SKY_PIXELS sky pixels in the cutout (a 151² PyAutoLens cutout of 0.05″ with the
 * default 3″ disc: none): the first that leaves enough is used. The guards stay: sources clipped, the 31×31 local
 * mean, and MAX_LARGE_SCALE_RATIO, which refuses a "sky" holding signal. Where that sky holds the deflector's wings
 * (refused), the deflector's light alone (fitLightOnly, two Sérsic components, fitted to the fitted region) is
 * subtracted and the sky measured again on the residual, the same guards applied.
 */
export const SKY_FALLBACK_GROWTHS_ARCSEC = [1, 0.5, 0.25, 0];

/**
 * The noise's correlation for the lens fit (src-shared/lensing/whitening.ts): measured on the box `region` where one
 * is given, else on the blank sky outside the fitted region grown (its own radius, at least SKY_MARGIN_ARCSEC; where
 * that leaves too few sky pixels, SKY_FALLBACK_GROWTHS_ARCSEC in turn, the deflector's light subtracted where the
 * sky holds it and `psf` is given; no mask: the whole image), sources clipped; whitened where significant. 'none':
 * not measured.
 */
export function lensFitNoiseCorrelation(obs: ImageFile, sigma: ArrayLike<number>, mask: LensFitMask, pixelScale: number, mode: NoiseCorrelationMode, region?: PixelBox, psf?: PsfKernel): CorrelationDecision {
  const shape = obs.shape;
  const [ny, nx] = shape;
  if (region && (region.x1 > nx || region.y1 > ny || !(region.x1 > region.x0 && region.y1 > region.y0))) {
    throw new UserInputError(`the noise region ${region.x0},${region.y0},${region.x1},${region.y1} is not a box inside the ${nx}×${ny} (x × y) image`);
  }
  const own = lensFitSkyGrowth(mask, pixelScale);
  const first = decideNoiseCorrelation(obs.data, sigma, shape, mode, own === null ? null : lensFitSkyExclude(shape, mask, pixelScale, own), region);
  if (region || own === null || mode === 'none') return first;
  if (first.estimate) return { ...first, sky: { growthArcsec: own, ownGrowthArcsec: own, skyPixelsAtOwnGrowth: first.estimate.skyPixels, lightSubtracted: false } };
  const ownPixels = first.skyPixels ?? 0;
  const f = (v: number) => `${+v.toFixed(2)}″`;
  let residual: Float64Array | null = null;
  for (const g of SKY_FALLBACK_GROWTHS_ARCSEC) {
    if (g >= own) continue;
    const exclude = lensFitSkyExclude(shape, mask, pixelScale, g);
    const where = (sub: boolean) =>
      `the ${sub ? 'residual of the deflector\'s light alone (two Sérsic components fitted to the fitted region), on the ' : ''}blank sky outside the fitted region grown by ${f(g)} (its own radius, ${f(own)}, leaves ${ownPixels} sky pixels in the cutout)`;
    const d = decideNoiseCorrelation(obs.data, sigma, shape, mode, exclude, undefined, where(false));
    if (!d.estimate) continue;
    if (!skyNotBlank(d.estimate) || !psf) return { ...d, sky: { growthArcsec: g, ownGrowthArcsec: own, skyPixelsAtOwnGrowth: ownPixels, lightSubtracted: false } };
    // the sky holds the deflector's wings: its light alone subtracted, the sky measured again on the residual
    residual ??= lightResidual(obs, sigma, mask!, pixelScale, psf);
    const r = decideNoiseCorrelation(residual, sigma, shape, mode, exclude, undefined, where(true));
    if (!r.estimate) continue;
    return { ...r, sky: { growthArcsec: g, ownGrowthArcsec: own, skyPixelsAtOwnGrowth: ownPixels, lightSubtracted: true } };
  }
  // too few sky pixels at every growth: not measured, as its own radius left it
  return { ...first, sky: { growthArcsec: own, ownGrowthArcsec: own, skyPixelsAtOwnGrowth: ownPixels, lightSubtracted: false } };
}

/** The data minus the deflector's light alone (fitLightOnly, two components, on the fitted region's valid pixels). */
function lightResidual(obs: ImageFile, sigma: ArrayLike<number>, mask: NonNullable<LensFitMask>, pixelScale: number, psf: PsfKernel): Float64Array {
  const image = { shape: obs.shape, scale: pixelScale };
  const d = { data: obs.data, sigma, image, mask: mask.kind === 'mask' ? mask.mask : annulusMask(image, mask.r1, mask.r2), psf };
  const pixels = fitPixels(d);
  if (pixels.length < 50) return Float64Array.from(obs.data);
  const { light } = fitLightOnly(d, pixels, 2, 1500, () => {});
  const { amps } = leastSquaresChi2(lightColumns(light, image, psf, pixels, 2), d, pixels);
  const model = lightImage(light, amps, image, psf, 2);
  return Float64Array.from(obs.data, (v, k) => v - model[k]);
}

/**
 * How far the automatic sky selection grows the fitted region by default (arcsec): an annulus by its outer radius, a
 * mask by its equivalent radius √(area/π), at least SKY_MARGIN_ARCSEC: the deflector's wings fall off by then. Null
 * where there is no mask (the whole image is fitted; the sky is every pixel off sources).
 */
export function lensFitSkyGrowth(mask: LensFitMask, pixelScale: number): number | null {
  if (mask?.kind === 'annulus') return Math.max(mask.r2, SKY_MARGIN_ARCSEC);
  if (mask?.kind === 'mask') {
    let area = 0;
    for (const v of mask.mask) area += v ? 1 : 0;
    return Math.ceil(Math.max(SKY_MARGIN_ARCSEC / pixelScale, Math.sqrt(area / Math.PI))) * pixelScale;
  }
  return null;
}

/**
 * The pixels the automatic sky selection leaves out (lensFitNoiseCorrelation's; also the EXP weights' sky): the
 * fitted region grown by `growthArcsec` (default lensFitSkyGrowth's; an annulus: the disc of its outer radius plus
 * the growth; a mask: dilated by the growth's pixels, rounded up, in a square); null where none.
 */
export function lensFitSkyExclude(shape: [number, number], mask: LensFitMask, pixelScale: number, growthArcsec?: number): Uint8Array | null {
  const [ny, nx] = shape;
  const g = growthArcsec ?? lensFitSkyGrowth(mask, pixelScale);
  if (g === null) return null;
  if (mask?.kind === 'annulus') {
    const r = (mask.r2 + g) / pixelScale;
    const exclude = new Uint8Array(ny * nx);
    for (let i = 0; i < ny; i++) for (let j = 0; j < nx; j++) if (Math.hypot(i - (ny - 1) / 2, j - (nx - 1) / 2) <= r) exclude[i * nx + j] = 1;
    return exclude;
  }
  if (mask?.kind === 'mask') return dilate(Uint8Array.from(mask.mask, (v) => (v ? 1 : 0)), ny, nx, Math.round(g / pixelScale));
  return null;
}

/** The fit's inputs whitened (data', σ with NaN where no whitened value, the whitened PSF of unit sum and its gain). */
interface Whitened {
  kernel: WhiteningKernel;
  data: Float64Array;
  sigma: Float64Array;
  psf: PsfKernel;
  gain: number;
  dropped: number;
  /** the pixels sharper than the PSF found before the fit, each left out with its R-neighbourhood */
  sharp: number[];
}

/**
 * The fit's sharp-pixel test on the whitened data before the fit (sharp-whitened.ts: against the data, then against
 * the light alone, `lightCount` components, 0: the first pass only; at the deflector's core the data as given
 * decide) and every pixel within the whitening kernel's radius of one taken out (data and σ NaN in `wh`): a hot
 * pixel's whitened image reaches that far — save at the deflector's core, where the pixels found alone go
 * (sharpCutMask).
 */
function whitenedSharpPixels(wh: Whitened, inp: Pick<LensFitInputs, 'obs' | 'sigma' | 'psf'>, mask: ArrayLike<number> | null, image: { shape: Shape2; scale: number }, lightCount: number): WhitenedSharpResult {
  const res = whitenedSharpOutliers({ data: wh.data, sigma: wh.sigma, psf: wh.psf }, { data: inp.obs.data, sigma: inp.sigma, psf: inp.psf }, wh.kernel.radius, mask, image, lightCount);
  sharpCutMask(res, image.shape, wh.kernel.radius).forEach((v, p) => {
    if (v) wh.data[p] = wh.sigma[p] = NaN;
  });
  return res;
}

/** What the fit reports as it goes: the fit's own progress and the line the command line prints for it. */
export interface LensFitLine {
  /** the fit's progress call the line reports; null for the lines after the fit (a note, the final line) */
  progress: LensFitProgress | null;
  /** the final line (θE, q, log Z, χ²/pixel) */
  done: boolean;
  line: string;
  elapsedS: number;
}

export interface LensFitHooks {
  /** a progress line (throttled as the command line throttles its stderr: at most one a second, and every stage's end) */
  onLine?: (l: LensFitLine) => void;
  /** polled at each of the fit's progress calls (every ~40 evaluations); true stops the fit with LensFitStopped */
  shouldStop?: () => boolean;
  /**
   * threads for the fit's independent evaluations (docs/lensing.md, *Threads*): 1 (or absent) all on this thread,
   * N > 1 a pool of N worker threads (openLensFitPool) for the duration of the fit; the same result bit for bit
   */
  threads?: number;
  /** with threads: the cycles' Nelder–Mead runs (light and mass) as speculative batches, this many candidates beside each reflection (LensFitParallel's `speculate`) */
  speculate?: number;
  /** with threads: false keeps each evaluation of the sequential searches whole on this thread (openLensFitPool's `split`; default: split over the threads) */
  split?: boolean;
  /** with threads: false keeps every factorisation on this thread (openLensFitPool's `factor`; default: the large ones split over the threads) */
  factor?: boolean;
  /** with threads: the order from which a factorisation is split (openLensFitPool's `factorMinN`; default CHOLESKY_THREADS_MIN_N) */
  factorMinN?: number;
  /** with threads: true makes the light's columns on the threads (openLensFitPool's `columns`; default: on this thread) */
  columns?: boolean;
}

/** The fit was stopped by its host (named as the job manager names a cancelled job). */
export class LensFitStopped extends Error {
  override name = 'CancelledError';
}

export interface LensFitOutput {
  result: LensFitResult;
  files: { name: string; bytes: Uint8Array | string }[];
  /** the one-line summary the command line prints on stdout */
  summary: string;
}

/** The command line's crop of a PSF image: its central `size`² pixels, unit sum, then no larger than the image. */
export function lensFitPsf(psfImage: { data: ArrayLike<number>; shape: Shape2 }, size: number, imageShape: Shape2, name: string): PsfKernel {
  let psf: PsfKernel;
  try {
    psf = cropPsf(psfFromImage(psfImage.data, psfImage.shape), size);
  } catch (e) {
    throw new UserInputError(`${name}: ${(e as Error).message.replace(/^psfFromImage: /, '')}`);
  }
  return cropKernelToImage(psf, imageShape);
}

/**
 * The PSF file's stated sampling (psf-sampling.ts: PIXSCALE, SECPIX, PIXELSCL, … or its WCS) against the fit's pixel
 * scale, as a warning where they differ by more than PSF_SAMPLING_TOLERANCE; null where they agree or the PSF states
 * none. `scaleSource`: 'given' (--pixel-scale, the app's field) or the WCS's matrix (pixelScaleFromWcs).
 */
export function lensFitPsfWarning(psfHeader: FitsHeader | undefined, psfName: string, pixelScale: number, scaleSource: string, obsName: string): string | null {
  const own = psfHeader ? psfPixelScale(psfHeader) : null;
  if (!own) return null;
  const source = scaleSource === 'given' ? 'the pixel scale given, --pixel-scale' : `its WCS: ${scaleSource}`;
  return psfSamplingWarning({ ...own, name: psfName }, { scale: pixelScale, source, name: obsName });
}

/**
 * A warning where the PSF image has an even side: its centre is taken as the pixel right of (below) its middle
 * (psfCenter), so a PSF symmetric about its middle shifts the model by half a pixel along that axis and the fitted
 * centres (the lens's x0, y0 and the light's) read half a pixel off; null for odd sides. PyAutoLens's and TinyTim's
 * PSFs are odd.
 */
export function lensFitPsfShapeWarning(shape: Shape2, name: string): string | null {
  const even = [shape[1] % 2 === 0 ? 'x' : null, shape[0] % 2 === 0 ? 'y' : null].filter((a) => a !== null);
  if (!even.length) return null;
  return `${name} is ${shape[1]}×${shape[0]} pixels (x × y), even along ${even.join(' and ')}: its centre is taken as the pixel after its middle, so the fitted centres (x0, y0 and the light's) may read half a pixel off along ${even.join(' and ')}; give an odd-sized PSF centred on its middle pixel`;
}

/** A Gaussian PSF (FWHM in pixels), cropped as a PSF image is. */
export function lensFitGaussianPsf(fwhmPx: number, size: number, imageShape: Shape2): PsfKernel {
  if (!(fwhmPx > 0) || !Number.isFinite(fwhmPx)) throw new UserInputError(`the PSF's FWHM must be positive, got ${fwhmPx} pixels`);
  return cropKernelToImage(cropPsf(gaussianPsf(fwhmPx), size), imageShape);
}

/** A mask image as fitted pixels: 0 or 1 everywhere, the image's shape. */
export function lensFitMaskImage(m: { data: ArrayLike<number>; shape: Shape2 }, shape: Shape2, name: string): Uint8Array {
  if (m.shape[0] !== shape[0] || m.shape[1] !== shape[1]) throw new UserInputError(`${name}: the mask is ${shapeText(m.shape)} but the image is ${shapeText(shape)}`);
  const mask = new Uint8Array(m.data.length);
  for (let k = 0; k < m.data.length; k++) {
    const v = m.data[k];
    if (v !== 0 && v !== 1) throw new UserInputError(`${name}: mask values must be 0 or 1, got ${v} at pixel (${Math.floor(k / shape[1])}, ${k % shape[1]}) (row, column)`);
    mask[k] = v;
  }
  return mask;
}

/** A mask file as read for the fit: the fitted pixels (1), how the file was read and the note that says so. */
export interface LensFitMaskReading {
  mask: Uint8Array;
  /** the convention the file was read in */
  convention: 'fit' | 'exclude';
  /** the convention asked for ('auto': detected, detectExcludeMask) */
  given: MaskConvention;
  /** what was detected and how to override it (null: read as asked, nothing to say) */
  note: string | null;
}

/**
 * A 0/1 mask file as fitted pixels in the convention asked for (`fit`: 1 fitted; `exclude`: 1 left out, PyAutoLens's
 * Mask2D; `auto`: `fit` unless detectExcludeMask finds the other). `override`: how the reader changes the
 * convention (the command line's flag; the app's words), quoted in the note.
 */
export function lensFitMask(
  m: { data: ArrayLike<number>; shape: Shape2 },
  shape: Shape2,
  name: string,
  given: MaskConvention,
  pixelScale: number,
  override: (c: 'fit' | 'exclude') => string = (c) => `--mask-convention ${c}`,
): LensFitMaskReading {
  const raw = lensFitMaskImage(m, shape, name);
  const invert = (): Uint8Array => Uint8Array.from(raw, (v) => 1 - v);
  if (given === 'fit') return { mask: raw, convention: 'fit', given, note: null };
  if (given === 'exclude') return { mask: invert(), convention: 'exclude', given, note: `${name} read as 1 = left out, 0 = fitted (${override('exclude')})` };
  const r = detectExcludeMask(raw, shape, pixelScale);
  if (r.exclude) {
    return { mask: invert(), convention: 'exclude', given, note: `${name} read as 1 = left out, 0 = fitted, PyAutoLens's convention: ${r.reason}; ${override('fit')} reads 1 as fitted` };
  }
  // a hole around the centre too small to be the fitted region: read as fitted, and said, for a small PyAutoLens mask
  const note = r.radius !== null ? `${name} read as 1 = fitted, 0 = left out (${r.reason}); ${override('exclude')} reads 1 as left out (PyAutoLens's convention)` : null;
  return { mask: raw, convention: 'fit', given, note };
}

/** The command line's flags that give these settings (for lens.json's command and the app's report). */
export function lensFitFlags(s: LensFitSettings, psfSize: number): string[] {
  const d = LENS_FIT_DEFAULTS;
  const out: string[] = [];
  if (psfSize !== LENS_FIT_PSF_SIZE) out.push('--psf-size', String(psfSize));
  if (s.sourceSize !== d.sourceSize) out.push('--source-size', String(s.sourceSize));
  if (s.sourceScale !== undefined) out.push('--source-scale', String(s.sourceScale));
  if (s.fitSourceSize !== d.fitSourceSize) out.push('--fit-source-size', String(s.fitSourceSize));
  if (s.starts !== d.starts) out.push('--starts', String(s.starts));
  if (s.light !== d.light) out.push('--light', String(s.light));
  if ((s.lightCore ?? LENS_FIT_LIGHT_CORE) !== LENS_FIT_LIGHT_CORE) out.push('--light-core', String(s.lightCore));
  if ((s.lightCentres ?? 'free') !== 'free') out.push('--light-centres', s.lightCentres!);
  if (s.supersample !== d.supersample) out.push('--supersample', String(s.supersample));
  if (s.regularisation !== d.regularisation) out.push('--regularisation', s.regularisation);
  if (!s.errors) out.push('--no-errors');
  if (s.mass !== undefined && s.mass !== 'sie') out.push('--mass', s.mass);
  if (s.rejectSharpOutliers === false) out.push('--keep-sharp');
  return out;
}

/**
 * Fits the lens and makes the products. `command` is the command line recorded in the products (lens.json's
 * `command`, the FITS HISTORY): the arguments after `skyscore`.
 */
export function runLensFit(inp: LensFitInputs, s: LensFitSettings, command: string, hooks: LensFitHooks = {}): LensFitOutput {
  const shape = inp.obs.shape;
  const image = { shape, scale: inp.pixelScale };
  const mask = inp.mask === null ? null : inp.mask.kind === 'mask' ? inp.mask.mask : annulusMask(image, inp.mask.r1, inp.mask.r2);
  const t0 = Date.now();
  const elapsed = () => (Date.now() - t0) / 1000;
  const stamp = () => `${elapsed().toFixed(0)}s`;
  const emit = (progress: LensFitProgress | null, text: string) => hooks.onLine?.({ progress, done: progress === null, line: `lens-fit: ${stamp()} ${text}`, elapsedS: elapsed() });
  for (const w of inp.warnings ?? []) hooks.onLine?.({ progress: null, done: false, line: `skyscore: warning: ${w}`, elapsedS: 0 });
  const corr = inp.correlation ?? lensFitNoiseCorrelation(inp.obs, inp.sigma, inp.mask, inp.pixelScale, 'auto', undefined, inp.psf);
  if (inp.correlation === undefined) hooks.onLine?.({ progress: null, done: false, line: `skyscore: note: ${corr.text}`, elapsedS: 0 });
  let wh: Whitened | null = null;
  // whitened: the nucleus's reach in the fit's own sharp-pixel test, whose pixels there the test above has judged
  let nucleusRadius: number | undefined;
  if (corr.whiten && corr.estimate) {
    const kernel = whiteningKernel(corr.estimate.spectrum, corr.estimate.spectrumShape);
    const wi = whitenImage(inp.obs.data, inp.sigma, shape, kernel);
    const wp = whitenedPsf(inp.psf, kernel);
    wh = { kernel, data: wi.data, sigma: wi.sigma, psf: wp.psf, gain: wp.gain, dropped: wi.dropped, sharp: [] };
    // pixels sharper than the PSF (a hot pixel the weights do not flag) spread over W's support once whitened: found
    // here as the fit finds them (in the data, then against the light alone), each taken out with its R-neighbourhood
    if (s.rejectSharpOutliers !== false) {
      const found = whitenedSharpPixels(wh, inp, mask, image, s.light === 0 ? 0 : 2);
      wh.sharp = found.sharp;
      nucleusRadius = found.nucleusRadius;
      if (found.kept.length) {
        hooks.onLine?.({ progress: null, done: false, line: `skyscore: note: ${found.kept.length} pixel${found.kept.length > 1 ? 's' : ''} of the deflector's core sharper than the PSF against its light in the whitened data but not in the data as given kept (the nucleus, not cosmic rays)`, elapsedS: elapsed() });
      }
      if (wh.sharp.length) {
        hooks.onLine?.({ progress: null, done: false, line: `skyscore: note: ${wh.sharp.length} pixel${wh.sharp.length > 1 ? 's' : ''} sharper than the PSF in the whitened data left out with the ${2 * kernel.radius + 1}² pixels around each (the whitening filter's support), within ${(found.nucleusRadius * image.scale).toFixed(2)}″ of the light's centre the pixel alone (the core kept)`, elapsedS: elapsed() });
      }
    }
  }
  let lastLine = 0;
  const pool = (hooks.threads ?? 1) > 1 ? openLensFitPool(hooks.threads!, { shouldStop: hooks.shouldStop, stopError: () => new LensFitStopped('the lens fit was stopped'), speculate: hooks.speculate, split: hooks.split, factor: hooks.factor, factorMinN: hooks.factorMinN, columns: hooks.columns }) : null;
  let res: LensFitResult;
  try {
    res = fitLens(
    { data: wh ? wh.data : inp.obs.data, sigma: wh ? wh.sigma : inp.sigma, image, mask, psf: wh ? wh.psf : inp.psf },
    {
      lightComponents: s.light,
      lightCore: s.lightCore ?? LENS_FIT_LIGHT_CORE,
      ...(s.lightCentres !== undefined && { lightCentres: s.lightCentres }),
      fitSourceSize: s.fitSourceSize,
      sourceSize: s.sourceSize,
      sourceScale: s.sourceScale,
      supersample: s.supersample,
      regularisation: s.regularisation,
      starts: s.starts,
      errors: s.errors,
      mass: s.mass ?? 'sie',
      ...(inp.mask?.kind === 'annulus' && inp.mask.followThetaE && inp.mask.r1 === 0 && { defaultDisc: { radius: inp.mask.r2 } }),
      ...(s.rejectSharpOutliers === false && { rejectSharpOutliers: false }),
      ...(nucleusRadius !== undefined && { nucleusRadius }),
      scanThetaE: s.scanThetaE ?? true,
      ...(pool && { parallel: pool }),
      onProgress: (pr) => {
        if (hooks.shouldStop?.()) throw new LensFitStopped('the lens fit was stopped');
        const t = Date.now();
        if (t - lastLine < 1000 && !/done|fitted|source|uncertainties|ring|sharper|light model|widened/.test(pr.message)) return;
        lastLine = t;
        emit(pr, pr.message);
      },
    },
  );
  } finally {
    pool?.close();
  }
  if (res.laplaceNote) hooks.onLine?.({ progress: null, done: false, line: `skyscore: note: ${res.laplaceNote}`, elapsedS: elapsed() });
  const implausible = implausibleLensNote(res.lens);
  if (implausible) hooks.onLine?.({ progress: null, done: false, line: `skyscore: note: ${implausible}`, elapsedS: elapsed() });
  const slope = res.parameters.gamma ? `, γ ${fmt(res.parameters.gamma)}` : '';
  emit(null, `done: θE ${fmt(res.parameters.thetaE)}″, q ${fmt(res.parameters.q)}${slope}, log Z ${res.logEvidence.toFixed(2)}, χ²/pixel ${res.chi2PerPixel.toFixed(3)}`);
  // the angles and centres on the sky, where the observation has a celestial WCS (lens.json onSky, the header cards)
  const onSky = lensSky(inp.obs.header, inp.obs.shape, res.image.scale, res.parameters, res.covariance ? { names: res.names, matrix: res.covariance } : null);
  const files = products(res, inp.obs, inp.psf, command, inp.noiseText, inp.warnings ?? [], noiseCorrelationProducts(res, inp, corr, wh), inp.noise ?? null, { notes: inp.notes ?? [], maskConvention: inp.maskConvention ?? null, sky: inp.sky ?? null }, onSky);
  const pa = onSky ? ` (PA ${fmt(onSky.positionAngle)}° East of North)` : '';
  const summary =
    `θE = ${fmt(res.parameters.thetaE)}″, q = ${fmt(res.parameters.q)}, φ = ${fmt(res.parameters.phi)} rad${pa}${res.parameters.gamma ? `, γ = ${fmt(res.parameters.gamma)}` : ''}, ` +
    `log Z = ${res.logEvidence.toFixed(2)}, χ²/pixel = ${res.chi2PerPixel.toFixed(3)}${wh ? ' (whitened)' : ''} over ${res.nPixels} pixels, ${res.seconds.toFixed(0)} s`;
  return { result: res, files, summary };
}

/** What the products need of the noise's correlation: the data-unit images and lens.json's noiseCorrelation block. */
interface NoiseProducts {
  /** in data units, through the original PSF */
  lightImage: Float64Array;
  lensedSourceImage: Float64Array;
  modelImage: Float64Array;
  source: Float64Array;
  amplitudes: number[];
  whitened: boolean;
  json: Record<string, unknown>;
  /** model.json's noise block and its files (whitened only) */
  modelNoise: Record<string, unknown> | null;
  files: { name: string; data: Float32Array; shape: Shape2; bunit?: string }[];
}

const r4 = (v: number) => Number(v.toPrecision(4));

/**
 * lens.json's noiseCorrelation.decision: whitened, or why the noise was taken as white — an estimate refused because
 * its sky is not blank (skyNotBlank) is not one whose correlation was insignificant.
 */
export function noiseCorrelationDecision(corr: Pick<CorrelationDecision, 'mode' | 'estimate'>, whitened: boolean): string {
  const e = corr.estimate;
  if (whitened) return 'whitened';
  if (e && skyNotBlank(e)) return `white (not used: the sky is not blank, large-scale / per-pixel variance ${r4(e.largeScaleRatio / e.varianceRatio)} above ${MAX_LARGE_SCALE_RATIO})`;
  if (e) return 'white (correlation not significant)';
  return corr.mode === 'none' ? 'white (not measured: --noise-correlation none)' : 'white (not measured: too little sky)';
}

function noiseCorrelationProducts(res: LensFitResult, inp: LensFitInputs, corr: CorrelationDecision, wh: Whitened | null): NoiseProducts {
  const e = corr.estimate;
  const base: Record<string, unknown> = {
    mode: corr.mode,
    decision: noiseCorrelationDecision(corr, wh !== null),
    text: corr.text,
    ...(corr.sky && { skyGrowth: { arcsec: r4(corr.sky.growthArcsec), ownRadiusArcsec: r4(corr.sky.ownGrowthArcsec), skyPixelsAtOwnRadius: corr.sky.skyPixelsAtOwnGrowth, lightSubtracted: corr.sky.lightSubtracted } }),
    ...(e && {
      source:
        e.source !== 'auto'
          ? [e.source.x0, e.source.y0, e.source.x1, e.source.y1]
          : corr.sky && corr.sky.growthArcsec < corr.sky.ownGrowthArcsec
            ? `blank sky outside the fitted region grown by ${+corr.sky.growthArcsec.toFixed(2)}″, less than its own radius (sources clipped${corr.sky.lightSubtracted ? "; the deflector's light alone subtracted" : ''})`
            : 'blank sky outside the fitted region (sources clipped)',
      skyPixels: e.skyPixels,
      lag1: { x: r4(e.lag1.x), y: r4(e.lag1.y) },
      lag1StandardError: { x: r4(e.lag1Error.x), y: r4(e.lag1Error.y) },
      varianceRatio: r4(e.varianceRatio),
      largeScaleRatio: r4(e.largeScaleRatio),
    }),
  };
  if (!wh) {
    return { lightImage: res.lightImage, lensedSourceImage: res.lensedSourceImage, modelImage: res.modelImage, source: res.source, amplitudes: res.amplitudes, whitened: false, json: base, modelNoise: null, files: [] };
  }
  // the fit's amplitudes are those of the unit-sum whitened PSF: the data-unit ones are 1/gain of them
  const g = wh.gain;
  const [ny, nx] = inp.obs.shape;
  const amplitudes = res.amplitudes.map((a) => a / g);
  const source = Float64Array.from(res.source, (v) => v / g);
  const light = res.light.length ? lightImage(res.light, amplitudes, res.image, inp.psf, 2) : new Float64Array(ny * nx);
  const all = Int32Array.from({ length: ny * nx }, (_, k) => k);
  const lensed = csrMultiply(blurredLensMatrix(res.lens, res.image, res.sourceGrid, res.supersample, inp.psf, all), source);
  const model = Float64Array.from(light, (v, k) => v + lensed[k]);
  let chi2 = 0;
  for (const p of res.pixels) chi2 += ((inp.obs.data[p] - model[p]) / inp.sigma[p]) ** 2;
  const approx = approximationError(model, inp.sigma, inp.obs.shape, wh.kernel, res.pixels);
  const v = e!.varianceRatio;
  const sigmaOut = Float32Array.from({ length: ny * nx }, (_, k) => {
    const s = inp.sigma[k];
    return Number.isFinite(s) && s > 0 ? s * Math.sqrt(v) : NaN;
  });
  const size = 256;
  const real = noiseRealisation(e!, size);
  return {
    lightImage: light,
    lensedSourceImage: lensed,
    modelImage: model,
    source,
    amplitudes,
    whitened: true,
    json: {
      ...base,
      kernelRadius: wh.kernel.radius,
      // found in the whitened data before the fit, each left out with the (2R + 1)² pixels around it (row, column)
      sharpPixels: { count: wh.sharp.length, pixels: wh.sharp.map((p) => [Math.floor(p / nx), p % nx]) },
      kernelTruncatedEnergy: r4(wh.kernel.truncatedEnergy),
      psfGain: r4(g),
      psfShape: wh.psf.shape,
      pixelsWithoutWhitenedValue: wh.dropped,
      // σ · W∗(μ/σ) against W∗μ on the fitted pixels, μ the fitted model (σ units)
      approximationError: { max: r4(approx.max), rms: r4(approx.rms) },
      chi2PerPixelUnwhitened: chi2 / res.pixels.length,
      chi2Space: 'chi2, chi2PerPixel, logEvidence and normalised-residual.fits are in the whitened space; the images in data units through the original PSF',
    },
    modelNoise: { model: 'correlated', image: 'noise-realisation.fits', sigmaFits: 'noise-sigma.fits' },
    files: [
      { name: 'noise-sigma.fits', data: sigmaOut, shape: [ny, nx] },
      { name: 'noise-realisation.fits', data: Float32Array.from(real), shape: [size, size], bunit: '' },
    ],
  };
}

/**
 * σ as the fit read it (from a σ map, one σ or a weight map), on the observation's grid and header, NaN where a
 * pixel has none: the command line writes it beside the products as sigma.fits, for `skyscore reconstruct --noise
 * DIR/sigma.fits` where σ came from a weight map or an HDU of a multi-extension file.
 */
export function lensFitSigmaFile(obs: ImageFile, sigma: ArrayLike<number>, command: string, noiseText: string): { name: string; bytes: Uint8Array } {
  const [ny, nx] = obs.shape;
  const h = resultHeader(obs, { sameAsInput: true }, obs.shape, { command, modelPath: 'model.json', modelHash: '', backend: 'float64 (no tensors)', extra: { SKYNOISE: noiseText } });
  const data = Float32Array.from(sigma, (v) => (Number.isFinite(v) && v > 0 ? v : NaN));
  return { name: 'sigma.fits', bytes: writeFits([{ data, shape: [nx, ny], header: h, bitpix: -32 }]) };
}

function fmt(p: { value: number; error: number | null }): string {
  return p.error === null ? p.value.toPrecision(5) : `${p.value.toPrecision(5)} ± ${p.error.toPrecision(2)}`;
}

/** The central `size`² pixels of a PSF around its centre (fewer where the PSF is smaller), renormalised. */
function cropPsf(k: PsfKernel, size: number): PsfKernel {
  const h = (size - 1) / 2;
  const [ky, kx] = k.shape;
  const [cy, cx] = k.center;
  const y0 = Math.max(0, cy - h);
  const y1 = Math.min(ky - 1, cy + h);
  const x0 = Math.max(0, cx - h);
  const x1 = Math.min(kx - 1, cx + h);
  const H = y1 - y0 + 1;
  const W = x1 - x0 + 1;
  const data = new Float64Array(H * W);
  let sum = 0;
  for (let i = 0; i < H; i++) for (let j = 0; j < W; j++) sum += data[i * W + j] = k.data[(i + y0) * kx + j + x0];
  if (!(sum > 0)) throw new UserInputError(`the PSF sums to zero or less inside its central ${size}×${size} pixels (--psf-size)`);
  for (let i = 0; i < data.length; i++) data[i] /= sum;
  return { data, shape: [H, W], center: [cy - y0, cx - x0] };
}
function products(
  res: LensFitResult,
  obs: ImageFile,
  psf: PsfKernel,
  command: string,
  noiseText: string,
  warnings: string[],
  nz: NoiseProducts,
  noise: Record<string, unknown> | null,
  about: { notes: string[]; maskConvention: LensFitInputs['maskConvention'] | null; sky: LensFitSky | null },
  onSky: LensSky | null,
): { name: string; bytes: Uint8Array | string }[] {
  const shape = obs.shape;
  // a sky level subtracted before the fit is part of the model of the observation as given
  const skyLevel = about.sky?.level ?? 0;
  const withSky = (a: ArrayLike<number>) => (skyLevel ? Float64Array.from(a, (v) => v + skyLevel) : a);
  const [ny, nx] = shape;
  const L = res.lens;
  const sourceShape = res.sourceGrid.shape;
  const maskData = new Float32Array(ny * nx);
  for (const p of res.pixels) maskData[p] = 1;
  const srcFlux = fluxReference(nz.source);
  const srcSky = backgroundReference(nz.source);
  const model = {
    shape: sourceShape,
    operators: [
      {
        type: 'lens',
        imageShape: [ny, nx],
        imagePixelScale: res.image.scale,
        sourcePixelScale: res.sourceGrid.scale,
        supersample: res.supersample,
        lens: {
          model: res.massProfile === 'epl' ? 'EPL' : 'SIE',
          thetaE: L.thetaE,
          q: Math.min(1, L.q),
          phi: L.phi,
          x0: L.x0,
          y0: L.y0,
          ...(res.massProfile === 'epl' && { gamma: L.gamma ?? 2 }),
        },
        shear: { gamma1: L.gamma1, gamma2: L.gamma2 },
      },
      { type: 'psf', fits: 'psf.fits' },
      { type: 'mask', fits: 'mask.fits' },
    ],
    // the fitted lens light, added to the lensed source (y = A x + b + n): reconstruct takes the observation itself
    ...(res.light.length || skyLevel ? { additive: { fits: 'lens-light.fits' } } : {}),
    // the correlated noise measured from the sky (whitened fits only): reconstruct's exact correlated likelihood
    ...(nz.modelNoise ? { noise: nz.modelNoise } : {}),
    // the source inversion's 99.5th percentile and sky: the automatic flux scale reads them, where the prior acts
    ...(srcFlux > 0 && srcFlux > srcSky ? { fluxReference: { flux: srcFlux, background: srcSky } } : {}),
    description: nz.modelNoise
      ? 'fitted by skyscore lens-fit: reconstruct the source from the observation; the noise block is the correlated noise measured from its sky (no --noise flag: flags take precedence)'
      : 'fitted by skyscore lens-fit: reconstruct the source from the observation with the same noise map',
  };
  const modelText = JSON.stringify(model, null, 2) + '\n';
  // the model must be one that reconstruct accepts
  parseForwardModel(modelText, 'model.json');
  const modelHash = createHash('sha256').update(modelText).digest('hex');
  const prov = (extra: Record<string, string | number> = {}) => ({ command, modelPath: 'model.json', modelHash, backend: 'float64 (no tensors)', extra: { SKYNOISE: noiseText, ...extra } });
  // the fitted lens in every product's header (the values of lens.json's parameters and sky)
  const cards = lensHeaderCards(res.massProfile, res.parameters, onSky, { logEvidence: res.logEvidence, chi2PerPixel: res.chi2PerPixel });
  const withLens = (h: FitsHeader): FitsHeader => {
    for (const [k, v, c] of cards) h.set(k, v, c);
    return h;
  };
  const onGrid = (name: string, data: ArrayLike<number>, bunit?: string, extra: Record<string, string | number> = {}) => {
    const h = withLens(resultHeader(obs, { sameAsInput: true }, shape, prov(extra)));
    if (bunit !== undefined) h.set('BUNIT', bunit);
    return { name, bytes: writeFits([{ data: Float32Array.from(data), shape: [nx, ny], header: h, bitpix: -32 }]) };
  };
  const srcHeader = withLens(resultHeader(obs, { sameAsInput: false, scale: res.sourceGrid.scale, plane: 'source plane' }, sourceShape, prov({ SKYLAMB: res.lambda })));
  const lensJson = {
    massProfile: res.massProfile,
    ...(res.massProfile === 'epl' && { slopePrior: { kind: 'flat', range: EPL_GAMMA_BOUNDS } }),
    // the light's amplitudes in data units (a whitened fit's are those of its unit-sum whitened PSF: nz.amplitudes)
    parameters: Object.fromEntries(Object.entries(res.parameters).map(([k, v]) => {
      const m = /^light(\d+)\.amplitude$/.exec(k);
      return [k, m ? { ...v, value: nz.amplitudes[Number(m[1])] } : v];
    })),
    units: { thetaE: 'arcsec', x0: 'arcsec', y0: 'arcsec', phi: 'radians counter-clockwise from +x', q: 'minor/major axis ratio', gamma1: '', gamma2: '', e1: '(1-q)/(1+q) cos 2phi', e2: '(1-q)/(1+q) sin 2phi', ...(res.massProfile === 'epl' && { gamma: 'power-law slope: convergence ∝ R^(1-gamma), 2 = isothermal' }) },
    // the angles and centres on the sky through the observation's WCS (null without a celestial WCS): position angles
    // in degrees East of North of the major axes (mod 180), centres in degrees (docs/lensing.md, On the sky)
    onSky,
    logEvidence: res.logEvidence,
    logEvidenceFitGrid: res.logEvidenceFit,
    chi2: res.chi2,
    chi2PerPixel: res.chi2PerPixel,
    // how σ was made: the sky's σ and the sources' Poisson term (docs/lensing.md, The sources' Poisson noise)
    noise,
    // the noise's correlation measured from the sky and the decision (docs/lensing.md, Correlated noise)
    noiseCorrelation: nz.json,
    nPixels: res.nPixels,
    regularisation: { kind: res.regularisation, lambda: res.lambda },
    sourceGrid: { shape: sourceShape, pixelScale: res.sourceGrid.scale },
    // the source inversion's 99.5th percentile and sky (flux-reference.ts), also model.json's fluxReference
    sourceFluxReference: srcFlux,
    sourceBackgroundReference: srcSky,
    fitSourceGrid: { shape: res.fitSourceGrid.shape, pixelScale: res.fitSourceGrid.scale },
    supersample: res.supersample,
    psfShape: psf.shape,
    thetaEInitial: res.thetaEInitial,
    // the light model's automatic choice (null where --light gave the components): log Z with one and two
    // components at the same lens, the penalty a second must exceed (½ · 7 · ln N over N pixels compared; ½ · 5 · ln N
    // with tied centres)
    lightSelection: res.lightSelection,
    // the Sérsic components' centres: free, or the second tied to the first's (--light-centres)
    lightCentres: res.lightCentres,
    // the Gaussian core components tied to the first Sérsic component (--light-core; light.ts coreComponents): σ in
    // the image's pixels and arcsec on the intermediate axis, the amplitude in data units at r = rEff (a Sérsic of
    // n = 0.5: half the Gaussian's peak), of either sign; absent without them
    ...(res.lightCore > 0 && {
      lightCore: res.light.slice(res.light.length - res.lightCore).map((c, k) => ({
        sigmaPixels: CORE_GAUSSIAN_SIGMAS[k],
        sigmaArcsec: CORE_GAUSSIAN_SIGMAS[k] * res.image.scale,
        amplitude: nz.amplitudes[res.light.length - res.lightCore + k],
        x0: c.x0,
        y0: c.y0,
      })),
    }),
    // the default disc's radius as fitted (widened to 2 θE where that exceeds 3″), null where a mask was given
    fitRadius: res.fitRadius,
    // the first θE's scan (radius, log Z of a round lens on the binned image) and the pixels left out as sharper
    // than the PSF (row, column): cosmic-ray residuals and hot pixels, also off mask.fits
    thetaEScan: res.thetaEScan,
    outliers: { count: res.outliers.length, pixels: Array.from(res.outliers, (p) => [Math.floor(p / nx), p % nx]) },
    laplaceNote: res.laplaceNote,
    lensNote: implausibleLensNote(res.lens),
    // how a mask file was read: the convention asked for (--mask-convention) and the one read; null without a mask file
    maskConvention: about.maskConvention,
    // the constant sky level subtracted before the fit (--sky), included in lens-light.fits and model-image.fits;
    // null: none
    sky: about.sky,
    notes: about.notes,
    warnings,
    evaluations: res.evaluations,
    seconds: res.seconds,
    covariance: res.covariance ? { names: res.names, matrix: Array.from(res.covariance) } : null,
    // the parts of every error (standard deviations, in the covariance's order): the Laplace approximation at fixed
    // λ and fit grid, λ marginalised, the fit grid's discretisation (shifted grids), its resolution (a finer grid
    // over the same extent), the optimiser's distance from the optimum
    errorBudget: res.covarianceParts
      ? {
          names: res.names,
          ...Object.fromEntries(
            Object.entries(res.covarianceParts).map(([k, m]) => [k, m ? res.names.map((_, i) => Math.sqrt(Math.max(0, m[i * res.names.length + i]))) : null]),
          ),
          sigmaLnLambda: res.systematics?.sigmaLnLambda ?? null,
          grids: res.systematics?.grids.map((g) => ({ shape: g.shape, pixelScale: g.scale })) ?? null,
          finerGrid: res.systematics ? { shape: res.systematics.finerGrid.shape, pixelScale: res.systematics.finerGrid.scale } : null,
        }
      : null,
    command: `skyscore ${command}`,
  };
  const curves = lensCurves(L);
  const subtracted = lightSubtracted(obs.data, nz.lightImage);
  const psfHeader = resultHeader(obs, { sameAsInput: false, scale: res.image.scale, plane: 'image plane' }, psf.shape, prov());
  // normalised to unit sum: not in the data's unit
  psfHeader.delete('BUNIT');
  return [
    { name: 'lens.json', bytes: JSON.stringify(lensJson, null, 2) + '\n' },
    { name: 'model.json', bytes: modelText },
    { name: 'psf.fits', bytes: writeFits([{ data: Float32Array.from(psf.data), shape: [psf.shape[1], psf.shape[0]], header: psfHeader, bitpix: -32 }]) },
    onGrid('mask.fits', maskData, ''),
    onGrid('lens-light.fits', withSky(nz.lightImage), undefined, skyLevel ? { SKYLEVEL: skyLevel } : {}),
    onGrid('light-subtracted.fits', subtracted),
    onGrid('model-image.fits', withSky(nz.modelImage), undefined, skyLevel ? { SKYLEVEL: skyLevel } : {}),
    onGrid('normalised-residual.fits', res.normalisedResidual, '', nz.whitened ? { SKYRESID: 'whitened: W*(y/sigma) - W*(model)/sigma, W = P^-1/2' } : {}),
    { name: 'source-inversion.fits', bytes: writeFits([{ data: Float32Array.from(nz.source), shape: [sourceShape[1], sourceShape[0]], header: srcHeader, bitpix: -32 }]) },
    { name: 'critical-curves.json', bytes: JSON.stringify({ units: 'arcsec, image axes (critical) and source axes (caustics)', critical: curves.critical, caustics: curves.caustics }) + '\n' },
    ...nz.files.map((f) => {
      const h = f.shape[0] === ny && f.shape[1] === nx ? resultHeader(obs, { sameAsInput: true }, shape, prov()) : resultHeader(obs, { sameAsInput: false, scale: res.image.scale, plane: 'image plane' }, f.shape, prov());
      if (f.bunit !== undefined) h.set('BUNIT', f.bunit);
      return { name: f.name, bytes: writeFits([{ data: f.data, shape: [f.shape[1], f.shape[0]], header: h, bitpix: -32 }]) };
    }),
  ];
}
