import path from 'node:path';
import type { SelfcalStart } from '../../../src-shared/radio/selfcal.js';
import type { Command } from '../command.js';
import { parse, requireString, optionalString, numberFlag, type Parsed } from '../args.js';
import { UsageError } from '../errors.js';
import { checkOutputFolder, readInputFile, writeProductSet } from '../../io.js';
import { initBackend } from '../../engine/backend.js';
import { nodeForwardModelLoader, readImage2d, readImage2dArg, readNoiseInput, splitHduSelector } from '../../forward-model-files.js';
import { parseForwardModel, type NoiseSpec } from '../../../src-shared/operators/forward-model-spec.js';
import { PRODUCT_NAMES, prepareReconstruction, reconstructionFiles, runReconstruction, type ModelInput, type ObservationInput, type PreparedReconstruction, type ReconstructionInputs, type ReconstructionRun } from '../../reconstruct/index.js';
import { backendFlag } from './forward.js';
import { reconstructVisibilities } from '../../reconstruct/visibilities.js';
import { SCORE_ENGINE_OPTIONS, SCORE_ENGINE_USAGE, scoreEngineFlags } from '../score-engine.js';
import { lensCovarianceFromFile, runLensGibbs } from '../../reconstruct/lens-gibbs.js';
import type { SamplingProgress } from '../../../src-shared/diffusion/posterior.js';
import type { NoiseInput } from '../../reconstruct/prepare.js';
import { isNoiseModelKind, NOISE_MODEL_NAMES, type NoiseModelKind } from '../../../src-shared/noise/model.js';
import { buildNoiseModel, readNoisePriorFolder } from '../../reconstruct/noise.js';
import { parsePixelBox, type PixelBox } from '../../../src-shared/noise/spectrum.js';
import type { NoiseDiagnostics } from '../../../src-shared/noise/diagnostics.js';
import {
  DEFAULT_SAMPLER,
  DEFAULT_STEPS,
  MAX_BATCH,
  MAX_STEPS,
  MAX_WORKERS,
  MAX_CORRECTOR_STEPS,
  RUN_OPTION_RANGES,
  SAMPLERS,
  SAMPLER_INFO,
  defaultBatch,
  isDenoiseMode,
  isSamplerName,
  type RunOptions,
  type SamplerName,
} from '../../../src-shared/diffusion/samplers/spec.js';

