/**
 * Opening FITS files in the viewer (menu, dialog, drag-and-drop): the page's FITS worker (fits-local.ts) reads
 * and parses the file off the UI thread and answers with its HDUs and SHA-256; the chosen HDU and plane come
 * back as float32 pixels (transferred, not copied) with header, statistics and the pyramid a large image is
 * drawn from. The renderer keeps the bytes, for the observation the engine is given and for opening the file
 * again. Errors become a message in the viewer; what was shown stays.
 *
 * Where a file goes: the observation's panel holds only the observation the run uses. A file opened while
 * another is the observation is shown in a panel of its own, badged "viewed only", and the viewer asks
 * whether it should become the observation (the model link installs the rule and the switch).
 */
import { useStore } from '../store/index';
import { rememberFile, getFile, renameFile } from '../cache/pixels';
import { showImage, removeImage } from './images';
import { openLocal, planeLocal, closeLocal, type LocalPlane } from './fits-local';
import { isVisibilityFile, openUvfitsBytes } from '../radio/actions';

export const OBSERVATION_ID = 'observation';
/** The panel of a file opened for viewing only. */
export const VIEWED_ID = 'viewed';
export type OpenTarget = 'observation' | 'viewed';

/** The key of an observation (or of a file's plane): file hash, HDU and plane. */
export const planeKey = (sha256: string, hdu: number, plane: number) => `${sha256}:${hdu}:${plane}`;

export interface OpenedListener {
  (f: { name: string; bytes: Uint8Array; sha256: string; hdu: number; plane: number; target: OpenTarget }): void;
}

/** Decides where a newly opened file goes (installed by the model link; without it, the observation). */
let chooseTarget: (f: { name: string; sha256: string }) => OpenTarget = () => 'observation';
export function setTargetRule(fn: typeof chooseTarget): void {
  chooseTarget = fn;
}

/** Makes the viewed file the observation (installed by the model link). */
let adoptHandler: ((f: { name: string; bytes: Uint8Array; hdu: number; plane: number }) => Promise<boolean>) | null = null;
export function setAdoptHandler(fn: typeof adoptHandler): void {
  adoptHandler = fn;
}

/** The file shown in the viewed-only panel. */
let viewedFile: { fileId: string; name: string; bytes: Uint8Array; sha256: string; hdu: number; plane: number } | null = null;

let opening = 0;
const settledWaiters: (() => void)[] = [];
/** Runs `fn` once no file is being opened (at once when none is). */
export function whenOpened(fn: () => void): void {
  if (opening === 0) fn();
  else settledWaiters.push(fn);
}
const openedListeners = new Set<OpenedListener>();

/** Be told when the user opened (or re-chose the HDU/plane of) a file in the viewer. */
export function onFileOpened(cb: OpenedListener): () => void {
  openedListeners.add(cb);
  return () => void openedListeners.delete(cb);
}

const MAX_OPEN_BYTES = 1024 ** 3;

function message(e: unknown): string {
  return (e as Error)?.message ?? String(e);
}

/** "name: what went wrong", without naming the file twice (the engine's FITS errors start with the name). */
function fileError(name: string, e: unknown): string {
  const m = message(e);
  return m.startsWith(`${name}: `) ? m : `${name}: ${m}`;
}

async function track<T>(fn: () => Promise<T>): Promise<T> {
  opening++;
  try {
    return await fn();
  } finally {
    opening--;
    if (opening === 0) for (const w of settledWaiters.splice(0)) w();
  }
}

export function openFitsBytes(name: string, bytes: Uint8Array, opts: { target?: OpenTarget; hdu?: number; plane?: number } = {}): Promise<boolean> {
  // visibilities (UVFITS; a CASA table is refused there with the command that exports it) go to the Visibilities view
  if (bytes.byteLength > 0 && isVisibilityFile(name, bytes)) return track(() => openUvfitsBytes(name, bytes));
  return track(() => openFitsNow(name, bytes, opts));
}

