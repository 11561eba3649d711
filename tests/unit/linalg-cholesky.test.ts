import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../src-shared/operators/random.js';
import { cholesky, choleskyBlocked, choleskyBlockedThreaded, choleskyInverse, choleskyLogDet, choleskySolveRows, runCholeskyTask, threadedFactoriser, type CholeskyTask, type CholeskyThreads } from '../../src-shared/linalg/cholesky.js';
import { invert, lnLambdaAtScale, normalEquations, optimiseLambda, parabolicMaximum, regularisation, type RegularisationKind } from '../../src-shared/lensing/inversion.js';
import { blurredLensMatrix, defaultSourceGrid } from '../../src-shared/lensing/mass.js';
import { lightColumns } from '../../src-shared/lensing/light.js';
import { annulusMask } from '../../src-shared/lensing/fit.js';
import { simulateLens } from '../helpers/lens-sim.js';

// Independent reference: the textbook unblocked Cholesky–Banachiewicz on number[][] (lower triangle).
function referenceCholesky(A: number[][]): number[][] | null {
  const n = A.length;
  const L = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = A[i][j];
      for (let k = 0; k < j; k++) s -= L[i][k] * L[j][k];
      if (i === j) {
        if (!(s > 0)) return null;
        L[i][i] = Math.sqrt(s);
      } else L[i][j] = s / L[j][j];
    }
  }
  return L;
}

/** A random SPD matrix G Gᵀ/m + δ I (G n×m Gaussian): well or badly conditioned by δ. */
function randomSpd(rng: SeededRandom, n: number, m: number, delta: number): number[][] {
  const G = Array.from({ length: n }, () => Array.from({ length: m }, () => rng.normal()));
  return Array.from({ length: n }, (_, i) =>
    Array.from({ length: n }, (_, j) => G[i].reduce((s, g, k) => s + g * G[j][k], 0) / m + (i === j ? delta : 0)),
  );
}

function flat(A: number[][], upperFill = 0): Float64Array {
  const n = A.length;
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) out[i * n + j] = j <= i ? A[i][j] : upperFill;
  return out;
}

describe('blocked dense Cholesky', () => {
  for (const [n, block] of [[1, 64], [5, 2], [37, 4], [67, 16], [130, 64], [131, 3], [203, 48]] as const) {
    it(`n = ${n}, panels of ${block}: the factor equals the unblocked one, L Lᵀ = A, the upper triangle is untouched`, () => {
      const rng = new SeededRandom(n * 7 + block);
      const A = randomSpd(rng, n, n + 3, 0.05);
      const want = referenceCholesky(A)!;
      const L = flat(A, 12345);
      expect(choleskyBlocked(L, n, block)).toBe(true);
      let maxL = 0;
      for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) maxL = Math.max(maxL, Math.abs(want[i][j]));
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) {
          if (j > i) expect(L[i * n + j]).toBe(12345);
          else expect(Math.abs(L[i * n + j] - want[i][j])).toBeLessThan(1e-12 * maxL);
        }
      }
      for (let i = 0; i < n; i++) {
        for (let j = 0; j <= i; j++) {
          let s = 0;
          for (let k = 0; k <= j; k++) s += L[i * n + k] * L[j * n + k];
          expect(Math.abs(s - A[i][j])).toBeLessThan(1e-12 * (1 + Math.abs(A[i][i])));
        }
      }
    });
  }

  it('solves L Lᵀ x = b and gives log det A (against the reference factor)', () => {
    const rng = new SeededRandom(3);
    const n = 97;
    const A = randomSpd(rng, n, 120, 0.01);
    const L = flat(A);
    expect(choleskyBlocked(L, n, 8)).toBe(true);
    const b = Array.from({ length: n }, () => rng.normal());
    const x = choleskySolveRows(L, n, b);
    for (let i = 0; i < n; i++) {
      const Ax = A[i].reduce((s, a, j) => s + a * x[j], 0);
      expect(Math.abs(Ax - b[i])).toBeLessThan(1e-9);
    }
    const ref = referenceCholesky(A)!;
    const logDet = 2 * ref.reduce((s, row, i) => s + Math.log(row[i]), 0);
    expect(choleskyLogDet(L, n)).toBeCloseTo(logDet, 10);
  });

  it('inverts A from its factor: A A⁻¹ = I, A⁻¹ symmetric', () => {
    const rng = new SeededRandom(5);
    const n = 41;
    const A = randomSpd(rng, n, 60, 0.05);
    const L = cholesky(Float64Array.from(A.flat()), n);
    expect(L).not.toBeNull();
    const inv = choleskyInverse(L!, n);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let k = 0; k < n; k++) s += A[i][k] * inv[k * n + j];
        expect(Math.abs(s - (i === j ? 1 : 0))).toBeLessThan(1e-9);
        expect(inv[i * n + j]).toBe(inv[j * n + i]);
      }
    }
  });

  it('refuses a matrix that is not positive definite, in the first panel or a later one', () => {
    for (const bad of [2, 45]) {
      const rng = new SeededRandom(bad);
      const n = 60;
      const A = randomSpd(rng, n, 80, 0.1);
      // a negative diagonal entry at index `bad` (eᵀAe < 0): indefinite
      A[bad][bad] -= 50;
      expect(referenceCholesky(A)).toBeNull();
      expect(choleskyBlocked(flat(A), n, 16)).toBe(false);
    }
  });
});

