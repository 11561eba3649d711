/**
 * Long jobs in the engine: posterior sampling (`job.reconstruct`) and prior training (`job.train`), one at a
 * time from a first-come-first-served queue (its places told by `job.queued` events), each with an id, progress events (throttled; previews as Float32Arrays a few times a second),
 * cancellation, and a final `job.done` or `job.error` event. Also the editor's requests (model.*, noise.*) and
 * the prior list. Runs in the engine process only.
 */
import { promises as fs, existsSync } from 'node:fs';
import path from 'node:path';
import type { EngineContext } from './handlers.js';
import type { CleanJobProgress, LensFitJobProgress, JobEvent, JobKind, JobMethods, NamedFile, PriorInfo, Products, ReconstructProgress, TrainProgress, UvPosteriorProgress } from '../../src-shared/protocol/index.js';
import { validateRequestModel, previewRequest, overlaysRequest, noiseEstimateRequest, noiseDescribeRequest, JobInputError } from './forward-model-requests.js';
import { reconstructJob, type ReconstructionResult } from './reconstruct-job.js';
import { runTraining } from './train-job.js';
import { putChunk } from './blobs.js';
import { readFitsImage } from '../../src-shared/fits/index.js';
import { UserInputError } from '../../src-shared/errors.js';
import { PriorInputError, gaussianFieldPrior, shippedModelsDir, userDir, type ResolvedPrior } from '../priors.js';
import { LIMITS } from '../../src-shared/protocol/limits.js';
import { CLIENT_FITS } from './limits.js';

const shape2 = (v: unknown): [number, number] | null =>
  Array.isArray(v) && v.length === 2 && v.every((n) => Number.isInteger(n) && n > 0) ? [v[0] as number, v[1] as number] : null;

/** The file that makes a prior folder an analytic Gaussian-field prior (spec `gaussian-field:<folder>/power-spectrum.fits`). */
export const POWER_SPECTRUM_FILE = 'power-spectrum.fits';

/**
 * A prior of the registry: what priors.list shows (its `spec` is the registry's id, `shipped/NAME` or
 * `user/NAME`: no path) and the spec the engine resolves it by (its folder).
 */
export interface PriorEntry {
  info: PriorInfo;
  local: string;
}

/** The registry id of the prior folder NAME of a source. */
export const priorId = (source: PriorInfo['source'], name: string) => `${source}/${name}`;

/** A Gaussian-field prior folder: power-spectrum.fits (P in numpy fft2 layout, data units) + README.md. */
async function readGaussianFieldFolder(dir: string, source: PriorInfo['source']): Promise<PriorEntry | null> {
  const file = path.join(dir, POWER_SPECTRUM_FILE);
  let p: { data: Float32Array | Float64Array; shape: number[] };
  try {
    p = readFitsImage(new Uint8Array(await fs.readFile(file)), undefined, { name: POWER_SPECTRUM_FILE });
  } catch {
    return null;
  }
  const [nx, ny] = p.shape;
  if (!nx || !ny || p.shape.slice(2).some((n) => n !== 1)) return null;
  let sum = 0;
  for (const v of p.data) sum += v;
  const mean = sum / (nx * ny);
  const card = await fs.readFile(path.join(dir, 'README.md'), 'utf8').catch(() => '');
  const info: PriorInfo = {
    spec: priorId(source, path.basename(dir)),
    name: path.basename(dir),
    kind: 'gaussian-field',
    source,
    imageShape: [ny, nx],
    // the prior's default SDE (GaussianFieldPrior.defaultSde): σmin = 10⁻³·√mean(P), σmax = √(2ΣP)
    sigmaMin: 1e-3 * Math.sqrt(mean),
    sigmaMax: Math.sqrt(2 * sum),
    card,
    facts: { prior: 'stationary Gaussian field (exact score)', 'pixel std': String(+Math.sqrt(mean).toPrecision(4)), units: 'data units (flux scale 1)' },
  };
  // the folder: resolvePrior reads a Gaussian-field folder as gaussian-field:FOLDER/power-spectrum.fits
  return { info, local: dir };
}

/** One prior folder (model.json + README.md, or a Gaussian field's power spectrum) as priors.list shows it, or null when it is not a readable prior. */
export async function readPriorFolder(dir: string, source: PriorInfo['source']): Promise<PriorInfo | null> {
  return (await readPriorEntry(dir, source))?.info ?? null;
}

