/**
 * Node wiring of the forward model: reads M.json and the files it names (paths relative to the JSON file),
 * FITS through src-shared/fits, and builds the operator chain. Also reads single FITS images for the
 * CLI commands as [ny, nx] arrays with their header.
 */
import { promises as fs, existsSync } from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { readFits, readFitsImage } from '../src-shared/fits/index.js';
import type { FitsHeader, ReadOptions } from '../src-shared/fits/index.js';
import { prepareForwardModel, type ForwardModelFileLoader, type PreparedForwardModel } from '../src-shared/operators/forward-model.js';
import { parseForwardModel } from '../src-shared/operators/forward-model-spec.js';
import { readInputFile } from './io.js';
import { noiseMap, scalarNoise, type NoiseModel } from '../src-shared/operators/noise.js';
import type { Shape2 } from '../src-shared/operators/types.js';
import { UserInputError } from '../src-shared/errors.js';

/** A 2-D FITS image as the operators see it. */
export interface ImageFile {
  data: Float32Array | Float64Array;
  /** [ny, nx] */
  shape: [number, number];
  /** The FITS axis order as stored, e.g. [nx, ny, 1] (to write results with the same structure). */
  fitsShape: number[];
  header: FitsHeader;
  bitpix: number;
}

/**
 * Reads one image HDU as a 2-D [ny, nx] array. Axes of length 1 beyond the second (NAXIS3 = 1, a
 * degenerate Stokes or frequency axis) are accepted; a real cube is refused with a clear message.
 */
export function decodeImage2d(bytes: Uint8Array, name: string, hdu?: number, read: Omit<ReadOptions, 'name'> = {}): ImageFile {
  const img = readFitsImage(bytes, hdu, { ...read, name });
  const s = img.shape;
  if (s.length < 2) throw new UserInputError(`${name}: the image has ${s.length} axis (shape [${s.join(', ')}]); a 2-D image is needed`);
  const extra = s.slice(2).filter((n) => n !== 1);
  if (extra.length) throw new UserInputError(`${name}: a cube of shape [${s.join(', ')}] (FITS order); a 2-D image is needed (or a cube with extra axes of length 1)`);
  return { data: img.data, shape: [s[1], s[0]], fitsShape: s.slice(), header: img.header, bitpix: img.bitpix };
}

export async function readImage2d(file: string, hdu?: number): Promise<ImageFile> {
  return decodeImage2d(await readInputFile(file), file, hdu);
}

/**
 * A file argument with an optional HDU selector in the cfitsio style: `FILE.fits[ERR]` (the first image HDU
 * whose EXTNAME is ERR, case-insensitive), `FILE.fits[ERR,2]` (EXTNAME and EXTVER) or `FILE.fits[2]` (HDU 2,
 * 0 the primary). A name that exists as it is written is a file name, brackets and all.
 */
export function splitHduSelector(arg: string): { file: string; selector: string | null } {
  const m = /^(.*)\[([^[\]]+)\]$/.exec(arg);
  if (!m || existsSync(arg)) return { file: arg, selector: null };
  return { file: m[1], selector: m[2].trim() };
}

/** The HDU index a selector names in a file's bytes (splitHduSelector); the error lists the file's image HDUs. */
export function resolveHduSelector(bytes: Uint8Array, file: string, selector: string): number {
  const f = readFits(bytes, { name: file });
  const list = () =>
    f.hdus
      .map((h, i) => `${i}${h.name ? ` ${h.name}` : ''}${h.hasImage ? ` [${h.shape.join(', ')}]` : ' (no image)'}`)
      .join('; ');
  if (/^\d+$/.test(selector)) {
    const i = Number(selector);
    if (i >= f.hdus.length) throw new UserInputError(`${file}[${selector}]: no HDU ${i} (the file's HDUs: ${list()})`);
    return i;
  }
  const [name, verText] = selector.split(',').map((s) => s.trim());
  const ver = verText === undefined ? undefined : Number(verText);
  if (ver !== undefined && !Number.isInteger(ver)) throw new UserInputError(`${file}[${selector}]: EXTVER must be an integer, got '${verText}'`);
  const i = f.hdus.findIndex((h) => {
    if (!h.hasImage || (h.name ?? '').toUpperCase() !== name.toUpperCase()) return false;
    if (ver === undefined) return true;
    return (h.header.getNumber('EXTVER') ?? 1) === ver;
  });
  if (i < 0) throw new UserInputError(`${file}[${selector}]: no image HDU named ${name}${ver !== undefined ? ` with EXTVER ${ver}` : ''} (the file's HDUs: ${list()})`);
  return i;
}

/**
 * readImage2d for an argument that may carry an HDU selector (`FILE.fits[SCI]`); `hdu` (a --hdu flag) applies
 * where the argument has none, and both at once are refused.
 */
export async function readImage2dArg(arg: string, hdu?: number, flag = '--hdu'): Promise<ImageFile & { file: string; hdu: number | undefined }> {
  const { file, selector } = splitHduSelector(arg);
  if (selector === null) return { ...(await readImage2d(file, hdu)), file, hdu };
  if (hdu !== undefined) throw new UserInputError(`${arg}: give the HDU in brackets or by ${flag}, not both`);
  const bytes = await readInputFile(file);
  const i = resolveHduSelector(bytes, file, selector);
  return { ...decodeImage2d(bytes, `${file}[${selector}]`, i), file, hdu: i };
}

