/**
 * Display of large images: the statistics of large float32 images without a full sort (exact order statistics
 * by radix select, the quantile table from a stratified subsample with its stated rank tolerance), the
 * block-mean pyramid, and drawing at the canvas's resolution.
 */
import { describe, it, expect } from 'vitest';
import {
  computeStats,
  percentileInterval,
  quantileSorted,
  EXACT_STATS_PIXELS,
  QUANTILE_SAMPLE,
  QUANTILE_POINTS,
  PERCENTILE_PRESETS,
} from '../../src-shared/image/stats.js';
import { zscaleFromValues } from '../../src-shared/image/zscale.js';
import { blockMean2, buildPyramid, levelForZoom } from '../../src-shared/image/decimate.js';
import { renderRgba, renderView, type DisplaySettings } from '../../src-shared/image/render.js';

/** xorshift32 uniform in [0, 1). */
function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

/** The reference: every finite value sorted (float64), and the exact statistics from it. */
function reference(data: Float32Array) {
  const v = Float64Array.from(data.filter((x) => Number.isFinite(x))).sort();
  const n = v.length;
  let sum = 0;
  for (const x of v) sum += x;
  const mean = sum / n;
  let ss = 0;
  for (const x of v) ss += (x - mean) ** 2;
  return { sorted: v, n, mean, std: Math.sqrt(ss / n) };
}

/** Index of the first sorted value > x (count ≤ x) and of the first ≥ x (count < x). */
function ranks(sorted: Float64Array, x: number): [number, number] {
  let a = 0;
  let b = sorted.length;
  while (a < b) {
    const m = (a + b) >> 1;
    if (sorted[m] < x) a = m + 1;
    else b = m;
  }
  const lt = a;
  b = sorted.length;
  while (a < b) {
    const m = (a + b) >> 1;
    if (sorted[m] <= x) a = m + 1;
    else b = m;
  }
  return [lt, a];
}

/** Sky-like data: noisy background, a heavy positive tail, some negative values, NaN and ±Inf blanks. */
function skyLike(n: number, seed: number): Float32Array {
  const r = rng(seed);
  const d = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = r();
    d[i] = 100 + 5 * (r() + r() + r() - 1.5) + (u < 0.02 ? 3000 * r() ** 4 : 0) - (u > 0.999 ? 500 * r() : 0);
  }
  for (let k = 0; k < 5000; k++) d[Math.floor(r() * n)] = NaN;
  d[17] = Infinity;
  d[n - 3] = -Infinity;
  return d;
}

