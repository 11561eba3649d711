/**
 * Entry point of the engine process. Runs as a Node child process (serve), a worker thread (tests) or as an
 * Electron utilityProcess (desktop). Messages in: requests (validated again here: the engine trusts no one).
 * Messages out: responses {id, ok, ...} and events {event, data}.
 */
import { parentPort as threadPort, workerData } from 'node:worker_threads';
import { setPriority } from 'node:os';
import { validateRequest, ProtocolError, type Response } from '../../src-shared/protocol/index.js';
import type { BackendName } from '../../src-shared/protocol/index.js';
import { createEngine } from './handlers.js';
import { UserInputError } from '../../src-shared/errors.js';

interface Port {
  post(msg: unknown, transfer?: ArrayBuffer[]): void;
  onMessage(cb: (msg: unknown) => void): void;
}

function connect(): { port: Port; kind: string } {
  const electronPort = (process as unknown as { parentPort?: { postMessage(m: unknown, t?: unknown[]): void; on(e: 'message', cb: (ev: { data: unknown }) => void): void } }).parentPort;
  if (electronPort) {
    return {
      kind: 'utilityProcess',
      port: {
        post: (m) => electronPort.postMessage(m),
        onMessage: (cb) => electronPort.on('message', (ev) => cb(ev.data)),
      },
    };
  }
  if (threadPort) {
    const p = threadPort;
    return {
      kind: 'worker_threads',
      port: {
        post: (m, t) => p.postMessage(m, t ?? []),
        onMessage: (cb) => p.on('message', cb),
      },
    };
  }
  if (process.send) {
    const send = process.send.bind(process);
    // the host is gone (it exited or was killed): so is its engine
    process.on('disconnect', () => process.exit(0));
    return {
      kind: 'child_process',
      port: {
        post: (m) => void send(m as object),
        onMessage: (cb) => process.on('message', cb),
      },
    };
  }
  throw new Error('engine worker started without a parent port');
}

const { port, kind } = connect();

/**
 * The engine computes below the UI's scheduling priority (nice 10, "below normal" on Windows), so that a run on
 * every core leaves the app's window and the rest of the desktop responsive; the threads it starts (sampling and
 * training workers, ONNX Runtime's pools) inherit it. SKYSCORE_ENGINE_NICE sets the value (0 keeps the host's).
 * As a worker thread it lowers only its own thread where the system has per-thread priorities (Linux), and
 * elsewhere leaves its host alone.
 */
function lowerPriority(): void {
  const nice = Number(process.env.SKYSCORE_ENGINE_NICE ?? 10);
  if (!Number.isInteger(nice) || nice <= 0 || nice > 19) return;
  if (kind === 'worker_threads' && process.platform !== 'linux') return;
  try {
    setPriority(0, nice);
  } catch {
    // not permitted here (a sandbox): the engine runs at its host's priority
  }
}
lowerPriority();
const requestedBackend = ((workerData as { backend?: string } | undefined)?.backend ?? process.env.SKYSCORE_BACKEND ?? 'auto') as BackendName | 'auto';
const engine = createEngine({ emit: (ev, t) => port.post(ev, t), backend: requestedBackend, processKind: kind });

port.onMessage(async (msg) => {
  const id = typeof (msg as { id?: unknown })?.id === 'number' ? (msg as { id: number }).id : -1;
  let res: Response;
  try {
    const req = validateRequest(msg);
    res = { id: req.id, ok: true, result: await engine.handle(req) };
  } catch (e) {
    const err = e as Error;
    const code = e instanceof ProtocolError ? 'bad-request' : e instanceof UserInputError ? 'input' : err?.name === 'CancelledError' ? 'cancelled' : 'internal';
    res = { id, ok: false, error: { code, message: err?.message ?? String(e) } };
    if (code === 'internal') console.error('[engine]', err?.stack ?? err);
  }
  port.post(res);
});
port.post({ event: 'engine.status', data: { state: 'ready' } });
