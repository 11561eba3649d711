/**
 * src-shared/image: statistics, zscale, percentiles, scales, histograms, colour maps and the reference
 * renderer. Reference numbers marked "astropy 5.2.1" / "matplotlib 3.6.3" were computed once with those
 * libraries on the same inputs (see the comments); everything else is derived by hand.
 */
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { dataPath } from '../helpers/data.js';
import { readFitsImage } from '../../src-shared/fits/reader.js';
import {
  computeStats,
  zscaleFromValues,
  computeLimits,
  quantileSorted,
  stretch,
  inverseStretch,
  histEqTable,
  histogram,
  colormapLut,
  invertLut,
  COLORMAP_NAMES,
  SCALE_NAMES,
  divergingColor,
  naturalCubicSpline,
  srgbToLab,
  labToSrgb,
  renderRgba,
  lutIndex,
  LimitsInputError,
  type ScaleName,
} from '../../src-shared/image/index.js';

const load = (...p: string[]) => readFitsImage(new Uint8Array(readFileSync(dataPath(...p)))).data;

describe('statistics and limits', () => {
  it('quantiles interpolate linearly between ranks (numpy "linear")', () => {
    const s = [1, 2, 4, 8];
    expect(quantileSorted(s, 0)).toBe(1);
    expect(quantileSorted(s, 1)).toBe(8);
    expect(quantileSorted(s, 0.5)).toBe(3); // rank 1.5
    expect(quantileSorted(s, 0.9)).toBeCloseTo(4 + 0.7 * 4, 12); // rank 2.7
  });

  it('counts and skips non-finite pixels', () => {
    const d = new Float32Array([1, NaN, 3, Infinity, -Infinity, 2]);
    const s = computeStats(d);
    expect(s.count).toBe(6);
    expect(s.finite).toBe(3);
    expect([s.min, s.max, s.mean, s.median]).toEqual([1, 3, 2, 2]);
    expect(s.std).toBeCloseTo(Math.sqrt(2 / 3), 12);
    expect(computeLimits({ mode: 'minmax' }, s)).toEqual([1, 3]);
  });

  it('percentile limits of 0..100 are exact', () => {
    const d = Float64Array.from({ length: 101 }, (_, i) => 100 - i); // order must not matter
    const s = computeStats(d);
    expect(computeLimits({ mode: 'percentile', percent: 90 }, s)).toEqual([5, 95]);
    const [lo, hi] = computeLimits({ mode: 'percentile', percent: 99.5 }, s);
    expect(lo).toBeCloseTo(0.25, 12);
    expect(hi).toBeCloseTo(99.75, 12);
    // between presets the quantile table is used: 1025 points over 101 values is exact for linear data
    const [a, b] = computeLimits({ mode: 'percentile', percent: 80 }, s);
    expect(a).toBeCloseTo(10, 9);
    expect(b).toBeCloseTo(90, 9);
    expect(computeLimits({ mode: 'symmetric', percent: 90 }, computeStats([-3, -1, 0, 2, 1]))[1]).toBeCloseTo(2.6, 12);
  });

  it('refuses bad manual limits and widens a constant image', () => {
    const s = computeStats(new Float32Array(16).fill(5));
    expect(() => computeLimits({ mode: 'manual', lo: 2, hi: 1 }, s)).toThrow(LimitsInputError);
    expect(() => computeLimits({ mode: 'manual', lo: NaN, hi: 1 }, s)).toThrow(/finite/);
    const [lo, hi] = computeLimits({ mode: 'minmax' }, s);
    expect(lo).toBeLessThan(5);
    expect(hi).toBeGreaterThan(5);
    expect(computeLimits({ mode: 'minmax' }, computeStats(new Float32Array([NaN])))).toEqual([0, 1]);
  });

  it('zscale of an exact line: limits from the slope and the contrast, by hand', () => {
    // values v_i = 3 + 2i, i = 0..99 (sorted already; no rejection since the fit is exact).
    // slope 2 / contrast 0.25 = 8; centre rank ⌊99/2⌋ = 49; median 102;
    // vmin = max(3, 102 − 48·8) = 3, vmax = min(201, 102 + 51·8) = 201 → the full range
    const line = Float64Array.from({ length: 100 }, (_, i) => 3 + 2 * i);
    expect(zscaleFromValues(line)).toEqual([3, 201]);
    // with contrast 4 the slope shrinks to 0.5: [102 − 48·0.5, 102 + 51·0.5]
    expect(zscaleFromValues(line, { contrast: 4 })).toEqual([78, 127.5]);
  });

  it('zscale matches astropy ZScaleInterval on a ramp with outliers and on real images', () => {
    // astropy 5.2.1: x = arange(5000); d = (x % 97)·0.5 + 3 sin x; d[::50] += 1000
    const d = Float64Array.from({ length: 5000 }, (_, x) => (x % 97) * 0.5 + Math.sin(x) * 3 + (x % 50 === 0 ? 1000 : 0));
    const [a, b] = zscaleFromValues(d);
    expect(a).toBeCloseTo(-2.9933618090885186, 9);
    expect(b).toBeCloseTo(134.4767430028605, 9);
    const [c, e] = zscaleFromValues(d, { contrast: 0.5, nSamples: 600 });
    expect(c).toBeCloseTo(-2.4992913026543184, 9);
    expect(e).toBeCloseTo(75.91211556785305, 9);
    // astropy 5.2.1 on the FITS files (values as float64)
    const m13 = computeStats(load('fits', 'm13.fits'));
    expect(m13.zscale[0]).toBeCloseTo(109.0, 9);
    expect(m13.zscale[1]).toBeCloseTo(216.4366865602338, 6);
    expect(m13.percentiles['99.5'][0]).toBeCloseTo(110.0, 9);
    expect(m13.percentiles['99.5'][1]).toBeCloseTo(1190.0125000000116, 6);
    expect(m13.percentiles['90']).toEqual([113, 241]);
    const dor = computeStats(load('radio', 'purify_30dor_spitzer8um.fits'));
    expect(dor.zscale[0]).toBeCloseTo(2.6762036129893274, 9);
    expect(dor.zscale[1]).toBeCloseTo(70.84640131670015, 7);
    expect(dor.percentiles['99.5'][1]).toBeCloseTo(315.92201799593266, 7);
    const m31 = computeStats(load('radio', 'purify_M31.fits'));
    expect(m31.zscale[1]).toBeCloseTo(0.01695455854039689, 12);
    expect(m31.percentiles['90'][1]).toBeCloseTo(0.14407159388065338, 12);
  });
});

