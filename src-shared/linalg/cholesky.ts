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
  const P = new Float64Array(panelLength(n, nb));
  for (let k0 = 0; k0 < n; k0 += nb) {
    const b = Math.min(nb, n - k0);
    if (!factorDiagonal(A, n, k0, b)) return false;
    const m = n - k0 - b;
    if (m === 0) break;
    panelRows(A, n, k0, b, P, 0, m);
    padPanel(P, m, b);
    trailingUpdate(A, n, k0, b, P, 0, Math.ceil(m / 4));
  }
  return true;
}

/** The packed panel's length for an n×n matrix and panels of nb columns. */
export function panelLength(n: number, nb: number): number {
  return (Math.ceil(n / 4) + 1) * 4 * nb;
}

/**
 * Rows [i0, i1) (counted from the panel's first row below the diagonal block, r0 = k0 + b) of L₂₁ = A₂₁ L₁₁⁻ᵀ, by
 * forward substitution, written into A and packed into P: rows in groups of four,
 * P[((g·b) + k)·4 + r] = L₂₁[4g + r, k]. Each row depends on its own entries and L₁₁ alone.
 */
export function panelRows(A: Float64Array, n: number, k0: number, b: number, P: Float64Array, i0: number, i1: number): void {
  const r0 = k0 + b;
  for (let i = i0; i < i1; i++) {
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
}

/** Zeroes the padding rows of the packed panel's last group (m rows below the diagonal block). */
function padPanel(P: Float64Array, m: number, b: number): void {
  if (!(m & 3)) return;
  const g = Math.ceil(m / 4) - 1;
  for (let r = m & 3; r < 4; r++) for (let k = 0; k < b; k++) P[(g * b + k) * 4 + r] = 0;
}

/**
 * A₂₂ −= L₂₁ L₂₁ᵀ (lower triangle) for the tile rows [g0, g1) of the trailing matrix below the panel at k0 (tile row
 * g: its rows r0 + 4g … r0 + 4g + 3), in 4 × 4 tiles from the packed panel. Each tile's entries are the sums over
 * the panel's b columns in their order, subtracted once: what one tile receives does not depend on which tiles
 * are updated together, or by which thread.
 */
export function trailingUpdate(A: Float64Array, n: number, k0: number, b: number, P: Float64Array, g0: number, g1: number): void {
  const r0 = k0 + b;
  const m = n - r0;
  for (let gi = g0; gi < g1; gi++) {
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

/**
 * A part of one panel of the blocked factorisation on another thread (choleskyBlockedThreaded): `rows`, rows
 * [from, to) of L₂₁ (panelRows), or `update`, the trailing update's tile rows [from, to) (trailingUpdate). A and P
 * are in shared memory; no two parts of a batch write one entry.
 */
export interface CholeskyTask {
  kind: 'rows' | 'update';
  A: Float64Array;
  n: number;
  k0: number;
  b: number;
  P: Float64Array;
  from: number;
  to: number;
}

/** Runs one part of a panel (on a worker thread). */
export function runCholeskyTask(t: CholeskyTask): void {
  if (t.kind === 'rows') panelRows(t.A, t.n, t.k0, t.b, t.P, t.from, t.to);
  else trailingUpdate(t.A, t.n, t.k0, t.b, t.P, t.from, t.to);
}

/** Threads that run a batch of a panel's parts and return when every part is done (a lens-fit pool). */
export interface CholeskyThreads {
  readonly threads: number;
  run(tasks: CholeskyTask[]): void;
}

/**
 * Under this much trailing work (multiply–adds, m²b/2) a panel of choleskyBlockedThreaded stays on the calling
 * thread: two round trips to the threads cost about 0.1–0.2 ms, a panel of 2·10⁶ multiply–adds about 1.5 ms.
 */
export const CHOLESKY_SPLIT_MIN_WORK = 2e6;

/**
 * choleskyBlocked with each panel's rows of L₂₁ and its trailing update split over `threads`: the diagonal block
 * on the calling thread, then L₂₁'s rows in blocks of whole groups of four, then the trailing matrix's tile rows in
 * bands of about equal work (the tile row g holds g + 1 tiles), each part a batch of tasks on the threads. A must
 * be in shared memory (a SharedArrayBuffer). Every entry is computed by the same operations in the same order as
 * choleskyBlocked's (a row of L₂₁ from its own entries and L₁₁, a tile from the packed panel), so the factor is
 * choleskyBlocked's bit for bit whatever the number of threads. `block`: the panel's columns (CHOLESKY_BLOCK);
 * `workspace`: a shared packed panel of at least panelLength(n, block) values (made here if absent); `minWork`: the
 * trailing work under which a panel stays on this thread (CHOLESKY_SPLIT_MIN_WORK).
 */
export function choleskyBlockedThreaded(A: Float64Array, n: number, threads: CholeskyThreads, o: { block?: number; workspace?: Float64Array; minWork?: number } = {}): boolean {
  if (A.length < n * n) throw new Error(`choleskyBlockedThreaded: the matrix holds ${A.length} values, fewer than ${n}²`);
  if (!(A.buffer instanceof SharedArrayBuffer)) throw new Error('choleskyBlockedThreaded: the matrix must be in shared memory');
  const nb = Math.max(1, Math.floor(o.block ?? CHOLESKY_BLOCK));
  const P = o.workspace;
  const minWork = o.minWork ?? CHOLESKY_SPLIT_MIN_WORK;
  const len = panelLength(n, nb);
  if (P && (P.length < len || !(P.buffer instanceof SharedArrayBuffer))) throw new Error('choleskyBlockedThreaded: the panel workspace must be shared and hold panelLength(n, block) values');
  const W = P ?? new Float64Array(new SharedArrayBuffer(8 * len));
  const k = Math.max(1, threads.threads);
  for (let k0 = 0; k0 < n; k0 += nb) {
    const b = Math.min(nb, n - k0);
    if (!factorDiagonal(A, n, k0, b)) return false;
    const m = n - k0 - b;
    if (m === 0) break;
    const groups = Math.ceil(m / 4);
    if ((m * m * b) / 2 < minWork || groups < 2) {
      panelRows(A, n, k0, b, W, 0, m);
      padPanel(W, m, b);
      trailingUpdate(A, n, k0, b, W, 0, groups);
      continue;
    }
    // L₂₁'s rows: 2 blocks of whole groups per thread (equal work per row)
    const rows: CholeskyTask[] = [];
    const nr = Math.min(groups, 2 * k);
    for (let t = 0; t < nr; t++) {
      const from = Math.round((groups * t) / nr) * 4;
      const to = Math.min(m, Math.round((groups * (t + 1)) / nr) * 4);
      if (to > from) rows.push({ kind: 'rows', A, n, k0, b, P: W, from, to });
    }
    threads.run(rows);
    padPanel(W, m, b);
    // the update's tile rows: 4 bands per thread of about equal tiles (tile rows [0, g) hold g(g + 1)/2), the
    // largest first
    const update: CholeskyTask[] = [];
    const nu = Math.min(groups, 4 * k);
    let prev = 0;
    for (let t = 1; t <= nu; t++) {
      const g = t === nu ? groups : Math.max(prev, Math.round(groups * Math.sqrt(t / nu)));
      if (g > prev) update.push({ kind: 'update', A, n, k0, b, P: W, from: prev, to: g });
      prev = g;
    }
    update.reverse();
    threads.run(update);
  }
  return true;
}

/**
 * Where a lens inversion's dense matrix is made and factorised (invert, optimiseLambda, fixedSourceSolverOf):
 * `matrix(n)` the n×n matrix to fill, zeroed (in shared memory where `factor` splits it over threads), and
 * `factor(A, n)` its factor in place, choleskyBlocked's bit for bit.
 */
export interface CholeskyFactoriser {
  matrix(n: number): Float64Array;
  factor(A: Float64Array, n: number): boolean;
}

/**
 * Under this order a matrix is factorised on the calling thread by threadedFactoriser: measured on two threads of a
 * shared 2-core machine, 300–520 unknowns took 0.76–0.95× the one thread's wall time, 577 (the 24² fit grid with a
 * light column) 1.23× faster when the threads had the cores and 0.91× when another process held one, 1025 1.69× and
 * 4097 (the 64² final grid) 1.79× (docs/lensing.md, *Threads*).
 */
export const CHOLESKY_THREADS_MIN_N = 560;

/**
 * A CholeskyFactoriser on `threads` for matrices of order at least `minN` (choleskyBlockedThreaded, in shared
 * memory, its panels of less trailing work than `minWork` on the calling thread), on the calling thread below it
 * (choleskyBlocked). The same factor either way.
 */
export function threadedFactoriser(threads: CholeskyThreads, minN = CHOLESKY_THREADS_MIN_N, minWork = CHOLESKY_SPLIT_MIN_WORK): CholeskyFactoriser {
  let P: Float64Array | null = null;
  const shared = (n: number) => n >= minN && threads.threads >= 2;
  return {
    matrix: (n) => (shared(n) ? new Float64Array(new SharedArrayBuffer(8 * n * n)) : new Float64Array(n * n)),
    factor(A, n) {
      if (!shared(n) || !(A.buffer instanceof SharedArrayBuffer)) return choleskyBlocked(A, n);
      const len = panelLength(n, CHOLESKY_BLOCK);
      if (!P || P.length < len) P = new Float64Array(new SharedArrayBuffer(8 * len));
      return choleskyBlockedThreaded(A, n, threads, { workspace: P, minWork });
    },
  };
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
