/**
 * The forward-model file M.json (DESIGN.md): parsing, validation with clear messages, and construction of the
 * operator chain through an injected file loader (this module is pure: no fs).
 */
import { ForwardModelInputError } from './errors.js';
import { ChainOperator, IdentityOperator } from './compose.js';
import { PsfOperator, gaussianPsf, psfFromImage, type PsfKernel, type PsfMethod } from './psf.js';
import { MaskOperator } from './mask.js';
import { LensOperator, type LensParams } from './lens.js';
import { UvSamplingOperator, gridUv, parseStationTable, uvCoverage, hourAngles, ARCSEC, type StationTable } from './uv.js';
import type { SparseStrategy } from './sparse.js';
import type { Shape2, StructuredOperator } from './types.js';

export const OPERATOR_TYPES = ['psf', 'mask', 'lens', 'uv-sampling'] as const;
export type OperatorType = (typeof OPERATOR_TYPES)[number];

export interface PsfStage {
  type: 'psf';
  fwhmPx?: number;
  fits?: string;
  hdu?: number;
  normalize: boolean;
}
export interface MaskStage {
  type: 'mask';
  fits: string;
  hdu?: number;
}
export interface LensStage {
  type: 'lens';
  imageShape: Shape2;
  imagePixelScale: number;
  sourcePixelScale: number;
  supersample: number;
  lens: LensParams & { model: 'SIE' | 'SIS' };
}
export interface UvStage {
  type: 'uv-sampling';
  array: string;
  declinationDeg: number;
  hourAngleH: [number, number];
  stepMin: number;
  wavelengthM: number;
  pixelScaleArcsec: number;
}
export type StageSpec = PsfStage | MaskStage | LensStage | UvStage;

export interface ModelSpec {
  shape: Shape2;
  operators: StageSpec[];
}

/** Loads the files an M.json names; paths are as written in the JSON (relative to it). */
export interface ModelFileLoader {
  /** A 2-D image, shape [ny, nx] (outer axes of length 1 are accepted and dropped). */
  loadImage(relPath: string, hdu?: number): Promise<{ data: Float32Array | Float64Array; shape: number[] }>;
  loadText(relPath: string): Promise<string>;
}

/** Most uv points a model may generate (stations² × times): far beyond any real array. */
const MAX_UV_POINTS = 2e7;
const MAX_SUPERSAMPLE = 16;
const MAX_SIDE = 16384;

type Obj = Record<string, unknown>;

class Ctx {
  constructor(readonly where: string) {}
  err(msg: string): ForwardModelInputError {
    return new ForwardModelInputError(`${this.where}: ${msg}`);
  }
}

function describe(v: unknown): string {
  if (typeof v === 'string') return `'${v}'`;
  if (v === undefined) return 'nothing';
  try {
    return JSON.stringify(v);
  } catch {
    return String(v);
  }
}

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkKeys(o: Obj, allowed: readonly string[], c: Ctx, what = ''): void {
  for (const k of Object.keys(o)) {
    if (allowed.includes(k) || k.startsWith('$') || k.startsWith('_') || k === 'comment' || k === 'description') continue;
    throw c.err(`unknown field '${what}${k}' (expected ${allowed.map((a) => what + a).join(', ')})`);
  }
}

function num(o: Obj, key: string, c: Ctx, opts: { def?: number; positive?: boolean; min?: number; max?: number; integer?: boolean; label?: string } = {}): number {
  const label = opts.label ?? key;
  const v = o[key];
  if (v === undefined || v === null) {
    if (opts.def !== undefined) return opts.def;
    throw c.err(`${label} is required`);
  }
  if (typeof v !== 'number' || !Number.isFinite(v)) throw c.err(`${label} must be a number, got ${describe(v)}`);
  if (opts.integer && !Number.isInteger(v)) throw c.err(`${label} must be an integer, got ${v}`);
  if (opts.positive && !(v > 0)) throw c.err(`${label} must be positive, got ${v}`);
  if (opts.min !== undefined && v < opts.min) throw c.err(`${label} must be ≥ ${opts.min}, got ${v}`);
  if (opts.max !== undefined && v > opts.max) throw c.err(`${label} must be ≤ ${opts.max}, got ${v}`);
  return v;
}

