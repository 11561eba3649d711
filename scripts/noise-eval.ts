/**
 * White against correlated against a learned noise model on real correlated noise (docs/sampling.md, Noise models,
 * "Measured: white against correlated on real noise"):
 *   node --import tsx scripts/noise-eval.ts [--images 1400,1401,1402] [--prior models/galaxy-gaussian-64]
 *        [--models white,correlated,learned] [--n 4] [--steps 150] [--learned-steps K] [--operator psf|identity]
 *        [--as-measured] [--train-only] [--noise-fits FILE[:HDU] --noise-patches x1,y1,x2,y2] [--noise-prior DIR]
 *
 * The noise: the real Spitzer IRAC frame ../shared/data/fits/galsim_sipsample_spitzer_irac.fits, two 64×64 patches
 * of its faintest rows (patch 1: x 128–191, patch 2: x 192–255; both y 192–255, 0-based), each minus its 9×9
 * running median (the window clipped at the patch's edges), then 5σ_MAD outliers and NaN set to 0. By default
 * resampled drizzle-like: each pixel the mean of the 2×2 block at (y, x), (y, x+1), (y+1, x), (y+1, x+1) (periodic
 * within the patch, so it stays 64×64), as a drizzle with pixfrac 1 onto a grid offset by half a pixel
 * (--as-measured: not resampled). --noise-fits: the noise from a noise-only FITS image instead (the blank sky of a real
 * drizzled HST image), two 64×64 patches at the lower-left corners --noise-patches (0-based x, y), each minus its
 * median, not resampled; --noise-prior: a learned noise prior trained elsewhere on the same kind of noise (e.g. on
 * another part of that sky), rescaled per image by σ_k over its training σ, instead of the one trained on patch 2.
 * The truth: cube planes (validation images) of ../shared/data/train/galaxyzoo_kaggle2000_gray64.fits, pixel/255;
 * the forward model the first PSF of ../shared/data/psf/hst_acs_f814w_cosmos_psf_library.fits (`skyscore forward`);
 * the observation A x + patch 1 scaled to σ_k = 3 % of the blurred image's peak (--operator identity: A = I, no
 * PSF, σ_k 3 % of the truth's peak).
 * The noise models (`skyscore reconstruct`, pc, N samples × K levels, seed 1, wasm):
 *  - white: --noise σ_k (the true σ);
 *  - correlated: --noise-model correlated --noise-image (patch 2 scaled to σ_k);
 *  - learned-corr: the learned model with patch 2's spectrum as its Gaussian part (--noise-image beside --noise-prior);
 *  - learned: --noise-model learned --noise-prior, a noise prior trained once (`skyscore train --kind noise`, the
 *    small network of scripts/make-noise-fixture.ts) on patch 2 scaled to unit σ, cached in .scratch/noise-eval/.
 *    Units: the noise network works on (n − offset)/scale, model.json's normalisation, and training normalises the
 *    noise to unit variance, so the network trained on patch 2 × c is the network trained on patch 2 (same seed,
 *    same normalised patches); per image the folder is copied with offset, scale and the noise statistics
 *    (mean, std, MAD σ) multiplied by σ_k — exactly the prior trained on patch 2 scaled to σ_k.
 * Neither model sees the realisation it is tested on (the observation's noise is patch 1).
 * Per image and model: PSNR of the posterior mean against the truth (peak² / MSE, dB), sky peaks (local maxima
 * of the mean, 8-neighbourhood, among the sky pixels — the truth below its median — more than 5 σ_MAD of the
 * data's sky above the mean's sky median; the truth's own count by the same rule is printed beside it), the truth's
 * per-pixel coverage by the 68 % and 95 % prediction intervals of the N samples (mean ± Student-t quantile · s ·
 * √(1 + 1/N): calibrated for Gaussian marginals) and by the samples' range (calibrated: (N − 1)/(N + 1)),
 * χ²/pixel (report.json), the diagnostics' spectral ratio and KS distance, the wall time, and the solve's method with
 * its conjugate-gradient counts (solves, mean iterations per solve, solves capped, largest final residual) and the Rao–Blackwell window's terms.
 * One JSON line per run, then a Markdown table.
 */
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { cli, coverage, find, localMaxima, madSigma, median, psnr, readImage, ROOT, writeImage } from './noise-eval-common.js';

