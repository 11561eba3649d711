/**
 * Data-parallel gradients on worker threads: each worker holds a replica of the U-Net on its own backend
 * (wasm runs one thread per instance in Node, so one worker per core uses the machine), takes a contiguous part
 * of the batch and returns its mean loss and gradient; the parts are combined weighted by their sizes.
 */
import { Worker } from 'node:worker_threads';
import type { GradientEngine, GradResult } from '../../src-shared/diffusion/train/engine.js';
import { partitionBatch } from '../../src-shared/diffusion/train/engine.js';
import type { Batch } from '../../src-shared/diffusion/train/data.js';
import type { UnetArch } from '../../src-shared/diffusion/nn/unet.js';
import type { BackendName } from '../../src-shared/protocol/index.js';
import { workerScript } from '../worker-script.js';

interface Pending {
  resolve(v: unknown): void;
  reject(e: Error): void;
}

class WorkerHandle {
  private next = 1;
  private readonly pending = new Map<number, Pending>();
  readonly ready: Promise<{ backend: BackendName }>;
  private failed: Error | null = null;

  constructor(readonly worker: Worker) {
    let readyResolve!: (v: { backend: BackendName }) => void;
    let readyReject!: (e: Error) => void;
    this.ready = new Promise((res, rej) => {
      readyResolve = res;
      readyReject = rej;
    });
    this.pending.set(0, { resolve: (v) => readyResolve(v as { backend: BackendName }), reject: readyReject });
    worker.on('message', (m: { id: number; ok: boolean; result?: unknown; error?: { name: string; message: string; stack?: string } }) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.ok) p.resolve(m.result);
      else {
        const e = new Error(m.error?.message ?? 'worker error');
        e.name = m.error?.name ?? 'Error';
        if (m.error?.stack) e.stack = m.error.stack;
        p.reject(e);
      }
    });
    const fail = (e: Error) => {
      this.failed = e;
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => {
      if (this.pending.size) fail(new Error(`training worker exited with code ${code}`));
    });
  }

  call<T>(msg: Record<string, unknown>, transfer: ArrayBuffer[] = []): Promise<T> {
    if (this.failed) return Promise.reject(this.failed);
    const id = this.next++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ ...msg, id }, transfer);
    });
  }
}

export interface PoolOptions {
  workers: number;
  backend: BackendName | 'auto';
  arch: UnetArch;
  imageShape: [number, number];
  values: Float32Array;
  microBatch: number;
}

const workerFile = () => workerScript(import.meta.url, './train-worker.js');

/** Copies the parts of a batch so each can be transferred to its worker. */
function own(b: Batch): Batch {
  return { n: b.n, ny: b.ny, nx: b.nx, x: b.x.slice(), noise: b.noise.slice(), sigma: b.sigma.slice() };
}

export class WorkerPoolEngine implements GradientEngine {
  readonly workers: number;
  readonly backend: BackendName;
  private readonly shared: Float32Array;

  private constructor(
    private readonly handles: WorkerHandle[],
    shared: Float32Array,
    backend: BackendName,
  ) {
    this.workers = handles.length;
    this.shared = shared;
    this.backend = backend;
  }

  static async create(o: PoolOptions): Promise<WorkerPoolEngine> {
    const sab = new SharedArrayBuffer(o.values.length * 4);
    const shared = new Float32Array(sab);
    shared.set(o.values);
    const { file, argv } = workerFile();
    const handles: WorkerHandle[] = [];
    for (let i = 0; i < o.workers; i++) {
      const w = new Worker(file, { argv, workerData: { backend: o.backend, arch: o.arch, imageShape: o.imageShape, microBatch: o.microBatch, params: sab } });
      handles.push(new WorkerHandle(w));
    }
    try {
      const infos = await Promise.all(handles.map((h) => h.ready));
      return new WorkerPoolEngine(handles, shared, infos[0].backend);
    } catch (e) {
      await Promise.all(handles.map((h) => h.worker.terminate()));
      throw e;
    }
  }

  async setParams(values: Float32Array): Promise<void> {
    this.shared.set(values);
    await Promise.all(this.handles.map((h) => h.call({ type: 'sync' })));
  }

  async gradient(batch: Batch): Promise<GradResult> {
    const parts = partitionBatch(batch, this.workers).map(own);
    const results = await Promise.all(
      parts.map((p, i) => this.handles[i].call<GradResult>({ type: 'grad', batch: p }, [p.x.buffer as ArrayBuffer, p.noise.buffer as ArrayBuffer, p.sigma.buffer as ArrayBuffer])),
    );
    const grads = results[0].grads;
    let loss = results[0].loss * (parts[0].n / batch.n);
    for (let i = 0; i < grads.length; i++) grads[i] *= parts[0].n / batch.n;
    for (let k = 1; k < results.length; k++) {
      const w = parts[k].n / batch.n;
      const g = results[k].grads;
      for (let i = 0; i < grads.length; i++) grads[i] += w * g[i];
      loss += results[k].loss * w;
    }
    return { loss, grads };
  }

  async loss(batch: Batch): Promise<number> {
    const parts = partitionBatch(batch, this.workers).map(own);
    const losses = await Promise.all(parts.map((p, i) => this.handles[i].call<number>({ type: 'loss', batch: p })));
    return losses.reduce((s, l, i) => s + (l * parts[i].n) / batch.n, 0);
  }

  async dispose(): Promise<void> {
    await Promise.allSettled(this.handles.map((h) => h.call({ type: 'close' })));
    await Promise.all(this.handles.map((h) => h.worker.terminate()));
  }
}
