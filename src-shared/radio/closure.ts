/**
 * Closure quantities and a regularised maximum-likelihood image from them: a start model for self-calibration that
 * station gains cannot bias (eht-imaging's and SMILI's closure imaging, in small).
 *
 * Closure sets. The visibilities are grouped by subarray, time stamp, IF and channel; in each group the stations are
 * ordered by their number of visibilities in the whole data set (the reference first). Candidate triangles (a, b, c)
 * and quadrangles (a, b, c, d) come in that order (those with the reference first), and each is kept where its
 * vector over the group's baselines is linearly independent of those kept before (Gram–Schmidt): with every
 * baseline present, (N−1)(N−2)/2 closure phases and N(N−3)/2 log closure amplitudes of N stations — a
 * non-redundant set, the standard choice of triangles and quadrangles with a reference station — and where
 * baselines are missing, as many independent ones as the baselines present allow.
 *
 *   closure phase       ψ_abc = arg V_ab + arg V_bc + arg V_ca                         (station phases cancel)
 *   log closure amp.    L_abcd = ln|V_ab| + ln|V_cd| − ln|V_ac| − ln|V_bd|             (station amplitudes cancel)
 *
 * Their σ by first-order propagation of each visibility's σ = 1/√w (per part): σ_ψ² = σ_L² = Σ σ_k²/|V_k|² over the
 * closure's visibilities (no debiasing of low-S/N amplitudes).
 *
 * The image. x = F · softmax(θ) over a square grid (positive, total flux F fixed: closure quantities carry no flux
 * scale, so F is the shortest baselines' amplitude, amplitudeSize's shortFlux) minimises
 *
 *   J(x) = χ²_ψ/N_ψ + χ²_L/N_L + α_A · χ²_A/N_A + β_S · S(x) + β_TSV · TSV(x)/TSV(P)
 *
 *   χ²_ψ = Σ 2 (1 − cos(ψ_obs − ψ(x)))/σ_ψ²   (eht-imaging's form: smooth through the wrap),  χ²_L = Σ (L_obs − L(x))²/σ_L²,
 *   χ²_A = Σ (|V| − |V(x)|)²/(σ² + (f|V|)²)   (visibility amplitudes with a systematic fraction f for station
 *          amplitude gains; off by default, CLOSURE_AMP: they are not gain-independent),
 *   S(x) = Σ x_i ln(x_i/P_i) / F   (relative entropy against P, a circular Gaussian of flux F and amplitudeSize's FWHM at the centre),
 *   TSV(x) = Σ (x_i − x_right)² + (x_i − x_below)²   (total squared variation, relative to the prior's own),
 *
 * with gradients through the direct Fourier transform (dft.ts) and L-BFGS (lbfgs below). The fit runs in stages
 * from P: each stage's image is blurred by a Gaussian of half the nominal resolution 1/u_max and fitted again
 * (eht-imaging's blur-and-reimage), and the last stage is not blurred; after each stage the image is shifted by whole
 * pixels to put its flux centroid on the phase centre (the closures do not fix the position).
 *
 * What it is not: a likelihood of the posterior (the posterior's likelihood stays the complex visibilities'); the
 * closure image is the first model of the self-calibration loop (--selfcal-start closure). The absolute position is
 * not in the closures: the relative entropy keeps the image about the phase centre.
 */
import type { Visibilities } from './uvfits.js';
import type { ImageGrid } from './grid.js';
import { dftAdjoint, dftForward } from './dft.js';
import { amplitudeSize } from './field.js';
import { uvRange } from './imaging.js';
import { UserInputError } from '../errors.js';

/** A closure set: each closure phase's 3 visibilities (index into the data, sign ±1) and each log closure amplitude's 4 (sign +1, +1, −1, −1). */
export interface ClosureSet {
  nPhase: number;
  phaseIdx: Int32Array;
  phaseSign: Float64Array;
  phaseObs: Float64Array;
  phaseSigma: Float64Array;
  nLogAmp: number;
  ampIdx: Int32Array;
  ampSign: Float64Array;
  ampObs: Float64Array;
  ampSigma: Float64Array;
  /** Groups (time stamps × IF × channel) with at least one closure. */
  groups: number;
}

type ClosureData = Pick<Visibilities, 'n' | 're' | 'im' | 'weight' | 'ant1' | 'ant2' | 'time' | 'subarray' | 'ifIndex' | 'chan'>;

/** Incremental Gram–Schmidt: accepts vectors linearly independent of those accepted before. */
class IndependentSet {
  private basis: Float64Array[] = [];
  constructor(private readonly dim: number) {}
  get size(): number {
    return this.basis.length;
  }
  tryAdd(v: Float64Array): boolean {
    if (this.basis.length >= this.dim) return false;
    const r = Float64Array.from(v);
    const n0 = Math.hypot(...r);
    for (let pass = 0; pass < 2; pass++) {
      for (const b of this.basis) {
        let d = 0;
        for (let i = 0; i < r.length; i++) d += r[i] * b[i];
        for (let i = 0; i < r.length; i++) r[i] -= d * b[i];
      }
    }
    const n = Math.hypot(...r);
    if (!(n > 1e-8 * n0)) return false;
    for (let i = 0; i < r.length; i++) r[i] /= n;
    this.basis.push(r);
    return true;
  }
}

/** Wraps an angle into (−π, π]. */
export function wrapAngle(a: number): number {
  return Math.atan2(Math.sin(a), Math.cos(a));
}