async function readPriorEntry(dir: string, source: PriorInfo['source']): Promise<PriorEntry | null> {
  let meta: Record<string, unknown>;
  try {
    meta = JSON.parse(await fs.readFile(path.join(dir, 'model.json'), 'utf8')) as Record<string, unknown>;
  } catch {
    return existsSync(path.join(dir, POWER_SPECTRUM_FILE)) ? readGaussianFieldFolder(dir, source) : null;
  }
  const imageShape = shape2(meta.imageShape);
  if (!imageShape) return null;
  const sde = (meta.sde ?? {}) as Record<string, unknown>;
  const card = await fs.readFile(path.join(dir, 'README.md'), 'utf8').catch(() => '');
  const facts: Record<string, string> = {};
  const put = (k: string, v: unknown) => {
    if (typeof v === 'number' && Number.isFinite(v)) facts[k] = String(+v.toPrecision(5));
    else if (typeof v === 'string' && v) facts[k] = v;
  };
  put('training steps', meta.steps);
  put('images seen', meta.imagesSeen);
  put('validation loss', meta.validationLoss);
  put('trained', typeof meta.date === 'string' ? meta.date.slice(0, 10) : undefined);
  const data = meta.data as Record<string, unknown> | undefined;
  if (data) put('data', data.source ?? data.file ?? data.name);
  const arch = meta.arch as Record<string, unknown> | undefined;
  if (arch) put('width (nf)', arch.nf);
  const norm = meta.normalisation as Record<string, unknown> | undefined;
  if (norm) facts['normalisation'] = `(x − ${norm.offset ?? 0}) / ${norm.scale ?? 1}`;
  const np = meta.noisePrior as { statistics?: Record<string, unknown>; patch?: unknown; patches?: unknown } | undefined;
  const st = np?.statistics;
  const noise: PriorInfo['noise'] =
    st && typeof st.std === 'number'
      ? {
          sigma: st.std,
          madSigma: Number(st.madSigma ?? NaN),
          excessKurtosis: Number(st.excessKurtosis ?? NaN),
          lag1: { x: Number((st.lag1 as { x?: unknown } | undefined)?.x ?? 0), y: Number((st.lag1 as { y?: unknown } | undefined)?.y ?? 0) },
          source: String(data?.source ?? 'unknown').split(/[\\/]/).pop()!,
          patch: Number(np!.patch ?? 0),
          patches: Number(np!.patches ?? 0),
          steps: Number(meta.steps ?? 0),
        }
      : undefined;
  const info: PriorInfo = {
    ...(noise ? { noise } : {}),
    spec: priorId(source, path.basename(dir)),
    name: path.basename(dir),
    kind: typeof meta.kind === 'string' ? meta.kind : 'unknown',
    source,
    imageShape,
    sigmaMin: typeof sde.sigmaMin === 'number' ? sde.sigmaMin : null,
    sigmaMax: typeof sde.sigmaMax === 'number' ? sde.sigmaMax : null,
    card,
    facts,
  };
  return { info, local: dir };
}

async function scan(dir: string, source: PriorInfo['source']): Promise<PriorEntry[]> {
  if (!existsSync(dir)) return [];
  const names = (await fs.readdir(dir, { withFileTypes: true })).filter((d) => d.isDirectory() && !d.name.startsWith('.')).map((d) => d.name);
  names.sort();
  const out: PriorEntry[] = [];
  for (const n of names) {
    const p = await readPriorEntry(path.join(dir, n), source);
    if (p) out.push(p);
  }
  return out;
}

/** The prior registry: the shipped priors (models/) and the user's (<user folder>/models), as the engine resolves them. */
export async function priorRegistry(): Promise<{ entries: PriorEntry[]; userDir: string }> {
  const user = path.join(userDir(), 'models');
  return { entries: [...(await scan(shippedModelsDir(), 'shipped')), ...(await scan(user, 'user'))], userDir: user };
}

export async function listPriors(): Promise<{ priors: PriorInfo[]; userDir: string }> {
  const r = await priorRegistry();
  return { priors: r.entries.map((e) => e.info), userDir: r.userDir };
}

const ID_SHAPE = /^(shipped|user)\/[A-Za-z0-9][A-Za-z0-9._ +-]{0,100}$/;

/**
 * The spec the engine resolves for a prior a client names. A client names priors by their registry id (the
 * `spec` of priors.list); anything else — a path, `gaussian-field:FILE`, a folder — is refused before it reaches
 * the file system, with a message that repeats no path (and so tells nothing of what exists where).
 */
export async function registryPrior(given: string): Promise<string> {
  const { entries } = await priorRegistry();
  const hit = entries.find((e) => e.info.spec === given);
  if (hit) return hit.local;
  const offered = entries.length ? `: ${entries.map((e) => e.info.spec).join(', ')}` : ' (none is installed: train one, or install a model folder in the user folder)';
  const what = ID_SHAPE.test(given) ? `prior ${given} is not` : 'the prior must be named by its id in the list of priors, and this is not';
  throw new PriorInputError(`${what} one of this engine's priors${offered}, nor gaussian-field:NAME of a power spectrum sent with the request`);
}

/**
 * The prior of a reconstruction request: `gaussian-field:NAME` of a power spectrum among the request's files
 * (what a client brings, read from memory), else a registry id (registryPrior).
 */
