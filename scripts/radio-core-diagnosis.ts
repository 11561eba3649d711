/**
 * Why the radio posterior makes compact cores beam-sized: three measurements on a prior (docs/radio.md, *Compact cores*).
 *   node --import tsx scripts/radio-core-diagnosis.ts MODE [--prior models/radio-64] [--truth synth:4242:1] [options]
 *
 * Every image is measured by its brightest component (`coreStats`): the peak, and the width σ of the Gaussian whose
 * half-maximum area equals that of the pixels ≥ half the peak connected (8-neighbours) to the peak: σ = √(area / (2π ln 2)).
 *  - `training`: the synthetic training images (src-shared/radio/synth-sources.ts, seed 1, the first --n 5000 as
 *    scripts/make-radio-training.ts draws them, under its --compact-peak LO,HI if given), per morphology: quantiles
 *    of peak and σ, in prior units, and the fraction of the compact components' peaks in [1.5, 3] units;
 *  - `prior`: --n unconditional samples of the prior (pc, --steps levels, seed --seed), the same figures;
 *  - `truth`: the truths of --truth (comma-separated) in prior units at the evaluation's automatic flux scale;
 *  - `denoise`: Tweedie's estimate x + σ² s(x + σz, σ) of the truth x (prior units, the automatic flux scale, or its
 *    peak set to --peaks P1,P2… units) at σ = --sigmas, --draws noise draws each: the estimate's value at the truth's
 *    peak pixel and its component's σ;
 *  - `chain`: the posterior's annealing (pc, --correctors Langevin steps per level (1), the --steps-level schedule) on the
 *    evaluation's visibilities, from pure noise at σmax (unless --from-max 0) and from the truth + σ₀z at σ₀ = --starts (prior units), then
 *    --extra Langevin steps at σmin (Song's step size, snr 0.16) and Tweedie's estimate with the data (denoise.ts):
 *    peak, σ and χ² per visibility degree of freedom of each chain's end.
 * Prints one JSON line per measurement.
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src-main/engine/backend.js';
import { affineFor, resolvePrior, type ResolvedPrior } from '../src-main/priors.js';
import { imagePlaneFlux } from '../src-main/reconstruct/visibilities.js';
import { visibilityNormalEquations } from '../src-shared/radio/normal-equations.js';
import { VisibilityLikelihood } from '../src-shared/diffusion/visibility-likelihood.js';
import { runSampling } from '../src-shared/diffusion/posterior.js';
import { sigmaSchedule } from '../src-shared/diffusion/sde.js';
import { langevinStep, snrStepSize } from '../src-shared/diffusion/samplers/langevin.js';
import { DEFAULT_SNR } from '../src-shared/diffusion/samplers/spec.js';
import { CgWarmStart } from '../src-shared/diffusion/likelihood/solver.js';
import { ChainRandom } from '../src-shared/diffusion/chain-rng.js';
import { Rng } from '../src-shared/diffusion/nn/rng.js';
import { DEFAULT_BRIGHTNESS, synthRadioImages, withCompactPeak } from '../src-shared/radio/synth-sources.js';
import { quantileSorted } from '../src-shared/image/stats.js';
import { DEFAULT_TRACKS, SIDE, loadTruth, simulateObservation } from './radio-sim.js';

const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : def;
};
const mode = process.argv[2] ?? '';
const priorSpec = arg('prior', 'models/radio-64');
const truthSpecs = arg('truth', 'synth:4242:0,synth:4242:1').split(',');
const nums = (name: string, def: string) => arg(name, def).split(',').filter((s) => s !== '').map(Number);
const N = SIDE * SIDE;

/** The brightest component: its peak (at `at`, or the image's maximum) and the σ of its half-maximum area. */
function coreStats(img: ArrayLike<number>, at = -1): { peak: number; sigma: number; index: number; area: number } {
  let index = at;
  if (index < 0) {
    index = 0;
    for (let i = 1; i < N; i++) if (img[i] > img[index]) index = i;
  }
  const peak = img[index];
  if (!(peak > 0)) return { peak, sigma: NaN, index, area: 0 };
  const seen = new Uint8Array(N);
  const stack = [index];
  seen[index] = 1;
  let area = 0;
  while (stack.length) {
    const i = stack.pop()!;
    area++;
    const y = Math.floor(i / SIDE);
    const x = i % SIDE;
    for (let dy = -1; dy <= 1; dy++) {
      for (let dx = -1; dx <= 1; dx++) {
        const yy = y + dy;
        const xx = x + dx;
        if (yy < 0 || yy >= SIDE || xx < 0 || xx >= SIDE) continue;
        const j = yy * SIDE + xx;
        if (!seen[j] && img[j] >= peak / 2) {
          seen[j] = 1;
          stack.push(j);
        }
      }
    }
  }
  return { peak, sigma: Math.sqrt(area / (2 * Math.PI * Math.LN2)), index, area };
}

