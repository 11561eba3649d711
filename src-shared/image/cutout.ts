/**
 * Cutouts and binning of an observation, with the header arithmetic that keeps its WCS right. Pure.
 *
 * Pixels: images are [ny, nx], row-major, x fastest; boxes are 0-based pixel indices (x0, y0) with a size
 * (nx, ny). Binning by an integer factor k averages k×k blocks starting at the box's first pixel; a partial
 * block at the right or top edge is dropped. A block with a NaN (blank or masked data) gives NaN, so that a
 * binned pixel never mixes measured and missing values.
 *
 * WCS: binned pixel i covers the original pixels k·i … k·i + k − 1 of the box, so its centre is the original
 * pixel x0 + k·i + (k − 1)/2 (0-based). In FITS's 1-based CRPIX that is p' = (p − x0 − ½)/k + ½; the linear
 * transformation's columns (CDi_j, or CDELTj with PC/CROTA) scale by k, and SIP coefficients A_p_q, B_p_q,
 * AP_p_q, BP_p_q by k^(p+q−1) (their polynomials are in pixel offsets from CRPIX, which shrink k times).
 *
 * Noise: a block mean of independent pixels has σ' = √(Σσ²)/k²; a scalar σ becomes σ/k. Masks (1 observed,
 * 0 missing) keep a binned pixel only where every pixel of its block is observed.
 */
import { UserInputError } from '../errors.js';
import { FitsHeader } from '../fits/header.js';
import type { LensStage } from '../operators/forward-model-spec.js';

export class CutoutInputError extends UserInputError {
  override name = 'CutoutInputError';
}

/** A box of pixels: first pixel (0-based) and size. */
export interface CutBox {
  x0: number;
  y0: number;
  nx: number;
  ny: number;
}

/** Shape [ny, nx]. */
export type Shape2 = [number, number];

const isInt = (v: number) => Number.isInteger(v);

/**
 * The box clipped to the image (DS9 and astropy's partial cutouts keep the overlap). Refused when it does not
 * overlap the image or is not whole pixels.
 */
export function clipBox(box: CutBox, shape: Shape2): CutBox {
  const [ny, nx] = shape;
  if (![box.x0, box.y0, box.nx, box.ny].every(isInt)) throw new CutoutInputError(`the cutout box must be whole pixels (x0 ${box.x0}, y0 ${box.y0}, ${box.nx}×${box.ny})`);
  if (box.nx < 1 || box.ny < 1) throw new CutoutInputError(`the cutout box is empty (${box.nx}×${box.ny} pixels)`);
  const x0 = Math.max(0, box.x0);
  const y0 = Math.max(0, box.y0);
  const x1 = Math.min(nx, box.x0 + box.nx);
  const y1 = Math.min(ny, box.y0 + box.ny);
  if (x1 <= x0 || y1 <= y0) {
    throw new CutoutInputError(
      `the cutout box x ${box.x0 + 1}…${box.x0 + box.nx}, y ${box.y0 + 1}…${box.y0 + box.ny} (1-based) lies outside the ${nx}×${ny} image`,
    );
  }
  return { x0, y0, nx: x1 - x0, ny: y1 - y0 };
}

/** A box of nx × ny pixels centred on the (0-based, possibly fractional) pixel (cx, cy); even sizes round up. */
export function boxAround(cx: number, cy: number, nx: number, ny: number): CutBox {
  if (!Number.isFinite(cx) || !Number.isFinite(cy)) throw new CutoutInputError('the cutout centre is not a finite pixel position');
  if (!(isInt(nx) && isInt(ny) && nx >= 1 && ny >= 1)) throw new CutoutInputError(`the cutout size must be whole pixels ≥ 1 (got ${nx}×${ny})`);
  return { x0: Math.round(cx - (nx - 1) / 2), y0: Math.round(cy - (ny - 1) / 2), nx, ny };
}

/** The box spanned by two corner points (0-based pixel coordinates, any order), whole pixels inclusive. */
export function boxFromCorners(ax: number, ay: number, bx: number, by: number): CutBox {
  const x0 = Math.round(Math.min(ax, bx));
  const y0 = Math.round(Math.min(ay, by));
  const x1 = Math.round(Math.max(ax, bx));
  const y1 = Math.round(Math.max(ay, by));
  return { x0, y0, nx: x1 - x0 + 1, ny: y1 - y0 + 1 };
}

/** The size after binning a box by k (partial blocks dropped). */
export function binnedShape(box: CutBox, k: number): Shape2 {
  return [Math.floor(box.ny / k), Math.floor(box.nx / k)];
}

function checkFactor(box: CutBox, k: number): void {
  if (!(isInt(k) && k >= 1)) throw new CutoutInputError(`the binning factor must be a whole number ≥ 1 (got ${k})`);
  if (box.nx < k || box.ny < k) throw new CutoutInputError(`a ${box.nx}×${box.ny} box has no whole ${k}×${k} block to bin`);
}

/**
 * The pixels of `box` (clipped first) of an image, binned by k: `reduce` turns the k² values of a block into
 * one (it is called with the block's values in a scratch array).
 */
