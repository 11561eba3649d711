/**
 * Analytic 2-D densities with exact scores, for testing samplers and score matching (x: [B, 2]):
 *  - `RingDensity`: the ULA example of the seed lecture, p(x) ∝ exp(−V(x)) with
 *      V(x) = ((|x| − 2)/0.4)² − log(exp(−½((x₁ − 2)/0.6)²) + exp(−½((x₁ + 2)/0.6)²)).
 *    Exact score −∇V at σ = 0. The VE-perturbed score ∇ log (p ∗ N(0, σ²I)) = E[s(x₀) | x] has no closed form
 *    and is computed by quadrature: for σ < 0.1 as the p-weighted mean of the exact score over a 12×12
 *    Gauss–Hermite rule around x (x₀ = x + σ u: the integrand varies on the scale 0.4/σ > 4 in u); for larger σ
 *    as (E[x₀ | x] − x)/σ² over a fixed polar midpoint grid of the ring's support (r ∈ [0, 4.2], 42 × 128
 *    nodes, spacing ≤ 0.1 where the density lives: the midpoint rule's error for a Gaussian of width σ ≥ h is
 *    below exp(−2π²σ²/h²) ≈ 3·10⁻⁹; the density beyond the grid is below e⁻³⁰ of its peak).
 *    Relative accuracy better than 10⁻³ at every σ (tested against a fine Cartesian quadrature).
 *  - `GaussianMixture2D`: Σ w_k N(μ_k, Σ_k); p_σ is the mixture with covariances Σ_k + σ²I, so the score is
 *    exact at every σ, and samples are exact.
 */
import * as tf from '@tensorflow/tfjs-core';
import { syncReadable } from '../readback.js';
import type { ScoreModel } from '../types.js';
import { UserInputError } from '../../errors.js';

export class AnalyticPriorInputError extends UserInputError {
  override name = 'AnalyticPriorInputError';
}

function checkPoints(x: tf.Tensor, sigma: tf.Tensor1D, who: string): void {
  if (x.rank !== 2 || x.shape[1] !== 2) throw new AnalyticPriorInputError(`${who}: expected points [B, 2], got [${x.shape.join(', ')}]`);
  if (sigma.shape[0] !== x.shape[0]) throw new AnalyticPriorInputError(`${who}: ${sigma.shape[0]} noise levels for ${x.shape[0]} points`);
}

/**
 * Gauss–Hermite nodes and weights for ∫ f(u) exp(−u²) du: Newton's method on the orthonormal Hermite
 * polynomial of degree n (three-term recurrence), starting from the classical asymptotic guesses.
 */
export function gaussHermite(n: number): { nodes: Float64Array; weights: Float64Array } {
  const nodes = new Float64Array(n);
  const weights = new Float64Array(n);
  const pim4 = Math.pow(Math.PI, -0.25);
  const m = Math.floor((n + 1) / 2);
  let z = 0;
  for (let i = 0; i < m; i++) {
    if (i === 0) z = Math.sqrt(2 * n + 1) - 1.85575 * Math.pow(2 * n + 1, -0.16667);
    else if (i === 1) z -= (1.14 * Math.pow(n, 0.426)) / z;
    else if (i === 2) z = 1.86 * z - 0.86 * nodes[0];
    else if (i === 3) z = 1.91 * z - 0.91 * nodes[1];
    else z = 2 * z - nodes[i - 2];
    let pp = 0;
    for (let it = 0; it < 100; it++) {
      let p1 = pim4;
      let p2 = 0;
      for (let j = 0; j < n; j++) {
        const p3 = p2;
        p2 = p1;
        p1 = z * Math.sqrt(2 / (j + 1)) * p2 - Math.sqrt(j / (j + 1)) * p3;
      }
      pp = Math.sqrt(2 * n) * p2;
      const z1 = z;
      z = z1 - p1 / pp;
      if (Math.abs(z - z1) <= 1e-14) break;
    }
    nodes[i] = z;
    nodes[n - 1 - i] = -z;
    weights[i] = 2 / (pp * pp);
    weights[n - 1 - i] = weights[i];
  }
  return { nodes, weights };
}

const RING_R = 2;
const RING_W = 0.4;
const LOBE_X = 2;
const LOBE_W = 0.6;

/** V(x) of the lecture's ring (float64, for reference densities). */
export function ringPotential(x1: number, x2: number): number {
  const r = Math.hypot(x1, x2);
  const a = -0.5 * ((x1 - LOBE_X) / LOBE_W) ** 2;
  const b = -0.5 * ((x1 + LOBE_X) / LOBE_W) ** 2;
  const m = Math.max(a, b);
  return ((r - RING_R) / RING_W) ** 2 - (m + Math.log(Math.exp(a - m) + Math.exp(b - m)));
}

