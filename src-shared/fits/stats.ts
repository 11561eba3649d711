/** Statistics over the finite pixels of an image: min, max, mean (null when none is finite) and the NaN count. */
export interface ImageStats {
  min: number | null;
  max: number | null;
  mean: number | null;
  nan: number;
  /** Finite pixels counted. */
  count: number;
}

export function imageStats(data: ArrayLike<number>): ImageStats {
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  let comp = 0; // Kahan-Neumaier compensation: the mean stays accurate on large images
  let count = 0;
  let nan = 0;
  const n = data.length;
  for (let i = 0; i < n; i++) {
    const v = data[i];
    if (v !== v) {
      nan++;
      continue;
    }
    if (v === Infinity || v === -Infinity) continue;
    if (v < min) min = v;
    if (v > max) max = v;
    const t = sum + v;
    comp += Math.abs(sum) >= Math.abs(v) ? sum - t + v : v - t + sum;
    sum = t;
    count++;
  }
  if (count === 0) return { min: null, max: null, mean: null, nan, count };
  return { min, max, mean: (sum + comp) / count, nan, count };
}
