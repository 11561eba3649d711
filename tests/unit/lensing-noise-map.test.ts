/**
 * The lens fit's σ with the sources' Poisson noise (src-shared/lensing/noise-map.ts): the units the header states,
 * the gain, EXP weights, weight-0 and NaN pixels, the signal estimate, the blank sky, and χ² ≈ 1 on data drawn with
 * the full variance where the weights state the sky's alone.
 */
import { describe, expect, it } from 'vitest';
import { FitsHeader } from '../../src-shared/fits/index.js';
import { addPoissonVariance, dataUnitFromBunit, electronScale, lensSigma, signalEstimate, skySigmaFromExposure, type ElectronScale } from '../../src-shared/lensing/noise-map.js';
import { sigmaFromWeights, LensInputError } from '../../src-shared/lensing/inputs.js';
import { SeededRandom } from '../../src-shared/operators/random.js';

const header = (cards: Record<string, string | number>) => {
  const h = new FitsHeader();
  for (const [k, v] of Object.entries(cards)) h.set(k, v);
  return h;
};
const scale = (r: ElectronScale | string): ElectronScale => {
  if (typeof r === 'string') throw new Error(r);
  return r;
};

// an ACS/WFC-like visit: 4 × 520 s, sky 0.29 e⁻/s/px, read noise 4.9 e⁻ (scripts/make-hst-like-lens.py)
const T = 2080;
const SIGMA_SKY = Math.sqrt(0.29 * T + 4 * 4.9 ** 2) / T;

describe('the electrons per data unit from the header', () => {
  it('reads BUNIT as electrons or counts, per second or not', () => {
    expect(dataUnitFromBunit('ELECTRONS/S')).toEqual({ quantity: 'electrons', perSecond: true });
    expect(dataUnitFromBunit('electrons/s')).toEqual({ quantity: 'electrons', perSecond: true });
    expect(dataUnitFromBunit('e-/s')).toEqual({ quantity: 'electrons', perSecond: true });
    expect(dataUnitFromBunit('ELECTRONS')).toEqual({ quantity: 'electrons', perSecond: false });
    expect(dataUnitFromBunit('COUNTS/S')).toEqual({ quantity: 'counts', perSecond: true });
    expect(dataUnitFromBunit('COUNTS')).toEqual({ quantity: 'counts', perSecond: false });
    expect(dataUnitFromBunit('DN')).toEqual({ quantity: 'counts', perSecond: false });
    expect(dataUnitFromBunit('erg/s/cm2/A')).toBeNull();
    expect(dataUnitFromBunit('Jy/beam')).toBeNull();
  });

  it('e⁻/s: the exposure time, from the image HDU first, then the primary; TEXPTIME; the flag replaces it', () => {
    const sci = header({ BUNIT: 'ELECTRONS/S' });
    const primary = header({ EXPTIME: 2080, TEXPTIME: 1000 });
    const a = scale(electronScale([sci, primary]));
    expect(a.electronsPerUnit).toBe(2080);
    expect(a.read).toEqual({ BUNIT: 'ELECTRONS/S', EXPTIME: 2080 });
    expect(a.text).toMatch(/2080 s \(EXPTIME\)/);
    expect(scale(electronScale([header({ BUNIT: 'ELECTRONS/S', EXPTIME: 500 }), primary])).electronsPerUnit).toBe(500);
    expect(scale(electronScale([sci, header({ TEXPTIME: 1000 })])).electronsPerUnit).toBe(1000);
    const f = scale(electronScale([sci, primary], { exposureTime: 300 }));
    expect(f.electronsPerUnit).toBe(300);
    expect(f.read).toEqual({ BUNIT: 'ELECTRONS/S', exposureTime: 300 });
    // no BUNIT: e⁻/s (drizzle's default), said so
    const n = scale(electronScale([header({ EXPTIME: 100 })]));
    expect(n.electronsPerUnit).toBe(100);
    expect(n.text).toMatch(/no BUNIT: taken as e⁻\/s/);
  });

  it('counts: × the gain (CCDGAIN, else ATODGAIN); totals: the exposure time does not enter', () => {
    expect(scale(electronScale([header({ BUNIT: 'COUNTS/S', EXPTIME: 1000, CCDGAIN: 2 })])).electronsPerUnit).toBe(2000);
    expect(scale(electronScale([header({ BUNIT: 'COUNTS/S', EXPTIME: 1000, ATODGAIN: 1.5 })])).electronsPerUnit).toBe(1500);
    expect(scale(electronScale([header({ BUNIT: 'COUNTS', EXPTIME: 1000 }), header({ CCDGAIN: 2 })])).electronsPerUnit).toBe(2);
    expect(scale(electronScale([header({ BUNIT: 'ELECTRONS', EXPTIME: 1000 })])).electronsPerUnit).toBe(1);
    expect(scale(electronScale([header({ BUNIT: 'COUNTS', EXPTIME: 1000 })], { gain: 4 })).electronsPerUnit).toBe(4);
  });

  it('says why where the scale cannot be known', () => {
    expect(electronScale([header({ BUNIT: 'ELECTRONS/S' })])).toMatch(/no exposure time/);
    expect(electronScale([header({ BUNIT: 'COUNTS/S', EXPTIME: 100 })])).toMatch(/no gain is known/);
    expect(electronScale([header({ BUNIT: 'MJy/sr', EXPTIME: 100 })])).toMatch(/neither electrons nor counts/);
    expect(electronScale([header({ BUNIT: 'ELECTRONS/S', EXPTIME: 0 })])).toMatch(/no exposure time/);
  });

  it('EXP weights: the seconds per pixel (× the gain), NaN where 0 or NaN', () => {
    const r = scale(electronScale([header({ BUNIT: 'COUNTS/S', CCDGAIN: 2, EXPTIME: 999 })], { exposureMap: [1000, 0, NaN, 500] }));
    expect(Array.from(r.electronsPerUnit as Float64Array)).toEqual([2000, NaN, NaN, 1000]);
  });
});

