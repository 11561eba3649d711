/**
 * The hosts' handle on the engine process: request/response by id, events, and a restart when it dies
 * (pending requests then fail with 'engine-died', live jobs end with a job.error event). The process is a worker
 * thread here; the Electron host passes its own spawner (utilityProcess).
 *
 * It also keeps the engine answerable whatever a request does: a request not answered within
 * LIMITS.requestSeconds, or a job still going LIMITS.cancelGraceSeconds after it was cancelled (a computation
 * that does not reach its next cancellation point), ends by restarting the engine. It knows which client
 * (`owner`) started each job, so that a host sends a job's events to that client only and cancels its jobs when
 * it goes away.
 */
import { Worker } from 'node:worker_threads';
import { readFileSync } from 'node:fs';
import { totalmem } from 'node:os';
import { fork } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { workerScript } from '../worker-script.js';
import { validateResponse, isEngineEvent, type EngineEvent, type JobKind, type MethodName, type ParamsOf, type ResultOf, type Response } from '../../src-shared/protocol/index.js';
import { LIMITS } from '../../src-shared/protocol/limits.js';
import { UserInputError } from '../../src-shared/errors.js';

export interface EngineProcess {
  post(msg: unknown, transfer?: ArrayBuffer[]): void;
  onMessage(cb: (msg: unknown) => void): void;
  onExit(cb: (code: number) => void): void;
  kill(): Promise<void>;
  /** The process's resident memory in bytes, where the system tells (null: unknown; a worker thread shares its host's). */
  rss?(): number | null;
}

export type Spawner = () => EngineProcess;

export class EngineDiedError extends Error {
  override name = 'EngineDiedError';
}

/** A client asked for more jobs than it may have at once (LIMITS.jobsPerConnection). */
export class JobLimitError extends UserInputError {
  override name = 'JobLimitError';
}

/** Resident memory of process `pid` from /proc (Linux; null elsewhere or once it is gone). */
export function processRss(pid: number | undefined): number | null {
  if (pid === undefined || process.platform !== 'linux') return null;
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** The engine's memory budget: SKYSCORE_ENGINE_MEMORY_MB, else LIMITS.engineMemoryFraction of the machine's memory. */
export function engineMemoryBudget(env: NodeJS.ProcessEnv = process.env): number {
  const mb = Number(env.SKYSCORE_ENGINE_MEMORY_MB);
  if (env.SKYSCORE_ENGINE_MEMORY_MB && Number.isFinite(mb) && mb > 0) return mb * 1024 ** 2;
  return Math.floor(LIMITS.engineMemoryFraction * totalmem());
}

/** Spawns the engine as a Node worker thread (TypeScript through tsx when running from source). */
export function workerThreadSpawner(opts: { backend?: string; resourceLimits?: { maxOldGenerationSizeMb?: number } } = {}): Spawner {
  return () => {
    const { file, argv } = workerScript(import.meta.url, './engine.js');
    const w = new Worker(file, {
      argv,
      workerData: { backend: opts.backend ?? process.env.SKYSCORE_BACKEND ?? 'auto' },
      ...(opts.resourceLimits ? { resourceLimits: opts.resourceLimits } : {}),
    });
    return {
      post: (m, t) => w.postMessage(m, t ?? []),
      onMessage: (cb) => w.on('message', cb),
      onExit: (cb) => {
        w.on('exit', cb);
        w.on('error', (e) => {
          console.error('[engine] worker error:', e);
        });
      },
      kill: async () => {
        await w.terminate();
      },
    };
  };
}

/**
 * Spawns the engine as a child process (serve): killing it ends whatever it is doing, native code included, and
 * gives its memory back to the system; its own allocator keeps few arenas (MALLOC_ARENA_MAX=2, unless set), so
 * that the threads each job starts do not each leave an arena behind. Messages are structured clones (typed
 * arrays included), copied rather than transferred.
 */
export function childProcessSpawner(opts: { backend?: string } = {}): Spawner {
  return () => {
    const { file, argv } = workerScript(import.meta.url, './engine.js');
    const child = fork(file, argv, {
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, SKYSCORE_BACKEND: opts.backend ?? process.env.SKYSCORE_BACKEND ?? 'auto', MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? '2' },
    });
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.on('error', (e) => console.error('[engine] process error:', e.message));
    return {
      post: (m) => {
        if (child.connected) child.send(m as object);
      },
      onMessage: (cb) => child.on('message', cb),
      onExit: (cb) => child.on('exit', (code, signal) => cb(code ?? (signal ? 128 : 1))),
      kill: async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        await exited;
      },
      rss: () => processRss(child.pid),
    };
  };
}

