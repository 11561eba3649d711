/**
 * A `job.lensFit` request as the inputs of the lens fit's orchestration (reconstruct/lens-fit-run.ts): the
 * observation's plane, σ, the PSF, the fitted pixels and the settings, read from the request's bytes as
 * `skyscore lens-fit` reads its files, and checked against the engine's limits. The engine calls it to check a
 * request before the job starts; the fit's worker thread calls it again on the same bytes.
 */
import { readFits, type FitsHeader } from '../../src-shared/fits/index.js';
import { UserInputError } from '../../src-shared/errors.js';
import { scalarNoise, sigmaArray } from '../../src-shared/operators/noise.js';
import { defaultFitRadius, flaggedSigma, pixelScaleFromWcs, sigmaFromWeights, zeroFill, LensInputError } from '../../src-shared/lensing/inputs.js';
import { dataUnitFromBunit, electronScale, lensSigma, skySigmaFromExposure, type ElectronScale, type LensSigma, type PoissonMode, type WeightType } from '../../src-shared/lensing/noise-map.js';
import { estimatePhotonTransfer, estimateSkySigma, PT_EXCESS_RANGE, type SkySigmaEstimate } from '../../src-shared/lensing/noise-estimate.js';
import { MIN_SKY_PIXELS, skyPixels } from '../../src-shared/lensing/whitening.js';
import { annulusMask } from '../../src-shared/lensing/fit.js';
import type { PsfKernel } from '../../src-shared/operators/psf.js';
import type { PixelBox } from '../../src-shared/noise/spectrum.js';
import { LIMITS } from '../../src-shared/protocol/limits.js';
import type { LensFitParams, NamedFile } from '../../src-shared/protocol/index.js';
import { decodeImage2d, type ImageFile } from '../forward-model-files.js';
import { CLIENT_FITS } from '../engine/limits.js';
import { shapeText } from '../reconstruct/headers.js';
import {
  lensFitFlags,
  lensFitGaussianPsf,
  lensFitMask,
  lensFitPsf,
  lensFitPsfWarning,
  lensFitPsfShapeWarning,
  lensFitNoiseCorrelation,
  lensFitSkyExclude,
  lensFitSkyGrowth,
  lensFitSkyLevel,
  SKY_FALLBACK_GROWTHS_ARCSEC,
  type LensFitInputs,
  type LensFitSky,
  type LensFitMask,
  type LensFitSettings,
} from '../reconstruct/lens-fit-run.js';

export class LensFitRequestError extends UserInputError {
  override name = 'LensFitRequestError';
}

/** The request with its observation's bytes inline (a blob key resolved by the engine). */
export type LensFitRequest = Omit<LensFitParams, 'obs'> & { obs: LensFitParams['obs'] & { bytes: Uint8Array } };

export interface PreparedLensFit {
  inputs: LensFitInputs;
  settings: LensFitSettings;
  psfSize: number;
  /** the command line of `skyscore lens-fit` that gives the same products (the request's file names) */
  command: string;
  /** where the pixel scale came from: the request, or the observation's WCS (its matrix) */
  pixelScaleSource: string;
  /** the command line's notes on its defaults (the scale from the WCS, σ from the weights, the default disc) */
  notes: string[];
}

/** The primary HDU's header where the observation is another HDU of its file (drizzle writes EXPTIME there); else null. */
function primaryHeader(bytes: Uint8Array, name: string, hdu: number): FitsHeader | null {
  if (hdu === 0) return null;
  const f = readFits(bytes, { ...CLIENT_FITS, name });
  return (f.hdus[0]?.header as FitsHeader | undefined) ?? null;
}

function file(files: readonly NamedFile[], name: string, what: string): NamedFile {
  const f = files.find((x) => x.name === name);
  if (!f) throw new LensFitRequestError(`${what} ${name} is not among the files sent`);
  return f;
}

