/**
 * conv2d with the forward-op gradient (the wasm backend has no Conv2DBackpropFilter): adjoint identity,
 * finite differences, and agreement with tfjs's native gradients on the cpu backend; and the gradient
 * registrations (finite differences for every registered kernel family used by the networks).
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src-main/engine/backend.js';
import { conv2d, convFilterGrad, convFilterGradMatMul, convGradPath, convInputGrad, setConvGradMode, usesForwardOpGrad } from '../../src-shared/diffusion/nn/conv.js';
import { Rng } from '../../src-shared/diffusion/nn/rng.js';
import '../../src-shared/diffusion/nn/gradients.js';

const rng = new Rng(7);
function randn(shape: number[]): Float32Array {
  return rng.fillNormal(new Float32Array(shape.reduce((a, b) => a * b, 1)));
}
function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}
function maxRelErr(a: Float32Array, b: Float32Array): number {
  let m = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) scale = Math.max(scale, Math.abs(b[i]));
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m / scale;
}

/** Gradients of L = Σ (conv(x, w) + b) · r w.r.t. x, w, b under the current backend and mode. */
function convGrads(x: Float32Array, xs: number[], w: Float32Array, ws: number[], b: Float32Array, r: Float32Array, rs: number[]) {
  return tf.tidy(() => {
    const f = (xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.mul(conv2d(xx as tf.Tensor4D, ww as tf.Tensor4D, bb as tf.Tensor1D), tf.tensor(r, rs)));
    const g = tf.grads(f)([tf.tensor(x, xs), tf.tensor(w, ws), tf.tensor(b, [ws[3]])]);
    return g.map((t) => t.dataSync() as Float32Array);
  });
}

