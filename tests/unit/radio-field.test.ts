/**
 * The posterior's default grid from the source's CLEAN extent (src-shared/radio/field.ts) and the brightest-pixel
 * bound of the image-plane flux scale (src-shared/radio/flux-scale.ts, imagePlaneFlux), on synthetic visibilities of
 * point sources at known positions.
 */
import { describe, expect, it } from 'vitest';
import {
  AMPLITUDE_EXTENT,
  amplitudeSize,
  DETECTION_SIGMA,
  detectedIslands,
  extentRadiusPixels,
  ISLAND_SIGMA,
  posteriorGeometry,
  robustNoise,
  shortDetected,
  sourceExtent,
  surveyClean,
  surveyUnresolved,
  totalFluxWarning,
  type WeightedData,
} from '../../src-shared/radio/field.js';
import { uvRange } from '../../src-shared/radio/imaging.js';
import { boundByBrightest, brightest, PEAK_RATIO } from '../../src-shared/radio/flux-scale.js';
import { chooseMeasurement } from '../../src-shared/radio/measurement.js';
import { cropBeam, dirtyBeam, doubleGrid } from '../../src-shared/radio/imaging.js';
import { fitBeam } from '../../src-shared/radio/clean.js';
import type { ImageGrid } from '../../src-shared/radio/grid.js';
import { imagePlaneFlux } from '../../src-main/reconstruct/visibilities.js';
import type { Visibilities } from '../../src-shared/radio/uvfits.js';

/** Seeded uniforms. */
function uniforms(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s + 0.5) / 4294967296;
  };
}

const UMAX = 3000;
const UMIN = 100;
/** The survey's cell, 1/(3 u_max) (radians), and the posterior grid's default, 1/(2.5 u_max). */
const FINE = 1 / (3 * UMAX);
const CELL = 1 / (2.5 * UMAX);

/**
 * n visibilities (default 400) spread over UMIN…UMAX (one at each end exactly) of point sources (l, m, S Jy), weight
 * 1/σ² (default σ = 0.01 per part) and noise of that σ.
 */
function pointSources(sources: [number, number, number][], seed = 7, n = 400, sigma = 0.01): WeightedData {
  const r = uniforms(seed);
  const u = new Float64Array(n);
  const v = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    const rad = k === 0 ? UMAX : k === 1 ? UMIN : UMIN + (UMAX - UMIN) * Math.sqrt(r());
    const a = 2 * Math.PI * r();
    u[k] = rad * Math.cos(a);
    v[k] = rad * Math.sin(a);
  }
  const re = new Float64Array(n);
  const im = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    for (const [l, m, s] of sources) {
      const ph = -2 * Math.PI * (u[k] * l + v[k] * m);
      re[k] += s * Math.cos(ph);
      im[k] += s * Math.sin(ph);
    }
    // Box–Muller noise of σ
    const g = Math.sqrt(-2 * Math.log(r())) * sigma;
    const t = 2 * Math.PI * r();
    re[k] += g * Math.cos(t);
    im[k] += g * Math.sin(t);
  }
  return { u, v, re, im, weight: new Float64Array(n).fill(1 / (sigma * sigma)) };
}

/** The extent the survey's CLEAN model gives with every component counted (the rule before the islands), in survey cells. */
function everyComponent(data: WeightedData): number {
  const { grid, clean: r } = surveyClean(data, { freqMin: 1e9 });
  return extentRadiusPixels(r.model, grid.nx, grid.ny);
}

