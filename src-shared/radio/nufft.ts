/**
 * Non-uniform FFT between an image and visibilities (the convention of grid.ts), float64.
 *
 * Type 2 (image → visibilities): divide the image by the kernel's Fourier transform (de-apodisation), zero-pad
 * it onto a grid at least twice its size (oversampling σ ≥ 2: the next power of two), FFT, and interpolate the grid at each (u, v) with the
 * "exponential of semicircle" kernel ψ(t) = exp(β(√(1 − (2t/W)²) − 1)), |t| < W/2 grid cells, W taps per axis,
 * β = 2.30·W. Type 1, the adjoint, runs the same steps transposed (spread, inverse FFT unnormalised, crop,
 * divide), so it is the exact adjoint of the type-2 map as computed, to rounding. The accuracy against the direct
 * sum is about 10^(1−W); W = ⌈log10(1/tol)⌉ + 1.
 */
import { fft2 as fft2d } from './fft2.js';
import { checkGrid, type Complex, type ImageGrid } from './grid.js';

export interface NufftOptions {
  /** Target relative accuracy against the direct sum (default 1e-7: W = 8). */
  tol?: number;
  /**
   * Bytes the plan may spend on float64 interpolation taps (24·W bytes a visibility: 192 at W = 8; default 2²⁷,
   * about 700 000 visibilities at W = 8). Above it the taps are kept in float32 with the first cell of each axis
   * (8·W + 8 bytes a visibility: 72 at W = 8), which moves the results by about 1e-8 of their scale, well within
   * the kernel's own accuracy (1e-7 at W = 8).
   */
  tapBytes?: number;
}

/** The default budget of a plan's stored taps (NufftOptions.tapBytes). */
export const TAP_BYTES = 2 ** 27;

export interface NufftPlan {
  grid: ImageGrid;
  nvis: number;
  /** Kernel width in grid cells and the oversampled grid's size. */
  width: number;
  /** The precision the interpolation taps are kept in (NufftOptions.tapBytes). */
  taps: 'float64' | 'float32';
  Nx: number;
  Ny: number;
  forward(xRe: Float64Array, xIm?: Float64Array): Complex;
  adjoint(yRe: Float64Array, yIm: Float64Array): Complex;
}

/**
 * The oversampled grid's size for at least 2n: the next power of two (the FFT's fast path; the oversampling
 * σ = N/n then lies in 2…4, where the σ = 2 kernel is at least as accurate).
 */
