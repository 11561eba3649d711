/**
 * The editor's requests, answered in the engine: validate a forward model sent by the renderer (M.json plus
 * its files in memory), apply it to an image ("preview A x"), give what the editor draws for one operator
 * (PSF kernel, mask, lens critical curves and caustics, uv coverage and dirty beam), and estimate the noise σ
 * from the data by the median absolute deviation.
 */
import * as tf from '@tensorflow/tfjs-core';
import { readFits } from '../../src-shared/fits/index.js';
import type { FitsHeader } from '../../src-shared/fits/index.js';
import { maskGridScale, readMaskConvention } from '../../src-shared/operators/mask-convention.js';
import { instantiateForwardModel, prepareForwardModel, type BuiltForwardModel, type ForwardModelFileLoader } from '../../src-shared/operators/forward-model.js';
import { issueMessage, lensParams, outputShape, outputShapeIssue, stageShapes, validateForwardModel, type ForwardModelSpec } from '../../src-shared/operators/forward-model-spec.js';
import { lensCurves } from '../../src-shared/operators/lens-curves.js';
import { gridUv, dirtyBeam } from '../../src-shared/operators/uv.js';
import { PsfOperator } from '../../src-shared/operators/psf.js';
import type { GramDescription } from '../../src-shared/operators/types.js';
import type { JobMethods, ModelSummary, NamedFile, NoiseDescribeResult, NoiseEstimate, ObsInput, OverlayResult, Shape2 } from '../../src-shared/protocol/index.js';
import type { NoiseSpec } from '../../src-shared/operators/forward-model-spec.js';
import { registryPrior } from './jobs.js';
import { readNoisePriorFolder, buildNoiseModel, type NoiseFileReader, type NoiseModelBuilt, type NoiseObservation } from '../reconstruct/noise.js';
import { headerGain as readHeaderGain } from '../../src-shared/noise/model.js';
import { noiseCorrelation, sigmaArray } from '../../src-shared/operators/noise.js';
import { azimuthalAverage } from '../../src-shared/noise/spectrum.js';
import { decodeImage2d } from '../forward-model-files.js';
import { getBlob } from './blobs.js';
import { UserInputError } from '../../src-shared/errors.js';
import { CLIENT_FITS, checkForwardModelSpec, checkGrid, checkPreparedForwardModel } from './limits.js';

/** Bad input sent with a job or an editor request (a UserInputError: the engine answers with the 'input' code). */
export class JobInputError extends UserInputError {
  override name = 'JobInputError';
}

/**
 * The model's files, from memory: names as the M.json writes them. `used` lists every read in order (as the
 * CLI's loader does), so that the model hash over M.json and its files is the one `skyscore reconstruct` writes.
 */
export function memoryLoader(files: readonly NamedFile[]): ForwardModelFileLoader & { used: NamedFile[] } {
  const map = new Map(files.map((f) => [f.name, f]));
  const used: NamedFile[] = [];
  const get = (rel: string): NamedFile => {
    const f = map.get(rel);
    if (!f) throw new Error(`the file is not loaded (add '${rel}' in the editor)`);
    used.push(f);
    return f;
  };
  return {
    used,
    async loadImage(rel, hdu) {
      const f = get(rel);
      try {
        const img = decodeImage2d(f.bytes, rel, hdu, CLIENT_FITS);
        return { data: img.data, shape: img.shape, header: img.header };
      } catch (e) {
        throw new Error((e as Error).message.replace(/^[^:]*: /, ''), { cause: e });
      }
    },
    async loadText(rel) {
      return new TextDecoder().decode(get(rel).bytes);
    },
  };
}

export function describeGram(g: GramDescription): string {
  if (g.kind === 'pixel-diagonal') return 'exact (A Aᵀ diagonal in pixels)';
  if (g.kind === 'fourier-diagonal') return g.exact ? 'exact (A Aᵀ diagonal in Fourier modes)' : 'circulant approximation of A Aᵀ (zero-padded convolution)';
  return 'conjugate gradients on (Σ + σt² A Aᵀ)';
}

/** Builds a model's operators within the engine's limits (limits.ts): its grids before its files are read, its PSFs before their set-up. */
async function buildWithinLimits(spec: ForwardModelSpec, loader: ForwardModelFileLoader): Promise<BuiltForwardModel> {
  checkForwardModelSpec(spec);
  const prepared = await prepareForwardModel(spec, loader, { source: 'model' });
  checkPreparedForwardModel(prepared);
  return instantiateForwardModel(prepared);
}

