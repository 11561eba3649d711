/**
 * Builds the operator chain of a forward model (M.json, docs/forward-models.md) from a validated spec, loading
 * its files through an injected loader (this module is pure: no fs). The format itself — types, validation,
 * shapes, defaults — is forward-model-spec.ts.
 */
import { ForwardModelInputError } from './errors.js';
import { ChainOperator, IdentityOperator } from './compose.js';
import { PsfOperator, gaussianPsf, psfFromImage, type PsfKernel, type PsfMethod } from './psf.js';
import { MaskOperator } from './mask.js';
import { LensOperator } from './lens.js';
import { UvSamplingOperator, gridUv, parseStationTable, uvCoverage, hourAngleCount, ARCSEC, type StationTable } from './uv.js';
import type { SparseStrategy } from './sparse.js';
import type { Shape2, StructuredOperator } from './types.js';
import { cropImage, maskWindow, type ImageWindow } from './window.js';
import { psfPixelScale, type PixelScale } from './psf-sampling.js';
import { maskGridScale, readMaskConvention } from './mask-convention.js';
import type { FitsHeader } from '../fits/index.js';
import { isFitsPsf, lensParams, lensSupersample, outputShape, psfNormalized, stageShapes, type ForwardModelSpec, type OperatorType } from './forward-model-spec.js';

/** Loads the files an M.json names; paths are as written in the JSON (relative to it). */
export interface ForwardModelFileLoader {
  /**
   * A 2-D image, shape [ny, nx] (outer axes of length 1 are accepted and dropped), and its HDU's header where the
   * loader reads one (a PSF's stated pixel scale, psf-sampling.ts).
   */
  loadImage(relPath: string, hdu?: number): Promise<{ data: Float32Array | Float64Array; shape: number[]; header?: FitsHeader }>;
  loadText(relPath: string): Promise<string>;
}

/** Most uv points a model may generate (stations² × times): far beyond any real array. */
const MAX_UV_POINTS = 2e7;

export interface StageInfo {
  type: OperatorType;
  inShape: Shape2;
  outShape: Shape2;
  /** One line for logs and the UI. */
  summary: string;
  /** uv-sampling: coverage in wavelengths and gridding counts. */
  uv?: { u: Float64Array; v: Float64Array; kept: number; dropped: number; baselines: number; times: number };
}

export interface BuiltForwardModel {
  spec: ForwardModelSpec;
  /** The whole forward model A (a chain; the identity for an empty operator list). */
  operator: ChainOperator | IdentityOperator;
  /** The stages, in order (owned by `operator`). */
  stages: StructuredOperator[];
  info: StageInfo[];
  /** The known additive image b of y = A x + b + n (data units, the output grid, row-major), or null. */
  additive: Float64Array | null;
  /** Notes worth telling the user (never errors). */
  notes: string[];
}

export interface BuildOptions {
  psfMethod?: PsfMethod;
  sparseStrategy?: SparseStrategy;
  source?: string;
}

function squeeze2(shape: number[]): number[] {
  const s = shape.slice();
  while (s.length > 2 && s[0] === 1) s.shift();
  return s;
}

/** What a stage needs beyond its spec, loaded and checked (no tensors yet). */
type StageResource =
  /** sampling: the pixel scale a PSF file's header states (null: none, or a Gaussian PSF in pixels) */
  | { type: 'psf'; kernel: PsfKernel; label: string; sampling?: (PixelScale & { file: string }) | null }
  /** mask: 1 = observed, as read in the stage's convention (`convention`: the one it was read in) */
  | { type: 'mask'; mask: Float32Array | Float64Array; observed: number; file: string; convention: 'fit' | 'exclude' }
  /** window: the image grid is this window of the stage's imageShape (cropForwardModel) */
  | { type: 'lens'; window?: ImageWindow }
  | { type: 'uv-sampling'; weights: Float64Array; info: NonNullable<StageInfo['uv']>; stations: number };

/** A model whose files are loaded and validated; instantiate() turns it into tensors. */
export interface PreparedForwardModel {
  spec: ForwardModelSpec;
  resources: StageResource[];
  /** The additive image (checked: the output's shape, finite), or null. */
  additive: Float64Array | null;
  notes: string[];
}

/**
 * Loads and validates every file a model names (PSF images, masks, station tables) and grids the uv
 * coverage — all checks that can fail on user input — without creating any tensor.
 */
