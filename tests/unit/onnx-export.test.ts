/**
 * The ONNX graph SkyScore writes of its U-Net (onnx-export.ts), run by ONNX Runtime (src-main/onnx), against the
 * tfjs model: max |a − b| / max |b| ≤ 1e-4 at σmin, a middle σ and σmax, on sizes the down-sampling factor divides
 * and one it does not (reflection padding), for the shipped galaxy-64 and for small random-weight U-Nets with and
 * without attention. Also: the protobuf writer's encodings, gradients through the tfjs twin, a flat tensor count.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src-main/engine/backend.js';
import { UnetScoreModel, downFactor, unetLayout, type UnetArch } from '../../src-shared/diffusion/nn/unet.js';
import { createUnetFromWeights, validatePriorMeta } from '../../src-shared/diffusion/nn/prior-meta.js';
import { ProtoWriter } from '../../src-shared/diffusion/nn/onnx-proto.js';
import { exportUnetOnnx } from '../../src-shared/diffusion/nn/onnx-export.js';
import { OnnxSession } from '../../src-main/onnx/runtime.js';
import { OnnxScoreModel, reflectPad } from '../../src-main/onnx/score-model.js';
import { Rng } from '../../src-shared/diffusion/nn/rng.js';
import { ROOT } from '../helpers/data.js';

/** Random (not the near-zero initial) parameters, so every block contributes to the output. */
function randomParams(arch: UnetArch, seed: number): Float32Array {
  const layout = unetLayout(arch);
  const v = layout.initialise(seed);
  const rng = new Rng(seed + 1);
  layout.specs.forEach((s, i) => {
    const off = layout.offsets[i];
    const n = s.shape.reduce((a, b) => a * b, 1);
    if (s.name.endsWith('conv1.w') || s.name === 'out.conv.w' || s.name === 'mid.attn.proj.w') {
      const std = Math.sqrt(1 / (s.shape[0] * s.shape[1] * s.shape[2]));
      for (let j = 0; j < n; j++) v[off + j] = std * rng.normal();
    } else if (/(gamma|beta|\.b)$/.test(s.name)) {
      // non-trivial affine maps and biases
      for (let j = 0; j < n; j++) v[off + j] += 0.2 * rng.normal();
    }
  });
  return v;
}

async function onnxTwin(model: UnetScoreModel, threads = 1): Promise<OnnxScoreModel> {
  const bytes = exportUnetOnnx(model.arch, model.params.flat());
  const session = await OnnxSession.create(bytes, { provider: 'cpu', threads });
  return new OnnxScoreModel({ session, kind: 'unet', output: 'score', sizeMultiple: downFactor(model.arch), trainedShape: model.trainedShape, twin: null, onnxruntimeVersion: 'test' });
}

/** max |a − b| / max |b| of ONNX Runtime's and tfjs's scores at batch b, size ny×nx and noise level σ. */
function relDiff(onnx: OnnxScoreModel, ref: UnetScoreModel, b: number, ny: number, nx: number, sigma: number, seed: number): number {
  return tf.tidy(() => {
    // noisy images as the samplers see them: a smooth field plus noise of level σ
    const x = tf.add(tf.mul(tf.randomUniform([b, ny, nx], 0, 1, 'float32', seed), 0.5), tf.mul(tf.randomNormal([b, ny, nx], 0, 1, 'float32', seed + 1), sigma));
    const s = tf.fill([b], sigma) as tf.Tensor1D;
    const a = onnx.score(x, s);
    const r = ref.score(x, s);
    expect(a.shape).toEqual([b, ny, nx]);
    return tf.max(tf.abs(tf.sub(a, r))).dataSync()[0] / tf.max(tf.abs(r)).dataSync()[0];
  });
}

