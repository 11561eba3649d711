/**
 * Posterior (or prior) sampling on several worker threads: the chains are split into contiguous ranges, one per
 * worker, each worker with its own backend instance (wasm runs one thread per instance in Node, so one worker
 * per core uses the machine). Every chain draws from its own random stream (seed, chain index), so the result is
 * the serial run's, chain for chain, up to float32 summation order.
 */
import { Worker } from 'node:worker_threads';
import type { BackendName } from '../../src-shared/protocol/index.js';
import type { NoiseModel } from '../../src-shared/operators/noise.js';
import type { Affine, CgStats } from '../../src-shared/diffusion/likelihood.js';
import type { SamplerName, SamplerOptions } from '../../src-shared/diffusion/samplers/index.js';
import { SamplingCancelledError, type SamplingProgress, type SamplingResult, type SamplingStatus } from '../../src-shared/diffusion/posterior.js';
import { workerScript } from '../worker-script.js';
import type { ScoreEngineOptions } from '../onnx/priors.js';
import { defaultOnnxThreads } from '../onnx/runtime.js';

/** What every worker needs to rebuild the problem (plain data: it is cloned into each worker). */
export interface ParallelJob {
  backend: BackendName | 'auto';
  /** Prior spec, resolved in the worker relative to cwd. */
  prior: string;
  cwd: string;
  shape: number[];
  /** M.json (absolute path) with the data, for a posterior; absent for prior samples. */
  model?: string;
  data?: Float32Array;
  dataShape?: [number, number];
  noise?: NoiseModel;
  dataName?: string;
  affine?: Affine;
  sampler: SamplerName | string;
  steps: number;
  n: number;
  seed: number;
  batchSize?: number;
  samplerOptions?: SamplerOptions;
  /** The score engine of a learned prior (threads: per worker); unset: the environment's, else auto. */
  scoreEngine?: ScoreEngineOptions;
}

export interface WorkerJob extends ParallelJob {
  chainOffset: number;
}

/** A worker's progress over its own chains. */
type WorkerProgress = Pick<SamplingStatus, 'step' | 'steps' | 'sigma' | 'chi2'> & { evaluations: number };

export type WorkerMessage =
  | ({ type: 'progress' } & WorkerProgress)
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

/** Progress of a parallel run: the serial run's (totals over the workers), without batches and previews. */
export type ParallelProgress = Omit<SamplingProgress, 'batch' | 'batches' | 'preview'>;

export interface ParallelResult extends SamplingResult {
  /** The longest of the workers' own sampling times (seconds: the whole run, start-up of the workers included). */
  samplingSeconds: number;
  workers: number;
  backend: BackendName;
  cgStats: CgStats | null;
}

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

export async function runSamplingParallel(
  job: ParallelJob,
  workers: number,
  opts: { onProgress?: (p: ParallelProgress) => void; signal?: AbortSignal } = {},
): Promise<ParallelResult> {
  const parts = splitChains(job.n, workers);
  // ONNX Runtime's CPU threads per worker: the cores shared out between the workers unless given
  const onnxThreads = job.scoreEngine?.threads ?? (process.env.SKYSCORE_ONNX_THREADS ? null : Math.max(1, Math.floor(defaultOnnxThreads() / parts.length)));
  const t0 = performance.now();
  const progress = parts.map((): WorkerProgress => ({ step: 0, steps: 0, sigma: NaN, chi2: null, evaluations: 0 }));
  const threads: Worker[] = [];
  const per = job.shape.reduce((a, b) => a * b, 1);
  const abort = () => {
    for (const w of threads) void w.terminate();
  };
  opts.signal?.addEventListener('abort', abort, { once: true });
  try {
    const results = await Promise.all(
      parts.map(
        (part, i) =>
          new Promise<Extract<WorkerMessage, { type: 'done' }>>((resolve, reject) => {
            const wj: WorkerJob = { ...job, n: part.n, chainOffset: part.offset, batchSize: Math.min(job.batchSize ?? 16, part.n), scoreEngine: { ...job.scoreEngine, threads: onnxThreads } };
            const { file, argv } = workerFile();
            const w = new Worker(file, { argv, workerData: wj });
            threads.push(w);
            let settled = false;
            w.on('message', (m: WorkerMessage) => {
              if (m.type === 'progress') {
                progress[i] = { step: m.step, steps: m.steps, sigma: m.sigma, chi2: m.chi2, evaluations: m.evaluations };
                // aggregate once every worker has reported (before that the total is unknown)
                if (opts.onProgress && progress.every((q) => q.steps > 0)) {
                  const step = progress.reduce((s, q) => s + q.step, 0);
                  const steps = progress.reduce((s, q) => s + q.steps, 0);
                  const elapsedS = (performance.now() - t0) / 1000;
                  opts.onProgress({
                    step,
                    steps,
                    sigma: progress[0].sigma,
                    chi2: progress[0].chi2,
                    elapsedS,
                    etaS: step > 0 ? (elapsedS / step) * (steps - step) : null,
                    scoreEvaluations: progress.reduce((s, q) => s + q.evaluations, 0),
                  });
                }
              } else if (m.type === 'done') {
                settled = true;
                resolve(m);
              } else {
                settled = true;
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
    const samples = new Float32Array(job.n * per);
    const conditionalMeans = results.every((r) => r.conditionalMeans) ? new Float32Array(job.n * per) : null;
    let evaluations = 0;
    let cg: CgStats | null = null;
    results.forEach((r, i) => {
      samples.set(r.samples, parts[i].offset * per);
      conditionalMeans?.set(r.conditionalMeans!, parts[i].offset * per);
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
      batchSize: job.batchSize ?? 16,
      seconds: (performance.now() - t0) / 1000,
      scoreEvaluations: evaluations,
      samplerSettings: results[0].samplerSettings,
      samplingSeconds: Math.max(...results.map((r) => r.seconds)),
      workers: parts.length,
      backend: results[0].backend,
      cgStats: cg,
    };
  } finally {
    opts.signal?.removeEventListener('abort', abort);
    await Promise.all(threads.map((w) => w.terminate()));
  }
}
