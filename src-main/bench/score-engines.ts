/**
 * Score-evaluation throughput of the U-Net priors on each engine available here: tfjs (wasm backend, one thread),
 * ONNX Runtime's CPU provider with 1 thread and with one per core (src-main/onnx, the product's path: tensor in,
 * tensor out), and — as a reference for the same architecture — PyTorch on the CPU (scripts/torch-unet.py builds
 * the network from the same weights) where a Python with torch is found (SKYSCORE_PYTHON, python3, /usr/bin/python3).
 * Networks: galaxy-64 (the shipped prior) and the trainer's default U-Net (DEFAULT_ARCH, random weights), batch 16
 * of 64×64 images. Plus the process's RSS (start, after warm-up, end, max) and tensor count over 200 ONNX Runtime
 * batches (flat: nothing grows). The goal: ONNX Runtime's throughput at least 0.9× PyTorch's on the same network
 * and thread count.
 * Each figure is timed for SKYSCORE_BENCH_SECONDS (default 2) after a warm-up evaluation.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import type { Bench } from './types.js';
import { initBackend } from '../engine/backend.js';
import { writePriorFolder, type PriorMeta } from '../prior-folder.js';
import type { ScoreModel } from '../../src-shared/diffusion/types.js';
import { DEFAULT_ARCH, UnetScoreModel, unetFlops, unetLayout, type UnetArch } from '../../src-shared/diffusion/nn/unet.js';
import { createUnetFromWeights, validatePriorMeta } from '../../src-shared/diffusion/nn/prior-meta.js';
import { encodeWeights } from '../../src-shared/diffusion/nn/weights.js';
import { unetOnEngine } from '../onnx/priors.js';
import { defaultOnnxThreads, ortAvailability } from '../onnx/runtime.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BATCH = 16;
const SIZE = 64;

const seconds = (): number => {
  const s = Number(process.env.SKYSCORE_BENCH_SECONDS);
  return Number.isFinite(s) && s > 0 ? s : 2;
};

/** Score evaluations per second of `model` at batch 16, 64×64 (timed ≥ the bench's seconds and ≥ 2 batches). */
function evalsPerSecond(model: ScoreModel): number {
  const x = tf.mul(tf.randomNormal([BATCH, SIZE, SIZE], 0, 1, 'float32', 1), 0.5);
  const s = tf.fill([BATCH], 0.3) as tf.Tensor1D;
  const once = () => tf.tidy(() => model.score(x, s).dataSync());
  once();
  let reps = 0;
  const t0 = performance.now();
  while (reps < 2 || performance.now() - t0 < seconds() * 1000) {
    once();
    reps++;
  }
  const dt = (performance.now() - t0) / 1000;
  tf.dispose([x, s]);
  return (reps * BATCH) / dt;
}

/** A Python that imports torch, or null. */
export function torchPython(): string | null {
  for (const py of [process.env.SKYSCORE_PYTHON, 'python3', '/usr/bin/python3']) {
    if (!py) continue;
    try {
      execFileSync(py, ['-c', 'import torch, numpy'], { stdio: 'ignore', timeout: 60_000 });
      return py;
    } catch {
      /* next */
    }
  }
  return null;
}

function torchEvals(py: string, modelDir: string, threads: number): number {
  const out = execFileSync(py, [path.join(ROOT, 'scripts', 'torch-unet.py'), 'bench', modelDir, '--batch', String(BATCH), '--size', String(SIZE), '--threads', String(threads), '--seconds', String(seconds())], {
    encoding: 'utf8',
    timeout: 600_000,
  });
  return (JSON.parse(out.trim().split('\n').pop()!) as { evalsPerSecond: number }).evalsPerSecond;
}

