/**
 * Training data for a learned noise prior (`skyscore train --kind noise`): square patches cut at random positions
 * from noise-only images or blank-sky cutouts, and the noise's own statistics (model.json's `noisePrior`).
 *
 * Stationary noise has the same density wherever a patch is cut, so patches at random positions are draws from it;
 * no flips or rotations are applied (the trainer's augmentation is off for noise: a flip turns a correlation along a
 * diagonal into the other diagonal's, a rotation swaps the x and y correlations). Train and validation patches come
 * from disjoint pixels: with one image the last `valFraction` of its rows are for validation only; with several,
 * whole images are held out. The normalisation is x_model = (n − mean)/std of the training pixels, so the network
 * sees unit-variance noise whatever the data's units.
 */
import { Rng } from '../nn/rng.js';
import { TrainDataInputError, type ImageStack } from './data.js';
import type { FitsImages, PreparedData } from './fits-data.js';

export interface NoisePatchOptions {
  /** Patch side (pixels); default 16. */
  patch: number;
  /** Training patches to cut (validation: a quarter as many). */
  patches: number;
  valFraction: number;
  seed: number;
  /** Given normalisation (data units), else the training pixels' mean and standard deviation. */
  scale: number | null;
  offset: number | null;
}

/** The noise's statistics, data units (model.json `noisePrior`). */
export interface NoiseStatistics {
  /** Finite training pixels they are measured on. */
  pixels: number;
  mean: number;
  /** Standard deviation (N − 1). */
  std: number;
  /** 1.4826 × the median absolute deviation from the median: the σ of the Gaussian core. */
  madSigma: number;
  /** Excess kurtosis (0 for Gaussian noise). */
  excessKurtosis: number;
  /** Neighbour correlation along x and y. */
  lag1: { x: number; y: number };
}

export interface PreparedNoise extends PreparedData {
  statistics: NoiseStatistics;
}

interface Region {
  img: Float32Array;
  ny: number;
  nx: number;
  y0: number;
  y1: number;
}