describe('statistics of large float32 images', () => {
  const n = EXACT_STATS_PIXELS + 250_001;
  const data = skyLike(n, 12345);
  const ref = reference(data);
  const s = computeStats(data);

  it('count, min, max, mean and std are exact (sums in float64)', () => {
    expect(ref.n).toBeGreaterThan(EXACT_STATS_PIXELS);
    expect(s.count).toBe(n);
    expect(s.finite).toBe(ref.n);
    expect(s.min).toBe(ref.sorted[0]);
    expect(s.max).toBe(ref.sorted[ref.n - 1]);
    // the same sums in another order: equal to rounding
    expect(Math.abs(s.mean - ref.mean)).toBeLessThan(1e-10 * Math.abs(ref.mean));
    expect(Math.abs(s.std - ref.std)).toBeLessThan(1e-9 * ref.std);
  });

  it('the median and every preset percentile are the exact order statistics (numpy linear interpolation)', () => {
    expect(s.median).toBe(quantileSorted(ref.sorted, 0.5));
    for (const p of PERCENTILE_PRESETS) {
      const [lo, hi] = percentileInterval(ref.sorted, p);
      expect(s.percentiles[String(p)][0]).toBe(lo);
      expect(s.percentiles[String(p)][1]).toBe(hi);
    }
  });

  it('zscale reads the same ≤ 1000 strided finite pixels as on the full list', () => {
    expect(s.zscale).toEqual(zscaleFromValues(Float64Array.from(data.filter((x) => Number.isFinite(x)))));
  });

  it('the quantile table is within its stated rank tolerance 5·√(q(1−q)/m) + 2/m of the exact ranks', () => {
    const m = Math.min(QUANTILE_SAMPLE, ref.n);
    expect(s.quantiles.length).toBe(QUANTILE_POINTS);
    expect(s.quantiles[0]).toBe(ref.sorted[0]);
    expect(s.quantiles[QUANTILE_POINTS - 1]).toBe(ref.sorted[ref.n - 1]);
    let worst = 0;
    for (let i = 1; i < QUANTILE_POINTS - 1; i++) {
      const q = i / (QUANTILE_POINTS - 1);
      const [lt, le] = ranks(ref.sorted, s.quantiles[i]);
      // the value's rank interval [lt, le] / (n−1) must come within tol of q
      const r = q * (ref.n - 1);
      const dist = r < lt ? lt - r : r > le ? r - le : 0;
      const tol = 5 * Math.sqrt((q * (1 - q)) / m) + 2 / m;
      worst = Math.max(worst, dist / ref.n / tol);
      expect(dist / ref.n).toBeLessThanOrEqual(tol);
    }
    expect(worst).toBeGreaterThan(0); // a subsample, not the exact table: the check is not vacuous
  });

  it('ties, negative zero and a constant image: exact order statistics still', () => {
    const r = rng(7);
    const ints = new Float32Array(EXACT_STATS_PIXELS + 1000);
    for (let i = 0; i < ints.length; i++) ints[i] = Math.floor(-3 + 9 * r() ** 2);
    ints[5] = -0;
    const si = computeStats(ints);
    const ri = reference(ints);
    expect(si.median).toBe(quantileSorted(ri.sorted, 0.5));
    for (const p of PERCENTILE_PRESETS) expect(si.percentiles[String(p)]).toEqual(percentileInterval(ri.sorted, p));
    const flat = new Float32Array(EXACT_STATS_PIXELS + 10).fill(2.5);
    const sf = computeStats(flat);
    expect([sf.min, sf.max, sf.median, sf.std, ...sf.percentiles['99.5']]).toEqual([2.5, 2.5, 2.5, 0, 2.5, 2.5]);
    expect(sf.zscale).toEqual([2.5, 2.5]);
  });

  it('a large image with few finite pixels takes the exact path', () => {
    const d = new Float32Array(EXACT_STATS_PIXELS + 100).fill(NaN);
    const r = rng(3);
    for (let i = 0; i < 1000; i++) d[i * 7] = r();
    const sd = computeStats(d);
    const rd = reference(d);
    expect(sd.finite).toBe(1000);
    for (let i = 0; i < QUANTILE_POINTS; i += 64) expect(sd.quantiles[i]).toBe(quantileSorted(rd.sorted, i / (QUANTILE_POINTS - 1)));
  });
});

describe('block-mean pyramid', () => {
  /** The mean of the finite pixels of a block, brute force. */
  function blockMean(d: Float32Array, w: number, h: number, f: number, X: number, Y: number): number {
    let s = 0;
    let c = 0;
    for (let y = Y * f; y < Math.min(h, (Y + 1) * f); y++)
      for (let x = X * f; x < Math.min(w, (X + 1) * f); x++) {
        const v = d[y * w + x];
        if (Number.isFinite(v)) {
          s += v;
          c++;
        }
      }
    return c ? s / c : NaN;
  }

  it('each level k holds the mean of the finite pixels of its 2^k × 2^k block (odd sizes, blanks)', () => {
    const w = 37;
    const h = 23;
    const r = rng(11);
    const d = new Float32Array(w * h).map(() => 10 * r() - 3);
    for (let k = 0; k < 60; k++) d[Math.floor(r() * w * h)] = NaN;
    d[5] = Infinity;
    // a whole 4 × 4 block blank: NaN at level 2
    for (let y = 8; y < 12; y++) for (let x = 16; x < 20; x++) d[y * w + x] = NaN;
    const levels = buildPyramid(d, w, h, 4);
    expect(levels.map((l) => [l.width, l.height, l.factor])).toEqual([
      [19, 12, 2],
      [10, 6, 4],
      [5, 3, 8],
      [3, 2, 16],
    ]);
    for (const l of levels) {
      for (let Y = 0; Y < l.height; Y++)
        for (let X = 0; X < l.width; X++) {
          const want = blockMean(d, w, h, l.factor, X, Y);
          const got = l.data[Y * l.width + X];
          if (Number.isNaN(want)) expect(got).toBeNaN();
          else expect(Math.abs(got - want)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(want)));
        }
    }
    expect(levels[1].data[2 * 10 + 4]).toBeNaN();
    // level 1 straight from the pixels: the same, with the counts of finite pixels
    const l1 = blockMean2(d, w, h);
    expect(Array.from(l1.data.slice(0, 19))).toEqual(Array.from(levels[0].data.slice(0, 19)));
    expect(l1.counts[18]).toBe(2); // the last column of an odd width: 1 × 2 pixels
  });

  it('an image at most minSide has no levels; the level for a zoom has pixels no larger than a screen pixel', () => {
    expect(buildPyramid(new Float32Array(16), 4, 4, 4)).toEqual([]);
    const levels = buildPyramid(new Float32Array(64 * 64), 64, 64, 8); // factors 2, 4, 8
    expect(levels.map((l) => l.factor)).toEqual([2, 4, 8]);
    expect(levelForZoom(levels, 2)).toBe(0);
    expect(levelForZoom(levels, 1)).toBe(0);
    expect(levelForZoom(levels, 0.6)).toBe(0);
    expect(levelForZoom(levels, 0.5)).toBe(1);
    expect(levelForZoom(levels, 0.2)).toBe(2);
    expect(levelForZoom(levels, 0.01)).toBe(3);
  });
});

