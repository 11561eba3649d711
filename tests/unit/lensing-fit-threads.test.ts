import { describe, expect, it } from 'vitest';
import { simulateLens } from '../helpers/lens-sim.js';
import { annulusMask, fitLens, fitPixels, SPLIT_MIN_PIXELS, type LensFitOptions, type LensFitResult, type LensFitTaskState } from '../../src-shared/lensing/fit.js';
import { openLensFitPool } from '../../src-main/lens-fit/pool/pool.js';
import { blurredLensMatrix, defaultSourceGrid, lensParamsFromMass, type MassVector } from '../../src-shared/lensing/mass.js';
import { normalEquations, optimiseLambda, regularisation } from '../../src-shared/lensing/inversion.js';
import { coreComponents, lightColumns, type SersicParams } from '../../src-shared/lensing/light.js';
import { choleskyBlocked } from '../../src-shared/linalg/cholesky.js';

// The lens fit with its independent evaluations on worker threads (fitLens's `parallel`, src-main/lens-fit/pool):
// the same fit as on one thread, bit for bit — every parameter, error, covariance part, evidence, image product and
// evaluation count — on the 72² simulation of lensing-fit.test.ts (SIE + shear, one Sérsic component, 9×9 PSF),
// with fewer evaluations per stage to keep it short. The cycles' Nelder–Mead runs (step 5: the light's at a fixed lens,
// the mass's) go to the threads as the speculative Nelder–Mead's batches (nelderMeadBatch): the same iterates and counts.
// The sequential evaluations' source part on the fit grid (B and F = BᵀWB) is split over the threads
// (LensFitParallel.sourcePart: B by blocks of image rows, F by bands of its rows; more blocks on more threads): the
// same numbers on 2 and 3 threads.

/** Every number of a result as text (JSON writes a double's shortest round trip: equal text, equal bits). */
function bits(r: LensFitResult): string {
  const { seconds: _s, ...rest } = r;
  return JSON.stringify(rest, (_k, v) => (ArrayBuffer.isView(v) ? Array.from(v as Float64Array, (x) => (Object.is(x, -0) ? '-0' : Number.isNaN(x) ? 'NaN' : x)) : v));
}