/** One plane of the observation as an image of the operators (its values' type kept: the command line's). */
function observation(o: LensFitRequest['obs']): ImageFile {
  if (o.plane === 0) {
    const f = readFits(o.bytes, { ...CLIENT_FITS, name: o.name });
    const h = f.hdus[o.hdu];
    if (!h) throw new LensFitRequestError(`${o.name}: no HDU ${o.hdu} (the file has ${f.hdus.length})`);
    if (!h.hasImage || h.shape.length < 2) throw new LensFitRequestError(`${o.name}: HDU ${o.hdu} holds no image`);
    if (h.shape.slice(2).every((n) => n === 1)) return decodeImage2d(o.bytes, o.name, o.hdu, CLIENT_FITS);
  }
  const f = readFits(o.bytes, { ...CLIENT_FITS, name: o.name });
  const h = f.hdus[o.hdu];
  if (!h || !h.hasImage || h.shape.length < 2) throw new LensFitRequestError(`${o.name}: HDU ${o.hdu} holds no image`);
  const [nx, ny] = h.shape as [number, number];
  const planes = h.shape.slice(2).reduce((a, b) => a * b, 1);
  if (o.plane >= planes) throw new LensFitRequestError(`${o.name}: HDU ${o.hdu} has ${planes} plane${planes > 1 ? 's' : ''}, no plane ${o.plane}`);
  const img = h.readImage();
  const n = nx * ny;
  const data = img.data.slice(o.plane * n, (o.plane + 1) * n) as Float32Array | Float64Array;
  return { data, shape: [ny, nx], fitsShape: [nx, ny], header: h.header as FitsHeader, bitpix: img.bitpix };
}

/**
 * The HDU of a file as the command line's selector names it: `[EXTNAME]` where that name finds this HDU first
 * (forward-model-files.ts resolveHduSelector), else its number.
 */
function hduSelector(bytes: Uint8Array, name: string, hdu: number): string {
  const f = readFits(bytes, { ...CLIENT_FITS, name });
  const ext = f.hdus[hdu]?.name;
  if (ext && /^[\w.+-]+$/.test(ext) && f.hdus.findIndex((h) => h.hasImage && (h.name ?? '').toUpperCase() === ext.toUpperCase()) === hdu) return `[${ext}]`;
  return `[${hdu}]`;
}

const image = (f: NamedFile, hdu: number, what: string) => {
  try {
    return decodeImage2d(f.bytes, f.name, hdu, CLIENT_FITS);
  } catch (e) {
    throw new LensFitRequestError(`${what} ${(e as Error).message}`, { cause: e });
  }
};

