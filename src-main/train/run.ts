/**
 * A training run on the Node side (CLI `skyscore train`, and the app's training job): data from FITS bytes,
 * the model folder OUT with model.json + weights.bin (EMA weights, rewritten at every checkpoint),
 * OUT/checkpoint.bin (everything needed to resume: parameters, EMA, Adam moments, generator and data order)
 * and OUT/train-log.jsonl (one JSON line per progress entry).
 */
import { promises as fs, existsSync } from 'node:fs';
import path from 'node:path';
import { cpus } from 'node:os';
import { writeFileAtomic } from '../io.js';
import { SKYSCORE_VERSION } from '../version.js';
import { initBackend, probeBackends } from '../engine/backend.js';
import { writePriorFolder, type PriorMeta } from '../prior-folder.js';
import { decodeWeights, WeightsInputError } from '../../src-shared/diffusion/nn/weights.js';
import { WorkerPoolEngine } from './pool.js';
import { Rng } from '../../src-shared/diffusion/nn/rng.js';
import { downFactor, unetLayout, validateArch, type UnetArch } from '../../src-shared/diffusion/nn/unet.js';
import { encodeWeights, type WeightDtype } from '../../src-shared/diffusion/nn/weights.js';
import { imagesFromFits, prepareTrainingData, type PreparedData } from '../../src-shared/diffusion/train/fits-data.js';
import { TrainDataInputError, focusShare, largestPairwiseDistance, subset, type SigmaFocus } from '../../src-shared/diffusion/train/data.js';
import { decodeCheckpoint, encodeCheckpoint, CheckpointInputError, type TrainState } from '../../src-shared/diffusion/train/checkpoint.js';
import { LocalUnetEngine, type GradientEngine } from '../../src-shared/diffusion/train/engine.js';
import { initialState, trainLoop, type LogEntry, type TrainLoopConfig } from '../../src-shared/diffusion/train/trainer.js';
import { prepareNoisePatches, type PreparedNoise } from '../../src-shared/diffusion/train/noise-data.js';
import type { NoisePriorInfo } from '../../src-shared/diffusion/nn/prior-meta.js';
import { typicalBackgroundReference, typicalFluxReference } from '../../src-shared/diffusion/flux-reference.js';
import type { BackendName } from '../../src-shared/protocol/index.js';
import { UserInputError } from '../../src-shared/errors.js';

export class TrainInputError extends UserInputError {
  override name = 'TrainInputError';
}

export interface TrainOptions {
  /**
   * 'prior' (default): an image prior from whole images. 'noise': a learned noise prior from random `patch`×`patch`
   * patches of noise-only images or blank-sky cutouts (noise-data.ts), normalised to unit variance, no augmentation.
   */
  kind?: 'prior' | 'noise';
  /** kind 'noise': the patch side and the number of training patches. */
  patch?: number;
  patches?: number;
  /** The data files' bytes (one cube, or several images/cubes). */
  data: Array<{ name: string; bytes: Uint8Array }>;
  /** How the data was given (a path), for the provenance. */
  dataSource: string;
  out: string;
  resume: boolean;
  size: number | null;
  steps: number;
  batch: number;
  lr: number;
  warmup: number;
  /** Linear decay of the learning rate over the last `cooldown` steps before `steps` (0: none; not pinned). */
  cooldown: number;
  /** This segment's emphasis on part of the σ range (null: log-uniform over all of it; not pinned). */
  sigmaFocus: SigmaFocus | null;
  ema: number;
  gradClip: number;
  sigmaMin: number | null;
  sigmaMax: number | null;
  scale: number | null;
  offset: number;
  /** Split column: undefined = SPLIT if present, null = none. */
  split: string | null | undefined;
  valFraction: number;
  /** At most this many validation images are used for the validation loss. */
  valSize: number;
  arch: UnetArch;
  augment: boolean;
  seed: number;
  backend: BackendName | 'auto';
  /** Worker threads (null: one per core on CPU backends, 1 on a GPU). */
  workers: number | null;
  microBatch: number;
  weightsDtype: WeightDtype;
  logEvery: number;
  checkpointEvery: number;
  valEvery: number;
  /** Options given explicitly (checked against the checkpoint on --resume). */
  explicit: Set<string>;
  /** kind 'noise': the noise images' unit (their BUNIT), recorded in model.json. */
  noiseUnit?: string;
  /** Start from a model folder's weights and architecture (a fine-tune: fresh optimiser and step counter). */
  init?: InitModel | null;
}

