/**
 * Colour-space conversions used to build colour maps: sRGB (IEC 61966-2-1) ↔ linear RGB ↔ CIE XYZ (D65) ↔
 * CIELAB ↔ Msh (Moreland 2009: the polar form of CIELAB).
 */

export type Vec3 = [number, number, number];

const M_RGB_TO_XYZ = [
  [0.4124564, 0.3575761, 0.1804375],
  [0.2126729, 0.7151522, 0.072175],
  [0.0193339, 0.119192, 0.9503041],
];

function invert3(m: number[][]): number[][] {
  const [a, b, c] = m[0];
  const [d, e, f] = m[1];
  const [g, h, i] = m[2];
  const A = e * i - f * h;
  const B = -(d * i - f * g);
  const C = d * h - e * g;
  const det = a * A + b * B + c * C;
  return [
    [A / det, -(b * i - c * h) / det, (b * f - c * e) / det],
    [B / det, (a * i - c * g) / det, -(a * f - c * d) / det],
    [C / det, -(a * h - b * g) / det, (a * e - b * d) / det],
  ];
}
const M_XYZ_TO_RGB = invert3(M_RGB_TO_XYZ);
/** The D65 white of this matrix (RGB = 1, 1, 1). */
const WHITE: Vec3 = [0, 1, 2].map((r) => M_RGB_TO_XYZ[r][0] + M_RGB_TO_XYZ[r][1] + M_RGB_TO_XYZ[r][2]) as Vec3;

const mul = (m: number[][], v: Vec3): Vec3 => [0, 1, 2].map((r) => m[r][0] * v[0] + m[r][1] * v[1] + m[r][2] * v[2]) as Vec3;

export const srgbToLinear = (c: number): number => (c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
export const linearToSrgb = (c: number): number => (c <= 0.0031308 ? 12.92 * c : 1.055 * Math.max(c, 0) ** (1 / 2.4) - 0.055);

const D = 6 / 29;
const fLab = (t: number) => (t > D ** 3 ? Math.cbrt(t) : t / (3 * D * D) + 4 / 29);
const fLabInv = (t: number) => (t > D ? t ** 3 : 3 * D * D * (t - 4 / 29));

/** sRGB in [0, 1] → CIELAB (D65). */
export function srgbToLab(rgb: Vec3): Vec3 {
  const xyz = mul(M_RGB_TO_XYZ, [srgbToLinear(rgb[0]), srgbToLinear(rgb[1]), srgbToLinear(rgb[2])]);
  const fx = fLab(xyz[0] / WHITE[0]);
  const fy = fLab(xyz[1] / WHITE[1]);
  const fz = fLab(xyz[2] / WHITE[2]);
  return [116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)];
}

/** CIELAB (D65) → sRGB in [0, 1] (not clipped: out-of-gamut colours fall outside). */
export function labToSrgb(lab: Vec3): Vec3 {
  const fy = (lab[0] + 16) / 116;
  const fx = fy + lab[1] / 500;
  const fz = fy - lab[2] / 200;
  const lin = mul(M_XYZ_TO_RGB, [fLabInv(fx) * WHITE[0], fLabInv(fy) * WHITE[1], fLabInv(fz) * WHITE[2]]);
  return [linearToSrgb(lin[0]), linearToSrgb(lin[1]), linearToSrgb(lin[2])];
}

/** CIELAB → Msh: magnitude, saturation (angle from the L axis), hue. */
export function labToMsh(lab: Vec3): Vec3 {
  const M = Math.hypot(lab[0], lab[1], lab[2]);
  return [M, M > 0 ? Math.acos(lab[0] / M) : 0, Math.atan2(lab[2], lab[1])];
}

export function mshToLab(msh: Vec3): Vec3 {
  const [M, s, h] = msh;
  return [M * Math.cos(s), M * Math.sin(s) * Math.cos(h), M * Math.sin(s) * Math.sin(h)];
}

/** '#rrggbb' or 'rrggbb' → sRGB in [0, 1]. */
export function hexToRgb(hex: string): Vec3 {
  const h = hex.replace(/^#/, '');
  return [0, 2, 4].map((i) => parseInt(h.slice(i, i + 2), 16) / 255) as Vec3;
}
