import type { Tensor3D } from '@tensorflow/tfjs-core';
import { BaseOperator } from './base.js';
import { FourierFilter } from './fourier.js';
import { fft2d, fftshift2 } from './fft.js';
import { ForwardModelInputError } from './errors.js';
import type { GramDescription, OperatorStructure, Shape2 } from './types.js';

/** Stations of an interferometer: names and ECEF positions (metres). */
export interface StationTable {
  names: string[];
  /** [n, 3] row-major X, Y, Z. */
  xyz: Float64Array;
}

/**
 * Parses a station table: one station a line, `NAME X Y Z` (ECEF metres) and optional further columns;
 * lines starting with `#` and blank lines are skipped.
 */
export function parseStationTable(text: string, source = 'station table'): StationTable {
  const names: string[] = [];
  const xyz: number[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const tok = line.split(/\s+/);
    const nums = tok.slice(1, 4).map(Number);
    if (tok.length < 4 || nums.some((v) => !Number.isFinite(v))) {
      throw new ForwardModelInputError(`${source} line ${i + 1}: expected 'NAME X Y Z' (metres), got '${line.slice(0, 60)}'`);
    }
    names.push(tok[0]);
    xyz.push(...nums);
  });
  if (names.length < 2) throw new ForwardModelInputError(`${source}: needs at least two stations, found ${names.length}`);
  return { names, xyz: Float64Array.from(xyz) };
}

export interface UvSpec {
  declinationDeg: number;
  /**
   * [h0, h1] local hour angles in hours (on the array's meridian: arrayLongitude), both ends included when
   * (h1 − h0) is a whole number of steps.
   */
  hourAngleH: [number, number];
  stepMin: number;
  wavelengthM: number;
}

/** How many hour angles hourAngles(spec) gives, without making them (a tiny stepMin must not allocate first). */
export function hourAngleCount(spec: Pick<UvSpec, 'hourAngleH' | 'stepMin'>): number {
  const [h0, h1] = spec.hourAngleH;
  return Math.floor((h1 - h0) / (spec.stepMin / 60) + 1e-9) + 1;
}

/** Hour angles h0, h0 + step, … ≤ h1 (hours). */
export function hourAngles(spec: UvSpec): number[] {
  const [h0, h1] = spec.hourAngleH;
  const step = spec.stepMin / 60;
  const n = Math.floor((h1 - h0) / step + 1e-9);
  const out: number[] = [];
  for (let t = 0; t <= n; t++) out.push(h0 + t * step);
  return out;
}

/**
 * The array's reference longitude λ (radians, east positive): that of the stations' centroid in ECEF,
 * atan2(mean Y, mean X). The hour angles of a uv-sampling stage are local hour angles on this meridian.
 */
export function arrayLongitude(st: StationTable): number {
  let x = 0;
  let y = 0;
  for (let i = 0; i < st.names.length; i++) {
    x += st.xyz[3 * i];
    y += st.xyz[3 * i + 1];
  }
  return Math.atan2(y, x);
}

/**
 * uv coverage in wavelengths (Earth-rotation synthesis): every pair a < b of stations, ECEF baseline
 * L = X_b − X_a, at each local hour angle H of the source (hours × 15°, on the array's meridian λ,
 * arrayLongitude). ECEF's X axis lies on the Greenwich meridian, so the source's hour angle against it is
 * H_G = H − λ (H = LST − α, LST = GMST + λ), and
 *   u = (sin H_G·Lx + cos H_G·Ly)/λ_obs,  v = (−sin δ cos H_G·Lx + sin δ sin H_G·Ly + cos δ·Lz)/λ_obs
 * (docs/forward-models.md derives it); both (u, v) and (−u, −v), interleaved.
 */
export function uvCoverage(st: StationTable, spec: UvSpec): { u: Float64Array; v: Float64Array; baselines: number; times: number; longitude: number } {
  const hs = hourAngles(spec);
  const n = st.names.length;
  const nb = (n * (n - 1)) / 2;
  const u = new Float64Array(2 * nb * hs.length);
  const v = new Float64Array(2 * nb * hs.length);
  const d = (spec.declinationDeg * Math.PI) / 180;
  const sd = Math.sin(d);
  const cd = Math.cos(d);
  const lam = spec.wavelengthM;
  const longitude = arrayLongitude(st);
  const sinH = hs.map((hh) => Math.sin((hh * 15 * Math.PI) / 180 - longitude));
  const cosH = hs.map((hh) => Math.cos((hh * 15 * Math.PI) / 180 - longitude));
  let k = 0;
  for (let a = 0; a < n; a++) {
    for (let b = a + 1; b < n; b++) {
      const lx = st.xyz[3 * b] - st.xyz[3 * a];
      const ly = st.xyz[3 * b + 1] - st.xyz[3 * a + 1];
      const lz = st.xyz[3 * b + 2] - st.xyz[3 * a + 2];
      for (let t = 0; t < hs.length; t++) {
        const sh = sinH[t];
        const ch = cosH[t];
        const uu = (sh * lx + ch * ly) / lam;
        const vv = (-sd * ch * lx + sd * sh * ly + cd * lz) / lam;
        u[k] = uu;
        v[k] = vv;
        u[k + 1] = -uu;
        v[k + 1] = -vv;
        k += 2;
      }
    }
  }
  return { u, v, baselines: nb, times: hs.length, longitude };
}

