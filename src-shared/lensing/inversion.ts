import { transposeCsr, type CsrMatrix } from '../operators/csr.js';
import type { Shape2 } from '../operators/types.js';
import { symmetricEigen } from '../linalg/dense.js';
import { choleskyBlocked, choleskyLogDet, choleskySolveRows, type CholeskyFactoriser } from '../linalg/cholesky.js';

// The pixelated-source inversion: for a fixed lens, the data y at the fitted pixels are
//   y = L a + M s + n,  n ~ N(0, diag σ²),
// with the light amplitudes a (flat prior) and the source pixels s (Gaussian prior N(0, (λC)⁻¹)). The
// amplitudes and the source are solved jointly, (F + H) u = d with u = (a, s), F = Bᵀ W B, d = Bᵀ W y,
// B = [L M], W = diag 1/σ², H = diag(ε I, λ C), and the Bayesian evidence (Suyu et al. 2006) is
//   log Z = −½ [χ² + uᵀHu + log det(F + H) − log det H + Σ log 2πσ²],
// which is log N(y; 0, Σ + B H⁻¹ Bᵀ) exactly. With ε = 0 (the default: a flat prior on the amplitudes) the
// term ½ n_a log ε is left out of log det H, a constant for a fixed number of light components. Float64.

/** The linear model at the fitted pixels: data, inverse variances, the source's matrix and the light's columns. */
export interface LinearModel {
  y: Float64Array;
  /** 1/σ² per fitted pixel */
  w: Float64Array;
  /** rows: the fitted pixels; columns: source pixels */
  source: CsrMatrix;
  /** one column (length = fitted pixels) per linear light component */
  light: readonly Float64Array[];
}

export type RegularisationKind = 'gradient' | 'curvature' | 'identity';
export const REGULARISATION_KINDS: readonly RegularisationKind[] = ['gradient', 'curvature', 'identity'];

/** A source prior's precision C (λ multiplies it): symmetric positive definite, sparse, with log det C. */
export interface Regularisation {
  kind: RegularisationKind;
  shape: Shape2;
  /** the full symmetric matrix, rows sorted */
  C: CsrMatrix;
  logDet: number;
}

/**
 * C = Σₖ DₖᵀDₖ over the difference operators of the kind, on an [ny, nx] source grid with the source taken
 * as 0 outside it (so C is positive definite):
 *  - gradient: first differences along x and y, s[i, j+1] − s[i, j] and s[i+1, j] − s[i, j];
 *  - curvature: second differences s[i, j−1] − 2 s[i, j] + s[i, j+1] and the same along y (Suyu et al. 2006);
 *  - identity: C = I.
 */
export function regularisation(kind: RegularisationKind, shape: Shape2): Regularisation {
  const [ny, nx] = shape;
  const n = ny * nx;
  const vals: Map<number, number>[] = Array.from({ length: n }, () => new Map());
  const addRow = (idx: number[], coef: number[]) => {
    // adds dᵀd for one difference row d (entries outside the grid dropped: the source is 0 there)
    for (let a = 0; a < idx.length; a++) {
      if (idx[a] < 0) continue;
      for (let b = 0; b < idx.length; b++) {
        if (idx[b] < 0) continue;
        const m = vals[idx[a]];
        m.set(idx[b], (m.get(idx[b]) ?? 0) + coef[a] * coef[b]);
      }
    }
  };
  const at = (i: number, j: number) => (i >= 0 && i < ny && j >= 0 && j < nx ? i * nx + j : -1);
  for (let i = 0; i < ny; i++) {
    for (let j = 0; j < nx; j++) {
      if (kind === 'identity') addRow([at(i, j)], [1]);
      else if (kind === 'gradient') {
        addRow([at(i, j), at(i, j + 1)], [-1, 1]);
        addRow([at(i, j), at(i + 1, j)], [-1, 1]);
      } else {
        addRow([at(i, j - 1), at(i, j), at(i, j + 1)], [1, -2, 1]);
        addRow([at(i - 1, j), at(i, j), at(i + 1, j)], [1, -2, 1]);
      }
    }
  }
  const rowPtr = new Int32Array(n + 1);
  const colIdx: number[] = [];
  const values: number[] = [];
  for (let r = 0; r < n; r++) {
    const cols = [...vals[r].keys()].sort((a, b) => a - b);
    for (const c of cols) {
      colIdx.push(c);
      values.push(vals[r].get(c)!);
    }
    rowPtr[r + 1] = colIdx.length;
  }
  const C: CsrMatrix = { nRows: n, nCols: n, rowPtr, colIdx: Int32Array.from(colIdx), values: Float64Array.from(values) };
  // C = I ⊗ T_x + T_y ⊗ I with T = BᵀB of the 1-D difference matrix B (a Kronecker sum): its eigenvalues are
  // the sums μᵢ(T_y) + μⱼ(T_x), so log det C needs only two small eigenvalue problems.
  let logDet = 0;
  if (kind !== 'identity') {
    const mx = symmetricEigenvalues(differenceGram(kind, nx), nx);
    const my = symmetricEigenvalues(differenceGram(kind, ny), ny);
    for (const a of my) for (const b of mx) logDet += Math.log(a + b);
  }
  return { kind, shape: [ny, nx], C, logDet };
}

