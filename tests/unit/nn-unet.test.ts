/**
 * The U-Net score model: shapes and fully-convolutional use, s = net/σ, gradients (w.r.t. parameters and input:
 * directional finite differences; wasm forward-op gradients against cpu native ones), weights in the tfjs format
 * (float32 exact, float16 within half precision), model.json validation, and a flat tensor count.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src-main/engine/backend.js';
import { UnetScoreModel, unetLayout, unetFlops, unetPadding, downFactor, type UnetArch } from '../../src-shared/diffusion/nn/unet.js';
import { encodeWeights, decodeWeights, toHalf, fromHalf } from '../../src-shared/diffusion/nn/weights.js';
import { createUnetFromWeights, validatePriorMeta } from '../../src-shared/diffusion/nn/prior-meta.js';
import { setConvGradMode } from '../../src-shared/diffusion/nn/conv.js';
import { dsmLoss } from '../../src-shared/diffusion/train/objectives.js';
import { Rng } from '../../src-shared/diffusion/nn/rng.js';
import { tinyUnetMeta } from '../helpers/unet-meta.js';

const ARCH: UnetArch = { nf: 8, chMult: [1, 2], numResBlocks: 1, attention: true, embeddingDim: 16, fourierScale: 16 };

/** Random (not the near-zero initial) parameters, so every block contributes to the output. */
function randomParams(arch: UnetArch, seed: number): Float32Array {
  const layout = unetLayout(arch);
  const v = layout.initialise(seed);
  const rng = new Rng(seed + 1);
  layout.specs.forEach((s, i) => {
    if (s.name.endsWith('conv1.w') || s.name === 'out.conv.w' || s.name === 'mid.attn.proj.w') {
      const off = layout.offsets[i];
      const n = s.shape.reduce((a, b) => a * b, 1);
      const std = Math.sqrt(1 / (s.shape[0] * s.shape[1] * s.shape[2]));
      for (let j = 0; j < n; j++) v[off + j] = std * rng.normal();
    }
  });
  return v;
}

