/**
 * Training images from FITS: a cube (NAXIS3 images) with an optional index table whose split column says which
 * images are for training and which for validation, or single images / cubes from several files. Then the
 * preparation shared by the CLI and the app: NaN/Inf images dropped (and said so), resampling to N×N by area
 * averaging, the train/validation split, and the linear normalisation x_prior = (x − offset)/scale.
 */
import { readFits } from '../../fits/index.js';
import { Rng } from '../nn/rng.js';
import { TrainDataInputError, nonFiniteImages, resampleArea, subset, type ImageStack } from './data.js';

export interface FitsImages {
  name: string;
  stack: ImageStack;
  /** The split label of every image (lower-case, trimmed), when the file has a split column. */
  labels: string[] | null;
  splitColumn: string | null;
  bitpix: number;
}

/**
 * Reads the first image HDU of a FITS file as a stack of 2-D images ([nx, ny] → 1 image, [nx, ny, nz] → nz images;
 * further axes of length 1 are accepted). `splitColumn`: a column of a table HDU with one row per image
 * (undefined: use a column named SPLIT if there is one; null: ignore any).
 */
export function imagesFromFits(bytes: Uint8Array, name: string, splitColumn?: string | null): FitsImages {
  const f = readFits(bytes, { name });
  const hdu = f.hdus.find((h) => h.hasImage);
  if (!hdu) throw new TrainDataInputError(`${name}: no image data in any HDU`);
  const s = hdu.shape;
  if (s.length < 2) throw new TrainDataInputError(`${name}: HDU ${hdu.index} has ${s.length} axis; training needs 2-D images or a cube`);
  if (s.slice(3).some((d) => d !== 1)) throw new TrainDataInputError(`${name}: image of shape [${s.join(', ')}] (FITS order): expected [nx, ny] or [nx, ny, n]`);
  const [nx, ny] = s;
  const n = s.length >= 3 ? s[2] : 1;
  const img = hdu.readImage();
  const data = img.data instanceof Float32Array ? img.data : Float32Array.from(img.data);
  const stack: ImageStack = { data, n, ny, nx };
  let labels: string[] | null = null;
  let col: string | null = null;
  if (splitColumn !== null) {
    const want = (splitColumn ?? 'SPLIT').toUpperCase();
    for (const t of f.hdus) {
      if (t.kind !== 'bintable' && t.kind !== 'table') continue;
      const table = t.readTable();
      const c = table.column(want);
      if (!c) continue;
      if (table.nrows !== n) throw new TrainDataInputError(`${name}: table ${t.name ?? `HDU ${t.index}`} has ${table.nrows} rows for ${n} images`);
      if (!Array.isArray(c.data) || typeof c.data[0] !== 'string') throw new TrainDataInputError(`${name}: column ${c.name} is not a text column`);
      labels = (c.data as string[]).map((v) => v.trim().toLowerCase());
      col = c.name;
      break;
    }
    if (!labels && splitColumn !== undefined) throw new TrainDataInputError(`${name}: no table column '${splitColumn}' to split the images by`);
  }
  return { name, stack, labels, splitColumn: col, bitpix: img.bitpix };
}

export interface PrepareOptions {
  /** Resample to size×size (area averaging); null keeps the images' size. */
  size: number | null;
  /** Divide by this (after subtracting offset); null: automatic (255 for 8-bit data, else the largest |x − offset|). */
  scale: number | null;
  offset: number;
  /** Fraction held out for validation when the data has no split column. */
  valFraction: number;
  seed: number;
}

export interface PreparedData {
  train: ImageStack;
  val: ImageStack | null;
  normalisation: { offset: number; scale: number; automatic: boolean; rule: string };
  provenance: {
    source: string;
    files: string[];
    train: number;
    validation: number;
    split: string | null;
    originalShape: [number, number];
    resampled: string | null;
    skippedNonFinite: number;
    ignoredLabels: Record<string, number>;
  };
  warnings: string[];
}

const TRAIN_LABELS = new Set(['train', 'training']);
const VAL_LABELS = new Set(['validation', 'val', 'valid']);

