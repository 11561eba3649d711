/**
 * A `job.lensFit` request as the inputs of the lens fit's orchestration (reconstruct/lens-fit-run.ts): the
 * observation's plane, σ, the PSF, the fitted pixels and the settings, read from the request's bytes as
 * `skyscore lens-fit` reads its files, and checked against the engine's limits. The engine calls it to check a
 * request before the job starts; the fit's worker thread calls it again on the same bytes.
 */
import { readFits, type FitsHeader } from '../../src-shared/fits/index.js';
import { UserInputError } from '../../src-shared/errors.js';
import { noiseMap, scalarNoise, sigmaArray } from '../../src-shared/operators/noise.js';
import { LIMITS } from '../../src-shared/protocol/limits.js';
import type { LensFitParams, NamedFile } from '../../src-shared/protocol/index.js';
import { decodeImage2d, type ImageFile } from '../forward-model-files.js';
import { CLIENT_FITS } from '../engine/limits.js';
import { shapeText } from '../reconstruct/headers.js';
import {
  lensFitFlags,
  lensFitGaussianPsf,
  lensFitMaskImage,
  lensFitPsf,
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
    throw new LensFitRequestError(`${p.obs.name}: the image is ${shapeText(shape)}, over the ${LIMITS.lensFitImagePixels} pixels this engine fits a lens to (docs/serve.md; the command line has no limit): cut out the lens`);
  }
  if (nx * ny * s.supersample ** 2 > LIMITS.lensRays) {
    throw new LensFitRequestError(`${shapeText(shape)} pixels × ${s.supersample}² sub-pixels are over this engine's ${LIMITS.lensRays} rays: choose a smaller supersampling`);
  }
  if (s.fitSourceSize > s.sourceSize) throw new LensFitRequestError(`the fit's source grid (${s.fitSourceSize} pixels a side) must not be larger than the final one (${s.sourceSize})`);

  let sigma: Float32Array;
  let noiseText: string;
  let noiseArg: string;
  if (p.noise.kind === 'sigma') {
    sigma = sigmaArray(scalarNoise(p.noise.sigma, 'σ'), shape);
    noiseText = String(p.noise.sigma);
    noiseArg = noiseText;
  } else {
    const m = image(file(p.files, p.noise.file, 'the σ map'), p.noise.hdu, 'the σ map');
    if (m.shape[0] !== ny || m.shape[1] !== nx) throw new LensFitRequestError(`${p.noise.file}: the σ map is ${m.shape[1]}×${m.shape[0]} (NAXIS1×NAXIS2) but the data are ${nx}×${ny}`);
    sigma = sigmaArray(noiseMap(m.data, m.shape, p.noise.file), shape);
    noiseText = p.noise.file;
    noiseArg = p.noise.file;
  }

  const psfSize = p.psf.size;
  let psfArg: string;
  let psf;
  if (p.psf.kind === 'fits') {
    psf = lensFitPsf(image(file(p.files, p.psf.file, 'the PSF'), p.psf.hdu, 'the PSF'), psfSize, shape, p.psf.file);
    psfArg = p.psf.file;
  } else {
    psf = lensFitGaussianPsf(p.psf.fwhmPx, psfSize, shape);
    psfArg = 'psf.fits';
  }

  let mask: LensFitMask = null;
  const maskArgs: string[] = [];
  if (p.mask.kind === 'file') {
    mask = { kind: 'mask', mask: lensFitMaskImage(image(file(p.files, p.mask.file, 'the mask'), p.mask.hdu, 'the mask'), shape, p.mask.file) };
    maskArgs.push('--mask', p.mask.file);
  } else if (p.mask.kind === 'annulus') {
    mask = { kind: 'annulus', r1: p.mask.r1, r2: p.mask.r2 };
    maskArgs.push('--annulus', `${p.mask.r1},${p.mask.r2}`);
  }

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
  };
  const quote = (a: string) => (/\s/.test(a) ? JSON.stringify(a) : a);
  const argv = ['--obs', p.obs.name, ...(p.obs.hdu ? ['--hdu', String(p.obs.hdu)] : []), '--noise-map', noiseArg, '--psf', psfArg, '--pixel-scale', String(p.pixelScale), ...maskArgs, ...lensFitFlags(settings, psfSize), '--out', 'lens-fit'];
  return { inputs: { obs, sigma, noiseText, psf, pixelScale: p.pixelScale, mask }, settings, psfSize, command: `lens-fit ${argv.map(quote).join(' ')}` };
}
