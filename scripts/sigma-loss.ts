/**
 * The denoising loss by noise level of one or more model folders, on the same validation images of the Galaxy Zoo
 * cube and the same noise (a diagnostic for docs/training.md, not a test):
 *   node --import tsx scripts/sigma-loss.ts models/galaxy-64 [runs/galaxy-64 …]
 * Prints, per σ (prior units), the mean of (σ·s(x + σz, σ) + z)² over 96 images (cube planes 1400–1495) for each
 * folder and its ratio to the first.
 */
import { promises as fs } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src-main/engine/backend.js';
import { loadPriorFolder } from '../src-main/prior-folder.js';
import { readFits } from '../src-shared/fits/index.js';
import { UnetScoreModel } from '../src-shared/diffusion/nn/unet.js';

await initBackend('wasm');
const dirs = process.argv.slice(2);
if (!dirs.length) {
  process.stderr.write('usage: node --import tsx scripts/sigma-loss.ts MODEL_DIR [MODEL_DIR …]\n');
  process.exit(2);
}
const f = readFits(new Uint8Array(await fs.readFile('../shared/data/train/galaxyzoo_kaggle2000_gray64.fits')));
const cube = f.hdus[0]!.readImage();
const n = 96, np = 4096, chunk = 16;
const sigmas = [10, 1, 0.3, 0.1, 0.05, 0.03, 0.02, 0.01];
const models = await Promise.all(dirs.map((d) => loadPriorFolder(d)));
const rows: string[] = [];
for (const s of sigmas) {
  const losses = models.map(() => 0);
  for (let c = 0; c < n; c += chunk) {
    const x0 = new Float32Array(chunk * np);
    for (let k = 0; k < chunk; k++) for (let i = 0; i < np; i++) x0[k * np + i] = cube.data[(1400 + c + k) * np + i]! / 255;
    models.forEach(({ model }, mi) => {
      losses[mi] += tf.tidy(() => {
        const x = tf.tensor3d(x0, [chunk, 64, 64]);
        const z = tf.randomNormal([chunk, 64, 64], 0, 1, 'float32', 1000 + c);
        const net = (model as UnetScoreModel).forward(tf.add(x, tf.mul(z, s)) as tf.Tensor3D, tf.fill([chunk], s) as tf.Tensor1D);
        return tf.mean(tf.square(tf.add(net, z))).dataSync()[0]!;
      }) * chunk / n;
    });
  }
  rows.push(`σ ${s}: ${losses.map((l) => l.toExponential(4)).join('  ')}  ratio ${losses.map((l) => (l / losses[0]!).toFixed(4)).join(' ')}`);
  console.log(rows[rows.length - 1]);
}
