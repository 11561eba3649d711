import { deflector, lensMatrix, pixelCentre, type LensParams } from '../operators/lens-model.js';
import { growCsrBuffers, type CsrMatrix } from '../operators/csr.js';
import type { PsfKernel } from '../operators/psf.js';
import type { Shape2 } from '../operators/types.js';

// The lens's mass model for fitting: the SIE (or EPL) + external shear of the lens operator (operators/lens-model.ts,
// the same deflection, the same parameters), its ellipticity components, the derivatives of the deflection,
// and the blurred, masked lensing matrix that maps source pixels to the observed image pixels. Float64.

export type { LensParams } from '../operators/lens-model.js';

/**
 * Ellipticity components of an axis ratio q and position angle φ (radians, counter-clockwise from +x):
 * e = (1 − q)/(1 + q), e1 = e cos 2φ, e2 = e sin 2φ. A round lens is e1 = e2 = 0 whatever φ, so a fit in
 * (e1, e2) has no degenerate angle at q = 1.
 */
export function ellipticityFromQPhi(q: number, phi: number): [number, number] {
  const e = (1 - q) / (1 + q);
  return [e * Math.cos(2 * phi), e * Math.sin(2 * phi)];
}

/** The inverse of ellipticityFromQPhi: q = (1 − e)/(1 + e), φ = ½ atan2(e2, e1) in (−π/2, π/2]. */
export function qPhiFromEllipticity(e1: number, e2: number): { q: number; phi: number } {
  const e = Math.hypot(e1, e2);
  const q = (1 - e) / (1 + e);
  const phi = e > 0 ? 0.5 * Math.atan2(e2, e1) : 0;
  return { q, phi };
}

/**
 * The lens parameters of a fit: Einstein radius, ellipticity components, centre and shear (arcsec, –), and for an
 * EPL its slope `gamma` (absent: the SIE).
 */
export interface MassVector {
  thetaE: number;
  e1: number;
  e2: number;
  x0: number;
  y0: number;
  gamma1: number;
  gamma2: number;
  gamma?: number;
}

/** The EPL slope's range in the fit and the lens sampler (a flat prior: the bounds of the search). */
export const EPL_GAMMA_BOUNDS: readonly [number, number] = [1.2, 2.8];

/** The mass vector in the fit's order (θE, e1, e2, x0, y0, γ1, γ2, then an EPL's slope), and back (8 values: an EPL). */
export function massVector(m: MassVector): Float64Array {
  return Float64Array.from([m.thetaE, m.e1, m.e2, m.x0, m.y0, m.gamma1, m.gamma2, ...(m.gamma !== undefined ? [m.gamma] : [])]);
}

export function massOf(v: ArrayLike<number>): MassVector {
  const m: MassVector = { thetaE: v[0], e1: v[1], e2: v[2], x0: v[3], y0: v[4], gamma1: v[5], gamma2: v[6] };
  if (v.length > 7) m.gamma = v[7];
  return m;
}

/** The mass parameters the fit (and the lens sampler's flat prior) allow: θE > 0, |e| < 0.8, |γ_ext| < 0.5, γ in EPL_GAMMA_BOUNDS. */
export function massAllowed(m: MassVector): boolean {
  if (!(m.thetaE > 0) || !(Math.hypot(m.e1, m.e2) < 0.8) || !(Math.hypot(m.gamma1, m.gamma2) < 0.5)) return false;
  return m.gamma === undefined || (m.gamma >= EPL_GAMMA_BOUNDS[0] && m.gamma <= EPL_GAMMA_BOUNDS[1]);
}

export function lensParamsFromMass(m: MassVector): LensParams {
  const { q, phi } = qPhiFromEllipticity(m.e1, m.e2);
  return { thetaE: m.thetaE, q, phi, x0: m.x0, y0: m.y0, gamma1: m.gamma1, gamma2: m.gamma2, ...(m.gamma !== undefined && { gamma: m.gamma }) };
}

export function massFromLensParams(p: LensParams): MassVector {
  const [e1, e2] = ellipticityFromQPhi(p.q, p.phi);
  return { thetaE: p.thetaE, e1, e2, x0: p.x0, y0: p.y0, gamma1: p.gamma1, gamma2: p.gamma2, ...(p.gamma !== undefined && { gamma: p.gamma }) };
}

