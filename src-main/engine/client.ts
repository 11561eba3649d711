/**
 * The hosts' handle on the engine process: request/response by id, events, and a restart when it dies
 * (pending requests then fail with 'engine-died'). The process is a worker thread here; the Electron host
 * passes its own spawner (utilityProcess).
 */
import { Worker } from 'node:worker_threads';
import { EventEmitter } from 'node:events';
import { workerScript } from '../worker-script.js';
import { validateResponse, isEngineEvent, type EngineEvent, type MethodName, type ParamsOf, type ResultOf, type Response } from '../../src-shared/protocol/index.js';

export interface EngineProcess {
  post(msg: unknown, transfer?: ArrayBuffer[]): void;
  onMessage(cb: (msg: unknown) => void): void;
  onExit(cb: (code: number) => void): void;
  kill(): Promise<void>;
}

export type Spawner = () => EngineProcess;

export class EngineDiedError extends Error {
  override name = 'EngineDiedError';
}

/** Spawns the engine as a Node worker thread (TypeScript through tsx when running from source). */
export function workerThreadSpawner(opts: { backend?: string } = {}): Spawner {
  return () => {
    const { file, argv } = workerScript(import.meta.url, './engine.js');
    const w = new Worker(file, {
      argv,
      workerData: { backend: opts.backend ?? process.env.SKYSCORE_BACKEND ?? 'auto' },
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

export class EngineClient extends EventEmitter {
  private proc: EngineProcess | null = null;
  private nextId = 1;
  private pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private stopped = false;
  private startedAt = 0;
  private quickCrashes = 0;
  restarts = 0;

  constructor(private readonly spawn: Spawner) {
    super();
  }

  start(): void {
    const proc = this.spawn();
    this.proc = proc;
    this.startedAt = Date.now();
    this.emitEvent({ event: 'engine.status', data: { state: 'starting' } });
    proc.onMessage((msg) => this.onMessage(msg));
    proc.onExit((code) => {
      if (this.proc !== proc) return;
      this.proc = null;
      for (const [, p] of this.pending) p.reject(new EngineDiedError(`the engine stopped (exit code ${code})`));
      this.pending.clear();
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

  private emitEvent(ev: EngineEvent) {
    this.emit('event', ev);
  }

  private onMessage(msg: unknown) {
    if (isEngineEvent(msg)) {
      this.emitEvent(msg);
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
    if (res.ok) p.resolve(res.result);
    else p.reject(Object.assign(new Error(res.error.message), { code: res.error.code }));
  }

  /** Sends an already validated request body; returns the raw response for forwarding. */
  async forward(method: string, params: unknown, transfer?: ArrayBuffer[]): Promise<unknown> {
    if (!this.proc) {
      if (this.stopped) throw new EngineDiedError('the engine is stopped');
      this.start();
    }
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.proc!.post({ id, method, params }, transfer);
    });
  }

  request<M extends MethodName>(method: M, params: ParamsOf<M>): Promise<ResultOf<M>> {
    return this.forward(method, params) as Promise<ResultOf<M>>;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const p = this.proc;
    this.proc = null;
    for (const [, q] of this.pending) q.reject(new EngineDiedError('the engine was stopped'));
    this.pending.clear();
    if (p) await p.kill();
  }
}