export function prepareLensFit(p: LensFitRequest): PreparedLensFit {
  const obs = observation(p.obs);
  const shape = obs.shape;
  const [ny, nx] = shape;
  const s = p.settings;
  if (nx * ny > LIMITS.lensFitImagePixels) {
    throw new LensFitRequestError(`${p.obs.name}: the image is ${shapeText(shape)}, over the ${LIMITS.lensFitImagePixels} pixels (${Math.sqrt(LIMITS.lensFitImagePixels)} × ${Math.sqrt(LIMITS.lensFitImagePixels)}) this engine fits a lens to (docs/serve.md; the command line has no limit): cut out the lens`);
  }
  if (nx * ny * s.supersample ** 2 > LIMITS.lensRays) {
    throw new LensFitRequestError(`${shapeText(shape)} pixels × ${s.supersample}² sub-pixels are over this engine's ${LIMITS.lensRays} rays: choose a smaller supersampling`);
  }
  if (s.fitSourceSize > s.sourceSize) throw new LensFitRequestError(`the fit's source grid (${s.fitSourceSize} pixels a side) must not be larger than the final one (${s.sourceSize})`);
  if (s.light === 0 && (s.lightCore ?? 0) > 0) throw new LensFitRequestError('core Gaussians are tied to the first Sérsic component of the light: choose one or more light components, or no core Gaussians');

  // the pixel scale: the request's, else the observation's celestial WCS (as the command line without --pixel-scale)
  const notes: string[] = [];
  const warnings: string[] = [];
  let pixelScale: number;
  let pixelScaleSource = 'given';
  if (p.pixelScale !== null) pixelScale = p.pixelScale;
  else {
    let w: ReturnType<typeof pixelScaleFromWcs>;
    try {
      w = pixelScaleFromWcs(obs.header);
    } catch (e) {
      if (e instanceof LensInputError) throw new LensFitRequestError(`${p.obs.name}: ${e.message}`, { cause: e });
      throw e;
    }
    if (!w) throw new LensFitRequestError(`${p.obs.name} has no celestial WCS to read the pixel scale from (CTYPE1/2 RA/DEC with CDi_j or CDELTi): give the pixel scale`);
    pixelScale = w.scale;
    pixelScaleSource = w.source;
    notes.push(`the pixel scale ${pixelScale.toPrecision(6)}″ from ${p.obs.name}'s WCS (${w.source})`);
  }

  // σ or weight maps may be HDUs of the observation's own file (no file named: FILE.fits[ERR], FILE.fits[WHT])
  const noiseFile = (n: { file?: string; hdu: number }, what: string): { f: NamedFile; arg: string } => {
    if (n.file === undefined) {
      const f = { name: p.obs.name, bytes: p.obs.bytes };
      return { f, arg: `${p.obs.name}${hduSelector(p.obs.bytes, p.obs.name, n.hdu)}` };
    }
    const f = file(p.files, n.file, what);
    return { f, arg: n.hdu ? `${n.file}${hduSelector(f.bytes, n.file, n.hdu)}` : n.file };
  };
  // the noise as given: σ (one number or a map) or a weight map; σ itself is made once the fitted region is known
  // (EXP weights take the sky's σ from the blank sky outside it)
  let given: LensFitNoiseGiven;
  let noiseFlag = '--noise-map';
  let noiseArg: string;
  if (p.noise.kind === 'estimate') {
    noiseArg = 'estimate';
    given = { kind: 'estimate', arg: 'estimate' };
  } else if (p.noise.kind === 'sigma') {
    noiseArg = String(p.noise.sigma);
    given = { kind: 'sigma', values: sigmaArray(scalarNoise(p.noise.sigma, 'σ'), shape), arg: noiseArg };
  } else if (p.noise.kind === 'weights') {
    const { f, arg } = noiseFile(p.noise, 'the weight map');
    const wm = image(f, p.noise.hdu, 'the weight map');
    if (wm.shape[0] !== ny || wm.shape[1] !== nx) throw new LensFitRequestError(`${arg}: the weight map is ${wm.shape[1]}×${wm.shape[0]} (NAXIS1×NAXIS2) but the data are ${nx}×${ny}`);
    noiseFlag = '--weight-map';
    noiseArg = arg;
    given = { kind: 'weights', values: wm.data, arg };
  } else {
    const { f, arg } = noiseFile(p.noise, 'the σ map');
    const m = image(f, p.noise.hdu, 'the σ map');
    if (m.shape[0] !== ny || m.shape[1] !== nx) throw new LensFitRequestError(`${arg}: the σ map is ${m.shape[1]}×${m.shape[0]} (NAXIS1×NAXIS2) but the data are ${nx}×${ny}`);
    noiseArg = arg;
    // σ as read: pixels of σ 0, NaN or huge (PyAutoLens's 1e8) are left out with a note (lensFitSigma)
    given = { kind: 'sigma', values: m.data, arg };
  }
  const noiseOpts: LensFitNoiseOptions = {
    weightType: p.noise.kind === 'weights' ? (p.noise.weightType ?? 'ivm') : 'ivm',
    poisson: p.noise.poisson ?? 'auto',
    ...(p.noise.exposureTime !== undefined && { exposureTime: p.noise.exposureTime }),
  };
  const skyOption = p.noise.sky ?? 'none';
  const noiseFlags = [
    ...(noiseOpts.weightType === 'exp' ? ['--weight-type', 'exp'] : []),
    ...(noiseOpts.exposureTime !== undefined ? ['--exposure-time', String(noiseOpts.exposureTime)] : []),
    ...(noiseOpts.poisson === 'none' ? ['--poisson', 'none'] : []),
    ...(skyOption !== 'none' ? ['--sky', String(skyOption)] : []),
  ];
  // the noise's correlation and its blank-sky box (--noise-correlation, --noise-region)
  const corrMode = p.noise.correlation ?? 'auto';
  const region = p.noise.region;
  const corrFlags = [...(corrMode === 'none' ? ['--noise-correlation', 'none'] : []), ...(region ? ['--noise-region', `${region.x0},${region.y0},${region.x1},${region.y1}`] : [])];

  const psfSize = p.psf.size;
  let psfArg: string;
  let psf;
  if (p.psf.kind === 'fits') {
    const psfImg = image(file(p.files, p.psf.file, 'the PSF'), p.psf.hdu, 'the PSF');
    psf = lensFitPsf(psfImg, psfSize, shape, p.psf.file);
    psfArg = p.psf.file;
    const w = lensFitPsfWarning(psfImg.header, p.psf.file, pixelScale, pixelScaleSource, p.obs.name);
    if (w) warnings.push(w);
    const ws = lensFitPsfShapeWarning(psfImg.shape, p.psf.file);
    if (ws) warnings.push(ws);
  } else {
    psf = lensFitGaussianPsf(p.psf.fwhmPx, psfSize, shape);
    psfArg = 'psf.fits';
  }

  // the σ notes go where σ was read (before the mask's): σ itself is made once the mask is known
  const noiseNotesAt = notes.length;
  let mask: LensFitMask = null;
  const maskArgs: string[] = [];
  // notes on the inputs kept in lens.json (notes): the mask's reading, σ's flagged pixels
  const inputNotes: string[] = [];
  let maskConvention: LensFitInputs['maskConvention'];
  if (p.mask.kind === 'file') {
    const given = p.mask.convention ?? 'auto';
    const r = lensFitMask(image(file(p.files, p.mask.file, 'the mask'), p.mask.hdu, 'the mask'), shape, p.mask.file, given, pixelScale);
    mask = { kind: 'mask', mask: r.mask };
    maskConvention = { given: r.given, read: r.convention };
    if (r.note) {
      notes.push(r.note);
      inputNotes.push(r.note);
    }
    maskArgs.push('--mask', p.mask.file, ...(given !== 'auto' ? ['--mask-convention', given] : []));
  } else if (p.mask.kind === 'annulus') {
    mask = { kind: 'annulus', r1: p.mask.r1, r2: p.mask.r2 };
    maskArgs.push('--annulus', `${p.mask.r1},${p.mask.r2}`);
  } else if (p.mask.kind === 'default') {
    // the command line's default: the 3″ disc where the image reaches beyond it (widened to twice the first θE where
    // that is larger), else every valid pixel
    const r = defaultFitRadius(shape, pixelScale);
    if (r !== null) {
      mask = { kind: 'annulus', r1: 0, r2: r, followThetaE: true };
      notes.push(`fitting the pixels within ${r}″ of the image centre, widened to twice the first θE where that is larger (the default disc)`);
    }
  }

  // σ and the sky level as the command line makes them (lensFitNoiseAndSky): the observation the fit takes is the one
  // with the --sky level subtracted
  let made: ReturnType<typeof lensFitNoiseAndSky>;
  try {
    made = lensFitNoiseAndSky(obs, primaryHeader(p.obs.bytes, p.obs.name, p.obs.hdu), given, noiseOpts, mask, pixelScale, region, psf, skyOption);
  } catch (e) {
    if (e instanceof LensInputError) throw new LensFitRequestError(e.message, { cause: e });
    throw e;
  }
  const ns = made.ns;
  const fitObs: ImageFile = { ...obs, data: made.obs.data };
  notes.splice(noiseNotesAt, 0, ...(made.skyNote ? [made.skyNote] : []), ...ns.skyNotes, ...ns.notes);
  inputNotes.push(...ns.flaggedNotes);
  const sigma = ns.sigma;
  const noiseText = ns.noiseText;

  const settings: LensFitSettings = {
    sourceSize: s.sourceSize,
    sourceScale: s.sourceScale ?? undefined,
    fitSourceSize: s.fitSourceSize,
    starts: s.starts,
    light: s.light,
    ...((s.lightCore ?? 0) > 0 && { lightCore: s.lightCore }),
    supersample: s.supersample,
    regularisation: s.regularisation,
    errors: s.errors,
    ...(s.mass !== undefined && { mass: s.mass }),
    ...(s.keepSharp === true && { rejectSharpOutliers: false }),
  };
  const quote = (a: string) => (/\s/.test(a) ? JSON.stringify(a) : a);
  const argv = [
    '--obs',
    p.obs.name,
    ...(p.obs.hdu ? ['--hdu', String(p.obs.hdu)] : []),
    noiseFlag,
    noiseArg,
    ...noiseFlags,
    '--psf',
    psfArg,
    ...(p.pixelScale !== null ? ['--pixel-scale', String(p.pixelScale)] : []),
    ...maskArgs,
    ...lensFitFlags(settings, psfSize),
    ...corrFlags,
    '--out',
    'lens-fit',
  ];
  // the noise's correlation from the sky or the box: the decision a note (measured on the sky's σ: the Poisson term is
  // the sources', not the sky's)
  const correlation = lensFitNoiseCorrelation(fitObs, ns.skySigma, mask, pixelScale, corrMode, region, psf);
  notes.push(correlation.text);
  // the app lists the notes when the fit starts: the warnings among them
  return { inputs: { obs: fitObs, ...(made.sky && { sky: made.sky }), sigma, noiseText, psf, pixelScale, mask, warnings, correlation, noise: ns.json, notes: inputNotes, ...(maskConvention && { maskConvention }) }, settings, psfSize, command: `lens-fit ${argv.map(quote).join(' ')}`, pixelScaleSource, notes: [...notes, ...warnings.map((w) => `warning: ${w}`)] };
}

