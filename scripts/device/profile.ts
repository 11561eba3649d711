// A webgpu training step and score evaluation, timed kernel by kernel (run on a GPU machine, packed by scripts/device/bundle.sh).
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src-main/engine/backend.js';
import { UnetScoreModel, unetLayout, DEFAULT_ARCH } from '../../src-shared/diffusion/nn/unet.js';
import { dsmLoss } from '../../src-shared/diffusion/train/objectives.js';

const backend = (process.argv[2] ?? 'webgpu') as 'webgpu';
const info = await initBackend(backend);
console.log('backend', info.backend, JSON.stringify(info.gpuAdapter));
const arch = { ...DEFAULT_ARCH, nf: 16, chMult: [1, 2, 4, 4], numResBlocks: 1 };
const model = new UnetScoreModel(arch, unetLayout(arch).initialise(0), [64, 64]);
const vars = model.params.trainable();
const t = () => performance.now();
for (const B of [16, 64, 256]) {
  const x = tf.randomNormal([B, 64, 64]) as tf.Tensor3D;
  const z = tf.randomNormal([B, 64, 64]) as tf.Tensor3D;
  const s = tf.fill([B], 1.0) as tf.Tensor1D;
  // forward only (sampling)
  for (let k = 0; k < 3; k++) { const o = model.forward(x, s); await o.data(); o.dispose(); }
  let t0 = t();
  for (let k = 0; k < 10; k++) { const o = model.forward(x, s); await o.data(); o.dispose(); }
  console.log(`B=${B} forward: ${((t() - t0) / 10).toFixed(1)} ms`);
  // training step gradients
  const step = async () => {
    const { value, grads } = tf.variableGrads(() => dsmLoss((xt, sg) => model.forward(xt as tf.Tensor3D, sg), x, z, s), vars);
    const flat = model.params.gradsToFlat(grads);
    await flat.data();
    tf.dispose([value, flat, ...Object.values(grads)]);
  };
  for (let k = 0; k < 2; k++) await step();
  t0 = t();
  for (let k = 0; k < 5; k++) await step();
  console.log(`B=${B} grad step: ${((t() - t0) / 5).toFixed(1)} ms`);
  const values = unetLayout(arch).initialise(1);
  t0 = t();
  for (let k = 0; k < 5; k++) model.params.assign(values);
  await tf.zeros([1]).data();
  console.log(`assign params: ${((t() - t0) / 5).toFixed(1)} ms`);
  const prof = await tf.profile(async () => { await step(); });
  const byName = new Map<string, { ms: number; n: number }>();
  for (const k of prof.kernels) {
    const e = byName.get(k.name) ?? { ms: 0, n: 0 };
    e.ms += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    e.n += 1;
    byName.set(k.name, e);
  }
  const top = [...byName.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, 12);
  console.log(`B=${B} kernels ${prof.kernels.length}; top by GPU time:`, top.map(([n, e]) => `${n} ${e.ms.toFixed(1)}ms×${e.n}`).join(', '));
  tf.dispose([x, z, s]);
}
