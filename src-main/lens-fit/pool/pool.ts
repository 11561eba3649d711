/**
 * The lens fit's worker threads for its independent tasks (fitLens's `parallel`: docs/lensing.md, *Threads*).
 *
 * fitLens is synchronous, so `run` blocks its calling thread (the lens fit's own thread, or the command line's main
 * thread: Node allows Atomics.wait on both) while the workers compute: each worker takes the next task by an atomic
 * counter in shared memory, posts each result on a MessageChannel of its own and bumps a shared signal; the caller
 * sleeps on that signal (Atomics.wait, at most WAIT_MS at a time, so a stop is seen within it) and reads the
 * results synchronously (receiveMessageOnPort). The fit's state (the data, σ, PSF, pixels, grid) is posted to each
 * worker once per fit (`begin`); a task carries only its lenses, lights and λ. A task's error ends the batch with
 * the worker's message; `close` terminates the workers (they are unref'd: none keeps a process alive).
 *
 * `sourcePart` splits one evaluation of the sequential searches (LensFitParallel.sourcePart) into two such batches:
 * the blurred lens matrix's rows in blocks of image rows (each worker's block handed back by moving its buffers),
 * joined here into shared memory, then F = BᵀWB and d in bands of F's rows, which the workers write into a shared F
 * and d (disjoint rows: no two write one entry). The same numbers as one thread whatever the blocks.
 *
 * `factor` factorises the calling thread's large matrices (threadedFactoriser: the final grid's λ search, the
 * cycles' new lenses) with each panel's rows of L₂₁ and trailing update as batches on the workers
 * (choleskyBlockedThreaded, the matrix in shared memory): the same factor as one thread bit for bit. With the split
 * and `columns: true`, `lightColumns` makes the light's columns in the blocks of B's rows, written into shared
 * columns.
 */
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { workerScript } from '../../worker-script.js';
import { sourcePartPlan, type LensFitParallel, type LensFitProgress, type LensFitSplitResult, type LensFitSplitTask, type LensFitTask, type LensFitTaskResult, type LensFitTaskState } from '../../../src-shared/lensing/fit.js';
import type { SersicParams } from '../../../src-shared/lensing/light.js';
import { stackRows, type CsrMatrix } from '../../../src-shared/operators/csr.js';
import { threadedFactoriser, type CholeskyTask, type CholeskyThreads } from '../../../src-shared/linalg/cholesky.js';

/** What a pool worker posts on its port. */
export type LensFitPoolMessage =
  | { type: 'result'; index: number; result: LensFitTaskResult | LensFitSplitResult | null }
  | { type: 'progress'; progress: LensFitProgress }
  | { type: 'idle' }
  | { type: 'ready' }
  | { type: 'error'; message: string };

/** What the pool posts to a worker. */
export type LensFitPoolRequest = { type: 'state'; state: LensFitTaskState } | { type: 'batch'; tasks: LensFitTask[] } | { type: 'split'; tasks: LensFitSplitTask[] } | { type: 'cholesky'; tasks: CholeskyTask[] };

export interface LensFitPoolWorkerData {
  /** Int32Array over it: [NEXT] the next task's index, [SIGNAL] bumped after every message */
  control: SharedArrayBuffer;
  port: MessagePort;
}

export const NEXT = 0;
export const SIGNAL = 1;
/** The longest the caller sleeps between looks at its stop flag. */
const WAIT_MS = 200;
/** How long the workers may take to load (from source, each compiles the modules) before the pool gives up. */
const STARTUP_MS = 120_000;
/** The blocks of the blurred matrix's rows per thread in a split evaluation (sourcePart; F's bands twice as many). */
const SPLIT_PER_THREAD = 2;
/** The default's cap: the fit's batches (3 starts, ~180 Hessian evaluations) gain little beyond it. */
export const LENS_FIT_MAX_THREADS = 8;

