/**
 * The convolved likelihood with correlated Gaussian noise, Σ = D^{1/2} C D^{1/2} (C circulant from a power
 * spectrum, D a σ map), against its definition computed densely in float64 on a 12×12 problem:
 *   score = a Aᵀ (Σ_oo + a²σ² A_o A_oᵀ)⁻¹ (y_o − A_o x)   (_o: the observed pixels)
 * for the exact Fourier path (A Aᵀ circulant, one σ, nothing masked) and the conjugate-gradient path (a zero-padded
 * PSF, a mask and a σ map); then the posterior under a Gaussian-field prior: its mean and covariance from the
 * likelihood's score (the score is linear at σ = 0: its value and Jacobian give the precision) against the
 * closed form of tests/helpers/gaussian-posterior.ts on the whitened problem, and pc's samples against the same
 * reference within Monte Carlo error.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src-main/engine/backend.js';
import { ConvolvedLikelihood } from '../../src-shared/diffusion/likelihood.js';
import { PsfOperator, gaussianPsf } from '../../src-shared/operators/psf.js';
import { MaskOperator } from '../../src-shared/operators/mask.js';
import { UvSamplingOperator } from '../../src-shared/operators/uv.js';
import { compose } from '../../src-shared/operators/compose.js';
import { correlatedNoise, type NoiseModel } from '../../src-shared/operators/noise.js';
import type { LinearOperator } from '../../src-shared/operators/types.js';
import { GaussianFieldPrior, powerLawSpectrum } from '../../src-shared/diffusion/priors/gaussian-field.js';
import { runSampling } from '../../src-shared/diffusion/posterior.js';
import { ChainRandom } from '../../src-shared/diffusion/chain-rng.js';
import { drizzleCorrelation } from '../helpers/noise-spectra.js';
import { relErr } from './operators-ref.js';
import {
  circulantCovariance,
  cholesky,
  comparePosterior,
  convolutionMatrix,
  forwardSubstituteInPlace,
  gaussianDraws,
  gaussianPosterior,
  type GaussianPosteriorReference,
  type SparseRows,
} from '../helpers/gaussian-posterior.js';

const S = 12;
const N = S * S;

beforeAll(async () => {
  await initBackend('wasm');
});

/** A noise power spectrum with a drizzle-like correlation: |K(k)|² of a [¼ ½ ¼]² kernel, plus a white part. */
const noiseSpectrum = (variance: number): Float64Array => drizzleCorrelation(S, 0.1).map((v) => v * variance);

function denseFromSparse(a: SparseRows): Float64Array {
  const m = new Float64Array(N * N);
  for (let i = 0; i < N; i++) a.cols[i]!.forEach((c, t) => (m[i * N + c] = a.vals[i]![t]!));
  return m;
}

function backSubstituteInPlace(l: Float64Array, b: Float64Array, n: number, m: number): void {
  for (let i = n - 1; i >= 0; i--) {
    for (let k = i + 1; k < n; k++) {
      const f = l[k * n + i]!;
      if (f === 0) continue;
      for (let j = 0; j < m; j++) b[i * m + j] -= f * b[k * m + j]!;
    }
    const d = l[i * n + i]!;
    for (let j = 0; j < m; j++) b[i * m + j] /= d;
  }
}

/** The dense problem: A (N×N), Σ_n (N×N), the observed pixels. */
interface Dense {
  a: Float64Array;
  noiseCov: Float64Array;
  obs: number[];
}