describe('scales', () => {
  it('every scale maps 0 → 0, 1 → 1, is non-decreasing and clips', () => {
    const table = histEqTable(Float64Array.from({ length: 1000 }, (_, i) => (i / 999) ** 3), 0, 1);
    for (const s of SCALE_NAMES) {
      // histeq at lo is the fraction of pixels equal to lo (1 of 1000 here)
      expect(stretch(s, 0, undefined, table)).toBeCloseTo(s === 'histeq' ? 0.001 : 0, 6);
      expect(stretch(s, 1, undefined, table)).toBeCloseTo(1, 12);
      expect(stretch(s, -5, undefined, table)).toBe(stretch(s, 0, undefined, table));
      expect(stretch(s, 7, undefined, table)).toBe(stretch(s, 1, undefined, table));
      let prev = -1;
      for (let k = 0; k <= 200; k++) {
        const y = stretch(s, k / 200, undefined, table);
        expect(y).toBeGreaterThanOrEqual(prev - 1e-12);
        prev = y;
      }
    }
  });

  it('matches astropy LogStretch(1000), AsinhStretch(0.1), PowerDistStretch(1000)', () => {
    const t = [0, 0.1, 0.5, 0.9, 1.0];
    const log = [0.0, 0.6680104684941067, 0.8998157120437035, 0.9847657754445129, 1.0];
    const asinh = [0.0, 0.2939653260048424, 0.7712696419200371, 0.9650529776640909, 1.0];
    const pow = [0.0, 0.0009962585735424222, 0.030653430031715508, 0.5006879215488211, 1.0];
    t.forEach((x, i) => {
      expect(stretch('log', x)).toBeCloseTo(log[i], 12);
      expect(stretch('asinh', x)).toBeCloseTo(asinh[i], 12);
      expect(stretch('power', x)).toBeCloseTo(pow[i], 12);
      expect(stretch('sqrt', x)).toBeCloseTo(Math.sqrt(x), 15);
    });
  });

  it('inverse stretches undo the stretches', () => {
    const table = histEqTable(Float64Array.from({ length: 500 }, (_, i) => Math.exp(i / 50)), 1, Math.exp(9));
    for (const s of SCALE_NAMES as readonly ScaleName[]) {
      for (const t of [0.03, 0.2, 0.5, 0.77, 0.99]) {
        const y = stretch(s, t, undefined, table);
        expect(stretch(s, inverseStretch(s, y, undefined, table), undefined, table)).toBeCloseTo(y, 6);
      }
    }
  });

  it('histogram equalisation gives the empirical CDF, so equalised values are uniform', () => {
    // 10 000 values of an exponential distribution: after equalisation their deciles are ~ equally filled
    const n = 10000;
    const d = Float64Array.from({ length: n }, (_, i) => -Math.log(1 - (i + 0.5) / n));
    const lo = 0;
    const hi = d[n - 1];
    const table = histEqTable(d, lo, hi);
    expect(table[0]).toBe(0);
    expect(table[table.length - 1]).toBe(1);
    const bins = new Array(10).fill(0);
    for (const v of d) bins[Math.min(9, Math.floor(stretch('histeq', (v - lo) / (hi - lo), 0, table) * 10))]++;
    // the table's grid step (hi/4095 ≈ 0.0024) moves at most a few pixels per bin edge (density ≤ n·0.0024)
    for (const c of bins) expect(Math.abs(c - n / 10)).toBeLessThanOrEqual(30);
    // exact at a grid point: fraction ≤ lo + k/(size−1)·(hi − lo)
    const k = 1000;
    const edge = lo + (k / 4095) * (hi - lo);
    expect(table[k]).toBeCloseTo(d.filter((v) => v <= edge).length / n, 6); // float32 table
  });
});

