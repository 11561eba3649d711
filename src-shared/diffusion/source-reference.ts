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
 * brightness is conserved), blurred by the PSF: no regularisation to choose, one adjoint. `skyscore lens-fit`
 * writes the regularised inversion's figures into model.json (`fluxReference`), which take precedence.
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
}

/** The weighted normalised back-projection of the data (less a known additive image) through A. */
export async function backProjection(
  operator: LinearOperator,
  data: ArrayLike<number>,
  noise: NoiseModel,
  additive: ArrayLike<number> | null = null,
  reachFraction = 0.25,
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
  let reached = 0;
  for (let k = 0; k < m; k++) {
    if (median > 0 && den[k]! >= reachFraction * median) {
      image[k] = out[k]! / den[k]!;
      reached++;
    }
  }
  return { image, reached, flux: fluxReference(image), background: backgroundReference(image) };
}
