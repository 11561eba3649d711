/**
 * Opening FITS files in the viewer (menu, dialog, drag-and-drop): the bytes go to the engine (`fits.open`),
 * which keeps the file and answers with its HDUs; the chosen HDU and plane come back as float32 pixels with
 * header and statistics (`fits.plane`). The renderer keeps the bytes, so a restarted engine gets the file
 * again without asking the user. Errors become a message in the viewer; what was shown stays.
 */
import { getClient, ApiError } from '../api/client';
import { useStore } from '../store/index';
import { rememberFile, getFile, renameFile } from '../cache/pixels';
import { showImage } from './images';
import type { FitsPlaneResult } from '../../../src-shared/protocol/fits';

export const OBSERVATION_ID = 'observation';

export interface OpenedListener {
  (f: { name: string; bytes: Uint8Array; hdu: number; plane: number }): void;
}
const openedListeners = new Set<OpenedListener>();

/** Be told when the user opened (or re-chose the HDU/plane of) a file in the viewer. */
export function onFileOpened(cb: OpenedListener): () => void {
  openedListeners.add(cb);
  return () => void openedListeners.delete(cb);
}

const MAX_OPEN_BYTES = 1024 ** 3;

function message(e: unknown): string {
  if (e instanceof ApiError && e.code === 'engine-died') return `the engine stopped while reading the file (${e.message}); it restarts by itself — try again`;
  return (e as Error)?.message ?? String(e);
}

/** "name: what went wrong", without naming the file twice (the engine's FITS errors start with the name). */
function fileError(name: string, e: unknown): string {
  const m = message(e);
  return m.startsWith(`${name}: `) ? m : `${name}: ${m}`;
}

export async function openFitsBytes(name: string, bytes: Uint8Array): Promise<boolean> {
  const st = useStore.getState();
  if (bytes.byteLength === 0) {
    st.setViewerError(`${name}: the file is empty`);
    return false;
  }
  if (bytes.byteLength > MAX_OPEN_BYTES) {
    st.setViewerError(`${name}: ${(bytes.byteLength / 1024 ** 3).toFixed(1)} GB is more than the viewer opens (1 GB)`);
    return false;
  }
  st.setViewerBusy(`Opening ${name}…`);
  st.setViewerError(null);
  try {
    const res = await getClient().request('fits.open', { name, bytes });
    const images = res.hdus.filter((h) => h.hasImage);
    if (!images.length) {
      st.setViewerError(`${name}: no image in this file (${res.hdus.map((h) => h.summary).join('; ')})`);
      return false;
    }
    rememberFile({ fileId: res.fileId, name, bytes });
    // the engine can forget the file browsed before (the renderer still has its bytes for a while)
    const prev = useStore.getState().browsed;
    if (prev && prev.fileId !== res.fileId) void getClient().request('fits.close', { fileId: prev.fileId }).catch(() => {});
    st.setBrowsed({ fileId: res.fileId, name, hdus: res.hdus, hdu: res.defaultHdu, plane: 0 });
    const ok = await showPlane(res.defaultHdu, 0, res.warnings);
    return ok;
  } catch (e) {
    st.setViewerError(fileError(name, e));
    return false;
  } finally {
    useStore.getState().setViewerBusy(null);
  }
}

async function fetchPlane(fileId: string, hdu: number, plane: number): Promise<FitsPlaneResult> {
  const client = getClient();
  try {
    return await client.request('fits.plane', { fileId, hdu, plane });
  } catch (e) {
    // the engine restarted (or dropped the file): give it the bytes again and retry once
    const f = getFile(fileId);
    const gone = (e instanceof ApiError && e.code === 'engine-died') || /no open file/.test((e as Error).message);
    if (!f || !gone) throw e;
    const res = await client.request('fits.open', { name: f.name, bytes: f.bytes });
    renameFile(fileId, res.fileId);
    const b = useStore.getState().browsed;
    if (b && b.fileId === fileId) useStore.getState().setBrowsed({ ...b, fileId: res.fileId });
    return client.request('fits.plane', { fileId: res.fileId, hdu, plane });
  }
}

/** Shows an HDU / plane of the file being browsed as the observation panel. */
export async function showPlane(hdu: number, plane: number, extraWarnings: string[] = []): Promise<boolean> {
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
    showImage({ id: OBSERVATION_ID, title: `${cur.name}${where}`, role: 'observation', data: p.data, shape: [p.height, p.width], header: p.header, bunit: p.bunit, stats: p.stats });
    useStore.getState().setBrowsed({ ...cur, hdu, plane });
    useStore.getState().setViewerWarnings([...extraWarnings, ...p.warnings]);
    useStore.getState().setViewerError(null);
    const f = getFile(useStore.getState().browsed!.fileId);
    if (f) for (const l of openedListeners) l({ name: f.name, bytes: f.bytes, hdu, plane });
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
    const bytes = new Uint8Array(await file.arrayBuffer());
    return await openFitsBytes(file.name, bytes);
  } catch (e) {
    useStore.getState().setViewerError(`${file.name}: cannot read the file (${(e as Error).message})`);
    return false;
  }
}
