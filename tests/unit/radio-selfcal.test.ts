/**
 * Self-calibration (src-shared/radio/selfcal.ts) on simulated visibilities of a sparse VLBI array (the EHT file's
 * seven sites) with station gains per time stamp: exact gains from noiseless data and a perfect model, phases
 * within the noise's error from noisy data, closure phases unchanged by the corrections, the flagging rule, and
 * the CLEAN / self-calibration loop reaching the noise where the CLEAN of the raw data does not.
 */
import { describe, expect, it } from 'vitest';
import { selectVisibilities, type Visibilities } from '../../src-shared/radio/uvfits.js';
import { applyGains, gainParameters, gainTableJson, modelChi2, selfcalLoop, selfcalSteps, solveGains } from '../../src-shared/radio/selfcal.js';
import { randomPhases, simulateVlbi, skyVisibility, uniforms, UAS, type Component } from '../helpers/vlbi-sim.js';

const SKY: Component[] = [
  { flux: 1.5, l: 0, m: 0, fwhm: 0 },
  { flux: 0.5, l: 50 * UAS, m: -30 * UAS, fwhm: 40 * UAS },
];

/** The sky's visibilities at the data's (u, v). */
function modelOf(vis: Visibilities, sky = SKY): { re: Float64Array; im: Float64Array } {
  const re = new Float64Array(vis.n);
  const im = new Float64Array(vis.n);
  for (let k = 0; k < vis.n; k++) [re[k], im[k]] = skyVisibility(sky, vis.u[k], vis.v[k]);
  return { re, im };
}

/** Wraps an angle into (−π, π]. */
const wrap = (a: number) => Math.atan2(Math.sin(a), Math.cos(a));

/** The solved gain of station s (1-based antenna s + 1) at scan index i, and the truth referred to the same reference. */
function referred(t: ReturnType<typeof solveGains>, truth: [number, number][][], scan: number, station: number): { solved: [number, number]; true: [number, number]; ref: number } {
  const iv = t.intervals[scan];
  const a = iv.antennas.indexOf(station + 1);
  const ref = iv.refAntenna! - 1;
  const [gr, gi] = truth[scan][station];
  const [rr, ri] = truth[scan][ref];
  const m = Math.hypot(rr, ri);
  // g · conj(g_ref)/|g_ref|
  return { solved: [iv.re[a], iv.im[a]], true: [(gr * rr + gi * ri) / m, (gi * rr - gr * ri) / m], ref };
}

/** Closure phases of every triangle at every time stamp: arg(V_ab V_bc conj(V_ac)). */
function closurePhases(vis: Visibilities): Map<string, number> {
  const at = new Map<string, [number, number]>();
  for (let k = 0; k < vis.n; k++) at.set(`${vis.time[k]}:${vis.ant1[k]}:${vis.ant2[k]}`, [vis.re[k], vis.im[k]]);
  const times = [...new Set(vis.time)];
  const ants = [...new Set([...vis.ant1, ...vis.ant2])].sort((a, b) => a - b);
  const out = new Map<string, number>();
  for (const t of times) {
    for (let i = 0; i < ants.length; i++) {
      for (let j = i + 1; j < ants.length; j++) {
        for (let l = j + 1; l < ants.length; l++) {
          const ab = at.get(`${t}:${ants[i]}:${ants[j]}`);
          const bc = at.get(`${t}:${ants[j]}:${ants[l]}`);
          const ac = at.get(`${t}:${ants[i]}:${ants[l]}`);
          if (!ab || !bc || !ac) continue;
          out.set(`${t}:${i}:${j}:${l}`, Math.atan2(ab[1], ab[0]) + Math.atan2(bc[1], bc[0]) - Math.atan2(ac[1], ac[0]));
        }
      }
    }
  }
  return out;
}

