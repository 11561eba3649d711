/**
 * model.json of an ONNX prior (kind "onnx"): a score network from elsewhere (e.g. trained in PyTorch and written
 * by torch.onnx.export) that SkyScore samples with. The contract (docs/onnx-priors.md):
 *   the .onnx file  inputs  x [batch, 1, height, width] float32 (prior units) and sigma [batch] float32;
 *                   its first output (or `outputName`) [batch, 1, height, width] float32, meaning `output`:
 *                     "score"     s(x, σ) ≈ ∇x log p_σ(x)
 *                     "epsilon"   the noise ε̂ in x = x₀ + σ ε          (s = −ε̂/σ)
 *                     "denoised"  the clean image x̂₀ = E[x₀ | x]        (s = (x̂₀ − x)/σ²)
 *   model.json      kind, file, output, imageShape, channels 1, sde {type "ve", sigmaMin, sigmaMax},
 *                   normalisation {offset, scale} (x_prior = (x − offset)/scale); optional sizeMultiple (image
 *                   sides the network accepts are multiples of it: others are padded by reflection), invariance
 *                   ("dihedral" | "flips": the symmetries it was trained with), data {peakPrior, backgroundPrior,
 *                   source, …} (the automatic flux scale's references), name, description, license.
 * Validation only (pure): the Node side loads the file (src-main/onnx/).
 */
import type { Invariance } from '../types.js';
import { ScoreModelInputError } from './unet.js';

export const ONNX_OUTPUT_KINDS = ['score', 'epsilon', 'denoised'] as const;
export type OnnxOutputKind = (typeof ONNX_OUTPUT_KINDS)[number];

export interface OnnxPriorMeta {
  kind: 'onnx';
  /** The .onnx file, a plain name in the model folder. */
  file: string;
  output: OnnxOutputKind;
  /** Output to read when the file has several (default: the first). */
  outputName?: string;
  /** [ny, nx] of the training images. */
  imageShape: [number, number];
  channels: 1;
  sde: { type: 've'; sigmaMin: number; sigmaMax: number };
  normalisation: { offset: number; scale: number };
  /** Image sides must be multiples of this (other sizes are padded by reflection); default 1. */
  sizeMultiple: number;
  invariance: Invariance | null;
  data: { source?: string; peakPrior?: number; backgroundPrior?: number; [k: string]: unknown };
  name?: string;
  description?: string;
  license?: string;
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const posInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0;

/** Checks a parsed model.json of kind "onnx"; `where` names the file in messages. */
export function validateOnnxMeta(json: unknown, where = 'model.json'): OnnxPriorMeta {
  const bad = (why: string): never => {
    throw new ScoreModelInputError(`${where}: ${why}`);
  };
  if (!isObj(json)) return bad('not a JSON object');
  if (json.kind !== 'onnx') bad(`kind must be "onnx", got ${JSON.stringify(json.kind)}`);
  const file = json.file;
  if (typeof file !== 'string' || !/\.onnx$/i.test(file) || /[\\/]|^\.\.?$/.test(file)) bad(`file must be the plain name of a .onnx file in the model folder, got ${JSON.stringify(file)}`);
  const output = json.output;
  if (typeof output !== 'string' || !(ONNX_OUTPUT_KINDS as readonly string[]).includes(output)) bad(`output must be one of ${ONNX_OUTPUT_KINDS.join(', ')} (what the network returns), got ${JSON.stringify(output)}`);
  if (json.outputName !== undefined && typeof json.outputName !== 'string') bad('outputName must be a string');
  const shape = json.imageShape;
  if (!Array.isArray(shape) || shape.length !== 2 || !shape.every(posInt)) return bad('imageShape must be [ny, nx] (positive integers): the training images\' size');
  if (json.channels !== undefined && json.channels !== 1) bad(`channels must be 1, got ${JSON.stringify(json.channels)}`);
  const sde = json.sde;
  if (!isObj(sde) || sde.type !== 've') return bad('sde must be {"type": "ve", "sigmaMin", "sigmaMax"}');
  const smin = sde.sigmaMin;
  const smax = sde.sigmaMax;
  if (typeof smin !== 'number' || typeof smax !== 'number' || !(smin > 0) || !(smax > smin) || !Number.isFinite(smax)) bad(`sde needs 0 < sigmaMin < sigmaMax, got ${String(smin)}, ${String(smax)}`);
  const norm = json.normalisation;
  if (!isObj(norm) || typeof norm.offset !== 'number' || typeof norm.scale !== 'number' || !Number.isFinite(norm.offset) || !(norm.scale > 0) || !Number.isFinite(norm.scale)) {
    bad('normalisation must be {"offset": number, "scale": positive number} (x_prior = (x − offset)/scale)');
  }
  const mult = json.sizeMultiple ?? 1;
  if (!posInt(mult) || mult > 1024) bad(`sizeMultiple must be a positive integer, got ${JSON.stringify(json.sizeMultiple)}`);
  const [ny, nx] = shape as [number, number];
  if (ny % (mult as number) !== 0 || nx % (mult as number) !== 0) bad(`imageShape ${ny}×${nx} is not a multiple of sizeMultiple ${String(mult)}`);
  const inv = json.invariance ?? null;
  if (inv !== null && inv !== 'dihedral' && inv !== 'flips') bad(`invariance must be "dihedral", "flips" or null, got ${JSON.stringify(inv)}`);
  if (json.data !== undefined && !isObj(json.data)) bad('data must be an object');
  const data = (json.data ?? {}) as OnnxPriorMeta['data'];
  for (const k of ['peakPrior', 'backgroundPrior'] as const) {
    if (data[k] !== undefined && (typeof data[k] !== 'number' || !Number.isFinite(data[k]))) bad(`data.${k} must be a finite number`);
  }
  const text = (k: string): string | undefined => (typeof json[k] === 'string' ? (json[k] as string) : undefined);
  return {
    kind: 'onnx',
    file: file as string,
    output: output as OnnxOutputKind,
    outputName: json.outputName as string | undefined,
    imageShape: [ny, nx],
    channels: 1,
    sde: { type: 've', sigmaMin: smin as number, sigmaMax: smax as number },
    normalisation: { offset: (norm as { offset: number }).offset, scale: (norm as { scale: number }).scale },
    sizeMultiple: mult as number,
    invariance: inv as Invariance | null,
    data,
    name: text('name'),
    description: text('description'),
    license: text('license'),
  };
}