/** T = BᵀB for the 1-D difference matrix B of a kind on n points (values outside taken as 0), dense n×n. */
export function differenceGram(kind: 'gradient' | 'curvature', n: number): Float64Array {
  const B = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    if (kind === 'gradient') {
      B[j * n + j] = -1;
      if (j + 1 < n) B[j * n + j + 1] = 1;
    } else {
      B[j * n + j] = -2;
      if (j > 0) B[j * n + j - 1] = 1;
      if (j + 1 < n) B[j * n + j + 1] = 1;
    }
  }
  const T = new Float64Array(n * n);
  for (let a = 0; a < n; a++) for (let b = 0; b < n; b++) {
    let s = 0;
    for (let k = 0; k < n; k++) s += B[k * n + a] * B[k * n + b];
    T[a * n + b] = s;
  }
  return T;
}

/** Eigenvalues of a dense symmetric n×n matrix (cyclic Jacobi rotations: linalg/dense.ts; for the small matrices here). */
export function symmetricEigenvalues(S: Float64Array, n: number): Float64Array {
  return symmetricEigen(S, n).values;
}

/** Adds f·S to the dense n×n matrix A at offset (off, off) (lower triangle and diagonal only). */
function addSparse(A: Float64Array, n: number, off: number, S: CsrMatrix, f: number): void {
  for (let r = 0; r < S.nRows; r++) {
    for (let p = S.rowPtr[r]; p < S.rowPtr[r + 1]; p++) {
      const c = S.colIdx[p];
      if (c <= r) A[(r + off) * n + c + off] += f * S.values[p];
    }
  }
}

/** F = Bᵀ W B (lower triangle), d = Bᵀ W y, yᵀWy and Σ log 2πσ² for a linear model; unknowns ordered (a, s). */
export interface NormalEquations {
  model: LinearModel;
  nLight: number;
  nSource: number;
  F: Float64Array;
  d: Float64Array;
  yWy: number;
  logNorm: number;
}

/**
 * One image row's products into F's lower triangle: for its entries i in [ia, ib) (columns sorted, the row starting
 * at a), F[cols[i] + off][cols[j] + off] += (w·vals[i])·vals[j] for a ≤ j ≤ i. Four of F's rows at a time (each value
 * of the image row loaded once for four multiply–adds); each element's term is the same product whatever the grouping,
 * so callers that take the image rows in ascending order build F bit for bit alike (normalEquations with the light's
 * `off` columns first, normalEquationsBand by bands of rows).
 */
function addRowProducts(F: Float64Array, n: number, off: number, cols: Int32Array, vals: Float64Array, a: number, ia: number, ib: number, w: number): void {
  let i = ia;
  for (; i + 3 < ib; i += 4) {
    const v0 = w * vals[i];
    const v1 = w * vals[i + 1];
    const v2 = w * vals[i + 2];
    const v3 = w * vals[i + 3];
    const r0 = (cols[i] + off) * n + off;
    const r1 = (cols[i + 1] + off) * n + off;
    const r2 = (cols[i + 2] + off) * n + off;
    const r3 = (cols[i + 3] + off) * n + off;
    for (let j = a; j <= i; j++) {
      const c = cols[j];
      const x = vals[j];
      F[r0 + c] += v0 * x;
      F[r1 + c] += v1 * x;
      F[r2 + c] += v2 * x;
      F[r3 + c] += v3 * x;
    }
    // the triangle of the four rows' own columns
    const c1 = cols[i + 1];
    const c2 = cols[i + 2];
    const c3 = cols[i + 3];
    F[r1 + c1] += v1 * vals[i + 1];
    F[r2 + c1] += v2 * vals[i + 1];
    F[r3 + c1] += v3 * vals[i + 1];
    F[r2 + c2] += v2 * vals[i + 2];
    F[r3 + c2] += v3 * vals[i + 2];
    F[r3 + c3] += v3 * vals[i + 3];
  }
  for (; i < ib; i++) {
    const vi = w * vals[i];
    const base = (cols[i] + off) * n + off;
    for (let j = a; j <= i; j++) F[base + cols[j]] += vi * vals[j];
  }
}

