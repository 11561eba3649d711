import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { Command } from '../command.js';
import { parse, requireString, optionalString, numberFlag } from '../args.js';
import { UsageError } from '../errors.js';
import { writeFileAtomic } from '../../io.js';
import { initBackend, isBackendName } from '../../engine/backend.js';
import { prepareForwardModelFile, readImage2d, type ImageFile } from '../../forward-model-files.js';
import { resultFitsShape, resultGrid, resultHeader, shapeText } from '../../reconstruct/headers.js';
import { instantiateForwardModel, type BuiltForwardModel } from '../../../src-shared/operators/forward-model.js';
import { outputShape } from '../../../src-shared/operators/forward-model-spec.js';
import { sanitize, validityMask } from '../../../src-shared/operators/noise.js';
import { writeFits } from '../../../src-shared/fits/index.js';
import type { BackendName } from '../../../src-shared/protocol/index.js';
import type { Shape2 } from '../../../src-shared/operators/types.js';

export function backendFlag(p: { values: Record<string, unknown> }, command: string): BackendName | 'auto' {
  const b = p.values.backend;
  if (b === undefined || b === 'auto') return 'auto';
  if (typeof b !== 'string' || !isBackendName(b)) throw new UsageError(`${command}: --backend must be auto, tensorflow, webgpu, wasm or cpu, got '${String(b)}'`);
  return b;
}

/** Masks NaN/Inf input pixels (reported on stderr, never propagated). */
export function cleanInput(img: ImageFile, name: string): Float32Array {
  const v = validityMask(img.data, img.shape, undefined, name);
  if (v.masked) process.stderr.write(`skyscore: note: ${v.message}; they are treated as 0\n`);
  return sanitize(img.data, v.mask);
}

/** Runs the model on one image on the current backend: A x + b (b the model's additive image, if any), or Aᵀ y. */
export async function runOperator(model: BuiltForwardModel, data: Float32Array, shape: Shape2, adjoint: boolean): Promise<Float32Array> {
  const out = tf.tidy(() => {
    const x = tf.tensor3d(data, [1, shape[0], shape[1]]);
    return adjoint ? model.operator.adjoint(x) : model.operator.apply(x);
  });
  const values = (await out.data()) as Float32Array;
  out.dispose();
  const b = model.additive;
  if (!adjoint && b) for (let i = 0; i < values.length; i++) values[i] += b[i]!;
  return values;
}

export function checkNotSame(a: string, b: string, command: string): void {
  if (path.resolve(a) === path.resolve(b)) throw new UsageError(`${command}: --out must differ from the input file ${a} (inputs are never modified)`);
}

export const forwardCommand: Command = {
  name: 'forward',
  summary: 'applies a forward model A (or its adjoint Aᵀ) to an image',
  usage: `usage: skyscore forward --model M.json --in X.fits --out Y.fits [--adjoint] [--hdu N] [--backend B]

Applies the forward model of M.json (psf, mask, lens, uv-sampling, applied in order: docs/forward-models.md)
to X.fits and writes Y = A X + B (B: the model's additive image, if it names one) or, with --adjoint,
Y = Aᵀ X, as float32 FITS. X must have the model's "shape" (or, with --adjoint, the model's output shape). NaN or infinite input pixels are reported and taken as 0.
The result keeps the input's header and WCS when it lies on the input's grid; on a lens plane it carries
a linear WCS in arcsec offsets instead. HISTORY cards record the command, model hash and version.

  --model M.json   the forward model (paths inside it are relative to it)
  --in X.fits      the input image (--hdu N: which HDU; default the first with an image)
  --out Y.fits     the result (written to a temporary name, then renamed)
  --adjoint        apply Aᵀ instead of A
  --backend B      auto (default), tensorflow, webgpu, wasm or cpu`,
  async run(argv) {
    const p = parse(
      argv,
      { model: { type: 'string' }, in: { type: 'string' }, out: { type: 'string' }, adjoint: { type: 'boolean' }, hdu: { type: 'string' }, backend: { type: 'string' } },
      'forward',
    );
    if (p.positionals.length) throw new UsageError(`forward: unexpected argument '${p.positionals[0]}'`);
    const modelPath = requireString(p, 'model', 'forward');
    const inPath = requireString(p, 'in', 'forward');
    const outPath = requireString(p, 'out', 'forward');
    const adjoint = p.values.adjoint === true;
    const hdu = optionalString(p, 'hdu') === undefined ? undefined : numberFlag(p, 'hdu', 'forward', { integer: true, min: 0 });
    const backend = backendFlag(p, 'forward');
    checkNotSame(inPath, outPath, 'forward');
    checkNotSame(modelPath, outPath, 'forward');

    // every check on user input before the backend starts
    const input = await readImage2d(inPath, hdu);
    // the input's WCS gives a mask stage's pixel scale (its convention) in a chain of psf and mask stages
    const model = await prepareForwardModelFile(modelPath, { header: input.header, name: path.basename(inPath) });
    const want = adjoint ? outputShape(model.prepared.spec) : model.prepared.spec.shape;
    if (input.shape[0] !== want[0] || input.shape[1] !== want[1]) {
      throw new UsageError(
        `${inPath}: the image is ${shapeText(input.shape)} but ${path.basename(modelPath)} ${adjoint ? 'produces' : 'expects'} ${shapeText(want)}${adjoint ? ' (--adjoint takes data of the output shape)' : ''}`,
      );
    }
    const data = cleanInput(input, inPath);
    for (const n of model.prepared.notes) process.stderr.write(`skyscore: note: ${n}\n`);

    const info = await initBackend(backend);
    const t0 = performance.now();
    const built = instantiateForwardModel(model.prepared);
    try {
      const shapeOut = adjoint ? built.operator.inShape : built.operator.outShape;
      const y = await runOperator(built, data, input.shape, adjoint);
      const grid = resultGrid(built, adjoint);
      const header = resultHeader(input, grid, shapeOut, {
        command: `forward --model ${path.basename(modelPath)} --in ${path.basename(inPath)} --out ${path.basename(outPath)}${adjoint ? ' --adjoint' : ''}`,
        modelPath,
        modelHash: model.hash,
        backend: info.backend,
        extra: { SKYADJ: adjoint ? 1 : 0 },
      });
      const bytes = writeFits([{ data: y, shape: resultFitsShape(input, shapeOut, grid.sameAsInput), header, bitpix: -32 }]);
      await writeFileAtomic(outPath, bytes);
      const ms = performance.now() - t0;
      process.stdout.write(
        `forward: wrote ${outPath}: ${adjoint ? 'Aᵀ' : 'A'} x with A = ${built.operator.name}, ${shapeText(shapeOut)}, backend ${info.backend}, ${ms.toFixed(0)} ms\n`,
      );
    } finally {
      built.operator.dispose();
    }
    return 0;
  },
};
