/**
 * Noise models beyond white: correlated stationary noise (its construction, draws whose covariance is Σ within
 * Monte Carlo error), the noise power spectrum measured from a blank box or a noise-only image (against the true
 * spectrum), and Poisson–Gaussian σ maps (a simulated counts image's residual is normalised where a constant σ is
 * not), with the input errors.
 */
import { describe, expect, it } from 'vitest';
import { addNoise, boxMean, correlatedNoise, noiseModelName, poissonGaussianNoise, poissonGaussianSigma, scalarNoise } from '../../src-shared/operators/noise.js';
import { NoiseInputError } from '../../src-shared/operators/errors.js';
import { SeededRandom } from '../../src-shared/operators/random.js';
import { estimateNoiseSpectrum, parsePixelBox } from '../../src-shared/noise/spectrum.js';
import { UserInputError } from '../../src-shared/errors.js';
import { kernelCorrelation, kernelSpectrum } from '../helpers/noise-spectra.js';

function normal(seed: number): () => number {
  const r = new SeededRandom(seed);
  return () => r.normal();
}

describe('correlated noise model', () => {
  it('normalises the spectrum to a unit-diagonal correlation, σ from its mean or given', () => {
    const p = kernelSpectrum(16, 16, 0.2).map((v) => v * 4);
    const m = correlatedNoise(p, [16, 16]);
    if (m.kind !== 'correlated') throw new Error('kind');
    const mean = m.correlation.reduce((a, v) => a + v, 0) / 256;
    expect(mean).toBeCloseTo(1, 5);
    const pm = p.reduce((a, v) => a + v, 0) / 256;
    expect(m.sigma[0]).toBeCloseTo(Math.sqrt(pm), 5);
    expect(m.stationary).toBe(true);
    expect(noiseModelName(m)).toBe('correlated');
    const map = correlatedNoise(p, [16, 16], Float32Array.from({ length: 256 }, (_, i) => 1 + (i % 3)));
    expect(map.kind === 'correlated' && !map.stationary).toBe(true);
    expect(noiseModelName(map)).toBe('correlated, σ map');
  });

  it('refuses bad spectra with user errors', () => {
    expect(() => correlatedNoise(new Float64Array(10), [4, 4])).toThrow(/10 values for the data shape \[4, 4\]/);
    expect(() => correlatedNoise(new Float64Array(16), [4, 4])).toThrow(/all zero/);
    const neg = new Float64Array(16).fill(1);
    neg[5] = -1;
    expect(() => correlatedNoise(neg, [4, 4])).toThrow(NoiseInputError);
    expect(() => correlatedNoise(neg, [4, 4])).toThrow(/index \[1, 1\] is -1/);
    expect(() => correlatedNoise(new Float64Array(16).fill(1), [4, 4], -2)).toThrow(/positive/);
  });

  it('draws noise whose variance and lag correlations are Σ’s (Monte Carlo tolerance)', () => {
    const [ny, nx] = [32, 32];
    const a = 0.25;
    const model = correlatedNoise(kernelSpectrum(ny, nx, a), [ny, nx], 0.5);
    const draws = 40;
    let v0 = 0;
    let v1 = 0;
    let v2 = 0;
    const nrm = normal(3);
    for (let d = 0; d < draws; d++) {
      const n = addNoise(new Float32Array(ny * nx), model, [ny, nx], nrm);
      for (let i = 0; i < ny; i++) {
        for (let j = 0; j < nx; j++) {
          const v = n[i * nx + j]!;
          v0 += v * v;
          v1 += v * n[i * nx + ((j + 1) % nx)]!;
          v2 += v * n[((i + 2) % ny) * nx + j]!;
        }
      }
    }
    const m = draws * ny * nx;
    // 40960 values with correlation length ~2 px: relative error of the variance ≈ √(2·Σρ²/m) < 1 %
    expect(v0 / m).toBeCloseTo(0.25, 1);
    expect(Math.abs(v0 / m / 0.25 - 1)).toBeLessThan(0.03);
    expect(Math.abs(v1 / v0 - kernelCorrelation(a, 1))).toBeLessThan(0.03);
    expect(Math.abs(v2 / v0 - kernelCorrelation(a, 2))).toBeLessThan(0.03);
  });
});