/** Up to this many unknowns (F within 8 MB) normalEquations adds each image row's outer product into F directly. */
const OUTER_FORM_MAX = 1024;

/**
 * The normal equations of a linear model. F is built one row at a time: for source pixel c, the image rows that see
 * it (the columns of the transposed matrix) add their products with the pixels c′ ≤ c into a dense row that stays
 * in cache, then copied into F — the same sums in the same order (rows r ascending) as accumulating each image row's
 * outer product into F, so bitwise the same F, without scattering into a matrix of (n_light + N²)² doubles (at
 * N = 64 and a 21² PSF that scatter took 22 s, the row form a few). Up to OUTER_FORM_MAX unknowns F fits in
 * cache and the outer products go straight into it (1.5× faster on a 24² fit grid); `rowForm` forces the row form.
 */
export function normalEquations(m: LinearModel, opts: { rowForm?: boolean } = {}): NormalEquations {
  const nl = m.light.length;
  const ns = m.source.nCols;
  const n = nl + ns;
  const F = new Float64Array(n * n);
  const d = new Float64Array(n);
  let yWy = 0;
  let logNorm = 0;
  const S = m.source;
  if (n <= OUTER_FORM_MAX && !opts.rowForm) {
    const cols = S.colIdx;
    const vals = S.values;
    for (let r = 0; r < S.nRows; r++) {
      const a = S.rowPtr[r];
      const b = S.rowPtr[r + 1];
      const w = m.w[r];
      const yr = m.y[r];
      for (let i = a; i < b; i++) {
        const wv = w * vals[i];
        const row = (cols[i] + nl) * n;
        d[cols[i] + nl] += wv * yr;
        for (let k = 0; k < nl; k++) F[row + k] += wv * m.light[k][r];
      }
      // the row's columns are sorted: those up to cols[i] fall in F's lower triangle
      addRowProducts(F, n, nl, cols, vals, a, a, b, w);
    }
  } else {
    const T = transposeCsr(S);
    const acc = new Float64Array(ns);
    const accL = new Float64Array(nl);
    for (let c = 0; c < ns; c++) {
      const row = (c + nl) * n;
      let dc = 0;
      for (let t = T.rowPtr[c]; t < T.rowPtr[c + 1]; t++) {
        const r = T.colIdx[t];
        const w = m.w[r];
        const wv = w * T.values[t];
        dc += wv * m.y[r];
        // row r's columns are sorted: those up to c fall in F's lower triangle
        for (let q = S.rowPtr[r]; q < S.rowPtr[r + 1]; q++) {
          const cq = S.colIdx[q];
          if (cq > c) break;
          acc[cq] += wv * S.values[q];
        }
        for (let k = 0; k < nl; k++) accL[k] += wv * m.light[k][r];
      }
      d[c + nl] = dc;
      for (let k = 0; k < nl; k++) {
        F[row + k] = accL[k];
        accL[k] = 0;
      }
      for (let j = 0; j <= c; j++) {
        F[row + nl + j] = acc[j];
        acc[j] = 0;
      }
    }
  }
  // by data row: yᵀWy, the normalisation and the light–light block
  for (let r = 0; r < S.nRows; r++) {
    const w = m.w[r];
    const yr = m.y[r];
    yWy += w * yr * yr;
    logNorm += Math.log((2 * Math.PI) / w);
    for (let k = 0; k < nl; k++) {
      const wl = w * m.light[k][r];
      d[k] += wl * yr;
      for (let k2 = 0; k2 <= k; k2++) F[k * n + k2] += wl * m.light[k2][r];
    }
  }
  return { model: m, nLight: nl, nSource: ns, F, d, yWy, logNorm };
}

/**
 * Rows [c0, c1) of F and entries [c0, c1) of d of the normal equations of a source matrix without light columns (F of
 * n × n, n its columns: lower triangle), from that matrix given as consecutive blocks of its rows (`parts`, in order;
 * `w` and `y` over all the rows), written into F and d. Each entry is normalEquations' sum in its order — the image
 * rows ascending, each term (w·b_c)·b_c′ — so bands that cover 0…n give normalEquations' F and d bit for bit (tested),
 * whichever bands and whichever thread computes each: the fit's evidence on threads (docs/lensing.md, *Threads*).
 */
