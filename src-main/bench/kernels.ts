/**
 * Best-case kernel throughput for the benches' `peak` figures: GFLOP/s per core of one tfjs kernel on the current
 * backend, from CPU time (robust on a shared machine), the best of three runs after a warm-up.
 */
import * as tf from '@tensorflow/tfjs-core';

/** Milliseconds of CPU time (user + system) in a `process.cpuUsage` difference. */
export function cpuMs(c: NodeJS.CpuUsage): number {
  return (c.user + c.system) / 1000;
}

/** CPU milliseconds of the fastest of `reps` calls of `run`, after one untimed warm-up call. */
export function bestCpuMs(run: () => void, reps = 3): number {
  run();
  let best = Infinity;
  for (let i = 0; i < reps; i++) {
    const c0 = process.cpuUsage();
    run();
    best = Math.min(best, cpuMs(process.cpuUsage(c0)));
  }
  return best;
}

/** GFLOP/s per core of a `flop`-operation kernel over inputs that are disposed afterwards. */
function peakOf(inputs: tf.Tensor[], kernel: () => tf.Tensor, flop: number): number {
  // (never return a large typed array from tf.tidy: it walks it element by element looking for tensors)
  const best = bestCpuMs(() =>
    tf.tidy(() => {
      kernel().dataSync();
    }),
  );
  tf.dispose(inputs);
  return flop / best / 1e6;
}

/** Best-case matMul throughput (a 512³ product). */
export function matmulPeak(): number {
  const a = tf.randomNormal([512, 512]);
  const b = tf.randomNormal([512, 512]);
  return peakOf([a, b], () => tf.matMul(a, b), 2 * 512 ** 3);
}

/** Best-case 3×3 convolution throughput (16×64×64×32 → 32 channels), the U-Net's main kernel. */
export function convPeak(): number {
  const x = tf.randomNormal([16, 64, 64, 32]) as tf.Tensor4D;
  const w = tf.randomNormal([3, 3, 32, 32]) as tf.Tensor4D;
  return peakOf([x, w], () => tf.conv2d(x, w, 1, 'same'), 2 * 16 * 64 * 64 * 32 * 32 * 9);
}
