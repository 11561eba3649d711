/**
 * Display-resolution views of large images: a pyramid of 2 × 2 block means (level k: one value per
 * 2^k × 2^k block of pixels), so that an image shown smaller than its size is drawn from the level whose pixels
 * are just smaller than a screen pixel instead of from every pixel. A block's value is the mean of its finite
 * pixels (NaN when it has none); the blocks on the right and top edges of an odd size hold the pixels there
 * are. The exact pixels stay level 0: read-outs, region statistics and products use them, never a level.
 */

export interface PyramidLevel {
  /** Block means, row-major, x fastest, row 0 = the bottom (FITS order). */
  data: Float32Array;
  width: number;
  height: number;
  /** Pixels of the full image per pixel of this level along each axis (2^level). */
  factor: number;
}

/** The levels are built down to this size (the larger side), below which drawing every pixel is cheap. */
export const PYRAMID_MIN_SIDE = 512;

/**
 * Mean over the image pixels of each 2 × 2 block; finite pixels only. Implemented as sums with counts, so the
 * value of level k+1 is not the mean of means but the mean over the level-k blocks weighted by their counts
 * when `counts` is given (the counts of the level below; null for full-resolution data, where every finite
 * pixel counts 1).
 */
export function blockMean2(
  data: Float32Array,
  width: number,
  height: number,
  counts: Uint32Array | null = null,
): { data: Float32Array; counts: Uint32Array; width: number; height: number } {
  const w = Math.ceil(width / 2);
  const h = Math.ceil(height / 2);
  const out = new Float32Array(w * h);
  const cnt = new Uint32Array(w * h);
  for (let y = 0; y < h; y++) {
    const r0 = 2 * y * width;
    const r1 = 2 * y + 1 < height ? r0 + width : -1;
    let x = 0;
    if (!counts && r1 >= 0) {
      // full-resolution pixels, whole 2 × 2 blocks: all four finite is the common case (their sum is finite)
      const pairs = width >> 1;
      for (; x < pairs; x++) {
        const i = r0 + 2 * x;
        const j = r1 + 2 * x;
        const sum = data[i] + data[i + 1] + data[j] + data[j + 1];
        if (sum - sum === 0) {
          out[y * w + x] = sum * 0.25;
          cnt[y * w + x] = 4;
        } else finiteMean4(data, i, j, out, cnt, y * w + x);
      }
    }
    for (; x < w; x++) {
      let s = 0;
      let c = 0;
      const x0 = 2 * x;
      const x1 = x0 + 1 < width ? x0 + 1 : -1;
      // v − v === 0 only for finite v
      let i = r0 + x0;
      let v = data[i];
      let k = counts ? counts[i] : 1;
      if (v - v === 0 && k) {
        s += v * k;
        c += k;
      }
      if (x1 >= 0) {
        i = r0 + x1;
        v = data[i];
        k = counts ? counts[i] : 1;
        if (v - v === 0 && k) {
        s += v * k;
        c += k;
      }
      }
      if (r1 >= 0) {
        i = r1 + x0;
        v = data[i];
        k = counts ? counts[i] : 1;
        if (v - v === 0 && k) {
        s += v * k;
        c += k;
      }
        if (x1 >= 0) {
          i = r1 + x1;
          v = data[i];
          k = counts ? counts[i] : 1;
          if (v - v === 0 && k) {
        s += v * k;
        c += k;
      }
        }
      }
      out[y * w + x] = c ? s / c : NaN;
      cnt[y * w + x] = c;
    }
  }
  return { data: out, counts: cnt, width: w, height: h };
}

/** The mean of the finite pixels among i, i+1, j, j+1 into out[o] (NaN when none is finite) and their count. */
function finiteMean4(data: Float32Array, i: number, j: number, out: Float32Array, cnt: Uint32Array, o: number): void {
  let s = 0;
  let c = 0;
  for (const k of [i, i + 1, j, j + 1]) {
    const v = data[k];
    if (v - v === 0) {
      s += v;
      c++;
    }
  }
  out[o] = c ? s / c : NaN;
  cnt[o] = c;
}

/**
 * Levels 1, 2, … of an image (level 0 is the image itself, not repeated here) until the larger side is at
 * most `minSide`. A block mean at level k is the mean of the finite full-resolution pixels in its
 * 2^k × 2^k block (the counts carried from level to level weight the means). Empty for an image already that small.
 */
export function buildPyramid(data: Float32Array, width: number, height: number, minSide = PYRAMID_MIN_SIDE): PyramidLevel[] {
  const levels: PyramidLevel[] = [];
  let cur = { data, width, height, counts: null as Uint32Array | null };
  let factor = 1;
  while (Math.max(cur.width, cur.height) > minSide) {
    const next = blockMean2(cur.data, cur.width, cur.height, cur.counts);
    factor *= 2;
    levels.push({ data: next.data, width: next.width, height: next.height, factor });
    cur = next;
  }
  return levels;
}

/**
 * The level to draw at `zoom` screen pixels per image pixel: the coarsest whose pixels are still no larger
 * than a screen pixel (factor ≤ 1/zoom); 0 is the full image, k > 0 is levels[k − 1].
 */
export function levelForZoom(levels: readonly PyramidLevel[], zoom: number): number {
  let best = 0;
  for (let k = 0; k < levels.length; k++) if (levels[k].factor <= 1 / zoom) best = k + 1;
  return best;
}
