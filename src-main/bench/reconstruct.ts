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
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
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
import { inlineModel, prepareReconstruction, runReconstruction } from '../reconstruct/index.js';
import type { BackendInfo, BackendName } from '../../src-shared/protocol/index.js';
import { FitsHeader, readFitsImage, writeFits } from '../../src-shared/fits/index.js';
import { writeFileAtomic } from '../io.js';
import { GaussianFieldPrior, powerLawSpectrum } from '../../src-shared/diffusion/priors/gaussian-field.js';
import { PsfOperator, gaussianPsf } from '../../src-shared/operators/psf.js';
import type { SamplingResult } from '../../src-shared/diffusion/posterior.js';
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

/** Data: a draw of the Gaussian field with power spectrum `p`, blurred (FWHM 4 px) and with white noise σ_n. */
async function dataFrom(p: Float64Array): Promise<Float32Array> {
  const prior = new GaussianFieldPrior(p, [S, S]);
  const op = new PsfOperator([S, S], gaussianPsf(4));
  try {
    return await readAndDispose(
      tf.tidy(() => {
        const z = new ChainNoise(2024, 0, 1).tensor([S, S]);
        const x = prior.sampleFrom(z);
        const n = new ChainNoise(2025, 0, 1).tensor([S, S], SIGMA_N);
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
}

/** One reconstruction of the bench's data through the reconstruction service (what skyscore reconstruct runs). */
async function runOnce(info: BackendInfo, workers: number, prior: ResolvedPrior, steps: number, data: Float32Array, scoreEngine: ScoreEngineOptions = TFJS): Promise<RunFigures> {
  const prep = await prepareReconstruction({
    observation: { data, shape: [S, S], fitsShape: [S, S], header: new FitsHeader(), name: 'bench data', path: 'bench data', hdu: 0, plane: 0 },
    model: inlineModel({ shape: [S, S], operators: [{ type: 'psf', fwhmPx: 4 }] }),
    noise: { kind: 'sigma', sigma: SIGMA_N },
    prior,
    settings: { sampler: 'pc', n: N_SAMPLES, steps, seed: 1, fluxScale: 1, workers, batch: null },
    scoreEngine,
    backend: async () => info,
  });
  try {
    const c0 = process.cpuUsage();
    const run = await runReconstruction(prep);
    // worker threads' CPU time is part of the process's (start-up included: a slight underestimate of GFLOP/s per core)
    const cpuS = cpuMs(process.cpuUsage(c0)) / 1000;
    return { result: run.result, cpuS, workers: run.workers, startupS: run.result.seconds - run.samplingSeconds, samplingS: run.samplingSeconds, chi2PerPixel: run.products.chi2PerPixel, likelihood: prep.likelihood.method };
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
  { name: 'reconstruct gpu backends', run: gpuNote },
];