const usage = `usage: skyscore reconstruct --obs Y.fits --model M.json --prior P --noise SIGMA|NOISE.fits --out DIR
                            [--noise-model white|sigma-map|correlated|poisson-gaussian|learned] [--noise-region x0,y0,x1,y1]
                            [--noise-image N.fits] [--gain G] [--read-noise R] [--sky S] [--noise-prior DIR]
                            [--n N] [--steps K] [--seed S] [--sampler pc|em|ald|ula|dps] [--flux-scale F]
                            [--backend B] [--workers W] [--batch B] [--hdu H] [--snr R] [--correctors K] [--step-size D] [--zeta Z] [--denoise draw|mean|none] [--no-rao-blackwell] [--symmetrise] [--quiet]
                            [--sample-lens LENS.json [--gibbs G] [--gibbs-burn B] [--lens-steps K]]
                            [--score-engine auto|onnx|tfjs] [--onnx-provider P] [--onnx-threads T]
       skyscore reconstruct --vis FILE.uvfits --prior P --out DIR [--size N] [--cell ARCSEC] [--stokes P] [--source NAME] [--reweight] [--workers W] [the sampler flags]
                            [--selfcal p|ap [--selfcal-rounds R] [--solint SECONDS] [--selfcal-start auto|point|clean|closure]]
                            [--total-flux JY[:SIGMA]|none] [--likelihood visibilities|closure [--total-flux JY]]

Draws N samples of the posterior p(x | y) for data y = A x + n (A from M.json, n Gaussian with σ = NOISE)
with a score-based prior, and writes into DIR:
  posterior-mean.fits     the posterior mean                 (data units, the unknown's grid)
  posterior-std.fits      the samples' standard deviation (N − 1)
  posterior-samples.fits  the samples, a cube with NAXIS3 = N
  residual.fits           (y − A·mean)/σ on the data grid (NaN where masked)
  report.json             chi2PerPixel, n, steps, sampler, backend, seconds, scoreEvaluations, seed, versions, …
Each FITS header carries the observation's WCS (where the grid is the observation's), the cards SKYPRIOR,
SKYSAMP, SKYSTEPS, SKYSEED, SKYNSAMP, SKYNOISE, SKYFLUX, SKYBKG, SKYCHI2, SKYMODEL (the model's sha256) and
SKYSCORE PRIOR SHA256, and HISTORY with the command, prior, model hash, sampler, steps, seed and version — the
same as the app's products. A seed gives the same samples on a given backend, whatever --batch and --workers.

  --obs Y.fits        the data (--hdu H or Y.fits[SCI]: its HDU, by number or EXTNAME[,EXTVER]); NaN/infinite
                      pixels are masked (and said so)
  --model M.json      the forward model; its output shape must be the data's
  --prior P           a model folder (models/galaxy-64), a shipped or trained prior's name (galaxy-64,
                      radio-64; a folder of that name in the working directory comes first) or
                      gaussian-field:PK.fits (power spectrum, numpy fft2 layout, path relative to the
                      working directory). A Gaussian field describes its own size
                      only; a U-Net (fully convolutional) runs on an unknown of another size too, of at least
                      its down-sampling factor, padded by reflection where needed, with a note
  --noise SIGMA       σ > 0, or a FITS map of σ per pixel (NaN marks a pixel unusable). Without --noise and
                      the flags below, M.json's noise block (docs/forward-models.md) gives the noise model
  --noise-model M     white (one σ: --noise SIGMA), sigma-map (--noise NOISE.fits; these two are the default
                      for --noise), correlated (stationary correlated noise, its power spectrum measured from
                      --noise-region or --noise-image; --noise optional: σ or a σ map multiplying it, default
                      the measured σ), poisson-gaussian (counts: σ² = max(μ + sky, 0)/gain + (rn/gain)² at the
                      data's 3×3 box mean μ; --gain, --read-noise, --sky; no --noise), learned (a learned
                      noise prior of any density, --noise-prior; no --noise). docs/forward-models.md
  --noise-region B    correlated: a blank-sky box of the observation, x0,y0,x1,y1 (0-based pixels, x1 and y1
                      exclusive, at least 8×8; 32×32 tiles or fewer are averaged). learned: optional, the
                      noise's spectrum for the likelihood's Gaussian part (the network gives the departure from it)
  --noise-image F     correlated (and learned, as --noise-region): a noise-only FITS image instead (any size of
                      at least 8×8)
  --gain G            poisson-gaussian: e⁻ per ADU (default: the header's GAIN, CCDGAIN or ATODGAIN; 1 when
                      BUNIT is ELECTRONS)
  --read-noise R      poisson-gaussian: read noise in e⁻ (required)
  --sky S             poisson-gaussian: a sky level (ADU) already subtracted from the data, added back for the
                      shot noise (default 0)
  --noise-prior DIR   learned: a noise prior made by skyscore train --kind noise from noise-only images or
                      blank-sky cutouts in the data's units; the likelihood is −Aᵀ s_Q(y − A x) with the noise
                      network at the sampler's level σ·√mean(diag A Aᵀ) (exact for A = I), χ² uses the noise's
                      empirical σ (docs/sampling.md, A learned noise prior)
  --out DIR           output folder: created, or one holding a previous run's products, which the new set
                      replaces as a whole (written beside it, then renamed into place); it must not hold any
                      input (the data, M.json and its files, the σ map, the prior)
  --n N               number of samples (default 16)
  --steps K           sampler steps (default: pc ${DEFAULT_STEPS.pc}, em ${DEFAULT_STEPS.em}, ald ${DEFAULT_STEPS.ald}, ula ${DEFAULT_STEPS.ula}, dps ${DEFAULT_STEPS.dps})
  --seed S            non-negative integer (default 0)
  --sampler S         pc (default: reverse diffusion + one Langevin corrector step per level, snr 0.16),
                      em (Euler–Maruyama, predictor only), ald (annealed Langevin), ula (Langevin at a
                      fixed σ), dps (diffusion posterior sampling: not calibrated)
  --flux-scale F      data units per prior unit: the image is x = F·x_prior + F·offset/scale (model.json's
                      normalisation x_prior = (x_train − offset)/scale). Default for a learned prior: the
                      99.5th percentile of the data divided by the median one of the prior's training
                      images (model.json data.peakPrior, else 1); where model.json records the training
                      images' sky (data.backgroundPrior), sky is matched to sky as well: F = (q − B)/(peak −
                      b) and an offset B − F·b is added (q, B: the data's 99.5th percentile and
                      sigma-clipped median), so background-subtracted data meet the prior at its own sky;
                      report.json fluxScale.background, FITS SKYBKG. q and B are read from the data less
                      the model's additive image; from M.json's fluxReference where it has one; for a model
                      with a lens stage and none, from the data back-projected onto the source grid
                      (sharpened by three van Cittert iterations)
                      (report.json fluxScale.reference). For gaussian-field: 1 (its spectrum is in data
                      units). A given F adds no offset
  --backend B         auto (default), tensorflow, webgpu, wasm or cpu
  --workers W         worker threads sharing the chains, 1..${MAX_WORKERS} (default on the wasm and cpu backends:
                      one per CPU core, at most N and 4, for a learned prior or N·steps·pixels ≥ 10⁷, else 1;
                      1 on a GPU). Each chain has its own random stream: the samples do not depend on W (up
                      to float32 rounding)
  --batch B           chains evaluated together per worker, 1..${MAX_BATCH} (default min(N, 16))
  --snr R             Langevin step signal-to-noise ratio (pc, ald; default 0.16, at most ${RUN_OPTION_RANGES.snr.max})
  --correctors K      Langevin corrector steps per noise level (pc; default 1, 0..${MAX_CORRECTOR_STEPS}): each adds one
                      score evaluation per level; more steps bring each level nearer its equilibrium
  --step-size D       ula's step (default 0.05/λmax of the posterior score's Jacobian)
  --zeta Z            dps step scale (default 1)
  --denoise M         how the chains end (pc, em, ald, dps at σmin; ula at its σ when above 0): draw (default)
                      a second-order Tweedie draw with the prior's score, x + σ² s plus noise with the diagonal
                      of σ²(I + σ² ∇s) (16 more score evaluations per chain), then conditioned on the data with
                      the exact likelihood, so that data more precise than σ are fitted to their noise; mean the
                      conditioned Tweedie mean alone (intervals slightly narrow); none the raw draws (slightly
                      wide, not fitted below σ). The posterior mean product is the same for all three
                      (docs/sampling.md)
  --no-denoise        the same as --denoise none
  --no-rao-blackwell  posterior-mean.fits is the mean of the draws. By default (pc, em, ald) it averages
                      Tweedie's estimate E[x₀ | x_σ, y] over every score evaluation of the last levels, where
                      σ² A Aᵀ ≤ Σ: the same expectation with less Monte Carlo noise (docs/sampling.md); the
                      samples and the standard deviation are the draws' either way
  --symmetrise        use an image prior's score through one of its flips/rotations per noise level (the
                      group its training augmented with; all 8 if it declares none): the chains follow the
                      group-averaged score at no extra cost (docs/sampling.md)
  --quiet             no progress lines
  --sample-lens LENS.json  sample the lens's mass parameters with the source (a model lens [→ psf] [→ mask],
                      white or σ-map noise): Metropolis-within-Gibbs, G iterations (--gibbs, default 20) of a
                      source draw from the diffusion posterior at the current lens (the sampler above, one chain,
                      --steps steps) then K random-walk Metropolis steps on the lens given that source (--lens-steps,
                      default 20), the proposal covariance from LENS.json's covariance (skyscore lens-fit's), its scale
                      adapted during the first B iterations (--gibbs-burn, default G/4) and dropped with them. The
                      products are the G − B kept source draws (the residual at the lens posterior's mean); report.json's
                      lensPosterior has the lens chain, its mean, standard deviation and acceptance rate. The source step
                      is the diffusion posterior, an approximation of the exact conditional (docs/lensing.md)
${SCORE_ENGINE_USAGE}

From visibilities (--vis FILE.uvfits; docs/radio.md): the data are the calibrated visibilities (Stokes I from
the parallel hands, or --stokes P; flagged ones left out; every channel and IF at its own (u, v)), the noise is
complex Gaussian with the data weights as 1/σ² of each part (checked against the scatter of successive
visibilities, and said so; --reweight rescales the weights to that scatter), and the likelihood is exact (the
normal equations: the weighted dirty image and the dirty beam's Toeplitz convolution). The image is N × N at the
phase centre, SIN projection; unless given (--size N, --cell ARCSEC) the grid holds twice the source's extent
(99 % of the flux of a Högbom CLEAN's components in the islands of its image detected at 5σ of the residual's
noise) at 1/(2.5·u_max) per pixel, 64 to 256 pixels a side. The automatic flux scale is taken in the image
plane (a CLEAN image restored with the fitted beam, per pixel; the brightest CLEAN component at most 15 × the
prior's typical 99.5th percentile). Products as above, in Jy/pixel with the restoring beam's BMAJ/BMIN/BPA; residual.fits is the residual
dirty image Re(Aᴴ W (y − A·mean)) over its noise (N(0, 1) per pixel for a model within the noise); report.json
gives chi2PerVisibility (per real degree of freedom, two per visibility) of the mean and of every sample, and
the weights' thermal check. Runs on the wasm or cpu backend, its chains over --workers W threads as above (the
dirty image and the beam made once and shared with them; the prior's network runs on its score engine: ONNX
Runtime's threads or GPU); each chain's conjugate gradients stop at its own tolerance, so the samples do not
depend on W (up to float32 rounding, as above).
--total-flux JY[:SIGMA]|none: the total flux in the field, a pseudo-visibility JY + 0i at zero spacing with σ SIGMA
(default 5 % of JY), as VLBI imagers' zero-baseline flux. No baseline measures the scales beyond about 1/u_min, so
on a field larger than that the prior alone sets them, and a posterior can hold a broad bowl no visibility sees.
By default, where the survey detects emission (it runs for this alone when --size and --cell are given), it is its CLEAN's
flux F with σ = √((0.05 F)² + (F − S)²), S the shortest baselines' amplitude (the flux they already miss is the
size of CLEAN's extrapolation to zero spacing); none leaves it out. Its χ² is reported apart (report.json's
zeroSpacing), not in chi2PerVisibility; HISTORY gives it as --total-flux F:SIGMA.
--selfcal p|ap self-calibrates the visibilities first (docs/radio.md, Self-calibration), for data whose station
phases (p) or gains (ap: phases in round 1, then amplitudes and phases) are not calibrated: R rounds (default 3) of
a CLEAN on the grid the raw data give (natural weights, Cotton–Schwab, at most 5000 iterations to 3 × the weights'
noise), antenna gains per time stamp (or per --solint SECONDS) solved against its model and applied; the first
round's model is the CLEAN of the raw data (--selfcal-start clean), a point source at the phase centre (point), the
closure image of the raw data (closure: a regularised maximum-likelihood image of the closure phases and log closure
amplitudes, which no station gain changes; a start model only — the posterior's likelihood stays the visibilities'), or
(auto, default) that CLEAN where its model fits the raw data to χ²/dof ≤ 10, else the point. The posterior is then of the corrected visibilities: report.json's selfcal gives every round's figures,
HISTORY the flags. Closure quantities are unchanged by it; the absolute position and any structure the closures
do not fix come from the model it converged to.
--likelihood closure samples the posterior given the data's closure quantities instead of their complex
visibilities (docs/radio.md, The posterior from closure quantities): closure phases and log closure amplitudes of
non-redundant sets per time stamp, their σ by first-order propagation of the weights — a likelihood no station gain,
in amplitude or phase, changes, for VLBI data whose stations are not calibrated (no --selfcal with it). The total
flux, which closures do not carry, is a pseudo-datum at the shortest baselines' amplitude ± 5 % (--total-flux JY
sets it), and the flux centroid one at the phase centre ± 1 pixel (closure phases do not fix the position).
The draws end fitted to the closures: each chain's estimate recentred, then the mode of the closures' likelihood
about it with σmin widened (×2 a step, at most ×32) until the closures fit to χ² 1 per closure (a draw to 1.1).
A model visibility below a tenth of its datum's thermal σ enters the closures as the data could show it (its
amplitude raised smoothly to a floor, its phase's weight shrinking), so no draw is held at a null, where a closure
phase is free.
report.json's chi2PerClosure gives χ² per closure of the mean and of every sample, with closure phases and log
closure amplitudes apart (meanParts, sampleParts), the flux and centroid of each, the widening of each (ending),
each draw's smallest model amplitude against its datum's (lowModelAmplitudes; a warning below 0.001 of it) and the
draws' mean after aligning each to the first by cross-correlation (alignedMean).
Data where no three stations observe at one time stamp are refused (a log closure amplitude needs four). The chains
run in one thread; the samplers pc, em, ald and ula (not dps).`;