/** −V and −∇V on tensors [N, 2] (float32). */
function ringLogDensityAndScore(x: tf.Tensor2D): { logp: tf.Tensor1D; score: tf.Tensor2D } {
  return tf.tidy(() => {
    const [x1, x2] = tf.split(x, 2, 1) as [tf.Tensor2D, tf.Tensor2D];
    const r = tf.maximum(tf.sqrt(tf.add(tf.square(x1), tf.square(x2))), 1e-12);
    const dr = tf.div(tf.sub(r, RING_R), RING_W);
    const a = tf.mul(-0.5, tf.square(tf.div(tf.sub(x1, LOBE_X), LOBE_W)));
    const b = tf.mul(-0.5, tf.square(tf.div(tf.add(x1, LOBE_X), LOBE_W)));
    const m = tf.maximum(a, b);
    const ea = tf.exp(tf.sub(a, m));
    const eb = tf.exp(tf.sub(b, m));
    const lse = tf.add(m, tf.log(tf.add(ea, eb)));
    const logp = tf.reshape(tf.sub(lse, tf.square(dr)), [-1]) as tf.Tensor1D;
    const radial = tf.div(tf.mul(-2 / RING_W, dr), r);
    const lobe = tf.div(
      tf.add(tf.mul(ea, tf.div(tf.sub(x1, LOBE_X), -LOBE_W * LOBE_W)), tf.mul(eb, tf.div(tf.add(x1, LOBE_X), -LOBE_W * LOBE_W))),
      tf.add(ea, eb),
    );
    const score = tf.concat([tf.add(tf.mul(radial, x1), lobe), tf.mul(radial, x2)], 1) as tf.Tensor2D;
    return { logp, score };
  });
}

/** Threshold between the two quadratures of the perturbed ring score. */
const RING_SWITCH_SIGMA = 0.1;

export class RingDensity implements ScoreModel {
  readonly kind = 'analytic';
  readonly name = 'ring';
  readonly trainedShape = null;
  readonly supportsZeroSigma = true;
  private readonly ghU: tf.Tensor2D; // [G, 2] nodes √2·(u_i, u_j)
  private readonly ghLogW: tf.Tensor1D; // [G]
  private readonly polarX: tf.Tensor2D; // [P, 2]
  private readonly polarLogW: tf.Tensor1D; // [P]: log(area weight · p(x0)) (unnormalised)

