/**
 * Visibilities in the app: a UVFITS file opened through the viewer's ways in (Open, drag and drop, the menu)
 * goes to the engine (`uv.open`); the dirty image and beam (`uv.image`) and CLEAN (`job.clean`, its progress
 * events, `uv.products`) come back as the FITS files `skyscore clean` writes, shown in viewer panels with their
 * sky WCS and exported as they are. The posterior from the visibilities (`job.reconstructVis`, its progress and
 * previews, `uv.posteriorProducts`) comes back as the files of `skyscore reconstruct --vis`, its mean, std and
 * first sample in viewer panels, the mean's amplitudes over the data's in the amplitude plot. Both may
 * self-calibrate first (the form's Self-calibration: the command line's --selfcal flags); a CLEAN's products then
 * hold NAME-gains.json, and with amplitude gains the amplitude plot shows the corrected data's |V|.
 */
import { getClient, ApiError } from '../api/client';
import { useStore } from '../store/index';
import { showImage, removeImage } from '../viewer/images';
import { readFits } from '../../../src-shared/fits/index';
import type { EngineEvent, NamedFile, PriorInfo, UvImagingParams, UvOpenResult, UvSelfcalSettings, UvSourceChoice } from '../../../src-shared/protocol/index';
import { IDLE_POSTERIOR, useRadio, type ImagingForm } from './state';
import { downloadBytes } from '../export/download';
import { fmtAngle, fmtJy } from './format';

/** The products, in the order `skyscore clean` writes them, with their panel titles. */
export const PRODUCT_KINDS = [
  { kind: 'dirty', title: 'Dirty image' },
  { kind: 'psf', title: 'Dirty beam' },
  { kind: 'model', title: 'CLEAN model' },
  { kind: 'residual', title: 'Residual' },
  { kind: 'image', title: 'Restored image' },
] as const;
export type ProductKind = (typeof PRODUCT_KINDS)[number]['kind'];
export const panelId = (kind: ProductKind) => `uv-${kind}`;

/**
 * Whether a file goes to the Visibilities view rather than the image viewer: a .uvfits/.uvf name, a CASA table
 * (its magic number, a table.dat or .ms name: the engine then says how to export it to UVFITS), or UVFITS by
 * content — random groups in the primary header (GROUPS = T) with the UVFITS random parameters (PTYPEn UU… and
 * VV…) and a COMPLEX data axis. Other random-groups files are not visibilities: they stay with the viewer, which
 * shows their headers.
 */
export function isVisibilityFile(name: string, bytes: Uint8Array): boolean {
  if (/\.(uvfits|uvf)(\.gz)?$/i.test(name) || /(^|[\\/])table\.dat$/i.test(name) || /\.ms[\\/]?$/i.test(name)) return true;
  if (bytes.length >= 4 && bytes[0] === 0xbe && bytes[1] === 0xbe && bytes[2] === 0xbe && bytes[3] === 0xbe) return true;
  let groups = false;
  let uu = false;
  let vv = false;
  let complex = false;
  const str = (card: string) => /=\s*'([^']*)'/.exec(card)?.[1]?.trim().toUpperCase() ?? '';
  // the primary header only (a UVFITS header is a few blocks; 8 blocks hold 288 cards)
  const n = Math.min(bytes.length, 2880 * 8);
  for (let o = 0; o + 80 <= n; o += 80) {
    const card = String.fromCharCode(...bytes.subarray(o, o + 80));
    if (o === 0 && !card.startsWith('SIMPLE  =')) return false;
    if (/^GROUPS\s{2}=\s+T\b/.test(card)) groups = true;
    else if (/^PTYPE\d+\s*=/.test(card)) {
      const t = str(card);
      if (t.startsWith('UU')) uu = true;
      if (t.startsWith('VV')) vv = true;
    } else if (/^CTYPE\d+\s*=/.test(card) && str(card).startsWith('COMPLEX')) complex = true;
    if (card.startsWith('END ')) break;
  }
  return groups && uu && vv && complex;
}

/**
 * Whether a UVFITS file's groups carry a SOURCE random parameter (a multi-source file, whose sources the engine
 * then lists for a choice): a PTYPEn = 'SOURCE' card in the primary header.
 */
