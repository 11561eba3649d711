import path from 'node:path';
import type { Command } from '../command.js';
import { parse, numberFlag, optionalString } from '../args.js';
import { UsageError } from '../errors.js';
import { backendFlag } from './forward.js';
import { modelFile, observationFile, priorPath, reconstructToFolder } from './reconstruct.js';
import { SCORE_ENGINE_OPTIONS, SCORE_ENGINE_USAGE, scoreEngineFlags } from '../score-engine.js';
import { initBackend } from '../../engine/backend.js';
import { readImage2d } from '../../forward-model-files.js';
import { defaultPrior, priorSpecOf } from '../../evaluation.js';
import { psnr } from '../../../src-shared/eval/metrics.js';
import { DEMO_DIR, DEMO_SAMPLES, DEMO_STEPS, demoFluxScale, demoSettings, readDemoJson } from '../../demo-example.js';

export { DEMO_DIR } from '../../demo-example.js';

const usage = `usage: skyscore demo [--out DIR] [--prior P] [--n N] [--steps K] [--seed S] [--backend B] [--quiet]
                     [--score-engine auto|onnx|tfjs] [--onnx-provider P] [--onnx-threads T]

Reconstructs the bundled example (assets/demo: a validation galaxy of the Galaxy Zoo cube, never trained on,
in units of pixel/255, blurred by a Gaussian PSF of 4 px FWHM, white noise σ = 0.03 × its peak) with the
default galaxy prior through the same reconstruction as skyscore reconstruct, writes the same products to DIR
and prints where they are and the PSNR of the posterior mean against the bundled truth.

  --out DIR     output folder (default ./skyscore-demo); a previous run's products there are replaced as a
                whole (skyscore reconstruct --out)
  --prior P     default models/galaxy-64 (the trained U-Net) when it is there, else the bundled Gaussian-field
                galaxy prior models/galaxy-gaussian-64 (said so on stderr)
  --n N         posterior samples (default ${DEMO_SAMPLES})
  --steps K     pc sampler steps (default ${DEMO_STEPS})
  --seed S      default: the demo's seed
  --backend B   auto (default), tensorflow, webgpu, wasm or cpu
  --quiet       no progress lines
${SCORE_ENGINE_USAGE}

The flux scale is passed explicitly: the demo data are pixel/255, reconstruct maps x = F·x_train/scale, so a
prior trained on the 8-bit cube (normalisation scale 255) needs F = scale/255 = 1, one trained on pixel/255
images F = scale, and a Gaussian field F = 1 (its spectrum is in pixel/255 units). reconstruct's automatic
rule (the data's 99.5th percentile over the training images' typical one) would instead work from the blurred
data, whose bright pixels are fainter than the galaxy's, and under-estimate its flux by a few per cent.`;

export const demoCommand: Command = {
  name: 'demo',
  summary: 'reconstructs the bundled example galaxy with the default prior (offline, no input needed)',
  usage,
  async run(argv) {
    const cmd = 'demo';
    const p = parse(
      argv,
      { out: { type: 'string' }, prior: { type: 'string' }, n: { type: 'string' }, steps: { type: 'string' }, seed: { type: 'string' }, backend: { type: 'string' }, quiet: { type: 'boolean' }, ...SCORE_ENGINE_OPTIONS },
      cmd,
    );
    if (p.positionals.length) throw new UsageError(`${cmd}: unexpected argument '${p.positionals[0]}'`);
    const outDir = optionalString(p, 'out') ?? 'skyscore-demo';
    const n = numberFlag(p, 'n', cmd, { default: DEMO_SAMPLES, integer: true, min: 1, max: 100000 });
    const steps = numberFlag(p, 'steps', cmd, { default: DEMO_STEPS, integer: true, min: 1, max: 1_000_000 });
    const backend = backendFlag(p, cmd);
    const scoreEngine = scoreEngineFlags(p, cmd);
    const demo = await readDemoJson();
    const seed = numberFlag(p, 'seed', cmd, { default: demo.seed ?? 0, integer: true, min: 0, max: Number.MAX_SAFE_INTEGER });
    const given = optionalString(p, 'prior');
    const def = defaultPrior();
    const spec = given !== undefined ? priorSpecOf(given) : def.spec;
    if (given === undefined && def.fallback) {
      process.stderr.write(
        `demo: models/galaxy-64 is not installed: using the bundled Gaussian-field galaxy prior models/galaxy-gaussian-64 (the exact Wiener-filter posterior of a stationary Gaussian field with the galaxies' power spectrum; smoother than a learned prior)\n`,
      );
    }
    const flux = await demoFluxScale(spec);
    const s = demoSettings(demo, flux.value, { n, steps, seed });
    process.stderr.write(`demo: galaxy ${demo.galaxyId ?? '?'} (validation image ${demo.galaxyIndex ?? '?'}), σ = ${demo.noise}; flux scale ${flux.value} (${flux.source})\n`);
    const t0 = Date.now();
    // the reconstruction service, as skyscore reconstruct runs it on these files
    const model = await modelFile(path.join(DEMO_DIR, demo.model));
    const run = await reconstructToFolder(
      cmd,
      {
        observation: await observationFile(path.join(DEMO_DIR, demo.observation)),
        model,
        noise: { kind: 'sigma', sigma: demo.noise },
        prior: spec,
        settings: { sampler: s.sampler, n: s.n, steps: s.steps, seed: s.seed, fluxScale: s.fluxScale },
        scoreEngine,
        backend: () => initBackend(backend),
        host: 'cli',
      },
      outDir,
      p.values.quiet === true,
      () => [path.join(DEMO_DIR, demo.observation), ...model.paths(), ...priorPath(spec)],
    );
    const truth = await readImage2d(path.join(DEMO_DIR, demo.truth));
    const obs = await readImage2d(path.join(DEMO_DIR, demo.observation));
    const abs = path.resolve(outDir);
    process.stdout.write(
      `demo: products in ${abs}/ — posterior-mean.fits, posterior-std.fits, posterior-samples.fits, residual.fits, report.json\n` +
        `demo: PSNR against the bundled truth: posterior mean ${psnr(truth.data, run.products.mean).toFixed(2)} dB (the observation: ${psnr(truth.data, obs.data).toFixed(2)} dB); ${((Date.now() - t0) / 1000).toFixed(1)} s\n`,
    );
    return 0;
  },
};