/** A model folder to start from (`--init DIR`): its model.json and weight bytes. */
export interface InitModel {
  dir: string;
  meta: PriorMeta;
  weights: Uint8Array;
}

/** Options a fine-tune takes from the model it starts from: giving them with another value is an error. */
const INIT_ARCH_FLAGS = ['nf', 'ch-mult', 'res-blocks', 'no-attention'] as const;

/**
 * The initial parameters and pinned fields of a run started from a model (`--init`): the architecture and the
 * σ range are the model's (a network conditioned on σ over [σmin, σmax] is fine-tuned over the same range);
 * explicit options that contradict them are errors.
 */
export function paramsFromInit(init: InitModel, o: Pick<TrainOptions, 'explicit' | 'arch' | 'sigmaMin' | 'sigmaMax'>): { arch: UnetArch; params: Float32Array; sigmaMin: number; sigmaMax: number } {
  const m = init.meta;
  if (m.channels !== 1) throw new TrainInputError(`--init ${init.dir}: the model has ${m.channels} channels; training takes single-channel images`);
  const arch = m.arch as UnetArch;
  const conflicts: string[] = [];
  for (const flag of INIT_ARCH_FLAGS) {
    if (!o.explicit.has(flag)) continue;
    const given = flag === 'nf' ? o.arch.nf : flag === 'ch-mult' ? o.arch.chMult : flag === 'res-blocks' ? o.arch.numResBlocks : o.arch.attention;
    const stored = flag === 'nf' ? arch.nf : flag === 'ch-mult' ? arch.chMult : flag === 'res-blocks' ? arch.numResBlocks : arch.attention;
    if (!sameJson(given, stored)) conflicts.push(`--${flag} (the model has ${flag === 'no-attention' ? (arch.attention ? 'attention' : 'no attention') : JSON.stringify(stored)})`);
  }
  if (o.explicit.has('sigma-max') && o.sigmaMax !== m.sde.sigmaMax) conflicts.push(`--sigma-max ${o.sigmaMax} (the model's σmax is ${m.sde.sigmaMax})`);
  if (o.explicit.has('sigma-min') && o.sigmaMin !== m.sde.sigmaMin) conflicts.push(`--sigma-min ${o.sigmaMin} (the model's σmin is ${m.sde.sigmaMin})`);
  if (conflicts.length) throw new TrainInputError(`--init ${init.dir} keeps the model's architecture and σ range; these differ: ${conflicts.join('; ')}`);
  validateArch(arch);
  let params: Float32Array;
  try {
    params = decodeWeights(unetLayout(arch), m.weights.manifest, init.weights);
  } catch (e) {
    if (e instanceof WeightsInputError) throw new TrainInputError(`--init ${init.dir}: ${e.message}`);
    throw e;
  }
  return { arch, params, sigmaMin: m.sde.sigmaMin, sigmaMax: m.sde.sigmaMax };
}

export interface RunHooks {
  onLog?(e: LogEntry): void;
  onInfo?(msg: string): void;
  shouldStop?(): boolean;
}

export interface RunResult {
  meta: PriorMeta;
  stopped: boolean;
  backend: BackendName;
  workers: number;
}

/** The part of the configuration a checkpoint pins (resuming with other values would be a different run). */
interface PinnedConfig {
  arch: UnetArch;
  imageShape: [number, number];
  normalisation: { offset: number; scale: number };
  sigmaMin: number;
  sigmaMax: number;
  batch: number;
  lr: number;
  warmup: number;
  ema: number;
  gradClip: number;
  augment: boolean;
  seed: number;
  weightsDtype: WeightDtype;
  data: PreparedData['provenance'];
  normalisationRule: string;
  /** A noise prior's patches (absent for an image prior). */
  noise?: { patch: number; patches: number; valFraction: number; unit: string };
  /** The model the run started from (--init), null or absent for a run from random weights. */
  init?: { source: string; steps: number; imagesSeen: number; peakPrior: number | null; data: string | null } | null;
}

/** A noise prior's σ range in model units (the noise's own standard deviation is 1): σmin ≪ 1, σmax where Q ∗ N(0, σ²) is all but Gaussian. */
export const NOISE_SIGMA_MIN = 0.1;
export const NOISE_SIGMA_MAX = 10;

const CHECKPOINT = 'checkpoint.bin';
const PEAK_PRIOR_RULE = "median over the training images of their 99.5th percentile, prior units (reconstruct's automatic flux scale divides the data's by it)";
const BACKGROUND_PRIOR_RULE = "median over the training images of their sigma-clipped median (3 sigma, MAD), prior units (reconstruct's automatic scale maps the data's sky to it)";
const LOG = 'train-log.jsonl';

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

