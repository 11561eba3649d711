/**
 * The lens fit's sharp-pixel test (outliers.ts) on whitened data (whitening.ts), before the fit: against the data,
 * then against the deflector's light alone. Whitening spreads a light model's misfit at the galaxy's core over the
 * whitening kernel's support and sharpens it — on real drizzled HST cutouts the core of a galaxy minus two Sérsic
 * profiles through a model PSF passes the test there at several pixels, up to a few pixels from the centre
 * (docs/lensing.md, *Measured on real SLACS lenses*). A pixel found against the light within the PSF's FWHM plus
 * the kernel's radius of the light's fitted centre is therefore taken out only where it is sharper than the PSF in
 * the data as given too: the same test on the data and σ before whitening, against the same light through the PSF
 * as given (its amplitudes refitted there), the nucleus's own pixels kept (nucleusPixels). A cosmic ray or a hot
 * pixel is a spike before whitening; the light's misfit at the core is not.
 *
 * Each pixel found is taken out with the whitening kernel's support about it (a spike's whitened image reaches that
 * far: sharpCutMask) — save within the same reach of the light's centre (`core`), where only the pixels found
 * themselves go: a kernel's box about a pixel a few tenths of an arcsecond from the centre covers the nucleus, and
 * a few such boxes blank the whole core, which then leaves the deflector's light, and with it the lens, unconstrained
 * (docs/lensing.md, *Measured on real SLACS lenses*, SDSSJ0753+3416). Whitening's tails about a spike there are
 * small beside the core's own light and its Poisson noise.
 */
import type { PsfKernel } from '../operators/psf.js';
import type { Shape2 } from '../operators/types.js';
import { fitLightOnly, fitPixels, leastSquaresChi2 } from './fit.js';
import { lightColumns, lightImage } from './light.js';
import { psfFwhmPixels, sharpOutliers } from './outliers.js';
import { dilate } from './whitening.js';

/** One image for the test: data, σ (NaN or non-finite: not valid) and its PSF. */
export interface SharpTestImage {
  data: ArrayLike<number>;
  sigma: ArrayLike<number>;
  psf: PsfKernel;
}

export interface WhitenedSharpResult {
  /** the pixels taken for cosmic rays or hot pixels (flat indices, increasing) */
  sharp: number[];
  /** the pixels sharper than the PSF against the light in the whitened data that the data as given clear (the core's) */
  kept: number[];
  /** the reach about the light's centre within which the data as given decide, in pixels (FWHM + kernel radius) */
  nucleusRadius: number;
  /** the light's fitted centre (column, row; fractional pixel indices); null where no light was fitted */
  core: { x: number; y: number } | null;
}

/**
 * The whitened image's sharp pixels (see the file's header): `whitened` the whitened data, σ and PSF, `raw` the
 * same before whitening, `kernelRadius` the whitening kernel's radius in pixels, `lightCount` the light's
 * components (0: the test against the data only).
 */
export function whitenedSharpOutliers(
  whitened: SharpTestImage,
  raw: SharpTestImage,
  kernelRadius: number,
  mask: ArrayLike<number> | null,
  image: { shape: Shape2; scale: number },
  lightCount: number,
): WhitenedSharpResult {
  const [ny, nx] = image.shape;
  const d = { data: whitened.data, sigma: whitened.sigma, image, mask, psf: whitened.psf };
  const fwhm = psfFwhmPixels(raw.psf);
  const nucleusRadius = fwhm + kernelRadius;
  let pixels = fitPixels(d);
  if (pixels.length < 50) return { sharp: [], kept: [], nucleusRadius, core: null };
  const found = new Set<number>(sharpOutliers(whitened.data, whitened.sigma, null, image.shape, pixels, whitened.psf));
  const kept: number[] = [];
  let core: { x: number; y: number } | null = null;
  if (lightCount > 0) {
    pixels = Int32Array.from(Array.from(pixels).filter((p) => !found.has(p)));
    const { light } = fitLightOnly(d, pixels, lightCount, 1500, () => {});
    const { amps } = leastSquaresChi2(lightColumns(light, image, whitened.psf, pixels, 2), d, pixels);
    const model = lightImage(light, amps, image, whitened.psf, 2);
    const cx = light[0].x0 / image.scale + (nx - 1) / 2;
    const cy = light[0].y0 / image.scale + (ny - 1) / 2;
    core = { x: cx, y: cy };
    const atCore: number[] = [];
    for (const p of sharpOutliers(whitened.data, whitened.sigma, model, image.shape, pixels, whitened.psf)) {
      if (Math.hypot(Math.floor(p / nx) - cy, (p % nx) - cx) <= nucleusRadius) atCore.push(p);
      else found.add(p);
    }
    if (atCore.length) {
      const r = { data: raw.data, sigma: raw.sigma, image, mask, psf: raw.psf };
      const rawPixels = Int32Array.from(Array.from(fitPixels(r)).filter((p) => !found.has(p)));
      const rawAmps = leastSquaresChi2(lightColumns(light, image, raw.psf, rawPixels, 2), r, rawPixels).amps;
      const rawModel = lightImage(light, rawAmps, image, raw.psf, 2);
      const valid = new Set(Array.from(rawPixels));
      const candidates = Int32Array.from(atCore.filter((p) => valid.has(p)));
      const sharp = new Set(sharpOutliers(raw.data, raw.sigma, rawModel, image.shape, candidates, raw.psf, { nucleus: { x: cx, y: cy, radius: fwhm } }));
      for (const p of atCore) {
        if (sharp.has(p)) found.add(p);
        else kept.push(p);
      }
    }
  }
  return { sharp: Array.from(found).sort((x, y) => x - y), kept, nucleusRadius, core };
}

/**
 * The pixels to take out for the sharp pixels found (whitenedSharpOutliers): each with every pixel within
 * `kernelRadius` of it (a box of side 2R + 1), save those within `res.nucleusRadius` of the light's centre, where
 * only the sharp pixels themselves are taken out (the file's header). A mask of the image ([ny, nx], 1: out).
 */
export function sharpCutMask(res: WhitenedSharpResult, shape: Shape2, kernelRadius: number): Uint8Array {
  const [ny, nx] = shape;
  const hit = new Uint8Array(ny * nx);
  for (const p of res.sharp) hit[p] = 1;
  const out = dilate(hit, ny, nx, kernelRadius); // a new mask (hit itself where the radius is 0: the loop below then changes nothing)
  const c = res.core;
  if (!c) return out;
  const r = res.nucleusRadius;
  for (let i = Math.max(0, Math.floor(c.y - r)); i <= Math.min(ny - 1, Math.ceil(c.y + r)); i++) {
    for (let j = Math.max(0, Math.floor(c.x - r)); j <= Math.min(nx - 1, Math.ceil(c.x + r)); j++) {
      if (Math.hypot(i - c.y, j - c.x) <= r) out[i * nx + j] = hit[i * nx + j];
    }
  }
  return out;
}
