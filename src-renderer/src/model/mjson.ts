/**
 * The forward-model document the editor builds: exactly the `M.json` of DESIGN.md (shape of the unknown and a
 * chain of operators applied in order). Pure functions only: defaults, shape propagation, instant checks (the
 * engine's `model.validate` is the authoritative one), reading and writing the JSON, the files it names.
 */
import { UserInputError } from '../../../src-shared/errors';

export type Shape2 = [number, number];

export interface PsfGaussianOp {
  type: 'psf';
  fwhmPx: number;
}
export interface PsfFitsOp {
  type: 'psf';
  fits: string;
  hdu?: number;
  normalize?: boolean;
}
export interface MaskOp {
  type: 'mask';
  fits: string;
}
export interface LensOp {
  type: 'lens';
  imageShape: Shape2;
  imagePixelScale: number;
  sourcePixelScale: number;
  supersample: number;
  lens: { model: 'SIE'; thetaE: number; q: number; phi: number; x0: number; y0: number };
  shear?: { gamma1: number; gamma2: number };
}
export interface UvOp {
  type: 'uv-sampling';
  array: string;
  declinationDeg: number;
  hourAngleH: [number, number];
  stepMin: number;
  wavelengthM: number;
  pixelScaleArcsec: number;
}
export type OperatorSpec = PsfGaussianOp | PsfFitsOp | MaskOp | LensOp | UvOp;
export type OperatorType = 'psf' | 'mask' | 'lens' | 'uv-sampling';

export interface ModelDoc {
  shape: Shape2;
  operators: OperatorSpec[];
}

export interface Issue {
  /** JSON path of the field, e.g. `operators[1].fwhmPx`. */
  path: string;
  message: string;
}

export class ModelDocInputError extends UserInputError {
  override name = 'ModelDocInputError';
}

export const OPERATOR_LABELS: Record<OperatorType, string> = {
  psf: 'PSF (convolution)',
  mask: 'Mask (missing pixels)',
  lens: 'Strong lens (SIE + shear)',
  'uv-sampling': 'Interferometer (uv sampling)',
};

export const isPsfFits = (op: OperatorSpec): op is PsfFitsOp => op.type === 'psf' && 'fits' in op;

/** A new operator with sensible values for an unknown of `shape` (the lens keeps the image grid 1.5× the source). */
export function defaultOperator(type: OperatorType, shape: Shape2): OperatorSpec {
  switch (type) {
    case 'psf':
      return { type: 'psf', fwhmPx: 2.5 };
    case 'mask':
      return { type: 'mask', fits: '' };
    case 'lens':
      return {
        type: 'lens',
        imageShape: [Math.round(shape[0] * 1.5), Math.round(shape[1] * 1.5)],
        imagePixelScale: 0.05,
        sourcePixelScale: 0.03,
        supersample: 2,
        lens: { model: 'SIE', thetaE: 1.1, q: 0.75, phi: 0.4, x0: 0, y0: 0 },
        shear: { gamma1: 0.02, gamma2: -0.01 },
      };
    case 'uv-sampling':
      return { type: 'uv-sampling', array: '', declinationDeg: 34, hourAngleH: [-4, 4], stepMin: 5, wavelengthM: 0.06, pixelScaleArcsec: 0.5 };
  }
}

/** The output shape of each operator (the input of the next), given the unknown's shape. */
export function propagateShapes(doc: ModelDoc): { inShape: Shape2; outShape: Shape2 }[] {
  let cur: Shape2 = [doc.shape[0], doc.shape[1]];
  return doc.operators.map((op) => {
    const inShape = cur;
    const outShape: Shape2 = op.type === 'lens' ? [op.imageShape[0], op.imageShape[1]] : inShape;
    cur = outShape;
    return { inShape, outShape };
  });
}

export function outputShape(doc: ModelDoc): Shape2 {
  const s = propagateShapes(doc);
  return s.length ? s[s.length - 1]!.outShape : doc.shape;
}

/** File names the document refers to (PSF and mask FITS, station tables), in order, without repeats. */
export function referencedFiles(doc: ModelDoc): string[] {
  const out: string[] = [];
  const add = (f: string) => f && !out.includes(f) && out.push(f);
  for (const op of doc.operators) {
    if (isPsfFits(op) || op.type === 'mask') add(op.fits);
    if (op.type === 'uv-sampling') add(op.array);
  }
  return out;
}

const posInt = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= 1;
const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/**
 * Instant checks for the form (shown next to the fields as the user types). `files` are the names the editor
 * holds; `dataShape` the observation's [ny, nx] (the chain must end on it).
 */
