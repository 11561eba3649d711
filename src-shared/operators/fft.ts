/**
 * Plain float64 FFTs for setup-time work (transfer functions, dirty beams, drawing helpers).
 * Per-iteration work runs on tensors (see fourier.ts); this module never touches tfjs.
 *
 * Conventions are numpy's: forward X[k] = Σ x[n] e^{-2πi kn/N}, inverse x[n] = (1/N) Σ X[k] e^{+2πi kn/N}.
 * Any length works: powers of two use an iterative radix-2 transform, other lengths Bluestein's algorithm.
 */
import { halfSpectrumSize, twiddles } from './dft-matrices.js';

function isPowerOfTwo(n: number): boolean {
  return n > 0 && (n & (n - 1)) === 0;
}

function radix2(re: Float64Array, im: Float64Array, inverse: boolean): void {
  const n = re.length;
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      let t = re[i];
      re[i] = re[j];
      re[j] = t;
      t = im[i];
      im[i] = im[j];
      im[j] = t;
    }
  }
  const sign = inverse ? 1 : -1;
  for (let len = 2; len <= n; len <<= 1) {
    const half = len >> 1;
    const ang = (sign * 2 * Math.PI) / len;
    for (let k = 0; k < half; k++) {
      const wr = Math.cos(ang * k);
      const wi = Math.sin(ang * k);
      for (let s = 0; s < n; s += len) {
        const a = s + k;
        const b = a + half;
        const xr = re[b] * wr - im[b] * wi;
        const xi = re[b] * wi + im[b] * wr;
        re[b] = re[a] - xr;
        im[b] = im[a] - xi;
        re[a] += xr;
        im[a] += xi;
      }
    }
  }
}

function bluestein(re: Float64Array, im: Float64Array, inverse: boolean): void {
  const n = re.length;
  let m = 1;
  while (m < 2 * n - 1) m <<= 1;
  const sign = inverse ? 1 : -1;
  // chirp w[k] = exp(sign·iπ k²/n); k² taken mod 2n to keep the angle accurate
  const cr = new Float64Array(n);
  const ci = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    const k2 = (k * k) % (2 * n);
    const ang = (sign * Math.PI * k2) / n;
    cr[k] = Math.cos(ang);
    ci[k] = Math.sin(ang);
  }
  const ar = new Float64Array(m);
  const ai = new Float64Array(m);
  for (let k = 0; k < n; k++) {
    ar[k] = re[k] * cr[k] - im[k] * ci[k];
    ai[k] = re[k] * ci[k] + im[k] * cr[k];
  }
  const br = new Float64Array(m);
  const bi = new Float64Array(m);
  br[0] = cr[0];
  bi[0] = -ci[0];
  for (let k = 1; k < n; k++) {
    br[k] = br[m - k] = cr[k];
    bi[k] = bi[m - k] = -ci[k];
  }
  radix2(ar, ai, false);
  radix2(br, bi, false);
  for (let k = 0; k < m; k++) {
    const r = ar[k] * br[k] - ai[k] * bi[k];
    const i = ar[k] * bi[k] + ai[k] * br[k];
    ar[k] = r;
    ai[k] = i;
  }
  radix2(ar, ai, true);
  for (let k = 0; k < n; k++) {
    const r = ar[k] / m;
    const i = ai[k] / m;
    re[k] = r * cr[k] - i * ci[k];
    im[k] = r * ci[k] + i * cr[k];
  }
}

/** In-place 1-D FFT of (re, im), any length. `inverse` includes the 1/N factor. */
export function fft1d(re: Float64Array, im: Float64Array, inverse = false): void {
  const n = re.length;
  if (im.length !== n) throw new Error('fft1d: re and im differ in length');
  if (n <= 1) return;
  if (isPowerOfTwo(n)) radix2(re, im, inverse);
  else bluestein(re, im, inverse);
  if (inverse) {
    for (let k = 0; k < n; k++) {
      re[k] /= n;
      im[k] /= n;
    }
  }
}

