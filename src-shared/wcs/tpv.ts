/**
 * The TPV distortion of a TAN projection (the FITS registry's TPV convention, wcslib's reading): a polynomial of
 * the intermediate world coordinates (x, y), in degrees, after the linear transformation —
 * ξ = Σ PV1_k T_k(x, y), η = Σ PV2_k T_k(y, x) (the longitude axis's PV first; the latitude axis's polynomial
 * takes its arguments swapped), terms T_0 … T_39 up to the 7th order with the radial r = √(x² + y²) terms at 3, 11,
 * 23 and 39. Coefficients not in the header are 0, as wcslib reads them.
 *
 * sipToTpv writes a SIP distortion (a polynomial of the pixel offsets before the linear transformation) as the
 * same map in TPV form: with (u, v) = CD⁻¹ (x, y) the SIP polynomial of (u, v) is a polynomial of (x, y) of the
 * same order, so the forward map is exact. It exists because astropy refuses SIP on a WCS of more than two axes
 * (a cube of samples) while wcslib applies TPV on the celestial pair of any number of axes.
 */
import type { FitsHeader } from '../fits/header.js';

/** The 40 TPV coefficients of each celestial axis (index k of PVi_k). */
export interface Tpv {
  /** Of the longitude axis: ξ = Σ lon[k] T_k(x, y). */
  lon: number[];
  /** Of the latitude axis: η = Σ lat[k] T_k(y, x). */
  lat: number[];
}

export const TPV_TERMS = 40;
/** Highest polynomial order TPV describes. */
export const TPV_MAX_ORDER = 7;

/** T_k = a^i b^j r^p: the powers of each term (r only at the odd orders' ends). */
const TERMS: Array<{ i: number; j: number; p: number }> = (() => {
  const t: Array<{ i: number; j: number; p: number }> = [];
  for (let order = 0; order <= TPV_MAX_ORDER; order++) {
    for (let j = 0; j <= order; j++) t.push({ i: order - j, j, p: 0 });
    if (order % 2 === 1) t.push({ i: 0, j: 0, p: order });
  }
  return t;
})();

/** The index k of the term a^i b^j (no radial part). */
function termIndex(i: number, j: number): number {
  return TERMS.findIndex((t) => t.p === 0 && t.i === i && t.j === j);
}

/** The polynomial Σ c_k T_k(a, b) and its derivatives along a and b. */
export function tpvEval(c: readonly number[], a: number, b: number): { value: number; da: number; db: number } {
  const r = Math.hypot(a, b);
  let value = 0;
  let da = 0;
  let db = 0;
  for (let k = 0; k < TERMS.length; k++) {
    const ck = c[k];
    if (!ck) continue;
    const { i, j, p } = TERMS[k];
    if (p > 0) {
      value += ck * r ** p;
      if (r > 0) {
        const d = p * r ** (p - 2);
        da += ck * d * a;
        db += ck * d * b;
      }
      continue;
    }
    value += ck * a ** i * b ** j;
    if (i > 0) da += ck * i * a ** (i - 1) * b ** j;
    if (j > 0) db += ck * j * a ** i * b ** (j - 1);
  }
  return { value, da, db };
}

/** The TPV map (x, y) → (ξ, η), degrees. */
export function tpvForward(t: Tpv, x: number, y: number): [number, number] {
  return [tpvEval(t.lon, x, y).value, tpvEval(t.lat, y, x).value];
}

/** The inverse of the TPV map by Newton's method from (ξ, η) itself (the polynomial is close to the identity). */
export function tpvInverse(t: Tpv, xi: number, eta: number): [number, number] {
  let x = xi;
  let y = eta;
  for (let it = 0; it < 50; it++) {
    const f = tpvEval(t.lon, x, y);
    const g = tpvEval(t.lat, y, x);
    const fx = f.value - xi;
    const fy = g.value - eta;
    // Jacobian: ∂ξ/∂x = f.da, ∂ξ/∂y = f.db; ∂η/∂x = g.db (η's arguments are swapped), ∂η/∂y = g.da
    const j11 = f.da;
    const j12 = f.db;
    const j21 = g.db;
    const j22 = g.da;
    const jd = j11 * j22 - j12 * j21;
    if (jd === 0 || !Number.isFinite(jd)) return [NaN, NaN];
    const sx = (j22 * fx - j12 * fy) / jd;
    const sy = (-j21 * fx + j11 * fy) / jd;
    x -= sx;
    y -= sy;
    if (Math.abs(sx) < 1e-15 && Math.abs(sy) < 1e-15) break;
  }
  return [x, y];
}