function blocks(data: ArrayLike<number>, shape: Shape2, box: CutBox, k: number, reduce: (v: Float64Array) => number): { data: Float32Array; shape: Shape2 } {
  const [ny, nx] = shape;
  if (data.length !== ny * nx) throw new CutoutInputError(`${data.length} values for a ${nx}×${ny} image`);
  const b = clipBox(box, shape);
  checkFactor(b, k);
  const [oy, ox] = binnedShape(b, k);
  const out = new Float32Array(oy * ox);
  const v = new Float64Array(k * k);
  for (let j = 0; j < oy; j++) {
    for (let i = 0; i < ox; i++) {
      let n = 0;
      for (let dy = 0; dy < k; dy++) {
        const row = (b.y0 + j * k + dy) * nx + b.x0 + i * k;
        for (let dx = 0; dx < k; dx++) v[n++] = data[row + dx]!;
      }
      out[j * ox + i] = reduce(v);
    }
  }
  return { data: out, shape: [oy, ox] };
}

const mean = (v: Float64Array) => {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]!;
  return s / v.length; // NaN as soon as one value is NaN
};

/** Data: the block means (NaN where a block has a NaN). k = 1 is a plain cutout. */
export function cutPixels(data: ArrayLike<number>, shape: Shape2, box: CutBox, k = 1): { data: Float32Array; shape: Shape2 } {
  return blocks(data, shape, box, k, mean);
}

/** A σ map: √(Σσ²)/k² per block (the σ of a block mean of independent pixels); NaN where a block has a NaN. */
export function cutSigmaMap(sigma: ArrayLike<number>, shape: Shape2, box: CutBox, k = 1): { data: Float32Array; shape: Shape2 } {
  return blocks(sigma, shape, box, k, (v) => {
    let s = 0;
    for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
    return Math.sqrt(s) / v.length;
  });
}

/** A mask (1 observed, 0 missing): 1 only where the whole block is observed. */
export function cutMask(mask: ArrayLike<number>, shape: Shape2, box: CutBox, k = 1): { data: Float32Array; shape: Shape2 } {
  return blocks(mask, shape, box, k, (v) => {
    for (let i = 0; i < v.length; i++) if (v[i] !== 1) return 0;
    return 1;
  });
}

/** A scalar σ of independent pixels after binning by k. */
export function binnedSigma(sigma: number, k: number): number {
  return sigma / k;
}

/**
 * A model's additive image (y = A x + b + n: a lens's deflector light, in data units on the observation's grid)
 * for a cutout of the observation: cut and block-averaged exactly as the data are (cutPixels), so that y − b on
 * the cutout is the cutout of y − b. Refused, naming the fix, when it is not on the observation's grid (`shape`
 * its own [ny, nx], null when it has no image); `box` must already be clipped to the observation.
 */
export function cutAdditive(
  data: ArrayLike<number> | null,
  shape: Shape2 | null,
  obsShape: Shape2,
  box: CutBox,
  k: number,
  name: string,
): { data: Float32Array; shape: Shape2 } {
  if (!data || !shape || shape[0] !== obsShape[0] || shape[1] !== obsShape[1]) {
    const has = shape ? `${shape[1]}×${shape[0]}` : 'no image of that size';
    throw new CutoutInputError(
      `the model's additive image ${name} (${has}) is not on the observation's ${obsShape[1]}×${obsShape[0]} grid, so it cannot be cut with it: remove the additive image from the model, or give one of the observation's size, before cutting`,
    );
  }
  return cutPixels(data, obsShape, box, k);
}

/**
 * Where the cutout's grid centre lies, in pixels of the original image from the original grid's centre (x, y):
 * binned pixel i covers the original pixels x0 + k·i … x0 + k·i + k − 1, so the centre of ox binned pixels is the
 * original pixel x0 + (k·ox − 1)/2.
 */
export function cutoutCentreOffset(box: CutBox, k: number, shape: Shape2): [number, number] {
  const [oy, ox] = binnedShape(box, k);
  const [ny, nx] = shape;
  return [box.x0 + (k * ox - 1) / 2 - (nx - 1) / 2, box.y0 + (k * oy - 1) / 2 - (ny - 1) / 2];
}

/**
 * A lens stage on a cutout (binned by k) of its image grid: the cutout's shape, pixels k times larger, the lens
 * centre (arcsec from the image grid's centre) moved to the new grid's centre, `supersample` times k (the same
 * rays: a binned pixel's k²·ss² sub-pixels are its k² pixels' sub-pixels). The lens operator centres the
 * source grid on the image grid's centre, so the source grid moves with it by `sourceShift` (arcsec, x and y: the
 * source appears that much lower and further left on its grid); `box` must already be clipped.
 */