/** The non-redundant closure phases and log closure amplitudes of the data (the module comment). */
export function closureSet(vis: ClosureData): ClosureSet {
  const perAnt = new Map<number, number>();
  for (let k = 0; k < vis.n; k++) {
    if (!(vis.weight[k] > 0) || vis.ant1[k] === vis.ant2[k]) continue;
    perAnt.set(vis.ant1[k], (perAnt.get(vis.ant1[k]) ?? 0) + 1);
    perAnt.set(vis.ant2[k], (perAnt.get(vis.ant2[k]) ?? 0) + 1);
  }
  const rank = new Map([...perAnt.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0]).map(([a], i) => [a, i]));
  const groups = new Map<string, number[]>();
  for (let k = 0; k < vis.n; k++) {
    if (!(vis.weight[k] > 0) || vis.ant1[k] === vis.ant2[k] || !(Math.hypot(vis.re[k], vis.im[k]) > 0)) continue;
    const key = `${vis.subarray[k]}:${vis.time[k]}:${vis.ifIndex[k]}:${vis.chan[k]}`;
    const g = groups.get(key);
    if (g) g.push(k);
    else groups.set(key, [k]);
  }
  const pIdx: number[] = [];
  const pSign: number[] = [];
  const aIdx: number[] = [];
  const aSign: number[] = [];
  let used = 0;
  for (const ks of groups.values()) {
    // one visibility per baseline (the highest weight), by the stations' order
    const stations = [...new Set(ks.flatMap((k) => [vis.ant1[k], vis.ant2[k]]))].sort((a, b) => rank.get(a)! - rank.get(b)!);
    const n = stations.length;
    if (n < 3) continue;
    const at = new Map(stations.map((s, i) => [s, i]));
    const bl = new Int32Array(n * n).fill(-1);
    for (const k of ks) {
      const i = at.get(vis.ant1[k])!;
      const j = at.get(vis.ant2[k])!;
      const old = bl[i * n + j];
      if (old < 0 || vis.weight[k] > vis.weight[old]) {
        bl[i * n + j] = k;
        bl[j * n + i] = k;
      }
    }
    // the baselines present: an index each for the independence test
    const bIndex = new Int32Array(n * n).fill(-1);
    let nb = 0;
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) if (bl[i * n + j] >= 0) bIndex[i * n + j] = bIndex[j * n + i] = nb++;
    // oriented visibility i→j: the datum and the sign of its phase (V_ji = conj V_ij)
    const term = (i: number, j: number): [number, number] => {
      const k = bl[i * n + j];
      return [k, vis.ant1[k] === stations[i] ? 1 : -1];
    };
    const has = (i: number, j: number) => bl[i * n + j] >= 0;
    const before = pIdx.length + aIdx.length;
    // closure phases: triangles (a, b, c), a < b < c in the stations' order
    const tri = new IndependentSet(nb);
    for (let a = 0; a < n; a++) {
      for (let b = a + 1; b < n; b++) {
        for (let c = b + 1; c < n; c++) {
          if (!has(a, b) || !has(b, c) || !has(a, c)) continue;
          const t = [term(a, b), term(b, c), term(c, a)];
          const vec = new Float64Array(nb);
          vec[bIndex[a * n + b]] = 1;
          vec[bIndex[b * n + c]] = 1;
          vec[bIndex[a * n + c]] = -1;
          if (!tri.tryAdd(vec)) continue;
          for (const [k, s] of t) {
            pIdx.push(k);
            pSign.push(s);
          }
        }
      }
    }
    // log closure amplitudes: quadrangles of a < b < c < d, the three ratios of each
    if (n >= 4) {
      const quad = new IndependentSet(nb);
      for (let a = 0; a < n; a++) {
        for (let b = a + 1; b < n; b++) {
          for (let c = b + 1; c < n; c++) {
            for (let d = c + 1; d < n; d++) {
              // |V_p V_q| / |V_r V_s|
              const ratios: [number, number][][] = [
                [[a, b], [c, d], [a, c], [b, d]],
                [[a, b], [c, d], [a, d], [b, c]],
                [[a, c], [b, d], [a, d], [b, c]],
              ];
              for (const r of ratios) {
                if (!r.every(([i, j]) => has(i, j))) continue;
                const vec = new Float64Array(nb);
                r.forEach(([i, j], q) => (vec[bIndex[i * n + j]] += q < 2 ? 1 : -1));
                if (!quad.tryAdd(vec)) continue;
                r.forEach(([i, j], q) => {
                  aIdx.push(bl[i * n + j]);
                  aSign.push(q < 2 ? 1 : -1);
                });
              }
            }
          }
        }
      }
    }
    if (pIdx.length + aIdx.length > before) used++;
  }
  const nPhase = pIdx.length / 3;
  const nLogAmp = aIdx.length / 4;
  const set: ClosureSet = {
    nPhase,
    phaseIdx: Int32Array.from(pIdx),
    phaseSign: Float64Array.from(pSign),
    phaseObs: new Float64Array(nPhase),
    phaseSigma: new Float64Array(nPhase),
    nLogAmp,
    ampIdx: Int32Array.from(aIdx),
    ampSign: Float64Array.from(aSign),
    ampObs: new Float64Array(nLogAmp),
    ampSigma: new Float64Array(nLogAmp),
    groups: used,
  };
  const c = closureValues(set, vis.re, vis.im);
  set.phaseObs.set(c.phase);
  set.ampObs.set(c.logAmp);
  const varOf = (k: number) => 1 / (vis.weight[k] * (vis.re[k] ** 2 + vis.im[k] ** 2));
  for (let t = 0; t < nPhase; t++) set.phaseSigma[t] = Math.sqrt(varOf(pIdx[3 * t]) + varOf(pIdx[3 * t + 1]) + varOf(pIdx[3 * t + 2]));
  for (let t = 0; t < nLogAmp; t++) set.ampSigma[t] = Math.sqrt(varOf(aIdx[4 * t]) + varOf(aIdx[4 * t + 1]) + varOf(aIdx[4 * t + 2]) + varOf(aIdx[4 * t + 3]));
  return set;
}

