/**
 * Posterior sampling as an engine job. prepare(): decode the observation plane, build the forward model from the
 * files sent, read the noise, resolve the prior — every input problem is reported before the job starts.
 * run(): the posterior driver with throttled progress and previews; the products for export.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { BackendInfo, NamedFile, Products, ReconstructParams, ReconstructProgress, Shape2 } from '../../src-shared/protocol/index.js';
import { outputShape, type BuiltModel, type ModelSpec } from '../../src-shared/operators/model.js';
import { noiseMap, scalarNoise, validityMask, type NoiseModel, type Validity } from '../../src-shared/operators/noise.js';
import { ConvolvedLikelihood, type Affine } from '../../src-shared/diffusion/likelihood.js';
import { runSampling, type SamplingProgress } from '../../src-shared/diffusion/posterior.js';
import type { ScoreModel, VeSde } from '../../src-shared/diffusion/types.js';
import { writeFits, FitsHeader } from '../../src-shared/fits/index.js';
import { loadModelFolder } from '../model-folder.js';
import { resultGrid, resultHeader } from '../cli/commands/forward.js';
import { versions } from '../version.js';
import type { JobReporter } from './jobs.js';
import { JobInputError, buildFromRequest, decodeObs, type DecodedObs } from './model-requests.js';

export interface PreparedReconstruction {
  params: ReconstructParams;
  backend: BackendInfo;
  obs: DecodedObs;
  spec: ModelSpec;
  built: BuiltModel;
  noise: NoiseModel;
  validity: Validity;
  /** sha256 over the M.json text (as the editor saves it) and every file it read, in order. */
  modelHash: string;
  inShape: Shape2;
  outShape: Shape2;
  warnings: string[];
  dispose(): void;
}

export interface ReconstructionResult {
  summary: Record<string, number | string>;
  products(): Products;
}

/** The M.json text the editor's "Save M.json" writes for this document (2-space JSON and a newline). */
export function modelJsonText(model: unknown): string {
  return JSON.stringify(model, null, 2) + '\n';
}

async function prepare(p: ReconstructParams, backend: BackendInfo): Promise<PreparedReconstruction> {
  const obs = decodeObs(p.obs);
  const { built, spec, loader } = await buildFromRequest(p.model, p.files);
  try {
    const out = outputShape(spec);
    if (out[0] !== obs.shape[0] || out[1] !== obs.shape[1]) {
      throw new JobInputError(`the forward model's output is [${out.join(', ')}] but the observation ${obs.name} is [${obs.shape.join(', ')}] ([ny, nx])`);
    }
    let noise: NoiseModel;
    if (p.noise.kind === 'sigma') noise = scalarNoise(p.noise.sigma, 'noise σ');
    else {
      let img;
      try {
        img = await loader.loadImage(p.noise.file, p.noise.hdu);
      } catch (e) {
        throw new JobInputError(`σ map ${p.noise.file}: ${(e as Error).message}`, { cause: e });
      }
      const sh: Shape2 = [img.shape[img.shape.length - 2]!, img.shape[img.shape.length - 1]!];
      if (sh[0] !== obs.shape[0] || sh[1] !== obs.shape[1]) throw new JobInputError(`σ map ${p.noise.file} is [${sh.join(', ')}] but the observation is [${obs.shape.join(', ')}]`);
      noise = noiseMap(img.data, sh, `σ map ${p.noise.file}`);
    }
    const validity = validityMask(obs.data, obs.shape, noise, obs.name);
    if (validity.masked === validity.mask.length) throw new JobInputError(`${obs.name}: no usable pixel (${validity.message})`);
    const h = createHash('sha256').update(modelJsonText(p.model));
    for (const f of loader.used) h.update(f.bytes);
    const warnings = [...built.notes];
    if (validity.message) warnings.push(validity.message);
    return {
      params: p,
      backend,
      obs,
      spec,
      built,
      noise,
      validity,
      modelHash: h.digest('hex'),
      inShape: spec.shape,
      outShape: out,
      warnings,
      dispose: () => built.operator.dispose(),
    };
  } catch (e) {
    built.operator.dispose();
    throw e;
  }
}

interface ResolvedPrior {
  model: ScoreModel;
  sde: VeSde;
  /** x_prior = (x − offset)/scale. */
  normalisation: { offset: number; scale: number };
  name: string;
}

/** A prior spec from the picker: a model folder (U-Net). */
async function resolvePrior(spec: string): Promise<ResolvedPrior> {
  const { model, meta } = await loadModelFolder(spec);
  return { model, sde: { sigmaMin: meta.sde.sigmaMin, sigmaMax: meta.sde.sigmaMax }, normalisation: meta.normalisation, name: path.basename(spec) };
}

