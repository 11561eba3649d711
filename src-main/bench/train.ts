/**
 * Score-network and training throughput: the default U-Net (nf 32, chMult [1,2,2], 2 res blocks, attention;
 * 1.5 M parameters, 2.85 GFLOP per 64×64 evaluation) on each CPU backend.
 *  - score evaluations per second at 64×64, batch 1 and 16 (one thread);
 *  - training images per second (DSM forward + backward ≈ 3 forward passes), one worker and two workers
 *    splitting the batch (the trainer's default on a 2-core machine), and for a smaller network (nf 16,
 *    1 res block) to help choose a prior's size.
 * GFLOP/s count the convolution, dense and attention products only. "peak" is the throughput of the best-case
 * kernel on the same backend measured in the same run (a 16×64×64×32→32 3×3 convolution, per core), so
 * `shareOfPeak` says how much of what the backend can do the network gets. Wall and CPU time are both given:
 * on a shared machine the CPU-time figures (per core; a worker pool's threads are summed) are the reliable ones.
 */
import * as tf from '@tensorflow/tfjs-core';
import { readAndDispose } from '../../src-shared/diffusion/readback.js';
import { cpus } from 'node:os';
import type { Bench } from './types.js';
import { convPeak, cpuMs } from './kernels.js';
import { initBackend } from '../engine/backend.js';
import { UnetScoreModel, unetFlops, unetLayout, DEFAULT_ARCH, type UnetArch } from '../../src-shared/diffusion/nn/unet.js';
import { LocalUnetEngine, type GradientEngine } from '../../src-shared/diffusion/train/engine.js';
import { Rng } from '../../src-shared/diffusion/nn/rng.js';
import { WorkerPoolEngine } from '../train/pool.js';
import type { Batch } from '../../src-shared/diffusion/train/data.js';
import type { BackendName } from '../../src-shared/protocol/index.js';

const ARCH = DEFAULT_ARCH;
const S = 64;
const FLOP = unetFlops(ARCH, S, S);

async function scoreFigures(backend: BackendName, batch: number): Promise<Record<string, number | string>> {
  const info = await initBackend(backend);
  const peak = convPeak();
  const layout = unetLayout(ARCH);
  const m = new UnetScoreModel(ARCH, layout.initialise(1), [S, S]);
  const rng = new Rng(1);
  const x = tf.tensor3d(rng.fillNormal(new Float32Array(batch * S * S)), [batch, S, S]);
  const sig = tf.fill([batch], 0.5) as tf.Tensor1D;
  // read back asynchronously, as a GPU backend in Node must (src-shared/diffusion/readback.ts)
  const once = () => readAndDispose(tf.tidy(() => m.score(x, sig)));
  await once();
  const reps = backend === 'cpu' ? 1 : batch === 1 ? 6 : 2;
  const before = tf.memory().numTensors;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) await once();
  const wall = (performance.now() - t0) / reps;
  const cpu = cpuMs(process.cpuUsage(c0)) / reps;
  const leaked = tf.memory().numTensors - before;
  tf.dispose([x, sig]);
  m.dispose();
  const gflops = (batch * FLOP) / wall / 1e6;
  const gflopsCpu = (batch * FLOP) / cpu / 1e6;
  return {
    backend: info.backend,
    evalsPerS: (batch * 1000) / wall,
    evalsPerCpuS: (batch * 1000) / cpu,
    msPerBatch: wall,
    cpuMsPerBatch: cpu,
    gflopPerEval: FLOP / 1e9,
    gflops,
    gflopsCpu,
    peakGflopsCpu: peak,
    shareOfPeak: gflopsCpu / peak,
    params: layout.trainableSize(),
    tensorsLeaked: leaked,
  };
}

function randomBatch(rng: Rng, n: number): Batch {
  const p = S * S;
  const sigma = new Float32Array(n).map(() => 0.01 * 3000 ** rng.uniform());
  return { n, ny: S, nx: S, x: rng.fillNormal(new Float32Array(n * p), 0.3), noise: rng.fillNormal(new Float32Array(n * p)), sigma };
}

async function trainFigures(backend: BackendName, workers: number, perWorker: number, arch: UnetArch = ARCH): Promise<Record<string, number | string>> {
  const info = await initBackend(backend);
  const peak = convPeak(); // per core
  const values = unetLayout(arch).initialise(2);
  const flop = unetFlops(arch, S, S);
  const engine: GradientEngine =
    workers === 1
      ? new LocalUnetEngine(arch, values, [S, S], perWorker)
      : await WorkerPoolEngine.create({ workers, backend, arch, imageShape: [S, S], values, microBatch: perWorker });
  const rng = new Rng(3);
  const batch = workers * perWorker;
  try {
    await engine.gradient(randomBatch(rng, batch));
    const steps = 2;
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < steps; i++) {
      await engine.gradient(randomBatch(rng, batch));
      await engine.setParams(values);
    }
    const wall = (performance.now() - t0) / 1000;
    const cpu = cpuMs(process.cpuUsage(c0)) / 1000;
    const imgs = steps * batch;
    const gflops = (3 * flop * imgs) / wall / 1e9;
    const gflopsCpu = (3 * flop * imgs) / cpu / 1e9; // per core: CPU time sums the workers' threads
    return {
      backend: info.backend,
      workers,
      params: unetLayout(arch).trainableSize(),
      batch,
      imagesPerS: imgs / wall,
      imagesPerCpuS: imgs / cpu,
      secondsPerStep: wall / steps,
      gflops,
      gflopsPerCore: gflopsCpu,
      peakGflopsPerCore: peak,
      shareOfPeak: gflopsCpu / peak,
    };
  } finally {
    await engine.dispose();
  }
}

const twoCores = cpus().length >= 2;

export const benches: Bench[] = [
  { name: 'unet64 score wasm batch 1', run: () => scoreFigures('wasm', 1) },
  { name: 'unet64 score wasm batch 16', run: () => scoreFigures('wasm', 16) },
  { name: 'unet64 score cpu batch 1', run: () => scoreFigures('cpu', 1) },
  { name: 'unet64 train wasm 1 worker', run: () => trainFigures('wasm', 1, 8) },
  ...(twoCores ? [{ name: 'unet64 train wasm 2 workers', run: () => trainFigures('wasm', 2, 8) }] : []),
  // a smaller prior (nf 16, 1 res block: 0.27 M parameters, 0.50 GFLOP) for comparison when choosing a size
  { name: 'unet64 train wasm 1 worker nf16 rb1', run: () => trainFigures('wasm', 1, 8, { ...ARCH, nf: 16, numResBlocks: 1 }) },
];
