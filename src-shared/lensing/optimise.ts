// Derivative-free minimisation and finite-difference curvature for the lens fit. Float64.

export interface NelderMeadOptions {
  /** initial simplex: x0 + step_i e_i */
  steps: ArrayLike<number>;
  maxEvaluations?: number;
  /** stop when the simplex's values span less than this (absolute) … */
  fTol?: number;
  /** … and every vertex lies within xTol[i] of the best on every coordinate i (default: steps/100) */
  xTol?: ArrayLike<number>;
  /**
   * stop early (converged: false, stalled: true) when the best value has fallen by less than `gain` over the last
   * `evaluations` evaluations: a tail that creeps along a valley gaining next to nothing
   */
  stall?: { evaluations: number; gain: number };
  /** called after every iteration */
  onIteration?: (best: number, evaluations: number) => void;
}

export interface MinimumResult {
  x: Float64Array;
  f: number;
  evaluations: number;
  converged: boolean;
  /** ended by the stall rule (Nelder–Mead's `stall`) */
  stalled?: boolean;
}

/**
 * Nelder–Mead with the dimension-adapted coefficients of Gao & Han (2012) (reflection 1, expansion 1 + 2/n,
 * contraction 3/4 − 1/(2n), shrink 1 − 1/n), which keep the method effective beyond a handful of parameters.
 * `f` may return +Infinity outside the allowed region.
 */
export function nelderMead(f: (x: Float64Array) => number, x0: ArrayLike<number>, opts: NelderMeadOptions): MinimumResult {
  const n = x0.length;
  const maxEval = opts.maxEvaluations ?? 200 * n;
  const fTol = opts.fTol ?? 1e-3;
  const xTol = opts.xTol ?? Array.from(opts.steps, (s) => Math.abs(s) / 100);
  const alpha = 1;
  const gamma = 1 + 2 / n;
  const rho = 0.75 - 1 / (2 * n);
  const sigma = n > 1 ? 1 - 1 / n : 0.5;
  let evaluations = 0;
  const ev = (x: Float64Array): number => {
    evaluations++;
    const v = f(x);
    return Number.isNaN(v) ? Infinity : v;
  };
  const pts: Float64Array[] = [];
  const vals: number[] = [];
  pts.push(Float64Array.from(x0));
  vals.push(ev(pts[0]));
  for (let i = 0; i < n; i++) {
    const p = Float64Array.from(x0);
    p[i] += opts.steps[i];
    let v = ev(p);
    if (!Number.isFinite(v)) {
      p[i] = x0[i] - opts.steps[i];
      v = ev(p);
    }
    pts.push(p);
    vals.push(v);
  }
  const order = Array.from({ length: n + 1 }, (_, i) => i);
  const centroid = new Float64Array(n);
  const trial = (from: Float64Array, coef: number): Float64Array => {
    const t = new Float64Array(n);
    for (let k = 0; k < n; k++) t[k] = centroid[k] + coef * (from[k] - centroid[k]);
    return t;
  };
  let converged = false;
  let stalled = false;
  // the best value after each iteration, with its evaluation count (for the stall rule)
  const history: [number, number][] = [];
  while (evaluations < maxEval) {
    order.sort((a, b) => vals[a] - vals[b]);
    const best = order[0];
    const worst = order[n];
    const second = order[n - 1];
    opts.onIteration?.(vals[best], evaluations);
    if (opts.stall) {
      history.push([evaluations, vals[best]]);
      // the best value stall.evaluations ago: the last entry at or before then
      let k = -1;
      while (k + 1 < history.length && history[k + 1][0] <= evaluations - opts.stall.evaluations) k++;
      if (k >= 0) {
        if (history[k][1] - vals[best] < opts.stall.gain) {
          stalled = true;
          break;
        }
        history.splice(0, k);
      }
    }
    // convergence
    if (vals[worst] - vals[best] <= fTol) {
      let small = true;
      for (let i = 0; i <= n && small; i++) for (let k = 0; k < n; k++) if (Math.abs(pts[i][k] - pts[best][k]) > xTol[k]) small = false;
      if (small) {
        converged = true;
        break;
      }
    }
    centroid.fill(0);
    for (let i = 0; i < n; i++) {
      const p = pts[order[i]];
      for (let k = 0; k < n; k++) centroid[k] += p[k] / n;
    }
    const xr = trial(pts[worst], -alpha);
    const fr = ev(xr);
    if (fr < vals[best]) {
      const xe = trial(pts[worst], -alpha * gamma);
      const fe = ev(xe);
      if (fe < fr) {
        pts[worst] = xe;
        vals[worst] = fe;
      } else {
        pts[worst] = xr;
        vals[worst] = fr;
      }
      continue;
    }
    if (fr < vals[second]) {
      pts[worst] = xr;
      vals[worst] = fr;
      continue;
    }
    // contraction: outside when the reflection improved on the worst, else inside
    const outside = fr < vals[worst];
    const xc = outside ? trial(pts[worst], -alpha * rho) : trial(pts[worst], rho);
    const fc = ev(xc);
    if (fc < (outside ? fr : vals[worst])) {
      pts[worst] = xc;
      vals[worst] = fc;
      continue;
    }
    // shrink towards the best
    for (let i = 1; i <= n; i++) {
      const idx = order[i];
      const p = pts[idx];
      for (let k = 0; k < n; k++) p[k] = pts[best][k] + sigma * (p[k] - pts[best][k]);
      vals[idx] = ev(p);
    }
  }
  let b = 0;
  for (let i = 1; i <= n; i++) if (vals[i] < vals[b]) b = i;
  return { x: pts[b], f: vals[b], evaluations, converged, stalled };
}