/** The closure phases (wrapped into (−π, π]) and log closure amplitudes of visibilities (re, im) indexed as the data the set was made from. */
export function closureValues(set: ClosureSet, re: ArrayLike<number>, im: ArrayLike<number>): { phase: Float64Array; logAmp: Float64Array } {
  const phase = new Float64Array(set.nPhase);
  const logAmp = new Float64Array(set.nLogAmp);
  for (let t = 0; t < set.nPhase; t++) {
    let s = 0;
    for (let q = 0; q < 3; q++) {
      const k = set.phaseIdx[3 * t + q];
      s += set.phaseSign[3 * t + q] * Math.atan2(im[k], re[k]);
    }
    phase[t] = wrapAngle(s);
  }
  for (let t = 0; t < set.nLogAmp; t++) {
    let s = 0;
    for (let q = 0; q < 4; q++) {
      const k = set.ampIdx[4 * t + q];
      s += 0.5 * set.ampSign[4 * t + q] * Math.log(re[k] * re[k] + im[k] * im[k]);
    }
    logAmp[t] = s;
  }
  return { phase, logAmp };
}

/**
 * χ²_ψ and χ²_L of model visibilities (mRe, mIm), and their gradients with respect to the model's real and imaginary
 * parts (added into gRe, gIm with the factors given).
 */
export function closureChi2(
  set: ClosureSet,
  mRe: ArrayLike<number>,
  mIm: ArrayLike<number>,
  grad?: { gRe: Float64Array; gIm: Float64Array; phaseFactor: number; ampFactor: number },
): { phase: number; logAmp: number } {
  let cp = 0;
  for (let t = 0; t < set.nPhase; t++) {
    let psi = 0;
    for (let q = 0; q < 3; q++) {
      const k = set.phaseIdx[3 * t + q];
      psi += set.phaseSign[3 * t + q] * Math.atan2(mIm[k], mRe[k]);
    }
    const d = set.phaseObs[t] - psi;
    const iv = 1 / (set.phaseSigma[t] * set.phaseSigma[t]);
    cp += 2 * (1 - Math.cos(d)) * iv;
    if (grad) {
      // d/dψ of 2(1 − cos(obs − ψ)) = −2 sin(obs − ψ); d arg M = (x dy − y dx)/|M|²
      const f = -2 * Math.sin(d) * iv * grad.phaseFactor;
      for (let q = 0; q < 3; q++) {
        const k = set.phaseIdx[3 * t + q];
        const m2 = mRe[k] * mRe[k] + mIm[k] * mIm[k];
        const s = (f * set.phaseSign[3 * t + q]) / m2;
        grad.gRe[k] -= s * mIm[k];
        grad.gIm[k] += s * mRe[k];
      }
    }
  }
  let la = 0;
  for (let t = 0; t < set.nLogAmp; t++) {
    let L = 0;
    for (let q = 0; q < 4; q++) {
      const k = set.ampIdx[4 * t + q];
      L += 0.5 * set.ampSign[4 * t + q] * Math.log(mRe[k] * mRe[k] + mIm[k] * mIm[k]);
    }
    const d = set.ampObs[t] - L;
    const iv = 1 / (set.ampSigma[t] * set.ampSigma[t]);
    la += d * d * iv;
    if (grad) {
      // d ln|M| = (x dx + y dy)/|M|²
      const f = -2 * d * iv * grad.ampFactor;
      for (let q = 0; q < 4; q++) {
        const k = set.ampIdx[4 * t + q];
        const m2 = mRe[k] * mRe[k] + mIm[k] * mIm[k];
        const s = (f * set.ampSign[4 * t + q]) / m2;
        grad.gRe[k] += s * mRe[k];
        grad.gIm[k] += s * mIm[k];
      }
    }
  }
  return { phase: cp, logAmp: la };
}

export interface LbfgsOptions {
  /** Most iterations (default 200), memory (default 10). */
  maxIter?: number;
  memory?: number;
  /** Stops where max |g| ≤ gtol (default 1e-9) or the relative decrease of f over an iteration ≤ ftol (default 1e-10). */
  gtol?: number;
  ftol?: number;
}

export interface LbfgsResult {
  x: Float64Array;
  f: number;
  iterations: number;
  evaluations: number;
  /** Why it stopped. */
  stop: 'gradient' | 'decrease' | 'iterations' | 'line search';
}

/**
 * Limited-memory BFGS (Nocedal & Wright, Algorithm 7.4: the two-loop recursion) with a backtracking Armijo line
 * search (quadratic interpolation, c₁ = 10⁻⁴); pairs with sᵀy ≤ 10⁻¹² |s||y| are not stored. `fg` returns f(x) and
 * writes ∇f into g.
 */
