/**
 * The radio prior's synthetic training sources (src-shared/radio/synth-sources.ts): seeded determinism,
 * non-negativity, the brightness normalisation, and each morphology's defining structure measured on the images.
 */
import { describe, it, expect } from 'vitest';
import { Rng } from '../../src-shared/diffusion/nn/rng.js';
import {
  DEFAULT_BRIGHTNESS,
  FAINT_COMPACT_BRIGHTNESS,
  MORPHOLOGY_WEIGHTS,
  RADIO_MORPHOLOGIES,
  addGaussian,
  cropRescale,
  normaliseBrightness,
  percentile995,
  synthRadioImage,
  synthRadioImages,
  type RadioMorphology,
} from '../../src-shared/radio/synth-sources.js';

const N = 64;

function peakOf(img: Float32Array): { v: number; x: number; y: number } {
  let best = { v: -Infinity, x: 0, y: 0 };
  for (let i = 0; i < img.length; i++) if (img[i] > best.v) best = { v: img[i], x: i % N, y: Math.floor(i / N) };
  return best;
}

/** Pixels above a fraction of the peak. */
function areaAbove(img: Float32Array, frac: number): number {
  const p = peakOf(img).v;
  let n = 0;
  for (const v of img) if (v > frac * p) n++;
  return n;
}

/** The image's extent: the largest distance of a pixel above `frac` of the peak from the brightness centroid. */
function extent(img: Float32Array, frac: number): number {
  const p = peakOf(img).v;
  let sx = 0;
  let sy = 0;
  let s = 0;
  for (let i = 0; i < img.length; i++) {
    if (img[i] > frac * p) {
      sx += img[i] * (i % N);
      sy += img[i] * Math.floor(i / N);
      s += img[i];
    }
  }
  const cx = sx / s;
  const cy = sy / s;
  let r = 0;
  for (let i = 0; i < img.length; i++) if (img[i] > frac * p) r = Math.max(r, Math.hypot((i % N) - cx, Math.floor(i / N) - cy));
  return r;
}

/** Local maxima above `frac` of the peak (strict in the 8-neighbourhood), as [x, y, value]. */
function localMaxima(img: Float32Array, frac: number): Array<[number, number, number]> {
  const p = peakOf(img).v;
  const out: Array<[number, number, number]> = [];
  for (let y = 1; y < N - 1; y++) {
    for (let x = 1; x < N - 1; x++) {
      const v = img[y * N + x];
      if (v <= frac * p) continue;
      let isMax = true;
      for (let dy = -1; dy <= 1 && isMax; dy++) for (let dx = -1; dx <= 1; dx++) if ((dx || dy) && img[(y + dy) * N + x + dx] >= v) isMax = false;
      if (isMax) out.push([x, y, v]);
    }
  }
  return out;
}