const q = (v: number[], ps = [0.1, 0.5, 0.9]) => {
  const s = v.filter(Number.isFinite).sort((a, b) => a - b);
  return s.length ? ps.map((p) => +quantileSorted(s, p).toPrecision(3)) : [];
};
const summary = (stats: Array<{ peak: number; sigma: number }>) => {
  const ok = stats.filter((s) => s.peak > 0);
  const compact = ok.filter((s) => s.sigma <= 1.3);
  return {
    n: stats.length,
    peakQ10_50_90: q(ok.map((s) => s.peak)),
    sigmaQ10_50_90: q(ok.map((s) => s.sigma)),
    fractionSigmaLe1_3: +(compact.length / Math.max(1, ok.length)).toFixed(3),
    compactPeakQ10_50_90: q(compact.map((s) => s.peak)),
    compactPeakIn1_5To3: +(compact.filter((s) => s.peak >= 1.5 && s.peak <= 3).length / Math.max(1, compact.length)).toFixed(3),
  };
};

async function fluxOf(prior: ResolvedPrior, spec: string) {
  const { truth } = await loadTruth(spec);
  const obs = simulateObservation(truth, DEFAULT_TRACKS, 100);
  const choice = imagePlaneFlux(prior, obs.data, obs.A, obs.big, obs.beam, obs.grid, null);
  return { truth, obs, flux: choice.value, choice };
}

