// Dense Cholesky factorisation (the lens source inversion, the lens fit's covariance, the correlated-noise
// preconditioner): a blocked right-looking algorithm whose
// trailing update (the bulk of the n³/6 multiply–adds) runs on a packed copy of the panel in 4 × 4 register tiles,
// so that each value loaded serves four multiply–adds (the unblocked inner-product form loads two values per
// multiply–add, one from a row no longer in cache at n in the thousands, and is limited by memory bandwidth).
// Float64, row-major, lower triangle; pure TypeScript.

/** Columns per panel of the blocked factorisation (48–96 measured alike at n = 4102, within a shared machine's noise). */
export const CHOLESKY_BLOCK = 64;

/**
 * Unblocked in-place Cholesky of the b×b diagonal block at (k0, k0) of the row-major n×n matrix A (lower
 * triangle). Returns false when the block is not positive definite.
 */
function factorDiagonal(A: Float64Array, n: number, k0: number, b: number): boolean {
  for (let i = 0; i < b; i++) {
    const ri = (k0 + i) * n + k0;
    for (let j = 0; j <= i; j++) {
      const rj = (k0 + j) * n + k0;
      let s = A[ri + j];
      for (let k = 0; k < j; k++) s -= A[ri + k] * A[rj + k];
      if (i === j) {
        if (!(s > 0)) return false;
        A[ri + i] = Math.sqrt(s);
      } else A[ri + j] = s / A[rj + j];
    }
  }
  return true;
}

/**
 * The lower Cholesky factor of a symmetric n×n matrix (row-major; its upper triangle zero), from the mean of A and Aᵀ
 * (a covariance computed in floating point is symmetric only to rounding), or null where it is not positive definite.
 */
export function cholesky(A: ArrayLike<number>, n: number): Float64Array | null {
  const L = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) L[i * n + j] = 0.5 * (A[i * n + j] + A[j * n + i]);
  return choleskyBlocked(L, n) ? L : null;
}

/**
 * In-place Cholesky factorisation A = L Lᵀ of a dense symmetric n×n matrix (row-major; only the lower triangle is
 * read, L overwrites it; the strict upper triangle is left as it was). Returns false when A is not positive
 * definite. Blocked right-looking: for each panel of `block` columns, the diagonal block is factorised, the rows
 * below it solved against it (L₂₁ = A₂₁ L₁₁⁻ᵀ), and the trailing matrix updated, A₂₂ −= L₂₁ L₂₁ᵀ.
 */
