/**
 * Self-calibration: antenna-based complex gains g_i solved against a model's visibilities M and applied to the data,
 * as difmap's `selfcal` and CASA's gaincal + applycal do in a CLEAN / self-calibration loop.
 *
 * The data model is V_ij = g_i g_j* M_ij + noise. Per solution interval (each time stamp of a subarray by default;
 * `solint` seconds groups time stamps into bins from the first one) one gain per antenna is solved for every IF and
 * channel of the selected product together (a single gain for the whole band and for Stokes I as formed), minimising
 * Σ w_ij |V_ij − g_i g_j* M_ij|² by the alternating (StEFCal-like) update: each antenna's gain is the weighted
 * least-squares solution with the others held, all updated together, every second step averaged with the previous
 * one; phase-only solutions keep |g_i| = 1. The reference antenna (the one with the most visibilities in the data,
 * else in that interval the present one with the most) has phase 0.
 *
 * Flagging rule: in each interval an antenna needs at least 2 baselines (phase only) or 3 (amplitude and phase) to
 * other unflagged antennas whose model is non-zero; antennas below are flagged and the count repeated until stable.
 * The visibilities of a flagged antenna are left out of the corrected data (as applycal flags data without a
 * solution), and counted.
 *
 * Applying: V_ij / (g_i g_j*), weights × |g_i g_j|² (the noise is divided by the same gains). Amplitude solutions
 * are divided by their geometric mean over the table (CASA's solnorm): they fix the stations' relative amplitudes
 * and leave the flux scale to the data (without it the loop drifts: each CLEAN to a threshold holds a little less
 * than the data, and the gains scale the data down to it).
 *
 * What it cannot do: closure phases (and, with phase-only gains, amplitudes; with amplitude gains, closure
 * amplitudes) are unchanged by any gains, so structure the closure quantities do not constrain comes from the model;
 * a point-source or poor starting model pulls the phases towards itself (the loop can converge on a biased image);
 * the source's absolute position is absorbed into the gains (the model's position is kept).
 */
import type { Visibilities } from './uvfits.js';
import type { ImageGrid } from './grid.js';
import { chooseMeasurement, type Measurement } from './measurement.js';
import { imageNoise, imagingWeights, thermalCheck, type WeightingScheme } from './weighting.js';
import { dirtyBeam, doubleGrid } from './imaging.js';
import { clean, type CleanMethod } from './clean.js';
import { UserInputError } from '../errors.js';
import { closureImage, type ClosureImage, type ClosureImageOptions } from './closure.js';

export type SelfcalMode = 'p' | 'ap';
export type SelfcalStart = 'auto' | 'clean' | 'point' | 'closure';
/** The first round's model as used ('auto' resolved). */
export type SelfcalFirstModel = 'clean' | 'point' | 'closure';

/**
 * 'auto' starts from the CLEAN of the raw data where its model fits them to this χ²/dof (phases near calibrated:
 * BL Lac 0.52), else from a point source (the EHT file's uncalibrated station phases: 5035).
 */
export const AUTO_START_CHI2 = 10;

export interface SolveOptions {
  mode: SelfcalMode;
  /** Solution interval in seconds; 0 or absent: each time stamp. */
  solint?: number;
  /** Least baselines an antenna needs in an interval (default 2 for 'p', 3 for 'ap'). */
  minBaselines?: number;
  /** Most iterations of the alternating update (default 500) and its tolerance on max |Δg| (default 1e-12). */
  maxIter?: number;
  tol?: number;
  /**
   * 'ap' only: divide every amplitude by the geometric mean of the table's unflagged amplitudes (CASA gaincal's
   * solnorm), so that the gains fix the stations' relative amplitudes and leave the data's flux scale (default true).
   */
  normalise?: boolean;
}

/** One interval's solutions. */
export interface GainInterval {
  /** Mean time (Julian date) of its visibilities, first and last time stamp. */
  time: number;
  tStart: number;
  tEnd: number;
  subarray: number;
  /** The reference antenna's number (phase 0); null where every antenna was flagged. */
  refAntenna: number | null;
  antennas: number[];
  re: number[];
  im: number[];
  flagged: boolean[];
  iterations: number;
}