export function normalEquationsBand(parts: readonly CsrMatrix[], w: ArrayLike<number>, y: ArrayLike<number>, c0: number, c1: number, F: Float64Array, d: Float64Array): void {
  if (!parts.length || c1 <= c0) return;
  const n = parts[0].nCols;
  let r0 = 0;
  for (const S of parts) {
    const cols = S.colIdx;
    const vals = S.values;
    for (let r = 0; r < S.nRows; r++) {
      const a = S.rowPtr[r];
      const b = S.rowPtr[r + 1];
      if (a === b || cols[b - 1] < c0 || cols[a] >= c1) continue;
      // the row's entries in the band: ia ≤ i < ib (columns sorted)
      let lo = a;
      let hi = b;
      while (lo < hi) {
        const m = (lo + hi) >> 1;
        if (cols[m] < c0) lo = m + 1;
        else hi = m;
      }
      const ia = lo;
      hi = b;
      while (lo < hi) {
        const m = (lo + hi) >> 1;
        if (cols[m] < c1) lo = m + 1;
        else hi = m;
      }
      const ib = lo;
      const wr = w[r0 + r];
      const yr = y[r0 + r];
      for (let i = ia; i < ib; i++) d[cols[i]] += wr * vals[i] * yr;
      addRowProducts(F, n, 0, cols, vals, a, ia, ib, wr);
    }
    r0 += S.nRows;
  }
}

/**
 * Bands of F's rows for normalEquationsBand, `k` of them with about equal shares of the lower triangle (row c holds c + 1
 * entries: boundaries at n·√(i/k)).
 */
export function normalEquationBands(n: number, k: number): [number, number][] {
  const out: [number, number][] = [];
  let prev = 0;
  for (let i = 1; i <= k; i++) {
    const next = i === k ? n : Math.round(n * Math.sqrt(i / k));
    if (next > prev) out.push([prev, next]);
    prev = Math.max(prev, next);
  }
  return out;
}

/**
 * The normal equations of a source matrix without light columns (`normalEquations({ y, w, source, light: [] })`) from
 * its F and d made elsewhere (normalEquationsBand): yᵀWy and Σ log 2πσ² summed as normalEquations sums them.
 */
export function sourceNormalEquations(y: Float64Array, w: Float64Array, source: CsrMatrix, F: Float64Array, d: Float64Array): NormalEquations {
  let yWy = 0;
  let logNorm = 0;
  for (let r = 0; r < source.nRows; r++) {
    const wr = w[r];
    const yr = y[r];
    yWy += wr * yr * yr;
    logNorm += Math.log((2 * Math.PI) / wr);
  }
  return { model: { y, w, source, light: [] }, nLight: 0, nSource: source.nCols, F, d, yWy, logNorm };
}

export interface InversionResult {
  lambda: number;
  /** the light components' amplitudes */
  amplitudes: Float64Array;
  /** the source pixels (the most probable source for this lens and λ) */
  source: Float64Array;
  /** the model at the fitted pixels */
  model: Float64Array;
  chi2: number;
  /** uᵀHu = λ sᵀCs + ε aᵀa */
  regularisationTerm: number;
  logDetFH: number;
  logDetH: number;
  logEvidence: number;
}

/**
 * Options of invert(): the amplitudes' prior precision ε (0: flat, the default); `factor`: where F + H is made and
 * factorised (default: on this thread; a lens-fit pool's threads for the large ones: the same numbers).
 */
export interface InvertOptions {
  lightPrecision?: number;
  factor?: CholeskyFactoriser;
}

/** The joint solve for (a, s) at a given λ and its log evidence; null when F + H is not positive definite. */
export function invert(ne: NormalEquations, reg: Regularisation, lambda: number, opts: InvertOptions = {}): InversionResult | null {
  const { nLight: nl, nSource: ns } = ne;
  const n = nl + ns;
  if (reg.C.nRows !== ns) throw new Error(`invert: the regularisation has ${reg.C.nRows} pixels but the source ${ns}`);
  const eps = opts.lightPrecision ?? 0;
  const fz = opts.factor;
  const A = fz ? fz.matrix(n) : new Float64Array(n * n);
  A.set(ne.F.subarray(0, n * n));
  addSparse(A, n, nl, reg.C, lambda);
  for (let k = 0; k < nl; k++) A[k * n + k] += eps;
  if (!(fz ? fz.factor(A, n) : choleskyBlocked(A, n))) return null;
  const logDetFH = choleskyLogDet(A, n);
  const u = choleskySolveRows(A, n, ne.d);
  const amplitudes = u.slice(0, nl);
  const source = u.slice(nl);
  // χ² from the residual itself (no cancellation against yᵀWy)
  const m = ne.model;
  const model = new Float64Array(m.y.length);
  let chi2 = 0;
  for (let r = 0; r < m.y.length; r++) {
    let v = 0;
    for (let p = m.source.rowPtr[r]; p < m.source.rowPtr[r + 1]; p++) v += m.source.values[p] * source[m.source.colIdx[p]];
    for (let k = 0; k < nl; k++) v += amplitudes[k] * m.light[k][r];
    model[r] = v;
    const e = m.y[r] - v;
    chi2 += m.w[r] * e * e;
  }
  let sCs = 0;
  const C = reg.C;
  for (let r = 0; r < ns; r++) {
    let v = 0;
    for (let p = C.rowPtr[r]; p < C.rowPtr[r + 1]; p++) v += C.values[p] * source[C.colIdx[p]];
    sCs += source[r] * v;
  }
  let aa = 0;
  for (let k = 0; k < nl; k++) aa += amplitudes[k] * amplitudes[k];
  const regularisationTerm = lambda * sCs + eps * aa;
  const logDetH = ns * Math.log(lambda) + reg.logDet + (eps > 0 ? nl * Math.log(eps) : 0);
  const logEvidence = -0.5 * (chi2 + regularisationTerm + logDetFH - logDetH + ne.logNorm);
  return { lambda, amplitudes, source, model, chi2, regularisationTerm, logDetFH, logDetH, logEvidence };
}

