/**
 * The plain pixel cache of the viewer: image buffers, their statistics, headers and WCS, outside reactive
 * state. The store holds ids, versions and metadata; a panel reads the pixels here when the version changes.
 * Also the bytes of the FITS files opened in the viewer (so a restarted engine can be given them again).
 */
import type { FitsHeader } from '../../../src-shared/fits/header';
import type { ImageStats } from '../../../src-shared/image/stats';
import type { CelestialWcs } from '../viewer/wcs';
import type { PyramidLevel } from '../../../src-shared/image/decimate';

export interface PixelEntry {
  data: Float32Array;
  width: number;
  height: number;
  stats: ImageStats;
  header: FitsHeader | null;
  wcs: CelestialWcs | null;
  /** Block-mean pyramid of a large image (levels 1, 2, …), or null until it is needed. */
  levels: PyramidLevel[] | null;
  /** Histogram-equalisation tables by "lo:hi". */
  histeq: Map<string, Float32Array>;
}

const entries = new Map<string, PixelEntry>();

export function putPixels(id: string, e: Omit<PixelEntry, 'histeq'>): PixelEntry {
  const entry = { ...e, histeq: new Map<string, Float32Array>() };
  entries.set(id, entry);
  return entry;
}

export function getPixels(id: string): PixelEntry | undefined {
  return entries.get(id);
}

export function deletePixels(id: string): void {
  entries.delete(id);
}

export interface OpenedFile {
  fileId: string;
  name: string;
  bytes: Uint8Array;
}

const files = new Map<string, OpenedFile>();

export function rememberFile(f: OpenedFile): void {
  files.set(f.fileId, f);
  // keep the last few files only
  while (files.size > 4) files.delete(files.keys().next().value as string);
}

export function getFile(fileId: string): OpenedFile | undefined {
  return files.get(fileId);
}

export function renameFile(oldId: string, newId: string): void {
  const f = files.get(oldId);
  if (!f) return;
  files.delete(oldId);
  files.set(newId, { ...f, fileId: newId });
}
