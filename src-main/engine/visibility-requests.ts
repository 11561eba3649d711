/**
 * The engine's visibility files for the app: `uv.open` reads a UVFITS file a client sent (its summary as
 * `skyscore info` gives it, the default geometry, the points the uv-coverage and amplitude plots draw) and keeps
 * it by id; `uv.image` makes the dirty image and beam — between its stages it lets other requests in, and a newer
 * `uv.image` of the same file, `uv.cancelImage` or `uv.close` stops it (it answers 'cancelled') —, `job.clean`
 * CLEANs as a job with progress and
 * cancellation, `uv.products` gives a finished CLEAN's products. The products are the FITS files of
 * `skyscore clean` (reconstruct/clean-products.ts, the same code), so the app exports the CLI's bytes; with
 * `selfcal`, the job runs the command line's self-calibration loop (selfcalSteps, the same settings) first, images
 * the corrected visibilities with its HISTORY line, and adds NAME-gains.json (gainTableJson). The
 * posterior from the visibilities (`job.reconstructVis`, `uv.posteriorProducts`) is in vis-posterior-job.ts.
 */
import type { EngineContext } from './handlers.js';
import type {
  CleanJobProgress,
  CleanProductsResult,
  NamedFile,
  RadioMethods,
  UvCleanParams,
  UvImagingParams,
  UvOpenResult,
  UvPlotData,
  UvSelfcalReport,
  UvSelfcalSettings,
  UvSourceChoice,
  UvSourceEntry,
} from '../../src-shared/protocol/index.js';
import { LIMITS } from '../../src-shared/protocol/limits.js';
import { noVisibilitiesMessage, readUvfits, selectVisibilities, defaultProduct, summariseUv, UvfitsInputError, type UvfitsFile, type Visibilities } from '../../src-shared/radio/uvfits.js';
import { thermalCheck } from '../../src-shared/radio/weighting.js';
import { ARCSEC, type ImageGrid } from '../../src-shared/radio/grid.js';
import { chooseMeasurement } from '../../src-shared/radio/measurement.js';
import { describeRound, gainPhaseRms, gainTableFile, selfcalFlags, selfcalHistory, selfcalSteps, type SelfcalResult, type SelfcalRound } from '../../src-shared/radio/selfcal.js';
import { cleanProducts, cleanProductsSync, imagingGeometry, type ImagingSettings } from '../reconstruct/clean-products.js';
import { CLIENT_FITS, checkGrid, RequestLimitError } from './limits.js';
import { start, type JobReporter } from './jobs.js';
import { CancelledError } from './cancel.js';
import { posteriorProductsOf, startVisPosterior } from './vis-posterior-job.js';

const MAX_FILES = 4;
/** Finished CLEAN jobs whose products are kept, oldest dropped first. */
const KEEP_DONE = 3;

export interface OpenUv {
  id: string;
  name: string;
  uv: UvfitsFile;
  vis: Visibilities;
  /** Indices of the plotted visibilities. */
  plotIdx: Int32Array;
}

const files = new Map<string, OpenUv>();
let nextId = 1;
const done = new Map<string, CleanProductsResult>();

/** The name of a file without folders (a client may send a path-like name; HISTORY gives the base name). */
export function baseName(name: string): string {
  return name.split(/[\\/]/).filter(Boolean).pop() ?? name;
}

/** The products' prefix: the file's stem (NAME-dirty.fits, …). */
export function productStem(name: string): string {
  const b = baseName(name).replace(/\.gz$/i, '');
  return b.replace(/\.(uvfits|uvf|fits|fit)$/i, '') || 'image';
}

/** The plotted subset: every visibility, or `LIMITS.uvPlotPoints` evenly spaced ones (⌊k·n/shown⌋). */
export function plotIndices(n: number, max: number = LIMITS.uvPlotPoints): Int32Array {
  const shown = Math.min(n, max);
  return Int32Array.from({ length: shown }, (_, k) => Math.floor((k * n) / shown));
}

