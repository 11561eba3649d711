/**
 * scripts/torch-unet.py (the PyTorch reference of `skyscore bench`) computes the same score as the tfjs U-Net,
 * checked on galaxy-64 where a Python with torch is installed (Debian: python3-torch); skipped, saying so, elsewhere.
 */
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src-main/engine/backend.js';
import { createUnetFromWeights, validatePriorMeta } from '../../src-shared/diffusion/nn/prior-meta.js';
import { ROOT } from '../helpers/data.js';
import { torchPython } from '../../src-main/bench/score-engines.js';


const py = torchPython();
if (!py) console.warn('torch-unet.test: skipped, no Python with torch here (apt-get install python3-torch)');

describe('the PyTorch U-Net of scripts/torch-unet.py', () => {
  it.skipIf(!py)('gives galaxy-64’s tfjs score to 1e-4 (64×64, σ = 0.02 and 5)', async () => {
    await initBackend('wasm');
    const dir = path.join(ROOT, 'models', 'galaxy-64');
    const meta = validatePriorMeta(JSON.parse(readFileSync(path.join(dir, 'model.json'), 'utf8')));
    const bytes = readFileSync(path.join(dir, meta.weights.file));
    const model = createUnetFromWeights(meta, new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    const tmp = mkdtempSync(path.join(tmpdir(), 'skyscore-torch-'));
    try {
      const x = tf.mul(tf.randomNormal([2, 64, 64], 0, 1, 'float32', 3), 0.5);
      const s = tf.tensor1d([0.02, 5]);
      writeFileSync(path.join(tmp, 'x.f32'), new Uint8Array((x.dataSync() as Float32Array).buffer));
      writeFileSync(path.join(tmp, 's.f32'), new Uint8Array((s.dataSync() as Float32Array).buffer));
      execFileSync(py!, [path.join(ROOT, 'scripts', 'torch-unet.py'), 'eval', dir, path.join(tmp, 'x.f32'), path.join(tmp, 's.f32'), path.join(tmp, 'o.f32'), '--batch', '2', '--ny', '64', '--nx', '64', '--threads', '1'], { timeout: 120_000 });
      const b = readFileSync(path.join(tmp, 'o.f32'));
      const got = new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
      const want = model.score(x, s).dataSync();
      let d = 0;
      let m = 0;
      for (let i = 0; i < want.length; i++) {
        d = Math.max(d, Math.abs(got[i] - want[i]));
        m = Math.max(m, Math.abs(want[i]));
      }
      expect(got.length).toBe(want.length);
      expect(d / m).toBeLessThan(1e-4);
      tf.dispose([x, s]);
    } finally {
      model.dispose();
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
