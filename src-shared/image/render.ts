/**
 * The reference (CPU) rendering of an image for display: value → limits → scale → colour map. The WebGL
 * shader in the viewer does the same per pixel; this is the fallback without WebGL2, the path for PNG
 * snapshots of thumbnails, and what the shader is tested against.
 */
import { colormapLut, invertLut, type ColormapName } from './colormaps.js';
import { DEFAULT_SCALE_PARAM, stretch, type ScaleName } from './scales.js';
import { levelForZoom, type PyramidLevel } from './decimate.js';

export interface DisplaySettings {
  scale: ScaleName;
  /** Scale parameter (a for log/power, β for asinh); the scale's default when omitted. */
  scaleParam?: number;
  lo: number;
  hi: number;
  colormap: ColormapName;
  invert: boolean;
  /** Histogram-equalisation table (required for scale 'histeq'). */
  histeq?: Float32Array;
  /** RGBA of NaN/Inf pixels (default transparent). */
  nanColor?: [number, number, number, number];
}

/** LUT index (0..255) of a value, or −1 for a non-finite value. */
export function lutIndex(v: number, s: DisplaySettings): number {
  if (!Number.isFinite(v)) return -1;
  const t = (v - s.lo) / (s.hi - s.lo);
  const y = stretch(s.scale, t, s.scaleParam ?? DEFAULT_SCALE_PARAM[s.scale], s.histeq);
  return Math.min(255, Math.max(0, Math.floor(y * 256)));
}

/** Entries of the value → LUT-index table of renderRgba (uniform in t over [lo, hi]). */
export const INDEX_TABLE_SIZE = 65536;

/**
 * LUT index of t = k/(size−1) for every k: the stretch evaluated once per display change instead of per pixel.
 * A pixel then takes the entry of its nearest grid point, which is within one LUT step of lutIndex (the grid
 * step in t is 1/65535; the steepest default stretch, log with a = 1000, moves y by < 0.0022 per step).
 */
export function indexTable(s: DisplaySettings, size = INDEX_TABLE_SIZE): Uint8Array {
  const t = new Uint8Array(size);
  const p = s.scaleParam ?? DEFAULT_SCALE_PARAM[s.scale];
  for (let k = 0; k < size; k++) t[k] = Math.min(255, Math.max(0, Math.floor(stretch(s.scale, k / (size - 1), p, s.histeq) * 256)));
  return t;
}

/**
 * RGBA bytes of a width × height image whose row 0 is FITS row 1 (the bottom of the sky image). With
 * flipY (default) the output's first row is the image's top row, ready for a canvas.
 */
export function renderRgba(data: ArrayLike<number>, width: number, height: number, s: DisplaySettings, flipY = true): Uint8ClampedArray {
  const base = colormapLut(s.colormap);
  const lut = s.invert ? invertLut(base) : base;
  const nan = s.nanColor ?? [0, 0, 0, 0];
  const out = new Uint8ClampedArray(width * height * 4);
  const table = indexTable(s);
  const last = table.length - 1;
  const scale = last / (s.hi - s.lo);
  const lo = s.lo;
  for (let y = 0; y < height; y++) {
    const row = flipY ? height - 1 - y : y;
    for (let x = 0; x < width; x++) {
      const v = data[row * width + x];
      const o = 4 * (y * width + x);
      // v − v is NaN for NaN and ±Inf
      const r = (v - lo) * scale;
      const k = v - v === 0 ? table[r <= 0 ? 0 : r >= last ? last : Math.round(r)] : -1;
      if (k < 0) {
        out[o] = nan[0];
        out[o + 1] = nan[1];
        out[o + 2] = nan[2];
        out[o + 3] = nan[3];
      } else {
        out[o] = lut[4 * k];
        out[o + 1] = lut[4 * k + 1];
        out[o + 2] = lut[4 * k + 2];
        out[o + 3] = 255;
      }
    }
  }
  return out;
}

/** A view of an image: the image pixel at the output's centre and the output pixels per image pixel. */
export interface ViewRect {
  cx: number;
  cy: number;
  zoom: number;
}

/**
 * RGBA bytes of what a W × H canvas shows of an image at a view (output row 0 is the top), drawn at the
 * output's resolution: each output pixel takes the image pixel under its centre — from the coarsest pyramid
 * level (src-shared/image/decimate.ts) whose pixels are no larger than an output pixel, i.e. the mean of the
 * image pixels it covers when the image is shown smaller than its size. The work is W·H whatever the image's
 * size. Image pixel (x, y) covers output [W/2 + (x − ½ − cx)·zoom, W/2 + (x + ½ − cx)·zoom] across and
 * [H/2 − (y + ½ − cy)·zoom, H/2 − (y − ½ − cy)·zoom] down. Outside the image the output is transparent.
 */
export function renderView(
  image: { data: Float32Array; width: number; height: number },
  levels: readonly PyramidLevel[],
  view: ViewRect,
  W: number,
  H: number,
  s: DisplaySettings,
  out: Uint8ClampedArray = new Uint8ClampedArray(W * H * 4),
): Uint8ClampedArray {
  const L = levelForZoom(levels, view.zoom);
  const src = L ? levels[L - 1] : { ...image, factor: 1 };
  const f = src.factor;
  const base = colormapLut(s.colormap);
  const lut = s.invert ? invertLut(base) : base;
  const nan = s.nanColor ?? [0, 0, 0, 0];
  // colours as 32-bit words in the platform's byte order (written through a byte view: endianness-neutral)
  const packed = new Uint32Array(257);
  const pb = new Uint8Array(packed.buffer);
  for (let k = 0; k < 256; k++) pb.set([lut[4 * k], lut[4 * k + 1], lut[4 * k + 2], 255], 4 * k);
  pb.set(nan, 4 * 256);
  const nanWord = packed[256];
  const table = indexTable(s);
  const last = table.length - 1;
  const scale = last / (s.hi - s.lo);
  const lo = s.lo;
  const o32 = new Uint32Array(out.buffer, out.byteOffset, W * H);
  // the source column of every output column (−1 outside)
  const col = new Int32Array(W);
  for (let i = 0; i < W; i++) {
    const x = view.cx + (i + 0.5 - W / 2) / view.zoom;
    const X = Math.floor((x + 0.5) / f);
    col[i] = X >= 0 && X < src.width ? X : -1;
  }
  const d = src.data;
  const sw = src.width;
  for (let j = 0; j < H; j++) {
    const y = view.cy - (j + 0.5 - H / 2) / view.zoom;
    const Y = Math.floor((y + 0.5) / f);
    const row = j * W;
    if (Y < 0 || Y >= src.height) {
      o32.fill(0, row, row + W);
      continue;
    }
    const r0 = Y * sw;
    for (let i = 0; i < W; i++) {
      const X = col[i];
      if (X < 0) {
        o32[row + i] = 0;
        continue;
      }
      const v = d[r0 + X];
      const r = (v - lo) * scale;
      o32[row + i] = v - v === 0 ? packed[table[r <= 0 ? 0 : r >= last ? last : Math.round(r)]] : nanWord;
    }
  }
  return out;
}
