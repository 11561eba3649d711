/** The operators on the wasm backend (XNNPACK; no FFT kernel): same answers and exact adjoints as on cpu. */
import { beforeAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { PsfOperator, gaussianPsf, psfFromImage } from '../../src-shared/operators/psf.js';
import { LensOperator } from '../../src-shared/operators/lens.js';
import { MaskOperator } from '../../src-shared/operators/mask.js';
import { UvSamplingOperator, gridUv, parseStationTable, uvCoverage } from '../../src-shared/operators/uv.js';
import { compose } from '../../src-shared/operators/compose.js';
import { defaultSparseStrategy } from '../../src-shared/operators/sparse.js';
import { ROOT, dataPath } from '../helpers/data.js';
import { dotTest, randn, refConvolve, refFourierFilter, refLens, refUvWeights, relErr, run } from './operators-ref.js';

beforeAll(async () => {
  setWasmPaths(path.join(ROOT, 'node_modules/@tensorflow/tfjs-backend-wasm/dist') + path.sep);
  expect(await tf.setBackend('wasm')).toBe(true);
});

const LENS = { thetaE: 0.7, q: 0.65, phi: -0.3, x0: 0.03, y0: 0.01, gamma1: -0.02, gamma2: 0.04 };

describe('operators on wasm', () => {
  it('PSF convolution, both paths, odd and even kernels: definition and dot test', () => {
    expect(tf.getBackend()).toBe('wasm');
    for (const [ky, kx] of [
      [5, 7],
      [6, 4],
    ]) {
      const h = Float64Array.from(randn(ky * kx, ky), (v) => Math.abs(v));
      for (const method of ['direct', 'fourier'] as const) {
        const op = new PsfOperator([22, 19], psfFromImage(h, [ky, kx], false), { method });
        const x = randn(22 * 19, 3);
        expect(relErr(run(op, x), refConvolve(x, 22, 19, h, ky, kx))).toBeLessThan(1e-5);
        expect(dotTest(op, 4, 3)).toBeLessThan(1e-5);
        op.dispose();
      }
    }
  });

  it('lens with the default (segment) sparse strategy: definition and dot test', () => {
    expect(defaultSparseStrategy()).toBe('segment');
    const op = new LensOperator(LENS, { sourceShape: [26, 24], sourcePixelScale: 0.05, imageShape: [36, 40], imagePixelScale: 0.04, supersample: 2 });
    const x = randn(26 * 24, 2);
    expect(relErr(run(op, x), refLens(LENS, x, 26, 24, 2, 36, 40, 0.04, 0.05))).toBeLessThan(1e-5);
    expect(dotTest(op, 6, 3)).toBeLessThan(1e-5);
    op.dispose();
  });

  it('uv sampling on a real radio image and a lens → psf → mask chain', () => {
    const vla = parseStationTable(readFileSync(dataPath('arrays', 'VLA_BNA.txt'), 'utf8'));
    const spec = { declinationDeg: 50, hourAngleH: [-2, 3] as [number, number], stepMin: 10, wavelengthM: 0.2 };
    const cov = uvCoverage(vla, spec);
    const g = gridUv(cov.u, cov.v, [40, 36], 1.5);
    const uv = new UvSamplingOperator([40, 36], g.weights);
    const x = randn(40 * 36, 5);
    const stations = vla.names.map((_, i) => [vla.xyz[3 * i], vla.xyz[3 * i + 1], vla.xyz[3 * i + 2]] as [number, number, number]);
    const W = refUvWeights({ stations, decDeg: 50, h0: -2, h1: 3, stepMin: 10, lambda: 0.2, pixArcsec: 1.5 }, 40, 36);
    expect(relErr(run(uv, x), refFourierFilter(x, 40, 36, W))).toBeLessThan(1e-5);
    expect(dotTest(uv, 8)).toBeLessThan(1e-5);
    uv.dispose();

    const mask = Float32Array.from(randn(30 * 30, 9), (v) => (v > 0 ? 1 : 0));
    const chain = compose(
      new LensOperator(LENS, { sourceShape: [20, 20], sourcePixelScale: 0.05, imageShape: [30, 30], imagePixelScale: 0.05, supersample: 2 }),
      new PsfOperator([30, 30], gaussianPsf(2.5)),
      new MaskOperator([30, 30], mask),
    );
    expect(dotTest(chain, 10, 2)).toBeLessThan(1e-5);
    chain.dispose();
  });
});
