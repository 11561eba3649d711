/**
 * Posterior sampling: a full reconstruction of a 64×64 deconvolution (Gaussian PSF, FWHM 4 px, white noise) with
 * 16 samples and the default sampler (pc, 500 levels × predictor + corrector = 1000 score evaluations per chain),
 * per CPU backend, through the reconstruction service (src-main/reconstruct/, what skyscore reconstruct and the app
 * run) on one worker and on two worker threads splitting the chains (src-main/sampling/pool.ts).
 *  - with the analytic Gaussian-field prior (models/galaxy-gaussian-64, else a power-law spectrum): run in full;
 *  - with the default U-Net prior architecture (random weights: the cost does not depend on them), and with the
 *    shipped default prior (models/galaxy-64, the network `skyscore demo` and the app use): runs of L and 2L levels
 *    are timed and the full run extrapolated from them (extrapolate below): the per-level cost is constant, but a
 *    run also has a fixed part (the Rao–Blackwell window's power iteration, the draws' ending: 17 score evaluations
 *    per chain for the default second-order Tweedie draw), which a single short run would scale with the levels.
 * GFLOP/s count the matrix products (Gaussian field: its spectral multiplications and the likelihood's Kronecker
 * products; U-Net: convolutions, dense and attention products, unetFlops). `peak` is the best-case kernel of the
 * same backend in the same run, per core, from CPU time (a 512³ matMul for the Gaussian field's matMul-bound
 * path; a 16×64×64×32→32 3×3 convolution for the U-Net), so `shareOfPeak` = (GFLOP/s per busy core) / peak.
 * The goal: 16 calibrated posterior samples of a 64×64 deconvolution in under 5 minutes on 2 cores.
 *
 * galaxy-64 on the default engine and worker plan (ONNX Runtime's CPU provider) side by side with tfjs-wasm
 * (`--filter "galaxy-64 16x500"`, `"galaxy-64 demo"`): 16 samples × 500 levels at 64×64, 128×128 and 256×256 (the
 * U-Net runs on any size), and the demo's problem, each extrapolated from two short runs (the demo on ONNX Runtime
 * timed in full), against its goal (64×64 ≤ 2 min, the demo ≤ 60 s, 256×256 ≤ 30 min); besides the wall-clock time,
 * the CPU time over the cores the plan uses — the time where those cores are free, when the machine is shared. The
 * RSS over a long run (200 score batches per worker), and where a worker's time goes (`"time breakdown"`).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { readAndDispose } from '../../src-shared/diffusion/readback.js';
import type { Bench } from './types.js';
import { convPeak, cpuMs, matmulPeak } from './kernels.js';
import { initBackend, probeBackends } from '../engine/backend.js';
import { writePriorFolder, type PriorMeta } from '../prior-folder.js';
import { resolvePrior, type ResolvedPrior } from '../priors.js';
import { scoreEngineReport, type ScoreEngineOptions } from '../onnx/priors.js';

/** The score on tfjs unless a bench asks for ONNX Runtime (whose bare network figures are in score-engines.ts). */
const TFJS: ScoreEngineOptions = { engine: 'tfjs' };
import { inlineModel, prepareReconstruction, runReconstruction, type ModelInput, type NoiseInput, type PreparedReconstruction } from '../reconstruct/index.js';
import type { BackendInfo, BackendName } from '../../src-shared/protocol/index.js';
import { FitsHeader, readFitsImage, writeFits } from '../../src-shared/fits/index.js';
import { writeFileAtomic } from '../io.js';
import { GaussianFieldPrior, powerLawSpectrum } from '../../src-shared/diffusion/priors/gaussian-field.js';
import { PsfOperator, gaussianPsf } from '../../src-shared/operators/psf.js';
import { runSampling, type SamplingResult } from '../../src-shared/diffusion/posterior.js';
import type { ScoreModel } from '../../src-shared/diffusion/types.js';
import { DEMO_DIR, DEMO_SAMPLES, readDemoJson } from '../demo-example.js';
import { fluxScaleForUnitData } from '../evaluation.js';
import { DEFAULT_STEPS } from '../../src-shared/diffusion/samplers/index.js';
import { ChainNoise } from '../../src-shared/diffusion/chain-rng.js';
import { DEFAULT_ARCH, unetFlops, unetLayout } from '../../src-shared/diffusion/nn/unet.js';
import { encodeWeights } from '../../src-shared/diffusion/nn/weights.js';
import { SKYSCORE_VERSION } from '../version.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const S = 64;
const N_SAMPLES = 16;
const STEPS = DEFAULT_STEPS.pc;
const SIGMA_N = 0.01;
const GOAL_S = 300;