export interface LambdaSearch {
  /** ln λ to start from (default: lambdaBalance, ln(tr F_ss / tr C), which balances the two) */
  start?: number;
  /** the first bracketing step in ln λ (default 2) */
  step?: number;
  /** golden: stop when the bracket in ln λ is narrower than this; parabolic: when the parabola's vertex is within tol/2 of the best λ (default 0.05) */
  tol?: number;
  /** bounds on ln λ (default start ± 25) */
  bounds?: [number, number];
  /**
   * the search inside the bracket: golden-section (default; a fixed pattern, 10–15 evaluations) or successive
   * parabolic interpolation in ln λ (the evidence is smooth there: 1–3 evaluations after the bracket, for
   * inversions whose factorisation costs seconds)
   */
  method?: 'golden' | 'parabolic';
  lightPrecision?: number;
  /** where each inversion's matrix is factorised (invert's `factor`) */
  factor?: CholeskyFactoriser;
}

/** ln(tr F_ss / tr C): the λ at which the data's and the prior's precisions balance on average (the search's default start). */
export function lambdaBalance(ne: NormalEquations, reg: Regularisation): number {
  let trF = 0;
  const n = ne.nLight + ne.nSource;
  for (let i = ne.nLight; i < n; i++) trF += ne.F[i * n + i];
  let trC = 0;
  for (let r = 0; r < reg.C.nRows; r++) for (let p = reg.C.rowPtr[r]; p < reg.C.rowPtr[r + 1]; p++) if (reg.C.colIdx[p] === r) trC += reg.C.values[p];
  return Math.log(trF > 0 ? trF / trC : 1);
}

/**
 * ln λ carried from a source grid of pixel `fromScale` to one of `toScale` at the same prior on the continuous
 * source: sᵀCs approximates ∫|∇s|² (gradient: independent of the pixel p), p² ∫|∇²s|² (curvature: λ ∝ p⁻²) or
 * p⁻² ∫s² (identity: λ ∝ p²). The start of the final grid's λ search from the fit grid's λ (within 0.1–0.5 of the
 * final optimum on the simulations measured, docs/lensing.md).
 */
export function lnLambdaAtScale(kind: RegularisationKind, lnLambda: number, fromScale: number, toScale: number): number {
  const k = kind === 'gradient' ? 0 : kind === 'curvature' ? 2 : -2;
  return lnLambda + k * Math.log(fromScale / toScale);
}

/**
 * λ maximising the evidence: a bracket in ln λ found by stepping uphill from the start (steps doubling), then
 * golden-section search or successive parabolic interpolation (`method`). Returns the best inversion and the number
 * of evaluations (each one Cholesky factorisation).
 */
export function optimiseLambda(ne: NormalEquations, reg: Regularisation, opts: LambdaSearch = {}): { best: InversionResult; evaluations: number } {
  const start = opts.start ?? lambdaBalance(ne, reg);
  const [lo, hi] = opts.bounds ?? [start - 25, start + 25];
  const tol = opts.tol ?? 0.05;
  let evaluations = 0;
  let best: InversionResult | null = null;
  const cache = new Map<number, number>();
  const f = (t: number): number => {
    const hit = cache.get(t);
    if (hit !== undefined) return hit;
    evaluations++;
    const r = invert(ne, reg, Math.exp(t), { lightPrecision: opts.lightPrecision, factor: opts.factor });
    const v = r ? r.logEvidence : -Infinity;
    if (r && (!best || r.logEvidence > best.logEvidence)) best = r;
    cache.set(t, v);
    return v;
  };
  const finish = (a: number, c: number): { best: InversionResult; evaluations: number } => {
    if (opts.method === 'parabolic') parabolicMaximum(f, [...cache.keys()].filter((t) => t >= a && t <= c), tol);
    else golden(f, a, c, tol);
    if (!best) throw new Error('optimiseLambda: no λ gave a positive definite system');
    return { best, evaluations };
  };
  // bracket: a < b < c with f(b) ≥ f(a), f(c)
  let step = opts.step ?? 2;
  let b = Math.min(hi, Math.max(lo, start));
  let fb = f(b);
  let c = Math.min(hi, b + step);
  let fc = f(c);
  let dir = 1;
  if (fc > fb) {
    // uphill towards larger λ
  } else {
    dir = -1;
    c = Math.max(lo, b - step);
    fc = f(c);
    // b is already bracketed by b ± step
    if (!(fc > fb)) return finish(Math.max(lo, b - step), Math.min(hi, b + step));
  }
  let a = b;
  b = c;
  fb = fc;
  for (;;) {
    step *= 2;
    c = dir > 0 ? Math.min(hi, b + step) : Math.max(lo, b - step);
    if (c === b) break;
    fc = f(c);
    if (!(fc > fb)) break;
    a = b;
    b = c;
    fb = fc;
  }
  return finish(Math.min(a, c), Math.max(a, c));
}