export function lbfgs(fg: (x: Float64Array, g: Float64Array) => number, x0: Float64Array, o: LbfgsOptions = {}): LbfgsResult {
  const maxIter = o.maxIter ?? 200;
  const m = o.memory ?? 10;
  const gtol = o.gtol ?? 1e-9;
  const ftol = o.ftol ?? 1e-10;
  const n = x0.length;
  let x = Float64Array.from(x0);
  let g = new Float64Array(n);
  let f = fg(x, g);
  let evaluations = 1;
  const S: Float64Array[] = [];
  const Y: Float64Array[] = [];
  const rho: number[] = [];
  const dot = (a: Float64Array, b: Float64Array) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += a[i] * b[i];
    return s;
  };
  const gmax = (v: Float64Array) => {
    let s = 0;
    for (let i = 0; i < n; i++) s = Math.max(s, Math.abs(v[i]));
    return s;
  };
  let iterations = 0;
  let stop: LbfgsResult['stop'] = 'iterations';
  const alpha = new Float64Array(m);
  for (; iterations < maxIter; iterations++) {
    if (gmax(g) <= gtol) {
      stop = 'gradient';
      break;
    }
    // the two-loop recursion: d = −H g
    const d = Float64Array.from(g, (v) => -v);
    for (let i = S.length - 1; i >= 0; i--) {
      alpha[i] = rho[i] * dot(S[i], d);
      for (let j = 0; j < n; j++) d[j] -= alpha[i] * Y[i][j];
    }
    if (S.length) {
      const last = S.length - 1;
      const gamma = dot(S[last], Y[last]) / dot(Y[last], Y[last]);
      for (let j = 0; j < n; j++) d[j] *= gamma;
    } else {
      const s = 1 / Math.max(Math.sqrt(dot(g, g)), 1e-300);
      for (let j = 0; j < n; j++) d[j] *= s;
    }
    for (let i = 0; i < S.length; i++) {
      const b = rho[i] * dot(Y[i], d);
      for (let j = 0; j < n; j++) d[j] += S[i][j] * (alpha[i] - b);
    }
    let slope = dot(g, d);
    if (!(slope < 0)) {
      // not a descent direction: restart from steepest descent
      S.length = Y.length = rho.length = 0;
      const s = 1 / Math.max(Math.sqrt(dot(g, g)), 1e-300);
      for (let j = 0; j < n; j++) d[j] = -g[j] * s;
      slope = dot(g, d);
    }
    let step = 1;
    const xn = new Float64Array(n);
    const gn = new Float64Array(n);
    let fn = Infinity;
    let accepted = false;
    for (let ls = 0; ls < 40; ls++) {
      for (let j = 0; j < n; j++) xn[j] = x[j] + step * d[j];
      fn = fg(xn, gn);
      evaluations++;
      if (Number.isFinite(fn) && fn <= f + 1e-4 * step * slope) {
        accepted = true;
        break;
      }
      // the minimum of the quadratic through f, the slope and f(step), kept within [0.1, 0.5] × step
      const q = Number.isFinite(fn) ? (-slope * step * step) / (2 * (fn - f - slope * step)) : 0.1 * step;
      step = Math.min(0.5 * step, Math.max(0.1 * step, q));
    }
    if (!accepted) {
      stop = 'line search';
      break;
    }
    const s = new Float64Array(n);
    const y = new Float64Array(n);
    for (let j = 0; j < n; j++) {
      s[j] = xn[j] - x[j];
      y[j] = gn[j] - g[j];
    }
    const sy = dot(s, y);
    if (sy > 1e-12 * Math.sqrt(dot(s, s) * dot(y, y))) {
      if (S.length === m) {
        S.shift();
        Y.shift();
        rho.shift();
      }
      S.push(s);
      Y.push(y);
      rho.push(1 / sy);
    }
    const decrease = f - fn;
    x = Float64Array.from(xn);
    g = Float64Array.from(gn);
    f = fn;
    if (decrease <= ftol * Math.max(Math.abs(f), 1e-300)) {
      iterations++;
      stop = 'decrease';
      break;
    }
  }
  return { x, f, iterations, evaluations, stop };
}

export interface ClosureImageOptions {
  /** Pixels a side (default 64). */
  size?: number;
  /** Cell (radians); default CLOSURE_FIELD × amplitudeSize's FWHM / size. */
  cell?: number;
  /** Total flux (Jy); default amplitudeSize's shortFlux. */
  flux?: number;
  /** The prior Gaussian's FWHM (radians); default amplitudeSize's. */
  priorFwhm?: number;
  /**
   * The field (radians) to take where the amplitudes never halve out to the longest baseline (amplitudeSize's
   * `resolved` false: its FWHM is then only an upper bound on a compact core's, and a field of CLOSURE_FIELD of them
   * would cut off anything beside the core): the caller's image field, with a prior Gaussian of field /
   * CLOSURE_FIELD. Absent: amplitudeSize's FWHM as for a resolved source.
   */
  unresolvedField?: number;
  /** Weights of the relative entropy and of the total squared variation (defaults CLOSURE_MEM, CLOSURE_TSV). */
  mem?: number;
  tsv?: number;
  /** Stages of blur and re-image (default CLOSURE_STAGES), L-BFGS iterations in each (default CLOSURE_ITERATIONS). */
  stages?: number;
  iterations?: number;
  /** Use the closure phases, the log closure amplitudes (default both). */
  phases?: boolean;
  logAmplitudes?: boolean;
  /**
   * Weight of the visibility amplitudes' χ²/N (default CLOSURE_AMP; 0: closures only) and the fractional systematic
   * error added to their σ in quadrature for station amplitude gains (default CLOSURE_AMP_SYSTEMATIC).
   */
  amplitudes?: number;
  amplitudeSystematic?: number;
}

/** Field of view of the closure image in amplitudeSize's FWHM (64 pixels of 4.1 µas on the EHT file's 65 µas). */
export const CLOSURE_FIELD = 4;
export const CLOSURE_MEM = 0.1;
export const CLOSURE_TSV = 0.1;
export const CLOSURE_STAGES = 5;
/**
 * The amplitudes' weight (default 0: closures only, an image no station gain changes) and systematic fraction where
 * they are used. Closures leave visibility amplitudes partly free where the data sample them sparsely: on the EHT
 * file the closures-only image needs amplitude gains with medians of 2.2–2.4 (up to 4.5) at ALMA and the South Pole,
 * and with the amplitudes (σ widened by 10 % in quadrature) all three χ² come to about 1 with a compact, centrally
 * peaked image instead (docs/radio.md, Self-calibration).
 */