/** The sampler options of the flags (reconstruct, sample), in the ranges the app's protocol accepts too (samplers/spec.ts). */
export function samplerOptions(p: Parsed, command: string): RunOptions {
  const o: RunOptions = {};
  if (p.values.snr !== undefined) o.snr = numberFlag(p, 'snr', command, { positive: true, max: RUN_OPTION_RANGES.snr.max });
  if (p.values.correctors !== undefined) o.correctorSteps = numberFlag(p, 'correctors', command, { integer: true, min: 0, max: MAX_CORRECTOR_STEPS });
  if (p.values['step-size'] !== undefined) o.stepSize = numberFlag(p, 'step-size', command, { positive: true, max: RUN_OPTION_RANGES.stepSize.max });
  if (p.values.zeta !== undefined) o.zeta = numberFlag(p, 'zeta', command, { positive: true, max: RUN_OPTION_RANGES.zeta.max });
  const denoise = optionalString(p, 'denoise');
  if (denoise !== undefined) {
    if (!isDenoiseMode(denoise)) throw new UsageError(`${command}: --denoise must be mean, draw or none, got '${denoise}'`);
    if (p.values['no-denoise'] === true && denoise !== 'none') throw new UsageError(`${command}: --no-denoise contradicts --denoise ${denoise}`);
    o.denoise = denoise;
  }
  if (p.values['no-denoise'] === true) o.denoise = 'none';
  if (p.values['no-rao-blackwell'] === true) o.raoBlackwell = false;
  if (p.values.symmetrise === true) o.symmetrise = true;
  return o;
}