/** The default thread count: the cores this process may use, at most LENS_FIT_MAX_THREADS. */
export function defaultLensFitThreads(): number {
  return Math.max(1, Math.min(LENS_FIT_MAX_THREADS, availableParallelism()));
}

export class LensFitPoolError extends Error {
  override name = 'LensFitPoolError';
}

export interface LensFitPool extends LensFitParallel {
  readonly threads: number;
  /** a batch of a factorisation's panel parts on the workers (choleskyBlockedThreaded; `factor` uses it) */
  readonly choleskyThreads: CholeskyThreads;
  /** ends the workers; the pool is not usable after */
  close(): void;
}

const workerFile = () => workerScript(import.meta.url, './lens-fit-pool-worker.js');

/**
 * `threads` workers (at least 2: one thread is the serial fit, without a pool). `shouldStop`: polled while the
 * caller waits; true ends the batch by throwing `stopError()`. `speculate`: LensFitParallel's (the cycles'
 * Nelder–Mead runs as speculative batches; absent: not). `split: false`: no `sourcePart` (each evaluation of the
 * sequential searches whole on the calling thread, as before the split; for comparisons). `factor: false`: no
 * `factor` (every factorisation on the calling thread, as before choleskyBlockedThreaded; for comparisons);
 * `factorMinN`: the order from which `factor` splits (CHOLESKY_THREADS_MIN_N). `columns: true`: `lightColumns`
 * too (the light's columns made by the threads; off by default: measured slower where the threads share one core,
 * docs/lensing.md, *Threads*).
 */
