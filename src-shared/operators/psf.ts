import * as tf from '@tensorflow/tfjs-core';
import type { Tensor3D, Tensor4D } from '@tensorflow/tfjs-core';
import { BaseOperator } from './base.js';
import { FourierFilter } from './fourier.js';
import { kernelRfft2 } from './fft.js';
import type { GramDescription, OperatorStructure, Shape2 } from './types.js';

/** FWHM / σ of a Gaussian, as docs/forward-models.md fixes it. */
export const FWHM_PER_SIGMA = 2.3548;

/** A PSF image with the index of its centre pixel (row, column). */
export interface PsfKernel {
  data: Float64Array;
  shape: Shape2;
  center: [number, number];
}

/** The centre convention: index ⌊K/2⌋ on each axis (middle pixel for odd K, astropy/GalSim for even K). */
export function psfCenter(shape: Shape2): [number, number] {
  return [Math.floor(shape[0] / 2), Math.floor(shape[1] / 2)];
}

/** The kernel shape of gaussianPsf(fwhmPx): (2⌈4σ⌉+1)². */
export function gaussianPsfSize(fwhmPx: number): Shape2 {
  const sigma = fwhmPx / FWHM_PER_SIGMA;
  const k = 2 * Math.ceil(4 * sigma) + 1;
  return [k, k];
}

/** Gaussian PSF sampled at pixel centres on a (2⌈4σ⌉+1)² grid, σ = FWHM/2.3548, unit sum. */
export function gaussianPsf(fwhmPx: number): PsfKernel {
  if (!(fwhmPx > 0) || !Number.isFinite(fwhmPx)) throw new RangeError(`gaussianPsf: FWHM must be positive, got ${fwhmPx}`);
  const sigma = fwhmPx / FWHM_PER_SIGMA;
  const half = Math.ceil(4 * sigma);
  const k = 2 * half + 1;
  const data = new Float64Array(k * k);
  let sum = 0;
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) {
      const v = Math.exp(-((i - half) ** 2 + (j - half) ** 2) / (2 * sigma * sigma));
      data[i * k + j] = v;
      sum += v;
    }
  }
  for (let i = 0; i < data.length; i++) data[i] /= sum;
  return { data, shape: [k, k], center: [half, half] };
}

/** A PSF from an image ([ky, kx] row-major), centred at ⌊K/2⌋, optionally normalised to unit sum. */
export function psfFromImage(data: ArrayLike<number>, shape: Shape2, normalize = true): PsfKernel {
  const n = shape[0] * shape[1];
  if (data.length !== n) throw new RangeError(`psfFromImage: ${data.length} values for shape [${shape.join(', ')}]`);
  const out = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const v = data[i];
    if (!Number.isFinite(v)) throw new RangeError(`psfFromImage: non-finite value at index ${i}`);
    out[i] = v;
    sum += v;
  }
  if (normalize) {
    if (!(Math.abs(sum) > 0)) throw new RangeError('psfFromImage: the PSF sums to zero and cannot be normalised');
    for (let i = 0; i < n; i++) out[i] /= sum;
  }
  return { data: out, shape: [shape[0], shape[1]], center: psfCenter(shape) };
}

/**
 * Drops the parts of a PSF that cannot reach an [ny, nx] image: offsets of ny or more rows (nx columns)
 * from the centre. Exact: those entries multiply pixels outside the zero-padded image.
 */
export function cropKernelToImage(k: PsfKernel, image: Shape2): PsfKernel {
  const [ky, kx] = k.shape;
  const [cy, cx] = k.center;
  const y0 = Math.max(0, cy - (image[0] - 1));
  const y1 = Math.min(ky - 1, cy + (image[0] - 1));
  const x0 = Math.max(0, cx - (image[1] - 1));
  const x1 = Math.min(kx - 1, cx + (image[1] - 1));
  if (y0 === 0 && x0 === 0 && y1 === ky - 1 && x1 === kx - 1) return k;
  const h = y1 - y0 + 1;
  const w = x1 - x0 + 1;
  const data = new Float64Array(h * w);
  for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) data[i * w + j] = k.data[(i + y0) * kx + j + x0];
  return { data, shape: [h, w], center: [cy - y0, cx - x0] };
}