export interface EngineClientOptions {
  /** A request not answered in this time restarts the engine (default LIMITS.requestSeconds). */
  requestTimeoutMs?: number;
  /** A cancelled job not ended in this time restarts the engine (default LIMITS.cancelGraceSeconds). */
  cancelGraceMs?: number;
  /** The engine process's resident memory past which it is restarted (default engineMemoryBudget()). */
  memoryBudgetBytes?: number;
}

export interface ForwardOptions {
  transfer?: ArrayBuffer[];
  /** Who asks (a host's connection): its jobs' events are emitted with it, and cancelOwner(owner) ends them. */
  owner?: unknown;
  /** This request's time limit (default: the client's requestTimeoutMs). */
  timeoutMs?: number;
}

interface Pending {
  method: string;
  owner: unknown;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

interface LiveJob {
  kind: JobKind;
  owner: unknown;
  /** Set once cancelled: the restart that ends it if it does not end by itself. */
  cancelTimer?: NodeJS.Timeout;
}

const JOB_METHODS: ReadonlySet<string> = new Set(['job.reconstruct', 'job.train', 'job.clean', 'job.reconstructVis', 'job.lensFit']);

export class EngineClient extends EventEmitter {
  private proc: EngineProcess | null = null;
  private nextId = 1;
  private pending = new Map<number, Pending>();
  private jobs = new Map<string, LiveJob>();
  private stopped = false;
  private startedAt = 0;
  private quickCrashes = 0;
  private readonly requestTimeoutMs: number;
  private readonly cancelGraceMs: number;
  private readonly memoryBudget: number;
  private memoryTimer: NodeJS.Timeout | undefined;
  restarts = 0;

  constructor(
    private readonly spawn: Spawner,
    opts: EngineClientOptions = {},
  ) {
    super();
    this.requestTimeoutMs = opts.requestTimeoutMs ?? LIMITS.requestSeconds * 1000;
    this.cancelGraceMs = opts.cancelGraceMs ?? LIMITS.cancelGraceSeconds * 1000;
    this.memoryBudget = opts.memoryBudgetBytes ?? engineMemoryBudget();
  }

  /**
   * Watches the engine's resident memory (where its process tells it, rss()): past the budget the engine is
   * restarted, whatever it is doing — a synchronous computation in it included, since the watch runs here.
   */
  private watchMemory(): void {
    clearInterval(this.memoryTimer);
    this.memoryTimer = setInterval(() => {
      const rss = this.proc?.rss?.() ?? null;
      if (rss === null || rss <= this.memoryBudget) return;
      const mib = (b: number) => `${Math.round(b / 1024 ** 2)} MiB`;
      this.restart(`its memory reached ${mib(rss)}, past its budget of ${mib(this.memoryBudget)} (docs/serve.md)`);
    }, 250);
    this.memoryTimer.unref();
  }