export async function requestPrior(given: string, files: readonly NamedFile[]): Promise<string | ResolvedPrior> {
  if (given.startsWith('gaussian-field:')) {
    const name = given.slice('gaussian-field:'.length);
    const f = files.find((x) => x.name === name);
    if (f) return gaussianFieldPrior(f.bytes, name, undefined, CLIENT_FITS);
  }
  return registryPrior(given);
}

// ---- the job manager ----------------------------------------------------------------------------------------

export { CancelledError } from './cancel.js';

interface Job {
  id: string;
  kind: JobKind;
  controller: AbortController;
  state: 'queued' | 'running' | 'done' | 'error' | 'cancelled';
  result?: ReconstructionResult;
  /** Runs the job (once it leaves the queue). */
  run(): void;
  /** Frees what a queued job holds (its prepared problem) when it is cancelled before it runs. */
  discard(): void;
}

const jobs = new Map<string, Job>();
/** Jobs waiting, first come first served; one job runs at a time. */
const queue: Job[] = [];
let counter = 0;
/** Finished reconstructions kept for export (their products), oldest dropped first. */
const KEEP_DONE = 3;

function newId(kind: JobKind): string {
  counter++;
  return `${kind === 'reconstruct' ? 'run' : kind.toLowerCase()}-${Date.now().toString(36)}${counter.toString(36)}`;
}

function active(): Job | undefined {
  for (const j of jobs.values()) if (j.state === 'running') return j;
  return undefined;
}

function prune(): void {
  const done = [...jobs.values()].filter((j) => j.state !== 'running' && j.state !== 'queued');
  while (done.length > KEEP_DONE) jobs.delete(done.shift()!.id);
}

/** Transfer lists for events that carry pixels (worker_threads: zero-copy to the host). */
function transferOf(ev: JobEvent): ArrayBuffer[] {
  if (ev.event !== 'job.progress' || ev.data.kind !== 'reconstruct' || !ev.data.preview) return [];
  const p = ev.data.preview;
  const bufs = [p.samples.buffer, p.mean.buffer, p.std.buffer, p.residual.buffer] as ArrayBuffer[];
  return bufs.filter((b, i) => bufs.indexOf(b) === i);
}

export interface JobReporter<P> {
  signal: AbortSignal;
  /** Sends a progress event (the caller throttles; previews are copied before transfer). */
  progress(p: Omit<P, 'jobId' | 'kind'>): void;
}

/** Tells every waiting job its place (1: next), in the order they wait. */
function announceQueue(ctx: EngineContext): void {
  queue.forEach((j, i) => ctx.emit({ event: 'job.queued', data: { jobId: j.id, kind: j.kind, position: i + 1 } }));
}

/** Starts the next waiting job when none runs (after the current message's answer has gone out). */
function pump(ctx: EngineContext): void {
  setImmediate(() => {
    if (active() || queue.length === 0) return;
    const next = queue.shift()!;
    next.state = 'running';
    ctx.emit({ event: 'job.queued', data: { jobId: next.id, kind: next.kind, position: 0 } });
    announceQueue(ctx);
    next.run();
  });
}

/**
 * Queues a job (prepared: its input is checked) and returns its id and place: 0 when it starts at once, else
 * how many jobs run or wait before it. `job.queued` events tell it when its place changes (0: it starts).
 */
export function start<R>(
  kind: JobKind,
  ctx: EngineContext,
  body: (r: JobReporter<ReconstructProgress | TrainProgress | CleanJobProgress | UvPosteriorProgress | LensFitJobProgress>) => Promise<{ summary: Record<string, number | string>; result?: R }>,
  discard: () => void = () => {},
): { jobId: string; queued: number } {
  if (queue.length >= LIMITS.queuedJobs) {
    throw new JobInputError(`${queue.length} jobs are waiting, as many as the engine queues (docs/serve.md): start this one when one has ended`);
  }
  const emit = (ev: JobEvent) => ctx.emit(ev, transferOf(ev));
  const job: Job = {
    id: newId(kind),
    kind,
    controller: new AbortController(),
    state: 'queued',
    discard,
    run: () => {
      const reporter: JobReporter<ReconstructProgress | TrainProgress | CleanJobProgress | UvPosteriorProgress | LensFitJobProgress> = {
        signal: job.controller.signal,
        progress: (p) => emit({ event: 'job.progress', data: { ...p, jobId: job.id, kind } as ReconstructProgress | TrainProgress | CleanJobProgress | UvPosteriorProgress | LensFitJobProgress }),
      };
      const finish = () => {
        prune();
        pump(ctx);
      };
      body(reporter).then(
        ({ summary, result }) => {
          job.state = 'done';
          job.result = result as ReconstructionResult | undefined;
          emit({ event: 'job.done', data: { jobId: job.id, kind, summary } });
          finish();
        },
        (e: Error) => {
          const cancelled = job.controller.signal.aborted || e?.name === 'CancelledError' || e?.name === 'AbortError';
          job.state = cancelled ? 'cancelled' : 'error';
          const code = cancelled ? 'cancelled' : e instanceof UserInputError ? 'input' : 'internal';
          if (code === 'internal') console.error(`[engine] ${kind} job ${job.id} failed:`, e?.stack ?? e);
          emit({ event: 'job.error', data: { jobId: job.id, kind, message: cancelled ? 'stopped' : (e?.message ?? String(e)), code } });
          finish();
        },
      );
    },
  };
  const ahead = queue.length + (active() ? 1 : 0);
  jobs.set(job.id, job);
  queue.push(job);
  pump(ctx);
  return { jobId: job.id, queued: ahead };
}