/**
 * Derivatives of the deflection ∂αᵢ/∂θⱼ at (x, y) by central differences of step h (arcsec):
 * [∂αx/∂x, ∂αx/∂y, ∂αy/∂x, ∂αy/∂y]. The convergence is κ = ½(∂αx/∂x + ∂αy/∂y), the shear
 * γ1 = ½(∂αx/∂x − ∂αy/∂y), γ2 = ∂αx/∂y, the magnification 1/det(I − ∂α/∂θ).
 */
export function deflectionDerivatives(p: LensParams, x: number, y: number, h = 1e-5): [number, number, number, number] {
  const d = deflector(p);
  const a: [number, number] = [0, 0];
  const b: [number, number] = [0, 0];
  d(x + h, y, a);
  d(x - h, y, b);
  const axx = (a[0] - b[0]) / (2 * h);
  const ayx = (a[1] - b[1]) / (2 * h);
  d(x, y + h, a);
  d(x, y - h, b);
  const axy = (a[0] - b[0]) / (2 * h);
  const ayy = (a[1] - b[1]) / (2 * h);
  return [axx, axy, ayx, ayy];
}

/** Convergence, shear and magnification at (x, y) from deflectionDerivatives. */
export function lensingFields(p: LensParams, x: number, y: number): { kappa: number; gamma1: number; gamma2: number; magnification: number } {
  const [axx, axy, ayx, ayy] = deflectionDerivatives(p, x, y);
  const det = (1 - axx) * (1 - ayy) - axy * ayx;
  return { kappa: 0.5 * (axx + ayy), gamma1: 0.5 * (axx - ayy), gamma2: 0.5 * (axy + ayx), magnification: 1 / det };
}

/** A pixel grid centred on the optical axis (docs/forward-models.md, Conventions). */
export interface Grid {
  shape: Shape2;
  /** arcsec per pixel */
  scale: number;
}

/** Source positions β = θ − α(θ) of the centres of the listed image pixels (flat indices), interleaved (x, y). */
export function rayShoot(p: LensParams, image: Grid, pixels: ArrayLike<number>): Float64Array {
  const [ny, nx] = image.shape;
  const d = deflector(p);
  const a: [number, number] = [0, 0];
  const out = new Float64Array(2 * pixels.length);
  for (let k = 0; k < pixels.length; k++) {
    const i = Math.floor(pixels[k] / nx);
    const j = pixels[k] - i * nx;
    const x = pixelCentre(j, nx, image.scale);
    const y = pixelCentre(i, ny, image.scale);
    d(x, y, a);
    out[2 * k] = x - a[0];
    out[2 * k + 1] = y - a[1];
  }
  return out;
}

/**
 * The default source grid: `n`×`n` pixels centred on the optical axis (as the lens operator's source grid),
 * wide enough for the source positions of the image pixels in the annulus θE/2 ≤ |θ − centre| ≤ 3θE/2 around
 * the lens (where the arcs and the counter-images lie) and of the `arcs` pixels (those where the lensed source
 * is seen; those within 0.3 θE of the centre, which map far out, excepted), times `margin`. Image pixels whose
 * rays land outside the grid see no source light.
 */
export function defaultSourceGrid(p: LensParams, image: Grid, opts: { n?: number; margin?: number; pixels?: ArrayLike<number>; arcs?: ArrayLike<number> } = {}): Grid {
  const n = opts.n ?? 64;
  const margin = opts.margin ?? 1.1;
  const [ny, nx] = image.shape;
  const sel: number[] = [];
  const all = opts.pixels ?? Array.from({ length: ny * nx }, (_, k) => k);
  for (let k = 0; k < all.length; k++) {
    const i = Math.floor(all[k] / nx);
    const j = all[k] - i * nx;
    const r = Math.hypot(pixelCentre(j, nx, image.scale) - p.x0, pixelCentre(i, ny, image.scale) - p.y0);
    if (r >= 0.5 * p.thetaE && r <= 1.5 * p.thetaE) sel.push(all[k]);
  }
  for (let k = 0; k < (opts.arcs?.length ?? 0); k++) {
    const a = opts.arcs![k];
    const i = Math.floor(a / nx);
    const j = a - i * nx;
    const r = Math.hypot(pixelCentre(j, nx, image.scale) - p.x0, pixelCentre(i, ny, image.scale) - p.y0);
    if (r >= 0.3 * p.thetaE) sel.push(a);
  }
  const beta = rayShoot(p, image, sel);
  let half = 0;
  for (let k = 0; k < beta.length; k++) half = Math.max(half, Math.abs(beta[k]));
  if (!(half > 0)) half = p.thetaE;
  half *= margin;
  // pixel centres at (i − (n−1)/2)·s: the grid's outer edges lie at ±(n/2)·s
  return { shape: [n, n], scale: (2 * half) / n };
}