export async function buildFromRequest(model: unknown, files: readonly NamedFile[]): Promise<{ built: BuiltForwardModel; spec: ForwardModelSpec; loader: ReturnType<typeof memoryLoader> }> {
  const spec = validateForwardModel(model, 'model');
  const loader = memoryLoader(files);
  const built = await buildWithinLimits(spec, loader);
  return { built, spec, loader };
}

export async function validateRequestModel(p: JobMethods['model.validate']['params']): Promise<ModelSummary> {
  const { built, spec } = await buildFromRequest(p.model, p.files);
  try {
    const out = outputShape(spec);
    const mismatch = p.obsShape ? outputShapeIssue(spec, p.obsShape) : null;
    if (mismatch) throw new JobInputError(issueMessage(mismatch, 'model'));
    return {
      inShape: spec.shape,
      outShape: out,
      operators: built.info.map((i) => ({ type: i.type, inShape: i.inShape, outShape: i.outShape, detail: i.summary })),
      gram: describeGram(built.operator.gram()),
      warnings: [...built.notes],
    };
  } finally {
    built.operator.dispose();
  }
}

export async function previewRequest(p: JobMethods['model.preview']['params']): Promise<{ data: Float32Array; shape: Shape2 }> {
  const { built, spec } = await buildFromRequest(p.model, p.files);
  try {
    const [ny, nx] = spec.shape;
    if (p.shape[0] !== ny || p.shape[1] !== nx || p.x.length !== ny * nx) {
      throw new JobInputError(`model.preview: x is [${p.shape.join(', ')}] with ${p.x.length} values but the model's unknown is [${ny}, ${nx}]`);
    }
    const out = outputShape(spec);
    const x = new Float32Array(p.x.length);
    for (let i = 0; i < x.length; i++) x[i] = Number.isFinite(p.x[i]!) ? p.x[i]! : 0;
    const y = tf.tidy(() => built.operator.apply(tf.tensor3d(x, [1, ny, nx])));
    const data = (await y.data()) as Float32Array;
    y.dispose();
    // the model's known additive image, as skyscore forward writes it: A x + b
    const b = built.additive;
    if (b) for (let i = 0; i < data.length; i++) data[i] += b[i]!;
    return { data, shape: out };
  } finally {
    built.operator.dispose();
  }
}

const polyToArray = (points: [number, number][]): Float32Array => {
  const a = new Float32Array(points.length * 2);
  points.forEach(([x, y], k) => {
    a[2 * k] = x;
    a[2 * k + 1] = y;
  });
  return a;
};

export async function overlaysRequest(p: JobMethods['model.overlays']['params']): Promise<OverlayResult> {
  const spec = validateForwardModel(p.model, 'model');
  checkForwardModelSpec(spec);
  const i = p.operator;
  if (i >= spec.operators.length) throw new JobInputError(`model.overlays: the model has ${spec.operators.length} operators, no operator ${i}`);
  const stage = spec.operators[i]!;
  const { inShape } = stageShapes(spec)[i]!;
  const loader = memoryLoader(p.files);
  // Build this stage alone, on its own input grid.
  const one: ForwardModelSpec = { shape: inShape, operators: [stage] };
  switch (stage.type) {
    case 'psf': {
      const built = await buildWithinLimits(one, loader);
      try {
        const k = (built.stages[0] as PsfOperator).kernel;
        let sum = 0;
        for (const v of k.data) sum += v;
        return { kind: 'psf', kernel: Float32Array.from(k.data), shape: [k.shape[0], k.shape[1]], sum };
      } finally {
        built.operator.dispose();
      }
    }
    case 'mask': {
      const img = await loader.loadImage(stage.fits, stage.hdu);
      const shape2: Shape2 = [img.shape[img.shape.length - 2]!, img.shape[img.shape.length - 1]!];
      // the mask as the run reads it (1 = observed) in the stage's convention; `auto` without a known scale reads 1 as observed
      const read = readMaskConvention(img.data, shape2, stage.fits, stage.convention, maskGridScale(spec, i, img.header), false);
      const mask = read.invert ? Float32Array.from(img.data, (v) => 1 - v) : Float32Array.from(img.data);
      let observed = 0;
      for (const v of mask) observed += v === 1 ? 1 : 0;
      return { kind: 'mask', mask, shape: shape2, observed };
    }
    case 'lens': {
      const { model: _m, ...params } = lensParams(stage);
      const [iy, ix] = stage.imageShape;
      const halfWidth = (Math.max(iy, ix) * stage.imagePixelScale) / 2 + 2 * stage.imagePixelScale;
      const c = lensCurves(params, { halfWidth, n: 256 });
      return {
        kind: 'lens',
        imageShape: stage.imageShape,
        imagePixelScale: stage.imagePixelScale,
        sourceShape: inShape,
        sourcePixelScale: stage.sourcePixelScale,
        critical: c.critical.map((l) => polyToArray(l.points)),
        caustics: c.caustics.map((l) => polyToArray(l.points)),
      };
    }
    case 'uv-sampling': {
      const built = await buildWithinLimits(one, loader);
      try {
        const uv = built.info[0]!.uv!;
        const grid = gridUv(uv.u, uv.v, inShape, stage.pixelScaleArcsec);
        let max = 0;
        for (let k = 0; k < uv.u.length; k++) max = Math.max(max, Math.hypot(uv.u[k]!, uv.v[k]!));
        return { kind: 'uv', u: Float32Array.from(uv.u), v: Float32Array.from(uv.v), beam: dirtyBeam(grid.weights, inShape), shape: inShape, maxBaseline: max };
      } finally {
        built.operator.dispose();
      }
    }
  }
}

