/**
 * model.json of a model folder (docs/architecture.md, "Model folders"): its fields, their validation with clear messages,
 * and the pure construction of the U-Net score model from model.json + weights.bin bytes.
 */
import { ScoreModelInputError, UnetScoreModel, downFactor, unetLayout, validateArch, type UnetArch } from './unet.js';
import { decodeWeights, WeightsInputError, type WeightDtype, type WeightsManifest } from './weights.js';
import type { Invariance } from '../types.js';

export interface PriorMeta {
  kind: 'unet';
  arch: UnetArch;
  /** [ny, nx] of the training images. */
  imageShape: [number, number];
  channels: 1;
  sde: { type: 've'; sigmaMin: number; sigmaMax: number };
  /** x_prior = (x − offset)/scale. */
  normalisation: { offset: number; scale: number };
  /** Where the training data came from and how it was prepared. */
  data: {
    source: string;
    train: number;
    validation: number;
    split?: string | null;
    originalShape?: [number, number];
    resampled?: string | null;
    skippedNonFinite?: number;
    /** The training images' median 99.5th percentile, prior units (the automatic flux scale's reference; flux-reference.ts). */
    peakPrior?: number;
    /** The training images' median sky level (sigma-clipped median), prior units (the automatic scale's offset; flux-reference.ts). */
    backgroundPrior?: number;
    [k: string]: unknown;
  };
  steps: number;
  imagesSeen: number;
  validationLoss: number | null;
  trainingLoss?: number | null;
  date: string;
  skyscoreVersion: string;
  training?: Record<string, unknown>;
  weights: { file: string; dtype: WeightDtype; manifest: WeightsManifest };
  /**
   * Present when the folder is a learned noise prior (`skyscore train --kind noise`): the network's score is of the
   * noise n in model units n_model = (n − offset)/scale (normalisation: offset and scale in the data units of the
   * noise images), for `reconstruct --noise-model learned --noise-prior DIR`.
   */
  noisePrior?: NoisePriorInfo;
}

/** model.json's `noisePrior` block (docs/training.md, *A learned noise prior*). */
export interface NoisePriorInfo {
  /** What the normalisation's units are: the data units of the noise images (BUNIT when they had one). */
  unit: string;
  /** Side of the square training patches (pixels) and how many were cut. */
  patch: number;
  patches: number;
  /** The training noise's statistics in data units (noise-data.ts NoiseStatistics). */
  statistics: { pixels: number; mean: number; std: number; madSigma: number; excessKurtosis: number; lag1: { x: number; y: number } };
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function posInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v > 0;
}

/** Checks a parsed model.json; `where` names the file in messages. */
export function validatePriorMeta(json: unknown, where = 'model.json'): PriorMeta {
  const bad = (why: string): never => {
    throw new ScoreModelInputError(`${where}: ${why}`);
  };
  if (!isObj(json)) return bad('not a JSON object');
  if (json.kind !== 'unet') bad(`kind must be "unet", got ${JSON.stringify(json.kind)}`);
  const arch = json.arch;
  if (!isObj(arch)) return bad('missing "arch"');
  const a: UnetArch = {
    nf: arch.nf as number,
    chMult: arch.chMult as number[],
    numResBlocks: arch.numResBlocks as number,
    attention: arch.attention as boolean,
    embeddingDim: arch.embeddingDim as number,
    fourierScale: arch.fourierScale as number,
  };
  try {
    validateArch(a);
  } catch (e) {
    bad((e as Error).message);
  }
  const shape = json.imageShape;
  if (!Array.isArray(shape) || shape.length !== 2 || !shape.every(posInt)) return bad('imageShape must be [ny, nx] (positive integers)');
  const f = downFactor(a);
  if (shape[0] % f !== 0 || shape[1] % f !== 0) bad(`imageShape ${shape[0]}×${shape[1]} is not divisible by the down-sampling factor ${f}`);
  if (json.channels !== 1) bad(`channels must be 1, got ${JSON.stringify(json.channels)}`);
  const sde = json.sde;
  if (!isObj(sde) || sde.type !== 've') return bad('sde must be {"type": "ve", "sigmaMin", "sigmaMax"}');
  const smin = sde.sigmaMin;
  const smax = sde.sigmaMax;
  if (typeof smin !== 'number' || typeof smax !== 'number' || !(smin > 0) || !(smax > smin) || !Number.isFinite(smax)) {
    bad(`sde needs 0 < sigmaMin < sigmaMax, got ${String(smin)}, ${String(smax)}`);
  }
  const norm = json.normalisation;
  if (!isObj(norm) || typeof norm.offset !== 'number' || typeof norm.scale !== 'number' || !Number.isFinite(norm.offset) || !(norm.scale > 0) || !Number.isFinite(norm.scale)) {
    bad('normalisation must be {"offset": number, "scale": positive number}');
  }
  const w = json.weights;
  if (!isObj(w) || typeof w.file !== 'string' || !Array.isArray(w.manifest)) return bad('weights must be {"file", "dtype", "manifest"}');
  if (w.dtype !== 'float32' && w.dtype !== 'float16') bad(`weights.dtype must be float32 or float16, got ${JSON.stringify(w.dtype)}`);
  if (/[\\/]|^\.\.?$/.test(w.file)) bad(`weights.file must be a plain file name in the model folder, got ${JSON.stringify(w.file)}`);
  const data = isObj(json.data) ? json.data : {};
  if (json.noisePrior !== undefined) {
    const np = json.noisePrior;
    const st = isObj(np) ? np.statistics : undefined;
    if (!isObj(np) || !isObj(st) || typeof st.std !== 'number' || !(st.std > 0) || typeof st.mean !== 'number' || !Number.isFinite(st.mean)) {
      bad('noisePrior must be {"unit", "patch", "patches", "statistics": {"mean", "std" > 0, …}}');
    }
  }
  return {
    ...(json as unknown as PriorMeta),
    arch: a,
    imageShape: [shape[0], shape[1]],
    data: { source: String(data.source ?? 'unknown'), train: Number(data.train ?? 0), validation: Number(data.validation ?? 0), ...data },
    steps: Number(json.steps ?? 0),
    imagesSeen: Number(json.imagesSeen ?? 0),
    validationLoss: typeof json.validationLoss === 'number' ? json.validationLoss : null,
  };
}

/** The U-Net score model of a model folder, from its model.json (validated) and weights.bin bytes. */
export function createUnetFromWeights(meta: PriorMeta, weightBytes: Uint8Array): UnetScoreModel {
  const m = validatePriorMeta(meta);
  let values: Float32Array;
  try {
    values = decodeWeights(unetLayout(m.arch), m.weights.manifest, weightBytes);
  } catch (e) {
    if (e instanceof WeightsInputError) throw new ScoreModelInputError(`${m.weights.file}: ${e.message}`);
    throw e;
  }
  return new UnetScoreModel(m.arch, values, m.imageShape, invarianceOf(m));
}

/**
 * The symmetry the trainer's augmentation gave the model (model.json `training.augment`, written by
 * `skyscore train`): the 8 flips/rotations for square training images, the 4 flips for rectangular ones.
 */
export function invarianceOf(m: PriorMeta): Invariance | null {
  const aug = m.training?.augment;
  if (typeof aug !== 'string' || !/flips/.test(aug)) return null;
  return m.imageShape[0] === m.imageShape[1] ? 'dihedral' : 'flips';
}
