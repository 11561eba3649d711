/**
 * What the forward-model editor does: open the observation, add auxiliary files, load and save M.json, ask the
 * engine to validate the model, draw its overlays, preview A x and estimate the noise. Errors become notices in
 * the app; the user's work (the document, the files) is never dropped because a request failed.
 */
import { getClient } from '../api/client';
import { useStore } from '../store/index';
import type { FileMeta, ObsMeta, Region } from '../store/model';
import type { NamedFile } from '../../../src-shared/protocol/index';
import { ensureUploaded, withObs } from './upload';
import { auxFiles, getAux, getObs, obsFitsFile, obsPlanePixels, planeGeometry, storeAux, storeObs, removeAux } from './files';
import { readModelText, referencedFiles, toModelJson, type ForwardModelSpec, type Shape2 } from '../../../src-shared/operators/forward-model-spec';
import { checkDoc } from './editing';
import { currentEstimate, setOverlay, setPreviewAx, clearOverlays } from '../run/previews';
import { downloadText, safeFileName } from '../export/download';
import { showResult } from '../run/viewer-bridge';
import { noiseBlockOf, noiseFileNames, noiseSettingsOf, scheduleNoiseDescribe } from './noise';

const notify = (level: 'info' | 'warn' | 'error', text: string) => useStore.getState().notify(level, text);

/** Names of all files a request about the model needs: the model's own plus the σ map or the noise-only image. */
export function requestFileNames(): string[] {
  const s = useStore.getState();
  const names = referencedFiles(s.modelDoc);
  if (s.noise.mode === 'map' && s.noise.mapFile && !names.includes(s.noise.mapFile)) names.push(s.noise.mapFile);
  for (const f of noiseFileNames(s.noise)) if (!names.includes(f)) names.push(f);
  return names;
}

export function requestFiles(): NamedFile[] {
  return auxFiles(requestFileNames());
}

function hduLabel(index: number, name: string | null, shape: number[]): string {
  return `${index}${name ? ` ${name}` : ''} — ${shape.join('×')}`;
}

/**
 * Makes `bytes` the observation. Not-FITS files and files without an image are refused with a message; the
 * previous observation stays. The first image HDU and plane 0 are chosen; `prefer` restores a saved choice.
 */
export async function openObservation(name: string, bytes: Uint8Array, prefer?: { hdu: number; plane: number }, opts: { show?: boolean; sha256?: string } = {}): Promise<boolean> {
  const previous = getObs();
  const stored = await storeObs(name, bytes, opts.sha256);
  let file;
  try {
    file = obsFitsFile();
  } catch (e) {
    if (previous) await storeObs(previous.name, previous.bytes, previous.sha256);
    notify('error', `${name} is not a FITS file SkyScore can read: ${(e as Error).message}`);
    return false;
  }
  const hdus = (file?.hdus ?? []).filter((h) => h.hasImage && h.shape.length >= 2).map((h) => ({ index: h.index, label: hduLabel(h.index, h.name, h.shape), shape: h.shape }));
  if (hdus.length === 0) {
    if (previous) await storeObs(previous.name, previous.bytes, previous.sha256);
    notify('error', `${name} has no image HDU (only tables or empty headers): choose an image`);
    return false;
  }
  const chosen = (prefer && hdus.find((h) => h.index === prefer.hdu)) || hdus[0]!;
  const geo = planeGeometry(chosen.shape)!;
  const plane = prefer && prefer.hdu === chosen.index && prefer.plane < geo.planes ? prefer.plane : 0;
  const header = file!.hdus[chosen.index]!.header;
  const bunit = header.getString('BUNIT') ?? null;
  const meta: ObsMeta = { name, sha256: stored.sha256, size: bytes.byteLength, hdu: chosen.index, plane, hdus, shape: geo.shape, planes: geo.planes, bunit };
  const st = useStore.getState();
  st.setObs(meta);
  // A fresh model for a new observation takes its shape (only while the chain keeps the shape).
  if (!st.modelDoc.operators.some((o) => o.type === 'lens')) st.setModelDoc({ ...st.modelDoc, shape: geo.shape });
  if (st.noise.mode === 'mad') st.setNoise({ sigma: null, estimatedFrom: null, region: null });
  if (opts.show !== false) showObservation();
  scheduleValidate();
  scheduleNoiseDescribe();
  // send it to the engine in the background once the page is idle (after the viewer drew it): a run then
  // starts without copying the file again
  const upload = () => void ensureUploaded(stored).catch(() => {});
  if (typeof requestIdleCallback === 'function') requestIdleCallback(upload, { timeout: 2000 });
  else setTimeout(upload, 0);
  return true;
}

