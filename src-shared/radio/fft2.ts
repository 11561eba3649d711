/**
 * A 2-D complex FFT for the radio modules' grids, numpy's convention (forward e^{−2πi kn/N}, inverse with 1/N),
 * fast for power-of-two sizes: precomputed twiddles, rows transformed in place, and the column transform done as
 * butterflies between whole rows (contiguous memory). Other sizes go to operators/fft.ts.
 */
import { fft2d } from '../operators/fft.js';

interface Tables {
  cos: Float64Array;
  sin: Float64Array;
  rev: Uint32Array;
}

const cache = new Map<number, Tables>();

function tables(n: number): Tables {
  let t = cache.get(n);
  if (t) return t;
  const cos = new Float64Array(n / 2);
  const sin = new Float64Array(n / 2);
  for (let k = 0; k < n / 2; k++) {
    cos[k] = Math.cos((2 * Math.PI * k) / n);
    sin[k] = Math.sin((2 * Math.PI * k) / n);
  }
  const rev = new Uint32Array(n);
  let bits = 0;
  while (1 << bits < n) bits++;
  for (let i = 0; i < n; i++) {
    let r = 0;
    for (let b = 0; b < bits; b++) if (i & (1 << b)) r |= 1 << (bits - 1 - b);
    rev[i] = r;
  }
  t = { cos, sin, rev };
  if (cache.size > 16) cache.clear();
  cache.set(n, t);
  return t;
}

const isPow2 = (n: number) => n > 0 && (n & (n - 1)) === 0;

/** In-place radix-2 FFT of re/im[off … off + n). sign −1 forward, +1 inverse (unnormalised). */
function rowFft(re: Float64Array, im: Float64Array, off: number, n: number, t: Tables, sign: number): void {
  const { cos, sin, rev } = t;
  for (let i = 0; i < n; i++) {
    const j = rev[i];
    if (i < j) {
      let x = re[off + i];
      re[off + i] = re[off + j];
      re[off + j] = x;
      x = im[off + i];
      im[off + i] = im[off + j];
      im[off + j] = x;
    }
  }
  for (let len = 2; len <= n; len <<= 1) {
    const half = len >> 1;
    const step = n / len;
    for (let s = 0; s < n; s += len) {
      for (let k = 0; k < half; k++) {
        const wr = cos[k * step];
        const wi = sign * sin[k * step];
        const a = off + s + k;
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

/** The column transform of a [ny, nx] array: radix-2 butterflies between whole rows. */
function colFft(re: Float64Array, im: Float64Array, ny: number, nx: number, t: Tables, sign: number): void {
  const { cos, sin, rev } = t;
  for (let i = 0; i < ny; i++) {
    const j = rev[i];
    if (i < j) {
      const a = i * nx;
      const b = j * nx;
      for (let x = 0; x < nx; x++) {
        let v = re[a + x];
        re[a + x] = re[b + x];
        re[b + x] = v;
        v = im[a + x];
        im[a + x] = im[b + x];
        im[b + x] = v;
      }
    }
  }
  for (let len = 2; len <= ny; len <<= 1) {
    const half = len >> 1;
    const step = ny / len;
    for (let s = 0; s < ny; s += len) {
      for (let k = 0; k < half; k++) {
        const wr = cos[k * step];
        const wi = sign * sin[k * step];
        const a = (s + k) * nx;
        const b = (s + k + half) * nx;
        if (k === 0) {
          for (let x = 0; x < nx; x++) {
            const xr = re[b + x];
            const xi = im[b + x];
            re[b + x] = re[a + x] - xr;
            im[b + x] = im[a + x] - xi;
            re[a + x] += xr;
            im[a + x] += xi;
          }
        } else {
          for (let x = 0; x < nx; x++) {
            const xr = re[b + x] * wr - im[b + x] * wi;
            const xi = re[b + x] * wi + im[b + x] * wr;
            re[b + x] = re[a + x] - xr;
            im[b + x] = im[a + x] - xi;
            re[a + x] += xr;
            im[a + x] += xi;
          }
        }
      }
    }
  }
}

/** In-place 2-D FFT of a row-major [ny, nx] complex array; `inverse` includes the 1/(nx·ny). */
export function fft2(re: Float64Array, im: Float64Array, ny: number, nx: number, inverse = false): void {
  if (re.length !== nx * ny || im.length !== nx * ny) throw new Error('fft2: size mismatch');
  if (!isPow2(nx) || !isPow2(ny)) {
    fft2d(re, im, ny, nx, inverse);
    return;
  }
  const sign = inverse ? 1 : -1;
  if (nx > 1) {
    const tx = tables(nx);
    for (let y = 0; y < ny; y++) rowFft(re, im, y * nx, nx, tx, sign);
  }
  if (ny > 1) colFft(re, im, ny, nx, tables(ny), sign);
  if (inverse) {
    const s = 1 / (nx * ny);
    for (let i = 0; i < re.length; i++) {
      re[i] *= s;
      im[i] *= s;
    }
  }
}