/** Per-pixel mean and standard deviation (n − 1) over chains, in float64. */
function meanStd(samples: Float32Array, n: number, per: number): { mean: Float32Array; std: Float32Array } {
  const mean = new Float32Array(per);
  const std = new Float32Array(per);
  for (let i = 0; i < per; i++) {
    let s = 0;
    for (let k = 0; k < n; k++) s += samples[k * per + i]!;
    const m = s / n;
    let q = 0;
    for (let k = 0; k < n; k++) q += (samples[k * per + i]! - m) ** 2;
    mean[i] = m;
    std[i] = n > 1 ? Math.sqrt(q / (n - 1)) : 0;
  }
  return { mean, std };
}

const WCS_HIGH_AXIS = /^(CTYPE|CRVAL|CRPIX|CDELT|CUNIT|CROTA|CNAME|CRDER|CSYER)([3-9])$|^(PC|CD)([3-9]_\d|\d_[3-9])$|^(PV|PS)[3-9]_\d+$/;

/** The observation plane as an image file for result headers: a cube's other axes' WCS removed. */
function planeImage(obs: DecodedObs, plane: number, hdu: number) {
  const header = obs.header.clone();
  if ((header.getNumber('NAXIS') ?? 2) > 2) {
    for (const k of new Set(header.cards.map((c) => c.key))) if (WCS_HIGH_AXIS.test(k)) header.delete(k);
    header.set('WCSAXES', 2);
    header.addHistory(`plane ${plane} of HDU ${hdu} of ${obs.name}`);
  }
  return { data: obs.data, shape: obs.shape, fitsShape: [obs.shape[1], obs.shape[0]], header, bitpix: -32 };
}

async function run(prepared: PreparedReconstruction, r: JobReporter<ReconstructProgress>): Promise<ReconstructionResult> {
  const p = prepared.params;
  const s = p.settings;
  let prior: ResolvedPrior | null = null;
  let lik: ConvolvedLikelihood | null = null;
  try {
    prior = await resolvePrior(p.prior);
    const ts = prior.model.trainedShape;
    const [ny, nx] = prepared.inShape;
    if (ts && (ts[0] !== ny || ts[1] !== nx)) {
      throw new JobInputError(`the prior ${prior.name} describes ${ts[0]}×${ts[1]} images but the forward model's unknown is ${ny}×${nx}: choose a prior of that size or change the model's shape`);
    }
    const flux = s.fluxScale ?? 1;
    const affine: Affine = { scale: flux * prior.normalisation.scale, offset: flux * prior.normalisation.offset };
    lik = new ConvolvedLikelihood({ operator: prepared.built.operator, data: prepared.obs.data, dataShape: prepared.obs.shape, noise: prepared.noise, affine, name: prepared.obs.name });
    const likelihood = lik;
    const hz = p.previewHz;
    const result = await runSampling(
      { prior: prior.model, sde: prior.sde, shape: [ny, nx], likelihood },
      {
        sampler: s.sampler,
        steps: s.steps,
        n: s.n,
        seed: s.seed,
        signal: r.signal,
        progressIntervalMs: 100,
        previewIntervalMs: hz > 0 ? 1000 / hz : 0,
        previewSamples: Math.min(s.n, 8),
        onProgress: (sp: SamplingProgress) => {
          const out: Omit<ReconstructProgress, 'jobId' | 'kind'> = { step: sp.step, steps: sp.steps, sigma: sp.sigma, chi2: sp.chi2, elapsedS: sp.elapsedS, etaS: sp.etaS };
          if (sp.preview && sp.preview.residual && sp.preview.dataShape) {
            const v = sp.preview;
            out.preview = { shape: [v.shape[0]!, v.shape[1]!], dataShape: v.dataShape!, samples: v.samples.slice(), nSamples: v.nSamples, mean: v.mean.slice(), std: v.std.slice(), residual: v.residual!.slice() };
          }
          r.progress(out);
        },
      },
    );
    // products in data units
    const per = ny * nx;
    const dataSamples = new Float32Array(result.samples.length);
    for (let i = 0; i < dataSamples.length; i++) dataSamples[i] = affine.scale * result.samples[i]! + affine.offset;
    const { mean, std } = meanStd(dataSamples, s.n, per);
    const residual = likelihood.normalisedResidual(mean);
    const meanPrior = tf.tidy(() => tf.mean(tf.tensor3d(result.samples, [s.n, ny, nx]), 0, true));
    const chi2 = likelihood.chi2PerPixel(meanPrior)[0]!;
    meanPrior.dispose();
    const report: Record<string, unknown> = {
      chi2PerPixel: chi2,
      n: s.n,
      steps: s.steps,
      sampler: result.sampler,
      samplerSettings: result.samplerSettings,
      backend: prepared.backend.backend,
      seconds: result.seconds,
      scoreEvaluations: result.scoreEvaluations,
      seed: s.seed,
      prior: p.prior,
      priorName: prior.name,
      fluxScale: flux,
      likelihood: likelihood.description,
      observedPixels: likelihood.observed,
      modelHash: prepared.modelHash,
      observation: { name: p.obs.name, hdu: p.obs.hdu, plane: p.obs.plane },
      warnings: [...prepared.warnings, ...likelihood.warnings],
      versions: versions(),
      date: new Date().toISOString(),
    };
    const summary: Record<string, number | string> = {
      chi2PerPixel: chi2,
      n: s.n,
      steps: s.steps,
      sampler: result.sampler,
      backend: prepared.backend.backend,
      seconds: +result.seconds.toFixed(2),
      scoreEvaluations: result.scoreEvaluations,
    };
    const obsImage = planeImage(prepared.obs, p.obs.plane, p.obs.hdu);
    const built = prepared.built;
    const priorName = prior.name;
    return {
      summary,
      products: () => productFiles({ obsImage, built, prepared, priorName, mean, std, residual, samples: dataSamples, report, chi2 }),
    };
  } finally {
    lik?.dispose();
    prior?.model.dispose();
    prepared.dispose();
  }
}