function plotData(vis: Visibilities, idx: Int32Array): UvPlotData {
  const u = new Float32Array(idx.length);
  const v = new Float32Array(idx.length);
  const amp = new Float32Array(idx.length);
  const uvdist = new Float32Array(idx.length);
  idx.forEach((k, i) => {
    u[i] = vis.u[k];
    v[i] = vis.v[k];
    amp[i] = Math.hypot(vis.re[k], vis.im[k]);
    uvdist[i] = Math.hypot(vis.u[k], vis.v[k]);
  });
  return { total: vis.n, shown: idx.length, u, v, amp, uvdist };
}

/** Sources whose usable visibilities `uv.open` counts (one pass over the file each); more are listed uncounted. */
export const COUNTED_SOURCES = 32;

/** The sources of a file of several (the SOURCE parameter), with each one's usable visibilities of `product`; null otherwise. */
export function sourceEntries(uv: UvfitsFile, product: string, name: string): UvSourceEntry[] | null {
  const srcs = uv.meta.sources;
  if (!srcs || srcs.length < 2) return null;
  return srcs.map((s) => {
    let visibilities: number | null = null;
    if (srcs.length <= COUNTED_SOURCES) {
      try {
        visibilities = selectVisibilities(uv, product, name, String(s.id)).n;
      } catch {
        visibilities = null;
      }
    }
    return { id: s.id, name: s.name, ...(s.ra !== undefined && s.dec !== undefined ? { ra: s.ra, dec: s.dec } : {}), groups: s.groups, visibilities };
  });
}

/** The sources of a file to choose from (null for a file of one source); the file is not kept. */
export function uvSources(name: string, bytes: Uint8Array, stokes?: string): UvSourceChoice {
  const uv = readUvfits(bytes, name, CLIENT_FITS);
  const product = stokes?.toUpperCase() ?? defaultProduct(uv.meta);
  return { name, bytes: bytes.byteLength, telescope: uv.meta.telescope, dateObs: uv.meta.dateObs, groups: uv.gcount, product, sources: sourceEntries(uv, product, name) };
}

/**
 * Opens a visibility file: `source` picks one of a multi-source file (by name or SOURCE number, as --source); a file
 * of several sources without one is refused as the command line refuses it, naming them (uv.sources lists them).
 */
export function openUv(name: string, bytes: Uint8Array, stokes?: string, source?: string): UvOpenResult {
  const uv = readUvfits(bytes, name, CLIENT_FITS);
  const product = stokes?.toUpperCase() ?? defaultProduct(uv.meta);
  const sources = sourceEntries(uv, product, name);
  const vis = selectVisibilities(uv, product, name, source);
  const summary = summariseUv(uv, vis);
  let defaults: UvOpenResult['defaults'] = null;
  if (vis.n > 0) {
    const g = imagingGeometry(uv, vis, {});
    defaults = { size: g.grid.nx, cellArcsec: g.grid.cell / ARCSEC, notes: g.notes };
  }
  const plotIdx = plotIndices(vis.n);
  const id = `uv${nextId++}`;
  files.set(id, { id, name, uv, vis, plotIdx });
  while (files.size > MAX_FILES) files.delete(files.keys().next().value as string);
  const chosen = vis.source && sources ? { id: vis.source.id, name: vis.source.name } : null;
  return { fileId: id, name, bytes: bytes.byteLength, summary, sources, source: chosen, thermal: thermalCheck(vis), defaults, plot: plotData(vis, plotIdx) };
}

export function getFile(fileId: string): OpenUv {
  const f = files.get(fileId);
  if (!f) throw new UvfitsInputError(`no open visibility file '${fileId}' (it was closed or dropped); open it again`);
  files.delete(fileId);
  files.set(fileId, f);
  return f;
}

