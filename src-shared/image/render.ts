/**
 * The reference (CPU) rendering of an image for display: value → limits → scale → colour map. The WebGL
 * shader in the viewer does the same per pixel; this is the fallback without WebGL2, the path for PNG
 * snapshots of thumbnails, and what the shader is tested against.
 */
import { colormapLut, invertLut, type ColormapName } from './colormaps.js';
import { DEFAULT_SCALE_PARAM, stretch, type ScaleName } from './scales.js';

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