  start(): void {
    const proc = this.spawn();
    this.proc = proc;
    this.startedAt = Date.now();
    if (proc.rss) this.watchMemory();
    this.emitEvent({ event: 'engine.status', data: { state: 'starting' } });
    proc.onMessage((msg) => {
      if (this.proc === proc) this.onMessage(msg);
    });
    proc.onExit((code) => {
      if (this.proc !== proc) return;
      this.proc = null;
      this.failAll(`the engine stopped (exit code ${code})`);
      if (this.stopped) return;
      // Restart with back-off; an engine that keeps dying at start is reported dead and restarted on the next request.
      this.quickCrashes = Date.now() - this.startedAt < 10_000 ? this.quickCrashes + 1 : 0;
      if (this.quickCrashes >= 4) {
        this.emitEvent({ event: 'engine.status', data: { state: 'died', message: `the engine failed to start (exit code ${code})` } });
        this.quickCrashes = 0;
        return;
      }
      this.restarts++;
      this.emitEvent({ event: 'engine.status', data: { state: 'restarting', message: `engine exited with code ${code}; restarting` } });
      setTimeout(() => !this.stopped && !this.proc && this.start(), 200 * 2 ** this.quickCrashes);
    });
  }

  /** Jobs queued or running, by id, with the owner that started each. */
  liveJobs(): { jobId: string; kind: JobKind; owner: unknown; cancelling: boolean }[] {
    return [...this.jobs].map(([jobId, j]) => ({ jobId, kind: j.kind, owner: j.owner, cancelling: j.cancelTimer !== undefined }));
  }

  private emitEvent(ev: EngineEvent, owner?: unknown) {
    this.emit('event', ev, owner);
  }

  /** Fails every pending request and ends every live job (the engine that held them is gone). */
  private failAll(reason: string): void {
    for (const [, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new EngineDiedError(reason));
    }
    this.pending.clear();
    const jobs = [...this.jobs];
    this.jobs.clear();
    for (const [jobId, j] of jobs) {
      clearTimeout(j.cancelTimer);
      const cancelled = j.cancelTimer !== undefined;
      this.emitEvent(
        { event: 'job.error', data: { jobId, kind: j.kind, code: cancelled ? 'cancelled' : 'internal', message: cancelled ? 'stopped' : `${reason}; start it again` } },
        j.owner,
      );
    }
  }

  /** Ends the engine process now and starts a new one (requests and jobs in it fail: failAll). */
  restart(reason: string): void {
    const proc = this.proc;
    if (!proc || this.stopped) return;
    console.error(`[engine] restarting the engine: ${reason}`);
    this.proc = null;
    this.failAll(`the engine was restarted (${reason})`);
    void proc.kill().catch(() => {});
    this.restarts++;
    this.emitEvent({ event: 'engine.status', data: { state: 'restarting', message: `the engine was restarted: ${reason}` } });
    this.start();
  }

  private onMessage(msg: unknown) {
    if (isEngineEvent(msg)) {
      const jobId = (msg.data as { jobId?: unknown } | null)?.jobId;
      const job = typeof jobId === 'string' ? this.jobs.get(jobId) : undefined;
      if (job && (msg.event === 'job.done' || msg.event === 'job.error')) {
        clearTimeout(job.cancelTimer);
        this.jobs.delete(jobId as string);
      }
      this.emitEvent(msg, job?.owner);
      return;
    }
    let res: Response;
    try {
      res = validateResponse(msg);
    } catch (e) {
      console.error('[engine] malformed message from engine:', (e as Error).message);
      return;
    }
    const p = this.pending.get(res.id);
    if (!p) return;
    this.pending.delete(res.id);
    clearTimeout(p.timer);
    if (res.ok) {
      // the job is known before its first event arrives (events follow the response on the same channel)
      if (JOB_METHODS.has(p.method)) {
        const r = res.result as { jobId?: unknown };
        if (typeof r?.jobId === 'string') this.jobs.set(r.jobId, { kind: p.method === 'job.train' ? 'train' : p.method === 'job.clean' ? 'clean' : p.method === 'job.reconstructVis' ? 'posterior' : p.method === 'job.lensFit' ? 'lensFit' : 'reconstruct', owner: p.owner });
      }
      p.resolve(res.result);
    } else p.reject(Object.assign(new Error(res.error.message), { code: res.error.code }));
  }

