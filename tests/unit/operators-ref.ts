/**
 * Independent, slow reference implementations of the forward models of docs/forward-models.md, written with
 * plain loops in float64 straight from the definitions (no code shared with src-shared/operators), plus test utilities.
 */
import * as tf from '@tensorflow/tfjs-core';

/** Deterministic PRNG for tests (mulberry32) with Gaussian deviates. */
export function rng(seed: number): { uniform(): number; normal(): number } {
  let s = seed >>> 0;
  const uniform = (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    uniform,
    normal: () => {
      const u = uniform() || 1e-300;
      return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * uniform());
    },
  };
}

export function randn(n: number, seed: number): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = r.normal();
  return out;
}

/** A symmetric n × n matrix (row-major) of standard normal entries: the lower triangle of randn(n², seed), mirrored. */
export function randomSymmetric(n: number, seed: number): Float32Array {
  const z = randn(n * n, seed);
  const G = new Float32Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) G[i * n + j] = G[j * n + i] = z[i * n + j];
  return G;
}

/** Relative L2 error ‖a − b‖ / ‖b‖. */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return Math.sqrt(num / den);
}

export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

interface Op {
  inShape: [number, number];
  outShape: [number, number];
  apply(x: tf.Tensor): tf.Tensor;
  adjoint(y: tf.Tensor): tf.Tensor;
}

/**
 * The dot-product test on a batch of random inputs: returns max over the batch of
 * |<A x, y> − <x, Aᵀ y>| / (‖A x‖‖y‖ + ‖x‖‖Aᵀ y‖)/2 — a scale-free relative error.
 */
export function dotTest(op: Op, seed: number, batch = 2): number {
  const [ny, nx] = op.inShape;
  const [my, mx] = op.outShape;
  const xs = randn(batch * ny * nx, seed);
  const ys = randn(batch * my * mx, seed + 1);
  const { ax, aty } = tf.tidy(() => {
    const x = tf.tensor3d(xs, [batch, ny, nx]);
    const y = tf.tensor3d(ys, [batch, my, mx]);
    return { ax: op.apply(x).dataSync().slice(), aty: op.adjoint(y).dataSync().slice() };
  });
  let worst = 0;
  for (let b = 0; b < batch; b++) {
    const xb = xs.subarray(b * ny * nx, (b + 1) * ny * nx);
    const yb = ys.subarray(b * my * mx, (b + 1) * my * mx);
    const axb = ax.subarray(b * my * mx, (b + 1) * my * mx);
    const atyb = aty.subarray(b * ny * nx, (b + 1) * ny * nx);
    const lhs = dot(axb, yb);
    const rhs = dot(xb, atyb);
    const scale = (Math.sqrt(dot(axb, axb) * dot(yb, yb)) + Math.sqrt(dot(xb, xb) * dot(atyb, atyb))) / 2;
    worst = Math.max(worst, Math.abs(lhs - rhs) / scale);
  }
  return worst;
}

/** Runs op.apply (or adjoint) on one image and returns the values. */
export function run(op: Op, x: ArrayLike<number>, adjoint = false): Float32Array {
  const [ny, nx] = adjoint ? op.outShape : op.inShape;
  return tf.tidy(() => {
    const t = tf.tensor3d(Float32Array.from(x), [1, ny, nx]);
    return (adjoint ? op.adjoint(t) : op.apply(t)).dataSync().slice() as Float32Array;
  });
}

/** Zero-padded linear convolution by the definition: y[i,j] = Σ h[a,b] x[i−a+cy, j−b+cx], centre ⌊K/2⌋ unless given. */
export function refConvolve(
  x: ArrayLike<number>,
  ny: number,
  nx: number,
  h: ArrayLike<number>,
  ky: number,
  kx: number,
  center: [number, number] = [Math.floor(ky / 2), Math.floor(kx / 2)],
): Float64Array {
  const [cy, cx] = center;
  const y = new Float64Array(ny * nx);
  for (let i = 0; i < ny; i++)
    for (let j = 0; j < nx; j++) {
      let s = 0;
      for (let a = 0; a < ky; a++) {
        const si = i - a + cy;
        if (si < 0 || si >= ny) continue;
        for (let b = 0; b < kx; b++) {
          const sj = j - b + cx;
          if (sj < 0 || sj >= nx) continue;
          s += h[a * kx + b] * x[si * nx + sj];
        }
      }
      y[i * nx + j] = s;
    }
  return y;
}