export interface GainTable {
  mode: SelfcalMode;
  solint: number;
  minBaselines: number;
  /** The geometric mean amplitude the 'ap' solutions were divided by (1: none). */
  normalisedBy: number;
  intervals: GainInterval[];
  /** Antenna solutions over all intervals, and those flagged. */
  solutions: number;
  failed: number;
  /** Slot of each visibility's ant1 and ant2 gain in the flat arrays below (the data the table was solved on). */
  slot1: Int32Array;
  slot2: Int32Array;
  gRe: Float64Array;
  gIm: Float64Array;
  ok: Uint8Array;
}

const DAY = 86400;

/** The interval of each visibility: subarray and time stamp (or solint bin from the first time). */
function intervalsOf(vis: Visibilities, solint: number): { of: Int32Array; count: number } {
  let t0 = Infinity;
  for (let k = 0; k < vis.n; k++) t0 = Math.min(t0, vis.time[k]);
  const ids = new Map<string, number>();
  const of = new Int32Array(vis.n);
  for (let k = 0; k < vis.n; k++) {
    const bin = solint > 0 ? Math.floor(((vis.time[k] - t0) * DAY) / solint + 1e-9) : vis.time[k];
    const key = `${vis.subarray[k]}:${bin}`;
    let id = ids.get(key);
    if (id === undefined) ids.set(key, (id = ids.size));
    of[k] = id;
  }
  return { of, count: ids.size };
}

/**
 * Solves antenna gains of `vis` against the model visibilities (mRe, mIm) of the same visibilities (the measurement
 * operator of a model image on vis.u, vis.v).
 */
