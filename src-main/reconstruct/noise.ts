/**
 * The noise model of a reconstruction from a noise block — the fields of M.json's `noise` (operators/
 * forward-model-spec.ts NoiseSpec) — whichever host gives it: `skyscore reconstruct`'s flags (`--noise-model`,
 * `--noise-region`, `--noise-image`, `--gain`, `--read-noise`, `--sky`, with `--noise` for a given σ), M.json's
 * block, or the app's request (`job.reconstruct` with `noise.kind = 'model'`, and the editor's `noise.describe`).
 * One construction for all of them: the files the block names are read by the host's reader (from disk relative to
 * the working folder or to M.json, or from the files a request carries), the model is built by
 * src-shared/noise/model.ts (buildNoise), and the command-line flags that reproduce it are written here.
 */
import path from 'node:path';
import { promises as fs } from 'node:fs';
import { learnedNoiseFrom, type NoisePriorSummary } from '../../src-shared/noise/learned.js';
import type { LearnedNoise } from '../../src-shared/operators/noise.js';
import { NoiseInputError } from '../../src-shared/operators/errors.js';
import { buildNoise, type BuiltNoise, type ImagePixels } from '../../src-shared/noise/model.js';
import type { NoiseSpec } from '../../src-shared/operators/forward-model-spec.js';
import type { FitsHeader } from '../../src-shared/fits/header.js';
import type { Shape2 } from '../../src-shared/operators/types.js';

/** Reads a file the block names (a σ map, a noise-only image) as pixels; `name` in messages. */
export type NoiseFileReader = (file: string, what: 'σ map' | 'noise image') => Promise<ImagePixels>;

/** Reads the noise prior a learned block names (a folder; in the app, a prior id). */
export type NoisePriorReader = (ref: string) => Promise<{ learned: LearnedNoise; summary: NoisePriorSummary }>;

/**
 * A learned noise prior's folder from disk: model.json (with its noisePrior block) and the weights it names.
 * `name`: the folder as the user gave it, in messages and reports.
 */
export async function readNoisePriorFolder(dir: string, name = dir): Promise<{ learned: LearnedNoise; summary: NoisePriorSummary }> {
  const file = path.join(dir, 'model.json');
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new NoiseInputError(`noise prior ${name}: ${code === 'ENOENT' || code === 'ENOTDIR' ? 'no model.json there (a noise prior is a folder made by skyscore train --kind noise)' : (e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new NoiseInputError(`noise prior ${name}: model.json is not valid JSON (${(e as Error).message})`);
  }
  const wname = typeof (json as { weights?: { file?: unknown } })?.weights?.file === 'string' ? (json as { weights: { file: string } }).weights.file : 'weights.bin';
  let bytes: Uint8Array;
  try {
    const b = await fs.readFile(path.join(dir, path.basename(wname)));
    bytes = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  } catch (e) {
    throw new NoiseInputError(`noise prior ${name}: cannot read its weights ${wname} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  try {
    return learnedNoiseFrom(json, bytes, name);
  } catch (e) {
    if (e instanceof NoiseInputError) throw e;
    throw new NoiseInputError(`noise prior ${name}: ${(e as Error).message}`);
  }
}

export interface NoiseObservation {
  data: ArrayLike<number>;
  shape: Shape2;
  header?: FitsHeader;
  name: string;
}

export interface NoiseModelBuilt {
  built: BuiltNoise;
  /** The flags of `skyscore reconstruct` that give this model (no leading space). */
  flags: string;
}

const base = (f: string) => path.basename(f);

/** The command-line flags for a noise block (file names without their folders, as the products record them). */
export function noiseFlags(spec: NoiseSpec): string {
  const r = spec.region;
  return [
    spec.sigma !== undefined ? `--noise ${spec.sigma}` : spec.sigmaFits !== undefined ? `--noise ${base(spec.sigmaFits)}` : '',
    `--noise-model ${spec.model}`,
    r ? `--noise-region ${r[0]},${r[1]},${r[2]},${r[3]}` : '',
    spec.image !== undefined ? `--noise-image ${base(spec.image)}` : '',
    spec.gain !== undefined ? `--gain ${spec.gain}` : '',
    spec.readNoise !== undefined ? `--read-noise ${spec.readNoise}` : '',
    spec.sky !== undefined ? `--sky ${spec.sky}` : '',
    spec.prior !== undefined ? `--noise-prior ${spec.prior}` : '',
  ]
    .filter((t) => t)
    .join(' ');
}

/**
 * Builds the noise model of a block for the observation `obs`. Every problem is a UserInputError in the user's
 * terms (buildNoise's NoiseInputError, or the reader's error naming the file).
 */
export async function buildNoiseModel(spec: NoiseSpec, read: NoiseFileReader, obs: NoiseObservation, readPrior: NoisePriorReader = (d) => readNoisePriorFolder(d)): Promise<NoiseModelBuilt> {
  const sigma = spec.sigmaFits !== undefined ? await read(spec.sigmaFits, 'σ map') : spec.sigma;
  const noiseImage = spec.image !== undefined ? await read(spec.image, 'noise image') : undefined;
  const learned = spec.prior !== undefined ? await readPrior(spec.prior) : undefined;
  const r = spec.region;
  const built = buildNoise(
    { model: spec.model, sigma, region: r && { x0: r[0], y0: r[1], x1: r[2], y1: r[3] }, noiseImage, gain: spec.gain, readNoise: spec.readNoise, sky: spec.sky, learned },
    { data: obs.data, shape: obs.shape, header: obs.header, name: obs.name },
  );
  return { built, flags: noiseFlags(spec) };
}
