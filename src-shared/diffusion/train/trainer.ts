/**
 * The denoising-score-matching training loop, independent of where gradients are computed (this thread or a
 * pool of workers) and of files (the host persists checkpoints and logs through hooks).
 *
 * One step: a batch (random images, a random flip/rotation each, unit noise z, σ log-uniform in [σmin, σmax] or
 * under a SigmaFocus);
 * the mean DSM loss and its gradient from the engine; global-norm clipping; Adam with linear warm-up; the EMA of
 * the weights. Everything random comes from one seeded generator whose state is checkpointed, so a resumed run
 * continues exactly where it stopped.
 */
import { Rng } from '../nn/rng.js';
import { Adam, Ema, clipByGlobalNorm, scheduledLr } from './optim.js';
import { BatchSampler, fixedBatches, type ImageStack, type Batch, type SigmaFocus } from './data.js';
import type { GradientEngine } from './engine.js';
import type { TrainState } from './checkpoint.js';

export interface TrainLoopConfig {
  /** Total number of optimiser steps (a resumed run continues to this total). */
  steps: number;
  batch: number;
  /** Images per validation batch (default: batch); keep it fixed across a run's segments so the validation noise is. */
  valBatch?: number;
  lr: number;
  warmup: number;
  /** Linear decay of the learning rate over the last `cooldown` steps before `steps` (0: none). */
  cooldown: number;
  ema: number;
  /** Maximum global gradient norm (0: no clipping). */
  gradClip: number;
  sigmaMin: number;
  sigmaMax: number;
  /** This segment's emphasis on part of the σ range (null: log-uniform over all of it). Validation is unaffected. */
  sigmaFocus?: SigmaFocus | null;
  augment: boolean;
  seed: number;
  /** Steps between progress/log entries, checkpoints and validation losses (0: never, except at the end). */
  logEvery: number;
  checkpointEvery: number;
  valEvery: number;
}

export interface LogEntry {
  step: number;
  steps: number;
  /** Mean training loss over the steps since the last entry. */
  loss: number;
  /** Validation loss (EMA weights, fixed noise) when computed at this step, else null. */
  valLoss: number | null;
  lr: number;
  gradNorm: number;
  imagesPerS: number;
  elapsedS: number;
  etaS: number | null;
}

export interface TrainHooks {
  onLog?(e: LogEntry): void | Promise<void>;
  /** Called every `checkpointEvery` steps and once at the end (`finished`: all steps done, not stopped early). */
  onCheckpoint?(s: TrainState, finished: boolean): void | Promise<void>;
  /** Polled between steps: return true to stop (a checkpoint is written first). */
  shouldStop?(): boolean;
  /** Clock in seconds (injectable for tests). */
  now?(): number;
}

/** A fresh state: initial parameters, EMA = parameters, Adam at zero, generator seeded. */
export function initialState(params: Float32Array, seed: number, train: ImageStack): TrainState {
  const rng = new Rng(seed);
  const sampler = new BatchSampler(train, rng, 1, 2, false);
  return {
    step: 0,
    imagesSeen: 0,
    elapsedS: 0,
    params,
    ema: params.slice(),
    adam: { t: 0, m: new Float32Array(params.length), v: new Float32Array(params.length) },
    rng: rng.state(),
    sampler: sampler.state(),
    lastLoss: null,
    valLoss: null,
  };
}

/** Validation loss with the EMA weights on fixed batches; the engine is left holding `restore`. */
export async function validationLoss(engine: GradientEngine, ema: Float32Array, restore: Float32Array, batches: Batch[]): Promise<number> {
  await engine.setParams(ema);
  let sum = 0;
  let n = 0;
  try {
    for (const b of batches) {
      sum += (await engine.loss(b)) * b.n;
      n += b.n;
    }
  } finally {
    await engine.setParams(restore);
  }
  return sum / n;
}