// A real lens system: the blurred lens matrix of a simulated HST-like lens (tests/helpers/lens-sim.ts) on a 20²
// source grid with one light column, n = 401 unknowns: several panels and a partial last one.
describe('the lens inversion with the blocked factorisation', () => {
  const sim = simulateLens({ size: 48, psfSize: 9, seed: 2, galaxy: 1, lens: { thetaE: 0.8 } });
  const mask = annulusMask(sim.image, 0, 1.2);
  const pixels = Int32Array.from([...mask.keys()].filter((k) => mask[k]));
  const y = Float64Array.from(pixels, (k) => sim.data[k]);
  const w = Float64Array.from(pixels, (k) => 1 / sim.sigma[k] ** 2);
  const grid = defaultSourceGrid(sim.truth.lens, sim.image, { n: 20, margin: 1.1, pixels });
  const source = blurredLensMatrix(sim.truth.lens, sim.image, grid, 2, sim.psf, pixels);
  const light = lightColumns([sim.truth.light], sim.image, sim.psf, pixels, 2);
  const ne = normalEquations({ y, w, source, light });

  it('F = Bᵀ W B and d = Bᵀ W y against a direct dense product', () => {
    const n = 401;
    // dense rows of [L M]
    const rows: Float64Array[] = [];
    for (let r = 0; r < pixels.length; r++) {
      const row = new Float64Array(n);
      row[0] = light[0][r];
      for (let p = source.rowPtr[r]; p < source.rowPtr[r + 1]; p++) row[1 + source.colIdx[p]] += source.values[p];
      rows.push(row);
    }
    let maxF = 0;
    for (let i = 0; i < n; i++) maxF = Math.max(maxF, Math.abs(ne.F[i * n + i]));
    for (let i = 0; i < n; i += 7) {
      for (let j = 0; j <= i; j++) {
        let s = 0;
        for (let r = 0; r < rows.length; r++) s += w[r] * rows[r][i] * rows[r][j];
        expect(Math.abs(ne.F[i * n + j] - s)).toBeLessThan(1e-12 * maxF);
      }
      let dv = 0;
      for (let r = 0; r < rows.length; r++) dv += w[r] * rows[r][i] * y[r];
      expect(ne.d[i]).toBeCloseTo(dv, 6);
    }
  });

  it('log det(F + λC) and the solution equal the unblocked reference to 1e-10', () => {
    const reg = regularisation('gradient', grid.shape);
    const lambda = 30;
    const n = 401;
    const A: number[][] = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (j <= i ? ne.F[i * n + j] : ne.F[j * n + i])));
    for (let r = 0; r < reg.C.nRows; r++) for (let p = reg.C.rowPtr[r]; p < reg.C.rowPtr[r + 1]; p++) A[r + 1][reg.C.colIdx[p] + 1] += lambda * reg.C.values[p];
    const L = referenceCholesky(A)!;
    const logDet = 2 * L.reduce((s, row, i) => s + Math.log(row[i]), 0);
    const r = invert(ne, reg, lambda)!;
    expect(Math.abs(r.logDetFH - logDet)).toBeLessThan(1e-10 * Math.abs(logDet));
    // the solution: A u = d
    const u = [...r.amplitudes, ...r.source];
    let maxRes = 0;
    let maxD = 0;
    for (let i = 0; i < n; i++) {
      maxRes = Math.max(maxRes, Math.abs(A[i].reduce((s, a, j) => s + a * u[j], 0) - ne.d[i]));
      maxD = Math.max(maxD, Math.abs(ne.d[i]));
    }
    expect(maxRes).toBeLessThan(1e-10 * maxD);
  });

  for (const kind of ['gradient', 'curvature'] as const) {
    it(`${kind}: the parabolic λ search from the fit grid's λ finds the fine scan's optimum in ≤ 7 factorisations`, () => {
      const reg = regularisation(kind, grid.shape);
      // the fit grid: 12² pixels over the same region, its λ carried to the 20² pixels
      const fitGrid = { shape: [12, 12] as [number, number], scale: (grid.scale * 20) / 12 };
      const neFit = normalEquations({ y, w, source: blurredLensMatrix(sim.truth.lens, sim.image, fitGrid, 2, sim.psf, pixels), light });
      const lamFit = optimiseLambda(neFit, regularisation(kind, fitGrid.shape), { tol: 0.05 }).best.lambda;
      const start = lnLambdaAtScale(kind, Math.log(lamFit), fitGrid.scale, grid.scale);
      const p = optimiseLambda(ne, reg, { start, step: 0.5, tol: 0.05, method: 'parabolic' });
      const g = optimiseLambda(ne, reg, { tol: 0.05 });
      let scanBest = -Infinity;
      let scanT = 0;
      const c = Math.log(g.best.lambda);
      for (let t = c - 1; t <= c + 1; t += 0.01) {
        const r = invert(ne, reg, Math.exp(t))!;
        if (r.logEvidence > scanBest) {
          scanBest = r.logEvidence;
          scanT = t;
        }
      }
      expect(Math.abs(Math.log(p.best.lambda) - scanT)).toBeLessThan(0.025 + 0.01);
      // the evidence at the returned λ: within the quadratic loss of (tol/2)² of the scan's best
      expect(p.best.logEvidence).toBeGreaterThan(scanBest - 0.05);
      expect(p.evaluations).toBeLessThanOrEqual(7);
      expect(p.evaluations).toBeLessThan(g.evaluations);
    });
  }
});