export function hasSourceParameter(bytes: Uint8Array): boolean {
  const n = Math.min(bytes.length, 2880 * 8);
  for (let o = 0; o + 80 <= n; o += 80) {
    const card = String.fromCharCode(...bytes.subarray(o, o + 80));
    if (/^PTYPE\d+\s*=\s*'\s*SOURCE\s*'/i.test(card)) return true;
    if (card.startsWith('END ')) break;
  }
  return false;
}

/** The `source` of a request that opens this file again: the source it was opened with (by its SOURCE number). */
function sourceOf(open: UvOpenResult): { source?: string } {
  return open.source ? { source: String(open.source.id) } : {};
}

function message(e: unknown): string {
  if (e instanceof ApiError && e.code === 'engine-died') return `the engine stopped (${e.message}); it restarts by itself — try again`;
  return (e as Error)?.message ?? String(e);
}

/** The posterior's panels: the mean, the standard deviation and the first sample (Jy/pixel, the sky WCS). */
export const POSTERIOR_PANELS = [
  { id: 'uv-posterior-mean', file: 'posterior-mean.fits', title: 'Posterior mean', role: 'mean' },
  { id: 'uv-posterior-std', file: 'posterior-std.fits', title: 'Posterior std', role: 'std' },
  { id: 'uv-posterior-sample', file: 'posterior-samples.fits', title: 'Posterior sample 1', role: 'sample' },
] as const;

function clearProducts(): void {
  for (const p of PRODUCT_KINDS) removeImage(panelId(p.kind));
  for (const p of POSTERIOR_PANELS) removeImage(p.id);
  useRadio.getState().set({ products: null, modelAmp: null, dataAmp: null });
}

/** Images another product of the open file (Stokes I or one of its correlations): the file is read again for it. */
export async function chooseProduct(product: string): Promise<void> {
  const f = useRadio.getState().file;
  if (!f) return;
  dirtySeq++;
  useRadio.getState().set({ busy: `Reading ${product} from ${f.name}…`, error: null, imaging: false });
  try {
    const open = await getClient().request('uv.open', { name: f.name, bytes: f.bytes, stokes: product, ...sourceOf(f.open) });
    void getClient().request('uv.close', { fileId: f.open.fileId }).catch(() => {});
    clearProducts();
    useRadio.getState().set({ file: { ...f, open }, posterior: { ...IDLE_POSTERIOR } });
  } catch (e) {
    useRadio.getState().set({ error: message(e) });
  } finally {
    useRadio.getState().set({ busy: null });
  }
}

const IDLE_CLEAN = { jobId: null, state: 'idle', iterations: 0, niter: 0, majorCycles: 0, peak: null, message: null, selfcalRunning: false, selfcal: null } as const;

/**
 * Opens a UVFITS file's bytes in the engine and shows the Visibilities view. Errors go to the viewer's message line.
 * A file of several sources (a SOURCE random parameter) shows its sources to choose from first (`uv.sources`):
 * nothing is imaged before the choice, as the command line refuses such a file without --source.
 */
export async function openUvfitsBytes(name: string, bytes: Uint8Array): Promise<boolean> {
  const st = useStore.getState();
  const r = useRadio.getState();
  st.setViewerError(null);
  st.setViewerBusy(`Reading visibilities from ${name}…`);
  try {
    let list: UvSourceChoice | null = null;
    if (hasSourceParameter(bytes)) {
      list = await getClient().request('uv.sources', { name, bytes });
      if (!list.sources) list = null;
    }
    const open = list ? null : await getClient().request('uv.open', { name, bytes });
    const prev = r.file;
    if (prev) void getClient().request('uv.close', { fileId: prev.open.fileId }).catch(() => {});
    dirtySeq++;
    clearProducts();
    useRadio.getState().set({
      file: open ? { name, bytes, open } : null,
      choice: list ? { name, bytes, list } : null,
      imaging: false,
      error: null,
      busy: null,
      fullSize: false,
      clean: { ...IDLE_CLEAN },
      posterior: { ...IDLE_POSTERIOR },
    });
    useRadio.getState().patchForm({ size: null, cellArcsec: null });
    return true;
  } catch (e) {
    const m = message(e);
    st.setViewerError(m.startsWith(`${name}`) ? m : `${name}: ${m}`);
    return false;
  } finally {
    useStore.getState().setViewerBusy(null);
  }
}

