import path from 'node:path';
import { promises as fs } from 'node:fs';
import { cpus } from 'node:os';
import type { Command } from '../command.js';
import { parse, requireString, optionalString, numberFlag, type Parsed } from '../args.js';
import { UsageError } from '../errors.js';
import { isDenoiseMode } from '../../../src-shared/diffusion/samplers/spec.js';
import { writeFileAtomic } from '../../io.js';
import { initBackend } from '../../engine/backend.js';
import { prepareModelFile, readImage2d, readNoiseArg, type ImageFile } from '../../model-loader.js';
import { affineFor, checkPriorShape, chooseFluxScale, resolvePrior, type ResolvedPrior } from '../../priors.js';
import { versions } from '../../version.js';
import { runSamplingParallel } from '../../sampling/pool.js';
import { backendFlag, checkNotSame, resultFitsShape, resultGrid, resultHeader, shapeText } from './forward.js';
import { instantiateModel, outputShape, type BuiltModel } from '../../../src-shared/operators/model.js';
import { ConvolvedLikelihood, type Affine } from '../../../src-shared/diffusion/likelihood.js';
import { runSampling, type SamplingProgress, type SamplingResult } from '../../../src-shared/diffusion/posterior.js';
import { drawsEndingNote, meanEstimateNote, posteriorProducts, reconstructionReport, type PosteriorProducts } from '../../../src-shared/diffusion/products.js';
import { DEFAULT_SAMPLER, DEFAULT_STEPS, SAMPLERS, isSamplerName, type SamplerName, type SamplerOptions } from '../../../src-shared/diffusion/samplers/index.js';
import { writeFits, type FitsHeader } from '../../../src-shared/fits/index.js';
import { SCORE_ENGINE_OPTIONS, SCORE_ENGINE_USAGE, scoreEngineFlags } from '../../onnx/cli.js';
import { onnxWorkerPlan, scoreEngineReport } from '../../onnx/priors.js';

const usage = `usage: skyscore reconstruct --obs Y.fits --model M.json --prior P --noise SIGMA|NOISE.fits --out DIR
                            [--n N] [--steps K] [--seed S] [--sampler pc|em|ald|ula|dps] [--flux-scale F]
                            [--backend B] [--workers W] [--batch B] [--hdu H] [--snr R] [--step-size D] [--zeta Z] [--denoise draw|mean|none] [--no-rao-blackwell] [--symmetrise] [--quiet]
                            [--score-engine auto|onnx|tfjs] [--onnx-provider P] [--onnx-threads T]

Draws N samples of the posterior p(x | y) for data y = A x + n (A from M.json, n Gaussian with σ = NOISE)
with a score-based prior, and writes into DIR:
  posterior-mean.fits     the mean of the samples            (data units, the unknown's grid)
  posterior-std.fits      their standard deviation (N − 1)
  posterior-samples.fits  the samples, a cube with NAXIS3 = N
  residual.fits           (y − A·mean)/σ on the data grid (NaN where masked)
  report.json             chi2PerPixel, n, steps, sampler, backend, seconds, scoreEvaluations, seed, versions, …
Each FITS header carries the observation's WCS (where the grid is the observation's) and HISTORY/HIERARCH
cards with the command, prior, model hash, sampler, steps, seed and version. A seed gives the same samples on
a given backend, whatever --batch.

  --obs Y.fits        the data (--hdu H: its HDU); NaN/infinite pixels are masked (and said so)
  --model M.json      the forward model; its output shape must be the data's
  --prior P           a model folder (models/galaxy-64) or gaussian-field:PK.fits (power spectrum, numpy fft2
                      layout, path relative to the working directory)
  --noise SIGMA       σ > 0, or a FITS map of σ per pixel (NaN marks a pixel unusable)
  --out DIR           output folder (created; existing products are replaced)
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
                      report.json fluxScale.background, FITS SKYBKG. For gaussian-field: 1 (its spectrum
                      is in data units). A given F adds no offset
  --backend B         auto (default), tensorflow, webgpu, wasm or cpu
  --workers W         worker threads sharing the chains (default on the wasm and cpu backends: one per CPU
                      core, at most N and 4, for a learned prior or N·steps·pixels ≥ 10⁷, else 1; 1 on a
                      GPU). Each chain has its own random stream: the samples do not depend on W (up to
                      float32 rounding)
  --batch B           chains evaluated together per worker (default min(N, 16))
  --snr R             Langevin step signal-to-noise ratio (pc, ald; default 0.16)
  --step-size D       ula's step (default 0.05/λmax of the posterior score's Jacobian)
  --zeta Z            dps step scale (default 1)
  --denoise M         how pc, em and ald end, at σmin: draw (default) a second-order Tweedie draw, Tweedie's
                      mean x + σmin² s plus noise with the diagonal of σmin²(I + σmin² ∇s) (16 more score
                      evaluations per chain; per-pixel intervals close to their level with galaxy-64); mean
                      Tweedie's mean alone (intervals slightly narrow); none the raw draws (slightly wide).
                      The posterior mean product is the same for all three (docs/sampling.md)
  --no-denoise        the same as --denoise none
  --no-rao-blackwell  posterior-mean.fits is the mean of the draws. By default (pc, em, ald) it averages
                      Tweedie's estimate E[x₀ | x_σ, y] over every score evaluation of the last levels, where
                      σ² A Aᵀ ≤ Σ: the same expectation with less Monte Carlo noise (+0.07 dB with galaxy-64,
                      docs/sampling.md); the samples and the standard deviation are the draws' either way
  --symmetrise        use an image prior's score through one of its flips/rotations per noise level (the
                      group its training augmented with; all 8 if it declares none): the chains follow the
                      group-averaged score at no cost; measured with galaxy-64, +0.03 dB (docs/sampling.md)
  --quiet             no progress lines
${SCORE_ENGINE_USAGE}`;