export async function prepareForwardModel(
  spec: ForwardModelSpec,
  loader: ForwardModelFileLoader,
  opts: {
    source?: string;
    /**
     * The image whose grid a mask of a chain of psf and mask stages lies on (the observation; `forward` and `simulate`: their
     * input image), for its pixel scale (a mask's `convention`: maskGridScale). Absent: not known here (the editor's
     * check), where `auto` without another scale reads 1 as observed with a note instead of refusing.
     */
    observation?: { header: FitsHeader; name: string };
  } = {},
): Promise<PreparedForwardModel> {
  const shapes = stageShapes(spec);
  const resources: StageResource[] = [];
  const notes: string[] = [];
  const pre = opts.source ? `${opts.source}: ` : '';
  for (let i = 0; i < spec.operators.length; i++) {
    const s = spec.operators[i];
    const { inShape } = shapes[i];
    const err = (msg: string) => new ForwardModelInputError(`${pre}operators[${i}] (${s.type}): ${msg}`);
    const load = async (file: string, hdu?: number): Promise<{ data: Float32Array | Float64Array; shape: Shape2; header?: FitsHeader }> => {
      let img: { data: Float32Array | Float64Array; shape: number[]; header?: FitsHeader };
      try {
        img = await loader.loadImage(file, hdu);
      } catch (e) {
        throw err(`cannot read '${file}'${hdu !== undefined ? ` (HDU ${hdu})` : ''}: ${(e as Error).message}`);
      }
      const sh = squeeze2(img.shape);
      if (sh.length !== 2 || sh.some((n) => !(n > 0))) throw err(`'${file}' is not a 2-D image (shape [${img.shape.join(', ')}])`);
      if (img.data.length !== sh[0] * sh[1]) throw err(`'${file}': ${img.data.length} pixels for shape [${sh.join(', ')}]`);
      return { data: img.data, shape: [sh[0], sh[1]], header: img.header };
    };
    switch (s.type) {
      case 'psf': {
        if (!isFitsPsf(s)) {
          resources.push({ type: 'psf', kernel: gaussianPsf(s.fwhmPx), label: `Gaussian PSF, FWHM ${s.fwhmPx} px` });
          break;
        }
        const normalize = psfNormalized(s);
        const img = await load(s.fits, s.hdu);
        const sampling = img.header ? psfPixelScale(img.header) : null;
        let bad = 0;
        let sum = 0;
        for (const v of img.data) {
          if (!Number.isFinite(v)) bad++;
          else sum += v;
        }
        if (bad) throw err(`'${s.fits}' has ${bad} NaN or infinite pixel${bad > 1 ? 's' : ''}; a PSF must be finite everywhere`);
        if (normalize && !(Math.abs(sum) > 0)) throw err(`'${s.fits}' sums to zero and cannot be normalised (use "normalize": false for a beam with sidelobes)`);
        if (normalize && sum < 0) throw err(`'${s.fits}' sums to ${sum}, a negative total: not a PSF (use "normalize": false to take it as it is)`);
        if (img.shape[0] > inShape[0] || img.shape[1] > inShape[1]) {
          notes.push(`operators[${i}] (psf): the PSF (${img.shape.join('×')}) is larger than the image (${inShape.join('×')}); the part that cannot reach the image is ignored`);
        }
        resources.push({
          type: 'psf',
          kernel: psfFromImage(img.data, img.shape, normalize),
          label: `PSF from ${s.fits} (${img.shape.join('×')}, ${normalize ? 'normalised' : 'not normalised'})`,
          sampling: sampling ? { ...sampling, file: s.fits } : null,
        });
        break;
      }
      case 'mask': {
        const img = await load(s.fits, s.hdu);
        if (img.shape[0] !== inShape[0] || img.shape[1] !== inShape[1]) {
          throw err(`shape mismatch: '${s.fits}' is [${img.shape.join(', ')}] (ny, nx) but this stage's input is [${inShape.join(', ')}]`);
        }
        for (let k = 0; k < img.data.length; k++) {
          const v = img.data[k];
          if (v !== 0 && v !== 1) {
            throw err(`'${s.fits}' must contain only 0 and 1; pixel (row ${Math.floor(k / img.shape[1])}, column ${k % img.shape[1]}) is ${v}`);
          }
        }
        const scale = maskGridScale(spec, i, img.header, opts.observation);
        const read = readMaskConvention(img.data, img.shape, s.fits, s.convention, scale, opts.observation !== undefined);
        if (read.error) throw err(read.error);
        if (read.note) notes.push(`operators[${i}] (mask): ${read.note}`);
        const mask = read.invert ? Float32Array.from(img.data, (v) => 1 - v) : img.data;
        let observed = 0;
        for (const v of mask) observed += v;
        if (observed === 0) notes.push(`operators[${i}] (mask): the mask observes no pixel`);
        resources.push({ type: 'mask', mask, observed, file: s.fits, convention: read.invert ? 'exclude' : 'fit' });
        break;
      }
      case 'lens':
        resources.push({ type: 'lens' });
        break;
      case 'uv-sampling': {
        let text: string;
        try {
          text = await loader.loadText(s.array);
        } catch (e) {
          throw err(`cannot read station table '${s.array}': ${(e as Error).message}`);
        }
        let table: StationTable;
        try {
          table = parseStationTable(text, `'${s.array}'`);
        } catch (e) {
          throw err((e as Error).message);
        }
        const n = table.names.length;
        const npts = n * (n - 1) * hourAngleCount(s);
        if (npts > MAX_UV_POINTS) throw err(`${npts} uv points (stations² × hour angles) is too many; increase stepMin`);
        const cov = uvCoverage(table, s);
        const grid = gridUv(cov.u, cov.v, inShape, s.pixelScaleArcsec);
        if (grid.kept === 0) {
          const cell = 1 / (Math.max(inShape[0], inShape[1]) * s.pixelScaleArcsec * ARCSEC);
          throw err(
            `no uv point falls on the ${inShape.join('×')} grid at ${s.pixelScaleArcsec}″/px (all ${grid.dropped} points lie ${inShape.join('×')}/2 or more cells of ${cell.toExponential(3)} λ out): use a smaller pixelScaleArcsec`,
          );
        }
        if (grid.dropped > 0) notes.push(`operators[${i}] (uv-sampling): ${grid.dropped} of ${cov.u.length} uv points lie outside the grid (|k| ≥ N/2) and are dropped`);
        resources.push({
          type: 'uv-sampling',
          weights: grid.weights,
          stations: n,
          info: { u: cov.u, v: cov.v, kept: grid.kept, dropped: grid.dropped, baselines: cov.baselines, times: cov.times },
        });
        break;
      }
    }
  }
  const additive = spec.additive ? await loadAdditive(spec, loader, pre) : null;
  return { spec, resources, additive, notes };
}