describe('σ with the Poisson term', () => {
  it('the signal estimate: the 3×3 binomial mean over valid pixels, never negative', () => {
    const shape: [number, number] = [5, 6];
    const ramp = Float64Array.from({ length: 30 }, (_, k) => 2 + (k % 6) + 0.5 * Math.floor(k / 6));
    const s = signalEstimate(ramp, shape);
    // a linear field is kept inside (the kernel is symmetric), and at the edges (renormalised over what is there)
    // only along the axis cut off: there the mean shifts inward by the missing side's weight
    expect(s[2 * 6 + 3]).toBeCloseTo(ramp[2 * 6 + 3], 12);
    const neg = Float64Array.from({ length: 30 }, (_, k) => (k === 14 ? 10 : -1));
    const t = signalEstimate(neg, shape);
    expect(Math.min(...t)).toBe(0);
    expect(t[14]).toBeCloseTo(Math.max(0, 0.25 * 10 - 0.75), 12);
    // NaN data and invalid pixels are left out of the mean
    const withNan = Float64Array.from(ramp);
    withNan[2 * 6 + 3] = NaN;
    const u = signalEstimate(withNan, shape);
    expect(Number.isFinite(u[2 * 6 + 3])).toBe(true);
    expect(u[2 * 6 + 3]).toBeCloseTo(ramp[2 * 6 + 3], 12);
    const valid = new Float64Array(30).fill(1);
    valid[2 * 6 + 4] = NaN;
    const big = Float64Array.from(ramp);
    big[2 * 6 + 4] = 1e6;
    expect(signalEstimate(big, shape, valid)[2 * 6 + 3]).toBeLessThan(20);
  });

  it('σ² = σ_w² + max(s, 0)/e; NaN σ_w (weight 0) stays out; per-pixel e', () => {
    const w = [1 / 0.01 ** 2, 0, NaN, 1 / 0.02 ** 2];
    const sw = sigmaFromWeights(w);
    expect(sw.excluded).toBe(2);
    const s = addPoissonVariance(sw.sigma, [2, 5, 5, -3], 1000);
    expect(s[0]).toBeCloseTo(Math.sqrt(0.01 ** 2 + 2 / 1000), 14);
    expect(s[1]).toBeNaN();
    expect(s[2]).toBeNaN();
    expect(s[3]).toBeCloseTo(0.02, 14); // negative signal: no term
    const p = addPoissonVariance([0.01, 0.01], [2, 2], [500, NaN]);
    expect(p[0]).toBeCloseTo(Math.sqrt(1e-4 + 2 / 500), 14);
    expect(p[1]).toBeNaN();
  });

  // a bright elliptical-like blob on an ACS sky, the noise drawn with the full variance (signal included)
  const N = 96;
  const shape: [number, number] = [N, N];
  const truth = new Float64Array(N * N);
  for (let i = 0; i < N; i++) for (let j = 0; j < N; j++) truth[i * N + j] = 40 * Math.exp(-Math.hypot(i - 47.5, j - 47.5) / 3);
  const rng = new SeededRandom(3);
  const data = Float64Array.from(truth, (v) => v + rng.normal() * Math.sqrt(SIGMA_SKY ** 2 + v / T));
  const sky = new Float64Array(N * N).fill(SIGMA_SKY);
  const acs = scale(electronScale([header({ BUNIT: 'ELECTRONS/S', EXPTIME: T })]));

  it('χ²/pixel ≈ 1 on the bright part with the term, far above without; the blank sky unchanged', () => {
    const r = lensSigma(data, shape, sky, { mode: 'auto', wanted: true, scale: acs, source: '1/√w' });
    expect(r.poisson).toBe(true);
    expect(r.skySigma).toBe(sky);
    expect(r.json.electronsPerUnit).toBe(T);
    expect(r.notes[0]).toMatch(/Poisson noise added/);
    const chi = (sig: ArrayLike<number>, where: (v: number) => boolean) => {
      let c = 0;
      let n = 0;
      for (let k = 0; k < N * N; k++) {
        if (!where(truth[k])) continue;
        c += ((data[k] - truth[k]) / sig[k]) ** 2;
        n++;
      }
      return { c: c / n, n };
    };
    // the core (the signal ≥ 10 × the sky's variance × e): 3.5× the variance without the term
    const core = (v: number) => v / T > 10 * SIGMA_SKY ** 2;
    const withP = chi(r.sigma, core);
    const without = chi(sky, core);
    expect(withP.n).toBeGreaterThan(150);
    expect(Math.abs(withP.c - 1)).toBeLessThan(0.15);
    expect(without.c).toBeGreaterThan(5);
    // the ratio of σ to the true σ over the blob (≥ 1 sky variance of signal): within 5 % on average
    let ratio = 0;
    let m = 0;
    for (let k = 0; k < N * N; k++) {
      if (truth[k] / T < SIGMA_SKY ** 2) continue;
      ratio += r.sigma[k] / Math.sqrt(SIGMA_SKY ** 2 + truth[k] / T);
      m++;
    }
    expect(Math.abs(ratio / m - 1)).toBeLessThan(0.05);
    // the blank sky (signal < 10⁻³ of the sky's variance × e): σ² grows by < 1 % on average (≈ 0.15/(σ_w e) = 0.6 %)
    let grow = 0;
    let ns = 0;
    for (let k = 0; k < N * N; k++) {
      if (truth[k] / T > 1e-3 * SIGMA_SKY ** 2) continue;
      grow += (r.sigma[k] / sky[k]) ** 2 - 1;
      ns++;
    }
    expect(ns).toBeGreaterThan(1000);
    expect(grow / ns).toBeGreaterThan(0);
    expect(grow / ns).toBeLessThan(0.01);
  });

  it('none, a complete σ map, or an unknown scale: σ is the sky σ, and the reason is kept', () => {
    const none = lensSigma(data, shape, sky, { mode: 'none', wanted: true, scale: acs, source: '1/√w' });
    expect(none.sigma).toBe(sky);
    expect(none.json.poisson).toMatch(/none \(--poisson none\)/);
    const map = lensSigma(data, shape, sky, { mode: 'auto', wanted: false, scale: acs, source: 'the σ given' });
    expect(map.sigma).toBe(sky);
    expect(map.notes).toEqual([]);
    const unknown = lensSigma(data, shape, sky, { mode: 'auto', wanted: true, scale: 'no exposure time (EXPTIME or TEXPTIME in the header)', source: '1/√w' });
    expect(unknown.sigma).toBe(sky);
    expect(unknown.json.poisson).toMatch(/no exposure time/);
    expect(unknown.notes[0]).toMatch(/--exposure-time/);
  });
});