  constructor() {
    const gh = gaussHermite(12);
    const n = gh.nodes.length;
    const u = new Float32Array(n * n * 2);
    const lw = new Float32Array(n * n);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        u[(i * n + j) * 2] = Math.SQRT2 * gh.nodes[i];
        u[(i * n + j) * 2 + 1] = Math.SQRT2 * gh.nodes[j];
        lw[i * n + j] = Math.log(gh.weights[i] * gh.weights[j]);
      }
    }
    this.ghU = tf.tensor2d(u, [n * n, 2]);
    this.ghLogW = tf.tensor1d(lw);
    const nr = 42;
    const nt = 128;
    const r0 = 0;
    const r1 = 4.2;
    const dr = (r1 - r0) / nr;
    const px = new Float32Array(nr * nt * 2);
    const plw = new Float32Array(nr * nt);
    for (let i = 0; i < nr; i++) {
      const r = r0 + (i + 0.5) * dr;
      for (let j = 0; j < nt; j++) {
        const th = (2 * Math.PI * (j + 0.5)) / nt;
        const x1 = r * Math.cos(th);
        const x2 = r * Math.sin(th);
        px[(i * nt + j) * 2] = x1;
        px[(i * nt + j) * 2 + 1] = x2;
        plw[i * nt + j] = Math.log(r * dr * ((2 * Math.PI) / nt)) - ringPotential(x1, x2);
      }
    }
    this.polarX = tf.tensor2d(px, [nr * nt, 2]);
    this.polarLogW = tf.tensor1d(plw);
  }

  supportsShape(shape: number[]): boolean {
    return shape.length >= 1 && shape[shape.length - 1] === 2;
  }

  /** log p up to its normalisation (float64). */
  logDensity(x1: number, x2: number): number {
    return -ringPotential(x1, x2);
  }

  score(x: tf.Tensor, sigma: tf.Tensor1D): tf.Tensor {
    checkPoints(x, sigma, 'ring density');
    // which of the three forms the batch needs; where the backend cannot read synchronously (a GPU in Node,
    // readback.ts), all three, and the selection below keeps each point's own
    let anyZero = !syncReadable();
    let anySmall = anyZero;
    let anyLarge = anyZero;
    if (!anyZero) {
      for (const s of sigma.dataSync()) {
        if (s === 0) anyZero = true;
        else if (s < RING_SWITCH_SIGMA) anySmall = true;
        else anyLarge = true;
      }
    }
    return tf.tidy(() => {
      const x2 = x as tf.Tensor2D;
      const s2 = tf.reshape(sigma, [-1, 1]);
      let out: tf.Tensor2D | null = null;
      const pick = (cond: tf.Tensor2D, v: tf.Tensor2D) => {
        out = out ? (tf.where(cond, v, out) as tf.Tensor2D) : v;
      };
      const b = x.shape[0];
      if (anyZero) pick(tf.broadcastTo(tf.equal(s2, 0), [b, 2]) as tf.Tensor2D, ringLogDensityAndScore(x2).score);
      if (anySmall) {
        const cond = tf.broadcastTo(tf.logicalAnd(tf.greater(s2, 0), tf.less(s2, RING_SWITCH_SIGMA)), [b, 2]) as tf.Tensor2D;
        pick(cond, this.gaussHermiteScore(x2, sigma));
      }
      if (anyLarge) pick(tf.broadcastTo(tf.greaterEqual(s2, RING_SWITCH_SIGMA), [b, 2]) as tf.Tensor2D, this.polarScore(x2, sigma));
      return out as unknown as tf.Tensor2D;
    });
  }

  /** E[s(x + σu) p(x + σu)] / E[p(x + σu)] with u ~ N(0, I) by Gauss–Hermite. */
  private gaussHermiteScore(x: tf.Tensor2D, sigma: tf.Tensor1D): tf.Tensor2D {
    return tf.tidy(() => {
      const b = x.shape[0];
      const g = this.ghU.shape[0];
      const pts = tf.add(tf.reshape(x, [b, 1, 2]), tf.mul(tf.reshape(sigma, [b, 1, 1]), tf.reshape(this.ghU, [1, g, 2])));
      const { logp, score } = ringLogDensityAndScore(tf.reshape(pts, [b * g, 2]) as tf.Tensor2D);
      const lw = tf.add(tf.reshape(logp, [b, g]), tf.reshape(this.ghLogW, [1, g]));
      const w = tf.softmax(lw, 1); // [b, g]
      return tf.sum(tf.mul(tf.reshape(w, [b, g, 1]), tf.reshape(score, [b, g, 2])), 1) as tf.Tensor2D;
    });
  }

  /** (E[x₀ | x] − x)/σ² with x₀ on the polar grid weighted by p(x₀) N(x; x₀, σ²). */
  private polarScore(x: tf.Tensor2D, sigma: tf.Tensor1D): tf.Tensor2D {
    return tf.tidy(() => {
      const b = x.shape[0];
      const p = this.polarX.shape[0];
      const s2 = tf.reshape(tf.square(sigma), [b, 1]);
      // |x − x0|² = |x|² − 2 x·x0 + |x0|²
      const xx = tf.sum(tf.square(x), 1, true); // [b, 1]
      const x0x0 = tf.reshape(tf.sum(tf.square(this.polarX), 1), [1, p]);
      const cross = tf.matMul(x, this.polarX, false, true); // [b, p]
      const d2 = tf.add(tf.sub(xx, tf.mul(2, cross)), x0x0);
      const lw = tf.sub(tf.reshape(this.polarLogW, [1, p]), tf.div(d2, tf.mul(2, s2)));
      const w = tf.softmax(lw, 1);
      const mean = tf.matMul(w, this.polarX); // [b, 2]
      return tf.div(tf.sub(mean, x), s2) as tf.Tensor2D;
    });
  }

  dispose(): void {
    this.ghU.dispose();
    this.ghLogW.dispose();
    this.polarX.dispose();
    this.polarLogW.dispose();
  }
}

export interface MixtureComponent {
  weight: number;
  mean: [number, number];
  /** [[s00, s01], [s01, s11]], positive definite. */
  cov: [[number, number], [number, number]];
}

export class GaussianMixture2D implements ScoreModel {
  readonly kind = 'analytic';
  readonly name = 'mixture';
  readonly trainedShape = null;
  readonly supportsZeroSigma = true;
  readonly components: MixtureComponent[];

  constructor(components: MixtureComponent[]) {
    if (components.length === 0) throw new AnalyticPriorInputError('mixture: no components');
    let wsum = 0;
    for (const c of components) {
      const [[a, b], [b2, d]] = c.cov;
      if (!(c.weight > 0) || !Number.isFinite(c.weight)) throw new AnalyticPriorInputError(`mixture: weights must be positive, got ${c.weight}`);
      if (b !== b2 || !(a > 0) || !(a * d - b * b > 0)) throw new AnalyticPriorInputError('mixture: covariances must be symmetric positive definite');
      wsum += c.weight;
    }
    this.components = components.map((c) => ({ ...c, weight: c.weight / wsum }));
  }

