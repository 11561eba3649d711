/**
 * The likelihood of an image given the closure quantities of its visibilities — closure phases and log closure
 * amplitudes, the non-redundant sets of src-shared/radio/closure.ts with their thermal σ's as it computes them — for
 * posterior sampling in the prior's units, with the interface of the other likelihoods (ConvolvedLikelihood,
 * VisibilityLikelihood), so that the driver, the annealed samplers and the products take it. No station gain, in
 * amplitude or phase, changes a closure quantity or its σ (σ_k²/|V_k|² = 1/(w_k|V_k|²) is gain-free when the
 * weights carry the gains' amplitudes), so neither does this likelihood: what eht-imaging and SMILI fit with
 * regularised maximum likelihood, here as the likelihood of a score-based posterior.
 *
 *   log p(c | x) = −½ Σ_ψ 2(1 − cos(ψ_obs − ψ(x)))/σ_ψ² − ½ Σ_L (L_obs − L(x))²/σ_L²   (closure.ts's χ², von Mises
 *                  form for the phases: smooth through the wrap)
 *               − ½ (F − Σx)²/σ_F² − ½ ((Σ x l)² + (Σ x m)²)/(F σ_pos)²                (the pseudo-data below)
 *
 * with ψ(x), L(x) the closures of the model visibilities A x (the direct Fourier transform of the used
 * visibilities, float64 on the host).
 *
 * What the closures do not fix is fixed by two linear pseudo-data: the total flux (closures carry no flux scale) —
 * the zero-spacing visibility Σx = F with σ_F, F the shortest baselines' amplitude or the user's — and the position
 * (closure phases are translation invariant) — the flux centroid's first moments Σ x l = Σ x m = 0 (l, m in pixels
 * from the phase centre) with σ F·σ_pos, σ_pos = 1 pixel by default: the chains stay centred, where without it each
 * would wander and the mean blur.
 *
 * Annealed (the samplers' convolved likelihood, x₀ | x_σ ≈ N(x_σ, σ²I)). The pseudo-data are linear: their convolved
 * score a Bᵀ(Σ_B + a²σ² BBᵀ)⁻¹(y_B − B x) is exact (B: 3 rows, BBᵀ 3×3). The closures are not: the state's noise is
 * propagated through the closure map linearised, c(x₀) ≈ c(x) + J (x₀ − x), so that closure i sees the variance
 * σ_i² + a²σ² (J Jᵀ)_ii, with (J Jᵀ)_ii exact at x (from the Gram sums Σ_p a_qp a*_rp and Σ_p a_qp a_rp of its 3 or 4
 * visibilities' Fourier rows, made once) and the off-diagonal J Jᵀ — closures that share a visibility, visibilities
 * within 1/field of each other in (u, v) along a track — left out. The inflation vanishes as σ → 0, where the
 * likelihood is the exact closure χ² above; at large σ the closure phases of the state are noise and their inflated
 * σ's make them weightless. σ_eff is a constant of the state (not differentiated). x is the prior's Tweedie estimate
 * x_σ + σ² s_prior(x_σ, σ) of the state (atTweedie; posterior.ts evaluates the score there), whose closures carry
 * the state's structure at levels where those of x_σ itself are noise. The diagonal understates the inflation's
 * largest curvature by `correlation`, λmax of D⁻½ J Jᵀ D⁻½ (D its diagonal; power iteration at a point source of the
 * data's closure set, which no gain changes): 14.6 on the EHT file at 64² × 9.22 µas, 39.6 at 64² × 3 µas. `kappa`
 * multiplies the inflation by a factor (default 1): κ = that λmax bounds the curvature by 1/σ² in every direction,
 * but weakens the closures at every level by as much, and on the EHT tracks the chains then fitted the closures less
 * well (docs/radio.md, The posterior from closure quantities); with κ = 1 no run diverged there.
 *
 * The ending (denoise.ts) conditions on the data as the linear likelihoods' Kalman update does, for the non-linear
 * closures: the mode of N(x; x̂, σ²I) · p(c | x) by L-BFGS (condition below; with the observed closures perturbed by
 * a draw of their noise, randomise-then-optimise). It matters: the annealed score, inflated by the state's noise
 * propagated into the closures down to σmin, leaves the chains far from them (EHT file, radio-64, 2 × 100 steps:
 * samples at χ² per closure 80–155 before the ending, 1.0–1.3 after it; docs/radio.md). At σmin itself the mode is
 * held too close to x̂ where x̂'s closures are off by more than σmin allows: on the simulated crescent on the EHT
 * file's tracks (64² × 3 µas, radio-64, 2 × 100 steps) a²σmin²(J Jᵀ)_ii is 0.3–0.8 of σ_i² for a tenth of the
 * closures and 2–6 at the median, the estimates' closures stand at χ² 9–57 per closure, and the mode at σmin at
 * 2.4–6.1 (a converged mode: L-BFGS without a decrease test stops at the same point). Hence the discrepancy rule
 * (conditionOne): σ is widened by CLOSURE_WIDEN_FACTOR per step (σ, 2σ, 4σ, …, at most CLOSURE_MAX_WIDENING σ, each
 * mode from the last) until the mode's χ² per closure against the observed closures is at most CLOSURE_FIT_TARGET,
 * then one mode at the widening between the last two steps where log χ² interpolated in log σ reaches the target.
 * A draw (randomise-then-optimise: closures perturbed by their noise, x̂ by the prior's) starts at its chain's
 * estimate's widening and widens further until it fits to CLOSURE_FIT_TARGET + CLOSURE_FIT_SLACK: a draw scatters
 * about the data by their noise, and for a linear model at the estimate's widening it stands above the estimate by
 * the perturbation's share (measured: 1.18–1.20 against 0.96–0.98). The widened σ is the trust in x̂ in the
 * directions the closures measure; in those they do not, x̂ holds the mode as at σ (at 3σmin the image moved by
 * 0.01 prior units rms per pixel, 0.5 % of the crescent's peak). The draw's own perturbation of x̂ is the prior's
 * (denoise.ts), not widened. Every estimate is recentred (whole pixels, recentreChains) before its fit: a shift after
 * it moves flux off the grid's edges and with it the closures (1–3 pixels took modes at χ² per closure 1–6 to
 * 13–27 on the simulated crescent). `conditionings` records each image's widening, fit and shift (report.json's
 * chi2PerClosure.ending).
 *
 * Null visibilities (guardedClosureChi2). A model visibility M_k near zero leaves its phase free and its log
 * amplitude at −∞: the closure phase's gradient grows as 1/|M_k| while its term stays bounded, so a mode can sit at a
 * null and fit the phase there by a rounding's worth of image (docs/radio.md: on the EHT file a draw's first solve
 * drove SPT–PDB, in a single closure phase of a three-station time stamp, from above 4·10⁻³ of its datum's amplitude
 * to 3·10⁻⁸ within its last iterations, the gradient's norm from 10⁵ to 10⁷–10⁸; every widened solve then stopped
 * after one iteration). The model's closures are therefore formed from its visibilities as the data could show them:
 * below ε_k = CLOSURE_NULL_FLOOR × σ_k (σ_k the datum's thermal σ; a tenth of it, where noisy data's mean phasor is
 * 0.09 of its length, their phase all but free; at σ_k itself the floor reached 57–63 % of a Gaussian-field test
 * image's model amplitudes and worsened its draws' fit, 9.2/15.3 → 15.2/21.8 per closure, at 0.1 σ_k 7.8/12.6) the
 * energy |M_k|² is raised smoothly to a floor (flooredEnergy: ε_k²/2 at a null, C¹ at ε_k), and the phasor
 * M_k/√a(|M_k|²) shrinks towards 0, as the mean phasor of noisy data does when the amplitude falls below the noise; a
 * closure phase's term is then |e^{iψ_obs} − ρ e^{iψ}|²/σ², which at a null costs 1/σ² (a misfit of 60°) instead of
 * nothing. Above the floor nothing changes, bit for bit; value and gradient stay finite at a null. The reported χ²
 * (chi2Parts) is the exact closures'. Station phase gains leave the guarded likelihood unchanged; amplitude gains
 * move the floor with σ_k (the weights carry them), so they leave it unchanged only where the model amplitudes stand
 * above the floor with and without them: a floor in Jy, where the data give no gain-free one.
 *
 * Where it is an approximation: the closures' thermal errors are taken as independent with first-order σ's (closure.ts,
 * as eht-imaging's default), the convolved variance is diagonal up to κ, the ending's mode is a local one (the
 * closures are not log-concave) reached from the prior's Tweedie estimate, and the draws it makes are the
 * randomise-then-optimise approximation of the conditional, not exact draws. The Rao–Blackwellised mean averages the
 * estimates at σmin only (normalMaxEigenvalue: ∞). The score reads the state
 * back synchronously (a backend whose tensors read synchronously: cpu, wasm). DPS is not offered (its misfit is
 * differentiated through the network on the device).
 */
