import { pixelCentre, type LensParams } from '../operators/lens-model.js';
import type { PsfKernel } from '../operators/psf.js';
import { UserInputError } from '../errors.js';
import { blurredLensMatrix, defaultSourceGrid, pixelRowChunks, lensParamsFromMass, massAllowed, massOf, massVector, qPhiFromEllipticity, type Grid, type MassVector } from './mass.js';
import { lightColumns, lightImage, MAX_CORE_GAUSSIANS, withCore, type SersicParams } from './light.js';
import { fixedSourceSolverOf, invert, lnLambdaAtScale, normalEquationBands, normalEquations, normalEquationsBand, optimiseLambda, regularisation, sourceNormalEquations, withLight, type InversionResult, type NormalEquations, type Regularisation, type RegularisationKind } from './inversion.js';
import { finiteDifferenceHessianBatch, gradientFromValues, gradientPoints, invertSpd, nelderMead, nelderMeadBatch, type MinimumResult } from './optimise.js';
import { csrMultiply, stackRows, type CsrMatrix } from '../operators/csr.js';
import { binImage } from './binned.js';
import { sharpOutliers, type NucleusZone } from './outliers.js';
import { cholesky, type CholeskyFactoriser } from '../linalg/cholesky.js';

// The lens fit: the parameters of the SIE (or EPL) + shear and of the deflector's Sérsic light that maximise the Bayesian
// evidence of the pixelated-source inversion (inversion.ts), from several starts, then their uncertainties from
// the Laplace approximation, then the source on its own grid. docs/lensing.md describes the method.

export class LensFitInputError extends UserInputError {
  override name = 'LensFitInputError';
}

/** The observation: an image with its σ map, the pixels to fit and the PSF. */
export interface LensFitData {
  /** [ny, nx] row-major, data units */
  data: ArrayLike<number>;
  /** σ per pixel (data units); NaN, infinite or non-positive σ (and NaN data) take a pixel out of the fit */
  sigma: ArrayLike<number>;
  image: Grid;
  /** 1 where a pixel is fitted; null: every valid pixel */
  mask: ArrayLike<number> | null;
  psf: PsfKernel | null;
}

export interface LensFitProgress {
  stage: 'light' | 'mass' | 'joint' | 'errors' | 'source';
  /** the start (0-based) in the mass stage */
  start?: number;
  evaluations: number;
  logEvidence?: number;
  message: string;
}

/** The mass profiles the fit offers: the SIE, or the elliptical power law with its slope γ fitted too. */
export const MASS_PROFILES = ['sie', 'epl'] as const;
export type MassProfile = (typeof MASS_PROFILES)[number];
export { EPL_GAMMA_BOUNDS } from './mass.js';
/** The EPL slope's start (the SIE). */
export const EPL_GAMMA_START = 2;

export interface LensFitOptions {
  /** the mass profile: 'sie' (default) or 'epl' (the slope γ fitted in EPL_GAMMA_BOUNDS, from 2) */
  mass?: MassProfile;
  /**
   * Sérsic components of the deflector's light: 0, 1 (default) or 2, or 'auto': two where the second gains more
   * evidence than the Bayesian information criterion's penalty for its seven parameters, else one (fitLens, step 4)
   */
  lightComponents?: number | 'auto';
  /**
   * Gaussian core components tied to the first Sérsic component's centre and ellipticity (light.ts coreComponents:
   * σ 0.5, 1, 2, 4 pixels, the first `lightCore`), their amplitudes linear, of either sign, solved with the others'
   * and the source's; 0–MAX_CORE_GAUSSIANS, default 0. No parameter is added to the fitted vector.
   */
  lightCore?: number;
  /**
   * the Sérsic components' centres: 'free' (default), each its own; 'tied', the second concentric with the first
   * (one galaxy's bulge and envelope, as lenstronomy's and PyAutoLens's tied centres): two parameters fewer, and no
   * second component free to wander off the galaxy and take up what the source should
   */
  lightCentres?: LightCentres;
  /**
   * the mask is the default disc of `radius` arcsec about `centre` (arcsec from the image centre; default the
   * centre): widened to DISC_PER_THETA_E × the first θE where that is larger (the command line's default mask)
   */
  defaultDisc?: { radius: number; centre?: [number, number] };
  /** side of the source grid while fitting (default 24) */
  fitSourceSize?: number;
  /** side of the final source grid (default 64, the prior's size) */
  sourceSize?: number;
  /** arcsec per pixel of the final source grid (default: defaultSourceGrid for the fitted lens) */
  sourceScale?: number;
  /** ray-shooting sub-pixels per side (default 2) */
  supersample?: number;
  regularisation?: RegularisationKind;
  /** starts of the mass search (default 3) */
  starts?: number;
  /** the Laplace approximation's uncertainties (default true) */
  errors?: boolean;
  /**
   * add to them what the Laplace step holds fixed — λ (marginalised to first order) and the fit's source grid (the
   * scatter of the optimum over four other grids) — and the optimiser's own distance from the optimum (default true)
   */
  systematicErrors?: boolean;
  /**
   * the starts' search on the image binned 2 × 2 with a fit grid of half the side, the full image then refining the
   * best start (default: true for the SIE, false for the EPL, whose slope the binned search misplaces; false: the
   * starts on the full image and the fit grid)
   */
  coarseStarts?: boolean;
  /** Nelder–Mead evaluations per stage (default 1500) */
  maxEvaluations?: number;
  /**
   * leave out the pixels sharper than the PSF (cosmic-ray residuals, hot pixels: outliers.ts), found in the data
   * and again in the light-subtracted data (default true)
   */
  rejectSharpOutliers?: boolean;
  /**
   * the deflector's nucleus, whose sharp pixels are kept (outliers.ts, nucleusPixels): the radius in pixels about the
   * deflector light's fitted centre (default: the PSF's FWHM; 0: none kept). Only the test against the light uses it.
   */
  nucleusRadius?: number;
  /**
   * the first θE: the ring's radius refined by the best evidence of a round lens over radii within ×1.25 of it on
   * the binned image (firstThetaE; default false: the ring's radius alone. On the SLACS-like cutout of
   * docs/lensing.md it took 1.446″ to 1.354″ for a true 1.3535″; on the 72² simulations of lensing-fit.test.ts
   * it took 1.203″ to 1.162″ for a true 1.2″, and moved the binned starts' end 0.52σ from the full-image starts')
   */
  scanThetaE?: boolean;
  /**
   * threads for the independent evaluations (the starts' ellipticity scan, the starts, the Hessian's steps and the
   * Hessian, the error budget's λ and grids): absent, all on this thread. The result is the same bit for bit.
   */
  parallel?: LensFitParallel;
  onProgress?: (p: LensFitProgress) => void;
}

/** The Gaussian core components tied to the first light component: their number and the image's pixel (arcsec). */
export interface LightCore {
  count: number;
  scale: number;
}
const NO_CORE: LightCore = { count: 0, scale: 0 };

/**
 * A light component's parameters in the automatic choice's penalty: six of shape and the amplitude; a second
 * component whose centre is tied to the first's has two fewer (LIGHT_COMPONENT_PARAMETERS_TIED).
 */
export const LIGHT_COMPONENT_PARAMETERS = 7;
export const LIGHT_COMPONENT_PARAMETERS_TIED = 5;
/**
 * The default disc's radius in units of the first θE where that exceeds the default: the ring, and the arcs and the
 * PSF's reach beyond it, lie within about twice the Einstein radius of the lens's centre.
 */
export const DISC_PER_THETA_E = 2;

/** Names of the fit's parameter vector, in order: the mass (an EPL's slope `gamma` last), then each light component's. */
export const MASS_NAMES = ['thetaE', 'e1', 'e2', 'x0', 'y0', 'gamma1', 'gamma2'] as const;
export const EPL_MASS_NAMES = [...MASS_NAMES, 'gamma'] as const;
export const LIGHT_NAMES = ['x0', 'y0', 'e1', 'e2', 'lnREff', 'n'] as const;

export interface ParameterEstimate {
  value: number;
  /** standard deviation from the Laplace approximation (null when not computed or not positive definite) */
  error: number | null;
}

export interface LensFitResult {
  lens: LensParams;
  /** the mass profile fitted */
  massProfile: MassProfile;
  mass: MassVector;
  /** the light components: the fitted Sérsic ones, then the `lightCore` Gaussians tied to the first */
  light: SersicParams[];
  /** the Gaussian core components at the end of `light` (LensFitOptions.lightCore) */
  lightCore: number;
  /** the light components' amplitudes (data units at I = 1, i.e. at rEff) */
  amplitudes: number[];
  /** every reported parameter with its error: thetaE, q, phi, e1, e2, x0, y0, gamma1, gamma2, (EPL) gamma, light<k>.… */
  parameters: Record<string, ParameterEstimate>;
  /** the covariance of the fit vector (names in `names`), or null: the sum of `covarianceParts` */
  covariance: Float64Array | null;
  /**
   * its parts: `statistical` (the Laplace approximation at fixed λ and grid), `lambda` (λ marginalised),
   * `grid` (the fit source grid's discretisation: the scatter over shifted grids), `resolution` (the offset of
   * the optimum on a finer grid over the same extent), `optimiser` (the Newton step from the optimiser's end to
   * the optimum); null where not computed
   */
  covarianceParts: { statistical: Float64Array; lambda: Float64Array | null; grid: Float64Array | null; resolution: Float64Array | null; optimiser: Float64Array | null } | null;
  /** σ of ln λ from the evidence's curvature, the other grids of the grid term and the finer grid of the resolution term */
  systematics: { sigmaLnLambda: number; grids: Grid[]; finerGrid: Grid } | null;
  /**
   * the Hessian of −log Z in the fit vector (the Laplace covariance's inverse), and the steps of its first pass
   * along the parameters' axes (the second is along the first's covariance axes)
   */
  hessian: Float64Array | null;
  hessianSteps: Float64Array | null;
  /** why there are no errors, when the Laplace step was run and failed */
  laplaceNote: string | null;
  names: string[];
  /** the evidence of the fit (fit source grid) and of the final inversion (final source grid) */
  logEvidenceFit: number;
  logEvidence: number;
  lambda: number;
  chi2: number;
  nPixels: number;
  chi2PerPixel: number;
  /** the image grid fitted, the source grid while fitting, and the final source grid */
  image: Grid;
  fitSourceGrid: Grid;
  sourceGrid: Grid;
  /** the final inversion: source pixels on sourceGrid */
  source: Float64Array;
  /** full-image products ([ny, nx]) */
  lightImage: Float64Array;
  lensedSourceImage: Float64Array;
  modelImage: Float64Array;
  /** (data − model)/σ on the fitted pixels, NaN elsewhere */
  normalisedResidual: Float64Array;
  /** the pixels fitted (flat indices) */
  pixels: Int32Array;
  /** the pixels left out as sharper than the PSF (flat indices; rejectSharpOutliers) */
  outliers: Int32Array;
  /**
   * the light model's automatic choice (null where the components were given): the components kept, log Z with one
   * and with two (at the two components' fitted lens, on the full image and the fit grid: the one component's light
   * refitted there, λ by the evidence for each), the penalty a second must exceed (½ · 7 · ln N; ½ · 5 · ln N with tied centres), N the pixels
   * compared, and whether on the binned image (no longer: always false)
   */
  lightSelection: { components: number; logEvidence: [number, number]; penalty: number; pixels: number; binned: boolean } | null;
  /** the Sérsic components' centres as fitted (LensFitOptions.lightCentres) */
  lightCentres: LightCentres;
  /** the radius of the default disc fitted (arcsec; after its widening with the first θE), null without defaultDisc */
  fitRadius: number | null;
  /** the first θE's scan: radius (arcsec) and log Z on the binned image (empty where not scanned) */
  thetaEScan: { thetaE: number; logEvidence: number }[];
  /** evidence evaluations per stage, λ searches, the light-and-mass cycles run (`jointCycles`) */
  evaluations: Record<string, number>;
  thetaEInitial: number;
  regularisation: RegularisationKind;
  supersample: number;
  seconds: number;
}

const now = (): number => (typeof performance !== 'undefined' ? performance.now() : Date.now()) / 1000;

/** The pixels fitted: in the mask, with finite data and a finite positive σ. */
export function fitPixels(d: LensFitData): Int32Array {
  const n = d.image.shape[0] * d.image.shape[1];
  if (d.data.length !== n || d.sigma.length !== n) throw new LensFitInputError(`the data and the σ map must both be ${d.image.shape[0]}×${d.image.shape[1]} pixels`);
  if (d.mask && d.mask.length !== n) throw new LensFitInputError(`the mask must be ${d.image.shape[0]}×${d.image.shape[1]} pixels, like the data`);
  const out: number[] = [];
  for (let k = 0; k < n; k++) {
    const s = d.sigma[k];
    if (d.mask && !(d.mask[k] > 0)) continue;
    if (!Number.isFinite(d.data[k]) || !Number.isFinite(s) || !(s > 0)) continue;
    out.push(k);
  }
  return Int32Array.from(out);
}