function str(o: Obj, key: string, c: Ctx): string {
  const v = o[key];
  if (v === undefined) throw c.err(`${key} is required`);
  if (typeof v !== 'string' || v.trim() === '') throw c.err(`${key} must be a file name, got ${describe(v)}`);
  return v;
}

function shape2(v: unknown, label: string, c: Ctx): Shape2 {
  if (v === undefined) throw c.err(`${label} is required ([ny, nx])`);
  if (!Array.isArray(v) || v.length !== 2 || !v.every((n) => typeof n === 'number' && Number.isInteger(n) && n > 0 && n <= MAX_SIDE)) {
    throw c.err(`${label} must be [ny, nx] with positive integers (at most ${MAX_SIDE}), got ${describe(v)}`);
  }
  return [v[0] as number, v[1] as number];
}

function hduOf(o: Obj, c: Ctx): number | undefined {
  if (o.hdu === undefined) return undefined;
  return num(o, 'hdu', c, { integer: true, min: 0 });
}

/** Validates a parsed M.json object. `source` (the file name) prefixes every message. */
export function validateModel(obj: unknown, source?: string): ModelSpec {
  const top = new Ctx(source ?? 'model');
  if (!isObj(obj)) throw top.err(`must be a JSON object with "shape" and "operators", got ${describe(obj)}`);
  checkKeys(obj, ['shape', 'operators'], top);
  const shape = shape2(obj.shape, 'shape', top);
  if (obj.operators === undefined) throw top.err('operators is required (a list; empty for the identity)');
  if (!Array.isArray(obj.operators)) throw top.err(`operators must be a list, got ${describe(obj.operators)}`);
  const operators: StageSpec[] = [];
  obj.operators.forEach((raw: unknown, i: number) => {
    const pre = source ? `${source}: ` : '';
    if (!isObj(raw)) throw new Ctx(`${pre}operators[${i}]`).err(`must be an object with a "type", got ${describe(raw)}`);
    const type = raw.type;
    if (typeof type !== 'string' || !(OPERATOR_TYPES as readonly string[]).includes(type)) {
      throw new Ctx(`${pre}operators[${i}]`).err(
        type === undefined ? `missing "type" (one of ${OPERATOR_TYPES.join(', ')})` : `unknown operator type ${describe(type)} (expected one of ${OPERATOR_TYPES.join(', ')})`,
      );
    }
    const c = new Ctx(`${pre}operators[${i}] (${type})`);
    operators.push(validateStage(raw, type as OperatorType, c));
  });
  return { shape, operators };
}

