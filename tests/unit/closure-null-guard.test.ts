/**
 * The closure likelihood's null guard (closure-likelihood.ts, guardedClosureChi2): a model visibility driven to a
 * null, where its phase is free and its log amplitude diverges, keeps the likelihood and its gradient finite, and the
 * ending does not leave a draw there; where every model amplitude is above its floor the guard changes nothing, bit
 * for bit.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src-main/engine/backend.js';
import { CLOSURE_NULL_FLOOR, ClosureLikelihood, flooredEnergy, guardedClosureChi2 } from '../../src-shared/diffusion/closure-likelihood.js';
import { closureChi2, gaussianImage } from '../../src-shared/radio/closure.js';
import { dftForward } from '../../src-shared/radio/dft.js';
import { selectVisibilities, type Visibilities } from '../../src-shared/radio/uvfits.js';
import type { ImageGrid } from '../../src-shared/radio/grid.js';
import { normal, randomGains, simulateVlbi, skyImage, uniforms, UAS, type Component } from '../helpers/vlbi-sim.js';

beforeAll(async () => {
  await initBackend('cpu');
});

const grid: ImageGrid = { nx: 16, ny: 16, cell: 8 * UAS };
const SIGMA = 0.02;

/** A 2 Jy ring of radius 25 µas (32 Gaussians of FWHM 10 µas), ±30 % brighter on one side. */
function ringSky(): Component[] {
  const n = 32;
  return Array.from({ length: n }, (_, i) => {
    const a = (2 * Math.PI * i) / n;
    return { flux: (2 / n) * (1 + 0.3 * Math.cos(a - 1)), l: 25 * UAS * Math.cos(a), m: 25 * UAS * Math.sin(a), fwhm: 10 * UAS };
  });
}

/** The gridded ring's visibilities with noise σ = SIGMA and random station gains (weights follow the gains). */
function ringData(): Visibilities {
  const base = selectVisibilities(simulateVlbi({ sky: ringSky(), scans: 6, sigma: 0 }).uv);
  const m = dftForward(base.u, base.v, grid, skyImage(ringSky(), grid));
  const r = uniforms(8);
  const gain = randomGains(8);
  const times = [...new Set(base.time)].sort((a, b) => a - b);
  const re = new Float64Array(base.n);
  const im = new Float64Array(base.n);
  const weight = new Float64Array(base.n);
  for (let k = 0; k < base.n; k++) {
    const s = times.indexOf(base.time[k]);
    const [ar, ai] = gain(s, base.ant1[k]);
    const [br, bi] = gain(s, base.ant2[k]);
    const gr = ar * br + ai * bi;
    const gi = ai * br - ar * bi;
    const yr = m.re[k] + SIGMA * normal(r);
    const yi = m.im[k] + SIGMA * normal(r);
    re[k] = gr * yr - gi * yi;
    im[k] = gr * yi + gi * yr;
    weight[k] = 1 / (SIGMA * SIGMA * (gr * gr + gi * gi));
  }
  return { ...base, re, im, weight };
}

/** Model visibilities of an image on the likelihood's used visibilities (compact index). */
function modelOf(lik: ClosureLikelihood, vis: Visibilities, x: Float64Array) {
  const u = Float64Array.from(lik.usedIndex, (k) => vis.u[k]);
  const v = Float64Array.from(lik.usedIndex, (k) => vis.v[k]);
  return dftForward(u, v, grid, x);
}

/**
 * x with its model visibility at data index `k` moved to `target` (re, im) by the smallest real change
 * δx = c₁ cos θ + c₂ sin θ along that visibility's Fourier row (M = Σ x e^{−iθ}).
 */