describe('EXP weights: the sky σ from the blank sky', () => {
  it('σ_sky = c/√t with c from the sky scatter of y·√t; exposure 0 or NaN left out; too little sky refused', () => {
    const N = 80;
    const rng = new SeededRandom(11);
    const c = 0.6;
    const t = Float64Array.from({ length: N * N }, (_, k) => (k % N < N / 2 ? 1000 : 2000));
    t[5] = 0;
    t[6] = NaN;
    const y = Float64Array.from(t, (v) => (v > 0 ? (c / Math.sqrt(v)) * rng.normal() : NaN));
    const r = skySigmaFromExposure(y, t, [N, N], null);
    expect(r.excluded).toBe(2);
    expect(r.basis).toBe('per-pixel');
    expect(Math.abs(r.scale / c - 1)).toBeLessThan(0.03);
    expect(r.sigma[5]).toBeNaN();
    expect(r.sigma[10]).toBeCloseTo(r.scale / Math.sqrt(1000), 12);
    expect(r.sigma[N - 1]).toBeCloseTo(r.scale / Math.sqrt(2000), 12);
    const exclude = new Uint8Array(N * N).fill(1);
    exclude.fill(0, 0, 1000);
    expect(() => skySigmaFromExposure(y, t, [N, N], exclude)).toThrow(LensInputError);
  });
});