/** An annular mask R1 ≤ |θ − centre| ≤ R2 (arcsec) on the image grid. */
export function annulusMask(image: Grid, r1: number, r2: number, centre: [number, number] = [0, 0]): Uint8Array {
  const [ny, nx] = image.shape;
  const m = new Uint8Array(ny * nx);
  for (let i = 0; i < ny; i++) {
    for (let j = 0; j < nx; j++) {
      const r = Math.hypot(pixelCentre(j, nx, image.scale) - centre[0], pixelCentre(i, ny, image.scale) - centre[1]);
      if (r >= r1 && r <= r2) m[i * nx + j] = 1;
    }
  }
  return m;
}

/** The light components' centres in the fit (LensFitOptions.lightCentres). */
export type LightCentres = 'free' | 'tied';
export const LIGHT_CENTRES: readonly LightCentres[] = ['free', 'tied'];

/**
 * Where component k's parameters (LIGHT_NAMES) lie in the fit vector's light part: six each, or with tied centres
 * the components after the first four (e1, e2, ln rEff, n; their centre the first's). Null for a tied centre.
 */
function lightSlot(k: number, name: (typeof LIGHT_NAMES)[number], tied: boolean): number | null {
  const j = LIGHT_NAMES.indexOf(name);
  if (!tied || k === 0) return 6 * k + j;
  return j < 2 ? null : 6 + 4 * (k - 1) + (j - 2);
}

/** The light components of a fit vector's light part (from `offset`). */
function lightFromVector(v: ArrayLike<number>, offset: number, count: number, tied = false): SersicParams[] {
  const out: SersicParams[] = [];
  const at = (k: number, name: (typeof LIGHT_NAMES)[number]) => v[offset + (lightSlot(k, name, tied) ?? lightSlot(0, name, tied)!)];
  for (let k = 0; k < count; k++) out.push({ x0: at(k, 'x0'), y0: at(k, 'y0'), e1: at(k, 'e1'), e2: at(k, 'e2'), rEff: Math.exp(at(k, 'lnREff')), n: at(k, 'n') });
  return out;
}

/** Component k's entries in the vector's light part, of its six values in LIGHT_NAMES's order (lightSlot's layout). */
const ownEntries = (k: number, six: number[], tied: boolean): number[] => (tied && k > 0 ? six.slice(2) : six);

/** The fit vector's light part of light components. */
function lightToVector(light: SersicParams[], tied = false): number[] {
  return light.flatMap((c, k) => ownEntries(k, [c.x0, c.y0, c.e1, c.e2, Math.log(c.rEff), c.n], tied));
}
/** The names of the fit vector's light part (`light<k>.<name>`). */
function lightVectorNames(count: number, tied = false): string[] {
  const out: string[] = [];
  for (let k = 0; k < count; k++) for (const nm of LIGHT_NAMES) if (lightSlot(k, nm, tied) !== null) out.push(`light${k}.${nm}`);
  return out;
}
/** Per-component values (six, in LIGHT_NAMES's order) laid out as the vector's light part. */
function lightLayout(perComponent: number[], count: number, tied = false): number[] {
  return Array.from({ length: count }, (_, k) => ownEntries(k, perComponent, tied)).flat();
}

/** The mass of a fit vector (its first 7 values, 8 for an EPL), and the vector of a mass. */
function massFromVector(v: ArrayLike<number>, epl: boolean): MassVector {
  return massOf(Array.prototype.slice.call(v, 0, epl ? 8 : 7) as number[]);
}

function massToVector(m: MassVector, epl: boolean): number[] {
  return Array.from(massVector({ ...m, gamma: epl ? (m.gamma ?? EPL_GAMMA_START) : undefined }));
}

/**
 * Parameter values the fit allows: θE > 0, |e| < 0.8, |γ_ext| < 0.5, an EPL slope in EPL_GAMMA_BOUNDS, 0.3 ≤ n ≤ 8,
 * rEff in (0.01 px, 20 × image).
 */
function allowed(mass: MassVector | null, light: SersicParams[], image: Grid): boolean {
  if (mass && !massAllowed(mass)) return false;
  const size = Math.max(...image.shape) * image.scale;
  for (const l of light) {
    if (!(l.n >= 0.3 && l.n <= 8) || Math.hypot(l.e1, l.e2) >= 0.8 || !(l.rEff > 0.01 * image.scale && l.rEff < 20 * size)) return false;
  }
  return true;
}

/**
 * The deflector's light alone, from the data: Sérsic shapes by Nelder–Mead with the amplitudes by linear least
 * squares (with two components, both positive), on the fitted pixels minus those more than 3σ above the model (the
 * arcs), in two rounds. With `sky`, a constant sky level is a further linear amplitude of any sign (a column of
 * ones, solved with the light's), returned as `sky` (0 without).
 */
export function fitLightOnly(d: LensFitData, pixels: Int32Array, count: number, maxEval: number, progress: (p: LensFitProgress) => void, sky = false, core = 0, tied = false): { light: SersicParams[]; evaluations: number; sky: number } {
  const [ny, nx] = d.image.shape;
  // start: the centroid about the brightest pixel by the median of its 3×3 neighbourhood (a hot pixel or a cosmic
  // ray's track that the sharp-pixel test left on the galaxy's light is no peak there), round, rEff = 5 px, n = 3
  const med3 = (p: number): number => {
    const i0 = Math.floor(p / nx);
    const j0 = p - i0 * nx;
    const v: number[] = [];
    for (let i = i0 - 1; i <= i0 + 1; i++) for (let j = j0 - 1; j <= j0 + 1; j++) v.push(i >= 0 && i < ny && j >= 0 && j < nx && Number.isFinite(d.data[i * nx + j]) ? d.data[i * nx + j] : -Infinity);
    v.sort((x, y) => x - y);
    return v[4];
  };
  let peak = pixels[0];
  let peakMed = med3(peak);
  for (const p of pixels) {
    const m = med3(p);
    if (m > peakMed) {
      peak = p;
      peakMed = m;
    }
  }
  const pi = Math.floor(peak / nx);
  const pj = peak - pi * nx;
  let sw = 0;
  let sx = 0;
  let sy = 0;
  for (let i = Math.max(0, pi - 2); i <= Math.min(ny - 1, pi + 2); i++) {
    for (let j = Math.max(0, pj - 2); j <= Math.min(nx - 1, pj + 2); j++) {
      const v = d.data[i * nx + j];
      if (!(v > 0)) continue;
      sw += v;
      sx += v * pixelCentre(j, nx, d.image.scale);
      sy += v * pixelCentre(i, ny, d.image.scale);
    }
  }
  const cx = sw > 0 ? sx / sw : pixelCentre(pj, nx, d.image.scale);
  const cy = sw > 0 ? sy / sw : pixelCentre(pi, ny, d.image.scale);
  const x0 = lightToVector(
    Array.from({ length: count }, (_, k) => ({ x0: cx, y0: cy, e1: 0, e2: 0, rEff: (k === 0 ? 5 : 15) * d.image.scale, n: k === 0 ? 3 : 1 })),
    tied,
  );
  const steps = lightLayout([d.image.scale, d.image.scale, 0.05, 0.05, 0.3, 0.5], count, tied);
  let use = pixels;
  let evaluations = 0;
  let best: Float64Array = Float64Array.from(x0);
  // the columns of the light and, with `sky`, the constant's column of ones at the pixels `sel`
  const columns = (light: SersicParams[], sel: Int32Array): Float64Array[] => {
    const cols = lightColumns(withCore(light, core, d.image.scale), d.image, d.psf, sel, 2);
    if (sky) cols.push(new Float64Array(sel.length).fill(1));
    return cols;
  };
  let skyLevel = 0;
  for (let round = 0; round < 2; round++) {
    const sel = use;
    // (not where the start itself has one: Nelder–Mead needs a finite start)
    const startAmps = count > 1 ? leastSquaresChi2(columns(lightFromVector(best, 0, count, tied), sel), d, sel).amps.subarray(0, count) : null;
    const positive = startAmps !== null && startAmps.every((a) => a > 0);
    // a component of negative amplitude is no light: with two, the fit could otherwise move one off the galaxy and
    // subtract it (on the second SLACS-like simulation of docs/lensing.md: 0.67″ off, amplitude −0.003, the lens's
    // centre and ring radius taken from it)
    const f = (v: Float64Array): number => {
      const light = lightFromVector(v, 0, count, tied);
      if (!allowed(null, light, d.image)) return Infinity;
      const r = leastSquaresChi2(columns(light, sel), d, sel);
      return positive && r.amps.subarray(0, count).some((a) => !(a > 0)) ? Infinity : r.chi2;
    };
    const r = nelderMead(f, best, {
      steps,
      maxEvaluations: Math.min(maxEval, 400),
      fTol: 0.5,
      onIteration: (b, e) => {
        if (e % 40 < 2) progress({ stage: 'light', evaluations: evaluations + e, message: `light alone, round ${round + 1}/2: χ² ${b.toFixed(1)}` });
      },
    });
    evaluations += r.evaluations;
    best = r.x;
    // drop the pixels well above the light model (the lensed source) for the next round
    const light = lightFromVector(best, 0, count, tied);
    const cols = columns(light, pixels);
    const { amps } = leastSquaresChi2(cols, d, pixels);
    const nl = cols.length - (sky ? 1 : 0);
    skyLevel = sky ? amps[nl] : 0;
    const keep: number[] = [];
    pixels.forEach((p, r2) => {
      let m = skyLevel;
      for (let k = 0; k < nl; k++) m += amps[k] * cols[k][r2];
      if ((d.data[p] - m) / d.sigma[p] < 3) keep.push(p);
    });
    use = Int32Array.from(keep);
  }
  if (sky) skyLevel = leastSquaresChi2(columns(lightFromVector(best, 0, count, tied), use), d, use).amps[count + core];
  return { light: lightFromVector(best, 0, count, tied), evaluations, sky: skyLevel };
}

/** Weighted linear least squares of the data on the columns: amplitudes and χ². */
export function leastSquaresChi2(cols: Float64Array[], d: Pick<LensFitData, 'data' | 'sigma'>, pixels: Int32Array): { amps: Float64Array; chi2: number } {
  const m = cols.length;
  const A = new Float64Array(m * m);
  const b = new Float64Array(m);
  pixels.forEach((p, r) => {
    const w = 1 / (d.sigma[p] * d.sigma[p]);
    for (let a = 0; a < m; a++) {
      b[a] += w * cols[a][r] * d.data[p];
      for (let c = 0; c < m; c++) A[a * m + c] += w * cols[a][r] * cols[c][r];
    }
  });
  const inv = invertSpd(A, m);
  const amps = new Float64Array(m);
  if (inv) for (let a = 0; a < m; a++) for (let c = 0; c < m; c++) amps[a] += inv[a * m + c] * b[c];
  let chi2 = 0;
  pixels.forEach((p, r) => {
    let v = 0;
    for (let a = 0; a < m; a++) v += amps[a] * cols[a][r];
    chi2 += ((d.data[p] - v) / d.sigma[p]) ** 2;
  });
  return { amps, chi2 };
}

/**
 * The Einstein radius's first guess: the flux-weighted mean distance from the light's centre of the fitted pixels
 * whose light-subtracted value exceeds 3σ (the arcs and the ring); null when none does.
 */
export function ringRadius(d: LensFitData, pixels: Int32Array, lightModel: ArrayLike<number> | null, centre: [number, number]): number | null {
  const [ny, nx] = d.image.shape;
  let sw = 0;
  let sr = 0;
  for (const p of pixels) {
    const v = d.data[p] - (lightModel ? lightModel[p] : 0);
    if (!(v > 3 * d.sigma[p])) continue;
    const i = Math.floor(p / nx);
    const j = p - i * nx;
    const r = Math.hypot(pixelCentre(j, nx, d.image.scale) - centre[0], pixelCentre(i, ny, d.image.scale) - centre[1]);
    if (r < 2 * d.image.scale) continue; // the light's residual core, not the ring
    sw += v;
    sr += v * r;
  }
  return sw > 0 ? sr / sw : null;
}

/**
 * The evidence for one parameter vector at a fixed λ and fixed source grid, with the light columns cached and the
 * source part of the normal equations kept for the last two lenses (withLight: an evaluation that moves only the
 * light at a lens seen before costs the light's columns, not the rays, the PSF and F_ss; the same numbers bit for bit).
 */
