/**
 * Prior training as an engine job: the user's cube or images, trained by the same run as `skyscore train`
 * (src-main/train/run.ts) into the user's prior folder, with checkpoints: Stop keeps the last one (written as it
 * stops) and Resume continues from it with the same step counter and optimiser state.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { BackendInfo, TrainParams, TrainProgress } from '../../src-shared/protocol/index.js';
import { DEFAULT_ARCH } from '../../src-shared/diffusion/nn/unet.js';
import { runTraining as runTrainingCore, type TrainOptions } from '../train/run.js';
import type { JobReporter } from './jobs.js';
import { CancelledError } from './cancel.js';
import { JobInputError } from './forward-model-requests.js';
import { checkTrainingBatch } from './limits.js';

export interface PreparedTraining {
  options: TrainOptions;
}

async function prepare(p: TrainParams, out: string, backend: BackendInfo): Promise<PreparedTraining> {
  checkTrainingBatch(p.batch, p.size);
  const ckpt = existsSync(path.join(out, 'checkpoint.bin'));
  const model = existsSync(path.join(out, 'model.json'));
  if (p.resume && !ckpt) throw new JobInputError(`there is no training of "${p.name}" to resume (no checkpoint in ${out})`);
  if (!p.resume && (ckpt || model)) throw new JobInputError(`a prior named "${p.name}" already exists (${out}): choose another name, or Resume to continue its training`);
  const options: TrainOptions = {
    data: p.data.map((f) => ({ name: f.name, bytes: f.bytes })),
    dataSource: p.data.length === 1 ? p.data[0]!.name : `${p.data.length} files (${p.data[0]!.name}, …)`,
    out,
    resume: p.resume,
    size: p.size,
    steps: p.steps,
    batch: p.batch,
    lr: 2e-4,
    // the CLI's warm-up (1000 steps) would leave a short run at a tiny learning rate
    warmup: Math.min(1000, Math.max(1, Math.round(p.steps / 10))),
    // warm-up–stable–decay: the rate falls linearly towards 0 over the last 10 % of the steps, so that the prior
    // the app writes at the end is the one at the end of a decay (docs/training.md, `train --cooldown`)
    cooldown: Math.round(p.steps / 10),
    sigmaFocus: null,
    ema: 0.999,
    gradClip: 1,
    sigmaMin: null,
    sigmaMax: null,
    scale: p.scale,
    offset: 0,
    split: undefined,
    valFraction: 0.1,
    valSize: 256,
    arch: { ...DEFAULT_ARCH, nf: p.nf },
    augment: true,
    seed: 0,
    backend: backend.backend,
    workers: null,
    microBatch: 8,
    weightsDtype: 'float32',
    logEvery: p.steps <= 200 ? 1 : 5,
    checkpointEvery: 100,
    valEvery: Math.max(10, Math.min(500, Math.round(p.steps / 10))),
    explicit: new Set<string>(),
  };
  return { options };
}

async function run(prepared: PreparedTraining, r: JobReporter<TrainProgress>): Promise<Record<string, number | string>> {
  const res = await runTrainingCore(prepared.options, {
    onLog: (e) => r.progress({ step: e.step, steps: e.steps, loss: e.loss, valLoss: e.valLoss, imagesPerS: e.imagesPerS, elapsedS: e.elapsedS, etaS: e.etaS }),
    shouldStop: () => r.signal.aborted,
  });
  if (res.stopped) throw new CancelledError('training stopped; the checkpoint is kept');
  return {
    steps: res.meta.steps,
    imagesSeen: res.meta.imagesSeen,
    validationLoss: res.meta.validationLoss ?? 'n/a',
    backend: res.backend,
    workers: res.workers,
    out: prepared.options.out,
  };
}

export const runTraining = { prepare, run };