/** The settings of a request, checked against the engine's limits; the grid they give. */
function prepare(p: UvImagingParams, niter: number, extra: Partial<ImagingSettings> = {}): { f: OpenUv; grid: ImageGrid; settings: ImagingSettings } {
  const f = getFile(p.fileId);
  if (f.vis.n === 0) {
    throw new UvfitsInputError(noVisibilitiesMessage(f.name, f.vis));
  }
  if (p.robust !== undefined && p.weighting !== 'briggs') throw new UvfitsInputError('robust applies to Briggs weighting only');
  const { grid } = imagingGeometry(f.uv, f.vis, { size: p.size, cellArcsec: p.cellArcsec });
  checkGrid([grid.ny, grid.nx], 'the image');
  // the dirty beam is made on the double grid
  if (4 * grid.nx * grid.ny > LIMITS.imagePixels) {
    throw new RequestLimitError(
      `the image is ${grid.nx}×${grid.ny}: its dirty beam on the ${2 * grid.nx}×${2 * grid.ny} double grid is over this engine's limit of ${LIMITS.imagePixels} pixels (docs/serve.md; the command line has none): choose a smaller size`,
    );
  }
  const settings: ImagingSettings = {
    weighting: p.weighting,
    robust: p.robust ?? 0,
    niter,
    gain: 0.1,
    threshold: 0,
    method: 'cotton-schwab',
    measure: 'auto',
    ...extra,
  };
  return { f, grid, settings };
}

function named(files: { name: string; bytes: Uint8Array }[]): NamedFile[] {
  return files.map((x) => ({ name: x.name, bytes: x.bytes }));
}

/** The running dirty-image request of each open file, and what stops it. */
const imaging = new Map<string, AbortController>();

/** Stops a file's running dirty image (it answers 'cancelled' with `why`); whether there was one. */
function cancelImaging(fileId: string, why: string): boolean {
  const c = imaging.get(fileId);
  if (!c) return false;
  imaging.delete(fileId);
  c.abort(why);
  return true;
}

/**
 * The dirty image and beam (`skyscore clean --niter 0`'s files), made between events: the engine answers other
 * requests between the imaging stages, and a newer uv.image of the same file, uv.cancelImage or uv.close stops
 * this one there (CancelledError: the answer's code is 'cancelled').
 */
export async function imageUv(p: UvImagingParams): Promise<RadioMethods['uv.image']['result']> {
  const { f, grid, settings } = prepare(p, 0);
  cancelImaging(f.id, 'superseded by a newer dirty image request');
  const ctl = new AbortController();
  imaging.set(f.id, ctl);
  const it = cleanProducts(f.vis, grid, baseName(f.name), productStem(f.name), settings);
  let r: ReturnType<typeof cleanProductsSync>;
  try {
    for (;;) {
      await new Promise((res) => setImmediate(res));
      if (ctl.signal.aborted) throw new CancelledError(`dirty image of ${f.name} stopped: ${String(ctl.signal.reason)}`);
      const step = it.next();
      if (step.done) {
        r = step.value;
        break;
      }
    }
  } finally {
    if (imaging.get(f.id) === ctl) imaging.delete(f.id);
  }
  return {
    files: named(r.files),
    size: grid.nx,
    cellArcsec: grid.cell / ARCSEC,
    beam: { bmaj: r.beam.bmaj, bmin: r.beam.bmin, bpa: r.beam.bpa },
    noise: r.noise,
    measurement: r.measurement.kind,
    notes: [...f.vis.notes],
  };
}

/** The rounds as the protocol gives them: each round's figures and describeRound's line. */
export function selfcalRounds(rounds: SelfcalRound[]): UvSelfcalReport['rounds'] {
  return rounds.map((x) => ({ ...x, text: describeRound(x) }));
}

/** What the self-calibration of a CLEAN did (the figures `skyscore clean --selfcal` prints). */
function selfcalReport(sc: SelfcalResult, before: number, flags: string): UvSelfcalReport {
  return {
    flags,
    start: sc.start,
    ...(sc.closure ? { closure: sc.closure } : {}),
    before: sc.initial,
    rounds: selfcalRounds(sc.rounds),
    phaseRmsDeg: gainPhaseRms(sc.gains),
    solutions: sc.gains.solutions,
    failed: sc.gains.failed,
    kept: sc.vis.n,
    of: before,
  };
}