/**
 * Opens one source of a multi-source file (`--source` of the command line, by its SOURCE number): from the list
 * shown after opening it, or instead of the source open now (its product kept). The products of another source go.
 */
export async function chooseSource(id: number): Promise<void> {
  const r = useRadio.getState();
  const from = r.choice ?? r.file;
  if (!from) return;
  const product = r.file?.open.summary.product;
  dirtySeq++;
  r.set({ busy: `Reading source ${id} from ${from.name}…`, error: null, imaging: false });
  try {
    const open = await getClient().request('uv.open', { name: from.name, bytes: from.bytes, source: String(id), ...(product ? { stokes: product } : {}) });
    const prev = useRadio.getState().file;
    if (prev) void getClient().request('uv.close', { fileId: prev.open.fileId }).catch(() => {});
    clearProducts();
    useRadio.getState().set({ file: { name: from.name, bytes: from.bytes, open }, choice: null, clean: { ...IDLE_CLEAN }, posterior: { ...IDLE_POSTERIOR } });
    // the default grid is the source's
    useRadio.getState().patchForm({ size: null, cellArcsec: null });
  } catch (e) {
    useRadio.getState().set({ error: message(e) });
  } finally {
    useRadio.getState().set({ busy: null });
  }
}

/** Closes the visibility file: the engine forgets it (and stops its dirty image), its product panels go. */
export function closeUvfits(): void {
  const f = useRadio.getState().file;
  dirtySeq++;
  if (f) void getClient().request('uv.close', { fileId: f.open.fileId }).catch(() => {});
  clearProducts();
  useRadio.getState().set({ file: null, choice: null, fullSize: false, imaging: false, busy: null });
}

/** Runs a request on the open file, opening it again once if the engine forgot it (a restart, or dropped). */
async function withFile<T>(fn: (fileId: string) => Promise<T>): Promise<T> {
  const f = useRadio.getState().file;
  if (!f) throw new Error('no visibility file is open');
  try {
    return await fn(f.open.fileId);
  } catch (e) {
    const gone = (e instanceof ApiError && e.code === 'engine-died') || /no open visibility file/.test((e as Error).message);
    if (!gone) throw e;
    const open = await getClient().request('uv.open', { name: f.name, bytes: f.bytes, stokes: f.open.summary.product, ...sourceOf(f.open) });
    useRadio.getState().set({ file: { ...f, open } });
    return fn(open.fileId);
  }
}

function imagingParams(fileId: string): UvImagingParams {
  const f = useRadio.getState().form;
  return {
    fileId,
    ...(f.size !== null ? { size: f.size } : {}),
    ...(f.cellArcsec !== null ? { cellArcsec: f.cellArcsec } : {}),
    weighting: f.weighting,
    ...(f.weighting === 'briggs' ? { robust: f.robust } : {}),
  };
}

/**
 * Shows FITS products in viewer panels (their headers give the sky WCS of the read-out): the dirty image and beam
 * after "Dirty image", the model, residual and restored image after CLEAN (all five are there to export).
 */
export function showProducts(files: NamedFile[], kinds: readonly ProductKind[]): void {
  for (const p of PRODUCT_KINDS) {
    const f = files.find((x) => x.name.endsWith(`-${p.kind}.fits`));
    if (!f || !kinds.includes(p.kind)) {
      removeImage(panelId(p.kind));
      continue;
    }
    const hdu = readFits(f.bytes).hdus[0]!;
    const img = hdu.readImage();
    const [nx, ny] = img.shape as [number, number];
    showImage({
      id: panelId(p.kind),
      title: `${p.title} — ${f.name}`,
      role: p.kind === 'residual' ? 'residual' : 'other',
      data: Float32Array.from(img.data),
      shape: [ny, nx],
      header: hdu.header,
    });
  }
}