export function solveGains(vis: Visibilities, mRe: Float64Array, mIm: Float64Array, opts: SolveOptions): GainTable {
  const mode = opts.mode;
  const solint = opts.solint ?? 0;
  const minB = opts.minBaselines ?? (mode === 'p' ? 2 : 3);
  const maxIter = opts.maxIter ?? 500;
  const tol = opts.tol ?? 1e-12;
  if (mRe.length !== vis.n || mIm.length !== vis.n) throw new UserInputError(`self-calibration: ${mRe.length} model visibilities for ${vis.n} data`);
  const { of, count } = intervalsOf(vis, solint);
  // visibilities grouped by interval (counting sort, file order kept)
  const start = new Int32Array(count + 1);
  for (let k = 0; k < vis.n; k++) start[of[k] + 1]++;
  for (let i = 0; i < count; i++) start[i + 1] += start[i];
  const order = new Int32Array(vis.n);
  const fill = start.slice(0, count);
  for (let k = 0; k < vis.n; k++) order[fill[of[k]]++] = k;
  // the global reference preference: antennas by their number of visibilities
  const perAnt = new Map<number, number>();
  for (let k = 0; k < vis.n; k++) {
    perAnt.set(vis.ant1[k], (perAnt.get(vis.ant1[k]) ?? 0) + 1);
    perAnt.set(vis.ant2[k], (perAnt.get(vis.ant2[k]) ?? 0) + 1);
  }
  const preference = [...perAnt.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0]).map(([a]) => a);

  const slot1 = new Int32Array(vis.n);
  const slot2 = new Int32Array(vis.n);
  const gRe: number[] = [];
  const gIm: number[] = [];
  const okAll: number[] = [];
  const intervals: GainInterval[] = [];
  let failed = 0;
  for (let iv = 0; iv < count; iv++) {
    const ks = order.subarray(start[iv], start[iv + 1]);
    // local antenna indices
    const local = new Map<number, number>();
    for (const k of ks) {
      for (const a of [vis.ant1[k], vis.ant2[k]]) if (!local.has(a)) local.set(a, local.size);
    }
    const na = local.size;
    const antennas = [...local.keys()];
    const a1 = new Int32Array(ks.length);
    const a2 = new Int32Array(ks.length);
    ks.forEach((k, j) => {
      a1[j] = local.get(vis.ant1[k])!;
      a2[j] = local.get(vis.ant2[k])!;
    });
    // the flagging rule: distinct baselines with a non-zero model to unflagged antennas, repeated until stable
    const flagged = new Array<boolean>(na).fill(false);
    const usable = new Uint8Array(ks.length);
    ks.forEach((k, j) => {
      usable[j] = vis.weight[k] > 0 && (mRe[k] !== 0 || mIm[k] !== 0) && a1[j] !== a2[j] ? 1 : 0;
    });
    for (;;) {
      const partners = Array.from({ length: na }, () => new Set<number>());
      for (let j = 0; j < ks.length; j++) {
        if (!usable[j] || flagged[a1[j]] || flagged[a2[j]]) continue;
        partners[a1[j]].add(a2[j]);
        partners[a2[j]].add(a1[j]);
      }
      let changed = false;
      for (let a = 0; a < na; a++) {
        if (!flagged[a] && partners[a].size < minB) {
          flagged[a] = true;
          changed = true;
        }
      }
      if (!changed) break;
    }
    let gr = new Float64Array(na).fill(1);
    let gi = new Float64Array(na);
    const nr = new Float64Array(na);
    const ni = new Float64Array(na);
    const den = new Float64Array(na);
    let iterations = 0;
    if (flagged.some((f) => !f)) {
      for (let it = 0; it < maxIter; it++) {
        nr.fill(0);
        ni.fill(0);
        den.fill(0);
        for (let j = 0; j < ks.length; j++) {
          const p = a1[j];
          const q = a2[j];
          if (!usable[j] || flagged[p] || flagged[q]) continue;
          const k = ks[j];
          const w = vis.weight[k];
          const vr = vis.re[k];
          const vi = vis.im[k];
          const mr = mRe[k];
          const mi = mIm[k];
          // antenna p: V = g_p (g_q* M): z = g_q* M
          let zr = gr[q] * mr + gi[q] * mi;
          let zi = gr[q] * mi - gi[q] * mr;
          nr[p] += w * (vr * zr + vi * zi);
          ni[p] += w * (vi * zr - vr * zi);
          den[p] += w * (zr * zr + zi * zi);
          // antenna q: conj(V) = g_q (g_p* conj(M)): z = g_p* conj(M)
          zr = gr[p] * mr - gi[p] * mi;
          zi = -gr[p] * mi - gi[p] * mr;
          nr[q] += w * (vr * zr - vi * zi);
          ni[q] += w * (-vi * zr - vr * zi);
          den[q] += w * (zr * zr + zi * zi);
        }
        const hr = new Float64Array(na);
        const hi = new Float64Array(na);
        for (let a = 0; a < na; a++) {
          if (flagged[a]) continue;
          if (mode === 'p') {
            const m = Math.hypot(nr[a], ni[a]);
            if (!(m > 0)) {
              flagged[a] = true;
              continue;
            }
            hr[a] = nr[a] / m;
            hi[a] = ni[a] / m;
          } else {
            if (!(den[a] > 0)) {
              flagged[a] = true;
              continue;
            }
            hr[a] = nr[a] / den[a];
            hi[a] = ni[a] / den[a];
          }
          if (it % 2 === 1) {
            // every second step the average of the new and previous gains (StEFCal's damping)
            hr[a] = 0.5 * (hr[a] + gr[a]);
            hi[a] = 0.5 * (hi[a] + gi[a]);
            if (mode === 'p') {
              const m = Math.hypot(hr[a], hi[a]);
              hr[a] /= m;
              hi[a] /= m;
            }
          }
        }
        let delta = 0;
        let scale = 0;
        for (let a = 0; a < na; a++) {
          if (flagged[a]) continue;
          delta = Math.max(delta, Math.hypot(hr[a] - gr[a], hi[a] - gi[a]));
          scale = Math.max(scale, Math.hypot(hr[a], hi[a]));
        }
        gr = hr;
        gi = hi;
        iterations = it + 1;
        if (delta <= tol * Math.max(scale, 1e-300)) break;
      }
    }
    // the reference antenna: phase 0
    let ref = -1;
    for (const a of preference) {
      const l = local.get(a);
      if (l !== undefined && !flagged[l]) {
        ref = l;
        break;
      }
    }
    if (ref >= 0) {
      const m = Math.hypot(gr[ref], gi[ref]);
      const cr = gr[ref] / m;
      const ci = -gi[ref] / m;
      for (let a = 0; a < na; a++) {
        const r = gr[a] * cr - gi[a] * ci;
        gi[a] = gr[a] * ci + gi[a] * cr;
        gr[a] = r;
      }
    }
    const base = gRe.length;
    let ts = Infinity;
    let te = -Infinity;
    let tm = 0;
    for (const k of ks) {
      ts = Math.min(ts, vis.time[k]);
      te = Math.max(te, vis.time[k]);
      tm += vis.time[k];
    }
    ks.forEach((k, j) => {
      slot1[k] = base + a1[j];
      slot2[k] = base + a2[j];
    });
    const reOut: number[] = [];
    const imOut: number[] = [];
    for (let a = 0; a < na; a++) {
      gRe.push(flagged[a] ? NaN : gr[a]);
      gIm.push(flagged[a] ? NaN : gi[a]);
      okAll.push(flagged[a] ? 0 : 1);
      reOut.push(flagged[a] ? NaN : gr[a]);
      imOut.push(flagged[a] ? NaN : gi[a]);
      if (flagged[a]) failed++;
    }
    intervals.push({
      time: tm / ks.length,
      tStart: ts,
      tEnd: te,
      subarray: vis.subarray[ks[0]],
      refAntenna: ref >= 0 ? antennas[ref] : null,
      antennas,
      re: reOut,
      im: imOut,
      flagged,
      iterations,
    });
  }
  let normalisedBy = 1;
  if (mode === 'ap' && (opts.normalise ?? true)) {
    let sl = 0;
    let nl = 0;
    for (let i = 0; i < gRe.length; i++) {
      if (!okAll[i]) continue;
      sl += Math.log(Math.hypot(gRe[i], gIm[i]));
      nl++;
    }
    if (nl) {
      normalisedBy = Math.exp(sl / nl);
      for (let i = 0; i < gRe.length; i++) {
        gRe[i] /= normalisedBy;
        gIm[i] /= normalisedBy;
      }
      for (const iv of intervals) {
        for (let a = 0; a < iv.re.length; a++) {
          iv.re[a] /= normalisedBy;
          iv.im[a] /= normalisedBy;
        }
      }
    }
  }
  return {
    mode,
    solint,
    minBaselines: minB,
    normalisedBy,
    intervals,
    solutions: gRe.length,
    failed,
    slot1,
    slot2,
    gRe: Float64Array.from(gRe),
    gIm: Float64Array.from(gIm),
    ok: Uint8Array.from(okAll),
  };
}