/** Aᵀ_o (Σ_oo + c A_o A_oᵀ)⁻¹ (y_o − A_o x), float64. */
function denseScore(d: Dense, y: ArrayLike<number>, x: ArrayLike<number>, c: number): Float64Array {
  const o = d.obs;
  const no = o.length;
  const m = new Float64Array(no * no);
  for (let i = 0; i < no; i++) {
    for (let j = 0; j < no; j++) {
      let s = d.noiseCov[o[i]! * N + o[j]!]!;
      if (c > 0) for (let k = 0; k < N; k++) s += c * d.a[o[i]! * N + k]! * d.a[o[j]! * N + k]!;
      m[i * no + j] = s;
    }
  }
  const r = new Float64Array(no);
  for (let i = 0; i < no; i++) {
    let ax = 0;
    for (let k = 0; k < N; k++) ax += d.a[o[i]! * N + k]! * x[k]!;
    r[i] = y[o[i]!]! - ax;
  }
  const l = cholesky(m, no);
  forwardSubstituteInPlace(l, r, no, 1);
  backSubstituteInPlace(l, r, no, 1);
  const g = new Float64Array(N);
  for (let i = 0; i < no; i++) for (let k = 0; k < N; k++) g[k] += d.a[o[i]! * N + k]! * r[i]!;
  return g;
}

/** The whitened problem's exact posterior: rows L⁻¹A_o (L the Cholesky factor of Σ_oo), then empty rows. */
function reference(d: Dense, y: ArrayLike<number>, c: Float64Array, cInv: Float64Array): GaussianPosteriorReference {
  const o = d.obs;
  const no = o.length;
  const sig = new Float64Array(no * no);
  for (let i = 0; i < no; i++) for (let j = 0; j < no; j++) sig[i * no + j] = d.noiseCov[o[i]! * N + o[j]!]!;
  const l = cholesky(sig, no);
  const aw = new Float64Array(no * N);
  for (let i = 0; i < no; i++) for (let k = 0; k < N; k++) aw[i * N + k] = d.a[o[i]! * N + k]!;
  forwardSubstituteInPlace(l, aw, no, N);
  const yw = Float64Array.from(o, (i) => y[i]!);
  forwardSubstituteInPlace(l, yw, no, 1);
  const rows: SparseRows = { n: N, cols: [], vals: [] };
  const all = Int32Array.from({ length: N }, (_, k) => k);
  for (let i = 0; i < N; i++) {
    rows.cols.push(i < no ? all : new Int32Array(0));
    rows.vals.push(i < no ? aw.slice(i * N, (i + 1) * N) : new Float64Array(0));
  }
  const yFull = new Float64Array(N);
  yFull.set(yw);
  return gaussianPosterior(c, cInv, rows, yFull, 1);
}

interface Case {
  name: string;
  method: string;
  operator: LinearOperator;
  dense: Dense;
  noise: NoiseModel;
  data: Float32Array;
  prior: GaussianFieldPrior;
  c: Float64Array;
  cInv: Float64Array;
  dispose(): void;
}

