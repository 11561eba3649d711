/**
 * The forward-model file M.json (docs/forward-models.md): its types, its one validator (issues with JSON paths),
 * reading and writing the text, shape propagation through the stages, the files it names and the values of a
 * new stage. Pure and free of tfjs, so that the editor and the engine run the same checks; forward-model.ts builds the
 * operators from a validated spec.
 *
 * A ForwardModelSpec is the document as written: optional fields stay absent (lensParams, lensSupersample and
 * psfNormalized give their defaults), annotation fields (`comment`, `description`, `$…`, `_…`) are accepted
 * and not kept.
 */
import { ForwardModelInputError } from './errors.js';

/** [ny, nx], row-major, x fastest (the FITS order: NAXIS1 = nx). */
export type Shape2 = [number, number];

export const OPERATOR_TYPES = ['psf', 'mask', 'lens', 'uv-sampling'] as const;
export type OperatorType = (typeof OPERATOR_TYPES)[number];

/** A Gaussian PSF of unit sum. */
export interface GaussianPsfStage {
  type: 'psf';
  fwhmPx: number;
}
/** A PSF image, normalised to unit sum unless `normalize` is false. */
export interface FitsPsfStage {
  type: 'psf';
  fits: string;
  hdu?: number;
  normalize?: boolean;
}
export type PsfStage = GaussianPsfStage | FitsPsfStage;
/**
 * How a mask file marks the observed pixels: `fit` 1 = observed, 0 = missing (SkyScore's masks; the default);
 * `exclude` 1 = missing, 0 = observed (PyAutoLens's Mask2D, whose True marks a masked pixel); `auto` reads 1 as
 * observed unless the mask is clearly of the other convention, by lens-fit's rule (detectExcludeMask).
 */