describe('drawing at the canvas resolution', () => {
  const s: DisplaySettings = { scale: 'asinh', lo: -1, hi: 9, colormap: 'viridis', invert: false, nanColor: [255, 0, 255, 255] };

  it('at 1:1 with the image filling the output it is the reference renderer, pixel for pixel', () => {
    const w = 40;
    const h = 30;
    const r = rng(5);
    const d = new Float32Array(w * h).map(() => 12 * r() - 2);
    d[33] = NaN;
    const ref = renderRgba(d, w, h, s);
    // the output's centre (20, 15) is image point (19.5, 14.5): pixel x covers [x − ½, x + ½]
    const out = renderView({ data: d, width: w, height: h }, [], { cx: (w - 1) / 2, cy: (h - 1) / 2, zoom: 1 }, w, h, s);
    expect(Array.from(out)).toEqual(Array.from(ref));
  });

  it('zoomed in ×2 each image pixel fills 2 × 2 output pixels (nearest, as the canvas transform does)', () => {
    const w = 12;
    const h = 9;
    const r = rng(21);
    const d = new Float32Array(w * h).map(() => 10 * r());
    const ref = renderRgba(d, w, h, s);
    const out = renderView({ data: d, width: w, height: h }, [], { cx: (w - 1) / 2, cy: (h - 1) / 2, zoom: 2 }, 2 * w, 2 * h, s);
    for (let j = 0; j < 2 * h; j++)
      for (let i = 0; i < 2 * w; i++) {
        const o = 4 * (j * 2 * w + i);
        const k = 4 * (Math.floor(j / 2) * w + Math.floor(i / 2));
        expect(Array.from(out.slice(o, o + 4))).toEqual(Array.from(ref.slice(k, k + 4)));
      }
  });

  it('zoomed out it draws the block means of the level that fits, and nothing outside the image', () => {
    const w = 64;
    const h = 64;
    const r = rng(9);
    const d = new Float32Array(w * h).map(() => 10 * r());
    const levels = buildPyramid(d, w, h, 8);
    // zoom ¼: level 2 (16 × 16 means) drawn one output pixel each, centred in a 20 × 18 output
    const W = 20;
    const H = 18;
    const out = renderView({ data: d, width: w, height: h }, levels, { cx: 31.5, cy: 31.5, zoom: 0.25 }, W, H, s);
    const lv = levels[1];
    const want = renderRgba(lv.data, lv.width, lv.height, s);
    for (let j = 0; j < H; j++)
      for (let i = 0; i < W; i++) {
        const X = i - 2;
        const Yt = j - 1; // row from the top of the 16 × 16 level
        const got = Array.from(out.slice(4 * (j * W + i), 4 * (j * W + i) + 4));
        if (X < 0 || X >= 16 || Yt < 0 || Yt >= 16) expect(got).toEqual([0, 0, 0, 0]);
        else expect(got).toEqual(Array.from(want.slice(4 * (Yt * 16 + X), 4 * (Yt * 16 + X) + 4)));
      }
  });
});