/** The shipped galaxy power spectrum when present (data in pixel/255), else a power law of similar shape. */
function powerSpectrum(): { p: Float64Array; name: string } {
  const f = path.join(ROOT, 'models', 'galaxy-gaussian-64', 'power-spectrum.fits');
  if (existsSync(f)) {
    const img = readFitsImage(new Uint8Array(readFileSync(f)));
    if (img.shape[0] === S && img.shape[1] === S) return { p: Float64Array.from(img.data), name: 'galaxy-gaussian-64' };
  }
  return { p: powerLawSpectrum(S, S, 0.5, 4, 3), name: 'power law' };
}

/** Data: a draw of the Gaussian field with power spectrum `p` (size×size), blurred (FWHM 4 px) and with white noise σ_n. */
async function dataFrom(p: Float64Array, size = S): Promise<Float32Array> {
  const prior = new GaussianFieldPrior(p, [size, size]);
  const op = new PsfOperator([size, size], gaussianPsf(4));
  try {
    return await readAndDispose(
      tf.tidy(() => {
        const z = new ChainNoise(2024, 0, 1).tensor([size, size]);
        const x = prior.sampleFrom(z);
        const n = new ChainNoise(2025, 0, 1).tensor([size, size], SIGMA_N);
        return tf.add(op.apply(x), n);
      }),
    );
  } finally {
    op.dispose();
    prior.dispose();
  }
}

export interface RunFigures {
  result: SamplingResult;
  cpuS: number;
  workers: number;
  /** Seconds before sampling starts (worker threads: their backend, prior and model). */
  startupS: number;
  /** Seconds of sampling proper (the slowest worker's). */
  samplingS: number;
  /** χ² per observed pixel of the posterior mean. */
  chi2PerPixel?: number | null;
  /** How the likelihood solves with Σ + σ² A Aᵀ (report.json's likelihood.method). */
  likelihood?: string;
  /** ONNX Runtime's intra-op threads per worker (null: tfjs evaluates the score). */
  threads?: number | null;
  /** The process's RSS over the run. */
  rss?: RssFigures;
}

/** A problem for the bench: data on an ny×nx grid with its forward model, noise and sampling settings. */
export interface BenchProblem {
  data: Float32Array;
  shape: [number, number];
  model: ModelInput;
  noise: NoiseInput;
  n: number;
  seed: number;
  fluxScale: number;
  name: string;
}

/** The bench's deconvolution: `data` (S×S unless given) blurred by a Gaussian PSF of FWHM 4 px, white noise σ_n, 16 samples. */
function deconvolution(data: Float32Array, size = S): BenchProblem {
  return {
    data,
    shape: [size, size],
    model: inlineModel({ shape: [size, size], operators: [{ type: 'psf', fwhmPx: 4 }] }),
    noise: { kind: 'sigma', sigma: SIGMA_N },
    n: N_SAMPLES,
    seed: 1,
    fluxScale: 1,
    name: 'bench data',
  };
}

/** The process's resident memory over a run, sampled every 100 ms (worker threads included), MB. */
export interface RssFigures {
  startMB: number;
  endMB: number;
  maxMB: number;
}

async function withRss<T>(f: () => Promise<T>): Promise<{ value: T; rss: RssFigures }> {
  const mb = () => process.memoryUsage.rss() / 2 ** 20;
  const startMB = mb();
  let maxMB = startMB;
  const timer = setInterval(() => (maxMB = Math.max(maxMB, mb())), 100);
  try {
    const value = await f();
    const endMB = mb();
    return { value, rss: { startMB, endMB, maxMB: Math.max(maxMB, endMB) } };
  } finally {
    clearInterval(timer);
  }
}

/** A bench problem prepared by the reconstruction service for `steps` pc levels; workers null: the default plan. */
function prepareProblem(info: BackendInfo, workers: number | null, prior: ResolvedPrior, steps: number, p: BenchProblem, scoreEngine: ScoreEngineOptions): Promise<PreparedReconstruction> {
  return prepareReconstruction({
    observation: { data: p.data, shape: p.shape, fitsShape: p.shape, header: new FitsHeader(), name: p.name, path: p.name, hdu: 0, plane: 0 },
    model: p.model,
    noise: p.noise,
    prior,
    settings: { sampler: 'pc', n: p.n, steps, seed: p.seed, fluxScale: p.fluxScale, workers, batch: null },
    scoreEngine,
    backend: async () => info,
  });
}

