/**
 * Posterior sampling as an engine job. prepare(): decode the observation plane, build the forward model from the
 * files sent, read the noise, resolve the prior — every input problem is reported before the job starts.
 * run(): the posterior driver with throttled progress and previews; the products for export.
 */
import { createHash } from 'node:crypto';
import type { BackendInfo, NamedFile, Products, ReconstructParams, ReconstructProgress, Shape2 } from '../../src-shared/protocol/index.js';
import { outputShape, type BuiltModel, type ModelSpec } from '../../src-shared/operators/model.js';
import { noiseMap, scalarNoise, validityMask, type NoiseModel, type Validity } from '../../src-shared/operators/noise.js';
import { ConvolvedLikelihood, type Affine } from '../../src-shared/diffusion/likelihood.js';
import { runSampling, type SamplingProgress } from '../../src-shared/diffusion/posterior.js';
import { drawsEndingNote, meanEstimateNote, posteriorProducts, reconstructionReport } from '../../src-shared/diffusion/products.js';
import { writeFits, type FitsHeader } from '../../src-shared/fits/index.js';
import { scoreEngineReport } from '../onnx/priors.js';
import { affineFor, checkPriorShape, chooseFluxScale, resolvePrior, type ResolvedPrior } from '../priors.js';
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

const WCS_HIGH_AXIS = /^(CTYPE|CRVAL|CRPIX|CDELT|CUNIT|CROTA|CNAME|CRDER|CSYER)([3-9])$|^(PC|CD)([3-9]_\d|\d_[3-9])$|^(PV|PS)[3-9]_\d+$/;

/** The observation plane as an image file for result headers: a cube's other axes' WCS removed. */
function planeImage(obs: DecodedObs, plane: number, hdu: number) {
  const header = obs.header.clone();
  if ((header.getNumber('NAXIS') ?? 2) > 2) {
    for (const k of new Set(header.cards.map((c) => c.key))) if (WCS_HIGH_AXIS.test(k)) header.delete(k);
    header.set('WCSAXES', 2);
    header.addHistory(`plane ${plane + 1} (1-based) of HDU ${hdu} of ${obs.name}`);
  }
  return { data: obs.data, shape: obs.shape, fitsShape: [obs.shape[1], obs.shape[0]], header, bitpix: -32 };
}

/**
 * Samples the posterior as `skyscore reconstruct` does (the same prior resolution, flux-scale rule, likelihood,
 * products, report and FITS headers), with progress and previews for the app. A prior of another size than the
 * unknown is refused here (the CLI allows a fully convolutional U-Net with a warning; the app keeps to the safe side).
 */