  private send(method: string, params: unknown, opts: ForwardOptions, timeoutMs: number, onTimeout: () => void): Promise<unknown> {
    if (!this.proc) {
      if (this.stopped) return Promise.reject(new EngineDiedError('the engine is stopped'));
      this.start();
    }
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        if (!this.pending.has(id)) return;
        this.pending.delete(id);
        reject(new EngineDiedError(`the engine did not answer ${method} within ${timeoutMs / 1000} s; it was restarted`));
        onTimeout();
      }, timeoutMs);
      timer.unref();
      this.pending.set(id, { method, owner: opts.owner, resolve, reject, timer });
      this.proc!.post({ id, method, params }, opts.transfer);
    });
  }

  /** Sends an already validated request body; returns the raw result for forwarding. */
  async forward(method: string, params: unknown, opts: ForwardOptions = {}): Promise<unknown> {
    if (method === 'job.cancel') return this.cancelJob((params as { jobId: string }).jobId, (params as { keep?: boolean }).keep === true);
    if (JOB_METHODS.has(method) && opts.owner !== undefined) {
      // its jobs, and its job requests not answered yet
      const mine = [...this.jobs.values()].filter((j) => j.owner === opts.owner).length + [...this.pending.values()].filter((p) => p.owner === opts.owner && JOB_METHODS.has(p.method)).length;
      if (mine >= LIMITS.jobsPerConnection) throw new JobLimitError(`this client has ${mine} jobs queued or running, the most it may have at once; stop one or wait for one to end`);
    }
    const ms = opts.timeoutMs ?? this.requestTimeoutMs;
    return this.send(method, params, opts, ms, () => this.restart(`${method} took longer than ${ms / 1000} s`));
  }

  request<M extends MethodName>(method: M, params: ParamsOf<M>): Promise<ResultOf<M>> {
    return this.forward(method, params) as Promise<ResultOf<M>>;
  }

  /**
   * Cancels a job: the engine stops it at its next cancellation point (between sampler steps, training steps;
   * a queued job leaves the queue); one that has not ended after the grace time is ended by restarting the
   * engine. Answers as job.cancel does.
   */
  async cancelJob(jobId: string, keep = false): Promise<{ cancelled: boolean }> {
    const job = this.jobs.get(jobId);
    if (job && !job.cancelTimer) {
      job.cancelTimer = setTimeout(() => {
        if (this.jobs.get(jobId) === job) this.restart(`job ${jobId} did not stop within ${this.cancelGraceMs / 1000} s of its cancellation`);
      }, this.cancelGraceMs);
      job.cancelTimer.unref();
    }
    try {
      return (await this.send('job.cancel', keep ? { jobId, keep } : { jobId }, {}, this.cancelGraceMs, () => {})) as { cancelled: boolean };
    } catch (e) {
      // a busy engine that cannot even answer: the timer above ends the job
      if (job && e instanceof EngineDiedError) return { cancelled: true };
      throw e;
    }
  }

  /** Cancels every job `owner` started (a client that went away). */
  async cancelOwner(owner: unknown): Promise<void> {
    const mine = [...this.jobs].filter(([, j]) => j.owner === owner).map(([id]) => id);
    await Promise.all(mine.map((id) => this.cancelJob(id).catch(() => ({ cancelled: false }))));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.memoryTimer);
    const p = this.proc;
    this.proc = null;
    for (const [, q] of this.pending) {
      clearTimeout(q.timer);
      q.reject(new EngineDiedError('the engine was stopped'));
    }
    this.pending.clear();
    for (const j of this.jobs.values()) clearTimeout(j.cancelTimer);
    this.jobs.clear();
    if (p) await p.kill();
  }
}