export function fftSize(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/** The kernel width for a tolerance (σ = 2). */
export function kernelWidth(tol: number): number {
  return Math.min(16, Math.max(2, Math.ceil(Math.log10(1 / tol)) + 1));
}

function esKernel(t: number, w: number, beta: number): number {
  const z = (2 * t) / w;
  const s = 1 - z * z;
  return s <= 0 ? 0 : Math.exp(beta * (Math.sqrt(s) - 1));
}

/** ψ̂(s) = ∫ ψ(t) e^{−2πist} dt (s in cycles per grid cell), composite Simpson on the even kernel. */
function kernelFt(s: number, w: number, beta: number): number {
  const n = 800;
  const h = w / 2 / n;
  let acc = 0;
  for (let i = 0; i <= n; i++) {
    const t = i * h;
    const f = esKernel(t, w, beta) * Math.cos(2 * Math.PI * s * t);
    acc += (i === 0 || i === n ? 1 : i % 2 ? 4 : 2) * f;
  }
  return 2 * (acc * h) / 3;
}

/** A plan for fixed (u, v) (wavelengths) and grid. */
export function makeNufft(u: Float64Array, v: Float64Array, grid: ImageGrid, opts: NufftOptions = {}): NufftPlan {
  checkGrid(grid);
  if (u.length !== v.length) throw new Error('makeNufft: u and v differ in length');
  const tol = opts.tol ?? 1e-7;
  const W = kernelWidth(tol);
  const beta = 2.3 * W;
  const { nx, ny, cell } = grid;
  const Nx = fftSize(2 * nx);
  const Ny = fftSize(2 * ny);
  const cx = Math.floor(nx / 2);
  const cy = Math.floor(ny / 2);
  const M = u.length;
  // de-apodisation per column and row
  const dx = new Float64Array(nx);
  const dy = new Float64Array(ny);
  for (let x = 0; x < nx; x++) dx[x] = 1 / kernelFt((x - cx) / Nx, W, beta);
  for (let y = 0; y < ny; y++) dy[y] = 1 / kernelFt((y - cy) / Ny, W, beta);
  // interpolation taps of visibility k, written at offset o of the tap arrays
  const tapsOf = (k: number, ix: Int32Array, iy: Int32Array, wx: Float64Array, wy: Float64Array, o: number) => {
    const gx = -u[k] * cell * Nx; // ξ = −u·cell
    const gy = v[k] * cell * Ny; // η = v·cell
    const x0 = Math.ceil(gx - W / 2);
    const y0 = Math.ceil(gy - W / 2);
    for (let a = 0; a < W; a++) {
      const px = x0 + a;
      const py = y0 + a;
      ix[o + a] = ((px % Nx) + Nx) % Nx;
      iy[o + a] = ((py % Ny) + Ny) % Ny;
      wx[o + a] = esKernel(gx - px, W, beta);
      wy[o + a] = esKernel(gy - py, W, beta);
    }
  };
  // float64 for every visibility within the budget; else float32 taps and each axis's first cell, one
  // visibility's float64 taps unpacked from them at every call
  const stored = M * W * 24 <= (opts.tapBytes ?? TAP_BYTES);
  const T = stored ? M * W : W;
  const ix = new Int32Array(T);
  const iy = new Int32Array(T);
  const wx = new Float64Array(T);
  const wy = new Float64Array(T);
  const x0s = stored ? null : new Int32Array(M);
  const y0s = stored ? null : new Int32Array(M);
  const fx = stored ? null : new Float32Array(M * W);
  const fy = stored ? null : new Float32Array(M * W);
  if (stored) for (let k = 0; k < M; k++) tapsOf(k, ix, iy, wx, wy, k * W);
  else {
    for (let k = 0; k < M; k++) {
      tapsOf(k, ix, iy, wx, wy, 0);
      x0s![k] = ix[0];
      y0s![k] = iy[0];
      for (let a = 0; a < W; a++) {
        fx![k * W + a] = wx[a];
        fy![k * W + a] = wy[a];
      }
    }
  }
  // visibility k's taps from the float32 store into the one-visibility arrays
  const unpack = (k: number) => {
    const x0 = x0s![k];
    const y0 = y0s![k];
    const o = k * W;
    for (let a = 0; a < W; a++) {
      const px = x0 + a;
      const py = y0 + a;
      ix[a] = px >= Nx ? px - Nx : px;
      iy[a] = py >= Ny ? py - Ny : py;
      wx[a] = fx![o + a];
      wy[a] = fy![o + a];
    }
  };
  const gre = new Float64Array(Nx * Ny);
  const gim = new Float64Array(Nx * Ny);
  return {
    grid,
    nvis: M,
    width: W,
    taps: stored ? 'float64' : 'float32',
    Nx,
    Ny,
    forward(xRe, xIm) {
      gre.fill(0);
      gim.fill(0);
      for (let y = 0; y < ny; y++) {
        const row = (((y - cy) % Ny) + Ny) % Ny;
        for (let x = 0; x < nx; x++) {
          const col = (((x - cx) % Nx) + Nx) % Nx;
          const d = dx[x] * dy[y];
          gre[row * Nx + col] = xRe[y * nx + x] * d;
          if (xIm) gim[row * Nx + col] = xIm[y * nx + x] * d;
        }
      }
      fft2d(gre, gim, Ny, Nx, false);
      const re = new Float64Array(M);
      const im = new Float64Array(M);
      for (let k = 0; k < M; k++) {
        let sr = 0;
        let si = 0;
        let kw = 0;
        if (stored) kw = k * W;
        else unpack(k);
        for (let a = 0; a < W; a++) {
          const o = iy[kw + a] * Nx;
          let rr = 0;
          let ri = 0;
          for (let b = 0; b < W; b++) {
            const w = wx[kw + b];
            const j = o + ix[kw + b];
            rr += gre[j] * w;
            ri += gim[j] * w;
          }
          const w = wy[kw + a];
          sr += rr * w;
          si += ri * w;
        }
        re[k] = sr;
        im[k] = si;
      }
      return { re, im };
    },
    adjoint(yRe, yIm) {
      gre.fill(0);
      gim.fill(0);
      for (let k = 0; k < M; k++) {
        let kw = 0;
        if (stored) kw = k * W;
        else unpack(k);
        const a0 = yRe[k];
        const b0 = yIm[k];
        for (let a = 0; a < W; a++) {
          const o = iy[kw + a] * Nx;
          const ar = a0 * wy[kw + a];
          const ai = b0 * wy[kw + a];
          for (let b = 0; b < W; b++) {
            const w = wx[kw + b];
            const j = o + ix[kw + b];
            gre[j] += ar * w;
            gim[j] += ai * w;
          }
        }
      }
      fft2d(gre, gim, Ny, Nx, true);
      const scale = Nx * Ny;
      const re = new Float64Array(nx * ny);
      const im = new Float64Array(nx * ny);
      for (let y = 0; y < ny; y++) {
        const row = (((y - cy) % Ny) + Ny) % Ny;
        for (let x = 0; x < nx; x++) {
          const col = (((x - cx) % Nx) + Nx) % Nx;
          const d = dx[x] * dy[y] * scale;
          re[y * nx + x] = gre[row * Nx + col] * d;
          im[y * nx + x] = gim[row * Nx + col] * d;
        }
      }
      return { re, im };
    },
  };
}