/** The form's self-calibration as a request gives it (the command line's --selfcal flags); undefined for none. */
export function selfcalSettings(f: ImagingForm = useRadio.getState().form): UvSelfcalSettings | undefined {
  return f.selfcal === 'none' ? undefined : { mode: f.selfcal, rounds: f.selfcalRounds, solint: f.solint, start: f.selfcalStart };
}

/** The self-calibration in a settings line. */
function selfcalLabel(sc: UvSelfcalSettings | undefined): string {
  return sc ? `, self-calibrated ${sc.mode} × ${sc.rounds}${sc.solint ? `, solint ${sc.solint} s` : ''}${sc.start !== 'auto' ? `, from a ${sc.start} model` : ''}` : '';
}

function settingsLabel(size: number, cellArcsec: number): string {
  const f = useRadio.getState().form;
  return `${size}×${size}, cell ${+cellArcsec.toPrecision(4)}″, ${f.weighting}${f.weighting === 'briggs' ? ` robust ${f.robust}` : ''}`;
}

/** The latest dirty-image request: an answer to an older one is dropped. */
let dirtySeq = 0;

const isCancelled = (e: unknown) => e instanceof ApiError && e.code === 'cancelled';

/**
 * The dirty image and beam with the form's settings. A newer request supersedes a running one (the engine stops
 * the older, which answers 'cancelled'); so do a change of size, cell or weighting (cancelDirtyImage) and closing.
 */
export async function makeDirtyImage(): Promise<void> {
  const r = useRadio.getState();
  const my = ++dirtySeq;
  r.set({ busy: 'Making the dirty image and beam…', error: null, imaging: true });
  try {
    const res = await withFile((fileId) => getClient().request('uv.image', imagingParams(fileId)));
    if (my !== dirtySeq) return;
    clearProducts();
    showProducts(res.files, ['dirty', 'psf']);
    const b = res.beam;
    useRadio.getState().set({
      products: {
        files: res.files,
        kind: 'clean',
        label: settingsLabel(res.size, res.cellArcsec),
        summary: `beam ${fmtAngle(b.bmaj)} × ${fmtAngle(b.bmin)}, PA ${b.bpa.toFixed(1)}°; noise from the weights ${fmtJy(res.noise)}/beam; ${res.measurement}`,
      },
    });
  } catch (e) {
    if (my === dirtySeq && !isCancelled(e)) useRadio.getState().set({ error: message(e) });
  } finally {
    if (my === dirtySeq) useRadio.getState().set({ busy: null, imaging: false });
  }
}

/** Stops the running dirty image, if any (the settings it was asked with have changed, or the user asked). */
export function cancelDirtyImage(): void {
  const r = useRadio.getState();
  if (!r.imaging || !r.file) return;
  dirtySeq++;
  r.set({ busy: null, imaging: false });
  void getClient().request('uv.cancelImage', { fileId: r.file.open.fileId }).catch(() => {});
}

/** Changes the imaging settings; a dirty image under way with the old size, cell or weighting is stopped. */
export function patchImaging(p: Partial<ImagingForm>): void {
  const f = useRadio.getState().form;
  const changed = (Object.keys(p) as (keyof ImagingForm)[]).some((k) => ['size', 'cellArcsec', 'weighting', 'robust'].includes(k) && p[k] !== f[k]);
  if (changed) cancelDirtyImage();
  useRadio.getState().patchForm(p);
}

/** Starts CLEAN with the form's settings, self-calibrated first where the form asks (a job: progress events, Stop). */
export async function startClean(): Promise<void> {
  const r = useRadio.getState();
  const f = r.form;
  const sc = selfcalSettings(f);
  r.set({ error: null, modelAmp: null, dataAmp: null });
  r.patchClean({ state: 'queued', jobId: null, iterations: 0, niter: f.niter, majorCycles: 0, peak: null, message: null, selfcalRunning: false, selfcal: null });
  try {
    const res = await withFile((fileId) =>
      getClient().request('job.clean', { ...imagingParams(fileId), niter: f.niter, gain: f.gain, threshold: f.threshold, method: f.method, ...(sc ? { selfcal: sc } : {}) }),
    );
    useRadio.getState().patchClean({ jobId: res.jobId, state: res.queued > 0 ? 'queued' : 'running', message: settingsLabel(res.size, res.cellArcsec) + selfcalLabel(sc) });
    // the job may have ended before its id came back
    const ended = pendingEnd.get(res.jobId);
    if (ended) void onJobEvent(ended);
  } catch (e) {
    useRadio.getState().patchClean({ state: 'error', message: message(e) });
  }
}

