import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Command } from '../command.js';
import { parse, numberFlag, optionalString, requireString } from '../args.js';
import { UsageError } from '../errors.js';
import { checkOutputFolder, readInputFile } from '../../io.js';
import { runTraining, type InitModel, type TrainOptions } from '../../train/run.js';
import { readPriorMeta } from '../../prior-folder.js';
import { DEFAULT_ARCH, type UnetArch } from '../../../src-shared/diffusion/nn/unet.js';
import { isBackendName } from '../../engine/backend.js';
import type { SigmaFocus } from '../../../src-shared/diffusion/train/data.js';

const usage = `usage: skyscore train --data CUBE.fits|DIR --out models/NAME [options]
       skyscore train --kind noise --data NOISE.fits|DIR --out models/NAME [options]

Trains a score-based prior (noise-conditional U-Net, VE SDE) by denoising score matching.
The model folder gets model.json + weights.bin (EMA weights, rewritten at every checkpoint), checkpoint.bin
(to --resume) and train-log.jsonl. The model card README.md is yours to write.

With --kind noise it learns the density of the data's noise instead (a learned noise prior, for
reconstruct --noise-model learned --noise-prior DIR): --data is a noise-only image or blank-sky cutouts (FITS, in
the data's units, any sizes; NaN pixels are never used), from which --patches random --patch × --patch patches
are cut; the noise is normalised to unit variance ((n − mean)/std, recorded in model.json with the noise's σ,
kurtosis and neighbour correlation under noisePrior), never flipped or rotated, and σ runs from 0.1 to 10
noise σ by default (--scale/--offset in data units, --sigma-min/--sigma-max in noise σ). A small network is enough:
--nf 16 --ch-mult 1 --res-blocks 1 --no-attention --steps 1200 --warmup 100 --batch 16 --lr 1e-3 --ema 0.99
(43 k parameters, 173 KB; about 5 minutes on two CPU cores). docs/training.md, A learned noise prior

data:
  --kind prior|noise   an image prior (default) or a learned noise prior
  --patch N            --kind noise: patch side in pixels (default 16)
  --patches N          --kind noise: training patches cut from the noise (default 4096; validation: a quarter as
                       many, from the last --val-fraction of the rows, or of the images when there are several)
  --data F|DIR         a FITS cube (NAXIS3 images) or 2-D image, or a folder of FITS files (.fits .fit .fts, .gz)
  --split COL|none     table column that labels images train/validation (default: SPLIT when present);
                       without one, --val-fraction of the images is held out at random
  --val-fraction F     default 0.1 (data without a split column)
  --val-size N         validation images used for the validation loss (default 256)
  --size N             resample the images to N×N by area (block) averaging
  --scale S            x_prior = (x − offset)/S (default: 255 for 8-bit data, else the largest |x − offset|;
                       --kind noise: the noise's standard deviation)
  --offset O           default 0 (--kind noise: the noise's mean)
  --no-augment         no random flips and 90° rotations
model:
  --init DIR           start from a model folder's weights (EMA) and architecture — a fine-tune on --data, with a
                       fresh optimiser and step counter; keeps the model's σ range (--nf, --ch-mult, --res-blocks,
                       --no-attention, --sigma-max, --sigma-min must agree with it if given); the prior units are
                       --data's (--scale): keep its images' brightness near the model's (model.json data.peakPrior)
  --nf N               base channels (default ${DEFAULT_ARCH.nf})
  --ch-mult A,B,C      channel multiplier per level (default ${DEFAULT_ARCH.chMult.join(',')})
  --res-blocks N       residual blocks per level (default ${DEFAULT_ARCH.numResBlocks})
  --no-attention       no self-attention at the coarsest level
  --sigma-max S        default: the largest distance between two training images (prior units)
  --sigma-min S        default 0.01
  --weights-dtype T    float32 (default) or float16
training:
  --steps N            total optimiser steps (default 20000; --resume continues to this total)
  --batch N            images per step (default 32; a --resume may change it for its segment, e.g. on a GPU:
                       validation keeps the run's first batch size)
  --lr X               Adam learning rate (default 2e-4), linear warm-up over --warmup steps (default 1000)
  --cooldown N         let the learning rate fall linearly towards 0 over the last N steps before --steps
                       (default 0: none; not pinned by the checkpoint, so a resumed run may end with one)
  --sigma-focus LO,HI,P  for this run or segment, draw σ log-uniform in [LO, HI] with probability P, else over
                       the whole range (default: none; not pinned; the validation loss keeps the whole range)
  --ema D              EMA decay of the weights (default 0.999, warmed up as min(D, (1+t)/(10+t)) at step t)
  --grad-clip X        global gradient-norm clip (default 1; 0: none)
  --seed N             default 0
  --resume             continue the run in --out from its checkpoint (same step counter, optimiser state)
  --checkpoint-every N default 100      --log-every N   default 10      --val-every N   default 500
compute:
  --backend B          tensorflow | webgpu | wasm | cpu (default: the best available)
  --workers N          worker threads, each with part of the batch (default: one per core, max 2; 1 on a GPU)
  --micro-batch N      largest sub-batch per forward/backward pass in a worker (default 8: bounded memory)
`;