export function samplerFlag(p: Parsed, command: string): SamplerName {
  const s = optionalString(p, 'sampler') ?? DEFAULT_SAMPLER;
  if (!isSamplerName(s)) throw new UsageError(`${command}: --sampler must be one of ${SAMPLERS.join(', ')}, got '${s}'`);
  return s;
}

/**
 * Progress on stderr: rewritten in place on a terminal (every 0.5 s), else one line every 10 s. `chi2Label` names
 * what the progress's χ² is per (pixel; visibility degree of freedom; closure).
 */
export function progressPrinter(command: string, quiet: boolean, chi2Label = 'χ²/px'): (p: Pick<SamplingProgress, 'step' | 'steps' | 'sigma' | 'chi2' | 'elapsedS' | 'etaS'>) => void {
  const tty = process.stderr.isTTY === true;
  let last = tty ? -Infinity : Date.now();
  let doneShown = false;
  return (p) => {
    if (quiet) return;
    const now = Date.now();
    const done = p.step === p.steps;
    // the last step is reported again after the chains' final denoising step: its line once
    if (done && doneShown) return;
    if (!done && now - last < (tty ? 500 : 10000)) return;
    last = now;
    doneShown = done;
    const chi = p.chi2 !== null ? `  ${chi2Label} ${p.chi2.toPrecision(4)}` : '';
    const eta = p.etaS !== null && !done ? `  eta ${Math.round(p.etaS)} s` : '';
    const line = `${command}: step ${p.step}/${p.steps}  σ ${p.sigma.toPrecision(3)}${chi}  ${p.elapsedS.toFixed(1)} s${eta}`;
    process.stderr.write(tty ? `\r${line}\x1b[K${done ? '\n' : ''}` : `${line}\n`);
  };
}

/** What evaluates the prior's network, in a few words. */
function engineText(e: PreparedReconstruction['engine'], backend: string): string {
  if (e.engine !== 'onnx') return `tfjs (${backend})`;
  return `ONNX Runtime ${e.onnxruntime ?? ''} (${e.provider}${e.threads ? `, ${e.threads} thread${e.threads > 1 ? 's' : ''}${e.workers ? ' per worker' : ''}` : ''}, ${e.device})`;
}

/** The observation as the reconstruction service takes it, read from a FITS file. */
export async function observationFile(file: string, hdu?: number): Promise<ObservationInput> {
  // FILE.fits[SCI] names the HDU as lens-fit's arguments do (HST's multi-extension products)
  const img = await readImage2dArg(file, hdu);
  return { data: img.data, shape: img.shape, fitsShape: img.fitsShape, header: img.header, name: path.basename(img.file), path: path.resolve(img.file), hdu: img.hdu ?? 0, plane: 0 };
}

/** M.json from disk, its files read relative to it; `paths()` lists M.json and the files read so far. */
export async function modelFile(file: string): Promise<ModelInput & { paths(): string[] }> {
  const json = await readInputFile(file);
  const loader = nodeForwardModelLoader(path.dirname(path.resolve(file)));
  return { json, name: path.basename(file), path: path.resolve(file), loader, filesRead: () => loader.files.map((f) => f.bytes), paths: () => [path.resolve(file), ...loader.files.map((f) => f.path)] };
}

/** The noise-model flags (--noise-model and the flags of the correlated and Poisson–Gaussian models), or null when none is given. */
export interface NoiseModelFlags {
  model?: NoiseModelKind;
  region?: PixelBox;
  image?: string;
  gain?: number;
  readNoise?: number;
  sky?: number;
  /** learned: the noise prior's folder. */
  prior?: string;
}

