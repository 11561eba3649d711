import { describe, it, expect } from 'vitest';
import { Trace, niceTicks, logTicks, yRange, formatTick } from '../../src-renderer/src/run/chart.js';
import { percentileLimits, symmetricLimits, toRgba, lut, stretchValue } from '../../src-renderer/src/run/render.js';
import { formatDuration, formatValue, formatBytes } from '../../src-renderer/src/run/format.js';

describe('chart', () => {
  it('a trace grows past its initial capacity and keeps every point, skipping non-finite ones', () => {
    const t = new Trace();
    for (let i = 0; i < 1000; i++) t.push(i, i * i);
    t.push(NaN, 1);
    t.push(1, Infinity);
    expect(t.length).toBe(1000);
    expect(t.x(999)).toBe(999);
    expect(t.y(999)).toBe(998001);
    expect(t.last()).toEqual({ x: 999, y: 998001 });
    t.clear();
    expect(t.length).toBe(0);
    expect(t.last()).toBeNull();
  });

  it('linear ticks are 1-2-5 multiples inside the range', () => {
    expect(niceTicks(0, 10, 5)).toEqual([0, 2, 4, 6, 8, 10]);
    expect(niceTicks(0, 1, 4)).toEqual([0, 0.5, 1]);
    expect(niceTicks(-3, 7, 5)).toEqual([-2, 0, 2, 4, 6]);
    expect(niceTicks(0.13, 0.47, 4)).toEqual([0.2, 0.3, 0.4]);
    expect(niceTicks(0.13, 0.47, 3)).toEqual([0.2, 0.4]);
    expect(niceTicks(5, 5)).toEqual([5]);
  });

  it('log ticks are decades, or 1-2-5 within a single decade', () => {
    expect(logTicks(0.5, 2000)).toEqual([1, 10, 100, 1000]);
    expect(logTicks(1.5, 8)).toEqual([2, 5]);
    expect(logTicks(-1, 10)).toEqual([]);
  });

  it('the y range on a log axis ignores non-positive values and includes the reference', () => {
    const t = new Trace();
    t.push(0, 0);
    t.push(1, 100);
    t.push(2, 10);
    const r = yRange([{ trace: t, color: 'x', label: 'χ²' }], true, 1)!;
    expect(Math.log10(r[0])).toBeCloseTo(-0.1, 6);
    expect(Math.log10(r[1])).toBeCloseTo(2.1, 6);
    expect(yRange([{ trace: new Trace(), color: 'x', label: '' }], true)).toBeNull();
  });

  it('formats ticks compactly', () => {
    expect(formatTick(0)).toBe('0');
    expect(formatTick(1e6)).toBe('1e6');
    expect(formatTick(0.25)).toBe('0.25');
  });
});

describe('small image rendering', () => {
  it('percentile limits interpolate between order statistics and skip NaN', () => {
    const d = Float32Array.from([4, NaN, 0, 2, 1, 3]);
    expect(percentileLimits(d, 0, 1)).toEqual([0, 4]);
    expect(percentileLimits(d, 0.5, 0.125)).toEqual([2, 0.5]);
    expect(percentileLimits(Float32Array.from([NaN]), 0, 1).every(Number.isNaN)).toBe(true);
  });

  it('symmetric limits are ± a quantile of |v|', () => {
    const d = Float32Array.from({ length: 101 }, (_, i) => i - 50);
    const [lo, hi] = symmetricLimits(d, 1);
    expect([lo, hi]).toEqual([-50, 50]);
  });

  it('draws y up (the first image row at the bottom), clamps, and marks NaN in magenta', () => {
    const d = Float32Array.from([0, 1, 2, NaN]); // [[0, 1], [2, NaN]] with row 0 = bottom
    const px = toRgba(d, [2, 2], { lo: 0, hi: 2, map: 'grey' });
    const at = (r: number, c: number) => Array.from(px.subarray((r * 2 + c) * 4, (r * 2 + c) * 4 + 4));
    expect(at(1, 0)).toEqual([0, 0, 0, 255]); // value 0, image row 0 → canvas bottom row
    expect(at(1, 1)).toEqual([128, 128, 128, 255]);
    expect(at(0, 0)).toEqual([255, 255, 255, 255]);
    expect(at(0, 1)).toEqual([255, 0, 255, 255]);
  });

  it('colour maps run from their first to their last anchor; the diverging map is white at the middle', () => {
    const g = lut('grey');
    expect([g[0], g[765]]).toEqual([0, 255]);
    const dv = lut('diverging');
    const mid = Math.round(127.5);
    expect(Math.min(dv[mid * 3]!, dv[mid * 3 + 1]!, dv[mid * 3 + 2]!)).toBeGreaterThan(235);
    for (const s of ['linear', 'asinh', 'log'] as const) {
      expect(stretchValue(0, s)).toBe(0);
      expect(stretchValue(1, s)).toBeCloseTo(1, 12);
      expect(stretchValue(0.3, s)).toBeLessThan(stretchValue(0.31, s));
    }
  });
});

describe('read-out formats', () => {
  it('durations, values and sizes', () => {
    expect(formatDuration(null)).toBe('—');
    expect(formatDuration(0.4)).toBe('<1 s');
    expect(formatDuration(42)).toBe('42 s');
    expect(formatDuration(185)).toBe('3 min 05 s');
    expect(formatDuration(3720)).toBe('1 h 02 min');
    expect(formatValue(1.23456)).toBe('1.235');
    expect(formatValue(1.5e-5)).toBe('1.500e-5');
    expect(formatBytes(2048)).toBe('2.0 kB');
  });
});