/**
 * Cancels a job: a running one stops at its next cancellation point, a waiting one leaves the queue at once. With
 * `keep`, a running reconstruction (from an image or from visibilities) ends with the products of what it has (the
 * signal's reason is 'keep').
 */
function cancel(job: Job, ctx: EngineContext, keep = false): boolean {
  if (job.state === 'running') {
    job.controller.abort(keep && (job.kind === 'reconstruct' || job.kind === 'posterior') ? 'keep' : undefined);
    return true;
  }
  if (job.state !== 'queued') return false;
  queue.splice(queue.indexOf(job), 1);
  job.state = 'cancelled';
  job.controller.abort();
  job.discard();
  ctx.emit({ event: 'job.error', data: { jobId: job.id, kind: job.kind, message: 'stopped', code: 'cancelled' } });
  announceQueue(ctx);
  prune();
  return true;
}

export const jobHandlers: { [M in keyof JobMethods]: (params: JobMethods[M]['params'], ctx: EngineContext) => Promise<JobMethods[M]['result']> } = {
  'blob.put': async (p) => putChunk(p.key, p.offset, p.total, p.bytes),
  'model.validate': async (p, ctx) => {
    await ctx.backend();
    return validateRequestModel(p);
  },
  'model.preview': async (p, ctx) => {
    await ctx.backend();
    return previewRequest(p);
  },
  'model.overlays': async (p, ctx) => {
    await ctx.backend();
    return overlaysRequest(p);
  },
  'noise.estimate': async (p) => noiseEstimateRequest(p),
  'noise.describe': async (p) => noiseDescribeRequest(p),
  'priors.list': async () => listPriors(),
  'job.reconstruct': async (p, ctx) => {
    const backend = await ctx.backend();
    // Everything that can be checked before the job starts is checked here, so bad input is the request's error.
    const prepared = await reconstructJob.prepare(p, backend, await requestPrior(p.prior, p.files));
    try {
      const { jobId, queued } = start(
        'reconstruct',
        ctx,
        async (r) => {
          const result = await reconstructJob.run(prepared, r as JobReporter<ReconstructProgress>);
          return { summary: result.summary, result };
        },
        () => prepared.dispose(),
      );
      return { jobId, queued, inShape: prepared.inShape, outShape: prepared.outShape, n: p.settings.n, steps: p.settings.steps, warnings: prepared.warnings };
    } catch (e) {
      prepared.dispose();
      throw e;
    }
  },
  'job.cancel': async (p, ctx) => {
    const j = jobs.get(p.jobId);
    if (!j) throw new JobInputError(`job.cancel: no job ${p.jobId} (it may have ended before an engine restart)`);
    return { cancelled: cancel(j, ctx, p.keep === true) };
  },
  'job.products': async (p): Promise<Products> => {
    const j = jobs.get(p.jobId);
    if (!j) throw new JobInputError(`job.products: no job ${p.jobId} (the engine keeps the last ${KEEP_DONE} runs; after an engine restart, run again)`);
    if (j.kind !== 'reconstruct') throw new JobInputError(`job.products: ${p.jobId} is a ${j.kind === 'clean' ? 'CLEAN job; its products come with uv.products' : j.kind === 'posterior' ? 'posterior from visibilities; its products come with uv.posteriorProducts' : j.kind === 'lensFit' ? 'lens fit; its products come with lens.products' : 'training job; its result is the prior folder'}`);
    if (j.state !== 'done' || !j.result) throw new JobInputError(`job.products: ${p.jobId} has not finished (${j.state})`);
    return j.result.products();
  },
  'job.train': async (p, ctx) => {
    const backend = await ctx.backend();
    const out = path.join(userDir(), 'models', p.name);
    const prepared = await runTraining.prepare(p, out, backend);
    const { jobId, queued } = start('train', ctx, async (r) => ({ summary: await runTraining.run(prepared, r as JobReporter<TrainProgress>) }));
    return { jobId, out, queued };
  },
};
