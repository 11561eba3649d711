/**
 * What the project's seedable generators share once they have a 32-bit stream: the splitmix32 seeder, 53-bit
 * uniforms from two 32-bit draws and Box–Muller normals (both deviates used, the second kept as a spare).
 * Subclasses supply the 32-bit generator itself (sfc32: SeededRandom; xoshiro128**: diffusion/nn Rng); the
 * streams they produce are part of their contracts (bundled data, checkpoints, tests), so the arithmetic and
 * the order of draws here must not change.
 */

/** splitmix32 from a 32-bit seed: a stream of well-mixed 32-bit words for filling a generator's state. */
export function splitmix32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x9e3779b9) >>> 0;
    let z = a;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

export abstract class Random32 {
  /** The second Box–Muller deviate, returned by the next `normal()`; null when none is cached. */
  protected spare: number | null = null;

  /** Uniform 32-bit unsigned integer. */
  abstract nextU32(): number;

  /** Uniform in [0, 1) with 53 random bits. */
  uniform(): number {
    const a = this.nextU32() >>> 5;
    const b = this.nextU32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }

  /** Standard normal (Box–Muller, both deviates used). */
  normal(): number {
    if (this.spare !== null) {
      const v = this.spare;
      this.spare = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }
}