/** Golden-section search for the maximum of f on [a, c] until the bracket is narrower than tol. */
function golden(f: (t: number) => number, a: number, c: number, tol: number): void {
  const g = (Math.sqrt(5) - 1) / 2;
  let x1 = c - g * (c - a);
  let x2 = a + g * (c - a);
  let f1 = f(x1);
  let f2 = f(x2);
  while (c - a > tol) {
    if (f1 >= f2) {
      c = x2;
      x2 = x1;
      f2 = f1;
      x1 = c - g * (c - a);
      f1 = f(x1);
    } else {
      a = x1;
      x1 = x2;
      f1 = f2;
      x2 = a + g * (c - a);
      f2 = f(x2);
    }
  }
}

/**
 * The maximum of a smooth f from points that bracket it (the best of them has a lower point on either side), by
 * successive interpolation: the parabola through the best point and its two neighbours, and the cubic through the
 * four points nearest the best. It stops when both their maxima lie within tol/2 of the best point (the cubic
 * guards against a parabola through far points of an asymmetric peak), or when the neighbours are within tol/2.
 * Otherwise it evaluates the cubic's maximum (or the parabola's; a golden-section point in the larger half where
 * neither falls inside the bracket, tol/4 away from the points). Returns the best point (NaN where f is −∞ at
 * every point: nothing to interpolate); f should cache.
 */
export function parabolicMaximum(f: (t: number) => number, ts: readonly number[], tol: number, maxIterations = 50): number {
  const pts = new Map<number, number>();
  for (const t of ts) pts.set(t, f(t));
  const add = (t: number) => pts.set(t, f(t));
  for (let it = 0; it <= maxIterations; it++) {
    const sorted = [...pts.entries()].filter(([, v]) => v > -Infinity).sort((p, q) => p[0] - q[0]);
    if (sorted.length === 0) return NaN;
    let ib = 0;
    for (let k = 1; k < sorted.length; k++) if (sorted[k][1] > sorted[ib][1]) ib = k;
    const b = sorted[ib][0];
    if (ib === 0 || ib === sorted.length - 1 || it === maxIterations) return b;
    const [a, fa] = sorted[ib - 1];
    const [c, fc] = sorted[ib + 1];
    const fb = sorted[ib][1];
    if (b - a <= tol / 2 && c - b <= tol / 2) return b;
    const pq = (b - a) * (fb - fc);
    const qq = (b - c) * (fb - fa);
    const den = 2 * (pq - qq);
    const v = den !== 0 ? b - ((b - a) * pq - (b - c) * qq) / den : NaN;
    const near = [...sorted].sort((p, q) => Math.abs(p[0] - b) - Math.abs(q[0] - b)).slice(0, 4);
    const u = near.length === 4 ? cubicMaximum(near, b, a, c) : NaN;
    if (Math.abs(v - b) <= tol / 2 && Math.abs(u - b) <= tol / 2) return b;
    const ok = (x: number) => Number.isFinite(x) && x > a + tol / 4 && x < c - tol / 4 && Math.abs(x - b) >= tol / 4;
    let x: number;
    if (ok(u)) x = u;
    else if (ok(v)) x = v;
    else x = c - b > b - a ? b + 0.381966 * (c - b) : b - 0.381966 * (b - a);
    add(x);
  }
  return ts[0];
}