export function chooseObs(hdu: number, plane: number, opts: { show?: boolean } = {}): void {
  const s = useStore.getState();
  if (!s.obs) return;
  const h = s.obs.hdus.find((x) => x.index === hdu);
  if (!h) return;
  const geo = planeGeometry(h.shape)!;
  const p = Math.min(Math.max(0, plane), geo.planes - 1);
  const header = obsFitsFile()?.hdus[hdu]?.header;
  s.setObs({ ...s.obs, hdu, plane: p, shape: geo.shape, planes: geo.planes, bunit: header?.getString('BUNIT') ?? null });
  if (s.noise.mode === 'mad') s.setNoise({ sigma: null, estimatedFrom: null, region: null });
  if (opts.show !== false) showObservation();
  scheduleValidate();
  scheduleNoiseDescribe();
}

function showObservation(): void {
  const s = useStore.getState();
  if (!s.obs) return;
  try {
    const px = obsPlanePixels(s.obs.hdu, s.obs.plane);
    const header = obsFitsFile()?.hdus[s.obs.hdu]?.header;
    if (px) showResult({ id: 'observation', title: `Observation — ${s.obs.name}`, role: 'observation', data: px.data, shape: px.shape, header });
  } catch {
    /* the viewer shows what it can; the run does not depend on it */
  }
}

/** A name for a new file that does not clash with a different file already held. */
async function uniqueName(wanted: string, bytes: Uint8Array): Promise<string> {
  const base = safeFileName(wanted);
  const existing = getAux(base);
  if (!existing) return base;
  const probe = await storeAux(`.probe`, bytes);
  removeAux('.probe');
  if (probe.sha256 === existing.sha256) return base;
  const m = /^(.*?)(\.[^.]*)?$/.exec(base)!;
  for (let k = 2; ; k++) {
    const n = `${m[1]}-${k}${m[2] ?? ''}`;
    if (!getAux(n)) return n;
  }
}

/** Adds an auxiliary file (PSF, mask, σ map, station table); returns the name the model refers to it by. */
export async function addModelFile(name: string, bytes: Uint8Array, role: FileMeta['role']): Promise<string> {
  const n = await uniqueName(name, bytes);
  const f = await storeAux(n, bytes);
  useStore.getState().upsertModelFile({ name: n, size: bytes.byteLength, sha256: f.sha256, role });
  return n;
}

export function setModelDoc(doc: ForwardModelSpec): void {
  useStore.getState().setModelDoc(doc);
  scheduleValidate();
}

/** Loads an M.json; files it names that are not loaded yet are listed so the user can add them. */
export function loadModelJson(name: string, text: string): boolean {
  try {
    const { noise: block, ...doc } = readModelText(text, name);
    useStore.getState().setModelDoc(doc);
    // its noise block becomes the Noise step's choice (the run sends the noise apart from the model)
    if (block) {
      const { patch, dropped } = noiseSettingsOf(block);
      useStore.getState().setNoise(patch);
      if (dropped.length) notify('warn', `${name}: the noise block's one σ for correlated noise is not offered here (a σ map is); the σ measured from the blank sky is used`);
      scheduleNoiseDescribe();
    }
    clearOverlays();
    const missing = [...referencedFiles(doc), ...(block ? [block.image, block.sigmaFits].filter((f): f is string => f !== undefined) : [])].filter((f) => !getAux(f));
    if (missing.length) notify('warn', `${name} refers to ${missing.join(', ')}: add ${missing.length > 1 ? 'these files' : 'this file'} in the operator forms`);
    else notify('info', `Loaded the forward model ${name}`);
    scheduleValidate();
    return true;
  } catch (e) {
    // the message names the file
    notify('error', (e as Error).message);
    return false;
  }
}

/** M.json with the Noise step's choice as its noise block (what `skyscore reconstruct` reads when no noise flag is given). */
export function saveModelJson(): void {
  const s = useStore.getState();
  const block = noiseBlockOf(s.noise);
  downloadText('M.json', toModelJson(block ? { ...s.modelDoc, noise: block } : s.modelDoc));
}

// ---- engine requests, debounced ----------------------------------------------------------------------------

let validateTimer: ReturnType<typeof setTimeout> | null = null;
let validateSeq = 0;

/** Validates the model in the engine 250 ms after the last change (instant local checks first). */
export function scheduleValidate(delayMs = 250): void {
  if (validateTimer) clearTimeout(validateTimer);
  validateTimer = setTimeout(() => void validateNow(), delayMs);
}

export async function validateNow(): Promise<boolean> {
  const s = useStore.getState();
  const seq = ++validateSeq;
  const issues = checkDoc(s.modelDoc, s.forwardModelFiles.map((f) => f.name), s.obs?.shape ?? null);
  if (issues.length) {
    s.setModelCheck({ state: 'error', summary: null, error: issues.map((i) => `${i.path}: ${i.message}`).join('\n') });
    return false;
  }
  s.setModelCheck({ state: 'checking', summary: s.modelCheck.summary, error: null });
  try {
    const params: { model: unknown; files: NamedFile[]; obsShape?: Shape2 } = { model: s.modelDoc, files: requestFiles() };
    if (s.obs) params.obsShape = s.obs.shape;
    const summary = await getClient().request('model.validate', params);
    if (seq !== validateSeq) return false;
    useStore.getState().setModelCheck({ state: 'ok', summary, error: null });
    return true;
  } catch (e) {
    if (seq !== validateSeq) return false;
    useStore.getState().setModelCheck({ state: 'error', summary: null, error: (e as Error).message });
    return false;
  }
}

