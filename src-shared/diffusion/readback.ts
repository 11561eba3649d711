/**
 * Reading tensors back to JavaScript. tfjs-webgpu reads synchronously (`dataSync`) through `OffscreenCanvas`,
 * which browsers have and Node does not, so in the Node hosts (the CLI, `serve`, Electron's main process and
 * their worker threads) a GPU backend can only read asynchronously. The sampling code therefore reads with
 * `await t.data()` wherever it runs in an async context; the one place that must decide inside a synchronous
 * score evaluation — the conjugate-gradient stopping test (likelihood/conjugate-gradients.ts) — asks `syncReadable()` first.
 */
import * as tf from '@tensorflow/tfjs-core';

/** Whether the active backend can read a tensor synchronously. */
export function syncReadable(): boolean {
  return tf.getBackend() !== 'webgpu' || typeof (globalThis as { OffscreenCanvas?: unknown }).OffscreenCanvas !== 'undefined';
}

/** The values of a tensor, read asynchronously; the tensor is disposed. */
export async function readAndDispose(t: tf.Tensor): Promise<Float32Array> {
  try {
    return (await t.data()) as Float32Array;
  } finally {
    t.dispose();
  }
}