async function main() {
  await initBackend('wasm');
  if (mode === 'training') {
    const n = Number(arg('n', '5000'));
    const cp = nums('compact-peak', '');
    const rule = cp.length === 2 ? withCompactPeak(cp[0], cp[1]) : DEFAULT_BRIGHTNESS;
    const { images, morphologies } = synthRadioImages(new Rng(1), n, SIDE, rule);
    const by: Record<string, Array<{ peak: number; sigma: number }>> = {};
    for (let k = 0; k < n; k++) {
      const m = morphologies[k];
      if (m === 'empty') continue;
      (by[m] ??= []).push(coreStats(images.subarray(k * N, (k + 1) * N)));
      (by.all ??= []).push(by[m][by[m].length - 1]);
    }
    for (const [m, s] of Object.entries(by)) console.log(JSON.stringify({ mode, morphology: m, ...summary(s) }));
    return;
  }
  const prior = await resolvePrior(priorSpec, process.cwd(), {});
  if (mode === 'prior') {
    const n = Number(arg('n', '16'));
    const steps = Number(arg('steps', '200'));
    const res = await runSampling({ prior: prior.model, sde: prior.sde, shape: [SIDE, SIDE] }, { sampler: 'pc', steps, n, seed: Number(arg('seed', '0')), batchSize: Math.min(n, 8) });
    const stats = Array.from({ length: n }, (_, k) => coreStats(res.samples.subarray(k * N, (k + 1) * N)));
    console.log(JSON.stringify({ mode, prior: priorSpec, steps, ...summary(stats), each: stats.map((s) => [+s.peak.toFixed(2), +s.sigma.toFixed(2)]) }));
  } else if (mode === 'truth') {
    for (const spec of truthSpecs) {
      const { truth, flux } = await fluxOf(prior, spec);
      const s = coreStats(truth);
      console.log(JSON.stringify({ mode, truth: spec, fluxScale: flux, peakPrior: s.peak / flux, sigma: s.sigma, area: s.area }));
    }
  } else if (mode === 'denoise') {
    const sigmas = nums('sigmas', '0.01,0.03,0.1,0.3,1');
    const draws = Number(arg('draws', '4'));
    const peaks = nums('peaks', '');
    for (const spec of truthSpecs) {
      const { truth, flux } = await fluxOf(prior, spec);
      const t = coreStats(truth);
      for (const peakUnits of peaks.length ? peaks : [1 / flux]) {
        const f = peaks.length ? peakUnits : 1 / flux;
        const x0 = Float32Array.from(truth, (v) => v * f);
        const rows = [];
        for (const sigma of sigmas) {
          const r = new ChainRandom(7, Math.round(sigma * 1e4));
          const y = new Float32Array(draws * N);
          for (let k = 0; k < draws; k++) for (let i = 0; i < N; i++) y[k * N + i] = x0[i] + sigma * r.normal();
          const est = tf.tidy(() => {
            const yt = tf.tensor3d(y, [draws, SIDE, SIDE]);
            return tf.add(yt, tf.mul(prior.model.score(yt, tf.fill([draws], sigma) as tf.Tensor1D), sigma * sigma));
          });
          const d = (await est.data()) as Float32Array;
          est.dispose();
          const st = Array.from({ length: draws }, (_, k) => coreStats(d.subarray(k * N, (k + 1) * N), t.index));
          let mse = 0;
          for (let k = 0; k < draws; k++) for (let i = 0; i < N; i++) mse += (d[k * N + i] - x0[i]) ** 2;
          rows.push({ sigma, peakAtTruth: q(st.map((s) => s.peak), [0, 0.5, 1]), sigmaOfCore: q(st.map((s) => s.sigma), [0, 0.5, 1]), rmse: Math.sqrt(mse / (draws * N)) });
        }
        console.log(JSON.stringify({ mode, truth: spec, fluxScale: flux, truthPeakUnits: t.peak * f, truthSigma: t.sigma, rows }));
      }
    }
  } else if (mode === 'chain') {
    const steps = Number(arg('steps', '200'));
    const starts = nums('starts', '0.1,1');
    const extra = Number(arg('extra', '0'));
    const nChains = Number(arg('chains', '2'));
    const correctors = Number(arg('correctors', '1'));
    for (const spec of truthSpecs) {
      const { truth, obs, flux, choice } = await fluxOf(prior, spec);
      const t = coreStats(truth);
      const affine = affineFor(prior, choice);
      const lik = new VisibilityLikelihood({ equations: visibilityNormalEquations(obs.data, obs.grid), affine });
      const sig = sigmaSchedule(prior.sde, steps + 1);
      const x0 = Float32Array.from(truth, (v) => (v - affine.offset) / affine.scale);
      for (const start of arg('from-max', '1') === '0' ? starts : [Infinity, ...starts]) {
        const i0 = start === Infinity ? 0 : sig.findIndex((s) => s <= start);
        const rng = new ChainRandom(1, Math.round(Math.min(start, 1e3) * 1e3));
        const normal = () => tf.tensor3d(Float32Array.from({ length: nChains * N }, () => rng.normal()), [nChains, SIDE, SIDE]);
        const warm = new CgWarmStart();
        const score = (x: tf.Tensor, s: number) => tf.tidy(() => tf.add(prior.model.score(x, tf.fill([nChains], s) as tf.Tensor1D), lik.score(x, s, warm)));
        let x = tf.tidy(() => (start === Infinity ? tf.mul(normal(), sig[0]) : tf.add(tf.tensor3d(new Float32Array(nChains * N).map((_, i) => x0[i % N]), [nChains, SIDE, SIDE]), tf.mul(normal(), sig[i0]))));
        const t1 = performance.now();
        const step = (f: (x: tf.Tensor) => tf.Tensor) => {
          const next = tf.tidy(() => f(x));
          x.dispose();
          x = next;
        };
        for (let i = i0; i < steps; i++) {
          step((xx) => {
            const d = sig[i] * sig[i] - sig[i + 1] * sig[i + 1];
            let y = tf.add(tf.add(xx, tf.mul(score(xx, sig[i]), d)), tf.mul(normal(), Math.sqrt(d)));
            for (let c = 0; c < correctors; c++) {
              const g = score(y, sig[i + 1]);
              const z = normal();
              y = langevinStep(y, g, snrStepSize(g, z, DEFAULT_SNR), z);
            }
            return y;
          });
        }
        const smin = sig[steps];
        for (let e = 0; e < extra; e++) {
          step((xx) => {
            const g = score(xx, smin);
            const z = normal();
            return langevinStep(xx, g, snrStepSize(g, z, DEFAULT_SNR), z);
          });
        }
        // Tweedie's estimate with the data at σmin (the 'mean' ending of denoise.ts)
        step((xx) => {
          const xHat = tf.add(xx, tf.mul(prior.model.score(xx, tf.fill([nChains], smin) as tf.Tensor1D), smin * smin));
          return tf.add(xHat, tf.mul(lik.score(xHat, smin), smin * smin));
        });
        const d = (await x.data()) as Float32Array;
        x.dispose();
        warm.reset();
        const ends = Array.from({ length: nChains }, (_, k) => {
          const img = Float64Array.from(d.subarray(k * N, (k + 1) * N), (v) => affine.scale * v + affine.offset);
          const at = coreStats(img, t.index);
          const own = coreStats(img);
          return { peakAtTruth: +at.peak.toFixed(3), sigma: +own.sigma.toFixed(2), peak: +own.peak.toFixed(3), chi2: +obs.chi2Of(img).toFixed(4) };
        });
        console.log(JSON.stringify({ mode, truth: spec, fluxScale: flux, steps, correctors, start: start === Infinity ? 'sigmaMax' : sig[i0], levels: steps - i0, extra, truthChi2: +obs.chi2Of(truth).toFixed(4), truthSigma: +t.sigma.toFixed(2), seconds: +((performance.now() - t1) / 1000).toFixed(1), ends }));
      }
      lik.dispose();
    }
  } else {
    throw new Error(`mode: training | prior | truth | denoise | chain, got "${mode}"`);
  }
  prior.dispose();
}

await main();
