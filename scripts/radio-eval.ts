/**
 * The posterior from visibilities against CLEAN on a radio sky with a known truth, observed on real (u, v) tracks:
 *   node --import tsx scripts/radio-eval.ts [--truth FILE.fits|synth:SEED:K] [--tracks FILE.uvfits] [--snr S] [--n N] [--steps K]
 *     [--prior P[,P2…]] [--flux-scale F] [--save DIR]
 *
 * The truth: a radio image from ../shared/data/radio (default the PURIFY M31 model), box-averaged to 64×64, or
 * `synth:SEED:K`, the K-th (from 0) non-empty image that src-shared/radio/synth-sources.ts draws from seed SEED
 * (the radio prior was trained on seed 1: other seeds are images it never saw); scaled to a peak of 1 Jy/pixel. The tracks: the (u, v) of a real UVFITS file (default the VLBA 43 GHz BL Lac
 * observation, Stokes I, 2462 visibilities), with the cell chosen so that the longest baseline is sampled at three
 * pixels per fringe (1/(6 u_max)), as `skyscore clean` chooses it. Visibilities: the measurement operator on the
 * truth plus complex Gaussian noise, σ per part set so that the natural-weighted dirty image's noise is 1/S of its
 * peak (S = --snr, default 100). Compared, by PSNR against the truth (peak² / mean squared error, dB):
 *  - CLEAN (Cotton–Schwab, gain 0.1, to 1σ of the image noise or 5000 components), its model convolved with the
 *    Gaussian whose FWHM gives the best PSNR (an oracle choice, generous to CLEAN), and the standard restored image
 *    per pixel (the restoring beam, divided by its area);
 *    (with the χ² per visibility degree of freedom of CLEAN's component model);
 *  - the posterior mean of `reconstruct --vis` (the same service) for each prior of --prior (a comma-separated
 *    list, all on the same visibilities), with its χ² per visibility degree of freedom and the truth's per-pixel
 *    coverage at 68 % and 95 %: `coverage68/95` by the interval between the samples' nearest-rank quantiles (biased
 *    low for few samples: with 4 samples both are the samples' range, whose coverage is 3/5 for calibrated draws)
 *    and `rankCoverage68/95` from the truth's rank among the samples (src-shared/eval/metrics.ts pixelCoverage,
 *    unbiased for any number of samples).
 * --flux-scale F gives the flux scale (Jy/pixel per prior unit) instead of the automatic rule, as reconstruct's does.
 * Prints one JSON line of figures; --save DIR writes truth.fits, clean-best.fits, clean-restored.fits and
 * mean-PRIOR.fits (64×64, Jy/pixel) and samples-PRIOR.fits (the draws) there.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { initBackend } from '../src-main/engine/backend.js';
import { readImage2d } from '../src-main/forward-model-files.js';
import { affineFor, checkPriorShape, resolvePrior } from '../src-main/priors.js';
import { imagePlaneFlux } from '../src-main/reconstruct/visibilities.js';
import { readUvfits, selectVisibilities } from '../src-shared/radio/uvfits.js';
import { chooseMeasurement } from '../src-shared/radio/measurement.js';
import { cropBeam, dirtyBeam, doubleGrid } from '../src-shared/radio/imaging.js';
import { beamFromAxes, beamImage, clean, fitBeam, restore } from '../src-shared/radio/clean.js';
import { visibilityNormalEquations } from '../src-shared/radio/normal-equations.js';
import { VisibilityLikelihood } from '../src-shared/diffusion/visibility-likelihood.js';
import { runSampling } from '../src-shared/diffusion/posterior.js';
import { posteriorProducts } from '../src-shared/diffusion/products.js';
import { ChainRandom } from '../src-shared/diffusion/chain-rng.js';
import type { ImageGrid } from '../src-shared/radio/grid.js';
import { Rng } from '../src-shared/diffusion/nn/rng.js';
import { synthRadioImages } from '../src-shared/radio/synth-sources.js';
import { writeFits } from '../src-shared/fits/writer.js';
import { mkdirSync, writeFileSync } from 'node:fs';
import { pixelCoverage } from '../src-shared/eval/metrics.js';

const DATA = path.resolve(import.meta.dirname, '..', '..', 'shared', 'data');
const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : def;
};
const truthFile = arg('truth', path.join(DATA, 'radio', 'purify_M31.fits'));
const tracksFile = arg('tracks', path.join(DATA, 'uvfits', 'vlba43_BLLAC_2013may30.uvfits'));
const snr = Number(arg('snr', '100'));
const nSamples = Number(arg('n', '8'));
const steps = Number(arg('steps', '250'));
const priorSpecs = arg('prior', 'models/galaxy-64').split(',');
const saveDir = arg('save', '');
const givenFlux = arg('flux-scale', '') === '' ? null : Number(arg('flux-scale', ''));
const SIDE = 64;

function boxAverage(data: Float32Array | Float64Array, [ny, nx]: [number, number], side: number): Float64Array {
  const fy = Math.floor(ny / side);
  const fx = Math.floor(nx / side);
  const oy = Math.floor((ny - fy * side) / 2);
  const ox = Math.floor((nx - fx * side) / 2);
  const out = new Float64Array(side * side);
  for (let i = 0; i < side; i++) {
    for (let j = 0; j < side; j++) {
      let s = 0;
      for (let a = 0; a < fy; a++) for (let b = 0; b < fx; b++) s += data[(oy + i * fy + a) * nx + ox + j * fx + b] || 0;
      out[i * side + j] = s / (fy * fx);
    }
  }
  return out;
}

const psnr = (x: ArrayLike<number>, truth: Float64Array) => {
  let peak = 0;
  let mse = 0;
  for (let i = 0; i < truth.length; i++) {
    peak = Math.max(peak, Math.abs(truth[i]));
    mse += (x[i] - truth[i]) ** 2;
  }
  return 10 * Math.log10((peak * peak) / (mse / truth.length));
};

async function main() {
  await initBackend('wasm');
  let truth: Float64Array;
  let morphology: string | null = null;
  if (truthFile.startsWith('synth:')) {
    const [, seedText, kText] = truthFile.split(':');
    const r = new Rng(Number(seedText));
    let k = Number(kText);
    for (;;) {
      const d = synthRadioImages(r, 1, SIDE);
      if (d.morphologies[0] === 'empty') continue;
      if (k-- === 0) {
        truth = Float64Array.from(d.images);
        morphology = d.morphologies[0];
        break;
      }
    }
  } else {
    const img = await readImage2d(truthFile);
    truth = boxAverage(img.data, img.shape, SIDE);
  }
  let peak = 0;
  for (const v of truth) peak = Math.max(peak, v);
  for (let i = 0; i < truth.length; i++) truth[i] /= peak;

  const vis = selectVisibilities(readUvfits(new Uint8Array(readFileSync(tracksFile)), tracksFile), 'I', tracksFile);
  let umax = 0;
  for (let k = 0; k < vis.n; k++) umax = Math.max(umax, Math.hypot(vis.u[k], vis.v[k]));
  const grid: ImageGrid = { nx: SIDE, ny: SIDE, cell: 1 / (6 * umax) };
  const A = chooseMeasurement(vis.u, vis.v, grid);
  const model = A.forward(truth);
  // σ per part so that the natural-weighted dirty image's noise, σ/√M, is 1/S of the dirty image's peak
  const w1 = new Float64Array(vis.n).fill(1);
  const big1 = dirtyBeam(vis.u, vis.v, w1, doubleGrid(grid));
  const dirtyPeak = Math.max(...A.adjoint(model.re, model.im).re) / vis.n;
  const sigma = (dirtyPeak / snr) * Math.sqrt(vis.n);
  const r = new ChainRandom(2026, 0);
  const re = Float64Array.from(model.re, (v) => v + sigma * r.normal());
  const im = Float64Array.from(model.im, (v) => v + sigma * r.normal());
  const weight = new Float64Array(vis.n).fill(1 / (sigma * sigma));
  const data = { ...vis, re, im, weight };

  // CLEAN
  const big = dirtyBeam(vis.u, vis.v, weight, doubleGrid(grid));
  void big1;
  const beam = fitBeam(cropBeam(big, grid), grid);
  const noise = sigma / Math.sqrt(vis.n);
  const t0 = performance.now();
  const c = clean(A, re, im, weight, big, { method: 'cotton-schwab', niter: 5000, gain: 0.1, threshold: noise });
  const cleanSeconds = (performance.now() - t0) / 1000;
  const chi2Of = (x: ArrayLike<number>) => {
    const m = A.forward(Float64Array.from(x));
    let c2 = 0;
    for (let k = 0; k < vis.n; k++) c2 += weight[k] * ((re[k] - m.re[k]) ** 2 + (im[k] - m.im[k]) ** 2);
    return c2 / (2 * vis.n);
  };
  const area = (Math.PI * beam.bmaj * beam.bmin * (Math.PI / 180) ** 2) / (4 * Math.LN2) / grid.cell ** 2;
  const restoredPerPixel = Float64Array.from(restore(c.model, c.residual, beam, grid), (v) => v / area);
  let bestClean = { psnr: -Infinity, fwhmPx: 0, image: new Float64Array(0) };
  for (let f = 0.5; f <= 8; f += 0.25) {
    const g = beamFromAxes(((f * grid.cell) / Math.PI) * 180, ((f * grid.cell) / Math.PI) * 180, 0, grid.cell);
    const kern = beamImage(g, grid);
    let ks = 0;
    for (const v of kern) ks += v;
    // the model convolved with a unit-sum Gaussian (beamImage is the Gaussian at the centre, peak 1)
    const conv = restore(c.model, new Float64Array(c.model.length), g, grid).map((v) => v / ks);
    const p = psnr(conv, truth);
    if (p > bestClean.psnr) bestClean = { psnr: p, fwhmPx: f, image: Float64Array.from(conv) };
  }

  // the posteriors
  const save = (name: string, x: ArrayLike<number>) => {
    if (!saveDir) return;
    mkdirSync(saveDir, { recursive: true });
    writeFileSync(path.join(saveDir, name), writeFits([{ data: Float32Array.from(x), shape: [SIDE, SIDE], bitpix: -32 }]));
  };
  save('truth.fits', truth);
  save('clean-best.fits', bestClean.image);
  save('clean-restored.fits', restoredPerPixel);
  const posteriors: Record<string, unknown>[] = [];
  for (const priorSpec of priorSpecs) {
    const prior = await resolvePrior(priorSpec, process.cwd(), {});
    const shapeNote = checkPriorShape(prior, [SIDE, SIDE], 'the image');
    const flux = imagePlaneFlux(prior, data, A, big, beam, grid, givenFlux);
    const affine = affineFor(prior, flux);
    const lik = new VisibilityLikelihood({ equations: visibilityNormalEquations(data, grid), affine });
    const t1 = performance.now();
    const res = await runSampling({ prior: prior.model, sde: prior.sde, shape: [SIDE, SIDE], likelihood: lik }, { sampler: 'pc', steps, n: nSamples, seed: 1, batchSize: nSamples });
    const sampleSeconds = (performance.now() - t1) / 1000;
    const prod = await posteriorProducts(res, affine, lik);
    const per = SIDE * SIDE;
    let in68 = 0;
    let in95 = 0;
    const col = new Float64Array(nSamples);
    for (let i = 0; i < per; i++) {
      for (let k = 0; k < nSamples; k++) col[k] = prod.samples[k * per + i];
      col.sort();
      const q = (p: number) => col[Math.min(nSamples - 1, Math.max(0, Math.round(p * (nSamples - 1))))];
      if (truth[i] >= q(0.16) && truth[i] <= q(0.84)) in68++;
      if (truth[i] >= q(0.025) && truth[i] <= q(0.975)) in95++;
    }
    save(`mean-${path.basename(priorSpec)}.fits`, prod.mean);
    if (saveDir) writeFileSync(path.join(saveDir, `samples-${path.basename(priorSpec)}.fits`), writeFits([{ data: Float32Array.from(prod.samples), shape: [SIDE, SIDE, nSamples], bitpix: -32 }]));
    const draws = Array.from({ length: nSamples }, (_, k) => prod.samples.subarray(k * per, (k + 1) * per));
    const [rank68, rank95] = pixelCoverage(draws, truth, [0.68, 0.95]);
    posteriors.push({
      prior: prior.spec,
      n: nSamples,
      steps,
      psnrMean: psnr(prod.mean, truth),
      chi2PerVisibilityDof: prod.chi2PerPixel,
      coverage68: in68 / per,
      coverage95: in95 / per,
      rankCoverage68: rank68,
      rankCoverage95: rank95,
      fluxScale: flux.value,
      seconds: sampleSeconds,
      cg: lik.cgStats,
      note: shapeNote,
    });
    lik.dispose();
    prior.dispose();
  }
  const out = {
    truth: truthFile.startsWith('synth:') ? `${truthFile} (${morphology})` : path.basename(truthFile),
    tracks: path.basename(tracksFile),
    visibilities: vis.n,
    snr,
    cellMas: (grid.cell / (Math.PI / 180)) * 3.6e6,
    beamMas: [beam.bmaj * 3.6e6, beam.bmin * 3.6e6],
    clean: {
      psnrBestGaussian: bestClean.psnr,
      bestFwhmPx: bestClean.fwhmPx,
      psnrRestoredPerPixel: psnr(restoredPerPixel, truth),
      chi2PerVisibilityDofOfModel: chi2Of(c.model),
      iterations: c.iterations,
      seconds: cleanSeconds,
    },
    posteriors,
  };
  console.log(JSON.stringify(out));
}

await main();
