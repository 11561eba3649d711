/**
 * The posterior from visibilities against CLEAN on a radio sky with a known truth, observed on real (u, v) tracks:
 *   node --import tsx scripts/radio-eval.ts [--truth FILE.fits|synth:SEED:K] [--tracks FILE.uvfits] [--snr S] [--n N] [--steps K]
 *     [--prior P[,P2…]] [--flux-scale F] [--correctors K] [--seed S] [--groups G] [--save DIR]
 *     [--cg-max-iter N] [--cg-tol T] [--preconditioner none|circulant|embedded] [--eigen PREFIX]
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
 * --flux-scale F gives the flux scale (Jy/pixel per prior unit) instead of the automatic rule, as reconstruct's does;
 * --correctors K the Langevin corrector steps per level of `pc` (default 1); --seed S the chains' seed (default 1;
 * the visibilities' noise has its own fixed stream, so another S gives other chains on the same data).
 * The likelihood's solves (docs/radio.md, *The linear solves*): --cg-max-iter N the warm-started solves' cap (default
 * 30), --cg-tol T their relative residual (default 1e-3), --preconditioner none|circulant|embedded; --eigen PREFIX
 * preconditions with K's eigendecomposition V (I + cΛ)⁻¹ Vᵀ, the exact inverse: without PREFIX.values.f64 (float64,
 * N) and PREFIX.vectors.f32 (float32, N × N row-major, column j the j-th eigenvector) it writes PREFIX.beam.f64 (K's
 * kernel, [2·64 − 1]², float64), PREFIX.dirty.f64 and PREFIX.json and stops; `python3 scripts/radio-cg-analysis.py
 * PREFIX eigen` makes them (numpy's eigh of the dense K).
 * The Monte Carlo spread of the headline figure: the n chains split into G disjoint groups of consecutive chains
 * (--groups G; default 4 when n ≥ 8, 2 when n ≥ 4, none below; src-shared/eval/chain-groups.ts), each group's
 * mean formed as the full mean is — the average of its chains' Rao–Blackwellised estimates (SamplingResult.
 * conditionalMeans) where the run made them, else of its draws — and scored by PSNR: `groups.psnr` (each group's),
 * their min, max, range and standard deviation, and `groups.psnrDrawsMeans` (the plain means of each group's
 * draws). With equal groups the full mean (the image, not its PSNR) is the average of the group means.
 * Prints one JSON line of figures (and, on stderr, one line per prior with the groups' PSNR); --save DIR writes truth.fits, clean-best.fits, clean-restored.fits and
 * mean-PRIOR.fits (64×64, Jy/pixel) and samples-PRIOR.fits (the draws) there.
 */
import path from 'node:path';
import { initBackend } from '../src-main/engine/backend.js';
import { affineFor, checkPriorShape, resolvePrior } from '../src-main/priors.js';
import { imagePlaneFlux } from '../src-main/reconstruct/visibilities.js';
import { beamFromAxes, beamImage, clean, restore } from '../src-shared/radio/clean.js';
import { visibilityNormalEquations } from '../src-shared/radio/normal-equations.js';
import { VisibilityLikelihood, type VisibilityLikelihoodSpec } from '../src-shared/diffusion/visibility-likelihood.js';
import { runSampling } from '../src-shared/diffusion/posterior.js';
import { posteriorProducts, toDataUnits } from '../src-shared/diffusion/products.js';
import { writeFits } from '../src-shared/fits/writer.js';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { pixelCoverage, psnr } from '../src-shared/eval/metrics.js';
import { chainGroupMeans, defaultGroups, groupSizes, spreadOf } from '../src-shared/eval/chain-groups.js';
import { DEFAULT_TRACKS, DEFAULT_TRUTH, SIDE, loadTruth, simulateObservation } from './radio-sim.js';

const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : def;
};
const truthFile = arg('truth', DEFAULT_TRUTH);
const tracksFile = arg('tracks', DEFAULT_TRACKS);
const snr = Number(arg('snr', '100'));
const nSamples = Number(arg('n', '8'));
const steps = Number(arg('steps', '250'));
const priorSpecs = arg('prior', 'models/galaxy-64').split(',');
const saveDir = arg('save', '');
const givenFlux = arg('flux-scale', '') === '' ? null : Number(arg('flux-scale', ''));
const correctors = Number(arg('correctors', '1'));
const seed = Number(arg('seed', '1'));
const nGroups = Number(arg('groups', String(defaultGroups(nSamples))));
const cgMaxIter = arg('cg-max-iter', '') === '' ? undefined : Number(arg('cg-max-iter', ''));
const eigenPrefix = arg('eigen', '');
const cgTol = arg('cg-tol', '') === '' ? undefined : Number(arg('cg-tol', ''));
const preconditioner = arg('preconditioner', '') === '' ? undefined : (arg('preconditioner', '') as VisibilityLikelihoodSpec['preconditioner']);
if (nGroups !== 0) groupSizes(nSamples, nGroups); // fails early on groups the chains cannot fill