/** What a batch of candidate points cost: the evaluations the serial method takes, and the speculative ones beside. */
export interface SpeculativeMinimumResult extends MinimumResult {
  /** evaluated in a batch but not used by the serial method's decisions (not in `evaluations`) */
  speculative: number;
  /** the batches given to `fs` */
  batches: number;
}

/**
 * nelderMead with its evaluations given as batches to `fs` (the points of a batch independent of one another: a caller
 * may spread them over threads), the same iterates bit for bit: the same points, the same decisions, the same result
 * and `evaluations` (those the serial method takes; `onIteration` and the stall rule see the same counts and values).
 * The initial simplex's vertices are one batch (the −step points where a +step one is not finite a second). Each
 * iteration's reflection, expansion and outside and inside contractions are functions of the centroid and the worst
 * vertex alone: the reflection goes with `speculate` of the other three (0–3; the serial method needs at most one of
 * them), those the past iterations needed most often first; one that was needed but not guessed follows alone. A
 * shrink's n points are one batch. With `speculate` 3 an iteration is one batch; with 0 the batches are the serial
 * evaluations one by one. `used` sees each point the serial method evaluates, with its value, in its order (for a
 * caller's counts and caches).
 */
export function nelderMeadBatch(fs: (xs: Float64Array[]) => number[], x0: ArrayLike<number>, opts: NelderMeadOptions & { speculate?: number; used?: (x: Float64Array, value: number) => void }): SpeculativeMinimumResult {
  const n = x0.length;
  const maxEval = opts.maxEvaluations ?? 200 * n;
  const fTol = opts.fTol ?? 1e-3;
  const xTol = opts.xTol ?? Array.from(opts.steps, (s) => Math.abs(s) / 100);
  const speculate = Math.max(0, Math.min(3, Math.floor(opts.speculate ?? 3)));
  const alpha = 1;
  const gamma = 1 + 2 / n;
  const rho = 0.75 - 1 / (2 * n);
  const sigma = n > 1 ? 1 - 1 / n : 0.5;
  let evaluations = 0;
  let evaluated = 0;
  let batches = 0;
  const evs = (xs: Float64Array[]): number[] => {
    if (!xs.length) return [];
    batches++;
    evaluated += xs.length;
    const v = fs(xs);
    if (v.length !== xs.length) throw new Error(`nelderMeadBatch: ${v.length} values for ${xs.length} points`);
    return v.map((y) => (Number.isNaN(y) ? Infinity : y));
  };
  const pts: Float64Array[] = [Float64Array.from(x0)];
  for (let i = 0; i < n; i++) {
    const p = Float64Array.from(x0);
    p[i] += opts.steps[i];
    pts.push(p);
  }
  // (`used`: each point the serial method evaluates, with its value, in the serial method's order)
  const used = opts.used;
  const plus = used ? pts.map((p) => Float64Array.from(p)) : [];
  const vals = evs(pts);
  const plusVals = vals.slice();
  evaluations += n + 1;
  const again: number[] = [];
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(vals[i + 1])) {
      pts[i + 1][i] = x0[i] - opts.steps[i];
      again.push(i + 1);
    }
  }
  evs(again.map((k) => pts[k])).forEach((v, j) => (vals[again[j]] = v));
  evaluations += again.length;
  if (used) {
    used(plus[0], plusVals[0]);
    for (let i = 1; i <= n; i++) {
      used(plus[i], plusVals[i]);
      if (again.includes(i)) used(pts[i], vals[i]);
    }
  }
  const order = Array.from({ length: n + 1 }, (_, i) => i);
  const centroid = new Float64Array(n);
  const trial = (from: Float64Array, coef: number): Float64Array => {
    const t = new Float64Array(n);
    for (let k = 0; k < n; k++) t[k] = centroid[k] + coef * (from[k] - centroid[k]);
    return t;
  };
  // how often each second evaluation was needed: expansion, outside contraction, inside contraction
  const needed = [0, 0, 0];
  let converged = false;
  let stalled = false;
  const history: [number, number][] = [];
  while (evaluations < maxEval) {
    order.sort((a, b) => vals[a] - vals[b]);
    const best = order[0];
    const worst = order[n];
    const second = order[n - 1];
    opts.onIteration?.(vals[best], evaluations);
    if (opts.stall) {
      history.push([evaluations, vals[best]]);
      let k = -1;
      while (k + 1 < history.length && history[k + 1][0] <= evaluations - opts.stall.evaluations) k++;
      if (k >= 0) {
        if (history[k][1] - vals[best] < opts.stall.gain) {
          stalled = true;
          break;
        }
        history.splice(0, k);
      }
    }
    if (vals[worst] - vals[best] <= fTol) {
      let small = true;
      for (let i = 0; i <= n && small; i++) for (let k = 0; k < n; k++) if (Math.abs(pts[i][k] - pts[best][k]) > xTol[k]) small = false;
      if (small) {
        converged = true;
        break;
      }
    }
    centroid.fill(0);
    for (let i = 0; i < n; i++) {
      const p = pts[order[i]];
      for (let k = 0; k < n; k++) centroid[k] += p[k] / n;
    }
    const xr = trial(pts[worst], -alpha);
    const cand = [trial(pts[worst], -alpha * gamma), trial(pts[worst], -alpha * rho), trial(pts[worst], rho)];
    const cval: (number | undefined)[] = [undefined, undefined, undefined];
    // the most needed first (ties: expansion, outside, inside), stable between iterations
    const guess = [0, 1, 2].sort((a, b) => needed[b] - needed[a] || a - b).slice(0, speculate);
    const first = evs([xr, ...guess.map((c) => cand[c])]);
    const fr = first[0];
    guess.forEach((c, j) => (cval[c] = first[j + 1]));
    evaluations++;
    used?.(xr, fr);
    const take = (c: number): number => {
      needed[c]++;
      evaluations++;
      if (cval[c] === undefined) cval[c] = evs([cand[c]])[0];
      used?.(cand[c], cval[c]!);
      return cval[c]!;
    };
    if (fr < vals[best]) {
      const fe = take(0);
      if (fe < fr) {
        pts[worst] = cand[0];
        vals[worst] = fe;
      } else {
        pts[worst] = xr;
        vals[worst] = fr;
      }
      continue;
    }
    if (fr < vals[second]) {
      pts[worst] = xr;
      vals[worst] = fr;
      continue;
    }
    const outside = fr < vals[worst];
    const c = outside ? 1 : 2;
    const fc = take(c);
    if (fc < (outside ? fr : vals[worst])) {
      pts[worst] = cand[c];
      vals[worst] = fc;
      continue;
    }
    const moved: Float64Array[] = [];
    for (let i = 1; i <= n; i++) {
      const p = pts[order[i]];
      for (let k = 0; k < n; k++) p[k] = pts[best][k] + sigma * (p[k] - pts[best][k]);
      moved.push(p);
    }
    evs(moved).forEach((v, j) => {
      vals[order[j + 1]] = v;
      used?.(moved[j], v);
    });
    evaluations += n;
  }
  let b = 0;
  for (let i = 1; i <= n; i++) if (vals[i] < vals[b]) b = i;
  return { x: pts[b], f: vals[b], evaluations, converged, stalled, speculative: evaluated - evaluations, batches };
}

