/**
 * Where the squared error of a radio reconstruction lies, against a known truth (the images that
 * scripts/radio-eval.ts --save writes: truth.fits, clean-best.fits, clean-restored.fits, mean-PRIOR.fits):
 *   node --import tsx scripts/radio-error-budget.ts DIR [--tracks FILE.uvfits]
 *
 * For each image of DIR (64×64, Jy/pixel) beside truth.fits, the share of its sum of squared errors
 * (src-shared/radio/error-budget.ts)
 *  - by region of the truth: the source's bright part (truth ≥ 10 % of the peak), its wings (0.1 % to 10 %) and the
 *    empty sky (below 0.1 %), with the mean error (bias) on the empty sky;
 *  - by spatial frequency (the error's discrete Fourier transform, cycles per pixel): below the shortest baseline
 *    (the short-spacing hole, total flux included), the measured annulus up to the longest baseline (1/6 cycle per
 *    pixel at radio-eval.ts's cell) and beyond it, where only the prior speaks;
 * and the total flux against the truth's, the PSNR, and the PSNR after the best single scale factor a
 * (min ‖a·x − truth‖²): how much of the error a flux-scale error alone explains.
 * Prints one JSON line per image.
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { readImage2d } from '../src-main/forward-model-files.js';
import { readUvfits, selectVisibilities } from '../src-shared/radio/uvfits.js';
import { errorBudget } from '../src-shared/radio/error-budget.js';

const DATA = path.resolve(import.meta.dirname, '..', '..', 'shared', 'data');
const dir = process.argv[2];
if (!dir) throw new Error('usage: radio-error-budget.ts DIR [--tracks FILE.uvfits]');
const ti = process.argv.indexOf('--tracks');
const tracksFile = ti > 0 ? process.argv[ti + 1]! : path.join(DATA, 'uvfits', 'vlba43_BLLAC_2013may30.uvfits');

const vis = selectVisibilities(readUvfits(new Uint8Array(readFileSync(tracksFile)), tracksFile), 'I', tracksFile);
let umax = 0;
let umin = Infinity;
for (let k = 0; k < vis.n; k++) {
  const r = Math.hypot(vis.u[k], vis.v[k]);
  umax = Math.max(umax, r);
  if (r > 0) umin = Math.min(umin, r);
}
// radio-eval.ts's cell: 1/(6 u_max); a baseline of length u samples u·cell cycles per pixel
const cell = 1 / (6 * umax);
const fMin = umin * cell;
const fMax = umax * cell;

const truthImg = await readImage2d(path.join(dir, 'truth.fits'));
const [ny, nx] = truthImg.shape;
const truth = Float64Array.from(truthImg.data);
let peak = 0;
for (const v of truth) peak = Math.max(peak, v);

const psnr = (mse: number) => 10 * Math.log10((peak * peak) / mse);
const files = readdirSync(dir).filter((f) => f.endsWith('.fits') && f !== 'truth.fits' && !f.startsWith('samples-'));
for (const f of files) {
  const img = await readImage2d(path.join(dir, f));
  const b = errorBudget(img.data, truth, ny, nx, fMin, fMax);
  const n = truth.length;
  const share = (v: number) => Math.round((1000 * v) / b.sse) / 1000;
  // the PSNR were a region's (or band's) error removed
  const without = (v: number) => Math.round(100 * psnr((b.sse - v) / n)) / 100;
  console.log(
    JSON.stringify({
      image: f,
      psnr: Math.round(100 * psnr(b.sse / n)) / 100,
      share: { bright: share(b.region.bright), wings: share(b.region.wings), empty: share(b.region.empty) },
      pixels: b.pixels,
      psnrWithout: { bright: without(b.region.bright), wings: without(b.region.wings), empty: without(b.region.empty) },
      emptyMeanError: b.emptyMeanError,
      bandShare: { hole: share(b.band.hole), measured: share(b.band.measured), beyond: share(b.band.beyond) },
      psnrWithoutBand: { hole: without(b.band.hole), measured: without(b.band.measured), beyond: without(b.band.beyond) },
      flux: b.flux,
      truthFlux: b.truthFlux,
      bestScale: b.bestScale,
      psnrBestScale: Math.round(100 * psnr(b.sseBestScale / n)) / 100,
      bandsCyclesPerPixel: [fMin, fMax],
    }),
  );
}