/** How σ is made from the noise input: the weight map's kind, the sources' Poisson term, an exposure time given. */
export interface LensFitNoiseOptions {
  weightType: WeightType;
  poisson: PoissonMode;
  /**
   * seconds (--exposure-time): replaces the header's EXPTIME; with a σ map, asks for the Poisson term; 'estimate':
   * the electrons per data unit measured from the data by photon transfer (src-shared/lensing/noise-estimate.ts)
   */
  exposureTime?: number | 'estimate';
  /** the data's sky level was subtracted already (--sky): the photon transfer's flux is then taken as it is */
  skySubtracted?: boolean;
}

/** How the noise is given: σ (a map or one number as an array), a weight map, or σ_sky to estimate from the blank sky. */
export type LensFitNoiseGiven = { kind: 'weights' | 'sigma'; values: ArrayLike<number>; arg: string } | { kind: 'estimate'; arg: 'estimate' };

/**
 * The blank sky the noise estimates read (--noise-map estimate, --exposure-time estimate): the box `region` where
 * given, else the valid pixels outside the fitted region grown by its own radius, or, where that leaves fewer than
 * MIN_SKY_PIXELS, by SKY_FALLBACK_GROWTHS_ARCSEC in turn (the noise correlation's selection: lensFitSkyExclude), the
 * whole image without a mask; sources clipped (whitening.ts skyPixels). `sigma`: a σ map given (its flagged pixels
 * left out), else null.
 */
