/**
 * The reconstruction service for interferometric data: the posterior of the sky image given calibrated
 * visibilities (a UVFITS file), with the exact Gaussian visibility likelihood (complex noise from the data
 * weights; src-shared/diffusion/visibility-likelihood.ts), a score-based prior, and the usual products on a
 * SIN-projected grid at the phase centre with the restoring-beam keywords of `skyscore clean`.
 *
 * The steps: read and select the visibilities (Stokes I from the parallel hands, flags dropped, every channel and
 * IF at its own (u, v)); with `selfcal`, the CLEAN / self-calibration loop (src-shared/radio/selfcal.ts) on the grid
 * the raw data give, everything after it on the corrected visibilities; the thermal check of the weights against the data's own scatter (and --reweight); the
 * image geometry (--size, --cell, else a grid that holds the source's CLEAN extent: src-shared/radio/field.ts);
 * the normal equations (dirty image, beam at every offset, yᴴWy);
 * the flux scale in the image plane — from a Högbom CLEAN of the natural-weighted dirty image restored with the
 * fitted beam and divided by the beam's area (Jy/pixel at the resolution), never from data-plane percentiles;
 * then the samples, over the worker pool (the normal equations shared with its threads) or in this thread; a run
 * stopped with the reason 'keep' writes its products from every chain's latest state. report.json gives the χ²
 * per real degree of freedom (two per visibility) of the posterior mean and of every sample, with a warning when
 * it leaves its expected range.
 *
 * One code path for `skyscore reconstruct --vis` (reconstructVisibilities: the file from disk) and the app's
 * posterior job (reconstructUvfits on the file the app sent, src-main/engine/vis-posterior-job.ts): the FITS
 * products' HISTORY gives the command line that reproduces the run (visibilityCommandLine, the file by its base
 * name), so that both write the same bytes for the same settings and seed.
 */
import path from 'node:path';
import { runSampling, SamplingCancelledError, type SamplingOptions, type SamplingResult } from '../../src-shared/diffusion/posterior.js';
import { posteriorProducts, previewProducts } from '../../src-shared/diffusion/products.js';
import { VisibilityLikelihood } from '../../src-shared/diffusion/visibility-likelihood.js';
import { alignedMean, ClosureLikelihood, recentreChains, type ClosureLowAmplitudes } from '../../src-shared/diffusion/closure-likelihood.js';
import { denoiseSetting } from '../../src-shared/diffusion/samplers/denoise.js';
import { amplitudeSize } from '../../src-shared/radio/field.js';
import { gaussianImage } from '../../src-shared/radio/closure.js';
import { writeFits, type FitsHeader } from '../../src-shared/fits/index.js';
import { defaultProduct, noVisibilitiesMessage, selectVisibilities, type UvfitsFile, type Visibilities } from '../../src-shared/radio/uvfits.js';
import { ARCSEC, type ImageGrid } from '../../src-shared/radio/grid.js';
import { chooseMeasurement } from '../../src-shared/radio/measurement.js';
import { thermalCheck, type ThermalCheck } from '../../src-shared/radio/weighting.js';
import { cropBeam, dirtyBeam, doubleGrid, uvRange } from '../../src-shared/radio/imaging.js';
import { DETECTION_SIGMA, posteriorGeometry, sourceExtent, surveyZeroSpacing, totalFluxWarning, ZERO_SPACING_FLOOR, type SourceExtent } from '../../src-shared/radio/field.js';
import { boundByBrightest, brightest, PEAK_RATIO } from '../../src-shared/radio/flux-scale.js';
import { clean, fitBeam, restore, type RestoringBeam } from '../../src-shared/radio/clean.js';
import { exactEvaluations, usedOnly, visibilityNormalEquations, withZeroSpacing, type WeightedVisibilities } from '../../src-shared/radio/normal-equations.js';
import { describeClosureStart, gainParameters, gainPhaseRms, selfcalFlags, selfcalHistory, selfcalSteps, type SelfcalMode, type SelfcalResult, type SelfcalStart } from '../../src-shared/radio/selfcal.js';
import type { NamedFile } from '../../src-shared/protocol/index.js';
import { UserInputError } from '../../src-shared/errors.js';
import { affineFor, automaticFluxScale, checkPriorShape, resolvePrior, type FluxChoice } from '../priors.js';
import { readUvfitsFile } from '../visibility-file.js';
import { radioProductHeader } from './radio-header.js';
import { trimWcsToTwoAxes } from './headers.js';
import { SKYSCORE_VERSION } from '../version.js';
import type { ScoreEngineOptions } from '../onnx/priors.js';
import { onnxWorkerPlan, scoreEngineReport } from '../onnx/priors.js';
import { useOrtProducts } from '../onnx/products.js';
import type { BackendInfo } from '../../src-shared/protocol/index.js';
import { checkSettings, defaultWorkers, type ReconstructSettings } from './prepare.js';
import { runSamplingParallel, sharedFloat64, type ParallelProgress } from '../sampling/pool.js';

export interface VisibilityReconstructionInputs {
  /** The UVFITS file. */
  vis: string;
  /** The product to image (default: Stokes I where the file has parallel hands). */
  stokes?: string;
  /** The source of a multi-source file (its SU table name or SOURCE number). */
  source?: string;
  /** Image side (pixels) and cell (arcsec); by default a grid that holds the source's CLEAN extent (src-shared/radio/field.ts). */
  size?: number;
  cellArcsec?: number;
  prior: string;
  settings: ReconstructSettings;
  scoreEngine?: ScoreEngineOptions;
  backend: () => Promise<BackendInfo>;
  cwd?: string;
  /** The command line recorded in HISTORY and report.json. */
  command: string;
  /**
   * Rescale the weights so that they state the variance of the data's own scatter (the thermal check's rms ratio r:
   * w → w/r²), as CASA's statwt re-derives weights from the data: for files whose weights are only relative.
   */
  reweight?: boolean;
  /**
   * Self-calibrate first (src-shared/radio/selfcal.ts): the CLEAN / self-calibration loop on the posterior's grid as
   * the raw data give it, then the posterior of the corrected visibilities.
   */
  selfcal?: { mode: SelfcalMode; rounds: number; solint: number; start: SelfcalStart };
  /**
   * The likelihood: the complex visibilities' (default) or their closure quantities' (closure phases and log closure
   * amplitudes, src-shared/diffusion/closure-likelihood.ts: immune to station gains; no self-calibration with it).
   */
  likelihood?: 'visibilities' | 'closure';
  /** The closure likelihood's total flux (Jy; default: the shortest baselines' amplitude, amplitudeSize's shortFlux). */
  totalFlux?: number;
  /**
   * The visibility likelihood's total-flux constraint, a pseudo-visibility at zero spacing (normal-equations.ts,
   * withZeroSpacing): 'none', or the flux (Jy) and its σ (default ZERO_SPACING_FLOOR × the flux). Left out, the
   * survey's (field.ts, surveyZeroSpacing) where it detected emission, else none; with the field given the survey
   * runs for this alone (and report.json's totalFluxJy and the total-flux warning compare with it as with the
   * field's).
   */
  zeroSpacing?: { flux: number; sigma?: number } | 'none';
}

