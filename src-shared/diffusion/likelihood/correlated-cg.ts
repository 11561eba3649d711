/**
 * Correlated noise Σ = D^{1/2} C D^{1/2} (C = F⁻¹ diag(ρ) F circulant, D = diag(σ_i²): ../../operators/noise.ts)
 * wherever the Fourier form is not exact — a zero-padded PSF (Toeplitz, not circulant), a σ map, masked pixels,
 * lensing: preconditioned conjugate gradients in data space on the observed pixels,
 *   (Σ_oo + c A_o A_oᵀ) v = r_o,   score direction Aᵀ v  (v = 0 on masked pixels),
 * where _o keeps the observed rows. A masked pixel is removed from the data vector, so the noise covariance is Σ
 * restricted to the observed pixels, Σ_oo = E_o Σ E_oᵀ (E_o extracts them): it is applied exactly by putting the
 * observed values on the full grid with zeros elsewhere (E_oᵀ), filtering with Σ there, and keeping the observed
 * pixels again (E_o) — the noise of the masked pixels is marginalised out, not set to anything. Only products
 * with Σ are needed, never its inverse (a masked circulant has no closed-form inverse), hence data space.
 *
 * Preconditioner: D_o^{-1/2} [inverse of the observed block of P⁻¹] D_o^{-1/2} (σ̄²: the mean σ² over observed
 * pixels, k = c/σ̄²), with P ≈ (C + k A Aᵀ)⁻¹ on the full grid one of
 *  - F⁻¹ diag(1/(ρ + k d)) F, d A Aᵀ's (approximate) Fourier multiplier (a PSF's |H|², else the mean of its
 *    diagonal): exact when σ is constant, nothing is masked and A Aᵀ is circulant, and the choice where C dominates;
 *  - for a zero-padded PSF (of at most KRONECKER_MAX_SIDE pixels a side) where k·mean(δ) > 1, i.e. where the
 *    A Aᵀ term outweighs the noise on average: U diag(1/(γ + k δ)) Uᵀ in the eigenbasis U of the PSF's rank-1
 *    Kronecker Gram (kroneckerBasis), γ and δ the diagonals of C and of the whole A Aᵀ in U. A circulant cannot
 *    represent the zero padding's edges (nor the autocorrelation of a PSF wider than half the image, which it
 *    aliases): where c A Aᵀ dominates, its error there grows with c and CG needs ~√c iterations. U has the edges
 *    right, and for a nearly separable PSF A Aᵀ is nearly diagonal in it.
 * With masked pixels m (up to MAX_SCHUR_PIXELS, and for the Kronecker basis in few enough columns) the observed
 * block of P⁻¹ is inverted exactly through the Schur complement P_oo − P_om P_mm⁻¹ P_mo (P_mm in float64 once per
 * k; two applications of P per iteration); the observed block of P itself (the fallback) differs from it by a term
 * of the masked pixels' rank, which is large where A Aᵀ dominates (its inverse couples distant pixels). Positive
 * definite either way, so CG stays valid.
 * Stopped at a relative residual ≤ tol or after maxIter iterations (cg-loop.ts, warm-started); c = 0 is allowed
 * (the score at σ = 0: Aᵀ Σ_oo⁻¹ r).
 */
import * as tf from '@tensorflow/tfjs-core';
import { cholesky, choleskyInverse } from '../../linalg/cholesky.js';
import type { PsfKernel } from '../../operators/psf.js';
import type { LinearOperator } from '../../operators/types.js';
import { KRONECKER_MAX_SIDE, rankOneEigenbases, throughKroneckerBasis, type KroneckerTensors } from '../kronecker.js';
import { symmetricEigen } from '../../linalg/dense.js';
import { syncReadable } from '../readback.js';
import { Spectral2D } from '../spectral.js';
import { fft1d, fft2d } from '../../operators/fft.js';
import { findPsf } from './choose.js';
import { conjugateGradients, DeviceCgTally, DeviceStopping, HostStopping, type CgSystem } from './cg-loop.js';
import type { CgOptions } from './conjugate-gradients.js';
import { noCgStats, type CgWarmStart, type LikelihoodSolver } from './solver.js';