/**
 * The corrected visibilities: V / (g_i g_j*), weights × |g_i g_j|², without the visibilities of flagged antennas
 * (counted in nFlagged). `vis` must be the visibilities the table was solved on.
 */
export function applyGains(vis: Visibilities, t: GainTable): Visibilities {
  if (t.slot1.length !== vis.n) throw new UserInputError(`self-calibration: a gain table of ${t.slot1.length} visibilities applied to ${vis.n}`);
  const keep: number[] = [];
  for (let k = 0; k < vis.n; k++) if (t.ok[t.slot1[k]] && t.ok[t.slot2[k]]) keep.push(k);
  const n = keep.length;
  const pick64 = (a: Float64Array) => Float64Array.from(keep, (k) => a[k]);
  const pick32 = (a: Int32Array) => Int32Array.from(keep, (k) => a[k]);
  const re = new Float64Array(n);
  const im = new Float64Array(n);
  const weight = new Float64Array(n);
  keep.forEach((k, j) => {
    const p = t.slot1[k];
    const q = t.slot2[k];
    // G = g_p g_q*
    const Gr = t.gRe[p] * t.gRe[q] + t.gIm[p] * t.gIm[q];
    const Gi = t.gIm[p] * t.gRe[q] - t.gRe[p] * t.gIm[q];
    const g2 = Gr * Gr + Gi * Gi;
    re[j] = (vis.re[k] * Gr + vis.im[k] * Gi) / g2;
    im[j] = (vis.im[k] * Gr - vis.re[k] * Gi) / g2;
    weight[j] = vis.weight[k] * g2;
  });
  const dropped = vis.n - n;
  return {
    ...vis,
    n,
    u: pick64(vis.u),
    v: pick64(vis.v),
    w: pick64(vis.w),
    re,
    im,
    weight,
    freq: pick64(vis.freq),
    time: pick64(vis.time),
    ant1: pick32(vis.ant1),
    ant2: pick32(vis.ant2),
    baseline: pick32(vis.baseline),
    subarray: pick32(vis.subarray),
    group: pick32(vis.group),
    ifIndex: pick32(vis.ifIndex),
    chan: pick32(vis.chan),
    nFlagged: vis.nFlagged + dropped,
    notes: dropped ? [...vis.notes, `self-calibration: ${dropped} visibilities of antennas without a gain solution left out`] : vis.notes,
  };
}

/** χ² per real degree of freedom (two per visibility; weights 1/σ² of each part) of model visibilities. */
export function modelChi2(vis: Pick<Visibilities, 'n' | 're' | 'im' | 'weight'>, mRe: Float64Array, mIm: Float64Array): number {
  let s = 0;
  for (let k = 0; k < vis.n; k++) s += vis.weight[k] * ((vis.re[k] - mRe[k]) ** 2 + (vis.im[k] - mIm[k]) ** 2);
  return s / (2 * vis.n);
}

