/**
 * The engine's open FITS files for the viewer: `fits.open` parses the structure and keeps the file by id,
 * `fits.plane` decodes one image plane (physical values as float32) with its header and display statistics,
 * `fits.close` forgets the file. A bounded store: the least recently used files are dropped past
 * MAX_FILES or MAX_BYTES (the renderer re-opens a dropped file from its own copy of the bytes).
 */
import { readFits } from '../../src-shared/fits/reader.js';
import { FitsInputError } from '../../src-shared/fits/errors.js';
import { readPlane, summarizeHdu, evictOldest, type OpenFitsFile } from '../../src-shared/image/fits-planes.js';
import { CLIENT_FITS } from './limits.js';
import type { FitsMethods, FitsOpenResult, FitsPlaneResult } from '../../src-shared/protocol/fits.js';

const MAX_FILES = 8;
const MAX_BYTES = 2 * 1024 ** 3;

interface OpenFile extends OpenFitsFile {
  id: string;
  size: number;
}

const files = new Map<string, OpenFile>();
let nextId = 1;

function touch(f: OpenFile) {
  files.delete(f.id);
  files.set(f.id, f);
}

export function openFits(name: string, bytes: Uint8Array): FitsOpenResult {
  const file = readFits(bytes, { ...CLIENT_FITS, name, strict: false });
  const hdus = file.hdus.map(summarizeHdu);
  const id = `f${nextId++}`;
  files.set(id, { id, name, file, size: file.bytes.byteLength, decoded: null });
  evictOldest(files, MAX_FILES, MAX_BYTES);
  return { fileId: id, name, bytes: bytes.byteLength, hdus, defaultHdu: hdus.find((h) => h.hasImage)?.index ?? -1, warnings: [...file.warnings] };
}

export function fitsPlane(fileId: string, hdu: number, plane = 0): FitsPlaneResult {
  const f = files.get(fileId);
  if (!f) throw new FitsInputError(`no open file '${fileId}' (it was closed or dropped); open it again`);
  touch(f);
  return { fileId, ...readPlane(f, hdu, plane) };
}

export function closeFits(fileId: string): { closed: boolean } {
  return { closed: files.delete(fileId) };
}

type P<M extends keyof FitsMethods> = FitsMethods[M]['params'];
type R<M extends keyof FitsMethods> = FitsMethods[M]['result'];

/** The handlers, spread into the engine's handler table. */
export const fitsHandlers: { [M in keyof FitsMethods]: (p: P<M>) => Promise<R<M>> } = {
  'fits.open': async (p) => openFits(p.name, p.bytes),
  'fits.plane': async (p) => fitsPlane(p.fileId, p.hdu, p.plane ?? 0),
  'fits.close': async (p) => closeFits(p.fileId),
};