export class CorrelatedCgSolver implements LikelihoodSolver {
  readonly method = 'correlated-cg';
  readonly description: string;
  readonly stats = noCgStats();
  private readonly tally = new DeviceCgTally();
  private readonly spectral: Spectral2D;
  private readonly rho: tf.Tensor4D;
  private readonly m: tf.Tensor3D;
  private readonly s: tf.Tensor3D; // σ on observed pixels, 0 elsewhere
  private readonly invS: tf.Tensor3D; // 1/σ on observed pixels, 0 elsewhere
  private readonly meanVariance: number;
  private readonly switchAt: number;
  /** The preconditioner's inner solve, ≈ (C + k A Aᵀ)⁻¹ u on the full grid (without the σ weights). */
  private readonly fourier: InnerPreconditioner;
  /** The same in the zero-padded PSF's Kronecker basis (null without a PSF); used where k·mean(δ) > switchAt. */
  private readonly edges: KroneckerBasisPreconditioner | null;
  /** The masked pixels (flat indices) where the preconditioner's Schur correction applies (≤ MAX_SCHUR_PIXELS), else null. */
  private readonly masked: Int32Array | null;
  private readonly maskedIndex: tf.Tensor2D | null;
  /** Whether the Kronecker basis's masked block is affordable (else that preconditioner goes without the correction). */
  private readonly schurEdges: boolean;
  /** (E_m P E_mᵀ)⁻¹ for the last k and inner preconditioner. */
  private schur: { inner: InnerPreconditioner; k: number; inverse: tf.Tensor2D } | null = null;

  /**
   * `sigma`: σ per data pixel and `mask`: 1 observed, 0 masked (row-major [my, mx]); `correlation`: ρ and
   * `aat`: A Aᵀ's (approximate) Fourier multiplier (fft2 layout [my, mx]).
   */
  constructor(
    readonly forward: LinearOperator,
    reason: string,
    sigma: Float32Array,
    mask: Float32Array,
    correlation: Float32Array,
    aat: Float32Array,
    private readonly options: CgOptions,
    basis: 'auto' | 'fourier' | 'kronecker' = 'auto',
  ) {
    const [my, mx] = forward.outShape;
    const n = my * mx;
    const s = new Float32Array(n);
    const inv = new Float32Array(n);
    let v = 0;
    let count = 0;
    for (let i = 0; i < n; i++) {
      if (!mask[i]) continue;
      s[i] = sigma[i];
      inv[i] = 1 / sigma[i];
      v += sigma[i] * sigma[i];
      count++;
    }
    this.meanVariance = v / Math.max(count, 1);
    const shape3: [number, number, number] = [1, my, mx];
    this.m = tf.tensor3d(mask, shape3);
    this.s = tf.tensor3d(s, shape3);
    this.invS = tf.tensor3d(inv, shape3);
    const maskedList: number[] = [];
    for (let i = 0; i < n; i++) if (!mask[i]) maskedList.push(i);
    this.masked = maskedList.length > 0 && maskedList.length <= MAX_SCHUR_PIXELS ? Int32Array.from(maskedList) : null;
    this.maskedIndex = this.masked ? tf.tensor2d(this.masked, [this.masked.length, 1], 'int32') : null;
    this.spectral = new Spectral2D(my, mx);
    this.rho = this.spectral.multiplier(correlation);
    const psf = basis !== 'fourier' && Math.max(my, mx) <= KRONECKER_MAX_SIDE ? findPsf(forward) : null;
    this.fourier = new FourierPreconditioner(this.spectral, this.rho, correlation, aat);
    this.edges = psf ? new KroneckerBasisPreconditioner(kroneckerBasis(psf.kernel, [my, mx], correlation)) : null;
    // the Kronecker basis's block costs my·(masked columns)²·mx operations per noise level
    const columns = new Set(maskedList.map((i) => i % mx)).size;
    this.schurEdges = my * columns * columns * mx <= MAX_SCHUR_WORK;
    if (basis === 'kronecker' && !this.edges) throw new Error('CorrelatedCgSolver: the Kronecker basis needs a PSF operator');
    this.switchAt = basis === 'kronecker' ? 0 : 1;
    const { tol, maxIter } = options;
    this.description =
      `conjugate gradients on the observed data pixels, Σ applied as a Fourier filter (${reason}): relative residual ≤ ${tol}, ` +
      `≤ ${maxIter} iterations, warm-started; preconditioner between σ⁻¹ weights: ${this.fourier.description}` +
      (this.edges ? `, or where c·mean(δ)/σ̄² > 1 ${this.edges.description}` : '') +
      (maskedList.length === 0
        ? ''
        : this.masked && (this.schurEdges || !this.edges)
          ? '; the masked pixels left out of the inverted block (Schur complement)'
          : '; its observed block where the masked pixels are too many for the Schur complement');
  }