describe('the source extent', () => {
  it('is the half-width of the smallest centred square holding the fraction of |flux|', () => {
    // 9×9, centre (4, 4): 1 at the centre, 0.5 at Chebyshev distance 2, 0.01 at distance 4
    const m = new Float64Array(81);
    m[4 * 9 + 4] = 1;
    m[2 * 9 + 5] = -0.5; // |flux| counts
    m[8 * 9 + 0] = 0.01;
    expect(extentRadiusPixels(m, 9, 9, 0.5)).toBe(0);
    expect(extentRadiusPixels(m, 9, 9, 0.98)).toBe(2); // (1 + 0.5) / 1.51 = 0.993
    expect(extentRadiusPixels(m, 9, 9, 0.999)).toBe(4);
    expect(extentRadiusPixels(new Float64Array(81), 9, 9)).toBe(0);
  });

  it('finds a knot 40 cells from the core, and only the core without it', () => {
    const withKnot = sourceExtent(pointSources([[0, 0, 1], [0, 40 * FINE, 0.3]]), { freqMin: 1e9 });
    expect(uvRange(pointSources([[0, 0, 1]]).u, pointSources([[0, 0, 1]]).v).umax).toBeCloseTo(UMAX, 9);
    // the survey: the field 2/u_min at 1/(3 u_max): 180 pixels
    expect(withKnot.grid.nx).toBe(180);
    expect(withKnot.grid.cell).toBeCloseTo(FINE, 15);
    expect(withKnot.radius / FINE).toBeCloseTo(40, 6);
    expect(withKnot.flux).toBeGreaterThan(1.2);
    expect(withKnot.rule).toBe('clean-islands');
    expect(withKnot.unresolved).toBeNull();
    const core = sourceExtent(pointSources([[0, 0, 1]]), { freqMin: 1e9 });
    expect(core.radius / FINE).toBeLessThanOrEqual(1);
  });
});

describe('the detected islands', () => {
  it('measures the noise robustly: 1.4826 × the median absolute deviation, unmoved by a few bright pixels', () => {
    const r = uniforms(3);
    const img = new Float64Array(20000);
    for (let i = 0; i < img.length; i++) img[i] = 0.5 + 2 * Math.sqrt(-2 * Math.log(r())) * Math.cos(2 * Math.PI * r());
    expect(robustNoise(img)).toBeCloseTo(2, 1);
    // 2 % of the pixels at 1000σ (the source) move it by about 2.5 %
    for (let i = 0; i < 400; i++) img[i * 50] = 2000;
    expect(robustNoise(img) / 2).toBeGreaterThan(0.98);
    expect(robustNoise(img) / 2).toBeLessThan(1.06);
    expect(robustNoise(new Float64Array(0))).toBe(0);
  });

  it('keeps the regions of one sign above the island level whose peak reaches the detection level', () => {
    // 12 × 12, levels 3 and 5: a blob peaking at 6 (kept), one peaking at 4 (dropped), a negative one at −6 (kept,
    // its own island even where it touches the first), a lone 4.9 (dropped)
    const nx = 12;
    const img = new Float64Array(144);
    const at = (x: number, y: number, v: number) => (img[y * nx + x] = v);
    const set: [number, number, number][] = [
      [2, 2, 6], [3, 2, 3.5], [3, 3, 3.1], // island A, its pixels 8-connected
      [9, 9, 4], [10, 10, 3.2], // island B
      [4, 3, -6], [5, 3, -3.3], // island C, next to A but of the other sign
      [8, 1, 4.9], // island D
      [0, 11, 2.9], // below the island level
    ];
    for (const [x, y, v] of set) at(x, y, v);
    const { label, count } = detectedIslands(img, nx, 12, 3, 5);
    expect(count).toBe(2);
    const a = label[2 * nx + 2];
    const c = label[3 * nx + 4];
    expect(a).toBeGreaterThanOrEqual(0);
    expect(c).toBeGreaterThanOrEqual(0);
    expect(c).not.toBe(a);
    expect([label[2 * nx + 3], label[3 * nx + 3]]).toEqual([a, a]);
    expect(label[3 * nx + 5]).toBe(c);
    for (const p of [9 * nx + 9, 10 * nx + 10, 1 * nx + 8, 11 * nx + 0, 0]) expect(label[p]).toBe(-1);
    expect([ISLAND_SIGMA, DETECTION_SIGMA]).toEqual([3, 5]);
  });

  /** A sparse array: 150 visibilities of σ 0.03 Jy (the image noise 2.4 mJy/beam, the beam's largest sidelobe 0.25–0.3). */
  const sparse = (sources: [number, number, number][], seed: number) => pointSources(sources, seed, 150, 0.03);

  it('on sparse, noisy coverage: the core and a knot 20 cells out, where every component counted sets it beyond 30 cells', () => {
    for (const seed of [1, 2, 3]) {
      const data = sparse([[0, 0, 1], [0, 20 * FINE, 0.3]], seed);
      const e = sourceExtent(data, { freqMin: 1e9 });
      expect(e.radius / FINE).toBeCloseTo(20, 6);
      expect(e.rule).toBe('clean-islands');
      expect(e.islands).toBeGreaterThanOrEqual(2);
      expect(e.dropped).toBeGreaterThan(10);
      // the residual's noise is the image noise of the weights, within 15 %
      let sw = 0;
      for (const w of data.weight) sw += w;
      expect(e.noise * Math.sqrt(sw)).toBeGreaterThan(0.85);
      expect(e.noise * Math.sqrt(sw)).toBeLessThan(1.15);
      // every component counted: the CLEAN's picks on noise peaks far out set the extent
      expect(everyComponent(data)).toBeGreaterThan(30);
      // the posterior's grid: the knot and its margin at the fine cell, not a coarse cell over the whole survey
      const g = posteriorGeometry(data, { freqMin: 1e9, extent: e });
      expect(g.size).toBe(72); // 40 survey cells each side = 33.3 grid cells → 67 → 72
      expect(g.cell).toBeCloseTo(CELL, 15);
      expect(g.notes.join(' ')).toMatch(/components outside them .* left out/);
    }
  });

  it('keeps faint emission that is detected: a 0.03 Jy knot (12σ) 60 cells out on the same coverage', () => {
    for (const seed of [1, 2, 3]) {
      const e = sourceExtent(sparse([[0, 0, 1], [0, 20 * FINE, 0.3], [-60 * FINE, 0, 0.03]], seed), { freqMin: 1e9 });
      expect(e.radius / FINE).toBeCloseTo(60, 6);
      expect(e.islands).toBeGreaterThanOrEqual(3);
    }
  });

  it('takes the smallest grid where nothing is detected', () => {
    const e = sourceExtent(sparse([[0, 20 * FINE, 0.005]], 4), { freqMin: 1e9 });
    expect(e.islands).toBe(0);
    expect(e.radius).toBe(0);
    const g = posteriorGeometry(sparse([[0, 20 * FINE, 0.005]], 4), { freqMin: 1e9, extent: e });
    expect(g.size).toBe(64);
    expect(g.notes.join(' ')).toMatch(/no emission detected/);
  });
});

