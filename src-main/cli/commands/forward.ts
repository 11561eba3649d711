import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { Command } from '../command.js';
import { parse, requireString, optionalString, numberFlag } from '../args.js';
import { UsageError } from '../errors.js';
import { writeFileAtomic } from '../../io.js';
import { initBackend, isBackendName } from '../../engine/backend.js';
import { prepareModelFile, readImage2d, type ImageFile, type PreparedModelFile } from '../../model-loader.js';
import { instantiateModel, type BuiltModel } from '../../../src-shared/operators/model.js';
import { outputShape, type LensStage } from '../../../src-shared/operators/model-spec.js';
import { sanitize, validityMask } from '../../../src-shared/operators/noise.js';
import { FitsHeader, writeFits } from '../../../src-shared/fits/index.js';
import type { BackendName } from '../../../src-shared/protocol/index.js';
import type { Shape2 } from '../../../src-shared/operators/types.js';
import { SKYSCORE_VERSION } from '../../version.js';

/** WCS and SIP keywords of a celestial grid: dropped when the output lies on another grid (lens planes). */
const WCS_KEY = /^(WCSAXES[A-Z]?|CTYPE\d+[A-Z]?|CRPIX\d+[A-Z]?|CRVAL\d+[A-Z]?|CDELT\d+[A-Z]?|CUNIT\d+[A-Z]?|CROTA\d+|CD\d+_\d+[A-Z]?|PC\d+_\d+[A-Z]?|PV\d+_\d+[A-Z]?|PS\d+_\d+[A-Z]?|LONPOLE[A-Z]?|LATPOLE[A-Z]?|RADESYS[A-Z]?|RADECSYS|EQUINOX[A-Z]?|EPOCH|WCSNAME[A-Z]?|CNAME\d+[A-Z]?|CRDER\d+|CSYER\d+|MJDREF|A_ORDER|B_ORDER|AP_ORDER|BP_ORDER|A_\d+_\d+|B_\d+_\d+|AP_\d+_\d+|BP_\d+_\d+|A_DMAX|B_DMAX)$/;

export function backendFlag(p: { values: Record<string, unknown> }, command: string): BackendName | 'auto' {
  const b = p.values.backend;
  if (b === undefined || b === 'auto') return 'auto';
  if (typeof b !== 'string' || !isBackendName(b)) throw new UsageError(`${command}: --backend must be auto, tensorflow, webgpu, wasm or cpu, got '${String(b)}'`);
  return b;
}

/** The plane a result lies on: the input's grid, or a lens plane with its pixel scale. */
export function resultGrid(model: BuiltModel | PreparedModelFile['prepared'], adjoint: boolean): { sameAsInput: true } | { sameAsInput: false; scale: number; plane: string } {
  const lenses = model.spec.operators.filter((s): s is LensStage => s.type === 'lens');
  if (lenses.length === 0) return { sameAsInput: true };
  if (adjoint) return { sameAsInput: false, scale: lenses[0].sourcePixelScale, plane: 'source plane' };
  return { sameAsInput: false, scale: lenses[lenses.length - 1].imagePixelScale, plane: 'image plane' };
}

/** Wraps text into HISTORY-sized lines, at spaces where possible. */
function historyLines(text: string, width = 70): string[] {
  const out: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    for (let w = word; w.length > 0; ) {
      const room = width - (line ? line.length + 1 : 0);
      if (w.length <= room) {
        line = line ? `${line} ${w}` : w;
        w = '';
      } else if (line) {
        out.push(line);
        line = '';
      } else {
        out.push(w.slice(0, width));
        w = w.slice(width);
      }
    }
  }
  if (line) out.push(line);
  return out;
}

/**
 * The header of a result: the input's cards (WCS included) when the result lies on the input's grid; on a
 * lens plane a linear offset WCS in arcsec (pixel centres as docs/forward-models.md: (j − (nx−1)/2)·s, so CRPIX at the
 * middle and CRVAL 0) replaces the celestial WCS. Then HISTORY and SKY* cards for reproducibility.
 */
