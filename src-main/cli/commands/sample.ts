import path from 'node:path';
import type { Command } from '../command.js';
import { parse, requireString, optionalString, numberFlag } from '../args.js';
import { UsageError } from '../errors.js';
import { writeFileAtomic } from '../../io.js';
import { initBackend } from '../../engine/backend.js';
import { checkPriorShape, resolvePrior } from '../../priors.js';
import { SKYSCORE_VERSION } from '../../version.js';
import { backendFlag } from './forward.js';
import { progressPrinter, samplerFlag, samplerOptions } from './reconstruct.js';
import { runSampling } from '../../../src-shared/diffusion/posterior.js';
import { toDataUnits } from '../../../src-shared/diffusion/products.js';
import { DEFAULT_STEPS } from '../../../src-shared/diffusion/samplers/index.js';
import { FitsHeader, writeFits } from '../../../src-shared/fits/index.js';
import { SCORE_ENGINE_OPTIONS, scoreEngineFlags } from '../score-engine.js';

const usage = `usage: skyscore sample --prior P --n N --steps K --seed S --out OUT.fits
                       [--sampler pc|em|ald|ula] [--shape NYxNX] [--backend B] [--batch B] [--quiet]
                       [--score-engine auto|onnx|tfjs] [--onnx-provider P] [--onnx-threads T]

Unconditional samples of a prior. Images are written as a float32 cube NAXIS1 × NAXIS2 × N in the prior's data
units (model.json's normalisation undone: x = scale·x_prior + offset); the 2-D densities (analytic:ring,
analytic:mixture) as an image of NAXIS1 = 2 columns (x₁, x₂) and NAXIS2 = N rows. HISTORY/HIERARCH cards
record the command, prior, sampler, steps, seed and version.

  --prior P       a model folder, a shipped or trained prior's name (galaxy-64), gaussian-field:PK.fits,
                  analytic:ring or analytic:mixture
  --n N           number of samples (default 16)
  --steps K       sampler steps (default: pc ${DEFAULT_STEPS.pc}, em ${DEFAULT_STEPS.em}, ald ${DEFAULT_STEPS.ald}, ula ${DEFAULT_STEPS.ula})
  --seed S        non-negative integer (default 0)
  --out OUT.fits  the samples
  --sampler S     pc (default), em, ald or ula (dps needs data)
  --shape NYxNX   image size for a fully convolutional U-Net used outside its training size (warned)
  --backend B     auto (default), tensorflow, webgpu, wasm or cpu
  --batch B       chains evaluated together (default min(N, 16))
  --snr R, --correctors K, --step-size D, --denoise M, --no-denoise, --symmetrise   as for reconstruct
  --score-engine E, --onnx-provider P, --onnx-threads T              as for reconstruct`;