/** One reconstruction of a bench problem through the reconstruction service (what skyscore reconstruct runs); workers null: the default plan. */
async function runOnce(info: BackendInfo, workers: number | null, prior: ResolvedPrior, steps: number, problem: BenchProblem | Float32Array, scoreEngine: ScoreEngineOptions = TFJS): Promise<RunFigures> {
  const prep = await prepareProblem(info, workers, prior, steps, problem instanceof Float32Array ? deconvolution(problem) : problem, scoreEngine);
  try {
    const c0 = process.cpuUsage();
    const { value: run, rss } = await withRss(() => runReconstruction(prep));
    // worker threads' CPU time is part of the process's (start-up included: a slight underestimate of GFLOP/s per core)
    const cpuS = cpuMs(process.cpuUsage(c0)) / 1000;
    return {
      result: run.result,
      cpuS,
      workers: run.workers,
      startupS: run.result.seconds - run.samplingSeconds,
      samplingS: run.samplingSeconds,
      chi2PerPixel: run.products.chi2PerPixel,
      likelihood: prep.likelihood.method,
      threads: prep.engine.engine === 'onnx' ? (prep.scoreEngine.threads ?? prep.engine.threads ?? null) : null,
      rss,
    };
  } finally {
    prep.dispose();
  }
}

/** A full run's figures from runs of `levels` and 2·`levels` levels: fixed part + STEPS × per-level part. */
export interface Extrapolated {
  /** Wall-clock seconds of the full run (worker start-up included). */
  wall: number;
  /** CPU seconds of the full run. */
  cpuS: number;
  /** Score evaluations of the full run, counted per image (the levels' and the ending's). */
  evaluations: number;
  /** Seconds of sampling that do not depend on the number of levels (set-up, the draws' ending); absent for a run timed in full. */
  fixedS?: number;
  perLevelS?: number;
  startupS: number;
  workers: number;
  /** The longer run (for products). */
  long: RunFigures;
}

export function extrapolate(short: RunFigures, long: RunFigures, levels: number, steps: number): Extrapolated {
  // a negative slope (timer noise on a tiny run) would make the fit meaningless: keep the per-level part ≥ 0
  const perLevel = Math.max(0, (long.samplingS - short.samplingS) / levels);
  const cpuPerLevel = Math.max(0, (long.cpuS - short.cpuS) / levels);
  const evalsPerLevel = (long.result.scoreEvaluations - short.result.scoreEvaluations) / levels;
  const fixedS = Math.max(0, short.samplingS - levels * perLevel);
  return {
    wall: long.startupS + fixedS + steps * perLevel,
    cpuS: short.cpuS + (steps - levels) * cpuPerLevel,
    evaluations: short.result.scoreEvaluations + (steps - levels) * evalsPerLevel,
    fixedS,
    perLevelS: perLevel,
    startupS: long.startupS,
    workers: long.workers,
    long,
  };
}

/** A run timed in full: its own figures. */
export function timedInFull(f: RunFigures): Extrapolated {
  return { wall: f.startupS + f.samplingS, cpuS: f.cpuS, evaluations: f.result.scoreEvaluations, startupS: f.startupS, workers: f.workers, long: f };
}