export interface DecodedObs {
  data: Float32Array;
  shape: Shape2;
  /** The HDU's FITS axes ([nx, ny], or a cube's [nx, ny, planes, …]). */
  fitsShape: number[];
  header: FitsHeader;
  name: string;
}

/** One plane of the observation as float32 [ny, nx] with its HDU's header. */
export function decodeObs(obs: ObsInput): DecodedObs {
  const bytes = obs.bytes ?? getBlob(obs.blob!);
  const file = readFits(bytes, { ...CLIENT_FITS, name: obs.name });
  const h = file.hdus[obs.hdu];
  if (!h) throw new JobInputError(`${obs.name}: no HDU ${obs.hdu} (the file has ${file.hdus.length})`);
  if (!h.hasImage || h.shape.length < 2) throw new JobInputError(`${obs.name}: HDU ${obs.hdu} holds no image`);
  const [nx, ny] = h.shape as [number, number];
  checkGrid([ny, nx], `${obs.name}: the image`);
  const planes = h.shape.slice(2).reduce((a, b) => a * b, 1);
  if (obs.plane >= planes) throw new JobInputError(`${obs.name}: HDU ${obs.hdu} has ${planes} plane${planes > 1 ? 's' : ''}, no plane ${obs.plane}`);
  const img = h.readImage();
  const n = nx * ny;
  const data = new Float32Array(n);
  const off = obs.plane * n;
  for (let i = 0; i < n; i++) data[i] = img.data[off + i]!;
  return { data, shape: [ny, nx], fitsShape: h.shape.slice(), header: h.header, name: obs.name };
}

/** Median of the finite values (sorts a copy). */
export function median(values: Float32Array | Float64Array): number {
  const s = Float64Array.from(values).sort();
  const n = s.length;
  if (n === 0) return NaN;
  return n % 2 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
}

/** 1.4826 × the median absolute deviation: σ of Gaussian noise, robust to sources covering under half the pixels. */
export const MAD_TO_SIGMA = 1.482602218505602;

export function madSigma(data: Float32Array, shape: Shape2, region?: { x0: number; y0: number; x1: number; y1: number }): { sigma: number; median: number; n: number } {
  const [ny, nx] = shape;
  const r = region ?? { x0: 0, y0: 0, x1: nx, y1: ny };
  const x0 = Math.max(0, Math.min(r.x0, r.x1));
  const x1 = Math.min(nx, Math.max(r.x0, r.x1));
  const y0 = Math.max(0, Math.min(r.y0, r.y1));
  const y1 = Math.min(ny, Math.max(r.y0, r.y1));
  const vals: number[] = [];
  for (let i = y0; i < y1; i++) for (let j = x0; j < x1; j++) {
    const v = data[i * nx + j]!;
    if (Number.isFinite(v)) vals.push(v);
  }
  if (vals.length < 16) throw new JobInputError(`noise estimate: the region holds ${vals.length} finite pixels; at least 16 are needed`);
  const m = median(Float64Array.from(vals));
  const dev = Float64Array.from(vals, (v) => Math.abs(v - m));
  const mad = median(dev);
  if (!(mad > 0)) throw new JobInputError('noise estimate: the median absolute deviation is 0 in this region (constant or quantised pixels); choose a region with noise or type σ');
  return { sigma: MAD_TO_SIGMA * mad, median: m, n: vals.length };
}

