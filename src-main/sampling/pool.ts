/**
 * Posterior (or prior) sampling on several worker threads: the chains are split into contiguous ranges, one per
 * worker, each worker with its own backend instance (wasm runs one thread per instance in Node, so one worker
 * per core uses the machine). Every chain draws from its own random stream (seed, chain index), so the result is
 * the serial run's, chain for chain, up to float32 summation order.
 *
 * Previews: where asked, each worker posts its chains' current states now and then (the running mean and
 * standard deviation over its chains so far, and its first chains), and this thread merges the workers' latest
 * (Chan et al.'s merge of means and sums of squares) into one preview of the whole run — what the in-process
 * driver shows — with the residual of the merged mean computed here (`residual`).
 */
import { Worker } from 'node:worker_threads';
import type { BackendName } from '../../src-shared/protocol/index.js';
import type { NoiseModel } from '../../src-shared/operators/noise.js';
import type { PreparedForwardModel } from '../../src-shared/operators/forward-model.js';
import type { Affine, CgStats, FormedNormalMatrix } from '../../src-shared/diffusion/likelihood.js';
import type { SamplerName, SamplerOptions } from '../../src-shared/diffusion/samplers/index.js';
import { SamplingCancelledError, type SamplingPreview, type SamplingProgress, type SamplingResult, type SamplingStatus } from '../../src-shared/diffusion/posterior.js';
import { Welford } from '../../src-shared/diffusion/welford.js';
import { workerScript } from '../worker-script.js';
import type { ScoreEngineOptions } from '../onnx/priors.js';
import { defaultOnnxThreads } from '../onnx/runtime.js';
import type { VisibilityNormalEquations } from '../../src-shared/diffusion/visibility-likelihood.js';
import type { WeightedVisibilities } from '../../src-shared/radio/normal-equations.js';
import type { ImageGrid } from '../../src-shared/radio/grid.js';

/**
 * A visibility likelihood's problem (`reconstruct --vis`): its normal equations — the dirty image d and the beam's
 * Toeplitz kernel, made once by the caller — and the visibilities with a positive weight, from which each worker
 * makes the measurement operator's plan for the exact χ², residual and noise draws. Put d and the beam in
 * SharedArrayBuffers (sharedFloat64) and every worker reads the one copy.
 */
export interface VisibilityJob {
  equations: Omit<VisibilityNormalEquations, 'exact'>;
  vis: WeightedVisibilities;
  grid: ImageGrid;
  name?: string;
}

/** A copy of `a` in shared memory: cloned into a worker, it is shared, not copied. */
export function sharedFloat64(a: Float64Array): Float64Array {
  const out = new Float64Array(new SharedArrayBuffer(a.byteLength));
  out.set(a);
  return out;
}

/** What every worker needs to rebuild the problem (plain data: it is cloned into each worker). */
export interface ParallelJob {
  backend: BackendName | 'auto';
  /** Prior spec, resolved in the worker relative to cwd. */
  prior: string;
  cwd: string;
  shape: number[];
  /** The forward model, its files read and checked (plain data), with the data; absent for prior samples. */
  model?: PreparedForwardModel;
  /** Instead of a forward model: visibilities through their normal equations. */
  visibility?: VisibilityJob;
  data?: Float32Array;
  dataShape?: [number, number];
  noise?: NoiseModel;
  /**
   * A lens model's normal matrix AᵀWA and its deflation eigenpairs, formed once in this thread in shared memory
   * (ConvolvedLikelihood.formSharedNormalMatrix): every worker reads the one copy and multiplies by it from its
   * first solve, in place of forming its own after its first products.
   */
  normalMatrix?: FormedNormalMatrix;
  dataName?: string;
  affine?: Affine;
  sampler: SamplerName | string;
  steps: number;
  n: number;
  seed: number;
  batchSize?: number;
  samplerOptions?: SamplerOptions;
  /** Minimum time between a worker's previews (0 or absent: no previews). */
  previewIntervalMs?: number;
  /** Chains a preview shows, over all workers (default 4). */
  previewSamples?: number;
  /** The score engine of a learned prior (threads: per worker); unset: the environment's, else auto. */
  scoreEngine?: ScoreEngineOptions;
}

