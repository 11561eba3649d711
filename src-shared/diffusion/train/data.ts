/**
 * Training data in memory: a stack of ny×nx images (row-major, x fastest) in prior units, resampling by area
 * averaging, the dihedral augmentations (flips, 90° rotations), σmax from the data, and batch assembly.
 */
import type { Rng } from '../nn/rng.js';
import { UserInputError } from '../../errors.js';

export class TrainDataInputError extends UserInputError {
  override name = 'TrainDataInputError';
}

export interface ImageStack {
  /** n images of ny×nx, image after image. */
  data: Float32Array;
  n: number;
  ny: number;
  nx: number;
}

export function imageAt(s: ImageStack, i: number): Float32Array {
  const p = s.ny * s.nx;
  return s.data.subarray(i * p, (i + 1) * p);
}

/** Keeps the images with indices `idx` (a copy). */
export function subset(s: ImageStack, idx: ArrayLike<number>): ImageStack {
  const p = s.ny * s.nx;
  const out = new Float32Array(idx.length * p);
  for (let k = 0; k < idx.length; k++) out.set(s.data.subarray(idx[k] * p, (idx[k] + 1) * p), k * p);
  return { data: out, n: idx.length, ny: s.ny, nx: s.nx };
}

/** Indices of images that contain a NaN or infinite pixel. */
export function nonFiniteImages(s: ImageStack): number[] {
  const p = s.ny * s.nx;
  const bad: number[] = [];
  for (let i = 0; i < s.n; i++) {
    for (let j = i * p; j < (i + 1) * p; j++) {
      if (!Number.isFinite(s.data[j])) {
        bad.push(i);
        break;
      }
    }
  }
  return bad;
}

/**
 * Resamples every image to ty×tx by exact area averaging (block averaging when the sizes divide evenly):
 * each output pixel is the mean of the input over its footprint, partial pixels weighted by overlap.
 */
export function resampleArea(s: ImageStack, ty: number, tx: number): ImageStack {
  if (!Number.isInteger(ty) || !Number.isInteger(tx) || ty < 1 || tx < 1) throw new TrainDataInputError(`resample: bad target size ${ty}×${tx}`);
  if (ty === s.ny && tx === s.nx) return s;
  if (ty > s.ny || tx > s.nx) throw new TrainDataInputError(`--size ${Math.max(ty, tx)}: the images are ${s.ny}×${s.nx}; resampling only shrinks (area averaging)`);
  const wy = weights1d(s.ny, ty);
  const wx = weights1d(s.nx, tx);
  const out = new Float32Array(s.n * ty * tx);
  const tmp = new Float64Array(ty * s.nx);
  for (let i = 0; i < s.n; i++) {
    const img = imageAt(s, i);
    tmp.fill(0);
    for (const [o, src, w] of wy) for (let x = 0; x < s.nx; x++) tmp[o * s.nx + x] += w * img[src * s.nx + x];
    const base = i * ty * tx;
    for (let y = 0; y < ty; y++) for (const [o, src, w] of wx) out[base + y * tx + o] += w * tmp[y * s.nx + src];
  }
  return { data: out, n: s.n, ny: ty, nx: tx };
}

/** (output index, input index, weight) triples of 1-D area averaging from n to m cells. */
function weights1d(n: number, m: number): Array<[number, number, number]> {
  const out: Array<[number, number, number]> = [];
  const scale = n / m;
  for (let o = 0; o < m; o++) {
    const a = o * scale;
    const b = (o + 1) * scale;
    for (let i = Math.floor(a); i < Math.min(n, Math.ceil(b)); i++) {
      const overlap = Math.min(b, i + 1) - Math.max(a, i);
      if (overlap > 1e-12) out.push([o, i, overlap / scale]);
    }
  }
  return out;
}

/** Number of distinct augmentations: 8 (dihedral group) for square images, 4 (flips) otherwise. */
export function augmentationCount(ny: number, nx: number): number {
  return ny === nx ? 8 : 4;
}

/**
 * Writes image `src` (ny×nx) transformed by dihedral element `k` into `dst`.
 * k bit 0: flip x; bit 1: flip y; bit 2: transpose (square images only) — together the 8 flips/rotations.
 */
export function augmentInto(src: Float32Array, ny: number, nx: number, k: number, dst: Float32Array, dstOffset = 0): void {
  const fx = (k & 1) !== 0;
  const fy = (k & 2) !== 0;
  const tr = (k & 4) !== 0;
  if (tr && ny !== nx) throw new Error('augment: transpose needs a square image');
  for (let y = 0; y < ny; y++) {
    for (let x = 0; x < nx; x++) {
      let sy = fy ? ny - 1 - y : y;
      let sx = fx ? nx - 1 - x : x;
      if (tr) {
        const t = sy;
        sy = sx;
        sx = t;
      }
      dst[dstOffset + y * nx + x] = src[sy * nx + sx];
    }
  }
}

/**
 * The largest Euclidean distance between two of (at most `maxImages`, chosen at random) images — the rule of
 * thumb for σmax of a VE SDE (Song & Ermon 2020).
 */