async function run(prepared: PreparedReconstruction, r: JobReporter<ReconstructProgress>): Promise<ReconstructionResult> {
  const p = prepared.params;
  const s = p.settings;
  let prior: ResolvedPrior | null = null;
  let lik: ConvolvedLikelihood | null = null;
  try {
    try {
      prior = await resolvePrior(p.prior);
    } catch (e) {
      // a missing or unreadable prior folder is the user's input, whatever class the resolver used
      if (/InputError$|UsageError/.test((e as Error).name)) throw new JobInputError((e as Error).message, { cause: e });
      throw e;
    }
    if (prior.kind === 'analytic') throw new JobInputError(`${p.prior} is a 2-D density, not an image prior`);
    const [ny, nx] = prepared.inShape;
    const ts = prior.model.trainedShape;
    if (ts && (ts[0] !== ny || ts[1] !== nx)) {
      throw new JobInputError(`the prior ${prior.name} describes ${ts[0]}×${ts[1]} images but the forward model's unknown is ${ny}×${nx}: choose a prior of that size or change the model's shape`);
    }
    const warnings = [...prepared.warnings, ...prior.warnings];
    const shapeNote = checkPriorShape(prior, [ny, nx]);
    if (shapeNote) warnings.push(shapeNote);
    const flux = chooseFluxScale(prior, prepared.obs.data, s.fluxScale, 'flux scale in the app');
    const affine: Affine = affineFor(prior, flux);
    lik = new ConvolvedLikelihood({ operator: prepared.built.operator, data: prepared.obs.data, dataShape: prepared.obs.shape, noise: prepared.noise, affine, name: prepared.obs.name });
    warnings.push(...lik.warnings.filter((w) => !warnings.includes(w)));
    const hz = p.previewHz;
    const result = await runSampling(
      { prior: prior.model, sde: prior.sde, shape: [ny, nx], likelihood: lik },
      {
        sampler: s.sampler,
        steps: s.steps,
        n: s.n,
        seed: s.seed,
        batchSize: Math.min(s.n, 16),
        signal: r.signal,
        progressIntervalMs: 100,
        previewIntervalMs: hz > 0 ? 1000 / hz : 0,
        previewSamples: Math.min(s.n, 8),
        onProgress: (sp: SamplingProgress) => {
          const out: Omit<ReconstructProgress, 'jobId' | 'kind'> = { step: sp.step, steps: sp.steps, sigma: sp.sigma, chi2: sp.chi2, elapsedS: sp.elapsedS, etaS: sp.etaS };
          const v = sp.preview;
          if (v && v.residual && v.dataShape) {
            out.preview = { shape: [v.shape[0]!, v.shape[1]!], dataShape: v.dataShape, samples: v.samples.slice(), nSamples: v.nSamples, mean: v.mean.slice(), std: v.std.slice(), residual: v.residual.slice() };
          }
          r.progress(out);
        },
      },
    );
    const products = await posteriorProducts(result, affine, lik);
    const noiseText = p.noise.kind === 'sigma' ? String(p.noise.sigma) : p.noise.file;
    const command = `reconstruct --obs ${p.obs.name} --model M.json --prior ${p.prior} --noise ${noiseText} --n ${s.n} --steps ${s.steps} --seed ${s.seed} --sampler ${result.sampler} --flux-scale ${flux.value.toPrecision(8)}`;
    const report = reconstructionReport(
      products,
      result,
      {
        command: `skyscore ${command} (from the app)`,
        prior: { spec: p.prior, kind: prior.kind, sde: prior.sde, trainedShape: prior.shape, normalisation: prior.normalisation },
        backend: prepared.backend.backend,
        versions: { ...versions() } as Record<string, string>,
        fluxScale: flux,
        model: { path: 'M.json', sha256: prepared.modelHash },
        observation: { path: p.obs.name, hdu: p.obs.hdu },
        noise: noiseText,
        warnings,
      },
      lik,
    );
    report.priorSha256 = prior.sha256;
    report.scoreEngine = scoreEngineReport(prior.model, prepared.backend.backend);
    report.plane = p.obs.plane;
    const summary: Record<string, number | string> = {
      n: s.n,
      steps: s.steps,
      sampler: result.sampler,
      backend: prepared.backend.backend,
      seconds: +result.seconds.toFixed(2),
      scoreEvaluations: result.scoreEvaluations,
      fluxScale: +flux.value.toPrecision(6),
    };
    if (products.chi2PerPixel !== null) summary.chi2PerPixel = products.chi2PerPixel;
    const obsImage = planeImage(prepared.obs, p.obs.plane, p.obs.hdu);
    const prov = {
      command,
      modelPath: 'M.json',
      modelHash: prepared.modelHash,
      backend: prepared.backend.backend,
      extra: {
        'SKYSCORE PRIOR': prior.name.slice(0, 40),
        'SKYSCORE PRIORSHA': prior.sha256.slice(0, 40),
        'SKYSCORE SAMPLER': result.sampler,
        'SKYSCORE STEPS': s.steps,
        'SKYSCORE SEED': s.seed,
        'SKYSCORE NSAMPLES': s.n,
        'SKYSCORE FLUXSCALE': Number(flux.value.toPrecision(10)),
        'SKYSCORE BACKGROUND': Number((flux.background ?? 0).toPrecision(10)),
      },
    };
    const hist = [`prior ${p.prior} sha256 ${prior.sha256}`, `sampler ${result.sampler}, ${s.steps} steps, ${s.n} samples, seed ${s.seed}`, `likelihood: ${lik.description}`];
    const built = prepared.built;
    const grid = resultGrid(built, true);
    return {
      summary,
      products: () => {
        const header = (onUnknownGrid: boolean, shape: Shape2, what: string, extra: string[] = []): FitsHeader => {
          const h = resultHeader(obsImage, onUnknownGrid ? grid : { sameAsInput: true }, shape, prov);
          h.set('SKYPROD', what, 'SkyScore product');
          for (const line of [...hist, ...extra]) h.addHistory(line);
          return h;
        };
        const xs: number[] = [nx, ny];
        const samplesH = header(true, [ny, nx], 'posterior samples', drawsEndingNote(result));
        const resH = header(false, prepared.outShape, '(y - A mean)/sigma', [`chi2 per observed pixel of the mean ${products.chi2PerPixel?.toPrecision(6)}`]);
        resH.delete('BUNIT');
        const files: NamedFile[] = [
          { name: 'posterior-mean.fits', bytes: writeFits([{ data: products.mean, shape: xs, header: header(true, [ny, nx], 'posterior mean', [meanEstimateNote(result)]), bitpix: -32 }]) },
          { name: 'posterior-std.fits', bytes: writeFits([{ data: products.std, shape: xs, header: header(true, [ny, nx], 'posterior standard deviation', drawsEndingNote(result)), bitpix: -32 }]) },
          { name: 'posterior-samples.fits', bytes: writeFits([{ data: products.samples, shape: [nx, ny, s.n], header: samplesH, bitpix: -32 }]) },
          { name: 'residual.fits', bytes: writeFits([{ data: products.residual!, shape: [prepared.outShape[1], prepared.outShape[0]], header: resH, bitpix: -32 }]) },
          { name: 'report.json', bytes: new TextEncoder().encode(JSON.stringify(report, null, 2) + '\n') },
        ];
        return { files, report };
      },
    };
  } finally {
    lik?.dispose();
    prior?.dispose();
    prepared.dispose();
  }
}

export const runReconstruction = { prepare, run };
