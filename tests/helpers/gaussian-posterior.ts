/**
 * The closed-form reference for the Gaussian-field posterior tests, computed densely in float64 straight from
 * the definitions (no code shared with src-shared/diffusion):
 *   prior x ~ N(0, C), C_ij = c(r_i − r_j) with c = ifft2(P) (C = F⁻¹ diag(P) F, orthonormal F);
 *   data y = A x + n, n ~ N(0, σ_n² I), A the zero-padded linear convolution with a PSF kernel;
 *   posterior N(μ, Σ) with Σ = (C⁻¹ + AᵀA/σ_n²)⁻¹ = C − C Aᵀ S⁻¹ A C, μ = C Aᵀ S⁻¹ y, S = A C Aᵀ + σ_n² I
 * (the Woodbury form of the same matrix: it needs only the Cholesky factor of the well-conditioned S ≥ σ_n² I).
 * The mean test uses Σ⁻¹ = C⁻¹ + AᵀA/σ_n² directly (C⁻¹ by the float64 FFT, every P > 0 here), which also
 * cross-checks the two forms.
 */

/** Dense row-major n×n float64 matrix helpers. */
export function cholesky(a: Float64Array, n: number): Float64Array {
  const l = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    let d = a[j * n + j];
    const lj = j * n;
    for (let k = 0; k < j; k++) d -= l[lj + k] * l[lj + k];
    if (!(d > 0)) throw new Error(`cholesky: matrix not positive definite at ${j} (${d})`);
    const djj = Math.sqrt(d);
    l[lj + j] = djj;
    for (let i = j + 1; i < n; i++) {
      const li = i * n;
      let s = a[li + j];
      for (let k = 0; k < j; k++) s -= l[li + k] * l[lj + k];
      l[li + j] = s / djj;
    }
  }
  return l;
}

/** Solves L X = B for X (B: n×m row-major, overwritten). */
export function forwardSubstituteInPlace(l: Float64Array, b: Float64Array, n: number, m: number): void {
  for (let i = 0; i < n; i++) {
    const bi = i * m;
    for (let k = 0; k < i; k++) {
      const f = l[i * n + k];
      if (f === 0) continue;
      const bk = k * m;
      for (let j = 0; j < m; j++) b[bi + j] -= f * b[bk + j];
    }
    const d = l[i * n + i];
    for (let j = 0; j < m; j++) b[bi + j] /= d;
  }
}

export interface SparseRows {
  n: number;
  cols: Int32Array[];
  vals: Float64Array[];
}

/** The zero-padded linear convolution y[i,j] = Σ h[a,b] x[i − (a − cy), j − (b − cx)] as sparse rows. */
export function convolutionMatrix(ny: number, nx: number, h: ArrayLike<number>, ky: number, kx: number, cy: number, cx: number): SparseRows {
  const n = ny * nx;
  const cols: Int32Array[] = [];
  const vals: Float64Array[] = [];
  for (let i = 0; i < ny; i++) {
    for (let j = 0; j < nx; j++) {
      const c: number[] = [];
      const v: number[] = [];
      for (let a = 0; a < ky; a++) {
        const si = i - (a - cy);
        if (si < 0 || si >= ny) continue;
        for (let b = 0; b < kx; b++) {
          const sj = j - (b - cx);
          if (sj < 0 || sj >= nx) continue;
          c.push(si * nx + sj);
          v.push(h[a * kx + b]);
        }
      }
      cols.push(Int32Array.from(c));
      vals.push(Float64Array.from(v));
    }
  }
  return { n, cols, vals };
}

export function sparseTimesVector(a: SparseRows, x: ArrayLike<number>): Float64Array {
  const y = new Float64Array(a.n);
  for (let i = 0; i < a.n; i++) {
    let s = 0;
    const c = a.cols[i];
    const v = a.vals[i];
    for (let k = 0; k < c.length; k++) s += v[k] * x[c[k]];
    y[i] = s;
  }
  return y;
}

/** A · M for dense symmetric-or-not M (n×n row-major). */
export function sparseTimesDense(a: SparseRows, m: Float64Array): Float64Array {
  const n = a.n;
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const c = a.cols[i];
    const v = a.vals[i];
    const oi = i * n;
    for (let k = 0; k < c.length; k++) {
      const f = v[k];
      const mk = c[k] * n;
      for (let j = 0; j < n; j++) out[oi + j] += f * m[mk + j];
    }
  }
  return out;
}

/** M · Aᵀ for dense M: (A Mᵀ)ᵀ. */
export function denseTimesSparseT(m: Float64Array, a: SparseRows): Float64Array {
  const n = a.n;
  const out = new Float64Array(n * n);
  for (let r = 0; r < n; r++) {
    const mr = r * n;
    for (let i = 0; i < n; i++) {
      const c = a.cols[i];
      const v = a.vals[i];
      let s = 0;
      for (let k = 0; k < c.length; k++) s += m[mr + c[k]] * v[k];
      out[mr + i] = s;
    }
  }
  return out;
}