/**
 * Opens `src`: a File is read once, in the worker, which gives the page its copy of the bytes (kept for the
 * observation and for opening the file again); bytes are copied to the worker.
 */
async function openFitsNow(name: string, src: Blob | Uint8Array, opts: { target?: OpenTarget; hdu?: number; plane?: number }): Promise<boolean> {
  const st = useStore.getState();
  const size = src instanceof Uint8Array ? src.byteLength : src.size;
  if (size === 0) {
    st.setViewerError(`${name}: the file is empty`);
    return false;
  }
  if (size > MAX_OPEN_BYTES) {
    st.setViewerError(`${name}: ${(size / 1024 ** 3).toFixed(1)} GB is more than the viewer opens (1 GB)`);
    return false;
  }
  st.setViewerBusy(`Opening ${name}…`);
  st.setViewerError(null);
  try {
    const res = await openLocal(name, src);
    const images = res.hdus.filter((h) => h.hasImage);
    if (!images.length) {
      st.setViewerError(`${name}: no image in this file (${res.hdus.map((h) => h.summary).join('; ')})`);
      closeLocal(res.fileId);
      return false;
    }
    const bytes = src instanceof Uint8Array ? src : res.fileBytes;
    if (!bytes) throw new Error('the FITS reader gave no bytes');
    rememberFile({ fileId: res.fileId, name, bytes });
    const sha256 = res.sha256;
    const target = opts.target ?? chooseTarget({ name, sha256 });
    // the worker can forget the file browsed before (the renderer still has its bytes for a while)
    const prev = useStore.getState().browsed;
    if (prev && prev.fileId !== res.fileId) closeLocal(prev.fileId);
    // the observation's own file again: its HDU and plane, not the file's first image
    const o = useStore.getState().obs;
    const want = opts.hdu === undefined && target === 'observation' && o?.sha256 === sha256 ? { hdu: o.hdu, plane: o.plane } : opts;
    const hdu = want.hdu !== undefined && res.hdus[want.hdu]?.hasImage ? want.hdu : res.defaultHdu;
    const plane = want.plane !== undefined && want.plane < (res.hdus[hdu]?.planes ?? 1) ? want.plane : 0;
    st.setBrowsed({ fileId: res.fileId, name, sha256, target, hdus: res.hdus, hdu, plane });
    const ok = await showPlaneNow(hdu, plane, res.warnings);
    if (ok && target === 'observation' && viewedFile?.sha256 === sha256) {
      // the viewed file opened again as the observation: nothing viewed apart, nothing to ask
      viewedFile = null;
      removeImage(VIEWED_ID);
      useStore.getState().setViewerAsk(null);
    }
    if (ok && target === 'viewed') useStore.getState().setViewerAsk({ name, observation: useStore.getState().obs?.name ?? '' });
    return ok;
  } catch (e) {
    st.setViewerError(fileError(name, e));
    return false;
  } finally {
    useStore.getState().setViewerBusy(null);
  }
}

async function fetchPlane(fileId: string, hdu: number, plane: number): Promise<LocalPlane> {
  try {
    return await planeLocal(fileId, hdu, plane);
  } catch (e) {
    // the worker dropped the file (it keeps the last few) or restarted: give it the bytes again and retry once
    const f = getFile(fileId);
    if (!f || !/no open file|FITS reader stopped/.test((e as Error).message)) throw e;
    const res = await openLocal(f.name, f.bytes);
    renameFile(fileId, res.fileId);
    const b = useStore.getState().browsed;
    if (b && b.fileId === fileId) useStore.getState().setBrowsed({ ...b, fileId: res.fileId });
    return planeLocal(res.fileId, hdu, plane);
  }
}

/** Shows an HDU / plane of the file being browsed in its panel (the observation's, or the viewed-only one). */
export function showPlane(hdu: number, plane: number, extraWarnings: string[] = []): Promise<boolean> {
  return track(() => showPlaneNow(hdu, plane, extraWarnings));
}

