/**
 * A worker of the lens fit's pool (pool.ts beside this file): builds the fit's evidence functions from the state
 * once per fit, then takes tasks of each batch by the shared counter until none is left, posting each result (and
 * a start's progress) on its port and bumping the shared signal after every message.
 */
import { workerData, parentPort } from 'node:worker_threads';
import { lensFitTaskRunner, type LensFitSplitResult, type LensFitTaskResult } from '../../../src-shared/lensing/fit.js';
import { runCholeskyTask } from '../../../src-shared/linalg/cholesky.js';
import { NEXT, SIGNAL, type LensFitPoolMessage, type LensFitPoolRequest, type LensFitPoolWorkerData } from './pool.js';

const parent = parentPort;
if (!parent) throw new Error('lens-fit pool worker started without a parent port');
const { control, port } = workerData as LensFitPoolWorkerData;
const ctl = new Int32Array(control);
const send = (m: LensFitPoolMessage, transfer: ArrayBuffer[] = []) => {
  port.postMessage(m, transfer);
  Atomics.add(ctl, SIGNAL, 1);
  Atomics.notify(ctl, SIGNAL);
};
let runner: ReturnType<typeof lensFitTaskRunner> | null = null;

parent.on('message', (m: LensFitPoolRequest) => {
  try {
    if (m.type === 'state') {
      runner = lensFitTaskRunner(m.state);
      return;
    }
    if (m.type === 'cholesky') {
      // a panel's parts of a factorisation in shared memory (choleskyBlockedThreaded): no state needed
      for (let i = Atomics.add(ctl, NEXT, 1); i < m.tasks.length; i = Atomics.add(ctl, NEXT, 1)) {
        runCholeskyTask(m.tasks[i]);
        send({ type: 'result', index: i, result: null });
      }
      send({ type: 'idle' });
      return;
    }
    if (!runner) throw new Error('a batch before the fit\'s state');
    if (m.type === 'split') {
      // a split evaluation's parts: the blurred matrix's rows handed over (their buffers moved, not copied), F's
      // bands written into the host's shared F and d
      for (let i = Atomics.add(ctl, NEXT, 1); i < m.tasks.length; i = Atomics.add(ctl, NEXT, 1)) {
        const result: LensFitSplitResult = runner.split(m.tasks[i]);
        const transfer = result.kind === 'rows' ? [result.B.rowPtr.buffer, result.B.colIdx.buffer, result.B.values.buffer].filter((b): b is ArrayBuffer => b instanceof ArrayBuffer) : [];
        send({ type: 'result', index: i, result }, transfer);
      }
      send({ type: 'idle' });
      return;
    }
    for (let i = Atomics.add(ctl, NEXT, 1); i < m.tasks.length; i = Atomics.add(ctl, NEXT, 1)) {
      const result: LensFitTaskResult = runner.run(m.tasks[i], (progress) => send({ type: 'progress', progress }));
      send({ type: 'result', index: i, result });
    }
    send({ type: 'idle' });
  } catch (e) {
    send({ type: 'error', message: (e as Error)?.message ?? String(e) });
  }
});
send({ type: 'ready' });