export interface VisibilityReconstruction {
  files: NamedFile[];
  report: Record<string, unknown>;
  /** Notes for the user (geometry, weights, prior size, χ²). */
  warnings: string[];
  notes: string[];
  chi2: number;
  /** Worker threads that ran the chains (1: this thread). */
  workers: number;
  /** Where a run stopped and kept stood, and the chains kept; null for a finished run. */
  stopped: { step: number; steps: number; sigma: number; chains: number; of: number } | null;
}

/** The thermal check's verdict: the weights are trusted within this factor of the data's own scatter. */
const THERMAL_TOLERANCE = 1.5;

/**
 * What the run may be given besides its inputs: progress (the step over all chains, as the worker pool reports it),
 * previews, cancellation. A signal aborted with the reason 'keep' ends the run with the products of its latest
 * preview ("stop and keep": ask for previews of every chain, previewSamples ≥ n).
 */
export type VisibilityRunHooks = Pick<SamplingOptions, 'progressIntervalMs' | 'previewIntervalMs' | 'previewSamples' | 'signal'> & {
  onProgress?: (p: ParallelProgress) => void;
};

/** `skyscore reconstruct --vis FILE`: the file from disk, then reconstructUvfits. */
export async function reconstructVisibilities(inp: VisibilityReconstructionInputs, onProgress?: (p: ParallelProgress) => void): Promise<VisibilityReconstruction> {
  const uv = await readUvfitsFile(inp.vis);
  return reconstructUvfits(uv, { ...inp, name: inp.vis, file: path.resolve(inp.vis) }, { onProgress });
}

/** The sampler options a run from visibilities takes. */
interface SamplerFlags {
  snr?: number;
  correctorSteps?: number;
  stepSize?: number;
  zeta?: number;
  denoise?: string | boolean;
  raoBlackwell?: boolean;
  symmetrise?: boolean;
}

/** The sampler options as the flags that give them (the command line of the products' HISTORY). */
function optionFlags(o: SamplerFlags | undefined): string {
  if (!o) return '';
  let t = '';
  if (o.snr !== undefined) t += ` --snr ${o.snr}`;
  if (o.correctorSteps !== undefined) t += ` --correctors ${o.correctorSteps}`;
  if (o.stepSize !== undefined) t += ` --step-size ${o.stepSize}`;
  if (o.zeta !== undefined) t += ` --zeta ${o.zeta}`;
  if (typeof o.denoise === 'string') t += ` --denoise ${o.denoise}`;
  else if (o.denoise === false) t += ' --denoise none';
  if (o.raoBlackwell === false) t += ' --no-rao-blackwell';
  if (o.symmetrise === true) t += ' --symmetrise';
  return t;
}

/**
 * The command line that reproduces a run from visibilities (without --out): the file by its base name, the prior
 * as resolved, the grid, the product and every sampler setting.
 */
export function visibilityCommandLine(a: {
  file: string;
  prior: string;
  size: number;
  cellArcsec: number;
  product: string;
  /** The source kept from a multi-source file. */
  source?: string;
  sampler: string;
  n: number;
  steps: number;
  seed: number;
  fluxScale: number | null;
  reweight: boolean;
  /** The self-calibration flags (selfcalFlags), when the run self-calibrated. */
  selfcal?: string;
  /** The closure likelihood (--likelihood closure) and its --total-flux where given. */
  closure?: { totalFlux?: number };
  /** The visibility likelihood's total-flux constraint (--total-flux JY[:SIGMA] or none), where given or used. */
  zeroSpacing?: { flux: number; sigma?: number } | 'none';
  /**
   * Worker threads: given, the line ends with --workers N. The products' HISTORY leaves it out, as an image run's
   * does: the samples do not depend on it (each chain has its own random stream, and its conjugate gradients stop
   * at its own tolerance), up to float32 rounding where a score engine sums in another order with another batch.
   */
  workers?: number;
  options?: SamplerFlags;
}): string {
  const base = a.file.split(/[\\/]/).filter(Boolean).pop() ?? a.file;
  return (
    `reconstruct --vis ${base} --prior ${a.prior} --size ${a.size} --cell ${+a.cellArcsec.toPrecision(8)} --stokes ${a.product}${a.source !== undefined ? ` --source ${a.source}` : ''}` +
    ` --sampler ${a.sampler} --n ${a.n} --steps ${a.steps} --seed ${a.seed}${a.fluxScale !== null ? ` --flux-scale ${a.fluxScale}` : ''}${a.reweight ? ' --reweight' : ''}${a.selfcal ? ` ${a.selfcal}` : ''}${a.closure ? ` --likelihood closure${a.closure.totalFlux !== undefined ? ` --total-flux ${a.closure.totalFlux}` : ''}` : ''}${a.zeroSpacing === 'none' ? ' --total-flux none' : a.zeroSpacing ? ` --total-flux ${+a.zeroSpacing.flux.toPrecision(8)}${a.zeroSpacing.sigma !== undefined ? `:${+a.zeroSpacing.sigma.toPrecision(8)}` : ''}` : ''}${optionFlags(a.options)}${a.workers !== undefined ? ` --workers ${a.workers}` : ''}`
  );
}

/**
 * The posterior from a UVFITS file already read: `name` names it in messages (a path or the app's file name),
 * `file` in report.json; the products' HISTORY names it by its base name.
 */