export interface SelfcalCleanSettings {
  weighting: WeightingScheme;
  robust: number;
  niter: number;
  gain: number;
  /** Jy/beam; a number, or 'auto': 3 × the noise the weights predict. */
  threshold: number | 'auto';
  method: CleanMethod;
  measure?: 'auto' | 'dft' | 'nufft';
  mask?: Uint8Array;
}

export interface SelfcalLoopOptions {
  mode: SelfcalMode;
  /** Rounds of solve and apply (default 3). */
  rounds?: number;
  solint?: number;
  /**
   * The first round's model: a point source at the phase centre (difmap's starting model), the CLEAN of the data as
   * they are, the closure image of the raw data (closure.ts: a regularised maximum-likelihood image of the closure
   * phases and log closure amplitudes, which no station gain changes), or (default) 'auto': that CLEAN where its
   * model fits the raw data to χ²/dof ≤ AUTO_START_CHI2, else the point.
   */
  start?: SelfcalStart;
  /** The closure image's settings (start 'closure'; closure.ts's defaults where absent). */
  closure?: ClosureImageOptions;
  clean: SelfcalCleanSettings;
}

export interface SelfcalRound {
  round: number;
  /** 'p' or 'ap' solved in this round ('ap' runs phase only in its first round). */
  mode: SelfcalMode;
  /** The model solved against: 'clean', 'point' or 'closure'. */
  model: SelfcalFirstModel;
  modelFlux: number;
  /** The CLEAN's residual image rms (Jy/beam) and that over the noise the weights predict; null for a point or closure model. */
  residualRms: number | null;
  residualOverNoise: number | null;
  cleanIterations: number | null;
  /** χ² per real dof of the model against the data it was made from, and against the data corrected with this round's gains. */
  chi2Before: number;
  chi2After: number;
  /** Fraction of antenna solutions flagged. */
  failedFraction: number;
  /** Scatter of successive visibilities over the weights' σ (robust) of the corrected data (null: no pairs). */
  thermalRobustRatio: number | null;
  /** The gains' phase rms (degrees) about the reference. */
  phaseRmsDeg: number;
}

export interface SelfcalResult {
  vis: Visibilities;
  gains: GainTable;
  rounds: SelfcalRound[];
  /** The first round's model as chosen ('auto' resolved). */
  start: SelfcalFirstModel;
  /** The closure image's figures where it was the first model (start 'closure'). */
  closure?: ClosureStartSummary;
  /** The CLEAN of the data before any gains (round 0's figures: model flux, residual, χ²). */
  initial: { modelFlux: number; residualRms: number; residualOverNoise: number; chi2: number; thermalRobustRatio: number | null };
}

/** The closure image of a 'closure' start (closure.ts), as NAME-gains.json and report.json give it. */
export interface ClosureStartSummary {
  size: number;
  /** Cell, the prior Gaussian's FWHM (µas), and the total flux it holds (Jy: the shortest baselines' amplitude). */
  cellUas: number;
  priorFwhmUas: number;
  flux: number;
  closurePhases: number;
  logClosureAmplitudes: number;
  /** χ² per closure of the prior Gaussian (the start) and of the image. */
  chi2PhaseStart: number;
  chi2LogAmpStart: number;
  chi2Phase: number;
  chi2LogAmp: number;
  iterations: number;
}

const UAS = Math.PI / 180 / 3600 / 1e6;

function closureSummary(c: ClosureImage): ClosureStartSummary {
  return {
    size: c.grid.nx,
    cellUas: c.grid.cell / UAS,
    priorFwhmUas: c.priorFwhm / UAS,
    flux: c.flux,
    closurePhases: c.set.nPhase,
    logClosureAmplitudes: c.set.nLogAmp,
    chi2PhaseStart: c.chi2PhaseStart,
    chi2LogAmpStart: c.chi2LogAmpStart,
    chi2Phase: c.chi2Phase,
    chi2LogAmp: c.chi2LogAmp,
    iterations: c.iterations,
  };
}

interface CleanRun {
  A: Measurement;
  model: Float64Array;
  modelFlux: number;
  residualRms: number;
  residualOverNoise: number;
  iterations: number;
  mRe: Float64Array;
  mIm: Float64Array;
}

