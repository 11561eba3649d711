/**
 * Where the squared error of a radio reconstruction lies, against a known truth (the images that
 * scripts/radio-eval.ts --save writes: truth.fits, clean-best.fits, clean-restored.fits, mean-PRIOR.fits):
 *   node --import tsx scripts/radio-error-budget.ts DIR [--tracks FILE.uvfits]
 *
 * For each image of DIR (64×64, Jy/pixel) beside truth.fits, the share of its sum of squared errors
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
let truthFlux = 0;
for (const v of truth) {
  peak = Math.max(peak, v);
  truthFlux += v;
}

/** Power of the error per frequency band (unnormalised DFT, Parseval: Σ|E_k|² = N Σ e²). */
function bands(e: Float64Array): { hole: number; measured: number; beyond: number } {
  const out = { hole: 0, measured: 0, beyond: 0 };
  // row DFTs then column DFTs (64×64: direct sums are cheap)
  const re = new Float64Array(ny * nx);
  const im = new Float64Array(ny * nx);
  for (let y = 0; y < ny; y++) {
    for (let kx = 0; kx < nx; kx++) {
      let sr = 0;
      let si = 0;
      for (let x = 0; x < nx; x++) {
        const a = (-2 * Math.PI * kx * x) / nx;
        sr += e[y * nx + x] * Math.cos(a);
        si += e[y * nx + x] * Math.sin(a);
      }
      re[y * nx + kx] = sr;
      im[y * nx + kx] = si;
    }
  }
  for (let kx = 0; kx < nx; kx++) {
    for (let ky = 0; ky < ny; ky++) {
      let sr = 0;
      let si = 0;
      for (let y = 0; y < ny; y++) {
        const a = (-2 * Math.PI * ky * y) / ny;
        const c = Math.cos(a);
        const s = Math.sin(a);
        sr += re[y * nx + kx] * c - im[y * nx + kx] * s;
        si += re[y * nx + kx] * s + im[y * nx + kx] * c;
      }
      const fx = (kx <= nx / 2 ? kx : kx - nx) / nx;
      const fy = (ky <= ny / 2 ? ky : ky - ny) / ny;
      const f = Math.hypot(fx, fy);
      const p = (sr * sr + si * si) / (nx * ny);
      if (f < fMin) out.hole += p;
      else if (f <= fMax) out.measured += p;
      else out.beyond += p;
    }
  }
  return out;
}

const psnr = (mse: number) => 10 * Math.log10((peak * peak) / mse);
const files = readdirSync(dir).filter((f) => f.endsWith('.fits') && f !== 'truth.fits' && !f.startsWith('samples-'));
for (const f of files) {
  const img = await readImage2d(path.join(dir, f));
  const x = Float64Array.from(img.data);
  const e = x.map((v, i) => v - truth[i]);
  let sse = 0;
  const reg = { bright: 0, wings: 0, empty: 0 };
  const count = { bright: 0, wings: 0, empty: 0 };
  let emptyBias = 0;
  let flux = 0;
  let xt = 0;
  let xx = 0;
  for (let i = 0; i < e.length; i++) {
    sse += e[i] ** 2;
    flux += x[i];
    xt += x[i] * truth[i];
    xx += x[i] * x[i];
    const t = truth[i] / peak;
    const r = t >= 0.1 ? 'bright' : t >= 1e-3 ? 'wings' : 'empty';
    reg[r] += e[i] ** 2;
    count[r]++;
    if (r === 'empty') emptyBias += e[i];
  }
  const b = bands(e);
  const a = xt / xx;
  let sseScaled = 0;
  for (let i = 0; i < e.length; i++) sseScaled += (a * x[i] - truth[i]) ** 2;
  const n = e.length;
  const share = (v: number) => Math.round((1000 * v) / sse) / 1000;
  // the PSNR were a region's (or band's) error removed
  const without = (v: number) => Math.round(100 * psnr((sse - v) / n)) / 100;
  console.log(
    JSON.stringify({
      image: f,
      psnr: Math.round(100 * psnr(sse / n)) / 100,
      share: { bright: share(reg.bright), wings: share(reg.wings), empty: share(reg.empty) },
      pixels: count,
      psnrWithout: { bright: without(reg.bright), wings: without(reg.wings), empty: without(reg.empty) },
      emptyMeanError: emptyBias / count.empty,
      bandShare: { hole: share(b.hole), measured: share(b.measured), beyond: share(b.beyond) },
      psnrWithoutBand: { hole: without(b.hole), measured: without(b.measured), beyond: without(b.beyond) },
      flux,
      truthFlux,
      bestScale: a,
      psnrBestScale: Math.round(100 * psnr(sseScaled / n)) / 100,
      bandsCyclesPerPixel: [fMin, fMax],
    }),
  );
}
