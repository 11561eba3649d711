/**
 * The project file: one JSON document that reopens the same data, forward model, noise, prior, sampler and lens-fit
 * settings (seed included), so that Run reproduces the run. Files are referenced by name and SHA-256 and, up to
 * a size limit, embedded (base64) so that the project opens anywhere; a file that is not embedded is asked for
 * on opening and must match its hash.
 */
import { samplerSettings, type SamplerSettings } from '../../../src-shared/protocol/index';
import { readForwardModel, type ForwardModelSpec } from '../../../src-shared/operators/forward-model-spec';
import { NOISE_MODES, type NoiseSettings, type LensFitNoise, type FileMeta, type Region } from '../store/model';
import { UserInputError } from '../../../src-shared/errors';
import { DEFAULT_LENS_FIT_FORM, type LensFitForm } from '../lensing/state';
import { LENS_FIT_MASS_PROFILES, LENS_FIT_REGULARISATIONS } from '../../../src-shared/protocol/lensing';

export const PROJECT_FORMAT = 'skyscore-project';
export const PROJECT_VERSION = 1;
/** Files up to this total size are embedded in the project. */
export const EMBED_LIMIT_BYTES = 64 * 1024 * 1024;

export class ProjectInputError extends UserInputError {
  override name = 'ProjectInputError';
}

export interface ProjectFileRef {
  name: string;
  sha256: string;
  size: number;
  /** base64 of the bytes, or null when too large to embed. */
  embedded: string | null;
}

export interface ProjectDoc {
  format: typeof PROJECT_FORMAT;
  version: typeof PROJECT_VERSION;
  savedAt: string;
  skyscore: string | null;
  data: (ProjectFileRef & { hdu: number; plane: number }) | null;
  model: ForwardModelSpec;
  files: (ProjectFileRef & { role: FileMeta['role'] })[];
  noise: NoiseSettings;
  prior: { spec: string; name: string } | null;
  settings: SamplerSettings;
  /** What the last run gave (for the record; not needed to reproduce it). */
  lastRun: Record<string, number | string> | null;
  /** The lens fit's form (its settings and noise choices); absent in projects saved before it: the defaults. */
  lensFit?: LensFitForm;
}

export function toBase64(bytes: Uint8Array): string {
  let s = '';
  const CH = 0x8000;
  for (let i = 0; i < bytes.length; i += CH) s += String.fromCharCode(...bytes.subarray(i, i + CH));
  return btoa(s);
}