export const ARCSEC = Math.PI / 180 / 3600;

/** Round half away from zero: symmetric, so (u, v) and (−u, −v) land in mirrored cells. */
function roundSym(x: number): number {
  return x < 0 ? -Math.floor(-x + 0.5) : Math.floor(x + 0.5);
}

export interface UvGrid {
  /** Natural weights on the [ny, nx] FFT grid (numpy fft2 layout), scaled so that the dirty beam peaks at 1. */
  weights: Float64Array;
  /** Raw counts per cell (same layout). */
  counts: Float64Array;
  kept: number;
  dropped: number;
}

/**
 * Grids uv points on the image's FFT grid: cell 1/(N·Δ) rad⁻¹ per axis (u along x with nx, v along y with ny),
 * nearest cell k = round(u·N·Δ) (half away from zero), points with |k| ≥ N/2 on either axis dropped, cell k
 * stored at index k mod N; natural weights = counts, normalised so the dirty beam F⁻¹W peaks at 1
 * (W ← W·N/ΣW with N = ny·nx, numpy's inverse-FFT normalisation).
 */
export function gridUv(u: ArrayLike<number>, v: ArrayLike<number>, shape: Shape2, pixelScaleArcsec: number): UvGrid {
  const [ny, nx] = shape;
  const dl = pixelScaleArcsec * ARCSEC;
  const counts = new Float64Array(ny * nx);
  let kept = 0;
  for (let k = 0; k < u.length; k++) {
    const ku = roundSym(u[k] * nx * dl);
    const kv = roundSym(v[k] * ny * dl);
    if (Math.abs(ku) >= nx / 2 || Math.abs(kv) >= ny / 2) continue;
    counts[(kv < 0 ? kv + ny : kv) * nx + (ku < 0 ? ku + nx : ku)] += 1;
    kept++;
  }
  const weights = new Float64Array(ny * nx);
  if (kept > 0) {
    const scale = (ny * nx) / kept;
    for (let i = 0; i < weights.length; i++) weights[i] = counts[i] * scale;
  }
  return { weights, counts, kept, dropped: u.length - kept };
}

/** The dirty beam F⁻¹ W, shifted so that its peak (value 1) is at pixel (⌊ny/2⌋, ⌊nx/2⌋) — the PSF centre convention. */
export function dirtyBeam(weights: Float64Array, shape: Shape2): Float32Array {
  const [ny, nx] = shape;
  const re = Float64Array.from(weights);
  const im = new Float64Array(ny * nx);
  fft2d(re, im, ny, nx, true);
  return Float32Array.from(fftshift2(re, ny, nx));
}

/**
 * Interferometric sampling: the dirty image A x = F⁻¹ W F x on the input grid (output shape = input shape).
 * W is real and symmetric (W(k) = W(−k)), so A is real and symmetric: Aᵀ = A and A Aᵀ = F⁻¹ W² F, exactly.
 */
export class UvSamplingOperator extends BaseOperator {
  readonly name = 'uv-sampling';
  override readonly structure: OperatorStructure = { kind: 'fourier-diagonal', exact: true };
  readonly weights: Float64Array;
  private readonly filter: FourierFilter;

  constructor(shape: Shape2, weights: Float64Array) {
    super(shape, shape);
    const [ny, nx] = shape;
    if (weights.length !== ny * nx) throw new RangeError('UvSamplingOperator: weights size does not match the shape');
    this.weights = weights;
    const kh = Math.floor(nx / 2) + 1;
    const h = new Float64Array(ny * kh);
    for (let l = 0; l < ny; l++) for (let k = 0; k < kh; k++) h[l * kh + k] = weights[l * nx + k];
    this.filter = new FourierFilter({ inShape: shape, outShape: shape, padShape: shape, hRe: h });
  }

  protected forward(x: Tensor3D): Tensor3D {
    return this.filter.apply(x);
  }

  protected backward(y: Tensor3D): Tensor3D {
    return this.filter.adjoint(y);
  }

  gram(): GramDescription {
    return { kind: 'fourier-diagonal', diag: Float32Array.from(this.weights, (w) => w * w), exact: true };
  }

  /** diag(F⁻¹ W² F) is constant: ΣW²/N. */
  override gramDiagonal(): Float32Array {
    let s = 0;
    for (const w of this.weights) s += w * w;
    return new Float32Array(this.weights.length).fill(s / this.weights.length);
  }

  /** The dirty beam image (peak 1 at the centre pixel). */
  dirtyBeam(): Float32Array {
    return dirtyBeam(this.weights, this.outShape);
  }

  protected release(): void {
    this.filter.dispose();
  }
}