/**
 * The Hessian of f at x by finite differences of steps h: diagonal (f(x+hᵢ) + f(x−hᵢ) − 2f(x))/hᵢ², off-diagonal
 * (f(x+hᵢ+hⱼ) + f(x−hᵢ−hⱼ) − f(x±hᵢ) − f(x±hⱼ) + 2f(x))/(2hᵢhⱼ), both second order in h: 2n + n(n−1) evaluations.
 */
export function finiteDifferenceHessian(f: (x: Float64Array) => number, x: ArrayLike<number>, h: ArrayLike<number>, f0?: number): { H: Float64Array; g: Float64Array; evaluations: number } {
  return finiteDifferenceHessianBatch((ps) => ps.map(f), x, h, f0);
}

/**
 * finiteDifferenceHessian with its evaluations given as one batch to `fs` (independent of one another: a caller may
 * spread them over threads), in the order the serial form takes them: the same points, the same sums.
 */
export function finiteDifferenceHessianBatch(fs: (xs: Float64Array[]) => number[], x: ArrayLike<number>, h: ArrayLike<number>, f0?: number): { H: Float64Array; g: Float64Array; evaluations: number } {
  const n = x.length;
  const pts: Float64Array[] = [];
  const at = (d: [number, number][]): number => {
    const p = Float64Array.from(x);
    for (const [i, s] of d) p[i] += s * h[i];
    return pts.push(p) - 1;
  };
  const kc = f0 === undefined ? at([]) : -1;
  const kd: [number, number][] = [];
  for (let i = 0; i < n; i++) kd.push([at([[i, 1]]), at([[i, -1]])]);
  const ko: [number, number][] = [];
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) ko.push([at([[i, 1], [j, 1]]), at([[i, -1], [j, -1]])]);
  const v = fs(pts);
  const fc = f0 ?? v[kc];
  const plus = Float64Array.from(kd, (k) => v[k[0]]);
  const minus = Float64Array.from(kd, (k) => v[k[1]]);
  const H = new Float64Array(n * n);
  for (let i = 0; i < n; i++) H[i * n + i] = (plus[i] + minus[i] - 2 * fc) / (h[i] * h[i]);
  let k = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++, k++) {
      const e = (v[ko[k][0]] + v[ko[k][1]] - plus[i] - minus[i] - plus[j] - minus[j] + 2 * fc) / (2 * h[i] * h[j]);
      H[i * n + j] = e;
      H[j * n + i] = e;
    }
  }
  // the central-difference gradient comes with the diagonal
  const g = Float64Array.from(plus, (p, i) => (p - minus[i]) / (2 * h[i]));
  return { H, g, evaluations: pts.length };
}