export const CLOSURE_AMP = 0;
/**
 * Most visibilities the closures may use: each of the fit's ~2000 evaluations is a DFT of them on 64² pixels and its
 * adjoint (the EHT file's 714: about 25 ms each on the 2-core machine); the closure start is for sparse VLBI arrays.
 */
export const CLOSURE_MAX_VISIBILITIES = 20_000;
export const CLOSURE_AMP_SYSTEMATIC = 0.1;
export const CLOSURE_ITERATIONS = 400;

export interface ClosureImage {
  grid: ImageGrid;
  /** The image (Jy/pixel), [ny, nx] row-major (grid.ts). */
  image: Float64Array;
  flux: number;
  priorFwhm: number;
  set: ClosureSet;
  /** χ²_ψ/N_ψ and χ²_L/N_L of the image (per closure; the closures are the degrees of freedom, the image's are not subtracted). */
  chi2Phase: number;
  chi2LogAmp: number;
  /** χ²/N of the amplitudes (σ with the systematic part; NaN where they were not used). */
  chi2Amp: number;
  /** The same for the prior Gaussian (the start). */
  chi2PhaseStart: number;
  chi2LogAmpStart: number;
  chi2AmpStart: number;
  iterations: number;
  evaluations: number;
}

/** A circular Gaussian of total flux `flux` and FWHM `fwhm` (radians) at the grid's centre. */
export function gaussianImage(grid: ImageGrid, flux: number, fwhm: number): Float64Array {
  const img = new Float64Array(grid.nx * grid.ny);
  const s2 = (fwhm / grid.cell / (2 * Math.sqrt(2 * Math.LN2))) ** 2;
  const cx = Math.floor(grid.nx / 2);
  const cy = Math.floor(grid.ny / 2);
  let t = 0;
  for (let y = 0; y < grid.ny; y++) {
    for (let x = 0; x < grid.nx; x++) {
      const v = Math.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * s2));
      img[y * grid.nx + x] = v;
      t += v;
    }
  }
  for (let i = 0; i < img.length; i++) img[i] *= flux / t;
  return img;
}

/** The image convolved with a circular Gaussian of FWHM `fwhm` (radians), separable, zero outside (flux renormalised). */
export function blurImage(img: Float64Array, grid: ImageGrid, fwhm: number): Float64Array {
  const s = fwhm / grid.cell / (2 * Math.sqrt(2 * Math.LN2));
  if (!(s > 0)) return Float64Array.from(img);
  const r = Math.ceil(4 * s);
  const k = Float64Array.from({ length: 2 * r + 1 }, (_, i) => Math.exp(-((i - r) ** 2) / (2 * s * s)));
  const { nx, ny } = grid;
  // one axis at a time: along x (stride 1, nx samples) over the rows, then along y (stride nx, ny samples) over the columns
  const pass = (src: Float64Array, stride: number, len: number, lines: number, lineStride: number): Float64Array => {
    const dst = new Float64Array(nx * ny);
    for (let l = 0; l < lines; l++) {
      const o = l * lineStride;
      for (let i = 0; i < len; i++) {
        let a = 0;
        let w = 0;
        for (let d = Math.max(-r, -i); d <= Math.min(r, len - 1 - i); d++) {
          a += k[d + r] * src[o + (i + d) * stride];
          w += k[d + r];
        }
        dst[o + i * stride] = a / w;
      }
    }
    return dst;
  };
  const out = pass(pass(img, 1, nx, ny, nx), nx, ny, nx, 1);
  let t0 = 0;
  let t1 = 0;
  for (let i = 0; i < img.length; i++) {
    t0 += img[i];
    t1 += out[i];
  }
  if (t1 > 0) for (let i = 0; i < out.length; i++) out[i] *= t0 / t1;
  return out;
}

/** The flux-weighted centroid (pixels: column, row) of an [ny, nx] image, and its total. */
function fluxCentroid(img: ArrayLike<number>, nx: number, ny: number): { cx: number; cy: number; total: number } {
  let total = 0;
  let sx = 0;
  let sy = 0;
  for (let y = 0; y < ny; y++) {
    for (let x = 0; x < nx; x++) {
      const v = img[y * nx + x];
      total += v;
      sx += v * x;
      sy += v * y;
    }
  }
  return { cx: sx / total, cy: sy / total, total };
}

/** The image shifted by whole pixels to put its flux centroid on the phase centre (flux shifted out of the grid is dropped, the rest rescaled to the total). */
export function recentre(img: Float64Array, grid: ImageGrid): Float64Array {
  const { nx, ny } = grid;
  const { cx, cy, total: t } = fluxCentroid(img, nx, ny);
  const dx = Math.floor(nx / 2) - Math.round(cx);
  const dy = Math.floor(ny / 2) - Math.round(cy);
  if (dx === 0 && dy === 0) return img;
  const out = new Float64Array(nx * ny);
  let kept = 0;
  for (let y = 0; y < ny; y++) {
    for (let x = 0; x < nx; x++) {
      const xs = x - dx;
      const ys = y - dy;
      if (xs < 0 || xs >= nx || ys < 0 || ys >= ny) continue;
      kept += out[y * nx + x] = img[ys * nx + xs];
    }
  }
  if (kept > 0) for (let i = 0; i < out.length; i++) out[i] *= t / kept;
  // no pixel exactly 0: the log parameterisation of the next stage
  let mx = 0;
  for (const v of out) mx = Math.max(mx, v);
  for (let i = 0; i < out.length; i++) out[i] = Math.max(out[i], 1e-9 * mx);
  return out;
}