export async function stopClean(): Promise<void> {
  const id = useRadio.getState().clean.jobId;
  if (!id) return;
  try {
    await getClient().request('job.cancel', { jobId: id });
  } catch (e) {
    useRadio.getState().set({ error: message(e) });
  }
}

/** Ends of CLEAN jobs seen before their id was known. */
const pendingEnd = new Map<string, EngineEvent>();

async function onJobEvent(ev: EngineEvent): Promise<void> {
  const r = useRadio.getState();
  if (ev.event === 'engine.status' && (ev.data.state === 'restarting' || ev.data.state === 'died')) {
    // the engine's jobs went with it
    const lost = 'the engine stopped and is restarting; start again when it is ready';
    if (r.clean.state === 'running' || r.clean.state === 'queued') r.patchClean({ state: 'error', message: lost });
    if (r.posterior.state === 'running' || r.posterior.state === 'queued') r.patchPosterior({ state: 'error', message: lost });
    return;
  }
  if ((ev.event === 'job.progress' || ev.event === 'job.done' || ev.event === 'job.error') && ev.data.kind === 'posterior') return onPosteriorEvent(ev);
  if (ev.event === 'job.progress' && ev.data.kind === 'clean') {
    if (ev.data.jobId !== r.clean.jobId) return;
    r.patchClean({ state: 'running', iterations: ev.data.iterations, niter: ev.data.niter, majorCycles: ev.data.majorCycles, peak: ev.data.peak, selfcalRunning: ev.data.stage === 'selfcal' });
    return;
  }
  if ((ev.event === 'job.done' || ev.event === 'job.error') && ev.data.kind === 'clean') {
    if (ev.data.jobId !== r.clean.jobId) {
      pendingEnd.set(ev.data.jobId, ev);
      return;
    }
    pendingEnd.delete(ev.data.jobId);
    if (ev.event === 'job.error') {
      r.patchClean({ state: ev.data.code === 'cancelled' ? 'cancelled' : 'error', message: ev.data.code === 'cancelled' ? 'stopped' : ev.data.message, selfcalRunning: false });
      return;
    }
    try {
      const p = await getClient().request('uv.products', { jobId: ev.data.jobId });
      const ap = p.selfcal?.rounds.some((x) => x.mode === 'ap') ?? false;
      clearProducts();
      showProducts(p.files, ['model', 'residual', 'image']);
      const label = useRadio.getState().clean.message ?? '';
      useRadio.getState().set({
        products: {
          files: p.files,
          kind: 'clean',
          label,
          summary:
            `${p.iterations} iterations${p.majorCycles ? `, ${p.majorCycles} major cycles` : ''}, stopped by ${p.stoppedBy}; model flux ${fmtJy(p.modelFlux)}, ` +
            `residual peak ${fmtJy(p.peak)}/beam, rms ${fmtJy(p.residualRms)}/beam (${(p.residualRms / p.noise).toFixed(2)} × the weights' noise)`,
        },
        modelAmp: p.modelAmp,
        modelLabel: 'CLEAN model |V|',
        // amplitude gains change |V|: the plot shows the corrected data the CLEAN was made from
        dataAmp: ap && p.selfcal ? p.selfcal.dataAmp : null,
      });
      useRadio.getState().patchClean({ state: 'done', iterations: p.iterations, majorCycles: p.majorCycles, peak: p.peak, selfcalRunning: false, selfcal: p.selfcal ?? null });
    } catch (e) {
      useRadio.getState().patchClean({ state: 'error', message: message(e) });
    }
  }
}

let installed = false;
/** Listens to the CLEAN jobs' events (once). */
export function installRadioEvents(): void {
  if (installed) return;
  installed = true;
  getClient().onEvent((ev) => void onJobEvent(ev));
}

