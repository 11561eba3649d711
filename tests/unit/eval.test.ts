import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { psnr, chi2PerPixel, pixelCoverage, tarp } from '../../src-shared/eval/metrics.js';
import { richardsonLucy, wienerTikhonov } from '../../src-shared/eval/baselines.js';
import type { LinearOperator } from '../../src-shared/operators/types.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** Seeded normal deviates (mulberry32 + Box–Muller), independent of the library's generators. */
function normals(n: number, seed: number): Float64Array {
  let a = seed >>> 0;
  const u = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296;
  };
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
  return out;
}

/**
 * Problems whose samples are exact posterior draws: mean μ_j ~ N(0, I) in 16 dimensions, truth and samples
 * μ_j + N(0, I), all streams seeded from `seed`.
 */
function calibratedProblems(count: number, nsamp: number, seed: number, d = 16): { truth: Float64Array; samples: Float64Array[] }[] {
  return Array.from({ length: count }, (_, j) => {
    const mu = normals(d, seed + j);
    const noise = normals(d, seed + 10_000 + j);
    const truth = mu.map((m, i) => m + noise[i]!);
    const samples = Array.from({ length: nsamp }, (_, s) => {
      const z = normals(d, 1_000_000 + seed * 100 + j * 1000 + s);
      return mu.map((m, i) => m + z[i]!);
    });
    return { truth, samples };
  });
}

/** A dense-matrix operator (rows = outputs) for exact small checks. */
function denseOperator(M: Float64Array, out: [number, number], inn: [number, number]): LinearOperator {
  const m = out[0] * out[1];
  const n = inn[0] * inn[1];
  const Mt = tf.tensor2d(Float32Array.from(M), [m, n]);
  return {
    name: 'dense',
    inShape: inn,
    outShape: out,
    apply: (x) => tf.tidy(() => tf.reshape(tf.matMul(tf.reshape(x, [-1, n]), Mt, false, true), [-1, out[0], out[1]])),
    adjoint: (y) => tf.tidy(() => tf.reshape(tf.matMul(tf.reshape(y, [-1, m]), Mt), [-1, inn[0], inn[1]])),
    gram: () => ({ kind: 'none' }),
    dispose: () => Mt.dispose(),
  };
}

/** 1-D blur on an 8×8 image: each pixel averaged with its horizontal neighbours (zero padded). */
function blurMatrix(): Float64Array {
  const n = 64;
  const M = new Float64Array(n * n);
  for (let i = 0; i < 8; i++)
    for (let j = 0; j < 8; j++)
      for (const [d, w] of [
        [-1, 0.25],
        [0, 0.5],
        [1, 0.25],
      ] as const) {
        const jj = j + d;
        if (jj >= 0 && jj < 8) M[(i * 8 + j) * n + i * 8 + jj] = w;
      }
  return M;
}