function productFiles(a: {
  obsImage: ReturnType<typeof planeImage>;
  built: BuiltModel;
  prepared: PreparedReconstruction;
  priorName: string;
  mean: Float32Array;
  std: Float32Array;
  residual: Float32Array;
  samples: Float32Array;
  report: Record<string, unknown>;
  chi2: number;
}): Products {
  const { prepared, obsImage } = a;
  const s = prepared.params.settings;
  const grid = resultGrid(a.built, true);
  const [ny, nx] = prepared.inShape;
  const command = `reconstruct (app) --prior ${prepared.params.prior} --sampler ${s.sampler} --n ${s.n} --steps ${s.steps} --seed ${s.seed}${s.fluxScale !== null ? ` --flux-scale ${s.fluxScale}` : ''}`;
  const provenance = {
    command,
    modelPath: 'M.json',
    modelHash: prepared.modelHash,
    backend: prepared.backend.backend,
    extra: { SKYPRIOR: a.priorName.slice(0, 60), SKYSAMP: String(a.report.sampler), SKYSTEPS: s.steps, SKYSEED: s.seed, SKYNSAMP: s.n, SKYCHI2: +a.chi2.toPrecision(6) },
  };
  const header = (sameGrid: boolean, shape: Shape2, what: string): FitsHeader => {
    const h = resultHeader(obsImage, sameGrid ? { sameAsInput: true } : grid, shape, provenance);
    h.set('SKYPROD', what, 'SkyScore product');
    if (what.startsWith('(y')) h.delete('BUNIT'); // the residual is in units of σ
    h.addHistory(`prior ${prepared.params.prior}`);
    h.addHistory(`sampler ${String(a.report.sampler)}, ${s.steps} steps, ${s.n} samples, seed ${s.seed}`);
    return h;
  };
  const onInputGrid = grid.sameAsInput;
  const img = (name: string, data: Float32Array, shape: Shape2, sameGrid: boolean, what: string, extraAxis?: number): NamedFile => ({
    name,
    bytes: writeFits([{ data, shape: extraAxis ? [shape[1], shape[0], extraAxis] : [shape[1], shape[0]], header: header(sameGrid, shape, what) }]),
  });
  return {
    files: [
      img('posterior-mean.fits', a.mean, [ny, nx], onInputGrid, 'posterior mean'),
      img('posterior-std.fits', a.std, [ny, nx], onInputGrid, 'posterior standard deviation'),
      img('posterior-samples.fits', a.samples, [ny, nx], onInputGrid, 'posterior samples', s.n),
      img('residual.fits', a.residual, prepared.outShape, true, '(y - A mean)/sigma'),
      { name: 'report.json', bytes: new TextEncoder().encode(JSON.stringify(a.report, null, 2) + '\n') },
    ],
    report: a.report,
  };
}

export const runReconstruction = { prepare, run };
