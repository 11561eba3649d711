/**
 * Closure quantities and the closure image (src-shared/radio/closure.ts) on simulated visibilities of the EHT file's
 * seven sites (tests/helpers/vlbi-sim.ts) with station gains per time stamp: closure phases and log closure
 * amplitudes unchanged by any gains, a non-redundant set of the expected size, the objective's gradient against
 * finite differences, L-BFGS on a known minimum, and a ring observed with random station phases and amplitudes and
 * noise: the closure image recovers it, and as the self-calibration loop's first model gives a ring where the
 * point start gives a centrally peaked source.
 */
import { describe, expect, it } from 'vitest';
import { selectVisibilities, type Visibilities } from '../../src-shared/radio/uvfits.js';
import { blurImage, closureImage, closureObjective, closureSet, closureValues, gaussianImage, lbfgs, ringFit, wrapAngle } from '../../src-shared/radio/closure.js';
import { selfcalLoop } from '../../src-shared/radio/selfcal.js';
import { chooseMeasurement } from '../../src-shared/radio/measurement.js';
import { dirtyBeam, doubleGrid } from '../../src-shared/radio/imaging.js';
import { clean } from '../../src-shared/radio/clean.js';
import type { ImageGrid } from '../../src-shared/radio/grid.js';
import { alignedNcc, randomGains, skyImage, simulateVlbi, uniforms, UAS, type Component } from '../helpers/vlbi-sim.js';

/** A ring of radius 25 µas drawn as 32 Gaussians of FWHM 10 µas, brighter on one side by ±asym (a mild crescent), 2 Jy. */
function ringSky(asym = 0.3): Component[] {
  const n = 32;
  return Array.from({ length: n }, (_, i) => {
    const a = (2 * Math.PI * i) / n;
    return { flux: (2 / n) * (1 + asym * Math.cos(a - 1)), l: 25 * UAS * Math.cos(a), m: 25 * UAS * Math.sin(a), fwhm: 10 * UAS };
  });
}

describe('closure quantities', () => {
  it('are unchanged by random station gains (to 1e-12), a non-redundant set of (N−1)(N−2)/2 phases and N(N−3)/2 amplitudes per time stamp', () => {
    const sky = ringSky();
    const clean0 = selectVisibilities(simulateVlbi({ sky, scans: 6, sigma: 0 }).uv);
    const gained = selectVisibilities(simulateVlbi({ sky, scans: 6, sigma: 0, gain: randomGains(3, 0.3, 3) }).uv);
    const set = closureSet(clean0);
    // seven stations, every baseline, six time stamps
    expect(set.nPhase).toBe(6 * 15);
    expect(set.nLogAmp).toBe(6 * 14);
    expect(set.groups).toBe(6);
    const a = closureValues(set, clean0.re, clean0.im);
    const b = closureValues(set, gained.re, gained.im);
    let dp = 0;
    let da = 0;
    for (let t = 0; t < set.nPhase; t++) dp = Math.max(dp, Math.abs(wrapAngle(a.phase[t] - b.phase[t])));
    for (let t = 0; t < set.nLogAmp; t++) da = Math.max(da, Math.abs(a.logAmp[t] - b.logAmp[t]));
    expect(dp).toBeLessThan(1e-12);
    expect(da).toBeLessThan(1e-12);
    // the gains do change the visibilities' phases and amplitudes (the check is not vacuous)
    let moved = 0;
    for (let k = 0; k < clean0.n; k++) moved = Math.max(moved, Math.abs(Math.log(Math.hypot(gained.re[k], gained.im[k]) / Math.hypot(clean0.re[k], clean0.im[k]))));
    expect(moved).toBeGreaterThan(0.5);
    // and the observed values of a set made from the gained data are the same closures
    const setG = closureSet(gained);
    expect(setG.nPhase).toBe(set.nPhase);
    for (let t = 0; t < set.nPhase; t++) expect(Math.abs(wrapAngle(setG.phaseObs[t] - a.phase[t]))).toBeLessThan(1e-12);
    for (let t = 0; t < set.nLogAmp; t++) expect(Math.abs(setG.ampObs[t] - a.logAmp[t])).toBeLessThan(1e-12);
  });

  it('keeps only independent closures where baselines are missing, and gives σ by propagation', () => {
    const sim = simulateVlbi({ sky: ringSky(), scans: 2, sigma: 0.05, seed: 4 });
    const all = selectVisibilities(sim.uv);
    // drop baseline 1–2 in every time stamp: 6 stations keep every baseline, station 1 and 2 keep 5 each
    const keep = Array.from({ length: all.n }, (_, k) => k).filter((k) => !(all.ant1[k] === 1 && all.ant2[k] === 2));
    const pick = <T extends Float64Array | Int32Array>(x: T) => x.filter((_, k) => keep.includes(k)) as T;
    const vis: Visibilities = { ...all, n: keep.length, u: pick(all.u), v: pick(all.v), re: pick(all.re), im: pick(all.im), weight: pick(all.weight), time: pick(all.time), ant1: pick(all.ant1), ant2: pick(all.ant2), subarray: pick(all.subarray), ifIndex: pick(all.ifIndex), chan: pick(all.chan) };
    const set = closureSet(vis);
    // 20 baselines of 7 stations: 20 − 6 independent phase closures, 20 − 7 amplitude closures
    expect(set.nPhase).toBe(2 * 14);
    expect(set.nLogAmp).toBe(2 * 13);
    // σ² = Σ σ_k²/|V_k|²
    const k0 = set.phaseIdx.slice(0, 3);
    const expected = Math.sqrt([...k0].reduce((s, k) => s + 1 / (vis.weight[k] * (vis.re[k] ** 2 + vis.im[k] ** 2)), 0));
    expect(set.phaseSigma[0]).toBeCloseTo(expected, 12);
  });
});