export function lensFitBlankSky(obs: ImageFile, sigma: ArrayLike<number> | null, mask: LensFitMask, pixelScale: number, region?: PixelBox): { sky: Uint8Array; pixels: number; text: string } {
  const shape = obs.shape;
  const w = sigma ?? new Float64Array(shape[0] * shape[1]).fill(1);
  const count = (m: Uint8Array) => m.reduce((a, v) => a + v, 0);
  if (region) {
    const sky = skyPixels(obs.data, w, shape, null, region);
    return { sky, pixels: count(sky), text: `the box ${region.x0},${region.y0},${region.x1},${region.y1} (sources clipped)` };
  }
  const own = lensFitSkyGrowth(mask, pixelScale);
  if (own === null) {
    const sky = skyPixels(obs.data, w, shape, null);
    return { sky, pixels: count(sky), text: 'the whole image (sources clipped)' };
  }
  const f = (v: number) => `${+v.toFixed(2)}″`;
  let best: { sky: Uint8Array; pixels: number; text: string } | null = null;
  for (const g of [own, ...SKY_FALLBACK_GROWTHS_ARCSEC.filter((v) => v < own)]) {
    const sky = skyPixels(obs.data, w, shape, lensFitSkyExclude(shape, mask, pixelScale, g));
    const r = { sky, pixels: count(sky), text: `outside the fitted region grown by ${f(g)}${g < own ? ` (its own radius, ${f(own)}, leaves too little sky)` : ''} (sources clipped)` };
    best ??= r;
    if (r.pixels >= MIN_SKY_PIXELS) return r;
  }
  return best!;
}

/** The fitted region as pixels for the photon transfer's bins (the default disc at its radius; null: every pixel). */
function regionPixels(shape: [number, number], mask: LensFitMask, pixelScale: number): Uint8Array | null {
  if (mask?.kind === 'mask') return mask.mask;
  if (mask?.kind === 'annulus') return annulusMask({ shape, scale: pixelScale }, mask.r1, mask.r2);
  return null;
}

const sig = (v: number, d = 3) => String(+v.toPrecision(d));

/**
 * The noise measured from the data (docs/lensing.md, *Noise from the data*): σ_sky from the blank sky where
 * `wantSigma`, and the electrons per data unit by photon transfer where `wantE` (for σ `sky`, the σ array the fit
 * takes for the sky: e goes with its level on the blank sky). Throws LensInputError where there is too little sky or
 * signal.
 */
