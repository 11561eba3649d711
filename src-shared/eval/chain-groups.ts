/**
 * The Monte Carlo spread of a posterior mean's figure of merit: the n chains split into g disjoint groups of
 * consecutive chains, each group's own estimate of the mean (the average of its chains' per-chain estimates:
 * Rao–Blackwellised conditional means where the run made them, else the draws) scored like the full mean, and the
 * spread of those scores (PSNR: metrics.ts). Pure functions, used by scripts/radio-eval.ts.
 */

/**
 * The default number of groups for n chains: 4 groups when n ≥ 8 (at least two chains each), 2 when n ≥ 4, else
 * none (0: too few chains for a spread).
 */
export function defaultGroups(n: number): number {
  if (n >= 8) return 4;
  if (n >= 4) return 2;
  return 0;
}

/**
 * The sizes of g disjoint groups of consecutive chains covering all n: ⌈n/g⌉ for the first n mod g groups, ⌊n/g⌋
 * for the rest (equal sizes when g divides n).
 */
export function groupSizes(n: number, g: number): number[] {
  if (!Number.isInteger(n) || !Number.isInteger(g) || g < 1 || n < g) throw new RangeError(`groups: ${g} groups of ${n} chains (need 1 ≤ g ≤ n)`);
  const base = Math.floor(n / g);
  return Array.from({ length: g }, (_, k) => base + (k < n % g ? 1 : 0));
}

/**
 * Each group's mean of the per-chain images `perChain` (n images of `per` values, chain-major), in float64: group k
 * averages the chains of groupSizes(n, g)[k] that follow group k − 1's.
 */
export function chainGroupMeans(perChain: ArrayLike<number>, n: number, per: number, g: number): Float64Array[] {
  if (perChain.length < n * per) throw new RangeError(`chainGroupMeans: ${perChain.length} values for ${n} chains of ${per}`);
  const out: Float64Array[] = [];
  let chain = 0;
  for (const size of groupSizes(n, g)) {
    const m = new Float64Array(per);
    for (let c = chain; c < chain + size; c++) {
      const o = c * per;
      for (let i = 0; i < per; i++) m[i] += perChain[o + i];
    }
    for (let i = 0; i < per; i++) m[i] /= size;
    out.push(m);
    chain += size;
  }
  return out;
}

export interface Spread {
  min: number;
  max: number;
  /** max − min. */
  range: number;
  mean: number;
  /** Sample standard deviation (n − 1 in the denominator; 0 for one value). */
  std: number;
}

/** The spread of a few values (non-empty). */
export function spreadOf(values: readonly number[]): Spread {
  if (values.length === 0) throw new RangeError('spreadOf: no values');
  const min = Math.min(...values);
  const max = Math.max(...values);
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const ss = values.reduce((a, v) => a + (v - mean) ** 2, 0);
  return { min, max, range: max - min, mean, std: values.length > 1 ? Math.sqrt(ss / (values.length - 1)) : 0 };
}
