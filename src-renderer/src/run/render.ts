/**
 * Float images → RGBA for the small canvases of the editor and the run panel (thumbnails, previews, PSF, beam).
 * The full viewer (WebGL) is elsewhere; these are cheap CPU paths for images of at most a few hundred pixels a side.
 */

export type Stretch = 'linear' | 'asinh' | 'log';
export type SmallMap = 'grey' | 'diverging' | 'heat';

export interface RenderOptions {
  lo: number;
  hi: number;
  stretch?: Stretch;
  map?: SmallMap;
}

/**
 * The value at fractions `lo` and `hi` (0…1) of the finite values, from a strided sample of at most `maxSample`
 * values (exact when the image is smaller). NaN when the image has no finite value.
 */
export function percentileLimits(data: ArrayLike<number>, lo: number, hi: number, maxSample = 20000): [number, number] {
  const n = data.length;
  const stride = Math.max(1, Math.floor(n / maxSample));
  // a typed array sorts numerically without a comparator: several times faster than number[] with one
  const buf = new Float32Array(Math.ceil(n / stride));
  let m = 0;
  for (let i = 0; i < n; i += stride) {
    const v = data[i]!;
    if (Number.isFinite(v)) buf[m++] = v;
  }
  if (m === 0) return [NaN, NaN];
  const vals = buf.subarray(0, m).sort();
  const at = (f: number) => {
    const x = f * (vals.length - 1);
    const i = Math.floor(x);
    const t = x - i;
    return i + 1 < vals.length ? vals[i]! * (1 - t) + vals[i + 1]! * t : vals[i]!;
  };
  return [at(lo), at(hi)];
}

/** Limits symmetric about zero (residuals): ± the `q` quantile of |v|. */
export function symmetricLimits(data: ArrayLike<number>, q = 0.995): [number, number] {
  const abs = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) abs[i] = Math.abs(data[i]!);
  const [, m] = percentileLimits(abs, 0, q);
  const a = Number.isFinite(m) && m > 0 ? m : 1;
  return [-a, a];
}

const lerp = (a: number, b: number, t: number) => a + (b - a) * t;

/** Piecewise-linear colour maps from a few anchor colours (sRGB 0…255). */
const ANCHORS: Record<SmallMap, [number, number, number][]> = {
  grey: [
    [0, 0, 0],
    [255, 255, 255],
  ],
  // blue – white – red, for residuals (0 is white)
  diverging: [
    [33, 72, 160],
    [120, 160, 215],
    [247, 247, 247],
    [225, 130, 105],
    [170, 30, 40],
  ],
  // black – red – yellow – white
  heat: [
    [0, 0, 0],
    [150, 20, 10],
    [240, 150, 20],
    [255, 255, 230],
  ],
};

const LUTS = new Map<SmallMap, Uint8Array>();

/** A 256-entry RGB lookup table for the map. */
export function lut(map: SmallMap): Uint8Array {
  let t = LUTS.get(map);
  if (t) return t;
  t = new Uint8Array(256 * 3);
  const a = ANCHORS[map];
  for (let i = 0; i < 256; i++) {
    const x = (i / 255) * (a.length - 1);
    const k = Math.min(a.length - 2, Math.floor(x));
    const f = x - k;
    for (let c = 0; c < 3; c++) t[i * 3 + c] = Math.round(lerp(a[k]![c]!, a[k + 1]![c]!, f));
  }
  LUTS.set(map, t);
  return t;
}

/** Maps a value in [0, 1] through the stretch (monotone, 0 → 0, 1 → 1). */
export function stretchValue(t: number, stretch: Stretch): number {
  if (stretch === 'asinh') return Math.asinh(10 * t) / Math.asinh(10);
  if (stretch === 'log') return Math.log1p(1000 * Math.max(0, t)) / Math.log1p(1000);
  return t;
}

/** RGBA pixels (row 0 at the top of the canvas = the last image row: astronomical images have y up). */
export function toRgba(data: ArrayLike<number>, shape: [number, number], opts: RenderOptions): Uint8ClampedArray<ArrayBuffer> {
  const [ny, nx] = shape;
  const out = new Uint8ClampedArray(new ArrayBuffer(nx * ny * 4));
  const table = lut(opts.map ?? 'grey');
  const stretch = opts.stretch ?? 'linear';
  // the stretch tabulated on 4096 steps of t (finer than the 256 colours it selects)
  const steps = 4095;
  const idx = new Uint16Array(steps + 1);
  for (let q = 0; q <= steps; q++) idx[q] = Math.round(stretchValue(q / steps, stretch) * 255) * 3;
  const span = opts.hi - opts.lo;
  const inv = span > 0 && Number.isFinite(span) ? 1 / span : 0;
  for (let i = 0; i < ny; i++) {
    const row = ny - 1 - i;
    for (let j = 0; j < nx; j++) {
      const v = data[i * nx + j]!;
      const o = (row * nx + j) * 4;
      if (!Number.isFinite(v)) {
        out[o] = 255;
        out[o + 1] = 0;
        out[o + 2] = 255;
        out[o + 3] = 255;
        continue;
      }
      const t = Math.min(1, Math.max(0, (v - opts.lo) * inv));
      const k = idx[Math.round(t * steps)]!;
      out[o] = table[k]!;
      out[o + 1] = table[k + 1]!;
      out[o + 2] = table[k + 2]!;
      out[o + 3] = 255;
    }
  }
  return out;
}