/** Adjoint of refConvolve by the definition (correlation). */
export function refConvolveAdjoint(
  y: ArrayLike<number>,
  ny: number,
  nx: number,
  h: ArrayLike<number>,
  ky: number,
  kx: number,
): Float64Array {
  const cy = Math.floor(ky / 2);
  const cx = Math.floor(kx / 2);
  const x = new Float64Array(ny * nx);
  for (let i = 0; i < ny; i++)
    for (let j = 0; j < nx; j++)
      for (let a = 0; a < ky; a++) {
        const si = i - a + cy;
        if (si < 0 || si >= ny) continue;
        for (let b = 0; b < kx; b++) {
          const sj = j - b + cx;
          if (sj < 0 || sj >= nx) continue;
          x[si * nx + sj] += h[a * kx + b] * y[i * nx + j];
        }
      }
  return x;
}

/** Gaussian PSF by definition: σ = F/2.3548, (2⌈4σ⌉+1)² grid, unit sum. */
export function refGaussian(fwhm: number): { h: Float64Array; k: number } {
  const s = fwhm / 2.3548;
  const r = Math.ceil(4 * s);
  const k = 2 * r + 1;
  const h = new Float64Array(k * k);
  let t = 0;
  for (let i = 0; i < k; i++)
    for (let j = 0; j < k; j++) {
      h[i * k + j] = Math.exp(-((i - r) ** 2 + (j - r) ** 2) / (2 * s * s));
      t += h[i * k + j];
    }
  for (let i = 0; i < k * k; i++) h[i] /= t;
  return { h, k };
}

export interface RefLens {
  thetaE: number;
  q: number;
  phi: number;
  x0: number;
  y0: number;
  gamma1: number;
  gamma2: number;
}

/** SIE + shear deflection by the formulas of docs/forward-models.md (SIS for q = 1). */
export function refDeflection(L: RefLens, x: number, y: number): [number, number] {
  const c = Math.cos(L.phi);
  const s = Math.sin(L.phi);
  const dx = x - L.x0;
  const dy = y - L.y0;
  const xp = c * dx + s * dy;
  const yp = -s * dx + c * dy;
  let axp: number;
  let ayp: number;
  if (L.q === 1) {
    const r = Math.hypot(xp, yp);
    axp = r > 0 ? (L.thetaE * xp) / r : 0;
    ayp = r > 0 ? (L.thetaE * yp) / r : 0;
  } else {
    const w = Math.sqrt(L.q * L.q * xp * xp + yp * yp);
    const f = Math.sqrt(1 - L.q * L.q);
    const pre = (L.thetaE * Math.sqrt(L.q)) / f;
    axp = w > 0 ? pre * Math.atan((f * xp) / w) : 0;
    ayp = w > 0 ? pre * Math.atanh((f * yp) / w) : 0;
  }
  let ax = c * axp - s * ayp;
  let ay = s * axp + c * ayp;
  ax += L.gamma1 * dx + L.gamma2 * dy;
  ay += L.gamma2 * dx - L.gamma1 * dy;
  return [ax, ay];
}

/** Lensed image by definition: supersampled ray shooting, bilinear source sampling with zero outside. */
export function refLens(
  L: RefLens,
  src: ArrayLike<number>,
  sny: number,
  snx: number,
  ss: number,
  my: number,
  mx: number,
  imgScale: number,
  srcScale: number,
): Float64Array {
  const out = new Float64Array(my * mx);
  const at = (i: number, j: number): number => (i < 0 || j < 0 || i >= sny || j >= snx ? 0 : src[i * snx + j]);
  for (let i = 0; i < my; i++)
    for (let j = 0; j < mx; j++) {
      let acc = 0;
      for (let a = 0; a < ss; a++)
        for (let b = 0; b < ss; b++) {
          const x = (j - (mx - 1) / 2 + (b + 0.5) / ss - 0.5) * imgScale;
          const y = (i - (my - 1) / 2 + (a + 0.5) / ss - 0.5) * imgScale;
          const [ax, ay] = refDeflection(L, x, y);
          const fx = (x - ax) / srcScale + (snx - 1) / 2;
          const fy = (y - ay) / srcScale + (sny - 1) / 2;
          const j0 = Math.floor(fx);
          const i0 = Math.floor(fy);
          const tx = fx - j0;
          const ty = fy - i0;
          acc +=
            (1 - ty) * (1 - tx) * at(i0, j0) + (1 - ty) * tx * at(i0, j0 + 1) + ty * (1 - tx) * at(i0 + 1, j0) + ty * tx * at(i0 + 1, j0 + 1);
        }
      out[i * mx + j] = acc / (ss * ss);
    }
  return out;
}

export interface RefUv {
  stations: [number, number, number][];
  decDeg: number;
  h0: number;
  h1: number;
  stepMin: number;
  lambda: number;
  pixArcsec: number;
}

/**
 * Dirty image by definition, with a direct (slow) DFT: grid the uv points (nearest cell, |k| ≥ N/2 dropped,
 * counts), normalise so the beam peaks at 1, then y = Re F⁻¹ W F x summed explicitly.
 */