/**
 * Worker threads by default: one per core (at most N and 4) on the CPU backends when the run is long enough to
 * repay a worker's start-up (~2–4 s: its own backend, prior and model) — a learned prior always, an analytic one
 * from N·steps·pixels ≥ 10⁷ —, else 1; one on a GPU.
 */
export function defaultWorkers(backend: string, n: number, priorKind: string, steps: number, pixels: number): number {
  if (backend !== 'wasm' && backend !== 'cpu') return 1;
  if (priorKind !== 'unet' && n * steps * pixels < 1e7) return 1;
  return Math.max(1, Math.min(cpus().length, n, 4));
}

export function samplerOptions(p: Parsed, command: string): SamplerOptions {
  const o: SamplerOptions = {};
  if (p.values.snr !== undefined) o.snr = numberFlag(p, 'snr', command, { positive: true });
  if (p.values['step-size'] !== undefined) o.stepSize = numberFlag(p, 'step-size', command, { positive: true });
  if (p.values.zeta !== undefined) o.zeta = numberFlag(p, 'zeta', command, { positive: true });
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

/** Progress on stderr: rewritten in place on a terminal (every 0.5 s), else one line every 10 s. */
export function progressPrinter(command: string, quiet: boolean): (p: Pick<SamplingProgress, 'step' | 'steps' | 'sigma' | 'chi2' | 'elapsedS' | 'etaS'>) => void {
  const tty = process.stderr.isTTY === true;
  let last = tty ? -Infinity : Date.now();
  return (p) => {
    if (quiet) return;
    const now = Date.now();
    const done = p.step === p.steps;
    if (!done && now - last < (tty ? 500 : 10000)) return;
    last = now;
    const chi = p.chi2 !== null ? `  χ²/px ${p.chi2.toPrecision(4)}` : '';
    const eta = p.etaS !== null && !done ? `  eta ${Math.round(p.etaS)} s` : '';
    const line = `${command}: step ${p.step}/${p.steps}  σ ${p.sigma.toPrecision(3)}${chi}  ${p.elapsedS.toFixed(1)} s${eta}`;
    process.stderr.write(tty ? `\r${line}\x1b[K${done ? '\n' : ''}` : `${line}\n`);
  };
}

/** FITS header text is ASCII: the few symbols our messages use, spelled out. */
export function asciiText(s: string): string {
  const map: Record<string, string> = { 'ᵀ': '^T', '⁻¹': '^-1', '≤': '<=', '≥': '>=', 'σ': 'sigma', '²': '^2', '×': 'x', '—': '-', '–': '-', '→': '->', 'λ': 'lambda', 'χ': 'chi' };
  let out = s;
  for (const [k, v] of Object.entries(map)) out = out.split(k).join(v);
  return out.replace(/[^\x20-\x7e]/g, '?');
}

const WCS_HIGH_AXIS = /^(CTYPE|CRVAL|CRPIX|CDELT|CUNIT|CROTA|CNAME|CRDER|CSYER)([3-9])$|^(PC|CD)([3-9]_\d|\d_[3-9])$|^(PV|PS)[3-9]_\d+$/;

/** Header for one product, with provenance; the samples cube loses any WCS of axes beyond the second. */
function productHeader(
  obs: ImageFile,
  built: BuiltModel,
  onUnknownGrid: boolean,
  shape: [number, number],
  prov: Parameters<typeof resultHeader>[3],
  what: string,
  historyExtra: string[],
): FitsHeader {
  const grid = onUnknownGrid ? resultGrid(built, true) : ({ sameAsInput: true } as const);
  const h = resultHeader(obs, grid, shape, prov);
  h.set('SKYPROD', what, 'SkyScore product');
  for (const line of historyExtra) h.addHistory(line);
  return h;
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
        'step-size': { type: 'string' },
        zeta: { type: 'string' },
        'no-denoise': { type: 'boolean' },
        denoise: { type: 'string' },
        'no-rao-blackwell': { type: 'boolean' },
        symmetrise: { type: 'boolean' },
        quiet: { type: 'boolean' },
        ...SCORE_ENGINE_OPTIONS,
      },
      cmd,
    );
    if (p.positionals.length) throw new UsageError(`${cmd}: unexpected argument '${p.positionals[0]}'`);
    const obsPath = requireString(p, 'obs', cmd);
    const modelPath = requireString(p, 'model', cmd);
    const priorSpec = requireString(p, 'prior', cmd);
    const noiseArg = requireString(p, 'noise', cmd);
    const outDir = requireString(p, 'out', cmd);
    const sampler = samplerFlag(p, cmd);
    const n = numberFlag(p, 'n', cmd, { default: 16, integer: true, min: 1, max: 100000 });
    const steps = numberFlag(p, 'steps', cmd, { default: DEFAULT_STEPS[sampler], integer: true, min: 1, max: 1_000_000 });
    const seed = numberFlag(p, 'seed', cmd, { default: 0, integer: true, min: 0, max: Number.MAX_SAFE_INTEGER });
    const batch = numberFlag(p, 'batch', cmd, { default: Math.min(n, 16), integer: true, min: 1, max: 4096 });
    const workersGiven = p.values.workers === undefined ? null : numberFlag(p, 'workers', cmd, { integer: true, min: 1, max: 64 });
    const hdu = optionalString(p, 'hdu') === undefined ? undefined : numberFlag(p, 'hdu', cmd, { integer: true, min: 0 });
    const fluxGiven = p.values['flux-scale'] === undefined ? null : numberFlag(p, 'flux-scale', cmd, { positive: true });
    const backend = backendFlag(p, cmd);
    const sOpts = samplerOptions(p, cmd);
    const quiet = p.values.quiet === true;
    const engineOpts = scoreEngineFlags(p, cmd);
    for (const f of [obsPath, modelPath]) checkNotSame(f, path.join(outDir, 'posterior-mean.fits'), cmd);

    // every input is read and checked before any compute starts
    const model = await prepareModelFile(modelPath);
    const obs = await readImage2d(obsPath, hdu);
    const yShape = outputShape(model.prepared.spec);
    const xShape = model.prepared.spec.shape;
    if (obs.shape[0] !== yShape[0] || obs.shape[1] !== yShape[1]) {
      throw new UsageError(
        `${obsPath}: the data are ${shapeText(obs.shape)} but the forward model ${path.basename(modelPath)} produces ${shapeText(yShape)}: the operator's output shape must match the data`,
      );
    }
    const { noise, text: noiseText } = await readNoiseArg(noiseArg, yShape, '--noise', cmd);
    const prior: ResolvedPrior = await resolvePrior(priorSpec, undefined, engineOpts);
    let built: BuiltModel | null = null;
    let lik: ConvolvedLikelihood | null = null;
    try {
      if (prior.kind === 'analytic') throw new UsageError(`${cmd}: ${priorSpec} is a 2-D density, not an image prior (use it with skyscore sample)`);
      const warnings: string[] = [...model.prepared.notes, ...prior.warnings];
      const shapeWarning = checkPriorShape(prior, xShape);
      if (shapeWarning) warnings.push(shapeWarning);
      const flux = chooseFluxScale(prior, obs.data, fluxGiven);
      const affine: Affine = affineFor(prior, flux);

      const info = await initBackend(backend);
      built = instantiateModel(model.prepared);
      lik = new ConvolvedLikelihood({ operator: built.operator, data: obs.data, dataShape: obs.shape, noise, affine, name: path.basename(obsPath) });
      warnings.push(...lik.warnings);
      for (const w of warnings) process.stderr.write(`skyscore: note: ${w}\n`);
      if (!quiet) {
        process.stderr.write(
          `${cmd}: ${n} samples × ${steps} ${sampler} steps, prior ${prior.name} (σ ${prior.sde.sigmaMin.toPrecision(3)}…${prior.sde.sigmaMax.toPrecision(3)}), ` +
            `A = ${built.operator.name}, flux scale ${flux.value.toPrecision(6)}, backend ${info.backend}; likelihood: ${lik.description}\n`,
        );
      }
      const engine = scoreEngineReport(prior.model, info.backend);
      const plan = onnxWorkerPlan(engine, workersGiven, n, engineOpts);
      const workers = workersGiven ?? plan?.workers ?? defaultWorkers(info.backend, n, prior.kind, steps, xShape[0] * xShape[1]);
      if (!quiet) process.stderr.write(`${cmd}: score engine ${engine.engine === 'onnx' ? `ONNX Runtime ${engine.onnxruntime} (${engine.provider}${engine.threads ? `, ${plan?.threads ?? engine.threads} threads` : ''}, ${engine.device})` : `tfjs (${info.backend})`}${workers > 1 ? `, ${workers} workers` : ''}\n`);
      let result: SamplingResult;
      if (workers > 1) {
        const par = await runSamplingParallel(
          {
            backend: info.backend,
            prior: priorSpec,
            cwd: process.cwd(),
            shape: xShape,
            model: model.path,
            data: Float32Array.from(obs.data),
            dataShape: obs.shape,
            noise,
            dataName: path.basename(obsPath),
            affine,
            sampler,
            steps,
            n,
            seed,
            batchSize: batch,
            samplerOptions: sOpts,
            scoreEngine: { ...engineOpts, ...(plan ? { threads: plan.threads } : {}) },
          },
          workers,
          { onProgress: progressPrinter(cmd, quiet) },
        );
        if (par.cgStats) Object.assign(lik.cgStats, par.cgStats);
        result = par;
      } else {
        result = await runSampling(
          { prior: prior.model, sde: prior.sde, shape: xShape, likelihood: lik },
          { sampler, steps, n, seed, batchSize: batch, samplerOptions: sOpts, onProgress: progressPrinter(cmd, quiet), previewIntervalMs: 0 },
        );
      }
      const products: PosteriorProducts = await posteriorProducts(result, affine, lik);
      const command = `${cmd} --obs ${path.basename(obsPath)} --model ${path.basename(modelPath)} --prior ${priorSpec} --noise ${noiseText} --n ${n} --steps ${steps} --seed ${seed} --sampler ${sampler} --flux-scale ${flux.value.toPrecision(8)}`;
      const report = reconstructionReport(
        products,
        result,
        {
          command: `skyscore ${command}`,
          prior: { spec: priorSpec, kind: prior.kind, sde: prior.sde, trainedShape: prior.shape, normalisation: prior.normalisation },
          backend: info.backend,
          versions: { ...versions() } as Record<string, string>,
          fluxScale: flux,
          model: { path: model.path, sha256: model.hash },
          observation: { path: path.resolve(obsPath), hdu: hdu ?? 0 },
          noise: noiseText,
          warnings,
        },
        lik,
      );
      (report as Record<string, unknown>).priorSha256 = prior.sha256;
      (report as Record<string, unknown>).workers = workers;
      (report as Record<string, unknown>).scoreEngine = plan && workers > 1 ? { ...engine, threads: plan.threads, workers } : engine;

      const prov = {
        command,
        modelPath,
        modelHash: model.hash,
        backend: info.backend,
        // the app's export writes the same keys (src-main/engine/reconstruct-job.ts); they replace any the
        // observation carries from an earlier step (simulate's SKYSEED, SKYNOISE)
        extra: {
          SKYPRIOR: prior.name.slice(0, 60),
          SKYSAMP: sampler,
          SKYSTEPS: steps,
          SKYSEED: seed,
          SKYNSAMP: n,
          SKYNOISE: noiseText.slice(0, 60),
          SKYFLUX: Number(flux.value.toPrecision(10)),
          SKYBKG: Number((flux.background ?? 0).toPrecision(10)),
          SKYCHI2: Number((products.chi2PerPixel ?? NaN).toPrecision(6)),
          'SKYSCORE PRIOR SHA256': prior.sha256.slice(0, 32),
        },
      };
      const hist = [`prior ${priorSpec} sha256 ${prior.sha256}`, `sampler ${sampler}, ${steps} steps, ${n} samples, seed ${seed}`, `likelihood: ${asciiText(lik.description)}`];
      const [ny, nx] = xShape;
      const grid = resultGrid(built, true);
      const sameGrid = grid.sameAsInput;
      const imageShape = resultFitsShape(obs, xShape, sameGrid);
      const meanH = productHeader(obs, built, true, xShape, prov, 'posterior mean', [...hist, meanEstimateNote(result)]);
      const stdH = productHeader(obs, built, true, xShape, prov, 'posterior standard deviation', [...hist, ...drawsEndingNote(result)]);
      const samplesH = productHeader(obs, built, true, xShape, prov, 'posterior samples', [...hist, ...drawsEndingNote(result)]);
      for (const k of new Set(samplesH.keys())) if (WCS_HIGH_AXIS.test(k)) samplesH.delete(k);
      samplesH.set('WCSAXES', 2);
      const resH = productHeader(obs, built, false, yShape, prov, '(y - A mean)/sigma', [...hist, `chi2 per observed pixel of the mean ${products.chi2PerPixel?.toPrecision(6)}`]);
      resH.delete('BUNIT');
      const files: [string, Uint8Array | string][] = [
        ['posterior-mean.fits', writeFits([{ data: products.mean, shape: imageShape, header: meanH, bitpix: -32 }])],
        ['posterior-std.fits', writeFits([{ data: products.std, shape: imageShape, header: stdH, bitpix: -32 }])],
        ['posterior-samples.fits', writeFits([{ data: products.samples, shape: [nx, ny, n], header: samplesH, bitpix: -32 }])],
        ['residual.fits', writeFits([{ data: products.residual!, shape: resultFitsShape(obs, yShape, true), header: resH, bitpix: -32 }])],
        ['report.json', JSON.stringify(report, null, 2) + '\n'],
      ];
      await fs.mkdir(outDir, { recursive: true });
      for (const [name, bytes] of files) await writeFileAtomic(path.join(outDir, name), bytes);
      process.stdout.write(
        `${cmd}: wrote ${outDir}/{posterior-mean,posterior-std,posterior-samples,residual}.fits and report.json: ` +
          `χ²/pixel of the mean ${products.chi2PerPixel?.toFixed(4)}, ${result.seconds.toFixed(1)} s, ${result.scoreEvaluations} score evaluations, backend ${info.backend}\n`,
      );
    } finally {
      lik?.dispose();
      built?.operator.dispose();
      prior.dispose();
    }
    return 0;
  },
};