async function main() {
  await initBackend('wasm');
  const { truth, morphology } = await loadTruth(truthFile);
  const { vis, grid, A, sigma, re, im, weight, data, big, beam, chi2Of } = simulateObservation(truth, tracksFile, snr);
  // PSNR's peak: the truth's largest absolute value
  const truthPeak = truth.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  const score = (x: ArrayLike<number>) => psnr(truth, x, truthPeak);

  // CLEAN
  const noise = sigma / Math.sqrt(vis.n);
  const t0 = performance.now();
  const c = clean(A, re, im, weight, big, { method: 'cotton-schwab', niter: 5000, gain: 0.1, threshold: noise });
  const cleanSeconds = (performance.now() - t0) / 1000;
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
    const p = score(conv);
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
    const equations = visibilityNormalEquations(data, grid);
    let eigen: VisibilityLikelihoodSpec['eigen'];
    if (eigenPrefix) {
      if (!existsSync(`${eigenPrefix}.values.f64`)) {
        // the beam for an outside eigendecomposition of K (e.g. numpy's eigh), then stop
        // (with .dirty.f64 and .json, the input of scripts/radio-cg-analysis.py too)
        writeFileSync(`${eigenPrefix}.beam.f64`, Buffer.from(equations.beam.buffer));
        writeFileSync(`${eigenPrefix}.dirty.f64`, Buffer.from(equations.dirty.buffer));
        writeFileSync(`${eigenPrefix}.json`, JSON.stringify({ n: SIDE, a: affine.scale }));
        console.error(`wrote ${eigenPrefix}.beam.f64 ([${2 * SIDE - 1}, ${2 * SIDE - 1}], float64), .dirty.f64, .json; decompose K and rerun`);
        process.exit(0);
      }
      eigen = { values: new Float64Array(readFileSync(`${eigenPrefix}.values.f64`).buffer.slice(0)), vectors: new Float32Array(readFileSync(`${eigenPrefix}.vectors.f32`).buffer.slice(0)) };
    }
    const lik = new VisibilityLikelihood({ equations, affine, cgMaxIter, preconditioner, eigen, ...(cgTol !== undefined ? { cgTol } : {}) });
    const t1 = performance.now();
    const res = await runSampling({ prior: prior.model, sde: prior.sde, shape: [SIDE, SIDE], likelihood: lik }, { sampler: 'pc', steps, n: nSamples, seed, batchSize: nSamples, samplerOptions: { correctorSteps: correctors } });
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
    const psnrMean = score(prod.mean);
    let groups: Record<string, unknown> | null = null;
    if (nGroups > 0) {
      const perChain = res.conditionalMeans ? toDataUnits(res.conditionalMeans, affine) : prod.samples;
      const g = chainGroupMeans(perChain, nSamples, per, nGroups).map((m) => score(m));
      const d = chainGroupMeans(prod.samples, nSamples, per, nGroups).map((m) => score(m));
      const s = spreadOf(g);
      groups = {
        count: nGroups,
        chains: groupSizes(nSamples, nGroups),
        estimate: res.conditionalMeans ? 'rao-blackwellised' : 'draws',
        psnr: g,
        psnrMin: s.min,
        psnrMax: s.max,
        psnrRange: s.range,
        psnrStd: s.std,
        psnrDrawsMeans: d,
      };
      const f = (v: number) => v.toFixed(2);
      console.error(
        `${path.basename(priorSpec)}: PSNR of the mean of ${nSamples} ${f(psnrMean)} dB; ${nGroups} groups of ${groupSizes(nSamples, nGroups).join('/')} chains ` +
          `(${res.conditionalMeans ? 'Rao–Blackwellised' : 'draws'} means): ${g.map(f).join(', ')} dB, min–max ${f(s.min)}–${f(s.max)} (${f(s.range)}), std ${f(s.std)}`,
      );
    }
    posteriors.push({
      prior: prior.spec,
      n: nSamples,
      steps,
      seed,
      correctors,
      cgMaxIter: cgMaxIter ?? 'default',
      preconditioner: eigen ? 'eigen' : (preconditioner ?? 'default'),
      cgTol: cgTol ?? 'default',
      psnrMean,
      groups,
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
      psnrRestoredPerPixel: score(restoredPerPixel),
      chi2PerVisibilityDofOfModel: chi2Of(c.model),
      iterations: c.iterations,
      seconds: cleanSeconds,
    },
    posteriors,
  };
  console.log(JSON.stringify(out));
}

await main();