export function largestPairwiseDistance(s: ImageStack, rng: Rng, maxImages = 1000): number {
  const idx = s.n <= maxImages ? Array.from({ length: s.n }, (_, i) => i) : Array.from(rng.permutation(s.n).subarray(0, maxImages));
  const p = s.ny * s.nx;
  const norms = idx.map((i) => {
    let q = 0;
    for (let j = i * p; j < (i + 1) * p; j++) q += s.data[j] * s.data[j];
    return q;
  });
  let best = 0;
  for (let a = 0; a < idx.length; a++) {
    const ia = idx[a] * p;
    for (let b = a + 1; b < idx.length; b++) {
      const ib = idx[b] * p;
      let dot = 0;
      for (let j = 0; j < p; j++) dot += s.data[ia + j] * s.data[ib + j];
      const d2 = norms[a] + norms[b] - 2 * dot;
      if (d2 > best) best = d2;
    }
  }
  return Math.sqrt(Math.max(best, 0));
}

/** One training batch: clean images, the unit Gaussian noise and the noise levels (all in prior units). */
export interface Batch {
  n: number;
  ny: number;
  nx: number;
  x: Float32Array;
  noise: Float32Array;
  sigma: Float32Array;
}

/** σ log-uniform in [σmin, σmax]. */
export function sampleSigma(rng: Rng, sigmaMin: number, sigmaMax: number): number {
  return sigmaMin * (sigmaMax / sigmaMin) ** rng.uniform();
}

/**
 * A training segment's emphasis on part of the noise range: with probability p, σ log-uniform in [lo, hi] (within
 * [σmin, σmax]), otherwise over the whole range. Every σ keeps its own minimiser (the conditional expectation the
 * network learns does not depend on how often σ is drawn), so this moves capacity and optimiser steps, not the target.
 */
export interface SigmaFocus {
  lo: number;
  hi: number;
  p: number;
}

/** The share of draws that land in [lo, hi] under a focus (for reports): p plus the full range's share of it. */
export function focusShare(f: SigmaFocus, sigmaMin: number, sigmaMax: number): number {
  const lo = Math.max(f.lo, sigmaMin);
  const hi = Math.min(f.hi, sigmaMax);
  return f.p + (1 - f.p) * Math.log(hi / lo) / Math.log(sigmaMax / sigmaMin);
}

/** One σ under an optional focus; without one, exactly sampleSigma (the same draws from the generator). */
export function sampleSigmaFocused(rng: Rng, sigmaMin: number, sigmaMax: number, focus: SigmaFocus | null): number {
  if (focus === null) return sampleSigma(rng, sigmaMin, sigmaMax);
  if (rng.uniform() < focus.p) return sampleSigma(rng, Math.max(focus.lo, sigmaMin), Math.min(focus.hi, sigmaMax));
  return sampleSigma(rng, sigmaMin, sigmaMax);
}

/**
 * Draws batches: epoch-wise random permutations of the images (state: the permutation and the position in it),
 * a random dihedral augmentation per image, unit noise and a log-uniform σ per image (or one under a SigmaFocus).
 */
export class BatchSampler {
  private perm: Int32Array;
  private pos: number;

  constructor(
    private readonly images: ImageStack,
    private readonly rng: Rng,
    private readonly sigmaMin: number,
    private readonly sigmaMax: number,
    private readonly augment: boolean,
    state?: { perm: number[]; pos: number },
    private readonly focus: SigmaFocus | null = null,
  ) {
    if (images.n < 1) throw new TrainDataInputError('no training images');
    if (state) {
      if (state.perm.length !== images.n) throw new TrainDataInputError(`checkpoint was made with ${state.perm.length} training images, the data now has ${images.n}`);
      this.perm = Int32Array.from(state.perm);
      this.pos = state.pos;
    } else {
      this.perm = rng.permutation(images.n);
      this.pos = 0;
    }
  }

  state(): { perm: number[]; pos: number } {
    return { perm: Array.from(this.perm), pos: this.pos };
  }

  next(n: number): Batch {
    const { ny, nx } = this.images;
    const p = ny * nx;
    const x = new Float32Array(n * p);
    const naug = augmentationCount(ny, nx);
    for (let b = 0; b < n; b++) {
      if (this.pos >= this.perm.length) {
        this.perm = this.rng.permutation(this.images.n);
        this.pos = 0;
      }
      const i = this.perm[this.pos++];
      const k = this.augment ? this.rng.int(naug) : 0;
      augmentInto(imageAt(this.images, i), ny, nx, k, x, b * p);
    }
    const noise = this.rng.fillNormal(new Float32Array(n * p));
    const sigma = new Float32Array(n);
    for (let b = 0; b < n; b++) sigma[b] = sampleSigmaFocused(this.rng, this.sigmaMin, this.sigmaMax, this.focus);
    return { n, ny, nx, x, noise, sigma };
  }
}

/** A fixed, reproducible evaluation batch set (same noise and σ every time) for validation losses. */
export function fixedBatches(images: ImageStack, seed: number, sigmaMin: number, sigmaMax: number, batch: number, rngFactory: (seed: number) => Rng): Batch[] {
  const rng = rngFactory(seed);
  const out: Batch[] = [];
  const p = images.ny * images.nx;
  for (let start = 0; start < images.n; start += batch) {
    const n = Math.min(batch, images.n - start);
    const x = images.data.slice(start * p, (start + n) * p);
    const noise = rng.fillNormal(new Float32Array(n * p));
    const sigma = new Float32Array(n);
    for (let b = 0; b < n; b++) sigma[b] = sampleSigma(rng, sigmaMin, sigmaMax);
    out.push({ n, ny: images.ny, nx: images.nx, x, noise, sigma });
  }
  return out;
}
