/**
 * The unknown's own brightness where the data do not show it directly: for a forward model with a lens stage the
 * prior acts on the source plane, whose brightness the image plane's statistics misstate (the ring repeats the
 * source, the magnification and the PSF change its peaks). The automatic flux scale then reads the statistics of
 * flux-reference.ts on a quick linear estimate of the unknown instead of on the data: the weighted, normalised
 * back-projection
 *
 *   ŝ = Aᵀ W (y − b) / Aᵀ W 1,    W = diag(m/σ²),
 *
 * on the unknown's pixels that the data reach (Aᵀ W 1 at least `reachFraction` of its median over the pixels
 * reached at all). For a lens this is, per source pixel, the mean of the image pixels whose rays land on it (surface
 * brightness is conserved), blurred by the PSF and by the spread of the rays: ŝ = K s for the true source s, with
 * the smoothing K = D⁻¹ Aᵀ W A (D = diag Aᵀ W 1), which lowers the peaks — by 22–29 % in the 99.5th percentile over
 * ten simulated HST-like lenses (docs/lensing.md). So ŝ is sharpened by `sharpen` van Cittert iterations
 * s ← s + (ŝ − K s) (each one apply and one adjoint of A; K normalised by the reached pixels' own response
 * Aᵀ W A 1_R), which undo K to that order: three iterations (the
 * default) bring the percentile to 0.93–0.99 of the truth's (mean 0.96) on those simulations; fewer leave it low,
 * more amplify the noise. No regularisation to choose. `skyscore lens-fit` writes its regularised inversion's
 * figures into model.json (`fluxReference`), which take precedence.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LinearOperator } from '../operators/types.js';
import { sigmaArray, validityMask, type NoiseModel } from '../operators/noise.js';
import { backgroundReference, fluxReference } from './flux-reference.js';

export interface BackProjection {
  /** ŝ on the unknown's grid, row-major; NaN where the data do not reach. */
  image: Float32Array;
  /** Pixels of the unknown with a value. */
  reached: number;
  /** Its 99.5th percentile and sky (flux-reference.ts). */
  flux: number;
  background: number;
  /** The van Cittert iterations applied (0: the plain back-projection). */
  sharpen: number;
}

/** Van Cittert iterations that sharpen the back-projection by default (see above). */
export const BACK_PROJECTION_SHARPEN = 3;

/** The weighted normalised back-projection of the data (less a known additive image) through A. */
export async function backProjection(
  operator: LinearOperator,
  data: ArrayLike<number>,
  noise: NoiseModel,
  additive: ArrayLike<number> | null = null,
  reachFraction = 0.25,
  sharpen = BACK_PROJECTION_SHARPEN,
): Promise<BackProjection> {
  const [my, mx] = operator.outShape;
  const n = my * mx;
  const valid = validityMask(data, [my, mx], noise).mask;
  const sig = sigmaArray(noise, [my, mx]);
  const w = new Float32Array(n);
  const wy = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    if (!valid[i]) continue;
    w[i] = 1 / (sig[i] * sig[i]);
    wy[i] = w[i] * (data[i] - (additive ? additive[i] : 0));
  }
  const both = tf.tidy(() => operator.adjoint(tf.tensor3d(Float32Array.from([...wy, ...w]), [2, my, mx])));
  const out = (await both.data()) as Float32Array;
  both.dispose();
  const m = operator.inShape[0] * operator.inShape[1];
  const den = out.subarray(m, 2 * m);
  const positive = Array.from(den).filter((v) => v > 0).sort((a, b) => a - b);
  const median = positive.length ? positive[positive.length >> 1]! : 0;
  const image = new Float32Array(m).fill(NaN);
  const reachedMask = new Uint8Array(m);
  let reached = 0;
  for (let k = 0; k < m; k++) {
    if (median > 0 && den[k]! >= reachFraction * median) {
      image[k] = out[k]! / den[k]!;
      reachedMask[k] = 1;
      reached++;
    }
  }
  if (sharpen > 0 && reached > 0) {
    // van Cittert: s ← s + (ŝ − K s) on the reached pixels, K s = Aᵀ W A s / Aᵀ W A 1_R with s = 0 off them (the
    // normalisation by the reached pixels' own response: K leaves a source uniform over them unchanged, so that
    // the grid's unreached pixels do not read as a dark border to be sharpened against)
    const [ny, nx] = operator.inShape;
    const smooth = async (x: Float32Array): Promise<Float32Array> => {
      const t = tf.tidy(() => operator.adjoint(tf.mul(operator.apply(tf.tensor3d(x, [1, ny, nx])), tf.tensor3d(w, [1, my, mx]))));
      const v = (await t.data()) as Float32Array;
      t.dispose();
      return v;
    };
    const norm = await smooth(Float32Array.from(reachedMask));
    const base = Float32Array.from(image, (v) => (Number.isFinite(v) ? v : 0));
    const cur = Float32Array.from(base);
    for (let it = 0; it < sharpen; it++) {
      const kv = await smooth(cur);
      for (let k = 0; k < m; k++) if (reachedMask[k] && norm[k]! > 0) cur[k] += base[k]! - kv[k]! / norm[k]!;
    }
    for (let k = 0; k < m; k++) if (reachedMask[k]) image[k] = cur[k]!;
  }
  return { image, reached, flux: fluxReference(image), background: backgroundReference(image), sharpen };
}