export function checkDoc(doc: ModelDoc, files: readonly string[], dataShape: Shape2 | null): Issue[] {
  const issues: Issue[] = [];
  const add = (path: string, message: string) => issues.push({ path, message });
  if (!posInt(doc.shape[0]) || !posInt(doc.shape[1])) add('shape', `the unknown's shape must be two positive integers, got [${doc.shape.join(', ')}]`);
  doc.operators.forEach((op, i) => {
    const at = (f: string) => `operators[${i}].${f}`;
    switch (op.type) {
      case 'psf':
        if (isPsfFits(op)) {
          if (!op.fits) add(at('fits'), 'choose a PSF FITS file');
          else if (!files.includes(op.fits)) add(at('fits'), `the PSF file ${op.fits} is not loaded`);
          if (op.hdu !== undefined && !(Number.isInteger(op.hdu) && op.hdu >= 0)) add(at('hdu'), `HDU must be an integer ≥ 0, got ${op.hdu}`);
        } else if (!finite(op.fwhmPx) || op.fwhmPx <= 0) add(at('fwhmPx'), `FWHM must be positive, got ${op.fwhmPx}`);
        break;
      case 'mask':
        if (!op.fits) add(at('fits'), 'choose or paint a mask');
        else if (!files.includes(op.fits)) add(at('fits'), `the mask file ${op.fits} is not loaded`);
        break;
      case 'lens': {
        if (!posInt(op.imageShape[0]) || !posInt(op.imageShape[1])) add(at('imageShape'), 'the image shape must be two positive integers');
        if (!finite(op.imagePixelScale) || op.imagePixelScale <= 0) add(at('imagePixelScale'), `image pixel scale must be positive, got ${op.imagePixelScale}`);
        if (!finite(op.sourcePixelScale) || op.sourcePixelScale <= 0) add(at('sourcePixelScale'), `source pixel scale must be positive, got ${op.sourcePixelScale}`);
        if (!posInt(op.supersample) || op.supersample > 16) add(at('supersample'), `supersampling must be an integer from 1 to 16, got ${op.supersample}`);
        const l = op.lens;
        if (!finite(l.thetaE) || l.thetaE <= 0) add(at('lens.thetaE'), `θE must be positive, got ${l.thetaE}`);
        if (!finite(l.q) || l.q <= 0 || l.q > 1) add(at('lens.q'), `axis ratio q must be in (0, 1], got ${l.q}`);
        for (const k of ['phi', 'x0', 'y0'] as const) if (!finite(l[k])) add(at(`lens.${k}`), `${k} must be a number`);
        if (op.shear) for (const k of ['gamma1', 'gamma2'] as const) if (!finite(op.shear[k])) add(at(`shear.${k}`), `${k} must be a number`);
        break;
      }
      case 'uv-sampling': {
        if (!op.array) add(at('array'), 'choose a station table (NAME X Y Z per line, ECEF metres)');
        else if (!files.includes(op.array)) add(at('array'), `the station table ${op.array} is not loaded`);
        if (!finite(op.declinationDeg) || Math.abs(op.declinationDeg) > 90) add(at('declinationDeg'), `declination must be within ±90°, got ${op.declinationDeg}`);
        const [h0, h1] = op.hourAngleH;
        if (!finite(h0) || !finite(h1) || h0 > h1 || h0 < -12 || h1 > 12) add(at('hourAngleH'), `hour angles must satisfy −12 ≤ start ≤ end ≤ 12, got [${h0}, ${h1}]`);
        if (!finite(op.stepMin) || op.stepMin <= 0) add(at('stepMin'), `the time step must be positive, got ${op.stepMin}`);
        if (!finite(op.wavelengthM) || op.wavelengthM <= 0) add(at('wavelengthM'), `the wavelength must be positive, got ${op.wavelengthM}`);
        if (!finite(op.pixelScaleArcsec) || op.pixelScaleArcsec <= 0) add(at('pixelScaleArcsec'), `the pixel scale must be positive, got ${op.pixelScaleArcsec}`);
        break;
      }
    }
  });
  if (dataShape && issues.length === 0) {
    const out = outputShape(doc);
    if (out[0] !== dataShape[0] || out[1] !== dataShape[1]) {
      add('shape', `the model's output is [${out.join(', ')}] but the observation is [${dataShape.join(', ')}] ([ny, nx])`);
    }
  }
  return issues;
}

/** M.json text (2-space indented), exactly the document. */
export function toModelJson(doc: ModelDoc): string {
  return JSON.stringify(doc, null, 2) + '\n';
}

const num = (v: unknown, path: string): number => {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new ModelDocInputError(`${path}: expected a number, got ${JSON.stringify(v)}`);
  return v;
};
const shape = (v: unknown, path: string): Shape2 => {
  if (!Array.isArray(v) || v.length !== 2) throw new ModelDocInputError(`${path}: expected [ny, nx], got ${JSON.stringify(v)}`);
  return [num(v[0], `${path}[0]`), num(v[1], `${path}[1]`)];
};
const str = (v: unknown, path: string): string => {
  if (typeof v !== 'string') throw new ModelDocInputError(`${path}: expected a file name, got ${JSON.stringify(v)}`);
  return v;
};
const record = (v: unknown, path: string): Record<string, unknown> => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ModelDocInputError(`${path}: expected an object`);
  return v as Record<string, unknown>;
};