function median(v: Float64Array): number {
  const s = v.slice().sort();
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Statistics of the finite pixels of the regions (float64). */
export function noiseStatistics(regions: ReadonlyArray<{ img: ArrayLike<number>; ny: number; nx: number; y0?: number; y1?: number }>): NoiseStatistics {
  const vals: number[] = [];
  let sx = 0;
  let nxp = 0;
  let sy = 0;
  let nyp = 0;
  for (const r of regions) {
    for (let i = r.y0 ?? 0; i < (r.y1 ?? r.ny); i++) for (let j = 0; j < r.nx; j++) if (Number.isFinite(r.img[i * r.nx + j])) vals.push(r.img[i * r.nx + j]);
  }
  const n = vals.length;
  if (n < 64) throw new TrainDataInputError(`the noise has ${n} finite pixels: too few to learn its density (at least 64, many thousands in practice)`);
  let mean = 0;
  for (const v of vals) mean += v;
  mean /= n;
  let m2 = 0;
  let m4 = 0;
  for (const v of vals) {
    const d = (v - mean) ** 2;
    m2 += d;
    m4 += d * d;
  }
  const varPop = m2 / n;
  if (!(varPop > 0)) throw new TrainDataInputError('the noise is constant: nothing to learn');
  const arr = Float64Array.from(vals);
  const med = median(arr);
  const mad = median(arr.map((v) => Math.abs(v - med)));
  for (const r of regions) {
    for (let i = r.y0 ?? 0; i < (r.y1 ?? r.ny); i++) {
      for (let j = 0; j < r.nx; j++) {
        const a = r.img[i * r.nx + j] - mean;
        if (!Number.isFinite(a)) continue;
        if (j + 1 < r.nx && Number.isFinite(r.img[i * r.nx + j + 1])) {
          sx += a * (r.img[i * r.nx + j + 1] - mean);
          nxp++;
        }
        if (i + 1 < (r.y1 ?? r.ny) && Number.isFinite(r.img[(i + 1) * r.nx + j])) {
          sy += a * (r.img[(i + 1) * r.nx + j] - mean);
          nyp++;
        }
      }
    }
  }
  return {
    pixels: n,
    mean,
    std: Math.sqrt(m2 / (n - 1)),
    madSigma: 1.4826 * mad,
    excessKurtosis: m4 / n / (varPop * varPop) - 3,
    lag1: { x: nxp ? sx / nxp / varPop : 0, y: nyp ? sy / nyp / varPop : 0 },
  };
}

function cut(regions: Region[], count: number, p: number, rng: Rng, what: string): ImageStack {
  const usable = regions.filter((r) => r.y1 - r.y0 >= p && r.nx >= p);
  const out = new Float32Array(count * p * p);
  if (!usable.length || count === 0) return { data: out.subarray(0, 0), n: 0, ny: p, nx: p };
  // positions weighted by the number of places a patch fits in each region
  const places = usable.map((r) => (r.y1 - r.y0 - p + 1) * (r.nx - p + 1));
  const total = places.reduce((a, b) => a + b, 0);
  let got = 0;
  let tries = 0;
  while (got < count) {
    if (++tries > count * 50) {
      throw new TrainDataInputError(`${what}: could not cut ${count} patches of ${p}×${p} without NaN or infinite pixels (${got} found); mask fewer pixels or use a smaller --patch`);
    }
    let k = rng.int(total);
    let ri = 0;
    while (k >= places[ri]) k -= places[ri++];
    const r = usable[ri];
    const w = r.nx - p + 1;
    const y = r.y0 + Math.floor(k / w);
    const x = k % w;
    const base = got * p * p;
    let ok = true;
    for (let i = 0; i < p && ok; i++) {
      for (let j = 0; j < p; j++) {
        const v = r.img[(y + i) * r.nx + x + j];
        if (!Number.isFinite(v)) {
          ok = false;
          break;
        }
        out[base + i * p + j] = v;
      }
    }
    if (ok) got++;
  }
  return { data: out, n: count, ny: p, nx: p };
}

/** Patches of the noise images (every plane of a cube is one image), normalised, with the noise's statistics. */
export function prepareNoisePatches(parts: FitsImages[], o: NoisePatchOptions): PreparedNoise {
  if (!parts.length) throw new TrainDataInputError('no noise images given');
  const p = o.patch;
  if (!Number.isInteger(p) || p < 4) throw new TrainDataInputError(`the patch side must be an integer ≥ 4, got ${p}`);
  if (!Number.isInteger(o.patches) || o.patches < 1) throw new TrainDataInputError(`the number of patches must be a positive integer, got ${o.patches}`);
  const images: Array<{ img: Float32Array; ny: number; nx: number; name: string }> = [];
  for (const part of parts) {
    const s = part.stack;
    for (let k = 0; k < s.n; k++) images.push({ img: s.data.subarray(k * s.ny * s.nx, (k + 1) * s.ny * s.nx), ny: s.ny, nx: s.nx, name: part.name });
  }
  const small = images.filter((im) => im.ny < p || im.nx < p);
  if (small.length === images.length) {
    throw new TrainDataInputError(`every noise image is smaller than the ${p}×${p} patch (${images[0].nx}×${images[0].ny}, NAXIS1×NAXIS2): give larger cutouts or a smaller --patch`);
  }
  const warnings: string[] = [];
  if (small.length) warnings.push(`${small.length} noise image${small.length > 1 ? 's are' : ' is'} smaller than the ${p}×${p} patch and left out`);
  const big = images.filter((im) => im.ny >= p && im.nx >= p);
  const train: Region[] = [];
  const val: Region[] = [];
  if (big.length === 1 || o.valFraction === 0) {
    // rows: the first (1 − f) for training, the rest for validation when at least one patch fits there
    for (const im of big) {
      const cutRow = Math.round(im.ny * (1 - o.valFraction));
      if (o.valFraction > 0 && im.ny - cutRow >= p && cutRow >= p) {
        train.push({ ...im, y0: 0, y1: cutRow });
        val.push({ ...im, y0: cutRow, y1: im.ny });
      } else train.push({ ...im, y0: 0, y1: im.ny });
    }
  } else {
    const nv = Math.max(1, Math.round(o.valFraction * big.length));
    big.forEach((im, i) => (i >= big.length - nv ? val : train).push({ ...im, y0: 0, y1: im.ny }));
  }
  const stats = noiseStatistics(train);
  const offset = o.offset ?? stats.mean;
  const scale = o.scale ?? stats.std;
  if (!(scale > 0) || !Number.isFinite(scale) || !Number.isFinite(offset)) throw new TrainDataInputError(`the noise normalisation needs a positive scale and a finite offset, got ${scale}, ${offset}`);
  const rng = new Rng(o.seed ^ 0x2015e);
  const trainStack = cut(train, o.patches, p, rng, 'training noise');
  const valStack = val.length ? cut(val, Math.max(1, Math.round(o.patches / 4)), p, rng, 'validation noise') : null;
  for (const st of [trainStack, valStack]) {
    if (!st) continue;
    for (let i = 0; i < st.data.length; i++) st.data[i] = (st.data[i] - offset) / scale;
  }
  const rows = big.length === 1 || o.valFraction === 0;
  return {
    train: trainStack,
    val: valStack && valStack.n ? valStack : null,
    normalisation: {
      offset,
      scale,
      automatic: o.scale === null,
      rule: o.scale === null ? 'the training noise pixels’ mean and standard deviation (unit-variance noise)' : 'given',
    },
    warnings,
    statistics: stats,
    provenance: {
      source: parts.length === 1 ? parts[0].name : `${parts.length} files`,
      files: parts.map((f) => f.name),
      train: trainStack.n,
      validation: valStack?.n ?? 0,
      split: val.length ? (rows ? `the last ${Math.round(o.valFraction * 100)} % of the rows held out` : `the last ${val.length} image${val.length > 1 ? 's' : ''} held out`) : null,
      originalShape: [big[0].ny, big[0].nx],
      resampled: null,
      skippedNonFinite: 0,
      ignoredLabels: {},
    },
  };
}