export async function trainLoop(
  cfg: TrainLoopConfig,
  data: { train: ImageStack; val: ImageStack | null; trainableMask: Uint8Array | null },
  engine: GradientEngine,
  state: TrainState,
  hooks: TrainHooks = {},
): Promise<TrainState> {
  const now = hooks.now ?? (() => performance.now() / 1000);
  const rng = new Rng(state.rng);
  const sampler = new BatchSampler(data.train, rng, cfg.sigmaMin, cfg.sigmaMax, cfg.augment, state.sampler, cfg.sigmaFocus ?? null);
  const params = state.params;
  const adam = new Adam(params.length, { lr: cfg.lr }, data.trainableMask, state.adam);
  const ema = new Ema(state.ema, cfg.ema, false);
  const valBatches = data.val && data.val.n > 0 ? fixedBatches(data.val, cfg.seed ^ 0x5eed, cfg.sigmaMin, cfg.sigmaMax, cfg.valBatch ?? cfg.batch, (s) => new Rng(s)) : [];
  await engine.setParams(params);

  let step = state.step;
  let imagesSeen = state.imagesSeen;
  let elapsed = state.elapsedS;
  let lastLoss = state.lastLoss;
  let valLoss = state.valLoss;
  let sinceLoss = 0;
  let sinceSteps = 0;
  let sinceImages = 0;
  let sinceStart = now();
  let lastGradNorm: number;
  let rate: number | null = null; // seconds per step, smoothed

  const snapshot = (): TrainState => ({
    step,
    imagesSeen,
    elapsedS: elapsed,
    params,
    ema: ema.values,
    adam: adam.state(),
    rng: rng.state(),
    sampler: sampler.state(),
    lastLoss,
    valLoss,
  });

  const every = (k: number) => k > 0 && step % k === 0;

  let lr = scheduledLr(cfg.lr, step, cfg.warmup, cfg.steps, cfg.cooldown);
  const emitLog = async (computedVal: number | null) => {
    const span = Math.max(now() - sinceStart, 1e-9);
    await hooks.onLog?.({
      step,
      steps: cfg.steps,
      loss: sinceLoss / sinceSteps,
      valLoss: computedVal,
      lr,
      gradNorm: lastGradNorm,
      imagesPerS: sinceImages / span,
      elapsedS: elapsed,
      etaS: rate === null ? null : rate * (cfg.steps - step),
    });
    sinceLoss = 0;
    sinceSteps = 0;
    sinceImages = 0;
    sinceStart = now();
  };

  while (step < cfg.steps) {
    if (hooks.shouldStop?.()) {
      // log the steps done since the last entry, so the log (and a UI) ends at the step the checkpoint holds
      if (sinceSteps > 0) await emitLog(null);
      break;
    }
    const t0 = now();
    const batch = sampler.next(cfg.batch);
    const { loss, grads } = await engine.gradient(batch);
    if (!Number.isFinite(loss)) throw new Error(`training diverged at step ${step + 1}: loss ${loss} (try a lower --lr)`);
    lastGradNorm = clipByGlobalNorm(grads, cfg.gradClip);
    lr = scheduledLr(cfg.lr, step, cfg.warmup, cfg.steps, cfg.cooldown);
    adam.step(params, grads, lr);
    ema.update(params, step);
    await engine.setParams(params);
    step += 1;
    imagesSeen += batch.n;
    sinceLoss += loss;
    sinceSteps += 1;
    sinceImages += batch.n;
    lastLoss = loss;
    const dt = now() - t0;
    elapsed += dt;
    rate = rate === null ? dt : 0.9 * rate + 0.1 * dt;

    const last = step === cfg.steps;
    let computedVal: number | null = null;
    if (valBatches.length && (every(cfg.valEvery) || last)) {
      const tv = now();
      computedVal = await validationLoss(engine, ema.values, params, valBatches);
      valLoss = computedVal;
      elapsed += now() - tv;
    }
    if (every(cfg.logEvery) || last || computedVal !== null) await emitLog(computedVal);
    if (!last && every(cfg.checkpointEvery)) await hooks.onCheckpoint?.(snapshot(), false);
  }
  const final = snapshot();
  await hooks.onCheckpoint?.(final, step >= cfg.steps);
  return final;
}