export function noiseModelFlags(p: Parsed, cmd: string): NoiseModelFlags | null {
  const model = optionalString(p, 'noise-model');
  const region = optionalString(p, 'noise-region');
  const image = optionalString(p, 'noise-image');
  const num = (k: 'gain' | 'read-noise' | 'sky', positive: boolean) => (p.values[k] === undefined ? undefined : numberFlag(p, k, cmd, positive ? { positive: true } : {}));
  const f: NoiseModelFlags = { region: region === undefined ? undefined : parsePixelBox(region, `${cmd}: --noise-region`), image, gain: num('gain', true), readNoise: num('read-noise', true), sky: num('sky', false), prior: optionalString(p, 'noise-prior') };
  if (model !== undefined) {
    if (!isNoiseModelKind(model)) throw new UsageError(`${cmd}: --noise-model must be one of ${NOISE_MODEL_NAMES.join(', ')}, got '${model}'`);
    f.model = model;
  } else if (f.prior !== undefined) f.model = 'learned';
  else if (region !== undefined || image !== undefined) f.model = 'correlated';
  else if (f.gain !== undefined || f.readNoise !== undefined || f.sky !== undefined) f.model = 'poisson-gaussian';
  if (f.model === 'learned' && f.prior === undefined) throw new UsageError(`${cmd}: --noise-model learned needs --noise-prior DIR (a folder made by skyscore train --kind noise)`);
  if (f.prior !== undefined && f.model !== 'learned') throw new UsageError(`${cmd}: --noise-prior is for --noise-model learned, not ${f.model}`);
  return f.model === undefined ? null : f;
}

/**
 * The noise model of the flags (or of M.json's noise block, `fromModel`): the block the app's requests carry too,
 * built by the reconstruction service's one construction (reconstruct/noise.ts), with the flags that reproduce it.
 * `dir`: where the block's files are (M.json's folder; the working folder for flags).
 */
async function noiseModelInput(f: NoiseModelFlags, noiseArg: string | undefined, obs: ObservationInput, cmd: string, fromModel?: string, dir = '.'): Promise<NoiseInput> {
  const r = f.region;
  const spec: NoiseSpec = { model: f.model ?? 'white' };
  if (noiseArg !== undefined) {
    if (readsFile(noiseArg)) spec.sigmaFits = noiseArg;
    else spec.sigma = ((await readNoiseInput(noiseArg, '--noise', cmd)) as { sigma: number }).sigma;
  }
  if (r) spec.region = [r.x0, r.y0, r.x1, r.y1];
  if (f.image !== undefined) spec.image = f.image;
  if (f.gain !== undefined) spec.gain = f.gain;
  if (f.readNoise !== undefined) spec.readNoise = f.readNoise;
  if (f.sky !== undefined) spec.sky = f.sky;
  if (f.prior !== undefined) spec.prior = f.prior;
  const read = async (file: string) => {
    const at = path.resolve(dir, file);
    const img = await readImage2d(at);
    return { data: img.data, shape: img.shape, name: fromModel ? at : file };
  };
  const readPrior = (ref: string) => readNoisePriorFolder(path.resolve(dir, ref), fromModel ? path.resolve(dir, ref) : ref);
  const { built, flags } = await buildNoiseModel(spec, read, obs, readPrior);
  for (const note of built.notes) process.stderr.write(`skyscore: note: ${note}${fromModel ? ` ${fromModel}` : ''}\n`);
  // the command line that reproduces the run: the flags (M.json's noise block reproduces itself)
  return { kind: 'model', built, command: fromModel ? '' : ` ${flags}` };
}

/** Whether a --noise argument names a file (a σ map) rather than giving σ. */
const readsFile = (arg: string) => !Number.isFinite(Number(arg)) || arg.trim() === '';

/** The file or folder a prior spec reads (none for an analytic density). */
export function priorPath(spec: string): string[] {
  if (spec.startsWith('analytic:')) return [];
  return [spec.startsWith('gaussian-field:') ? spec.slice('gaussian-field:'.length) : spec];
}

/**
 * Runs the reconstruction service and writes its products into `outDir` as one set (writeProductSet: a
 * temporary folder beside it renamed into place), with notes and progress on stderr and a summary on stdout.
 * `inputs()` lists every file the run reads (asked once the inputs are read): `outDir` must hold none of them.
 */