export const sampleCommand: Command = {
  name: 'sample',
  summary: 'unconditional samples from a prior (model folder, Gaussian field or a 2-D density)',
  usage,
  async run(argv) {
    const cmd = 'sample';
    const p = parse(
      argv,
      {
        prior: { type: 'string' },
        n: { type: 'string' },
        steps: { type: 'string' },
        seed: { type: 'string' },
        out: { type: 'string' },
        sampler: { type: 'string' },
        shape: { type: 'string' },
        backend: { type: 'string' },
        batch: { type: 'string' },
        snr: { type: 'string' },
        correctors: { type: 'string' },
        'step-size': { type: 'string' },
        'no-denoise': { type: 'boolean' },
        denoise: { type: 'string' },
        symmetrise: { type: 'boolean' },
        quiet: { type: 'boolean' },
        ...SCORE_ENGINE_OPTIONS,
      },
      cmd,
    );
    if (p.positionals.length) throw new UsageError(`${cmd}: unexpected argument '${p.positionals[0]}'`);
    const priorSpec = requireString(p, 'prior', cmd);
    const outPath = requireString(p, 'out', cmd);
    const sampler = samplerFlag(p, cmd);
    if (sampler === 'dps') throw new UsageError(`${cmd}: dps samples a posterior and needs data; use pc, em, ald or ula`);
    const n = numberFlag(p, 'n', cmd, { default: 16, integer: true, min: 1, max: 1_000_000 });
    const steps = numberFlag(p, 'steps', cmd, { default: DEFAULT_STEPS[sampler], integer: true, min: 1, max: 1_000_000 });
    const seed = numberFlag(p, 'seed', cmd, { default: 0, integer: true, min: 0, max: Number.MAX_SAFE_INTEGER });
    const batch = numberFlag(p, 'batch', cmd, { default: Math.min(n, 16), integer: true, min: 1, max: 65536 });
    const backend = backendFlag(p, cmd);
    const sOpts = samplerOptions(p, cmd);
    const quiet = p.values.quiet === true;
    const shapeArg = optionalString(p, 'shape');

    const prior = await resolvePrior(priorSpec, undefined, scoreEngineFlags(p, cmd));
    try {
      let shape: number[];
      const warnings = [...prior.warnings];
      if (prior.kind === 'analytic') {
        if (shapeArg) throw new UsageError(`${cmd}: --shape does not apply to the 2-D density ${priorSpec}`);
        shape = [2];
      } else {
        let s = prior.shape;
        if (shapeArg) {
          const m = /^(\d+)x(\d+)$/.exec(shapeArg);
          if (!m) throw new UsageError(`${cmd}: --shape must be NYxNX (e.g. 64x64), got '${shapeArg}'`);
          s = [Number(m[1]), Number(m[2])];
        }
        if (!s) throw new UsageError(`${cmd}: the prior ${prior.name} has no fixed size; give --shape NYxNX`);
        const w = checkPriorShape(prior, [s[0], s[1]], 'the requested size');
        if (w) warnings.push(w);
        shape = s;
      }
      for (const w of warnings) process.stderr.write(`skyscore: note: ${w}\n`);
      const info = await initBackend(backend);
      const result = await runSampling(
        { prior: prior.model, sde: prior.sde, shape },
        { sampler, steps, n, seed, batchSize: batch, samplerOptions: sOpts, onProgress: progressPrinter(cmd, quiet), previewIntervalMs: 0 },
      );
      const affine = { scale: prior.normalisation.scale, offset: prior.normalisation.offset };
      const data = toDataUnits(result.samples, affine);
      const h = new FitsHeader();
      const command = `sample --prior ${priorSpec} --n ${n} --steps ${steps} --seed ${seed} --sampler ${sampler} --out ${path.basename(outPath)}`;
      h.set('SKYVER', SKYSCORE_VERSION, 'SkyScore version');
      h.set('SKYCMD', 'sample', 'SkyScore command');
      // the reconstruction products' provenance keys (src-main/reconstruct/products.ts)
      h.set('SKYPRIOR', prior.name.slice(0, 60));
      h.set('SKYSAMP', sampler);
      h.set('SKYSTEPS', steps);
      h.set('SKYSEED', seed);
      h.set('SKYNSAMP', n);
      h.set('SKYSCORE PRIOR SHA256', prior.sha256.slice(0, 32));
      h.addHistory(`skyscore ${command}`); // long HISTORY text continues on further cards
      h.addHistory(`prior ${prior.spec} sha256 ${prior.sha256}`);
      h.addHistory(`SDE: VE, sigma ${prior.sde.sigmaMin.toPrecision(4)} to ${prior.sde.sigmaMax.toPrecision(4)}; backend ${info.backend}`);
      for (const [k, v] of Object.entries(result.samplerSettings)) h.addHistory(`sampler ${k} = ${v}`);
      const fitsShape = shape.length === 1 ? [2, n] : [shape[1], shape[0], n];
      await writeFileAtomic(outPath, writeFits([{ data, shape: fitsShape, header: h, bitpix: -32 }]));
      process.stdout.write(`${cmd}: wrote ${outPath}: ${n} samples of ${prior.name} (${sampler}, ${steps} steps, seed ${seed}), ${result.seconds.toFixed(1)} s, backend ${info.backend}\n`);
    } finally {
      prior.dispose();
    }
    return 0;
  },
};
