/**
 * Putting images into the viewer: pixels into the plain cache, metadata into the store, display defaults by
 * role (residuals: the diverging map with limits symmetric about 0). Also the derived display values
 * (limits, histogram-equalisation table) every panel, colour bar and histogram share.
 */
import { FitsHeader, parseCards } from '../../../src-shared/fits/header';
import { computeStats, type ImageStats } from '../../../src-shared/image/stats';
import { computeLimits } from '../../../src-shared/image/limits';
import { histEqTable } from '../../../src-shared/image/scales';
import { DEFAULT_SCALE_PARAM } from '../../../src-shared/image/scales';
import { useStore } from '../store/index';
import { setViewMapper, type DisplayState, type ImageRole, type ImageSource } from '../store/images';
import { mapView } from './align';
import { getPixels, putPixels, deletePixels, type PixelEntry } from '../cache/pixels';
import { celestialWcs } from './wcs';
import type { PyramidLevel } from '../../../src-shared/image/decimate';

export interface ShowImageOptions {
  id: string;
  title: string;
  /** Row-major, x fastest, row 0 = the bottom row (FITS order). */
  data: Float32Array;
  /** [ny, nx] (the [ny, nx] order of docs/architecture.md: shape[0] rows of shape[1] pixels). */
  shape: [number, number];
  role: ImageRole;
  /** FITS header (object, or card images concatenated): gives the header viewer and the WCS read-out. */
  header?: FitsHeader | string | null;
  bunit?: string | null;
  /** Statistics already computed (the engine sends them with FITS planes). */
  stats?: ImageStats;
  /** Block-mean levels of a large image (the FITS worker sends them with its planes); built when first drawn otherwise. */
  levels?: PyramidLevel[];
  /** What the image came from (the observation's key and name, or a file's): products of an older one are marked. */
  source?: ImageSource | null;
}

// locked panels of different sizes: aligned by WCS where both images have one, else by relative position
setViewMapper((v, from, to) => {
  const a = getPixels(from);
  const b = getPixels(to);
  if (!a || !b) return v;
  return mapView(v, a, b);
});

export function defaultDisplay(role: ImageRole): DisplayState {
  switch (role) {
    case 'residual':
      return { scale: 'linear', scaleParam: 0, limits: { mode: 'symmetric', percent: 99.5 }, colormap: 'coolwarm', invert: false };
    case 'std':
      return { scale: 'linear', scaleParam: 0, limits: { mode: 'percentile', percent: 99.5 }, colormap: 'viridis', invert: false };
    default:
      return { scale: 'linear', scaleParam: 0, limits: { mode: 'percentile', percent: 99.5 }, colormap: 'grey', invert: false };
  }
}

function toHeader(h: FitsHeader | string | null | undefined): FitsHeader | null {
  if (!h) return null;
  if (typeof h !== 'string') return h;
  const cards = h.match(/.{1,80}/gs) ?? [];
  return parseCards(cards.map((c) => c.padEnd(80)));
}

export function showImage(o: ShowImageOptions): void {
  const [ny, nx] = o.shape;
  if (!(Number.isInteger(nx) && Number.isInteger(ny) && nx > 0 && ny > 0) || o.data.length !== nx * ny) {
    throw new RangeError(`showImage(${o.id}): shape [${o.shape.join(', ')}] does not match ${o.data.length} pixels`);
  }
  const header = toHeader(o.header);
  const { wcs, note } = header ? celestialWcs(header) : { wcs: null, note: 'no header' };
  const stats = o.stats ?? computeStats(o.data);
  putPixels(o.id, { data: o.data, width: nx, height: ny, stats, header, wcs, levels: o.levels ?? null });
  const bunit = o.bunit ?? header?.getString('BUNIT')?.trim() ?? null;
  useStore.getState().upsertImage(
    {
      id: o.id,
      title: o.title,
      role: o.role,
      width: nx,
      height: ny,
      bunit: bunit || null,
      hasHeader: !!header,
      wcsLabel: wcs ? `${wcs.frame} (${wcs.projection})` : null,
      wcsNote: wcs ? null : note,
      finite: stats.finite,
      count: stats.count,
      source: o.source ?? null,
    },
    defaultDisplay(o.role),
  );
}

export function removeImage(id: string): void {
  useStore.getState().removeImage(id);
  deletePixels(id);
}

/** The limits a display state gives for an image (NaN-safe). */
export function limitsOf(entry: PixelEntry, d: DisplayState): [number, number] {
  try {
    return computeLimits(d.limits, entry.stats);
  } catch {
    return computeLimits({ mode: 'minmax' }, entry.stats);
  }
}

/** The histogram-equalisation table for these limits (cached per image and limits). */
export function histeqOf(entry: PixelEntry, lo: number, hi: number): Float32Array {
  const key = `${lo}:${hi}`;
  let t = entry.histeq.get(key);
  if (!t) {
    if (entry.histeq.size > 8) entry.histeq.clear();
    // a large image's table from every k-th pixel (≥ 2^20 of them): the curve, not 16.7 M pixels on the UI thread
    const stride = Math.max(1, Math.floor(entry.data.length / 2 ** 20));
    let sample: Float32Array = entry.data;
    if (stride > 1) {
      sample = new Float32Array(Math.ceil(entry.data.length / stride));
      for (let i = 0, k = 0; i < entry.data.length; i += stride) sample[k++] = entry.data[i];
    }
    t = histEqTable(sample, lo, hi);
    entry.histeq.set(key, t);
  }
  return t;
}

export function drawSettings(id: string) {
  const entry = getPixels(id);
  const d = useStore.getState().display[id];
  if (!entry || !d) return null;
  const [lo, hi] = limitsOf(entry, d);
  return {
    lo,
    hi,
    scale: d.scale,
    scaleParam: d.scaleParam || DEFAULT_SCALE_PARAM[d.scale],
    colormap: d.colormap,
    invert: d.invert,
    histeq: d.scale === 'histeq' ? histeqOf(entry, lo, hi) : null,
  };
}

export { FitsHeader };
