/**
 * Display benchmarks (src-shared/image): the statistics the engine computes for every FITS plane it sends
 * (finite values, sort, percentiles, zscale), the histogram-equalisation table, and the CPU reference renderer
 * (the viewer's fallback without a hardware GL) on a 2048 × 2048 float32 image.
 */
import type { Bench } from './types.js';
import { computeStats, histEqTable, renderRgba, zscaleFromValues } from '../../src-shared/image/index.js';

const N = 2048;

function testImage(): Float32Array {
  const d = new Float32Array(N * N);
  let s = 987654321;
  for (let i = 0; i < d.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    // sky background, noise and a few bright "stars"
    d[i] = 100 + (s / 4294967296) * 10 + (s % 997 === 0 ? 5000 : 0);
  }
  return d;
}

function time(f: () => void, reps = 3): number {
  let best = Infinity;
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    f();
    best = Math.min(best, performance.now() - t0);
  }
  return best;
}

export const benches: Bench[] = [
  {
    name: `image: display statistics of a ${N}×${N} plane (sort, percentiles, zscale)`,
    async run() {
      const d = testImage();
      const ms = time(() => computeStats(d), 2);
      return { ms, 'Mpixel/s': (N * N) / 1e3 / ms };
    },
  },
  {
    name: 'image: zscale alone (1000 samples)',
    async run() {
      const d = testImage();
      return { ms: time(() => zscaleFromValues(d)) };
    },
  },
  {
    name: `image: histogram-equalisation table, ${N}×${N}`,
    async run() {
      const d = testImage();
      const ms = time(() => histEqTable(d, 100, 200));
      return { ms, 'Mpixel/s': (N * N) / 1e3 / ms };
    },
  },
  {
    name: `image: CPU reference render (asinh, viridis), ${N}×${N}`,
    async run() {
      const d = testImage();
      const ms = time(() => renderRgba(d, N, N, { scale: 'asinh', lo: 100, hi: 200, colormap: 'viridis', invert: false }));
      return { ms, 'Mpixel/s': (N * N) / 1e3 / ms };
    },
  },
];
