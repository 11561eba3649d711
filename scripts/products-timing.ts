/**
 * The likelihood's dense products alone, on tfjs-wasm or on ONNX Runtime's CPU kernels (one intra-op thread):
 *   node --import tsx scripts/products-timing.ts k|g tfjs|ort
 * k: the radio likelihood's K on BL Lac's default 176² grid (PsfOperator with a random symmetric 351² kernel: a
 * FourierFilter padded to 351²), apply and adjoint for 8 chains and apply for one; g: u·G with a random symmetric
 * 4096² G (the lens source's normal matrix) for 8, 16 and 1 chains, with the resident set G's loaded model or tensor
 * adds (after a GC where node runs with --expose-gc) and the process's peak. CPU time per product (process.cpuUsage)
 * over 30 products after 3. docs/onnx-priors.md, *The likelihood's dense products*, quotes it.
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src-main/engine/backend.js';
import { PsfOperator } from '../src-shared/operators/psf.js';
import { setProductEngine } from '../src-shared/linalg/product-engine.js';
import { OrtProductEngine } from '../src-main/onnx/products.js';
import { NormalMatrixProducts } from '../src-shared/diffusion/likelihood/conjugate-gradients.js';

const [what, engine] = process.argv.slice(2);
if (!['k', 'g'].includes(what ?? '') || !['tfjs', 'ort'].includes(engine ?? '')) {
  console.error('usage: products-timing.ts k|g tfjs|ort');
  process.exit(2);
}
await initBackend('wasm');
if (engine === 'ort') setProductEngine(new OrtProductEngine(1));
let seed = 1;
const rnd = () => {
  seed = (seed * 16807) % 2147483647;
  return seed / 2147483647 - 0.5;
};
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const MiB = (b: number) => (b / 2 ** 20).toFixed(0);

function time(label: string, f: () => tf.Tensor, reps = 30): void {
  for (let i = 0; i < 3; i++) f().dispose();
  const c0 = cpuMs();
  const w0 = performance.now();
  for (let i = 0; i < reps; i++) {
    const t = f();
    t.dataSync();
    t.dispose();
  }
  console.log(`${label}, ${engine}: ${((cpuMs() - c0) / reps).toFixed(1)} ms of CPU, ${((performance.now() - w0) / reps).toFixed(1)} ms wall a product`);
}

if (what === 'k') {
  const n = 176;
  const k = 2 * n - 1;
  const beam = Float64Array.from({ length: k * k }, rnd);
  for (let i = 0; i < k * k; i++) beam[i] = 0.5 * (beam[i] + beam[k * k - 1 - i]);
  const op = new PsfOperator([n, n], { data: beam, shape: [k, k], center: [n - 1, n - 1] });
  const x = tf.tensor3d(Float32Array.from({ length: 8 * n * n }, rnd), [8, n, n]);
  const x1 = tf.tensor3d(Float32Array.from({ length: n * n }, rnd), [1, n, n]);
  time(`K on ${n}² (${op.method}), 8 chains, apply`, () => op.apply(x));
  time(`K on ${n}², 8 chains, adjoint`, () => op.adjoint(x));
  time(`K on ${n}², 1 chain, apply`, () => op.apply(x1));
} else {
  const n = 4096;
  const G = new Float32Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) G[i * n + j] = G[j * n + i] = rnd();
  const gc = (globalThis as { gc?: () => void }).gc;
  const rss0 = process.memoryUsage().rss;
  const c0 = cpuMs();
  const P = NormalMatrixProducts.of(G, n);
  const took = cpuMs() - c0;
  gc?.();
  await new Promise((r) => setTimeout(r, 100));
  gc?.();
  console.log(`G taken up (${P.onEngine ? 'ONNX Runtime model' : 'tfjs tensor'}): ${took.toFixed(0)} ms of CPU, resident set +${MiB(process.memoryUsage().rss - rss0)} MiB${gc ? ' after a GC' : ''}`);
  for (const b of [8, 16, 1]) {
    const u = tf.tensor2d(Float32Array.from({ length: b * n }, rnd), [b, n]);
    time(`u·G, ${b} chain${b === 1 ? '' : 's'}`, () => P.product(u));
    u.dispose();
  }
  console.log(`peak resident set ${MiB(process.resourceUsage().maxRSS * 1024)} MiB`);
  P.dispose();
}