const options = {
  kind: { type: 'string' },
  patch: { type: 'string' },
  patches: { type: 'string' },
  data: { type: 'string' },
  out: { type: 'string' },
  init: { type: 'string' },
  split: { type: 'string' },
  'val-fraction': { type: 'string' },
  'val-size': { type: 'string' },
  size: { type: 'string' },
  scale: { type: 'string' },
  offset: { type: 'string' },
  'no-augment': { type: 'boolean' },
  nf: { type: 'string' },
  'ch-mult': { type: 'string' },
  'res-blocks': { type: 'string' },
  'no-attention': { type: 'boolean' },
  'sigma-max': { type: 'string' },
  'sigma-min': { type: 'string' },
  'weights-dtype': { type: 'string' },
  steps: { type: 'string' },
  batch: { type: 'string' },
  lr: { type: 'string' },
  warmup: { type: 'string' },
  cooldown: { type: 'string' },
  'sigma-focus': { type: 'string' },
  ema: { type: 'string' },
  'grad-clip': { type: 'string' },
  seed: { type: 'string' },
  resume: { type: 'boolean' },
  'checkpoint-every': { type: 'string' },
  'log-every': { type: 'string' },
  'val-every': { type: 'string' },
  backend: { type: 'string' },
  workers: { type: 'string' },
  'micro-batch': { type: 'string' },
} as const;

const FITS_FILE = /\.(fits|fit|fts)(\.gz)?$/i;

async function readData(p: string): Promise<Array<{ name: string; bytes: Uint8Array }>> {
  let st;
  try {
    st = await fs.stat(p);
  } catch {
    throw new UsageError(`train: --data ${p}: no such file or folder`);
  }
  if (!st.isDirectory()) return [{ name: p, bytes: await readInputFile(p) }];
  const names = (await fs.readdir(p)).filter((n) => FITS_FILE.test(n)).sort();
  if (!names.length) throw new UsageError(`train: --data ${p}: the folder has no FITS files (.fits, .fit, .fts, optionally .gz)`);
  const out: Array<{ name: string; bytes: Uint8Array }> = [];
  for (const n of names) out.push({ name: path.join(p, n), bytes: await readInputFile(path.join(p, n)) });
  return out;
}

/** `--sigma-focus LO,HI,P`: 0 < LO < HI, 0 < P ≤ 1. */
export function parseSigmaFocus(raw: string | undefined): SigmaFocus | null {
  if (raw === undefined) return null;
  const v = raw.split(',').map((s) => Number(s.trim()));
  if (v.length !== 3 || !v.every(Number.isFinite) || !(v[0] > 0) || !(v[1] > v[0]) || !(v[2] > 0 && v[2] <= 1)) {
    throw new UsageError(`train: --sigma-focus must be LO,HI,P with 0 < LO < HI and 0 < P ≤ 1, got '${raw}'`);
  }
  return { lo: v[0], hi: v[1], p: v[2] };
}