  /** Σ_oo v for v [B, my, mx] that is 0 on masked pixels (the result is too). */
  covariance(v: tf.Tensor): tf.Tensor {
    return tf.tidy(() => tf.mul(this.s, this.spectral.apply(tf.mul(this.s, v), this.rho)));
  }

  solve(r: tf.Tensor, c: number, warm?: CgWarmStart): tf.Tensor {
    const op = this.forward;
    const k = c / this.meanVariance;
    const { tol, maxIter, onDevice } = this.options;
    const inner = this.edges && k * this.edges.meanDelta > this.switchAt ? this.edges : this.fourier;
    const schur = this.schurInverse(inner, k);
    return tf.tidy(() => {
      const weights = inner.weights(k);
      const system: CgSystem = {
        apply: (v) => (c === 0 ? this.covariance(v) : tf.add(this.covariance(v), tf.mul(tf.mul(op.apply(op.adjoint(v)), this.m), c))),
        precondition: (u) => {
          const z = inner.apply(tf.mul(this.invS, u), weights);
          return tf.mul(this.invS, schur ? tf.sub(z, inner.apply(this.schurTerm(z, schur), weights)) : z);
        },
      };
      const b = tf.mul(r, this.m);
      const test = onDevice || !syncReadable() ? new DeviceStopping(b, tol, maxIter, this.tally) : new HostStopping(b, tol, maxIter, this.stats);
      const v = conjugateGradients(system, b, test, warm);
      return op.adjoint(v);
    });
  }

  /**
   * With masked pixels m the preconditioner should invert the observed block (C + k A Aᵀ)_oo, not take the
   * observed block of the inverse P ≈ (C + k A Aᵀ)⁻¹ (which differs by a term of the masked pixels' rank, large
   * where A Aᵀ dominates: its inverse couples pixels far apart). The inverse of the observed block of P⁻¹ is the
   * Schur complement P_oo − P_om P_mm⁻¹ P_mo; this is P_mm⁻¹ (float64 set-up, once per k).
   */
  private schurInverse(inner: InnerPreconditioner, k: number): tf.Tensor2D | null {
    if (!this.masked || (inner === this.edges && !this.schurEdges)) return null;
    if (this.schur && this.schur.inner === inner && this.schur.k === k) return this.schur.inverse;
    this.schur?.inverse.dispose();
    const nm = this.masked.length;
    // kept: solve() may run inside a caller's tidy, and the inverse outlives it
    const factor = cholesky(inner.block(k, this.masked), nm);
    if (!factor) throw new Error('CorrelatedCgSolver: the preconditioner block is not positive definite');
    const inverse = tf.keep(tf.tensor2d(Float32Array.from(choleskyInverse(factor, nm)), [nm, nm]));
    this.schur = { inner, k, inverse };
    return inverse;
  }

  /** E_mᵀ P_mm⁻¹ E_m z for z [B, my, mx]. */
  private schurTerm(z: tf.Tensor, inverse: tf.Tensor2D): tf.Tensor {
    const [b, my, mx] = z.shape as [number, number, number];
    const idx = this.maskedIndex!;
    const t = tf.matMul(tf.gather(tf.reshape(z, [b, my * mx]), tf.reshape(idx, [-1]), 1), inverse); // [B, n_m]
    const full = tf.scatterND(idx, tf.transpose(t), [my * mx, b]);
    return tf.reshape(tf.transpose(full), [b, my, mx]);
  }

  settle(): Promise<void> {
    return this.tally.settle(this.stats);
  }

  dispose(): void {
    this.tally.dispose();
    this.fourier.dispose();
    this.edges?.dispose();
    this.schur?.inverse.dispose();
    this.schur = null;
    this.maskedIndex?.dispose();
    this.spectral.dispose();
    for (const t of [this.rho, this.m, this.s, this.invS]) t.dispose();
  }
}

/** ≈ (C + k A Aᵀ)⁻¹ on the full data grid: `weights(k)` once per solve, then `apply` per iteration. */
interface InnerPreconditioner {
  readonly description: string;
  weights(k: number): tf.Tensor;
  apply(u: tf.Tensor, weights: tf.Tensor): tf.Tensor;
  /** Its block E_p P E_pᵀ between the pixels p (flat indices), float64 [n_p, n_p]. */
  block(k: number, pixels: Int32Array): Float64Array;
  dispose(): void;
}