  supportsShape(shape: number[]): boolean {
    return shape.length >= 1 && shape[shape.length - 1] === 2;
  }

  /** log(w_k N(x; μ_k, Σ_k + σ²I)) for each component (float64). */
  componentLogDensities(x1: number, x2: number, sigma = 0): number[] {
    return this.components.map((c) => {
      const a = c.cov[0][0] + sigma * sigma;
      const b = c.cov[0][1];
      const d = c.cov[1][1] + sigma * sigma;
      const det = a * d - b * b;
      const u = x1 - c.mean[0];
      const v = x2 - c.mean[1];
      const q = (d * u * u - 2 * b * u * v + a * v * v) / det;
      return Math.log(c.weight) - 0.5 * q - 0.5 * Math.log(det) - Math.log(2 * Math.PI);
    });
  }

  /** log p_σ(x) (normalised, float64). */
  logDensity(x1: number, x2: number, sigma = 0): number {
    const terms = this.componentLogDensities(x1, x2, sigma);
    const m = Math.max(...terms);
    return m + Math.log(terms.reduce((s, t) => s + Math.exp(t - m), 0));
  }

  score(x: tf.Tensor, sigma: tf.Tensor1D): tf.Tensor {
    checkPoints(x, sigma, 'Gaussian mixture');
    return tf.tidy(() => {
      const [x1, x2] = tf.split(x, 2, 1) as [tf.Tensor2D, tf.Tensor2D];
      const s2 = tf.reshape(tf.square(sigma), [-1, 1]);
      const logs: tf.Tensor2D[] = [];
      const grads: tf.Tensor2D[] = [];
      for (const c of this.components) {
        const a = tf.add(s2, c.cov[0][0]);
        const d = tf.add(s2, c.cov[1][1]);
        const b = c.cov[0][1];
        const det = tf.sub(tf.mul(a, d), b * b);
        const u = tf.sub(x1, c.mean[0]);
        const v = tf.sub(x2, c.mean[1]);
        // (Σ + σ²I)⁻¹ (u, v) = (d u − b v, −b u + a v)/det
        const g1 = tf.div(tf.sub(tf.mul(d, u), tf.mul(b, v)), det);
        const g2 = tf.div(tf.sub(tf.mul(a, v), tf.mul(b, u)), det);
        const q = tf.add(tf.mul(u, g1), tf.mul(v, g2));
        logs.push(tf.sub(tf.sub(Math.log(c.weight), tf.mul(0.5, q)), tf.mul(0.5, tf.log(det))) as tf.Tensor2D);
        grads.push(tf.neg(tf.concat([g1, g2], 1)) as tf.Tensor2D);
      }
      const w = tf.softmax(tf.concat(logs, 1), 1); // [B, K]
      let out: tf.Tensor = tf.zerosLike(x);
      grads.forEach((g, k) => {
        out = tf.add(out, tf.mul(tf.slice(w, [0, k], [-1, 1]), g));
      });
      return out;
    });
  }

  /** Exact draws from p_σ. */
  sample(n: number, rng: { uniform(): number; normal(): number }, sigma = 0): Float32Array {
    const out = new Float32Array(n * 2);
    const cum: number[] = [];
    let acc = 0;
    for (const c of this.components) cum.push((acc += c.weight));
    for (let i = 0; i < n; i++) {
      const u = rng.uniform();
      let k = cum.findIndex((v) => u < v);
      if (k < 0) k = cum.length - 1;
      const c = this.components[k];
      const a = c.cov[0][0] + sigma * sigma;
      const b = c.cov[0][1];
      const d = c.cov[1][1] + sigma * sigma;
      // Cholesky of [[a, b], [b, d]]
      const l00 = Math.sqrt(a);
      const l10 = b / l00;
      const l11 = Math.sqrt(d - l10 * l10);
      const z0 = rng.normal();
      const z1 = rng.normal();
      out[2 * i] = c.mean[0] + l00 * z0;
      out[2 * i + 1] = c.mean[1] + l10 * z0 + l11 * z1;
    }
    return out;
  }

  dispose(): void {}
}

/** A fixed three-component mixture used by `analytic:mixture` and the tests. */
export function defaultMixture(): GaussianMixture2D {
  return new GaussianMixture2D([
    { weight: 0.5, mean: [-2, 0], cov: [[0.3, 0.1], [0.1, 0.2]] },
    { weight: 0.3, mean: [2, 1.5], cov: [[0.2, -0.05], [-0.05, 0.4]] },
    { weight: 0.2, mean: [1, -2], cov: [[0.15, 0], [0, 0.15]] },
  ]);
}