const DATA = path.resolve(ROOT, '..', 'shared', 'data');
const SCRATCH = path.join(ROOT, '.scratch', 'noise-eval');
const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : def;
};
const images = arg('images', '1400,1401,1402').split(',').map(Number);
const priorSpec = arg('prior', 'models/galaxy-gaussian-64');
const models = arg('models', 'white,correlated,learned').split(',');
const nSamples = arg('n', '4');
const steps = arg('steps', '150');
const learnedSteps = arg('learned-steps', steps);
const drizzle = !process.argv.includes('--as-measured');
const trainOnly = process.argv.includes('--train-only');
const operator = arg('operator', 'psf');
// a noise-only FITS image instead of the IRAC frame: FILE[:HDU], two 64×64 patches at --noise-patches x1,y1,x2,y2
// (lower-left corners, 0-based: patch 1 for the data, patch 2 for the models), each minus its median, not resampled
const noiseFits = arg('noise-fits', '');
const noisePatches = arg('noise-patches', '0,0,64,0').split(',').map(Number);
// a learned noise prior trained elsewhere on noise of the same kind (in that noise's units): rescaled per image
// by σ_k / its training σ instead of training one on patch 2
const givenNoisePrior = arg('noise-prior', '');
if (operator !== 'psf' && operator !== 'identity') throw new Error(`--operator psf|identity, got ${operator}`);
const N = 64;
const SNR_FRACTION = 0.03;

/** A 64×64 patch at x0 (columns x0..x0+63, rows 192–255) of the IRAC frame: minus its 9×9 running median, 5σ_MAD outliers and NaN → 0. */
function irACPatch(frame: { data: ArrayLike<number>; shape: number[] }, x0: number): { patch: Float64Array; outliers: number } {
  const nx = frame.shape[0]!;
  const y0 = 192;
  const raw = new Float64Array(N * N);
  for (let i = 0; i < N; i++) for (let j = 0; j < N; j++) raw[i * N + j] = frame.data[(y0 + i) * nx + x0 + j]!;
  const res = new Float64Array(N * N);
  for (let i = 0; i < N; i++) {
    for (let j = 0; j < N; j++) {
      const w: number[] = [];
      for (let a = Math.max(0, i - 4); a <= Math.min(N - 1, i + 4); a++) for (let b = Math.max(0, j - 4); b <= Math.min(N - 1, j + 4); b++) if (Number.isFinite(raw[a * N + b])) w.push(raw[a * N + b]!);
      res[i * N + j] = Number.isFinite(raw[i * N + j]) && w.length ? raw[i * N + j]! - median(w) : NaN;
    }
  }
  const fin = [...res].filter(Number.isFinite);
  const med = median(fin);
  const mad = 1.4826 * median(fin.map((v) => Math.abs(v - med)));
  let outliers = 0;
  for (let k = 0; k < res.length; k++) {
    if (!Number.isFinite(res[k]) || Math.abs(res[k]! - med) > 5 * mad) {
      res[k] = 0;
      outliers++;
    }
  }
  return { patch: res, outliers };
}

/** Drizzle-like resampling: each pixel the mean of the 2×2 block from it (periodic within the patch). */
function drizzleLike(p: Float64Array): Float64Array {
  const out = new Float64Array(N * N);
  for (let i = 0; i < N; i++) {
    for (let j = 0; j < N; j++) {
      const i1 = (i + 1) % N;
      const j1 = (j + 1) % N;
      out[i * N + j] = (p[i * N + j]! + p[i * N + j1]! + p[i1 * N + j]! + p[i1 * N + j1]!) / 4;
    }
  }
  return out;
}