/** Circulant covariance C_ij = c(r_i − r_j), c = ifft2(P) computed by the direct sum (P even: c real). */
export function circulantCovariance(p: ArrayLike<number>, ny: number, nx: number): Float64Array {
  const n = ny * nx;
  const c = new Float64Array(n);
  const cyc = new Float64Array(ny);
  const cxc = new Float64Array(nx);
  const syc = new Float64Array(ny);
  const sxc = new Float64Array(nx);
  for (let dy = 0; dy < ny; dy++) {
    for (let dx = 0; dx < nx; dx++) {
      let s = 0;
      for (let l = 0; l < ny; l++) {
        cyc[l] = Math.cos((2 * Math.PI * l * dy) / ny);
        syc[l] = Math.sin((2 * Math.PI * l * dy) / ny);
      }
      for (let k = 0; k < nx; k++) {
        cxc[k] = Math.cos((2 * Math.PI * k * dx) / nx);
        sxc[k] = Math.sin((2 * Math.PI * k * dx) / nx);
      }
      for (let l = 0; l < ny; l++) {
        for (let k = 0; k < nx; k++) s += p[l * nx + k] * (cyc[l] * cxc[k] - syc[l] * sxc[k]);
      }
      c[dy * nx + dx] = s / n;
    }
  }
  const cm = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const iy = Math.floor(i / nx);
    const ix = i % nx;
    for (let j = 0; j < n; j++) {
      const dy = (iy - Math.floor(j / nx) + ny) % ny;
      const dx = (ix - (j % nx) + nx) % nx;
      cm[i * n + j] = c[dy * nx + dx];
    }
  }
  return cm;
}

export interface GaussianPosteriorReference {
  n: number;
  mean: Float64Array;
  /** Full posterior covariance. */
  cov: Float64Array;
  variance: Float64Array;
  /** C⁻¹ (dense) and A, σ_n: the posterior precision is C⁻¹ + AᵀA/σ_n². */
  cInv: Float64Array;
  a: SparseRows;
  sigmaN: number;
  /** mean over pixel pairs of ρ_ij² (correlation coefficients squared): sets the MC error of the mean variance ratio. */
  meanRho2: number;
  /** χ² per pixel (σ_n) of the exact posterior mean. */
  chi2OfMean: number;
  /** tr(A Σ Aᵀ)/σ_n² per pixel: how much a mean of N samples adds to χ² (divided by N). */
  traceAsAt: number;
  /** tᵀ Σ t with t = Aᵀ(y − Aμ)/σ_n²: the χ² of a mean of N samples has variance ≈ 4 tᵀΣt/(N n²). */
  chi2LinearVar: number;
}

/** Expected χ² per pixel of the mean of N exact posterior samples, and its standard deviation (linear term). */
export function expectedChi2OfSampleMean(ref: GaussianPosteriorReference, nSamples: number): { mean: number; sd: number } {
  return { mean: ref.chi2OfMean + ref.traceAsAt / nSamples, sd: Math.sqrt((4 * ref.chi2LinearVar) / nSamples) / ref.n };
}

export function gaussianPosterior(c: Float64Array, cInv: Float64Array, a: SparseRows, y: Float64Array, sigmaN: number): GaussianPosteriorReference {
  const n = a.n;
  const s2 = sigmaN * sigmaN;
  const ac = sparseTimesDense(a, c); // A C
  const s = denseTimesSparseT(ac, a); // A C Aᵀ
  for (let i = 0; i < n; i++) s[i * n + i] += s2;
  const ls = cholesky(s, n);
  // W = L⁻¹ A C;  Σ = C − Wᵀ W;  μ = (A C)ᵀ S⁻¹ y = Wᵀ (L⁻¹ y)
  const w = Float64Array.from(ac);
  forwardSubstituteInPlace(ls, w, n, n);
  const ly = Float64Array.from(y);
  forwardSubstituteInPlace(ls, ly, n, 1);
  const mean = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    const f = ly[k];
    const wk = k * n;
    for (let j = 0; j < n; j++) mean[j] += w[wk + j] * f;
  }
  // Σ = C − Wᵀ W (upper triangle, then mirrored)
  const cov = Float64Array.from(c);
  for (let k = 0; k < n; k++) {
    const wk = k * n;
    for (let i = 0; i < n; i++) {
      const f = w[wk + i];
      if (f === 0) continue;
      const ci = i * n;
      for (let j = i; j < n; j++) cov[ci + j] -= f * w[wk + j];
    }
  }
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) cov[i * n + j] = cov[j * n + i];
  const variance = new Float64Array(n);
  for (let i = 0; i < n; i++) variance[i] = cov[i * n + i];
  let rho2 = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) rho2 += (cov[i * n + j] * cov[i * n + j]) / (variance[i] * variance[j]);
  const am = sparseTimesVector(a, mean);
  let chi2 = 0;
  for (let i = 0; i < n; i++) chi2 += (y[i] - am[i]) ** 2 / s2;
  // tr(A Σ Aᵀ) = Σ_i Σ_kl A_ik Σ_kl A_il
  let tr = 0;
  for (let i = 0; i < n; i++) {
    const ci = a.cols[i];
    const v = a.vals[i];
    for (let k = 0; k < ci.length; k++) for (let l = 0; l < ci.length; l++) tr += v[k] * v[l] * cov[ci[k] * n + ci[l]];
  }
  const res = new Float64Array(n);
  for (let i = 0; i < n; i++) res[i] = (y[i] - am[i]) / s2;
  const t = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const ci = a.cols[i];
    const v = a.vals[i];
    for (let k = 0; k < ci.length; k++) t[ci[k]] += v[k] * res[i];
  }
  let q = 0;
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < n; j++) s += cov[i * n + j] * t[j];
    q += t[i] * s;
  }
  return { n, mean, cov, variance, cInv, a, sigmaN, meanRho2: rho2 / (n * n), chi2OfMean: chi2 / n, traceAsAt: tr / s2 / n, chi2LinearVar: q };
}