describe('histogram', () => {
  it('bins values, counts outside and non-finite values', () => {
    const h = histogram([0, 0.5, 1, 1.5, 2, -1, 3, NaN], 0, 2, 4);
    expect(Array.from(h.counts)).toEqual([1, 1, 1, 2]); // 2 falls in the last bin
    expect([h.under, h.over, h.nonFinite]).toEqual([1, 1, 1]);
    expect(() => histogram([1], 1, 1, 4)).toThrow(RangeError);
  });
});

describe('colour maps', () => {
  const rgb = (lut: Uint8Array, i: number) => [lut[4 * i], lut[4 * i + 1], lut[4 * i + 2]];

  it('CIELAB round trip and a natural cubic spline through a cubic-free set of points', () => {
    for (const c of [[0.2, 0.5, 0.9], [1, 1, 1], [0.01, 0.001, 0.3]] as [number, number, number][]) {
      const back = labToSrgb(srgbToLab(c));
      back.forEach((v, i) => expect(v).toBeCloseTo(c[i], 10));
    }
    expect(srgbToLab([1, 1, 1])[0]).toBeCloseTo(100, 9);
    // a natural spline reproduces a straight line exactly
    const f = naturalCubicSpline([0, 0.3, 0.5, 1], [1, 1.6, 2, 3]);
    for (const t of [0, 0.1, 0.42, 0.9, 1]) expect(f(t)).toBeCloseTo(1 + 2 * t, 12);
  });

  it('sequential maps agree with matplotlib 3.6.3 tables away from the stops', () => {
    // matplotlib 3.6.3 colormaps[name](i)[:3] at indices 5, 50, 100, 150, 203, 250 (none is a stop)
    const ref: Record<string, number[][]> = {
      viridis: [[0.273809, 0.031497, 0.358853], [0.255645, 0.260703, 0.528312], [0.166617, 0.463708, 0.558119], [0.128087, 0.647749, 0.523491], [0.468053, 0.818921, 0.323998], [0.945636, 0.899815, 0.112838]],
      inferno: [[0.007676, 0.006136, 0.046836], [0.25162, 0.037705, 0.403378], [0.565854, 0.143567, 0.408258], [0.851384, 0.30226, 0.239636], [0.987337, 0.63789, 0.034916], [0.961812, 0.975924, 0.571925]],
      magma: [[0.007588, 0.006356, 0.044973], [0.225302, 0.060445, 0.431742], [0.537755, 0.156894, 0.506551], [0.852126, 0.276106, 0.418573], [0.994309, 0.616999, 0.42295], [0.988717, 0.955742, 0.712242]],
      cividis: [[0.0, 0.149791, 0.337065], [0.204385, 0.269823, 0.425126], [0.394568, 0.406236, 0.438986], [0.570607, 0.549695, 0.469593], [0.781795, 0.717074, 0.401966], [0.987293, 0.884718, 0.213336]],
    };
    const idx = [5, 50, 100, 150, 203, 250];
    for (const [name, rows] of Object.entries(ref)) {
      const lut = colormapLut(name as 'viridis');
      const tol = name === 'cividis' ? 5 : 1.5; // in 8-bit steps (see colormaps.ts)
      rows.forEach((r, k) => rgb(lut, idx[k]).forEach((v, c) => expect(Math.abs(v - r[c] * 255)).toBeLessThanOrEqual(tol)));
    }
    // the ends are exact
    expect(rgb(colormapLut('viridis'), 0)).toEqual([0x44, 0x01, 0x54]);
    expect(rgb(colormapLut('viridis'), 255)).toEqual([0xfd, 0xe7, 0x25]);
  });

  it('sequential maps have monotone lightness (perceptual order)', () => {
    for (const name of ['grey', 'viridis', 'inferno', 'magma', 'cividis'] as const) {
      const lut = colormapLut(name);
      let prev = -Infinity;
      for (let i = 0; i < 256; i += 5) {
        const L = srgbToLab(rgb(lut, i).map((v) => v / 255) as [number, number, number])[0];
        expect(L).toBeGreaterThan(prev - 0.6); // 8-bit rounding only
        prev = L;
      }
    }
  });

  it("coolwarm is Moreland's diverging map: exact ends, an achromatic middle, symmetric lightness", () => {
    const lut = colormapLut('coolwarm');
    expect(rgb(lut, 0)).toEqual([59, 76, 192]);
    expect(rgb(lut, 255)).toEqual([180, 4, 38]);
    const mid = divergingColor([59 / 255, 76 / 255, 192 / 255], [180 / 255, 4 / 255, 38 / 255], 0.5).map((v) => v * 255);
    // Moreland's published table: (221, 221, 221) at the middle
    mid.forEach((v) => expect(Math.abs(v - 221)).toBeLessThan(1.5));
    const lab = srgbToLab(mid.map((v) => v / 255) as [number, number, number]);
    expect(Math.hypot(lab[1], lab[2])).toBeLessThan(1.5);
    // lightness rises to the middle and falls after it
    const L = (i: number) => srgbToLab(rgb(lut, i).map((v) => v / 255) as [number, number, number])[0];
    expect(L(64)).toBeGreaterThan(L(0));
    expect(L(127)).toBeGreaterThan(L(64));
    expect(L(192)).toBeLessThan(L(128));
    expect(L(255)).toBeLessThan(L(192));
    // matplotlib 3.6.3 coolwarm (itself linear between Moreland's 33-entry table) at 32, 100, 160, 200
    const ref: [number, number[]][] = [[32, [0.383662, 0.510183, 0.917831]], [100, [0.743754, 0.825125, 0.965798]], [160, [0.959518, 0.766973, 0.674145]], [200, [0.941728, 0.546413, 0.429707]]];
    for (const [i, r] of ref) rgb(lut, i).forEach((v, c) => expect(Math.abs(v - r[c] * 255)).toBeLessThanOrEqual(2));
  });

  it('every map has 256 opaque entries; invert reverses', () => {
    for (const name of COLORMAP_NAMES) {
      const lut = colormapLut(name);
      expect(lut.length).toBe(1024);
      for (let i = 0; i < 256; i++) expect(lut[4 * i + 3]).toBe(255);
      const inv = invertLut(lut);
      expect(rgb(inv, 0)).toEqual(rgb(lut, 255));
      expect(rgb(inv, 10)).toEqual(rgb(lut, 245));
    }
  });
});