export function resultHeader(
  input: ImageFile,
  grid: ReturnType<typeof resultGrid>,
  shape: Shape2,
  provenance: { command: string; modelPath: string; modelHash: string; backend: string; extra?: Record<string, string | number> },
): FitsHeader {
  const h = input.header.clone();
  for (const k of ['DATAMIN', 'DATAMAX', 'CHECKSUM', 'DATASUM', 'BSCALE', 'BZERO', 'BLANK']) h.delete(k);
  if (!grid.sameAsInput) {
    for (const k of new Set(h.keys())) if (WCS_KEY.test(k)) h.delete(k);
    const [ny, nx] = shape;
    h.set('WCSAXES', 2, 'linear offsets from the grid centre');
    h.set('CTYPE1', 'LINEAR', `x offset on the lens ${grid.plane}`);
    h.set('CTYPE2', 'LINEAR', `y offset on the lens ${grid.plane}`);
    h.set('CUNIT1', 'arcsec');
    h.set('CUNIT2', 'arcsec');
    h.set('CRPIX1', (nx + 1) / 2);
    h.set('CRPIX2', (ny + 1) / 2);
    h.set('CRVAL1', 0);
    h.set('CRVAL2', 0);
    h.set('CDELT1', grid.scale);
    h.set('CDELT2', grid.scale);
  }
  h.set('SKYVER', SKYSCORE_VERSION, 'SkyScore version');
  h.set('SKYCMD', provenance.command.split(' ')[0], 'SkyScore command');
  h.set('SKYMODEL', provenance.modelHash.slice(0, 64), 'sha256 of the forward model and its files');
  for (const [k, v] of Object.entries(provenance.extra ?? {})) h.set(k, v);
  for (const line of historyLines(`skyscore ${provenance.command}`)) h.addHistory(line);
  for (const line of historyLines(`model ${path.basename(provenance.modelPath)} sha256 ${provenance.modelHash}`)) h.addHistory(line);
  h.addHistory(`skyscore ${SKYSCORE_VERSION}, tfjs ${tf.version_core}, backend ${provenance.backend}`);
  return h;
}

/** The FITS axes of a result: the input's own (degenerate axes kept) on its grid, else [nx, ny]. */
export function resultFitsShape(input: ImageFile, shape: Shape2, sameGrid: boolean): number[] {
  if (sameGrid && input.fitsShape[0] === shape[1] && input.fitsShape[1] === shape[0]) return input.fitsShape.slice();
  return [shape[1], shape[0]];
}

/** Masks NaN/Inf input pixels (reported on stderr, never propagated). */
export function cleanInput(img: ImageFile, name: string): Float32Array {
  const v = validityMask(img.data, img.shape, undefined, name);
  if (v.masked) process.stderr.write(`skyscore: note: ${v.message}; they are treated as 0\n`);
  return sanitize(img.data, v.mask);
}

/** Runs A (or Aᵀ) on one image on the current backend. */
export async function runOperator(model: BuiltModel, data: Float32Array, shape: Shape2, adjoint: boolean): Promise<Float32Array> {
  const out = tf.tidy(() => {
    const x = tf.tensor3d(data, [1, shape[0], shape[1]]);
    return adjoint ? model.operator.adjoint(x) : model.operator.apply(x);
  });
  const values = (await out.data()) as Float32Array;
  out.dispose();
  return values;
}

export function checkNotSame(a: string, b: string, command: string): void {
  if (path.resolve(a) === path.resolve(b)) throw new UsageError(`${command}: --out must differ from the input file ${a} (inputs are never modified)`);
}

export function shapeText(s: Shape2): string {
  return `${s[1]}×${s[0]} (NAXIS1×NAXIS2)`;
}

export const forwardCommand: Command = {
  name: 'forward',
  summary: 'applies a forward model A (or its adjoint Aᵀ) to an image',
  usage: `usage: skyscore forward --model M.json --in X.fits --out Y.fits [--adjoint] [--hdu N] [--backend B]

Applies the forward model of M.json (docs/forward-models.md: psf, mask, lens, uv-sampling, applied in order) to X.fits
and writes Y = A X (or, with --adjoint, Y = Aᵀ X) as float32 FITS. X must have the model's "shape"
(or, with --adjoint, the model's output shape). NaN or infinite input pixels are reported and taken as 0.
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
    const model = await prepareModelFile(modelPath);
    const input = await readImage2d(inPath, hdu);
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
    const built = instantiateModel(model.prepared);
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