export const MASK_STAGE_CONVENTIONS = ['fit', 'exclude', 'auto'] as const;
export type MaskStageConvention = (typeof MASK_STAGE_CONVENTIONS)[number];
export interface MaskStage {
  type: 'mask';
  fits: string;
  hdu?: number;
  /** absent: `fit`, with a warning where the mask looks like the `exclude` convention */
  convention?: MaskStageConvention;
}
export type LensModel = 'SIE' | 'SIS' | 'EPL';
export interface LensStage {
  type: 'lens';
  imageShape: Shape2;
  imagePixelScale: number;
  sourcePixelScale: number;
  /** Sub-pixels per side (default 1). */
  supersample?: number;
  /**
   * `model` defaults to SIE; `q` is required for an SIE or EPL and 1 for an SIS; `phi`, `x0`, `y0` default to 0;
   * `gamma` (the EPL's slope, 1 < γ < 3) is required for an EPL and refused otherwise.
   */
  lens: { model?: LensModel; thetaE: number; q?: number; phi?: number; x0?: number; y0?: number; gamma?: number };
  /** External shear; each component defaults to 0. */
  shear?: { gamma1?: number; gamma2?: number };
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

/**
 * M.json's optional noise block: the noise model of the data (docs/forward-models.md, *Noise models*). Command-line
 * noise flags take precedence over it. Files are relative to M.json.
 */
export interface NoiseSpec {
  model: 'white' | 'sigma-map' | 'correlated' | 'poisson-gaussian' | 'learned';
  /** learned: a noise-prior folder (`skyscore train --kind noise`); in M.json relative to it, in the app a prior id. */
  prior?: string;
  /** σ (white; correlated: optional, default the measured σ). */
  sigma?: number;
  /** A FITS σ map (sigma-map; correlated: optional). */
  sigmaFits?: string;
  /** correlated (learned: optional, the spectrum of its Gaussian part): a blank-sky box of the observation [x0, y0, x1, y1] (0-based pixels, x1 and y1 exclusive)… */
  region?: [number, number, number, number];
  /** …or a noise-only FITS image. */
  image?: string;
  /** poisson-gaussian: e⁻/ADU (default: the header's), read noise (e⁻), a subtracted sky (ADU). */
  gain?: number;
  readNoise?: number;
  sky?: number;
}

export const NOISE_SPEC_MODELS = ['white', 'sigma-map', 'correlated', 'poisson-gaussian', 'learned'] as const;

/**
 * M.json's optional additive block: a known image b on the data's grid, in data units, added to the linear part:
 * y = A x + b + n (a lens's deflector light). Every likelihood uses y − b; `forward` and `simulate` add it.
 */
export interface AdditiveSpec {
  fits: string;
  hdu?: number;
}

/**
 * M.json's optional flux reference: the unknown's own brightness in data units — its 99.5th percentile (`flux`) and
 * sky (`background`), the statistics of flux-reference.ts —, which the automatic flux-scale rule reads in place of
 * the data's (a lens's source plane, where the prior acts: `skyscore lens-fit` writes its source inversion's).
 */
export interface FluxReferenceSpec {
  flux: number;
  background: number;
}

/** An M.json document: the unknown's shape and the stages of A, applied in order (none: the identity). */
export interface ForwardModelSpec {
  shape: Shape2;
  operators: StageSpec[];
  /** The noise model (optional; absent in older files). */
  noise?: NoiseSpec;
  /** A known additive image (optional). */
  additive?: AdditiveSpec;
  /** The unknown's flux reference (optional). */
  fluxReference?: FluxReferenceSpec;
}

/** One problem of a document. */
export interface ForwardModelIssue {
  /** JSON path of the value: `shape`, `operators[1].fwhmPx`, `operators[0].lens.q`; '' for the document itself. */
  path: string;
  /** The stage as messages name it, `operators[1] (psf)` (`operators[1]` while its type is unknown); '' outside the stages. */
  stage: string;
  /** What is wrong, naming fields as the file writes them: `fwhmPx must be positive, got -2`. */
  message: string;
  /** The field (`fwhmPx`, `lens.q`) when the message is about that one field and starts with its name. */
  field?: string;
  /**
   * True when the document cannot be read as a ForwardModelSpec (not an object, a value of the wrong type, a missing
   * or unknown field or operator type); false for a value of the right type out of its range.
   */
  structural: boolean;
}

export interface CheckOptions {
  /** The files at hand (names as the document writes them): a file not among them is an issue. */
  files?: readonly string[];
  /** The observation's [ny, nx]: the last stage's output must have it (checked once nothing else is wrong). */
  dataShape?: Shape2 | null;
}

/** Largest image side. */
export const MAX_SIDE = 16384;
export const MAX_SUPERSAMPLE = 16;
export const MAX_FWHM_PX = 1000;

type Obj = Record<string, unknown>;

function describe(v: unknown): string {
  if (typeof v === 'string') return `'${v}'`;
  if (v === undefined) return 'nothing';
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  try {
    return JSON.stringify(v);
  } catch {
    return String(v);
  }
}

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isAnnotation = (k: string) => k.startsWith('$') || k.startsWith('_') || k === 'comment' || k === 'description';

interface NumRule {
  optional?: boolean;
  positive?: boolean;
  integer?: boolean;
  min?: number;
  max?: number;
}

/** Collects the issues of one object (the document or a stage): `stage` names it, `base` is its JSON path. */
class Scope {
  constructor(
    private readonly issues: ForwardModelIssue[],
    readonly stage: string,
    readonly base: string,
  ) {}

  path(field: string): string {
    return this.base ? (field ? `${this.base}.${field}` : this.base) : field;
  }

  /** An issue at `field` (a dotted name, '' for the object itself); `named`: the message starts with the field. */
  add(field: string, message: string, structural: boolean, named = true): void {
    const issue: ForwardModelIssue = { path: this.path(field), stage: this.stage, message, structural };
    if (named && field) issue.field = field;
    this.issues.push(issue);
  }

  keys(o: Obj, allowed: readonly string[], prefix = ''): void {
    for (const k of Object.keys(o)) {
      if (allowed.includes(k) || isAnnotation(k)) continue;
      this.add(prefix + k, `unknown field '${prefix}${k}' (expected ${allowed.map((a) => prefix + a).join(', ')})`, true, false);
    }
  }

  /** A number field; returns it when it has the right type (in range or not), else undefined. `ok` tells which. */
  num(o: Obj, key: string, field: string, rule: NumRule = {}): { value: number | undefined; ok: boolean } {
    const v = o[key];
    if (v === undefined || v === null) {
      if (!rule.optional) this.add(field, `${field} is required`, true);
      return { value: undefined, ok: !!rule.optional };
    }
    if (typeof v !== 'number') {
      this.add(field, `${field} must be a number, got ${describe(v)}`, true);
      return { value: undefined, ok: false };
    }
    let problem: string | null = null;
    if (!Number.isFinite(v)) problem = `must be a number, got ${describe(v)}`;
    else if (rule.integer && !Number.isInteger(v)) problem = `must be an integer, got ${v}`;
    else if (rule.positive && !(v > 0)) problem = `must be positive, got ${v}`;
    else if (rule.min !== undefined && v < rule.min) problem = `must be ≥ ${rule.min}, got ${v}`;
    else if (rule.max !== undefined && v > rule.max) problem = `must be ≤ ${rule.max}, got ${v}`;
    if (problem) this.add(field, `${field} ${problem}`, false);
    return { value: v, ok: problem === null };
  }

