/**
 * Backend figures: start-up time and the throughput of the reference convolution of docs/architecture.md
 * (16×64×64×32 → 32 channels, 3×3, NHWC) on each CPU backend available here.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Bench } from './types.js';
import { initBackend } from '../engine/backend.js';
import type { BackendName } from '../../src-shared/protocol/index.js';

async function convFigures(backend: BackendName): Promise<Record<string, number | string>> {
  const info = await initBackend(backend);
  const x = tf.randomNormal([16, 64, 64, 32]) as tf.Tensor4D;
  const w = tf.randomNormal([3, 3, 32, 32]) as tf.Tensor4D;
  const run = async () => {
    const y = tf.conv2d(x, w, 1, 'same');
    await y.data();
    y.dispose();
  };
  await run();
  const reps = backend === 'cpu' ? 1 : 5;
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) await run();
  const ms = (performance.now() - t0) / reps;
  const flop = 2 * 16 * 64 * 64 * 32 * 32 * 9;
  x.dispose();
  w.dispose();
  return { initMs: info.initMs, convMs: ms, gflops: flop / ms / 1e6 };
}

export const benches: Bench[] = (['wasm', 'cpu'] as BackendName[]).map((b) => ({
  name: `backend ${b}: conv 16x64x64x32->32 3x3`,
  run: () => convFigures(b),
}));
