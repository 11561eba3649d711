/**
 * Noise diagnostics: a white model on correlated noise is flagged by the spectral ratio, the right (or the measured)
 * correlated model is not; a constant σ on noise whose σ varies is flagged by the Kolmogorov–Smirnov distance, the
 * right σ map is not; and the statistics themselves (Φ, KS, the ratio's expectation) against known values.
 */
import { describe, expect, it } from 'vitest';
import { addNoise, correlatedNoise, noiseMap, scalarNoise } from '../../src-shared/operators/noise.js';
import { SeededRandom } from '../../src-shared/operators/random.js';
import { ksNormal, noiseDiagnostics, normalCdf } from '../../src-shared/noise/diagnostics.js';
import { estimateNoiseSpectrum } from '../../src-shared/noise/spectrum.js';
import { kernelSpectrum } from '../helpers/noise-spectra.js';

const S = 96;
const shape: [number, number] = [S, S];

function draw(seed: number, model: Parameters<typeof addNoise>[1]): Float32Array {
  const r = new SeededRandom(seed);
  return addNoise(new Float32Array(S * S), model, shape, () => r.normal());
}

describe('statistics', () => {
  it('Φ and the KS distance', () => {
    expect(normalCdf(0)).toBeCloseTo(0.5, 7);
    expect(normalCdf(1.959964)).toBeCloseTo(0.975, 6);
    expect(normalCdf(-1)).toBeCloseTo(0.158655, 6);
    expect(ksNormal([0])).toBeCloseTo(0.5, 7);
    const z = draw(1, scalarNoise(1));
    // KS of n = 9216 standard normals: D ~ 0.87/√n typically, < 1.95/√n with probability 0.999
    expect(ksNormal(z)).toBeLessThan(1.95 / S);
    expect(ksNormal(Float32Array.from(z, (v) => 1.2 * v))).toBeGreaterThan(0.04);
  });
});

describe('the noise model against the residual', () => {
  // [0.2, 0.6, 0.2]² filtered noise: neighbour correlation 0.55, a spectrum without zeros (at exact zeros, as for
  // [¼, ½, ¼]², a spectrum measured from 96² pixels reads a ratio of 0.76 and KS 0.035 on independent noise)
  const p = kernelSpectrum(S, S, 0.2);
  const correlated = correlatedNoise(p, shape, 1);
  const noise = draw(2, correlated);

  it('white noise under a white model passes', () => {
    const d = noiseDiagnostics(draw(3, scalarNoise(1)), shape, null, 'white');
    expect(d.warnings).toEqual([]);
    expect(Math.abs(Math.log(d.spectralRatio))).toBeLessThan(4 * d.spectralRatioLnSe);
    expect(Math.abs(d.whitenedChi2PerPixel - 1)).toBeLessThan(4 * Math.sqrt(2 / (S * S)));
    expect(d.histogram.counts.reduce((a, v) => a + v, 0)).toBe(S * S);
    expect(d.spectrum.expected.every((v) => Math.abs(v - 1) < 1e-9)).toBe(true);
  });

  it('a white model on correlated noise is flagged; the right model and the measured spectrum are not', () => {
    const white = noiseDiagnostics(noise, shape, null, 'white');
    console.log(`white model on correlated noise: spectral ratio ${white.spectralRatio.toFixed(3)} (ln se ${white.spectralRatioLnSe.toFixed(3)}), KS ${white.ksDistance.toFixed(4)}`);
    expect(white.spectralRatio).toBeLessThan(0.5);
    expect(white.warnings.join('\n')).toMatch(/more correlated than the model/);
    if (correlated.kind !== 'correlated') throw new Error('kind');
    const right = noiseDiagnostics(noise, shape, correlated.correlation, 'correlated');
    console.log(`right model: spectral ratio ${right.spectralRatio.toFixed(3)}, KS ${right.ksDistance.toFixed(4)}, χ²/px ${right.whitenedChi2PerPixel.toFixed(3)}`);
    expect(right.warnings).toEqual([]);
    expect(Math.abs(Math.log(right.spectralRatio))).toBeLessThan(4 * right.spectralRatioLnSe);
    // measured from another realisation (a blank field), as a user would
    const est = estimateNoiseSpectrum(draw(4, correlated), shape, shape);
    const measured = correlatedNoise(est.power, shape);
    if (measured.kind !== 'correlated') throw new Error('kind');
    const m = noiseDiagnostics(noise, shape, measured.correlation, 'correlated');
    console.log(`measured model: spectral ratio ${m.spectralRatio.toFixed(3)}, KS ${m.ksDistance.toFixed(4)}`);
    expect(m.warnings).toEqual([]);
    // the residual's spectrum follows the model's expectation at every |k| (to the periodogram's noise)
    for (let b = 0; b < right.spectrum.k.length; b++) expect(Math.abs(right.spectrum.residual[b]! / right.spectrum.expected[b]! - 1)).toBeLessThan(0.6);
  });

  it('a correlated model on white noise is flagged the other way', () => {
    if (correlated.kind !== 'correlated') throw new Error('kind');
    const d = noiseDiagnostics(draw(5, scalarNoise(1)), shape, correlated.correlation, 'correlated');
    expect(d.spectralRatio).toBeGreaterThan(2);
    expect(d.warnings.join('\n')).toMatch(/less correlated than the model/);
  });

  it('a constant σ on noise whose σ varies is flagged by the histogram; the σ map is not', () => {
    const sig = Float32Array.from({ length: S * S }, (_, i) => 0.3 + 2.5 * (Math.floor(i / S) / (S - 1)) ** 2);
    const n = draw(6, noiseMap(sig, shape));
    let ms = 0;
    for (const v of n) ms += v * v;
    const rms = Math.sqrt(ms / n.length);
    const constant = noiseDiagnostics(Float32Array.from(n, (v) => v / rms), shape, null, 'white');
    console.log(`constant σ on heteroscedastic noise: KS ${constant.ksDistance.toFixed(4)} (threshold ${constant.ksThreshold.toFixed(4)}), χ²/px ${constant.whitenedChi2PerPixel.toFixed(3)}`);
    expect(constant.ksDistance).toBeGreaterThan(constant.ksThreshold);
    expect(constant.warnings.join('\n')).toMatch(/departs from N\(0, 1\)/);
    const right = noiseDiagnostics(Float32Array.from(n, (v, i) => v / sig[i]!), shape, null, 'sigma-map');
    expect(right.warnings).toEqual([]);
  });

  it('masked pixels (NaN) are left out', () => {
    const u = draw(7, scalarNoise(1));
    for (let i = 0; i < 500; i++) u[i * 7] = NaN;
    const d = noiseDiagnostics(u, shape, null, 'white');
    expect(d.pixels).toBe(S * S - 500);
    expect(d.warnings).toEqual([]);
  });
});