export type PsfMethod = 'auto' | 'direct' | 'fourier';

/** Padded size for a linear convolution without wrap-around into the kept [0, n) window. */
export function fourierPadSize(n: number, k: number, c: number): number {
  return n + Math.max(c, k - 1 - c);
}

/**
 * Linear convolution with zero padding, same shape in and out:
 * y[i, j] = Σ_{a,b} h[a, b] · x[i − (a − cy), j − (b − cx)], x = 0 outside the image.
 * Two implementations, chosen by cost: a direct conv2d (small PSFs) or a Fourier filter on a
 * padded grid of n + max(c, K−1−c) per axis (large PSFs); both exact to float32.
 */
export class PsfOperator extends BaseOperator {
  readonly name = 'psf';
  override readonly structure: OperatorStructure = { kind: 'fourier-diagonal', exact: false };
  readonly kernel: PsfKernel;
  readonly method: 'direct' | 'fourier';
  private readonly filter: FourierFilter | null = null;
  private readonly wForward: Tensor4D | null = null;
  private readonly wAdjoint: Tensor4D | null = null;
  private gramCache?: Float32Array;

  constructor(shape: Shape2, kernel: PsfKernel, opts: { method?: PsfMethod } = {}) {
    super(shape, shape);
    if (kernel.data.length !== kernel.shape[0] * kernel.shape[1]) throw new RangeError('PsfOperator: kernel size mismatch');
    this.kernel = cropKernelToImage(kernel, shape);
    const [ny, nx] = shape;
    const [ky, kx] = this.kernel.shape;
    const [cy, cx] = this.kernel.center;
    const pad: Shape2 = [fourierPadSize(ny, ky, cy), fourierPadSize(nx, kx, cx)];
    const method = opts.method ?? 'auto';
    if (method === 'auto') {
      const direct = ny * nx * ky * kx;
      const kh = Math.floor(pad[1] / 2) + 1;
      const fourier = ny * nx * 2 * kh + 2 * kh * 2 * ny * 2 * pad[0] + ny * 2 * kh * nx;
      // multiply–adds per second of single-channel conv2d relative to matMul, measured (docs/forward-models.md):
      // about 1/2 on cpu, 1/10 on wasm (XNNPACK's matMul is fast, its 1-channel conv is not); 1/4 elsewhere
      const backend = tf.getBackend();
      const ratio = backend === 'cpu' ? 2 : backend === 'wasm' ? 10 : 4;
      this.method = direct * ratio <= fourier ? 'direct' : 'fourier';
    } else {
      this.method = method;
    }
    if (this.method === 'fourier') {
      const h = kernelRfft2(this.kernel.data, ky, kx, cy, cx, pad[0], pad[1]);
      this.filter = new FourierFilter({ inShape: shape, outShape: shape, padShape: pad, hRe: h.re, hIm: h.im });
    } else {
      const f = new Float32Array(ky * kx);
      const b = new Float32Array(ky * kx);
      for (let i = 0; i < ky * kx; i++) {
        f[i] = this.kernel.data[ky * kx - 1 - i]; // flipped: conv2d correlates
        b[i] = this.kernel.data[i];
      }
      this.wForward = tf.tensor4d(f, [ky, kx, 1, 1]);
      this.wAdjoint = tf.tensor4d(b, [ky, kx, 1, 1]);
    }
  }

  protected forward(x: Tensor3D): Tensor3D {
    if (this.filter) return this.filter.apply(x);
    const [ky, kx] = this.kernel.shape;
    const [cy, cx] = this.kernel.center;
    return this.conv(x, this.wForward as Tensor4D, [ky - 1 - cy, cy], [kx - 1 - cx, cx]);
  }