function estimateNoise(
  obs: ImageFile,
  given: LensFitNoiseGiven,
  sky: Float64Array | null,
  o: LensFitNoiseOptions,
  mask: LensFitMask,
  pixelScale: number,
  region: PixelBox | undefined,
  want: { sigma: boolean; e: boolean },
): { sigma?: SkySigmaEstimate; scale?: ElectronScale; json: Record<string, unknown>; notes: string[] } {
  const shape = obs.shape;
  const bs = lensFitBlankSky(obs, given.kind === 'estimate' ? null : sky, mask, pixelScale, region);
  const est = estimateSkySigma(obs.data, shape, bs.sky, MIN_SKY_PIXELS);
  const what = want.sigma ? '--noise-map estimate (σ_sky from the blank sky)' : '--exposure-time estimate (photon transfer needs the blank sky)';
  if (!est) throw new LensInputError(`${what}: the blank sky (${bs.text}) holds ${bs.pixels} pixels, ${MIN_SKY_PIXELS} needed: give σ (--noise-map) or a --noise-region box of blank sky`);
  const json: Record<string, unknown> = {};
  const notes: string[] = [];
  const median = (a: Float64Array) => {
    const v = a.filter((x) => Number.isFinite(x)).sort();
    return v.length ? v[Math.floor(v.length / 2)] : NaN;
  };
  const quads = est.quadrants.map((q) => (q === null ? null : +q.toPrecision(4)));
  if (want.sigma) {
    json.sigmaSky = {
      value: est.sigma,
      standardError: est.standardError,
      quadrants: quads,
      method: `the blank sky's per-pixel rms: its pixels less their ${31}×${31} local mean, clipped at 3 robust σ (six passes), 1.4826 × MAD; the standard error from the four quadrants' values`,
      sky: bs.text,
      candidatePixels: est.candidatePixels,
      skyPixels: est.skyPixels,
    };
    notes.push(
      `σ_sky ${sig(est.sigma, 4)}${est.standardError !== null ? ` ± ${sig(est.standardError, 2)}` : ''} (data units) estimated from the blank sky ${bs.text}: ${est.skyPixels} pixels, their 31×31 local mean off, clipped at 3σ; per quadrant ${quads.map((q) => (q === null ? '—' : sig(q, 3))).join(', ')}`,
    );
  }
  if (want.e) {
    const ref = sky ? median(Float64Array.from(sky).filter((_, k) => est.keep[k])) : est.sigma;
    const region = regionPixels(shape, mask, pixelScale);
    const valid = sky ? Uint8Array.from(sky, (v, k) => (Number.isFinite(v) && v > 0 && (!region || region[k]) ? 1 : 0)) : region;
    const skyLevel = o.skySubtracted ? 0 : est.skyMedian;
    const pt = estimatePhotonTransfer(obs.data, shape, { sky: est.keep, region: valid, skyLevel, sigmaSky: est.sigma, sigmaRef: ref });
    if (typeof pt === 'string') throw new LensInputError(`--exposure-time estimate: ${pt}`);
    const e = pt.electronsPerUnit;
    const perBin = pt.bins.map((b) => b.electronsPerUnit).filter(Number.isFinite);
    const bunit = obs.header.get('BUNIT');
    const unit = (typeof bunit === 'string' && dataUnitFromBunit(bunit)) || { quantity: 'electrons' as const, perSecond: true };
    const span = `${sig(pt.bins[0].from)}–${sig(pt.bins[pt.bins.length - 1].to)}`;
    const levelText = o.skySubtracted ? 'the --sky level subtracted from the data' : `the blank sky's median ${sig(skyLevel, 4)} taken off`;
    json.electronsPerUnit = {
      value: e,
      standardError: pt.standardError,
      method: `photon transfer: the residual about each pixel's 5×5 least-squares quadratic, its robust variance in ${pt.bins.length} bins of the smooth flux s (${levelText}) over the same on the blank sky, 1 + s/(e σ²), e from the weighted line through the origin; the bins where the Poisson variance is ${PT_EXCESS_RANGE[0]}–${PT_EXCESS_RANGE[1]}× the sky's`,
      sigmaReference: ref,
      skyLevel,
      skyLevelSource: o.skySubtracted ? '--sky' : "the blank sky's median",
      bins: pt.bins.map((b) => ({ from: +b.from.toPrecision(5), to: +b.to.toPrecision(5), flux: +b.flux.toPrecision(5), varianceRatio: +b.varianceRatio.toPrecision(5), pixels: b.pixels, electronsPerUnit: Number.isFinite(b.electronsPerUnit) ? +b.electronsPerUnit.toPrecision(5) : null })),
      skyHighPassPixels: pt.skyHighPassPixels,
      iterations: pt.iterations,
    };
    notes.push(
      `the electrons per data unit ${sig(e, 4)} ± ${sig(pt.standardError, 2)}${unit.quantity === 'electrons' && unit.perSecond ? ' (the effective exposure time in s: data in e⁻/s)' : ''} estimated by photon transfer over ${pt.bins.length} bins of the smooth flux ${span} data units (${levelText}; per bin ${perBin.length ? `${sig(Math.min(...perBin))}–${sig(Math.max(...perBin))}` : '—'}), for σ_sky ${sig(ref, 4)}`,
    );
    const scale: ElectronScale = {
      electronsPerUnit: e,
      unit,
      read: { exposureTime: 'estimate', electronsPerUnit: +e.toPrecision(6) },
      text: `${sig(e, 6)} e⁻ per unit, estimated by photon transfer (--exposure-time estimate)`,
    };
    if (!o.skySubtracted && est.skyMedian > 3 * est.sigma) {
      notes.push(`the blank sky's median ${sig(est.skyMedian, 3)} is ${(est.skyMedian / est.sigma).toFixed(1)} σ_sky above 0: a sky the cutout kept? It is taken off the photon transfer's flux, but not off the data: --sky fit subtracts it (σ's Poisson term otherwise counts its photons again)`);
    }
    return { sigma: est, scale, json, notes };
  }
  return { sigma: est, json, notes };
}