/** Masked pixels up to which the preconditioner is corrected for them (a dense n_m² inverse per noise level). */
export const MAX_SCHUR_PIXELS = 256;
/** The most work (multiply–adds) the Kronecker basis's masked block may take per noise level. */
const MAX_SCHUR_WORK = 5e7;

/** F⁻¹ diag(1/(ρ + k d)) F, d A Aᵀ's (approximate) Fourier multiplier (a PSF's |H|², else a constant). */
class FourierPreconditioner implements InnerPreconditioner {
  readonly description = 'the circulant inverse of ρ + c·|H|²/σ̄²';
  private readonly aat: tf.Tensor4D;
  constructor(
    private readonly spectral: Spectral2D,
    private readonly rho: tf.Tensor4D,
    private readonly rhoHost: Float32Array,
    private readonly aatHost: Float32Array,
  ) {
    this.aat = spectral.multiplier(aatHost);
  }
  block(k: number, pixels: Int32Array): Float64Array {
    // P[p, q] = g(y_p − y_q, x_p − x_q), g = F⁻¹ w (real: w is real and even)
    const { ny, nx } = this.spectral;
    const g = Float64Array.from(this.rhoHost, (r, i) => 1 / (r + k * this.aatHost[i]!));
    fft2d(g, new Float64Array(ny * nx), ny, nx, true);
    const n = pixels.length;
    const out = new Float64Array(n * n);
    for (let p = 0; p < n; p++) for (let q = 0; q < n; q++) {
      const dy = (((Math.floor(pixels[p]! / nx) - Math.floor(pixels[q]! / nx)) % ny) + ny) % ny;
      const dx = ((((pixels[p]! % nx) - (pixels[q]! % nx)) % nx) + nx) % nx;
      out[p * n + q] = g[dy * nx + dx]!;
    }
    return out;
  }
  weights(k: number): tf.Tensor {
    return tf.reciprocal(tf.add(this.rho, tf.mul(this.aat, k)));
  }
  apply(u: tf.Tensor, w: tf.Tensor): tf.Tensor {
    return this.spectral.apply(u, w);
  }
  dispose(): void {
    this.aat.dispose();
  }
}

/** U diag(1/(γ + k δ)) Uᵀ in the basis of kroneckerBasis (U = U_y ⊗ U_x: four small matrix products per image). */
class KroneckerBasisPreconditioner implements InnerPreconditioner {
  readonly description = "U diag(1/(γ + c·δ/σ̄²)) Uᵀ, U the eigenvectors of the zero-padded PSF's rank-1 Gram, γ and δ the diagonals of C and A Aᵀ in U";
  private readonly ny: number;
  private readonly nx: number;
  private readonly tensors: KroneckerTensors;
  private readonly gamma: tf.Tensor3D; // [1, nx, ny] (the transposed layout of the middle step)
  private readonly delta: tf.Tensor3D;
  /** mean(δ) = tr(A Aᵀ)/n, the A Aᵀ term's mean weight against C's mean(γ) = 1. */
  readonly meanDelta: number;
  constructor(private readonly basis: KroneckerBasis) {
    const b = basis;
    const ny = (this.ny = Math.round(Math.sqrt(b.uy.length)));
    const nx = (this.nx = Math.round(Math.sqrt(b.ux.length)));
    const uy = tf.tensor2d(Float32Array.from(b.uy), [ny, ny]);
    const ux = tf.tensor2d(Float32Array.from(b.ux), [nx, nx]);
    this.tensors = { uy, uyT: tf.transpose(uy), ux, uxT: tf.transpose(ux) };
    const g = new Float32Array(nx * ny);
    const d = new Float32Array(nx * ny);
    for (let a = 0; a < ny; a++) for (let j = 0; j < nx; j++) {
      g[j * ny + a] = b.gamma[a * nx + j]!;
      d[j * ny + a] = b.delta[a * nx + j]!;
    }
    this.meanDelta = b.delta.reduce((acc, v) => acc + v, 0) / b.delta.length;
    this.gamma = tf.tensor3d(g, [1, nx, ny]);
    this.delta = tf.tensor3d(d, [1, nx, ny]);
  }
  weights(k: number): tf.Tensor {
    return tf.reciprocal(tf.add(this.gamma, tf.mul(this.delta, k)));
  }
  block(k: number, pixels: Int32Array): Float64Array {
    // P[p, q] = Σ_a U_y[i_p, a] U_y[i_q, a] Σ_b w_ab U_x[j_p, b] U_x[j_q, b], the inner sum once per pair of columns
    const { ny, nx } = this;
    const { uy, ux, gamma, delta } = this.basis;
    const cols = [...new Set(Array.from(pixels, (p) => p % nx))];
    const at = new Map(cols.map((j, t) => [j, t]));
    const nc = cols.length;
    const n = pixels.length;
    const out = new Float64Array(n * n);
    const t = new Float64Array(nc * nc);
    for (let a = 0; a < ny; a++) {
      t.fill(0);
      for (let b = 0; b < nx; b++) {
        const w = 1 / (gamma[a * nx + b]! + k * delta[a * nx + b]!);
        for (let c1 = 0; c1 < nc; c1++) {
          const v = w * ux[cols[c1]! * nx + b]!;
          for (let c2 = 0; c2 < nc; c2++) t[c1 * nc + c2] += v * ux[cols[c2]! * nx + b]!;
        }
      }
      for (let p = 0; p < n; p++) {
        const yp = uy[Math.floor(pixels[p]! / nx) * ny + a]!;
        const cp = at.get(pixels[p]! % nx)!;
        for (let q = 0; q < n; q++) out[p * n + q] += yp * uy[Math.floor(pixels[q]! / nx) * ny + a]! * t[cp * nc + at.get(pixels[q]! % nx)!]!;
      }
    }
    return out;
  }
  apply(u: tf.Tensor, w: tf.Tensor): tf.Tensor {
    return throughKroneckerBasis(u, [this.ny, this.nx], this.tensors, (t) => tf.mul(t, w));
  }
  dispose(): void {
    const { uy, uyT, ux, uxT } = this.tensors;
    for (const t of [uy, uyT, ux, uxT, this.gamma, this.delta]) t.dispose();
  }
}