describe('U-Net score model', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  it('has the documented size and down-sampling factor and counts its FLOPs', () => {
    const big: UnetArch = { nf: 32, chMult: [1, 2, 2], numResBlocks: 2, attention: true, embeddingDim: 64, fourierScale: 16 };
    const layout = unetLayout(big);
    // ~1.5 M parameters, the size class of the PyTorch reference (1.44 M) for the same nf/chMult/blocks.
    expect(layout.trainableSize()).toBeGreaterThan(1.3e6);
    expect(layout.trainableSize()).toBeLessThan(1.7e6);
    expect(downFactor(big)).toBe(4);
    // ~2.85 GFLOP at 64×64; convolutions scale with the pixel count, attention with its square.
    expect(unetFlops(big, 64, 64)).toBeGreaterThan(2.5e9);
    const ratio = unetFlops(big, 128, 128) / unetFlops(big, 64, 64);
    expect(ratio).toBeGreaterThan(4);
    expect(ratio).toBeLessThan(4.2);
    expect(unetFlops({ ...big, attention: false }, 128, 128) / unetFlops({ ...big, attention: false }, 64, 64)).toBeCloseTo(4, 2);
  });

  it('pads a size its down-sampling factor does not divide by reflection and crops the score back (differentiably)', () => {
    const arch8: UnetArch = { nf: 8, chMult: [1, 1, 2, 2], numResBlocks: 1, attention: false, embeddingDim: 8, fourierScale: 16 };
    expect(downFactor(arch8)).toBe(8);
    expect(unetPadding(arch8, 64, 64)).toEqual({ y: [0, 0], x: [0, 0], shape: [64, 64] });
    expect(unetPadding(arch8, 61, 58)).toEqual({ y: [1, 2], x: [3, 3], shape: [64, 64] });
    expect(unetPadding(arch8, 13, 11)).toEqual({ y: [1, 2], x: [2, 3], shape: [16, 16] });
    const m = new UnetScoreModel(arch8, randomParams(arch8, 3), [16, 16]);
    try {
      expect(m.supportsShape([1, 13, 11])).toBe(true);
      expect(m.supportsShape([1, 7, 16])).toBe(false);
      expect(m.shapeWarning([1, 13, 11])).toMatch(/used on 13×11 \(padded by reflection to 16×16 for the network\)/);
      expect(() => m.score(tf.zeros([1, 7, 16]), tf.tensor1d([1]))).toThrow(/at least 8×8/);
      tf.tidy(() => {
        const x = tf.randomNormal([2, 13, 11], 0, 1, 'float32', 5) as tf.Tensor3D;
        const sig = tf.tensor1d([0.2, 2]);
        const s = m.score(x, sig);
        expect(s.shape).toEqual([2, 13, 11]);
        // the same as the network on the mirrored 16×16 image, cropped where the image sits in it
        const big = tf.mirrorPad(x, [[0, 0], [1, 2], [2, 3]], 'reflect');
        const sBig = m.score(big, sig);
        const crop = tf.slice(sBig, [0, 1, 2], [2, 13, 11]);
        expect(tf.max(tf.abs(tf.sub(s, crop))).dataSync()[0]).toBeLessThan(1e-5 * (1 + tf.max(tf.abs(crop)).dataSync()[0]));
        // a shifted crop would differ: the check can fail
        const shifted = tf.slice(sBig, [0, 2, 2], [2, 13, 11]);
        expect(tf.max(tf.abs(tf.sub(s, shifted))).dataSync()[0]).toBeGreaterThan(1e-3);
        // differentiable (DPS backpropagates through the prior): the gradient has the image's shape and is finite
        const g = tf.grad((xx: tf.Tensor) => tf.sum(tf.square(m.score(xx, sig))))(x);
        expect(g.shape).toEqual([2, 13, 11]);
        expect(Number.isFinite(tf.sum(tf.abs(g)).dataSync()[0])).toBe(true);
        expect(tf.sum(tf.abs(g)).dataSync()[0]).toBeGreaterThan(0);
      });
    } finally {
      m.dispose();
    }
  });

  it('evaluates [B, ny, nx] at its training size and at other sizes; s = net/σ', () => {
    const m = new UnetScoreModel(ARCH, randomParams(ARCH, 1), [16, 16]);
    try {
      expect(m.supportsShape([3, 16, 16])).toBe(true);
      expect(m.supportsShape([3, 24, 32])).toBe(true);
      expect(m.supportsShape([3, 15, 16])).toBe(true);
      expect(m.supportsShape([3, 1, 16])).toBe(false);
      expect(m.shapeWarning([1, 16, 16])).toBeNull();
      expect(m.shapeWarning([1, 24, 32])).toMatch(/trained on 16×16.*24×32/);
      tf.tidy(() => {
        const x = tf.randomNormal([2, 24, 32]) as tf.Tensor3D;
        const sig = tf.tensor1d([0.5, 3]);
        const s = m.score(x, sig);
        expect(s.shape).toEqual([2, 24, 32]);
        const net = m.forward(x, sig);
        const back = tf.mul(s, tf.reshape(sig, [-1, 1, 1]));
        expect(tf.max(tf.abs(tf.sub(back, net))).dataSync()[0]).toBeLessThan(1e-5 * (1 + tf.max(tf.abs(net)).dataSync()[0]));
        // each image's score depends on its own input only (no batch coupling: GroupNorm is per image)
        const s0 = m.score(tf.slice(x, [0, 0, 0], [1, 24, 32]), tf.tensor1d([0.5]));
        expect(tf.max(tf.abs(tf.sub(s0, tf.slice(s, [0, 0, 0], [1, 24, 32])))).dataSync()[0]).toBeLessThan(1e-4);
      });
      expect(() => m.score(tf.zeros([1, 1, 16]), tf.tensor1d([1]))).toThrow(/smaller than the network's down-sampling factor 2 \(at least 2×2\)/);
      expect(() => m.score(tf.zeros([2, 16, 16]), tf.tensor1d([1]))).toThrow(/1 noise levels for a batch of 2/);
    } finally {
      m.dispose();
    }
  });

  it('gradients w.r.t. parameters and input match directional finite differences (cpu) and wasm matches cpu native', async () => {
    const S = 8;
    const values = randomParams(ARCH, 2);
    const rng = new Rng(3);
    const x = rng.fillNormal(new Float32Array(2 * S * S));
    const z = rng.fillNormal(new Float32Array(2 * S * S));
    const sig = new Float32Array([0.3, 2.0]);
    const dirP = rng.fillNormal(new Float32Array(values.length));
    const dirX = rng.fillNormal(new Float32Array(x.length));

    const run = (model: UnetScoreModel, xv: Float32Array) =>
      tf.tidy(() => {
        const xt = tf.tensor3d(xv, [2, S, S]);
        const { value, grads } = tf.variableGrads(() => dsmLoss((a, s) => model.forward(a as tf.Tensor3D, s), xt, tf.tensor3d(z, [2, S, S]), tf.tensor1d(sig)), model.params.trainable());
        const gp = model.params.flattenGrads(grads);
        const gx = tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(model.score(xx, tf.tensor1d(sig)), tf.tensor3d(z, [2, S, S]))))(xt).dataSync() as Float32Array;
        return { loss: value.dataSync()[0], gp, gx };
      });

    const onWasm = (() => {
      const m = new UnetScoreModel(ARCH, values, [S, S]);
      try {
        return run(m, x);
      } finally {
        m.dispose();
      }
    })();

    await initBackend('cpu');
    setConvGradMode('native');
    try {
      const m = new UnetScoreModel(ARCH, values, [S, S]);
      const native = run(m, x);
      // wasm (forward-op conv gradients) against cpu (tfjs native conv gradients)
      const rel = (a: Float32Array, b: Float32Array) => {
        let num = 0;
        let den = 0;
        for (let i = 0; i < a.length; i++) {
          num += (a[i] - b[i]) ** 2;
          den += b[i] ** 2;
        }
        return Math.sqrt(num / den);
      };
      expect(Math.abs(onWasm.loss - native.loss) / native.loss).toBeLessThan(1e-4);
      expect(rel(onWasm.gp, native.gp)).toBeLessThan(1e-3);
      expect(rel(onWasm.gx, native.gx)).toBeLessThan(1e-3);

      // directional derivative along d = ĝ + r̂ (the gradient's own direction plus a random one, both unit):
      // (L(θ + h d) − L(θ − h d)) / 2h ≈ ∇L·d — equal only if the computed gradient has the right direction and size.
      const mask = m.params.layout.trainableMask();
      const unit = (v: Float32Array) => {
        let n = 0;
        for (let i = 0; i < v.length; i++) n += (v[i] * mask[i]) ** 2;
        return v.map((a, i) => (a * mask[i]) / Math.sqrt(n));
      };
      const gu = unit(native.gp);
      const ru = unit(dirP);
      const d = gu.map((a, i) => a + ru[i]);
      const h = 1e-3;
      const lossAt = (vals: Float32Array) => {
        m.params.assign(vals);
        return tf.tidy(() => dsmLoss((a, s) => m.forward(a as tf.Tensor3D, s), tf.tensor3d(x, [2, S, S]), tf.tensor3d(z, [2, S, S]), tf.tensor1d(sig)).dataSync()[0]);
      };
      const fdP = (lossAt(values.map((v, i) => v + h * d[i])) - lossAt(values.map((v, i) => v - h * d[i]))) / (2 * h);
      let gd = 0;
      for (let i = 0; i < values.length; i++) gd += native.gp[i] * d[i];
      expect(Math.abs(fdP - gd) / Math.abs(gd)).toBeLessThan(1e-2);
      m.params.assign(values);
      // input direction: d/dε Σ s(x + ε d)·z
      const fAt = (xv: Float32Array) => tf.tidy(() => tf.sum(tf.mul(m.score(tf.tensor3d(xv, [2, S, S]), tf.tensor1d(sig)), tf.tensor3d(z, [2, S, S]))).dataSync()[0]);
      const hx = 1e-2;
      const fdX = (fAt(x.map((v, i) => v + hx * dirX[i])) - fAt(x.map((v, i) => v - hx * dirX[i]))) / (2 * hx);
      let gdx = 0;
      for (let i = 0; i < x.length; i++) gdx += native.gx[i] * dirX[i];
      expect(Math.abs(fdX - gdx) / Math.abs(gdx)).toBeLessThan(2e-2);
      m.dispose();
    } finally {
      setConvGradMode('auto');
      await initBackend('wasm');
    }
  });

  it('round-trips its weights through the tfjs format: float32 exactly, float16 to half precision', () => {
    const layout = unetLayout(ARCH);
    const v = randomParams(ARCH, 4);
    const f32 = encodeWeights(layout, v, 'float32');
    expect(f32.bytes.length).toBe(4 * layout.size);
    expect(f32.manifest[0].weights.map((w) => w.name)).toEqual(layout.specs.map((s) => s.name));
    expect(decodeWeights(layout, f32.manifest, f32.bytes)).toEqual(v);
    const f16 = encodeWeights(layout, v, 'float16');
    expect(f16.bytes.length).toBe(2 * layout.size);
    expect(f16.manifest[0].weights[0].quantization).toEqual({ dtype: 'float16' });
    const back = decodeWeights(layout, f16.manifest, f16.bytes);
    for (let i = 0; i < v.length; i++) {
      const tol = Math.abs(v[i]) < 6.1e-5 ? 6e-8 : Math.abs(v[i]) * 2 ** -11;
      expect(Math.abs(back[i] - v[i])).toBeLessThanOrEqual(tol);
    }
    // the model built from float32 bytes computes exactly what the original does
    const a = new UnetScoreModel(ARCH, v, [16, 16]);
    const b = createUnetFromWeights(tinyUnetMeta(ARCH, f32.manifest, 'float32'), f32.bytes);
    tf.tidy(() => {
      const x = tf.randomNormal([1, 16, 16]);
      const s = tf.tensor1d([1.5]);
      expect(tf.max(tf.abs(tf.sub(a.score(x, s), b.score(x, s)))).dataSync()[0]).toBe(0);
    });
    a.dispose();
    b.dispose();
  });

  it('half-precision conversion is IEEE round-to-nearest-even', () => {
    expect(toHalf(1)).toBe(0x3c00);
    expect(toHalf(-2)).toBe(0xc000);
    expect(toHalf(65504)).toBe(0x7bff);
    expect(toHalf(65520)).toBe(0x7c00); // rounds to +Inf
    expect(toHalf(1 + 2 ** -11)).toBe(0x3c00); // tie → even
    expect(toHalf(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(toHalf(2 ** -24)).toBe(1); // smallest subnormal
    expect(fromHalf(0x3555)).toBeCloseTo(0.333251953125, 12);
    expect(Number.isNaN(fromHalf(toHalf(NaN)))).toBe(true);
    for (const v of [0.1, -3.14159, 1e-5, 1234.5]) expect(Math.abs(fromHalf(toHalf(v)) - v)).toBeLessThanOrEqual(Math.abs(v) * 2 ** -11 + 6e-8);
  });

  it('refuses weights and model.json that do not fit, with clear messages', () => {
    const layout = unetLayout(ARCH);
    const v = layout.initialise(1);
    const { manifest, bytes } = encodeWeights(layout, v, 'float32');
    expect(() => decodeWeights(layout, manifest, bytes.subarray(0, bytes.length - 8))).toThrow(/truncated/);
    const other = unetLayout({ ...ARCH, nf: 16 });
    expect(() => decodeWeights(other, manifest, bytes)).toThrow(/shape \[.*\], the architecture needs/);
    expect(() => createUnetFromWeights(tinyUnetMeta({ ...ARCH, nf: 16 }, manifest, 'float32'), bytes)).toThrow(/weights\.bin: weight .* has shape/);
    const nan = new Float32Array(v);
    nan[5] = NaN;
    const enc = encodeWeights(layout, nan, 'float32');
    expect(() => decodeWeights(layout, enc.manifest, enc.bytes)).toThrow(/NaN/);
    const good = tinyUnetMeta(ARCH, manifest, 'float32');
    expect(validatePriorMeta(JSON.parse(JSON.stringify(good))).arch).toEqual(ARCH);
    expect(() => validatePriorMeta({ ...good, kind: 'gan' }, 'm/model.json')).toThrow(/m\/model\.json: kind must be "unet"/);
    expect(() => validatePriorMeta({ ...good, imageShape: [15, 16] })).toThrow(/not divisible by the down-sampling factor 2/);
    expect(() => validatePriorMeta({ ...good, sde: { type: 've', sigmaMin: 2, sigmaMax: 1 } })).toThrow(/sigmaMin < sigmaMax/);
    expect(() => validatePriorMeta({ ...good, normalisation: { offset: 0, scale: 0 } })).toThrow(/normalisation/);
    expect(() => validatePriorMeta({ ...good, weights: { ...good.weights, file: '../x.bin' } })).toThrow(/plain file name/);
    expect(() => validatePriorMeta({ ...good, arch: { ...ARCH, chMult: [] } })).toThrow(/chMult/);
  });

  it('keeps the tensor count flat over repeated score evaluations and gradient steps', () => {
    const m = new UnetScoreModel(ARCH, randomParams(ARCH, 5), [16, 16]);
    const x = tf.randomNormal([2, 16, 16]) as tf.Tensor3D;
    const z = tf.randomNormal([2, 16, 16]) as tf.Tensor3D;
    const s = tf.tensor1d([0.5, 2]);
    const evalOnce = () =>
      tf.tidy(() => {
        m.score(x, s).dataSync();
      });
    const gradOnce = () => {
      const { value, grads } = tf.variableGrads(() => dsmLoss((a, sg) => m.forward(a as tf.Tensor3D, sg), x, z, s), m.params.trainable());
      m.params.flattenGrads(grads);
      tf.dispose([value, ...Object.values(grads)]);
    };
    evalOnce();
    gradOnce();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 20; i++) evalOnce();
    for (let i = 0; i < 5; i++) gradOnce();
    m.params.assign(randomParams(ARCH, 6));
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, z, s]);
    m.dispose();
  });

  it('leaves no tensor behind once disposed (a prior is made and freed for every job)', () => {
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) new UnetScoreModel(ARCH, randomParams(ARCH, 7), [16, 16]).dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