function withVisibility(vis: Visibilities, x: Float64Array, k: number, target: [number, number]): Float64Array {
  const f = dftForward(Float64Array.of(vis.u[k]), Float64Array.of(vis.v[k]), grid, x);
  const n = x.length;
  const c = new Float64Array(n);
  const s = new Float64Array(n);
  for (let p = 0; p < n; p++) {
    const e = new Float64Array(n);
    e[p] = 1;
    const d = dftForward(Float64Array.of(vis.u[k]), Float64Array.of(vis.v[k]), grid, e);
    c[p] = d.re[0]; // cos θ_p
    s[p] = -d.im[0]; // sin θ_p
  }
  // M(δx) = Σ δx (cos θ − i sin θ): re = c₁ Σcos² + c₂ Σ sin cos, im = −(c₁ Σ sin cos + c₂ Σ sin²)
  let cc = 0;
  let cs = 0;
  let ss = 0;
  for (let p = 0; p < n; p++) {
    cc += c[p] * c[p];
    cs += c[p] * s[p];
    ss += s[p] * s[p];
  }
  const dr = target[0] - f.re[0];
  const di = -(target[1] - f.im[0]);
  const det = cc * ss - cs * cs;
  const c1 = (dr * ss - cs * di) / det;
  const c2 = (cc * di - cs * dr) / det;
  return Float64Array.from(x, (v, p) => v + c1 * c[p] + c2 * s[p]);
}

