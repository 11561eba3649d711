/**
 * Posterior sampling as an engine job. prepare(): decode the observation plane, build the forward model from the
 * files sent, read the noise, resolve the prior — every input problem is reported before the job starts.
 * run(): the posterior driver with throttled progress and previews; the products for export.
 */
import { createHash } from 'node:crypto';
import type { BackendInfo, Products, ReconstructParams, ReconstructProgress, Shape2 } from '../../src-shared/protocol/index.js';
import { outputShape, type BuiltModel, type ModelSpec } from '../../src-shared/operators/model.js';
import { noiseMap, scalarNoise, validityMask, type NoiseModel, type Validity } from '../../src-shared/operators/noise.js';
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

async function run(prepared: PreparedReconstruction, _r: JobReporter<ReconstructProgress>): Promise<ReconstructionResult> {
  prepared.dispose();
  throw new JobInputError('posterior sampling is not available in this build yet');
}

export const runReconstruction = { prepare, run };
