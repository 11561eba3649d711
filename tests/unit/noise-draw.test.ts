/**
 * The likelihood's draws of the data's noise (noiseDraw: the data perturbation of the samplers' ending, Matheron's
 * rule) have the noise model's covariance: σ² on the diagonal for white noise and a σ map, and for correlated noise
 * Σ = D^½ C D^½ with C = F⁻¹ diag(ρ) F (ρ the normalised spectrum), checked entry by entry against the dense
 * circulant covariance from 20 000 draws on an 8×8 grid (Monte Carlo error of a correlation ≈ 1/√20 000 = 0.007).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src-main/engine/backend.js';
import { ConvolvedLikelihood } from '../../src-shared/diffusion/likelihood.js';
import { PsfOperator, gaussianPsf } from '../../src-shared/operators/psf.js';
import { correlatedNoise, noiseMap, type NoiseModel } from '../../src-shared/operators/noise.js';
import { powerLawSpectrum } from '../../src-shared/diffusion/priors/gaussian-field.js';
import { circulantCovariance } from '../helpers/gaussian-posterior.js';

const S = 8;
const N = S * S;
const DRAWS = 20_000;

beforeAll(async () => {
  await initBackend('wasm');
});

/** Empirical covariance of noiseDraw over DRAWS standard-normal inputs. */
function drawCovariance(noise: NoiseModel): Float64Array {
  const op = new PsfOperator([S, S], gaussianPsf(1.5));
  const lik = new ConvolvedLikelihood({ operator: op, data: new Float32Array(N), dataShape: [S, S], noise });
  try {
    const d = tf.tidy(() => lik.noiseDraw(tf.randomNormal([DRAWS, S, S], 0, 1, 'float32', 17)).dataSync());
    const cov = new Float64Array(N * N);
    for (let k = 0; k < DRAWS; k++) {
      const o = k * N;
      for (let i = 0; i < N; i++) {
        const a = d[o + i];
        for (let j = 0; j < N; j++) cov[i * N + j] += (a * d[o + j]) / DRAWS;
      }
    }
    return cov;
  } finally {
    lik.dispose();
    op.dispose();
  }
}

describe('draws of the data noise', () => {
  it('correlated noise with a σ map: Σ = D^½ C D^½ entry by entry', () => {
    const power = powerLawSpectrum(S, S, 1, 2, 2);
    const sigma = Float32Array.from({ length: N }, (_, i) => 0.5 + (i % 5) * 0.25);
    const noise = correlatedNoise(power, [S, S], sigma);
    if (noise.kind !== 'correlated') throw new Error('expected a correlated model');
    const c = circulantCovariance(Float64Array.from(noise.correlation), S, S);
    const cov = drawCovariance(noise);
    let worst = 0;
    let offDiagonal = 0;
    for (let i = 0; i < N; i++) {
      for (let j = 0; j < N; j++) {
        const want = sigma[i] * sigma[j] * c[i * N + j];
        // compare as correlations, in units of the Monte Carlo error
        const err = Math.abs(cov[i * N + j] - want) / (sigma[i] * sigma[j]);
        worst = Math.max(worst, err);
        if (i !== j) offDiagonal = Math.max(offDiagonal, Math.abs(c[i * N + j]));
      }
    }
    expect(offDiagonal).toBeGreaterThan(0.2); // the noise is strongly correlated: a white draw would fail below
    expect(worst).toBeLessThan(6 / Math.sqrt(DRAWS) * Math.SQRT2);
  });

  it('a σ map alone: independent pixels of variance σ²', () => {
    const sigma = Float32Array.from({ length: N }, (_, i) => 0.2 + (i % 7) * 0.1);
    const cov = drawCovariance(noiseMap(sigma, [S, S]));
    for (let i = 0; i < N; i++) {
      for (let j = 0; j < N; j++) {
        const want = i === j ? sigma[i] ** 2 : 0;
        expect(Math.abs(cov[i * N + j] - want) / (sigma[i] * sigma[j])).toBeLessThan(6 / Math.sqrt(DRAWS) * Math.SQRT2);
      }
    }
  });
});