/** A temporary folder with the power spectrum (a Gaussian-field prior's file) and a U-Net model folder. */
async function scratch(withUnet: boolean): Promise<{ dir: string; unet: string | null; pk: string; dispose(): void }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'skyscore-bench-'));
  const pk = path.join(dir, 'pk.fits');
  await writeFileAtomic(pk, writeFits([{ data: Float32Array.from(powerSpectrum().p), shape: [S, S] }]));
  let unet: string | null = null;
  if (withUnet) {
    unet = path.join(dir, 'unet');
    const layout = unetLayout(DEFAULT_ARCH);
    const { manifest, bytes } = encodeWeights(layout, layout.initialise(7), 'float32');
    const meta: PriorMeta = {
      kind: 'unet',
      arch: DEFAULT_ARCH,
      imageShape: [S, S],
      channels: 1,
      sde: { type: 've', sigmaMin: 0.01, sigmaMax: 30 },
      normalisation: { offset: 0, scale: 1 },
      data: { source: 'benchmark: untrained weights (timing only)', train: 0, validation: 0 },
      steps: 0,
      imagesSeen: 0,
      validationLoss: null,
      date: new Date().toISOString(),
      skyscoreVersion: SKYSCORE_VERSION,
      weights: { file: 'weights.bin', dtype: 'float32', manifest },
    };
    await writePriorFolder(unet, meta, bytes);
  }
  return { dir, unet, pk, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Gaussian-field prior: the full run (cpu: a shorter run, extrapolated). */
async function gaussianField(backend: BackendName, workers: number): Promise<Record<string, number | string>> {
  const info = await initBackend(backend);
  const peak = matmulPeak();
  const sc = await scratch(false);
  const { p, name } = powerSpectrum();
  const data = await dataFrom(p);
  const prior = await resolvePrior(`gaussian-field:${sc.pk}`);
  // cpu: runs of 25 and 50 levels, extrapolated
  const levels = backend === 'cpu' ? 25 : STEPS;
  try {
    const before = tf.memory().numTensors;
    const run = (k: number) => runOnce(info, workers, prior, k, data);
    const e = levels === STEPS ? timedInFull(await run(STEPS)) : extrapolate(await run(levels), await run(2 * levels), levels, STEPS);
    const leaked = tf.memory().numTensors - before;
    const wall = e.wall;
    // per evaluation and image: the prior's spectral products, and A, the Kronecker solve (2 halves) and Aᵀ
    const sp = 2 * (S * S * 2 * (S / 2 + 1) + (S / 2 + 1) * 4 * S * S);
    const kron = 4 * (S * S * 2 * S);
    const flop = 2 * (sp + kron) * e.evaluations;
    return {
      backend: info.backend,
      prior: `gaussian-field (${name})`,
      likelihood: e.long.likelihood ?? '',
      workers: e.workers,
      workerStartupS: e.startupS,
      samples: N_SAMPLES,
      steps: STEPS,
      ...(levels !== STEPS ? { extrapolatedFromSteps: `${levels} and ${2 * levels}`, fixedS: e.fixedS!, perLevelMs: e.perLevelS! * 1000 } : {}),
      seconds: wall,
      scoreEvaluations: e.evaluations,
      scoreEvalsPerS: e.evaluations / wall,
      chi2PerPixel: e.long.chi2PerPixel ?? NaN,
      gflops: flop / wall / 1e9,
      gflopsPerCore: flop / e.cpuS / 1e9,
      peakGflopsPerCore: peak,
      shareOfPeak: flop / e.cpuS / 1e9 / peak,
      goal: wall < GOAL_S ? `met (${Math.round(wall)} s < ${GOAL_S} s)` : `missed (${Math.round(wall)} s)`,
      tensorsLeaked: leaked,
    };
  } finally {
    prior.dispose();
    sc.dispose();
  }
}

const SHIPPED = path.join(ROOT, 'models', 'galaxy-64');

/** U-Net prior (the trainer's default architecture, or the shipped galaxy-64): a few levels timed, the default run extrapolated. */
async function unet(backend: BackendName, workers: number, levels: number, which: 'default' | 'shipped' = 'default', scoreEngine: ScoreEngineOptions = TFJS): Promise<Record<string, number | string>> {
  const info = await initBackend(backend);
  const peak = convPeak();
  const sc = await scratch(which === 'default');
  const folder = which === 'default' ? sc.unet! : SHIPPED;
  const data = await dataFrom(powerSpectrum().p);
  const prior = await resolvePrior(folder, undefined, scoreEngine);
  const arch = prior.meta!.arch;
  try {
    const run = (k: number) => runOnce(info, workers, prior, k, data, scoreEngine);
    const e = extrapolate(await run(levels), await run(2 * levels), levels, STEPS);
    const wall = e.wall;
    const flop = unetFlops(arch, S, S) * e.evaluations;
    const engine = scoreEngineReport(prior.model, info.backend);
    return {
      backend: info.backend,
      scoreEngine: engine.engine === 'onnx' ? `ONNX Runtime ${engine.provider}` : `tfjs ${info.backend}`,
      prior: `${which === 'shipped' ? 'galaxy-64: ' : ''}U-Net nf ${arch.nf}, chMult ${arch.chMult.join('/')}, ${arch.numResBlocks} res blocks${arch.attention ? ', attention' : ''}`,
      gflopPerEval: unetFlops(arch, S, S) / 1e9,
      workers: e.workers,
      workerStartupS: e.startupS,
      samples: N_SAMPLES,
      steps: STEPS,
      extrapolatedFromSteps: `${levels} and ${2 * levels}`,
      fixedS: e.fixedS!,
      perLevelMs: e.perLevelS! * 1000,
      seconds: wall,
      minutes: wall / 60,
      scoreEvaluations: e.evaluations,
      scoreEvalsPerS: e.evaluations / wall,
      gflops: flop / wall / 1e9,
      gflopsPerCore: flop / e.cpuS / 1e9,
      peakGflopsPerCore: peak,
      shareOfPeak: flop / e.cpuS / 1e9 / peak,
      goal: wall < GOAL_S ? `met (${Math.round(wall)} s)` : `missed: ${Math.round(wall)} s; ${(wall / GOAL_S).toFixed(1)}× too slow — needs ${Math.ceil(e.evaluations / GOAL_S)} evaluations/s`,
    };
  } finally {
    prior.dispose();
    sc.dispose();
  }
}

type Engine = 'onnx' | 'tfjs';
const ENGINES: Record<Engine, { options: ScoreEngineOptions; label: string }> = {
  onnx: { options: { engine: 'onnx' }, label: 'ONNX Runtime' },
  tfjs: { options: TFJS, label: 'tfjs' },
};

/** The speed goals for galaxy-64 on a 2-core CPU (the default engine), in seconds. */
const GALAXY_GOALS: Record<string, number> = { '16x500 64x64': 120, demo: 60, '16x500 256x256': 1800 };

const fmtS = (s: number): string => (s < 120 ? `${Math.round(s)} s` : `${(s / 60).toFixed(1)} min`);

function verdict(seconds: number, goal: number | undefined): Record<string, string> {
  if (goal === undefined) return { goal: 'none set' };
  return { goal: `≤ ${fmtS(goal)}`, verdict: seconds <= goal ? `met (${fmtS(seconds)})` : `missed (${fmtS(seconds)}: ${(seconds / goal).toFixed(1)}× the goal)` };
}

/** The demo's problem: the bundled observation, its M.json, σ and seed, 8 samples, the flux scale of pixel/255 data. */
async function demoProblem(prior: ResolvedPrior): Promise<BenchProblem> {
  const demo = await readDemoJson();
  const obs = readFitsImage(new Uint8Array(readFileSync(path.join(DEMO_DIR, demo.observation))));
  const model = JSON.parse(readFileSync(path.join(DEMO_DIR, demo.model), 'utf8')) as unknown;
  return {
    data: Float32Array.from(obs.data),
    shape: [obs.shape[0]!, obs.shape[1]!],
    model: inlineModel(model, demo.model),
    noise: { kind: 'sigma', sigma: demo.noise },
    n: DEMO_SAMPLES,
    seed: demo.seed ?? 0,
    fluxScale: fluxScaleForUnitData(prior).value,
    name: demo.observation,
  };
}

/** The bench's deconvolution at size×size (the shipped power spectrum at 64×64, a power law elsewhere). */
async function deconvolutionAt(size: number): Promise<BenchProblem> {
  const p = size === S ? powerSpectrum().p : powerLawSpectrum(size, size, 0.5, 4, 3);
  return deconvolution(await dataFrom(p, size), size);
}

const load = (): number => +loadavg()[0]!.toFixed(2);

/**
 * galaxy-64 (the shipped prior), a whole reconstruction on the default worker plan of its engine — ONNX Runtime's
 * CPU provider (one worker per core, the cores shared out as threads) or tfjs-wasm (one worker per core) —
 * with 16 samples × 500 pc levels at size×size, or the demo's problem (8 samples, 64×64): runs of `levels` and
 * 2·`levels` levels extrapolated to 500 (or, with levels ≥ 500, the run in full), against its goal.
 */
async function galaxyRun(which: number | 'demo', engine: Engine, levels: number): Promise<Record<string, number | string>> {
  if (!existsSync(path.join(SHIPPED, 'model.json'))) return { skipped: 'models/galaxy-64 is not installed' };
  const info = await initBackend('wasm');
  const load0 = load();
  const { options, label } = ENGINES[engine];
  const prior = await resolvePrior(SHIPPED, undefined, options);
  const arch = prior.meta!.arch;
  try {
    const problem = which === 'demo' ? await demoProblem(prior) : await deconvolutionAt(which);
    const [ny, nx] = problem.shape;
    const run = (k: number) => runOnce(info, null, prior, k, problem, options);
    const e = levels >= STEPS ? timedInFull(await run(STEPS)) : extrapolate(await run(levels), await run(2 * levels), levels, STEPS);
    const flop = unetFlops(arch, ny, nx) * e.evaluations;
    const key = which === 'demo' ? 'demo' : `16x500 ${ny}x${nx}`;
    const rss = e.long.rss!;
    // on a machine shared with other work the wall-clock time depends on its load; the CPU time spread over the
    // cores the plan uses is the run's time where those cores are free (the workers are balanced; ONNX Runtime's
    // threads do not spin, so idle threads cost no CPU time)
    const coresUsed = Math.min(cpus().length, e.workers * (e.long.threads ?? 1));
    const freeS = e.cpuS / coresUsed;
    const goal = GALAXY_GOALS[key];
    return {
      scoreEngine: `${label} ${engine === 'onnx' ? 'cpu' : info.backend}`,
      workers: e.workers,
      threadsPerWorker: e.long.threads ?? 1,
      problem: `${which === 'demo' ? 'the demo: ' : ''}${ny}x${nx}, ${problem.n} samples x ${STEPS} pc levels`,
      likelihood: e.long.likelihood ?? '',
      ...(levels < STEPS ? { extrapolatedFromSteps: `${levels} and ${2 * levels}`, fixedS: e.fixedS!, perLevelMs: e.perLevelS! * 1000 } : { timed: 'in full' }),
      workerStartupS: e.startupS,
      seconds: e.wall,
      minutes: e.wall / 60,
      cpuSeconds: e.cpuS,
      [`secondsOn${coresUsed}FreeCores`]: freeS,
      scoreEvaluations: e.evaluations,
      scoreEvalsPerS: e.evaluations / e.wall,
      gflopsPerCore: flop / e.cpuS / 1e9,
      chi2PerPixel: e.long.chi2PerPixel ?? NaN,
      // a part clamped to 0 means the two runs' difference was the machine's load, not the levels: no fit
      ...(levels < STEPS && (e.perLevelS === 0 || e.fixedS === 0)
        ? { verdict: 'no wall-clock figure: the load changed between the two runs (a part of the fit came out ≤ 0)', ...(goal !== undefined ? { goal: `≤ ${fmtS(goal)}` } : {}) }
        : verdict(e.wall, goal)),
      ...(goal !== undefined ? { verdictOnFreeCores: verdict(freeS, goal).verdict! } : {}),
      rssStartMB: rss.startMB,
      rssEndMB: rss.endMB,
      rssMaxMB: rss.maxMB,
      loadAvg1: `${load0} → ${load()}`,
    };
  } finally {
    prior.dispose();
  }
}

/**
 * Memory over a long run: galaxy-64 at 64×64 on ONNX Runtime (default plan), 16 samples × 100 levels — 200 score
 * batches per worker plus the ending's 17 — with the process's RSS (worker threads included) before the run,
 * after 10 levels (workers started and warm), at the last level, its maximum, and after the products.
 */
async function rssLongRun(): Promise<Record<string, number | string>> {
  if (!existsSync(path.join(SHIPPED, 'model.json'))) return { skipped: 'models/galaxy-64 is not installed' };
  const info = await initBackend('wasm');
  const levels = 100;
  const prior = await resolvePrior(SHIPPED, undefined, ENGINES.onnx.options);
  const problem = await deconvolutionAt(S);
  const mb = () => process.memoryUsage.rss() / 2 ** 20;
  const tensors0 = tf.memory().numTensors;
  try {
    const prep = await prepareProblem(info, null, prior, levels, problem, ENGINES.onnx.options);
    let disposed = false;
    try {
      const warmLevel = 10;
      let warm: number | null = null;
      let last = 0;
      const { value: run, rss } = await withRss(() =>
        runReconstruction(prep, {
          onProgress: (p) => {
            if (warm === null && p.step >= warmLevel) warm = mb();
            if (p.step === p.steps) last = mb();
          },
        }),
      );
      const warmMB = warm ?? rss.startMB;
      disposed = true;
      prep.dispose();
      return {
        workers: run.workers,
        threadsPerWorker: prep.scoreEngine.threads ?? 1,
        batchesPerWorker: `${2 * levels} + 17 (the ending)`,
        rssStartMB: rss.startMB,
        [`rssAfter${warmLevel}LevelsMB`]: warmMB,
        rssLastLevelMB: last || rss.endMB,
        rssEndMB: rss.endMB,
        rssMaxMB: rss.maxMB,
        growthAfterWarmUpMB: (last || rss.endMB) - warmMB,
        tensorGrowth: tf.memory().numTensors - tensors0,
      };
    } finally {
      if (!disposed) prep.dispose();
    }
  } finally {
    prior.dispose();
  }
}

/**
 * Where a worker's time goes: galaxy-64 at size×size, one worker's share of a 16-sample run on two (8 chains, one
 * batch), in this thread with the score engine on one thread, `levels` pc levels and the ending, with progress
 * and previews at the app's rates (progress every 100 ms, previews at 4 Hz). Timed: the network (ONNX Runtime's
 * run, or tfjs's whole evaluation), the score's copies between tfjs tensors and ONNX Runtime's arrays (the score
 * call minus the run), the likelihood's score (its solve), the Rao–Blackwell window's power iteration, the
 * progress events' χ² and the previews' residuals; the rest is the sampler's own arithmetic (noise, updates,
 * the Rao–Blackwellised mean's accumulation, the previews' read-back and statistics).
 */
async function breakdown(size: number, engine: Engine, levels: number): Promise<Record<string, number | string>> {
  if (!existsSync(path.join(SHIPPED, 'model.json'))) return { skipped: 'models/galaxy-64 is not installed' };
  const info = await initBackend('wasm');
  const options: ScoreEngineOptions = engine === 'onnx' ? { engine: 'onnx', provider: 'cpu', threads: 1 } : TFJS;
  const prior = await resolvePrior(SHIPPED, undefined, options);
  const problem = { ...(await deconvolutionAt(size)), n: N_SAMPLES / 2 };
  const load0 = load();
  try {
    const prep = await prepareProblem(info, 1, prior, levels, problem, options);
    const ms: Record<string, number> = { network: 0, score: 0, likelihood: 0, window: 0, progress: 0 };
    const timeSync = (o: object, method: string, part: string) => {
      const obj = o as Record<string, (...a: unknown[]) => unknown>;
      const orig = obj[method]!.bind(o);
      obj[method] = (...a: unknown[]) => {
        const t0 = performance.now();
        try {
          return orig(...a);
        } finally {
          ms[part]! += performance.now() - t0;
        }
      };
    };
    const timeAsync = (o: object, method: string, part: string) => {
      const obj = o as Record<string, (...a: unknown[]) => Promise<unknown>>;
      const orig = obj[method]!.bind(o);
      obj[method] = async (...a: unknown[]) => {
        const t0 = performance.now();
        try {
          return await orig(...a);
        } finally {
          ms[part]! += performance.now() - t0;
        }
      };
    };
    try {
      const model = prep.prior.model as ScoreModel & { session?: object };
      timeSync(model, 'score', 'score');
      if (model.session) timeSync(model.session, 'run', 'network');
      timeSync(prep.likelihood, 'score', 'likelihood');
      timeAsync(prep.likelihood, 'normalMaxEigenvalue', 'window');
      timeAsync(prep.likelihood, 'chi2PerPixel', 'progress');
      timeAsync(prep.likelihood, 'normalisedResidual', 'progress');
      const s = prep.settings;
      const result = await runSampling(
        { prior: prep.prior.model, sde: prep.prior.sde, shape: prep.inShape, likelihood: prep.likelihood },
        { sampler: s.sampler, steps: s.steps, n: s.n, seed: s.seed, batchSize: s.batch, samplerOptions: s.options, onProgress: () => {}, progressIntervalMs: 100, previewIntervalMs: 250, previewSamples: 8 },
      );
      const total = result.seconds * 1000;
      if (!model.session) ms.network = ms.score; // tfjs: the evaluation is the network
      const copies = ms.score - ms.network;
      const rest = total - ms.score - ms.likelihood - ms.window - ms.progress;
      const part = (name: string, v: number): Record<string, number> => ({ [`${name}S`]: v / 1000, [`${name}Share`]: v / total });
      return {
        scoreEngine: engine === 'onnx' ? 'ONNX Runtime cpu, 1 thread' : `tfjs ${info.backend}`,
        problem: `${size}x${size}, ${problem.n} chains (one batch), ${levels} levels + the ending`,
        likelihood: prep.likelihood.method,
        scoreEvaluations: result.scoreEvaluations,
        samplingS: total / 1000,
        ...part('network', ms.network),
        ...part('copies', copies),
        ...part('likelihood', ms.likelihood),
        ...part('raoBlackwellWindow', ms.window),
        ...part('progressPreviews', ms.progress),
        ...part('samplerRest', rest),
        loadAvg1: `${load0} → ${load()}`,
      };
    } finally {
      prep.dispose();
    }
  } finally {
    prior.dispose();
  }
}

/** Backends that exist here besides wasm and cpu (GPU paths), reported rather than silently skipped. */
async function gpuNote(): Promise<Record<string, number | string>> {
  const probes = await probeBackends();
  const out: Record<string, number | string> = {};
  for (const p of probes) if (p.name === 'tensorflow' || p.name === 'webgpu') out[p.name] = p.available ? `available (${p.detail ?? ''}): run skyscore bench there` : `not available: ${p.reason ?? ''}`;
  return out;
}

const twoCores = cpus().length >= 2;

export const benches: Bench[] = [
  { name: 'reconstruct gaussian-field 64 wasm 1 worker', run: () => gaussianField('wasm', 1) },
  ...(twoCores ? [{ name: 'reconstruct gaussian-field 64 wasm 2 workers', run: () => gaussianField('wasm', 2) }] : []),
  { name: 'reconstruct gaussian-field 64 cpu 1 worker', run: () => gaussianField('cpu', 1) },
  { name: 'reconstruct unet64 wasm 1 worker', run: () => unet('wasm', 1, 2) },
  { name: 'reconstruct unet64 onnx 1 worker', run: () => unet('wasm', 1, 4, 'default', { engine: 'onnx' }) },
  ...(twoCores ? [{ name: 'reconstruct unet64 wasm 2 workers', run: () => unet('wasm', 2, 3) }] : []),
  ...(existsSync(path.join(SHIPPED, 'model.json'))
    ? [
        { name: 'reconstruct galaxy-64 wasm 1 worker', run: () => unet('wasm', 1, 8, 'shipped') },
        ...(twoCores ? [{ name: 'reconstruct galaxy-64 wasm 2 workers', run: () => unet('wasm', 2, 16, 'shipped') }] : []),
        { name: 'reconstruct galaxy-64 onnx 1 worker', run: () => unet('wasm', 1, 16, 'shipped', { engine: 'onnx' }) },
        ...(twoCores ? [{ name: 'reconstruct galaxy-64 onnx 2 workers', run: () => unet('wasm', 2, 32, 'shipped', { engine: 'onnx' }) }] : []),
      ]
    : []),
  ...[64, 128, 256].flatMap((size) =>
    (['onnx', 'tfjs'] as const).map((engine) => ({
      name: `reconstruct galaxy-64 16x500 ${size}x${size} ${engine === 'onnx' ? 'onnx' : 'tfjs-wasm'}`,
      // runs long enough that the levels, not the timer's noise, make the difference between them. Every run also
      // holds the ending, 272 evaluations (16 chains × 17), a fixed part that the per-level fit must not absorb: the
      // extra L levels of the longer run (32·L evaluations) are at least as many, L ≥ 8. Fewer (4 at 128×128 and 1 at
      // 256×256 on tfjs-wasm) put tfjs-wasm's 128×128 run at 75 GFLOP/s per core and its 256×256 run at 3.6, from the
      // same code and machine: the difference of two runs dominated by the ending is mostly its own jitter.
      run: () => galaxyRun(size, engine, ({ 64: { onnx: 64, tfjs: 16 }, 128: { onnx: 16, tfjs: 16 }, 256: { onnx: 8, tfjs: 8 } } as const)[size as 64 | 128 | 256][engine]),
    })),
  ),
  { name: 'reconstruct galaxy-64 demo onnx', run: () => galaxyRun('demo', 'onnx', STEPS) },
  { name: 'reconstruct galaxy-64 demo tfjs-wasm', run: () => galaxyRun('demo', 'tfjs', 16) },
  { name: 'reconstruct galaxy-64 64x64 onnx RSS over 200 batches', run: rssLongRun },
  { name: 'reconstruct galaxy-64 time breakdown 64x64 onnx', run: () => breakdown(64, 'onnx', 40) },
  { name: 'reconstruct galaxy-64 time breakdown 256x256 onnx', run: () => breakdown(256, 'onnx', 3) },
  { name: 'reconstruct galaxy-64 time breakdown 64x64 tfjs-wasm', run: () => breakdown(64, 'tfjs', 10) },
  { name: 'reconstruct gpu backends', run: gpuNote },
];