/** The maximum within [a, c] of the cubic through four points (t, f(t)), in s = t − b; NaN when it has none there. */
function cubicMaximum(points: readonly (readonly [number, number])[], b: number, a: number, c: number): number {
  // the 4×4 Vandermonde system in s, by Gaussian elimination with partial pivoting
  const M = points.map(([t, v]) => {
    const x = t - b;
    return [1, x, x * x, x * x * x, v];
  });
  for (let k = 0; k < 4; k++) {
    let p = k;
    for (let i = k + 1; i < 4; i++) if (Math.abs(M[i][k]) > Math.abs(M[p][k])) p = i;
    [M[k], M[p]] = [M[p], M[k]];
    if (M[k][k] === 0) return NaN;
    for (let i = k + 1; i < 4; i++) {
      const g = M[i][k] / M[k][k];
      for (let j = k; j < 5; j++) M[i][j] -= g * M[k][j];
    }
  }
  const co = [0, 0, 0, 0];
  for (let i = 3; i >= 0; i--) {
    let s = M[i][4];
    for (let j = i + 1; j < 4; j++) s -= M[i][j] * co[j];
    co[i] = s / M[i][i];
  }
  const [, c1, c2, c3] = co;
  // p′(s) = c1 + 2 c2 s + 3 c3 s², a maximum where p″(s) = 2 c2 + 6 c3 s < 0
  const roots: number[] = [];
  if (Math.abs(c3) * (c - a) < 1e-12 * Math.abs(c2)) roots.push(-c1 / (2 * c2));
  else {
    const disc = 4 * c2 * c2 - 12 * c1 * c3;
    if (disc < 0) return NaN;
    const sq = Math.sqrt(disc);
    roots.push((-2 * c2 + sq) / (6 * c3), (-2 * c2 - sq) / (6 * c3));
  }
  for (const s of roots) if (Number.isFinite(s) && 2 * c2 + 6 * c3 * s < 0 && b + s >= a && b + s <= c) return b + s;
  return NaN;
}

/**
 * The normal equations of a linear model from those of its source part alone (`base`: normalEquations of the same
 * y, w and source matrix with no light columns) and the light's columns: F_ss and d_s copied, the light's rows of
 * F and d and the light–light block summed as normalEquations sums them (image rows ascending), so bitwise the same
 * as normalEquations of the whole model (tested), at the cost of the light's columns. The fit keeps `base` for a
 * lens it evaluates again with other light (the Hessian's and the error terms' light-only steps).
 */
export function withLight(base: NormalEquations, light: readonly Float64Array[]): NormalEquations {
  if (base.nLight !== 0) throw new Error('withLight: the base normal equations must have no light columns');
  const S = base.model.source;
  const { y, w } = base.model;
  const ns = base.nSource;
  const nl = light.length;
  const n = nl + ns;
  const F = new Float64Array(n * n);
  for (let c = 0; c < ns; c++) F.set(base.F.subarray(c * ns, c * ns + c + 1), (c + nl) * n + nl);
  const d = new Float64Array(n);
  d.set(base.d, nl);
  if (nl > 0) {
    const cols = S.colIdx;
    const vals = S.values;
    for (let r = 0; r < S.nRows; r++) {
      const wr = w[r];
      for (let i = S.rowPtr[r]; i < S.rowPtr[r + 1]; i++) {
        const wv = wr * vals[i];
        const row = (cols[i] + nl) * n;
        for (let k = 0; k < nl; k++) F[row + k] += wv * light[k][r];
      }
    }
    for (let r = 0; r < S.nRows; r++) {
      const wr = w[r];
      const yr = y[r];
      for (let k = 0; k < nl; k++) {
        const wl = wr * light[k][r];
        d[k] += wl * yr;
        for (let k2 = 0; k2 <= k; k2++) F[k * n + k2] += wl * light[k2][r];
      }
    }
  }
  return { model: { ...base.model, light }, nLight: nl, nSource: ns, F, d, yWy: base.yWy, logNorm: base.logNorm };
}

/**
 * The inversion for a fixed source matrix and λ with changing light columns (the light's shape fitted at a fixed
 * lens): F_ss + λC is factorised once, and each call solves through the Schur complement of the light block,
 *   S = F_ll − Gᵀ (F_ss + λC)⁻¹ G,  G = Mᵀ W L,  log det(F + H) = log det(F_ss + λC) + log det S,
 * the same result as invert() on the full system (tested), at the cost of the light columns and n_l solves.
 */
export function fixedSourceSolver(y: Float64Array, w: Float64Array, source: CsrMatrix, reg: Regularisation, lambda: number): ((light: readonly Float64Array[]) => InversionResult | null) | null {
  return fixedSourceSolverOf(normalEquations({ y, w, source, light: [] }), reg, lambda);
}