describe('the posterior grid from the extent', () => {
  const knot = pointSources([[0, 0, 1], [0, 40 * FINE, 0.3]]);
  // the survey once: every rule below reads the same extent
  const opts = { freqMin: 1e9, extent: sourceExtent(knot, { freqMin: 1e9 }) };

  it('holds the knot at 1/(2.5 u_max), a multiple of 8 pixels with its margin; a lone core takes the smallest grid', () => {
    const g = posteriorGeometry(knot, opts);
    expect(g.cell).toBeCloseTo(CELL, 15);
    // half-width 40 + max(40, 4/u_max = 12) = 80 survey cells = 66.7 grid cells → 134 → 136 pixels
    expect(g.size).toBe(136);
    expect(g.size % 8).toBe(0);
    expect((g.size / 2) * g.cell).toBeGreaterThan(40 * FINE);
    expect(g.notes.join(' ')).toMatch(/field from the source's extent/);
    const lone = posteriorGeometry(pointSources([[0, 0, 1]]), { freqMin: 1e9 });
    expect(lone.size).toBe(64);
    expect(lone.cell).toBeCloseTo(CELL, 15);
  });

  it('keeps a given size (the cell grows to hold the knot), a given cell (the size follows), and both', () => {
    const s = posteriorGeometry(knot, { ...opts, size: 64 });
    expect(s.size).toBe(64);
    expect(s.cell).toBeCloseTo((2 * 80 * FINE) / 64, 15);
    const c = posteriorGeometry(knot, { ...opts, cell: 2 * FINE });
    expect(c.cell).toBe(2 * FINE);
    expect(c.size).toBe(80); // 80 survey cells = 40 of 2·FINE each side
    const c2 = posteriorGeometry(knot, { ...opts, cell: FINE / 2 });
    expect(c2.size).toBe(256); // 160 cells of FINE/2 each side: 320, held at 256
    expect(c2.notes.join(' ')).toMatch(/needs 320 pixels at this cell: held at 256/);
    const both = posteriorGeometry(knot, { ...opts, cell: FINE, size: 32 });
    expect(both).toEqual({ cell: FINE, size: 32, notes: [], extent: null });
  });

  it('holds the field within maxSize by coarsening the cell', () => {
    const far = pointSources([[0, 0, 1], [70 * FINE, 0, 0.5]]);
    const extent = sourceExtent(far, { freqMin: 1e9 });
    const g = posteriorGeometry(far, { freqMin: 1e9, extent, maxSize: 128 });
    // half-width 70 + max(70, 12) = 140 survey cells → 233 grid cells > 128: 128 pixels of 280/128 survey cells
    expect(g.size).toBe(128);
    expect(g.cell / FINE).toBeCloseTo(280 / 128, 6);
    const c = posteriorGeometry(far, { freqMin: 1e9, extent, maxSize: 128, cell: FINE });
    expect(c.size).toBe(128);
    expect(c.notes.join(' ')).toMatch(/needs 280 pixels at this cell: held at 128/);
  });
});

/** Micro-arcseconds in radians. */
const UAS = Math.PI / 180 / 3600 / 1e6;

/** J0(x) = (1/π) ∫₀^π cos(x sin t) dt, by the midpoint rule (exponentially accurate on this periodic integrand). */
function besselJ0(x: number): number {
  let s = 0;
  for (let i = 0; i < 200; i++) s += Math.cos(x * Math.sin(((i + 0.5) / 200) * Math.PI));
  return s / 200;
}

/** The EHT file's seven sites (latitude, longitude °); CLOSE_SITES puts one 5 km from another (4·10⁶ λ) in place of the last. */
const SITES: [number, number][] = [[19.8, -155.5], [37.1, -3.4], [-23.0, -67.8], [18.9, -97.3], [32.7, -109.9], [-90, 0], [44.6, 5.9]];
const CLOSE_SITES: [number, number][] = [...SITES.slice(0, 6), [19.8, -155.45]];

/**
 * A sparse VLBI array at 230 GHz: 7 stations at the EHT 2017 sites (latitude, longitude) on a sphere of 4.9·10⁹ λ,
 * every baseline at `scans` hour angles over ±3 h (no horizon), the source at declination −29°; a circularly
 * symmetric source of amplitude `amp(ρ)` (real: centred), noise σ = 0.01 Jy per part, weights 1/σ².
 */
function vlbi(amp: (rho: number) => number, seed: number, scans = 12, sites = SITES): WeightedData {
  const R = 4.9e9;
  const xyz = sites.map(([la, lo]) => {
    const [a, b] = [(la * Math.PI) / 180, (lo * Math.PI) / 180];
    return [R * Math.cos(a) * Math.cos(b), R * Math.cos(a) * Math.sin(b), R * Math.sin(a)];
  });
  const dec = (-29 * Math.PI) / 180;
  const u: number[] = [];
  const v: number[] = [];
  for (let s = 0; s < scans; s++) {
    const h = ((-3 + (6 * s) / (scans - 1)) * Math.PI) / 12;
    for (let i = 0; i < xyz.length; i++) {
      for (let j = i + 1; j < xyz.length; j++) {
        const [bx, by, bz] = [0, 1, 2].map((c) => xyz[j][c] - xyz[i][c]);
        u.push(bx * Math.sin(h) + by * Math.cos(h));
        v.push(-bx * Math.sin(dec) * Math.cos(h) + by * Math.sin(dec) * Math.sin(h) + bz * Math.cos(dec));
      }
    }
  }
  const r = uniforms(seed);
  const sigma = 0.01;
  const n = u.length;
  const re = new Float64Array(n);
  const im = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    const g = Math.sqrt(-2 * Math.log(r())) * sigma;
    const t = 2 * Math.PI * r();
    re[k] = amp(Math.hypot(u[k], v[k])) + g * Math.cos(t);
    im[k] = g * Math.sin(t);
  }
  return { u: Float64Array.from(u), v: Float64Array.from(v), re, im, weight: new Float64Array(n).fill(1 / (sigma * sigma)) };
}