/**
 * The fit's σ as `skyscore lens-fit` and the app's job make it (src-shared/lensing/noise-map.ts): the sky's σ from
 * the weight map (IVM: 1/√w; EXP: c/√t, c from the blank sky outside the fitted region) or the σ given, then the
 * sources' Poisson term where it is on, the electrons per unit read from the image's header (its HDU, then the
 * primary HDU's: drizzle writes EXPTIME there). Throws LensInputError on input it cannot use.
 */
export function lensFitSigma(
  obs: ImageFile,
  primary: FitsHeader | null,
  given: LensFitNoiseGiven,
  o: LensFitNoiseOptions,
  mask: LensFitMask,
  pixelScale: number,
  region?: PixelBox,
): LensSigma & { excluded: number; noiseText: string; skyNotes: string[]; flaggedNotes: string[] } {
  const headers = primary ? [obs.header, primary] : [obs.header];
  const skyNotes: string[] = [];
  const flaggedNotes: string[] = [];
  let sky: Float64Array;
  let excluded: number;
  let source: string;
  let skyText: string;
  let estimate: ReturnType<typeof estimateNoise> | null = null;
  if (given.kind === 'estimate') {
    if (o.weightType === 'exp') throw new LensInputError('EXP weights are a weight map: give them with --weight-map');
    estimate = estimateNoise(obs, given, null, o, mask, pixelScale, region, { sigma: true, e: false });
    const v = estimate.sigma!.sigma;
    sky = Float64Array.from(obs.data, (d) => (Number.isFinite(d) ? v : NaN));
    excluded = 0;
    source = `σ_sky ${v.toPrecision(4)} estimated from the blank sky`;
    skyText = v.toPrecision(6);
    skyNotes.push(...estimate.notes);
  } else if (given.kind === 'sigma') {
    if (o.weightType === 'exp') throw new LensInputError('EXP weights are a weight map: give them with --weight-map');
    // σ 0, NaN or huge (PyAutoLens's 1e8 for pixels to ignore): left out
    const f = flaggedSigma(given.values, given.arg);
    sky = f.sigma;
    excluded = f.huge + f.nonPositive + f.nonFinite;
    if (f.note) {
      skyNotes.push(f.note);
      flaggedNotes.push(f.note);
    }
    if (excluded === sky.length) throw new LensInputError(`${given.arg}: no pixel has a usable σ (every σ is 0, NaN or flagged)`);
    source = `the σ given (${given.arg})`;
    skyText = given.arg;
  } else if (o.weightType === 'ivm') {
    const r = sigmaFromWeights(given.values);
    if (r.excluded === r.sigma.length) throw new LensInputError(`${given.arg}: no pixel has a positive weight`);
    sky = r.sigma;
    excluded = r.excluded;
    source = `1/√w of the IVM weights ${given.arg}`;
    skyText = `1/sqrt(${given.arg})`;
    skyNotes.push(`σ = 1/√w from the weight map ${given.arg}${excluded ? ` (${excluded} pixels of weight 0 or NaN left out)` : ''}`);
  } else {
    if (o.exposureTime !== undefined) throw new LensInputError('EXP weights give the exposure time per pixel: not with --exposure-time');
    let positive = 0;
    for (let k = 0; k < given.values.length; k++) if (given.values[k] > 0) positive++;
    if (!positive) throw new LensInputError(`${given.arg}: no pixel has a positive exposure time`);
    const r = skySigmaFromExposure(obs.data, given.values, obs.shape, lensFitSkyExclude(obs.shape, mask, pixelScale), region);
    sky = r.sigma;
    excluded = r.excluded;
    source = `c/√t of the EXP weights ${given.arg}, c = ${r.scale.toPrecision(5)} from the blank sky`;
    skyText = `${r.scale.toPrecision(5)}/sqrt(${given.arg})`;
    skyNotes.push(
      `σ_sky = c/√t from the EXP weight map ${given.arg} (seconds per pixel), c = ${r.scale.toPrecision(5)} from the ${r.basis} scatter of y·√t over ${r.skyPixels} blank-sky pixels${excluded ? ` (${excluded} pixels of exposure 0 or NaN left out)` : ''}`,
    );
  }
  let scale: ElectronScale | string;
  const estimateNotes: string[] = [];
  if (o.exposureTime === 'estimate') {
    if (o.poisson === 'none') throw new LensInputError("--exposure-time estimate gives the sources' Poisson noise: not with --poisson none");
    if (o.weightType === 'exp') throw new LensInputError('EXP weights give the exposure time per pixel: not with --exposure-time');
    const r = estimateNoise(obs, given, sky, o, mask, pixelScale, region, { sigma: false, e: true });
    scale = r.scale!;
    estimateNotes.push(...r.notes);
    estimate = estimate ? { ...estimate, json: { ...estimate.json, ...r.json } } : r;
  } else {
    scale = electronScale(headers, { exposureTime: o.exposureTime, exposureMap: o.weightType === 'exp' && given.kind === 'weights' ? given.values : undefined });
  }
  const ls = lensSigma(obs.data, obs.shape, sky, { mode: o.poisson, wanted: given.kind === 'weights' || o.exposureTime !== undefined, scale, source });
  if (o.weightType === 'exp') ls.json.weightType = 'exp';
  if (estimate) ls.json.estimate = estimate.json;
  ls.notes.unshift(...estimateNotes);
  let noiseText = skyText;
  if (ls.poisson) {
    const e = typeof scale !== 'string' ? scale.electronsPerUnit : null;
    noiseText = `sqrt(${skyText}^2 + s/${typeof e === 'number' ? e.toPrecision(6) : 'e'})`;
  }
  return { ...ls, excluded, noiseText, skyNotes, flaggedNotes };
}