describe('ONNX protobuf writer', () => {
  it('writes varints, negative int64s, floats and length-delimited fields as the wire format defines them', () => {
    expect(Array.from(new ProtoWriter().int(1, 150).finish())).toEqual([0x08, 0x96, 0x01]);
    expect(Array.from(new ProtoWriter().int(2, 300).finish())).toEqual([0x10, 0xac, 0x02]);
    // −1 as int64: ten bytes of two's complement
    expect(Array.from(new ProtoWriter().int(1, -1).finish())).toEqual([0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
    expect(Array.from(new ProtoWriter().float(2, 1).finish())).toEqual([0x15, 0x00, 0x00, 0x80, 0x3f]);
    expect(Array.from(new ProtoWriter().string(4, 'Conv').finish())).toEqual([0x22, 4, 0x43, 0x6f, 0x6e, 0x76]);
    expect(Array.from(new ProtoWriter().packedInts(8, [3, 3]).finish())).toEqual([0x42, 2, 3, 3]);
    const inner = new ProtoWriter().int(1, 1);
    expect(Array.from(new ProtoWriter().message(7, inner).finish())).toEqual([0x3a, 2, 0x08, 0x01]);
  });
});

describe('reflection padding', () => {
  it('mirrors without repeating the edge pixel (numpy "reflect")', () => {
    const src = Float32Array.from([0, 1, 2, 3, 4, 5]); // one 2×3 image
    const out = reflectPad(src, 1, 2, 3, [0, 1], [1, 2]);
    // rows: 0, 1, then row 0 again (reflected); columns: 1 | 0 1 2 | 1 0
    expect(Array.from(out)).toEqual([1, 0, 1, 2, 1, 0, 4, 3, 4, 5, 4, 3, 1, 0, 1, 2, 1, 0]);
  });
});

describe('ONNX export of the U-Net', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  describe('galaxy-64 (the shipped prior)', () => {
    let ref: UnetScoreModel;
    let onnx: OnnxScoreModel;
    beforeAll(async () => {
      const dir = path.join(ROOT, 'models', 'galaxy-64');
      const meta = validatePriorMeta(JSON.parse(readFileSync(path.join(dir, 'model.json'), 'utf8')));
      const bytes = readFileSync(path.join(dir, meta.weights.file));
      ref = createUnetFromWeights(meta, new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      onnx = await onnxTwin(ref, 2);
    });
    afterAll(() => {
      onnx?.dispose();
      ref?.dispose();
    });

    const sigmaMin = 0.01;
    const sigmaMax = 30.136616760284237;
    const sigmas = [sigmaMin, Math.sqrt(sigmaMin * sigmaMax), sigmaMax];
    for (const [b, n] of [
      [2, 64],
      [2, 100],
      [1, 128],
    ] as const) {
      it(`agrees with tfjs to 1e-4 on ${n}×${n}${n % 8 ? ' (padded by reflection to 104×104)' : ''} at σmin, a middle σ and σmax`, () => {
        sigmas.forEach((s, i) => {
          const d = relDiff(onnx, ref, b, n, n, s, 10 * n + i);
          expect(d, `σ = ${s}`).toBeLessThan(1e-4);
        });
      });
    }

    it('keeps the tensor count flat and disposes nothing it does not own', () => {
      const x = tf.randomNormal([2, 64, 64]);
      const s = tf.fill([2], 0.5) as tf.Tensor1D;
      onnx.score(x, s).dispose();
      const before = tf.memory().numTensors;
      for (let i = 0; i < 3; i++) onnx.score(x, s).dispose();
      expect(tf.memory().numTensors).toBe(before);
      expect(x.isDisposed).toBe(false);
      tf.dispose([x, s]);
    });
  });

  for (const attention of [true, false]) {
    it(`agrees with tfjs to 1e-4 for a random-weight U-Net ${attention ? 'with' : 'without'} attention (three levels, 2 blocks)`, async () => {
      const arch: UnetArch = { nf: 8, chMult: [1, 2, 2], numResBlocks: 2, attention, embeddingDim: 16, fourierScale: 16 };
      const ref = new UnetScoreModel(arch, randomParams(arch, attention ? 3 : 4), [16, 16]);
      const onnx = await onnxTwin(ref);
      try {
        for (const [ny, nx] of [
          [16, 16],
          [18, 23],
          [32, 24],
        ] as const) {
          for (const s of [0.01, 0.7, 50]) expect(relDiff(onnx, ref, 3, ny, nx, s, ny + nx), `${ny}×${nx}, σ = ${s}`).toBeLessThan(1e-4);
        }
      } finally {
        onnx.dispose();
        ref.dispose();
      }
    });
  }

  it('is differentiated through the tfjs twin inside tf.grad (dps), and refuses without one', async () => {
    const arch: UnetArch = { nf: 8, chMult: [1, 2], numResBlocks: 1, attention: true, embeddingDim: 8, fourierScale: 16 };
    const ref = new UnetScoreModel(arch, randomParams(arch, 7), [16, 16]);
    const bytes = exportUnetOnnx(arch, ref.params.flat());
    const session = await OnnxSession.create(bytes, { provider: 'cpu', threads: 1 });
    const withTwin = new OnnxScoreModel({ session, kind: 'unet', output: 'score', sizeMultiple: 2, trainedShape: [16, 16], twin: ref, onnxruntimeVersion: 'test' });
    const lone = new OnnxScoreModel({ session: await OnnxSession.create(bytes, { provider: 'cpu', threads: 1 }), kind: 'onnx', output: 'score', sizeMultiple: 2, trainedShape: [16, 16], twin: null, onnxruntimeVersion: 'test' });
    try {
      const x = tf.randomNormal([2, 16, 16], 0, 1, 'float32', 1);
      const s = tf.fill([2], 0.3) as tf.Tensor1D;
      const f = (m: { score: (x: tf.Tensor, s: tf.Tensor1D) => tf.Tensor }) => (xx: tf.Tensor) => tf.sum(tf.square(m.score(xx, s)));
      const g = tf.grad(f(withTwin))(x);
      const gr = tf.grad(f(ref))(x);
      expect(tf.max(tf.abs(tf.sub(g, gr))).dataSync()[0]).toBe(0);
      expect(() => tf.grad(f(lone))(x)).toThrow(/no gradient.*dps/);
      tf.dispose([x, s, g, gr]);
    } finally {
      withTwin.dispose(); // disposes its twin, ref
      lone.dispose();
    }
  });
});
