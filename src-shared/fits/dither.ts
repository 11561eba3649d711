/**
 * The pseudo-random sequence of the FITS quantisation convention (SUBTRACTIVE_DITHER_1/2): 10000 values of the
 * Park–Miller minimal standard generator (a = 16807, m = 2^31 − 1, seed 1), divided by m and stored as
 * float32 (as CFITSIO stores them: the float rounding matters for bit-exact results).
 */
let cache: Float64Array | undefined;

export const N_RANDOM = 10000;

export function ditherSequence(): Float64Array {
  if (cache) return cache;
  const a = 16807;
  const m = 2147483647;
  let seed = 1;
  const r = new Float64Array(N_RANDOM);
  for (let i = 0; i < N_RANDOM; i++) {
    const temp = a * seed;
    seed = temp - m * Math.trunc(temp / m);
    r[i] = Math.fround(seed / m);
  }
  // the convention's check value for the last seed
  if (seed !== 1043618065) throw new Error('dither sequence check failed');
  cache = r;
  return r;
}