function buildCase(kind: 'fourier' | 'cg'): Case {
  const rng = new ChainRandom(kind === 'fourier' ? 5 : 6, 0);
  const power = powerLawSpectrum(S, S, 10, 4, 2);
  const c = circulantCovariance(power, S, S);
  const cInv = circulantCovariance(
    power.map((v) => 1 / v),
    S,
    S,
  );
  const pn = noiseSpectrum(0.01);
  const rhoCov = circulantCovariance(
    pn.map((v) => v / 0.01),
    S,
    S,
  ); // unit-diagonal C
  let operator: LinearOperator;
  let a: Float64Array;
  let sigma: Float64Array;
  const obs: number[] = [];
  let noise: NoiseModel;
  if (kind === 'fourier') {
    // a circular blur: A = F⁻¹ W F exactly, W a Gaussian transfer function
    const w = new Float64Array(N);
    for (let l = 0; l < S; l++) {
      for (let k = 0; k < S; k++) {
        const fy = l <= S / 2 ? l : l - S;
        const fx = k <= S / 2 ? k : k - S;
        w[l * S + k] = Math.exp(-(fx * fx + fy * fy) / 8);
      }
    }
    operator = new UvSamplingOperator([S, S], w);
    a = circulantCovariance(w, S, S);
    sigma = new Float64Array(N).fill(0.1);
    for (let i = 0; i < N; i++) obs.push(i);
    noise = correlatedNoise(pn, [S, S]);
  } else {
    const psf = gaussianPsf(2.2);
    const mask = new Float32Array(N).fill(1);
    for (let i = 3; i < 6; i++) for (let j = 5; j < 9; j++) mask[i * S + j] = 0;
    operator = compose(new PsfOperator([S, S], psf), new MaskOperator([S, S], mask));
    const conv = denseFromSparse(convolutionMatrix(S, S, psf.data, psf.shape[0], psf.shape[1], psf.center[0], psf.center[1]));
    a = conv.map((v, idx) => v * mask[Math.floor(idx / N)]!);
    sigma = Float64Array.from({ length: N }, (_, i) => 0.06 + 0.08 * ((i % S) / (S - 1)) * (Math.floor(i / S) / (S - 1)));
    for (let i = 0; i < N; i++) if (mask[i]) obs.push(i);
    noise = correlatedNoise(pn, [S, S], sigma);
  }
  const noiseCov = new Float64Array(N * N);
  for (let i = 0; i < N; i++) for (let j = 0; j < N; j++) noiseCov[i * N + j] = sigma[i]! * rhoCov[i * N + j]! * sigma[j]!;
  const truth = gaussianDraws(c, N, 1, () => rng.normal());
  const n = gaussianDraws(noiseCov, N, 1, () => rng.normal());
  const data = new Float32Array(N);
  for (let i = 0; i < N; i++) {
    let s = 0;
    for (let k = 0; k < N; k++) s += a[i * N + k]! * truth[k]!;
    data[i] = s + n[i]!;
  }
  const prior = new GaussianFieldPrior(power, [S, S]);
  return {
    name: kind === 'fourier' ? 'exact Fourier path (circular blur, one σ, nothing masked)' : 'conjugate gradients (zero-padded PSF, a mask, a σ map)',
    method: kind === 'fourier' ? 'correlated-fourier' : 'correlated-cg',
    operator,
    dense: { a, noiseCov, obs },
    noise,
    data,
    prior,
    c,
    cInv,
    dispose: () => {
      operator.dispose();
      prior.dispose();
    },
  };
}