import * as tf from '@tensorflow/tfjs-core';
import { closureChi2, closureSet, lbfgs, type ClosureSet } from '../radio/closure.js';
import { dftAdjoint, dftForward } from '../radio/dft.js';
import type { ImageGrid } from '../radio/grid.js';
import type { Visibilities } from '../radio/uvfits.js';
import { noCgStats, type CgStats } from './likelihood/solver.js';
import { LikelihoodInputError, type Affine } from './likelihood.js';

/** What the closure likelihood needs of the visibilities. */
export type ClosureVisibilities = Pick<Visibilities, 'n' | 'u' | 'v' | 're' | 'im' | 'weight' | 'ant1' | 'ant2' | 'time' | 'subarray' | 'ifIndex' | 'chan'>;

/** σ of the position pseudo-datum, pixels. */
export const CLOSURE_POSITION_SIGMA = 1;
/** σ of the total-flux pseudo-datum as a fraction of the flux, where the caller gives none. */
export const CLOSURE_FLUX_FRACTION = 0.05;
/** Most L-BFGS iterations of the ending's conditioning (condition below). */
export const CLOSURE_CONDITION_ITERATIONS = 300;
/** The χ² per closure the ending's conditioning widens its prior Gaussian until it reaches (condition). */
export const CLOSURE_FIT_TARGET = 1;
/** The factor by which each step of the ending widens the prior Gaussian's σ, and the most it widens it. */
export const CLOSURE_WIDEN_FACTOR = 2;
export const CLOSURE_MAX_WIDENING = 32;
/** A draw's single solve (condition) may take this many times the iterations of one step of the estimate's ladder. */
const CLOSURE_DRAW_ITERATION_FACTOR = 3;
/** How far above the target an interpolated widening's fit may stay (condition). */
const CLOSURE_FIT_SLACK = 0.1;
/**
 * The null guard's floor ε_k on a model visibility's amplitude, in units of its datum's thermal σ_k (guardedClosureChi2
 * and the module comment; 0: none).
 */
export const CLOSURE_NULL_FLOOR = 0.1;
/**
 * The fraction of a datum's amplitude below which a draw's model visibility on a used baseline is reported
 * (lowModelAmplitudes; report.json's chi2PerClosure.nulls and a warning).
 */
export const CLOSURE_LOW_AMPLITUDE_FRACTION = 1e-3;
/** Power-iteration steps for κ. */
const KAPPA_ITERATIONS = 40;

export interface ClosureLikelihoodSpec {
  vis: ClosureVisibilities;
  grid: ImageGrid;
  affine?: Affine;
  /** The total flux F (data units: Jy) and its σ (default CLOSURE_FLUX_FRACTION × F). */
  totalFlux: number;
  totalFluxSigma?: number;
  /** σ of the centroid's pseudo-datum (pixels); default CLOSURE_POSITION_SIGMA. */
  positionSigma?: number;
  /** The closure set, where the caller made it (closureSet(vis)). */
  set?: ClosureSet;
  /** Most L-BFGS iterations of the ending's conditioning (default CLOSURE_CONDITION_ITERATIONS). */
  conditionIterations?: number;
  /** κ where the caller has it (tests); default: power iteration (the module comment). */
  kappa?: number;
  /**
   * The ending's discrepancy rule (condition): the χ² per closure it widens the prior Gaussian until (default
   * CLOSURE_FIT_TARGET) and the most it widens its σ (default CLOSURE_MAX_WIDENING; 1: σ itself, no widening).
   */
  fitTarget?: number;
  maxWidening?: number;
  /** The null guard's floor in units of each datum's σ (default CLOSURE_NULL_FLOOR; 0: no guard). */
  nullFloor?: number;
  name?: string;
}

/** One image's conditioning by the ending (condition): how far the prior Gaussian's σ was widened, and the fit reached. */
export interface ClosureConditioning {
  /** The factor on σ (1: none). */
  widening: number;
  /** χ² per closure of the result as returned (float32, prior units) against the observed closures (unperturbed). */
  chi2: number;
  /** L-BFGS iterations over all its solves. */
  iterations: number;
  /** Whether the observed closures were perturbed by a draw of their noise (a draw's ending) or not (an estimate). */
  perturbed: boolean;
  /** The whole-pixel shift that recentred the estimate before its fit (recentreChains). */
  shift: [number, number];
}

/** An image's smallest used model amplitudes against the data's (ClosureLikelihood.lowModelAmplitudes). */
export interface ClosureLowAmplitudes {
  /** The fraction of |V_k| counted below. */
  fraction: number;
  /** The smallest |M_k|/|V_k| over the used visibilities, its datum's index, |M_k|, |V_k| and σ_k (Jy). */
  ratio: number;
  index: number;
  modelJy: number;
  dataJy: number;
  sigmaJy: number;
  /** Used visibilities with |M_k| < fraction · |V_k|, with |M_k| below the null guard's floor ε_k, and all used. */
  below: number;
  belowFloor: number;
  used: number;
}

/** χ² parts of an image (data units). */
export interface ClosureChi2 {
  /** χ²_ψ and χ²_L (closure.ts's forms, thermal σ's) and their counts. */
  phase: number;
  logAmp: number;
  nPhase: number;
  nLogAmp: number;
  /** Σx (data units) and the flux centroid (pixels from the phase centre, x right, y down the rows). */
  flux: number;
  centroid: [number, number];
}

/**
 * The model visibility's energy r = |M|² raised smoothly to a floor below ε² (C¹): a(r) = r for r ≥ ε², else
 * (r² + ε⁴)/(2ε²), so a(0) = ε²/2; with a'(r). Above the floor it is r itself, bit for bit (ε = 0: no floor).
 */
export function flooredEnergy(r: number, eps2: number): [number, number] {
  if (!(r < eps2)) return [r, 1];
  return [(r * r + eps2 * eps2) / (2 * eps2), r / eps2];
}