  /** A file name. A blank name is a value out of range (the editor's new stage has one). */
  file(o: Obj, key: string): string | undefined {
    const v = o[key];
    if (v === undefined) {
      this.add(key, `${key} is required`, true);
      return undefined;
    }
    if (typeof v !== 'string') {
      this.add(key, `${key} must be a file name, got ${describe(v)}`, true);
      return undefined;
    }
    if (v.trim() === '') this.add(key, `${key} must be a file name, got ${describe(v)}`, false);
    return v;
  }

  /** `file` must be among `files` (when given). */
  present(field: string, name: string | undefined, what: string, files: readonly string[] | undefined): void {
    if (files && name !== undefined && name.trim() !== '' && !files.includes(name)) this.add(field, `the ${what} ${name} is not loaded`, false, false);
  }

  shape(v: unknown, field: string): Shape2 | undefined {
    if (v === undefined) {
      this.add(field, `${field} is required ([ny, nx])`, true);
      return undefined;
    }
    const msg = `${field} must be [ny, nx] with positive integers (at most ${MAX_SIDE}), got ${describe(v)}`;
    if (!Array.isArray(v) || v.length !== 2 || !v.every((n) => typeof n === 'number')) {
      this.add(field, msg, true);
      return undefined;
    }
    if (!v.every((n: number) => Number.isInteger(n) && n > 0 && n <= MAX_SIDE)) this.add(field, msg, false);
    return [v[0] as number, v[1] as number];
  }
}

function checkPsf(o: Obj, s: Scope, files: readonly string[] | undefined): PsfStage | undefined {
  s.keys(o, ['type', 'fwhmPx', 'fits', 'hdu', 'normalize']);
  const hasF = o.fwhmPx !== undefined;
  const hasFits = o.fits !== undefined;
  if (hasF === hasFits) {
    s.add('', hasF ? 'give either fwhmPx or fits, not both' : 'needs fwhmPx (a Gaussian) or fits (a PSF image)', true);
    return undefined;
  }
  let normalizeOk = true;
  if (o.normalize !== undefined && typeof o.normalize !== 'boolean') {
    s.add('normalize', `normalize must be true or false, got ${describe(o.normalize)}`, true);
    normalizeOk = false;
  }
  if (hasF) {
    let hduOk = true;
    if (o.hdu !== undefined) {
      s.add('hdu', 'hdu only applies to a PSF from fits', true);
      hduOk = false;
    }
    const f = s.num(o, 'fwhmPx', 'fwhmPx', { positive: true });
    if (f.ok && f.value! > MAX_FWHM_PX) s.add('fwhmPx', `fwhmPx must be at most ${MAX_FWHM_PX} pixels, got ${f.value}`, false);
    return f.value !== undefined && normalizeOk && hduOk ? { type: 'psf', fwhmPx: f.value } : undefined;
  }
  const fits = s.file(o, 'fits');
  s.present('fits', fits, 'PSF file', files);
  const hdu = o.hdu === undefined ? undefined : s.num(o, 'hdu', 'hdu', { integer: true, min: 0 }).value;
  if (fits === undefined || !normalizeOk || (o.hdu !== undefined && hdu === undefined)) return undefined;
  const out: FitsPsfStage = { type: 'psf', fits };
  if (hdu !== undefined) out.hdu = hdu;
  if (o.normalize !== undefined) out.normalize = o.normalize as boolean;
  return out;
}

function checkMask(o: Obj, s: Scope, files: readonly string[] | undefined): MaskStage | undefined {
  s.keys(o, ['type', 'fits', 'hdu', 'convention']);
  const fits = s.file(o, 'fits');
  s.present('fits', fits, 'mask file', files);
  const hdu = o.hdu === undefined ? undefined : s.num(o, 'hdu', 'hdu', { integer: true, min: 0 }).value;
  let conventionOk = true;
  if (o.convention !== undefined && !(MASK_STAGE_CONVENTIONS as readonly unknown[]).includes(o.convention)) {
    s.add('convention', `convention must be ${MASK_STAGE_CONVENTIONS.map((c) => `"${c}"`).join(', ')}, got ${describe(o.convention)}`, true);
    conventionOk = false;
  }
  if (fits === undefined || !conventionOk || (o.hdu !== undefined && hdu === undefined)) return undefined;
  const out: MaskStage = { type: 'mask', fits };
  if (hdu !== undefined) out.hdu = hdu;
  if (o.convention !== undefined) out.convention = o.convention as MaskStageConvention;
  return out;
}

function checkLens(o: Obj, s: Scope): LensStage | undefined {
  s.keys(o, ['type', 'imageShape', 'imagePixelScale', 'sourcePixelScale', 'supersample', 'lens', 'shear']);
  const imageShape = s.shape(o.imageShape, 'imageShape');
  const imagePixelScale = s.num(o, 'imagePixelScale', 'imagePixelScale', { positive: true }).value;
  const sourcePixelScale = s.num(o, 'sourcePixelScale', 'sourcePixelScale', { positive: true }).value;
  const supersample = s.num(o, 'supersample', 'supersample', { optional: true, integer: true, min: 1, max: MAX_SUPERSAMPLE });
  let lens: LensStage['lens'] | undefined;
  if (!isObj(o.lens)) {
    s.add('lens', o.lens === undefined ? 'lens is required ({"model": "SIE", "thetaE", "q", "phi", "x0", "y0"})' : `lens must be an object, got ${describe(o.lens)}`, true);
  } else {
    const L = o.lens;
    s.keys(L, ['model', 'thetaE', 'q', 'phi', 'x0', 'y0', 'gamma'], 'lens.');
    let model: LensModel = 'SIE';
    let modelOk = true;
    if (L.model === 'SIS' || L.model === 'EPL') model = L.model;
    else if (L.model !== undefined && L.model !== 'SIE') {
      s.add('lens.model', `lens.model must be "SIE", "SIS" or "EPL", got ${describe(L.model)}`, true);
      modelOk = false;
    }
    // the EPL's slope: required for an EPL, meaningless for the others
    let gamma: number | undefined;
    if (model === 'EPL') {
      const g = s.num(L, 'gamma', 'lens.gamma');
      if (g.ok && g.value !== undefined) {
        if (!(g.value > 1 && g.value < 3)) s.add('lens.gamma', `lens.gamma (the EPL's slope) must be in (1, 3), got ${g.value}`, false);
        else gamma = g.value;
      }
      if (gamma === undefined) modelOk = false;
    } else if (modelOk && L.gamma !== undefined) {
      s.add('lens.gamma', `lens.gamma is the slope of an EPL: give "model": "EPL" with it (the ${model} has slope 2)`, true);
      modelOk = false;
    }
    const thetaE = s.num(L, 'thetaE', 'lens.thetaE', { positive: true }).value;
    const q = s.num(L, 'q', 'lens.q', { optional: model === 'SIS' });
    if (q.ok && q.value !== undefined) {
      if (!(q.value > 0 && q.value <= 1)) s.add('lens.q', `lens.q must be in (0, 1], got ${q.value}`, false);
      else if (model === 'SIS' && q.value !== 1) s.add('lens.q', `lens.q must be 1 for an SIS, got ${q.value}`, false);
    }
    const rest = (['phi', 'x0', 'y0'] as const).map((k) => [k, s.num(L, k, `lens.${k}`, { optional: true })] as const);
    if (modelOk && thetaE !== undefined && (q.value !== undefined || model === 'SIS') && rest.every(([k, r]) => L[k] == null || r.value !== undefined)) {
      lens = L.model !== undefined ? { model, thetaE } : { thetaE };
      if (q.value !== undefined) lens.q = q.value;
      for (const [k, r] of rest) if (r.value !== undefined) lens[k] = r.value;
      if (gamma !== undefined) lens.gamma = gamma;
    }
  }
  let shear: LensStage['shear'] | undefined;
  let shearOk = true;
  if (o.shear !== undefined) {
    if (!isObj(o.shear)) {
      s.add('shear', `shear must be an object {"gamma1", "gamma2"}, got ${describe(o.shear)}`, true);
      shearOk = false;
    } else {
      const S = o.shear;
      s.keys(S, ['gamma1', 'gamma2'], 'shear.');
      const g1 = s.num(S, 'gamma1', 'shear.gamma1', { optional: true });
      const g2 = s.num(S, 'gamma2', 'shear.gamma2', { optional: true });
      shearOk = (S.gamma1 == null || g1.value !== undefined) && (S.gamma2 == null || g2.value !== undefined);
      shear = {};
      if (g1.value !== undefined) shear.gamma1 = g1.value;
      if (g2.value !== undefined) shear.gamma2 = g2.value;
    }
  }
  if (!imageShape || imagePixelScale === undefined || sourcePixelScale === undefined || !lens || !shearOk) return undefined;
  if (o.supersample != null && supersample.value === undefined) return undefined;
  return {
    type: 'lens',
    imageShape,
    imagePixelScale,
    sourcePixelScale,
    ...(supersample.value !== undefined && { supersample: supersample.value }),
    lens,
    ...(shear && { shear }),
  };
}

function checkUv(o: Obj, s: Scope, files: readonly string[] | undefined): UvStage | undefined {
  s.keys(o, ['type', 'array', 'declinationDeg', 'hourAngleH', 'stepMin', 'wavelengthM', 'pixelScaleArcsec']);
  const array = s.file(o, 'array');
  s.present('array', array, 'station table', files);
  const declinationDeg = s.num(o, 'declinationDeg', 'declinationDeg', { min: -90, max: 90 }).value;
  const h = o.hourAngleH;
  let hourAngleH: [number, number] | undefined;
  if (h === undefined) s.add('hourAngleH', 'hourAngleH is required ([start, end] in hours)', true);
  else if (!Array.isArray(h) || h.length !== 2 || !h.every((v) => typeof v === 'number')) s.add('hourAngleH', `hourAngleH must be [start, end] in hours, got ${describe(h)}`, true);
  else {
    hourAngleH = [h[0] as number, h[1] as number];
    const [h0, h1] = hourAngleH;
    if (!Number.isFinite(h0) || !Number.isFinite(h1)) s.add('hourAngleH', `hourAngleH must be [start, end] in hours, got ${describe(h)}`, false);
    else if (h1 < h0) s.add('hourAngleH', `hourAngleH must have start ≤ end, got [${hourAngleH.join(', ')}]`, false);
    else if (h1 - h0 > 24) s.add('hourAngleH', `hourAngleH spans more than 24 hours: [${hourAngleH.join(', ')}]`, false);
  }
  const stepMin = s.num(o, 'stepMin', 'stepMin', { positive: true }).value;
  const wavelengthM = s.num(o, 'wavelengthM', 'wavelengthM', { positive: true }).value;
  const pixelScaleArcsec = s.num(o, 'pixelScaleArcsec', 'pixelScaleArcsec', { positive: true }).value;
  if (array === undefined || declinationDeg === undefined || !hourAngleH || stepMin === undefined || wavelengthM === undefined || pixelScaleArcsec === undefined) return undefined;
  return { type: 'uv-sampling', array, declinationDeg, hourAngleH, stepMin, wavelengthM, pixelScaleArcsec };
}

function checkNoise(o: unknown, s: Scope, files: readonly string[] | undefined): NoiseSpec | undefined {
  if (!isObj(o)) {
    s.add('', `must be an object with a "model", got ${describe(o)}`, true);
    return undefined;
  }
  s.keys(o, ['model', 'sigma', 'sigmaFits', 'region', 'image', 'gain', 'readNoise', 'sky', 'prior']);
  const model = o.model;
  if (typeof model !== 'string' || !(NOISE_SPEC_MODELS as readonly string[]).includes(model)) {
    s.add('model', `model must be one of ${NOISE_SPEC_MODELS.join(', ')}, got ${describe(model)}`, true);
    return undefined;
  }
  const allowed: Record<NoiseSpec['model'], string[]> = {
    white: ['sigma'],
    'sigma-map': ['sigmaFits'],
    correlated: ['sigma', 'sigmaFits', 'region', 'image'],
    'poisson-gaussian': ['gain', 'readNoise', 'sky'],
    learned: ['prior', 'region', 'image'],
  };
  const out: NoiseSpec = { model: model as NoiseSpec['model'] };
  let ok = true;
  for (const k of ['sigma', 'sigmaFits', 'region', 'image', 'gain', 'readNoise', 'sky', 'prior']) {
    if (o[k] !== undefined && !allowed[out.model].includes(k)) {
      s.add(k, `the ${model} noise model takes no ${k} (it takes ${allowed[out.model].join(', ')})`, true);
      ok = false;
    }
  }
  const num = (k: 'sigma' | 'gain' | 'readNoise' | 'sky', rule: NumRule) => {
    if (o[k] === undefined) return;
    const r = s.num(o, k, k, rule);
    if (r.value === undefined) ok = false;
    else out[k] = r.value;
  };
  num('sigma', { positive: true, optional: true });
  num('gain', { positive: true, optional: true });
  num('readNoise', { positive: true, optional: true });
  num('sky', { optional: true });
  for (const k of ['sigmaFits', 'image'] as const) {
    if (o[k] === undefined) continue;
    const f = s.file(o, k);
    s.present(k, f, k === 'image' ? 'noise image' : 'σ map', files);
    if (f === undefined) ok = false;
    else out[k] = f;
  }
  if (o.region !== undefined) {
    const r = o.region;
    if (!Array.isArray(r) || r.length !== 4 || !r.every((v) => typeof v === 'number')) {
      s.add('region', `region must be [x0, y0, x1, y1] (0-based pixels, x1 and y1 exclusive), got ${describe(r)}`, true);
      ok = false;
    } else {
      if (!r.every((v: number) => Number.isInteger(v) && v >= 0) || !(r[2] > r[0] && r[3] > r[1])) {
        s.add('region', `region must be [x0, y0, x1, y1] with non-negative integers, x1 > x0 and y1 > y0, got ${describe(r)}`, false);
      }
      out.region = [r[0], r[1], r[2], r[3]];
    }
  }
  if (out.model === 'white' && out.sigma === undefined && o.sigma === undefined) s.add('sigma', 'the white noise model needs sigma', true);
  if (out.model === 'sigma-map' && o.sigmaFits === undefined) s.add('sigmaFits', 'the sigma-map noise model needs sigmaFits (a FITS σ map)', true);
  if (out.model === 'correlated' && (o.region === undefined) === (o.image === undefined)) s.add('', 'the correlated noise model needs exactly one of region or image', true);
  // learned: a blank-sky box or a noise-only image gives the spectrum of its Gaussian part (at most one)
  if (out.model === 'learned' && o.region !== undefined && o.image !== undefined) s.add('', 'the learned noise model takes at most one of region or image (the spectrum of its Gaussian part)', true);
  if (out.model === 'correlated' && o.sigma !== undefined && o.sigmaFits !== undefined) s.add('', 'give sigma or sigmaFits, not both', true);
  if (o.prior !== undefined) {
    if (typeof o.prior !== 'string' || !o.prior.trim()) {
      s.add('prior', `prior must be the noise prior's folder (a non-empty string), got ${describe(o.prior)}`, true);
      ok = false;
    } else out.prior = o.prior;
  }
  if (out.model === 'learned' && o.prior === undefined) s.add('prior', 'the learned noise model needs prior (a noise-prior folder made by skyscore train --kind noise)', true);
  if (out.model === 'poisson-gaussian' && o.readNoise === undefined) s.add('readNoise', 'the poisson-gaussian noise model needs readNoise (e⁻)', true);
  return ok ? out : undefined;
}

function checkAdditive(o: unknown, s: Scope, files: readonly string[] | undefined): AdditiveSpec | undefined {
  if (!isObj(o)) {
    s.add('', `must be an object {"fits": "image.fits"} (a known image added to A x), got ${describe(o)}`, true);
    return undefined;
  }
  s.keys(o, ['fits', 'hdu']);
  const fits = s.file(o, 'fits');
  s.present('fits', fits, 'additive image', files);
  const hdu = o.hdu === undefined ? undefined : s.num(o, 'hdu', 'hdu', { integer: true, min: 0 }).value;
  if (fits === undefined || (o.hdu !== undefined && hdu === undefined)) return undefined;
  return hdu !== undefined ? { fits, hdu } : { fits };
}

function checkFluxReference(o: unknown, s: Scope): FluxReferenceSpec | undefined {
  if (!isObj(o)) {
    s.add('', `must be an object {"flux", "background"} (the unknown's 99.5th percentile and sky, data units), got ${describe(o)}`, true);
    return undefined;
  }
  s.keys(o, ['flux', 'background']);
  const flux = s.num(o, 'flux', 'flux', { positive: true });
  const background = s.num(o, 'background', 'background');
  if (flux.value === undefined || background.value === undefined) return undefined;
  if (flux.ok && background.ok && !(flux.value > background.value)) s.add('flux', `flux must be above background, got ${flux.value} and ${background.value}`, false);
  return { flux: flux.value, background: background.value };
}

/**
 * Checks a document (parsed JSON, or the editor's spec) against every rule of the format, in the order of its
 * fields, and collects all issues. `spec` is the document as a ForwardModelSpec when no issue is structural (values
 * may still be out of range), else null.
 */
export function checkForwardModel(value: unknown, opts: CheckOptions = {}): { spec: ForwardModelSpec | null; issues: ForwardModelIssue[] } {
  const issues: ForwardModelIssue[] = [];
  const top = new Scope(issues, '', '');
  if (!isObj(value)) {
    top.add('', `must be a JSON object with "shape" and "operators", got ${describe(value)}`, true);
    return { spec: null, issues };
  }
  top.keys(value, ['shape', 'operators', 'noise', 'additive', 'fluxReference']);
  const shape = top.shape(value.shape, 'shape');
  const operators: (StageSpec | undefined)[] = [];
  if (value.operators === undefined) top.add('operators', 'operators is required (a list; empty for the identity)', true);
  else if (!Array.isArray(value.operators)) top.add('operators', `operators must be a list, got ${describe(value.operators)}`, true);
  else {
    value.operators.forEach((raw: unknown, i: number) => {
      const base = `operators[${i}]`;
      const bare = new Scope(issues, base, base);
      if (!isObj(raw)) {
        bare.add('', `must be an object with a "type", got ${describe(raw)}`, true);
        operators.push(undefined);
        return;
      }
      const type = raw.type;
      if (typeof type !== 'string' || !(OPERATOR_TYPES as readonly string[]).includes(type)) {
        const expected = OPERATOR_TYPES.join(', ');
        bare.add('type', type === undefined ? `missing "type" (one of ${expected})` : `unknown operator type ${describe(type)} (expected one of ${expected})`, true, false);
        operators.push(undefined);
        return;
      }
      const s = new Scope(issues, `${base} (${type})`, base);
      const t = type as OperatorType;
      operators.push(t === 'psf' ? checkPsf(raw, s, opts.files) : t === 'mask' ? checkMask(raw, s, opts.files) : t === 'lens' ? checkLens(raw, s) : checkUv(raw, s, opts.files));
    });
  }
  const noise = value.noise === undefined ? undefined : checkNoise(value.noise, new Scope(issues, 'noise', 'noise'), opts.files);
  const additive = value.additive === undefined ? undefined : checkAdditive(value.additive, new Scope(issues, 'additive', 'additive'), opts.files);
  const fluxReference = value.fluxReference === undefined ? undefined : checkFluxReference(value.fluxReference, new Scope(issues, 'fluxReference', 'fluxReference'));
  const structural = issues.some((x) => x.structural);
  const spec: ForwardModelSpec | null =
    !structural && shape && operators.every((x) => x !== undefined)
      ? { shape, operators: operators as StageSpec[], ...(noise ? { noise } : {}), ...(additive ? { additive } : {}), ...(fluxReference ? { fluxReference } : {}) }
      : null;
  if (spec && opts.dataShape && issues.length === 0) {
    const mismatch = outputShapeIssue(spec, opts.dataShape);
    if (mismatch) issues.push(mismatch);
  }
  return { spec, issues };
}

/**
 * Checks a noise block alone (M.json's `noise`, or the app's request, which carries the same fields) by the rules
 * of the format: the block, or a ForwardModelInputError with its first issue (`noise: the poisson-gaussian noise
 * model needs readNoise (e⁻)`; `where` replaces the `noise` prefix). `files`: the names it may refer to.
 */
export function validateNoiseSpec(value: unknown, where = 'noise', files?: readonly string[]): NoiseSpec {
  const issues: ForwardModelIssue[] = [];
  const spec = checkNoise(value, new Scope(issues, where, where), files);
  if (issues.length || !spec) {
    const i = issues[0];
    throw new ForwardModelInputError(`${where}: ${i ? i.message : 'not a noise model'}`);
  }
  return spec;
}

/** An issue as the engine reports it: `M.json: operators[1] (psf): fwhmPx must be positive, got -2`. */
export function issueMessage(issue: ForwardModelIssue, source?: string): string {
  if (issue.stage) return `${source ? `${source}: ` : ''}${issue.stage}: ${issue.message}`;
  return `${source ?? 'model'}: ${issue.message}`;
}

/** Validates a parsed M.json: the spec, or a ForwardModelInputError with the first issue. `source` (the file name) prefixes it. */
export function validateForwardModel(value: unknown, source?: string): ForwardModelSpec {
  const { spec, issues } = checkForwardModel(value);
  if (issues.length) throw new ForwardModelInputError(issueMessage(issues[0]!, source));
  return spec!;
}

/**
 * Reads a parsed M.json that may hold values out of range (the editor opens it and shows them at their fields):
 * a ForwardModelInputError only when it is not a ForwardModelSpec at all (the first structural issue).
 */
export function readForwardModel(value: unknown, source?: string): ForwardModelSpec {
  const { spec, issues } = checkForwardModel(value);
  const first = issues.find((x) => x.structural);
  if (first || !spec) throw new ForwardModelInputError(issueMessage(first ?? issues[0]!, source));
  return spec;
}

function parseJson(text: string, source?: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ForwardModelInputError(`${source ?? 'model'}: not valid JSON (${(e as Error).message})`);
  }
}