describe('synthetic radio sources', () => {
  it('are deterministic for a seed and differ between seeds', () => {
    const a = synthRadioImages(new Rng(7), 12);
    const b = synthRadioImages(new Rng(7), 12);
    const c = synthRadioImages(new Rng(8), 12);
    expect(Buffer.from(a.images.buffer).equals(Buffer.from(b.images.buffer))).toBe(true);
    expect(a.morphologies).toEqual(b.morphologies);
    expect(Buffer.from(a.images.buffer).equals(Buffer.from(c.images.buffer))).toBe(false);
  });

  it('are finite and non-negative, zero far from the sources, and normalised by the brightness rule', () => {
    const r = new Rng(11);
    const { images, morphologies } = synthRadioImages(r, 200);
    let zeros = 0;
    for (let k = 0; k < morphologies.length; k++) {
      const img = images.subarray(k * N * N, (k + 1) * N * N);
      let bad = 0;
      for (const v of img) {
        if (!(Number.isFinite(v) && v >= 0)) bad++;
        if (v === 0) zeros++;
      }
      expect(bad).toBe(0);
      if (morphologies[k] === 'empty') {
        expect(img.every((v) => v === 0)).toBe(true);
        continue;
      }
      // the rule: 99.5th percentile = target in [lo, hi], or the peak = maxPeakRatio × target for compact sources
      const p = percentile995(img);
      const peak = peakOf(img).v;
      const target = Math.max(p, peak / DEFAULT_BRIGHTNESS.maxPeakRatio);
      expect(target).toBeGreaterThanOrEqual(DEFAULT_BRIGHTNESS.lo * (1 - 1e-5));
      expect(target).toBeLessThanOrEqual(DEFAULT_BRIGHTNESS.hi * (1 + 1e-5));
      expect(peak).toBeLessThanOrEqual(DEFAULT_BRIGHTNESS.maxPeakRatio * DEFAULT_BRIGHTNESS.hi * (1 + 1e-5));
    }
    // interferometric images have no sky pedestal: most pixels of most images are exactly zero or tiny
    expect(zeros).toBeGreaterThan(0);
    // the median over the images of the 99.5th percentile (the prior's peakPrior) lies inside [lo, hi]
    const refs = morphologies.map((_, k) => percentile995(images.subarray(k * N * N, (k + 1) * N * N))).sort((a, b) => a - b);
    const med = refs[Math.floor(refs.length / 2)];
    expect(med).toBeGreaterThan(DEFAULT_BRIGHTNESS.lo / 2);
    expect(med).toBeLessThan(DEFAULT_BRIGHTNESS.hi);
  });

  it('draws every morphology at about its stated rate', () => {
    const { morphologies } = synthRadioImages(new Rng(3), 2000);
    for (const m of RADIO_MORPHOLOGIES) {
      const p = MORPHOLOGY_WEIGHTS[m];
      const count = morphologies.filter((x) => x === m).length;
      // binomial: within 5 standard deviations
      expect(Math.abs(count - 2000 * p)).toBeLessThan(5 * Math.sqrt(2000 * p * (1 - p)));
    }
    expect(RADIO_MORPHOLOGIES.reduce((s, m) => s + MORPHOLOGY_WEIGHTS[m], 0)).toBeCloseTo(1, 12);
  });

  it('gives each morphology its structure: compact cores, extended jets, FR II lobes with separated hotspots', () => {
    const stats = (m: RadioMorphology, n = 40) => {
      const r = new Rng(100 + RADIO_MORPHOLOGIES.indexOf(m));
      const area: number[] = [];
      const ext: number[] = [];
      const maxima: number[] = [];
      for (let k = 0; k < n; k++) {
        const img = synthRadioImage(r, N, m);
        area.push(areaAbove(img, 0.05));
        ext.push(extent(img, 0.01));
        maxima.push(localMaxima(img, 0.05).length);
      }
      const med = (v: number[]) => v.slice().sort((a, b) => a - b)[Math.floor(v.length / 2)];
      return { area: med(area), ext: med(ext), maxima: med(maxima) };
    };
    const core = stats('core');
    const jet = stats('jet');
    const fr1 = stats('fr1');
    const fr2 = stats('fr2');
    const group = stats('group');
    // cores: a few pixels above 5 % of the peak, within a few pixels
    expect(core.area).toBeLessThan(40);
    expect(core.ext).toBeLessThan(8);
    // jets reach well beyond the core
    expect(jet.ext).toBeGreaterThan(2 * core.ext);
    // FR I plumes are extended and wide: many pixels above 5 % of the peak
    expect(fr1.area).toBeGreaterThan(5 * core.area);
    expect(fr1.ext).toBeGreaterThan(10);
    // FR II: the two hotspots are separate maxima far apart (the source spans > 20 px)
    expect(fr2.maxima).toBeGreaterThanOrEqual(2);
    expect(fr2.ext).toBeGreaterThan(10);
    // groups: several separate sources
    expect(group.maxima).toBeGreaterThanOrEqual(2);
  });

  it('puts FR II brightness at the lobe ends (edge-brightened) and FR I brightness near the core (edge-darkened)', () => {
    // the share of the flux beyond half the source's extent from the brightest pixel: FR II high, FR I low
    const outerShare = (m: RadioMorphology, seed: number) => {
      const r = new Rng(seed);
      const shares: number[] = [];
      for (let k = 0; k < 40; k++) {
        const img = synthRadioImage(r, N, m);
        // the centre: the flux-weighted centroid (the core sits between the lobes)
        let sx = 0;
        let sy = 0;
        let s = 0;
        for (let i = 0; i < img.length; i++) {
          sx += img[i] * (i % N);
          sy += img[i] * Math.floor(i / N);
          s += img[i];
        }
        const cx = sx / s;
        const cy = sy / s;
        const ext = extent(img, 0.01);
        let outer = 0;
        for (let i = 0; i < img.length; i++) if (Math.hypot((i % N) - cx, Math.floor(i / N) - cy) > ext / 2) outer += img[i];
        shares.push(outer / s);
      }
      return shares.sort((a, b) => a - b)[20];
    };
    expect(outerShare('fr2', 5)).toBeGreaterThan(outerShare('fr1', 5) + 0.1);
  });

  it('addGaussian draws the stated elliptical Gaussian', () => {
    const img = new Float32Array(N * N);
    addGaussian(img, N, 30, 20, 2, 3, 1.5, Math.PI / 2);
    // rotated by 90°: the major axis (σ 3) along y
    expect(img[20 * N + 30]).toBeCloseTo(2, 6);
    expect(img[23 * N + 30]).toBeCloseTo(2 * Math.exp(-0.5), 5);
    expect(img[20 * N + 33]).toBeCloseTo(2 * Math.exp(-0.5 * 4), 5);
  });

  it('normaliseBrightness sets the 99.5th percentile, caps compact peaks, and leaves zero images zero', () => {
    const ext = new Float32Array(N * N).map((_, i) => 1 + (i % 7));
    normaliseBrightness(ext, { uniform: () => 0.5, normal: () => 0 });
    const target = Math.sqrt(DEFAULT_BRIGHTNESS.lo * DEFAULT_BRIGHTNESS.hi);
    expect(percentile995(ext)).toBeCloseTo(target, 5);
    const point = new Float32Array(N * N);
    point[100] = 5;
    normaliseBrightness(point, { uniform: () => 0.5, normal: () => 0 });
    expect(point[100]).toBeCloseTo(DEFAULT_BRIGHTNESS.maxPeakRatio * target, 4);
    const zero = new Float32Array(N * N);
    expect(normaliseBrightness(zero, new Rng(1))).toBe(0);
    expect(zero.every((v) => v === 0)).toBe(true);
  });

  it('compactPeak: compact sources get peaks log-uniform in [lo, hi] from the same deviate; extended images are unchanged', () => {
    const cp = FAINT_COMPACT_BRIGHTNESS.compactPeak!;
    const at = (u: number) => ({ uniform: () => u, normal: () => 0 });
    for (const u of [0, 0.25, 0.5, 0.999]) {
      const point = new Float32Array(N * N);
      point[100] = 5;
      point[101] = 1;
      normaliseBrightness(point, at(u), FAINT_COMPACT_BRIGHTNESS);
      expect(point[100]).toBeCloseTo(Math.exp(Math.log(cp.lo) + (Math.log(cp.hi) - Math.log(cp.lo)) * u), 4);
      expect(point[101] / point[100]).toBeCloseTo(0.2, 6); // a scaling, not a reshaping
      // an extended image (peak ≤ 15 × its 99.5th percentile): the default rule's result, bit for bit
      const a = new Float32Array(N * N).map((_, i) => 1 + (i % 7));
      const b = Float32Array.from(a);
      normaliseBrightness(a, at(u), FAINT_COMPACT_BRIGHTNESS);
      normaliseBrightness(b, at(u), DEFAULT_BRIGHTNESS);
      expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
    }
    // over a drawn set: the same morphologies and generator stream, extended images identical, compact ones rescaled
    // only, and their peaks spread over [lo, hi] — down to the faint end the default rule never reaches (< 4.5)
    const d = synthRadioImages(new Rng(5), 300, N, DEFAULT_BRIGHTNESS);
    const f = synthRadioImages(new Rng(5), 300, N, FAINT_COMPACT_BRIGHTNESS);
    expect(f.morphologies).toEqual(d.morphologies);
    const compactPeaks: number[] = [];
    let same = 0;
    for (let k = 0; k < 300; k++) {
      const di = d.images.subarray(k * N * N, (k + 1) * N * N);
      const fi = f.images.subarray(k * N * N, (k + 1) * N * N);
      const pd = peakOf(di).v;
      if (!(pd > 0)) continue;
      if (Buffer.from(di.slice().buffer).equals(Buffer.from(fi.slice().buffer))) {
        same++;
        continue;
      }
      // changed only where the default capped the peak at maxPeakRatio × the target
      expect(pd / percentile995(di)).toBeGreaterThan(DEFAULT_BRIGHTNESS.maxPeakRatio * (1 - 1e-4));
      const pf = peakOf(fi).v;
      expect(pf).toBeGreaterThanOrEqual(cp.lo * (1 - 1e-5));
      expect(pf).toBeLessThanOrEqual(cp.hi * (1 + 1e-5));
      for (let i = 0; i < N * N; i += 37) expect(fi[i] * pd).toBeCloseTo(di[i] * pf, 3);
      compactPeaks.push(pf);
    }
    expect(same).toBeGreaterThan(100);
    expect(compactPeaks.length).toBeGreaterThan(30);
    const faint = compactPeaks.filter((p) => p < 3).length / compactPeaks.length;
    expect(faint).toBeGreaterThan(0.2); // log-uniform on [1, 18]: 38 % below 3; the default rule: none below 4.5
    expect(Math.min(...compactPeaks)).toBeLessThan(2);
  });

  it('cropRescale: a crop of a real image, rescaled, placed under a dihedral map, zero-floored and normalised', () => {
    // a ramp image: a crop keeps the ramp's monotonic structure along some axis
    const ny = 100;
    const nx = 120;
    const src = new Float64Array(ny * nx).map((_, i) => Math.floor(i / nx) + 2 * (i % nx));
    const a = cropRescale(src, ny, nx, new Rng(4), N);
    const b = cropRescale(src, ny, nx, new Rng(4), N);
    expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
    expect(a.every((v) => v >= 0 && Number.isFinite(v))).toBe(true);
    // 20 % of the pixels at or below the subtracted floor
    expect(a.filter((v) => v === 0).length).toBeGreaterThanOrEqual(Math.floor(0.2 * N * N) - 1);
    const p = percentile995(a);
    expect(p).toBeGreaterThanOrEqual(DEFAULT_BRIGHTNESS.lo * (1 - 1e-5));
    expect(p).toBeLessThanOrEqual(DEFAULT_BRIGHTNESS.hi * (1 + 1e-5));
    // a linear ramp stays linear: second differences vanish away from the zero floor along rows and columns
    let maxSecond = 0;
    for (let y = 0; y < N; y++) {
      for (let x = 1; x < N - 1; x++) {
        const [l, c, r] = [a[y * N + x - 1], a[y * N + x], a[y * N + x + 1]];
        if (l > 0 && c > 0 && r > 0) maxSecond = Math.max(maxSecond, Math.abs(l - 2 * c + r));
      }
    }
    expect(maxSecond).toBeLessThan(1e-3 * p);
    // non-finite pixels count as zero
    const withNaN = Float64Array.from(src);
    withNaN.fill(NaN, 0, nx * 10);
    expect(cropRescale(withNaN, ny, nx, new Rng(5), N).every(Number.isFinite)).toBe(true);
  });
});
