/**
 * Score engines for learned priors: which engine evaluates a model folder's network (ONNX Runtime or tfjs), and
 * the loading of ONNX priors (model.json kind "onnx"). Used by src-main/priors.ts.
 *
 * Choice, from the caller's options, else the environment (SKYSCORE_SCORE_ENGINE, SKYSCORE_ONNX_PROVIDER,
 * SKYSCORE_ONNX_THREADS), else 'auto':
 *   auto  ONNX Runtime when onnxruntime-node loads (provider chosen by runtime.ts), tfjs otherwise (with a note);
 *         with tfjs on a GPU and ONNX Runtime on the CPU, tfjs evaluates (score-model.ts)
 *   onnx  ONNX Runtime or an error saying why not
 *   tfjs  tfjs on the current backend (SkyScore U-Nets only: ONNX priors need ONNX Runtime)
 * Training and every gradient stay on tfjs.
 */
import { UserInputError } from '../../src-shared/errors.js';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { ScoreModel } from '../../src-shared/diffusion/types.js';
import type { PriorMeta } from '../../src-shared/diffusion/nn/prior-meta.js';
import { ScoreModelInputError, downFactor, type UnetScoreModel } from '../../src-shared/diffusion/nn/unet.js';
import { exportUnetOnnx } from '../../src-shared/diffusion/nn/onnx-export.js';
import { validateOnnxMeta, type OnnxPriorMeta } from '../../src-shared/diffusion/nn/onnx-meta.js';
import { SKYSCORE_VERSION } from '../version.js';
import { OnnxProviderInputError, OnnxSession, defaultOnnxThreads, isOnnxProvider, loadOrt, ONNX_PROVIDERS, type OnnxProvider } from './runtime.js';
import { OnnxScoreModel, type ScoreEngineReport } from './score-model.js';

export const SCORE_ENGINES = ['auto', 'onnx', 'tfjs'] as const;
export type ScoreEngineChoice = (typeof SCORE_ENGINES)[number];

export class ScoreEngineInputError extends UserInputError {
  override name = 'ScoreEngineInputError';
}

export interface ScoreEngineOptions {
  engine?: ScoreEngineChoice;
  provider?: OnnxProvider | 'auto';
  /** CPU provider's intra-op threads (default: one per core). */
  threads?: number | null;
}

export function isScoreEngine(s: string): s is ScoreEngineChoice {
  return (SCORE_ENGINES as readonly string[]).includes(s);
}

/** Options filled in from the environment; bad values are input errors naming the variable. */
export function resolveEngineOptions(o: ScoreEngineOptions = {}, env: NodeJS.ProcessEnv = process.env): Required<ScoreEngineOptions> {
  const engine = o.engine ?? (env.SKYSCORE_SCORE_ENGINE?.trim() || 'auto');
  if (!isScoreEngine(engine)) throw new ScoreEngineInputError(`SKYSCORE_SCORE_ENGINE must be one of ${SCORE_ENGINES.join(', ')}, got '${engine}'`);
  const provider = o.provider ?? (env.SKYSCORE_ONNX_PROVIDER?.trim() || 'auto');
  if (provider !== 'auto' && !isOnnxProvider(provider)) throw new ScoreEngineInputError(`SKYSCORE_ONNX_PROVIDER must be auto or one of ${ONNX_PROVIDERS.join(', ')}, got '${provider}'`);
  let threads = o.threads ?? null;
  const t = env.SKYSCORE_ONNX_THREADS?.trim();
  if (threads === null && t) {
    threads = Number(t);
    if (!Number.isInteger(threads) || threads < 1 || threads > 256) throw new ScoreEngineInputError(`SKYSCORE_ONNX_THREADS must be a positive integer, got '${t}'`);
  }
  return { engine, provider, threads };
}

/** The engine report of any score model (tfjs models have none of their own). */
export function scoreEngineReport(model: ScoreModel, backend: string): ScoreEngineReport & { backend?: string } {
  const m = model as ScoreModel & { engineReport?: () => ScoreEngineReport; engineNote?: string };
  if (typeof m.engineReport === 'function') return m.engineReport();
  return { engine: 'tfjs', backend, ...(m.engineNote ? { note: m.engineNote } : {}) };
}

/**
 * The U-Net of a model folder on the chosen engine: an OnnxScoreModel over its exported graph (built in memory
 * from the weights at load, ~0.2 s for galaxy-64; the tfjs model stays as its gradient twin), or the tfjs model
 * itself. `warnings` says when 'auto' fell back to tfjs.
 */
