/**
 * Forward-model operators: one-time setup and apply / adjoint times per backend for the sizes the app is built for —
 * a 256×256 PSF convolution (a small Gaussian: direct conv2d; a 147×147 HST PSF: matMul Fourier filter),
 * a 128×128 source lensed onto a 256×256 image with supersample 2, and uv sampling on 256×256 (VLA, 8 h).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import type { Bench } from './types.js';
import { initBackend } from '../engine/backend.js';
import type { BackendName } from '../../src-shared/protocol/index.js';
import { PsfOperator, gaussianPsf, psfFromImage, type PsfKernel, type PsfMethod } from '../../src-shared/operators/psf.js';
import { LensOperator } from '../../src-shared/operators/lens.js';
import { UvSamplingOperator, gridUv, parseStationTable, uvCoverage } from '../../src-shared/operators/uv.js';
import type { LinearOperator } from '../../src-shared/operators/types.js';
import { decodeImage2d } from '../forward-model-files.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const DATA = path.join(ROOT, '..', 'shared', 'data');

async function timeIt(f: () => tf.Tensor, reps: number): Promise<number> {
  const t = f();
  await t.data();
  t.dispose();
  const times: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    const y = f();
    await y.data();
    y.dispose();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

/** setup (ms), apply and adjoint (ms, median), for batch 1 and 4. */
async function figures(backend: BackendName, build: () => LinearOperator, extra: (op: LinearOperator) => Record<string, number | string> = () => ({})): Promise<Record<string, number | string>> {
  const info = await initBackend(backend);
  if (info.gpuAdapter.software && backend === 'webgpu') {
    return { backend, skipped: `software WebGPU adapter only (${info.gpuAdapter.description ?? 'unknown'}): not timed` };
  }
  const reps = backend === 'cpu' ? 2 : 7;
  const before = tf.memory().numTensors;
  const t0 = performance.now();
  const op = build();
  const setupMs = performance.now() - t0;
  // the first call compiles kernels / shaders and uploads the precomputed tensors
  const t1 = performance.now();
  const probe = tf.tidy(() => op.apply(tf.zeros([1, ...op.inShape])));
  await probe.data();
  probe.dispose();
  const out: Record<string, number | string> = { backend, setupMs, firstApplyMs: performance.now() - t1 };
  for (const b of backend === 'cpu' ? [1] : [1, 4]) {
    const x = tf.randomNormal([b, ...op.inShape]);
    const y = tf.randomNormal([b, ...op.outShape]);
    out[`applyMs_b${b}`] = await timeIt(() => op.apply(x), reps);
    out[`adjointMs_b${b}`] = await timeIt(() => op.adjoint(y), reps);
    tf.dispose([x, y]);
  }
  Object.assign(out, extra(op));
  op.dispose();
  if (tf.memory().numTensors !== before) out.leakedTensors = tf.memory().numTensors - before;
  return out;
}

function hstPsf(): PsfKernel {
  const img = decodeImage2d(new Uint8Array(readFileSync(path.join(DATA, 'psf', 'lenstronomy_tinytim_psf_example.fits'))), 'tinytim');
  return psfFromImage(img.data, img.shape);
}

function vlaWeights(n: number): Float64Array {
  const st = parseStationTable(readFileSync(path.join(DATA, 'arrays', 'VLA_BNA.txt'), 'utf8'));
  const c = uvCoverage(st, { declinationDeg: 34, hourAngleH: [-4, 4], stepMin: 5, wavelengthM: 0.06 });
  return gridUv(c.u, c.v, [n, n], 0.5).weights;
}

const LENS = { thetaE: 1.1, q: 0.75, phi: 0.4, x0: 0, y0: 0, gamma1: 0.02, gamma2: -0.01 };

function benchesFor(backend: BackendName): Bench[] {
  const psf = (label: string, kernel: () => PsfKernel, method: PsfMethod): Bench => ({
    name: `operators ${backend}: psf 256² ${label} (${method})`,
    run: () =>
      figures(backend, () => new PsfOperator([256, 256], kernel(), { method }), (op) => ({ method: (op as PsfOperator).method })),
  });
  return [
    psf('Gaussian FWHM 2.5', () => gaussianPsf(2.5), 'auto'),
    psf('Gaussian FWHM 2.5', () => gaussianPsf(2.5), 'direct'),
    psf('Gaussian FWHM 2.5', () => gaussianPsf(2.5), 'fourier'),
    psf('Gaussian FWHM 8', () => gaussianPsf(8), 'direct'),
    psf('Gaussian FWHM 8', () => gaussianPsf(8), 'fourier'),
    psf('HST 147²', hstPsf, 'auto'),
    {
      name: `operators ${backend}: lens 128²→256² ss2`,
      run: () =>
        figures(
          backend,
          () => new LensOperator(LENS, { sourceShape: [128, 128], sourcePixelScale: 0.03, imageShape: [256, 256], imagePixelScale: 0.02, supersample: 2 }),
          (op) => ({ nnz: (op as LensOperator).matrix.rowPtr[65536], strategy: (op as LensOperator).strategy }),
        ),
    },
    {
      name: `operators ${backend}: uv-sampling 256² VLA 8h`,
      run: () => figures(backend, () => new UvSamplingOperator([256, 256], vlaWeights(256))),
    },
  ];
}

export const benches: Bench[] = (['wasm', 'cpu', 'webgpu'] as BackendName[]).flatMap(benchesFor);