/** |V| of the corrected data at the plotted visibilities of the raw ones: |V| / |g_i g_j|; NaN where left out. */
function correctedAmplitudes(f: OpenUv, sc: SelfcalResult): Float32Array {
  const t = sc.gains;
  return Float32Array.from(f.plotIdx, (k) => {
    const p = t.slot1[k]!;
    const q = t.slot2[k]!;
    if (!t.ok[p] || !t.ok[q]) return NaN;
    return Math.hypot(f.vis.re[k]!, f.vis.im[k]!) / (Math.hypot(t.gRe[p]!, t.gIm[p]!) * Math.hypot(t.gRe[q]!, t.gIm[q]!));
  });
}

/**
 * The command line that gives a CLEAN's products (`skyscore clean`, the file by its base name, NAME the file's
 * stem): the `command` of the app's NAME-gains.json. The cell as the request gave it, else the default's to the last
 * digit JavaScript prints.
 */
export function cleanCommandLine(f: OpenUv, grid: ImageGrid, cellArcsec: number | undefined, s: ImagingSettings, sc: UvSelfcalSettings | undefined): string {
  const source = f.vis.source ? ` --source ${/^[\w.+-]+$/.test(f.vis.source.name) ? f.vis.source.name : String(f.vis.source.id)}` : '';
  return (
    `skyscore clean --vis ${baseName(f.name)} --out ${productStem(f.name)} --size ${grid.nx} --cell ${cellArcsec ?? grid.cell / ARCSEC} --weighting ${s.weighting}` +
    `${s.weighting === 'briggs' ? ` --robust ${s.robust}` : ''} --stokes ${f.vis.product}${source} --niter ${s.niter} --gain ${s.gain} --threshold ${s.threshold} --${s.method}` +
    (sc ? ` ${selfcalFlags(sc)}` : '')
  );
}

/**
 * Runs a prepared CLEAN, yielding to the event loop between its steps (progress, cancellation). With `sc`, the
 * self-calibration loop runs first (yielding between its CLEANs and rounds, where a cancellation stops it) and the CLEAN is
 * of the corrected data.
 */
async function runClean(f: OpenUv, grid: ImageGrid, settings: ImagingSettings, r: JobReporter<CleanJobProgress>, sc?: UvSelfcalSettings, cellArcsec?: number): Promise<CleanProductsResult> {
  const t0 = performance.now();
  let data = f.vis;
  let history: string[] = [];
  let cal: { report: UvSelfcalReport; dataAmp: Float32Array; gains: NamedFile } | null = null;
  if (sc) {
    r.progress({ iterations: 0, niter: settings.niter, majorCycles: 0, peak: 0, elapsedS: 0, stage: 'selfcal' });
    await new Promise((res) => setImmediate(res));
    if (r.signal.aborted) throw new CancelledError();
    // as `skyscore clean --selfcal`: the loop with the CLEAN's own settings, on the image grid
    const steps = selfcalSteps(f.vis, grid, {
      mode: sc.mode,
      rounds: sc.rounds,
      solint: sc.solint,
      start: sc.start,
      clean: { weighting: settings.weighting, robust: settings.robust, niter: settings.niter, gain: settings.gain, threshold: settings.threshold, method: settings.method, measure: settings.measure, mask: settings.mask },
    });
    // between its CLEANs and rounds the engine answers other requests, and a cancellation stops the loop there
    let res: SelfcalResult;
    for (;;) {
      const step = steps.next();
      if (r.signal.aborted) throw new CancelledError();
      if (step.done) {
        res = step.value;
        break;
      }
      await new Promise((res) => setImmediate(res));
      if (r.signal.aborted) throw new CancelledError();
    }
    data = res.vis;
    if (data.n === 0) throw new UvfitsInputError(`${f.name}: self-calibration left no visibility (every antenna solution failed)`);
    const flags = selfcalFlags(sc);
    history = [selfcalHistory(res, flags, f.vis.n)];
    cal = {
      report: selfcalReport(res, f.vis.n, flags),
      dataAmp: correctedAmplitudes(f, res),
      gains: {
        name: `${productStem(f.name)}-gains.json`,
        bytes: gainTableFile(res, f.uv.meta.antennas, { file: baseName(f.name), command: cleanCommandLine(f, grid, cellArcsec, settings, sc) }),
      },
    };
  }
  const it = cleanProducts(data, grid, baseName(f.name), productStem(f.name), { ...settings, history });
  let last = 0;
  for (;;) {
    if (r.signal.aborted) throw new CancelledError();
    const step = it.next();
    if (step.done) {
      const p = step.value;
      const c = p.clean!;
      // the model's visibilities at the plotted points
      const u = Float64Array.from(f.plotIdx, (k) => f.vis.u[k]);
      const v = Float64Array.from(f.plotIdx, (k) => f.vis.v[k]);
      const mv = chooseMeasurement(u, v, grid).forward(c.model);
      const modelAmp = Float32Array.from(mv.re, (x, i) => Math.hypot(x, mv.im[i]));
      let ss = 0;
      for (const x of c.residual) ss += x * x;
      r.progress({ iterations: c.iterations, niter: settings.niter, majorCycles: c.majorCycles, peak: c.peak, elapsedS: (performance.now() - t0) / 1000 });
      return {
        files: [...named(p.files), ...(cal ? [cal.gains] : [])],
        modelAmp,
        iterations: c.iterations,
        majorCycles: c.majorCycles,
        stoppedBy: c.stoppedBy,
        modelFlux: c.modelFlux,
        peak: c.peak,
        residualRms: Math.sqrt(ss / c.residual.length),
        noise: p.noise,
        ...(cal ? { selfcal: { ...cal.report, dataAmp: cal.dataAmp } } : {}),
      };
    }
    const v = step.value;
    const now = performance.now();
    // a pause between the imaging stages has nothing to report
    if (!('stage' in v) && now - last > 100) {
      last = now;
      r.progress({ iterations: v.iterations, niter: settings.niter, majorCycles: v.majorCycles, peak: v.peak, elapsedS: (now - t0) / 1000 });
    }
    await new Promise((res) => setImmediate(res));
  }
}