export function refUvWeights(U: RefUv, ny: number, nx: number): Float64Array {
  const W = new Float64Array(ny * nx);
  const d = (U.decDeg * Math.PI) / 180;
  const dx = ((U.pixArcsec / 3600) * Math.PI) / 180;
  const nsteps = Math.floor((U.h1 - U.h0) / (U.stepMin / 60) + 1e-9);
  const round = (v: number): number => Math.sign(v) * Math.floor(Math.abs(v) + 0.5);
  // local hour angles on the meridian of the stations' centroid: against Greenwich (ECEF's X axis), H − λ
  let cx = 0;
  let cy = 0;
  for (const st of U.stations) {
    cx += st[0];
    cy += st[1];
  }
  const lon = Math.atan2(cy, cx);
  for (let a = 0; a < U.stations.length; a++)
    for (let b = a + 1; b < U.stations.length; b++) {
      const L = [0, 1, 2].map((k) => U.stations[b][k] - U.stations[a][k]);
      for (let t = 0; t <= nsteps; t++) {
        const H = ((U.h0 + (t * U.stepMin) / 60) * 15 * Math.PI) / 180 - lon;
        const u = (Math.sin(H) * L[0] + Math.cos(H) * L[1]) / U.lambda;
        const v = (-Math.sin(d) * Math.cos(H) * L[0] + Math.sin(d) * Math.sin(H) * L[1] + Math.cos(d) * L[2]) / U.lambda;
        for (const sgn of [1, -1]) {
          const ku = round(sgn * u * nx * dx);
          const kv = round(sgn * v * ny * dx);
          if (Math.abs(ku) >= nx / 2 || Math.abs(kv) >= ny / 2) continue;
          W[(((kv % ny) + ny) % ny) * nx + (((ku % nx) + nx) % nx)] += 1;
        }
      }
    }
  let tot = 0;
  for (const w of W) tot += w;
  for (let i = 0; i < W.length; i++) W[i] *= (ny * nx) / tot;
  return W;
}

/** y = Re F⁻¹ W F x by explicit DFT sums (float64), separable: along x, then y, and back. */
export function refFourierFilter(x: ArrayLike<number>, ny: number, nx: number, W: ArrayLike<number>): Float64Array {
  const ar = new Float64Array(ny * nx);
  const ai = new Float64Array(ny * nx);
  // forward along x: A[i, k] = Σ_j x[i, j] e^{-2πi kj/nx}
  for (let i = 0; i < ny; i++)
    for (let k = 0; k < nx; k++) {
      let sr = 0;
      let si = 0;
      for (let j = 0; j < nx; j++) {
        const ang = (-2 * Math.PI * ((k * j) % nx)) / nx;
        sr += x[i * nx + j] * Math.cos(ang);
        si += x[i * nx + j] * Math.sin(ang);
      }
      ar[i * nx + k] = sr;
      ai[i * nx + k] = si;
    }
  // forward along y, times W: B[l, k] = W[l, k] Σ_i A[i, k] e^{-2πi li/ny}
  const br = new Float64Array(ny * nx);
  const bi = new Float64Array(ny * nx);
  for (let l = 0; l < ny; l++)
    for (let k = 0; k < nx; k++) {
      let sr = 0;
      let si = 0;
      for (let i = 0; i < ny; i++) {
        const ang = (-2 * Math.PI * ((l * i) % ny)) / ny;
        const c = Math.cos(ang);
        const s = Math.sin(ang);
        sr += ar[i * nx + k] * c - ai[i * nx + k] * s;
        si += ar[i * nx + k] * s + ai[i * nx + k] * c;
      }
      br[l * nx + k] = sr * W[l * nx + k];
      bi[l * nx + k] = si * W[l * nx + k];
    }
  // inverse along y
  const cr = new Float64Array(ny * nx);
  const ci = new Float64Array(ny * nx);
  for (let i = 0; i < ny; i++)
    for (let k = 0; k < nx; k++) {
      let sr = 0;
      let si = 0;
      for (let l = 0; l < ny; l++) {
        const ang = (2 * Math.PI * ((l * i) % ny)) / ny;
        const c = Math.cos(ang);
        const s = Math.sin(ang);
        sr += br[l * nx + k] * c - bi[l * nx + k] * s;
        si += br[l * nx + k] * s + bi[l * nx + k] * c;
      }
      cr[i * nx + k] = sr / ny;
      ci[i * nx + k] = si / ny;
    }
  // inverse along x, real part
  const y = new Float64Array(ny * nx);
  for (let i = 0; i < ny; i++)
    for (let j = 0; j < nx; j++) {
      let s = 0;
      for (let k = 0; k < nx; k++) {
        const ang = (2 * Math.PI * ((k * j) % nx)) / nx;
        s += cr[i * nx + k] * Math.cos(ang) - ci[i * nx + k] * Math.sin(ang);
      }
      y[i * nx + j] = s / nx;
    }
  return y;
}
