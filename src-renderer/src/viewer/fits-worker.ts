/**
 * The viewer's FITS worker: files the user opens in the page are parsed and decoded here, off the UI thread —
 * the HDU summaries, one plane at a time as float32 with its display statistics and the block-mean pyramid the
 * CPU renderer draws a large image from, and the file's SHA-256. Pixel buffers go back to the page transferred,
 * not copied. The same shared code as the engine's `fits.*` methods (src-shared/image/fits-planes.ts).
 */
import { readFits } from '../../../src-shared/fits/reader';
import { UserInputError } from '../../../src-shared/errors';
import { LIMITS } from '../../../src-shared/protocol/limits';
import { readPlane, summarizeHdu, evictOldest, type OpenFitsFile } from '../../../src-shared/image/fits-planes';
import { buildPyramid, type PyramidLevel } from '../../../src-shared/image/decimate';
import type { FitsPlaneResult } from '../../../src-shared/protocol/fits';
import type { WorkerRequest, WorkerReply } from './fits-local';

interface Scope {
  onmessage: ((e: MessageEvent<WorkerRequest>) => void) | null;
  postMessage(m: WorkerReply, transfer?: Transferable[]): void;
}
const scope = self as unknown as Scope;

/** Files kept for their other HDUs and planes: the most recently used few, within a byte budget. */
const MAX_FILES = 4;
const MAX_BYTES = 1024 ** 3;

interface Entry extends Omit<OpenFitsFile, 'file'> {
  /** The parsed file; null once its bytes went to the page (read again from `blob` when another plane is asked for). */
  file: OpenFitsFile['file'] | null;
  blob: Blob | null;
  size: number;
  /** The default plane, decoded while the file's hash was computed: the page asks for it next. */
  ready: { hdu: number; plane: number; result: PlaneReply } | null;
}
type PlaneReply = { plane: Omit<FitsPlaneResult, 'fileId'>; levels: PyramidLevel[] };

const files = new Map<string, Entry>();
let nextId = 1;

const hex = (d: ArrayBuffer) => Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, '0')).join('');
const parse = (bytes: Uint8Array, name: string) =>
  readFits(bytes, { maxBytes: LIMITS.fitsBytes, maxPixels: LIMITS.fitsDecodePixels, maxDecodePixels: LIMITS.fitsDecodePixels, name, strict: false });

/** A plane with its statistics and pyramid (its buffers are the caller's to transfer). */
function decodePlane(f: Entry & { file: OpenFitsFile['file'] }, hdu: number, plane: number): PlaneReply {
  const p = readPlane(f, hdu, plane);
  const levels = buildPyramid(p.data, p.width, p.height);
  return { plane: p, levels };
}

async function handle(m: WorkerRequest): Promise<{ reply: WorkerReply; transfer: Transferable[] }> {
  if (m.op === 'open') {
    const bytes = m.bytes ?? new Uint8Array(await m.file!.arrayBuffer());
    // the hash is computed by WebCrypto while the default plane is decoded here
    const digest = crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>);
    const file = parse(bytes, m.name);
    const hdus = file.hdus.map(summarizeHdu);
    const defaultHdu = hdus.find((h) => h.hasImage)?.index ?? -1;
    const fileId = `w${nextId++}`;
    const entry: Entry = { name: m.name, file, blob: m.file ?? null, decoded: null, size: file.bytes.byteLength, ready: null };
    files.set(fileId, entry);
    evictOldest(files, MAX_FILES, MAX_BYTES);
    if (defaultHdu >= 0) {
      try {
        entry.ready = { hdu: defaultHdu, plane: 0, result: decodePlane(entry as Entry & { file: OpenFitsFile['file'] }, defaultHdu, 0) };
      } catch {
        /* the page asks for the plane and is told what is wrong then */
      }
    }
    const warnings = [...file.warnings];
    const sha256 = hex(await digest);
    // a File read here is read once: its bytes go to the page (transferred) and are read again only if another
    // HDU or plane is wanted
    const give = m.file ? bytes : undefined;
    if (give) {
      entry.file = null;
      entry.decoded = null;
    }
    return { reply: { id: m.id, op: 'open', fileId, name: m.name, bytes: bytes.byteLength, hdus, defaultHdu, warnings, sha256, fileBytes: give }, transfer: give ? [give.buffer as ArrayBuffer] : [] };
  }
  if (m.op === 'plane') {
    const f = files.get(m.fileId);
    if (!f) throw new UserInputError(`no open file '${m.fileId}' (it was closed or dropped); open it again`);
    files.delete(m.fileId);
    files.set(m.fileId, f);
    let r: PlaneReply;
    if (f.ready && f.ready.hdu === m.hdu && f.ready.plane === m.plane) r = f.ready.result;
    else {
      if (!f.file) f.file = parse(new Uint8Array(await f.blob!.arrayBuffer()), f.name);
      r = decodePlane(f as Entry & { file: OpenFitsFile['file'] }, m.hdu, m.plane);
    }
    f.ready = null;
    const transfer: Transferable[] = [r.plane.data.buffer as ArrayBuffer, ...r.levels.map((l) => l.data.buffer as ArrayBuffer)];
    return { reply: { id: m.id, op: 'plane', plane: { fileId: m.fileId, ...r.plane }, levels: r.levels }, transfer };
  }
  files.delete(m.fileId);
  return { reply: { id: m.id, op: 'close' }, transfer: [] };
}

scope.onmessage = (e) => {
  const m = e.data;
  handle(m).then(
    ({ reply, transfer }) => scope.postMessage(reply, transfer),
    (err: unknown) => scope.postMessage({ id: m.id, op: 'error', message: (err as Error)?.message ?? String(err), input: err instanceof UserInputError }),
  );
};