describe('conv2d forward-op gradient', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });
  afterAll(() => setConvGradMode('auto'));

  it('is what the wasm backend uses (it lacks Conv2DBackpropFilter)', () => {
    expect(tf.getBackend()).toBe('wasm');
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeUndefined();
    setConvGradMode('auto');
    expect(usesForwardOpGrad()).toBe(true);
  });

  for (const k of [1, 3, 5]) {
    it(`dX is the adjoint of the convolution and dW its filter adjoint (k=${k})`, () => {
      const xs = [2, 9, 7, 3];
      const ws = [k, k, 3, 4];
      const x = randn(xs);
      const w = randn(ws);
      const y = randn([2, 9, 7, 4]);
      const [ax, aw, lhs] = tf.tidy(() => {
        const xt = tf.tensor4d(x, xs as [number, number, number, number]);
        const wt = tf.tensor4d(w, ws as [number, number, number, number]);
        const yt = tf.tensor4d(y, [2, 9, 7, 4]);
        const cx = tf.conv2d(xt, wt, 1, 'same').dataSync();
        return [convInputGrad(yt, wt).dataSync(), convFilterGrad(xt, yt, k).dataSync(), dot(cx, y)];
      });
      // ⟨A x, y⟩ = ⟨x, Aᵀ y⟩ for the input adjoint, and ⟨A x, y⟩ = ⟨w, ∂/∂w⟩ for the filter (A is linear in w).
      expect(dot(x, ax)).toBeCloseTo(lhs, 2);
      expect(Math.abs(dot(x, ax) - lhs) / Math.abs(lhs)).toBeLessThan(1e-5);
      expect(Math.abs(dot(w, aw) - lhs) / Math.abs(lhs)).toBeLessThan(1e-5);
    });
  }

  it('matches central finite differences on random entries', () => {
    const xs = [2, 8, 8, 3];
    const ws = [3, 3, 3, 5];
    const x = randn(xs);
    const w = randn(ws);
    const b = randn([5]);
    const r = randn([2, 8, 8, 5]);
    setConvGradMode('forward-ops');
    const [gx, gw, gb] = convGrads(x, xs, w, ws, b, r, [2, 8, 8, 5]);
    const loss = (xx: Float32Array, ww: Float32Array, bb: Float32Array) =>
      tf.tidy(() => tf.sum(tf.mul(tf.add(tf.conv2d(tf.tensor4d(xx, xs as [number, number, number, number]), tf.tensor4d(ww, ws as [number, number, number, number]), 1, 'same'), tf.tensor1d(bb)), tf.tensor(r, [2, 8, 8, 5]))).dataSync()[0]);
    // L is linear in each argument, so central differences are exact up to float32 rounding; step 0.5.
    const h = 0.5;
    for (const [arr, g, which] of [
      [x, gx, 0],
      [w, gw, 1],
      [b, gb, 2],
    ] as Array<[Float32Array, Float32Array, number]>) {
      for (let t = 0; t < 6; t++) {
        const i = rng.int(arr.length);
        const p = arr.slice();
        const m = arr.slice();
        p[i] += h;
        m[i] -= h;
        const args = (v: Float32Array): [Float32Array, Float32Array, Float32Array] => (which === 0 ? [v, w, b] : which === 1 ? [x, v, b] : [x, w, v]);
        const fd = (loss(...args(p)) - loss(...args(m))) / (2 * h);
        expect(Math.abs(fd - g[i])).toBeLessThan(2e-3 * (1 + Math.abs(g[i])));
      }
    }
  });

  it('agrees with the cpu backend native gradients (wasm forward-op, cpu forward-op, cpu native)', async () => {
    const xs = [3, 12, 10, 4];
    const ws = [3, 3, 4, 6];
    const x = randn(xs);
    const w = randn(ws);
    const b = randn([6]);
    const r = randn([3, 12, 10, 6]);
    setConvGradMode('auto');
    const wasm = convGrads(x, xs, w, ws, b, r, [3, 12, 10, 6]);
    await initBackend('cpu');
    try {
      setConvGradMode('native');
      expect(usesForwardOpGrad()).toBe(false);
      const native = convGrads(x, xs, w, ws, b, r, [3, 12, 10, 6]);
      setConvGradMode('forward-ops');
      const custom = convGrads(x, xs, w, ws, b, r, [3, 12, 10, 6]);
      for (let i = 0; i < 3; i++) {
        expect(maxRelErr(custom[i], native[i])).toBeLessThan(1e-5);
        expect(maxRelErr(wasm[i], native[i])).toBeLessThan(1e-5);
      }
    } finally {
      setConvGradMode('auto');
      await initBackend('wasm');
    }
  });

  it('the matmul filter gradient (the webgpu path) equals the forward-op one and the cpu native gradient', async () => {
    for (const k of [1, 3, 5]) {
      const xs = [3, 9, 7, 4];
      const x = randn(xs);
      const dy = randn([3, 9, 7, 5]);
      const [mm, fo] = tf.tidy(() => {
        const xt = tf.tensor4d(x, xs as [number, number, number, number]);
        const yt = tf.tensor4d(dy, [3, 9, 7, 5]);
        return [convFilterGradMatMul(xt, yt, k).dataSync() as Float32Array, convFilterGrad(xt, yt, k).dataSync() as Float32Array];
      });
      expect(mm.length).toBe(k * k * 4 * 5);
      expect(maxRelErr(mm, fo)).toBeLessThan(1e-5);
    }
    const xs = [3, 12, 10, 4];
    const ws = [3, 3, 4, 6];
    const [x, w, b, r] = [randn(xs), randn(ws), randn([6]), randn([3, 12, 10, 6])];
    await initBackend('cpu');
    try {
      setConvGradMode('native');
      const native = convGrads(x, xs, w, ws, b, r, [3, 12, 10, 6]);
      setConvGradMode('matmul');
      expect(convGradPath()).toBe('matmul');
      const mm = convGrads(x, xs, w, ws, b, r, [3, 12, 10, 6]);
      for (let i = 0; i < 3; i++) expect(maxRelErr(mm[i], native[i])).toBeLessThan(1e-5);
      setConvGradMode('auto');
      expect(convGradPath()).toBe('native');
    } finally {
      setConvGradMode('auto');
      await initBackend('wasm');
    }
  });

  it('keeps the tensor count flat across forward and backward passes', () => {
    const x = tf.randomNormal([2, 8, 8, 3]);
    const w = tf.randomNormal([3, 3, 3, 4]);
    const step = () =>
      tf.tidy(() => {
        const g = tf.grads((xx: tf.Tensor, ww: tf.Tensor) => tf.sum(tf.square(conv2d(xx as tf.Tensor4D, ww as tf.Tensor4D))))([x, w]);
        g.forEach((t) => t.dataSync());
      });
    step();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 10; i++) step();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, w]);
  });
});

