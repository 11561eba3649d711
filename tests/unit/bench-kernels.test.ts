/**
 * The benches' kernel-timing helpers (src-main/bench/kernels.ts): CPU time in ms, the best of `reps` timed runs
 * after one warm-up, and a peak figure that is a finite throughput and leaks no tensors.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src-main/engine/backend.js';
import { bestCpuMs, cpuMs, matmulPeak } from '../../src-main/bench/kernels.js';

/** Burns roughly `ms` of CPU time. */
function spin(ms: number): void {
  const c0 = process.cpuUsage();
  let x = 0;
  while (cpuMs(process.cpuUsage(c0)) < ms) x += Math.sqrt(x + 1);
  if (!Number.isFinite(x)) throw new Error('unreachable');
}

describe('bench kernel timing', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  it('reads user + system microseconds as milliseconds', () => {
    expect(cpuMs({ user: 1500, system: 2500 })).toBe(4);
  });

  it('calls the kernel once untimed, then reps times, and returns the fastest timed call', () => {
    // the untimed warm-up is the slowest call: it must not be the one reported
    const costs = [40, 20, 5, 30];
    let calls = 0;
    const best = bestCpuMs(() => spin(costs[calls++]));
    expect(calls).toBe(4);
    expect(best).toBeGreaterThanOrEqual(5);
    expect(best).toBeLessThan(20);
    let n = 0;
    bestCpuMs(() => void n++, 5);
    expect(n).toBe(6);
  });

  it('measures a matMul peak in GFLOP/s per core without leaking tensors', () => {
    const before = tf.memory().numTensors;
    const peak = matmulPeak();
    expect(tf.memory().numTensors).toBe(before);
    expect(Number.isFinite(peak)).toBe(true);
    expect(peak).toBeGreaterThan(0);
  });
});