function cleanOf(vis: Visibilities, grid: ImageGrid, s: SelfcalCleanSettings): CleanRun {
  const w = imagingWeights(vis.u, vis.v, vis.weight, grid, { scheme: s.weighting, robust: s.robust });
  // the image noise the data weights predict
  const noise = imageNoise(w, vis.weight);
  const A = chooseMeasurement(vis.u, vis.v, grid, { method: s.measure });
  const big = dirtyBeam(vis.u, vis.v, w, doubleGrid(grid), { method: s.measure });
  const threshold = s.threshold === 'auto' ? 3 * noise : s.threshold;
  const r = clean(A, vis.re, vis.im, w, big, { method: s.method, niter: s.niter, gain: s.gain, threshold, mask: s.mask });
  let ss = 0;
  for (const x of r.residual) ss += x * x;
  const rms = Math.sqrt(ss / r.residual.length);
  const m = A.forward(r.model);
  return { A, model: r.model, modelFlux: r.modelFlux, residualRms: rms, residualOverNoise: rms / noise, iterations: r.iterations, mRe: m.re, mIm: m.im };
}

/**
 * The real parameters the gains took from the data: per interval with a reference antenna, one phase for each
 * unflagged antenna but the reference ('p'), or an amplitude for each and a phase for each but the reference ('ap').
 * A χ² of the corrected data against a model fits these too: its expectation is (2M − this), not 2M.
 */
export function gainParameters(t: GainTable): number {
  let p = 0;
  for (const iv of t.intervals) {
    if (iv.refAntenna === null) continue;
    const ok = iv.flagged.filter((f) => !f).length;
    if (ok === 0) continue;
    p += t.mode === 'p' ? ok - 1 : 2 * ok - 1;
  }
  return p;
}

/** The gains' phase rms (degrees) over unflagged solutions. */
export function gainPhaseRms(t: GainTable): number {
  let s = 0;
  let n = 0;
  for (let i = 0; i < t.gRe.length; i++) {
    if (!t.ok[i]) continue;
    s += Math.atan2(t.gIm[i], t.gRe[i]) ** 2;
    n++;
  }
  return n ? (Math.sqrt(s / n) * 180) / Math.PI : 0;
}

/**
 * The CLEAN / self-calibration loop on `grid`: each round CLEANs the data as corrected so far (the raw data in the
 * first round, or a point source at the phase centre, or the closure image of the raw data: `start`), solves the raw data's gains against
 * that model and applies them to the raw data. `ap` solves phases only in the first round, amplitudes and phases
 * after. The returned visibilities are the raw data corrected with the last round's gains.
 */
export function selfcalLoop(raw: Visibilities, grid: ImageGrid, o: SelfcalLoopOptions): SelfcalResult {
  const it = selfcalSteps(raw, grid, o);
  for (;;) {
    const step = it.next();
    if (step.done) return step.value;
  }
}

/** Where selfcalSteps paused: after the first CLEAN, or after round `round` of `rounds`. */
export interface SelfcalPause {
  round: number;
  rounds: number;
}

/**
 * selfcalLoop as steps: the same computation, paused after the CLEAN of the data as given and after every round
 * (each round's CLEAN and solve run in one piece), so that a host can answer other requests and stop the loop
 * between them. The generator's return value is selfcalLoop's.
 */
