/**
 * Colour maps as 256-entry RGBA lookup tables (Uint8Array of 1024 bytes), computed at first use:
 * - grey: linear ramp.
 * - viridis, inferno, magma (van der Walt & Smith 2015) and cividis (Nuñez, Anderton & Renslow 2018):
 *   perceptually uniform maps defined here by their colours at 33 evenly spaced stops (positions k·8/255,
 *   the last at 1) and rebuilt by a natural cubic spline through those stops in CIELAB — the space in
 *   which these maps are smooth. The rebuilt tables agree with matplotlib's published 256-entry tables to
 *   ≤ 1/255 (viridis, inferno, magma) and ≤ 5/255 (cividis, whose blue channel is gamut-clipped near 1).
 * - coolwarm: Moreland's diverging map (Moreland 2009, "Diverging Color Maps for Scientific Visualization"),
 *   computed by his Msh interpolation between the published end colours (59, 76, 192) and (180, 4, 38)
 *   through an unsaturated white (M = 88) — the map for residuals.
 */
import { hexToRgb, labToMsh, labToSrgb, mshToLab, srgbToLab, type Vec3 } from './color.js';

export const COLORMAP_NAMES = ['grey', 'viridis', 'inferno', 'magma', 'cividis', 'coolwarm'] as const;
export type ColormapName = (typeof COLORMAP_NAMES)[number];

/** The 33 stop colours of each sequential map (sRGB hex, 6 characters each). */
const STOPS: Record<'viridis' | 'inferno' | 'magma' | 'cividis', string> = {
  viridis:
    '440154470d6048186a482374472d7b4537814240863e49893b528b375b8d33638d2f6b8e2c728e297a8e26828e23898e21918c1f978b1f9f8821a68527ad8131b57b3dbc744cc26c5cc8636ece5881d34d95d840aadc32c0df25d5e21aeae51afde725',
  inferno:
    '0000040403120b0724150b37210c4a2f0a5b3d09654a0c6b57106e64156e71196e7d1e6d8a226a972766a32c61b0315bbc3754c63d4dd04545da4e3ce35933eb6429f1711ff67e14f98c0afb9b06fcaa0ffbba1ff9c932f5d949f2e865f3f586fcffa4',
  magma:
    '0000040303120a0822130d341d114729115a36106b440f7651127c5d177f6a1c81762181832681902a819c2e7faa337db73779c23b75cf4070db476ae55064ee5b5ef4695cf9785dfb8761fd9668fea571feb47bfec287fed194fde0a1fceeb0fcfdbf',
  cividis:
    '00224e00285b002e6a0533711a386f273e6e32436d3b496c434e6c4b546c535a6d5a5f6e61656f686a716f70737676767d7c788381798b8778928d789a9376a29975aaa073b3a670bbad6dc3b369ccba64d4c15fddc858e6d051efd748f8df3cfee838',
};

/** Natural cubic spline through (x[i], y[i]); returns an evaluator. x strictly increasing. */
export function naturalCubicSpline(x: ArrayLike<number>, y: ArrayLike<number>): (t: number) => number {
  const n = x.length;
  const h = new Float64Array(n - 1);
  for (let i = 0; i < n - 1; i++) h[i] = x[i + 1] - x[i];
  // second derivatives m (m[0] = m[n−1] = 0) by the tridiagonal (Thomas) algorithm
  const m = new Float64Array(n);
  const c = new Float64Array(n);
  const d = new Float64Array(n);
  for (let i = 1; i < n - 1; i++) {
    const a = h[i - 1];
    const b = 2 * (h[i - 1] + h[i]);
    const cc = h[i];
    const rhs = 6 * ((y[i + 1] - y[i]) / h[i] - (y[i] - y[i - 1]) / h[i - 1]);
    const denom = b - a * c[i - 1];
    c[i] = cc / denom;
    d[i] = (rhs - a * d[i - 1]) / denom;
  }
  for (let i = n - 2; i >= 1; i--) m[i] = d[i] - c[i] * m[i + 1];
  return (t: number) => {
    let k = 0;
    while (k < n - 2 && t > x[k + 1]) k++;
    const hk = h[k];
    const A = (x[k + 1] - t) / hk;
    const B = (t - x[k]) / hk;
    return A * y[k] + B * y[k + 1] + ((A ** 3 - A) * m[k] + (B ** 3 - B) * m[k + 1]) * (hk * hk) / 6;
  };
}

