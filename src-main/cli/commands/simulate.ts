import path from 'node:path';
import type { Command } from '../command.js';
import { parse, requireString, optionalString, numberFlag } from '../args.js';
import { UsageError } from '../errors.js';
import { writeFileAtomic } from '../../io.js';
import { initBackend } from '../../engine/backend.js';
import { prepareForwardModelFile, readImage2d, readNoiseArg } from '../../forward-model-files.js';
import { instantiateForwardModel } from '../../../src-shared/operators/forward-model.js';
import { outputShape } from '../../../src-shared/operators/forward-model-spec.js';
import { addNoise } from '../../../src-shared/operators/noise.js';
import { SeededRandom } from '../../../src-shared/operators/random.js';
import { writeFits } from '../../../src-shared/fits/index.js';
import { backendFlag, checkNotSame, cleanInput, runOperator } from './forward.js';
import { resultFitsShape, resultGrid, resultHeader, shapeText } from '../../reconstruct/headers.js';

export const simulateCommand: Command = {
  name: 'simulate',
  summary: 'simulates data y = A x + n from a truth image, a forward model and Gaussian noise',
  usage: `usage: skyscore simulate --model M.json --truth X.fits --noise SIGMA|SIGMA.fits --seed S --out Y.fits [--hdu N] [--backend B]

Writes y = A x + b + n: A from M.json applied to the truth image, b its additive image (if it names one), n Gaussian with standard deviation SIGMA
(a positive number, or a FITS map of σ per pixel of the output shape), drawn from a seeded generator:
the same seed gives the same noise on every machine and backend. NaN or infinite truth pixels are
reported and taken as 0. The output is float32 FITS with the truth's header and WCS when it lies on the
truth's grid (a linear arcsec WCS on a lens image plane), and HISTORY cards with the command, model hash,
noise, seed and version.

  --model M.json   the forward model
  --truth X.fits   the true image (the model's "shape"); --hdu N picks its HDU
  --noise SIGMA    σ > 0, or a σ map FITS file
  --seed S         a non-negative integer (default 0)
  --out Y.fits     the simulated data
  --backend B      auto (default), tensorflow, webgpu, wasm or cpu`,
  async run(argv) {
    const p = parse(
      argv,
      {
        model: { type: 'string' },
        truth: { type: 'string' },
        noise: { type: 'string' },
        seed: { type: 'string' },
        out: { type: 'string' },
        hdu: { type: 'string' },
        backend: { type: 'string' },
      },
      'simulate',
    );
    if (p.positionals.length) throw new UsageError(`simulate: unexpected argument '${p.positionals[0]}'`);
    const modelPath = requireString(p, 'model', 'simulate');
    const truthPath = requireString(p, 'truth', 'simulate');
    const outPath = requireString(p, 'out', 'simulate');
    const noiseArg = requireString(p, 'noise', 'simulate');
    const seed = numberFlag(p, 'seed', 'simulate', { default: 0, integer: true, min: 0, max: Number.MAX_SAFE_INTEGER });
    const hdu = optionalString(p, 'hdu') === undefined ? undefined : numberFlag(p, 'hdu', 'simulate', { integer: true, min: 0 });
    const backend = backendFlag(p, 'simulate');
    for (const f of [truthPath, modelPath, noiseArg]) checkNotSame(f, outPath, 'simulate');

    const truth = await readImage2d(truthPath, hdu);
    // the truth's WCS gives a mask stage's pixel scale (its convention) in a chain of psf and mask stages
    const model = await prepareForwardModelFile(modelPath, { header: truth.header, name: path.basename(truthPath) });
    const want = model.prepared.spec.shape;
    if (truth.shape[0] !== want[0] || truth.shape[1] !== want[1]) {
      throw new UsageError(`${truthPath}: the image is ${shapeText(truth.shape)} but ${path.basename(modelPath)} expects ${shapeText(want)}`);
    }
    const yShape = outputShape(model.prepared.spec);
    const { noise, text: noiseText } = await readNoiseArg(noiseArg, yShape, '--noise', 'simulate');
    const x = cleanInput(truth, truthPath);
    for (const n of model.prepared.notes) process.stderr.write(`skyscore: note: ${n}\n`);

    const info = await initBackend(backend);
    const built = instantiateForwardModel(model.prepared);
    try {
      const ax = await runOperator(built, x, truth.shape, false);
      const rng = new SeededRandom(seed);
      const y = addNoise(ax, noise, yShape, () => rng.normal());
      const grid = resultGrid(built, false);
      const header = resultHeader(truth, grid, yShape, {
        command: `simulate --model ${path.basename(modelPath)} --truth ${path.basename(truthPath)} --noise ${noiseText} --seed ${seed} --out ${path.basename(outPath)}`,
        modelPath,
        modelHash: model.hash,
        backend: info.backend,
        extra: { SKYSEED: seed, SKYNOISE: noiseText },
      });
      await writeFileAtomic(outPath, writeFits([{ data: y, shape: resultFitsShape(truth, yShape, grid.sameAsInput), header, bitpix: -32 }]));
      process.stdout.write(`simulate: wrote ${outPath}: y = A x ${built.additive ? '+ b ' : ''}+ n with A = ${built.operator.name}, σ = ${noiseText}, seed ${seed}, ${shapeText(yShape)}, backend ${info.backend}\n`);
    } finally {
      built.operator.dispose();
    }
    return 0;
  },
};
