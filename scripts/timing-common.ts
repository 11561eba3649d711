// What the timing scripts share: their flags, the process's CPU time, and the inputs of a lens fit on the files of
// `lens-fit-timing.ts sim DIR` (obs.fits, noise.fits, psf.fits, truth.json).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { readImage2d } from '../src-main/forward-model-files.js';
import { LENS_FIT_PSF_SIZE, lensFitPsf } from '../src-main/reconstruct/lens-fit-run.js';
import { annulusMask, fitPixels } from '../src-shared/lensing/fit.js';
import { ellipticityFromQPhi, type MassVector } from '../src-shared/lensing/mass.js';

/** The value after `--name` in args, or undefined. */
export function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

/** The process's CPU time (user + system, every thread), in milliseconds. */
export function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e3;
}

/**
 * A simulated lens's data as the fit sees them: the annulus R1–R2″ as the mask, the fit's PSF crop, the fitted
 * pixels with their data y and weights w, and the true mass.
 */
export async function lensSimulationInputs(dir: string, annulus: [number, number]) {
  const obs = await readImage2d(path.join(dir, 'obs.fits'));
  const noise = await readImage2d(path.join(dir, 'noise.fits'));
  const psfImg = await readImage2d(path.join(dir, 'psf.fits'));
  const truth = JSON.parse(readFileSync(path.join(dir, 'truth.json'), 'utf8'));
  const psf = lensFitPsf(psfImg, LENS_FIT_PSF_SIZE, obs.shape, 'psf.fits');
  const image = { shape: obs.shape, scale: Number(truth.scale) };
  const d = { data: obs.data, sigma: noise.data, image, mask: annulusMask(image, annulus[0], annulus[1]), psf };
  const pixels = fitPixels(d);
  const y = Float64Array.from(pixels, (p) => d.data[p]);
  const w = Float64Array.from(pixels, (p) => 1 / (d.sigma[p] * d.sigma[p]));
  const t = truth.lens;
  const [e1, e2] = ellipticityFromQPhi(t.q, t.phi);
  const mass: MassVector = { thetaE: t.thetaE, e1, e2, x0: t.x0, y0: t.y0, gamma1: t.gamma1, gamma2: t.gamma2 };
  return { truth, psf, image, d, pixels, y, w, mass };
}