/** A thin ring of diameter d (radians) and 2 Jy; a circular Gaussian of FWHM θ and 2 Jy. */
const ring = (d: number) => (rho: number) => 2 * besselJ0(Math.PI * d * rho);
const gaussian = (theta: number) => (rho: number) => 2 * Math.exp(-((Math.PI * theta * rho) ** 2) / (4 * Math.LN2));

describe('the extent where the survey does not resolve the source', () => {
  it("measures a Gaussian's FWHM and a ring's equivalent one (0.912 d) from the amplitudes' fall-off, within 3 %", () => {
    for (const seed of [1, 2]) {
      const g = amplitudeSize(vlbi(gaussian(40 * UAS), seed));
      expect(g.resolved).toBe(true);
      expect(g.shortFlux).toBeGreaterThan(1.9);
      expect(g.fwhm / (40 * UAS)).toBeGreaterThan(0.97);
      expect(g.fwhm / (40 * UAS)).toBeLessThan(1.03);
      // a thin ring halves where J0 = 1/2, at πdρ = 1.5211: the Gaussian halving there has FWHM 2 ln 2 d / 1.5211
      const r = amplitudeSize(vlbi(ring(50 * UAS), seed));
      expect(r.fwhm / ((50 * UAS * 2 * Math.LN2) / 1.5211)).toBeGreaterThan(0.97);
      expect(r.fwhm / ((50 * UAS * 2 * Math.LN2) / 1.5211)).toBeLessThan(1.03);
    }
    // a point source never halves: the size is the bound of the longest baseline
    const p = vlbi(() => 2, 1);
    const pt = amplitudeSize(p);
    expect(pt.resolved).toBe(false);
    expect(pt.fwhm).toBeCloseTo((2 * Math.LN2) / (Math.PI * uvRange(p.u, p.v).umax), 20);
  });

  it('takes the extent from the amplitudes for a 50 µas ring whose CLEAN survey fails, and holds the ring', () => {
    for (const seed of [1, 2, 3]) {
      const data = vlbi(ring(50 * UAS), seed);
      const e = sourceExtent(data, { freqMin: 230e9 });
      // the survey: 2000 iterations above its threshold, negative islands holding over 10 % of the detected |flux|
      expect(e.converged).toBe(false);
      expect(e.iterations).toBe(2000);
      expect(e.negativeShare).toBeGreaterThan(0.1);
      expect(e.rule).toBe('amplitude-falloff');
      expect(e.unresolved).toMatch(/negative islands hold \d+ % of the detected components' \|flux\|/);
      // R = 1.5 × the equivalent FWHM 45.6 µas = 68 µas, within 5 %, against the ring's radius of 25 µas
      expect(e.radius / (AMPLITUDE_EXTENT * ((50 * UAS * 2 * Math.LN2) / 1.5211))).toBeGreaterThan(0.95);
      expect(e.radius / (AMPLITUDE_EXTENT * ((50 * UAS * 2 * Math.LN2) / 1.5211))).toBeLessThan(1.05);
      const g = posteriorGeometry(data, { freqMin: 230e9, extent: e });
      expect(g.cell).toBeCloseTo(1 / (2.5 * uvRange(data.u, data.v).umax), 20);
      expect(g.size).toBe(64);
      expect((g.size / 2) * g.cell).toBeGreaterThan(4 * 25 * UAS);
      expect(g.notes.join(' ')).toMatch(/the survey does not resolve the source .* amplitudes fall from the shortest baselines' 1\.9\d Jy to half at/);
    }
  });

  it('keeps the islands where the survey resolves the source: a 40 µas Gaussian on the same array', () => {
    for (const seed of [1, 2, 3]) {
      const e = sourceExtent(vlbi(gaussian(40 * UAS), seed), { freqMin: 230e9 });
      expect(e.converged).toBe(true);
      expect(e.rule).toBe('clean-islands');
      expect(e.unresolved).toBeNull();
      expect(e.negativeShare).toBeLessThan(0.1);
      // 99 % of the detected flux within 120 µas
      expect(e.radius).toBeLessThan(120 * UAS);
      expect(e.radius).toBeGreaterThan(20 * UAS);
    }
  });

  it("leaves small islands out of a converged survey's extent: a ring on 6 hour angles, a Gaussian with an intra-site baseline", () => {
    for (const seed of [1, 2, 3]) {
      // 30–35 islands beside the ring's, each under 0.5 % of the detected |flux|, out to 1.4 mas
      const r = sourceExtent(vlbi(ring(50 * UAS), seed, 6), { freqMin: 230e9 });
      expect(r.converged).toBe(true);
      expect(r.rule).toBe('clean-islands');
      expect(r.smallIslands).toBeGreaterThanOrEqual(25);
      expect(r.radius).toBeGreaterThan(20 * UAS);
      expect(r.radius).toBeLessThan(40 * UAS);
      // 16–21 beside the Gaussian's, out to 1.8 mas
      const data = vlbi(gaussian(40 * UAS), seed, 12, CLOSE_SITES);
      expect(uvRange(data.u, data.v).umin).toBeLessThan(5e6);
      const g = sourceExtent(data, { freqMin: 230e9 });
      expect(g.rule).toBe('clean-islands');
      expect(g.smallIslands).toBeGreaterThanOrEqual(10);
      expect(g.radius).toBeGreaterThan(20 * UAS);
      expect(g.radius).toBeLessThan(80 * UAS);
      const geo = posteriorGeometry(data, { freqMin: 230e9, extent: g });
      expect(geo.size).toBe(64);
      expect(geo.cell).toBeCloseTo(1 / (2.5 * uvRange(data.u, data.v).umax), 20);
      expect(geo.notes.join(' ')).toMatch(/islands of less than 0\.5 % of the detected \|flux\| each \(.* Jy in all\) left out of the extent/);
    }
  });

  it("calls a survey unresolved on negative islands' share, or on a model flux off the short baselines' detected one", () => {
    const amplitude = { shortFlux: 2, shortNoise: 0.1, shortCount: 25, halfUv: 1e9, fwhm: 1e-10, resolved: true, bins: 20 };
    const ok = { converged: true, iterations: 500, flux: 2, negativeIslands: 0, negativeShare: 0, amplitude };
    expect(surveyUnresolved(ok)).toBeNull();
    expect(surveyUnresolved({ ...ok, negativeIslands: 3, negativeShare: 0.099 })).toBeNull();
    expect(surveyUnresolved({ ...ok, negativeIslands: 3, negativeShare: 0.1 })).toMatch(/^3 negative islands hold 10 %/);
    // less than half the shortest baselines' 2 Jy: unresolved, converged or not
    expect(surveyUnresolved({ ...ok, flux: 1.01 })).toBeNull();
    expect(surveyUnresolved({ ...ok, flux: 0.99 })).toMatch(/^its model's 0\.990 Jy is less than 0\.5 × the shortest baselines' 2\.00 Jy$/);
    const capped = { ...ok, converged: false, iterations: 2000 };
    expect(surveyUnresolved({ ...capped, flux: -0.02 })).toMatch(/-0\.0200 Jy \(its CLEAN stopped at 2000 iterations above its threshold\) is less than/);
    // more than 1½ × it: unresolved only where the CLEAN was capped (a converged model holds what they resolve out)
    expect(surveyUnresolved({ ...ok, flux: 5 })).toBeNull();
    expect(surveyUnresolved({ ...capped, flux: 2.9 })).toBeNull();
    expect(surveyUnresolved({ ...capped, flux: 3.1 })).toMatch(/is more than 1\.5 ×/);
    // the shortest baselines' amplitude not detected — below σ (√(2 ln 2) + 5/√25) = 2.177 σ — no flux criterion
    expect(surveyUnresolved({ ...ok, flux: 0, amplitude: { ...amplitude, shortNoise: 2 / 2.17 } })).toBeNull();
    expect(surveyUnresolved({ ...ok, flux: 0, amplitude: { ...amplitude, shortNoise: 2 / 2.18 } })).toMatch(/less than 0\.5/);
    expect(shortDetected({ ...amplitude, shortNoise: 2 / 2.18 })).toBe(true);
    expect(shortDetected({ ...amplitude, shortNoise: 2 / 2.17 })).toBe(false);
    expect(shortDetected({ ...amplitude, shortCount: 0 })).toBe(false);
  });
});

describe('the brightest-pixel bound of the image-plane flux scale', () => {
  it('raises the percentile scale to brightest / (PEAK_RATIO · peak) and no further', () => {
    expect(PEAK_RATIO).toBe(15);
    expect(boundByBrightest(0.01, 3, 0.5)).toEqual({ value: 3 / 7.5, raised: true, brightestPrior: 7.5 });
    expect(boundByBrightest(1, 3, 0.5)).toEqual({ value: 1, raised: false, brightestPrior: 3 });
    expect(boundByBrightest(0.2, 0, 0.5)).toEqual({ value: 0.2, raised: false, brightestPrior: 0 });
    expect(() => boundByBrightest(0, 1, 0.5)).toThrow(RangeError);
    expect(brightest(Float64Array.from([-3, 0.5, 2, 1]))).toBe(2);
  });

  /** imagePlaneFlux of a prior whose typical 99.5th percentile is 0.5 on an n×n grid of the finest cell. */
  function flux(data: WeightedData, n: number) {
    const grid: ImageGrid = { nx: n, ny: n, cell: FINE };
    const A = chooseMeasurement(data.u, data.v, grid);
    const big = dirtyBeam(data.u, data.v, data.weight, doubleGrid(grid));
    const beam = fitBeam(cropBeam(big, grid), grid);
    const prior = { kind: 'unet', peak: 0.5, background: null } as unknown as Parameters<typeof imagePlaneFlux>[0];
    return imagePlaneFlux(prior, { ...data, n: data.u.length } as unknown as Visibilities, A, big, beam, grid, null);
  }

  it('puts a lone point source at 15 × the prior peak on any field, where the percentile alone follows the field', () => {
    const point = pointSources([[0, 0, 2]]);
    const f64 = flux(point, 64);
    const f128 = flux(point, 128);
    // the brightest component holds nearly all of the 2 Jy (Högbom to 3σ of the image noise)
    for (const f of [f64, f128]) {
      expect(f.value * PEAK_RATIO * 0.5).toBeGreaterThan(1.9);
      expect(f.value * PEAK_RATIO * 0.5).toBeLessThan(2.02);
      expect(f.source).toMatch(/raised from .* so that the brightest CLEAN component/);
    }
    expect(f128.value / f64.value).toBeCloseTo(1, 2);
    // the percentile rule alone: its scale falls as the empty field grows
    const before = (f: { source: string }) => Number(/raised from ([\d.e+-]+)/.exec(f.source)![1]);
    expect(before(f64) / before(f128)).toBeGreaterThan(1.5);
  });

  it('leaves an extended source on the percentile rule', () => {
    // 49 points of 0.1 Jy on a 7×7 square of 2-cell spacing: no component near 15 × the percentile
    const pts: [number, number, number][] = [];
    for (let i = -3; i <= 3; i++) for (let j = -3; j <= 3; j++) pts.push([2 * j * FINE, 2 * i * FINE, 0.1]);
    const f = flux(pointSources(pts), 64);
    expect(f.source).not.toMatch(/raised/);
    expect(f.source).toMatch(/99\.5th percentile/);
  });
});

describe('the posterior mean\'s total flux against the survey CLEAN\'s', () => {
  const mas = Math.PI / 180 / 3.6e6;
  it('warns where the mean holds a bowl the shortest baselines do not see (MOJAVE M87: −24 Jy against 2.7), not within a factor 2', () => {
    const w = totalFluxWarning({ meanFlux: -24.07, sampleFlux: [-21.98, -28.14, -27.66, -17.76], cleanFlux: 2.699, innerFlux: -3.47, uMin: 4.39e6, fieldRad: 256 * 0.402 * mas });
    expect(w).toMatch(/^the posterior mean's total flux -24\.1 Jy \(draws -28\.1 … -17\.8 Jy\) is outside 0\.5–2 × the survey CLEAN's 2\.70 Jy; within the source's extent it holds -3\.47 Jy\./);
    expect(w).toMatch(/The shortest baseline \(4\.39 Mλ\) measures no scale beyond about 47 mas and the field spans 103 mas/);
    expect(totalFluxWarning({ meanFlux: 4.35, sampleFlux: [2.5, 5.7], cleanFlux: 5.68, innerFlux: 5.2, uMin: 3e7, fieldRad: 11.7 * mas })).toBeNull();
    expect(totalFluxWarning({ meanFlux: 2.7 / 2.01, sampleFlux: [], cleanFlux: 2.7, innerFlux: 1, uMin: 1e6, fieldRad: 1e-6 })).not.toBeNull();
    expect(totalFluxWarning({ meanFlux: 5.39, sampleFlux: [], cleanFlux: 2.7, innerFlux: 1, uMin: 1e6, fieldRad: 1e-6 })).toBeNull();
    expect(totalFluxWarning({ meanFlux: -1, sampleFlux: [], cleanFlux: null, innerFlux: -1, uMin: 1e6, fieldRad: 1e-6 })).toBeNull();
  });
});