/** The additive image: a 2-D image of the model's output shape, finite everywhere (a ForwardModelInputError otherwise). */
async function loadAdditive(spec: ForwardModelSpec, loader: ForwardModelFileLoader, pre: string): Promise<Float64Array> {
  const { fits, hdu } = spec.additive!;
  const err = (msg: string) => new ForwardModelInputError(`${pre}additive: ${msg}`);
  let img: { data: Float32Array | Float64Array; shape: number[] };
  try {
    img = await loader.loadImage(fits, hdu);
  } catch (e) {
    throw err(`cannot read '${fits}'${hdu !== undefined ? ` (HDU ${hdu})` : ''}: ${(e as Error).message}`);
  }
  const sh = squeeze2(img.shape);
  if (sh.length !== 2 || sh.some((n) => !(n > 0))) throw err(`'${fits}' is not a 2-D image (shape [${img.shape.join(', ')}])`);
  const out = outputShape(spec);
  if (sh[0] !== out[0] || sh[1] !== out[1]) throw err(`shape mismatch: '${fits}' is [${sh.join(', ')}] (ny, nx) but the model's output is [${out.join(', ')}]`);
  let bad = 0;
  let first = -1;
  for (let k = 0; k < img.data.length; k++) {
    if (!Number.isFinite(img.data[k])) {
      if (first < 0) first = k;
      bad++;
    }
  }
  if (bad) {
    throw err(
      `'${fits}' has ${bad} NaN or infinite pixel${bad > 1 ? 's' : ''} (the first at row ${Math.floor(first / sh[1])}, column ${first % sh[1]}); ` +
        'a known additive image must be finite everywhere (masked pixels are the mask stage\'s or the noise map\'s, not this image\'s)',
    );
  }
  return Float64Array.from(img.data);
}