/**
 * The image pixels that a blurred image at a list of pixels reads (those within the PSF's footprint of them) as a
 * list and as a 0/1 mask of the image, made once per pixel list, image shape and PSF (the lens fit asks for them
 * thousands of times on the same pixels; a list is taken as unchanged while it lives).
 */
export interface Footprint {
  pixels: Int32Array;
  mask: Uint8Array;
}

const footprints = new WeakMap<object, { psf: PsfKernel | null; ny: number; nx: number; fp: Footprint }>();

export function psfFootprint(shape: Shape2, psf: PsfKernel | null, pixels: ArrayLike<number>): Footprint {
  const [ny, nx] = shape;
  const key = pixels as unknown as object;
  const hit = footprints.get(key);
  if (hit && hit.psf === psf && hit.ny === ny && hit.nx === nx) return hit.fp;
  const mask = new Uint8Array(ny * nx);
  const kh = psf ? psf.shape[0] : 1;
  const kw = psf ? psf.shape[1] : 1;
  const [cy, cx] = psf ? psf.center : [0, 0];
  for (let r = 0; r < pixels.length; r++) {
    const i = Math.floor(pixels[r] / nx);
    const j = pixels[r] - i * nx;
    for (let a = 0; a < kh; a++) {
      const si = i - (a - cy);
      if (si < 0 || si >= ny) continue;
      for (let b = Math.max(0, j + cx - nx + 1); b < Math.min(kw, j + cx + 1); b++) if (!psf || psf.data[a * kw + b] !== 0) mask[si * nx + j + cx - b] = 1;
    }
  }
  const list: number[] = [];
  for (let k = 0; k < mask.length; k++) if (mask[k]) list.push(k);
  const fp: Footprint = { pixels: Int32Array.from(list), mask };
  footprints.set(key, { psf, ny, nx, fp });
  return fp;
}

/**
 * The lensing matrix restricted to the listed image pixels and blurred by the PSF: row r is image pixel
 * `pixels[r]` of P·L, with L the lens operator's matrix (ray shooting with `supersample`² sub-pixels per
 * image pixel, bilinear weights on the source grid) and P the zero-padded convolution of
 * docs/forward-models.md (y[i, j] = Σ h[a, b] x[i − (a − cy), j − (b − cx)]).
 */
export function blurredLensMatrix(p: LensParams, image: Grid, source: Grid, supersample: number, psf: PsfKernel | null, pixels: ArrayLike<number>): CsrMatrix {
  // rays only for the image pixels that the listed rows' PSF footprints reach (the others' rows are not read)
  const rows = psfFootprint(image.shape, psf, pixels).mask;
  const L = lensMatrix(p, { sourceShape: source.shape, sourcePixelScale: source.scale, imageShape: image.shape, imagePixelScale: image.scale, supersample, rows });
  return blurRows(L, image.shape, psf, pixels);
}

/**
 * Rows `pixels` of P·A for a matrix A whose rows are the pixels of an image of `shape` (see blurredLensMatrix). Each
 * row sums its taps in the kernel's order (rows a, then columns b) into a dense accumulator and keeps the non-zero
 * columns between the first and the last that A's rows reach, in order. Pixels listed in ascending order (the fit's)
 * go one image row at a time (blurRowsByImageRows: the same numbers bit for bit, tested); `byTaps` keeps the sum over
 * each pixel's taps.
 */