class EvidenceFunction {
  evaluations = 0;
  private columnCache: Map<string, Float64Array>[] = [];
  private sourceCache: { key: string; base: NormalEquations }[] = [];
  private solverCache: { key: string; solve: ((l: readonly Float64Array[]) => InversionResult | null) | null }[] = [];
  private chunkCache = new Map<string, Int32Array>();
  /**
   * the source part made on the host's threads (fitLens: LensFitParallel.sourcePart, the same numbers); null: on
   * this thread
   */
  split: ((mass: MassVector) => NormalEquations) | null = null;
  /** the factorisations of the source part made on the host's threads (LensFitParallel.factor, the same numbers); null: on this thread */
  factor: CholeskyFactoriser | null = null;
  constructor(
    readonly d: LensFitData,
    readonly pixels: Int32Array,
    readonly y: Float64Array,
    readonly w: Float64Array,
    readonly grid: Grid,
    readonly reg: Regularisation,
    readonly ss: number,
  ) {}

  /**
   * the light's columns made on the host's threads (LensFitParallel.lightColumns, the same numbers); null: on this
   * thread
   */
  splitColumns: ((light: SersicParams[]) => Float64Array[]) | null = null;
  /** the Gaussian core components tied to the first light component (withCore): how many, and the image's pixel (arcsec) */
  core: LightCore = NO_CORE;

  /**
   * the light's columns, each component's kept for its last four shapes (lightColumns renders them independently:
   * the components not kept are rendered together, on the host's threads where splitColumns is set)
   */
  columns(free: SersicParams[]): Float64Array[] {
    const light = withCore(free, this.core.count, this.core.scale);
    const keys = light.map((c) => JSON.stringify(c));
    const missing: number[] = [];
    light.forEach((_, k) => {
      if (!(this.columnCache[k] ??= new Map()).has(keys[k])) missing.push(k);
    });
    const made = missing.length ? (this.splitColumns ? this.splitColumns(missing.map((k) => light[k])) : missing.map((k) => lightColumns([light[k]], this.d.image, this.d.psf, this.pixels, 2)[0])) : [];
    return light.map((_, k) => {
      const cache = this.columnCache[k];
      let col = cache.get(keys[k]);
      if (!col) {
        col = made[missing.indexOf(k)];
        cache.set(keys[k], col);
        if (cache.size > 4) cache.delete(cache.keys().next().value!);
      }
      return col;
    });
  }

  /** pixels [from, to) of the fit's list (kept, so that a range's PSF footprint is made from the same array) */
  pixelRange(from: number, to: number): Int32Array {
    if (from === 0 && to === this.pixels.length) return this.pixels;
    const key = `${from}:${to}`;
    let sub = this.chunkCache.get(key);
    if (!sub) {
      sub = this.pixels.subarray(from, to);
      this.chunkCache.set(key, sub);
    }
    return sub;
  }

  /** the blurred lens matrix at the fitted pixels and the source part of the normal equations, kept for two lenses */
  sourcePart(mass: MassVector): NormalEquations {
    const key = JSON.stringify(mass);
    const k = this.sourceCache.findIndex((c) => c.key === key);
    if (k >= 0) {
      const e = this.sourceCache[k];
      if (k > 0) {
        this.sourceCache.splice(k, 1);
        this.sourceCache.unshift(e);
      }
      return e.base;
    }
    const base = this.split ? this.split(mass) : normalEquations({ y: this.y, w: this.w, source: this.rows(mass, 0, this.pixels.length), light: [] });
    this.sourceCache.unshift({ key, base });
    if (this.sourceCache.length > 2) this.sourceCache.pop();
    return base;
  }

  /**
   * rows [from, to) of the blurred lens matrix at the fitted pixels (the range's pixel list kept, so that its PSF
   * footprint is made once: psfFootprint)
   */
  rows(mass: MassVector, from: number, to: number): CsrMatrix {
    return blurredLensMatrix(lensParamsFromMass(mass), this.d.image, this.grid, this.ss, this.d.psf, this.pixelRange(from, to));
  }

  normal(mass: MassVector, light: SersicParams[]): NormalEquations {
    return withLight(this.sourcePart(mass), light.length ? this.columns(light) : []);
  }

  /**
   * log Z at λ (null where the parameters are not allowed). With light, through the Schur complement of the light
   * block (fixedSourceSolverOf) with F_ss + λC factorised once per lens and λ, kept for the last two: an evaluation
   * that moves only the light at a lens and λ seen before (most of the Laplace step's) costs the light's columns and
   * two solves, not the factorisation; the same evidence as invert() on the full system to rounding.
   */
  at(mass: MassVector, light: SersicParams[], lambda: number): InversionResult | null {
    if (!allowed(mass, light, this.d.image)) return null;
    this.evaluations++;
    if (!light.length) return invert(this.normal(mass, light), this.reg, lambda, this.factor ? { factor: this.factor } : {});
    const key = `${JSON.stringify(mass)}|${lambda}`;
    const k = this.solverCache.findIndex((c) => c.key === key);
    let solve: ((l: readonly Float64Array[]) => InversionResult | null) | null;
    if (k >= 0) {
      solve = this.solverCache[k].solve;
      if (k > 0) this.solverCache.unshift(...this.solverCache.splice(k, 1));
    } else {
      solve = fixedSourceSolverOf(this.sourcePart(mass), this.reg, lambda, this.factor ?? undefined);
      this.solverCache.unshift({ key, solve });
      if (this.solverCache.length > 2) this.solverCache.pop();
    }
    return solve ? solve(this.columns(light)) : null;
  }

  bestLambda(mass: MassVector, light: SersicParams[], start?: number): { best: InversionResult; evaluations: number } {
    const r = optimiseLambda(this.normal(mass, light), this.reg, { start, tol: 0.1, ...(this.factor ? { factor: this.factor } : {}) });
    this.evaluations += r.evaluations;
    return r;
  }
}

/**
 * Step 4's light-and-mass cycles after the binned starts: at most this many, ending at the first (from the second)
 * that gains less than JOINT_CYCLE_GAIN in log Z; two after the full-image starts.
 */
export const MAX_JOINT_CYCLES = 6;
export const JOINT_CYCLE_GAIN = 1;

/**
 * The light's Nelder–Mead runs at a fixed lens end where they gain less than 0.1 in log Z over their last 20
 * evaluations a parameter (240 for two components): the tails that creep along the rEff–n valley for hundredths.
 */
export const LIGHT_STALL = (n: number) => ({ evaluations: 20 * n, gain: 0.1 });

/** The binning of the starts' image (fit.ts step 3). */
export const COARSE_BIN = 2;

/**
 * The evidence on the image binned COARSE_BIN × COARSE_BIN (binned.ts) with a source grid of half the fit grid's
 * side over the same extent, and the binned frame's offset; null where too few binned pixels (under 200) or a fit
 * grid under 16² (the binned search's under 8²) make it pointless.
 */
function coarseEvidence(d: LensFitData, pixels: Int32Array, fitGrid: Grid, regKind: RegularisationKind, ss: number, core: LightCore = NO_CORE): { E: EvidenceFunction; shift: [number, number] } | null {
  const N = fitGrid.shape[0];
  if (N < 16) return null;
  const b = binImage(d.data, d.sigma, d.image, pixels, d.psf, COARSE_BIN);
  const db: LensFitData = { data: b.data, sigma: b.sigma, image: b.image, mask: null, psf: b.psf };
  const px = fitPixels(db);
  if (px.length < 200) return null;
  const n = Math.round(N / 2);
  const grid: Grid = { shape: [n, n], scale: (fitGrid.scale * N) / n };
  const y = Float64Array.from(px, (p) => db.data[p]);
  const w = Float64Array.from(px, (p) => 1 / (db.sigma[p] * db.sigma[p]));
  const E = new EvidenceFunction(db, px, y, w, grid, regularisation(regKind, grid.shape), ss);
  E.core = core;
  return { E, shift: b.shift };
}

/**
 * The fitted pixels where the lensed source is seen: the light-subtracted data above 4σ with at least one of their
 * eight neighbours above 3σ (a lone pixel is noise or an artefact, and its ray would stretch the source grid).
 */
export function arcPixels(d: LensFitData, pixels: Int32Array, lightModel: ArrayLike<number> | null): Int32Array {
  const [ny, nx] = d.image.shape;
  const r = (k: number) => (d.data[k] - (lightModel ? lightModel[k] : 0)) / d.sigma[k];
  const inFit = new Uint8Array(ny * nx);
  for (const p of pixels) inFit[p] = 1;
  const out: number[] = [];
  for (const p of pixels) {
    if (!(r(p) > 4)) continue;
    const i = Math.floor(p / nx);
    const j = p - i * nx;
    let ok = false;
    for (let di = -1; di <= 1 && !ok; di++) {
      for (let dj = -1; dj <= 1 && !ok; dj++) {
        if (!di && !dj) continue;
        const ii = i + di;
        const jj = j + dj;
        if (ii >= 0 && ii < ny && jj >= 0 && jj < nx && inFit[ii * nx + jj] && r(ii * nx + jj) > 3) ok = true;
      }
    }
    if (ok) out.push(p);
  }
  return Int32Array.from(out);
}

/**
 * The radii the first θE's scan tries: 3 % apart within a factor SCAN_WINDOW of the ring's radius (and that
 * radius), at least 4 pixels and at most 0.9 of the fitted pixels' largest distance from the centre.
 */
export const SCAN_WINDOW = 1.25;
export function scanRadiusGrid(d: LensFitData, pixels: Int32Array, centre: [number, number], ring: number): number[] {
  const [ny, nx] = d.image.shape;
  let rMax = 0;
  for (const p of pixels) {
    const i = Math.floor(p / nx);
    const j = p - i * nx;
    rMax = Math.max(rMax, Math.hypot(pixelCentre(j, nx, d.image.scale) - centre[0], pixelCentre(i, ny, d.image.scale) - centre[1]));
  }
  const lo = Math.max(4 * d.image.scale, ring / SCAN_WINDOW);
  const hi = Math.min(0.9 * rMax, ring * SCAN_WINDOW);
  const out: number[] = [];
  for (let r = lo; r <= hi; r *= 1.03) out.push(r);
  if (ring >= lo && ring <= hi) out.push(ring);
  return out.sort((x, y) => x - y);
}

export function scanRadii(
  d: LensFitData,
  pixels: Int32Array,
  light: SersicParams[],
  centre: [number, number],
  ring: number,
  fitN: number,
  regKind: RegularisationKind,
  ss: number,
  core: LightCore = NO_CORE,
): { best: number; scan: { thetaE: number; logEvidence: number }[]; evaluations: number } | null {
  const radii = scanRadiusGrid(d, pixels, centre, ring);
  if (radii.length < 3) return null;
  const scan: { thetaE: number; logEvidence: number }[] = [];
  let evaluations = 0;
  let lnLam: number | undefined;
  for (const t of radii) {
    const lens: LensParams = { thetaE: t, q: 1, phi: 0, x0: centre[0], y0: centre[1], gamma1: 0, gamma2: 0 };
    const grid = defaultSourceGrid(lens, d.image, { n: fitN, margin: 1.3, pixels });
    const c = coarseEvidence(d, pixels, grid, regKind, ss, core);
    if (!c) return null;
    const lightS = light.map((l) => ({ ...l, x0: l.x0 + c.shift[0], y0: l.y0 + c.shift[1] }));
    const m: MassVector = { thetaE: t, e1: 0, e2: 0, x0: centre[0] + c.shift[0], y0: centre[1] + c.shift[1], gamma1: 0, gamma2: 0 };
    const r = c.E.bestLambda(m, lightS, lnLam);
    evaluations += r.evaluations;
    lnLam = Math.log(r.best.lambda);
    scan.push({ thetaE: t, logEvidence: r.best.logEvidence });
  }
  let k = 0;
  for (let i = 1; i < scan.length; i++) if (scan[i].logEvidence > scan[k].logEvidence) k = i;
  let best = scan[k].thetaE;
  if (k > 0 && k < scan.length - 1) {
    const [x0, x1, x2] = [Math.log(scan[k - 1].thetaE), Math.log(scan[k].thetaE), Math.log(scan[k + 1].thetaE)];
    const [f0, f1, f2] = [scan[k - 1].logEvidence, scan[k].logEvidence, scan[k + 1].logEvidence];
    const den = (x1 - x0) * (f1 - f2) - (x1 - x2) * (f1 - f0);
    if (den !== 0) {
      const x = x1 - 0.5 * ((x1 - x0) ** 2 * (f1 - f2) - (x1 - x2) ** 2 * (f1 - f0)) / den;
      if (x > x0 && x < x2) best = Math.exp(x);
    }
  }
  return { best, scan, evaluations };
}

/**
 * The first θE (step 2): the ring's radius (ringRadius) from the data less a two-component light fitted alone —
 * flexible enough to take up most of what one Sérsic profile leaves at a real galaxy's centre (an ellipticity
 * gradient, an isophote twist, a disc), which would pull the radius inwards — then, with `scan`, the evidence's
 * best radius within a factor SCAN_WINDOW of it (scanRadii, with the model's own light `modelLight`: the two
 * components' second may be as wide as the ring and take it up; a best radius at the window's edge leaves the
 * ring's radius). Without light components the ring of the data themselves. Null where no pixel is 3σ above the
 * light. `ringModel`: the two-component light image where the caller has fitted it already (fitLens: the same fit).
 */