describe('noise power spectrum from a blank box or a noise-only image', () => {
  const [ny, nx] = [192, 192];
  const a = 0.2;
  const truth = correlatedNoise(kernelSpectrum(ny, nx, a), [ny, nx], 2);
  const image = addNoise(new Float32Array(ny * nx), truth, [ny, nx], normal(11));

  it('recovers the variance and the correlation on the data grid', () => {
    const est = estimateNoiseSpectrum(image, [ny, nx], [64, 64]);
    expect(est.tile).toBe(32);
    expect(est.tiles).toBe(121);
    // Σ's diagonal is the measured variance
    const mean = est.power.reduce((s, v) => s + v, 0) / est.power.length;
    expect(mean / est.variance).toBeCloseTo(1, 9);
    expect(Math.abs(est.variance / 4 - 1)).toBeLessThan(0.05);
    expect(Math.abs(est.lag1.x - kernelCorrelation(a, 1))).toBeLessThan(0.03);
    expect(Math.abs(est.lag1.y - kernelCorrelation(a, 1))).toBeLessThan(0.03);
    // against the true spectrum on the 64×64 grid (mean 1 both)
    const want = kernelSpectrum(64, 64, a);
    const wm = want.reduce((s, v) => s + v, 0) / want.length;
    // relative error per mode where the spectrum is well above its floor (40/36864 of the mean): ~100 half-overlapping tiles
    // and lags up to 6 px leave a few per cent of noise
    let err = 0;
    let modes = 0;
    for (let k = 0; k < want.length; k++) {
      expect(est.power[k]! / mean).toBeGreaterThanOrEqual(40 / (192 * 192) - 1e-9);
      if (want[k]! / wm < 0.02) continue;
      err += (est.power[k]! / mean / (want[k]! / wm) - 1) ** 2;
      modes++;
    }
    expect(modes).toBeGreaterThan(0.9 * want.length);
    const rms = Math.sqrt(err / modes);
    console.log(`spectrum estimate: variance ${est.variance.toFixed(4)} (4), lag-1 ${est.lag1.x.toFixed(3)} / ${est.lag1.y.toFixed(3)} (${kernelCorrelation(a, 1).toFixed(3)}), relative rms error of P ${rms.toFixed(4)}`);
    expect(rms).toBeLessThan(0.1);
    // a white model's spectrum is flat: it is wrong by far more than the estimate
    let flat = 0;
    for (let k = 0; k < want.length; k++) flat += (1 / (want[k]! / wm) - 1) ** 2;
    expect(Math.sqrt(flat / want.length)).toBeGreaterThan(10 * rms);
  });

  it('white noise gives a flat spectrum', () => {
    const white = addNoise(new Float32Array(ny * nx), scalarNoise(3), [ny, nx], normal(12));
    const est = estimateNoiseSpectrum(white, [ny, nx], [48, 40], { box: { x0: 10, y0: 20, x1: 150, y1: 180 } });
    expect(est.power.length).toBe(48 * 40);
    expect(Math.abs(est.variance / 9 - 1)).toBeLessThan(0.05);
    expect(Math.abs(est.lag1.x)).toBeLessThan(0.03);
    let worst = 0;
    let sq = 0;
    for (const v of est.power) {
      worst = Math.max(worst, Math.abs(v / est.variance - 1));
      sq += (v / est.variance - 1) ** 2;
    }
    console.log(`white: rms deviation from flat ${Math.sqrt(sq / est.power.length).toFixed(4)}, worst ${worst.toFixed(3)}`);
    expect(Math.sqrt(sq / est.power.length)).toBeLessThan(0.1);
    expect(worst).toBeLessThan(0.4);
  });

  it('a box skips tiles with NaN pixels, and refuses what it cannot use', () => {
    const holed = image.slice();
    holed[5 * nx + 5] = NaN;
    const est = estimateNoiseSpectrum(holed, [ny, nx], [32, 32], { box: { x0: 0, y0: 0, x1: 64, y1: 64 } });
    expect(est.tiles).toBe(9 - 1);
    expect(() => estimateNoiseSpectrum(image, [ny, nx], [32, 32], { box: { x0: 0, y0: 0, x1: 200, y1: 50 } })).toThrow(/reaches outside the 192×192/);
    expect(() => estimateNoiseSpectrum(image, [ny, nx], [32, 32], { box: { x0: 0, y0: 0, x1: 6, y1: 50 } })).toThrow(/at least 8×8/);
    expect(() => estimateNoiseSpectrum(new Float32Array(64 * 64).fill(NaN), [64, 64], [32, 32])).toThrow(/NaN or infinite/);
    expect(() => estimateNoiseSpectrum(new Float32Array(64 * 64).fill(1), [64, 64], [32, 32])).toThrow(/constant/);
    expect(parsePixelBox('1, 2,30,40')).toEqual({ x0: 1, y0: 2, x1: 30, y1: 40 });
    expect(() => parsePixelBox('1,2,3')).toThrow(UserInputError);
    expect(() => parsePixelBox('1,2,3,-4')).toThrow(/x0,y0,x1,y1/);
  });
});

/** Poisson(λ) by inversion from the mode (exact, fine for λ up to ~10⁴). */
function poisson(lambda: number, u: () => number): number {
  const m = Math.floor(lambda);
  // probabilities around the mode, in logs to avoid under/overflow
  const logp = (k: number) => k * Math.log(lambda) - lambda - lgamma(k + 1);
  let x = u();
  const pm = Math.exp(logp(m));
  x -= pm;
  if (x <= 0) return m;
  let lo = m;
  let hi = m;
  let plo = pm;
  let phi = pm;
  for (;;) {
    hi++;
    phi *= lambda / hi;
    x -= phi;
    if (x <= 0) return hi;
    if (lo > 0) {
      plo *= lo / lambda;
      lo--;
      x -= plo;
      if (x <= 0) return lo;
    }
  }
}