export function openLensFitPool(threads: number, o: { shouldStop?: () => boolean; stopError?: () => Error; speculate?: number; split?: boolean; factor?: boolean; factorMinN?: number; columns?: boolean } = {}): LensFitPool {
  if (!(Number.isInteger(threads) && threads >= 2)) throw new RangeError(`a lens-fit pool needs at least 2 threads, got ${threads}`);
  const control = new SharedArrayBuffer(8);
  const ctl = new Int32Array(control);
  const { file, argv } = workerFile();
  const workers: { w: Worker; port: MessagePort }[] = [];
  for (let k = 0; k < threads; k++) {
    const { port1, port2 } = new MessageChannel();
    const data: LensFitPoolWorkerData = { control, port: port2 };
    const w = new Worker(file, { argv, workerData: data, transferList: [port2] });
    w.unref();
    // (an error outside a task — a module that does not load — reaches this thread's event loop only after a
    // batch: run() notices such a worker by its missing 'ready')
    w.on('error', () => {});
    workers.push({ w, port: port1 });
  }
  let closed = false;
  let busy = false;
  // the split of an evaluation's source part for this fit (sourcePart)
  let plan: ReturnType<typeof sourcePartPlan> | null = null;
  let ready = 0;
  const opened = Date.now();
  const close = () => {
    if (closed) return;
    closed = true;
    for (const { w, port } of workers) {
      port.close();
      void w.terminate();
    }
  };
  const choleskyThreads: CholeskyThreads = { threads, run: (tasks) => void batch({ type: 'cholesky', tasks }, () => {}) };
  const post = (m: LensFitPoolRequest) => {
    for (const { w } of workers) w.postMessage(m);
  };
  return {
    threads,
    ...(o.speculate ? { speculate: o.speculate } : {}),
    begin(state) {
      if (closed) throw new LensFitPoolError('the lens fit\'s worker threads were closed');
      plan = sourcePartPlan(state, threads * SPLIT_PER_THREAD);
      post({ type: 'state', state });
    },
    run: (tasks, onProgress) => batch({ type: 'batch', tasks }, onProgress) as LensFitTaskResult[],
    ...(o.split === false
      ? {}
      : {
          sourcePart(mass) {
            if (!plan) throw new LensFitPoolError('a source part before the fit\'s state');
            const { chunks, bands } = plan;
            const rows = batch({ type: 'split', tasks: chunks.map(([from, to]) => ({ kind: 'rows', mass, from, to })) }, () => {}) as Extract<LensFitSplitResult, { kind: 'rows' }>[];
            const B = stackRows(rows.map((r) => r.B), (b) => new SharedArrayBuffer(b));
            const n = B.nCols;
            const F = new Float64Array(new SharedArrayBuffer(8 * n * n));
            const d = new Float64Array(new SharedArrayBuffer(8 * n));
            const parts: CsrMatrix[] = [B];
            batch({ type: 'split', tasks: bands.map(([from, to]) => ({ kind: 'band', parts, from, to, F, d })) }, () => {});
            return { parts, F, d };
          },
          ...(o.columns !== true
            ? {}
            : {
                lightColumns(light: SersicParams[]) {
                  if (!plan) throw new LensFitPoolError('light columns before the fit\'s state');
                  const { chunks } = plan;
                  const n = chunks.length ? chunks[chunks.length - 1][1] : 0;
                  const out = light.map(() => new Float64Array(new SharedArrayBuffer(8 * n)));
                  batch({ type: 'split', tasks: chunks.map(([from, to]): LensFitSplitTask => ({ kind: 'columns', light, from, to, out })) }, () => {});
                  return out;
                },
              }),
        }),
    // the large factorisations of the calling thread's inversions (the final grid's λ search, the cycles' new lenses):
    // each panel's rows and trailing update split over the threads, the same factor bit for bit
    choleskyThreads,
    ...(o.factor === false ? {} : { factor: threadedFactoriser(choleskyThreads, o.factorMinN) }),
    close,
  };

  function batch(req: Extract<LensFitPoolRequest, { type: 'batch' | 'split' | 'cholesky' }>, onProgress: (p: LensFitProgress) => void): (LensFitTaskResult | LensFitSplitResult | null)[] {
    const tasks = req.tasks;
    if (closed) throw new LensFitPoolError('the lens fit\'s worker threads were closed');
    if (busy) throw new LensFitPoolError('the lens fit\'s worker threads are already running a batch');
    if (!tasks.length) return [];
    busy = true;
    try {
      Atomics.store(ctl, NEXT, 0);
      post(req);
      const out: (LensFitTaskResult | LensFitSplitResult | null | undefined)[] = new Array(tasks.length);
      let got = 0;
      let idle = 0;
      while (idle < workers.length) {
        const seen = Atomics.load(ctl, SIGNAL);
        for (let k = 0; k < workers.length; k++) {
          for (let m = receiveMessageOnPort(workers[k].port); m; m = receiveMessageOnPort(workers[k].port)) {
            const msg = m.message as LensFitPoolMessage;
            if (msg.type === 'result') {
              out[msg.index] = msg.result;
              got++;
            } else if (msg.type === 'progress') onProgress(msg.progress);
            else if (msg.type === 'idle') idle++;
            else if (msg.type === 'ready') ready++;
            else throw new LensFitPoolError(`the lens fit's worker thread ${k + 1}/${workers.length} failed: ${msg.message}`);
          }
        }
        if (idle >= workers.length) break;
        if (o.shouldStop?.()) throw o.stopError?.() ?? new LensFitPoolError('the lens fit was stopped');
        // a worker that did not load (its error reaches this thread's event loop only after the batch) is silent
        if (ready < workers.length && Date.now() - opened > STARTUP_MS) throw new LensFitPoolError(`${workers.length - ready} of the lens fit's ${workers.length} worker threads did not start within ${STARTUP_MS / 1000} s`);
        Atomics.wait(ctl, SIGNAL, seen, WAIT_MS);
      }
      if (got !== tasks.length) throw new LensFitPoolError(`the lens fit's worker threads returned ${got} of ${tasks.length} results`);
      return out as (LensFitTaskResult | LensFitSplitResult | null)[];
    } catch (e) {
      // a batch left unfinished leaves the workers mid-task: the pool cannot be used again
      close();
      throw e;
    } finally {
      busy = false;
    }
  }
}