export async function reconstructUvfits(
  uv: UvfitsFile,
  inp: Omit<VisibilityReconstructionInputs, 'vis'> & { name: string; file: string },
  hooks: VisibilityRunHooks = {},
): Promise<VisibilityReconstruction> {
  const t0 = performance.now();
  const cwd = inp.cwd ?? process.cwd();
  const s = checkSettings(inp.settings);
  const raw = selectVisibilities(uv, inp.stokes?.toUpperCase() ?? defaultProduct(uv.meta), inp.name, inp.source);
  if (raw.n === 0) throw new UserInputError(noVisibilitiesMessage(inp.name, raw));
  const closures = inp.likelihood === 'closure';
  if (closures && inp.selfcal) throw new UserInputError('the closure likelihood needs no self-calibration (closure quantities are unchanged by station gains): leave out --selfcal');
  if (closures && s.sampler === 'dps') throw new UserInputError('the closure likelihood does not support the dps sampler (use pc, em, ald or ula)');
  if (!closures && inp.totalFlux !== undefined) throw new UserInputError('the closure likelihood\'s total flux (totalFlux) applies with --likelihood closure only; the visibilities\' is zeroSpacing');
  if (closures && inp.zeroSpacing !== undefined) throw new UserInputError('the closure likelihood takes its total flux as --total-flux JY (its σ is 5 % of it)');
  let fmin = Infinity;
  for (const f of uv.meta.freqs) fmin = Math.min(fmin, f);
  const geometryOf = (v: Visibilities) =>
    posteriorGeometry(v, { freqMin: fmin, dishDiameter: uv.meta.dishDiameter, cell: inp.cellArcsec === undefined ? undefined : inp.cellArcsec * ARCSEC, size: inp.size });
  // self-calibration first: the CLEAN / selfcal loop on the grid the raw data give (natural weights, Cotton–Schwab,
  // at most 5000 iterations to 3 × the weights' noise), then everything below on the corrected visibilities
  let vis = raw;
  let sc: SelfcalResult | null = null;
  let scGrid: ImageGrid | null = null;
  const scFlags = inp.selfcal ? selfcalFlags(inp.selfcal) : undefined;
  if (inp.selfcal) {
    const g0 = geometryOf(raw);
    scGrid = { nx: g0.size, ny: g0.size, cell: g0.cell };
    const steps = selfcalSteps(raw, scGrid, {
      mode: inp.selfcal.mode,
      rounds: inp.selfcal.rounds,
      solint: inp.selfcal.solint,
      start: inp.selfcal.start,
      clean: { weighting: 'natural', robust: 0, niter: 5000, gain: 0.1, threshold: 'auto', method: 'cotton-schwab' },
    });
    // the event loop runs between the loop's CLEANs and rounds (an engine answers other requests there), and a
    // cancellation ends the run there: nothing has been sampled yet, so there is nothing to keep
    for (;;) {
      const step = steps.next();
      if (hooks.signal?.aborted) throw new SamplingCancelledError();
      if (step.done) {
        sc = step.value;
        break;
      }
      await new Promise((res) => setImmediate(res));
    }
    vis = sc.vis;
    if (vis.n === 0) throw new UserInputError(`${inp.name}: self-calibration left no visibility (every antenna solution failed)`);
  }
  const notes = [...vis.notes];
  const warnings: string[] = [];
  if (sc) {
    const last = sc.rounds[sc.rounds.length - 1];
    notes.push(
      `self-calibrated (${scFlags}; first model ${sc.start}) on ${scGrid!.nx}² × ${+((scGrid!.cell / ARCSEC) * 1e6).toPrecision(4)} µas: the CLEAN model's χ²/dof ${sc.initial.chi2.toPrecision(4)} before, ${last.chi2After.toPrecision(4)} after round ${last.round}; ` +
        `${sc.gains.failed} of ${sc.gains.solutions} antenna solutions flagged, ${vis.n} of ${raw.n} visibilities kept; the posterior is of the corrected visibilities (closure quantities unchanged; absolute position and structure the closures do not fix come from the model)`,
    );
    if (sc.closure) notes.push(`self-calibration's first model: ${describeClosureStart(sc.closure)}`);
  }
  // the weights against the data's scatter: a likelihood is only as honest as its σ
  const thermal = thermalCheck(vis);
  let weightScale = 1;
  if (inp.reweight) {
    if (!thermal) throw new UserInputError(`${inp.name}: --reweight needs successive visibilities on the same baseline to measure the data's scatter, and the file has none`);
    // the variance of the scatter (its rms), not the robust (median) estimate: a Gaussian likelihood's σ² is the
    // noise's variance, and the differences' tails are heavier than a Gaussian's (BL Lac: rms 0.470, robust 0.413)
    weightScale = 1 / (thermal.ratio * thermal.ratio);
    for (let k = 0; k < vis.n; k++) vis.weight[k] *= weightScale;
    notes.push(
      `weights × ${weightScale.toPrecision(4)}: rescaled to the data's scatter between successive visibilities (rms ratio ${thermal.ratio.toFixed(3)}; robust ${thermal.robustRatio.toFixed(3)}; ${thermal.pairs} pairs)`,
    );
  } else if (thermal && (thermal.robustRatio > THERMAL_TOLERANCE || thermal.robustRatio < 1 / THERMAL_TOLERANCE)) {
    warnings.push(
      `the data's scatter between successive visibilities is ${thermal.robustRatio.toFixed(2)} × the σ their weights state (robust, ${thermal.pairs} pairs): ` +
        `the weights are ${thermal.robustRatio > 1 ? 'too large (σ too small)' : 'too small (σ too large)'}; the posterior's widths follow the weights (--reweight rescales them to the scatter)` +
        // station phases that change between time stamps raise the scatter as well: the cure is then not --reweight
        (thermal.robustRatio > 1 && !sc ? `, or the station gains change between time stamps (uncalibrated data: --selfcal p|ap corrects them, and the scatter is measured again after it${closures ? '; the closure likelihood is immune to them, and its σ follow the weights' : ''})` : ''),
    );
  }

  // the grid: given, or one that holds the source's CLEAN extent (field.ts), with the weights as the likelihood takes them
  const geo = geometryOf(vis);
  notes.push(...geo.notes);
  const grid: ImageGrid = { nx: geo.size, ny: geo.size, cell: geo.cell };

  // the natural-weighted dirty image, beam, restoring beam, and a CLEAN for the image-plane flux scale
  const A = chooseMeasurement(vis.u, vis.v, grid);
  const big = dirtyBeam(vis.u, vis.v, vis.weight, doubleGrid(grid));
  const beam = fitBeam(cropBeam(big, grid), grid);
  const prior = await resolvePrior(inp.prior, cwd, inp.scoreEngine ?? {});
  let lik: VisibilityLikelihood | ClosureLikelihood | null = null;
  try {
    if (prior.kind === 'analytic') throw new UserInputError(`the prior ${inp.prior} is a 2-D density, not an image prior`);
    const shapeNote = checkPriorShape(prior, [grid.ny, grid.nx], 'the image');
    if (shapeNote) notes.push(shapeNote);
    // the closures' total flux: given, or the shortest baselines' amplitude (closures carry no flux scale)
    const amp = closures ? amplitudeSize(vis) : null;
    const totalFlux = closures ? (inp.totalFlux ?? amp!.shortFlux) : NaN;
    if (closures && !(totalFlux > 0)) throw new UserInputError(`${inp.name}: no total flux from the shortest baselines' amplitudes for the closure likelihood: give --total-flux JY`);
    const flux = closures ? closureFlux(prior, grid, totalFlux, amp!.fwhm, s.fluxScale) : imagePlaneFlux(prior, vis, A, big, beam, grid, s.fluxScale);
    const affine = affineFor(prior, flux);
    // the total flux at zero spacing: given, none, or the survey's where it detected emission (field.ts); with the
    // field given (--size and --cell) the survey runs for this alone, on its own grid (the field's is not used)
    const needSurvey = !closures && inp.zeroSpacing === undefined && !geo.extent;
    const zsExtent = geo.extent ?? (needSurvey ? sourceExtent(vis, { freqMin: fmin, dishDiameter: uv.meta.dishDiameter }) : null);
    if (needSurvey && zsExtent) {
      notes.push(
        `the total flux at zero spacing from a Högbom CLEAN survey (${zsExtent.flux.toPrecision(3)} Jy, ${zsExtent.components} components on a ${zsExtent.grid.nx}² grid, ${zsExtent.iterations} iterations${zsExtent.converged ? '' : ', stopped above its threshold'}; ${zsExtent.islands} island${zsExtent.islands === 1 ? '' : 's'} reach${zsExtent.islands === 1 ? 'es' : ''} ${DETECTION_SIGMA}σ), run for it alone: the field is given`,
      );
    }
    const survey = zsExtent ? surveyZeroSpacing(zsExtent) : null;
    const zs = closures || inp.zeroSpacing === 'none'
      ? null
      : inp.zeroSpacing
        ? { flux: inp.zeroSpacing.flux, sigma: inp.zeroSpacing.sigma ?? ZERO_SPACING_FLOOR * Math.abs(inp.zeroSpacing.flux), source: `given (--total-flux)${inp.zeroSpacing.sigma === undefined ? `, σ ${ZERO_SPACING_FLOOR * 100} % of it` : ''}` }
        : survey
          ? {
              // to the 8 digits HISTORY's --total-flux F:SIGMA gives, so that its command line writes the same bytes
              ...survey,
              flux: +survey.flux.toPrecision(8),
              sigma: +survey.sigma.toPrecision(8),
              source: "the survey CLEAN's flux F; σ = √((0.05 F)² + (F − S)²), S the shortest baselines' amplitude",
            }
          : null;
    if (zs) {
      notes.push(
        `total flux at zero spacing ${zs.flux.toPrecision(4)} ± ${zs.sigma.toPrecision(3)} Jy (${zs.source}): a pseudo-visibility at (0, 0) that holds the scales beyond the shortest baseline's (${(uvRange(vis.u, vis.v).umin / 1e6).toPrecision(3)} Mλ), which no visibility measures; ` +
          `its χ² is reported apart (report.json's zeroSpacing), not in the χ² per visibility degree of freedom (--total-flux none leaves it out)`,
      );
    }
    // the likelihood's visibilities: the data's, and the zero-spacing pseudo-visibility last where there is one
    const likVis = zs ? withZeroSpacing(vis, zs) : vis;
    // A of the image grid made once: selectVisibilities keeps only positive weights, so it is the normal equations' A
    const equations = closures ? null : visibilityNormalEquations(likVis, grid, !zs && usedOnly(vis) === vis ? { measurement: A } : {});
    // χ², residual and degrees of freedom of the data alone (the pseudo-visibility's χ² is reported apart)
    const dataFit = zs ? dataOnlyFit(vis, A) : null;
    if (closures) {
      lik = new ClosureLikelihood({ vis, grid, affine, totalFlux, name: path.basename(inp.name) });
      notes.push(
        `closure likelihood: ${lik.set.nPhase} closure phases and ${lik.set.nLogAmp} log closure amplitudes in ${lik.set.groups} time stamps; total flux ${totalFlux.toPrecision(4)} Jy (${inp.totalFlux !== undefined ? '--total-flux' : "the shortest baselines' amplitude"}) ± ${lik.totalFluxSigma.toPrecision(3)}; κ ${lik.kappa.toPrecision(3)}`,
      );
    } else lik = new VisibilityLikelihood({ equations: equations!, affine, name: path.basename(inp.name) });
    const backend = await inp.backend();
    // ONNX Runtime on the CPU: one worker per core (at most n and 4) as for images; else the images' rule
    // the likelihood's dense products (the K product) on ONNX Runtime's CPU kernels where the score runs there
    // (this thread's; the workers register their own, src-main/onnx/products.ts)
    const engineReport = { ...scoreEngineReport(prior.model, backend.backend) };
    engineReport.products = useOrtProducts(engineReport);
    const plan = onnxWorkerPlan(engineReport, s.workers, s.n, inp.scoreEngine ?? {});
    // the closure likelihood runs its chains in this thread (its score is evaluated on the host, per chain)
    const workers = closures ? 1 : (s.workers ?? plan?.workers ?? defaultWorkers(backend.backend, s.n, prior.kind, s.steps, grid.nx * grid.ny));
    if (closures && s.workers !== null && s.workers > 1) notes.push(`the closure likelihood runs its chains in one thread: --workers ${s.workers} not used`);
    const scoreEngine = { ...inp.scoreEngine, ...(plan ? { threads: plan.threads } : {}) };
    const sampling = { sampler: s.sampler, steps: s.steps, n: s.n, seed: s.seed, samplerOptions: s.options };
    // the latest preview with its step: what "stop and keep" writes
    let latest: ParallelProgress | null = null;
    const onProgress = hooks.onProgress
      ? (p: ParallelProgress) => {
          if (p.preview) latest = p;
          hooks.onProgress!(p);
        }
      : undefined;
    let result: SamplingResult | null = null;
    let workersUsed = 1;
    try {
      if (workers > 1 && equations && lik instanceof VisibilityLikelihood) {
        workersUsed = Math.min(workers, s.n);
        // d and the beam in shared memory, made once here; each worker makes only A's plan
        const used = usedOnly(likVis);
        const { exact: _exact, ...eq } = equations;
        const par = await runSamplingParallel(
          {
            backend: backend.backend,
            prior: inp.prior,
            cwd,
            shape: [grid.ny, grid.nx],
            // the visibilities in shared memory too: one copy for every worker, not one each
            visibility: {
              equations: { ...eq, dirty: sharedFloat64(eq.dirty), beam: sharedFloat64(eq.beam) },
              vis: { u: sharedFloat64(used.u), v: sharedFloat64(used.v), re: sharedFloat64(used.re), im: sharedFloat64(used.im), weight: sharedFloat64(used.weight) },
              grid,
              name: path.basename(inp.name),
            },
            dataShape: [grid.ny, grid.nx],
            affine,
            ...sampling,
            batchSize: s.batch,
            scoreEngine,
            previewIntervalMs: hooks.previewIntervalMs,
            previewSamples: hooks.previewSamples,
          },
          workers,
          { onProgress, signal: hooks.signal, residual: (mean) => (dataFit ? Promise.resolve(dataFit.residual(mean)) : lik!.normalisedResidual(mean)) },
        );
        if (par.cgStats) Object.assign(lik.cgStats, par.cgStats);
        result = par;
        workersUsed = par.workers;
      } else {
        result = await runSampling({ prior: prior.model, sde: prior.sde, shape: [grid.ny, grid.nx], likelihood: lik }, { ...sampling, batchSize: s.batch, ...hooks, onProgress });
      }
    } catch (e) {
      const snap = latest as ParallelProgress | null;
      const keep = hooks.signal?.aborted === true && hooks.signal.reason === 'keep' && snap?.preview !== undefined;
      if (!keep || !(e instanceof SamplingCancelledError || (e as Error)?.name === 'SamplingCancelledError')) throw e;
      result = null;
    }
    const snap = latest as ParallelProgress | null;
    const stoppedAt = result === null && snap?.preview ? { step: snap.step, steps: snap.steps, sigma: snap.sigma, elapsedS: snap.elapsedS, scoreEvaluations: snap.scoreEvaluations } : null;
    // the closures fix no position: every chain (and its Rao–Blackwellised mean) recentred on its positive flux's
    // centroid — by the ending, before its fit to the closures (closure-likelihood.ts's condition), else here
    const endingRecentres = closures && denoiseSetting(s.options ?? {}) !== 'none';
    const shifts = closures && result && !endingRecentres ? recentreChains(result.samples, result.n, grid, affine, result.conditionalMeans) : null;
    if (shifts) notes.push(`closure likelihood: the chains recentred by whole pixels on their positive flux's centroid (shifts ${shifts.map(([x, y]) => `(${x}, ${y})`).join(', ')})`);
    if (endingRecentres && result && lik instanceof ClosureLikelihood) {
      const draws = lik.conditionings.filter((c) => c.perturbed);
      const ends = draws.length ? draws : lik.conditionings.slice(-result.n);
      notes.push(
        `closure likelihood: the ending recentred every chain's estimate by whole pixels on its positive flux's centroid before fitting the closures (shifts ${ends.map((c) => `(${c.shift[0]}, ${c.shift[1]})`).join(', ')}), ` +
          `and widened σmin by ${ends.map((c) => `×${c.widening.toPrecision(3)}`).join(', ')} to fit them (χ² per closure ${ends.map((c) => c.chi2.toFixed(3)).join(', ')})`,
      );
    }
    const products = result ? await posteriorProducts(result, affine, lik) : await previewProducts(snap!.preview!, lik);
    const per = grid.nx * grid.ny;
    const nKept = products.n;
    const sampleChi2: number[] = [];
    const chi2Of = (x: Float32Array) => (dataFit ? Promise.resolve(dataFit.chi2(x)) : lik!.chi2OfImage(x));
    for (let k = 0; k < nKept; k++) sampleChi2.push(await chi2Of(products.samples.subarray(k * per, (k + 1) * per)));
    if (dataFit) products.residual = dataFit.residual(products.mean);
    const chi2 = dataFit ? dataFit.chi2(products.mean) : (products.chi2PerPixel ?? NaN);
    const dof = dataFit ? dataFit.dof : lik.observed;
    // the closure likelihood: χ²_ψ and χ²_L per closure of the mean and of every sample, the flux and the centroid
    const closureFigures = (x: Float32Array) => {
      const c = (lik as ClosureLikelihood).chi2Parts(x);
      return { phase: c.phase / c.nPhase, logAmplitude: c.logAmp / c.nLogAmp, fluxJy: c.flux, centroidPixels: c.centroid };
    };
    // the closure likelihood: each draw's smallest model amplitudes against the data's (a null's phase is free), and
    // the draws' aligned mean (the closures fix no position: each draw shifted to the first by cross-correlation)
    const stations = new Map(uv.meta.antennas.map((a) => [a.number, a.name]));
    const lowOf = (l: ClosureLowAmplitudes) => ({
      fraction: l.fraction,
      smallestRatio: l.ratio,
      smallestModelJy: l.modelJy,
      dataJy: l.dataJy,
      sigmaJy: l.sigmaJy,
      baseline: `${stations.get(vis.ant1[l.index]) ?? vis.ant1[l.index]}-${stations.get(vis.ant2[l.index]) ?? vis.ant2[l.index]}`,
      timeJd: vis.time[l.index],
      below: l.below,
      belowGuardFloor: l.belowFloor,
      used: l.used,
    });
    const closureLik = lik instanceof ClosureLikelihood ? lik : null;
    const nulls = closureLik ? Array.from({ length: nKept }, (_, k) => lowOf(closureLik.lowModelAmplitudes(products.samples.subarray(k * per, (k + 1) * per)))) : null;
    const aligned = closureLik && nKept > 1 ? alignedMean(products.samples, nKept, grid) : null;
    const closureReport = lik instanceof ClosureLikelihood
      ? {
          closurePhases: lik.set.nPhase,
          logClosureAmplitudes: lik.set.nLogAmp,
          timeStamps: lik.set.groups,
          totalFluxJy: lik.totalFlux,
          totalFluxSigmaJy: lik.totalFluxSigma,
          totalFluxSource: inp.totalFlux !== undefined ? 'given (--total-flux)' : "the shortest baselines' amplitude (amplitudeSize's first bin)",
          positionSigmaPixels: lik.positionSigma,
          kappa: lik.kappa,
          correlation: lik.correlation,
          meanParts: closureFigures(products.mean),
          // the draws' mean after aligning each to the first (whole pixels, cross-correlation): what a plain mean of
          // draws at different positions loses
          alignedMean: aligned ? { ...closureFigures(Float32Array.from(aligned.mean)), chi2PerClosure: await lik.chi2OfImage(Float32Array.from(aligned.mean)), shiftsPixels: aligned.shifts } : null,
          // per draw: the smallest used model visibility against its datum, and how many fall below the fraction of it
          // or below the null guard's floor (nullFloor × σ_k)
          nullGuardFloorSigmas: lik.nullFloor,
          lowModelAmplitudes: nulls,
          sampleParts: Array.from({ length: nKept }, (_, k) => closureFigures(products.samples.subarray(k * per, (k + 1) * per))),
          // the ending's discrepancy rule (closure-likelihood.ts): per conditioned image, the factor on σmin and the fit
          ending: {
            fitTarget: lik.fitTarget,
            maxWidening: lik.maxWidening,
            draws: lik.conditionings.filter((c) => c.perturbed).map(({ widening, chi2: c2, iterations, shift }) => ({ widening, chi2PerClosure: c2, iterations, shiftPixels: shift })),
            estimates: lik.conditionings.filter((c) => !c.perturbed).map(({ widening, chi2: c2, iterations, shift }) => ({ widening, chi2PerClosure: c2, iterations, shiftPixels: shift })),
          },
        }
      : null;
    if (nulls) {
      const low = nulls.map((l, k) => ({ ...l, k })).filter((l) => l.below > 0);
      if (low.length) {
        warnings.push(
          `${low.length} of ${nulls.length} draws hold a model visibility on a used baseline below ${low[0].fraction} × its datum's amplitude (smallest: ` +
            low.map((l) => `draw ${l.k + 1} ${l.baseline} ${l.smallestModelJy.toExponential(2)} Jy against ${l.dataJy.toPrecision(3)}`).join('; ') +
            `): there a closure phase is nearly free and a log closure amplitude steep; report.json's chi2PerClosure.lowModelAmplitudes lists them`,
        );
      }
    }
    const gainParams = sc ? gainParameters(sc.gains) : 0;
    const sd = Math.sqrt(2 / dof);
    const meanSampleChi2 = sampleChi2.reduce((a, b) => a + b, 0) / sampleChi2.length;
    // draws scatter about the posterior: their χ² sits near 1 + (pixels' effective dof)/dof; the mean's near or below 1
    const where = stoppedAt ? `step ${stoppedAt.step}/${stoppedAt.steps}, sigma ${stoppedAt.sigma.toPrecision(3)}` : '';
    if (stoppedAt) {
      warnings.unshift(`stopped at ${where}: the products are the ${nKept} chains' states then (noise level above sigma_min), not converged posterior draws`);
    }
    if (closureReport && (chi2 > 1 + Math.max(0.1, 6 * sd) || meanSampleChi2 > 2)) {
      warnings.push(
        `χ² per closure of the posterior mean ${chi2.toFixed(3)} (closure phases ${closureReport.meanParts.phase.toFixed(3)}, log closure amplitudes ${closureReport.meanParts.logAmplitude.toFixed(3)}; draws ${meanSampleChi2.toFixed(3)}), expected near 1 (± ${sd.toExponential(1)} for ${dof} closures): ` +
          `the model does not fit the closures to their noise (weights too large, a source the image does not hold, or too few steps)`,
      );
    } else if (!closureReport && (chi2 > 1 + Math.max(0.1, 6 * sd) || meanSampleChi2 > 2)) {
      warnings.push(
        `χ² per degree of freedom of the posterior mean ${chi2.toFixed(3)} (draws ${meanSampleChi2.toFixed(3)}), expected near 1 (± ${sd.toExponential(1)} for ${dof} degrees of freedom): ` +
          `the model does not fit the data to their noise (weights too large, ${sc ? '' : 'station gains not calibrated (--selfcal p|ap), '}a source the image does not hold, or too few steps)`,
      );
    }
    // conjugate gradients stopped by their cap above the tolerance: χ² biased high (visibility-likelihood.ts)
    const solvesWarning = lik instanceof VisibilityLikelihood ? lik.solvesWarning() : null;
    if (solvesWarning) warnings.push(solvesWarning);
    // the total flux against the survey CLEAN's: scales beyond 1/u_min are the prior's, unseen by χ²
    const totalOf = (x: Float32Array, inside?: number) => {
      let t = 0;
      const c = Math.floor(grid.nx / 2);
      const r = Math.floor(grid.ny / 2);
      for (let i = 0; i < x.length; i++) {
        if (inside !== undefined && Math.max(Math.abs((i % grid.nx) - c), Math.abs(Math.floor(i / grid.nx) - r)) * grid.cell > inside) continue;
        t += x[i];
      }
      return t;
    };
    const fluxTotals = {
      mean: totalOf(products.mean),
      samples: Array.from({ length: nKept }, (_, k) => totalOf(products.samples.subarray(k * per, (k + 1) * per))),
      // the survey's: the field's where it came from one, else the one run for the total flux at zero spacing alone
      cleanSurvey: zsExtent ? zsExtent.flux : null,
      withinExtent: zsExtent ? totalOf(products.mean, zsExtent.radius) : null,
    };
    // the zero-spacing pseudo-visibility's own χ² ((F − Σx)/σ)², of the mean and of every draw
    const zeroSpacingReport = zs
      ? {
          fluxJy: zs.flux,
          sigmaJy: zs.sigma,
          source: zs.source,
          ...('shortFlux' in zs ? { shortBaselineFluxJy: zs.shortFlux } : {}),
          chi2Mean: ((zs.flux - fluxTotals.mean) / zs.sigma) ** 2,
          chi2Samples: fluxTotals.samples.map((f) => ((zs.flux - f) / zs.sigma) ** 2),
        }
      : null;
    if (!closures) {
      const fw = totalFluxWarning({
        meanFlux: fluxTotals.mean,
        sampleFlux: fluxTotals.samples,
        cleanFlux: fluxTotals.cleanSurvey,
        innerFlux: fluxTotals.withinExtent ?? fluxTotals.mean,
        uMin: uvRange(vis.u, vis.v).umin,
        fieldRad: grid.nx * grid.cell,
      });
      if (fw) warnings.push(fw);
    }
    const engine = plan && workersUsed > 1 ? { ...engineReport, threads: plan.threads, workers: workersUsed } : engineReport;
    const cellArcsec = grid.cell / ARCSEC;
    const history = [
      `skyscore ${visibilityCommandLine({ file: inp.name, prior: prior.spec, size: grid.nx, cellArcsec, product: vis.product, ...(vis.source ? { source: /^[\w.+-]+$/.test(vis.source.name) ? vis.source.name : String(vis.source.id) } : {}), sampler: s.sampler, n: s.n, steps: s.steps, seed: s.seed, fluxScale: s.fluxScale, reweight: inp.reweight === true, selfcal: scFlags, ...(closures ? { closure: { totalFlux: inp.totalFlux } } : {}), ...(zs ? { zeroSpacing: zs } : {}), options: s.options })}`,
      `product ${vis.product} = ${vis.formed}; ${vis.n} visibilities, ${vis.nFlagged} flagged; image ${grid.nx}×${grid.ny}, cell ${+cellArcsec.toPrecision(6)} arcsec`,
      `prior ${prior.spec} sha256 ${prior.sha256}; sampler ${s.sampler}, ${s.steps} steps, ${s.n} samples, seed ${s.seed}; flux scale ${flux.value.toPrecision(6)}`,
      ...(sc ? [selfcalHistory(sc, scFlags!, raw.n)] : []),
      `likelihood: ${lik.description}`,
      `SkyScore ${SKYSCORE_VERSION}, backend ${backend.backend}`,
      ...(stoppedAt ? [`stopped by the user at ${where} (prior units): the chains' states then, not converged posterior draws; ${nKept} of ${s.n} chains`] : []),
    ];
    const header = (bunit: string, what: string) => {
      const h = radioProductHeader(vis, grid, beam, bunit, history, 'reconstruct');
      h.set('SKYPROD', what, 'SkyScore product');
      h.set('SKYPRIOR', prior.spec.slice(0, 60), 'prior');
      h.set('SKYSAMP', s.sampler, 'sampler');
      h.set('SKYSTEPS', s.steps, 'sampler steps');
      h.set('SKYSEED', s.seed, 'random seed');
      h.set('SKYNSAMP', nKept, 'posterior samples');
      if (stoppedAt) h.set('SKYSTOP', where, 'stopped by the user here: not converged');
      h.set('SKYFLUX', flux.value, 'flux scale (Jy/pixel per prior unit)');
      h.set('SKYCHI2', Number(chi2.toFixed(6)), closures ? 'chi2 per closure of the mean' : 'chi2 per visibility dof of the mean');
      return h;
    };
    const image = (data: Float32Array, h: FitsHeader) => writeFits([{ data, shape: [grid.nx, grid.ny, 1, 1], header: h, bitpix: -32 }]);
    // the samples' cube: NAXIS3 is the sample index, as for an image's reconstruction — not the frequency axis the
    // other products carry there, so the WCS keeps the two celestial axes only
    const samplesHeader = header('JY/PIXEL', 'posterior-samples');
    trimWcsToTwoAxes(samplesHeader);
    const samplesCube = writeFits([{ data: products.samples, shape: [grid.nx, grid.ny, nKept], header: samplesHeader, bitpix: -32 }]);
    const report: Record<string, unknown> = {
      command: `skyscore ${inp.command}`,
      visibilities: {
        file: inp.file,
        product: vis.product,
        formed: vis.formed,
        used: vis.n,
        flagged: vis.nFlagged,
        object: uv.meta.object || null,
        telescope: uv.meta.telescope || null,
        thermalCheck: thermal ? thermalReport(thermal) : null,
        weightScale,
      },
      ...(sc
        ? {
            selfcal: {
              flags: scFlags,
              ...inp.selfcal,
              firstModel: sc.start,
              ...(sc.closure ? { closureStart: sc.closure } : {}),
              grid: { size: scGrid!.nx, cellArcsec: scGrid!.cell / ARCSEC },
              clean: 'natural weights, Cotton–Schwab, at most 5000 iterations, gain 0.1, threshold 3 × the weights\' noise',
              visibilitiesBefore: raw.n,
              visibilitiesKept: vis.n,
              solutions: sc.gains.solutions,
              failed: sc.gains.failed,
              gainPhaseRmsDeg: gainPhaseRms(sc.gains),
              gainParameters: gainParams,
              before: sc.initial,
              rounds: sc.rounds,
            },
          }
        : {}),
      image: {
        size: [grid.ny, grid.nx],
        cellArcsec,
        projection: 'SIN',
        restoringBeam: { bmajArcsec: beam.bmaj * 3600, bminArcsec: beam.bmin * 3600, bpaDeg: beam.bpa },
        ...(geo.extent ? { sourceExtent: sourceExtentReport(geo.extent) } : {}),
      },
      prior: { spec: prior.spec, kind: prior.kind, sha256: prior.sha256 },
      fluxScale: { value: flux.value, source: flux.source, ...(flux.background !== undefined ? { background: flux.background } : {}) },
      n: nKept,
      steps: s.steps,
      sampler: s.sampler,
      samplerSettings: result ? result.samplerSettings : { meanEstimate: `mean of the chains' states when the run was stopped (${where})`, stoppedAt: where },
      seed: s.seed,
      backend: backend.backend,
      workers: workersUsed,
      scoreEngine: engine,
      likelihood: { kind: closures ? 'closure' : 'visibilities', description: lik.description, degreesOfFreedom: dof, ...(closures ? {} : { cgSolves: lik.cgStats.solves, cgIterations: lik.cgStats.iterations, cgCapped: lik.cgStats.capped, cgMaxRelResidual: lik.cgStats.maxRelResidual }) },
      ...(closureReport ? { chi2PerClosure: { mean: chi2, expectedSd: sd, samples: sampleChi2, ...closureReport } } : {}),
      chi2PerVisibility: closureReport ? null : {
        mean: chi2,
        expectedSd: sd,
        samples: sampleChi2,
        // with self-calibration the gains fitted gainParameters of the dof: χ² over what they left
        ...(sc && gainParams < dof ? { meanPerDofLeftByGains: (chi2 * dof) / (dof - gainParams), samplesPerDofLeftByGains: sampleChi2.map((c) => (c * dof) / (dof - gainParams)) } : {}),
      },
      chi2PerPixel: chi2,
      // Jy: the mean's and each draw's sum, the survey CLEAN's flux, the mean's within the survey's extent
      totalFluxJy: fluxTotals,
      // the total-flux constraint at zero spacing (null: none), its χ² apart from the visibilities'
      zeroSpacing: closures ? undefined : zeroSpacingReport,
      scoreEvaluations: result ? result.scoreEvaluations : stoppedAt!.scoreEvaluations,
      ...(stoppedAt ? { stopped: { step: stoppedAt.step, steps: stoppedAt.steps, sigma: stoppedAt.sigma, elapsedS: Number(stoppedAt.elapsedS.toFixed(3)), chains: nKept, of: s.n } } : {}),
      seconds: (performance.now() - t0) / 1000,
      versions: { skyscore: SKYSCORE_VERSION },
      notes,
      warnings,
    };
    const files: NamedFile[] = [
      { name: 'posterior-mean.fits', bytes: image(products.mean, header('JY/PIXEL', 'posterior-mean')) },
      { name: 'posterior-std.fits', bytes: image(products.std, header('JY/PIXEL', 'posterior-std')) },
      { name: 'posterior-samples.fits', bytes: samplesCube },
      { name: 'residual.fits', bytes: image(products.residual ?? new Float32Array(per), header('', closures ? 'residual: the closures\' J^T S^-1 r / its rms noise per pixel' : 'residual: Re(A^H W (y - A mean)) / sqrt(sum w), N(0,1) per pixel')) },
      { name: 'report.json', bytes: new TextEncoder().encode(JSON.stringify(report, null, 2) + '\n') },
    ];
    const stopped = stoppedAt ? { step: stoppedAt.step, steps: stoppedAt.steps, sigma: stoppedAt.sigma, chains: nKept, of: s.n } : null;
    return { files, report, warnings, notes, chi2, workers: workersUsed, stopped };
  } finally {
    lik?.dispose();
    prior.dispose();
  }
}