/** In-place 2-D FFT of a row-major [ny, nx] complex array. */
export function fft2d(re: Float64Array, im: Float64Array, ny: number, nx: number, inverse = false): void {
  if (re.length !== ny * nx || im.length !== ny * nx) throw new Error('fft2d: size mismatch');
  const rr = new Float64Array(nx);
  const ri = new Float64Array(nx);
  for (let i = 0; i < ny; i++) {
    const o = i * nx;
    for (let j = 0; j < nx; j++) {
      rr[j] = re[o + j];
      ri[j] = im[o + j];
    }
    fft1d(rr, ri, inverse);
    for (let j = 0; j < nx; j++) {
      re[o + j] = rr[j];
      im[o + j] = ri[j];
    }
  }
  const cr = new Float64Array(ny);
  const ci = new Float64Array(ny);
  for (let j = 0; j < nx; j++) {
    for (let i = 0; i < ny; i++) {
      cr[i] = re[i * nx + j];
      ci[i] = im[i * nx + j];
    }
    fft1d(cr, ci, inverse);
    for (let i = 0; i < ny; i++) {
      re[i * nx + j] = cr[i];
      im[i * nx + j] = ci[i];
    }
  }
}

/**
 * The DFT on a [py, px] grid of a small real kernel placed with its element (cy, cx) at the origin
 * (wrapped circularly), evaluated only over the kernel's support: cost ky·kx·(px/2+1) + ky·py·(px/2+1).
 * Returns the half-spectrum (rfft layout: [py, ⌊px/2⌋+1], row-major) as re and im.
 */
export function kernelRfft2(
  kernel: ArrayLike<number>,
  ky: number,
  kx: number,
  cy: number,
  cx: number,
  py: number,
  px: number,
): { re: Float64Array; im: Float64Array; kxHalf: number } {
  const kh = halfSpectrumSize(px);
  const twx = twiddles(px);
  const twy = twiddles(py);
  // along x: R[a][k] = Σ_b h[a][b] e^{-2πi k (b - cx)/px}
  const tr = new Float64Array(ky * kh);
  const ti = new Float64Array(ky * kh);
  for (let a = 0; a < ky; a++) {
    for (let b = 0; b < kx; b++) {
      const v = kernel[a * kx + b];
      if (v === 0) continue;
      const shift = mod(b - cx, px);
      for (let k = 0; k < kh; k++) {
        const t = (k * shift) % px;
        tr[a * kh + k] += v * twx.cos[t];
        ti[a * kh + k] -= v * twx.sin[t];
      }
    }
  }
  const re = new Float64Array(py * kh);
  const im = new Float64Array(py * kh);
  for (let a = 0; a < ky; a++) {
    const shift = mod(a - cy, py);
    for (let l = 0; l < py; l++) {
      const t = (l * shift) % py;
      const c = twy.cos[t];
      const s = twy.sin[t];
      const o = l * kh;
      for (let k = 0; k < kh; k++) {
        const xr = tr[a * kh + k];
        const xi = ti[a * kh + k];
        // (xr + i xi)(c - i s)
        re[o + k] += xr * c + xi * s;
        im[o + k] += xi * c - xr * s;
      }
    }
  }
  return { re, im, kxHalf: kh };
}

export function mod(a: number, n: number): number {
  const r = a % n;
  return r < 0 ? r + n : r;
}

/** Moves the zero frequency / origin of a row-major [ny, nx] array to index (⌊ny/2⌋, ⌊nx/2⌋) (numpy fftshift). */
export function fftshift2<T extends Float32Array | Float64Array>(a: T, ny: number, nx: number): T {
  const out = new (a.constructor as { new (n: number): T })(a.length);
  const sy = Math.floor(ny / 2);
  const sx = Math.floor(nx / 2);
  for (let i = 0; i < ny; i++) {
    const oi = (i + sy) % ny;
    for (let j = 0; j < nx; j++) out[oi * nx + ((j + sx) % nx)] = a[i * nx + j];
  }
  return out;
}