export interface PosteriorComparison {
  /** N (m − μ)ᵀ Σ⁻¹ (m − μ) / n: χ²_n / n for exact, independent samples (mean 1, sd √(2/n)). */
  whitenedChi2PerDof: number;
  /** Largest |m_i − μ_i| / √(Σ_ii / N). */
  maxAbsZ: number;
  /** Mean over pixels of the sample variance / exact variance. */
  varianceRatio: number;
  /** Its Monte Carlo standard error for exact, independent samples: √(2/(N−1) · mean ρ²). */
  varianceRatioSe: number;
  /** Mean over pixels of |sample variance / exact − 1|, and its expectation for exact samples. */
  meanAbsVarianceError: number;
  /** Per-pixel variance ratios. */
  ratios: Float64Array;
}

/** Compares N samples (chain-major, N × n) with the reference. */
export function comparePosterior(samples: ArrayLike<number>, nSamples: number, ref: GaussianPosteriorReference): PosteriorComparison {
  const n = ref.n;
  const m = new Float64Array(n);
  const v = new Float64Array(n);
  for (let s = 0; s < nSamples; s++) for (let i = 0; i < n; i++) m[i] += samples[s * n + i] / nSamples;
  for (let s = 0; s < nSamples; s++) for (let i = 0; i < n; i++) v[i] += (samples[s * n + i] - m[i]) ** 2 / (nSamples - 1);
  const d = new Float64Array(n);
  let maxAbsZ = 0;
  for (let i = 0; i < n; i++) {
    d[i] = m[i] - ref.mean[i];
    maxAbsZ = Math.max(maxAbsZ, Math.abs(d[i]) / Math.sqrt(ref.variance[i] / nSamples));
  }
  // dᵀ Σ⁻¹ d = dᵀ C⁻¹ d + |A d|²/σ_n² (the precision form: an independent route to the same Σ)
  let chi2 = 0;
  for (let i = 0; i < n; i++) {
    let t = 0;
    for (let j = 0; j < n; j++) t += ref.cInv[i * n + j] * d[j];
    chi2 += d[i] * t;
  }
  const ad = sparseTimesVector(ref.a, d);
  for (let i = 0; i < n; i++) chi2 += (ad[i] * ad[i]) / (ref.sigmaN * ref.sigmaN);
  const ratios = new Float64Array(n);
  let rsum = 0;
  let abs = 0;
  for (let i = 0; i < n; i++) {
    ratios[i] = v[i] / ref.variance[i];
    rsum += ratios[i];
    abs += Math.abs(ratios[i] - 1);
  }
  return {
    whitenedChi2PerDof: (nSamples * chi2) / n,
    maxAbsZ,
    varianceRatio: rsum / n,
    varianceRatioSe: Math.sqrt((2 / (nSamples - 1)) * ref.meanRho2),
    meanAbsVarianceError: abs / n,
    ratios,
  };
}

/** Draws of N(0, C) for a dense C (Cholesky), float64, n × count chain-major. */
export function gaussianDraws(c: Float64Array, n: number, count: number, normal: () => number): Float64Array {
  const l = cholesky(c, n);
  const out = new Float64Array(n * count);
  const z = new Float64Array(n);
  for (let k = 0; k < count; k++) {
    for (let i = 0; i < n; i++) z[i] = normal();
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j <= i; j++) s += l[i * n + j] * z[j];
      out[k * n + i] = s;
    }
  }
  return out;
}

/**
 * χ² of image x against visibilities (re, im, weight) by the direct sum V_k = Σ_p x_p e^{−iθ(k, p)}: the dense
 * reference of the visibility likelihood's tests (θ the phase of visibility k at pixel p).
 */
export function denseVisibilityChi2(
  x: ArrayLike<number>,
  theta: (k: number, p: number) => number,
  vis: { re: ArrayLike<number>; im: ArrayLike<number>; weight: ArrayLike<number> },
): number {
  let s = 0;
  for (let k = 0; k < vis.re.length; k++) {
    let re = 0;
    let im = 0;
    for (let p = 0; p < x.length; p++) {
      re += Math.cos(theta(k, p)) * x[p];
      im -= Math.sin(theta(k, p)) * x[p];
    }
    s += vis.weight[k] * ((vis.re[k] - re) ** 2 + (vis.im[k] - im) ** 2);
  }
  return s;
}