/** Where station tables are also looked for when the name is bare and not beside M.json. */
function arrayDirs(): string[] {
  const dirs = (process.env.SKYSCORE_ARRAYS ?? '').split(path.delimiter).filter(Boolean);
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  dirs.push(path.join(root, '..', 'shared', 'data', 'arrays'));
  return dirs;
}

export interface NodeForwardModelLoader extends ForwardModelFileLoader {
  /** Bytes of every file read, in order (for the model hash). */
  readonly files: { path: string; bytes: Uint8Array }[];
}

/** A loader resolving paths against `baseDir`; its errors are one clear line each. */
export function nodeForwardModelLoader(baseDir: string): NodeForwardModelLoader {
  const files: { path: string; bytes: Uint8Array }[] = [];
  const read = async (rel: string, isTable = false): Promise<{ path: string; bytes: Uint8Array }> => {
    let p = path.resolve(baseDir, rel);
    if (isTable && !existsSync(p) && !rel.includes('/') && !rel.includes('\\')) {
      const alt = arrayDirs()
        .map((d) => path.join(d, rel))
        .find((f) => existsSync(f));
      if (alt) p = alt;
    }
    let buf: Buffer;
    try {
      buf = await fs.readFile(p);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : code === 'EACCES' ? 'permission denied' : (e as Error).message;
      throw new Error(`${why} (${p})`, { cause: e });
    }
    const r = { path: p, bytes: new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength) };
    files.push(r);
    return r;
  };
  return {
    files,
    async loadImage(rel, hdu) {
      const f = await read(rel);
      try {
        const img = decodeImage2d(f.bytes, path.basename(f.path), hdu);
        return { data: img.data, shape: img.shape, header: img.header };
      } catch (e) {
        throw new Error((e as Error).message.replace(/^[^:]*: /, ''), { cause: e });
      }
    },
    async loadText(rel) {
      const f = await read(rel, true);
      return new TextDecoder().decode(f.bytes);
    },
  };
}

export interface PreparedForwardModelFile {
  prepared: PreparedForwardModel;
  /** Absolute path of M.json. */
  path: string;
  /** sha256 over M.json and every file it names, in order (hex). */
  hash: string;
}

/**
 * Reads and validates M.json and every file it names (no tensors, no backend needed): bad content is a
 * ForwardModelInputError naming the file, stage and field; a missing M.json a UserInputError.
 */
/** `observation`: the image on the model's grid, whose WCS gives a mask stage's pixel scale (prepareForwardModel). */
export async function prepareForwardModelFile(file: string, observation?: { header: FitsHeader; name: string }): Promise<PreparedForwardModelFile> {
  const bytes = await readInputFile(file);
  const source = path.basename(file);
  const spec = parseForwardModel(new TextDecoder().decode(bytes), source);
  const loader = nodeForwardModelLoader(path.dirname(path.resolve(file)));
  const prepared = await prepareForwardModel(spec, loader, { source, ...(observation && { observation }) });
  const h = createHash('sha256').update(bytes);
  for (const f of loader.files) h.update(f.bytes);
  return { prepared, path: path.resolve(file), hash: h.digest('hex') };
}

/** A noise argument as read: σ for every pixel, or a σ map with its file name (not yet checked against the data). */
export type NoiseArg = { kind: 'sigma'; sigma: number } | { kind: 'map'; sigma: Float32Array | Float64Array; shape: Shape2; name: string };

/**
 * Reads a noise argument of the CLI: a positive number (σ for every pixel) or a FITS σ map. Bad values are
 * UserInputErrors naming the flag or the file.
 */
export async function readNoiseInput(arg: string, flag = '--noise', command = 'simulate'): Promise<NoiseArg> {
  const sigma = Number(arg);
  if (arg.trim() !== '' && Number.isFinite(sigma)) {
    if (!(sigma > 0)) throw new UserInputError(`${command}: ${flag} must be positive, got ${arg}`);
    return { kind: 'sigma', sigma };
  }
  if (/^[-+.\d]/.test(arg) && !/\.fits?(\.gz)?$/i.test(arg)) {
    throw new UserInputError(`${command}: ${flag} must be a positive number or a FITS σ map, got '${arg}'`);
  }
  const map = await readImage2d(arg);
  return { kind: 'map', sigma: map.data, shape: map.shape, name: arg };
}

/**
 * A noise argument of the CLI: a positive number (σ for every pixel) or a FITS σ map of the data's shape.
 * Bad values are UserInputErrors naming the flag or the file.
 */
export async function readNoiseArg(arg: string, shape: Shape2, flag = '--noise', command = 'simulate'): Promise<{ noise: NoiseModel; text: string }> {
  const n = await readNoiseInput(arg, flag, command);
  if (n.kind === 'sigma') return { noise: scalarNoise(n.sigma), text: String(n.sigma) };
  if (n.shape[0] !== shape[0] || n.shape[1] !== shape[1]) {
    throw new UserInputError(`${arg}: the σ map is ${n.shape[1]}×${n.shape[0]} (NAXIS1×NAXIS2) but the data are ${shape[1]}×${shape[0]}`);
  }
  // a NoiseInputError (zero or negative σ) names the file and maps to exit 2 itself
  return { noise: noiseMap(n.sigma, n.shape, arg), text: path.basename(arg) };
}
