/**
 * A training worker thread: one tfjs backend and one copy of the U-Net; computes DSM losses and gradients for the
 * part of each batch it is given. Parameters arrive through a SharedArrayBuffer written by the main thread
 * between steps (never while a worker computes).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { initBackend } from '../engine/backend.js';
import { LocalUnetEngine } from '../../src-shared/diffusion/train/engine.js';
import type { Batch } from '../../src-shared/diffusion/train/data.js';
import type { UnetArch } from '../../src-shared/diffusion/nn/unet.js';
import type { BackendName } from '../../src-shared/protocol/index.js';

interface Init {
  backend: BackendName | 'auto';
  arch: UnetArch;
  imageShape: [number, number];
  microBatch: number;
  params: SharedArrayBuffer;
}

type Msg = { id: number; type: 'sync' } | { id: number; type: 'grad' | 'loss'; batch: Batch } | { id: number; type: 'close' };

const port = parentPort;
if (!port) throw new Error('training worker started without a parent port');
const init = workerData as Init;
const shared = new Float32Array(init.params);

const ready = (async () => {
  const info = await initBackend(init.backend);
  const engine = new LocalUnetEngine(init.arch, shared.slice(), init.imageShape, init.microBatch);
  return { info, engine };
})();

ready.then(
  ({ info }) => port.postMessage({ id: 0, ok: true, result: { backend: info.backend } }),
  (e) => port.postMessage({ id: 0, ok: false, error: { name: (e as Error).name, message: (e as Error).message } }),
);

port.on('message', async (msg: Msg) => {
  try {
    const { engine } = await ready;
    switch (msg.type) {
      case 'sync':
        await engine.setParams(shared);
        port.postMessage({ id: msg.id, ok: true, result: null });
        break;
      case 'grad': {
        const r = await engine.gradient(msg.batch);
        port.postMessage({ id: msg.id, ok: true, result: r }, [r.grads.buffer as ArrayBuffer]);
        break;
      }
      case 'loss':
        port.postMessage({ id: msg.id, ok: true, result: await engine.loss(msg.batch) });
        break;
      case 'close':
        await engine.dispose();
        port.postMessage({ id: msg.id, ok: true, result: null });
        port.close();
        break;
    }
  } catch (e) {
    port.postMessage({ id: msg.id, ok: false, error: { name: (e as Error).name, message: (e as Error).message, stack: (e as Error).stack } });
  }
});