describe('closure likelihood: the null guard', () => {
  it('is closureChi2 bit for bit where every model amplitude is above its floor, and finite below it (value and gradient)', () => {
    const vis = ringData();
    const lik = new ClosureLikelihood({ vis, grid, totalFlux: 2 });
    const set = lik.set;
    const r = uniforms(3);
    const mRe = Float64Array.from({ length: vis.n }, () => 0.5 + r());
    const mIm = Float64Array.from({ length: vis.n }, () => r() - 0.5);
    const floor2 = new Float64Array(vis.n).fill(0.1 ** 2); // every |M| ≥ 0.5 > 0.1
    const g0 = { gRe: new Float64Array(vis.n), gIm: new Float64Array(vis.n), phaseFactor: 1, ampFactor: 1 };
    const g1 = { gRe: new Float64Array(vis.n), gIm: new Float64Array(vis.n) };
    const c0 = closureChi2(set, mRe, mIm, g0);
    const c1 = guardedClosureChi2(set, mRe, mIm, floor2, g1);
    expect(c1).toEqual(c0);
    expect(g1.gRe).toEqual(g0.gRe);
    expect(g1.gIm).toEqual(g0.gIm);
    // one visibility in both a closure phase and a log closure amplitude, at an exact null
    const k = set.phaseIdx.find((i) => set.ampIdx.includes(i))!;
    mRe[k] = 0;
    mIm[k] = 0;
    const gz = { gRe: new Float64Array(vis.n), gIm: new Float64Array(vis.n) };
    const cz = guardedClosureChi2(set, mRe, mIm, floor2, gz);
    expect(Number.isFinite(cz.phase) && Number.isFinite(cz.logAmp)).toBe(true);
    expect(gz.gRe.every(Number.isFinite) && gz.gIm.every(Number.isFinite)).toBe(true);
    expect(Number.isFinite(closureChi2(set, mRe, mIm).logAmp)).toBe(false); // unguarded: log 0
    // the floor's energy is C¹ at ε²
    const e2 = 0.01;
    expect(flooredEnergy(e2 * (1 - 1e-9), e2)[0]).toBeCloseTo(e2, 10);
    expect(flooredEnergy(e2 * (1 - 1e-9), e2)[1]).toBeCloseTo(1, 8);
    expect(flooredEnergy(0, e2)[0]).toBe(e2 / 2);
  });

  it('changes nothing where the model amplitudes are healthy (likelihood, score at σ = 0 and σ > 0, with the ending perturbation)', () => {
    const vis = ringData();
    const guarded = new ClosureLikelihood({ vis, grid, totalFlux: 2 });
    const bare = new ClosureLikelihood({ vis, grid, totalFlux: 2, nullFloor: 0 });
    expect(guarded.nullFloor).toBe(CLOSURE_NULL_FLOOR);
    expect(CLOSURE_NULL_FLOOR).toBeGreaterThan(0);
    // a compact Gaussian: every used model amplitude above its floor (checked)
    const x = Float64Array.from(gaussianImage(grid, 2, 12 * UAS));
    const m = modelOf(guarded, vis, x);
    let worst = Infinity;
    for (let i = 0; i < m.re.length; i++) worst = Math.min(worst, Math.hypot(m.re[i], m.im[i]) / (guarded.nullFloor * guarded.dataSigma[i]));
    expect(worst).toBeGreaterThan(1);
    const r = uniforms(5);
    const noise = Float64Array.from({ length: guarded.observed }, () => normal(r));
    expect(guarded.logLikelihood(x, noise)).toBe(bare.logLikelihood(x, noise));
    expect(guarded.gradient(x, 0)).toEqual(bare.gradient(x, 0));
    expect(guarded.gradient(x, 0.5, noise)).toEqual(bare.gradient(x, 0.5, noise));
    expect(guarded.jjDiagonal(m.re, m.im)).toEqual(bare.jjDiagonal(m.re, m.im));
  });

  it('lets no draw stay at a null of a visibility in a closure phase only (a time stamp with three stations)', () => {
    // the first time stamp's data on the baselines between its first three stations only: its visibilities enter one
    // closure phase and no log closure amplitude, as the EHT file's SPT–PDB at a stamp with PV, PDB and SPT
    const full = ringData();
    const t0 = Math.min(...full.time);
    const atT0 = [...Array(full.n).keys()].filter((k) => full.time[k] === t0);
    const three = new Set([...new Set(atT0.flatMap((k) => [full.ant1[k], full.ant2[k]]))].slice(0, 3));
    expect(three.size).toBe(3);
    const weight = Float64Array.from(full.weight, (w, k) => (full.time[k] === t0 && !(three.has(full.ant1[k]) && three.has(full.ant2[k])) ? 0 : w));
    const vis: Visibilities = { ...full, weight };
    const affine = { scale: 0.03, offset: 0 };
    const guarded = new ClosureLikelihood({ vis, grid, affine, totalFlux: 2 });
    const set = guarded.set;
    const k = Array.from(guarded.usedIndex).find((i) => vis.time[i] === t0)!;
    expect(set.phaseIdx.includes(k) && !set.ampIdx.includes(k)).toBe(true);
    const ci = Array.from(guarded.usedIndex).indexOf(k);
    const eps = guarded.nullFloor * guarded.dataSigma[ci];
    // the truth with that visibility at 10⁻⁶ of its floor, on the side opposite the truth's (its closure phase off by π)
    const truth = skyImage(ringSky(), grid);
    const mt = modelOf(guarded, vis, truth);
    const ph = Math.atan2(mt.im[ci], mt.re[ci]);
    const x = withVisibility(vis, truth, k, [-1e-6 * eps * Math.cos(ph), -1e-6 * eps * Math.sin(ph)]);
    const r = uniforms(21);
    const noise = Float64Array.from({ length: guarded.observed }, () => normal(r));
    const sigma = 0.01;
    const amp = (lik: ClosureLikelihood, y: Float64Array) => {
      const m = modelOf(lik, vis, y);
      return Math.hypot(m.re[ci], m.im[ci]);
    };
    const out = guarded.conditionOne(x, sigma, noise);
    console.log(`guarded ending from the null (datum ${Math.hypot(vis.re[k], vis.im[k]).toFixed(3)} Jy, ε ${eps.toFixed(4)}): |M_k| ${amp(guarded, out.x).toExponential(2)}, χ² per closure ${out.record.chi2.toFixed(3)} (×${out.record.widening.toFixed(2)}, ${out.record.iterations} it)`);
    // its closure phase is fitted on the truth's side of the null, not left free at it
    const m = modelOf(guarded, vis, out.x);
    const dphi = Math.atan2(Math.sin(Math.atan2(m.im[ci], m.re[ci]) - ph), Math.cos(Math.atan2(m.im[ci], m.re[ci]) - ph));
    expect(Math.abs(dphi)).toBeLessThan(Math.PI / 2);
    expect(out.x.every(Number.isFinite)).toBe(true);
    expect(amp(guarded, out.x)).toBeGreaterThan(eps);
    expect(guarded.lowModelAmplitudes(out.x).belowFloor).toBe(0);
  });

  it('keeps the gradient finite and exact at a model visibility near a null, and the ending does not leave a draw there', () => {
    const vis = ringData();
    const affine = { scale: 0.03, offset: 0 };
    const guarded = new ClosureLikelihood({ vis, grid, affine, totalFlux: 2 });
    const bare = new ClosureLikelihood({ vis, grid, affine, totalFlux: 2, nullFloor: 0 });
    // the ring image (the truth), with one visibility in a closure phase and a log closure amplitude nulled to
    // 10⁻⁶ of its floor
    const set = guarded.set;
    const k = set.phaseIdx.find((i) => set.ampIdx.includes(i))!;
    const ci = Array.from(guarded.usedIndex).indexOf(k);
    const eps = guarded.nullFloor * guarded.dataSigma[ci];
    const truth = skyImage(ringSky(), grid);
    const x = withVisibility(vis, truth, k, [1e-6 * eps, 0]);
    const mx = modelOf(guarded, vis, x);
    expect(Math.hypot(mx.re[ci], mx.im[ci])).toBeLessThan(2e-6 * eps);
    expect(Math.hypot(vis.re[k], vis.im[k])).toBeGreaterThan(5 * eps); // the datum is well above its noise
    // the report names it: the smallest model amplitude against its datum's, below 10⁻³ of it and below the floor
    const named = guarded.lowModelAmplitudes(x);
    expect(named.index).toBe(k);
    expect(named.ratio).toBeCloseTo(Math.hypot(mx.re[ci], mx.im[ci]) / Math.hypot(vis.re[k], vis.im[k]), 12);
    expect(named.below).toBe(1);
    expect(named.belowFloor).toBeGreaterThanOrEqual(1);
    expect(guarded.lowModelAmplitudes(truth).below).toBe(0);
    // unguarded the gradient diverges as 1/|M|: here ≳ 10⁵ × the guarded one (gradient(): prior units, × the scale)
    const gb = bare.gradient(x, 0).map((v) => v / affine.scale);
    const gg = guarded.gradient(x, 0).map((v) => v / affine.scale);
    const gt = guarded.gradient(truth, 0).map((v) => v / affine.scale);
    const maxAbs = (g: Float64Array) => g.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
    console.log(`max |∇ log p|: truth ${maxAbs(gt).toExponential(2)}, near null guarded ${maxAbs(gg).toExponential(2)}, unguarded ${maxAbs(gb).toExponential(2)}`);
    expect(gg.every(Number.isFinite)).toBe(true);
    expect(maxAbs(gb)).toBeGreaterThan(1e4 * maxAbs(gg));
    // the guarded gradient is that of the guarded log-likelihood (central differences; steps well below the floor's scale)
    let worst = 0;
    let scale = 0;
    for (const p of [0, 37, 100, 119, 136, 200, 255]) {
      const h = 1e-7;
      const xp = Float64Array.from(x);
      const xm = Float64Array.from(x);
      xp[p] += h;
      xm[p] -= h;
      const fd = (guarded.logLikelihood(xp) - guarded.logLikelihood(xm)) / (2 * h);
      worst = Math.max(worst, Math.abs(fd - gg[p]));
      scale = Math.max(scale, Math.abs(fd));
    }
    expect(scale).toBeGreaterThan(1);
    expect(worst / scale).toBeLessThan(1e-5);
    // the ending from there (a draw: closures perturbed by their noise): the guarded mode restores the visibility
    // towards the data's amplitude and fits; no used model visibility is left below a tenth of its floor
    const r = uniforms(21);
    const noise = Float64Array.from({ length: guarded.observed }, () => normal(r));
    const sigma = 0.01;
    const out = guarded.conditionOne(x, sigma, noise);
    const mo = modelOf(guarded, vis, out.x);
    let low = Infinity;
    for (let i = 0; i < mo.re.length; i++) low = Math.min(low, Math.hypot(mo.re[i], mo.im[i]) / (guarded.nullFloor * guarded.dataSigma[i]));
    const back = Math.hypot(mo.re[ci], mo.im[ci]);
    console.log(`guarded ending from the null: |M_k| ${back.toExponential(3)} (data ${Math.hypot(vis.re[k], vis.im[k]).toFixed(3)}, ε ${eps}), smallest |M|/ε ${low.toFixed(3)}, χ² per closure ${out.record.chi2.toFixed(3)} (×${out.record.widening.toFixed(2)})`);
    expect(out.x.every(Number.isFinite)).toBe(true);
    expect(back).toBeGreaterThan(eps);
    expect(low).toBeGreaterThan(0.1);
    expect(out.record.chi2).toBeLessThan(1.5);
  });
});
