/**
 * Per-pixel running mean and variance over chains (Welford's update, and Chan et al.'s merge for a whole batch
 * at once), in float64.
 */
export class Welford {
  count = 0;
  readonly mean: Float64Array;
  readonly m2: Float64Array;

  constructor(readonly size: number) {
    this.mean = new Float64Array(size);
    this.m2 = new Float64Array(size);
  }

  /** Adds one sample. */
  add(v: ArrayLike<number>, offset = 0): void {
    this.count++;
    const n = this.count;
    for (let i = 0; i < this.size; i++) {
      const x = v[offset + i];
      const d = x - this.mean[i];
      this.mean[i] += d / n;
      this.m2[i] += d * (x - this.mean[i]);
    }
  }

  /** Adds `b` samples stored one after another (chain-major): their own mean and M2 merged in (Chan et al.). */
  addBatch(v: ArrayLike<number>, b: number): void {
    if (v.length < b * this.size) throw new RangeError(`Welford: ${v.length} values for ${b} samples of ${this.size}`);
    const part = new Welford(this.size);
    for (let k = 0; k < b; k++) part.add(v, k * this.size);
    this.merge(part);
  }

  merge(o: Welford): void {
    if (o.count === 0) return;
    if (this.count === 0) {
      this.count = o.count;
      this.mean.set(o.mean);
      this.m2.set(o.m2);
      return;
    }
    const na = this.count;
    const nb = o.count;
    const n = na + nb;
    for (let i = 0; i < this.size; i++) {
      const d = o.mean[i] - this.mean[i];
      this.mean[i] += (d * nb) / n;
      this.m2[i] += o.m2[i] + (d * d * na * nb) / n;
    }
    this.count = n;
  }

  clone(): Welford {
    const w = new Welford(this.size);
    w.count = this.count;
    w.mean.set(this.mean);
    w.m2.set(this.m2);
    return w;
  }

  /** Mean and sample standard deviation (n − 1 in the denominator; 0 with fewer than two samples). */
  result(): { mean: Float32Array; std: Float32Array; variance: Float64Array } {
    const variance = new Float64Array(this.size);
    if (this.count > 1) for (let i = 0; i < this.size; i++) variance[i] = this.m2[i] / (this.count - 1);
    return { mean: Float32Array.from(this.mean), std: Float32Array.from(variance, Math.sqrt), variance };
  }
}