/** Combines the files' images into normalised train/validation stacks (prior units). */
export function prepareTrainingData(parts: FitsImages[], opts: PrepareOptions): PreparedData {
  if (parts.length === 0) throw new TrainDataInputError('no training data given');
  const warnings: string[] = [];
  const shape0: [number, number] = [parts[0].stack.ny, parts[0].stack.nx];
  if (opts.size !== null) {
    if (!Number.isInteger(opts.size) || opts.size < 4) throw new TrainDataInputError(`--size must be an integer ≥ 4, got ${opts.size}`);
  }
  const resized = parts.map((p) => {
    if (opts.size === null) {
      if (p.stack.ny !== shape0[0] || p.stack.nx !== shape0[1]) {
        throw new TrainDataInputError(`${p.name}: images are ${p.stack.ny}×${p.stack.nx}, ${parts[0].name} has ${shape0[0]}×${shape0[1]} (use --size N to resample all to N×N)`);
      }
      return p.stack;
    }
    try {
      return resampleArea(p.stack, opts.size, opts.size);
    } catch (e) {
      throw new TrainDataInputError(`${p.name}: ${(e as Error).message}`);
    }
  });
  // split
  const trainIdx: Array<[number, number]> = [];
  const valIdx: Array<[number, number]> = [];
  const ignored: Record<string, number> = {};
  const anyLabels = parts.some((p) => p.labels);
  let skipped = 0;
  parts.forEach((p, k) => {
    const bad = new Set(nonFiniteImages(p.stack));
    skipped += bad.size;
    if (bad.size) warnings.push(`${p.name}: ${bad.size} of ${p.stack.n} images contain NaN or infinite pixels and are left out`);
    for (let i = 0; i < p.stack.n; i++) {
      if (bad.has(i)) continue;
      if (p.labels) {
        const l = p.labels[i];
        if (TRAIN_LABELS.has(l)) trainIdx.push([k, i]);
        else if (VAL_LABELS.has(l)) valIdx.push([k, i]);
        else ignored[l] = (ignored[l] ?? 0) + 1;
      } else trainIdx.push([k, i]);
    }
  });
  if (Object.keys(ignored).length) warnings.push(`images labelled ${Object.entries(ignored).map(([l, c]) => `'${l}' (${c})`).join(', ')} are used neither for training nor validation`);
  if (!anyLabels && opts.valFraction > 0 && trainIdx.length >= 10) {
    const rng = new Rng(opts.seed ^ 0x7a11d);
    const perm = rng.permutation(trainIdx.length);
    const nv = Math.max(1, Math.round(opts.valFraction * trainIdx.length));
    const all = trainIdx.slice();
    trainIdx.length = 0;
    for (let j = 0; j < all.length; j++) (j < nv ? valIdx : trainIdx).push(all[perm[j]]);
    valIdx.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    trainIdx.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  }
  if (trainIdx.length === 0) throw new TrainDataInputError(skipped ? 'no usable training images: every image has NaN or infinite pixels' : 'no training images (none labelled train)');
  const gather = (idx: Array<[number, number]>): ImageStack => {
    const ny = resized[0].ny;
    const nx = resized[0].nx;
    const out = new Float32Array(idx.length * ny * nx);
    idx.forEach(([k, i], j) => out.set(subset(resized[k], [i]).data, j * ny * nx));
    return { data: out, n: idx.length, ny, nx };
  };
  const train = gather(trainIdx);
  const val = valIdx.length ? gather(valIdx) : null;
  // normalisation
  const offset = opts.offset;
  let scale = opts.scale;
  let rule = 'given';
  if (scale === null) {
    if (parts.every((p) => p.bitpix === 8)) {
      scale = 255;
      rule = '8-bit data: divided by 255';
    } else {
      let m = 0;
      for (let i = 0; i < train.data.length; i++) m = Math.max(m, Math.abs(train.data[i] - offset));
      if (!(m > 0)) throw new TrainDataInputError('the training images are all equal to the offset: nothing to learn');
      scale = m;
      rule = 'largest |x − offset| of the training images';
    }
  }
  if (!(scale > 0) || !Number.isFinite(scale)) throw new TrainDataInputError(`--scale must be positive, got ${scale}`);
  for (const st of [train, val]) {
    if (!st) continue;
    for (let i = 0; i < st.data.length; i++) st.data[i] = (st.data[i] - offset) / scale;
  }
  return {
    train,
    val,
    normalisation: { offset, scale, automatic: opts.scale === null, rule },
    warnings,
    provenance: {
      source: parts.length === 1 ? parts[0].name : `${parts.length} files`,
      files: parts.map((p) => p.name),
      train: train.n,
      validation: val?.n ?? 0,
      split: anyLabels ? parts.find((p) => p.splitColumn)?.splitColumn ?? null : opts.valFraction > 0 && val ? `random ${Math.round(opts.valFraction * 100)}% held out` : null,
      originalShape: shape0,
      resampled: opts.size !== null && (shape0[0] !== opts.size || shape0[1] !== opts.size) ? `area-averaged from ${shape0[0]}×${shape0[1]} to ${opts.size}×${opts.size}` : null,
      skippedNonFinite: skipped,
      ignoredLabels: ignored,
    },
  };
}
