/**
 * The largest eigenpairs of a symmetric n × n matrix G, given by its product, by the Lanczos iteration with full
 * reorthogonalisation, in float64, for set-up work (no tensors): `steps` matrix–vector products build an
 * orthonormal Krylov basis Q (each new vector orthogonalised twice against all previous ones, classical
 * Gram–Schmidt), the tridiagonal Qᵀ G Q is diagonalised (dense.ts's Jacobi) and the Ritz pairs are returned,
 * largest first. With steps ≈ 2k the top k pairs of a smoothly decaying spectrum converge (on the SLACS-like
 * lens's G, 400 steps: residuals ‖Gv − θv‖ ≤ 6·10⁻⁴ λ₁ for the top 200). The Ritz vectors are orthonormal to
 * float64 rounding whether or not they have converged.
 */
import { symmetricEigen } from './dense.js';

export interface EigenPairs {
  /** the Ritz values, largest first (`steps` of them, or fewer where the Krylov space closed) */
  values: Float64Array;
  /** the top `k` Ritz vectors, row-major n × k (column i ↔ values[i]) */
  vectors: Float64Array;
  /** the number of vectors (≤ k) */
  k: number;
}

/** y = G x for a dense row-major n × n matrix (float32 or float64). */
export function denseMatVec(G: ArrayLike<number>, n: number): (x: Float64Array, y: Float64Array) => void {
  if (G.length !== n * n) throw new RangeError(`denseMatVec: ${G.length} values for a ${n} × ${n} matrix`);
  return (x, y) => {
    for (let i = 0; i < n; i++) {
      let s = 0;
      const row = i * n;
      for (let j = 0; j < n; j++) s += G[row + j] * x[j];
      y[i] = s;
    }
  };
}

/**
 * The top `k` eigenpairs of the symmetric G (`matVec(x, y)`: y ← G x) from `steps` (≥ k) Lanczos steps, started
 * from a fixed pseudo-random vector.
 */
export function lanczosTopEigenpairs(matVec: (x: Float64Array, y: Float64Array) => void, n: number, k: number, steps = 2 * k): EigenPairs {
  const m = Math.min(Math.max(steps, k + 1), n);
  const Q = new Float64Array(m * n);
  const alpha = new Float64Array(m);
  const beta = new Float64Array(m);
  // a fixed start (an LCG): reproducible, and not orthogonal to any eigenvector of a symmetric lens by construction
  const q = new Float64Array(n);
  let seed = 12345;
  let qn = 0;
  for (let i = 0; i < n; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    q[i] = seed / 2 ** 32 - 0.5;
    qn += q[i] * q[i];
  }
  for (let i = 0; i < n; i++) q[i] /= Math.sqrt(qn);
  const w = new Float64Array(n);
  const h = new Float64Array(m);
  let used = 0;
  let scale = 0;
  for (let j = 0; j < m; j++) {
    Q.set(q, j * n);
    used = j + 1;
    matVec(q, w);
    let a = 0;
    for (let i = 0; i < n; i++) a += w[i] * q[i];
    alpha[j] = a;
    scale = Math.max(scale, Math.abs(a));
    // full reorthogonalisation, twice: w ← w − Q Qᵀ w
    for (let pass = 0; pass < 2; pass++) {
      for (let l = 0; l <= j; l++) {
        let s = 0;
        const o = l * n;
        for (let i = 0; i < n; i++) s += Q[o + i] * w[i];
        h[l] = s;
      }
      for (let l = 0; l <= j; l++) {
        const s = h[l];
        const o = l * n;
        for (let i = 0; i < n; i++) w[i] -= s * Q[o + i];
      }
    }
    let b = 0;
    for (let i = 0; i < n; i++) b += w[i] * w[i];
    b = Math.sqrt(b);
    beta[j] = b;
    if (j === m - 1 || b <= 1e-12 * scale) break; // the Krylov space is invariant: its Ritz pairs are exact
    for (let i = 0; i < n; i++) q[i] = w[i] / b;
  }
  const T = new Float64Array(used * used);
  for (let j = 0; j < used; j++) {
    T[j * used + j] = alpha[j];
    if (j + 1 < used) T[j * used + j + 1] = T[(j + 1) * used + j] = beta[j];
  }
  const { values: theta, vectors: S } = symmetricEigen(T, used);
  const order = Array.from(theta.keys()).sort((x, y) => theta[y] - theta[x]);
  const values = Float64Array.from(order, (i) => theta[i]);
  const kk = Math.min(k, used);
  // Ritz vectors Y = Q S[:, order[0..kk)], n × kk
  const vectors = new Float64Array(n * kk);
  for (let c = 0; c < kk; c++) {
    const col = order[c];
    for (let l = 0; l < used; l++) {
      const s = S[l * used + col];
      if (s === 0) continue;
      const o = l * n;
      for (let i = 0; i < n; i++) vectors[i * kk + c] += s * Q[o + i];
    }
  }
  return { values, vectors, k: kk };
}