describe('the λ search', () => {
  it('parabolic interpolation finds the maximum of smooth non-parabolic functions to tol/2 and falls back on golden steps', () => {
    const cases: [(t: number) => number, number][] = [
      [(t) => -((t - 0.37) ** 2) + 0.3 * (t - 0.37) ** 3, 0.37],
      [(t) => -Math.cosh(2 * (t + 1.2)), -1.2],
      [(t) => -(Math.abs(t - 0.8) ** 1.5), 0.8],
      [(t) => -((t - 0.9) ** 4), 0.9],
    ];
    for (const [f, want] of cases) {
      const tol = 0.02;
      const got = parabolicMaximum(f, [-3, 0, 3], tol);
      expect(Math.abs(got - want)).toBeLessThan(tol);
    }
  });

  it('parabolic interpolation returns NaN, not a TypeError, where f is −∞ at every point (no λ gave a positive definite system)', () => {
    expect(parabolicMaximum(() => -Infinity, [-3, 0, 3], 0.02)).toBeNaN();
    // one finite point at the bracket's edge: that point
    expect(parabolicMaximum((t) => (t === 3 ? 1 : -Infinity), [-3, 0, 3], 0.02)).toBe(3);
  });

  it('the parabolic method finds the fine scan\'s λ on a small problem from a poor start', () => {
    const rng = new SeededRandom(11);
    const ns = 25;
    const nPix = 60;
    const rows: number[] = [];
    const cols: number[] = [];
    const vals: number[] = [];
    for (let r = 0; r < nPix; r++) for (let k = 0; k < 5; k++) {
      rows.push(r);
      cols.push(Math.floor(rng.uniform() * ns));
      vals.push(0.2 + rng.uniform());
    }
    const m = {
      y: Float64Array.from({ length: nPix }, (_, r) => Math.sin(r / 3) + 0.1 * rng.normal()),
      w: new Float64Array(nPix).fill(100),
      source: csr(nPix, ns, rows, cols, vals),
      light: [],
    };
    const ne = normalEquations(m);
    const reg = regularisation('curvature', [5, 5]);
    let scanBest = -Infinity;
    let scanT = 0;
    for (let t = -15; t <= 15; t += 0.01) {
      const r = invert(ne, reg, Math.exp(t))!;
      if (r.logEvidence > scanBest) {
        scanBest = r.logEvidence;
        scanT = t;
      }
    }
    for (const start of [scanT - 6, scanT + 0.3, scanT + 9]) {
      const p = optimiseLambda(ne, reg, { start, step: 0.5, tol: 0.02, method: 'parabolic' });
      expect(Math.abs(Math.log(p.best.lambda) - scanT)).toBeLessThan(0.02);
      expect(p.best.logEvidence).toBeGreaterThanOrEqual(scanBest - 1e-3);
    }
  });

  for (const [kind, tolRel] of [['gradient', 0.03], ['curvature', 0.05], ['identity', 0.03]] as [RegularisationKind, number][]) {
    it(`${kind}: λ carried to another pixel size keeps λ sᵀCs of a smooth source`, () => {
      // a Gaussian source of σ = 0.3″ sampled on 40² pixels of 0.05″ and 80² of 0.025″ (the same area)
      const q = (n: number, p: number) => {
        const s = new Float64Array(n * n);
        for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
          const x = (j - (n - 1) / 2) * p;
          const yy = (i - (n - 1) / 2) * p;
          s[i * n + j] = Math.exp(-(x * x + yy * yy) / (2 * 0.3 ** 2));
        }
        const C = regularisation(kind, [n, n]).C;
        let v = 0;
        for (let r = 0; r < C.nRows; r++) for (let k = C.rowPtr[r]; k < C.rowPtr[r + 1]; k++) v += s[r] * C.values[k] * s[C.colIdx[k]];
        return v;
      };
      const q1 = q(40, 0.05);
      const q2 = q(80, 0.025);
      const lam2 = Math.exp(lnLambdaAtScale(kind, 0, 0.05, 0.025));
      expect(Math.abs((lam2 * q2) / q1 - 1)).toBeLessThan(tolRel);
    });
  }
});