/**
 * closure.ts's closure χ² with the null guard (the module comment, *Null visibilities*): each model visibility M_k
 * enters its log closure amplitudes as ½ log a(|M_k|²) and its closure phases through the phasor M_k/√a(|M_k|²),
 * a(r) = flooredEnergy(r, ε_k²) — the closure phase's term |e^{iψ_obs} − ρ e^{iψ}|²/σ² = (1 + ρ² − 2ρ cos(ψ_obs − ψ))/σ²
 * with ρ = Π √(|M_k|²/a_k) ≤ 1. Where every |M_k| ≥ ε_k (ρ = 1, a = |M|²) it is closureChi2's value and gradient bit
 * for bit; below, both stay finite as |M_k| → 0: the log closure amplitude tends to log(ε_k/√2) instead of −∞, and
 * the closure phase's term to 1/σ² (the misfit of 60°) instead of any value of the free phase. `grad` receives
 * ∂χ²/∂Re M_k and ∂χ²/∂Im M_k (added).
 */
export function guardedClosureChi2(
  set: ClosureSet,
  mRe: ArrayLike<number>,
  mIm: ArrayLike<number>,
  floor2: ArrayLike<number>,
  grad?: { gRe: Float64Array; gIm: Float64Array },
): { phase: number; logAmp: number } {
  let cp = 0;
  for (let t = 0; t < set.nPhase; t++) {
    let psi = 0;
    let logRho = 0;
    for (let q = 0; q < 3; q++) {
      const k = set.phaseIdx[3 * t + q];
      psi += set.phaseSign[3 * t + q] * Math.atan2(mIm[k], mRe[k]);
      const r = mRe[k] * mRe[k] + mIm[k] * mIm[k];
      if (r < floor2[k]) logRho += 0.5 * Math.log(r / flooredEnergy(r, floor2[k])[0]);
    }
    const rho = logRho === 0 ? 1 : Math.exp(logRho);
    const d = set.phaseObs[t] - psi;
    const iv = 1 / (set.phaseSigma[t] * set.phaseSigma[t]);
    cp += (rho === 1 ? 2 * (1 - Math.cos(d)) : 1 + rho * rho - 2 * rho * Math.cos(d)) * iv;
    if (grad) {
      // ∂/∂ψ and ∂/∂ρ of the term; d arg M = (x dy − y dx)/|M|², ∂ρ/∂Re M_k = ρ (1/r − a'/a) Re M_k below the floor
      const f = -2 * rho * Math.sin(d) * iv;
      const fr = (2 * rho - 2 * Math.cos(d)) * iv * rho;
      for (let q = 0; q < 3; q++) {
        const k = set.phaseIdx[3 * t + q];
        const m2 = mRe[k] * mRe[k] + mIm[k] * mIm[k];
        if (!(m2 > 0)) continue;
        const s = (f * set.phaseSign[3 * t + q]) / m2;
        grad.gRe[k] -= s * mIm[k];
        grad.gIm[k] += s * mRe[k];
        if (m2 < floor2[k]) {
          const [a, da] = flooredEnergy(m2, floor2[k]);
          const h = fr * (1 / m2 - da / a);
          grad.gRe[k] += h * mRe[k];
          grad.gIm[k] += h * mIm[k];
        }
      }
    }
  }
  let la = 0;
  for (let t = 0; t < set.nLogAmp; t++) {
    let L = 0;
    for (let q = 0; q < 4; q++) {
      const k = set.ampIdx[4 * t + q];
      L += 0.5 * set.ampSign[4 * t + q] * Math.log(flooredEnergy(mRe[k] * mRe[k] + mIm[k] * mIm[k], floor2[k])[0]);
    }
    const d = set.ampObs[t] - L;
    const iv = 1 / (set.ampSigma[t] * set.ampSigma[t]);
    la += d * d * iv;
    if (grad) {
      // d ½ log a = a'/a (x dx + y dy)
      const f = -2 * d * iv;
      for (let q = 0; q < 4; q++) {
        const k = set.ampIdx[4 * t + q];
        const m2 = mRe[k] * mRe[k] + mIm[k] * mIm[k];
        const [a, da] = flooredEnergy(m2, floor2[k]);
        const s = m2 < floor2[k] ? (f * set.ampSign[4 * t + q] * da) / a : (f * set.ampSign[4 * t + q]) / m2;
        grad.gRe[k] += s * mRe[k];
        grad.gIm[k] += s * mIm[k];
      }
    }
  }
  return { phase: cp, logAmp: la };
}

/** Solves the 3×3 system M z = r (Gaussian elimination with partial pivoting). */
function solve3(M: number[], r: number[]): number[] {
  const a = [M.slice(0, 3).concat(r[0]), M.slice(3, 6).concat(r[1]), M.slice(6, 9).concat(r[2])];
  for (let c = 0; c < 3; c++) {
    let p = c;
    for (let i = c + 1; i < 3; i++) if (Math.abs(a[i][c]) > Math.abs(a[p][c])) p = i;
    [a[c], a[p]] = [a[p], a[c]];
    for (let i = c + 1; i < 3; i++) {
      const f = a[i][c] / a[c][c];
      for (let j = c; j < 4; j++) a[i][j] -= f * a[c][j];
    }
  }
  const z = [0, 0, 0];
  for (let i = 2; i >= 0; i--) {
    let s = a[i][3];
    for (let j = i + 1; j < 3; j++) s -= a[i][j] * z[j];
    z[i] = s / a[i][i];
  }
  return z;
}

export class ClosureLikelihood {
  readonly kind = 'closure';
  readonly inShape: [number, number];
  /** The residual is shown on the image grid (the closures' residual back-projected). */
  readonly dataShape: [number, number];
  readonly affine: Affine;
  readonly method = 'closure';
  readonly description: string;
  readonly warnings: string[] = [];
  /** The closures (N_ψ + N_L): χ² is divided by this. */
  readonly observed: number;
  readonly stats: CgStats = noCgStats();
  /** The score is evaluated at the prior's Tweedie estimate of the state (posterior.ts), not at the state. */
  readonly atTweedie = true;
  readonly set: ClosureSet;
  /** The closure set on the used visibilities' compact index. */
  private readonly sub: ClosureSet;
  /** The used visibilities (indices into the data), and per used visibility its data amplitude |V_k| and thermal σ_k = 1/√w_k (Jy). */
  readonly usedIndex: Int32Array;
  readonly dataAmplitude: Float64Array;
  readonly dataSigma: Float64Array;
  /** The null guard: ε_k = nullFloor · σ_k, and ε_k² per used visibility (guardedClosureChi2). */
  readonly nullFloor: number;
  private readonly floor2: Float64Array;
  private readonly u: Float64Array;
  private readonly v: Float64Array;
  readonly grid: ImageGrid;
  readonly totalFlux: number;
  readonly totalFluxSigma: number;
  readonly positionSigma: number;
  readonly conditionIterations: number;
  readonly fitTarget: number;
  readonly maxWidening: number;
  /** Every image the ending conditioned, in order (the draws' are the `perturbed` ones, chain by chain). */
  readonly conditionings: ClosureConditioning[] = [];
  /** The last conditioning without noise, per image: its (recentred) estimate, mode and widening (condition: a draw takes its chain's). */
  private estimates: { x0: Float64Array; mode: Float64Array; widening: number }[] | null = null;
  /** The factor on the inflation's diagonal (default 1: none; the module comment). */
  readonly kappa: number;
  /** λmax of D⁻½ J Jᵀ D⁻½ at a point source: how far the diagonal understates the inflation's largest curvature. */
  readonly correlation: number;
  /** Per closure, the Gram sums of its visibilities' rows: G_qr = Σ_p a_qp a*_rp, H_qr = Σ_p a_qp a_rp (re, im), q, r < terms. */
  private readonly gramPhase: { gr: Float64Array; gi: Float64Array; hr: Float64Array; hi: Float64Array };
  private readonly gramAmp: { gr: Float64Array; gi: Float64Array; hr: Float64Array; hi: Float64Array };
  /** The pseudo-data's rows B (1, l, m in pixels), BBᵀ, Σ_B's diagonal and y_B. */
  private readonly lx: Float64Array;
  private readonly my: Float64Array;
  private readonly bbt: number[];
  private readonly sigmaB: number[];
  private readonly yB: number[];
  private disposed = false;