async function showPlaneNow(hdu: number, plane: number, extraWarnings: string[]): Promise<boolean> {
  const st = useStore.getState();
  const b = st.browsed;
  if (!b) return false;
  st.setViewerBusy(`Reading ${b.name} [HDU ${hdu}${plane ? `, plane ${plane + 1}` : ''}]…`);
  try {
    const p = await fetchPlane(b.fileId, hdu, plane);
    const cur = useStore.getState().browsed ?? b;
    const h = cur.hdus[hdu];
    const planes = h?.planes ?? 1;
    const where = `${cur.hdus.filter((x) => x.hasImage).length > 1 ? ` [${hdu}${h?.name ? ` ${h.name}` : ''}]` : ''}${planes > 1 ? ` plane ${plane + 1}/${planes}` : ''}`;
    const viewed = cur.target === 'viewed';
    showImage({
      id: viewed ? VIEWED_ID : OBSERVATION_ID,
      title: `${cur.name}${where}`,
      role: viewed ? 'viewed' : 'observation',
      data: p.data,
      shape: [p.height, p.width],
      header: p.header,
      bunit: p.bunit,
      stats: p.stats,
      levels: p.levels.length ? p.levels : undefined,
      source: { key: planeKey(cur.sha256, hdu, plane), label: cur.name },
    });
    useStore.getState().setBrowsed({ ...cur, hdu, plane });
    useStore.getState().setViewerWarnings([...extraWarnings, ...p.warnings]);
    useStore.getState().setViewerError(null);
    if (viewed) useStore.getState().setActiveImage(VIEWED_ID);
    const f = getFile(useStore.getState().browsed!.fileId);
    if (f && viewed) viewedFile = { fileId: cur.fileId, name: f.name, bytes: f.bytes, sha256: cur.sha256, hdu, plane };
    if (f) for (const l of openedListeners) l({ name: f.name, bytes: f.bytes, sha256: cur.sha256, hdu, plane, target: cur.target });
    return true;
  } catch (e) {
    useStore.getState().setViewerError(fileError(b.name, e));
    return false;
  } finally {
    useStore.getState().setViewerBusy(null);
  }
}

/** Reads a File (dialog, drop) and opens it. */
export async function openFile(file: File): Promise<boolean> {
  try {
    // visibilities are told by their name or their first header (random groups): only those are read here
    const head = new Uint8Array(await file.slice(0, 4 * 2880).arrayBuffer());
    if (head.byteLength > 0 && isVisibilityFile(file.name, head)) return await openFitsBytes(file.name, new Uint8Array(await file.arrayBuffer()));
    return await track(() => openFitsNow(file.name, file, {}));
  } catch (e) {
    useStore.getState().setViewerError(`${file.name}: cannot read the file (${(e as Error).message})`);
    return false;
  }
}

/**
 * The file viewed apart becomes the observation: the model takes it (its HDU and plane), then the viewer
 * shows it in the observation's panel and closes the viewed one. Nothing changes when the model refuses it.
 */
export async function adoptViewed(): Promise<boolean> {
  const v = viewedFile;
  if (!v || !adoptHandler) return false;
  return track(async () => {
    if (!(await adoptHandler!({ name: v.name, bytes: v.bytes, hdu: v.hdu, plane: v.plane }))) return false;
    viewedFile = null;
    useStore.getState().setViewerAsk(null);
    removeImage(VIEWED_ID);
    const b = useStore.getState().browsed;
    if (b && b.fileId === v.fileId) {
      useStore.getState().setBrowsed({ ...b, target: 'observation' });
      return showPlane(v.hdu, v.plane);
    }
    return openFitsNow(v.name, v.bytes, { target: 'observation', hdu: v.hdu, plane: v.plane });
  });
}

/** Keeps the file for viewing only: the question goes away, the panel stays (badged "viewed only"). */
export function keepViewing(): void {
  useStore.getState().setViewerAsk(null);
}