export function cutLensStage(stage: LensStage, box: CutBox, k: number): { stage: LensStage; sourceShift: [number, number] } {
  checkFactor(box, k);
  const shape = stage.imageShape;
  const [dx, dy] = cutoutCentreOffset(box, k, shape);
  const s = stage.imagePixelScale;
  const shift: [number, number] = [dx * s, dy * s];
  return {
    stage: {
      ...stage,
      imageShape: binnedShape(box, k),
      imagePixelScale: s * k,
      supersample: (stage.supersample ?? 1) * k,
      lens: { ...stage.lens, x0: (stage.lens.x0 ?? 0) - shift[0], y0: (stage.lens.y0 ?? 0) - shift[1] },
    },
    sourceShift: shift,
  };
}

const SIP_KEY = /^(A|B|AP|BP)_(\d+)_(\d+)$/;

/**
 * The header of a cutout (and binning by k) of `box` of an image with header `src`: CRPIX shifted, the linear
 * transformation and SIP scaled for k, IRAF's LTV shifted (LTV/LTM dropped when binning), DATASUM/CHECKSUM
 * dropped, and a HISTORY card saying what was done. `plane` (0-based) moves CRPIX3 so that a plane of a cube
 * keeps its third-axis coordinate. `box` must already be clipped.
 */
export function cutoutHeader(src: FitsHeader, box: CutBox, k = 1, opts: { plane?: number; from?: string } = {}): FitsHeader {
  checkFactor(box, k);
  const h = new FitsHeader(src.cards.filter((c) => c.key !== 'END').map((c) => ({ ...c, images: c.images ? [...c.images] : undefined })));
  for (const key of ['CHECKSUM', 'DATASUM']) h.delete(key);
  const hasCD = h.cards.some((c) => /^CD\d+_\d+$/.test(c.key));
  const hasPC = h.cards.some((c) => /^PC0*\d+_0*\d+$/.test(c.key) || /^PC0\d{2}0\d{2}$/.test(c.key));
  const offsets = [box.x0, box.y0];
  for (let j = 1; j <= 2; j++) {
    const o = offsets[j - 1]!;
    const hasWcs = h.has(`CTYPE${j}`) || h.has(`CRPIX${j}`) || h.has(`CRVAL${j}`);
    if (hasWcs) {
      const p = h.getNumber(`CRPIX${j}`) ?? 0;
      h.set(`CRPIX${j}`, (p - o - 0.5) / k + 0.5);
    }
    if (k > 1) {
      const cdelt = h.getNumber(`CDELT${j}`);
      if (cdelt !== undefined) h.set(`CDELT${j}`, cdelt * k);
      else if (hasWcs && (!hasCD || hasPC)) h.set(`CDELT${j}`, k, 'binned pixel');
    } else {
      const ltv = h.getNumber(`LTV${j}`);
      if (ltv !== undefined) h.set(`LTV${j}`, ltv - o);
    }
  }
  if (k > 1) {
    for (const c of h.cards) {
      const cd = /^CD(\d+)_(\d+)$/.exec(c.key);
      if (cd && typeof c.value === 'number' && (cd[2] === '1' || cd[2] === '2')) {
        h.set(c.key, c.value * k);
        continue;
      }
      const sip = SIP_KEY.exec(c.key);
      if (sip && typeof c.value === 'number') h.set(c.key, c.value * k ** (Number(sip[2]) + Number(sip[3]) - 1));
    }
    for (const c of [...h.cards]) if (/^(LTV\d|LTM\d_\d)$/.test(c.key)) h.delete(c.key);
  }
  if (opts.plane) {
    const p3 = h.getNumber('CRPIX3');
    if (p3 !== undefined) h.set('CRPIX3', p3 - opts.plane);
  }
  const what = `cutout x ${box.x0 + 1}-${box.x0 + box.nx}, y ${box.y0 + 1}-${box.y0 + box.ny}${opts.plane ? `, plane ${opts.plane + 1}` : ''}${k > 1 ? `, binned ${k}x${k} (block mean)` : ''}`;
  h.addHistory(`SkyScore ${what}${opts.from ? ` of ${opts.from}` : ''}`);
  return h;
}

/**
 * A binning factor that brings an image of `shape` near a prior's training size: the integer k ≥ 1 for which
 * the larger side / k is closest to the prior's (in ratio), never leaving fewer pixels than `minSide`.
 */
export function suggestBin(shape: Shape2, priorShape: Shape2, minSide = 16): number {
  const side = Math.max(shape[0], shape[1]);
  const target = Math.max(priorShape[0], priorShape[1]);
  let best = 1;
  let bestErr = Infinity;
  for (let k = 1; k <= Math.max(1, Math.floor(Math.min(shape[0], shape[1]) / minSide)); k++) {
    const err = Math.abs(Math.log(side / k / target));
    if (err < bestErr - 1e-12) {
      best = k;
      bestErr = err;
    }
  }
  return best;
}

/** How far an image's size is from a prior's training size: the ratio of their larger sides (≥ 1). */
export function sizeRatio(shape: Shape2, priorShape: Shape2): number {
  const a = Math.max(shape[0], shape[1]);
  const b = Math.max(priorShape[0], priorShape[1]);
  return a > b ? a / b : b / a;
}