export async function reconstructToFolder(
  cmd: string,
  inputs: ReconstructionInputs,
  outDir: string,
  quiet: boolean,
  inputPaths: () => string[],
  /** joint lens–source sampling (--sample-lens): lens.json's path and the Gibbs sampler's settings */
  sampleLens?: { file: string; iterations: number; burn: number; lensSteps: number },
): Promise<ReconstructionRun> {
  // the Gibbs sampler's lens steps ray-shoot the whole grid: its model is not cropped to the mask's window
  const prep = await prepareReconstruction(sampleLens ? { ...inputs, crop: false } : inputs);
  try {
    await checkOutputFolder(outDir, inputPaths(), cmd, PRODUCT_NAMES);
    for (const w of prep.warnings) process.stderr.write(`skyscore: note: ${w}\n`);
    const s = prep.settings;
    if (!quiet) {
      const sde = prep.prior.sde;
      process.stderr.write(
        `${cmd}: ${s.n} samples × ${s.steps} ${s.sampler} steps, prior ${prep.prior.name} (σ ${sde.sigmaMin.toPrecision(3)}…${sde.sigmaMax.toPrecision(3)}), ` +
          `A = ${prep.model.built.operator.name}, flux scale ${prep.flux.value.toPrecision(6)}, backend ${prep.backend.backend}, ${s.workers} worker${s.workers > 1 ? 's' : ''}; ` +
          `score engine ${engineText(prep.engine, prep.backend.backend)}; likelihood: ${prep.likelihood.description}\n`,
      );
    }
    let run: ReconstructionRun;
    if (sampleLens) {
      const epl = prep.model.prepared.spec.operators.some((o) => o.type === 'lens' && o.lens.model === 'EPL');
      const covariance = lensCovarianceFromFile(sampleLens.file, epl);
      const gibbs = progressPrinter(`${cmd} (Gibbs iteration)`, quiet);
      run = await runLensGibbs(prep, { ...sampleLens, covariance, covarianceSource: path.basename(sampleLens.file) }, { onProgress: gibbs });
      const lp = run.report.lensPosterior as { names: string[]; mean: number[]; std: number[]; acceptanceRate: number };
      if (!quiet) process.stderr.write(`${cmd}: lens posterior ${lp.names.map((k, i) => `${k} ${lp.mean[i].toPrecision(5)} ± ${lp.std[i].toPrecision(2)}`).join(', ')}; acceptance ${lp.acceptanceRate.toFixed(2)}\n`);
    } else run = await runReconstruction(prep, { onProgress: progressPrinter(cmd, quiet), onNote: quiet ? undefined : (line) => process.stderr.write(`${cmd}: ${line}\n`) });
    // each warning once: those of the preparation were printed before the run
    const printed = new Set(prep.warnings);
    const warn = (w: string) => {
      if (printed.has(w)) return;
      printed.add(w);
      process.stderr.write(`skyscore: warning: ${w}\n`);
    };
    // what the run's diagnostics found (report.json's diagnostics): convergence, χ² against its range, local misfit
    for (const w of run.report.warnings as string[]) warn(w);
    await writeProductSet(outDir, reconstructionFiles(run));
    const diag = run.report.noiseDiagnostics as NoiseDiagnostics | undefined;
    for (const w of diag?.warnings ?? []) warn(w);
    process.stdout.write(
      `${cmd}: wrote ${outDir}/{posterior-mean,posterior-std,posterior-samples,residual}.fits and report.json: ` +
        `χ²/pixel of the mean ${run.products.chi2PerPixel?.toFixed(4)}, ${run.result.seconds.toFixed(1)} s, ${run.result.scoreEvaluations} score evaluations, backend ${prep.backend.backend}\n`,
    );
    return run;
  } finally {
    prep.dispose();
  }
}

/** The run's flags shared by both inputs (images, visibilities): sampler, samples, steps, seed, batch, flux scale. */
function runFlags(p: Parsed, cmd: string): { sampler: SamplerName; n: number; steps: number; seed: number; batch: number; fluxScale: number | null } {
  const sampler = samplerFlag(p, cmd);
  const n = numberFlag(p, 'n', cmd, { default: 16, integer: true, min: 1, max: 100000 });
  const steps = numberFlag(p, 'steps', cmd, { default: DEFAULT_STEPS[sampler], integer: true, min: SAMPLER_INFO[sampler].minSteps, max: MAX_STEPS });
  const seed = numberFlag(p, 'seed', cmd, { default: 0, integer: true, min: 0, max: Number.MAX_SAFE_INTEGER });
  const batch = numberFlag(p, 'batch', cmd, { default: defaultBatch(n), integer: true, min: 1, max: MAX_BATCH });
  const fluxScale = p.values['flux-scale'] === undefined ? null : numberFlag(p, 'flux-scale', cmd, { positive: true });
  return { sampler, n, steps, seed, batch, fluxScale };
}

/** --selfcal p|ap and its settings (absent without --selfcal; its settings alone are refused). */
function selfcalFlagsOf(p: Parsed, cmd: string): { mode: 'p' | 'ap'; rounds: number; solint: number; start: SelfcalStart } | undefined {
  const mode = optionalString(p, 'selfcal');
  if (mode === undefined) {
    for (const f of ['selfcal-rounds', 'solint', 'selfcal-start'] as const) if (p.values[f] !== undefined) throw new UsageError(`${cmd}: --${f} applies with --selfcal only`);
    return undefined;
  }
  if (mode !== 'p' && mode !== 'ap') throw new UsageError(`${cmd}: --selfcal must be p or ap, got '${mode}'`);
  const rounds = numberFlag(p, 'selfcal-rounds', cmd, { default: 3, integer: true, min: 1, max: 50 });
  const solint = numberFlag(p, 'solint', cmd, { default: 0, min: 0 });
  const start = optionalString(p, 'selfcal-start') ?? 'auto';
  if (start !== 'auto' && start !== 'clean' && start !== 'point' && start !== 'closure') throw new UsageError(`${cmd}: --selfcal-start must be auto, point, clean or closure, got '${start}'`);
  return { mode, rounds, solint, start };
}