/**
 * The closure likelihood's flux scale: given (--flux-scale), else the automatic rule (automaticFluxScale) on the
 * circular Gaussian of the total flux and the amplitudes' fall-off FWHM on the grid, per pixel — a gain-free
 * image-plane reference where a CLEAN of visibilities with uncalibrated phases has none.
 */
function closureFlux(prior: Awaited<ReturnType<typeof resolvePrior>>, grid: ImageGrid, totalFlux: number, fwhm: number, given: number | null): FluxChoice {
  if (given !== null) return { value: given, source: 'given (--flux-scale)' };
  if (prior.peak === null) return { value: 1, source: `default 1: ${prior.kind} priors are defined in data units` };
  const g = gaussianImage(grid, totalFlux, Math.max(fwhm, 2 * grid.cell));
  const f = automaticFluxScale(Float32Array.from(g), prior.peak, prior.background);
  return { ...f, source: `${f.source}; of a circular Gaussian of the total flux (${totalFlux.toPrecision(4)} Jy) and the amplitudes' fall-off FWHM (${(fwhm / ARCSEC * 1e6).toPrecision(3)} µas) on the grid` };
}

function thermalReport(t: ThermalCheck): Record<string, number> {
  return { pairs: t.pairs, ratio: t.ratio, robustRatio: t.robustRatio };
}