describe('lens fit on worker threads', () => {
  const sim = simulateLens({ size: 72, psfSize: 9, seed: 1, galaxy: 3 });
  const data = { data: sim.data, sigma: sim.sigma, image: sim.image, mask: annulusMask(sim.image, 0, 1.75), psf: sim.psf };

  /** A lens near the truth, its n² source grid (margin), the blurred lens matrix at the fitted pixels, their data and weights. */
  function systemNearTruth(n: number, margin: number) {
    const pixels = fitPixels(data);
    const mass: MassVector = { thetaE: 1.19, e1: 0.07, e2: 0.05, x0: 0.03, y0: -0.02, gamma1: 0.03, gamma2: -0.02 };
    const grid = defaultSourceGrid(lensParamsFromMass(mass), data.image, { n, margin, pixels });
    const B = blurredLensMatrix(lensParamsFromMass(mass), data.image, grid, 2, data.psf, pixels);
    const y = Float64Array.from(pixels, (p) => data.data[p]);
    const w = Float64Array.from(pixels, (p) => 1 / data.sigma[p] ** 2);
    return { pixels, mass, grid, B, y, w };
  }

  const pair = (o: LensFitOptions, speculate: number, threads = 2) => {
    const serial = fitLens(data, o);
    // the factorisations split from 300 unknowns on: the fit grid's 18² + 1 and the final grid's 24² + 1 here
    const pool = openLensFitPool(threads, { factorMinN: 300, columns: true });
    const tasks: string[] = [];
    const messages: string[] = [];
    let states = 0;
    let splits = 0;
    // the calling thread's factorisations split over the threads (LensFitParallel.factor; those of a shared matrix)
    let factored = 0;
    // the light's columns made by the threads (LensFitParallel.lightColumns)
    let columnSplits = 0;
    let threaded: LensFitResult;
    try {
      threaded = fitLens(data, {
        ...o,
        onProgress: (p) => messages.push(p.message),
        parallel: {
          speculate,
          begin: (s: LensFitTaskState) => {
            states++;
            pool.begin(s);
          },
          run: (t, p) => {
            tasks.push(...t.map((x) => x.kind));
            return pool.run(t, p);
          },
          sourcePart: (m: MassVector) => {
            splits++;
            return pool.sourcePart!(m);
          },
          lightColumns: (l: SersicParams[]) => {
            columnSplits++;
            return pool.lightColumns!(l);
          },
          factor: {
            matrix: (n: number) => pool.factor!.matrix(n),
            factor: (A: Float64Array, n: number) => {
              if (A.buffer instanceof SharedArrayBuffer) factored++;
              return pool.factor!.factor(A, n);
            },
          },
        },
      });
    } finally {
      pool.close();
    }
    return { serial, threaded, tasks, states, messages, splits, factored, columnSplits };
  };
  // the cycles' Nelder–Mead runs (the light's at a fixed lens, the mass's) went to the threads as speculative
  // batches: the serial count, and extra evaluations beside it
  const speculated = (messages: string[], serial: LensFitResult) => {
    const m = messages.map((x) => /light at a fixed lens on threads: (\d+) evaluations and (\d+) speculative ones beside; the mass runs (\d+) speculative/.exec(x)).find((x) => x);
    expect(m).toBeTruthy();
    expect(Number(m![1])).toBe(serial.evaluations.lightAtFixedLens);
    expect(Number(m![2])).toBeGreaterThan(0);
    expect(Number(m![3])).toBeGreaterThan(0);
  };

  it('binned starts, errors and their systematic terms: the same result as one thread, bit for bit', () => {
    const o: LensFitOptions = { starts: 2, fitSourceSize: 18, sourceSize: 24, maxEvaluations: 300, lightComponents: 1 };
    const { serial, threaded, tasks, states, messages, splits } = pair(o, 3);
    // the threads ran what they are for: the state sent once, the ellipticity scan's and the Hessians' evaluations,
    // both starts, the other grids' λ
    expect(states).toBe(1);
    expect(tasks.filter((k) => k === 'start')).toHaveLength(2);
    expect(tasks.filter((k) => k === 'lambda')).toHaveLength(5);
    expect(tasks.filter((k) => k === 'evidence').length).toBeGreaterThan(100);
    expect(serial.evaluations.massBinned).toBeGreaterThan(100);
    expect(serial.covarianceParts?.grid).toBeTruthy();
    speculated(messages, serial);
    // with the cycles' runs speculative, the evaluations left on the calling thread are few (λ searches): split
    expect(fitPixels(data).length).toBeGreaterThanOrEqual(SPLIT_MIN_PIXELS);
    expect(splits).toBeGreaterThan(0);
    expect(bits(threaded)).toBe(bits(serial));
  }, 1_200_000);

  it('starts on the full image: the same result as one thread, bit for bit', () => {
    const o: LensFitOptions = { starts: 2, fitSourceSize: 18, sourceSize: 24, maxEvaluations: 200, lightComponents: 1, coarseStarts: false, systematicErrors: false };
    const { serial, threaded, messages } = pair(o, 1);
    expect(serial.evaluations.massBinned).toBeUndefined();
    expect(serial.covariance).toBeTruthy();
    speculated(messages, serial);
    expect(bits(threaded)).toBe(bits(serial));
  }, 1_200_000);

  it('the cycles on the calling thread, each new lens\'s evaluation split over 3 threads: the same result as one thread, bit for bit', () => {
    // no speculation: the cycles' hundreds of evaluations at new lenses are the split ones (on three threads: other
    // blocks and bands than on two). A change in the last bit of F need not move this fit's search (measured: a
    // product regrouped in normalEquationsBand, (w·b_j)·b_i for (w·b_i)·b_j, left it unchanged); the test below
    // compares F itself
    const o: LensFitOptions = { starts: 2, fitSourceSize: 18, sourceSize: 24, maxEvaluations: 200, lightComponents: 1, errors: false };
    const { serial, threaded, splits, messages, factored, columnSplits } = pair(o, 0, 3);
    expect(messages.some((m) => /speculative/.test(m))).toBe(false);
    expect(splits).toBeGreaterThan(100);
    // the final grid's λ search (24² + 1 unknowns) and the cycles' new lenses (18² + 1) factorised on the threads
    expect(factored).toBeGreaterThan(100 + serial.evaluations.sourceLambda!);
    // the light's runs at a fixed lens on the calling thread: their columns made by the threads
    expect(columnSplits).toBeGreaterThan(100);
    expect(serial.evaluations.joint).toBeGreaterThan(100);
    expect(bits(threaded)).toBe(bits(serial));
  }, 1_200_000);

  it('one evaluation split over 2 and 3 threads: B, F, d and the light\'s columns are the one thread\'s bit for bit', () => {
    const { pixels, mass, grid: fitGrid, B, y, w } = systemNearTruth(18, 1.3);
    const ne = normalEquations({ y, w, source: B, light: [] });
    const same = (a: ArrayLike<number>, b: ArrayLike<number>) => a.length === b.length && Array.from(a).every((v, i) => Object.is(v, b[i]));
    for (const threads of [2, 3]) {
      const pool = openLensFitPool(threads, { columns: true });
      try {
        pool.begin({ data, pixels, fitGrid, regularisation: 'curvature', supersample: 2, coarse: false, epl: false, massTol: [], maxEvaluations: 10 });
        for (const m of [mass, { ...mass, thetaE: 1.21 }]) {
          const s = pool.sourcePart!(m);
          const Bm = m === mass ? B : blurredLensMatrix(lensParamsFromMass(m), data.image, fitGrid, 2, data.psf, pixels);
          const nm = m === mass ? ne : normalEquations({ y, w, source: Bm, light: [] });
          expect(s.parts).toHaveLength(1);
          expect(same(s.parts[0].rowPtr, Bm.rowPtr) && same(s.parts[0].colIdx, Bm.colIdx) && same(s.parts[0].values, Bm.values)).toBe(true);
          expect(same(s.F, nm.F)).toBe(true);
          expect(same(s.d, nm.d)).toBe(true);
        }
        // the light's columns in blocks of image rows: the one thread's, one component and two at once
        // (a tied core Gaussian among them: rendered and blurred within its support box)
        const comps: SersicParams[] = [
          { x0: 0.03, y0: -0.02, e1: 0.04, e2: 0.1, rEff: 0.5, n: 3.5 },
          { x0: 0.02, y0: -0.01, e1: -0.05, e2: 0.02, rEff: 0.2, n: 1.2 },
          ...coreComponents({ x0: 0.03, y0: -0.02, e1: 0.04, e2: 0.1, rEff: 0.5, n: 3.5 }, 2, data.image.scale),
        ];
        const want = lightColumns(comps, data.image, data.psf, pixels, 2);
        const got = pool.lightColumns!(comps);
        expect(got).toHaveLength(4);
        expect(got.every((g, k) => same(g, want[k]))).toBe(true);
        expect(want[3].some((v) => v > 0)).toBe(true);
        expect(same(pool.lightColumns!([comps[1]])[0], want[1])).toBe(true);
        expect(want[0].every((v) => v > 0)).toBe(true);
      } finally {
        pool.close();
      }
    }
    // not trivially: a B of many entries, F's diagonal filled
    expect(B.values.length).toBeGreaterThan(10 * pixels.length);
    expect(ne.F.some((v, k) => k % (ne.nSource + 1) === 0 && v > 0)).toBe(true);
  }, 120_000);

  it('the factorisation on 2 and 3 threads: the one thread\'s factor, λ search and inversion bit for bit', () => {
    // the final inversion's system on a 26² grid with the light's column: 677 unknowns, eleven panels
    const { pixels, grid, B, y, w } = systemNearTruth(26, 1.1);
    const light = lightColumns([{ x0: 0, y0: 0, e1: 0.05, e2: 0, rEff: 0.4, n: 3 }], data.image, data.psf, pixels, 2);
    const ne = normalEquations({ y, w, source: B, light });
    const reg = regularisation('curvature', grid.shape);
    const n = ne.nLight + ne.nSource;
    const one = optimiseLambda(ne, reg, { step: 0.5, tol: 0.05, method: 'parabolic' });
    const A1 = ne.F.slice();
    for (let k = 0; k < n; k++) A1[k * n + k] += 1e-3 * (1 + A1[k * n + k]);
    const L1 = A1.slice();
    expect(choleskyBlocked(L1, n)).toBe(true);
    const same = (a: ArrayLike<number>, b: ArrayLike<number>) => a.length === b.length && Array.from(a).every((v, i) => Object.is(v, b[i]));
    for (const threads of [2, 3]) {
      const pool = openLensFitPool(threads);
      try {
        // (the light's columns stay on the calling thread unless asked for: columns: true)
        expect(pool.lightColumns).toBeUndefined();
        const fz = pool.factor!;
        const S = fz.matrix(n);
        expect(S.buffer instanceof SharedArrayBuffer).toBe(true);
        S.set(A1);
        expect(fz.factor(S, n)).toBe(true);
        expect(same(S, L1)).toBe(true);
        const th = optimiseLambda(ne, reg, { step: 0.5, tol: 0.05, method: 'parabolic', factor: fz });
        expect(th.evaluations).toBe(one.evaluations);
        for (const k of ['lambda', 'logEvidence', 'logDetFH', 'chi2', 'regularisationTerm'] as const) expect(Object.is(th.best[k], one.best[k])).toBe(true);
        expect(same(th.best.source, one.best.source) && same(th.best.amplitudes, one.best.amplitudes)).toBe(true);
      } finally {
        pool.close();
      }
    }
    expect(one.evaluations).toBeGreaterThanOrEqual(3);
  }, 300_000);

  it('a stop while the workers compute ends the fit within the wait\'s poll, with the host\'s error', () => {
    let stop = false;
    let asked = 0;
    class Stopped extends Error {}
    const pool = openLensFitPool(2, { shouldStop: () => stop, stopError: () => new Stopped('stopped') });
    let t0 = 0;
    try {
      expect(() =>
        fitLens(data, {
          starts: 2,
          fitSourceSize: 18,
          sourceSize: 24,
          maxEvaluations: 300,
          lightComponents: 1,
          parallel: {
            begin: (st) => pool.begin(st),
            run: (t, p) => {
              asked++;
              // the ellipticity scan's batch: the stop comes while the workers compute it
              stop = true;
              t0 = Date.now();
              return pool.run(t, p);
            },
          },
        }),
      ).toThrow(Stopped);
      expect(asked).toBe(1);
      expect(Date.now() - t0).toBeLessThan(1000);
      expect(() => pool.run([], () => {})).toThrow(/closed/);
    } finally {
      pool.close();
    }
  }, 600_000);

  it('a task that fails ends the batch with the worker\'s message and closes the pool', () => {
    const pool = openLensFitPool(2);
    try {
      // a state without the binned image, then a task on it
      const pixels = Int32Array.from({ length: 72 * 72 }, (_, k) => k);
      pool.begin({ data, pixels, fitGrid: { shape: [18, 18], scale: 0.08 }, regularisation: 'gradient', supersample: 2, coarse: false, epl: false, massTol: [], maxEvaluations: 10 });
      const mass = { thetaE: 1.2, e1: 0, e2: 0, x0: 0, y0: 0, gamma1: 0, gamma2: 0 };
      expect(() => pool.run([{ kind: 'lambda', on: 'coarse', mass, light: [] }], () => {})).toThrow(/worker thread [12]\/2 failed: lens fit: a task on the binned image/);
      expect(() => pool.run([{ kind: 'lambda', on: 'fit', mass, light: [] }], () => {})).toThrow(/closed/);
    } finally {
      pool.close();
    }
  }, 120_000);
});
