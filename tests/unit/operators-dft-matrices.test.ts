/**
 * The dense DFT matrices shared by FourierFilter and Spectral2D against the float64 FFT (numpy conventions):
 * real and complex forward transforms with zero padding, their inverses with cropping, and the round trip.
 */
import { describe, expect, it } from 'vitest';
import {
  complexDftMatrix,
  dft2Matrices,
  halfSpectrumSize,
  inverseComplexDftMatrix,
  inverseRealDftMatrix,
  realDftMatrix,
  twiddles,
} from '../../src-shared/operators/dft-matrices.js';
import { fft1d } from '../../src-shared/operators/fft.js';
import { Rng } from '../../src-shared/diffusion/nn/rng.js';

/** Row vector v [r] times row-major m [r, c], in float64. */
function vecMat(v: ArrayLike<number>, m: Float32Array, r: number, c: number): Float64Array {
  const out = new Float64Array(c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j] += v[i] * m[i * c + j];
  return out;
}

/** Float32 entries of O(1): products of length ≤ 2·16 agree with float64 to a few 1e-7 per unit of |x|. */
const TOL = 2e-6;

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

describe('dense DFT matrices', () => {
  const rng = new Rng(11);

  it('tabulates cos and sin of 2πt/n exactly as Math does', () => {
    const tw = twiddles(7);
    expect(tw.cos.length).toBe(7);
    expect(tw.cos[0]).toBe(1);
    expect(tw.sin[0]).toBe(0);
    expect(tw.cos[3]).toBe(Math.cos((6 * Math.PI) / 7));
    expect(tw.sin[5]).toBe(Math.sin((10 * Math.PI) / 7));
    expect([1, 2, 5, 8, 9].map(halfSpectrumSize)).toEqual([1, 2, 3, 5, 5]);
  });

  for (const [nIn, n] of [[5, 8], [9, 9], [4, 11], [1, 1]]) {
    it(`real DFT of ${nIn} points padded to ${n} is the half spectrum of the FFT`, () => {
      const kh = halfSpectrumSize(n);
      const x = Array.from({ length: nIn }, () => rng.normal());
      const re = new Float64Array(n);
      const im = new Float64Array(n);
      re.set(x);
      fft1d(re, im);
      const y = vecMat(x, realDftMatrix(nIn, n), nIn, 2 * kh);
      expect(maxAbsDiff(y.subarray(0, kh), re.subarray(0, kh))).toBeLessThan(TOL * nIn);
      expect(maxAbsDiff(y.subarray(kh), im.subarray(0, kh))).toBeLessThan(TOL * nIn);
    });

    it(`complex DFT of ${nIn} points padded to ${n}, then its inverse cropped back, agree with the FFT`, () => {
      const a = Array.from({ length: nIn }, () => rng.normal());
      const b = Array.from({ length: nIn }, () => rng.normal());
      const re = new Float64Array(n);
      const im = new Float64Array(n);
      re.set(a);
      im.set(b);
      fft1d(re, im);
      const z = vecMat([...a, ...b], complexDftMatrix(nIn, n), 2 * nIn, 2 * n);
      expect(maxAbsDiff(z.subarray(0, n), re)).toBeLessThan(TOL * nIn);
      expect(maxAbsDiff(z.subarray(n), im)).toBeLessThan(TOL * nIn);
      const w = vecMat(z, inverseComplexDftMatrix(n, nIn), 2 * n, 2 * nIn);
      expect(maxAbsDiff(w.subarray(0, nIn), a)).toBeLessThan(TOL * n);
      expect(maxAbsDiff(w.subarray(nIn), b)).toBeLessThan(TOL * n);
    });

    it(`inverse real DFT from the half spectrum of ${n} points, cropped to ${nIn}, inverts the real DFT`, () => {
      const kh = halfSpectrumSize(n);
      const x = Array.from({ length: n }, () => rng.normal());
      const spec = vecMat(x, realDftMatrix(n, n), n, 2 * kh);
      const back = vecMat(spec, inverseRealDftMatrix(n, nIn), 2 * kh, nIn);
      expect(maxAbsDiff(back, x.slice(0, nIn))).toBeLessThan(TOL * n);
    });
  }

  it('assembles the four stages of a padded, cropped 2-D filter with their documented sizes', () => {
    const m = dft2Matrices([3, 5], [2, 4], [6, 9]);
    expect(m.kh).toBe(5);
    expect(m.m1).toEqual(realDftMatrix(5, 9));
    expect(m.m2).toEqual(complexDftMatrix(3, 6));
    expect(m.m3).toEqual(inverseComplexDftMatrix(6, 2));
    expect(m.m4).toEqual(inverseRealDftMatrix(9, 4));
    expect([m.m1.length, m.m2.length, m.m3.length, m.m4.length]).toEqual([5 * 10, 6 * 12, 12 * 4, 10 * 4]);
  });
});