export interface WorkerJob extends ParallelJob {
  chainOffset: number;
}

/** A worker's progress over its own chains. */
type WorkerProgress = Pick<SamplingStatus, 'step' | 'steps' | 'sigma' | 'chi2'> & { evaluations: number };

/** A worker's preview: its chains so far (`count`), their mean and standard deviation, its first chains (data units). */
export interface WorkerPreview {
  count: number;
  mean: Float32Array;
  std: Float32Array;
  samples: Float32Array;
  nSamples: number;
  /** Whether this is the worker's last step. */
  last: boolean;
}

export type WorkerMessage =
  | ({ type: 'progress'; preview?: WorkerPreview } & WorkerProgress)
  | {
      type: 'done';
      backend: BackendName;
      samples: Float32Array;
      conditionalMeans: Float32Array | null;
      seconds: number;
      scoreEvaluations: number;
      samplerSettings: Record<string, number | string>;
      cgStats: CgStats | null;
    }
  | { type: 'error'; name: string; message: string; stack?: string };

/**
 * Progress of a parallel run: the serial run's (its step count, totals over the workers), without batches; previews
 * merged over the workers.
 */
export type ParallelProgress = Omit<SamplingProgress, 'batch' | 'batches'>;

export interface ParallelOptions {
  onProgress?: (p: ParallelProgress) => void;
  signal?: AbortSignal;
  /** (y − A·mean)/σ of a merged preview's mean (data units), NaN where masked; absent: previews carry none. */
  residual?: (meanData: Float32Array) => Promise<Float32Array>;
}

export interface ParallelResult extends SamplingResult {
  /** The longest of the workers' own sampling times (seconds: the whole run, start-up of the workers included). */
  samplingSeconds: number;
  workers: number;
  backend: BackendName;
  cgStats: CgStats | null;
}

/** How long a worker asked to stop may take to reach its next step and exit before it is terminated. */
const WORKER_CANCEL_GRACE_MS = 3000;
/** How long a worker may take to free its resources and exit after its last message. */
const WORKER_EXIT_GRACE_MS = 10_000;

const workerFile = () => workerScript(import.meta.url, './sampling-worker.js');

/** Chain ranges: as equal as possible, contiguous. */
export function splitChains(n: number, workers: number): { offset: number; n: number }[] {
  const k = Math.max(1, Math.min(workers, n));
  const out: { offset: number; n: number }[] = [];
  let off = 0;
  for (let i = 0; i < k; i++) {
    const m = Math.floor(n / k) + (i < n % k ? 1 : 0);
    out.push({ offset: off, n: m });
    off += m;
  }
  return out;
}

/**
 * One preview of the whole run from the workers' latest (in worker order): means and standard deviations merged
 * (n − 1 in the denominator, as the in-process driver's), the first `nSamples` chains.
 */
export function mergePreviews(parts: readonly WorkerPreview[], per: number, nSamples: number): { mean: Float32Array; std: Float32Array; samples: Float32Array; nSamples: number } {
  const all = new Welford(per);
  for (const p of parts) {
    const w = new Welford(per);
    w.count = p.count;
    for (let i = 0; i < per; i++) {
      w.mean[i] = p.mean[i]!;
      w.m2[i] = p.count > 1 ? p.std[i]! * p.std[i]! * (p.count - 1) : 0;
    }
    all.merge(w);
  }
  const { mean, std } = all.result();
  const k = Math.min(nSamples, parts.reduce((s, p) => s + p.nSamples, 0));
  const samples = new Float32Array(k * per);
  let at = 0;
  for (const p of parts) {
    const take = Math.min(p.nSamples, k - at);
    if (take <= 0) break;
    samples.set(p.samples.subarray(0, take * per), at * per);
    at += take;
  }
  return { mean, std, samples, nSamples: k };
}