describe('antenna gain solutions', () => {
  it('recovers phase-only gains exactly (1e-9) from noiseless data and a perfect model', () => {
    const sim = simulateVlbi({ sky: SKY, scans: 6, sigma: 0, gain: randomPhases(11) });
    const vis = selectVisibilities(sim.uv);
    const m = modelOf(vis);
    const t = solveGains(vis, m.re, m.im, { mode: 'p' });
    expect(t.intervals.length).toBe(6);
    expect(t.failed).toBe(0);
    let worst = 0;
    for (let s = 0; s < 6; s++) {
      for (let i = 0; i < 7; i++) {
        const g = referred(t, sim.gains, s, i);
        worst = Math.max(worst, Math.hypot(g.solved[0] - g.true[0], g.solved[1] - g.true[1]));
      }
      // the reference antenna's phase is 0
      const iv = t.intervals[s];
      const r = iv.antennas.indexOf(iv.refAntenna!);
      expect(Math.abs(iv.im[r])).toBeLessThan(1e-15);
    }
    expect(worst).toBeLessThan(1e-9);
    // and the corrected data are the model
    const c = applyGains(vis, t);
    expect(c.n).toBe(vis.n);
    let err = 0;
    for (let k = 0; k < c.n; k++) err = Math.max(err, Math.hypot(c.re[k] - m.re[k], c.im[k] - m.im[k]));
    expect(err).toBeLessThan(1e-9);
  });

  it('recovers amplitude and phase gains exactly (1e-9) from noiseless data, and scales the weights by |g_i g_j|²', () => {
    const r = uniforms(5);
    const ph = randomPhases(13);
    const gain = (s: number, i: number): [number, number] => {
      const [c, sn] = ph(s, i);
      const a = 0.6 + 0.8 * r();
      return [a * c, a * sn];
    };
    const sim = simulateVlbi({ sky: SKY, scans: 4, sigma: 0, gain });
    const vis = selectVisibilities(sim.uv);
    const m = modelOf(vis);
    const t = solveGains(vis, m.re, m.im, { mode: 'ap', normalise: false });
    expect(t.normalisedBy).toBe(1);
    let worst = 0;
    for (let s = 0; s < 4; s++) {
      for (let i = 0; i < 7; i++) {
        const g = referred(t, sim.gains, s, i);
        worst = Math.max(worst, Math.hypot(g.solved[0] - g.true[0], g.solved[1] - g.true[1]));
      }
    }
    expect(worst).toBeLessThan(1e-9);
    const c = applyGains(vis, t);
    for (let k = 0; k < vis.n; k++) {
      const s = sim.times.indexOf(vis.time[k]);
      const gi = sim.gains[s][vis.ant1[k] - 1];
      const gj = sim.gains[s][vis.ant2[k] - 1];
      expect(c.weight[k] / vis.weight[k]).toBeCloseTo(Math.hypot(...gi) ** 2 * Math.hypot(...gj) ** 2, 9);
    }
    // normalised (the default): the amplitudes' geometric mean is 1, the gains the same up to that factor
    const n = solveGains(vis, m.re, m.im, { mode: 'ap' });
    let sl = 0;
    for (let i = 0; i < n.gRe.length; i++) sl += Math.log(Math.hypot(n.gRe[i], n.gIm[i]));
    expect(Math.abs(sl / n.gRe.length)).toBeLessThan(1e-12);
    for (let i = 0; i < n.gRe.length; i++) expect(n.gRe[i] * n.normalisedBy).toBeCloseTo(t.gRe[i], 9);
  });

  it('gives phases within the error the noise predicts (σ_φ² = 1/Σ_j w|M_ij|² per antenna, plus the reference\'s)', () => {
    // a faint source: σ = 0.1 Jy per part on 2 Jy, so the errors are well above rounding
    const sim = simulateVlbi({ sky: SKY, scans: 24, sigma: 0.1, seed: 3, gain: randomPhases(17) });
    const vis = selectVisibilities(sim.uv);
    const m = modelOf(vis);
    const t = solveGains(vis, m.re, m.im, { mode: 'p' });
    expect(t.failed).toBe(0);
    let z2 = 0;
    let n = 0;
    for (let s = 0; s < 24; s++) {
      // each antenna's information Σ_j w |M_ij|² in this time stamp
      const info = new Float64Array(8);
      for (let k = 0; k < vis.n; k++) {
        if (vis.time[k] !== sim.times[s]) continue;
        const q = vis.weight[k] * (m.re[k] ** 2 + m.im[k] ** 2);
        info[vis.ant1[k]] += q;
        info[vis.ant2[k]] += q;
      }
      for (let i = 0; i < 7; i++) {
        const g = referred(t, sim.gains, s, i);
        if (i === g.ref) continue;
        const err = wrap(Math.atan2(g.solved[1], g.solved[0]) - Math.atan2(g.true[1], g.true[0]));
        const sd = Math.sqrt(1 / info[i + 1] + 1 / info[g.ref + 1]);
        z2 += (err / sd) ** 2;
        n++;
      }
    }
    // 144 phases: the rms of error / predicted σ near 1 (the reference's error is shared, and the antennas' errors
    // are correlated through the closures, so the simple prediction is approximate): within 0.6…1.4
    const rms = Math.sqrt(z2 / n);
    expect(n).toBe(144);
    expect(rms).toBeGreaterThan(0.6);
    expect(rms).toBeLessThan(1.4);
  });

  it('leaves closure phases unchanged (to rounding)', () => {
    const sim = simulateVlbi({ sky: SKY, scans: 8, sigma: 0.05, seed: 9, gain: randomPhases(19) });
    const vis = selectVisibilities(sim.uv);
    // a wrong model (a point source): the gains are wrong, the closures still untouched
    const t = solveGains(vis, new Float64Array(vis.n).fill(1), new Float64Array(vis.n), { mode: 'ap' });
    const c = applyGains(vis, t);
    const before = closurePhases(vis);
    const after = closurePhases(c);
    expect(before.size).toBe(8 * 35);
    expect(after.size).toBe(before.size);
    let worst = 0;
    for (const [k, v] of before) worst = Math.max(worst, Math.abs(wrap(after.get(k)! - v)));
    expect(worst).toBeLessThan(1e-12);
  });

  it('flags an antenna with too few baselines (phase: 2, amplitude: 3) and leaves its visibilities out', () => {
    const sim = simulateVlbi({ sky: SKY, scans: 2, sigma: 0.01, seed: 2, gain: randomPhases(23) });
    const all = selectVisibilities(sim.uv);
    // antenna 7 keeps only its baseline to antenna 1 at the first time stamp; antenna 6 only two baselines there
    const keep: number[] = [];
    for (let k = 0; k < all.n; k++) {
      const first = all.time[k] === sim.times[0];
      if (first && (all.ant1[k] === 7 || all.ant2[k] === 7) && !(all.ant1[k] === 1 && all.ant2[k] === 7)) continue;
      if (first && (all.ant1[k] === 6 || all.ant2[k] === 6) && !(all.ant1[k] <= 2 && all.ant2[k] === 6)) continue;
      keep.push(k);
    }
    const vis = subset(all, keep);
    const m = modelOf(vis);
    const p = solveGains(vis, m.re, m.im, { mode: 'p' });
    const flaggedP = p.intervals[0].antennas.filter((_, i) => p.intervals[0].flagged[i]);
    expect(flaggedP).toEqual([7]);
    expect(p.intervals[1].flagged.some((f) => f)).toBe(false);
    const ap = solveGains(vis, m.re, m.im, { mode: 'ap' });
    expect(ap.intervals[0].antennas.filter((_, i) => ap.intervals[0].flagged[i]).sort()).toEqual([6, 7]);
    expect(ap.failed).toBe(2);
    const c = applyGains(vis, p);
    expect(c.n).toBe(vis.n - 1);
    expect(c.nFlagged).toBe(vis.nFlagged + 1);
    // the JSON table names the flagged solution
    const j = gainTableJson(p, (a) => `S${a}`) as { gains: { antenna: number; flagged: boolean; amplitude: number | null; time: number }[] };
    expect(j.gains.filter((g) => g.flagged).map((g) => g.antenna)).toEqual([7]);
    expect(j.gains.filter((g) => !g.flagged).every((g) => Math.abs(g.amplitude! - 1) < 1e-12)).toBe(true);
  });

  it('absorbs the source\'s absolute position: a shifted sky calibrates exactly onto the centred model', () => {
    const shifted = SKY.map((c) => ({ ...c, l: c.l + 30 * UAS, m: c.m - 20 * UAS }));
    const sim = simulateVlbi({ sky: shifted, scans: 4, sigma: 0 });
    const vis = selectVisibilities(sim.uv);
    const m = modelOf(vis);
    let before = 0;
    for (let k = 0; k < vis.n; k++) before = Math.max(before, Math.hypot(vis.re[k] - m.re[k], vis.im[k] - m.im[k]));
    expect(before).toBeGreaterThan(0.5);
    const c = applyGains(vis, solveGains(vis, m.re, m.im, { mode: 'p' }));
    let err = 0;
    for (let k = 0; k < c.n; k++) err = Math.max(err, Math.hypot(c.re[k] - m.re[k], c.im[k] - m.im[k]));
    expect(err).toBeLessThan(1e-9);
  });

  it('counts the real parameters the gains take, and χ² of the corrected data against the true model averages 2M − that', () => {
    // noise only (the model is the truth): after the gains, χ² is the noise's less the directions the gains fitted
    for (const mode of ['p', 'ap'] as const) {
      const chi2: number[] = [];
      let expected = 0;
      let params = 0;
      for (let seed = 1; seed <= 12; seed++) {
        const sim = simulateVlbi({ sky: SKY, scans: 6, sigma: 0.01, seed, gain: randomPhases(100 + seed) });
        const vis = selectVisibilities(sim.uv);
        const m = modelOf(vis);
        const t = solveGains(vis, m.re, m.im, { mode });
        // seven stations in each of six time stamps, none flagged: 6 phases (or 7 amplitudes and 6 phases) each
        expect(t.failed).toBe(0);
        params = gainParameters(t);
        expect(params).toBe(6 * (mode === 'p' ? 6 : 13));
        const c = applyGains(vis, t);
        chi2.push(modelChi2(c, m.re, m.im) * 2 * c.n);
        expected = 2 * c.n - params;
      }
      const mean = chi2.reduce((a, b) => a + b, 0) / chi2.length;
      // Monte Carlo: each χ² has sd √(2(2M − p)); the mean of 12 within 3 of its standard errors
      const se = Math.sqrt((2 * expected) / chi2.length);
      expect(Math.abs(mean - expected)).toBeLessThan(3 * se);
      // and distinguishably below 2M, the count without the gains' parameters
      expect(expected + params - mean).toBeGreaterThan(3 * se);
    }
  });

  it('groups time stamps into solution intervals of --solint seconds', () => {
    // 12 scans over 6 h: 32.7 min apart; 1-hour bins from the first hold 2, 2, 2, 2, 2, 1 and 1 (the last at 6 h)
    const sim = simulateVlbi({ sky: SKY, scans: 12, sigma: 0.01, seed: 4 });
    const vis = selectVisibilities(sim.uv);
    const m = modelOf(vis);
    expect(solveGains(vis, m.re, m.im, { mode: 'p' }).intervals.length).toBe(12);
    const t = solveGains(vis, m.re, m.im, { mode: 'p', solint: 3600 });
    expect(t.intervals.length).toBe(7);
    expect(t.intervals[0].tEnd - t.intervals[0].tStart).toBeCloseTo(6 / 11 / 24, 9);
  });
});