export function blurRows(A: CsrMatrix, shape: Shape2, psf: PsfKernel | null, pixels: ArrayLike<number>, opts: { byTaps?: boolean } = {}): CsrMatrix {
  if (psf && !opts.byTaps && ascending(pixels)) return blurRowsByImageRows(A, shape, psf, pixels);
  const [ny, nx] = shape;
  const nCols = A.nCols;
  const acc = new Float64Array(nCols);
  const rowPtr = new Int32Array(pixels.length + 1);
  let colIdx = new Int32Array(Math.max(16, pixels.length * 16));
  let values = new Float64Array(colIdx.length);
  let nnz = 0;
  const kh = psf ? psf.shape[0] : 1;
  const kw = psf ? psf.shape[1] : 1;
  const cy = psf ? psf.center[0] : 0;
  const cx = psf ? psf.center[1] : 0;
  const hk = psf ? psf.data : Float64Array.of(1);
  const Ap = A.rowPtr;
  const Ac = A.colIdx;
  const Av = A.values;
  for (let r = 0; r < pixels.length; r++) {
    const i = Math.floor(pixels[r] / nx);
    const j = pixels[r] - i * nx;
    let lo = nCols;
    let hi = -1;
    // tap (a, b) reads image pixel (i − (a − cy), j − (b − cx)), inside the image for b0 ≤ b < b1
    const b0 = Math.max(0, j + cx - nx + 1);
    const b1 = Math.min(kw, j + cx + 1);
    for (let a = 0; a < kh; a++) {
      const si = i - (a - cy);
      if (si < 0 || si >= ny) continue;
      const base = si * nx + j + cx;
      for (let b = b0; b < b1; b++) {
        const h = hk[a * kw + b];
        if (h === 0) continue;
        const row = base - b;
        const q0 = Ap[row];
        const q1 = Ap[row + 1];
        if (q0 === q1) continue;
        if (Ac[q0] < lo) lo = Ac[q0];
        if (Ac[q1 - 1] > hi) hi = Ac[q1 - 1];
        for (let q = q0; q < q1; q++) acc[Ac[q]] += h * Av[q];
      }
    }
    ({ colIdx, values } = growCsrBuffers(colIdx, values, nnz, nnz + Math.max(0, hi - lo + 1)));
    for (let c = lo; c <= hi; c++) {
      const v = acc[c];
      if (v !== 0) {
        colIdx[nnz] = c;
        values[nnz++] = v;
        acc[c] = 0;
      }
    }
    rowPtr[r + 1] = nnz;
  }
  return { nRows: pixels.length, nCols, rowPtr, colIdx: colIdx.slice(0, nnz), values: values.slice(0, nnz) };
}

function ascending(pixels: ArrayLike<number>): boolean {
  for (let r = 1; r < pixels.length; r++) if (!(pixels[r] > pixels[r - 1])) return false;
  return true;
}

/**
 * blurRows for pixels listed in ascending order, one image row of them at a time: each image pixel that A's rows
 * reach is read once per kernel row and added, times each tap, to the listed pixels of that image row it reaches
 * (a dense accumulator per listed pixel). The pixels read are taken kernel row by kernel row (a ascending) and
 * within one from the right (b ascending), so every entry sums its terms in blurRows' order: the same numbers bit
 * for bit, without visiting the taps that read empty rows of A (most of the footprint on a lens fit's source grid).
 */
function blurRowsByImageRows(A: CsrMatrix, shape: Shape2, psf: PsfKernel, pixels: ArrayLike<number>): CsrMatrix {
  const [ny, nx] = shape;
  const nCols = A.nCols;
  const [kh, kw] = psf.shape;
  const [cy, cx] = psf.center;
  const hk = psf.data;
  const Ap = A.rowPtr;
  const Ac = A.colIdx;
  const Av = A.values;
  const rowPtr = new Int32Array(pixels.length + 1);
  let colIdx = new Int32Array(Math.max(16, pixels.length * 16));
  let values = new Float64Array(colIdx.length);
  let nnz = 0;
  const slot = new Int32Array(nx).fill(-1);
  let acc = new Float64Array(0);
  const lo = new Int32Array(nx);
  const hi = new Int32Array(nx);
  for (let r0 = 0; r0 < pixels.length; ) {
    const i = Math.floor(pixels[r0] / nx);
    let r1 = r0;
    while (r1 < pixels.length && pixels[r1] < (i + 1) * nx) r1++;
    const m = r1 - r0;
    const jMin = pixels[r0] - i * nx;
    const jMax = pixels[r1 - 1] - i * nx;
    const dense = jMax - jMin + 1 === m;
    for (let s = 0; s < m; s++) {
      slot[pixels[r0 + s] - i * nx] = s;
      lo[s] = nCols;
      hi[s] = -1;
    }
    if (acc.length < m * nCols) acc = new Float64Array(m * nCols);
    for (let a = 0; a < kh; a++) {
      const si = i - (a - cy);
      if (si < 0 || si >= ny) continue;
      const hRow = a * kw;
      // image column qj is read by listed pixel j with tap b = j − qj + cx, 0 ≤ b < kw
      const qHi = Math.min(nx - 1, jMax + cx);
      const qLo = Math.max(0, jMin - (kw - 1 - cx));
      for (let qj = qHi; qj >= qLo; qj--) {
        const row = si * nx + qj;
        const q0 = Ap[row];
        const q1 = Ap[row + 1];
        if (q0 === q1) continue;
        const c0 = Ac[q0];
        const c1 = Ac[q1 - 1];
        const j0 = Math.max(jMin, qj - cx);
        const j1 = Math.min(jMax, qj - cx + kw - 1);
        const hOff = hRow - qj + cx;
        if (dense) {
          // every pixel between jMin and jMax listed: slot j − jMin. A zero tap adds ±0, which changes no sum (none
          // is −0) and so no value; the columns it adds to lo…hi end at 0 and are not kept
          for (let s = j0 - jMin; s <= j1 - jMin; s++) {
            if (c0 < lo[s]) lo[s] = c0;
            if (c1 > hi[s]) hi[s] = c1;
          }
          addTaps(acc, Ac, Av, q0, q1, m, jMin, hk, hOff, j0, j1);
          continue;
        }
        for (let j = j0; j <= j1; j++) {
          const s = slot[j];
          if (s < 0 || hk[hOff + j] === 0) continue;
          if (c0 < lo[s]) lo[s] = c0;
          if (c1 > hi[s]) hi[s] = c1;
        }
        // the accumulator column-major (a source column's listed pixels side by side)
        for (let q = q0; q < q1; q++) {
          const v = Av[q];
          const base = Ac[q] * m;
          for (let j = j0; j <= j1; j++) {
            const s = slot[j];
            if (s < 0) continue;
            const h = hk[hOff + j];
            if (h !== 0) acc[base + s] += h * v;
          }
        }
      }
    }
    for (let s = 0; s < m; s++) {
      slot[pixels[r0 + s] - i * nx] = -1;
      ({ colIdx, values } = growCsrBuffers(colIdx, values, nnz, nnz + Math.max(0, hi[s] - lo[s] + 1)));
      for (let c = lo[s]; c <= hi[s]; c++) {
        const v = acc[c * m + s];
        if (v !== 0) {
          colIdx[nnz] = c;
          values[nnz++] = v;
          acc[c * m + s] = 0;
        }
      }
      rowPtr[r0 + s + 1] = nnz;
    }
    r0 = r1;
  }
  return { nRows: pixels.length, nCols, rowPtr, colIdx: colIdx.slice(0, nnz), values: values.slice(0, nnz) };
}