export function* selfcalSteps(raw: Visibilities, grid: ImageGrid, o: SelfcalLoopOptions): Generator<SelfcalPause, SelfcalResult, void> {
  const rounds = o.rounds ?? 3;
  if (!Number.isInteger(rounds) || rounds < 1) throw new UserInputError(`self-calibration: rounds must be a whole number ≥ 1, got ${rounds}`);
  if (o.clean.niter < 1) throw new UserInputError('self-calibration needs a CLEAN model: niter ≥ 1');
  const A0 = chooseMeasurement(raw.u, raw.v, grid, { method: o.clean.measure });
  const th0 = thermalCheck(raw);
  const c0 = cleanOf(raw, grid, o.clean);
  const initial = {
    modelFlux: c0.modelFlux,
    residualRms: c0.residualRms,
    residualOverNoise: c0.residualOverNoise,
    chi2: modelChi2(raw, c0.mRe, c0.mIm),
    thermalRobustRatio: th0 ? th0.robustRatio : null,
  };
  yield { round: 0, rounds };
  const start: SelfcalFirstModel = (o.start ?? 'auto') === 'auto' ? (initial.chi2 <= AUTO_START_CHI2 ? 'clean' : 'point') : (o.start as SelfcalFirstModel);
  // the closure image: its own grid (closure.ts; the loop's field where the amplitudes never halve), its
  // visibilities at the raw data's (u, v)
  let closure: ClosureImage | null = null;
  if (start === 'closure') {
    closure = closureImage(raw, { unresolvedField: Math.max(grid.nx, grid.ny) * grid.cell, ...o.closure });
    yield { round: 0, rounds };
  }
  let current = raw;
  let table: GainTable | null = null;
  const out: SelfcalRound[] = [];
  let cur: CleanRun | null = c0;
  for (let r = 1; r <= rounds; r++) {
    const point = r === 1 && start === 'point';
    const fromClosure = r === 1 && closure !== null;
    let mRe: Float64Array;
    let mIm: Float64Array;
    let chi2Before: number;
    let modelFlux: number;
    if (point) {
      // a point source at the phase centre with the weighted mean amplitude (phase only in round 1: its flux does not matter)
      let sw = 0;
      let sa = 0;
      for (let k = 0; k < raw.n; k++) {
        sw += raw.weight[k];
        sa += raw.weight[k] * Math.hypot(raw.re[k], raw.im[k]);
      }
      modelFlux = sa / sw;
      mRe = new Float64Array(raw.n).fill(modelFlux);
      mIm = new Float64Array(raw.n);
      chi2Before = modelChi2(raw, mRe, mIm);
    } else if (fromClosure) {
      const m = chooseMeasurement(raw.u, raw.v, closure!.grid, { method: o.clean.measure }).forward(closure!.image);
      mRe = m.re;
      mIm = m.im;
      modelFlux = closure!.flux;
      chi2Before = modelChi2(raw, mRe, mIm);
    } else {
      if (!cur) cur = cleanOf(current, grid, o.clean);
      const m = A0.forward(cur.model);
      mRe = m.re;
      mIm = m.im;
      modelFlux = cur.modelFlux;
      chi2Before = modelChi2(current, cur.mRe, cur.mIm);
    }
    if (!(Math.abs(modelFlux) > 0)) throw new UserInputError('self-calibration: the CLEAN model is empty (no flux above the threshold): no model to calibrate against');
    // 'ap' solves phases only in round 1, from the closure image too: closures leave the amplitudes of sparsely
    // sampled baselines partly free (on the EHT file amplitude gains against the closure image have medians of
    // 2.2–2.4 at ALMA and the South Pole, and the corrected data's scale would follow them)
    const mode: SelfcalMode = o.mode === 'ap' && r > 1 ? 'ap' : 'p';
    table = solveGains(raw, mRe, mIm, { mode, solint: o.solint });
    current = applyGains(raw, table);
    // the model on the corrected data (the visibilities kept)
    const keepRe: number[] = [];
    const keepIm: number[] = [];
    for (let k = 0; k < raw.n; k++) {
      if (table.ok[table.slot1[k]] && table.ok[table.slot2[k]]) {
        keepRe.push(mRe[k]);
        keepIm.push(mIm[k]);
      }
    }
    const th = thermalCheck(current);
    out.push({
      round: r,
      mode,
      model: point ? 'point' : fromClosure ? 'closure' : 'clean',
      modelFlux,
      residualRms: point || fromClosure ? null : cur!.residualRms,
      residualOverNoise: point || fromClosure ? null : cur!.residualOverNoise,
      cleanIterations: point || fromClosure ? null : cur!.iterations,
      chi2Before,
      chi2After: modelChi2(current, Float64Array.from(keepRe), Float64Array.from(keepIm)),
      failedFraction: table.solutions ? table.failed / table.solutions : 0,
      thermalRobustRatio: th ? th.robustRatio : null,
      phaseRmsDeg: gainPhaseRms(table),
    });
    cur = null;
    if (r < rounds) yield { round: r, rounds };
  }
  return { vis: current, gains: table!, rounds: out, start, initial, ...(closure ? { closure: closureSummary(closure) } : {}) };
}