describe('metrics', () => {
  it('psnr matches its definition', () => {
    const t = [0, 1, 2, 3];
    const e = [0, 1, 2, 2];
    // MSE = 1/4, range = 3 → 10 log10(9 / 0.25)
    expect(psnr(t, e)).toBeCloseTo(10 * Math.log10(36), 10);
  });
  it('χ² per pixel of pure noise is 1 within its Monte Carlo error', () => {
    const n = 20000;
    const z = normals(n, 7);
    const y = Array.from(z, (v) => 3 * v);
    const c = chi2PerPixel(y, new Float64Array(n), 3);
    // var(χ²/n) = 2/n → σ ≈ 0.01; 4σ tolerance
    expect(Math.abs(c - 1)).toBeLessThan(4 * Math.sqrt(2 / n));
  });
  it('per-pixel coverage of calibrated Gaussian samples matches the level; over-confident samples under-cover', () => {
    const npix = 400;
    const nsamp = 200;
    const truth = normals(npix, 1);
    const samples = Array.from({ length: nsamp }, (_, s) => normals(npix, 100 + s));
    const cov = pixelCoverage(samples, truth, [0.5, 0.9]);
    // binomial error over 400 pixels: sqrt(0.25/400) = 0.025 at 50%, 0.015 at 90%; plus finite-sample quantiles
    expect(Math.abs(cov[0]! - 0.5)).toBeLessThan(0.1);
    expect(Math.abs(cov[1]! - 0.9)).toBeLessThan(0.06);
    const narrow = samples.map((s) => s.map((v) => 0.3 * v));
    const cov2 = pixelCoverage(narrow, truth, [0.9]);
    expect(cov2[0]!).toBeLessThan(0.5);
  });
  it('per-pixel coverage is unbiased with few samples (where sample-quantile intervals are far too narrow)', () => {
    // exact posterior draws: truth and samples i.i.d. N(0, 1) per pixel; 4000 pixels, binomial σ ≤ 0.008
    const npix = 4000;
    const levels = [0.5, 0.68, 0.9, 0.95];
    const truth = normals(npix, 7);
    for (const nsamp of [4, 8, 16]) {
      const samples = Array.from({ length: nsamp }, (_, s) => normals(npix, 500 + 37 * nsamp + s));
      const cov = pixelCoverage(samples, truth, levels);
      levels.forEach((lv, i) => expect(Math.abs(cov[i]! - lv), `${nsamp} samples, level ${lv}`).toBeLessThan(0.03));
      // the interval between interpolated sample quantiles: its expected coverage is (b − a)/(N + 1) for
      // 1-based fractional ranks a, b (0.70 at 90 % from 8 samples), well below the level
      const quantileCoverage = (lv: number) => {
        let hits = 0;
        const col = new Float64Array(nsamp);
        for (let p = 0; p < npix; p++) {
          for (let s = 0; s < nsamp; s++) col[s] = samples[s]![p]!;
          col.sort();
          const q = (f: number) => {
            const pos = f * (nsamp - 1);
            const lo = Math.floor(pos);
            return col[lo]! + (col[Math.min(lo + 1, nsamp - 1)]! - col[lo]!) * (pos - lo);
          };
          if (truth[p]! >= q((1 - lv) / 2) && truth[p]! <= q((1 + lv) / 2)) hits++;
        }
        return hits / npix;
      };
      const expected = ((nsamp - 1) * 0.9 + 0) / (nsamp + 1);
      expect(quantileCoverage(0.9)).toBeCloseTo(expected, 1);
      expect(quantileCoverage(0.9)).toBeLessThan(0.9 - 0.05);
    }
    // an over-confident posterior (samples 0.5× as wide) and an offset one are caught with 8 samples (a truth
    // beyond all 8 samples still counts 0.55 towards the 90 % level: 8 samples cannot say how far beyond)
    const eight = Array.from({ length: 8 }, (_, s) => normals(npix, 900 + s));
    expect(pixelCoverage(eight.map((x) => x.map((v) => 0.5 * v)), truth, [0.9])[0]!).toBeLessThan(0.82);
    expect(pixelCoverage(eight.map((x) => x.map((v) => v + 1)), truth, [0.5])[0]!).toBeLessThan(0.4);
    // ties count half: a truth equal to every sample sits at the middle rank
    expect(pixelCoverage([[1], [1], [1]], [1], [0.5])[0]!).toBeCloseTo(1, 12);
  });
  it('TARP is unbiased with few samples too', () => {
    const problems = calibratedProblems(1000, 8, 40_000);
    // 1000 problems: binomial σ ≤ 0.016; c/N without the randomised PIT would be off by up to 1/9 at α = 0.5
    expect(tarp(problems, { seed: 5 }).maxDeviation).toBeLessThan(0.06);
  });
  it('TARP: calibrated posteriors give ECP ≈ α, a biased one does not', () => {
    const problems = calibratedProblems(300, 100, 10_000);
    const good = tarp(problems, { seed: 3 });
    // 300 problems: binomial σ ≤ 0.029; the max over 19 levels stays under ~3.5σ
    expect(good.maxDeviation).toBeLessThan(0.1);
    const biased = tarp(
      problems.map((p) => ({ truth: p.truth, samples: p.samples.map((s) => s.map((v, i) => v + 2.0 * (i % 2 === 0 ? 1 : -1))) })),
      { seed: 3 },
    );
    expect(biased.maxDeviation).toBeGreaterThan(0.2);
  });
  it('TARP over images of different sizes: each size its own reference box, still calibrated', () => {
    const a = calibratedProblems(300, 16, 20_000, 16);
    const b = calibratedProblems(300, 16, 30_000, 9);
    const mixed = [...a, ...b];
    const t = tarp(mixed, { seed: 4 });
    expect(t.ecp.every((e) => Number.isFinite(e) && e >= 0 && e <= 1)).toBe(true);
    // 600 problems: binomial σ ≤ 0.02
    expect(t.maxDeviation).toBeLessThan(0.08);
    // the shorter images' pixels are never compared with the longer ones' box: a biased second group is caught
    const wrongSmall = [...a, ...b.map((p) => ({ truth: p.truth, samples: p.samples.map((s) => s.map((v, i) => v + 2.0 * (i % 2 === 0 ? 1 : -1))) }))];
    expect(tarp(wrongSmall, { seed: 4 }).maxDeviation).toBeGreaterThan(0.1);
  });
});

describe('deconvolution baselines', () => {
  it('Wiener/Tikhonov by CG equals the dense normal-equation solution', async () => {
    const M = blurMatrix();
    const A = denseOperator(M, [8, 8], [8, 8]);
    const y = Float32Array.from(normals(64, 5));
    const lambda = 0.05;
    const { x, relResidual } = await wienerTikhonov(A, y, lambda, { tol: 1e-6 });
    expect(relResidual).toBeLessThan(1e-5);
    // check the normal equations directly in float64: (MᵀM + λI) x = Mᵀ y
    for (let r = 0; r < 64; r++) {
      let lhs = lambda * x[r]!;
      let rhs = 0;
      for (let k = 0; k < 64; k++) {
        rhs += M[k * 64 + r]! * y[k]!;
        let mx = 0;
        for (let c = 0; c < 64; c++) mx += M[k * 64 + c]! * x[c]!;
        lhs += M[k * 64 + r]! * mx;
      }
      expect(lhs).toBeCloseTo(rhs, 3);
    }
    A.dispose();
  });
  it('Richardson–Lucy sharpens a blurred point source, conserves flux, and does not leak tensors', async () => {
    const M = blurMatrix();
    const A = denseOperator(M, [8, 8], [8, 8]);
    const truth = new Float32Array(64);
    truth[3 * 8 + 4] = 10;
    const y = new Float32Array(64);
    for (let r = 0; r < 64; r++) for (let c = 0; c < 64; c++) y[r] += M[r * 64 + c]! * truth[c]!;
    const before = tf.memory().numTensors;
    let first = 0;
    const x = await richardsonLucy(A, y, 200, (k, xi) => {
      if (k === 1) first = xi[3 * 8 + 4]!;
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(x[3 * 8 + 4]!).toBeGreaterThan(first);
    expect(x[3 * 8 + 4]!).toBeGreaterThan(7);
    const flux = x.reduce((s, v) => s + v, 0);
    expect(flux).toBeCloseTo(10, 1);
    A.dispose();
  });
});