/** The constant sky level (--sky): none (the data's sky taken as subtracted), fitted, or given in data units. */
export type LensFitSkyOption = 'none' | 'fit' | number;

/**
 * σ and the sky level as `skyscore lens-fit` and the app's job make them, in one place: σ from the noise given
 * (lensFitSigma), then, with --sky fit or a level, the constant sky fitted with the deflector's light (or the level
 * given) subtracted from the data and σ made again on the subtracted data (σ's Poisson term, and the photon transfer of
 * --exposure-time estimate, then count the sources' light alone). A drizzle's zero fill (zeroFill: blocks of exactly 0
 * where no exposure fell) is made NaN first, with a note, so that it is left out as no data. Returns the observation
 * as the fit takes it. Throws LensInputError on input it cannot use.
 */
export function lensFitNoiseAndSky(
  obs: ImageFile,
  primary: FitsHeader | null,
  given: LensFitNoiseGiven,
  o: LensFitNoiseOptions,
  mask: LensFitMask,
  pixelScale: number,
  region: PixelBox | undefined,
  psf: PsfKernel,
  skyOption: LensFitSkyOption,
): { obs: ImageFile; ns: ReturnType<typeof lensFitSigma>; sky?: LensFitSky; skyNote?: string } {
  const made = (input: ImageFile): { obs: ImageFile; ns: ReturnType<typeof lensFitSigma>; sky?: LensFitSky; skyNote?: string } => {
    if (skyOption === 'none') return { obs: input, ns: lensFitSigma(input, primary, given, o, mask, pixelScale, region) };
    let sky: LensFitSky;
    try {
      // the fitted level weighs the pixels by σ of the data as given; a level given needs no σ before its subtraction
      sky = typeof skyOption === 'number' ? { level: skyOption, method: 'given' } : lensFitSkyLevel(input, lensFitSigma(input, primary, given, o, mask, pixelScale, region).sigma, mask, pixelScale, psf);
    } catch (e) {
      throw new LensInputError((e as Error).message, { cause: e });
    }
    const level = sky.level;
    const subtracted = { ...input, data: Float64Array.from(input.data, (v) => v - level) };
    const ns2 = lensFitSigma(subtracted, primary, given, { ...o, skySubtracted: true }, mask, pixelScale, region);
    const how = sky.method === 'fitted' ? `fitted with the deflector's light (two Sérsic components and a constant) to ${sky.pixels} pixels within ${sky.radiusArcsec}″ of the centre` : 'given';
    return { obs: subtracted, ns: ns2, sky, skyNote: `sky level ${level.toPrecision(4)} (data units; ${how}) subtracted before the fit; lens-light.fits, model-image.fits and model.json's additive image include it` };
  };
  // a drizzle's zero fill where no exposure fell is no data (NaN: out of the fit, of the sky and of the noise estimates)
  const fill = zeroFill(obs.data, obs.shape);
  if (!fill) return made(obs);
  const out = made({ ...obs, data: Float64Array.from(obs.data, (v, k) => (fill.mask[k] ? NaN : v)) });
  const note = `${fill.count} pixels of exactly 0 in blocks of 3×3 or more (a drizzle's fill where no exposure fell) left out of the fit as no data`;
  out.ns.skyNotes.unshift(note);
  out.ns.flaggedNotes.unshift(note);
  return out;
}