export function exportProduct(f: NamedFile): void {
  downloadBytes(f.name, f.bytes, f.name.endsWith('.json') ? 'application/json' : 'application/fits');
}

// ---- the posterior from the visibilities (job.reconstructVis) ----------------------------------------------

/** The shipped prior for radio sources (models/radio-64), the posterior's default where it is installed. */
export const RADIO_PRIOR_NAME = 'radio-64';

/**
 * The prior the posterior uses among the engine's image priors (analytic ones left out): the chosen one when it is
 * listed; else, among the priors made for the image size (or all of them when none is), the shipped radio prior,
 * else the first; null when there is none.
 */
export function choosePosteriorPrior(all: readonly PriorInfo[], chosen: string | null, size: number | null): string | null {
  const priors = all.filter((p) => p.kind !== 'analytic');
  if (chosen && priors.some((p) => p.spec === chosen)) return chosen;
  const sized = priors.filter((p) => p.imageShape[0] === size && p.imageShape[1] === size);
  const pool = sized.length ? sized : priors;
  return (pool.find((p) => p.source === 'shipped' && p.name === RADIO_PRIOR_NAME) ?? pool[0])?.spec ?? null;
}

/** The prior the posterior uses: choosePosteriorPrior on the form's choice and the view's image size. */
export function posteriorPrior(): string | null {
  const r = useRadio.getState();
  const size = r.form.size ?? r.file?.open.defaults?.size ?? null;
  return choosePosteriorPrior(useStore.getState().priors, r.posteriorForm.prior, size);
}

/** Starts the posterior with the view's grid and product and the form's prior and settings (a job: progress, previews, Stop). */
export async function startPosterior(): Promise<void> {
  const r = useRadio.getState();
  const f = r.posteriorForm;
  const prior = posteriorPrior();
  if (!prior) {
    r.patchPosterior({ state: 'error', message: 'no prior: the engine lists none (train one, or install a model folder)' });
    return;
  }
  const sc = selfcalSettings();
  r.set({ error: null, modelAmp: null, dataAmp: null });
  r.patchPosterior({ ...IDLE_POSTERIOR, state: 'queued', steps: f.steps });
  try {
    const g = r.form;
    const res = await withFile((fileId) =>
      getClient().request('job.reconstructVis', {
        fileId,
        ...(g.size !== null ? { size: g.size } : {}),
        ...(g.cellArcsec !== null ? { cellArcsec: g.cellArcsec } : {}),
        prior,
        sampler: f.sampler,
        n: f.n,
        steps: f.steps,
        seed: f.seed,
        ...(f.options && Object.keys(f.options).length ? { options: f.options } : {}),
        ...(f.workers != null ? { workers: f.workers } : {}),
        ...(f.reweight ? { reweight: true } : {}),
        ...(sc ? { selfcal: sc } : {}),
        ...(f.zeroSpacing ? {} : { totalFlux: 'none' as const }),
        previewHz: 4,
      }),
    );
    const label = `${res.size}×${res.size}, cell ${+res.cellArcsec.toPrecision(4)}″, ${prior}, ${f.sampler}, ${f.n} samples × ${f.steps} steps, seed ${f.seed}${f.reweight ? ', weights rescaled' : ''}${f.zeroSpacing ? '' : ', no total flux at zero spacing'}${selfcalLabel(sc)}`;
    useRadio.getState().patchPosterior({ jobId: res.jobId, state: res.queued > 0 ? 'queued' : 'running', message: label, command: res.command });
    const ended = pendingEnd.get(res.jobId);
    if (ended) void onJobEvent(ended);
  } catch (e) {
    useRadio.getState().patchPosterior({ state: 'error', message: message(e) });
  }
}

/** Stops the posterior; with `keep`, the engine ends it with the products of its chains' latest states. */
export async function stopPosterior(keep = false): Promise<void> {
  const id = useRadio.getState().posterior.jobId;
  if (!id) return;
  try {
    await getClient().request('job.cancel', keep ? { jobId: id, keep } : { jobId: id });
  } catch (e) {
    useRadio.getState().set({ error: message(e) });
  }
}