function moments(p: ArrayLike<number>): { mean: number; std: number; lagX: number; lagY: number } {
  let m = 0;
  for (let k = 0; k < p.length; k++) m += p[k]!;
  m /= p.length;
  let v = 0;
  let cx = 0;
  let cy = 0;
  for (let i = 0; i < N; i++) {
    for (let j = 0; j < N; j++) {
      const d = p[i * N + j]! - m;
      v += d * d;
      if (j + 1 < N) cx += d * (p[i * N + j + 1]! - m);
      if (i + 1 < N) cy += d * (p[(i + 1) * N + j]! - m);
    }
  }
  const nn = N * N;
  return { mean: m, std: Math.sqrt(v / nn), lagX: cx / (N * (N - 1)) / (v / nn), lagY: cy / (N * (N - 1)) / (v / nn) };
}

// ---- the noise
mkdirSync(SCRATCH, { recursive: true });
/** A 64×64 patch of a noise-only FITS image at lower-left corner (x0, y0), minus its median (NaN → 0). */
function fitsPatch(img: { data: ArrayLike<number>; shape: number[] }, x0: number, y0: number): { patch: Float64Array; outliers: number } {
  const nx = img.shape[0]!;
  const out = new Float64Array(N * N);
  let bad = 0;
  for (let i = 0; i < N; i++) for (let j = 0; j < N; j++) out[i * N + j] = img.data[(y0 + i) * nx + x0 + j]!;
  const m = median(Array.from(out).filter(Number.isFinite));
  for (let k = 0; k < out.length; k++) {
    if (Number.isFinite(out[k])) out[k] -= m;
    else {
      out[k] = 0;
      bad++;
    }
  }
  return { patch: out, outliers: bad };
}
let noise1: Float64Array;
let noise2: Float64Array;
let noiseLabel: string;
let tag: string;
if (noiseFits) {
  const [file, hdu] = noiseFits.split(':');
  const img = readImage(path.resolve(file!), hdu === undefined ? undefined : Number(hdu));
  const [ax, ay, bx, by] = noisePatches as [number, number, number, number];
  noise1 = fitsPatch(img, ax, ay).patch;
  noise2 = fitsPatch(img, bx, by).patch;
  noiseLabel = `${path.basename(file!)} patches (${ax}, ${ay}) / (${bx}, ${by})`;
  tag = `${path.basename(file!).replace(/[^A-Za-z0-9_.-]/g, '_')}-${noisePatches.join('_')}`;
} else {
  const frame = readImage(path.join(DATA, 'fits', 'galsim_sipsample_spitzer_irac.fits'));
  const p1 = irACPatch(frame, 128);
  const p2 = irACPatch(frame, 192);
  noise1 = drizzle ? drizzleLike(p1.patch) : p1.patch;
  noise2 = drizzle ? drizzleLike(p2.patch) : p2.patch;
  noiseLabel = `IRAC ${drizzle ? 'drizzle-like' : 'as measured'}: outliers set to 0 ${p1.outliers} / ${p2.outliers}`;
  tag = drizzle ? 'drizzle' : 'measured';
}
const m1 = moments(noise1);
const m2 = moments(noise2);
const unit2 = Float64Array.from(noise2, (v) => (v - m2.mean) / m2.std);
const unit1 = Float64Array.from(noise1, (v) => (v - m1.mean) / m1.std);
console.error(
  `noise (${noiseLabel}): σ ${m1.std.toPrecision(3)} / ${m2.std.toPrecision(3)}; ` +
    `neighbour correlation x ${m1.lagX.toFixed(2)} / ${m2.lagX.toFixed(2)}, y ${m1.lagY.toFixed(2)} / ${m2.lagY.toFixed(2)}`,
);