function lgamma(z: number): number {
  // Stirling with corrections; exact enough (10⁻¹⁰) for z ≥ 1 after shifting
  let s = 0;
  while (z < 8) {
    s -= Math.log(z);
    z++;
  }
  return s + (z - 0.5) * Math.log(z) - z + 0.5 * Math.log(2 * Math.PI) + 1 / (12 * z) - 1 / (360 * z ** 3) + 1 / (1260 * z ** 5);
}

describe('Poisson–Gaussian noise (counts)', () => {
  it('σ² = max(μ + sky, 0)/gain + rn²/gain², and bad parameters are user errors', () => {
    const s = poissonGaussianSigma([100, -50, 0], { gain: 2, readNoise: 4, sky: 10 });
    expect(s[0]).toBeCloseTo(Math.sqrt(110 / 2 + 16 / 4), 5);
    expect(s[1]).toBeCloseTo(Math.sqrt(16 / 4), 5);
    expect(s[2]).toBeCloseTo(Math.sqrt(10 / 2 + 4), 5);
    expect(() => poissonGaussianSigma([1], { gain: 0, readNoise: 1 })).toThrow(/gain must be a positive number of e⁻ per ADU/);
    expect(() => poissonGaussianSigma([1], { gain: 1, readNoise: 0 })).toThrow(/read noise/);
    expect(Array.from(boxMean([1, 2, 3, 4], [2, 2]))).toEqual([2.5, 2.5, 2.5, 2.5]);
  });

  it('a simulated counts image: normalised residual χ²/px ≈ 1 everywhere with the σ map, not with a constant σ', () => {
    const [ny, nx] = [64, 64];
    const gain = 2.5;
    const rn = 5;
    const sky = 40; // ADU, left in the data
    const mu = new Float64Array(ny * nx);
    for (let i = 0; i < ny; i++) {
      for (let j = 0; j < nx; j++) {
        const r2 = ((i - 30) ** 2 + ((j - 34) / 1.5) ** 2) / 36;
        mu[i * nx + j] = sky + 3000 * Math.exp(-0.5 * r2) + 400 * Math.exp(-0.5 * (((i - 12) ** 2 + (j - 50) ** 2) / 4));
      }
    }
    const r = new SeededRandom(21);
    const u = () => r.uniform();
    const y = Float32Array.from(mu, (m) => poisson(m * gain, u) / gain + (rn / gain) * r.normal());
    const noise = poissonGaussianNoise(y, [ny, nx], { gain, readNoise: rn });
    if (noise.kind !== 'map') throw new Error('kind');
    const chi2 = (sig: (i: number) => number, sel: (i: number) => boolean) => {
      let s = 0;
      let c = 0;
      for (let i = 0; i < ny * nx; i++) {
        if (!sel(i)) continue;
        s += ((y[i]! - mu[i]!) / sig(i)) ** 2;
        c++;
      }
      return { chi2: s / c, n: c };
    };
    const all = () => true;
    const bright = (i: number) => mu[i]! > sky + 300;
    const faint = (i: number) => mu[i]! < sky + 5;
    const withMap = [all, bright, faint].map((sel) => chi2((i) => noise.sigma[i]!, sel));
    // a constant σ: the sky's (from the faint pixels' spread) and the one that makes the total χ²/px exactly 1
    const skySigma = Math.sqrt(sky / gain + (rn / gain) ** 2);
    const rms = Math.sqrt(chi2(() => 1, all).chi2);
    const withSky = [all, bright, faint].map((sel) => chi2(() => skySigma, sel));
    const withRms = [all, bright, faint].map((sel) => chi2(() => rms, sel));
    console.log(
      `χ²/px all / bright / faint: σ map ${withMap.map((c) => c.chi2.toFixed(3)).join(' / ')} (n ${withMap.map((c) => c.n).join(' / ')}); ` +
        `sky σ ${withSky.map((c) => c.chi2.toFixed(2)).join(' / ')}; rms σ ${withRms.map((c) => c.chi2.toFixed(2)).join(' / ')}`,
    );
    // χ²/n of n independent N(0, 1): sd √(2/n); 4 sd plus 3 % for the pilot (box-mean) approximation
    for (const c of withMap) expect(Math.abs(c.chi2 - 1)).toBeLessThan(4 * Math.sqrt(2 / c.n) + 0.03);
    expect(withSky[0]!.chi2).toBeGreaterThan(3);
    expect(withSky[1]!.chi2).toBeGreaterThan(10);
    expect(withRms[1]!.chi2).toBeGreaterThan(2);
    expect(withRms[2]!.chi2).toBeLessThan(0.5);
  });
});