describe('reference renderer', () => {
  it('maps values through limits, scale and LUT, flips rows, and paints NaN with the NaN colour', () => {
    // 2 × 2 image, FITS row 0 = [0, 1], row 1 = [NaN, 0.25]
    const d = new Float32Array([0, 1, NaN, 0.25]);
    const s = { scale: 'sqrt' as const, lo: 0, hi: 1, colormap: 'grey' as const, invert: false, nanColor: [1, 2, 3, 4] as [number, number, number, number] };
    const out = renderRgba(d, 2, 2, s);
    // first output row is the top row (FITS row 1): NaN then sqrt(0.25) = 0.5 → index 128
    expect(Array.from(out.subarray(0, 8))).toEqual([1, 2, 3, 4, 128, 128, 128, 255]);
    expect(Array.from(out.subarray(8, 16))).toEqual([0, 0, 0, 255, 255, 255, 255, 255]);
    const inv = renderRgba(d, 2, 2, { ...s, invert: true });
    expect(inv[8]).toBe(255);
    expect(lutIndex(2, s)).toBe(255);
    expect(lutIndex(-2, s)).toBe(0);
    expect(lutIndex(NaN, s)).toBe(-1);
  });
});

describe('fast paths agree with the reference', () => {
  it('radix sort of float32 equals the comparison sort (signs, zeros, denormals, extremes)', async () => {
    const { sortFloat32 } = await import('../../src-shared/image/stats.js');
    let s = 7;
    const rnd = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 4294967296);
    const v = Float32Array.from({ length: 50_000 }, () => (rnd() - 0.5) * 10 ** Math.floor(rnd() * 20 - 10));
    v.set([0, -0, 1e-45, -1e-45, 3.4e38, -3.4e38, 1, -1], 0);
    const ref = Array.from(v).sort((a, b) => a - b);
    const got = Array.from(sortFloat32(v));
    expect(got.length).toBe(ref.length);
    got.forEach((x, i) => expect(x === ref[i] || (x === 0 && ref[i] === 0)).toBe(true));
    // the statistics of float32 data (radix path) equal those of the same values as float64 (comparison path)
    const f32 = computeStats(v);
    const f64 = computeStats(Float64Array.from(v));
    expect(f32.percentiles).toEqual(f64.percentiles);
    expect(f32.zscale).toEqual(f64.zscale);
    expect(Array.from(f32.quantiles)).toEqual(Array.from(f64.quantiles));
  });

  it('the table-driven renderer is within one LUT step of lutIndex for every scale', () => {
    let s = 11;
    const rnd = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 4294967296);
    const n = 20_000;
    const d = Float32Array.from({ length: n }, () => rnd() * 1.2 - 0.1);
    const table = histEqTable(d, 0, 1);
    for (const scale of SCALE_NAMES) {
      const st = { scale, lo: 0, hi: 1, colormap: 'grey' as const, invert: false, histeq: table };
      const out = renderRgba(d, n, 1, st, false);
      let worst = 0;
      for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs(out[4 * i] - lutIndex(d[i], st)));
      expect(worst, scale).toBeLessThanOrEqual(1);
    }
  });
});