export function noiseEstimateRequest(p: JobMethods['noise.estimate']['params']): { sigma: number; median: number; n: number } {
  const obs = decodeObs(p.obs);
  return madSigma(obs.data, obs.shape, p.region);
}

/** A file of the request as pixels for the noise model (a σ map, a noise-only image), named in messages. */
function requestImage(files: readonly NamedFile[]): NoiseFileReader {
  const loader = memoryLoader(files);
  return async (file, what) => {
    try {
      const img = await loader.loadImage(file);
      return { data: img.data, shape: [img.shape[img.shape.length - 2]!, img.shape[img.shape.length - 1]!], name: file };
    } catch (e) {
      throw new JobInputError(`${what} ${file}: ${(e as Error).message}`, { cause: e });
    }
  };
}

/** The noise model of a request's noise block, built as `skyscore reconstruct` builds it from its flags. */
export async function requestNoiseModel(spec: NoiseSpec, files: readonly NamedFile[], obs: NoiseObservation): Promise<NoiseModelBuilt> {
  // a learned noise prior is named by its id in the prior registry, as an image prior is
  return buildNoiseModel(spec, requestImage(files), obs, async (id) => readNoisePriorFolder(await registryPrior(id), id));
}

const sig = (v: number) => Number(v.toPrecision(5));

/** What the editor shows of a built noise model: σ (or its range), the correlated model's spectrum and correlation, the gain. */
export function describeNoise(spec: NoiseSpec, b: NoiseModelBuilt, shape: Shape2): NoiseEstimate {
  const noise = b.built.noise;
  const s = Float64Array.from(sigmaArray(noise, shape)).filter((v) => Number.isFinite(v)).sort();
  const q = (f: number) => sig(s[Math.min(s.length - 1, Math.floor(f * (s.length - 1)))] ?? NaN);
  const out: NoiseEstimate = { model: spec.model, text: b.built.text, sigma: { min: q(0), median: q(0.5), max: q(1) }, notes: b.built.notes };
  // a learned model's Gaussian part: the spectrum measured from a box or a noise-only image, when one was given
  const rho = noiseCorrelation(noise) ?? (noise.kind === 'learned' ? (noise.correlation ?? null) : null);
  if (rho) {
    // the spectrum in data units: ρ times the mean variance (for a stationary model, P itself)
    let v = 0;
    for (const x of s) v += x * x;
    v /= Math.max(1, s.length);
    const az = azimuthalAverage(rho, shape);
    out.spectrum = { k: az.k.map(sig), power: az.power.map((p) => sig(p * v)), white: sig(v) };
    // the learned model's details.lag1 is its training noise's: the Gaussian part's is gaussianPart.lag1
    const d = b.built.details as { lag1?: { x: number; y: number }; gaussianPart?: { lag1: { x: number; y: number } } };
    const lag1 = spec.model === 'learned' ? d.gaussianPart?.lag1 : d.lag1;
    if (lag1) out.lag1 = lag1;
    out.whiteRatio = sig(rho[0]!);
    out.correlationLength = sig(Math.sqrt(rho[0]!));
  }
  const d = b.built.details as { gain?: number; gainSource?: string };
  if (spec.model === 'poisson-gaussian' && d.gain !== undefined) {
    out.gain = d.gain;
    if (d.gainSource) out.gainSource = d.gainSource;
  }
  return out;
}

/** noise.describe: the header's gain, and the model the run would use for the block asked about. */
export async function noiseDescribeRequest(p: JobMethods['noise.describe']['params']): Promise<NoiseDescribeResult> {
  const obs = decodeObs(p.obs);
  const headerGain = readHeaderGain(obs.header);
  if (!p.spec) return { headerGain, estimate: null };
  const b = await requestNoiseModel(p.spec, p.files, obs);
  return { headerGain, estimate: describeNoise(p.spec, b, obs.shape) };
}