/**
 * The basis of the edge-aware preconditioner for a zero-padded PSF A on an [ny, nx] grid, with the diagonals of
 * C = F⁻¹ diag(ρ) F and of A Aᵀ in it (float64 set-up, no tensors):
 *  - U = U_y ⊗ U_x, the eigenvectors of T_yT_yᵀ and T_xT_xᵀ, the zero-padded 1-D convolutions by the kernel's
 *    rank-1 factors (exactly A Aᵀ's eigenvectors for a separable kernel: ../kronecker.ts);
 *  - γ_ab = u_abᵀ C u_ab = Σ_{l,m} |û_a(l)|² ρ(l, m) |û_b(m)|² / (ny·nx) (û the DFT of a 1-D eigenvector);
 *  - δ_ab = ‖Aᵀ u_ab‖² with the whole kernel, through its singular value decomposition h = Σ_r s_r p_r q_rᵀ:
 *    A = Σ_r s_r T_y^r ⊗ T_x^r, so δ_ab = Σ_{r,r'} s_r s_r' ⟨T_y^rᵀu_a, T_y^r'ᵀu_a⟩ ⟨T_x^rᵀu_b, T_x^r'ᵀu_b⟩.
 * Both are the diagonals of the exact matrices in U (the best preconditioner diagonal in that basis), and
 * δ = A Aᵀ's eigenvalues for a separable kernel.
 */
export interface KroneckerBasis {
  uy: Float64Array; // [ny, ny], eigenvectors in columns
  ux: Float64Array;
  gamma: Float64Array; // [ny, nx] row-major: index a·nx + b
  delta: Float64Array;
}