export function firstThetaE(
  d: LensFitData,
  pixels: Int32Array,
  nLight: number,
  centre: [number, number],
  modelLight: SersicParams[],
  o: { maxEval: number; fitN: number; regKind: RegularisationKind; ss: number; scan: boolean; progress: (p: LensFitProgress) => void; ringModel?: Float64Array; core?: LightCore; tied?: boolean },
): { ring: number; thetaE: number; scan: { thetaE: number; logEvidence: number }[]; evaluations: number } | null {
  let model: Float64Array | null = o.ringModel ?? null;
  let evaluations = 0;
  if (nLight > 0 && !model) {
    const core = o.core ?? NO_CORE;
    const l = fitLightOnly(d, pixels, 2, o.maxEval, (p) => o.progress({ ...p, message: `${p.message} (two components, for the ring)` }), false, core.count, o.tied ?? false);
    evaluations += l.evaluations;
    const all = withCore(l.light, core.count, core.scale);
    const cols = lightColumns(all, d.image, d.psf, pixels, 2);
    const { amps } = leastSquaresChi2(cols, d, pixels);
    model = lightImage(all, amps, d.image, d.psf, 2);
  }
  const ring = ringRadius(d, pixels, model, centre);
  if (ring === null) return null;
  if (!o.scan) return { ring, thetaE: ring, scan: [], evaluations };
  // the scan with the model's own light: the ring's second component may be as wide as the ring and take it up
  const sc = scanRadii(d, pixels, modelLight, centre, ring, o.fitN, o.regKind, o.ss, o.core);
  if (!sc) return { ring, thetaE: ring, scan: [], evaluations };
  // a best radius at the window's edge is no maximum within it: the ring's radius stands
  const k = sc.scan.findIndex((e) => e.thetaE === sc.best);
  const atEdge = k === 0 || k === sc.scan.length - 1;
  return { ring, thetaE: atEdge ? ring : sc.best, scan: sc.scan, evaluations: evaluations + sc.evaluations };
}

/**
 * Which evidence a task of the fit evaluates: the fit's (the fitted pixels on the fit grid), the binned starts'
 * (coarseEvidence), or the fitted pixels on another source grid (the error budget's shifted and finer grids).
 */
export type LensFitEvidenceRef = 'fit' | 'coarse' | Grid;

/**
 * What every task of a fit needs, fixed from step 2 on (plain data: a host sends it once to each worker, which
 * builds its evidence functions from it): the observation, the fitted pixels, the fit grid and the settings.
 */
export interface LensFitTaskState {
  data: LensFitData;
  pixels: Int32Array;
  fitGrid: Grid;
  regularisation: RegularisationKind;
  supersample: number;
  /** the starts on the binned image (coarseEvidence) */
  coarse: boolean;
  epl: boolean;
  massTol: number[];
  maxEvaluations: number;
  /** the Gaussian core components tied to the first light component (absent: none) */
  core?: LightCore;
}

/** One evaluation of the evidence: at λ, for a lens and a light. */
export interface LensFitPoint {
  on: LensFitEvidenceRef;
  lambda: number;
  mass: MassVector;
  light: SersicParams[];
}

/**
 * The fit's independent work (docs/lensing.md, *Threads*): evidence evaluations (several at one lens share its
 * source part and factorisation), a λ search, or a whole start of the mass search (its λ, Nelder–Mead, its λ again).
 */
export type LensFitTask =
  | { kind: 'evidence'; points: LensFitPoint[] }
  | { kind: 'lambda'; on: LensFitEvidenceRef; mass: MassVector; light: SersicParams[]; start?: number }
  | { kind: 'start'; on: 'fit' | 'coarse'; start: number; mass: MassVector; light: SersicParams[]; steps: number[]; label: string };

/** A task's result: log Z (null where the parameters are not allowed or the system is singular) and the evaluations it counted. */
export type LensFitTaskResult =
  | { kind: 'evidence'; logEvidence: (number | null)[]; evaluations: number[] }
  | { kind: 'lambda'; lambda: number; logEvidence: number; evaluations: number }
  | { kind: 'start'; mass: MassVector; lambda0: number; lambda: number; logEvidence: number; evaluations: number };

/**
 * One evidence evaluation's source part split over the host's threads (LensFitParallel.sourcePart): the blurred lens
 * matrix at the fitted pixels in blocks of its rows (`rows`: pixels [from, to) of the fit's list, whole image rows),
 * then F and d of its normal equations in bands of F's rows (`band`: rows [from, to) of F written into F and d,
 * shared memory on the host; `parts` the row blocks in order). Every entry is the serial evaluation's to the bit
 * whatever the blocks and bands (normalEquationsBand), so the fit does not depend on the number of threads.
 */
export type LensFitSplitTask =
  | { kind: 'rows'; mass: MassVector; from: number; to: number }
  | { kind: 'band'; parts: CsrMatrix[]; from: number; to: number; F: Float64Array; d: Float64Array }
  | { kind: 'columns'; light: SersicParams[]; from: number; to: number; out: Float64Array[] };

export type LensFitSplitResult = { kind: 'rows'; B: CsrMatrix } | { kind: 'band' } | { kind: 'columns' };

/** What the split source part returns: the blurred matrix's row blocks in order, F (n × n, lower triangle) and d. */
export interface LensFitSourcePart {
  parts: CsrMatrix[];
  F: Float64Array;
  d: Float64Array;
}

/**
 * Under this many fitted pixels the fit's evidence is not split over the threads (LensFitParallel.sourcePart): the
 * blurred matrix and F then cost a few milliseconds, of the order of the two round trips (docs/lensing.md, *Threads*).
 */
export const SPLIT_MIN_PIXELS = 1500;

/**
 * The split of a fit's source part into `k` blocks of the fitted pixels (whole image rows) and 2k bands of F's rows:
 * what a host's sourcePart hands to its threads (any split gives the same numbers).
 */
export function sourcePartPlan(state: LensFitTaskState, k: number): { chunks: [number, number][]; bands: [number, number][] } {
  const n = state.fitGrid.shape[0] * state.fitGrid.shape[1];
  return { chunks: pixelRowChunks(state.pixels, state.data.image.shape[1], k), bands: normalEquationBands(n, 2 * k) };
}

/**
 * The host's threads for the fit's independent tasks (fitLens's `parallel`): `begin` takes the fit's state once
 * (each worker builds its evidence functions from it), `run` a batch of tasks and blocks until every result is in,
 * in the tasks' order, forwarding the workers' progress. Each evaluation is the serial one's to the bit (an
 * evidence depends on its arguments alone, not on a cache), so the fit is the same on any number of threads.
 * The host ends its workers after fitLens returns or throws.
 */
export interface LensFitParallel {
  /**
   * step 5's cycles' Nelder–Mead runs (the light's at a fixed lens, the mass's) on the threads as speculative batches
   * (nelderMeadBatch): the candidates evaluated beside each reflection, 1–3 (0 or absent: those runs stay on the
   * calling thread). The same iterates either way; it pays only where the threads have cores of their own
   * (docs/lensing.md, *Threads*)
   */
  readonly speculate?: number;
  begin(state: LensFitTaskState): void;
  run(tasks: LensFitTask[], onProgress: (p: LensFitProgress) => void): LensFitTaskResult[];
  /**
   * one evaluation's source part on the fit grid (the blurred matrix and F = BᵀWB, the bulk of a new lens's
   * evidence) split over the threads (LensFitSplitTask; absent: on the calling thread). Used from `begin` on where
   * at least SPLIT_MIN_PIXELS pixels are fitted: the sequential searches' evaluations (the light-and-mass cycles)
   */
  sourcePart?(mass: MassVector): LensFitSourcePart;
  /**
   * the calling thread's factorisations (a CholeskyFactoriser: the large ones split over the threads by panels,
   * choleskyBlockedThreaded; the same factor bit for bit): the final grid's λ search, and from `begin` on the
   * sequential searches' inversions on the fit grid (absent: on the calling thread)
   */
  readonly factor?: CholeskyFactoriser;
  /**
   * the light's columns at the fitted pixels (lightColumns) made by the threads in blocks of whole image rows, each
   * entry the one thread's (absent: on the calling thread). Used with sourcePart: the light's evaluations at a fixed
   * lens in the sequential searches
   */
  lightColumns?(light: SersicParams[]): Float64Array[];
}

interface MassRunSettings {
  epl: boolean;
  massTol: number[];
  maxEval: number;
}

/** Nelder–Mead over the mass at a fixed light and λ on `ev` (the starts, and step 4's mass stages). */
function massRun1(ev: EvidenceFunction, m: MassVector, lambda: number, steps: number[], label: string, start: number | undefined, lightAt: SersicParams[], o: MassRunSettings, progress: (p: LensFitProgress) => void, batch?: SpeculativeMass): MassVector {
  const f = (v: Float64Array) => {
    const r = ev.at(massFromVector(v, o.epl), lightAt, lambda);
    return r ? -r.logEvidence : Infinity;
  };
  const nmOpts = {
    steps,
    xTol: o.massTol,
    fTol: 0.02,
    maxEvaluations: o.maxEval,
    onIteration: (b: number, e: number) => {
      if (e % 40 < 2) progress({ stage: 'mass', start, evaluations: ev.evaluations, logEvidence: -b, message: `${label}: log Z ${(-b).toFixed(2)} after ${e} evaluations` });
    },
  };
  if (!batch) return massFromVector(nelderMead(f, massToVector(m, o.epl), nmOpts).x, o.epl);
  // the speculative Nelder–Mead on the host's threads: the same iterates; ev counts the evaluations the serial run
  // makes (those of allowed parameters, as ev.at), not the speculative ones
  const r = nelderMeadBatch((xs) => batch.fs(xs.map((x) => massFromVector(x, o.epl)), lightAt, lambda), massToVector(m, o.epl), {
    ...nmOpts,
    speculate: batch.speculate,
    used: (x) => {
      if (allowed(massFromVector(x, o.epl), lightAt, ev.d.image)) ev.evaluations++;
    },
  });
  batch.onSpeculative(r.speculative);
  return massFromVector(r.x, o.epl);
}

/** massRun1's evaluations as batches on the host's threads (values as ev.at's: −log Z, Infinity where null). */
interface SpeculativeMass {
  fs: (masses: MassVector[], light: SersicParams[], lambda: number) => number[];
  speculate: number;
  onSpeculative: (n: number) => void;
}

const gridKey = (g: Grid): string => `${g.shape[0]}x${g.shape[1]}@${g.scale}`;

/**
 * Runs the fit's tasks on one thread: fitLens's own (with its evidence functions), or a worker's (built from the
 * state: lensFitTaskRunner). Evidence functions on other grids are made at their first task and kept.
 */
class TaskRunner {
  private readonly grids = new Map<string, EvidenceFunction>();
  private readonly y: Float64Array;
  private readonly w: Float64Array;
  constructor(
    readonly state: LensFitTaskState,
    private readonly fit: EvidenceFunction,
    private readonly coarse: EvidenceFunction | null,
  ) {
    this.y = fit.y;
    this.w = fit.w;
  }

  evidence(on: LensFitEvidenceRef): EvidenceFunction {
    if (on === 'fit') return this.fit;
    if (on === 'coarse') {
      if (!this.coarse) throw new Error('lens fit: a task on the binned image, but the starts were not binned');
      return this.coarse;
    }
    const key = gridKey(on);
    let e = this.grids.get(key);
    if (!e) {
      const s = this.state;
      e = new EvidenceFunction(s.data, s.pixels, this.y, this.w, on, regularisation(s.regularisation, on.shape), s.supersample);
      e.core = s.core ?? NO_CORE;
      this.grids.set(key, e);
    }
    return e;
  }

  /** a part of a split source part, on the fit grid (LensFitSplitTask) */
  split(t: LensFitSplitTask): LensFitSplitResult {
    if (t.kind === 'rows') return { kind: 'rows', B: this.fit.rows(t.mass, t.from, t.to) };
    if (t.kind === 'columns') {
      // a pixel's value depends on its own PSF footprint alone: the one-thread column's entries whatever the range
      const cols = lightColumns(t.light, this.state.data.image, this.state.data.psf, this.fit.pixelRange(t.from, t.to), 2);
      cols.forEach((c, k) => t.out[k].set(c, t.from));
      return { kind: 'columns' };
    }
    normalEquationsBand(t.parts, this.w, this.y, t.from, t.to, t.F, t.d);
    return { kind: 'band' };
  }

