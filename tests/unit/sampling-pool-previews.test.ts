/**
 * The worker pool's previews (src-main/sampling/pool.ts mergePreviews): each worker reports the running mean and
 * standard deviation of its own chains; merged, they are the whole run's — what the in-thread driver shows —
 * and the samples shown are the first chains in worker order.
 */
import { describe, expect, it } from 'vitest';
import { mergePreviews, type WorkerPreview } from '../../src-main/sampling/pool.js';
import { Welford } from '../../src-shared/diffusion/welford.js';
import { ChainRandom } from '../../src-shared/diffusion/chain-rng.js';

const per = 50;

function chains(n: number, seed: number): Float32Array {
  const r = new ChainRandom(seed, 0);
  return Float32Array.from({ length: n * per }, (_, i) => 3 * r.normal() + (i % per) * 0.1);
}

function preview(c: Float32Array, count: number, shown: number): WorkerPreview {
  const w = new Welford(per);
  w.addBatch(c, count);
  const { mean, std } = w.result();
  return { count, mean, std, samples: c.slice(0, shown * per), nSamples: shown, last: false };
}

describe('worker previews merged', () => {
  it('give the mean and standard deviation (n − 1) of all the chains, and the first chains in worker order', () => {
    const [a, b, c] = [chains(3, 1), chains(5, 2), chains(1, 3)];
    const m = mergePreviews([preview(a, 3, 3), preview(b, 5, 4), preview(c, 1, 1)], per, 5);
    const all = new Welford(per);
    all.addBatch(Float32Array.from([...a, ...b, ...c]), 9);
    const want = all.result();
    for (let i = 0; i < per; i++) {
      expect(m.mean[i]).toBeCloseTo(want.mean[i]!, 5);
      expect(m.std[i]).toBeCloseTo(want.std[i]!, 4);
    }
    expect(m.nSamples).toBe(5);
    expect(Array.from(m.samples)).toEqual([...a, ...b.subarray(0, 2 * per)]);
  });

  it('a worker with one chain so far contributes its state (no spread of its own)', () => {
    const [a, b] = [chains(1, 4), chains(1, 5)];
    const m = mergePreviews([preview(a, 1, 1), preview(b, 1, 1)], per, 8);
    for (let i = 0; i < per; i++) {
      expect(m.mean[i]).toBeCloseTo((a[i]! + b[i]!) / 2, 5);
      expect(m.std[i]).toBeCloseTo(Math.abs(a[i]! - b[i]!) / Math.SQRT2, 4);
    }
    expect(m.nSamples).toBe(2);
  });
});
