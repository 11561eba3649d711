/**
 * The direct Fourier transform between an image and visibilities (grid.ts has the convention): exact, O(M·N)
 * for M visibilities and N pixels; the reference for the NUFFT and the choice for small problems.
 */
import { checkGrid, type Complex, type ImageGrid } from './grid.js';

/** Per-visibility phasors along x and y: e^{−2πi u l(x)} and e^{−2πi v m(y)}. */
function phasors(u: number, v: number, g: ImageGrid, exr: Float64Array, exi: Float64Array, eyr: Float64Array, eyi: Float64Array): void {
  const cx = Math.floor(g.nx / 2);
  const cy = Math.floor(g.ny / 2);
  for (let x = 0; x < g.nx; x++) {
    // −2π u l with l = −(x − cx)·cell
    const a = 2 * Math.PI * u * (x - cx) * g.cell;
    exr[x] = Math.cos(a);
    exi[x] = Math.sin(a);
  }
  for (let y = 0; y < g.ny; y++) {
    const a = -2 * Math.PI * v * (y - cy) * g.cell;
    eyr[y] = Math.cos(a);
    eyi[y] = Math.sin(a);
  }
}

/** V_k = Σ x(y, x) e^{−2πi(u_k l + v_k m)} for a complex image (xIm omitted: real). */
export function dftForward(u: Float64Array, v: Float64Array, g: ImageGrid, xRe: Float64Array, xIm?: Float64Array): Complex {
  checkGrid(g);
  const { nx, ny } = g;
  const m = u.length;
  const re = new Float64Array(m);
  const im = new Float64Array(m);
  const exr = new Float64Array(nx);
  const exi = new Float64Array(nx);
  const eyr = new Float64Array(ny);
  const eyi = new Float64Array(ny);
  for (let k = 0; k < m; k++) {
    phasors(u[k], v[k], g, exr, exi, eyr, eyi);
    let sr = 0;
    let si = 0;
    for (let y = 0; y < ny; y++) {
      const o = y * nx;
      let rr = 0;
      let ri = 0;
      if (xIm) {
        for (let x = 0; x < nx; x++) {
          const a = xRe[o + x];
          const b = xIm[o + x];
          rr += a * exr[x] - b * exi[x];
          ri += a * exi[x] + b * exr[x];
        }
      } else {
        for (let x = 0; x < nx; x++) {
          const a = xRe[o + x];
          rr += a * exr[x];
          ri += a * exi[x];
        }
      }
      sr += rr * eyr[y] - ri * eyi[y];
      si += rr * eyi[y] + ri * eyr[y];
    }
    re[k] = sr;
    im[k] = si;
  }
  return { re, im };
}

/** The exact adjoint: x(y, x) = Σ_k y_k e^{+2πi(u_k l + v_k m)} (a complex image). */
export function dftAdjoint(u: Float64Array, v: Float64Array, g: ImageGrid, yRe: Float64Array, yIm: Float64Array): Complex {
  checkGrid(g);
  const { nx, ny } = g;
  const re = new Float64Array(nx * ny);
  const im = new Float64Array(nx * ny);
  const exr = new Float64Array(nx);
  const exi = new Float64Array(nx);
  const eyr = new Float64Array(ny);
  const eyi = new Float64Array(ny);
  for (let k = 0; k < u.length; k++) {
    const a = yRe[k];
    const b = yIm[k];
    if (a === 0 && b === 0) continue;
    phasors(u[k], v[k], g, exr, exi, eyr, eyi);
    for (let y = 0; y < ny; y++) {
      // t = y_k · conj(ey)
      const tr = a * eyr[y] + b * eyi[y];
      const ti = b * eyr[y] - a * eyi[y];
      const o = y * nx;
      for (let x = 0; x < nx; x++) {
        re[o + x] += tr * exr[x] + ti * exi[x];
        im[o + x] += ti * exr[x] - tr * exi[x];
      }
    }
  }
  return { re, im };
}