export function fromBase64(b64: string): Uint8Array {
  let bin: string;
  try {
    bin = atob(b64);
  } catch {
    throw new ProjectInputError('an embedded file is not valid base64');
  }
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export interface ProjectInput {
  skyscore: string | null;
  data: { name: string; sha256: string; bytes: Uint8Array; hdu: number; plane: number } | null;
  model: ForwardModelSpec;
  files: { meta: FileMeta; bytes: Uint8Array }[];
  noise: NoiseSettings;
  prior: { spec: string; name: string } | null;
  settings: SamplerSettings;
  lastRun: Record<string, number | string> | null;
  lensFit?: LensFitForm;
  now?: Date;
}

/** Builds the project document; embeds files (observation first) while the total stays within the limit. */
export function buildProject(p: ProjectInput, embedLimit = EMBED_LIMIT_BYTES): ProjectDoc {
  let budget = embedLimit;
  const embed = (bytes: Uint8Array): string | null => {
    if (bytes.byteLength > budget) return null;
    budget -= bytes.byteLength;
    return toBase64(bytes);
  };
  return {
    format: PROJECT_FORMAT,
    version: PROJECT_VERSION,
    savedAt: (p.now ?? new Date()).toISOString(),
    skyscore: p.skyscore,
    data: p.data ? { name: p.data.name, sha256: p.data.sha256, size: p.data.bytes.byteLength, embedded: embed(p.data.bytes), hdu: p.data.hdu, plane: p.data.plane } : null,
    model: p.model,
    files: p.files.map((f) => ({ name: f.meta.name, sha256: f.meta.sha256, size: f.bytes.byteLength, role: f.meta.role, embedded: embed(f.bytes) })),
    noise: p.noise,
    prior: p.prior,
    settings: p.settings,
    lastRun: p.lastRun,
    ...(p.lensFit && { lensFit: p.lensFit }),
  };
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const need = (cond: boolean, msg: string) => {
  if (!cond) throw new ProjectInputError(msg);
};

/** A whitened lens fit's noise (NoiseSettings.lensFit; absent in projects saved before it). */
function lensFitNoise(v: unknown): LensFitNoise | null {
  if (v === undefined || v === null) return null;
  need(isObj(v), 'noise.lensFit: expected an object or null');
  const f = v as Record<string, unknown>;
  const num = (x: unknown) => typeof x === 'number' && Number.isFinite(x);
  const pair = (x: unknown) => isObj(x) && num(x.x) && num(x.y);
  need(typeof f.noiseImage === 'string' && typeof f.sigmaFile === 'string', 'noise.lensFit: expected the noiseImage and sigmaFile file names');
  need(pair(f.lag1) && pair(f.lag1Error), 'noise.lensFit: expected lag1 and lag1Error as {x, y}');
  need(num(f.varianceRatio) && num(f.largeScaleRatio) && num(f.skyPixels) && typeof f.source === 'string', 'noise.lensFit: expected varianceRatio, largeScaleRatio, skyPixels and source');
  const w = f.white as Record<string, unknown>;
  need(isObj(w) && (w.mode === 'sigma' || w.mode === 'mad' || w.mode === 'map'), 'noise.lensFit.white.mode: expected sigma, mad or map');
  need((w.sigma === null || num(w.sigma)) && (w.mapFile === null || typeof w.mapFile === 'string') && Number.isInteger(w.mapHdu), 'noise.lensFit.white: expected sigma, mapFile and mapHdu');
  return f as unknown as LensFitNoise;
}

/** The fields of the lens fit's form that take one of a few words. */
const LENS_FIT_CHOICES: Partial<Record<keyof LensFitForm, readonly unknown[]>> = {
  mask: ['default', 'model', 'annulus', 'all'],
  noiseSource: ['step', 'obs-sigma', 'obs-weights', 'file-weights', 'estimate'],
  sky: ['none', 'fit', 'level'],
  weightType: ['ivm', 'exp'],
  poisson: ['auto', 'none'],
  noiseCorrelation: ['auto', 'none'],
  regularisation: LENS_FIT_REGULARISATIONS,
  mass: LENS_FIT_MASS_PROFILES,
  light: ['auto', 0, 1, 2],
  lightCore: [0, 1, 2, 3, 4],
};
/** Fields that may be null (the default: from the data, automatic). */
const LENS_FIT_NULLABLE: (keyof LensFitForm)[] = ['sourceScale', 'noiseHdu', 'noiseFile', 'pixelScale', 'exposureTime', 'noiseRegion', 'skyLevel'];

/**
 * The lens fit's form as saved (absent: the defaults; a field missing from an older project: its default). Each
 * field is checked against its default's type and the choices it takes; the job's own checks still apply at Fit.
 */
function lensFitForm(v: unknown): LensFitForm {
  if (v === undefined || v === null) return { ...DEFAULT_LENS_FIT_FORM };
  need(isObj(v), 'lensFit: expected an object');
  const f = v as Record<string, unknown>;
  const out: Record<string, unknown> = { ...DEFAULT_LENS_FIT_FORM };
  for (const key of Object.keys(DEFAULT_LENS_FIT_FORM) as (keyof LensFitForm)[]) {
    const x = f[key];
    if (x === undefined) continue;
    const def = DEFAULT_LENS_FIT_FORM[key];
    const choices = LENS_FIT_CHOICES[key];
    if (choices) need(choices.includes(x), `lensFit.${key}: expected one of ${choices.join(', ')}`);
    else if (x === null) need(LENS_FIT_NULLABLE.includes(key), `lensFit.${key}: expected a value, not null`);
    else if (key === 'noiseFile') need(typeof x === 'string' && x.length > 0, 'lensFit.noiseFile: expected a file name or null');
    else if (key === 'noiseRegion') {
      need(isObj(x), 'lensFit.noiseRegion: expected a box {x0, y0, x1, y1} or null');
      const r = x as Record<string, unknown>;
      for (const k of ['x0', 'y0', 'x1', 'y1']) need(Number.isInteger(r[k]) && (r[k] as number) >= 0, `lensFit.noiseRegion.${k}: expected a pixel index`);
      need((r.x1 as number) > (r.x0 as number) && (r.y1 as number) > (r.y0 as number), 'lensFit.noiseRegion: expected x1 > x0 and y1 > y0');
      out[key] = { x0: r.x0, y0: r.y0, x1: r.x1, y1: r.y1 };
      continue;
    } else if (key === 'skyLevel') need(typeof x === 'number' && Number.isFinite(x), 'lensFit.skyLevel: expected a number (data units) or null');
    else if (typeof def === 'boolean') need(typeof x === 'boolean', `lensFit.${key}: expected true or false`);
    else need(typeof x === 'number' && Number.isFinite(x) && (key === 'r1' ? x >= 0 : x > 0), `lensFit.${key}: expected a ${key === 'r1' ? 'non-negative' : 'positive'} number${LENS_FIT_NULLABLE.includes(key) ? ' or null' : ''}`);
    out[key] = x;
  }
  return out as unknown as LensFitForm;
}

const finiteOrNull = (v: unknown) => v === null || (typeof v === 'number' && Number.isFinite(v));
const SHA = /^[0-9a-f]{64}$/;
const ROLES = ['psf', 'mask', 'sigma', 'array', 'noise', 'additive'];

function fileRef(v: unknown, path: string): ProjectFileRef {
  need(isObj(v), `${path}: expected an object`);
  const r = v as Record<string, unknown>;
  need(typeof r.name === 'string' && r.name.length > 0 && r.name.length <= 255, `${path}.name: expected a file name`);
  need(typeof r.sha256 === 'string' && SHA.test(r.sha256), `${path}.sha256: expected a SHA-256 hex digest`);
  need(typeof r.size === 'number' && Number.isInteger(r.size) && r.size >= 0, `${path}.size: expected a byte count`);
  need(r.embedded === null || typeof r.embedded === 'string', `${path}.embedded: expected base64 text or null`);
  return { name: r.name as string, sha256: r.sha256 as string, size: r.size as number, embedded: r.embedded as string | null };
}

/** Reads and checks a project file's text; every problem is a ProjectInputError naming the field. */
export function parseProject(text: string): ProjectDoc {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new ProjectInputError(`not a SkyScore project: the file is not JSON (${(e as Error).message})`);
  }
  need(isObj(v), 'not a SkyScore project: expected a JSON object');
  const r = v as Record<string, unknown>;
  need(r.format === PROJECT_FORMAT, `not a SkyScore project: "format" is ${JSON.stringify(r.format)}, expected "${PROJECT_FORMAT}"`);
  need(r.version === PROJECT_VERSION, `project version ${JSON.stringify(r.version)} is not supported by this SkyScore (version ${PROJECT_VERSION})`);
  let data: ProjectDoc['data'] = null;
  if (r.data !== null) {
    const d = r.data as Record<string, unknown>;
    const ref = fileRef(d, 'data');
    need(Number.isInteger(d.hdu) && (d.hdu as number) >= 0, 'data.hdu: expected an integer ≥ 0');
    need(Number.isInteger(d.plane) && (d.plane as number) >= 0, 'data.plane: expected an integer ≥ 0');
    data = { ...ref, hdu: d.hdu as number, plane: d.plane as number };
  }
  let model: ForwardModelSpec;
  try {
    model = readForwardModel(r.model, 'M.json');
  } catch (e) {
    throw new ProjectInputError(`model: ${(e as Error).message}`);
  }
  need(Array.isArray(r.files), 'files: expected an array');
  const files = (r.files as unknown[]).map((f, i) => {
    const ref = fileRef(f, `files[${i}]`);
    const role = (f as Record<string, unknown>).role;
    need(typeof role === 'string' && ROLES.includes(role), `files[${i}].role: expected one of ${ROLES.join(', ')}`);
    return { ...ref, role: role as FileMeta['role'] };
  });
  need(isObj(r.noise), 'noise: expected an object');
  const n = r.noise as Record<string, unknown>;
  need(typeof n.mode === 'string' && (NOISE_MODES as readonly string[]).includes(n.mode), `noise.mode: expected one of ${NOISE_MODES.join(', ')}`);
  need(finiteOrNull(n.sigma) && (n.sigma === null || (n.sigma as number) > 0), 'noise.sigma: expected a positive number or null');
  need(n.mapFile === null || typeof n.mapFile === 'string', 'noise.mapFile: expected a file name or null');
  const region = (key: string): Region | null => {
    const v = n[key];
    if (v === undefined || v === null) return null;
    need(isObj(v), `noise.${key}: expected a region or null`);
    const r = v as Record<string, unknown>;
    for (const k of ['x0', 'y0', 'x1', 'y1']) need(Number.isInteger(r[k]) && (r[k] as number) >= 0, `noise.${key}.${k}: expected a pixel index`);
    need((r.x1 as number) > (r.x0 as number) && (r.y1 as number) > (r.y0 as number), `noise.${key}: expected x1 > x0 and y1 > y0`);
    return { x0: r.x0 as number, y0: r.y0 as number, x1: r.x1 as number, y1: r.y1 as number };
  };
  // the fields of the correlated and Poisson–Gaussian models (absent in projects saved before them)
  const positive = (key: string, unit: string): number | null => {
    const v = n[key];
    if (v === undefined || v === null) return null;
    need(typeof v === 'number' && Number.isFinite(v) && v > 0, `noise.${key}: expected a positive number (${unit}) or null`);
    return v as number;
  };
  need(n.corrSource === undefined || n.corrSource === 'region' || n.corrSource === 'image', 'noise.corrSource: expected region or image');
  need(n.noiseImage === undefined || n.noiseImage === null || typeof n.noiseImage === 'string', 'noise.noiseImage: expected a file name or null');
  need(n.sky === undefined || n.sky === null || (typeof n.sky === 'number' && Number.isFinite(n.sky)), 'noise.sky: expected a number (ADU) or null');
  need(n.noisePrior === undefined || n.noisePrior === null || typeof n.noisePrior === 'string', 'noise.noisePrior: expected a noise prior id or null');
  need(n.learnedSpectrum === undefined || typeof n.learnedSpectrum === 'boolean', 'noise.learnedSpectrum: expected true or false');
  need(n.corrSigmaFile === undefined || n.corrSigmaFile === null || typeof n.corrSigmaFile === 'string', 'noise.corrSigmaFile: expected a file name or null');
  const lensFit = lensFitNoise(n.lensFit);
  const noise: NoiseSettings = {
    mode: n.mode as NoiseSettings['mode'],
    sigma: (n.sigma as number | null) ?? null,
    region: region('region'),
    estimatedFrom: typeof n.estimatedFrom === 'number' ? n.estimatedFrom : null,
    mapFile: (n.mapFile as string | null) ?? null,
    mapHdu: Number.isInteger(n.mapHdu) ? (n.mapHdu as number) : 0,
    corrSource: n.corrSource === 'image' ? 'image' : 'region',
    corrRegion: region('corrRegion'),
    noiseImage: (n.noiseImage as string | null | undefined) ?? null,
    gain: positive('gain', 'e⁻/ADU'),
    readNoise: positive('readNoise', 'e⁻'),
    sky: (n.sky as number | null | undefined) ?? null,
    noisePrior: (n.noisePrior as string | null | undefined) ?? null,
    learnedSpectrum: n.learnedSpectrum === true,
    corrSigmaFile: (n.corrSigmaFile as string | null | undefined) ?? null,
    lensFit,
  };
  let prior: ProjectDoc['prior'] = null;
  if (r.prior !== null) {
    need(isObj(r.prior) && typeof (r.prior as Record<string, unknown>).spec === 'string', 'prior: expected {spec, name} or null');
    const p = r.prior as Record<string, unknown>;
    prior = { spec: p.spec as string, name: typeof p.name === 'string' ? p.name : (p.spec as string) };
  }
  need(isObj(r.settings), 'settings: expected an object');
  let settings: SamplerSettings;
  try {
    // the protocol's own validator: a project opens exactly when its settings would start a run
    const given = r.settings as Record<string, unknown>;
    settings = samplerSettings({ ...given, fluxScale: given.fluxScale ?? null }, 'settings');
  } catch (e) {
    throw new ProjectInputError((e as Error).message);
  }
  return {
    format: PROJECT_FORMAT,
    version: PROJECT_VERSION,
    savedAt: typeof r.savedAt === 'string' ? r.savedAt : '',
    skyscore: typeof r.skyscore === 'string' ? r.skyscore : null,
    data,
    model,
    files,
    noise,
    prior,
    settings,
    lastRun: isObj(r.lastRun) ? (r.lastRun as Record<string, number | string>) : null,
    lensFit: lensFitForm(r.lensFit),
  };
}