/**
 * The flux scale in the image plane: a Högbom CLEAN of the natural-weighted dirty image (gain 0.1, to 3 × the
 * weights' image noise or 2000 components), restored with the fitted beam and divided by the beam's area in pixels
 * — the sky's brightness per pixel at the resolution — meets the prior's training peak (automaticFluxScale); the
 * scale is then raised where needed so that the brightest CLEAN component lands within PEAK_RATIO × that peak
 * (boundByBrightest: a compact core inside the training images' range, whatever the field's size).
 */
export function imagePlaneFlux(
  prior: Awaited<ReturnType<typeof resolvePrior>>,
  vis: Visibilities,
  A: ReturnType<typeof chooseMeasurement>,
  big: Float64Array,
  beam: RestoringBeam,
  grid: ImageGrid,
  given: number | null,
): FluxChoice {
  if (given !== null) return { value: given, source: 'given (--flux-scale)' };
  if (prior.peak === null) return { value: 1, source: `default 1: ${prior.kind} priors are defined in data units` };
  let sw = 0;
  for (const w of vis.weight) sw += w;
  const noise = 1 / Math.sqrt(sw);
  const r = clean(A, vis.re, vis.im, vis.weight, big, { method: 'hogbom', niter: 2000, gain: 0.1, threshold: 3 * noise });
  const restored = restore(r.model, r.residual, beam, grid);
  const area = (Math.PI * (beam.bmaj * 3600) * (beam.bmin * 3600)) / (4 * Math.LN2) / (grid.cell / ARCSEC) ** 2;
  const perPixel = Float32Array.from(restored, (v) => v / area);
  const f = automaticFluxScale(perPixel, prior.peak, prior.background);
  const source = `${f.source}; image plane: the CLEAN image restored with the fitted beam, per pixel (beam area ${area.toFixed(1)} pixels)`;
  // the brightest CLEAN component no brighter than the training images' peaks (src-shared/radio/flux-scale.ts)
  const top = brightest(r.model);
  const b = boundByBrightest(f.value, top, prior.peak);
  if (!b.raised) return { ...f, source };
  const sky = f.reference?.background ?? null;
  const background = f.background && sky !== null && prior.background !== null ? sky - b.value * prior.background : f.background;
  return {
    ...f,
    value: b.value,
    ...(background !== undefined ? { background } : {}),
    source:
      `${source}; raised from ${f.value.toPrecision(4)} so that the brightest CLEAN component (${top.toPrecision(4)} Jy/pixel) lands at ` +
      `${PEAK_RATIO} × the prior's ${prior.peak.toPrecision(4)}, the largest peak-to-percentile ratio of the radio prior's training images`,
  };
}