function fmtTime(s: number | null): string {
  if (s === null || !Number.isFinite(s)) return '?';
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = Math.floor(s % 60);
  return h ? `${h}h${String(m).padStart(2, '0')}m` : m ? `${m}m${String(sec).padStart(2, '0')}s` : `${sec}s`;
}

export const trainCommand: Command = {
  name: 'train',
  summary: 'train a score-based prior (U-Net, denoising score matching) on FITS images',
  usage,
  async run(argv) {
    const p = parse(argv, options, 'train');
    if (p.positionals.length) throw new UsageError(`train: unexpected argument '${p.positionals[0]}'`);
    const C = 'train';
    const data = requireString(p, 'data', C);
    const out = requireString(p, 'out', C);
    const explicit = new Set(Object.keys(p.values).filter((k) => p.values[k] !== undefined));
    const chMultRaw = optionalString(p, 'ch-mult');
    let chMult = DEFAULT_ARCH.chMult;
    if (chMultRaw !== undefined) {
      chMult = chMultRaw.split(',').map((s) => Number(s.trim()));
      if (!chMult.length || chMult.some((m) => !Number.isInteger(m) || m < 1)) throw new UsageError(`train: --ch-mult must be positive integers separated by commas, got '${chMultRaw}'`);
    }
    const arch: UnetArch = {
      ...DEFAULT_ARCH,
      nf: numberFlag(p, 'nf', C, { default: DEFAULT_ARCH.nf, integer: true, min: 4 }),
      chMult,
      numResBlocks: numberFlag(p, 'res-blocks', C, { default: DEFAULT_ARCH.numResBlocks, integer: true, min: 1, max: 8 }),
      attention: !p.values['no-attention'],
    };
    if (arch.nf % 4 !== 0) throw new UsageError(`train: --nf must be a multiple of 4 (GroupNorm groups), got ${arch.nf}`);
    const backend = optionalString(p, 'backend') ?? 'auto';
    if (backend !== 'auto' && !isBackendName(backend)) throw new UsageError(`train: --backend must be tensorflow, webgpu, wasm or cpu, got '${backend}'`);
    const splitRaw = optionalString(p, 'split');
    const dtype = optionalString(p, 'weights-dtype') ?? 'float32';
    if (dtype !== 'float32' && dtype !== 'float16') throw new UsageError(`train: --weights-dtype must be float32 or float16, got '${dtype}'`);
    const optNum = (name: string, o: Parameters<typeof numberFlag>[3] = {}) => (p.values[name] === undefined ? null : numberFlag(p, name, C, o));
    // the run writes checkpoints, weights and model.json into --out (each file atomically; a stopped run resumes
    // from the folder as it is): the data it trains on must not be in it
    await checkOutputFolder(out, [data], C);
    const kind = optionalString(p, 'kind') ?? 'prior';
    if (kind !== 'prior' && kind !== 'noise') throw new UsageError(`train: --kind must be prior or noise, got '${kind}'`);
    if (kind === 'prior') {
      for (const f of ['patch', 'patches']) if (p.values[f] !== undefined) throw new UsageError(`train: --${f} is for --kind noise`);
    } else if (p.values.size !== undefined) throw new UsageError('train: --size is for image priors (--kind noise cuts --patch × --patch patches and never resamples the noise)');
    const initDir = optionalString(p, 'init');
    let init: InitModel | null = null;
    if (initDir !== undefined) {
      if (path.resolve(initDir) === path.resolve(out)) throw new UsageError(`train: --init ${initDir} is the output folder; write the fine-tuned model to another --out`);
      const meta = await readPriorMeta(initDir);
      init = { dir: initDir, meta, weights: await readInputFile(path.join(initDir, meta.weights.file)) };
    }
    const opts: TrainOptions = {
      kind,
      ...(kind === 'noise'
        ? { patch: numberFlag(p, 'patch', C, { default: 16, integer: true, min: 4, max: 256 }), patches: numberFlag(p, 'patches', C, { default: 4096, integer: true, min: 1, max: 1_000_000 }) }
        : {}),
      data: await readData(data),
      dataSource: data,
      out,
      resume: p.values.resume === true,
      size: optNum('size', { integer: true, min: 4 }),
      steps: numberFlag(p, 'steps', C, { default: 20000, integer: true, min: 1 }),
      batch: numberFlag(p, 'batch', C, { default: 32, integer: true, min: 1, max: 4096 }),
      lr: numberFlag(p, 'lr', C, { default: 2e-4, positive: true }),
      warmup: numberFlag(p, 'warmup', C, { default: 1000, integer: true, min: 0 }),
      cooldown: numberFlag(p, 'cooldown', C, { default: 0, integer: true, min: 0 }),
      sigmaFocus: parseSigmaFocus(optionalString(p, 'sigma-focus')),
      ema: numberFlag(p, 'ema', C, { default: 0.999, min: 0, max: 0.999999 }),
      gradClip: numberFlag(p, 'grad-clip', C, { default: 1, min: 0 }),
      sigmaMin: optNum('sigma-min', { positive: true }),
      sigmaMax: optNum('sigma-max', { positive: true }),
      scale: optNum('scale', { positive: true }),
      offset: numberFlag(p, 'offset', C, { default: 0 }),
      split: splitRaw === undefined ? undefined : splitRaw.toLowerCase() === 'none' ? null : splitRaw,
      valFraction: numberFlag(p, 'val-fraction', C, { default: 0.1, min: 0, max: 0.9 }),
      valSize: numberFlag(p, 'val-size', C, { default: 256, integer: true, min: 1 }),
      arch,
      // noise: never flipped or rotated (a flip or rotation changes the noise's correlations)
      augment: kind === 'noise' ? false : !p.values['no-augment'],
      seed: numberFlag(p, 'seed', C, { default: 0, integer: true, min: 0 }),
      backend: backend as TrainOptions['backend'],
      workers: optNum('workers', { integer: true, min: 1, max: 64 }),
      microBatch: numberFlag(p, 'micro-batch', C, { default: 8, integer: true, min: 1 }),
      weightsDtype: dtype,
      logEvery: numberFlag(p, 'log-every', C, { default: 10, integer: true, min: 0 }),
      checkpointEvery: numberFlag(p, 'checkpoint-every', C, { default: 100, integer: true, min: 0 }),
      valEvery: numberFlag(p, 'val-every', C, { default: 500, integer: true, min: 0 }),
      explicit,
      init,
    };
    let stop = false;
    const onSignal = () => {
      if (stop) process.exit(130);
      stop = true;
      process.stderr.write('train: stopping after this step (checkpoint written; --resume continues); press Ctrl-C again to abort\n');
    };
    process.on('SIGINT', onSignal);
    try {
      const r = await runTraining(opts, {
        onInfo: (m) => process.stderr.write(`train: ${m}\n`),
        onLog: (e) =>
          process.stderr.write(
            `train: step ${e.step}/${e.steps}  loss ${e.loss.toFixed(4)}${e.valLoss !== null ? `  val ${e.valLoss.toFixed(4)}` : ''}  lr ${e.lr.toExponential(1)}  ` +
              `${e.imagesPerS.toFixed(2)} img/s  elapsed ${fmtTime(e.elapsedS)}  ETA ${fmtTime(e.etaS)}\n`,
          ),
        shouldStop: () => stop,
      });
      process.stdout.write(
        `${out}: ${r.stopped ? 'stopped' : 'trained'} at step ${r.meta.steps} (${r.meta.imagesSeen} images), ` +
          `validation loss ${r.meta.validationLoss === null ? 'n/a' : r.meta.validationLoss.toFixed(4)}, backend ${r.backend} × ${r.workers}\n`,
      );
      return 0;
    } finally {
      process.off('SIGINT', onSignal);
    }
  },
};