/** The visibilities at the given indices. */
function subset(v: Visibilities, keep: number[]): Visibilities {
  const f = (a: Float64Array) => Float64Array.from(keep, (k) => a[k]);
  const i = (a: Int32Array) => Int32Array.from(keep, (k) => a[k]);
  return {
    ...v,
    n: keep.length,
    u: f(v.u),
    v: f(v.v),
    w: f(v.w),
    re: f(v.re),
    im: f(v.im),
    weight: f(v.weight),
    freq: f(v.freq),
    time: f(v.time),
    ant1: i(v.ant1),
    ant2: i(v.ant2),
    baseline: i(v.baseline),
    subarray: i(v.subarray),
    group: i(v.group),
    ifIndex: i(v.ifIndex),
    chan: i(v.chan),
  };
}

describe('the CLEAN / self-calibration loop', () => {
  const grid = { nx: 64, ny: 64, cell: 7 * UAS };
  const settings = { weighting: 'natural' as const, robust: 0, niter: 5000, gain: 0.1, threshold: 'auto' as const, method: 'cotton-schwab' as const };

  it('reaches the noise (χ² per dof near 1) after phase self-calibration where the CLEAN of the raw data does not', () => {
    const sim = simulateVlbi({ sky: SKY, scans: 24, sigma: 0.01, seed: 5, gain: randomPhases(29) });
    const vis = selectVisibilities(sim.uv);
    const r = selfcalLoop(vis, grid, { mode: 'p', rounds: 8, clean: settings });
    expect(r.initial.chi2).toBeGreaterThan(100);
    // 'auto': the raw data's CLEAN fits them to χ²/dof above 10, so the first model is a point source
    expect(r.start).toBe('point');
    expect(r.rounds[0].model).toBe('point');
    const last = r.rounds[r.rounds.length - 1];
    expect(last.chi2After).toBeLessThan(1.2);
    expect(last.residualOverNoise!).toBeLessThan(1.5);
    expect(last.failedFraction).toBe(0);
    // the model flux is the sky's, within 2 %
    expect(Math.abs(last.modelFlux - 2) / 2).toBeLessThan(0.02);
    expect(r.vis.n).toBe(vis.n);
    // the corrected data against the true sky: the loop converges on it more slowly than its own model's χ² says
    // (rounds 1, 2, 4, 8, 12: 18.8, 12.1, 5.7, 1.9, 1.1), the point start's pull fading round by round
    const truth = modelOf(r.vis);
    expect(modelChi2(r.vis, truth.re, truth.im)).toBeLessThan(2.5);
    // the same loop on the calibrated data: the CLEAN alone reaches the noise
    const cal = selectVisibilities(simulateVlbi({ sky: SKY, scans: 24, sigma: 0.01, seed: 5 }).uv);
    const rc = selfcalLoop(cal, grid, { mode: 'p', rounds: 2, clean: settings });
    expect(rc.initial.chi2).toBeLessThan(1.5);
    // calibrated data: 'auto' starts from that CLEAN, and the gains stay within the noise's few tenths of a degree
    expect(rc.start).toBe('clean');
    expect(rc.rounds[1].phaseRmsDeg).toBeLessThan(1);
    expect(rc.rounds[1].chi2After).toBeLessThan(1.5);
  });

  it("runs as steps that pause after the first CLEAN and between the rounds, with the loop's result", () => {
    const sim = simulateVlbi({ sky: SKY, scans: 8, sigma: 0.01, seed: 3, gain: randomPhases(7) });
    const vis = selectVisibilities(sim.uv);
    const o = { mode: 'ap' as const, rounds: 3, clean: settings };
    const it = selfcalSteps(vis, grid, o);
    const pauses: { round: number; rounds: number }[] = [];
    let step = it.next();
    while (!step.done) {
      pauses.push(step.value);
      step = it.next();
    }
    expect(pauses).toEqual([
      { round: 0, rounds: 3 },
      { round: 1, rounds: 3 },
      { round: 2, rounds: 3 },
    ]);
    const whole = selfcalLoop(vis, grid, o);
    expect(step.value.rounds).toEqual(whole.rounds);
    expect(Array.from(step.value.vis.re)).toEqual(Array.from(whole.vis.re));
    expect(Array.from(step.value.gains.gRe)).toEqual(Array.from(whole.gains.gRe));
  });
});