/** Central finite-difference gradient of f at x with steps h (2n evaluations). */
export function finiteDifferenceGradient(f: (x: Float64Array) => number, x: ArrayLike<number>, h: ArrayLike<number>): Float64Array {
  return finiteDifferenceGradientBatch((ps) => ps.map(f), x, h);
}

/** finiteDifferenceGradient with its 2n evaluations given as one batch to `fs` (as finiteDifferenceHessianBatch). */
export function finiteDifferenceGradientBatch(fs: (xs: Float64Array[]) => number[], x: ArrayLike<number>, h: ArrayLike<number>): Float64Array {
  return gradientFromValues(fs(gradientPoints(x, h)), h);
}

/** The points of finiteDifferenceGradient's central differences, x ± hᵢ in turn (to batch several gradients' together). */
export function gradientPoints(x: ArrayLike<number>, h: ArrayLike<number>): Float64Array[] {
  const pts: Float64Array[] = [];
  for (let i = 0; i < x.length; i++) {
    const p = Float64Array.from(x);
    p[i] += h[i];
    pts.push(Float64Array.from(p));
    p[i] -= 2 * h[i];
    pts.push(p);
  }
  return pts;
}

/** The central-difference gradient from f at gradientPoints(x, h). */
export function gradientFromValues(v: ArrayLike<number>, h: ArrayLike<number>): Float64Array {
  return Float64Array.from({ length: h.length }, (_, i) => (v[2 * i] - v[2 * i + 1]) / (2 * h[i]));
}

/** The inverse of a symmetric positive definite matrix (Gauss–Jordan with pivoting); null when singular or not SPD. */
export function invertSpd(A: Float64Array, n: number): Float64Array | null {
  const M = new Float64Array(n * 2 * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) M[i * 2 * n + j] = A[i * n + j];
    M[i * 2 * n + n + i] = 1;
  }
  for (let k = 0; k < n; k++) {
    let p = k;
    for (let i = k + 1; i < n; i++) if (Math.abs(M[i * 2 * n + k]) > Math.abs(M[p * 2 * n + k])) p = i;
    if (!(Math.abs(M[p * 2 * n + k]) > 0)) return null;
    if (p !== k) {
      for (let j = 0; j < 2 * n; j++) {
        const t = M[k * 2 * n + j];
        M[k * 2 * n + j] = M[p * 2 * n + j];
        M[p * 2 * n + j] = t;
      }
    }
    const piv = M[k * 2 * n + k];
    for (let j = 0; j < 2 * n; j++) M[k * 2 * n + j] /= piv;
    for (let i = 0; i < n; i++) {
      if (i === k) continue;
      const fct = M[i * 2 * n + k];
      if (fct === 0) continue;
      for (let j = 0; j < 2 * n; j++) M[i * 2 * n + j] -= fct * M[k * 2 * n + j];
    }
  }
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) out[i * n + j] = M[i * 2 * n + n + j];
  for (let i = 0; i < n; i++) if (!(out[i * n + i] > 0)) return null;
  return out;
}