/** fixedSourceSolver from the source part of the normal equations already built (normalEquations without light). */
export function fixedSourceSolverOf(base: NormalEquations, reg: Regularisation, lambda: number, factor?: CholeskyFactoriser): ((light: readonly Float64Array[]) => InversionResult | null) | null {
  if (base.nLight !== 0) throw new Error('fixedSourceSolverOf: the normal equations must have no light columns');
  const { y, w, source } = base.model;
  const ns = base.nSource;
  const A = factor ? factor.matrix(ns) : new Float64Array(ns * ns);
  A.set(base.F.subarray(0, ns * ns));
  addSparse(A, ns, 0, reg.C, lambda);
  if (!(factor ? factor.factor(A, ns) : choleskyBlocked(A, ns))) return null;
  const logDetS = choleskyLogDet(A, ns);
  const zs = choleskySolveRows(A, ns, base.d);
  const logDetH = ns * Math.log(lambda) + reg.logDet;
  const rowPtr = source.rowPtr;
  const colIdx = source.colIdx;
  const values = source.values;
  const nRows = source.nRows;
  return (light) => {
    const nl = light.length;
    // G = Mᵀ W L, d_l and F_ll in one pass over the image rows (each sum over the rows in ascending order, as one
    // pass a component would sum it: the same numbers bit for bit)
    const G: Float64Array[] = [];
    for (let k = 0; k < nl; k++) G.push(new Float64Array(ns));
    const dl = new Float64Array(nl);
    const Fll = new Float64Array(nl * nl);
    const wl = new Float64Array(nl);
    const g0 = nl > 0 ? G[0] : new Float64Array(0);
    const g1 = nl > 1 ? G[1] : g0;
    for (let r = 0; r < nRows; r++) {
      const wr = w[r];
      const yr = y[r];
      for (let k = 0; k < nl; k++) {
        const v = wr * light[k][r];
        wl[k] = v;
        dl[k] += v * yr;
        for (let k2 = 0; k2 <= k; k2++) Fll[k * nl + k2] += v * light[k2][r];
      }
      const p0 = rowPtr[r];
      const p1 = rowPtr[r + 1];
      if (nl === 1) {
        const a = wl[0];
        for (let p = p0; p < p1; p++) g0[colIdx[p]] += a * values[p];
      } else if (nl === 2) {
        const a = wl[0];
        const b = wl[1];
        for (let p = p0; p < p1; p++) {
          const c = colIdx[p];
          const v = values[p];
          g0[c] += a * v;
          g1[c] += b * v;
        }
      } else {
        for (let k = 0; k < nl; k++) {
          const g = G[k];
          const a = wl[k];
          for (let p = p0; p < p1; p++) g[colIdx[p]] += a * values[p];
        }
      }
    }
    const Z = G.map((g) => choleskySolveRows(A, ns, g));
    const S = new Float64Array(nl * nl);
    const rhs = new Float64Array(nl);
    for (let k = 0; k < nl; k++) {
      let v = dl[k];
      for (let i = 0; i < ns; i++) v -= G[k][i] * zs[i];
      rhs[k] = v;
      for (let k2 = 0; k2 <= k; k2++) {
        let s = Fll[k * nl + k2];
        for (let i = 0; i < ns; i++) s -= G[k][i] * Z[k2][i];
        S[k * nl + k2] = s;
      }
    }
    if (nl > 0 && !choleskyBlocked(S, nl)) return null;
    const logDetSchur = choleskyLogDet(S, nl);
    const amplitudes = nl > 0 ? choleskySolveRows(S, nl, rhs) : new Float64Array(0);
    const src = zs.slice();
    for (let k = 0; k < nl; k++) for (let i = 0; i < ns; i++) src[i] -= Z[k][i] * amplitudes[k];
    const model = new Float64Array(y.length);
    let chi2 = 0;
    for (let r = 0; r < y.length; r++) {
      let v = 0;
      const p1 = rowPtr[r + 1];
      for (let p = rowPtr[r]; p < p1; p++) v += values[p] * src[colIdx[p]];
      for (let k = 0; k < nl; k++) v += amplitudes[k] * light[k][r];
      model[r] = v;
      chi2 += w[r] * (y[r] - v) ** 2;
    }
    const regularisationTerm = lambda * quadraticForm(reg.C, src);
    const logDetFH = logDetS + logDetSchur;
    const logEvidence = -0.5 * (chi2 + regularisationTerm + logDetFH - logDetH + base.logNorm);
    return { lambda, amplitudes, source: src, model, chi2, regularisationTerm, logDetFH, logDetH, logEvidence };
  };
}

function quadraticForm(C: CsrMatrix, s: Float64Array): number {
  let q = 0;
  for (let r = 0; r < C.nRows; r++) {
    let v = 0;
    for (let p = C.rowPtr[r]; p < C.rowPtr[r + 1]; p++) v += C.values[p] * s[C.colIdx[p]];
    q += s[r] * v;
  }
  return q;
}