// ---- the learned noise prior: patch 2 at unit σ, trained once (or --noise-prior, rescaled from its training σ)
const priorDir = givenNoisePrior ? path.resolve(givenNoisePrior) : path.join(SCRATCH, `noise-prior-${tag}`);
if (!givenNoisePrior && !existsSync(path.join(priorDir, 'model.json')) && models.includes('learned')) {
  const f = path.join(SCRATCH, `patch2-unit-${tag}.fits`);
  writeImage(f, unit2, [N, N]);
  const secs = cli(
    ['train', '--kind', 'noise', '--data', f, '--out', priorDir, '--nf', '16', '--ch-mult', '1', '--res-blocks', '1', '--no-attention',
      '--steps', '1200', '--warmup', '100', '--batch', '16', '--patch', '16', '--patches', '4096', '--lr', '1e-3', '--ema', '0.99',
      '--val-every', '250', '--checkpoint-every', '250', '--log-every', '100', '--seed', '1'],
    false,
  );
  console.error(`noise prior trained in ${secs.toFixed(0)} s`);
}
if (trainOnly) process.exit(0);

// ---- the observations, the runs
const psfFile = path.join(DATA, 'psf', 'hst_acs_f814w_cosmos_psf_library.fits');
const mJson = path.join(SCRATCH, `M-${operator}.json`);
const operators = operator === 'psf' ? [{ type: 'psf', fits: path.relative(SCRATCH, psfFile), hdu: 0 }] : [];
writeFileSync(mJson, JSON.stringify({ shape: [N, N], operators }, null, 2));
const cube = readImage(path.join(DATA, 'train', 'galaxyzoo_kaggle2000_gray64.fits'), 0);
const priorSlug = path.basename(priorSpec).replace(/[^A-Za-z0-9_-]/g, '_');

interface Row {
  image: number;
  model: string;
  prior: string;
  psnr: number;
  skyPeaks: number;
  coverage68: number;
  coverage95: number;
  coverageRange: number;
  chi2PerPixel: number;
  spectralRatio: number | null;
  ks: number | null;
  seconds: number;
}
const rows: Row[] = [];

/** Sky peaks: local maxima (8 neighbours) of the mean among the sky pixels, more than 5 σ_MAD of the data's sky above the mean's sky median. */
function skyPeaks(mean: ArrayLike<number>, obs: ArrayLike<number>, truth: Float64Array): number {
  const tMed = median(truth);
  const sky = Array.from(truth, (t) => t < tMed);
  const dSky: number[] = [];
  const mSky: number[] = [];
  for (let k = 0; k < truth.length; k++) {
    if (sky[k]) {
      dSky.push(obs[k]!);
      mSky.push(mean[k]!);
    }
  }
  return localMaxima(mean, N, N, sky, median(mSky) + 5 * madSigma(dSky).sigma);
}

