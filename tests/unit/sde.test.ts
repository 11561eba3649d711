/**
 * The VE SDE's schedule, the chains' random streams (normal deviates, independence from batching), Welford's
 * running statistics and the matMul-based circulant operator (against a float64 DFT written from the definition).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src-main/engine/backend.js';
import { diffusionSquared, sigmaAt, sigmaSchedule, timeGrid, timeOfSigma, validateSde } from '../../src-shared/diffusion/sde.js';
import { ChainNoise, ChainRandom } from '../../src-shared/diffusion/chain-rng.js';
import { Welford } from '../../src-shared/diffusion/welford.js';
import { Spectral2D, evenSymmetryError } from '../../src-shared/diffusion/spectral.js';

beforeAll(async () => {
  await initBackend('wasm');
});

describe('VE SDE', () => {
  const sde = { sigmaMin: 0.01, sigmaMax: 50 };

  it('σ(t) = σmin (σmax/σmin)^t, g² = dσ²/dt, geometric schedule from σmax to σmin', () => {
    expect(sigmaAt(sde, 0)).toBeCloseTo(0.01, 14);
    expect(sigmaAt(sde, 1)).toBeCloseTo(50, 10);
    expect(sigmaAt(sde, 0.5)).toBeCloseTo(Math.sqrt(0.01 * 50), 12);
    for (const t of [0.1, 0.37, 0.9]) {
      const h = 1e-6;
      const fd = (sigmaAt(sde, t + h) ** 2 - sigmaAt(sde, t - h) ** 2) / (2 * h);
      expect(Math.abs(diffusionSquared(sde, t) - fd) / fd).toBeLessThan(1e-7);
      expect(timeOfSigma(sde, sigmaAt(sde, t))).toBeCloseTo(t, 12);
    }
    const s = sigmaSchedule(sde, 5);
    expect(s[0]).toBeCloseTo(50, 10);
    expect(s[4]).toBeCloseTo(0.01, 14);
    for (let i = 1; i < 5; i++) expect(s[i - 1] / s[i]).toBeCloseTo(Math.pow(5000, 1 / 4), 10);
    expect(Array.from(timeGrid(3))).toEqual([1, 0.5, 0]);
  });

  it('refuses a bad schedule', () => {
    expect(() => validateSde({ sigmaMin: 0, sigmaMax: 1 })).toThrow(/0 < sigmaMin < sigmaMax/);
    expect(() => validateSde({ sigmaMin: 2, sigmaMax: 1 })).toThrow(/sigmaMin=2, sigmaMax=1/);
    expect(() => timeGrid(1)).toThrow(/≥ 2/);
  });
});

describe('chain random streams', () => {
  it('normal deviates: moments and tail frequencies within their Monte Carlo errors', () => {
    const r = new ChainRandom(7, 3);
    const n = 400_000;
    let m1 = 0;
    let m2 = 0;
    let m4 = 0;
    const cuts = [0.5, 1, 2, 3, 3.5];
    const counts = new Array(cuts.length).fill(0);
    for (let i = 0; i < n; i++) {
      const x = r.normal();
      m1 += x;
      m2 += x * x;
      m4 += x ** 4;
      for (let k = 0; k < cuts.length; k++) if (Math.abs(x) > cuts[k]) counts[k]++;
    }
    // standard errors: mean 1/√n, E x² = 1 ± √(2/n), E x⁴ = 3 ± √(96/n)
    expect(Math.abs(m1 / n)).toBeLessThan(5 / Math.sqrt(n));
    expect(Math.abs(m2 / n - 1)).toBeLessThan(5 * Math.sqrt(2 / n));
    expect(Math.abs(m4 / n - 3)).toBeLessThan(5 * Math.sqrt(96 / n));
    // P(|x| > c) = erfc(c/√2), exact values
    const tail = [0.617075077451974, 0.317310507862914, 0.0455002638963584, 0.00269979606326019, 0.000465258121502];
    cuts.forEach((_, k) => {
      const p = tail[k];
      expect(Math.abs(counts[k] - n * p)).toBeLessThan(5 * Math.sqrt(n * p * (1 - p)));
    });
  });

  it('streams depend on (seed, chain) only, and differ between chains and seeds', () => {
    const a = new ChainNoise(11, 5, 3).normals(8);
    const b = new ChainNoise(11, 6, 2).normals(8);
    expect(Array.from(a.subarray(8))).toEqual(Array.from(b)); // chains 6, 7 in either batch
    const c = new ChainNoise(12, 5, 1).normals(8);
    expect(Array.from(c)).not.toEqual(Array.from(a.subarray(0, 8)));
    // neighbouring chains are uncorrelated: correlation of 50 000 pairs within 5/√n
    const n = 50_000;
    const x = new ChainRandom(0, 0);
    const y = new ChainRandom(0, 1);
    let s = 0;
    for (let i = 0; i < n; i++) s += x.normal() * y.normal();
    expect(Math.abs(s / n)).toBeLessThan(5 / Math.sqrt(n));
    expect(() => new ChainRandom(-1, 0)).toThrow(/seed/);
  });
});

describe('Welford', () => {
  it('batched merges equal the two-pass mean and variance', () => {
    const r = new ChainRandom(1, 0);
    const per = 5;
    const all: number[][] = [];
    const w = new Welford(per);
    for (const b of [3, 1, 7, 2]) {
      const v = new Float32Array(b * per);
      for (let i = 0; i < v.length; i++) v[i] = 10 + 3 * r.normal();
      for (let k = 0; k < b; k++) all.push(Array.from(v.subarray(k * per, (k + 1) * per)));
      w.addBatch(v, b);
    }
    const { mean, variance } = w.result();
    for (let i = 0; i < per; i++) {
      const col = all.map((s) => s[i]);
      const m = col.reduce((a, b) => a + b, 0) / col.length;
      const v = col.reduce((a, b) => a + (b - m) ** 2, 0) / (col.length - 1);
      expect(mean[i]).toBeCloseTo(m, 5);
      expect(variance[i]).toBeCloseTo(v, 9);
    }
    expect(w.count).toBe(13);
  });
});

describe('Spectral2D (circulant operators by matMul DFTs)', () => {
  /** F⁻¹ diag(w) F x by the float64 DFT sums, full layout. */
  function reference(x: Float64Array, w: Float64Array, ny: number, nx: number): Float64Array {
    const re = new Float64Array(ny * nx);
    const im = new Float64Array(ny * nx);
    for (let l = 0; l < ny; l++) {
      for (let k = 0; k < nx; k++) {
        let sr = 0;
        let si = 0;
        for (let i = 0; i < ny; i++) {
          for (let j = 0; j < nx; j++) {
            const a = -2 * Math.PI * ((l * i) / ny + (k * j) / nx);
            sr += x[i * nx + j] * Math.cos(a);
            si += x[i * nx + j] * Math.sin(a);
          }
        }
        re[l * nx + k] = sr * w[l * nx + k];
        im[l * nx + k] = si * w[l * nx + k];
      }
    }
    const out = new Float64Array(ny * nx);
    for (let i = 0; i < ny; i++) {
      for (let j = 0; j < nx; j++) {
        let s = 0;
        for (let l = 0; l < ny; l++) {
          for (let k = 0; k < nx; k++) {
            const a = 2 * Math.PI * ((l * i) / ny + (k * j) / nx);
            s += re[l * nx + k] * Math.cos(a) - im[l * nx + k] * Math.sin(a);
          }
        }
        out[i * nx + j] = s / (ny * nx);
      }
    }
    return out;
  }

  it('matches the definition for odd and even sizes, with one multiplier per batch element', () => {
    for (const [ny, nx] of [
      [8, 6],
      [7, 9],
    ]) {
      const r = new ChainRandom(ny, nx);
      const w = new Float64Array(ny * nx);
      // an even spectrum: w(l, k) = f(|l|, |k|) with signed frequencies
      for (let l = 0; l < ny; l++) {
        for (let k = 0; k < nx; k++) {
          const fy = Math.min(l, ny - l);
          const fx = Math.min(k, nx - k);
          w[l * nx + k] = 1 / (1 + fy * fy + 0.5 * fx * fx) + 0.1 * fy * fx;
        }
      }
      expect(evenSymmetryError(w, ny, nx)).toBe(0);
      const x = Float64Array.from({ length: 2 * ny * nx }, () => r.normal());
      const sp = new Spectral2D(ny, nx);
      const mult = tf.tidy(() => tf.concat([sp.multiplier(w), tf.mul(sp.multiplier(w), 3)], 0));
      const got = tf.tidy(() => sp.apply(tf.tensor3d(Float32Array.from(x), [2, ny, nx]), mult).dataSync());
      const ref0 = reference(x.subarray(0, ny * nx), w, ny, nx);
      const ref1 = reference(x.subarray(ny * nx), w, ny, nx).map((v) => 3 * v);
      const ref = [...ref0, ...ref1];
      let err = 0;
      let norm = 0;
      for (let i = 0; i < ref.length; i++) {
        err += (got[i] - ref[i]) ** 2;
        norm += ref[i] ** 2;
      }
      expect(Math.sqrt(err / norm)).toBeLessThan(1e-5);
      mult.dispose();
      sp.dispose();
    }
  });
});
