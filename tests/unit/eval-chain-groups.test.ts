import { describe, expect, it } from 'vitest';
import { chainGroupMeans, defaultGroups, groupSizes, spreadOf } from '../../src-shared/eval/chain-groups.js';

describe('chain groups', () => {
  it('splits n chains into g disjoint consecutive groups covering all of them', () => {
    expect(groupSizes(16, 4)).toEqual([4, 4, 4, 4]);
    expect(groupSizes(10, 4)).toEqual([3, 3, 2, 2]);
    expect(groupSizes(5, 5)).toEqual([1, 1, 1, 1, 1]);
    expect(() => groupSizes(3, 4)).toThrow(RangeError);
    expect(() => groupSizes(8, 0)).toThrow(RangeError);
    expect(defaultGroups(16)).toBe(4);
    expect(defaultGroups(8)).toBe(4);
    expect(defaultGroups(4)).toBe(2);
    expect(defaultGroups(3)).toBe(0);
  });

  it("averages each group's own chains, and equal groups average back to the full mean", () => {
    const n = 6;
    const per = 3;
    // chain c, pixel i holds 10·c + i
    const chains = Float32Array.from({ length: n * per }, (_, k) => 10 * Math.floor(k / per) + (k % per));
    const g = chainGroupMeans(chains, n, per, 3);
    expect(g).toHaveLength(3);
    expect(Array.from(g[0])).toEqual([5, 6, 7]); // chains 0, 1
    expect(Array.from(g[1])).toEqual([25, 26, 27]); // chains 2, 3
    expect(Array.from(g[2])).toEqual([45, 46, 47]); // chains 4, 5
    const full = chainGroupMeans(chains, n, per, 1)[0];
    for (let i = 0; i < per; i++) expect((g[0][i] + g[1][i] + g[2][i]) / 3).toBeCloseTo(full[i], 12);
    // unequal groups: 3 chains in the first, 2 in the second
    const u = chainGroupMeans(chains.subarray(0, 5 * per), 5, per, 2);
    expect(Array.from(u[0])).toEqual([10, 11, 12]);
    expect(Array.from(u[1])).toEqual([35, 36, 37]);
    expect(() => chainGroupMeans(chains, 7, per, 2)).toThrow(RangeError);
  });

  it('gives min, max, range and the sample standard deviation', () => {
    const s = spreadOf([38.53, 40.47, 40.84, 42.03]);
    expect(s.min).toBe(38.53);
    expect(s.max).toBe(42.03);
    expect(s.range).toBeCloseTo(3.5, 12);
    expect(s.mean).toBeCloseTo(40.4675, 12);
    const m = 40.4675;
    const v = ((38.53 - m) ** 2 + (40.47 - m) ** 2 + (40.84 - m) ** 2 + (42.03 - m) ** 2) / 3;
    expect(s.std).toBeCloseTo(Math.sqrt(v), 12);
    expect(spreadOf([2]).std).toBe(0);
    expect(() => spreadOf([])).toThrow(RangeError);
  });
});