for (const img of images) {
  const truth = Float64Array.from(cube.data.subarray(img * N * N, (img + 1) * N * N), (v) => v / 255);
  const dir = path.join(SCRATCH, `${tag}-${operator}-${img}`);
  mkdirSync(dir, { recursive: true });
  const truthFile = path.join(dir, 'truth.fits');
  const blurredFile = path.join(dir, 'blurred.fits');
  writeImage(truthFile, truth, [N, N]);
  if (operator === 'psf') cli(['forward', '--model', mJson, '--in', truthFile, '--out', blurredFile, '--backend', 'wasm']);
  const blurred = operator === 'psf' ? readImage(blurredFile).data : truth;
  let peak = 0;
  for (const v of blurred) peak = Math.max(peak, v);
  const sigma = SNR_FRACTION * peak;
  const obs = Float64Array.from(blurred, (v, k) => v + sigma * unit1[k]!);
  const obsFile = path.join(dir, 'obs.fits');
  writeImage(obsFile, obs, [N, N]);
  const noiseImage = path.join(dir, 'noise-patch2.fits');
  writeImage(noiseImage, unit2.map((v) => v * sigma), [N, N]);
  const truthSkyPeaks = skyPeaks(truth, obs, truth);
  for (const model of models) {
    const out = path.join(dir, `${model}-${priorSlug}-${model === 'learned' ? learnedSteps : steps}`);
    const modelSteps = model === 'learned' ? learnedSteps : steps;
    const args = ['reconstruct', '--obs', obsFile, '--model', mJson, '--prior', priorSpec, '--out', out, '--n', nSamples, '--steps', modelSteps,
      '--seed', '1', '--sampler', 'pc', '--backend', 'wasm', '--quiet'];
    if (model === 'white') args.push('--noise', String(sigma));
    else if (model === 'correlated') args.push('--noise-model', 'correlated', '--noise-image', noiseImage);
    else if (model === 'learned' || model === 'learned-corr') {
      // the unit-σ noise prior rescaled to σ_k (exact: the network sees (n − offset)/scale)
      const np = path.join(dir, 'noise-prior');
      cpSync(priorDir, np, { recursive: true });
      const meta = JSON.parse(readFileSync(path.join(priorDir, 'model.json'), 'utf8')) as {
        normalisation: { offset: number; scale: number };
        noisePrior: { statistics: Record<string, unknown> };
      };
      // a given prior is in its training noise's units: σ_k / its σ; the one trained here is at unit σ
      const factor = givenNoisePrior ? sigma / (meta.noisePrior.statistics.std as number) : sigma;
      meta.normalisation.offset *= factor;
      meta.normalisation.scale *= factor;
      for (const k of ['mean', 'std', 'madSigma']) meta.noisePrior.statistics[k] = (meta.noisePrior.statistics[k] as number) * factor;
      writeFileSync(path.join(np, 'model.json'), JSON.stringify(meta, null, 2));
      args.push('--noise-model', 'learned', '--noise-prior', np);
      // learned-corr: its Gaussian part correlated, the spectrum of patch 2 (as the correlated model's)
      if (model === 'learned-corr') args.push('--noise-image', noiseImage);
    } else throw new Error(`unknown noise model ${model}`);
    let seconds: number;
    try {
      seconds = cli(args);
    } catch (e) {
      // a run that fails (e.g. chains that diverge) is a result: recorded, and the others go on
      console.log(JSON.stringify({ image: img, model, prior: priorSpec, steps: modelSteps, failed: (e as Error).message.split('\n')[0], sigma, noise: tag }));
      continue;
    }
    const report = JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8')) as Record<string, unknown>;
    const mean = readImage(path.join(out, 'posterior-mean.fits')).data;
    const samples = readImage(path.join(out, 'posterior-samples.fits')).data;
    const cov = coverage(samples, Number(nSamples), truth);
    const sr = find(report, 'spectralRatio');
    const ks = find(report, 'ksDistance');
    const row: Row = {
      image: img,
      model,
      prior: priorSpec,
      psnr: psnr(mean, truth),
      skyPeaks: skyPeaks(mean, obs, truth),
      coverage68: cov.c68,
      coverage95: cov.c95,
      coverageRange: cov.range,
      chi2PerPixel: Number(report.chi2PerPixel),
      spectralRatio: typeof sr === 'number' ? sr : null,
      ks: typeof ks === 'number' ? ks : null,
      seconds,
    };
    rows.push(row);
    // the solve's conjugate-gradient counts (mean iterations, solves that hit the cap, the largest final residual) and the Rao–Blackwell window's terms
    const lik = (report.likelihood ?? {}) as Record<string, unknown>;
    const solve = { method: lik.method, cgSolves: lik.cgSolves, cgMeanIterations: lik.cgMeanIterations, cgCapped: lik.cgCapped, cgMaxRelResidual: lik.cgMaxRelResidual, raoBlackwellTerms: find(report, 'raoBlackwellTerms') };
    console.log(JSON.stringify({ ...row, operator, steps: modelSteps, truthSkyPeaks, sigma, noise: tag, ...solve }));
  }
}

const f = (v: number | null, d: number) => (v === null ? '—' : v.toFixed(d));
console.log(`\n| image | model | PSNR (dB) | sky peaks > 5σ | coverage 68 / 95 % / range | χ²/pixel | spectral ratio | KS | time (s) |`);
console.log('|---|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(`| ${r.image} | ${r.model} | ${f(r.psnr, 2)} | ${r.skyPeaks} | ${f(r.coverage68, 2)} / ${f(r.coverage95, 2)} / ${f(r.coverageRange, 2)} | ${f(r.chi2PerPixel, 2)} | ${f(r.spectralRatio, 2)} | ${f(r.ks, 3)} | ${f(r.seconds, 0)} |`);
}
