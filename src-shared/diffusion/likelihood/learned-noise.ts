/**
 * The likelihood of data with a learned noise prior, y = A x + n, n ~ Q (../../operators/noise.ts 'learned'):
 * log p(y | x) = log Q(y − A x), so ∇ₓ log p(y | x) = −Aᵀ s_Q(y − A x) with s_Q = ∇ log Q, the noise network's score.
 *
 * Annealed (docs/sampling.md, *A learned noise prior*). At the sampler's noise level σ (prior units) the state is
 * x_t = x₀ + σ z, so the residual r = y − a A x_t = n − aσ A z. For A = I it is n − aσ z, whose density is exactly
 * Q ∗ N(0, a²σ²): the noise network at level aσ (in its own units aσ/scale) gives the exact score of the residual,
 * and the likelihood's score −a Aᵀ s_Q(r, aσ) is exact at every level (given x_t, the only approximation left is the
 * one every convolved likelihood makes: x₀ | x_t taken as N(x_t, σ²I)). For a general A, A z is correlated noise of
 * covariance A Aᵀ and no single level of the network describes the residual. The rule is Gaussian-corrected: the
 * noise's Gaussian part (white, the noise's empirical σ_n) is solved with A Aᵀ itself, and the network gives only its
 * departure from its Gaussian limit at the effective level σ_eff = aσ√λmax (λmax: A Aᵀ's largest eigenvalue over the
 * observed pixels, M A Aᵀ M, by power iteration):
 *   g = Aᵀ(σ_n² I + c A Aᵀ)⁻¹ (r − offset) + Aᵀ[−s_Q(r, σ_eff) + s_G(r, σ_eff)],  s_G(r, s) = −(r − offset)/(σ_n² + s²).
 * For a Gaussian Q the bracket is 0 at every level (the white likelihood, exactly); as σ → 0 the two Gaussian terms
 * cancel and the network alone remains (exact at σ = 0); at large σ the network is nearly Gaussian at its level and
 * the bracket small. λmax bounds the state's noise in the residual from above in every direction, so the network is
 * evaluated no lower than the residuals it sees (the mean diagonal λ̄ instead, 0.017 for the HST ACS PSF, made it see
 * residuals 8× its level and the chains diverged). Where A Aᵀ = λI on the observed pixels (the identity, a mask) the
 * network alone at σ_eff is exact and the correction is not used. The network alone at σ_eff elsewhere (the rule
 * before) is, for nearly Gaussian noise, the Gaussian of variance σ_n² + cλmax in every mode: far too weak where a
 * broad PSF damps (docs/sampling.md, *A learned noise prior*).
 * Outside the network's range: below its σmin (σ = 0 included) the network at σmin (by default 10 % of the noise's
 * σ: Q ∗ N(0, σmin²) stands in for Q, 1 % more variance); above its σmax the Gaussian limit s = −u/(v + s²) in
 * model units (Q ∗ N(0, s²) tends to N(0, v + s²)), with a measured spectrum −F⁻¹ diag(1/(v ρ + s²)) F u.
 * With a measured power spectrum ρ of the noise (the noise model's `correlation`), the Gaussian part is the
 * correlated Gaussian Σ_n = σ_n² C (C = F⁻¹ diag(ρ) F):
 *   g = Aᵀ(Σ_n + c A Aᵀ)⁻¹ (r − offset) + Aᵀ[−s_Q(r, σ_eff) + s_G(r, σ_eff)],  s_G(r, s) = −(Σ_n + s² I)⁻¹ (r − offset)
 * (s_G a Fourier filter 1/(σ_n² ρ + s²)): for a Gaussian Q of that spectrum the bracket is 0 at every level (the
 * correlated likelihood, exactly), and the correlation acts at every level, not only where the network's level
 * comes down to the noise's (with the white Gaussian part a correlated noise is treated as white until then).
 * Masked pixels: their score is set to 0 (they carry no information). Pure tensor code; the noise network's score
 * is evaluated once per call, at one level for the whole batch.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LinearOperator } from '../../operators/types.js';
import type { LearnedNoise } from '../../operators/noise.js';
import { createUnetFromWeights } from '../nn/prior-meta.js';
import { Spectral2D } from '../spectral.js';
import type { ScoreModel } from '../types.js';
import { noCgStats, type CgStats, type CgWarmStart, type ForwardMap, type LikelihoodSolver } from './solver.js';

/** The noise network's level (model units) for a convolution variance c·λmax in data units: clipped below at σmin. */
export function learnedNoiseLevel(learned: LearnedNoise, c: number, gramMax: number): number {
  return Math.max(Math.sqrt(Math.max(c, 0) * gramMax) / learned.scale, learned.sigmaMin);
}

/**
 * The noise score's Gaussian part, in data units at the level `level` (model units): −(r − offset)/(σ_n² + ℓ²·scale²)
 * for the noise of variance v (model units) seen at level ℓ — what the network tends to for a Gaussian Q, subtracted
 * from the network's score so that only its departure from the Gaussian remains (the Gaussian-corrected rule below).
 */
export function gaussianNoiseScoreAtLevel(learned: LearnedNoise, r: tf.Tensor, level: number): tf.Tensor {
  return tf.tidy(() => tf.div(tf.sub(r, learned.offset), -(learned.variance + level * level) * learned.scale * learned.scale));
}

export class LearnedNoiseSolver implements LikelihoodSolver {
  readonly method = 'learned-noise';
  readonly description: string;
  private readonly ownStats: CgStats = noCgStats();
  readonly forward: ForwardMap;
  /** The noise network, built from the noise model's weights (disposed with the solver), or the score lent in its place. */
  readonly model: ScoreModel;
  private readonly owned: boolean;
  /** The Gaussian part's spectrum ρ as a Fourier multiplier on the data grid (null: white). */
  private readonly rho: { spectral: Spectral2D; multiplier: tf.Tensor4D } | null = null;

