/** Test PSF kernels (float64, row-major k×k, centre at pixel ⌊k/2⌋). */

/** A rotated elliptical Gaussian, σ sx × sy pixels along axes at theta rad (unnormalised): not separable. */
export function ellipticalKernel(k: number, sx: number, sy: number, theta: number): Float64Array {
  const h = new Float64Array(k * k);
  const c = Math.floor(k / 2);
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) {
      const dx = j - c;
      const dy = i - c;
      const u = Math.cos(theta) * dx + Math.sin(theta) * dy;
      const v = -Math.sin(theta) * dx + Math.cos(theta) * dy;
      h[i * k + j] = Math.exp(-0.5 * ((u / sx) ** 2 + (v / sy) ** 2));
    }
  }
  return h;
}