export function choleskyBlocked(A: Float64Array, n: number, block = CHOLESKY_BLOCK): boolean {
  if (A.length < n * n) throw new Error(`choleskyBlocked: the matrix holds ${A.length} values, fewer than ${n}²`);
  const nb = Math.max(1, Math.floor(block));
  // the packed panel: rows in groups of four, P[((g·b) + k)·4 + r] = L₂₁[4g + r, k] (zero beyond the last row)
  const P = new Float64Array((Math.ceil(n / 4) + 1) * 4 * nb);
  for (let k0 = 0; k0 < n; k0 += nb) {
    const b = Math.min(nb, n - k0);
    if (!factorDiagonal(A, n, k0, b)) return false;
    const r0 = k0 + b;
    const m = n - r0;
    if (m === 0) break;
    // L₂₁ = A₂₁ L₁₁⁻ᵀ, row by row (forward substitution), packed as it is computed
    for (let i = 0; i < m; i++) {
      const ri = (r0 + i) * n + k0;
      const pg = (i >> 2) * b * 4 + (i & 3);
      for (let j = 0; j < b; j++) {
        const rj = (k0 + j) * n + k0;
        let s = A[ri + j];
        for (let k = 0; k < j; k++) s -= A[ri + k] * A[rj + k];
        const v = s / A[rj + j];
        A[ri + j] = v;
        P[pg + j * 4] = v;
      }
    }
    const groups = Math.ceil(m / 4);
    if (m & 3) {
      // zero the padding rows of the last group
      const g = groups - 1;
      for (let r = m & 3; r < 4; r++) for (let k = 0; k < b; k++) P[(g * b + k) * 4 + r] = 0;
    }
    // A₂₂ −= L₂₁ L₂₁ᵀ (lower triangle) in 4 × 4 tiles
    for (let gi = 0; gi < groups; gi++) {
      const pi = gi * b * 4;
      const i0 = gi * 4;
      for (let gj = 0; gj <= gi; gj++) {
        const pj = gj * b * 4;
        let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
        let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
        let c20 = 0, c21 = 0, c22 = 0, c23 = 0;
        let c30 = 0, c31 = 0, c32 = 0, c33 = 0;
        // each of the four values of a column of L₂₁ᵀ's tile serves the four rows (fewer live registers)
        const end = pi + b * 4;
        for (let a = pi, c = pj; a < end; a += 4, c += 4) {
          const a0 = P[a], a1 = P[a + 1], a2 = P[a + 2], a3 = P[a + 3];
          let x = P[c];
          c00 += a0 * x; c10 += a1 * x; c20 += a2 * x; c30 += a3 * x;
          x = P[c + 1];
          c01 += a0 * x; c11 += a1 * x; c21 += a2 * x; c31 += a3 * x;
          x = P[c + 2];
          c02 += a0 * x; c12 += a1 * x; c22 += a2 * x; c32 += a3 * x;
          x = P[c + 3];
          c03 += a0 * x; c13 += a1 * x; c23 += a2 * x; c33 += a3 * x;
        }
        const j0 = gj * 4;
        const base = (r0 + i0) * n + r0 + j0;
        if (gj < gi && i0 + 4 <= m) {
          // a full tile strictly below the diagonal
          A[base] -= c00; A[base + 1] -= c01; A[base + 2] -= c02; A[base + 3] -= c03;
          const b1r = base + n;
          A[b1r] -= c10; A[b1r + 1] -= c11; A[b1r + 2] -= c12; A[b1r + 3] -= c13;
          const b2r = b1r + n;
          A[b2r] -= c20; A[b2r + 1] -= c21; A[b2r + 2] -= c22; A[b2r + 3] -= c23;
          const b3r = b2r + n;
          A[b3r] -= c30; A[b3r + 1] -= c31; A[b3r + 2] -= c32; A[b3r + 3] -= c33;
        } else {
          // a diagonal or edge tile: only entries with j ≤ i < m
          const t = [c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33];
          for (let r = 0; r < 4 && i0 + r < m; r++) {
            for (let c = 0; c < 4 && j0 + c <= i0 + r; c++) A[base + r * n + c] -= t[r * 4 + c];
          }
        }
      }
    }
  }
  return true;
}

/** Solves L Lᵀ x = b with the factor of choleskyBlocked() (both substitutions read L by rows). */
export function choleskySolveRows(L: Float64Array, n: number, b: ArrayLike<number>): Float64Array {
  const x = Float64Array.from(b);
  for (let i = 0; i < n; i++) {
    let s = x[i];
    const ri = i * n;
    for (let k = 0; k < i; k++) s -= L[ri + k] * x[k];
    x[i] = s / L[ri + i];
  }
  // Lᵀ x = z: column-oriented, row i of L is column i of Lᵀ
  for (let i = n - 1; i >= 0; i--) {
    const ri = i * n;
    const xi = x[i] / L[ri + i];
    x[i] = xi;
    for (let k = 0; k < i; k++) x[k] -= L[ri + k] * xi;
  }
  return x;
}

/**
 * A⁻¹ (row-major, symmetric, both triangles) from the factor of choleskyBlocked() or cholesky(): L⁻¹ by forward
 * substitution, then (L⁻¹)ᵀ L⁻¹; n³/2 multiply–adds. For the small blocks that need an explicit inverse.
 */
export function choleskyInverse(L: Float64Array, n: number): Float64Array {
  const li = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    li[j * n + j] = 1 / L[j * n + j];
    for (let i = j + 1; i < n; i++) {
      let s = 0;
      for (let k = j; k < i; k++) s += L[i * n + k] * li[k * n + j];
      li[i * n + j] = -s / L[i * n + i];
    }
  }
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      let s = 0;
      for (let k = j; k < n; k++) s += li[k * n + i] * li[k * n + j];
      out[i * n + j] = out[j * n + i] = s;
    }
  }
  return out;
}

/** log det A = 2 Σ log Lᵢᵢ from the factor. */
export function choleskyLogDet(L: Float64Array, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += Math.log(L[i * n + i]);
  return 2 * s;
}