/** `reconstruct --vis FILE.uvfits`: the posterior from visibilities (src-main/reconstruct/visibilities.ts). */
async function reconstructFromVisibilities(p: Parsed, cmd: string, argv: readonly string[]): Promise<number> {
  for (const f of ['obs', 'model', 'noise', 'noise-prior', 'hdu'] as const) {
    if (p.values[f] !== undefined) throw new UsageError(`${cmd}: --${f} does not apply to --vis (the visibilities, their weights and (u, v) are the data, the noise and the model)`);
  }
  const visPath = requireString(p, 'vis', cmd);
  const prior = requireString(p, 'prior', cmd);
  const outDir = requireString(p, 'out', cmd);
  const { sampler, n, steps, seed, batch, fluxScale } = runFlags(p, cmd);
  const size = p.values.size === undefined ? undefined : numberFlag(p, 'size', cmd, { integer: true, min: 8, max: 2048 });
  const cellArcsec = p.values.cell === undefined ? undefined : numberFlag(p, 'cell', cmd, { positive: true });
  const workers = p.values.workers === undefined ? null : numberFlag(p, 'workers', cmd, { integer: true, min: 1, max: MAX_WORKERS });
  const backend = backendFlag(p, cmd);
  // the visibilities' noise draws of the samplers' ending are read back synchronously: a CPU backend for the
  // image-plane tensors (the prior's network still runs where the score engine puts it)
  if (backend === 'webgpu' || backend === 'tensorflow') throw new UsageError(`${cmd}: --vis runs on the wasm or cpu backend (the score engine may still use the GPU: --onnx-provider), not --backend ${backend}`);
  const quiet = p.values.quiet === true;
  const selfcal = selfcalFlagsOf(p, cmd);
  const likelihood = optionalString(p, 'likelihood') ?? 'visibilities';
  if (likelihood !== 'visibilities' && likelihood !== 'closure') throw new UsageError(`${cmd}: --likelihood must be visibilities or closure, got '${likelihood}'`);
  if (likelihood === 'closure' && selfcal) throw new UsageError(`${cmd}: --likelihood closure needs no --selfcal (closure quantities are unchanged by station gains)`);
  if (likelihood === 'closure' && sampler === 'dps') throw new UsageError(`${cmd}: --likelihood closure does not support --sampler dps (use pc, em, ald or ula)`);
  const totalFlux = p.values['total-flux'] === undefined || likelihood !== 'closure' ? undefined : numberFlag(p, 'total-flux', cmd, { positive: true });
  const zeroSpacing = likelihood === 'closure' ? undefined : zeroSpacingFlag(optionalString(p, 'total-flux'), cmd);
  await checkOutputFolder(outDir, [visPath, ...priorPath(prior)], cmd, PRODUCT_NAMES);
  const r = await reconstructVisibilities(
    {
      vis: visPath,
      stokes: optionalString(p, 'stokes'),
      source: optionalString(p, 'source'),
      size,
      cellArcsec,
      prior,
      settings: { sampler, n, steps, seed, fluxScale, options: samplerOptions(p, cmd), workers, batch },
      scoreEngine: scoreEngineFlags(p, cmd),
      backend: () => initBackend(backend === 'auto' ? 'wasm' : backend),
      command: `reconstruct ${argv.join(' ')}`,
      reweight: p.values.reweight === true,
      ...(selfcal ? { selfcal } : {}),
      ...(likelihood === 'closure' ? { likelihood, ...(totalFlux !== undefined ? { totalFlux } : {}) } : {}),
      ...(zeroSpacing !== undefined ? { zeroSpacing } : {}),
    },
    progressPrinter(cmd, quiet, likelihood === 'closure' ? 'χ²/closure' : 'χ²/vis dof'),
  );
  for (const w of r.notes) process.stderr.write(`skyscore: note: ${w}\n`);
  for (const w of r.warnings) process.stderr.write(`skyscore: warning: ${w}\n`);
  await writeProductSet(outDir, r.files);
  process.stdout.write(`${cmd}: wrote ${outDir}/{posterior-mean,posterior-std,posterior-samples,residual}.fits and report.json: χ² per ${likelihood === 'closure' ? 'closure' : 'visibility degree of freedom'} of the mean ${r.chi2.toFixed(4)}\n`);
  return 0;
}