export interface OffGridSignal {
  /** Observed pixels whose rays mostly miss the unknown's grid: A 1 below half its median over the observed pixels. */
  offGrid: number;
  /** Of them, those whose data less the additive image are above 3σ. */
  bright: number;
  /** How many of them pure noise puts above 3σ (0.135 %). */
  expected: number;
  /** A warning when `bright` is well above `expected`, else null. */
  warning: string | null;
}

/**
 * Light the model cannot hold: observed pixels whose rays (nearly) all land off the unknown's grid — for a lens, the
 * source plane beyond the grid's extent — yet whose data less the additive image stand above 3σ. The model predicts
 * nothing there but the additive image, so such pixels mean source light beyond the grid (the grid too small) or
 * light the additive image misses (the deflector's); pure noise puts 0.135 % of them above 3σ. A pixel counts as off
 * the grid where A 1 (the source 1 everywhere on the grid: the share of its rays that land on it, blurred) is below
 * half its median over the observed pixels; observed pixels are those with finite data and σ that the operator
 * reaches (its masks: `outputSupport`). The warning fires at more than expected + 4√expected + 3 such pixels.
 */
export async function offGridSignal(
  operator: LinearOperator & { outputSupport?(): Uint8Array | undefined },
  data: ArrayLike<number>,
  noise: NoiseModel,
  additive: ArrayLike<number> | null = null,
  grid = "the unknown's grid",
): Promise<OffGridSignal> {
  const [my, mx] = operator.outShape;
  const n = my * mx;
  const valid = validityMask(data, [my, mx], noise).mask;
  const support = operator.outputSupport?.();
  const sig = sigmaArray(noise, [my, mx]);
  const [ny, nx] = operator.inShape;
  const t = tf.tidy(() => operator.apply(tf.ones([1, ny, nx])));
  const a1 = (await t.data()) as Float32Array;
  t.dispose();
  const obs: number[] = [];
  for (let i = 0; i < n; i++) if (valid[i] && (!support || support[i]) && a1[i]! > 0) obs.push(a1[i]!);
  obs.sort((a, b) => a - b);
  const median = obs.length ? obs[obs.length >> 1]! : 0;
  let offGrid = 0;
  let bright = 0;
  for (let i = 0; i < n; i++) {
    if (!valid[i] || (support && !support[i]) || a1[i]! >= 0.5 * median) continue;
    offGrid++;
    if ((data[i]! - (additive ? additive[i]! : 0)) / sig[i]! > 3) bright++;
  }
  const expected = 0.00135 * offGrid;
  const warning =
    bright > expected + 4 * Math.sqrt(expected) + 3
      ? `${bright} of the ${offGrid} observed pixels whose rays land (mostly) off ${grid} stand above 3σ after the additive image (pure noise: about ${expected.toFixed(1)}): light the model cannot hold — source light beyond the grid (enlarge it: sourcePixelScale or shape) or light the additive image misses; mask them or widen the grid`
      : null;
  return { offGrid, bright, expected, warning };
}