/** A posterior panel from pixels (a preview) or from a product file (its header: the sky WCS). */
function showPosteriorPanel(p: (typeof POSTERIOR_PANELS)[number], data: Float32Array, shape: [number, number], header?: ReturnType<typeof readFits>['hdus'][number]['header']): void {
  showImage({ id: p.id, title: header ? `${p.title} — ${p.file}` : `${p.title} (running)`, role: p.role, data, shape, ...(header ? { header } : {}) });
}

async function onPosteriorEvent(ev: EngineEvent): Promise<void> {
  const r = useRadio.getState();
  if (ev.event === 'job.progress' && ev.data.kind === 'posterior') {
    if (ev.data.jobId !== r.posterior.jobId) return;
    const d = ev.data;
    r.patchPosterior({ state: 'running', step: d.step, steps: d.steps, chi2: d.chi2 });
    if (d.preview) {
      const v = d.preview;
      const shape = v.shape;
      const id = d.jobId;
      // one panel per task (a preview never makes one long task of three panel renders); none after the run's end
      const show = [
        () => showPosteriorPanel(POSTERIOR_PANELS[0], v.mean, shape),
        () => showPosteriorPanel(POSTERIOR_PANELS[1], v.std, shape),
        () => v.nSamples > 0 && showPosteriorPanel(POSTERIOR_PANELS[2], v.samples.slice(0, shape[0] * shape[1]), shape),
      ];
      show.forEach((f, k) =>
        setTimeout(() => {
          const now = useRadio.getState().posterior;
          if (now.jobId === id && now.state === 'running') f();
        }, 16 * (k + 1)),
      );
    }
    return;
  }
  if ((ev.event !== 'job.done' && ev.event !== 'job.error') || ev.data.kind !== 'posterior') return;
  if (ev.data.jobId !== r.posterior.jobId) {
    pendingEnd.set(ev.data.jobId, ev);
    return;
  }
  pendingEnd.delete(ev.data.jobId);
  if (ev.event === 'job.error') {
    for (const p of POSTERIOR_PANELS) removeImage(p.id);
    r.patchPosterior({ state: ev.data.code === 'cancelled' ? 'cancelled' : 'error', message: ev.data.code === 'cancelled' ? 'stopped' : ev.data.message });
    return;
  }
  try {
    const p = await getClient().request('uv.posteriorProducts', { jobId: ev.data.jobId });
    clearProducts();
    for (const panel of POSTERIOR_PANELS) {
      const f = p.files.find((x) => x.name === panel.file);
      if (!f) continue;
      const hdu = readFits(f.bytes).hdus[0]!;
      const img = hdu.readImage();
      const [nx, ny] = img.shape as [number, number];
      showPosteriorPanel(panel, Float32Array.from(img.data.subarray(0, nx * ny)), [ny, nx], hdu.header);
    }
    const st = useRadio.getState().posterior;
    // the total flux at zero spacing the run held (report.json's zeroSpacing), if any
    const rep = p.files.find((x) => x.name === 'report.json');
    const zs = rep ? (JSON.parse(new TextDecoder().decode(rep.bytes)) as { zeroSpacing?: { fluxJy: number; sigmaJy: number } | null }).zeroSpacing : null;
    const zsLine = zs ? `; total flux at zero spacing ${zs.fluxJy.toPrecision(4)} ± ${zs.sigmaJy.toPrecision(3)} Jy` : '; no total flux at zero spacing';
    useRadio.getState().set({
      products: {
        files: p.files,
        kind: 'posterior',
        label: st.message ?? '',
        summary: `${p.stopped ? `stopped at step ${p.stopped.step} / ${p.stopped.steps}: the ${p.stopped.chains} chains' states then (not converged); ` : ''}χ² per visibility degree of freedom of the ${p.stopped ? 'mean' : 'posterior mean'} ${p.chi2.toFixed(3)}${zsLine}`,
      },
      modelAmp: p.modelAmp,
      modelLabel: 'posterior mean |V|',
    });
    useRadio.getState().patchPosterior({ state: 'done', chi2: p.chi2, warnings: p.warnings, command: p.command, stopped: p.stopped ?? null, selfcal: p.selfcal ?? null });
  } catch (e) {
    useRadio.getState().patchPosterior({ state: 'error', message: message(e) });
  }
}