export const reconstructCommand: Command = {
  name: 'reconstruct',
  summary: 'posterior samples, mean, std and residuals of y = A x + n with a score-based prior',
  usage,
  async run(argv) {
    const cmd = 'reconstruct';
    const p = parse(
      argv,
      {
        obs: { type: 'string' },
        model: { type: 'string' },
        prior: { type: 'string' },
        noise: { type: 'string' },
        'noise-model': { type: 'string' },
        'noise-region': { type: 'string' },
        'noise-image': { type: 'string' },
        'noise-prior': { type: 'string' },
        gain: { type: 'string' },
        'read-noise': { type: 'string' },
        sky: { type: 'string' },
        out: { type: 'string' },
        n: { type: 'string' },
        steps: { type: 'string' },
        seed: { type: 'string' },
        sampler: { type: 'string' },
        'flux-scale': { type: 'string' },
        backend: { type: 'string' },
        batch: { type: 'string' },
        workers: { type: 'string' },
        hdu: { type: 'string' },
        snr: { type: 'string' },
        correctors: { type: 'string' },
        'step-size': { type: 'string' },
        zeta: { type: 'string' },
        'no-denoise': { type: 'boolean' },
        denoise: { type: 'string' },
        'no-rao-blackwell': { type: 'boolean' },
        symmetrise: { type: 'boolean' },
        quiet: { type: 'boolean' },
        vis: { type: 'string' },
        size: { type: 'string' },
        cell: { type: 'string' },
        stokes: { type: 'string' },
        source: { type: 'string' },
        reweight: { type: 'boolean' },
        selfcal: { type: 'string' },
        'selfcal-rounds': { type: 'string' },
        solint: { type: 'string' },
        'selfcal-start': { type: 'string' },
        likelihood: { type: 'string' },
        'total-flux': { type: 'string' },
        'sample-lens': { type: 'string' },
        gibbs: { type: 'string' },
        'gibbs-burn': { type: 'string' },
        'lens-steps': { type: 'string' },
        ...SCORE_ENGINE_OPTIONS,
      },
      cmd,
    );
    if (p.positionals.length) throw new UsageError(`${cmd}: unexpected argument '${p.positionals[0]}'`);
    const sampleLensFile = optionalString(p, 'sample-lens');
    for (const f of ['gibbs', 'gibbs-burn', 'lens-steps'] as const) if (p.values[f] !== undefined && sampleLensFile === undefined) throw new UsageError(`${cmd}: --${f} applies to --sample-lens only`);
    if (sampleLensFile !== undefined && p.values.vis !== undefined) throw new UsageError(`${cmd}: --sample-lens applies to a model with a lens, not to --vis`);
    if (sampleLensFile !== undefined && p.values.n !== undefined) throw new UsageError(`${cmd}: --n does not apply to --sample-lens (the samples are the Gibbs iterations after the burn-in: --gibbs, --gibbs-burn)`);
    if (p.values.vis !== undefined) return reconstructFromVisibilities(p, cmd, argv);
    for (const f of ['size', 'cell', 'stokes', 'source', 'reweight', 'selfcal', 'selfcal-rounds', 'solint', 'selfcal-start', 'likelihood', 'total-flux'] as const) {
      if (p.values[f] !== undefined) throw new UsageError(`${cmd}: --${f} applies to --vis only`);
    }
    const obsPath = requireString(p, 'obs', cmd);
    const modelPath = requireString(p, 'model', cmd);
    const prior = requireString(p, 'prior', cmd);
    const noiseFlags = noiseModelFlags(p, cmd);
    const noiseArg = optionalString(p, 'noise');
    const outDir = requireString(p, 'out', cmd);
    const { sampler, n, steps, seed, batch, fluxScale } = runFlags(p, cmd);
    const workers = p.values.workers === undefined ? null : numberFlag(p, 'workers', cmd, { integer: true, min: 1, max: MAX_WORKERS });
    const hdu = optionalString(p, 'hdu') === undefined ? undefined : numberFlag(p, 'hdu', cmd, { integer: true, min: 0 });
    const backend = backendFlag(p, cmd);
    const options = samplerOptions(p, cmd);
    const quiet = p.values.quiet === true;
    const scoreEngine = scoreEngineFlags(p, cmd);
    // the inputs named on the command line: --out must not hold them (those M.json names are checked once read)
    const named = [splitHduSelector(obsPath).file, modelPath, ...(noiseArg !== undefined && readsFile(noiseArg) ? [noiseArg] : []), ...(noiseFlags?.image ? [noiseFlags.image] : []), ...(noiseFlags?.prior ? [noiseFlags.prior] : []), ...priorPath(prior)];
    await checkOutputFolder(outDir, named, cmd, PRODUCT_NAMES);

    // the files are read here; the service checks every input before any compute starts
    const model = await modelFile(modelPath);
    const observation = await observationFile(obsPath, hdu);
    // the noise: the flags, else M.json's noise block, else --noise is missing
    let noise: NoiseInput;
    if (noiseFlags) noise = await noiseModelInput(noiseFlags, noiseArg, observation, cmd);
    else if (noiseArg !== undefined) noise = await readNoiseInput(noiseArg, '--noise', cmd);
    else {
      const text = typeof model.json === 'string' ? model.json : new TextDecoder().decode(model.json);
      const block = parseForwardModel(text, model.name).noise;
      if (!block) throw new UsageError(`${cmd}: missing --noise (σ, a σ map, or --noise-model; or a noise block in ${model.name})`);
      const dir = path.dirname(path.resolve(modelPath));
      const r = block.region;
      const flags: NoiseModelFlags = { model: block.model, region: r && { x0: r[0], y0: r[1], x1: r[2], y1: r[3] }, image: block.image, gain: block.gain, readNoise: block.readNoise, sky: block.sky, prior: block.prior };
      const sigmaArg = block.sigmaFits ?? (block.sigma !== undefined ? String(block.sigma) : undefined);
      noise = await noiseModelInput(flags, sigmaArg, observation, cmd, `(the noise block of ${model.name})`, dir);
    }
    const inputs: ReconstructionInputs = {
      model,
      observation,
      noise,
      prior,
      settings: { sampler, n, steps, seed, fluxScale, options, workers, batch },
      scoreEngine,
      backend: () => initBackend(backend),
      host: 'cli',
    };
    let sampleLens: { file: string; iterations: number; burn: number; lensSteps: number } | undefined;
    if (sampleLensFile !== undefined) {
      const iterations = numberFlag(p, 'gibbs', cmd, { default: 20, integer: true, min: 2, max: 100000 });
      const burn = numberFlag(p, 'gibbs-burn', cmd, { default: Math.floor(iterations / 4), integer: true, min: 0 });
      if (burn >= iterations) throw new UsageError(`${cmd}: --gibbs-burn must be below --gibbs (${iterations}), got ${burn}`);
      const lensSteps = numberFlag(p, 'lens-steps', cmd, { default: 20, integer: true, min: 1, max: 100000 });
      sampleLens = { file: sampleLensFile, iterations, burn, lensSteps };
      named.push(sampleLensFile);
    }
    await reconstructToFolder(cmd, inputs, outDir, quiet, () => [...named, ...model.paths()], sampleLens);
    return 0;
  },
};

/** --total-flux for the visibility likelihood: JY[:SIGMA] (σ positive; JY may be any finite flux) or none. */
export function zeroSpacingFlag(value: string | undefined, cmd: string): { flux: number; sigma?: number } | 'none' | undefined {
  if (value === undefined) return undefined;
  if (value.trim().toLowerCase() === 'none') return 'none';
  const m = /^\s*([^:]+?)\s*(?::\s*([^:]+?)\s*)?$/.exec(value);
  const flux = m ? Number(m[1]) : NaN;
  const sigma = m && m[2] !== undefined ? Number(m[2]) : undefined;
  if (!m || !Number.isFinite(flux) || (sigma !== undefined && !(Number.isFinite(sigma) && sigma > 0))) {
    throw new UsageError(`${cmd}: --total-flux must be JY, JY:SIGMA (SIGMA > 0) or none, got '${value}'`);
  }
  return sigma === undefined ? { flux } : { flux, sigma };
}
