/**
 * The two seedable generators share their uniform/normal tail (operators/random-base.ts) but keep their own
 * streams, which bundled data, checkpoints and tests depend on: their first draws are pinned here (values
 * recorded from the generators before the tail was shared), and the tail is checked on exact answers.
 */
import { describe, expect, it } from 'vitest';
import { Random32, splitmix32 } from '../../src-shared/operators/random-base.js';
import { SeededRandom } from '../../src-shared/operators/random.js';
import { Rng } from '../../src-shared/diffusion/nn/rng.js';

/** A generator replaying a fixed list of words, to check the tail's arithmetic on exact answers. */
class Replay extends Random32 {
  private i = 0;
  constructor(private readonly words: number[]) {
    super();
  }
  nextU32(): number {
    return this.words[this.i++ % this.words.length];
  }
}

describe('seedable generators', () => {
  it('Rng (xoshiro128**) keeps its stream and its checkpoint state', () => {
    const r = new Rng(2024);
    expect([r.nextU32(), r.nextU32(), r.nextU32()]).toEqual([2419916859, 2996235947, 1249288266]);
    expect([r.uniform(), r.uniform()]).toEqual([0.550115902775404, 0.6945775227567776]);
    expect([r.normal(), r.normal(), r.normal()]).toEqual([-0.6341449913955246, -0.9759486864276035, 0.9972100062816366]);
    const state = r.state();
    expect(state).toEqual({ s: [3525903867, 2634367790, 2293720331, 4037488303], spare: 0.08368222082423347 });
    // resuming from the state (through JSON, as a checkpoint does) continues the same stream, spare first
    const resumed = new Rng(JSON.parse(JSON.stringify(state)));
    const a = Array.from({ length: 9 }, () => r.normal());
    expect(Array.from({ length: 9 }, () => resumed.normal())).toEqual(a);
    expect(a[0]).toBe(0.08368222082423347);
  });

  it('SeededRandom (sfc32) keeps its stream; u32 and nextU32 are one generator', () => {
    const s = new SeededRandom(2 ** 33 + 5);
    expect([s.u32(), s.u32(), s.nextU32()]).toEqual([4065808190, 2968929111, 1172970698]);
    expect([s.uniform(), s.uniform()]).toEqual([0.05723573378018587, 0.9553687643006115]);
    expect([s.normal(), s.normal(), s.normal()]).toEqual([-0.6975009243256886, -0.4032386268464746, -0.21092050422016478]);
    expect(() => new SeededRandom(-1)).toThrow(RangeError);
  });

  it('builds 53-bit uniforms from the top 27 and 26 bits of two words', () => {
    expect(new Replay([0xffffffff]).uniform()).toBe(1 - 2 ** -53);
    expect(new Replay([0, 0]).uniform()).toBe(0);
    // a = 1 (word 32 → >>> 5), b = 1 (word 64 → >>> 6): (2^26 + 1) / 2^53
    expect(new Replay([32, 64]).uniform()).toBe((2 ** 26 + 1) / 2 ** 53);
  });

  it('draws Box–Muller pairs (cos first, then the cached sin) and skips u = 0', () => {
    // u = 0 is redrawn; then u = 1/4 (word 2^30), v = 1/8 (word 2^29): r = √(−2 ln u), θ = 2π v
    const g = new Replay([0, 0, 2 ** 30, 0, 2 ** 29, 0]);
    const r = Math.sqrt(-2 * Math.log(0.25));
    expect(g.normal()).toBe(r * Math.cos(2 * Math.PI * 0.125));
    expect(g.normal()).toBe(r * Math.sin(2 * Math.PI * 0.125));
  });

  it('seeds through splitmix32 (words recorded before the seeder was shared)', () => {
    const sm = splitmix32(0);
    expect([sm(), sm(), sm()]).toEqual([2462723854, 1020716019, 454327756]);
    const other = splitmix32(123456789);
    expect([other(), other()]).toEqual([1573771921, 319883699]);
    const wrapped = splitmix32(2 ** 32); // the seed is taken mod 2^32
    expect(wrapped()).toBe(2462723854);
  });
});
