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

/**
 * RGBA bytes of a width × height image whose row 0 is FITS row 1 (the bottom of the sky image). With
 * flipY (default) the output's first row is the image's top row, ready for a canvas.
 */
export function renderRgba(data: ArrayLike<number>, width: number, height: number, s: DisplaySettings, flipY = true): Uint8ClampedArray {
  const base = colormapLut(s.colormap);
  const lut = s.invert ? invertLut(base) : base;
  const nan = s.nanColor ?? [0, 0, 0, 0];
  const out = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++) {
    const row = flipY ? height - 1 - y : y;
    for (let x = 0; x < width; x++) {
      const k = lutIndex(data[row * width + x], s);
      const o = 4 * (y * width + x);
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