/** Reads an M.json document (structure only; values are checked by checkDoc and the engine). */
export function parseModelDoc(value: unknown): ModelDoc {
  const r = record(value, 'M.json');
  const ops = r.operators;
  if (!Array.isArray(ops)) throw new ModelDocInputError('M.json: "operators" must be an array');
  const operators = ops.map((o, i): OperatorSpec => {
    const p = `operators[${i}]`;
    const op = record(o, p);
    switch (op.type) {
      case 'psf':
        if (op.fits !== undefined) {
          const f: PsfFitsOp = { type: 'psf', fits: str(op.fits, `${p}.fits`) };
          if (op.hdu !== undefined) f.hdu = num(op.hdu, `${p}.hdu`);
          if (op.normalize !== undefined) f.normalize = op.normalize !== false;
          return f;
        }
        return { type: 'psf', fwhmPx: num(op.fwhmPx, `${p}.fwhmPx`) };
      case 'mask':
        return { type: 'mask', fits: str(op.fits, `${p}.fits`) };
      case 'lens': {
        const l = record(op.lens, `${p}.lens`);
        if (l.model !== undefined && l.model !== 'SIE') throw new ModelDocInputError(`${p}.lens.model: only "SIE" is supported, got ${JSON.stringify(l.model)}`);
        const out: LensOp = {
          type: 'lens',
          imageShape: shape(op.imageShape, `${p}.imageShape`),
          imagePixelScale: num(op.imagePixelScale, `${p}.imagePixelScale`),
          sourcePixelScale: num(op.sourcePixelScale, `${p}.sourcePixelScale`),
          supersample: op.supersample === undefined ? 1 : num(op.supersample, `${p}.supersample`),
          lens: {
            model: 'SIE',
            thetaE: num(l.thetaE, `${p}.lens.thetaE`),
            q: l.q === undefined ? 1 : num(l.q, `${p}.lens.q`),
            phi: l.phi === undefined ? 0 : num(l.phi, `${p}.lens.phi`),
            x0: l.x0 === undefined ? 0 : num(l.x0, `${p}.lens.x0`),
            y0: l.y0 === undefined ? 0 : num(l.y0, `${p}.lens.y0`),
          },
        };
        if (op.shear !== undefined) {
          const s = record(op.shear, `${p}.shear`);
          out.shear = { gamma1: s.gamma1 === undefined ? 0 : num(s.gamma1, `${p}.shear.gamma1`), gamma2: s.gamma2 === undefined ? 0 : num(s.gamma2, `${p}.shear.gamma2`) };
        }
        return out;
      }
      case 'uv-sampling': {
        const h = op.hourAngleH;
        if (!Array.isArray(h) || h.length !== 2) throw new ModelDocInputError(`${p}.hourAngleH: expected [start, end] in hours`);
        return {
          type: 'uv-sampling',
          array: str(op.array, `${p}.array`),
          declinationDeg: num(op.declinationDeg, `${p}.declinationDeg`),
          hourAngleH: [num(h[0], `${p}.hourAngleH[0]`), num(h[1], `${p}.hourAngleH[1]`)],
          stepMin: num(op.stepMin, `${p}.stepMin`),
          wavelengthM: num(op.wavelengthM, `${p}.wavelengthM`),
          pixelScaleArcsec: num(op.pixelScaleArcsec, `${p}.pixelScaleArcsec`),
        };
      }
      default:
        throw new ModelDocInputError(`${p}.type: unknown operator ${JSON.stringify(op.type)} (psf, mask, lens or uv-sampling)`);
    }
  });
  return { shape: shape(r.shape, 'M.json.shape'), operators };
}

export function parseModelJsonText(text: string): ModelDoc {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new ModelDocInputError(`M.json is not valid JSON (${(e as Error).message})`);
  }
  return parseModelDoc(v);
}

/** Replaces operator `i` (immutable update). */
export function withOperator(doc: ModelDoc, i: number, op: OperatorSpec): ModelDoc {
  return { ...doc, operators: doc.operators.map((o, k) => (k === i ? op : o)) };
}

export function moveOperator(doc: ModelDoc, i: number, delta: -1 | 1): ModelDoc {
  const j = i + delta;
  if (j < 0 || j >= doc.operators.length) return doc;
  const ops = doc.operators.slice();
  [ops[i], ops[j]] = [ops[j]!, ops[i]!];
  return { ...doc, operators: ops };
}