  protected backward(y: Tensor3D): Tensor3D {
    if (this.filter) return this.filter.adjoint(y);
    const [ky, kx] = this.kernel.shape;
    const [cy, cx] = this.kernel.center;
    return this.conv(y, this.wAdjoint as Tensor4D, [cy, ky - 1 - cy], [cx, kx - 1 - cx]);
  }

  private conv(x: Tensor3D, w: Tensor4D, py: [number, number], px: [number, number]): Tensor3D {
    return tf.tidy(() => {
      const [b, ny, nx] = x.shape;
      const x4 = tf.pad(tf.reshape(x, [b, ny, nx, 1]), [[0, 0], py, px, [0, 0]]);
      const y = tf.conv2d(x4 as Tensor4D, w, 1, 'valid');
      return tf.reshape(y, [b, ny, nx]);
    });
  }

  /**
   * Circulant approximation: A Aᵀ ≈ F⁻¹ |H|² F with H the PSF's transfer function on the image grid
   * (the PSF wrapped periodically onto [ny, nx]). Not exact: the zero-padded convolution is Toeplitz;
   * the two differ within a PSF radius of the edges.
   */
  gram(): GramDescription {
    if (!this.gramCache) {
      const [ny, nx] = this.outShape;
      const [ky, kx] = this.kernel.shape;
      const [cy, cx] = this.kernel.center;
      const h = kernelRfft2(this.kernel.data, ky, kx, cy, cx, ny, nx);
      this.gramCache = halfToFull(h.re, h.im, ny, nx, (r, i) => r * r + i * i);
    }
    return { kind: 'fourier-diagonal', diag: this.gramCache.slice(), exact: false };
  }

  /** Exact diagonal of A Aᵀ: Σ h² over the PSF positions that land inside the image (smaller at the edges). */
  override gramDiagonal(): Float32Array {
    const [ny, nx] = this.outShape;
    const [ky, kx] = this.kernel.shape;
    const [cy, cx] = this.kernel.center;
    const pre = new Float64Array((ky + 1) * (kx + 1));
    for (let a = 0; a < ky; a++) {
      for (let b = 0; b < kx; b++) {
        const v = this.kernel.data[a * kx + b];
        pre[(a + 1) * (kx + 1) + b + 1] = v * v + pre[a * (kx + 1) + b + 1] + pre[(a + 1) * (kx + 1) + b] - pre[a * (kx + 1) + b];
      }
    }
    const out = new Float32Array(ny * nx);
    for (let i = 0; i < ny; i++) {
      const a0 = Math.max(0, i + cy - ny + 1);
      const a1 = Math.min(ky - 1, i + cy);
      for (let j = 0; j < nx; j++) {
        const b0 = Math.max(0, j + cx - nx + 1);
        const b1 = Math.min(kx - 1, j + cx);
        if (a1 < a0 || b1 < b0) continue;
        out[i * nx + j] =
          pre[(a1 + 1) * (kx + 1) + b1 + 1] - pre[a0 * (kx + 1) + b1 + 1] - pre[(a1 + 1) * (kx + 1) + b0] + pre[a0 * (kx + 1) + b0];
      }
    }
    return out;
  }

  protected release(): void {
    this.filter?.dispose();
    this.wForward?.dispose();
    this.wAdjoint?.dispose();
  }
}

/** Expands an rfft-layout half spectrum [ny, ⌊nx/2⌋+1] to the full [ny, nx] numpy fft2 layout through f(re, im). */
export function halfToFull(
  re: Float64Array,
  im: Float64Array,
  ny: number,
  nx: number,
  f: (re: number, im: number) => number,
): Float32Array {
  const kh = Math.floor(nx / 2) + 1;
  const out = new Float32Array(ny * nx);
  for (let l = 0; l < ny; l++) {
    for (let k = 0; k < nx; k++) {
      if (k < kh) out[l * nx + k] = f(re[l * kh + k], im[l * kh + k]);
      else {
        const l2 = (ny - l) % ny;
        const k2 = nx - k;
        out[l * nx + k] = f(re[l2 * kh + k2], -im[l2 * kh + k2]);
      }
    }
  }
  return out;
}