/**
 * report.json's `image.sourceExtent`: the survey (src-shared/radio/field.ts) — its CLEAN, the residual's noise σ_r,
 * the islands and the components kept and left out — the amplitudes' fall-off, and which rule set the extent.
 */
export function sourceExtentReport(e: SourceExtent): Record<string, unknown> {
  return {
    rule: e.rule,
    unresolved: e.unresolved,
    radiusArcsec: e.radius / ARCSEC,
    cleanFluxJy: e.flux,
    components: e.components,
    componentsKept: e.components - e.dropped,
    componentsLeftOut: e.dropped,
    leftOutFluxJy: e.droppedFlux,
    smallIslands: e.smallIslands,
    smallIslandsFluxJy: e.smallFlux,
    iterations: e.iterations,
    converged: e.converged,
    noiseJyPerBeam: e.noise,
    islands: e.islands,
    negativeIslands: e.negativeIslands,
    negativeIslandShare: e.negativeShare,
    shortBaselineFluxJy: e.amplitude.shortFlux,
    shortBaselineNoiseJy: e.amplitude.shortNoise,
    shortBaselineVisibilities: e.amplitude.shortCount,
    halfAmplitudeUvWavelengths: e.amplitude.halfUv,
    amplitudeFwhmArcsec: e.amplitude.fwhm / ARCSEC,
    amplitudeResolved: e.amplitude.resolved,
    surveySize: e.grid.nx,
    surveyCellArcsec: e.grid.cell / ARCSEC,
  };
}

/**
 * χ² per real degree of freedom and the normalised residual dirty image of the data's visibilities alone, exact in
 * float64 through A: what the report gives where the likelihood also holds the zero-spacing pseudo-visibility.
 */
function dataOnlyFit(vis: WeightedVisibilities, A: ReturnType<typeof chooseMeasurement>): { chi2(x: Float32Array): number; residual(x: Float32Array): Float32Array; dof: number } {
  const used = usedOnly(vis);
  const exact = exactEvaluations(used, used === vis ? A : chooseMeasurement(used.u, used.v, A.grid));
  let sw = 0;
  for (const w of used.weight) sw += w;
  const dof = 2 * used.u.length;
  const s = 1 / Math.sqrt(sw);
  return { chi2: (x) => exact.chi2(x) / dof, residual: (x) => Float32Array.from(exact.residualImage(x), (r) => r * s), dof };
}
