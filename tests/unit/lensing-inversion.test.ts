import { describe, expect, it } from 'vitest';
import { csrFromTriplets, type CsrMatrix } from '../../src-shared/operators/sparse.js';
import { SeededRandom } from '../../src-shared/operators/random.js';
import { fixedSourceSolver, invert, normalEquations, optimiseLambda, regularisation, type LinearModel } from '../../src-shared/lensing/inversion.js';

// Independent dense float64 helpers (Gaussian elimination with partial pivoting): log|det A| and A⁻¹ b.
function luLogDetSolve(Ain: number[][], b: number[]): { logDet: number; x: number[] } {
  const n = Ain.length;
  const A = Ain.map((r, i) => [...r, b[i]]);
  let logDet = 0;
  for (let k = 0; k < n; k++) {
    let p = k;
    for (let i = k + 1; i < n; i++) if (Math.abs(A[i][k]) > Math.abs(A[p][k])) p = i;
    [A[k], A[p]] = [A[p], A[k]];
    logDet += Math.log(Math.abs(A[k][k]));
    for (let i = k + 1; i < n; i++) {
      const f = A[i][k] / A[k][k];
      for (let j = k; j <= n; j++) A[i][j] -= f * A[k][j];
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let i = n - 1; i >= 0; i--) {
    let s = A[i][n];
    for (let j = i + 1; j < n; j++) s -= A[i][j] * x[j];
    x[i] = s / A[i][i];
  }
  return { logDet, x };
}

function dense(m: CsrMatrix): number[][] {
  const out = Array.from({ length: m.nRows }, () => new Array<number>(m.nCols).fill(0));
  for (let r = 0; r < m.nRows; r++) for (let p = m.rowPtr[r]; p < m.rowPtr[r + 1]; p++) out[r][m.colIdx[p]] += m.values[p];
  return out;
}

/** A small random lens-like problem: sparse source columns, two light columns, a noise map. */
function problem(seed: number, nPix: number, shape: [number, number]): LinearModel {
  const rng = new SeededRandom(seed);
  const ns = shape[0] * shape[1];
  const rows: number[] = [];
  const cols: number[] = [];
  const vals: number[] = [];
  for (let r = 0; r < nPix; r++) {
    for (let k = 0; k < 5; k++) {
      rows.push(r);
      cols.push(Math.floor(rng.uniform() * ns));
      vals.push(0.2 + rng.uniform());
    }
  }
  const source = csrFromTriplets(nPix, ns, rows, cols, vals);
  const light = [0, 1].map((k) => Float64Array.from({ length: nPix }, (_, r) => Math.exp(-(((r - nPix / 2) / (8 + 10 * k)) ** 2))));
  const sig = Float64Array.from({ length: nPix }, () => 0.05 + 0.1 * rng.uniform());
  const y = Float64Array.from({ length: nPix }, (_, r) => 3 * light[0][r] + Math.sin(r / 3) + sig[r] * rng.normal());
  return { y, w: sig.map((s) => 1 / (s * s)), source, light };
}

describe('regularisation', () => {
  for (const kind of ['gradient', 'curvature'] as const) {
    it(`${kind}: log det C from the Kronecker sum equals the dense determinant, C is symmetric`, () => {
      const reg = regularisation(kind, [4, 5]);
      const C = dense(reg.C);
      for (let i = 0; i < 20; i++) for (let j = 0; j < 20; j++) expect(C[i][j]).toBe(C[j][i]);
      const { logDet } = luLogDetSolve(C, new Array<number>(20).fill(0));
      expect(reg.logDet).toBeCloseTo(logDet, 10);
    });
  }
  it('gradient: sᵀCs is the sum of squared differences with zero outside the grid', () => {
    const reg = regularisation('gradient', [3, 4]);
    const s = Array.from({ length: 12 }, (_, k) => Math.cos(k * 1.7));
    const at = (i: number, j: number) => (i < 3 && j < 4 ? s[i * 4 + j] : 0);
    let want = 0;
    for (let i = 0; i < 3; i++) for (let j = 0; j < 4; j++) want += (at(i, j + 1) - at(i, j)) ** 2 + (at(i + 1, j) - at(i, j)) ** 2;
    const C = dense(reg.C);
    let got = 0;
    for (let i = 0; i < 12; i++) for (let j = 0; j < 12; j++) got += s[i] * C[i][j] * s[j];
    expect(got).toBeCloseTo(want, 12);
  });
});

describe('inversion: the evidence against the dense Gaussian closed form', () => {
  for (const kind of ['gradient', 'curvature', 'identity'] as const) {
    it(`${kind}: log Z = log N(y; 0, Σ + B H⁻¹ Bᵀ) to 1e-10 relative, and the solution is the posterior mean`, () => {
      const m = problem(7, 45, [5, 6]);
      const reg = regularisation(kind, [5, 6]);
      const ne = normalEquations(m);
      const lambda = 0.7;
      const eps = 0.3;
      const r = invert(ne, reg, lambda, { lightPrecision: eps })!;
      // dense: covariance of y = Σ + L (εI)⁻¹ Lᵀ + M (λC)⁻¹ Mᵀ
      const M = dense(m.source);
      const C = dense(reg.C);
      const ns = 30;
      const n = m.y.length;
      const Cinv = Array.from({ length: ns }, (_, j) => luLogDetSolve(C, Array.from({ length: ns }, (_, k) => (k === j ? 1 : 0))).x);
      const K = Array.from({ length: n }, () => new Array<number>(n).fill(0));
      for (let a = 0; a < n; a++) {
        for (let b = 0; b < n; b++) {
          let v = a === b ? 1 / m.w[a] : 0;
          for (const l of m.light) v += (l[a] * l[b]) / eps;
          for (let i = 0; i < ns; i++) {
            if (M[a][i] === 0) continue;
            for (let j = 0; j < ns; j++) v += (M[a][i] * Cinv[j][i] * M[b][j]) / lambda;
          }
          K[a][b] = v;
        }
      }
      const { logDet, x } = luLogDetSolve(K, Array.from(m.y));
      let quad = 0;
      for (let a = 0; a < n; a++) quad += m.y[a] * x[a];
      const want = -0.5 * (quad + logDet + n * Math.log(2 * Math.PI));
      expect(Math.abs(r.logEvidence - want) / Math.abs(want)).toBeLessThan(1e-10);
      // posterior mean of s: (λC)⁻¹ Mᵀ K⁻¹ y
      const Mtx = Array.from({ length: ns }, (_, i) => M.reduce((s2, row, a) => s2 + row[i] * x[a], 0));
      const sMean = Array.from({ length: ns }, (_, j) => Cinv[j].reduce((s2, c, i) => s2 + c * Mtx[i], 0) / lambda);
      for (let j = 0; j < ns; j++) expect(r.source[j]).toBeCloseTo(sMean[j], 8);
      const aMean = m.light.map((l) => l.reduce((s2, v, a) => s2 + v * x[a], 0) / eps);
      for (let k = 0; k < 2; k++) expect(r.amplitudes[k]).toBeCloseTo(aMean[k], 8);
    });
  }

  it('a flat prior on the amplitudes is the ε → 0 limit with ½ n log ε left out', () => {
    const m = problem(3, 40, [4, 4]);
    const reg = regularisation('gradient', [4, 4]);
    const ne = normalEquations(m);
    const flat = invert(ne, reg, 2)!;
    const eps = 1e-9;
    const tiny = invert(ne, reg, 2, { lightPrecision: eps })!;
    expect(flat.logEvidence).toBeCloseTo(tiny.logEvidence - 0.5 * 2 * Math.log(eps), 4);
    for (let k = 0; k < 2; k++) expect(flat.amplitudes[k]).toBeCloseTo(tiny.amplitudes[k], 5);
  });

  it('λ search: the evidence at the returned λ beats a fine scan of ln λ to within the tolerance', () => {
    const m = problem(11, 60, [5, 5]);
    const reg = regularisation('curvature', [5, 5]);
    const ne = normalEquations(m);
    const { best, evaluations } = optimiseLambda(ne, reg, { tol: 0.01 });
    let scanBest = -Infinity;
    let scanT = 0;
    for (let t = -15; t <= 15; t += 0.02) {
      const r = invert(ne, reg, Math.exp(t))!;
      if (r.logEvidence > scanBest) {
        scanBest = r.logEvidence;
        scanT = t;
      }
    }
    expect(Math.abs(Math.log(best.lambda) - scanT)).toBeLessThan(0.05);
    expect(best.logEvidence).toBeGreaterThanOrEqual(scanBest - 1e-4);
    expect(evaluations).toBeLessThan(40);
  });

  it('noise-free light-only data: the amplitudes are recovered exactly and χ² is 0', () => {
    const m = problem(5, 50, [3, 3]);
    const y = Float64Array.from(m.light[0], (v, r) => 2.5 * v - 0.75 * m.light[1][r]);
    const ne = normalEquations({ ...m, y });
    const r = invert(ne, regularisation('identity', [3, 3]), 1e6)!;
    expect(r.amplitudes[0]).toBeCloseTo(2.5, 3);
    expect(r.amplitudes[1]).toBeCloseTo(-0.75, 3);
  });

  it('the fixed-source solver (Schur complement of the light block) equals the full solve', () => {
    const m = problem(13, 50, [4, 5]);
    const reg = regularisation('curvature', [4, 5]);
    const full = invert(normalEquations(m), reg, 0.4)!;
    const solve = fixedSourceSolver(m.y, m.w, m.source, reg, 0.4)!;
    const fast = solve(m.light)!;
    expect(fast.logEvidence).toBeCloseTo(full.logEvidence, 8);
    expect(fast.chi2).toBeCloseTo(full.chi2, 8);
    for (let k = 0; k < 2; k++) expect(fast.amplitudes[k]).toBeCloseTo(full.amplitudes[k], 8);
    for (let j = 0; j < 20; j++) expect(fast.source[j]).toBeCloseTo(full.source[j], 8);
    // and without light
    const none = invert(normalEquations({ ...m, light: [] }), reg, 0.4)!;
    expect(solve([])!.logEvidence).toBeCloseTo(none.logEvidence, 8);
  });

  it('the fixed-source solver with one and with three light columns (its one-pass sums for any count) equals the full solve', () => {
    const m = problem(17, 60, [4, 5]);
    const reg = regularisation('gradient', [4, 5]);
    const solve = fixedSourceSolver(m.y, m.w, m.source, reg, 0.7)!;
    const third = Float64Array.from(m.light[0], (v, r) => v * v + 0.3 * Math.cos(r));
    for (const light of [[m.light[1]], [m.light[0], m.light[1], third]]) {
      const full = invert(normalEquations({ ...m, light }), reg, 0.7)!;
      const fast = solve(light)!;
      expect(fast.logEvidence).toBeCloseTo(full.logEvidence, 8);
      expect(fast.chi2).toBeCloseTo(full.chi2, 8);
      light.forEach((_, k) => expect(fast.amplitudes[k]).toBeCloseTo(full.amplitudes[k], 8));
      for (let j = 0; j < 20; j++) expect(fast.source[j]).toBeCloseTo(full.source[j], 8);
      for (let r = 0; r < 60; r++) expect(fast.model[r]).toBeCloseTo(full.model[r], 8);
    }
  });
});