  run(t: LensFitTask, progress: (p: LensFitProgress) => void): LensFitTaskResult {
    if (t.kind === 'evidence') {
      const logEvidence: (number | null)[] = [];
      const evaluations: number[] = [];
      for (const p of t.points) {
        const ev = this.evidence(p.on);
        const e0 = ev.evaluations;
        const r = ev.at(p.mass, p.light, p.lambda);
        logEvidence.push(r ? r.logEvidence : null);
        evaluations.push(ev.evaluations - e0);
      }
      return { kind: 'evidence', logEvidence, evaluations };
    }
    const ev = this.evidence(t.on);
    const e0 = ev.evaluations;
    if (t.kind === 'lambda') {
      const r = ev.bestLambda(t.mass, t.light, t.start).best;
      return { kind: 'lambda', lambda: r.lambda, logEvidence: r.logEvidence, evaluations: ev.evaluations - e0 };
    }
    const s = this.state;
    const lam0 = ev.bestLambda(t.mass, t.light);
    const m = massRun1(ev, t.mass, lam0.best.lambda, t.steps, t.label, t.start, t.light, { epl: s.epl, massTol: s.massTol, maxEval: s.maxEvaluations }, progress);
    const lam = ev.bestLambda(m, t.light, Math.log(lam0.best.lambda));
    return { kind: 'start', mass: m, lambda0: lam0.best.lambda, lambda: lam.best.lambda, logEvidence: lam.best.logEvidence, evaluations: ev.evaluations - e0 };
  }
}

/** A worker's runner of the fit's tasks, its evidence functions built once from the state (LensFitParallel). */
export function lensFitTaskRunner(state: LensFitTaskState): { run: (t: LensFitTask, progress: (p: LensFitProgress) => void) => LensFitTaskResult; split: (t: LensFitSplitTask) => LensFitSplitResult } {
  const { data: d, pixels, fitGrid } = state;
  const y = Float64Array.from(pixels, (p) => d.data[p]);
  const w = Float64Array.from(pixels, (p) => 1 / (d.sigma[p] * d.sigma[p]));
  const E = new EvidenceFunction(d, pixels, y, w, fitGrid, regularisation(state.regularisation, fitGrid.shape), state.supersample);
  E.core = state.core ?? NO_CORE;
  const coarse = state.coarse ? coarseEvidence(d, pixels, fitGrid, state.regularisation, state.supersample, state.core) : null;
  if (state.coarse && !coarse) throw new Error('lens fit: the binned image of the starts could not be made from the state');
  const runner = new TaskRunner(state, E, coarse?.E ?? null);
  return { run: (t, progress) => runner.run(t, progress), split: (t) => runner.split(t) };
}

