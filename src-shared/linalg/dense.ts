/**
 * Small dense float64 linear algebra for set-up work (no tensors): symmetric eigen-decomposition (cyclic Jacobi)
 * and the rank-1 factorisation of a PSF kernel.
 */

/**
 * Eigen-decomposition of a symmetric n×n matrix (row-major, not modified): a = V diag(λ) Vᵀ, eigenvectors in
 * the columns of V. Cyclic Jacobi rotations until the off-diagonal mass is below 10⁻²⁴ of the total (quadratic
 * convergence; ~6–10 sweeps of 2n³ operations). Meant for n up to a few hundred.
 */
export function symmetricEigen(a: ArrayLike<number>, n: number): { values: Float64Array; vectors: Float64Array } {
  const m = Float64Array.from(a as ArrayLike<number>);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  let total = 0;
  for (let i = 0; i < n * n; i++) total += m[i] * m[i];
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += 2 * m[p * n + q] * m[p * n + q];
    if (off <= 1e-24 * total || off === 0) break;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = m[p * n + q];
        if (apq === 0) continue;
        const app = m[p * n + p];
        const aqq = m[q * n + q];
        const theta = (aqq - app) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        // rotate rows/columns p and q
        for (let k = 0; k < n; k++) {
          const mkp = m[k * n + p];
          const mkq = m[k * n + q];
          m[k * n + p] = c * mkp - s * mkq;
          m[k * n + q] = s * mkp + c * mkq;
        }
        for (let k = 0; k < n; k++) {
          const mpk = m[p * n + k];
          const mqk = m[q * n + k];
          m[p * n + k] = c * mpk - s * mqk;
          m[q * n + k] = s * mpk + c * mqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p];
          const vkq = v[k * n + q];
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = m[i * n + i];
  return { values, vectors: v };
}

/**
 * The best rank-1 approximation h ≈ s·u vᵀ of a ky×kx kernel (power iteration on hᵀh), with the relative
 * Frobenius error ‖h − s u vᵀ‖/‖h‖ (0 for a separable kernel such as a Gaussian sampled on a square grid).
 */
export function rankOne(h: ArrayLike<number>, ky: number, kx: number): { s: number; u: Float64Array; v: Float64Array; relError: number } {
  let norm2 = 0;
  for (let i = 0; i < ky * kx; i++) norm2 += h[i] * h[i];
  if (!(norm2 > 0)) return { s: 0, u: new Float64Array(ky), v: new Float64Array(kx), relError: 0 };
  let v = new Float64Array(kx);
  // start from the column sums' magnitude pattern (never orthogonal to the top vector for non-negative kernels)
  for (let j = 0; j < kx; j++) {
    let s = 0;
    for (let i = 0; i < ky; i++) s += Math.abs(h[i * kx + j]);
    v[j] = s + 1e-3;
  }
  let u = new Float64Array(ky);
  let s = 0;
  for (let it = 0; it < 500; it++) {
    // u = h v / |h v|, v = hᵀ u / |hᵀ u|
    const un = new Float64Array(ky);
    for (let i = 0; i < ky; i++) {
      let t = 0;
      for (let j = 0; j < kx; j++) t += h[i * kx + j] * v[j];
      un[i] = t;
    }
    const nu = Math.hypot(...un);
    for (let i = 0; i < ky; i++) un[i] /= nu;
    const vn = new Float64Array(kx);
    for (let j = 0; j < kx; j++) {
      let t = 0;
      for (let i = 0; i < ky; i++) t += h[i * kx + j] * un[i];
      vn[j] = t;
    }
    const sNew = Math.hypot(...vn);
    for (let j = 0; j < kx; j++) vn[j] /= sNew;
    let change = 0;
    for (let j = 0; j < kx; j++) change = Math.max(change, Math.abs(vn[j] - v[j]));
    u = un;
    v = vn;
    s = sNew;
    if (change < 1e-14) break;
  }
  const err2 = Math.max(0, norm2 - s * s);
  return { s, u, v, relError: Math.sqrt(err2 / norm2) };
}

/** The n×n matrix of the zero-padded 1-D convolution with kernel k centred at index c: T[i, j] = k[i − j + c]. */
export function toeplitzConvolution(k: ArrayLike<number>, c: number, n: number): Float64Array {
  const t = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const idx = i - j + c;
      if (idx >= 0 && idx < k.length) t[i * n + j] = k[idx];
    }
  }
  return t;
}

/** T Tᵀ for a row-major n×n matrix. */
export function gramOf(t: Float64Array, n: number): Float64Array {
  const g = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += t[i * n + k] * t[j * n + k];
      g[i * n + j] = s;
      g[j * n + i] = s;
    }
  }
  return g;
}