export function kroneckerBasis(kernel: PsfKernel, [ny, nx]: [number, number], rho: ArrayLike<number>): KroneckerBasis {
  const [ky, kx] = kernel.shape;
  const [cy, cx] = kernel.center;
  const h = kernel.data;
  const { ey, ex } = rankOneEigenbases(kernel, [ny, nx]);
  const uy = ey.vectors;
  const ux = ex.vectors;
  // γ: the eigenvectors' power spectra, then Py ρ Pxᵀ
  const py = powerSpectra(uy, ny);
  const px = powerSpectra(ux, nx);
  const t = new Float64Array(ny * nx); // Py ρ: [a, m]
  for (let a = 0; a < ny; a++) for (let l = 0; l < ny; l++) {
    const w = py[a * ny + l]!;
    if (w === 0) continue;
    for (let m = 0; m < nx; m++) t[a * nx + m] += w * rho[l * nx + m]!;
  }
  const gamma = new Float64Array(ny * nx);
  for (let a = 0; a < ny; a++) for (let b = 0; b < nx; b++) {
    let s = 0;
    for (let m = 0; m < nx; m++) s += t[a * nx + m]! * px[b * nx + m]!;
    gamma[a * nx + b] = s / (ny * nx);
  }
  // δ: the kernel's singular value decomposition from the eigen-decomposition of h hᵀ
  const hht = new Float64Array(ky * ky);
  for (let i = 0; i < ky; i++) for (let j = i; j < ky; j++) {
    let s = 0;
    for (let q = 0; q < kx; q++) s += h[i * kx + q]! * h[j * kx + q]!;
    hht[i * ky + j] = hht[j * ky + i] = s;
  }
  const e = symmetricEigen(hht, ky);
  const top = Math.max(...e.values);
  const terms: { s: number; p: Float64Array; q: Float64Array }[] = [];
  for (let r = 0; r < ky; r++) {
    const s2 = e.values[r]!;
    if (!(s2 > 1e-14 * top)) continue; // s_r < 10⁻⁷ s_1: below float32's reach in δ
    const s = Math.sqrt(s2);
    const p = Float64Array.from({ length: ky }, (_, i) => e.vectors[i * ky + r]!);
    const q = new Float64Array(kx);
    for (let j = 0; j < kx; j++) {
      let v = 0;
      for (let i = 0; i < ky; i++) v += h[i * kx + j]! * p[i]!;
      q[j] = v / s;
    }
    terms.push({ s, p, q });
  }
  const R = terms.length;
  const gy = projectionGrams(terms.map((x) => x.p), cy, uy, ny); // [ny, R·R]
  const gx = projectionGrams(terms.map((x) => x.q), cx, ux, nx);
  const delta = new Float64Array(ny * nx);
  for (let a = 0; a < ny; a++) {
    const wa = new Float64Array(R * R);
    for (let r = 0; r < R; r++) for (let r2 = 0; r2 < R; r2++) wa[r * R + r2] = terms[r]!.s * terms[r2]!.s * gy[a * R * R + r * R + r2]!;
    for (let b = 0; b < nx; b++) {
      let s = 0;
      for (let k = 0; k < R * R; k++) s += wa[k]! * gx[b * R * R + k]!;
      delta[a * nx + b] = Math.max(0, s);
    }
  }
  return { uy, ux, gamma, delta };
}

/** |DFT(u_a)|²(l) for the columns u_a of an n×n matrix: [a, l]. */
function powerSpectra(u: Float64Array, n: number): Float64Array {
  const out = new Float64Array(n * n);
  const re = new Float64Array(n);
  const im = new Float64Array(n);
  for (let a = 0; a < n; a++) {
    for (let i = 0; i < n; i++) re[i] = u[i * n + a]!;
    im.fill(0);
    fft1d(re, im);
    for (let l = 0; l < n; l++) out[a * n + l] = re[l]! * re[l]! + im[l]! * im[l]!;
  }
  return out;
}

/**
 * For 1-D factors f_r (centred at c) and the columns u_a of U: the Gram matrices ⟨T^rᵀu_a, T^r'ᵀu_a⟩ per a,
 * [n, R·R], T^r the zero-padded convolution by f_r (T[i, k] = f[i − k + c]: banded, so O(n²·len) per factor).
 */
function projectionGrams(factors: Float64Array[], c: number, u: Float64Array, n: number): Float64Array {
  const R = factors.length;
  const proj = factors.map((f) => {
    const out = new Float64Array(n * n); // [a, k] = (Tᵀ u_a)_k = Σ_i f[i − k + c] u_a[i]
    for (let a = 0; a < n; a++) for (let k = 0; k < n; k++) {
      let s = 0;
      const i0 = Math.max(0, k - c);
      const i1 = Math.min(n - 1, k - c + f.length - 1);
      for (let i = i0; i <= i1; i++) s += f[i - k + c]! * u[i * n + a]!;
      out[a * n + k] = s;
    }
    return out;
  });
  const g = new Float64Array(n * R * R);
  for (let a = 0; a < n; a++) for (let r = 0; r < R; r++) for (let r2 = r; r2 < R; r2++) {
    let s = 0;
    const pr = proj[r]!;
    const pr2 = proj[r2]!;
    for (let k = 0; k < n; k++) s += pr[a * n + k]! * pr2[a * n + k]!;
    g[a * R * R + r * R + r2] = g[a * R * R + r2 * R + r] = s;
  }
  return g;
}
