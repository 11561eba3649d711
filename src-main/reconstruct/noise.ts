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
import { buildNoise, type BuiltNoise, type ImagePixels } from '../../src-shared/noise/model.js';
import type { NoiseSpec } from '../../src-shared/operators/forward-model-spec.js';
import type { FitsHeader } from '../../src-shared/fits/header.js';
import type { Shape2 } from '../../src-shared/operators/types.js';

/** Reads a file the block names (a σ map, a noise-only image) as pixels; `name` in messages. */
export type NoiseFileReader = (file: string, what: 'σ map' | 'noise image') => Promise<ImagePixels>;

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
  ]
    .filter((t) => t)
    .join(' ');
}

/**
 * Builds the noise model of a block for the observation `obs`. Every problem is a UserInputError in the user's
 * terms (buildNoise's NoiseInputError, or the reader's error naming the file).
 */
export async function buildNoiseModel(spec: NoiseSpec, read: NoiseFileReader, obs: NoiseObservation): Promise<NoiseModelBuilt> {
  const sigma = spec.sigmaFits !== undefined ? await read(spec.sigmaFits, 'σ map') : spec.sigma;
  const noiseImage = spec.image !== undefined ? await read(spec.image, 'noise image') : undefined;
  const r = spec.region;
  const built = buildNoise(
    { model: spec.model, sigma, region: r && { x0: r[0], y0: r[1], x1: r[2], y1: r[3] }, noiseImage, gain: spec.gain, readNoise: spec.readNoise, sky: spec.sky },
    { data: obs.data, shape: obs.shape, header: obs.header, name: obs.name },
  );
  return { built, flags: noiseFlags(spec) };
}