/** The gain table as JSON rows (time as Julian date and ISO, antenna number and name, amplitude, phase in degrees). */
export function gainTableJson(t: GainTable, antennaName: (n: number) => string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const rows: Record<string, unknown>[] = [];
  for (const iv of t.intervals) {
    iv.antennas.forEach((a, i) => {
      const ok = !iv.flagged[i];
      rows.push({
        time: iv.time,
        iso: new Date((iv.time - 2440587.5) * 86400000).toISOString(),
        subarray: iv.subarray,
        antenna: a,
        name: antennaName(a),
        amplitude: ok ? Math.hypot(iv.re[i], iv.im[i]) : null,
        phaseDeg: ok ? (Math.atan2(iv.im[i], iv.re[i]) * 180) / Math.PI : null,
        flagged: !ok,
        reference: iv.refAntenna === a,
      });
    });
  }
  return {
    mode: t.mode,
    solintSeconds: t.solint,
    minBaselines: t.minBaselines,
    amplitudesDividedBy: t.normalisedBy,
    intervals: t.intervals.length,
    solutions: t.solutions,
    failed: t.failed,
    gainParameters: gainParameters(t),
    convention: 'V_corrected = V / (g_i conj(g_j)) for baseline (i, j) = (ant1, ant2); weights × |g_i g_j|²; the reference antenna has phase 0',
    ...extra,
    gains: rows,
  };
}

/** The HISTORY card of self-calibrated products: `clean --selfcal`, `reconstruct --vis --selfcal` and the app's jobs write the same. */
export function selfcalHistory(r: SelfcalResult, flags: string, rawCount: number): string {
  return `self-calibrated: ${flags} (first model ${r.start}); ${r.gains.failed} of ${r.gains.solutions} antenna solutions flagged; ${r.vis.n} of ${rawCount} visibilities kept`;
}

/**
 * NAME-gains.json as `clean --selfcal` writes it (and the app's CLEAN job): the last round's gain table with the
 * file, the command line that gives it, the first model, the figures before and of every round; antennas by their
 * AN-table names.
 */
export function gainTableFile(r: SelfcalResult, antennas: readonly { number: number; name: string }[], o: { file: string; command: string }): Uint8Array {
  const names = new Map(antennas.map((a) => [a.number, a.name]));
  const json = gainTableJson(r.gains, (n) => names.get(n) ?? `ANT${n}`, { file: o.file, command: o.command, start: r.start, ...(r.closure ? { closureStart: r.closure } : {}), initial: r.initial, rounds: r.rounds });
  return new TextEncoder().encode(JSON.stringify(json, null, 2) + '\n');
}

/** The self-calibration settings as the flags that give them (HISTORY, report.json). */
export function selfcalFlags(o: { mode: SelfcalMode; rounds: number; solint: number; start: SelfcalStart }): string {
  return `--selfcal ${o.mode} --selfcal-rounds ${o.rounds} --solint ${o.solint} --selfcal-start ${o.start}`;
}

/** The closure image's line (a 'closure' start): grid, closures, χ² per closure from the prior Gaussian to the image. */
export function describeClosureStart(c: ClosureStartSummary): string {
  return (
    `closure image ${c.size}² × ${c.cellUas.toPrecision(3)} µas, flux ${c.flux.toPrecision(4)} Jy, prior Gaussian FWHM ${c.priorFwhmUas.toPrecision(3)} µas: ` +
    `${c.closurePhases} closure phases χ²/N ${c.chi2PhaseStart.toPrecision(4)} → ${c.chi2Phase.toPrecision(4)}, ${c.logClosureAmplitudes} log closure amplitudes ${c.chi2LogAmpStart.toPrecision(4)} → ${c.chi2LogAmp.toPrecision(4)} (${c.iterations} L-BFGS iterations)`
  );
}

/** One line per round: model, residual, χ² before and after, failed solutions, phase rms. */
export function describeRound(r: SelfcalRound): string {
  const res = r.residualRms === null ? `${r.model} model` : `CLEAN ${r.cleanIterations} iterations, residual rms ${(r.residualRms * 1e3).toPrecision(3)} mJy/beam (${r.residualOverNoise!.toFixed(2)} × noise)`;
  return (
    `round ${r.round} (${r.mode}): model flux ${r.modelFlux.toPrecision(4)} Jy, ${res}; χ²/dof of the model ${r.chi2Before.toPrecision(4)} → ${r.chi2After.toPrecision(4)} after the gains; ` +
    `${(100 * r.failedFraction).toFixed(1)} % solutions failed; gain phase rms ${r.phaseRmsDeg.toFixed(1)}°` +
    (r.thermalRobustRatio !== null ? `; successive-visibility scatter / σ ${r.thermalRobustRatio.toFixed(2)}` : '')
  );
}