async function chooseWorkers(o: TrainOptions): Promise<{ workers: number; gpu: boolean }> {
  let gpu = o.backend === 'tensorflow' || o.backend === 'webgpu';
  if (o.backend === 'auto') {
    const probe = await probeBackends();
    gpu = probe.some((p) => (p.name === 'tensorflow' || p.name === 'webgpu') && p.available);
  }
  if (o.workers !== null) return { workers: o.workers, gpu };
  return { workers: gpu ? 1 : Math.max(1, Math.min(2, cpus().length)), gpu };
}

export async function runTraining(o: TrainOptions, hooks: RunHooks = {}): Promise<RunResult> {
  const info = hooks.onInfo ?? (() => {});
  const ckptFile = path.join(o.out, CHECKPOINT);
  const hasCkpt = existsSync(ckptFile);
  if (o.resume && !hasCkpt) throw new TrainInputError(`--resume: ${ckptFile} does not exist (nothing to resume)`);
  if (!o.resume && hasCkpt) throw new TrainInputError(`${o.out} already holds a training run (${CHECKPOINT}); use --resume to continue it or choose another --out`);
  if (!o.resume && existsSync(path.join(o.out, 'model.json'))) throw new TrainInputError(`${o.out} already holds a model (model.json); choose another --out`);
  if (o.resume && o.init) throw new TrainInputError(`--init starts a run from a model; --resume continues a run from its checkpoint (give one of them)`);
  validateArch(o.arch);

  // data
  let parts;
  try {
    parts = o.data.map((f) => imagesFromFits(f.bytes, f.name, o.split));
  } catch (e) {
    if (e instanceof UserInputError) throw new TrainInputError(e.message);
    throw e;
  }
  let prepared: PreparedData;
  let pinned: PinnedConfig;
  const noiseKind = o.kind === 'noise';
  let state: TrainState;
  const rng = new Rng(o.seed ^ 0x51a4);

  if (o.resume) {
    const bytes = await fs.readFile(ckptFile);
    let ck;
    try {
      ck = decodeCheckpoint(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), ckptFile);
    } catch (e) {
      if (e instanceof CheckpointInputError) throw new TrainInputError(e.message);
      throw e;
    }
    pinned = ck.config as unknown as PinnedConfig;
    const conflicts: string[] = [];
    const check = (flag: string, given: unknown, stored: unknown) => {
      if (o.explicit.has(flag) && !sameJson(given, stored)) conflicts.push(`--${flag} ${JSON.stringify(given)} (the run has ${JSON.stringify(stored)})`);
    };
    check('nf', o.arch.nf, pinned.arch.nf);
    check('ch-mult', o.arch.chMult, pinned.arch.chMult);
    check('res-blocks', o.arch.numResBlocks, pinned.arch.numResBlocks);
    check('lr', o.lr, pinned.lr);
    check('ema', o.ema, pinned.ema);
    check('seed', o.seed, pinned.seed);
    check('sigma-max', o.sigmaMax, pinned.sigmaMax);
    check('sigma-min', o.sigmaMin, pinned.sigmaMin);
    check('scale', o.scale, pinned.normalisation.scale);
    if (o.size !== null) check('size', o.size, pinned.imageShape[0]);
    if (conflicts.length) throw new TrainInputError(`--resume continues the run as it was started; these differ: ${conflicts.join('; ')}`);
    try {
      prepared = pinned.noise
        ? prepareNoisePatches(parts, { patch: pinned.noise.patch, patches: pinned.noise.patches, valFraction: pinned.noise.valFraction, seed: pinned.seed, scale: pinned.normalisation.scale, offset: pinned.normalisation.offset })
        : prepareTrainingData(parts, {
        size: pinned.data.resampled ? pinned.imageShape[0] : o.size,
        scale: pinned.normalisation.scale,
        offset: pinned.normalisation.offset,
        valFraction: o.valFraction,
        seed: pinned.seed,
      });
    } catch (e) {
      if (e instanceof TrainDataInputError) throw new TrainInputError(e.message);
      throw e;
    }
    if (prepared.train.ny !== pinned.imageShape[0] || prepared.train.nx !== pinned.imageShape[1] || prepared.train.n !== pinned.data.train) {
      throw new TrainInputError(
        `--resume: the data gives ${prepared.train.n} training images of ${prepared.train.ny}×${prepared.train.nx}, the run was started with ${pinned.data.train} of ${pinned.imageShape[0]}×${pinned.imageShape[1]}`,
      );
    }
    state = ck.state;
    if (state.params.length !== unetLayout(pinned.arch).size) throw new TrainInputError(`${ckptFile}: parameter count does not match its architecture`);
    info(`resuming ${o.out} at step ${state.step} (${state.imagesSeen} images seen)`);
  } else {
    try {
      prepared = noiseKind
        ? prepareNoisePatches(parts, { patch: o.patch ?? 16, patches: o.patches ?? 4096, valFraction: o.valFraction, seed: o.seed, scale: o.scale, offset: o.explicit.has('offset') ? o.offset : null })
        : prepareTrainingData(parts, { size: o.size, scale: o.scale, offset: o.offset, valFraction: o.valFraction, seed: o.seed });
    } catch (e) {
      if (e instanceof TrainDataInputError) throw new TrainInputError(e.message);
      throw e;
    }
    const { ny, nx } = prepared.train;
    const fromInit = o.init ? paramsFromInit(o.init, o) : null;
    const arch = fromInit?.arch ?? o.arch;
    const f = downFactor(arch);
    if (ny % f !== 0 || nx % f !== 0) throw new TrainInputError(`images of ${ny}×${nx} are not divisible by the U-Net's down-sampling factor ${f} (use --size or fewer levels in --ch-mult)`);
    const sigmaMax = fromInit?.sigmaMax ?? o.sigmaMax ?? (noiseKind ? NOISE_SIGMA_MAX : largestPairwiseDistance(prepared.train, rng, 1000));
    const sigmaMin = fromInit?.sigmaMin ?? o.sigmaMin ?? (noiseKind ? NOISE_SIGMA_MIN : 0.01);
    if (!(sigmaMax > sigmaMin)) throw new TrainInputError(`σmax (${sigmaMax}) must exceed σmin (${sigmaMin})`);
    if (o.init && fromInit) {
      const im = o.init.meta;
      const widest = largestPairwiseDistance(prepared.train, rng, 1000);
      if (widest > sigmaMax) info(`warning: the largest distance between two training images (${widest.toPrecision(4)}, prior units) exceeds the model's σmax ${sigmaMax.toPrecision(4)}: the highest noise levels do not cover the data (a smaller --scale keeps it inside)`);
      if (im.imageShape[0] !== ny || im.imageShape[1] !== nx) info(`warning: ${o.init.dir} was trained on ${im.imageShape[0]}×${im.imageShape[1]} images, these are ${ny}×${nx}`);
      const peakNew = typicalFluxReference(prepared.train.data, prepared.train.n, ny * nx);
      const peakOld = im.data.peakPrior ?? null;
      if (peakOld !== null && peakOld > 0 && peakNew > 0 && (peakNew / peakOld > 3 || peakOld / peakNew > 3)) {
        info(`warning: the training images' typical brightness (99.5th percentile ${peakNew.toPrecision(3)}, prior units) is ${(peakNew / peakOld).toPrecision(2)} × that of ${o.init.dir} (${peakOld.toPrecision(3)}): the fine-tune starts far from the model's units (--scale sets them)`);
      }
      info(`starting from ${o.init.dir} (its step ${im.steps}, ${im.imagesSeen} images) with a fresh optimiser and step counter; its architecture and σ range [${sigmaMin}, ${sigmaMax.toPrecision(4)}] are kept`);
    }
    pinned = {
      arch,
      imageShape: [ny, nx],
      normalisation: { offset: prepared.normalisation.offset, scale: prepared.normalisation.scale },
      normalisationRule: prepared.normalisation.rule,
      sigmaMin,
      sigmaMax,
      batch: o.batch,
      lr: o.lr,
      warmup: o.warmup,
      ema: o.ema,
      gradClip: o.gradClip,
      augment: o.augment,
      seed: o.seed,
      weightsDtype: o.weightsDtype,
      data: { ...prepared.provenance, source: o.dataSource },
      ...(noiseKind ? { noise: { patch: o.patch ?? 16, patches: o.patches ?? 4096, valFraction: o.valFraction, unit: o.noiseUnit ?? 'data units of the noise images' } } : {}),
      init: o.init ? { source: o.init.dir, steps: o.init.meta.steps, imagesSeen: o.init.meta.imagesSeen, peakPrior: o.init.meta.data.peakPrior ?? null, data: o.init.meta.data.source ?? null } : null,
    };
    const params = fromInit?.params ?? unetLayout(arch).initialise(o.seed);
    state = initialState(params, o.seed, prepared.train);
    info(
      `training a ${noiseKind ? 'noise prior, ' : ''}U-Net (nf ${arch.nf}, chMult [${arch.chMult.join(',')}], ${arch.numResBlocks} res blocks, ${unetLayout(arch).trainableSize().toLocaleString('en')} parameters) on ${prepared.train.n} images of ${ny}×${nx}` +
        `${prepared.val ? `, ${prepared.val.n} for validation` : ''}; σ ∈ [${sigmaMin}, ${sigmaMax.toPrecision(4)}]${fromInit ? " (the initial model's)" : o.sigmaMax === null ? (noiseKind ? ' (the noise prior’s default, in noise σ)' : ' (σmax: largest pairwise distance)') : ''}; x_prior = (x − ${pinned.normalisation.offset})/${pinned.normalisation.scale} (${prepared.normalisation.rule})`,
    );
  }
  for (const w of prepared.warnings) info(`warning: ${w}`);
  if (o.sigmaFocus) {
    const f = o.sigmaFocus;
    if (!(Math.min(f.hi, pinned.sigmaMax) > Math.max(f.lo, pinned.sigmaMin))) throw new TrainInputError(`--sigma-focus [${f.lo}, ${f.hi}] does not overlap the run's σ range [${pinned.sigmaMin}, ${pinned.sigmaMax}]`);
    info(`σ focus for this segment: log-uniform in [${f.lo}, ${f.hi}] with probability ${f.p}, else over the whole range (${(100 * focusShare(f, pinned.sigmaMin, pinned.sigmaMax)).toFixed(0)} % of draws in [${f.lo}, ${f.hi}]; validation unchanged)`);
  }
  // A resumed segment may take another batch (e.g. a larger one on a GPU); the validation batches keep the run's
  // original size, so the validation loss (fixed noise per batch) stays comparable across segments.
  const segmentBatch = o.resume && o.explicit.has('batch') ? o.batch : pinned.batch;
  if (segmentBatch !== pinned.batch) info(`this segment: batch ${segmentBatch} (the run started with ${pinned.batch}; validation keeps batches of ${pinned.batch})`);
  // the automatic flux scale's reference (recomputed from the same data on a resume, so not pinned)
  const noiseStats = (prepared as Partial<PreparedNoise>).statistics;
  if (pinned.noise && noiseStats) {
    const st = noiseStats;
    info(`noise: ${st.pixels} training pixels, mean ${st.mean.toPrecision(4)}, σ ${st.std.toPrecision(4)} (MAD σ ${st.madSigma.toPrecision(4)}), excess kurtosis ${st.excessKurtosis.toFixed(2)}, neighbour correlation ${st.lag1.x.toFixed(3)} (x) / ${st.lag1.y.toFixed(3)} (y); ${prepared.train.n} patches of ${pinned.noise.patch}×${pinned.noise.patch}`);
  }
  const noisePrior: NoisePriorInfo | undefined =
    pinned.noise && noiseStats ? { unit: pinned.noise.unit, patch: pinned.noise.patch, patches: pinned.noise.patches, statistics: noiseStats } : undefined;
  const peakPrior = typicalFluxReference(prepared.train.data, prepared.train.n, prepared.train.ny * prepared.train.nx);
  const backgroundPrior = typicalBackgroundReference(prepared.train.data, prepared.train.n, prepared.train.ny * prepared.train.nx);
  await fs.mkdir(o.out, { recursive: true });

  const val = prepared.val ? (prepared.val.n > o.valSize ? subset(prepared.val, Array.from({ length: o.valSize }, (_, i) => i)) : prepared.val) : null;

  // gradient engine
  const { workers } = await chooseWorkers(o);
  let engine: GradientEngine;
  let backend: BackendName;
  if (workers <= 1) {
    const bi = await initBackend(o.backend);
    backend = bi.backend;
    engine = new LocalUnetEngine(pinned.arch, state.params, pinned.imageShape, o.microBatch);
  } else {
    const pool = await WorkerPoolEngine.create({ workers, backend: o.backend, arch: pinned.arch, imageShape: pinned.imageShape, values: state.params, microBatch: o.microBatch });
    backend = pool.backend;
    engine = pool;
  }
  info(`backend ${backend}, ${workers} worker${workers > 1 ? 's' : ''} (batch ${segmentBatch} split between them, micro-batches of ≤ ${o.microBatch})`);

  const layout = unetLayout(pinned.arch);
  const makeMeta = (s: TrainState): { meta: PriorMeta; bytes: Uint8Array } => {
    const { manifest, bytes } = encodeWeights(layout, s.ema, pinned.weightsDtype);
    const meta: PriorMeta = {
      kind: 'unet',
      arch: pinned.arch,
      imageShape: pinned.imageShape,
      channels: 1,
      sde: { type: 've', sigmaMin: pinned.sigmaMin, sigmaMax: pinned.sigmaMax },
      normalisation: pinned.normalisation,
      data: { ...pinned.data, normalisationRule: pinned.normalisationRule, peakPrior, peakPriorRule: PEAK_PRIOR_RULE, backgroundPrior, backgroundPriorRule: BACKGROUND_PRIOR_RULE },
      steps: s.step,
      imagesSeen: s.imagesSeen,
      validationLoss: s.valLoss,
      trainingLoss: s.lastLoss,
      date: new Date().toISOString(),
      skyscoreVersion: SKYSCORE_VERSION,
      training: {
        objective: 'denoising score matching, λ(σ) = σ², σ log-uniform in [σmin, σmax]',
        ...(pinned.init ? { init: { ...pinned.init, rule: 'started from this model folder\'s weights (parameters and EMA) and architecture, with a fresh Adam optimiser and step counter' } } : {}),
        lossUnit: 'mean over pixels of (σ·s(x + σz, σ) + z)²',
        weights: 'exponential moving average',
        batch: segmentBatch,
        ...(segmentBatch !== pinned.batch ? { batchAtStart: pinned.batch } : {}),
        lr: pinned.lr,
        warmup: pinned.warmup,
        ...(o.sigmaFocus
          ? {
              sigmaFocus: {
                ...o.sigmaFocus,
                untilStep: o.steps,
                shareInRange: focusShare(o.sigmaFocus, pinned.sigmaMin, pinned.sigmaMax),
                rule: 'this segment drew σ log-uniform in [lo, hi] with probability p, else over [σmin, σmax] (train-log.jsonl: the steps)',
              },
            }
          : {}),
        ...(o.cooldown > 0 ? { cooldown: { steps: o.cooldown, endStep: o.steps, rule: 'linear decay of the learning rate towards 0 over the last steps (lr of every logged step in train-log.jsonl)' } } : {}),
        ema: pinned.ema,
        gradClip: pinned.gradClip,
        augment: pinned.augment ? 'random flips and 90° rotations' : 'none',
        seed: pinned.seed,
        backend,
        workers,
        trainingSeconds: Math.round(s.elapsedS),
      },
      weights: { file: 'weights.bin', dtype: pinned.weightsDtype, manifest },
      ...(noisePrior ? { noisePrior } : {}),
    };
    return { meta, bytes };
  };

  const loopCfg: TrainLoopConfig = {
    steps: o.steps,
    batch: segmentBatch,
    valBatch: pinned.batch,
    lr: pinned.lr,
    warmup: pinned.warmup,
    cooldown: o.cooldown,
    sigmaFocus: o.sigmaFocus,
    ema: pinned.ema,
    gradClip: pinned.gradClip,
    sigmaMin: pinned.sigmaMin,
    sigmaMax: pinned.sigmaMax,
    augment: pinned.augment,
    seed: pinned.seed,
    logEvery: o.logEvery,
    checkpointEvery: o.checkpointEvery,
    valEvery: o.valEvery,
  };
  if (state.step >= o.steps) info(`the run is already at step ${state.step} ≥ --steps ${o.steps}: nothing to do (raise --steps to continue)`);

  let last: PriorMeta | null = null;
  let final: TrainState;
  try {
    final = await trainLoop(loopCfg, { train: prepared.train, val, trainableMask: layout.trainableMask() }, engine, state, {
      onLog: async (e) => {
        hooks.onLog?.(e);
        const line = { ...e, time: new Date().toISOString() };
        await fs.appendFile(path.join(o.out, LOG), JSON.stringify(line) + '\n');
      },
      onCheckpoint: async (s) => {
        await writeFileAtomic(ckptFile, encodeCheckpoint(s, pinned as unknown as Record<string, unknown>));
        const { meta, bytes } = makeMeta(s);
        await writePriorFolder(o.out, meta, bytes);
        last = meta;
      },
      shouldStop: hooks.shouldStop,
    });
  } finally {
    await engine.dispose();
  }
  const meta = last ?? makeMeta(final).meta;
  return { meta, stopped: final.step < o.steps, backend, workers };
}