export async function unetOnEngine(tfjsModel: UnetScoreModel, meta: PriorMeta, sha256: string, opts: ScoreEngineOptions = {}): Promise<{ model: ScoreModel; warnings: string[] }> {
  const o = resolveEngineOptions(opts);
  const note = (text: string): ScoreModel => Object.assign(tfjsModel, { engineNote: text });
  if (o.engine === 'tfjs') return { model: note('chosen (--score-engine tfjs or SKYSCORE_SCORE_ENGINE)'), warnings: [] };
  let version: string;
  try {
    version = loadOrt().version;
  } catch (e) {
    if (o.engine === 'onnx') throw new ScoreEngineInputError(`--score-engine onnx: ${(e as Error).message}`);
    const why = `ONNX Runtime is not available (${(e as Error).message}); the score is evaluated by tfjs`;
    return { model: note(why), warnings: [why] };
  }
  try {
    const bytes = exportUnetOnnx(meta.arch, tfjsModel.params.flat(), { 'skyscore.source_sha256': sha256 }, SKYSCORE_VERSION);
    const session = await OnnxSession.create(bytes, { provider: o.provider, threads: o.threads });
    const model = new OnnxScoreModel({
      session,
      kind: 'unet',
      output: 'score',
      sizeMultiple: downFactor(meta.arch),
      trainedShape: tfjsModel.trainedShape,
      invariance: tfjsModel.invariance,
      twin: tfjsModel,
      auto: o.engine === 'auto',
      onnxruntimeVersion: version,
    });
    return { model, warnings: [] };
  } catch (e) {
    // an explicit engine or provider is honoured or fails; auto falls back to tfjs
    if (o.engine === 'onnx' || (e instanceof OnnxProviderInputError && o.provider !== 'auto')) throw e;
    const why = `ONNX Runtime could not run the network (${(e as Error).message.split('\n')[0]}); the score is evaluated by tfjs`;
    return { model: note(why), warnings: [why] };
  }
}

/**
 * How a sampling run on ONNX Runtime uses the machine: worker threads and the CPU provider's threads per worker.
 * On the CPU, by default one worker per core (at most N and 4) with the cores shared out as intra-op threads: a
 * worker does more than run the network (the sampler's arithmetic, the likelihood's solves, on tfjs, one thread),
 * and that part runs in parallel only across workers. Measured on a 2-core x86-64 CPU, the demo's reconstruction
 * (8 chains, galaxy-64): 31 s with 2 workers × 1 thread, 45 s with 1 worker × 2 threads (docs/onnx-priors.md).
 * A GPU provider gets one worker. null when tfjs evaluates the score (tfjs's own rule applies).
 */
export function onnxWorkerPlan(engine: ScoreEngineReport, workersGiven: number | null, n: number, opts: ScoreEngineOptions = {}): { workers: number; threads: number | null } | null {
  if (engine.engine !== 'onnx') return null;
  if (engine.provider !== 'cpu') return { workers: Math.max(1, Math.min(workersGiven ?? 1, n)), threads: null };
  const cores = defaultOnnxThreads();
  const workers = Math.max(1, Math.min(workersGiven ?? Math.min(cores, 4), n));
  const threads = resolveEngineOptions(opts).threads ?? Math.max(1, Math.floor(cores / workers));
  return { workers, threads };
}

/** Whether a folder's model.json declares an ONNX prior (without validating the rest). */
export async function isOnnxPriorFolder(dir: string): Promise<boolean> {
  try {
    const json = JSON.parse(await fs.readFile(path.join(dir, 'model.json'), 'utf8')) as { kind?: unknown };
    return json.kind === 'onnx';
  } catch {
    return false;
  }
}

/** Loads an ONNX prior folder: model.json (kind "onnx", validated) and its .onnx file on ONNX Runtime. */
export async function loadOnnxPrior(dir: string, opts: ScoreEngineOptions = {}): Promise<{ model: OnnxScoreModel; meta: OnnxPriorMeta; files: string[] }> {
  const o = resolveEngineOptions(opts);
  const metaFile = path.join(dir, 'model.json');
  let json: unknown;
  try {
    json = JSON.parse(await fs.readFile(metaFile, 'utf8'));
  } catch (e) {
    throw new ScoreModelInputError(`${metaFile}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : `not valid JSON (${(e as Error).message})`}`);
  }
  const meta = validateOnnxMeta(json, metaFile);
  if (o.engine === 'tfjs') throw new ScoreEngineInputError(`${dir}: an ONNX prior is evaluated by ONNX Runtime only (not --score-engine tfjs)`);
  const file = path.join(dir, meta.file);
  let bytes: Uint8Array;
  try {
    const b = await fs.readFile(file);
    bytes = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  } catch (e) {
    throw new ScoreModelInputError(`${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file (the network named by model.json)' : (e as Error).message}`);
  }
  let version: string;
  try {
    version = loadOrt().version;
  } catch (e) {
    throw new ScoreEngineInputError(`${dir}: an ONNX prior needs ONNX Runtime: ${(e as Error).message}`);
  }
  let session: OnnxSession;
  try {
    session = await OnnxSession.create(bytes, { provider: o.provider, threads: o.threads });
  } catch (e) {
    if (e instanceof OnnxProviderInputError && o.provider !== 'auto') throw e;
    throw new ScoreModelInputError(`${file}: ONNX Runtime cannot load it (${(e as Error).message.split('\n')[0]})`);
  }
  try {
    const model = new OnnxScoreModel({
      session,
      kind: 'onnx',
      output: meta.output,
      outputName: meta.outputName,
      sizeMultiple: meta.sizeMultiple,
      trainedShape: meta.imageShape,
      invariance: meta.invariance,
      twin: null,
      auto: false,
      onnxruntimeVersion: version,
    });
    return { model, meta, files: [metaFile, file] };
  } catch (e) {
    session.dispose();
    if (e instanceof ScoreModelInputError) throw new ScoreModelInputError(`${file}: ${e.message}`);
    throw e;
  }
}