export async function runSamplingParallel(job: ParallelJob, workers: number, opts: ParallelOptions = {}): Promise<ParallelResult> {
  if (opts.signal?.aborted) throw new SamplingCancelledError();
  const parts = splitChains(job.n, workers);
  // ONNX Runtime's CPU threads per worker: the cores shared out between the workers unless given
  const onnxThreads = job.scoreEngine?.threads ?? (process.env.SKYSCORE_ONNX_THREADS ? null : Math.max(1, Math.floor(defaultOnnxThreads() / parts.length)));
  const t0 = performance.now();
  const progress = parts.map((): WorkerProgress => ({ step: 0, steps: 0, sigma: NaN, chi2: null, evaluations: 0 }));
  const previews: (WorkerPreview | null)[] = parts.map(() => null);
  const previewMs = job.previewIntervalMs ?? 0;
  const nPreview = Math.max(0, Math.min(job.previewSamples ?? 4, job.n));
  let lastPreview = -Infinity;
  const threads: Worker[] = [];
  const per = job.shape.reduce((a, b) => a * b, 1);
  const batchSize = Math.min(job.n, job.batchSize ?? 16);
  // progress events go out in order, a preview's residual computed before the next event; a failure there ends
  // the run once the workers are done (never an unhandled rejection)
  let queue: Promise<void> = Promise.resolve();
  let queueError: unknown = null;
  const enqueue = (f: () => void | Promise<void>) => {
    // nothing more once the run is stopped
    queue = queue.then(() => (opts.signal?.aborted ? undefined : f())).catch((e: unknown) => {
      queueError ??= e;
    });
  };
  // Workers end by themselves: asked to stop at their next step (cancel), and after their last message they free
  // their backend and their ONNX Runtime inference models (InferenceSession objects) and exit. Terminating a thread
  // while native code releases such a model can abort the whole process, so termination is the fallback, after a grace time.
  const exited: Promise<void>[] = [];
  const terminateAfter = (ms: number) =>
    Promise.all(
      threads.map((w, i) =>
        Promise.race([exited[i], new Promise<'late'>((r) => setTimeout(() => r('late'), ms).unref())]).then((v) => (v === 'late' ? w.terminate().then(() => undefined) : undefined)),
      ),
    );
  const abort = () => {
    for (const w of threads) w.postMessage({ type: 'cancel' });
    void terminateAfter(WORKER_CANCEL_GRACE_MS);
  };
  opts.signal?.addEventListener('abort', abort, { once: true });

  const report = (withPreview: boolean) => {
    const onProgress = opts.onProgress;
    if (!onProgress || !progress.every((q) => q.steps > 0)) return; // before every worker reported, the total is unknown
    // counted as the run in one thread counts them (batches × steps), by the share of the workers' steps done
    const done = progress.reduce((s, q) => s + q.step, 0) / progress.reduce((s, q) => s + q.steps, 0);
    const steps = Math.ceil(job.n / batchSize) * job.steps;
    const step = Math.round(done * steps);
    const elapsedS = (performance.now() - t0) / 1000;
    const p: ParallelProgress = {
      step,
      steps,
      sigma: progress[0]!.sigma,
      chi2: progress[0]!.chi2,
      elapsedS,
      etaS: step > 0 ? (elapsedS / step) * (steps - step) : null,
      scoreEvaluations: progress.reduce((s, q) => s + q.evaluations, 0),
    };
    if (!withPreview) {
      enqueue(() => onProgress(p));
      return;
    }
    const merged = mergePreviews(previews as WorkerPreview[], per, nPreview);
    enqueue(async () => {
      const residual = opts.residual ? await opts.residual(merged.mean) : null;
      if (residual) for (let k = 0; k < residual.length; k++) if (!Number.isFinite(residual[k])) residual[k] = 0;
      const preview: SamplingPreview = { shape: job.shape.slice(), dataShape: job.dataShape ? [job.dataShape[0], job.dataShape[1]] : null, ...merged, residual };
      onProgress({ ...p, preview });
    });
  };

  try {
    const results = await Promise.all(
      parts.map(
        (part, i) =>
          new Promise<Extract<WorkerMessage, { type: 'done' }>>((resolve, reject) => {
            const wj: WorkerJob = {
              ...job,
              n: part.n,
              chainOffset: part.offset,
              batchSize: Math.min(batchSize, part.n),
              previewIntervalMs: previewMs,
              previewSamples: nPreview,
              scoreEngine: { ...job.scoreEngine, threads: onnxThreads },
            };
            const { file, argv } = workerFile();
            const w = new Worker(file, { argv, workerData: wj });
            threads.push(w);
            exited.push(new Promise<void>((r) => w.once('exit', () => r())));
            let settled = false;
            w.on('message', (m: WorkerMessage) => {
              if (m.type === 'progress') {
                progress[i] = { step: m.step, steps: m.steps, sigma: m.sigma, chi2: m.chi2, evaluations: m.evaluations };
                let withPreview = false;
                if (m.preview) {
                  previews[i] = m.preview;
                  const now = performance.now();
                  const ready = previews.every((v) => v !== null);
                  const final = ready && previews.every((v) => v!.last);
                  if (ready && (final || now - lastPreview >= previewMs)) {
                    lastPreview = now;
                    withPreview = true;
                  }
                }
                report(withPreview);
              } else if (m.type === 'done') {
                settled = true;
                resolve(m);
              } else {
                settled = true;
                if (opts.signal?.aborted) {
                  reject(new SamplingCancelledError());
                  return;
                }
                const e = new Error(m.message);
                e.name = m.name;
                if (m.stack) e.stack = m.stack;
                reject(e);
              }
            });
            w.on('error', (e) => {
              settled = true;
              reject(e);
            });
            w.on('exit', (code) => {
              if (!settled) reject(opts.signal?.aborted ? new SamplingCancelledError() : new Error(`sampling worker exited with code ${code}`));
            });
          }),
      ),
    );
    await queue;
    if (queueError) throw queueError;
    const samples = new Float32Array(job.n * per);
    const conditionalMeans = results.every((r) => r.conditionalMeans) ? new Float32Array(job.n * per) : null;
    let evaluations = 0;
    let cg: CgStats | null = null;
    results.forEach((r, i) => {
      samples.set(r.samples, parts[i]!.offset * per);
      conditionalMeans?.set(r.conditionalMeans!, parts[i]!.offset * per);
      evaluations += r.scoreEvaluations;
      if (r.cgStats) {
        cg ??= { solves: 0, iterations: 0, capped: 0, maxRelResidual: 0 };
        cg.solves += r.cgStats.solves;
        cg.iterations += r.cgStats.iterations;
        cg.capped += r.cgStats.capped;
        cg.maxRelResidual = Math.max(cg.maxRelResidual, r.cgStats.maxRelResidual);
      }
    });
    return {
      samples,
      conditionalMeans,
      n: job.n,
      shape: job.shape.slice(),
      sampler: job.sampler as SamplerName,
      steps: job.steps,
      seed: job.seed,
      chainOffset: 0,
      batchSize,
      seconds: (performance.now() - t0) / 1000,
      scoreEvaluations: evaluations,
      samplerSettings: results[0]!.samplerSettings,
      samplingSeconds: Math.max(...results.map((r) => r.seconds)),
      workers: parts.length,
      backend: results[0]!.backend,
      cgStats: cg,
    };
  } finally {
    opts.signal?.removeEventListener('abort', abort);
    // a failed run: the others stop at their next step; then every worker is given time to exit by itself
    if (!opts.signal?.aborted) for (const w of threads) w.postMessage({ type: 'cancel' });
    await terminateAfter(WORKER_EXIT_GRACE_MS);
  }
}