/** A model folder for a network: galaxy-64 as shipped, or DEFAULT_ARCH with random weights written to a temp folder. */
async function network(which: 'galaxy-64' | 'default'): Promise<{ dir: string; arch: UnetArch; tfjs: UnetScoreModel; cleanup: () => void }> {
  if (which === 'galaxy-64') {
    const dir = path.join(ROOT, 'models', 'galaxy-64');
    const meta = validatePriorMeta(JSON.parse(readFileSync(path.join(dir, 'model.json'), 'utf8')));
    const bytes = readFileSync(path.join(dir, meta.weights.file));
    return { dir, arch: meta.arch, tfjs: createUnetFromWeights(meta, new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)), cleanup: () => {} };
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'skyscore-bench-unet-'));
  const arch = DEFAULT_ARCH;
  const values = unetLayout(arch).initialise(1);
  const { manifest, bytes } = encodeWeights(unetLayout(arch), values, 'float32');
  const meta: PriorMeta = {
    kind: 'unet',
    arch,
    imageShape: [SIZE, SIZE],
    channels: 1,
    sde: { type: 've', sigmaMin: 0.01, sigmaMax: 50 },
    normalisation: { offset: 0, scale: 1 },
    data: { source: 'bench: random weights', train: 0, validation: 0 },
    steps: 0,
    imagesSeen: 0,
    validationLoss: null,
    date: new Date(0).toISOString(),
    skyscoreVersion: 'bench',
    weights: { file: 'weights.bin', dtype: 'float32', manifest },
  };
  await writePriorFolder(dir, meta, bytes);
  return { dir, arch, tfjs: new UnetScoreModel(arch, values, [SIZE, SIZE]), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

async function engineFigures(which: 'galaxy-64' | 'default'): Promise<Record<string, number | string>> {
  await initBackend('wasm');
  const net = await network(which);
  const gflop = unetFlops(net.arch, SIZE, SIZE) / 1e9;
  const cores = defaultOnnxThreads();
  const out: Record<string, number | string> = { 'GFLOP/eval': gflop };
  try {
    out['tfjs-wasm evals/s'] = evalsPerSecond(net.tfjs);
    const ort = ortAvailability();
    if (ort.available) {
      for (const threads of [...new Set([1, cores])]) {
        const { model } = await unetOnEngine(net.tfjs, { ...validatePriorMeta(JSON.parse(readFileSync(path.join(net.dir, 'model.json'), 'utf8'))) }, 'bench', { engine: 'onnx', provider: 'cpu', threads });
        out[`onnx-cpu ${threads}t evals/s`] = evalsPerSecond(model);
        (model as { session?: { dispose(): void } }).session?.dispose();
      }
    } else {
      out.onnx = ort.reason;
    }
    const py = torchPython();
    if (py) {
      for (const threads of [...new Set([1, cores])]) out[`torch-cpu ${threads}t evals/s`] = torchEvals(py, net.dir, threads);
    } else {
      out.torch = 'not found (apt-get install python3-torch, or SKYSCORE_PYTHON)';
    }
    // the goal: ONNX Runtime at least 0.9× PyTorch's CPU throughput on the same network, at each thread count
    for (const threads of [...new Set([1, cores])]) {
      const onnx = out[`onnx-cpu ${threads}t evals/s`];
      const torch = out[`torch-cpu ${threads}t evals/s`];
      if (typeof onnx !== 'number' || typeof torch !== 'number') continue;
      const ratio = onnx / torch;
      out[`onnx/torch ${threads}t`] = ratio;
      out[`goal onnx >= 0.9x torch ${threads}t`] = ratio >= 0.9 ? `met (${ratio.toFixed(2)}x)` : `missed (${ratio.toFixed(2)}x)`;
    }
    // per-core throughput of the best ONNX Runtime figure
    const best = out[`onnx-cpu ${cores}t evals/s`];
    if (typeof best === 'number') out['onnx GFLOP/s per core'] = (best * gflop) / cores;
    out['tfjs GFLOP/s per core'] = (out['tfjs-wasm evals/s'] as number) * gflop;
  } finally {
    net.tfjs.dispose();
    net.cleanup();
  }
  return out;
}

export const benches: Bench[] = [
  { name: 'score engines: galaxy-64, batch 16, 64x64', run: () => engineFigures('galaxy-64') },
  { name: 'score engines: default U-Net (DEFAULT_ARCH), batch 16, 64x64', run: () => engineFigures('default') },
  {
    name: 'score engines: RSS over 200 ONNX Runtime batches (galaxy-64)',
    async run(): Promise<Record<string, number | string>> {
      await initBackend('wasm');
      if (!ortAvailability().available) return { skipped: 'onnxruntime-node not available' };
      if (!existsSync(path.join(ROOT, 'models', 'galaxy-64', 'model.json'))) return { skipped: 'models/galaxy-64 not installed' };
      const mb = () => process.memoryUsage.rss() / 2 ** 20;
      const start = mb();
      const net = await network('galaxy-64');
      const meta = validatePriorMeta(JSON.parse(readFileSync(path.join(net.dir, 'model.json'), 'utf8')));
      const { model } = await unetOnEngine(net.tfjs, meta, 'bench', { engine: 'onnx', provider: 'cpu' });
      const x = tf.randomNormal([BATCH, SIZE, SIZE]);
      const s = tf.fill([BATCH], 0.3) as tf.Tensor1D;
      const batch = () => tf.tidy(() => model.score(x, s).dataSync());
      for (let i = 0; i < 10; i++) batch();
      const warm = mb();
      const tensors0 = tf.memory().numTensors;
      // the allocator's RSS moves by tens of MB from batch to batch: growth is the trend, the mean of the last 50
      // batches' RSS against the first 50's
      const rss: number[] = [];
      for (let i = 0; i < 200; i++) {
        batch();
        rss.push(mb());
      }
      const end = mb();
      const tensors1 = tf.memory().numTensors;
      tf.dispose([x, s]);
      model.dispose();
      const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
      return {
        'rss start MB': start,
        'rss after 10 (warm-up) MB': warm,
        'rss end MB': end,
        'rss max MB': Math.max(warm, ...rss),
        'rss mean first 50 MB': mean(rss.slice(0, 50)),
        'rss mean last 50 MB': mean(rss.slice(-50)),
        'tensor growth': tensors1 - tensors0,
      };
    },
  },
];
