/**
 * Optimisation on flat Float32Array parameter vectors (plain JavaScript: identical on every backend, cheap next to
 * a network evaluation, and trivially checkpointed): Adam, an exponential moving average of the weights,
 * global-norm gradient clipping and a linear learning-rate warm-up.
 */

export interface AdamConfig {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
}

export const DEFAULT_ADAM: AdamConfig = { lr: 2e-4, beta1: 0.9, beta2: 0.999, eps: 1e-8 };

export interface AdamState {
  t: number;
  m: Float32Array;
  v: Float32Array;
}

export class Adam {
  readonly cfg: AdamConfig;
  t = 0;
  readonly m: Float32Array;
  readonly v: Float32Array;
  private readonly mask: Uint8Array | null;

  /** `mask` (1 = trainable) keeps fixed parameters untouched. */
  constructor(size: number, cfg: Partial<AdamConfig> = {}, mask: Uint8Array | null = null, state?: AdamState) {
    this.cfg = { ...DEFAULT_ADAM, ...cfg };
    this.mask = mask;
    if (state) {
      if (state.m.length !== size || state.v.length !== size) throw new Error(`Adam state has ${state.m.length} entries, the model ${size}`);
      this.t = state.t;
      this.m = state.m;
      this.v = state.v;
    } else {
      this.m = new Float32Array(size);
      this.v = new Float32Array(size);
    }
  }

  /** One update of `params` in place with gradient `g` at learning rate `lr` (bias-corrected Adam). */
  step(params: Float32Array, g: Float32Array, lr: number): void {
    const { beta1, beta2, eps } = this.cfg;
    this.t += 1;
    const c1 = 1 - beta1 ** this.t;
    const c2 = 1 - beta2 ** this.t;
    const a = lr / c1;
    const m = this.m;
    const v = this.v;
    const mask = this.mask;
    for (let i = 0; i < params.length; i++) {
      if (mask && mask[i] === 0) continue;
      const gi = g[i];
      const mi = beta1 * m[i] + (1 - beta1) * gi;
      const vi = beta2 * v[i] + (1 - beta2) * gi * gi;
      m[i] = mi;
      v[i] = vi;
      params[i] -= (a * mi) / (Math.sqrt(vi / c2) + eps);
    }
  }

  state(): AdamState {
    return { t: this.t, m: this.m, v: this.v };
  }
}

/**
 * Exponential moving average of the weights: ema ← d·ema + (1 − d)·params. Given the number of updates made
 * so far, the decay is warmed up as d_t = min(d, (1 + t)/(10 + t)) (as TensorFlow's moving averages do), so
 * that a short run's EMA is not dominated by its initial weights.
 */
export class Ema {
  readonly decay: number;
  readonly values: Float32Array;

  constructor(initial: Float32Array, decay: number, copy = true) {
    if (!(decay >= 0 && decay < 1)) throw new Error(`EMA decay must be in [0, 1), got ${decay}`);
    this.decay = decay;
    this.values = copy ? initial.slice() : initial;
  }

  update(params: Float32Array, updatesSoFar?: number): void {
    const d = updatesSoFar === undefined ? this.decay : Math.min(this.decay, (1 + updatesSoFar) / (10 + updatesSoFar));
    const e = this.values;
    for (let i = 0; i < e.length; i++) e[i] = d * e[i] + (1 - d) * params[i];
  }
}

/** Euclidean norm of a vector (accumulated in double precision). */
export function globalNorm(g: Float32Array): number {
  let s = 0;
  for (let i = 0; i < g.length; i++) s += g[i] * g[i];
  return Math.sqrt(s);
}

/** Scales g in place so its norm is at most maxNorm; returns the norm before clipping. */
export function clipByGlobalNorm(g: Float32Array, maxNorm: number): number {
  const n = globalNorm(g);
  if (maxNorm > 0 && n > maxNorm) {
    const f = maxNorm / n;
    for (let i = 0; i < g.length; i++) g[i] *= f;
  }
  return n;
}

/** Learning rate at a step (0-based) with linear warm-up over `warmup` steps. */
export function warmupLr(base: number, step: number, warmup: number): number {
  if (warmup <= 0) return base;
  return base * Math.min(1, (step + 1) / warmup);
}

/**
 * Learning rate at a step (0-based) of a warm-up–stable–decay schedule: linear warm-up over `warmup` steps,
 * constant, then, over the last `cooldown` steps before `total`, a linear fall towards 0 (step total − k runs at
 * base·k/cooldown, so the last step has base/cooldown). cooldown 0: no decay.
 */
export function scheduledLr(base: number, step: number, warmup: number, total: number, cooldown: number): number {
  const lr = warmupLr(base, step, warmup);
  if (cooldown <= 0) return lr;
  const left = total - step;
  return left >= cooldown ? lr : lr * Math.max(left, 0) / cooldown;
}