/** Parses and validates M.json text (validateForwardModel). */
export function parseForwardModel(text: string, source?: string): ForwardModelSpec {
  return validateForwardModel(parseJson(text, source), source);
}

/** Parses M.json text for the editor (readForwardModel: values out of range are kept). */
export function readModelText(text: string, source?: string): ForwardModelSpec {
  return readForwardModel(parseJson(text, source), source);
}

/** M.json text, 2-space indented: exactly the spec, nothing added. */
export function toModelJson(spec: ForwardModelSpec): string {
  return JSON.stringify(spec, null, 2) + '\n';
}

/** Input and output shape of every stage (a lens maps its input, the source grid, onto its imageShape). */
export function stageShapes(spec: ForwardModelSpec): { inShape: Shape2; outShape: Shape2 }[] {
  let cur: Shape2 = [spec.shape[0], spec.shape[1]];
  return spec.operators.map((s) => {
    const inShape = cur;
    const outShape: Shape2 = s.type === 'lens' ? [s.imageShape[0], s.imageShape[1]] : inShape;
    cur = outShape;
    return { inShape, outShape };
  });
}

/** The data shape of a model (the last stage's output; the unknown's shape for no stage). */
export function outputShape(spec: ForwardModelSpec): Shape2 {
  const s = stageShapes(spec);
  return s.length ? s[s.length - 1]!.outShape : [spec.shape[0], spec.shape[1]];
}