describe('registered gradients (finite differences)', () => {
  beforeAll(async () => {
    await initBackend('cpu');
  });
  afterAll(async () => {
    await initBackend('wasm');
  });

  /** Checks d/dx of a scalar function at x against central differences in 4 random coordinates. */
  function checkGrad(name: string, f: (x: tf.Tensor) => tf.Tensor, shape: number[], opts: { positive?: boolean; h?: number; tol?: number } = {}) {
    const x0 = randn(shape).map((v) => (opts.positive ? 0.5 + Math.abs(v) : v));
    const g = tf.tidy(() => tf.grad((x: tf.Tensor) => tf.sum(f(x)))(tf.tensor(x0, shape)).dataSync() as Float32Array);
    const val = (v: Float32Array) => tf.tidy(() => tf.sum(f(tf.tensor(v, shape))).dataSync()[0]);
    const h = opts.h ?? 1e-2;
    for (let t = 0; t < 4; t++) {
      const i = rng.int(x0.length);
      const p = x0.slice();
      const m = x0.slice();
      p[i] += h;
      m[i] -= h;
      const fd = (val(p) - val(m)) / (2 * h);
      expect(Math.abs(fd - g[i]), `${name} at ${i}: fd ${fd} grad ${g[i]}`).toBeLessThan((opts.tol ?? 2e-2) * (1 + Math.abs(g[i])));
    }
  }

  const w = () => tf.tensor(randn([4, 5]), [4, 5]);
  const ramp = (shape: number[]) => tf.reshape(tf.range(0, shape.reduce((a, b) => a * b, 1)), shape);
  it('element-wise and broadcasting kernels', () => {
    const c = tf.tensor(randn([1, 5]), [1, 5]);
    checkGrad('add/sub/mul/div broadcast', (x) => tf.div(tf.sub(tf.mul(tf.add(x, c), c), x), tf.add(tf.square(c), 1)), [3, 5]);
    checkGrad('sigmoid·x (silu)', (x) => tf.mul(x, tf.sigmoid(x)), [3, 5]);
    checkGrad('tanh, softplus, exp', (x) => tf.add(tf.tanh(x), tf.add(tf.softplus(x), tf.exp(tf.mul(x, 0.3)))), [3, 5]);
    checkGrad('log, sqrt, rsqrt', (x) => tf.add(tf.log(x), tf.add(tf.sqrt(x), tf.rsqrt(x))), [3, 5], { positive: true, h: 1e-3 });
    checkGrad('sin, cos, neg', (x) => tf.neg(tf.mul(tf.sin(x), tf.cos(x))), [3, 5]);
    checkGrad('pow', (x) => tf.pow(x, tf.scalar(2.5)), [3, 5], { positive: true, h: 1e-3 });
    checkGrad('maximum/minimum/abs', (x) => tf.add(tf.maximum(x, c), tf.add(tf.minimum(x, 0.2), tf.abs(x))), [3, 5], { h: 1e-3 });
    checkGrad('squaredDifference', (x) => tf.squaredDifference(x, c), [3, 5]);
  });

  it('reductions, shapes and matrix products', () => {
    checkGrad('mean keepDims', (x) => tf.square(tf.sub(x, tf.mean(x, [1, 2], true))), [2, 3, 4]);
    checkGrad('sum axis', (x) => tf.square(tf.sum(x, 1)), [2, 3, 4]);
    checkGrad('max', (x) => tf.max(x, 1), [3, 5], { h: 1e-3 });
    checkGrad('reshape/transpose', (x) => tf.mul(tf.transpose(tf.reshape(x, [4, 3, 2]), [2, 0, 1]), ramp([2, 4, 3])), [2, 3, 4]);
    checkGrad('concat/split', (x) => {
      const [a, b] = tf.split(x, [2, 3], 1);
      return tf.square(tf.concat([tf.mul(b, 2), a], 1));
    }, [3, 5]);
    checkGrad('slice/pad', (x) => tf.square(tf.pad(tf.slice(x, [1, 1], [2, 3]), [[1, 0], [0, 2]])), [3, 5]);
    checkGrad('tile', (x) => tf.mul(tf.tile(x, [2, 3]), ramp([6, 15])), [3, 5]);
    checkGrad('stack/unstack', (x) => tf.square(tf.stack(tf.unstack(x, 0).slice().reverse(), 1)), [3, 5]);
    checkGrad('unstack/split of a single slice', (x) => tf.add(tf.square(tf.stack(tf.unstack(x, 0))), tf.concat(tf.split(x, 1, 0), 0)), [1, 5]);
    const W = w(); // [4, 5]; x [3, 5]
    checkGrad('matMul all transposes', (x) => {
      const Wt = tf.transpose(W);
      const xt = tf.transpose(x);
      const r = (m: tf.Tensor) => tf.mul(m, ramp([3, 4]));
      return tf.add(tf.add(r(tf.matMul(x, Wt)), r(tf.matMul(x, W, false, true))), tf.add(r(tf.matMul(xt, Wt, true, false)), r(tf.matMul(xt, W, true, true))));
    }, [3, 5]);
    checkGrad('batched matMul + softmax', (x) => tf.mul(tf.softmax(tf.matMul(x, x, false, true)), ramp([2, 3, 3])), [2, 3, 4]);
    checkGrad('avgPool', (x) => tf.square(tf.avgPool(x as tf.Tensor4D, 2, 2, 'valid')), [1, 4, 6, 2]);
    checkGrad('where/clip', (x) => tf.add(tf.where(tf.greater(x, 0), tf.square(x), tf.mul(x, 3)), tf.clipByValue(x, -0.5, 0.5)), [3, 5], { h: 1e-3 });
  });

  it('second derivatives (gradients of gradients) for the MLP ops', () => {
    // d²/dx² Σ softplus(x)·tanh(x): compare tf.grad(tf.grad) with differences of the first gradient.
    const f = (x: tf.Tensor) => tf.mul(tf.softplus(x), tf.tanh(x));
    const g1 = (x: tf.Tensor) => tf.grad((y: tf.Tensor) => tf.sum(f(y)))(x);
    checkGrad('second derivative', g1, [4, 3]);
  });
});
