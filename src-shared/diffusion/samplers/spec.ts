/**
 * The sampler catalogue without tensor code: names, labels, default step counts, the options a user may set and
 * their ranges. The CLI's flags, the protocol's validator and the app's run panel all read it; the samplers
 * themselves (pc.ts, em.ts, …) and their registry (index.ts) are the tensor side.
 */

export const SAMPLERS = ['pc', 'em', 'ald', 'ula', 'dps'] as const;
export type SamplerName = (typeof SAMPLERS)[number];

export const DEFAULT_SAMPLER: SamplerName = 'pc';

/** The most steps any sampler takes. */
export const MAX_STEPS = 1_000_000;

export interface SamplerInfo {
  /** The name the run panel shows. */
  label: string;
  /** One line on what it does and what it costs. */
  help: string;
  /**
   * Default step count. pc: 500 levels × (predictor + corrector) = 1000 score evaluations — on the 32×32
   * Gaussian-field test the posterior mean and variance are within Monte Carlo error from ~200 levels on, 500
   * leaves margin for learned priors; em/dps: 1000 (one network pass per step, matching pc's cost); ald: 300
   * levels × 3 Langevin steps; ula: 2000 (burn-in included; a fixed-target chain needs ≳ 3/(Δ λmin) steps).
   */
  defaultSteps: number;
  minSteps: number;
  /** Whether its samples are calibrated posterior draws (dps is not). */
  calibrated: boolean;
}

export const SAMPLER_INFO: Record<SamplerName, SamplerInfo> = {
  pc: {
    label: 'Predictor–corrector (recommended)',
    help: 'reverse-SDE predictor with Langevin corrector steps at each level (1 by default); 1 + the corrector steps score evaluations a level',
    defaultSteps: 500,
    minSteps: 1,
    calibrated: true,
  },
  em: { label: 'Euler–Maruyama', help: 'reverse SDE only: one evaluation a step, biased unless the steps are many', defaultSteps: 1000, minSteps: 1, calibrated: true },
  ald: { label: 'Annealed Langevin', help: 'Langevin steps at decreasing noise levels (3 per level)', defaultSteps: 300, minSteps: 2, calibrated: true },
  ula: { label: 'Unadjusted Langevin', help: 'Langevin on the posterior at the smallest noise level; burn-in included in the steps', defaultSteps: 2000, minSteps: 1, calibrated: true },
  dps: {
    label: 'DPS',
    help: 'likelihood at the Tweedie estimate, back-propagated through the network: any operator, approximate (not calibrated)',
    defaultSteps: 1000,
    minSteps: 1,
    calibrated: false,
  },
};

export const DEFAULT_STEPS: Record<SamplerName, number> = Object.fromEntries(SAMPLERS.map((s) => [s, SAMPLER_INFO[s].defaultSteps])) as Record<SamplerName, number>;

/** The sampler's one-line help for its options as set: pc's cost a level follows its corrector steps. */
export function samplerHelp(name: SamplerName, options: Pick<SamplerOptions, 'correctorSteps'> = {}): string {
  if (name !== 'pc') return SAMPLER_INFO[name].help;
  const k = options.correctorSteps ?? 1;
  if (k === 0) return 'reverse-SDE predictor alone (no corrector steps); 1 score evaluation a level';
  const corrector = k === 1 ? 'a Langevin corrector step' : `${k} Langevin corrector steps`;
  return `reverse-SDE predictor with ${corrector} at each level; ${k + 1} score evaluations a level`;
}

export function isSamplerName(s: string): s is SamplerName {
  return (SAMPLERS as readonly string[]).includes(s);
}

/** Signal-to-noise ratio of the Langevin corrector step (pc, ald). */
export const DEFAULT_SNR = 0.16;

/** How the samplers end: pc, em, ald and dps at σmin, ula at its target σ when above 0 (denoise.ts). */
export const DENOISE_MODES = ['draw', 'mean', 'none'] as const;
export type DenoiseMode = (typeof DENOISE_MODES)[number];
export const DEFAULT_DENOISE: DenoiseMode = 'draw';

export function isDenoiseMode(s: string): s is DenoiseMode {
  return (DENOISE_MODES as readonly string[]).includes(s);
}

export interface SamplerOptions {
  /** Signal-to-noise ratio of the Langevin corrector step (pc, ald); default DEFAULT_SNR. */
  snr?: number;
  /** Corrector steps per noise level (pc); default 1. */
  correctorSteps?: number;
  /** Langevin steps per noise level (ald); default 3. */
  langevinSteps?: number;
  /** Fixed step Δ of ula; default 0.05/λmax (λmax: largest eigenvalue of −∇s, by power iteration at start). */
  stepSize?: number;
  /** Noise level ula targets; default 0 where the prior's score exists there, else σmin. */
  targetSigma?: number;
  /** Standard deviation of ula's starting points x ~ N(0, s² I); default 1 (prior units). */
  initScale?: number;
  /** DPS step scale ζ (prior units); default 1. */
  zeta?: number;
  /**
   * How the samplers end (denoise.ts): 'draw' (the default) a second-order Tweedie draw with the prior's score,
   * conditioned on the data with the exact likelihood (Matheron's rule); 'mean' (or true) the conditioned Tweedie
   * mean x̂ + K (y' − a A x̂), x̂ = x + σ² s_prior(x, σ); 'none' (or false) the raw draw at σ.
   */
  denoise?: boolean | DenoiseMode;
  /**
   * Use the image prior's score through one of its eight flips/rotations per noise level (dihedral.ts): for priors
   * trained with those augmentations; default false. Ignored for 2-D densities.
   */
  symmetrise?: boolean;
  /**
   * Estimate the posterior mean by averaging Tweedie's E[x₀ | x_σ, y] over the score evaluations of the chains'
   * last levels (rao-blackwell.ts) rather than as the mean of the final draws; samplers that declare
   * `scoresAtDraws`, with data only; default true.
   */
  raoBlackwell?: boolean;
}

/**
 * The options a user sets for a reconstruction (CLI flags --snr, --correctors, --step-size, --zeta, --denoise,
 * --no-rao-blackwell, --symmetrise; the app's run panel): the same names as SamplerOptions.
 */
export type RunOptions = Pick<SamplerOptions, 'snr' | 'correctorSteps' | 'stepSize' | 'zeta' | 'raoBlackwell' | 'symmetrise'> & { denoise?: DenoiseMode };

/** Langevin corrector steps per noise level that pc accepts (`correctorSteps`, the CLI's --correctors). */
export const MAX_CORRECTOR_STEPS = 100;
export const CORRECTOR_STEPS_HELP = 'Langevin corrector steps per noise level (pc; default 1): each adds one score evaluation per level';

/** Accepted ranges of the numeric run options (exclusive lower bound 0, inclusive upper bound). */
export const RUN_OPTION_RANGES = {
  snr: { max: 10, help: 'Langevin step signal-to-noise ratio (pc, ald)' },
  stepSize: { max: 1e6, help: "ula's step (default 0.05/λmax of the posterior score's Jacobian)" },
  zeta: { max: 1e6, help: 'dps step scale' },
} as const;

/** Worker threads sharing a reconstruction's chains: at most this many. */
export const MAX_WORKERS = 64;
/** Chains evaluated together per worker: at most this many. */
export const MAX_BATCH = 4096;
/** Default chains per batch for n samples. */
export const defaultBatch = (n: number): number => Math.min(n, 16);
