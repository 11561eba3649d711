/**
 * FITS files for the viewer: the summary of each HDU (what the HDU chooser lists) and one image plane for
 * display — physical values as float32, the header as card images, BUNIT, display statistics and warnings.
 * Shared by the page's FITS worker (the viewer decodes files the user opens in the page) and the engine's
 * `fits.*` methods.
 */
import type { FitsFile, FitsHdu } from '../fits/reader.js';
import { formatCard } from '../fits/header.js';
import { FitsInputError } from '../fits/errors.js';
import { computeStats } from './stats.js';
import type { FitsPlaneResult, HduSummary } from '../protocol/fits.js';

const BITPIX_NAMES: Record<number, string> = { 8: 'uint8', 16: 'int16', 32: 'int32', 64: 'int64', [-32]: 'float32', [-64]: 'float64' };

export function summarizeHdu(h: FitsHdu): HduSummary {
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

/** An open file and its last decoded image (HDU index and physical values), so stepping through a cube decodes once. */
export interface OpenFitsFile {
  name: string;
  file: FitsFile;
  decoded: { hdu: number; data: Float32Array | Float64Array } | null;
}

/**
 * One plane of an image HDU for display. The plane's float32 values are a buffer of their own (the caller may
 * transfer it): a 2-D float32 image is handed over as decoded, without a copy, and not kept; a cube's decoded
 * values are kept for its other planes and the plane copied out.
 */
export function readPlane(f: OpenFitsFile, hdu: number, plane = 0): Omit<FitsPlaneResult, 'fileId'> {
  const h = f.file.hdus[hdu];
  if (!h) throw new FitsInputError(`${f.name}: no HDU ${hdu} (the file has ${f.file.hdus.length}: 0..${f.file.hdus.length - 1})`);
  if (!h.hasImage) throw new FitsInputError(`${f.name}: HDU ${hdu} (${summarizeHdu(h).summary}) has no image to show`);
  const shape = h.shape;
  const width = shape[0];
  const height = shape.length > 1 ? shape[1] : 1;
  const planes = shape.length > 2 ? shape.slice(2).reduce((a, b) => a * b, 1) : 1;
  if (!Number.isInteger(plane) || plane < 0 || plane >= planes) throw new FitsInputError(`${f.name}: HDU ${hdu} has ${planes} plane(s) (0..${planes - 1}); plane ${plane} does not exist`);
  const warningsBefore = f.file.warnings.length;
  const decoded = f.decoded && f.decoded.hdu === hdu ? f.decoded.data : h.readImage().data;
  const n = width * height;
  let data: Float32Array;
  if (planes === 1 && decoded instanceof Float32Array && decoded.length === n) {
    data = decoded;
    f.decoded = null;
  } else {
    f.decoded = { hdu, data: decoded };
    data = new Float32Array(decoded.subarray(plane * n, (plane + 1) * n)); // a copy (also float64 → float32)
  }
  const stats = computeStats(data);
  const header = h.header.cards.flatMap((c) => formatCard(c)).join('');
  const bunit = h.header.getString('BUNIT')?.trim() || null;
  const warnings = f.file.warnings.slice(warningsBefore);
  if (stats.finite < stats.count) warnings.push(`${stats.count - stats.finite} of ${stats.count} pixels are NaN or infinite (blank): shown as no data`);
  if (decoded instanceof Float64Array) {
    // float32 display copy of float64/scaled data: say so if precision is lost visibly (range ≪ magnitude)
    const mag = Math.max(Math.abs(stats.min), Math.abs(stats.max));
    if (stats.finite && stats.max - stats.min < mag * 1e-6) warnings.push('values span less than 1e-6 of their magnitude: float32 display loses precision');
  }
  return { hdu, plane, width, height, data, header, bunit, stats, warnings };
}

/**
 * Drops the oldest open files (a Map keeps its insertion order) until at most `maxFiles` remain and their sizes
 * add up to at most `maxBytes`; the newest file always stays.
 */
export function evictOldest<K>(files: Map<K, { size: number }>, maxFiles: number, maxBytes: number): void {
  let total = 0;
  for (const f of files.values()) total += f.size;
  for (const [id, f] of files) {
    if (files.size <= 1 || (files.size <= maxFiles && total <= maxBytes)) break;
    files.delete(id);
    total -= f.size;
  }
}
