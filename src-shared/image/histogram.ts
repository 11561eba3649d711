/** Histograms of pixel values (finite values only). */

export interface Histogram {
  lo: number;
  hi: number;
  /** counts[k]: pixels with lo + k·w ≤ v < lo + (k+1)·w (the last bin includes hi). */
  counts: Uint32Array;
  /** Finite pixels below lo, above hi, and non-finite pixels. */
  under: number;
  over: number;
  nonFinite: number;
}

export function histogram(data: ArrayLike<number>, lo: number, hi: number, nbins: number): Histogram {
  if (!(nbins >= 1) || !Number.isInteger(nbins)) throw new RangeError(`nbins must be a positive integer, got ${nbins}`);
  if (!(hi > lo)) throw new RangeError(`histogram range must have hi > lo, got [${lo}, ${hi}]`);
  const counts = new Uint32Array(nbins);
  let under = 0;
  let over = 0;
  let nonFinite = 0;
  const scale = nbins / (hi - lo);
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (!Number.isFinite(v)) nonFinite++;
    else if (v < lo) under++;
    else if (v > hi) over++;
    else counts[Math.min(nbins - 1, Math.floor((v - lo) * scale))]++;
  }
  return { lo, hi, counts, under, over, nonFinite };
}