function tsvOf(x: Float64Array, nx: number, ny: number, g?: Float64Array, factor = 1): number {
  let s = 0;
  for (let y = 0; y < ny; y++) {
    for (let xx = 0; xx < nx; xx++) {
      const i = y * nx + xx;
      if (xx + 1 < nx) {
        const d = x[i] - x[i + 1];
        s += d * d;
        if (g) {
          g[i] += 2 * d * factor;
          g[i + 1] -= 2 * d * factor;
        }
      }
      if (y + 1 < ny) {
        const d = x[i] - x[i + nx];
        s += d * d;
        if (g) {
          g[i] += 2 * d * factor;
          g[i + nx] -= 2 * d * factor;
        }
      }
    }
  }
  return s;
}

/** The objective of closureImage on a grid, as a function of θ (x = F softmax θ): value, gradient, and its parts. */
export interface ClosureObjective {
  fg: (theta: Float64Array, g: Float64Array) => number;
  imageOf: (theta: Float64Array) => Float64Array;
  parts: (x: Float64Array) => { chi2Phase: number; chi2LogAmp: number; chi2Amp: number; entropy: number; tsv: number };
}

export function closureObjective(
  vis: Pick<Visibilities, 'u' | 'v'>,
  set: ClosureSet,
  grid: ImageGrid,
  o: {
    flux: number;
    prior: Float64Array;
    mem: number;
    tsv: number;
    phases?: boolean;
    logAmplitudes?: boolean;
    /** Weight of the amplitudes' χ²/N (0: none) and the visibilities it takes: their amplitudes and σ (with the systematic part). */
    amplitudes?: { weight: number; idx: Int32Array; amp: Float64Array; sigma: Float64Array };
  },
): ClosureObjective {
  // only the visibilities in a closure: a compact index
  const amps = o.amplitudes && o.amplitudes.weight > 0 && o.amplitudes.idx.length > 0 ? o.amplitudes : null;
  const usedSet = new Set<number>([...set.phaseIdx, ...set.ampIdx, ...(amps ? amps.idx : [])]);
  const used = Int32Array.from([...usedSet].sort((a, b) => a - b));
  const local = new Map<number, number>();
  used.forEach((k, i) => local.set(k, i));
  const sub: ClosureSet = { ...set, phaseIdx: set.phaseIdx.map((k) => local.get(k)!), ampIdx: set.ampIdx.map((k) => local.get(k)!) };
  const ampIdx = amps ? amps.idx.map((k) => local.get(k)!) : new Int32Array(0);
  const fAmp = amps ? amps.weight / amps.idx.length : 0;
  /** χ² of the amplitudes (Σ (A − |M|)²/σ²), its gradient added into gRe, gIm × factor. */
  const ampChi2 = (mRe: Float64Array, mIm: Float64Array, gRe?: Float64Array, gIm?: Float64Array, factor = 1) => {
    if (!amps) return 0;
    let c = 0;
    for (let j = 0; j < ampIdx.length; j++) {
      const k = ampIdx[j];
      const m = Math.hypot(mRe[k], mIm[k]);
      const d = amps.amp[j] - m;
      const iv = 1 / (amps.sigma[j] * amps.sigma[j]);
      c += d * d * iv;
      if (gRe && gIm && m > 0) {
        const s = (-2 * d * iv * factor) / m;
        gRe[k] += s * mRe[k];
        gIm[k] += s * mIm[k];
      }
    }
    return c;
  };
  const u = Float64Array.from(used, (k) => vis.u[k]);
  const v = Float64Array.from(used, (k) => vis.v[k]);
  const F = o.flux;
  const P = o.prior;
  const tsvP = Math.max(tsvOf(P, grid.nx, grid.ny), 1e-300);
  const usePhase = (o.phases ?? true) && set.nPhase > 0;
  const useAmp = (o.logAmplitudes ?? true) && set.nLogAmp > 0;
  const fp = usePhase ? 1 / set.nPhase : 0;
  const fa = useAmp ? 1 / set.nLogAmp : 0;
  const imageOf = (theta: Float64Array) => {
    let mx = -Infinity;
    for (const t of theta) mx = Math.max(mx, t);
    const x = new Float64Array(theta.length);
    let s = 0;
    for (let i = 0; i < x.length; i++) s += x[i] = Math.exp(theta[i] - mx);
    for (let i = 0; i < x.length; i++) x[i] *= F / s;
    return x;
  };
  const entropy = (x: Float64Array, g?: Float64Array, factor = 1) => {
    let s = 0;
    for (let i = 0; i < x.length; i++) {
      const r = Math.log(Math.max(x[i], 1e-300) / P[i]);
      s += x[i] * r;
      if (g) g[i] += (factor * (r + 1)) / F;
    }
    return s / F;
  };
  const fg = (theta: Float64Array, g: Float64Array) => {
    const x = imageOf(theta);
    const m = dftForward(u, v, grid, x);
    const gRe = new Float64Array(u.length);
    const gIm = new Float64Array(u.length);
    const c = closureChi2(sub, m.re, m.im, { gRe, gIm, phaseFactor: fp, ampFactor: fa });
    const cA = ampChi2(m.re, m.im, gRe, gIm, fAmp);
    // dJ/dx: the adjoint's real part (dft.ts: M = Σ x e^{−iθ}, so ∂J/∂x = Re Σ (gRe − i gIm) e^{−iθ} = Re A*(g))
    const gx = dftAdjoint(u, v, grid, gRe, gIm).re;
    let J = c.phase * fp + c.logAmp * fa + cA * fAmp;
    if (o.mem > 0) J += o.mem * entropy(x, gx, o.mem);
    if (o.tsv > 0) J += (o.tsv * tsvOf(x, grid.nx, grid.ny, gx, o.tsv / tsvP)) / tsvP;
    // through the softmax: dJ/dθ_i = x_i (gx_i − Σ_j x_j gx_j / F)
    let mean = 0;
    for (let i = 0; i < x.length; i++) mean += x[i] * gx[i];
    mean /= F;
    for (let i = 0; i < x.length; i++) g[i] = x[i] * (gx[i] - mean);
    return J;
  };
  const parts = (x: Float64Array) => {
    const m = dftForward(u, v, grid, x);
    const c = closureChi2(sub, m.re, m.im);
    return {
      chi2Phase: set.nPhase ? c.phase / set.nPhase : NaN,
      chi2LogAmp: set.nLogAmp ? c.logAmp / set.nLogAmp : NaN,
      chi2Amp: amps ? ampChi2(m.re, m.im) / ampIdx.length : NaN,
      entropy: entropy(x),
      tsv: tsvOf(x, grid.nx, grid.ny) / tsvP,
    };
  };
  return { fg, imageOf, parts };
}

