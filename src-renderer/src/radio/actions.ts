/**
 * Visibilities in the app: a UVFITS file opened through the viewer's ways in (Open, drag and drop, the menu)
 * goes to the engine (`uv.open`); the dirty image and beam (`uv.image`) and CLEAN (`job.clean`, its progress
 * events, `uv.products`) come back as the FITS files `skyscore clean` writes, shown in viewer panels with their
 * sky WCS and exported as they are.
 */
import { getClient, ApiError } from '../api/client';
import { useStore } from '../store/index';
import { showImage, removeImage } from '../viewer/images';
import { readFits } from '../../../src-shared/fits/index';
import type { EngineEvent, NamedFile, UvImagingParams } from '../../../src-shared/protocol/index';
import { useRadio } from './state';
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
 * Whether a file goes to the Visibilities view rather than the image viewer: a .uvfits/.uvf name, random groups
 * in the primary header (GROUPS = T), or a CASA table (its magic number, a table.dat or .ms name: the engine
 * then says how to export it to UVFITS).
 */
export function isVisibilityFile(name: string, bytes: Uint8Array): boolean {
  if (/\.(uvfits|uvf)(\.gz)?$/i.test(name) || /(^|[\\/])table\.dat$/i.test(name) || /\.ms[\\/]?$/i.test(name)) return true;
  if (bytes.length >= 4 && bytes[0] === 0xbe && bytes[1] === 0xbe && bytes[2] === 0xbe && bytes[3] === 0xbe) return true;
  const n = Math.min(bytes.length, 2880 * 4);
  for (let o = 0; o + 80 <= n; o += 80) {
    const card = String.fromCharCode(...bytes.subarray(o, o + 80));
    if (o === 0 && !card.startsWith('SIMPLE  =')) return false;
    if (/^GROUPS\s{2}=\s+T\b/.test(card)) return true;
    if (card.startsWith('END ')) return false;
  }
  return false;
}

function message(e: unknown): string {
  if (e instanceof ApiError && e.code === 'engine-died') return `the engine stopped (${e.message}); it restarts by itself — try again`;
  return (e as Error)?.message ?? String(e);
}

function clearProducts(): void {
  for (const p of PRODUCT_KINDS) removeImage(panelId(p.kind));
  useRadio.getState().set({ products: null, modelAmp: null });
}

/** Images another product of the open file (Stokes I or one of its correlations): the file is read again for it. */
export async function chooseProduct(product: string): Promise<void> {
  const f = useRadio.getState().file;
  if (!f) return;
  useRadio.getState().set({ busy: `Reading ${product} from ${f.name}…`, error: null });
  try {
    const open = await getClient().request('uv.open', { name: f.name, bytes: f.bytes, stokes: product });
    void getClient().request('uv.close', { fileId: f.open.fileId }).catch(() => {});
    clearProducts();
    useRadio.getState().set({ file: { ...f, open } });
  } catch (e) {
    useRadio.getState().set({ error: message(e) });
  } finally {
    useRadio.getState().set({ busy: null });
  }
}

