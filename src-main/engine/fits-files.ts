/**
 * The engine's open FITS files for the viewer: `fits.open` parses the structure and keeps the file by id,
 * `fits.plane` decodes one image plane (physical values as float32) with its header and display statistics,
 * `fits.close` forgets the file. A bounded store: the least recently used files are dropped past
 * MAX_FILES or MAX_BYTES (the renderer re-opens a dropped file from its own copy of the bytes).
 */
import { readFits, type FitsFile, type FitsHdu } from '../../src-shared/fits/reader.js';
import { formatCard } from '../../src-shared/fits/header.js';
import { FitsInputError } from '../../src-shared/fits/errors.js';
import { computeStats } from '../../src-shared/image/stats.js';
import { CLIENT_FITS } from './limits.js';
import type { FitsMethods, FitsOpenResult, FitsPlaneResult, HduSummary } from '../../src-shared/protocol/fits.js';

const MAX_FILES = 8;
const MAX_BYTES = 2 * 1024 ** 3;

interface OpenFile {
  id: string;
  name: string;
  file: FitsFile;
  size: number;
  /** The last decoded image (HDU index and physical values), so stepping through a cube decodes once. */
  decoded: { hdu: number; data: Float32Array | Float64Array } | null;
}

const files = new Map<string, OpenFile>();
let nextId = 1;

function touch(f: OpenFile) {
  files.delete(f.id);
  files.set(f.id, f);
}

function evict() {
  let total = 0;
  for (const f of files.values()) total += f.size;
  for (const [id, f] of files) {
    if (files.size <= MAX_FILES && total <= MAX_BYTES) break;
    files.delete(id);
    total -= f.size;
  }
}

const BITPIX_NAMES: Record<number, string> = { 8: 'uint8', 16: 'int16', 32: 'int32', 64: 'int64', [-32]: 'float32', [-64]: 'float64' };

function summarize(h: FitsHdu): HduSummary {
  const shape = h.shape;
  const planes = h.hasImage && shape.length > 2 ? shape.slice(2).reduce((a, b) => a * b, 1) : 1;
  let planeAxis: HduSummary['planeAxis'] = null;
  if (h.hasImage && shape.length > 2 && shape[2] > 1) {
    const hd = h.header;
    const crval = hd.getNumber('CRVAL3');
    const cdelt = hd.getNumber('CDELT3') ?? hd.getNumber('CD3_3');
    const crpix = hd.getNumber('CRPIX3') ?? 1;
    if (crval !== undefined && cdelt !== undefined) {
      planeAxis = {
        ctype: hd.getString('CTYPE3')?.trim() ?? '',
        unit: hd.getString('CUNIT3')?.trim() ?? '',
        values: Array.from({ length: Math.min(shape[2], 100_000) }, (_, k) => crval + (k + 1 - crpix) * cdelt),
      };
    }
  }
  const kind = h.kind;
  let summary: string;
  if (h.hasImage) {
    summary = `${kind === 'compressed-image' ? 'compressed image' : 'image'} ${shape.join(' × ')}, ${BITPIX_NAMES[h.bitpix] ?? `BITPIX ${h.bitpix}`}`;
  } else if (kind === 'bintable' || kind === 'table') {
    summary = `${kind === 'bintable' ? 'binary table' : 'ASCII table'}, ${shape[1] ?? 0} rows`;
  } else if (kind === 'random-groups') {
    summary = `random groups (${h.header.getNumber('GCOUNT') ?? '?'} groups)`;
  } else summary = shape.length ? `${kind}, no image data` : 'header only';
  return { index: h.index, kind, name: h.name, bitpix: h.bitpix, shape: [...shape], hasImage: h.hasImage, planes, planeAxis, summary };
}

export function openFits(name: string, bytes: Uint8Array): FitsOpenResult {
  const file = readFits(bytes, { ...CLIENT_FITS, name, strict: false });
  const hdus = file.hdus.map(summarize);
  const id = `f${nextId++}`;
  files.set(id, { id, name, file, size: file.bytes.byteLength, decoded: null });
  evict();
  return { fileId: id, name, bytes: bytes.byteLength, hdus, defaultHdu: hdus.find((h) => h.hasImage)?.index ?? -1, warnings: [...file.warnings] };
}

export function fitsPlane(fileId: string, hdu: number, plane = 0): FitsPlaneResult {
  const f = files.get(fileId);
  if (!f) throw new FitsInputError(`no open file '${fileId}' (it was closed or dropped); open it again`);
  touch(f);
  const h = f.file.hdus[hdu];
  if (!h) throw new FitsInputError(`${f.name}: no HDU ${hdu} (the file has ${f.file.hdus.length}: 0..${f.file.hdus.length - 1})`);
  if (!h.hasImage) throw new FitsInputError(`${f.name}: HDU ${hdu} (${summarize(h).summary}) has no image to show`);
  const shape = h.shape;
  const width = shape[0];
  const height = shape.length > 1 ? shape[1] : 1;
  const planes = shape.length > 2 ? shape.slice(2).reduce((a, b) => a * b, 1) : 1;
  if (!Number.isInteger(plane) || plane < 0 || plane >= planes) throw new FitsInputError(`${f.name}: HDU ${hdu} has ${planes} plane(s) (0..${planes - 1}); plane ${plane} does not exist`);
  const warningsBefore = f.file.warnings.length;
  if (!f.decoded || f.decoded.hdu !== hdu) f.decoded = { hdu, data: h.readImage().data };
  const n = width * height;
  const src = f.decoded.data.subarray(plane * n, (plane + 1) * n);
  const data = new Float32Array(src); // a copy (also float64 → float32)
  const stats = computeStats(data);
  const header = h.header.cards.flatMap((c) => formatCard(c)).join('');
  const bunit = h.header.getString('BUNIT')?.trim() || null;
  const warnings = f.file.warnings.slice(warningsBefore);
  if (stats.finite < stats.count) warnings.push(`${stats.count - stats.finite} of ${stats.count} pixels are NaN or infinite (blank): shown as no data`);
  if (f.decoded.data instanceof Float64Array) {
    // float32 display copy of float64/scaled data: say so if precision is lost visibly (range ≪ magnitude)
    const mag = Math.max(Math.abs(stats.min), Math.abs(stats.max));
    if (stats.finite && stats.max - stats.min < mag * 1e-6) warnings.push('values span less than 1e-6 of their magnitude: float32 display loses precision');
  }
  return { fileId, hdu, plane, width, height, data, header, bunit, stats, warnings };
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