describe('the closure image', () => {
  it("objective's gradient matches finite differences", () => {
    const vis = selectVisibilities(simulateVlbi({ sky: ringSky(), scans: 3, sigma: 0.02, seed: 2, gain: randomGains(5) }).uv);
    const set = closureSet(vis);
    const g: ImageGrid = { nx: 16, ny: 16, cell: 6 * UAS };
    const prior = gaussianImage(g, 2, 40 * UAS);
    const idx = Int32Array.from({ length: vis.n }, (_, k) => k);
    const amp = Float64Array.from(idx, (k) => Math.hypot(vis.re[k], vis.im[k]));
    const obj = closureObjective(vis, set, g, { flux: 2, prior, mem: 0.3, tsv: 0.3, amplitudes: { weight: 0.7, idx, amp, sigma: amp.map((a) => 0.02 + 0.1 * a) } });
    const r = uniforms(9);
    const theta = Float64Array.from(prior, (p) => Math.log(p) + 0.5 * (r() - 0.5));
    const grad = new Float64Array(theta.length);
    obj.fg(theta, grad);
    const h = 1e-6;
    let worst = 0;
    for (const i of [0, 17, 100, 119, 136, 200, 255]) {
      const tp = Float64Array.from(theta);
      const tm = Float64Array.from(theta);
      tp[i] += h;
      tm[i] -= h;
      const fd = (obj.fg(tp, new Float64Array(theta.length)) - obj.fg(tm, new Float64Array(theta.length))) / (2 * h);
      worst = Math.max(worst, Math.abs(fd - grad[i]) / Math.max(Math.abs(grad[i]), 1e-3 * Math.max(...grad.map(Math.abs))));
    }
    expect(worst).toBeLessThan(1e-5);
  });

  it('refuses data with no closure', () => {
    const vis = selectVisibilities(simulateVlbi({ sky: ringSky(), scans: 2, sigma: 0.02 }).uv);
    const keep = Array.from({ length: vis.n }, (_, k) => k).filter((k) => vis.ant1[k] === 1);
    const pick = <T extends Float64Array | Int32Array>(x: T) => x.filter((_, k) => keep.includes(k)) as T;
    // a star of baselines to one station: no triangle
    const star: Visibilities = { ...vis, n: keep.length, u: pick(vis.u), v: pick(vis.v), re: pick(vis.re), im: pick(vis.im), weight: pick(vis.weight), time: pick(vis.time), ant1: pick(vis.ant1), ant2: pick(vis.ant2), subarray: pick(vis.subarray), ifIndex: pick(vis.ifIndex), chan: pick(vis.chan) };
    expect(closureSet(star).nPhase).toBe(0);
    expect(() => closureImage(star)).toThrow(/no closure/);
  });

  it('L-BFGS finds the minimum of the Rosenbrock function', () => {
    const fg = (x: Float64Array, g: Float64Array) => {
      let f = 0;
      g.fill(0);
      for (let i = 0; i + 1 < x.length; i++) {
        const a = x[i + 1] - x[i] * x[i];
        const b = 1 - x[i];
        f += 100 * a * a + b * b;
        g[i] += -400 * x[i] * a - 2 * b;
        g[i + 1] += 200 * a;
      }
      return f;
    };
    const r = lbfgs(fg, Float64Array.from({ length: 10 }, (_, i) => (i % 2 ? 1.2 : -1.2)), { maxIter: 2000 });
    expect(r.f).toBeLessThan(1e-12);
    for (const v of r.x) expect(v).toBeCloseTo(1, 5);
  });

  it('recovers a ring observed with random station phases and amplitudes and noise, where the point start of self-calibration does not', { timeout: 240_000 }, () => {
    const sky = ringSky();
    const vis = selectVisibilities(simulateVlbi({ sky, scans: 24, sigma: 0.02, seed: 3, gain: randomGains(7) }).uv);
    const ci = closureImage(vis, { stages: 3, iterations: 150 });
    // the closures are fitted to about their noise from a start far from it
    expect(ci.chi2PhaseStart).toBeGreaterThan(20);
    expect(ci.chi2LogAmpStart).toBeGreaterThan(20);
    expect(ci.chi2Phase).toBeLessThan(1.5);
    expect(ci.chi2LogAmp).toBeLessThan(1.5);
    const g = ci.grid;
    // the nominal resolution of this array: 1/u_max ≈ 21 µas
    const blur = 20 * UAS;
    const truth = blurImage(skyImage(sky, g), g, blur);
    const img = blurImage(ci.image, g, blur);
    const t = ringFit(truth, g.nx, g.ny);
    const c = ringFit(img, g.nx, g.ny);
    expect(t.depression).toBeLessThan(0.5);
    expect(Math.abs(c.diameter / t.diameter - 1)).toBeLessThan(0.1);
    expect(c.depression).toBeLessThan(0.5);
    expect(alignedNcc(img, truth, g, 12)).toBeGreaterThan(0.8);

    // the self-calibration loop (ap, 3 rounds) from the point start and from the closure image: the CLEAN of the
    // corrected data, blurred as above
    const sg: ImageGrid = { nx: 64, ny: 64, cell: 2.6 * UAS };
    const truthS = blurImage(skyImage(sky, sg), sg, blur);
    const tS = ringFit(truthS, sg.nx, sg.ny);
    const after = (start: 'point' | 'closure') => {
      const sc = selfcalLoop(vis, sg, { mode: 'ap', rounds: 3, start, closure: { stages: 3, iterations: 150 }, clean: { weighting: 'natural', robust: 0, niter: 5000, gain: 0.1, threshold: 'auto', method: 'cotton-schwab' } });
      expect(sc.start).toBe(start);
      expect(sc.rounds[0].model).toBe(start);
      const d = sc.vis;
      const A = chooseMeasurement(d.u, d.v, sg);
      const r = clean(A, d.re, d.im, d.weight, dirtyBeam(d.u, d.v, d.weight, doubleGrid(sg)), { method: 'cotton-schwab', niter: 5000, gain: 0.1, threshold: 0 });
      const im = blurImage(r.model, sg, blur);
      return { sc, fit: ringFit(im, sg.nx, sg.ny), ncc: alignedNcc(im, truthS, sg, 12) };
    };
    const point = after('point');
    const closure = after('closure');
    expect(closure.sc.closure?.closurePhases).toBe(24 * 15);
    expect(closure.fit.depression).toBeLessThan(0.5);
    expect(Math.abs(closure.fit.diameter / tS.diameter - 1)).toBeLessThan(0.1);
    expect(closure.ncc).toBeGreaterThan(0.9);
    // from the point: no central depression, and a poorer match
    expect(point.fit.depression).toBeGreaterThan(0.8);
    expect(point.ncc).toBeLessThan(closure.ncc - 0.05);
    // and the closure start's gains fit the data better after the same rounds
    expect(closure.sc.rounds[2].chi2After).toBeLessThan(point.sc.rounds[2].chi2After);
  });
});