/** Fits the lens: see the file's header and docs/lensing.md. */
export function fitLens(d: LensFitData, opts: LensFitOptions = {}): LensFitResult {
  const t0 = now();
  const lightOpt = opts.lightComponents ?? 1;
  const auto = lightOpt === 'auto';
  if (!auto && !(Number.isInteger(lightOpt) && lightOpt >= 0 && lightOpt <= 2)) throw new LensFitInputError(`the number of light components must be 0, 1, 2 or 'auto', got ${String(lightOpt)}`);
  // the light components of the starts (auto: two, the more flexible model; the choice follows the starts)
  const nLight = auto ? 2 : (lightOpt as number);
  const lightCore = opts.lightCore ?? 0;
  if (!(Number.isInteger(lightCore) && lightCore >= 0 && lightCore <= MAX_CORE_GAUSSIANS)) throw new LensFitInputError(`the number of core Gaussians must be an integer in 0–${MAX_CORE_GAUSSIANS}, got ${String(opts.lightCore)}`);
  // the Gaussian core components tied to the first Sérsic component, σ in the image's pixels (light.ts coreComponents)
  const core: LightCore = { count: lightCore, scale: d.image.scale };
  const centres = opts.lightCentres ?? 'free';
  if (!LIGHT_CENTRES.includes(centres)) throw new LensFitInputError(`the light's centres must be one of ${LIGHT_CENTRES.join(', ')}, got '${String(centres)}'`);
  const tied = centres === 'tied';
  const fitN = opts.fitSourceSize ?? 24;
  const outN = opts.sourceSize ?? 64;
  const ss = opts.supersample ?? 2;
  const starts = opts.starts ?? 3;
  const maxEval = opts.maxEvaluations ?? 1500;
  const regKind = opts.regularisation ?? 'gradient';
  const profile = opts.mass ?? 'sie';
  if (!MASS_PROFILES.includes(profile)) throw new LensFitInputError(`the mass profile must be one of ${MASS_PROFILES.join(', ')}, got '${String(profile)}'`);
  const epl = profile === 'epl';
  const nMass = epl ? 8 : 7;
  const slope0: Partial<MassVector> = epl ? { gamma: EPL_GAMMA_START } : {};
  const progress = opts.onProgress ?? (() => {});
  let pixels = fitPixels(d);
  if (pixels.length < 50) throw new LensFitInputError(`only ${pixels.length} pixels to fit (mask, NaN data or σ): at least 50 are needed`);
  const evaluations: Record<string, number> = {};
  const rejected = new Set<number>();
  // a pixel is left out where it is sharper than the PSF against every model given: a cosmic ray or a hot pixel is
  // sharp whatever smooth light is subtracted, a light model's own misfit at the galaxy's core is not
  // (against the light, the deflector's nucleus, at the light's fitted centre, is no outlier: outliers.ts)
  let nucleus: NucleusZone | undefined;
  const reject = (models: (ArrayLike<number> | null)[], among: Int32Array = pixels) => {
    if (opts.rejectSharpOutliers === false) return;
    const so = models[0] && nucleus ? { nucleus } : {};
    let o = sharpOutliers(d.data, d.sigma, models[0]!, d.image.shape, among, d.psf, so);
    for (const m of models.slice(1)) {
      if (!o.length) break;
      const also = new Set(sharpOutliers(d.data, d.sigma, m, d.image.shape, Int32Array.from(o), d.psf, so));
      o = o.filter((p) => also.has(p));
    }
    if (!o.length) return;
    for (const p of o) rejected.add(p);
    pixels = Int32Array.from(Array.from(pixels).filter((p) => !rejected.has(p)));
  };
  // cosmic-ray residuals and hot pixels: sharper than the PSF in the data
  reject([null]);

  // 1. the light alone: two components (the ring's light, and the starts' where the choice is automatic or two are
  // asked for), one where one is asked for or the choice is automatic; the ring's radius from the data less the two
  const lightImageOf = (free: SersicParams[]): Float64Array => {
    const l = withCore(free, core.count, core.scale);
    const cols = lightColumns(l, d.image, d.psf, pixels, 2);
    const { amps } = leastSquaresChi2(cols, d, pixels);
    return lightImage(l, amps, d.image, d.psf, 2);
  };
  let light2: SersicParams[] | null = null;
  let light1: SersicParams[] | null = null;
  let model2: Float64Array | null = null;
  evaluations.light = 0;
  // (with one component asked for, the ring's two are fitted by firstThetaE after the second sharp-pixel pass, as
  // before the automatic choice)
  if (nLight === 2) {
    const l = fitLightOnly(d, pixels, 2, maxEval, (p) => progress({ ...p, message: `${p.message} (two components)` }), false, core.count, tied);
    light2 = l.light;
    evaluations.light += l.evaluations;
    model2 = lightImageOf(light2);
  }
  if (nLight === 1 || auto) {
    const l = fitLightOnly(d, pixels, 1, maxEval, (p) => progress({ ...p, message: `${p.message} (one component)` }), false, core.count, tied);
    light1 = l.light;
    evaluations.light += l.evaluations;
  }
  let light: SersicParams[] = nLight === 2 ? light2! : nLight === 1 ? light1! : [];
  const lightModel: Float64Array | null = nLight === 2 ? model2 : nLight === 1 ? lightImageOf(light1!) : null;
  // …and in the light-subtracted data (those on the deflector's light); with the choice automatic, against both the
  // one- and the two-component light (a pixel that one of them misfits at the core is no outlier)
  const sharpModels: Float64Array[] = lightModel ? (auto && light1 ? [lightModel, lightImageOf(light1)] : [lightModel]) : [];
  if (light.length && opts.nucleusRadius !== 0) {
    const [ny, nx] = d.image.shape;
    nucleus = { x: light[0].x0 / d.image.scale + (nx - 1) / 2, y: light[0].y0 / d.image.scale + (ny - 1) / 2, ...(opts.nucleusRadius !== undefined && { radius: opts.nucleusRadius }) };
  }
  if (sharpModels.length) reject(sharpModels);
  const centre: [number, number] = light.length ? [light[0].x0, light[0].y0] : [0, 0];
  // the first θE: the ring's radius of the data less the two-component light (firstThetaE; docs/lensing.md, The
  // fit, step 2)
  const first = firstThetaE(d, pixels, nLight, centre, light, { maxEval, fitN, regKind, ss, scan: opts.scanThetaE ?? false, progress, core, tied, ...(model2 && { ringModel: model2 }) });
  if (first === null) throw new LensFitInputError('no pixel of the light-subtracted data is 3σ above zero: no arcs to fit');
  const ring = first.ring;
  const thetaE0 = first.thetaE;
  const thetaEScan = first.scan;
  evaluations.thetaE = first.evaluations;
  // the default disc follows the first θE: widened to DISC_PER_THETA_E × θE (the ring and the arcs' reach beyond it)
  let fitRadius: number | null = null;
  if (opts.defaultDisc) {
    fitRadius = opts.defaultDisc.radius;
    const want = DISC_PER_THETA_E * thetaE0;
    if (want > fitRadius) {
      fitRadius = want;
      const wider = fitPixels({ ...d, mask: annulusMask(d.image, 0, want, opts.defaultDisc.centre ?? [0, 0]) });
      const had = new Set(pixels);
      const added = Int32Array.from(Array.from(wider).filter((p) => !had.has(p) && !rejected.has(p)));
      pixels = Int32Array.from([...pixels, ...added].sort((a, b) => a - b));
      // the new pixels' sharp outliers, in the data and in the light-subtracted data
      reject([null], added);
      if (sharpModels.length) reject(sharpModels, added);
      progress({ stage: 'light', evaluations: evaluations.light, message: `the fitted disc widened to ${want.toFixed(2)}″ (${DISC_PER_THETA_E} × the first θE): ${pixels.length} pixels` });
    }
  }
  const outliers = Int32Array.from([...rejected].sort((a, b) => a - b));
  if (outliers.length) progress({ stage: 'light', evaluations: evaluations.light, message: `${outliers.length} pixel${outliers.length > 1 ? 's' : ''} sharper than the PSF left out (cosmic rays, hot pixels)` });
  const y = Float64Array.from(pixels, (p) => d.data[p]);
  const w = Float64Array.from(pixels, (p) => 1 / (d.sigma[p] * d.sigma[p]));
  // the pixels where the lensed source is seen: light-subtracted data above 4σ with a neighbour above 3σ too
  const arcs = arcPixels(d, pixels, lightModel);
  progress({ stage: 'light', evaluations: evaluations.light, message: `light fitted; ring radius ${ring.toFixed(3)}″${thetaEScan.length ? `, the evidence's best radius ${thetaE0.toFixed(3)}″` : ''} (the first guess of θE)` });

  // 2. the fit's source grid (fixed during the fit: a changing grid would make the evidence jump)
  const lens0: LensParams = { thetaE: thetaE0, q: 1, phi: 0, x0: centre[0], y0: centre[1], gamma1: 0, gamma2: 0 };
  const fitGrid = defaultSourceGrid(lens0, d.image, { n: fitN, margin: 1.3, pixels, arcs });
  const fitReg = regularisation(regKind, fitGrid.shape);
  const E = new EvidenceFunction(d, pixels, y, w, fitGrid, fitReg, ss);
  E.core = core;

  // 3. the mass from several starts, the light's shape held (its amplitudes solved with the source)
  const massSteps = [0.05 * thetaE0, 0.05, 0.05, 0.05 * thetaE0, 0.05 * thetaE0, 0.02, 0.02, ...(epl ? [0.1] : [])];
  const massTol = [2e-4 * thetaE0, 1e-3, 1e-3, 2e-4 * thetaE0, 2e-4 * thetaE0, 1e-3, 1e-3, ...(epl ? [1e-3] : [])];
  const lightE = light.length ? [light[0].e1, light[0].e2] : [0, 0];
  // (the cycles' mass runs on E: on threads as speculative batches where the hook asks, speculativeMass)
  const massRun = (m: MassVector, lambda: number, steps: number[], label: string, start: number | undefined, ev: EvidenceFunction, lightAt: SersicParams[]): MassVector =>
    massRun1(ev, m, lambda, steps, label, start, lightAt, { epl, massTol, maxEval }, progress, ev === E ? (speculativeMass ?? undefined) : undefined);
  // the starts search on the image binned 2 × 2 with a fit grid of half the side over the same extent (an evaluation
  // costs about a tenth: a quarter of the rows, a third of the PSF's taps, an eighth of the factorisation); the full
  // image's light and mass cycles (step 4) then refine the best start. Coordinates there are x + shift. Not for the
  // EPL: its slope, set by the arcs' radial profile, came out 5σ off from the binned search on a simulation.
  const coarse = (opts.coarseStarts ?? !epl) ? coarseEvidence(d, pixels, fitGrid, regKind, ss, core) : null;
  const S = coarse?.E ?? E;
  const shift = coarse?.shift ?? [0, 0];
  const toS = (m: MassVector): MassVector => ({ ...m, x0: m.x0 + shift[0], y0: m.y0 + shift[1] });
  const fromS = (m: MassVector): MassVector => ({ ...m, x0: m.x0 - shift[0], y0: m.y0 - shift[1] });
  const lightToS = (l: SersicParams[]) => l.map((c) => ({ ...c, x0: c.x0 + shift[0], y0: c.y0 + shift[1] }));
  const lightS = lightToS(light);
  // the independent evaluations: on this thread (the fit's own evidence functions), or on the host's threads
  // (opts.parallel), each worker with evidence functions built from taskState; the same numbers either way
  const taskState: LensFitTaskState = { data: { data: d.data, sigma: d.sigma, image: d.image, mask: null, psf: d.psf }, pixels, fitGrid, regularisation: regKind, supersample: ss, coarse: coarse !== null, epl, massTol, maxEvaluations: maxEval, core };
  const runner = new TaskRunner(taskState, E, coarse?.E ?? null);
  const par = opts.parallel ?? null;
  par?.begin(taskState);
  // from here on each new lens's source part on the fit grid is made on the threads where the hook offers it
  // (the sequential searches' evaluations; the same numbers)
  if (par?.sourcePart && pixels.length >= SPLIT_MIN_PIXELS) {
    const sp = par.sourcePart.bind(par);
    E.split = (m) => {
      const r = sp(m);
      return sourceNormalEquations(y, w, r.parts.length === 1 ? r.parts[0] : stackRows(r.parts), r.F, r.d);
    };
  }
  if (par?.factor) E.factor = par.factor;
  if (par?.lightColumns && pixels.length >= SPLIT_MIN_PIXELS) E.splitColumns = par.lightColumns.bind(par);
  const sRef: 'fit' | 'coarse' = coarse ? 'coarse' : 'fit';
  // the error budget's other grids' evaluations (their evidence functions are not E)
  let gridEvaluations = 0;
  // a task's evaluations on E and the binned E where a worker ran it (this thread's count themselves), and on the grids
  const account = (t: LensFitTask, r: LensFitTaskResult, remote: boolean) => {
    const add = (on: LensFitEvidenceRef, n: number) => {
      if (typeof on !== 'string') gridEvaluations += n;
      else if (remote) (on === 'fit' ? E : coarse!.E).evaluations += n;
    };
    if (t.kind === 'evidence') t.points.forEach((p, k) => add(p.on, (r as Extract<LensFitTaskResult, { kind: 'evidence' }>).evaluations[k]));
    else add(t.on, r.evaluations as number);
  };
  const runTasks = (tasks: LensFitTask[], onDone?: (i: number, r: LensFitTaskResult) => void): LensFitTaskResult[] => {
    if (!par) {
      return tasks.map((t, i) => {
        const r = runner.run(t, progress);
        account(t, r, false);
        onDone?.(i, r);
        return r;
      });
    }
    const out = par.run(tasks, progress);
    out.forEach((r, i) => account(tasks[i], r, true));
    out.forEach((r, i) => onDone?.(i, r));
    return out;
  };
  // evidence evaluations (log Z, null where not allowed): on this thread in their order; on threads grouped by lens
  // and λ (the evaluations at one lens share its source part and factorisation), the largest groups first
  const evidenceTasks = (points: LensFitPoint[]): { tasks: LensFitTask[]; collect: (r: LensFitTaskResult[]) => (number | null)[] } => {
    if (!par) return { tasks: [{ kind: 'evidence', points }], collect: (r) => (r[0] as Extract<LensFitTaskResult, { kind: 'evidence' }>).logEvidence };
    const groups = new Map<string, number[]>();
    points.forEach((p, k) => {
      const key = `${typeof p.on === 'string' ? p.on : gridKey(p.on)}|${p.lambda}|${JSON.stringify(p.mass)}`;
      const g = groups.get(key);
      if (g) g.push(k);
      else groups.set(key, [k]);
    });
    const idx = [...groups.values()].sort((a, b) => b.length - a.length);
    return {
      tasks: idx.map((ix) => ({ kind: 'evidence', points: ix.map((k) => points[k]) })),
      collect: (r) => {
        const out: (number | null)[] = new Array(points.length).fill(null);
        idx.forEach((ix, t) => ix.forEach((k, j) => (out[k] = (r[t] as Extract<LensFitTaskResult, { kind: 'evidence' }>).logEvidence[j])));
        return out;
      },
    };
  };
  const evidenceOf = (points: LensFitPoint[]): (number | null)[] => {
    const b = evidenceTasks(points);
    return b.collect(runTasks(b.tasks));
  };
  // −log Z of fit vectors (Infinity where not allowed) on `on` at λ
  const minusLogZ = (on: LensFitEvidenceRef, lambda: number) => (xs: Float64Array[]): LensFitPoint[] => xs.map((x) => ({ on, lambda, mass: massFromVector(x, epl), light: lightFromVector(x, nMass, light.length, tied) }));
  const toF = (z: (number | null)[]): number[] => z.map((e) => (e === null ? Infinity : -e));
  let bestMass: MassVector | null = null;
  let bestLambda = 1;
  let bestLogZ = -Infinity;
  // the starts: a coarse scan of the ellipticity at the ring's radius (round, the light's, |e| = 0.1 and 0.2 at
  // eight angles of 2φ; λ from the round lens), the best first, each at least 0.1 in e from those taken
  const round: MassVector = toS({ thetaE: thetaE0, e1: 0, e2: 0, x0: centre[0], y0: centre[1], gamma1: 0, gamma2: 0, ...slope0 });
  const lamScan = S.bestLambda(round, lightS).best.lambda;
  const candidates: { e: [number, number]; logZ: number }[] = [];
  const scanE: [number, number][] = [[0, 0], [lightE[0], lightE[1]]];
  for (const r of [0.1, 0.2]) for (let k = 0; k < 8; k++) scanE.push([r * Math.cos((k * Math.PI) / 4), r * Math.sin((k * Math.PI) / 4)]);
  const scanZ = evidenceOf(scanE.map((e) => ({ on: sRef, lambda: lamScan, mass: { ...round, e1: e[0], e2: e[1] }, light: lightS })));
  scanE.forEach((e, k) => {
    const z = scanZ[k];
    if (z !== null) candidates.push({ e, logZ: z });
  });
  candidates.sort((a, b) => b.logZ - a.logZ);
  const startE: [number, number][] = [];
  for (const c of candidates) {
    if (startE.length < starts && startE.every((e) => Math.hypot(e[0] - c.e[0], e[1] - c.e[1]) >= 0.1)) startE.push(c.e);
  }
  // more starts than distinct candidates: the next best ones, then θE ± 8 % of the best
  for (const c of candidates) if (startE.length < starts && !startE.includes(c.e)) startE.push(c.e);
  if (!startE.length) startE.push([0, 0]);
  const startTheta = startE.map(() => thetaE0);
  for (let k = 0; startE.length < starts; k++) {
    startE.push(startE[0]);
    startTheta.push(thetaE0 * (k % 2 === 0 ? 1.08 : 0.92));
  }
  const where = coarse ? ` (image binned ${COARSE_BIN}×${COARSE_BIN}, ${coarse.E.grid.shape[0]}² source)` : '';
  // the starts, independent of one another (on threads: each a task), the best taken in their order
  const startTasks: LensFitTask[] = Array.from({ length: starts }, (_, s) => ({
    kind: 'start',
    on: sRef,
    start: s,
    mass: toS({ thetaE: startTheta[s], e1: startE[s][0], e2: startE[s][1], x0: centre[0], y0: centre[1], gamma1: 0, gamma2: 0, ...slope0 }),
    light: lightS,
    steps: massSteps,
    label: `mass, start ${s + 1}/${starts}${where}`,
  }));
  const startRuns = runTasks(startTasks, (s, r) => {
    const { mass: m, logEvidence } = r as Extract<LensFitTaskResult, { kind: 'start' }>;
    progress({ stage: 'mass', start: s, evaluations: E.evaluations + (coarse ? coarse.E.evaluations : 0), logEvidence, message: `mass, start ${s + 1}/${starts} done: log Z ${logEvidence.toFixed(2)}${where}, θE ${m.thetaE.toFixed(4)}″${epl ? `, γ ${m.gamma!.toFixed(3)}` : ''}` });
  }) as Extract<LensFitTaskResult, { kind: 'start' }>[];
  for (const r of startRuns) {
    if (r.logEvidence > bestLogZ) {
      bestLogZ = r.logEvidence;
      bestMass = r.mass; // in S's frame
      bestLambda = r.lambda;
    }
  }
  evaluations.mass = E.evaluations;
  if (coarse) evaluations.massBinned = coarse.E.evaluations;

  // 4. light and mass in turn: the light's shape at a fixed lens (one factorisation, the light through the Schur
  // complement; Nelder–Mead restarted from its end point with fresh steps while a run gains more than 0.1 in log Z:
  // the simplex collapses in the light's curved rEff–n valley), then the mass at the new light (a smaller simplex),
  // then λ. Cycles until one gains less than JOINT_CYCLE_GAIN in log Z over the one before (or the start), within
  // [minCycles, maxCycles] (docs/lensing.md, The fit, step 5)
  let lightEvals = 0;
  // (the stall rule after the binned starts, where the cycles run to convergence; the full-image starts' two fixed
  // cycles — the EPL's — keep each run to its convergence: with the rule the EPL test simulation's Hessian was not
  // positive definite)
  const lightStall = coarse ? LIGHT_STALL : null;
  // the speculative light runs' candidates beside the reflection (the hook's choice; 0: none, on this thread)
  let speculativeLight = 0;
  let speculativeMassEvaluations = 0;
  const lightSpeculate = Math.min(3, Math.max(0, Math.floor(par?.speculate ?? 0)));
  // the cycles' mass runs likewise: each point an evidence task on the fit grid (E.at's value on a worker)
  const speculativeMass: SpeculativeMass | null =
    par && lightSpeculate > 0
      ? {
          fs: (masses, l, lambda) =>
            par.run(masses.map((mass) => ({ kind: 'evidence', points: [{ on: 'fit', lambda, mass, light: l }] })), progress).map((r) => {
              const z = (r as Extract<LensFitTaskResult, { kind: 'evidence' }>).logEvidence[0];
              return z === null ? Infinity : -z;
            }),
          speculate: lightSpeculate,
          onSpeculative: (n) => (speculativeMassEvaluations += n),
        }
      : null;
  const lightAtLens = (ev: EvidenceFunction, m: MassVector, lambda: number, l0: SersicParams[], label: string): { light: SersicParams[]; logZ: number; startLogZ: number } | null => {
    const solve = fixedSourceSolverOf(ev.sourcePart(m), ev.reg, lambda, ev.factor ?? undefined);
    if (!solve) return null;
    // (the columns kept per component: a gradient's step moves one component, and the other's column is reused)
    const f = (v: Float64Array) => {
      const l = lightFromVector(v, 0, l0.length, tied);
      if (!allowed(null, l, ev.d.image)) return Infinity;
      const r = solve(ev.columns(l));
      return r ? -r.logEvidence : Infinity;
    };
    const v0 = lightToVector(l0, tied);
    const st = lightLayout([ev.d.image.scale / 2, ev.d.image.scale / 2, 0.02, 0.02, 0.05, 0.1], l0.length, tied);
    let x: ArrayLike<number> = v0;
    let fx = f(Float64Array.from(v0));
    const f0 = fx;
    let fPrev = Infinity;
    // Nelder–Mead restarted from its end point with fresh steps while a run gains more than 0.1 (the simplex collapses
    // in the light's curved rEff–n valley), each run ending on a stall (LIGHT_STALL)
    // on threads (opts.parallel): the speculative Nelder–Mead, each batch's points (the reflection with the expansion
    // and contractions it may need, or a shrink's) as evidence tasks of one point each at this lens and λ — the same
    // value as f's (EvidenceFunction.at: the same solver of the fixed source part), the same iterates and counts
    // (docs/lensing.md, *Threads*); its extra evaluations are counted apart (speculativeLight), not in E's
    const onThreads = par !== null && lightSpeculate > 0 && ev === E && allowed(m, [], ev.d.image);
    const fBatch = (xs: Float64Array[]): number[] => {
      const tasks: LensFitTask[] = xs.map((x) => ({ kind: 'evidence', points: [{ on: 'fit', lambda, mass: m, light: lightFromVector(x, 0, l0.length, tied) }] }));
      return par!.run(tasks, progress).map((r) => {
        const z = (r as Extract<LensFitTaskResult, { kind: 'evidence' }>).logEvidence[0];
        return z === null ? Infinity : -z;
      });
    };
    for (let used = 0, run = 0; used < maxEval; run++) {
      const nmOpts = { steps: st, fTol: 0.02, maxEvaluations: maxEval - used, ...(lightStall && { stall: lightStall(st.length) }), onIteration: (b: number, e: number) => {
        if (e % 40 < 2) progress({ stage: 'joint', evaluations: lightEvals + e, logEvidence: -b, message: `${label}${run ? `, restart ${run}` : ''}: log Z ${(-b).toFixed(2)}` });
      } };
      let r: MinimumResult;
      if (onThreads) {
        const rb = nelderMeadBatch(fBatch, x, { ...nmOpts, speculate: lightSpeculate });
        speculativeLight += rb.speculative;
        r = rb;
      } else r = nelderMead(f, x, nmOpts);
      used += r.evaluations;
      lightEvals += r.evaluations;
      if (r.f <= fx) {
        x = r.x;
        fx = r.f;
      }
      if (!(fPrev - r.f > 0.1)) break;
      fPrev = r.f;
    }
    return { light: lightFromVector(x, 0, l0.length, tied), logZ: -fx, startLogZ: -f0 };
  };
  const runCycles = (ev: EvidenceFunction, l0: SersicParams[], m0: MassVector, lambda0: number, c: { min: number; max: number; startLogZ: number; tag: string; settledLight?: boolean }) => {
    let l = l0;
    let m = m0;
    let lambda = lambda0;
    let prevLogZ = c.startLogZ;
    let logZ = c.startLogZ;
    let cycles = 0;
    for (let cycle = 0; cycle < c.max; cycle++) {
      cycles = cycle + 1;
      if (l.length) {
        const r = lightAtLens(ev, m, lambda, l, `light at the fitted lens${c.tag}, cycle ${cycle + 1}`);
        if (r) {
          l = r.light;
          // settledLight: from the second cycle, a light that gains less than half of JOINT_CYCLE_GAIN ends the
          // cycles without the mass stage (the mass was fitted at a light that moved by less than that)
          if (c.settledLight && cycle >= 1 && cycle + 1 >= c.min && r.logZ - r.startLogZ < JOINT_CYCLE_GAIN / 2) {
            logZ = r.logZ;
            settled++;
            break;
          }
        }
      }
      m = massRun(m, lambda, massSteps.map((x) => x / 4), `mass at the fitted light${c.tag}, cycle ${cycle + 1}`, undefined, ev, l);
      const lam = ev.bestLambda(m, l, Math.log(lambda)).best;
      lambda = lam.lambda;
      logZ = lam.logEvidence;
      const gain = logZ - prevLogZ;
      prevLogZ = logZ;
      if (cycle + 1 >= c.min && gain < JOINT_CYCLE_GAIN) break;
    }
    return { light: l, mass: m, lambda, logZ, cycles };
  };
  const before = E.evaluations;
  let mass: MassVector;
  let settled = 0;
  // the light model: the components asked for, or (auto) two where they gain more evidence than the Bayesian
  // information criterion's penalty for a component's seven parameters (six shape, one amplitude), ½ · 7 · ln N
  // with N the fitted pixels (five parameters where its centre is tied to the first's). Auto fits the two
  // components' path to the end of the cycles (the path of `--light 2`),
  // then refits one component's light at that lens on the full image and the fit grid, λ by the evidence for each.
  // Not at the best start on the binned image: there the source grid of half the fit grid's side cannot hold the
  // arcs (χ²/pixel 4 at the true lens of a simulation) and the light's binned rendering misses a steep core by up
  // to 23σ; a second, flat component took up both and gained 260–400 in log Z over one where one was the truth
  // (docs/lensing.md, The fit, step 5).
  let lightSelection: LensFitResult['lightSelection'] = null;
  mass = fromS(bestMass!);
  // λ of the best start on the fit grid itself
  if (coarse) bestLambda = E.bestLambda(mass, light, lnLambdaAtScale(regKind, Math.log(bestLambda), coarse.E.grid.scale, fitGrid.scale)).best.lambda;
  // after the binned starts until a cycle gains less than JOINT_CYCLE_GAIN (at least two, at most MAX_JOINT_CYCLES;
  // a settled light ends them early), after the full-image starts (the EPL's) two
  const cycleOpts = (tag: string) => (coarse ? { min: 2, max: MAX_JOINT_CYCLES, startLogZ: -Infinity, tag, settledLight: true } : { min: 2, max: 2, startLogZ: -Infinity, tag });
  let f = runCycles(E, light, mass, bestLambda, cycleOpts(''));
  if (auto) {
    const z2 = E.bestLambda(f.mass, f.light, Math.log(f.lambda)).best.logEvidence;
    const r1 = lightAtLens(E, f.mass, f.lambda, light1!, 'one light component at the fitted lens');
    const L1 = r1?.light ?? light1!;
    const b1 = E.bestLambda(f.mass, L1, Math.log(f.lambda)).best;
    const z1 = b1.logEvidence;
    const penalty = 0.5 * (tied ? LIGHT_COMPONENT_PARAMETERS_TIED : LIGHT_COMPONENT_PARAMETERS) * Math.log(E.pixels.length);
    const components = z2 - z1 > penalty ? 2 : 1;
    lightSelection = { components, logEvidence: [z1, z2], penalty, pixels: E.pixels.length, binned: false };
    progress({ stage: 'joint', evaluations: E.evaluations, message: `light model: ${components} Sérsic component${components > 1 ? 's' : ''} (log Z one ${z1.toFixed(2)}, two ${z2.toFixed(2)} at the fitted lens; a second is kept where it gains more than ${penalty.toFixed(1)})` });
    if (components === 1) {
      // the one component's own optimum: its light and the mass in turn from there
      const cycles2 = f.cycles;
      f = runCycles(E, L1, f.mass, b1.lambda, cycleOpts(' (one component)'));
      evaluations.jointCyclesTwoComponents = cycles2;
    }
  }
  ({ light, mass, lambda: bestLambda } = f);
  evaluations.jointCycles = f.cycles;
  if (settled) evaluations.jointSettledLight = settled;
  const fitResult = E.at(mass, light, bestLambda)!;
  evaluations.joint = E.evaluations - before;
  evaluations.lightAtFixedLens = lightEvals;
  if (speculativeLight) progress({ stage: 'joint', evaluations: E.evaluations, message: `light at a fixed lens on threads: ${lightEvals} evaluations and ${speculativeLight} speculative ones beside; the mass runs ${speculativeMassEvaluations} speculative ones` });
  progress({ stage: 'joint', evaluations: E.evaluations, logEvidence: fitResult.logEvidence, message: `fitted: log Z ${fitResult.logEvidence.toFixed(2)}, θE ${mass.thetaE.toFixed(4)}″${epl ? `, γ ${mass.gamma!.toFixed(3)}` : ''}` });

  const names: string[] = [...(epl ? EPL_MASS_NAMES : MASS_NAMES)];
  names.push(...lightVectorNames(light.length, tied));
  const v = Float64Array.from([...massToVector(mass, epl), ...lightToVector(light, tied)]);
  const hTrial = [...massTol.map((x) => 10 * x), ...lightLayout([0.05 * d.image.scale, 0.05 * d.image.scale, 0.005, 0.005, 0.01, 0.02], light.length, tied)];

  // 5. the Laplace approximation: finite-difference Hessian of −log Z at the optimum (λ held at its optimum), in
  // two passes. The first along the parameters' axes, with steps near one conditional standard deviation (from the
  // diagonal curvature at trial steps). Where parameters are strongly correlated (γ with θE, e and the light: its
  // marginal σ 5–11× its conditional σ) such steps move −log Z along the degenerate direction by a few hundredths,
  // as little as the evidence's kinks, and that pass's marginal σ of γ moved 2× with the optimum's place among the
  // kinks or with the steps doubled. The second pass therefore takes the Hessian again in whitened coordinates,
  // x = v + L u with L Lᵀ the first pass's covariance, at unit steps in u: one marginal σ along each of L's columns,
  // ½ in −log Z, far above the kinks. Its covariance L Hᵤ⁻¹ Lᵀ is the Laplace covariance (the first pass's where
  // the second is not positive definite); the gradients of 5b are taken in the same coordinates.
  let covariance: Float64Array | null = null;
  let hessian: Float64Array | null = null;
  let hessianSteps: Float64Array | null = null;
  let laplaceNote: string | null = null;
  let extraEvaluations = 0;
  const nPar = v.length;
  // the coordinates of the Laplace step: x = v + L u (L lower triangular, or diagonal), Cu the covariance in u, gu0
  // the gradient of −log Z in u at the fit
  let basis: { L: Float64Array; Cu: Float64Array; gu0: Float64Array } | null = null;
  const inBasis = (L: Float64Array, u: Float64Array): Float64Array => {
    const x = Float64Array.from(v);
    for (let i = 0; i < nPar; i++) for (let j = 0; j <= i; j++) x[i] += L[i * nPar + j] * u[j];
    return x;
  };
  // −log Z at fit vectors x = v + L u, as one batch
  const fBasis = (L: Float64Array, lambda: number) => (us: Float64Array[]): number[] => toF(evidenceOf(minusLogZ('fit', lambda)(us.map((u) => inBasis(L, u)))));
  const unit = new Float64Array(nPar).fill(1);
  const zero = new Float64Array(nPar);
  if (opts.errors !== false) {
    const before2 = E.evaluations;
    // steps near one conditional standard deviation: from the diagonal curvature at trial steps (the fit's point
    // with the first trial's: each point uses its own step, so a pass's 2n are one batch)
    const h = Float64Array.from(hTrial);
    let f0 = NaN;
    for (let it = 0; it < 2; it++) {
      const fv = toF(evidenceOf(minusLogZ('fit', bestLambda)([...(it === 0 ? [Float64Array.from(v)] : []), ...gradientPoints(v, h)])));
      if (it === 0) f0 = fv.shift()!;
      for (let i = 0; i < nPar; i++) {
        const fp = fv[2 * i];
        const fm = fv[2 * i + 1];
        const curv = (fp + fm - 2 * f0) / (h[i] * h[i]);
        const sd = curv > 0 ? 1 / Math.sqrt(curv) : h[i] * 4;
        h[i] = Math.min(Math.max(sd, h[i] / 8), h[i] * 8);
      }
    }
    progress({ stage: 'errors', evaluations: E.evaluations - before2, message: `uncertainties: Hessian of ${nPar} parameters` });
    // a Hessian that is not positive definite (the evidence's kinks at too small a step) is taken again with
    // twice the steps, once
    for (let attempt = 0; attempt < 2 && !basis; attempt++) {
      if (attempt > 0) {
        for (let i = 0; i < nPar; i++) h[i] *= 2;
        progress({ stage: 'errors', evaluations: E.evaluations - before2, message: 'uncertainties: the Hessian is not positive definite; again with twice the steps' });
      }
      const L = new Float64Array(nPar * nPar);
      for (let i = 0; i < nPar; i++) L[i * nPar + i] = h[i];
      const { H, g } = finiteDifferenceHessianBatch(fBasis(L, bestLambda), zero, unit, f0);
      const Cu = invertSpd(H, nPar);
      if (Cu && cholesky(Cu, nPar)) basis = { L, Cu, gu0: g };
      hessianSteps = Float64Array.from(h);
    }
    // the second pass, in the first pass's whitened coordinates
    if (basis) {
      const L = cholesky(fromBasis(basis.L, basis.Cu, nPar), nPar);
      if (L) {
        progress({ stage: 'errors', evaluations: E.evaluations - before2, message: 'uncertainties: the Hessian again along the covariance\'s axes' });
        const { H, g } = finiteDifferenceHessianBatch(fBasis(L, bestLambda), zero, unit, f0);
        const Cu = invertSpd(H, nPar);
        if (Cu && cholesky(Cu, nPar)) basis = { L, Cu, gu0: g };
      }
      covariance = fromBasis(basis.L, basis.Cu, nPar);
      hessian = invertSpd(covariance, nPar);
    }
    if (!covariance) laplaceNote = 'the Hessian of −log Z is not positive definite: no errors (the fit may not be at a maximum)';
    evaluations.errors = E.evaluations - before2;
  }

  // 5b. what the Laplace step holds fixed, to first order: the optimum moves by the Newton step Δ = −C (g′ − g₀)
  // when the evidence changes (g′ its gradient at the fit, g₀ the fitted evidence's; in the Laplace step's
  // coordinates u, Δ = −L Cᵤ (g′ᵤ − g₀ᵤ)). λ: the evidence at λ·e^{±σ} (σ of ln λ from its curvature) gives
  // Δ± = ±J σ, so ½ Σ Δ±Δ±ᵀ = J σ² Jᵀ marginalises λ. The grid: the fit on four other source grids — a half-pixel
  // phase shift either way (one pixel more or less at the same scale) and pixels 5 % larger or smaller — gives the
  // discretisation's scatter, the mean of ΔΔᵀ. Shifted grids of the same resolution share its bias (an 18² grid
  // steepens the EPL's slope on all of them), so the grid's resolution adds its own term: the Newton step to the
  // optimum on a grid of (4/3)² as many pixels over the same extent, ΔΔᵀ. The optimiser: Nelder–Mead stops near,
  // not at, the optimum; −C g₀ is that distance (ΔΔᵀ). Gradients by central differences at unit steps in u (one σ
  // along the covariance's axes: across the bilinear kinks). 2n + 3 evaluations for λ, 2n + a λ search per grid.
  let covarianceParts: LensFitResult['covarianceParts'] = null;
  let systematics: LensFitResult['systematics'] = null;
  if (covariance) covarianceParts = { statistical: covariance, lambda: null, grid: null, resolution: null, optimiser: null };
  if (covariance && basis && opts.systematicErrors !== false) {
    const C = covariance;
    const { L, Cu, gu0 } = basis;
    const before3 = E.evaluations;
    // the Newton step −L Cᵤ (gᵤ − g₀ᵤ) for a gradient gᵤ in u
    const step = (g: Float64Array): Float64Array => {
      const du = new Float64Array(nPar);
      for (let i = 0; i < nPar; i++) for (let j = 0; j < nPar; j++) du[i] -= Cu[i * nPar + j] * (g[j] - gu0[j]);
      return lowerTimes(L, du, nPar);
    };
    const outer = (M: Float64Array, dx: Float64Array, wgt: number) => {
      for (let i = 0; i < nPar; i++) for (let j = 0; j < nPar; j++) M[i * nPar + j] += wgt * dx[i] * dx[j];
    };
    progress({ stage: 'errors', evaluations: 0, message: 'uncertainties: λ marginalised, the fit grid, its resolution, the optimiser' });
    // the fit grid's four others and the finer one
    const N = fitGrid.shape[0];
    const sc = fitGrid.scale;
    const grids: Grid[] = [
      { shape: [N + 1, N + 1], scale: sc },
      { shape: [N - 1, N - 1], scale: sc },
      { shape: [N, N], scale: sc * 1.05 },
      { shape: [N, N], scale: sc / 1.05 },
    ];
    const N2 = Math.round((4 * N) / 3);
    const finer: Grid = { shape: [N2, N2], scale: (sc * N) / N2 };
    const others = [...grids, finer];
    // one batch: λ's curvature (log Z at ln λ ± ½ and at ln λ) and each other grid's λ
    const lnL = Math.log(bestLambda);
    const dl = 0.5;
    const curvature = evidenceTasks([lnL + dl, lnL - dl, lnL].map((t) => ({ on: 'fit', lambda: Math.exp(t), mass, light })));
    const batch1 = runTasks([...curvature.tasks, ...others.map((g2): LensFitTask => ({ kind: 'lambda', on: g2, mass, light, start: lnL }))]);
    const [flp, flm, fl0] = toF(curvature.collect(batch1.slice(0, curvature.tasks.length)));
    const lam2 = batch1.slice(curvature.tasks.length).map((r) => (r as Extract<LensFitTaskResult, { kind: 'lambda' }>).lambda);
    const curv = (flp + flm - 2 * fl0) / (dl * dl);
    const sigmaLnLambda = curv > 0 ? 1 / Math.sqrt(curv) : dl;
    // a second: the gradients in u at λ·e^{±σ} and on each other grid at its λ (its optimum's offset from ours)
    const sets: { on: LensFitEvidenceRef; lambda: number }[] = [
      ...[1, -1].map((sgn) => ({ on: 'fit' as const, lambda: Math.exp(lnL + sgn * sigmaLnLambda) })),
      ...others.map((g2, k) => ({ on: g2, lambda: lam2[k] })),
    ];
    const xs = gradientPoints(zero, unit).map((u) => inBasis(L, u));
    const fg = toF(evidenceOf(sets.flatMap((st) => minusLogZ(st.on, st.lambda)(xs))));
    const dx = sets.map((_, k) => step(gradientFromValues(fg.slice(k * xs.length, (k + 1) * xs.length), unit)));
    const lam = new Float64Array(nPar * nPar);
    for (const k of [0, 1]) outer(lam, dx[k], 0.5);
    const grid = new Float64Array(nPar * nPar);
    for (let k = 0; k < grids.length; k++) outer(grid, dx[2 + k], 1 / grids.length);
    const resolution = new Float64Array(nPar * nPar);
    outer(resolution, dx[2 + grids.length], 1);
    const opt = new Float64Array(nPar * nPar);
    outer(opt, step(zero), 1); // +L Cᵤ g₀ᵤ: the optimiser's distance, its sign irrelevant in ΔΔᵀ
    covarianceParts = { statistical: C, lambda: lam, grid, resolution, optimiser: opt };
    covariance = Float64Array.from(C, (c, k) => c + lam[k] + grid[k] + resolution[k] + opt[k]);
    systematics = { sigmaLnLambda, grids, finerGrid: finer };
    evaluations.systematics = E.evaluations - before3 + gridEvaluations;
    extraEvaluations = gridEvaluations;
  }

  // 6. the final inversion on the source grid
  const lens = lensParamsFromMass(mass);
  const sourceGrid: Grid = opts.sourceScale !== undefined ? { shape: [outN, outN], scale: opts.sourceScale } : defaultSourceGrid(lens, d.image, { n: outN, margin: 1.1, pixels, arcs });
  progress({ stage: 'source', evaluations: 0, message: `source: ${outN}×${outN} pixels of ${sourceGrid.scale.toFixed(4)}″` });
  const outReg = regularisation(regKind, sourceGrid.shape);
  const lightAll = withCore(light, core.count, core.scale);
  const cols = lightAll.length ? lightColumns(lightAll, d.image, d.psf, pixels, 2) : [];
  const B = blurredLensMatrix(lens, d.image, sourceGrid, ss, d.psf, pixels);
  const ne = normalEquations({ y, w, source: B, light: cols });
  // λ from the fit grid's, carried to the final pixel size; parabolic steps in ln λ (each factorisation of a 64²
  // grid costs seconds: 4–6 of them instead of the golden section's 10–15)
  const finStart = lnLambdaAtScale(regKind, Math.log(bestLambda), fitGrid.scale, sourceGrid.scale);
  const fin = optimiseLambda(ne, outReg, { start: finStart, step: 0.5, tol: 0.05, method: 'parabolic', ...(par?.factor ? { factor: par.factor } : {}) });
  evaluations.sourceLambda = fin.evaluations;
  const inv = fin.best;

  // full-image products
  const [ny, nx] = d.image.shape;
  const amps = Array.from(inv.amplitudes);
  const lightFull = lightAll.length ? lightImage(lightAll, amps, d.image, d.psf, 2) : new Float64Array(ny * nx);
  const all = Int32Array.from({ length: ny * nx }, (_, k) => k);
  const Ball = blurredLensMatrix(lens, d.image, sourceGrid, ss, d.psf, all);
  const lensed = csrMultiply(Ball, inv.source);
  const model = new Float64Array(ny * nx);
  for (let k = 0; k < model.length; k++) model[k] = lightFull[k] + lensed[k];
  const resid = new Float64Array(ny * nx).fill(NaN);
  for (const p of pixels) resid[p] = (d.data[p] - model[p]) / d.sigma[p];

  // parameters and errors (q, φ from e1, e2 by the delta method)
  const sd = (i: number): number | null => (covariance && covariance[i * nPar + i] > 0 ? Math.sqrt(covariance[i * nPar + i]) : null);
  const parameters: Record<string, ParameterEstimate> = {};
  const qphiErr = (i1: number, i2: number, e1: number, e2: number): [number | null, number | null] => (covariance ? qPhiErrors(covariance, nPar, i1, i2, e1, e2) : [null, null]);
  const [qErr, phiErr] = qphiErr(1, 2, mass.e1, mass.e2);
  parameters.thetaE = { value: mass.thetaE, error: sd(0) };
  parameters.q = { value: lens.q, error: qErr };
  parameters.phi = { value: lens.phi, error: phiErr };
  parameters.e1 = { value: mass.e1, error: sd(1) };
  parameters.e2 = { value: mass.e2, error: sd(2) };
  parameters.x0 = { value: mass.x0, error: sd(3) };
  parameters.y0 = { value: mass.y0, error: sd(4) };
  parameters.gamma1 = { value: mass.gamma1, error: sd(5) };
  parameters.gamma2 = { value: mass.gamma2, error: sd(6) };
  if (epl) parameters.gamma = { value: mass.gamma!, error: sd(7) };
  light.forEach((c, k) => {
    // (a tied centre's error is the first component's: the same parameter)
    const at = (nm: (typeof LIGHT_NAMES)[number]) => nMass + (lightSlot(k, nm, tied) ?? lightSlot(0, nm, tied)!);
    const { q, phi } = qPhiFromEllipticity(c.e1, c.e2);
    const [lq, lp] = qphiErr(at('e1'), at('e2'), c.e1, c.e2);
    const lr = sd(at('lnREff'));
    parameters[`light${k}.x0`] = { value: c.x0, error: sd(at('x0')) };
    parameters[`light${k}.y0`] = { value: c.y0, error: sd(at('y0')) };
    parameters[`light${k}.q`] = { value: q, error: lq };
    parameters[`light${k}.phi`] = { value: phi, error: lp };
    parameters[`light${k}.e1`] = { value: c.e1, error: sd(at('e1')) };
    parameters[`light${k}.e2`] = { value: c.e2, error: sd(at('e2')) };
    parameters[`light${k}.rEff`] = { value: c.rEff, error: lr === null ? null : lr * c.rEff };
    parameters[`light${k}.n`] = { value: c.n, error: sd(at('n')) };
    parameters[`light${k}.amplitude`] = { value: amps[k], error: null };
  });
  evaluations.total = E.evaluations + extraEvaluations;
  return {
    lens,
    massProfile: profile,
    mass,
    light: lightAll,
    lightCore: lightAll.length - light.length,
    amplitudes: amps,
    parameters,
    covariance,
    covarianceParts,
    systematics,
    hessian,
    hessianSteps,
    laplaceNote,
    names,
    logEvidenceFit: fitResult.logEvidence,
    logEvidence: inv.logEvidence,
    lambda: inv.lambda,
    chi2: inv.chi2,
    nPixels: pixels.length,
    chi2PerPixel: inv.chi2 / pixels.length,
    image: d.image,
    fitSourceGrid: fitGrid,
    sourceGrid,
    source: inv.source,
    lightImage: lightFull,
    lensedSourceImage: lensed,
    modelImage: model,
    normalisedResidual: resid,
    pixels,
    outliers,
    thetaEScan,
    lightSelection,
    lightCentres: centres,
    fitRadius,
    evaluations,
    thetaEInitial: thetaE0,
    regularisation: regKind,
    supersample: ss,
    seconds: now() - t0,
  };
}

/** L u for a lower-triangular L. */
function lowerTimes(L: Float64Array, u: ArrayLike<number>, n: number): Float64Array {
  const x = new Float64Array(n);
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) x[i] += L[i * n + j] * u[j];
  return x;
}

/** L Cu Lᵀ: a covariance in the coordinates u of x = v + L u carried to x. */
function fromBasis(L: Float64Array, Cu: Float64Array, n: number): Float64Array {
  const T = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let k = 0; k <= i; k++) T[i * n + j] += L[i * n + k] * Cu[k * n + j];
  const C = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let k = 0; k <= j; k++) C[i * n + j] += T[i * n + k] * L[j * n + k];
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) C[i * n + j] = C[j * n + i] = 0.5 * (C[i * n + j] + C[j * n + i]);
  return C;
}

