/**
 * A `job.lensFit` request as the inputs of the lens fit's orchestration (reconstruct/lens-fit-run.ts): the
 * observation's plane, σ, the PSF, the fitted pixels and the settings, read from the request's bytes as
 * `skyscore lens-fit` reads its files, and checked against the engine's limits. The engine calls it to check a
 * request before the job starts; the fit's worker thread calls it again on the same bytes.
 */
import { readFits, type FitsHeader } from '../../src-shared/fits/index.js';
import { UserInputError } from '../../src-shared/errors.js';
import { scalarNoise, sigmaArray } from '../../src-shared/operators/noise.js';
import { defaultFitRadius, flaggedSigma, pixelScaleFromWcs, sigmaFromWeights, LensInputError } from '../../src-shared/lensing/inputs.js';
import { electronScale, lensSigma, skySigmaFromExposure, type LensSigma, type PoissonMode, type WeightType } from '../../src-shared/lensing/noise-map.js';
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
  type LensFitInputs,
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
  let given: { kind: 'weights' | 'sigma'; values: ArrayLike<number>; arg: string };
  let noiseFlag = '--noise-map';
  let noiseArg: string;
  if (p.noise.kind === 'sigma') {
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
  const noiseFlags = [
    ...(noiseOpts.weightType === 'exp' ? ['--weight-type', 'exp'] : []),
    ...(noiseOpts.exposureTime !== undefined ? ['--exposure-time', String(noiseOpts.exposureTime)] : []),
    ...(noiseOpts.poisson === 'none' ? ['--poisson', 'none'] : []),
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

  let ns: ReturnType<typeof lensFitSigma>;
  try {
    ns = lensFitSigma(obs, primaryHeader(p.obs.bytes, p.obs.name, p.obs.hdu), given, noiseOpts, mask, pixelScale, region);
  } catch (e) {
    if (e instanceof LensInputError) throw new LensFitRequestError(e.message, { cause: e });
    throw e;
  }
  notes.splice(noiseNotesAt, 0, ...ns.skyNotes, ...ns.notes);
  inputNotes.push(...ns.flaggedNotes);
  const sigma = ns.sigma;
  const noiseText = ns.noiseText;

  const settings: LensFitSettings = {
    sourceSize: s.sourceSize,
    sourceScale: s.sourceScale ?? undefined,
    fitSourceSize: s.fitSourceSize,
    starts: s.starts,
    light: s.light,
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
  const correlation = lensFitNoiseCorrelation(obs, ns.skySigma, mask, pixelScale, corrMode, region, psf);
  notes.push(correlation.text);
  // the app lists the notes when the fit starts: the warnings among them
  return { inputs: { obs, sigma, noiseText, psf, pixelScale, mask, warnings, correlation, noise: ns.json, notes: inputNotes, ...(maskConvention && { maskConvention }) }, settings, psfSize, command: `lens-fit ${argv.map(quote).join(' ')}`, pixelScaleSource, notes: [...notes, ...warnings.map((w) => `warning: ${w}`)] };
}

/** How σ is made from the noise input: the weight map's kind, the sources' Poisson term, an exposure time given. */
export interface LensFitNoiseOptions {
  weightType: WeightType;
  poisson: PoissonMode;
  /** seconds (--exposure-time): replaces the header's EXPTIME; with a σ map, asks for the Poisson term */
  exposureTime?: number;
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
  given: { kind: 'weights' | 'sigma'; values: ArrayLike<number>; arg: string },
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
  if (given.kind === 'sigma') {
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
  const scale = electronScale(headers, { exposureTime: o.exposureTime, exposureMap: o.weightType === 'exp' && given.kind === 'weights' ? given.values : undefined });
  const ls = lensSigma(obs.data, obs.shape, sky, { mode: o.poisson, wanted: given.kind === 'weights' || o.exposureTime !== undefined, scale, source });
  if (o.weightType === 'exp') ls.json.weightType = 'exp';
  let noiseText = skyText;
  if (ls.poisson) {
    const e = typeof scale !== 'string' ? scale.electronsPerUnit : null;
    noiseText = `sqrt(${skyText}^2 + s/${typeof e === 'number' ? e.toPrecision(6) : 'e'})`;
  }
  return { ...ls, excluded, noiseText, skyNotes, flaggedNotes };
}