export function startClean(p: UvCleanParams, ctx: EngineContext): RadioMethods['job.clean']['result'] {
  const { f, grid, settings } = prepare(p, p.niter, { gain: p.gain, threshold: p.threshold, method: p.method });
  const { jobId, queued } = start('clean', ctx, async (r) => {
    const result = await runClean(f, grid, settings, r as JobReporter<CleanJobProgress>, p.selfcal, p.cellArcsec);
    done.set(jobId, result);
    while (done.size > KEEP_DONE) done.delete(done.keys().next().value as string);
    return { summary: { iterations: result.iterations, majorCycles: result.majorCycles, stoppedBy: result.stoppedBy, modelFlux: result.modelFlux, peak: result.peak } };
  });
  return { jobId, queued, size: grid.nx, cellArcsec: grid.cell / ARCSEC };
}

export function cleanProductsOf(jobId: string): CleanProductsResult {
  const r = done.get(jobId);
  if (!r) throw new UvfitsInputError(`uv.products: no finished CLEAN ${jobId} (the engine keeps the last ${KEEP_DONE}; after an engine restart, CLEAN again)`);
  return r;
}

type P<M extends keyof RadioMethods> = RadioMethods[M]['params'];
type R<M extends keyof RadioMethods> = RadioMethods[M]['result'];

/** The handlers, spread into the engine's handler table. */
export const radioHandlers: { [M in keyof RadioMethods]: (p: P<M>, ctx: EngineContext) => Promise<R<M>> } = {
  'uv.open': async (p) => openUv(p.name, p.bytes, p.stokes, p.source),
  'uv.sources': async (p) => uvSources(p.name, p.bytes, p.stokes),
  'uv.image': async (p) => imageUv(p),
  'uv.cancelImage': async (p) => ({ cancelled: cancelImaging(p.fileId, 'stopped by the client') }),
  'uv.close': async (p) => {
    cancelImaging(p.fileId, 'the file was closed');
    return { closed: files.delete(p.fileId) };
  },
  'job.clean': async (p, ctx) => startClean(p, ctx),
  'uv.products': async (p) => cleanProductsOf(p.jobId),
  'job.reconstructVis': async (p, ctx) => startVisPosterior(p, ctx),
  'uv.posteriorProducts': async (p) => posteriorProductsOf(p.jobId),
};