/** The TPV coefficients a header gives for its longitude and latitude axes (0-based header axis indices). */
export function readTpv(h: FitsHeader, lonAxis: number, latAxis: number): Tpv {
  const read = (axis: number) =>
    Array.from({ length: TPV_TERMS }, (_, k) => {
      const v = h.get(`PV${axis + 1}_${k}`);
      return typeof v === 'number' ? v : 0;
    });
  return { lon: read(lonAxis), lat: read(latAxis) };
}

type Poly = Map<string, number>; // "i,j" → coefficient of x^i y^j
const key = (i: number, j: number) => `${i},${j}`;

function polyMul(p: Poly, q: Poly): Poly {
  const r: Poly = new Map();
  for (const [kp, cp] of p) {
    const [a, b] = kp.split(',').map(Number);
    for (const [kq, cq] of q) {
      const [c, d] = kq.split(',').map(Number);
      const k = key(a + c, b + d);
      r.set(k, (r.get(k) ?? 0) + cp * cq);
    }
  }
  return r;
}

/**
 * The TPV form of a SIP distortion: `a`, `b` the SIP forward coefficients (a[p][q] multiplies u^p v^q, u and v
 * the offsets along the lower and higher celestial pixel axes), `cd` the linear transformation (rows: longitude,
 * latitude world axes; columns: the lower and higher pixel axes), in degrees. Null where the SIP order is above
 * TPV's 7th.
 */
export function sipAsTpv(a: number[][], b: number[][], cd: [[number, number], [number, number]]): Tpv | null {
  const order = Math.max(a.length, b.length) - 1;
  if (order > TPV_MAX_ORDER) return null;
  const det = cd[0][0] * cd[1][1] - cd[0][1] * cd[1][0];
  // (u, v) = CD⁻¹ (x, y) as polynomials of (x, y)
  const u: Poly = new Map([[key(1, 0), cd[1][1] / det], [key(0, 1), -cd[0][1] / det]]);
  const v: Poly = new Map([[key(1, 0), -cd[1][0] / det], [key(0, 1), cd[0][0] / det]]);
  const pow = (p: Poly, n: number): Poly => {
    let r: Poly = new Map([[key(0, 0), 1]]);
    for (let k = 0; k < n; k++) r = polyMul(r, p);
    return r;
  };
  const substitute = (m: number[][]): Poly => {
    const out: Poly = new Map();
    for (let p = 0; p < m.length; p++)
      for (let q = 0; q < m[p].length; q++) {
        if (!m[p][q]) continue;
        for (const [k, c] of polyMul(pow(u, p), pow(v, q))) out.set(k, (out.get(k) ?? 0) + m[p][q] * c);
      }
    return out;
  };
  const f = substitute(a);
  const g = substitute(b);
  const lon = new Array<number>(TPV_TERMS).fill(0);
  const lat = new Array<number>(TPV_TERMS).fill(0);
  lon[termIndex(1, 0)] = 1; // ξ = x + …
  lat[termIndex(1, 0)] = 1; // η = y + … (η's first argument is y)
  for (const k of new Set([...f.keys(), ...g.keys()])) {
    const [i, j] = k.split(',').map(Number);
    const df = f.get(k) ?? 0;
    const dg = g.get(k) ?? 0;
    // x^i y^j: ξ's term (i, j); η's arguments are (y, x), so its term (j, i)
    lon[termIndex(i, j)] += cd[0][0] * df + cd[0][1] * dg;
    lat[termIndex(j, i)] += cd[1][0] * df + cd[1][1] * dg;
  }
  return { lon, lat };
}
