import { describe, expect, it } from 'vitest';
import { nelderMead, nelderMeadBatch, type NelderMeadOptions } from '../../src-shared/lensing/optimise.js';

// The speculative Nelder–Mead (nelderMeadBatch: the reflection, expansion and both contractions of an iteration as one
// batch, a shrink's points as one) against the serial method: the same iterates bit for bit on test functions with
// every kind of step (expansions, contractions, shrinks, an infinite region, the stall rule, the evaluation cap).

const key = (x: Float64Array) => Array.from(x, (v) => (Object.is(v, -0) ? '-0' : String(v))).join(',');

const rosen = (x: Float64Array) => {
  let s = 0;
  for (let i = 0; i + 1 < x.length; i++) s += 100 * (x[i + 1] - x[i] * x[i]) ** 2 + (1 - x[i]) ** 2;
  return s;
};
// a curved valley with a wall (Infinity, and NaN) that the simplex runs into
const walled = (x: Float64Array) => {
  if (x[0] > 0.8) return Infinity;
  if (x[1] < -1.5) return NaN;
  let s = 0;
  for (let i = 0; i < x.length; i++) s += (i + 1) * (x[i] - 0.5 * Math.sin(i + x[(i + 1) % x.length])) ** 2;
  return s + Math.abs(x[0] - 0.7);
};
// a bumpy bowl: shrinks happen where a contraction lands on a bump
const bumpy = (x: Float64Array) => {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += (x[i] - 1) ** 2 + 0.3 * Math.cos(7 * x[i]);
  return s;
};

interface Case {
  name: string;
  f: (x: Float64Array) => number;
  x0: number[];
  opts: NelderMeadOptions;
}

const cases: Case[] = [
  { name: 'Rosenbrock 6-D', f: rosen, x0: [0.2, 0.5, -0.2, 0.4, 0.1, -0.3], opts: { steps: [0.5, 0.5, 0.5, 0.5, 0.5, 0.5], maxEvaluations: 6000, fTol: 1e-10, xTol: Array(6).fill(1e-6) } },
  { name: 'Rosenbrock 12-D, stall rule', f: rosen, x0: Array.from({ length: 12 }, (_, i) => 0.1 * Math.sin(i)), opts: { steps: Array(12).fill(0.3), maxEvaluations: 5000, fTol: 0.02, stall: { evaluations: 240, gain: 0.1 } } },
  { name: 'walled valley 4-D, a start step into the wall', f: walled, x0: [0.6, -1.2, 0.3, 0.1], opts: { steps: [0.5, -0.5, 0.2, 0.2], maxEvaluations: 3000, fTol: 1e-12, xTol: Array(4).fill(1e-9) } },
  { name: 'bumpy bowl 6-D, capped', f: bumpy, x0: [3, -2, 0, 1, 2, -1], opts: { steps: Array(6).fill(1), maxEvaluations: 700, fTol: 1e-9 } },
];

describe('speculative Nelder–Mead (nelderMeadBatch)', () => {
  for (const c of cases) {
    it(`${c.name}: the serial method's iterates, result and evaluation count, bit for bit, for 0–3 speculative points`, () => {
      const serialPts: string[] = [];
      const serialVals: number[] = [];
      const serialIt: [number, number][] = [];
      const s = nelderMead((x) => {
        serialPts.push(key(x));
        const v = c.f(x);
        serialVals.push(Number.isNaN(v) ? Infinity : v);
        return v;
      }, c.x0, { ...c.opts, onIteration: (b, e) => serialIt.push([b, e]) });
      let kinds = 0;
      for (const speculate of [0, 1, 2, 3]) {
        const batchPts: string[] = [];
        const it: [number, number][] = [];
        const usedPts: string[] = [];
        const usedVals: number[] = [];
        let largest = 0;
        const b = nelderMeadBatch(
          (xs) => {
            largest = Math.max(largest, xs.length);
            return xs.map((x) => (batchPts.push(key(Float64Array.from(x))), c.f(x)));
          },
          c.x0,
          { ...c.opts, speculate, onIteration: (v, e) => it.push([v, e]), used: (x, v) => (usedPts.push(key(x)), usedVals.push(v)) },
        );
        expect(key(b.x)).toBe(key(s.x));
        expect(Object.is(b.f, s.f)).toBe(true);
        expect(b.evaluations).toBe(s.evaluations);
        expect(b.converged).toBe(s.converged);
        expect(b.stalled).toBe(s.stalled);
        // the same best value and count after every iteration (what the stall rule and the progress see)
        expect(it).toEqual(serialIt);
        // the serial method's evaluations, point by point and value by value, in its order
        expect(usedPts).toEqual(serialPts);
        expect(usedVals).toEqual(serialVals);
        // every point the serial method evaluated, and those it did not only as the speculation's extras
        const seen = new Set(batchPts);
        for (const p of serialPts) expect(seen.has(p)).toBe(true);
        expect(batchPts.length).toBe(s.evaluations + b.speculative);
        if (speculate === 0) {
          expect(b.speculative).toBe(0);
          expect([...batchPts].sort()).toEqual([...serialPts].sort());
        } else expect(b.speculative).toBeGreaterThan(0);
        if (speculate === 3) kinds = largest;
      }
      // the batches hold the whole simplex at the start and 4 candidates an iteration
      expect(kinds).toBeGreaterThanOrEqual(c.x0.length + 1);
      expect(s.evaluations).toBeGreaterThan(50);
    });
  }

  it('each iteration with all three speculated is one batch (a shrink a second one)', () => {
    const c = cases[0];
    let sizes: number[] = [];
    const r = nelderMeadBatch((xs) => (sizes.push(xs.length), xs.map(c.f)), c.x0, { ...c.opts, speculate: 3 });
    const n = c.x0.length;
    // the start (n + 1), then batches of 4 (an iteration) or n (a shrink's points)
    expect(sizes[0]).toBe(n + 1);
    sizes = sizes.slice(1);
    for (const k of sizes) expect([4, n]).toContain(k);
    expect(r.batches).toBe(sizes.length + 1);
    // the serial method's evaluations per iteration, above one: what a batch saves in wall time
    const iterations = sizes.filter((k) => k === 4).length;
    expect((r.evaluations - n - 1) / iterations).toBeGreaterThan(1);
  });
});
