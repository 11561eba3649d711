/**
 * The fused GroupNorm(+SiLU) kernel against the composite tfjs ops, forward and backward, on wasm and cpu;
 * its fast exp against Math.exp.
 */
import { describe, it, expect, afterAll } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src-main/engine/backend.js';
import { fusedGroupNormActive, groupNormAct, setFusedGroupNorm } from '../../src-shared/diffusion/nn/fused.js';
import { Rng } from '../../src-shared/diffusion/nn/rng.js';

const rng = new Rng(99);

function relErr(a: Float32Array, b: Float32Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return Math.sqrt(num / den);
}

function run(fused: boolean, shape: [number, number, number, number], groups: number, act: boolean, x: Float32Array, g: Float32Array, b: Float32Array, dy: Float32Array) {
  setFusedGroupNorm(fused);
  try {
    expect(fusedGroupNormActive()).toBe(fused);
    return tf.tidy(() => {
      const c = shape[3];
      const f = (xx: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.mul(groupNormAct(xx as tf.Tensor4D, gg, bb, groups, act), tf.tensor(dy, shape)));
      const y = groupNormAct(tf.tensor4d(x, shape), tf.tensor1d(g), tf.tensor1d(b), groups, act).dataSync() as Float32Array;
      const [dx, dg, db] = tf.grads(f)([tf.tensor4d(x, shape), tf.tensor1d(g), tf.tensor1d(b)]).map((t) => t.dataSync() as Float32Array);
      expect(dg.length).toBe(c);
      return { y: y.slice(), dx: dx.slice(), dg: dg.slice(), db: db.slice() };
    });
  } finally {
    setFusedGroupNorm(true);
  }
}

describe('fused GroupNorm + SiLU kernel', () => {
  afterAll(async () => {
    setFusedGroupNorm(true);
    await initBackend('wasm');
  });

  it('is exact for activations with a large offset (two-pass variance), against a float64 reference', async () => {
    await initBackend('wasm');
    const [n, h, w, c, groups] = [2, 8, 8, 8, 2];
    const x = new Float32Array(n * h * w * c).map(() => 1000 + 0.01 * rng.normal());
    const y = tf.tidy(() => groupNormAct(tf.tensor4d(x, [n, h, w, c]), tf.ones([c]), tf.zeros([c]), groups, false).dataSync() as Float32Array).slice();
    const cg = c / groups;
    let worst = 0;
    for (let s = 0; s < n; s++) {
      for (let g = 0; g < groups; g++) {
        const idx: number[] = [];
        for (let q = 0; q < h * w; q++) for (let k = g * cg; k < (g + 1) * cg; k++) idx.push(s * h * w * c + q * c + k);
        const mean = idx.reduce((p, i) => p + x[i], 0) / idx.length;
        const sd = Math.sqrt(idx.reduce((p, i) => p + (x[i] - mean) ** 2, 0) / idx.length + 1e-6);
        for (const i of idx) worst = Math.max(worst, Math.abs(y[i] - (x[i] - mean) / sd));
      }
    }
    // float32 input quantisation near 1000 is 6e-5, i.e. 0.006 of the 0.01 spread: the normalised values carry that
    expect(worst).toBeLessThan(2e-2);
  });

  for (const backend of ['wasm', 'cpu'] as const) {
    for (const act of [true, false]) {
      it(`matches GroupNorm${act ? ' + SiLU' : ''} as tfjs ops, value and gradients (${backend})`, async () => {
        await initBackend(backend);
        const shape: [number, number, number, number] = [3, 6, 5, 12];
        const n = shape.reduce((p, q) => p * q, 1);
        // an offset and a scale per channel, as activations have: the statistics must not lose precision
        const x = new Float32Array(n).map((_, i) => 3 + (1 + (i % 12)) * rng.normal());
        const g = rng.fillNormal(new Float32Array(12));
        const b = rng.fillNormal(new Float32Array(12));
        const dy = rng.fillNormal(new Float32Array(n));
        for (const groups of [3, 4]) {
          const ref = run(false, shape, groups, act, x, g, b, dy);
          const got = run(true, shape, groups, act, x, g, b, dy);
          expect(relErr(got.y, ref.y)).toBeLessThan(1e-5);
          expect(relErr(got.dx, ref.dx)).toBeLessThan(1e-4);
          expect(relErr(got.dg, ref.dg)).toBeLessThan(1e-5);
          expect(relErr(got.db, ref.db)).toBeLessThan(1e-5);
        }
      });
    }
  }

  it('keeps the tensor count flat and refuses channels that do not split into the groups', async () => {
    await initBackend('wasm');
    const x = tf.randomNormal([2, 4, 4, 8]) as tf.Tensor4D;
    const g = tf.ones([8]);
    const b = tf.zeros([8]);
    const step = () =>
      tf.tidy(() => {
        tf.grads((xx: tf.Tensor, gg: tf.Tensor) => tf.sum(tf.square(groupNormAct(xx as tf.Tensor4D, gg, b, 2, true))))([x, g]).forEach((t) => t.dataSync());
      });
    step();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 10; i++) step();
    expect(tf.memory().numTensors).toBe(before);
    expect(() => groupNormAct(x, g, b, 3, true)).toThrow(/8 channels do not split into 3 groups/);
    tf.dispose([x, g, b]);
  });
});