  constructor(spec: ClosureLikelihoodSpec) {
    const { grid } = spec;
    const name = spec.name ?? 'visibilities';
    this.grid = grid;
    this.inShape = [grid.ny, grid.nx];
    this.dataShape = [grid.ny, grid.nx];
    this.affine = spec.affine ?? { scale: 1, offset: 0 };
    if (!(this.affine.scale > 0) || !Number.isFinite(this.affine.scale) || !Number.isFinite(this.affine.offset)) {
      throw new LikelihoodInputError(`flux scale / normalisation must be positive and finite, got scale ${this.affine.scale}, offset ${this.affine.offset}`);
    }
    const set = spec.set ?? closureSet(spec.vis);
    if (set.nPhase + set.nLogAmp === 0) {
      throw new LikelihoodInputError(
        `${name}: no closure quantity can be formed (a closure phase needs a time stamp with three stations on the baselines between them, a log closure amplitude four): the closure likelihood cannot be used`,
      );
    }
    this.set = set;
    this.observed = set.nPhase + set.nLogAmp;
    if (!(spec.totalFlux > 0) || !Number.isFinite(spec.totalFlux)) throw new LikelihoodInputError(`${name}: the total flux must be positive, got ${spec.totalFlux}`);
    this.totalFlux = spec.totalFlux;
    this.totalFluxSigma = spec.totalFluxSigma ?? CLOSURE_FLUX_FRACTION * spec.totalFlux;
    if (!(this.totalFluxSigma > 0)) throw new LikelihoodInputError(`${name}: the total flux's σ must be positive`);
    this.positionSigma = spec.positionSigma ?? CLOSURE_POSITION_SIGMA;
    this.conditionIterations = spec.conditionIterations ?? CLOSURE_CONDITION_ITERATIONS;
    this.fitTarget = spec.fitTarget ?? CLOSURE_FIT_TARGET;
    this.maxWidening = spec.maxWidening ?? CLOSURE_MAX_WIDENING;
    if (!(this.fitTarget > 0) || !(this.maxWidening >= 1)) throw new LikelihoodInputError(`${name}: the ending's χ² target must be positive and its widening at least 1`);
    // the visibilities in a closure, on a compact index
    const used = Int32Array.from([...new Set<number>([...set.phaseIdx, ...set.ampIdx])].sort((a, b) => a - b));
    const local = new Map<number, number>();
    used.forEach((k, i) => local.set(k, i));
    this.sub = { ...set, phaseIdx: set.phaseIdx.map((k) => local.get(k)!), ampIdx: set.ampIdx.map((k) => local.get(k)!) };
    this.u = Float64Array.from(used, (k) => spec.vis.u[k]);
    this.v = Float64Array.from(used, (k) => spec.vis.v[k]);
    this.usedIndex = used;
    this.dataAmplitude = Float64Array.from(used, (k) => Math.hypot(spec.vis.re[k], spec.vis.im[k]));
    this.dataSigma = Float64Array.from(used, (k) => 1 / Math.sqrt(spec.vis.weight[k]));
    this.nullFloor = spec.nullFloor ?? CLOSURE_NULL_FLOOR;
    if (!(this.nullFloor >= 0)) throw new LikelihoodInputError(`${name}: the null guard's floor must be at least 0`);
    this.floor2 = Float64Array.from(this.dataSigma, (v) => (this.nullFloor * v) ** 2);
    this.gramPhase = this.gramOf(this.sub.phaseIdx, 3);
    this.gramAmp = this.gramOf(this.sub.ampIdx, 4);
    // the pseudo-data
    const { nx, ny } = grid;
    const cx = Math.floor(nx / 2);
    const cy = Math.floor(ny / 2);
    this.lx = new Float64Array(nx * ny);
    this.my = new Float64Array(nx * ny);
    for (let y = 0; y < ny; y++) for (let x = 0; x < nx; x++) {
      this.lx[y * nx + x] = x - cx;
      this.my[y * nx + x] = y - cy;
    }
    const rows = [new Float64Array(nx * ny).fill(1), this.lx, this.my];
    this.bbt = [];
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) {
      let s = 0;
      for (let p = 0; p < nx * ny; p++) s += rows[i][p] * rows[j][p];
      this.bbt.push(s);
    }
    const sPos = this.totalFlux * this.positionSigma;
    this.sigmaB = [this.totalFluxSigma ** 2, sPos * sPos, sPos * sPos];
    this.yB = [this.totalFlux, 0, 0];
    this.correlation = this.estimateKappa();
    this.kappa = spec.kappa ?? 1;
    this.description =
      `closure phases (${set.nPhase}) and log closure amplitudes (${set.nLogAmp}) of ${used.length} visibilities in ${set.groups} time stamps (non-redundant sets, thermal σ by first-order propagation; ` +
      `direct Fourier transform, float64); the state's noise propagated through the closures linearised at the state, the diagonal of J Jᵀ exact${this.kappa !== 1 ? ` × κ = ${this.kappa.toPrecision(3)}` : ''} (λmax of its normalised J Jᵀ ${this.correlation.toPrecision(3)}); ` +
      `total flux ${this.totalFlux.toPrecision(4)} ± ${this.totalFluxSigma.toPrecision(3)} Jy and the centroid at the phase centre ± ${this.positionSigma} pixel as linear pseudo-data`;
  }

  get cgStats(): CgStats {
    return this.stats;
  }

  /** Closures of `terms` visibilities each (compact indices): their rows' Gram sums, [closure][q][r]. */
  private gramOf(idx: Int32Array, terms: number) {
    const n = idx.length / terms;
    const size = n * terms * terms;
    const du = new Float64Array(2 * size);
    const dv = new Float64Array(2 * size);
    for (let c = 0; c < n; c++) {
      for (let q = 0; q < terms; q++) {
        for (let r = 0; r < terms; r++) {
          const o = (c * terms + q) * terms + r;
          const kq = idx[c * terms + q];
          const kr = idx[c * terms + r];
          du[o] = this.u[kq] - this.u[kr];
          dv[o] = this.v[kq] - this.v[kr];
          du[size + o] = this.u[kq] + this.u[kr];
          dv[size + o] = this.v[kq] + this.v[kr];
        }
      }
    }
    // the Fourier transform of the all-ones image at those (u, v): Σ_p e^{−2πi(Δu l_p + Δv m_p)}
    const ones = new Float64Array(this.grid.nx * this.grid.ny).fill(1);
    const f = size ? dftForward(du, dv, this.grid, ones) : { re: new Float64Array(0), im: new Float64Array(0) };
    return { gr: f.re.slice(0, size), gi: f.im.slice(0, size), hr: f.re.slice(size), hi: f.im.slice(size) };
  }

  /**
   * (J Jᵀ)_ii of every closure at model visibilities (re, im) (compact index), data units: for closure phases
   * ‖Σ_q s_q Im(α_q a_q)‖², for log closure amplitudes ‖Σ_q s_q Re(α_q a_q)‖², α_q = conj(V_q)/|V_q|².
   */
  jjDiagonal(re: ArrayLike<number>, im: ArrayLike<number>): { phase: Float64Array; logAmp: Float64Array } {
    const one = (idx: Int32Array, sign: Float64Array, terms: number, g: ClosureLikelihood['gramPhase'], imag: boolean) => {
      const n = idx.length / terms;
      const out = new Float64Array(n);
      const ar = new Float64Array(terms);
      const ai = new Float64Array(terms);
      for (let c = 0; c < n; c++) {
        for (let q = 0; q < terms; q++) {
          const k = idx[c * terms + q];
          // α = conj(V)/a(|V|²): the null guard's floor keeps it finite at a null
          const m2 = flooredEnergy(re[k] * re[k] + im[k] * im[k], this.floor2[k])[0];
          ar[q] = re[k] / m2;
          ai[q] = -im[k] / m2;
        }
        let s = 0;
        for (let q = 0; q < terms; q++) {
          for (let r = 0; r < terms; r++) {
            const o = (c * terms + q) * terms + r;
            // α_q conj(α_r) G_qr and α_q α_r H_qr, real parts
            const pr = ar[q] * ar[r] + ai[q] * ai[r];
            const pi = ai[q] * ar[r] - ar[q] * ai[r];
            const zG = pr * g.gr[o] - pi * g.gi[o];
            const qr = ar[q] * ar[r] - ai[q] * ai[r];
            const qi = ar[q] * ai[r] + ai[q] * ar[r];
            const zH = qr * g.hr[o] - qi * g.hi[o];
            // ⟨Im z, Im w⟩ = ½ Re(Σ z w̄ − Σ z w); ⟨Re z, Re w⟩ = ½ Re(Σ z w̄ + Σ z w)
            s += sign[c * terms + q] * sign[c * terms + r] * 0.5 * (imag ? zG - zH : zG + zH);
          }
        }
        out[c] = Math.max(s, 0);
      }
      return out;
    };
    return {
      phase: one(this.sub.phaseIdx, this.sub.phaseSign, 3, this.gramPhase, true),
      logAmp: one(this.sub.ampIdx, this.sub.ampSign, 4, this.gramAmp, false),
    };
  }

  /** J δx (closure space: phases then log amplitudes) at model visibilities V for an image δx (data units). */
  private jApply(re: Float64Array, im: Float64Array, dx: Float64Array): Float64Array {
    const d = dftForward(this.u, this.v, this.grid, dx);
    const s = this.sub;
    const out = new Float64Array(this.observed);
    const lin = (k: number, imag: boolean) => {
      const m2 = re[k] * re[k] + im[k] * im[k];
      // α dV with α = conj(V)/|V|²
      const zr = (re[k] * d.re[k] + im[k] * d.im[k]) / m2;
      const zi = (re[k] * d.im[k] - im[k] * d.re[k]) / m2;
      return imag ? zi : zr;
    };
    for (let c = 0; c < s.nPhase; c++) for (let q = 0; q < 3; q++) out[c] += s.phaseSign[3 * c + q] * lin(s.phaseIdx[3 * c + q], true);
    for (let c = 0; c < s.nLogAmp; c++) for (let q = 0; q < 4; q++) out[s.nPhase + c] += s.ampSign[4 * c + q] * lin(s.ampIdx[4 * c + q], false);
    return out;
  }

  /** Jᵀ y (an image, data units) at model visibilities V for a closure-space vector y. */
  private jtApply(re: Float64Array, im: Float64Array, y: Float64Array): Float64Array {
    const s = this.sub;
    const gRe = new Float64Array(this.u.length);
    const gIm = new Float64Array(this.u.length);
    for (let c = 0; c < s.nPhase; c++) {
      for (let q = 0; q < 3; q++) {
        const k = s.phaseIdx[3 * c + q];
        const f = (y[c] * s.phaseSign[3 * c + q]) / (re[k] * re[k] + im[k] * im[k]);
        gRe[k] -= f * im[k];
        gIm[k] += f * re[k];
      }
    }
    for (let c = 0; c < s.nLogAmp; c++) {
      for (let q = 0; q < 4; q++) {
        const k = s.ampIdx[4 * c + q];
        const f = (y[s.nPhase + c] * s.ampSign[4 * c + q]) / (re[k] * re[k] + im[k] * im[k]);
        gRe[k] += f * re[k];
        gIm[k] += f * im[k];
      }
    }
    return dftAdjoint(this.u, this.v, this.grid, gRe, gIm).re;
  }

  /** κ: the largest eigenvalue of D⁻½ J Jᵀ D⁻½ at a point source at the phase centre (every V_k = 1), by power iteration. */
  private estimateKappa(): number {
    const re = new Float64Array(this.u.length).fill(1);
    const im = new Float64Array(this.u.length);
    const dg = this.jjDiagonal(re, im);
    const d = Float64Array.from([...dg.phase, ...dg.logAmp], (v) => (v > 0 ? 1 / Math.sqrt(v) : 0));
    let y: Float64Array = Float64Array.from(d, (_, i) => 1 + 0.1 * Math.sin(i));
    let lambda = 0;
    for (let it = 0; it < KAPPA_ITERATIONS; it++) {
      const n = Math.hypot(...y);
      if (!(n > 0)) break;
      for (let i = 0; i < y.length; i++) y[i] /= n;
      const z = this.jApply(re, im, this.jtApply(re, im, Float64Array.from(y, (v, i) => v * d[i])));
      for (let i = 0; i < z.length; i++) z[i] *= d[i];
      let l = 0;
      for (let i = 0; i < z.length; i++) l += z[i] * y[i];
      y = z;
      if (Math.abs(l - lambda) <= 1e-4 * Math.abs(l)) {
        lambda = l;
        break;
      }
      lambda = l;
    }
    return Math.max(1, lambda);
  }

  /** The pseudo-data's moments of an image in data units: its total flux and first moments Σ x l, Σ x m. */
  private moments(x: ArrayLike<number>): [number, number, number] {
    let f = 0;
    let sx = 0;
    let sy = 0;
    for (let p = 0; p < x.length; p++) {
      f += x[p];
      sx += x[p] * this.lx[p];
      sy += x[p] * this.my[p];
    }
    return [f, sx, sy];
  }

  /**
   * The used model visibilities of an image (data units) against their data: the smallest |M_k|/|V_k| with its datum
   * (index into the data), |M_k|, |V_k| and σ_k, and how many fall below `fraction` of |V_k| and below the null
   * guard's floor ε_k.
   */
  lowModelAmplitudes(xData: ArrayLike<number>, fraction = CLOSURE_LOW_AMPLITUDE_FRACTION): ClosureLowAmplitudes {
    const m = dftForward(this.u, this.v, this.grid, Float64Array.from(xData));
    let worst = 0;
    let below = 0;
    let belowFloor = 0;
    for (let i = 0; i < this.u.length; i++) {
      const a = Math.hypot(m.re[i], m.im[i]);
      if (a / this.dataAmplitude[i] < Math.hypot(m.re[worst], m.im[worst]) / this.dataAmplitude[worst]) worst = i;
      if (a < fraction * this.dataAmplitude[i]) below++;
      if (a * a < this.floor2[i]) belowFloor++;
    }
    const modelJy = Math.hypot(m.re[worst], m.im[worst]);
    return { fraction, ratio: modelJy / this.dataAmplitude[worst], index: this.usedIndex[worst], modelJy, dataJy: this.dataAmplitude[worst], sigmaJy: this.dataSigma[worst], below, belowFloor, used: this.u.length };
  }

  /** χ² parts of an image in data units. */
  chi2Parts(xData: ArrayLike<number>): ClosureChi2 {
    const x = Float64Array.from(xData);
    const m = dftForward(this.u, this.v, this.grid, x);
    const c = closureChi2(this.sub, m.re, m.im);
    const [f, sx, sy] = this.moments(x);
    return { phase: c.phase, logAmp: c.logAmp, nPhase: this.set.nPhase, nLogAmp: this.set.nLogAmp, flux: f, centroid: [sx / f, sy / f] };
  }

  /** The closure set with the observed closures moved by `noise` (standard normals × their thermal σ) where given. */
  private perturbed(noise?: ArrayLike<number>): ClosureSet {
    const s = this.sub;
    if (!noise) return s;
    return {
      ...s,
      phaseObs: Float64Array.from(s.phaseObs, (v, i) => v + s.phaseSigma[i] * noise[i]),
      ampObs: Float64Array.from(s.ampObs, (v, i) => v + s.ampSigma[i] * noise[s.nPhase + i]),
    };
  }

  /**
   * log p(c | x) up to a constant, for an image in data units (σ = 0: the thermal σ's), with the observed closures
   * perturbed by `noise` (standard normals × their σ) where given; the ending's objective and the tests' finite
   * differences.
   */
  logLikelihood(xData: ArrayLike<number>, noise?: ArrayLike<number>): number {
    const set = this.perturbed(noise);
    const x = Float64Array.from(xData);
    const m = dftForward(this.u, this.v, this.grid, x);
    const c = guardedClosureChi2(set, m.re, m.im, this.floor2);
    const [f, sx, sy] = this.moments(x);
    const r = [this.yB[0] - f, -sx, -sy];
    return -0.5 * (c.phase + c.logAmp + r.reduce((a, v, i) => a + (v * v) / this.sigmaB[i], 0));
  }

  /**
   * ∇ log p at noise level σ (prior units: a ∇_data) for one image in data units, with the closures' σ inflated by
   * the level (the module comment); `noise` (standard normals, one per closure) perturbs the observed closures by
   * their thermal σ (Matheron's rule in the samplers' ending).
   */
  gradient(xData: Float64Array, sigma: number, noise?: ArrayLike<number>): Float64Array {
    const a = this.affine.scale;
    const c2 = a * a * sigma * sigma;
    const m = dftForward(this.u, this.v, this.grid, xData);
    const s = this.sub;
    let set: ClosureSet = s;
    if (c2 > 0 || noise) {
      const jj = c2 > 0 ? this.jjDiagonal(m.re, m.im) : null;
      const phaseSigma = Float64Array.from(s.phaseSigma, (v, i) => Math.sqrt(v * v + (jj ? this.kappa * c2 * jj.phase[i] : 0)));
      const ampSigma = Float64Array.from(s.ampSigma, (v, i) => Math.sqrt(v * v + (jj ? this.kappa * c2 * jj.logAmp[i] : 0)));
      set = { ...this.perturbed(noise), phaseSigma, ampSigma };
    }
    const gRe = new Float64Array(this.u.length);
    const gIm = new Float64Array(this.u.length);
    guardedClosureChi2(set, m.re, m.im, this.floor2, { gRe, gIm });
    const g = dftAdjoint(this.u, this.v, this.grid, gRe, gIm).re; // ∂χ²/∂x
    const out = new Float64Array(xData.length);
    for (let p = 0; p < out.length; p++) out[p] = -0.5 * g[p];
    // the pseudo-data, exactly convolved: Bᵀ(Σ_B + a²σ² BBᵀ)⁻¹(y_B − B x)
    const [f, sx, sy] = this.moments(xData);
    const M = this.bbt.map((v, i) => v * c2 + (i % 4 === 0 ? this.sigmaB[i / 4] : 0));
    const z = solve3(M, [this.yB[0] - f, -sx, -sy]);
    for (let p = 0; p < out.length; p++) out[p] += z[0] + z[1] * this.lx[p] + z[2] * this.my[p];
    for (let p = 0; p < out.length; p++) out[p] *= a;
    return out;
  }

  /** Standard normals per chain for noiseDraw: one per closure, [1, N_ψ + N_L]. */
  get noiseShape(): [number, number] {
    return [1, this.observed];
  }

  /** The perturbation score() takes: the standard normals themselves (scaled by each closure's σ there). */
  noiseDraw(z: tf.Tensor): tf.Tensor {
    return tf.clone(z);
  }

  /** The score for x [B, ny, nx] (prior units) at noise level σ; `perturbation` a noiseDraw. */
  score(x: tf.Tensor, sigma: number, _warm?: unknown, perturbation?: tf.Tensor): tf.Tensor {
    this.check(x);
    const [ny, nx] = this.inShape;
    const per = ny * nx;
    const b = x.shape[0];
    const xs = x.dataSync();
    const zs = perturbation ? perturbation.dataSync() : null;
    const { scale, offset } = this.affine;
    const out = new Float32Array(b * per);
    for (let k = 0; k < b; k++) {
      const xd = new Float64Array(per);
      for (let p = 0; p < per; p++) xd[p] = scale * xs[k * per + p] + offset;
      const g = this.gradient(xd, sigma, zs ? zs.subarray(k * this.observed, (k + 1) * this.observed) : undefined);
      out.set(Float32Array.from(g), k * per);
    }
    return tf.tensor3d(out, [b, ny, nx]);
  }

  /**
   * The data's update of an estimate x̂ (prior units, [B, ny, nx]) made from a state at noise level σ with the prior
   * alone (the samplers' ending and the Rao–Blackwellised estimates, denoise.ts): the mode of N(x; x̂, σ²I) · p(c | x),
   * argmin ‖x − x̂‖²/(2σ²) − log p(c | x), by L-BFGS from x̂ (at most CLOSURE_CONDITION_ITERATIONS) — the Kalman update
   * the linear likelihoods make, for the non-linear closures (its linearisation at the mode); with `perturbation`
   * (observed closures moved by a draw of their noise) and x̂ a draw, randomise-then-optimise: for a linear model
   * a draw of the conditional, for the closures its approximation; σ widened by the discrepancy rule where the mode
   * at σ does not fit the closures (conditionOne, the module comment).
   */
  condition(xHat: tf.Tensor, sigma: number, perturbation?: tf.Tensor): tf.Tensor {
    this.check(xHat);
    if (!(sigma > 0)) return tf.clone(xHat);
    const [ny, nx] = this.inShape;
    const per = ny * nx;
    const b = xHat.shape[0];
    const xs = Float32Array.from(xHat.dataSync());
    const zs = perturbation ? perturbation.dataSync() : null;
    // each estimate recentred first (whole pixels): a shift after the fit would move flux off the grid's edges and
    // with it the closures (on the simulated crescent one to three pixels took χ² per closure from 1–6 to 13–27)
    const shifts = recentreChains(xs, b, this.grid, this.affine);
    const { scale, offset } = this.affine;
    const out = new Float32Array(b * per);
    const estimates: { x0: Float64Array; mode: Float64Array; widening: number }[] = [];
    for (let k = 0; k < b; k++) {
      const x0 = new Float64Array(per);
      for (let p = 0; p < per; p++) x0[p] = scale * xs[k * per + p] + offset;
      const noise = zs ? zs.subarray(k * this.observed, (k + 1) * this.observed) : undefined;
      // a draw starts at the widening its chain's estimate took (the last conditioning without noise of as many
      // images: denoise.ts's tweedieDraw conditions the mean, then the draw; else the rule's without noise), from
      // that estimate's mode moved by the draw's difference from the estimate (for a linear model the draw's mode
      // differs from the estimate's by about that where the data measure little), and widens further while it does
      // not fit
      const est = noise && this.estimates?.length === b ? this.estimates[k] : noise ? this.estimateOf(x0, sigma) : null;
      const r = est ? this.conditionOne(x0, sigma, noise, { widening: est.widening, from: Float64Array.from(est.mode, (v, p) => v + x0[p] - est.x0[p]) }) : this.conditionOne(x0, sigma);
      if (!noise) estimates.push({ x0, mode: r.x, widening: r.record.widening });
      for (let p = 0; p < per; p++) out[k * per + p] = (r.x[p] - offset) / scale;
      // the fit of the image as returned (float32, prior units), which the products keep: a mode that drives a
      // closure's visibilities near zero makes its phase sensitive to the rounding
      const kept = this.chi2Parts(Float64Array.from(out.subarray(k * per, (k + 1) * per), (v) => scale * v + offset));
      this.conditionings.push({ ...r.record, chi2: (kept.phase + kept.logAmp) / this.observed, perturbed: noise !== undefined, shift: shifts[k] });
    }
    if (!zs) this.estimates = estimates;
    return tf.tensor3d(out, [b, ny, nx]);
  }

  /** An estimate's conditioning without noise (conditionOne), as condition keeps it for its chain's draw. */
  private estimateOf(x0: Float64Array, sigma: number): { x0: Float64Array; mode: Float64Array; widening: number } {
    const r = this.conditionOne(x0, sigma);
    return { x0, mode: r.x, widening: r.record.widening };
  }

  /**
   * One image's conditioning (data units): the mode of N(x; x0, (s·σ)²I) · p(c | x), s from `start.widening`
   * (default 1; the first solve from `start.from`, default x0), widened by CLOSURE_WIDEN_FACTOR per step (each solve
   * from the last one's mode) until its χ² per closure against the observed closures is at most the target, or s
   * reaches `maxWidening`; then one solve at the widening between the last two steps where log χ² interpolated
   * linearly in log σ reaches the target, kept where it fits. The target: `fitTarget` for an estimate (its fit kept
   * to CLOSURE_FIT_SLACK above it), `fitTarget` + CLOSURE_FIT_SLACK for a draw (`noise`: its closures perturbed, it
   * scatters about the data by their noise). The module comment: the discrepancy rule.
   */
  conditionOne(
    x0: Float64Array,
    sigma: number,
    noise?: ArrayLike<number>,
    start: { widening: number; from: Float64Array } = { widening: 1, from: x0 },
  ): { x: Float64Array; record: Omit<ClosureConditioning, 'perturbed' | 'shift'> } {
    let iterations = 0;
    const target = noise ? this.fitTarget + CLOSURE_FIT_SLACK : this.fitTarget;
    const keep = noise ? target : this.fitTarget * (1 + CLOSURE_FIT_SLACK);
    const solve = (widening: number, from: Float64Array, maxIter = this.conditionIterations) => {
      const r = this.mode(x0, sigma * widening, from, noise, maxIter);
      iterations += r.iterations;
      const c = this.chi2Parts(r.x);
      return { x: r.x, widening, chi2: (c.phase + c.logAmp) / this.observed };
    };
    // a draw's first solve (from its estimate's mode) may take CLOSURE_DRAW_ITERATION_FACTOR × the iterations
    let lo = solve(Math.min(start.widening, this.maxWidening), start.from, start.from === x0 ? this.conditionIterations : CLOSURE_DRAW_ITERATION_FACTOR * this.conditionIterations);
    let hi = lo;
    while (hi.chi2 > target && hi.widening < this.maxWidening) {
      lo = hi;
      hi = solve(Math.min(hi.widening * CLOSURE_WIDEN_FACTOR, this.maxWidening), hi.x);
    }
    if (hi.chi2 <= target && lo !== hi && lo.chi2 > target) {
      const t = Math.log(lo.chi2 / target) / Math.log(lo.chi2 / hi.chi2);
      const w = Math.exp(Math.log(lo.widening) + t * Math.log(hi.widening / lo.widening));
      if (w > lo.widening * 1.01 && w < hi.widening * 0.99) {
        const mid = solve(w, lo.x);
        if (mid.chi2 <= keep) hi = mid;
      }
    }
    return { x: hi.x, record: { widening: hi.widening, chi2: hi.chi2, iterations } };
  }

  /** The mode of N(x; x0, σ²I) · p(c | x) (σ in prior units, x data units) by L-BFGS from `from`. */
  private mode(x0: Float64Array, sigma: number, from: Float64Array, noise?: ArrayLike<number>, maxIter = this.conditionIterations) {
    const per = x0.length;
    const scale = this.affine.scale;
    const iv = 1 / (scale * scale * sigma * sigma);
    const fg = (x: Float64Array, g: Float64Array) => {
      const l = this.valueAndGradient(x, noise);
      let f = 0;
      for (let p = 0; p < per; p++) {
        const d = x[p] - x0[p];
        f += 0.5 * d * d * iv;
        g[p] = d * iv - l.gradient[p];
      }
      return f - l.value;
    };
    return lbfgs(fg, from, { maxIter, ftol: 1e-9, gtol: 0 });
  }

  /** log p(c | x) (thermal σ's, the observed closures perturbed by `noise` where given) and its gradient, data units, from one transform. */
  private valueAndGradient(x: Float64Array, noise?: ArrayLike<number>): { value: number; gradient: Float64Array } {
    const set = this.perturbed(noise);
    const m = dftForward(this.u, this.v, this.grid, x);
    const gRe = new Float64Array(this.u.length);
    const gIm = new Float64Array(this.u.length);
    const c = guardedClosureChi2(set, m.re, m.im, this.floor2, { gRe, gIm });
    const g = dftAdjoint(this.u, this.v, this.grid, gRe, gIm).re;
    const [f, sx, sy] = this.moments(x);
    const r = [this.yB[0] - f, -sx, -sy];
    const z = r.map((v, i) => v / this.sigmaB[i]);
    const gradient = new Float64Array(x.length);
    for (let p = 0; p < x.length; p++) gradient[p] = -0.5 * g[p] + z[0] + z[1] * this.lx[p] + z[2] * this.my[p];
    return { value: -0.5 * (c.phase + c.logAmp + r.reduce((a, v, i) => a + v * z[i], 0)), gradient };
  }

  settle(): Promise<void> {
    return Promise.resolve();
  }

  /** (χ²_ψ + χ²_L)/(N_ψ + N_L) of each chain, [B] (x in prior units). */
  async chi2PerPixel(x: tf.Tensor): Promise<Float32Array> {
    this.check(x);
    const xs = (await x.data()) as Float32Array;
    const per = this.inShape[0] * this.inShape[1];
    const out = new Float32Array(x.shape[0]);
    for (let k = 0; k < out.length; k++) {
      out[k] = await this.chi2OfImage(Float32Array.from(xs.subarray(k * per, (k + 1) * per), (v) => this.affine.scale * v + this.affine.offset));
    }
    return out;
  }

  /** DPS's misfit is differentiated through the network on the device: not offered for closures. */
  weightedResidualNorm(_x: tf.Tensor): tf.Tensor1D {
    throw new LikelihoodInputError('the closure likelihood does not support the dps sampler (use pc, em, ald or ula)');
  }

  /** ∞: the Rao–Blackwellised mean averages the estimates at σmin only (rao-blackwell.ts's window). */
  normalMaxEigenvalue(): Promise<number> {
    return Promise.resolve(Infinity);
  }

  /**
   * The closures' residual back-projected, Jᵀ Σ⁻¹ r (the image-plane gradient of −χ²/2 at the thermal σ's), divided
   * by its noise's rms over the pixels, √(Σ_i (J Jᵀ)_ii/σ_i² / N): about N(0, 1) per pixel for a model within the noise.
   */
  async normalisedResidual(xData: Float32Array): Promise<Float32Array> {
    const x = Float64Array.from(xData);
    const m = dftForward(this.u, this.v, this.grid, x);
    const gRe = new Float64Array(this.u.length);
    const gIm = new Float64Array(this.u.length);
    guardedClosureChi2(this.sub, m.re, m.im, this.floor2, { gRe, gIm });
    const g = dftAdjoint(this.u, this.v, this.grid, gRe, gIm).re;
    const jj = this.jjDiagonal(m.re, m.im);
    let t = 0;
    jj.phase.forEach((v, i) => (t += v / this.sub.phaseSigma[i] ** 2));
    jj.logAmp.forEach((v, i) => (t += v / this.sub.ampSigma[i] ** 2));
    const sd = Math.sqrt(t / x.length);
    return Float32Array.from(g, (v) => (sd > 0 ? (-0.5 * v) / sd : 0));
  }

  /** (χ²_ψ + χ²_L)/(N_ψ + N_L) of an image in data units. */
  async chi2OfImage(xData: Float32Array): Promise<number> {
    const p = this.chi2Parts(xData);
    return (p.phase + p.logAmp) / this.observed;
  }

  dispose(): void {
    this.disposed = true;
  }

  private check(x: tf.Tensor): void {
    if (this.disposed) throw new Error('likelihood used after dispose()');
    if (x.rank !== 3 || x.shape[1] !== this.inShape[0] || x.shape[2] !== this.inShape[1]) {
      throw new LikelihoodInputError(`likelihood: expected images [B, ${this.inShape[0]}, ${this.inShape[1]}], got [${x.shape.join(', ')}]`);
    }
  }
}

