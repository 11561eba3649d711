/**
 * A small seeded generator for reproducible simulations (noise realisations): sfc32 seeded through
 * splitmix32 from a 53-bit integer seed, 53-bit uniforms, and Box–Muller normals (both deviates used).
 * Deterministic across platforms and backends: it never touches tfjs.
 */
import { Random32, splitmix32 } from './random-base.js';

export class SeededRandom extends Random32 {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`seed must be a non-negative integer, got ${seed}`);
    super();
    const next = splitmix32((seed >>> 0) ^ Math.imul(Math.floor(seed / 4294967296) >>> 0, 0x9e3779b1));
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
    for (let i = 0; i < 12; i++) this.nextU32();
  }

  /** Uniform 32-bit unsigned integer (sfc32). */
  nextU32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** The same as `nextU32()` (the name this class has always had). */
  u32(): number {
    return this.nextU32();
  }
}