/** The issue when the model's output is not the observation's shape, else null. */
export function outputShapeIssue(spec: ForwardModelSpec, dataShape: Shape2): ForwardModelIssue | null {
  const out = outputShape(spec);
  if (out[0] === dataShape[0] && out[1] === dataShape[1]) return null;
  return { path: 'shape', stage: '', message: `the forward model's output is [${out.join(', ')}] but the observation is [${dataShape.join(', ')}] ([ny, nx])`, structural: false };
}

/** Files the model names (PSF and mask images, station tables in stage order, then the additive image), each once; blank names skipped. */
export function referencedFiles(spec: ForwardModelSpec): string[] {
  const out: string[] = [];
  const add = (f: string) => {
    if (f.trim() !== '' && !out.includes(f)) out.push(f);
  };
  for (const s of spec.operators) {
    if (isFitsPsf(s) || s.type === 'mask') add(s.fits);
    if (s.type === 'uv-sampling') add(s.array);
  }
  if (spec.additive) add(spec.additive.fits);
  return out;
}

export const isFitsPsf = (s: StageSpec): s is FitsPsfStage => s.type === 'psf' && 'fits' in s;

/** Whether a PSF image is normalised to unit sum (the default). */
export const psfNormalized = (s: FitsPsfStage): boolean => s.normalize !== false;

/** Sub-pixels per side of a lens stage (default 1). */
export const lensSupersample = (s: LensStage): number => s.supersample ?? 1;

/**
 * All parameters of a lens stage with the defaults applied (the shear components folded in); `gamma`, the slope,
 * only for an EPL (its absence is the SIE's slope 2).
 */
export function lensParams(s: LensStage): { model: LensModel; thetaE: number; q: number; phi: number; x0: number; y0: number; gamma1: number; gamma2: number; gamma?: number } {
  const L = s.lens;
  return {
    ...(L.model === 'EPL' && L.gamma !== undefined && { gamma: L.gamma }),
    model: L.model ?? 'SIE',
    thetaE: L.thetaE,
    q: L.q ?? 1,
    phi: L.phi ?? 0,
    x0: L.x0 ?? 0,
    y0: L.y0 ?? 0,
    gamma1: s.shear?.gamma1 ?? 0,
    gamma2: s.shear?.gamma2 ?? 0,
  };
}

/**
 * A new stage for an unknown of `shape`, with typical values (the lens keeps the image grid 1.5× the source);
 * the file of a mask or a station table is still to be chosen (a blank name).
 */
export function defaultStage(type: OperatorType, shape: Shape2): StageSpec {
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
