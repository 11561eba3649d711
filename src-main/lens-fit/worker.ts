/**
 * The lens fit's worker thread (thread.ts starts it): reads the request as the engine checked it, runs the
 * orchestration that `skyscore lens-fit` runs, posts its progress lines and then the products.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { prepareLensFit } from './inputs.js';
import { runLensFit } from '../reconstruct/lens-fit-run.js';
import { defaultLensFitThreads } from './pool/pool.js';
import { UserInputError } from '../../src-shared/errors.js';
import type { LensFitWorkerData, LensFitWorkerMessage } from './thread.js';

const port = parentPort;
if (!port) throw new Error('lens-fit worker started without a parent port');
const { request, stop } = workerData as LensFitWorkerData;
const flag = new Int32Array(stop);
const post = (m: LensFitWorkerMessage, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);

try {
  const prep = prepareLensFit(request);
  const out = runLensFit(prep.inputs, prep.settings, prep.command, {
    onLine: (line) => post({ type: 'line', line }),
    shouldStop: () => Atomics.load(flag, 0) === 1,
    threads: defaultLensFitThreads(),
  });
  const enc = new TextEncoder();
  const files = out.files.map((f) => ({ name: f.name, bytes: typeof f.bytes === 'string' ? enc.encode(f.bytes) : f.bytes }));
  const buffers = files.map((f) => f.bytes.buffer as ArrayBuffer);
  post({ type: 'done', files, summary: out.summary }, buffers.filter((b, i) => buffers.indexOf(b) === i));
} catch (e) {
  const err = e as Error;
  post({ type: 'error', name: err?.name ?? 'Error', message: err?.message ?? String(e), input: e instanceof UserInputError });
}