function validateStage(o: Obj, type: OperatorType, c: Ctx): StageSpec {
  switch (type) {
    case 'psf': {
      checkKeys(o, ['type', 'fwhmPx', 'fits', 'hdu', 'normalize'], c);
      const hasF = o.fwhmPx !== undefined;
      const hasFits = o.fits !== undefined;
      if (hasF === hasFits) throw c.err(hasF ? 'give either fwhmPx or fits, not both' : 'needs fwhmPx (a Gaussian) or fits (a PSF image)');
      if (o.normalize !== undefined && typeof o.normalize !== 'boolean') throw c.err(`normalize must be true or false, got ${describe(o.normalize)}`);
      const normalize = o.normalize !== false;
      if (hasF) {
        if (o.hdu !== undefined) throw c.err('hdu only applies to a PSF from fits');
        const fwhmPx = num(o, 'fwhmPx', c, { positive: true });
        if (fwhmPx > 1000) throw c.err(`fwhmPx must be at most 1000 pixels, got ${fwhmPx}`);
        return { type, fwhmPx, normalize };
      }
      return { type, fits: str(o, 'fits', c), hdu: hduOf(o, c), normalize };
    }
    case 'mask': {
      checkKeys(o, ['type', 'fits', 'hdu'], c);
      return { type, fits: str(o, 'fits', c), hdu: hduOf(o, c) };
    }
    case 'lens': {
      checkKeys(o, ['type', 'imageShape', 'imagePixelScale', 'sourcePixelScale', 'supersample', 'lens', 'shear'], c);
      const imageShape = shape2(o.imageShape, 'imageShape', c);
      const imagePixelScale = num(o, 'imagePixelScale', c, { positive: true });
      const sourcePixelScale = num(o, 'sourcePixelScale', c, { positive: true });
      const supersample = num(o, 'supersample', c, { def: 1, integer: true, min: 1, max: MAX_SUPERSAMPLE });
      if (!isObj(o.lens)) throw c.err(o.lens === undefined ? 'lens is required ({"model": "SIE", "thetaE", "q", "phi", "x0", "y0"})' : `lens must be an object, got ${describe(o.lens)}`);
      const L = o.lens;
      checkKeys(L, ['model', 'thetaE', 'q', 'phi', 'x0', 'y0'], c, 'lens.');
      const model = L.model ?? 'SIE';
      if (model !== 'SIE' && model !== 'SIS') throw c.err(`lens.model must be "SIE" (or "SIS"), got ${describe(model)}`);
      const thetaE = num(L, 'thetaE', c, { positive: true, label: 'lens.thetaE' });
      const q = num(L, 'q', c, { def: model === 'SIS' ? 1 : undefined, label: 'lens.q' });
      if (!(q > 0 && q <= 1)) throw c.err(`lens.q must be in (0, 1], got ${q}`);
      if (model === 'SIS' && q !== 1) throw c.err(`lens.q must be 1 for an SIS, got ${q}`);
      const phi = num(L, 'phi', c, { def: 0, label: 'lens.phi' });
      const x0 = num(L, 'x0', c, { def: 0, label: 'lens.x0' });
      const y0 = num(L, 'y0', c, { def: 0, label: 'lens.y0' });
      let gamma1 = 0;
      let gamma2 = 0;
      if (o.shear !== undefined) {
        if (!isObj(o.shear)) throw c.err(`shear must be an object {"gamma1", "gamma2"}, got ${describe(o.shear)}`);
        checkKeys(o.shear, ['gamma1', 'gamma2'], c, 'shear.');
        gamma1 = num(o.shear, 'gamma1', c, { def: 0, label: 'shear.gamma1' });
        gamma2 = num(o.shear, 'gamma2', c, { def: 0, label: 'shear.gamma2' });
      }
      return { type, imageShape, imagePixelScale, sourcePixelScale, supersample, lens: { model, thetaE, q, phi, x0, y0, gamma1, gamma2 } };
    }
    case 'uv-sampling': {
      checkKeys(o, ['type', 'array', 'declinationDeg', 'hourAngleH', 'stepMin', 'wavelengthM', 'pixelScaleArcsec'], c);
      const array = str(o, 'array', c);
      const declinationDeg = num(o, 'declinationDeg', c, { min: -90, max: 90 });
      const h = o.hourAngleH;
      if (h === undefined) throw c.err('hourAngleH is required ([start, end] in hours)');
      if (!Array.isArray(h) || h.length !== 2 || !h.every((v) => typeof v === 'number' && Number.isFinite(v))) {
        throw c.err(`hourAngleH must be [start, end] in hours, got ${describe(h)}`);
      }
      const hourAngleH: [number, number] = [h[0] as number, h[1] as number];
      if (hourAngleH[1] < hourAngleH[0]) throw c.err(`hourAngleH must have start ≤ end, got [${hourAngleH.join(', ')}]`);
      if (hourAngleH[1] - hourAngleH[0] > 24) throw c.err(`hourAngleH spans more than 24 hours: [${hourAngleH.join(', ')}]`);
      const stepMin = num(o, 'stepMin', c, { positive: true });
      const wavelengthM = num(o, 'wavelengthM', c, { positive: true });
      const pixelScaleArcsec = num(o, 'pixelScaleArcsec', c, { positive: true });
      return { type, array, declinationDeg, hourAngleH, stepMin, wavelengthM, pixelScaleArcsec };
    }
  }
}

/** Parses and validates M.json text. */
export function parseModel(text: string, source?: string): ModelSpec {
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch (e) {
    throw new ForwardModelInputError(`${source ?? 'model'}: not valid JSON (${(e as Error).message})`);
  }
  return validateModel(obj, source);
}

/** Input and output shape of every stage. */
export function stageShapes(spec: ModelSpec): { inShape: Shape2; outShape: Shape2 }[] {
  let cur = spec.shape;
  return spec.operators.map((s) => {
    const out = s.type === 'lens' ? s.imageShape : cur;
    const r = { inShape: cur, outShape: out };
    cur = out;
    return r;
  });
}

