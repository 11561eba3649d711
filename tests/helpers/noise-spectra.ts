/** Test spectra for the noise-model tests. */

/** P(k) = |K(k)|² of the separable kernel [a, 1 − 2a, a] (a drizzle-like pixel correlation), numpy fft2 layout on [ny, nx]. */
export function kernelSpectrum(ny: number, nx: number, a: number): Float64Array {
  const p = new Float64Array(ny * nx);
  for (let l = 0; l < ny; l++) {
    for (let k = 0; k < nx; k++) {
      const ky = 1 - 2 * a + 2 * a * Math.cos((2 * Math.PI * l) / ny);
      const kx = 1 - 2 * a + 2 * a * Math.cos((2 * Math.PI * k) / nx);
      p[l * nx + k] = (ky * kx) ** 2;
    }
  }
  return p;
}

/** Correlation at lag d (per axis) of the kernel [a, 1 − 2a, a] noise: c0 = 2a² + (1 − 2a)², c1 = 2a(1 − 2a), c2 = a². */
export function kernelCorrelation(a: number, d: number): number {
  const c = [2 * a * a + (1 - 2 * a) ** 2, 2 * a * (1 - 2 * a), a * a];
  return (c[d] ?? 0) / c[0]!;
}

/** kernelSpectrum(n, n, ¼) plus a white floor, scaled to mean 1: a normalised noise spectrum ρ on an n×n grid. */
export function drizzleCorrelation(n: number, floor: number): Float64Array {
  const p = kernelSpectrum(n, n, 0.25).map((v) => v + floor);
  const mean = p.reduce((a, v) => a + v, 0) / p.length;
  return p.map((v) => v / mean);
}