/** acc[c·m + j − jMin] += h[hOff + j] · v over j0 ≤ j ≤ j1 for each entry (c, v) of A's row between q0 and q1. */
function addTaps(acc: Float64Array, Ac: Int32Array, Av: Float64Array, q0: number, q1: number, m: number, jMin: number, hk: Float64Array, hOff: number, j0: number, j1: number): void {
  for (let q = q0; q < q1; q++) {
    const v = Av[q];
    const base = Ac[q] * m - jMin;
    for (let j = j0; j <= j1; j++) acc[base + j] += hk[hOff + j] * v;
  }
}

/** Zero-padded convolution of an [ny, nx] image with a PSF (the psf stage's definition), float64. */
export function convolve(img: ArrayLike<number>, shape: Shape2, psf: PsfKernel | null): Float64Array {
  const [ny, nx] = shape;
  const out = new Float64Array(ny * nx);
  if (!psf) {
    for (let k = 0; k < out.length; k++) out[k] = img[k];
    return out;
  }
  const [kh, kw] = psf.shape;
  const [cy, cx] = psf.center;
  for (let a = 0; a < kh; a++) {
    for (let b = 0; b < kw; b++) {
      const h = psf.data[a * kw + b];
      if (h === 0) continue;
      const di = a - cy;
      const dj = b - cx;
      for (let i = Math.max(0, di); i < Math.min(ny, ny + di); i++) {
        const src = (i - di) * nx - dj;
        const dst = i * nx;
        for (let j = Math.max(0, dj); j < Math.min(nx, nx + dj); j++) out[dst + j] += h * img[src + j];
      }
    }
  }
  return out;
}

/**
 * Up to `k` consecutive ranges [from, to) of a pixel list in ascending order with about equal numbers of pixels, each
 * ending where an image row ends (the lens fit's blurred matrix made in blocks of its rows: blurredLensMatrix of each
 * range's pixels gives the whole list's rows bit for bit, tested).
 */
export function pixelRowChunks(pixels: ArrayLike<number>, nx: number, k: number): [number, number][] {
  const out: [number, number][] = [];
  const n = pixels.length;
  let from = 0;
  for (let i = 1; i <= k && from < n; i++) {
    let to = i === k ? n : Math.max(from + 1, Math.round((n * i) / k));
    // to the end of the image row of pixel to − 1
    const row = Math.floor(pixels[to - 1] / nx);
    while (to < n && Math.floor(pixels[to] / nx) === row) to++;
    out.push([from, to]);
    from = to;
  }
  return out;
}