/** The data shape of a model (the last stage's output). */
export function outputShape(spec: ModelSpec): Shape2 {
  const s = stageShapes(spec);
  return s.length ? s[s.length - 1].outShape : spec.shape;
}

export interface StageInfo {
  type: OperatorType;
  inShape: Shape2;
  outShape: Shape2;
  /** One line for logs and the UI. */
  summary: string;
  /** uv-sampling: coverage in wavelengths and gridding counts. */
  uv?: { u: Float64Array; v: Float64Array; kept: number; dropped: number; baselines: number; times: number };
}

export interface BuiltModel {
  spec: ModelSpec;
  /** The whole forward model A (a chain; the identity for an empty operator list). */
  operator: ChainOperator | IdentityOperator;
  /** The stages, in order (owned by `operator`). */
  stages: StructuredOperator[];
  info: StageInfo[];
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
  | { type: 'psf'; kernel: PsfKernel; label: string }
  | { type: 'mask'; mask: Float32Array | Float64Array; observed: number; file: string }
  | { type: 'lens' }
  | { type: 'uv-sampling'; weights: Float64Array; info: NonNullable<StageInfo['uv']>; stations: number };

/** A model whose files are loaded and validated; instantiate() turns it into tensors. */
export interface PreparedModel {
  spec: ModelSpec;
  resources: StageResource[];
  notes: string[];
}

/**
 * Loads and validates every file a model names (PSF images, masks, station tables) and grids the uv
 * coverage — all checks that can fail on user input — without creating any tensor.
 */
export async function prepareModel(spec: ModelSpec, loader: ModelFileLoader, opts: { source?: string } = {}): Promise<PreparedModel> {
  const shapes = stageShapes(spec);
  const resources: StageResource[] = [];
  const notes: string[] = [];
  const pre = opts.source ? `${opts.source}: ` : '';
  for (let i = 0; i < spec.operators.length; i++) {
    const s = spec.operators[i];
    const { inShape } = shapes[i];
    const c: Ctx = new Ctx(`${pre}operators[${i}] (${s.type})`);
    const load = async (file: string, hdu?: number): Promise<{ data: Float32Array | Float64Array; shape: Shape2 }> => {
      let img: { data: Float32Array | Float64Array; shape: number[] };
      try {
        img = await loader.loadImage(file, hdu);
      } catch (e) {
        throw c.err(`cannot read '${file}'${hdu !== undefined ? ` (HDU ${hdu})` : ''}: ${(e as Error).message}`);
      }
      const sh = squeeze2(img.shape);
      if (sh.length !== 2 || sh.some((n) => !(n > 0))) throw c.err(`'${file}' is not a 2-D image (shape [${img.shape.join(', ')}])`);
      if (img.data.length !== sh[0] * sh[1]) throw c.err(`'${file}': ${img.data.length} pixels for shape [${sh.join(', ')}]`);
      return { data: img.data, shape: [sh[0], sh[1]] };
    };
    switch (s.type) {
      case 'psf': {
        if (s.fwhmPx !== undefined) {
          resources.push({ type: 'psf', kernel: gaussianPsf(s.fwhmPx), label: `Gaussian PSF, FWHM ${s.fwhmPx} px` });
          break;
        }
        const img = await load(s.fits!, s.hdu);
        let bad = 0;
        let sum = 0;
        for (const v of img.data) {
          if (!Number.isFinite(v)) bad++;
          else sum += v;
        }
        if (bad) throw c.err(`'${s.fits}' has ${bad} NaN or infinite pixel${bad > 1 ? 's' : ''}; a PSF must be finite everywhere`);
        if (s.normalize && !(Math.abs(sum) > 0)) throw c.err(`'${s.fits}' sums to zero and cannot be normalised (use "normalize": false for a beam with sidelobes)`);
        if (s.normalize && sum < 0) throw c.err(`'${s.fits}' sums to ${sum}, a negative total: not a PSF (use "normalize": false to take it as it is)`);
        if (img.shape[0] > inShape[0] || img.shape[1] > inShape[1]) {
          notes.push(`operators[${i}] (psf): the PSF (${img.shape.join('×')}) is larger than the image (${inShape.join('×')}); the part that cannot reach the image is ignored`);
        }
        resources.push({
          type: 'psf',
          kernel: psfFromImage(img.data, img.shape, s.normalize),
          label: `PSF from ${s.fits} (${img.shape.join('×')}, ${s.normalize ? 'normalised' : 'not normalised'})`,
        });
        break;
      }
      case 'mask': {
        const img = await load(s.fits, s.hdu);
        if (img.shape[0] !== inShape[0] || img.shape[1] !== inShape[1]) {
          throw c.err(`shape mismatch: '${s.fits}' is [${img.shape.join(', ')}] (ny, nx) but this stage's input is [${inShape.join(', ')}]`);
        }
        let observed = 0;
        for (let k = 0; k < img.data.length; k++) {
          const v = img.data[k];
          if (v !== 0 && v !== 1) {
            throw c.err(`'${s.fits}' must contain only 0 (missing) and 1 (observed); pixel (row ${Math.floor(k / img.shape[1])}, column ${k % img.shape[1]}) is ${v}`);
          }
          observed += v;
        }
        if (observed === 0) notes.push(`operators[${i}] (mask): the mask observes no pixel`);
        resources.push({ type: 'mask', mask: img.data, observed, file: s.fits });
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
          throw c.err(`cannot read station table '${s.array}': ${(e as Error).message}`);
        }
        let table: StationTable;
        try {
          table = parseStationTable(text, `'${s.array}'`);
        } catch (e) {
          throw c.err((e as Error).message);
        }
        const n = table.names.length;
        const npts = n * (n - 1) * hourAngles(s).length;
        if (npts > MAX_UV_POINTS) throw c.err(`${npts} uv points (stations² × hour angles) is too many; increase stepMin`);
        const cov = uvCoverage(table, s);
        const grid = gridUv(cov.u, cov.v, inShape, s.pixelScaleArcsec);
        if (grid.kept === 0) {
          const cell = 1 / (Math.max(inShape[0], inShape[1]) * s.pixelScaleArcsec * ARCSEC);
          throw c.err(
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
  return { spec, resources, notes };
}

/** Creates the operators (tensors on the current backend) of a prepared model. */
export function instantiateModel(prepared: PreparedModel, opts: BuildOptions = {}): BuiltModel {
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
        info.push({ type: 'mask', inShape, outShape, summary: `mask ${r.file}: ${r.observed} of ${r.mask.length} pixels observed` });
      } else if (s.type === 'lens') {
        const { model, ...params } = s.lens;
        const op = new LensOperator(
          params,
          { sourceShape: inShape, sourcePixelScale: s.sourcePixelScale, imageShape: s.imageShape, imagePixelScale: s.imagePixelScale, supersample: s.supersample },
          { strategy: opts.sparseStrategy },
        );
        if (op.matrix.rowPtr[op.matrix.nRows] === 0) notes.push(`operators[${i}] (lens): no image pixel maps onto the source grid`);
        stages.push(op);
        info.push({
          type: 'lens',
          inShape,
          outShape,
          summary: `${model} lens θE=${s.lens.thetaE}″ q=${s.lens.q}, source ${inShape.join('×')} @ ${s.sourcePixelScale}″ → image ${outShape.join('×')} @ ${s.imagePixelScale}″, supersample ${s.supersample}`,
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
        throw new Error(`instantiateModel: resource ${i} does not match its stage`);
      }
    }
  } catch (e) {
    for (const s of stages) s.dispose();
    throw e;
  }
  const operator = stages.length === 0 ? new IdentityOperator(spec.shape) : new ChainOperator(stages);
  return { spec, operator, stages, info, notes };
}

/** Loads, validates and builds a model: prepareModel then instantiateModel. */
export async function buildModel(spec: ModelSpec, loader: ModelFileLoader, opts: BuildOptions = {}): Promise<BuiltModel> {
  return instantiateModel(await prepareModel(spec, loader, opts), opts);
}

/** Files a model refers to (for hashing and packaging), in stage order. */
export function modelFiles(spec: ModelSpec): string[] {
  const out: string[] = [];
  for (const s of spec.operators) {
    if ((s.type === 'psf' || s.type === 'mask') && s.fits) out.push(s.fits);
    if (s.type === 'uv-sampling') out.push(s.array);
  }
  return out;
}