function csr(nRows: number, nCols: number, rows: number[], cols: number[], vals: number[]) {
  // sorted, duplicates summed (the CSR contract)
  const m = new Map<number, number>();
  rows.forEach((r, k) => m.set(r * nCols + cols[k], (m.get(r * nCols + cols[k]) ?? 0) + vals[k]));
  const keys = [...m.keys()].sort((a, b) => a - b);
  const rowPtr = new Int32Array(nRows + 1);
  const colIdx = new Int32Array(keys.length);
  const values = new Float64Array(keys.length);
  keys.forEach((key, k) => {
    const r = Math.floor(key / nCols);
    rowPtr[r + 1]++;
    colIdx[k] = key - r * nCols;
    values[k] = m.get(key)!;
  });
  for (let r = 0; r < nRows; r++) rowPtr[r + 1] += rowPtr[r];
  return { nRows, nCols, rowPtr, colIdx, values };
}

// The factorisation with each panel's parts on other threads (choleskyBlockedThreaded): here the "threads" run a
// batch's parts on this thread in a scrambled order (last first, then the rest interleaved), so that no part may rely
// on another of its batch having run before it; the pool's real threads are tested in lensing-fit-threads.test.ts.
describe('the blocked Cholesky split over threads', () => {
  const scrambled = (threads: number) => {
    const seen = { batches: 0, rows: 0, update: 0 };
    const t: CholeskyThreads = {
      threads,
      run(tasks: CholeskyTask[]) {
        seen.batches++;
        const order = tasks.map((_, i) => i).reverse();
        const mixed = [...order.filter((_, k) => k % 2 === 1), ...order.filter((_, k) => k % 2 === 0)];
        for (const i of mixed) {
          seen[tasks[i].kind]++;
          runCholeskyTask(tasks[i]);
        }
      },
    };
    return { t, seen };
  };
  const sharedCopy = (A: Float64Array) => {
    const S = new Float64Array(new SharedArrayBuffer(8 * A.length));
    S.set(A);
    return S;
  };

  for (const [n, block] of [[300, 64], [517, 64], [403, 48], [261, 16]] as const) {
    it(`n = ${n}, panels of ${block}: the factor on 2, 3 and 5 threads is the one-thread factor bit for bit and the dense reference's`, () => {
      const rng = new SeededRandom(n + block);
      const A = randomSpd(rng, n, n + 5, 0.02);
      const one = flat(A, -7);
      expect(choleskyBlocked(one, n, block)).toBe(true);
      const want = referenceCholesky(A)!;
      let maxL = 0;
      for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) maxL = Math.max(maxL, Math.abs(want[i][j]));
      for (const threads of [2, 3, 5]) {
        const { t, seen } = scrambled(threads);
        const S = sharedCopy(flat(A, -7));
        expect(choleskyBlockedThreaded(S, n, t, { block, minWork: 0 })).toBe(true);
        // split: several batches of several parts each (not one part doing the whole)
        expect(seen.batches).toBeGreaterThanOrEqual(2 * Math.floor((n - 2 * block) / block));
        expect(seen.update).toBeGreaterThan(seen.batches);
        let firstDiff = -1;
        for (let k = 0; k < n * n; k++) {
          if (!Object.is(S[k], one[k])) {
            firstDiff = k;
            break;
          }
        }
        expect(firstDiff).toBe(-1);
        // and the factor itself: the textbook one to rounding, the upper triangle untouched
        for (let i = 0; i < n; i += 3) {
          for (let j = 0; j < n; j++) {
            if (j > i) expect(S[i * n + j]).toBe(-7);
            else expect(Math.abs(S[i * n + j] - want[i][j])).toBeLessThan(1e-12 * maxL);
          }
        }
      }
    });
  }

  it('refuses a matrix that is not positive definite in a later panel, as one thread does', () => {
    const rng = new SeededRandom(11);
    const n = 320;
    const A = randomSpd(rng, n, 330, 0.05);
    A[250][250] -= 400;
    expect(choleskyBlocked(flat(A), n)).toBe(false);
    const { t, seen } = scrambled(2);
    expect(choleskyBlockedThreaded(sharedCopy(flat(A)), n, t, { minWork: 0 })).toBe(false);
    expect(seen.batches).toBeGreaterThan(0);
  });

  it('the factoriser: shared memory and the threads from its order on, this thread below it; the inversion the same bit for bit', () => {
    const rng = new SeededRandom(4);
    const n = 290;
    const A = flat(randomSpd(rng, n, 300, 0.05));
    const { t, seen } = scrambled(2);
    const fz = threadedFactoriser(t, 280, 0);
    const big = fz.matrix(n);
    expect(big.buffer instanceof SharedArrayBuffer).toBe(true);
    expect(fz.matrix(279).buffer instanceof SharedArrayBuffer).toBe(false);
    big.set(A);
    const one = A.slice();
    expect(fz.factor(big, n)).toBe(true);
    expect(choleskyBlocked(one, n)).toBe(true);
    expect(seen.batches).toBeGreaterThan(0);
    expect(big.every((v, k) => Object.is(v, one[k]))).toBe(true);
    // a plain array of that order is factorised here
    const b0 = seen.batches;
    const plain = A.slice();
    expect(fz.factor(plain, n)).toBe(true);
    expect(seen.batches).toBe(b0);
    expect(plain.every((v, k) => Object.is(v, one[k]))).toBe(true);
  });
});
