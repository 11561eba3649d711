/**
 * The page's side of the viewer's FITS worker (fits-worker.ts): open a file the user chose (a File is read in
 * the worker; bytes are copied to it) and fetch its planes, with the pixels and their pyramid transferred back.
 * One worker for the page, started while the page is idle. Where the worker cannot start at all (a host that
 * refuses workers), the files go to the engine instead (`fits.open` / `fits.plane`), as the same results.
 */
import { getClient } from '../api/client';
import { sha256Hex } from '../model/files';
import type { FitsOpenResult, FitsPlaneResult } from '../../../src-shared/protocol/fits';
import type { PyramidLevel } from '../../../src-shared/image/decimate';

export type WorkerRequest =
  | { id: number; op: 'open'; name: string; file?: Blob; bytes?: Uint8Array }
  | { id: number; op: 'plane'; fileId: string; hdu: number; plane: number }
  | { id: number; op: 'close'; fileId: string };

export type WorkerReply =
  | ({ id: number; op: 'open' } & LocalOpenResult)
  | { id: number; op: 'plane'; plane: FitsPlaneResult; levels: PyramidLevel[] }
  | { id: number; op: 'close' }
  | { id: number; op: 'error'; message: string; input: boolean };

/** A file opened in the worker: its HDUs, SHA-256 and, when a File was given, the page's copy of its bytes. */
export type LocalOpenResult = FitsOpenResult & { sha256: string; fileBytes?: Uint8Array };
export type LocalPlane = FitsPlaneResult & { levels: PyramidLevel[] };

/** An error the worker reported (`input`: the file's fault, e.g. not FITS). */
export class FitsWorkerError extends Error {
  override name = 'FitsWorkerError';
  constructor(
    message: string,
    readonly input: boolean,
  ) {
    super(message);
  }
}

/** The worker could not start (its script refused or failed to load): requests go to the engine. */
class WorkerUnavailable extends Error {}

let worker: Worker | null = null;
/** Whether the worker ever answered; one that fails before that is taken as unavailable for good. */
let alive = false;
let unavailable = false;
let nextId = 1;
const pending = new Map<number, { resolve: (r: WorkerReply) => void; reject: (e: Error) => void }>();
/** Files the engine opened (the fallback). */
const inEngine = new Set<string>();

function ensureWorker(): Worker | null {
  if (unavailable) return null;
  if (!worker) {
    try {
      worker = new Worker(new URL('./fits-worker.ts', import.meta.url), { type: 'module', name: 'fits' });
    } catch {
      unavailable = true;
      return null;
    }
    worker.onmessage = (e: MessageEvent<WorkerReply>) => {
      alive = true;
      const p = pending.get(e.data.id);
      if (!p) return;
      pending.delete(e.data.id);
      if (e.data.op === 'error') p.reject(new FitsWorkerError(e.data.message, e.data.input));
      else p.resolve(e.data);
    };
    worker.onerror = (e) => {
      // a failure of the worker itself (not of a file): every request waiting fails, the next starts a new one
      if (!alive) unavailable = true;
      for (const [, p] of pending) p.reject(alive ? new Error(`the FITS reader stopped: ${e.message || 'worker error'}`) : new WorkerUnavailable());
      pending.clear();
      worker?.terminate();
      worker = null;
    };
  }
  return worker;
}

/** Starts the worker while the page is idle (loading its script takes a moment on a slow machine). */
export function warmFitsWorker(): void {
  const start = () => void ensureWorker();
  if (typeof requestIdleCallback === 'function') requestIdleCallback(start, { timeout: 3000 });
  else setTimeout(start, 200);
}

function call(m: WorkerRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never): Promise<WorkerReply> {
  const w = ensureWorker();
  if (!w) return Promise.reject(new WorkerUnavailable());
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    w.postMessage({ ...m, id });
  });
}

/**
 * Opens a file: a File/Blob is read once, in the worker, which sends the page a copy of the bytes
 * (`fileBytes`); bytes given are copied to the worker.
 */
export async function openLocal(name: string, src: Blob | Uint8Array): Promise<LocalOpenResult> {
  try {
    const r = await call(src instanceof Uint8Array ? { op: 'open', name, bytes: src } : { op: 'open', name, file: src });
    if (r.op !== 'open') throw new Error('FITS worker: unexpected reply');
    const { id: _id, op: _op, ...res } = r;
    return res;
  } catch (e) {
    if (!(e instanceof WorkerUnavailable)) throw e;
    const bytes = src instanceof Uint8Array ? src : new Uint8Array(await src.arrayBuffer());
    const res = await getClient().request('fits.open', { name, bytes });
    inEngine.add(res.fileId);
    return { ...res, sha256: await sha256Hex(bytes), fileBytes: src instanceof Uint8Array ? undefined : bytes };
  }
}

export async function planeLocal(fileId: string, hdu: number, plane: number): Promise<LocalPlane> {
  if (inEngine.has(fileId)) return { ...(await getClient().request('fits.plane', { fileId, hdu, plane })), levels: [] };
  const r = await call({ op: 'plane', fileId, hdu, plane });
  if (r.op !== 'plane') throw new Error('FITS worker: unexpected reply');
  return { ...r.plane, levels: r.levels };
}

export function closeLocal(fileId: string): void {
  if (inEngine.delete(fileId)) void getClient().request('fits.close', { fileId }).catch(() => {});
  else void call({ op: 'close', fileId }).catch(() => {});
}