/**
 * The closure image of the data (the module comment): a regularised maximum-likelihood image of the closure phases
 * and log closure amplitudes, positive, of total flux the shortest baselines' amplitude.
 */
export function closureImage(vis: Visibilities, o: ClosureImageOptions = {}): ClosureImage {
  const set = closureSet(vis);
  if (set.nPhase === 0 && set.nLogAmp === 0) {
    throw new UserInputError('closure image: the data have no closure (no time stamp with three or more stations on baselines between them)');
  }
  const inClosures = new Set<number>([...set.phaseIdx, ...set.ampIdx]).size;
  if (inClosures > CLOSURE_MAX_VISIBILITIES) {
    throw new UserInputError(
      `closure image: the closures use ${inClosures} visibilities, more than ${CLOSURE_MAX_VISIBILITIES} (the closure start is meant for sparse VLBI arrays; start from the point or the CLEAN instead)`,
    );
  }
  const a = amplitudeSize(vis);
  const size = o.size ?? 64;
  const wide = !a.resolved && o.unresolvedField !== undefined && o.unresolvedField > 0;
  const priorFwhm = o.priorFwhm ?? (wide ? o.unresolvedField! / CLOSURE_FIELD : a.fwhm);
  const flux = o.flux ?? a.shortFlux;
  if (!(flux > 0) || !(priorFwhm > 0)) throw new UserInputError('closure image: no flux or size from the shortest baselines\' amplitudes');
  const grid: ImageGrid = { nx: size, ny: size, cell: o.cell ?? (CLOSURE_FIELD * priorFwhm) / size };
  const prior = gaussianImage(grid, flux, priorFwhm);
  const floor = 1e-6 * Math.max(...prior);
  for (let i = 0; i < prior.length; i++) prior[i] = Math.max(prior[i], floor);
  const ampWeight = o.amplitudes ?? CLOSURE_AMP;
  let amplitudes: { weight: number; idx: Int32Array; amp: Float64Array; sigma: Float64Array } | undefined;
  if (ampWeight > 0) {
    const sys = o.amplitudeSystematic ?? CLOSURE_AMP_SYSTEMATIC;
    const idx: number[] = [];
    for (let k = 0; k < vis.n; k++) if (vis.weight[k] > 0 && vis.ant1[k] !== vis.ant2[k]) idx.push(k);
    const amp = Float64Array.from(idx, (k) => Math.hypot(vis.re[k], vis.im[k]));
    const sigma = Float64Array.from(idx, (k, j) => Math.sqrt(1 / vis.weight[k] + (sys * amp[j]) ** 2));
    amplitudes = { weight: ampWeight, idx: Int32Array.from(idx), amp, sigma };
  }
  const obj = closureObjective(vis, set, grid, { flux, prior, mem: o.mem ?? CLOSURE_MEM, tsv: o.tsv ?? CLOSURE_TSV, phases: o.phases, logAmplitudes: o.logAmplitudes, amplitudes });
  const start = obj.parts(prior);
  const { umax } = uvRange(vis.u, vis.v);
  const blur = 0.5 / umax;
  let x = prior;
  const stages = o.stages ?? CLOSURE_STAGES;
  let iterations = 0;
  let evaluations = 0;
  for (let s = 0; s < stages; s++) {
    const theta = Float64Array.from(x, (v) => Math.log(Math.max(v, floor)));
    const r = lbfgs(obj.fg, theta, { maxIter: o.iterations ?? CLOSURE_ITERATIONS });
    iterations += r.iterations;
    evaluations += r.evaluations;
    x = recentre(obj.imageOf(r.x), grid);
    if (s + 1 < stages) x = blurImage(x, grid, blur);
  }
  const end = obj.parts(x);
  return {
    grid,
    image: x,
    flux,
    priorFwhm,
    set,
    chi2Phase: end.chi2Phase,
    chi2LogAmp: end.chi2LogAmp,
    chi2Amp: end.chi2Amp,
    chi2PhaseStart: start.chi2Phase,
    chi2LogAmpStart: start.chi2LogAmp,
    chi2AmpStart: start.chi2Amp,
    iterations,
    evaluations,
  };
}

/**
 * The azimuthal mean about the flux centroid in annuli of one pixel (index r ≥ 1: radius r ± 0.5 pixels; index 0: the
 * image at the centroid, bilinear), and the centroid (pixels).
 */