const overlayTimers = new Map<number, ReturnType<typeof setTimeout>>();
const overlaySeq = new Map<number, number>();

/** Asks for the drawing data of operator `i` (PSF kernel, mask, lens curves, uv coverage and dirty beam). */
export function scheduleOverlay(i: number, delayMs = 200): void {
  const t = overlayTimers.get(i);
  if (t) clearTimeout(t);
  overlayTimers.set(
    i,
    setTimeout(() => void overlayNow(i), delayMs),
  );
}

export async function overlayNow(i: number): Promise<void> {
  const s = useStore.getState();
  const seq = (overlaySeq.get(i) ?? 0) + 1;
  overlaySeq.set(i, seq);
  const issues = checkDoc(s.modelDoc, s.forwardModelFiles.map((f) => f.name), null).filter((x) => x.path.startsWith(`operators[${i}]`) || x.path === 'shape');
  if (issues.length) {
    setOverlay(i, null);
    useStore.getState().bumpOverlays(null);
    return;
  }
  try {
    const o = await getClient().request('model.overlays', { model: s.modelDoc, files: requestFiles(), operator: i });
    if (overlaySeq.get(i) !== seq) return;
    setOverlay(i, o);
    useStore.getState().bumpOverlays(null);
  } catch (e) {
    if (overlaySeq.get(i) !== seq) return;
    setOverlay(i, null);
    useStore.getState().bumpOverlays((e as Error).message);
  }
}

/** A test pattern on the unknown's grid: a few point sources (what a PSF or a lens does to them is telling). */
export function pointSources(shape: Shape2): Float32Array {
  const [ny, nx] = shape;
  const x = new Float32Array(ny * nx);
  const pts: [number, number][] = [
    [0.5, 0.5],
    [0.3, 0.35],
    [0.7, 0.62],
    [0.45, 0.75],
  ];
  for (const [fy, fx] of pts) x[Math.round(fy * (ny - 1)) * nx + Math.round(fx * (nx - 1))] = 1;
  return x;
}

/**
 * "Preview A x": the forward model applied to the current estimate — the last posterior mean, else the
 * observation itself when it lives on the unknown's grid, else point sources.
 */
export async function previewAx(): Promise<void> {
  const s = useStore.getState();
  const shape = s.modelDoc.shape;
  const est = currentEstimate();
  let x: Float32Array;
  let source: string;
  if (est && est.shape[0] === shape[0] && est.shape[1] === shape[1]) {
    x = est.data;
    source = 'posterior mean of the last run';
  } else {
    const px = s.obs ? obsPlanePixels(s.obs.hdu, s.obs.plane) : null;
    if (px && px.shape[0] === shape[0] && px.shape[1] === shape[1]) {
      x = px.data;
      source = 'the observation';
    } else {
      x = pointSources(shape);
      source = 'point sources';
    }
  }
  const issues = checkDoc(s.modelDoc, s.forwardModelFiles.map((f) => f.name), null);
  if (issues.length) {
    s.bumpPreviewAx({ state: 'error', error: issues[0]!.message });
    return;
  }
  s.bumpPreviewAx({ state: 'checking', error: null });
  try {
    const r = await getClient().request('model.preview', { model: s.modelDoc, files: requestFiles(), x, shape });
    setPreviewAx({ data: r.data, shape: r.shape, source });
    useStore.getState().bumpPreviewAx({ state: 'ok', error: null });
    showResult({ id: 'preview-ax', title: `A x (x = ${source})`, role: 'sample', data: r.data, shape: r.shape });
  } catch (e) {
    setPreviewAx(null);
    useStore.getState().bumpPreviewAx({ state: 'error', error: (e as Error).message });
  }
}

/** σ from the median absolute deviation of the observation (whole plane or a region): σ ≈ 1.4826 MAD. */
export async function estimateNoise(region: Region | null): Promise<void> {
  const s = useStore.getState();
  if (!s.obs || !getObs()) {
    notify('warn', 'Open the observation first: σ is estimated from its pixels');
    return;
  }
  try {
    const r = await withObs((obs) => getClient().request('noise.estimate', region ? { obs, region } : { obs }));
    s.setNoise({ mode: 'mad', sigma: r.sigma, region, estimatedFrom: r.n });
  } catch (e) {
    notify('error', `Noise estimate: ${(e as Error).message}`);
  }
}

/** Stores a file under exactly this name, replacing what was there (the painted mask). */
export async function replaceModelFile(name: string, bytes: Uint8Array, role: FileMeta['role']): Promise<string> {
  const f = await storeAux(name, bytes);
  useStore.getState().upsertModelFile({ name, size: bytes.byteLength, sha256: f.sha256, role });
  scheduleValidate();
  return name;
}