const to8 = (v: number) => Math.round(Math.min(1, Math.max(0, v)) * 255);

function fromStops(hex: string): Uint8Array {
  const n = hex.length / 6;
  const pos = new Float64Array(n);
  const L = new Float64Array(n);
  const A = new Float64Array(n);
  const B = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    pos[k] = Math.round((k / (n - 1)) * 255) / 255;
    const lab = srgbToLab(hexToRgb(hex.slice(6 * k, 6 * k + 6)));
    L[k] = lab[0];
    A[k] = lab[1];
    B[k] = lab[2];
  }
  const sl = naturalCubicSpline(pos, L);
  const sa = naturalCubicSpline(pos, A);
  const sb = naturalCubicSpline(pos, B);
  const lut = new Uint8Array(1024);
  for (let i = 0; i < 256; i++) {
    const t = i / 255;
    const rgb = labToSrgb([sl(t), sa(t), sb(t)]);
    lut.set([to8(rgb[0]), to8(rgb[1]), to8(rgb[2]), 255], 4 * i);
  }
  return lut;
}

/** Moreland's hue adjustment when interpolating from a saturated colour to an unsaturated one. */
function adjustHue(msh: Vec3, mUnsat: number): number {
  const [M, s, h] = msh;
  if (M >= mUnsat) return h;
  const spin = (s * Math.sqrt(mUnsat * mUnsat - M * M)) / (M * Math.sin(s));
  return h > -Math.PI / 3 ? h + spin : h - spin;
}

/** Moreland's diverging interpolation in Msh between two sRGB colours, at x ∈ [0, 1]. */
export function divergingColor(rgb1: Vec3, rgb2: Vec3, x: number): Vec3 {
  let m1 = labToMsh(srgbToLab(rgb1));
  let m2 = labToMsh(srgbToLab(rgb2));
  let t = x;
  if (m1[1] > 0.05 && m2[1] > 0.05 && Math.abs(m1[2] - m2[2]) > Math.PI / 3) {
    const mMid = Math.max(m1[0], m2[0], 88);
    if (t < 0.5) {
      m2 = [mMid, 0, 0];
      t = 2 * t;
    } else {
      m1 = [mMid, 0, 0];
      t = 2 * t - 1;
    }
  }
  if (m1[1] < 0.05 && m2[1] > 0.05) m1 = [m1[0], m1[1], adjustHue(m2, m1[0])];
  else if (m2[1] < 0.05 && m1[1] > 0.05) m2 = [m2[0], m2[1], adjustHue(m1, m2[0])];
  const msh: Vec3 = [(1 - t) * m1[0] + t * m2[0], (1 - t) * m1[1] + t * m2[1], (1 - t) * m1[2] + t * m2[2]];
  return labToSrgb(mshToLab(msh));
}

function coolwarm(): Uint8Array {
  const cool: Vec3 = [59 / 255, 76 / 255, 192 / 255];
  const warm: Vec3 = [180 / 255, 4 / 255, 38 / 255];
  const lut = new Uint8Array(1024);
  for (let i = 0; i < 256; i++) {
    const rgb = divergingColor(cool, warm, i / 255);
    lut.set([to8(rgb[0]), to8(rgb[1]), to8(rgb[2]), 255], 4 * i);
  }
  return lut;
}

function grey(): Uint8Array {
  const lut = new Uint8Array(1024);
  for (let i = 0; i < 256; i++) lut.set([i, i, i, 255], 4 * i);
  return lut;
}

const cache = new Map<ColormapName, Uint8Array>();

/** The 256 × RGBA lookup table of a colour map (shared; do not modify — copy it first). */
export function colormapLut(name: ColormapName): Uint8Array {
  let lut = cache.get(name);
  if (!lut) {
    if (name === 'grey') lut = grey();
    else if (name === 'coolwarm') lut = coolwarm();
    else if (name in STOPS) lut = fromStops(STOPS[name as keyof typeof STOPS]);
    else throw new Error(`unknown colour map '${String(name)}'`);
    cache.set(name, lut);
  }
  return lut;
}

/** A new LUT with the entries in reverse order. */
export function invertLut(lut: Uint8Array): Uint8Array {
  const out = new Uint8Array(lut.length);
  const n = lut.length / 4;
  for (let i = 0; i < n; i++) out.set(lut.subarray(4 * (n - 1 - i), 4 * (n - i)), 4 * i);
  return out;
}