/**
 * Standard deviations of q and φ from the covariance of the ellipticity components (indices i1, i2 of an n×n
 * covariance) by the delta method: q = (1 − e)/(1 + e), φ = ½ atan2(e2, e1); φ's is null for a round lens.
 */
export function qPhiErrors(cov: ArrayLike<number>, n: number, i1: number, i2: number, e1: number, e2: number): [number | null, number | null] {
  const e = Math.hypot(e1, e2);
  if (!(e > 0)) return [cov[i1 * n + i1] > 0 ? Math.sqrt(cov[i1 * n + i1]) : null, null];
  const dq = -2 / (1 + e) ** 2;
  const gq = [(dq * e1) / e, (dq * e2) / e];
  const gp = [(-0.5 * e2) / (e * e), (0.5 * e1) / (e * e)];
  const quad = (g: number[]) => g[0] * g[0] * cov[i1 * n + i1] + 2 * g[0] * g[1] * cov[i1 * n + i2] + g[1] * g[1] * cov[i2 * n + i2];
  return [Math.sqrt(Math.max(0, quad(gq))), Math.sqrt(Math.max(0, quad(gp)))];
}

/** The light-subtracted data (data − lens light), NaN where the data are. */
export function lightSubtracted(data: ArrayLike<number>, light: ArrayLike<number>): Float64Array {
  return Float64Array.from(data, (v, k) => v - light[k]);
}

