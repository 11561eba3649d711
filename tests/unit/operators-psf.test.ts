import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import { PsfOperator, gaussianPsf, psfFromImage, FWHM_PER_SIGMA } from '../../src-shared/operators/psf.js';
import { dotTest, randn, refConvolve, refConvolveAdjoint, refGaussian, relErr, run } from './operators-ref.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('gaussianPsf', () => {
  it('follows docs/forward-models.md: (2⌈4σ⌉+1)² grid, σ = F/2.3548, unit sum, centre ⌊K/2⌋', () => {
    for (const f of [0.5, 1, 2.5, 3.7]) {
      const k = gaussianPsf(f);
      const ref = refGaussian(f);
      expect(k.shape).toEqual([ref.k, ref.k]);
      expect(k.center).toEqual([Math.floor(ref.k / 2), Math.floor(ref.k / 2)]);
      expect(relErr(k.data, ref.h)).toBeLessThan(1e-14);
      let s = 0;
      for (const v of k.data) s += v;
      expect(s).toBeCloseTo(1, 12);
    }
    expect(FWHM_PER_SIGMA).toBe(2.3548);
    expect(gaussianPsf(2.5).shape).toEqual([11, 11]); // σ = 1.0617, ⌈4σ⌉ = 5
  });
});

describe('PsfOperator', () => {
  const cases: { name: string; ny: number; nx: number; ky: number; kx: number }[] = [
    { name: 'odd PSF', ny: 13, nx: 17, ky: 5, kx: 7 },
    { name: 'even PSF', ny: 12, nx: 15, ky: 4, kx: 6 },
    { name: 'mixed odd/even PSF', ny: 16, nx: 11, ky: 3, kx: 8 },
    { name: 'PSF larger than the image', ny: 9, nx: 7, ky: 23, kx: 20 },
  ];
  for (const c of cases) {
    for (const method of ['direct', 'fourier'] as const) {
      it(`${c.name} (${method}) matches the direct spatial sum, and its adjoint the correlation`, () => {
        const h = Float64Array.from(randn(c.ky * c.kx, 7), (v) => Math.abs(v) + 0.1);
        const op = new PsfOperator([c.ny, c.nx], psfFromImage(h, [c.ky, c.kx], false), { method });
        expect(op.method).toBe(method);
        const x = randn(c.ny * c.nx, 11);
        const y = run(op, x);
        expect(relErr(y, refConvolve(x, c.ny, c.nx, h, c.ky, c.kx))).toBeLessThan(1e-5);
        const yy = randn(c.ny * c.nx, 12);
        expect(relErr(run(op, yy, true), refConvolveAdjoint(yy, c.ny, c.nx, h, c.ky, c.kx))).toBeLessThan(1e-5);
        expect(dotTest(op, 3, 3)).toBeLessThan(1e-5);
        op.dispose();
      });
    }
  }

  it('an off-centre PSF (a shifted delta) shifts the image, with zeros entering at the edge', () => {
    // delta at (cy + 1, cx − 2) in a 7×7 kernel: y[i, j] = x[i − 1, j + 2]
    const h = new Float64Array(49);
    h[(3 + 1) * 7 + (3 - 2)] = 1;
    for (const method of ['direct', 'fourier'] as const) {
      const op = new PsfOperator([10, 12], psfFromImage(h, [7, 7]), { method });
      const x = randn(120, 5);
      const y = run(op, x);
      for (let i = 0; i < 10; i++)
        for (let j = 0; j < 12; j++) {
          const si = i - 1;
          const sj = j + 2;
          const want = si >= 0 && sj < 12 ? x[si * 12 + sj] : 0;
          expect(y[i * 12 + j]).toBeCloseTo(want, 5);
        }
      op.dispose();
    }
  });

  it('even-sized PSF: the centre is the pixel at K/2 (astropy/GalSim), not K/2 − 1', () => {
    const h = new Float64Array(16);
    h[2 * 4 + 2] = 1; // the pixel at ⌊4/2⌋ = 2 on both axes: identity
    const op = new PsfOperator([6, 6], psfFromImage(h, [4, 4]), { method: 'fourier' });
    const x = randn(36, 9);
    expect(relErr(run(op, x), x)).toBeLessThan(1e-6);
    op.dispose();
  });

  it('a Gaussian PSF preserves flux away from the edges and gives the exact diagonal of A Aᵀ', () => {
    const op = new PsfOperator([32, 32], gaussianPsf(2.5));
    const x = new Float32Array(32 * 32);
    x[16 * 32 + 16] = 1;
    const y = run(op, x);
    let s = 0;
    for (const v of y) s += v;
    expect(s).toBeCloseTo(1, 5);
    // diag(A Aᵀ)_i = Σ_j A_ij² = ‖Aᵀ e_i‖²: check at a corner, an edge and the middle
    const d = op.gramDiagonal();
    for (const [i, j] of [
      [0, 0],
      [0, 13],
      [16, 16],
      [31, 30],
    ]) {
      const e = new Float32Array(32 * 32);
      e[i * 32 + j] = 1;
      const col = run(op, e, true);
      let n2 = 0;
      for (const v of col) n2 += v * v;
      expect(d[i * 32 + j]).toBeCloseTo(n2, 6);
    }
    op.dispose();
  });

  it('gram(): circulant approximation |H|² on the image grid, flagged inexact, exact in the interior', () => {
    const k = gaussianPsf(2);
    const op = new PsfOperator([16, 20], k);
    const g = op.gram();
    expect(g.kind).toBe('fourier-diagonal');
    if (g.kind !== 'fourier-diagonal') return;
    expect(g.exact).toBe(false);
    expect(g.diag.length).toBe(320);
    expect(g.diag[0]).toBeCloseTo(1, 6); // unit-sum PSF: H(0) = 1
    // A Aᵀ e_c for a central pixel equals the circulant F⁻¹ |H|² F e_c there (the PSF autocorrelation)
    const e = new Float32Array(320);
    e[8 * 20 + 10] = 1;
    const aat = run(op, run(op, e, true));
    const re = new Float64Array(320);
    const im = new Float64Array(320);
    for (let l = 0; l < 16; l++)
      for (let m = 0; m < 20; m++) {
        // (F⁻¹ D F e_c)[i, j] = (1/N) Σ D e^{2πi(l(i−8)/16 + m(j−10)/20)}
        re[l * 20 + m] = g.diag[l * 20 + m];
      }
    let maxDiff = 0;
    for (let i = 4; i < 13; i++)
      for (let j = 6; j < 15; j++) {
        let s = 0;
        for (let l = 0; l < 16; l++)
          for (let m = 0; m < 20; m++) s += re[l * 20 + m] * Math.cos(2 * Math.PI * ((l * (i - 8)) / 16 + (m * (j - 10)) / 20));
        maxDiff = Math.max(maxDiff, Math.abs(s / 320 - aat[i * 20 + j]));
      }
    expect(maxDiff).toBeLessThan(1e-6);
    expect(im[0]).toBe(0);
    op.dispose();
  });

  it('auto picks the direct path for a small PSF and the Fourier path for a large one; no tensors leak', () => {
    const before = tf.memory().numTensors;
    const small = new PsfOperator([64, 64], gaussianPsf(2));
    const big = new PsfOperator([64, 64], psfFromImage(new Float64Array(41 * 41).fill(1), [41, 41]));
    expect(small.method).toBe('direct');
    expect(big.method).toBe('fourier');
    const mid = tf.memory().numTensors;
    for (let k = 0; k < 2; k++) {
      tf.tidy(() => {
        const x = tf.randomNormal([2, 64, 64]);
        small.apply(x);
        big.adjoint(big.apply(x));
      });
    }
    expect(tf.memory().numTensors).toBe(mid);
    small.dispose();
    big.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('gradients through apply use the adjoint', () => {
    const op = new PsfOperator([8, 9], psfFromImage(Float64Array.from(randn(15, 4)), [3, 5], false));
    const y = tf.tensor3d(randn(72, 5), [1, 8, 9]);
    const x = tf.tensor3d(randn(72, 6), [1, 8, 9]);
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(op.apply(t), y)))(x);
    expect(relErr(g.dataSync(), run(op, y.dataSync(), true))).toBeLessThan(1e-6);
    tf.dispose([x, y, g]);
    op.dispose();
  });
});