/** Creates the operators (tensors on the current backend) of a prepared model. */
export function instantiateForwardModel(prepared: PreparedForwardModel, opts: BuildOptions = {}): BuiltForwardModel {
  const { spec, resources } = prepared;
  const shapes = stageShapes(spec);
  const stages: StructuredOperator[] = [];
  const info: StageInfo[] = [];
  const notes = prepared.notes.slice();
  try {
    for (let i = 0; i < spec.operators.length; i++) {
      const s = spec.operators[i];
      const r = resources[i];
      const { inShape, outShape } = shapes[i];
      if (s.type === 'psf' && r.type === 'psf') {
        const op = new PsfOperator(inShape, r.kernel, { method: opts.psfMethod });
        stages.push(op);
        info.push({ type: 'psf', inShape, outShape, summary: `${r.label}, ${op.kernel.shape.join('×')} kernel, ${op.method} convolution` });
      } else if (s.type === 'mask' && r.type === 'mask') {
        stages.push(new MaskOperator(inShape, r.mask));
        info.push({ type: 'mask', inShape, outShape, summary: `mask ${r.file}${r.convention === 'exclude' ? ' (read as 1 = missing)' : ''}: ${r.observed} of ${r.mask.length} pixels observed` });
      } else if (s.type === 'lens' && r.type === 'lens') {
        const { model, ...params } = lensParams(s);
        const supersample = lensSupersample(s);
        const w = r.window;
        const op = new LensOperator(
          params,
          {
            sourceShape: inShape,
            sourcePixelScale: s.sourcePixelScale,
            imageShape: s.imageShape,
            imagePixelScale: s.imagePixelScale,
            supersample,
            ...(w ? { window: { y0: w.y0, x0: w.x0, fullShape: w.fullShape } } : {}),
          },
          { strategy: opts.sparseStrategy },
        );
        if (op.matrix.rowPtr[op.matrix.nRows] === 0) notes.push(`operators[${i}] (lens): no image pixel maps onto the source grid`);
        stages.push(op);
        info.push({
          type: 'lens',
          inShape,
          outShape,
          summary: `${model} lens θE=${params.thetaE}″ q=${params.q}${params.gamma !== undefined ? ` γ=${params.gamma}` : ''}, source ${inShape.join('×')} @ ${s.sourcePixelScale}″ → image ${outShape.join('×')} @ ${s.imagePixelScale}″, supersample ${supersample}`,
        });
      } else if (s.type === 'uv-sampling' && r.type === 'uv-sampling') {
        stages.push(new UvSamplingOperator(inShape, r.weights));
        info.push({
          type: 'uv-sampling',
          inShape,
          outShape,
          summary: `uv sampling ${s.array}: ${r.stations} stations, ${r.info.baselines} baselines × ${r.info.times} hour angles, ${r.info.kept} of ${r.info.u.length} points gridded`,
          uv: r.info,
        });
      } else {
        throw new Error(`instantiateForwardModel: resource ${i} does not match its stage`);
      }
    }
  } catch (e) {
    for (const s of stages) s.dispose();
    throw e;
  }
  const operator = stages.length === 0 ? new IdentityOperator(spec.shape) : new ChainOperator(stages);
  return { spec, operator, stages, info, additive: prepared.additive, notes };
}

/**
 * A lens model with a mask — a lens stage, PSF stages, a mask stage last (what lens-fit writes) — on the window of
 * the image grid that can reach the mask: the observed pixels' bounding box dilated by the PSFs' reach. Inside the
 * window it is the same model (the same rays, the same linear convolution; a pixel outside reaches no observed one),
 * its output the window's; null for any other model, or where the window does not save `minSaving`× the pixels.
 */
export function cropForwardModel(prepared: PreparedForwardModel, minSaving = 2): { prepared: PreparedForwardModel; window: ImageWindow } | null {
  const { spec, resources } = prepared;
  const ops = spec.operators;
  const n = ops.length;
  const lens = ops[0];
  const mask = resources[n - 1];
  if (n < 2 || lens?.type !== 'lens' || mask?.type !== 'mask' || resources[0]?.type !== 'lens' || resources[0].window) return null;
  let margin = 0;
  for (let i = 1; i < n - 1; i++) {
    const r = resources[i];
    if (r.type !== 'psf') return null;
    const [ky, kx] = r.kernel.shape;
    const [cy, cx] = r.kernel.center;
    margin += Math.max(cy, ky - 1 - cy, cx, kx - 1 - cx);
  }
  const full = lens.imageShape;
  const w = maskWindow(mask.mask, full, margin);
  if (!w || w.shape[0] * w.shape[1] * minSaving > full[0] * full[1]) return null;
  const cropped: ForwardModelSpec = { ...spec, operators: [{ ...lens, imageShape: w.shape }, ...ops.slice(1)] };
  const out: StageResource[] = [{ type: 'lens', window: w }, ...resources.slice(1, n - 1), { ...mask, mask: cropImage(mask.mask, w) }];
  return { prepared: { ...prepared, spec: cropped, resources: out, additive: prepared.additive ? cropImage(prepared.additive, w) : null }, window: w };
}

/** Loads, validates and builds a model: prepareForwardModel then instantiateForwardModel. */
export async function buildForwardModel(spec: ForwardModelSpec, loader: ForwardModelFileLoader, opts: BuildOptions = {}): Promise<BuiltForwardModel> {
  return instantiateForwardModel(await prepareForwardModel(spec, loader, opts), opts);
}