/** `src` [ny, nx] moved by whole pixels (dx, dy) into `dst`: dst(x, y) = src(x − dx, y − dy), `fill` where that is outside. */
function shiftImage<T extends Float32Array | Float64Array>(src: ArrayLike<number>, dst: T, nx: number, ny: number, dx: number, dy: number, fill: number): T {
  for (let y = 0; y < ny; y++) for (let x = 0; x < nx; x++) {
    const xs = x - dx;
    const ys = y - dy;
    dst[y * nx + x] = xs >= 0 && xs < nx && ys >= 0 && ys < ny ? src[ys * nx + xs] : fill;
  }
  return dst;
}

/**
 * Recentres chains in place: each [ny, nx] image (prior units, chain-major) is shifted by whole pixels, zero-filled,
 * to put the centroid of its positive part (data units x = scale·x_p + offset) on the phase centre, and `companions`
 * (each chain's Rao–Blackwellised mean) by the same shift as their chain — the closures fix no position, and the
 * position pseudo-datum holds the chains only loosely where the closures' gradients dominate. Returns the shifts.
 */
export function recentreChains(samples: Float32Array, n: number, grid: ImageGrid, affine: Affine, companions?: Float32Array | null): [number, number][] {
  const { nx, ny } = grid;
  const per = nx * ny;
  const shifts: [number, number][] = [];
  for (let k = 0; k < n; k++) {
    const img = samples.subarray(k * per, (k + 1) * per);
    let t = 0;
    let sx = 0;
    let sy = 0;
    for (let y = 0; y < ny; y++) for (let x = 0; x < nx; x++) {
      const v = Math.max(affine.scale * img[y * nx + x] + affine.offset, 0);
      t += v;
      sx += v * x;
      sy += v * y;
    }
    const dx = t > 0 ? Math.floor(nx / 2) - Math.round(sx / t) : 0;
    const dy = t > 0 ? Math.floor(ny / 2) - Math.round(sy / t) : 0;
    shifts.push([dx, dy]);
    if (dx === 0 && dy === 0) continue;
    const fill = -affine.offset / affine.scale; // data value 0
    for (const arr of companions ? [samples, companions] : [samples]) {
      const src = Float32Array.from(arr.subarray(k * per, (k + 1) * per));
      shiftImage(src, arr.subarray(k * per, (k + 1) * per), nx, ny, dx, dy, fill);
    }
  }
  return shifts;
}

