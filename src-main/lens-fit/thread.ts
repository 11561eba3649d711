/**
 * The lens fit in a worker thread of its own (worker.ts beside this file), so that a host stays responsive while
 * it runs (the fit is synchronous float64 work) and a Stop ends it: the stop is a flag in shared memory that the
 * orchestration polls at each of the fit's progress calls (every ~40 evaluations, a fraction of a second), and
 * a thread that has not ended a few seconds after it is terminated.
 */
import { Worker } from 'node:worker_threads';
import { workerScript } from '../worker-script.js';
import { LensFitRequestError, type LensFitRequest } from './inputs.js';
import type { LensFitLine } from '../reconstruct/lens-fit-run.js';
import type { NamedFile } from '../../src-shared/protocol/index.js';

/** What the worker posts. */
export type LensFitWorkerMessage =
  | { type: 'line'; line: LensFitLine }
  | { type: 'done'; files: NamedFile[]; summary: string }
  | { type: 'error'; name: string; message: string; input: boolean };

export interface LensFitWorkerData {
  request: LensFitRequest;
  /** Int32Array over it: [0] = 1 asks the fit to stop */
  stop: SharedArrayBuffer;
}

/** How long a stopped fit may take to reach its next progress call before its thread is terminated. */
export const STOP_GRACE_MS = 3000;

export class LensFitCancelled extends Error {
  override name = 'CancelledError';
}

const workerFile = () => workerScript(import.meta.url, './lens-fit-worker.js');

export function runLensFitThread(request: LensFitRequest, o: { signal: AbortSignal; onLine?: (l: LensFitLine) => void }): Promise<{ files: NamedFile[]; summary: string }> {
  const stop = new SharedArrayBuffer(4);
  const flag = new Int32Array(stop);
  const { file, argv } = workerFile();
  const data: LensFitWorkerData = { request, stop };
  const w = new Worker(file, { argv, workerData: data });
  return new Promise((resolve, reject) => {
    let settled = false;
    let killer: ReturnType<typeof setTimeout> | null = null;
    const settle = (f: () => void) => {
      if (settled) return;
      settled = true;
      o.signal.removeEventListener('abort', onAbort);
      if (killer) clearTimeout(killer);
      f();
    };
    const onAbort = () => {
      Atomics.store(flag, 0, 1);
      killer = setTimeout(() => {
        void w.terminate();
        settle(() => reject(new LensFitCancelled('the lens fit was stopped')));
      }, STOP_GRACE_MS);
    };
    if (o.signal.aborted) onAbort();
    else o.signal.addEventListener('abort', onAbort, { once: true });
    w.on('message', (m: LensFitWorkerMessage) => {
      if (m.type === 'line') o.onLine?.(m.line);
      else if (m.type === 'done') settle(() => resolve({ files: m.files, summary: m.summary }));
      else {
        const e = m.name === 'CancelledError' ? new LensFitCancelled(m.message) : m.input ? new LensFitRequestError(m.message) : new Error(m.message);
        settle(() => reject(e));
      }
    });
    w.on('error', (e) => settle(() => reject(e)));
    w.on('exit', (code) => settle(() => reject(o.signal.aborted ? new LensFitCancelled('the lens fit was stopped') : new Error(`the lens fit's thread ended (exit code ${code}) before its result`))));
  });
}