  /**
   * `mask`: 1 on observed data pixels, [1, my, mx] (lent, not disposed here); `gramMax`: λmax, the largest eigenvalue of
   * A Aᵀ over the observed pixels. `gaussian`: where A Aᵀ is not a multiple of I on the observed pixels, the exact
   * solver of the white Gaussian of the noise's σ, Aᵀ(σ_n² I + c A Aᵀ)⁻¹ r (owned: disposed here) — the
   * Gaussian-corrected rule of the module comment; without it, the network alone at the effective level.
   */
  constructor(
    operator: LinearOperator,
    readonly learned: LearnedNoise,
    private readonly mask: tf.Tensor,
    readonly gramMax: number,
    reason: string,
    /** A score in place of the network (an analytic density, same units); lent, not disposed. */
    model?: ScoreModel,
    readonly gaussian: LikelihoodSolver | null = null,
    /** The noise's normalised power spectrum ρ (fft2 layout on the data grid, mean 1), where `gaussian` is the correlated Gaussian of it. */
    correlation: Float32Array | null = null,
  ) {
    this.forward = operator;
    if (correlation && gaussian) {
      const [my, mx] = operator.outShape;
      const spectral = new Spectral2D(my, mx);
      this.rho = { spectral, multiplier: spectral.multiplier(correlation) };
    }
    this.owned = !model;
    this.model = model ?? createUnetFromWeights(learned.network.meta, learned.network.weights);
    const how = gaussian
      ? `Gaussian-corrected: the network's departure from the Gaussian at the effective level σ·√λmax plus the ${this.rho ? 'correlated Gaussian of the noise\'s σ and measured spectrum' : 'white Gaussian of the noise\'s σ'} solved with A Aᵀ itself (${gaussian.method})`
      : 'the noise network at the effective level σ·√λmax';
    this.description = `learned noise prior ${learned.name}: −Aᵀ s_Q(y − A x), ${how} (λmax = ${gramMax.toPrecision(4)}, ${reason})`;
  }

  /** The conjugate gradients' counts of the Gaussian part (zero without one, or when it is exact). */
  get stats(): CgStats {
    return this.gaussian ? this.gaussian.stats : this.ownStats;
  }

  /** The network's level (model units) at convolution variance c (data units²). */
  level(c: number): number {
    return learnedNoiseLevel(this.learned, c, this.gramMax);
  }

  /**
   * −s_Q(r) in data units for residuals r [B, my, mx] at convolution variance c (data units²): the noise network's
   * score at the effective level, or the Gaussian limit above its range; 0 on masked pixels.
   */
  noiseScore(r: tf.Tensor, c: number): tf.Tensor {
    const L = this.learned;
    const level = this.level(c);
    return tf.tidy(() => {
      const u = tf.div(tf.sub(r, L.offset), L.scale);
      // above the network's range its Gaussian limit: of the measured spectrum where there is one, else white
      const limit = () =>
        this.rho ? this.rho.spectral.apply(u, tf.div(-1, tf.add(tf.mul(this.rho.multiplier, L.variance), level * level))) : tf.div(u, -(L.variance + level * level));
      const s = level > L.sigmaMax ? limit() : this.model.score(u, tf.fill([r.shape[0]], level) as tf.Tensor1D);
      return tf.mul(tf.mul(s, -1 / L.scale), this.mask);
    });
  }

  solve(r: tf.Tensor, c: number, warm?: CgWarmStart): tf.Tensor {
    const g = this.gaussian;
    if (!g) return tf.tidy(() => this.forward.adjoint(this.noiseScore(r, c)));
    const L = this.learned;
    const level = this.level(c);
    return tf.tidy(() => {
      // the network's departure from its Gaussian limit at its level: −s_Q(r, ℓ) + s_G(r, ℓ), 0 on masked pixels
      const sG = this.rho ? this.correlatedGaussianScore(r, level) : gaussianNoiseScoreAtLevel(L, r, level);
      const departure = tf.add(this.noiseScore(r, c), tf.mul(sG, this.mask));
      // the Gaussian of the noise's σ (and spectrum) with the state's noise as it is, c A Aᵀ; at c = 0 elementwise
      // for white noise, by the correlated solver's own σ = 0 score otherwise
      const centred = tf.mul(tf.sub(r, L.offset), this.mask);
      const gauss =
        c > 0 || this.rho ? g.solve(centred, c, warm) : this.forward.adjoint(tf.div(centred, L.variance * L.scale * L.scale));
      return tf.add(this.forward.adjoint(departure), gauss);
    });
  }

  /** −(Σ_n + ℓ²scale² I)⁻¹ (r − offset) in data units, Σ_n = v·scale²·C: the correlated Gaussian's score at level ℓ (model units). */
  private correlatedGaussianScore(r: tf.Tensor, level: number): tf.Tensor {
    const L = this.learned;
    const { spectral, multiplier } = this.rho!;
    return tf.tidy(() => {
      const w = tf.div(-1 / (L.scale * L.scale), tf.add(tf.mul(multiplier, L.variance), level * level));
      return spectral.apply(tf.sub(r, L.offset), w);
    });
  }

  settle(): Promise<void> {
    return this.gaussian ? this.gaussian.settle() : Promise.resolve();
  }

  dispose(): void {
    if (this.owned) this.model.dispose();
    if (this.rho) {
      this.rho.multiplier.dispose();
      this.rho.spectral.dispose();
    }
    this.gaussian?.dispose();
  }
}