/**
 * The aligned mean of images (data units, image-major [n][ny][nx]): each image after the first shifted by the whole
 * pixels (within ±maxShift, zero-filled) that maximise its cross-correlation with the first, then averaged — the
 * closures fix no position, so draws of the same structure at different positions blur in a plain mean (the EHT
 * papers' "aligned mean" of posterior images). Returns the mean and each image's shift [dx, dy] (the first [0, 0]).
 */
export function alignedMean(images: ArrayLike<number>, n: number, grid: ImageGrid, maxShift = Math.floor(Math.min(grid.nx, grid.ny) / 4)): { mean: Float64Array; shifts: [number, number][] } {
  const { nx, ny } = grid;
  const per = nx * ny;
  const ref = Float64Array.from({ length: per }, (_, p) => images[p]);
  const mean = Float64Array.from(ref, (v) => v / n);
  const shifts: [number, number][] = [[0, 0]];
  for (let k = 1; k < n; k++) {
    const img = Float64Array.from({ length: per }, (_, p) => images[k * per + p]);
    let best = -Infinity;
    let sh: [number, number] = [0, 0];
    for (let dy = -maxShift; dy <= maxShift; dy++) {
      for (let dx = -maxShift; dx <= maxShift; dx++) {
        // Σ_p ref(p) · img(p − d): the image moved by (dx, dy)
        let c = 0;
        for (let y = Math.max(0, dy); y < Math.min(ny, ny + dy); y++) {
          const ro = y * nx;
          const io = (y - dy) * nx - dx;
          for (let x = Math.max(0, dx); x < Math.min(nx, nx + dx); x++) c += ref[ro + x] * img[io + x];
        }
        if (c > best) {
          best = c;
          sh = [dx, dy];
        }
      }
    }
    shifts.push(sh);
    const moved = shiftImage(img, new Float64Array(per), nx, ny, sh[0], sh[1], 0);
    for (let p = 0; p < per; p++) mean[p] += moved[p] / n;
  }
  return { mean, shifts };
}