/** Opens a UVFITS file's bytes in the engine and shows the Visibilities view. Errors go to the viewer's message line. */
export async function openUvfitsBytes(name: string, bytes: Uint8Array): Promise<boolean> {
  const st = useStore.getState();
  const r = useRadio.getState();
  st.setViewerError(null);
  st.setViewerBusy(`Reading visibilities from ${name}…`);
  try {
    const open = await getClient().request('uv.open', { name, bytes });
    const prev = r.file;
    if (prev) void getClient().request('uv.close', { fileId: prev.open.fileId }).catch(() => {});
    clearProducts();
    useRadio.getState().set({
      file: { name, bytes, open },
      error: null,
      busy: null,
      fullSize: false,
      clean: { jobId: null, state: 'idle', iterations: 0, niter: 0, majorCycles: 0, peak: null, message: null },
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

/** Closes the visibility file: the engine forgets it, its product panels go. */
export function closeUvfits(): void {
  const f = useRadio.getState().file;
  if (f) void getClient().request('uv.close', { fileId: f.open.fileId }).catch(() => {});
  clearProducts();
  useRadio.getState().set({ file: null, fullSize: false });
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
    const open = await getClient().request('uv.open', { name: f.name, bytes: f.bytes, stokes: f.open.summary.product });
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

function settingsLabel(size: number, cellArcsec: number): string {
  const f = useRadio.getState().form;
  return `${size}×${size}, cell ${+cellArcsec.toPrecision(4)}″, ${f.weighting}${f.weighting === 'briggs' ? ` robust ${f.robust}` : ''}`;
}

/** The dirty image and beam with the form's settings. */
export async function makeDirtyImage(): Promise<void> {
  const r = useRadio.getState();
  r.set({ busy: 'Making the dirty image and beam…', error: null });
  try {
    const res = await withFile((fileId) => getClient().request('uv.image', imagingParams(fileId)));
    clearProducts();
    showProducts(res.files, ['dirty', 'psf']);
    const b = res.beam;
    useRadio.getState().set({
      products: {
        files: res.files,
        label: settingsLabel(res.size, res.cellArcsec),
        summary: `beam ${fmtAngle(b.bmaj)} × ${fmtAngle(b.bmin)}, PA ${b.bpa.toFixed(1)}°; noise from the weights ${fmtJy(res.noise)}/beam; ${res.measurement}`,
      },
    });
  } catch (e) {
    useRadio.getState().set({ error: message(e) });
  } finally {
    useRadio.getState().set({ busy: null });
  }
}

/** Starts CLEAN with the form's settings (a job: progress events, Stop). */
export async function startClean(): Promise<void> {
  const r = useRadio.getState();
  const f = r.form;
  r.set({ error: null, modelAmp: null });
  r.patchClean({ state: 'queued', jobId: null, iterations: 0, niter: f.niter, majorCycles: 0, peak: null, message: null });
  try {
    const res = await withFile((fileId) => getClient().request('job.clean', { ...imagingParams(fileId), niter: f.niter, gain: f.gain, threshold: f.threshold, method: f.method }));
    useRadio.getState().patchClean({ jobId: res.jobId, state: res.queued > 0 ? 'queued' : 'running', message: settingsLabel(res.size, res.cellArcsec) });
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
  if (ev.event === 'job.progress' && ev.data.kind === 'clean') {
    if (ev.data.jobId !== r.clean.jobId) return;
    r.patchClean({ state: 'running', iterations: ev.data.iterations, niter: ev.data.niter, majorCycles: ev.data.majorCycles, peak: ev.data.peak });
    return;
  }
  if ((ev.event === 'job.done' || ev.event === 'job.error') && ev.data.kind === 'clean') {
    if (ev.data.jobId !== r.clean.jobId) {
      pendingEnd.set(ev.data.jobId, ev);
      return;
    }
    pendingEnd.delete(ev.data.jobId);
    if (ev.event === 'job.error') {
      r.patchClean({ state: ev.data.code === 'cancelled' ? 'cancelled' : 'error', message: ev.data.code === 'cancelled' ? 'stopped' : ev.data.message });
      return;
    }
    try {
      const p = await getClient().request('uv.products', { jobId: ev.data.jobId });
      clearProducts();
      showProducts(p.files, ['model', 'residual', 'image']);
      const label = useRadio.getState().clean.message ?? '';
      useRadio.getState().set({
        products: {
          files: p.files,
          label,
          summary:
            `${p.iterations} iterations${p.majorCycles ? `, ${p.majorCycles} major cycles` : ''}, stopped by ${p.stoppedBy}; model flux ${fmtJy(p.modelFlux)}, ` +
            `residual peak ${fmtJy(p.peak)}/beam, rms ${fmtJy(p.residualRms)}/beam (${(p.residualRms / p.noise).toFixed(2)} × the weights' noise)`,
        },
        modelAmp: p.modelAmp,
      });
      useRadio.getState().patchClean({ state: 'done', iterations: p.iterations, majorCycles: p.majorCycles, peak: p.peak });
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
  downloadBytes(f.name, f.bytes, 'application/fits');
}