for (const kind of ['fourier', 'cg'] as const) {
  describe(`correlated noise, ${kind === 'fourier' ? 'exact Fourier path' : 'conjugate gradients with a mask and a σ map'}`, () => {
    let cs: Case;
    let lik: ConvolvedLikelihood;
    beforeAll(() => {
      cs = buildCase(kind);
      lik = new ConvolvedLikelihood({ operator: cs.operator, data: cs.data, dataShape: [S, S], noise: cs.noise, cgTol: 1e-7, cgMaxIter: 300 });
    });
    afterAll(() => {
      lik?.dispose();
      cs?.dispose();
    });

    it('chooses the method', () => {
      expect(lik.method).toBe(cs.method);
      expect(lik.observed).toBe(cs.dense.obs.length);
    });

    it('its score is the dense float64 definition at every noise level', () => {
      const rng = new ChainRandom(17, 0);
      const xs = Array.from({ length: 3 }, () => Float64Array.from({ length: N }, () => rng.normal()));
      const x = tf.tensor3d(Float32Array.from(xs.flatMap((v) => [...v])), [3, S, S]);
      for (const sigma of [0, 0.05, 0.5, 5]) {
        const g = lik.score(x, sigma);
        const got = g.dataSync();
        g.dispose();
        for (let b = 0; b < 3; b++) {
          const want = denseScore(cs.dense, cs.data, xs[b]!, sigma * sigma);
          const e = relErr(got.slice(b * N, (b + 1) * N), want);
          expect(e, `σ = ${sigma}, chain ${b}: relative error ${e}`).toBeLessThan(kind === 'fourier' ? 2e-5 : 2e-4);
        }
      }
      x.dispose();
    });

    it('gives the exact posterior mean and covariance (score and Jacobian at σ = 0)', () => {
      const ref = reference(cs.dense, cs.data, cs.c, cs.cInv);
      // s(x) = Aᵀ Σ⁻¹ (y − A x): s(0) = Aᵀ Σ⁻¹ y, s(0) − s(e_j) = column j of Aᵀ Σ⁻¹ A
      const eye = new Float32Array((N + 1) * N);
      for (let j = 0; j < N; j++) eye[(j + 1) * N + j] = 1;
      const x = tf.tensor3d(eye, [N + 1, S, S]);
      const g = lik.score(x, 0);
      const s = g.dataSync();
      g.dispose();
      x.dispose();
      // precision C⁻¹ + AᵀΣ⁻¹A (symmetrised: float32), mean = precision⁻¹ s(0)
      const prec = new Float64Array(N * N);
      for (let i = 0; i < N; i++) {
        for (let j = 0; j < N; j++) {
          const h = (s[i]! - s[(j + 1) * N + i]! + s[j]! - s[(i + 1) * N + j]!) / 2;
          prec[i * N + j] = cs.cInv[i * N + j]! + h;
        }
      }
      const l = cholesky(prec, N);
      const mean = Float64Array.from(s.slice(0, N));
      forwardSubstituteInPlace(l, mean, N, 1);
      backSubstituteInPlace(l, mean, N, 1);
      const cov = new Float64Array(N * N);
      for (let i = 0; i < N; i++) cov[i * N + i] = 1;
      forwardSubstituteInPlace(l, cov, N, N);
      backSubstituteInPlace(l, cov, N, N);
      // the mean's error in units of the posterior standard deviation, and the covariance's relative error
      let maxZ = 0;
      for (let i = 0; i < N; i++) maxZ = Math.max(maxZ, Math.abs(mean[i]! - ref.mean[i]!) / Math.sqrt(ref.variance[i]!));
      const covErr = relErr(cov, ref.cov);
      console.log(`${cs.name}: posterior mean max |Δ|/sd ${maxZ.toExponential(2)}, covariance relative error ${covErr.toExponential(2)}`);
      expect(maxZ).toBeLessThan(2e-3);
      expect(covErr).toBeLessThan(2e-3);
    });

    it('pc samples the exact posterior (Monte Carlo tolerances)', async () => {
      const ref = reference(cs.dense, cs.data, cs.c, cs.cInv);
      const n = 32;
      const sampled = new ConvolvedLikelihood({ operator: cs.operator, data: cs.data, dataShape: [S, S], noise: cs.noise });
      try {
        const res = await runSampling({ prior: cs.prior, sde: cs.prior.defaultSde(), shape: [S, S], likelihood: sampled }, { sampler: 'pc', steps: 250, n, seed: 4, batchSize: n });
        const cmp = comparePosterior(res.samples, n, ref);
        const sdChi = Math.sqrt(2 / N);
        const st = sampled.cgStats;
        console.log(
          `${cs.name}: pc whitened χ²/n ${cmp.whitenedChi2PerDof.toFixed(3)} (1 ± ${sdChi.toFixed(3)}), variance ratio ${cmp.varianceRatio.toFixed(3)} ± ${cmp.varianceRatioSe.toFixed(3)}` +
            (st.solves ? `; CG ${(st.iterations / st.solves).toFixed(1)} iterations per solve, ${st.capped} of ${st.solves} capped` : ''),
        );
        expect(Math.abs(cmp.whitenedChi2PerDof - 1)).toBeLessThan(4 * sdChi);
        expect(Math.abs(cmp.varianceRatio - 1)).toBeLessThan(Math.min(0.1, 4 * cmp.varianceRatioSe));
      } finally {
        sampled.dispose();
      }
    }, 120_000);
  });
}

describe('a white-noise model is not the correlated posterior', () => {
  it('the white likelihood with the same σ misses the reference (the test can fail)', async () => {
    const cs = buildCase('fourier');
    const { scalarNoise } = await import('../../src-shared/operators/noise.js');
    const lik = new ConvolvedLikelihood({ operator: cs.operator, data: cs.data, dataShape: [S, S], noise: scalarNoise(0.1) });
    try {
      const x = tf.zeros([1, S, S]);
      const g = lik.score(x, 0);
      const got = g.dataSync();
      g.dispose();
      x.dispose();
      const want = denseScore(cs.dense, cs.data, new Float64Array(N), 0);
      expect(relErr(got, want)).toBeGreaterThan(0.1);
    } finally {
      lik.dispose();
      cs.dispose();
    }
  });
});