export function radialProfile(img: ArrayLike<number>, nx: number, ny: number, rings = Math.floor(Math.min(nx, ny) / 2)): { profile: number[]; cx: number; cy: number } {
  const { cx, cy } = fluxCentroid(img, nx, ny);
  const sum = new Float64Array(rings);
  const cnt = new Float64Array(rings);
  for (let y = 0; y < ny; y++) {
    for (let x = 0; x < nx; x++) {
      const r = Math.round(Math.hypot(x - cx, y - cy));
      if (r < rings) {
        sum[r] += img[y * nx + x];
        cnt[r]++;
      }
    }
  }
  const profile = Array.from(sum, (s, i) => (cnt[i] ? s / cnt[i] : 0));
  // the centre: the image at the centroid (bilinear), not the pixels within half a pixel of it (there may be none)
  const x0 = Math.min(Math.max(Math.floor(cx), 0), nx - 2);
  const y0 = Math.min(Math.max(Math.floor(cy), 0), ny - 2);
  const fx = cx - x0;
  const fy = cy - y0;
  const at = (x: number, y: number) => img[y * nx + x];
  profile[0] = (1 - fy) * ((1 - fx) * at(x0, y0) + fx * at(x0 + 1, y0)) + fy * ((1 - fx) * at(x0, y0 + 1) + fx * at(x0 + 1, y0 + 1));
  return { profile, cx, cy };
}

/**
 * A ring's figures from the radial profile: the radius of its brightest annulus (pixels, refined by the parabola
 * through it and its neighbours), the diameter, and the central depression (the centre's mean over the brightest
 * annulus's: 1 for a centrally peaked source).
 */
export function ringFigures(img: ArrayLike<number>, nx: number, ny: number): { radius: number; diameter: number; depression: number; profile: number[] } {
  const { profile } = radialProfile(img, nx, ny);
  let best = 0;
  for (let r = 1; r < profile.length; r++) if (profile[r] > profile[best]) best = r;
  let radius = best;
  if (best > 0 && best + 1 < profile.length) {
    const [a, b, c] = [profile[best - 1], profile[best], profile[best + 1]];
    const den = a - 2 * b + c;
    if (den < 0) radius = best + (0.5 * (a - c)) / den;
  }
  return { radius, diameter: 2 * radius, depression: profile[0] / profile[best], profile };
}

/** Rays of ringFit, and its most steps of the centre. */
export const RING_RAYS = 36;
export const RING_STEPS = 50;

function bilinear(img: ArrayLike<number>, nx: number, ny: number, x: number, y: number): number {
  if (x < 0 || y < 0 || x > nx - 1 || y > ny - 1) return 0;
  const x0 = Math.min(Math.floor(x), nx - 2);
  const y0 = Math.min(Math.floor(y), ny - 2);
  const fx = x - x0;
  const fy = y - y0;
  const at = (a: number, b: number) => img[b * nx + a];
  return (1 - fy) * ((1 - fx) * at(x0, y0) + fx * at(x0 + 1, y0)) + fy * ((1 - fx) * at(x0, y0 + 1) + fx * at(x0 + 1, y0 + 1));
}

/**
 * A ring's centre, diameter and central depression: along RING_RAYS rays from a centre the brightest point
 * (bilinear samples every 0.25 pixel out to `maxRadius`), the centre moved to the mean of those points until it
 * moves less than 0.01 pixel (at most RING_STEPS times), starting from the flux centroid (a crescent's centroid
 * lies towards its bright side; the ridge's mean does not). The diameter is twice the points' mean distance from the
 * centre, the spread their distances' rms about it, and the depression the image at the centre over the mean of the
 * points' brightness (a ring's f_c: near 0 for an empty centre; 1 for a centrally peaked source, whose rays all peak
 * at the centre: diameter 0). Lengths in pixels. Meant for images blurred to about the nominal resolution.
 */
export function ringFit(img: ArrayLike<number>, nx: number, ny: number, maxRadius = Math.min(nx, ny) / 3): { cx: number; cy: number; diameter: number; radiusSpread: number; depression: number } {
  let { cx, cy } = radialProfile(img, nx, ny, 1);
  const rays = Array.from({ length: RING_RAYS }, (_, i) => [Math.cos((2 * Math.PI * i) / RING_RAYS), Math.sin((2 * Math.PI * i) / RING_RAYS)]);
  let radius: number[] = [];
  let value: number[] = [];
  for (let step = 0; step < RING_STEPS; step++) {
    radius = [];
    value = [];
    let mx = 0;
    let my = 0;
    for (const [c, s] of rays) {
      let br = 0;
      let bv = -Infinity;
      for (let r = 0; r <= maxRadius; r += 0.25) {
        const v = bilinear(img, nx, ny, cx + r * c, cy + r * s);
        if (v > bv) {
          bv = v;
          br = r;
        }
      }
      radius.push(br);
      value.push(bv);
      mx += cx + br * c;
      my += cy + br * s;
    }
    mx /= rays.length;
    my /= rays.length;
    const moved = Math.hypot(mx - cx, my - cy);
    if (moved < 0.01) break;
    cx = mx;
    cy = my;
  }
  const mean = radius.reduce((a, b) => a + b, 0) / radius.length;
  const spread = Math.sqrt(radius.reduce((a, b) => a + (b - mean) ** 2, 0) / radius.length);
  const peak = value.reduce((a, b) => a + b, 0) / value.length;
  return { cx, cy, diameter: 2 * mean, radiusSpread: spread, depression: bilinear(img, nx, ny, cx, cy) / peak };
}
